/* wt_wfrun - one session's position in a loaded workflow (step, loop
 * counters, context, notes): the run cursor the worker drives with
 * complete_step. It serializes to JSON so a resumed session can rebuild it
 * (wt_wfrun_state / wt_wfrun_restore). Loading lives in formats/wt_workflow.h. */
#ifndef WT_WFRUN_H
#define WT_WFRUN_H

#include "wt_workflow.h"

typedef struct wt_wfrun wt_wfrun_t;

/* context: initial vars (copied; NULL = {}). Positions on the first step
 * whose runCondition holds (wt_wfrun_done when none). */
wt_wfrun_t *wt_wfrun_new(const wt_workflow_t *wf, json_t *context, wt_err_t *err);
void wt_wfrun_destroy(wt_wfrun_t **self_p);
int wt_wfrun_done(const wt_wfrun_t *self);
/* Current step id, title; "" when done. */
const char *wt_wfrun_step_id(const wt_wfrun_t *self);
const char *wt_wfrun_step_title(const wt_wfrun_t *self);
/* Number of steps completed so far (across loop iterations). */
int wt_wfrun_completed_count(const wt_wfrun_t *self);
/* Model tier for the current step (step modelTier, else workflow's, else NULL). */
const char *wt_wfrun_model_tier(const wt_wfrun_t *self);
/* The current step's own modelTier, or NULL when it names none. */
const char *wt_wfrun_step_model_tier(const wt_wfrun_t *self);
/* The text presenting the current step to the agent (title, prompt or
 * promptBlocks, guidance, agentRole, loop item/iteration, required outputs).
 * Caller frees. */
char *wt_wfrun_render_step(const wt_wfrun_t *self);
/* Handles the complete_step tool: args = {notes, context, artifacts, ...}.
 * On success merges context, records notes/artifacts, advances (evaluating
 * loops and runConditions) and returns 0. When the step may not complete
 * (missing outputRequired key, failed outputContract, assessment requiring a
 * follow-up) returns -1 with err->msg the text to give the agent as an error
 * tool result. */
int wt_wfrun_complete(wt_wfrun_t *self, json_t *args, wt_err_t *err);
/* Borrowed views of the accumulated state. */
json_t *wt_wfrun_context(const wt_wfrun_t *self);
const char *wt_wfrun_notes(const wt_wfrun_t *self); /* last step's notes */
json_t *wt_wfrun_artifacts(const wt_wfrun_t *self); /* all artifacts, in order */
/* Notes of every completed step as "step-id: notes" lines (for prompts). */
char *wt_wfrun_history(const wt_wfrun_t *self);
/* Serializable position for resume; new reference. */
json_t *wt_wfrun_state(const wt_wfrun_t *self);
wt_wfrun_t *wt_wfrun_restore(const wt_workflow_t *wf, json_t *state, wt_err_t *err);

#endif
