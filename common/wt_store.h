/* wt_store - the Redis layout of DESIGN.md section 5, in one place.
 *
 * Keys (prefix "wt:" by default, WORKTRAIN_PREFIX overrides):
 *   <p>session:<sid>            hash   the session record (+ epoch, depth, ...)
 *   <p>session:<sid>:events     stream one entry per event: type, data, epoch
 *   <p>session:<sid>:children   zset   child ids by created_ms
 *   <p>sessions                 zset   every session id by created_ms
 *   <p>events                   stream fleet-wide lifecycle events (capped)
 *   <p>queue                    zset   queued session ids by priority, then age (broker recovery)
 *   <p>queued                   zset   requeued session ids (lost worker, handback) by the ms
 *                                      they re-entered the queue (hash field requeued_ms until
 *                                      assigned): the rest entered it at created_ms, so the
 *                                      oldest waiter is read from both (wt_store_oldest_queued)
 *                                      without an index write per session (issue 18)
 *   <p>running                  hash   sid -> worker holding its lease (a session is here or
 *                                      in queue/queued, never both)
 *   <p>idem:<key>               string idempotency key -> sid (7 days)
 *   <p>worker:<name>            hash   worker heartbeat record (TTL)
 *   <p>workers                  zset   worker names by last_seen_ms (no SCAN to find them;
 *                                      the retention sweep prunes names silent for a minute)
 *   <p>expiry                   zset   ended session ids by the ms their keys expire
 *   <p>expired                  zset   tombstones: expired session ids by expiry ms (bounded)
 *   <p>workflows                hash   workflow id -> JSON summary
 *   <p>deadletter               stream sessions that used up their attempts
 *   <p>run:<id>                 hash   a coordinator run (worktrain run)
 *   <p>run:<id>:sessions        zset   the run's session ids by created_ms
 *   <p>runs                     zset   every run id by created_ms
 *   <p>inbox                    stream what needs an operator's eye (capped):
 *                                      completions, reported issues, escalations
 *   <p>session:<sid>:tell       list   operator messages waiting for the agent (its length
 *                                      is the session's tell_waiting, kept by the scripts)
 *   <p>broker:leader            string "EPOCH ID" of the active broker (TTL: the lease)
 *   <p>broker:epoch             string leader epochs handed out (INCR per takeover)
 * Multi-key changes run as Lua scripts so they are atomic: intake (create a
 * session exactly once per idempotency key; given a worker, also take its
 * first lease), assign (bump the lease epoch)
 * append (refuse writes carrying a stale epoch, and any event after the
 * session_completed; add the inbox entry of a completion or an issue),
 * tell (queue a message only for a live session) and take (move waiting
 * messages into the event stream). Every script that ends a session also
 * retires it: out of the queue indexes and <p>running, into <p>expiry for
 * the retention sweep (wt_retain.h). The store borrows its wt_redis_t. */
#ifndef WT_STORE_H
#define WT_STORE_H

#include "wt_err.h"
#include "wt_redis.h"

#include <jansson.h>
#include <stdint.h>

#define WT_STORE_EVENTS_CAP        100000      /* approximate length cap of <p>events */
#define WT_STORE_INBOX_CAP         10000       /* approximate length cap of <p>inbox */
#define WT_STORE_TELL_MAX_BYTES    (16 * 1024) /* largest operator message */
#define WT_STORE_TELL_MAX_WAITING  100         /* messages waiting per session */
#define WT_STORE_TELL_TAKE_MAX     32          /* messages taken per turn */
#define WT_STORE_RETAIN_DEFAULT_MS 604800000   /* 7 days: an ended session's life */
#define WT_STORE_INBOX_IDS_MAX     1200        /* bytes of inbox entry ids kept per session */

typedef struct wt_store {
    wt_redis_t *redis;              /* borrowed */
    char prefix[32];                /* key prefix, e.g. "wt:" */
    wt_redis_script_t intake;       /* create session + queued event */
    wt_redis_script_t assign;       /* lease: epoch+1, attempt+1, worker */
    wt_redis_script_t append_batch; /* several events, one fence check (group commit) */
    wt_redis_script_t requeue;      /* back to queue after a lost worker */
    wt_redis_script_t reattach;     /* give a requeued session back to its live worker */
    wt_redis_script_t tell;         /* queue an operator message for a live session */
    wt_redis_script_t take;         /* fenced take of waiting messages + message_received */
    wt_redis_script_t lease;        /* broker leader lease: take or renew */
    wt_redis_script_t unlease;      /* broker leader lease: give up */
    wt_redis_script_t oldest;       /* when the oldest waiter entered the queue */
    int64_t leader_epoch;           /* > 0: intake/assign/requeue/reattach are fenced with it */
} wt_store_t;

