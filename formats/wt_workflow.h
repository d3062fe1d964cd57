/* wt_workflow - WorkRail-format workflow files (DESIGN.md section 6): loading
 * with precise errors. The run cursor that walks the steps is the worker's
 * (worker/wt_wfrun.h).
 *
 * A wt_workflow_t is immutable after load and shared read-only by all
 * session threads. */
#ifndef WT_WORKFLOW_H
#define WT_WORKFLOW_H

#include "wt_err.h"

#include <jansson.h>

typedef struct wt_workflow wt_workflow_t;

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
/* The file it was loaded from (NULL for wt_workflow_parse). */
const char *wt_workflow_path(const wt_workflow_t *self);
/* When other files in its folder had the same id: which ones lost and why
 * ("chosen over DIR/x.json (standard)"); NULL otherwise. */
const char *wt_workflow_choice(const wt_workflow_t *self);
/* 1 when the workflow asks for network access for its tools ("network": true). */
int wt_workflow_network(const wt_workflow_t *self);
/* 1 when the workflow lists tool `name` in "tools" (opt-in tools such as
 * fleet_sessions; DESIGN.md 17). */
int wt_workflow_tool_enabled(const wt_workflow_t *self, const char *name);
/* 1 for worktrain.conversation: true (a talk loop: a reply without tool
 * calls waits for the user's next message). */
int wt_workflow_conversation(const wt_workflow_t *self);
/* 1 for worktrain.projectMemory: true (the memory workflow: on success its
 * output `memory` replaces the project memory, <prefix>memory). */
int wt_workflow_project_memory(const wt_workflow_t *self);
/* Number of top-level steps. */
int wt_workflow_step_count(const wt_workflow_t *self);
/* New JSON {id, name, description, version, steps}. */
json_t *wt_workflow_summary(const wt_workflow_t *self);

/* A catalogue of workflows loaded from directories (*.json, recursive). */
typedef struct wt_workflow_set wt_workflow_set_t;
wt_workflow_set_t *wt_workflow_set_new(void);
void wt_workflow_set_destroy(wt_workflow_set_t **self_p);
/* Loads every *.json under dir (recursive, sorted by path); files that fail
 * are reported through on_error (may be NULL) and skipped. Files sharing a
 * workflow id are chosen among as WorkRail v3.37.1 does with its default
 * feature flags: a path containing ".v2." beats ".agentic." beats the plain
 * file; ".lean." files are skipped unless WORKRAIL_ENABLE_LEAN_WORKFLOWS is
 * true (then they win); ties go to the first path. Each losing file is
 * reported through on_error naming the winner and the reason. An id already
 * in the set (an earlier folder) wins over this folder's. Returns the number
 * loaded. */
int wt_workflow_set_load_dir(wt_workflow_set_t *self, const char *dir,
                             void (*on_error)(void *ud, const wt_err_t *err), void *ud);
/* 1 when WORKRAIL_ENABLE_LEAN_WORKFLOWS is true (1, true, yes, on). */
int wt_workflow_lean_enabled(void);
/* Borrowed; NULL when unknown. */
const wt_workflow_t *wt_workflow_set_get(const wt_workflow_set_t *self, const char *id);
int wt_workflow_set_count(const wt_workflow_set_t *self);
const wt_workflow_t *wt_workflow_set_at(const wt_workflow_set_t *self, int i);

#endif
