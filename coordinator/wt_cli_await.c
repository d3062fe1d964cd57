/* wt_cli_await - `await`: waits for sessions to end.
 *
 * Race-free without polling: first note the newest id of the fleet stream
 * <prefix>events, then read every session's status from its hash, then
 * XREAD BLOCK the fleet stream from the noted id. A session that ends after
 * the status read has its session_completed after the noted id, so it is
 * seen; one that ended before is seen in its hash. One stream serves any
 * number of sessions (benchmarks await 20,000): each entry is matched to
 * the awaited ids through a sorted index in O(log n), and the hash read is
 * pipelined over only the sessions still open. The fleet stream is capped;
 * in case it ever trims entries we have not read, the open sessions' hashes
 * are read again when a block passes quietly and at least every 5 s. Each
 * block is bounded by the remaining timeout. */
#include "wt_alloc.h"
#include "wt_cli.h"
#include "wt_cli_common.h"
#include "wt_cli_util.h"
#include "wt_clock.h"
#include "wt_signal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define AWAIT_RECHECK_MS 5000 /* longest time between hash re-reads */
#define AWAIT_BLOCK_MS   1000 /* longest single XREAD BLOCK */

static const char await_usage[] =
    "usage: worktrain await SID... | --sessions A,B [--mode all|any] [--timeout DUR] [--json]\n"
    "                       [--redis URL]\n"
    "\n"
    "Waits until the sessions end (reads Redis; no polling). --json prints an array of\n"
    "{session, workflow, status, outcome, output, detail}. Exit 0 when every awaited session\n"
    "succeeded, 1 when one failed (or does not exist), 2 on timeout. A session deleted by\n"
    "retention (broker --retain) has status and outcome \"expired\" (exit 1).\n";

typedef struct awaiting {
    char **sids;       /* owned ids */
    json_t **results;  /* result per id once ended */
    int n;             /* ids */
    int ended;         /* how many have results */
    wt_cli_index_t ix; /* sids sorted, for stream entries */
} awaiting_t;

static void
push_sid(awaiting_t *a, const char *s)
{
    a->sids = wt_xrealloc(a->sids, (size_t)(a->n + 1) * sizeof *a->sids);
    a->sids[a->n++] = wt_xstrdup(s);
}

/* Stores result for every open slot awaiting sid (an id may be given
 * twice); takes the reference. */
static void
set_result(awaiting_t *a, const char *sid, json_t *result)
{
    int pos[8];
    int k = wt_cli_index_find(&a->ix, sid, pos, 8);
    for (int j = 0; j < k && j < 8; j++) {
        if (a->results[pos[j]] != NULL)
            continue;
        a->results[pos[j]] = json_incref(result);
        a->ended++;
    }
    json_decref(result);
}

/* 1 when sid is awaited and not yet ended. */
static int
is_open(const awaiting_t *a, const char *sid)
{
    int pos[8];
    int k = wt_cli_index_find(&a->ix, sid, pos, 8);
    for (int j = 0; j < k && j < 8; j++)
        if (a->results[pos[j]] == NULL)
            return 1;
    return 0;
}

/* Reads statuses of those not ended; fills results of terminal ones.
 * Returns -1 on Redis error, -2 when an id does not exist (named on stderr). */
static int
check_hashes(wt_redis_t *redis, wt_store_t *store, awaiting_t *a)
{
    wt_err_t err = {0};
    int sent = 0;
    for (int i = 0; i < a->n; i++) {
        if (a->results[i])
            continue;
        char key[128];
        wt_store_key(store, key, sizeof key, "session:%s", a->sids[i]);
        const char *argv[] = {"HGET", key, "status"};
        if (wt_redis_append(redis, 3, argv, NULL, &err) != 0)
            goto fail;
        sent++;
    }
    int missing = 0;
    int *terminal = wt_xcalloc((size_t)a->n + 1, sizeof *terminal);
    for (int i = 0; i < a->n && sent > 0; i++) {
        if (a->results[i])
            continue;
        sent--;
        redisReply *r = wt_redis_get_reply(redis, &err);
        if (r == NULL) {
            free(terminal);
            goto fail;
        }
        if (r->type != REDIS_REPLY_STRING) {
            terminal[i] = 2; /* gone: expired (a result from its tombstone) or unknown */
        } else if (wt_store_status_terminal(r->str)) {
            terminal[i] = 1;
        }
        freeReplyObject(r);
    }
    /* Only now, with every pipelined reply read, may other commands run. */
    for (int i = 0; i < a->n; i++) {
        err = (wt_err_t){0};
        json_t *res =
            terminal[i] && a->results[i] == NULL ? wt_store_result(store, a->sids[i], &err) : NULL;
        if (res)
            set_result(a, a->sids[i], res);
        else if (terminal[i] == 2 && err.code == WT_ENOTFOUND) {
            fprintf(stderr, "worktrain await: no session '%s'\n", a->sids[i]);
            missing = 1;
        } else if (terminal[i] == 2) {
            free(terminal);
            goto fail;
        }
    }
    free(terminal);
    return missing ? -2 : 0;
fail:
    fprintf(stderr, "worktrain await: %s\n", err.msg);
    return -1;
}

