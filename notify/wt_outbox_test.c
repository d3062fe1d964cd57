/* Unit tests of wt_outbox against a real redis-server on a free loopback
 * port: a claim takes only due entries of the caller's targets, a leased
 * entry is invisible to others until its lease runs out and is then
 * re-claimed (attempts go on counting), a stale claimant cannot reschedule
 * an entry taken over, done empties the outbox, entries of a target the
 * caller lacks hide nothing, and an entry whose hash expired is dropped
 * from the zset. */
#include "wt_outbox.h"
#include "wt_test.h"
#include "wt_test_redis.h"

#include <string.h>

static wt_test_redis_t srv; /* the real redis-server (tests/wt_test_redis.h) */
static wt_redis_t *redis;
static wt_store_t store;
static wt_outbox_t box;

static const char *const webhook[] = {"webhook"};
static const char *const slack[] = {"slack"};

static void
test_start(void)
{
    redis = wt_test_redis_start(&srv, 1000);
    WT_CHECK(redis != NULL);
    wt_store_init(&store, redis, "t:");
    wt_outbox_init(&box, &store);
}

static void
test_claim_by_target(void)
{
    wt_err_t err = {0};
    char id1[32], id2[32];
    WT_CHECK(wt_outbox_put(&box, "session_completed", "webhook", "{\"sessionId\":\"S1\"}", "P", id1,
                           sizeof id1, &err) == 0);
    WT_CHECK(wt_outbox_put(&box, "session_completed", "slack", "{}", "P", id2, sizeof id2, &err) ==
             0);
    WT_CHECK(strlen(id1) == 26 && strcmp(id1, id2) != 0);
    WT_CHECK(wt_outbox_size(&box, "webhook", &err) == 1);
    WT_CHECK(wt_outbox_size(&box, "slack", &err) == 1);
    wt_outbox_entry_t e;
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "A", 60000, &e, &err) == 1);
    WT_CHECK_STR(e.id, id1);
    WT_CHECK_STR(e.target, "webhook");
    WT_CHECK_STR(e.event, "session_completed");
    WT_CHECK_STR(e.origin, "P");
    WT_CHECK_STR(e.body, "{\"sessionId\":\"S1\"}");
    WT_CHECK(e.attempts == 1);
    wt_outbox_entry_t f;
    /* Leased: nobody else gets it; the slack entry needs a slack target. */
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "B", 60000, &f, &err) == 0);
    WT_CHECK(wt_outbox_claim(&box, slack, 1, "B", 60000, &f, &err) == 1);
    WT_CHECK_STR(f.id, id2);
    WT_CHECK(wt_outbox_done(&box, &e, &err) == 0 && wt_outbox_done(&box, &f, &err) == 0);
    WT_CHECK(wt_outbox_size(&box, "webhook", &err) == 0);
    WT_CHECK(wt_outbox_size(&box, "slack", &err) == 0);
    redisReply *r = wt_redis_command(redis, &err, "EXISTS t:notify:%s", id1);
    WT_CHECK(r != NULL && r->integer == 0);
    freeReplyObject(r);
    wt_outbox_entry_release(&e);
    wt_outbox_entry_release(&f);
}

