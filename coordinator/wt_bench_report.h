/* wt_bench_report - what a bench run turns into: per-variant aggregates
 * (mean, standard error, n per metric; pass_rate; pass@k, pass^k and flaky
 * cases with --repeat), threshold and baseline verdicts, RUN.md, JUnit XML,
 * and `bench compare` deltas. Pure functions over RUN.json objects. */
#ifndef WT_BENCH_REPORT_H
#define WT_BENCH_REPORT_H

#include "wt_bench_suite.h"

#include <jansson.h>

/* Adds to each variant of run: aggregate {METRIC: {mean, stderr, n}},
 * repeats [{id, n, passes, pass_at_k, pass_pow_k, flaky}] (repeat > 1),
 * failures [text] and pass (thresholds hold; one-shot baselines are
 * reported, not judged); and run.pass. */
void wt_bench_report_judge(json_t *run, const wt_bench_suite_t *s);

/* Compares run with base (an earlier RUN.json): a metric of a variant of
 * both that dropped by more than max_regression (absolute, scores are in
 * [0, 1]) is added to run.regressions and clears run.pass. Returns how
 * many regressed. */
int wt_bench_report_baseline(json_t *run, const json_t *base, double max_regression);

/* RUN.md: a table per variant (caller frees). */
char *wt_bench_report_md(const json_t *run);
/* JUnit XML: a testsuite per variant, a testcase per case and repeat
 * (caller frees). */
char *wt_bench_report_junit(const json_t *run);

/* Per variant and metric of both: {variant, metric, a, b, delta, stderr,
 * beyond_noise} where stderr = sqrt(se_a^2 + se_b^2) and beyond_noise =
 * |delta| > 2 stderr (or, with no spread at all, delta != 0). */
json_t *wt_bench_report_compare(const json_t *a, const json_t *b);

#endif
