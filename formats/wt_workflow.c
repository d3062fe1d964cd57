/* wt_workflow - loads WorkRail-format workflow files into a compiled,
 * immutable form.
 *
 * Validation is strict where a mistake would change what the agent does
 * (unknown step kinds, bad conditions, loops without bounds, duplicate ids)
 * and lenient where WorkRail has fields that mean nothing to an unattended
 * agent (confirmation rules, clarification prompts, function definitions):
 * those are accepted and ignored. Every error names the file and the JSON
 * path of the offending node, so `worktrain validate` output can be acted
 * on directly. */
#include "wt_workflow.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_condition.h"
#include "wt_workflow_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *
opt_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? wt_xstrdup(s) : NULL;
}

/* A promptValue: a string or an array of {kind:text,text}/{kind:ref,refId}. */
static void
render_value(wt_buf_t *b, json_t *v)
{
    if (json_is_string(v)) {
        wt_buf_puts(b, json_string_value(v), NULL);
        return;
    }
    size_t i;
    json_t *part;
    json_array_foreach(v, i, part)
    {
        const char *t = json_string_value(json_object_get(part, "text"));
        const char *ref = json_string_value(json_object_get(part, "refId"));
        if (t)
            wt_buf_puts(b, t, NULL);
        else if (ref)
            wt_buf_printf(b, NULL, "[see WorkRail guidance '%s']", ref);
    }
}

static void
render_list(wt_buf_t *b, const char *title, json_t *list)
{
    if (!json_is_array(list) || json_array_size(list) == 0)
        return;
    wt_buf_printf(b, NULL, "\n## %s\n", title);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        wt_buf_puts(b, "- ", NULL);
        render_value(b, v);
        wt_buf_puts(b, "\n", NULL);
    }
}

static char *
render_blocks(json_t *pb)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 20);
    json_t *goal = json_object_get(pb, "goal");
    if (goal) {
        wt_buf_puts(&b, "## Goal\n", NULL);
        render_value(&b, goal);
        wt_buf_puts(&b, "\n", NULL);
    }
    render_list(&b, "Constraints", json_object_get(pb, "constraints"));
    render_list(&b, "Procedure", json_object_get(pb, "procedure"));
    json_t *out = json_object_get(pb, "outputRequired");
    if (json_is_object(out) && json_object_size(out)) {
        wt_buf_puts(&b, "\n## Output required\n", NULL);
        const char *k;
        json_t *v;
        json_object_foreach(out, k, v) wt_buf_printf(
            &b, NULL, "- `%s`: %s\n", k, json_string_value(v) ? json_string_value(v) : "");
    }
    render_list(&b, "Verify", json_object_get(pb, "verify"));
    return wt_buf_detach(&b);
}

static int
check_value(json_t *v, const char *path, wt_err_t *err)
{
    if (json_is_string(v))
        return 0;
    if (!json_is_array(v))
        return wt_err_set(err, WT_EINVAL, "%s: expected a string or an array of prompt parts",
                          path);
    return 0;
}

static int
compile_blocks(json_t *pb, const char *path, wt_err_t *err)
{
    if (!json_is_object(pb))
        return wt_err_set(err, WT_EINVAL, "%s.promptBlocks: expected an object", path);
    const char *k;
    json_t *v;
    json_object_foreach(pb, k, v)
    {
        char sub[400];
        snprintf(sub, sizeof sub, "%s.promptBlocks.%s", path, k);
        if (strcmp(k, "goal") == 0) {
            if (check_value(v, sub, err) != 0)
                return -1;
        } else if (strcmp(k, "outputRequired") == 0) {
            if (!json_is_object(v))
                return wt_err_set(err, WT_EINVAL, "%s: expected an object of key -> description",
                                  sub);
        } else if (strcmp(k, "constraints") == 0 || strcmp(k, "procedure") == 0 ||
                   strcmp(k, "verify") == 0) {
            if (!json_is_array(v))
                return wt_err_set(err, WT_EINVAL, "%s: expected an array", sub);
        } else {
            return wt_err_set(err, WT_EINVAL,
                              "%s: unknown block (use goal, constraints, procedure, "
                              "outputRequired, verify)",
                              sub);
        }
    }
    return 0;
}

static void
step_release(wf_step_t *s)
{
    free(s->id);
    free(s->title);
    free(s->prompt);
    free(s->agent_role);
    free(s->model_tier);
    free(s->contract_ref);
    free(s->followup_level);
    free(s->followup_text);
    free(s->items_var);
    free(s->count_var);
    free(s->iter_var);
    free(s->item_var);
    free(s->index_var);
    for (size_t i = 0; i < s->nbody; i++)
        step_release(&s->body[i]);
    free(s->body);
}

