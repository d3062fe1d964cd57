/* Unit tests of wt_poll: URLs, rate-limit headers, item reading, the
 * dispatch decision and goal templating. */
#include "wt_poll.h"
#include "wt_test.h"

#include <stdlib.h>
#include <string.h>

static json_t *
issue(int number, const char *updated, const char *login, const char *labels_json, int is_pr)
{
    json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:{s:s}, s:s, s:s}", "number", number, "title",
                          "Crash on start", "body", "It crashes", "html_url",
                          "https://github.com/o/r/issues/7", "user", "login", login, "updated_at",
                          updated, "state", "open");
    json_object_set_new(j, "labels", json_loads(labels_json, 0, NULL));
    if (is_pr)
        json_object_set_new(j, "pull_request", json_pack("{s:s}", "url", "x"));
    return j;
}

static void
rules_init(wt_poll_rules_t *r, wt_poll_provider_t p, unsigned events)
{
    memset(r, 0, sizeof *r);
    r->provider = p;
    r->events = events;
}

static void
test_urls(void)
{
    wt_err_t err = {0};
    char *u = wt_poll_url(WT_POLL_GITHUB_ISSUES, "http://127.0.0.1:9/", "octo/hello", 30, &err);
    WT_CHECK_STR(u, "http://127.0.0.1:9/repos/octo/hello/issues?state=open&sort=updated"
                    "&direction=desc&per_page=30");
    free(u);
    u = wt_poll_url(WT_POLL_GITHUB_PRS, "https://api.github.com", "octo/hello", 0, &err);
    WT_CHECK_STR(u, "https://api.github.com/repos/octo/hello/pulls?state=open&sort=updated"
                    "&direction=desc&per_page=50");
    free(u);
    u = wt_poll_url(WT_POLL_GITLAB_MRS, "https://gitlab.example", "grp/proj", 20, &err);
    WT_CHECK_STR(u, "https://gitlab.example/api/v4/projects/grp%2Fproj/merge_requests?"
                    "state=opened&order_by=updated_at&sort=desc&per_page=20");
    free(u);
    u = wt_poll_url(WT_POLL_GITLAB_MRS, "http://h/api/v4", "42", 20, &err);
    WT_CHECK(u != NULL && strncmp(u, "http://h/api/v4/projects/42/merge_requests?", 43) == 0);
    free(u);
    WT_CHECK(wt_poll_url(WT_POLL_GITHUB_ISSUES, "http://h", "no-slash", 30, &err) == NULL);
    WT_CHECK(err.code == WT_EINVAL && strstr(err.msg, "no-slash") != NULL);
    WT_CHECK(wt_poll_url(WT_POLL_GITHUB_ISSUES, "http://h", "a/b?x=1", 30, &err) == NULL);
}

static void
feed(wt_poll_meta_t *m, const char *line)
{
    wt_poll_meta_header(m, line, strlen(line), 1700000000);
}

static void
test_meta_headers(void)
{
    wt_poll_meta_t m;
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 200 OK\r\n");
    feed(&m, "ETag: W/\"abc\"\r\n");
    feed(&m, "x-ratelimit-remaining: 4999\r\n");
    feed(&m, "X-RateLimit-Reset: 1700000100\r\n");
    feed(&m, "Link: <http://h/repos/o/r/issues?page=2>; rel=\"next\", "
             "<http://h/repos/o/r/issues?page=5>; rel=\"last\"\r\n");
    WT_CHECK(m.status == 200);
    WT_CHECK_STR(m.etag, "W/\"abc\"");
    WT_CHECK(m.remaining == 4999 && m.reset_s == 1700000100);
    WT_CHECK_STR(m.next_url, "http://h/repos/o/r/issues?page=2");
    int limited = -1;
    WT_CHECK(wt_poll_meta_not_before_ms(&m, 5000, &limited) == 5000 && limited == 0);
    /* A new status line (redirect) starts over. */
    feed(&m, "HTTP/2 304\r\n");
    WT_CHECK(m.status == 304 && m.etag[0] == '\0' && m.remaining == -1);
    /* Last-page Link has no next. */
    wt_poll_meta_init(&m);
    feed(&m, "Link: <http://h/x?page=1>; rel=\"prev\", <http://h/x?page=1>; rel=\"first\"");
    WT_CHECK(m.next_url[0] == '\0');
    /* Garbage numbers are absent, not zero. */
    feed(&m, "X-RateLimit-Remaining: lots");
    WT_CHECK(m.remaining == -1);
}

