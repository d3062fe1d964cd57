/* wt_retain - retention of ended sessions (DESIGN.md section 19).
 *
 * When a session ends, the store's scripts put it in <p>expiry scored by
 * the time its keys are due to go (end + the session's retain_ms). The
 * broker calls wt_retain_sweep every second: it takes the due ids in
 * bounded batches and, in one script per batch, deletes each session's
 * keys (hash, events, children, tell), removes it from every index that
 * lists it (<p>sessions, its run's and its parent's indexes, the queue
 * indexes, <p>running, its inbox entries, its idempotency key) and leaves a
 * tombstone in <p>expired so readers answer "expired", not "unknown". An
 * ended pipeline run (<p>run:<id>, <p>runs) goes with its last session.
 * Tombstones live WT_RETAIN_TOMBSTONE_MS and at most tombstones_max of them
 * are kept (the oldest go first). Queued and running sessions are never in
 * <p>expiry, and the sweep re-checks the status before deleting. The sweep
 * is idempotent: a second run over the same ids finds nothing to do. */
#ifndef WT_RETAIN_H
#define WT_RETAIN_H

#include "wt_store.h"

#define WT_RETAIN_TOMBSTONE_MS   (7LL * 24 * 3600 * 1000) /* tombstone life */
#define WT_RETAIN_TOMBSTONES     100000                   /* tombstones kept at most (default) */
#define WT_RETAIN_WORKER_GONE_MS 60000 /* worker names silent this long leave <p>workers */
#define WT_RETAIN_MIN_MS         1000  /* shortest retention accepted */
#define WT_RETAIN_MAX_MS         (10LL * 365 * 24 * 3600 * 1000) /* longest: 10 years */

typedef struct wt_retain {
    wt_store_t *store;       /* borrowed */
    wt_redis_script_t sweep; /* the sweep script */
    wt_redis_script_t adopt; /* the one-time pass over sessions stored before retention */
    int64_t tombstones_max;  /* tombstones kept at most */
    char cursor[64];         /* adopt: "<score> <sid>" done so far, "" = start, "done" = finished */
} wt_retain_t;

/* tombstones_max <= 0 means WT_RETAIN_TOMBSTONES. */
void wt_retain_init(wt_retain_t *self, wt_store_t *store, int64_t tombstones_max);

/* Expires up to batch due sessions (one script, atomic). Sets *expired to
 * the number deleted and returns the number of due ids taken (batch means
 * more may be due), or -1 on a Redis error. Also prunes old tombstones and
 * worker names silent for WT_RETAIN_WORKER_GONE_MS. */
int wt_retain_sweep(wt_retain_t *self, int batch, int *expired, wt_err_t *err);

/* Sessions stored before retention existed have no place in <p>expiry.
 * Each call adopts up to batch sessions of <p>sessions (oldest first,
 * resuming where the last call stopped): an ended one enters <p>expiry at
 * ended_ms + its retain_ms (or default_retain_ms); sessions already indexed
 * are left alone, so the pass is idempotent. (A queued one needs nothing:
 * <p>queued holds only requeued sessions, wt_store.h.) When the pass reaches the end it sets
 * <p>retention:adopted and later calls (also of other brokers) return at
 * once. Returns 1 when the pass is finished, 0 when more remains, -1 on a
 * Redis error. */
int wt_retain_adopt(wt_retain_t *self, int batch, int64_t default_retain_ms, wt_err_t *err);

/* Parses a retention such as "7d", "2h", "90s", "500ms" into *ms; fails
 * with WT_EINVAL naming what (e.g. "--retain") when it is not a duration
 * between WT_RETAIN_MIN_MS and WT_RETAIN_MAX_MS. */
int wt_retain_parse(const char *what, const char *text, int64_t *ms, wt_err_t *err);

#endif
