/* Unit tests of the store's inbox and tell scripts against a real
 * redis-server on a free loopback port: a completion or a reported issue
 * adds exactly one inbox entry with the event (not on a duplicate retry,
 * not on a refused write); other writers add entries with
 * wt_store_inbox_add; tell accepts messages only for live sessions; a take
 * moves waiting messages into message_received events, fenced and
 * idempotent; a dead-lettered session gets its completion entry too; a run
 * lost with its worker is charged only when the session was in a tool, and
 * a reattach undoes the requeue's accounting. */
#include "wt_clock.h"
#include "wt_store.h"
#include "wt_test.h"
#include "wt_test_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static wt_test_redis_t srv; /* the real redis-server (tests/wt_test_redis.h) */

static wt_redis_t *
start_redis(void)
{
    return wt_test_redis_start(&srv, 1000);
}

static void
stop_redis(void)
{
    wt_test_redis_stop(&srv);
}

static wt_redis_t *redis;

static void
cmd(const char *fmt, const char *a, const char *b)
{
    redisReply *rep = wt_redis_command(redis, NULL, fmt, a, b);
    if (rep)
        freeReplyObject(rep);
}

static long long
int_of(const char *fmt, const char *a)
{
    redisReply *rep = wt_redis_command(redis, NULL, fmt, a);
    long long n = rep && rep->type == REDIS_REPLY_INTEGER  ? rep->integer
                  : rep && rep->type == REDIS_REPLY_STRING ? atoll(rep->str)
                                                           : -1;
    if (rep)
        freeReplyObject(rep);
    return n;
}

/* Value of field name in the newest inbox entry, copied to out. */
static const char *
newest(const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    redisReply *rep = wt_redis_command(redis, NULL, "XREVRANGE wt:inbox + - COUNT 1");
    if (rep && rep->elements == 1) {
        redisReply *f = rep->element[0]->element[1];
        for (size_t i = 0; i + 1 < f->elements; i += 2)
            if (strcmp(f->element[i]->str, name) == 0)
                snprintf(out, cap, "%s", f->element[i + 1]->str);
    }
    if (rep)
        freeReplyObject(rep);
    return out;
}

static void
test_inbox_from_events(void)
{
    wt_store_t store;
    wt_store_init(&store, redis, "wt:");
    wt_err_t err = {0};
    char v[512];
    cmd("HSET wt:session:%s status running epoch 1 workflow %s", "A1", "coding-task");
    /* an ordinary event adds nothing */
    WT_CHECK(wt_store_append(&store, "A1", 1, 1, "llm_turn_started", "{}", 0, 0, NULL, &err) == 0);
    WT_CHECK(int_of("XLEN wt:inbox%s", "") == 0);
    /* a reported issue: one entry, summary cut on a UTF-8 boundary */
    char summary[400];
    memset(summary, 'x', 199);
    snprintf(summary + 199, sizeof summary - 199, "\xc3\xa9 and more text after the cut");
    char data[600];
    snprintf(data, sizeof data, "{\"kind\":\"bug\",\"severity\":\"high\",\"summary\":\"%s\"}",
             summary);
    WT_CHECK(wt_store_append(&store, "A1", 1, 2, "issue_reported", data, 1, 0, NULL, &err) == 0);
    WT_CHECK(int_of("XLEN wt:inbox%s", "") == 1);
    WT_CHECK_STR(newest("kind", v, sizeof v), "issue");
    WT_CHECK_STR(newest("severity", v, sizeof v), "high");
    WT_CHECK_STR(newest("issue_kind", v, sizeof v), "bug");
    WT_CHECK_STR(newest("session", v, sizeof v), "A1");
    WT_CHECK_STR(newest("workflow", v, sizeof v), "coding-task");
    newest("summary", v, sizeof v);
    WT_CHECK(strlen(v) == 199 + 3 && strcmp(v + 199, "...") == 0); /* é not split */
    WT_CHECK(strtoll(newest("ts_ms", v, sizeof v), NULL, 10) > 1700000000000LL);
    /* a retry of the same append (reply lost) adds no second entry */
    WT_CHECK(wt_store_append(&store, "A1", 1, 2, "issue_reported", data, 1, 0, NULL, &err) == 0);
    WT_CHECK(int_of("XLEN wt:inbox%s", "") == 1);
    /* a stale writer's completion is refused and adds nothing */
    const char *done =
        "{\"outcome\":\"success\",\"output\":{\"notes\":\"all green\"},\"detail\":\"\"}";
    WT_CHECK(wt_store_append(&store, "A1", 0, 9, "session_completed", done, 1, 0, NULL, &err) ==
             -1);
    WT_CHECK(err.code == WT_ESTALE);
    WT_CHECK(int_of("XLEN wt:inbox%s", "") == 1);
    /* the completion: kind, outcome, notes as the summary when detail is empty */
    const char *f[] = {"status", "completed"};
    WT_CHECK(wt_store_append(&store, "A1", 1, 3, "session_completed", done, 1, 2, f, &err) == 0);
    WT_CHECK(int_of("XLEN wt:inbox%s", "") == 2);
    WT_CHECK_STR(newest("kind", v, sizeof v), "completion");
    WT_CHECK_STR(newest("outcome", v, sizeof v), "success");
    WT_CHECK_STR(newest("summary", v, sizeof v), "all green");
    WT_CHECK(wt_store_append(&store, "A1", 1, 3, "session_completed", done, 1, 2, f, &err) == 0);
    WT_CHECK(int_of("XLEN wt:inbox%s", "") == 2); /* DUP */
    /* the run field travels when the session has one */
    cmd("HSET wt:session:%s status running epoch 1 workflow w run %s", "A2", "R-7");
    WT_CHECK(wt_store_append(&store, "A2", 1, 0, "session_completed",
                             "{\"outcome\":\"error\",\"detail\":\"boom\"}", 1, 0, NULL, &err) == 0);
    WT_CHECK_STR(newest("run", v, sizeof v), "R-7");
    WT_CHECK_STR(newest("summary", v, sizeof v), "boom");
    /* data that is not JSON still gets an entry, with empty fields */
    cmd("HSET wt:session:%s status running epoch %s", "A3", "1");
    WT_CHECK(wt_store_append(&store, "A3", 1, 0, "issue_reported", "not json", 0, 0, NULL, &err) ==
             0);
    WT_CHECK_STR(newest("session", v, sizeof v), "A3");
    WT_CHECK_STR(newest("severity", v, sizeof v), "");
}

