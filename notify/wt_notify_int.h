/* wt_notify_int - the pure parts of wt_notify (retry policy, Slack text,
 * timestamps), declared for wt_notify_test.c. */
#ifndef WT_NOTIFY_INT_H
#define WT_NOTIFY_INT_H

#include "wt_notify.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    WT_NOTIFY_DELIVERED = 0, /* 2xx */
    WT_NOTIFY_RETRY = 1,     /* 408, 429, 5xx, or no HTTP answer (status 0) */
    WT_NOTIFY_FAIL = 2,      /* any other status: retrying cannot help */
} wt_notify_class_t;

/* Classifies an HTTP status; 0 means the request got no answer. */
wt_notify_class_t wt_notify_classify(long status);

/* Delay before try attempt+1 after try `attempt` (1-based) failed: full
 * jitter over min(backoff_ms * 2^(attempt-1), backoff_cap_ms), drawn from
 * rnd. A Retry-After (retry_after_ms >= 0) on a 429 or 503 replaces it,
 * capped at backoff_cap_ms. */
int64_t wt_notify_delay_ms(const wt_notify_cfg_t *cfg, int attempt, long status,
                           int64_t retry_after_ms, uint64_t rnd);

/* The one-line Slack summary of body (caller frees): the body's "message"
 * if any, else "WorkTrain <event>", then session, workflow, outcome, goal
 * and detail when present; newlines become spaces, long fields are cut. */
char *wt_notify_slack_text(const char *event, json_t *body);

#endif
