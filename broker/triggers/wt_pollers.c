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

/* What one poller's spawn callback needs; used on that poller's thread only. */
typedef struct slot {
    wt_trigger_rt_t *rt;        /* borrowed runtime */
    const wt_trigger_t *t;      /* borrowed trigger */
    wt_trigger_rt_conn_t *conn; /* owned: the poller thread's connections */
    wt_poller_t *poller;        /* owned */
} slot_t;

struct wt_pollers {
    slot_t *v; /* owned slots */
    size_t n;  /* started */
};

static int
fire(void *arg, const wt_poller_spawn_t *s, char *sid, size_t cap, wt_err_t *err)
{
    slot_t *sl = arg;
    json_t *detail = json_pack("{s:s, s:s, s:s}", "item", s->item, "event", s->event, "url",
                               s->url ? s->url : "");
    long waiting = 0;
    int rc = wt_trigger_rt_fire(sl->rt, sl->conn, sl->t, s->key, s->goal, s->context_json, detail,
                                sid, cap, &waiting, err);
    json_decref(detail);
    if (rc == 0 && sid[0] == '\0')
        snprintf(sid, cap, "(serial queue position %ld)", waiting);
    return rc;
}

static int
is_poll(wt_trigger_provider_t p)
{
    return p == WT_TRIGGER_GITHUB_ISSUES_POLL || p == WT_TRIGGER_GITHUB_PRS_POLL ||
           p == WT_TRIGGER_GITLAB_POLL;
}

wt_pollers_t *
wt_pollers_start(const wt_triggers_t *ts, wt_trigger_rt_t *rt, const char *redis, wt_err_t *err)
{
    wt_pollers_t *self = wt_xcalloc(1, sizeof *self);
    size_t total = 0;
    for (size_t i = 0; ts != NULL && i < ts->n; i++)
        total += is_poll(ts->v[i].provider);
    self->v = wt_xcalloc(total + 1, sizeof *self->v);
    for (size_t i = 0; ts != NULL && i < ts->n; i++) {
        if (!is_poll(ts->v[i].provider))
            continue;
        slot_t *sl = &self->v[self->n];
        sl->rt = rt;
        sl->t = &ts->v[i];
        sl->conn = wt_trigger_rt_conn_new();
        wt_poller_cfg_t *cfg = wt_xmalloc(sizeof *cfg);
        /* TEST ONLY, as for cron (the broker warns when it is set). */
        const char *clock_file = getenv("WORKTRAIN_TEST_CLOCK_FILE");
        if (wt_poller_cfg_from_trigger(cfg, &ts->v[i], redis, err) == 0) {
            if (clock_file != NULL)
                snprintf(cfg->clock_file, sizeof cfg->clock_file, "%s", clock_file);
            sl->poller = wt_poller_start(cfg, fire, sl, err);
        }
        explicit_bzero(cfg->token, sizeof cfg->token);
        free(cfg);
        self->n++;
        if (sl->poller == NULL) {
            wt_pollers_stop(&self);
            return NULL;
        }
    }
    return self;
}

void
wt_pollers_stop(wt_pollers_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_pollers_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        wt_poller_stop(&self->v[i].poller); /* joins the thread before its conn goes */
        wt_trigger_rt_conn_destroy(&self->v[i].conn);
    }
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
wt_pollers_metrics(void *arg, wt_buf_t *out)
{
    wt_pollers_t *self = arg;

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
        wt_poller_stats(self->v[i].poller, &st[i]);
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        wt_buf_printf(out, NULL, "# HELP %s %s\n# TYPE %s counter\n", m[k].name, m[k].help,
                      m[k].name);
        for (size_t i = 0; i < self->n; i++) {
            uint64_t v;
            memcpy(&v, (const char *)&st[i] + m[k].off, sizeof v);
            wt_buf_printf(out, NULL, "%s{trigger=\"%s\"} %llu\n", m[k].name,
                          wt_poller_trigger(self->v[i].poller), (unsigned long long)v);
        }
    }
    free(st);
}
