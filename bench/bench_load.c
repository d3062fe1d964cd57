/* bench_load - WorkTrain's own load client (what redis-benchmark is to
 * Redis): SPAWNs one-step sessions to a real broker's client endpoint and
 * follows their lifecycle events on the real Redis (XREAD BLOCK on
 * <prefix>events, DESIGN 5), in one thread, so that the client costs the
 * machine little next to the fleet it measures.
 *
 *   bench_load --clients EP --redis URL [--sessions N] [--workflow ID]
 *              (--window W | --rate R) [--timeout S] [--out FILE]
 *              [--per-session] [--key-prefix P] [--from ID] [--prefix P]
 *              [--curve DIR] [--xread-gap-us US]
 *
 * Defaults: 1000 sessions of bench-one-step (bench/workflows), --window
 * 2000, the fleet's key prefix --prefix wt:. --per-session adds each
 * session's id and times to --out.
 *
 * --window W: closed loop, at most W SPAWNs without an answer (default
 * 2000). --rate R: open loop, SPAWN i is due at t0 + i/R s on
 * CLOCK_MONOTONIC whatever the replies do; replies are read as they come.
 * Every SPAWN carries the idempotency key P-i (P from --key-prefix, a random
 * one by default); an ERROR UNAVAILABLE or NOT_ACTIVE is answered by the
 * same SPAWN (same req, same key) 50 ms later until the deadline; any other
 * ERROR ends the run (exit 2) with the broker's message.
 *
 * Per session the client notes, in microseconds on CLOCK_MONOTONIC: SPAWN
 * sent (the first try), SPAWNED received, session_started seen and
 * session_completed seen on <prefix>events (matched by the session id
 * SPAWNED returned; an event seen before its SPAWNED is kept until the
 * SPAWNED names it). "Seen" includes the XREAD delivery, so
 * spawn->started is an upper bound of the true spawn->session_started.
 * It can be shorter than spawn->SPAWNED: the broker sends a session's
 * ASSIGN before its SPAWNED, and the reply crosses ZeroMQ's I/O thread
 * where the event comes straight from the Redis socket
 * (started_before_spawned counts those sessions).
 * It reports sessions/s (first SPAWN sent -> last session_completed seen),
 * p50/p99/max/mean of spawn->SPAWNED, spawn->started and spawn->completed,
 * its own CPU per session (getrusage, all its threads) and whether every
 * session got exactly one session_completed: once all are in, the rest of
 * the stream is read once more, so a late duplicate is counted too.
 *
 * Its SPAWNs ask for the replies in BATCHes (PROTOCOL.md 3.1: `batch`
 * 512), as a client that spawns many does; --no-batch asks for one reply
 * per SPAWN, as a client from before BATCH.
 *
 * --xread-gap-us US: the least time from an XREAD's reply to the next XREAD
 * (default 0 with --rate: every event as soon as Redis has it; 2000 with
 * --window, so that Redis serves a few batched reads rather than one per
 * event: the client's reads are not the fleet's work, and a completion
 * seen up to 2 ms late does not change a throughput figure).
 *
 * Reading starts after the stream's last entry at start (--from ID: after
 * ID instead, e.g. 0 to re-check sessions of an earlier run with the same
 * --key-prefix, whose SPAWNs are then answered existing).
 *
 * Exit: 0 every session completed exactly once; 1 a session missing (by
 * --timeout, default 300 s) or completed twice; 2 bad arguments, no broker
 * or no Redis at the given address, a refused SPAWN.
 *
 * --curve DIR uses CURVE: DIR/client.key and DIR/broker.pub (worktrain
 * keygen), as bench_dispatch does.
 */
#include "bench_util.h"
#include "wt_alloc.h"
#include "wt_cert.h"
#include "wt_clock.h"
#include "wt_redis.h"
#include "wt_wire.h"

#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define SID_LEN        26
#define RETRY_MS       50  /* pause before re-sending a retryable SPAWN (as spawn_many) */
#define XREAD_BLOCK_MS 200 /* an idle XREAD returns this often */
#define XREAD_COUNT    10000
#define STATS_REQ      (UINT64_C(1) << 40) /* the preflight STATS (SPAWN i has req i+1) */

typedef struct sess {
    int64_t sent_us;      /* first SPAWN sent, 0 = not yet */
    int64_t due_us;       /* a retry's due time, 0 = none pending */
    int64_t spawned_us;   /* SPAWNED received */
    int64_t started_us;   /* first session_started seen */
    int64_t completed_us; /* first session_completed seen */
    int completions, starts, retries, existing;
    char sid[SID_LEN + 1];
} sess_t;

