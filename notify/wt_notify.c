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
 * field. Errors come from curl_easy_strerror (no URL) or "HTTP <status>". */
#include "wt_notify_int.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_log.h"
#include "wt_redis.h"
#include "wt_store.h"

#include <curl/curl.h>
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
    wt_notify_stats_t stats; /* counters */
    /* Delivery thread only. */
    CURL *curl;        /* reused easy handle */
    wt_redis_t *redis; /* outcome records, or NULL */
    wt_store_t store;  /* key naming over redis */
    int redis_down;    /* a record failed; logged once until one works */
    uint64_t rnd;      /* jitter state */
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
    CURL *curl;                 /* borrowed */
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

int64_t
wt_notify_delay_ms(const wt_notify_cfg_t *cfg, int attempt, long status, int64_t retry_after_ms,
                   uint64_t rnd)
{
    int64_t cap = cfg->backoff_cap_ms > 0 ? cfg->backoff_cap_ms : 0;
    if ((status == 429 || status == 503) && retry_after_ms >= 0)
        return retry_after_ms < cap ? retry_after_ms : cap;
    int64_t ceil = cfg->backoff_ms > 0 ? cfg->backoff_ms : 0;
    for (int i = 1; i < attempt && ceil < cap; i++)
        ceil *= 2;
    if (ceil > cap)
        ceil = cap;
    if (ceil <= 0)
        return 0;
    return (int64_t)(rnd % (uint64_t)(ceil + 1));
}

int64_t
wt_notify_parse_retry_after(const char *value)
{
    if (value == NULL)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value < '0' || *value > '9')
        return -1;
    char *end;
    errno = 0;
    long long secs = strtoll(value, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
        end++;
    if (errno != 0 || *end != '\0' || secs < 0 || secs > 86400)
        return -1;
    return (int64_t)secs * 1000;
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

static size_t
on_discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    int64_t *retry_after_ms = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        char v[64];
        size_t k = len - 12 < sizeof v - 1 ? len - 12 : sizeof v - 1;
        memcpy(v, p + 12, k);
        v[k] = '\0';
        *retry_after_ms = wt_notify_parse_retry_after(v);
    }
    return len;
}

/* One POST; fills status (0 without an answer) and retry_after_ms. */
static CURLcode
post_once(CURL *c, const char *url, const char *body, long timeout_ms, long *status,
          int64_t *retry_after_ms)
{
    *status = 0;
    *retry_after_ms = -1;
    curl_easy_reset(c);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_discard);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, retry_after_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "worktrain/" WT_VERSION);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdrs);
    return rc;
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
deliver(sender_t *s, const char *url, const char *body, result_t *r)
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
        int64_t retry_after = -1;
        CURLcode rc = post_once(s->curl, url, body, budget, &status, &retry_after);
        r->attempts = attempt;
        r->status = status;
        if (rc != CURLE_OK)
            snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(rc));
        else
            snprintf(r->error, sizeof r->error, "HTTP %ld", status);
        wt_notify_class_t cls = wt_notify_classify(status);
        if (cls == WT_NOTIFY_DELIVERED) {
            r->delivered = 1;
            r->error[0] = '\0';
            return;
        }
        if (cls == WT_NOTIFY_FAIL || attempt == s->cfg->max_attempts)
            return;
        int64_t d = wt_notify_delay_ms(s->cfg, attempt, status, retry_after, next_rand(s->rnd));
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

/* XADD <prefix>notifications; never a URL in any field. */
static int
record(wt_store_t *store, const char *event, const char *target, json_t *body, const result_t *r,
       wt_err_t *err)
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
    const char *argv[sizeof head / sizeof head[0] + 2];
    int argc = 0;
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        argv[argc++] = head[i];
    if (sid != NULL && *sid != '\0') {
        argv[argc++] = "session";
        argv[argc++] = sid;
    }
    redisReply *rep = wt_redis_commandv(store->redis, argc, argv, NULL, err);
    if (rep == NULL)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* --- the delivery thread --- */

