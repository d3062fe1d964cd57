/* wt_broker_http - /healthz, /readyz, /metrics and POST /webhook/<id>.
 * /healthz is liveness (200 while serving, standby too); /readyz is 200 only
 * on the active broker with Redis up, so a Kubernetes Service in front of an
 * active and a standby broker routes to the active one. Responses are
 * rendered from a copy of the stats taken under the lock, so the loop thread
 * is never held up by a slow scraper. Webhook bodies are collected up to the
 * triggers' limit (a larger Content-Length is answered 413 before reading)
 * and handed to wt_trigger_rt. */
#include "wt_broker_http.h"

#include "wt_alloc.h"
#include "wt_broker_metrics.h"
#include "wt_buf.h"
#include "wt_httpd.h"
#include "wt_trigger_rt.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static enum MHD_Result
plain(wt_broker_http_t *self, struct MHD_Connection *conn, unsigned status, const char *text)
{
    wt_buf_t body;
    wt_buf_init(&body, 1 << 20);
    wt_buf_puts(&body, text, NULL);
    wt_trigger_rt_count(self->triggers, (int)status);
    return wt_httpd_reply(conn, status, "application/json", &body);
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
        .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
        .sig_pagerduty =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-PagerDuty-Signature"),
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
        return wt_httpd_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &body);
    }
    wt_broker_stats_t copy;
    pthread_mutex_lock(&self->stats->lock);
    memcpy(&copy, self->stats, sizeof copy);
    pthread_mutex_unlock(&self->stats->lock);
    if (strcmp(url, "/readyz") == 0) { /* only the active broker takes traffic (a Service) */
        int ok = copy.leader && copy.redis_up;
        wt_buf_printf(&body, NULL, "{\"status\":\"%s\",\"role\":\"%s\",\"redis\":\"%s\"}\n",
                      ok ? "ok" : "fail", copy.leader ? "active" : "standby",
                      copy.redis_up ? "up" : "down");
        return wt_httpd_reply(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                              "application/json", &body);
    }
    if (strcmp(url, "/healthz") == 0) {
        wt_buf_printf(
            &body, NULL,
            "{\"status\":\"ok\",\"role\":\"%s\",\"epoch\":%lld,\"workers\":%lld,\"queued\":%lld,"
            "\"redis\":\"%s\"}\n",
            copy.leader ? "active" : "standby", (long long)copy.leader_epoch,
            (long long)copy.workers, (long long)copy.queued, copy.redis_up ? "up" : "down");
        return wt_httpd_reply(conn, MHD_HTTP_OK, "application/json", &body);
    }
    if (strcmp(url, "/metrics") == 0) {
        wt_err_t err = {0};
        if (wt_broker_metrics_render(self->stats, &body, &err) != 0) {
            wt_buf_printf(&body, NULL, "cannot render metrics: %s\n", err.msg);
            return wt_httpd_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", &body);
        }
        if (self->triggers != NULL)
            wt_trigger_rt_metrics(self->triggers, &body);
        return wt_httpd_reply(conn, MHD_HTTP_OK, WT_BROKER_METRICS_CONTENT_TYPE, &body);
    }
    wt_buf_puts(&body, "not found\n", NULL);
    return wt_httpd_reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", &body);
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
    wt_broker_http_t *self = wt_xcalloc(1, sizeof *self);
    self->stats = stats;
    self->triggers = triggers;
    if ((self->daemon = wt_httpd_start(addr, 64, on_request, self, on_completed, err)) == NULL) {
        free(self);
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
