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

#include "wt_criteria.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    json_t *skipped;         /* owned array of step_skipped records not yet taken */
};

/* Records a step passed over because its runCondition did not hold, with
 * the values the condition saw, for a step_skipped event. */
static void
note_skipped(wt_wfrun_t *self, const wf_step_t *s)
{
    json_array_append_new(
        self->skipped, json_pack("{s:s,s:O,s:o}", "step", s->id, "condition", s->run_condition,
                                 "values", wt_condition_values(s->run_condition, self->context)));
}

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
            if (!t->skip)
                note_skipped(self, t);
            self->top++;
            continue;
        }
        if (self->body < 0) { /* entering the loop */
            self->iter = 0;
            int cond = wt_condition_eval(t->run_condition, self->context);
            if (!cond)
                note_skipped(self, t);
            if (!cond || !loop_runs(self, t, 0)) {
                self->top++;
                continue;
            }
            self->body = 0;
            set_loop_vars(self, t);
        }
        if (self->body < (int)t->nbody) {
            if (wt_condition_eval(t->body[self->body].run_condition, self->context))
                return;
            note_skipped(self, &t->body[self->body]);
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
    self->skipped = json_array();
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
    json_decref(self->skipped);
    free(self);
    *self_p = NULL;
}

json_t *
wt_wfrun_take_skipped(wt_wfrun_t *self)
{
    json_t *out = self->skipped;
    self->skipped = json_array();
    return out;
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

/* {{name}} / {{a.b}} in text replaced by the context value as WorkRail
 * renders it (JavaScript's String(v)); "[unset: name]" when missing or
 * null. {{wr.*}} tokens are WorkRail bindings, left as they are. */
char *
wt_wfrun_template(const char *text, json_t *context)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 22);
    const char *p = text;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (open == NULL)
            break;
        const char *q = open + 2, *name = q;
        int ok = (*q == '_' || isalpha((unsigned char)*q)) && strncmp(q, "wr.", 3) != 0;
        while (ok && (*q == '_' || *q == '.' || isalnum((unsigned char)*q))) {
            if (*q == '.' && !(q[1] == '_' || isalpha((unsigned char)q[1])))
                ok = 0;
            q++;
        }
        if (!ok || strncmp(q, "}}", 2) != 0) {
            wt_buf_append(&b, p, (size_t)(open + 2 - p), NULL);
            p = open + 2;
            continue;
        }
        wt_buf_append(&b, p, (size_t)(open - p), NULL);
        char path[256];
        snprintf(path, sizeof path, "%.*s", (int)(q - name), name);
        json_t *v = context;
        char *save = NULL;
        char parts[256];
        snprintf(parts, sizeof parts, "%s", path);
        for (char *seg = strtok_r(parts, ".", &save); seg && v; seg = strtok_r(NULL, ".", &save))
            v = json_is_object(v) ? json_object_get(v, seg) : NULL;
        if (v == NULL || json_is_null(v)) {
            wt_buf_printf(&b, NULL, "[unset: %s]", path);
        } else {
            char *t = wt_condition_text(v);
            wt_buf_puts(&b, t, NULL);
            free(t);
        }
        p = q + 2;
    }
    wt_buf_puts(&b, p, NULL);
    return wt_buf_detach(&b);
}

/* The workflow's definition of assessment id, or NULL. */
static json_t *
assessment_def(const wt_wfrun_t *self, json_t *id)
{
    size_t i;
    json_t *def;
    json_array_foreach(self->wf->assessments, i,
                       def) if (json_equal(json_object_get(def, "id"), id)) return def;
    return NULL;
}

/* Joins a dimension's levels with sep. */
static void
put_levels(wt_buf_t *b, json_t *dim, const char *sep)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(dim, "levels"), i, l) wt_buf_printf(
        b, NULL, "%s%s", i ? sep : "", json_string_value(l) ? json_string_value(l) : "");
}

/* What WorkRail lists for a step's assessment gate: per referenced
 * assessment its id, purpose, every dimension with its allowed levels, and
 * the artifact's canonical form. */
