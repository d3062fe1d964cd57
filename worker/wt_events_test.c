/* Unit tests of event writes against a real redis-server on a free
 * loopback port: events and hash fields land, a stale epoch is refused
 * (and sets `stale`), nothing follows session_completed, and an
 * unreachable Redis fails the write after the retry bound (or at once when
 * abandoned) instead of blocking forever. */
#include "wt_clock.h"
#include "wt_events.h"
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

static void
seed_session(wt_redis_t *r, const char *sid, const char *epoch)
{
    redisReply *rep =
        wt_redis_command(r, NULL, "HSET wt:session:%s status running epoch %s", sid, epoch);
    if (rep)
        freeReplyObject(rep);
}

/* A Redis with session sid held at epoch, a store and a writer on it. */
static wt_redis_t *
open_session(wt_store_t *store, wt_events_t *ev, const char *sid, int64_t epoch)
{
    wt_redis_t *r = start_redis();
    char e[24];
    snprintf(e, sizeof e, "%lld", (long long)epoch);
    wt_store_init(store, r, "wt:");
    seed_session(r, sid, e);
    wt_events_init(ev, store, sid, epoch);
    return r;
}

static void
test_events_fenced(void)
{
    wt_store_t store;
    wt_events_t ev;
    wt_redis_t *r = open_session(&store, &ev, "S1", 2);
    wt_err_t err = {0};
    const char *f[] = {"+turns", "1", "step", "two"};
    WT_CHECK(wt_events_emit(&ev, "llm_turn_completed", json_pack("{s:i}", "input_tokens", 5), 0, 4,
                            f, &err) == 0);
    WT_CHECK(wt_events_emit(&ev, "step_advanced", json_pack("{s:s}", "step", "one"), 1, 0, NULL,
                            &err) == 0);
    redisReply *rep = wt_redis_command(r, NULL, "HMGET wt:session:S1 turns step");
    WT_CHECK(rep && rep->elements == 2 && rep->element[0]->str &&
             strcmp(rep->element[0]->str, "1") == 0 && strcmp(rep->element[1]->str, "two") == 0);
    if (rep)
        freeReplyObject(rep);
    rep = wt_redis_command(r, NULL, "XLEN wt:events");
    WT_CHECK(rep && rep->integer == 1); /* only the fleet event */
    if (rep)
        freeReplyObject(rep);
    /* a retry of a stored event (reply lost) is a no-op, not a second copy */
    WT_CHECK(wt_store_append(&store, "S1", 2, 2, "step_advanced", "{}", 1, 0, NULL, &err) == 0);
    WT_CHECK(wt_store_append(&store, "S1", 2, 1, "llm_turn_completed", "{}", 0, 2, f, &err) == 0);
    rep = wt_redis_command(r, NULL, "XLEN wt:session:S1:events");
    WT_CHECK(rep && rep->integer == 2);
    if (rep)
        freeReplyObject(rep);
    rep = wt_redis_command(r, NULL, "HGET wt:session:S1 turns");
    WT_CHECK(rep && rep->str && strcmp(rep->str, "1") == 0); /* not incremented twice */
    if (rep)
        freeReplyObject(rep);
    /* another worker took the lease: epoch 3 */
    seed_session(r, "S1", "3");
    WT_CHECK(wt_events_emit(&ev, "tool_call_started", NULL, 0, 0, NULL, &err) == -1);
    WT_CHECK(err.code == WT_ESTALE && ev.stale == 1);
    /* the new holder completes; nothing may follow */
    wt_events_t ev3;
    wt_events_init(&ev3, &store, "S1", 3);
    const char *done[] = {"status", "completed"};
    WT_CHECK(wt_events_emit(&ev3, "session_completed", json_pack("{s:s}", "outcome", "success"), 1,
                            2, done, &err) == 0);
    WT_CHECK(wt_events_emit(&ev3, "tool_call_started", NULL, 0, 0, NULL, &err) == -1);
    WT_CHECK(err.code == WT_ESTALE);
    rep = wt_redis_command(r, NULL, "XLEN wt:session:S1:events");
    WT_CHECK(rep && rep->integer == 3);
    if (rep)
        freeReplyObject(rep);
    WT_CHECK(ev.written == 2 && ev3.written == 1);

    /* Redis gone: ordinary events are buffered and the session goes on */
    seed_session(r, "S2", "1");
    stop_redis();
    wt_events_t ev2;
    wt_events_init(&ev2, &store, "S2", 1);
    ev2.retry_ms = 400;
    int64_t t0 = wt_clock_mono_ms();
    err = (wt_err_t){0};
    WT_CHECK(wt_events_emit(&ev2, "tool_call_started", NULL, 0, 0, NULL, &err) == 0);
    WT_CHECK(wt_events_emit(&ev2, "tool_call_completed", NULL, 0, 0, NULL, &err) == 0);
    WT_CHECK(ev2.pending == 2 && ev2.written == 0);
    WT_CHECK(wt_clock_mono_ms() - t0 < 30000); /* bounded: buffered writes do not wait on Redis */
    /* the last word waits for Redis (here bounded to 400 ms) and keeps the buffer */
    t0 = wt_clock_mono_ms();
    WT_CHECK(wt_events_emit(&ev2, "session_completed", NULL, 1, 0, NULL, &err) == -1);
    int64_t ms = wt_clock_mono_ms() - t0;
    WT_CHECK(ms >= 350 && ms < 30000); /* waited its 400 ms, then gave up (bounded) */
    WT_CHECK(err.code != WT_OK && err.code != WT_ESTALE && ev2.stale == 0 && ev2.pending == 2);
    /* abandoned (drain deadline): gives up at once */
    volatile int abandon = 1;
    ev2.abandon = &abandon;
    ev2.retry_ms = 10000;
    t0 = wt_clock_mono_ms();
    WT_CHECK(wt_events_emit(&ev2, "session_completed", NULL, 1, 0, NULL, &err) == -1);
    WT_CHECK(wt_clock_mono_ms() - t0 < 2000 && err.code == WT_ETIMEDOUT);
    /* Redis back (with the session, as AOF would keep it): everything is
     * written, in order, before the next event */
    wt_redis_t *r2 = start_redis(); /* same port; the store's own handle reconnects */
    seed_session(r2, "S2", "1");
    wt_redis_destroy(&r2);
    ev2.abandon = NULL;
    WT_CHECK(wt_events_emit(&ev2, "step_advanced", NULL, 0, 0, NULL, &err) == 0);
    WT_CHECK(ev2.pending == 0 && ev2.written == 3);
    rep = wt_redis_command(r, NULL, "XRANGE wt:session:S2:events - +");
    const char *want[] = {"tool_call_started", "tool_call_completed", "step_advanced"};
    int order_ok = rep && rep->elements == 3;
    for (size_t i = 0; order_ok && i < 3; i++)
        order_ok = strcmp(rep->element[i]->element[1]->element[1]->str, want[i]) == 0;
    WT_CHECK(order_ok); /* the failed session_completed was dropped, not written late */
    if (rep)
        freeReplyObject(rep);
    wt_events_release(&ev2);
    wt_redis_destroy(&r);
}

