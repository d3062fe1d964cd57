/* wt_cli_bench - `worktrain bench run|compare|list` (DESIGN section 14).
 * run: loads the suite (all problems at once, exit 2 before any session),
 * checks its workflows against the fleet, runs it with wt_bench_run,
 * judges thresholds and the baseline, writes RUN.json, RUN.md and JUnit. */
#include "wt_alloc.h"
#include "wt_bench_report.h"
#include "wt_bench_run.h"
#include "wt_buf.h"
#include "wt_cli.h"
#include "wt_cli_common.h"
#include "wt_cli_util.h"
#include "wt_signal.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char bench_usage[] =
    "usage: worktrain bench run SUITE.yml [--matrix NAME]... [--repeat N] [--concurrency N]\n"
    "                       [--out DIR] [--junit FILE] [--baseline RUN.json --max-regression F]\n"
    "                       [--record DIR | --replay DIR] [--json] [--quiet]\n"
    "                       [--broker EP] [--redis URL]\n"
    "       worktrain bench run --resume RUN_ID [--out DIR] [--junit FILE] [--json] ...\n"
    "       worktrain bench compare A.json B.json [--json]\n"
    "       worktrain bench list [--suite NAME] [--json] [--redis URL]\n"
    "\n"
    "Runs every case of a suite for every matrix variant (and --repeat times) as a\n"
    "session on the fleet, scores it, and writes DIR/RUN.json and DIR/RUN.md (DIR\n"
    "default bench-results/). Progress goes to stderr. --resume RUN_ID continues a run\n"
    "whose runner died: nothing is spawned twice, nothing scored is scored again.\n"
    "--baseline compares with an earlier RUN.json: a metric mean that dropped by more\n"
    "than --max-regression (absolute, default 0) fails the run.\n"
    "--record DIR stores every LLM reply of the run's sessions (workers write it; DIR\n"
    "must be shared with them); --replay DIR serves them instead of the provider.\n"
    "Exit 0 when all thresholds hold and nothing regressed, 1 when a threshold failed\n"
    "or a metric regressed, 2 for usage, file or infrastructure errors.\n"
    "\n" WT_CLI_CURVE_HELP;

static json_t *
load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (j == NULL)
        fprintf(stderr, "worktrain bench: %s:%d:%d: %s\n", path, e.line, e.column, e.text);
    return j;
}

static int
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "worktrain bench: cannot write '%s': %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    return 0;
}

static int
known_workflow(void *ud, const char *id)
{
    return json_object_get((json_t *)ud, id) != NULL;
}

static json_t *
fleet_workflows(const char *url)
{
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("bench", url, &redis, &store) != 0)
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

static int
compare_main(int argc, char **argv, int as_json)
{
    if (argc != 2)
        return wt_cli_usage_error("bench", "compare expects two RUN.json files");
    json_t *a = load_json(argv[0]), *b = a ? load_json(argv[1]) : NULL;
    if (b == NULL) {
        json_decref(a);
        return 2;
    }
    json_t *d = wt_bench_report_compare(a, b);
    if (as_json) {
        wt_cli_print_json(stdout, d);
    } else {
        printf("%-16s %-16s %9s %9s %9s %9s\n", "variant", "metric", "A", "B", "delta", "stderr");
        size_t i;
        json_t *r;
        json_array_foreach(d, i, r) printf(
            "%-16s %-16s %9.3f %9.3f %+9.3f %9.3f%s\n",
            json_string_value(json_object_get(r, "variant")),
            json_string_value(json_object_get(r, "metric")),
            json_number_value(json_object_get(r, "a")), json_number_value(json_object_get(r, "b")),
            json_number_value(json_object_get(r, "delta")),
            json_number_value(json_object_get(r, "stderr")),
            json_is_true(json_object_get(r, "beyond_noise")) ? "  *beyond noise*" : "");
    }
    json_decref(d);
    json_decref(a);
    json_decref(b);
    return 0;
}

