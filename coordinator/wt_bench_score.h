/* wt_bench_score - the scorers and statistics of `worktrain bench` (DESIGN
 * section 14), free of I/O except the `command` scorer's child process:
 * equals, regex, set recall/precision/F1 with equality/substring/regex
 * item matching, numeric with tolerance, a shell command run in the
 * session's workspace with a timeout; and mean, standard error, pass@k and
 * pass^k over repeats. A score is a number in [0, 1]; a scorer that cannot
 * score (bad regex, missing value, crashed or timed-out command) returns -1
 * with the reason, and the case is scored `error` for it. */
#ifndef WT_BENCH_SCORE_H
#define WT_BENCH_SCORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum wt_bench_kind {
    WT_BENCH_EQUALS = 1,
    WT_BENCH_REGEX,
    WT_BENCH_SET_RECALL,
    WT_BENCH_SET_PRECISION,
    WT_BENCH_F1,
    WT_BENCH_NUMERIC,
    WT_BENCH_COMMAND,
    WT_BENCH_LLM_JUDGE,
} wt_bench_kind_t;

typedef enum wt_bench_match {
    WT_BENCH_MATCH_EQUALS = 0, /* item text equal */
    WT_BENCH_MATCH_CONTAINS,   /* output item contains the expected text (case-insensitive) */
    WT_BENCH_MATCH_REGEX,      /* expected item is an extended regex matched in the output item */
} wt_bench_match_t;

/* One scorer of a suite: plain data owned by the suite. */
typedef struct wt_bench_scorer {
    char *name;             /* metric name, unique in the suite */
    wt_bench_kind_t kind;   /* what it computes */
    char *output;           /* dotted path in the session output (context.findings), or NULL */
    char *expect;           /* key of the case's expect map, or NULL */
    char *pattern;          /* regex: a fixed pattern (instead of expect) */
    wt_bench_match_t match; /* set scorers: how items match */
    double tolerance;       /* numeric: |got - want| <= tolerance passes */
    char *run;              /* command: shell command line */
    int64_t timeout_ms;     /* command: limit (default 5 min) */
    char *rubric;           /* llm_judge: what a good answer is */
    char *judge_provider;   /* llm_judge: "openai" or "anthropic" */
    char *judge_model;      /* llm_judge: model name */
    char *judge_base_url;   /* llm_judge: API root, NULL = env *_BASE_URL or the public API */
    double pass_at;         /* the case passes this scorer when score >= pass_at (default 1) */
    int line, col;          /* where it is defined, for messages */
} wt_bench_scorer_t;

/* The kind named by text ("set_recall"), 0 when unknown. */
wt_bench_kind_t wt_bench_kind_parse(const char *text);
const char *wt_bench_kind_name(wt_bench_kind_t kind);

/* 1 when one output item matches one expected item under m. A bad regex
 * is no match (suites are checked for good regexes when loaded). */
int wt_bench_item_match(const char *got, const char *want, wt_bench_match_t m);

/* Scores a value scorer (all kinds but command): got is the value at the
 * scorer's output path (NULL when absent), want the expected value (NULL
 * when the scorer has a pattern). 0 with *score set, or -1 with why. */
int wt_bench_score_value(const wt_bench_scorer_t *sc, const json_t *got, const json_t *want,
                         double *score, char *why, size_t cap);

/* Runs sc->run with /bin/sh -c in cwd, env entries (NAME=VALUE, NULL
 * terminated) added to the environment, stdin from /dev/null, stdout and
 * stderr captured (the first max_output bytes kept, caller frees *output,
 * may be NULL). Returns the exit status (0..255; 128+N for a signal), or -1
 * with why when it could not start or timed out (the process group is
 * killed). */
int wt_bench_command(const char *run, const char *cwd, char *const *env, int64_t timeout_ms,
                     size_t max_output, char **output, char *why, size_t cap);

/* Parses a judge's reply strictly: the whole text, blanks around it
 * aside, must be one decimal number in [0, 1]. 0 with *score, else -1. */
int wt_bench_judge_parse(const char *text, double *score);

/* The value at a dotted path (a.b.0.c; numbers index arrays) in root,
 * borrowed; NULL when absent. */
json_t *wt_bench_path_get(json_t *root, const char *path);

/* Mean and standard error of the mean (sample standard deviation over
 * sqrt(n); 0 when n < 2) of v[0..n). */
typedef struct wt_bench_stats {
    double mean; /* 0 when n == 0 */
    double se;   /* standard error of the mean */
    int n;       /* values */
} wt_bench_stats_t;

wt_bench_stats_t wt_bench_stats(const double *v, int n);

/* With c passes out of n tries: the chance that at least one of k tries
 * drawn from them passes (pass@k, the unbiased estimator of Chen et al.
 * 2021), and that all k pass (pass^k). k must be in 1..n. */
double wt_bench_pass_at_k(int n, int c, int k);
double wt_bench_pass_pow_k(int n, int c, int k);

#endif
