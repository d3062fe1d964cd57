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
#include "wt_criteria.h"
#include "wt_refs.h"
#include "wt_workflow_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
        else if (ref && wt_refs_text(ref)) /* checked at load (check_value) */
            wt_buf_puts(b, wt_refs_text(ref), NULL);
    }
}

/* WorkRail's promptBlocks rendering: sections in the order goal,
 * constraints, procedure (numbered), outputRequired, verify, joined by a
 * blank line. */
static void
render_list(wt_buf_t *b, const char *title, json_t *list, int numbered)
{
    if (!json_is_array(list) || json_array_size(list) == 0)
        return;
    wt_buf_printf(b, NULL, "%s## %s\n", b->len ? "\n\n" : "", title);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (numbered)
            wt_buf_printf(b, NULL, "%s%zu. ", i ? "\n" : "", i + 1);
        else
            wt_buf_puts(b, i ? "\n- " : "- ", NULL);
        render_value(b, v);
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
    }
    render_list(&b, "Constraints", json_object_get(pb, "constraints"), 0);
    render_list(&b, "Procedure", json_object_get(pb, "procedure"), 1);
    json_t *out = json_object_get(pb, "outputRequired");
    if (json_is_object(out) && json_object_size(out)) {
        wt_buf_printf(&b, NULL, "%s## Output Required", b.len ? "\n\n" : "");
        const char *k;
        json_t *v;
        json_object_foreach(out, k, v) wt_buf_printf(
            &b, NULL, "\n- **%s**: %s", k, json_string_value(v) ? json_string_value(v) : "");
    }
    render_list(&b, "Verify", json_object_get(pb, "verify"), 0);
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
    size_t i;
    json_t *part;
    json_array_foreach(v, i, part)
    {
        const char *ref = json_string_value(json_object_get(part, "refId"));
        if (json_string_value(json_object_get(part, "text")) == NULL && ref == NULL)
            return wt_err_set(err, WT_EINVAL,
                              "%s[%zu]: expected {kind: text, text} or {kind: ref, "
                              "refId}",
                              path, i);
        if (ref && wt_refs_text(ref) == NULL)
            return wt_err_set(err, WT_EINVAL, "%s[%zu]: Unknown ref '%s'. Known refs: %s", path, i,
                              ref, wt_refs_known());
    }
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
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item)
            {
                char sub2[420];
                snprintf(sub2, sizeof sub2, "%s[%zu]", sub, i);
                if (check_value(item, sub2, err) != 0)
                    return -1;
            }
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
 * clarificationPrompts, functionDefinitions, ...) and
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
    if (!prompt && !pb)
        s->template_call = json_object_get(j, "templateCall");
    if (prompt)
        s->prompt = wt_xstrdup(json_string_value(prompt));
    else if (pb)
        s->prompt = render_blocks(pb);
    else
        s->prompt = wt_xstrdup("(this step runs a WorkRail template that was not expanded: it is "
                               "expanded when the workflow is loaded from a folder holding the "
                               "routine; do what its title says)");
    s->agent_role = opt_str(j, "agentRole");
    s->guidance = json_object_get(j, "guidance");
    if (s->guidance && !json_is_array(s->guidance))
        return wt_err_set(err, WT_EINVAL, "%s.guidance: expected an array of strings", path);
    s->required = pb ? json_object_get(pb, "outputRequired") : NULL;
    s->criteria = json_object_get(j, "validationCriteria");
    if (s->criteria) {
        char sub[400];
        snprintf(sub, sizeof sub, "%s.validationCriteria", path);
        if (wt_criteria_check(s->criteria, sub, err) != 0)
            return -1;
    }
    s->fragments = json_object_get(j, "promptFragments");
    if (s->fragments) {
        if (!json_is_array(s->fragments))
            return wt_err_set(err, WT_EINVAL, "%s.promptFragments: expected an array", path);
        size_t i;
        json_t *f;
        json_array_foreach(s->fragments, i, f)
        {
            char sub[400];
            snprintf(sub, sizeof sub, "%s.promptFragments[%zu]", path, i);
            if (!json_is_string(json_object_get(f, "text")))
                return wt_err_set(err, WT_EINVAL, "%s.text: expected a string", sub);
            json_t *when = json_object_get(f, "when");
            strncat(sub, ".when", sizeof sub - strlen(sub) - 1);
            if (when && wt_condition_check(when, sub, err) != 0)
                return -1;
        }
    }
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

