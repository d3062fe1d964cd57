/* wt_route - the broker's run queue, split by what a session needs.
 *
 * A session can run only on a worker that offers its workflow and has every
 * label it requires. Sessions with the same needs form a class (workflow,
 * required labels), and each class has its own priority queue (wt_queue).
 * Dispatch looks at the head of each class that some live worker can run,
 * never at the sessions behind it, so thousands of sessions waiting for an
 * absent workflow cost nothing per dispatch. Which workers can run a class is
 * cached per class and recomputed after the fleet changed (a worker joined,
 * left, or came back with another offer).
 *
 * It also remembers every workflow id a worker ever advertised (the
 * "known" set), which intake uses to refuse spawns of workflows no worker
 * has. Loop thread only. The route owns the jobs it holds. */
#ifndef WT_ROUTE_H
#define WT_ROUTE_H

#include "wt_job.h"
#include "wt_proto.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wt_route wt_route_t;

/* What one worker offers: sorted copies of its READY caps and labels. */
typedef struct wt_route_offer {
    wt_strlist_t workflows; /* owned, sorted, unique */
    wt_strlist_t labels;    /* owned, sorted, unique */
} wt_route_offer_t;

/* Replaces *self with sorted, de-duplicated copies of the two lists. */
void wt_route_offer_set(wt_route_offer_t *self, const wt_strlist_t *workflows,
                        const wt_strlist_t *labels);
void wt_route_offer_release(wt_route_offer_t *self);
/* 1 when the offer runs workflow and has every label of require (the
 * canonical "a,b" form, NULL or "" for none). */
int wt_route_offer_runs(const wt_route_offer_t *self, const char *workflow, const char *require);

/* Canonical form of a label list: sorted, unique, comma-separated, "" for
 * none. Fails (WT_EINVAL) on a bad label or too many. */
int wt_route_labels_canon(const wt_strlist_t *labels, char *out, size_t cap, wt_err_t *err);

/* The live workers, as the route sees them: n of them, indexed 0..n-1. */
typedef struct wt_route_fleet {
    size_t n;                                             /* workers */
    const wt_route_offer_t *(*offer)(void *ud, size_t i); /* what worker i offers */
    int (*credit)(void *ud, size_t i);                    /* its free slots */
    void *ud;                                             /* passed to both */
} wt_route_fleet_t;

wt_route_t *wt_route_new(void);
/* Destroys the route and every job still in it. */
void wt_route_destroy(wt_route_t **self_p);

/* Takes *job_p into the queue of its class. A job without seq gets the next
 * arrival number; one with seq (requeued) keeps its place among equals. */
void wt_route_push(wt_route_t *self, wt_job_t **job_p);
/* The job some worker with credit can run that comes first (priority, then
 * arrival) across all classes; *worker is the fleet index of the worker
 * with most credit among those that can run it. Caller owns the job; NULL
 * when nothing can be dispatched now. */
wt_job_t *wt_route_pop(wt_route_t *self, const wt_route_fleet_t *fleet, size_t *worker);
/* Any job (for emptying the route), NULL when empty. */
wt_job_t *wt_route_pop_any(wt_route_t *self);
/* Removes the job with this session id (caller owns it), NULL if absent. */
wt_job_t *wt_route_remove(wt_route_t *self, const char *sid);
/* The fleet changed: forget which workers can run which class. */
void wt_route_fleet_changed(wt_route_t *self);
size_t wt_route_size(const wt_route_t *self);
/* Smallest queued_us of any waiting job, 0 when empty. O(jobs). */
int64_t wt_route_oldest_us(const wt_route_t *self);

/* Calls fn once per class no live worker can run, with its workflow, its
 * required labels ("" for none), how many sessions wait in it and why, e.g.
 * "no live worker offers workflow 'x'". */
typedef void (*wt_route_unroutable_fn)(const char *workflow, const char *require, size_t waiting,
                                       const char *reason, void *ud);
void wt_route_unroutable(wt_route_t *self, const wt_route_fleet_t *fleet, wt_route_unroutable_fn fn,
                         void *ud);
/* The reason text for a class (what wt_route_unroutable reports). */
void wt_route_reason(const char *workflow, const char *require, int workflow_offered, char *out,
                     size_t cap);

/* Records a workflow id some worker advertised (or the operator declared). */
void wt_route_known_add(wt_route_t *self, const char *workflow);
int wt_route_known_has(const wt_route_t *self, const char *workflow);
/* Borrowed, sorted list of known ids, valid until the next known_add. */
const wt_strlist_t *wt_route_known(const wt_route_t *self);

#endif
