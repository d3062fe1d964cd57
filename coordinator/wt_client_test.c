/* Tests of wt_client against a fake broker (a ROUTER on a loopback port in
 * a thread): a request whose first copy is lost is re-sent with the same
 * request id and the answer comes back; a late answer to another request
 * is skipped; a broker that never answers gets exactly three sends and a
 * WT_ETIMEDOUT within the bound. */
#include "wt_client.h"
#include "wt_clock.h"
#include "wt_test.h"
#include "wt_wire.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

typedef struct fake {
    void *zctx;       /* context of the ROUTER */
    void *sock;       /* ROUTER */
    char ep[64];      /* its tcp endpoint */
    int expect;       /* requests to take before leaving */
    int drop;         /* leave the first `drop` unanswered */
    int stale_first;  /* answer with a wrong req id before the real answer */
    uint64_t reqs[8]; /* request ids seen */
    int seen;         /* requests seen */
} fake_t;

static void
fake_open(fake_t *f)
{
    f->zctx = zmq_ctx_new();
    f->sock = zmq_socket(f->zctx, ZMQ_ROUTER);
    int t = 5000, zero = 0;
    zmq_setsockopt(f->sock, ZMQ_RCVTIMEO, &t, sizeof t); /* bounds the fake's life */
    zmq_setsockopt(f->sock, ZMQ_LINGER, &zero, sizeof zero);
    WT_CHECK(zmq_bind(f->sock, "tcp://127.0.0.1:*") == 0);
    size_t len = sizeof f->ep;
    zmq_getsockopt(f->sock, ZMQ_LAST_ENDPOINT, f->ep, &len);
}

static void
reply(fake_t *f, const char *id, size_t idlen, uint64_t req)
{
    wt_msg_t *rep = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWNED);
    rep->req = req;
    wt_msg_set(&rep->session, req == 0 ? "WRONG" : "SESSION1");
    wt_wire_send(f->sock, id, idlen, rep, 0, NULL);
    wt_msg_destroy(&rep);
}

static void *
fake_main(void *arg)
{
    fake_t *f = arg;
    while (f->seen < f->expect) {
        char id[WT_WIRE_MAX_IDENTITY];
        size_t idlen = 0;
        wt_msg_t *m = NULL;
        int code = 0;
        if (wt_wire_recv(f->sock, 1, WT_CHAN_CLIENT, id, &idlen, &m, &code, 0, NULL) != 1)
            break; /* timed out: the test fails on its counts */
        int n = f->seen++;
        if (n < 8)
            f->reqs[n] = m->req;
        if (n >= f->drop) {
            if (f->stale_first)
                reply(f, id, idlen, m->req + 1000);
            reply(f, id, idlen, m->req);
        }
        wt_msg_destroy(&m);
    }
    return NULL;
}

static void
fake_close(fake_t *f)
{
    zmq_close(f->sock);
    zmq_ctx_term(f->zctx);
}

static wt_msg_t *
spawn_msg(void)
{
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    wt_msg_set(&m->workflow, "demo");
    wt_msg_set(&m->goal, "g");
    wt_msg_set(&m->key, "k");
    return m;
}

static void
test_resend_same_id(void)
{
    fake_t f = {.expect = 2, .drop = 1};
    fake_open(&f);
    pthread_t th;
    pthread_create(&th, NULL, fake_main, &f);
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(f.ep, NULL, &err);
    wt_msg_t *m = spawn_msg();
    wt_msg_t *rep = wt_client_request(cl, m, 1500, &err);
    pthread_join(th, NULL);
    WT_CHECK(rep != NULL && rep->cmd == WT_CMD_SPAWNED);
    WT_CHECK(rep && rep->session && strcmp(rep->session, "SESSION1") == 0);
    WT_CHECK(f.seen == 2 && f.reqs[0] == f.reqs[1] && f.reqs[0] == m->req);
    wt_msg_destroy(&rep);
    wt_msg_destroy(&m);
    wt_client_destroy(&cl);
    WT_CHECK(cl == NULL);
    fake_close(&f);
}

static void
test_skips_stale_reply(void)
{
    fake_t f = {.expect = 1, .stale_first = 1};
    fake_open(&f);
    pthread_t th;
    pthread_create(&th, NULL, fake_main, &f);
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(f.ep, NULL, &err);
    wt_msg_t *m = spawn_msg();
    wt_msg_t *rep = wt_client_request(cl, m, 3000, &err);
    pthread_join(th, NULL);
    WT_CHECK(rep != NULL && rep->req == m->req);
    WT_CHECK(rep && rep->session && strcmp(rep->session, "SESSION1") == 0);
    WT_CHECK(f.seen == 1);
    wt_msg_destroy(&rep);
    wt_msg_destroy(&m);
    wt_client_destroy(&cl);
    fake_close(&f);
}

