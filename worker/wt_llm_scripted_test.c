/* Unit tests of the scripted provider: the array form replays the same
 * replies for every session; the {"scripts": [...]} form picks the first
 * entry whose `when` holds (workflow, goal substring, initial context with
 * a number equal to its decimal string); no match fails naming the
 * workflow; {{context.KEY}} substitution; load errors name the JSON path. */
#include "wt_llm.h"
#include "wt_llm_int.h"
#include "wt_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

/* Writes text to a fresh temp file (path). */
static void
write_script(const char *text)
{
    snprintf(path, sizeof path, "/tmp/wt_scripted_test_XXXXXX");
    int fd = mkstemp(path);
    WT_CHECK(fd >= 0);
    if (fd < 0)
        return;
    size_t n = strlen(text);
    WT_CHECK(write(fd, text, n) == (ssize_t)n);
    close(fd);
}

/* Loads text as a script; returns the error message ("" when it loaded). */
static const char *
load_error(const char *text)
{
    static wt_err_t err;
    memset(&err, 0, sizeof err);
    write_script(text);
    json_t *s = wt_llm_scripted_load(path, &err);
    unlink(path);
    json_decref(s);
    if (s != NULL)
        return "";
    const char *msg = strstr(err.msg, ": ");
    return msg ? msg + 2 : err.msg; /* drop the temp path */
}

static json_t *
load(const char *text)
{
    wt_err_t err = {0};
    write_script(text);
    json_t *s = wt_llm_scripted_load(path, &err);
    unlink(path);
    if (s == NULL)
        fprintf(stderr, "load failed: %s\n", err.msg);
    WT_CHECK(s != NULL);
    return s;
}

/* The "text" of the first reply select picks, or NULL with err. */
static const char *
pick(json_t *script, const char *workflow, const char *goal, const char *ctx_json, wt_err_t *err)
{
    json_t *ctx = ctx_json ? json_loads(ctx_json, 0, NULL) : NULL;
    json_t *replies = wt_llm_scripted_select(script, workflow, goal, ctx, err);
    json_decref(ctx);
    return replies ? json_string_value(json_object_get(json_array_get(replies, 0), "text")) : NULL;
}

static void
test_array_form_unchanged(void)
{
    json_t *s = load("[{\"text\": \"one\"}, {\"text\": \"two\"}]");
    wt_err_t err = {0};
    WT_CHECK_STR(pick(s, "mr-review", "goal", "{\"reviewAttempt\": 2}", &err), "one");
    WT_CHECK_STR(pick(s, NULL, NULL, NULL, &err), "one");
    json_decref(s);
    WT_CHECK_STR(load_error("[{\"text\": \"ok\"}, {\"text\": 3}]"), "[1]: text must be a string");
    WT_CHECK_STR(load_error("[{}]"), "[0]: needs text, tool_calls or error");
    WT_CHECK(strstr(load_error("[{\"text\": \"x\"},"), "line 1") != NULL); /* JSON syntax */
}

static const char *const SELECTING =
    "{\"scripts\": ["
    " {\"when\": {\"workflow\": \"mr-review\", \"context\": {\"reviewAttempt\": 1}},"
    "  \"replies\": [{\"text\": \"blocking\"}]},"
    " {\"when\": {\"workflow\": \"mr-review\", \"context\": {\"reviewAttempt\": \"2\"}},"
    "  \"replies\": [{\"text\": \"clean\"}]},"
    " {\"when\": {\"workflow\": \"classify-task\", \"goal_contains\": \"small\"},"
    "  \"replies\": [{\"text\": \"Small\"}]},"
    " {\"when\": {\"workflow\": \"classify-task\"}, \"replies\": [{\"text\": \"Large\"}]},"
    " {\"name\": \"nested\", \"when\": {\"context\": {\"tags\": [1, \"x\"], \"o\": {\"a\": 1}}},"
    "  \"replies\": [{\"text\": \"nested\"}]}"
    "]}";

