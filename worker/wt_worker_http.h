/* wt_worker_http - the worker's own HTTP face (`worker --http ADDR:PORT`,
 * libmicrohttpd on its own thread), so an orchestrator probes and scrapes a
 * worker pod directly (DESIGN.md section 16):
 *
 *   GET /healthz  liveness: 200 while the main loop turns (its heartbeat is
 *                 younger than stale_after_ms), 503 when it is wedged. A
 *                 Redis or broker outage never fails it: restarting the
 *                 worker would not bring either back.
 *   GET /readyz   readiness: 200 when registered with an active broker,
 *                 Redis reachable and not draining; 503 otherwise.
 *   GET /metrics  Prometheus text format 0.0.4: slots, running, stuck
 *                 sessions, delivery failures, the loop's age, readiness.
 *
 * The loop publishes a wt_worker_health_t under its lock once per turn; the
 * HTTP thread copies it and renders from the copy. */
#ifndef WT_WORKER_HTTP_H
#define WT_WORKER_HTTP_H

#include "wt_buf.h"
#include "wt_err.h"
#include "wt_session.h"

#include <pthread.h>
#include <stdint.h>

typedef struct wt_worker_health {
    pthread_mutex_t lock;   /* guards the fields below */
    int64_t loop_beat_ms;   /* monotonic ms of the main loop's last turn */
    int64_t stale_after_ms; /* liveness fails past this loop age */
    int registered;         /* an active broker answers this worker */
    int redis_up;           /* the worker record was written lately */
    int draining;           /* SIGTERM received */
    int slots;              /* configured slots */
    int running;            /* sessions running */
    char name[128];         /* worker name (a label value) */
} wt_worker_health_t;

void wt_worker_health_init(wt_worker_health_t *self, const char *name, int slots,
                           int64_t stale_after_ms);
void wt_worker_health_release(wt_worker_health_t *self);

/* 1 when the copy h says the loop is alive at monotonic now_ms. */
int wt_worker_health_live(const wt_worker_health_t *h, int64_t now_ms);
/* 1 when the copy h says the worker should get traffic (see /readyz). */
int wt_worker_health_ready(const wt_worker_health_t *h);

/* Appends the /metrics exposition of the copy h and the counters c (may be
 * NULL) at monotonic now_ms. Fails (WT_ELIMIT) only at out's cap. */
int wt_worker_http_render(const wt_worker_health_t *h, wt_session_counters_t *c, int64_t now_ms,
                          wt_buf_t *out, wt_err_t *err);

typedef struct wt_worker_http wt_worker_http_t;

/* Listens on "ADDR:PORT"; health and counters are borrowed and must outlive
 * the server. NULL with err set when the address is bad or taken. */
wt_worker_http_t *wt_worker_http_start(const char *addr, wt_worker_health_t *health,
                                       wt_session_counters_t *counters, wt_err_t *err);
/* Stops the server thread, frees *self_p and sets it NULL. NULL-safe. */
void wt_worker_http_stop(wt_worker_http_t **self_p);

#endif