static void
test_lease_expiry_and_stale_owner(void)
{
    wt_err_t err = {0};
    char id[32];
    WT_CHECK(wt_outbox_put(&box, "e", "webhook", "{}", "P", id, sizeof id, &err) == 0);
    wt_outbox_entry_t a, b;
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "A", 150, &a, &err) == 1);
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "B", 60000, &b, &err) == 0);
    /* A "dies": B gets the entry once A's lease has run out (bounded poll). */
    int64_t deadline = wt_clock_mono_ms() + 3000;
    int got = 0;
    while (got == 0 && wt_clock_mono_ms() < deadline) {
        got = wt_outbox_claim(&box, webhook, 1, "B", 60000, &b, &err);
        if (got == 0)
            wt_clock_sleep_ms(20);
    }
    WT_CHECK(got == 1);
    WT_CHECK_STR(b.id, id);
    WT_CHECK(b.attempts == 2);
    /* A comes back late: its reschedule does not touch B's lease. */
    WT_CHECK(wt_outbox_later(&box, &a, "A", 0, "HTTP 500", &err) == 0);
    wt_outbox_entry_t c;
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "C", 60000, &c, &err) == 0);
    /* B reschedules (its own): due in a minute, so not claimable now. */
    WT_CHECK(wt_outbox_later(&box, &b, "B", 60000, "HTTP 503", &err) == 0);
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "C", 60000, &c, &err) == 0);
    redisReply *r = wt_redis_command(redis, &err, "HGET t:notify:%s last_error", id);
    WT_CHECK(r != NULL && r->type == REDIS_REPLY_STRING && strcmp(r->str, "HTTP 503") == 0);
    freeReplyObject(r);
    /* Made due (as when its minute is up): claimed again, attempts go on. */
    r = wt_redis_command(redis, &err, "ZADD t:notify:outbox:webhook 0 %s", id);
    freeReplyObject(r);
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "C", 60000, &c, &err) == 1 && c.attempts == 3);
    WT_CHECK(wt_outbox_done(&box, &c, &err) == 0);
    WT_CHECK(wt_outbox_size(&box, "webhook", &err) == 0);
    wt_outbox_entry_release(&a);
    wt_outbox_entry_release(&b);
    wt_outbox_entry_release(&c);
}

static void
test_undeliverable_target_hides_nothing(void)
{
    /* 150 due Slack entries that this process cannot deliver (no Slack
     * target) do not hide the webhook entry behind them. */
    wt_err_t err = {0};
    char id[32], hook[32];
    for (int i = 0; i < 150; i++)
        WT_CHECK(wt_outbox_put(&box, "e", "slack", "{}", "P", id, sizeof id, &err) == 0);
    WT_CHECK(wt_outbox_put(&box, "e", "webhook", "{}", "P", hook, sizeof hook, &err) == 0);
    wt_outbox_entry_t e;
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "A", 60000, &e, &err) == 1);
    WT_CHECK_STR(e.id, hook);
    WT_CHECK(wt_outbox_done(&box, &e, &err) == 0);
    wt_outbox_entry_release(&e);
    /* Both targets: the claims alternate between them. */
    WT_CHECK(wt_outbox_put(&box, "e", "webhook", "{}", "P", hook, sizeof hook, &err) == 0);
    const char *const both[] = {"webhook", "slack"};
    wt_outbox_entry_t a, b;
    WT_CHECK(wt_outbox_claim(&box, both, 2, "A", 60000, &a, &err) == 1);
    WT_CHECK(wt_outbox_claim(&box, both, 2, "A", 60000, &b, &err) == 1);
    WT_CHECK(strcmp(a.target, b.target) != 0);
    wt_outbox_entry_release(&a);
    wt_outbox_entry_release(&b);
    redisReply *r = wt_redis_command(redis, &err, "FLUSHALL");
    freeReplyObject(r);
}

static void
test_expired_entry_is_dropped(void)
{
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(redis, &err, "ZADD t:notify:outbox:webhook 0 %s", "GONE");
    freeReplyObject(r);
    wt_outbox_entry_t e;
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "A", 1000, &e, &err) == 0);
    WT_CHECK(wt_outbox_size(&box, "webhook", &err) == 0);
}

static void
test_redis_down_fails_cleanly(void)
{
    wt_test_redis_stop(&srv);
    wt_err_t err = {0};
    char id[32];
    WT_CHECK(wt_outbox_put(&box, "e", "webhook", "{}", "P", id, sizeof id, &err) == -1);
    WT_CHECK(err.code != WT_OK);
    wt_outbox_entry_t e;
    WT_CHECK(wt_outbox_claim(&box, webhook, 1, "A", 1000, &e, &err) == -1);
    wt_redis_destroy(&redis);
}

WT_TEST_MAIN(WT_TEST(test_start), WT_TEST(test_claim_by_target),
             WT_TEST(test_lease_expiry_and_stale_owner),
             WT_TEST(test_undeliverable_target_hides_nothing),
             WT_TEST(test_expired_entry_is_dropped), WT_TEST(test_redis_down_fails_cleanly))
