/* Unit tests of the /metrics rendering: families, label escaping, merged
 * worker names, the histogram's cumulative buckets and the size cap. The
 * strict format parser lives in tests/integration/test_metrics.py. */
#include "wt_broker_metrics.h"

#include "wt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void
fill(wt_broker_stats_t *s)
{
    s->queued = 7;
    s->running = 3;
    s->oldest_age_s = 1.5;
    s->dispatches = 4;
    s->finished[wt_broker_stats_outcome("success")] = 2;
    s->finished[wt_broker_stats_outcome("no-such-outcome")] = 1;
    wt_broker_stats_observe(s, 0.0004); /* first bucket */
    wt_broker_stats_observe(s, 0.003);  /* le=0.005 */
    wt_broker_stats_observe(s, 0.003);
    wt_broker_stats_observe(s, 60); /* only +Inf */
    wt_broker_wstat_t *w = wt_broker_stats_workers(s, 3);
    memset(w, 0, 3 * sizeof *w);
    snprintf(w[0].name, sizeof w[0].name, "w2");
    w[0].c.llm_calls = 5;
    w[0].c.input_tokens = 100;
    snprintf(w[1].name, sizeof w[1].name, "a\"b\\c\nd\xff");
    w[1].c.tool_calls = 1;
    snprintf(w[2].name, sizeof w[2].name, "w2"); /* same name, other identity */
    w[2].c.llm_calls = 6;
    w[2].c.input_tokens = 11;
}

static void
test_render(void)
{
    wt_broker_stats_t s;
    wt_broker_stats_init(&s);
    fill(&s);
    wt_buf_t b;
    wt_buf_init(&b, 1 << 20);
    wt_err_t err = {0};
    WT_CHECK(wt_broker_metrics_render(&s, &b, &err) == 0);
    const char *t = wt_buf_str(&b);
    WT_CHECK(strstr(t, "\nwt_queue_depth 7\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_sessions{status=\"queued\"} 7\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_sessions{status=\"running\"} 3\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_sessions_finished_total{outcome=\"success\"} 2\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_sessions_finished_total{outcome=\"other\"} 1\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_sessions_finished_total{outcome=\"stuck\"} 0\n") != NULL);
    /* one HELP and one TYPE per family */
    WT_CHECK(count(t, "# TYPE wt_sessions gauge\n") == 1);
    WT_CHECK(count(t, "# HELP wt_sessions ") == 1);
    WT_CHECK(count(t, "# TYPE wt_worker_llm_calls_total counter\n") == 1);
    WT_CHECK(count(t, "# TYPE ") == count(t, "# HELP "));
    /* histogram: cumulative, +Inf equals _count */
    WT_CHECK(strstr(t, "wt_dispatch_latency_seconds_bucket{le=\"0.001\"} 1\n") != NULL);
    WT_CHECK(strstr(t, "wt_dispatch_latency_seconds_bucket{le=\"0.0025\"} 1\n") != NULL);
    WT_CHECK(strstr(t, "wt_dispatch_latency_seconds_bucket{le=\"0.005\"} 3\n") != NULL);
    WT_CHECK(strstr(t, "wt_dispatch_latency_seconds_bucket{le=\"10\"} 3\n") != NULL);
    WT_CHECK(strstr(t, "wt_dispatch_latency_seconds_bucket{le=\"+Inf\"} 4\n") != NULL);
    WT_CHECK(strstr(t, "wt_dispatch_latency_seconds_count 4\n") != NULL);
    /* workers: same names summed into one series, label escaped, bad UTF-8 replaced */
    WT_CHECK(strstr(t, "wt_worker_llm_calls_total{worker=\"w2\"} 11\n") != NULL);
    WT_CHECK(strstr(t, "wt_worker_input_tokens_total{worker=\"w2\"} 111\n") != NULL);
    WT_CHECK(count(t, "{worker=\"w2\"}") == 5);
    WT_CHECK(strstr(t, "wt_worker_tool_calls_total{worker=\"a\\\"b\\\\c\\nd?\"} 1\n") != NULL);
    /* every line ends in a newline; no raw control characters inside */
    WT_CHECK(b.len > 0 && t[b.len - 1] == '\n');
    int ctl = 0;
    for (size_t i = 0; i < b.len; i++)
        if ((unsigned char)t[i] < 0x20 && t[i] != '\n')
            ctl = 1;
    WT_CHECK(!ctl);
    /* the stats themselves are unchanged (the merge worked on a copy) */
    WT_CHECK(s.nwstats == 3);
    wt_buf_release(&b);
    wt_broker_stats_release(&s);
}

