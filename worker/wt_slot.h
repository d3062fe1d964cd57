/* wt_slot - a persistent slot thread (issue 18): one thread per worker slot
 * for the worker's life, handed one job at a time, instead of a thread
 * created and joined per session (thread creation, and glibc returning the
 * dead thread's stack with madvise - a TLB shootdown on every CPU - were a
 * large part of a short session's worker CPU).
 *
 * The owner (the worker's main thread) hands a job with wt_slot_run once
 * the previous one reported its end (on the worker's done list, by the job
 * itself), so the owner never waits on a slot for longer than the
 * job's return. */
#ifndef WT_SLOT_H
#define WT_SLOT_H

#include "wt_err.h"

#include <stddef.h>

typedef struct wt_slot wt_slot_t;

/* What a slot thread runs: job(arg), once per wt_slot_run. */
typedef void (*wt_slot_job_fn)(void *arg);

/* Starts a thread with the given stack size that first calls init(ud)
 * (may be NULL; e.g. to lower its priority once) and then waits for jobs.
 * NULL with err set when the thread cannot be created. */
wt_slot_t *wt_slot_new(size_t stack, void (*init)(void *ud), void *ud, wt_err_t *err);
/* Hands job(arg) to the slot. The owner hands a job only after the
 * previous one reported its end (the job reports just before it returns),
 * so if the thread is still returning from it this waits for that; -1
 * (WT_EINVAL) once the slot is being destroyed. */
int wt_slot_run(wt_slot_t *self, wt_slot_job_fn job, void *arg, wt_err_t *err);
/* 1 while a job handed to it has not returned. */
int wt_slot_busy(wt_slot_t *self);
/* On a slot thread, gives the kernel back the pages of the thread's stack
 * below the caller's frame: a stack keeps every page it ever touched, so
 * one deep call (building a workspace, a big tool result) would otherwise
 * stay resident for as long as the session then waits on its LLM, times
 * the slots (issue 18). Called right before a long blocking wait; the
 * pages come back zeroed if touched again. A no-op on other threads. */
void wt_slot_trim_stack(void);
/* Waits for the current job (if any) to return, stops the thread, joins
 * it and frees the slot; *pself becomes NULL. Cut a long job short first
 * (e.g. wt_session_abandon). */
void wt_slot_destroy(wt_slot_t **pself);

#endif
