/* wt_events - fenced, retried event writes.
 *
 * The fence itself lives in the store's append script (Redis compares the
 * epoch atomically with the write), so a worker that was paused or cut off
 * cannot overwrite the new lease holder's history. This module only adds
 * buffering and the retry policy: while Redis is unreachable events queue in
 * memory (bounded) and are written in order once it answers; a full buffer
 * or the final event waits with backoff from 50 ms doubling to 2 s. A server
 * refusal is never retried. */
#include "wt_events.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void
wt_events_init(wt_events_t *self, wt_store_t *store, const char *sid, int64_t epoch)
{
    memset(self, 0, sizeof *self);
    self->store = store;
    self->sid = sid;
    self->epoch = epoch;
    self->retry_ms = WT_EVENTS_RETRY_MS;
}

struct wt_events_pending {
    char *type;                     /* owned */
    char *text;                     /* owned JSON */
    int fleet;                      /* also on the fleet stream */
    int nfields;                    /* entries in fields */
    int64_t seq;                    /* idempotency number within the lease */
    int unless_told;                /* written only if no operator message waits */
    char **fields;                  /* owned copies */
    struct wt_events_pending *next; /* FIFO link */
};

static int
abandoned(const wt_events_t *self)
{
    return self->abandon != NULL && *self->abandon != 0;
}

static void
pending_free(wt_events_pending_t *p)
{
    for (int i = 0; i < p->nfields; i++)
        free(p->fields[i]);
    free(p->fields);
    free(p->type);
    free(p->text);
    free(p);
}

void
wt_events_release(wt_events_t *self)
{
    while (self->head) {
        wt_events_pending_t *p = self->head;
        self->head = p->next;
        pending_free(p);
    }
    self->tail = NULL;
    self->pending = 0;
}

/* Takes text. */
static void
push(wt_events_t *self, const char *type, char *text, int fleet, int nfields, const char **fields)
{
    wt_events_pending_t *p = wt_xcalloc(1, sizeof *p);
    p->type = wt_xstrdup(type);
    p->text = text;
    p->fleet = fleet;
    p->seq = ++self->next_seq; /* fixed now, so a retry of this event reuses it */
    p->nfields = nfields;
    p->fields = nfields ? wt_xcalloc((size_t)nfields, sizeof *p->fields) : NULL;
    for (int i = 0; i < nfields; i++)
        p->fields[i] = wt_xstrdup(fields[i]);
    if (self->tail)
        self->tail->next = p;
    else
        self->head = p;
    self->tail = p;
    self->pending++;
}

static void
drop_last(wt_events_t *self)
{
    wt_events_pending_t **pp = &self->head, *prev = NULL;
    while (*pp && (*pp)->next) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL)
        return;
    pending_free(*pp);
    *pp = NULL;
    self->tail = prev;
    self->pending--;
}

/* With min_replicas, a session's last word counts as stored only once that
 * many replicas have it: otherwise it stays buffered and is written again
 * (same seq: a no-op where it is already stored, a rewrite on a promoted
 * replica that never got it). */
static int
replicated(wt_events_t *self, const char *type, wt_err_t *err)
{
    if (self->min_replicas <= 0 || strcmp(type, "session_completed") != 0)
        return 0;
    int n = 0;
    if (wt_redis_append_wait(self->store->redis, self->min_replicas, 500, err) != 0 ||
        wt_redis_wait_reply(self->store->redis, &n, err) != 0)
        return -1;
    if (n >= self->min_replicas)
        return 0;
    return wt_err_set(err, WT_EIO, "session_completed confirmed by %d of %d redis replica(s)", n,
                      self->min_replicas);
}

/* Writes buffered events in order, a batch (group commit: one round trip,
 * one fence check) at a time, until one fails; 0 when all are stored. A
 * batch ends after a session_completed, so its replica wait covers it. A
 * batch whose reply was lost is sent again with the same numbers: what it
 * stored is skipped, what it did not is written. */
static int
flush(wt_events_t *self, wt_err_t *err)
{
    while (self->head) {
        wt_store_event_t ev[WT_STORE_BATCH_MAX];
        int n = 0, args = 5, last_word = 0, told = 0;
        for (wt_events_pending_t *p = self->head;
             p && n < WT_STORE_BATCH_MAX && !last_word && (n == 0 || !ev[n - 1].unless_told);
             p = p->next) {
            if (n > 0 && args + 5 + p->nfields > WT_STORE_BATCH_ARGS)
                break;
            ev[n] = (wt_store_event_t){p->type,       p->text,    p->fleet,
                                       p->seq,        p->nfields, (const char **)p->fields,
                                       p->unless_told};
            args += 5 + p->nfields;
            last_word = strcmp(p->type, "session_completed") == 0;
            n++;
        }
        wt_err_t e = {0};
        if (wt_store_append_batch(self->store, self->sid,
                                  __atomic_load_n(&self->epoch, __ATOMIC_SEQ_CST), ev, n,
                                  &self->tells_waiting, NULL, &told, &e) != 0 ||
            (last_word && replicated(self, "session_completed", &e) != 0)) {
            if (e.code == WT_ESTALE)
                self->stale = 1;
            if (err)
                *err = e;
            return -1;
        }
        self->batches++;
        self->told |= told; /* the unless-told event (the batch's last) goes unwritten */
        for (int i = 0; i < n; i++) {
            wt_events_pending_t *p = self->head;
            self->written += !(told && i == n - 1);
            self->head = p->next;
            self->pending--;
            pending_free(p);
        }
        if (self->head == NULL)
            self->tail = NULL;
    }
    return 0;
}

