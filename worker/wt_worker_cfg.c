/* wt_worker_cfg - flag parsing for `worktrain worker`. */
#include "wt_worker_cfg.h"

#include "wt_addr.h"
#include "wt_clock.h"
#include "wt_endpoints.h"
#include "wt_proto.h"
#include "wt_redis.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: worktrain worker [--broker EP] [--clients EP] [--redis URL] [--slots N]\n"
        "                        [--prefetch N]\n"
        "                        [--workflows DIR]... [--label LABEL]...\n"
        "                        [--workspace-root DIR] [--name NAME]\n"
        "                        [--provider anthropic|openai|scripted] [--base-url URL]\n"
        "                        [--model NAME] [--model-fast|--model-balanced|--model-best NAME]\n"
        "                        [--script FILE] [--soul FILE]\n"
        "                        [--max-turns N] [--session-timeout DUR] [--stall-timeout DUR]\n"
        "                        [--drain-timeout DUR] [--stuck-policy abort|notify_only]\n"
        "                        [--heartbeat DUR] [--liveness N] [--keep-days N]\n"
        "                        [--min-notes N] [--sandbox on|off] [--tool-network on|off]\n"
        "                        [--memory-every N]\n"
        "                        [--tool-max-cpu SECONDS] [--tool-max-memory MB]\n"
        "                        [--tool-max-procs N] [--tool-max-file MB]\n"
        "                        [--curve-key FILE --broker-pub FILE] [--client-key FILE]\n"
        "                        [--http ADDR:PORT]\n"
        "\n"
        "--http ADDR:PORT serves GET /healthz (liveness: the main loop turns), /readyz\n"
        "(readiness: registered with an active broker, Redis reachable, not draining) and\n"
        "/metrics (Prometheus) for probes and direct scrapes (README: Deploying).\n"
        "Runs a worker with N session slots (default 4). Each assigned session runs its\n"
        "workflow with the chosen LLM provider; every event goes to Redis.\n"
        "--prefetch N (0-64, default 0): the worker also holds up to N assigned sessions,\n"
        "not started, beyond its slots and starts one as soon as a slot frees, so a slot\n"
        "does not idle while FINISHED and the next ASSIGN cross the broker. A held\n"
        "session is listed as running: if the worker dies it is resumed elsewhere, and\n"
        "SIGTERM or a Redis outage hands it back at once.\n"
        "Provider defaults from the keys present: ANTHROPIC_API_KEY, then OPENAI_API_KEY;\n"
        "base URLs also from ANTHROPIC_BASE_URL / OPENAI_BASE_URL. SIGTERM drains: running\n"
        "sessions stop after their current turn (or at --drain-timeout, default 30s) and are\n"
        "handed back to the broker to resume elsewhere. --broker takes a comma-separated\n"
        "list of standby brokers' worker endpoints (env WORKTRAIN_BROKER_WORKERS): the\n"
        "worker finds the active one. --clients is the broker's client\n"
        "endpoint (default $WORKTRAIN_BROKER or tcp://127.0.0.1:5555), used by spawn_agent;\n"
        "a comma-separated list too (spawn_agent finds the active broker).\n"
        "The broker gives this worker only sessions of the workflows it loaded (its\n"
        "--workflows directories) whose required labels (spawn --require) it all has:\n"
        "--label LABEL (repeatable, e.g. gpu, repo-cache; A-Z a-z 0-9 . _ : -, 64 max)\n"
        "says what this worker offers.\n"
        "Notifications: WORKTRAIN_NOTIFY_WEBHOOK (JSON POST) and/or WORKTRAIN_NOTIFY_SLACK\n"
        "(Slack incoming webhook) get one post per session_completed, retried in the\n"
        "background (WORKTRAIN_NOTIFY_ATTEMPTS, _BACKOFF_MS, _TIMEOUT_MS); outcomes go to\n"
        "wt:notifications.\n"
        "Workspaces: a successful session's workspace is removed when it ends; those of\n"
        "failed, stuck, timed-out and cancelled sessions are kept --keep-days N days\n"
        "(default 7; a decimal such as 0.5 works) for inspection, then removed.\n"
        "--redis-min-replicas N: session_completed counts as written only once N Redis\n"
        "  replicas have it (WAIT N 500; retried like a Redis outage; default 0)\n"
        "--memory-every N: after every N completed sessions fleet-wide (talk, memory and\n"
        "  watchdog sessions not counted) spawn a session of the `memory` workflow, which\n"
        "  rewrites the project memory wt:memory (default 0: never)\n"
        "--min-notes N: complete_step refuses notes shorter than N characters (default 50,\n"
        "as WorkRail's daemon; 0 only requires notes where the step does).\n"
        "Tool sandbox: --sandbox on (default) runs every Bash command under bubblewrap\n"
        "(bwrap): the session's workspace read-write, /usr and /etc (minus its secrets)\n"
        "read-only, a private /tmp (also $HOME), and nothing else of the host (keys,\n"
        "config, other workspaces, home directories). The worker checks at start that\n"
        "bwrap can create namespaces here and exits 2 if not. --sandbox off (trusted\n"
        "single-user machines only) is logged as a warning. --tool-network on lets tools\n"
        "use the network (default off; a workflow may ask with \"network\": true).\n"
        "Limits per tool process (0 = none): --tool-max-cpu seconds of CPU (600),\n"
        "--tool-max-memory MB of address space (4096), --tool-max-procs processes of\n"
        "the worker's user (1024), --tool-max-file MB per written file (1024).\n"
        "--curve-key FILE (env WORKTRAIN_CURVE_KEY): this worker's secret certificate\n"
        "(worktrain keygen; its .pub goes in the broker's --allow-workers directory);\n"
        "--broker-pub FILE (env WORKTRAIN_BROKER_PUB): the broker's public certificate.\n"
        "Both or neither; with them the connection to the broker is CURVE-encrypted.\n"
        "--client-key FILE (env WORKTRAIN_CLIENT_KEY): a client certificate (its .pub in\n"
        "the broker's --allow-clients) for spawn_agent's SPAWNs on the client socket; a\n"
        "worker key is never accepted there. Without it, under CURVE, spawn_agent fails\n"
        "with a message saying so.\n");
}

