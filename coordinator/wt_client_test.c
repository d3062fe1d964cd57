/* Tests of wt_client against a fake broker (a ROUTER on a loopback port in
 * a thread): a request whose first copy is lost is re-sent with the same
 * request id and the answer comes back; a late answer to another request
 * is skipped; a broker that never answers gets exactly three sends and a
 * WT_ETIMEDOUT within the bound. Also the batched path against a real
 * broker (redis-server and `worktrain broker`): its SPAWNs ask for BATCH
 * replies and every one is matched. */
#include "wt_client.h"
#include "wt_clock.h"
#include "wt_store.h"
#include "wt_test.h"
#include "wt_test_redis.h"
#include "wt_wire.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Stops the broker (SIGTERM, then SIGKILL after 10 s) and reaps it. */
static void
stop_broker(pid_t pid)
{
    kill(pid, SIGTERM);
    for (int i = 0; i < 400; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        wt_clock_sleep_ms(25);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The bench runner's path: many SPAWNs sent at once announce batch, so the
 * broker answers the ones it reads in one turn with one BATCH of SPAWNED
 * (PROTOCOL 3.1). wt_wire_recv hands a BATCH out one message per call and
 * keeps the rest in its stash, which polling the socket does not see: the
 * client must take them from there, or it waits for replies it already
 * has until its re-send (a third of the timeout). The SPAWNs here have no
 * idempotency key, so a re-send would store a second session: exactly N
 * stored says none was re-sent. */
static void
test_batch_real_broker(void)
{
    enum { N = 300 };

    const char *bin = getenv("WORKTRAIN_BIN");
    if (bin == NULL || bin[0] == '\0')
        bin = "build/worktrain";
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "no worktrain binary at '%s' (set WORKTRAIN_BIN)\n", bin);
        WT_CHECK(0);
        return;
    }
    wt_test_redis_t srv = {0};
    wt_redis_t *r = wt_test_redis_start(&srv, 2000);
    int cport = wt_test_free_port(), wport = wt_test_free_port();
    while (wport == cport)
        wport = wt_test_free_port();
    char cep[64], wep[64];
    snprintf(cep, sizeof cep, "tcp://127.0.0.1:%d", cport);
    snprintf(wep, sizeof wep, "tcp://127.0.0.1:%d", wport);
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "broker", "--clients", cep, "--workers", wep, "--redis", srv.url, "--http",
              "off", (char *)NULL);
        _exit(127);
    }
    WT_CHECK(pid > 0);
    wt_err_t err = {0};
    wt_client_t *cl = wt_client_new(cep, NULL, &err);
    WT_CHECK(cl != NULL);
    wt_msg_t *reqs[N], *reps[N];
    for (int i = 0; i < N; i++) {
        reps[i] = NULL;
        reqs[i] = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
        wt_msg_set(&reqs[i]->workflow, "demo");
        wt_msg_set(&reqs[i]->goal, "g");
        reqs[i]->allow_unknown = 1; /* no worker: the sessions stay queued */
    }
    int rc = cl ? wt_client_request_batch(cl, reqs, N, 45000, reps, &err) : -1;
    if (rc != 0)
        fprintf(stderr, "request_batch: %s\n", err.msg);
    WT_CHECK(rc == 0);
    int matched = 0, batched = 0;
    const char *sids[N];
    for (int i = 0; i < N; i++) {
        WT_CHECK(reqs[i]->batch == N); /* it asked for BATCH replies */
        if (rc != 0 || reps[i] == NULL || reps[i]->cmd != WT_CMD_SPAWNED ||
            reps[i]->req != reqs[i]->req || reps[i]->session == NULL)
            continue;
        sids[matched++] = reps[i]->session;
        batched += reps[i]->batched;
    }
    WT_CHECK(matched == N);
    /* the broker did answer in BATCHes (one turn reads many of the SPAWNs
     * sent at once; a turn with one answers it alone) */
    if (batched < 2)
        fprintf(stderr, "%d of %d SPAWNED came in a BATCH\n", batched, N);
    WT_CHECK(batched >= 2);
    qsort(sids, (size_t)matched, sizeof *sids, cmp_str);
    int distinct = matched > 0;
    for (int i = 1; i < matched; i++)
        distinct += strcmp(sids[i - 1], sids[i]) != 0;
    WT_CHECK(distinct == N); /* one session per SPAWN */
    wt_store_t store;
    wt_store_init(&store, r, NULL);
    char key[128];
    redisReply *q =
        wt_redis_command(r, &err, "ZCARD %s", wt_store_key(&store, key, sizeof key, "queue"));
    if (q && q->type == REDIS_REPLY_INTEGER && q->integer != N)
        fprintf(stderr, "%lld sessions stored for %d SPAWNs\n", q->integer, N);
    WT_CHECK(q && q->type == REDIS_REPLY_INTEGER && q->integer == N); /* no SPAWN re-sent */
    if (q)
        freeReplyObject(q);
    for (int i = 0; i < N; i++) {
        wt_msg_destroy(&reqs[i]);
        wt_msg_destroy(&reps[i]); /* kept even on a failure, the rest NULL */
    }
    wt_client_destroy(&cl);
    stop_broker(pid);
    wt_redis_destroy(&r);
    wt_test_redis_stop(&srv);
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
             WT_TEST(test_nobody_listening_batch), WT_TEST(test_batch_real_broker),
             WT_TEST(test_bad_endpoint))
