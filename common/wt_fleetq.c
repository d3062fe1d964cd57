/* wt_fleetq - the fleet's knowledge out of Redis (see wt_fleetq.h).
 *
 * Sessions are found by walking <p>sessions newest first in batches, one
 * pipelined HMGET per batch, and matching in C: the fleet keeps no text
 * index, and a bounded scan (WT_FLEETQ_SCAN_MAX per call, resumable with
 * the cursor) costs far less than keeping one. The cursor pins the upper
 * time bound of the first page ("UNTIL:OFFSET"), so sessions created while
 * an agent pages do not shift the pages it has not read yet. */
#include "wt_fleetq.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH      200
#define NFIELDS    10
#define EVENTS_MAX 2000 /* events read for one session's notes */

static const char *const list_fields[NFIELDS] = {"id",  "workflow",   "goal", "status", "outcome",
                                                 "run", "created_ms", "step", "output", "error"};

int
wt_fleetq_sid_ok(const char *sid)
{
    if (sid == NULL || strlen(sid) != 26)
        return 0;
    for (const char *p = sid; *p; p++)
        if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", *p))
            return 0;
    return 1;
}

char *
wt_fleetq_dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    return s ? s : wt_xstrdup("null");
}

/* Size of j serialised. */
static size_t
dumped_size(const json_t *j)
{
    return json_dumpb(j, NULL, 0, JSON_COMPACT);
}

/* A new string of at most n bytes of s (cut at a UTF-8 boundary, "..."
 * appended when cut). */
static char *
cut(const char *s, size_t n)
{
    if (s == NULL)
        return wt_xstrdup("");
    size_t len = strlen(s);
    if (len <= n)
        return wt_xstrdup(s);
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    char *out = wt_xmalloc(n + 4);
    memcpy(out, s, n);
    memcpy(out + n, "...", 4);
    return out;
}

static json_t *
cut_json(const char *s, size_t n)
{
    char *c = cut(s, n);
    json_t *j = json_string(c);
    free(c);
    return j ? j : json_string("");
}

static const char *
str_or(const redisReply *r, const char *dflt)
{
    return r && r->type == REDIS_REPLY_STRING ? r->str : dflt;
}

static int
empty(const char *s)
{
    return s == NULL || *s == '\0';
}

/* The notes of an output JSON ({context, notes, artifacts}), new string. */
static char *
output_notes(const char *output)
{
    if (empty(output))
        return wt_xstrdup("");
    json_t *o = json_loads(output, 0, NULL);
    const char *n = json_string_value(json_object_get(o, "notes"));
    char *r = wt_xstrdup(n ? n : "");
    json_decref(o);
    return r;
}

/* --- sessions --- */

static int
bad_limit(int limit, wt_err_t *err)
{
    if (limit >= 1 && limit <= WT_FLEETQ_LIMIT_MAX)
        return 0;
    wt_err_set(err, WT_EINVAL, "limit %d out of range 1..%d", limit, WT_FLEETQ_LIMIT_MAX);
    return 1;
}

static int
parse_cursor(const char *c, int64_t *until, long *off)
{
    char *end;
    long long u = strtoll(c, &end, 10);
    if (end == c || *end != ':' || u < 0)
        return -1;
    const char *o = end + 1;
    long v = strtol(o, &end, 10);
    if (end == o || *end != '\0' || v < 0 || v > 100000000)
        return -1;
    *until = u;
    *off = v;
    return 0;
}

static int
matches(const wt_fleetq_filter_t *f, redisReply *const *v, const char *notes)
{
    if (!empty(f->status) && strcmp(str_or(v[3], ""), f->status) != 0)
        return 0;
    if (!empty(f->outcome) && strcmp(str_or(v[4], ""), f->outcome) != 0)
        return 0;
    if (!empty(f->workflow) && strcmp(str_or(v[1], ""), f->workflow) != 0)
        return 0;
    if (!empty(f->run) && strcmp(str_or(v[5], ""), f->run) != 0)
        return 0;
    if (!empty(f->text) && !strcasestr(str_or(v[2], ""), f->text) && !strcasestr(notes, f->text) &&
        !strcasestr(str_or(v[9], ""), f->text))
        return 0;
    return 1;
}

