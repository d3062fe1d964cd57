/* wt_wfrun - one session's position in a workflow.
 *
 * The position is (top, body, iter): a top-level step index, the index in a
 * loop's body (-1 outside loops) and the loop iteration. settle() moves the
 * position forward to the next step that should run: it skips steps whose
 * runCondition is false, enters loops when their condition allows, sets the
 * loop variables (iteration, item, index) in the context, and leaves loops
 * at maxIterations or when their condition ends them. Everything that moves
 * the position is derived from the context and the artifacts, so the whole
 * state serializes to JSON and a resumed session continues exactly where the
 * last completed step left it. */
#include "wt_wfrun.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_condition.h"
#include "wt_workflow_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOP_CONTROL "wr.loop_control"

struct wt_wfrun {
    const wt_workflow_t *wf; /* borrowed */
    json_t *context;         /* owned object */
    json_t *artifacts;       /* owned array */
    json_t *history;         /* owned array of {step, notes} */
    int top;                 /* top-level step index */
    int body;                /* body index inside a loop, -1 outside */
    int iter;                /* loop iteration, 0-based */
    int loop_decision;       /* last wr.loop_control: 1 continue, 0 stop, -1 none */
    int completed;           /* steps completed */
    int done;                /* no step left */
};

static const wf_step_t *
top_step(const wt_wfrun_t *self)
{
    return &self->wf->steps[self->top];
}

static const wf_step_t *
current(const wt_wfrun_t *self)
{
    if (self->done)
        return NULL;
    const wf_step_t *t = top_step(self);
    return t->loop != WF_LOOP_NONE && self->body >= 0 ? &t->body[self->body] : t;
}

static int
loop_len(const wt_wfrun_t *self, const wf_step_t *loop)
{
    if (loop->loop == WF_LOOP_FOREACH)
        return (int)json_array_size(json_object_get(self->context, loop->items_var));
    if (loop->count >= 0)
        return loop->count;
    json_t *v = json_object_get(self->context, loop->count_var);
    return json_is_number(v) ? (int)json_number_value(v) : 0;
}

/* May iteration `iter` of the loop run? */
static int
loop_runs(const wt_wfrun_t *self, const wf_step_t *loop, int iter)
{
    if (iter >= loop->max_iter)
        return 0;
    switch (loop->loop) {
    case WF_LOOP_FOR:
    case WF_LOOP_FOREACH:
        return iter < loop_len(self, loop);
    case WF_LOOP_WHILE:
        if (loop->loop_artifact)
            return self->loop_decision != 0;
        return wt_condition_eval(loop->loop_cond, self->context);
    case WF_LOOP_UNTIL:
        if (iter == 0)
            return 1;
        if (loop->loop_artifact)
            return self->loop_decision != 0;
        return !wt_condition_eval(loop->loop_cond, self->context);
    default:
        return 0;
    }
}

static void
set_loop_vars(wt_wfrun_t *self, const wf_step_t *loop)
{
    json_object_set_new(self->context, loop->iter_var ? loop->iter_var : "currentIteration",
                        json_integer(self->iter + 1));
    if (loop->loop == WF_LOOP_FOREACH) {
        json_t *items = json_object_get(self->context, loop->items_var);
        json_t *item = json_array_get(items, (size_t)self->iter);
        json_object_set(self->context, loop->item_var ? loop->item_var : "currentItem",
                        item ? item : json_null());
        json_object_set_new(self->context, loop->index_var ? loop->index_var : "currentIndex",
                            json_integer(self->iter));
    }
}