static void
test_select_first_match(void)
{
    json_t *s = load(SELECTING);
    wt_err_t err = {0};
    WT_CHECK_STR(pick(s, "mr-review", "g", "{\"reviewAttempt\": 1}", &err), "blocking");
    /* a number equals its decimal string, both ways, and 2 == 2.0 */
    WT_CHECK_STR(pick(s, "mr-review", "g", "{\"reviewAttempt\": 2}", &err), "clean");
    WT_CHECK_STR(pick(s, "mr-review", "g", "{\"reviewAttempt\": 2.0}", &err), "clean");
    WT_CHECK_STR(pick(s, "mr-review", "g", "{\"reviewAttempt\": \"1\"}", &err), "blocking");
    /* extra context keys do not matter */
    WT_CHECK_STR(pick(s, "mr-review", "g", "{\"reviewAttempt\": 1, \"previousResult\": {}}", &err),
                 "blocking");
    WT_CHECK_STR(pick(s, "classify-task", "a small fix", NULL, &err), "Small");
    WT_CHECK_STR(pick(s, "classify-task", "a big feature", NULL, &err), "Large");
    WT_CHECK_STR(pick(s, "classify-task", "a SMALL fix", NULL, &err), "Large"); /* case matters */
    WT_CHECK_STR(pick(s, "other", "g", "{\"tags\": [1, \"x\"], \"o\": {\"a\": \"1\"}}", &err),
                 "nested");
    json_decref(s);
}

static void
test_no_match_names_workflow(void)
{
    json_t *s = load(SELECTING);
    wt_err_t err = {0};
    /* wrong value, string that is not the number, missing key, wrong type */
    WT_CHECK(pick(s, "mr-review", "g", "{\"reviewAttempt\": 3}", &err) == NULL);
    WT_CHECK(strstr(err.msg, "no script entry matches workflow 'mr-review'") != NULL);
    WT_CHECK(pick(s, "mr-review", "g", "{\"reviewAttempt\": \"1x\"}", &err) == NULL);
    WT_CHECK(pick(s, "mr-review", "g", "{}", &err) == NULL);
    WT_CHECK(pick(s, "mr-review", "g", NULL, &err) == NULL);
    WT_CHECK(pick(s, "mr-review", "g", "{\"reviewAttempt\": [1]}", &err) == NULL);
    WT_CHECK(pick(s, "x", "g", "{\"tags\": [1, \"x\", 2], \"o\": {\"a\": 1}}", &err) == NULL);
    WT_CHECK(strstr(err.msg, "'x'") != NULL);
    json_decref(s);
}

static void
test_catch_all(void)
{
    json_t *s = load("{\"scripts\": [{\"when\": {\"workflow\": \"a\"}, \"replies\": [{\"text\": "
                     "\"A\"}]}, {\"replies\": [{\"text\": \"rest\"}]}]}");
    wt_err_t err = {0};
    WT_CHECK_STR(pick(s, "a", "", NULL, &err), "A");
    WT_CHECK_STR(pick(s, "b", "", NULL, &err), "rest");
    json_decref(s);
}

static void
test_load_errors_name_path(void)
{
    WT_CHECK_STR(load_error("{\"scripts\": [{\"replies\": []}, {\"replies\": []}, "
                            "{\"when\": {\"context\": 3}, \"replies\": []}]}"),
                 "scripts[1]: unreachable: scripts[0] has no when and matches every session "
                 "(move it last)");
    WT_CHECK_STR(load_error("{\"scripts\": [{\"when\": {\"workflow\": \"a\"}, \"replies\": []}, "
                            "{\"when\": {\"workflow\": \"b\"}, \"replies\": []}, "
                            "{\"when\": {\"context\": 3}, \"replies\": []}]}"),
                 "scripts[2].when.context: must be an object of context key -> expected value");
    WT_CHECK_STR(load_error("{\"scripts\": [{\"when\": {\"workflw\": \"a\"}, \"replies\": []}]}"),
                 "scripts[0].when: unknown key 'workflw' (expected workflow, goal_contains or "
                 "context)");
    WT_CHECK_STR(load_error("{\"scripts\": [{\"when\": {\"workflow\": 1}, \"replies\": []}]}"),
                 "scripts[0].when.workflow: must be a string");
    WT_CHECK_STR(
        load_error("{\"scripts\": [{\"when\": {\"goal_contains\": null}, \"replies\": []}]}"),
        "scripts[0].when.goal_contains: must be a string");
    WT_CHECK_STR(load_error("{\"scripts\": [{\"when\": [], \"replies\": []}]}"),
                 "scripts[0].when: must be an object");
    WT_CHECK_STR(load_error("{\"scripts\": [{\"when\": {\"workflow\": \"a\"}}]}"),
                 "scripts[0].replies: must be an array of replies");
    WT_CHECK_STR(load_error("{\"scripts\": [{\"when\": {\"workflow\": \"a\"}, \"replies\": []}, "
                            "{\"replies\": [{\"text\": \"x\"}, {\"tool_calls\": {}}]}]}"),
                 "scripts[1].replies[1]: tool_calls must be an array");
    WT_CHECK_STR(load_error("{\"scripts\": [{\"replies\": [], \"reply\": []}]}"),
                 "scripts[0]: unknown key 'reply' (expected when, replies or name)");
    WT_CHECK_STR(load_error("{\"scripts\": [3]}"), "scripts[0]: must be an object");
    WT_CHECK_STR(load_error("{\"scripts\": []}"),
                 "scripts: must be a non-empty array of {when, replies} entries");
    WT_CHECK_STR(load_error("{\"replies\": []}"), "unknown key 'replies' (expected scripts)");
    WT_CHECK_STR(load_error("{\"scripts\": [{\"name\": 1, \"replies\": []}]}"),
                 "scripts[0].name: must be a string");
    WT_CHECK_STR(load_error(SELECTING), "");
}

