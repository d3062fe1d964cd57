/* wt_console_runs - the console's pipeline-run answers (console/API.md,
 * GET /api/runs and /api/runs/<id>), read from the run records that
 * `worktrain run` keeps in Redis. Errors as in wt_console_api. */
#ifndef WT_CONSOLE_RUNS_H
#define WT_CONSOLE_RUNS_H

#include "wt_console_query.h"
#include "wt_err.h"
#include "wt_store.h"

#include <jansson.h>

#define WT_CONSOLE_RUNS_SESSIONS_MAX 5000 /* sessions of one run grouped into phases */

/* {"runs": [summary...], "next_cursor": ... | null}, newest first. */
json_t *wt_console_runs_list(wt_store_t *store, const wt_console_page_query_t *q, wt_err_t *err);
/* {"run": summary + inputs, "phases": [{id, state, ..., "nodes": [...]}]}. */
json_t *wt_console_runs_get(wt_store_t *store, const char *id, wt_err_t *err);

#endif