/* The opt-in tools a workflow may list (DESIGN.md 17): never given by default. */
static const char *const optional_tools[] = {"fleet_sessions", "session_notes", "fleet_status",
                                             "inbox_read",     "record_idea",   "idea_done",
                                             "fleet_gaps"};

static int
check_tools(json_t *d, const char *origin, wt_err_t *err)
{
    json_t *tools = json_object_get(d, "tools");
    if (tools == NULL)
        return 0;
    if (!json_is_array(tools))
        return wt_err_set(err, WT_EINVAL, "%s: $.tools: expected an array of tool names", origin);
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *name = json_string_value(t);
        size_t k = 0;
        while (name && k < sizeof optional_tools / sizeof *optional_tools &&
               strcmp(name, optional_tools[k]) != 0)
            k++;
        if (name == NULL || k == sizeof optional_tools / sizeof *optional_tools)
            return wt_err_set(err, WT_EINVAL,
                              "%s: $.tools[%zu]: unknown tool (want fleet_sessions, session_notes, "
                              "fleet_status, inbox_read, record_idea, idea_done or fleet_gaps)",
                              origin, i);
    }
    return 0;
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
    wf->required_keys =
        json_is_true(json_object_get(json_object_get(d, "worktrain"), "outputRequiredKeys"));
    json_t *net = json_object_get(d, "network");
    if (net && !json_is_boolean(net))
        return wt_err_set(err, WT_EINVAL, "%s: $.network: expected true or false", origin);
    wf->network = json_is_true(net);
    if (check_tools(d, origin, err) != 0)
        return -1;
    wf->tools = json_object_get(d, "tools");
    wf->project_memory =
        json_is_true(json_object_get(json_object_get(d, "worktrain"), "projectMemory"));
    wf->conversation =
        json_is_true(json_object_get(json_object_get(d, "worktrain"), "conversation"));
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
    if (wf)
        wf->path = wt_xstrdup(path);
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
    free(wf->path);
    free(wf->choice);
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

const char *
wt_workflow_path(const wt_workflow_t *self)
{
    return self->path;
}

const char *
wt_workflow_choice(const wt_workflow_t *self)
{
    return self->choice;
}

int
wt_workflow_tool_enabled(const wt_workflow_t *self, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(self->tools, i, t)
    {
        if (strcmp(json_string_value(t), name) == 0)
            return 1;
    }
    return 0;
}

int
wt_workflow_project_memory(const wt_workflow_t *self)
{
    return self->project_memory;
}

int
wt_workflow_conversation(const wt_workflow_t *self)
{
    return self->conversation;
}

int
wt_workflow_network(const wt_workflow_t *self)
{
    return self->network;
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

/* qsort hands the comparator pointers to the array's char * entries. */
static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the *.json files under dir (relative paths rel/NAME, sorted by
 * name at every level so the result is the same on every machine). */
static void
list_json(const char *dir, const char *rel, char ***out, size_t *nout,
          void (*on_error)(void *ud, const wt_err_t *err), void *ud)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        wt_err_t e = {0};
        wt_err_sys(&e, "cannot read workflow directory '%s'", dir);
        if (on_error)
            on_error(ud, &e);
        return;
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
    if (nn)
        qsort(names, nn, sizeof *names, cmp_names);
    for (size_t i = 0; i < nn; i++) {
        char *path = wt_xasprintf("%s/%s", dir, names[i]);
        char *sub = *rel ? wt_xasprintf("%s/%s", rel, names[i]) : wt_xstrdup(names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            list_json(path, sub, out, nout, on_error, ud);
            free(sub);
        } else if (has_suffix(names[i], ".json")) {
            *out = wt_xrealloc(*out, (*nout + 1) * sizeof **out);
            (*out)[(*nout)++] = sub;
        } else {
            free(sub);
        }
        free(path);
        free(names[i]);
    }
    free(names);
}

/* WorkRail's variant of a file, from markers in its path (checked in this
 * order, as WorkRail's file storage does). */
typedef enum { VAR_STANDARD, VAR_AGENTIC, VAR_V2, VAR_LEAN } variant_t;

static const char *const variant_names[] = {"standard", "agentic", "v2", "lean"};

