/* wt_outbox - notifications stored in Redis until delivered.
 *
 * Design: the due time is Redis's own clock (TIME inside the scripts), so
 * processes on machines with skewed clocks agree on when an entry is due
 * and on when a lease has run out. Each target has its own zset, so entries
 * nobody here can deliver (a target this process lacks) never hide the
 * ones it can. A claim is one script per target: the first due entry (oldest
 * due first) gets its score moved lease_ms ahead, its attempts count up and
 * owner set. Entries whose hash is gone (expired) are dropped from the zset
 * on the way (at most CLAIM_SCAN per claim). "Later" reschedules only
 * while the caller still owns the entry, so a claimant that was too slow
 * (its lease ran out and another process took over) cannot push back the
 * other's schedule. Done deletes without a check: the notification went out
 * (or was given up) at least once, which is the contract. */
#include "wt_outbox.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_ulid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_SCAN "100" /* due entries looked at per claim */

/* KEYS: none. ARGV: zset, hash prefix, lease_ms, owner. */
static const char claim_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local due = redis.call('ZRANGEBYSCORE', ARGV[1], '-inf', now, 'LIMIT', 0, " CLAIM_SCAN ")\n"
    "for _, id in ipairs(due) do\n"
    "  local h = ARGV[2] .. id\n"
    "  local tg = redis.call('HGET', h, 'target')\n"
    "  if not tg then\n"
    "    redis.call('ZREM', ARGV[1], id)\n"
    "  else\n"
    "    redis.call('ZADD', ARGV[1], now + tonumber(ARGV[3]), id)\n"
    "    local a = redis.call('HINCRBY', h, 'attempts', 1)\n"
    "    redis.call('HSET', h, 'owner', ARGV[4])\n"
    "    local f = redis.call('HMGET', h, 'event', 'body', 'origin')\n"
    "    return {id, tg, f[1] or '', f[2] or '{}', f[3] or '', tostring(a)}\n"
    "  end\n"
    "end\n"
    "return false\n";

/* ARGV: zset, hash, id, owner, delay_ms, last_error. */
static const char later_lua[] =
    "if redis.call('HGET', ARGV[2], 'owner') ~= ARGV[4] then return 0 end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZADD', ARGV[1], now + tonumber(ARGV[5]), ARGV[3])\n"
    "redis.call('HSET', ARGV[2], 'owner', '', 'last_error', ARGV[6])\n"
    "return 1\n";

void
wt_outbox_init(wt_outbox_t *self, wt_store_t *store)
{
    self->store = store;
    self->next = 0;
    wt_redis_script_init(&self->claim, claim_lua);
    wt_redis_script_init(&self->later, later_lua);
}

static void
zset_key(const wt_outbox_t *self, const char *target, char *out, size_t cap)
{
    wt_store_key(self->store, out, cap, "notify:outbox:%s", target);
}

static void
hash_key(const wt_outbox_t *self, const char *id, char *out, size_t cap)
{
    wt_store_key(self->store, out, cap, "notify:%s", id);
}

int
wt_outbox_put(wt_outbox_t *self, const char *event, const char *target, const char *body,
              const char *origin, char *id, size_t cap, wt_err_t *err)
{
    char ulid[WT_ULID_LEN + 1], zkey[128], hkey[128], now[24], ttl[24];
    int64_t now_ms = wt_clock_now_ms();
    wt_ulid_make(ulid, now_ms);
    snprintf(id, cap, "%s", ulid);
    zset_key(self, target, zkey, sizeof zkey);
    hash_key(self, ulid, hkey, sizeof hkey);
    snprintf(now, sizeof now, "%lld", (long long)now_ms);
    snprintf(ttl, sizeof ttl, "%d", WT_OUTBOX_TTL_S);
    /* MULTI/EXEC: the hash and its zset entry appear together. The score 0
     * means "due at once" whatever the clocks say. */
    const char *multi[] = {"MULTI"};
    const char *hset[] = {"HSET",     hkey, "event",      event, "target", target, "body",  body,
                          "attempts", "0",  "created_ms", now,   "origin", origin, "owner", ""};
    const char *expire[] = {"EXPIRE", hkey, ttl};
    const char *zadd[] = {"ZADD", zkey, "0", ulid};
    const char *exec[] = {"EXEC"};
    wt_redis_t *r = self->store->redis;
    if (wt_redis_connect(r, err) != 0 || wt_redis_append(r, 1, multi, NULL, err) != 0 ||
        wt_redis_append(r, sizeof hset / sizeof hset[0], hset, NULL, err) != 0 ||
        wt_redis_append(r, 3, expire, NULL, err) != 0 || wt_redis_append(r, 4, zadd, NULL, err) ||
        wt_redis_append(r, 1, exec, NULL, err) != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < 5; i++) {
        redisReply *rep = wt_redis_get_reply(r, rc == 0 ? err : NULL);
        if (rep == NULL) {
            rc = -1;
            if (!wt_redis_connected(r))
                break;
            continue;
        }
        if (i == 4 && rep->type != REDIS_REPLY_ARRAY)
            rc = wt_err_set(err, WT_EPROTO, "outbox: transaction not executed");
        freeReplyObject(rep);
    }
    return rc;
}

