/* bench_dispatch - the broker alone: K synthetic workers that answer every
 * ASSIGN with FINISHED at once (no Redis writes, no LLM) and one client
 * keeping a window of SPAWNs in flight. Measures dispatches per second
 * through a real broker, including its Redis intake and lease scripts.
 *
 *   bench_dispatch --clients EP --workers EP [--sessions N] [--workers-count K]
 *                  [--slots S] [--window W] [--unroutable U] [--out FILE]
 *
 * --unroutable U first queues U sessions of a workflow no worker offers
 * (SPAWN with allow_unknown) and waits until all are stored: they stay in
 * the broker's queue for the whole run, so the figure shows whether a
 * backlog that cannot be dispatched slows down dispatch of the rest.
 *
 * --curve DIR uses CURVE: DIR/client.key for the client, DIR/worker.key for
 * the synthetic workers, DIR/broker.pub for the broker (worktrain keygen).
 * The figures include spawn->assigned latency (SPAWN sent -> its ASSIGN at
 * a synthetic worker) p50/p99 over every session. --closed makes the
 * window count sessions not yet assigned (not SPAWNs not yet answered), so
 * the latency is the pipeline's, not the time spent in a growing queue.
 *
 * The client and the workers announce BATCH (PROTOCOL.md 3.1: SPAWN batch,
 * READY batch), send their SPAWNs and FINISHEDs as BATCHes once the broker
 * has sent them one, and so measure a broker with peers that batch;
 * --no-batch makes them behave as peers from before BATCH existed.
 */
#include "bench_util.h"
#include "wt_alloc.h"
#include "wt_cert.h"
#include "wt_clock.h"
#include "wt_wire.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct bench {
    long sessions, spawned, answered, dispatched, unroutable;
    int nworkers, slots, window;
    int closed;         /* --closed: the window counts sessions not yet assigned */
    int nobatch;        /* --no-batch: peers that know nothing of BATCH */
    int client_batches; /* the broker sent the client a BATCH: SPAWNs go as BATCHes */
    void *client;
    void **workers;
    int64_t *sent_us; /* per session index: when its SPAWN left */
    int64_t *lat_us;  /* spawn->assigned latencies */
    long nlat;
} bench_t;

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double
pct_ms(bench_t *b, double p)
{
    if (b->nlat == 0)
        return 0;
    long k = (long)(p * (double)(b->nlat - 1) + 0.5);
    return (double)b->lat_us[k] / 1000.0;
}

/* Loads DIR/NAME.key and DIR/broker.pub into p; exits on a bad file. */
static void
curve_peer(wt_cert_peer_t *p, const char *dir, const char *name)
{
    wt_err_t err = {0};
    if (bench_curve_peer(p, dir, name, &err) != 0) {
        fprintf(stderr, "bench_dispatch: %s\n", err.msg);
        exit(2);
    }
}

static wt_msg_t *
make_spawn(bench_t *b)
{
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    char goal[32];
    snprintf(goal, sizeof goal, "bench %ld", b->spawned);
    wt_msg_set(&m->workflow, "bench-one-step");
    wt_msg_set(&m->goal, goal);
    m->batch = b->nobatch ? 0 : 512;
    m->req = (uint64_t)++b->spawned;
    b->sent_us[b->spawned - 1] = wt_clock_mono_us();
    return m;
}

/* SPAWNs while the window allows: one BATCH once the broker showed it
 * takes them, else one message each. */
static void
send_spawns(bench_t *b)
{
    wt_msg_t *ms[512] = {0};
    size_t n = 0;
    while (b->spawned < b->sessions &&
           b->spawned - (b->closed ? b->dispatched : b->answered) < b->window) {
        ms[n++] = make_spawn(b);
        if (n == 512 || !b->client_batches) {
            wt_wire_send_batch(b->client, NULL, 0, (const wt_msg_t *const *)ms, n, 0, NULL);
            for (size_t i = 0; i < n; i++)
                wt_msg_destroy(&ms[i]);
            n = 0;
        }
    }
    wt_wire_send_batch(b->client, NULL, 0, (const wt_msg_t *const *)ms, n, 0, NULL);
    for (size_t i = 0; i < n; i++)
        wt_msg_destroy(&ms[i]);
}

static int batch_ok = 1; /* !--no-batch: READY announces batch */
static void worker_send(void *sock, wt_cmd_t cmd, const char *name, int slots, const char *sid);

/* Every 500 ms the synthetic workers show they live (3 s of silence and the
 * broker drops them). */
static void
heartbeat(bench_t *b, int64_t *next_hb)
{
    if (wt_clock_mono_ms() < *next_hb)
        return;
    for (int i = 0; i < b->nworkers; i++)
        worker_send(b->workers[i], WT_CMD_HEARTBEAT, NULL, 0, NULL);
    *next_hb = wt_clock_mono_ms() + 500;
}