static void
test_rate_limit_waits(void)
{
    int64_t now_ms = 1700000000000LL;
    wt_poll_meta_t m;
    int limited = 0;
    /* GitHub primary limit: 403 + remaining 0 -> until the reset second. */
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 403 Forbidden");
    feed(&m, "X-RateLimit-Remaining: 0");
    feed(&m, "X-RateLimit-Reset: 1700000002");
    WT_CHECK(wt_poll_meta_not_before_ms(&m, now_ms, &limited) == 1700000002000LL);
    WT_CHECK(limited == 1);
    /* Retry-After wins over the reset time. */
    feed(&m, "Retry-After: 7");
    WT_CHECK(wt_poll_meta_not_before_ms(&m, now_ms, &limited) == now_ms + 7000);
    /* A reset already past: ask now. */
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 429 Too Many Requests");
    feed(&m, "RateLimit-Remaining: 0");
    feed(&m, "RateLimit-Reset: 1699999990");
    WT_CHECK(wt_poll_meta_not_before_ms(&m, now_ms, &limited) == now_ms && limited == 1);
    /* A 429 naming no time waits a minute. */
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 429 Too Many Requests");
    WT_CHECK(wt_poll_meta_not_before_ms(&m, now_ms, &limited) == now_ms + 60000 && limited);
    /* A plain 403 (no token rights) is not a rate limit. */
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 403 Forbidden");
    feed(&m, "X-RateLimit-Remaining: 4000");
    WT_CHECK(wt_poll_meta_not_before_ms(&m, now_ms, &limited) == now_ms && limited == 0);
    /* A 200 that used the last request: the next one waits for the reset. */
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 200 OK");
    feed(&m, "X-RateLimit-Remaining: 0");
    feed(&m, "X-RateLimit-Reset: 1700000060");
    WT_CHECK(wt_poll_meta_not_before_ms(&m, now_ms, &limited) == 1700000060000LL);
    WT_CHECK(limited == 0);
    /* Retry-After as an HTTP-date. */
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 429 Too Many Requests");
    wt_poll_meta_header(&m, "Retry-After: Tue, 14 Nov 2023 22:13:30 GMT", 42, 1700000000);
    WT_CHECK(m.retry_after_s == 10);
}

/* Hostile or broken rate headers: no signed overflow, and no wait longer
 * than WT_POLL_MAX_WAIT_S (a reset in the year 5000 must not stop a poller
 * for good). */
static void
test_rate_limit_absurd_values(void)
{
    int64_t now_ms = 1700000000000LL, cap = now_ms + (int64_t)WT_POLL_MAX_WAIT_S * 1000;
    wt_poll_meta_t m;
    int limited = 0;
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 429 Too Many Requests");
    feed(&m, "Retry-After: 9223372036854775807");
    WT_CHECK(wt_poll_meta_not_before_ms(&m, now_ms, &limited) == cap && limited);
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 403 Forbidden");
    feed(&m, "X-RateLimit-Remaining: 0");
    feed(&m, "X-RateLimit-Reset: 9223372036854775807");
    WT_CHECK(wt_poll_meta_not_before_ms(&m, now_ms, &limited) == cap && limited);
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 200 OK");
    feed(&m, "X-RateLimit-Remaining: 0");
    feed(&m, "X-RateLimit-Reset: 99999999999");
    WT_CHECK(wt_poll_meta_not_before_ms(&m, now_ms, &limited) == cap);
    /* X-Poll-Interval is capped the same way when read. */
    feed(&m, "X-Poll-Interval: 9223372036854775807");
    WT_CHECK(m.poll_interval_s == WT_POLL_MAX_WAIT_S);
}

/* A Link rel="next" is followed (with the token) only on the API's own
 * scheme, host and port. */
static void
test_same_origin(void)
{
    const char *api = "https://api.github.com/repos/o/r/issues?state=open";
    WT_CHECK(wt_poll_same_origin(api, "https://api.github.com/repositories/1/issues?page=2"));
    WT_CHECK(wt_poll_same_origin(api, "https://API.github.com:443/x"));
    WT_CHECK(!wt_poll_same_origin(api, "https://evil.example/x?page=2"));
    WT_CHECK(!wt_poll_same_origin(api, "http://api.github.com/x"));
    WT_CHECK(!wt_poll_same_origin(api, "https://api.github.com:8443/x"));
    WT_CHECK(!wt_poll_same_origin(api, "https://api.github.com.evil.example/x"));
    WT_CHECK(!wt_poll_same_origin(api, "https://user@evil.example/x"));
    WT_CHECK(!wt_poll_same_origin(api, "/relative?page=2"));
    WT_CHECK(!wt_poll_same_origin(api, ""));
    WT_CHECK(wt_poll_same_origin("http://127.0.0.1:9/api/v4/x", "http://127.0.0.1:9/api/v4/y"));
    WT_CHECK(!wt_poll_same_origin("http://127.0.0.1:9/a", "http://127.0.0.1:10/a"));
}

