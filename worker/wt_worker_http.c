/* wt_worker_http - /healthz, /readyz and /metrics of one worker.
 *
 * Liveness and readiness are kept apart on purpose: Kubernetes restarts a
 * pod whose liveness fails, so liveness asks only "does this process's main
 * loop still turn" (a wedged loop is what a restart cures). Everything that
 * depends on the outside world (broker registered, Redis reachable) goes to
 * readiness, which only takes the pod out of rotation; an outage of Redis
 * or the broker therefore never becomes a crash loop of every worker.
 *
 * The samples carry no worker label: Prometheus adds the target's own
 * labels (instance, pod), and the worker name is on the broker's
 * per-worker families already. */
#include "wt_worker_http.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_httpd.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wt_worker_http {
    struct MHD_Daemon *daemon;       /* owned */
    wt_worker_health_t *health;      /* borrowed */
    wt_session_counters_t *counters; /* borrowed, may be NULL */
};

void
wt_worker_health_init(wt_worker_health_t *self, const char *name, int slots, int64_t stale_after_ms)
{
    memset(self, 0, sizeof *self);
    pthread_mutex_init(&self->lock, NULL);
    snprintf(self->name, sizeof self->name, "%s", name ? name : "");
    self->slots = slots;
    self->stale_after_ms = stale_after_ms;
    self->loop_beat_ms = wt_clock_mono_ms();
}

void
wt_worker_health_release(wt_worker_health_t *self)
{
    pthread_mutex_destroy(&self->lock);
}

int
wt_worker_health_live(const wt_worker_health_t *h, int64_t now_ms)
{
    return now_ms - h->loop_beat_ms <= h->stale_after_ms;
}

int
wt_worker_health_ready(const wt_worker_health_t *h)
{
    return h->registered && h->redis_up && !h->draining;
}

static void
gauge(wt_buf_t *b, wt_err_t *e, const char *name, const char *help, double v)
{
    wt_buf_printf(b, e, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

static void
counter(wt_buf_t *b, wt_err_t *e, const char *name, const char *help, uint64_t v)
{
    wt_buf_printf(b, e, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                  (unsigned long long)v);
}

static uint64_t
load(atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

int
wt_worker_http_render(const wt_worker_health_t *h, wt_session_counters_t *c, int64_t now_ms,
                      wt_buf_t *out, wt_err_t *err)
{
    size_t start = out->len;
    wt_err_t e = {0}; /* the first failed append (appends fail only at the cap) */
    gauge(out, &e, "wt_worker_up", "1 while the worker's main loop turns (liveness).",
          wt_worker_health_live(h, now_ms));
    gauge(out, &e, "wt_worker_ready",
          "1 when registered with an active broker, Redis reachable and not draining.",
          wt_worker_health_ready(h));
    gauge(out, &e, "wt_worker_registered", "1 when an active broker answers this worker.",
          h->registered);
    gauge(out, &e, "wt_worker_redis_up", "1 when the worker's last Redis write succeeded.",
          h->redis_up);
    gauge(out, &e, "wt_worker_draining", "1 after SIGTERM, while sessions wind down.", h->draining);
    gauge(out, &e, "wt_worker_loop_age_seconds", "Time since the main loop's last turn.",
          (double)(now_ms - h->loop_beat_ms) / 1000.0);
    gauge(out, &e, "wt_worker_slots", "Session slots of this worker.", h->slots);
    gauge(out, &e, "wt_worker_sessions_running", "Sessions running on this worker.", h->running);
    uint64_t flagged = c ? load(&c->stuck_flagged) : 0, ended = c ? load(&c->stuck_ended) : 0;
    gauge(out, &e, "wt_sessions_stuck",
          "Sessions running on this worker that reported agent_stuck (notify_only policy).",
          flagged > ended ? (double)(flagged - ended) : 0.0);
    counter(out, &e, "wt_delivery_failures_total",
            "Delivery attempts (push, PR/MR) that failed (delivery_failed events).",
            c ? load(&c->deliver_fails) : 0);
    counter(out, &e, "wt_worker_sessions_stuck_total", "Sessions that reported agent_stuck.",
            flagged);
    counter(out, &e, "wt_worker_prefetch_taken_total",
            "Sessions held by prefetch that a slot thread started itself as its session ended.",
            c ? load(&c->prefetch_taken) : 0);
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

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    wt_worker_http_t *self = cls;
    if (*upload_size != 0) { /* no route takes a body: discard it */
        *upload_size = 0;
        return MHD_YES;
    }
    wt_buf_t body;
    wt_buf_init(&body, 1 << 16);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        wt_buf_puts(&body, "method not allowed\n", NULL);
        return wt_httpd_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &body);
    }
    wt_worker_health_t h;
    pthread_mutex_lock(&self->health->lock);
    memcpy(&h, self->health, sizeof h);
    pthread_mutex_unlock(&self->health->lock);
    int64_t now = wt_clock_mono_ms();
    int live = wt_worker_health_live(&h, now), ready = wt_worker_health_ready(&h);
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0) {
        int ok = url[1] == 'h' ? live : live && ready;
        /* the name is not echoed: it would need JSON escaping, and the
         * orchestrator knows which pod it probed */
        wt_buf_printf(&body, NULL,
                      "{\"status\":\"%s\",\"live\":%s,\"ready\":%s,\"registered\":%s,"
                      "\"redis\":\"%s\",\"draining\":%s,\"running\":%d,\"slots\":%d}\n",
                      ok ? "ok" : "fail", live ? "true" : "false", ready ? "true" : "false",
                      h.registered ? "true" : "false", h.redis_up ? "up" : "down",
                      h.draining ? "true" : "false", h.running, h.slots);
        return wt_httpd_reply(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                              "application/json", &body);
    }
    if (strcmp(url, "/metrics") == 0) {
        wt_err_t err = {0};
        if (wt_worker_http_render(&h, self->counters, now, &body, &err) != 0) {
            wt_buf_printf(&body, NULL, "cannot render metrics: %s\n", err.msg);
            return wt_httpd_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", &body);
        }
        return wt_httpd_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &body);
    }
    wt_buf_puts(&body, "not found\n", NULL);
    return wt_httpd_reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", &body);
}

wt_worker_http_t *
wt_worker_http_start(const char *addr, wt_worker_health_t *health, wt_session_counters_t *counters,
                     wt_err_t *err)
{
    wt_worker_http_t *self = wt_xcalloc(1, sizeof *self);
    self->health = health;
    self->counters = counters;
    if ((self->daemon = wt_httpd_start(addr, 32, on_request, self, NULL, err)) == NULL) {
        free(self);
        return NULL;
    }
    return self;
}

void
wt_worker_http_stop(wt_worker_http_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    MHD_stop_daemon((*self_p)->daemon);
    free(*self_p);
    *self_p = NULL;
}
