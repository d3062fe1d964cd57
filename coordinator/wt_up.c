/* wt_up - `worktrain up`: a whole local fleet in one command (what `make
 * demo` runs). It starts its own redis-server on a free loopback port (data
 * under DIR/redis), a broker on ipc:// endpoints under DIR, and N workers,
 * all as children that die with it (PR_SET_PDEATHSIG), with logs in
 * DIR/logs. --demo spawns demo sessions and prints their results; --exit
 * stops the fleet afterwards, otherwise it runs until Ctrl-C and then stops
 * every process it started. With --curve (or --curve-key/--broker-pub,
 * DESIGN 12: up is a broker peer) the fleet runs CURVE with keys under
 * DIR/keys. */
#include "wt_alloc.h"
#include "wt_cert.h"
#include "wt_cli.h"
#include "wt_cli_common.h"
#include "wt_cli_util.h"
#include "wt_client.h"
#include "wt_clock.h"
#include "wt_log.h"
#include "wt_pipeline.h"
#include "wt_run.h"
#include "wt_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 72 /* redis, broker, console and up to 64 workers */

typedef struct fleet {
    char dir[PATH_MAX];              /* absolute state dir */
    char exe[PATH_MAX];              /* this binary */
    char share[PATH_MAX];            /* repo root or install share dir */
    char redis_url[512];             /* redis://127.0.0.1:PORT/0 or --redis */
    char redis_shown[512];           /* redis_url with the password as *** */
    char clients_ep[PATH_MAX + 16];  /* broker client endpoint */
    char workers_ep[PATH_MAX + 16];  /* broker worker endpoint */
    int http_port;                   /* broker /healthz, /metrics */
    int console_port;                /* worktrain console */
    pid_t pids[MAX_CHILDREN];        /* children, in start order */
    const char *names[MAX_CHILDREN]; /* their roles */
    int n;                           /* children */
    wt_cert_peer_t curve;            /* up's own client keys; on: the fleet runs CURVE */
    char broker_key[PATH_MAX];       /* the broker's secret certificate */
    char worker_key[PATH_MAX];       /* the workers' secret certificate */
    char allow_workers[PATH_MAX];    /* DIR/keys/workers.d */
    char allow_clients[PATH_MAX];    /* DIR/keys/clients.d */
} fleet_t;

static const char up_usage[] =
    "usage: worktrain up [--workers N] [--slots N] [--redis URL] [--demo] [--sessions N]\n"
    "                    [--exit] [--dir DIR] [--curve | --curve-key FILE --broker-pub FILE]\n"
    "\n"
    "Starts a local fleet: its own redis-server on a free loopback port (unless --redis),\n"
    "a broker, N workers (default 2) and the console on a free port, with state and logs\n"
    "under DIR (default .worktrain).\n"
    "--demo runs N demo sessions (default 4) and prints their results, then (with the scripted\n"
    "provider) the bundled implement-feature pipeline. --exit stops the fleet\n"
    "afterwards (exit 0 iff every demo session succeeded); otherwise it runs until Ctrl-C.\n"
    "Uses ANTHROPIC_API_KEY or OPENAI_API_KEY when set, else the scripted provider.\n"
    "The fleet talks over ipc:// on this host only, so it needs no CURVE keys. --curve\n"
    "runs it with CURVE anyway: keys for the broker, the workers and a client are made\n"
    "under DIR/keys (kept and reused by the next up) and printed for spawn to use.\n"
    "--curve-key FILE --broker-pub FILE (env WORKTRAIN_CURVE_KEY, WORKTRAIN_BROKER_PUB):\n"
    "the fleet runs CURVE with your keys: FILE is the client key up and your CLI use\n"
    "(admitted by the broker), and the broker up starts uses the secret key next to the\n"
    "--broker-pub file (NAME.key beside NAME.pub, as `worktrain keygen NAME` writes).\n"
    "For a fleet on several machines make keys with `worktrain keygen NAME` (one per\n"
    "broker, worker host and client) and see README: Running on several machines.\n";

static int
free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static pid_t
start_child(fleet_t *f, const char *role, const char *log, char *const argv[])
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/logs/%s.log", f->dir, log);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        setpgid(0, 0); /* Ctrl-C goes to `up`, which stops children in order */
        execv(argv[0], argv);
        _exit(127);
    }
    if (pid > 0 && f->n < MAX_CHILDREN) {
        f->pids[f->n] = pid;
        f->names[f->n++] = role;
    }
    return pid;
}