static void
copy_str(char *dst, size_t cap, const redisReply *r)
{
    snprintf(dst, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
}

/* The claim script on one target's zset: 1, 0 or -1 as wt_outbox_claim. */
static int
claim_in(wt_outbox_t *self, const char *target, const char *owner, int64_t lease_ms,
         wt_outbox_entry_t *e, wt_err_t *err)
{
    char zkey[128], hprefix[128], lease[24];
    zset_key(self, target, zkey, sizeof zkey);
    hash_key(self, "", hprefix, sizeof hprefix);
    snprintf(lease, sizeof lease, "%lld", (long long)lease_ms);
    const char *argv[] = {zkey, hprefix, lease, owner};
    redisReply *r = wt_redis_eval(self->store->redis, &self->claim, 0, 4, argv, NULL, err);
    if (r == NULL)
        return -1;
    int got = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 6) {
        copy_str(e->id, sizeof e->id, r->element[0]);
        copy_str(e->target, sizeof e->target, r->element[1]);
        copy_str(e->event, sizeof e->event, r->element[2]);
        copy_str(e->origin, sizeof e->origin, r->element[4]);
        const redisReply *b = r->element[3];
        e->body = wt_xstrdup(b->type == REDIS_REPLY_STRING ? b->str : "{}");
        const redisReply *a = r->element[5];
        e->attempts = (int)strtol(a->type == REDIS_REPLY_STRING ? a->str : "1", NULL, 10);
        got = 1;
    }
    freeReplyObject(r);
    return got;
}

int
wt_outbox_claim(wt_outbox_t *self, const char *const *targets, int n, const char *owner,
                int64_t lease_ms, wt_outbox_entry_t *e, wt_err_t *err)
{
    memset(e, 0, sizeof *e);
    /* Round robin over the targets, so a busy one cannot starve another. */
    for (int i = 0; i < n; i++) {
        int k = (int)((self->next + (unsigned)i) % (unsigned)n);
        int got = claim_in(self, targets[k], owner, lease_ms, e, err);
        if (got != 0) {
            self->next = (unsigned)k + 1;
            return got;
        }
    }
    return 0;
}

int
wt_outbox_later(wt_outbox_t *self, const wt_outbox_entry_t *e, const char *owner, int64_t delay_ms,
                const char *last_error, wt_err_t *err)
{
    char zkey[128], hkey[128], delay[24];
    zset_key(self, e->target, zkey, sizeof zkey);
    hash_key(self, e->id, hkey, sizeof hkey);
    snprintf(delay, sizeof delay, "%lld", (long long)(delay_ms > 0 ? delay_ms : 0));
    const char *argv[] = {zkey, hkey, e->id, owner, delay, last_error ? last_error : ""};
    redisReply *r = wt_redis_eval(self->store->redis, &self->later, 0, 6, argv, NULL, err);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int
wt_outbox_done(wt_outbox_t *self, const wt_outbox_entry_t *e, wt_err_t *err)
{
    char zkey[128], hkey[128];
    zset_key(self, e->target, zkey, sizeof zkey);
    hash_key(self, e->id, hkey, sizeof hkey);
    redisReply *r = wt_redis_command(self->store->redis, err, "DEL %s", hkey);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    r = wt_redis_command(self->store->redis, err, "ZREM %s %s", zkey, e->id);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int64_t
wt_outbox_size(wt_outbox_t *self, const char *target, wt_err_t *err)
{
    char zkey[128];
    zset_key(self, target, zkey, sizeof zkey);
    redisReply *r = wt_redis_command(self->store->redis, err, "ZCARD %s", zkey);
    if (r == NULL)
        return -1;
    int64_t n = r->type == REDIS_REPLY_INTEGER ? (int64_t)r->integer : -1;
    freeReplyObject(r);
    return n;
}

void
wt_outbox_entry_release(wt_outbox_entry_t *e)
{
    free(e->body);
    memset(e, 0, sizeof *e);
}
