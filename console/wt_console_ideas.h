/* wt_console_ideas - the console's Ideas/Gaps panel answer (console/API.md,
 * GET /api/ideas): recorded ideas (<prefix>ideas, from record_idea) and the
 * watchdog's gap entries (inbox kind gap), newest first, each naming the
 * session(s) it came from. Bounded like every wt_fleetq answer. */
#ifndef WT_CONSOLE_IDEAS_H
#define WT_CONSOLE_IDEAS_H

#include "wt_err.h"
#include "wt_store.h"

#include <jansson.h>

#define WT_CONSOLE_IDEAS_MAX 50 /* ideas and gaps listed, each */

/* {"ideas": [{id, title, body, tags, session, ts_ms}], "gaps": [{id, gap_kind,
 * summary, session, sessions, key, ts_ms}]}; NULL with err on a Redis error. */
json_t *wt_console_ideas(wt_store_t *st, wt_err_t *err);

#endif
