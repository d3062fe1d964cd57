/* wt_console_runs - runs as lists and trees.
 *
 * A run record (wt:run:<id>) holds its phases as a JSON array in pipeline
 * order. The sessions of a phase are the run's sessions (wt:run:<id>:
 * sessions, oldest first) whose hash names that phase and no parent, plus
 * any the record lists that the index lacks; each becomes a tree node, so
 * spawn_agent children hang below it. */
#include "wt_console_runs.h"

#include "wt_alloc.h"
#include "wt_console_api.h"
#include "wt_console_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const run_fields[] = {"id",         "pipeline", "status", "created_ms",
                                         "updated_ms", "ended_ms", "phases", "inputs"};

enum { R_ID, R_PIPELINE, R_STATUS, R_CREATED, R_UPDATED, R_ENDED, R_PHASES, R_INPUTS, R_N };

static const char *
str_at(const redisReply *r, int i)
{
    return r && r->type == REDIS_REPLY_ARRAY && (size_t)i < r->elements &&
                   r->element[i]->type == REDIS_REPLY_STRING
               ? r->element[i]->str
               : NULL;
}

/* Summary from an HMGET of run_fields and the ZCARD of its sessions. */
static json_t *
run_summary(const redisReply *h, const redisReply *count, const char *id)
{
    json_t *phases = json_loads(str_at(h, R_PHASES) ? str_at(h, R_PHASES) : "[]", 0, NULL);
    json_t *o = json_object();
    json_object_set_new(o, "id", wt_console_api_string(str_at(h, R_ID) ? str_at(h, R_ID) : id));
    json_object_set_new(o, "pipeline", wt_console_api_string(str_at(h, R_PIPELINE)));
    json_object_set_new(o, "status", wt_console_api_string(str_at(h, R_STATUS)));
    json_object_set_new(o, "created_ms", wt_console_api_number(str_at(h, R_CREATED)));
    json_object_set_new(o, "updated_ms", wt_console_api_number(str_at(h, R_UPDATED)));
    json_object_set_new(o, "ended_ms", wt_console_api_number(str_at(h, R_ENDED)));
    json_object_set_new(o, "phases", json_integer((json_int_t)json_array_size(phases)));
    json_object_set_new(
        o, "sessions",
        json_integer(count && count->type == REDIS_REPLY_INTEGER ? count->integer : 0));
    json_decref(phases);
    return o;
}

/* Queues HMGET run_fields + ZCARD sessions of run id. */
static int
append_run(wt_store_t *store, const char *id, wt_err_t *err)
{
    char hk[160], sk[176];
    const char *a1[2 + R_N] = {"HMGET", wt_store_key(store, hk, sizeof hk, "run:%s", id)};
    for (int i = 0; i < R_N; i++)
        a1[2 + i] = run_fields[i];
    const char *a2[] = {"ZCARD", wt_store_key(store, sk, sizeof sk, "run:%s:sessions", id)};
    if (wt_redis_append(store->redis, 2 + R_N, a1, NULL, err) != 0 ||
        wt_redis_append(store->redis, 2, a2, NULL, err) != 0) {
        wt_redis_disconnect(store->redis);
        return -1;
    }
    return 0;
}

/* Reads the two replies of append_run; *h NULL when the run is missing. */
static int
read_run(wt_store_t *store, redisReply **h, redisReply **count, wt_err_t *err)
{
    wt_err_t e = {0};
    *h = wt_redis_get_reply(store->redis, &e);
    *count = wt_redis_get_reply(store->redis, err);
    if (!wt_redis_connected(store->redis)) {
        if (*h)
            freeReplyObject(*h);
        if (*count)
            freeReplyObject(*count);
        if (err && e.code != WT_OK)
            *err = e;
        return -1;
    }
    if (*h && str_at(*h, R_STATUS) == NULL && str_at(*h, R_PHASES) == NULL) {
        freeReplyObject(*h);
        *h = NULL;
    }
    return 0;
}