static json_t *
session_item(redisReply *const *v, const char *notes)
{
    const char *err = str_or(v[9], "");
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:o}", "id", str_or(v[0], ""), "workflow",
                     str_or(v[1], ""), "status", str_or(v[3], ""), "outcome", str_or(v[4], ""),
                     "run", str_or(v[5], ""), "created_ms",
                     (json_int_t)strtoll(str_or(v[6], "0"), NULL, 10), "step", str_or(v[7], ""),
                     "goal", cut_json(str_or(v[2], ""), WT_FLEETQ_TEXT_CHARS), "summary",
                     cut_json(*err ? err : notes, WT_FLEETQ_TEXT_CHARS));
}

/* Pipelines one HMGET per id; replies[i] gets the reply (NULL on error). */
static int
hmget_batch(wt_store_t *st, redisReply *ids, redisReply **replies, wt_err_t *err)
{
    int failed = 0;
    for (size_t i = 0; i < ids->elements; i++) {
        char key[128];
        wt_store_key(st, key, sizeof key, "session:%s", ids->element[i]->str);
        const char *argv[2 + NFIELDS] = {"HMGET", key};
        for (int k = 0; k < NFIELDS; k++)
            argv[2 + k] = list_fields[k];
        if (wt_redis_append(st->redis, 2 + NFIELDS, argv, NULL, err) != 0) {
            failed = 1;
            break;
        }
    }
    /* read every reply queued, even after an error, so none is left for the next command */
    for (size_t i = 0; i < ids->elements; i++)
        replies[i] = failed ? NULL : wt_redis_get_reply(st->redis, err);
    for (size_t i = 0; i < ids->elements && !failed; i++)
        if (replies[i] == NULL || replies[i]->type != REDIS_REPLY_ARRAY ||
            replies[i]->elements != NFIELDS)
            failed = replies[i] ? wt_err_set(err, WT_EPROTO, "HMGET of a session: unexpected reply")
                                : -1;
    return failed ? -1 : 0;
}

