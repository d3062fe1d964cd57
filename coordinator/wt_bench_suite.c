/* wt_bench_suite - loading and checking a bench suite file.
 *
 * The loader walks the wt_yaml tree once, filling the suite and adding a
 * diagnostic for every problem instead of stopping at the first, so a
 * person fixing a suite sees all of them in one go (the exit-2-before-any-
 * session rule of `worktrain bench run`). Checks that need the whole suite
 * (duplicate ids, scorers' expected keys present in every case, threshold
 * metrics) run after the walk. Case files of cases_dir are loaded in name
 * order, each with its own file name in its diagnostics. */
#include "wt_bench_suite.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_yaml.h"

#include <dirent.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct loader {
    wt_bench_suite_t *s; /* being filled */
    wt_diags_t *d;       /* problems */
    const char *file;    /* current file */
    char dir[PATH_MAX];  /* its directory */
} loader_t;

#define AT(n) wt_yaml_line(n), wt_yaml_col(n)

static void
dir_of(const char *file, char *out, size_t cap)
{
    const char *slash = strrchr(file, '/');
    if (slash == NULL)
        snprintf(out, cap, ".");
    else
        snprintf(out, cap, "%.*s", (int)(slash - file), file);
}

/* Keys of map not in keys[] are problems, with a "did you mean". */
static void
keys_known(loader_t *ld, const wt_yaml_node_t *map, const char *where, const char *const *keys,
           int n)
{
    for (size_t i = 0; i < wt_yaml_len(map); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(map, i);
        const char *t = wt_yaml_text(k);
        int ok = 0;
        for (int j = 0; t && j < n && !ok; j++)
            ok = strcmp(t, keys[j]) == 0;
        if (ok)
            continue;
        const char *near = t ? wt_diag_suggest(t, keys, n) : NULL;
        wt_diags_add(ld->d, ld->file, AT(k), 0, "unknown key '%.60s' in %s%s%s%s", t ? t : "?",
                     where, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
}

/* A non-empty scalar's text (copied), else NULL and a problem. */
static char *
text_of(loader_t *ld, const wt_yaml_node_t *v, const char *field)
{
    if (v == NULL)
        return NULL;
    if (wt_yaml_kind(v) != WT_YAML_SCALAR || wt_yaml_is_null(v) || wt_yaml_text_len(v) == 0) {
        wt_diags_add(ld->d, ld->file, AT(v), 0, "'%s' must be non-empty text", field);
        return NULL;
    }
    return wt_xstrdup(wt_yaml_text(v));
}

static int
number_of(loader_t *ld, const wt_yaml_node_t *v, const char *field, double *out)
{
    const char *t = wt_yaml_text(v);
    char *end = NULL;
    if (t && wt_yaml_is_plain(v))
        *out = strtod(t, &end);
    if (t == NULL || end == t || *end != '\0') {
        wt_diags_add(ld->d, ld->file, AT(v), 0, "'%s' must be a number", field);
        return -1;
    }
    return 0;
}

static int
id_ok(const char *id)
{
    size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
    return n == strlen(id) && n >= 1 && n <= 64;
}

/* YAML -> JSON: plain scalars become null, booleans and numbers when they
 * read as such; quoted ones stay strings. */
static json_t *
to_json(const wt_yaml_node_t *n)
{
    if (wt_yaml_kind(n) == WT_YAML_SEQ) {
        json_t *a = json_array();
        for (size_t i = 0; i < wt_yaml_len(n); i++)
            json_array_append_new(a, to_json(wt_yaml_seq_at(n, i)));
        return a;
    }
    if (wt_yaml_kind(n) == WT_YAML_MAP) {
        json_t *o = json_object();
        for (size_t i = 0; i < wt_yaml_len(n); i++) {
            const char *k = wt_yaml_text(wt_yaml_map_key_at(n, i));
            if (k)
                json_object_set_new(o, k, to_json(wt_yaml_map_value_at(n, i)));
        }
        return o;
    }
    const char *t = wt_yaml_text(n);
    if (!wt_yaml_is_plain(n))
        return json_string(t);
    int b;
    long long i;
    if (wt_yaml_is_null(n))
        return json_null();
    if (wt_yaml_bool(n, &b) == 0)
        return json_boolean(b);
    if (wt_yaml_int(n, &i) == 0)
        return json_integer(i);
    char *end;
    double d = strtod(t, &end);
    if (end != t && *end == '\0')
        return json_real(d);
    return json_string(t);
}

static json_t *
map_json(loader_t *ld, const wt_yaml_node_t *v, const char *field)
{
    if (v == NULL)
        return json_object();
    if (wt_yaml_kind(v) != WT_YAML_MAP) {
        wt_diags_add(ld->d, ld->file, AT(v), 0, "'%s' must be a mapping", field);
        return json_object();
    }
    return to_json(v);
}

/* path relative to the current file's directory, checked to be a folder. */
static char *
fixture(loader_t *ld, const wt_yaml_node_t *v, const char *field)
{
    char *rel = text_of(ld, v, field);
    if (rel == NULL)
        return NULL;
    char joined[PATH_MAX * 2], real[PATH_MAX];
    snprintf(joined, sizeof joined, "%s%s%s", rel[0] == '/' ? "" : ld->dir,
             rel[0] == '/' ? "" : "/", rel);
    struct stat st;
    char *out = NULL;
    if (stat(joined, &st) != 0 || !S_ISDIR(st.st_mode) || realpath(joined, real) == NULL)
        wt_diags_add(ld->d, ld->file, AT(v), 0, "%s '%s' is not a directory (looked at %s)", field,
                     rel, joined);
    else
        out = wt_xstrdup(real);
    free(rel);
    return out;
}

static void
load_case(loader_t *ld, const wt_yaml_node_t *c)
{
    static const char *const keys[] = {"id",   "goal", "context", "workspace",
                                       "repo", "ref",  "expect",  "description"};
    if (wt_yaml_kind(c) != WT_YAML_MAP) {
        wt_diags_add(ld->d, ld->file, AT(c), 0, "a case must be a mapping");
        return;
    }
    keys_known(ld, c, "a case", keys, (int)(sizeof keys / sizeof keys[0]));
    wt_bench_suite_t *s = ld->s;
    s->cases = wt_xrealloc(s->cases, (size_t)(s->ncases + 1) * sizeof *s->cases);
    wt_bench_case_t *k = &s->cases[s->ncases++];
    memset(k, 0, sizeof *k);
    k->file = wt_xstrdup(ld->file);
    k->line = wt_yaml_line(c);
    k->col = wt_yaml_col(c);
    const wt_yaml_node_t *id = wt_yaml_map_get(c, "id");
    if (id == NULL)
        wt_diags_add(ld->d, ld->file, AT(c), 0, "a case needs an 'id'");
    k->id = text_of(ld, id, "id");
    if (k->id && !id_ok(k->id))
        wt_diags_add(ld->d, ld->file, AT(id), 0,
                     "case id '%.80s' must be 1-64 characters of A-Z a-z 0-9 _ -", k->id);
    const wt_yaml_node_t *goal = wt_yaml_map_get(c, "goal");
    if (goal == NULL)
        wt_diags_add(ld->d, ld->file, AT(c), 0, "case '%s' needs a 'goal'", k->id ? k->id : "?");
    k->goal = text_of(ld, goal, "goal");
    k->context = map_json(ld, wt_yaml_map_get(c, "context"), "context");
    k->expect = map_json(ld, wt_yaml_map_get(c, "expect"), "expect");
    if (wt_yaml_map_get(c, "workspace"))
        k->workspace = fixture(ld, wt_yaml_map_get(c, "workspace"), "workspace");
    k->repo = text_of(ld, wt_yaml_map_get(c, "repo"), "repo");
    k->ref = text_of(ld, wt_yaml_map_get(c, "ref"), "ref");
    if (k->repo && wt_yaml_map_get(c, "workspace"))
        wt_diags_add(ld->d, ld->file, AT(c), 0, "case '%s': give workspace or repo, not both",
                     k->id ? k->id : "?");
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
load_cases_dir(loader_t *ld, const wt_yaml_node_t *v)
{
    char *dir = fixture(ld, v, "cases_dir");
    if (dir == NULL)
        return;
    DIR *dp = opendir(dir);
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] != '.' && len > 4 &&
            (strcmp(e->d_name + len - 4, ".yml") == 0 ||
             strcmp(e->d_name + len - 5, ".yaml") == 0)) {
            names = wt_xrealloc(names, (size_t)(n + 1) * sizeof *names);
            names[n++] = wt_xasprintf("%s/%s", dir, e->d_name);
        }
    }
    if (dp)
        closedir(dp);
    qsort(names, (size_t)n, sizeof *names, by_name);
    if (n == 0)
        wt_diags_add(ld->d, ld->file, AT(v), 0, "cases_dir '%s' holds no .yml case files", dir);
    const char *saved = ld->file;
    char saved_dir[PATH_MAX];
    snprintf(saved_dir, sizeof saved_dir, "%s", ld->dir);
    for (int i = 0; i < n; i++) {
        wt_yaml_error_t ye = {0};
        wt_yaml_t *y = wt_yaml_load_file(names[i], &ye);
        ld->file = names[i];
        dir_of(names[i], ld->dir, sizeof ld->dir);
        if (y == NULL)
            wt_diags_add(ld->d, names[i], ye.line, ye.col, 0, "%s", ye.err.msg);
        else if (wt_yaml_root(y) == NULL)
            wt_diags_add(ld->d, names[i], 1, 1, 0, "empty case file");
        else
            load_case(ld, wt_yaml_root(y));
        wt_yaml_destroy(&y);
    }
    ld->file = saved;
    snprintf(ld->dir, sizeof ld->dir, "%s", saved_dir);
    for (int i = 0; i < n; i++)
        free(names[i]); /* case->file keeps its own copy */
    free(names);
    free(dir);
}