/* Queues n sessions no worker can run, at most 1000 in flight (the
 * socket's high-water mark); returns how many were stored. */
static long
send_unroutable(bench_t *b, long n)
{
    long sent = 0, got = 0;
    int64_t deadline = wt_clock_mono_ms() + 120000, next_hb = 0;
    while (got < n && wt_clock_mono_ms() < deadline) {
        while (sent < n && sent - got < 1000) {
            wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
            wt_msg_set(&m->workflow, "bench-absent");
            wt_msg_set(&m->goal, "never dispatched");
            m->allow_unknown = 1;
            m->req = (uint64_t)(1000000000 + sent++);
            wt_wire_send(b->client, NULL, 0, m, 0, NULL);
            wt_msg_destroy(&m);
        }
        zmq_pollitem_t it = {b->client, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, 100);
        wt_msg_t *m = NULL;
        int code;
        while (wt_wire_recv(b->client, 0, WT_CHAN_CLIENT, NULL, NULL, &m, &code, 1, NULL) == 1) {
            got += m->cmd == WT_CMD_SPAWNED;
            wt_msg_destroy(&m);
        }
        heartbeat(b, &next_hb);
    }
    return got;
}

static void
worker_send(void *sock, wt_cmd_t cmd, const char *name, int slots, const char *sid)
{
    wt_msg_t *m = wt_msg_new(WT_CHAN_WORKER, cmd);
    if (name) {
        wt_msg_set(&m->name, name);
        wt_strlist_push(&m->caps, "bench-one-step"); /* the broker routes by workflow */
    }
    m->slots = slots;
    if (name)
        m->batch = batch_ok ? 64 : 0;
    if (sid) {
        wt_msg_set(&m->session, sid);
        wt_msg_set(&m->outcome, "success");
    }
    wt_wire_send(sock, NULL, 0, m, 0, NULL);
    wt_msg_destroy(&m);
}