static int
list_main(const char *url, const char *suite, int as_json)
{
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("bench", url, &redis, &store) != 0)
        return 2;
    char key[128], rk[160];
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(redis, &err, "ZRANGE %s 0 -1",
                                     wt_store_key(&store, key, sizeof key, "bench:runs"));
    json_t *out = json_array();
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        wt_store_key(&store, rk, sizeof rk, "bench:%s", r->element[i]->str);
        redisReply *h = wt_redis_command(redis, &err,
                                         "HMGET %s suite status started_ms ended_ms "
                                         "summary",
                                         rk);
        if (h && h->type == REDIS_REPLY_ARRAY && h->elements == 5 &&
            h->element[0]->type == REDIS_REPLY_STRING &&
            (suite == NULL || strcmp(h->element[0]->str, suite) == 0)) {
#define S(k) (h->element[k]->type == REDIS_REPLY_STRING ? h->element[k]->str : "")
            json_t *sum = json_loads(S(4), 0, NULL);
            json_array_append_new(out,
                                  json_pack("{s:s,s:s,s:s,s:s,s:s,s:o?}", "run", r->element[i]->str,
                                            "suite", S(0), "status", S(1), "started_ms", S(2),
                                            "ended_ms", S(3), "summary", sum));
#undef S
        }
        if (h)
            freeReplyObject(h);
    }
    if (r)
        freeReplyObject(r);
    wt_redis_destroy(&redis);
    if (as_json) {
        wt_cli_print_json(stdout, out);
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(out, i, e) printf(
            "%s  %-20s %-8s %s\n", json_string_value(json_object_get(e, "run")),
            json_string_value(json_object_get(e, "suite")),
            json_string_value(json_object_get(e, "status")),
            json_is_true(json_object_get(json_object_get(e, "summary"), "pass")) ? "pass" : "-");
    }
    json_decref(out);
    return 0;
}

/* Stores the verdicts and aggregates (not the cases) in the record. */
static void
finish_record(const char *url, json_t *run)
{
    wt_redis_t *redis;
    wt_store_t store;
    if (wt_cli_open_store("bench", url, &redis, &store) != 0)
        return;
    json_t *sum = json_deep_copy(run);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(sum, "variants"), i, v)
    {
        json_object_del(v, "cases");
        json_object_del(v, "repeats");
    }
    char *js = json_dumps(sum, JSON_COMPACT);
    json_decref(sum);
    char key[160];
    wt_err_t err = {0};
    redisReply *r =
        wt_redis_command(redis, &err, "HSET %s status done ended_ms %lld summary %s",
                         wt_store_key(&store, key, sizeof key, "bench:%s",
                                      json_string_value(json_object_get(run, "run"))),
                         (long long)json_integer_value(json_object_get(run, "ended_ms")), js);
    if (r)
        freeReplyObject(r);
    free(js);
    wt_redis_destroy(&redis);
}

typedef struct run_args {
    wt_bench_opts_t o;
    const char *junit, *baseline;
    double max_reg;
    int as_json;
    char record[PATH_MAX]; /* --record, absolute */
    char replay[PATH_MAX]; /* --replay, absolute */
} run_args_t;

