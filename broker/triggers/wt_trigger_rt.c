/* wt_trigger_rt - firing triggers: webhooks (HTTP thread), cron and serial
 * queues (trigger thread). See wt_trigger_rt.h for the Redis layout. */
#include "wt_trigger_rt.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_log.h"
#include "wt_proto.h"
#include "wt_redis.h"
#include "wt_store.h"
#include "wt_trig_incident.h"
#include "wt_trig_stream.h"
#include "wt_webhook.h"
#include "wt_wire.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define SPAWN_TIMEOUT_MS 5000
#define DEDUP_BODY_S     30
#define DEDUP_DELIVERY_S 86400
#define FIRED_MARK_S     (7 * 86400)
#define CRON_SCAN_MAX    600000 /* minutes counted after downtime (over a year) */
#define RETRY_AFTER_S    10

static const int codes[] = {200, 202, 400, 401, 404, 405, 413, 429, 503};
#define NCODES ((int)(sizeof codes / sizeof codes[0]))

/* A thread's own connections. */
typedef struct conn {
    void *sock;        /* DEALER to the broker, NULL until first use */
    wt_redis_t *redis; /* owned */
    wt_store_t store;  /* keys and prefix over redis */
    uint64_t req;      /* last request id */
} conn_t;

struct wt_trigger_rt {
    wt_trigger_rt_cfg_t cfg;     /* copy */
    pthread_t thread;            /* cron + serial queues */
    int started;                 /* thread running */
    atomic_int stop;             /* ask the thread to end */
    pthread_mutex_t serial_lock; /* serial decisions (HTTP and trigger threads) */
    pthread_mutex_t stats_lock;  /* guards the counters */
    uint64_t *fired;             /* per trigger, index as in cfg.triggers */
    uint64_t webhook[NCODES];    /* answers by code */
    uint64_t ticks;              /* passes of the trigger thread over all triggers */
    conn_t http;                 /* HTTP thread's connections */
    conn_t loop;                 /* trigger thread's connections */
    int64_t *cron_retry_s;       /* per trigger: no cron attempt before (after a failure) */
    void (*extra_metrics)(void *arg, wt_buf_t *out); /* pollers' counters, or NULL */
    void *extra_metrics_arg;                         /* its argument */
    char events_last[64];         /* fleet stream position of the trigger thread */
    wt_trig_incident_t *incident; /* alertmanager and pagerduty webhooks */
    wt_trig_streams_t *streams;   /* redis_stream readers */
};

/* --- connections --- */

static int
conn_ready(wt_trigger_rt_t *self, conn_t *c, wt_err_t *err)
{
    if (c->redis == NULL) {
        c->redis = wt_redis_new(self->cfg.redis_url, 2000, err);
        if (c->redis == NULL)
            return -1;
        wt_store_init(&c->store, c->redis, NULL);
    }
    if (c->sock == NULL) {
        c->sock = zmq_socket(self->cfg.zctx, ZMQ_DEALER);
        int zero = 0;
        zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_connect(c->sock, self->cfg.broker_ep) != 0) {
            wt_err_set(err, WT_EIO, "cannot connect to the broker at '%s': %s", self->cfg.broker_ep,
                       zmq_strerror(errno));
            zmq_close(c->sock);
            c->sock = NULL;
            return -1;
        }
    }
    return 0;
}

static void
conn_release(conn_t *c)
{
    if (c->sock)
        zmq_close(c->sock);
    c->sock = NULL;
    wt_redis_destroy(&c->redis);
}