static void
test_item_read(void)
{
    wt_err_t err = {0};
    wt_poll_item_t it;
    json_t *j = issue(7, "2024-01-01T00:00:00Z", "alice", "[{\"name\":\"Bug\"}]", 1);
    WT_CHECK(wt_poll_item_read(WT_POLL_GITHUB_ISSUES, j, &it, &err) == 0);
    WT_CHECK_STR(it.id, "7");
    WT_CHECK_STR(it.author, "alice");
    WT_CHECK_STR(it.url, "https://github.com/o/r/issues/7");
    WT_CHECK(it.is_pr == 1);
    WT_CHECK(wt_poll_item_has_label(&it, "bug") && !wt_poll_item_has_label(&it, "ai"));
    json_decref(j);
    j = json_loads(
        "{\"iid\":3,\"title\":\"MR\",\"web_url\":\"u\",\"author\":{\"username\":\"bob\"},"
        "\"labels\":[\"review\"],\"updated_at\":\"2024-01-01T00:00:00.000Z\","
        "\"sha\":\"abc123\"}",
        0, NULL);
    WT_CHECK(wt_poll_item_read(WT_POLL_GITLAB_MRS, j, &it, &err) == 0);
    WT_CHECK_STR(it.id, "3");
    WT_CHECK_STR(it.author, "bob");
    WT_CHECK_STR(it.sha, "abc123");
    WT_CHECK(wt_poll_item_has_label(&it, "review"));
    json_decref(j);
    j = json_loads("{\"number\":\"7\",\"updated_at\":\"x\"}", 0, NULL);
    WT_CHECK(wt_poll_item_read(WT_POLL_GITHUB_PRS, j, &it, &err) == -1);
    WT_CHECK(err.code == WT_EPROTO && strstr(err.msg, "'number'") != NULL);
    json_decref(j);
    j = json_loads("{\"number\":7}", 0, NULL);
    WT_CHECK(wt_poll_item_read(WT_POLL_GITHUB_PRS, j, &it, &err) == -1);
    WT_CHECK(strstr(err.msg, "updated_at") != NULL);
    json_decref(j);
    j = json_loads("[1]", 0, NULL);
    WT_CHECK(wt_poll_item_read(WT_POLL_GITHUB_PRS, j, &it, &err) == -1);
    json_decref(j);
}

/* Runs one decision; returns the action and leaves the state in *state. */
static wt_poll_action_t
decide(const wt_poll_rules_t *r, json_t *j, const char *remembered, int baseline,
       const char **event, char **state)
{
    wt_poll_item_t it;
    wt_poll_decision_t d;
    WT_CHECK(wt_poll_item_read(r->provider, j, &it, NULL) == 0);
    wt_poll_decide(r, &it, remembered, baseline, &d);
    if (event)
        *event = d.event;
    if (state)
        *state = d.state;
    else
        free(d.state);
    json_decref(j);
    return d.action;
}

static void
test_decide_new_and_restart(void)
{
    wt_poll_rules_t r;
    rules_init(&r, WT_POLL_GITHUB_ISSUES, WT_POLL_EV_OPENED);
    const char *ev = NULL;
    char *st = NULL;
    WT_CHECK(decide(&r, issue(1, "2024-01-01T00:00:00Z", "a", "[]", 0), NULL, 0, &ev, &st) ==
             WT_POLL_DISPATCH);
    WT_CHECK_STR(ev, "opened");
    WT_CHECK(st != NULL);
    /* The same item again (e.g. after a broker restart): nothing. */
    WT_CHECK(decide(&r, issue(1, "2024-01-01T00:00:00Z", "a", "[]", 0), st, 0, NULL, NULL) ==
             WT_POLL_SKIP);
    /* Updated, but events lacks updated: remembered, not dispatched. */
    WT_CHECK(decide(&r, issue(1, "2024-01-02T00:00:00Z", "a", "[]", 0), st, 0, NULL, NULL) ==
             WT_POLL_REMEMBER);
    /* With updated: dispatched once per updated_at. */
    r.events |= WT_POLL_EV_UPDATED;
    WT_CHECK(decide(&r, issue(1, "2024-01-02T00:00:00Z", "a", "[]", 0), st, 0, &ev, NULL) ==
             WT_POLL_DISPATCH);
    WT_CHECK_STR(ev, "updated");
    free(st);
    /* events 0 means opened only. */
    rules_init(&r, WT_POLL_GITHUB_ISSUES, 0);
    WT_CHECK(decide(&r, issue(2, "2024-01-01T00:00:00Z", "a", "[]", 0), NULL, 0, NULL, NULL) ==
             WT_POLL_DISPATCH);
    /* Only updated: a new item is remembered, its update dispatched. */
    rules_init(&r, WT_POLL_GITHUB_ISSUES, WT_POLL_EV_UPDATED);
    WT_CHECK(decide(&r, issue(2, "2024-01-01T00:00:00Z", "a", "[]", 0), NULL, 0, NULL, &st) ==
             WT_POLL_REMEMBER);
    WT_CHECK(decide(&r, issue(2, "2024-01-03T00:00:00Z", "a", "[]", 0), st, 0, NULL, NULL) ==
             WT_POLL_DISPATCH);
    free(st);
}