static int
bad(const char *flag, const char *value)
{
    fprintf(stderr, "worktrain worker: bad value for %s: '%s'\n", flag, value);
    return 2;
}

static void
defaults(wt_worker_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    wt_cert_peer_defaults(&cfg->curve);
    const char *ck = getenv("WORKTRAIN_CLIENT_KEY");
    snprintf(cfg->spawn_curve.key_path, sizeof cfg->spawn_curve.key_path, "%s", ck ? ck : "");
    const char *v = getenv("WORKTRAIN_BROKER_WORKERS");
    snprintf(cfg->broker, sizeof cfg->broker, "%s", v && *v ? v : "tcp://127.0.0.1:5556");
    v = getenv("WORKTRAIN_BROKER");
    snprintf(cfg->clients, sizeof cfg->clients, "%s", v && *v ? v : "tcp://127.0.0.1:5555");
    v = getenv("WORKTRAIN_REDIS");
    snprintf(cfg->redis, sizeof cfg->redis, "%s", v && *v ? v : "redis://127.0.0.1:6379/0");
    char host[64] = "worker";
    gethostname(host, sizeof host - 1);
    snprintf(cfg->name, sizeof cfg->name, "%s-%d", host, (int)getpid());
    cfg->slots = 4;
    cfg->prefetch = 0;
    v = getenv("TMPDIR");
    snprintf(cfg->workspace_root, sizeof cfg->workspace_root, "%s/worktrain-workspaces",
             v && *v ? v : "/tmp");
    cfg->heartbeat_ms = 1000;
    cfg->liveness = 3;
    cfg->max_turns = 200;
    cfg->min_notes = 50;
    cfg->session_timeout_ms = 60 * 60 * 1000;
    cfg->drain_timeout_ms = 30000;
    cfg->stuck_abort = 1;
    cfg->keep_ms = 7LL * 24 * 3600 * 1000;
    wt_llm_cfg_defaults(&cfg->llm);
    cfg->llm.timeout_ms = 120000; /* the stall timeout: no answer in 120 s */
    wt_notify_cfg_defaults(&cfg->notify);
    wt_sandbox_cfg_defaults(&cfg->sandbox);
}

