/* wt_worker_cfg - worker settings: defaults, then flags, then checks. */
#ifndef WT_WORKER_CFG_H
#define WT_WORKER_CFG_H

#include "wt_cert.h"
#include "wt_llm.h"
#include "wt_notify.h"
#include "wt_sandbox.h"

#include <stdint.h>

#define WT_WORKER_MAX_DIRS   16
#define WT_WORKER_MAX_LABELS 16

typedef struct wt_worker_cfg {
    char broker[256];  /* worker endpoint of the broker */
    char clients[256]; /* client endpoint of the broker (spawn_agent) */
    char redis[512];   /* Redis URL */
    char name[128];    /* worker name = ZeroMQ identity */
    char http[128];    /* --http ADDR:PORT (/healthz /readyz /metrics) */
    int slots;         /* concurrent sessions */
    int prefetch;      /* --prefetch: sessions held unstarted beyond the slots (default 0) */
    char workflow_dirs[WT_WORKER_MAX_DIRS][512]; /* where workflows are loaded from */
    int nworkflow_dirs;                          /* count */
    char labels[WT_WORKER_MAX_LABELS][65];       /* --label: what sessions may require */
    int nlabels;                                 /* count */
    char workspace_root[512];                    /* per-session workspaces */
    int64_t keep_ms;                             /* --keep-days: workspaces of failed sessions */
    char soul_path[512];                         /* optional soul file */
    int heartbeat_ms;                            /* heartbeat interval */
    int liveness;                                /* missed heartbeats before reconnecting */
    int max_turns;                               /* default per session */
    int min_notes;                               /* complete_step's shortest notes (50) */
    int memory_every;                            /* --memory-every N (0: off) */
    int min_replicas;                            /* --redis-min-replicas for session_completed */
    int64_t session_timeout_ms;                  /* default wall clock per session */
    int64_t drain_timeout_ms;                    /* SIGTERM: wait this long for step boundaries */
    int stuck_abort;                             /* agent_stuck policy: 1 abort, 0 notify_only */
    wt_llm_cfg_t llm;                            /* provider settings */
    wt_notify_cfg_t notify;                      /* WORKTRAIN_NOTIFY_*: session_completed posts */
    wt_cert_peer_t curve;                        /* --curve-key/--broker-pub (worker socket) */
    wt_cert_peer_t spawn_curve;                  /* --client-key + --broker-pub: spawn_agent */
    wt_sandbox_cfg_t sandbox;                    /* --sandbox, --tool-network, --tool-max-* */
} wt_worker_cfg_t;

/* Parses argv; returns 0, 1 after --help (exit 0), or 2 on bad usage (the
 * one-line error is already printed). */
int wt_worker_cfg_parse(wt_worker_cfg_t *cfg, int argc, char **argv);

#endif
