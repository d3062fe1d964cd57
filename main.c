/* worktrain - the multi-call binary: `worktrain VERB [ARGS]` hands argv to the
 * folder that owns VERB. Nothing else lives here. */
#include "wt_broker.h"
#include "wt_cli.h"
#include "wt_console.h"
#include "wt_doctor.h"
#include "wt_redis.h"
#include "wt_worker.h"

#include <stdio.h>
#include <string.h>

typedef int (*verb_fn)(int argc, char **argv);

static const struct {
    const char *name;
    verb_fn fn;
    const char *summary;
} verbs[] = {
    {"broker", wt_broker_main, "run the broker (dispatch, durable intake, /healthz)"},
    {"worker", wt_worker_main, "run a worker with N session slots"},
    {"spawn", wt_cli_spawn_main, "create a session; prints its id once durable"},
    {"await", wt_cli_await_main, "wait for sessions to end; exit 0 ok, 1 failed, 2 timeout"},
    {"status", wt_cli_status_main, "show a session's state"},
    {"logs", wt_cli_logs_main, "print a session's or the fleet's events"},
    {"cancel", wt_cli_cancel_main, "end a session as cancelled"},
    {"inbox", wt_cli_inbox_main, "recent completions, escalations and reported issues"},
    {"tell", wt_cli_tell_main, "send a message to a running session's agent"},
    {"talk", wt_cli_talk_main, "talk with an agent that knows the fleet; records ideas"},
    {"workflows", wt_cli_workflows_main, "list the workflows the fleet can run"},
    {"run", wt_cli_run_main, "run a coordinator pipeline (YAML); --resume continues one"},
    {"bench", wt_cli_bench_main, "run a benchmark suite on the fleet; compare and list runs"},
    {"validate", wt_cli_validate_main, "check workflow JSON and pipeline YAML files"},
    {"console", wt_console_main, "serve the read-only web console and its JSON API"},
    {"up", wt_cli_up_main, "start a local fleet (redis, broker, workers); --demo runs the demo"},
    {"keygen", wt_cli_keygen_main, "write a CURVE keypair (NAME.key, NAME.pub)"},
    {"doctor", wt_doctor_main, "check a host's setup; one line per check with a fix"},
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: worktrain VERB [ARGS]   (worktrain VERB --help for details)\n\nverbs:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("worktrain %s\n", WT_VERSION);
        return 0;
    }
    /* A configured but unreadable password file is a setup error for every
     * verb: say so once, before anything starts half-way. */
    char pw[256];
    wt_err_t err = {0};
    if (wt_redis_password_file(pw, sizeof pw, &err) != 0) {
        fprintf(stderr, "worktrain: %s\n", err.msg);
        return 2;
    }
    explicit_bzero(pw, sizeof pw);
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "worktrain: unknown verb '%s' (try worktrain --help)\n", argv[1]);
    return 2;
}
