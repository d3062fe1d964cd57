/* bench_zmq - the ZeroMQ limit WorkTrain's figures are compared with in
 * `make bench` (part `limits`): raw ROUTER/DEALER throughput on this
 * machine, same libzmq and transport as the broker, no WorkTrain code.
 *
 *   bench_zmq --endpoint EP [--messages N] [--size BYTES] [--window W]
 *
 * Two figures, printed as one JSON object on stdout:
 *   oneway_msgs_per_s  a DEALER thread sends N messages as fast as it can,
 *                      the ROUTER counts them (pure transport throughput);
 *   echo_msgs_per_s    the ROUTER echoes each message and the DEALER keeps W
 *                      in flight (request/reply, like SPAWN/SPAWNED).
 */
#include "wt_clock.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct run {
    void *ctx;
    const char *ep;
    long n;
    size_t size;
    int window;
    int echo; /* the DEALER waits for replies (window in flight) */
} run_t;

static void *
dealer_main(void *arg)
{
    run_t *r = arg;
    void *d = zmq_socket(r->ctx, ZMQ_DEALER);
    int hwm = 0;
    zmq_setsockopt(d, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(d, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_connect(d, r->ep);
    char *buf = calloc(1, r->size + 1);
    long sent = 0, got = 0;
    while (got < r->n) {
        while (sent < r->n && (!r->echo || sent - got < r->window)) {
            zmq_send(d, "", 0, ZMQ_SNDMORE);
            zmq_send(d, buf, r->size, 0);
            sent++;
        }
        if (!r->echo) {
            got = sent;
            continue;
        }
        char tmp[8];
        zmq_recv(d, tmp, 0, 0);
        zmq_recv(d, buf, r->size, 0);
        got++;
    }
    free(buf);
    zmq_close(d);
    return NULL;
}

/* Messages per second through a ROUTER bound to r->ep. */
static double
measure(run_t *r)
{
    void *router = zmq_socket(r->ctx, ZMQ_ROUTER);
    int hwm = 0, linger = 0;
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(router, r->ep) != 0) {
        fprintf(stderr, "bench_zmq: bind %s: %s\n", r->ep, zmq_strerror(zmq_errno()));
        exit(1);
    }
    pthread_t t;
    pthread_create(&t, NULL, dealer_main, r);
    char id[256], body[65536];
    int64_t t0 = 0;
    for (long i = 0; i < r->n; i++) {
        int idn = zmq_recv(router, id, sizeof id, 0);
        if (i == 0)
            t0 = wt_clock_mono_us();
        zmq_recv(router, body, 0, 0);
        int bn = zmq_recv(router, body, sizeof body, 0);
        if (r->echo) {
            zmq_send(router, id, (size_t)idn, ZMQ_SNDMORE);
            zmq_send(router, "", 0, ZMQ_SNDMORE);
            zmq_send(router, body, (size_t)(bn > 0 ? bn : 0), 0);
        }
    }
    int64_t t1 = wt_clock_mono_us();
    pthread_join(t, NULL);
    zmq_close(router);
    return t1 > t0 ? (double)(r->n - 1) * 1e6 / (double)(t1 - t0) : 0;
}

int
main(int argc, char **argv)
{
    run_t r = {.n = 1000000, .size = 64, .window = 1000};
    static struct option opts[] = {{"endpoint", 1, 0, 'e'},
                                   {"messages", 1, 0, 'n'},
                                   {"size", 1, 0, 's'},
                                   {"window", 1, 0, 'w'},
                                   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        switch (c) {
        case 'e':
            r.ep = optarg;
            break;
        case 'n':
            r.n = atol(optarg);
            break;
        case 's':
            r.size = (size_t)atol(optarg);
            break;
        case 'w':
            r.window = atoi(optarg);
            break;
        default:
            return 2;
        }
    if (r.ep == NULL || r.n < 2 || r.size > 65536 || r.window < 1) {
        fprintf(stderr,
                "usage: bench_zmq --endpoint EP [--messages N] [--size BYTES] [--window W]\n");
        return 2;
    }
    r.ctx = zmq_ctx_new();
    double oneway = measure(&r);
    r.echo = 1;
    double echo = measure(&r);
    zmq_ctx_term(r.ctx);
    printf("{\"messages\": %ld, \"size\": %zu, \"window\": %d, \"oneway_msgs_per_s\": %.0f, "
           "\"echo_msgs_per_s\": %.0f}\n",
           r.n, r.size, r.window, oneway, echo);
    return 0;
}
