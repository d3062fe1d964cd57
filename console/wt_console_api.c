/* wt_console_api - JSON answers from Redis.
 *
 * Lists never scan events: a session summary is one HMGET of the session
 * hash (the worker keeps `stuck` and `issues` there), pipelined for a whole
 * batch of candidates. A list request reads batches of its index (the
 * `sessions` zset, or a run's or a parent's) newest first until it has one
 * match more than `limit` (so the last page says next_cursor null), the
 * index ends, or WT_CONSOLE_API_SCAN_MAX candidates were examined; then the
 * cursor names the last candidate examined and the next page goes on from
 * there. Trees are read breadth first, one pipelined round trip per level.
 * A read that fails halfway drops the connection (wt_redis reconnects), so
 * no pipelined reply is ever left owed. */
#include "wt_console_api.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_console_page.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The hash fields of a summary, in HMGET order. */
static const char *const sum_fields[] = {
    "id",    "workflow",     "goal",          "status",     "outcome",    "parent",   "run",
    "phase", "worker",       "attempt",       "created_ms", "started_ms", "ended_ms", "step",
    "turns", "input_tokens", "output_tokens", "stuck",      "issues"};

enum { SUM_N = sizeof sum_fields / sizeof sum_fields[0] };

enum {
    F_ID,
    F_WORKFLOW,
    F_GOAL,
    F_STATUS,
    F_OUTCOME,
    F_PARENT,
    F_RUN,
    F_PHASE,
    F_WORKER,
    F_ATTEMPT,
    F_CREATED
};

static const char *const sum_numeric[] = {"attempt", "created_ms",   "started_ms",    "ended_ms",
                                          "turns",   "input_tokens", "output_tokens", "issues"};

json_t *
wt_console_api_string(const char *s)
{
    if (s == NULL)
        return json_string("");
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    char *copy = wt_xstrdup(s); /* not UTF-8: keep ASCII, mask the rest */
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j ? j : json_string("");
}

json_t *
wt_console_api_number(const char *s)
{
    if (s == NULL || *s == '\0')
        return json_integer(0);
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0)
        return json_integer(n);
    double d = strtod(s, &end);
    return json_integer(*end == '\0' && isfinite(d) ? (json_int_t)d : 0);
}

/* Parses text as JSON; NULL when it is empty or not JSON. */
static json_t *
parse(const char *text)
{
    if (text == NULL || *text == '\0')
        return NULL;
    return json_loads(text, JSON_DECODE_ANY, NULL);
}

static int
is_numeric(const char *field)
{
    for (size_t i = 0; i < sizeof sum_numeric / sizeof sum_numeric[0]; i++)
        if (strcmp(field, sum_numeric[i]) == 0)
            return 1;
    return 0;
}

/* A summary from values in sum_fields order (NULL entries are unset). */
static json_t *
summary(const char *const *v, const char *sid)
{
    json_t *o = json_object();
    for (int i = 0; i < SUM_N; i++) {
        const char *val = i == F_ID && (v[i] == NULL || *v[i] == '\0') ? sid : v[i];
        json_object_set_new(o, sum_fields[i],
                            is_numeric(sum_fields[i]) ? wt_console_api_number(val)
                                                      : wt_console_api_string(val));
    }
    json_object_set_new(o, "children", json_integer(0));
    return o;
}

/* Values of an HMGET reply in sum_fields order; 0 when the hash is missing. */
static int
hmget_values(const redisReply *r, const char **v)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != SUM_N)
        return 0;
    int any = 0;
    for (int i = 0; i < SUM_N; i++) {
        v[i] = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : NULL;
        any |= v[i] != NULL;
    }
    return any && v[F_STATUS] != NULL;
}

static int
append_hmget(wt_store_t *store, const char *sid, wt_err_t *err)
{
    char key[160];
    const char *argv[2 + SUM_N] = {"HMGET",
                                   wt_store_key(store, key, sizeof key, "session:%s", sid)};
    for (int i = 0; i < SUM_N; i++)
        argv[2 + i] = sum_fields[i];
    return wt_redis_append(store->redis, 2 + SUM_N, argv, NULL, err);
}