/* Stops the children whose role is `role` (all when NULL): SIGTERM, then
 * SIGKILL for any still running at the deadline. Polls waitpid every 20 ms
 * (bounded); a child reaped earlier has pid 0. */
static void
stop_role(fleet_t *f, const char *role, int64_t grace_ms)
{
    for (int i = 0; i < f->n; i++)
        if (f->pids[i] > 0 && (role == NULL || strcmp(f->names[i], role) == 0))
            kill(f->pids[i], SIGTERM);
    int64_t deadline = wt_clock_mono_ms() + grace_ms;
    for (int i = 0; i < f->n; i++) {
        while (f->pids[i] > 0 && (role == NULL || strcmp(f->names[i], role) == 0)) {
            pid_t w = waitpid(f->pids[i], NULL, WNOHANG);
            if (w == f->pids[i] || (w < 0 && errno == ECHILD)) {
                f->pids[i] = 0;
            } else if (wt_clock_mono_ms() > deadline) {
                kill(f->pids[i], SIGKILL);
                waitpid(f->pids[i], NULL, 0);
                f->pids[i] = 0;
            } else {
                wt_clock_sleep_ms(20);
            }
        }
    }
}

/* Workers first (they hand running sessions back through the broker and
 * Redis), then the broker, then redis; anything left last. */
static void
stop_all(fleet_t *f)
{
    stop_role(f, "worker", 10000);
    stop_role(f, "broker", 5000);
    stop_role(f, "redis", 5000);
    stop_role(f, NULL, 2000);
    f->n = 0;
}

/* Reaps children that exited on their own and says so. */
static void
reap_exited(fleet_t *f)
{
    for (int i = 0; i < f->n; i++) {
        int st = 0;
        if (f->pids[i] <= 0 || waitpid(f->pids[i], &st, WNOHANG) != f->pids[i])
            continue;
        fprintf(stderr, "worktrain up: %s (pid %d) exited unexpectedly (%s %d); see %s/logs\n",
                f->names[i], (int)f->pids[i], WIFSIGNALED(st) ? "signal" : "status",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), f->dir);
        f->pids[i] = 0;
    }
}

static void
on_child(int sig)
{
    (void)sig; /* only here so SIGCHLD interrupts sigsuspend */
}

/* Sleeps until SIGINT or SIGTERM, reporting children that die meanwhile.
 * The signals stay blocked between the flag check and sigsuspend, so a
 * stop request can never slip in unnoticed. */
static void
wait_for_stop(fleet_t *f)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGCHLD);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!wt_signal_stopping()) {
        reap_exited(f);
        if (!wt_signal_stopping())
            sigsuspend(&old);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static int
wait_redis(const char *url)
{
    int64_t deadline = wt_clock_mono_ms() + 15000;
    wt_err_t err = {0};
    wt_redis_t *r = wt_redis_new(url, 1000, &err);
    int ok = 0;
    while (r && !ok && wt_clock_mono_ms() < deadline && !wt_signal_stopping()) {
        redisReply *rep = wt_redis_command(r, &err, "PING");
        if (rep) {
            ok = 1;
            freeReplyObject(rep);
        } else
            wt_clock_sleep_ms(50);
    }
    wt_redis_destroy(&r);
    return ok ? 0 : -1;
}

/* Asks the broker for STATS until n workers registered (bounded). */
static int
wait_workers(fleet_t *f, int n)
{
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(f->clients_ep, f->curve.on ? &f->curve : NULL, &err);
    int64_t deadline = wt_clock_mono_ms() + 30000;
    int ok = 0;
    while (cl && !ok && wt_clock_mono_ms() < deadline && !wt_signal_stopping()) {
        wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_STATS);
        wt_msg_t *rep = wt_client_request(cl, m, 3000, &err);
        ok = rep && rep->cmd == WT_CMD_STATS_REPLY && rep->workers >= n;
        wt_msg_destroy(&m);
        wt_msg_destroy(&rep);
        if (!ok)
            wt_clock_sleep_ms(100);
    }
    wt_client_destroy(&cl);
    return ok ? 0 : -1;
}

