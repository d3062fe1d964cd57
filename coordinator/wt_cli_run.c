/* wt_cli_run - `worktrain run PIPELINE [--goal TEXT] [--var K=V]... [--json]`
 * and `worktrain run --resume RUN_ID`: loads and checks the pipeline, then
 * hands it to wt_run. A PIPELINE that is not a file is looked up by name in
 * the bundled pipelines folder (coordinator/pipelines next to the binary's
 * tree, or the install share dir). */
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_cli.h"
#include "wt_cli_common.h"
#include "wt_cli_util.h"
#include "wt_clock.h"
#include "wt_run.h"
#include "wt_signal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char run_usage[] =
    "usage: worktrain run PIPELINE.yml [--goal TEXT] [--var K=V]... [--json] [--timeout DUR]\n"
    "       worktrain run PIPELINE.yml --adopt PHASE=SESSION [--goal TEXT] ...\n"
    "       worktrain run --resume RUN_ID [--json] [--timeout DUR]\n"
    "                     [--broker EP] [--redis URL] [--quiet] [--after WORKFLOW]...\n"
    "                     [--curve-key FILE --broker-pub FILE]\n"
    "\n"
    "Runs a coordinator pipeline: each phase is a session of a workflow (or a\n"
    "notification), started when its needs are finished and its `if` holds;\n"
    "no LLM takes part in the coordination. PIPELINE is a YAML file or the name\n"
    "of a bundled pipeline (implement-feature, fix-bug, triage-incident,\n"
    "groom-backlog). --goal sets inputs.goal; --var K=V sets inputs.K (V is JSON\n"
    "when it parses as such, e.g. a list, else a string). Progress goes to\n"
    "stderr; stdout gets one line per phase, or with --json the whole run:\n"
    "{run, pipeline, status, phases: [{id, state, outcome, session, sessions,\n"
    "output, reason, attempts, ...}]}.\n"
    "--resume continues a run whose coordinator died: finished phases are\n"
    "reused, running sessions awaited, nothing is started twice.\n"
    "--adopt PHASE=SESSION (repeatable) makes an existing session, e.g. one a trigger\n"
    "started, the first attempt of PHASE (a session phase of the same workflow, not\n"
    "foreach) instead of starting one; without --goal, inputs.goal is that session's\n"
    "goal. A session joins one run only: adopting it again is refused (resume that run).\n"
    "--after WORKFLOW (repeatable, e.g. memory, watchdog) starts a session of it once\n"
    "the run has succeeded or failed (not awaited; once per run, also after --resume).\n"
    "Exit 0 when every phase is done or skipped, 1 when a phase failed, 2 on\n"
    "timeout, interruption or an unreachable broker/Redis (resumable).\n"
    "\n" WT_CLI_CURVE_HELP;

/* Finds PIPELINE: as given, else NAME(.yml) in the bundled folders. */
static int
resolve(const char *arg, char *out, size_t cap)
{
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISREG(st.st_mode))
        return snprintf(out, cap, "%s", arg), 0;
    if (strchr(arg, '/'))
        return -1;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    const char *dirs[] = {"coordinator/pipelines", exe, "/usr/local/share/worktrain/pipelines"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        const char *fmt = i == 1 ? "%s/../coordinator/pipelines/%s%s" : "%s/%s%s";
        for (int ext = 0; ext < 2; ext++) {
            snprintf(out, cap, fmt, dirs[i], arg, ext ? ".yml" : "");
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
                return 0;
        }
    }
    return -1;
}

/* Known-workflow check against the fleet registry in Redis. */
typedef struct registry {
    json_t *ids; /* object: id -> true */
} registry_t;

static int
known_workflow(void *ud, const char *id)
{
    return json_object_get(((registry_t *)ud)->ids, id) != NULL;
}

