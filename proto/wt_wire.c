/* wt_wire - wt_msg_t over ZeroMQ. A message is [identity] header cmd body;
 * recv always consumes every frame of a message, valid or not, so one bad
 * message can never desynchronise the socket for the next one. */
#include "wt_wire.h"

#include "wt_alloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Each thread encodes into and collects frames in its own buffers, kept
 * between messages (a message cost a malloc, reallocs and a free each way);
 * one grown past KEEP_BYTES by a large message is let go after it. */
#define KEEP_BYTES 16384

/* Messages of a BATCH not yet returned, per socket (wt_wire_recv returns
 * a BATCH's messages one by one, from here, before reading the socket). */
typedef struct stash {
    void *sock;                          /* socket they came from, NULL = free entry */
    wt_msg_t *head;                      /* owned chain (next) */
    char identity[WT_WIRE_MAX_IDENTITY]; /* ROUTER: the sender's identity */
    size_t idlen;                        /* its length */
    char user_id[48];                    /* the sender's ZAP User-Id */
} stash_t;

typedef struct scratch {
    wt_buf_t send;  /* encoded message */
    wt_buf_t recv;  /* collected frames */
    stash_t *stash; /* owned array */
    size_t nstash;  /* entries */
} scratch_t;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void
scratch_free(void *p)
{
    scratch_t *s = p;
    wt_buf_release(&s->send);
    wt_buf_release(&s->recv);
    for (size_t i = 0; i < s->nstash; i++)
        wt_msg_destroy(&s->stash[i].head);
    free(s->stash);
    free(s);
}

static void
scratch_key_make(void)
{
    if (pthread_key_create(&scratch_key, scratch_free) != 0)
        abort();
}

static scratch_t *
scratch(void)
{
    pthread_once(&scratch_once, scratch_key_make);
    scratch_t *s = pthread_getspecific(scratch_key);
    if (s == NULL) {
        s = wt_xcalloc(1, sizeof *s);
        wt_buf_init(&s->send, WT_PROTO_MAX_BODY + 16);
        wt_buf_init(&s->recv, WT_PROTO_MAX_BODY + 16);
        if (pthread_setspecific(scratch_key, s) != 0)
            abort();
    }
    return s;
}

/* Empties b for the next message, letting a large one's memory go. */
static void
scratch_done(wt_buf_t *b)
{
    if (b->cap > KEEP_BYTES)
        wt_buf_release(b);
    else
        wt_buf_reset(b);
}

static stash_t *
stash_find(scratch_t *s, const void *sock)
{
    for (size_t i = 0; i < s->nstash; i++)
        if (s->stash[i].sock == sock)
            return &s->stash[i];
    return NULL;
}

int
wt_wire_pending(const void *sock)
{
    stash_t *st = stash_find(scratch(), sock);
    return st != NULL && st->head != NULL;
}

void
wt_wire_forget(const void *sock)
{
    stash_t *st = stash_find(scratch(), sock);
    if (st != NULL) {
        wt_msg_destroy(&st->head);
        st->sock = NULL;
    }
}

/* Keeps the rest of a BATCH (chain) for the next receives on sock. */
static void
stash_put(void *sock, wt_msg_t *chain, const void *identity, size_t idlen, const char *user_id)
{
    scratch_t *s = scratch();
    stash_t *st = stash_find(s, sock);
    if (st == NULL)
        st = stash_find(s, NULL);
    if (st == NULL) {
        s->stash = wt_xrealloc(s->stash, (s->nstash + 1) * sizeof *s->stash);
        st = &s->stash[s->nstash++];
        st->head = NULL;
    }
    st->sock = sock;
    wt_msg_t **tail = &st->head; /* after what is still there (never, as receives drain it) */
    while (*tail)
        tail = &(*tail)->next;
    *tail = chain;
    st->idlen = idlen;
    if (idlen)
        memcpy(st->identity, identity, idlen);
    snprintf(st->user_id, sizeof st->user_id, "%s", user_id ? user_id : "");
}

