/* Unit tests of wt_notify: status classification, backoff with full jitter
 * and Retry-After, the Slack one-liner, the standard body, env parsing, and
 * the delivery thread's accounting against a closed local port (no server:
 * the HTTP paths are covered by tests/integration/test_notify.py). */
#include "wt_clock.h"
#include "wt_notify_int.h"
#include "wt_test.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define CLOSED_URL "http://127.0.0.1:1/hooks/T000/B000/secrettoken"

static void
test_classify(void)
{
    WT_CHECK(wt_notify_classify(200) == WT_NOTIFY_DELIVERED);
    WT_CHECK(wt_notify_classify(204) == WT_NOTIFY_DELIVERED);
    WT_CHECK(wt_notify_classify(299) == WT_NOTIFY_DELIVERED);
    WT_CHECK(wt_notify_classify(0) == WT_NOTIFY_RETRY); /* no answer */
    WT_CHECK(wt_notify_classify(408) == WT_NOTIFY_RETRY);
    WT_CHECK(wt_notify_classify(429) == WT_NOTIFY_RETRY);
    WT_CHECK(wt_notify_classify(500) == WT_NOTIFY_RETRY);
    WT_CHECK(wt_notify_classify(503) == WT_NOTIFY_RETRY);
    WT_CHECK(wt_notify_classify(400) == WT_NOTIFY_FAIL);
    WT_CHECK(wt_notify_classify(401) == WT_NOTIFY_FAIL);
    WT_CHECK(wt_notify_classify(404) == WT_NOTIFY_FAIL);
    WT_CHECK(wt_notify_classify(410) == WT_NOTIFY_FAIL);
    WT_CHECK(wt_notify_classify(301) == WT_NOTIFY_FAIL); /* redirects are not followed */
}

static void
test_backoff_full_jitter_and_cap(void)
{
    wt_notify_cfg_t cfg;
    wt_notify_cfg_defaults(&cfg);
    /* The ceiling doubles from 500 ms: rnd = ceiling gives the ceiling itself. */
    WT_CHECK(wt_notify_delay_ms(&cfg, 1, 500, -1, 500) == 500);
    WT_CHECK(wt_notify_delay_ms(&cfg, 2, 500, -1, 1000) == 1000);
    WT_CHECK(wt_notify_delay_ms(&cfg, 3, 0, -1, 2000) == 2000);
    WT_CHECK(wt_notify_delay_ms(&cfg, 1, 500, -1, 0) == 0); /* full jitter reaches 0 */
    /* Modulo (ceiling + 1): 501 wraps to 0 at attempt 1, not at attempt 2. */
    WT_CHECK(wt_notify_delay_ms(&cfg, 1, 500, -1, 501) == 0);
    WT_CHECK(wt_notify_delay_ms(&cfg, 2, 500, -1, 501) == 501);
    /* Capped at 30 s however many attempts. */
    WT_CHECK(wt_notify_delay_ms(&cfg, 7, 500, -1, 30000) == 30000);
    WT_CHECK(wt_notify_delay_ms(&cfg, 7, 500, -1, 30001) == 0);
    WT_CHECK(wt_notify_delay_ms(&cfg, 60, 500, -1, UINT64_MAX) <= 30000);
    int64_t max_seen = 0;
    for (uint64_t r = 0; r < 100000; r += 7) {
        int64_t d = wt_notify_delay_ms(&cfg, 3, 500, -1, r * 2654435761u);
        WT_CHECK(d >= 0 && d <= 2000);
        if (d > max_seen)
            max_seen = d;
    }
    WT_CHECK(max_seen > 1500); /* the range is used, not a constant */
    /* Retry-After replaces the backoff on 429 and 503 only, capped. */
    WT_CHECK(wt_notify_delay_ms(&cfg, 1, 429, 2000, 0) == 2000);
    WT_CHECK(wt_notify_delay_ms(&cfg, 1, 503, 0, 400) == 0);
    WT_CHECK(wt_notify_delay_ms(&cfg, 1, 429, 3600000, 0) == 30000);
    WT_CHECK(wt_notify_delay_ms(&cfg, 1, 500, 2000, 100) == 100);
    cfg.backoff_ms = 0;
    WT_CHECK(wt_notify_delay_ms(&cfg, 4, 500, -1, 12345) == 0);
}

