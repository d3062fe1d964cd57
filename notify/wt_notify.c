/* wt_notify - webhook and Slack notifications, delivered off the caller's
 * thread.
 *
 * Design: posts go into a bounded ring (oldest dropped when full) guarded by
 * one mutex; a single delivery thread per wt_notify_t takes them in order,
 * so one curl easy handle and one Redis connection serve it without
 * sharing. The same condition variable wakes the thread for new posts and
 * for shutdown, and also serves as its backoff sleep, so wt_notify_destroy
 * can cut a backoff short when its flush deadline passes. The retry loop is
 * shared with wt_notify_send_sync, which runs it on the caller's thread and
 * sleeps plainly. The policy itself (classification, backoff with full
 * jitter, Retry-After) lives in pure functions tested on their own.
 *
 * Secrets: a URL is never copied into an error, a log line or a Redis
 * field. Errors come from wt_http (curl's text, no URL) or "HTTP <status>". */
#include "wt_notify_int.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_http.h"
#include "wt_log.h"
#include "wt_outbox.h"
#include "wt_redis.h"
#include "wt_store.h"
#include "wt_ulid.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define REDIS_TIMEOUT_MS 1000 /* a down Redis costs the delivery thread at most this */
#define TEXT_MAX         4096 /* bytes of a Slack text */
#define OUTBOX_POLL_MS   500  /* idle look at the outbox (others' entries, retries due) */
#define LEASE_MARGIN_MS  2000 /* a claim's lease: one try's timeout plus this */

typedef struct item {
    char event[64]; /* notification name */
    json_t *body;   /* owned */
} item_t;

struct wt_notify {
    wt_notify_cfg_t cfg;     /* copy, read-only */
    int enabled;             /* a target is configured and the thread runs */
    pthread_t thread;        /* the delivery thread */
    pthread_mutex_t lock;    /* guards ring, head, count, stopping, deadline, stats */
    pthread_cond_t cond;     /* new post, shutdown (CLOCK_MONOTONIC) */
    item_t *ring;            /* cfg.queue_cap slots */
    int head;                /* index of the oldest post */
    int count;               /* posts queued */
    int stopping;            /* wt_notify_destroy was called */
    int64_t flush_deadline;  /* monotonic ms; valid when stopping */
    int own_pending;         /* outbox entries this object stored and has not finished */
    wt_notify_stats_t stats; /* counters */
    /* Delivery thread only. */
    wt_http_t *http;    /* reused handle */
    wt_redis_t *redis;  /* outcome records, or NULL */
    wt_store_t store;   /* key naming over redis */
    int redis_down;     /* a record failed; logged once until one works */
    wt_outbox_t outbox; /* the Redis outbox over store */
    int outbox_on;      /* Redis configured: posts go through the outbox */
    int outbox_down;    /* the outbox failed; logged once until it works */
    char token[32];     /* this object's id: outbox origin and lease owner */
    uint64_t rnd;       /* jitter state */
};

/* One delivery to one target: what the retry loop ended with. */
typedef struct result {
    int delivered;   /* got a 2xx */
    int attempts;    /* tries made */
    long status;     /* last HTTP status, 0 when none */
    char error[160]; /* last error, "" when delivered; never a URL */
} result_t;

/* What the retry loop runs with. */
typedef struct sender {
    wt_http_t *http;            /* borrowed */
    const wt_notify_cfg_t *cfg; /* borrowed */
    wt_notify_t *owner;         /* the async owner (its deadline, its wakeups), or NULL */
    uint64_t *rnd;              /* jitter state */
} sender_t;

/* --- pure parts --- */

wt_notify_class_t
wt_notify_classify(long status)
{
    if (status >= 200 && status <= 299)
        return WT_NOTIFY_DELIVERED;
    if (status == 0 || status == 408 || status == 429 || (status >= 500 && status <= 599))
        return WT_NOTIFY_RETRY;
    return WT_NOTIFY_FAIL;
}