/* Operator messages: an append reports them, the take hands them over
 * once, and nothing is taken while events are still buffered. */
static void
test_take_tells(void)
{
    stop_redis(); /* the earlier test leaves its restarted server running */
    wt_store_t store;
    wt_events_t ev;
    wt_redis_t *r = open_session(&store, &ev, "S5", 1);
    wt_err_t err = {0};
    json_t *m = wt_events_take_tells(&ev, &err); /* nothing suggests messages: no round trip */
    WT_CHECK(json_array_size(m) == 0);
    json_decref(m);
    WT_CHECK(wt_store_tell(&store, "S5", "first", &err) == 0);
    WT_CHECK(wt_store_tell(&store, "S5", "second", &err) == 0);
    WT_CHECK(wt_events_emit(&ev, "llm_turn_completed", NULL, 0, 0, NULL, &err) == 0);
    WT_CHECK(ev.tells_waiting == 2);
    m = wt_events_take_tells(&ev, &err);
    WT_CHECK(json_array_size(m) == 2 && ev.tells_waiting == 0 && ev.take_seq == 1);
    WT_CHECK_STR(json_string_value(json_array_get(m, 0)), "first");
    json_decref(m);
    m = wt_events_take_tells(&ev, &err);
    WT_CHECK(json_array_size(m) == 0);
    json_decref(m);
    /* a take that got no reply is retried with the same number */
    WT_CHECK(wt_store_tell(&store, "S5", "third", &err) == 0);
    json_t *lost = wt_store_tell_take(&store, "S5", 1, ev.take_seq + 1, NULL, &err);
    WT_CHECK(json_array_size(lost) == 1); /* ran in Redis, "reply lost" for ev */
    json_decref(lost);
    ev.take_unsure = 1;
    m = wt_events_take_tells(&ev, &err);
    WT_CHECK(json_array_size(m) == 1 && ev.take_seq == 2 && ev.take_unsure == 0);
    WT_CHECK_STR(json_string_value(json_array_get(m, 0)), "third");
    json_decref(m);
    redisReply *rep = wt_redis_command(r, NULL, "XLEN wt:session:S5:events");
    WT_CHECK(rep && rep->integer == 4); /* 1 append + 3 message_received, none twice */
    if (rep)
        freeReplyObject(rep);
    /* buffered events: the take waits until they are written */
    ev.tells_waiting = 1;
    ev.pending = 1;
    m = wt_events_take_tells(&ev, &err);
    WT_CHECK(json_array_size(m) == 0 && ev.take_seq == 2);
    json_decref(m);
    ev.pending = 0;
    /* the lease moved: the take is refused and marks the writer stale */
    seed_session(r, "S5", "2");
    ev.tells_waiting = 1;
    WT_CHECK(wt_events_take_tells(&ev, &err) == NULL && ev.stale == 1 && err.code == WT_ESTALE);
    wt_events_release(&ev);
    wt_redis_destroy(&r);
    stop_redis();
}