/* SPAWN and wait for its answer; 0 with sid, -1 with err. */
static int
spawn(conn_t *c, const wt_trigger_t *t, const char *key, const char *goal, const char *ctx,
      char *sid, size_t cap, int *existing, wt_err_t *err)
{
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    m->req = ++c->req;
    wt_msg_set(&m->workflow, t->workflow_id);
    wt_msg_set(&m->goal, goal);
    wt_msg_set(&m->context_json, ctx);
    wt_msg_set(&m->key, key);
    wt_msg_set(&m->workspace, t->workspace_path);
    m->max_turns = t->agent.max_turns;
    m->timeout_ms = (int64_t)t->agent.max_session_minutes * 60000;
    m->retain_ms = t->retain_ms;
    int rc = wt_wire_send(c->sock, NULL, 0, m, 0, err);
    uint64_t want = m->req;
    wt_msg_destroy(&m);
    if (rc != 0)
        return -1;
    int64_t deadline = wt_clock_mono_ms() + SPAWN_TIMEOUT_MS;
    for (;;) {
        long left = (long)(deadline - wt_clock_mono_ms());
        if (left <= 0)
            return wt_err_set(err, WT_ETIMEDOUT, "the broker did not answer SPAWN within %d ms",
                              SPAWN_TIMEOUT_MS);
        zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, left) <= 0)
            continue;
        wt_msg_t *r = NULL;
        int code = 0;
        wt_err_t e = {0};
        if (wt_wire_recv(c->sock, 0, WT_CHAN_CLIENT, NULL, NULL, &r, &code, 1, &e) != 1)
            continue;
        if (r->req != want) { /* a late answer to an earlier, timed-out request */
            wt_msg_destroy(&r);
            continue;
        }
        if (r->cmd == WT_CMD_SPAWNED && r->session) {
            snprintf(sid, cap, "%s", r->session);
            *existing = r->existing;
            wt_msg_destroy(&r);
            return 0;
        }
        /* Refusals of the request itself are final (EINVAL); the broker being
         * unable to store it now is not (EPROTO: try again later). */
        int final = r->cmd == WT_CMD_ERROR &&
                    (r->code == WT_PROTO_E_REFUSED || r->code == WT_PROTO_E_TOO_BIG ||
                     r->code == WT_PROTO_E_BAD_BODY || r->code == WT_PROTO_E_MISSING);
        wt_err_set(err, final ? WT_EINVAL : WT_EPROTO, "the broker refused the session: %s",
                   r->message ? r->message : wt_cmd_name((int)r->cmd));
        wt_msg_destroy(&r);
        return -1;
    }
}

/* --- counters --- */

static size_t
index_of(const wt_trigger_rt_t *self, const wt_trigger_t *t)
{
    return (size_t)(t - self->cfg.triggers->v);
}

void
wt_trigger_rt_count(wt_trigger_rt_t *self, int status)
{
    pthread_mutex_lock(&self->stats_lock);
    for (int i = 0; i < NCODES; i++)
        if (codes[i] == status)
            self->webhook[i]++;
    pthread_mutex_unlock(&self->stats_lock);
}

void
wt_trigger_rt_metrics(wt_trigger_rt_t *self, wt_buf_t *out)
{
    const wt_triggers_t *ts = self->cfg.triggers;
    pthread_mutex_lock(&self->stats_lock);
    wt_buf_printf(out, NULL,
                  "# HELP wt_trigger_fired_total Sessions started by each trigger.\n"
                  "# TYPE wt_trigger_fired_total counter\n");
    for (size_t i = 0; i < ts->n; i++)
        wt_buf_printf(out, NULL, "wt_trigger_fired_total{trigger=\"%s\"} %llu\n", ts->v[i].id,
                      (unsigned long long)self->fired[i]);
    wt_buf_printf(out, NULL,
                  "# HELP wt_webhook_requests_total Webhook deliveries by HTTP status.\n"
                  "# TYPE wt_webhook_requests_total counter\n");
    for (int i = 0; i < NCODES; i++)
        wt_buf_printf(out, NULL, "wt_webhook_requests_total{code=\"%d\"} %llu\n", codes[i],
                      (unsigned long long)self->webhook[i]);
    wt_buf_printf(out, NULL,
                  "# HELP wt_trigger_ticks_total Passes of the trigger thread (cron, serial).\n"
                  "# TYPE wt_trigger_ticks_total counter\n"
                  "wt_trigger_ticks_total %llu\n",
                  (unsigned long long)self->ticks);
    pthread_mutex_unlock(&self->stats_lock);
    if (self->extra_metrics != NULL)
        self->extra_metrics(self->extra_metrics_arg, out);
    wt_trig_incident_metrics(self->incident, out);
    wt_trig_streams_metrics(self->streams, out);
}

