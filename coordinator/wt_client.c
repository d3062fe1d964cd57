/* wt_client - a small synchronous client of the broker. */
#include "wt_client.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zmq.h>

struct wt_client {
    void *zctx;    /* owned context */
    void *sock;    /* DEALER */
    uint64_t next; /* next request id */
};

wt_client_t *
wt_client_new(const char *endpoint, wt_err_t *err)
{
    wt_client_t *self = wt_xcalloc(1, sizeof *self);
    self->zctx = zmq_ctx_new();
    self->sock = zmq_socket(self->zctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(self->sock, endpoint) != 0) {
        wt_err_set(err, WT_EINVAL, "cannot connect to broker '%s': %s", endpoint,
                   zmq_strerror(errno));
        wt_client_destroy(&self);
        return NULL;
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
    zmq_close((*self_p)->sock);
    zmq_ctx_term((*self_p)->zctx);
    free(*self_p);
    *self_p = NULL;
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
            if (now >= deadline) {
                wt_err_set(err, WT_ETIMEDOUT, "broker did not answer %s within %d ms",
                           wt_cmd_name((int)req->cmd), timeout_ms);
                return NULL;
            }
            if (now >= resend_at)
                break;
            zmq_pollitem_t it = {self->sock, 0, ZMQ_POLLIN, 0};
            int64_t wait = (resend_at < deadline ? resend_at : deadline) - now;
            if (zmq_poll(&it, 1, (long)wait) <= 0)
                continue;
            wt_msg_t *rep = NULL;
            int code = 0;
            wt_err_t e = {0};
            if (wt_wire_recv(self->sock, 0, WT_CHAN_CLIENT, NULL, NULL, &rep, &code, 1, &e) != 1)
                continue;
            if (rep->req == req->req || (rep->cmd == WT_CMD_ERROR && rep->req == 0))
                return rep;
            wt_msg_destroy(&rep); /* a late answer to an earlier try */
        }
    }
}
