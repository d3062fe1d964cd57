/* Unit tests of retention against a real redis-server on a free loopback
 * port: an ended session enters <p>expiry at end + retain_ms (queued and
 * running ones never do); the sweep deletes a due session's keys and every
 * index entry naming it (sessions, run, parent's children, idempotency
 * key, inbox), leaves a tombstone that wt_store_result reports as
 * "expired", is idempotent, never deletes a live session, keeps at most
 * tombstones_max tombstones and prunes silent workers from <p>workers. The
 * <p>queued index holds requeued sessions only: it follows requeue, assign
 * and dead-lettering.
 * Due times are forced by rewriting <p>expiry scores, not by sleeping. */
#include "wt_clock.h"
#include "wt_retain.h"
#include "wt_store.h"
#include "wt_test.h"
#include "wt_test_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wt_test_redis_t srv;
static wt_redis_t *redis;

static long long
int_of(const char *fmt, const char *a, const char *b)
{
    redisReply *rep = wt_redis_command(redis, NULL, fmt, a, b);
    long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return n;
}

/* ZSCORE as a number, -1 when absent. */
static double
score_of(const char *key, const char *member)
{
    redisReply *rep = wt_redis_command(redis, NULL, "ZSCORE %s %s", key, member);
    double v = rep && rep->type == REDIS_REPLY_STRING ? strtod(rep->str, NULL) : -1;
    if (rep)
        freeReplyObject(rep);
    return v;
}

static void
run(const char *fmt, const char *a, const char *b)
{
    redisReply *rep = wt_redis_command(redis, NULL, fmt, a, b);
    if (rep)
        freeReplyObject(rep);
}

static void
intake(wt_store_t *st, const char *sid, const char *parent, const char *run_id, const char *key,
       int64_t retain_ms)
{
    wt_store_spawn_t sp = {.sid = sid,
                           .workflow = "two-step",
                           .goal = "g",
                           .parent = parent,
                           .idem_key = key,
                           .run = run_id,
                           .phase = run_id ? "p" : NULL,
                           .retain_ms = retain_ms,
                           .created_ms = wt_clock_now_ms()};
    wt_err_t err = {0};
    char got[64];
    int existing = 0;
    WT_CHECK(wt_store_intake_append(st, &sp, &err) == 0);
    WT_CHECK(wt_store_intake_reply(st, got, sizeof got, &existing, NULL, &err) == 0);
    WT_CHECK(strcmp(got, sid) == 0 && existing == 0);
}

static void
end(wt_store_t *st, const char *sid, const char *outcome)
{
    const char *fields[] = {"status", strcmp(outcome, "success") ? "failed" : "completed",
                            "outcome", outcome};
    wt_err_t err = {0};
    char data[128];
    snprintf(data, sizeof data, "{\"outcome\":\"%s\",\"detail\":\"d\"}", outcome);
    WT_CHECK(wt_store_append(st, sid, -1, 0, "session_completed", data, 1, 4, fields, &err) == 0);
}