json_t *
wt_fleetq_sessions(wt_store_t *st, const wt_fleetq_filter_t *f, wt_err_t *err)
{
    int limit = f->limit ? f->limit : 20;
    if (bad_limit(limit, err))
        return NULL;
    if (f->since_ms < 0 || f->until_ms < 0)
        return wt_err_set(err, WT_EINVAL, "since_ms/until_ms must not be negative"), NULL;
    int64_t until = f->until_ms ? f->until_ms : wt_clock_now_ms();
    long off = 0;
    if (!empty(f->cursor) && parse_cursor(f->cursor, &until, &off) != 0)
        return wt_err_set(err, WT_EINVAL, "bad cursor '%.40s' (pass next_cursor as given)",
                          f->cursor),
               NULL;
    char key[96], max[24], min[24];
    wt_store_key(st, key, sizeof key, "sessions");
    snprintf(max, sizeof max, "%lld", (long long)until);
    snprintf(min, sizeof min, "%lld", (long long)f->since_ms);
    json_t *list = json_array();
    size_t used = 64, scanned = 0;
    int more = 1, full = 0;
    while (!full && more && scanned < WT_FLEETQ_SCAN_MAX) {
        redisReply *ids = wt_redis_command(st->redis, err, "ZREVRANGEBYSCORE %s %s %s LIMIT %ld %d",
                                           key, max, min, off, BATCH);
        if (ids == NULL || ids->type != REDIS_REPLY_ARRAY) {
            if (ids)
                freeReplyObject(ids);
            json_decref(list);
            return NULL;
        }
        if (ids->elements < BATCH)
            more = 0;
        redisReply **rs = wt_xcalloc(ids->elements + 1, sizeof *rs);
        int rc = hmget_batch(st, ids, rs, err);
        for (size_t i = 0; rc == 0 && i < ids->elements && !full; i++) {
            if (scanned >= WT_FLEETQ_SCAN_MAX) {
                more = 1;
                break;
            }
            redisReply *const *v = rs[i]->element;
            if (v[0]->type != REDIS_REPLY_STRING) { /* gone meanwhile (retention) */
                off++, scanned++;
                continue;
            }
            char *notes = output_notes(str_or(v[8], ""));
            int consumed = 1;
            if (matches(f, v, notes)) {
                json_t *it = session_item(v, notes);
                size_t sz = dumped_size(it) + 1;
                if (used + sz > WT_FLEETQ_BUDGET_BYTES) {
                    json_decref(it);
                    full = more = 1; /* not consumed: the next page starts with it */
                    consumed = 0;
                } else {
                    json_array_append_new(list, it);
                    used += sz;
                    if ((int)json_array_size(list) == limit) {
                        full = 1;
                        more = i + 1 < ids->elements || ids->elements == BATCH;
                    }
                }
            }
            free(notes);
            if (consumed)
                off++, scanned++;
        }
        for (size_t i = 0; i < ids->elements; i++)
            if (rs[i])
                freeReplyObject(rs[i]);
        free(rs);
        freeReplyObject(ids);
        if (rc != 0) {
            json_decref(list);
            return NULL;
        }
    }
    json_t *next = json_null();
    if (more) {
        char c[48];
        snprintf(c, sizeof c, "%lld:%ld", (long long)until, off);
        json_decref(next);
        next = json_string(c);
    }
    return json_pack("{s:o,s:I,s:o}", "sessions", list, "scanned", (json_int_t)scanned,
                     "next_cursor", next);
}

/* --- one session --- */

/* {step, notes} of step_advanced, {kind, severity, summary} of
 * issue_reported, from the session's first EVENTS_MAX events. */
static int
scan_events(wt_store_t *st, const char *sid, json_t *notes, json_t *issues, wt_err_t *err)
{
    char key[128];
    wt_store_key(st, key, sizeof key, "session:%s:events", sid);
    redisReply *r = wt_redis_command(st->redis, err, "XRANGE %s - + COUNT %d", key, EVENTS_MAX);
    if (r == NULL)
        return -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
            continue;
        const char *type = wt_redis_field(e->element[1], "type");
        const char *data = wt_redis_field(e->element[1], "data");
        if (type == NULL || data == NULL)
            continue;
        int is_note = strcmp(type, "step_advanced") == 0;
        if (!is_note && strcmp(type, "issue_reported") != 0)
            continue;
        json_t *d = json_loads(data, 0, NULL);
        if (is_note)
            json_array_append_new(notes,
                                  json_pack("{s:s,s:o}", "step",
                                            json_string_value(json_object_get(d, "step"))
                                                ? json_string_value(json_object_get(d, "step"))
                                                : "",
                                            "notes",
                                            cut_json(json_string_value(json_object_get(d, "notes")),
                                                     WT_FLEETQ_NOTE_CHARS)));
        else
            json_array_append_new(
                issues,
                json_pack("{s:s?,s:s?,s:o}", "kind", json_string_value(json_object_get(d, "kind")),
                          "severity", json_string_value(json_object_get(d, "severity")), "summary",
                          cut_json(json_string_value(json_object_get(d, "summary")),
                                   WT_FLEETQ_TEXT_CHARS)));
        json_decref(d);
    }
    freeReplyObject(r);
    return 0;
}