/* A session as handed to intake. Strings are borrowed. */
typedef struct wt_store_spawn {
    const char *sid;          /* new ULID (ignored if the key was seen) */
    const char *workflow;     /* workflow id */
    const char *goal;         /* free text */
    const char *context_json; /* JSON object of initial context vars, or "" */
    const char *parent;       /* parent sid or "" */
    const char *idem_key;     /* idempotency key or "" */
    const char *workspace;    /* repo path for a git worktree, or "" */
    const char *run;          /* coordinator run id, or "" / NULL */
    const char *phase;        /* pipeline phase id within the run, or "" / NULL */
    const char *require;      /* labels a worker must have, sorted, comma-separated, or "" */
    int priority;             /* higher runs first, -100..100 */
    int64_t timeout_ms;       /* wall-clock limit, 0 = default */
    int max_turns;            /* 0 = default */
    int64_t retain_ms;        /* life after it ends; 0 = WT_STORE_RETAIN_DEFAULT_MS */
    int depth;                /* 0 for a root session */
    int64_t created_ms;       /* wall clock */
    const char *worker;       /* NULL / "": queue it; else take its first lease for this worker */
} wt_store_spawn_t;

/* prefix NULL means WORKTRAIN_PREFIX or "wt:". */
void wt_store_init(wt_store_t *self, wt_redis_t *redis, const char *prefix);
/* Formats prefix + the rest into out; returns out. */
char *wt_store_key(const wt_store_t *self, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Loads every script (call after connecting, before pipelining). */
int wt_store_load_scripts(wt_store_t *self, wt_err_t *err);

/* The broker leader lease (DESIGN 13). Takes <prefix>broker:leader for id
 * when it is gone or held by `dead` (a holder the caller knows has died;
 * NULL or "" for none), with a new epoch, or renews it (ttl_ms) when id
 * holds it with epoch mine. Returns the epoch id now holds, 0 when another
 * holds it (copied to holder, may be NULL), -1 on a Redis error. */
int64_t wt_store_lease(wt_store_t *self, const char *id, int64_t mine, int ttl_ms, const char *dead,
                       char *holder, size_t cap, wt_err_t *err);
/* Deletes the lease if id still holds it with epoch mine (clean stop). */
int wt_store_unlease(wt_store_t *self, const char *id, int64_t mine, wt_err_t *err);
/* With leader_epoch > 0, the intake, assign, requeue and reattach scripts
 * refuse (WT_ESTALE, text starting "FENCED") unless it is the epoch of the
 * current lease: 1 when err is such a refusal. */
int wt_store_fenced(const wt_err_t *err);

/* Queues the intake script for pipelining; read with wt_store_intake_reply,
 * which copies the session id (new, or the earlier one for a seen key).
 * With s->worker the same script also takes the new session's first lease
 * for that worker (what wt_store_assign_append would do next, without
 * queueing it): *epoch (may be NULL) is then 1, else 0 (queued, or a seen
 * key: nothing assigned). */
int wt_store_intake_append(wt_store_t *self, const wt_store_spawn_t *s, wt_err_t *err);
int wt_store_intake_reply(wt_store_t *self, char *sid_out, size_t cap, int *existing,
                          int64_t *epoch, wt_err_t *err);

#define WT_STORE_INTAKE_BATCH 24 /* sessions per intake script call (3 + 19 args each) */

/* What the intake did with one session. */
typedef struct wt_store_intake {
    char sid[64];  /* the session id (new, or the earlier one for a seen key) */
    int existing;  /* 1: the key was seen, nothing stored */
    int64_t epoch; /* 1: its first lease was taken for s->worker; else 0 */
} wt_store_intake_t;

/* The intake of n (1..WT_STORE_INTAKE_BATCH) sessions in one script call:
 * one leader fence check, each session as wt_store_intake_append would
 * store it. Read with wt_store_intake_reply_n (n results, in order). A
 * fenced or failed call stores none of them. */
int wt_store_intake_append_n(wt_store_t *self, const wt_store_spawn_t *s, int n, wt_err_t *err);
int wt_store_intake_reply_n(wt_store_t *self, wt_store_intake_t *out, int n, wt_err_t *err);

/* Takes the lease of sid for worker: epoch and attempt go up by one. Fails
 * with WT_ENOTFOUND when the session is no longer runnable (ended), or when
 * it already used max_attempts (> 0) charged assignments (attempt minus
 * spared: see wt_store_requeue_t) or was spared WT_STORE_LOST_FACTOR times
 * that: then it is ended with outcome error and recorded in
 * <prefix>deadletter, atomically. */
int wt_store_assign_append(wt_store_t *self, const char *sid, const char *worker, int64_t now_ms,
                           int max_attempts, wt_err_t *err);
int wt_store_assign_reply(wt_store_t *self, int64_t *epoch, int *attempt, wt_err_t *err);

#define WT_STORE_ASSIGN_BATCH 200 /* sessions per assign script call (5 + 2 args each) */

/* What the assign did with one session: its new lease, or err (code
 * WT_ENOTFOUND: not runnable, or dead-lettered now; the message says). */
typedef struct wt_store_assigned {
    int64_t epoch;
    int attempt;
    wt_err_t err;
} wt_store_assigned_t;

/* The assign of n (1..WT_STORE_ASSIGN_BATCH) sessions, session i to
 * workers[i], in one script call with one leader fence check; read with
 * wt_store_assign_reply_n (n results in order, -1 only when the whole call
 * failed: WT_ESTALE when fenced). */
int wt_store_assign_append_n(wt_store_t *self, const char *const *sids, const char *const *workers,
                             int n, int64_t now_ms, int max_attempts, wt_err_t *err);
int wt_store_assign_reply_n(wt_store_t *self, wt_store_assigned_t *out, int n, wt_err_t *err);

/* How a requeued run is accounted (max attempts dead-letter a session). */
typedef enum wt_store_requeue {
    WT_REQUEUE_CHARGE = 0, /* the run counts */
    WT_REQUEUE_REFUND = 1, /* handed back cleanly (drain, stale copy): it does not */
    WT_REQUEUE_LOST = 2,   /* its worker was lost: counts only if the session was
                              running a tool then (in_tool mark), else 'spared' rises */
} wt_store_requeue_t;

/* A session spared this many times max attempts (its worker lost while it
 * ran no tool) is dead-lettered too, so a crash outside tools cannot loop
 * forever. */
#define WT_STORE_LOST_FACTOR 3

/* Puts sid back in the queue. Returns 0 when it has ended (not queued), 1
 * when requeued and the run counts, 2 when requeued and not counted, -1 on
 * a Redis error. */
int wt_store_requeue(wt_store_t *self, const char *sid, int priority, int64_t created_ms,
                     wt_store_requeue_t how, wt_err_t *err);

/* sid, requeued after its worker was judged dead, is still queued and that
 * worker reports it running: give it back under its old lease and undo the
 * requeue's accounting. 1 reattached, 0 not (ended or assigned since), -1
 * on a Redis error. */
int wt_store_reattach(wt_store_t *self, const char *sid, const char *worker, wt_err_t *err);

/* Appends event `type` with JSON `data` to the session stream (and to the
 * fleet stream when fleet != 0), then applies hash updates given as
 * field/value pairs; a field starting with '+' is incremented instead.
 * epoch < 0 skips the fencing check. seq > 0 makes the append idempotent
 * within a lease: a seq not above the last stored one is a no-op success
 * (a retry whose first try was stored but whose reply was lost). Fails with
 * WT_ESTALE when the epoch is out of date or the session already ended. */
int wt_store_append(wt_store_t *self, const char *sid, int64_t epoch, int64_t seq, const char *type,
                    const char *data, int fleet, int nfields, const char **fields, wt_err_t *err);
/* wt_store_append that also reports in *tells_waiting how many operator
 * messages wait in the session's tell list (the session's cue to take
 * them; no extra round trip). It is wt_store_append_batch with one event. session_completed and
 * issue_reported also add an inbox entry (kind completion / issue) in the same script, so the inbox
 * has exactly one entry per stored event; session_completed drops the messages still waiting. */
int wt_store_append_tells(wt_store_t *self, const char *sid, int64_t epoch, int64_t seq,
                          const char *type, const char *data, int fleet, int nfields,
                          const char **fields, int64_t *tells_waiting, wt_err_t *err);

/* One event of a batch for wt_store_append_batch. Strings are borrowed. */
typedef struct wt_store_event {
    const char *type;    /* event type */
    const char *data;    /* JSON text; NULL = {} */
    int fleet;           /* also on the fleet stream */
    int64_t seq;         /* idempotency number within the lease, > 0; 0 = none */
    int nfields;         /* hash field/value entries (pairs, '+name' increments) */
    const char **fields; /* them */
    int unless_told;     /* last event of a batch only: left out while operator messages wait */
} wt_store_event_t;

#define WT_STORE_BATCH_MAX  32  /* events per batch */
#define WT_STORE_BATCH_ARGS 480 /* script arguments per batch */

/* Group commit: appends n events of sid in order in one script call with
 * one fence check (epoch as in wt_store_append). Each event's seq makes it
 * idempotent on its own: events of a retried batch that were stored are
 * skipped, the rest written. A stale epoch or an ended session refuses the
 * whole batch (WT_ESTALE) and writes nothing. *stored (may be NULL) gets
 * how many were written now, *tells_waiting (may be NULL) the operator
 * messages waiting. A last event marked unless_told that is not stored yet
 * is left out when messages wait: *told (may be NULL) is then 1 (the caller
 * takes them and sends the event again with a new seq), else 0.
 * WT_ELIMIT past WT_STORE_BATCH_MAX events or WT_STORE_BATCH_ARGS
 * arguments (the fixed ones included). */
int wt_store_append_batch(wt_store_t *self, const char *sid, int64_t epoch,
                          const wt_store_event_t *ev, int n, int64_t *tells_waiting, int *stored,
                          int *told, wt_err_t *err);

/* Adds an entry of kind (e.g. "escalation", "pipeline"; [a-z_], at most 31
 * chars) to <prefix>inbox with the given field/value pairs (session,
 * workflow, outcome or severity, summary, run, ...); ts_ms is set to now
 * unless given. Fails with WT_EINVAL for a bad kind or odd/too many
 * fields (max 32 values). */
int wt_store_inbox_add(wt_store_t *self, const char *kind, int nfields, const char **fields,
                       wt_err_t *err);

/* Queues an operator message for session sid (RPUSH on its tell list),
 * atomically checked: WT_ENOTFOUND when there is no such session, WT_ESTALE
 * when it already ended, WT_EINVAL when it is not UTF-8, WT_ELIMIT when it
 * is empty, larger than WT_STORE_TELL_MAX_BYTES, or when
 * WT_STORE_TELL_MAX_WAITING messages are already waiting. */
int wt_store_tell(wt_store_t *self, const char *sid, const char *message, wt_err_t *err);
/* wt_store_tell that, in the same script and only when the message is
 * queued, also records event ev_type (JSON ev_data) on the session's own
 * stream and on the fleet stream (e.g. alert_resolved: a live session
 * gets the event and the message, an ended one neither). ev_type NULL:
 * no event, as wt_store_tell. */
int wt_store_tell_event(wt_store_t *self, const char *sid, const char *message, const char *ev_type,
                        const char *ev_data, wt_err_t *err);

/* Takes up to WT_STORE_TELL_TAKE_MAX waiting messages of sid and records
 * one message_received event {message, from: "tell"} per message, in one
 * script fenced by epoch like wt_store_append (WT_ESTALE when refused).
 * take_seq > 0 makes it idempotent within the lease: a repeated take_seq
 * returns the messages the earlier take with that number took (its reply
 * was lost). Returns a new JSON array of strings (maybe empty) and the
 * number still waiting in *left (may be NULL); NULL on failure. */
json_t *wt_store_tell_take(wt_store_t *self, const char *sid, int64_t epoch, int64_t take_seq,
                           int64_t *left, wt_err_t *err);

/* 1 when sid has a retention tombstone in <prefix>expired (*expired_ms,
 * may be NULL, gets when it expired), 0 when it has none, -1 on a Redis
 * error. See wt_retain.h. */
int wt_store_expired(wt_store_t *self, const char *sid, int64_t *expired_ms, wt_err_t *err);

/* Builds the result object of a session, {session, workflow, status,
 * outcome, output, detail}. A session deleted by retention answers status
 * and outcome "expired" (workflow "", detail saying when); NULL with
 * WT_ENOTFOUND if it never existed or its tombstone is gone too. */
json_t *wt_store_result(wt_store_t *self, const char *sid, wt_err_t *err);
/* When the oldest queued session entered the queue (its created_ms, or
 * when it was requeued), exact however long the queue, in one script: 1
 * with *entered_ms (may be NULL) set, 0 when none waits, -1 on a Redis
 * error. */
int wt_store_oldest_queued(wt_store_t *self, int64_t *entered_ms, wt_err_t *err);
/* Returns 1 when status is terminal (completed failed cancelled). */
int wt_store_status_terminal(const char *status);

#endif
