/* Unit tests of wt_slot: one thread runs many jobs in turn (the same
 * thread each time, no new thread per job), a job handed to a busy slot
 * runs after the current one returns, and destroy waits for the running
 * job before it joins; wt_slot_trim_stack gives back the stack pages a
 * deep call touched, and a deep call still works after it. */
#include "wt_slot.h"
#include "wt_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
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

/* Touches about depth KB of stack; returns a sum a caller can check. */
static unsigned __attribute__((noinline)) deep(int depth)
{
    volatile unsigned char pad[1024];
    for (size_t i = 0; i < sizeof pad; i++)
        pad[i] = (unsigned char)(depth + i);
    unsigned sum = depth > 0 ? deep(depth - 1) : 0;
    return sum + pad[depth % sizeof pad];
}

static unsigned
deep_expected(int depth)
{
    unsigned sum = 0;
    for (int d = 0; d <= depth; d++)
        sum += (unsigned char)(d + (size_t)d % 1024);
    return sum;
}

/* Resident pages of this thread's stack below the caller's frame. */
static size_t __attribute__((noinline)) resident_below(void)
{
    pthread_attr_t a;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return 0;
    pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    char here;
    uintptr_t lo = (uintptr_t)addr, top = ((uintptr_t)&here & ~(page - 1)) - 2 * page;
    size_t n = (top - lo) / page, res = 0;
    unsigned char *vec = malloc(n);
    if (vec == NULL || mincore((void *)lo, top - lo, vec) != 0) {
        free(vec);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        res += vec[i] & 1;
    free(vec);
    return res;
}

typedef struct trim {
    size_t before, after; /* resident stack pages below the frame */
    int deep_ok;          /* a deep call after the trim returned the right sum */
} trim_t;

static void
trim_job(void *arg)
{
    trim_t *t = arg;
    t->deep_ok = deep(96) == deep_expected(96);
    t->before = resident_below();
    wt_slot_trim_stack();
    t->after = resident_below();
    t->deep_ok = t->deep_ok && deep(96) == deep_expected(96);
}

static void
test_trim_stack(void)
{
    trim_t t = {0};
    wt_err_t err = {0};
    wt_slot_t *s = wt_slot_new(256 * 1024, NULL, NULL, &err);
    WT_CHECK(s != NULL && wt_slot_run(s, trim_job, &t, &err) == 0);
    wait_idle(s);
    WT_CHECK(t.before >= 16); /* the deep call left ~96 KB (24 pages) resident */
    WT_CHECK(t.after <= 2);   /* given back */
    WT_CHECK(t.deep_ok);
    /* and again, on the same thread (pages come back zeroed, then go) */
    WT_CHECK(wt_slot_run(s, trim_job, &t, &err) == 0);
    wait_idle(s);
    WT_CHECK(t.before >= 16 && t.after <= 2 && t.deep_ok);
    wt_slot_destroy(&s);
    /* off a slot thread it does nothing, and nothing breaks */
    wt_slot_trim_stack();
    WT_CHECK(deep(8) == deep_expected(8));
}

int
main(void)
{
    static const wt_test_case_t cases[] = {
        WT_TEST(test_jobs_reuse_thread), WT_TEST(test_busy_and_destroy), WT_TEST(test_trim_stack)};
    return wt_test_run(cases, sizeof cases / sizeof cases[0]);
}