json_t *
wt_fleetq_notes(wt_store_t *st, const char *sid, wt_err_t *err)
{
    if (!wt_fleetq_sid_ok(sid))
        return wt_err_set(err, WT_EINVAL, "session id must be a 26-character ULID (got '%.40s')",
                          sid ? sid : ""),
               NULL;
    char key[128];
    wt_store_key(st, key, sizeof key, "session:%s", sid);
    redisReply *h = wt_redis_command(
        st->redis, err, "HMGET %s id workflow goal status outcome run step error output", key);
    if (h == NULL)
        return NULL;
    if (h->type != REDIS_REPLY_ARRAY || h->elements != 9 ||
        h->element[0]->type != REDIS_REPLY_STRING) {
        freeReplyObject(h);
        return wt_err_set(err, WT_ENOTFOUND, "no session %s", sid), NULL;
    }
    redisReply *const *v = h->element;
    json_t *notes = json_array(), *issues = json_array();
    if (scan_events(st, sid, notes, issues, err) != 0) {
        freeReplyObject(h);
        json_decref(notes);
        json_decref(issues);
        return NULL;
    }
    json_t *out = json_loads(str_or(v[8], ""), 0, NULL);
    json_t *ctx = json_incref(json_object_get(out, "context"));
    json_decref(out);
    if (ctx == NULL)
        ctx = json_object();
    if (dumped_size(ctx) > WT_FLEETQ_BUDGET_BYTES / 4) {
        char *s = wt_fleetq_dump(ctx);
        json_decref(ctx);
        ctx = cut_json(s, WT_FLEETQ_BUDGET_BYTES / 4);
        free(s);
    }
    json_t *j = json_pack(
        "{s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:b}", "id", sid, "workflow",
        str_or(v[1], ""), "goal", cut_json(str_or(v[2], ""), WT_FLEETQ_NOTE_CHARS), "status",
        str_or(v[3], ""), "outcome", str_or(v[4], ""), "run", str_or(v[5], ""), "step",
        str_or(v[6], ""), "error", cut_json(str_or(v[7], ""), WT_FLEETQ_NOTE_CHARS), "notes", notes,
        "issues", issues, "output_context", ctx, "truncated", 0);
    freeReplyObject(h);
    /* over budget: drop the oldest issues and notes first (the newest say most) */
    while (dumped_size(j) > WT_FLEETQ_BUDGET_BYTES &&
           (json_array_size(notes) > 1 || json_array_size(issues) > 0)) {
        if (json_array_size(issues) > json_array_size(notes) || json_array_size(notes) <= 1)
            json_array_remove(issues, 0);
        else
            json_array_remove(notes, 0);
        json_object_set_new(j, "truncated", json_true());
    }
    return j;
}

/* --- status --- */

/* The newest step note of sid (new string, "" when none in its last 100 events). */
static char *
latest_note(wt_store_t *st, const char *sid)
{
    char key[128];
    wt_store_key(st, key, sizeof key, "session:%s:events", sid);
    redisReply *r = wt_redis_command(st->redis, NULL, "XREVRANGE %s + - COUNT 100", key);
    char *note = NULL;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && !note; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
            continue;
        const char *type = wt_redis_field(e->element[1], "type");
        if (type == NULL || strcmp(type, "step_advanced") != 0)
            continue;
        json_t *d = json_loads(
            wt_redis_field(e->element[1], "data") ? wt_redis_field(e->element[1], "data") : "", 0,
            NULL);
        note = cut(json_string_value(json_object_get(d, "notes")), WT_FLEETQ_TEXT_CHARS);
        json_decref(d);
    }
    if (r)
        freeReplyObject(r);
    return note ? note : wt_xstrdup("");
}

/* Appends item to arr if the answer stays in budget; 0 when it did not fit (item freed). */
static int
fit(json_t *arr, json_t *item, size_t *used)
{
    size_t sz = dumped_size(item) + 1;
    if (*used + sz > WT_FLEETQ_BUDGET_BYTES) {
        json_decref(item);
        return 0;
    }
    *used += sz;
    json_array_append_new(arr, item);
    return 1;
}

