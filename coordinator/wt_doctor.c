/* wt_doctor - the checks behind `worktrain doctor`.
 *
 * Each check talks to the real thing the fleet will use (the Redis URL, the
 * broker endpoints, the key files, the workflow folders, the provider's
 * models endpoint, the workspace root) with short timeouts, so doctor ends
 * in seconds even when everything is down. A check whose precondition
 * failed (ACL and clock without Redis) is skipped, not failed twice. The
 * ACL check runs a representative command of each kind the fleet sends on
 * scratch keys under the fleet's prefix and deletes them: that proves both
 * the command and the key pattern (NOPERM names which one is missing).
 * Secrets never appear in the output: URLs are masked and the LLM key is
 * only sent, never printed. */
#include "wt_doctor.h"

#include "wt_cert.h"
#include "wt_cli_common.h"
#include "wt_client.h"
#include "wt_clock.h"
#include "wt_endpoints.h"
#include "wt_http.h"
#include "wt_redis.h"
#include "wt_store.h"
#include "wt_workflow.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIN_REDIS_MAJOR 6 /* 6.2: ACL users, XADD MAXLEN ~, Lua cjson */
#define MIN_REDIS_MINOR 2
#define TIMEOUT_MS      3000

static const char *const status_names[] = {"ok", "fail", "skip"};

