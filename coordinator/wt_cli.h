/* wt_cli - the client verbs of `worktrain` (DESIGN.md section 3). Each takes
 * argv with argv[0] = the verb and returns the process exit code. */
#ifndef WT_CLI_H
#define WT_CLI_H

#include <jansson.h>

int wt_cli_spawn_main(int argc, char **argv);
int wt_cli_await_main(int argc, char **argv);
int wt_cli_status_main(int argc, char **argv);
int wt_cli_logs_main(int argc, char **argv);
int wt_cli_cancel_main(int argc, char **argv);
int wt_cli_workflows_main(int argc, char **argv);
int wt_cli_validate_main(int argc, char **argv);
int wt_cli_up_main(int argc, char **argv);
int wt_cli_run_main(int argc, char **argv);
int wt_cli_inbox_main(int argc, char **argv);
int wt_cli_tell_main(int argc, char **argv);
int wt_cli_keygen_main(int argc, char **argv);
int wt_cli_talk_main(int argc, char **argv);
int wt_cli_bench_main(int argc, char **argv);

/* Waits (all mode) for sids and returns a new JSON array of the results of
 * those that ended, in order; *rc gets await's exit code (0 1 2). */
json_t *wt_cli_await_collect(const char *redis_url, char *const *sids, int n, long long timeout_ms,
                             int *rc);

#endif