static void
load_variant(loader_t *ld, const wt_yaml_node_t *v)
{
    static const char *const keys[] = {"name", "provider", "model",   "tier",
                                       "mode", "workflow", "require", "agentConfig"};
    if (wt_yaml_kind(v) != WT_YAML_MAP) {
        wt_diags_add(ld->d, ld->file, AT(v), 0, "a matrix entry must be a mapping");
        return;
    }
    keys_known(ld, v, "a matrix entry", keys, (int)(sizeof keys / sizeof keys[0]));
    wt_bench_suite_t *s = ld->s;
    s->variants = wt_xrealloc(s->variants, (size_t)(s->nvariants + 1) * sizeof *s->variants);
    wt_bench_variant_t *x = &s->variants[s->nvariants++];
    memset(x, 0, sizeof *x);
    const wt_yaml_node_t *name = wt_yaml_map_get(v, "name");
    if (name == NULL)
        wt_diags_add(ld->d, ld->file, AT(v), 0, "a matrix entry needs a 'name'");
    x->name = text_of(ld, name, "name");
    if (x->name && !id_ok(x->name))
        wt_diags_add(ld->d, ld->file, AT(name), 0,
                     "variant name '%.80s' must be 1-64 characters of A-Z a-z 0-9 _ -", x->name);
    x->provider = text_of(ld, wt_yaml_map_get(v, "provider"), "provider");
    x->model = text_of(ld, wt_yaml_map_get(v, "model"), "model");
    x->tier = text_of(ld, wt_yaml_map_get(v, "tier"), "tier");
    x->workflow = text_of(ld, wt_yaml_map_get(v, "workflow"), "workflow");
    const wt_yaml_node_t *wf = wt_yaml_map_get(v, "workflow");
    x->line = wt_yaml_line(wf ? wf : v);
    x->col = wt_yaml_col(wf ? wf : v);
    x->agent_config = map_json(ld, wt_yaml_map_get(v, "agentConfig"), "agentConfig");
    const wt_yaml_node_t *mode = wt_yaml_map_get(v, "mode");
    if (mode) {
        const char *m = wt_yaml_text(mode);
        if (m && strcmp(m, "one-shot") == 0)
            x->one_shot = 1;
        else if (m == NULL || strcmp(m, "workflow") != 0)
            wt_diags_add(ld->d, ld->file, AT(mode), 0, "mode must be 'workflow' or 'one-shot'");
    }
    const wt_yaml_node_t *req = wt_yaml_map_get(v, "require");
    for (size_t i = 0; req && i < wt_yaml_len(req); i++) {
        char *l = text_of(ld, wt_yaml_seq_at(req, i), "require");
        if (l == NULL)
            continue;
        x->require = wt_xrealloc(x->require, (size_t)(x->nrequire + 1) * sizeof *x->require);
        x->require[x->nrequire++] = l;
    }
}

