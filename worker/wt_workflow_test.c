/* Unit tests of the workflow engine: every bundled and WorkRail fixture
 * workflow loads; broken files name file and JSON path; conditions, loops,
 * required outputs, contracts, assessments and resume behave. */
#include "wt_alloc.h"
#include "wt_condition.h"
#include "wt_test.h"
#include "wt_test_workrail.h"
#include "wt_wfrun.h"
#include "wt_workflow.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load_errors;

static void
count_error(void *ud, const wt_err_t *err)
{
    (void)ud;
    fprintf(stderr, "  load error: %s\n", err->msg);
    load_errors++;
}

static void
test_bundled_workflows_load(void)
{
    wt_workflow_set_t *set = wt_workflow_set_new();
    load_errors = 0;
    int n = wt_workflow_set_load_dir(set, "workflows", count_error, NULL);
    WT_CHECK(n >= 2);
    WT_CHECK(load_errors == 0);
    WT_CHECK(wt_workflow_set_get(set, "demo") != NULL);
    WT_CHECK(wt_workflow_set_get(set, "two-step") != NULL);
    wt_workflow_set_destroy(&set);
    WT_CHECK(set == NULL);
}

/* Loads every *.json under dir one by one; returns how many loaded. */
static int
load_tree(const char *dir, int *failed)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len = strlen(path);
        if (len > 5 && strcmp(path + len - 5, ".json") == 0) {
            wt_err_t err = {0};
            wt_workflow_t *wf = wt_workflow_load_file(path, &err);
            if (wf == NULL) {
                fprintf(stderr, "  %s\n", err.msg);
                (*failed)++;
            } else {
                n++;
            }
            wt_workflow_destroy(&wf);
        } else if (de->d_type == DT_DIR) {
            n += load_tree(path, failed);
        }
    }
    if (d)
        closedir(d);
    return n;
}

static void
test_every_workrail_fixture_loads(void)
{
    char dir[512];
    int failed = 0;
    int n = load_tree(wt_test_workrail_file(dir, sizeof dir, ""), &failed);
    fprintf(stderr, "  loaded %d WorkRail workflow files\n", n);
    WT_CHECK(n >= (wt_test_workrail_full() ? 43 : 17));
    WT_CHECK(failed == 0);
}

static void
write_wf(const char *dir, const char *name, const char *id)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    WT_CHECK(f != NULL);
    fprintf(f,
            "{\"id\":\"%s\",\"name\":\"%s\",\"version\":\"1\",\"description\":\"d\","
            "\"steps\":[{\"id\":\"s\",\"prompt\":\"p\"}]}",
            id, name);
    fclose(f);
}

static char dup_msgs[4096];

static void
keep_error(void *ud, const wt_err_t *err)
{
    (void)ud;
    size_t n = strlen(dup_msgs);
    snprintf(dup_msgs + n, sizeof dup_msgs - n, "%s\n", err->msg);
}

static const char *
chosen_name(const char *dir, const char *id)
{
    static char name[256];
    wt_workflow_set_t *set = wt_workflow_set_new();
    dup_msgs[0] = '\0';
    wt_workflow_set_load_dir(set, dir, keep_error, NULL);
    const wt_workflow_t *wf = wt_workflow_set_get(set, id);
    const char *p = wf ? wt_workflow_path(wf) : NULL;
    snprintf(name, sizeof name, "%s", p ? strrchr(p, '/') + 1 : "(none)");
    wt_workflow_set_destroy(&set);
    return name;
}

/* Point 1 of issue 12: files sharing an id are chosen among as WorkRail
 * does (.v2. > .agentic. > plain, .lean. only when enabled), whatever the
 * directory order, and every losing file is reported with the winner. */
