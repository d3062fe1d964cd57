/* wt_worker - the worker loop.
 *
 * The main thread owns the DEALER socket to the broker and nothing slow:
 * each session runs on its slot's thread and reports its end on a done
 * list (a mutex and an eventfd the main loop polls beside the DEALER), so
 * heartbeats never wait behind an LLM call. The
 * broker's silence for `liveness` intervals means it (or the network) is
 * gone: the worker reconnects with Paranoid-Pirate backoff and re-sends
 * READY listing what it still runs, so a restarted broker can adopt those
 * sessions instead of running them twice. */
#include "wt_worker.h"

#include "wt_endpoints.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_deliver.h"
#include "wt_endpoints.h"
#include "wt_log.h"
#include "wt_prompt.h"
#include "wt_redis.h"
#include "wt_sd.h"
#include "wt_session.h"
#include "wt_signal.h"
#include "wt_slot.h"
#include "wt_store.h"
#include "wt_tools.h"
#include "wt_tools_fleet.h"
#include "wt_wire.h"
#include "wt_worker_cfg.h"
#include "wt_worker_http.h"
#include "wt_workspace.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zmq.h>

extern char **environ;

#define THREAD_STACK (512 * 1024)
#define PRUNE_MS     60000 /* workspace prune period (shorter when --keep-days is tiny) */
#define PRUNE_MAX    32    /* workspaces removed per prune pass */
/* Session threads (and the tools they start) run this much nicer than the
 * main thread, so a busy host or hundreds of busy sessions cannot starve
 * the heartbeats: the broker would judge the worker dead and requeue its
 * sessions. Raising one's own nice needs no privilege. */
#define SESSION_NICE 5

/* A slot keeps its thread and its Redis connection from one session to
 * the next: opening them (and creating a thread) per session was a large
 * part of a short session's cost. The thread is made on the slot's first
 * session and lives as long as the worker (wt_slot); the connection is
 * used by that thread only.
 *
 * An entry holding a session waiting for a slot (prefetch) is on the ready
 * queue: a slot thread whose session ends takes the oldest one there and
 * runs it at once, before the main thread has even heard of the end (issue
 * 18: the main thread's wake-up and its hand-over were the 1-slot worker's
 * idle time between sessions). The taking thread swaps its thread and
 * connection with the entry's, so an entry's thread is always the one that
 * runs (or last ran) its session, and reports the take with the end. */
typedef struct slot {
    wt_session_t *session;   /* owned while running */
    wt_slot_t *thread;       /* its persistent thread, NULL until first used */
    int used;                /* holds a session (started, or held by prefetch) */
    int started;             /* its session runs on the thread (else held, waiting); the main
                                thread's view: a take it has not read yet is not counted */
    uint64_t held_seq;       /* while held: order of arrival (oldest starts first) */
    int disowned;            /* no longer listed to the broker (Redis was unreachable) */
    struct done_list *done;  /* borrowed: where the thread reports its session's end */
    const char *outcome;     /* the ended session's outcome (static), set with the report */
    struct slot *taken;      /* set with the report: the held entry this thread went on to run */
    struct slot *done_next;  /* link in the done list */
    int queued;              /* on the ready queue (guarded by done->mu) */
    struct slot *ready_next; /* link in the ready queue (guarded by done->mu) */
    wt_redis_t *redis;       /* owned, lent to each session of this slot */
    int cancel_fd;           /* owned eventfd lent to each session of this slot (wakes its
                                LLM wait on cancel), -1 until made or when it cannot be */
} slot_t;

/* What slot threads and the main thread share: session ends, reported to
 * the main thread (a list append and, when the list was empty, one eventfd
 * write; cheaper than an inproc ZeroMQ pipe), and held sessions a slot
 * thread may take when its session ends (issue 18). */
typedef struct done_list {
    pthread_mutex_t mu;
    slot_t *head, *tail;   /* FIFO of ended slots, guarded by mu */
    int fd;                /* eventfd: readable while reports may wait */
    slot_t *rhead, *rtail; /* FIFO of held entries a slot thread may take, guarded by mu */
    int live;              /* sessions handed to a slot thread and not yet reported ended */
    int slots;             /* cfg.slots: a take never makes live exceed it */
    atomic_uint_fast64_t *taken_count; /* borrowed: counters.prefetch_taken */
} done_list_t;

typedef struct worker {
    wt_worker_cfg_t cfg;            /* read-only */
    void *zctx;                     /* ZeroMQ context */
    void *broker;                   /* DEALER, replaced on reconnect */
    done_list_t done;               /* session threads report here */
    slot_t *slots;                  /* nslots entries */
    int nslots;                     /* cfg.slots + cfg.prefetch */
    int running;                    /* started sessions (at most cfg.slots, but for
                                       cancelled held ones, briefly) */
    int held;                       /* sessions held by prefetch, not started */
    uint64_t held_seq;              /* last held_seq given */
    wt_workflow_set_t *workflows;   /* owned */
    json_t **wf_tools;              /* owned, per workflow: tool definitions (senv) */
    char **wf_prompts;              /* owned, per workflow: base system prompt (senv) */
    char workspace_real[4096];      /* canonical --workspace-root, "" if unresolved (senv) */
    wt_llm_t *llm;                  /* owned */
    wt_notify_t *notify;            /* owned; session_completed posts */
    char **tool_env;                /* owned scrubbed environment */
    wt_deliver_t *deliver;          /* owned delivery thread (DESIGN.md 15) */
    wt_sandbox_t *sandbox;          /* owned; where Bash runs */
    char *soul;                     /* owned soul text */
    wt_session_env_t senv;          /* what sessions borrow */
    wt_redis_t *redis;              /* owned, main thread only */
    wt_store_t store;               /* layout over redis */
    int64_t broker_seen_ms;         /* monotonic time of the last broker message */
    int64_t next_hb_ms;             /* next heartbeat timer (record, reconnect check) */
    int64_t hb_sent_ms;             /* monotonic time of the last HEARTBEAT sent */
    int64_t ready_sent_ms;          /* monotonic time of the last READY sent */
    uint64_t assign_seen;           /* highest ASSIGN req read: acked in READY/HEARTBEAT */
    int backoff_ms;                 /* reconnect backoff */
    int draining;                   /* SIGTERM received */
    int64_t drain_deadline_ms;      /* then hand back whatever still runs */
    int record_failures;            /* consecutive failed writes of the worker record */
    int64_t redis_down_ms;          /* monotonic time the record write first failed, 0: fine */
    int cut_off;                    /* Redis unreachable for a liveness window */
    int disowned;                   /* slots whose session was handed back while cut off */
    int64_t next_record_ms;         /* monotonic time of the next try after a failure */
    int64_t next_prune_ms;          /* monotonic time of the next workspace prune */
    int workflows_published;        /* <prefix>workflows written once */
    wt_session_counters_t counters; /* cumulative, bumped by session threads */
    void *auth_mon;                 /* PAIR: the DEALER's handshake failures (CURVE only) */
    int auth_mon_seq;               /* makes each monitor endpoint unique */
    int64_t auth_logged_ms;         /* last "key refused" line, for once a minute */
    int broker_idx;                 /* entry of the --broker list in use */
    char broker_ep[256];            /* that endpoint */
    int64_t not_active_ms;          /* first NOT_ACTIVE from it since connecting, 0: none */
    int64_t registered_ms;          /* last message of a broker that knows us, 0: none */
    wt_worker_health_t health;      /* what --http serves, published each loop turn */
    wt_worker_http_t *http;         /* owned, NULL without --http */
    wt_sd_t sd;                     /* systemd notify state (Type=notify units) */
    int sd_notify_socket;           /* NOTIFY_SOCKET was set at start */
    int zdirty;                     /* the DEALER was used since a receive last found it empty:
                                       its ZMQ_FD may not show a message that waits */
} worker_t;

