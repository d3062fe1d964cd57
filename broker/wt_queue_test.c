/* Unit tests of wt_queue: priority first, FIFO among equals, removal. */
#include "wt_queue.h"

#include "wt_test.h"

#include <stdio.h>
#include <stdlib.h>

static wt_job_t *
job(const char *sid, int prio)
{
    wt_job_t *j = wt_job_new(sid);
    j->priority = prio;
    return j;
}

static void
test_priority_then_fifo(void)
{
    wt_queue_t *q = wt_queue_new();
    const int prios[] = {0, 5, 0, -3, 5, 0};
    char sid[8];
    for (int i = 0; i < 6; i++) {
        snprintf(sid, sizeof sid, "s%d", i);
        wt_job_t *j = job(sid, prios[i]);
        wt_queue_push(q, &j);
        WT_CHECK(j == NULL);
    }
    const char *want[] = {"s1", "s4", "s0", "s2", "s5", "s3"};
    for (int i = 0; i < 6; i++) {
        wt_job_t *j = wt_queue_pop(q);
        WT_CHECK_STR(j ? j->sid : NULL, want[i]);
        wt_job_destroy(&j);
    }
    WT_CHECK(wt_queue_pop(q) == NULL);
    wt_queue_destroy(&q);
    WT_CHECK(q == NULL);
}

static void
test_fifo_holds_at_scale(void)
{
    wt_queue_t *q = wt_queue_new();
    char sid[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(sid, sizeof sid, "%05d", i);
        wt_job_t *j = job(sid, i % 3 == 0 ? 1 : 0);
        wt_queue_push(q, &j);
    }
    int ok = 1, last_prio = 2, last_seq = -1;
    for (int i = 0; i < 5000; i++) {
        wt_job_t *j = wt_queue_pop(q);
        int n = (int)strtol(j->sid, NULL, 10);
        if (j->priority > last_prio || (j->priority == last_prio && n < last_seq))
            ok = 0;
        if (j->priority != last_prio)
            last_seq = -1;
        last_prio = j->priority;
        last_seq = n;
        wt_job_destroy(&j);
    }
    WT_CHECK(ok);
    wt_queue_destroy(&q);
}

static void
test_remove_keeps_order(void)
{
    wt_queue_t *q = wt_queue_new();
    char sid[8];
    for (int i = 0; i < 10; i++) {
        snprintf(sid, sizeof sid, "r%d", i);
        wt_job_t *j = job(sid, 0);
        wt_queue_push(q, &j);
    }
    wt_job_t *gone = wt_queue_remove(q, "r3");
    WT_CHECK(gone != NULL && strcmp(gone->sid, "r3") == 0);
    wt_job_destroy(&gone);
    WT_CHECK(wt_queue_remove(q, "nope") == NULL);
    WT_CHECK(wt_queue_size(q) == 9);
    const char *want[] = {"r0", "r1", "r2", "r4", "r5"};
    for (int i = 0; i < 5; i++) {
        wt_job_t *j = wt_queue_pop(q);
        WT_CHECK_STR(j->sid, want[i]);
        wt_job_destroy(&j);
    }
    wt_queue_destroy(&q);
}

WT_TEST_MAIN(WT_TEST(test_priority_then_fifo), WT_TEST(test_fifo_holds_at_scale),
             WT_TEST(test_remove_keeps_order))