static void
render_assessments(const wt_wfrun_t *self, const wf_step_t *s, wt_buf_t *b)
{
    size_t nrefs = json_array_size(s->assess_refs), r;
    json_t *ref;
    int any = 0;
    json_array_foreach(s->assess_refs, r, ref)
    {
        json_t *def = assessment_def(self, ref);
        if (def == NULL)
            continue;
        if (!any)
            wt_buf_puts(b, "\n**ASSESSMENT REQUIREMENTS (System):**\n", NULL);
        any = 1;
        const char *id = json_string_value(ref);
        wt_buf_puts(b, "- Provide an artifact with kind: \"wr.assessment\"\n", NULL);
        if (nrefs > 1)
            wt_buf_printf(b, NULL,
                          "- Set assessmentId: \"%s\" on the artifact so it is matched to this "
                          "assessment.\n",
                          id);
        wt_buf_printf(b, NULL, "- Assessment target: \"%s\"\n", id);
        const char *purpose = json_string_value(json_object_get(def, "purpose"));
        wt_buf_printf(b, NULL, "- Purpose: %s\n- Dimensions:\n", purpose ? purpose : "");
        size_t k;
        json_t *dim;
        json_t *dims = json_object_get(def, "dimensions");
        json_array_foreach(dims, k, dim)
        {
            const char *dp = json_string_value(json_object_get(dim, "purpose"));
            wt_buf_printf(b, NULL, "-   %s (", json_string_value(json_object_get(dim, "id")));
            put_levels(b, dim, " | ");
            wt_buf_printf(b, NULL, "): %s\n", dp ? dp : "");
        }
        json_t *d0 = json_array_get(dims, 0);
        const char *l0 = json_string_value(json_array_get(json_object_get(d0, "levels"), 0));
        const char *id0 = json_string_value(json_object_get(d0, "id"));
        wt_buf_printf(b, NULL,
                      "- Canonical format:\n```json\n{ \"artifacts\": [{ \"kind\": "
                      "\"wr.assessment\", \"assessmentId\": \"%s\", \"dimensions\": { \"%s\": "
                      "\"%s\" } }] }\n```\n",
                      id, id0 ? id0 : "dimensionId", l0 ? l0 : "high");
        wt_buf_puts(b,
                    "- Use only the levels listed; when a level is refused, correct it rather "
                    "than inventing another.\n",
                    NULL);
    }
}

