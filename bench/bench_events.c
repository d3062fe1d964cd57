/* bench_events - the capacity of the worker's event-write path (issue 18):
 * T threads, each with its own Redis connection as a worker's slot thread
 * has, each holding real leases (taken by the broker's intake script, which
 * leases a session directly to an idle worker) on S sessions, write events
 * through the worker's own writer (wt_events_defer / wt_events_emit ->
 * group commit -> the store's append script, fenced and numbered) K events
 * per batch for D seconds. The events are the ones a session writes, with
 * payloads of their usual size: llm_turn_started, llm_turn_completed
 * (+turns, +input_tokens, +output_tokens), tool_call_started and
 * tool_call_completed (the in_tool mark), step_advanced (fleet stream, step).
 *
 *   bench_events --redis URL [--threads T] [--sessions S] [--batch K]
 *                [--seconds D] [--prefix P] [--inject-duplicate]
 *
 * Prints one JSON object: events/s, round trips, client CPU (this process,
 * getrusage) and Redis CPU (INFO cpu) per 1,000 events, the append script's
 * calls and time (INFO commandstats). Afterwards, outside the timed window,
 * it verifies every session: its stream holds session_queued and then
 * exactly the events written, in order, no duplicates, each with the lease
 * epoch; the hash's seq and turns agree; the fleet stream's entries are in
 * order; a retry of the last event is a no-op and a stale epoch's write is
 * refused. Exit 0 when all holds, 1 when the verification failed (or a write
 * failed), 2 on bad arguments. --inject-duplicate appends a copy of one
 * stored entry before the verification (a test that the check can fail). */
#include "bench_util.h"
#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_events.h"
#include "wt_store.h"
#include "wt_ulid.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTYPES 5

static const char *const TYPES[NTYPES] = {"llm_turn_started", "llm_turn_completed",
                                          "tool_call_started", "tool_call_completed",
                                          "step_advanced"};

typedef struct sess {
    char sid[WT_ULID_LEN + 1];
    int64_t epoch;  /* the lease the intake took for this thread's worker */
    wt_events_t ev; /* the worker's writer for it */
    int64_t n;      /* events handed to the writer */
} sess_t;

typedef struct thr {
    pthread_t th;
    int idx;
    wt_redis_t *redis; /* its own connection, as a slot thread's */
    wt_store_t store;
    sess_t *s;
    int nsess;
    uint64_t events, batches, bytes;
    int failed;
    char err[256];
} thr_t;

typedef struct bench {
    const char *url, *prefix;
    int threads, sessions, batch, seconds, inject;
    volatile int stop;
    pthread_barrier_t go;
    thr_t *t;
} bench_t;

static bench_t B;

/* Event n (1-based) of a session: the five types in a session's order,
 * the data as the worker builds it (json_pack), with "n" to check order. */
