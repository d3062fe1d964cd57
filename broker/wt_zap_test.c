/* Unit tests of wt_zap with real CURVE handshakes over loopback TCP: an
 * allowed worker key gets through with its key as User-Id; an unknown key
 * and a client key on the worker socket are refused and counted; a reload
 * after removing a .pub revokes it; a bad directory is an error naming it. */
#include "wt_cert.h"
#include "wt_clock.h"
#include "wt_test.h"
#include "wt_zap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static char dir[64], wdir[96], cdir[96];
static wt_cert_t server, worker, client, stranger;

static void
keypair(wt_cert_t *c, const char *sub, const char *name)
{
    wt_cert_generate(c, NULL);
    if (sub)
        wt_cert_write_pair(c, sub, name, NULL);
}

/* Connects a DEALER with own keys to ep, sends "hi", serves ZAP meanwhile;
 * returns 1 and the User-Id when the ROUTER got the message within 2 s, 0
 * once ZAP refused the handshake (or after 2 s). */
static int
attempt(void *zctx, wt_zap_t *zap, void *router, const char *ep, const wt_cert_t *own,
        char *user_id)
{
    void *d = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, server.public_key, 40);
    zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, own->public_key, 40);
    zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, own->secret_key, 40);
    zmq_connect(d, ep);
    zmq_send(d, "hi", 2, ZMQ_DONTWAIT);
    int got = 0;
    uint64_t refused = wt_zap_failures(zap, WT_ZAP_DOMAIN_WORKERS);
    int64_t deadline = wt_clock_mono_ms() + 2000;
    /* ends at the message, or at the refusal (no need to wait it out) */
    while (!got && wt_clock_mono_ms() < deadline &&
           wt_zap_failures(zap, WT_ZAP_DOMAIN_WORKERS) == refused) {
        zmq_pollitem_t it[] = {{wt_zap_socket(zap), 0, ZMQ_POLLIN, 0}, {router, 0, ZMQ_POLLIN, 0}};
        zmq_poll(it, 2, 50);
        if (it[0].revents & ZMQ_POLLIN)
            wt_zap_handle(zap);
        if (it[1].revents & ZMQ_POLLIN) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            zmq_msg_recv(&m, router, 0); /* identity */
            zmq_msg_close(&m);
            zmq_msg_init(&m);
            zmq_msg_recv(&m, router, 0);
            const char *u = zmq_msg_gets(&m, "User-Id");
            snprintf(user_id, 41, "%s", u ? u : "");
            zmq_msg_close(&m);
            got = 1;
        }
    }
    zmq_close(d);
    return got;
}

static void
test_handshakes(void)
{
    void *zctx = zmq_ctx_new();
    wt_err_t err = {0};
    wt_zap_t *zap = wt_zap_new(zctx, wdir, cdir, &err);
    WT_CHECK(zap != NULL);
    if (zap == NULL)
        return;
    void *r = zmq_socket(zctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(r, ZMQ_ZAP_DOMAIN, WT_ZAP_DOMAIN_WORKERS, strlen(WT_ZAP_DOMAIN_WORKERS));
    zmq_setsockopt(r, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, server.secret_key, 40);
    WT_CHECK(zmq_bind(r, "tcp://127.0.0.1:*") == 0);
    char ep[128];
    size_t n = sizeof ep;
    zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &n);
    char uid[41] = "";
    WT_CHECK(attempt(zctx, zap, r, ep, &worker, uid) == 1);
    WT_CHECK_STR(uid, worker.public_key);
    WT_CHECK(wt_zap_failures(zap, WT_ZAP_DOMAIN_WORKERS) == 0);
    WT_CHECK(attempt(zctx, zap, r, ep, &stranger, uid) == 0);
    WT_CHECK(wt_zap_failures(zap, WT_ZAP_DOMAIN_WORKERS) >= 1);
    uint64_t before = wt_zap_failures(zap, WT_ZAP_DOMAIN_WORKERS);
    WT_CHECK(attempt(zctx, zap, r, ep, &client, uid) == 0); /* a client key, worker socket */
    WT_CHECK(wt_zap_failures(zap, WT_ZAP_DOMAIN_WORKERS) > before);
    WT_CHECK(wt_zap_failures(zap, WT_ZAP_DOMAIN_CLIENTS) == 0);
    WT_CHECK(wt_zap_allowed(zap, WT_ZAP_DOMAIN_CLIENTS, client.public_key));
    WT_CHECK(!wt_zap_allowed(zap, WT_ZAP_DOMAIN_CLIENTS, worker.public_key));
    /* revocation */
    char p[160];
    snprintf(p, sizeof p, "%s/w.pub", wdir);
    unlink(p);
    wt_zap_reload(zap);
    WT_CHECK(!wt_zap_allowed(zap, WT_ZAP_DOMAIN_WORKERS, worker.public_key));
    WT_CHECK(attempt(zctx, zap, r, ep, &worker, uid) == 0);
    zmq_close(r);
    wt_zap_destroy(&zap);
    WT_CHECK(zap == NULL);
    zmq_ctx_term(zctx);
}

static void
test_bad_dir(void)
{
    void *zctx = zmq_ctx_new();
    wt_err_t err = {0};
    wt_zap_t *zap = wt_zap_new(zctx, "/nonexistent-wt-dir", cdir, &err);
    WT_CHECK(zap == NULL);
    WT_CHECK(strstr(err.msg, "--allow-workers") && strstr(err.msg, "/nonexistent-wt-dir"));
    zmq_ctx_term(zctx);
}

int
main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wt-zap-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(wdir, sizeof wdir, "%s/w", dir);
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    if (mkdir(wdir, 0700) != 0 || mkdir(cdir, 0700) != 0)
        return 1;
    keypair(&server, NULL, NULL);
    keypair(&worker, wdir, "w");
    keypair(&client, cdir, "c");
    keypair(&stranger, NULL, NULL);
    static const wt_test_case_t cases[] = {WT_TEST(test_handshakes), WT_TEST(test_bad_dir)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return rc;
}