/* Events for a session id no SPAWNED has named yet (ours, early, or
 * someone else's). */
typedef struct orphan {
    int64_t started_us, completed_us;
    int completions, starts;
} orphan_t;

/* sid -> ref: >= 0 a session index, < 0 the orphan -(ref + 1). */
typedef struct slot {
    char sid[SID_LEN + 1];
    int32_t ref;
    int used;
} slot_t;

typedef struct load {
    /* settings */
    const char *clients, *redis_url, *workflow, *out, *curve, *from;
    char prefix[64], key_prefix[64], stream[80];
    long n, window;
    double rate;
    int64_t timeout_ms;
    int nobatch;          /* --no-batch: one SPAWNED per message */
    int64_t xread_gap_us; /* least time from an XREAD's reply to the next XREAD */
    int per_session;
    /* state */
    sess_t *s;
    orphan_t *orphans;
    long norphans, max_orphans;
    slot_t *table;
    size_t tcap;
    long sent, answered, completed, existing, retries, refused_retryable;
    long retry_pending; /* SPAWNs waiting for their re-send */
    long events, foreign_events, foreign_dropped, started_before_spawned;
    long shared_ids, late_replies;
    long wakes, xreads; /* ppoll returns, XREAD replies: what the client's CPU goes to */
    int64_t t0_us, last_completed_us, max_lag_us;
    void *zctx, *sock;
    wt_redis_t *redis; /* owned */
    redisContext *rc;  /* its connection (borrowed), read and written here */
    char last_id[64];
    int xread_out;          /* an XREAD is on the wire */
    int64_t xread_reply_us; /* when the last XREAD reply came */
} load_t;

static void
die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

/* --- sid table (open addressing, FNV-1a) --- */

static size_t
sid_hash(const char *sid)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = sid; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)h;
}

/* The slot of sid: its own, or the empty one where it would go. */
static slot_t *
sid_slot(load_t *self, const char *sid)
{
    size_t i = sid_hash(sid) & (self->tcap - 1);
    while (self->table[i].used && strcmp(self->table[i].sid, sid) != 0)
        i = (i + 1) & (self->tcap - 1);
    return &self->table[i];
}

static void
sid_claim(slot_t *sl, const char *sid, int32_t ref)
{
    snprintf(sl->sid, sizeof sl->sid, "%s", sid);
    sl->ref = ref;
    sl->used = 1;
}

