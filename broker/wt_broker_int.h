/* wt_broker_int - state shared by the broker's modules (loop thread only). */
#ifndef WT_BROKER_INT_H
#define WT_BROKER_INT_H

#include "wt_broker_http.h"
#include "wt_broker_stats.h"
#include "wt_cert.h"
#include "wt_job.h"
#include "wt_proto.h"
#include "wt_redis.h"
#include "wt_retain.h"
#include "wt_route.h"
#include "wt_store.h"
#include "wt_trigger.h"
#include "wt_wire.h"
#include "wt_zap.h"

#include <stddef.h>
#include <stdint.h>

/* Client messages read in one turn (one intake round trip); the worker
 * socket gets twice as many. */
#define WT_BROKER_BATCH_MAX 512

typedef struct wt_broker_cfg {
    char clients[256];          /* client ROUTER bind endpoint */
    char workers[256];          /* worker ROUTER bind endpoint */
    char redis[512];            /* Redis URL */
    char http[64];              /* ADDR:PORT, or "" when off */
    int heartbeat_ms;           /* heartbeat interval */
    int liveness;               /* missed intervals before a worker is dead */
    int max_attempts;           /* assignments before a session is dead-lettered */
    int min_replicas;           /* --redis-min-replicas: WAIT for N replicas before SPAWNED */
    int min_replicas_wait_ms;   /* WAIT timeout */
    char triggers[512];         /* triggers.yml, or "" */
    char workflow_dirs[8][512]; /* --workflows DIR: known workflow ids for triggers */
    int nworkflow_dirs;         /* entries used */
    size_t webhook_max_bytes;   /* webhook body limit */
    int64_t retain_ms;          /* --retain: life of an ended session (SPAWN may override) */
    int64_t tombstones;         /* --tombstones: expired ids remembered at most */
    char curve_key[512];        /* --curve-key: the broker's .key, "" = no CURVE */
    char allow_workers[512];    /* --allow-workers: directory of worker .pub files */
    char allow_clients[512];    /* --allow-clients: directory of client .pub files */
    int insecure;               /* --insecure: plain TCP on non-loopback addresses allowed */
    wt_cert_t cert;             /* loaded from curve_key */
} wt_broker_cfg_t;

typedef struct wt_bworker {
    char id[WT_WIRE_MAX_IDENTITY]; /* ROUTER identity */
    size_t idlen;                  /* identity length */
    char name[128];                /* name from READY */
    int slots;                     /* total slots */
    int prefetch;                  /* READY prefetch: unstarted sessions held beyond slots */
    int batch;                     /* READY batch: ASSIGNs it takes in one BATCH, 0/1 = none */
    wt_msg_t *outq;                /* owned array: this turn's ASSIGNs (borrowed strings) */
    int nout;                      /* used */
    int capout;                    /* allocated */
    int credit;                    /* slots + prefetch - sessions it holds */
    int64_t last_seen_ms;          /* monotonic time of its last message */
    int64_t ready_ms;              /* monotonic time of its last READY */
    wt_job_t *jobs;                /* owned list of sessions it holds */
    wt_broker_wcount_t count;      /* its cumulative counters from READY/HEARTBEAT */
    wt_route_offer_t offer;        /* owned: workflows and labels from its READY */
    char key[WT_CERT_Z85_LEN + 1]; /* its CURVE public key (ZAP User-Id), "" without CURVE */
} wt_bworker_t;

/* Free slots (STATS, metrics): credit less the prefetch it includes. */
static inline int
wt_broker_slots_free(const wt_bworker_t *w)
{
    int f = w->credit - w->prefetch;
    return f > 0 ? f : 0;
}

typedef struct wt_orphan {
    wt_job_t *job;          /* owned */
    char holder[128];       /* worker name from <prefix>running */
    int64_t deadline_ms;    /* monotonic: requeue if not adopted by then */
    struct wt_orphan *next; /* list link */
} wt_orphan_t;

typedef struct wt_broker_spawn wt_broker_spawn_t; /* below */