static void
test_duplicate_id_choice(void)
{
    char dir[] = "/tmp/wt-dupXXXXXX";
    WT_CHECK(mkdtemp(dir) != NULL);
    write_wf(dir, "zz.agentic.json", "a");
    write_wf(dir, "a.lean.v2.json", "a");
    write_wf(dir, "a.json", "a");
    write_wf(dir, "b.agentic.json", "b");
    write_wf(dir, "b.json", "b");
    write_wf(dir, "c2.json", "c");
    write_wf(dir, "c1.json", "c");
    WT_CHECK_STR(chosen_name(dir, "b"), "b.agentic.json");
    WT_CHECK_STR(chosen_name(dir, "c"), "c1.json");
    WT_CHECK_STR(chosen_name(dir, "a"), "zz.agentic.json");
    WT_CHECK(strstr(dup_msgs, "a.lean.v2.json: skipped: a .lean. variant") != NULL);
    write_wf(dir, "a.v2.json", "a");
    WT_CHECK_STR(chosen_name(dir, "a"), "a.v2.json");
    WT_CHECK(strstr(dup_msgs, "/a.json: duplicate workflow id 'a': not chosen; ") != NULL);
    WT_CHECK(strstr(dup_msgs, "a.v2.json wins (WorkRail prefers the v2 variant over standard)") !=
             NULL);
    setenv("WORKRAIL_ENABLE_LEAN_WORKFLOWS", "true", 1);
    WT_CHECK_STR(chosen_name(dir, "a"), "a.lean.v2.json");
    unsetenv("WORKRAIL_ENABLE_LEAN_WORKFLOWS");
    const char *names[] = {"zz.agentic.json", "a.lean.v2.json", "a.json",  "b.agentic.json",
                           "b.json",          "c2.json",        "c1.json", "a.v2.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    char fx[512];
    wt_test_workrail_file(fx, sizeof fx, "");
    WT_CHECK_STR(chosen_name(fx, "coding-task-workflow-agentic"),
                 "coding-task-workflow-agentic.v2.json");
    WT_CHECK_STR(chosen_name(fx, "workflow-for-workflows"), "workflow-for-workflows.v2.json");
    WT_CHECK(strstr(dup_msgs, "coding-task-workflow-agentic.lean.v2.json: skipped: a .lean. "
                              "variant") != NULL);
}

static char *
broken_error(const char *text)
{
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_parse(text, strlen(text), "broken.json", &err);
    if (wf) {
        wt_workflow_destroy(&wf);
        return wt_xstrdup("(loaded)");
    }
    return wt_xstrdup(err.msg);
}

#define HEAD "{\"id\":\"b\",\"name\":\"b\",\"version\":\"1\",\"description\":\"d\",\"steps\":"
#define HEADK                                                                                      \
    "{\"id\":\"b\",\"name\":\"b\",\"version\":\"1\",\"description\":\"d\",\"worktrain\":{"         \
    "\"outputRequiredKeys\":true},\"steps\":"

static void
test_broken_files_name_file_and_path(void)
{
    struct {
        const char *text, *want1, *want2;
    } cases[] = {
        {HEAD "[{\"id\":\"a\",\"prompt\":\"p\"}", "broken.json: line", "column"},
        {HEAD "[{\"id\":\"a\",\"type\":\"parallel\",\"prompt\":\"p\"}]}", "$.steps[0].type",
         "parallel"},
        {HEAD "[{\"id\":\"a\",\"prompt\":\"p\"},{\"id\":\"c\",\"prompt\":\"p\",\"runCondition\":"
              "{\"var\":\"x\",\"approx\":1}}]}",
         "$.steps[1].runCondition", "approx"},
        {HEAD "[{\"id\":\"a\",\"title\":\"t\"}]}", "$.steps[0]", "no prompt"},
        {HEAD "[{\"id\":\"a\",\"prompt\":\"p\"},{\"id\":\"a\",\"prompt\":\"q\"}]}", "duplicate",
         "'a'"},
        {HEAD "[{\"id\":\"l\",\"type\":\"loop\",\"title\":\"t\",\"loop\":{\"type\":\"while\"},"
              "\"body\":[{\"id\":\"x\",\"prompt\":\"p\"}]}]}",
         "$.steps[0].loop", "condition"},
        {"{\"id\":\"b\",\"name\":\"b\",\"version\":\"1\",\"steps\":[]}", "$.description",
         "missing"},
        {HEAD "[{\"id\":\"a\",\"prompt\":\"p\",\"runCondition\":{\"and\":[{\"equals\":1}]}}]}",
         "$.steps[0].runCondition.and[0]", "operator"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *msg = broken_error(cases[i].text);
        int ok = strstr(msg, "broken.json") && strstr(msg, cases[i].want1) &&
                 strstr(msg, cases[i].want2);
        WT_CHECK(ok);
        if (!ok)
            fprintf(stderr, "  case %zu: %s\n", i, msg);
        free(msg);
    }
}

static wt_workflow_t *
load(const char *text)
{
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_parse(text, strlen(text), "t.json", &err);
    if (wf == NULL)
        fprintf(stderr, "  load: %s\n", err.msg);
    return wf;
}

static int
complete(wt_wfrun_t *run, const char *args_json, char *msg, size_t cap)
{
    json_t *args = json_loads(args_json, 0, NULL);
    wt_err_t err = {0};
    int rc = wt_wfrun_complete(run, args, &err);
    if (msg)
        snprintf(msg, cap, "%s", err.msg);
    json_decref(args);
    return rc;
}

static void
test_loop_branch_and_required_output(void)
{
    /* WorkTrain's opt-in: outputRequired keys must be in the context */
    wt_workflow_t *wf =
        load(HEADK
             "[{\"id\":\"plan\",\"prompt\":\"p\"},"
             "{\"id\":\"each\",\"type\":\"loop\",\"title\":\"each\",\"loop\":{\"type\":\"forEach\","
             "\"items\":\"items\",\"itemVar\":\"item\",\"maxIterations\":5},"
             "\"body\":[{\"id\":\"handle\",\"prompt\":\"p\"}]},"
             "{\"id\":\"deep\",\"prompt\":\"p\",\"runCondition\":{\"var\":\"mode\",\"equals\":"
             "\"full\"}},"
             "{\"id\":\"wrap\",\"promptBlocks\":{\"goal\":\"g\",\"outputRequired\":{\"result\":"
             "\"r\"}}}]}");
    WT_CHECK(wf != NULL);
    if (wf == NULL)
        return;
    json_t *ctx = json_pack("{s:[s,s,s]}", "items", "a", "b", "c");
    wt_wfrun_t *run = wt_wfrun_new(wf, ctx, NULL);
    json_decref(ctx);
    WT_CHECK_STR(wt_wfrun_step_id(run), "plan");
    WT_CHECK(complete(run, "{\"notes\":\"n\"}", NULL, 0) == 0);
    for (int i = 0; i < 3; i++) {
        WT_CHECK_STR(wt_wfrun_step_id(run), "handle");
        const char *items[] = {"a", "b", "c"};
        WT_CHECK_STR(json_string_value(json_object_get(wt_wfrun_context(run), "item")), items[i]);
        WT_CHECK(complete(run, "{\"notes\":\"n\"}", NULL, 0) == 0);
    }
    WT_CHECK_STR(wt_wfrun_step_id(run), "wrap"); /* deep skipped: mode != full */
    char msg[256];
    WT_CHECK(complete(run, "{\"notes\":\"n\"}", msg, sizeof msg) == -1);
    WT_CHECK(strstr(msg, "missing required output: result") != NULL);
    WT_CHECK(complete(run, "{\"notes\":\"n\",\"context\":{\"result\":1}}", NULL, 0) == 0);
    WT_CHECK(wt_wfrun_done(run));
    WT_CHECK(wt_wfrun_completed_count(run) == 5);
    wt_wfrun_destroy(&run);
    ctx = json_pack("{s:[],s:s}", "items", "mode", "full");
    run = wt_wfrun_new(wf, ctx, NULL);
    json_decref(ctx);
    complete(run, "{\"notes\":\"n\"}", NULL, 0);
    WT_CHECK_STR(wt_wfrun_step_id(run), "deep"); /* empty loop skipped, branch taken */
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

static void
test_artifact_loop_contract_and_assessment(void)
{
    FILE *f = fopen("tests/fuzz/corpus/workflow/artifact-loop.json", "r");
    WT_CHECK(f != NULL);
    if (f == NULL)
        return;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    wt_workflow_t *wf = load(buf);
    WT_CHECK(wf != NULL);
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    char msg[256];
    WT_CHECK(complete(run, "{\"notes\":\"n\"}", msg, sizeof msg) == -1);
    WT_CHECK(strstr(msg, "wr.loop_control") != NULL);
    const char *cont = "{\"notes\":\"n\",\"artifacts\":[{\"kind\":\"wr.loop_control\","
                       "\"decision\":\"continue\"}]}";
    const char *stop = "{\"notes\":\"n\",\"artifacts\":[{\"kind\":\"wr.loop_control\","
                       "\"decision\":\"stop\"}]}";
    WT_CHECK(complete(run, cont, NULL, 0) == 0);
    WT_CHECK_STR(wt_wfrun_step_id(run), "work");
    complete(run, "{\"notes\":\"n\"}", NULL, 0);
    WT_CHECK(complete(run, cont, NULL, 0) == 0); /* decide: continue */
    WT_CHECK_STR(wt_wfrun_step_id(run), "work");
    /* snapshot mid-loop, restore, and both continue identically */
    json_t *st = wt_wfrun_state(run);
    wt_wfrun_t *copy = wt_wfrun_restore(wf, st, NULL);
    json_decref(st);
    WT_CHECK(copy != NULL && strcmp(wt_wfrun_step_id(copy), "work") == 0);
    complete(run, "{\"notes\":\"n\"}", NULL, 0);
    complete(copy, "{\"notes\":\"n\"}", NULL, 0);
    WT_CHECK(complete(run, stop, NULL, 0) == 0);
    WT_CHECK(complete(copy, stop, NULL, 0) == 0);
    WT_CHECK_STR(wt_wfrun_step_id(run), "end");
    WT_CHECK_STR(wt_wfrun_step_id(copy), "end");
    WT_CHECK(complete(run, "{\"notes\":\"n\"}", msg, sizeof msg) == -1);
    WT_CHECK(strstr(msg, "requires an assessment submission for \"g\"") != NULL);
    const char *low = "{\"notes\":\"n\",\"artifacts\":[{\"kind\":\"wr.assessment\","
                      "\"assessmentId\":\"g\",\"dimensions\":{\"c\":\"low\"}}]}";
    WT_CHECK(complete(run, low, msg, sizeof msg) == -1);
    WT_CHECK(strstr(msg, "Follow-up required before this step can proceed: g.c matched \"low\"") !=
             NULL);
    WT_CHECK(!wt_wfrun_done(run));
    const char *high = "{\"notes\":\"n\",\"artifacts\":[{\"kind\":\"wr.assessment\","
                       "\"assessmentId\":\"g\",\"dimensions\":{\"c\":\"high\"}}]}";
    WT_CHECK(complete(run, high, NULL, 0) == 0);
    WT_CHECK(wt_wfrun_done(run));
    wt_wfrun_destroy(&run);
    wt_wfrun_destroy(&copy);
    wt_workflow_destroy(&wf);
}

static void
test_conditions(void)
{
    json_t *ctx = json_pack("{s:i,s:s,s:b,s:[s,s],s:{s:s}}", "n", 5, "s", "hello world", "b", 1,
                            "list", "x", "y", "obj", "k", "v");

    struct {
        const char *cond;
        int want;
    } cases[] = {
        {"{\"var\":\"n\",\"gt\":4}", 1},
        {"{\"var\":\"n\",\"lte\":4}", 0},
        {"{\"var\":\"s\",\"contains\":\"world\"}", 1},
        {"{\"var\":\"list\",\"contains\":\"y\"}", 1},
        {"{\"var\":\"s\",\"in\":[\"a\",\"hello world\"]}", 1},
        {"{\"var\":\"b\",\"equals\":\"true\"}", 1},
        {"{\"var\":\"missing\",\"equals\":1}", 0},
        {"{\"var\":\"missing\",\"not_equals\":1}", 1},
        {"{\"var\":\"s\",\"gt\":1}", 0},
        {"{\"var\":\"obj.k\",\"equals\":\"v\"}", 1},
        {"{\"and\":[{\"var\":\"n\",\"gte\":5},{\"not\":{\"var\":\"b\",\"equals\":false}}]}", 1},
        {"{\"or\":[{\"var\":\"n\",\"lt\":0},{\"var\":\"n\",\"equals\":6}]}", 0},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *c = json_loads(cases[i].cond, 0, NULL);
        WT_CHECK(wt_condition_check(c, "$", NULL) == 0);
        int got = wt_condition_eval(c, ctx);
        WT_CHECK(got == cases[i].want);
        if (got != cases[i].want)
            fprintf(stderr, "  condition %s gave %d\n", cases[i].cond, got);
        json_decref(c);
    }
    json_decref(ctx);
}

/* The bundled mr-review runs its fix step first only on a retried review:
 * when previousResult is in the context, as a result object or as text. */
static void
test_mr_review_fix_step_on_retry(void)
{
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_load_file("workflows/mr-review.json", &err);
    WT_CHECK(wf != NULL);
    if (wf == NULL)
        return;

    static const struct {
        const char *ctx;
        const char *first;
    } cases[] = {
        {"{}", "read-change"},
        {"{\"reviewAttempt\": 1}", "read-change"},
        {"{\"previousResult\": null}", "read-change"},
        {"{\"previousResult\": {\"session\": \"S\", \"outcome\": \"success\"}}",
         "fix-previous-findings"},
        {"{\"previousResult\": {\"outcome\": \"success\"}}", "fix-previous-findings"},
        {"{\"previousResult\": \"{\\\"session\\\":\\\"S\\\"}\"}", "fix-previous-findings"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *ctx = json_loads(cases[i].ctx, 0, NULL);
        WT_CHECK(ctx != NULL);
        wt_wfrun_t *run = wt_wfrun_new(wf, ctx, NULL);
        json_decref(ctx);
        WT_CHECK_STR(wt_wfrun_step_id(run), cases[i].first);
        wt_wfrun_destroy(&run);
    }
    /* the verdict step requires verdict and findings */
    json_t *ctx = json_pack("{s:s}", "previousResult", "x");
    wt_wfrun_t *run = wt_wfrun_new(wf, ctx, NULL);
    json_decref(ctx);
    char msg[256];
    for (int i = 0; i < 3; i++)
        WT_CHECK(complete(run, "{\"notes\":\"n\"}", NULL, 0) == 0);
    WT_CHECK_STR(wt_wfrun_step_id(run), "verdict");
    WT_CHECK(complete(run, "{\"notes\":\"n\"}", msg, sizeof msg) == -1);
    WT_CHECK(strstr(msg, "verdict") != NULL && strstr(msg, "findings") != NULL);
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

/* Top-level "network": true lets the workflow's tools use the network. */
static void
test_network_flag(void)
{
    const char *base = "{\"id\":\"n\",\"name\":\"n\",\"version\":\"1\",\"description\":\"d\","
                       "\"steps\":[{\"id\":\"s\",\"title\":\"t\",\"prompt\":\"p\"}]";
    char text[512];
    wt_err_t err = {0};
    snprintf(text, sizeof text, "%s,\"network\":true}", base);
    wt_workflow_t *wf = wt_workflow_parse(text, strlen(text), "n.json", &err);
    WT_CHECK(wf != NULL && wt_workflow_network(wf) == 1);
    wt_workflow_destroy(&wf);
    snprintf(text, sizeof text, "%s}", base);
    wf = wt_workflow_parse(text, strlen(text), "n.json", &err);
    WT_CHECK(wf != NULL && wt_workflow_network(wf) == 0);
    wt_workflow_destroy(&wf);
    snprintf(text, sizeof text, "%s,\"network\":\"yes\"}", base);
    char *e = broken_error(text);
    WT_CHECK(strstr(e, "broken.json") && strstr(e, "$.network: expected true or false"));
    free(e);
}

/* "tools" opts a workflow into the fleet tools (DESIGN.md 17); none by
 * default, unknown names and non-arrays refused; conversation and
 * projectMemory flags read from "worktrain". */
static void
test_fleet_tools_opt_in(void)
{
    const char *base = "{\"id\":\"n\",\"name\":\"n\",\"version\":\"1\",\"description\":\"d\","
                       "\"steps\":[{\"id\":\"s\",\"title\":\"t\",\"prompt\":\"p\"}]";
    char text[512];
    wt_err_t err = {0};
    snprintf(text, sizeof text, "%s}", base);
    wt_workflow_t *wf = wt_workflow_parse(text, strlen(text), "n.json", &err);
    WT_CHECK(wf && !wt_workflow_tool_enabled(wf, "fleet_sessions") &&
             !wt_workflow_conversation(wf) && !wt_workflow_project_memory(wf));
    wt_workflow_destroy(&wf);
    snprintf(text, sizeof text,
             "%s,\"tools\":[\"fleet_sessions\",\"record_idea\",\"idea_done\"],"
             "\"worktrain\":{\"conversation\":true,\"projectMemory\":true}}",
             base);
    wf = wt_workflow_parse(text, strlen(text), "n.json", &err);
    WT_CHECK(wf && wt_workflow_tool_enabled(wf, "fleet_sessions") &&
             wt_workflow_tool_enabled(wf, "record_idea") &&
             wt_workflow_tool_enabled(wf, "idea_done") &&
             !wt_workflow_tool_enabled(wf, "inbox_read") && wt_workflow_conversation(wf) &&
             wt_workflow_project_memory(wf));
    wt_workflow_destroy(&wf);
    snprintf(text, sizeof text, "%s,\"tools\":[\"fleet_sessions\",\"rm_rf\"]}", base);
    char *e = broken_error(text);
    WT_CHECK(strstr(e, "$.tools[1]: unknown tool"));
    free(e);
    snprintf(text, sizeof text, "%s,\"tools\":\"fleet_sessions\"}", base);
    e = broken_error(text);
    WT_CHECK(strstr(e, "$.tools: expected an array"));
    free(e);
}

WT_TEST_MAIN(WT_TEST(test_network_flag), WT_TEST(test_fleet_tools_opt_in),
             WT_TEST(test_bundled_workflows_load), WT_TEST(test_duplicate_id_choice),
             WT_TEST(test_mr_review_fix_step_on_retry), WT_TEST(test_every_workrail_fixture_loads),
             WT_TEST(test_broken_files_name_file_and_path),
             WT_TEST(test_loop_branch_and_required_output),
             WT_TEST(test_artifact_loop_contract_and_assessment), WT_TEST(test_conditions))
