/* wt_zap - ZAP handler for the broker's CURVE sockets (see wt_zap.h). Key
 * sets are sorted arrays of Z85 strings searched with bsearch: a fleet has
 * hundreds of keys at most and a reload replaces a set whole. */
#include "wt_zap.h"

#include "wt_alloc.h"
#include "wt_cert.h"
#include "wt_clock.h"
#include "wt_log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01" /* fixed by RFC 27 */
#define LOG_SLOTS    256                      /* peers remembered for log rate limiting */
#define LOG_EVERY_MS 60000

typedef struct keyset {
    char (*v)[WT_CERT_Z85_LEN + 1]; /* owned, sorted */
    size_t n;
    char dir[512]; /* where it comes from */
    const char *flag;
} keyset_t;

typedef struct logged {
    char peer[WT_CERT_Z85_LEN + 72]; /* "address key" */
    int64_t at_ms;                   /* monotonic: last logged */
} logged_t;

struct wt_zap {
    void *sock;              /* REP bound to ZAP_ENDPOINT */
    keyset_t workers;        /* --allow-workers */
    keyset_t clients;        /* --allow-clients */
    uint64_t fail_workers;   /* refusals on the worker socket */
    uint64_t fail_clients;   /* refusals on the client socket */
    logged_t log[LOG_SLOTS]; /* recently logged peers */
};

static int
cmp_key(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Reads every *.pub of dir into *out. strict: the first bad file is an
 * error; otherwise bad files are logged and skipped (they grant nothing). */
static int
load_dir(keyset_t *out, const char *dir, const char *flag, int strict, wt_err_t *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->dir, sizeof out->dir, "%s", dir);
    out->flag = flag;
    DIR *d = opendir(dir);
    if (d == NULL)
        return wt_err_set(err, WT_EIO, "%s '%s': cannot read the directory: %s", flag, dir,
                          strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".pub") != 0)
            continue;
        char *path = wt_xasprintf("%s/%s", dir, e->d_name);
        wt_cert_t c;
        wt_err_t e2 = {0};
        int rc = wt_cert_load(&c, path, WT_CERT_PUBLIC, flag, &e2);
        free(path);
        if (rc != 0) {
            if (strict) {
                closedir(d);
                free(out->v);
                out->v = NULL;
                if (err)
                    *err = e2;
                return -1;
            }
            wt_log_error("%s (this file grants nothing)", e2.msg);
            continue;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            out->v = wt_xrealloc(out->v, cap * sizeof *out->v);
        }
        memcpy(out->v[out->n++], c.public_key, WT_CERT_Z85_LEN + 1);
    }
    closedir(d);
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_key);
    return 0;
}

static int
has(const keyset_t *s, const char *key)
{
    return s->n && bsearch(key, s->v, s->n, sizeof *s->v, cmp_key) != NULL;
}

wt_zap_t *
wt_zap_new(void *zctx, const char *workers_dir, const char *clients_dir, wt_err_t *err)
{
    wt_zap_t *self = wt_xcalloc(1, sizeof *self);
    if (load_dir(&self->workers, workers_dir, "--allow-workers", 1, err) != 0 ||
        load_dir(&self->clients, clients_dir, "--allow-clients", 1, err) != 0) {
        wt_zap_destroy(&self);
        return NULL;
    }
    self->sock = zmq_socket(zctx, ZMQ_REP);
    int zero = 0;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(self->sock, ZAP_ENDPOINT) != 0) {
        wt_err_set(err, WT_EIO, "cannot bind the ZAP handler '%s': %s", ZAP_ENDPOINT,
                   zmq_strerror(errno));
        wt_zap_destroy(&self);
        return NULL;
    }
    return self;
}

void
wt_zap_destroy(wt_zap_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_zap_t *self = *self_p;
    if (self->sock)
        zmq_close(self->sock);
    free(self->workers.v);
    free(self->clients.v);
    free(self);
    *self_p = NULL;
}

static void
reload_one(keyset_t *s)
{
    keyset_t fresh;
    wt_err_t err = {0};
    if (load_dir(&fresh, s->dir, s->flag, 0, &err) != 0) {
        wt_log_error("reload: %s (keeping the %zu keys loaded before)", err.msg, s->n);
        return;
    }
    wt_log_info("reload: %s '%s': %zu keys (were %zu)", s->flag, s->dir, fresh.n, s->n);
    free(s->v);
    *s = fresh;
}

void
wt_zap_reload(wt_zap_t *self)
{
    reload_one(&self->workers);
    reload_one(&self->clients);
}

void *
wt_zap_socket(wt_zap_t *self)
{
    return self->sock;
}