static int
done(const awaiting_t *a, int any)
{
    return any ? a->ended > 0 : a->ended == a->n;
}

/* Blocks on the fleet stream until something ends or block_ms passes.
 * Returns the number of entries read, -1 on a Redis error. */
static int
wait_events(wt_redis_t *redis, wt_store_t *store, awaiting_t *a, char *last_id, size_t cap,
            int64_t block_ms)
{
    char key[128];
    wt_store_key(store, key, sizeof key, "events");
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(redis, &err, "XREAD COUNT 2000 BLOCK %lld STREAMS %s %s",
                                     (long long)block_ms, key, last_id);
    if (r == NULL) {
        fprintf(stderr, "worktrain await: %s\n", err.msg);
        return -1;
    }
    int got = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *entries = r->element[0]->element[1];
        got = (int)entries->elements;
        for (size_t i = 0; i < entries->elements; i++) {
            redisReply *e = entries->element[i];
            snprintf(last_id, cap, "%s", e->element[0]->str);
            redisReply *f = e->element[1];
            const char *type = wt_redis_field(f, "type"), *sid = wt_redis_field(f, "session");
            if (type == NULL || sid == NULL || strcmp(type, "session_completed") != 0 ||
                !is_open(a, sid))
                continue;
            json_t *res = wt_store_result(store, sid, &err);
            if (res)
                set_result(a, sid, res);
        }
    }
    freeReplyObject(r);
    return got;
}

/* Prints what is known and returns await's exit code. */
static int
report(const awaiting_t *a, int any, int as_json)
{
    json_t *arr = json_array();
    for (int i = 0; i < a->n; i++) {
        json_t *r = a->results[i];
        if (as_json && r)
            json_array_append(arr, r);
        else if (!as_json)
            printf("%s %s\n", a->sids[i],
                   r ? json_string_value(json_object_get(r, "outcome")) ?: "?" : "pending");
    }
    if (as_json)
        wt_cli_print_json(stdout, arr);
    json_decref(arr);
    return wt_cli_await_exit(a->results, a->n, any);
}

