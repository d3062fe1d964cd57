/* wt_cli_inspect - read-only verbs: status, logs, workflows, validate. */
#include "wt_alloc.h"
#include "wt_cli.h"
#include "wt_cli_common.h"
#include "wt_clock.h"
#include "wt_signal.h"
#include "wt_workflow.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Simple verbs take --json, --redis and positional arguments. */
static int
simple_opts(const char *verb, const char *usage, int argc, char **argv, wt_cli_conn_t *conn,
            int *as_json)
{
    static const struct option opts[] = {
        {"json", 0, 0, 'j'}, {"redis", 1, 0, 'r'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    wt_cli_conn_defaults(conn);
    int c;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            *as_json = 1;
        else if (c == 'r')
            snprintf(conn->redis, sizeof conn->redis, "%s", optarg);
        else if (c == 'h')
            return fputs(usage, stdout), -1;
        else
            return wt_cli_usage_error(verb, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    return 0;
}

static const char *
hget(redisReply *r, const char *name)
{
    for (size_t i = 0; r && i + 1 < r->elements; i += 2)
        if (strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1]->str;
    return "";
}

static void
fmt_time(const char *ms, char *out, size_t cap)
{
    if (ms == NULL || *ms == '\0') {
        snprintf(out, cap, "-");
        return;
    }
    time_t t = (time_t)(strtoll(ms, NULL, 10) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
wt_cli_status_main(int argc, char **argv)
{
    wt_cli_conn_t conn;
    int as_json = 0;
    int rc = simple_opts("status",
                         "usage: worktrain status SID [--json] [--redis URL]\n\nShows a session's "
                         "state, current step, turns, tokens, worker and stuck signals.\n",
                         argc, argv, &conn, &as_json);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (optind != argc - 1)
        return wt_cli_usage_error("status", "expected exactly one session id");
    const char *sid = argv[optind];
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("status", conn.redis, &redis, &store) != 0)
        return 1;
    char key[128];
    wt_err_t err = {0};
    redisReply *h = wt_redis_command(redis, &err, "HGETALL %s",
                                     wt_store_key(&store, key, sizeof key, "session:%s", sid));
    if (h == NULL || h->elements == 0) {
        fprintf(stderr, "worktrain status: %s\n", h ? "no such session" : err.msg);
        if (h)
            freeReplyObject(h);
        wt_redis_destroy(&redis);
        return 1;
    }
    redisReply *ev =
        wt_redis_command(redis, &err, "XRANGE %s - +",
                         wt_store_key(&store, key, sizeof key, "session:%s:events", sid));
    int stuck = 0;
    char last_reason[64] = "";
    for (size_t i = 0; ev && i < ev->elements; i++) {
        redisReply *f = ev->element[i]->element[1];
        if (strcmp(hget(f, "type"), "agent_stuck") != 0)
            continue;
        stuck++;
        json_t *d = json_loads(hget(f, "data"), 0, NULL);
        snprintf(last_reason, sizeof last_reason, "%s",
                 json_string_value(json_object_get(d, "reason")) ?: "");
        json_decref(d);
    }
    if (as_json) {
        json_t *o = json_object();
        for (size_t i = 0; i + 1 < h->elements; i += 2)
            json_object_set_new(o, h->element[i]->str, json_string(h->element[i + 1]->str));
        json_object_set_new(o, "turns", json_integer(strtoll(hget(h, "turns"), NULL, 10)));
        json_object_set_new(o, "stuck_signals", json_integer(stuck));
        json_object_set_new(o, "last_stuck_reason", json_string(last_reason));
        wt_cli_print_json(stdout, o);
        json_decref(o);
    } else {
        char created[32], started[32], ended[32];
        fmt_time(hget(h, "created_ms"), created, sizeof created);
        fmt_time(hget(h, "started_ms"), started, sizeof started);
        fmt_time(hget(h, "ended_ms"), ended, sizeof ended);
        printf("session   %s\nworkflow  %s\nstate     %s%s%s\nstep      %s\nturns     %s\n"
               "tokens    %s in, %s out\nworker    %s (attempt %s)\ncreated   %s\nstarted   %s\n"
               "ended     %s\nstuck     %d signal(s)%s%s\n",
               sid, hget(h, "workflow"), hget(h, "status"), *hget(h, "outcome") ? " / " : "",
               hget(h, "outcome"), *hget(h, "step") ? hget(h, "step") : "-", hget(h, "turns"),
               hget(h, "input_tokens"), hget(h, "output_tokens"),
               *hget(h, "worker") ? hget(h, "worker") : "-", hget(h, "attempt"), created, started,
               ended, stuck, stuck ? ", last: " : "", last_reason);
        if (*hget(h, "error"))
            printf("detail    %s\n", hget(h, "error"));
    }
    freeReplyObject(h);
    if (ev)
        freeReplyObject(ev);
    wt_redis_destroy(&redis);
    return 0;
}

/* Prints one stream entry; returns 1 when it is a session_completed. */
static int
print_entry(redisReply *e, const char *session, int as_json)
{
    redisReply *f = e->element[1];
    const char *type = hget(f, "type"), *data = hget(f, "data");
    const char *sid = *hget(f, "session") ? hget(f, "session") : session;
    if (as_json) {
        json_t *d = json_loads(data, 0, NULL);
        json_t *o = json_pack("{s:s,s:s,s:o,s:s}", "id", e->element[0]->str, "type", type, "data",
                              d ? d : json_object(), "session", sid ? sid : "");
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        char ms[24], when[32];
        snprintf(ms, sizeof ms, "%.*s", (int)strcspn(e->element[0]->str, "-"), e->element[0]->str);
        fmt_time(ms, when, sizeof when);
        printf("%s %s%s%s %s\n", when, sid && !session ? sid : "", sid && !session ? " " : "", type,
               data);
    }
    fflush(stdout);
    return strcmp(type, "session_completed") == 0;
}

static const char logs_usage[] =
    "usage: worktrain logs [--session SID] [--follow] [--json] [--count N] [--redis URL]\n"
    "\n"
    "Prints a session's event stream, or the fleet's lifecycle events without --session.\n"
    "--follow keeps printing new events (with --session it stops after session_completed).\n";

int
wt_cli_logs_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"session", 1, 0, 's'}, {"follow", 0, 0, 'f'}, {"json", 0, 0, 'j'}, {"count", 1, 0, 'n'},
        {"redis", 1, 0, 'r'},   {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    wt_cli_conn_t conn;
    wt_cli_conn_defaults(&conn);
    const char *session = NULL;
    int follow = 0, as_json = 0, c;
    long count = 100;
    char *end;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            session = optarg;
            break;
        case 'f':
            follow = 1;
            break;
        case 'j':
            as_json = 1;
            break;
        case 'n':
            count = strtol(optarg, &end, 10);
            if (*end || count <= 0)
                return wt_cli_usage_error("logs", "bad --count '%s'", optarg);
            break;
        case 'r':
            snprintf(conn.redis, sizeof conn.redis, "%s", optarg);
            break;
        case 'h':
            fputs(logs_usage, stdout);
            return 0;
        default:
            return wt_cli_usage_error("logs", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (optind < argc)
        return wt_cli_usage_error("logs", "unexpected argument '%s'", argv[optind]);
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("logs", conn.redis, &redis, &store) != 0)
        return 1;
    wt_signal_install();
    char key[128], last[64] = "0-0";
    if (session)
        wt_store_key(&store, key, sizeof key, "session:%s:events", session);
    else
        wt_store_key(&store, key, sizeof key, "events");
    wt_err_t err = {0};
    redisReply *r = session
                        ? wt_redis_command(redis, &err, "XRANGE %s - +", key)
                        : wt_redis_command(redis, &err, "XREVRANGE %s + - COUNT %ld", key, count);
    if (r == NULL) {
        fprintf(stderr, "worktrain logs: %s\n", err.msg);
        wt_redis_destroy(&redis);
        return 1;
    }
    if (session && r->elements == 0) {
        fprintf(stderr, "worktrain logs: no events for session '%s'\n", session);
        freeReplyObject(r);
        wt_redis_destroy(&redis);
        return 1;
    }
    int ended = 0;
    for (size_t k = 0; k < r->elements; k++) {
        size_t i = session ? k : r->elements - 1 - k;
        ended |= print_entry(r->element[i], session, as_json);
        snprintf(last, sizeof last, "%s", r->element[i]->element[0]->str);
    }
    freeReplyObject(r);
    if (!session && last[0] == '0' && follow)
        snprintf(last, sizeof last, "$");
    int rc = 0;
    while (follow && !(session && ended) && !wt_signal_stopping()) {
        r = wt_redis_command(redis, &err, "XREAD COUNT 1000 BLOCK 1000 STREAMS %s %s", key, last);
        if (r == NULL) {
            fprintf(stderr, "worktrain logs: %s\n", err.msg);
            rc = 1;
            break;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements; i++) {
                ended |= print_entry(entries->element[i], session, as_json);
                snprintf(last, sizeof last, "%s", entries->element[i]->element[0]->str);
            }
        }
        freeReplyObject(r);
    }
    wt_redis_destroy(&redis);
    return rc;
}

static void
print_workflow_row(json_t *w, int as_json, json_t *arr)
{
    if (as_json)
        json_array_append(arr, w);
    else
        printf("%-32s %-48s %lld\n", json_string_value(json_object_get(w, "id")),
               json_string_value(json_object_get(w, "name")),
               (long long)json_integer_value(json_object_get(w, "steps")));
}

static void
on_load_error(void *ud, const wt_err_t *err)
{
    (void)ud;
    fprintf(stderr, "worktrain workflows: skipped: %s\n", err->msg);
}

int
wt_cli_workflows_main(int argc, char **argv)
{
    static const struct option opts[] = {{"json", 0, 0, 'j'},
                                         {"dir", 1, 0, 'd'},
                                         {"redis", 1, 0, 'r'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    wt_cli_conn_t conn;
    wt_cli_conn_defaults(&conn);
    int as_json = 0, c;
    wt_workflow_set_t *set = NULL;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j')
            as_json = 1;
        else if (c == 'r')
            snprintf(conn.redis, sizeof conn.redis, "%s", optarg);
        else if (c == 'd') {
            if (set == NULL)
                set = wt_workflow_set_new();
            wt_workflow_set_load_dir(set, optarg, on_load_error, NULL);
        } else if (c == 'h') {
            puts("usage: worktrain workflows [--json] [--dir DIR]... [--redis URL]\n\nLists the "
                 "workflows the fleet's workers registered, or those in local --dir folders.");
            wt_workflow_set_destroy(&set);
            return 0;
        } else {
            wt_workflow_set_destroy(&set);
            return wt_cli_usage_error("workflows", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
        }
    }
    json_t *arr = json_array();
    if (!as_json)
        printf("%-32s %-48s %s\n", "ID", "NAME", "STEPS");
    if (set) {
        for (int i = 0; i < wt_workflow_set_count(set); i++) {
            json_t *w = wt_workflow_summary(wt_workflow_set_at(set, i));
            print_workflow_row(w, as_json, arr);
            json_decref(w);
        }
        wt_workflow_set_destroy(&set);
    } else {
        wt_redis_t *redis;
        wt_store_t store;
        if (wt_cli_open_store("workflows", conn.redis, &redis, &store) != 0) {
            json_decref(arr);
            return 1;
        }
        char key[128];
        wt_err_t err = {0};
        redisReply *r = wt_redis_command(redis, &err, "HGETALL %s",
                                         wt_store_key(&store, key, sizeof key, "workflows"));
        for (size_t i = 0; r && i + 1 < r->elements; i += 2) {
            json_t *w = json_loads(r->element[i + 1]->str, 0, NULL);
            if (w)
                print_workflow_row(w, as_json, arr);
            json_decref(w);
        }
        if (r)
            freeReplyObject(r);
        wt_redis_destroy(&redis);
    }
    if (as_json)
        wt_cli_print_json(stdout, arr);
    json_decref(arr);
    return 0;
}

int
wt_cli_validate_main(int argc, char **argv)
{
    wt_cli_conn_t conn;
    int as_json = 0;
    int rc = simple_opts("validate",
                         "usage: worktrain validate FILE...\n\nChecks workflow JSON files. Each "
                         "error names the file, the JSON path (or line and column) and what is "
                         "wrong. Exit 1 when any file fails.\n",
                         argc, argv, &conn, &as_json);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (optind >= argc)
        return wt_cli_usage_error("validate", "no files given");
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        const char *f = argv[i];
        size_t n = strlen(f);
        if (n < 5 || strcmp(f + n - 5, ".json") != 0) {
            printf("%s: unsupported file type (expected a .json workflow)\n", f);
            failed = 1;
            continue;
        }
        wt_err_t err = {0};
        wt_workflow_t *wf = wt_workflow_load_file(f, &err);
        if (wf == NULL) {
            printf("%s\n", err.msg);
            failed = 1;
        } else {
            int nsteps = wt_workflow_step_count(wf);
            printf("%s: ok (workflow '%s', %d step%s)\n", f, wt_workflow_id(wf), nsteps,
                   nsteps == 1 ? "" : "s");
        }
        wt_workflow_destroy(&wf);
    }
    return failed;
}