size_t
wt_trigger_rt_max_body(const wt_trigger_rt_t *self)
{
    return self->cfg.webhook_max_bytes;
}

/* --- Redis bookkeeping --- */

static char *
tkey(conn_t *c, char *out, size_t cap, const wt_trigger_t *t, const char *what)
{
    return wt_store_key(&c->store, out, cap, "trigger:%s:%s", t->id, what);
}

/* Drops finished sessions from the trigger's active set; counts the rest
 * (*live) and those still queued (*queued). */
static int
prune(conn_t *c, const wt_trigger_t *t, long *live, long *queued, wt_err_t *err)
{
    char key[256];
    tkey(c, key, sizeof key, t, "active");
    *live = *queued = 0;
    redisReply *r = wt_redis_command(c->redis, err, "SMEMBERS %s", key);
    if (r == NULL)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < r->elements && rc == 0; i++) {
        const char *sid = r->element[i]->str;
        char hk[160];
        wt_store_key(&c->store, hk, sizeof hk, "session:%s", sid);
        redisReply *s = wt_redis_command(c->redis, err, "HGET %s status", hk);
        if (s == NULL) {
            rc = -1;
            break;
        }
        const char *st = s->type == REDIS_REPLY_STRING ? s->str : "";
        if (strcmp(st, "queued") == 0 || strcmp(st, "running") == 0) {
            (*live)++;
            *queued += st[0] == 'q';
        } else {
            redisReply *d = wt_redis_command(c->redis, err, "SREM %s %s", key, sid);
            if (d == NULL)
                rc = -1;
            else
                freeReplyObject(d);
        }
        freeReplyObject(s);
    }
    freeReplyObject(r);
    return rc;
}

static long
waiting_len(conn_t *c, const wt_trigger_t *t, wt_err_t *err)
{
    char key[256];
    redisReply *r =
        wt_redis_command(c->redis, err, "LLEN %s", tkey(c, key, sizeof key, t, "waiting"));
    if (r == NULL)
        return -1;
    long n = (long)r->integer;
    freeReplyObject(r);
    return n;
}

/* Spawns, records the session as active, and writes trigger_fired once per
 * idempotency key (a SET NX mark), whichever attempt created it. */
static int
start_session(wt_trigger_rt_t *self, conn_t *c, const wt_trigger_t *t, const char *key,
              const char *goal, const char *ctx, json_t *detail, char *sid, size_t cap,
              int *existing, wt_err_t *err)
{
    if (spawn(c, t, key, goal, ctx, sid, cap, existing, err) != 0)
        return -1;
    char k[512];
    redisReply *r =
        wt_redis_command(c->redis, err, "SADD %s %s", tkey(c, k, sizeof k, t, "active"), sid);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    wt_store_key(&c->store, k, sizeof k, "trigger:fired:%s", key);
    r = wt_redis_command(c->redis, err, "SET %s %s NX EX %d", k, sid, FIRED_MARK_S);
    if (r == NULL)
        return -1;
    int first = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!first)
        return 0;
    json_t *ev = json_pack("{s:s, s:s, s:s, s:O}", "trigger", t->id, "provider",
                           wt_trigger_provider_name(t->provider), "session", sid, "detail",
                           detail ? detail : json_null());
    char *data = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    wt_store_key(&c->store, k, sizeof k, "events");
    r = wt_redis_command(c->redis, err,
                         "XADD %s MAXLEN ~ %d * type trigger_fired session %s data %s", k,
                         WT_STORE_EVENTS_CAP, sid, data);
    free(data);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    pthread_mutex_lock(&self->stats_lock);
    self->fired[index_of(self, t)]++;
    pthread_mutex_unlock(&self->stats_lock);
    wt_log_info("trigger %s fired: session %s", t->id, sid);
    return 0;
}

/* Fires t: parallel triggers start a session now; serial ones start one
 * only when none of theirs is live and none is waiting, else the request
 * joins the FIFO (*waiting = its position, sid ""). */
