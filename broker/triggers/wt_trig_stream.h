/* wt_trig_stream - `provider: redis_stream` (DESIGN.md section 18): queue-fed
 * intake from any producer that can XADD.
 *
 * One thread per trigger reads source.stream with consumer group
 * source.group (created at the stream's start when missing) on source.redis
 * (default: the broker's Redis). Each entry is mapped to a session: a field
 * `payload` holding JSON is the template root, else the flat fields are (an
 * object of strings); goalTemplate, contextMapping and dispatchCondition
 * apply as for webhooks. The SPAWN's idempotency key is the entry id
 * ("rs:<trigger>:<id>"), and the entry is XACKed only after the broker
 * answered SPAWNED (the session is durable), so a broker killed at any
 * point starts every entry's session exactly once. Entries left pending by
 * a dead consumer are claimed (XAUTOCLAIM) after source.claimIdleSeconds
 * (default 30). An entry that cannot be mapped (payload not JSON, empty
 * goal, context too large, refused by the broker) is copied to
 * <stream>:deadletter with fields `id`, `trigger`, `reason` and its own
 * fields, then XACKed; one that fails the dispatchCondition is XACKed.
 * Backpressure: while maxQueueDepth of the trigger's sessions are queued,
 * the thread reads nothing. A standby broker (another holds the leader
 * lease) reads nothing either. */
#ifndef WT_TRIG_STREAM_H
#define WT_TRIG_STREAM_H

#include "wt_buf.h"
#include "wt_err.h"
#include "wt_trigger.h"
#include "wt_trigger_rt.h"

#include <hiredis/hiredis.h>
#include <jansson.h>

#define WT_STREAM_BATCH          100   /* entries per read */
#define WT_STREAM_CLAIM_IDLE_S   30    /* default claimIdleSeconds */
#define WT_STREAM_MAX_DEADLETTER 10000 /* approximate MAXLEN of the dead-letter stream */

typedef struct wt_trig_streams wt_trig_streams_t;

/* Starts a reader per redis_stream trigger of ts (rt and ts borrowed, they
 * outlive the set); redis is the broker's URL. Returns the set (maybe
 * empty), or NULL with err when a source.redis URL is unusable. */
wt_trig_streams_t *wt_trig_streams_start(wt_trigger_rt_t *rt, const wt_triggers_t *ts,
                                         const char *redis, wt_err_t *err);
/* Stops the threads and frees. NULL-safe. */
void wt_trig_streams_stop(wt_trig_streams_t **self_p);
/* Appends wt_stream_entries_total{trigger,outcome}. NULL-safe. */
void wt_trig_streams_metrics(wt_trig_streams_t *self, wt_buf_t *out);

/* The template root of an entry's field/value pairs (a hiredis array):
 * the JSON in field `payload`, else an object of the fields. NULL with
 * why (bad JSON) when it cannot be read. Exposed for tests and fuzzing. */
json_t *wt_trig_stream_root(const redisReply *fields, char *why, size_t cap);

#endif