void
wt_doctor_add(wt_doctor_report_t *r, const char *name, wt_doctor_status_t status, const char *fix,
              const char *fmt, ...)
{
    if (r->n >= WT_DOCTOR_MAX_CHECKS)
        return;
    wt_doctor_check_t *c = &r->checks[r->n++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
    snprintf(c->fix, sizeof c->fix, "%s", status == WT_DOCTOR_FAIL && fix ? fix : "");
}

int
wt_doctor_failed(const wt_doctor_report_t *r)
{
    int n = 0;
    for (int i = 0; i < r->n; i++)
        n += r->checks[i].status == WT_DOCTOR_FAIL;
    return n;
}

void
wt_doctor_render_text(const wt_doctor_report_t *r, wt_buf_t *out)
{
    static const char *const tags[] = {"ok  ", "FAIL", "skip"};
    for (int i = 0; i < r->n; i++) {
        const wt_doctor_check_t *c = &r->checks[i];
        wt_buf_printf(out, NULL, "%s %-10s %s", tags[c->status], c->name, c->detail);
        if (c->fix[0])
            wt_buf_printf(out, NULL, " -> fix: %s", c->fix);
        wt_buf_puts(out, "\n", NULL);
    }
    int failed = wt_doctor_failed(r);
    wt_buf_printf(out, NULL, "%d checks, %d failed\n", r->n, failed);
}

void
wt_doctor_render_json(const wt_doctor_report_t *r, wt_buf_t *out)
{
    json_t *checks = json_array();
    for (int i = 0; i < r->n; i++) {
        const wt_doctor_check_t *c = &r->checks[i];
        json_array_append_new(checks, json_pack("{s:s,s:s,s:s,s:s}", "check", c->name, "status",
                                                status_names[c->status], "detail", c->detail, "fix",
                                                c->fix));
    }
    json_t *doc = json_pack("{s:b,s:o}", "ok", wt_doctor_failed(r) == 0, "checks", checks);
    char *s = json_dumps(doc, JSON_COMPACT);
    wt_buf_puts(out, s ? s : "{}", NULL);
    wt_buf_puts(out, "\n", NULL);
    free(s);
    json_decref(doc);
}

/* --- checks --- */

typedef struct opts {
    wt_cli_conn_t conn;     /* --redis, --broker, CURVE */
    char workflows[8][512]; /* --workflows DIR (repeatable) */
    int nworkflows;         /* count */
    char workspace[512];    /* --workspace-root */
    int offline;            /* --offline: no LLM call */
    int json;               /* --json */
    int64_t max_skew_ms;    /* --max-skew */
} opts_t;

/* The server's version: INFO when the user may run it, else Lua's
 * redis.REDIS_VERSION (7.0+; EVAL is in the fleet's ACL, INFO is not). 0
 * when neither tells. */
static int
redis_version(wt_redis_t *rd, int *major, int *minor)
{
    redisReply *rep = wt_redis_command(rd, NULL, "INFO server");
    const char *v =
        rep && rep->type == REDIS_REPLY_STRING ? strstr(rep->str, "redis_version:") : NULL;
    int ok = v && sscanf(v, "redis_version:%d.%d", major, minor) == 2;
    freeReplyObject(rep);
    if (ok)
        return 1;
    rep = wt_redis_command(rd, NULL, "EVAL %s 0", "return redis.REDIS_VERSION");
    ok = rep && rep->type == REDIS_REPLY_STRING && sscanf(rep->str, "%d.%d", major, minor) == 2;
    freeReplyObject(rep);
    return ok;
}

static wt_redis_t *
check_redis(const opts_t *o, wt_doctor_report_t *r)
{
    char shown[600];
    wt_redis_url_display(o->conn.redis, shown, sizeof shown);
    const char *fix = "start redis-server, or point --redis / WORKTRAIN_REDIS at it "
                      "(redis://USER:PASSWORD@HOST:PORT/DB with an ACL user)";
    wt_err_t err = {0};
    wt_redis_t *rd = wt_redis_new(o->conn.redis, TIMEOUT_MS, &err);
    redisReply *rep = NULL;
    if (rd == NULL || wt_redis_connect(rd, &err) != 0 ||
        (rep = wt_redis_command(rd, &err, "PING")) == NULL) {
        wt_doctor_add(r, "redis", WT_DOCTOR_FAIL, fix, "%s", err.msg); /* names the URL */
        wt_redis_destroy(&rd);
        return NULL;
    }
    freeReplyObject(rep);
    int major = 0, minor = 0;
    if (!redis_version(rd, &major, &minor))
        wt_doctor_add(r, "redis", WT_DOCTOR_FAIL,
                      "use Redis 7.0 or later (Debian 12 ships 7.0), or allow INFO for this user",
                      "%s answers, but its version is unknown (older than 7.0 and INFO refused)",
                      shown);
    else if (major < MIN_REDIS_MAJOR || (major == MIN_REDIS_MAJOR && minor < MIN_REDIS_MINOR))
        wt_doctor_add(r, "redis", WT_DOCTOR_FAIL,
                      "upgrade Redis to 6.2 or later (Debian 12 ships 7.0)",
                      "%s is Redis %d.%d, older than %d.%d", shown, major, minor, MIN_REDIS_MAJOR,
                      MIN_REDIS_MINOR);
    else
        wt_doctor_add(r, "redis", WT_DOCTOR_OK, NULL, "%s answers, Redis %d.%d", shown, major,
                      minor);
    return rd;
}

/* One command of each kind the fleet sends (README: Minimal ACL), on
 * scratch keys under the prefix. */
static void
check_acl(wt_redis_t *rd, wt_doctor_report_t *r)
{
    if (rd == NULL) {
        wt_doctor_add(r, "acl", WT_DOCTOR_SKIP, NULL, "needs Redis");
        return;
    }
    wt_store_t st;
    wt_store_init(&st, rd, NULL);
    char k[128];
    wt_store_key(&st, k, sizeof k, "doctor:%d", (int)getpid());
    static const char *const cmds[][6] = {
        {"SET", "%s:s", "1"},
        {"GET", "%s:s"},
        {"HSET", "%s:h", "f", "1"},
        {"HINCRBY", "%s:h", "f", "1"},
        {"HGETALL", "%s:h"},
        {"XADD", "%s:x", "MAXLEN", "~", "10", "*"},
        {"XRANGE", "%s:x", "-", "+"},
        {"ZADD", "%s:z", "1", "m"},
        {"ZRANGEBYSCORE", "%s:z", "-inf", "+inf"},
        {"RPUSH", "%s:l", "v"},
        {"SADD", "%s:t", "v"},
        {"PEXPIRE", "%s:s", "60000"},
        {"EVAL", "return 1", "0"},
        {"TIME"},
    };
    char keys[6][160];
    int failed = 0;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0] && !failed; i++) {
        const char *argv[8];
        int argc = 0;
        for (int j = 0; j < 6 && cmds[i][j]; j++) {
            snprintf(keys[j], sizeof keys[j], cmds[i][j], k);
            argv[argc++] = keys[j];
        }
        if (strcmp(cmds[i][0], "XADD") == 0) { /* a field and value after the id */
            argv[argc++] = "f";
            argv[argc++] = "v";
        }
        wt_err_t err = {0};
        redisReply *rep = wt_redis_commandv(rd, argc, argv, NULL, &err);
        if (rep == NULL) {
            failed = 1;
            wt_doctor_add(r, "acl", WT_DOCTOR_FAIL,
                          "grant the fleet's user the README's Minimal ACL "
                          "(ACL SETUSER ... ~wt:* +@... as listed) on its key prefix",
                          "%s refused: %s", cmds[i][0], err.msg);
        }
        freeReplyObject(rep);
    }
    const char *dels[] = {"DEL", keys[0], keys[1], keys[2], keys[3], keys[4]};
    snprintf(keys[0], sizeof keys[0], "%s:s", k);
    snprintf(keys[1], sizeof keys[1], "%s:h", k);
    snprintf(keys[2], sizeof keys[2], "%s:x", k);
    snprintf(keys[3], sizeof keys[3], "%s:z", k);
    snprintf(keys[4], sizeof keys[4], "%s:l", k);
    freeReplyObject(wt_redis_commandv(rd, 6, dels, NULL, NULL));
    freeReplyObject(wt_redis_command(rd, NULL, "DEL %s:t", k));
    if (!failed)
        wt_doctor_add(r, "acl", WT_DOCTOR_OK, NULL,
                      "strings, hashes, streams, sorted sets, lists, sets, Lua and TIME "
                      "allowed on %s*",
                      wt_store_key(&st, keys[5], sizeof keys[5], "%s", ""));
}

