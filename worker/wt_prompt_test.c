/* Unit tests of the system prompt: base rules, metaGuidance, soul, and the
 * workspace context files capped at 32 KB in total. */
#include "wt_alloc.h"
#include "wt_prompt.h"
#include "wt_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char wf_json[] =
    "{\"id\":\"p-test\",\"name\":\"Prompt test\",\"version\":\"1.0.0\","
    "\"description\":\"checks the prompt\",\"metaGuidance\":[\"GUIDANCE-ONE\",\"GUIDANCE-TWO\"],"
    "\"steps\":[{\"id\":\"s1\",\"title\":\"First\",\"prompt\":\"do one\"},"
    "{\"id\":\"s2\",\"title\":\"Second\",\"prompt\":\"do two\"}]}";

static void
write_text(const char *dir, const char *name, const char *head, size_t filler, const char *tail)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    fputs(head, f);
    for (size_t i = 0; i < filler; i++)
        fputc('x', f);
    fputs(tail, f);
    fclose(f);
}

/* A scratch directory in dir (a "/tmp/wt-prompt-XXXXXX" buffer) and the
 * test workflow; NULL when either cannot be made. */
static wt_workflow_t *
setup(char *dir)
{
    WT_CHECK(mkdtemp(dir) != NULL);
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_parse(wf_json, sizeof wf_json - 1, "test", &err);
    WT_CHECK(wf != NULL);
    if (wf == NULL)
        fprintf(stderr, "  %s\n", err.msg);
    return wf;
}

static void
cleanup(wt_workflow_t **wf, const char *dir)
{
    wt_workflow_destroy(wf);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    WT_CHECK(system(cmd) == 0);
}

static void
test_prompt_parts_and_cap(void)
{
    char dir[] = "/tmp/wt-prompt-XXXXXX";
    wt_err_t err = {0};
    wt_workflow_t *wf = setup(dir);
    if (wf == NULL)
        return;
    /* small files: both whole */
    write_text(dir, "AGENTS.md", "AGENTS-HEAD\n", 100, "\nAGENTS-TAIL\n");
    write_text(dir, "CLAUDE.md", "CLAUDE-HEAD\n", 100, "\nCLAUDE-TAIL\n");
    char *p = wt_prompt_build(wf, NULL, dir, "SOUL-TEXT");
    WT_CHECK(strstr(p, "No human is watching") != NULL);
    WT_CHECK(strstr(p, "GUIDANCE-ONE") != NULL && strstr(p, "GUIDANCE-TWO") != NULL);
    WT_CHECK(strstr(p, "SOUL-TEXT") != NULL);
    WT_CHECK(strstr(p, "AGENTS-TAIL") != NULL && strstr(p, "CLAUDE-TAIL") != NULL);
    free(p);
    /* a 40 KB AGENTS.md: cut at 32 KB, and CLAUDE.md gets nothing */
    write_text(dir, "AGENTS.md", "AGENTS-HEAD\n", 40000, "\nAGENTS-TAIL\n");
    p = wt_prompt_build(wf, NULL, dir, "");
    WT_CHECK(strstr(p, "AGENTS-HEAD") != NULL && strstr(p, "AGENTS-TAIL") == NULL);
    WT_CHECK(strstr(p, "CLAUDE-HEAD") == NULL);
    WT_CHECK(strstr(p, "32 KB") != NULL);
    WT_CHECK(strstr(p, "Soul") == NULL);
    WT_CHECK(strlen(p) < WT_PROMPT_CONTEXT_FILES_CAP + 4096);
    free(p);
    /* 20 KB + 20 KB: the second file is cut so the total stays at 32 KB */
    write_text(dir, "AGENTS.md", "AGENTS-HEAD\n", 20000, "\nAGENTS-TAIL\n");
    write_text(dir, "CLAUDE.md", "CLAUDE-HEAD\n", 20000, "\nCLAUDE-TAIL\n");
    p = wt_prompt_build(wf, NULL, dir, NULL);
    WT_CHECK(strstr(p, "AGENTS-TAIL") != NULL);
    WT_CHECK(strstr(p, "CLAUDE-HEAD") != NULL && strstr(p, "CLAUDE-TAIL") == NULL);
    WT_CHECK(strlen(p) < WT_PROMPT_CONTEXT_FILES_CAP + 4096);
    free(p);
    /* notes of completed steps */
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, &err);
    WT_CHECK(run != NULL);
    json_t *args = json_pack("{s:s}", "notes", "NOTES-OF-STEP-ONE");
    WT_CHECK(run && wt_wfrun_complete(run, args, &err) == 0);
    p = wt_prompt_build(wf, run, dir, NULL);
    WT_CHECK(strstr(p, "NOTES-OF-STEP-ONE") != NULL);
    free(p);
    json_decref(args);
    wt_wfrun_destroy(&run);
    cleanup(&wf, dir);
}

/* The prompt a worker builds once per workflow (wt_prompt_base) is the one
 * wt_prompt_build makes for a session with no context file and no completed
 * step, byte for byte; once a file or a completed step exists they differ. */
static void
test_prompt_base_is_build(void)
{
    char dir[] = "/tmp/wt-prompt-XXXXXX";
    wt_err_t err = {0};
    wt_workflow_t *wf = setup(dir);
    if (wf == NULL)
        return;
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, &err);
    WT_CHECK(run != NULL);
    const char *souls[] = {NULL, "", "SOUL-TEXT"};
    for (int i = 0; i < 3; i++) {
        char *base = wt_prompt_base(wf, souls[i]);
        char *full = wt_prompt_build(wf, run, dir, souls[i]);
        WT_CHECK_STR(base, full);
        free(full);
        free(base);
    }
    char *base = wt_prompt_base(wf, "SOUL-TEXT");
    WT_CHECK(strstr(base, "SOUL-TEXT") != NULL && strstr(base, "GUIDANCE-TWO") != NULL);
    write_text(dir, "AGENTS.md", "AGENTS-HEAD\n", 10, "\n");
    char *full = wt_prompt_build(wf, run, dir, "SOUL-TEXT");
    WT_CHECK(strncmp(base, full, strlen(base)) == 0 && strlen(full) > strlen(base));
    free(full);
    free(base);
    wt_wfrun_destroy(&run);
    cleanup(&wf, dir);
}

WT_TEST_MAIN(WT_TEST(test_prompt_parts_and_cap), WT_TEST(test_prompt_base_is_build))
