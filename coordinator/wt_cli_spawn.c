/* wt_cli_spawn - `spawn` and `cancel`: requests to the broker. spawn always
 * carries an idempotency key (the user's, or a fresh one), so the client's
 * automatic re-send after a lost reply can never create a second session. */
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_cli.h"
#include "wt_cli_common.h"
#include "wt_cli_util.h"
#include "wt_client.h"
#include "wt_clock.h"
#include "wt_retain.h"
#include "wt_ulid.h"
#include "wt_wsspec.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char spawn_usage[] =
    "usage: worktrain spawn --workflow ID --goal TEXT [--var K=V]... [--context-json JSON]\n"
    "                       [--parent SID] [--priority N] [--key IDEMPOTENCY_KEY]\n"
    "                       [--timeout DUR] [--max-turns N] [--workspace PATH] [--json]\n"
    "                       [--retain DUR] [--require LABEL]... [--allow-unknown]\n"
    "                       [--repo URL [--ref REF] [--auto-commit] [--deliver branch|pr]\n"
    "                        [--forge github|gitlab] [--forge-project OWNER/NAME]\n"
    "                        [--labels L1,L2] [--author 'Name <email>'] [--no-draft]\n"
    "                        [--no-verify]]\n"
    "                       [--broker EP] [--wait-timeout DUR]\n"
    "                       [--curve-key FILE --broker-pub FILE]\n"
    "\n"
    "Creates a session and prints its id once the broker has stored it durably.\n"
    "The session runs only on a worker that offers the workflow and has every\n"
    "--require LABEL (repeatable; a worker's --label, e.g. gpu); until one is live it\n"
    "stays queued and `worktrain status` says why. A workflow no worker of the fleet\n"
    "ever offered is refused with the known ids and the closest one; --allow-unknown\n"
    "queues it anyway (for a worker that is yet to come).\n"
    "The same --key always yields the same session. --var values that parse as JSON\n"
    "(numbers, true/false, objects) are passed as such, others as strings.\n"
    "--retain keeps the session this long after it ends, then it expires (default:\n"
    "the broker's --retain, 7d).\n"
    "--repo URL (https, ssh, file) runs the session in a worktree of the worker's\n"
    "mirror of URL on branch worktrain/<sid>, from --ref (default the remote's HEAD).\n"
    "--auto-commit commits after each step (subject the step title, body its notes,\n"
    "trailer WorkTrain-Session). --deliver branch pushes the branch once the session\n"
    "completed with success; --deliver pr also opens one draft pull request (GitHub)\n"
    "or merge request (GitLab; forge from the URL's host or --forge). Tokens come from\n"
    "the worker's GITHUB_TOKEN / GITLAB_TOKEN; API bases WORKTRAIN_GITHUB_API /\n"
    "WORKTRAIN_GITLAB_API.\n"
    "Exit 0 accepted, 1 refused, 2 bad usage or no answer from the broker.\n"
    "\n" WT_CLI_CURVE_HELP;

/* Fills m, ctx and the settings from argv; returns 0, 2 (bad usage, one
 * line printed) or -1 after --help. */
