/* wt_job - the broker's in-memory record of one session: what ASSIGN needs
 * to send, plus queue and assignment bookkeeping. */
#ifndef WT_JOB_H
#define WT_JOB_H

#include "wt_ulid.h"

#include <stdint.h>

typedef struct wt_job {
    char sid[WT_ULID_LEN + 1]; /* session id */
    char *workflow;            /* owned */
    char *goal;                /* owned */
    char *context_json;        /* owned, may be NULL */
    char *parent;              /* owned, may be NULL */
    char *workspace;           /* owned, may be NULL */
    char *require;             /* owned labels a worker must have ("a,b" sorted), may be NULL */
    int priority;              /* -100..100, higher first */
    int64_t timeout_ms;        /* 0 = worker default */
    int max_turns;             /* 0 = worker default */
    int depth;                 /* 0 for roots */
    int64_t created_ms;        /* intake wall clock */
    uint64_t seq;              /* FIFO tie-break within a priority */
    int64_t queued_us;         /* monotonic time it (re)entered the queue */
    int64_t assigned_ms;       /* monotonic time of its last ASSIGN */
    uint64_t assign_seq;       /* req of that ASSIGN (0: reattached or adopted) */
    int requeued;              /* put back in the queue after an ASSIGN (resumed metric) */
    struct wt_job *next;       /* link in its worker's assigned list */
} wt_job_t;

wt_job_t *wt_job_new(const char *sid);
void wt_job_destroy(wt_job_t **self_p);

#endif