static void
deliver_target(wt_notify_t *self, const item_t *it, int slack)
{
    const char *url = slack ? self->cfg.slack_url : self->cfg.webhook_url;
    const char *target = slack ? "slack" : "webhook";
    char *p = payload(slack, it->event, it->body);
    result_t r;
    sender_t s = {self->curl, &self->cfg, self, &self->rnd};
    if (p != NULL) {
        deliver(&s, url, p, &r);
    } else {
        memset(&r, 0, sizeof r);
        snprintf(r.error, sizeof r.error, "cannot encode the body");
    }
    free(p);
    const char *sid = json_string_value(json_object_get(it->body, "sessionId"));
    if (!r.delivered)
        wt_log_warn("notify: %s delivery of %s%s%s failed after %d attempt(s): %s", target,
                    it->event, sid ? " for session " : "", sid ? sid : "", r.attempts, r.error);
    else
        wt_log_debug("notify: %s delivery of %s delivered (%d attempt(s))", target, it->event,
                     r.attempts);
    int recorded = -1;
    wt_err_t err = {0};
    if (self->redis != NULL) {
        recorded = record(&self->store, it->event, target, it->body, &r, &err);
        if (recorded != 0 && !self->redis_down)
            wt_log_warn("notify: cannot record outcomes (skipping until Redis answers): %s",
                        err.msg);
        self->redis_down = recorded != 0;
    }
    pthread_mutex_lock(&self->lock);
    if (r.delivered)
        self->stats.delivered++;
    else
        self->stats.failed++;
    if (self->redis != NULL && recorded != 0)
        self->stats.record_skipped++;
    pthread_mutex_unlock(&self->lock);
}

static void *
run(void *arg)
{
    wt_notify_t *self = arg;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (self->count == 0 && !self->stopping)
            pthread_cond_wait(&self->cond, &self->lock);
        if (self->count == 0 || (self->stopping && wt_clock_mono_ms() >= self->flush_deadline))
            break;
        item_t it = self->ring[self->head];
        self->ring[self->head].body = NULL;
        self->head = (self->head + 1) % self->cfg.queue_cap;
        self->count--;
        pthread_mutex_unlock(&self->lock);
        if (self->cfg.webhook_url[0])
            deliver_target(self, &it, 0);
        if (self->cfg.slack_url[0])
            deliver_target(self, &it, 1);
        json_decref(it.body);
        pthread_mutex_lock(&self->lock);
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
    if ((self->curl = curl_easy_init()) == NULL) {
        wt_err_set(err, WT_EIO, "notify: cannot create a curl handle");
        wt_notify_destroy(&self);
        return NULL;
    }
    if (cfg->redis_url[0] != '\0') {
        if ((self->redis = wt_redis_new(cfg->redis_url, REDIS_TIMEOUT_MS, err)) == NULL) {
            wt_notify_destroy(&self);
            return NULL;
        }
        wt_store_init(&self->store, self->redis, cfg->prefix[0] ? cfg->prefix : NULL);
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
    self->stats.dropped += (uint64_t)left;
    if (self->curl)
        curl_easy_cleanup(self->curl);
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
    CURL *c = curl_easy_init();
    if (c == NULL)
        return wt_err_set(err, WT_EIO, "%s notification '%s': cannot create a curl handle", target,
                          event);
    char *p = payload(slack, event, body);
    result_t r;
    uint64_t rnd = seed_rand(&r);
    sender_t s = {c, cfg, NULL, &rnd};
    if (p != NULL) {
        deliver(&s, url, p, &r);
    } else {
        memset(&r, 0, sizeof r);
        snprintf(r.error, sizeof r.error, "cannot encode the body");
    }
    free(p);
    curl_easy_cleanup(c);
    if (cfg->redis_url[0] != '\0') {
        /* Best effort: a down Redis costs at most REDIS_TIMEOUT_MS. */
        wt_redis_t *redis = wt_redis_new(cfg->redis_url, REDIS_TIMEOUT_MS, NULL);
        if (redis != NULL) {
            wt_store_t store;
            wt_store_init(&store, redis, cfg->prefix[0] ? cfg->prefix : NULL);
            record(&store, event, target, body, &r, NULL);
            wt_redis_destroy(&redis);
        }
    }
    if (r.delivered)
        return 0;
    return wt_err_set(err, r.status ? WT_EHTTP : WT_EIO,
                      "%s notification '%s' failed after %d attempt(s): %s", target, event,
                      r.attempts, r.error);
}