static json_t *
fleet_workflows(const char *redis_url)
{
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("run", redis_url, &redis, &store) != 0)
        return NULL;
    char key[128];
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(redis, &err, "HKEYS %s",
                                     wt_store_key(&store, key, sizeof key, "workflows"));
    json_t *ids = json_object();
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        json_object_set_new(ids, r->element[i]->str, json_true());
    if (r)
        freeReplyObject(r);
    wt_redis_destroy(&redis);
    return ids;
}

/* Checks each --adopt PHASE=SESSION against the pipeline and Redis: a
 * single-session phase, an existing session of that phase's workflow, in
 * no run yet. Without --goal, inputs.goal becomes the first adopted
 * session's goal (a trigger's session carries the alert as its goal). */
static void
adopt_check(const wt_pipeline_t *p, const char *path, const char *redis_url, const json_t *adopt,
            json_t *inputs, wt_diags_t *diags)
{
    if (json_object_size(adopt) == 0)
        return;
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("run", redis_url, &redis, &store) != 0) {
        wt_diags_add(diags, path, 0, 0, 0, "--adopt: cannot reach Redis");
        return;
    }
    const char *phase;
    json_t *v;
    json_object_foreach((json_t *)adopt, phase, v)
    {
        const char *sid = json_string_value(v);
        char key[160];
        wt_err_t err = {0};
        wt_store_key(&store, key, sizeof key, "session:%s", sid);
        redisReply *r = wt_redis_command(redis, &err, "HMGET %s workflow run goal", key);
        if (r == NULL) {
            wt_diags_add(diags, path, 0, 0, 0, "--adopt %s=%s: %s", phase, sid, err.msg);
            continue;
        }
        const char *wf = r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING
                             ? r->element[0]->str
                             : NULL;
        const char *run = wf && r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "";
        if (wf && json_object_get(inputs, "goal") == NULL &&
            r->element[2]->type == REDIS_REPLY_STRING)
            json_object_set_new(inputs, "goal", json_string(r->element[2]->str));
        int k = wt_pipeline_find(p, phase);
        const wt_phase_t *d = k >= 0 ? &p->phases[k] : NULL;
        if (d == NULL)
            wt_diags_add(diags, path, 0, 0, 0, "--adopt %s=%s: pipeline '%s' has no phase '%s'",
                         phase, sid, p->name, phase);
        else if (d->workflow == NULL || d->foreach != NULL)
            wt_diags_add(diags, path, 0, 0, 0,
                         "--adopt %s=%s: phase '%s' is not a single-session phase (it is a %s)",
                         phase, sid, phase, d->workflow ? "foreach" : "notify phase");
        else if (wf == NULL)
            wt_diags_add(diags, path, 0, 0, 0, "--adopt %s=%s: no such session", phase, sid);
        else if (run[0] != '\0')
            wt_diags_add(diags, path, 0, 0, 0,
                         "--adopt %s=%s: the session is already in run %s "
                         "(worktrain run --resume %s)",
                         phase, sid, run, run);
        else if (strcmp(wf, d->workflow) != 0)
            wt_diags_add(diags, path, 0, 0, 0,
                         "--adopt %s=%s: the session runs workflow '%s', phase '%s' runs '%s'",
                         phase, sid, wf, phase, d->workflow);
        freeReplyObject(r);
    }
    wt_redis_destroy(&redis);
}

static void
print_text(const json_t *report)
{
    printf("run %s: pipeline %s %s\n", json_string_value(json_object_get(report, "run")),
           json_string_value(json_object_get(report, "pipeline")),
           json_string_value(json_object_get(report, "status")));
    size_t i;
    json_t *ph;
    json_array_foreach(json_object_get(report, "phases"), i, ph)
    {
        const char *outcome = json_string_value(json_object_get(ph, "outcome"));
        const char *sid = json_string_value(json_object_get(ph, "session"));
        size_t nsess = json_array_size(json_object_get(ph, "sessions"));
        const char *reason = json_string_value(json_object_get(ph, "reason"));
        char sessions[64];
        if (sid)
            snprintf(sessions, sizeof sessions, "%s", sid);
        else
            snprintf(sessions, sizeof sessions, "%zu session%s", nsess, nsess == 1 ? "" : "s");
        printf("  %-20s %-8s %-9s %-26s %s\n", json_string_value(json_object_get(ph, "id")),
               json_string_value(json_object_get(ph, "state")), outcome ? outcome : "-",
               nsess ? sessions : "-", reason ? reason : "");
    }
}

