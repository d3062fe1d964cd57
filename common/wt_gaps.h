/* wt_gaps - the watchdog's deterministic gap finders (DESIGN.md 17) over
 * the fleet's recent history in Redis:
 *   failed_no_followup  a session that failed (error, timeout, stuck) and
 *                       no later session of the same workflow and goal;
 *   same_files          two or more sessions that touched the same path:
 *                       their Write/Edit tool calls, or the files their
 *                       delivered branch or PR changed (<p>delivery:<sid>
 *                       field files);
 *   repeated_issue      the same reported issue summary from two or more
 *                       sessions;
 *   escalation_unacted  an inbox escalation nothing refers to since: no
 *                       inbox entry of kind ack with ref = its entry id or
 *                       run, no later session whose goal names its entry
 *                       id, run or session, no tell (message_received)
 *                       naming them;
 *   idea_ready          a recorded idea with prerequisites (requires: session
 *                       ids that must succeed, idea ids that must be marked
 *                       done in <p>ideas:done), all done, itself not done.
 * Each finding has a stable key; <p>gaps (zset: key by first reported ms,
 * the newest WT_GAPS_MARKS_MAX kept) remembers what was reported, so a
 * finding is reported once across runs.
 * A new finding gets one inbox entry of kind gap. The agent of the
 * watchdog workflow reads the findings, looks deeper with the knowledge
 * tools and writes the gap report. */
#ifndef WT_GAPS_H
#define WT_GAPS_H

#include "wt_err.h"
#include "wt_store.h"

#include <jansson.h>
#include <stdint.h>

#define WT_GAPS_SESSIONS_MAX   2000  /* newest sessions looked at */
#define WT_GAPS_EVENTS_MAX     1000  /* events read per session for file edits */
#define WT_GAPS_FILES_SESSIONS 200   /* newest sessions whose edits are compared */
#define WT_GAPS_MARKS_MAX      20000 /* reported findings remembered */
#define WT_GAPS_ISSUES_MAX     2000  /* inbox entries read (issues, escalations, acks) */
#define WT_GAPS_IDEAS_MAX      1000  /* ideas read for idea_ready */
#define WT_GAPS_TELLS_MAX      2000  /* operator messages kept for escalation_unacted */
#define WT_GAPS_TELL_CHARS     400   /* of each */

/* Finds gaps in sessions created at or after since_ms (0 = any), records
 * the new ones (inbox kind gap, <p>gaps) for session `by` (the watchdog's,
 * may be NULL), and returns {new: [{kind, key, summary, sessions, run?,
 * idea?}],
 * already_reported, sessions_scanned}; NULL on a Redis error. */
json_t *wt_gaps_scan(wt_store_t *st, int64_t since_ms, const char *by, wt_err_t *err);

#endif