static void
test_decide_baseline_and_bad_state(void)
{
    wt_poll_rules_t r;
    rules_init(&r, WT_POLL_GITHUB_ISSUES, WT_POLL_EV_OPENED | WT_POLL_EV_UPDATED);
    char *st = NULL;
    WT_CHECK(decide(&r, issue(1, "2024-01-01T00:00:00Z", "a", "[]", 0), NULL, 1, NULL, &st) ==
             WT_POLL_REMEMBER);
    WT_CHECK(st != NULL && strstr(st, "2024-01-01T00:00:00Z") != NULL);
    free(st);
    WT_CHECK(decide(&r, issue(1, "2024-01-01T00:00:00Z", "a", "[]", 0), "{garbage", 0, NULL,
                    NULL) == WT_POLL_REMEMBER);
}

static void
test_decide_filters(void)
{
    wt_poll_rules_t r;
    rules_init(&r, WT_POLL_GITHUB_ISSUES, WT_POLL_EV_OPENED);
    /* PRs on the issues endpoint are skipped, but not by the PR poller. */
    WT_CHECK(decide(&r, issue(1, "t1", "a", "[]", 1), NULL, 0, NULL, NULL) == WT_POLL_SKIP);
    snprintf(r.exclude_authors[0], sizeof r.exclude_authors[0], "dependabot[bot]");
    r.n_exclude_authors = 1;
    WT_CHECK(decide(&r, issue(2, "t1", "dependabot[bot]", "[]", 0), NULL, 0, NULL, NULL) ==
             WT_POLL_SKIP);
    WT_CHECK(decide(&r, issue(3, "t1", "carol", "[]", 0), NULL, 0, NULL, NULL) == WT_POLL_DISPATCH);
    snprintf(r.label_filter[0], sizeof r.label_filter[0], "ai");
    snprintf(r.label_filter[1], sizeof r.label_filter[1], "triage");
    r.n_label_filter = 2;
    WT_CHECK(decide(&r, issue(4, "t1", "carol", "[{\"name\":\"bug\"}]", 0), NULL, 0, NULL, NULL) ==
             WT_POLL_SKIP);
    WT_CHECK(decide(&r, issue(5, "t1", "carol", "[{\"name\":\"bug\"},{\"name\":\"Triage\"}]", 0),
                    NULL, 0, NULL, NULL) == WT_POLL_DISPATCH);
    snprintf(r.not_labels[0], sizeof r.not_labels[0], "wontfix");
    r.n_not_labels = 1;
    WT_CHECK(decide(&r, issue(6, "t1", "carol", "[{\"name\":\"ai\"},{\"name\":\"wontfix\"}]", 0),
                    NULL, 0, NULL, NULL) == WT_POLL_SKIP);
    /* Baseline does not remember filtered-out items: gaining the label later
     * makes the item new. */
    WT_CHECK(decide(&r, issue(4, "t1", "carol", "[]", 0), NULL, 1, NULL, NULL) == WT_POLL_SKIP);
}

static void
test_decide_labeled(void)
{
    wt_poll_rules_t r;
    rules_init(&r, WT_POLL_GITHUB_PRS, WT_POLL_EV_OPENED | WT_POLL_EV_LABELED);
    char *st = NULL;
    const char *ev = NULL;
    json_t *pr = json_loads("{\"number\":9,\"updated_at\":\"t1\",\"head\":{\"sha\":\"s1\"},"
                            "\"labels\":[{\"name\":\"x\"}]}",
                            0, NULL);
    WT_CHECK(decide(&r, pr, NULL, 0, &ev, &st) == WT_POLL_DISPATCH);
    pr = json_loads("{\"number\":9,\"updated_at\":\"t2\",\"head\":{\"sha\":\"s1\"},"
                    "\"labels\":[{\"name\":\"x\"},{\"name\":\"y\"}]}",
                    0, NULL);
    WT_CHECK(decide(&r, pr, st, 0, &ev, NULL) == WT_POLL_DISPATCH);
    WT_CHECK_STR(ev, "labeled");
    /* Only the update time moved, no new label: remembered, not dispatched. */
    pr = json_loads("{\"number\":9,\"updated_at\":\"t2\",\"head\":{\"sha\":\"s1\"},"
                    "\"labels\":[{\"name\":\"x\"}]}",
                    0, NULL);
    WT_CHECK(decide(&r, pr, st, 0, &ev, NULL) == WT_POLL_REMEMBER);
    free(st);
}

