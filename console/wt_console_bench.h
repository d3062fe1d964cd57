/* wt_console_bench - the console's Benchmarks answers (console/API.md,
 * GET /api/bench and /api/bench/<run>), read from the records `worktrain
 * bench run` keeps in Redis (<p>bench:runs, <p>bench:<run>). Errors as in
 * wt_console_api (WT_ENOTFOUND, WT_EIO). */
#ifndef WT_CONSOLE_BENCH_H
#define WT_CONSOLE_BENCH_H

#include "wt_err.h"
#include "wt_store.h"

#include <jansson.h>

#define WT_CONSOLE_BENCH_RUNS_MAX 200 /* newest runs listed */

/* {"runs": [{run, suite, status, started_ms, ended_ms, pass, variants:
 * [{name, pass, metrics: {NAME: mean}}]}]}, oldest first (for charts). */
json_t *wt_console_bench_list(wt_store_t *store, wt_err_t *err);
/* {"run": {run, suite, status, started_ms, ended_ms, summary}, "cases":
 * [{variant, id, repeat, session, outcome, scores, reason}]}. */
json_t *wt_console_bench_get(wt_store_t *store, const char *id, wt_err_t *err);

#endif
