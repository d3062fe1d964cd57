/* Unit tests of wt_trig_alertmanager and wt_trig_pagerduty: Alertmanager v4
 * payloads (fingerprint or label-hash keys, $group in templates, every
 * malformed shape refused with what and where), bearer and basic auth;
 * PagerDuty V3 signatures (several v1= values, several secrets: rotation)
 * and events. */
#include "wt_jpath.h"
#include "wt_test.h"
#include "wt_trig_alertmanager.h"
#include "wt_trig_pagerduty.h"
#include "wt_trigger.h"
#include "wt_webhook.h"

#include <stdlib.h>
#include <string.h>

static const char am_body[] =
    "{\"receiver\":\"wt\",\"status\":\"firing\",\"alerts\":["
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"HighLatency\",\"instance\":\"db1\"},"
    "\"annotations\":{\"summary\":\"p99 over 2s\"},\"startsAt\":\"2026-12-02T19:00:00Z\","
    "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://p/g\","
    "\"fingerprint\":\"a1b2c3d4e5f60718\"},"
    "{\"status\":\"resolved\",\"labels\":{\"instance\":\"db2\",\"alertname\":\"Down\"},"
    "\"annotations\":{},\"startsAt\":\"2026-12-02T18:00:00Z\",\"endsAt\":\"2026-12-02T19:01:00Z\"}"
    "],\"groupLabels\":{\"alertname\":\"HighLatency\"},\"commonLabels\":{\"team\":\"db\"},"
    "\"commonAnnotations\":{},\"externalURL\":\"http://am\",\"version\":\"4\","
    "\"groupKey\":\"{}:{alertname=\\\"HighLatency\\\"}\",\"truncatedAlerts\":0}";

static wt_triggers_t *
load(const char *y)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_trigger_opts_t o = {NULL, NULL};
    wt_triggers_t *ts = wt_triggers_load_buffer(y, strlen(y), "t.yml", &o, &d);
    if (ts == NULL)
        wt_diags_print(&d, stderr);
    wt_diags_release(&d);
    return ts;
}

static void
test_am_parse(void)
{
    wt_am_batch_t b;
    wt_err_t err = {0};
    WT_CHECK(wt_am_parse(am_body, strlen(am_body), &b, &err) == 0);
    WT_CHECK(b.n == 2);
    WT_CHECK_STR(b.v[0].key, "a1b2c3d4e5f60718");
    WT_CHECK(b.v[0].firing == 1 && b.v[1].firing == 0);
    WT_CHECK_STR(b.v[0].starts_at, "2026-12-02T19:00:00Z");
    /* no fingerprint: the labels' hash, the same whatever their order */
    WT_CHECK(b.v[1].key[0] == 'l' && strlen(b.v[1].key) == 65);
    char *g = wt_jpath_render("{{$.labels.alertname}} on {{$.labels.instance}}: "
                              "{{$.annotations.summary}} since {{$.startsAt}} team "
                              "{{$group.commonLabels.team}}",
                              b.v[0].root, 4096, &err);
    WT_CHECK_STR(g, "HighLatency on db1: p99 over 2s since 2026-12-02T19:00:00Z team db");
    free(g);
    const char *other = "{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"Down\","
                        "\"instance\":\"db2\"}}]}";
    wt_am_batch_t b2;
    WT_CHECK(wt_am_parse(other, strlen(other), &b2, &err) == 0);
    WT_CHECK_STR(b2.v[0].key, b.v[1].key);
    WT_CHECK_STR(b2.v[0].starts_at, "");
    wt_am_batch_release(&b2);
    wt_am_batch_release(&b);

    static const struct {
        const char *body, *want;
    } bad[] = {
        {"{\"alerts\":[", "bad JSON"},
        {"[1]", "not a JSON object"},
        {"{\"version\":\"3\",\"alerts\":[]}", "'version' must be \"4\""},
        {"{\"version\":4,\"alerts\":[]}", "'version' must be \"4\""},
        {"{\"alerts\":{}}", "no 'alerts' list"},
        {"{\"alerts\":[{\"status\":\"firing\",\"labels\":{}},7]}", "alerts[1] is not an object"},
        {"{\"alerts\":[{\"status\":\"firing\"}]}", "alerts[0] has no 'labels'"},
        {"{\"alerts\":[{\"status\":\"gone\",\"labels\":{}}]}", "alerts[0]: status must be"},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = (wt_err_t){0};
        WT_CHECK(wt_am_parse(bad[i].body, strlen(bad[i].body), &b, &err) == -1);
        WT_CHECK(strstr(err.msg, bad[i].want) != NULL);
        WT_CHECK(b.v == NULL && b.n == 0);
    }
    /* an odd fingerprint is not used as a Redis key: the labels' hash is */
    const char *odd =
        "{\"alerts\":[{\"status\":\"firing\",\"labels\":{},\"fingerprint\":\"a:b*\"}]}";
    WT_CHECK(wt_am_parse(odd, strlen(odd), &b, &err) == 0 && b.v[0].key[0] == 'l');
    wt_am_batch_release(&b);
}

