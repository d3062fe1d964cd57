/* wt_trig_stream - redis_stream triggers: consumer-group readers that turn
 * stream entries into sessions, at least once and never twice. */
#include "wt_trig_stream.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_log.h"
#include "wt_redis.h"
#include "wt_store.h"
#include "wt_webhook.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_MS        500  /* XREADGROUP BLOCK; below the command timeout */
#define REDIS_TIMEOUT   3000 /* ms */
#define RETRY_MS        1000 /* after Redis or broker trouble */
#define BACKPRESSURE_MS 200  /* recheck of the queue depth */

enum { O_SPAWNED, O_DEADLETTER, O_SKIPPED, O_CLAIMED, O_ERRORS, O_PAUSED, O_STANDBY, O_N };

static const char *const onames[O_N] = {"spawned", "deadletter", "skipped", "claimed",
                                        "errors",  "paused",     "standby"};

typedef struct reader {
    wt_trigger_rt_t *rt;        /* borrowed */
    const wt_trigger_t *t;      /* borrowed */
    wt_trigger_rt_conn_t *conn; /* owned: SPAWN connection of this thread */
    char url[512];              /* Redis of the stream */
    char broker_url[512];       /* the broker's Redis (leader lease) */
    char consumer[128];         /* our consumer name in the group */
    char dead[300];             /* dead-letter stream key */
    pthread_t thread;           /* the reader */
    int started;                /* thread running */
    atomic_int stop;            /* ask it to end */
    pthread_mutex_t lock;       /* guards counts */
    uint64_t counts[O_N];       /* outcomes */
} reader_t;

struct wt_trig_streams {
    reader_t *v; /* owned */
    size_t n;    /* started */
};

static void
bump(reader_t *r, int o)
{
    pthread_mutex_lock(&r->lock);
    r->counts[o]++;
    pthread_mutex_unlock(&r->lock);
}

json_t *
wt_trig_stream_root(const redisReply *f, char *why, size_t cap)
{
    if (f == NULL || f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0) {
        snprintf(why, cap, "the entry has no field/value pairs");
        return NULL;
    }
    json_t *obj = json_object();
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "payload") == 0) {
            json_error_t je;
            json_t *p = json_loadb(v->str, v->len, JSON_DECODE_ANY, &je);
            json_decref(obj);
            if (p == NULL)
                snprintf(why, cap, "field 'payload' is not JSON: %s at line %d column %d", je.text,
                         je.line, je.column);
            return p;
        }
        json_t *s = json_stringn(v->str, v->len);
        if (s == NULL) {
            json_decref(obj);
            snprintf(why, cap, "field '%.64s' is not UTF-8 text", k->str);
            return NULL;
        }
        if (json_object_set_new(obj, k->str, s) != 0) { /* jansson took s either way */
            json_decref(obj);
            snprintf(why, cap, "a field name is not UTF-8 text");
            return NULL;
        }
    }
    return obj;
}

/* Copies entry id to the dead-letter stream with why, then acknowledges it. */
static int
dead_letter(reader_t *rd, wt_redis_t *redis, const char *id, const redisReply *f, const char *why,
            wt_err_t *err)
{
    size_t nf = f && f->type == REDIS_REPLY_ARRAY ? f->elements : 0;
    size_t argc = 0, cap = 12 + nf;
    const char **argv = wt_xcalloc(cap, sizeof *argv);
    size_t *lens = wt_xcalloc(cap, sizeof *lens);
    char maxlen[32];
    snprintf(maxlen, sizeof maxlen, "%d", WT_STREAM_MAX_DEADLETTER);
    const char *head[] = {"XADD", rd->dead, "MAXLEN",  "~",       maxlen,   "*",
                          "id",   id,       "trigger", rd->t->id, "reason", why};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
        argv[argc] = head[i];
        lens[argc++] = strlen(head[i]);
    }
    for (size_t i = 0; i + 1 < nf; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            strcmp(k->str, "id") == 0 || strcmp(k->str, "trigger") == 0 ||
            strcmp(k->str, "reason") == 0)
            continue;
        argv[argc] = k->str;
        lens[argc++] = k->len;
        argv[argc] = v->str;
        lens[argc++] = v->len;
    }
    redisReply *r = wt_redis_commandv(redis, (int)argc, argv, lens, err);
    free(argv);
    free(lens);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    wt_log_warn("trigger %s: stream entry %s dead-lettered to %s: %s", rd->t->id, id, rd->dead,
                why);
    bump(rd, O_DEADLETTER);
    return 0;
}

