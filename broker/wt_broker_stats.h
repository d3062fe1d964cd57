/* wt_broker_stats - the figures the broker loop publishes for /metrics and
 * /healthz. The loop thread writes them under `lock`; the HTTP thread takes
 * a copy under the same lock and renders from the copy, so a slow scraper
 * never holds up the loop. Plain data apart from the lock and the owned
 * per-worker array. */
#ifndef WT_BROKER_STATS_H
#define WT_BROKER_STATS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define WT_BROKER_LAT_BUCKETS 13

/* Outcomes of FINISHED as label values; anything else counts as "other". */
typedef enum {
    WT_BROKER_OUT_SUCCESS,
    WT_BROKER_OUT_ERROR,
    WT_BROKER_OUT_TIMEOUT,
    WT_BROKER_OUT_STUCK,
    WT_BROKER_OUT_CANCELLED,
    WT_BROKER_OUT_HANDBACK,
    WT_BROKER_OUT_STALE,
    WT_BROKER_OUT_OTHER,
    WT_BROKER_OUTCOMES /* count */
} wt_broker_outcome_t;

/* A worker's cumulative counters, as its last READY or HEARTBEAT said. */
typedef struct wt_broker_wcount {
    uint64_t llm_calls;     /* LLM calls */
    uint64_t input_tokens;  /* input tokens */
    uint64_t output_tokens; /* output tokens */
    uint64_t tool_calls;    /* tool calls */
    uint64_t llm_retries;   /* LLM retries */
} wt_broker_wcount_t;

typedef struct wt_broker_wstat {
    char name[128];       /* worker name from READY */
    wt_broker_wcount_t c; /* its counters */
} wt_broker_wstat_t;

/* A class of queued sessions no live worker can run, and why. */
typedef struct wt_broker_unroutable {
    char workflow[128]; /* workflow id (cut at 127 bytes) */
    char require[256];  /* required labels "a,b", "" for none */
    char reason[448];   /* e.g. "no live worker offers workflow 'x'" */
    int64_t waiting;    /* sessions queued in that class */
} wt_broker_unroutable_t;

typedef struct wt_broker_stats {
    pthread_mutex_t lock;                  /* guards everything below */
    int64_t queued;                        /* sessions waiting */
    int64_t active;                        /* sessions assigned to workers */
    int64_t running;                       /* active plus recovered sessions not yet adopted */
    int64_t workers;                       /* workers alive */
    int64_t slots_total;                   /* sum of worker slots */
    int64_t slots_free;                    /* sum of free credit */
    double oldest_age_s;                   /* age of the oldest queued session */
    int redis_up;                          /* last Redis call succeeded */
    int leader;                            /* holds the leader lease (DESIGN 13): dispatches */
    int64_t leader_epoch;                  /* its lease epoch, 0 while standby */
    uint64_t fenced;                       /* writes Redis refused for an old leader epoch */
    uint64_t takeovers;                    /* times this broker became the active one */
    uint64_t stepdowns;                    /* times it lost the lease and became standby */
    uint64_t not_active;                   /* requests answered NOT_ACTIVE while standby */
    uint64_t spawned;                      /* sessions accepted (new) */
    uint64_t duplicates;                   /* SPAWNs answered from an idempotency key */
    uint64_t refused;                      /* SPAWNs refused as invalid (ERROR REFUSED) */
    uint64_t refused_unknown;              /* SPAWNs of a workflow no worker ever offered */
    uint64_t dispatches;                   /* ASSIGNs sent */
    uint64_t resumed;                      /* ASSIGNs of a session that had been assigned before */
    uint64_t requeued;                     /* sessions put back after a lost worker or handback */
    uint64_t expired;                      /* ended sessions deleted by the retention sweep */
    uint64_t heartbeat_misses;             /* workers declared dead */
    uint64_t deadletters;                  /* sessions dead-lettered (attempts used up) */
    uint64_t reregistrations;              /* READY listing sessions from an unknown worker */
    uint64_t reattached;                   /* requeued sessions given back to their live worker */
    uint64_t bad_client;                   /* bad frames on the client socket */
    uint64_t bad_worker;                   /* bad frames on the worker socket */
    uint64_t auth_fail_client;             /* client keys refused (ZAP, revoked) */
    uint64_t auth_fail_worker;             /* worker keys refused (ZAP, revoked) */
    uint64_t redis_errors;                 /* failed Redis calls */
    uint64_t redis_master_changes;         /* sentinel URL: new master address resolved */
    uint64_t sentinel_disagreements;       /* sentinel lookups naming different masters */
    uint64_t unreplicated;                 /* spawns refused: WAIT confirmed too few replicas */
    uint64_t bad_records;                  /* malformed session records met in Redis */
    uint64_t finished[WT_BROKER_OUTCOMES]; /* sessions ended, by outcome */
    uint64_t lat_bucket[WT_BROKER_LAT_BUCKETS]; /* dispatch latency, per bucket (not cumulative) */
    uint64_t lat_count;                         /* observations */
    double lat_sum_s;                           /* sum of observations */
    wt_broker_wstat_t *wstats;                  /* owned: one entry per live worker */
    size_t nwstats;                             /* entries used */
    size_t capwstats;                           /* entries allocated */
    wt_broker_unroutable_t *unrt;               /* owned: classes nobody can run now */
    size_t nunrt;                               /* entries used */
    size_t capunrt;                             /* entries allocated */
} wt_broker_stats_t;

/* Upper bounds (seconds) of the latency buckets, 0.001 to 10. */
extern const double wt_broker_lat_bounds[WT_BROKER_LAT_BUCKETS];
/* Label value of each wt_broker_outcome_t. */
extern const char *const wt_broker_outcome_names[WT_BROKER_OUTCOMES];

void wt_broker_stats_init(wt_broker_stats_t *self);
/* Frees the per-worker array and the lock. */
void wt_broker_stats_release(wt_broker_stats_t *self);
/* Records one dispatch latency (lock held by the caller). */
void wt_broker_stats_observe(wt_broker_stats_t *self, double seconds);
/* The outcome index of a FINISHED outcome string (WT_BROKER_OUT_OTHER when
 * unknown or NULL). */
wt_broker_outcome_t wt_broker_stats_outcome(const char *outcome);
/* Makes room for n per-worker entries and returns them to fill; nwstats
 * becomes n (lock held by the caller). */
wt_broker_wstat_t *wt_broker_stats_workers(wt_broker_stats_t *self, size_t n);
/* Makes room for n unroutable entries and returns them to fill; nunrt
 * becomes n (lock held by the caller). */
wt_broker_unroutable_t *wt_broker_stats_unroutable(wt_broker_stats_t *self, size_t n);
/* Copies self into *out under self's lock; out->wstats is a fresh array the
 * caller frees with wt_broker_stats_copy_release (likewise out->unrt). out's lock is not valid. */
void wt_broker_stats_copy(wt_broker_stats_t *self, wt_broker_stats_t *out);
void wt_broker_stats_copy_release(wt_broker_stats_t *copy);

#endif