static void
load_scorer(loader_t *ld, const wt_yaml_node_t *v)
{
    static const char *const keys[] = {"name",   "type",      "output", "expect",  "pattern",
                                       "match",  "tolerance", "run",    "timeout", "pass",
                                       "rubric", "provider",  "model",  "base_url"};
    if (wt_yaml_kind(v) != WT_YAML_MAP) {
        wt_diags_add(ld->d, ld->file, AT(v), 0, "a scorer must be a mapping");
        return;
    }
    keys_known(ld, v, "a scorer", keys, (int)(sizeof keys / sizeof keys[0]));
    wt_bench_suite_t *s = ld->s;
    s->scorers = wt_xrealloc(s->scorers, (size_t)(s->nscorers + 1) * sizeof *s->scorers);
    wt_bench_scorer_t *sc = &s->scorers[s->nscorers++];
    memset(sc, 0, sizeof *sc);
    sc->line = wt_yaml_line(v);
    sc->col = wt_yaml_col(v);
    sc->pass_at = 1.0;
    sc->timeout_ms = 5 * 60 * 1000;
    sc->name = text_of(ld, wt_yaml_map_get(v, "name"), "name");
    if (sc->name == NULL)
        wt_diags_add(ld->d, ld->file, AT(v), 0, "a scorer needs a 'name'");
    const wt_yaml_node_t *type = wt_yaml_map_get(v, "type");
    sc->kind = wt_bench_kind_parse(type ? wt_yaml_text(type) : NULL);
    if (sc->kind == 0)
        wt_diags_add(ld->d, ld->file, type ? wt_yaml_line(type) : sc->line,
                     type ? wt_yaml_col(type) : sc->col, 0,
                     "scorer '%s': type must be one of equals, regex, set_recall, set_precision, "
                     "f1, numeric, command, llm_judge",
                     sc->name ? sc->name : "?");
    sc->output = text_of(ld, wt_yaml_map_get(v, "output"), "output");
    sc->expect = text_of(ld, wt_yaml_map_get(v, "expect"), "expect");
    sc->pattern = text_of(ld, wt_yaml_map_get(v, "pattern"), "pattern");
    sc->run = text_of(ld, wt_yaml_map_get(v, "run"), "run");
    sc->rubric = text_of(ld, wt_yaml_map_get(v, "rubric"), "rubric");
    sc->judge_provider = text_of(ld, wt_yaml_map_get(v, "provider"), "provider");
    sc->judge_model = text_of(ld, wt_yaml_map_get(v, "model"), "model");
    sc->judge_base_url = text_of(ld, wt_yaml_map_get(v, "base_url"), "base_url");
    const wt_yaml_node_t *m = wt_yaml_map_get(v, "match");
    if (m) {
        const char *t = wt_yaml_text(m);
        if (t && strcmp(t, "contains") == 0)
            sc->match = WT_BENCH_MATCH_CONTAINS;
        else if (t && strcmp(t, "regex") == 0)
            sc->match = WT_BENCH_MATCH_REGEX;
        else if (t == NULL || strcmp(t, "equals") != 0)
            wt_diags_add(ld->d, ld->file, AT(m), 0, "match must be equals, contains or regex");
    }
    const wt_yaml_node_t *tol = wt_yaml_map_get(v, "tolerance"), *pass = wt_yaml_map_get(v, "pass");
    if (tol)
        number_of(ld, tol, "tolerance", &sc->tolerance);
    if (pass)
        number_of(ld, pass, "pass", &sc->pass_at);
    const wt_yaml_node_t *to = wt_yaml_map_get(v, "timeout");
    if (to && (sc->timeout_ms = wt_clock_parse_duration_ms(wt_yaml_text(to) ?: "")) <= 0)
        wt_diags_add(ld->d, ld->file, AT(to), 0, "bad timeout (e.g. 90s, 5m)");
    const char *what = sc->name ? sc->name : "?";
    if (sc->kind == WT_BENCH_COMMAND && sc->run == NULL)
        wt_diags_add(ld->d, ld->file, AT(v), 0, "command scorer '%s' needs 'run'", what);
    if (sc->kind == WT_BENCH_LLM_JUDGE) {
        if (sc->rubric == NULL || sc->judge_model == NULL)
            wt_diags_add(ld->d, ld->file, AT(v), 0,
                         "llm_judge scorer '%s' needs 'rubric' and "
                         "'model'",
                         what);
        if (sc->judge_provider && strcmp(sc->judge_provider, "openai") != 0 &&
            strcmp(sc->judge_provider, "anthropic") != 0)
            wt_diags_add(ld->d, ld->file, AT(wt_yaml_map_get(v, "provider")), 0,
                         "llm_judge provider must be openai or anthropic");
    }
    if (sc->kind && sc->kind != WT_BENCH_COMMAND) {
        if (sc->output == NULL && sc->kind == WT_BENCH_LLM_JUDGE)
            ; /* the judge reads the whole output */
        else if (sc->output == NULL)
            wt_diags_add(ld->d, ld->file, AT(v), 0,
                         "scorer '%s' needs 'output' (a path like "
                         "context.verdict)",
                         what);
        else if (strncmp(sc->output, "context", 7) != 0 && strcmp(sc->output, "notes") != 0 &&
                 strncmp(sc->output, "artifacts", 9) != 0)
            wt_diags_add(ld->d, ld->file, AT(wt_yaml_map_get(v, "output")), 0,
                         "scorer '%s': unknown output path '%s' (it must start with context., "
                         "notes or artifacts)",
                         what, sc->output);
        if (sc->expect == NULL && !(sc->kind == WT_BENCH_REGEX && sc->pattern) &&
            sc->kind != WT_BENCH_LLM_JUDGE)
            wt_diags_add(ld->d, ld->file, AT(v), 0,
                         "scorer '%s' needs 'expect' (a key of the "
                         "cases' expect)",
                         what);
    }
    regex_t re;
    if (sc->pattern && regcomp(&re, sc->pattern, REG_EXTENDED | REG_NOSUB) != 0)
        wt_diags_add(ld->d, ld->file, AT(wt_yaml_map_get(v, "pattern")), 0, "bad regex '%s'",
                     sc->pattern);
    else if (sc->pattern)
        regfree(&re);
}

