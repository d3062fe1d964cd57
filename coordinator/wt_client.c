/* wt_client - a small synchronous client of the broker. A socket monitor
 * tells whether the connection was ever made, so a timeout can say "nothing
 * is listening there" rather than only "no answer". With a list of
 * endpoints (standby brokers, DESIGN 13) the DEALER connects to all of them:
 * it hands each try to the next live connection in turn, so an ERROR
 * NOT_ACTIVE from a standby, or no answer from a frozen broker, is followed
 * by a try at another one; a dead broker's connection is dropped by ZeroMQ
 * and gets no more tries. */
#include "wt_client.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_endpoints.h"
#include "wt_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>

struct wt_client {
    void *zctx;     /* owned context */
    void *sock;     /* DEALER */
    void *monitor;  /* PAIR receiving the DEALER's connect events, or NULL */
    char *endpoint; /* what we connect to, for messages */
    int connected;  /* a connection was made at least once */
    int retries;    /* connect attempts that failed (refused, no such file) */
    int refused;    /* the broker refused our CURVE key (handshake failed: auth) */
    int curve;      /* CURVE keys in use */
    uint64_t next;  /* next request id */
};

/* Drains the monitor: counts failed connects and notes a made one. */
static void
read_monitor(wt_client_t *self)
{
    if (self->monitor == NULL)
        return;
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        uint16_t id = 0;
        if (zmq_msg_size(&ev) >= 2)
            memcpy(&id, zmq_msg_data(&ev), sizeof id);
        int more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        if (more) { /* second frame: the endpoint */
            zmq_msg_init(&addr);
            zmq_msg_recv(&addr, self->monitor, 0);
            zmq_msg_close(&addr);
        }
        if (id == ZMQ_EVENT_CONNECTED)
            self->connected = 1;
        else if (id == ZMQ_EVENT_CONNECT_RETRIED)
            self->retries++;
        else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            self->refused = 1;
    }
}