static void
test_am_auth(void)
{
    setenv("WT_T_TOKEN", "tok-123", 1);
    wt_triggers_t *ts = load("triggers:\n"
                             "  - {id: a, provider: alertmanager, workflowId: w, goal: g,\n"
                             "     auth: {bearer: $WT_T_TOKEN}}\n"
                             "  - {id: b, provider: alertmanager, workflowId: w, goal: g,\n"
                             "     auth: {basic: {user: am, password: 'pa:ss'}}}\n"
                             "  - {id: c, provider: alertmanager, workflowId: w, goal: g}\n");
    WT_CHECK(ts != NULL && ts->n == 3);
    WT_CHECK(wt_am_auth_ok(&ts->v[0], "Bearer tok-123"));
    WT_CHECK(wt_am_auth_ok(&ts->v[0], "bearer tok-123"));
    WT_CHECK(!wt_am_auth_ok(&ts->v[0], "Bearer tok-1234"));
    WT_CHECK(!wt_am_auth_ok(&ts->v[0], "Bearer tok-12"));
    WT_CHECK(!wt_am_auth_ok(&ts->v[0], "Basic dG9rLTEyMw=="));
    WT_CHECK(!wt_am_auth_ok(&ts->v[0], NULL));
    /* base64("am:pa:ss") = YW06cGE6c3M= */
    WT_CHECK(wt_am_auth_ok(&ts->v[1], "Basic YW06cGE6c3M="));
    WT_CHECK(!wt_am_auth_ok(&ts->v[1], "Basic YW06cGE6c3g="));
    WT_CHECK(!wt_am_auth_ok(&ts->v[1], "Basic YW06cGE6c3M"));
    WT_CHECK(!wt_am_auth_ok(&ts->v[1], "Basic !!!!"));
    WT_CHECK(!wt_am_auth_ok(&ts->v[1], "Bearer pa:ss"));
    WT_CHECK(wt_am_auth_ok(&ts->v[2], NULL)); /* no auth configured */
    wt_triggers_destroy(&ts);
}

static const char pd_body[] =
    "{\"event\":{\"id\":\"01DEN4HLG7IOPLK06WRTDHOYTC\",\"event_type\":\"incident.triggered\","
    "\"resource_type\":\"incident\",\"occurred_at\":\"2026-12-02T19:00:00.000Z\","
    "\"agent\":null,\"client\":null,\"data\":{\"id\":\"Q2MAGRBEXN1UYE\",\"type\":\"incident\","
    "\"self\":\"https://api.pagerduty.com/incidents/Q2MAGRBEXN1UYE\",\"number\":7,"
    "\"status\":\"triggered\",\"title\":\"Disk full on db1\",\"urgency\":\"high\","
    "\"service\":{\"id\":\"PF9KMXH\",\"summary\":\"API Service\"}}}}";