static void
locate(fleet_t *f)
{
    ssize_t n = readlink("/proc/self/exe", f->exe, sizeof f->exe - 1);
    f->exe[n > 0 ? n : 0] = '\0';
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", f->exe);
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    char cand[PATH_MAX + 32];
    snprintf(cand, sizeof cand, "%s/../workflows", buf);
    char real[PATH_MAX];
    if (realpath(cand, real) != NULL) {
        snprintf(cand, sizeof cand, "%s/..", buf);
        if (realpath(cand, f->share) == NULL)
            snprintf(f->share, sizeof f->share, "%s/..", buf);
    } else {
        snprintf(f->share, sizeof f->share, "/usr/local/share/worktrain");
    }
}

static int
start_fleet(fleet_t *f, const char *redis_arg, int nworkers, int slots, int scripted)
{
    char port_s[16], http[32], slots_s[16], wf_dir[PATH_MAX + 32], ws_dir[PATH_MAX + 32];
    char script[PATH_MAX + 64], redis_dir[PATH_MAX + 16];
    if (redis_arg) {
        snprintf(f->redis_url, sizeof f->redis_url, "%s", redis_arg);
    } else {
        int port = free_port();
        snprintf(port_s, sizeof port_s, "%d", port);
        snprintf(redis_dir, sizeof redis_dir, "%s/redis", f->dir);
        mkdir(redis_dir, 0755);
        char *argv[] = {"/usr/bin/redis-server",
                        "--port",
                        port_s,
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        redis_dir,
                        "--appendonly",
                        "yes",
                        "--save",
                        "",
                        "--daemonize",
                        "no",
                        NULL};
        if (start_child(f, "redis", "redis", argv) < 0)
            return -1;
        snprintf(f->redis_url, sizeof f->redis_url, "redis://127.0.0.1:%d/0", port);
    }
    wt_redis_url_display(f->redis_url, f->redis_shown, sizeof f->redis_shown);
    if (wait_redis(f->redis_url) != 0) {
        fprintf(stderr, "worktrain up: redis at %s did not answer (see %s/logs/redis.log)\n",
                f->redis_shown, f->dir);
        return -1;
    }
    if (strlen(f->dir) + sizeof "/workers.sock" <= 100) { /* fits a sun_path */
        snprintf(f->clients_ep, sizeof f->clients_ep, "ipc://%s/clients.sock", f->dir);
        snprintf(f->workers_ep, sizeof f->workers_ep, "ipc://%s/workers.sock", f->dir);
    } else {
        snprintf(f->clients_ep, sizeof f->clients_ep, "tcp://127.0.0.1:%d", free_port());
        snprintf(f->workers_ep, sizeof f->workers_ep, "tcp://127.0.0.1:%d", free_port());
    }
    f->http_port = free_port();
    snprintf(http, sizeof http, "127.0.0.1:%d", f->http_port);
    char *bargv[] = {f->exe,        "broker",  "--clients",  f->clients_ep, "--workers",
                     f->workers_ep, "--redis", f->redis_url, "--http",      http,
                     NULL,          NULL,      NULL,         NULL,          NULL,
                     NULL,          NULL};
    if (f->curve.on) {
        bargv[10] = "--curve-key";
        bargv[11] = f->broker_key;
        bargv[12] = "--allow-workers";
        bargv[13] = f->allow_workers;
        bargv[14] = "--allow-clients";
        bargv[15] = f->allow_clients;
    }
    if (start_child(f, "broker", "broker", bargv) < 0)
        return -1;
    snprintf(slots_s, sizeof slots_s, "%d", slots);
    snprintf(wf_dir, sizeof wf_dir, "%s/workflows", f->share);
    if (access(wf_dir, R_OK) != 0) {
        fprintf(stderr,
                "worktrain up: no workflows at %s (run the binary from its build/ folder in the "
                "source tree, or `make install`)\n",
                wf_dir);
        return -1;
    }
    snprintf(ws_dir, sizeof ws_dir, "%s/workspaces", f->dir);
    snprintf(script, sizeof script, "%s/coordinator/demo/demo-script.json", f->share);
    if (access(script, R_OK) != 0)
        snprintf(script, sizeof script, "%s/demo/demo-script.json", f->share);
    for (int i = 1; i <= nworkers; i++) {
        char name[32], log[32];
        snprintf(name, sizeof name, "worker-%d", i);
        snprintf(log, sizeof log, "worker-%d", i);
        char *wargv[32] = {
            f->exe,    "worker", "--broker",    f->workers_ep, "--redis",          f->redis_url,
            "--slots", slots_s,  "--workflows", wf_dir,        "--workspace-root", ws_dir,
            "--name",  name,     "--clients",   f->clients_ep, "--drain-timeout",  "5s",
            NULL};
        int k = 18;
        if (scripted) {
            wargv[k++] = "--provider";
            wargv[k++] = "scripted";
            wargv[k++] = "--script";
            wargv[k++] = script;
        }
        if (f->curve.on) { /* its own key, and up's client key for spawn_agent */
            wargv[k++] = "--curve-key";
            wargv[k++] = f->worker_key;
            wargv[k++] = "--broker-pub";
            wargv[k++] = f->curve.pub_path;
            wargv[k++] = "--client-key";
            wargv[k++] = f->curve.key_path;
        }
        wargv[k] = NULL;
        if (start_child(f, "worker", log, wargv) < 0)
            return -1;
    }
    if (wait_workers(f, nworkers) != 0) {
        fprintf(stderr, "worktrain up: workers did not register with the broker (see %s/logs)\n",
                f->dir);
        return -1;
    }
    char chttp[32];
    f->console_port = free_port();
    snprintf(chttp, sizeof chttp, "127.0.0.1:%d", f->console_port);
    char *cargv[] = {f->exe, "console", "--http", chttp, "--redis", f->redis_url, NULL};
    if (start_child(f, "console", "console", cargv) < 0)
        return -1;
    return 0;
}

