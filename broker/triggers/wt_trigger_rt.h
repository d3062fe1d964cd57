/* wt_trigger_rt - triggers at run time, inside the broker process.
 *
 * Triggers are clients of the broker: each thread that fires one (the HTTP
 * thread for webhooks, the trigger thread for cron and for serial queues)
 * holds its own ZeroMQ DEALER to the broker's client ROUTER and its own
 * Redis connection, and sends an ordinary SPAWN with an idempotency key, so
 * intake stays durable and the broker loop single-threaded.
 *
 * Redis (prefix wt: by default):
 *   <p>trigger:<id>:active        set    sessions it started that may not be over
 *   <p>trigger:<id>:waiting       list   serial mode: JSON {key, goal, context,
 *                                        detail} waiting for the running one (FIFO)
 *   <p>trigger:<id>:dedup:<sha>   string delivery seen -> session id (delivery
 *                                        ids 24 h, body hashes 30 s)
 *   <p>trigger:<id>:cron_last     string last minute a cron trigger handled (Unix s)
 *   <p>trigger:fired:<key>        string marks a fire whose trigger_fired was written
 * Events: trigger_fired {trigger, provider, session, detail} on <p>events.
 * Secrets (hmacSecret, source.token) are never written anywhere. */
#ifndef WT_TRIGGER_RT_H
#define WT_TRIGGER_RT_H

#include "wt_buf.h"
#include "wt_err.h"
#include "wt_trigger.h"

#include <jansson.h>
#include <stddef.h>

#define WT_TRIGGER_RT_DEFAULT_MAX_BODY (1u << 20) /* webhook body limit */

typedef struct wt_trigger_rt_cfg {
    const wt_triggers_t *triggers; /* borrowed; outlives the runtime */
    void *zctx;                    /* ZeroMQ context (borrowed) */
    char broker_ep[256];           /* client endpoint to SPAWN on */
    char redis_url[512];           /* Redis */
    size_t webhook_max_bytes;      /* bodies above are answered 413 */
    int tick_ms;                   /* trigger thread period (default 200) */
    char clock_file[512];          /* TEST ONLY: file holding "now" in Unix s, or "" */
} wt_trigger_rt_cfg_t;

typedef struct wt_trigger_rt wt_trigger_rt_t;

/* Starts the trigger thread (cron and serial queues). */
wt_trigger_rt_t *wt_trigger_rt_new(const wt_trigger_rt_cfg_t *cfg, wt_err_t *err);
/* Stops the thread and frees; call after the HTTP server stopped. */
void wt_trigger_rt_destroy(wt_trigger_rt_t **self_p);

/* One webhook delivery, as the HTTP layer read it (all borrowed). */
typedef struct wt_webhook_req {
    const char *id;            /* trigger id from /webhook/<id> */
    const char *sig_workrail;  /* X-WorkRail-Signature or NULL */
    const char *sig_github;    /* X-Hub-Signature-256 or NULL */
    const char *delivery;      /* X-GitHub-Delivery or NULL */
    const char *authorization; /* Authorization or NULL (alertmanager) */
    const char *sig_pagerduty; /* X-PagerDuty-Signature or NULL */
    const char *body;          /* raw body */
    size_t len;                /* its length */
} wt_webhook_req_t;

typedef struct wt_webhook_resp {
    int status;      /* HTTP status */
    int retry_after; /* seconds for Retry-After, 0 = none */
    char body[1024]; /* JSON answer */
} wt_webhook_resp_t;

/* Handles a delivery (call from one thread only: the HTTP thread). */
void wt_trigger_rt_webhook(wt_trigger_rt_t *self, const wt_webhook_req_t *req,
                           wt_webhook_resp_t *resp);
/* Body limit for the HTTP layer. */
size_t wt_trigger_rt_max_body(const wt_trigger_rt_t *self);
/* Counts an answer the HTTP layer gave by itself (413, 405). */
void wt_trigger_rt_count(wt_trigger_rt_t *self, int status);
/* Appends wt_trigger_fired_total{trigger} and wt_webhook_requests_total{code}. */
void wt_trigger_rt_metrics(wt_trigger_rt_t *self, wt_buf_t *out);

/* A thread's own connections for wt_trigger_rt_fire (a poller thread holds
 * one; never share it between threads). */
typedef struct wt_trigger_rt_conn wt_trigger_rt_conn_t;

wt_trigger_rt_conn_t *wt_trigger_rt_conn_new(void);
void wt_trigger_rt_conn_destroy(wt_trigger_rt_conn_t **self_p);
/* Fires t (one of the runtime's triggers) from the caller's thread, as a
 * webhook does: parallel triggers SPAWN with key now; serial ones start or
 * join the trigger's FIFO (*waiting > 0, sid ""). trigger_fired carries
 * detail (borrowed, may be NULL). 0, or -1 with err. */
int wt_trigger_rt_fire(wt_trigger_rt_t *self, wt_trigger_rt_conn_t *conn, const wt_trigger_t *t,
                       const char *key, const char *goal, const char *ctx, json_t *detail,
                       char *sid, size_t cap, long *waiting, wt_err_t *err);
/* How many of t's sessions are queued (not yet running), for backpressure
 * from the caller's thread. 0, or -1 with err. */
int wt_trigger_rt_queued(wt_trigger_rt_t *self, wt_trigger_rt_conn_t *conn, const wt_trigger_t *t,
                         long *queued, wt_err_t *err);
/* Lets fn append more lines to wt_trigger_rt_metrics (the pollers'
 * counters). Set before the HTTP server starts. */
void wt_trigger_rt_set_metrics_hook(wt_trigger_rt_t *self, void (*fn)(void *arg, wt_buf_t *out),
                                    void *arg);

#endif
