/* wt_run - executes a coordinator pipeline (DESIGN §7) with zero LLM calls:
 * every routing decision is a wt_expr condition over earlier phases'
 * structured results.
 *
 * How it runs: phases whose needs are all finished start together; a
 * session phase SPAWNs through the broker (one session, or one per item of
 * a `foreach`) and the run waits on the fleet stream <p>events with XREAD
 * BLOCK for their session_completed - never a sleep-and-poll loop. A quiet
 * second, or five seconds of traffic, re-reads the open sessions' hashes in
 * case the capped stream dropped an entry.
 *
 * Why resume works: every SPAWN carries the idempotency key
 * "run:<run>:<phase>:<attempt>[:<item>]". Re-executing the pipeline with
 * the same run id and inputs gets back the same session ids, so finished
 * phases are reused (their results are in Redis) and running ones are
 * awaited, not started again. Notify phases are not idempotent, so their
 * outcome is taken from the run record. The pipeline source is stored in
 * the record so a resume runs the same DAG even if the file changed.
 *
 * The record: <p>run:<id> hash {id pipeline file source inputs status
 * created_ms updated_ms ended_ms coordinator resumes phases notified} where
 * phases is a JSON array of phase views (below) and notified is "1" once
 * the end-of-run inbox entry and notification went out (a resume of an
 * ended run does not repeat them); <p>runs zset by created_ms; the
 * sessions carry run and phase (and sit in <p>run:<id>:sessions). The
 * record is written before the first SPAWN and after each notify phase.
 * One coordinator at a time: <p>run:<id>:owner holds "host:pid" of the
 * one running it (10 s lease, renewed in the wait loop); a second one
 * refuses to start unless the holder is a dead process of this host.
 *
 * A phase view, also what expressions see under the phase id:
 *   {state: pending|running|done|skipped|failed, done, skipped, failed
 *    (booleans), outcome, output, detail, session, sessions, attempts,
 *    retryExhausted, reason, needs, workflow}
 * For a foreach phase `output` is the list of the items' outputs in item
 * order, `results` the items' full results, and `session` is null.
 * Templates of a phase also see `attempt` (1-based), `previous` (the
 * previous attempt's view, retries only), `item` and `index` (foreach). The
 * session context gets the phase's vars plus `attempt`, `previousResult`,
 * `item` and `index` where they apply. */
#ifndef WT_RUN_H
#define WT_RUN_H

#include "wt_cert.h"
#include "wt_err.h"
#include "wt_pipeline.h"

#include <jansson.h>
#include <stdint.h>

typedef struct wt_run wt_run_t;

typedef struct wt_run_cfg {
    const char *redis_url; /* Redis URL */
    const char *broker;    /* broker client endpoint */
    /* CURVE keys for the broker, NULL = plain */
    const wt_cert_peer_t *curve;
    const char *prefix;    /* key prefix, NULL = WORKTRAIN_PREFIX or "wt:" */
    int64_t timeout_ms;    /* whole run; <= 0 means none */
    int64_t spawn_wait_ms; /* how long to wait for the broker per SPAWN */
    int quiet;             /* 1: no progress lines on stderr */
    /* workflows to start once the run has ended (--after: memory, watchdog;
     * DESIGN.md 17), borrowed; not awaited */
    const char *const *after;
    int nafter;
    /* --adopt: object phase id -> session id (borrowed; NULL = none). The
     * first attempt of each named phase is that existing session (e.g. one
     * a trigger started) instead of a new SPAWN; it must be of the phase's
     * workflow and in no other run. Kept in the record (field adopt) so a
     * resume adopts the same sessions. */
    const json_t *adopt;
} wt_run_cfg_t;

/* Run outcomes, also the exit codes of `worktrain run`. */
enum {
    WT_RUN_OK = 0,      /* every phase done or skipped */
    WT_RUN_FAILED = 1,  /* a phase failed */
    WT_RUN_TIMEOUT = 2, /* timeout, interruption, or Redis/broker unreachable */
};

/* A new run of p (borrowed; must outlive the run) with inputs (a JSON
 * object of strings/values, borrowed; `goal` among them) and the file
 * path and source text recorded for --resume (source NULL: read file). */
wt_run_t *wt_run_new(const wt_run_cfg_t *cfg, const wt_pipeline_t *p, const json_t *inputs,
                     const char *file, const char *source, wt_err_t *err);

/* Reads the record of run_id for --resume: a new reference to an object
 * {id, pipeline, file, source, inputs (object), status, phases}, or NULL
 * with WT_ENOTFOUND / WT_EIO. */
json_t *wt_run_load_record(const wt_run_cfg_t *cfg, const char *run_id, wt_err_t *err);

/* The same run again from its record (see wt_run_load_record); p must be
 * loaded from the record's source. */
wt_run_t *wt_run_resume(const wt_run_cfg_t *cfg, const wt_pipeline_t *p, const json_t *record,
                        wt_err_t *err);

void wt_run_destroy(wt_run_t **self_p);

/* The run id (borrowed). */
const char *wt_run_id(const wt_run_t *self);

/* Runs to the end (or timeout, or a stop signal); returns WT_RUN_*. */
int wt_run_execute(wt_run_t *self);

/* The run as JSON: {run, pipeline, status, phases: [{id, ...view}]};
 * a new reference. */
json_t *wt_run_report(const wt_run_t *self);

#endif