static long long
xlen(wt_redis_t *r, const char *key)
{
    redisReply *rep = wt_redis_command(r, NULL, "XLEN %s", key);
    long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return n;
}

static int
hash_is(wt_redis_t *r, const char *key, const char *field, const char *want)
{
    redisReply *rep = wt_redis_command(r, NULL, "HGET %s %s", key, field);
    int ok = rep && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, want) == 0;
    if (rep)
        freeReplyObject(rep);
    return ok;
}

/* Group commit (issue 18): deferred events go in one batch with one fence
 * check; a batch retried after a lost reply stores each event once; a
 * stale lease's batch is refused whole and writes nothing. */
static void
test_group_commit(void)
{
    wt_store_t store;
    wt_events_t ev;
    wt_redis_t *r = open_session(&store, &ev, "S7", 4);
    wt_err_t err = {0};
    const char *turn[] = {"+turns", "1", "+input_tokens", "10"};
    const char *step[] = {"step", "two"};
    WT_CHECK(wt_events_defer(&ev, "llm_turn_completed", NULL, 0, 4, turn, &err) == 0);
    WT_CHECK(wt_events_defer(&ev, "step_advanced", NULL, 1, 2, step, &err) == 0);
    WT_CHECK(wt_events_defer(&ev, "llm_turn_completed", NULL, 0, 4, turn, &err) == 0);
    WT_CHECK(xlen(r, "wt:session:S7:events") == 0 && ev.pending == 3); /* nothing sent yet */
    WT_CHECK(wt_events_commit(&ev, &err) == 0);
    WT_CHECK(ev.pending == 0 && ev.written == 3 && ev.batches == 1); /* one round trip */
    WT_CHECK(xlen(r, "wt:session:S7:events") == 3 && xlen(r, "wt:events") == 1);
    WT_CHECK(hash_is(r, "wt:session:S7", "turns", "2") &&
             hash_is(r, "wt:session:S7", "input_tokens", "20") &&
             hash_is(r, "wt:session:S7", "step", "two") && hash_is(r, "wt:session:S7", "seq", "3"));

    /* A batch (seq 4..6) is stored but its reply is lost: the retry of the
     * same batch is a no-op, event by event, and increments nothing twice. */
    wt_store_event_t batch[] = {{"tool_call_started", "{}", 0, 4, 0, NULL, 0},
                                {"llm_turn_completed", "{}", 0, 5, 4, turn, 0},
                                {"step_advanced", "{}", 1, 6, 2, step, 0}};
    int stored = -1;
    WT_CHECK(wt_store_append_batch(&store, "S7", 4, batch, 3, NULL, &stored, NULL, &err) == 0 &&
             stored == 3);
    WT_CHECK(wt_store_append_batch(&store, "S7", 4, batch, 3, NULL, &stored, NULL, &err) == 0 &&
             stored == 0);
    WT_CHECK(xlen(r, "wt:session:S7:events") == 6 && xlen(r, "wt:events") == 2);
    WT_CHECK(hash_is(r, "wt:session:S7", "turns", "3"));
    /* a retry that carries the stored events and new ones: only the new */
    wt_store_event_t more[] = {batch[1], batch[2], {"tool_call_completed", "{}", 0, 7, 0, NULL, 0}};
    WT_CHECK(wt_store_append_batch(&store, "S7", 4, more, 3, NULL, &stored, NULL, &err) == 0 &&
             stored == 1);
    WT_CHECK(xlen(r, "wt:session:S7:events") == 7 && hash_is(r, "wt:session:S7", "turns", "3") &&
             hash_is(r, "wt:session:S7", "seq", "7"));

    /* Another worker took the lease (epoch 5): the old holder's batch is
     * refused whole - no entry, no hash change, no fleet event. */
    seed_session(r, "S7", "5");
    wt_store_event_t old[] = {{"llm_turn_completed", "{}", 0, 8, 4, turn, 0},
                              {"step_advanced", "{}", 1, 9, 2, (const char *[]){"step", "x"}, 0}};
    err = (wt_err_t){0};
    WT_CHECK(wt_store_append_batch(&store, "S7", 4, old, 2, NULL, &stored, NULL, &err) == -1 &&
             err.code == WT_ESTALE);
    WT_CHECK(xlen(r, "wt:session:S7:events") == 7 && xlen(r, "wt:events") == 2);
    WT_CHECK(hash_is(r, "wt:session:S7", "turns", "3") &&
             hash_is(r, "wt:session:S7", "step", "two"));
    /* the same through wt_events: the deferred events are dropped, stale set */
    WT_CHECK(wt_events_defer(&ev, "llm_turn_completed", NULL, 0, 4, turn, &err) == 0);
    WT_CHECK(wt_events_defer(&ev, "step_advanced", NULL, 1, 2, step, &err) == 0);
    err = (wt_err_t){0};
    WT_CHECK(wt_events_commit(&ev, &err) == -1 && err.code == WT_ESTALE && ev.stale == 1 &&
             ev.pending == 0);
    WT_CHECK(xlen(r, "wt:session:S7:events") == 7);

    /* the new holder's session_completed ends it; a batch after it is refused */
    wt_events_t ev5;
    wt_events_init(&ev5, &store, "S7", 5);
    const char *done[] = {"status", "completed"};
    WT_CHECK(wt_events_defer(&ev5, "step_advanced", NULL, 1, 2, step, &err) == 0);
    WT_CHECK(wt_events_emit(&ev5, "session_completed", json_pack("{s:s}", "outcome", "success"), 1,
                            2, done, &err) == 0);
    WT_CHECK(ev5.batches == 1 && ev5.written == 2);
    WT_CHECK(wt_events_emit(&ev5, "tool_call_started", NULL, 0, 0, NULL, &err) == -1 &&
             err.code == WT_ESTALE);
    WT_CHECK(xlen(r, "wt:session:S7:events") == 9 && xlen(r, "wt:inbox") == 1);
    wt_events_release(&ev);
    wt_redis_destroy(&r);
    stop_redis();
}

