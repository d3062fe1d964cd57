/* wt_workflow_int - the compiled form of a workflow, shared by the loader
 * (wt_workflow.c) and the run cursor (wt_wfrun.c). */
#ifndef WT_WORKFLOW_INT_H
#define WT_WORKFLOW_INT_H

#include "wt_workflow.h"

#include <stddef.h>

typedef enum { WF_LOOP_NONE, WF_LOOP_WHILE, WF_LOOP_UNTIL, WF_LOOP_FOR, WF_LOOP_FOREACH } wf_loop_t;

typedef struct wf_step {
    char *id;              /* step id */
    char *title;           /* title (id when absent) */
    char *prompt;          /* prompt, or promptBlocks rendered as sections */
    char *agent_role;      /* may be NULL */
    char *model_tier;      /* may be NULL */
    json_t *guidance;      /* borrowed array of strings, may be NULL */
    json_t *run_condition; /* borrowed, may be NULL */
    json_t *required;      /* borrowed outputRequired object (key -> description), may be NULL;
                              prompt text, enforced as context keys only when the workflow
                              opts in (worktrain.outputRequiredKeys) */
    json_t *criteria;      /* borrowed validationCriteria, may be NULL */
    json_t *fragments;     /* borrowed promptFragments [{when, text}], may be NULL */
    json_t *template_call; /* borrowed templateCall of a step not yet expanded, may be NULL */
    char *contract_ref;    /* outputContract.contractRef, may be NULL */
    int contract_required; /* outputContract.required (default 1) */
    json_t *assess_refs;   /* borrowed array of assessment ids, may be NULL */
    char *followup_level;  /* assessmentConsequences[0].when.anyEqualsLevel */
    char *followup_text;   /* ... .effect.guidance */
    int notes_optional;    /* notesOptional */
    int body_ref;          /* loop body was a reference to a top-level step */
    int skip;              /* top-level step used as a loop body: not run on its own */
    /* loops */
    wf_loop_t loop;       /* WF_LOOP_NONE for a standard step */
    json_t *loop_cond;    /* borrowed while/until condition, may be NULL */
    int loop_artifact;    /* condition from wr.loop_control artifacts */
    char *items_var;      /* forEach list variable */
    int count;            /* for: fixed count, -1 when count_var is used */
    char *count_var;      /* for: variable holding the count */
    int max_iter;         /* maxIterations */
    char *iter_var;       /* iterationVar (default currentIteration) */
    char *item_var;       /* itemVar (default currentItem) */
    char *index_var;      /* indexVar (default currentIndex) */
    struct wf_step *body; /* owned array of body steps */
    size_t nbody;         /* body length */
} wf_step_t;

struct wt_workflow {
    json_t *doc;         /* owned parsed document (strings above borrow nothing from it) */
    char *id;            /* workflow id */
    char *name;          /* name */
    char *description;   /* description */
    char *version;       /* version */
    char *meta_guidance; /* bulleted metaGuidance, "" when none */
    char *model_tier;    /* workflow-level modelTier, may be NULL */
    wf_step_t *steps;    /* owned top-level steps */
    size_t nsteps;       /* count */
    json_t *assessments; /* borrowed array of assessment definitions, may be NULL */
    char *path;          /* file it came from (set by wt_workflow_set_load_dir), may be NULL */
    char *choice;        /* why this file won over others with its id, may be NULL */
    int required_keys;   /* worktrain.outputRequiredKeys: outputRequired keys must be in the
                            context (WorkTrain's own workflows; WorkRail never enforces them) */
    int network;         /* "network": true: its agent's tools may use the network */
    json_t *tools;       /* borrowed "tools": opt-in tool names (strings), may be NULL */
    int project_memory;  /* worktrain.projectMemory: its output `memory` becomes <p>memory */
    int conversation;    /* worktrain.conversation: replies without tool calls wait for the
                            user's next message instead of a nudge (the talk workflow) */
};

#endif
