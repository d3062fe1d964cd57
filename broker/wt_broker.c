/* wt_broker - the broker loop.
 *
 * One thread, one poll over two ROUTER sockets (wait_sockets). Work is done
 * in batches: every turn drains up to 512 client messages, runs their Redis
 * intake scripts as one pipeline (with the assign scripts of sessions
 * already queued in the same round trip), answers SPAWNED only for what
 * Redis stored, and then dispatches as many queued sessions as workers have
 * credit, again with one pipeline of assign scripts (both pipelines:
 * wt_broker_intake.c). That keeps Redis round trips per session well under
 * one, which is where dispatch speed comes from. Worker liveness is checked on the heartbeat timer;
 * a dead worker's sessions go back to the queue (and to <prefix>queue in Redis) so another worker
 * resumes them.
 *
 * Here: the loop, the client channel, the timers and the lifecycle. The
 * worker channel is wt_broker_workers.c, the command line and start-up
 * configuration wt_broker_cli.c. */
#include "wt_broker.h"

#include "wt_alloc.h"
#include "wt_broker_int.h"
#include "wt_clock.h"
#include "wt_log.h"
#include "wt_pollers.h"
#include "wt_retain.h"
#include "wt_sd.h"
#include "wt_signal.h"
#include "wt_trigger_rt.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define LIVENESS_CHECK_MS 50 /* granularity of dead-worker detection */
#define REDIS_TIMEOUT     2000
#define SWEEP_MS          1000    /* retention sweep period */
#define SWEEP_BATCH       500     /* sessions expired per script */
#define SWEEP_ROUNDS      8       /* scripts per sweep tick at most */
#define ADOPT_BATCH       2000    /* sessions from before retention adopted per tick */
#define INSECURE_WARN_MS  3600000 /* --insecure repeats its warning this often */

/* --- small helpers --- */

void
wt_broker_send(wt_broker_t *self, void *sock, const void *id, size_t idlen, wt_msg_t *m)
{
    wt_err_t err = {0};
    self->quiet[sock == self->workers] = 0; /* a send may take commands off the socket */
    if (wt_wire_send(sock, id, idlen, m, 1, &err) != 0)
        wt_log_warn("send %s failed: %s", wt_cmd_name((int)m->cmd), err.msg);
}

void
wt_broker_send_error(wt_broker_t *self, void *sock, wt_chan_t chan, const void *id, size_t idlen,
                     uint64_t req, int code, const char *text)
{
    wt_msg_t *m = wt_msg_new(chan, WT_CMD_ERROR);
    m->req = req;
    m->code = code;
    wt_msg_set(&m->message, text);
    wt_broker_send(self, sock, id, idlen, m);
    wt_msg_destroy(&m);
}

int
wt_broker_recv(wt_broker_t *self, wt_chan_t chan, wt_broker_rx_t *rx)
{
    int client = chan == WT_CHAN_CLIENT;
    void *sock = client ? self->clients : self->workers;
    int code = 0;
    wt_err_t err = {0};
    rx->idlen = 0;
    rx->m = NULL;
    int rc = wt_wire_recv_peer(sock, 1, chan, rx->id, &rx->idlen, rx->uid, sizeof rx->uid, &rx->m,
                               &code, 1, &err);
    self->quiet[client ? 0 : 1] = rc == 0;
    if (rc >= 0)
        return rc;
    pthread_mutex_lock(&self->stats.lock);
    if (client)
        self->stats.bad_client++;
    else
        self->stats.bad_worker++;
    pthread_mutex_unlock(&self->stats.lock);
    wt_log_warn("%s socket: bad message: %s", client ? "client" : "worker", err.msg);
    if (rx->idlen)
        wt_broker_send_error(self, sock, chan, rx->id, rx->idlen, 0, code, err.msg);
    return -1;
}

