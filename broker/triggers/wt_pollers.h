/* wt_pollers - every poll trigger of a triggers.yml running in the broker:
 * one wt_poller thread each, firing through the trigger runtime (so
 * concurrencyMode, trigger_fired events and the fired counters apply as for
 * webhooks), and their counters for /metrics. */
#ifndef WT_POLLERS_H
#define WT_POLLERS_H

#include "wt_buf.h"
#include "wt_err.h"
#include "wt_trigger.h"
#include "wt_trigger_rt.h"

#include <stddef.h>

typedef struct wt_pollers wt_pollers_t;

/* Starts a poller for each github_issues_poll, github_prs_poll and
 * gitlab_poll trigger of ts (borrowed, and rt: both must outlive the set);
 * redis is the Redis URL. Returns a set (maybe empty), or NULL with err
 * naming the first trigger whose source is unusable (nothing is left
 * running then). */
wt_pollers_t *wt_pollers_start(const wt_triggers_t *ts, wt_trigger_rt_t *rt, const char *redis,
                               wt_err_t *err);
/* Stops every poller and frees the set. NULL-safe. */
void wt_pollers_stop(wt_pollers_t **self_p);
size_t wt_pollers_count(const wt_pollers_t *self);
/* Appends the wt_poll_* counters, labelled by trigger, in Prometheus text
 * format. self is a wt_pollers_t (void * to fit the runtime's hook). */
void wt_pollers_metrics(void *self, wt_buf_t *out);

#endif
