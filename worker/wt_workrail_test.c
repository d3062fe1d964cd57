/* Conformance with WorkRail v3.37.1 (issue 12), built from WorkRail's own
 * workflow files: the copies the project ships in tests/workrail/ (MIT,
 * LICENSE alongside) and, when present, the full fixture folder in
 * ../shared (those parts skip cleanly without it). Each test names the
 * WorkRail rule it checks. */
#include "wt_alloc.h"
#include "wt_condition.h"
#include "wt_test.h"
#include "wt_wfrun.h"
#include "wt_workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHIPPED  "tests/workrail"
#define FIXTURES "../shared/fixtures/workrail-v3.37.1/workflows"
#define NOTES    "Did the work of this step and recorded what was found and decided here."

static wt_workflow_t *
load(const char *path)
{
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_load_file(path, &err);
    if (wf == NULL)
        fprintf(stderr, "  cannot load %s: %s\n", path, err.msg);
    WT_CHECK(wf != NULL);
    return wf;
}

static int
complete(wt_wfrun_t *run, json_t *args, char *msg, size_t cap)
{
    wt_err_t err = {0};
    int rc = wt_wfrun_complete(run, args, &err);
    if (msg)
        snprintf(msg, cap, "%s", err.msg);
    json_decref(args);
    return rc;
}

/* Walks a workflow answering every step with good notes and `ctx` as the
 * context of the first step; returns the step ids, space-separated. */
static char *
walk(const wt_workflow_t *wf, const char *ctx_json)
{
    char ids[4096] = "";
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    for (int i = 0; i < 50 && !wt_wfrun_done(run); i++) {
        size_t n = strlen(ids);
        snprintf(ids + n, sizeof ids - n, "%s%s", n ? " " : "", wt_wfrun_step_id(run));
        json_t *args = json_pack("{s:s}", "notes", NOTES);
        if (i == 0)
            json_object_set_new(args, "context", json_loads(ctx_json, 0, NULL));
        char msg[512];
        if (complete(run, args, msg, sizeof msg) != 0) {
            fprintf(stderr, "  refused at %s: %s\n", wt_wfrun_step_id(run), msg);
            break;
        }
    }
    wt_wfrun_destroy(&run);
    return wt_xstrdup(ids);
}

/* Point 5: WorkRail's equals trims and ignores case (lenientEquals), so
 * document-creation-workflow runs the same 7 steps whatever the case of the
 * docComplexity answer; with "Simple" it runs the simple path. */
static void
test_conditions_answer_case(void)
{
    wt_workflow_t *wf = load(SHIPPED "/document-creation-workflow.json");
    if (wf == NULL)
        return;
    const char *standard = "phase-0-triage phase-1-analyze phase-2-requirements phase-3-plan "
                           "phase-4-create phase-5-quality-review phase-6-finalize";
    const char *answers[] = {"{\"docComplexity\":\"Standard\"}", "{\"docComplexity\":\"standard\"}",
                             "{\"docComplexity\":\"STANDARD\"}",
                             "{\"docComplexity\":\" Standard \\n\"}"};
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        char *got = walk(wf, answers[i]);
        WT_CHECK_STR(got, standard);
        free(got);
    }
    char *simple = walk(wf, "{\"docComplexity\":\"simple\"}");
    WT_CHECK(strstr(simple, "phase-simple-create") != NULL);
    WT_CHECK(strstr(simple, "phase-1-analyze") == NULL);
    free(simple);
    wt_workflow_destroy(&wf);
}