/* --- percentiles --- */

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* {"p50", "p99", "max", "mean", "n"} in microseconds over the sessions that
 * have both marks (nearest rank, as bench.py's pct). */
static json_t *
latency(const load_t *self, size_t off_to)
{
    int64_t *v = wt_xcalloc((size_t)self->n + 1, sizeof *v);
    long k = 0;
    double sum = 0;
    for (long i = 0; i < self->n; i++) {
        int64_t to = *(const int64_t *)((const char *)&self->s[i] + off_to);
        if (self->s[i].sent_us && to) {
            v[k] = to - self->s[i].sent_us;
            sum += (double)v[k++];
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer(k));
    if (k > 0) {
        qsort(v, (size_t)k, sizeof *v, cmp_i64);
        json_object_set_new(o, "p50", json_integer(v[(long)(0.50 * (double)(k - 1) + 0.5)]));
        json_object_set_new(o, "p99", json_integer(v[(long)(0.99 * (double)(k - 1) + 0.5)]));
        json_object_set_new(o, "max", json_integer(v[k - 1]));
        json_object_set_new(o, "mean", json_real((double)(int64_t)(sum / (double)k * 10) / 10));
    }
    free(v);
    return o;
}

/* --- Redis --- */

static void
redis_connect(load_t *self)
{
    wt_err_t err = {0};
    char shown[300];
    wt_redis_url_display(self->redis_url, shown, sizeof shown);
    self->redis = wt_redis_new(self->redis_url, 5000, &err);
    if (self->redis == NULL)
        die(2, "--redis: %s", err.msg);
    if (wt_redis_connect(self->redis, &err) != 0)
        die(2, "--redis '%s': cannot connect: %s", shown, err.msg);
    self->rc = wt_redis_context(self->redis);
    redisReply *r = NULL;
    if (self->from) {
        snprintf(self->last_id, sizeof self->last_id, "%s", self->from);
        return;
    }
    /* read from the stream's last entry at start: nothing earlier is ours */
    r = redisCommand(self->rc, "XREVRANGE %s + - COUNT 1", self->stream);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        die(2, "--redis '%s': XREVRANGE %s failed: %s", shown, self->stream,
            r ? r->str : self->rc->errstr);
    snprintf(self->last_id, sizeof self->last_id, "0-0");
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING)
        snprintf(self->last_id, sizeof self->last_id, "%s", r->element[0]->element[0]->str);
    freeReplyObject(r);
}

/* Puts XREAD [BLOCK ms] on the wire (block < 0: no BLOCK). */
static void
xread_send(load_t *self, int block_ms)
{
    char count[16], block[16];
    snprintf(count, sizeof count, "%d", XREAD_COUNT);
    snprintf(block, sizeof block, "%d", block_ms);
    const char *argv[] = {"XREAD", "COUNT",   count,        "BLOCK",
                          block,   "STREAMS", self->stream, self->last_id};
    const char *noblock[] = {"XREAD", "COUNT", count, "STREAMS", self->stream, self->last_id};
    if (block_ms >= 0)
        redisAppendCommandArgv(self->rc, 8, argv, NULL);
    else
        redisAppendCommandArgv(self->rc, 6, noblock, NULL);
    int done = 0;
    while (!done)
        if (redisBufferWrite(self->rc, &done) != REDIS_OK)
            die(1, "redis connection lost: %s", self->rc->errstr);
    self->xread_out = 1;
}

static void
on_event(load_t *self, const char *type, const char *sid, int64_t now)
{
    int started = strcmp(type, "session_started") == 0;
    int completed = strcmp(type, "session_completed") == 0;
    if ((!started && !completed) || strlen(sid) != SID_LEN)
        return;
    slot_t *sl = sid_slot(self, sid);
    if (!sl->used) {
        if (self->norphans >= self->max_orphans) {
            self->foreign_dropped++;
            return;
        }
        memset(&self->orphans[self->norphans], 0, sizeof self->orphans[0]);
        sid_claim(sl, sid, (int32_t)(-self->norphans - 1));
        self->norphans++;
    }
    if (sl->ref < 0) {
        orphan_t *o = &self->orphans[-sl->ref - 1];
        if (started && o->starts++ == 0)
            o->started_us = now;
        if (completed && o->completions++ == 0)
            o->completed_us = now;
        self->foreign_events++;
        return;
    }
    sess_t *s = &self->s[sl->ref];
    if (started && s->starts++ == 0)
        s->started_us = now;
    if (completed && s->completions++ == 0) {
        s->completed_us = now;
        self->completed++;
        self->last_completed_us = now;
    }
}

/* Handles one XREAD reply: every entry's type and session. */
static void
on_xread(load_t *self, redisReply *r, int64_t now)
{
    if (r->type == REDIS_REPLY_ERROR)
        die(2, "XREAD %s failed: %s", self->stream, r->str);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return; /* nil: BLOCK timed out */
    redisReply *st = r->element[0];
    if (st->type != REDIS_REPLY_ARRAY || st->elements < 2 ||
        st->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    redisReply *entries = st->element[1];
    for (size_t i = 0; i < entries->elements; i++) {
        redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        snprintf(self->last_id, sizeof self->last_id, "%s", e->element[0]->str);
        self->events++;
        const char *type = wt_redis_field(e->element[1], "type");
        const char *sid = wt_redis_field(e->element[1], "session");
        if (type && sid)
            on_event(self, type, sid, now);
    }
}

/* Reads what the Redis socket holds; handles each complete reply. Returns
 * how many replies were handled. */
static int
redis_readable(load_t *self)
{
    if (redisBufferRead(self->rc) != REDIS_OK)
        die(1, "redis connection lost: %s", self->rc->errstr);
    int64_t now = wt_clock_mono_us();
    int got = 0;
    for (;;) {
        void *reply = NULL;
        if (redisGetReplyFromReader(self->rc, &reply) != REDIS_OK)
            die(1, "redis protocol error: %s", self->rc->errstr);
        if (reply == NULL)
            return got;
        on_xread(self, reply, now);
        freeReplyObject(reply);
        self->xread_out = 0;
        self->xread_reply_us = now;
        self->xreads++;
        got++;
    }
}

/* --- broker --- */

static void
send_spawn(load_t *self, long i)
{
    wt_msg_t m = {.chan = WT_CHAN_CLIENT, .cmd = WT_CMD_SPAWN};
    char goal[48], key[96];
    snprintf(goal, sizeof goal, "load %ld", i);
    snprintf(key, sizeof key, "%s-%ld", self->key_prefix, i);
    m.workflow = (char *)self->workflow;
    m.goal = goal;
    m.key = key;
    m.req = (uint64_t)i + 1;
    m.batch = self->nobatch ? 0 : 512;
    int64_t now = wt_clock_mono_us();
    if (self->s[i].sent_us == 0)
        self->s[i].sent_us = now;
    wt_err_t err = {0};
    if (wt_wire_send(self->sock, NULL, 0, &m, 0, &err) != 0)
        die(2, "cannot send SPAWN to %s: %s", self->clients, err.msg);
}

static void
on_spawned(load_t *self, sess_t *s, long i, const wt_msg_t *m, int64_t now)
{
    if (m->session == NULL || strlen(m->session) != SID_LEN)
        die(2, "SPAWNED for SPAWN %ld has no valid session id", i);
    s->spawned_us = now;
    s->existing = m->existing;
    self->existing += m->existing;
    self->answered++;
    snprintf(s->sid, sizeof s->sid, "%s", m->session);
    slot_t *sl = sid_slot(self, m->session);
    if (!sl->used) {
        sid_claim(sl, m->session, (int32_t)i);
        return;
    }
    if (sl->ref >= 0) { /* two keys, one session: the broker's idempotency is broken */
        self->shared_ids++;
        return;
    }
    orphan_t *o = &self->orphans[-sl->ref - 1];
    sl->ref = (int32_t)i;
    s->starts = o->starts;
    s->started_us = o->started_us;
    s->completions = o->completions;
    s->completed_us = o->completed_us;
    if (o->starts && o->started_us < now)
        self->started_before_spawned++;
    if (o->completions) {
        self->completed++;
        if (o->completed_us > self->last_completed_us)
            self->last_completed_us = o->completed_us;
    }
    self->foreign_events -= o->starts + o->completions;
}

static void
zmq_readable(load_t *self)
{
    for (;;) {
        wt_msg_t *m = NULL;
        int code = 0;
        wt_err_t err = {0};
        int rc = wt_wire_recv(self->sock, 0, WT_CHAN_CLIENT, NULL, NULL, &m, &code, 1, &err);
        if (rc == 0)
            return;
        int64_t now = wt_clock_mono_us();
        if (rc < 0)
            die(2, "bad reply from the broker at %s: %s", self->clients, err.msg);
        long i = (long)m->req - 1;
        if (i < 0 || i >= self->n || self->s[i].sent_us == 0) {
            if (m->cmd == WT_CMD_ERROR)
                die(2, "the broker at %s answered ERROR %d: %s", self->clients, m->code,
                    m->message ? m->message : "");
            self->late_replies++;
        } else if (self->s[i].spawned_us) {
            self->late_replies++; /* a second answer to a re-sent SPAWN */
        } else if (m->cmd == WT_CMD_SPAWNED) {
            on_spawned(self, &self->s[i], i, m, now);
        } else if (m->cmd == WT_CMD_ERROR &&
                   (m->code == WT_PROTO_E_UNAVAILABLE || m->code == WT_PROTO_E_NOT_ACTIVE)) {
            self->refused_retryable++;
            self->retry_pending++;
            self->s[i].due_us = now + RETRY_MS * 1000;
        } else if (m->cmd == WT_CMD_ERROR) {
            die(2, "SPAWN %ld of workflow '%s' refused by the broker at %s: %s (code %d)", i,
                self->workflow, self->clients, m->message ? m->message : "", m->code);
        } else {
            die(2, "unexpected %s from the broker at %s in answer to SPAWN %ld",
                wt_cmd_name((int)m->cmd), self->clients, i);
        }
        wt_msg_destroy(&m);
    }
}

/* The connection check before the clock starts: one STATS answered, or an
 * error naming what is wrong at --clients. */
static void
preflight(load_t *self, int64_t wait_ms)
{
    char addr[64];
    snprintf(addr, sizeof addr, "inproc://bench-load-monitor-%d", (int)getpid());
    void *mon = NULL;
    if (zmq_socket_monitor(self->sock, addr,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) == 0) {
        mon = zmq_socket(self->zctx, ZMQ_PAIR);
        zmq_connect(mon, addr);
    }
    if (zmq_connect(self->sock, self->clients) != 0)
        die(2, "--clients '%s': %s", self->clients, zmq_strerror(errno));
    wt_msg_t q = {.chan = WT_CHAN_CLIENT, .cmd = WT_CMD_STATS, .req = STATS_REQ};
    wt_err_t err = {0};
    if (wt_wire_send(self->sock, NULL, 0, &q, 0, &err) != 0)
        die(2, "cannot send STATS to %s: %s", self->clients, err.msg);
    int connected = 0, retries = 0, refused = 0;
    int64_t deadline = wt_clock_mono_ms() + wait_ms;
    wt_msg_t *m = NULL;
    while (m == NULL) {
        int64_t left = deadline - wt_clock_mono_ms();
        if (left <= 0)
            break;
        zmq_pollitem_t it[] = {{self->sock, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
        zmq_poll(it, mon ? 2 : 1, (long)left);
        while (mon) {
            zmq_msg_t ev;
            zmq_msg_init(&ev);
            if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&ev);
                break;
            }
            uint16_t id = 0;
            if (zmq_msg_size(&ev) >= 2)
                memcpy(&id, zmq_msg_data(&ev), sizeof id);
            int more = zmq_msg_more(&ev);
            zmq_msg_close(&ev);
            if (more) {
                zmq_msg_init(&ev);
                zmq_msg_recv(&ev, mon, 0);
                zmq_msg_close(&ev);
            }
            connected |= id == ZMQ_EVENT_CONNECTED;
            retries += id == ZMQ_EVENT_CONNECT_RETRIED;
            refused |=
                id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
        }
        if (refused)
            break;
        int code = 0;
        if (wt_wire_recv(self->sock, 0, WT_CHAN_CLIENT, NULL, NULL, &m, &code, 1, &err) < 0)
            die(2, "--clients '%s': bad reply to STATS: %s", self->clients, err.msg);
    }
    if (mon) {
        zmq_socket_monitor(self->sock, NULL, 0);
        zmq_close(mon);
    }
    if (m == NULL && refused)
        die(2, "--clients '%s': the broker refused this client's %s", self->clients,
            self->curve ? "CURVE key: is DIR/client.pub in the broker's --allow-clients, and "
                          "DIR/broker.pub the broker's own? (--curve DIR)"
                        : "connection: the broker uses CURVE, give --curve DIR (client.key, "
                          "broker.pub)");
    if (m == NULL && !connected)
        die(2,
            "no broker at --clients '%s': no connection could be made in %" PRId64
            " ms (%d tries); nothing may be listening there",
            self->clients, wait_ms, retries);
    if (m == NULL)
        die(2,
            "--clients '%s': connected, but no answer to STATS in %" PRId64
            " ms: is it a WorkTrain broker's client endpoint?",
            self->clients, wait_ms);
    if (m->cmd == WT_CMD_ERROR)
        die(2, "--clients '%s': the broker answered STATS with ERROR %d: %s", self->clients,
            m->code, m->message ? m->message : "");
    if (m->workers == 0)
        fprintf(stderr, "bench_load: warning: the broker at %s has no worker yet\n", self->clients);
    wt_msg_destroy(&m);
}

/* --- the run --- */

static int64_t
due_of(const load_t *self, long i)
{
    return self->t0_us + (int64_t)((double)i * 1e6 / self->rate);
}

/* Sends every SPAWN due now: the next new ones (window or schedule) and
 * the retries whose pause is over. Returns the next due time (INT64_MAX:
 * none until a reply comes). */
static int64_t
send_due(load_t *self, int64_t now)
{
    int64_t next = INT64_MAX;
    if (self->retry_pending) /* rare: a linear scan is fine */
        for (long i = 0; i < self->sent; i++) {
            if (self->s[i].due_us == 0)
                continue;
            if (self->s[i].due_us <= now) {
                self->s[i].due_us = 0;
                self->retry_pending--;
                self->s[i].retries++;
                self->retries++;
                send_spawn(self, i);
            } else if (self->s[i].due_us < next)
                next = self->s[i].due_us;
        }
    if (self->rate > 0) {
        while (self->sent < self->n && due_of(self, self->sent) <= now) {
            int64_t lag = now - due_of(self, self->sent);
            if (lag > self->max_lag_us)
                self->max_lag_us = lag;
            send_spawn(self, self->sent++);
            now = wt_clock_mono_us();
        }
        if (self->sent < self->n && due_of(self, self->sent) < next)
            next = due_of(self, self->sent);
    } else {
        while (self->sent < self->n && self->sent - self->answered < self->window)
            send_spawn(self, self->sent++);
    }
    return next;
}

static void
run(load_t *self)
{
    int64_t deadline = wt_clock_mono_us() + self->timeout_ms * 1000;
    int zfd = -1;
    size_t fl = sizeof zfd;
    zmq_getsockopt(self->sock, ZMQ_FD, &zfd, &fl);
    xread_send(self, XREAD_BLOCK_MS);
    self->t0_us = wt_clock_mono_us();
    for (;;) {
        int64_t now = wt_clock_mono_us();
        if (self->completed >= self->n || now >= deadline)
            break;
        int64_t next = send_due(self, now);
        if (!self->xread_out) {
            int64_t at = self->xread_reply_us + self->xread_gap_us;
            if (now >= at)
                xread_send(self, XREAD_BLOCK_MS);
            else if (at < next)
                next = at;
        }
        /* ZMQ_FD is edge-triggered: block only when ZMQ_EVENTS says
         * nothing is waiting (checked after the last socket call). */
        int ev = 0;
        size_t evl = sizeof ev;
        zmq_getsockopt(self->sock, ZMQ_EVENTS, &ev, &evl);
        if (self->completed >= self->n)
            break;
        now = wt_clock_mono_us();
        if (next > deadline)
            next = deadline;
        /* replies already waiting: only a look at Redis, no sleep */
        int64_t wait_us = (ev & ZMQ_POLLIN) || next <= now ? 0 : next - now;
        struct timespec ts = {(time_t)(wait_us / 1000000), (long)(wait_us % 1000000) * 1000};
        struct pollfd pf[] = {{zfd, POLLIN, 0}, {self->rc->fd, POLLIN, 0}};
        if (ppoll(pf, 2, &ts, NULL) < 0 && errno != EINTR)
            die(1, "ppoll: %s", strerror(errno));
        self->wakes++;
        /* the broker's replies first: a SPAWNED and its session's events
         * that came in the same wake are taken in that order */
        zmq_readable(self);
        if (pf[1].revents & (POLLIN | POLLHUP | POLLERR))
            redis_readable(self);
    }
}

/* After the last completion: the outstanding XREAD comes back (at most its
 * BLOCK), then the rest of the stream is read once, so a duplicate that is
 * already written is counted. */
static void
drain(load_t *self)
{
    for (int round = 0; round < 1000; round++) {
        int64_t before = self->events;
        if (!self->xread_out)
            xread_send(self, -1);
        while (self->xread_out) {
            struct pollfd pf = {self->rc->fd, POLLIN, 0};
            if (poll(&pf, 1, XREAD_BLOCK_MS + 5000) <= 0)
                die(1, "redis did not answer XREAD within %d ms", XREAD_BLOCK_MS + 5000);
            redis_readable(self);
        }
        if (self->events == before && round > 0)
            return;
    }
}

static json_t *
rel(const load_t *self, int64_t t)
{
    return t ? json_integer(t - self->t0_us) : json_null();
}

static json_t *
report(load_t *self, double cpu, long missing, long duplicated, long dup_events)
{
    json_t *o = json_object();
    json_object_set_new(o, "mode", json_string(self->rate > 0 ? "rate" : "window"));
    json_object_set_new(o, "window", self->rate > 0 ? json_null() : json_integer(self->window));
    json_object_set_new(o, "rate_per_s", self->rate > 0 ? json_real(self->rate) : json_null());
    json_object_set_new(o, "workflow", json_string(self->workflow));
    json_object_set_new(o, "sessions", json_integer(self->n));
    json_object_set_new(o, "spawned", json_integer(self->answered));
    json_object_set_new(o, "existing", json_integer(self->existing));
    json_object_set_new(o, "completed", json_integer(self->completed));
    json_object_set_new(o, "missing", json_integer(missing));
    json_object_set_new(o, "duplicated", json_integer(duplicated));
    json_object_set_new(o, "duplicate_events", json_integer(dup_events));
    json_object_set_new(o, "shared_session_ids", json_integer(self->shared_ids));
    json_object_set_new(o, "retryable_refusals", json_integer(self->refused_retryable));
    json_object_set_new(o, "late_replies", json_integer(self->late_replies));
    json_object_set_new(o, "started_before_spawned", json_integer(self->started_before_spawned));
    double secs = self->last_completed_us > self->t0_us
                      ? (double)(self->last_completed_us - self->t0_us) / 1e6
                      : 0;
    json_object_set_new(o, "seconds", json_real((double)(int64_t)(secs * 1000) / 1000));
    json_object_set_new(o, "sessions_per_s",
                        secs > 0
                            ? json_real((double)(int64_t)((double)self->completed / secs * 10) / 10)
                            : json_null());
    json_object_set_new(o, "spawn_to_spawned_us", latency(self, offsetof(sess_t, spawned_us)));
    json_object_set_new(o, "spawn_to_started_us", latency(self, offsetof(sess_t, started_us)));
    json_object_set_new(o, "spawn_to_completed_us", latency(self, offsetof(sess_t, completed_us)));
    if (self->rate > 0)
        json_object_set_new(o, "schedule_max_lag_us", json_integer(self->max_lag_us));
    json_object_set_new(o, "client_cpu_s", json_real((double)(int64_t)(cpu * 1e4) / 1e4));
    json_object_set_new(o, "client_cpu_ms_per_session",
                        json_real((double)(int64_t)(cpu * 1e3 / (double)self->n * 1e4) / 1e4));
    json_object_set_new(o, "xread_gap_us", json_integer(self->xread_gap_us));
    json_object_set_new(o, "events_read", json_integer(self->events));
    json_object_set_new(o, "xread_replies", json_integer(self->xreads));
    json_object_set_new(o, "client_wakeups", json_integer(self->wakes));
    json_object_set_new(o, "foreign_events", json_integer(self->foreign_events));
    json_object_set_new(o, "foreign_events_dropped", json_integer(self->foreign_dropped));
    json_object_set_new(
        o, "note",
        json_string("times are microseconds on the client's CLOCK_MONOTONIC from its first SPAWN "
                    "try; started and completed are when the client saw the event on the events "
                    "stream (XREAD BLOCK, the next XREAD sent xread_gap_us after a reply), so "
                    "spawn_to_started and spawn_to_completed are upper bounds of the true "
                    "latencies (they include the event's delivery); sessions_per_s is from the "
                    "first SPAWN to the last session_completed seen"));
    if (self->per_session) {
        json_t *rows = json_array();
        for (long i = 0; i < self->n; i++) {
            sess_t *s = &self->s[i];
            json_array_append_new(rows,
                                  json_pack("[s?,o,o,o,o,i,i]", s->sid[0] ? s->sid : NULL,
                                            rel(self, s->sent_us), rel(self, s->spawned_us),
                                            rel(self, s->started_us), rel(self, s->completed_us),
                                            s->completions, s->retries));
        }
        json_t *ps = json_object();
        json_object_set_new(ps, "fields",
                            json_pack("[s,s,s,s,s,s,s]", "session", "sent_us", "spawned_us",
                                      "started_us", "completed_us", "completions", "retries"));
        json_object_set_new(ps, "rows", rows);
        json_object_set_new(o, "per_session", ps);
    }
    return o;
}

static long
parse_long(const char *flag, const char *text, long min)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min)
        die(2, "%s '%s': expected an integer >= %ld", flag, text, min);
    return v;
}