int
main(int argc, char **argv)
{
    const char *clients = NULL, *workers = NULL, *out = NULL, *curve = NULL;
    bench_t b = {.sessions = 100000, .nworkers = 4, .slots = 8, .window = 2000};
    static const struct option opts[] = {
        {"clients", 1, 0, 'c'},       {"workers", 1, 0, 'w'},    {"sessions", 1, 0, 'n'},
        {"workers-count", 1, 0, 'k'}, {"slots", 1, 0, 's'},      {"window", 1, 0, 'W'},
        {"out", 1, 0, 'o'},           {"unroutable", 1, 0, 'u'}, {"curve", 1, 0, 'C'},
        {"closed", 0, 0, 'L'},        {"no-batch", 0, 0, 'N'},   {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            clients = optarg;
            break;
        case 'w':
            workers = optarg;
            break;
        case 'n':
            b.sessions = strtol(optarg, NULL, 10);
            break;
        case 'k':
            b.nworkers = (int)strtol(optarg, NULL, 10);
            break;
        case 's':
            b.slots = (int)strtol(optarg, NULL, 10);
            break;
        case 'W':
            b.window = (int)strtol(optarg, NULL, 10);
            break;
        case 'o':
            out = optarg;
            break;
        case 'u':
            b.unroutable = strtol(optarg, NULL, 10);
            break;
        case 'C':
            curve = optarg;
            break;
        case 'L':
            b.closed = 1;
            break;
        case 'N':
            b.nobatch = 1;
            batch_ok = 0;
            break;
        default:
            fprintf(stderr, "usage: see the comment at the top of bench_dispatch.c\n");
            return 2;
        }
    }
    if (!clients || !workers || b.nworkers < 1 || b.sessions < 1)
        return fprintf(stderr, "bench_dispatch: --clients and --workers are required\n"), 2;
    wt_cert_peer_t ckeys = {0}, wkeys = {0};
    if (curve) {
        curve_peer(&ckeys, curve, "client");
        curve_peer(&wkeys, curve, "worker");
    }
    b.sent_us = wt_xcalloc((size_t)b.sessions, sizeof *b.sent_us);
    b.lat_us = wt_xcalloc((size_t)b.sessions, sizeof *b.lat_us);
    void *ctx = zmq_ctx_new();
    b.client = zmq_socket(ctx, ZMQ_DEALER);
    wt_cert_peer_apply(&ckeys, b.client, NULL);
    zmq_connect(b.client, clients);
    b.workers = wt_xcalloc((size_t)b.nworkers, sizeof *b.workers);
    zmq_pollitem_t *items = wt_xcalloc((size_t)b.nworkers + 1, sizeof *items);
    for (int i = 0; i < b.nworkers; i++) {
        char name[32];
        snprintf(name, sizeof name, "bench-worker-%d", i);
        b.workers[i] = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(b.workers[i], ZMQ_IDENTITY, name, strlen(name));
        wt_cert_peer_apply(&wkeys, b.workers[i], NULL);
        zmq_connect(b.workers[i], workers);
        worker_send(b.workers[i], WT_CMD_READY, name, b.slots, NULL);
        items[i + 1] = (zmq_pollitem_t){b.workers[i], 0, ZMQ_POLLIN, 0};
    }
    items[0] = (zmq_pollitem_t){b.client, 0, ZMQ_POLLIN, 0};
    wt_clock_sleep_ms(300); /* let READY land before the clock starts */
    if (b.unroutable > 0 && send_unroutable(&b, b.unroutable) != b.unroutable)
        return fprintf(stderr, "bench_dispatch: the unroutable backlog was not stored\n"), 1;
    int64_t t0 = wt_clock_mono_us(), next_hb = wt_clock_mono_ms() + 500,
            deadline = wt_clock_mono_ms() + 600000;
    send_spawns(&b);
    wt_msg_t **fin = wt_xcalloc(4096, sizeof *fin); /* one worker's FINISHEDs of a turn */
    while (b.dispatched < b.sessions && wt_clock_mono_ms() < deadline) {
        zmq_poll(items, b.nworkers + 1, 100);
        wt_msg_t *m = NULL;
        int code;
        while (wt_wire_recv(b.client, 0, WT_CHAN_CLIENT, NULL, NULL, &m, &code, 1, NULL) == 1) {
            b.answered++;
            b.client_batches |= m->batched;
            wt_msg_destroy(&m);
        }
        send_spawns(&b);
        for (int i = 0; i < b.nworkers; i++) {
            size_t nfin = 0;
            int batched = 0;
            while (nfin < 4096 && wt_wire_recv(b.workers[i], 0, WT_CHAN_WORKER, NULL, NULL, &m,
                                               &code, 1, NULL) == 1) {
                if (m->cmd == WT_CMD_ASSIGN) {
                    b.dispatched++;
                    long idx = m->goal ? strtol(m->goal + 6, NULL, 10) : -1; /* "bench N" */
                    if (idx >= 0 && idx < b.sessions && b.nlat < b.sessions)
                        b.lat_us[b.nlat++] = wt_clock_mono_us() - b.sent_us[idx];
                    batched |= m->batched;
                    wt_msg_t *f = wt_msg_new(WT_CHAN_WORKER, WT_CMD_FINISHED);
                    wt_msg_set(&f->session, m->session);
                    wt_msg_set(&f->outcome, "success");
                    fin[nfin++] = f;
                }
                wt_msg_destroy(&m);
            }
            /* a broker that sent a BATCH takes one: all FINISHEDs in one */
            if (batched)
                wt_wire_send_batch(b.workers[i], NULL, 0, (const wt_msg_t *const *)fin, nfin, 0,
                                   NULL);
            for (size_t k = 0; k < nfin; k++) {
                if (!batched)
                    wt_wire_send(b.workers[i], NULL, 0, fin[k], 0, NULL);
                wt_msg_destroy(&fin[k]);
            }
        }
        heartbeat(&b, &next_hb);
    }
    free(fin);
    double secs = (double)(wt_clock_mono_us() - t0) / 1e6;
    qsort(b.lat_us, (size_t)b.nlat, sizeof *b.lat_us, cmp_i64);
    char json[768];
    snprintf(
        json, sizeof json,
        "{\"sessions\": %ld, \"dispatched\": %ld, \"seconds\": %.3f, "
        "\"dispatches_per_s\": %.1f, \"synthetic_workers\": %d, \"slots_each\": %d, "
        "\"spawn_window\": %d, \"closed_window\": %s, \"unroutable_backlog\": %ld, \"curve\": %s, "
        "\"batch\": %s, "
        "\"spawn_to_assigned_ms\": {\"p50\": %.2f, \"p99\": %.2f}}\n",
        b.sessions, b.dispatched, secs, (double)b.dispatched / secs, b.nworkers, b.slots, b.window,
        b.closed ? "true" : "false", b.unroutable, curve ? "true" : "false",
        b.nobatch ? "false" : "true", pct_ms(&b, 0.5), pct_ms(&b, 0.99));
    fputs(json, stdout);
    if (out) {
        FILE *f = fopen(out, "w");
        if (f) {
            fputs(json, f);
            fclose(f);
        }
    }
    for (int i = 0; i < b.nworkers; i++)
        zmq_close(b.workers[i]);
    zmq_close(b.client);
    zmq_ctx_term(ctx);
    free(b.workers);
    free(items);
    free(b.sent_us);
    free(b.lat_us);
    return b.dispatched == b.sessions ? 0 : 1;
}
