/* wt_pipeline - loading and shape-checking pipeline YAML (DESIGN §7).
 * Design: wt_yaml gives a tree with positions; one walk over it fills the
 * public structs and reports every shape problem (wrong type, unknown or
 * missing key, bad id, bad expression or template syntax) into the diags
 * instead of stopping at the first, so a person fixes a file in one go. A
 * problem inside an expression points at its character: the scalar's
 * column plus the offset (quotes and doubled quotes accounted for) when the
 * scalar sits on one line, the scalar's start otherwise. Meaning checks
 * (needs, cycles, upstream references) live in wt_pipeline_check.c. */
#include "wt_pipeline.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_pipeline_int.h"
#include "wt_retain.h"
#include "wt_yaml.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_GOAL "{{inputs.goal}}"

static const char *const top_keys[] = {"pipeline", "description", "inputs", "phases"};
static const char *const phase_keys[] = {"id",        "workflow", "notify", "goal",     "needs",
                                         "if",        "foreach",  "retry",  "vars",     "timeout",
                                         "max_turns", "priority", "retain", "workspace"};
/* DESIGN.md 15: a phase's workspace (templates; "" leaves a field out). */
static const char *const workspace_keys[] = {"repo",  "ref",          "autoCommit", "deliver",
                                             "forge", "forgeProject", "labels",     "autoOpenPR"};
static const char *const notify_keys[] = {"webhook", "slack", "message", "event"};
static const char *const retry_keys[] = {"max_attempts", "until"};

#define NKEYS(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct loader {
    wt_pipeline_full_t *full; /* being filled */
    wt_diags_t *diags;        /* problems go here */
    const char *file;         /* label for messages */
    int phase;                /* index of the phase being read */
} loader_t;

static void problem(loader_t *ld, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
problem(loader_t *ld, int line, int col, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wt_diags_add(ld->diags, ld->file, line, col, 0, "%s", msg);
}

#define AT(node) wt_yaml_line(node), wt_yaml_col(node)

wt_pos_t
wt_pipeline_src_pos(const wt_pipeline_src_t *src, const char *text, size_t off)
{
    wt_pos_t p = {src->line, src->col};
    if (src->multiline || src->style == WT_YAML_LITERAL || src->style == WT_YAML_FOLDED)
        return p;
    int col = src->col + (src->style == WT_YAML_SINGLE || src->style == WT_YAML_DOUBLE);
    for (size_t i = 0; i < off && text[i] != '\0'; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c & 0xC0) == 0x80)
            continue; /* libyaml counts characters, not UTF-8 bytes */
        if (src->style == WT_YAML_SINGLE && c == '\'')
            col += 2;
        else if (src->style == WT_YAML_DOUBLE && (c == '"' || c == '\\' || c < 0x20))
            col += 2;
        else
            col++;
    }
    p.col = col;
    return p;
}

const wt_pipeline_full_t *
wt_pipeline_full(const wt_pipeline_t *self)
{
    const wt_pipeline_full_t *f = (const wt_pipeline_full_t *)self;
    return f && f->magic == WT_PIPELINE_MAGIC ? f : NULL;
}

/* Reports keys of map not in keys[], with a suggestion when one is close. */
static void
unknown_keys(loader_t *ld, const wt_yaml_node_t *map, const char *where, const char *const *keys,
             int n)
{
    for (size_t i = 0; i < wt_yaml_len(map); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(map, i);
        const char *t = wt_yaml_text(k);
        if (t == NULL) {
            problem(ld, AT(k), "%s keys must be text, not a %s", where, wt_yaml_kind_name(k));
            continue;
        }
        int known = 0;
        for (int j = 0; j < n && !known; j++)
            known = strcmp(t, keys[j]) == 0;
        if (known)
            continue;
        const char *s = wt_diag_suggest(t, keys, n);
        if (s != NULL) {
            problem(ld, AT(k), "unknown key '%.60s' in %s (did you mean '%s'?)", t, where, s);
        } else {
            char list[256] = "";
            for (int j = 0; j < n; j++) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "", keys[j]);
            }
            problem(ld, AT(k), "unknown key '%.60s' in %s (expected one of: %s)", t, where, list);
        }
    }
}

