/* wt_events - writes one session's events (DESIGN.md section 5) through
 * wt_store_append, fenced by the lease epoch from ASSIGN. While Redis is
 * unreachable, up to WT_EVENTS_BUFFER_MAX events wait in memory, in order,
 * and the session goes on; when the buffer is full, or for the final
 * session_completed, the session pauses until Redis answers and everything
 * is flushed. So nothing is reported finished that Redis has not stored,
 * and a crash while events are buffered only loses progress since the last
 * stored step (the session resumes from there). A refusal (stale epoch, or
 * the session already ended) is final and sets `stale`. */
#ifndef WT_EVENTS_H
#define WT_EVENTS_H

#include "wt_err.h"
#include "wt_store.h"

#include <jansson.h>
#include <stdint.h>

#define WT_EVENTS_RETRY_MS   0   /* default: wait for Redis as long as it takes (0 = no bound) */
#define WT_EVENTS_BUFFER_MAX 256 /* events held in memory while Redis is unreachable */
#define WT_EVENTS_DEFER_MAX  16  /* deferred events that force a commit (one batch) */

typedef struct wt_events_pending wt_events_pending_t;

typedef struct wt_events {
    wt_store_t *store;         /* borrowed, the session thread's own connection */
    const char *sid;           /* borrowed session id */
    int64_t epoch;             /* lease epoch from ASSIGN; renewed atomically by the main thread */
    int64_t retry_ms;          /* retry bound while Redis is unreachable */
    volatile int *abandon;     /* may be NULL; when non-zero, stop retrying at once */
    int stale;                 /* set once a write was refused as stale */
    uint64_t written;          /* events stored */
    wt_events_pending_t *head; /* owned FIFO of events not yet stored */
    wt_events_pending_t *tail; /* its last entry */
    int pending;               /* entries in the FIFO */
    int64_t next_seq;          /* last idempotency number handed out */
    int64_t tells_waiting;     /* operator messages waiting, as of the last stored append */
    int64_t take_seq;          /* number of the last tell take that got a reply */
    int take_unsure;           /* a take got no reply: retry it with the same number */
    int min_replicas;          /* session_completed is stored once N replicas have it */
    uint64_t batches;          /* group-commit round trips that stored something */
    int warned_down;           /* "Redis unreachable" logged for this outage */
    int told;                  /* the last flush left its unless-told event out */
} wt_events_t;

void wt_events_init(wt_events_t *self, wt_store_t *store, const char *sid, int64_t epoch);
/* Appends event `type` (data is stolen; NULL = {}) and applies the hash
 * fields (name/value pairs, '+name' increments). fleet != 0 also writes to
 * the fleet stream. Fails with WT_ESTALE (refused: the lease moved or the
 * session ended), or with the last Redis error after retry_ms, or with
 * WT_ETIMEDOUT when *abandon was set during the retries. */
int wt_events_emit(wt_events_t *self, const char *type, json_t *data, int fleet, int nfields,
                   const char **fields, wt_err_t *err);
/* Group commit (issue 18): buffers event `type` like wt_events_emit without
 * writing it yet; it is written with the next emit or commit, all buffered
 * events in one round trip with one fence check. Callers defer only events
 * that need not be stored before the session's next outside action (an LLM
 * call, a tool, a child spawn): that action commits first. A buffer of
 * WT_EVENTS_DEFER_MAX commits at once. */
int wt_events_defer(wt_events_t *self, const char *type, json_t *data, int fleet, int nfields,
                    const char **fields, wt_err_t *err);
/* Writes the buffered events (as wt_events_emit does, and with its
 * tolerance: while Redis is unreachable they stay buffered and this
 * returns 0, unless the buffer is full). */
int wt_events_commit(wt_events_t *self, wt_err_t *err);
/* Buffers event `type` as wt_events_defer does and commits: the event goes
 * in the same round trip as the events before it, but only if no operator
 * message waits when they are stored. When some wait, *told is 1 and the
 * event is dropped (nothing is written on its behalf): take the messages
 * (wt_events_take_tells) and send it again. For llm_turn_started, so an LLM
 * call never starts without the messages told before it, in one round trip
 * where a take first cost two. While Redis is unreachable it stays buffered
 * like any event (the caller goes on, *told 0). */
int wt_events_commit_unless_told(wt_events_t *self, const char *type, json_t *data, int fleet,
                                 int nfields, const char **fields, int *told, wt_err_t *err);
/* Takes the operator messages waiting for the session (see
 * wt_store_tell_take; their message_received events are written by the
 * same script) and returns them as a new JSON array of strings, empty when
 * none wait, when nothing suggests any (tells_waiting, as of the last
 * write), or while events stay buffered (the take would overtake them;
 * deferred events are committed first). A take whose reply was lost is
 * retried with the same number and so returns the same messages. NULL on failure: WT_ESTALE sets
 * `stale`; otherwise the messages are taken next time. */
json_t *wt_events_take_tells(wt_events_t *self, wt_err_t *err);
/* Frees whatever is still buffered (the session is being dropped). */
void wt_events_release(wt_events_t *self);

#endif