void
wt_broker_redis_failed(wt_broker_t *self, const wt_err_t *err)
{
    /* The callers stop reading a pipeline at its first failed reply; when
     * that was an error reply (FENCED, a script error) the connection is
     * still up with the rest of the replies unread, and the next command
     * would read one of them as its own. Dropping the connection discards
     * them; the next command reconnects. */
    wt_redis_disconnect(self->redis);
    if (wt_store_fenced(err)) {
        /* not a Redis failure: another broker leads now (DESIGN 13) */
        wt_log_warn("redis refused a write fenced with leader epoch %lld: %s",
                    (long long)self->store.leader_epoch, err->msg);
        self->lease_lost = 1;
        pthread_mutex_lock(&self->stats.lock);
        self->stats.fenced++;
        pthread_mutex_unlock(&self->stats.lock);
        return;
    }
    if (self->redis_backoff_ms == 0)
        wt_log_warn("redis: %s (retrying with backoff)", err->msg);
    self->redis_backoff_ms = self->redis_backoff_ms ? self->redis_backoff_ms * 2 : 100;
    if (self->redis_backoff_ms > 5000)
        self->redis_backoff_ms = 5000;
    self->redis_retry_ms = wt_clock_mono_ms() + self->redis_backoff_ms;
    self->scripts_loaded = 0;
    pthread_mutex_lock(&self->stats.lock);
    self->stats.redis_errors++;
    self->stats.redis_up = 0;
    self->stats.sentinel_disagreements = wt_redis_sentinel_disagreements(self->redis);
    pthread_mutex_unlock(&self->stats.lock);
}

int
wt_broker_redis_ready(wt_broker_t *self, wt_err_t *err)
{
    if (self->scripts_loaded)
        return 0;
    if (wt_redis_connect(self->redis, err) != 0 || wt_store_load_scripts(&self->store, err) != 0)
        return -1;
    if (self->redis_backoff_ms)
        wt_log_info("redis: reachable again");
    self->scripts_loaded = 1;
    self->redis_backoff_ms = 0;
    pthread_mutex_lock(&self->stats.lock);
    self->stats.redis_up = 1;
    self->stats.redis_master_changes = wt_redis_failovers(self->redis);
    self->stats.sentinel_disagreements = wt_redis_sentinel_disagreements(self->redis);
    pthread_mutex_unlock(&self->stats.lock);
    return 0;
}

/* Copies the ZAP refusal counters to the stats /metrics reads. */
static void
auth_stats(wt_broker_t *self)
{
    if (self->zap == NULL)
        return;
    pthread_mutex_lock(&self->stats.lock);
    self->stats.auth_fail_worker = wt_zap_failures(self->zap, WT_ZAP_DOMAIN_WORKERS);
    self->stats.auth_fail_client = wt_zap_failures(self->zap, WT_ZAP_DOMAIN_CLIENTS);
    pthread_mutex_unlock(&self->stats.lock);
}

/* A connection authenticated before a SIGHUP keeps its CURVE session, so
 * each message's key (ZAP User-Id) is checked against the current set. An
 * empty one is our own inproc trigger client (inproc has no handshake). */
int
wt_broker_key_still_allowed(wt_broker_t *self, const char *domain, const char *uid)
{
    if (self->zap == NULL || uid[0] == '\0' || wt_zap_allowed(self->zap, domain, uid))
        return 1;
    wt_zap_refused(self->zap, domain, "(connected)", uid, "key revoked by a reload");
    auth_stats(self);
    return 0;
}

/* Back to the run queue (memory and Redis); takes the job. how says whether
 * this run counts against --max-attempts (wt_store_requeue_t). */
void
wt_broker_requeue(wt_broker_t *self, wt_job_t *job, const char *why, wt_store_requeue_t how)
{
    wt_err_t err = {0};
    int rc = wt_store_requeue(&self->store, job->sid, job->priority, job->created_ms, how, &err);
    if (rc < 0)
        wt_broker_redis_failed(self, &err);
    wt_log_info("session %s back in the queue%s: %s", job->sid,
                how == WT_REQUEUE_LOST && rc == 2   ? " (not charged: no tool was running)"
                : how == WT_REQUEUE_LOST && rc == 1 ? " (charged: it was running a tool)"
                                                    : "",
                why);
    job->next = NULL;
    job->queued_us = wt_clock_mono_us();
    job->requeued = 1;
    pthread_mutex_lock(&self->stats.lock);
    self->stats.requeued++;
    pthread_mutex_unlock(&self->stats.lock);
    wt_route_push(self->queue, &job);
}

/* --- client commands --- */

/* A standby broker does nothing for clients and workers: it says so, so
 * that they move to the next endpoint of their list. */
void
wt_broker_not_active(wt_broker_t *self, void *sock, wt_chan_t chan, const void *id, size_t idlen,
                     uint64_t req)
{
    char why[400];
    snprintf(why, sizeof why,
             "this broker is a standby; the active one is %s: try the next endpoint",
             self->leader_holder[0] ? self->leader_holder : "not known yet");
    wt_broker_send_error(self, sock, chan, id, idlen, req, WT_PROTO_E_NOT_ACTIVE, why);
    pthread_mutex_lock(&self->stats.lock);
    self->stats.not_active++;
    pthread_mutex_unlock(&self->stats.lock);
}