static json_t *
event_data(int64_t n, const char **type, int *fleet, int *nf, const char **fields, char *b1,
           char *b2, char *b3)
{
    int k = (int)((n - 1) % NTYPES);
    *type = TYPES[k];
    *fleet = 0;
    *nf = 0;
    switch (k) {
    case 0:
        return json_pack("{s:s,s:i,s:I,s:I}", "model", "claude-sonnet-4-5", "messages",
                         (int)(n % 40) + 2, "turn", (json_int_t)(n / NTYPES + 1), "n",
                         (json_int_t)n);
    case 1:
        snprintf(b1, 24, "%d", 1200 + (int)(n % 800));
        snprintf(b2, 24, "%d", 80 + (int)(n % 300));
        fields[0] = "+turns", fields[1] = "1", fields[2] = "+input_tokens", fields[3] = b1,
        fields[4] = "+output_tokens", fields[5] = b2;
        *nf = 6;
        return json_pack("{s:s,s:I,s:I,s:[s],s:s,s:i,s:I}", "stop_reason", "tool_use",
                         "input_tokens", (json_int_t)atoll(b1), "output_tokens",
                         (json_int_t)atoll(b2), "tools", "bash", "model", "claude-sonnet-4-5",
                         "retries", 0, "n", (json_int_t)n);
    case 2:
        fields[0] = "in_tool", fields[1] = "bash";
        *nf = 2;
        return json_pack("{s:s,s:s,s:I}", "tool", "bash", "args_summary",
                         "{\"command\":\"cd src && grep -rn 'wt_events_defer' --include='*.c' . | "
                         "head -40 && make -C ../build test_events 2>&1 | tail -20\"}",
                         "n", (json_int_t)n);
    case 3:
        fields[0] = "in_tool", fields[1] = "";
        *nf = 2;
        return json_pack(
            "{s:s,s:I,s:s,s:I}", "tool", "bash", "duration_ms", (json_int_t)(n % 90 + 3),
            "result_summary",
            "./worker/wt_session_loop.c:90: if (rc == 0 && wt_session_defer(self, \"step_skipped\""
            ", json_incref(e), 0, 0, NULL) != 0)\n./worker/wt_session_loop.c:157: if ((auto_git ? "
            "wt_session_emit : wt_session_defer)(self, \"step_advanced\", d, 1, 2, fields)",
            "n", (json_int_t)n);
    default:
        snprintf(b3, 24, "s%lld", (long long)(n / NTYPES + 1));
        fields[0] = "step", fields[1] = b3;
        *nf = 2;
        *fleet = 1;
        return json_pack("{s:s,s:s,s:s,s:{s:s},s:[],s:I}", "step", "s0", "next", b3, "notes",
                         "Read the event writer and its tests; the batch path holds one fence "
                         "check per round trip and per-lease numbers make a retry a no-op.",
                         "context", "verdict", "clean", "artifacts", "n", (json_int_t)n);
    }
}

static void *
run(void *arg)
{
    thr_t *t = arg;
    pthread_barrier_wait(&B.go);
    int cur = 0;
    while (!__atomic_load_n(&B.stop, __ATOMIC_RELAXED)) {
        sess_t *s = &t->s[cur];
        cur = (cur + 1) % t->nsess;
        uint64_t before = s->ev.batches;
        for (int j = 0; j < B.batch; j++) {
            const char *type, *fields[6];
            char b1[24], b2[24], b3[24];
            int fleet, nf;
            json_t *d = event_data(++s->n, &type, &fleet, &nf, fields, b1, b2, b3);
            wt_err_t err = {0};
            int rc = j + 1 < B.batch ? wt_events_defer(&s->ev, type, d, fleet, nf, fields, &err)
                                     : wt_events_emit(&s->ev, type, d, fleet, nf, fields, &err);
            if (rc != 0) {
                snprintf(t->err, sizeof t->err, "session %s event %lld: %s", s->sid,
                         (long long)s->n, err.msg);
                t->failed = 1;
                return NULL;
            }
        }
        t->events += (uint64_t)B.batch;
        t->batches += s->ev.batches - before;
    }
    return NULL;
}

/* INFO field `name` (a number) of section, or -1. */
static double
info_num(wt_redis_t *r, const char *section, const char *name)
{
    redisReply *rep = wt_redis_command(r, NULL, "INFO %s", section);
    double v = -1;
    if (rep && (rep->type == REDIS_REPLY_STRING)) {
        char pat[96];
        snprintf(pat, sizeof pat, "\n%s:", name);
        const char *p = strstr(rep->str, pat);
        if (p)
            v = atof(p + strlen(pat));
    }
    if (rep)
        freeReplyObject(rep);
    return v;
}

static double
redis_cpu(wt_redis_t *r)
{
    return info_num(r, "cpu", "used_cpu_sys") + info_num(r, "cpu", "used_cpu_user");
}

/* calls and usec of EVALSHA from INFO commandstats. */
static void
evalsha_stats(wt_redis_t *r, double *calls, double *usec)
{
    *calls = *usec = 0;
    redisReply *rep = wt_redis_command(r, NULL, "INFO commandstats");
    if (rep && (rep->type == REDIS_REPLY_STRING)) {
        const char *p = strstr(rep->str, "cmdstat_evalsha:calls=");
        if (p) {
            *calls = atof(p + strlen("cmdstat_evalsha:calls="));
            const char *u = strstr(p, "usec=");
            if (u)
                *usec = atof(u + 5);
        }
    }
    if (rep)
        freeReplyObject(rep);
}