/* Reads n pipelined replies (an error reply becomes NULL). Fails, freeing
 * them all, only when the connection broke. */
static int
read_replies(wt_redis_t *redis, int n, redisReply **out, wt_err_t *err)
{
    wt_err_t first = {0};
    for (int i = 0; i < n; i++) {
        wt_err_t e = {0};
        out[i] = wt_redis_get_reply(redis, &e);
        if (out[i] == NULL && first.code == WT_OK)
            first = e;
    }
    if (wt_redis_connected(redis))
        return 0;
    for (int i = 0; i < n; i++)
        if (out[i])
            freeReplyObject(out[i]);
    if (err)
        *err = first.code != WT_OK ? first : (wt_err_t){.code = WT_EIO, .msg = "redis lost"};
    return -1;
}

/* Sets "children" of each summary to its children count (one pipeline). */
static int
count_children(wt_store_t *store, json_t *summaries, wt_err_t *err)
{
    size_t n = json_array_size(summaries), i;
    json_t *s;
    if (n == 0)
        return 0;
    json_array_foreach(summaries, i, s)
    {
        char key[160];
        const char *argv[] = {"ZCARD", wt_store_key(store, key, sizeof key, "session:%s:children",
                                                    json_string_value(json_object_get(s, "id")))};
        if (wt_redis_append(store->redis, 2, argv, NULL, err) != 0) {
            wt_redis_disconnect(store->redis);
            return -1;
        }
    }
    redisReply **r = wt_xcalloc(n, sizeof *r);
    if (read_replies(store->redis, (int)n, r, err) != 0) {
        free(r);
        return -1;
    }
    json_array_foreach(summaries, i, s)
    {
        if (r[i] && r[i]->type == REDIS_REPLY_INTEGER)
            json_object_set_new(s, "children", json_integer(r[i]->integer));
        if (r[i])
            freeReplyObject(r[i]);
    }
    free(r);
    return 0;
}

/* --- GET /api/sessions --- */

static int
matches(const wt_console_sessions_query_t *q, const char **v)
{
#define EQ(field, want) (strcmp(v[field] ? v[field] : "", want) == 0)
    if (q->status[0] && !EQ(F_STATUS, q->status))
        return 0;
    if (q->workflow[0] && !EQ(F_WORKFLOW, q->workflow))
        return 0;
    if (q->worker[0] && !EQ(F_WORKER, q->worker))
        return 0;
    if (q->run[0] && !EQ(F_RUN, q->run))
        return 0;
    if (q->parent[0] && !EQ(F_PARENT, q->parent))
        return 0;
    if (q->roots && !(EQ(F_PARENT, "") && EQ(F_RUN, "")))
        return 0;
    return 1;
#undef EQ
}

typedef struct scan {
    const wt_console_sessions_query_t *q; /* the filters */
    json_t *found;                        /* summaries that matched (limit + 1 at most) */
    wt_console_cursor_t last_match;       /* position of found[limit - 1] */
    wt_console_cursor_t last_seen;        /* last candidate examined */
    int examined;                         /* candidates examined */
} scan_t;

/* Examines one batch; returns 1 when the scan is done, 0 to go on, -1. */
static int
scan_batch(wt_store_t *store, scan_t *s, const wt_console_page_t *pg, wt_err_t *err)
{
    for (int i = 0; i < pg->nitems; i++)
        if (append_hmget(store, pg->items[i].id, err) != 0) {
            wt_redis_disconnect(store->redis);
            return -1;
        }
    redisReply **r = wt_xcalloc((size_t)pg->nitems, sizeof *r);
    if (read_replies(store->redis, pg->nitems, r, err) != 0) {
        free(r);
        return -1;
    }
    int done = 0;
    for (int i = 0; i < pg->nitems; i++) {
        const char *v[SUM_N];
        if (!done) {
            s->examined++;
            s->last_seen = pg->items[i];
            if (hmget_values(r[i], v) && matches(s->q, v)) {
                if ((int)json_array_size(s->found) < s->q->page.limit)
                    s->last_match = pg->items[i];
                json_array_append_new(s->found, summary(v, pg->items[i].id));
            }
            done = (int)json_array_size(s->found) > s->q->page.limit ||
                   s->examined >= WT_CONSOLE_API_SCAN_MAX;
        }
        if (r[i])
            freeReplyObject(r[i]);
    }
    free(r);
    return done;
}

