/* wt_bench_run - runs a bench suite on the fleet (DESIGN section 14): one
 * session per variant x case x repeat, at most `concurrency` open at once,
 * each scored when its session_completed arrives, the scored case written
 * to the run record in Redis at once.
 *
 * Crash safety: every SPAWN carries the idempotency key
 * "bench:<run>:<variant>:<case>:<repeat>", so a resumed run (same run id)
 * gets the same session back instead of a new one; a case already scored
 * (field case:<variant>/<case>/<repeat> of <p>bench:<run>) is taken from
 * the record and never scored again. The record: hash <p>bench:<run>
 * {id suite file status started_ms ended_ms matrix repeat out commit
 * runner summary case:...}, zset <p>bench:runs (run id by started_ms).
 * Sessions carry the tags as the SPAWN's run (= the bench run id) and phase
 * (= the case id) fields, and context vars bench, case, variant, repeat. */
#ifndef WT_BENCH_RUN_H
#define WT_BENCH_RUN_H

#include "wt_bench_suite.h"
#include "wt_cert.h"
#include "wt_err.h"

#include <jansson.h>

typedef struct wt_bench_opts {
    const char *redis_url;       /* Redis URL */
    const char *broker;          /* broker client endpoint */
    const wt_cert_peer_t *curve; /* CURVE keys, NULL = plain */
    char **matrix;               /* variant names to run, NULL = all */
    int nmatrix;                 /* names */
    int repeat;                  /* tries per case and variant, >= 1 */
    int concurrency;             /* open sessions at most */
    const char *out_dir;         /* where workspaces and logs go */
    const char *resume;          /* run id to continue, or NULL for a new run */
    const char *record_dir;      /* --record DIR (absolute), or NULL */
    const char *replay_dir;      /* --replay DIR (absolute), or NULL */
    int quiet;                   /* no progress on stderr */
    int64_t spawn_wait_ms;       /* broker answer limit per SPAWN */
} wt_bench_opts_t;

/* Reads the record of run for --resume: a new reference to {id, suite,
 * file, matrix, repeat, out, status, record, replay} ("" when not set), or
 * NULL with err. */
json_t *wt_bench_load_record(const char *redis_url, const char *run, wt_err_t *err);

/* Runs the suite to the end; returns the RUN.json object without the
 * threshold verdicts (wt_bench_report_judge adds them), or NULL with err on
 * an infrastructure failure (Redis or broker unreachable; resumable). */
json_t *wt_bench_run(const wt_bench_suite_t *s, const wt_bench_opts_t *o, wt_err_t *err);

#endif
