/* wt_broker_http - the broker's HTTP face (libmicrohttpd, its own thread):
 * GET /healthz, GET /metrics (Prometheus text format 0.0.4) and, with
 * triggers, POST /webhook/<id>. The loop
 * thread publishes figures into a wt_broker_stats_t under its lock; the HTTP
 * thread only reads them. */
#ifndef WT_BROKER_HTTP_H
#define WT_BROKER_HTTP_H

#include "wt_err.h"

#include <pthread.h>
#include <stdint.h>

#define WT_BROKER_LAT_BUCKETS 12

typedef struct wt_broker_stats {
    pthread_mutex_t lock;      /* guards everything below */
    int64_t queued;            /* sessions waiting */
    int64_t active;            /* sessions assigned to workers */
    int64_t workers;           /* workers alive */
    int64_t slots_total;       /* sum of worker slots */
    int64_t slots_free;        /* sum of free credit */
    double oldest_age_s;       /* age of the oldest queued session */
    int redis_up;              /* last Redis call succeeded */
    uint64_t spawned;          /* sessions accepted (new) */
    uint64_t duplicates;       /* SPAWNs answered from an idempotency key */
    uint64_t dispatches;       /* ASSIGNs sent */
    uint64_t requeued;         /* sessions put back after a lost worker or handback */
    uint64_t heartbeat_misses; /* workers declared dead */
    uint64_t bad_client;       /* bad frames on the client socket */
    uint64_t bad_worker;       /* bad frames on the worker socket */
    uint64_t redis_errors;     /* failed Redis calls */
    uint64_t bad_records;      /* malformed session records met in Redis */
    uint64_t
        lat_bucket[WT_BROKER_LAT_BUCKETS]; /* dispatch latency histogram (cumulative on output) */
    uint64_t lat_count;                    /* observations */
    double lat_sum_s;                      /* sum of observations */
} wt_broker_stats_t;

/* Upper bounds (seconds) of the latency buckets. */
extern const double wt_broker_lat_bounds[WT_BROKER_LAT_BUCKETS];

void wt_broker_stats_init(wt_broker_stats_t *self);
void wt_broker_stats_release(wt_broker_stats_t *self);
/* Records one dispatch latency (lock held by the caller). */
void wt_broker_stats_observe(wt_broker_stats_t *self, double seconds);

typedef struct wt_broker_http wt_broker_http_t;

/* Listens on "ADDR:PORT"; stats is borrowed and must outlive the server. */
wt_broker_http_t *wt_broker_http_start(const char *addr, wt_broker_stats_t *stats, wt_err_t *err);
/* Same, also serving POST /webhook/<id> and trigger counters from triggers
 * (borrowed, may be NULL; stop the server before destroying it). */
struct wt_trigger_rt;
wt_broker_http_t *wt_broker_http_start_with(const char *addr, wt_broker_stats_t *stats,
                                            struct wt_trigger_rt *triggers, wt_err_t *err);
void wt_broker_http_stop(wt_broker_http_t **self_p);
/* Splits "ADDR:PORT" into a sockaddr; 0 or -1 with err. */
int wt_broker_http_parse_addr(const char *addr, void *sockaddr_in_out, wt_err_t *err);

#endif