static variant_t
variant_of(const char *rel)
{
    return strstr(rel, ".lean.")      ? VAR_LEAN
           : strstr(rel, ".v2.")      ? VAR_V2
           : strstr(rel, ".agentic.") ? VAR_AGENTIC
                                      : VAR_STANDARD;
}

/* WorkRail v3.37.1's defaults: v2Tools and agenticRoutines on, leanWorkflows
 * off (WORKRAIL_ENABLE_LEAN_WORKFLOWS turns it on, as in WorkRail). */
int
wt_workflow_lean_enabled(void)
{
    const char *v = getenv("WORKRAIL_ENABLE_LEAN_WORKFLOWS");
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
                 strcasecmp(v, "on") == 0);
}

/* Rank of a variant among files with the same id: the feature-flag order
 * lean > v2 > agentic, then standard. */
static int
variant_rank(variant_t v)
{
    return v == VAR_LEAN ? 3 : v == VAR_V2 ? 2 : v == VAR_AGENTIC ? 1 : 0;
}

static void
add_item(wt_workflow_set_t *self, wt_workflow_t *wf)
{
    self->items = wt_xrealloc(self->items, (size_t)(self->n + 1) * sizeof *self->items);
    self->items[self->n++] = wf;
}

/* --- templateCall expansion (WorkRail's routine injection) --- */

static int
uses_templates(const wt_workflow_t *wf)
{
    for (size_t i = 0; i < wf->nsteps; i++) {
        if (wf->steps[i].template_call)
            return 1;
        for (size_t k = 0; k < wf->steps[i].nbody; k++)
            if (wf->steps[i].body[k].template_call)
                return 1;
    }
    return 0;
}

/* WorkRail names a routine's template "wr.templates.routine.<name>" for
 * the routine id "routine-<name>" (or "<name>"). */
static const wt_workflow_t *
find_routine(wt_workflow_set_t *set, const char *template_id)
{
    const char *pre = "wr.templates.routine.";
    if (strncmp(template_id, pre, strlen(pre)) != 0)
        return NULL;
    const char *name = template_id + strlen(pre);
    for (int i = 0; i < set->n; i++) {
        const char *id = set->items[i]->id;
        if (strncmp(id, "routine-", 8) == 0)
            id += 8;
        if (strcmp(id, name) == 0)
            return set->items[i];
    }
    return NULL;
}

/* WorkRail's {arg} substitution (single braces; {{...}} is left alone). */
static char *
substitute_args(const char *text, json_t *args, const char *what, wt_err_t *err)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 22);
    const char *p = text;
    while (*p) {
        const char *open = strchr(p, '{');
        if (open == NULL)
            break;
        const char *close = open + 1;
        while (*close && *close != '{' && *close != '}')
            close++;
        int single = *close == '}' && close > open + 1 && (open == text || open[-1] != '{') &&
                     close[1] != '}';
        if (!single) {
            wt_buf_append(&b, p, (size_t)(open + 1 - p), NULL);
            p = open + 1;
            continue;
        }
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(close - open - 1), open + 1);
        json_t *v = json_object_get(args, name);
        if (v == NULL || !(json_is_string(v) || json_is_number(v) || json_is_boolean(v))) {
            wt_err_set(err, WT_EINVAL,
                       v ? "%s: INVALID_TEMPLATE_ARG_TYPE: arg '%s' must be string, number, or "
                           "boolean"
                         : "%s: MISSING_TEMPLATE_ARG: references arg '%s' but it was not provided "
                           "in templateCall.args",
                       what, name);
            wt_buf_release(&b);
            return NULL;
        }
        wt_buf_append(&b, p, (size_t)(open - p), NULL);
        char *t = wt_condition_text(v);
        wt_buf_puts(&b, t, NULL);
        free(t);
        p = close + 1;
    }
    wt_buf_puts(&b, p, NULL);
    return wt_buf_detach(&b);
}

