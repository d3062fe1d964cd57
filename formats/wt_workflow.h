/* wt_workflow - WorkRail-format workflow files (DESIGN.md section 6): loading
 * with precise errors, and the run cursor that walks the steps.
 *
 * A wt_workflow_t is immutable after load and shared read-only by all
 * session threads. A wt_wfrun_t is one session's position in it (step,
 * loop counters, context, notes); it serializes to JSON so a resumed session
 * can rebuild it (wt_wfrun_state / wt_wfrun_restore). */
#ifndef WT_WORKFLOW_H
#define WT_WORKFLOW_H

#include "wt_err.h"

#include <jansson.h>

typedef struct wt_workflow wt_workflow_t;
typedef struct wt_wfrun wt_wfrun_t;

/* Loads and validates. Errors read "FILE: $.steps[2].runCondition: what is
 * wrong (fix)". */
wt_workflow_t *wt_workflow_load_file(const char *path, wt_err_t *err);
wt_workflow_t *wt_workflow_parse(const char *text, size_t len, const char *origin, wt_err_t *err);
void wt_workflow_destroy(wt_workflow_t **self_p);

const char *wt_workflow_id(const wt_workflow_t *self);
const char *wt_workflow_name(const wt_workflow_t *self);
const char *wt_workflow_description(const wt_workflow_t *self);
const char *wt_workflow_version(const wt_workflow_t *self);
/* metaGuidance joined as a bulleted text ("" when none). */
const char *wt_workflow_meta_guidance(const wt_workflow_t *self);
/* Number of top-level steps. */
int wt_workflow_step_count(const wt_workflow_t *self);
/* New JSON {id, name, description, version, steps}. */
json_t *wt_workflow_summary(const wt_workflow_t *self);

/* A catalogue of workflows loaded from directories (*.json, recursive). */
typedef struct wt_workflow_set wt_workflow_set_t;
wt_workflow_set_t *wt_workflow_set_new(void);
void wt_workflow_set_destroy(wt_workflow_set_t **self_p);
/* Loads every *.json under dir; files that fail are reported through
 * on_error (may be NULL) and skipped. Returns the number loaded. */
int wt_workflow_set_load_dir(wt_workflow_set_t *self, const char *dir,
                             void (*on_error)(void *ud, const wt_err_t *err), void *ud);
/* Borrowed; NULL when unknown. */
const wt_workflow_t *wt_workflow_set_get(const wt_workflow_set_t *self, const char *id);
int wt_workflow_set_count(const wt_workflow_set_t *self);
const wt_workflow_t *wt_workflow_set_at(const wt_workflow_set_t *self, int i);

/* --- running --- */

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