#define RUNS_SCAN_MAX 20000 /* index entries read per /api/runs request */

json_t *
wt_console_runs_list(wt_store_t *store, const wt_console_page_query_t *q, wt_err_t *err)
{
    char key[80];
    wt_console_page_t pg;
    wt_console_page_init(&pg, store->redis, wt_store_key(store, key, sizeof key, "runs"),
                         q->has_cursor ? &q->cursor : NULL);
    json_t *runs = json_array();
    wt_console_cursor_t last = {0};
    int n = 0, rc = 0, more = 0, scanned = 0;
    while (!more && rc == 0 && (n = wt_console_page_next(&pg, q->limit + 1, err)) > 0) {
        for (int i = 0; i < n && rc == 0; i++)
            rc = append_run(store, pg.items[i].id, err);
        for (int i = 0; i < n && rc == 0; i++) {
            redisReply *h, *count;
            if ((rc = read_run(store, &h, &count, err)) != 0)
                break;
            if (h != NULL && !more) {
                if ((int)json_array_size(runs) == q->limit)
                    more = 1;
                else {
                    json_array_append_new(runs, run_summary(h, count, pg.items[i].id));
                    last = pg.items[i];
                }
            }
            if (h)
                freeReplyObject(h);
            if (count)
                freeReplyObject(count);
            /* Index entries whose record is gone cost a read each: bound the
             * work per request like /api/sessions and hand back a cursor. */
            if (!more && ++scanned >= RUNS_SCAN_MAX && json_array_size(runs) < (size_t)q->limit) {
                last = pg.items[i];
                more = 1;
            }
        }
    }
    wt_console_page_release(&pg);
    if (rc != 0 || n < 0) {
        json_decref(runs);
        return NULL;
    }
    char cur[128];
    wt_console_query_cursor_encode(last.ms, last.id, cur, sizeof cur);
    return json_pack("{s:o,s:o}", "runs", runs, "next_cursor",
                     more ? json_string(cur) : json_null());
}

/* The run's sessions oldest first, each with its phase and parent. */
static int
run_sessions(wt_store_t *store, const char *id, redisReply **ids, redisReply ***meta, wt_err_t *err)
{
    char key[176], stop[16];
    snprintf(stop, sizeof stop, "%d", WT_CONSOLE_RUNS_SESSIONS_MAX - 1);
    *ids = wt_redis_command(store->redis, err, "ZRANGE %s 0 %s",
                            wt_store_key(store, key, sizeof key, "run:%s:sessions", id), stop);
    if (*ids == NULL)
        return -1;
    size_t n = (*ids)->type == REDIS_REPLY_ARRAY ? (*ids)->elements : 0;
    *meta = wt_xcalloc(n ? n : 1, sizeof **meta);
    for (size_t i = 0; i < n; i++) {
        char hk[160];
        const char *argv[] = {
            "HMGET", wt_store_key(store, hk, sizeof hk, "session:%s", (*ids)->element[i]->str),
            "phase", "parent"};
        if (wt_redis_append(store->redis, 4, argv, NULL, err) != 0) {
            wt_redis_disconnect(store->redis);
            break;
        }
    }
    for (size_t i = 0; i < n && wt_redis_connected(store->redis); i++)
        (*meta)[i] = wt_redis_get_reply(store->redis, err);
    if (wt_redis_connected(store->redis))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((*meta)[i])
            freeReplyObject((*meta)[i]);
    free(*meta);
    *meta = NULL;
    freeReplyObject(*ids);
    *ids = NULL;
    return -1;
}

/* The session ids of phase pid: from the index, then those only the record
 * lists. Borrowed strings; the caller frees the array. */