static void
test_inbox_add(void)
{
    wt_store_t store;
    wt_store_init(&store, redis, "wt:");
    wt_err_t err = {0};
    char v[128];
    const char *f[] = {"session", "S9", "summary", "review blocked", "run", "R1"};
    WT_CHECK(wt_store_inbox_add(&store, "escalation", 6, f, &err) == 0);
    WT_CHECK_STR(newest("kind", v, sizeof v), "escalation");
    WT_CHECK_STR(newest("summary", v, sizeof v), "review blocked");
    WT_CHECK(strtoll(newest("ts_ms", v, sizeof v), NULL, 10) > 1700000000000LL);
    const char *ts[] = {"ts_ms", "42"};
    WT_CHECK(wt_store_inbox_add(&store, "pipeline", 2, ts, &err) == 0);
    WT_CHECK_STR(newest("ts_ms", v, sizeof v), "42");
    WT_CHECK(wt_store_inbox_add(&store, "Bad Kind", 0, NULL, &err) == -1 && err.code == WT_EINVAL);
    WT_CHECK(wt_store_inbox_add(&store, "", 0, NULL, &err) == -1 && err.code == WT_EINVAL);
    WT_CHECK(wt_store_inbox_add(&store, "pipeline", 1, f, &err) == -1 && err.code == WT_EINVAL);
    const char *k[] = {"kind", "x"};
    WT_CHECK(wt_store_inbox_add(&store, "pipeline", 2, k, &err) == -1 && err.code == WT_EINVAL);
}