static void
test_ended_session_is_swept_with_its_indexes(void)
{
    wt_store_t st;
    wt_store_init(&st, redis, "wt:");
    WT_CHECK(wt_store_load_scripts(&st, NULL) == 0);
    wt_retain_t rt;
    wt_retain_init(&rt, &st, 0);
    run("HSET wt:run:run1 status %s pipeline %s", "succeeded", "p");
    run("ZADD wt:runs 1 %s", "run1", NULL);
    intake(&st, "PARENT", "", NULL, "", 5000);
    intake(&st, "CHILD", "PARENT", "run1", "k1", 5000);
    WT_CHECK(score_of("wt:queue", "CHILD") > 0 && score_of("wt:queued", "CHILD") < 0);
    end(&st, "CHILD", "error");
    double due = score_of("wt:expiry", "CHILD"), now = (double)wt_clock_now_ms();
    WT_CHECK(due > now + 3000 && due < now + 7000);
    WT_CHECK(score_of("wt:queued", "CHILD") < 0 && score_of("wt:queue", "CHILD") < 0);
    WT_CHECK(score_of("wt:expiry", "PARENT") < 0); /* queued: no expiry */
    WT_CHECK(int_of("XLEN wt:inbox", NULL, NULL) == 1);
    int expired = -1;
    WT_CHECK(wt_retain_sweep(&rt, 100, &expired, NULL) == 0 && expired == 0); /* not due yet */
    WT_CHECK(int_of("EXISTS wt:session:CHILD", NULL, NULL) == 1);
    run("HSET wt:delivery:CHILD state %s diff %s", "done", "a bounded diff");
    run("ZADD wt:expiry 1 %s", "CHILD", NULL); /* due now */
    WT_CHECK(wt_retain_sweep(&rt, 100, &expired, NULL) == 1 && expired == 1);
    WT_CHECK(int_of("EXISTS wt:session:CHILD wt:session:CHILD:events", NULL, NULL) == 0);
    WT_CHECK(int_of("EXISTS wt:delivery:CHILD", NULL, NULL) == 0); /* its delivery record too */
    WT_CHECK(score_of("wt:sessions", "CHILD") < 0 && score_of("wt:sessions", "PARENT") > 0);
    WT_CHECK(int_of("EXISTS wt:run:run1:sessions", NULL, NULL) == 0);
    WT_CHECK(int_of("EXISTS wt:run:run1", NULL, NULL) == 0); /* ended run, last session */
    WT_CHECK(score_of("wt:runs", "run1") < 0);
    WT_CHECK(score_of("wt:session:PARENT:children", "CHILD") < 0);
    WT_CHECK(int_of("EXISTS wt:idem:k1", NULL, NULL) == 0);
    WT_CHECK(int_of("XLEN wt:inbox", NULL, NULL) == 0);
    WT_CHECK(int_of("ZCARD wt:expiry", NULL, NULL) == 0);
    int64_t when = 0;
    WT_CHECK(wt_store_expired(&st, "CHILD", &when, NULL) == 1 && when > 0);
    WT_CHECK(wt_store_expired(&st, "PARENT", NULL, NULL) == 0);
    json_t *res = wt_store_result(&st, "CHILD", NULL);
    WT_CHECK(res && strcmp(json_string_value(json_object_get(res, "status")), "expired") == 0 &&
             strcmp(json_string_value(json_object_get(res, "outcome")), "expired") == 0);
    json_decref(res);
    wt_err_t err = {0};
    WT_CHECK(wt_store_result(&st, "NEVER", &err) == NULL && err.code == WT_ENOTFOUND);
    /* a run still running keeps its record when its sessions expire */
    run("HSET wt:run:run2 status %s pipeline %s", "running", "p");
    intake(&st, "LONER", "", "run2", "", 5000);
    end(&st, "LONER", "success");
    run("ZADD wt:expiry 1 %s", "LONER", NULL);
    WT_CHECK(wt_retain_sweep(&rt, 100, &expired, NULL) == 1 && expired == 1);
    WT_CHECK(int_of("EXISTS wt:run:run2", NULL, NULL) == 1);
    /* idempotent: nothing left to do */
    WT_CHECK(wt_retain_sweep(&rt, 100, &expired, NULL) == 0 && expired == 0);
}

static void
test_live_sessions_never_expire(void)
{
    wt_store_t st;
    wt_store_init(&st, redis, "live:");
    wt_retain_t rt;
    wt_retain_init(&rt, &st, 0);
    intake(&st, "Q", "", NULL, "", 1000);
    intake(&st, "R", "", NULL, "", 1000);
    wt_err_t err = {0};
    int64_t epoch = 0;
    int attempt = 0;
    WT_CHECK(wt_store_assign_append(&st, "R", "w1", wt_clock_now_ms(), 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&st, &epoch, &attempt, &err) == 0 && epoch == 1);
    WT_CHECK(score_of("live:queue", "R") < 0 && score_of("live:queue", "Q") > 0);
    WT_CHECK(int_of("EXISTS live:queued", NULL, NULL) == 0); /* intake and assign: no entry */
    WT_CHECK(int_of("ZCARD live:expiry", NULL, NULL) <= 0);
    /* even if an index said they were due, the sweep checks the status */
    run("ZADD live:expiry 1 %s 1 R", "Q", NULL);
    int expired = -1;
    WT_CHECK(wt_retain_sweep(&rt, 100, &expired, NULL) == 2 && expired == 0);
    WT_CHECK(int_of("EXISTS live:session:Q live:session:R", NULL, NULL) == 2);
    WT_CHECK(score_of("live:sessions", "Q") > 0 && score_of("live:sessions", "R") > 0);
    WT_CHECK(wt_store_expired(&st, "Q", NULL, NULL) == 0);
    /* a requeue puts R back in the queued index at the time of the requeue */
    int64_t before = wt_clock_now_ms();
    WT_CHECK(wt_store_requeue(&st, "R", 0, 1, WT_REQUEUE_CHARGE, &err) == 1);
    WT_CHECK(score_of("live:queued", "R") >= (double)before);
    /* dead-lettering ends it: out of the queue indexes, into expiry */
    WT_CHECK(wt_store_assign_append(&st, "R", "w1", wt_clock_now_ms(), 1, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&st, &epoch, &attempt, &err) == -1 && err.code == WT_ENOTFOUND);
    WT_CHECK(score_of("live:queued", "R") < 0 && score_of("live:queue", "R") < 0 &&
             score_of("live:expiry", "R") > 0);
}