static void
test_three_tries_then_timeout(void)
{
    fake_t f = {.expect = 3, .drop = 3};
    fake_open(&f);
    pthread_t th;
    pthread_create(&th, NULL, fake_main, &f);
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(f.ep, NULL, &err);
    wt_msg_t *m = spawn_msg();
    int64_t t0 = wt_clock_mono_ms();
    wt_msg_t *rep = wt_client_request(cl, m, 900, &err);
    int64_t took = wt_clock_mono_ms() - t0;
    pthread_join(th, NULL);
    WT_CHECK(rep == NULL && err.code == WT_ETIMEDOUT);
    WT_CHECK(strstr(err.msg, f.ep) != NULL && strstr(err.msg, "connected, but no reply") != NULL);
    WT_CHECK(took >= 890 && took < 30000); /* bounded, not timed: a loaded machine is slow */
    WT_CHECK(f.seen == 3 && f.reqs[0] == f.reqs[1] && f.reqs[1] == f.reqs[2]);
    /* A second request gets a new id. */
    uint64_t first = m->req;
    wt_msg_t *rep2 = wt_client_request(cl, m, 150, &err);
    WT_CHECK(rep2 == NULL && m->req != first);
    wt_msg_destroy(&m);
    wt_client_destroy(&cl);
    fake_close(&f);
}

/* Nothing listens: the error names the endpoint, says so, and says where
 * the endpoint comes from. */
static void
test_nobody_listening(void)
{
    char ep[128];
    snprintf(ep, sizeof ep, "ipc:///tmp/wt-client-test-nobody-%d", (int)getpid());
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(ep, NULL, &err);
    WT_CHECK(cl != NULL);
    wt_msg_t *m = spawn_msg();
    wt_msg_t *rep = wt_client_request(cl, m, 600, &err);
    WT_CHECK(rep == NULL && err.code == WT_ETIMEDOUT);
    WT_CHECK(strstr(err.msg, ep) != NULL);
    WT_CHECK(strstr(err.msg, "nothing may be listening") != NULL);
    WT_CHECK(strstr(err.msg, "--broker") != NULL && strstr(err.msg, "WORKTRAIN_BROKER") != NULL);
    wt_msg_destroy(&m);
    wt_client_destroy(&cl);
}

/* The batched path (bench runner) gives the same hints as the single one. */
static void
test_nobody_listening_batch(void)
{
    char ep[128];
    snprintf(ep, sizeof ep, "ipc:///tmp/wt-client-test-nobody-b-%d", (int)getpid());
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(ep, NULL, &err);
    WT_CHECK(cl != NULL);
    wt_msg_t *reqs[2] = {spawn_msg(), spawn_msg()};
    wt_msg_t *reps[2] = {NULL, NULL};
    WT_CHECK(wt_client_request_batch(cl, reqs, 2, 600, reps, &err) != 0);
    WT_CHECK(err.code == WT_ETIMEDOUT && reps[0] == NULL && reps[1] == NULL);
    WT_CHECK(strstr(err.msg, ep) != NULL && strstr(err.msg, "2 of 2 requests") != NULL);
    WT_CHECK(strstr(err.msg, "nothing may be listening") != NULL);
    WT_CHECK(strstr(err.msg, "--broker") != NULL && strstr(err.msg, "WORKTRAIN_BROKER") != NULL);
    wt_msg_destroy(&reqs[0]);
    wt_msg_destroy(&reqs[1]);
    wt_client_destroy(&cl);
}

static void
test_bad_endpoint(void)
{
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new("nonsense://x", NULL, &err);
    WT_CHECK(cl == NULL && err.code != WT_OK && strstr(err.msg, "nonsense://x") != NULL);
    wt_client_destroy(&cl);
    wt_client_destroy(NULL);
}

WT_TEST_MAIN(WT_TEST(test_resend_same_id), WT_TEST(test_skips_stale_reply),
             WT_TEST(test_three_tries_then_timeout), WT_TEST(test_nobody_listening),
             WT_TEST(test_nobody_listening_batch), WT_TEST(test_bad_endpoint))
