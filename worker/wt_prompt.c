/* wt_prompt - system prompt assembly. Order matters to models: rules first,
 * then the workflow's own guidance, then project context, then history. */
#include "wt_prompt.h"

#include "wt_alloc.h"
#include "wt_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char base_rules[] =
    "You are an autonomous engineering agent run by WorkTrain. No human is watching this "
    "session: do not ask questions, make reasonable decisions and record them in your notes.\n"
    "You work through a workflow one step at a time. Use the tools to act. When the current "
    "step is done, call complete_step with notes (what you did and found), the context keys the "
    "step requires, and any artifacts; its result presents the next step. Only complete_step "
    "advances the workflow. Stay inside your workspace directory. If something blocks you, "
    "call report_issue and continue as best you can.\n";

/* Appends up to *budget bytes of a workspace file. */
static void
add_file(wt_buf_t *b, const char *workspace, const char *name, size_t *budget)
{
    if (*budget == 0)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", workspace, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return;
    char *data = wt_xmalloc(*budget + 1);
    size_t n = fread(data, 1, *budget, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    data[n] = '\0';
    wt_buf_printf(b, NULL, "\n## %s (from the workspace)\n%s%s\n", name, data,
                  more ? "\n[... truncated at the 32 KB context-file limit ...]" : "");
    *budget -= n;
    free(data);
}

/* The part that depends only on the workflow and the soul. */
static void
add_base(wt_buf_t *b, const wt_workflow_t *wf, const char *soul)
{
    wt_buf_puts(b, base_rules, NULL);
    wt_buf_printf(b, NULL, "\n# Workflow: %s\n%s\n", wt_workflow_name(wf),
                  wt_workflow_description(wf));
    const char *mg = wt_workflow_meta_guidance(wf);
    if (mg && *mg)
        wt_buf_printf(b, NULL, "\n## Guidance for the whole workflow\n%s", mg);
    if (soul && *soul)
        wt_buf_printf(b, NULL, "\n## Soul\n%s\n", soul);
}

char *
wt_prompt_base(const wt_workflow_t *wf, const char *soul)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 22);
    add_base(&b, wf, soul);
    return wt_buf_detach(&b);
}

char *
wt_prompt_build(const wt_workflow_t *wf, const wt_wfrun_t *run, const char *workspace,
                const char *soul)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 22);
    add_base(&b, wf, soul);
    size_t budget = WT_PROMPT_CONTEXT_FILES_CAP;
    add_file(&b, workspace, "AGENTS.md", &budget);
    add_file(&b, workspace, "CLAUDE.md", &budget);
    if (run && wt_wfrun_completed_count(run) > 0) {
        char *h = wt_wfrun_history(run);
        wt_buf_printf(&b, NULL, "\n## Notes of the steps completed so far\n%s", h);
        free(h);
    }
    return wt_buf_detach(&b);
}