static void
test_cap_fails_whole(void)
{
    wt_broker_stats_t s;
    wt_broker_stats_init(&s);
    fill(&s);
    wt_buf_t b;
    wt_buf_init(&b, 2000);
    wt_buf_puts(&b, "x", NULL);
    wt_err_t err = {0};
    WT_CHECK(wt_broker_metrics_render(&s, &b, &err) == -1);
    WT_CHECK(err.code == WT_ELIMIT);
    WT_CHECK(b.len == 1 && strcmp(wt_buf_str(&b), "x") == 0);
    wt_buf_release(&b);
    wt_broker_stats_release(&s);
}

static void
test_no_workers(void)
{
    wt_broker_stats_t s;
    wt_broker_stats_init(&s);
    wt_buf_t b;
    wt_buf_init(&b, 1 << 20);
    WT_CHECK(wt_broker_metrics_render(&s, &b, NULL) == 0);
    const char *t = wt_buf_str(&b);
    WT_CHECK(strstr(t, "# TYPE wt_worker_tool_calls_total counter\n") != NULL);
    WT_CHECK(strstr(t, "{worker=") == NULL);
    WT_CHECK(strstr(t, "wt_queue_oldest_age_seconds 0\n") != NULL);
    wt_buf_release(&b);
    wt_broker_stats_release(&s);
}

static void
test_unroutable_classes(void)
{
    wt_broker_stats_t s;
    wt_broker_stats_init(&s);
    wt_broker_unroutable_t *u = wt_broker_stats_unroutable(&s, 2);
    memset(u, 0, 2 * sizeof *u);
    snprintf(u[0].workflow, sizeof u[0].workflow, "gone");
    snprintf(u[0].reason, sizeof u[0].reason, "no live worker offers workflow 'gone'");
    u[0].waiting = 3;
    snprintf(u[1].workflow, sizeof u[1].workflow, "two-step");
    snprintf(u[1].require, sizeof u[1].require, "gpu,ssd");
    snprintf(u[1].reason, sizeof u[1].reason, "say \"why\"");
    u[1].waiting = 1;
    wt_buf_t b;
    wt_buf_init(&b, 1 << 20);
    WT_CHECK(wt_broker_metrics_render(&s, &b, NULL) == 0);
    const char *t = wt_buf_str(&b);
    WT_CHECK(count(t, "# TYPE wt_queue_unroutable gauge\n") == 1);
    WT_CHECK(strstr(t, "\nwt_queue_unroutable{workflow=\"gone\",require=\"\",reason=\"no live "
                       "worker offers workflow 'gone'\"} 3\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_queue_unroutable{workflow=\"two-step\",require=\"gpu,ssd\","
                       "reason=\"say \\\"why\\\"\"} 1\n") != NULL);
    wt_buf_release(&b);
    wt_broker_stats_release(&s);
}

/* The names DESIGN.md section 16 promises to scalers and alert rules
 * (deploy/prometheus/alerts.yml, deploy/k8s KEDA) with the figures behind them. */
static void
test_scaler_names(void)
{
    wt_broker_stats_t s;
    wt_broker_stats_init(&s);
    s.queued = 5;
    s.oldest_age_s = 42.5;
    s.workers = 2;
    s.slots_free = 3;
    s.deadletters = 4;
    s.heartbeat_misses = 6;
    wt_buf_t b;
    wt_buf_init(&b, 1 << 20);
    WT_CHECK(wt_broker_metrics_render(&s, &b, NULL) == 0);
    const char *t = wt_buf_str(&b);
    WT_CHECK(strstr(t, "\nwt_queue_depth 5\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_queue_oldest_age_seconds 42.5\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_workers 2\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_slots_free 3\n") != NULL);
    WT_CHECK(strstr(t, "# TYPE wt_deadletters_total counter\nwt_deadletters_total 4\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_heartbeat_misses_total 6\n") != NULL);
    wt_buf_release(&b);
    wt_broker_stats_release(&s);
}

WT_TEST_MAIN(WT_TEST(test_render), WT_TEST(test_scaler_names), WT_TEST(test_cap_fails_whole),
             WT_TEST(test_no_workers), WT_TEST(test_unroutable_classes))