static void
test_tell_and_take(void)
{
    wt_store_t store;
    wt_store_init(&store, redis, "wt:");
    WT_CHECK(wt_store_load_scripts(&store, NULL) == 0);
    wt_err_t err = {0};
    WT_CHECK(wt_store_tell(&store, "NOPE", "hi", &err) == -1 && err.code == WT_ENOTFOUND);
    WT_CHECK(strstr(err.msg, "no session NOPE") != NULL);
    cmd("HSET wt:session:%s status running epoch %s", "T1", "4");
    WT_CHECK(wt_store_tell(&store, "T1", "", &err) == -1 && err.code == WT_ELIMIT);
    WT_CHECK(wt_store_tell(&store, "T1", "bad \xff byte", &err) == -1 && err.code == WT_EINVAL);
    char *big = calloc(1, WT_STORE_TELL_MAX_BYTES + 2);
    memset(big, 'b', WT_STORE_TELL_MAX_BYTES + 1);
    WT_CHECK(wt_store_tell(&store, "T1", big, &err) == -1 && err.code == WT_ELIMIT);
    big[WT_STORE_TELL_MAX_BYTES] = '\0';
    WT_CHECK(wt_store_tell(&store, "T1", big, &err) == 0); /* exactly the cap is fine */
    free(big);
    WT_CHECK(wt_store_tell(&store, "T1", "use \"python\" please", &err) == 0);
    /* the append reports the waiting messages */
    int64_t waiting = -1;
    WT_CHECK(wt_store_append_tells(&store, "T1", 4, 1, "llm_turn_completed", "{}", 0, 0, NULL,
                                   &waiting, &err) == 0);
    WT_CHECK(waiting == 2);
    /* the hash keeps the list's length (read with the fence, no LLEN) */
    WT_CHECK(int_of("HGET wt:session:%s tell_waiting", "T1") == 2);
    /* a stale take is refused and takes nothing */
    int64_t left = -1;
    WT_CHECK(wt_store_tell_take(&store, "T1", 3, 1, &left, &err) == NULL && err.code == WT_ESTALE);
    WT_CHECK(int_of("LLEN wt:session:%s:tell", "T1") == 2);
    json_t *m = wt_store_tell_take(&store, "T1", 4, 1, &left, &err);
    WT_CHECK(json_array_size(m) == 2 && left == 0);
    WT_CHECK(strlen(json_string_value(json_array_get(m, 0))) == WT_STORE_TELL_MAX_BYTES);
    WT_CHECK_STR(json_string_value(json_array_get(m, 1)), "use \"python\" please");
    json_decref(m);
    WT_CHECK(int_of("LLEN wt:session:%s:tell", "T1") == 0);
    WT_CHECK(int_of("HGET wt:session:%s tell_waiting", "T1") == 0);
    /* recorded as message_received events, in order */
    redisReply *rep = wt_redis_command(redis, NULL, "XREVRANGE wt:session:T1:events + - COUNT 1");
    WT_CHECK(rep && rep->elements == 1);
    if (rep && rep->elements == 1) {
        redisReply *f = rep->element[0]->element[1];
        WT_CHECK_STR(f->element[1]->str, "message_received");
        json_t *d = json_loads(f->element[3]->str, 0, NULL);
        WT_CHECK_STR(json_string_value(json_object_get(d, "message")), "use \"python\" please");
        WT_CHECK_STR(json_string_value(json_object_get(d, "from")), "tell");
        WT_CHECK_STR(f->element[5]->str, "4"); /* the lease epoch */
        json_decref(d);
    }
    if (rep)
        freeReplyObject(rep);
    WT_CHECK(int_of("XLEN wt:session:%s:events", "T1") == 3);
    /* the same take again (its reply was lost) returns the same messages */
    m = wt_store_tell_take(&store, "T1", 4, 1, &left, &err);
    WT_CHECK(json_array_size(m) == 2);
    json_decref(m);
    WT_CHECK(int_of("XLEN wt:session:%s:events", "T1") == 3);
    /* the next take finds nothing */
    m = wt_store_tell_take(&store, "T1", 4, 2, &left, &err);
    WT_CHECK(m != NULL && json_array_size(m) == 0 && left == 0);
    json_decref(m);
    /* a completion drops what still waits, and tell refuses an ended session */
    WT_CHECK(wt_store_tell(&store, "T1", "too late", &err) == 0);
    const char *f[] = {"status", "completed"};
    WT_CHECK(wt_store_append(&store, "T1", 4, 2, "session_completed", "{\"outcome\":\"success\"}",
                             1, 2, f, &err) == 0);
    WT_CHECK(int_of("EXISTS wt:session:%s:tell", "T1") == 0);
    WT_CHECK(wt_store_tell(&store, "T1", "hello", &err) == -1 && err.code == WT_ESTALE);
    WT_CHECK(strstr(err.msg, "already ended (completed)") != NULL);
    WT_CHECK(wt_store_tell_take(&store, "T1", 4, 3, &left, &err) == NULL && err.code == WT_ESTALE);
    WT_CHECK(int_of("HGET wt:session:%s tell_waiting", "T1") == 0);
    /* a session stored without tell_waiting (an older intake): the list's
     * own length counts */
    cmd("HSET wt:session:%s status running epoch %s", "T4", "1");
    cmd("RPUSH wt:session:%s:tell %s", "T4", "from before");
    waiting = -1;
    WT_CHECK(wt_store_append_tells(&store, "T4", 1, 1, "llm_turn_started", "{}", 0, 0, NULL,
                                   &waiting, &err) == 0 &&
             waiting == 1);
    /* at most WT_STORE_TELL_MAX_WAITING wait */
    cmd("HSET wt:session:%s status queued epoch %s", "T2", "0");
    for (int i = 0; i < WT_STORE_TELL_MAX_WAITING; i++)
        WT_CHECK(wt_store_tell(&store, "T2", "m", &err) == 0);
    WT_CHECK(wt_store_tell(&store, "T2", "m", &err) == -1 && err.code == WT_ELIMIT);
    m = wt_store_tell_take(&store, "T2", 0, 1, &left, &err);
    WT_CHECK(json_array_size(m) == WT_STORE_TELL_TAKE_MAX &&
             left == WT_STORE_TELL_MAX_WAITING - WT_STORE_TELL_TAKE_MAX);
    json_decref(m);
    /* tell with an event: the message waits, and the event is on the
     * session's own stream (with its epoch) and on the fleet stream */
    cmd("HSET wt:session:%s status running epoch %s", "T3", "7");
    long long fleet0 = int_of("XLEN wt:events%s", "");
    WT_CHECK(wt_store_tell_event(&store, "T3", "resolved", "alert_resolved",
                                 "{\"incident\":\"k1\"}", &err) == 0);
    WT_CHECK(int_of("LLEN wt:session:%s:tell", "T3") == 1);
    WT_CHECK(int_of("XLEN wt:session:%s:events", "T3") == 1);
    WT_CHECK(int_of("XLEN wt:events%s", "") == fleet0 + 1);
    rep = wt_redis_command(redis, NULL, "XRANGE wt:session:T3:events - +");
    WT_CHECK(rep && rep->elements == 1);
    if (rep && rep->elements == 1) {
        redisReply *f3 = rep->element[0]->element[1];
        WT_CHECK_STR(f3->element[1]->str, "alert_resolved");
        WT_CHECK_STR(f3->element[3]->str, "{\"incident\":\"k1\"}");
        WT_CHECK_STR(f3->element[5]->str, "7");
    }
    if (rep)
        freeReplyObject(rep);
    /* an ended session gets neither the message nor the event */
    WT_CHECK(wt_store_tell_event(&store, "T1", "resolved", "alert_resolved", "{}", &err) == -1 &&
             err.code == WT_ESTALE);
    WT_CHECK(int_of("XLEN wt:events%s", "") == fleet0 + 1);
}

