/* wt_console_sse - Server-Sent Events of a Redis stream (console/API.md):
 * a session's events, ending after its session_completed, or the fleet
 * stream. Each stream has its own thread (libmicrohttpd's, one per
 * connection) and its own Redis connection doing XREAD BLOCK, so a slow
 * client holds up nobody else. */
#ifndef WT_CONSOLE_SSE_H
#define WT_CONSOLE_SSE_H

#include "wt_buf.h"
#include "wt_err.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#define WT_CONSOLE_SSE_BLOCK_MS 1000 /* longest XREAD BLOCK (the stop flag is checked between) */
#define WT_CONSOLE_SSE_RETRY_MS 3000 /* reconnection delay suggested to browsers */
/* Largest event data sent whole. A bigger one (a huge tool result, a long
 * output) goes as a truncated form: the small fields of its data, the
 * names of those left out, its size and a link to the whole event over the
 * JSON API. Without a cap, an event larger than a read's buffer ended the
 * stream at it, and the browser's resume asked for it again, for ever. */
#define WT_CONSOLE_SSE_MAX_EVENT_BYTES  (256 << 10)
#define WT_CONSOLE_SSE_KEEP_FIELD_BYTES 1024 /* data fields kept in a truncated form */

struct MHD_Response;

/* Appends one event: "id: ID\nevent: TYPE\ndata: JSON\n\n". CR and LF in
 * id and type become '_' (they would end the field); json must be one line. */
int wt_console_sse_frame(wt_buf_t *out, const char *id, const char *type, const char *json,
                         wt_err_t *err);
/* The truncated form of event e (see WT_CONSOLE_SSE_MAX_EVENT_BYTES), whose
 * compact JSON is bytes long, linking to full: a new reference. */
json_t *wt_console_sse_truncate(json_t *e, size_t bytes, const char *full);
/* Appends a comment line ": text\n\n" (keepalives). */
int wt_console_sse_comment(wt_buf_t *out, const char *text, wt_err_t *err);

typedef struct wt_console_sse_cfg {
    const char *redis_url;      /* the stream opens its own connection */
    const char *session;        /* session id, or NULL for the fleet stream */
    const char *last_event_id;  /* resume after this id, or NULL (see below) */
    int64_t heartbeat_ms;       /* keepalive comment interval */
    const atomic_int *stopping; /* non-zero: end the stream (server shutting down) */
} wt_console_sse_cfg_t;

/* Makes the response for a stream. Without last_event_id a session stream
 * starts at its first event and the fleet stream at new entries only.
 * Returns NULL with WT_ENOTFOUND for an unknown session, WT_EIO when Redis
 * fails; *no_content is set (and NULL returned, err untouched) when a
 * client resumes an ended session with nothing left to send (answer 204:
 * browsers stop reconnecting). */
struct MHD_Response *wt_console_sse_response(const wt_console_sse_cfg_t *cfg, int *no_content,
                                             wt_err_t *err);

#endif