/* --- broker connection --- */

static void
send_msg(worker_t *w, wt_msg_t *m)
{
    wt_err_t err = {0};
    w->zdirty = 1; /* see worker_loop */
    if (wt_wire_send(w->broker, NULL, 0, m, 1, &err) != 0)
        wt_log_warn("send %s: %s", wt_cmd_name((int)m->cmd), err.msg);
}

static int
free_slots(const worker_t *w)
{
    return w->running < w->cfg.slots ? w->cfg.slots - w->running : 0;
}

/* The sessions the broker must leave with this worker: the started ones and
 * those held by prefetch (not listing a held one would requeue it). */
static void
running_ids(worker_t *w, wt_strlist_t *l)
{
    for (int i = 0; i < w->nslots; i++)
        if (w->slots[i].used && !w->slots[i].disowned)
            wt_strlist_push(l, wt_session_id(w->slots[i].session));
}

/* The cumulative counters go with READY and HEARTBEAT (PROTOCOL.md 6.5). */
static void
put_counters(worker_t *w, wt_msg_t *m)
{
    m->llm_calls = atomic_load_explicit(&w->counters.llm_calls, memory_order_relaxed);
    m->input_tokens = atomic_load_explicit(&w->counters.input_tokens, memory_order_relaxed);
    m->output_tokens = atomic_load_explicit(&w->counters.output_tokens, memory_order_relaxed);
    m->tool_calls = atomic_load_explicit(&w->counters.tool_calls, memory_order_relaxed);
    m->llm_retries = atomic_load_explicit(&w->counters.llm_retries, memory_order_relaxed);
}

static void
send_ready(worker_t *w)
{
    wt_msg_t *m = wt_msg_new(WT_CHAN_WORKER, WT_CMD_READY);
    wt_msg_set(&m->name, w->cfg.name);
    wt_msg_set(&m->version, WT_VERSION);
    /* Cut off from Redis: 0 slots, nothing new comes. Slots still held by
     * sessions handed back are not offered until those end. */
    m->slots = w->draining || w->cut_off ? 0 : w->cfg.slots - w->disowned;
    m->free = w->draining || w->cut_off ? 0 : free_slots(w);
    m->prefetch = w->draining || w->cut_off ? 0 : w->cfg.prefetch;
    m->batch = WT_PROTO_MAX_BATCH; /* on_broker takes a BATCH's ASSIGNs one by one */
    for (int i = 0; i < wt_workflow_set_count(w->workflows); i++)
        wt_strlist_push(&m->caps, wt_workflow_id(wt_workflow_set_at(w->workflows, i)));
    for (int i = 0; i < w->cfg.nlabels; i++)
        wt_strlist_push(&m->labels, w->cfg.labels[i]);
    running_ids(w, &m->running);
    put_counters(w, m);
    m->req = w->assign_seen;
    send_msg(w, m);
    wt_msg_destroy(&m);
    w->ready_sent_ms = wt_clock_mono_ms();
}

/* Under CURVE a refused key is silent on the wire: watch the DEALER's
 * handshake failures so the operator learns why this worker gets nothing. */
static void
unwatch_auth(worker_t *w)
{
    if (w->auth_mon == NULL)
        return;
    zmq_socket_monitor(w->broker, NULL, 0);
    zmq_close(w->auth_mon);
    w->auth_mon = NULL;
}

static void
watch_auth(worker_t *w)
{
    if (!w->cfg.curve.on || w->broker == NULL)
        return;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://wt-worker-auth-%d", ++w->auth_mon_seq);
    if (zmq_socket_monitor(w->broker, ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) !=
        0)
        return;
    w->auth_mon = zmq_socket(w->zctx, ZMQ_PAIR);
    if (w->auth_mon && zmq_connect(w->auth_mon, ep) != 0) {
        zmq_close(w->auth_mon);
        w->auth_mon = NULL;
    }
}