static void
test_deadletter_completion(void)
{
    wt_store_t store;
    wt_store_init(&store, redis, "wt:");
    WT_CHECK(wt_store_load_scripts(&store, NULL) == 0);
    wt_err_t err = {0};
    char v[256];
    cmd("HSET wt:session:%s status queued epoch 3 attempt 3 workflow %s", "D1", "poison");
    cmd("RPUSH wt:session:%s:tell %s", "D1", "never read");
    WT_CHECK(wt_store_assign_append(&store, "D1", "w1", 1000, 3, &err) == 0);
    int64_t epoch = 0;
    int attempt = 0;
    WT_CHECK(wt_store_assign_reply(&store, &epoch, &attempt, &err) == -1 &&
             err.code == WT_ENOTFOUND);
    WT_CHECK_STR(newest("kind", v, sizeof v), "completion");
    WT_CHECK_STR(newest("session", v, sizeof v), "D1");
    WT_CHECK_STR(newest("outcome", v, sizeof v), "error");
    WT_CHECK(strstr(newest("summary", v, sizeof v), "gave up after 3 attempts") != NULL);
    WT_CHECK(int_of("EXISTS wt:session:%s:tell", "D1") == 0);
}

static const char *
field(const char *sid, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    redisReply *rep = wt_redis_command(redis, NULL, "HGET wt:session:%s %s", sid, name);
    if (rep && rep->type == REDIS_REPLY_STRING)
        snprintf(out, cap, "%s", rep->str);
    if (rep)
        freeReplyObject(rep);
    return out;
}

/* Assigns sid (a fresh lease) and checks the reply; returns the attempt. */
static int
assign(wt_store_t *store, const char *sid)
{
    wt_err_t err = {0};
    int64_t epoch = 0;
    int attempt = 0;
    WT_CHECK(wt_store_assign_append(store, sid, "w1", 1000, 3, &err) == 0);
    if (wt_store_assign_reply(store, &epoch, &attempt, &err) != 0)
        return -1;
    return attempt;
}

/* A run lost with its worker counts against max attempts only when the
 * session was in a tool; a reattach undoes a requeue's accounting. */
