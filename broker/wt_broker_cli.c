/* wt_broker_cli - the broker's command line and start-up configuration:
 * options and their environment defaults (--help), the security checks
 * that refuse an exposed endpoint without CURVE, and the workflow ids known
 * at start (--workflows folders, the fleet registry in Redis) with the
 * --triggers file checked against them. Nothing here runs in the loop. */
#include "wt_addr.h"
#include "wt_alloc.h"
#include "wt_broker_int.h"
#include "wt_clock.h"
#include "wt_diag.h"
#include "wt_endpoints.h"
#include "wt_log.h"
#include "wt_retain.h"
#include "wt_trigger_rt.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: worktrain broker [--clients EP] [--workers EP] [--redis URL]\n"
            "                        [--http ADDR:PORT|off] [--heartbeat DUR] [--liveness N]\n"
            "                        [--max-attempts N] [--triggers FILE] [--workflows DIR]...\n"
            "                        [--timezone TZ] [--webhook-max-bytes N]\n"
            "                        [--retain DUR] [--tombstones N]\n"
            "                        [--curve-key FILE --allow-workers DIR --allow-clients DIR]\n"
            "                        [--insecure]\n"
            "\n"
            "Runs the broker: durable session intake, credit-based dispatch to workers,\n"
            "heartbeats, recovery of queued and running sessions from Redis at start.\n"
            "A session goes only to a worker that offers its workflow and has every label\n"
            "it requires (worker --label, spawn --require); until one is live it waits, and\n"
            "/metrics (wt_queue_unroutable) and `worktrain status` say why. A SPAWN of a\n"
            "workflow no worker ever offered is refused with the known ids (spawn\n"
            "--allow-unknown queues it anyway).\n"
            "Several brokers may share one Redis: one is active (leader lease\n"
            "<prefix>broker:leader), the others are standbys that answer NOT_ACTIVE and\n"
            "take over within 3 s of its death (README: High availability).\n"
            "\n"
            "  --clients EP       client ROUTER endpoint (default tcp://127.0.0.1:5555,\n"
            "                     env WORKTRAIN_BROKER_CLIENTS)\n"
            "  --workers EP       worker ROUTER endpoint (default tcp://127.0.0.1:5556,\n"
            "                     env WORKTRAIN_BROKER_WORKERS)\n"
            "  --redis URL        Redis (default $WORKTRAIN_REDIS or redis://127.0.0.1:6379/0)\n"
            "  --http ADDR:PORT   /healthz, /readyz (200 only while active) and /metrics\n"
            "                     (default 127.0.0.1:3200; off disables)\n"
            "  --heartbeat DUR    heartbeat interval (default 1s)\n"
            "  --liveness N       missed heartbeats before a worker is dead (default 3)\n"
            "  --redis-min-replicas N  SPAWNED only once N Redis replicas have the session\n"
            "                     (WAIT N; default 0 = asynchronous replication); when fewer\n"
            "                     confirm in 500 ms the client gets a retryable UNAVAILABLE\n"
            "  --max-attempts N   charged runs of a session before it is dead-lettered\n"
            "                     (default 3; a run lost with its worker is charged only\n"
            "                     if the session was running a tool then)\n"
            "  --triggers FILE    triggers.yml: webhooks (POST /webhook/ID; also Alertmanager\n"
            "                     and PagerDuty), cron, pollers, Redis streams, serial\n"
            "                     queues; any problem in it stops the start, all listed\n"
            "  --workflows DIR    workflow ids the triggers may name and spawns may ask for\n"
            "                     (repeatable; the fleet registry in Redis is also used)\n"
            "  --timezone TZ      time zone of cron schedules (default $TZ, else local)\n"
            "  --webhook-max-bytes N  larger webhook bodies get 413 (default 1048576)\n"
            "  --retain DUR       keep an ended session this long, then delete its keys and\n"
            "                     index entries (default 7d; spawn --retain overrides it)\n"
            "  --tombstones N     expired session ids remembered so status/await/console\n"
            "                     can say 'expired' (default 100000, each for 7 days)\n"
            "\n"
            "Security (README: Running on several machines):\n"
            "  --curve-key FILE   the broker's secret certificate (worktrain keygen): both\n"
            "                     sockets become CURVE servers (encrypted, authenticated)\n"
            "  --allow-workers DIR  *.pub of the workers allowed on the worker socket\n"
            "  --allow-clients DIR  *.pub of the clients allowed on the client socket; a\n"
            "                     key is accepted only on its own socket, anything else is\n"
            "                     refused, logged (once a minute per peer) and counted in\n"
            "                     wt_auth_failures_total. SIGHUP re-reads both directories:\n"
            "                     a removed worker key drops that worker and its sessions\n"
            "                     resume elsewhere\n"
            "  --insecure         allow plain TCP on non-loopback addresses without\n"
            "                     --curve-key (otherwise refused, exit 2); warns at start\n"
            "                     and every hour\n");
}