/* The notifier's retry policy (see wt_http.h): 408/429/5xx and no answer
 * are retried; Retry-After (seconds or HTTP-date) only on 429 and 503,
 * capped like the backoff. */
static wt_http_retry_t
policy_of(const wt_notify_cfg_t *cfg)
{
    wt_http_retry_t p = {.max_attempts = cfg->max_attempts,
                         .base_ms = cfg->backoff_ms,
                         .cap_ms = cfg->backoff_cap_ms,
                         .server_wait_cap_ms = cfg->backoff_cap_ms};
    return p;
}

int64_t
wt_notify_delay_ms(const wt_notify_cfg_t *cfg, int attempt, long status, int64_t retry_after_ms,
                   uint64_t rnd)
{
    wt_http_retry_t p = policy_of(cfg);
    p.max_attempts = attempt + 1; /* the question here is only "how long" */
    wt_http_hints_t h;
    wt_http_hints_init(&h);
    h.retry_after_ms = retry_after_ms;
    if (!wt_http_retry_retryable(&p, status))
        status = 500; /* callers ask after any failure; keep the backoff answer */
    int64_t d = wt_http_retry_delay_ms(&p, attempt, status, &h, 0, rnd);
    return d > 0 ? d : 0;
}

/* Appends s on one line, Slack-escaped (& < >), cut at max bytes on a UTF-8
 * character boundary with "..." added. */
static void
put_text(wt_buf_t *b, const char *s, size_t max)
{
    size_t n = strlen(s), cut = n;
    if (n > max) {
        cut = max;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
    }
    for (size_t i = 0; i < cut; i++) {
        char c = s[i];
        if (c == '&')
            wt_buf_puts(b, "&amp;", NULL);
        else if (c == '<')
            wt_buf_puts(b, "&lt;", NULL);
        else if (c == '>')
            wt_buf_puts(b, "&gt;", NULL);
        else if (c == '\n' || c == '\r' || c == '\t')
            wt_buf_puts(b, " ", NULL);
        else
            wt_buf_append(b, &c, 1, NULL);
    }
    if (cut < n)
        wt_buf_puts(b, "...", NULL);
}

static void
put_field(wt_buf_t *b, const char *label, json_t *body, const char *key, size_t max)
{
    const char *v = json_string_value(json_object_get(body, key));
    if (v == NULL || *v == '\0')
        return;
    wt_buf_printf(b, NULL, " | %s: ", label);
    put_text(b, v, max);
}

char *
wt_notify_slack_text(const char *event, json_t *body)
{
    wt_buf_t b;
    wt_buf_init(&b, TEXT_MAX);
    const char *msg = json_string_value(json_object_get(body, "message"));
    if (msg != NULL && *msg != '\0') {
        put_text(&b, msg, 1000);
    } else {
        wt_buf_puts(&b, "WorkTrain ", NULL);
        put_text(&b, event && *event ? event : "notification", 64);
    }
    put_field(&b, "outcome", body, "outcome", 64);
    put_field(&b, "session", body, "sessionId", 64);
    put_field(&b, "workflow", body, "workflowId", 128);
    put_field(&b, "goal", body, "goal", 300);
    put_field(&b, "detail", body, "detail", 500);
    return wt_buf_detach(&b);
}

json_t *
wt_notify_body_new(const char *event, const char *workflow_id, const char *session_id,
                   const char *outcome, const char *detail, const char *goal, int64_t ts_ms)
{
    char ts[40];
    wt_clock_format_iso(ts_ms, ts, sizeof ts);
    json_t *b = json_object();
    json_object_set_new(b, "event", json_string(event ? event : ""));
    json_object_set_new(b, "workflowId", json_string(workflow_id ? workflow_id : ""));
    json_object_set_new(b, "sessionId", json_string(session_id ? session_id : ""));
    json_object_set_new(b, "outcome", json_string(outcome ? outcome : ""));
    json_object_set_new(b, "detail", json_string(detail ? detail : ""));
    json_object_set_new(b, "goal", json_string(goal ? goal : ""));
    json_object_set_new(b, "timestamp", json_string(ts));
    return b;
}