/* Prints each result: outcome, the worker that ran it, summary, notes. */
static void
print_results(fleet_t *f, json_t *res)
{
    wt_redis_t *redis = NULL;
    wt_store_t store;
    if (wt_cli_open_store("up", f->redis_url, &redis, &store) != 0)
        redis = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r)
    {
        const char *sid = json_string_value(json_object_get(r, "session"));
        json_t *out = json_object_get(r, "output");
        char key[128], worker[64] = "?";
        wt_err_t err = {0};
        redisReply *w = redis ? wt_redis_command(redis, &err, "HGET %s worker",
                                                 wt_store_key(&store, key, sizeof key, "session:%s",
                                                              sid ? sid : ""))
                              : NULL;
        if (w && w->type == REDIS_REPLY_STRING)
            snprintf(worker, sizeof worker, "%s", w->str);
        if (w)
            freeReplyObject(w);
        printf("\n%s  %s  (ran on %s)\n  summary: %s\n  notes:   %s\n", sid ? sid : "?",
               json_string_value(json_object_get(r, "outcome")) ?: "?", worker,
               json_string_value(json_object_get(json_object_get(out, "context"), "summary"))
                   ?: "-",
               json_string_value(json_object_get(out, "notes")) ?: "-");
        const char *detail = json_string_value(json_object_get(r, "detail"));
        if (detail && *detail)
            printf("  detail:  %s\n", detail);
    }
    wt_redis_destroy(&redis);
}

/* Spawns the demo sessions and waits for them; 0 iff all succeeded. */
static int
run_demo(fleet_t *f, int sessions)
{
    static const char *const goals[] = {"summarise the host", "list the workspace",
                                        "check the toolchain", "write a status note"};
    char **sids = wt_xcalloc((size_t)sessions, sizeof *sids);
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(f->clients_ep, f->curve.on ? &f->curve : NULL, &err);
    int rc = cl ? 0 : 1;
    for (int i = 0; i < sessions && rc == 0; i++) {
        wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
        char goal[128];
        snprintf(goal, sizeof goal, "demo session %d: %s", i + 1, goals[i % 4]);
        wt_msg_set(&m->workflow, "demo");
        wt_msg_set(&m->goal, goal);
        wt_msg_t *rep = wt_client_request(cl, m, 10000, &err);
        if (rep && rep->cmd == WT_CMD_SPAWNED) {
            sids[i] = wt_xstrdup(rep->session);
            printf("spawned %s  %s\n", rep->session, goal);
        } else {
            fprintf(stderr, "worktrain up: spawn failed: %s\n",
                    rep && rep->message ? rep->message : err.msg);
            rc = 1;
        }
        wt_msg_destroy(&m);
        wt_msg_destroy(&rep);
    }
    wt_client_destroy(&cl);
    fflush(stdout);
    if (rc == 0) {
        json_t *res = wt_cli_await_collect(f->redis_url, sids, sessions, 300000, &rc);
        print_results(f, res);
        json_decref(res);
    }
    for (int i = 0; i < sessions; i++)
        free(sids[i]);
    free(sids);
    return rc;
}