json_t *
wt_console_api_sessions(wt_store_t *store, const wt_console_sessions_query_t *q, wt_err_t *err)
{
    char key[160];
    if (q->parent[0])
        wt_store_key(store, key, sizeof key, "session:%s:children", q->parent);
    else if (q->run[0])
        wt_store_key(store, key, sizeof key, "run:%s:sessions", q->run);
    else
        wt_store_key(store, key, sizeof key, "sessions");
    wt_console_page_t pg;
    wt_console_page_init(&pg, store->redis, key, q->page.has_cursor ? &q->page.cursor : NULL);
    scan_t s = {.q = q, .found = json_array()};
    int batch = q->page.limit * 2 + 8, rc = 0, n = 0;
    while (rc == 0 && (n = wt_console_page_next(&pg, batch, err)) > 0) {
        rc = scan_batch(store, &s, &pg, err);
        batch = batch * 2 > WT_CONSOLE_PAGE_BATCH_MAX ? WT_CONSOLE_PAGE_BATCH_MAX : batch * 2;
    }
    wt_console_page_release(&pg);
    if (rc < 0 || n < 0) {
        json_decref(s.found);
        return NULL;
    }
    char cur[128];
    json_t *next = json_null();
    if ((int)json_array_size(s.found) > q->page.limit) {
        json_array_remove(s.found, (size_t)q->page.limit);
        wt_console_query_cursor_encode(s.last_match.ms, s.last_match.id, cur, sizeof cur);
        next = json_string(cur);
    } else if (rc == 1) { /* the work bound stopped the scan: go on from there */
        wt_console_query_cursor_encode(s.last_seen.ms, s.last_seen.id, cur, sizeof cur);
        next = json_string(cur);
    }
    if (count_children(store, s.found, err) != 0) {
        json_decref(s.found);
        json_decref(next);
        return NULL;
    }
    return json_pack("{s:o,s:o}", "sessions", s.found, "next_cursor", next);
}

/* --- GET /api/sessions/<sid> --- */

static const char *
hash_get(const redisReply *h, const char *field)
{
    for (size_t i = 0; h && i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, field) == 0)
            return h->element[i + 1]->type == REDIS_REPLY_STRING ? h->element[i + 1]->str : NULL;
    return NULL;
}

json_t *
wt_console_api_event(const redisReply *entry, const char *session)
{
    if (entry == NULL || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return NULL;
    const char *id = entry->element[0]->str;
    const redisReply *f = entry->element[1];
    const char *type = hash_get(f, "type"), *data = hash_get(f, "data");
    const char *sess = hash_get(f, "session");
    json_t *d = parse(data);
    if (d == NULL)
        d = data ? wt_console_api_string(data) : json_object();
    json_t *o = json_object();
    json_object_set_new(o, "id", wt_console_api_string(id));
    json_object_set_new(o, "type", wt_console_api_string(type));
    if (sess || session)
        json_object_set_new(o, "session", wt_console_api_string(sess ? sess : session));
    json_object_set_new(o, "ts_ms", json_integer(strtoll(id, NULL, 10)));
    json_object_set_new(o, "data", d);
    return o;
}

/* "MS-SEQ", both decimal: what XADD gives; nothing else reaches XRANGE. */
static int
stream_id_ok(const char *id)
{
    size_t n = strspn(id, "0123456789");
    if (n == 0 || n > 20 || id[n] != '-')
        return 0;
    size_t m = strspn(id + n + 1, "0123456789");
    return m > 0 && m <= 20 && id[n + 1 + m] == '\0';
}

json_t *
wt_console_api_event_get(wt_store_t *store, const char *sid, const char *id, wt_err_t *err)
{
    if (!stream_id_ok(id)) {
        wt_err_set(err, WT_EINVAL, "bad event id '%.40s': expected MS-SEQ", id);
        return NULL;
    }
    char key[176];
    if (sid)
        wt_store_key(store, key, sizeof key, "session:%s:events", sid);
    else
        wt_store_key(store, key, sizeof key, "events");
    const char *argv[] = {"XRANGE", key, id, id};
    redisReply *r = wt_redis_commandv(store->redis, 4, argv, NULL, err);
    if (r == NULL)
        return NULL;
    json_t *e = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1)
        e = wt_console_api_event(r->element[0], sid);
    if (e == NULL)
        wt_err_set(err, WT_ENOTFOUND, "no event '%s'%s%s", id, sid ? " in session " : "",
                   sid ? sid : "");
    freeReplyObject(r);
    return e;
}

