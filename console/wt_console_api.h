/* wt_console_api - the console's JSON answers (console/API.md), read from
 * Redis through the caller's store (one per HTTP connection: hiredis
 * contexts are not thread-safe). Each call returns a new JSON object, or
 * NULL with err: WT_EINVAL (answer 400), WT_ENOTFOUND (404), anything else
 * means Redis failed (503). Every call bounds its work. */
#ifndef WT_CONSOLE_API_H
#define WT_CONSOLE_API_H

#include "wt_console_query.h"
#include "wt_err.h"
#include "wt_store.h"

#include <jansson.h>

#define WT_CONSOLE_API_SCAN_MAX   20000 /* candidates examined per list request */
#define WT_CONSOLE_API_EVENTS_MAX 2000  /* events in a session detail */
#define WT_CONSOLE_API_NODES_MAX  1000  /* nodes in one tree answer */
#define WT_CONSOLE_API_WORKER_MS  60000 /* workers index entries newer than this are read */

/* {queued, running, workers, slots_total, slots_free, sessions_total,
 * oldest_queued_age_s} */
json_t *wt_console_api_stats(wt_store_t *store, wt_err_t *err);
/* {"workers": [...]} sorted by name. */
json_t *wt_console_api_workers(wt_store_t *store, wt_err_t *err);
/* {"sessions": [summary...], "next_cursor": "..." | null}, newest first. */
json_t *wt_console_api_sessions(wt_store_t *store, const wt_console_sessions_query_t *q,
                                wt_err_t *err);
/* {"session": detail, "events": [...], "truncated": bool}. */
json_t *wt_console_api_session(wt_store_t *store, const char *sid, wt_err_t *err);
/* The session and its descendants as nested nodes. */
/* One event by its stream id: of session sid's stream, or of the fleet
 * stream when sid is NULL. WT_ENOTFOUND when there is no such entry, WT_EINVAL
 * for an id that is not a stream id. The whole event, however large (the
 * link SSE gives for a truncated event). */
json_t *wt_console_api_event_get(wt_store_t *store, const char *sid, const char *id, wt_err_t *err);
json_t *wt_console_api_tree(wt_store_t *store, const char *sid, wt_err_t *err);

/* Tree nodes for sids (in order, missing sessions left out) with their
 * descendants, spending at most *budget nodes (decremented); a node whose
 * children did not all fit gets "more": true. A new array, or NULL with err. */
json_t *wt_console_api_nodes(wt_store_t *store, const char *const *sids, int n, int *budget,
                             wt_err_t *err);
/* A JSON string of s (invalid UTF-8 bytes become '?'); never NULL. */
json_t *wt_console_api_string(const char *s);
/* s as a number when it is one, else 0. */
json_t *wt_console_api_number(const char *s);
/* One stream entry as {id, type, ts_ms, data} (data parsed when it is JSON);
 * session is added when not NULL. */
json_t *wt_console_api_event(const redisReply *entry, const char *session);

#endif
