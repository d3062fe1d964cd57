/* Unit tests of wt_trigger: a full file loads every field, every problem
 * of a broken file is reported at once with its line and column, $NAME
 * expansion, and workflow ids checked against a known list. */
#include "wt_test.h"
#include "wt_trigger.h"

#include <stdlib.h>
#include <string.h>

static int
known(void *ud, const char *id)
{
    (void)ud;
    return strcmp(id, "two-step") == 0 || strcmp(id, "mr-review") == 0;
}

static const wt_trigger_opts_t opts = {known, NULL};

static wt_triggers_t *
load(const char *text, wt_diags_t *d)
{
    wt_diags_init(d);
    return wt_triggers_load_buffer(text, strlen(text), "t.yml", &opts, d);
}

/* 1 when some diagnostic is at line:col and contains needle. */
static int
has(const wt_diags_t *d, int line, int col, const char *needle)
{
    for (int i = 0; i < d->n; i++)
        if (d->v[i].line == line && (col == 0 || d->v[i].col == col) && strstr(d->v[i].msg, needle))
            return 1;
    wt_diags_print(d, stderr);
    return 0;
}

static void
test_full_file_loads_every_field(void)
{
    setenv("WT_TEST_SECRET", "s3cret", 1);
    setenv("WT_TEST_TOKEN", "tok", 1);
    const char *y = "triggers:\n"
                    "  - id: ci-bench\n"
                    "    provider: generic\n"
                    "    workflowId: two-step\n"
                    "    goalTemplate: \"bench {{$.repo.name}} at {{ $.commits[0].id }}\"\n"
                    "    contextMapping:\n"
                    "      repo: $.repo.name\n"
                    "    dispatchCondition:\n"
                    "      - {path: $.action, in: [opened, reopened]}\n"
                    "      - {path: $.draft, equals: false}\n"
                    "    hmacSecret: $WT_TEST_SECRET\n"
                    "    concurrencyMode: serial\n"
                    "    maxQueueDepth: 3\n"
                    "    autoCommit: false\n"
                    "    agentConfig: {model: m1, modelTier: fast, maxSessionMinutes: 30,\n"
                    "                  maxTurns: 12, stallTimeoutSeconds: 90}\n"
                    "  - id: issues\n"
                    "    provider: github_issues_poll\n"
                    "    workflowId: mr-review\n"
                    "    goal: review\n"
                    "    source:\n"
                    "      repo: acme/widgets\n"
                    "      token: ${WT_TEST_TOKEN}\n"
                    "      apiBaseUrl: http://127.0.0.1:9/api\n"
                    "      pollIntervalSeconds: 30\n"
                    "      events: [opened, updated]\n"
                    "      excludeAuthors: [bot]\n"
                    "      labelFilter: ready\n"
                    "      notLabels: [wip, blocked]\n"
                    "  - id: nightly\n"
                    "    provider: cron\n"
                    "    workflowId: two-step\n"
                    "    goal: nightly run costs $5, $$HOME stays\n"
                    "    schedule: \"0 3 * * mon-fri\"\n";
    wt_diags_t d;
    wt_triggers_t *t = load(y, &d);
    WT_CHECK(t != NULL);
    WT_CHECK(d.errors == 0);
    if (t == NULL) {
        wt_diags_print(&d, stderr);
        wt_diags_release(&d);
        return;
    }
    WT_CHECK(t->n == 3);
    const wt_trigger_t *a = wt_triggers_find(t, "ci-bench");
    WT_CHECK(a && a->provider == WT_TRIGGER_GENERIC && a->serial == 1 && a->max_queue_depth == 3);
    WT_CHECK_STR(a->hmac_secret, "s3cret");
    WT_CHECK_STR(a->goal_template, "bench {{$.repo.name}} at {{ $.commits[0].id }}");
    WT_CHECK(a->ncontext == 1 && strcmp(a->context[0].var, "repo") == 0);
    WT_CHECK(a->nconds == 2 && a->conds[0].op == WT_TRIGGER_COND_IN && a->conds[0].values.n == 2 &&
             a->conds[1].op == WT_TRIGGER_COND_EQUALS);
    WT_CHECK_STR(a->conds[1].value, "false");
    WT_CHECK(a->agent.max_turns == 12 && a->agent.max_session_minutes == 30 &&
             a->agent.stall_timeout_seconds == 90);
    WT_CHECK_STR(a->agent.model_tier, "fast");
    const wt_trigger_t *b = wt_triggers_find(t, "issues");
    WT_CHECK(b && b->provider == WT_TRIGGER_GITHUB_ISSUES_POLL);
    WT_CHECK_STR(b->source.token, "tok");
    WT_CHECK_STR(b->source.repo, "acme/widgets");
    WT_CHECK(b->source.poll_interval_seconds == 30 && b->source.events.n == 2 &&
             b->source.label_filter.n == 1 && b->source.not_labels.n == 2);
    const wt_trigger_t *c = wt_triggers_find(t, "nightly");
    WT_CHECK(c && c->provider == WT_TRIGGER_CRON && ((c->cron.dow >> 1) & 1) &&
             !((c->cron.dow >> 0) & 1));
    WT_CHECK_STR(c->goal, "nightly run costs $5, $$HOME stays"); /* goals are not expanded */
    WT_CHECK(wt_triggers_find(t, "nope") == NULL);
    wt_triggers_destroy(&t);
    WT_CHECK(t == NULL);
    wt_diags_release(&d);
}

