/* wt_store - the Redis layout of DESIGN.md section 5, in one place.
 *
 * Keys (prefix "wt:" by default, WORKTRAIN_PREFIX overrides):
 *   <p>session:<sid>            hash   the session record (+ epoch, depth, ...)
 *   <p>session:<sid>:events     stream one entry per event: type, data, epoch
 *   <p>session:<sid>:children   zset   child ids by created_ms
 *   <p>sessions                 zset   every session id by created_ms
 *   <p>events                   stream fleet-wide lifecycle events (capped)
 *   <p>queue                    zset   queued session ids (broker recovery)
 *   <p>running                  hash   sid -> worker holding its lease
 *   <p>idem:<key>               string idempotency key -> sid (7 days)
 *   <p>worker:<name>            hash   worker heartbeat record (TTL)
 *   <p>workflows                hash   workflow id -> JSON summary
 *   <p>deadletter               stream sessions that used up their attempts
 *   <p>run:<id>                 hash   a coordinator run (worktrain run)
 *   <p>run:<id>:sessions        zset   the run's session ids by created_ms
 *   <p>runs                     zset   every run id by created_ms
 * Multi-key changes run as Lua scripts so they are atomic: intake (create a
 * session exactly once per idempotency key), assign (bump the lease epoch)
 * and append (refuse writes carrying a stale epoch, and any event after the
 * session_completed). The store borrows its wt_redis_t. */
#ifndef WT_STORE_H
#define WT_STORE_H

#include "wt_err.h"
#include "wt_redis.h"

#include <jansson.h>
#include <stdint.h>

#define WT_STORE_EVENTS_CAP 100000 /* approximate length cap of <p>events */

typedef struct wt_store {
    wt_redis_t *redis;         /* borrowed */
    char prefix[32];           /* key prefix, e.g. "wt:" */
    wt_redis_script_t intake;  /* create session + queued event */
    wt_redis_script_t assign;  /* lease: epoch+1, attempt+1, worker */
    wt_redis_script_t append;  /* fenced event append + hash update */
    wt_redis_script_t requeue; /* back to queue after a lost worker */
} wt_store_t;

/* A session as handed to intake. Strings are borrowed. */
typedef struct wt_store_spawn {
    const char *sid;          /* new ULID (ignored if the key was seen) */
    const char *workflow;     /* workflow id */
    const char *goal;         /* free text */
    const char *context_json; /* JSON object of initial context vars, or "" */
    const char *parent;       /* parent sid or "" */
    const char *idem_key;     /* idempotency key or "" */
    const char *workspace;    /* repo path for a git worktree, or "" */
    const char *run;          /* coordinator run id, or "" / NULL */
    const char *phase;        /* pipeline phase id within the run, or "" / NULL */
    int priority;             /* higher runs first, -100..100 */
    int64_t timeout_ms;       /* wall-clock limit, 0 = default */
    int max_turns;            /* 0 = default */
    int depth;                /* 0 for a root session */
    int64_t created_ms;       /* wall clock */
} wt_store_spawn_t;

/* prefix NULL means WORKTRAIN_PREFIX or "wt:". */
void wt_store_init(wt_store_t *self, wt_redis_t *redis, const char *prefix);
/* Formats prefix + the rest into out; returns out. */
char *wt_store_key(const wt_store_t *self, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Loads every script (call after connecting, before pipelining). */
int wt_store_load_scripts(wt_store_t *self, wt_err_t *err);

/* Queues the intake script for pipelining; read with wt_store_intake_reply,
 * which copies the session id (new, or the earlier one for a seen key). */
int wt_store_intake_append(wt_store_t *self, const wt_store_spawn_t *s, wt_err_t *err);
int wt_store_intake_reply(wt_store_t *self, char *sid_out, size_t cap, int *existing,
                          wt_err_t *err);

/* Takes the lease of sid for worker: epoch and attempt go up by one. Fails
 * with WT_ENOTFOUND when the session is no longer runnable (ended), or when
 * it already used max_attempts (> 0) assignments: then it is ended with
 * outcome error and recorded in <prefix>deadletter, atomically. */
int wt_store_assign_append(wt_store_t *self, const char *sid, const char *worker, int64_t now_ms,
                           int max_attempts, wt_err_t *err);
int wt_store_assign_reply(wt_store_t *self, int64_t *epoch, int *attempt, wt_err_t *err);

/* Puts sid back in the queue (its worker was lost). refund_attempt: the
 * worker handed it back cleanly (drain), so that run does not count. */
int wt_store_requeue(wt_store_t *self, const char *sid, int priority, int64_t created_ms,
                     int refund_attempt, wt_err_t *err);

/* Appends event `type` with JSON `data` to the session stream (and to the
 * fleet stream when fleet != 0), then applies hash updates given as
 * field/value pairs; a field starting with '+' is incremented instead.
 * epoch < 0 skips the fencing check. seq > 0 makes the append idempotent
 * within a lease: a seq not above the last stored one is a no-op success
 * (a retry whose first try was stored but whose reply was lost). Fails with
 * WT_ESTALE when the epoch is out of date or the session already ended. */
int wt_store_append(wt_store_t *self, const char *sid, int64_t epoch, int64_t seq, const char *type,
                    const char *data, int fleet, int nfields, const char **fields, wt_err_t *err);

/* Builds the result object of a session, {session, workflow, status,
 * outcome, output, detail}; NULL with WT_ENOTFOUND if it does not exist. */
json_t *wt_store_result(wt_store_t *self, const char *sid, wt_err_t *err);
/* Returns 1 when status is terminal (completed failed cancelled). */
int wt_store_status_terminal(const char *status);

#endif