static int
fire(wt_trigger_rt_t *self, conn_t *c, const wt_trigger_t *t, const char *key, const char *goal,
     const char *ctx, json_t *detail, char *sid, size_t cap, int *existing, long *waiting,
     wt_err_t *err)
{
    *waiting = 0;
    sid[0] = '\0';
    *existing = 0;
    if (!t->serial)
        return start_session(self, c, t, key, goal, ctx, detail, sid, cap, existing, err);
    pthread_mutex_lock(&self->serial_lock);
    long live, queued, nw;
    int rc = -1;
    if (prune(c, t, &live, &queued, err) != 0 || (nw = waiting_len(c, t, err)) < 0)
        goto out;
    if (live == 0 && nw == 0) {
        rc = start_session(self, c, t, key, goal, ctx, detail, sid, cap, existing, err);
        goto out;
    }
    json_t *item = json_pack("{s:s, s:s, s:s, s:O}", "key", key, "goal", goal, "context", ctx,
                             "detail", detail ? detail : json_null());
    char *js = json_dumps(item, JSON_COMPACT);
    json_decref(item);
    char k[256];
    redisReply *r =
        wt_redis_command(c->redis, err, "RPUSH %s %s", tkey(c, k, sizeof k, t, "waiting"), js);
    free(js);
    if (r != NULL) {
        *waiting = (long)r->integer;
        freeReplyObject(r);
        rc = 0;
    }
out:
    pthread_mutex_unlock(&self->serial_lock);
    return rc;
}

/* Serial trigger: when nothing of its own is live, start the oldest waiting
 * request (LINDEX, start, then LPOP: a crash in between repeats the SPAWN
 * with the same key, which intake answers with the same session). */
static void
drain_serial(wt_trigger_rt_t *self, conn_t *c, const wt_trigger_t *t)
{
    wt_err_t err = {0};
    pthread_mutex_lock(&self->serial_lock);
    long live, queued;
    char k[256];
    tkey(c, k, sizeof k, t, "waiting");
    redisReply *r = NULL;
    if (prune(c, t, &live, &queued, &err) != 0)
        goto out;
    if (live > 0)
        goto out;
    if ((r = wt_redis_command(c->redis, &err, "LINDEX %s 0", k)) == NULL ||
        r->type != REDIS_REPLY_STRING)
        goto out;
    json_error_t je;
    json_t *item = json_loads(r->str, 0, &je);
    const char *key = NULL, *goal = NULL, *ctx = NULL;
    json_t *detail = NULL;
    if (json_unpack(item, "{s:s, s:s, s:s, s?o}", "key", &key, "goal", &goal, "context", &ctx,
                    "detail", &detail) != 0) {
        wt_log_warn("trigger %s: dropping a malformed waiting entry", t->id);
    } else {
        char sid[64];
        int existing;
        if (start_session(self, c, t, key, goal, ctx, detail, sid, sizeof sid, &existing, &err) !=
                0 &&
            err.code != WT_EINVAL) {
            json_decref(item);
            goto out; /* try again at the next tick */
        }
        if (err.code == WT_EINVAL) {
            /* Refused for good: retrying would block the queue forever. */
            wt_log_error("trigger %s: dropping a waiting request: %s", t->id, err.msg);
            err.code = WT_OK;
        }
    }
    json_decref(item);
    redisReply *p = wt_redis_command(c->redis, &err, "LPOP %s", k);
    if (p)
        freeReplyObject(p);
out:
    if (r)
        freeReplyObject(r);
    pthread_mutex_unlock(&self->serial_lock);
    if (err.code != WT_OK)
        wt_log_warn("trigger %s: serial queue: %s", t->id, err.msg);
}

/* --- cron --- */

static int64_t
now_s(const wt_trigger_rt_t *self)
{
    return wt_clock_file_ms(self->cfg.clock_file) / 1000;
}

/* Fires a cron trigger at most once per tick: for the latest due minute
 * since the last one handled; earlier due minutes are counted as skipped. */