static void
settle(wt_wfrun_t *self)
{
    while (self->top < (int)self->wf->nsteps) {
        const wf_step_t *t = top_step(self);
        if (t->loop == WF_LOOP_NONE) {
            if (!t->skip && wt_condition_eval(t->run_condition, self->context))
                return;
            self->top++;
            continue;
        }
        if (self->body < 0) { /* entering the loop */
            self->iter = 0;
            if (!wt_condition_eval(t->run_condition, self->context) || !loop_runs(self, t, 0)) {
                self->top++;
                continue;
            }
            self->body = 0;
            set_loop_vars(self, t);
        }
        if (self->body < (int)t->nbody) {
            if (wt_condition_eval(t->body[self->body].run_condition, self->context))
                return;
            self->body++;
            continue;
        }
        self->iter++; /* end of one iteration */
        if (loop_runs(self, t, self->iter)) {
            self->body = 0;
            set_loop_vars(self, t);
            continue;
        }
        self->top++;
        self->body = -1;
        self->iter = 0;
        self->loop_decision = -1;
    }
    self->done = 1;
}

static wt_wfrun_t *
alloc_run(const wt_workflow_t *wf)
{
    wt_wfrun_t *self = wt_xcalloc(1, sizeof *self);
    self->wf = wf;
    self->artifacts = json_array();
    self->history = json_array();
    self->body = -1;
    self->loop_decision = -1;
    return self;
}

wt_wfrun_t *
wt_wfrun_new(const wt_workflow_t *wf, json_t *context, wt_err_t *err)
{
    if (context && !json_is_object(context)) {
        wt_err_set(err, WT_EINVAL, "initial context must be a JSON object");
        return NULL;
    }
    wt_wfrun_t *self = alloc_run(wf);
    self->context = context ? json_deep_copy(context) : json_object();
    settle(self);
    return self;
}

void
wt_wfrun_destroy(wt_wfrun_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_wfrun_t *self = *self_p;
    json_decref(self->context);
    json_decref(self->artifacts);
    json_decref(self->history);
    free(self);
    *self_p = NULL;
}

int
wt_wfrun_done(const wt_wfrun_t *self)
{
    return self->done;
}

const char *
wt_wfrun_step_id(const wt_wfrun_t *self)
{
    const wf_step_t *s = current(self);
    return s ? s->id : "";
}

const char *
wt_wfrun_step_title(const wt_wfrun_t *self)
{
    const wf_step_t *s = current(self);
    return s ? s->title : "";
}

int
wt_wfrun_completed_count(const wt_wfrun_t *self)
{
    return self->completed;
}

const char *
wt_wfrun_step_model_tier(const wt_wfrun_t *self)
{
    const wf_step_t *s = current(self);
    return s ? s->model_tier : NULL;
}

const char *
wt_wfrun_model_tier(const wt_wfrun_t *self)
{
    const wf_step_t *s = current(self);
    if (s && s->model_tier)
        return s->model_tier;
    return self->wf->model_tier;
}

json_t *
wt_wfrun_context(const wt_wfrun_t *self)
{
    return self->context;
}

json_t *
wt_wfrun_artifacts(const wt_wfrun_t *self)
{
    return self->artifacts;
}

const char *
wt_wfrun_notes(const wt_wfrun_t *self)
{
    size_t n = json_array_size(self->history);
    if (n == 0)
        return "";
    const char *s =
        json_string_value(json_object_get(json_array_get(self->history, n - 1), "notes"));
    return s ? s : "";
}

char *
wt_wfrun_history(const wt_wfrun_t *self)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 22);
    size_t i;
    json_t *h;
    json_array_foreach(self->history, i, h)
    {
        const char *notes = json_string_value(json_object_get(h, "notes"));
        wt_buf_printf(&b, NULL, "- %s: %s\n", json_string_value(json_object_get(h, "step")),
                      notes && *notes ? notes : "(no notes)");
    }
    return wt_buf_detach(&b);
}

