/* wt_broker_http - /healthz, /metrics and POST /webhook/<id>. Responses are
 * rendered from a copy of the stats taken under the lock, so the loop thread
 * is never held up by a slow scraper. Webhook bodies are collected up to the
 * triggers' limit (a larger Content-Length is answered 413 before reading)
 * and handed to wt_trigger_rt. */
#include "wt_broker_http.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_trigger_rt.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double wt_broker_lat_bounds[WT_BROKER_LAT_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

struct wt_broker_http {
    struct MHD_Daemon *daemon; /* owned */
    wt_broker_stats_t *stats;  /* borrowed */
    wt_trigger_rt_t *triggers; /* borrowed, or NULL: no webhooks */
};

/* A webhook request being read (MHD's per-connection pointer). */
typedef struct hook {
    wt_buf_t body; /* raw body, capped */
    int too_big;   /* the cap was hit: answer 413 */
} hook_t;

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    hook_t *h = *con_cls;
    if (h != NULL) {
        wt_buf_release(&h->body);
        free(h);
        *con_cls = NULL;
    }
}

void
wt_broker_stats_init(wt_broker_stats_t *self)
{
    memset(self, 0, sizeof *self);
    pthread_mutex_init(&self->lock, NULL);
}

void
wt_broker_stats_release(wt_broker_stats_t *self)
{
    pthread_mutex_destroy(&self->lock);
}

void
wt_broker_stats_observe(wt_broker_stats_t *self, double seconds)
{
    for (int i = 0; i < WT_BROKER_LAT_BUCKETS; i++)
        if (seconds <= wt_broker_lat_bounds[i]) {
            self->lat_bucket[i]++;
            break;
        }
    self->lat_count++;
    self->lat_sum_s += seconds;
}

static void
metric(wt_buf_t *b, const char *name, const char *type, const char *help, double v)
{
    wt_buf_printf(b, NULL, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name,
                  v);
}