/* The text of a scalar that must hold a non-empty value, else NULL with a
 * problem reported. */
static const char *
need_text(loader_t *ld, const wt_yaml_node_t *v, const char *field)
{
    if (wt_yaml_kind(v) != WT_YAML_SCALAR) {
        problem(ld, AT(v), "'%s' must be text, not a %s", field, wt_yaml_kind_name(v));
        return NULL;
    }
    if (wt_yaml_is_null(v) || wt_yaml_text_len(v) == 0) {
        problem(ld, AT(v), "'%s' is empty", field);
        return NULL;
    }
    if (strlen(wt_yaml_text(v)) != wt_yaml_text_len(v)) {
        problem(ld, AT(v), "'%s' holds a NUL character", field);
        return NULL;
    }
    return wt_yaml_text(v);
}

static int
is_ident(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static wt_pos_t
pos_of(const wt_yaml_node_t *n)
{
    wt_pos_t p = {wt_yaml_line(n), wt_yaml_col(n)};
    return p;
}

static void
add_src(loader_t *ld, const void *obj, int is_template, const char *field, const wt_yaml_node_t *v)
{
    wt_pipeline_full_t *f = ld->full;
    if (f->nsrcs == f->capsrcs) {
        f->capsrcs = f->capsrcs ? 2 * f->capsrcs : 16;
        f->srcs = wt_xrealloc(f->srcs, (size_t)f->capsrcs * sizeof f->srcs[0]);
    }
    wt_pipeline_src_t *s = &f->srcs[f->nsrcs++];
    s->obj = obj;
    s->is_template = is_template;
    s->phase = ld->phase;
    s->field = field;
    s->line = wt_yaml_line(v);
    s->col = wt_yaml_col(v);
    s->style = (int)wt_yaml_style(v);
    s->multiline = wt_yaml_end_line(v) != wt_yaml_line(v);
}

/* Drops " at offset N" from a parser message: the diagnostic's line and
 * column already say where. */
static const char *
without_offset(char *msg)
{
    static const char tag[] = " at offset ";
    char *at = strstr(msg, tag);
    if (at == NULL)
        return msg;
    char *end = at + sizeof tag - 1;
    if (*end < '0' || *end > '9')
        return msg;
    while (*end >= '0' && *end <= '9')
        end++;
    memmove(at, end, strlen(end) + 1);
    return msg;
}

/* Parses the scalar v as an expression; NULL with a problem reported. */
static wt_expr_t *
load_expr(loader_t *ld, const wt_yaml_node_t *v, const char *field)
{
    const char *text = need_text(ld, v, field);
    if (text == NULL)
        return NULL;
    size_t off = 0;
    wt_err_t err = {0};
    wt_expr_t *e = wt_expr_parse(text, &off, &err);
    if (e == NULL) {
        wt_pipeline_src_t src = {.line = wt_yaml_line(v),
                                 .col = wt_yaml_col(v),
                                 .style = (int)wt_yaml_style(v),
                                 .multiline = wt_yaml_end_line(v) != wt_yaml_line(v)};
        wt_pos_t p = wt_pipeline_src_pos(&src, text, off);
        problem(ld, p.line, p.col, "bad expression in '%s': %s", field, without_offset(err.msg));
        return NULL;
    }
    add_src(ld, e, 0, field, v);
    return e;
}

/* Parses the scalar v as a template (empty allowed when allow_empty). */
static wt_template_t *
load_template(loader_t *ld, const wt_yaml_node_t *v, const char *field, int allow_empty)
{
    const char *text;
    if (allow_empty && wt_yaml_kind(v) == WT_YAML_SCALAR &&
        strlen(wt_yaml_text(v)) == wt_yaml_text_len(v))
        text = wt_yaml_is_null(v) ? "" : wt_yaml_text(v);
    else
        text = need_text(ld, v, field);
    if (text == NULL)
        return NULL;
    size_t off = 0;
    wt_err_t err = {0};
    wt_template_t *t = wt_template_parse(text, &off, &err);
    if (t == NULL) {
        wt_pipeline_src_t src = {.line = wt_yaml_line(v),
                                 .col = wt_yaml_col(v),
                                 .style = (int)wt_yaml_style(v),
                                 .multiline = wt_yaml_end_line(v) != wt_yaml_line(v)};
        wt_pos_t p = wt_pipeline_src_pos(&src, text, off);
        problem(ld, p.line, p.col, "bad template in '%s': %s", field, without_offset(err.msg));
        return NULL;
    }
    add_src(ld, t, 1, field, v);
    return t;
}

/* An integer in [lo, hi]; -1 with a problem reported. */
static int
load_int(loader_t *ld, const wt_yaml_node_t *v, const char *field, long long lo, long long hi,
         long long *out)
{
    if (wt_yaml_int(v, out) != 0 || *out < lo || *out > hi) {
        problem(ld, AT(v), "'%s' must be a whole number from %lld to %lld", field, lo, hi);
        return -1;
    }
    return 0;
}

static void
load_needs(loader_t *ld, wt_phase_t *ph, const wt_yaml_node_t *v)
{
    int single = wt_yaml_kind(v) == WT_YAML_SCALAR;
    if (wt_yaml_kind(v) == WT_YAML_MAP) {
        problem(ld, AT(v), "'needs' must be a phase id or a list of phase ids, not a mapping");
        return;
    }
    size_t n = single ? 1 : wt_yaml_len(v);
    ph->needs = wt_xcalloc(n, sizeof *ph->needs);
    ph->needs_pos = wt_xcalloc(n, sizeof *ph->needs_pos);
    for (size_t i = 0; i < n; i++) {
        const wt_yaml_node_t *item = single ? v : wt_yaml_seq_at(v, i);
        const char *id = need_text(ld, item, "needs");
        if (id == NULL)
            continue;
        int dup = 0;
        for (int j = 0; j < ph->nneeds && !dup; j++)
            dup = strcmp(ph->needs[j], id) == 0;
        if (dup) {
            problem(ld, AT(item), "'%.60s' is listed twice in needs", id);
            continue;
        }
        ph->needs[ph->nneeds] = wt_xstrdup(id);
        ph->needs_pos[ph->nneeds++] = pos_of(item);
    }
}

static void
load_retry(loader_t *ld, wt_phase_t *ph, const wt_yaml_node_t *v)
{
    ph->retry_pos = pos_of(v);
    if (wt_yaml_kind(v) != WT_YAML_MAP) {
        problem(ld, AT(v), "'retry' must be a mapping {max_attempts: N, until: EXPR}, not a %s",
                wt_yaml_kind_name(v));
        return;
    }
    unknown_keys(ld, v, "retry", retry_keys, NKEYS(retry_keys));
    const wt_yaml_node_t *max = wt_yaml_map_get(v, "max_attempts");
    const wt_yaml_node_t *until = wt_yaml_map_get(v, "until");
    long long n = 0;
    if (max == NULL)
        problem(ld, AT(v), "'retry' needs 'max_attempts' (1 to 20)");
    else if (load_int(ld, max, "max_attempts", 1, 20, &n) == 0)
        ph->retry_max = (int)n;
    if (until != NULL)
        ph->retry_until = load_expr(ld, until, "retry.until");
}

/* A mapping of names to templates (vars, workspace), appended to out. */
static void
load_templates(loader_t *ld, const char *field, const wt_yaml_node_t *v, wt_phase_var_t **out,
               int *n)
{
    if (wt_yaml_kind(v) != WT_YAML_MAP) {
        problem(ld, AT(v), "'%s' must be a mapping of names to text, not a %s", field,
                wt_yaml_kind_name(v));
        return;
    }
    *out = wt_xcalloc(wt_yaml_len(v), sizeof **out);
    for (size_t i = 0; i < wt_yaml_len(v); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(v, i), *val = wt_yaml_map_value_at(v, i);
        const char *key = need_text(ld, k, "key");
        if (key == NULL)
            continue;
        if (wt_yaml_kind(val) != WT_YAML_SCALAR) {
            problem(ld, AT(val), "%s.%.60s must be text, not a %s", field, key,
                    wt_yaml_kind_name(val));
            continue;
        }
        wt_template_t *t = load_template(ld, val, field, 1);
        if (t == NULL)
            continue;
        wt_phase_var_t *pv = &(*out)[(*n)++];
        pv->key = wt_xstrdup(key);
        pv->value = t;
        pv->pos = pos_of(val);
    }
}

static void
load_notify(loader_t *ld, wt_phase_t *ph, const wt_yaml_node_t *v)
{
    if (wt_yaml_kind(v) != WT_YAML_MAP) {
        problem(ld, AT(v), "'notify' must be a mapping {webhook, slack, message, event}, not a %s",
                wt_yaml_kind_name(v));
        return;
    }
    unknown_keys(ld, v, "notify", notify_keys, NKEYS(notify_keys));
    const wt_yaml_node_t *n;
    const char *t;
    if ((n = wt_yaml_map_get(v, "webhook")) != NULL && (t = need_text(ld, n, "webhook")) != NULL)
        ph->notify_webhook = wt_xstrdup(t);
    if ((n = wt_yaml_map_get(v, "slack")) != NULL && (t = need_text(ld, n, "slack")) != NULL)
        ph->notify_slack = wt_xstrdup(t);
    if ((n = wt_yaml_map_get(v, "message")) != NULL)
        ph->notify_message = load_template(ld, n, "notify.message", 0);
    if ((n = wt_yaml_map_get(v, "event")) != NULL && (t = need_text(ld, n, "event")) != NULL)
        ph->notify_event = wt_xstrdup(t);
    if (ph->notify_event == NULL)
        ph->notify_event = wt_xstrdup("escalation");
}

/* The id of phase map m; checks syntax, reserved names and uniqueness. */
static void
load_id(loader_t *ld, wt_phase_t *ph, const wt_yaml_node_t *m)
{
    const wt_yaml_node_t *v = wt_yaml_map_get(m, "id");
    if (v == NULL) {
        problem(ld, AT(m), "phase %d has no 'id'", ld->phase + 1);
        return;
    }
    const char *id = need_text(ld, v, "id");
    if (id == NULL)
        return;
    if (!is_ident(id)) {
        problem(ld, AT(v),
                "bad phase id '%.60s': use letters, digits, '_' and '-', starting with a letter or "
                "'_'",
                id);
        return;
    }
    if (strcmp(id, "inputs") == 0 || strcmp(id, "item") == 0 || strcmp(id, "index") == 0 ||
        strcmp(id, "attempt") == 0 || strcmp(id, "previous") == 0) {
        problem(ld, AT(v), "phase id '%s' is reserved (it names a value in expressions)", id);
        return;
    }
    for (int i = 0; i < ld->phase; i++) {
        const wt_phase_t *o = &ld->full->pub.phases[i];
        if (o->id && strcmp(o->id, id) == 0) {
            problem(ld, AT(v), "duplicate phase id '%s' (first at line %d)", id, o->pos.line);
            return;
        }
    }
    ph->id = wt_xstrdup(id);
    ph->pos = pos_of(v);
}

/* The key node of key in mapping m (m holds it). */
static const wt_yaml_node_t *
key_node(const wt_yaml_node_t *m, const char *key)
{
    for (size_t i = 0; i < wt_yaml_len(m); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(m, i);
        if (wt_yaml_text(k) && strcmp(wt_yaml_text(k), key) == 0)
            return k;
    }
    return m;
}

/* Keys that only a session phase may have. */
static void
notify_extras(loader_t *ld, const wt_yaml_node_t *m)
{
    static const char *const session_only[] = {"goal",      "retry",    "vars",   "timeout",
                                               "max_turns", "priority", "retain", "workspace"};
    for (int i = 0; i < NKEYS(session_only); i++) {
        for (size_t j = 0; j < wt_yaml_len(m); j++) {
            const wt_yaml_node_t *k = wt_yaml_map_key_at(m, j);
            if (wt_yaml_text(k) && strcmp(wt_yaml_text(k), session_only[i]) == 0)
                problem(ld, AT(k), "'%s' has no meaning in a notify phase (it starts no session)",
                        session_only[i]);
        }
    }
}

static void
load_session_limits(loader_t *ld, wt_phase_t *ph, const wt_yaml_node_t *m)
{
    const wt_yaml_node_t *v;
    long long n;
    if ((v = wt_yaml_map_get(m, "timeout")) != NULL) {
        const char *t = need_text(ld, v, "timeout");
        int64_t ms = t && t[0] >= '0' && t[0] <= '9' ? wt_clock_parse_duration_ms(t) : -1;
        if (t != NULL && (ms <= 0 || ms > 7LL * 24 * 3600 * 1000))
            problem(ld, AT(v),
                    "bad timeout '%.60s': use a duration such as 90s, 30m or 2h (at most "
                    "7 days)",
                    t);
        else if (t != NULL)
            ph->timeout_ms = ms;
    }
    if ((v = wt_yaml_map_get(m, "max_turns")) != NULL &&
        load_int(ld, v, "max_turns", 1, 100000, &n) == 0)
        ph->max_turns = (int32_t)n;
    if ((v = wt_yaml_map_get(m, "priority")) != NULL &&
        load_int(ld, v, "priority", -100, 100, &n) == 0)
        ph->priority = (int32_t)n;
    wt_err_t e = {0};
    const char *t = (v = wt_yaml_map_get(m, "retain")) != NULL ? need_text(ld, v, "retain") : NULL;
    if (t != NULL && wt_retain_parse("retain", t, &ph->retain_ms, &e) != 0)
        problem(ld, AT(v), "%s", e.msg);
}

static void
load_phase(loader_t *ld, wt_phase_t *ph, const wt_yaml_node_t *m)
{
    ph->retry_max = 1;
    if (wt_yaml_kind(m) != WT_YAML_MAP) {
        problem(ld, AT(m),
                "phase %d must be a mapping with 'id' and 'workflow' or 'notify', not "
                "a %s",
                ld->phase + 1, wt_yaml_kind_name(m));
        return;
    }
    unknown_keys(ld, m, "a phase", phase_keys, NKEYS(phase_keys));
    load_id(ld, ph, m);
    const char *label = ph->id ? ph->id : "?";
    const wt_yaml_node_t *wf = wt_yaml_map_get(m, "workflow"), *nt = wt_yaml_map_get(m, "notify");
    const wt_yaml_node_t *v;
    if (wf != NULL && nt != NULL) {
        problem(ld, AT(key_node(m, "notify")),
                "phase '%s' has both 'workflow' and 'notify': a phase runs a session or sends a "
                "notification, not both",
                label);
    } else if (wf == NULL && nt == NULL) {
        problem(ld, AT(m), "phase '%s' needs 'workflow' (to run a session) or 'notify'", label);
    }
    if (wf != NULL) {
        const char *t = need_text(ld, wf, "workflow");
        if (t != NULL) {
            ph->workflow = wt_xstrdup(t);
            ph->workflow_pos = pos_of(wf);
        }
    } else if (nt != NULL) {
        notify_extras(ld, m);
        load_notify(ld, ph, nt);
    }
    if ((v = wt_yaml_map_get(m, "goal")) != NULL) {
        ph->goal = load_template(ld, v, "goal", 0);
        ph->goal_pos = pos_of(v);
    }
    if ((v = wt_yaml_map_get(m, "needs")) != NULL)
        load_needs(ld, ph, v);
    if ((v = wt_yaml_map_get(m, "if")) != NULL) {
        ph->if_expr = load_expr(ld, v, "if");
        ph->if_pos = pos_of(v);
    }
    if ((v = wt_yaml_map_get(m, "foreach")) != NULL) {
        ph->foreach = load_expr(ld, v, "foreach");
        ph->foreach_pos = pos_of(v);
    }
    if ((v = wt_yaml_map_get(m, "retry")) != NULL)
        load_retry(ld, ph, v);
    if ((v = wt_yaml_map_get(m, "vars")) != NULL)
        load_templates(ld, "vars", v, &ph->vars, &ph->nvars);
    if ((v = wt_yaml_map_get(m, "workspace")) != NULL) {
        if (wt_yaml_kind(v) == WT_YAML_MAP)
            unknown_keys(ld, v, "a phase's workspace", workspace_keys, NKEYS(workspace_keys));
        load_templates(ld, "workspace", v, &ph->workspace, &ph->nworkspace);
    }
    load_session_limits(ld, ph, m);
}

static void
load_inputs(loader_t *ld, const wt_yaml_node_t *v)
{
    wt_pipeline_t *p = &ld->full->pub;
    if (wt_yaml_kind(v) != WT_YAML_SEQ) {
        problem(ld, AT(v), "'inputs' must be a list of names, not a %s", wt_yaml_kind_name(v));
        return;
    }
    p->inputs = wt_xcalloc(wt_yaml_len(v), sizeof *p->inputs);
    for (size_t i = 0; i < wt_yaml_len(v); i++) {
        const wt_yaml_node_t *item = wt_yaml_seq_at(v, i);
        const char *name = need_text(ld, item, "inputs");
        if (name == NULL)
            continue;
        if (!is_ident(name)) {
            problem(ld, AT(item), "bad input name '%.60s': use letters, digits, '_' and '-'", name);
            continue;
        }
        int dup = 0;
        for (int j = 0; j < p->ninputs && !dup; j++)
            dup = strcmp(p->inputs[j], name) == 0;
        if (dup) {
            problem(ld, AT(item), "input '%s' is listed twice", name);
            continue;
        }
        p->inputs[p->ninputs++] = wt_xstrdup(name);
    }
}

static void
load_phases(loader_t *ld, const wt_yaml_node_t *root)
{
    wt_pipeline_t *p = &ld->full->pub;
    const wt_yaml_node_t *v = wt_yaml_map_get(root, "phases");
    if (v == NULL) {
        problem(ld, AT(root), "missing 'phases' (a list of at least one phase)");
        return;
    }
    if (wt_yaml_kind(v) != WT_YAML_SEQ || wt_yaml_len(v) == 0) {
        problem(ld, AT(v), "'phases' must be a list of at least one phase");
        return;
    }
    if (wt_yaml_len(v) > WT_PIPELINE_MAX_PHASES) {
        problem(ld, AT(v), "too many phases: %zu (at most %d)", wt_yaml_len(v),
                WT_PIPELINE_MAX_PHASES);
        return;
    }
    p->phases = wt_xcalloc(wt_yaml_len(v), sizeof *p->phases);
    p->nphases = (int)wt_yaml_len(v);
    for (int i = 0; i < p->nphases; i++) {
        ld->phase = i;
        load_phase(ld, &p->phases[i], wt_yaml_seq_at(v, (size_t)i));
    }
    ld->phase = -1;
}

/* Phases left without a goal get the default one. */
static void
default_goals(loader_t *ld)
{
    wt_pipeline_t *p = &ld->full->pub;
    for (int i = 0; i < p->nphases; i++) {
        if (p->phases[i].goal != NULL)
            continue;
        wt_err_t err = {0};
        size_t off;
        p->phases[i].goal = wt_template_parse(DEFAULT_GOAL, &off, &err);
        wt_assert(p->phases[i].goal != NULL);
        p->phases[i].goal_pos = p->phases[i].pos;
    }
}

static void
load_root(loader_t *ld, const wt_yaml_node_t *root)
{
    wt_pipeline_t *p = &ld->full->pub;
    if (root == NULL) {
        problem(ld, 1, 1, "empty file: expected 'pipeline: NAME' and 'phases:'");
        return;
    }
    if (wt_yaml_kind(root) != WT_YAML_MAP) {
        problem(ld, AT(root),
                "expected a mapping with 'pipeline' and 'phases' at the top, not a %s",
                wt_yaml_kind_name(root));
        return;
    }
    unknown_keys(ld, root, "the pipeline", top_keys, NKEYS(top_keys));
    const wt_yaml_node_t *v = wt_yaml_map_get(root, "pipeline");
    const char *t;
    if (v == NULL)
        problem(ld, AT(root), "missing 'pipeline' (the pipeline's name)");
    else if ((t = need_text(ld, v, "pipeline")) != NULL)
        p->name = wt_xstrdup(t);
    if ((v = wt_yaml_map_get(root, "description")) != NULL &&
        (t = need_text(ld, v, "description")) != NULL)
        p->description = wt_xstrdup(t);
    if ((v = wt_yaml_map_get(root, "inputs")) != NULL)
        load_inputs(ld, v);
    load_phases(ld, root);
    default_goals(ld);
}

static wt_pipeline_t *
load_tree(wt_yaml_t *y, const wt_yaml_error_t *ye, const char *name, wt_diags_t *diags)
{
    if (y == NULL) {
        int line = ye->line, col = ye->col;
        if (line == 0 && ye->err.code != WT_EIO) {
            line = 1;
            col = 1;
        }
        wt_diags_add(diags, name, line, col, 0, "%s", ye->err.msg);
        return NULL;
    }
    wt_pipeline_full_t *full = wt_xcalloc(1, sizeof *full);
    full->magic = WT_PIPELINE_MAGIC;
    full->pub.path = wt_xstrdup(name);
    int before = diags->errors;
    loader_t ld = {full, diags, name, -1};
    load_root(&ld, wt_yaml_root(y));
    wt_pipeline_t *p = &full->pub;
    if (diags->errors != before)
        wt_pipeline_destroy(&p);
    return p;
}

wt_pipeline_t *
wt_pipeline_load_buffer(const char *text, size_t len, const char *name, wt_diags_t *diags)
{
    if (name == NULL)
        name = "<buffer>";
    wt_yaml_error_t ye;
    wt_yaml_t *y = wt_yaml_load_buffer(text, len, &ye);
    wt_pipeline_t *p = load_tree(y, &ye, name, diags);
    wt_yaml_destroy(&y);
    return p;
}

wt_pipeline_t *
wt_pipeline_load_file(const char *path, wt_diags_t *diags)
{
    wt_yaml_error_t ye;
    wt_yaml_t *y = wt_yaml_load_file(path, &ye);
    wt_pipeline_t *p = load_tree(y, &ye, path, diags);
    wt_yaml_destroy(&y);
    return p;
}

static void
phase_release(wt_phase_t *ph)
{
    free(ph->id);
    free(ph->workflow);
    wt_template_destroy(&ph->goal);
    for (int i = 0; i < ph->nneeds; i++)
        free(ph->needs[i]);
    free(ph->needs);
    free(ph->needs_pos);
    wt_expr_destroy(&ph->if_expr);
    wt_expr_destroy(&ph->foreach);
    wt_expr_destroy(&ph->retry_until);
    for (int i = 0; i < ph->nvars; i++) {
        free(ph->vars[i].key);
        wt_template_destroy(&ph->vars[i].value);
    }
    free(ph->vars);
    for (int i = 0; i < ph->nworkspace; i++) {
        free(ph->workspace[i].key);
        wt_template_destroy(&ph->workspace[i].value);
    }
    free(ph->workspace);
    free(ph->notify_webhook);
    free(ph->notify_slack);
    wt_template_destroy(&ph->notify_message);
    free(ph->notify_event);
}

void
wt_pipeline_destroy(wt_pipeline_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_pipeline_t *self = *self_p;
    for (int i = 0; i < self->nphases; i++)
        phase_release(&self->phases[i]);
    free(self->phases);
    for (int i = 0; i < self->ninputs; i++)
        free(self->inputs[i]);
    free(self->inputs);
    free(self->name);
    free(self->description);
    free(self->path);
    free(((wt_pipeline_full_t *)self)->srcs); /* only the loader makes pipelines */
    free(self);
    *self_p = NULL;
}

int
wt_pipeline_find(const wt_pipeline_t *self, const char *id)
{
    for (int i = 0; self && id && i < self->nphases; i++)
        if (self->phases[i].id && strcmp(self->phases[i].id, id) == 0)
            return i;
    return -1;
}
