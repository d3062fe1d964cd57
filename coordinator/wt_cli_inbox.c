/* wt_cli_inbox - `worktrain inbox` and `worktrain tell`: the operator's two
 * ends of a running fleet.
 *
 * inbox reads <prefix>inbox newest first (XREVRANGE). Its entries are
 * written where the facts are stored: completions and reported issues by
 * the store's append script together with their events, escalations and
 * pipeline results by the coordinator (wt_store_inbox_add). With --kind
 * the stream is paged backwards until --count entries match; it is capped
 * (WT_STORE_INBOX_CAP), so the scan is bounded.
 *
 * tell queues a message on the session's tell list through the store's
 * tell script, which checks in the same step that the session exists and
 * has not ended, so a message is never queued for a session that can no
 * longer read it. The worker takes it before the session's next LLM turn
 * (see wt_session_loop.c for the delivery guarantee). */
#include "wt_cli.h"
#include "wt_cli_common.h"
#include "wt_cli_util.h"
#include "wt_fleetq.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define INBOX_PAGE    200 /* entries per XREVRANGE when filtering by kind */
#define SUMMARY_CHARS 120 /* summary width in the text form */

static const char inbox_usage[] =
    "usage: worktrain inbox [--json] [--count N] [--kind K] [--redis URL]\n"
    "\n"
    "Lists what needs an operator's eye, newest first: session completions,\n"
    "issues agents reported (report_issue), escalations and pipeline results.\n"
    "Lines read TIME KIND SESSION WORKFLOW OUTCOME SUMMARY (SESSION is the run id\n"
    "for pipeline and escalation entries, WORKFLOW the pipeline; OUTCOME is the\n"
    "severity for an issue). --json prints an array of objects with every field\n"
    "(id, kind, session, workflow, outcome or severity, summary, ts_ms, run).\n"
    "--count N shows at most N entries (default 50); --kind K only entries of\n"
    "kind K (completion, issue, escalation, pipeline, idea, gap, ack).\n"
    "\n"
    "worktrain inbox --ack REF [--note TEXT] acknowledges an entry: REF is an\n"
    "entry id (the id of --json, MS-SEQ; exit 1 when no such entry) or a run or\n"
    "session id (26-char ULID). It adds an entry of kind ack with ref REF, and\n"
    "the watchdog no longer counts that escalation as never acted on.\n";

static const char tell_usage[] =
    "usage: worktrain tell SID MESSAGE [--redis URL]\n"
    "\n"
    "Sends MESSAGE (quote it; at most 16 KiB of UTF-8) to the agent of session\n"
    "SID: the worker adds it to the conversation as a user message before the\n"
    "session's next LLM turn and records a message_received event. Exit 1 when\n"
    "the session does not exist or has already ended.\n";

typedef struct inbox_opts {
    wt_cli_conn_t conn; /* --redis */
    int as_json;        /* --json */
    long long count;    /* --count */
    const char *kind;   /* --kind, or NULL for all */
    const char *ack;    /* --ack REF, or NULL */
    const char *note;   /* --note TEXT, or NULL */
} inbox_opts_t;

