/* Unit tests of wt_route: sessions go only to workers that offer their
 * workflow and labels, order holds across classes, a backlog nobody can
 * run is reported with its reason, and a changed offer takes effect. */
#include "wt_route.h"

#include "wt_alloc.h"
#include "wt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fake {
    wt_route_offer_t offer[4]; /* per worker */
    int credit[4];             /* per worker */
} fake_t;

static const wt_route_offer_t *
offer_of(void *ud, size_t i)
{
    return &((fake_t *)ud)->offer[i];
}

static int
credit_of(void *ud, size_t i)
{
    return ((fake_t *)ud)->credit[i];
}

/* Worker i offers the comma-separated workflows and labels. */
static void
set_offer(fake_t *f, size_t i, const char *workflows, const char *labels, int credit)
{
    wt_strlist_t w = {0}, l = {0};
    const char *src[2] = {workflows, labels};
    wt_strlist_t *dst[2] = {&w, &l};
    for (int k = 0; k < 2; k++)
        for (const char *p = src[k]; *p;) {
            size_t n = strcspn(p, ",");
            char item[64];
            snprintf(item, sizeof item, "%.*s", (int)n, p);
            wt_strlist_push(dst[k], item);
            p += n + (p[n] == ',');
        }
    wt_route_offer_set(&f->offer[i], &w, &l);
    f->credit[i] = credit;
    wt_strlist_clear(&w);
    wt_strlist_clear(&l);
}

static void
push(wt_route_t *r, const char *sid, const char *workflow, const char *require, int prio)
{
    wt_job_t *j = wt_job_new(sid);
    j->workflow = wt_xstrdup(workflow);
    j->require = require ? wt_xstrdup(require) : NULL;
    j->priority = prio;
    wt_route_push(r, &j);
    WT_CHECK(j == NULL);
}

static void
release(fake_t *f)
{
    for (int i = 0; i < 4; i++)
        wt_route_offer_release(&f->offer[i]);
}

static void
test_only_offering_workers_get_sessions(void)
{
    fake_t f = {0};
    set_offer(&f, 0, "a,b", "", 10);
    set_offer(&f, 1, "b", "", 10);
    wt_route_fleet_t fleet = {2, offer_of, credit_of, &f};
    wt_route_t *r = wt_route_new();
    for (int i = 0; i < 10; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "a%d", i);
        push(r, sid, "a", NULL, 0);
    }
    int on_w0 = 0;
    size_t w = 9;
    for (wt_job_t *j; (j = wt_route_pop(r, &fleet, &w)) != NULL;) {
        WT_CHECK(w == 0);
        on_w0 += w == 0;
        f.credit[w]--;
        wt_job_destroy(&j);
    }
    WT_CHECK(on_w0 == 10);
    WT_CHECK(wt_route_size(r) == 0);
    wt_route_destroy(&r);
    release(&f);
}

static void
test_labels_must_all_be_present(void)
{
    fake_t f = {0};
    set_offer(&f, 0, "a", "", 4);
    set_offer(&f, 1, "a", "gpu", 4);
    set_offer(&f, 2, "a", "gpu,ssd", 1);
    wt_route_fleet_t fleet = {3, offer_of, credit_of, &f};
    wt_route_t *r = wt_route_new();
    push(r, "g1", "a", "gpu", 0);
    push(r, "g2", "a", "gpu,ssd", 0);
    size_t w = 9;
    wt_job_t *j = wt_route_pop(r, &fleet, &w);
    WT_CHECK_STR(j ? j->sid : NULL, "g1");
    WT_CHECK(w == 1); /* most credit among those with gpu */
    wt_job_destroy(&j);
    j = wt_route_pop(r, &fleet, &w);
    WT_CHECK_STR(j ? j->sid : NULL, "g2");
    WT_CHECK(w == 2);
    wt_job_destroy(&j);
    wt_route_destroy(&r);
    release(&f);
}

static int reported;
static char last_reason[512];

static void
on_unroutable(const char *workflow, const char *require, size_t waiting, const char *reason,
              void *ud)
{
    (void)workflow, (void)require, (void)ud;
    reported += (int)waiting;
    snprintf(last_reason, sizeof last_reason, "%s", reason);
}

static void
test_backlog_nobody_runs_waits_and_is_reported(void)
{
    fake_t f = {0};
    set_offer(&f, 0, "a", "", 100);
    wt_route_fleet_t fleet = {1, offer_of, credit_of, &f};
    wt_route_t *r = wt_route_new();
    for (int i = 0; i < 1000; i++) {
        char sid[8];
        snprintf(sid, sizeof sid, "x%d", i);
        push(r, sid, "absent", NULL, 50); /* higher priority, still never given out */
    }
    push(r, "a0", "a", NULL, 0);
    size_t w = 9;
    wt_job_t *j = wt_route_pop(r, &fleet, &w);
    WT_CHECK_STR(j ? j->sid : NULL, "a0");
    wt_job_destroy(&j);
    WT_CHECK(wt_route_pop(r, &fleet, &w) == NULL);
    WT_CHECK(wt_route_size(r) == 1000);
    reported = 0;
    wt_route_unroutable(r, &fleet, on_unroutable, NULL);
    WT_CHECK(reported == 1000);
    WT_CHECK_STR(last_reason, "no live worker offers workflow 'absent'");

    /* A worker offering it joins: the backlog flows, highest priority first. */
    set_offer(&f, 1, "absent", "", 2);
    fleet.n = 2;
    wt_route_fleet_changed(r);
    j = wt_route_pop(r, &fleet, &w);
    WT_CHECK_STR(j ? j->sid : NULL, "x0");
    WT_CHECK(w == 1);
    wt_job_destroy(&j);
    wt_route_destroy(&r);
    release(&f);
}