static void
usage(int code)
{
    fprintf(stderr, "usage: bench_load --clients EP --redis URL [--sessions N] [--workflow ID]\n"
                    "                  [--window W | --rate R] [--timeout S] [--out FILE]\n"
                    "                  [--per-session] [--key-prefix P] [--from ID] [--prefix P]\n"
                    "                  [--curve DIR] [--xread-gap-us US] [--no-batch]   (see the "
                    "comment at the "
                    "top of bench_load.c)\n");
    exit(code);
}

int
main(int argc, char **argv)
{
    load_t L = {.n = 1000, .window = 2000, .workflow = "bench-one-step", .timeout_ms = 300000};
    snprintf(L.prefix, sizeof L.prefix, "wt:");
    int have_window = 0, have_gap = 0;
    static const struct option opts[] = {{"clients", 1, 0, 'c'},
                                         {"redis", 1, 0, 'r'},
                                         {"sessions", 1, 0, 'n'},
                                         {"workflow", 1, 0, 'w'},
                                         {"window", 1, 0, 'W'},
                                         {"rate", 1, 0, 'R'},
                                         {"timeout", 1, 0, 't'},
                                         {"out", 1, 0, 'o'},
                                         {"per-session", 0, 0, 'p'},
                                         {"key-prefix", 1, 0, 'k'},
                                         {"from", 1, 0, 'f'},
                                         {"prefix", 1, 0, 'P'},
                                         {"curve", 1, 0, 'C'},
                                         {"xread-gap-us", 1, 0, 'x'},
                                         {"no-batch", 0, 0, 'B'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            L.clients = optarg;
            break;
        case 'r':
            L.redis_url = optarg;
            break;
        case 'n':
            L.n = parse_long("--sessions", optarg, 1);
            break;
        case 'w':
            L.workflow = optarg;
            break;
        case 'W':
            L.window = parse_long("--window", optarg, 1);
            have_window = 1;
            break;
        case 'R': {
            char *end = NULL;
            L.rate = strtod(optarg, &end);
            if (end == optarg || *end || !(L.rate > 0 && L.rate <= 1e7))
                die(2, "--rate '%s': expected spawns per second, > 0", optarg);
            break;
        }
        case 't':
            L.timeout_ms = parse_long("--timeout", optarg, 1) * 1000;
            break;
        case 'o':
            L.out = optarg;
            break;
        case 'p':
            L.per_session = 1;
            break;
        case 'k':
            if (snprintf(L.key_prefix, sizeof L.key_prefix, "%s", optarg) >=
                    (int)sizeof L.key_prefix ||
                !optarg[0])
                die(2, "--key-prefix: 1 to %zu characters", sizeof L.key_prefix - 1);
            break;
        case 'f':
            L.from = optarg;
            break;
        case 'P':
            if (snprintf(L.prefix, sizeof L.prefix, "%s", optarg) >= (int)sizeof L.prefix)
                die(2, "--prefix: at most %zu characters", sizeof L.prefix - 1);
            break;
        case 'C':
            L.curve = optarg;
            break;
        case 'x':
            L.xread_gap_us = parse_long("--xread-gap-us", optarg, 0);
            have_gap = 1;
            break;
        case 'B':
            L.nobatch = 1;
            break;
        case 'h':
            usage(0);
            break;
        default:
            usage(2);
        }
    }
    if (optind < argc)
        die(2, "unexpected argument '%s'", argv[optind]);
    if (!L.clients || !L.redis_url)
        die(2, "--clients EP and --redis URL are required (see --help)");
    if (have_window && L.rate > 0)
        die(2, "--window and --rate exclude each other: closed or open loop");
    if (L.n > 50000000)
        die(2, "--sessions %ld: at most 50000000", L.n);
    snprintf(L.stream, sizeof L.stream, "%sevents", L.prefix);
    if (!have_gap) /* open loop: every event as soon as it is written */
        L.xread_gap_us = L.rate > 0 ? 0 : 2000;
    if (!L.key_prefix[0]) {
        uint32_t rnd = 0;
        if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
            rnd = (uint32_t)wt_clock_now_ms();
        snprintf(L.key_prefix, sizeof L.key_prefix, "load-%08x%08x", (unsigned)getpid(), rnd);
    }
    signal(SIGPIPE, SIG_IGN);

    redis_connect(&L);
    L.s = wt_xcalloc((size_t)L.n, sizeof *L.s);
    L.max_orphans = L.n * 4 > 65536 ? L.n * 4 : 65536;
    L.orphans = wt_xcalloc((size_t)L.max_orphans, sizeof *L.orphans);
    for (L.tcap = 1024; L.tcap < 2 * (size_t)(L.n + L.max_orphans); L.tcap <<= 1)
        ;
    L.table = wt_xcalloc(L.tcap, sizeof *L.table);

    wt_cert_peer_t keys = {0};
    if (L.curve) {
        wt_err_t err = {0};
        if (bench_curve_peer(&keys, L.curve, "client", &err) != 0)
            die(2, "--curve: %s", err.msg);
    }
    L.zctx = zmq_ctx_new();
    L.sock = zmq_socket(L.zctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(L.sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(L.sock, ZMQ_SNDHWM, &zero, sizeof zero); /* the window is the limit */
    zmq_setsockopt(L.sock, ZMQ_RCVHWM, &zero, sizeof zero);
    wt_err_t err = {0};
    if (wt_cert_peer_apply(&keys, L.sock, &err) != 0)
        die(2, "--curve: %s", err.msg);
    preflight(&L, L.timeout_ms < 5000 ? L.timeout_ms : 5000);

    double cpu0 = bench_cpu_s();
    run(&L);
    double cpu = bench_cpu_s() - cpu0;
    int timed_out = L.completed < L.n;
    if (!timed_out)
        drain(&L);
    long missing = 0, duplicated = 0, dup_events = 0;
    for (long i = 0; i < L.n; i++) {
        missing += L.s[i].completions == 0;
        duplicated += L.s[i].completions > 1;
        dup_events += L.s[i].completions > 1 ? L.s[i].completions - 1 : 0;
    }
    json_t *o = report(&L, cpu, missing, duplicated, dup_events);
    if (L.out) {
        FILE *f = fopen(L.out, "w");
        if (f == NULL || json_dumpf(o, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0 ||
            fclose(f) != 0)
            die(2, "--out '%s': cannot write: %s", L.out, strerror(errno));
    }
    json_object_del(o, "per_session");
    json_object_del(o, "note");
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    puts(text);
    free(text);
    json_decref(o);
    int rc = 0;
    if (timed_out) {
        fprintf(stderr,
                "bench_load: timed out after %" PRId64
                " s: %ld of %ld SPAWNs answered, %ld sessions completed (%ld missing)\n",
                L.timeout_ms / 1000, L.answered, L.n, L.completed, missing);
        rc = 1;
    }
    if (duplicated || L.shared_ids) {
        fprintf(stderr,
                "bench_load: %ld session(s) with more than one session_completed (%ld extra), "
                "%ld session id(s) returned for two keys\n",
                duplicated, dup_events, L.shared_ids);
        rc = 1;
    }
    zmq_close(L.sock);
    zmq_ctx_term(L.zctx);
    wt_redis_destroy(&L.redis);
    free(L.s);
    free(L.orphans);
    free(L.table);
    return rc;
}