static void
test_lost_accounting(void)
{
    wt_store_t store;
    wt_store_init(&store, redis, "wt:");
    WT_CHECK(wt_store_load_scripts(&store, NULL) == 0);
    wt_err_t err = {0};
    char v[64];
    cmd("HSET wt:session:%s status queued epoch 0 attempt 0 workflow %s", "L1", "w");
    cmd("HSET wt:session:%s status queued epoch 0 attempt 0 workflow %s", "P1", "w");
    for (int crash = 0; crash < 3; crash++) {
        WT_CHECK(assign(&store, "L1") == crash + 1);
        WT_CHECK(assign(&store, "P1") == crash + 1);
        cmd("HSET wt:session:%s status running started_ms %s", "L1", "5");
        cmd("HSET wt:session:%s status running in_tool %s", "P1", "Bash");
        WT_CHECK(wt_store_requeue(&store, "L1", 0, 1, WT_REQUEUE_LOST, &err) == 2);
        WT_CHECK(wt_store_requeue(&store, "P1", 0, 1, WT_REQUEUE_LOST, &err) == 1);
    }
    /* the poison used its 3 attempts; the neighbour was spared 3 times */
    WT_CHECK(assign(&store, "P1") == -1);
    WT_CHECK_STR(field("P1", "status", v, sizeof v), "failed");
    WT_CHECK_STR(field("L1", "spared", v, sizeof v), "3");
    WT_CHECK(assign(&store, "L1") == 4);
    WT_CHECK_STR(field("L1", "in_tool", v, sizeof v), "");
    /* lost again, then its worker reports it still runs it: reattached */
    WT_CHECK(wt_store_requeue(&store, "L1", 0, 1, WT_REQUEUE_LOST, &err) == 2);
    WT_CHECK_STR(field("L1", "spared", v, sizeof v), "4");
    WT_CHECK(wt_store_reattach(&store, "L1", "w1", &err) == 1);
    WT_CHECK_STR(field("L1", "spared", v, sizeof v), "3");
    WT_CHECK_STR(field("L1", "status", v, sizeof v), "running");
    WT_CHECK(int_of("ZRANK wt:queue %s", "L1") == -1);
    /* an ended session is neither requeued nor reattached */
    cmd("HSET wt:session:%s status %s", "L1", "completed");
    WT_CHECK(wt_store_requeue(&store, "L1", 0, 1, WT_REQUEUE_LOST, &err) == 0);
    WT_CHECK(wt_store_reattach(&store, "L1", "w1", &err) == 0);
    /* spared 3 x max attempts: dead-lettered too, so a crash outside tools cannot loop */
    cmd("HSET wt:session:%s status queued epoch 9 attempt 9 spared 9 workflow %s", "S1", "w");
    WT_CHECK(assign(&store, "S1") == -1);
    WT_CHECK(strstr(field("S1", "error", v, sizeof v), "lost 9 times") != NULL);
}

/* The broker leader lease: one holder at a time, a new epoch per takeover,
 * renewal only by the holder; a broker fenced with an old epoch (its lease
 * taken over or expired) has its intake, assign, requeue and reattach
 * refused inside Redis, and nothing of the session changes. */