static int compile_step(json_t *j, const char *path, wf_step_t *s, json_t *steps, wt_err_t *err);

static int
compile_loop(json_t *j, const char *path, wf_step_t *s, json_t *steps, wt_err_t *err)
{
    json_t *cfg = json_object_get(j, "loop");
    char sub[400];
    if (!json_is_object(cfg))
        return wt_err_set(err, WT_EINVAL, "%s.loop: a loop step needs a loop object", path);
    const char *type = json_string_value(json_object_get(cfg, "type"));
    if (type == NULL)
        return wt_err_set(err, WT_EINVAL, "%s.loop.type: missing (while, until, for, forEach)",
                          path);
    s->loop = strcmp(type, "while") == 0     ? WF_LOOP_WHILE
              : strcmp(type, "until") == 0   ? WF_LOOP_UNTIL
              : strcmp(type, "for") == 0     ? WF_LOOP_FOR
              : strcmp(type, "forEach") == 0 ? WF_LOOP_FOREACH
                                             : WF_LOOP_NONE;
    if (s->loop == WF_LOOP_NONE)
        return wt_err_set(err, WT_EINVAL, "%s.loop.type: unknown loop type '%s'", path, type);
    json_t *max = json_object_get(cfg, "maxIterations");
    s->max_iter = json_is_number(max) ? (int)json_number_value(max) : 100;
    if (s->max_iter < 1 || s->max_iter > 1000)
        return wt_err_set(err, WT_EINVAL, "%s.loop.maxIterations: must be 1..1000", path);
    s->loop_cond = json_object_get(cfg, "condition");
    json_t *src = json_object_get(cfg, "conditionSource");
    const char *kind = json_string_value(json_object_get(src, "kind"));
    if (kind && strcmp(kind, "artifact_contract") == 0)
        s->loop_artifact = 1;
    else if (kind && strcmp(kind, "context_variable") == 0 && s->loop_cond == NULL)
        s->loop_cond = json_object_get(src, "condition");
    if (s->loop_cond) {
        snprintf(sub, sizeof sub, "%s.loop.condition", path);
        if (wt_condition_check(s->loop_cond, sub, err) != 0)
            return -1;
    }
    if ((s->loop == WF_LOOP_WHILE || s->loop == WF_LOOP_UNTIL) && !s->loop_cond &&
        !s->loop_artifact)
        return wt_err_set(err, WT_EINVAL, "%s.loop: %s loop needs condition or conditionSource",
                          path, type);
    json_t *count = json_object_get(cfg, "count");
    if (s->loop == WF_LOOP_FOR) {
        if (json_is_number(count))
            s->count = (int)json_number_value(count);
        else if (json_is_string(count)) {
            s->count = -1;
            s->count_var = wt_xstrdup(json_string_value(count));
        } else
            return wt_err_set(err, WT_EINVAL, "%s.loop.count: a for loop needs a count", path);
    }
    s->items_var = opt_str(cfg, "items");
    if (s->loop == WF_LOOP_FOREACH && s->items_var == NULL)
        return wt_err_set(err, WT_EINVAL, "%s.loop.items: a forEach loop needs items", path);
    s->iter_var = opt_str(cfg, "iterationVar");
    s->item_var = opt_str(cfg, "itemVar");
    s->index_var = opt_str(cfg, "indexVar");
    json_t *body = json_object_get(j, "body");
    if (json_is_string(body)) { /* a reference to a top-level step */
        json_t *ref = NULL;
        size_t i;
        json_t *st;
        json_array_foreach(steps, i, st) if (json_equal(json_object_get(st, "id"), body)) ref = st;
        if (ref == NULL)
            return wt_err_set(err, WT_EINVAL, "%s.body: no step with id '%s'", path,
                              json_string_value(body));
        s->body = wt_xcalloc(1, sizeof *s->body);
        s->nbody = 1;
        s->body_ref = 1;
        snprintf(sub, sizeof sub, "%s.body", path);
        return compile_step(ref, sub, &s->body[0], NULL, err);
    }
    if (!json_is_array(body) || json_array_size(body) == 0)
        return wt_err_set(err, WT_EINVAL, "%s.body: expected a step id or a non-empty array", path);
    s->nbody = json_array_size(body);
    s->body = wt_xcalloc(s->nbody, sizeof *s->body);
    for (size_t i = 0; i < s->nbody; i++) {
        snprintf(sub, sizeof sub, "%s.body[%zu]", path, i);
        json_t *b = json_array_get(body, i);
        if (json_is_string(json_object_get(b, "type")) &&
            strcmp(json_string_value(json_object_get(b, "type")), "loop") == 0)
            return wt_err_set(err, WT_EINVAL, "%s: loops cannot be nested", sub);
        if (compile_step(b, sub, &s->body[i], NULL, err) != 0)
            return -1;
    }
    return 0;
}

