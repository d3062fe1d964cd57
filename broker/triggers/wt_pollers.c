/* wt_pollers - the broker's set of poll triggers. Starting is all or
 * nothing, so a bad source is a startup error rather than a trigger that
 * silently never fires. */
#include "wt_pollers.h"

#include "wt_alloc.h"
#include "wt_poller.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPAWN_TIMEOUT_MS 10000

struct wt_pollers {
    wt_poller_broker_t broker; /* SPAWN target shared by the pollers */
    wt_poller_t **v;           /* owned pollers */
    size_t n;                  /* count */
};

static int
is_poll(wt_trigger_provider_t p)
{
    return p == WT_TRIGGER_GITHUB_ISSUES_POLL || p == WT_TRIGGER_GITHUB_PRS_POLL ||
           p == WT_TRIGGER_GITLAB_POLL;
}

wt_pollers_t *
wt_pollers_start(const wt_triggers_t *ts, void *zctx, const char *clients_ep, const char *redis,
                 wt_err_t *err)
{
    wt_pollers_t *self = wt_xcalloc(1, sizeof *self);
    self->broker.zctx = zctx;
    self->broker.timeout_ms = SPAWN_TIMEOUT_MS;
    snprintf(self->broker.endpoint, sizeof self->broker.endpoint, "%s", clients_ep);
    size_t total = 0;
    for (size_t i = 0; ts != NULL && i < ts->n; i++)
        total += is_poll(ts->v[i].provider);
    self->v = wt_xcalloc(total + 1, sizeof *self->v);
    for (size_t i = 0; ts != NULL && i < ts->n; i++) {
        if (!is_poll(ts->v[i].provider))
            continue;
        wt_poller_cfg_t *cfg = wt_xmalloc(sizeof *cfg);
        wt_poller_t *p = NULL;
        if (wt_poller_cfg_from_trigger(cfg, &ts->v[i], redis, err) == 0)
            p = wt_poller_start(cfg, wt_poller_broker_spawn, &self->broker, err);
        explicit_bzero(cfg->token, sizeof cfg->token);
        free(cfg);
        if (p == NULL) {
            wt_pollers_stop(&self);
            return NULL;
        }
        self->v[self->n++] = p;
    }
    return self;
}

void
wt_pollers_stop(wt_pollers_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_pollers_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        wt_poller_stop(&self->v[i]);
    free(self->v);
    free(self);
    *self_p = NULL;
}

size_t
wt_pollers_count(const wt_pollers_t *self)
{
    return self ? self->n : 0;
}

void
wt_pollers_metrics(wt_pollers_t *self, wt_buf_t *out)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } m[] = {
        {"wt_poll_requests_total", "API requests sent by pollers",
         offsetof(wt_poller_stats_t, polls)},
        {"wt_poll_not_modified_total", "304 answers (ETag matched, no rate cost)",
         offsetof(wt_poller_stats_t, not_modified)},
        {"wt_poll_dispatched_total", "sessions started by pollers",
         offsetof(wt_poller_stats_t, dispatched)},
        {"wt_poll_errors_total", "failed polls (HTTP errors, timeouts, bad JSON, Redis)",
         offsetof(wt_poller_stats_t, errors)},
        {"wt_poll_rate_limited_total", "polls refused for rate limits",
         offsetof(wt_poller_stats_t, rate_limited)},
        {"wt_poll_bad_items_total", "page items that could not be read",
         offsetof(wt_poller_stats_t, bad_items)},
    };

    if (self == NULL || self->n == 0)
        return;
    wt_poller_stats_t *st = wt_xcalloc(self->n, sizeof *st);
    for (size_t i = 0; i < self->n; i++)
        wt_poller_stats(self->v[i], &st[i]);
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        wt_buf_printf(out, NULL, "# HELP %s %s\n# TYPE %s counter\n", m[k].name, m[k].help,
                      m[k].name);
        for (size_t i = 0; i < self->n; i++) {
            uint64_t v;
            memcpy(&v, (const char *)&st[i] + m[k].off, sizeof v);
            wt_buf_printf(out, NULL, "%s{trigger=\"%s\"} %llu\n", m[k].name,
                          wt_poller_trigger(self->v[i]), (unsigned long long)v);
        }
    }
    free(st);
}