static void
test_body_and_slack_text(void)
{
    json_t *b = wt_notify_body_new("session_completed", "two-step", "01J0SID", "success",
                                   "all\ngood", "fix <the> bug & ship", 1767225600123LL);
    WT_CHECK(json_object_size(b) == 7);
    WT_CHECK_STR(json_string_value(json_object_get(b, "timestamp")), "2026-01-01T00:00:00.123Z");
    WT_CHECK_STR(json_string_value(json_object_get(b, "sessionId")), "01J0SID");
    char *t = wt_notify_slack_text("session_completed", b);
    WT_CHECK_STR(t, "WorkTrain session_completed | outcome: success | session: 01J0SID | "
                    "workflow: two-step | goal: fix &lt;the&gt; bug &amp; ship | detail: all good");
    WT_CHECK(strchr(t, '\n') == NULL);
    free(t);
    /* A message leads; long fields are cut on a UTF-8 boundary. */
    char goal[1200];
    memset(goal, 'g', sizeof goal);
    memcpy(goal + 299, "\xc3\xa9", 2); /* an e-acute across the 300-byte cut */
    goal[sizeof goal - 1] = '\0';
    json_t *p = json_pack("{s:s,s:s}", "message", "Escalation: build broke", "goal", goal);
    t = wt_notify_slack_text("escalation", p);
    WT_CHECK(strncmp(t, "Escalation: build broke | goal: ", 32) == 0);
    WT_CHECK(strlen(t) == 32 + 299 + 3);
    WT_CHECK(strcmp(t + strlen(t) - 3, "...") == 0);
    json_t *s = json_string(t); /* still valid UTF-8 */
    WT_CHECK(s != NULL);
    json_decref(s);
    free(t);
    t = wt_notify_slack_text("pipeline_completed", NULL);
    WT_CHECK_STR(t, "WorkTrain pipeline_completed");
    free(t);
    json_decref(p);
    json_decref(b);
}

static void
test_cfg_from_env(void)
{
    wt_notify_cfg_t cfg;
    wt_notify_cfg_defaults(&cfg);
    wt_err_t err = {0};
    WT_CHECK(cfg.max_attempts == 5 && cfg.backoff_ms == 500 && cfg.timeout_ms == 5000);
    WT_CHECK(cfg.queue_cap == 1000 && cfg.flush_timeout_ms == 5000 && cfg.backoff_cap_ms == 30000);
    unsetenv("WORKTRAIN_NOTIFY_WEBHOOK");
    unsetenv("WORKTRAIN_NOTIFY_SLACK");
    WT_CHECK(wt_notify_cfg_from_env(&cfg, &err) == 0 && !wt_notify_cfg_enabled(&cfg));
    setenv("WORKTRAIN_NOTIFY_SLACK", "https://hooks.example/services/T/B/secretpart", 1);
    setenv("WORKTRAIN_NOTIFY_ATTEMPTS", "3", 1);
    setenv("WORKTRAIN_NOTIFY_BACKOFF_MS", "20", 1);
    WT_CHECK(wt_notify_cfg_from_env(&cfg, &err) == 0 && wt_notify_cfg_enabled(&cfg));
    WT_CHECK(cfg.max_attempts == 3 && cfg.backoff_ms == 20 && cfg.webhook_url[0] == '\0');
    WT_CHECK(wt_notify_cfg_check(&cfg, &err) == 0);
    setenv("WORKTRAIN_NOTIFY_WEBHOOK", "ftp://host/secretpart", 1);
    WT_CHECK(wt_notify_cfg_from_env(&cfg, &err) == -1 && err.code == WT_EINVAL);
    WT_CHECK(strstr(err.msg, "WORKTRAIN_NOTIFY_WEBHOOK") != NULL);
    WT_CHECK(strstr(err.msg, "secretpart") == NULL); /* the URL is never echoed */
    unsetenv("WORKTRAIN_NOTIFY_WEBHOOK");
    setenv("WORKTRAIN_NOTIFY_ATTEMPTS", "0", 1);
    WT_CHECK(wt_notify_cfg_from_env(&cfg, &err) == -1);
    WT_CHECK(strstr(err.msg, "WORKTRAIN_NOTIFY_ATTEMPTS") != NULL);
    setenv("WORKTRAIN_NOTIFY_ATTEMPTS", "2x", 1);
    WT_CHECK(wt_notify_cfg_from_env(&cfg, &err) == -1);
    unsetenv("WORKTRAIN_NOTIFY_ATTEMPTS");
    unsetenv("WORKTRAIN_NOTIFY_BACKOFF_MS");
    unsetenv("WORKTRAIN_NOTIFY_SLACK");
}

static void
test_disabled_is_a_noop(void)
{
    wt_notify_cfg_t cfg;
    wt_notify_cfg_defaults(&cfg);
    wt_err_t err = {0};
    wt_notify_t *n = wt_notify_new(&cfg, &err);
    WT_CHECK(n != NULL && !wt_notify_enabled(n));
    wt_notify_post(n, "session_completed", json_object()); /* reference taken, no leak */
    wt_notify_stats_t st;
    wt_notify_stats(n, &st);
    WT_CHECK(st.posted == 0);
    wt_notify_destroy(&n);
    WT_CHECK(n == NULL);
    wt_notify_destroy(&n);
    wt_notify_post(NULL, "x", json_object());
}