int
wt_zap_allowed(const wt_zap_t *self, const char *domain, const char *key)
{
    if (strcmp(domain, WT_ZAP_DOMAIN_WORKERS) == 0)
        return has(&self->workers, key);
    if (strcmp(domain, WT_ZAP_DOMAIN_CLIENTS) == 0)
        return has(&self->clients, key);
    return 0;
}

uint64_t
wt_zap_failures(const wt_zap_t *self, const char *domain)
{
    return strcmp(domain, WT_ZAP_DOMAIN_WORKERS) == 0 ? self->fail_workers : self->fail_clients;
}

/* 1 when this peer was not logged in the last minute (and notes it now). */
static int
log_due(wt_zap_t *self, const char *peer)
{
    int64_t now = wt_clock_mono_ms();
    logged_t *oldest = &self->log[0];
    for (int i = 0; i < LOG_SLOTS; i++) {
        logged_t *l = &self->log[i];
        if (l->peer[0] && strcmp(l->peer, peer) == 0) {
            if (now - l->at_ms < LOG_EVERY_MS)
                return 0;
            l->at_ms = now;
            return 1;
        }
        if (l->at_ms < oldest->at_ms || l->peer[0] == '\0')
            oldest = l;
    }
    snprintf(oldest->peer, sizeof oldest->peer, "%s", peer);
    oldest->at_ms = now;
    return 1;
}

void
wt_zap_refused(wt_zap_t *self, const char *domain, const char *peer, const char *key,
               const char *why)
{
    int workers = strcmp(domain, WT_ZAP_DOMAIN_WORKERS) == 0;
    if (workers)
        self->fail_workers++;
    else
        self->fail_clients++;
    char who[sizeof self->log[0].peer];
    snprintf(who, sizeof who, "%.64s %s", peer, key);
    if (log_due(self, who))
        wt_log_warn("auth: %s socket refused %s key %s: %s (logged once a minute per peer)",
                    workers ? "worker" : "client", peer, key, why);
}

/* Receives one frame into buf (NUL-terminated, cut at cap-1); the frame's
 * length, or -1 when nothing more was sent. */
static int
frame(void *sock, char *buf, size_t cap, int *more)
{
    if (!*more)
        return -1;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        *more = 0;
        return -1;
    }
    size_t n = zmq_msg_size(&m);
    size_t c = n < cap - 1 ? n : cap - 1;
    memcpy(buf, zmq_msg_data(&m), c);
    buf[c] = '\0';
    *more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    return (int)n;
}

static void
reply(void *sock, const char *req_id, int req_len, const char *status, const char *text,
      const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, req_id, (size_t)req_len, ZMQ_SNDMORE);
    zmq_send(sock, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

void
wt_zap_handle(wt_zap_t *self)
{
    for (int turn = 0; turn < 256; turn++) {
        /* a short request leaves later frames unread: start them empty */
        char version[16] = "", req_id[256] = "", domain[256] = "", address[256] = "",
             identity[256] = "", mech[32] = "";
        uint8_t cred[64] = {0};
        int more = 1;
        int vlen = frame(self->sock, version, sizeof version, &more);
        if (vlen < 0)
            return;
        int rlen = frame(self->sock, req_id, sizeof req_id, &more);
        frame(self->sock, domain, sizeof domain, &more);
        frame(self->sock, address, sizeof address, &more);
        frame(self->sock, identity, sizeof identity, &more);
        frame(self->sock, mech, sizeof mech, &more);
        int clen = frame(self->sock, (char *)cred, sizeof cred, &more);
        while (more) { /* anything beyond: drain */
            char junk[8];
            frame(self->sock, junk, sizeof junk, &more);
        }
        if (rlen < 0)
            rlen = 0;
        if (rlen > (int)sizeof req_id - 1)
            rlen = (int)sizeof req_id - 1;
        char key[WT_CERT_Z85_LEN + 1] = "";
        if (strcmp(mech, "CURVE") == 0 && clen == 32)
            zmq_z85_encode(key, cred, 32);
        if (strcmp(version, "1.0") != 0 || key[0] == '\0') {
            wt_zap_refused(self, domain, address, "-", "not a CURVE handshake");
            reply(self->sock, req_id, rlen, "400", "CURVE only", "");
            continue;
        }
        if (wt_zap_allowed(self, domain, key)) {
            reply(self->sock, req_id, rlen, "200", "OK", key);
            continue;
        }
        const char *other = strcmp(domain, WT_ZAP_DOMAIN_WORKERS) == 0 ? WT_ZAP_DOMAIN_CLIENTS
                                                                       : WT_ZAP_DOMAIN_WORKERS;
        wt_zap_refused(self, domain, address, key,
                       wt_zap_allowed(self, other, key)
                           ? "a key of the other socket's kind (worker and client keys are "
                             "separate)"
                           : "unknown key (not in the allow directory)");
        reply(self->sock, req_id, rlen, "400", "key not allowed", "");
    }
}