/* Point 5: every operator with WorkRail's rules. */
static void
test_condition_operators(void)
{
    json_t *ctx = json_loads("{\"n\":5,\"s\":\"  Hello World \",\"b\":true,\"list\":[\"x\",\"y\"],"
                             "\"obj\":{\"k\":\"v\"},\"zero\":0,\"empty\":\"\",\"ns\":\"5\","
                             "\"nul\":null}",
                             0, NULL);

    static const struct {
        const char *cond;
        int want;
    } cases[] = {
        {"{\"var\":\"s\",\"equals\":\"hello world\"}", 1},
        {"{\"var\":\"s\",\"equals\":\"HELLO WORLD\"}", 1},
        {"{\"var\":\"s\",\"not_equals\":\"hello WORLD\"}", 0},
        {"{\"var\":\"n\",\"equals\":\"5\"}", 1},
        {"{\"var\":\"n\",\"equals\":\" 5.0 \"}", 1},
        {"{\"var\":\"ns\",\"equals\":5}", 1},
        {"{\"var\":\"b\",\"equals\":\"YES\"}", 1},
        {"{\"var\":\"b\",\"equals\":\"1\"}", 1},
        {"{\"var\":\"b\",\"equals\":\"no\"}", 0},
        {"{\"var\":\"missing\",\"equals\":null}", 1},
        {"{\"var\":\"nul\",\"equals\":null}", 1},
        {"{\"var\":\"missing\",\"not_equals\":\"x\"}", 1},
        {"{\"var\":\"obj\",\"equals\":{\"k\":\"v\"}}", 0},
        {"{\"var\":\"list\",\"equals\":[\"x\",\"y\"]}", 0},
        {"{\"var\":\"s\",\"in\":[\"a\",\"HELLO world\"]}", 1},
        {"{\"var\":\"ns\",\"gt\":1}", 0},
        {"{\"var\":\"n\",\"gte\":5}", 1},
        {"{\"var\":\"n\",\"lt\":5}", 0},
        {"{\"var\":\"s\",\"contains\":\"WORLD\"}", 1},
        {"{\"var\":\"list\",\"contains\":\"x,Y\"}", 1},
        {"{\"var\":\"missing\",\"contains\":\"\"}", 1},
        {"{\"var\":\"s\",\"startsWith\":\"hello\"}", 1},
        {"{\"var\":\"s\",\"endsWith\":\"WORLD\"}", 1},
        {"{\"var\":\"s\",\"matches\":\"^hel+o w\"}", 1},
        {"{\"var\":\"s\",\"matches\":\"^world\"}", 0},
        {"{\"var\":\"s\"}", 1},
        {"{\"var\":\"zero\"}", 0},
        {"{\"var\":\"empty\"}", 0},
        {"{\"var\":\"missing\"}", 0},
        {"{\"var\":\"n\",\"equals\":6,\"gt\":1}", 0}, /* the first operator decides */
        {"{\"and\":[{\"var\":\"n\",\"gte\":5}],\"or\":[{\"var\":\"zero\"}]}", 1},
        {"{\"not\":{\"var\":\"b\",\"equals\":\"false\"}}", 1},
        {"{}", 1},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *c = json_loads(cases[i].cond, 0, NULL);
        WT_CHECK(c != NULL && wt_condition_check(c, "$", NULL) == 0);
        int got = wt_condition_eval(c, ctx);
        WT_CHECK(got == cases[i].want);
        if (got != cases[i].want)
            fprintf(stderr, "  condition %s gave %d\n", cases[i].cond, got);
        json_decref(c);
    }
    json_decref(ctx);
}

/* Point 5: a step passed over is recorded with its condition and the
 * values the condition saw. */
static void
test_skipped_steps_recorded(void)
{
    wt_workflow_t *wf = load(SHIPPED "/document-creation-workflow.json");
    if (wf == NULL)
        return;
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    json_decref(wt_wfrun_take_skipped(run));
    WT_CHECK(
        complete(run,
                 json_pack("{s:s,s:{s:s}}", "notes", NOTES, "context", "docComplexity", "Simple"),
                 NULL, 0) == 0);
    json_t *sk = wt_wfrun_take_skipped(run);
    WT_CHECK(json_array_size(sk) == 3);
    json_t *first = json_array_get(sk, 0);
    WT_CHECK_STR(json_string_value(json_object_get(first, "step")), "phase-1-analyze");
    WT_CHECK(json_object_get(json_object_get(first, "condition"), "or") != NULL);
    WT_CHECK_STR(
        json_string_value(json_object_get(json_object_get(first, "values"), "docComplexity")),
        "Simple");
    json_decref(sk);
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

WT_TEST_MAIN(WT_TEST(test_conditions_answer_case), WT_TEST(test_condition_operators),
             WT_TEST(test_skipped_steps_recorded))