/* The demo's second half: the bundled implement-feature pipeline, run by
 * this process as `worktrain run` would (scripted provider only: with a real
 * model it would start editing code). 0 iff the pipeline succeeded. */
static int
run_demo_pipeline(fleet_t *f)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/coordinator/pipelines/implement-feature.yml", f->share);
    if (access(path, R_OK) != 0)
        snprintf(path, sizeof path, "%s/pipelines/implement-feature.yml", f->share);
    printf("\nPipeline: %s (zero-token coordination over the sessions' structured output)\n", path);
    fflush(stdout);
    wt_diags_t diags;
    wt_diags_init(&diags);
    wt_pipeline_t *p = wt_pipeline_load_file(path, &diags);
    wt_diags_print(&diags, stderr);
    wt_diags_release(&diags);
    if (p == NULL)
        return 1;
    wt_run_cfg_t cfg = {.redis_url = f->redis_url, .broker = f->clients_ep, .timeout_ms = 300000};
    cfg.curve = f->curve.on ? &f->curve : NULL;
    json_t *inputs = json_pack("{s:s}", "goal", "add a --dry-run flag to the deploy command");
    wt_err_t err = {0};
    wt_run_t *run = wt_run_new(&cfg, p, inputs, path, NULL, &err);
    int rc = 1;
    if (run == NULL) {
        fprintf(stderr, "worktrain up: %s\n", err.msg);
    } else {
        rc = wt_run_execute(run);
        json_t *rep = wt_run_report(run);
        size_t i;
        json_t *ph;
        json_array_foreach(json_object_get(rep, "phases"), i, ph)
        {
            const char *reason = json_string_value(json_object_get(ph, "reason"));
            printf("  %-13s %-8s attempts %lld  %s\n", json_string_value(json_object_get(ph, "id")),
                   json_string_value(json_object_get(ph, "state")),
                   (long long)json_integer_value(json_object_get(ph, "attempts")),
                   reason ? reason : "");
        }
        printf("Pipeline run %s %s (see: worktrain inbox)\n", wt_run_id(run),
               json_string_value(json_object_get(rep, "status")));
        json_decref(rep);
    }
    wt_run_destroy(&run);
    json_decref(inputs);
    wt_pipeline_destroy(&p);
    return rc;
}

typedef struct up_opts {
    int workers;         /* --workers */
    int slots;           /* --slots */
    int sessions;        /* --sessions */
    int demo;            /* --demo */
    int exit_after;      /* --exit */
    const char *redis;   /* --redis, NULL = start our own */
    const char *dir;     /* --dir */
    int curve;           /* --curve */
    wt_cert_peer_t keys; /* --curve-key, --broker-pub (or their variables) */
} up_opts_t;

