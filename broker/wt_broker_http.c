/* wt_broker_http - /healthz and /metrics. Responses are rendered from a copy
 * of the stats taken under the lock, so the loop thread is never held up by
 * a slow scraper. */
#include "wt_broker_http.h"

#include "wt_alloc.h"
#include "wt_broker_metrics.h"
#include "wt_buf.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wt_broker_http {
    struct MHD_Daemon *daemon; /* owned */
    wt_broker_stats_t *stats;  /* borrowed */
};

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
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    wt_broker_http_t *self = cls;
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
        wt_err_t err = {0};
        if (wt_broker_metrics_render(self->stats, &body, &err) != 0) {
            wt_buf_printf(&body, NULL, "cannot render metrics: %s\n", err.msg);
            return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", &body);
        }
        return reply(conn, MHD_HTTP_OK, WT_BROKER_METRICS_CONTENT_TYPE, &body);
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
    struct sockaddr_in sa;
    if (wt_broker_http_parse_addr(addr, &sa, err) != 0)
        return NULL;
    wt_broker_http_t *self = wt_xcalloc(1, sizeof *self);
    self->stats = stats;
    self->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, ntohs(sa.sin_port),
                         NULL, NULL, on_request, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)64, MHD_OPTION_END);
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
