/* wt_queue - binary min-heap on (-priority, seq). seq is a counter the
 * queue assigns on push unless the job already carries one (a session that
 * comes back after its worker died keeps its place among equals). Each heap
 * entry carries its job's keys (and queued_us), so sifting and the oldest
 * scan read one array instead of a job per step (a cache miss each, with a
 * queue of thousands). */
#include "wt_queue.h"

#include "wt_alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
    int priority;      /* job->priority */
    uint64_t seq;      /* job->seq */
    int64_t queued_us; /* job->queued_us */
    wt_job_t *job;     /* owned */
} entry_t;

struct wt_queue {
    entry_t *heap; /* owned jobs, heap-ordered */
    size_t n;      /* jobs held */
    size_t cap;    /* slots allocated */
    uint64_t seq;  /* next arrival number */
};

wt_queue_t *
wt_queue_new(void)
{
    return wt_xcalloc(1, sizeof(wt_queue_t));
}

void
wt_queue_destroy(wt_queue_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_queue_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        wt_job_destroy(&self->heap[i].job);
    free(self->heap);
    free(self);
    *self_p = NULL;
}

static int
before(const entry_t *a, const entry_t *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->seq < b->seq;
}

static void
swap(entry_t *h, size_t i, size_t j)
{
    entry_t t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void
sift_up(wt_queue_t *self, size_t i)
{
    while (i > 0 && before(&self->heap[i], &self->heap[(i - 1) / 2])) {
        swap(self->heap, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void
sift_down(wt_queue_t *self, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < self->n && before(&self->heap[l], &self->heap[m]))
            m = l;
        if (r < self->n && before(&self->heap[r], &self->heap[m]))
            m = r;
        if (m == i)
            return;
        swap(self->heap, i, m);
        i = m;
    }
}

void
wt_queue_push(wt_queue_t *self, wt_job_t **job_p)
{
    wt_job_t *job = *job_p;
    *job_p = NULL;
    if (job->seq == 0)
        job->seq = ++self->seq;
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 1024;
        self->heap = wt_xrealloc(self->heap, self->cap * sizeof *self->heap);
    }
    self->heap[self->n++] = (entry_t){job->priority, job->seq, job->queued_us, job};
    sift_up(self, self->n - 1);
}

wt_job_t *
wt_queue_pop(wt_queue_t *self)
{
    if (self->n == 0)
        return NULL;
    wt_job_t *top = self->heap[0].job;
    self->heap[0] = self->heap[--self->n];
    if (self->n)
        sift_down(self, 0);
    return top;
}

const wt_job_t *
wt_queue_peek(const wt_queue_t *self)
{
    return self->n ? self->heap[0].job : NULL;
}

wt_job_t *
wt_queue_remove(wt_queue_t *self, const char *sid)
{
    for (size_t i = 0; i < self->n; i++) {
        if (strcmp(self->heap[i].job->sid, sid) != 0)
            continue;
        wt_job_t *job = self->heap[i].job;
        self->heap[i] = self->heap[--self->n];
        if (i < self->n) {
            sift_down(self, i);
            sift_up(self, i);
        }
        return job;
    }
    return NULL;
}

size_t
wt_queue_size(const wt_queue_t *self)
{
    return self->n;
}

int64_t
wt_queue_oldest_us(const wt_queue_t *self)
{
    int64_t oldest = 0;
    for (size_t i = 0; i < self->n; i++)
        if (oldest == 0 || self->heap[i].queued_us < oldest)
            oldest = self->heap[i].queued_us;
    return oldest;
}