/* The detail: summary plus context, output, error, limits and depth. */
static json_t *
detail(const redisReply *h, const char *sid)
{
    const char *v[SUM_N];
    for (int i = 0; i < SUM_N; i++)
        v[i] = hash_get(h, sum_fields[i]);
    json_t *o = summary(v, sid);
    json_t *ctx = parse(hash_get(h, "context"));
    json_object_set_new(o, "context", json_is_object(ctx) ? ctx : json_object());
    if (!json_is_object(ctx))
        json_decref(ctx);
    json_t *out = parse(hash_get(h, "output"));
    json_object_set_new(o, "output", json_is_object(out) ? out : json_null());
    if (!json_is_object(out))
        json_decref(out);
    json_object_set_new(o, "error", wt_console_api_string(hash_get(h, "error")));
    json_object_set_new(o, "timeout_ms", wt_console_api_number(hash_get(h, "timeout_ms")));
    json_object_set_new(o, "max_turns", wt_console_api_number(hash_get(h, "max_turns")));
    json_object_set_new(o, "depth", wt_console_api_number(hash_get(h, "depth")));
    return o;
}

json_t *
wt_console_api_session(wt_store_t *store, const char *sid, wt_err_t *err)
{
    char hk[160], ek[176], ck[176], count[16];
    wt_store_key(store, hk, sizeof hk, "session:%s", sid);
    wt_store_key(store, ek, sizeof ek, "session:%s:events", sid);
    wt_store_key(store, ck, sizeof ck, "session:%s:children", sid);
    snprintf(count, sizeof count, "%d", WT_CONSOLE_API_EVENTS_MAX + 1);
    const char *a1[] = {"HGETALL", hk}, *a2[] = {"XREVRANGE", ek, "+", "-", "COUNT", count},
               *a3[] = {"ZCARD", ck};
    if (wt_redis_append(store->redis, 2, a1, NULL, err) != 0 ||
        wt_redis_append(store->redis, 6, a2, NULL, err) != 0 ||
        wt_redis_append(store->redis, 2, a3, NULL, err) != 0) {
        wt_redis_disconnect(store->redis);
        return NULL;
    }
    redisReply *r[3];
    if (read_replies(store->redis, 3, r, err) != 0)
        return NULL;
    json_t *answer = NULL;
    if (r[0] == NULL || r[0]->type != REDIS_REPLY_ARRAY || r[0]->elements == 0)
        wt_err_set(err, r[0] ? WT_ENOTFOUND : WT_EIO, "no session '%s'", sid);
    else {
        json_t *d = detail(r[0], sid);
        if (r[2] && r[2]->type == REDIS_REPLY_INTEGER)
            json_object_set_new(d, "children", json_integer(r[2]->integer));
        json_t *events = json_array();
        size_t n = r[1] && r[1]->type == REDIS_REPLY_ARRAY ? r[1]->elements : 0;
        int truncated = n > WT_CONSOLE_API_EVENTS_MAX;
        if (truncated)
            n = WT_CONSOLE_API_EVENTS_MAX;
        for (size_t i = n; i-- > 0;) { /* XREVRANGE is newest first */
            json_t *e = wt_console_api_event(r[1]->element[i], NULL);
            if (e)
                json_array_append_new(events, e);
        }
        answer = json_pack("{s:o,s:o,s:b}", "session", d, "events", events, "truncated", truncated);
    }
    for (int i = 0; i < 3; i++)
        if (r[i])
            freeReplyObject(r[i]);
    return answer;
}