char *
wt_wfrun_render_step(const wt_wfrun_t *self)
{
    const wf_step_t *s = current(self);
    if (s == NULL)
        return wt_xstrdup("The workflow is complete.");
    wt_buf_t b;
    wt_buf_init(&b, 1 << 22);
    char *title = wt_wfrun_template(s->title, self->context);
    wt_buf_printf(&b, NULL, "# Step: %s (id: %s)\n\n", title, s->id);
    free(title);
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
    char *prompt = wt_wfrun_template(s->prompt, self->context);
    wt_buf_printf(&b, NULL, "%s\n", prompt);
    free(prompt);
    if (json_array_size(s->guidance)) {
        wt_buf_puts(&b, "\nGuidance:\n", NULL);
        size_t i;
        json_t *g;
        json_array_foreach(s->guidance, i, g) if (json_is_string(g))
            wt_buf_printf(&b, NULL, "- %s\n", json_string_value(g));
    }
    if (s->criteria) {
        wt_buf_t req;
        wt_buf_init(&req, 1 << 20);
        if (wt_criteria_requirements(s->criteria, &req) > 0)
            wt_buf_printf(&b, NULL, "\n**OUTPUT REQUIREMENTS:** (checked against your notes)\n%s",
                          wt_buf_str(&req));
        wt_buf_release(&req);
    }
    if (self->wf->required_keys && json_object_size(s->required)) {
        wt_buf_puts(&b, "\nRequired in complete_step's context:", NULL);
        const char *k;
        json_t *v;
        json_object_foreach(s->required, k, v) wt_buf_printf(&b, NULL, " %s", k);
        wt_buf_puts(&b, "\n", NULL);
    }
    if (s->contract_ref && strcmp(s->contract_ref, "wr.contracts.loop_control") == 0)
        wt_buf_puts(&b,
                    "\n**OUTPUT REQUIREMENTS (System):**\n"
                    "- Artifact contract: wr.contracts.loop_control\n"
                    "- Provide an artifact with kind: \"wr.loop_control\"\n"
                    "- Required field: decision (\"continue\" | \"stop\")\n"
                    "- Canonical format:\n```json\n{ \"artifacts\": [{ \"kind\": "
                    "\"wr.loop_control\", \"decision\": \"stop\" }] }\n```\n",
                    NULL);
    else if (s->contract_ref)
        wt_buf_printf(&b, NULL,
                      "\n**OUTPUT REQUIREMENTS (System):**\n- Artifact contract: %s\n- Provide "
                      "an artifact matching the contract schema\n",
                      s->contract_ref);
    render_assessments(self, s, &b);
    if (!s->notes_optional && !s->contract_ref)
        wt_buf_puts(&b,
                    "\n**NOTES REQUIRED (System):** complete_step needs `notes` on this step: "
                    "what you did and decided, what you produced (files, names, numbers), and "
                    "anything notable, for a human reader; this step only.\n",
                    NULL);
    size_t i;
    json_t *f;
    json_array_foreach(s->fragments, i, f)
    {
        if (!wt_condition_eval(json_object_get(f, "when"), self->context))
            continue;
        char *text =
            wt_wfrun_template(json_string_value(json_object_get(f, "text")), self->context);
        wt_buf_printf(&b, NULL, "\n%s\n", text);
        free(text);
    }
    wt_buf_puts(&b,
                "\nWhen the step is done, call complete_step with your notes, any context "
                "values you decided, and the artifacts asked for above.\n",
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

/* A submitted level against a dimension's allowed levels, as WorkRail
 * normalises it: exact, else the one level equal ignoring case and
 * surrounding space. NULL (with an issue in b) when not allowed. */
static const char *
canonical_level(json_t *dim, const char *level, wt_buf_t *b)
{
    json_t *levels = json_object_get(dim, "levels");
    size_t i;
    json_t *l;
    json_array_foreach(levels, i, l) if (json_is_string(l) && strcmp(json_string_value(l), level) ==
                                                                  0) return json_string_value(l);
    char want[256];
    size_t n = 0;
    while (isspace((unsigned char)*level))
        level++;
    for (; level[n] && n < sizeof want - 1; n++)
        want[n] = (char)tolower((unsigned char)level[n]);
    while (n && isspace((unsigned char)want[n - 1]))
        n--;
    want[n] = '\0';
    const char *match = NULL;
    int matches = 0;
    json_array_foreach(levels, i,
                       l) if (json_is_string(l) && strcasecmp(json_string_value(l), want) == 0)
    {
        match = json_string_value(l);
        matches++;
    }
    if (matches == 1)
        return match;
    wt_buf_printf(b, NULL, "- Dimension \"%s\": Level \"%s\" is %s. Allowed levels: ",
                  json_string_value(json_object_get(dim, "id")), level,
                  matches ? "ambiguous for this dimension" : "not allowed");
    put_levels(b, dim, ", ");
    wt_buf_puts(b, ".\n", NULL);
    return NULL;
}

/* One assessment of the step against the artifacts, as WorkRail checks
 * it; canonical levels go to `levels` ({dim: level}) for the follow-up. */
static void
check_one_assessment(json_t *def, json_t *arts, int single, json_t *levels, wt_buf_t *b)
{
    const char *id = json_string_value(json_object_get(def, "id"));
    json_t *dims = json_object_get(def, "dimensions");
    json_t *cand = NULL;
    int nart = 0;
    size_t i;
    json_t *a;
    json_array_foreach(arts, i, a)
    {
        const char *k = json_string_value(json_object_get(a, "kind"));
        if (!k || strcmp(k, "wr.assessment") != 0)
            continue;
        nart++;
        const char *aid = json_string_value(json_object_get(a, "assessmentId"));
        if (cand == NULL && (single || (aid && strcmp(aid, id) == 0)))
            cand = a;
    }
    if (nart == 0 || cand == NULL) {
        if (nart == 0)
            wt_buf_printf(b, NULL, "- This step requires an assessment submission for \"%s\".\n",
                          id);
        else
            wt_buf_printf(b, NULL,
                          "- Missing assessment artifact for \"%s\". Provide an artifact with "
                          "kind \"wr.assessment\" and assessmentId \"%s\".\n",
                          id, id);
        wt_buf_puts(b, "  Include dimension values for: ", NULL);
        json_t *dim;
        json_array_foreach(dims, i, dim)
        {
            wt_buf_printf(b, NULL, "%s%s (", i ? ", " : "",
                          json_string_value(json_object_get(dim, "id")));
            put_levels(b, dim, " | ");
            wt_buf_puts(b, ")", NULL);
        }
        wt_buf_puts(b, ".\n", NULL);
        return;
    }
    json_t *got = json_object_get(cand, "dimensions");
    if (!json_is_object(got)) {
        wt_buf_puts(b, "- Assessment artifact is malformed or does not match the expected shape.\n",
                    NULL);
        return;
    }
    const char *aid = json_string_value(json_object_get(cand, "assessmentId"));
    if (aid && strcmp(aid, id) != 0) {
        wt_buf_printf(b, NULL,
                      "- Assessment artifact targets \"%s\", but this step expects \"%s\".\n", aid,
                      id);
        return;
    }
    json_t *dim;
    json_array_foreach(dims, i, dim)
    {
        const char *did = json_string_value(json_object_get(dim, "id"));
        json_t *v = did ? json_object_get(got, did) : NULL;
        if (v == NULL) {
            if (!json_is_false(json_object_get(dim, "required"))) {
                wt_buf_printf(b, NULL,
                              "- Missing assessment dimension \"%s\". Allowed levels: ", did);
                put_levels(b, dim, ", ");
                wt_buf_puts(b, ".\n", NULL);
            }
            continue;
        }
        const char *lvl = json_is_string(v) ? json_string_value(v)
                                            : json_string_value(json_object_get(v, "level"));
        const char *canon = canonical_level(dim, lvl ? lvl : "", b);
        if (canon)
            json_object_set_new(levels, did, json_string(canon));
    }
    const char *k;
    json_t *v;
    json_object_foreach(got, k, v)
    {
        int known = 0;
        json_array_foreach(dims, i, dim) if (json_is_string(json_object_get(dim, "id")) &&
                                             strcmp(json_string_value(json_object_get(dim, "id")),
                                                    k) == 0) known = 1;
        if (!known)
            wt_buf_printf(b, NULL, "- Unknown assessment dimension \"%s\" for assessment \"%s\".\n",
                          k, id);
    }
}

static int
check_assessment(const wt_wfrun_t *self, const wf_step_t *s, json_t *arts, wt_err_t *err)
{
    if (json_array_size(s->assess_refs) == 0)
        return 0;
    wt_buf_t b;
    wt_buf_init(&b, 1 << 20);
    json_t *levels = json_object(); /* "assessment\tdimension" -> canonical level */
    size_t r;
    json_t *ref;
    int single = json_array_size(s->assess_refs) == 1;
    json_array_foreach(s->assess_refs, r, ref)
    {
        json_t *def = assessment_def(self, ref);
        if (def == NULL) {
            wt_buf_printf(&b, NULL, "- Step references undeclared assessment \"%s\".\n",
                          json_string_value(ref));
            continue;
        }
        json_t *one = json_object();
        check_one_assessment(def, arts, single, one, &b);
        const char *k;
        json_t *v;
        json_object_foreach(one, k, v)
        {
            char key[300];
            snprintf(key, sizeof key, "%s.%s", json_string_value(ref), k);
            json_object_set(levels, key, v);
        }
        json_decref(one);
    }
    int rc = 0;
    if (b.len) {
        rc = wt_err_set(err, WT_EINVAL,
                        "Invalid output for contractRef=wr.contracts.assessment.\nIssues:\n%s"
                        "Fix the wr.assessment artifact (the expected assessmentId, every "
                        "dimension, only the allowed levels) and call complete_step again.",
                        wt_buf_str(&b));
    } else if (s->followup_level) {
        const char *k;
        json_t *v;
        json_object_foreach(levels, k,
                            v) if (rc == 0 && strcmp(json_string_value(v), s->followup_level) == 0)
            rc = wt_err_set(err, WT_EINVAL,
                            "Follow-up required before this step can proceed: %s matched \"%s\". "
                            "Stay on this step, address this follow-up, and retry with updated "
                            "output: %s",
                            k, s->followup_level, s->followup_text ? s->followup_text : "");
    }
    json_decref(levels);
    wt_buf_release(&b);
    return rc;
}

/* validationCriteria against the notes (WorkRail checks them only when the
 * step has no output contract and no assessment). */
static int
check_criteria(const wf_step_t *s, const char *notes, json_t *ctx, wt_err_t *err)
{
    if (s->criteria == NULL || s->contract_ref || json_array_size(s->assess_refs))
        return 0;
    if (notes == NULL || *notes == '\0')
        return wt_err_set(err, WT_EINVAL,
                          "Missing required output (contractRef=wr.validationCriteria).");
    wt_buf_t b;
    wt_buf_init(&b, 1 << 20);
    int rc = 0;
    if (wt_criteria_eval(s->criteria, notes, ctx, &b) > 0)
        rc = wt_err_set(err, WT_EINVAL,
                        "Invalid output for contractRef=wr.validationCriteria.\nIssues:\n%s"
                        "Suggestions:\n- Review validation criteria and adjust output "
                        "accordingly.\nUpdate the notes to satisfy validation and call "
                        "complete_step again.",
                        wt_buf_str(&b));
    wt_buf_release(&b);
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
                          "Step \"%s\" requires notes documenting your work (notes).", s->id);
    json_t *merged = json_deep_copy(self->context);
    if (ctx)
        json_object_update(merged, ctx);
    wt_buf_t missing;
    wt_buf_init(&missing, 4096);
    const char *k;
    json_t *v;
    if (self->wf->required_keys)
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
             check_assessment(self, s, arts, err) != 0 ||
             check_criteria(s, json_string_value(notes), merged, err) != 0)
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