static const char *
env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* 1 when binding ep exposes nothing beyond this host: ipc, inproc, or TCP
 * on a loopback address. */
static int
endpoint_local(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
        return 1;
    if (strncmp(ep, "tcp://", 6) != 0)
        return 0;
    char host[256];
    const char *h = ep + 6, *colon = strrchr(h, ':');
    if (colon == NULL || (size_t)(colon - h) >= sizeof host)
        return 0;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    if (host[0] == '[' && strlen(host) > 2 && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host) - 2);
        host[strlen(host) - 2] = '\0';
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return strcmp(host, "localhost") == 0 || strcmp(host, "lo") == 0;
}

/* CURVE flags go together; without them only local endpoints unless
 * --insecure. Loads the broker's certificate so a bad file stops the
 * start before anything is bound. */
static int
check_security(wt_broker_cfg_t *cfg)
{
    const char *why = wt_endpoint_problem(cfg->clients, 1);
    if (why != NULL)
        return fprintf(stderr, "worktrain broker: bad --clients '%s': %s\n", cfg->clients, why), 2;
    if ((why = wt_endpoint_problem(cfg->workers, 1)) != NULL)
        return fprintf(stderr, "worktrain broker: bad --workers '%s': %s\n", cfg->workers, why), 2;
    int any = cfg->curve_key[0] || cfg->allow_workers[0] || cfg->allow_clients[0];
    if (any && !(cfg->curve_key[0] && cfg->allow_workers[0] && cfg->allow_clients[0]))
        return fprintf(stderr,
                       "worktrain broker: --curve-key, --allow-workers and "
                       "--allow-clients go together (missing %s)\n",
                       !cfg->curve_key[0]       ? "--curve-key"
                       : !cfg->allow_workers[0] ? "--allow-workers"
                                                : "--allow-clients"),
               2;
    if (cfg->curve_key[0]) {
        wt_err_t err = {0};
        if (wt_cert_load(&cfg->cert, cfg->curve_key, WT_CERT_SECRET, "--curve-key", &err) != 0)
            return fprintf(stderr, "worktrain broker: %s\n", err.msg), 2;
        if (cfg->insecure)
            cfg->insecure = 0; /* CURVE is on: nothing insecure to allow */
        return 0;
    }
    const char *eps[] = {cfg->clients, cfg->workers};
    for (int i = 0; i < 2 && !cfg->insecure; i++)
        if (!endpoint_local(eps[i]))
            return fprintf(stderr,
                           "worktrain broker: refusing to bind %s '%s' without "
                           "--curve-key: anyone who can reach it could act as a %s "
                           "(use CURVE, a loopback address, or --insecure)\n",
                           i ? "--workers" : "--clients", eps[i], i ? "worker" : "client"),
                   2;
    return 0;
}