static void
check_auth(worker_t *w)
{
    int refused = 0;
    for (;;) {
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        if (w->auth_mon == NULL || zmq_msg_recv(&ev, w->auth_mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            break;
        }
        int more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        if (more) { /* second frame: the endpoint */
            zmq_msg_init(&ev);
            zmq_msg_recv(&ev, w->auth_mon, 0);
            zmq_msg_close(&ev);
        }
        refused = 1;
    }
    int64_t now = wt_clock_mono_ms();
    if (refused && (w->auth_logged_ms == 0 || now - w->auth_logged_ms >= 60000)) {
        w->auth_logged_ms = now;
        wt_log_error("broker %s refused this worker's CURVE key: is %s's .pub in the broker's "
                     "--allow-workers, and --broker-pub the broker's own? (logged once a minute)",
                     w->cfg.broker, w->cfg.curve.key_path);
    }
}

static void
connect_broker(worker_t *w)
{
    unwatch_auth(w); /* the monitor of the socket about to close */
    if (w->broker) {
        wt_wire_forget(w->broker); /* a BATCH's ASSIGNs not yet read go with it */
        zmq_close(w->broker);
    }
    w->broker = zmq_socket(w->zctx, ZMQ_DEALER);
    int zero = 0, hwm = 100000;
    zmq_setsockopt(w->broker, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(w->broker, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(w->broker, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(w->broker, ZMQ_IDENTITY, w->cfg.name, strlen(w->cfg.name));
    wt_err_t err = {0};
    if (wt_cert_peer_apply(&w->cfg.curve, w->broker, &err) != 0)
        wt_log_error("%s", err.msg);
    watch_auth(w);
    wt_endpoints_nth(w->cfg.broker, w->broker_idx, w->broker_ep, sizeof w->broker_ep);
    w->not_active_ms = 0;
    w->registered_ms = 0; /* until this broker answers as the active one */
    if (zmq_connect(w->broker, w->broker_ep) != 0)
        wt_log_error("cannot connect to broker '%s': %s", w->broker_ep, zmq_strerror(errno));
    w->broker_seen_ms = wt_clock_mono_ms();
    send_ready(w);
}

static void
send_heartbeat(worker_t *w)
{
    wt_msg_t *m = wt_msg_new(WT_CHAN_WORKER, WT_CMD_HEARTBEAT);
    m->free = w->draining || w->cut_off ? 0 : free_slots(w);
    running_ids(w, &m->running);
    put_counters(w, m);
    m->req = w->assign_seen;
    send_msg(w, m);
    wt_msg_destroy(&m);
    w->hb_sent_ms = wt_clock_mono_ms();
}

/* A HEARTBEAT when one is due. Cheap, so the loops that take bursts of
 * messages (hundreds of ASSIGNs or ends at once, slow under load) call it
 * between messages: a burst must not silence the worker for the broker's
 * liveness window. */
static void
heartbeat_if_due(worker_t *w)
{
    if (wt_clock_mono_ms() - w->hb_sent_ms >= w->cfg.heartbeat_ms)
        send_heartbeat(w);
}

/* --- sessions --- */

static void
send_finished(worker_t *w, const char *sid, const char *outcome)
{
    wt_msg_t *f = wt_msg_new(WT_CHAN_WORKER, WT_CMD_FINISHED);
    wt_msg_set(&f->session, sid);
    wt_msg_set(&f->outcome, outcome);
    send_msg(w, f);
    wt_msg_destroy(&f);
}

static void
slot_thread_init(void *ud)
{
    (void)ud;
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SESSION_NICE) != 0)
        wt_log_debug("session thread: cannot lower its priority: %s", strerror(errno));
}

/* The oldest entry of the ready queue, unlinked; NULL when empty. Under mu. */
static slot_t *
ready_pop(done_list_t *d)
{
    slot_t *h = d->rhead;
    if (h) {
        d->rhead = h->ready_next;
        if (d->rhead == NULL)
            d->rtail = NULL;
        h->ready_next = NULL;
        h->queued = 0;
    }
    return h;
}

/* A slot thread's job: one session, then, while a held session waits on
 * the ready queue and the slots allow it, the next one, on this thread.
 * Each report is the last use of its entry. */
static void
session_job(void *arg)
{
    slot_t *s = arg;
    done_list_t *d = s->done;
    while (s) {
        wt_log_thread_session(wt_session_id(s->session)); /* "session" of JSON log lines */
        const char *outcome = wt_session_run(s->session);
        wt_log_thread_session(NULL);
        pthread_mutex_lock(&d->mu);
        s->outcome = outcome;
        s->done_next = NULL;
        d->live--;
        slot_t *h = d->live < d->slots ? ready_pop(d) : NULL;
        s->taken = h;
        if (h) { /* this thread and its connection go with the session */
            d->live++;
            wt_slot_t *t = h->thread;
            wt_redis_t *r = h->redis;
            h->thread = s->thread;
            h->redis = s->redis;
            s->thread = t;
            s->redis = r;
        }
        int wake = d->head == NULL; /* else a wake-up is pending already */
        if (d->tail)
            d->tail->done_next = s;
        else
            d->head = s;
        d->tail = s;
        pthread_mutex_unlock(&d->mu); /* s is the main thread's from here */
        if (wake) {
            uint64_t one = 1;
            ssize_t n = write(d->fd, &one, sizeof one);
            (void)n; /* only fails when the counter is full, i.e. already readable */
        }
        if (h) {
            atomic_fetch_add_explicit(d->taken_count, 1, memory_order_relaxed);
            if (h->redis != NULL)
                wt_session_lend_redis(h->session, h->redis);
        }
        s = h;
    }
}

/* Puts held entry h on the ready queue (main thread). */
static void
ready_push(worker_t *w, slot_t *h)
{
    done_list_t *d = &w->done;
    pthread_mutex_lock(&d->mu);
    h->ready_next = NULL;
    h->queued = 1;
    if (d->rtail)
        d->rtail->ready_next = h;
    else
        d->rhead = h;
    d->rtail = h;
    pthread_mutex_unlock(&d->mu);
}

/* Takes held entry h off the ready queue (main thread): 1, or 0 when a
 * slot thread took it first (it runs; its report is on the done list). */
static int
ready_remove(worker_t *w, slot_t *h)
{
    done_list_t *d = &w->done;
    pthread_mutex_lock(&d->mu);
    int was = h->queued;
    if (was) {
        slot_t **pp = &d->rhead, *prev = NULL;
        while (*pp != h)
            prev = *pp, pp = &(*pp)->ready_next;
        *pp = h->ready_next;
        if (d->rtail == h)
            d->rtail = prev;
        h->ready_next = NULL;
        h->queued = 0;
    }
    pthread_mutex_unlock(&d->mu);
    return was;
}

static void
live_add(worker_t *w, int n)
{
    pthread_mutex_lock(&w->done.mu);
    w->done.live += n;
    pthread_mutex_unlock(&w->done.mu);
}

/* Lends s's session the entry's cancel eventfd (made on first use), on
 * the main thread like every cancel: at launch, or when it is held (a slot
 * thread may take it and run it without the main thread). */
static void
lend_cancel_fd(slot_t *s)
{
    if (s->cancel_fd < 0)
        s->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    wt_session_lend_cancel_fd(s->session, s->cancel_fd);
}

/* Runs s's session on s's thread (made on first use, with its Redis
 * connection): 0, or -1 after logging (the caller hands it back). */
static int
launch(worker_t *w, slot_t *s)
{
    wt_err_t rerr = {0};
    if (s->redis == NULL)
        s->redis = wt_redis_new(w->cfg.redis, 5000, &rerr);
    if (s->redis != NULL)
        wt_session_lend_redis(s->session, s->redis);
    lend_cancel_fd(s);
    wt_err_t terr = {0};
    if (s->thread == NULL)
        s->thread = wt_slot_new(THREAD_STACK, slot_thread_init, NULL, &terr);
    live_add(w, 1);
    if (s->thread == NULL || wt_slot_run(s->thread, session_job, s, &terr) != 0) {
        live_add(w, -1);
        wt_log_error("session %s: %s: handing it back", wt_session_id(s->session), terr.msg);
        return -1;
    }
    s->used = 1;
    s->started = 1;
    w->running++;
    return 0;
}

/* Gives a held (prefetched, never started) session back to the broker: it
 * wrote nothing, so the next holder starts it from scratch. */
static void
hand_back_held(worker_t *w, slot_t *s, const char *why)
{
    wt_log_info("session %s held by prefetch handed back: %s", wt_session_id(s->session), why);
    send_finished(w, wt_session_id(s->session), "handback");
    wt_session_destroy(&s->session);
    s->used = 0;
    w->held--;
}

/* Hands back every held session no slot thread took (one that was taken
 * runs: the callers treat it as running, e.g. drain or disown it). */
static void
hand_back_all_held(worker_t *w, const char *why)
{
    for (int i = 0; i < w->nslots; i++)
        if (w->slots[i].used && !w->slots[i].started && ready_remove(w, &w->slots[i]))
            hand_back_held(w, &w->slots[i], why);
}

/* Starts held session h now, on slot entry s (h itself, or a free entry
 * whose thread and Redis connection are warm); on failure it goes back to
 * the broker. */
static void
start_held_on(worker_t *w, slot_t *h, slot_t *s)
{
    if (s != h) {
        s->session = h->session;
        h->session = NULL;
        h->used = 0;
        s->held_seq = h->held_seq;
        int fd = s->cancel_fd; /* the session keeps the fd lent when it was held */
        s->cancel_fd = h->cancel_fd;
        h->cancel_fd = fd;
    }
    w->held--;
    if (launch(w, s) != 0) {
        s->used = 1; /* as held, so that it is handed back from here */
        s->started = 0;
        w->held++;
        hand_back_held(w, s, "its thread could not start");
        return;
    }
    wt_log_debug("session %s started from prefetch", wt_session_id(s->session));
}

static void
start_held(worker_t *w, slot_t *h)
{
    if (ready_remove(w, h)) /* else a slot thread took it: it runs */
        start_held_on(w, h, h);
}

/* While a slot is free, the oldest held session starts, on the entry just
 * freed (free: NULL for any) so its thread and connection stay in use. */
static void
start_held_sessions(worker_t *w, slot_t *free)
{
    while (w->held > 0 && w->running < w->cfg.slots && !w->draining && !w->cut_off) {
        slot_t *oldest = NULL;
        for (int i = 0; i < w->nslots; i++)
            if (w->slots[i].used && !w->slots[i].started &&
                (oldest == NULL || w->slots[i].held_seq < oldest->held_seq))
                oldest = &w->slots[i];
        if (oldest == NULL)
            return;
        if (!ready_remove(w, oldest))
            return; /* a slot thread took it: its report (on the done list) says so */
        start_held_on(w, oldest, free != NULL && !free->used ? free : oldest);
        free = NULL;
    }
}

static void
start_session(worker_t *w, wt_msg_t *m)
{
    for (int i = 0; i < w->nslots; i++)
        if (w->slots[i].used && strcmp(wt_session_id(w->slots[i].session), m->session) == 0) {
            /* Already ours: the broker thought the first ASSIGN was lost and
             * took a new lease for us. Run on under the new epoch, or every
             * write would be refused as stale and the session stranded. A
             * held session renews too (it starts under the new epoch). */
            wt_session_renew(w->slots[i].session, m->epoch);
            if (w->slots[i].disowned) { /* handed back, now given to us again */
                w->slots[i].disowned = 0;
                w->disowned--;
            }
            wt_log_info("session %s re-assigned to this worker: lease epoch now %lld", m->session,
                        (long long)m->epoch);
            return;
        }
    /* A free slot runs it; else prefetch may hold it until one frees. It
     * runs on a free entry with a thread (warm; threads move between
     * entries with the sessions they take), is held on one without. */
    int run = w->running < w->cfg.slots;
    int hold = !run && w->held < w->cfg.prefetch;
    slot_t *s = NULL;
    for (int i = 0; i < w->nslots; i++)
        if (!w->slots[i].used && (s == NULL || (w->slots[i].thread != NULL) == run)) {
            s = &w->slots[i];
            if ((s->thread != NULL) == run)
                break;
        }
    if (s == NULL || (!run && !hold) || w->draining || w->cut_off) {
        wt_log_warn("ASSIGN of %s with no free slot%s: handing it back", m->session,
                    w->cut_off ? " (Redis unreachable)" : "");
        send_finished(w, m->session, "handback");
        return;
    }
    if (wt_workflow_set_get(w->workflows, m->workflow) == NULL) {
        /* The broker routes by our READY, so this is an ASSIGN sent to an
         * earlier process of this name that offered the workflow: give it
         * back rather than fail a session another worker can run. */
        wt_log_warn("ASSIGN of %s for workflow '%s' this worker does not have: handing it back",
                    m->session, m->workflow);
        send_finished(w, m->session, "handback");
        return;
    }
    s->session = wt_session_new(&w->senv, m);
    if (hold) {
        s->used = 1;
        s->started = 0;
        s->held_seq = ++w->held_seq;
        w->held++;
        lend_cancel_fd(s);
        ready_push(w, s); /* a slot thread whose session ends takes it */
        wt_log_debug("session %s held by prefetch (attempt %d, epoch %lld)", m->session, m->attempt,
                     (long long)m->epoch);
        return;
    }
    if (launch(w, s) != 0) {
        wt_session_destroy(&s->session);
        send_finished(w, m->session, "handback");
        return;
    }
    wt_log_debug("session %s started (attempt %d, epoch %lld)", m->session, m->attempt,
                 (long long)m->epoch);
}

/* Session threads finished: tell the broker, free their slots. The eventfd
 * is reset before the list is read, so a report appended after that read
 * makes it readable again (none is left without a wake-up). */
static void
on_done(worker_t *w)
{
    uint64_t count;
    ssize_t rn = read(w->done.fd, &count, sizeof count);
    (void)rn; /* EAGAIN: nothing signalled, the list is read anyway */
    for (;;) {
        pthread_mutex_lock(&w->done.mu);
        slot_t *s = w->done.head;
        if (s) {
            w->done.head = s->done_next;
            if (w->done.head == NULL)
                w->done.tail = NULL;
        }
        pthread_mutex_unlock(&w->done.mu);
        if (s == NULL)
            return;
        send_finished(w, wt_session_id(s->session), s->outcome);
        wt_session_destroy(&s->session);
        s->used = 0;
        s->started = 0;
        w->running--;
        if (s->taken) { /* the thread went on with a held session */
            slot_t *h = s->taken;
            s->taken = NULL;
            h->started = 1;
            w->held--;
            w->running++;
            wt_log_debug("session %s started from prefetch by its slot thread",
                         wt_session_id(h->session));
        }
        int was_disowned = s->disowned;
        if (s->disowned) {
            s->disowned = 0;
            w->disowned--;
        }
        start_held_sessions(w, s);
        if (was_disowned && !w->cut_off)
            send_ready(w); /* its slot is offered again */
        heartbeat_if_due(w);
    }
}

static void
on_broker(worker_t *w)
{
    for (;;) {
        wt_msg_t *m = NULL;
        int code = 0;
        wt_err_t err = {0};
        int rc = wt_wire_recv(w->broker, 0, WT_CHAN_WORKER, NULL, NULL, &m, &code, 1, &err);
        if (rc == 0) {
            w->zdirty = 0; /* empty, and ZMQ_FD turns readable for the next message */
            return;
        }
        w->broker_seen_ms = wt_clock_mono_ms();
        w->backoff_ms = 0;
        if (rc < 0) {
            wt_log_warn("bad message from broker: %s", err.msg);
            continue;
        }
        if (m->cmd != WT_CMD_ERROR)
            w->not_active_ms = 0;
        if (m->cmd != WT_CMD_ERROR && m->cmd != WT_CMD_DISCONNECT)
            w->registered_ms = w->broker_seen_ms; /* it knows this worker: /readyz */
        switch (m->cmd) {
        case WT_CMD_ASSIGN:
            start_session(w, m);
            if (m->req > w->assign_seen)
                w->assign_seen = m->req;
            break;
        case WT_CMD_STOP:
            for (int i = 0; i < w->nslots; i++)
                if (w->slots[i].used &&
                    strcmp(wt_session_id(w->slots[i].session), m->session) == 0) {
                    wt_session_cancel(w->slots[i].session);
                    /* Held by prefetch: start it now, beyond the slots, so it
                     * writes its cancelled ending at once (it does no work) */
                    if (!w->slots[i].started)
                        start_held(w, &w->slots[i]);
                }
            break;
        case WT_CMD_DISCONNECT:
            /* The broker answers every message of a worker it does not know
             * with DISCONNECT; one READY per interval answers them all (a
             * READY per DISCONNECT was a storm of re-registrations). */
            if (wt_clock_mono_ms() - w->ready_sent_ms >= w->cfg.heartbeat_ms) {
                wt_log_info("broker does not know this worker: sending READY again");
                send_ready(w);
            }
            break;
        case WT_CMD_ERROR:
            if (m->code == WT_PROTO_E_NOT_ACTIVE) {
                /* a standby: it may be about to take over; next_broker
                 * moves on if it stays one for a liveness window */
                if (w->not_active_ms == 0) {
                    w->not_active_ms = wt_clock_mono_ms();
                    wt_log_info("broker %s is a standby: %s", w->broker_ep,
                                m->message ? m->message : "");
                }
                break;
            }
            wt_log_warn("broker error %d: %s", m->code, m->message ? m->message : "");
            break;
        default:
            break;
        }
        wt_msg_destroy(&m);
        heartbeat_if_due(w);
    }
}

/* --- Redis records --- */

/* Removes workspaces of unsuccessful sessions older than --keep-days, at
 * most PRUNE_MAX per pass (a pass runs on this loop, so it stays short),
 * every PRUNE_MS or keep/2 when that is shorter (tests use tiny keeps). */
static void
prune_workspaces(worker_t *w, int64_t now)
{
    wt_err_t err = {0};
    int n = wt_workspace_prune(w->cfg.workspace_root, w->cfg.keep_ms, PRUNE_MAX, &err);
    if (err.code != WT_OK)
        wt_log_warn("workspace prune: %s", err.msg);
    else if (n > 0)
        wt_log_debug("workspace prune: %d removed", n);
    int64_t every = w->cfg.keep_ms / 2 < PRUNE_MS ? w->cfg.keep_ms / 2 : PRUNE_MS;
    w->next_prune_ms = now + (n == PRUNE_MAX ? 0 : every < 200 ? 200 : every);
}

static void
publish_record(worker_t *w)
{
    char key[256], host[64] = "", pid[16], slots[16], freeb[16], seen[24];
    gethostname(host, sizeof host - 1);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    snprintf(slots, sizeof slots, "%d", w->cfg.slots);
    snprintf(freeb, sizeof freeb, "%d", free_slots(w));
    snprintf(seen, sizeof seen, "%lld", (long long)wt_clock_now_ms());
    json_t *ids = json_array();
    for (int i = 0; i < w->nslots; i++)
        if (w->slots[i].used)
            json_array_append_new(ids, json_string(wt_session_id(w->slots[i].session)));
    char *running = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    wt_store_key(&w->store, key, sizeof key, "worker:%s", w->cfg.name);
    const char *argv[] = {
        "HSET",    key,        "host",         host,  "pid",      pid,
        "slots",   slots,      "free",         freeb, "running",  running,
        "version", WT_VERSION, "last_seen_ms", seen,  "draining", w->draining ? "1" : "0"};
    wt_err_t err = {0};
    redisReply *r =
        wt_redis_commandv(w->redis, (int)(sizeof argv / sizeof argv[0]), argv, NULL, &err);
    if (r) {
        freeReplyObject(r);
        r = wt_redis_command(w->redis, &err, "EXPIRE %s 10", key);
    }
    if (r) { /* the index readers use instead of SCAN (<prefix>workers by last_seen_ms) */
        char idx[160];
        freeReplyObject(r);
        r = wt_redis_command(w->redis, &err, "ZADD %s %s %s",
                             wt_store_key(&w->store, idx, sizeof idx, "workers"), seen,
                             w->cfg.name);
    }
    if (r) {
        freeReplyObject(r);
        if (w->record_failures)
            wt_log_info("worker record %s written again after %d failed tries", key,
                        w->record_failures);
        w->record_failures = 0;
        w->next_record_ms = 0;
        w->redis_down_ms = 0;
    } else {
        /* Logged once per outage; tries spread out to at most every 8 s so a
         * hanging Redis cannot starve the heartbeats of this thread. */
        if (w->record_failures++ == 0) {
            wt_log_warn("cannot update %s (retrying): %s", key, err.msg);
            w->redis_down_ms = wt_clock_mono_ms();
        }
        int shift = w->record_failures < 4 ? w->record_failures : 3;
        w->next_record_ms = wt_clock_mono_ms() + (1000 << shift);
    }
    free(running);
}

/* A worker cut off from Redis for a liveness window (its record cannot be
 * written) holds sessions that cannot record progress: paused, they would
 * keep their slots and the broker's lease for as long as the outage lasts,
 * since heartbeats still flow. So it stops listing them (the broker requeues
 * what a worker that read its ASSIGN no longer lists, and the next holder's
 * lease fences out their late writes) and offers 0 slots until Redis
 * answers again. */
static void
watch_redis(worker_t *w, int64_t now)
{
    int cut = w->redis_down_ms != 0 &&
              now - w->redis_down_ms >= (int64_t)w->cfg.heartbeat_ms * w->cfg.liveness;
    if (cut == w->cut_off)
        return;
    w->cut_off = cut;
    if (cut) {
        int n = 0;
        hand_back_all_held(w, "Redis unreachable");
        for (int i = 0; i < w->nslots; i++)
            if (w->slots[i].used && !w->slots[i].disowned) {
                w->slots[i].disowned = 1;
                n++;
            }
        w->disowned += n;
        wt_log_warn("Redis unreachable for %lld ms: %d session(s) handed back to the broker, "
                    "no new ones until it answers",
                    (long long)(now - w->redis_down_ms), n);
    } else {
        wt_log_info("Redis answers again: taking sessions (%d handed-back one(s) still ending)",
                    w->disowned);
    }
    send_ready(w);
}

/* HSET <prefix>workflows id -> summary for every loaded workflow; retried
 * on the heartbeat timer until it has worked once. */
static void
publish_workflows(worker_t *w)
{
    char key[128];
    wt_store_key(&w->store, key, sizeof key, "workflows");
    for (int i = 0; i < wt_workflow_set_count(w->workflows); i++) {
        const wt_workflow_t *wf = wt_workflow_set_at(w->workflows, i);
        json_t *sum = wt_workflow_summary(wf);
        char *js = json_dumps(sum, JSON_COMPACT);
        json_decref(sum);
        wt_err_t err = {0};
        redisReply *r =
            wt_redis_command(w->redis, &err, "HSET %s %s %s", key, wt_workflow_id(wf), js);
        free(js);
        if (r == NULL) {
            wt_log_warn("cannot publish workflows to %s (retrying): %s", key, err.msg);
            return;
        }
        freeReplyObject(r);
    }
    w->workflows_published = 1;
}

/* --- loop --- */

/* Once per loop turn: what /healthz, /readyz and /metrics serve, and the
 * systemd notifications (READY=1 once registered, watchdog pings). */
static void
publish_health(worker_t *w, int64_t now)
{
    int64_t window = (int64_t)w->cfg.heartbeat_ms * w->cfg.liveness;
    int registered = w->registered_ms != 0 && now - w->registered_ms <= window;
    pthread_mutex_lock(&w->health.lock);
    w->health.loop_beat_ms = now;
    w->health.registered = registered;
    w->health.redis_up = !w->cut_off && w->record_failures == 0;
    w->health.draining = w->draining;
    w->health.running = w->running;
    pthread_mutex_unlock(&w->health.lock);
    /* Not under systemd (no NOTIFY_SOCKET) READY=1 never goes out: not
     * tried again on every loop turn. */
    if (registered && !w->sd.ready_sent && !w->draining && w->sd_notify_socket) {
        char status[300];
        snprintf(status, sizeof status, "registered with broker %s", w->broker_ep);
        wt_sd_ready(&w->sd, status);
    }
    wt_sd_tick(&w->sd, now);
}

static void
begin_drain(worker_t *w)
{
    w->draining = 1;
    w->drain_deadline_ms = wt_clock_mono_ms() + w->cfg.drain_timeout_ms;
    wt_sd_stopping(&w->sd, "draining");
    hand_back_all_held(w, "draining");
    wt_log_info("draining: %d running session(s) stop after their current turn (deadline %lld ms)",
                w->running, (long long)w->cfg.drain_timeout_ms);
    for (int i = 0; i < w->nslots; i++)
        if (w->slots[i].used)
            wt_session_drain(w->slots[i].session);
    send_ready(w); /* slots 0: the broker sends nothing more */
}

static void
worker_loop(worker_t *w)
{
    w->next_hb_ms = wt_clock_mono_ms();
    for (;;) {
        if (wt_signal_stopping() && !w->draining)
            begin_drain(w);
        if (w->draining && w->running == 0)
            break;
        if (w->draining && wt_clock_mono_ms() > w->drain_deadline_ms) {
            for (int i = 0; i < w->nslots; i++)
                if (w->slots[i].used)
                    wt_session_abandon(w->slots[i].session);
            w->drain_deadline_ms = INT64_MAX;
        }
        int64_t now = wt_clock_mono_ms();
        int64_t due = w->next_hb_ms < w->hb_sent_ms + w->cfg.heartbeat_ms
                          ? w->next_hb_ms
                          : w->hb_sent_ms + w->cfg.heartbeat_ms;
        long timeout = (long)(due - now);
        if (timeout < 0)
            timeout = 0;
        if (w->draining && timeout > 100)
            timeout = 100;
        /* poll() on the DEALER's ZMQ_FD rather than zmq_poll, which asks
         * ZMQ_EVENTS (a getpid and a poll each) before and after every wait
         * and polls once more without waiting (issue 18). ZMQ_FD is edge
         * triggered: it turns readable for a message that arrives after a
         * receive found the socket empty. Any other use of the socket since
         * (a send may take in the signal of a message) makes the loop look
         * with a receive first: on_broker reads until the socket is empty. */
        if (w->zdirty)
            on_broker(w);
        int zfd = -1;
        size_t zlen = sizeof zfd;
        if (zmq_getsockopt(w->broker, ZMQ_FD, &zfd, &zlen) != 0)
            break;
        struct pollfd items[] = {{zfd, POLLIN, 0}, {w->done.fd, POLLIN, 0}};
        if (w->zdirty)
            timeout = 0; /* a message came while on_broker sent: go round again */
        if (poll(items, 2, (int)timeout) < 0 && errno != EINTR)
            break;
        /* Back from far longer than we asked to wait: this process was
         * stopped or starved, not the broker silent (its messages may not
         * even be read in yet). Give it a fresh window rather than drop the
         * connection and what is queued on it. */
        if (wt_clock_mono_ms() - now > timeout + (int64_t)w->cfg.heartbeat_ms)
            w->broker_seen_ms = wt_clock_mono_ms();
        check_auth(w);
        if (items[1].revents & POLLIN)
            on_done(w);
        if ((items[0].revents & POLLIN) || w->zdirty)
            on_broker(w);
        now = wt_clock_mono_ms();
        publish_health(w, now);
        if (now < w->next_hb_ms) {
            if (now - w->broker_seen_ms <= (int64_t)w->cfg.heartbeat_ms * w->cfg.liveness)
                heartbeat_if_due(w);
            continue;
        }
        w->next_hb_ms = now + w->cfg.heartbeat_ms;
        int nbrokers = wt_endpoints_nth(w->cfg.broker, 0, NULL, 0);
        int64_t window = (int64_t)w->cfg.heartbeat_ms * w->cfg.liveness;
        if (nbrokers > 1 && w->not_active_ms && now - w->not_active_ms >= window) {
            w->broker_idx++;
            wt_log_info("broker %s stayed a standby for %lld ms: trying the next endpoint",
                        w->broker_ep, (long long)(now - w->not_active_ms));
            connect_broker(w);
        } else if (nbrokers > 1 && now - w->broker_seen_ms > window &&
                   (w->broker_idx + 1) % nbrokers != 0) {
            /* silent: the next endpoint of the list at once; the backoff
             * below applies once the whole list was tried */
            w->broker_idx++;
            wt_log_warn("broker %s silent for %lld ms: trying the next endpoint", w->broker_ep,
                        (long long)(now - w->broker_seen_ms));
            connect_broker(w);
        } else if (now - w->broker_seen_ms > window) {
            w->broker_idx++;
            w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : 1000;
            if (w->backoff_ms > 32000)
                w->backoff_ms = 32000;
            wt_log_warn("broker silent for %lld ms: reconnecting (next try in %d ms)",
                        (long long)(now - w->broker_seen_ms), w->backoff_ms);
            connect_broker(w);
            w->broker_seen_ms = now + w->backoff_ms; /* next check after the backoff */
        } else {
            heartbeat_if_due(w);
        }
        if (now >= w->next_record_ms)
            publish_record(w);
        watch_redis(w, wt_clock_mono_ms());
        if (now >= w->next_prune_ms)
            prune_workspaces(w, now);
        if (!w->workflows_published && w->record_failures == 0)
            publish_workflows(w);
    }
}

static void
on_workflow_error(void *ud, const wt_err_t *err)
{
    (void)ud;
    wt_log_warn("workflow skipped: %s", err->msg);
}

static int
load_workflows(worker_t *w)
{
    w->workflows = wt_workflow_set_new();
    if (w->cfg.nworkflow_dirs == 0) {
        const char *dflt[] = {"workflows", "/usr/local/share/worktrain/workflows"};
        for (int i = 0; i < 2; i++)
            if (access(dflt[i], R_OK) == 0)
                snprintf(w->cfg.workflow_dirs[w->cfg.nworkflow_dirs++],
                         sizeof w->cfg.workflow_dirs[0], "%s", dflt[i]);
    }
    for (int i = 0; i < w->cfg.nworkflow_dirs; i++)
        wt_workflow_set_load_dir(w->workflows, w->cfg.workflow_dirs[i], on_workflow_error, NULL);
    return wt_workflow_set_count(w->workflows);
}

static char *
read_soul(const char *path)
{
    if (path[0] == '\0')
        return wt_xstrdup("");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = wt_xcalloc(1, 64 * 1024 + 1);
    size_t n = fread(buf, 1, 64 * 1024, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void
worker_release(worker_t *w)
{
    /* Normally no session is left; after a poll failure, stop them. Then
     * every slot thread ends (waiting for its session) and is joined. No
     * thread takes a held session from here on. */
    pthread_mutex_lock(&w->done.mu);
    while (ready_pop(&w->done) != NULL)
        ;
    pthread_mutex_unlock(&w->done.mu);
    for (int i = 0; w->slots && i < w->nslots; i++)
        if (w->slots[i].used)
            wt_session_abandon(w->slots[i].session);
    for (int i = 0; w->slots && i < w->nslots; i++) {
        wt_slot_destroy(&w->slots[i].thread);
        if (w->slots[i].used)
            wt_session_destroy(&w->slots[i].session);
    }
    for (int i = 0; w->slots && i < w->nslots; i++) {
        wt_redis_destroy(&w->slots[i].redis);
        if (w->slots[i].cancel_fd >= 0)
            close(w->slots[i].cancel_fd);
    }
    free(w->slots);
    for (int i = 0; w->wf_tools && i < wt_workflow_set_count(w->workflows); i++) {
        json_decref(w->wf_tools[i]);
        free(w->wf_prompts[i]);
    }
    free(w->wf_tools);
    free(w->wf_prompts);
    wt_workflow_set_destroy(&w->workflows);
    wt_llm_destroy(&w->llm);
    wt_deliver_destroy(&w->deliver);
    wt_notify_destroy(&w->notify); /* flushes what is queued, bounded */
    wt_tools_env_free(w->tool_env);
    wt_sandbox_destroy(&w->sandbox);
    free(w->soul);
    wt_redis_destroy(&w->redis);
    wt_worker_http_stop(&w->http);
    wt_worker_health_release(&w->health);
    unwatch_auth(w);
    if (w->broker) {
        wt_wire_forget(w->broker); /* a BATCH's ASSIGNs not yet read go with it */
        zmq_close(w->broker);
    }
    if (w->done.fd >= 0)
        close(w->done.fd);
    pthread_mutex_destroy(&w->done.mu);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
}

/* Loads workflows, makes the provider, Redis, sockets; -1 after logging. */
static int
worker_setup(worker_t *w)
{
    wt_err_t err = {0};
    if (load_workflows(w) == 0) {
        wt_log_error("no workflows loaded (use --workflows DIR)");
        return -1;
    }
    if ((w->llm = wt_llm_new(&w->cfg.llm, &err)) == NULL ||
        (w->redis = wt_redis_new(w->cfg.redis, 1000, &err)) == NULL ||
        (w->notify = wt_notify_new(&w->cfg.notify, &err)) == NULL ||
        (w->deliver = wt_deliver_new(w->cfg.redis, NULL, w->cfg.name, w->cfg.workspace_root,
                                     &w->counters.deliver_fails, &err)) == NULL) {
        wt_log_error("%s", err.msg);
        return -1;
    }
    if ((w->soul = read_soul(w->cfg.soul_path)) == NULL) {
        wt_log_error("cannot read soul file '%s'", w->cfg.soul_path);
        return -1;
    }
    wt_store_init(&w->store, w->redis, NULL);
    if (w->cfg.http[0] &&
        (w->http = wt_worker_http_start(w->cfg.http, &w->health, &w->counters, &err)) == NULL) {
        wt_log_error("%s", err.msg);
        return -1;
    }
    w->tool_env = wt_tools_scrub_env(environ);
    /* What every session shares, built once (issue 18): the resolved
     * workspace root (unresolved now, each session tries and reports why) */
    wt_err_t rerr = {0};
    if (wt_workspace_root_real(w->cfg.workspace_root, w->workspace_real, sizeof w->workspace_real,
                               &rerr) != 0)
        w->workspace_real[0] = '\0';
    int nwf = wt_workflow_set_count(w->workflows);
    w->wf_tools = wt_xcalloc((size_t)nwf, sizeof *w->wf_tools);
    w->wf_prompts = wt_xcalloc((size_t)nwf, sizeof *w->wf_prompts);
    for (int i = 0; i < nwf; i++) {
        const wt_workflow_t *wf = wt_workflow_set_at(w->workflows, i);
        w->wf_tools[i] = wt_tools_definitions();
        wt_tools_fleet_add_definitions(w->wf_tools[i], wf);
        w->wf_prompts[i] = wt_prompt_base(wf, w->soul);
    }
    w->nslots = w->cfg.slots + w->cfg.prefetch;
    w->slots = wt_xcalloc((size_t)w->nslots, sizeof *w->slots);
    for (int i = 0; i < w->nslots; i++) {
        w->slots[i].done = &w->done;
        w->slots[i].cancel_fd = -1;
    }
    w->done.slots = w->cfg.slots;
    w->done.taken_count = &w->counters.prefetch_taken;
    w->senv = (wt_session_env_t){
        .worker_name = w->cfg.name,
        .redis_url = w->cfg.redis,
        .prefix = NULL,
        .workflows = w->workflows,
        .llm = w->llm,
        .workspace_root = w->cfg.workspace_root,
        .soul = w->soul,
        .tool_env = w->tool_env,
        .sandbox = w->sandbox,
        .default_max_turns = w->cfg.max_turns,
        .min_notes = w->cfg.min_notes,
        .memory_every = w->cfg.memory_every,
        .min_replicas = w->cfg.min_replicas,
        .default_timeout_ms = w->cfg.session_timeout_ms,
        .stuck_abort = w->cfg.stuck_abort,
        .bash_timeout_ms = 300000,
        .clients_ep = w->cfg.clients,
        .spawn_curve = &w->cfg.spawn_curve,
        .curve_without_client_key = w->cfg.curve.on && !w->cfg.spawn_curve.on,
        .write_retry_ms = 0,
        .notify = w->notify,
        .counters = &w->counters,
        .deliver = w->deliver,
        .wf_tools = w->wf_tools,
        .wf_prompts = w->wf_prompts,
        .workspace_real = w->workspace_real,
    };
    w->zctx = zmq_ctx_new();
    zmq_ctx_set(w->zctx, ZMQ_MAX_SOCKETS, w->nslots * 2 + 64);
    w->done.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->done.fd < 0) {
        wt_log_error("cannot make the session end eventfd: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Makes the tool sandbox and proves it works here (a probe run in a
 * scratch directory), so a host without user namespaces fails at start, not
 * at the first Bash call; --sandbox off only warns. NULL after logging. */
static wt_sandbox_t *
sandbox_start(const wt_worker_cfg_t *cfg)
{
    const wt_sandbox_cfg_t *sc = &cfg->sandbox;
    /* Files that may lie inside a visible system directory (/etc): the
     * Redis password file and the worker's CURVE keys, from flags or the
     * environment (the flag may name another file than the variable). */
    const char *hidden[] = {getenv(WT_REDIS_PASSWORD_FILE_ENV), getenv("WORKTRAIN_CURVE_KEY"),
                            getenv("WORKTRAIN_CLIENT_KEY"),
                            cfg->curve.on ? cfg->curve.key_path : NULL,
                            cfg->spawn_curve.on ? cfg->spawn_curve.key_path : NULL};
    const char *hide[6] = {0};
    for (size_t i = 0, k = 0; i < 5; i++)
        if (hidden[i] && hidden[i][0])
            hide[k++] = hidden[i];
    wt_err_t err = {0};
    wt_sandbox_t *sb = wt_sandbox_new(sc, hide, &err);
    if (sb == NULL) {
        wt_log_error("%s", err.msg);
        return NULL;
    }
    if (!sc->enabled) {
        wt_log_warn("tool sandbox OFF (--sandbox off): agent tools run as this worker's user and "
                    "see its files, keys and network; use only on a trusted single-user machine");
        return sb;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/wt-sandbox-probe-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int rc = mkdtemp(dir) ? wt_sandbox_probe(sb, dir, &err)
                          : wt_err_set(&err, WT_EIO, "sandbox probe: cannot create '%s': %s", dir,
                                       strerror(errno));
    rmdir(dir);
    if (rc != 0) {
        wt_log_error("%s", err.msg);
        wt_sandbox_destroy(&sb);
        return NULL;
    }
    wt_log_info("tool sandbox on (bwrap): network %s, limits cpu %llds, memory %lldMiB, "
                "processes %lld, file size %lldMiB (0 = unlimited)",
                sc->network ? "on" : "off (per workflow \"network\": true)",
                (long long)sc->max_cpu_s, (long long)sc->max_mem_mb, (long long)sc->max_procs,
                (long long)sc->max_file_mb);
    return sb;
}

/* A worker holds a few descriptors per slot besides its own (the slot's
 * Redis connection and cancel eventfd, an LLM call's connection and
 * completion eventfd, a tool's pipes): a 500-slot worker needs thousands,
 * past the 1,024 soft limit systemd and most shells start a process with.
 * The soft limit is raised to what the slots may need, at most to the hard
 * limit (all an unprivileged process may do); short of it, a warning says
 * what to raise. */
static void
raise_fd_limit(int slots)
{
    rlim_t want = (rlim_t)slots * 8 + 256;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = was;
    if (rl.rlim_cur < want)
        wt_log_warn("open files limit %llu is below the ~%llu that %d slots may need (hard limit "
                    "%llu): raise it (LimitNOFILE= in the unit, ulimit -n)",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)want, slots,
                    (unsigned long long)rl.rlim_max);
}

int
wt_worker_main(int argc, char **argv)
{
    worker_t *w = wt_xcalloc(1, sizeof *w);
    pthread_mutex_init(&w->done.mu, NULL);
    w->done.fd = -1;
    int rc = wt_worker_cfg_parse(&w->cfg, argc, argv);
    if (rc != 0) {
        free(w);
        return rc == 1 ? 0 : rc;
    }
    wt_log_init("wt-worker");
    wt_log_set_worker(w->cfg.name);
    wt_signal_install();
    raise_fd_limit(w->cfg.slots);
    wt_sd_init(&w->sd);
    w->sd_notify_socket = getenv("NOTIFY_SOCKET") != NULL;
    int64_t stale_ms = (int64_t)w->cfg.heartbeat_ms * 10;
    wt_worker_health_init(&w->health, w->cfg.name, w->cfg.slots,
                          stale_ms > 30000 ? stale_ms : 30000);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if ((w->sandbox = sandbox_start(&w->cfg)) == NULL) {
        curl_global_cleanup();
        wt_worker_health_release(&w->health);
        free(w);
        return 2;
    }
    rc = 1;
    if (worker_setup(w) == 0) {
        publish_workflows(w);
        connect_broker(w);
        wt_log_info(
            "worker %s up: %d slots, %d workflows, provider %s, broker %s, notify%s%s", w->cfg.name,
            w->cfg.slots, wt_workflow_set_count(w->workflows), w->cfg.llm.provider, w->cfg.broker,
            w->cfg.notify.webhook_url[0] ? " webhook" : "",
            w->cfg.notify.slack_url[0] ? " slack" : (w->cfg.notify.webhook_url[0] ? "" : " off"));
        worker_loop(w);
        /* Let DISCONNECT (and the last FINISHED) leave before the socket closes. */
        int linger = 500;
        zmq_setsockopt(w->broker, ZMQ_LINGER, &linger, sizeof linger);
        wt_msg_t *bye = wt_msg_new(WT_CHAN_WORKER, WT_CMD_DISCONNECT);
        send_msg(w, bye);
        wt_msg_destroy(&bye);
        wt_log_info("worker %s stopped", w->cfg.name);
        rc = 0;
    }
    worker_release(w);
    curl_global_cleanup();
    free(w);
    return rc;
}