static void
cancel_session(wt_broker_t *self, const void *id, size_t idlen, wt_msg_t *m)
{
    wt_job_t *j = wt_route_remove(self->queue, m->session);
    int ok = 0;
    if (j != NULL) {
        char now[24];
        snprintf(now, sizeof now, "%lld", (long long)wt_clock_now_ms());
        const char *fields[] = {"status",   "cancelled", "outcome", "cancelled",
                                "ended_ms", now,         "error",   "cancelled before it started"};
        wt_err_t err = {0};
        const char *data = "{\"outcome\":\"cancelled\",\"output\":{\"context\":{},\"notes\":\"\","
                           "\"artifacts\":[]},\"detail\":\"cancelled before it started\","
                           "\"duration_ms\":0}";
        if (wt_store_append(&self->store, j->sid, -1, 0, "session_completed", data, 1, 8, fields,
                            &err) != 0 &&
            err.code != WT_ESTALE) {
            wt_broker_redis_failed(self, &err);
            wt_route_push(self->queue, &j);
            wt_broker_send_error(self, self->clients, WT_CHAN_CLIENT, id, idlen, m->req,
                                 WT_PROTO_E_UNAVAILABLE, err.msg);
            return;
        }
        wt_job_destroy(&j);
        ok = 1;
        pthread_mutex_lock(&self->stats.lock);
        self->stats.finished[WT_BROKER_OUT_CANCELLED]++;
        pthread_mutex_unlock(&self->stats.lock);
    }
    for (size_t i = 0; !ok && i < self->nw; i++)
        for (wt_job_t *k = self->w[i].jobs; k && !ok; k = k->next)
            if (strcmp(k->sid, m->session) == 0) {
                wt_msg_t *stop = wt_msg_new(WT_CHAN_WORKER, WT_CMD_STOP);
                wt_msg_set(&stop->session, k->sid);
                wt_broker_send(self, self->workers, self->w[i].id, self->w[i].idlen, stop);
                wt_msg_destroy(&stop);
                ok = 1;
            }
    if (!ok) {
        wt_broker_send_error(self, self->clients, WT_CHAN_CLIENT, id, idlen, m->req,
                             WT_PROTO_E_NOT_FOUND, "no queued or running session with that id");
        return;
    }
    wt_msg_t *r = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_CANCELLED);
    r->req = m->req;
    wt_msg_set(&r->session, m->session);
    wt_broker_send(self, self->clients, id, idlen, r);
    wt_msg_destroy(&r);
}

static void
send_stats(wt_broker_t *self, const void *id, size_t idlen, uint64_t req)
{
    wt_msg_t *r = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_STATS_REPLY);
    r->req = req;
    r->queued = (int64_t)wt_route_size(self->queue);
    r->active = self->active;
    r->workers = (int64_t)self->nw;
    for (size_t i = 0; i < self->nw; i++) {
        r->slots_total += self->w[i].slots;
        r->slots_free += wt_broker_slots_free(&self->w[i]);
    }
    wt_broker_send(self, self->clients, id, idlen, r);
    wt_msg_destroy(&r);
}