char *
wt_wfrun_render_step(const wt_wfrun_t *self)
{
    const wf_step_t *s = current(self);
    if (s == NULL)
        return wt_xstrdup("The workflow is complete.");
    wt_buf_t b;
    wt_buf_init(&b, 1 << 22);
    wt_buf_printf(&b, NULL, "# Step: %s (id: %s)\n\n", s->title, s->id);
    const wf_step_t *t = top_step(self);
    if (t->loop != WF_LOOP_NONE) {
        wt_buf_printf(&b, NULL, "Loop '%s', iteration %d (at most %d).\n", t->title, self->iter + 1,
                      t->max_iter);
        if (t->loop == WF_LOOP_FOREACH) {
            json_t *item =
                json_object_get(self->context, t->item_var ? t->item_var : "currentItem");
            char *js = item ? json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
            wt_buf_printf(&b, NULL, "Current item (%s): %s\n",
                          t->item_var ? t->item_var : "currentItem", js ? js : "null");
            free(js);
        }
        if (t->loop_artifact)
            wt_buf_puts(&b,
                        "Decide whether the loop continues with an artifact "
                        "{\"kind\": \"wr.loop_control\", \"decision\": \"continue\"|\"stop\"}.\n",
                        NULL);
        wt_buf_puts(&b, "\n", NULL);
    }
    if (s->agent_role)
        wt_buf_printf(&b, NULL, "Your role: %s\n\n", s->agent_role);
    wt_buf_printf(&b, NULL, "%s\n", s->prompt);
    if (json_array_size(s->guidance)) {
        wt_buf_puts(&b, "\nGuidance:\n", NULL);
        size_t i;
        json_t *g;
        json_array_foreach(s->guidance, i, g) if (json_is_string(g))
            wt_buf_printf(&b, NULL, "- %s\n", json_string_value(g));
    }
    if (json_object_size(s->required)) {
        wt_buf_puts(&b, "\nRequired in complete_step's context:", NULL);
        const char *k;
        json_t *v;
        json_object_foreach(s->required, k, v) wt_buf_printf(&b, NULL, " %s", k);
        wt_buf_puts(&b, "\n", NULL);
    }
    if (s->contract_ref && strcmp(s->contract_ref, "wr.contracts.loop_control") == 0)
        wt_buf_puts(&b,
                    "\nRequired artifact: {\"kind\": \"wr.loop_control\", \"decision\": "
                    "\"continue\"|\"stop\"}.\n",
                    NULL);
    else if (s->contract_ref)
        wt_buf_printf(&b, NULL, "\nRequired artifact satisfying contract '%s'.\n", s->contract_ref);
    if (json_array_size(s->assess_refs))
        wt_buf_puts(&b,
                    "\nSubmit an assessment artifact {\"kind\": \"wr.assessment\", "
                    "\"assessmentId\": ID, \"dimensions\": {DIMENSION: LEVEL}}.\n",
                    NULL);
    wt_buf_puts(&b,
                "\nWhen the step is done, call complete_step with your notes, the context "
                "keys above, and any artifacts.\n",
                NULL);
    return wt_buf_detach(&b);
}

/* The artifact of `kind` among arr, or NULL. */
static json_t *
find_artifact(json_t *arr, const char *kind)
{
    size_t i;
    json_t *a;
    json_t *found = NULL;
    json_array_foreach(arr, i, a)
    {
        const char *k = json_string_value(json_object_get(a, "kind"));
        if (k && strcmp(k, kind) == 0)
            found = a;
    }
    return found;
}

static int
check_contract(const wf_step_t *s, json_t *arts, int *decision, wt_err_t *err)
{
    if (s->contract_ref == NULL || !s->contract_required)
        return 0;
    if (strcmp(s->contract_ref, "wr.contracts.loop_control") == 0) {
        json_t *a = find_artifact(arts, LOOP_CONTROL);
        const char *d = a ? json_string_value(json_object_get(a, "decision")) : NULL;
        if (d == NULL || (strcmp(d, "continue") != 0 && strcmp(d, "stop") != 0))
            return wt_err_set(err, WT_EINVAL,
                              "output contract %s not met: add an artifact {\"kind\": "
                              "\"wr.loop_control\", \"decision\": \"continue\" or \"stop\"}",
                              s->contract_ref);
        *decision = strcmp(d, "continue") == 0;
        return 0;
    }
    if (json_array_size(arts) == 0)
        return wt_err_set(err, WT_EINVAL, "output contract %s not met: an artifact is required",
                          s->contract_ref);
    return 0;
}