/* An LLM call's llm_turn_started goes with the events deferred before it
 * in one round trip, unless operator messages wait: then the events before
 * it are stored, it is not (nothing is written on its behalf), and once the
 * messages are taken it goes in a second write. A retry of a batch whose
 * reply was lost reports the same. */
static void
test_unless_told(void)
{
    wt_store_t store;
    wt_events_t ev;
    wt_redis_t *r = open_session(&store, &ev, "S8", 3);
    wt_err_t err = {0};
    int told = -1;
    /* nothing waits: one round trip for both */
    WT_CHECK(wt_events_defer(&ev, "session_started", NULL, 1, 0, NULL, &err) == 0);
    WT_CHECK(wt_events_commit_unless_told(&ev, "llm_turn_started", NULL, 0, 0, NULL, &told, &err) ==
             0);
    WT_CHECK(told == 0 && ev.batches == 1 && ev.written == 2 && ev.pending == 0);
    WT_CHECK(xlen(r, "wt:session:S8:events") == 2);
    /* a message waits: the deferred event is stored, the start is not */
    WT_CHECK(wt_store_tell(&store, "S8", "use python", &err) == 0);
    WT_CHECK(wt_events_defer(&ev, "tool_call_completed", NULL, 0, 0, NULL, &err) == 0);
    WT_CHECK(wt_events_commit_unless_told(&ev, "llm_turn_started", NULL, 0, 0, NULL, &told, &err) ==
             0);
    WT_CHECK(told == 1 && ev.pending == 0 && ev.written == 3 && ev.tells_waiting == 1);
    WT_CHECK(xlen(r, "wt:session:S8:events") == 3);
    json_t *m = wt_events_take_tells(&ev, &err);
    WT_CHECK(json_array_size(m) == 1 && ev.tells_waiting == 0);
    json_decref(m);
    WT_CHECK(wt_events_commit_unless_told(&ev, "llm_turn_started", NULL, 0, 0, NULL, &told, &err) ==
             0);
    WT_CHECK(told == 0 && ev.written == 4);
    redisReply *rep = wt_redis_command(r, NULL, "XRANGE wt:session:S8:events - +");
    const char *want[] = {"session_started", "llm_turn_started", "tool_call_completed",
                          "message_received", "llm_turn_started"};
    int order_ok = rep && rep->elements == 5;
    for (size_t i = 0; order_ok && i < 5; i++)
        order_ok = strcmp(rep->element[i]->element[1]->element[1]->str, want[i]) == 0;
    WT_CHECK(order_ok);
    if (rep)
        freeReplyObject(rep);
    /* the store: a retried batch whose unless-told event was stored says so
     * even with a message waiting now; one not stored stays left out */
    wt_store_event_t b[] = {{"tool_call_started", "{}", 0, 20, 0, NULL, 0},
                            {"llm_turn_started", "{}", 0, 21, 0, NULL, 1}};
    int stored = -1;
    WT_CHECK(wt_store_append_batch(&store, "S8", 3, b, 2, NULL, &stored, &told, &err) == 0 &&
             stored == 2 && told == 0);
    WT_CHECK(wt_store_tell(&store, "S8", "late", &err) == 0);
    WT_CHECK(wt_store_append_batch(&store, "S8", 3, b, 2, NULL, &stored, &told, &err) == 0 &&
             stored == 0 && told == 0);
    wt_store_event_t c[] = {{"tool_call_started", "{}", 0, 22, 0, NULL, 0},
                            {"llm_turn_started", "{}", 0, 23, 0, NULL, 1}};
    int64_t waiting = 0;
    WT_CHECK(wt_store_append_batch(&store, "S8", 3, c, 2, &waiting, &stored, &told, &err) == 0 &&
             stored == 1 && told == 1 && waiting == 1);
    WT_CHECK(wt_store_append_batch(&store, "S8", 3, c, 2, &waiting, &stored, &told, &err) == 0 &&
             stored == 0 && told == 1);
    WT_CHECK(xlen(r, "wt:session:S8:events") == 8 && hash_is(r, "wt:session:S8", "seq", "22"));
    /* only the last event of a batch can be unless-told */
    wt_store_event_t bad[] = {{"llm_turn_started", "{}", 0, 24, 0, NULL, 1},
                              {"tool_call_started", "{}", 0, 25, 0, NULL, 0}};
    WT_CHECK(wt_store_append_batch(&store, "S8", 3, bad, 2, NULL, &stored, &told, &err) == -1 &&
             err.code == WT_EINVAL);
    wt_events_release(&ev);
    wt_redis_destroy(&r);
    stop_redis();
}

int
main(void)
{
    static const wt_test_case_t cases[] = {WT_TEST(test_events_fenced), WT_TEST(test_take_tells),
                                           WT_TEST(test_group_commit), WT_TEST(test_unless_told)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    stop_redis();
    return rc;
}
