/* wt_cli - the client verbs of `worktrain` (DESIGN.md section 3). Each takes
 * argv with argv[0] = the verb and returns the process exit code. */
#ifndef WT_CLI_H
#define WT_CLI_H

int wt_cli_spawn_main(int argc, char **argv);
int wt_cli_await_main(int argc, char **argv);
int wt_cli_status_main(int argc, char **argv);
int wt_cli_logs_main(int argc, char **argv);
int wt_cli_cancel_main(int argc, char **argv);
int wt_cli_workflows_main(int argc, char **argv);
int wt_cli_validate_main(int argc, char **argv);
int wt_cli_up_main(int argc, char **argv);

#endif