/* One turn through wt_llm_complete with a script, workflow and context. */
static int
complete(const char *script, const char *workflow, const char *ctx_json, wt_llm_reply_t *reply,
         wt_err_t *err)
{
    write_script(script);
    wt_llm_cfg_t cfg;
    wt_llm_cfg_defaults(&cfg);
    snprintf(cfg.provider, sizeof cfg.provider, "scripted");
    snprintf(cfg.script_path, sizeof cfg.script_path, "%s", path);
    WT_CHECK(wt_llm_cfg_check(&cfg, err) == 0);
    wt_llm_t *llm = wt_llm_new(&cfg, err);
    unlink(path);
    WT_CHECK(llm != NULL);
    if (llm == NULL)
        return -1;
    json_t *messages = json_array(), *ctx = json_loads(ctx_json, 0, NULL);
    wt_llm_request_t req = {.system = "sys",
                            .messages = messages,
                            .turn = 0,
                            .session = "SID1",
                            .goal = "fix the typo",
                            .workflow = workflow,
                            .context = ctx};
    int rc = wt_llm_complete(llm, &req, reply, err);
    json_decref(messages);
    json_decref(ctx);
    wt_llm_destroy(&llm);
    return rc;
}

static void
test_context_substitution(void)
{
    const char *script =
        "{\"scripts\": [{\"when\": {\"goal_contains\": \"typo\"}, \"replies\": [{\"text\": "
        "\"attempt {{context.reviewAttempt}} of {{goal}}\", \"tool_calls\": [{\"name\": "
        "\"complete_step\", \"input\": {\"notes\": \"prev={{context.previousResult}} "
        "who={{context.who}} none=[{{context.missing}}] nested={{context.o.a}} "
        "{{context.open\", \"context\": {\"s\": \"{{session}}\"}}}]}]}]}";
    wt_llm_reply_t reply;
    wt_err_t err = {0};
    int rc = complete(script, "mr-review",
                      "{\"reviewAttempt\": 2, \"previousResult\": {\"verdict\": \"blocking\"}, "
                      "\"who\": \"bob\", \"o\": {\"a\": [1]}}",
                      &reply, &err);
    WT_CHECK(rc == 0);
    if (rc != 0)
        return;
    WT_CHECK_STR(reply.text, "attempt 2 of fix the typo");
    WT_CHECK(reply.ncalls == 1);
    if (reply.ncalls == 1) {
        WT_CHECK_STR(json_string_value(json_object_get(reply.calls[0].input, "notes")),
                     "prev={\"verdict\":\"blocking\"} who=bob none=[] nested=[1] {{context.open");
        WT_CHECK_STR(json_string_value(
                         json_object_get(json_object_get(reply.calls[0].input, "context"), "s")),
                     "SID1");
    }
    wt_llm_reply_release(&reply);
}