/* --- trees --- */

typedef struct pend {
    json_t *node;    /* borrowed: the node (held by its parent's array or the result) */
    const char *sid; /* borrowed from node's "id" */
} pend_t;

/* Builds the nodes of sids (HMGET each), appending those that exist to
 * into and to *level. */
static int
load_nodes(wt_store_t *store, const char *const *sids, json_t **into, int n, pend_t **level,
           int *nlevel, wt_err_t *err)
{
    for (int i = 0; i < n; i++)
        if (append_hmget(store, sids[i], err) != 0) {
            wt_redis_disconnect(store->redis);
            return -1;
        }
    redisReply **r = wt_xcalloc((size_t)(n ? n : 1), sizeof *r);
    if (read_replies(store->redis, n, r, err) != 0) {
        free(r);
        return -1;
    }
    *level = wt_xcalloc((size_t)(n ? n : 1), sizeof **level);
    *nlevel = 0;
    for (int i = 0; i < n; i++) {
        const char *v[SUM_N];
        if (hmget_values(r[i], v)) {
            json_t *node = summary(v, sids[i]);
            json_object_set_new(node, "nodes", json_array());
            json_array_append_new(into[i], node);
            (*level)[*nlevel].node = node;
            (*level)[(*nlevel)++].sid = json_string_value(json_object_get(node, "id"));
        }
        if (r[i])
            freeReplyObject(r[i]);
    }
    free(r);
    return 0;
}

/* Reads the children of every node of level (oldest first, at most what
 * the budget allows) and loads them as the next level. */
static int
next_level(wt_store_t *store, pend_t *level, int nlevel, int *budget, pend_t **out, int *nout,
           wt_err_t *err)
{
    char stop[16];
    snprintf(stop, sizeof stop, "%d", *budget); /* budget + 1 entries tell whether more exist */
    for (int i = 0; i < nlevel; i++) {
        char key[176];
        const char *argv[] = {
            "ZRANGE", wt_store_key(store, key, sizeof key, "session:%s:children", level[i].sid),
            "0", stop};
        if (wt_redis_append(store->redis, 4, argv, NULL, err) != 0) {
            wt_redis_disconnect(store->redis);
            return -1;
        }
    }
    redisReply **r = wt_xcalloc((size_t)(nlevel ? nlevel : 1), sizeof *r);
    if (read_replies(store->redis, nlevel, r, err) != 0) {
        free(r);
        return -1;
    }
    const char **sids = NULL;
    json_t **into = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < nlevel; i++) {
        size_t kids = r[i] && r[i]->type == REDIS_REPLY_ARRAY ? r[i]->elements : 0;
        json_t *arr = json_object_get(level[i].node, "nodes");
        json_object_set_new(level[i].node, "children", json_integer((json_int_t)kids));
        for (size_t k = 0; k < kids; k++) {
            if (*budget <= 0 || r[i]->element[k]->type != REDIS_REPLY_STRING) {
                json_object_set_new(level[i].node, "more", json_true());
                break;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                sids = wt_xrealloc(sids, (size_t)cap * sizeof *sids);
                into = wt_xrealloc(into, (size_t)cap * sizeof *into);
            }
            sids[n] = r[i]->element[k]->str;
            into[n++] = arr;
            (*budget)--;
        }
    }
    int rc = load_nodes(store, sids, into, n, out, nout, err);
    for (int i = 0; i < nlevel; i++)
        if (r[i])
            freeReplyObject(r[i]);
    free(r);
    free(sids);
    free(into);
    return rc;
}