static void
each(loader_t *ld, const wt_yaml_node_t *seq, const char *field,
     void (*fn)(loader_t *, const wt_yaml_node_t *))
{
    if (seq == NULL)
        return;
    if (wt_yaml_kind(seq) != WT_YAML_SEQ) {
        wt_diags_add(ld->d, ld->file, AT(seq), 0, "'%s' must be a list", field);
        return;
    }
    for (size_t i = 0; i < wt_yaml_len(seq); i++)
        fn(ld, wt_yaml_seq_at(seq, i));
}

static void
load_maps(loader_t *ld, const wt_yaml_node_t *root)
{
    wt_bench_suite_t *s = ld->s;
    const wt_yaml_node_t *th = wt_yaml_map_get(root, "thresholds");
    if (th && wt_yaml_kind(th) != WT_YAML_MAP)
        wt_diags_add(ld->d, ld->file, AT(th), 0, "'thresholds' must be a mapping");
    for (size_t i = 0; th && wt_yaml_kind(th) == WT_YAML_MAP && i < wt_yaml_len(th); i++) {
        s->thresholds = wt_xrealloc(s->thresholds, (i + 1) * sizeof *s->thresholds);
        wt_bench_threshold_t *t = &s->thresholds[s->nthresholds++];
        const wt_yaml_node_t *k = wt_yaml_map_key_at(th, i);
        t->metric = wt_xstrdup(wt_yaml_text(k) ?: "?");
        t->min = 0;
        number_of(ld, wt_yaml_map_value_at(th, i), "thresholds value", &t->min);
        int known = strcmp(t->metric, "pass_rate") == 0;
        for (int j = 0; j < s->nscorers && !known; j++)
            known = s->scorers[j].name && strcmp(s->scorers[j].name, t->metric) == 0;
        if (!known)
            wt_diags_add(ld->d, ld->file, AT(k), 0,
                         "threshold on unknown metric '%s' (metrics: the scorer names and "
                         "pass_rate)",
                         t->metric);
    }
    const wt_yaml_node_t *pr = wt_yaml_map_get(root, "prices");
    for (size_t i = 0; pr && wt_yaml_kind(pr) == WT_YAML_MAP && i < wt_yaml_len(pr); i++) {
        s->prices = wt_xrealloc(s->prices, (i + 1) * sizeof *s->prices);
        wt_bench_price_t *p = &s->prices[s->nprices++];
        memset(p, 0, sizeof *p);
        p->model = wt_xstrdup(wt_yaml_text(wt_yaml_map_key_at(pr, i)) ?: "?");
        const wt_yaml_node_t *v = wt_yaml_map_value_at(pr, i);
        const wt_yaml_node_t *in = wt_yaml_map_get(v, "input"), *out = wt_yaml_map_get(v, "output");
        if (in == NULL || out == NULL)
            wt_diags_add(ld->d, ld->file, AT(v), 0,
                         "price of '%s' needs input and output (USD "
                         "per million tokens)",
                         p->model);
        if (in)
            number_of(ld, in, "input", &p->input_per_mtok);
        if (out)
            number_of(ld, out, "output", &p->output_per_mtok);
    }
}