static void
test_every_problem_reported_with_position(void)
{
    unsetenv("WT_TEST_UNSET");
    const char *y = "triggers:\n"                                      /* 1 */
                    "  - id: a\n"                                      /* 2 */
                    "    provider: webhook\n"                          /* 3 */
                    "    workflowId: nope\n"                           /* 4 */
                    "    hmacSecret: $WT_TEST_UNSET\n"                 /* 5 */
                    "  - id: b\n"                                      /* 6 */
                    "    provider: cron\n"                             /* 7 */
                    "    workflowId: two-step\n"                       /* 8 */
                    "    goal: g\n"                                    /* 9 */
                    "    schedule: \"*/5 25 * * *\"\n"                 /* 10 */
                    "  - id: c\n"                                      /* 11 */
                    "    provider: gitlab_poll\n"                      /* 12 */
                    "    workflowId: two-step\n"                       /* 13 */
                    "    goal: g\n"                                    /* 14 */
                    "    source: {baseUrl: 'ftp://x', projectId: 4}\n" /* 15 */
                    "  - id: a\n"                                      /* 16 */
                    "    provider: generic\n"                          /* 17 */
                    "    workflowId: two-step\n"                       /* 18 */
                    "    goal: g\n"                                    /* 19 */
                    "    concurrencyMode: sometimes\n";                /* 20 */
    wt_diags_t d;
    wt_triggers_t *t = load(y, &d);
    WT_CHECK(t == NULL);
    WT_CHECK(has(&d, 3, 15, "unknown provider 'webhook'"));
    WT_CHECK(has(&d, 4, 17, "unknown workflowId 'nope'"));
    WT_CHECK(has(&d, 5, 17, "environment variable 'WT_TEST_UNSET' is not set"));
    WT_CHECK(has(&d, 2, 0, "has no 'goal' or 'goalTemplate'"));
    WT_CHECK(has(&d, 10, 20, "bad cron schedule '*/5 25 * * *': hour '25' out of range"));
    WT_CHECK(has(&d, 15, 23, "'baseUrl' must be an http:// or https:// URL"));
    WT_CHECK(has(&d, 16, 0, "duplicate trigger id 'a'"));
    WT_CHECK(has(&d, 20, 22, "unknown concurrencyMode 'sometimes'"));
    WT_CHECK(d.errors == 8);
    wt_diags_release(&d);
}

static void
test_shape_errors(void)
{
    wt_diags_t d;
    WT_CHECK(load("triggers: [\n", &d) == NULL);
    WT_CHECK(d.errors == 1 && d.v[0].line > 0);
    wt_diags_release(&d);
    WT_CHECK(load("pipeline: x\n", &d) == NULL);
    WT_CHECK(has(&d, 1, 1, "top-level 'triggers:'"));
    wt_diags_release(&d);
    const char *y = "triggers:\n"
                    "  - id: x\n"
                    "    provider: generic\n"
                    "    workflowId: two-step\n"
                    "    goalTemplate: 'hi {{$.a'\n"
                    "    contextMapping: {v: a.b}\n"
                    "    dispatchCondition: {path: $.a, equals: 1, in: [2]}\n"
                    "    maxQueueDepth: -1\n"
                    "    agentConfig: {maxTurns: lots, modelTier: huge}\n"
                    "    surprise: 1\n";
    WT_CHECK(load(y, &d) == NULL);
    WT_CHECK(has(&d, 5, 19, "'{{' without a closing '}}'"));
    WT_CHECK(has(&d, 6, 25, "must start with '$'"));
    WT_CHECK(has(&d, 7, 47, "takes one of equals"));
    WT_CHECK(has(&d, 8, 20, "'maxQueueDepth' must be a whole number"));
    WT_CHECK(has(&d, 9, 29, "'maxTurns' must be a whole number"));
    WT_CHECK(has(&d, 9, 46, "unknown modelTier 'huge'"));
    WT_CHECK(has(&d, 10, 5, "unknown trigger key 'surprise' ignored"));
    WT_CHECK(d.errors == 6);
    wt_diags_release(&d);
}

static void
test_no_known_list_warns(void)
{
    const char *y = "triggers:\n"
                    "  - id: x\n"
                    "    provider: generic\n"
                    "    workflowId: anything\n"
                    "    workspacePath: /no/such/dir/here\n"
                    "    goal: g\n";
    wt_diags_t d;
    wt_diags_init(&d);
    wt_trigger_opts_t none = {NULL, NULL};
    wt_triggers_t *t = wt_triggers_load_buffer(y, strlen(y), "t.yml", &none, &d);
    WT_CHECK(t != NULL && d.errors == 0 && d.n == 2);
    WT_CHECK(has(&d, 4, 17, "not checked"));
    WT_CHECK(has(&d, 5, 20, "is not a directory here"));
    wt_triggers_destroy(&t);
    wt_diags_release(&d);
}

