/* wt_webhook - the I/O-free part of a webhook delivery: signature check,
 * dispatchCondition, and the goal and context a payload produces. */
#ifndef WT_WEBHOOK_H
#define WT_WEBHOOK_H

#include "wt_err.h"
#include "wt_trigger.h"

#include <jansson.h>
#include <stddef.h>

#define WT_WEBHOOK_MAX_GOAL 65536 /* rendered goal cap (bytes) */

/* 1 when header (hex HMAC-SHA256 of body under secret, optional "sha256="
 * prefix, any hex case) matches, compared in constant time; 0 otherwise,
 * also for a missing or malformed header and for an empty secret. */
int wt_webhook_verify(const char *secret, const void *body, size_t len, const char *header);
/* Lower-case hex HMAC-SHA256 of body (65 bytes with the NUL). */
void wt_webhook_sign(const char *secret, const void *body, size_t len, char out[65]);
/* Lower-case hex SHA-256 of data. */
void wt_webhook_sha256_hex(const void *data, size_t len, char out[65]);

/* 1 when every dispatchCondition of t holds for payload (none: 1). On 0,
 * why (may be NULL) says which failed. */
int wt_webhook_condition(const wt_trigger_t *t, json_t *payload, char *why, size_t cap);

/* The session a payload asks for: *goal (goalTemplate rendered, else the
 * payload's top-level "goal" string, else the fixed goal) and *context_json
 * (a JSON object: contextMapping values, absent paths left out, and
 * "agentConfig" with model / modelTier / stallTimeoutSeconds when set).
 * Both are the caller's to free. Fails (WT_EINVAL / WT_ELIMIT) when the goal
 * renders empty or too long, or the context is longer than a SPAWN string
 * field (WT_PROTO_MAX_STR). */
int wt_webhook_build(const wt_trigger_t *t, json_t *payload, char **goal, char **context_json,
                     wt_err_t *err);

#endif
