/* wt_pipeline_check - meaning checks of a loaded pipeline, its run order
 * and the pipeline sniffer used by `validate`.
 * Design: needs are resolved to phase indices once; a cycle search (an
 * iterative depth-first walk, so a long chain cannot exhaust the stack)
 * names each cycle it closes; then the upstream relation is computed as an
 * n x n matrix (n <= WT_PIPELINE_MAX_PHASES) so every path of every
 * expression can be checked against the phase it appears in. Positions of
 * paths come from the loader's record of each expression's scalar. */
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_pipeline.h"
#include "wt_pipeline_int.h"
#include "wt_yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct checker {
    const wt_pipeline_t *p;       /* checked pipeline */
    wt_diags_t *diags;            /* problems go here */
    int added;                    /* errors added */
    int **need;                   /* owned; need[i][k]: index of phase i's k-th need or -1 */
    unsigned char *up;            /* owned n*n; up[i*n+j]: j is upstream of i */
    const wt_pipeline_src_t *src; /* expression being walked */
    const char *text;             /* its text */
} checker_t;

static void problem(checker_t *c, wt_pos_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(checker_t *c, wt_pos_t pos, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wt_diags_add(c->diags, c->p->path ? c->p->path : "<buffer>", pos.line, pos.col, 0, "%s", msg);
    c->added++;
}

/* Phase ids (borrowed) plus extra names, for suggestions; caller frees. */
static const char **
names(const wt_pipeline_t *p, const char *const *extra, int nextra, int *n)
{
    const char **v = wt_xcalloc((size_t)(p->nphases + nextra), sizeof *v);
    *n = 0;
    for (int i = 0; i < p->nphases; i++)
        if (p->phases[i].id)
            v[(*n)++] = p->phases[i].id;
    for (int i = 0; i < nextra; i++)
        v[(*n)++] = extra[i];
    return v;
}

/* Appends " (did you mean 'x'?)" to buf when a candidate is close. */
static const char *
hint(const char *word, const char *const *cands, int n, char *buf, size_t cap)
{
    const char *s = wt_diag_suggest(word, cands, n);
    if (s == NULL)
        buf[0] = '\0';
    else
        snprintf(buf, cap, " (did you mean '%s'?)", s);
    return buf;
}

static void
check_workflows(checker_t *c, int (*known)(void *, const char *), void *ud)
{
    if (known == NULL) {
        wt_pos_t none = {0, 0};
        wt_diags_add(c->diags, c->p->path ? c->p->path : "<buffer>", none.line, none.col, 1,
                     "workflow ids not checked: no list of known workflows");
        return;
    }
    for (int i = 0; i < c->p->nphases; i++) {
        const wt_phase_t *ph = &c->p->phases[i];
        if (ph->workflow != NULL && !known(ud, ph->workflow))
            problem(c, ph->workflow_pos, "unknown workflow '%.100s' in phase '%s'", ph->workflow,
                    ph->id);
    }
}

static void
resolve_needs(checker_t *c)
{
    int ncand;
    const char **cand = names(c->p, NULL, 0, &ncand);
    c->need = wt_xcalloc((size_t)c->p->nphases, sizeof *c->need);
    for (int i = 0; i < c->p->nphases; i++) {
        const wt_phase_t *ph = &c->p->phases[i];
        c->need[i] = wt_xcalloc((size_t)ph->nneeds + 1, sizeof **c->need);
        for (int k = 0; k < ph->nneeds; k++) {
            int j = wt_pipeline_find(c->p, ph->needs[k]);
            c->need[i][k] = j;
            char h[128];
            if (j < 0)
                problem(c, ph->needs_pos[k], "unknown phase '%.100s' in needs of '%s'%s",
                        ph->needs[k], ph->id, hint(ph->needs[k], cand, ncand, h, sizeof h));
        }
    }
    free(cand);
}

/* Names the cycle stack[from..top) followed by its first phase again. */
static void
report_cycle(checker_t *c, const int *stack, int from, int top, wt_pos_t at)
{
    wt_buf_t b;
    wt_buf_init(&b, 900);
    for (int s = from; s < top; s++)
        if (wt_buf_printf(&b, NULL, "%s -> ", c->p->phases[stack[s]].id) != 0)
            break;
    wt_buf_printf(&b, NULL, "%s", c->p->phases[stack[from]].id);
    problem(c, at, "cycle in needs: %s", wt_buf_str(&b));
    wt_buf_release(&b);
}

/* Iterative depth-first search; each back edge closes one cycle. Returns
 * the number of cycles found. */
static int
check_cycles(checker_t *c)
{
    int n = c->p->nphases, cycles = 0;
    unsigned char *color = wt_xcalloc((size_t)n, 1); /* 0 new, 1 on stack, 2 done */
    int *stack = wt_xcalloc((size_t)n, sizeof *stack), *edge = wt_xcalloc((size_t)n, sizeof *edge);
    for (int s = 0; s < n; s++) {
        if (color[s] != 0)
            continue;
        int top = 0;
        stack[top] = s;
        edge[top++] = 0;
        color[s] = 1;
        while (top > 0) {
            int u = stack[top - 1];
            const wt_phase_t *ph = &c->p->phases[u];
            if (edge[top - 1] == ph->nneeds) {
                color[u] = 2;
                top--;
                continue;
            }
            int k = edge[top - 1]++, v = c->need[u][k];
            if (v < 0 || color[v] == 2)
                continue;
            if (color[v] == 1) {
                int from = top - 1;
                while (stack[from] != v)
                    from--;
                report_cycle(c, stack, from, top, ph->needs_pos[k]);
                cycles++;
                continue;
            }
            color[v] = 1;
            stack[top] = v;
            edge[top++] = 0;
        }
    }
    free(color);
    free(stack);
    free(edge);
    return cycles;
}

static void
compute_upstream(checker_t *c)
{
    int n = c->p->nphases;
    c->up = wt_xcalloc((size_t)n * (size_t)n, 1);
    int *queue = wt_xcalloc((size_t)n + 1, sizeof *queue); /* i, then each other phase once */
    for (int i = 0; i < n; i++) {
        unsigned char *row = c->up + (size_t)i * (size_t)n;
        int head = 0, tail = 0;
        queue[tail++] = i;
        while (head < tail) {
            int u = queue[head++];
            for (int k = 0; k < c->p->phases[u].nneeds; k++) {
                int v = c->need[u][k];
                if (v >= 0 && !row[v]) {
                    row[v] = 1;
                    queue[tail++] = v;
                }
            }
        }
    }
    free(queue);
}

static void
check_input_path(checker_t *c, const char *const *segs, int n, wt_pos_t at)
{
    /* goal always; repo, ref, deliver, forge and forgeProject (DESIGN.md
     * 15) are optional --var inputs of any pipeline: absent, they render ""
     * and the phase's workspace leaves them out. */
    static const char *const optional[] = {"goal",    "repo",  "ref",
                                           "deliver", "forge", "forgeProject"};
    for (size_t i = 0; n >= 2 && i < sizeof optional / sizeof optional[0]; i++)
        if (strcmp(segs[1], optional[i]) == 0)
            return;
    if (n < 2)
        return;
    for (int i = 0; i < c->p->ninputs; i++)
        if (strcmp(c->p->inputs[i], segs[1]) == 0)
            return;
    char h[128];
    const char **cand = wt_xcalloc((size_t)c->p->ninputs + 1, sizeof *cand);
    cand[0] = "goal";
    for (int i = 0; i < c->p->ninputs; i++)
        cand[i + 1] = c->p->inputs[i];
    problem(c, at, "unknown input 'inputs.%.100s' in '%s': declare it under 'inputs'%s", segs[1],
            c->src->field, hint(segs[1], cand, c->p->ninputs + 1, h, sizeof h));
    free(cand);
}

/* Called for every path of the expression in c->src. */
static void
on_path(void *ud, const char *const *segs, int n, size_t offset)
{
    checker_t *c = ud;
    const wt_pipeline_src_t *src = c->src;
    const wt_phase_t *ph = &c->p->phases[src->phase];
    wt_pos_t at = wt_pipeline_src_pos(src, c->text, offset);
    if (n < 1)
        return;
    const char *root = segs[0];
    if (strcmp(root, "inputs") == 0) {
        check_input_path(c, segs, n, at);
        return;
    }
    if (strcmp(root, "item") == 0 || strcmp(root, "index") == 0) {
        if (ph->foreach == NULL)
            problem(c, at, "'%s' is only set in a phase with 'foreach' (phase '%s')", root, ph->id);
        else if (strcmp(src->field, "foreach") == 0)
            problem(c, at, "'%s' cannot be used in the 'foreach' expression that makes it", root);
        return;
    }
    if (strcmp(root, "attempt") == 0 || strcmp(root, "previous") == 0) {
        /* Set by the engine while it renders a session's goal and vars. */
        int templ = strcmp(src->field, "goal") == 0 || strncmp(src->field, "vars", 4) == 0;
        if (!templ || ph->workflow == NULL)
            problem(c, at, "'%s' is only set in the goal and vars of a session phase", root);
        else if (strcmp(root, "previous") == 0 && ph->retry_max < 2)
            problem(c, at, "'previous' is only set in a phase with 'retry' (phase '%s')", ph->id);
        return;
    }
    int j = wt_pipeline_find(c->p, root);
    if (j < 0) {
        static const char *const extra[] = {"inputs", "item", "index", "attempt", "previous"};
        int ncand;
        const char **cand = names(c->p, extra, 5, &ncand);
        char h[128];
        problem(c, at,
                "unknown name '%.100s' in '%s': expected inputs.NAME, item, index, attempt, "
                "previous or a phase id%s",
                root, src->field, hint(root, cand, ncand, h, sizeof h));
        free(cand);
        return;
    }
    if (j == src->phase) {
        if (strcmp(src->field, "retry.until") != 0)
            problem(c, at,
                    "phase '%s' refers to its own output in '%s' (only retry.until may: it runs "
                    "after the phase)",
                    ph->id, src->field);
        return;
    }
    if (!c->up[(size_t)src->phase * (size_t)c->p->nphases + (size_t)j])
        problem(c, at,
                "'%s' is not upstream of phase '%s': add it to needs (directly or through "
                "another phase)",
                root, ph->id);
}

static void
check_paths(checker_t *c)
{
    const wt_pipeline_full_t *full = wt_pipeline_full(c->p);
    if (full == NULL)
        return;
    for (int i = 0; i < full->nsrcs; i++) {
        c->src = &full->srcs[i];
        if (c->src->phase < 0 || c->src->phase >= c->p->nphases)
            continue;
        if (c->src->is_template) {
            c->text = wt_template_text(c->src->obj);
            wt_template_paths(c->src->obj, on_path, c);
        } else {
            c->text = wt_expr_text(c->src->obj);
            wt_expr_paths(c->src->obj, on_path, c);
        }
    }
    c->src = NULL;
}

static void
check_notify(checker_t *c)
{
    for (int i = 0; i < c->p->nphases; i++) {
        const wt_phase_t *ph = &c->p->phases[i];
        if (ph->workflow == NULL && ph->notify_webhook == NULL && ph->notify_slack == NULL)
            problem(c, ph->pos, "notify phase '%s' has no target: give 'webhook' or 'slack'",
                    ph->id);
    }
}

int
wt_pipeline_check(const wt_pipeline_t *self, int (*known_workflow)(void *ud, const char *id),
                  void *ud, wt_diags_t *diags)
{
    checker_t c = {.p = self, .diags = diags};
    check_workflows(&c, known_workflow, ud);
    resolve_needs(&c);
    check_cycles(&c);
    compute_upstream(&c);
    check_paths(&c);
    check_notify(&c);
    for (int i = 0; i < self->nphases; i++)
        free(c.need[i]);
    free(c.need);
    free(c.up);
    return c.added;
}

int *
wt_pipeline_topo_order(const wt_pipeline_t *self)
{
    int n = self->nphases;
    int **need = wt_xcalloc((size_t)n + 1, sizeof *need);
    for (int i = 0; i < n; i++) {
        need[i] = wt_xcalloc((size_t)self->phases[i].nneeds + 1, sizeof **need);
        for (int k = 0; k < self->phases[i].nneeds; k++)
            need[i][k] = wt_pipeline_find(self, self->phases[i].needs[k]);
    }
    unsigned char *done = wt_xcalloc((size_t)n + 1, 1);
    int *order = wt_xcalloc((size_t)n + 1, sizeof *order);
    int placed = 0;
    while (placed < n) {
        int pick = -1;
        for (int i = 0; i < n && pick < 0; i++) {
            if (done[i])
                continue;
            int ready = 1;
            for (int k = 0; k < self->phases[i].nneeds && ready; k++)
                ready = need[i][k] < 0 || done[need[i][k]]; /* unknown needs: check reports */
            if (ready)
                pick = i;
        }
        if (pick < 0)
            break; /* a cycle */
        done[pick] = 1;
        order[placed++] = pick;
    }
    for (int i = 0; i < n; i++)
        free(need[i]);
    free(need);
    free(done);
    if (placed < n) {
        free(order);
        return NULL;
    }
    return order;
}

/* A line that starts with one of the top-level keys (syntax errors elsewhere
 * in the file must not hide that it is meant as a pipeline). */
static int
sniff_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    static const char *const keys[] = {
        "pipeline:", "phases:", "\"pipeline\":", "\"phases\":", "'pipeline':", "'phases':"};
    char line[512];
    int found = 0;
    size_t total = 0;
    while (!found && total <= WT_YAML_MAX_BYTES && fgets(line, sizeof line, f) != NULL) {
        total += strlen(line);
        for (size_t i = 0; i < sizeof keys / sizeof keys[0] && !found; i++)
            found = strncmp(line, keys[i], strlen(keys[i])) == 0;
    }
    fclose(f);
    return found;
}

int
wt_pipeline_sniff(const char *path)
{
    wt_yaml_error_t e;
    wt_yaml_t *y = wt_yaml_load_file(path, &e);
    if (y == NULL)
        return e.err.code == WT_EIO ? 0 : sniff_text(path);
    const wt_yaml_node_t *root = wt_yaml_root(y);
    int found =
        wt_yaml_map_get(root, "pipeline") != NULL || wt_yaml_map_get(root, "phases") != NULL;
    wt_yaml_destroy(&y);
    return found;
}
