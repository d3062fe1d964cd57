/* wt_prompt - the system prompt of a session: base rules for an unattended
 * agent, the workflow's metaGuidance, the soul file, the workspace's
 * AGENTS.md / CLAUDE.md (32 KB in total at most), and the notes of the
 * steps completed so far. */
#ifndef WT_PROMPT_H
#define WT_PROMPT_H

#include "wt_wfrun.h"

#define WT_PROMPT_CONTEXT_FILES_CAP (32 * 1024)

/* Returns a new string (caller frees). soul may be NULL or "". */
char *wt_prompt_build(const wt_workflow_t *wf, const wt_wfrun_t *run, const char *workspace,
                      const char *soul);
/* The prompt wt_prompt_build makes when the workspace has no context file
 * and no step is completed yet (it depends only on wf and soul): a worker
 * builds it once per workflow instead of once per session. Caller frees. */
char *wt_prompt_base(const wt_workflow_t *wf, const char *soul);

#endif