static int
parse(int argc, char **argv, awaiting_t *a, wt_cli_conn_t *conn, int *any, int *as_json,
      int64_t *timeout_ms)
{
    static const struct option opts[] = {{"sessions", 1, 0, 's'},
                                         {"mode", 1, 0, 'm'},
                                         {"timeout", 1, 0, 't'},
                                         {"json", 0, 0, 'j'},
                                         {"redis", 1, 0, 'r'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            for (const char *p = optarg; *p;) {
                size_t len = strcspn(p, ",");
                if (len > 0) {
                    char *id = wt_xstrndup(p, len);
                    push_sid(a, id);
                    free(id);
                }
                p += len + (p[len] == ',');
            }
            break;
        case 'm':
            if (strcmp(optarg, "all") && strcmp(optarg, "any"))
                return wt_cli_usage_error("await", "--mode must be all or any, got '%s'", optarg);
            *any = strcmp(optarg, "any") == 0;
            break;
        case 't':
            if ((*timeout_ms = wt_clock_parse_duration_ms(optarg)) <= 0)
                return wt_cli_usage_error("await", "bad --timeout '%s' (e.g. 90s, 30m)", optarg);
            break;
        case 'j':
            *as_json = 1;
            break;
        case 'r':
            snprintf(conn->redis, sizeof conn->redis, "%s", optarg);
            break;
        case 'h':
            fputs(await_usage, stdout);
            return -1;
        default:
            return wt_cli_usage_error("await", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++)
        push_sid(a, argv[i]);
    if (a->n == 0)
        return wt_cli_usage_error("await", "no session ids given");
    return 0;
}

/* After a failed read: 1 when the connection had been lost and could be made
 * again (a Redis failover behind a sentinel URL is waited out, see
 * wt_cli_open_store_waiting), so the caller goes on waiting. */
static int
reconnected(wt_redis_t *redis)
{
    if (wt_redis_connected(redis))
        return 0; /* a server error, not a lost link */
    wt_err_t err = {0};
    if (wt_redis_connect(redis, &err) != 0)
        return 0;
    fprintf(stderr, "worktrain await: reconnected to Redis; still waiting\n");
    return 1;
}

/* Waits on a.sids; fills a.results. 0 when done waiting (all/any ended or
 * the deadline passed), 1 when an id does not exist, 2 on a Redis error. */
static int
await_sessions(const char *redis_url, awaiting_t *a, int any, int64_t timeout_ms)
{
    wt_redis_t *redis = NULL;
    wt_store_t store;
    if (wt_cli_open_store_waiting("await", redis_url, &redis, &store) != 0)
        return 2;
    a->results = wt_xcalloc((size_t)a->n, sizeof *a->results);
    int64_t deadline = wt_clock_mono_ms() + timeout_ms;
    char last[64] = "0-0", key[128];
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(redis, &err, "XREVRANGE %s + - COUNT 1",
                                     wt_store_key(&store, key, sizeof key, "events"));
    if (r && r->elements == 1)
        snprintf(last, sizeof last, "%s", r->element[0]->element[0]->str);
    if (r)
        freeReplyObject(r);
    wt_cli_index_build(&a->ix, a->sids, a->n);
    int rc = 0, hc = check_hashes(redis, &store, a);
    if (hc == -1 && reconnected(redis))
        hc = check_hashes(redis, &store, a);
    if (hc == -2)
        rc = 1;
    else if (hc < 0)
        rc = 2;
    int64_t checked = wt_clock_mono_ms();
    while (rc == 0 && !done(a, any) && !wt_signal_stopping()) {
        int64_t now = wt_clock_mono_ms(), left = deadline - now;
        if (left <= 0)
            break;
        int got = wait_events(redis, &store, a, last, sizeof last,
                              left < AWAIT_BLOCK_MS ? left : AWAIT_BLOCK_MS);
        if (got < 0 && !reconnected(redis)) {
            rc = 2;
        } else if (!done(a, any) &&
                   (got <= 0 || wt_clock_mono_ms() - checked >= AWAIT_RECHECK_MS)) {
            /* after a reconnect too: an end missed while the link was down */
            checked = wt_clock_mono_ms();
            hc = check_hashes(redis, &store, a);
            if (hc == -1 && reconnected(redis))
                hc = check_hashes(redis, &store, a);
            if (hc == -1)
                rc = 2;
        }
    }
    wt_cli_index_release(&a->ix);
    wt_redis_destroy(&redis);
    return rc;
}

static void
awaiting_release(awaiting_t *a)
{
    for (int i = 0; i < a->n; i++) {
        free(a->sids[i]);
        if (a->results)
            json_decref(a->results[i]);
    }
    free(a->sids);
    free(a->results);
}

json_t *
wt_cli_await_collect(const char *redis_url, char *const *sids, int n, long long timeout_ms,
                     int *rc_out)
{
    awaiting_t a = {0};
    for (int i = 0; i < n; i++)
        push_sid(&a, sids[i]);
    int rc = await_sessions(redis_url, &a, 0, timeout_ms);
    json_t *arr = json_array();
    for (int i = 0; i < a.n; i++)
        if (a.results && a.results[i])
            json_array_append(arr, a.results[i]);
    *rc_out = rc ? rc : wt_cli_await_exit(a.results, a.n, 0);
    awaiting_release(&a);
    return arr;
}

int
wt_cli_await_main(int argc, char **argv)
{
    awaiting_t a = {0};
    wt_cli_conn_t conn;
    wt_cli_conn_defaults(&conn);
    int any = 0, as_json = 0;
    int64_t timeout_ms = 365LL * 24 * 3600 * 1000;
    int rc = parse(argc, argv, &a, &conn, &any, &as_json, &timeout_ms);
    if (rc == 0) {
        wt_signal_install();
        rc = await_sessions(conn.redis, &a, any, timeout_ms);
        if (rc == 0)
            rc = report(&a, any, as_json);
    }
    awaiting_release(&a);
    return rc < 0 ? 0 : rc;
}
