/* wt_trig_pagerduty - the I/O-free part of `provider: pagerduty` (DESIGN.md
 * section 18): PagerDuty V3 webhook signatures and events.
 *
 * X-PagerDuty-Signature holds one or more comma-separated "v1=<hex
 * HMAC-SHA256 of the body>"; during a secret rotation PagerDuty signs with
 * each live secret, and a trigger may list several secrets (hmacSecret and
 * hmacSecrets), so a delivery is genuine when any signature matches any
 * secret. The template root is the whole payload ({{$.event.data.title}}). */
#ifndef WT_TRIG_PAGERDUTY_H
#define WT_TRIG_PAGERDUTY_H

#include "wt_err.h"
#include "wt_trigger.h"

#include <jansson.h>
#include <stddef.h>

#define WT_PD_MAX_SIGS 16 /* signatures looked at per header */

/* 1 when some v1= signature of header matches body under one of t's
 * secrets (compared in constant time); 0 for none, a missing header, or a
 * trigger without secrets... which the caller treats as unsigned. */
int wt_pd_verify(const wt_trigger_t *t, const void *body, size_t len, const char *header);
/* 1 when t has at least one secret. */
int wt_pd_signed(const wt_trigger_t *t);

typedef struct wt_pd_event {
    char type[64];     /* event.event_type, e.g. incident.triggered */
    char incident[72]; /* event.data.id when 1-64 of [A-Za-z0-9], else "h<sha256>" */
    json_t *root;      /* owned: the payload */
} wt_pd_event_t;

/* Parses a body: 0 with *ev (release it), -1 with err (WT_EINVAL) for bad
 * JSON, no `event` object, no string `event_type`, or (for incident.*
 * events) no string `event.data.id`. */
int wt_pd_parse(const char *body, size_t len, wt_pd_event_t *ev, wt_err_t *err);
void wt_pd_event_release(wt_pd_event_t *ev);

#endif