/* Returns 0, or the exit code (-1 for --help) when parsing ends the verb. */
static int
inbox_parse(int argc, char **argv, inbox_opts_t *o)
{
    static const struct option opts[] = {
        {"json", 0, 0, 'j'}, {"count", 1, 0, 'n'}, {"kind", 1, 0, 'k'}, {"redis", 1, 0, 'r'},
        {"ack", 1, 0, 'a'},  {"note", 1, 0, 'N'},  {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    wt_cli_conn_defaults(&o->conn);
    o->count = 50;
    int c;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            o->as_json = 1;
            break;
        case 'n':
            if (wt_cli_parse_int(optarg, 1, WT_STORE_INBOX_CAP * 2, &o->count) != 0)
                return wt_cli_usage_error("inbox", "bad --count '%s' (want 1..%d)", optarg,
                                          WT_STORE_INBOX_CAP * 2);
            break;
        case 'k':
            if (*optarg == '\0')
                return wt_cli_usage_error("inbox", "empty --kind");
            o->kind = optarg;
            break;
        case 'r':
            snprintf(o->conn.redis, sizeof o->conn.redis, "%s", optarg);
            break;
        case 'a':
            if (!wt_fleetq_idea_id_ok(optarg) && !wt_fleetq_sid_ok(optarg))
                return wt_cli_usage_error("inbox",
                                          "bad --ack '%.60s' (an entry id MS-SEQ, or a run or "
                                          "session id: a 26-char ULID)",
                                          optarg);
            o->ack = optarg;
            break;
        case 'N':
            if (strlen(optarg) > 1000)
                return wt_cli_usage_error("inbox", "--note longer than 1000 bytes");
            o->note = optarg;
            break;
        case 'h':
            fputs(inbox_usage, stdout);
            return -1;
        default:
            return wt_cli_usage_error("inbox", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (optind < argc)
        return wt_cli_usage_error("inbox", "unexpected argument '%s'", argv[optind]);
    if (o->note && !o->ack)
        return wt_cli_usage_error("inbox", "--note goes with --ack");
    return 0;
}

static const char *
field(redisReply *f, const char *name)
{
    const char *v = wt_redis_field(f, name);
    return v ? v : "";
}

/* --ack: an entry of kind ack naming REF (an entry id that must exist, or
 * a run/session id); the acked entry's kind and run are copied. */
static int
inbox_ack(const inbox_opts_t *o, wt_redis_t *redis, wt_store_t *store)
{
    char key[128], kind[32] = "", run[64] = "";
    wt_err_t err = {0};
    if (wt_fleetq_idea_id_ok(o->ack)) {
        wt_store_key(store, key, sizeof key, "inbox");
        redisReply *r = wt_redis_command(redis, &err, "XRANGE %s %s %s", key, o->ack, o->ack);
        if (r == NULL) {
            fprintf(stderr, "worktrain inbox: %s\n", err.msg);
            return 1;
        }
        int found = r->type == REDIS_REPLY_ARRAY && r->elements == 1;
        if (found) {
            snprintf(kind, sizeof kind, "%s", field(r->element[0]->element[1], "kind"));
            snprintf(run, sizeof run, "%s", field(r->element[0]->element[1], "run"));
        }
        freeReplyObject(r);
        if (!found) {
            fprintf(stderr, "worktrain inbox: --ack %s: no inbox entry with that id\n", o->ack);
            return 1;
        }
    }
    const char *fields[] = {"ref",      o->ack, "summary", o->note ? o->note : "acknowledged",
                            "ref_kind", kind,   "run",     run};
    if (wt_store_inbox_add(store, "ack", *run ? 8 : 6, fields, &err) != 0) {
        fprintf(stderr, "worktrain inbox: %s\n", err.msg);
        return 1;
    }
    printf("acknowledged %s%s%s\n", o->ack, *kind ? " " : "", kind);
    return 0;
}

/* One entry as a JSON object: every field, ts_ms as a number. */
static json_t *
entry_json(const char *id, redisReply *f)
{
    json_t *o = json_pack("{s:s}", "id", id);
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
        long long n;
        if (strcmp(k, "ts_ms") == 0 && wt_cli_parse_int(v, 0, LLONG_MAX, &n) == 0)
            json_object_set_new(o, k, json_integer(n));
        else {
            json_t *js = json_string(v); /* NULL when not UTF-8 */
            json_object_set_new(o, k, js ? js : json_string("?"));
        }
    }
    return o;
}

/* Copies s into out on one line: control characters become spaces, cut at
 * max bytes on a UTF-8 boundary with "...". */
static void
one_line(const char *s, char *out, size_t cap, size_t max)
{
    size_t n = 0, len = strlen(s);
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len && n + 4 < cap; i++)
        out[n++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    if (len < strlen(s) && n + 4 < cap) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static void
entry_text(redisReply *f)
{
    char when[32], summary[SUMMARY_CHARS * 2];
    wt_cli_format_ms(field(f, "ts_ms"), when, sizeof when);
    const char *outcome = *field(f, "outcome") ? field(f, "outcome") : field(f, "severity");
    /* Pipeline and escalation entries belong to a run, not a session. */
    const char *who = *field(f, "session") ? field(f, "session") : field(f, "run");
    one_line(field(f, "summary"), summary, sizeof summary, SUMMARY_CHARS);
#define OR_DASH(s) (*(s) ? (s) : "-")
    printf("%s %-10s %-26s %-24s %-9s %s\n", when, OR_DASH(field(f, "kind")), OR_DASH(who),
           OR_DASH(field(f, "workflow")), OR_DASH(outcome), summary);
#undef OR_DASH
}

/* Pages the stream newest first, printing (or collecting into arr) up to
 * o->count matching entries. */
static int
inbox_run(const inbox_opts_t *o, wt_redis_t *redis, wt_store_t *store, json_t *arr)
{
    char key[128], end[64] = "+";
    wt_store_key(store, key, sizeof key, "inbox");
    long long shown = 0, page = o->kind ? INBOX_PAGE : o->count;
    while (shown < o->count) {
        wt_err_t err = {0};
        redisReply *r =
            wt_redis_command(redis, &err, "XREVRANGE %s %s - COUNT %lld", key, end, page);
        if (r == NULL) {
            fprintf(stderr, "worktrain inbox: %s\n", err.msg);
            return 1;
        }
        for (size_t i = 0; i < r->elements && shown < o->count; i++) {
            redisReply *e = r->element[i], *f = e->element[1];
            if (o->kind && strcmp(field(f, "kind"), o->kind) != 0)
                continue;
            shown++;
            if (arr)
                json_array_append_new(arr, entry_json(e->element[0]->str, f));
            else
                entry_text(f);
        }
        size_t got = r->elements;
        if (got > 0) /* the next page ends just before the oldest entry read */
            snprintf(end, sizeof end, "(%s", r->element[got - 1]->element[0]->str);
        freeReplyObject(r);
        if ((long long)got < page)
            break;
    }
    return 0;
}

int
wt_cli_inbox_main(int argc, char **argv)
{
    inbox_opts_t o = {0};
    int rc = inbox_parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("inbox", o.conn.redis, &redis, &store) != 0)
        return 1;
    if (o.ack) {
        rc = inbox_ack(&o, redis, &store);
        wt_redis_destroy(&redis);
        return rc;
    }
    json_t *arr = o.as_json ? json_array() : NULL;
    rc = inbox_run(&o, redis, &store, arr);
    if (rc == 0 && arr)
        wt_cli_print_json(stdout, arr);
    json_decref(arr);
    wt_redis_destroy(&redis);
    return rc;
}

int
wt_cli_tell_main(int argc, char **argv)
{
    static const struct option opts[] = {{"redis", 1, 0, 'r'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    wt_cli_conn_t conn;
    wt_cli_conn_defaults(&conn);
    int c;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'r')
            snprintf(conn.redis, sizeof conn.redis, "%s", optarg);
        else if (c == 'h')
            return fputs(tell_usage, stdout), 0;
        else
            return wt_cli_usage_error("tell", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
    }
    if (argc - optind != 2)
        return wt_cli_usage_error("tell",
                                  "expected SID and MESSAGE (quote the message), got %d "
                                  "argument(s)",
                                  argc - optind);
    const char *sid = argv[optind], *msg = argv[optind + 1];
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("tell", conn.redis, &redis, &store) != 0)
        return 1;
    wt_err_t err = {0};
    int rc = wt_store_tell(&store, sid, msg, &err);
    wt_redis_destroy(&redis);
    if (rc != 0) {
        fprintf(stderr, "worktrain tell: %s\n", err.msg);
        return 1;
    }
    printf("queued for %s\n", sid);
    return 0;
}