static void
on_clients(wt_broker_t *self)
{
    if (self->spawns == NULL)
        self->spawns = wt_xcalloc(WT_BROKER_BATCH_MAX, sizeof(wt_broker_spawn_t));
    wt_broker_spawn_t *batch = self->spawns; /* up to WT_BROKER_BATCH_MAX: one intake round trip */
    int n = 0;
    for (int turn = 0; turn < WT_BROKER_BATCH_MAX; turn++) {
        wt_broker_rx_t rx;
        int rc = wt_broker_recv(self, WT_CHAN_CLIENT, &rx);
        if (rc == 0)
            break;
        if (rc < 0)
            continue;
        const char *id = rx.id;
        size_t idlen = rx.idlen;
        wt_msg_t *m = rx.m;
        if (!wt_broker_key_still_allowed(self, WT_ZAP_DOMAIN_CLIENTS, rx.uid)) {
            wt_broker_send_error(self, self->clients, WT_CHAN_CLIENT, id, idlen, m->req,
                                 WT_PROTO_E_REFUSED, "this client's key is no longer allowed");
            wt_msg_destroy(&m);
            continue;
        }
        if (self->store.leader_epoch == 0) {
            wt_broker_not_active(self, self->clients, WT_CHAN_CLIENT, id, idlen, m->req);
            wt_msg_destroy(&m);
            continue;
        }
        if (m->cmd == WT_CMD_SPAWN) {
            wt_broker_spawn_t *s = &batch[n];
            memcpy(s->id, id, idlen);
            s->idlen = idlen;
            s->msg = m;
            s->job = NULL;
            char why[2048];
            int v = wt_broker_validate_spawn(self, s, why, sizeof why);
            if (v == -1 || v == -3) {
                pthread_mutex_lock(&self->stats.lock);
                if (v == -3)
                    self->stats.refused_unknown++;
                else
                    self->stats.refused++;
                pthread_mutex_unlock(&self->stats.lock);
            }
            if (v != 0)
                wt_broker_send_error(self, self->clients, WT_CHAN_CLIENT, id, idlen, m->req,
                                     v == -2   ? WT_PROTO_E_UNAVAILABLE
                                     : v == -3 ? WT_PROTO_E_UNKNOWN_WORKFLOW
                                               : WT_PROTO_E_REFUSED,
                                     why);
            n++;
            continue;
        }
        if (m->cmd == WT_CMD_CANCEL)
            cancel_session(self, id, idlen, m);
        else if (m->cmd == WT_CMD_STATS)
            send_stats(self, id, idlen, m->req);
        else {
            pthread_mutex_lock(&self->stats.lock);
            self->stats.bad_client++;
            pthread_mutex_unlock(&self->stats.lock);
            wt_broker_send_error(self, self->clients, WT_CHAN_CLIENT, id, idlen, m->req,
                                 WT_PROTO_E_UNKNOWN_CMD, "command not accepted from a client");
        }
        wt_msg_destroy(&m);
    }
    if (n) {
        wt_broker_intake(self, batch, n);
        for (int i = 0; i < n; i++)
            wt_msg_destroy(&batch[i].msg);
    }
}

/* --- timers --- */

/* Every heartbeat interval: one HEARTBEAT to each live worker. */
static void
send_heartbeats(wt_broker_t *self)
{
    for (size_t i = 0; i < self->nw; i++) {
        wt_msg_t *hb = wt_msg_new(WT_CHAN_WORKER, WT_CMD_HEARTBEAT);
        wt_broker_send(self, self->workers, self->w[i].id, self->w[i].idlen, hb);
        wt_msg_destroy(&hb);
    }
}

/* Every LIVENESS_CHECK_MS: a worker silent for the whole liveness window is
 * dead now, not at the next heartbeat tick (that would add up to a second
 * to every failover); orphans past their deadline are requeued. */
static void
check_liveness(wt_broker_t *self, int64_t now)
{
    int64_t window = (int64_t)self->cfg.heartbeat_ms * self->cfg.liveness;
    for (size_t i = 0; i < self->nw;) {
        wt_bworker_t *w = &self->w[i];
        if (now - w->last_seen_ms >= window) {
            pthread_mutex_lock(&self->stats.lock);
            self->stats.heartbeat_misses++;
            pthread_mutex_unlock(&self->stats.lock);
            wt_broker_remove_worker(self, w, "missed its heartbeats");
            continue;
        }
        i++;
    }
    wt_orphan_t **pp = &self->orphans;
    while (*pp) {
        wt_orphan_t *o = *pp;
        if (now < o->deadline_ms) {
            pp = &o->next;
            continue;
        }
        *pp = o->next;
        wt_broker_requeue(self, o->job, "its worker did not come back after the broker restart",
                          WT_REQUEUE_LOST);
        free(o);
    }
}

static void
publish_stats(wt_broker_t *self)
{
    int64_t total = 0, free_slots = 0;
    for (size_t i = 0; i < self->nw; i++) {
        total += self->w[i].slots;
        free_slots += wt_broker_slots_free(&self->w[i]);
    }
    int64_t oldest = wt_route_size(self->queue) ? wt_route_oldest_us(self->queue) : 0;
    int64_t orphans = 0;
    for (const wt_orphan_t *o = self->orphans; o; o = o->next)
        orphans++;
    pthread_mutex_lock(&self->stats.lock);
    self->stats.running = self->active + orphans;
    wt_broker_wstat_t *ws = wt_broker_stats_workers(&self->stats, self->nw);
    for (size_t i = 0; i < self->nw; i++) {
        wt_strlcpy(ws[i].name, self->w[i].name, sizeof ws[i].name);
        ws[i].c = self->w[i].count;
    }
    self->stats.queued = (int64_t)wt_route_size(self->queue);
    self->stats.active = self->active;
    self->stats.workers = (int64_t)self->nw;
    self->stats.slots_total = total;
    self->stats.slots_free = free_slots;
    self->stats.oldest_age_s = oldest ? (double)(wt_clock_mono_us() - oldest) / 1e6 : 0;
    pthread_mutex_unlock(&self->stats.lock);
    wt_broker_report_unroutable(self);
}