/* Fields WorkRail defines that mean nothing unattended (requireConfirmation,
 * clarificationPrompts, functionDefinitions, validationCriteria, ...) and
 * fields of newer WorkRail versions are accepted and ignored. */
static int
compile_standard(json_t *j, const char *path, wf_step_t *s, wt_err_t *err)
{
    json_t *prompt = json_object_get(j, "prompt"), *pb = json_object_get(j, "promptBlocks");
    if (prompt && !json_is_string(prompt))
        return wt_err_set(err, WT_EINVAL, "%s.prompt: expected a string", path);
    if (pb && compile_blocks(pb, path, err) != 0)
        return -1;
    if (!prompt && !pb && !json_object_get(j, "templateCall"))
        return wt_err_set(err, WT_EINVAL, "%s: step '%s' has no prompt or promptBlocks", path,
                          s->id);
    if (prompt)
        s->prompt = wt_xstrdup(json_string_value(prompt));
    else if (pb)
        s->prompt = render_blocks(pb);
    else
        s->prompt = wt_xstrdup("(this step runs a WorkRail template; do what its title says)");
    s->agent_role = opt_str(j, "agentRole");
    s->guidance = json_object_get(j, "guidance");
    if (s->guidance && !json_is_array(s->guidance))
        return wt_err_set(err, WT_EINVAL, "%s.guidance: expected an array of strings", path);
    s->required = pb ? json_object_get(pb, "outputRequired") : NULL;
    json_t *oc = json_object_get(j, "outputContract");
    if (oc) {
        if (!json_is_string(json_object_get(oc, "contractRef")))
            return wt_err_set(err, WT_EINVAL, "%s.outputContract.contractRef: expected a string",
                              path);
        s->contract_ref = opt_str(oc, "contractRef");
        s->contract_required = !json_is_false(json_object_get(oc, "required"));
    }
    s->assess_refs = json_object_get(j, "assessmentRefs");
    json_t *cons = json_object_get(j, "assessmentConsequences");
    if (cons) {
        json_t *c0 = json_array_get(cons, 0);
        const char *lvl =
            json_string_value(json_object_get(json_object_get(c0, "when"), "anyEqualsLevel"));
        json_t *eff = json_object_get(c0, "effect");
        const char *kind = json_string_value(json_object_get(eff, "kind"));
        if (!json_is_array(cons) || lvl == NULL || kind == NULL)
            return wt_err_set(err, WT_EINVAL,
                              "%s.assessmentConsequences[0]: expected {when: {anyEqualsLevel}, "
                              "effect: {kind, guidance}}",
                              path);
        if (strcmp(kind, "require_followup") != 0)
            return wt_err_set(err, WT_EINVAL,
                              "%s.assessmentConsequences[0].effect.kind: unknown '%s' "
                              "(supported: require_followup)",
                              path, kind);
        if (!json_is_array(s->assess_refs))
            return wt_err_set(err, WT_EINVAL, "%s.assessmentRefs: required with consequences",
                              path);
        s->followup_level = wt_xstrdup(lvl);
        s->followup_text = opt_str(eff, "guidance");
    }
    return 0;
}

