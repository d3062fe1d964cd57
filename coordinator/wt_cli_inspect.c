/* wt_cli_inspect - read-only verbs: status, logs, workflows, validate. */
#include "wt_alloc.h"
#include "wt_cli.h"
#include "wt_cli_common.h"
#include "wt_cli_util.h"
#include "wt_clock.h"
#include "wt_diag.h"
#include "wt_pipeline.h"
#include "wt_signal.h"
#include "wt_trigger.h"
#include "wt_workflow.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Counts agent_stuck events in the session stream; the last reason goes
 * to reason. */
static int
stuck_signals(wt_redis_t *redis, wt_store_t *store, const char *sid, char *reason, size_t cap)
{
    char key[128];
    wt_err_t err = {0};
    redisReply *ev =
        wt_redis_command(redis, &err, "XRANGE %s - +",
                         wt_store_key(store, key, sizeof key, "session:%s:events", sid));
    int stuck = 0;
    for (size_t i = 0; ev && i < ev->elements; i++) {
        redisReply *f = ev->element[i]->element[1];
        if (strcmp(hget(f, "type"), "agent_stuck") != 0)
            continue;
        stuck++;
        json_t *d = json_loads(hget(f, "data"), 0, NULL);
        snprintf(reason, cap, "%s", json_string_value(json_object_get(d, "reason")) ?: "");
        json_decref(d);
    }
    if (ev)
        freeReplyObject(ev);
    return stuck;
}

/* Why a queued session waits, when the broker reported its class as one no
 * live worker can run (<prefix>unroutable, see wt_broker_routing.c); ""
 * otherwise. */
static void
waiting_reason(wt_redis_t *redis, const wt_store_t *store, redisReply *h, char *out, size_t cap)
{
    out[0] = '\0';
    if (strcmp(hget(h, "status"), "queued") != 0)
        return;
    char key[128], field[1400];
    if (*hget(h, "require"))
        snprintf(field, sizeof field, "%s|%s", hget(h, "workflow"), hget(h, "require"));
    else
        snprintf(field, sizeof field, "%s", hget(h, "workflow"));
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(redis, &err, "HGET %s %s",
                                     wt_store_key(store, key, sizeof key, "unroutable"), field);
    if (r && r->type == REDIS_REPLY_STRING)
        snprintf(out, cap, "%s", r->str);
    if (r)
        freeReplyObject(r);
}

/* The hash as JSON: counters and times as numbers, the rest as strings. */
static void
status_json(redisReply *h, int stuck, const char *reason, const char *waiting)
{
    static const char *const numeric[] = {
        "turns",      "input_tokens", "output_tokens", "attempt", "created_ms",
        "started_ms", "ended_ms",     "epoch",         "depth",   "priority",
        "max_turns",  "timeout_ms",   "retain_ms"};
    json_t *o = json_object();
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const char *k = h->element[i]->str, *v = h->element[i + 1]->str;
        long long n;
        int is_num = 0;
        for (size_t j = 0; j < sizeof numeric / sizeof numeric[0] && !is_num; j++)
            is_num =
                strcmp(k, numeric[j]) == 0 && wt_cli_parse_int(v, LLONG_MIN, LLONG_MAX, &n) == 0;
        json_object_set_new(o, k, is_num ? json_integer(n) : json_string(v));
    }
    json_object_set_new(o, "stuck_signals", json_integer(stuck));
    json_object_set_new(o, "last_stuck_reason", json_string(reason));
    if (*waiting)
        json_object_set_new(o, "waiting", json_string(waiting));
    wt_cli_print_json(stdout, o);
    json_decref(o);
}

static void
status_text(redisReply *h, const char *sid, int stuck, const char *reason, const char *waiting)
{
    char created[32], started[32], ended[32];
    wt_cli_format_ms(hget(h, "created_ms"), created, sizeof created);
    wt_cli_format_ms(hget(h, "started_ms"), started, sizeof started);
    wt_cli_format_ms(hget(h, "ended_ms"), ended, sizeof ended);
    printf("session   %s\nworkflow  %s\nstate     %s%s%s\nstep      %s\nturns     %s\n"
           "tokens    %s in, %s out\nworker    %s (attempt %s)\ncreated   %s\nstarted   %s\n"
           "ended     %s\nstuck     %d signal(s)%s%s\n",
           sid, hget(h, "workflow"), hget(h, "status"), *hget(h, "outcome") ? " / " : "",
           hget(h, "outcome"), *hget(h, "step") ? hget(h, "step") : "-",
           *hget(h, "turns") ? hget(h, "turns") : "0",
           *hget(h, "input_tokens") ? hget(h, "input_tokens") : "0",
           *hget(h, "output_tokens") ? hget(h, "output_tokens") : "0",
           *hget(h, "worker") ? hget(h, "worker") : "-",
           *hget(h, "attempt") ? hget(h, "attempt") : "0", created, started, ended, stuck,
           stuck ? ", last: " : "", reason);
    if (*hget(h, "require"))
        printf("requires  %s\n", hget(h, "require"));
    if (*waiting)
        printf("waiting   %s\n", waiting);
    if (*hget(h, "error"))
        printf("detail    %s\n", hget(h, "error"));
}