static int
on_off(const char *flag, const char *s, int *out)
{
    if (strcmp(s, "on") == 0)
        *out = 1;
    else if (strcmp(s, "off") == 0)
        *out = 0;
    else
        return bad(flag, s);
    return 0;
}

static int
limit(const char *flag, const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end || v < 0 || v > 1000000000LL)
        return bad(flag, s);
    *out = v;
    return 0;
}

static int
number(const char *flag, const char *s, long lo, long hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < lo || v > hi)
        return bad(flag, s);
    *out = (int)v;
    return 0;
}

static int
duration(const char *flag, const char *s, int64_t *out)
{
    int64_t v = wt_clock_parse_duration_ms(s);
    if (v <= 0)
        return bad(flag, s);
    *out = v;
    return 0;
}

int
wt_worker_cfg_parse(wt_worker_cfg_t *cfg, int argc, char **argv)
{
    defaults(cfg);
    // clang-format off
    static const struct option opts[] = {
        {"broker", 1, 0, 'b'},          {"redis", 1, 0, 'r'},
        {"slots", 1, 0, 's'},           {"workflows", 1, 0, 'w'},
        {"workspace-root", 1, 0, 'W'},  {"name", 1, 0, 'n'},
        {"provider", 1, 0, 'p'},        {"base-url", 1, 0, 'u'},
        {"model", 1, 0, 'm'},           {"model-fast", 1, 0, 'F'},
        {"model-balanced", 1, 0, 'B'},  {"model-best", 1, 0, 'X'},
        {"script", 1, 0, 'S'},          {"soul", 1, 0, 'o'},
        {"max-turns", 1, 0, 't'},       {"session-timeout", 1, 0, 'T'},
        {"stall-timeout", 1, 0, 'L'},   {"drain-timeout", 1, 0, 'D'},
        {"stuck-policy", 1, 0, 'P'},    {"heartbeat", 1, 0, 'H'},
        {"liveness", 1, 0, 'l'},        {"clients", 1, 0, 'C'},
        {"label", 1, 0, 'a'},           {"keep-days", 1, 0, 'K'},
        {"min-notes", 1, 0, 'N'},       {"help", 0, 0, 'h'},
        {"sandbox", 1, 0, 1000},        {"tool-network", 1, 0, 1001},
        {"tool-max-cpu", 1, 0, 1002},   {"tool-max-memory", 1, 0, 1003},
        {"tool-max-procs", 1, 0, 1004}, {"tool-max-file", 1, 0, 1005},
        {"curve-key", 1, 0, 'c'},       {"broker-pub", 1, 0, 'Y'},
        {"client-key", 1, 0, 'k'},      {"redis-min-replicas", 1, 0, 1010},
        {"memory-every", 1, 0, 1011},   {"http", 1, 0, 1012},
        {"prefetch", 1, 0, 1013},
        {0, 0, 0, 0}};
    // clang-format on
    optind = 1;
    opterr = 0;
    int c, rc = 0;
    int64_t d = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            snprintf(cfg->broker, sizeof cfg->broker, "%s", optarg);
            break;
        case 1012: {
            wt_addr_t a;
            if (strlen(optarg) >= sizeof cfg->http || wt_addr_parse(optarg, "--http", &a, NULL))
                rc = bad("--http", optarg);
            else
                snprintf(cfg->http, sizeof cfg->http, "%s", optarg);
            break;
        }
        case 'c':
            snprintf(cfg->curve.key_path, sizeof cfg->curve.key_path, "%s", optarg);
            break;
        case 'Y':
            snprintf(cfg->curve.pub_path, sizeof cfg->curve.pub_path, "%s", optarg);
            break;
        case 'k':
            snprintf(cfg->spawn_curve.key_path, sizeof cfg->spawn_curve.key_path, "%s", optarg);
            break;
        case 'C':
            snprintf(cfg->clients, sizeof cfg->clients, "%s", optarg);
            break;
        case 'r':
            snprintf(cfg->redis, sizeof cfg->redis, "%s", optarg);
            break;
        case 's':
            rc = number("--slots", optarg, 1, 10000, &cfg->slots);
            break;
        case 'w':
            if (cfg->nworkflow_dirs == WT_WORKER_MAX_DIRS)
                return bad("--workflows", "too many directories");
            snprintf(cfg->workflow_dirs[cfg->nworkflow_dirs++], sizeof cfg->workflow_dirs[0], "%s",
                     optarg);
            break;
        case 'a':
            if (!wt_proto_label_ok(optarg))
                return bad("--label", optarg);
            if (cfg->nlabels == WT_WORKER_MAX_LABELS)
                return bad("--label", "too many labels");
            snprintf(cfg->labels[cfg->nlabels++], sizeof cfg->labels[0], "%s", optarg);
            break;
        case 'W':
            snprintf(cfg->workspace_root, sizeof cfg->workspace_root, "%s", optarg);
            break;
        case 'n':
            if (*optarg == '\0' || strlen(optarg) >= sizeof cfg->name)
                return bad("--name", optarg);
            snprintf(cfg->name, sizeof cfg->name, "%s", optarg);
            break;
        case 'p':
            snprintf(cfg->llm.provider, sizeof cfg->llm.provider, "%s", optarg);
            break;
        case 'u':
            snprintf(cfg->llm.base_url, sizeof cfg->llm.base_url, "%s", optarg);
            break;
        case 'F':
            snprintf(cfg->llm.model_fast, sizeof cfg->llm.model_fast, "%s", optarg);
            break;
        case 'B':
            snprintf(cfg->llm.model_balanced, sizeof cfg->llm.model_balanced, "%s", optarg);
            break;
        case 'X':
            snprintf(cfg->llm.model_best, sizeof cfg->llm.model_best, "%s", optarg);
            break;
        case 'm':
            snprintf(cfg->llm.model_fast, sizeof cfg->llm.model_fast, "%s", optarg);
            snprintf(cfg->llm.model_balanced, sizeof cfg->llm.model_balanced, "%s", optarg);
            snprintf(cfg->llm.model_best, sizeof cfg->llm.model_best, "%s", optarg);
            break;
        case 'S':
            snprintf(cfg->llm.script_path, sizeof cfg->llm.script_path, "%s", optarg);
            break;
        case 'o':
            snprintf(cfg->soul_path, sizeof cfg->soul_path, "%s", optarg);
            break;
        case 'N':
            rc = number("--min-notes", optarg, 0, 100000, &cfg->min_notes);
            break;
        case 1011:
            rc = number("--memory-every", optarg, 0, 1000000, &cfg->memory_every);
            break;
        case 1013:
            rc = number("--prefetch", optarg, 0, WT_PROTO_MAX_PREFETCH, &cfg->prefetch);
            break;
        case 't':
            rc = number("--max-turns", optarg, 1, 100000, &cfg->max_turns);
            break;
        case 'T':
            rc = duration("--session-timeout", optarg, &cfg->session_timeout_ms);
            break;
        case 'L':
            rc = duration("--stall-timeout", optarg, &d);
            cfg->llm.timeout_ms = (int)(d > INT_MAX ? INT_MAX : d);
            break;
        case 'D':
            rc = duration("--drain-timeout", optarg, &cfg->drain_timeout_ms);
            break;
        case 'P':
            if (strcmp(optarg, "abort") == 0)
                cfg->stuck_abort = 1;
            else if (strcmp(optarg, "notify_only") == 0)
                cfg->stuck_abort = 0;
            else
                rc = bad("--stuck-policy", optarg);
            break;
        case 'H':
            rc = duration("--heartbeat", optarg, &d);
            cfg->heartbeat_ms = (int)(d > 60000 ? 60000 : d);
            break;
        case 'l':
            rc = number("--liveness", optarg, 1, 100, &cfg->liveness);
            break;
        case 'K': {
            char *end;
            double days = strtod(optarg, &end);
            if (*optarg == '\0' || *end || !(days >= 0 && days <= 3650))
                rc = bad("--keep-days", optarg);
            else
                cfg->keep_ms = (int64_t)(days * 24 * 3600 * 1000);
            break;
        }
        case 1000:
            rc = on_off("--sandbox", optarg, &cfg->sandbox.enabled);
            break;
        case 1001:
            rc = on_off("--tool-network", optarg, &cfg->sandbox.network);
            break;
        case 1002:
            rc = limit("--tool-max-cpu", optarg, &cfg->sandbox.max_cpu_s);
            break;
        case 1003:
            rc = limit("--tool-max-memory", optarg, &cfg->sandbox.max_mem_mb);
            break;
        case 1004:
            rc = limit("--tool-max-procs", optarg, &cfg->sandbox.max_procs);
            break;
        case 1005:
            rc = limit("--tool-max-file", optarg, &cfg->sandbox.max_file_mb);
            break;
        case 1010:
            rc = number("--redis-min-replicas", optarg, 0, 16, &cfg->min_replicas);
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            fprintf(stderr, "worktrain worker: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (rc)
        return rc;
    if (optind < argc) {
        fprintf(stderr, "worktrain worker: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    wt_redis_url_t u;
    wt_err_t err = {0};
    /* a worker with an endpoint it can never reach would run forever
     * saying so; it stops here with the flag named */
    const char *eb = getenv("WORKTRAIN_BROKER_WORKERS"), *ec = getenv("WORKTRAIN_BROKER");
    if (wt_endpoints_check(cfg->broker,
                           eb && strcmp(eb, cfg->broker) == 0 ? "WORKTRAIN_BROKER_WORKERS"
                                                              : "--broker",
                           &err) != 0 ||
        wt_endpoints_check(cfg->clients,
                           ec && strcmp(ec, cfg->clients) == 0 ? "WORKTRAIN_BROKER" : "--clients",
                           &err) != 0) {
        fprintf(stderr, "worktrain worker: %s\n", err.msg);
        return 2;
    }
    if (wt_redis_parse_url(cfg->redis, &u, &err) != 0) {
        fprintf(stderr, "worktrain worker: %s\n", err.msg);
        return 2;
    }
    if (wt_llm_cfg_check(&cfg->llm, &err) != 0) {
        fprintf(stderr, "worktrain worker: %s\n", err.msg);
        return 2;
    }
    /* Notifications come from the environment only (the URLs are secrets,
     * kept off command lines); outcomes go to the worker's Redis. */
    if (wt_notify_cfg_from_env(&cfg->notify, &err) != 0) {
        fprintf(stderr, "worktrain worker: %s\n", err.msg);
        return 2;
    }
    snprintf(cfg->notify.redis_url, sizeof cfg->notify.redis_url, "%s", cfg->redis);
    if (wt_cert_peer_load(&cfg->curve, &err) != 0) {
        fprintf(stderr, "worktrain worker: %s\n", err.msg);
        return 2;
    }
    if (cfg->spawn_curve.key_path[0] && !cfg->curve.on) {
        fprintf(stderr, "worktrain worker: --client-key needs --curve-key and --broker-pub\n");
        return 2;
    }
    if (cfg->spawn_curve.key_path[0]) {
        snprintf(cfg->spawn_curve.pub_path, sizeof cfg->spawn_curve.pub_path, "%s",
                 cfg->curve.pub_path);
        if (wt_cert_peer_load(&cfg->spawn_curve, &err) != 0) {
            /* the messages name --curve-key: say which flag it really was */
            fprintf(stderr, "worktrain worker: --client-key: %s\n", err.msg);
            return 2;
        }
    }
    return 0;
}