/* Whole-suite checks: unique ids, expected keys present, names. */
static void
cross_check(loader_t *ld, const wt_yaml_node_t *root)
{
    wt_bench_suite_t *s = ld->s;
    for (int i = 0; i < s->ncases; i++)
        for (int j = 0; j < i; j++)
            if (s->cases[i].id && s->cases[j].id && strcmp(s->cases[i].id, s->cases[j].id) == 0)
                wt_diags_add(ld->d, s->cases[i].file, s->cases[i].line, s->cases[i].col, 0,
                             "duplicate case id '%s' (first at %s:%d)", s->cases[i].id,
                             s->cases[j].file, s->cases[j].line);
    for (int i = 0; i < s->nvariants; i++)
        for (int j = 0; j < i; j++)
            if (s->variants[i].name && s->variants[j].name &&
                strcmp(s->variants[i].name, s->variants[j].name) == 0)
                wt_diags_add(ld->d, ld->file, 0, 0, 0, "duplicate matrix name '%s'",
                             s->variants[i].name);
    for (int i = 0; i < s->nscorers; i++) {
        wt_bench_scorer_t *sc = &s->scorers[i];
        for (int j = 0; j < i; j++)
            if (sc->name && s->scorers[j].name && strcmp(sc->name, s->scorers[j].name) == 0)
                wt_diags_add(ld->d, ld->file, sc->line, sc->col, 0, "duplicate scorer name '%s'",
                             sc->name);
        if (sc->name && strcmp(sc->name, "pass_rate") == 0)
            wt_diags_add(ld->d, ld->file, sc->line, sc->col, 0, "'pass_rate' is a reserved metric");
        for (int c = 0; sc->expect && c < s->ncases; c++)
            if (json_object_get(s->cases[c].expect, sc->expect) == NULL)
                wt_diags_add(ld->d, s->cases[c].file, s->cases[c].line, s->cases[c].col, 0,
                             "case '%s' has no expect.%s, which scorer '%s' compares with",
                             s->cases[c].id ? s->cases[c].id : "?", sc->expect,
                             sc->name ? sc->name : "?");
    }
    if (s->ncases == 0)
        wt_diags_add(ld->d, ld->file, AT(root), 0, "the suite has no cases (cases or cases_dir)");
    if (s->nscorers == 0)
        wt_diags_add(ld->d, ld->file, AT(root), 0, "the suite has no scorers");
}