static void
test_tombstones_bounded_and_workers_pruned(void)
{
    wt_store_t st;
    wt_store_init(&st, redis, "cap:");
    wt_retain_t rt;
    wt_retain_init(&rt, &st, 3);
    const char *ids[] = {"S1", "S2", "S3", "S4", "S5"};
    for (int i = 0; i < 5; i++) {
        intake(&st, ids[i], "", NULL, "", 1000);
        end(&st, ids[i], "success");
        run("ZADD cap:expiry 1 %s", ids[i], NULL);
    }
    run("ZADD cap:workers 1 %s", "gone", NULL);
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)wt_clock_now_ms());
    run("ZADD cap:workers %s %s", now, "alive");
    int expired = 0;
    WT_CHECK(wt_retain_sweep(&rt, 2, &expired, NULL) == 2 && expired == 2); /* bounded batch */
    WT_CHECK(wt_retain_sweep(&rt, 100, &expired, NULL) == 3 && expired == 3);
    WT_CHECK(int_of("ZCARD cap:expired", NULL, NULL) == 3);
    /* a damaged record (wrong-type index, bad inbox ids) is still swept */
    intake(&st, "BAD", "", NULL, "", 1000);
    end(&st, "BAD", "error");
    run("HSET cap:session:BAD parent P inbox_ids %s", "not-an-id 0-x", NULL);
    run("SET cap:session:P:children %s", "a string", NULL);
    run("ZADD cap:expiry 1 %s", "BAD", NULL);
    WT_CHECK(wt_retain_sweep(&rt, 100, &expired, NULL) == 1 && expired == 1);
    WT_CHECK(int_of("EXISTS cap:session:BAD", NULL, NULL) == 0);
    WT_CHECK(int_of("ZCARD cap:sessions", NULL, NULL) == 0);
    WT_CHECK(score_of("cap:workers", "gone") < 0 && score_of("cap:workers", "alive") > 0);
}

/* Sessions written before retention existed (no expiry entry) are adopted
 * in bounded, resumable steps; the pass then stays done. */
static void
test_adopt_old_sessions(void)
{
    wt_store_t st;
    wt_store_init(&st, redis, "old:");
    wt_retain_t rt;
    wt_retain_init(&rt, &st, 0);
    char id[32];
    for (int i = 0; i < 5; i++) { /* same created_ms for all: ties are ordered by id */
        snprintf(id, sizeof id, "E%d", i);
        run("HSET old:session:%s status completed ended_ms 1000 created_ms %s", id, "500");
        run("ZADD old:sessions 500 %s", id, NULL);
    }
    run("HSET old:session:%s status queued created_ms %s", "OQ", "700");
    run("ZADD old:sessions 700 %s", "OQ", NULL);
    run("HSET old:session:%s status completed ended_ms 2000 retain_ms %s", "KEPT", "60000");
    run("ZADD old:sessions 800 %s", "KEPT", NULL);
    int rounds = 0, rc = 0;
    while ((rc = wt_retain_adopt(&rt, 2, 86400000, NULL)) == 0 && rounds < 20)
        rounds++;
    WT_CHECK(rc == 1 && rounds >= 3 && rounds < 20); /* 7 sessions, 2 at a time */
    WT_CHECK(int_of("ZCARD old:expiry", NULL, NULL) == 6);
    WT_CHECK(score_of("old:expiry", "E3") == 1000 + 86400000.0);
    WT_CHECK(score_of("old:expiry", "KEPT") == 62000);
    WT_CHECK(score_of("old:queued", "OQ") < 0 && score_of("old:expiry", "OQ") < 0);
    WT_CHECK(int_of("EXISTS old:retention:adopted", NULL, NULL) == 1);
    wt_retain_t again;
    wt_retain_init(&again, &st, 0);
    run("ZADD old:expiry 5 %s", "E0", NULL); /* a later pass would not touch it anyway */
    WT_CHECK(wt_retain_adopt(&again, 2, 1, NULL) == 1 && score_of("old:expiry", "E0") == 5);
}

static void
test_parse(void)
{
    int64_t ms = 0;
    wt_err_t err = {0};
    WT_CHECK(wt_retain_parse("--retain", "7d", &ms, &err) == 0 && ms == 604800000);
    WT_CHECK(wt_retain_parse("--retain", "2s", &ms, &err) == 0 && ms == 2000);
    WT_CHECK(wt_retain_parse("--retain", "10ms", &ms, &err) == -1 && err.code == WT_EINVAL);
    WT_CHECK(strstr(err.msg, "--retain") != NULL);
    WT_CHECK(wt_retain_parse("--retain", "soon", &ms, &err) == -1);
    WT_CHECK(wt_retain_parse("--retain", "4000d", &ms, &err) == -1);
}

int
main(void)
{
    redis = wt_test_redis_start(&srv, 1000);
    if (redis == NULL) {
        fprintf(stderr, "cannot start redis-server\n");
        return 1;
    }
    static const wt_test_case_t cases[] = {WT_TEST(test_ended_session_is_swept_with_its_indexes),
                                           WT_TEST(test_live_sessions_never_expire),
                                           WT_TEST(test_tombstones_bounded_and_workers_pruned),
                                           WT_TEST(test_adopt_old_sessions), WT_TEST(test_parse)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    wt_redis_destroy(&redis);
    wt_test_redis_stop(&srv);
    return rc;
}
