/* wt_broker - the broker daemon: durable intake, credit-based dispatch,
 * heartbeats and recovery (DESIGN.md sections 3, 4, 10). */
#ifndef WT_BROKER_H
#define WT_BROKER_H

/* `worktrain broker ...`: parses args, runs until SIGINT/SIGTERM. Returns the
 * process exit code (0 clean stop, 1 startup failure, 2 bad usage). */
int wt_broker_main(int argc, char **argv);

#endif