json_t *
wt_console_api_nodes(wt_store_t *store, const char *const *sids, int n, int *budget, wt_err_t *err)
{
    json_t *result = json_array();
    if (n > *budget)
        n = *budget;
    *budget -= n;
    json_t **into = wt_xcalloc((size_t)(n ? n : 1), sizeof *into);
    for (int i = 0; i < n; i++)
        into[i] = result;
    pend_t *level = NULL;
    int nlevel = 0;
    int rc = load_nodes(store, sids, into, n, &level, &nlevel, err);
    free(into);
    while (rc == 0 && nlevel > 0) {
        pend_t *next = NULL;
        int nnext = 0;
        rc = next_level(store, level, nlevel, budget, &next, &nnext, err);
        free(level);
        level = next;
        nlevel = nnext;
    }
    free(level);
    if (rc != 0) {
        json_decref(result);
        return NULL;
    }
    return result;
}

json_t *
wt_console_api_tree(wt_store_t *store, const char *sid, wt_err_t *err)
{
    int budget = WT_CONSOLE_API_NODES_MAX;
    json_t *nodes = wt_console_api_nodes(store, &sid, 1, &budget, err);
    if (nodes == NULL)
        return NULL;
    json_t *root = json_incref(json_array_get(nodes, 0));
    json_decref(nodes);
    if (root == NULL)
        wt_err_set(err, WT_ENOTFOUND, "no session '%s'", sid);
    return root;
}

/* --- workers and stats --- */

static int
by_name(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "name")),
                  json_string_value(json_object_get(y, "name")));
}

/* The worker records named by the <prefix>workers index (each worker adds
 * itself with every record write; the broker's sweep drops names silent for
 * a minute), so finding them never SCANs the keyspace. A name whose record
 * has expired (10 s TTL) reads as an empty hash and is skipped. */
static int
worker_keys(wt_store_t *store, char ***keys, int *n, wt_err_t *err)
{
    char idx[80], min[32];
    wt_store_key(store, idx, sizeof idx, "workers");
    snprintf(min, sizeof min, "%lld", (long long)(wt_clock_now_ms() - WT_CONSOLE_API_WORKER_MS));
    redisReply *r = wt_redis_command(store->redis, err, "ZRANGEBYSCORE %s %s +inf", idx, min);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return wt_err_set(err, WT_EPROTO, "ZRANGEBYSCORE %s returned an unexpected reply", idx);
    }
    *keys = wt_xcalloc(r->elements ? r->elements : 1, sizeof **keys);
    *n = 0;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            (*keys)[(*n)++] = wt_xasprintf("%sworker:%s", store->prefix, r->element[i]->str);
    freeReplyObject(r);
    return 0;
}

static json_t *
worker_json(const redisReply *h, const char *name)
{
    json_t *running = parse(hash_get(h, "running"));
    if (!json_is_array(running)) {
        json_decref(running);
        running = json_array();
    }
    const char *draining = hash_get(h, "draining");
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}", "name", wt_console_api_string(name),
                     "host", wt_console_api_string(hash_get(h, "host")), "pid",
                     wt_console_api_number(hash_get(h, "pid")), "slots",
                     wt_console_api_number(hash_get(h, "slots")), "free",
                     wt_console_api_number(hash_get(h, "free")), "running", running, "version",
                     wt_console_api_string(hash_get(h, "version")), "last_seen_ms",
                     wt_console_api_number(hash_get(h, "last_seen_ms")), "draining",
                     draining != NULL && strcmp(draining, "1") == 0);
}

