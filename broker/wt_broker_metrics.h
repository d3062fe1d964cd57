/* wt_broker_metrics - renders the broker's figures as Prometheus text
 * exposition format 0.0.4 (GET /metrics). The metric names, types and
 * meanings are listed in README.md (Metrics). */
#ifndef WT_BROKER_METRICS_H
#define WT_BROKER_METRICS_H

#include "wt_broker_stats.h"
#include "wt_buf.h"
#include "wt_err.h"

/* Content-Type of the rendering. */
#define WT_BROKER_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Copies stats under its lock and appends the exposition to out. Fails
 * (WT_ELIMIT) only when out's cap is too small. */
int wt_broker_metrics_render(wt_broker_stats_t *stats, wt_buf_t *out, wt_err_t *err);

#endif