json_t *
wt_fleetq_status(wt_store_t *st, wt_err_t *err)
{
    char key[96];
    redisReply *q =
        wt_redis_command(st->redis, err, "ZCARD %s", wt_store_key(st, key, sizeof key, "queue"));
    if (q == NULL)
        return NULL;
    long long queued = q->type == REDIS_REPLY_INTEGER ? q->integer : 0;
    freeReplyObject(q);
    redisReply *run =
        wt_redis_command(st->redis, err, "HSCAN %s 0 COUNT %d",
                         wt_store_key(st, key, sizeof key, "running"), WT_FLEETQ_LIMIT_MAX);
    if (run == NULL)
        return NULL;
    redisReply *nrun = wt_redis_command(st->redis, NULL, "HLEN %s", key);
    json_t *running = json_array(), *workers = json_array();
    size_t used = 128;
    redisReply *pairs =
        run->type == REDIS_REPLY_ARRAY && run->elements == 2 ? run->element[1] : NULL;
    for (size_t i = 0; pairs && i + 1 < pairs->elements && i / 2 < WT_FLEETQ_LIMIT_MAX; i += 2) {
        const char *sid = pairs->element[i]->str;
        if (!wt_fleetq_sid_ok(sid))
            continue;
        char hk[128];
        wt_store_key(st, hk, sizeof hk, "session:%s", sid);
        redisReply *h = wt_redis_command(st->redis, NULL, "HMGET %s workflow step goal", hk);
        if (h == NULL || h->type != REDIS_REPLY_ARRAY || h->elements != 3) {
            if (h)
                freeReplyObject(h);
            continue;
        }
        char *note = latest_note(st, sid);
        json_t *it =
            json_pack("{s:s,s:s,s:s,s:s,s:o,s:o}", "id", sid, "workflow", str_or(h->element[0], ""),
                      "step", str_or(h->element[1], ""), "worker",
                      pairs->element[i + 1]->str ? pairs->element[i + 1]->str : "", "goal",
                      cut_json(str_or(h->element[2], ""), WT_FLEETQ_TEXT_CHARS), "latest_note",
                      json_string(note));
        free(note);
        freeReplyObject(h);
        if (!fit(running, it, &used))
            break;
    }
    freeReplyObject(run);
    redisReply *ws =
        wt_redis_command(st->redis, NULL, "ZREVRANGE %s 0 %d",
                         wt_store_key(st, key, sizeof key, "workers"), WT_FLEETQ_LIMIT_MAX - 1);
    for (size_t i = 0; ws && ws->type == REDIS_REPLY_ARRAY && i < ws->elements; i++) {
        char wk[160];
        wt_store_key(st, wk, sizeof wk, "worker:%.100s", ws->element[i]->str);
        redisReply *h = wt_redis_command(st->redis, NULL, "HMGET %s slots free last_seen_ms", wk);
        if (h == NULL || h->type != REDIS_REPLY_ARRAY || h->elements != 3) {
            if (h)
                freeReplyObject(h);
            continue;
        }
        json_t *it = json_pack("{s:s,s:I,s:I,s:I}", "name", ws->element[i]->str, "slots",
                               (json_int_t)atoll(str_or(h->element[0], "0")), "free",
                               (json_int_t)atoll(str_or(h->element[1], "0")), "last_seen_ms",
                               (json_int_t)atoll(str_or(h->element[2], "0")));
        freeReplyObject(h);
        if (!fit(workers, it, &used))
            break;
    }
    if (ws)
        freeReplyObject(ws);
    long long n = nrun && nrun->type == REDIS_REPLY_INTEGER ? nrun->integer : 0;
    if (nrun)
        freeReplyObject(nrun);
    return json_pack("{s:I,s:I,s:o,s:o}", "queued", (json_int_t)queued, "running_total",
                     (json_int_t)n, "running", running, "workers", workers);
}

/* --- inbox and ideas --- */