static void
cron_tick(wt_trigger_rt_t *self, conn_t *c, const wt_trigger_t *t, int64_t now)
{
    size_t idx = index_of(self, t);
    if (now < self->cron_retry_s[idx])
        return;
    wt_err_t err = {0};
    int64_t cur = now - ((now % 60) + 60) % 60;
    char k[256];
    tkey(c, k, sizeof k, t, "cron_last");
    redisReply *r = wt_redis_command(c->redis, &err, "GET %s", k);
    if (r == NULL)
        goto fail;
    int64_t from = cur - 60;
    if (r->type == REDIS_REPLY_STRING)
        from = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    if (cur <= from)
        return;
    long due = 0;
    int64_t latest = -1;
    for (int64_t x = from; due < CRON_SCAN_MAX;) {
        x = wt_cron_next(&t->cron, x);
        if (x < 0 || x > cur)
            break;
        due++;
        latest = x;
    }
    if (due > 0) {
        char key[128], iso[32], sid[64];
        snprintf(key, sizeof key, "cron:%s:%lld", t->id, (long long)latest);
        wt_clock_format_iso(latest * 1000, iso, sizeof iso);
        json_t *detail = json_pack("{s:s, s:I, s:I}", "minute", iso, "scheduled_s",
                                   (json_int_t)latest, "skipped", (json_int_t)(due - 1));
        int existing;
        long waiting;
        int rc = fire(self, c, t, key, t->goal ? t->goal : "", "{}", detail, sid, sizeof sid,
                      &existing, &waiting, &err);
        json_decref(detail);
        if (rc != 0)
            goto fail;
        if (due > 1)
            wt_log_info("trigger %s: %ld scheduled run%s missed while down, fired once", t->id,
                        due - 1, due == 2 ? "" : "s");
    }
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)cur);
    if ((r = wt_redis_command(c->redis, &err, "SET %s %s", k, v)) == NULL)
        goto fail;
    freeReplyObject(r);
    return;
fail:
    wt_log_warn("trigger %s: cron: %s (retrying)", t->id, err.msg);
    self->cron_retry_s[idx] = now + 1;
}

/* --- the trigger thread --- */

/* Waits for the next tick. With serial triggers the wait is an XREAD BLOCK
 * on the fleet stream, so a session_completed starts the next waiting
 * request at once instead of at the next tick; the tick stays as the
 * fallback (and drives cron). */
static void
wait_tick(wt_trigger_rt_t *self, const wt_triggers_t *ts)
{
    int serial = 0;
    for (size_t i = 0; i < ts->n; i++)
        serial |= ts->v[i].serial;
    int64_t deadline = wt_clock_mono_ms() + self->cfg.tick_ms;
    wt_err_t err = {0};
    while (serial && !atomic_load(&self->stop) && conn_ready(self, &self->loop, &err) == 0) {
        int64_t left = deadline - wt_clock_mono_ms();
        if (left <= 0)
            return;
        char key[128];
        wt_store_key(&self->loop.store, key, sizeof key, "events");
        redisReply *r =
            wt_redis_command(self->loop.redis, &err, "XREAD COUNT 1000 BLOCK %lld STREAMS %s %s",
                             (long long)left, key, self->events_last);
        if (r == NULL)
            break; /* Redis trouble: plain sleep below */
        int completed = 0;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
            redisReply *entries = r->element[0]->element[1];
            for (size_t i = 0; i < entries->elements; i++) {
                redisReply *e = entries->element[i], *f = e->element[1];
                snprintf(self->events_last, sizeof self->events_last, "%s", e->element[0]->str);
                const char *type = wt_redis_field(f, "type");
                completed |= type && strcmp(type, "session_completed") == 0;
            }
        }
        freeReplyObject(r);
        if (completed)
            return; /* a serial trigger's session may have ended: drain now */
    }
    while (wt_clock_mono_ms() < deadline && !atomic_load(&self->stop))
        wt_clock_sleep_ms(50);
}