static void
load_root(loader_t *ld, const wt_yaml_node_t *root)
{
    static const char *const keys[] = {"suite",     "description", "workflow",   "pipeline",
                                       "timeout",   "max_turns",   "matrix",     "cases",
                                       "cases_dir", "scorers",     "thresholds", "prices"};
    wt_bench_suite_t *s = ld->s;
    keys_known(ld, root, "the suite", keys, (int)(sizeof keys / sizeof keys[0]));
    s->name = text_of(ld, wt_yaml_map_get(root, "suite"), "suite");
    if (s->name == NULL)
        wt_diags_add(ld->d, ld->file, AT(root), 0, "the suite needs a name ('suite: NAME')");
    s->workflow = text_of(ld, wt_yaml_map_get(root, "workflow"), "workflow");
    const wt_yaml_node_t *pipe = wt_yaml_map_get(root, "pipeline");
    if (pipe)
        wt_diags_add(ld->d, ld->file, AT(pipe), 0,
                     "pipeline suites are not supported yet; name a workflow");
    const wt_yaml_node_t *to = wt_yaml_map_get(root, "timeout");
    if (to && (s->timeout_ms = wt_clock_parse_duration_ms(wt_yaml_text(to) ?: "")) <= 0)
        wt_diags_add(ld->d, ld->file, AT(to), 0, "bad timeout (e.g. 90s, 30m)");
    const wt_yaml_node_t *mt = wt_yaml_map_get(root, "max_turns");
    long long turns = 0;
    if (mt && (wt_yaml_int(mt, &turns) != 0 || turns < 1 || turns > 10000))
        wt_diags_add(ld->d, ld->file, AT(mt), 0, "max_turns must be 1..10000");
    s->max_turns = (int)turns;
    each(ld, wt_yaml_map_get(root, "matrix"), "matrix", load_variant);
    if (s->nvariants == 0) { /* no matrix: one variant with the fleet's defaults */
        s->variants = wt_xcalloc(1, sizeof *s->variants);
        s->nvariants = 1;
        s->variants[0].name = wt_xstrdup("default");
        s->variants[0].agent_config = json_object();
    }
    for (int i = 0; i < s->nvariants; i++) {
        wt_bench_variant_t *x = &s->variants[i];
        const wt_yaml_node_t *wf = wt_yaml_map_get(root, "workflow");
        if (x->line == 0 || (x->workflow == NULL && wf)) {
            x->line = wt_yaml_line(wf ? wf : root);
            x->col = wt_yaml_col(wf ? wf : root);
        }
        if (x->workflow == NULL)
            x->workflow = wt_xstrdup(x->one_shot ? WT_BENCH_ONE_SHOT_WORKFLOW
                                                 : (s->workflow ? s->workflow : ""));
        if (x->workflow[0] == '\0')
            wt_diags_add(ld->d, ld->file, AT(root), 0,
                         "variant '%s' has no workflow (set 'workflow:' on the suite or the "
                         "variant)",
                         x->name ? x->name : "?");
    }
    const wt_yaml_node_t *cases = wt_yaml_map_get(root, "cases");
    const wt_yaml_node_t *cdir = wt_yaml_map_get(root, "cases_dir");
    each(ld, cases, "cases", load_case);
    if (cdir)
        load_cases_dir(ld, cdir);
    each(ld, wt_yaml_map_get(root, "scorers"), "scorers", load_scorer);
    load_maps(ld, root);
    cross_check(ld, root);
}

