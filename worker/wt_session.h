/* wt_session - one agent session, run start to end on its own thread.
 *
 * The session owns its Redis connection, workspace and conversation; it
 * shares read-only the worker's workflows and LLM provider. Every event is
 * written with the lease epoch from ASSIGN; a refused (stale) write means
 * another worker holds the session now, and this one stops silently. A
 * write that Redis does not take within the retry bound (30 s) stops the
 * session too, handed back to the broker so it resumes once Redis is back. The
 * main thread may set `cancel` (STOP from the broker) or `drain` (SIGTERM):
 * cancel ends the session as cancelled; drain lets the turn in progress
 * (LLM call and its tool calls, complete_step included) finish, then hands
 * the session back without completing it - resume replays the stored
 * steps, so only the current step's partial work is redone; abandon (the
 * drain deadline) stops it at once and hands it back. */
#ifndef WT_SESSION_H
#define WT_SESSION_H

#include "wt_cert.h"
#include "wt_llm.h"
#include "wt_notify.h"
#include "wt_proto.h"
#include "wt_redis.h"
#include "wt_sandbox.h"
#include "wt_workflow.h"

#include <stdatomic.h>
#include <stdint.h>

/* A worker's cumulative counters, bumped by every session thread (relaxed
 * atomics: they are figures for /metrics, not synchronisation). */
typedef struct wt_session_counters {
    atomic_uint_fast64_t llm_calls;      /* LLM calls that returned, after their retries */
    atomic_uint_fast64_t input_tokens;   /* input tokens of successful calls */
    atomic_uint_fast64_t output_tokens;  /* output tokens of successful calls */
    atomic_uint_fast64_t tool_calls;     /* tool calls run */
    atomic_uint_fast64_t llm_retries;    /* retries inside LLM calls */
    atomic_uint_fast64_t stuck_flagged;  /* sessions that reported agent_stuck (once each) */
    atomic_uint_fast64_t stuck_ended;    /* of those, the ones whose run ended since */
    atomic_uint_fast64_t deliver_fails;  /* delivery_failed events (DESIGN 15) */
    atomic_uint_fast64_t prefetch_taken; /* held sessions a slot thread started itself, as its
                                            session ended (wt_worker) */
} wt_session_counters_t;

typedef struct wt_session_env {
    const char *worker_name;            /* for events and the hash */
    const char *redis_url;              /* each session connects on its own */
    const char *prefix;                 /* key prefix (NULL = default) */
    const wt_workflow_set_t *workflows; /* shared, read-only */
    wt_llm_t *llm;                      /* shared, thread-safe */
    const char *workspace_root;         /* new workspaces go here */
    const char *soul;                   /* soul file text, "" when none */
    char *const *tool_env;              /* scrubbed environment for Bash */
    const wt_sandbox_t *sandbox;        /* where Bash runs; NULL = unsandboxed */
    int default_max_turns;              /* when ASSIGN says 0 */
    int min_notes;                      /* complete_step refuses shorter notes (0: no minimum) */
    int memory_every;                   /* spawn `memory` every N completions (0: never) */
    int min_replicas;                   /* session_completed waits for N replicas (WAIT) */
    int64_t default_timeout_ms;         /* wall clock, when ASSIGN says 0 */
    int stuck_abort;                    /* 1: agent_stuck ends the session; 0: notify only */
    int bash_timeout_ms;                /* Bash default */
    const char *clients_ep;             /* broker client endpoint, for spawn_agent */
    const wt_cert_peer_t *spawn_curve;  /* CURVE keys for it; NULL = plain */
    int curve_without_client_key;       /* CURVE on but no --client-key: spawn_agent refuses */
    int64_t write_retry_ms;             /* retry bound of event writes, 0 = WT_EVENTS_RETRY_MS */
    wt_notify_t *notify;                /* shared, thread-safe; NULL or disabled = no posts */
    wt_session_counters_t *counters;    /* shared; NULL = not counted */
    struct wt_deliver *deliver;         /* the worker's delivery thread; NULL = none */
    /* Built once per worker for workflows->at(i) (both NULL: built per
     * session): the tool definitions (shared read-only by every session of
     * the workflow; jansson's reference counts are atomic) and the system
     * prompt of a session without context files or completed steps
     * (wt_prompt_base). */
    json_t *const *wf_tools;
    /* workspace_root made and resolved once by the worker
     * (wt_workspace_root_real); NULL or "": resolved per session. */
    const char *workspace_real;
    char *const *wf_prompts;
} wt_session_env_t;

typedef struct wt_session wt_session_t;

/* Copies what it needs from the ASSIGN message. */
wt_session_t *wt_session_new(const wt_session_env_t *env, const wt_msg_t *assign);
void wt_session_destroy(wt_session_t **self_p);
/* Runs the session to its end (blocking); returns the outcome: success
 * error timeout stuck cancelled, or "handback" / "stale" when it stopped
 * without completing. The string is static. */
const char *wt_session_run(wt_session_t *self);
/* Lends the session a Redis connection to use instead of opening its own
 * (the worker keeps one per slot: a TCP connect per session costs both
 * sides). Call before wt_session_run; the session never frees it. Safe to
 * reuse after the session because every command either completes or drops
 * the connection (wt_redis), so no reply is ever left behind. */
void wt_session_lend_redis(wt_session_t *self, wt_redis_t *redis);
/* Lends the session the slot's eventfd (nonblocking) that a cancel makes
 * readable, to wake an LLM wait (without one the wait polls the flag): one
 * per slot instead of an eventfd made and closed per session (issue 18).
 * Main thread, before wt_session_run, like every cancel; a cancel that came
 * while the session was held is signalled now. The session never closes
 * it; wt_session_destroy (main thread) reads back what its own cancel
 * wrote, so the slot's next session starts with the fd unreadable. */
void wt_session_lend_cancel_fd(wt_session_t *self, int fd);
const char *wt_session_id(const wt_session_t *self);
/* Flags the main thread may set. */
void wt_session_cancel(wt_session_t *self);
/* The broker re-assigned this running session to this worker with a newer
 * lease epoch (its earlier ASSIGN looked lost): keep running under it. */
void wt_session_renew(wt_session_t *self, int64_t epoch);
void wt_session_drain(wt_session_t *self);
/* Drain deadline passed: stop now (interrupting tools) and hand back. */
void wt_session_abandon(wt_session_t *self);

#endif