static int
stream_id_ok(const char *id)
{
    size_t n = strspn(id, "0123456789");
    return n > 0 && n < 21 && id[n] == '-' && strspn(id + n + 1, "0123456789") > 0 &&
           id[n + 1 + strspn(id + n + 1, "0123456789")] == '\0';
}

/* A stream entry as {id, field: value cut, ...}. */
static json_t *
entry_json(redisReply *e, size_t cap)
{
    json_t *o = json_pack("{s:s}", "id", e->element[0]->str);
    redisReply *f = e->element[1];
    for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements; k += 2)
        if (f->element[k]->type == REDIS_REPLY_STRING &&
            f->element[k + 1]->type == REDIS_REPLY_STRING)
            json_object_set_new(o, f->element[k]->str, cut_json(f->element[k + 1]->str, cap));
    return o;
}

json_t *
wt_fleetq_inbox(wt_store_t *st, const char *kind, int limit, const char *before, wt_err_t *err)
{
    if (limit == 0)
        limit = 20;
    if (bad_limit(limit, err))
        return NULL;
    if (!empty(before) && !stream_id_ok(before))
        return wt_err_set(err, WT_EINVAL, "bad cursor '%.40s' (an inbox entry id, MS-SEQ)", before),
               NULL;
    char key[96], from[48];
    wt_store_key(st, key, sizeof key, "inbox");
    snprintf(from, sizeof from, "%s%s", empty(before) ? "+" : "(", empty(before) ? "" : before);
    json_t *list = json_array();
    size_t used = 64;
    int scanned = 0, full = 0, more = 1;
    char last[48] = "";
    while (!full && more && scanned < 5000) {
        redisReply *r =
            wt_redis_command(st->redis, err, "XREVRANGE %s %s - COUNT %d", key, from, BATCH);
        if (r == NULL) {
            json_decref(list);
            return NULL;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements < BATCH)
            more = 0;
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && !full; i++) {
            redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
                continue;
            const char *k = wt_redis_field(e->element[1], "kind");
            if (empty(kind) || (k && strcmp(k, kind) == 0)) {
                if (!fit(list, entry_json(e, WT_FLEETQ_TEXT_CHARS * 2), &used)) {
                    full = more = 1;
                    break;
                }
            }
            scanned++;
            wt_strlcpy(last, e->element[0]->str, sizeof last);
            if ((int)json_array_size(list) == limit) {
                full = 1;
                more = i + 1 < r->elements || r->elements == BATCH;
            }
        }
        freeReplyObject(r);
        snprintf(from, sizeof from, "(%s", last);
    }
    if (scanned >= 5000 && !full)
        more = 1;
    return json_pack("{s:o,s:o}", "entries", list, "next_cursor",
                     more && *last ? json_string(last) : json_null());
}

json_t *
wt_fleetq_ideas(wt_store_t *st, int limit, wt_err_t *err)
{
    if (limit == 0)
        limit = 20;
    if (bad_limit(limit, err))
        return NULL;
    char key[96];
    redisReply *r = wt_redis_command(st->redis, err, "XREVRANGE %s + - COUNT %d",
                                     wt_store_key(st, key, sizeof key, "ideas"), limit);
    if (r == NULL)
        return NULL;
    json_t *list = json_array();
    size_t used = 32;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ARRAY && r->element[i]->elements == 2 &&
            !fit(list, entry_json(r->element[i], WT_FLEETQ_NOTE_CHARS), &used))
            break;
    freeReplyObject(r);
    return json_pack("{s:o}", "ideas", list);
}

int
wt_fleetq_idea_id_ok(const char *id)
{
    return id && stream_id_ok(id);
}