static int64_t
data_n(const char *data)
{
    const char *p = data ? strstr(data, "\"n\":") : NULL;
    return p ? atoll(p + 4) : -1;
}

typedef struct verify {
    long streams, expected, found, duplicates, out_of_order, missing, wrong_type, wrong_epoch;
    long hash_bad, retry_stored, stale_accepted, fleet_entries, fleet_out_of_order;
} verify_t;

/* One session's stream: session_queued, then events 1..s->n in order. */
static void
verify_session(wt_store_t *st, const sess_t *s, verify_t *v)
{
    char key[128], start[64] = "-";
    wt_store_key(st, key, sizeof key, "session:%s:events", s->sid);
    v->streams++;
    v->expected += s->n;
    int64_t next = 0; /* the n expected next; 0 = session_queued */
    char *seen = wt_xcalloc((size_t)s->n + 2, 1);
    int64_t turns = 0;
    for (;;) {
        redisReply *r = wt_redis_command(st->redis, NULL, "XRANGE %s %s + COUNT 2000", key, start);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            if (r)
                freeReplyObject(r);
            break;
        }
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *e = r->element[i], *f = e->element[1];
            const char *type = wt_redis_field(f, "type"), *epoch = wt_redis_field(f, "epoch");
            if (next == 0) {
                if (!type || strcmp(type, "session_queued") != 0)
                    v->wrong_type++;
                next = 1;
                continue;
            }
            int64_t n = data_n(wt_redis_field(f, "data"));
            v->found++;
            if (n < 1 || n > s->n || seen[n]) {
                v->duplicates++;
                continue;
            }
            seen[n] = 1;
            if (n != next)
                v->out_of_order++;
            next = n + 1;
            if (!type || strcmp(type, TYPES[(n - 1) % NTYPES]) != 0)
                v->wrong_type++;
            turns += (n - 1) % NTYPES == 1;
            char want[24];
            snprintf(want, sizeof want, "%lld", (long long)s->epoch);
            if (!epoch || strcmp(epoch, want) != 0)
                v->wrong_epoch++;
        }
        /* the next page starts after the last id ("(" = exclusive) */
        snprintf(start, sizeof start, "(%s", r->element[r->elements - 1]->element[0]->str);
        freeReplyObject(r);
    }
    for (int64_t n = 1; n <= s->n; n++)
        v->missing += !seen[n];
    free(seen);
    /* the hash: the lease's seq is the last event's, turns counted once each */
    char hk[128];
    wt_store_key(st, hk, sizeof hk, "session:%s", s->sid);
    redisReply *h = wt_redis_command(st->redis, NULL, "HMGET %s seq seq_epoch turns", hk);
    long long want_turns = 0;
    for (int64_t n = 1; n <= s->n; n++)
        want_turns += (n - 1) % NTYPES == 1;
    if (h == NULL || h->type != REDIS_REPLY_ARRAY || h->elements != 3 ||
        h->element[0]->type != REDIS_REPLY_STRING || atoll(h->element[0]->str) != s->n ||
        h->element[2]->type != REDIS_REPLY_STRING || atoll(h->element[2]->str) != want_turns ||
        turns != want_turns)
        v->hash_bad++;
    if (h)
        freeReplyObject(h);
    /* a retry of the last event (its reply lost) stores nothing */
    const char *fields[] = {"in_tool", ""};
    wt_store_event_t last = {TYPES[(s->n + NTYPES - 1) % NTYPES], "{}", 0, s->n, 2, fields, 0};
    int stored = -1;
    wt_err_t err = {0};
    if (s->n > 0 &&
        (wt_store_append_batch(st, s->sid, s->epoch, &last, 1, NULL, &stored, NULL, &err) != 0 ||
         stored != 0))
        v->retry_stored++;
    /* a writer holding an older lease is refused, whole */
    wt_store_event_t old[] = {{"tool_call_started", "{}", 0, s->n + 1, 2, fields, 0},
                              {"step_advanced", "{}", 1, s->n + 2, 0, NULL, 0}};
    err = (wt_err_t){0};
    if (wt_store_append_batch(st, s->sid, s->epoch - 1, old, 2, NULL, &stored, NULL, &err) == 0 ||
        err.code != WT_ESTALE)
        v->stale_accepted++;
}