/* The next stashed message of sock, or NULL. */
static wt_msg_t *
stash_take(void *sock, void *identity, size_t *idlen, char *user_id, size_t cap)
{
    scratch_t *s = scratch();
    stash_t *st = s->nstash ? stash_find(s, sock) : NULL;
    if (st == NULL || st->head == NULL)
        return NULL;
    wt_msg_t *m = st->head;
    st->head = m->next;
    m->next = NULL;
    if (identity && idlen) {
        memcpy(identity, st->identity, st->idlen);
        *idlen = st->idlen;
    }
    if (user_id && cap)
        snprintf(user_id, cap, "%s", st->user_id);
    if (st->head == NULL)
        st->sock = NULL;
    return m;
}

/* Sends the flat form in fp as [identity] header cmd body frames. */
static int
send_flat(void *sock, const void *identity, size_t idlen, wt_buf_t *fp, int dontwait,
          const char *what, wt_err_t *err)
{
    wt_buf_t flat = *fp;
    int flags = dontwait ? ZMQ_DONTWAIT : 0;
    int rc = 0;
    if (identity && zmq_send(sock, identity, idlen, flags | ZMQ_SNDMORE) < 0)
        rc = -1;
    if (rc == 0 && zmq_send(sock, flat.data, WT_PROTO_HEADER_LEN, flags | ZMQ_SNDMORE) < 0)
        rc = -1;
    if (rc == 0 && zmq_send(sock, flat.data + WT_PROTO_HEADER_LEN, 1, flags | ZMQ_SNDMORE) < 0)
        rc = -1;
    if (rc == 0 && zmq_send(sock, flat.data + WT_PROTO_HEADER_LEN + 1,
                            flat.len - WT_PROTO_HEADER_LEN - 1, flags) < 0)
        rc = -1;
    scratch_done(fp);
    if (rc != 0) {
        if (errno == EAGAIN)
            return wt_err_set(err, WT_ELIMIT, "send %s: peer queue full", what);
        return wt_err_sys(err, "send %s", what);
    }
    return 0;
}

int
wt_wire_send(void *sock, const void *identity, size_t idlen, const wt_msg_t *msg, int dontwait,
             wt_err_t *err)
{
    wt_buf_t *fp = &scratch()->send;
    wt_buf_reset(fp);
    if (wt_proto_encode(msg, fp, err) != 0) {
        scratch_done(fp);
        return -1;
    }
    return send_flat(sock, identity, idlen, fp, dontwait, wt_cmd_name((int)msg->cmd), err);
}

int
wt_wire_send_batch(void *sock, const void *identity, size_t idlen, const wt_msg_t *const *msgs,
                   size_t n, int dontwait, wt_err_t *err)
{
    if (n == 0)
        return 0;
    if (n == 1)
        return wt_wire_send(sock, identity, idlen, msgs[0], dontwait, err);
    if (n > WT_PROTO_MAX_BATCH) {
        if (wt_wire_send_batch(sock, identity, idlen, msgs, WT_PROTO_MAX_BATCH, dontwait, err))
            return -1;
        return wt_wire_send_batch(sock, identity, idlen, msgs + WT_PROTO_MAX_BATCH,
                                  n - WT_PROTO_MAX_BATCH, dontwait, err);
    }
    wt_buf_t *fp = &scratch()->send;
    wt_buf_reset(fp);
    wt_err_t e = {0};
    if (wt_proto_encode_batch(msgs[0]->chan, msgs, n, fp, &e) != 0) {
        scratch_done(fp);
        if (e.code != WT_ELIMIT) {
            if (err)
                *err = e;
            return -1;
        }
        /* over the body limit together: two halves, each as one BATCH */
        size_t h = n / 2;
        if (wt_wire_send_batch(sock, identity, idlen, msgs, h, dontwait, err) != 0)
            return -1;
        return wt_wire_send_batch(sock, identity, idlen, msgs + h, n - h, dontwait, err);
    }
    return send_flat(sock, identity, idlen, fp, dontwait, "BATCH", err);
}

/* Drops the rest of a multipart message. */
static void
drain(void *sock)
{
    int more = 1;
    size_t sz = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        zmq_msg_recv(&part, sock, 0);
        zmq_msg_close(&part);
        sz = sizeof more;
    }
}