static void
check_workflows(const wt_bench_suite_t *self, int (*known)(void *ud, const char *id), void *ud,
                wt_diags_t *d)
{
    for (int i = 0; known && i < self->nvariants; i++) {
        const wt_bench_variant_t *x = &self->variants[i];
        int dup = 0;
        for (int j = 0; j < i && !dup; j++)
            dup = strcmp(self->variants[j].workflow, x->workflow) == 0;
        if (!dup && x->workflow[0] && !known(ud, x->workflow))
            wt_diags_add(d, self->file, x->line, x->col, 0,
                         "unknown workflow '%s' (variant '%s'): no worker of the fleet offers it",
                         x->workflow, x->name ? x->name : "?");
    }
}

wt_bench_suite_t *
wt_bench_suite_load(const char *path, int (*known)(void *ud, const char *id), void *ud,
                    wt_diags_t *d)
{
    wt_yaml_error_t ye = {0};
    wt_yaml_t *y = wt_yaml_load_file(path, &ye);
    if (y == NULL) {
        wt_diags_add(d, path, ye.line, ye.col, 0, "%s", ye.err.msg);
        return NULL;
    }
    int before = d->errors;
    wt_bench_suite_t *s = wt_xcalloc(1, sizeof *s);
    s->file = wt_xstrdup(path);
    loader_t ld = {.s = s, .d = d, .file = path};
    dir_of(path, ld.dir, sizeof ld.dir);
    const wt_yaml_node_t *root = wt_yaml_root(y);
    if (root == NULL || wt_yaml_kind(root) != WT_YAML_MAP)
        wt_diags_add(d, path, root ? wt_yaml_line(root) : 1, root ? wt_yaml_col(root) : 1, 0,
                     "a suite must be a mapping (suite:, workflow:, cases:, scorers:)");
    else
        load_root(&ld, root);
    wt_yaml_destroy(&y);
    check_workflows(s, known, ud, d);
    if (d->errors > before)
        wt_bench_suite_destroy(&s);
    return s;
}

