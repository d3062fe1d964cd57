/* wt_stuck - the stuck detector of one session (DESIGN.md section 6):
 * the same tool with the same arguments three times in a row
 * (repeated_tool_call), 80% of the last 10 turns advancing no step
 * (no_progress), and less than 10% of the wall-clock budget left
 * (timeout_imminent). Pure bookkeeping, no I/O: the session decides what
 * the signals mean (policy abort or notify_only). Embedded by value. */
#ifndef WT_STUCK_H
#define WT_STUCK_H

#include <jansson.h>
#include <stdint.h>

#define WT_STUCK_REPEAT 3  /* identical consecutive calls that count as stuck */
#define WT_STUCK_WINDOW 10 /* turns considered by no_progress */
#define WT_STUCK_IDLE   8  /* idle turns in the window that count as stuck */

typedef struct wt_stuck {
    unsigned char last_sig[32]; /* SHA-256 of the previous call (name + sorted args) */
    char last_call[160];        /* its start, for the event detail */
    int repeat;                 /* identical consecutive calls so far */
    int ring[WT_STUCK_WINDOW];  /* 1 when turn i advanced a step */
    int nturns;                 /* turns in the ring since the last report */
    int deadline_warned;        /* timeout_imminent already reported */
    int64_t deadline_last_left; /* time left at the previous check (0: none yet) */
} wt_stuck_t;

void wt_stuck_init(wt_stuck_t *self);
/* Records a tool call; returns 1 when it is the WT_STUCK_REPEAT-th identical
 * call in a row (the count then starts over, so it fires once per run). */
int wt_stuck_tool_call(wt_stuck_t *self, const char *name, json_t *input);
/* A call advanced the workflow (a step or a loop iteration): the same call
 * again is progress, not a repeat, so the repeat count starts over. */
void wt_stuck_progress(wt_stuck_t *self);
/* Records the end of a turn; returns 1 when at least WT_STUCK_IDLE of the
 * last WT_STUCK_WINDOW turns advanced nothing (the window then starts over). */
int wt_stuck_turn(wt_stuck_t *self, int advanced);
/* Returns 1, once per session, when the wall-clock limit is near: left_ms
 * under 10% of total_ms, or under two of the intervals between the last two
 * checks (a session whose turns take longer than a tenth of its limit would
 * otherwise time out between two checks without ever being warned). */
int wt_stuck_deadline(wt_stuck_t *self, int64_t left_ms, int64_t total_ms);
/* Start of the last recorded call, e.g. "Bash {\"command\":\"ls\"}". */
const char *wt_stuck_last_call(const wt_stuck_t *self);

#endif