/* --- configuration --- */

void
wt_notify_cfg_defaults(wt_notify_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_attempts = 5;
    cfg->backoff_ms = 500;
    cfg->backoff_cap_ms = 30000;
    cfg->timeout_ms = 5000;
    cfg->queue_cap = 1000;
    cfg->flush_timeout_ms = 5000;
}

static int
env_url(const char *name, char *out, size_t cap, wt_err_t *err)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return 0;
    if (strlen(v) >= cap)
        return wt_err_set(err, WT_EINVAL, "bad %s: longer than %zu bytes", name, cap - 1);
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
        return wt_err_set(err, WT_EINVAL, "bad %s: not an http:// or https:// URL", name);
    snprintf(out, cap, "%s", v);
    return 0;
}

static int
env_int(const char *name, long lo, long hi, int *out, wt_err_t *err)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < lo || n > hi)
        return wt_err_set(err, WT_EINVAL, "bad %s: '%s' is not an integer in %ld..%ld", name, v, lo,
                          hi);
    *out = (int)n;
    return 0;
}

int
wt_notify_cfg_from_env(wt_notify_cfg_t *cfg, wt_err_t *err)
{
    if (env_url("WORKTRAIN_NOTIFY_WEBHOOK", cfg->webhook_url, sizeof cfg->webhook_url, err) != 0 ||
        env_url("WORKTRAIN_NOTIFY_SLACK", cfg->slack_url, sizeof cfg->slack_url, err) != 0 ||
        env_int("WORKTRAIN_NOTIFY_ATTEMPTS", 1, 100, &cfg->max_attempts, err) != 0 ||
        env_int("WORKTRAIN_NOTIFY_BACKOFF_MS", 0, 60000, &cfg->backoff_ms, err) != 0 ||
        env_int("WORKTRAIN_NOTIFY_TIMEOUT_MS", 100, 600000, &cfg->timeout_ms, err) != 0)
        return -1;
    return 0;
}

static int
url_ok(const char *url)
{
    return url[0] == '\0' || strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

int
wt_notify_cfg_check(const wt_notify_cfg_t *cfg, wt_err_t *err)
{
    if (!url_ok(cfg->webhook_url))
        return wt_err_set(err, WT_EINVAL, "bad notify webhook URL: not http:// or https://");
    if (!url_ok(cfg->slack_url))
        return wt_err_set(err, WT_EINVAL, "bad notify Slack URL: not http:// or https://");
    if (cfg->max_attempts < 1 || cfg->max_attempts > 100)
        return wt_err_set(err, WT_EINVAL, "bad notify max_attempts %d: want 1..100",
                          cfg->max_attempts);
    if (cfg->backoff_ms < 0 || cfg->backoff_cap_ms < 0 || cfg->backoff_cap_ms > 600000)
        return wt_err_set(err, WT_EINVAL, "bad notify backoff %d ms (cap %d ms)", cfg->backoff_ms,
                          cfg->backoff_cap_ms);
    if (cfg->timeout_ms < 1 || cfg->queue_cap < 1 || cfg->flush_timeout_ms < 0)
        return wt_err_set(err, WT_EINVAL,
                          "bad notify limits: timeout %d ms, queue %d, flush %d ms: want > 0",
                          cfg->timeout_ms, cfg->queue_cap, cfg->flush_timeout_ms);
    return 0;
}

int
wt_notify_cfg_enabled(const wt_notify_cfg_t *cfg)
{
    return cfg->webhook_url[0] != '\0' || cfg->slack_url[0] != '\0';
}

/* --- HTTP --- */

/* One POST; fills status (0 without an answer), the Retry-After hint and
 * error (never the URL). idem_key, when set, goes out as Idempotency-Key. */
static void
post_once(wt_http_t *http, const char *url, const char *body, long timeout_ms, const char *idem_key,
          long *status, wt_http_hints_t *hints, char *error, size_t cap)
{
    char idem[96];
    const char *hdrs[3] = {"Content-Type: application/json", NULL, NULL};
    if (idem_key != NULL && idem_key[0]) {
        snprintf(idem, sizeof idem, "Idempotency-Key: %s", idem_key);
        hdrs[1] = idem;
    }
    wt_http_req_t req = {.method = "POST",
                         .url = url,
                         .headers = hdrs,
                         .body = body,
                         .timeout_ms = (int)timeout_ms,
                         .connect_timeout_ms = (int)timeout_ms,
                         .max_response_bytes = 0};
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, 0);
    wt_err_t err = {0};
    if (wt_http_perform(http, &req, &resp, &err) == 0)
        snprintf(error, cap, "HTTP %ld", resp.status);
    else
        snprintf(error, cap, "%s",
                 strncmp(err.msg, "request failed: ", 16) == 0 ? err.msg + 16 : err.msg);
    *status = resp.status;
    *hints = resp.hints;
    wt_http_resp_release(&resp);
}