/* Appends the routine's steps for caller (a step with templateCall) to out. */
static int
expand_call(wt_workflow_set_t *set, json_t *caller, json_t *out, const char *origin, wt_err_t *err)
{
    json_t *tc = json_object_get(caller, "templateCall");
    const char *tid = json_string_value(json_object_get(tc, "templateId"));
    const char *cid = json_string_value(json_object_get(caller, "id"));
    const wt_workflow_t *r = tid ? find_routine(set, tid) : NULL;
    if (r == NULL)
        return wt_err_set(err, WT_EINVAL,
                          "%s: step '%s': Unknown template '%s' (a routine with id "
                          "routine-NAME must be loaded from the same folders)",
                          origin, cid, tid ? tid : "(none)");
    json_t *args = json_object_get(tc, "args");
    json_t *meta = json_object_get(r->doc, "metaGuidance");
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(r->doc, "steps"), i, st)
    {
        const char *sid = json_string_value(json_object_get(st, "id"));
        const char *title = json_string_value(json_object_get(st, "title"));
        const char *prompt = json_string_value(json_object_get(st, "prompt"));
        if (json_object_get(st, "templateCall"))
            return wt_err_set(err, WT_EINVAL,
                              "%s: routine '%s' step '%s' contains a templateCall: recursive "
                              "routine injection is not allowed",
                              origin, r->id, sid ? sid : "?");
        if (!sid || !title || !prompt)
            return wt_err_set(err, WT_EINVAL,
                              "%s: routine '%s' step '%s' is missing required field '%s'", origin,
                              r->id, sid ? sid : "(missing id)",
                              !sid     ? "id"
                              : !title ? "title"
                                       : "prompt");
        char what[512];
        snprintf(what, sizeof what, "%s: routine '%s' step '%s'", origin, r->id, sid);
        char *np = substitute_args(prompt, args, what, err);
        char *nt = np ? substitute_args(title, args, what, err) : NULL;
        if (nt == NULL) {
            free(np);
            return -1;
        }
        json_t *x = json_deep_copy(st);
        json_object_set_new(x, "id", json_sprintf("%s.%s", cid, sid));
        json_object_set_new(x, "title", json_string(nt));
        json_object_set_new(x, "prompt", json_string(np));
        free(np);
        free(nt);
        if (json_array_size(meta)) {
            json_t *g = json_object_get(st, "guidance");
            json_t *all = json_is_array(g) ? json_deep_copy(g) : json_array();
            json_array_extend(all, meta);
            json_object_set_new(x, "guidance", all);
        }
        if (!json_object_get(x, "runCondition") && json_object_get(caller, "runCondition"))
            json_object_set(x, "runCondition", json_object_get(caller, "runCondition"));
        json_array_append_new(out, x);
    }
    return 0;
}

static json_t *
expand_steps(wt_workflow_set_t *set, json_t *steps, const char *origin, wt_err_t *err)
{
    json_t *out = json_array();
    size_t i;
    json_t *st;
    json_array_foreach(steps, i, st)
    {
        if (json_object_get(st, "templateCall") && !json_object_get(st, "prompt") &&
            !json_object_get(st, "promptBlocks")) {
            if (expand_call(set, st, out, origin, err) != 0) {
                json_decref(out);
                return NULL;
            }
            continue;
        }
        json_t *x = json_deep_copy(st);
        json_t *body = json_object_get(x, "body");
        if (json_is_array(body)) {
            json_t *nb = expand_steps(set, body, origin, err);
            if (nb == NULL) {
                json_decref(x);
                json_decref(out);
                return NULL;
            }
            json_object_set_new(x, "body", nb);
        }
        json_array_append_new(out, x);
    }
    return out;
}

/* Replaces every workflow of the set that calls templates by its expanded
 * form; one that cannot be expanded is reported and removed, as WorkRail
 * refuses to compile it. */
static void
expand_templates(wt_workflow_set_t *self, void (*on_error)(void *ud, const wt_err_t *err), void *ud)
{
    for (int i = 0; i < self->n; i++) {
        wt_workflow_t *wf = self->items[i];
        if (!uses_templates(wf))
            continue;
        wt_err_t e = {0};
        const char *origin = wf->path ? wf->path : wf->id;
        json_t *steps = expand_steps(self, json_object_get(wf->doc, "steps"), origin, &e);
        wt_workflow_t *nw = NULL;
        if (steps) {
            json_t *doc = json_deep_copy(wf->doc);
            json_object_set_new(doc, "steps", steps);
            char *text = json_dumps(doc, JSON_COMPACT);
            json_decref(doc);
            nw = wt_workflow_parse(text, strlen(text), origin, &e);
            free(text);
        }
        if (nw == NULL) {
            if (on_error)
                on_error(ud, &e);
            wt_workflow_destroy(&self->items[i]);
            memmove(&self->items[i], &self->items[i + 1],
                    (size_t)(self->n - i - 1) * sizeof *self->items);
            self->n--;
            i--;
            continue;
        }
        nw->path = wf->path;
        nw->choice = wf->choice;
        wf->path = wf->choice = NULL;
        wt_workflow_destroy(&self->items[i]);
        self->items[i] = nw;
    }
}

