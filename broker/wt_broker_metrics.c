/* wt_broker_metrics - Prometheus text format for the broker's figures.
 *
 * Exposition rules kept here (prometheus.io, "Exposition formats", 0.0.4):
 * every family gets one # HELP and one # TYPE line before its samples, and
 * its samples are contiguous; counters end in _total; a histogram has
 * cumulative _bucket{le="..."} samples in increasing order ending with
 * le="+Inf" (equal to _count), then _sum and _count; label values escape
 * backslash, double quote and newline. Worker names are the only label
 * values from outside: bytes that are not valid UTF-8 become '?', and two
 * live workers with the same name are summed into one series, so the output
 * never holds a duplicate series. Rendering works on a copy of the stats,
 * taken under their lock, and runs on the HTTP thread. */
#include "wt_broker_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
family(wt_buf_t *b, wt_err_t *e, const char *name, const char *type, const char *help)
{
    wt_buf_printf(b, e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
gauge(wt_buf_t *b, wt_err_t *e, const char *name, const char *help, double v)
{
    family(b, e, name, "gauge", help);
    wt_buf_printf(b, e, "%s %.17g\n", name, v);
}

static void
counter(wt_buf_t *b, wt_err_t *e, const char *name, const char *help, uint64_t v)
{
    family(b, e, name, "counter", help);
    wt_buf_printf(b, e, "%s %llu\n", name, (unsigned long long)v);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned min;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, min = 0x80;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, min = 0x800;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = p[0] & (0xff >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Appends s as a label value (without the quotes). */
static void
label_value(wt_buf_t *b, wt_err_t *e, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0) {
        size_t k = utf8_len(p, n);
        if (*p == '\\')
            wt_buf_puts(b, "\\\\", e);
        else if (*p == '"')
            wt_buf_puts(b, "\\\"", e);
        else if (*p == '\n')
            wt_buf_puts(b, "\\n", e);
        else if (k == 0)
            wt_buf_puts(b, "?", e), k = 1;
        else
            wt_buf_append(b, p, k, e);
        p += k;
        n -= k;
    }
}

static void
latency_histogram(wt_buf_t *b, wt_err_t *e, const wt_broker_stats_t *s)
{
    const char *name = "wt_dispatch_latency_seconds";
    family(b, e, name, "histogram",
           "Time from intake (or requeue) of a session to its ASSIGN being sent.");
    uint64_t cum = 0;
    for (int i = 0; i < WT_BROKER_LAT_BUCKETS; i++) {
        cum += s->lat_bucket[i];
        wt_buf_printf(b, e, "%s_bucket{le=\"%g\"} %llu\n", name, wt_broker_lat_bounds[i],
                      (unsigned long long)cum);
    }
    wt_buf_printf(b, e, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.17g\n%s_count %llu\n", name,
                  (unsigned long long)s->lat_count, name, s->lat_sum_s, name,
                  (unsigned long long)s->lat_count);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(((const wt_broker_wstat_t *)a)->name, ((const wt_broker_wstat_t *)b)->name);
}

/* Sorts by name and sums entries that share one; returns the new count. */
static size_t
merge_workers(wt_broker_wstat_t *w, size_t n)
{
    if (n == 0)
        return 0;
    qsort(w, n, sizeof *w, by_name);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(w[i].name, w[k].name) != 0) {
            w[++k] = w[i];
            continue;
        }
        w[k].c.llm_calls += w[i].c.llm_calls;
        w[k].c.input_tokens += w[i].c.input_tokens;
        w[k].c.output_tokens += w[i].c.output_tokens;
        w[k].c.tool_calls += w[i].c.tool_calls;
        w[k].c.llm_retries += w[i].c.llm_retries;
    }
    return k + 1;
}

static void
worker_counters(wt_buf_t *b, wt_err_t *e, const wt_broker_wstat_t *w, size_t n)
{
    static const struct {
        const char *name;
        const char *help;
        size_t off;
    } fams[] = {
        {"wt_worker_llm_calls_total", "LLM calls a live worker made since it started.",
         offsetof(wt_broker_wcount_t, llm_calls)},
        {"wt_worker_input_tokens_total", "Input tokens a live worker's LLM calls used.",
         offsetof(wt_broker_wcount_t, input_tokens)},
        {"wt_worker_output_tokens_total", "Output tokens a live worker's LLM calls produced.",
         offsetof(wt_broker_wcount_t, output_tokens)},
        {"wt_worker_tool_calls_total", "Tool calls a live worker ran.",
         offsetof(wt_broker_wcount_t, tool_calls)},
        {"wt_worker_llm_retries_total", "LLM call retries (429, 5xx, timeouts) of a live worker.",
         offsetof(wt_broker_wcount_t, llm_retries)},
    };

    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        family(b, e, fams[f].name, "counter", fams[f].help);
        for (size_t i = 0; i < n; i++) {
            uint64_t v;
            memcpy(&v, (const char *)&w[i].c + fams[f].off, sizeof v);
            wt_buf_printf(b, e, "%s{worker=\"", fams[f].name);
            label_value(b, e, w[i].name);
            wt_buf_printf(b, e, "\"} %llu\n", (unsigned long long)v);
        }
    }
}