int
wt_cli_run_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"goal", 1, 0, 'g'},    {"var", 1, 0, 'v'},    {"json", 0, 0, 'j'},  {"resume", 1, 0, 'R'},
        {"timeout", 1, 0, 't'}, {"broker", 1, 0, 'b'}, {"redis", 1, 0, 'r'}, {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'},    {"after", 1, 0, 'A'},  {"adopt", 1, 0, 'D'}, WT_CLI_CURVE_KEY_OPT,
        WT_CLI_BROKER_PUB_OPT,  {0, 0, 0, 0}};
    static const char *after[8];
    wt_cli_conn_t conn;
    wt_cli_conn_defaults(&conn);
    wt_run_cfg_t cfg = {0};
    json_t *inputs = json_object();
    json_t *adopt = json_object();
    const char *resume = NULL;
    int as_json = 0, c, rc = 0;
    wt_cli_getopt_reset();
    while (rc == 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'g':
            json_object_set_new(inputs, "goal", json_string(optarg));
            break;
        case 'v':
            if (wt_cli_var_parse(inputs, optarg) != 0)
                rc = wt_cli_usage_error("run", "--var expects K=V (UTF-8), got '%s'", optarg);
            break;
        case 'j':
            as_json = 1;
            break;
        case 'R':
            resume = optarg;
            break;
        case 't':
            if ((cfg.timeout_ms = wt_clock_parse_duration_ms(optarg)) <= 0)
                rc = wt_cli_usage_error("run", "bad --timeout '%s' (e.g. 90s, 30m, 2h)", optarg);
            break;
        case 'b':
            snprintf(conn.broker, sizeof conn.broker, "%s", optarg);
            break;
        case 'r':
            snprintf(conn.redis, sizeof conn.redis, "%s", optarg);
            break;
        case 'q':
            cfg.quiet = 1;
            break;
        case 'A':
            if (cfg.nafter == (int)(sizeof after / sizeof *after))
                rc = wt_cli_usage_error("run", "at most %zu --after", sizeof after / sizeof *after);
            else
                after[cfg.nafter++] = optarg;
            cfg.after = after;
            break;
        case 'D': {
            const char *eq = strchr(optarg, '=');
            if (eq == NULL || eq == optarg || eq[1] == '\0' || strlen(eq + 1) > 64)
                rc = wt_cli_usage_error("run", "--adopt expects PHASE=SESSION, got '%s'", optarg);
            else
                json_object_setn_new(adopt, optarg, (size_t)(eq - optarg), json_string(eq + 1));
            break;
        }
        case 'h':
            fputs(run_usage, stdout);
            json_decref(inputs);
            json_decref(adopt);
            return 0;
        default:
            if (!wt_cli_conn_opt(&conn, c, optarg))
                rc = wt_cli_usage_error("run", "unknown or incomplete option '%s'",
                                        argv[optind - 1]);
        }
    }
    if (rc == 0)
        rc = wt_cli_conn_load_curve("run", &conn);
    if (rc == 0 && resume == NULL && optind != argc - 1)
        rc = wt_cli_usage_error("run", "expected one PIPELINE file (or --resume RUN_ID)");
    if (rc == 0 && resume != NULL && optind != argc)
        rc = wt_cli_usage_error("run", "--resume takes the pipeline from the run record; "
                                       "do not give a file");
    if (rc == 0 && resume != NULL && json_object_size(inputs))
        rc =
            wt_cli_usage_error("run", "--resume reuses the run's inputs; --goal/--var not allowed");
    if (rc == 0 && resume != NULL && json_object_size(adopt))
        rc = wt_cli_usage_error("run", "--resume adopts what the run adopted; --adopt not allowed");
    if (rc != 0) {
        json_decref(inputs);
        json_decref(adopt);
        return rc;
    }
    cfg.adopt = adopt;
    cfg.redis_url = conn.redis;
    cfg.broker = conn.broker;
    cfg.curve = &conn.curve;

    wt_err_t err = {0};
    json_t *record = NULL;
    char path[PATH_MAX + 64] = "";
    char *source = NULL;
    size_t len = 0;
    if (resume) {
        record = wt_run_load_record(&cfg, resume, &err);
        if (record == NULL) {
            fprintf(stderr, "worktrain run: %s\n", err.msg);
            json_decref(inputs);
            json_decref(adopt);
            return 2;
        }
        snprintf(path, sizeof path, "%s",
                 json_string_value(json_object_get(record, "file")) ?: "(run record)");
        source = wt_xstrdup(json_string_value(json_object_get(record, "source")));
        len = strlen(source);
    } else {
        if (resolve(argv[optind], path, sizeof path) != 0) {
            json_decref(inputs);
            json_decref(adopt);
            return wt_cli_usage_error("run", "no pipeline file or bundled pipeline '%s'",
                                      argv[optind]);
        }
        wt_buf_t b;
        wt_buf_init(&b, (size_t)4 << 20);
        if (wt_buf_read_file(&b, path, &err) != 0) {
            wt_buf_release(&b);
            json_decref(inputs);
            json_decref(adopt);
            fprintf(stderr, "worktrain run: %s\n", err.msg);
            return 2;
        }
        len = b.len;
        source = wt_buf_detach(&b);
    }
    wt_diags_t diags;
    wt_diags_init(&diags);
    wt_pipeline_t *p = wt_pipeline_load_buffer(source, len, path, &diags);
    json_t *fleet = p ? fleet_workflows(conn.redis) : NULL;
    if (p) {
        registry_t reg = {fleet};
        int have = fleet && json_object_size(fleet) > 0;
        wt_pipeline_check(p, have ? known_workflow : NULL, &reg, &diags);
    }
    if (p && resume == NULL)
        adopt_check(p, path, conn.redis, adopt, inputs, &diags);
    for (int i = 0; p && resume == NULL && i < p->ninputs; i++)
        if (json_object_get(inputs, p->inputs[i]) == NULL)
            wt_diags_add(&diags, path, 0, 0, 0, "input '%s' is not given (use %s)", p->inputs[i],
                         strcmp(p->inputs[i], "goal") == 0 ? "--goal TEXT" : "--var NAME=VALUE");
    wt_diags_sort(&diags);
    wt_diags_print(&diags, stderr);
    json_decref(fleet);
    if (p == NULL || diags.errors) {
        wt_diags_release(&diags);
        wt_pipeline_destroy(&p);
        json_decref(record);
        json_decref(inputs);
        json_decref(adopt);
        free(source);
        return 2;
    }
    wt_diags_release(&diags);

    wt_signal_install();
    wt_run_t *run = resume ? wt_run_resume(&cfg, p, record, &err)
                           : wt_run_new(&cfg, p, inputs, path, source, &err);
    if (run == NULL) {
        fprintf(stderr, "worktrain run: %s\n", err.msg);
        rc = 2;
    } else {
        rc = wt_run_execute(run);
        json_t *report = wt_run_report(run);
        if (as_json)
            wt_cli_print_json(stdout, report);
        else
            print_text(report);
        json_decref(report);
    }
    wt_run_destroy(&run);
    wt_pipeline_destroy(&p);
    json_decref(record);
    json_decref(inputs);
    json_decref(adopt);
    free(source);
    return rc;
}
