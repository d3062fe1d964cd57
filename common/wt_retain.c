/* wt_retain - the retention sweep and tombstone lookups.
 *
 * Why a sweep and not Redis key TTLs alone: a TTL would drop the hash but
 * leave the session's id in <p>sessions, its run's and parent's indexes
 * and the inbox, and once the hash is gone nothing says which indexes
 * those are. The sweep reads the hash, trims every index and deletes the
 * keys in one script, so no reader ever sees a half-expired session. Time
 * A pipeline run that has ended goes with its last session (a run still
 * running, or interrupted and so resumable, stays). Time
 * is Redis's (TIME), the same clock the store's retire() used, so brokers
 * on different hosts agree on what is due. Each call does at most `batch`
 * sessions, which bounds how long it holds Redis. */
#include "wt_retain.h"

#include "wt_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ARGV: prefix, batch, tombstone life ms, tombstones max, worker gone ms.
 * Returns {expired, taken}. Per-session commands use redis.pcall so one
 * damaged record (a key of the wrong type, a bad inbox id) cannot make every
 * later sweep fail on it; UNLINK frees large event streams off Redis's main
 * thread. A session's delivery record (DESIGN.md 15: state, branch, its
 * bounded diff) goes with it. */
static const char sweep_lua[] =
    "local p, n = ARGV[1], tonumber(ARGV[2])\n"
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local ids = redis.call('ZRANGEBYSCORE', p..'expiry', '-inf', now, 'LIMIT', 0, n)\n"
    "local done = 0\n"
    "for _, sid in ipairs(ids) do\n"
    "  local hk = p..'session:'..sid\n"
    "  local m = redis.pcall('HMGET', hk, 'status', 'parent', 'run', 'idem_key', 'inbox_ids')\n"
    "  redis.pcall('ZREM', p..'expiry', sid)\n"
    "  if m[1] ~= 'queued' and m[1] ~= 'running' then\n"
    "    redis.pcall('UNLINK', hk, hk..':events', hk..':children', hk..':tell',\n"
    "                p..'delivery:'..sid, p..'delivery:'..sid..':lease')\n"
    "    redis.pcall('ZREM', p..'sessions', sid)\n"
    "    redis.pcall('ZREM', p..'queue', sid)\n"
    "    redis.pcall('ZREM', p..'queued', sid)\n"
    "    redis.pcall('HDEL', p..'running', sid)\n"
    "    if m[2] and m[2] ~= '' then redis.pcall('ZREM', p..'session:'..m[2]..':children', sid) "
    "end\n"
    "    if m[3] and m[3] ~= '' then\n"
    "      local rk = p..'run:'..m[3]\n"
    "      redis.pcall('ZREM', rk..':sessions', sid)\n"
    "      local rs = redis.pcall('HGET', rk, 'status')\n"
    "      if redis.pcall('EXISTS', rk..':sessions') == 0 and\n"
    "         (rs == 'succeeded' or rs == 'failed' or rs == 'timeout') then\n"
    "        redis.pcall('UNLINK', rk)\n"
    "        redis.pcall('ZREM', p..'runs', m[3])\n"
    "      end\n"
    "    end\n"
    "    if m[4] and m[4] ~= '' and redis.pcall('GET', p..'idem:'..m[4]) == sid then\n"
    "      redis.pcall('UNLINK', p..'idem:'..m[4])\n"
    "    end\n"
    "    if m[5] then\n"
    "      for iid in string.gmatch(m[5], '%S+') do redis.pcall('XDEL', p..'inbox', iid) end\n"
    "    end\n"
    "    redis.pcall('ZADD', p..'expired', now, sid)\n"
    "    done = done + 1\n"
    "  end\n"
    "end\n"
    "redis.call('ZREMRANGEBYSCORE', p..'expired', '-inf', now - tonumber(ARGV[3]))\n"
    "local c = redis.call('ZCARD', p..'expired')\n"
    "if c > tonumber(ARGV[4]) then\n"
    "  redis.call('ZREMRANGEBYRANK', p..'expired', 0, c - tonumber(ARGV[4]) - 1)\n"
    "end\n"
    "redis.call('ZREMRANGEBYSCORE', p..'workers', '-inf', now - tonumber(ARGV[5]))\n"
    "return {done, #ids}\n";

/* ARGV: prefix, cursor score ("" = start), cursor sid, batch, default
 * retain ms. Returns {"done"} or {score, sid} of the last session seen.
 * The next batch starts right after the cursor's rank; when the cursor
 * session is gone (swept meanwhile) it starts at the cursor's score,
 * skipping same-score ids not above the cursor's (zset order). */