static void
check_clock(wt_redis_t *rd, const opts_t *o, wt_doctor_report_t *r)
{
    if (rd == NULL) {
        wt_doctor_add(r, "clock", WT_DOCTOR_SKIP, NULL, "needs Redis");
        return;
    }
    wt_err_t err = {0};
    int64_t t0 = wt_clock_now_ms();
    redisReply *rep = wt_redis_command(rd, &err, "TIME");
    int64_t t1 = wt_clock_now_ms();
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        wt_doctor_add(r, "clock", WT_DOCTOR_FAIL, "allow TIME for the fleet's Redis user",
                      "TIME failed: %s", err.msg[0] ? err.msg : "unexpected reply");
        freeReplyObject(rep);
        return;
    }
    int64_t redis_ms = strtoll(rep->element[0]->str, NULL, 10) * 1000 +
                       strtoll(rep->element[1]->str, NULL, 10) / 1000;
    freeReplyObject(rep);
    int64_t skew = redis_ms - (t0 + t1) / 2, rtt = t1 - t0;
    int64_t mag = skew < 0 ? -skew : skew;
    if (mag > o->max_skew_ms + rtt)
        wt_doctor_add(r, "clock", WT_DOCTOR_FAIL,
                      "synchronise the clocks of this host and the Redis host (NTP: "
                      "systemd-timesyncd or chrony)",
                      "this host is %lld ms %s Redis (limit %lld ms)", (long long)mag,
                      skew > 0 ? "behind" : "ahead of", (long long)o->max_skew_ms);
    else
        wt_doctor_add(r, "clock", WT_DOCTOR_OK, NULL, "skew to Redis %lld ms (round trip %lld ms)",
                      (long long)skew, (long long)rtt);
}

static void
check_curve(wt_cert_peer_t *curve, wt_doctor_report_t *r)
{
    if (curve->key_path[0] == '\0' && curve->pub_path[0] == '\0') {
        wt_doctor_add(r, "curve", WT_DOCTOR_SKIP, NULL, "not configured (plain TCP to the broker)");
        return;
    }
    wt_err_t err = {0};
    if (wt_cert_peer_load(curve, &err) != 0) {
        wt_doctor_add(r, "curve", WT_DOCTOR_FAIL,
                      "give --curve-key the NAME.key from `worktrain keygen` (mode 0600, readable "
                      "by this user) and --broker-pub the broker's .pub",
                      "%s", err.msg);
        return;
    }
    wt_doctor_add(r, "curve", WT_DOCTOR_OK, NULL,
                  "key '%s' holds a matching secret and public key; broker key '%s' read",
                  curve->key_path, curve->pub_path);
}