static json_t *
workers_list(wt_store_t *store, wt_err_t *err)
{
    char **keys = NULL;
    int n = 0;
    if (worker_keys(store, &keys, &n, err) != 0)
        return NULL;
    int rc = 0;
    redisReply **r = wt_xcalloc((size_t)(n ? n : 1), sizeof *r);
    for (int base = 0; base < n && rc == 0; base += WT_CONSOLE_PAGE_BATCH_MAX) {
        int m = n - base < WT_CONSOLE_PAGE_BATCH_MAX ? n - base : WT_CONSOLE_PAGE_BATCH_MAX;
        for (int i = base; i < base + m && rc == 0; i++) {
            const char *argv[] = {"HGETALL", keys[i]};
            rc = wt_redis_append(store->redis, 2, argv, NULL, err);
        }
        if (rc != 0)
            wt_redis_disconnect(store->redis);
        else if ((rc = read_replies(store->redis, m, r + base, err)) != 0)
            memset(r + base, 0, (size_t)m * sizeof *r); /* read_replies freed them */
    }
    json_t **items = wt_xcalloc((size_t)(n ? n : 1), sizeof *items);
    int m = 0;
    size_t plen = strlen(store->prefix) + strlen("worker:");
    for (int i = 0; i < n; i++) {
        if (rc == 0 && r[i] && r[i]->type == REDIS_REPLY_ARRAY && r[i]->elements > 0)
            items[m++] = worker_json(r[i], keys[i] + plen);
        if (r[i])
            freeReplyObject(r[i]);
        free(keys[i]);
    }
    free(keys);
    free(r);
    qsort(items, (size_t)m, sizeof *items, by_name);
    json_t *list = json_array();
    for (int i = 0; i < m; i++)
        json_array_append_new(list, items[i]);
    free(items);
    if (rc != 0) {
        json_decref(list);
        return NULL;
    }
    return list;
}

json_t *
wt_console_api_workers(wt_store_t *store, wt_err_t *err)
{
    json_t *list = workers_list(store, err);
    return list ? json_pack("{s:o}", "workers", list) : NULL;
}

json_t *
wt_console_api_stats(wt_store_t *store, wt_err_t *err)
{
    char qk[80], rk[80], sk[80];
    wt_store_key(store, qk, sizeof qk, "queue");
    wt_store_key(store, rk, sizeof rk, "running");
    wt_store_key(store, sk, sizeof sk, "sessions");
    const char *a1[] = {"ZCARD", qk}, *a2[] = {"HLEN", rk}, *a3[] = {"ZCARD", sk};
    if (wt_redis_append(store->redis, 2, a1, NULL, err) != 0 ||
        wt_redis_append(store->redis, 2, a2, NULL, err) != 0 ||
        wt_redis_append(store->redis, 2, a3, NULL, err) != 0) {
        wt_redis_disconnect(store->redis);
        return NULL;
    }
    redisReply *r[3];
    if (read_replies(store->redis, 3, r, err) != 0)
        return NULL;
    long long v[3];
    for (int i = 0; i < 3; i++)
        v[i] = r[i] && r[i]->type == REDIS_REPLY_INTEGER ? r[i]->integer : 0;
    for (int i = 0; i < 3; i++)
        if (r[i])
            freeReplyObject(r[i]);
    /* exact however long the queue (wt_store_oldest_queued) */
    int64_t entered = 0, now = wt_clock_now_ms();
    int has = wt_store_oldest_queued(store, &entered, err);
    if (has < 0)
        return NULL;
    double age = has && entered > 0 && now > entered ? (double)(now - entered) / 1000.0 : 0.0;
    json_t *workers = workers_list(store, err);
    if (workers == NULL)
        return NULL;
    long long slots = 0, free_slots = 0;
    size_t i;
    json_t *w;
    json_array_foreach(workers, i, w)
    {
        slots += json_integer_value(json_object_get(w, "slots"));
        free_slots += json_integer_value(json_object_get(w, "free"));
    }
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "queued", (json_int_t)v[0], "running",
                          (json_int_t)v[1], "workers", (json_int_t)json_array_size(workers),
                          "slots_total", (json_int_t)slots, "slots_free", (json_int_t)free_slots,
                          "sessions_total", (json_int_t)v[2], "oldest_queued_age_s", age);
    json_decref(workers);
    return o;
}
