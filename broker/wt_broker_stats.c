/* wt_broker_stats - the broker's published figures (see the header). The
 * loop thread updates them as things happen (counters) and every 200 ms
 * (gauges, per-worker counters); the HTTP thread only copies them. */
#include "wt_broker_stats.h"

#include "wt_alloc.h"

#include <stdlib.h>
#include <string.h>

const double wt_broker_lat_bounds[WT_BROKER_LAT_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

const char *const wt_broker_outcome_names[WT_BROKER_OUTCOMES] = {
    "success", "error", "timeout", "stuck", "cancelled", "handback", "stale", "other"};

void
wt_broker_stats_init(wt_broker_stats_t *self)
{
    memset(self, 0, sizeof *self);
    pthread_mutex_init(&self->lock, NULL);
}

void
wt_broker_stats_release(wt_broker_stats_t *self)
{
    free(self->wstats);
    self->wstats = NULL;
    self->nwstats = self->capwstats = 0;
    free(self->unrt);
    self->unrt = NULL;
    self->nunrt = self->capunrt = 0;
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

wt_broker_outcome_t
wt_broker_stats_outcome(const char *outcome)
{
    for (int i = 0; outcome && i < WT_BROKER_OUT_OTHER; i++)
        if (strcmp(outcome, wt_broker_outcome_names[i]) == 0)
            return (wt_broker_outcome_t)i;
    return WT_BROKER_OUT_OTHER;
}

wt_broker_wstat_t *
wt_broker_stats_workers(wt_broker_stats_t *self, size_t n)
{
    if (n > self->capwstats) {
        self->capwstats = n < 16 ? 16 : n * 2;
        self->wstats = wt_xrealloc(self->wstats, self->capwstats * sizeof *self->wstats);
    }
    self->nwstats = n;
    return self->wstats;
}

wt_broker_unroutable_t *
wt_broker_stats_unroutable(wt_broker_stats_t *self, size_t n)
{
    if (n > self->capunrt) {
        self->capunrt = n < 8 ? 8 : n * 2;
        self->unrt = wt_xrealloc(self->unrt, self->capunrt * sizeof *self->unrt);
    }
    self->nunrt = n;
    return self->unrt;
}

void
wt_broker_stats_copy(wt_broker_stats_t *self, wt_broker_stats_t *out)
{
    pthread_mutex_lock(&self->lock);
    memcpy(out, self, sizeof *out);
    out->wstats = NULL;
    out->capwstats = out->nwstats;
    if (out->nwstats) {
        out->wstats = wt_xmalloc(out->nwstats * sizeof *out->wstats);
        memcpy(out->wstats, self->wstats, out->nwstats * sizeof *out->wstats);
    }
    out->unrt = NULL;
    out->capunrt = out->nunrt;
    if (out->nunrt) {
        out->unrt = wt_xmalloc(out->nunrt * sizeof *out->unrt);
        memcpy(out->unrt, self->unrt, out->nunrt * sizeof *out->unrt);
    }
    pthread_mutex_unlock(&self->lock);
}

void
wt_broker_stats_copy_release(wt_broker_stats_t *copy)
{
    free(copy->wstats);
    copy->wstats = NULL;
    copy->nwstats = copy->capwstats = 0;
    free(copy->unrt);
    copy->unrt = NULL;
    copy->nunrt = copy->capunrt = 0;
}