static int
spawn_parse(int argc, char **argv, wt_msg_t *m, json_t *ctx, wt_cli_conn_t *conn, int *as_json,
            int64_t *wait_ms)
{
    json_t *spec = json_object(); /* --repo and friends (DESIGN.md 15) */
    char why[256];
    static const struct option opts[] = {{"workflow", 1, 0, 'w'},     {"goal", 1, 0, 'g'},
                                         {"var", 1, 0, 'v'},          {"context-json", 1, 0, 'c'},
                                         {"parent", 1, 0, 'p'},       {"priority", 1, 0, 'P'},
                                         {"key", 1, 0, 'k'},          {"timeout", 1, 0, 't'},
                                         {"max-turns", 1, 0, 'm'},    {"workspace", 1, 0, 'W'},
                                         {"json", 0, 0, 'j'},         {"broker", 1, 0, 'b'},
                                         {"wait-timeout", 1, 0, 'T'}, {"retain", 1, 0, 'R'},
                                         {"require", 1, 0, 'Q'},      {"allow-unknown", 0, 0, 'U'},
                                         {"repo", 1, 0, 1001},        {"ref", 1, 0, 1002},
                                         {"auto-commit", 0, 0, 1003}, {"deliver", 1, 0, 1004},
                                         {"forge", 1, 0, 1005},       {"forge-project", 1, 0, 1006},
                                         {"labels", 1, 0, 1007},      {"author", 1, 0, 1008},
                                         {"no-draft", 0, 0, 1009},    {"no-verify", 0, 0, 1010},
                                         {"help", 0, 0, 'h'},         WT_CLI_CURVE_KEY_OPT,
                                         WT_CLI_BROKER_PUB_OPT,       {0, 0, 0, 0}};
    int c, rc = 0;
    long long v = 0;
    wt_cli_getopt_reset();
    while (rc == 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            wt_msg_set(&m->workflow, optarg);
            break;
        case 'g':
            wt_msg_set(&m->goal, optarg);
            break;
        case 'v':
            if (wt_cli_var_parse(ctx, optarg) != 0)
                rc = wt_cli_usage_error("spawn", "--var expects K=V (UTF-8), got '%s'", optarg);
            break;
        case 'c': {
            json_t *o = json_loads(optarg, 0, NULL);
            if (!json_is_object(o))
                rc = wt_cli_usage_error("spawn", "--context-json must be a JSON object");
            else
                json_object_update(ctx, o);
            json_decref(o);
            break;
        }
        case 'p':
            wt_msg_set(&m->parent, optarg);
            break;
        case 'P':
            if (wt_cli_parse_int(optarg, -100, 100, &v) != 0)
                rc = wt_cli_usage_error("spawn", "--priority must be -100..100, got '%s'", optarg);
            m->priority = (int32_t)v;
            break;
        case 'k':
            wt_msg_set(&m->key, optarg);
            break;
        case 't':
            if ((m->timeout_ms = wt_clock_parse_duration_ms(optarg)) <= 0)
                rc = wt_cli_usage_error("spawn", "bad --timeout '%s' (e.g. 90s, 30m, 2h)", optarg);
            break;
        case 'm':
            if (wt_cli_parse_int(optarg, 1, 1000000, &v) != 0)
                rc = wt_cli_usage_error("spawn", "bad --max-turns '%s' (1..1000000)", optarg);
            m->max_turns = (int32_t)v;
            break;
        case 'W':
            wt_msg_set(&m->workspace, optarg);
            break;
        case 'R': {
            wt_err_t e = {0};
            if (wt_retain_parse("--retain", optarg, &m->retain_ms, &e) != 0)
                rc = wt_cli_usage_error("spawn", "%s", e.msg);
            break;
        }
        case 'j':
            *as_json = 1;
            break;
        case 'Q':
            if (!wt_proto_label_ok(optarg))
                rc = wt_cli_usage_error("spawn", "bad --require '%s' (1-64 of A-Z a-z 0-9 . _ : -)",
                                        optarg);
            else if (m->require.n == WT_PROTO_MAX_LABELS)
                rc = wt_cli_usage_error("spawn", "at most %d --require", WT_PROTO_MAX_LABELS);
            else
                wt_strlist_push(&m->require, optarg);
            break;
        case 'U':
            m->allow_unknown = 1;
            break;
        case 'b':
            snprintf(conn->broker, sizeof conn->broker, "%s", optarg);
            break;
        case 'T':
            if ((*wait_ms = wt_clock_parse_duration_ms(optarg)) <= 0)
                rc = wt_cli_usage_error("spawn", "bad --wait-timeout '%s'", optarg);
            break;
        case 1001:
        case 1002:
        case 1003:
        case 1004:
        case 1005:
        case 1006:
        case 1007:
        case 1008:
        case 1009:
        case 1010: {
            static const char *const names[] = {"repo",  "ref",      "auto_commit", "deliver",
                                                "forge", "project",  "labels",      "author",
                                                "draft", "no_verify"};
            const char *val = c == 1003 || c == 1010 ? "true" : c == 1009 ? "false" : optarg;
            if (wt_wsspec_set(spec, names[c - 1001], val, why, sizeof why) != 0)
                rc = wt_cli_usage_error("spawn", "%s", why);
            break;
        }
        case 'h':
            fputs(spawn_usage, stdout);
            rc = -1;
            break;
        default:
            if (!wt_cli_conn_opt(conn, c, optarg))
                rc = wt_cli_usage_error("spawn", "unknown or incomplete option '%s'",
                                        argv[optind - 1]);
        }
    }
    if (rc == 0 && (m->workflow == NULL || m->goal == NULL))
        rc = wt_cli_usage_error("spawn", "--workflow and --goal are required");
    if (rc == 0) {
        char *js = wt_wsspec_dump(spec, why, sizeof why);
        if (why[0])
            rc = wt_cli_usage_error("spawn", "%s", why);
        else if (js && m->workspace)
            rc = wt_cli_usage_error("spawn", "--workspace PATH and --repo URL exclude each other");
        else if (js)
            wt_msg_set(&m->workspace, js);
        free(js);
    }
    json_decref(spec);
    if (rc == 0 && optind < argc)
        rc = wt_cli_usage_error("spawn", "unexpected argument '%s'", argv[optind]);
    if (rc == 0)
        rc = wt_cli_conn_check("spawn", conn);
    return rc;
}

