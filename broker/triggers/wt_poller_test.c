/* Unit tests of wt_poller's configuration: a loaded poll trigger maps to a
 * poller config (defaults, apiBaseUrl, events, filters, agentConfig), and
 * bad sources fail naming the trigger. The HTTP side is covered by
 * tests/integration/test_triggers_poll.py against the fakes. */
#include "wt_poller.h"
#include "wt_test.h"

#include <stdlib.h>
#include <string.h>

static wt_triggers_t *
load(const char *text)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_triggers_t *ts = wt_triggers_load_buffer(text, strlen(text), "t.yml", NULL, &d);
    if (ts == NULL)
        wt_diags_print(&d, stderr);
    wt_diags_release(&d);
    return ts;
}

static void
test_github_trigger_maps(void)
{
    setenv("WT_POLL_TEST_TOKEN", "ghp_secret", 1);
    wt_triggers_t *ts = load("triggers:\n"
                             "  - id: gh\n"
                             "    provider: github_issues_poll\n"
                             "    workflowId: two-step\n"
                             "    goalTemplate: \"Triage #{{$.number}}\"\n"
                             "    agentConfig: {maxSessionMinutes: 5, maxTurns: 9}\n"
                             "    source:\n"
                             "      repo: octo/hello\n"
                             "      token: $WT_POLL_TEST_TOKEN\n"
                             "      pollIntervalSeconds: 2\n"
                             "      events: [opened, updated]\n"
                             "      excludeAuthors: [bot]\n"
                             "      labelFilter: [ai, triage]\n"
                             "      notLabels: [wontfix]\n");
    WT_CHECK(ts != NULL);
    if (ts == NULL)
        return;
    wt_poller_cfg_t cfg;
    wt_err_t err = {0};
    WT_CHECK(wt_poller_cfg_from_trigger(&cfg, &ts->v[0], "redis://127.0.0.1:1/0", &err) == 0);
    WT_CHECK(cfg.rules.provider == WT_POLL_GITHUB_ISSUES);
    WT_CHECK_STR(cfg.api_base, "https://api.github.com");
    WT_CHECK_STR(cfg.where, "octo/hello");
    WT_CHECK_STR(cfg.token, "ghp_secret");
    WT_CHECK(cfg.interval_ms == 2000);
    WT_CHECK(cfg.rules.events == (WT_POLL_EV_OPENED | WT_POLL_EV_UPDATED));
    WT_CHECK(cfg.rules.n_exclude_authors == 1 && cfg.rules.n_label_filter == 2);
    WT_CHECK_STR(cfg.rules.not_labels[0], "wontfix");
    WT_CHECK(cfg.session_timeout_ms == 300000 && cfg.max_turns == 9);
    WT_CHECK(wt_poller_cfg_check(&cfg, &err) == 0);
    wt_triggers_destroy(&ts);
}

static void
test_gitlab_and_bad_sources(void)
{
    wt_triggers_t *ts =
        load("triggers:\n"
             "  - id: gl\n"
             "    provider: gitlab_poll\n"
             "    workflowId: two-step\n"
             "    goal: review\n"
             "    source: {baseUrl: \"https://gitlab.example\", projectId: grp/p,\n"
             "             token: t, events: [closed]}\n"
             "  - id: gl2\n"
             "    provider: gitlab_poll\n"
             "    workflowId: two-step\n"
             "    goal: review\n"
             "    source: {baseUrl: \"https://gitlab.example\", projectId: \"42\",\n"
             "             apiBaseUrl: \"http://127.0.0.1:9\"}\n");
    WT_CHECK(ts != NULL);
    if (ts == NULL)
        return;
    wt_poller_cfg_t cfg;
    wt_err_t err = {0};
    WT_CHECK(wt_poller_cfg_from_trigger(&cfg, &ts->v[0], "redis://x", &err) == -1);
    WT_CHECK(strstr(err.msg, "'gl'") != NULL && strstr(err.msg, "'closed'") != NULL);
    WT_CHECK(wt_poller_cfg_from_trigger(&cfg, &ts->v[1], "redis://x", &err) == 0);
    WT_CHECK_STR(cfg.api_base, "http://127.0.0.1:9");
    WT_CHECK(cfg.rules.provider == WT_POLL_GITLAB_MRS);
    /* No token: refused before any thread starts. */
    WT_CHECK(wt_poller_cfg_check(&cfg, &err) == -1);
    WT_CHECK(strstr(err.msg, "token") != NULL && strstr(err.msg, "gl2") != NULL);
    WT_CHECK(wt_poller_start(&cfg, NULL, NULL, &err) == NULL);
    wt_triggers_destroy(&ts);
}

WT_TEST_MAIN(WT_TEST(test_github_trigger_maps), WT_TEST(test_gitlab_and_bad_sources))