/* A lost connection is a Redis failure like any other (dispatch backs
 * off); a script that Redis ran and refused is a retention problem only:
 * logged at most once a minute, it never holds up dispatch. */
static void
sweep_failed(wt_broker_t *self, const wt_err_t *err)
{
    if (!wt_redis_connected(self->redis)) {
        wt_broker_redis_failed(self, err);
        return;
    }
    int64_t now = wt_clock_mono_ms();
    if (now >= self->sweep_warn_ms) {
        wt_log_warn("retention sweep: %s (retrying every second)", err->msg);
        self->sweep_warn_ms = now + 60000;
    }
}

/* Every SWEEP_MS: expire the ended sessions that are due, in batches of
 * SWEEP_BATCH, at most SWEEP_ROUNDS batches per tick so a backlog (a broker
 * that was down for days) is worked off without stalling dispatch. Until
 * it is done, each tick also adopts ADOPT_BATCH sessions stored before
 * retention existed (see wt_retain_adopt). */
static void
sweep_expired(wt_broker_t *self)
{
    wt_err_t err = {0};
    if (self->store.leader_epoch == 0 || wt_clock_mono_ms() < self->redis_retry_ms ||
        wt_broker_redis_ready(self, &err) != 0)
        return;
    if (wt_retain_adopt(&self->retain, ADOPT_BATCH, self->cfg.retain_ms, &err) < 0) {
        sweep_failed(self, &err);
        return;
    }
    for (int round = 0; round < SWEEP_ROUNDS; round++) {
        int expired = 0;
        int taken = wt_retain_sweep(&self->retain, SWEEP_BATCH, &expired, &err);
        if (taken < 0) {
            sweep_failed(self, &err);
            return;
        }
        if (expired > 0) {
            pthread_mutex_lock(&self->stats.lock);
            self->stats.expired += expired;
            pthread_mutex_unlock(&self->stats.lock);
        }
        if (taken < SWEEP_BATCH)
            return;
    }
}

/* --- lifecycle --- */

/* SIGHUP: re-read the allow directories; a live worker whose key is gone is
 * dropped now (its sessions go back to the queue for other workers, and
 * the epoch fences whatever it still writes). */
static void
reload_keys(wt_broker_t *self)
{
    if (self->zap == NULL) {
        wt_log_info("SIGHUP: no --curve-key, nothing to reload");
        return;
    }
    wt_zap_reload(self->zap);
    for (size_t i = 0; i < self->nw;) {
        wt_bworker_t *w = &self->w[i];
        if (w->key[0] == '\0' || wt_zap_allowed(self->zap, WT_ZAP_DOMAIN_WORKERS, w->key)) {
            i++;
            continue;
        }
        wt_zap_refused(self->zap, WT_ZAP_DOMAIN_WORKERS, w->name, w->key,
                       "key revoked by a reload");
        wt_msg_t *d = wt_msg_new(WT_CHAN_WORKER, WT_CMD_DISCONNECT);
        wt_broker_send(self, self->workers, w->id, w->idlen, d);
        wt_msg_destroy(&d);
        wt_broker_remove_worker(self, w, "its key was revoked");
    }
    auth_stats(self);
}

