/* wt_notify - optional outbound notifications: a webhook POST of a JSON body
 * and a Slack incoming-webhook message ({"text": ...}) built from the same
 * body.
 *
 * A wt_notify_t owns one background thread with its own wt_http handle and
 * its own Redis connection; wt_notify_post only enqueues (never blocks on the
 * network), so a worker's session threads and the broker are never delayed.
 * With Redis configured, the thread first stores each post in the Redis
 * outbox (wt_outbox.h: one entry per target, the target's name, never its
 * URL), then delivers due entries one try at a time, its own and those any
 * other process left behind for a target it has configured: at least once,
 * every try with the header "Idempotency-Key: <entry id>". Without Redis (or
 * when the outbox fails) posts are delivered from memory as before. Each
 * target is tried up to max_attempts times (counted across processes) with
 * exponential backoff and full jitter (wt_http policy): 2xx is delivered,
 * 408/429/5xx and transport errors are retried (Retry-After, as seconds or
 * HTTP-date, honoured on 429/503, capped at backoff_cap_ms), any other
 * status fails at once. Every delivery outcome is recorded in the stream
 * <prefix>notifications with fields event, target ("webhook" | "slack"),
 * session, outcome ("delivered" | "failed"), attempts, status, error, ts_ms,
 * and key (the Idempotency-Key header of every try: the outbox entry id, or
 * a fresh ULID per delivery from memory or wt_notify_send_sync).
 * URLs are never recorded or logged: Slack URLs embed a secret. */
#ifndef WT_NOTIFY_H
#define WT_NOTIFY_H

#include "wt_err.h"

#include <jansson.h>
#include <stdint.h>

#define WT_NOTIFY_STREAM_CAP 10000 /* approximate MAXLEN of <prefix>notifications */

typedef struct wt_notify_cfg {
    char webhook_url[1024]; /* generic JSON webhook; "" = none. A secret: never logged */
    char slack_url[1024];   /* Slack incoming webhook; "" = none. A secret: never logged */
    int max_attempts;       /* tries per target, >= 1 (default 5) */
    int backoff_ms;         /* base of the exponential backoff (default 500) */
    int backoff_cap_ms;     /* cap of one backoff and of Retry-After (default 30000) */
    int timeout_ms;         /* per-attempt HTTP timeout (default 5000) */
    int queue_cap;          /* queued posts; when full the oldest is dropped (default 1000) */
    int flush_timeout_ms;   /* wt_notify_destroy delivers queued posts this long (default 5000) */
    char redis_url[512];    /* where outcomes are recorded; "" = not recorded */
    char prefix[32];        /* key prefix; "" = WORKTRAIN_PREFIX or "wt:" */
} wt_notify_cfg_t;

/* Counters since wt_notify_new. */
typedef struct wt_notify_stats {
    uint64_t posted;         /* posts accepted (not counting no-ops when disabled) */
    uint64_t delivered;      /* target deliveries that got a 2xx */
    uint64_t failed;         /* target deliveries that gave up */
    uint64_t dropped;        /* posts dropped: queue full, or left at shutdown */
    uint64_t record_skipped; /* outcomes not recorded because Redis failed */
} wt_notify_stats_t;

typedef struct wt_notify wt_notify_t;

/* Fills the defaults above: no targets, no Redis. */
void wt_notify_cfg_defaults(wt_notify_cfg_t *cfg);
/* Overrides cfg from the environment where a variable is set and not empty:
 * WORKTRAIN_NOTIFY_WEBHOOK, WORKTRAIN_NOTIFY_SLACK (http:// or https:// URLs),
 * WORKTRAIN_NOTIFY_ATTEMPTS (1..100), WORKTRAIN_NOTIFY_BACKOFF_MS (0..60000),
 * WORKTRAIN_NOTIFY_TIMEOUT_MS (100..600000). Fails naming the variable
 * (never echoing a URL). */
int wt_notify_cfg_from_env(wt_notify_cfg_t *cfg, wt_err_t *err);
/* Checks ranges and URL schemes; the message names the field, not the URL. */
int wt_notify_cfg_check(const wt_notify_cfg_t *cfg, wt_err_t *err);
/* 1 when at least one target is configured. */
int wt_notify_cfg_enabled(const wt_notify_cfg_t *cfg);

/* Copies cfg and starts the delivery thread when a target is configured;
 * with none, returns a disabled object whose posts are no-ops. NULL with err
 * on a bad cfg or when the thread cannot start. Call curl_global_init first. */
wt_notify_t *wt_notify_new(const wt_notify_cfg_t *cfg, wt_err_t *err);
/* Delivers what is queued, and its own outbox entries, until they are done
 * or cfg.flush_timeout_ms passes (outbox entries left stay in Redis for
 * another process; posts still in memory are dropped and counted), stops the
 * thread, frees *self_p and sets it NULL. NULL-safe. */
void wt_notify_destroy(wt_notify_t **self_p);
/* Enqueues body (the reference is taken, even when disabled; do not touch
 * body afterwards) for every configured target. Never blocks on I/O; safe
 * from any thread. event names the notification, e.g. "session_completed". */
void wt_notify_post(wt_notify_t *self, const char *event, json_t *body);
/* 1 when posts go anywhere. */
int wt_notify_enabled(const wt_notify_t *self);
void wt_notify_stats(wt_notify_t *self, wt_notify_stats_t *out);

/* Blocking delivery to one URL (slack != 0: Slack format) with cfg's retry
 * policy, for callers that need the result (coordinator notify phases); the
 * outcome is recorded when cfg->redis_url is set. body is borrowed. Returns 0
 * when delivered, -1 with err ("webhook delivery failed after N attempts:
 * ..."; never the URL). */
int wt_notify_send_sync(const char *url, int slack, json_t *body, const wt_notify_cfg_t *cfg,
                        const char *event, wt_err_t *err);

/* The standard body {event, workflowId, sessionId, outcome, detail, goal,
 * timestamp} with timestamp ts_ms as ISO-8601 UTC; NULL strings become "". */
json_t *wt_notify_body_new(const char *event, const char *workflow_id, const char *session_id,
                           const char *outcome, const char *detail, const char *goal,
                           int64_t ts_ms);

#endif
