/* Unit tests of wt_wire over real ZeroMQ sockets (inproc): a BATCH is
 * received one message per call with the sender's identity, what is left
 * of it is reported pending, one over the body limit is split, and a bad
 * BATCH is refused whole without upsetting the next message. */
#include "wt_wire.h"

#include "wt_alloc.h"
#include "wt_test.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct pair {
    void *ctx, *router, *dealer;
} pair_t;

static void
pair_open(pair_t *p, const char *ep)
{
    p->ctx = zmq_ctx_new();
    p->router = zmq_socket(p->ctx, ZMQ_ROUTER);
    p->dealer = zmq_socket(p->ctx, ZMQ_DEALER);
    zmq_setsockopt(p->dealer, ZMQ_IDENTITY, "d1", 2);
    WT_CHECK(zmq_bind(p->router, ep) == 0);
    WT_CHECK(zmq_connect(p->dealer, ep) == 0);
}

static void
pair_close(pair_t *p)
{
    wt_wire_forget(p->router);
    zmq_close(p->router);
    zmq_close(p->dealer);
    zmq_ctx_term(p->ctx);
}

/* Blocking receive on the ROUTER (the first waits for the message). */
static int
recv_router(pair_t *p, wt_msg_t **m, char *id, size_t *idlen, int *code, int dontwait)
{
    wt_err_t err = {0};
    return wt_wire_recv(p->router, 1, WT_CHAN_CLIENT, id, idlen, m, code, dontwait, &err);
}

static void
test_batch_received_one_by_one(void)
{
    pair_t p;
    pair_open(&p, "inproc://wire-batch");
    wt_msg_t *ms[3];
    for (int i = 0; i < 3; i++) {
        ms[i] = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
        wt_msg_set(&ms[i]->workflow, "wf");
        wt_msg_set(&ms[i]->goal, "g");
        ms[i]->req = (uint64_t)(i + 1);
    }
    WT_CHECK(wt_wire_send_batch(p.dealer, NULL, 0, (const wt_msg_t *const *)ms, 3, 0, NULL) == 0);
    char id[WT_WIRE_MAX_IDENTITY];
    size_t idlen = 0;
    int code = 0;
    for (int i = 0; i < 3; i++) {
        wt_msg_t *m = NULL;
        WT_CHECK(recv_router(&p, &m, id, &idlen, &code, i > 0) == 1);
        WT_CHECK(m && m->cmd == WT_CMD_SPAWN && m->req == (uint64_t)(i + 1) && m->batched);
        WT_CHECK(idlen == 2 && memcmp(id, "d1", 2) == 0); /* each carries the sender */
        WT_CHECK(wt_wire_pending(p.router) == (i < 2));
        wt_msg_destroy(&m);
    }
    wt_msg_t *m = NULL;
    WT_CHECK(recv_router(&p, &m, id, &idlen, &code, 1) == 0);
    /* a single message goes as itself */
    WT_CHECK(wt_wire_send_batch(p.dealer, NULL, 0, (const wt_msg_t *const *)ms, 1, 0, NULL) == 0);
    WT_CHECK(recv_router(&p, &m, id, &idlen, &code, 0) == 1);
    WT_CHECK(m && m->batched == 0 && m->req == 1);
    wt_msg_destroy(&m);
    for (int i = 0; i < 3; i++)
        wt_msg_destroy(&ms[i]);
    pair_close(&p);
}

static void
test_batch_over_the_body_limit_is_split(void)
{
    pair_t p;
    pair_open(&p, "inproc://wire-split");
    char *goal = wt_xcalloc(1, 200 * 1024 + 1);
    memset(goal, 'g', 200 * 1024);
    wt_msg_t *ms[8];
    for (int i = 0; i < 8; i++) { /* 1.6 MB together: more than one BATCH */
        ms[i] = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
        wt_msg_set(&ms[i]->workflow, "wf");
        wt_msg_set(&ms[i]->goal, goal);
        ms[i]->req = (uint64_t)(i + 1);
    }
    WT_CHECK(wt_wire_send_batch(p.dealer, NULL, 0, (const wt_msg_t *const *)ms, 8, 0, NULL) == 0);
    char id[WT_WIRE_MAX_IDENTITY];
    size_t idlen = 0;
    int code = 0, got = 0;
    for (int i = 0; i < 8; i++) {
        wt_msg_t *m = NULL;
        if (recv_router(&p, &m, id, &idlen, &code, 0) == 1 && m->req == (uint64_t)(i + 1) &&
            strlen(m->goal) == 200 * 1024)
            got++;
        wt_msg_destroy(&m);
    }
    WT_CHECK(got == 8); /* all, in order */
    for (int i = 0; i < 8; i++)
        wt_msg_destroy(&ms[i]);
    free(goal);
    pair_close(&p);
}

static void
test_bad_batch_refused_next_message_intact(void)
{
    pair_t p;
    pair_open(&p, "inproc://wire-bad");
    /* {"batch": [bin("WTC1\x01" + {})]}: a SPAWN missing workflow and goal */
    const char body[] = "\x81\xa5"
                        "batch\x91\xc4\x06WTC1\x01\x80";
    zmq_send(p.dealer, "WTC1", 4, ZMQ_SNDMORE);
    zmq_send(p.dealer, "\x1e", 1, ZMQ_SNDMORE);
    zmq_send(p.dealer, body, sizeof body - 1, 0);
    wt_msg_t *good = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_STATS);
    good->req = 9;
    WT_CHECK(wt_wire_send(p.dealer, NULL, 0, good, 0, NULL) == 0);
    wt_msg_destroy(&good);
    char id[WT_WIRE_MAX_IDENTITY];
    size_t idlen = 0;
    int code = 0;
    wt_msg_t *m = NULL;
    wt_err_t err = {0};
    WT_CHECK(wt_wire_recv(p.router, 1, WT_CHAN_CLIENT, id, &idlen, &m, &code, 0, &err) == -1);
    WT_CHECK(m == NULL && code == WT_PROTO_E_MISSING && idlen == 2);
    WT_CHECK(strstr(err.msg, "BATCH message 0 of 1") != NULL);
    WT_CHECK(!wt_wire_pending(p.router));
    WT_CHECK(recv_router(&p, &m, id, &idlen, &code, 0) == 1);
    WT_CHECK(m && m->cmd == WT_CMD_STATS && m->req == 9);
    wt_msg_destroy(&m);
    pair_close(&p);
}

WT_TEST_MAIN(WT_TEST(test_batch_received_one_by_one),
             WT_TEST(test_batch_over_the_body_limit_is_split),
             WT_TEST(test_bad_batch_refused_next_message_intact))