const wt_bench_variant_t *
wt_bench_suite_variant(const wt_bench_suite_t *self, const char *name)
{
    for (int i = 0; i < self->nvariants; i++)
        if (strcmp(self->variants[i].name, name) == 0)
            return &self->variants[i];
    return NULL;
}

double
wt_bench_suite_cost(const wt_bench_suite_t *self, const char *model, int64_t in, int64_t out)
{
    for (int i = 0; model && i < self->nprices; i++)
        if (strcmp(self->prices[i].model, model) == 0)
            return ((double)in * self->prices[i].input_per_mtok +
                    (double)out * self->prices[i].output_per_mtok) /
                   1e6;
    return 0.0;
}

void
wt_bench_suite_destroy(wt_bench_suite_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_bench_suite_t *s = *self_p;
    for (int i = 0; i < s->nvariants; i++) {
        wt_bench_variant_t *x = &s->variants[i];
        free(x->name), free(x->provider), free(x->model), free(x->tier), free(x->workflow);
        json_decref(x->agent_config);
        for (int j = 0; j < x->nrequire; j++)
            free(x->require[j]);
        free(x->require);
    }
    for (int i = 0; i < s->ncases; i++) {
        wt_bench_case_t *k = &s->cases[i];
        free(k->id), free(k->goal), free(k->workspace), free(k->repo), free(k->ref), free(k->file);
        json_decref(k->context);
        json_decref(k->expect);
    }
    for (int i = 0; i < s->nscorers; i++) {
        wt_bench_scorer_t *sc = &s->scorers[i];
        free(sc->name), free(sc->output), free(sc->expect), free(sc->pattern), free(sc->run);
        free(sc->rubric), free(sc->judge_provider), free(sc->judge_model), free(sc->judge_base_url);
    }
    for (int i = 0; i < s->nthresholds; i++)
        free(s->thresholds[i].metric);
    for (int i = 0; i < s->nprices; i++)
        free(s->prices[i].model);
    free(s->variants), free(s->cases), free(s->scorers), free(s->thresholds), free(s->prices);
    free(s->name), free(s->file), free(s->workflow);
    free(s);
    *self_p = NULL;
}