static void *
thread_main(void *arg)
{
    wt_trigger_rt_t *self = arg;
    const wt_triggers_t *ts = self->cfg.triggers;
    while (!atomic_load(&self->stop)) {
        wt_err_t err = {0};
        if (conn_ready(self, &self->loop, &err) == 0) {
            int64_t now = now_s(self);
            for (size_t i = 0; i < ts->n && !atomic_load(&self->stop); i++) {
                const wt_trigger_t *t = &ts->v[i];
                if (t->provider == WT_TRIGGER_CRON)
                    cron_tick(self, &self->loop, t, now);
                if (t->serial)
                    drain_serial(self, &self->loop, t);
            }
            pthread_mutex_lock(&self->stats_lock);
            self->ticks++;
            pthread_mutex_unlock(&self->stats_lock);
        }
        wait_tick(self, ts);
    }
    return NULL;
}

wt_trigger_rt_t *
wt_trigger_rt_new(const wt_trigger_rt_cfg_t *cfg, wt_err_t *err)
{
    wt_trigger_rt_t *self = wt_xcalloc(1, sizeof *self);
    self->cfg = *cfg;
    if (self->cfg.webhook_max_bytes == 0)
        self->cfg.webhook_max_bytes = WT_TRIGGER_RT_DEFAULT_MAX_BODY;
    if (self->cfg.tick_ms <= 0)
        self->cfg.tick_ms = 200;
    snprintf(self->events_last, sizeof self->events_last, "$");
    self->fired = wt_xcalloc(cfg->triggers->n + 1, sizeof *self->fired);
    self->cron_retry_s = wt_xcalloc(cfg->triggers->n + 1, sizeof *self->cron_retry_s);
    pthread_mutex_init(&self->serial_lock, NULL);
    pthread_mutex_init(&self->stats_lock, NULL);
    atomic_init(&self->stop, 0);
    int rc = pthread_create(&self->thread, NULL, thread_main, self);
    if (rc != 0) {
        wt_err_set(err, WT_EIO, "cannot start the trigger thread: %s", strerror(rc));
        wt_trigger_rt_destroy(&self);
        return NULL;
    }
    self->started = 1;
    self->incident = wt_trig_incident_new(self, cfg->triggers, cfg->redis_url);
    if ((self->streams = wt_trig_streams_start(self, cfg->triggers, cfg->redis_url, err)) == NULL) {
        wt_trigger_rt_destroy(&self);
        return NULL;
    }
    return self;
}

void
wt_trigger_rt_destroy(wt_trigger_rt_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_trigger_rt_t *self = *self_p;
    wt_trig_streams_stop(&self->streams); /* their threads fire through this runtime */
    wt_trig_incident_destroy(&self->incident);
    atomic_store(&self->stop, 1);
    if (self->started)
        pthread_join(self->thread, NULL);
    conn_release(&self->loop);
    conn_release(&self->http);
    pthread_mutex_destroy(&self->serial_lock);
    pthread_mutex_destroy(&self->stats_lock);
    free(self->fired);
    free(self->cron_retry_s);
    free(self);
    *self_p = NULL;
}

/* --- webhooks --- */

static void
answer(wt_trigger_rt_t *self, wt_webhook_resp_t *resp, int status, json_t *body)
{
    resp->status = status;
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    snprintf(resp->body, sizeof resp->body, "%s\n", s ? s : "{}");
    free(s);
    wt_trigger_rt_count(self, status);
}

static void
answer_error(wt_trigger_rt_t *self, wt_webhook_resp_t *resp, int status, const char *msg)
{
    answer(self, resp, status, json_pack("{s:s}", "error", msg));
}