/* The fleet stream (capped: the retained tail): each session's
 * step_advanced entries in increasing order, none twice. */
static void
verify_fleet(wt_store_t *st, verify_t *v)
{
    char key[128], start[64] = "-";
    wt_store_key(st, key, sizeof key, "events");
    int total = B.threads * B.sessions;
    int64_t *last = wt_xcalloc((size_t)total, sizeof *last);
    for (;;) {
        redisReply *r = wt_redis_command(st->redis, NULL, "XRANGE %s %s + COUNT 5000", key, start);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            if (r)
                freeReplyObject(r);
            break;
        }
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *f = r->element[i]->element[1];
            const char *type = wt_redis_field(f, "type"), *sid = wt_redis_field(f, "session");
            if (!type || strcmp(type, "step_advanced") != 0 || !sid)
                continue;
            for (int k = 0; k < total; k++) {
                if (strcmp(B.t[k / B.sessions].s[k % B.sessions].sid, sid) != 0)
                    continue;
                int64_t n = data_n(wt_redis_field(f, "data"));
                v->fleet_entries++;
                if (n <= last[k])
                    v->fleet_out_of_order++;
                last[k] = n;
                break;
            }
        }
        snprintf(start, sizeof start, "(%s", r->element[r->elements - 1]->element[0]->str);
        freeReplyObject(r);
    }
    free(last);
}

/* Creates the sessions with the broker's intake script, each leased
 * directly (epoch 1) to its thread's worker. */
static int
make_sessions(wt_store_t *st)
{
    int total = B.threads * B.sessions;
    wt_store_spawn_t sp[WT_STORE_INTAKE_BATCH];
    wt_store_intake_t res[WT_STORE_INTAKE_BATCH];
    char workers[WT_STORE_INTAKE_BATCH][32];
    for (int i = 0; i < total;) {
        int n = total - i < WT_STORE_INTAKE_BATCH ? total - i : WT_STORE_INTAKE_BATCH;
        for (int j = 0; j < n; j++) {
            sess_t *s = &B.t[(i + j) / B.sessions].s[(i + j) % B.sessions];
            wt_ulid_make(s->sid, wt_clock_now_ms());
            snprintf(workers[j], sizeof workers[j], "bench-w%d", (i + j) / B.sessions);
            sp[j] = (wt_store_spawn_t){.sid = s->sid,
                                       .workflow = "bench-one-step",
                                       .goal = "event write path",
                                       .context_json = "{}",
                                       .parent = "",
                                       .idem_key = "",
                                       .workspace = "",
                                       .require = "",
                                       .created_ms = wt_clock_now_ms(),
                                       .worker = workers[j]};
        }
        wt_err_t err = {0};
        if (wt_store_intake_append_n(st, sp, n, &err) != 0 ||
            wt_store_intake_reply_n(st, res, n, &err) != 0) {
            fprintf(stderr, "bench_events: intake: %s\n", err.msg);
            return -1;
        }
        for (int j = 0; j < n; j++) {
            sess_t *s = &B.t[(i + j) / B.sessions].s[(i + j) % B.sessions];
            if (res[j].epoch < 1) {
                fprintf(stderr, "bench_events: intake did not lease %s\n", s->sid);
                return -1;
            }
            s->epoch = res[j].epoch;
        }
        i += n;
    }
    return 0;
}