static int
run_main(run_args_t *a, const char *suite_file, wt_cli_conn_t *conn)
{
    json_t *record = NULL;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s", suite_file ? suite_file : "");
    wt_err_t err = {0};
    if (a->o.resume) {
        record = wt_bench_load_record(conn->redis, a->o.resume, &err);
        if (record == NULL) {
            fprintf(stderr, "worktrain bench: %s\n", err.msg);
            return 2;
        }
        snprintf(file, sizeof file, "%s", json_string_value(json_object_get(record, "file")));
        a->o.repeat = (int)json_integer_value(json_object_get(record, "repeat"));
        const char *rec = json_string_value(json_object_get(record, "record"));
        const char *rep = json_string_value(json_object_get(record, "replay"));
        if (a->o.record_dir == NULL && a->o.replay_dir == NULL) { /* as the run was started */
            if (rec && *rec) {
                snprintf(a->record, sizeof a->record, "%s", rec);
                a->o.record_dir = a->record;
            } else if (rep && *rep) {
                snprintf(a->replay, sizeof a->replay, "%s", rep);
                a->o.replay_dir = a->replay;
            }
        }
        json_t *m = json_object_get(record, "matrix");
        a->o.nmatrix = (int)json_array_size(m);
        a->o.matrix = wt_xcalloc((size_t)a->o.nmatrix + 1, sizeof(char *));
        for (int i = 0; i < a->o.nmatrix; i++)
            a->o.matrix[i] = (char *)json_string_value(json_array_get(m, (size_t)i));
    }
    wt_diags_t d;
    wt_diags_init(&d);
    json_t *fleet = fleet_workflows(conn->redis);
    wt_bench_suite_t *s = wt_bench_suite_load(
        file, fleet && json_object_size(fleet) ? known_workflow : NULL, fleet, &d);
    for (int i = 0; s && i < a->o.nmatrix; i++)
        if (wt_bench_suite_variant(s, a->o.matrix[i]) == NULL)
            wt_diags_add(&d, file, 0, 0, 0, "--matrix %s: no such variant in the suite",
                         a->o.matrix[i]);
    json_t *base = NULL;
    if (a->baseline && (base = load_json(a->baseline)) == NULL)
        wt_diags_add(&d, a->baseline, 0, 0, 0, "cannot read the baseline");
    wt_diags_sort(&d);
    wt_diags_print(&d, stderr);
    int rc = 0;
    if (s == NULL || d.errors || fleet == NULL) {
        rc = 2;
        goto out;
    }
    if (mkdir(a->o.out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "worktrain bench: cannot create '%s': %s\n", a->o.out_dir, strerror(errno));
        rc = 2;
        goto out;
    }
    wt_signal_install();
    curl_global_init(CURL_GLOBAL_DEFAULT); /* llm_judge scorers call an LLM */
    json_t *run = wt_bench_run(s, &a->o, &err);
    if (run == NULL) {
        fprintf(stderr, "worktrain bench: %s\n", err.msg);
        rc = 2;
        goto out;
    }
    wt_bench_report_judge(run, s);
    if (base)
        wt_bench_report_baseline(run, base, a->max_reg);
    finish_record(conn->redis, run);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/RUN.json", a->o.out_dir);
    char *js = json_dumps(run, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    char *md = wt_bench_report_md(run);
    if (write_file(path, js) != 0)
        rc = 2;
    snprintf(path, sizeof path, "%s/RUN.md", a->o.out_dir);
    if (rc == 0 && write_file(path, md) != 0)
        rc = 2;
    if (rc == 0 && a->junit) {
        char *x = wt_bench_report_junit(run);
        rc = write_file(a->junit, x) != 0 ? 2 : 0;
        free(x);
    }
    if (a->as_json)
        puts(js);
    else
        fputs(md, stdout);
    free(js);
    free(md);
    if (rc == 0)
        rc = json_is_true(json_object_get(run, "pass")) ? 0 : 1;
    json_decref(run);
out:
    json_decref(base);
    json_decref(fleet);
    json_decref(record);
    wt_bench_suite_destroy(&s);
    wt_diags_release(&d);
    return rc;
}

int
wt_cli_bench_main(int argc, char **argv)
{
    static const struct option opts[] = {{"matrix", 1, 0, 'm'},
                                         {"repeat", 1, 0, 'n'},
                                         {"concurrency", 1, 0, 'c'},
                                         {"out", 1, 0, 'o'},
                                         {"junit", 1, 0, 'J'},
                                         {"baseline", 1, 0, 'B'},
                                         {"max-regression", 1, 0, 'M'},
                                         {"resume", 1, 0, 'R'},
                                         {"record", 1, 0, 'W'},
                                         {"replay", 1, 0, 'P'},
                                         {"json", 0, 0, 'j'},
                                         {"quiet", 0, 0, 'q'},
                                         {"suite", 1, 0, 's'},
                                         {"broker", 1, 0, 'b'},
                                         {"redis", 1, 0, 'r'},
                                         {"help", 0, 0, 'h'},
                                         WT_CLI_CURVE_KEY_OPT,
                                         WT_CLI_BROKER_PUB_OPT,
                                         {0, 0, 0, 0}};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(bench_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    wt_cli_conn_t conn;
    wt_cli_conn_defaults(&conn);
    run_args_t a = {
        .o = {.repeat = 1, .concurrency = 64, .out_dir = "bench-results", .spawn_wait_ms = 10000}};
    char **matrix = wt_xcalloc((size_t)argc, sizeof *matrix);
    const char *suite = NULL;
    int c, rc = 0;
    long long n;
    wt_cli_getopt_reset();
    while (rc == 0 && (c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            matrix[a.o.nmatrix++] = optarg;
            break;
        case 'n':
        case 'c':
            if (wt_cli_parse_int(optarg, 1, c == 'n' ? 1000 : 4096, &n) != 0)
                rc = wt_cli_usage_error("bench", "bad --%s '%s'",
                                        c == 'n' ? "repeat" : "concurrency", optarg);
            *(c == 'n' ? &a.o.repeat : &a.o.concurrency) = (int)n;
            break;
        case 'o':
            a.o.out_dir = optarg;
            break;
        case 'J':
            a.junit = optarg;
            break;
        case 'B':
            a.baseline = optarg;
            break;
        case 'M': {
            char *end;
            a.max_reg = strtod(optarg, &end);
            if (*end || a.max_reg < 0 || a.max_reg > 1)
                rc = wt_cli_usage_error("bench", "bad --max-regression '%s' (0..1)", optarg);
            break;
        }
        case 'R':
            a.o.resume = optarg;
            break;
        case 'W':
        case 'P':
            if (c == 'W' && mkdir(optarg, 0755) != 0 && errno != EEXIST)
                rc = wt_cli_usage_error("bench", "cannot create --record '%s': %s", optarg,
                                        strerror(errno));
            else if (realpath(optarg, c == 'W' ? a.record : a.replay) == NULL)
                rc = wt_cli_usage_error("bench", "no --%s folder '%s'",
                                        c == 'W' ? "record" : "replay", optarg);
            else
                *(c == 'W' ? &a.o.record_dir : &a.o.replay_dir) = c == 'W' ? a.record : a.replay;
            break;
        case 'j':
            a.as_json = 1;
            break;
        case 'q':
            a.o.quiet = 1;
            break;
        case 's':
            suite = optarg;
            break;
        case 'b':
            snprintf(conn.broker, sizeof conn.broker, "%s", optarg);
            break;
        case 'r':
            snprintf(conn.redis, sizeof conn.redis, "%s", optarg);
            break;
        case 'h':
            fputs(bench_usage, stdout);
            free(matrix);
            return 0;
        default:
            if (!wt_cli_conn_opt(&conn, c, optarg))
                rc = wt_cli_usage_error("bench", "unknown or incomplete option '%s'",
                                        (argv + 1)[optind - 1]);
        }
    }
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    if (rc == 0)
        rc = wt_cli_conn_check("bench", &conn);
    if (rc == 0 && strcmp(sub, "compare") == 0)
        rc = compare_main(nargs, args, a.as_json);
    else if (rc == 0 && strcmp(sub, "list") == 0)
        rc = nargs ? wt_cli_usage_error("bench", "list takes no arguments")
                   : list_main(conn.redis, suite, a.as_json);
    else if (rc == 0 && strcmp(sub, "run") == 0) {
        if (a.o.resume ? nargs != 0 : nargs != 1)
            rc = wt_cli_usage_error("bench", "run expects one SUITE.yml (or --resume RUN_ID)");
        else if (a.o.resume && (a.o.nmatrix || a.o.repeat != 1))
            rc = wt_cli_usage_error("bench", "--resume takes --matrix and --repeat from the run");
        else if (a.o.record_dir && a.o.replay_dir)
            rc = wt_cli_usage_error("bench", "--record and --replay exclude each other");
        else if (a.baseline == NULL && a.max_reg > 0)
            rc = wt_cli_usage_error("bench", "--max-regression needs --baseline");
        else {
            a.o.redis_url = conn.redis;
            a.o.broker = conn.broker;
            a.o.curve = &conn.curve;
            if (!a.o.resume)
                a.o.matrix = matrix;
            rc = run_main(&a, nargs ? args[0] : NULL, &conn);
            if (a.o.resume)
                free(a.o.matrix);
        }
    } else if (rc == 0) {
        rc = wt_cli_usage_error("bench", "unknown subcommand '%s' (run, compare, list)", sub);
    }
    free(matrix);
    return rc;
}