void
wt_trigger_rt_webhook(wt_trigger_rt_t *self, const wt_webhook_req_t *req, wt_webhook_resp_t *resp)
{
    memset(resp, 0, sizeof *resp);
    char msg[512];
    const wt_trigger_t *t = wt_triggers_find(self->cfg.triggers, req->id);
    if (t != NULL &&
        (t->provider == WT_TRIGGER_ALERTMANAGER || t->provider == WT_TRIGGER_PAGERDUTY))
        return wt_trig_incident_webhook(self->incident, t, req, resp);
    if (t == NULL || t->provider != WT_TRIGGER_GENERIC) {
        snprintf(msg, sizeof msg, "no webhook trigger '%.100s'", req->id);
        return answer_error(self, resp, 404, msg);
    }
    if (t->hmac_secret) {
        const char *sig = req->sig_workrail ? req->sig_workrail : req->sig_github;
        if (!wt_webhook_verify(t->hmac_secret, req->body, req->len, sig))
            return answer_error(self, resp, 401,
                                sig ? "signature does not match the body"
                                    : "missing signature (X-WorkRail-Signature or "
                                      "X-Hub-Signature-256)");
    }
    json_t *payload;
    if (req->len == 0) {
        payload = json_object();
    } else {
        json_error_t je;
        payload = json_loadb(req->body, req->len, JSON_DECODE_ANY, &je);
        if (payload == NULL) {
            snprintf(msg, sizeof msg, "bad JSON: %s at line %d column %d (byte %d)", je.text,
                     je.line, je.column, je.position);
            return answer_error(self, resp, 400, msg);
        }
    }
    char why[300];
    if (!wt_webhook_condition(t, payload, why, sizeof why)) {
        json_decref(payload);
        return answer(self, resp, 200, json_pack("{s:b, s:s}", "dispatched", 0, "reason", why));
    }
    char *goal = NULL, *ctx = NULL;
    wt_err_t err = {0};
    int rc = wt_webhook_build(t, payload, &goal, &ctx, &err);
    json_decref(payload);
    if (rc != 0)
        return answer_error(self, resp, 400, err.msg);

    conn_t *c = &self->http;
    char hx[65], dkey[256], key[256], sid[64];
    redisReply *r = NULL;
    int existing = 0;
    long waiting = 0;
    if (conn_ready(self, c, &err) != 0)
        goto unavailable;
    if (req->delivery && req->delivery[0]) {
        char *d = wt_xasprintf("delivery:%s", req->delivery);
        wt_webhook_sha256_hex(d, strlen(d), hx);
        free(d);
        snprintf(key, sizeof key, "trig:%s:d:%s", t->id, hx);
    } else {
        wt_webhook_sha256_hex(req->body, req->len, hx);
        snprintf(key, sizeof key, "trig:%s:b:%s:%lld", t->id, hx, (long long)wt_clock_now_ms());
    }
    tkey(c, dkey, sizeof dkey, t, "dedup:");
    snprintf(dkey + strlen(dkey), sizeof dkey - strlen(dkey), "%s", hx);
    /* The mark holds "k:<idempotency key>" from the moment it is taken and
     * "s:<sid>" once the session exists. A duplicate that finds "k:" (the
     * first delivery is in flight, or its broker died before SPAWN) fires
     * again with the same key: intake makes that idempotent, so the
     * delivery is neither lost nor doubled. Serial triggers queue instead
     * of spawning, so there the duplicate only reports the pending one. */
    if ((r = wt_redis_command(c->redis, &err, "GET %s", dkey)) == NULL)
        goto unavailable;
    if (r->type == REDIS_REPLY_STRING && strncmp(r->str, "k:", 2) == 0 && !t->serial) {
        snprintf(key, sizeof key, "%s", r->str + 2);
        freeReplyObject(r);
        goto spawn;
    }
    if (r->type == REDIS_REPLY_STRING) {
        json_t *b = json_pack("{s:s?, s:b}", "session", r->str[0] == 's' ? r->str + 2 : NULL,
                              "duplicate", 1);
        freeReplyObject(r);
        free(goal);
        free(ctx);
        return answer(self, resp, 202, b);
    }
    freeReplyObject(r);
    if (t->max_queue_depth > 0) {
        long live, queued, nw;
        if (prune(c, t, &live, &queued, &err) != 0 || (nw = waiting_len(c, t, &err)) < 0)
            goto unavailable;
        if (queued + nw >= t->max_queue_depth) {
            snprintf(msg, sizeof msg, "trigger '%s' has %ld session%s waiting (maxQueueDepth %d)",
                     t->id, queued + nw, queued + nw == 1 ? "" : "s", t->max_queue_depth);
            free(goal);
            free(ctx);
            resp->retry_after = RETRY_AFTER_S;
            return answer_error(self, resp, 429, msg);
        }
    }
    int ttl = req->delivery && req->delivery[0] ? DEDUP_DELIVERY_S : DEDUP_BODY_S;
    if ((r = wt_redis_command(c->redis, &err, "SET %s k:%s NX EX %d", dkey, key, ttl)) == NULL)
        goto unavailable;
    int fresh = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!fresh) {
        /* Another delivery of the same request took the mark first. */
        if (!t->serial && (r = wt_redis_command(c->redis, &err, "GET %s", dkey)) != NULL) {
            int pending = r->type == REDIS_REPLY_STRING && strncmp(r->str, "k:", 2) == 0;
            if (pending)
                snprintf(key, sizeof key, "%s", r->str + 2);
            freeReplyObject(r);
            if (pending)
                goto spawn;
        }
        free(goal);
        free(ctx);
        return answer(self, resp, 202, json_pack("{s:n, s:b}", "session", "duplicate", 1));
    }