static int
compile_step(json_t *j, const char *path, wf_step_t *s, json_t *steps, wt_err_t *err)
{
    if (!json_is_object(j))
        return wt_err_set(err, WT_EINVAL, "%s: expected a step object", path);
    const char *id = json_string_value(json_object_get(j, "id"));
    if (id == NULL || *id == '\0')
        return wt_err_set(err, WT_EINVAL, "%s.id: every step needs a string id", path);
    s->id = wt_xstrdup(id);
    const char *title = json_string_value(json_object_get(j, "title"));
    s->title = wt_xstrdup(title ? title : id);
    s->model_tier = opt_str(j, "modelTier");
    s->notes_optional = json_is_true(json_object_get(j, "notesOptional"));
    s->run_condition = json_object_get(j, "runCondition");
    if (s->run_condition) {
        char sub[400];
        snprintf(sub, sizeof sub, "%s.runCondition", path);
        if (wt_condition_check(s->run_condition, sub, err) != 0)
            return -1;
    }
    json_t *type = json_object_get(j, "type");
    if (type != NULL) {
        const char *t = json_string_value(type);
        if (t && strcmp(t, "loop") == 0) {
            return compile_loop(j, path, s, steps, err);
        }
        if (t == NULL || strcmp(t, "standard") != 0)
            return wt_err_set(err, WT_EINVAL, "%s.type: unknown step kind '%s' (expected loop)",
                              path, t ? t : "(not a string)");
    }
    return compile_standard(j, path, s, err);
}

static int
check_ids(wf_step_t *steps, size_t n, const char **seen, size_t *nseen, const char *origin,
          wt_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < *nseen; k++)
            if (strcmp(seen[k], steps[i].id) == 0)
                return wt_err_set(err, WT_EINVAL, "%s: $.steps: duplicate step id '%s'", origin,
                                  steps[i].id);
        if (*nseen < 512)
            seen[(*nseen)++] = steps[i].id;
        if (steps[i].nbody && steps[i].body != NULL && !steps[i].body_ref &&
            check_ids(steps[i].body, steps[i].nbody, seen, nseen, origin, err) != 0)
            return -1;
    }
    return 0;
}

static char *
join_guidance(json_t *mg)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 20);
    size_t i;
    json_t *v;
    json_array_foreach(mg, i, v) if (json_is_string(v))
        wt_buf_printf(&b, NULL, "- %s\n", json_string_value(v));
    return wt_buf_detach(&b);
}

static int
compile(wt_workflow_t *wf, const char *origin, wt_err_t *err)
{
    json_t *d = wf->doc;
    if (!json_is_object(d))
        return wt_err_set(err, WT_EINVAL, "%s: $: a workflow must be a JSON object", origin);
    const char *req[] = {"id", "name", "description", "version"};
    for (size_t i = 0; i < 4; i++)
        if (!json_is_string(json_object_get(d, req[i])))
            return wt_err_set(err, WT_EINVAL, "%s: $.%s: required string is missing", origin,
                              req[i]);
    wf->id = opt_str(d, "id");
    wf->name = opt_str(d, "name");
    wf->description = opt_str(d, "description");
    wf->version = opt_str(d, "version");
    wf->model_tier = opt_str(d, "modelTier");
    json_t *mg = json_object_get(d, "metaGuidance");
    if (mg && !json_is_array(mg))
        return wt_err_set(err, WT_EINVAL, "%s: $.metaGuidance: expected an array of strings",
                          origin);
    wf->meta_guidance = join_guidance(mg);
    wf->assessments = json_object_get(d, "assessments");
    json_t *steps = json_object_get(d, "steps");
    if (!json_is_array(steps) || json_array_size(steps) == 0)
        return wt_err_set(err, WT_EINVAL, "%s: $.steps: expected a non-empty array", origin);
    wf->nsteps = json_array_size(steps);
    wf->steps = wt_xcalloc(wf->nsteps, sizeof *wf->steps);
    for (size_t i = 0; i < wf->nsteps; i++) {
        char path[64];
        snprintf(path, sizeof path, "$.steps[%zu]", i);
        wt_err_t e = {0};
        if (compile_step(json_array_get(steps, i), path, &wf->steps[i], steps, &e) != 0)
            return wt_err_set(err, e.code, "%s: %s", origin, e.msg);
    }
    for (size_t i = 0; i < wf->nsteps; i++)
        if (wf->steps[i].body_ref)
            for (size_t k = 0; k < wf->nsteps; k++)
                if (strcmp(wf->steps[k].id, wf->steps[i].body[0].id) == 0)
                    wf->steps[k].skip = 1;
    const char *seen[512];
    size_t nseen = 0;
    return check_ids(wf->steps, wf->nsteps, seen, &nseen, origin, err);
}

wt_workflow_t *
wt_workflow_parse(const char *text, size_t len, const char *origin, wt_err_t *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        wt_err_set(err, WT_EINVAL, "%s: line %d column %d: invalid JSON: %s", origin, jerr.line,
                   jerr.column, jerr.text);
        return NULL;
    }
    wt_workflow_t *wf = wt_xcalloc(1, sizeof *wf);
    wf->doc = doc;
    if (compile(wf, origin, err) != 0)
        wt_workflow_destroy(&wf);
    return wf;
}