static uint64_t
next_rand(uint64_t *s)
{
    uint64_t x = *s; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t
seed_rand(const void *salt)
{
    uint64_t s = (uint64_t)wt_clock_mono_us() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)salt;
    return s ? s : 0x9E3779B97F4A7C15ULL;
}

/* The time left for an attempt: cfg.timeout_ms, cut to the owner's flush
 * deadline once it is stopping; <= 0 means give up. */
static long
attempt_budget_ms(sender_t *s)
{
    long t = s->cfg->timeout_ms;
    if (s->owner == NULL)
        return t;
    pthread_mutex_lock(&s->owner->lock);
    if (s->owner->stopping) {
        int64_t left = s->owner->flush_deadline - wt_clock_mono_ms();
        if (left < t)
            t = (long)(left > 0 ? left : 0);
    }
    pthread_mutex_unlock(&s->owner->lock);
    return t;
}

/* Waits ms (the owner's wakeups only shorten it to its flush deadline);
 * -1 when that deadline has passed. */
static int
pause_ms(sender_t *s, int64_t ms)
{
    if (s->owner == NULL) {
        wt_clock_sleep_ms(ms);
        return 0;
    }
    wt_notify_t *self = s->owner;
    int64_t until = wt_clock_mono_ms() + ms;
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        int64_t now = wt_clock_mono_ms(), end = until;
        if (self->stopping && self->flush_deadline < end)
            end = self->flush_deadline;
        if (now >= end) {
            rc = self->stopping && now >= self->flush_deadline ? -1 : 0;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = end - now;
        ts.tv_sec += (time_t)(wait / 1000);
        ts.tv_nsec += (long)(wait % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&self->cond, &self->lock, &ts);
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

/* The retry loop for one target. */
static void
deliver(sender_t *s, const char *url, const char *body, const char *key, result_t *r)
{
    memset(r, 0, sizeof *r);
    for (int attempt = 1; attempt <= s->cfg->max_attempts; attempt++) {
        long budget = attempt_budget_ms(s);
        if (budget <= 0) {
            if (r->attempts == 0)
                snprintf(r->error, sizeof r->error, "not tried before the shutdown deadline");
            return;
        }
        long status;
        wt_http_hints_t hints;
        post_once(s->http, url, body, budget, key, &status, &hints, r->error, sizeof r->error);
        r->attempts = attempt;
        r->status = status;
        wt_notify_class_t cls = wt_notify_classify(status);
        if (cls == WT_NOTIFY_DELIVERED) {
            r->delivered = 1;
            r->error[0] = '\0';
            return;
        }
        if (cls == WT_NOTIFY_FAIL || attempt == s->cfg->max_attempts)
            return;
        wt_http_retry_t p = policy_of(s->cfg);
        int64_t d = wt_http_retry_delay_ms(&p, attempt, status, &hints, 0, next_rand(s->rnd));
        if (d < 0)
            return;
        if (pause_ms(s, d) != 0)
            return;
    }
}

/* The request body for a target (caller frees). */
static char *
payload(int slack, const char *event, json_t *body)
{
    if (!slack)
        return body ? json_dumps(body, JSON_COMPACT) : wt_xstrdup("{}");
    char *text = wt_notify_slack_text(event, body);
    json_t *o = json_pack("{s:s}", "text", text);
    free(text);
    char *out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return out;
}

/* Delivers body to url in the target's format with the whole retry loop,
 * every try carrying the same fresh Idempotency-Key (copied to key). */
static void
deliver_body(sender_t *s, const char *url, int slack, const char *event, json_t *body,
             char key[WT_ULID_LEN + 1], result_t *r)
{
    wt_ulid_make(key, wt_clock_now_ms());
    char *p = payload(slack, event, body);
    if (p != NULL) {
        deliver(s, url, p, key, r);
    } else {
        memset(r, 0, sizeof *r);
        snprintf(r->error, sizeof r->error, "cannot encode the body");
    }
    free(p);
}

/* XADD <prefix>notifications; never a URL in any field. */
static int
record(wt_store_t *store, const char *event, const char *target, json_t *body, const result_t *r,
       const char *idem_key, wt_err_t *err)
{
    char key[128], cap[16], attempts[16], status[16], ts[24];
    wt_store_key(store, key, sizeof key, "notifications");
    snprintf(cap, sizeof cap, "%d", WT_NOTIFY_STREAM_CAP);
    snprintf(attempts, sizeof attempts, "%d", r->attempts);
    snprintf(status, sizeof status, "%ld", r->status);
    snprintf(ts, sizeof ts, "%lld", (long long)wt_clock_now_ms());
    const char *sid = json_string_value(json_object_get(body, "sessionId"));
    const char *head[] = {"XADD",     key,      "MAXLEN",  "~",
                          cap,        "*",      "event",   event,
                          "target",   target,   "outcome", r->delivered ? "delivered" : "failed",
                          "attempts", attempts, "status",  status,
                          "error",    r->error, "ts_ms",   ts};
    const char *argv[sizeof head / sizeof head[0] + 4];
    int argc = 0;
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        argv[argc++] = head[i];
    if (sid != NULL && *sid != '\0') {
        argv[argc++] = "session";
        argv[argc++] = sid;
    }
    if (idem_key != NULL && *idem_key != '\0') {
        argv[argc++] = "key";
        argv[argc++] = idem_key;
    }
    redisReply *rep = wt_redis_commandv(store->redis, argc, argv, NULL, err);
    if (rep == NULL)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* --- the delivery thread --- */

/* Logs, records (with the idempotency key when there is one) and counts
 * the outcome of one target delivery. */
static void
finish(wt_notify_t *self, const char *event, const char *target, json_t *body, const result_t *r,
       const char *key)
{
    const char *sid = json_string_value(json_object_get(body, "sessionId"));
    if (!r->delivered)
        wt_log_warn("notify: %s delivery of %s%s%s failed after %d attempt(s): %s", target, event,
                    sid ? " for session " : "", sid ? sid : "", r->attempts, r->error);
    else
        wt_log_debug("notify: %s delivery of %s delivered (%d attempt(s))", target, event,
                     r->attempts);
    int recorded = -1;
    wt_err_t err = {0};
    if (self->redis != NULL) {
        recorded = record(&self->store, event, target, body, r, key, &err);
        if (recorded != 0 && !self->redis_down)
            wt_log_warn("notify: cannot record outcomes (skipping until Redis answers): %s",
                        err.msg);
        self->redis_down = recorded != 0;
    }
    pthread_mutex_lock(&self->lock);
    if (r->delivered)
        self->stats.delivered++;
    else
        self->stats.failed++;
    if (self->redis != NULL && recorded != 0)
        self->stats.record_skipped++;
    pthread_mutex_unlock(&self->lock);
}

/* In-memory delivery with the whole retry loop on this thread: the path
 * when there is no Redis outbox (no Redis configured, or it failed). */
static void
deliver_target(wt_notify_t *self, const item_t *it, int slack)
{
    const char *url = slack ? self->cfg.slack_url : self->cfg.webhook_url;
    result_t r;
    char key[WT_ULID_LEN + 1];
    sender_t s = {self->http, &self->cfg, self, &self->rnd};
    deliver_body(&s, url, slack, it->event, it->body, key, &r);
    finish(self, it->event, slack ? "slack" : "webhook", it->body, &r, key);
}

/* A new post: one outbox entry per configured target, or, when the outbox
 * cannot take it, delivered from memory as before. */
static void
take_post(wt_notify_t *self, const item_t *it)
{
    for (int slack = 0; slack < 2; slack++) {
        const char *url = slack ? self->cfg.slack_url : self->cfg.webhook_url;
        if (url[0] == '\0')
            continue;
        if (self->outbox_on) {
            char *body = json_dumps(it->body, JSON_COMPACT);
            char id[32];
            wt_err_t err = {0};
            int rc = body ? wt_outbox_put(&self->outbox, it->event, slack ? "slack" : "webhook",
                                          body, self->token, id, sizeof id, &err)
                          : wt_err_set(&err, WT_EINVAL, "cannot encode the body");
            free(body);
            if (rc == 0) {
                pthread_mutex_lock(&self->lock);
                self->own_pending++;
                pthread_mutex_unlock(&self->lock);
                self->outbox_down = 0;
                continue;
            }
            if (!self->outbox_down)
                wt_log_warn("notify: outbox unavailable, delivering from memory: %s", err.msg);
            self->outbox_down = 1;
        }
        deliver_target(self, it, slack);
    }
}

/* One try of one due outbox entry: 1 when an entry was claimed, 0 when
 * none was due (or the flush deadline leaves no time), -1 on a Redis error. */
static int
outbox_turn(wt_notify_t *self)
{
    sender_t s = {self->http, &self->cfg, self, &self->rnd};
    long budget = attempt_budget_ms(&s);
    if (budget <= 0)
        return 0;
    const char *targets[2];
    int n = 0;
    if (self->cfg.webhook_url[0])
        targets[n++] = "webhook";
    if (self->cfg.slack_url[0])
        targets[n++] = "slack";
    wt_outbox_entry_t e;
    wt_err_t err = {0};
    int got = wt_outbox_claim(&self->outbox, targets, n, self->token,
                              (int64_t)self->cfg.timeout_ms + LEASE_MARGIN_MS, &e, &err);
    if (got <= 0) {
        if (got < 0 && !self->outbox_down)
            wt_log_warn("notify: cannot read the outbox (retrying): %s", err.msg);
        self->outbox_down = got < 0;
        return got;
    }
    self->outbox_down = 0;
    int slack = strcmp(e.target, "slack") == 0;
    json_t *body = json_loads(e.body, 0, NULL);
    char *p = body ? payload(slack, e.event, body) : NULL;
    result_t r = {.attempts = e.attempts};
    wt_http_hints_t hints;
    wt_http_hints_init(&hints);
    int encoded = p != NULL;
    if (encoded)
        post_once(self->http, slack ? self->cfg.slack_url : self->cfg.webhook_url, p, budget, e.id,
                  &r.status, &hints, r.error, sizeof r.error);
    else
        snprintf(r.error, sizeof r.error, "cannot encode the body");
    free(p);
    wt_http_retry_t pol = policy_of(&self->cfg);
    int64_t delay = -1;
    if (wt_notify_classify(r.status) == WT_NOTIFY_DELIVERED) {
        r.delivered = 1;
        r.error[0] = '\0';
    } else if (encoded) {
        delay = wt_http_retry_delay_ms(&pol, e.attempts, r.status, &hints, wt_clock_now_ms(),
                                       next_rand(&self->rnd));
    }
    if (delay >= 0) {
        if (wt_outbox_later(&self->outbox, &e, self->token, delay, r.error, &err) != 0)
            wt_log_warn("notify: cannot reschedule %s (its lease will): %s", e.id, err.msg);
    } else {
        if (wt_outbox_done(&self->outbox, &e, &err) != 0)
            wt_log_warn("notify: cannot remove %s from the outbox: %s", e.id, err.msg);
        finish(self, e.event, e.target, body, &r, e.id);
        if (strcmp(e.origin, self->token) == 0) {
            pthread_mutex_lock(&self->lock);
            if (self->own_pending > 0)
                self->own_pending--;
            pthread_mutex_unlock(&self->lock);
        }
    }
    json_decref(body);
    wt_outbox_entry_release(&e);
    return 1;
}

/* Waits up to ms on the condition (new post, shutdown); lock held. */
static void
nap_locked(wt_notify_t *self, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&self->cond, &self->lock, &ts);
}

/* New posts first (into the outbox), then due outbox entries, one try at
 * a time; idle, it looks at the outbox every OUTBOX_POLL_MS (entries of
 * other processes, retries coming due). Stopping, it goes on until its own
 * entries are finished or the flush deadline passes; what is left stays in
 * the outbox for another process. */
static void *
run(void *arg)
{
    wt_notify_t *self = arg;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        int past = self->stopping && wt_clock_mono_ms() >= self->flush_deadline;
        if (self->count > 0 && !past) {
            item_t it = self->ring[self->head];
            self->ring[self->head].body = NULL;
            self->head = (self->head + 1) % self->cfg.queue_cap;
            self->count--;
            pthread_mutex_unlock(&self->lock);
            take_post(self, &it);
            json_decref(it.body);
            pthread_mutex_lock(&self->lock);
            continue;
        }
        if (past || (self->stopping && (!self->outbox_on || self->own_pending == 0)))
            break;
        if (!self->outbox_on) {
            pthread_cond_wait(&self->cond, &self->lock);
            continue;
        }
        pthread_mutex_unlock(&self->lock);
        int worked = outbox_turn(self);
        pthread_mutex_lock(&self->lock);
        if (worked != 1 && self->count == 0) {
            int64_t ms = OUTBOX_POLL_MS;
            if (self->stopping && self->flush_deadline - wt_clock_mono_ms() < ms)
                ms = self->flush_deadline - wt_clock_mono_ms();
            if (ms > 0)
                nap_locked(self, ms);
        }
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

wt_notify_t *
wt_notify_new(const wt_notify_cfg_t *cfg, wt_err_t *err)
{
    if (wt_notify_cfg_check(cfg, err) != 0)
        return NULL;
    wt_notify_t *self = wt_xcalloc(1, sizeof *self);
    self->cfg = *cfg;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (!wt_notify_cfg_enabled(cfg))
        return self;
    self->ring = wt_xcalloc((size_t)cfg->queue_cap, sizeof *self->ring);
    self->rnd = seed_rand(self);
    if ((self->http = wt_http_new(err)) == NULL) {
        wt_notify_destroy(&self);
        return NULL;
    }
    if (cfg->redis_url[0] != '\0') {
        if ((self->redis = wt_redis_new(cfg->redis_url, REDIS_TIMEOUT_MS, err)) == NULL) {
            wt_notify_destroy(&self);
            return NULL;
        }
        wt_store_init(&self->store, self->redis, cfg->prefix[0] ? cfg->prefix : NULL);
        wt_outbox_init(&self->outbox, &self->store);
        wt_ulid_make(self->token, wt_clock_now_ms());
        self->outbox_on = 1;
    }
    if (pthread_create(&self->thread, NULL, run, self) != 0) {
        wt_err_set(err, WT_EIO, "notify: cannot start the delivery thread");
        wt_notify_destroy(&self);
        return NULL;
    }
    self->enabled = 1;
    return self;
}

void
wt_notify_destroy(wt_notify_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_notify_t *self = *self_p;
    if (self->enabled) {
        pthread_mutex_lock(&self->lock);
        self->stopping = 1;
        self->flush_deadline = wt_clock_mono_ms() + self->cfg.flush_timeout_ms;
        pthread_cond_broadcast(&self->cond);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->thread, NULL);
    }
    int left = self->count;
    for (; self->count > 0; self->count--) {
        json_decref(self->ring[self->head].body);
        self->head = (self->head + 1) % self->cfg.queue_cap;
    }
    if (left > 0)
        wt_log_warn("notify: %d notification(s) not delivered before the %d ms shutdown deadline",
                    left, self->cfg.flush_timeout_ms);
    if (self->own_pending > 0)
        wt_log_info("notify: %d notification(s) left in the Redis outbox for another process",
                    self->own_pending);
    self->stats.dropped += (uint64_t)left;
    wt_http_destroy(&self->http);
    wt_redis_destroy(&self->redis);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

void
wt_notify_post(wt_notify_t *self, const char *event, json_t *body)
{
    if (self == NULL || !self->enabled || body == NULL) {
        json_decref(body);
        return;
    }
    pthread_mutex_lock(&self->lock);
    if (self->stopping) {
        self->stats.dropped++;
        pthread_mutex_unlock(&self->lock);
        json_decref(body);
        return;
    }
    if (self->count == self->cfg.queue_cap) {
        json_decref(self->ring[self->head].body); /* drop the oldest */
        self->ring[self->head].body = NULL;
        self->head = (self->head + 1) % self->cfg.queue_cap;
        self->count--;
        self->stats.dropped++;
    }
    item_t *it = &self->ring[(self->head + self->count) % self->cfg.queue_cap];
    snprintf(it->event, sizeof it->event, "%s", event ? event : "notification");
    it->body = body;
    self->count++;
    self->stats.posted++;
    pthread_cond_signal(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

int
wt_notify_enabled(const wt_notify_t *self)
{
    return self != NULL && self->enabled;
}

void
wt_notify_stats(wt_notify_t *self, wt_notify_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (self == NULL)
        return;
    pthread_mutex_lock(&self->lock);
    *out = self->stats;
    pthread_mutex_unlock(&self->lock);
}

/* --- blocking delivery --- */

int
wt_notify_send_sync(const char *url, int slack, json_t *body, const wt_notify_cfg_t *cfg,
                    const char *event, wt_err_t *err)
{
    const char *target = slack ? "slack" : "webhook";
    wt_notify_cfg_t dflt;
    if (cfg == NULL) {
        wt_notify_cfg_defaults(&dflt);
        cfg = &dflt;
    }
    if (event == NULL || *event == '\0')
        event = "notification";
    if (url == NULL || *url == '\0')
        return wt_err_set(err, WT_EINVAL, "%s notification '%s': no URL", target, event);
    if (!url_ok(url))
        return wt_err_set(err, WT_EINVAL, "%s notification '%s': not an http:// or https:// URL",
                          target, event);
    if (wt_notify_cfg_check(cfg, err) != 0)
        return -1;
    wt_http_t *c = wt_http_new(NULL);
    if (c == NULL)
        return wt_err_set(err, WT_EIO, "%s notification '%s': cannot create a curl handle", target,
                          event);
    result_t r;
    char key[WT_ULID_LEN + 1];
    uint64_t rnd = seed_rand(&r);
    sender_t s = {c, cfg, NULL, &rnd};
    deliver_body(&s, url, slack, event, body, key, &r);
    wt_http_destroy(&c);
    if (cfg->redis_url[0] != '\0') {
        /* Best effort: a down Redis costs at most REDIS_TIMEOUT_MS. */
        wt_redis_t *redis = wt_redis_new(cfg->redis_url, REDIS_TIMEOUT_MS, NULL);
        if (redis != NULL) {
            wt_store_t store;
            wt_store_init(&store, redis, cfg->prefix[0] ? cfg->prefix : NULL);
            record(&store, event, target, body, &r, key, NULL);
            wt_redis_destroy(&redis);
        }
    }
    if (r.delivered)
        return 0;
    return wt_err_set(err, r.status ? WT_EHTTP : WT_EIO,
                      "%s notification '%s' failed after %d attempt(s): %s", target, event,
                      r.attempts, r.error);
}
