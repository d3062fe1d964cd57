/* wt_fleetq - read the fleet's knowledge out of Redis for agents and for
 * `worktrain talk` (DESIGN.md 17): find sessions, a session's notes and
 * issues, the fleet's status, the inbox, recorded ideas, the project memory,
 * and the context bundle talk starts with. Writes only ideas (<p>ideas plus
 * an inbox entry of kind idea), gaps (kind gap) and <p>memory.
 *
 * Every answer is bounded: list sizes are capped, long texts are cut, and a
 * serialised answer never exceeds WT_FLEETQ_BUDGET_BYTES (about 4k tokens):
 * lists stop early and say so with a cursor. Every key is built from the
 * store's prefix and a validated session id (a ULID), so no argument can
 * name a key outside the prefix. */
#ifndef WT_FLEETQ_H
#define WT_FLEETQ_H

#include "wt_err.h"
#include "wt_store.h"

#include <jansson.h>
#include <stdint.h>

#define WT_FLEETQ_BUDGET_BYTES 16000 /* largest serialised answer */
#define WT_FLEETQ_LIMIT_MAX    50    /* items per page */
#define WT_FLEETQ_SCAN_MAX     10000 /* sessions looked at per call */
#define WT_FLEETQ_TEXT_CHARS   240   /* goal/summary cut in lists */
#define WT_FLEETQ_NOTE_CHARS   1500  /* one step note cut */
#define WT_FLEETQ_MEMORY_MAX   4096  /* bytes kept in <p>memory */
#define WT_FLEETQ_IDEAS_CAP    1000  /* approximate length cap of <p>ideas */
#define WT_FLEETQ_IDEA_TITLE   200   /* bytes */
#define WT_FLEETQ_IDEA_BODY    4000  /* bytes */

/* A session search. Strings are borrowed; NULL or "" means any. */
typedef struct wt_fleetq_filter {
    const char *text;     /* case-insensitive substring of goal, output (notes) or error */
    const char *status;   /* queued running completed failed cancelled */
    const char *outcome;  /* success error timeout stuck cancelled */
    const char *workflow; /* workflow id */
    const char *run;      /* coordinator run id */
    int64_t since_ms;     /* created at or after; 0 = no bound */
    int64_t until_ms;     /* created at or before; 0 = now */
    const char *cursor;   /* next_cursor of an earlier page, or NULL */
    int limit;            /* 1..WT_FLEETQ_LIMIT_MAX (0 = 20) */
} wt_fleetq_filter_t;

/* 1 when sid is a 26-char ULID (Crockford base32). */
int wt_fleetq_sid_ok(const char *sid);

/* Sessions newest first: {sessions: [{id, workflow, status, outcome, run,
 * created_ms, step, goal, summary}], scanned, next_cursor (string, or null
 * when there is no more)}. WT_EINVAL for a bad cursor or limit. */
json_t *wt_fleetq_sessions(wt_store_t *st, const wt_fleetq_filter_t *f, wt_err_t *err);

/* One session: {id, workflow, goal, status, outcome, step, run, error,
 * notes: [{step, notes}] (newest kept when over budget), issues: [{kind,
 * severity, summary}], output_context, truncated}. WT_EINVAL for a bad id,
 * WT_ENOTFOUND when unknown. */
json_t *wt_fleetq_notes(wt_store_t *st, const char *sid, wt_err_t *err);

/* {queued, running: [{id, workflow, step, worker, goal, latest_note}],
 * workers: [{name, slots, free, last_seen_ms}]}. */
json_t *wt_fleetq_status(wt_store_t *st, wt_err_t *err);

/* Inbox entries newest first, of kind (NULL = any): {entries: [{id, kind,
 * ...fields}], next_cursor}; before = an entry id to continue below. */
json_t *wt_fleetq_inbox(wt_store_t *st, const char *kind, int limit, const char *before,
                        wt_err_t *err);

/* Recorded ideas newest first: {ideas: [{id, title, body, tags, session, ts_ms}]}. */
json_t *wt_fleetq_ideas(wt_store_t *st, int limit, wt_err_t *err);

/* Records an idea in <p>ideas and an inbox entry of kind idea; copies the
 * idea's stream id to id_out. requires (may be NULL or "") is a comma list
 * of prerequisites: session ids (done = completed with outcome success) or
 * idea ids (done = marked with wt_fleetq_idea_done); the watchdog reports an
 * idea once all of them are done. WT_EINVAL for an empty or oversized
 * title/body, or a requires list over 600 bytes. */
int wt_fleetq_record_idea(wt_store_t *st, const char *title, const char *body, const char *tags,
                          const char *requires, const char *session, char *id_out, size_t cap,
                          wt_err_t *err);

/* 1 when id is an idea id (a stream id, MS-SEQ). */
int wt_fleetq_idea_id_ok(const char *id);

/* Marks the idea done in <p>ideas:done (idea id -> ts_ms and session);
 * WT_EINVAL for a bad id, WT_ENOTFOUND when no such idea is recorded. */
int wt_fleetq_idea_done(wt_store_t *st, const char *idea, const char *session, wt_err_t *err);

/* The project memory (new string, "" when none). */
char *wt_fleetq_memory(wt_store_t *st, wt_err_t *err);
/* Replaces it; text longer than WT_FLEETQ_MEMORY_MAX is cut (at a UTF-8
 * boundary) with a marker. */
int wt_fleetq_memory_set(wt_store_t *st, const char *text, wt_err_t *err);

/* The markdown context bundle `worktrain talk` sends first: the memory, the
 * last n completions, open escalations and issues, in-flight sessions with
 * their latest notes, recent ideas. New string, at most
 * WT_FLEETQ_BUDGET_BYTES plus a line. */
char *wt_fleetq_bundle(wt_store_t *st, int n, wt_err_t *err);

/* Serialises j compactly (new string); appends nothing else. */
char *wt_fleetq_dump(const json_t *j);

#endif