static void
start_monitor(wt_client_t *self)
{
    char addr[64];
    snprintf(addr, sizeof addr, "inproc://wt-client-monitor-%p", (void *)self);
    if (zmq_socket_monitor(self->sock, addr,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        return;
    self->monitor = zmq_socket(self->zctx, ZMQ_PAIR);
    if (self->monitor && zmq_connect(self->monitor, addr) != 0) {
        zmq_close(self->monitor);
        self->monitor = NULL;
    }
}

wt_client_t *
wt_client_new(const char *endpoint, const wt_cert_peer_t *curve, wt_err_t *err)
{
    wt_client_t *self = wt_xcalloc(1, sizeof *self);
    self->zctx = zmq_ctx_new();
    self->sock = zmq_socket(self->zctx, ZMQ_DEALER);
    self->endpoint = wt_xstrdup(endpoint);
    int zero = 0;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (wt_cert_peer_apply(curve, self->sock, err) != 0) {
        wt_client_destroy(&self);
        return NULL;
    }
    self->curve = curve && curve->on;
    start_monitor(self);
    char ep[512];
    int n = wt_endpoints_nth(endpoint, 0, NULL, 0);
    for (int i = 0; i < (n ? n : 1); i++) {
        if (n)
            wt_endpoints_nth(endpoint, i, ep, sizeof ep);
        if (zmq_connect(self->sock, n ? ep : endpoint) != 0) {
            wt_err_set(err, WT_EINVAL, "cannot connect to broker '%s': %s", n ? ep : endpoint,
                       zmq_strerror(errno));
            wt_client_destroy(&self);
            return NULL;
        }
    }
    if (getrandom(&self->next, sizeof self->next, 0) != sizeof self->next)
        self->next = (uint64_t)wt_clock_now_ms();
    self->next = (self->next >> 16) + 1;
    return self;
}

void
wt_client_destroy(wt_client_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    if ((*self_p)->monitor) {
        zmq_socket_monitor((*self_p)->sock, NULL, 0);
        zmq_close((*self_p)->monitor);
    }
    wt_wire_forget((*self_p)->sock); /* the unread rest of a BATCH */
    zmq_close((*self_p)->sock);
    zmq_ctx_term((*self_p)->zctx);
    free((*self_p)->endpoint);
    free(*self_p);
    *self_p = NULL;
}

/* UNAVAILABLE (the broker could not store, or WAIT found too few replicas,
 * during a Redis failover) is retried until the timeout, except for a SPAWN
 * without an idempotency key: it may be stored already, and a second try
 * would make a second session. */
static int
retry_unavailable(const wt_msg_t *req, const wt_msg_t *rep)
{
    return rep->code == WT_PROTO_E_UNAVAILABLE &&
           (req->cmd != WT_CMD_SPAWN || (req->key != NULL && req->key[0] != '\0'));
}

/* Waits up to wait_ms for one reply (the monitor socket wakes it too, so
 * a refused handshake is seen); NULL when none came. The rest of a BATCH
 * already received waits in wt_wire's stash, where polling the socket
 * would not see it: it is taken first, without waiting. */
static wt_msg_t *
poll_reply(wt_client_t *self, int64_t wait_ms)
{
    zmq_pollitem_t it[] = {{self->sock, 0, ZMQ_POLLIN, 0}, {self->monitor, 0, ZMQ_POLLIN, 0}};
    if (!wt_wire_pending(self->sock) &&
        (zmq_poll(it, self->monitor ? 2 : 1, (long)wait_ms) <= 0 || !(it[0].revents & ZMQ_POLLIN)))
        return NULL;
    wt_msg_t *rep = NULL;
    int code = 0;
    wt_err_t e = {0};
    if (wt_wire_recv(self->sock, 0, WT_CHAN_CLIENT, NULL, NULL, &rep, &code, 1, &e) != 1)
        return NULL;
    return rep;
}

/* The broker's ZAP handler refused the handshake: says which setting. */
static int
refused_error(wt_client_t *self, wt_err_t *err)
{
    return wt_err_set(err, WT_EPROTO, "broker at %s refused this client's %s: %s", self->endpoint,
                      self->curve ? "CURVE key" : "connection (no CURVE keys)",
                      self->curve ? "is its .pub in the broker's --allow-clients, and "
                                    "--broker-pub the broker's own .pub?"
                                  : "the broker needs --curve-key and --broker-pub "
                                    "(or WORKTRAIN_CURVE_KEY / WORKTRAIN_BROKER_PUB)");
}

/* No answer in time to `what` (a command name, or "N of M requests"):
 * says whether a connection was ever made (nothing may be listening) and
 * which flag or variable sets the endpoint. The single and the batched
 * paths give the same hints. */
static int
silent_error(wt_client_t *self, const char *what, int timeout_ms, wt_err_t *err)
{
    read_monitor(self);
    if (!self->connected && self->monitor)
        return wt_err_set(err, WT_ETIMEDOUT,
                          "no broker at %s: nothing answered %s within %d ms and no "
                          "connection could be made (%d tries); nothing may be listening "
                          "there. Set the endpoint with --broker or WORKTRAIN_BROKER",
                          self->endpoint, what, timeout_ms, self->retries);
    return wt_err_set(err, WT_ETIMEDOUT,
                      "broker at %s did not answer %s within %d ms (connected, but no "
                      "reply: is it a WorkTrain broker's client endpoint? Set it with "
                      "--broker or WORKTRAIN_BROKER)",
                      self->endpoint, what, timeout_ms);
}

wt_msg_t *
wt_client_request(wt_client_t *self, wt_msg_t *req, int timeout_ms, wt_err_t *err)
{
    req->req = self->next++;
    int64_t deadline = wt_clock_mono_ms() + timeout_ms;
    int64_t resend_every = timeout_ms / 3 > 100 ? timeout_ms / 3 : 100;
    for (;;) {
        if (wt_wire_send(self->sock, NULL, 0, req, 0, err) != 0)
            return NULL;
        int64_t resend_at = wt_clock_mono_ms() + resend_every;
        for (;;) {
            int64_t now = wt_clock_mono_ms();
            read_monitor(self);
            if (self->refused) {
                refused_error(self, err);
                return NULL;
            }
            if (now >= deadline) {
                silent_error(self, wt_cmd_name((int)req->cmd), timeout_ms, err);
                return NULL;
            }
            if (now >= resend_at)
                break;
            wt_msg_t *rep = poll_reply(self, (resend_at < deadline ? resend_at : deadline) - now);
            if (rep == NULL)
                continue;
            if (rep->req == req->req && rep->cmd == WT_CMD_ERROR &&
                (rep->code == WT_PROTO_E_NOT_ACTIVE || retry_unavailable(req, rep)) &&
                wt_clock_mono_ms() + 50 < deadline) {
                /* a standby: the next try goes to the next connection
                 * (after a pause, for when none has taken over yet); the
                 * same after UNAVAILABLE (Redis failing over) */
                wt_msg_destroy(&rep);
                wt_clock_sleep_ms(50);
                break;
            }
            if (rep->req == req->req || (rep->cmd == WT_CMD_ERROR && rep->req == 0))
                return rep;
            wt_msg_destroy(&rep); /* a late answer to an earlier try */
        }
    }
}

static int
batch_silent(wt_client_t *self, int left, int n, int timeout_ms, wt_err_t *err)
{
    char what[64];
    snprintf(what, sizeof what, "%d of %d requests", left, n);
    return silent_error(self, what, timeout_ms, err);
}

int
wt_client_request_batch(wt_client_t *self, wt_msg_t **reqs, int n, int timeout_ms, wt_msg_t **reps,
                        wt_err_t *err)
{
    for (int i = 0; i < n; i++) {
        reqs[i]->req = self->next++;
        reps[i] = NULL;
        /* PROTOCOL 3.1: the broker may answer the SPAWNs it reads in one
         * turn with one BATCH of their SPAWNED (poll_reply takes them) */
        if (reqs[i]->cmd == WT_CMD_SPAWN && n > 1 && reqs[i]->batch < n)
            reqs[i]->batch = n < WT_PROTO_MAX_BATCH ? n : WT_PROTO_MAX_BATCH;
    }
    int64_t deadline = wt_clock_mono_ms() + timeout_ms;
    int64_t resend_every = timeout_ms / 3 > 100 ? timeout_ms / 3 : 100;
    int left = n;
    while (left > 0) {
        for (int i = 0; i < n; i++)
            if (reps[i] == NULL && wt_wire_send(self->sock, NULL, 0, reqs[i], 0, err) != 0)
                return -1;
        int64_t resend_at = wt_clock_mono_ms() + resend_every;
        for (;;) {
            int64_t now = wt_clock_mono_ms();
            read_monitor(self); /* drained, or its events would wake every poll */
            if (self->refused)
                return refused_error(self, err);
            if (left == 0 || now >= resend_at)
                break;
            if (now >= deadline)
                return batch_silent(self, left, n, timeout_ms, err);
            wt_msg_t *rep = poll_reply(self, (resend_at < deadline ? resend_at : deadline) - now);
            if (rep == NULL)
                continue;
            int k = -1;
            for (int i = 0; i < n && k < 0; i++)
                if (reps[i] == NULL && reqs[i]->req == rep->req)
                    k = i;
            if (k < 0 || (rep->cmd == WT_CMD_ERROR && (rep->code == WT_PROTO_E_NOT_ACTIVE ||
                                                       retry_unavailable(reqs[k], rep)))) {
                /* late, a standby, or Redis failing over: re-sent next round */
                wt_msg_destroy(&rep);
                continue;
            }
            reps[k] = rep;
            left--;
        }
        if (left > 0 && wt_clock_mono_ms() >= deadline)
            return batch_silent(self, left, n, timeout_ms, err);
    }
    return 0;
}