int
wt_fleetq_idea_done(wt_store_t *st, const char *idea, const char *session, wt_err_t *err)
{
    if (!wt_fleetq_idea_id_ok(idea))
        return wt_err_set(err, WT_EINVAL,
                          "bad idea id '%.40s' (the id record_idea returned, MS-SEQ)",
                          idea ? idea : "");
    char key[96], done[96], ts[24];
    wt_store_key(st, key, sizeof key, "ideas");
    redisReply *r = wt_redis_command(st->redis, err, "XRANGE %s %s %s", key, idea, idea);
    if (r == NULL)
        return -1;
    int found = r->type == REDIS_REPLY_ARRAY && r->elements == 1;
    freeReplyObject(r);
    if (!found)
        return wt_err_set(err, WT_ENOTFOUND, "no idea %s", idea);
    snprintf(ts, sizeof ts, "%lld", (long long)wt_clock_now_ms());
    char *val = wt_xasprintf("%s %s", ts, session ? session : "");
    const char *argv[] = {"HSET", wt_store_key(st, done, sizeof done, "ideas:done"), idea, val};
    r = wt_redis_commandv(st->redis, 4, argv, NULL, err);
    free(val);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int
wt_fleetq_record_idea(wt_store_t *st, const char *title, const char *body, const char *tags,
                      const char *requires, const char *session, char *id_out, size_t cap,
                      wt_err_t *err)
{
    if (empty(title) || strlen(title) > WT_FLEETQ_IDEA_TITLE)
        return wt_err_set(err, WT_EINVAL, "title must be 1..%d bytes", WT_FLEETQ_IDEA_TITLE);
    if (body == NULL || strlen(body) > WT_FLEETQ_IDEA_BODY)
        return wt_err_set(err, WT_EINVAL, "body must be at most %d bytes", WT_FLEETQ_IDEA_BODY);
    if (tags && strlen(tags) > 200)
        return wt_err_set(err, WT_EINVAL, "tags must be at most 200 bytes");
    if (requires && strlen(requires) > 600)
        return wt_err_set(err, WT_EINVAL, "requires must be at most 600 bytes");
    char key[96], ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)wt_clock_now_ms());
    wt_store_key(st, key, sizeof key, "ideas");
    const char *argv[] = {"XADD",     key,
                          "MAXLEN",   "~",
                          "1000",     "*",
                          "title",    title,
                          "body",     body,
                          "tags",     tags ? tags : "",
                          "session",  session ? session : "",
                          "ts_ms",    ts,
                          "requires", requires ? requires : ""};
    redisReply *r = wt_redis_commandv(st->redis, 18, argv, NULL, err);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return wt_err_set(err, WT_EPROTO, "XADD %s: unexpected reply", key);
    }
    wt_strlcpy(id_out, r->str, cap);
    freeReplyObject(r);
    const char *fields[] = {"session",  session ? session : "",
                            "summary",  title,
                            "idea",     id_out,
                            "tags",     tags ? tags : "",
                            "requires", requires ? requires : ""};
    return wt_store_inbox_add(st, "idea", 10, fields, err);
}

/* --- memory --- */