static void
check_broker(const opts_t *o, wt_doctor_report_t *r)
{
    const char *fix = "start `worktrain broker`, or point --broker / WORKTRAIN_BROKER at its "
                      "client endpoint (firewall: port 5555; with CURVE the broker must list "
                      "this client's .pub in --allow-clients)";
    wt_err_t err = {0};
    wt_client_t *c = wt_client_new(o->conn.broker, &o->conn.curve, &err);
    wt_msg_t *req = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_STATS);
    wt_msg_t *rep = c ? wt_client_request(c, req, TIMEOUT_MS, &err) : NULL;
    if (rep != NULL && rep->cmd == WT_CMD_STATS_REPLY)
        wt_doctor_add(r, "broker", WT_DOCTOR_OK, NULL, "%s is active: %lld workers, %lld queued",
                      o->conn.broker, (long long)rep->workers, (long long)rep->queued);
    else if (rep != NULL && rep->cmd == WT_CMD_ERROR && rep->code == WT_PROTO_E_NOT_ACTIVE)
        wt_doctor_add(r, "broker", WT_DOCTOR_FAIL,
                      "no broker holds the leader lease: check that the active broker runs and "
                      "reaches Redis, or list every broker in WORKTRAIN_BROKER",
                      "%s answers as a standby (not active)", o->conn.broker);
    else if (rep != NULL)
        wt_doctor_add(r, "broker", WT_DOCTOR_FAIL, fix, "%s answered error %d: %s", o->conn.broker,
                      rep->code, rep->message ? rep->message : "");
    else
        wt_doctor_add(r, "broker", WT_DOCTOR_FAIL, fix, "%s: %s", o->conn.broker, err.msg);
    wt_msg_destroy(&rep);
    wt_msg_destroy(&req);
    wt_client_destroy(&c);
}

typedef struct wf_errs {
    int n;           /* errors seen */
    char first[400]; /* the first one */
} wf_errs_t;

static void
on_wf_error(void *ud, const wt_err_t *err)
{
    wf_errs_t *e = ud;
    if (e->n++ == 0)
        snprintf(e->first, sizeof e->first, "%s", err->msg);
}

static void
check_workflows(const opts_t *o, wt_doctor_report_t *r)
{
    wt_workflow_set_t *set = wt_workflow_set_new();
    wf_errs_t e = {0};
    for (int i = 0; i < o->nworkflows; i++)
        wt_workflow_set_load_dir(set, o->workflows[i], on_wf_error, &e);
    int n = wt_workflow_set_count(set);
    wt_workflow_set_destroy(&set);
    const char *fix = "fix the file named (`worktrain validate FILE` shows every problem), or "
                      "point --workflows at the folder holding the workflow JSON files";
    if (e.n > 0)
        wt_doctor_add(r, "workflows", WT_DOCTOR_FAIL, fix, "%d loaded, %d refused: %s", n, e.n,
                      e.first);
    else if (n == 0)
        wt_doctor_add(r, "workflows", WT_DOCTOR_FAIL, fix, "no workflow found in '%s'",
                      o->workflows[0]);
    else
        wt_doctor_add(r, "workflows", WT_DOCTOR_OK, NULL, "%d loaded from %s%s", n, o->workflows[0],
                      o->nworkflows > 1 ? " and more" : "");
}

/* GET {base}/v1/models: cheap, costs no tokens, and answers 401 for a bad
 * key on both providers. */
