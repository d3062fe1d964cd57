/* Unit tests of wt_slot: one thread runs many jobs in turn (the same
 * thread each time, no new thread per job), a job handed to a busy slot
 * runs after the current one returns, and destroy waits for the running
 * job before it joins. */
#include "wt_slot.h"
#include "wt_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct job {
    atomic_int runs;    /* jobs run */
    atomic_int release; /* a blocking job returns once set */
    pthread_t seen;     /* thread that ran the last job */
    atomic_int inits;   /* init calls */
} job_t;

static void
count(void *arg)
{
    job_t *j = arg;
    j->seen = pthread_self();
    atomic_fetch_add(&j->runs, 1);
}

static void
block(void *arg)
{
    job_t *j = arg;
    while (!atomic_load(&j->release))
        usleep(1000);
    atomic_fetch_add(&j->runs, 1);
}

/* Lets the blocking job return a little later, from another thread. */
static void *
releaser(void *arg)
{
    job_t *j = arg;
    usleep(20000);
    atomic_store(&j->release, 1);
    return NULL;
}

static void
on_init(void *ud)
{
    job_t *j = ud;
    atomic_fetch_add(&j->inits, 1);
}

static void
wait_idle(wt_slot_t *s)
{
    for (int i = 0; i < 10000 && wt_slot_busy(s); i++) /* bounded: 10 s */
        usleep(1000);
}

static void
test_jobs_reuse_thread(void)
{
    job_t j = {0};
    wt_err_t err = {0};
    wt_slot_t *s = wt_slot_new(256 * 1024, on_init, &j, &err);
    WT_CHECK(s != NULL);
    pthread_t first = 0;
    for (int i = 0; i < 100; i++) {
        WT_CHECK(wt_slot_run(s, count, &j, &err) == 0);
        wait_idle(s);
        if (i == 0)
            first = j.seen;
        WT_CHECK(pthread_equal(first, j.seen));
    }
    WT_CHECK(atomic_load(&j.runs) == 100 && atomic_load(&j.inits) == 1);
    wt_slot_destroy(&s);
    WT_CHECK(s == NULL);
}

static void
test_busy_and_destroy(void)
{
    job_t j = {0};
    wt_err_t err = {0};
    wt_slot_t *s = wt_slot_new(0, NULL, NULL, &err);
    WT_CHECK(s != NULL && wt_slot_run(s, block, &j, &err) == 0);
    WT_CHECK(wt_slot_busy(s) == 1);
    pthread_t t;
    WT_CHECK(pthread_create(&t, NULL, releaser, &j) == 0);
    WT_CHECK(wt_slot_run(s, count, &j, &err) == 0); /* waits for block() to return */
    WT_CHECK(atomic_load(&j.runs) >= 1);
    pthread_join(t, NULL);
    WT_CHECK(wt_slot_run(s, block, &j, &err) == 0); /* released already: returns at once */
    wt_slot_destroy(&s);                            /* waits for the running job */
    WT_CHECK(atomic_load(&j.runs) == 3 && s == NULL);
    /* a slot destroyed while idle, never used */
    s = wt_slot_new(0, NULL, NULL, &err);
    WT_CHECK(s != NULL);
    wt_slot_destroy(&s);
}

int
main(void)
{
    static const wt_test_case_t cases[] = {WT_TEST(test_jobs_reuse_thread),
                                           WT_TEST(test_busy_and_destroy)};
    return wt_test_run(cases, sizeof cases / sizeof cases[0]);
}