spawn:;
    json_t *detail = json_pack("{s:s, s:s?}", "via", "webhook", "delivery",
                               req->delivery && req->delivery[0] ? req->delivery : NULL);
    rc = fire(self, c, t, key, goal, ctx, detail, sid, sizeof sid, &existing, &waiting, &err);
    json_decref(detail);
    free(goal);
    free(ctx);
    goal = ctx = NULL;
    if (rc != 0) {
        /* Parallel: the mark stays and a redelivery fires with its key.
         * Serial: a redelivery could not tell whether it was queued. */
        if (t->serial && (r = wt_redis_command(c->redis, NULL, "DEL %s", dkey)) != NULL)
            freeReplyObject(r);
        goto unavailable;
    }
    char val[80];
    snprintf(val, sizeof val, "%s", sid[0] ? "" : "waiting");
    if (sid[0])
        snprintf(val, sizeof val, "s:%s", sid);
    r = wt_redis_command(c->redis, &err, "SET %s %s XX KEEPTTL", dkey, val);
    if (r)
        freeReplyObject(r);
    if (sid[0])
        return answer(self, resp, 202,
                      json_pack("{s:s, s:b}", "session", sid, "duplicate", existing));
    return answer(self, resp, 202,
                  json_pack("{s:n, s:I}", "session", "waiting", (json_int_t)waiting));
unavailable:
    free(goal);
    free(ctx);
    wt_log_warn("webhook %s: %s", t->id, err.msg);
    snprintf(msg, sizeof msg, "cannot start the session now: %s", err.msg);
    resp->retry_after = 5;
    answer_error(self, resp, 503, msg);
}

/* --- firing from other threads (pollers) --- */

struct wt_trigger_rt_conn {
    conn_t c; /* the calling thread's DEALER and Redis connection */
};

wt_trigger_rt_conn_t *
wt_trigger_rt_conn_new(void)
{
    return wt_xcalloc(1, sizeof(wt_trigger_rt_conn_t));
}

void
wt_trigger_rt_conn_destroy(wt_trigger_rt_conn_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    conn_release(&(*self_p)->c);
    free(*self_p);
    *self_p = NULL;
}

int
wt_trigger_rt_fire(wt_trigger_rt_t *self, wt_trigger_rt_conn_t *conn, const wt_trigger_t *t,
                   const char *key, const char *goal, const char *ctx, json_t *detail, char *sid,
                   size_t cap, long *waiting, wt_err_t *err)
{
    if (conn_ready(self, &conn->c, err) != 0)
        return -1;
    int existing = 0;
    return fire(self, &conn->c, t, key, goal, ctx, detail, sid, cap, &existing, waiting, err);
}

int
wt_trigger_rt_queued(wt_trigger_rt_t *self, wt_trigger_rt_conn_t *conn, const wt_trigger_t *t,
                     long *queued, wt_err_t *err)
{
    long live;
    if (conn_ready(self, &conn->c, err) != 0)
        return -1;
    return prune(&conn->c, t, &live, queued, err);
}

void
wt_trigger_rt_set_metrics_hook(wt_trigger_rt_t *self, void (*fn)(void *arg, wt_buf_t *out),
                               void *arg)
{
    self->extra_metrics = fn;
    self->extra_metrics_arg = arg;
}