/* Finds the assessment for ref: an artifact kind wr.assessment (or context
 * key "assessment"), dimensions as {dim: level} or [{id|dimension, level}]. */
static json_t *
assessment_dims(json_t *arts, json_t *ctx)
{
    json_t *a = find_artifact(arts, "wr.assessment");
    if (a == NULL)
        a = json_object_get(ctx, "assessment");
    json_t *d = json_object_get(a, "dimensions");
    if (json_is_object(d))
        return json_incref(d);
    if (!json_is_array(d))
        return NULL;
    json_t *out = json_object();
    size_t i;
    json_t *x;
    json_array_foreach(d, i, x)
    {
        json_t *id = json_object_get(x, "id");
        if (!id)
            id = json_object_get(x, "dimension");
        if (json_is_string(id))
            json_object_set(out, json_string_value(id), json_object_get(x, "level"));
    }
    return out;
}

static int
check_assessment(const wt_wfrun_t *self, const wf_step_t *s, json_t *arts, json_t *ctx,
                 wt_err_t *err)
{
    if (json_array_size(s->assess_refs) == 0)
        return 0;
    json_t *dims = assessment_dims(arts, ctx);
    if (dims == NULL)
        return wt_err_set(err, WT_EINVAL,
                          "assessment required: add an artifact {\"kind\": \"wr.assessment\", "
                          "\"assessmentId\": \"%s\", \"dimensions\": {DIMENSION: LEVEL}}",
                          json_string_value(json_array_get(s->assess_refs, 0)));
    int rc = 0;
    size_t i;
    json_t *def;
    json_array_foreach(self->wf->assessments, i, def)
    {
        int referenced = 0;
        size_t r;
        json_t *ref;
        json_array_foreach(s->assess_refs, r, ref) if (json_equal(ref, json_object_get(def, "id")))
            referenced = 1;
        if (!referenced)
            continue;
        size_t k;
        json_t *dim;
        json_array_foreach(json_object_get(def, "dimensions"), k, dim)
        {
            const char *id = json_string_value(json_object_get(dim, "id"));
            json_t *lvl = id ? json_object_get(dims, id) : NULL;
            if (rc == 0 && lvl == NULL && !json_is_false(json_object_get(dim, "required")) && id)
                rc = wt_err_set(err, WT_EINVAL, "assessment dimension '%s' is missing", id);
            if (rc == 0 && lvl && s->followup_level && json_is_string(lvl) &&
                strcmp(json_string_value(lvl), s->followup_level) == 0)
                rc = wt_err_set(err, WT_EINVAL, "follow-up required (%s was '%s'): %s", id,
                                s->followup_level, s->followup_text ? s->followup_text : "");
        }
    }
    json_decref(dims);
    return rc;
}