typedef struct wt_broker {
    wt_broker_cfg_t cfg;       /* read-only after start */
    void *zctx;                /* ZeroMQ context */
    void *clients;             /* client ROUTER */
    void *workers;             /* worker ROUTER */
    wt_zap_t *zap;             /* owned ZAP handler, NULL without CURVE */
    wt_redis_t *redis;         /* owned */
    wt_store_t store;          /* Redis layout over redis */
    wt_retain_t retain;        /* retention sweep over store */
    int64_t sweep_warn_ms;     /* monotonic: next time a sweep error may be logged */
    wt_route_t *queue;         /* owned run queue, one per (workflow, labels) class */
    wt_bworker_t *w;           /* owned array of live workers */
    size_t nw;                 /* live workers */
    size_t capw;               /* array capacity */
    wt_orphan_t *orphans;      /* running sessions found at start, not yet adopted */
    int64_t next_heartbeat_ms; /* monotonic */
    int64_t redis_retry_ms;    /* monotonic: no dispatch before this after a Redis failure */
    int redis_backoff_ms;      /* current backoff */
    int scripts_loaded;        /* Lua scripts loaded on this connection */
    wt_broker_stats_t stats;   /* shared with the HTTP thread */
    int64_t active;            /* sessions held by workers */
    char *unroutable;          /* owned: what <prefix>unroutable last got, NULL before */
    char lease_id[160];        /* this broker in the leader lease: host:pid:ulid */
    char leader_holder[160];   /* who held the lease at the last look */
    int64_t next_lease_ms;     /* monotonic: next lease renewal or poll */
    int64_t lease_ok_ms;       /* monotonic: last time the lease was held for sure */
    int lease_lost;            /* a fenced write was refused: step down at the next tick */
    int quiet[2];              /* clients, workers: the last use was a receive that found
                                  nothing, no send since (wait_sockets skips ZMQ_EVENTS) */
    wt_broker_spawn_t *spawns; /* owned: one turn's SPAWNs, BATCH_MAX slots */
    uint64_t assign_seq;       /* req of the last ASSIGN; starts at the wall clock in us so a
                                  restarted broker never reuses one a worker has seen */
} wt_broker_t;

/* A SPAWN on its way through intake (wt_broker_intake.c). */
struct wt_broker_spawn {
    char id[WT_WIRE_MAX_IDENTITY]; /* client identity */
    size_t idlen;                  /* identity length */
    wt_msg_t *msg;                 /* owned SPAWN */
    wt_job_t *job;                 /* owned until queued */
    const char *key;               /* borrowed from msg */
    char sid[64];                  /* intake reply: the session id */
    int existing;                  /* intake reply: an idempotent retry */
    int stored;                    /* intake reply read and good */
    size_t direct;                 /* worker whose first lease the intake takes, or SIZE_MAX */
    int64_t epoch;                 /* intake reply: 1 when that lease was taken, else 0 */
    wt_msg_t reply;                /* its SPAWNED (borrowed strings) */
    int held;                      /* reply waits to go out in a BATCH (send_spawned) */
};

/* wt_broker.c: sends m to the peer id on sock (a failure is logged). */
void wt_broker_send(wt_broker_t *self, void *sock, const void *id, size_t idlen, wt_msg_t *m);
/* wt_broker.c: sends ERROR code/text answering req. */
void wt_broker_send_error(wt_broker_t *self, void *sock, wt_chan_t chan, const void *id,
                          size_t idlen, uint64_t req, int code, const char *text);

/* One message received from a channel's ROUTER: its sender and, with
 * CURVE, the sender's key (ZAP User-Id). */
typedef struct wt_broker_rx {
    char id[WT_WIRE_MAX_IDENTITY];
    size_t idlen;
    char uid[WT_CERT_Z85_LEN + 1];
    wt_msg_t *m; /* owned by the caller once received */
} wt_broker_rx_t;

/* wt_broker.c: the next message on chan's socket, without waiting: 1 with
 * rx filled, 0 when none waits (the socket is then marked quiet), -1 for
 * a message that could not be read - already counted per channel, logged,
 * and answered with ERROR when its sender is known. */
int wt_broker_recv(wt_broker_t *self, wt_chan_t chan, wt_broker_rx_t *rx);
/* wt_broker.c: after a failed Redis call: drop the connection, back off
 * (or step down when the write was fenced). */
void wt_broker_redis_failed(wt_broker_t *self, const wt_err_t *err);
/* wt_broker.c: connects and loads the scripts when needed; 0 when usable. */
int wt_broker_redis_ready(wt_broker_t *self, wt_err_t *err);
/* wt_broker.c: 1 when a message's CURVE key (ZAP User-Id) is still allowed
 * in domain after a SIGHUP reload (counted and logged when not). */
int wt_broker_key_still_allowed(wt_broker_t *self, const char *domain, const char *uid);
/* wt_broker.c: back to the run queue (memory and Redis); takes the job.
 * how says whether this run counts against --max-attempts. */