wt_workflow_t *
wt_workflow_load_file(const char *path, wt_err_t *err)
{
    wt_buf_t b;
    wt_buf_init(&b, 8u << 20);
    int rc = wt_buf_read_file(&b, path, err);
    wt_workflow_t *wf = rc == 0 ? wt_workflow_parse(b.data ? b.data : "", b.len, path, err) : NULL;
    wt_buf_release(&b);
    return wf;
}

void
wt_workflow_destroy(wt_workflow_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_workflow_t *wf = *self_p;
    for (size_t i = 0; i < wf->nsteps; i++)
        step_release(&wf->steps[i]);
    free(wf->steps);
    free(wf->id);
    free(wf->name);
    free(wf->description);
    free(wf->version);
    free(wf->meta_guidance);
    free(wf->model_tier);
    json_decref(wf->doc);
    free(wf);
    *self_p = NULL;
}

const char *
wt_workflow_id(const wt_workflow_t *self)
{
    return self->id;
}

const char *
wt_workflow_name(const wt_workflow_t *self)
{
    return self->name;
}

const char *
wt_workflow_description(const wt_workflow_t *self)
{
    return self->description;
}

const char *
wt_workflow_version(const wt_workflow_t *self)
{
    return self->version;
}

const char *
wt_workflow_meta_guidance(const wt_workflow_t *self)
{
    return self->meta_guidance;
}

int
wt_workflow_step_count(const wt_workflow_t *self)
{
    return (int)self->nsteps;
}

json_t *
wt_workflow_summary(const wt_workflow_t *self)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:i}", "id", self->id, "name", self->name, "description",
                     self->description, "version", self->version, "steps", (int)self->nsteps);
}

/* --- sets --- */

struct wt_workflow_set {
    wt_workflow_t **items; /* owned */
    int n;                 /* count */
};

wt_workflow_set_t *
wt_workflow_set_new(void)
{
    return wt_xcalloc(1, sizeof(wt_workflow_set_t));
}

void
wt_workflow_set_destroy(wt_workflow_set_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_workflow_set_t *self = *self_p;
    for (int i = 0; i < self->n; i++)
        wt_workflow_destroy(&self->items[i]);
    free(self->items);
    free(self);
    *self_p = NULL;
}

static int
has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int
wt_workflow_set_load_dir(wt_workflow_set_t *self, const char *dir,
                         void (*on_error)(void *ud, const wt_err_t *err), void *ud)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        wt_err_t e = {0};
        wt_err_sys(&e, "cannot read workflow directory '%s'", dir);
        if (on_error)
            on_error(ud, &e);
        return 0;
    }
    struct dirent *de;
    char **names = NULL;
    size_t nn = 0;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.') {
            names = wt_xrealloc(names, (nn + 1) * sizeof *names);
            names[nn++] = wt_xstrdup(de->d_name);
        }
    closedir(d);
    qsort(names, nn, sizeof *names, (int (*)(const void *, const void *))strcmp);
    int loaded = 0;
    for (size_t i = 0; i < nn; i++) {
        char *path = wt_xasprintf("%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            loaded += wt_workflow_set_load_dir(self, path, on_error, ud);
        } else if (has_suffix(names[i], ".json")) {
            wt_err_t e = {0};
            wt_workflow_t *wf = wt_workflow_load_file(path, &e);
            if (wf && wt_workflow_set_get(self, wf->id) != NULL) {
                wt_err_set(&e, WT_EINVAL, "%s: duplicate workflow id '%s' (earlier file wins)",
                           path, wf->id);
                wt_workflow_destroy(&wf);
            }
            if (wf) {
                self->items = wt_xrealloc(self->items, (size_t)(self->n + 1) * sizeof *self->items);
                self->items[self->n++] = wf;
                loaded++;
            } else if (on_error) {
                on_error(ud, &e);
            }
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return loaded;
}

const wt_workflow_t *
wt_workflow_set_get(const wt_workflow_set_t *self, const char *id)
{
    for (int i = 0; i < self->n; i++)
        if (strcmp(self->items[i]->id, id) == 0)
            return self->items[i];
    return NULL;
}

int
wt_workflow_set_count(const wt_workflow_set_t *self)
{
    return self->n;
}

const wt_workflow_t *
wt_workflow_set_at(const wt_workflow_set_t *self, int i)
{
    return i >= 0 && i < self->n ? self->items[i] : NULL;
}