/* Prints the SPAWNED reply (or the refusal); returns the exit code. */
static int
spawn_report(const wt_msg_t *rep, int as_json)
{
    if (rep->cmd != WT_CMD_SPAWNED && rep->code == WT_PROTO_E_UNKNOWN_WORKFLOW) {
        fprintf(stderr, "worktrain spawn: %s\n(--allow-unknown queues it anyway)\n",
                rep->message ? rep->message : "unknown workflow");
        return 1;
    }
    if (rep->cmd != WT_CMD_SPAWNED) {
        fprintf(stderr, "worktrain spawn: refused (%d): %s\n", rep->code,
                rep->message ? rep->message : "");
        return 1;
    }
    if (as_json) {
        json_t *o = json_pack("{s:s,s:b}", "session", rep->session ? rep->session : "", "existing",
                              rep->existing ? 1 : 0);
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        printf("%s\n", rep->session ? rep->session : "");
    }
    return 0;
}

int
wt_cli_spawn_main(int argc, char **argv)
{
    wt_cli_conn_t conn;
    wt_cli_conn_defaults(&conn);
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    json_t *ctx = json_object();
    int as_json = 0;
    int64_t wait_ms = 10000;
    int rc = spawn_parse(argc, argv, m, ctx, &conn, &as_json, &wait_ms);
    if (rc != 0) {
        json_decref(ctx);
        wt_msg_destroy(&m);
        return rc < 0 ? 0 : rc;
    }
    if (json_object_size(ctx)) {
        char *s = json_dumps(ctx, JSON_COMPACT);
        wt_msg_set(&m->context_json, s);
        free(s);
    }
    json_decref(ctx);
    if (m->key == NULL) { /* makes the automatic re-send safe */
        char id[WT_ULID_LEN + 1];
        wt_ulid_make(id, wt_clock_now_ms());
        char key[40];
        snprintf(key, sizeof key, "auto-%s", id);
        wt_msg_set(&m->key, key);
    }
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(conn.broker, &conn.curve, &err);
    wt_msg_t *rep = cl ? wt_client_request(cl, m, (int)wait_ms, &err) : NULL;
    wt_msg_destroy(&m);
    wt_client_destroy(&cl);
    if (rep == NULL) {
        fprintf(stderr, "worktrain spawn: %s\n", err.msg);
        return 2;
    }
    rc = spawn_report(rep, as_json);
    wt_msg_destroy(&rep);
    return rc;
}

int
wt_cli_cancel_main(int argc, char **argv)
{
    static const struct option opts[] = {{"broker", 1, 0, 'b'},
                                         {"help", 0, 0, 'h'},
                                         WT_CLI_CURVE_KEY_OPT,
                                         WT_CLI_BROKER_PUB_OPT,
                                         {0, 0, 0, 0}};
    wt_cli_conn_t conn;
    wt_cli_conn_defaults(&conn);
    int c;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'b')
            snprintf(conn.broker, sizeof conn.broker, "%s", optarg);
        else if (wt_cli_conn_opt(&conn, c, optarg))
            continue;
        else if (c == 'h') {
            puts("usage: worktrain cancel SID [--broker EP] [--curve-key FILE --broker-pub "
                 "FILE]\n\nEnds a queued or running session with outcome cancelled (within a "
                 "second).\n\n" WT_CLI_CURVE_HELP);
            return 0;
        } else
            return wt_cli_usage_error("cancel", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
    }
    if (optind != argc - 1)
        return wt_cli_usage_error("cancel", "expected exactly one session id");
    if (wt_cli_conn_check("cancel", &conn) != 0)
        return 2;
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_CANCEL);
    wt_msg_set(&m->session, argv[optind]);
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(conn.broker, &conn.curve, &err);
    wt_msg_t *rep = cl ? wt_client_request(cl, m, 10000, &err) : NULL;
    wt_msg_destroy(&m);
    wt_client_destroy(&cl);
    if (rep == NULL) {
        fprintf(stderr, "worktrain cancel: %s\n", err.msg);
        return 2;
    }
    int rc = rep->cmd == WT_CMD_CANCELLED ? 0 : 1;
    if (rc)
        fprintf(stderr, "worktrain cancel: %s: %s\n", argv[optind],
                rep->message ? rep->message : "");
    else
        printf("%s cancelled\n", argv[optind]);
    wt_msg_destroy(&rep);
    return rc;
}