/* Appends a copy of the last entry of the first session's stream. */
static void
inject_duplicate(wt_store_t *st)
{
    char key[128];
    sess_t *s = &B.t[0].s[0];
    wt_store_key(st, key, sizeof key, "session:%s:events", s->sid);
    redisReply *r = wt_redis_command(st->redis, NULL, "XREVRANGE %s + - COUNT 1", key);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *f = r->element[0]->element[1];
        redisReply *w = wt_redis_command(st->redis, NULL, "XADD %s * type %s data %s epoch %s", key,
                                         wt_redis_field(f, "type"), wt_redis_field(f, "data"),
                                         wt_redis_field(f, "epoch"));
        if (w)
            freeReplyObject(w);
    }
    if (r)
        freeReplyObject(r);
}

static void
usage(void)
{
    fprintf(stderr, "usage: bench_events --redis URL [--threads T] [--sessions S] [--batch K] "
                    "[--seconds D] [--prefix P] [--inject-duplicate]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    B.threads = 16;
    B.sessions = 4;
    B.batch = 8;
    B.seconds = 5;
    B.prefix = "bench:ev:";
    static const struct option opts[] = {{"redis", 1, 0, 'r'},
                                         {"threads", 1, 0, 't'},
                                         {"sessions", 1, 0, 's'},
                                         {"batch", 1, 0, 'k'},
                                         {"seconds", 1, 0, 'd'},
                                         {"prefix", 1, 0, 'p'},
                                         {"inject-duplicate", 0, 0, 'i'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            B.url = optarg;
            break;
        case 't':
            B.threads = atoi(optarg);
            break;
        case 's':
            B.sessions = atoi(optarg);
            break;
        case 'k':
            B.batch = atoi(optarg);
            break;
        case 'd':
            B.seconds = atoi(optarg);
            break;
        case 'p':
            B.prefix = optarg;
            break;
        case 'i':
            B.inject = 1;
            break;
        default:
            usage();
        }
    }
    if (!B.url || B.threads < 1 || B.threads > 256 || B.sessions < 1 || B.sessions > 1000 ||
        B.batch < 1 || B.batch > WT_EVENTS_BUFFER_MAX || B.seconds < 1) {
        fprintf(stderr,
                "bench_events: need --redis, 1..256 threads, 1..1000 sessions, batch "
                "1..%d, seconds >= 1\n",
                WT_EVENTS_BUFFER_MAX);
        usage();
    }
    wt_err_t err = {0};
    wt_redis_t *main_r = wt_redis_new(B.url, 30000, &err);
    wt_store_t st;
    if (main_r == NULL || wt_redis_connect(main_r, &err) != 0) {
        fprintf(stderr, "bench_events: redis %s: %s\n", B.url, err.msg);
        return 1;
    }
    wt_store_init(&st, main_r, B.prefix);
    if (wt_store_load_scripts(&st, &err) != 0) {
        fprintf(stderr, "bench_events: scripts: %s\n", err.msg);
        return 1;
    }
    B.t = wt_xcalloc((size_t)B.threads, sizeof *B.t);
    for (int i = 0; i < B.threads; i++) {
        thr_t *t = &B.t[i];
        t->idx = i;
        t->nsess = B.sessions;
        t->s = wt_xcalloc((size_t)B.sessions, sizeof *t->s);
        t->redis = wt_redis_new(B.url, 30000, &err);
        if (t->redis == NULL || wt_redis_connect(t->redis, &err) != 0) {
            fprintf(stderr, "bench_events: redis %s: %s\n", B.url, err.msg);
            return 1;
        }
        wt_store_init(&t->store, t->redis, B.prefix);
        if (wt_store_load_scripts(&t->store, &err) != 0) {
            fprintf(stderr, "bench_events: scripts: %s\n", err.msg);
            return 1;
        }
    }
    if (make_sessions(&st) != 0)
        return 1;
    for (int i = 0; i < B.threads; i++)
        for (int j = 0; j < B.sessions; j++) {
            sess_t *s = &B.t[i].s[j];
            wt_events_init(&s->ev, &B.t[i].store, s->sid, s->epoch);
            s->ev.retry_ms = 10000; /* a bench gives up on a dead Redis */
        }
    pthread_barrier_init(&B.go, NULL, (unsigned)B.threads + 1);
    for (int i = 0; i < B.threads; i++)
        pthread_create(&B.t[i].th, NULL, run, &B.t[i]);
    double ec0, eu0;
    evalsha_stats(main_r, &ec0, &eu0);
    double rc0 = redis_cpu(main_r), cc0 = bench_cpu_s();
    int64_t t0 = wt_clock_mono_us();
    pthread_barrier_wait(&B.go);
    wt_clock_sleep_ms((int64_t)B.seconds * 1000);
    __atomic_store_n(&B.stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < B.threads; i++)
        pthread_join(B.t[i].th, NULL);
    double wall = (double)(wt_clock_mono_us() - t0) / 1e6;
    double cc1 = bench_cpu_s(), rc1 = redis_cpu(main_r), ec1, eu1;
    evalsha_stats(main_r, &ec1, &eu1);

    uint64_t events = 0, batches = 0;
    int failed = 0;
    for (int i = 0; i < B.threads; i++) {
        events += B.t[i].events;
        batches += B.t[i].batches;
        if (B.t[i].failed) {
            fprintf(stderr, "bench_events: thread %d: %s\n", i, B.t[i].err);
            failed = 1;
        }
    }
    if (B.inject)
        inject_duplicate(&st);
    verify_t v = {0};
    for (int i = 0; i < B.threads; i++)
        for (int j = 0; j < B.sessions; j++)
            verify_session(&st, &B.t[i].s[j], &v);
    verify_fleet(&st, &v);
    int ok = !failed && v.found == v.expected && v.duplicates == 0 && v.out_of_order == 0 &&
             v.missing == 0 && v.wrong_type == 0 && v.wrong_epoch == 0 && v.hash_bad == 0 &&
             v.retry_stored == 0 && v.stale_accepted == 0 && v.fleet_out_of_order == 0;
    double ev = events ? (double)events : 1;
    printf("{\"threads\": %d, \"sessions\": %d, \"batch\": %d, \"seconds\": %.3f, "
           "\"events\": %llu, \"round_trips\": %llu, \"events_per_round_trip\": %.2f, "
           "\"events_per_s\": %.1f, \"client_cpu_s\": %.3f, "
           "\"client_cpu_ms_per_1000_events\": %.3f, \"redis_cpu_s\": %.3f, "
           "\"redis_cpu_ms_per_1000_events\": %.3f, \"script_calls\": %.0f, "
           "\"script_usec_per_call\": %.2f, \"script_usec_per_event\": %.3f, "
           "\"verify\": {\"ok\": %s, \"streams\": %ld, \"expected\": %ld, \"found\": %ld, "
           "\"duplicates\": %ld, \"out_of_order\": %ld, \"missing\": %ld, \"wrong_type\": %ld, "
           "\"wrong_epoch\": %ld, \"hash_bad\": %ld, \"retry_stored\": %ld, "
           "\"stale_accepted\": %ld, \"fleet_entries\": %ld, \"fleet_out_of_order\": %ld}}\n",
           B.threads, B.threads * B.sessions, B.batch, wall, (unsigned long long)events,
           (unsigned long long)batches, batches ? (double)events / (double)batches : 0,
           (double)events / wall, cc1 - cc0, (cc1 - cc0) * 1e6 / ev, rc1 - rc0,
           (rc1 - rc0) * 1e6 / ev, ec1 - ec0, ec1 > ec0 ? (eu1 - eu0) / (ec1 - ec0) : 0,
           (eu1 - eu0) / ev, ok ? "true" : "false", v.streams, v.expected, v.found, v.duplicates,
           v.out_of_order, v.missing, v.wrong_type, v.wrong_epoch, v.hash_bad, v.retry_stored,
           v.stale_accepted, v.fleet_entries, v.fleet_out_of_order);
    for (int i = 0; i < B.threads; i++) {
        for (int j = 0; j < B.sessions; j++)
            wt_events_release(&B.t[i].s[j].ev);
        free(B.t[i].s);
        wt_redis_destroy(&B.t[i].redis);
    }
    free(B.t);
    wt_redis_destroy(&main_r);
    return ok ? 0 : 1;
}