static const char adopt_lua[] =
    "local p, n, dflt = ARGV[1], tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "if redis.call('EXISTS', p..'retention:adopted') == 1 then return {'done'} end\n"
    "local min = ARGV[2] == '' and '-inf' or ARGV[2]\n"
    "local r = ARGV[3] ~= '' and redis.call('ZRANK', p..'sessions', ARGV[3])\n"
    "local got\n"
    "if r then got = redis.call('ZRANGE', p..'sessions', r + 1, r + n, 'WITHSCORES')\n"
    "else got = redis.call('ZRANGEBYSCORE', p..'sessions', min, '+inf', 'WITHSCORES', 'LIMIT', "
    "0, n) end\n"
    "local last_s, last_id = ARGV[2], ARGV[3]\n"
    "for i = 1, #got, 2 do\n"
    "  local sid, sc = got[i], got[i + 1]\n"
    "  if not (sc == ARGV[2] and sid <= ARGV[3]) then\n"
    "    local m = redis.call('HMGET', p..'session:'..sid, 'status', 'ended_ms', 'retain_ms',\n"
    "      'created_ms')\n"
    "    local st = m[1]\n"
    "    if (st == 'completed' or st == 'failed' or st == 'cancelled') and\n"
    "       not redis.call('ZSCORE', p..'expiry', sid) then\n"
    "      local t = tonumber(m[2] or '') or tonumber(m[4] or '') or 0\n"
    "      redis.call('ZADD', p..'expiry', t + (tonumber(m[3] or '') or dflt), sid)\n"
    "    end\n"
    "  end\n"
    "  last_s, last_id = sc, sid\n"
    "end\n"
    "if #got < 2 * n or (last_s == ARGV[2] and last_id == ARGV[3]) then\n"
    "  redis.call('SET', p..'retention:adopted', '1')\n"
    "  return {'done'}\n"
    "end\n"
    "return {last_s, last_id}\n";

void
wt_retain_init(wt_retain_t *self, wt_store_t *store, int64_t tombstones_max)
{
    memset(self, 0, sizeof *self);
    self->store = store;
    self->tombstones_max = tombstones_max > 0 ? tombstones_max : WT_RETAIN_TOMBSTONES;
    wt_redis_script_init(&self->sweep, sweep_lua);
    wt_redis_script_init(&self->adopt, adopt_lua);
}

int
wt_retain_adopt(wt_retain_t *self, int batch, int64_t default_retain_ms, wt_err_t *err)
{
    if (strcmp(self->cursor, "done") == 0)
        return 1;
    char score[40] = "", sid[64] = "", n[16], dflt[24];
    if (self->cursor[0] && sscanf(self->cursor, "%39s %63s", score, sid) != 2)
        score[0] = sid[0] = '\0';
    snprintf(n, sizeof n, "%d", batch > 0 ? batch : 1);
    snprintf(dflt, sizeof dflt, "%lld", (long long)default_retain_ms);
    const char *argv[] = {self->store->prefix, score, sid, n, dflt};
    redisReply *r = wt_redis_eval(self->store->redis, &self->adopt, 0, 5, argv, NULL, err);
    if (r == NULL)
        return -1;
    int rc = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_STRING) {
        snprintf(self->cursor, sizeof self->cursor, "done");
        rc = 1;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[0]->type == REDIS_REPLY_STRING &&
               r->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(self->cursor, sizeof self->cursor, "%s %s", r->element[0]->str,
                 r->element[1]->str);
        rc = 0;
    } else
        wt_err_set(err, WT_EPROTO, "retention adopt: unexpected script reply");
    freeReplyObject(r);
    return rc;
}

int
wt_retain_sweep(wt_retain_t *self, int batch, int *expired, wt_err_t *err)
{
    char n[16], life[24], maxt[24], gone[24];
    snprintf(n, sizeof n, "%d", batch > 0 ? batch : 1);
    snprintf(life, sizeof life, "%lld", (long long)WT_RETAIN_TOMBSTONE_MS);
    snprintf(maxt, sizeof maxt, "%lld", (long long)self->tombstones_max);
    snprintf(gone, sizeof gone, "%d", WT_RETAIN_WORKER_GONE_MS);
    const char *argv[] = {self->store->prefix, n, life, maxt, gone};
    redisReply *r = wt_redis_eval(self->store->redis, &self->sweep, 0, 5, argv, NULL, err);
    if (r == NULL)
        return -1;
    int taken = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER) {
        if (expired)
            *expired = (int)r->element[0]->integer;
        taken = (int)r->element[1]->integer;
    } else
        wt_err_set(err, WT_EPROTO, "retention sweep: unexpected script reply");
    freeReplyObject(r);
    return taken;
}

int
wt_retain_parse(const char *what, const char *text, int64_t *ms, wt_err_t *err)
{
    int64_t v = wt_clock_parse_duration_ms(text);
    if (v < WT_RETAIN_MIN_MS || v > WT_RETAIN_MAX_MS)
        return wt_err_set(err, WT_EINVAL, "bad %s '%s': want a duration from 1s to 3650d", what,
                          text ? text : "");
    *ms = v;
    return 0;
}