static void
test_reason_names_missing_labels(void)
{
    fake_t f = {0};
    set_offer(&f, 0, "a", "", 1);
    wt_route_fleet_t fleet = {1, offer_of, credit_of, &f};
    wt_route_t *r = wt_route_new();
    push(r, "g", "a", "gpu", 0);
    size_t w;
    WT_CHECK(wt_route_pop(r, &fleet, &w) == NULL);
    wt_route_unroutable(r, &fleet, on_unroutable, NULL);
    WT_CHECK_STR(last_reason, "no live worker offering workflow 'a' has label gpu");
    wt_route_destroy(&r);
    release(&f);
}

static void
test_order_holds_across_classes(void)
{
    fake_t f = {0};
    set_offer(&f, 0, "a,b", "", 100);
    wt_route_fleet_t fleet = {1, offer_of, credit_of, &f};
    wt_route_t *r = wt_route_new();
    push(r, "s0", "a", NULL, 0);
    push(r, "s1", "b", NULL, 0);
    push(r, "s2", "a", NULL, 5);
    push(r, "s3", "b", NULL, 0);
    const char *want[] = {"s2", "s0", "s1", "s3"};
    size_t w;
    for (int i = 0; i < 4; i++) {
        wt_job_t *j = wt_route_pop(r, &fleet, &w);
        WT_CHECK_STR(j ? j->sid : NULL, want[i]);
        wt_job_destroy(&j);
    }
    wt_route_destroy(&r);
    release(&f);
}

static void
test_lost_workflow_is_not_given(void)
{
    fake_t f = {0};
    set_offer(&f, 0, "a", "", 4);
    wt_route_fleet_t fleet = {1, offer_of, credit_of, &f};
    wt_route_t *r = wt_route_new();
    push(r, "s0", "a", NULL, 0);
    size_t w;
    /* The worker came back with another directory: new READY, new offer. */
    set_offer(&f, 0, "b", "", 4);
    wt_route_fleet_changed(r);
    WT_CHECK(wt_route_pop(r, &fleet, &w) == NULL);
    wt_job_t *j = wt_route_remove(r, "s0");
    WT_CHECK_STR(j ? j->sid : NULL, "s0");
    wt_job_destroy(&j);
    WT_CHECK(wt_route_size(r) == 0);
    wt_route_destroy(&r);
    release(&f);
}

static void
test_labels_canon_and_known(void)
{
    wt_strlist_t l = {0};
    wt_strlist_push(&l, "ssd");
    wt_strlist_push(&l, "gpu");
    wt_strlist_push(&l, "ssd");
    char out[128];
    wt_err_t err = {0};
    WT_CHECK(wt_route_labels_canon(&l, out, sizeof out, &err) == 0);
    WT_CHECK_STR(out, "gpu,ssd");
    wt_strlist_push(&l, "bad,label");
    WT_CHECK(wt_route_labels_canon(&l, out, sizeof out, &err) == -1);
    WT_CHECK(strstr(err.msg, "bad,label") != NULL);
    wt_strlist_clear(&l);

    wt_route_t *r = wt_route_new();
    wt_route_known_add(r, "b");
    wt_route_known_add(r, "a");
    wt_route_known_add(r, "b");
    WT_CHECK(wt_route_known(r)->n == 2);
    WT_CHECK(wt_route_known_has(r, "a") && !wt_route_known_has(r, "c"));
    WT_CHECK_STR(wt_route_known(r)->items[0], "a");
    wt_route_destroy(&r);
}

static void
test_many_classes_come_and_go(void)
{
    fake_t f = {0};
    wt_strlist_t w = {0}, none = {0};
    char id[16];
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "wf%d", i);
        wt_strlist_push(&w, id);
    }
    wt_route_offer_set(&f.offer[0], &w, &none);
    f.credit[0] = 1000;
    wt_route_fleet_t fleet = {1, offer_of, credit_of, &f};
    wt_route_t *r = wt_route_new();
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++) {
            snprintf(id, sizeof id, "wf%d", i);
            push(r, id, id, NULL, i); /* sid = workflow id; higher i first */
        }
        WT_CHECK(wt_route_size(r) == 100);
        size_t wi;
        for (int i = 99; i >= 0; i--) {
            wt_job_t *j = wt_route_pop(r, &fleet, &wi);
            snprintf(id, sizeof id, "wf%d", i);
            WT_CHECK_STR(j ? j->sid : NULL, id);
            wt_job_destroy(&j);
        }
        WT_CHECK(wt_route_pop(r, &fleet, &wi) == NULL && wt_route_size(r) == 0);
    }
    wt_strlist_clear(&w);
    wt_route_destroy(&r);
    release(&f);
}

WT_TEST_MAIN(WT_TEST(test_many_classes_come_and_go),
             WT_TEST(test_only_offering_workers_get_sessions),
             WT_TEST(test_labels_must_all_be_present),
             WT_TEST(test_backlog_nobody_runs_waits_and_is_reported),
             WT_TEST(test_reason_names_missing_labels), WT_TEST(test_order_holds_across_classes),
             WT_TEST(test_lost_workflow_is_not_given), WT_TEST(test_labels_canon_and_known))