static void
render_metrics(const wt_broker_stats_t *s, wt_buf_t *b)
{
    metric(b, "wt_queue_depth", "gauge", "Sessions waiting for a worker.", (double)s->queued);
    metric(b, "wt_queue_oldest_age_seconds", "gauge",
           "Age of the oldest queued session (autoscaling signal).", s->oldest_age_s);
    metric(b, "wt_sessions_active", "gauge", "Sessions assigned to workers.", (double)s->active);
    metric(b, "wt_workers_alive", "gauge", "Workers with a live heartbeat.", (double)s->workers);
    metric(b, "wt_slots_total", "gauge", "Session slots across live workers.",
           (double)s->slots_total);
    metric(b, "wt_slots_free", "gauge", "Free session slots across live workers.",
           (double)s->slots_free);
    metric(b, "wt_redis_up", "gauge", "1 when the last Redis call succeeded.", s->redis_up);
    metric(b, "wt_sessions_spawned_total", "counter", "Sessions accepted by intake.",
           (double)s->spawned);
    metric(b, "wt_spawn_duplicates_total", "counter",
           "SPAWNs answered from an earlier idempotency key.", (double)s->duplicates);
    metric(b, "wt_dispatches_total", "counter", "Sessions assigned to workers.",
           (double)s->dispatches);
    metric(b, "wt_sessions_requeued_total", "counter",
           "Sessions put back in the queue (lost worker or handback).", (double)s->requeued);
    metric(b, "wt_heartbeat_misses_total", "counter", "Workers declared dead.",
           (double)s->heartbeat_misses);
    metric(b, "wt_redis_errors_total", "counter", "Failed Redis calls.", (double)s->redis_errors);
    metric(b, "wt_bad_records_total", "counter", "Malformed session records found in Redis.",
           (double)s->bad_records);
    wt_buf_printf(b, NULL,
                  "# HELP wt_bad_frames_total Malformed or unknown messages received.\n"
                  "# TYPE wt_bad_frames_total counter\n"
                  "wt_bad_frames_total{socket=\"client\"} %llu\n"
                  "wt_bad_frames_total{socket=\"worker\"} %llu\n",
                  (unsigned long long)s->bad_client, (unsigned long long)s->bad_worker);
    wt_buf_printf(b, NULL,
                  "# HELP wt_dispatch_latency_seconds Time from intake to ASSIGN.\n"
                  "# TYPE wt_dispatch_latency_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < WT_BROKER_LAT_BUCKETS; i++) {
        cum += s->lat_bucket[i];
        wt_buf_printf(b, NULL, "wt_dispatch_latency_seconds_bucket{le=\"%g\"} %llu\n",
                      wt_broker_lat_bounds[i], (unsigned long long)cum);
    }
    wt_buf_printf(b, NULL,
                  "wt_dispatch_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
                  "wt_dispatch_latency_seconds_sum %.17g\n"
                  "wt_dispatch_latency_seconds_count %llu\n",
                  (unsigned long long)s->lat_count, s->lat_sum_s, (unsigned long long)s->lat_count);
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type, wt_buf_t *body)
{
    size_t n = body->len;
    char *p = wt_buf_detach(body);
    struct MHD_Response *r = MHD_create_response_from_buffer(n, p, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
plain(wt_broker_http_t *self, struct MHD_Connection *conn, unsigned status, const char *text)
{
    wt_buf_t body;
    wt_buf_init(&body, 1 << 20);
    wt_buf_puts(&body, text, NULL);
    wt_trigger_rt_count(self->triggers, (int)status);
    return reply(conn, status, "application/json", &body);
}

static enum MHD_Result
on_webhook(wt_broker_http_t *self, struct MHD_Connection *conn, const char *id, const char *method,
           const char *upload_data, size_t *upload_size, void **con_cls)
{
    size_t max = wt_trigger_rt_max_body(self->triggers);
    hook_t *h = *con_cls;
    if (h == NULL) {
        if (strcmp(method, "POST") != 0)
            return plain(self, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                         "{\"error\":\"webhooks take POST\"}\n");
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > max) {
            char msg[128];
            snprintf(msg, sizeof msg, "{\"error\":\"body larger than %zu bytes\"}\n", max);
            return plain(self, conn, MHD_HTTP_CONTENT_TOO_LARGE, msg);
        }
        h = wt_xcalloc(1, sizeof *h);
        wt_buf_init(&h->body, max);
        *con_cls = h;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        if (!h->too_big && wt_buf_append(&h->body, upload_data, *upload_size, NULL) != 0) {
            h->too_big = 1;
            wt_buf_release(&h->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (h->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "{\"error\":\"body larger than %zu bytes\"}\n", max);
        return plain(self, conn, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    }
    wt_webhook_req_t req = {
        .id = id,
        .sig_workrail = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-WorkRail-Signature"),
        .sig_github = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Hub-Signature-256"),
        .delivery = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-GitHub-Delivery"),
        .body = h->body.data ? h->body.data : "",
        .len = h->body.len,
    };
    wt_webhook_resp_t *resp = wt_xmalloc(sizeof *resp);
    wt_trigger_rt_webhook(self->triggers, &req, resp);
    wt_buf_t body;
    wt_buf_init(&body, 1 << 20);
    wt_buf_puts(&body, resp->body, NULL);
    size_t n = body.len;
    char *p = wt_buf_detach(&body);
    struct MHD_Response *r = MHD_create_response_from_buffer(n, p, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (resp->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", resp->retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    free(resp);
    return rc;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    wt_broker_http_t *self = cls;
    if (self->triggers != NULL && strncmp(url, "/webhook/", 9) == 0)
        return on_webhook(self, conn, url + 9, method, upload_data, upload_size, con_cls);
    wt_buf_t body;
    wt_buf_init(&body, 1 << 20);
    if (*upload_size != 0) { /* no route takes a body yet: discard it */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        wt_buf_puts(&body, "method not allowed\n", NULL);
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &body);
    }
    wt_broker_stats_t copy;
    pthread_mutex_lock(&self->stats->lock);
    memcpy(&copy, self->stats, sizeof copy);
    pthread_mutex_unlock(&self->stats->lock);
    if (strcmp(url, "/healthz") == 0) {
        wt_buf_printf(
            &body, NULL, "{\"status\":\"ok\",\"workers\":%lld,\"queued\":%lld,\"redis\":\"%s\"}\n",
            (long long)copy.workers, (long long)copy.queued, copy.redis_up ? "up" : "down");
        return reply(conn, MHD_HTTP_OK, "application/json", &body);
    }
    if (strcmp(url, "/metrics") == 0) {
        render_metrics(&copy, &body);
        if (self->triggers != NULL)
            wt_trigger_rt_metrics(self->triggers, &body);
        return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &body);
    }
    wt_buf_puts(&body, "not found\n", NULL);
    return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", &body);
}

int
wt_broker_http_parse_addr(const char *addr, void *out, wt_err_t *err)
{
    struct sockaddr_in *sa = out;
    memset(sa, 0, sizeof *sa);
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon - addr >= 64)
        return wt_err_set(err, WT_EINVAL, "bad http address '%s': expected ADDR:PORT", addr);
    char host[64];
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
        return wt_err_set(err, WT_EINVAL, "bad http address '%s': bad port", addr);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return wt_err_set(err, WT_EINVAL, "bad http address '%s': '%s' is not an IPv4 address",
                          addr, host);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

wt_broker_http_t *
wt_broker_http_start(const char *addr, wt_broker_stats_t *stats, wt_err_t *err)
{
    return wt_broker_http_start_with(addr, stats, NULL, err);
}

wt_broker_http_t *
wt_broker_http_start_with(const char *addr, wt_broker_stats_t *stats, wt_trigger_rt_t *triggers,
                          wt_err_t *err)
{
    struct sockaddr_in sa;
    if (wt_broker_http_parse_addr(addr, &sa, err) != 0)
        return NULL;
    wt_broker_http_t *self = wt_xcalloc(1, sizeof *self);
    self->stats = stats;
    self->triggers = triggers;
    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, ntohs(sa.sin_port), NULL, NULL,
        on_request, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (self->daemon == NULL) {
        free(self);
        wt_err_set(err, WT_EIO, "cannot listen for HTTP on %s (address in use?)", addr);
        return NULL;
    }
    return self;
}

void
wt_broker_http_stop(wt_broker_http_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    MHD_stop_daemon((*self_p)->daemon);
    free(*self_p);
    *self_p = NULL;
}