static void
test_no_match_fails_the_call_once(void)
{
    wt_llm_reply_t reply;
    wt_err_t err = {0};
    int rc = complete("{\"scripts\": [{\"when\": {\"workflow\": \"a\"}, \"replies\": [{\"text\": "
                      "\"x\"}]}]}",
                      "groom-item", "{}", &reply, &err);
    WT_CHECK(rc == -1);
    WT_CHECK(err.code == WT_EINVAL); /* not transient: no retries */
    WT_CHECK(strstr(err.msg, "no script entry matches workflow 'groom-item'") != NULL);
    WT_CHECK(reply.retries == 0);
    wt_llm_reply_release(&reply);
}

/* Every script under tests/scripts loads; the pipeline scripts select as
 * the pipeline tests expect. */
static void
test_bundled_scripts(void)
{
    DIR *d = opendir("tests/scripts");
    WT_CHECK(d != NULL);
    if (d == NULL)
        return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "tests/scripts/%s", e->d_name);
        wt_err_t err = {0};
        json_t *s = wt_llm_scripted_load(p, &err);
        if (s == NULL)
            fprintf(stderr, "  %s\n", err.msg);
        WT_CHECK(s != NULL);
        json_decref(s);
        n++;
    }
    closedir(d);
    WT_CHECK(n >= 10);

    wt_err_t err = {0};
    json_t *s = wt_llm_scripted_load("tests/scripts/pipelines.json", &err);
    WT_CHECK(s != NULL);

    static const struct {
        const char *workflow, *goal, *ctx, *key, *want;
        size_t nreplies;
    } cases[] = {
        {"classify-task", "a small fix", "{}", "taskComplexity", "Small", 1},
        {"classify-task", "a new dashboard", "{}", "taskComplexity", "Large", 1},
        {"mr-review", "g", "{\"reviewAttempt\": 1}", "verdict", "blocking", 3},
        {"mr-review", "g", "{\"reviewAttempt\": 2, \"previousResult\": {}}", "verdict", "clean", 4},
        {"mr-review", "g", "{\"reviewAttempt\": \"2\"}", "verdict", "clean", 4},
        {"bug-investigation", "crash", "{}", "severity", "Medium", 3},
        {"incident-triage", "disk alert", "{}", "likelyCause",
         "the last deploy exhausted the DB connection pool", 2},
        {"groom-item", "item 2: stale thing", "{}", "decision", "stale", 2},
        {"groom-item", "item 3", "{}", "decision", "keep", 2},
    };

    for (size_t i = 0; s && i < sizeof cases / sizeof cases[0]; i++) {
        json_t *ctx = json_loads(cases[i].ctx, 0, NULL);
        json_t *r = wt_llm_scripted_select(s, cases[i].workflow, cases[i].goal, ctx, &err);
        json_decref(ctx);
        WT_CHECK(r != NULL);
        if (r == NULL)
            continue;
        WT_CHECK(json_array_size(r) == cases[i].nreplies);
        json_t *last = json_array_get(r, json_array_size(r) - 1);
        json_t *in =
            json_object_get(json_array_get(json_object_get(last, "tool_calls"), 0), "input");
        WT_CHECK_STR(
            json_string_value(json_object_get(json_object_get(in, "context"), cases[i].key)),
            cases[i].want);
    }
    json_t *ctx = json_pack("{s:f}", "confidence", 0.0);
    json_t *r = wt_llm_scripted_select(s, "bug-investigation", "crash", ctx, &err);
    json_t *in = json_object_get(
        json_array_get(json_object_get(json_array_get(r, 2), "tool_calls"), 0), "input");
    WT_CHECK(json_real_value(json_object_get(json_object_get(in, "context"), "confidence")) == 0.9);
    WT_CHECK(wt_llm_scripted_select(s, "mr-review", "g", NULL, &err) == NULL);
    json_decref(ctx);
    json_decref(s);
}

int
main(void)
{
    static const wt_test_case_t cases[] = {
        WT_TEST(test_array_form_unchanged),         WT_TEST(test_select_first_match),
        WT_TEST(test_no_match_names_workflow),      WT_TEST(test_catch_all),
        WT_TEST(test_load_errors_name_path),        WT_TEST(test_context_substitution),
        WT_TEST(test_no_match_fails_the_call_once), WT_TEST(test_bundled_scripts),
    };
    return wt_test_run(cases, sizeof cases / sizeof cases[0]);
}