static void
test_leader_fence(void)
{
    wt_store_t a, b;
    wt_store_init(&a, redis, "wt:");
    wt_store_init(&b, redis, "wt:");
    WT_CHECK(wt_store_load_scripts(&a, NULL) == 0);
    wt_err_t err = {0};
    char holder[64], v[64];
    int64_t ea = wt_store_lease(&a, "A", 0, 3000, NULL, holder, sizeof holder, &err);
    WT_CHECK(ea == 1);
    WT_CHECK(wt_store_lease(&b, "B", 0, 3000, NULL, holder, sizeof holder, &err) == 0);
    WT_CHECK_STR(holder, "A");
    WT_CHECK(wt_store_lease(&a, "A", ea, 3000, NULL, NULL, 0, &err) == ea); /* renewed */
    a.leader_epoch = ea;
    /* the active one assigns under its epoch */
    redisReply *r = wt_redis_command(redis, NULL,
                                     "HSET wt:session:F1 status queued epoch 0 "
                                     "attempt 0 workflow w goal g");
    freeReplyObject(r);
    int64_t epoch = 0;
    int attempt = 0;
    WT_CHECK(wt_store_assign_append(&a, "F1", "w1", 1000, 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&a, &epoch, &attempt, &err) == 0);
    WT_CHECK(attempt == 1);
    /* A's lease expires (it froze); B takes over with a new epoch */
    r = wt_redis_command(redis, NULL, "DEL wt:broker:leader");
    freeReplyObject(r);
    int64_t eb = wt_store_lease(&b, "B", 0, 3000, NULL, NULL, 0, &err);
    WT_CHECK(eb == 2);
    b.leader_epoch = eb;
    /* A wakes up still believing it leads: renewal refused, writes fenced */
    WT_CHECK(wt_store_lease(&a, "A", ea, 3000, NULL, holder, sizeof holder, &err) == 0);
    WT_CHECK_STR(holder, "B");
    WT_CHECK(wt_store_assign_append(&a, "F1", "w1", 1000, 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&a, &epoch, &attempt, &err) == -1);
    WT_CHECK(err.code == WT_ESTALE && wt_store_fenced(&err));
    WT_CHECK(wt_store_requeue(&a, "F1", 0, 1, WT_REQUEUE_LOST, &err) == -1);
    WT_CHECK(wt_store_fenced(&err));
    WT_CHECK(wt_store_reattach(&a, "F1", "w1", &err) == -1);
    WT_CHECK(wt_store_fenced(&err));
    wt_store_spawn_t sp = {.sid = "F2", .workflow = "w", .goal = "g", .created_ms = 1};
    char sid[64];
    int existing = 0;
    WT_CHECK(wt_store_intake_append(&a, &sp, &err) == 0);
    WT_CHECK(wt_store_intake_reply(&a, sid, sizeof sid, &existing, NULL, &err) == -1);
    WT_CHECK(wt_store_fenced(&err));
    WT_CHECK(int_of("EXISTS %s", "wt:session:F2") == 0);
    WT_CHECK_STR(field("F1", "status", v, sizeof v), "queued");
    WT_CHECK(int_of("HEXISTS wt:running %s", "F1") == 1);
    /* the new leader's writes go through */
    WT_CHECK(wt_store_requeue(&b, "F1", 0, 1, WT_REQUEUE_LOST, &err) == 2);
    WT_CHECK(wt_store_assign_append(&b, "F1", "w2", 1000, 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&b, &epoch, &attempt, &err) == 0);
    WT_CHECK(epoch == 2);
    /* a clean stop gives the lease up only when it is still ours */
    WT_CHECK(wt_store_unlease(&a, "A", ea, &err) == 0);
    WT_CHECK(int_of("EXISTS %s", "wt:broker:leader") == 1);
    WT_CHECK(wt_store_unlease(&b, "B", eb, &err) == 0);
    WT_CHECK(int_of("EXISTS %s", "wt:broker:leader") == 0);
    WT_CHECK(wt_store_lease(&a, "A", 0, 3000, NULL, NULL, 0, &err) == 3);
    /* a holder known dead is replaced at once; a live one, or another, is not */
    WT_CHECK(wt_store_lease(&b, "B", 0, 3000, "C", holder, sizeof holder, &err) == 0);
    WT_CHECK_STR(holder, "A");
    WT_CHECK(wt_store_lease(&b, "B", 0, 3000, "A", NULL, 0, &err) == 4);
}

/* Intake that hands the new session to a worker at once: the session is
 * stored with its first lease (epoch 1, attempt 1, <p>running), never in
 * the queue indexes, with its session_queued event; a seen key assigns
 * nothing; the next assign (after a requeue) raises the epoch to 2. */