int
wt_wfrun_complete(wt_wfrun_t *self, json_t *args, wt_err_t *err)
{
    const wf_step_t *s = current(self);
    if (s == NULL)
        return wt_err_set(err, WT_EINVAL, "the workflow is already complete");
    json_t *notes = json_object_get(args, "notes");
    json_t *ctx = json_object_get(args, "context");
    json_t *arts = json_object_get(args, "artifacts");
    if (notes && !json_is_string(notes))
        return wt_err_set(err, WT_EINVAL, "notes must be a string");
    if (ctx && !json_is_object(ctx))
        return wt_err_set(err, WT_EINVAL, "context must be a JSON object");
    if (arts && !json_is_array(arts))
        return wt_err_set(err, WT_EINVAL, "artifacts must be an array");
    if ((!notes || json_string_length(notes) == 0) && !s->notes_optional && !s->contract_ref)
        return wt_err_set(err, WT_EINVAL,
                          "notes are required: summarise what you did in this step");
    json_t *merged = json_deep_copy(self->context);
    if (ctx)
        json_object_update(merged, ctx);
    wt_buf_t missing;
    wt_buf_init(&missing, 4096);
    const char *k;
    json_t *v;
    json_object_foreach(s->required, k, v)
    {
        json_t *got = json_object_get(merged, k);
        if (got == NULL || json_is_null(got))
            wt_buf_printf(&missing, NULL, "%s%s", missing.len ? ", " : "", k);
    }
    int decision = -1;
    int rc = 0;
    if (missing.len)
        rc = wt_err_set(err, WT_EINVAL,
                        "missing required output: %s (put them in complete_step's context)",
                        wt_buf_str(&missing));
    else if (check_contract(s, arts, &decision, err) != 0 ||
             check_assessment(self, s, arts, merged, err) != 0)
        rc = -1;
    wt_buf_release(&missing);
    if (rc != 0) {
        json_decref(merged);
        return -1;
    }
    json_decref(self->context);
    self->context = merged;
    size_t i;
    json_t *a;
    json_array_foreach(arts, i, a) json_array_append(self->artifacts, a);
    json_t *lc = find_artifact(arts, LOOP_CONTROL);
    if (decision < 0 && lc) {
        const char *d = json_string_value(json_object_get(lc, "decision"));
        decision = d ? strcmp(d, "continue") == 0 : -1;
    }
    if (decision >= 0)
        self->loop_decision = decision;
    json_array_append_new(self->history, json_pack("{s:s,s:s}", "step", s->id, "notes",
                                                   notes ? json_string_value(notes) : ""));
    self->completed++;
    if (self->body >= 0)
        self->body++;
    else
        self->top++;
    settle(self);
    return 0;
}

json_t *
wt_wfrun_state(const wt_wfrun_t *self)
{
    return json_pack("{s:i,s:i,s:i,s:i,s:i,s:b,s:O,s:O,s:O}", "top", self->top, "body", self->body,
                     "iter", self->iter, "loop_decision", self->loop_decision, "completed",
                     self->completed, "done", self->done, "context", self->context, "artifacts",
                     self->artifacts, "history", self->history);
}

wt_wfrun_t *
wt_wfrun_restore(const wt_workflow_t *wf, json_t *state, wt_err_t *err)
{
    json_t *ctx = json_object_get(state, "context");
    json_t *arts = json_object_get(state, "artifacts");
    json_t *hist = json_object_get(state, "history");
    json_int_t top = json_integer_value(json_object_get(state, "top"));
    json_int_t body = json_integer_value(json_object_get(state, "body"));
    json_int_t iter = json_integer_value(json_object_get(state, "iter"));
    if (!json_is_object(ctx) || !json_is_array(arts) || !json_is_array(hist) || top < 0 ||
        top > (json_int_t)wf->nsteps || iter < 0 || body < -1) {
        wt_err_set(err, WT_EINVAL, "workflow state is malformed");
        return NULL;
    }
    if (top < (json_int_t)wf->nsteps && body > (json_int_t)wf->steps[top].nbody) {
        wt_err_set(err, WT_EINVAL, "workflow state points past the loop body");
        return NULL;
    }
    wt_wfrun_t *self = alloc_run(wf);
    json_decref(self->artifacts);
    json_decref(self->history);
    self->context = json_deep_copy(ctx);
    self->artifacts = json_deep_copy(arts);
    self->history = json_deep_copy(hist);
    self->top = (int)top;
    self->body = (int)body;
    self->iter = (int)iter;
    self->loop_decision = (int)json_integer_value(json_object_get(state, "loop_decision"));
    self->completed = (int)json_integer_value(json_object_get(state, "completed"));
    if (self->top < (int)wf->nsteps && wf->steps[self->top].loop == WF_LOOP_NONE)
        self->body = -1;
    settle(self);
    return self;
}