char *
wt_fleetq_memory(wt_store_t *st, wt_err_t *err)
{
    char key[96];
    redisReply *r =
        wt_redis_command(st->redis, err, "GET %s", wt_store_key(st, key, sizeof key, "memory"));
    if (r == NULL)
        return NULL;
    char *s = wt_xstrdup(r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return s;
}

int
wt_fleetq_memory_set(wt_store_t *st, const char *text, wt_err_t *err)
{
    char key[96];
    char *c = cut(text, WT_FLEETQ_MEMORY_MAX - 4);
    const char *argv[] = {"SET", wt_store_key(st, key, sizeof key, "memory"), c};
    redisReply *r = wt_redis_commandv(st->redis, 3, argv, NULL, err);
    free(c);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* --- the talk bundle --- */

/* 1 when entry e is named by one of the acks (their ref is its id or run). */
static int
acked(json_t *acks, json_t *e)
{
    const char *id = json_string_value(json_object_get(e, "id"));
    const char *run = json_string_value(json_object_get(e, "run"));
    size_t i;
    json_t *a;
    json_array_foreach(acks, i, a)
    {
        const char *ref = json_string_value(json_object_get(a, "ref"));
        if (ref && *ref && ((id && strcmp(ref, id) == 0) || (run && strcmp(ref, run) == 0)))
            return 1;
    }
    return 0;
}

/* The newest n entries of kind, minus those acks (may be NULL) name. */
static void
bundle_inbox(wt_store_t *st, wt_buf_t *b, const char *kind, int n, const char *title, json_t *acks)
{
    json_t *j = wt_fleetq_inbox(st, kind, n, NULL, NULL);
    json_t *es = json_object_get(j, "entries");
    wt_buf_printf(b, NULL, "\n## %s\n", title);
    size_t i, shown = 0;
    json_t *e;
    json_array_foreach(es, i, e) shown += !acked(acks, e);
    if (shown == 0)
        wt_buf_puts(b, "(none)\n", NULL);
    json_array_foreach(es, i, e)
    {
        if (acked(acks, e))
            continue;
        const char *g = json_string_value(json_object_get(e, "outcome"));
        if (g == NULL)
            g = json_string_value(json_object_get(e, "severity"));
        wt_buf_printf(b, NULL, "- %s %s [%s%s%s] %s\n",
                      json_string_value(json_object_get(e, "session")) ?: "-",
                      json_string_value(json_object_get(e, "workflow")) ?: "",
                      json_string_value(json_object_get(e, "kind")) ?: "", g ? " " : "", g ? g : "",
                      json_string_value(json_object_get(e, "summary")) ?: "");
    }
    json_decref(j);
}

char *
wt_fleetq_bundle(wt_store_t *st, int n, wt_err_t *err)
{
    if (n < 1 || n > WT_FLEETQ_LIMIT_MAX)
        n = 10;
    char *mem = wt_fleetq_memory(st, err);
    if (mem == NULL)
        return NULL;
    wt_buf_t b;
    wt_buf_init(&b, WT_FLEETQ_BUDGET_BYTES); /* a full buffer refuses the rest: bounded */
    char iso[40];
    wt_clock_format_iso(wt_clock_now_ms(), iso, sizeof iso);
    wt_buf_printf(&b, NULL, "# WorkTrain fleet context (%s)\n\n## Project memory\n%s\n", iso,
                  *mem ? mem : "(none recorded yet)");
    free(mem);
    /* open escalations: those no `worktrain inbox --ack` names */
    json_t *acks = wt_fleetq_inbox(st, "ack", WT_FLEETQ_LIMIT_MAX, NULL, NULL);
    bundle_inbox(st, &b, "completion", n, "Last completions", NULL);
    bundle_inbox(st, &b, "escalation", 10, "Open escalations", json_object_get(acks, "entries"));
    bundle_inbox(st, &b, "issue", 10, "Reported issues", NULL);
    json_decref(acks);
    json_t *s = wt_fleetq_status(st, NULL);
    wt_buf_printf(&b, NULL, "\n## In flight (%lld queued)\n",
                  (long long)json_integer_value(json_object_get(s, "queued")));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(s, "running"), i, e)
    {
        wt_buf_printf(&b, NULL, "- %s %s step %s: %s\n",
                      json_string_value(json_object_get(e, "id")),
                      json_string_value(json_object_get(e, "workflow")),
                      json_string_value(json_object_get(e, "step")),
                      json_string_value(json_object_get(e, "latest_note")));
    }
    json_decref(s);
    json_t *ideas = wt_fleetq_ideas(st, 10, NULL);
    wt_buf_puts(&b, "\n## Recent ideas\n", NULL);
    json_array_foreach(json_object_get(ideas, "ideas"), i, e)
    {
        wt_buf_printf(&b, NULL, "- %s (%s) from %s\n",
                      json_string_value(json_object_get(e, "title")) ?: "",
                      json_string_value(json_object_get(e, "tags")) ?: "",
                      json_string_value(json_object_get(e, "session")) ?: "-");
    }
    json_decref(ideas);
    return wt_buf_detach(&b);
}