static void
test_idem_key_and_context(void)
{
    wt_poll_item_t it;
    json_t *j = issue(42, "2024-05-01T10:00:00Z", "a", "[]", 0);
    WT_CHECK(wt_poll_item_read(WT_POLL_GITHUB_ISSUES, j, &it, NULL) == 0);
    char *k = wt_poll_idem_key("gh-issues", &it);
    WT_CHECK_STR(k, "poll:gh-issues:42:2024-05-01T10:00:00Z");
    free(k);
    char *c = wt_poll_context("gh-issues", WT_POLL_GITHUB_ISSUES, &it, "opened");
    json_t *cj = json_loads(c, 0, NULL);
    WT_CHECK(json_integer_value(json_object_get(cj, "number")) == 42);
    WT_CHECK_STR(json_string_value(json_object_get(cj, "url")), "https://github.com/o/r/issues/7");
    WT_CHECK_STR(json_string_value(json_object_get(cj, "event")), "opened");
    json_decref(cj);
    free(c);
    json_decref(j);
}

static void
test_parse_names(void)
{
    WT_CHECK(wt_poll_provider_parse("github_issues_poll") == WT_POLL_GITHUB_ISSUES);
    WT_CHECK(wt_poll_provider_parse("github_prs_poll") == WT_POLL_GITHUB_PRS);
    WT_CHECK(wt_poll_provider_parse("gitlab_poll") == WT_POLL_GITLAB_MRS);
    WT_CHECK(wt_poll_provider_parse("generic") == 0);
    WT_CHECK(wt_poll_event_parse("updated") == WT_POLL_EV_UPDATED);
    WT_CHECK(wt_poll_event_parse("labeled") == WT_POLL_EV_LABELED);
    WT_CHECK(wt_poll_event_parse("opened") == WT_POLL_EV_OPENED);
    WT_CHECK(wt_poll_event_parse("closed") == 0);
}

static void
test_not_before_in_the_monotonic_clock(void)
{
    /* A reset 20 s after the wall clock's now becomes mono + 20 s, whatever
     * the two clocks read: the wall clock converts once, then plays no part. */
    wt_poll_meta_t m;
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 403 Forbidden");
    feed(&m, "X-RateLimit-Remaining: 0");
    feed(&m, "X-RateLimit-Reset: 1700000020");
    int limited = 0;
    WT_CHECK(wt_poll_meta_not_before_mono(&m, 1700000000000LL, 5000, &limited) == 25000);
    WT_CHECK(limited == 1);
    /* The wall clock set back an hour when the answer comes: capped at 1 h. */
    WT_CHECK(wt_poll_meta_not_before_mono(&m, 1700000000000LL - 3600000, 5000, &limited) ==
             5000 + (int64_t)WT_POLL_MAX_WAIT_S * 1000);
    /* A reset already past (wall clock ahead): no wait, never before mono now. */
    WT_CHECK(wt_poll_meta_not_before_mono(&m, 1700000000000LL + 3600000, 5000, &limited) == 5000);
    /* Nothing forbids asking: mono now. */
    wt_poll_meta_init(&m);
    feed(&m, "HTTP/1.1 200 OK");
    WT_CHECK(wt_poll_meta_not_before_mono(&m, 1700000000000LL, 777, &limited) == 777);
}

WT_TEST_MAIN(WT_TEST(test_urls), WT_TEST(test_not_before_in_the_monotonic_clock),
             WT_TEST(test_meta_headers), WT_TEST(test_rate_limit_waits),
             WT_TEST(test_rate_limit_absurd_values), WT_TEST(test_same_origin),
             WT_TEST(test_item_read), WT_TEST(test_decide_new_and_restart),
             WT_TEST(test_decide_baseline_and_bad_state), WT_TEST(test_decide_filters),
             WT_TEST(test_decide_labeled), WT_TEST(test_idem_key_and_context),
             WT_TEST(test_parse_names))