int
wt_wire_recv(void *sock, int is_router, wt_chan_t chan, void *identity, size_t *idlen,
             wt_msg_t **msg_out, int *code, int dontwait, wt_err_t *err)
{
    return wt_wire_recv_peer(sock, is_router, chan, identity, idlen, NULL, 0, msg_out, code,
                             dontwait, err);
}

int
wt_wire_recv_peer(void *sock, int is_router, wt_chan_t chan, void *identity, size_t *idlen,
                  char *user_id, size_t cap, wt_msg_t **msg_out, int *code, int dontwait,
                  wt_err_t *err)
{
    *msg_out = NULL;
    if (user_id && cap)
        user_id[0] = '\0';
    if (idlen)
        *idlen = 0;
    if ((*msg_out = stash_take(sock, identity, idlen, user_id, cap)) != NULL)
        return 1;
    zmq_msg_t part;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, sock, dontwait ? ZMQ_DONTWAIT : 0) < 0) {
        zmq_msg_close(&part);
        if (errno == EAGAIN)
            return 0;
        if (code)
            *code = WT_PROTO_E_BAD_FRAME;
        return wt_err_sys(err, "receive");
    }
    if (is_router) {
        size_t n = zmq_msg_size(&part);
        if (n > WT_WIRE_MAX_IDENTITY)
            n = WT_WIRE_MAX_IDENTITY;
        memcpy(identity, zmq_msg_data(&part), n);
        *idlen = n;
        zmq_msg_close(&part);
        if (!zmq_msg_more(&part)) {
            if (code)
                *code = WT_PROTO_E_BAD_FRAME;
            return wt_err_set(err, WT_EPROTO, "bad frame: message has no frames after identity");
        }
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) {
            zmq_msg_close(&part);
            if (code)
                *code = WT_PROTO_E_BAD_FRAME;
            return wt_err_sys(err, "receive");
        }
    }
    if (user_id && cap) { /* metadata of the connection, on every frame it delivers */
        const char *u = zmq_msg_gets(&part, "User-Id");
        snprintf(user_id, cap, "%s", u ? u : "");
    }
    /* Collect up to three frames: header, command, body. */
    wt_buf_t *fp = &scratch()->recv, flat;
    wt_buf_reset(fp);
    size_t sizes[3] = {0, 0, 0};
    int nframes = 0, too_big = 0;
    for (;;) {
        int more = zmq_msg_more(&part);
        if (nframes < 3) {
            sizes[nframes] = zmq_msg_size(&part);
            if (!too_big && wt_buf_append(fp, zmq_msg_data(&part), zmq_msg_size(&part), NULL))
                too_big = 1;
        }
        nframes++;
        zmq_msg_close(&part);
        if (!more)
            break;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
    }
    drain(sock);
    flat = *fp;
    int c = 0;
    wt_msg_t *m = NULL;
    if (nframes != 3 || sizes[0] != WT_PROTO_HEADER_LEN || sizes[1] != 1) {
        c = WT_PROTO_E_BAD_FRAME;
        wt_err_set(err, WT_EPROTO,
                   "bad frame: expected 3 frames (header 4 bytes, command 1 byte, body), got %d",
                   nframes);
    } else if (too_big) {
        c = WT_PROTO_E_TOO_BIG;
        wt_err_set(err, WT_ELIMIT, "body of %zu bytes exceeds the %d byte limit", sizes[2],
                   WT_PROTO_MAX_BODY);
    } else {
        m = wt_proto_decode(flat.data, flat.len, &c, err);
        if (m && m->chan != chan) {
            c = WT_PROTO_E_UNKNOWN_CMD;
            wt_err_set(err, WT_EPROTO, "message for channel '%c' on the '%c' socket", m->chan,
                       chan);
            wt_msg_destroy(&m);
        }
    }
    scratch_done(fp);
    if (m == NULL) {
        if (code)
            *code = c;
        return -1;
    }
    if (m->next) { /* a BATCH: its first message now, the rest from the stash */
        stash_put(sock, m->next, identity, idlen ? *idlen : 0, user_id && cap ? user_id : NULL);
        m->next = NULL;
    }
    *msg_out = m;
    return 1;
}
