/* wt_pipeline - a coordinator pipeline (DESIGN §7) loaded from YAML with
 * libyaml, every node's line and column kept for error messages. Loading
 * checks shape (types, unknown keys, expression and template syntax);
 * wt_pipeline_check checks meaning (unknown workflow, unknown phase in
 * needs, cycles, expressions naming phases that are not upstream). Both
 * report every problem at once into a wt_diags_t. After loading the
 * pipeline is plain read-only data (thread-safe to read).
 *
 * File format:
 *   pipeline: NAME                  required
 *   description: TEXT               optional
 *   inputs: [goal, ...]             names; `goal` is always available
 *   phases:                         list, at least one
 *     - id: ID                      required, unique, [A-Za-z_][A-Za-z0-9_-]*
 *       workflow: WORKFLOW_ID       a session phase ...
 *       notify: {webhook: URL, slack: URL, message: TEMPLATE, event: NAME}
 *                                   ... or a notify phase (exactly one of the two)
 *       goal: TEMPLATE              default "{{inputs.goal}}"
 *       needs: [ID, ...]            or a single ID
 *       if: EXPR                    skipped when false
 *       foreach: EXPR               must give a list; one session per item ({{item}}, {{index}})
 *       retry: {max_attempts: N, until: EXPR}   1 <= N <= 20
 *       vars: {KEY: TEMPLATE, ...}  session context
 *       timeout: DUR                session wall-clock limit (90s, 30m, 2h)
 *       max_turns: N
 *       priority: N                 -100..100
 *       retain: DUR                 keep the ended session this long (default broker --retain)
 *   In notify URLs `$NAME` / `${NAME}` are read from the environment at
 *   run time. */
#ifndef WT_PIPELINE_H
#define WT_PIPELINE_H

#include "wt_diag.h"
#include "wt_expr.h"
#include "wt_template.h"

#include <stdint.h>

typedef struct wt_pos {
    int line; /* 1-based */
    int col;  /* 1-based */
} wt_pos_t;

typedef struct wt_phase_var {
    char *key;            /* owned */
    wt_template_t *value; /* owned */
    wt_pos_t pos;         /* of the value */
} wt_phase_var_t;

typedef struct wt_phase {
    char *id;       /* owned */
    wt_pos_t pos;   /* of the id value */
    char *workflow; /* owned; NULL for a notify phase */
    wt_pos_t workflow_pos;
    wt_template_t *goal; /* owned; never NULL after load (default applied) */
    wt_pos_t goal_pos;
    char **needs;        /* owned ids */
    wt_pos_t *needs_pos; /* owned, one per need */
    int nneeds;
    wt_expr_t *if_expr; /* owned or NULL */
    wt_pos_t if_pos;
    wt_expr_t *foreach; /* owned or NULL */
    wt_pos_t foreach_pos;
    int retry_max;          /* 1 when no retry */
    wt_expr_t *retry_until; /* owned or NULL */
    wt_pos_t retry_pos;
    wt_phase_var_t *vars; /* owned */
    int nvars;
    wt_phase_var_t *workspace; /* owned: repo ref autoCommit deliver forge ... (DESIGN.md 15) */
    int nworkspace;
    int64_t timeout_ms; /* 0 = fleet default */
    int32_t max_turns;  /* 0 = fleet default */
    int32_t priority;   /* 0 default */
    int64_t retain_ms;  /* life after the session ends, 0 = broker default */
    /* notify phase (workflow == NULL) */
    char *notify_webhook;          /* owned raw text ($NAME not yet expanded) or NULL */
    char *notify_slack;            /* owned raw text or NULL */
    wt_template_t *notify_message; /* owned or NULL */
    char *notify_event;            /* owned; default "escalation" */
} wt_phase_t;

typedef struct wt_pipeline {
    char *name;        /* owned */
    char *description; /* owned or NULL */
    char *path;        /* owned; file it came from ("<buffer>" otherwise) */
    char **inputs;     /* owned names */
    int ninputs;
    wt_phase_t *phases; /* owned, file order */
    int nphases;
} wt_pipeline_t;

/* Loads and shape-checks a file / buffer. Returns NULL when diags got an
 * error (warnings alone still return the pipeline). name labels messages. */
wt_pipeline_t *wt_pipeline_load_file(const char *path, wt_diags_t *diags);
wt_pipeline_t *wt_pipeline_load_buffer(const char *text, size_t len, const char *name,
                                       wt_diags_t *diags);
void wt_pipeline_destroy(wt_pipeline_t **self_p);

/* Index of the phase with id, or -1. */
int wt_pipeline_find(const wt_pipeline_t *self, const char *id);

/* 1 when path (a YAML file) looks like a pipeline: it has a top-level
 * `pipeline:` or `phases:` key. Used by `validate` to pick the checker. */
int wt_pipeline_sniff(const char *path);

/* Meaning checks; appends to diags and returns the number of errors added.
 * known_workflow(ud, id) says whether a workflow id exists; NULL skips that
 * check (a warning says so). Checks: needs name existing phases, no cycle
 * (the cycle is named: a -> b -> a), every phase referenced in an
 * expression or template of a phase is that phase itself (retry.until) or
 * upstream of it through needs, `inputs.X` names a declared input (or
 * goal), `item`/`index` only inside foreach phases, notify phases have a
 * target. */
int wt_pipeline_check(const wt_pipeline_t *self, int (*known_workflow)(void *ud, const char *id),
                      void *ud, wt_diags_t *diags);

/* Phase indices in an order where every phase comes after its needs
 * (file order among independent phases); NULL when there is a cycle. The
 * caller frees the array (nphases entries). */
int *wt_pipeline_topo_order(const wt_pipeline_t *self);

#endif
