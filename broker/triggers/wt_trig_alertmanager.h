/* wt_trig_alertmanager - the I/O-free part of `provider: alertmanager`
 * (DESIGN.md section 18): reading Alertmanager's v4 webhook payload into one
 * entry per alert, and checking the receiver's http_config credentials.
 *
 * Each alert is keyed by its `fingerprint` (when it is 1-64 characters of
 * [A-Za-z0-9]) or else by "l" + the SHA-256 of its labels (sorted compact
 * JSON), so the same alert maps to the same session across repeats. The
 * template root of an alert is the alert object itself with the group (the
 * payload without `alerts`) under the key "$group", so goal and context
 * templates read {{$.labels.alertname}} and {{$group.commonLabels.team}}. */
#ifndef WT_TRIG_ALERTMANAGER_H
#define WT_TRIG_ALERTMANAGER_H

#include "wt_err.h"
#include "wt_trigger.h"

#include <jansson.h>
#include <stddef.h>

#define WT_AM_MAX_ALERTS   1000 /* alerts per delivery; more is refused */
#define WT_AM_MAX_ALERTS_S "1000"

typedef struct wt_am_alert {
    char key[72];    /* fingerprint or "l<sha256 of labels>" */
    int firing;      /* 1 firing, 0 resolved */
    char *starts_at; /* owned; "" when absent */
    json_t *root;    /* owned reference: template root (alert + "$group") */
} wt_am_alert_t;

typedef struct wt_am_batch {
    wt_am_alert_t *v; /* owned */
    size_t n;         /* count */
} wt_am_batch_t;

/* Parses a webhook body. 0 with *out filled (release it), or -1 with err
 * (WT_EINVAL) naming what is wrong and where: bad JSON, not an object,
 * version other than "4", no `alerts` list, an alert that is not an object,
 * without a `labels` object, or with a status other than firing/resolved. */
int wt_am_parse(const char *body, size_t len, wt_am_batch_t *out, wt_err_t *err);
void wt_am_batch_release(wt_am_batch_t *b);

/* 1 when authorization (the Authorization header, may be NULL) carries the
 * trigger's credentials: "Bearer <auth.bearer>" or "Basic base64(user:pass)";
 * compared in constant time (SHA-256 of both sides, CRYPTO_memcmp). A
 * trigger with no auth accepts anything. */
int wt_am_auth_ok(const wt_trigger_t *t, const char *authorization);

#endif
