/* wt_slot - persistent slot threads: a mutex and condition variable per
 * slot; the thread sleeps on the condition between jobs (no CPU while
 * idle). See wt_slot.h. */
#include "wt_slot.h"

#include "wt_alloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct wt_slot {
    pthread_t thread;     /* runs loop() */
    pthread_mutex_t mu;   /* guards the fields below */
    pthread_cond_t cond;  /* signalled when a job is handed over, one returns, or stop */
    wt_slot_job_fn job;   /* the job to run, NULL when none is waiting */
    void *arg;            /* its argument */
    int busy;             /* a job is handed over and has not returned */
    int stop;             /* the owner wants the thread to end */
    void (*init)(void *); /* run once on the thread */
    void *ud;             /* init's argument */
};

/* The lowest usable address of this slot thread's stack (above its guard),
 * NULL on any other thread: wt_slot_trim_stack is a no-op there. */
static __thread char *stack_lo;
static __thread char *stack_hi; /* its top */

static void
note_stack(void)
{
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return;
    void *addr = NULL;
    size_t size = 0, guard = 0;
    if (pthread_attr_getstack(&a, &addr, &size) == 0 &&
        pthread_attr_getguardsize(&a, &guard) == 0 && size > guard)
        stack_lo = (char *)addr + guard, stack_hi = (char *)addr + size;
    pthread_attr_destroy(&a);
}

void
wt_slot_trim_stack(void)
{
    if (stack_lo == NULL)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    /* The real frame (never a sanitizer's fake stack), and below it the
     * page the madvise call itself uses (a return address): everything
     * lower is dead by the ABI - a signal frame written later is simply
     * faulted in again. */
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    if (frame <= (uintptr_t)stack_lo + 512 || frame > (uintptr_t)stack_hi)
        return; /* not on the slot's stack: leave it */
    uintptr_t top = (frame - 512) & ~(page - 1);
    uintptr_t lo = ((uintptr_t)stack_lo + page - 1) & ~(page - 1);
    if (top > lo)
        madvise((void *)lo, top - lo, MADV_DONTNEED);
}

static void *
loop(void *p)
{
    wt_slot_t *s = p;
    note_stack();
    if (s->init)
        s->init(s->ud);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->job == NULL && !s->stop)
            pthread_cond_wait(&s->cond, &s->mu);
        if (s->job == NULL) /* stop, with nothing handed over */
            break;
        wt_slot_job_fn job = s->job;
        void *arg = s->arg;
        s->job = NULL;
        pthread_mutex_unlock(&s->mu);
        job(arg);
        pthread_mutex_lock(&s->mu);
        s->busy = 0;
        pthread_cond_broadcast(&s->cond); /* a destroy may be waiting */
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

wt_slot_t *
wt_slot_new(size_t stack, void (*init)(void *ud), void *ud, wt_err_t *err)
{
    wt_slot_t *s = wt_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->init = init;
    s->ud = ud;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (stack > 0)
        pthread_attr_setstacksize(&attr, stack);
    int rc = pthread_create(&s->thread, &attr, loop, s);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        wt_err_set(err, WT_EIO, "cannot start a slot thread: %s", strerror(rc));
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

int
wt_slot_run(wt_slot_t *self, wt_slot_job_fn job, void *arg, wt_err_t *err)
{
    pthread_mutex_lock(&self->mu);
    /* The previous job has reported its end but may not have returned yet. */
    while (self->busy && !self->stop)
        pthread_cond_wait(&self->cond, &self->mu);
    if (self->stop) {
        pthread_mutex_unlock(&self->mu);
        return wt_err_set(err, WT_EINVAL, "slot thread is stopping");
    }
    self->job = job;
    self->arg = arg;
    self->busy = 1;
    pthread_mutex_unlock(&self->mu);
    /* After the unlock: the woken thread finds the mutex free instead of
     * blocking on it at once (a futex wait and wake less per job). */
    pthread_cond_broadcast(&self->cond);
    return 0;
}

int
wt_slot_busy(wt_slot_t *self)
{
    pthread_mutex_lock(&self->mu);
    int b = self->busy;
    pthread_mutex_unlock(&self->mu);
    return b;
}

void
wt_slot_destroy(wt_slot_t **pself)
{
    wt_slot_t *s = pself ? *pself : NULL;
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    while (s->busy)
        pthread_cond_wait(&s->cond, &s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *pself = NULL;
}