/* A session deleted by retention: its tombstone is all that is left. */
static void
status_expired(const char *sid, int64_t when, int as_json)
{
    char iso[40];
    wt_clock_format_iso(when, iso, sizeof iso);
    if (as_json) {
        json_t *o = json_pack("{s:s,s:s,s:I,s:s}", "id", sid, "status", "expired", "expired_ms",
                              (json_int_t)when, "expired_at", iso);
        wt_cli_print_json(stdout, o);
        json_decref(o);
    } else
        printf("session   %s\nstate     expired (retention deleted its record at %s)\n", sid, iso);
}

int
wt_cli_status_main(int argc, char **argv)
{
    wt_cli_conn_t conn;
    int as_json = 0;
    int rc = simple_opts("status",
                         "usage: worktrain status SID [--json] [--redis URL]\n\nShows a session's "
                         "state, current step, turns, tokens, worker and stuck signals; for a\n"
                         "queued session no live worker can run, why it waits (e.g. no live\n"
                         "worker offers workflow 'x'). A session deleted by retention (broker\n"
                         "--retain) shows status expired.\n",
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
    char key[128], reason[64] = "";
    wt_err_t err = {0};
    redisReply *h = wt_redis_command(redis, &err, "HGETALL %s",
                                     wt_store_key(&store, key, sizeof key, "session:%s", sid));
    if (h == NULL || h->elements == 0) {
        int64_t when = 0;
        int expired = h ? wt_store_expired(&store, sid, &when, &err) : -1;
        if (expired == 1)
            status_expired(sid, when, as_json);
        else if (expired == 0)
            fprintf(stderr, "worktrain status: no session '%s'\n", sid);
        else
            fprintf(stderr, "worktrain status: %s\n", err.msg);
        if (h)
            freeReplyObject(h);
        wt_redis_destroy(&redis);
        return expired == 1 ? 0 : 1;
    }
    int stuck = stuck_signals(redis, &store, sid, reason, sizeof reason);
    char waiting[512];
    waiting_reason(redis, &store, h, waiting, sizeof waiting);
    if (as_json)
        status_json(h, stuck, reason, waiting);
    else
        status_text(h, sid, stuck, reason, waiting);
    freeReplyObject(h);
    wt_redis_destroy(&redis);
    return 0;
}

/* Prints one stream entry; returns 1 when it is a session_completed. */
static int
print_entry(redisReply *e, const char *session, int as_json, wt_buf_t *line)
{
    redisReply *f = e->element[1];
    const char *type = hget(f, "type"), *data = hget(f, "data");
    const char *sid = *hget(f, "session") ? hget(f, "session") : session;
    if (as_json) {
        json_t *d = json_loads(data, 0, NULL);
        json_t *o = json_pack("{s:s,s:s,s:o,s:s}", "id", e->element[0]->str, "type", type, "data",
                              d ? d : json_object(), "session", sid ? sid : "");
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        printf("%s\n",
               wt_cli_event_line(line, e->element[0]->str, session ? NULL : sid, type, data, 240));
    }
    fflush(stdout);
    return strcmp(type, "session_completed") == 0;
}

static const char logs_usage[] =
    "usage: worktrain logs [--session SID] [--follow] [--json] [--count N] [--redis URL]\n"
    "\n"
    "Prints a session's event stream, or the fleet's lifecycle events without --session.\n"
    "--follow keeps printing new events (with --session it stops after session_completed).\n"
    "Lines read TIME [SID] TYPE key=value...; --json prints {id, type, data, session} lines.\n"
    "--count N shows only the last N events (default: all of a session, 100 of the fleet).\n";

typedef struct logs_opts {
    wt_cli_conn_t conn;  /* --redis */
    const char *session; /* --session, or NULL for the fleet stream */
    int follow;          /* --follow */
    int as_json;         /* --json */
    long long count;     /* --count: last N events, 0 = all */
} logs_opts_t;

/* Returns 0, or the exit code (-1 for --help) when parsing ends the verb. */
static int
logs_parse(int argc, char **argv, logs_opts_t *o)
{
    static const struct option opts[] = {
        {"session", 1, 0, 's'}, {"follow", 0, 0, 'f'}, {"json", 0, 0, 'j'}, {"count", 1, 0, 'n'},
        {"redis", 1, 0, 'r'},   {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    wt_cli_conn_defaults(&o->conn);
    int c, counted = 0;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->session = optarg;
            break;
        case 'f':
            o->follow = 1;
            break;
        case 'j':
            o->as_json = 1;
            break;
        case 'n':
            if (wt_cli_parse_int(optarg, 1, 1000000000, &o->count) != 0)
                return wt_cli_usage_error("logs", "bad --count '%s'", optarg);
            counted = 1;
            break;
        case 'r':
            snprintf(o->conn.redis, sizeof o->conn.redis, "%s", optarg);
            break;
        case 'h':
            fputs(logs_usage, stdout);
            return -1;
        default:
            return wt_cli_usage_error("logs", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (optind < argc)
        return wt_cli_usage_error("logs", "unexpected argument '%s'", argv[optind]);
    if (!counted && o->session == NULL)
        o->count = 100; /* the fleet stream is long: its tail by default */
    return 0;
}

/* Prints the entries of an XREAD reply; returns 1 once a session ended. */
static int
print_xread(redisReply *r, const logs_opts_t *o, char *last, size_t cap, wt_buf_t *line)
{
    int ended = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1)
        return 0;
    redisReply *entries = r->element[0]->element[1];
    for (size_t i = 0; i < entries->elements; i++) {
        ended |= print_entry(entries->element[i], o->session, o->as_json, line);
        snprintf(last, cap, "%s", entries->element[i]->element[0]->str);
    }
    return ended;
}

static int
logs_run(const logs_opts_t *o, wt_redis_t *redis, wt_store_t *store, wt_buf_t *line)
{
    char key[128], last[64] = "0-0";
    if (o->session)
        wt_store_key(store, key, sizeof key, "session:%s:events", o->session);
    else
        wt_store_key(store, key, sizeof key, "events");
    wt_err_t err = {0};
    redisReply *r =
        o->count > 0 ? wt_redis_command(redis, &err, "XREVRANGE %s + - COUNT %lld", key, o->count)
                     : wt_redis_command(redis, &err, "XREVRANGE %s + -", key);
    if (r == NULL) {
        fprintf(stderr, "worktrain logs: %s\n", err.msg);
        return 1;
    }
    if (o->session && r->elements == 0) {
        int64_t when = 0;
        char iso[40];
        if (wt_store_expired(store, o->session, &when, NULL) == 1) {
            wt_clock_format_iso(when, iso, sizeof iso);
            fprintf(stderr, "worktrain logs: session '%s' expired at %s (retention)\n", o->session,
                    iso);
        } else
            fprintf(stderr, "worktrain logs: no events for session '%s'\n", o->session);
        freeReplyObject(r);
        return 1;
    }
    int ended = 0;
    for (size_t k = r->elements; k > 0; k--) { /* oldest first */
        ended |= print_entry(r->element[k - 1], o->session, o->as_json, line);
        snprintf(last, sizeof last, "%s", r->element[k - 1]->element[0]->str);
    }
    freeReplyObject(r);
    /* From the last id printed (0-0 for an empty stream) nothing is missed. */
    while (o->follow && !(o->session && ended) && !wt_signal_stopping()) {
        r = wt_redis_command(redis, &err, "XREAD COUNT 1000 BLOCK 1000 STREAMS %s %s", key, last);
        if (r == NULL) {
            fprintf(stderr, "worktrain logs: %s\n", err.msg);
            return 1;
        }
        ended |= print_xread(r, o, last, sizeof last, line);
        freeReplyObject(r);
    }
    return 0;
}

int
wt_cli_logs_main(int argc, char **argv)
{
    logs_opts_t o = {0};
    int rc = logs_parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("logs", o.conn.redis, &redis, &store) != 0)
        return 1;
    wt_signal_install();
    wt_buf_t line;
    wt_buf_init(&line, 1 << 20);
    rc = logs_run(&o, redis, &store, &line);
    wt_buf_release(&line);
    wt_redis_destroy(&redis);
    return rc;
}

static void
print_workflow_row(json_t *w, int as_json, json_t *arr)
{
    if (as_json)
        json_array_append(arr, w);
    else
        printf("%-32s %-48s %-5lld %s\n", json_string_value(json_object_get(w, "id")),
               json_string_value(json_object_get(w, "name")),
               (long long)json_integer_value(json_object_get(w, "steps")),
               json_string_value(json_object_get(w, "file"))
                   ? json_string_value(json_object_get(w, "file"))
                   : "");
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
        printf("%-32s %-48s %-5s %s\n", "ID", "NAME", "STEPS", set ? "FILE" : "");
    if (set) {
        for (int i = 0; i < wt_workflow_set_count(set); i++) {
            const wt_workflow_t *wf = wt_workflow_set_at(set, i);
            json_t *w = wt_workflow_summary(wf);
            json_object_set_new(w, "file", json_string(wt_workflow_path(wf)));
            if (wt_workflow_choice(wf))
                json_object_set_new(w, "chosen", json_string(wt_workflow_choice(wf)));
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

/* Where `validate` learns which workflow ids exist: --workflows folders,
 * else the fleet registry in Redis, else nowhere (the check is skipped). */
typedef struct known_wf {
    wt_workflow_set_t *set; /* from --workflows DIR, or NULL */
    redisReply *ids;        /* HKEYS of the registry, or NULL */
    int resolved;           /* the Redis lookup was tried */
    const char *redis_url;  /* where to look */
} known_wf_t;

static int
known_workflow(void *ud, const char *id)
{
    known_wf_t *k = ud;
    if (k->set != NULL)
        return wt_workflow_set_get(k->set, id) != NULL;
    for (size_t i = 0; k->ids && i < k->ids->elements; i++)
        if (k->ids->element[i]->str && strcmp(k->ids->element[i]->str, id) == 0)
            return 1;
    return 0;
}

/* Reads the registry the first time a pipeline needs it; 1 when a list of
 * workflows is available. */
static int
known_resolve(known_wf_t *k)
{
    if (k->set != NULL || k->resolved)
        return k->set != NULL || k->ids != NULL;
    k->resolved = 1;
    char shown[512];
    wt_redis_url_display(k->redis_url, shown, sizeof shown);
    wt_err_t err = {0};
    wt_redis_t *redis = wt_redis_new(k->redis_url, 1000, &err);
    if (redis == NULL || wt_redis_connect(redis, &err) != 0) {
        fprintf(stderr,
                "worktrain validate: warning: Redis at %s is not reachable (%s): unknown workflow "
                "ids are not checked (use --workflows DIR)\n",
                shown, err.msg);
        wt_redis_destroy(&redis);
        return 0;
    }
    wt_store_t store;
    wt_store_init(&store, redis, NULL);
    char key[128];
    redisReply *r = wt_redis_command(redis, &err, "HKEYS %s",
                                     wt_store_key(&store, key, sizeof key, "workflows"));
    wt_redis_destroy(&redis);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        fprintf(stderr,
                "worktrain validate: warning: no workflows registered in Redis at %s%s%s: unknown "
                "workflow ids are not checked (use --workflows DIR)\n",
                shown, r ? "" : ": ", r ? "" : err.msg);
        if (r)
            freeReplyObject(r);
        return 0;
    }
    k->ids = r;
    return 1;
}

static void
on_workflow_dir_error(void *ud, const wt_err_t *err)
{
    (void)ud;
    fprintf(stderr, "worktrain validate: warning: workflow skipped: %s\n", err->msg);
}

static int
has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
validate_workflow_file(const char *f)
{
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_load_file(f, &err);
    if (wf == NULL) {
        printf("%s\n", err.msg);
        return 1;
    }
    int nsteps = wt_workflow_step_count(wf);
    printf("%s: ok (workflow '%s', %d step%s)\n", f, wt_workflow_id(wf), nsteps,
           nsteps == 1 ? "" : "s");
    /* the choice workers make among the files of its folder sharing its id */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", f);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    wt_workflow_set_t *set = wt_workflow_set_new();
    wt_workflow_set_load_dir(set, dir, NULL, NULL);
    const wt_workflow_t *win = wt_workflow_set_get(set, wt_workflow_id(wf));
    char a[PATH_MAX], b[PATH_MAX];
    if (strstr(f, ".lean.") && !wt_workflow_lean_enabled())
        printf("%s: note: not run from this folder: .lean. variants load only with "
               "WORKRAIL_ENABLE_LEAN_WORKFLOWS=true\n",
               f);
    else if (win && wt_workflow_path(win) && realpath(f, a) && realpath(wt_workflow_path(win), b) &&
             strcmp(a, b) != 0)
        printf("%s: note: not the file run for '%s' from this folder: %s is (%s)\n", f,
               wt_workflow_id(wf), wt_workflow_path(win),
               wt_workflow_choice(win) ? wt_workflow_choice(win) : "WorkRail's variant rules");
    wt_workflow_set_destroy(&set);
    wt_workflow_destroy(&wf);
    return 0;
}

static int
validate_pipeline_file(const char *f, known_wf_t *known)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_pipeline_t *p = wt_pipeline_load_file(f, &d);
    if (p != NULL)
        wt_pipeline_check(p, known_resolve(known) ? known_workflow : NULL, known, &d);
    wt_diags_sort(&d);
    wt_diags_print(&d, stdout);
    int failed = d.errors > 0;
    if (!failed)
        printf("%s: ok (pipeline '%s', %d phase%s)\n", f, p->name, p->nphases,
               p->nphases == 1 ? "" : "s");
    wt_pipeline_destroy(&p);
    wt_diags_release(&d);
    return failed;
}

/* Triggers: workflow ids are checked like a pipeline's; with no list of the
 * fleet's workflows (no --workflows, Redis unreachable or empty) each id
 * gets a warning instead, so WorkRail's own files validate anywhere. */
static int
validate_triggers_file(const char *f, known_wf_t *known)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_trigger_opts_t opts = {known_resolve(known) ? known_workflow : NULL, known};
    wt_triggers_t *t = wt_triggers_load_file(f, &opts, &d);
    wt_diags_sort(&d);
    wt_diags_print(&d, stdout);
    int failed = t == NULL;
    if (!failed)
        printf("%s: ok (%zu trigger%s)\n", f, t->n, t->n == 1 ? "" : "s");
    wt_triggers_destroy(&t);
    wt_diags_release(&d);
    return failed;
}

static const char validate_usage[] =
    "usage: worktrain validate [--workflows DIR]... [--redis URL] FILE...\n"
    "\n"
    "Checks workflow JSON files (*.json), triggers files (*.yml with a top-level\n"
    "'triggers:') and pipeline YAML files (other *.yml, *.yaml). Every problem is\n"
    "printed, workflows as\n"
    "FILE: message naming the JSON path, pipelines as FILE:LINE:COL: error: MESSAGE\n"
    "(shape, expression syntax, unknown workflows and phases, cycles in needs,\n"
    "references to phases that are not upstream). A good file prints FILE: ok (...).\n"
    "\n"
    "Pipeline and trigger workflow ids are checked against the workflows in\n"
    "--workflows folders (repeatable); without the flag, against those the fleet's\n"
    "workers registered in Redis (--redis URL, WORKTRAIN_REDIS); when Redis is not\n"
    "reachable that check is skipped with a warning (for triggers: a warning per\n"
    "workflowId). Exit 1 when any file has errors, 2 on bad usage.\n";

int
wt_cli_validate_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"workflows", 1, 0, 'w'}, {"redis", 1, 0, 'r'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    wt_cli_conn_t conn;
    wt_cli_conn_defaults(&conn);
    known_wf_t known = {0};
    int c;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'w') {
            if (known.set == NULL)
                known.set = wt_workflow_set_new();
            if (wt_workflow_set_load_dir(known.set, optarg, on_workflow_dir_error, NULL) == 0)
                fprintf(stderr, "worktrain validate: warning: no workflows loaded from '%s'\n",
                        optarg);
        } else if (c == 'r') {
            snprintf(conn.redis, sizeof conn.redis, "%s", optarg);
        } else if (c == 'h') {
            fputs(validate_usage, stdout);
            wt_workflow_set_destroy(&known.set);
            return 0;
        } else {
            wt_workflow_set_destroy(&known.set);
            return wt_cli_usage_error("validate", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        wt_workflow_set_destroy(&known.set);
        return wt_cli_usage_error("validate", "no files given");
    }
    known.redis_url = conn.redis;
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        const char *f = argv[i];
        if (has_suffix(f, ".json")) {
            failed |= validate_workflow_file(f);
        } else if (has_suffix(f, ".yml") || has_suffix(f, ".yaml")) {
            if (access(f, R_OK) != 0 || wt_pipeline_sniff(f)) {
                failed |= validate_pipeline_file(f, &known);
            } else if (wt_triggers_sniff(f)) {
                failed |= validate_triggers_file(f, &known);
            } else {
                printf("%s: error: neither a pipeline nor a triggers file (expected a top-level "
                       "'pipeline:', 'phases:' or 'triggers:')\n",
                       f);
                failed = 1;
            }
        } else {
            printf("%s: error: unsupported file type (expected a .json workflow or a .yml "
                   "pipeline)\n",
                   f);
            failed = 1;
        }
    }
    wt_workflow_set_destroy(&known.set);
    if (known.ids)
        freeReplyObject(known.ids);
    return failed;
}