static void
check_llm(const opts_t *o, wt_doctor_report_t *r)
{
    if (o->offline) {
        wt_doctor_add(r, "llm", WT_DOCTOR_SKIP, NULL, "--offline");
        return;
    }
    const char *ak = getenv("ANTHROPIC_API_KEY"), *ok = getenv("OPENAI_API_KEY");
    int anthropic = ak && *ak;
    if (!anthropic && !(ok && *ok)) {
        wt_doctor_add(r, "llm", WT_DOCTOR_FAIL,
                      "put ANTHROPIC_API_KEY or OPENAI_API_KEY in the workers' environment "
                      "file (or run doctor --offline)",
                      "no LLM key in the environment");
        return;
    }
    const char *base = getenv(anthropic ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL");
    if (base == NULL || *base == '\0')
        base = anthropic ? "https://api.anthropic.com" : "https://api.openai.com";
    size_t bl = strlen(base);
    int has_v1 = bl >= 3 && strcmp(base + bl - 3, "/v1") == 0;
    char url[1024], auth[1024];
    snprintf(url, sizeof url, "%s%s/models", base, has_v1 ? "" : "/v1");
    if (anthropic)
        snprintf(auth, sizeof auth, "x-api-key: %s", ak);
    else
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", ok);
    const char *headers[] = {auth, "anthropic-version: 2023-06-01", NULL};
    wt_http_req_t req = {.method = "GET",
                         .url = url,
                         .headers = headers,
                         .timeout_ms = 10000,
                         .connect_timeout_ms = TIMEOUT_MS};
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, 0);
    wt_err_t err = {0};
    wt_http_t *h = wt_http_new(&err);
    int rc = h ? wt_http_perform(h, &req, &resp, &err) : -1;
    explicit_bzero(auth, sizeof auth);
    const char *who = anthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
    if (rc != 0)
        wt_doctor_add(r, "llm", WT_DOCTOR_FAIL,
                      "check the provider's base URL and the host's outbound HTTPS (proxy, "
                      "firewall)",
                      "%s models endpoint unreachable: %s", base, err.msg);
    else if (resp.status == 401 || resp.status == 403)
        wt_doctor_add(r, "llm", WT_DOCTOR_FAIL,
                      "replace the key with a valid one from the provider's console",
                      "%s refused by %s (HTTP %ld)", who, base, resp.status);
    else if (resp.status != 200)
        wt_doctor_add(r, "llm", WT_DOCTOR_FAIL, "check the provider's status page and base URL",
                      "%s answered HTTP %ld", base, resp.status);
    else
        wt_doctor_add(r, "llm", WT_DOCTOR_OK, NULL, "%s accepted by %s", who, base);
    wt_http_resp_release(&resp);
    wt_http_destroy(&h);
}

static void
check_workspace(const opts_t *o, wt_doctor_report_t *r)
{
    const char *fix = "create the folder and give the worker's user write access to it "
                      "(systemd: ReadWritePaths; Kubernetes: a writable volume)";
    char path[600];
    snprintf(path, sizeof path, "%s/.wt-doctor-XXXXXX", o->workspace);
    if (mkdir(o->workspace, 0755) != 0 && errno != EEXIST) {
        wt_doctor_add(r, "workspace", WT_DOCTOR_FAIL, fix, "cannot create '%s': %s", o->workspace,
                      strerror(errno));
        return;
    }
    int fd = mkstemp(path);
    if (fd < 0) {
        wt_doctor_add(r, "workspace", WT_DOCTOR_FAIL, fix, "cannot write in '%s': %s", o->workspace,
                      strerror(errno));
        return;
    }
    close(fd);
    unlink(path);
    wt_doctor_add(r, "workspace", WT_DOCTOR_OK, NULL, "'%s' is writable", o->workspace);
}

/* --- verb --- */

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: worktrain doctor [--offline] [--json] [--redis URL] [--broker EP]\n"
            "                        [--workflows DIR]... [--workspace-root DIR]\n"
            "                        [--curve-key FILE --broker-pub FILE] [--max-skew DUR]\n"
            "\n"
            "Checks a host's setup and prints one line per check (ok, FAIL with a fix, or\n"
            "skip): redis (reachable, version >= 6.2), acl (the fleet's commands allowed on\n"
            "its key prefix), clock (skew to Redis TIME under --max-skew, default 1s), curve\n"
            "(key files readable, secret matching public), broker (reachable and active),\n"
            "workflows (all load), llm (ANTHROPIC_API_KEY or OPENAI_API_KEY accepted by the\n"
            "provider's models endpoint; skipped with --offline), workspace (root writable).\n"
            "Settings come from the same flags and variables as the other verbs\n"
            "(WORKTRAIN_REDIS, WORKTRAIN_BROKER, WORKTRAIN_CURVE_KEY, WORKTRAIN_BROKER_PUB).\n"
            "--json prints {\"ok\":bool,\"checks\":[{check,status,detail,fix}]}.\n"
            "Exit 0 when no check failed, 1 when one did, 2 on bad usage.\n" WT_CLI_CURVE_HELP);
}