static void
test_pd(void)
{
    setenv("WT_T_PD1", "old-secret", 1);
    setenv("WT_T_PD2", "new-secret", 1);
    wt_triggers_t *ts = load("triggers:\n"
                             "  - {id: pd, provider: pagerduty, workflowId: w, goal: g,\n"
                             "     hmacSecret: $WT_T_PD1, hmacSecrets: [$WT_T_PD2]}\n"
                             "  - {id: one, provider: pagerduty, workflowId: w, goal: g,\n"
                             "     hmacSecret: $WT_T_PD2}\n");
    WT_CHECK(ts != NULL && ts->n == 2);
    size_t n = strlen(pd_body);
    char s_old[65], s_new[65], s_other[65], h[400];
    wt_webhook_sign("old-secret", pd_body, n, s_old);
    wt_webhook_sign("new-secret", pd_body, n, s_new);
    wt_webhook_sign("someone-else", pd_body, n, s_other);
    snprintf(h, sizeof h, "v1=%s", s_old);
    WT_CHECK(wt_pd_verify(&ts->v[0], pd_body, n, h));
    WT_CHECK(!wt_pd_verify(&ts->v[1], pd_body, n, h));    /* only the new secret there */
    snprintf(h, sizeof h, "v1=%s,v1=%s", s_other, s_new); /* rotation: two signatures */
    WT_CHECK(wt_pd_verify(&ts->v[0], pd_body, n, h));
    WT_CHECK(wt_pd_verify(&ts->v[1], pd_body, n, h));
    snprintf(h, sizeof h, " v1=%s , v1=%s ", s_other, s_old);
    WT_CHECK(wt_pd_verify(&ts->v[0], pd_body, n, h));
    snprintf(h, sizeof h, "v1=%s", s_other);
    WT_CHECK(!wt_pd_verify(&ts->v[0], pd_body, n, h));
    WT_CHECK(!wt_pd_verify(&ts->v[0], pd_body, n - 1, "v1=00"));
    snprintf(h, sizeof h, "v0=%s", s_old);
    WT_CHECK(!wt_pd_verify(&ts->v[0], pd_body, n, h));
    WT_CHECK(!wt_pd_verify(&ts->v[0], pd_body, n, NULL));
    WT_CHECK(!wt_pd_verify(&ts->v[0], pd_body, n, ",,,"));

    wt_pd_event_t ev;
    wt_err_t err = {0};
    WT_CHECK(wt_pd_parse(pd_body, n, &ev, &err) == 0);
    WT_CHECK_STR(ev.type, "incident.triggered");
    WT_CHECK_STR(ev.incident, "Q2MAGRBEXN1UYE");
    char *g = wt_jpath_render("{{$.event.data.title}} ({{$.event.data.service.summary}})", ev.root,
                              4096, &err);
    WT_CHECK_STR(g, "Disk full on db1 (API Service)");
    free(g);
    wt_pd_event_release(&ev);
    const char *bad[][2] = {
        {"{", "bad JSON"},
        {"{\"x\":1}", "no 'event' object"},
        {"{\"event\":{\"event_type\":3}}", "event_type"},
        {"{\"event\":{\"event_type\":\"incident.resolved\",\"data\":{}}}", "event.data.id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = (wt_err_t){0};
        WT_CHECK(wt_pd_parse(bad[i][0], strlen(bad[i][0]), &ev, &err) == -1);
        WT_CHECK(strstr(err.msg, bad[i][1]) != NULL);
    }
    const char *other = "{\"event\":{\"event_type\":\"service.updated\",\"data\":{}}}";
    WT_CHECK(wt_pd_parse(other, strlen(other), &ev, &err) == 0 && ev.incident[0] == '\0');
    wt_pd_event_release(&ev);
    wt_triggers_destroy(&ts);
}

static void
test_loader(void)
{
    wt_diags_t d;
    const char *y = "triggers:\n"
                    "  - {id: s, provider: redis_stream, workflowId: w, goal: g,\n"
                    "     source: {stream: jobs, group: wt, redis: 'redis://127.0.0.1:1',\n"
                    "              claimIdleSeconds: 5}, maxQueueDepth: 10}\n"
                    "  - {id: s2, provider: redis_stream, workflowId: w, goal: g, source: {}}\n"
                    "  - {id: a, provider: alertmanager, workflowId: w, goal: g, hmacSecret: x}\n"
                    "  - {id: p, provider: generic, workflowId: w, goal: g, auth: {bearer: t}}\n"
                    "  - {id: q, provider: alertmanager, workflowId: w, goal: g,\n"
                    "     auth: {bearer: t, basic: {user: u, password: p}}}\n"
                    "  - {id: r, provider: alertmanager, workflowId: w, goal: g,\n"
                    "     auth: {basic: {user: u}}}\n"
                    "  - {id: t, provider: pagerduty, workflowId: w, goal: g,\n"
                    "     concurrencyMode: serial}\n";
    wt_diags_init(&d);
    wt_trigger_opts_t o = {NULL, NULL};
    WT_CHECK(wt_triggers_load_buffer(y, strlen(y), "t.yml", &o, &d) == NULL);
    int seen = 0;
    for (int i = 0; i < d.n; i++) {
        seen |= strstr(d.v[i].msg, "needs source.stream and source.group") ? 1 : 0;
        seen |= strstr(d.v[i].msg, "alertmanager sends no signature") ? 2 : 0;
        seen |= strstr(d.v[i].msg, "'auth' is for the alertmanager provider") ? 4 : 0;
        seen |= strstr(d.v[i].msg, "bearer or basic, not both") ? 8 : 0;
        seen |= strstr(d.v[i].msg, "needs 'user' and 'password'") ? 16 : 0;
        seen |= strstr(d.v[i].msg, "pagerduty takes concurrencyMode parallel") ? 32 : 0;
    }
    if (seen != 63)
        wt_diags_print(&d, stderr);
    WT_CHECK(seen == 63);
    wt_diags_release(&d);
    wt_triggers_t *ts = load("triggers:\n"
                             "  - {id: s, provider: redis_stream, workflowId: w, goal: g,\n"
                             "     source: {stream: jobs, group: wt, claimIdleSeconds: 5}}\n");
    WT_CHECK(ts && ts->v[0].provider == WT_TRIGGER_REDIS_STREAM);
    WT_CHECK_STR(ts->v[0].source.stream, "jobs");
    WT_CHECK_STR(ts->v[0].source.group, "wt");
    WT_CHECK(ts->v[0].source.redis == NULL && ts->v[0].source.claim_idle_seconds == 5);
    WT_CHECK_STR(wt_trigger_provider_name(ts->v[0].provider), "redis_stream");
    wt_triggers_destroy(&ts);
}

WT_TEST_MAIN(WT_TEST(test_am_parse), WT_TEST(test_am_auth), WT_TEST(test_pd), WT_TEST(test_loader))
