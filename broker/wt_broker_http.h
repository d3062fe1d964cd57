/* wt_broker_http - the broker's HTTP face (libmicrohttpd, its own thread):
 * GET /healthz, GET /metrics (Prometheus text format 0.0.4, rendered by
 * wt_broker_metrics) and, with triggers, POST /webhook/<id>. The loop
 * thread publishes figures into a wt_broker_stats_t under its lock; the HTTP
 * thread only reads them. */
#ifndef WT_BROKER_HTTP_H
#define WT_BROKER_HTTP_H

#include "wt_broker_stats.h"
#include "wt_err.h"

typedef struct wt_broker_http wt_broker_http_t;

/* Listens on "ADDR:PORT"; stats is borrowed and must outlive the server. */
wt_broker_http_t *wt_broker_http_start(const char *addr, wt_broker_stats_t *stats, wt_err_t *err);
/* Same, also serving POST /webhook/<id> and trigger counters from triggers
 * (borrowed, may be NULL; stop the server before destroying it). */
struct wt_trigger_rt;
wt_broker_http_t *wt_broker_http_start_with(const char *addr, wt_broker_stats_t *stats,
                                            struct wt_trigger_rt *triggers, wt_err_t *err);
void wt_broker_http_stop(wt_broker_http_t **self_p);

#endif