/* Waits (capped backoff) until the buffer is flushed. */
static int
flush_waiting(wt_events_t *self, const char *type, wt_err_t *err)
{
    int64_t give_up = self->retry_ms > 0 ? wt_clock_mono_ms() + self->retry_ms : INT64_MAX;
    int64_t backoff = 50;
    int warned = 0;
    for (;;) {
        wt_err_t e = {0};
        if (flush(self, &e) == 0) {
            if (warned)
                wt_log_info("session %s: Redis answers again, resuming", self->sid);
            return 0;
        }
        if (self->stale || abandoned(self) || wt_clock_mono_ms() > give_up) {
            if (err)
                *err = e;
            if (abandoned(self))
                wt_err_set(err, WT_ETIMEDOUT, "cannot write %s of session %s: abandoned (%s)", type,
                           self->sid, e.msg);
            return -1;
        }
        if (!warned++)
            wt_log_warn("session %s: paused with %d event(s) buffered, waiting for Redis: %s",
                        self->sid, self->pending, e.msg);
        wt_clock_sleep_ms(backoff);
        backoff = backoff < 1000 ? backoff * 2 : 2000;
    }
}

static char *
dump(json_t *data)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    return text ? text : wt_xstrdup("{}");
}

/* Tries to store everything buffered; `type` is the newest event's. While
 * Redis is unreachable the session goes on with the events buffered, unless
 * the buffer is full or the newest is the session's last word: then it
 * waits. drop: on failure the newest event is dropped (its emit fails, so
 * nothing may be written later on its behalf). */
static int
commit(wt_events_t *self, const char *type, int drop, wt_err_t *err)
{
    wt_err_t e = {0};
    if (flush(self, &e) == 0) {
        self->warned_down = 0;
        return 0;
    }
    if (self->stale) {
        if (err)
            *err = e;
        wt_events_release(self); /* the lease is gone: nothing buffered will be written */
        return -1;
    }
    int must_wait = self->pending >= WT_EVENTS_BUFFER_MAX || strcmp(type, "session_completed") == 0;
    if (!must_wait) {
        if (!self->warned_down)
            wt_log_warn("session %s: Redis unreachable, buffering events: %s", self->sid, e.msg);
        self->warned_down = 1;
        return 0;
    }
    if (flush_waiting(self, type, err) == 0)
        return 0;
    if (self->stale)
        wt_events_release(self);
    else if (drop)
        drop_last(self); /* this event was not written and will not be */
    return -1;
}

int
wt_events_emit(wt_events_t *self, const char *type, json_t *data, int fleet, int nfields,
               const char **fields, wt_err_t *err)
{
    push(self, type, dump(data), fleet, nfields, fields);
    return commit(self, type, 1, err);
}

int
wt_events_defer(wt_events_t *self, const char *type, json_t *data, int fleet, int nfields,
                const char **fields, wt_err_t *err)
{
    push(self, type, dump(data), fleet, nfields, fields);
    if (self->pending < WT_EVENTS_DEFER_MAX && strcmp(type, "session_completed") != 0)
        return 0;
    return commit(self, type, 1, err);
}

int
wt_events_commit_unless_told(wt_events_t *self, const char *type, json_t *data, int fleet,
                             int nfields, const char **fields, int *told, wt_err_t *err)
{
    push(self, type, dump(data), fleet, nfields, fields);
    self->tail->unless_told = 1;
    self->told = 0;
    int rc = commit(self, type, 1, err);
    *told = self->told;
    self->told = 0;
    /* still buffered (Redis unreachable): the caller goes on, so the event
     * is an ordinary one now, written whatever waits */
    for (wt_events_pending_t *p = self->head; p; p = p->next)
        p->unless_told = 0;
    return rc;
}

int
wt_events_commit(wt_events_t *self, wt_err_t *err)
{
    if (self->head == NULL)
        return 0;
    return commit(self, self->tail->type, 0, err);
}

json_t *
wt_events_take_tells(wt_events_t *self, wt_err_t *err)
{
    /* tells_waiting is as old as the last write: a message told since is
     * found by the next wt_events_commit_unless_told. Deferred events go
     * before a take: it must not overtake them. */
    if (self->tells_waiting <= 0 && !self->take_unsure)
        return json_array();
    if (self->pending > 0 && (wt_events_commit(self, err) != 0 || self->pending > 0))
        return self->stale ? NULL : json_array();
    wt_err_t e = {0};
    int64_t left = 0;
    json_t *msgs =
        wt_store_tell_take(self->store, self->sid, __atomic_load_n(&self->epoch, __ATOMIC_SEQ_CST),
                           self->take_seq + 1, &left, &e);
    if (msgs == NULL) {
        if (e.code == WT_ESTALE)
            self->stale = 1;
        else
            self->take_unsure = 1; /* it may have run: the retry must reuse the number */
        if (err)
            *err = e;
        return NULL;
    }
    self->take_seq++;
    self->take_unsure = 0;
    self->tells_waiting = left;
    return msgs;
}