static void *
bind_router(void *zctx, const char *ep, const char *domain, const wt_cert_t *cert, wt_err_t *err)
{
    void *s = zmq_socket(zctx, ZMQ_ROUTER);
    int zero = 0, one = 1, hwm = 100000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &zero, sizeof zero);
    /* A peer reconnecting under its identity (a worker after a partition)
     * takes over at once; by default the ROUTER refuses it until TCP gives
     * up on the old, half-dead connection, which kept a healed worker idle
     * for seconds (tests/multihost scenario 2). */
    zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (cert != NULL &&
        (zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0 ||
         zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
         zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, cert->secret_key, WT_CERT_Z85_LEN) != 0)) {
        wt_err_set(err, WT_EIO, "cannot make '%s' a CURVE server: %s", ep, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (zmq_bind(s, ep) != 0) {
        wt_err_set(err, WT_EIO, "cannot bind '%s': %s", ep, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

static void
broker_release(wt_broker_t *self)
{
    for (size_t i = 0; i < self->nw; i++)
        wt_broker_worker_release(&self->w[i]);
    free(self->w);
    while (self->orphans) {
        wt_orphan_t *o = self->orphans;
        self->orphans = o->next;
        wt_job_destroy(&o->job);
        free(o);
    }
    wt_route_destroy(&self->queue);
    free(self->unroutable);
    free(self->spawns);
    if (self->clients)
        zmq_close(self->clients);
    if (self->workers)
        zmq_close(self->workers);
    wt_redis_destroy(&self->redis);
    wt_zap_destroy(&self->zap);
}

/* Connects to Redis, retrying until it works or we stop. */
static int
startup_redis(wt_broker_t *self)
{
    int backoff = 100;
    for (;;) {
        wt_err_t err = {0};
        if (wt_broker_redis_ready(self, &err) == 0)
            return 0; /* recovery from Redis happens on taking the leader lease */
        wt_log_warn("redis at startup: %s (retrying in %d ms)", err.msg, backoff);
        self->scripts_loaded = 0;
        for (int waited = 0; waited < backoff; waited += 50) {
            if (wt_signal_stopping())
                return -1;
            wt_clock_sleep_ms(50);
        }
        backoff = backoff < 5000 ? backoff * 2 : 5000;
    }
}

/* How often --insecure repeats its warning: an hour; tests shorten it with
 * WORKTRAIN_TEST_INSECURE_WARN_MS (a positive number of ms). */
static int64_t
insecure_warn_ms(void)
{
    const char *v = getenv("WORKTRAIN_TEST_INSECURE_WARN_MS");
    char *end;
    long long ms = v && *v ? strtoll(v, &end, 10) : 0;
    return v && *v && *end == '\0' && ms > 0 ? ms : INSECURE_WARN_MS;
}

static void
insecure_warning(const wt_broker_t *self)
{
    wt_log_warn("--insecure: plain TCP without CURVE on %s and %s; anyone who can reach them "
                "can act as a worker or a client (README: Running on several machines)",
                self->cfg.clients, self->cfg.workers);
}

/* The leader lease when due (wt_broker_lease.c); a Redis error there is a
 * Redis failure like any other. */
static void
lease_tick(wt_broker_t *self)
{
    wt_err_t err = {0};
    int ok = wt_clock_mono_ms() >= self->redis_retry_ms && wt_broker_redis_ready(self, &err) == 0;
    if (!ok && err.msg[0])
        wt_broker_redis_failed(self, &err);
    if (wt_broker_lease_tick(self, ok, &err) != 0)
        wt_broker_redis_failed(self, &err);
}

/* zmq_poll's work with fewer system calls: it checks every socket's
 * ZMQ_EVENTS (a poll and a getpid each inside libzmq) once with a zero
 * timeout, then polls the sockets' descriptors, then checks every socket's
 * ZMQ_EVENTS again. Here: ZMQ_EVENTS once before blocking (a socket with a
 * message waiting is ready at once: the descriptor is edge-triggered), then
 * poll(2) on the descriptors, and a readable descriptor counts as ready:
 * the handler's first non-blocking receive takes the pending commands and
 * the message, or finds there is none (EAGAIN). A socket marked quiet
 * (quiet[i]: its last use was a receive that found nothing, and nothing was
 * sent on it since) skips ZMQ_EVENTS: that receive already took its
 * commands, so anything new signals the descriptor. 1 when some socket is
 * ready, 0 on timeout or signal, -1 on error (errno). */
static int
wait_sockets(void **socks, int n, int *quiet, int *ready, long timeout)
{
    struct pollfd pfd[3];
    int any = 0;
    for (int i = 0; i < n; i++) {
        int ev = 0;
        size_t sz = sizeof ev;
        ready[i] = wt_wire_pending(socks[i]) || /* the rest of a BATCH */
                   (!(quiet && quiet[i]) && zmq_getsockopt(socks[i], ZMQ_EVENTS, &ev, &sz) == 0 &&
                    (ev & ZMQ_POLLIN));
        any |= ready[i];
        int fd = -1;
        sz = sizeof fd;
        if (zmq_getsockopt(socks[i], ZMQ_FD, &fd, &sz) != 0)
            return -1;
        pfd[i] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    if (quiet) /* ZMQ_EVENTS took the commands of the sockets not ready */
        for (int i = 0; i < n && i < 2; i++)
            quiet[i] = !ready[i];
    if (any || timeout == 0) {
        /* A quiet socket is seen only through its descriptor: look at the
         * descriptors of the sockets not ready without waiting, or a socket
         * that is ready every turn (a burst of SPAWNs) hides the other (the
         * workers' FINISHED, so no ASSIGN) until its burst ends. */
        struct pollfd idle[3];
        int at[3], ni = 0;
        for (int i = 0; i < n; i++)
            if (!ready[i]) {
                idle[ni] = pfd[i];
                at[ni++] = i;
            }
        if (ni > 0 && poll(idle, (nfds_t)ni, 0) > 0)
            for (int k = 0; k < ni; k++)
                if (idle[k].revents & POLLIN)
                    ready[at[k]] = any = 1;
        return any;
    }
    int rc = poll(pfd, (nfds_t)n, (int)timeout);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        ready[i] = (pfd[i].revents & POLLIN) != 0;
        any |= ready[i];
    }
    return any;
}

static int
broker_run(wt_broker_t *self)
{
    int64_t next_publish = 0, next_check = 0, next_sweep = 0;
    const int64_t warn_every = insecure_warn_ms();
    int64_t next_insecure_warn = wt_clock_mono_ms() + warn_every; /* main warned at start */
    self->next_heartbeat_ms = wt_clock_mono_ms() + self->cfg.heartbeat_ms;
    lease_tick(self); /* a lone broker is active before it reads its first request */
    wt_sd_t sd;       /* Type=notify: ready once bound, Redis read and the lease tried */
    wt_sd_init(&sd);
    wt_sd_ready(&sd, self->stats.leader ? "active" : "standby");
    while (!wt_signal_stopping()) {
        int64_t now = wt_clock_mono_ms();
        wt_sd_tick(&sd, now);
        int64_t next = self->next_heartbeat_ms < next_check ? self->next_heartbeat_ms : next_check;
        long timeout = (long)(next - now);
        if (self->redis_retry_ms > now && wt_route_size(self->queue) &&
            self->redis_retry_ms - now < timeout)
            timeout = (long)(self->redis_retry_ms - now);
        if (self->next_lease_ms - now < timeout)
            timeout = (long)(self->next_lease_ms - now);
        if (timeout < 0)
            timeout = 0;
        void *socks[] = {self->clients, self->workers, self->zap ? wt_zap_socket(self->zap) : NULL};
        int ready[3] = {0}, quiet[3] = {self->quiet[0], self->quiet[1], 0};
        int rc = wait_sockets(socks, self->zap ? 3 : 2, quiet, ready, timeout);
        self->quiet[0] = quiet[0];
        self->quiet[1] = quiet[1];
        if (rc < 0) {
            wt_log_error("poll failed: %s", strerror(errno));
            return -1;
        }
        if (ready[2]) {
            wt_zap_handle(self->zap);
            auth_stats(self);
        }
        if (wt_signal_take_hup())
            reload_keys(self);
        if (ready[1])
            wt_broker_on_workers(self);
        if (ready[0])
            on_clients(self);
        now = wt_clock_mono_ms();
        if (now >= self->next_heartbeat_ms) {
            send_heartbeats(self);
            self->next_heartbeat_ms = now + self->cfg.heartbeat_ms;
        }
        if (now >= next_check) {
            check_liveness(self, now);
            next_check = now + LIVENESS_CHECK_MS;
        }
        wt_broker_dispatch(self);
        /* After the work of this turn: a broker back from a pause finds
         * out from its own fenced writes, or from here, that it lost. */
        lease_tick(self);
        if (now >= next_sweep) {
            sweep_expired(self);
            next_sweep = wt_clock_mono_ms() + SWEEP_MS;
        }
        if (self->cfg.insecure && now >= next_insecure_warn) {
            insecure_warning(self);
            next_insecure_warn = now + warn_every;
        }
        if (now >= next_publish) {
            publish_stats(self);
            next_publish = now + 200;
        }
    }
    wt_sd_stopping(&sd, "stopping");
    return 0;
}

#define CLIENTS_INPROC "inproc://wt-broker-clients" /* triggers SPAWN here */

int
wt_broker_main(int argc, char **argv)
{
    wt_broker_t *self = wt_xcalloc(1, sizeof *self);
    int rc = wt_broker_parse_args(&self->cfg, argc, argv);
    if (rc != 0) {
        free(self);
        return rc == 1 ? 0 : rc;
    }
    wt_log_init("wt-broker");
    wt_signal_install();
    wt_broker_stats_init(&self->stats);
    wt_err_t err = {0};
    self->zctx = zmq_ctx_new();
    self->assign_seq = (uint64_t)wt_clock_now_ms() * 1000;
    self->queue = wt_route_new();
    self->redis = wt_redis_new(self->cfg.redis, REDIS_TIMEOUT, &err);
    wt_store_init(&self->store, self->redis, NULL);
    wt_retain_init(&self->retain, &self->store, self->cfg.tombstones);
    wt_broker_http_t *http = NULL;
    wt_triggers_t *triggers = NULL;
    wt_trigger_rt_t *trt = NULL;
    wt_pollers_t *pollers = NULL;
    rc = 1;
    if (self->cfg.curve_key[0]) {
        /* the handler first: a CURVE socket with no ZAP handler accepts any key */
        self->zap = wt_zap_new(self->zctx, self->cfg.allow_workers, self->cfg.allow_clients, &err);
        if (self->zap == NULL) {
            fprintf(stderr, "worktrain broker: %s\n", err.msg);
            rc = 2;
            goto out;
        }
        wt_signal_install_hup();
    }
    if (self->cfg.triggers[0]) {
        int failed = 0;
        tzset();
        triggers = wt_broker_load_triggers(&self->cfg, &failed);
        if (failed)
            goto out;
    }
    const wt_cert_t *cert = self->zap ? &self->cfg.cert : NULL;
    if ((self->clients = bind_router(self->zctx, self->cfg.clients, WT_ZAP_DOMAIN_CLIENTS, cert,
                                     &err)) == NULL ||
        (self->workers = bind_router(self->zctx, self->cfg.workers, WT_ZAP_DOMAIN_WORKERS, cert,
                                     &err)) == NULL) {
        wt_log_error("%s", err.msg);
        goto out;
    }
    if (triggers != NULL) {
        if (zmq_bind(self->clients, CLIENTS_INPROC) != 0) {
            wt_log_error("cannot bind '%s': %s", CLIENTS_INPROC, zmq_strerror(errno));
            goto out;
        }
        wt_trigger_rt_cfg_t tc = {.triggers = triggers,
                                  .zctx = self->zctx,
                                  .webhook_max_bytes = self->cfg.webhook_max_bytes};
        snprintf(tc.broker_ep, sizeof tc.broker_ep, "%s", CLIENTS_INPROC);
        snprintf(tc.redis_url, sizeof tc.redis_url, "%s", self->cfg.redis);
        const char *clock_file = getenv("WORKTRAIN_TEST_CLOCK_FILE");
        if (clock_file && clock_file[0]) {
            snprintf(tc.clock_file, sizeof tc.clock_file, "%s", clock_file);
            wt_log_warn("triggers: TEST ONLY clock from %s", clock_file);
        }
        if ((trt = wt_trigger_rt_new(&tc, &err)) == NULL) {
            wt_log_error("%s", err.msg);
            goto out;
        }
        if ((pollers = wt_pollers_start(triggers, trt, self->cfg.redis, &err)) == NULL) {
            wt_log_error("%s", err.msg);
            goto out;
        }
        wt_trigger_rt_set_metrics_hook(trt, wt_pollers_metrics, pollers);
    }
    if (self->cfg.http[0] &&
        (http = wt_broker_http_start_with(self->cfg.http, &self->stats, trt, &err)) == NULL) {
        wt_log_error("%s", err.msg);
        goto out;
    }
    char shown[300];
    wt_redis_url_display(self->cfg.redis, shown, sizeof shown);
    wt_log_info("broker up: clients %s, workers %s, redis %s, http %s, %s", self->cfg.clients,
                self->cfg.workers, shown, self->cfg.http[0] ? self->cfg.http : "off",
                self->zap ? "CURVE on (ZAP: worker and client keys)" : "no CURVE");
    if (self->cfg.insecure)
        insecure_warning(self);
    wt_broker_known_workflows(self);
    wt_broker_lease_init(self);
    if (startup_redis(self) == 0 && broker_run(self) == 0)
        rc = 0;
    else if (wt_signal_stopping())
        rc = 0;
    wt_broker_lease_release(self);
    wt_log_info("broker stopping: %zu queued, %lld running; state is in Redis",
                wt_route_size(self->queue), (long long)self->active);
out:
    wt_broker_http_stop(&http);
    wt_pollers_stop(&pollers);
    wt_trigger_rt_destroy(&trt);
    wt_triggers_destroy(&triggers);
    broker_release(self);
    zmq_ctx_term(self->zctx);
    wt_broker_stats_release(&self->stats);
    free(self);
    return rc;
}