static const char **
phase_sids(const char *pid, const json_t *ph, const redisReply *ids, redisReply **meta, int *n)
{
    size_t cap = (ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0) +
                 json_array_size(json_object_get(ph, "sessions")) + 1;
    const char **out = wt_xcalloc(cap, sizeof *out);
    *n = 0;
    for (size_t i = 0; ids->type == REDIS_REPLY_ARRAY && i < ids->elements; i++) {
        const char *phase = str_at(meta[i], 0), *parent = str_at(meta[i], 1);
        if (phase && strcmp(phase, pid) == 0 && (parent == NULL || *parent == '\0'))
            out[(*n)++] = ids->element[i]->str;
    }
    size_t k;
    json_t *s;
    json_array_foreach(json_object_get(ph, "sessions"), k, s)
    {
        const char *sid = json_string_value(s);
        int seen = sid == NULL || !wt_console_query_id_ok(sid);
        for (int j = 0; j < *n && !seen; j++)
            seen = strcmp(out[j], sid) == 0;
        if (!seen)
            out[(*n)++] = sid;
    }
    return out;
}

static json_t *
phase_json(const json_t *ph)
{
    static const char *const text[] = {"id", "state", "outcome", "reason", "workflow"};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        const char *v = json_string_value(json_object_get(ph, text[i]));
        json_object_set_new(o, text[i], wt_console_api_string(v));
    }
    json_object_set_new(o, "attempts",
                        json_integer(json_integer_value(json_object_get(ph, "attempts"))));
    json_t *needs = json_object_get(ph, "needs");
    json_object_set_new(o, "needs", json_is_array(needs) ? json_deep_copy(needs) : json_array());
    return o;
}

static json_t *
run_phases(wt_store_t *store, const char *id, json_t *record_phases, wt_err_t *err)
{
    redisReply *ids, **meta;
    if (run_sessions(store, id, &ids, &meta, err) != 0)
        return NULL;
    json_t *out = json_array();
    int budget = WT_CONSOLE_API_NODES_MAX;
    size_t i;
    json_t *ph;
    json_array_foreach(record_phases, i, ph)
    {
        json_t *o = phase_json(ph);
        int n;
        const char **sids =
            phase_sids(json_string_value(json_object_get(o, "id")), ph, ids, meta, &n);
        json_t *nodes = wt_console_api_nodes(store, sids, n, &budget, err);
        free(sids);
        if (nodes == NULL) {
            json_decref(o);
            json_decref(out);
            out = NULL;
            break;
        }
        json_object_set_new(o, "nodes", nodes);
        json_array_append_new(out, o);
    }
    for (size_t k = 0; ids->type == REDIS_REPLY_ARRAY && k < ids->elements; k++)
        if (meta[k])
            freeReplyObject(meta[k]);
    free(meta);
    freeReplyObject(ids);
    return out;
}

json_t *
wt_console_runs_get(wt_store_t *store, const char *id, wt_err_t *err)
{
    redisReply *h, *count;
    if (append_run(store, id, err) != 0 || read_run(store, &h, &count, err) != 0)
        return NULL;
    if (h == NULL) {
        if (count)
            freeReplyObject(count);
        wt_err_set(err, WT_ENOTFOUND, "no run '%s'", id);
        return NULL;
    }
    json_t *run = run_summary(h, count, id);
    json_t *inputs = json_loads(str_at(h, R_INPUTS) ? str_at(h, R_INPUTS) : "{}", 0, NULL);
    json_object_set_new(run, "inputs", json_is_object(inputs) ? inputs : json_object());
    if (!json_is_object(inputs))
        json_decref(inputs);
    json_t *phases = json_loads(str_at(h, R_PHASES) ? str_at(h, R_PHASES) : "[]", 0, NULL);
    freeReplyObject(h);
    freeReplyObject(count);
    json_t *tree = run_phases(store, id, json_is_array(phases) ? phases : NULL, err);
    json_decref(phases);
    if (tree == NULL) {
        json_decref(run);
        return NULL;
    }
    return json_pack("{s:o,s:o}", "run", run, "phases", tree);
}