void wt_broker_requeue(wt_broker_t *self, wt_job_t *job, const char *why, wt_store_requeue_t how);
/* wt_broker.c: a standby's answer: ERROR NOT_ACTIVE naming the leader. */
void wt_broker_not_active(wt_broker_t *self, void *sock, wt_chan_t chan, const void *id,
                          size_t idlen, uint64_t req);

/* wt_broker_workers.c: reads the worker socket (up to twice
 * WT_BROKER_BATCH_MAX messages) and handles each. */
void wt_broker_on_workers(wt_broker_t *self);
/* wt_broker_workers.c: frees what a worker entry owns (its sessions, its
 * offer, its ASSIGN queue); every place that drops entries uses it, so
 * none leaks a part. */
void wt_broker_worker_release(wt_bworker_t *w);
/* wt_broker_workers.c: drops worker w (the array's last entry moves into
 * its place); its sessions go back to the queue. */
void wt_broker_remove_worker(wt_broker_t *self, wt_bworker_t *w, const char *why);

/* wt_broker_intake.c: checks a SPAWN and makes its job (s->job); 0, or
 * fills why: -1 refused, -2 Redis unavailable, -3 unknown workflow. */
int wt_broker_validate_spawn(wt_broker_t *self, wt_broker_spawn_t *s, char *why, size_t cap);
/* wt_broker_intake.c: stores the batch's valid SPAWNs with one pipeline
 * (with the assign scripts of queued sessions for the credit there is) and
 * answers each; takes their jobs. */
void wt_broker_intake(wt_broker_t *self, wt_broker_spawn_t *batch, int n);
/* wt_broker_intake.c: sends the ASSIGNs held for workers that take them
 * in a BATCH (one message per worker). */
void wt_broker_flush_assigns(wt_broker_t *self);
/* wt_broker_intake.c: assigns queued sessions while workers have credit. */
void wt_broker_dispatch(wt_broker_t *self);

/* Leader lease timing (DESIGN 13): an active broker dead at t is replaced
 * by t + TTL + POLL at the latest. */
#define WT_BROKER_LEASE_TTL_MS   2500
#define WT_BROKER_LEASE_RENEW_MS 1000
#define WT_BROKER_LEASE_POLL_MS  200

/* wt_broker_lease.c: picks this broker's lease id; starts as standby. */
void wt_broker_lease_init(wt_broker_t *self);
/* wt_broker_lease.c: renews or takes the lease when due (redis_ok: the
 * connection is usable), steps down when it is gone or a fenced write was
 * refused, takes over (recovery from Redis) when it is free. -1 with err
 * when the lease call itself failed on Redis. */
int wt_broker_lease_tick(wt_broker_t *self, int redis_ok, wt_err_t *err);
/* wt_broker_lease.c: forget workers, queue and orphans; become standby. */
void wt_broker_step_down(wt_broker_t *self, const char *why);
/* wt_broker_lease.c: gives the lease up at a clean stop (fast failover). */
void wt_broker_lease_release(wt_broker_t *self);

/* wt_broker_recover.c: rebuild the queue and orphans from Redis. */
int wt_broker_recover(wt_broker_t *self, wt_err_t *err);
/* wt_broker_recover.c: a job from a session hash reply (HGETALL), or NULL. */
wt_job_t *wt_broker_job_from_hash(const char *sid, void *reply);

/* wt_broker_routing.c: the live workers as wt_route sees them. */
wt_route_fleet_t wt_broker_fleet(wt_broker_t *self);
/* wt_broker_routing.c: publishes the queued classes no live worker can run
 * (stats for /metrics, <prefix>unroutable for `status`). */
void wt_broker_report_unroutable(wt_broker_t *self);

/* wt_broker_cli.c: fills cfg from argv and the environment and checks it;
 * 0 to run, 1 after --help, 2 on bad usage (printed). */
int wt_broker_parse_args(wt_broker_cfg_t *cfg, int argc, char **argv);
/* wt_broker_cli.c: loads --triggers checked against the known workflow
 * ids, printing every problem; NULL and *failed = 1 when it has errors. */
wt_triggers_t *wt_broker_load_triggers(const wt_broker_cfg_t *cfg, int *failed);
/* wt_broker_cli.c: the workflows of --workflows folders and the fleet
 * registry count as known to the run queue from the start. */
void wt_broker_known_workflows(wt_broker_t *self);

#endif