static void
test_intake_direct(void)
{
    wt_store_t store;
    wt_store_init(&store, redis, "wt:");
    WT_CHECK(wt_store_load_scripts(&store, NULL) == 0);
    wt_err_t err = {0};
    char v[64], sid[64];
    int existing = -1;
    int64_t epoch = -1;
    wt_store_spawn_t sp = {.sid = "I1",
                           .workflow = "w",
                           .goal = "g",
                           .idem_key = "k-direct",
                           .created_ms = 5,
                           .worker = "w1"};
    WT_CHECK(wt_store_intake_append(&store, &sp, &err) == 0);
    WT_CHECK(wt_store_intake_reply(&store, sid, sizeof sid, &existing, &epoch, &err) == 0);
    WT_CHECK_STR(sid, "I1");
    WT_CHECK(existing == 0 && epoch == 1);
    WT_CHECK_STR(field("I1", "epoch", v, sizeof v), "1");
    WT_CHECK_STR(field("I1", "attempt", v, sizeof v), "1");
    WT_CHECK_STR(field("I1", "worker", v, sizeof v), "w1");
    WT_CHECK_STR(field("I1", "assigned_ms", v, sizeof v), "5");
    WT_CHECK_STR(field("I1", "status", v, sizeof v), "queued");
    WT_CHECK(int_of("HEXISTS wt:running %s", "I1") == 1);
    WT_CHECK(int_of("ZSCORE wt:queue %s", "I1") == -1 && int_of("ZSCORE wt:queued %s", "I1") == -1);
    WT_CHECK(int_of("ZSCORE wt:sessions %s", "I1") == 5);
    WT_CHECK(int_of("XLEN wt:session:%s:events", "I1") == 1);
    /* the same key again, for another worker: the first session, no lease */
    sp.sid = "I2";
    sp.worker = "w2";
    WT_CHECK(wt_store_intake_append(&store, &sp, &err) == 0);
    WT_CHECK(wt_store_intake_reply(&store, sid, sizeof sid, &existing, &epoch, &err) == 0);
    WT_CHECK_STR(sid, "I1");
    WT_CHECK(existing == 1 && epoch == 0);
    WT_CHECK(int_of("EXISTS wt:session:%s", "I2") == 0);
    WT_CHECK_STR(field("I1", "worker", v, sizeof v), "w1");
    /* queued without a worker: as before */
    wt_store_spawn_t q = {.sid = "I3", .workflow = "w", .goal = "g", .created_ms = 6};
    WT_CHECK(wt_store_intake_append(&store, &q, &err) == 0);
    WT_CHECK(wt_store_intake_reply(&store, sid, sizeof sid, &existing, &epoch, &err) == 0);
    WT_CHECK(epoch == 0 && int_of("ZSCORE wt:queue %s", "I3") > 0 &&
             int_of("ZSCORE wt:queued %s", "I3") == -1 &&
             int_of("HEXISTS wt:running %s", "I3") == 0);
    WT_CHECK_STR(field("I3", "epoch", v, sizeof v), "0");
    /* the directly assigned session, lost and requeued, gets lease 2 */
    WT_CHECK(wt_store_requeue(&store, "I1", 0, 5, WT_REQUEUE_LOST, &err) == 2);
    WT_CHECK(int_of("HEXISTS wt:running %s", "I1") == 0);
    int attempt = 0;
    WT_CHECK(wt_store_assign_append(&store, "I1", "w2", 1000, 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&store, &epoch, &attempt, &err) == 0);
    WT_CHECK(epoch == 2 && attempt == 2);
    /* several in one script call, in order: a seen key within the call
     * finds the session stored before it in the same call */
    wt_store_spawn_t many[] = {
        {.sid = "J1", .workflow = "w", .goal = "g1", .idem_key = "kj", .created_ms = 7},
        {.sid = "J2", .workflow = "w", .goal = "g2", .created_ms = 8, .worker = "w2"},
        {.sid = "J3", .workflow = "w", .goal = "g3", .idem_key = "kj", .created_ms = 9}};
    wt_store_intake_t res[3];
    WT_CHECK(wt_store_intake_append_n(&store, many, 3, &err) == 0);
    WT_CHECK(wt_store_intake_reply_n(&store, res, 3, &err) == 0);
    WT_CHECK_STR(res[0].sid, "J1");
    WT_CHECK(res[0].existing == 0 && res[0].epoch == 0);
    WT_CHECK_STR(res[1].sid, "J2");
    WT_CHECK(res[1].existing == 0 && res[1].epoch == 1);
    WT_CHECK_STR(res[2].sid, "J1");
    WT_CHECK(res[2].existing == 1 && res[2].epoch == 0);
    WT_CHECK(int_of("ZSCORE wt:queue %s", "J1") > 0 && int_of("ZSCORE wt:queued %s", "J1") == -1 &&
             int_of("HEXISTS wt:running %s", "J2") == 1);
    WT_CHECK(int_of("EXISTS wt:session:%s", "J3") == 0);
    WT_CHECK_STR(field("J2", "goal", v, sizeof v), "g2");
    WT_CHECK(wt_store_intake_append_n(&store, many, 0, &err) == -1 && err.code == WT_EINVAL);
    WT_CHECK(wt_store_intake_append_n(&store, many, WT_STORE_INTAKE_BATCH + 1, &err) == -1);
    /* several assigns in one call: each its own result */
    cmd("HSET wt:session:%s status completed epoch %s", "J4", "2");
    cmd("HSET wt:session:%s status queued epoch 3 attempt 3 workflow %s", "J5", "poison");
    const char *sids[] = {"J1", "J4", "J5"}, *workers[] = {"w1", "w1", "w2"};
    wt_store_assigned_t got[3];
    WT_CHECK(wt_store_assign_append_n(&store, sids, workers, 3, 2000, 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply_n(&store, got, 3, &err) == 0);
    WT_CHECK(got[0].err.code == WT_OK && got[0].epoch == 1 && got[0].attempt == 1);
    WT_CHECK(got[1].err.code == WT_ENOTFOUND && strstr(got[1].err.msg, "is completed") != NULL);
    WT_CHECK(got[2].err.code == WT_ENOTFOUND && strstr(got[2].err.msg, "dead-lettered") != NULL);
    WT_CHECK_STR(field("J1", "worker", v, sizeof v), "w1");
    WT_CHECK(int_of("HEXISTS wt:running %s", "J1") == 1 &&
             int_of("ZSCORE wt:queued %s", "J1") == -1);
    WT_CHECK_STR(field("J5", "status", v, sizeof v), "failed");
}

/* Issue 18: intake and assign write no <p>queued entry; a requeue does (by
 * when it re-entered the queue) and the next assign takes it out. The
 * oldest waiter is exact across priority bands, counts a requeued session
 * from its requeue, and skips a stale <p>queued entry of an earlier
 * version. */
static void
test_queue_index_and_oldest(void)
{
    wt_store_t st;
    wt_store_init(&st, redis, "oq:");
    wt_err_t err = {0};
    char sid[64];
    int existing = 0, attempt = 0;
    int64_t epoch = 0, at = -1;
    WT_CHECK(wt_store_oldest_queued(&st, &at, &err) == 0); /* none waits */
    wt_store_spawn_t sp[] = {
        {.sid = "A", .workflow = "w", .goal = "g", .created_ms = 1000},
        {.sid = "B", .workflow = "w", .goal = "g", .created_ms = 3000, .priority = 5},
        {.sid = "C", .workflow = "w", .goal = "g", .created_ms = 2000, .priority = -5}};
    for (int i = 0; i < 3; i++) {
        WT_CHECK(wt_store_intake_append(&st, &sp[i], &err) == 0);
        WT_CHECK(wt_store_intake_reply(&st, sid, sizeof sid, &existing, &epoch, &err) == 0);
    }
    WT_CHECK(int_of("ZCARD %s", "oq:queue") == 3 && int_of("EXISTS %s", "oq:queued") == 0);
    WT_CHECK(wt_store_oldest_queued(&st, &at, &err) == 1 && at == 1000);
    /* A assigned: the oldest is C, last in the queue (lowest priority) */
    WT_CHECK(wt_store_assign_append(&st, "A", "w1", 5000, 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&st, &epoch, &attempt, &err) == 0 && epoch == 1);
    WT_CHECK(wt_store_oldest_queued(&st, &at, &err) == 1 && at == 2000);
    /* A requeued: it waits since now, not since its creation */
    int64_t before = wt_clock_now_ms();
    WT_CHECK(wt_store_requeue(&st, "A", 0, 1000, WT_REQUEUE_CHARGE, &err) == 1);
    WT_CHECK(int_of("ZSCORE %s A", "oq:queued") >= before &&
             int_of("HEXISTS %s requeued_ms", "oq:session:A") == 1);
    WT_CHECK(wt_store_oldest_queued(&st, &at, &err) == 1 && at == 2000);
    /* C assigned: A (requeued) and B wait; A is the older waiter */
    WT_CHECK(wt_store_assign_append(&st, "C", "w1", 5000, 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&st, &epoch, &attempt, &err) == 0);
    WT_CHECK(wt_store_oldest_queued(&st, &at, &err) == 1 && at == 3000);
    cmd("ZADD %s 1 %s", "oq:queued", "STALE"); /* not in the queue: ignored */
    WT_CHECK(wt_store_oldest_queued(&st, &at, &err) == 1 && at == 3000);
    /* the next assign takes A out of <p>queued and drops its mark */
    WT_CHECK(wt_store_assign_append(&st, "A", "w2", 6000, 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&st, &epoch, &attempt, &err) == 0 && epoch == 2);
    WT_CHECK(int_of("ZSCORE %s A", "oq:queued") == -1 &&
             int_of("HEXISTS %s requeued_ms", "oq:session:A") == 0);
    WT_CHECK(wt_store_oldest_queued(&st, &at, &err) == 1 && at == 3000);
    WT_CHECK(wt_store_assign_append(&st, "B", "w2", 6000, 3, &err) == 0);
    WT_CHECK(wt_store_assign_reply(&st, &epoch, &attempt, &err) == 0);
    WT_CHECK(wt_store_oldest_queued(&st, &at, &err) == 0);
}

int
main(void)
{
    redis = start_redis();
    static const wt_test_case_t cases[] = {
        WT_TEST(test_inbox_from_events), WT_TEST(test_inbox_add),
        WT_TEST(test_tell_and_take),     WT_TEST(test_deadletter_completion),
        WT_TEST(test_lost_accounting),   WT_TEST(test_leader_fence),
        WT_TEST(test_intake_direct),     WT_TEST(test_queue_index_and_oldest)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    wt_redis_destroy(&redis);
    stop_redis();
    return rc;
}
