/* wt_deliver - delivery as a durable step (DESIGN.md section 15): after a
 * session's session_completed with outcome success is stored, commit what
 * is left, push branch worktrain/<sid>, and for `pr` open exactly one pull
 * or merge request.
 *
 * Redis (prefix as everywhere):
 *   <p>delivery:<sid>        hash  spec, worker, root, state (pending ->
 *                                  pushed -> done | failed | skipped),
 *                                  attempt, branch, commit, url, number, error,
 *                                  base (the PR's target), diff (wt_repo_diff of
 *                                  the pushed branch, WT_DELIVER_DIFF_MAX bytes at
 *                                  most: it goes into a review phase's context)
 *   <p>deliveries:<worker>   zset  sids not pushed yet, held by that worker's
 *                                  worktree, by the ms they are next due
 *   <p>deliveries            zset  pushed sids whose PR is not open yet, by due ms
 *   <p>delivery:<sid>:lease  string the worker doing it now (PX)
 * A session registers its delivery when it starts. Each worker runs one
 * delivery thread that takes due entries: a session still running is
 * looked at again later; one that ended other than success is skipped
 * (nothing pushed, ever); a success is pushed by the worker whose root
 * holds the worktree (state pending), and once pushed any worker can open
 * the PR (state pushed) - so a worker killed between push and PR is
 * finished by the next one, which first looks the PR up. Failures are
 * retried on the durable schedule (backoff, Retry-After, rate-limit reset);
 * after WT_DELIVER_MAX_ATTEMPTS a delivery_failed stays in the inbox.
 * Events delivery_started / delivery_completed {branch, commit, url,
 * number} / delivery_failed {error, attempt, retry_in_ms} are appended to
 * the session's stream after its session_completed; the session hash gets
 * branch and pr_url. */
#ifndef WT_DELIVER_H
#define WT_DELIVER_H

#include "wt_err.h"
#include "wt_redis.h"

#include <stdatomic.h>

#define WT_DELIVER_MAX_ATTEMPTS 6
#define WT_DELIVER_DIFF_MAX     32768 /* bytes of the diff kept on the delivery record */
#define WT_DELIVER_LEASE_MS     20000 /* a killed worker's delivery is taken over after this */

typedef struct wt_deliver wt_deliver_t;

/* Starts the delivery thread of a worker (its own Redis connection). root
 * is the worker's workspace root; failures (borrowed, may be NULL) counts
 * failed delivery attempts (the worker's wt_delivery_failures_total).
 * NULL with err when it cannot start. */
wt_deliver_t *wt_deliver_new(const char *redis_url, const char *prefix, const char *worker,
                             const char *root, atomic_uint_fast64_t *failures, wt_err_t *err);
void wt_deliver_destroy(wt_deliver_t **self_p);
/* Wakes the thread: a session just ended. NULL-safe. */
void wt_deliver_kick(wt_deliver_t *self);

/* Registers the delivery of session sid (spec_json as wt_repo_spec_dump),
 * due for a first look after the session ends. Idempotent (a resumed
 * session registers again without resetting the state). */
int wt_deliver_register(wt_redis_t *redis, const char *prefix, const char *sid,
                        const char *spec_json, const char *worker, const char *root, wt_err_t *err);
/* The session ended here (on worker): due now. */
int wt_deliver_due_now(wt_redis_t *redis, const char *prefix, const char *sid, const char *worker,
                       wt_err_t *err);

#endif
