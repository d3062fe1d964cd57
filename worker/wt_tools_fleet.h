/* wt_tools_fleet - the fleet knowledge tools of DESIGN.md 17 for agents:
 * fleet_sessions, session_notes, fleet_status, inbox_read (read-only) and
 * record_idea, idea_done (write ideas) and fleet_gaps (the watchdog's scan).
 * A workflow gets them only by listing them in its "tools"; the session
 * adds their definitions and routes their calls here. Arguments of the wrong type or out of range
 * are a tool error the agent reads, never a crash; answers are JSON within WT_FLEETQ_BUDGET_BYTES
 * (wt_fleetq). */
#ifndef WT_TOOLS_FLEET_H
#define WT_TOOLS_FLEET_H

#include "wt_store.h"
#include "wt_tools.h"
#include "wt_workflow.h"

#include <jansson.h>

#define WT_TOOLS_FLEET_REQUIRES_MAX 10 /* prerequisites of one idea */

/* 1 when name is one of the fleet tools. */
int wt_tools_fleet_is(const char *name);
/* Appends to defs ({name, description, input_schema}) the fleet tools wf
 * lists (none when wf is NULL). */
void wt_tools_fleet_add_definitions(json_t *defs, const wt_workflow_t *wf);
/* Runs fleet tool name for session (the caller, recorded with an idea).
 * 0 when it ran (out filled, maybe an error result), -1 when name is not
 * a fleet tool. */
int wt_tools_fleet_run(wt_store_t *st, const char *session, const char *name, json_t *args,
                       wt_tool_result_t *out);

#endif
