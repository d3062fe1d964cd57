/* wt_bench_suite - a benchmark suite file (DESIGN section 14) loaded with
 * wt_yaml, every problem reported at once as FILE:LINE:COL into a
 * wt_diags_t before any session starts: unknown keys, duplicate case ids,
 * missing workspace fixtures, scorers whose output path or expected key
 * does not exist, thresholds on unknown metrics, bad regexes; and, with
 * wt_bench_suite_check, workflows the fleet does not know.
 *
 *   suite: NAME
 *   workflow: WORKFLOW_ID              the workflow under test
 *   timeout: DUR    max_turns: N       per session (optional)
 *   matrix:                            variants (default: one named "default")
 *     - {name, provider, model, tier, agentConfig: {...}, workflow, require: [label],
 *        mode: workflow | one-shot}
 *   cases: [{id, goal, context: {...}, workspace: DIR, repo: URL, ref: REF,
 *            expect: {...}}]           or cases_dir: DIR (one YAML per case)
 *   scorers: [{name, type, output, expect, pattern, match, tolerance, run,
 *              timeout, pass}]
 *   thresholds: {METRIC: MIN}          METRIC: a scorer name or pass_rate
 *   prices: {MODEL: {input: USD_PER_MTOK, output: USD_PER_MTOK}}
 *
 * Paths (workspace, cases_dir) are relative to the file that names them.
 * After loading the suite is plain read-only data. */
#ifndef WT_BENCH_SUITE_H
#define WT_BENCH_SUITE_H

#include "wt_bench_score.h"
#include "wt_diag.h"

#include <jansson.h>

#define WT_BENCH_ONE_SHOT_WORKFLOW "bench-one-shot" /* bundled workflow of one-shot variants */

typedef struct wt_bench_variant {
    char *name;           /* unique, [A-Za-z0-9_-] */
    char *provider;       /* recorded in results; pick workers with `require` */
    char *model;          /* agentConfig.model for its sessions, or NULL */
    char *tier;           /* agentConfig.modelTier, or NULL */
    char *workflow;       /* workflow its sessions run */
    int one_shot;         /* 1: mode one-shot (one LLM call, no workflow steps) */
    json_t *agent_config; /* owned object merged into the session's agentConfig */
    char **require;       /* owned worker labels its sessions need */
    int nrequire;         /* labels */
    int line, col;        /* where its workflow is named (suite or entry) */
} wt_bench_variant_t;

typedef struct wt_bench_case {
    char *id;        /* unique, [A-Za-z0-9_-]{1,64} (a session tag) */
    char *goal;      /* the session goal */
    json_t *context; /* owned object: initial session context */
    json_t *expect;  /* owned object: expected values by key */
    char *workspace; /* fixture directory (absolute), or NULL */
    char *repo;      /* git URL or path cloned instead, or NULL */
    char *ref;       /* ref of repo, or NULL (its HEAD) */
    char *file;      /* file it was defined in */
    int line, col;   /* where */
} wt_bench_case_t;

typedef struct wt_bench_threshold {
    char *metric; /* scorer name or "pass_rate" */
    double min;   /* the variant's mean must be >= min */
} wt_bench_threshold_t;

typedef struct wt_bench_price {
    char *model;            /* model name */
    double input_per_mtok;  /* USD per million input tokens */
    double output_per_mtok; /* USD per million output tokens */
} wt_bench_price_t;

typedef struct wt_bench_suite {
    char *name;         /* suite: */
    char *file;         /* path as given */
    char *workflow;     /* default workflow of the variants */
    int64_t timeout_ms; /* per session, 0 = worker default */
    int max_turns;      /* per session, 0 = worker default */
    wt_bench_variant_t *variants;
    int nvariants;
    wt_bench_case_t *cases;
    int ncases;
    wt_bench_scorer_t *scorers;
    int nscorers;
    wt_bench_threshold_t *thresholds;
    int nthresholds;
    wt_bench_price_t *prices;
    int nprices;
} wt_bench_suite_t;

/* Loads and checks path; NULL when it cannot be read or has any error
 * (all of them in d). known (may be NULL: not checked) says whether the
 * fleet offers a workflow, so an unknown one is reported with the rest. */
wt_bench_suite_t *wt_bench_suite_load(const char *path, int (*known)(void *ud, const char *id),
                                      void *ud, wt_diags_t *d);
void wt_bench_suite_destroy(wt_bench_suite_t **self_p);

/* The variant named name, or NULL. */
const wt_bench_variant_t *wt_bench_suite_variant(const wt_bench_suite_t *self, const char *name);
/* USD for tokens of model (0 when the suite has no price for it). */
double wt_bench_suite_cost(const wt_bench_suite_t *self, const char *model, int64_t in,
                           int64_t out);

#endif