static int
parse(opts_t *o, int argc, char **argv)
{
    static const struct option opts[] = {{"offline", 0, 0, 'o'},
                                         {"json", 0, 0, 'j'},
                                         {"redis", 1, 0, 'r'},
                                         {"broker", 1, 0, 'b'},
                                         {"workflows", 1, 0, 'w'},
                                         {"workspace-root", 1, 0, 'W'},
                                         {"max-skew", 1, 0, 's'},
                                         {"help", 0, 0, 'h'},
                                         WT_CLI_CURVE_KEY_OPT,
                                         WT_CLI_BROKER_PUB_OPT,
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    wt_cli_conn_defaults(&o->conn);
    const char *tmp = getenv("TMPDIR");
    snprintf(o->workspace, sizeof o->workspace, "%s/worktrain-workspaces",
             tmp && *tmp ? tmp : "/tmp");
    o->max_skew_ms = 1000;
    wt_cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (wt_cli_conn_opt(&o->conn, c, optarg))
            continue;
        switch (c) {
        case 'o':
            o->offline = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'r':
            snprintf(o->conn.redis, sizeof o->conn.redis, "%s", optarg);
            break;
        case 'b':
            snprintf(o->conn.broker, sizeof o->conn.broker, "%s", optarg);
            break;
        case 'w':
            if (o->nworkflows == 8)
                return wt_cli_usage_error("doctor", "at most 8 --workflows");
            snprintf(o->workflows[o->nworkflows++], sizeof o->workflows[0], "%s", optarg);
            break;
        case 'W':
            snprintf(o->workspace, sizeof o->workspace, "%s", optarg);
            break;
        case 's':
            if ((o->max_skew_ms = wt_clock_parse_duration_ms(optarg)) < 0)
                return wt_cli_usage_error("doctor", "bad value for --max-skew: '%s'", optarg);
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            return wt_cli_usage_error("doctor", "unknown option '%s' (try --help)",
                                      argv[optind - 1]);
        }
    }
    if (optind < argc)
        return wt_cli_usage_error("doctor", "unexpected argument '%s'", argv[optind]);
    wt_err_t err = {0};
    if (wt_endpoints_check(o->conn.broker, "--broker", &err) != 0) {
        fprintf(stderr, "worktrain doctor: %s\n", err.msg);
        return 2;
    }
    if (o->nworkflows == 0) {
        struct stat sb;
        const char *inst = "/usr/local/share/worktrain/workflows";
        snprintf(o->workflows[o->nworkflows++], sizeof o->workflows[0], "%s",
                 stat(inst, &sb) == 0 ? inst : "workflows");
    }
    return 0;
}

int
wt_doctor_main(int argc, char **argv)
{
    opts_t o;
    int rc = parse(&o, argc, argv);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    wt_doctor_report_t r = {0};
    wt_redis_t *rd = check_redis(&o, &r);
    check_acl(rd, &r);
    check_clock(rd, &o, &r);
    wt_redis_destroy(&rd);
    check_curve(&o.conn.curve, &r);
    if (r.checks[r.n - 1].status == WT_DOCTOR_FAIL) {
        wt_doctor_add(&r, "broker", WT_DOCTOR_SKIP, NULL, "needs readable CURVE keys");
    } else {
        check_broker(&o, &r);
    }
    check_workflows(&o, &r);
    check_llm(&o, &r);
    check_workspace(&o, &r);
    wt_buf_t out;
    wt_buf_init(&out, 1 << 20);
    if (o.json)
        wt_doctor_render_json(&r, &out);
    else
        wt_doctor_render_text(&r, &out);
    fputs(wt_buf_str(&out), stdout);
    wt_buf_release(&out);
    return wt_doctor_failed(&r) ? 1 : 0;
}