int
wt_workflow_set_load_dir(wt_workflow_set_t *self, const char *dir,
                         void (*on_error)(void *ud, const wt_err_t *err), void *ud)
{
    char **rels = NULL;
    size_t n = 0;
    list_json(dir, "", &rels, &n, on_error, ud);
    wt_workflow_t **wfs = wt_xcalloc(n ? n : 1, sizeof *wfs);
    int lean = wt_workflow_lean_enabled();
    for (size_t i = 0; i < n; i++) {
        char *path = wt_xasprintf("%s/%s", dir, rels[i]);
        wt_err_t e = {0};
        if (variant_of(rels[i]) == VAR_LEAN && !lean)
            wt_err_set(&e, WT_EINVAL,
                       "%s: skipped: a .lean. variant, which WorkRail loads only with "
                       "WORKRAIL_ENABLE_LEAN_WORKFLOWS=true",
                       path);
        else
            wfs[i] = wt_workflow_load_file(path, &e);
        free(path);
        if (wfs[i] == NULL && on_error)
            on_error(ud, &e);
    }
    /* one winner per id: the best-ranked variant, the first by path on a tie */
    int loaded = 0;
    for (size_t i = 0; i < n; i++) {
        if (wfs[i] == NULL)
            continue;
        size_t best = i;
        for (size_t k = i + 1; k < n; k++)
            if (wfs[k] && strcmp(wfs[k]->id, wfs[i]->id) == 0 &&
                variant_rank(variant_of(rels[k])) > variant_rank(variant_of(rels[best])))
                best = k;
        wt_workflow_t *win = wfs[best];
        const wt_workflow_t *earlier = wt_workflow_set_get(self, win->id);
        wt_buf_t why; /* the choice, for `worktrain workflows` */
        wt_buf_init(&why, 1 << 16);
        for (size_t k = i; k < n; k++) {
            if (wfs[k] == NULL || k == best || strcmp(wfs[k]->id, win->id) != 0)
                continue;
            wt_err_t e = {0};
            variant_t vk = variant_of(rels[k]), vb = variant_of(rels[best]);
            if (earlier == NULL && vk == vb)
                wt_err_set(&e, WT_EINVAL,
                           "%s: duplicate workflow id '%s': not chosen; %s wins (same variant "
                           "'%s', first by path)",
                           wfs[k]->path, win->id, win->path, variant_names[vb]);
            else if (earlier == NULL)
                wt_err_set(&e, WT_EINVAL,
                           "%s: duplicate workflow id '%s': not chosen; %s wins (WorkRail prefers "
                           "the %s variant over %s)",
                           wfs[k]->path, win->id, win->path, variant_names[vb], variant_names[vk]);
            if (earlier == NULL && on_error)
                on_error(ud, &e);
            if (earlier == NULL)
                wt_buf_printf(&why, NULL, "%schosen over %s (%s%s%s)", why.len ? "; " : "",
                              wfs[k]->path,
                              vk == vb ? "same variant, first by path" : "WorkRail prefers the ",
                              vk == vb ? "" : variant_names[vb], vk == vb ? "" : " variant");
            wt_workflow_destroy(&wfs[k]);
        }
        if (earlier != NULL) {
            wt_err_t e = {0};
            wt_err_set(&e, WT_EINVAL,
                       "%s: duplicate workflow id '%s': not chosen; %s, from an earlier folder, "
                       "wins",
                       win->path, win->id, earlier->path);
            if (on_error)
                on_error(ud, &e);
            wt_workflow_destroy(&wfs[best]);
            wt_buf_release(&why);
            continue;
        }
        if (why.len) {
            free(win->choice);
            win->choice = wt_buf_detach(&why);
        }
        wt_buf_release(&why);
        add_item(self, win);
        wfs[best] = NULL;
        loaded++;
    }
    for (size_t i = 0; i < n; i++)
        free(rels[i]);
    free(rels);
    free(wfs);
    int before = self->n;
    expand_templates(self, on_error, ud);
    return loaded - (before - self->n);
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