/* One sample per queued class no live worker can run; the reason label
 * says why (a missing workflow, or missing labels). */
static void
unroutable(wt_buf_t *b, wt_err_t *e, const wt_broker_unroutable_t *u, size_t n)
{
    family(b, e, "wt_queue_unroutable", "gauge",
           "Queued sessions no live worker can run (workflow not offered, or labels missing).");
    for (size_t i = 0; i < n; i++) {
        wt_buf_puts(b, "wt_queue_unroutable{workflow=\"", e);
        label_value(b, e, u[i].workflow);
        wt_buf_puts(b, "\",require=\"", e);
        label_value(b, e, u[i].require);
        wt_buf_puts(b, "\",reason=\"", e);
        label_value(b, e, u[i].reason);
        wt_buf_printf(b, e, "\"} %lld\n", (long long)u[i].waiting);
    }
}

static void
render(const wt_broker_stats_t *s, wt_buf_t *b, wt_err_t *e)
{
    gauge(b, e, "wt_queue_depth", "Sessions waiting for a worker.", (double)s->queued);
    gauge(b, e, "wt_queue_oldest_age_seconds",
          "Age of the oldest queued session, 0 when none waits (autoscaling signal).",
          s->oldest_age_s);
    unroutable(b, e, s->unrt, s->nunrt);
    family(b, e, "wt_sessions", "gauge", "Sessions by status, from the broker's state.");
    wt_buf_printf(b, e, "wt_sessions{status=\"queued\"} %lld\n", (long long)s->queued);
    wt_buf_printf(b, e, "wt_sessions{status=\"running\"} %lld\n", (long long)s->running);
    gauge(b, e, "wt_sessions_active", "Sessions assigned to live workers.", (double)s->active);
    gauge(b, e, "wt_workers_alive", "Workers with a live heartbeat.", (double)s->workers);
    gauge(b, e, "wt_workers", "Workers with a live heartbeat (the name scalers and alerts use).",
          (double)s->workers);
    gauge(b, e, "wt_slots_total", "Session slots across live workers.", (double)s->slots_total);
    gauge(b, e, "wt_slots_free", "Free session slots across live workers.", (double)s->slots_free);
    gauge(b, e, "wt_redis_up", "1 when the last Redis call succeeded.", s->redis_up);
    gauge(b, e, "wt_broker_active",
          "1 when this broker holds the leader lease and dispatches, 0 while standby.", s->leader);
    gauge(b, e, "wt_broker_leader_epoch", "Epoch of the leader lease held, 0 while standby.",
          (double)s->leader_epoch);
    counter(b, e, "wt_broker_fenced_total",
            "Writes Redis refused because this broker's leader epoch was no longer current.",
            s->fenced);
    counter(b, e, "wt_broker_takeovers_total", "Times this broker became the active one.",
            s->takeovers);
    counter(b, e, "wt_broker_stepdowns_total",
            "Times this broker found its lease gone and became standby.", s->stepdowns);
    counter(b, e, "wt_broker_not_active_total",
            "Client and worker requests answered NOT_ACTIVE while standby.", s->not_active);
    counter(b, e, "wt_sessions_spawned_total", "Sessions accepted by intake.", s->spawned);
    counter(b, e, "wt_spawn_duplicates_total", "SPAWNs answered from an earlier idempotency key.",
            s->duplicates);
    family(b, e, "wt_spawns_refused_total", "counter",
           "SPAWNs refused: invalid, or of a workflow no worker ever offered.");
    wt_buf_printf(b, e,
                  "wt_spawns_refused_total{reason=\"invalid\"} %llu\n"
                  "wt_spawns_refused_total{reason=\"unknown_workflow\"} %llu\n",
                  (unsigned long long)s->refused, (unsigned long long)s->refused_unknown);
    counter(b, e, "wt_dispatches_total", "Sessions assigned to workers (ASSIGNs sent).",
            s->dispatches);
    counter(b, e, "wt_sessions_resumed_total",
            "ASSIGNs of a session that had been assigned before (requeued, or attempt > 1).",
            s->resumed);
    counter(b, e, "wt_sessions_requeued_total",
            "Sessions put back in the queue (lost worker, handback, lost ASSIGN).", s->requeued);
    counter(b, e, "wt_sessions_expired_total",
            "Ended sessions deleted by the retention sweep (--retain).", s->expired);
    family(b, e, "wt_sessions_finished_total", "counter",
           "Sessions reported FINISHED by workers, by outcome (plus queued sessions cancelled).");
    for (int i = 0; i < WT_BROKER_OUTCOMES; i++)
        wt_buf_printf(b, e, "wt_sessions_finished_total{outcome=\"%s\"} %llu\n",
                      wt_broker_outcome_names[i], (unsigned long long)s->finished[i]);
    counter(b, e, "wt_heartbeat_misses_total", "Workers declared dead after missed heartbeats.",
            s->heartbeat_misses);
    counter(b, e, "wt_deadletters_total",
            "Sessions that used up --max-attempts and were recorded in the deadletter stream.",
            s->deadletters);
    counter(b, e, "wt_worker_reregistrations_total",
            "READYs that list running sessions from a worker the broker did not know (dropped as "
            "dead, or known only before a broker restart).",
            s->reregistrations);
    counter(
        b, e, "wt_sessions_reattached_total",
        "Requeued sessions given back, under their old lease, to the worker still running them.",
        s->reattached);
    counter(b, e, "wt_redis_errors_total", "Failed Redis calls.", s->redis_errors);
    counter(b, e, "wt_redis_master_changes_total",
            "Times a redis-sentinel:// URL resolved to a new master address.",
            s->redis_master_changes);
    counter(b, e, "wt_redis_sentinel_disagreements_total",
            "Sentinel lookups where the sentinels named different masters (the majority is "
            "taken; without one the connect fails and is retried).",
            s->sentinel_disagreements);
    counter(b, e, "wt_spawns_unreplicated_total",
            "Spawns answered UNAVAILABLE because fewer than --redis-min-replicas confirmed.",
            s->unreplicated);
    counter(b, e, "wt_bad_records_total", "Malformed session records found in Redis.",
            s->bad_records);
    family(b, e, "wt_bad_frames_total", "counter", "Malformed or unknown messages received.");
    wt_buf_printf(b, e,
                  "wt_bad_frames_total{socket=\"client\"} %llu\n"
                  "wt_bad_frames_total{socket=\"worker\"} %llu\n",
                  (unsigned long long)s->bad_client, (unsigned long long)s->bad_worker);
    family(b, e, "wt_auth_failures_total", "counter",
           "Peers refused by CURVE authentication (unknown or revoked key, or a key of the other "
           "socket's kind).");
    wt_buf_printf(b, e,
                  "wt_auth_failures_total{socket=\"client\"} %llu\n"
                  "wt_auth_failures_total{socket=\"worker\"} %llu\n",
                  (unsigned long long)s->auth_fail_client, (unsigned long long)s->auth_fail_worker);
    latency_histogram(b, e, s);
    worker_counters(b, e, s->wstats, s->nwstats);
}

int
wt_broker_metrics_render(wt_broker_stats_t *stats, wt_buf_t *out, wt_err_t *err)
{
    wt_broker_stats_t copy;
    wt_broker_stats_copy(stats, &copy);
    copy.nwstats = merge_workers(copy.wstats, copy.nwstats);
    size_t start = out->len;
    wt_err_t e = {0}; /* the first failed append (appends fail only at the cap) */
    render(&copy, out, &e);
    wt_broker_stats_copy_release(&copy);
    if (e.code != WT_OK) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        if (err)
            *err = e;
        return -1;
    }
    return 0;
}
