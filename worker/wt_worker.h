/* wt_worker - the worker daemon: N session slots, heartbeats to the broker,
 * one thread per running session (DESIGN.md sections 3, 6, 10). */
#ifndef WT_WORKER_H
#define WT_WORKER_H

/* `worktrain worker ...`: returns the process exit code (0 after a clean
 * stop or drain, 1 on startup failure, 2 on bad usage). */
int wt_worker_main(int argc, char **argv);

#endif