int
wt_broker_parse_args(wt_broker_cfg_t *cfg, int argc, char **argv)
{
    snprintf(cfg->clients, sizeof cfg->clients, "%s",
             env_or("WORKTRAIN_BROKER_CLIENTS", "tcp://127.0.0.1:5555"));
    snprintf(cfg->workers, sizeof cfg->workers, "%s",
             env_or("WORKTRAIN_BROKER_WORKERS", "tcp://127.0.0.1:5556"));
    snprintf(cfg->redis, sizeof cfg->redis, "%s",
             env_or("WORKTRAIN_REDIS", "redis://127.0.0.1:6379/0"));
    snprintf(cfg->http, sizeof cfg->http, "127.0.0.1:3200");
    cfg->heartbeat_ms = 1000;
    cfg->liveness = 3;
    cfg->max_attempts = 3;
    cfg->min_replicas_wait_ms = 500;
    cfg->webhook_max_bytes = WT_TRIGGER_RT_DEFAULT_MAX_BODY;
    cfg->retain_ms = WT_STORE_RETAIN_DEFAULT_MS;
    cfg->tombstones = WT_RETAIN_TOMBSTONES;
    static const struct option opts[] = {{"clients", required_argument, 0, 'c'},
                                         {"workers", required_argument, 0, 'w'},
                                         {"redis", required_argument, 0, 'r'},
                                         {"http", required_argument, 0, 'H'},
                                         {"heartbeat", required_argument, 0, 'b'},
                                         {"liveness", required_argument, 0, 'l'},
                                         {"max-attempts", required_argument, 0, 'm'},
                                         {"redis-min-replicas", required_argument, 0, 0x301},
                                         {"triggers", required_argument, 0, 'T'},
                                         {"workflows", required_argument, 0, 'W'},
                                         {"timezone", required_argument, 0, 'Z'},
                                         {"webhook-max-bytes", required_argument, 0, 'B'},
                                         {"retain", required_argument, 0, 'R'},
                                         {"tombstones", required_argument, 0, 'S'},
                                         {"curve-key", required_argument, 0, 'K'},
                                         {"allow-workers", required_argument, 0, 'A'},
                                         {"allow-clients", required_argument, 0, 'C'},
                                         {"insecure", no_argument, 0, 'I'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int64_t v;
        char *end;
        switch (c) {
        case 'c':
            snprintf(cfg->clients, sizeof cfg->clients, "%s", optarg);
            break;
        case 'w':
            snprintf(cfg->workers, sizeof cfg->workers, "%s", optarg);
            break;
        case 'r':
            snprintf(cfg->redis, sizeof cfg->redis, "%s", optarg);
            break;
        case 'H':
            snprintf(cfg->http, sizeof cfg->http, "%s", strcmp(optarg, "off") ? optarg : "");
            break;
        case 'b':
            v = wt_clock_parse_duration_ms(optarg);
            if (v < 10 || v > 60000)
                return fprintf(stderr, "worktrain broker: bad --heartbeat '%s'\n", optarg), 2;
            cfg->heartbeat_ms = (int)v;
            break;
        case 'l':
            v = strtoll(optarg, &end, 10);
            if (*end || v < 1 || v > 100)
                return fprintf(stderr, "worktrain broker: bad --liveness '%s'\n", optarg), 2;
            cfg->liveness = (int)v;
            break;
        case 'm':
            v = strtoll(optarg, &end, 10);
            if (*end || v < 1 || v > 1000)
                return fprintf(stderr, "worktrain broker: bad --max-attempts '%s'\n", optarg), 2;
            cfg->max_attempts = (int)v;
            break;
        case 0x301:
            v = strtoll(optarg, &end, 10);
            if (*end || v < 0 || v > 16)
                return fprintf(stderr, "worktrain broker: bad --redis-min-replicas '%s'\n", optarg),
                       2;
            cfg->min_replicas = (int)v;
            break;
        case 'T':
            snprintf(cfg->triggers, sizeof cfg->triggers, "%s", optarg);
            break;
        case 'W':
            if (cfg->nworkflow_dirs == 8)
                return fprintf(stderr, "worktrain broker: at most 8 --workflows\n"), 2;
            snprintf(cfg->workflow_dirs[cfg->nworkflow_dirs++], sizeof cfg->workflow_dirs[0], "%s",
                     optarg);
            break;
        case 'Z':
            if (optarg[0] == '\0')
                return fprintf(stderr, "worktrain broker: empty --timezone\n"), 2;
            setenv("TZ", optarg, 1); /* before any thread starts */
            break;
        case 'B':
            v = strtoll(optarg, &end, 10);
            if (*end || v < 1 || v > (int64_t)64 << 20)
                return fprintf(stderr, "worktrain broker: bad --webhook-max-bytes '%s'\n", optarg),
                       2;
            cfg->webhook_max_bytes = (size_t)v;
            break;
        case 'R': {
            wt_err_t e = {0};
            if (wt_retain_parse("--retain", optarg, &cfg->retain_ms, &e) != 0)
                return fprintf(stderr, "worktrain broker: %s\n", e.msg), 2;
            break;
        }
        case 'S':
            v = strtoll(optarg, &end, 10);
            if (*end || v < 1 || v > 100000000)
                return fprintf(stderr, "worktrain broker: bad --tombstones '%s'\n", optarg), 2;
            cfg->tombstones = v;
            break;
        case 'K':
            snprintf(cfg->curve_key, sizeof cfg->curve_key, "%s", optarg);
            break;
        case 'A':
            snprintf(cfg->allow_workers, sizeof cfg->allow_workers, "%s", optarg);
            break;
        case 'C':
            snprintf(cfg->allow_clients, sizeof cfg->allow_clients, "%s", optarg);
            break;
        case 'I':
            cfg->insecure = 1;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "worktrain broker: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc)
        return fprintf(stderr, "worktrain broker: unexpected argument '%s'\n", argv[optind]), 2;
    wt_err_t err = {0};
    wt_redis_url_t u;
    if (wt_redis_parse_url(cfg->redis, &u, &err) != 0)
        return fprintf(stderr, "worktrain broker: %s\n", err.msg), 2;
    wt_addr_t sa;
    if (cfg->http[0] && wt_addr_parse(cfg->http, "http address", &sa, &err) != 0)
        return fprintf(stderr, "worktrain broker: %s\n", err.msg), 2;
    return check_security(cfg);
}

/* --- triggers --- */

typedef struct known_ids {
    char **v; /* owned ids */
    size_t n; /* count */
} known_ids_t;

static void
known_add(known_ids_t *k, const char *id)
{
    k->v = wt_xrealloc(k->v, (k->n + 1) * sizeof *k->v);
    k->v[k->n++] = wt_xstrdup(id);
}

static int
known_has(void *ud, const char *id)
{
    known_ids_t *k = ud;
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->v[i], id) == 0)
            return 1;
    return 0;
}

/* Workflow ids from --workflows folders (each *.json's "id") and from the
 * fleet registry in Redis (HKEYS <prefix>workflows), when reachable. */
static void
known_collect(const wt_broker_cfg_t *cfg, known_ids_t *k)
{
    for (int i = 0; i < cfg->nworkflow_dirs; i++) {
        DIR *d = opendir(cfg->workflow_dirs[i]);
        if (d == NULL) {
            wt_log_warn("triggers: cannot read --workflows '%s': %s", cfg->workflow_dirs[i],
                        strerror(errno));
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t n = strlen(e->d_name);
            if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
                continue;
            char *path = wt_xasprintf("%s/%s", cfg->workflow_dirs[i], e->d_name);
            json_error_t je;
            json_t *j = json_load_file(path, 0, &je);
            free(path);
            const char *id = json_string_value(json_object_get(j, "id"));
            if (id)
                known_add(k, id);
            json_decref(j);
        }
        closedir(d);
    }
    wt_err_t err = {0};
    wt_redis_t *r = wt_redis_new(cfg->redis, 1000, &err);
    redisReply *rep = NULL;
    if (r && wt_redis_connect(r, &err) == 0) {
        wt_store_t store;
        wt_store_init(&store, r, NULL);
        char key[128];
        rep = wt_redis_command(r, &err, "HKEYS %s",
                               wt_store_key(&store, key, sizeof key, "workflows"));
    }
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
        if (rep->element[i]->str)
            known_add(k, rep->element[i]->str);
    if (rep)
        freeReplyObject(rep);
    wt_redis_destroy(&r);
}

/* Loads --triggers; prints every problem. NULL when it has errors. */
wt_triggers_t *
wt_broker_load_triggers(const wt_broker_cfg_t *cfg, int *failed)
{
    known_ids_t k = {0};
    known_collect(cfg, &k);
    wt_trigger_opts_t opts = {k.n ? known_has : NULL, &k};
    wt_diags_t d;
    wt_diags_init(&d);
    wt_triggers_t *t = wt_triggers_load_file(cfg->triggers, &opts, &d);
    wt_diags_sort(&d);
    for (int i = 0; i < d.n; i++) {
        if (d.v[i].warning)
            wt_log_warn("%s:%d:%d: %s", d.v[i].file, d.v[i].line, d.v[i].col, d.v[i].msg);
        else
            wt_log_error("%s:%d:%d: %s", d.v[i].file, d.v[i].line, d.v[i].col, d.v[i].msg);
    }
    if (t == NULL) {
        wt_log_error("triggers: %d problem%s in %s: not starting", d.errors,
                     d.errors == 1 ? "" : "s", cfg->triggers);
        *failed = 1;
    } else {
        for (size_t i = 0; i < t->n; i++)
            if (t->v[i].provider == WT_TRIGGER_GENERIC && t->v[i].hmac_secret == NULL)
                wt_log_warn("trigger %s has no hmacSecret: its webhook accepts unsigned "
                            "deliveries",
                            t->v[i].id);
        wt_log_info("triggers: %zu loaded from %s", t->n, cfg->triggers);
    }
    wt_diags_release(&d);
    for (size_t i = 0; i < k.n; i++)
        free(k.v[i]);
    free(k.v);
    return t;
}

void
wt_broker_known_workflows(wt_broker_t *self)
{
    if (self->cfg.nworkflow_dirs == 0)
        return;
    known_ids_t k = {0};
    known_collect(&self->cfg, &k);
    for (size_t i = 0; i < k.n; i++) {
        wt_route_known_add(self->queue, k.v[i]);
        free(k.v[i]);
    }
    free(k.v);
}