/* Returns 0, 2 (bad usage, one line printed) or -1 after --help. */
static int
up_parse(int argc, char **argv, up_opts_t *o)
{
    static const struct option opts[] = {
        {"workers", 1, 0, 'w'},  {"slots", 1, 0, 's'}, {"redis", 1, 0, 'r'},  {"demo", 0, 0, 'd'},
        {"sessions", 1, 0, 'n'}, {"exit", 0, 0, 'x'},  {"dir", 1, 0, 'D'},    {"help", 0, 0, 'h'},
        {"curve", 0, 0, 'C'},    WT_CLI_CURVE_KEY_OPT, WT_CLI_BROKER_PUB_OPT, {0, 0, 0, 0}};
    *o = (up_opts_t){.workers = 2, .slots = 4, .sessions = 4, .dir = ".worktrain"};
    wt_cert_peer_defaults(&o->keys);
    int c;
    long long v = 0;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
        case 's':
        case 'n':
            if (wt_cli_parse_int(optarg, 1, 64, &v) != 0)
                return wt_cli_usage_error("up", "bad number '%s' (1..64)", optarg);
            *(c == 'w' ? &o->workers : c == 's' ? &o->slots : &o->sessions) = (int)v;
            break;
        case 'r':
            o->redis = optarg;
            break;
        case 'd':
            o->demo = 1;
            break;
        case 'x':
            o->exit_after = 1;
            break;
        case 'D':
            o->dir = optarg;
            break;
        case 'C':
            o->curve = 1;
            break;
        case WT_CLI_OPT_CURVE_KEY:
            snprintf(o->keys.key_path, sizeof o->keys.key_path, "%s", optarg);
            break;
        case WT_CLI_OPT_BROKER_PUB:
            snprintf(o->keys.pub_path, sizeof o->keys.pub_path, "%s", optarg);
            break;
        case 'h':
            fputs(up_usage, stdout);
            return -1;
        default:
            return wt_cli_usage_error("up", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return wt_cli_usage_error("up", "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* DIR/keys/NAME.key: loaded when it exists (a bad one is an error), else
 * made with its .pub. Fills path. */
static int
own_pair(const char *keys, const char *name, char *path, size_t cap, wt_cert_t *cert, wt_err_t *err)
{
    snprintf(path, cap, "%s/%s.key", keys, name);
    if (access(path, F_OK) == 0)
        return wt_cert_load(cert, path, WT_CERT_SECRET, "up's key", err);
    return wt_cert_generate(cert, err) != 0 || wt_cert_write_pair(cert, keys, name, err) != 0 ? -1
                                                                                              : 0;
}

/* (Re)writes DIR/keys/SUB/NAME.pub, the allow directory's only entry. */
static int
allow_only(const char *keys, const char *sub, const wt_cert_t *cert, char *dir, size_t cap,
           wt_err_t *err)
{
    snprintf(dir, cap, "%s/%s", keys, sub);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return wt_err_sys(err, "cannot create '%s'", dir);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.pub", dir, sub[0] == 'w' ? "worker" : "client");
    unlink(path);
    return wt_cert_write_public(cert, path, err);
}

/* CURVE for the local fleet: keys under DIR/keys for the broker, the
 * workers and a client (made once, reused), or the user's client key and
 * the broker key beside their --broker-pub. 0, or 2 with one line printed. */
static int
setup_curve(fleet_t *f, up_opts_t *o)
{
    wt_err_t err = {0};
    f->curve = o->keys;
    if (wt_cert_peer_load(&f->curve, &err) != 0)
        return fprintf(stderr, "worktrain up: %s\n", err.msg), 2;
    if (!f->curve.on && !o->curve)
        return 0;
    char keys[PATH_MAX + 8];
    snprintf(keys, sizeof keys, "%s/keys", f->dir);
    if (mkdir(keys, 0700) != 0 && errno != EEXIST)
        return fprintf(stderr, "worktrain up: cannot create '%s': %s\n", keys, strerror(errno)), 2;
    wt_cert_t broker, worker, client;
    if (!f->curve.on) {
        if (own_pair(keys, "broker", f->broker_key, sizeof f->broker_key, &broker, &err) != 0 ||
            own_pair(keys, "client", f->curve.key_path, sizeof f->curve.key_path, &client, &err) !=
                0)
            return fprintf(stderr, "worktrain up: %s\n", err.msg), 2;
        snprintf(f->curve.pub_path, sizeof f->curve.pub_path, "%s/broker.pub", keys);
        if (wt_cert_peer_load(&f->curve, &err) != 0)
            return fprintf(stderr, "worktrain up: %s\n", err.msg), 2;
    } else {
        size_t n = strlen(f->curve.pub_path);
        if (n < 5 || strcmp(f->curve.pub_path + n - 4, ".pub") != 0 || n >= sizeof f->broker_key)
            return fprintf(stderr,
                           "worktrain up: --broker-pub '%s': up starts the broker itself and "
                           "needs its secret key beside it: name the NAME.pub worktrain keygen "
                           "wrote next to NAME.key\n",
                           f->curve.pub_path),
                   2;
        snprintf(f->broker_key, sizeof f->broker_key, "%.*s.key", (int)(n - 4), f->curve.pub_path);
        if (wt_cert_load(&broker, f->broker_key, WT_CERT_SECRET,
                         "the broker key beside --broker-pub", &err) != 0)
            return fprintf(stderr, "worktrain up: %s\n", err.msg), 2;
        if (strcmp(broker.public_key, f->curve.server_key) != 0)
            return fprintf(stderr,
                           "worktrain up: '%s' does not belong to --broker-pub '%s' (their public "
                           "keys differ)\n",
                           f->broker_key, f->curve.pub_path),
                   2;
    }
    if (own_pair(keys, "worker", f->worker_key, sizeof f->worker_key, &worker, &err) != 0 ||
        allow_only(keys, "workers.d", &worker, f->allow_workers, sizeof f->allow_workers, &err) !=
            0 ||
        allow_only(keys, "clients.d", &f->curve.own, f->allow_clients, sizeof f->allow_clients,
                   &err) != 0)
        return fprintf(stderr, "worktrain up: %s\n", err.msg), 2;
    return 0;
}

/* Makes DIR and DIR/logs and fills f->dir and the binary's paths. */
static int
prepare_dir(fleet_t *f, const char *dir)
{
    mkdir(dir, 0755);
    if (realpath(dir, f->dir) == NULL) {
        fprintf(stderr, "worktrain up: cannot use directory '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    char logs[PATH_MAX + 8];
    snprintf(logs, sizeof logs, "%s/logs", f->dir);
    mkdir(logs, 0755);
    locate(f);
    return 0;
}

int
wt_cli_up_main(int argc, char **argv)
{
    up_opts_t o;
    int rc = up_parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    const char *ak = getenv("ANTHROPIC_API_KEY"), *ok = getenv("OPENAI_API_KEY");
    int scripted = !(ak && *ak) && !(ok && *ok);
    if (scripted)
        printf("No ANTHROPIC_API_KEY or OPENAI_API_KEY set: using the scripted provider with a "
               "bundled script.\n");
    else
        printf("Using the %s API (key from the environment).\n",
               ak && *ak ? "Anthropic" : "OpenAI");
    fflush(stdout);
    fleet_t *f = wt_xcalloc(1, sizeof *f);
    if (prepare_dir(f, o.dir) != 0) {
        free(f);
        return 1;
    }
    if ((rc = setup_curve(f, &o)) != 0) {
        free(f);
        return rc;
    }
    wt_signal_install();
    if (start_fleet(f, o.redis, o.workers, o.slots, scripted) != 0) {
        stop_all(f); /* a fleet that did not come up is never left running */
        free(f);
        return 1;
    }
    printf("Fleet started: redis %s, broker %s, %d workers x %d slots, logs in %s/logs%s\n",
           f->redis_shown, f->clients_ep, o.workers, o.slots, f->dir,
           f->curve.on ? ", CURVE on" : "");
    if (o.demo) {
        rc = run_demo(f, o.sessions);
        if (rc == 0 && scripted)
            rc = run_demo_pipeline(f);
        printf("\nDemo %s.\n", rc == 0 ? "succeeded: every session completed" : "FAILED");
    }
    printf("Fleet is up: redis %s | broker clients %s | metrics http://127.0.0.1:%d/metrics | "
           "console: http://127.0.0.1:%d/\n",
           f->redis_shown, f->clients_ep, f->http_port, f->console_port);
    if (!o.exit_after) {
        char keys[2 * PATH_MAX + 64] = "";
        if (f->curve.on)
            snprintf(keys, sizeof keys, "WORKTRAIN_CURVE_KEY=%s WORKTRAIN_BROKER_PUB=%s ",
                     f->curve.key_path, f->curve.pub_path);
        printf("Try: %sWORKTRAIN_REDIS=%s WORKTRAIN_BROKER=%s %s spawn --workflow demo --goal hi\n"
               "Press Ctrl-C to stop the fleet.\n",
               keys, f->redis_shown, f->clients_ep, f->exe);
        fflush(stdout);
        wait_for_stop(f); /* a failed demo still exits non-zero after Ctrl-C */
    }
    fflush(stdout);
    stop_all(f);
    printf("Fleet stopped.\n");
    free(f);
    return rc;
}