static int
ack(reader_t *rd, wt_redis_t *redis, const char *id, wt_err_t *err)
{
    redisReply *r = wt_redis_command(redis, err, "XACK %s %s %s", rd->t->source.stream,
                                     rd->t->source.group, id);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* One entry: 0 when it is settled (spawned, skipped or dead-lettered, and
 * acknowledged), -1 when it must stay pending (Redis or broker trouble). */
static int
handle(reader_t *rd, wt_redis_t *redis, const char *id, const redisReply *f, wt_err_t *err)
{
    const wt_trigger_t *t = rd->t;
    if (f == NULL || f->type != REDIS_REPLY_ARRAY) /* deleted from the stream meanwhile */
        return ack(rd, redis, id, err);
    char why[400];
    json_t *root = wt_trig_stream_root(f, why, sizeof why);
    if (root == NULL)
        return dead_letter(rd, redis, id, f, why, err) == 0 ? ack(rd, redis, id, err) : -1;
    if (!wt_webhook_condition(t, root, why, sizeof why)) {
        json_decref(root);
        bump(rd, O_SKIPPED);
        return ack(rd, redis, id, err);
    }
    char *goal = NULL, *ctx = NULL;
    wt_err_t be = {0};
    int rc = wt_webhook_build(t, root, &goal, &ctx, &be);
    json_decref(root);
    if (rc != 0)
        return dead_letter(rd, redis, id, f, be.msg, err) == 0 ? ack(rd, redis, id, err) : -1;
    char key[200], sid[64];
    snprintf(key, sizeof key, "rs:%s:%s", t->id, id);
    json_t *detail = json_pack("{s:s, s:s, s:s}", "via", "redis_stream", "stream", t->source.stream,
                               "entry", id);
    long waiting = 0;
    wt_err_t fe = {0};
    rc = wt_trigger_rt_fire(rd->rt, rd->conn, t, key, goal, ctx, detail, sid, sizeof sid, &waiting,
                            &fe);
    json_decref(detail);
    free(goal);
    free(ctx);
    if (rc != 0 && fe.code == WT_EINVAL) /* refused for good by the broker */
        return dead_letter(rd, redis, id, f, fe.msg, err) == 0 ? ack(rd, redis, id, err) : -1;
    if (rc != 0) {
        *err = fe;
        return -1;
    }
    bump(rd, O_SPAWNED);
    return ack(rd, redis, id, err); /* only now: the session is durable */
}

/* Handles the entries of an XREADGROUP / XAUTOCLAIM entry list; -1 at the
 * first that must stay pending. */
static int
handle_all(reader_t *rd, wt_redis_t *redis, const redisReply *entries, wt_err_t *err)
{
    for (size_t i = 0; entries && i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (atomic_load(&rd->stop))
            return 0;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        if (handle(rd, redis, e->element[0]->str, e->elements > 1 ? e->element[1] : NULL, err) != 0)
            return -1;
    }
    return 0;
}

static int
ensure_group(reader_t *rd, wt_redis_t *redis, wt_err_t *err)
{
    wt_err_t e = {0};
    redisReply *r = wt_redis_command(redis, &e, "XGROUP CREATE %s %s 0 MKSTREAM",
                                     rd->t->source.stream, rd->t->source.group);
    if (r != NULL) {
        freeReplyObject(r);
        return 0;
    }
    if (strstr(e.msg, "BUSYGROUP") != NULL)
        return 0;
    *err = e;
    return -1;
}

/* Claims entries idle longer than claimIdleSeconds (ours included: an
 * entry whose SPAWN failed is retried this way). */
static int
claim(reader_t *rd, wt_redis_t *redis, long room, wt_err_t *err)
{
    /* under backpressure one pass of at most what fits; the rest waits for
     * the next look */
    int count = room < WT_STREAM_BATCH ? (int)room : WT_STREAM_BATCH;
    int passes = rd->t->max_queue_depth > 0 ? 1 : 100;
    int idle_s = rd->t->source.claim_idle_seconds ? rd->t->source.claim_idle_seconds
                                                  : WT_STREAM_CLAIM_IDLE_S;
    char cursor[64] = "0-0";
    for (int pass = 0; pass < passes && !atomic_load(&rd->stop); pass++) {
        redisReply *r = wt_redis_command(redis, err, "XAUTOCLAIM %s %s %s %lld %s COUNT %d",
                                         rd->t->source.stream, rd->t->source.group, rd->consumer,
                                         (long long)idle_s * 1000, cursor, count);
        if (r == NULL)
            return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
            r->element[0]->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            return wt_err_set(err, WT_EPROTO, "unexpected XAUTOCLAIM reply");
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *entries = r->element[1];
        for (size_t i = 0; i < entries->elements; i++)
            bump(rd, O_CLAIMED);
        if (entries->elements > 0)
            wt_log_info("trigger %s: claimed %zu pending stream entr%s", rd->t->id,
                        entries->elements, entries->elements == 1 ? "y" : "ies");
        int rc = handle_all(rd, redis, entries, err);
        freeReplyObject(r);
        if (rc != 0)
            return -1;
        if (strcmp(cursor, "0-0") == 0)
            break;
    }
    return 0;
}

static void
pause_ms(reader_t *rd, int ms)
{
    int64_t until = wt_clock_mono_ms() + ms;
    while (!atomic_load(&rd->stop) && wt_clock_mono_ms() < until)
        wt_clock_sleep_ms(20);
}

/* 1 when this broker holds the leader lease, or nobody does: a standby
 * broker's SPAWNs are refused, and what it read would wait
 * claimIdleSeconds before the active broker could claim it. The lease id
 * is "EPOCH host:pidns:pid:ulid" (wt_broker_lease.c). */
static int
active_here(wt_redis_t *bredis, wt_err_t *err)
{
    wt_store_t st;
    wt_store_init(&st, bredis, NULL);
    char key[128];
    wt_store_key(&st, key, sizeof key, "broker:leader");
    redisReply *r = wt_redis_command(bredis, err, "GET %s", key);
    if (r == NULL)
        return -1;
    int yes = 1;
    char host[64] = "?", theirs[64];
    unsigned long long ns = 0;
    long long epoch = 0;
    long pid = 0;
    gethostname(host, sizeof host - 1);
    if (r->type == REDIS_REPLY_STRING &&
        sscanf(r->str, "%lld %63[^:]:%llu:%ld:", &epoch, theirs, &ns, &pid) == 4)
        yes = strcmp(theirs, host) == 0 && pid == (long)getpid();
    freeReplyObject(r);
    return yes;
}

static void *
reader_main(void *arg)
{
    reader_t *rd = arg;
    const wt_trigger_t *t = rd->t;
    wt_redis_t *redis = NULL, *bredis = NULL;
    int grouped = 0;
    int64_t next_claim = 0;
    while (!atomic_load(&rd->stop)) {
        wt_err_t err = {0};
        if (bredis == NULL && (bredis = wt_redis_new(rd->broker_url, REDIS_TIMEOUT, &err)) == NULL)
            goto trouble;
        int here = active_here(bredis, &err);
        if (here < 0)
            goto trouble;
        if (here == 0) { /* a standby reads nothing */
            bump(rd, O_STANDBY);
            pause_ms(rd, BACKPRESSURE_MS);
            continue;
        }
        if (redis == NULL && (redis = wt_redis_new(rd->url, REDIS_TIMEOUT, &err)) == NULL)
            goto trouble;
        if (!grouped && ensure_group(rd, redis, &err) != 0)
            goto trouble;
        grouped = 1;
        long room = WT_STREAM_BATCH;
        if (t->max_queue_depth > 0) {
            long queued = 0;
            if (wt_trigger_rt_queued(rd->rt, rd->conn, t, &queued, &err) != 0)
                goto trouble;
            if (queued >= t->max_queue_depth) {
                bump(rd, O_PAUSED);
                pause_ms(rd, BACKPRESSURE_MS);
                continue;
            }
            room = t->max_queue_depth - queued; /* read no more than fits */
        }
        if (wt_clock_mono_ms() >= next_claim) {
            int idle_s = t->source.claim_idle_seconds ? t->source.claim_idle_seconds
                                                      : WT_STREAM_CLAIM_IDLE_S;
            /* a few looks per idle period, so an abandoned entry waits at most ~1.25x */
            next_claim = wt_clock_mono_ms() + (idle_s * 1000 + 3) / 4;
            if (claim(rd, redis, room, &err) != 0)
                goto trouble;
        }
        int count = room < WT_STREAM_BATCH ? (int)room : WT_STREAM_BATCH;
        redisReply *r =
            wt_redis_command(redis, &err, "XREADGROUP GROUP %s %s COUNT %d BLOCK %d STREAMS %s >",
                             t->source.group, rd->consumer, count, BLOCK_MS, t->source.stream);
        if (r == NULL) {
            if (strstr(err.msg, "NOGROUP") != NULL)
                grouped = 0; /* the stream or group was deleted: create again */
            goto trouble;
        }
        int rc = 0;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
            rc = handle_all(rd, redis, r->element[0]->element[1], &err);
        freeReplyObject(r);
        if (rc == 0)
            continue;
    trouble:
        bump(rd, O_ERRORS);
        wt_log_warn("trigger %s: stream %s: %s (retrying)", t->id, t->source.stream, err.msg);
        pause_ms(rd, RETRY_MS);
    }
    wt_redis_destroy(&redis);
    wt_redis_destroy(&bredis);
    return NULL;
}

wt_trig_streams_t *
wt_trig_streams_start(wt_trigger_rt_t *rt, const wt_triggers_t *ts, const char *redis,
                      wt_err_t *err)
{
    wt_trig_streams_t *self = wt_xcalloc(1, sizeof *self);
    size_t total = 0;
    for (size_t i = 0; i < ts->n; i++)
        total += ts->v[i].provider == WT_TRIGGER_REDIS_STREAM;
    self->v = wt_xcalloc(total + 1, sizeof *self->v);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    for (size_t i = 0; i < ts->n; i++) {
        const wt_trigger_t *t = &ts->v[i];
        if (t->provider != WT_TRIGGER_REDIS_STREAM)
            continue;
        reader_t *rd = &self->v[self->n];
        const char *url = t->source.redis ? t->source.redis : redis;
        wt_redis_url_t u;
        if (wt_redis_parse_url(url, &u, err) != 0) {
            explicit_bzero(&u, sizeof u);
            wt_trig_streams_stop(&self);
            return NULL;
        }
        explicit_bzero(&u, sizeof u);
        rd->rt = rt;
        rd->t = t;
        rd->conn = wt_trigger_rt_conn_new();
        snprintf(rd->url, sizeof rd->url, "%s", url);
        snprintf(rd->broker_url, sizeof rd->broker_url, "%s", redis);
        /* a new name per process: what a killed broker left pending is
         * claimed by XAUTOCLAIM once idle, by whichever broker runs then */
        snprintf(rd->consumer, sizeof rd->consumer, "broker-%s-%ld-%lld", host, (long)getpid(),
                 (long long)wt_clock_now_ms());
        snprintf(rd->dead, sizeof rd->dead, "%s:deadletter", t->source.stream);
        pthread_mutex_init(&rd->lock, NULL);
        atomic_init(&rd->stop, 0);
        self->n++;
        int rc = pthread_create(&rd->thread, NULL, reader_main, rd);
        if (rc != 0) {
            wt_err_set(err, WT_EIO, "cannot start the stream reader of trigger %s: %s", t->id,
                       strerror(rc));
            wt_trig_streams_stop(&self);
            return NULL;
        }
        rd->started = 1;
        wt_log_info("trigger %s: reading stream %s as %s in group %s", t->id, t->source.stream,
                    rd->consumer, t->source.group);
    }
    return self;
}

void
wt_trig_streams_stop(wt_trig_streams_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_trig_streams_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        atomic_store(&self->v[i].stop, 1);
    for (size_t i = 0; i < self->n; i++) {
        reader_t *rd = &self->v[i];
        if (rd->started)
            pthread_join(rd->thread, NULL);
        wt_trigger_rt_conn_destroy(&rd->conn);
        pthread_mutex_destroy(&rd->lock);
    }
    free(self->v);
    free(self);
    *self_p = NULL;
}

void
wt_trig_streams_metrics(wt_trig_streams_t *self, wt_buf_t *out)
{
    if (self == NULL || self->n == 0)
        return;
    wt_buf_printf(out, NULL,
                  "# HELP wt_stream_entries_total Stream trigger entries by outcome (spawned, "
                  "deadletter, skipped, claimed; errors, paused and standby count retries, "
                  "backpressure waits and waits while another broker is active).\n"
                  "# TYPE wt_stream_entries_total counter\n");
    for (size_t i = 0; i < self->n; i++) {
        reader_t *rd = &self->v[i];
        pthread_mutex_lock(&rd->lock);
        for (int k = 0; k < O_N; k++)
            wt_buf_printf(out, NULL,
                          "wt_stream_entries_total{trigger=\"%s\",outcome=\"%s\"} %llu\n",
                          rd->t->id, onames[k], (unsigned long long)rd->counts[k]);
        pthread_mutex_unlock(&rd->lock);
    }
}
