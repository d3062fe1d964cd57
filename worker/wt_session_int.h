/* wt_session_int - the session struct and the helpers split across
 * wt_session.c (setup, events, endings, resume), wt_session_loop.c (turns,
 * tools, stuck signals) and wt_session_spawn.c (spawn_agent). */
#ifndef WT_SESSION_INT_H
#define WT_SESSION_INT_H

#include "wt_events.h"
#include "wt_redis.h"
#include "wt_repo.h"
#include "wt_session.h"
#include "wt_store.h"
#include "wt_stuck.h"
#include "wt_tools.h"
#include "wt_ulid.h"
#include "wt_wfrun.h"

#include <limits.h>

struct wt_session {
    const wt_session_env_t *env; /* borrowed worker environment */
    char sid[WT_ULID_LEN + 1];   /* session id */
    char *workflow_id;           /* owned */
    char *goal;                  /* owned */
    char *context_json;          /* owned initial context */
    json_t *context0;            /* owned parsed initial context (an object), set by start */
    char *workspace_repo;        /* owned git repo for a worktree, or NULL */
    wt_repo_spec_t spec;         /* owned remote workspace spec (spec.url NULL: none) */
    char spec_error[256];        /* why the workspace spec was refused, "" when fine */
    int64_t epoch;               /* lease epoch (fencing) */
    int attempt;                 /* 1 on the first run */
    int depth;                   /* spawn depth */
    int max_turns;               /* turn limit */
    int64_t timeout_ms;          /* wall-clock limit */
    int64_t started_ms;          /* wall clock at start of this attempt */
    int64_t deadline_mono;       /* monotonic deadline */
    volatile int cancel;         /* set by the main thread: STOP (also interrupts tools, LLM) */
    int cancel_fd;               /* eventfd made readable with cancel (wakes an LLM wait),
                                    lent by the slot (wt_session_lend_cancel_fd); -1: none */
    volatile int drain;          /* set by the main thread: hand back after this turn */
    volatile int abandon;        /* set by the main thread: drain deadline, stop now */
    int stale;                   /* a write was refused: the lease moved */
    int at_boundary;             /* between steps: a drain may hand the session back here */
    char write_error[256];       /* why the last event write failed (Redis unreachable) */
    wt_redis_t *redis;           /* connection: owned, or lent by the slot (redis_lent) */
    int redis_lent;              /* 1: redis belongs to the worker's slot */
    wt_store_t store;            /* layout over redis */
    wt_events_t events;          /* fenced writer over store */
    char *workspace;             /* owned canonical workspace path, NULL before made */
    int workspace_later;         /* a plain workspace not created yet (first tool makes it) */
    int workspace_absent;        /* with workspace_later: seen not to exist when the run began */
    const wt_workflow_t *wf;     /* borrowed */
    wt_wfrun_t *run;             /* owned cursor */
    char *system;                /* system prompt: owned, or env's (system_shared) */
    int system_shared;           /* 1: system is env->wf_prompts[i], not freed here */
    json_t *messages;            /* owned neutral conversation */
    json_t *tools;               /* owned tool definitions */
    int turn;                    /* index of the next assistant turn (see replay) */
    int turns_used;              /* assistant turns recorded, all runs (max_turns) */
    wt_stuck_t stuck;            /* stuck detector */
    int quit;                    /* conversation: the user sent /quit (talk) */
    int stuck_counted;           /* counted in env->counters->stuck_flagged */
};

/* Appends an event (data is stolen) with hash updates through wt_events.
 * -1 when refused as stale (self->stale set), or when Redis stayed
 * unreachable past the retry bound or the session was abandoned
 * (self->write_error says why). */
int wt_session_emit(wt_session_t *self, const char *type, json_t *data, int fleet, int nfields,
                    const char **fields);
/* Group commit (issue 18): buffers an event to be written with the next
 * emit or commit (wt_events_defer). Only for events that need not be
 * stored before the next outside action: every LLM call, tool with side
 * effects and child spawn commits first. -1 as wt_session_emit. */
int wt_session_defer(wt_session_t *self, const char *type, json_t *data, int fleet, int nfields,
                     const char **fields);
/* Defers event `type` and writes it with the deferred events, unless
 * operator messages wait (then *told is 1 and it is not written:
 * wt_events_commit_unless_told); -1 as wt_session_emit. */
int wt_session_commit_unless_told(wt_session_t *self, const char *type, json_t *data, int *told);
/* Writes the deferred events (one round trip); -1 as wt_session_emit. */
int wt_session_commit(wt_session_t *self);
/* Creates the plain workspace a session put off (workspace_later) before
 * its first tool that may use it; 0 when it exists, -1 with why. */
int wt_session_workspace_ready(wt_session_t *self, char *why, size_t cap);
/* One step_skipped event per step the cursor passed over since the last
 * call ({step, condition, values}); -1 as wt_session_emit. */
int wt_session_emit_skipped(wt_session_t *self);
/* A new user message carrying an operator's message (`worktrain tell`). */
json_t *wt_session_operator_message(const char *text);
/* Runs the conversation until the workflow ends or a limit hits; returns
 * the outcome string (static) and fills detail. */
const char *wt_session_loop(wt_session_t *self, char *detail, size_t cap);

/* After a stored ending: every env->memory_every completions fleet-wide,
 * spawns a `memory` session (wt_session_spawn.c). */
void wt_session_kick_memory(wt_session_t *self);
/* spawn_agent (wt_session_spawn.c): 0 with an error or child result. */
int wt_session_spawn_agent(wt_session_t *self, json_t *input, wt_tool_result_t *res);

#endif
