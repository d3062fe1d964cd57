/* wt_outbox - the Redis outbox of notifications: every notification a
 * process wants to send is stored before its first try, so a process that
 * dies with deliveries pending does not lose them; any process with the same
 * target configured delivers them (at least once).
 *
 * Layout (prefix p, "wt:" by default):
 *   p notify:outbox:<target>  zset  entry id by the Unix ms it is due (Redis
 *                                   TIME); one per target, "webhook" | "slack"
 *   p notify:<id>             hash  event target body attempts origin owner
 *                                   created_ms last_error; expires after
 *                                   WT_OUTBOX_TTL_S
 * One entry per (notification, target). target is the name of a configured
 * target ("webhook" | "slack"), never its URL: URLs are secrets and each
 * delivering process resolves its own. The entry id (a ULID) is the
 * idempotency key sent with every try. A claim moves the entry's due time
 * lease_ms ahead (the lease) and counts an attempt, so two live processes
 * never try it at once, and one that dies mid-try loses it when the lease
 * ends. Each call takes the caller's wt_redis_t (one per thread). */
#ifndef WT_OUTBOX_H
#define WT_OUTBOX_H

#include "wt_err.h"
#include "wt_redis.h"
#include "wt_store.h"

#include <stddef.h>
#include <stdint.h>

#define WT_OUTBOX_TTL_S (7 * 86400) /* an entry nobody can deliver is dropped after this */

/* One claimed entry (strings owned by the struct). */
typedef struct wt_outbox_entry {
    char id[32];     /* ULID: the idempotency key */
    char target[16]; /* "webhook" | "slack" */
    char event[64];  /* notification name */
    char origin[32]; /* token of the process that stored it */
    char *body;      /* JSON text, owned (free) */
    int attempts;    /* tries so far, this one included */
} wt_outbox_entry_t;

/* The outbox over one store (its Redis connection and prefix), with its
 * Lua scripts. Embedded by value; nothing to release. */
typedef struct wt_outbox {
    wt_store_t *store;       /* borrowed */
    wt_redis_script_t claim; /* claim_lua */
    wt_redis_script_t later; /* later_lua */
    unsigned next;           /* round robin over the targets of a claim */
} wt_outbox_t;

void wt_outbox_init(wt_outbox_t *self, wt_store_t *store);
/* Stores one entry due now; fills id (cap >= 27). */
int wt_outbox_put(wt_outbox_t *self, const char *event, const char *target, const char *body,
                  const char *origin, char *id, size_t cap, wt_err_t *err);
/* Claims the first due entry whose target is one of targets[0..n): 1 with
 * *e filled (release with wt_outbox_entry_release), 0 when none is due, -1
 * with err. owner names the claimant until the entry is finished. */
int wt_outbox_claim(wt_outbox_t *self, const char *const *targets, int n, const char *owner,
                    int64_t lease_ms, wt_outbox_entry_t *e, wt_err_t *err);
/* Makes a claimed entry due again after delay_ms, unless another process
 * claimed it since (its lease ran out): then nothing changes. */
int wt_outbox_later(wt_outbox_t *self, const wt_outbox_entry_t *e, const char *owner,
                    int64_t delay_ms, const char *last_error, wt_err_t *err);
/* Removes an entry (delivered, or given up). */
int wt_outbox_done(wt_outbox_t *self, const wt_outbox_entry_t *e, wt_err_t *err);
/* Number of entries of target, due or not. */
int64_t wt_outbox_size(wt_outbox_t *self, const char *target, wt_err_t *err);
void wt_outbox_entry_release(wt_outbox_entry_t *e);

#endif