static void
test_every_post_is_accounted_for(void)
{
    wt_notify_cfg_t cfg;
    wt_notify_cfg_defaults(&cfg);
    snprintf(cfg.webhook_url, sizeof cfg.webhook_url, "%s", CLOSED_URL);
    snprintf(cfg.redis_url, sizeof cfg.redis_url, "redis://127.0.0.1:1/0"); /* Redis down */
    cfg.max_attempts = 2;
    cfg.backoff_ms = 1;
    cfg.queue_cap = 1;
    cfg.flush_timeout_ms = 2000;
    wt_err_t err = {0};
    wt_notify_t *n = wt_notify_new(&cfg, &err);
    WT_CHECK(n != NULL && wt_notify_enabled(n));
    int64_t t0 = wt_clock_mono_ms();
    for (int i = 0; i < 50; i++)
        wt_notify_post(n, "session_completed",
                       wt_notify_body_new("session_completed", "wf", "SID", "success", "", "g", 0));
    WT_CHECK(wt_clock_mono_ms() - t0 < 500); /* posting never waits for delivery */
    wt_notify_stats_t st;
    wt_notify_stats(n, &st);
    WT_CHECK(st.posted == 50);
    /* Destroy returns within the flush deadline (plus one attempt). */
    t0 = wt_clock_mono_ms();
    wt_notify_destroy(&n);
    WT_CHECK(wt_clock_mono_ms() - t0 < 4000);
    WT_CHECK(n == NULL);
}

static void
test_stats_after_failures(void)
{
    wt_notify_cfg_t cfg;
    wt_notify_cfg_defaults(&cfg);
    snprintf(cfg.webhook_url, sizeof cfg.webhook_url, "%s", CLOSED_URL);
    snprintf(cfg.slack_url, sizeof cfg.slack_url, "%s", CLOSED_URL);
    snprintf(cfg.redis_url, sizeof cfg.redis_url, "redis://127.0.0.1:1/0");
    cfg.max_attempts = 2;
    cfg.backoff_ms = 1;
    cfg.queue_cap = 1;
    wt_err_t err = {0};
    wt_notify_t *n = wt_notify_new(&cfg, &err);
    for (int i = 0; i < 20; i++)
        wt_notify_post(n, "e", json_pack("{s:s}", "sessionId", "S"));
    /* Wait (bounded) until all posts are delivered, failed or dropped. */
    wt_notify_stats_t st;
    int64_t deadline = wt_clock_mono_ms() + 10000;
    for (;;) {
        wt_notify_stats(n, &st);
        if ((st.failed / 2) + st.dropped >= 20 || wt_clock_mono_ms() > deadline)
            break;
        wt_clock_sleep_ms(5);
    }
    WT_CHECK(st.posted == 20);
    WT_CHECK(st.failed % 2 == 0 && st.failed >= 2); /* two targets per post */
    WT_CHECK(st.failed / 2 + st.dropped == 20);
    WT_CHECK(st.delivered == 0);
    WT_CHECK(st.record_skipped == st.failed); /* Redis down: every record skipped */
    wt_notify_destroy(&n);
}

static void
test_send_sync_failure_names_no_url(void)
{
    wt_notify_cfg_t cfg;
    wt_notify_cfg_defaults(&cfg);
    cfg.max_attempts = 3;
    cfg.backoff_ms = 1;
    wt_err_t err = {0};
    json_t *b = json_pack("{s:s}", "message", "hello");
    WT_CHECK(wt_notify_send_sync(CLOSED_URL, 1, b, &cfg, "escalation", &err) == -1);
    WT_CHECK(strstr(err.msg, "failed after 3 attempt(s)") != NULL);
    WT_CHECK(strstr(err.msg, "slack") != NULL);
    WT_CHECK(strstr(err.msg, "secrettoken") == NULL && strstr(err.msg, "127.0.0.1") == NULL);
    WT_CHECK(wt_notify_send_sync("file:///etc/passwd", 0, b, &cfg, "x", &err) == -1);
    WT_CHECK(err.code == WT_EINVAL);
    WT_CHECK(wt_notify_send_sync("", 0, b, NULL, "x", &err) == -1 && err.code == WT_EINVAL);
    json_decref(b);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    static const wt_test_case_t cases[] = {WT_TEST(test_classify),
                                           WT_TEST(test_backoff_full_jitter_and_cap),
                                           WT_TEST(test_body_and_slack_text),
                                           WT_TEST(test_cfg_from_env),
                                           WT_TEST(test_disabled_is_a_noop),
                                           WT_TEST(test_every_post_is_accounted_for),
                                           WT_TEST(test_stats_after_failures),
                                           WT_TEST(test_send_sync_failure_names_no_url)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    curl_global_cleanup();
    return rc;
}