/* An empty hmacSecret (a quoted "" or a variable set to nothing) would make
 * the HMAC key empty: anyone can sign with it. It is refused at load. */
static void
test_empty_hmac_secret_refused(void)
{
    setenv("WT_TEST_EMPTY_SECRET", "", 1);
    const char *y = "triggers:\n"
                    "  - id: x\n"
                    "    provider: generic\n"
                    "    workflowId: two-step\n"
                    "    goal: g\n"
                    "    hmacSecret: \"\"\n"
                    "  - id: y\n"
                    "    provider: generic\n"
                    "    workflowId: two-step\n"
                    "    goal: g\n"
                    "    hmacSecret: $WT_TEST_EMPTY_SECRET\n";
    wt_diags_t d;
    WT_CHECK(load(y, &d) == NULL);
    WT_CHECK(has(&d, 6, 17, "'hmacSecret' is empty"));
    WT_CHECK(has(&d, 11, 17, "'hmacSecret' is empty"));
    WT_CHECK(d.errors == 2);
    wt_diags_release(&d);
}

/* DESIGN.md 15: workspace (a URL or a path) with autoCommit / autoOpenPR
 * and the other delivery fields becomes the JSON spec spawn --repo makes;
 * a local path alone stays a path; bad values are named with their place. */
static void
test_workspace_delivery_fields(void)
{
    const char *y = "triggers:\n"
                    "  - id: a\n"
                    "    provider: generic\n"
                    "    workflowId: two-step\n"
                    "    goal: g\n"
                    "    workspace: https://github.com/acme/app.git\n"
                    "    ref: dev\n"
                    "    autoCommit: true\n"
                    "    autoOpenPR: true\n"
                    "    labels: [bot, worktrain]\n"
                    "  - id: b\n"
                    "    provider: generic\n"
                    "    workflowId: two-step\n"
                    "    goal: g\n"
                    "    workspacePath: /tmp\n"
                    "    autoCommit: true\n"
                    "    forge: gitlab\n"
                    "    forgeProject: grp/app\n"
                    "    deliver: branch\n"
                    "  - id: c\n"
                    "    provider: generic\n"
                    "    workflowId: two-step\n"
                    "    goal: g\n"
                    "    workspacePath: /tmp\n"
                    "    autoCommit: false\n";
    wt_diags_t d;
    wt_triggers_t *t = load(y, &d);
    WT_CHECK(t != NULL && d.errors == 0);
    if (t == NULL)
        return;
    WT_CHECK_STR(t->v[0].workspace_path,
                 "{\"auto_commit\":true,\"deliver\":\"pr\",\"labels\":\"bot,worktrain\","
                 "\"ref\":\"dev\",\"repo\":\"https://github.com/acme/app.git\"}");
    WT_CHECK_STR(t->v[1].workspace_path,
                 "{\"auto_commit\":true,\"deliver\":\"branch\",\"forge\":\"gitlab\","
                 "\"project\":\"grp/app\",\"repo\":\"/tmp\"}");
    WT_CHECK_STR(t->v[2].workspace_path, "/tmp");
    wt_triggers_destroy(&t);
    wt_diags_release(&d);

    const char *bad = "triggers:\n"
                      "  - id: x\n"
                      "    provider: generic\n"
                      "    workflowId: two-step\n"
                      "    goal: g\n"
                      "    autoOpenPR: yes please\n"
                      "    deliver: merge\n"
                      "    forge: bitbucket\n"
                      "    forgeProject: app\n"
                      "    ref: --upload-pack=x\n"
                      "  - id: y\n"
                      "    provider: generic\n"
                      "    workflowId: two-step\n"
                      "    goal: g\n"
                      "    autoCommit: true\n"
                      "  - id: z\n"
                      "    provider: generic\n"
                      "    workflowId: two-step\n"
                      "    goal: g\n"
                      "    workspace: git@github.com:acme/app.git\n"
                      "    workspacePath: /tmp\n";
    WT_CHECK(load(bad, &d) == NULL);
    WT_CHECK(has(&d, 6, 17, "'autoOpenPR' must be true or false"));
    WT_CHECK(has(&d, 7, 14, "deliver must be branch or pr, got 'merge'"));
    WT_CHECK(has(&d, 8, 12, "forge must be github or gitlab"));
    WT_CHECK(has(&d, 9, 19, "forgeProject must be OWNER/NAME"));
    WT_CHECK(has(&d, 10, 10, "ref must not start with '-'"));
    WT_CHECK(has(&d, 15, 5, "'autoCommit' needs 'workspace'"));
    WT_CHECK(has(&d, 21, 5, "'workspacePath' and 'workspace' both name the workspace"));
    WT_CHECK(d.errors == 7);
    wt_diags_release(&d);
}

WT_TEST_MAIN(WT_TEST(test_full_file_loads_every_field), WT_TEST(test_empty_hmac_secret_refused),
             WT_TEST(test_workspace_delivery_fields),
             WT_TEST(test_every_problem_reported_with_position), WT_TEST(test_shape_errors),
             WT_TEST(test_no_known_list_warns))
