/* wt_console_bench - bench run records as console JSON.
 *
 * The list reads the newest WT_CONSOLE_BENCH_RUNS_MAX ids of <p>bench:runs
 * and one HMGET per run (pipelined), keeping only each variant's metric
 * means from the stored summary so the page's chart stays small. The
 * detail reads one run's hash and turns its case:<variant>/<case>/<repeat>
 * fields into rows. */
#include "wt_console_bench.h"

#include "wt_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(r, i)                                                                                    \
    ((r)->type == REDIS_REPLY_ARRAY && (i) < (r)->elements &&                                      \
             (r)->element[i]->type == REDIS_REPLY_STRING                                           \
         ? (r)->element[i]->str                                                                    \
         : "")

/* The variants of a stored summary, means only. */
static json_t *
variants_brief(const json_t *summary)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(summary, "variants"), i, v)
    {
        json_t *m = json_object();
        const char *name;
        json_t *a;
        json_object_foreach(json_object_get(v, "aggregate"), name, a)
            json_object_set(m, name, json_object_get(a, "mean"));
        json_array_append_new(out,
                              json_pack("{s:O,s:O,s:o}", "name", json_object_get(v, "name"), "pass",
                                        json_object_get(v, "pass") ?: json_null(), "metrics", m));
    }
    return out;
}

static json_t *
run_json(const char *id, redisReply *h, int brief)
{
    json_t *sum = json_loads(S(h, 4), 0, NULL);
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:O}", "run", id, "suite", S(h, 0), "status",
                          S(h, 1), "started_ms", (json_int_t)strtoll(S(h, 2), NULL, 10), "ended_ms",
                          (json_int_t)strtoll(S(h, 3), NULL, 10), "pass",
                          json_object_get(sum, "pass") ?: json_null());
    if (brief)
        json_object_set_new(o, "variants", variants_brief(sum));
    else
        json_object_set(o, "summary", sum ? sum : json_null());
    json_decref(sum);
    return o;
}

json_t *
wt_console_bench_list(wt_store_t *store, wt_err_t *err)
{
    char key[128], rk[160];
    redisReply *ids = wt_redis_command(store->redis, err, "ZREVRANGE %s 0 %d",
                                       wt_store_key(store, key, sizeof key, "bench:runs"),
                                       WT_CONSOLE_BENCH_RUNS_MAX - 1);
    if (ids == NULL)
        return NULL;
    json_t *runs = json_array();
    for (size_t i = ids->type == REDIS_REPLY_ARRAY ? ids->elements : 0; i-- > 0;) {
        const char *id = ids->element[i]->str;
        redisReply *h =
            wt_redis_command(store->redis, err, "HMGET %s suite status started_ms ended_ms summary",
                             wt_store_key(store, rk, sizeof rk, "bench:%s", id));
        if (h == NULL) {
            json_decref(runs);
            freeReplyObject(ids);
            return NULL;
        }
        if (S(h, 0)[0])
            json_array_append_new(runs, run_json(id, h, 1));
        freeReplyObject(h);
    }
    freeReplyObject(ids);
    return json_pack("{s:o}", "runs", runs);
}

json_t *
wt_console_bench_get(wt_store_t *store, const char *id, wt_err_t *err)
{
    char rk[160];
    wt_store_key(store, rk, sizeof rk, "bench:%s", id);
    redisReply *h = wt_redis_command(store->redis, err,
                                     "HMGET %s suite status started_ms ended_ms summary", rk);
    if (h == NULL)
        return NULL;
    if (S(h, 0)[0] == '\0') {
        freeReplyObject(h);
        wt_err_set(err, WT_ENOTFOUND, "no bench run '%s'", id);
        return NULL;
    }
    json_t *run = run_json(id, h, 0);
    freeReplyObject(h);
    redisReply *all = wt_redis_command(store->redis, err, "HGETALL %s", rk);
    if (all == NULL) {
        json_decref(run);
        return NULL;
    }
    json_t *cases = json_array();
    for (size_t i = 0; all->type == REDIS_REPLY_ARRAY && i + 1 < all->elements; i += 2) {
        const char *f = all->element[i]->str;
        if (strncmp(f, "case:", 5) != 0)
            continue;
        json_t *c = json_loads(all->element[i + 1]->str, 0, NULL);
        if (c == NULL)
            continue;
        const char *slash = strchr(f + 5, '/');
        char variant[128];
        snprintf(variant, sizeof variant, "%.*s", slash ? (int)(slash - f - 5) : 0, f + 5);
        json_array_append_new(
            cases, json_pack("{s:s,s:O,s:O,s:O,s:O,s:O,s:O}", "variant", variant, "id",
                             json_object_get(c, "id"), "repeat", json_object_get(c, "repeat"),
                             "session", json_object_get(c, "session") ?: json_null(), "outcome",
                             json_object_get(c, "outcome"), "scores", json_object_get(c, "scores"),
                             "reason", json_object_get(c, "reason") ?: json_null()));
        json_decref(c);
    }
    freeReplyObject(all);
    return json_pack("{s:o,s:o}", "run", run, "cases", cases);
}
