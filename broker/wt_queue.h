/* wt_queue - the broker's run queue: a binary heap ordered by priority
 * (higher first), then by arrival (FIFO). Push and pop are O(log n). The
 * queue owns the jobs it holds. Loop thread only. */
#ifndef WT_QUEUE_H
#define WT_QUEUE_H

#include "wt_job.h"

#include <stddef.h>

typedef struct wt_queue wt_queue_t;

wt_queue_t *wt_queue_new(void);
/* Destroys the queue and every job still in it. */
void wt_queue_destroy(wt_queue_t **self_p);
/* Takes *job_p; stamps its seq so equal priorities stay FIFO. */
void wt_queue_push(wt_queue_t *self, wt_job_t **job_p);
/* Returns the next job (caller owns it) or NULL when empty. */
wt_job_t *wt_queue_pop(wt_queue_t *self);
/* Borrowed view of the next job, NULL when empty. */
const wt_job_t *wt_queue_peek(const wt_queue_t *self);
/* Removes the job with this session id (caller owns it), NULL if absent. O(n). */
wt_job_t *wt_queue_remove(wt_queue_t *self, const char *sid);
size_t wt_queue_size(const wt_queue_t *self);
/* Smallest queued_us in the queue (oldest waiter), 0 when empty. O(n). */
int64_t wt_queue_oldest_us(const wt_queue_t *self);

#endif
