/* wt_trig_incident - alert webhooks at run time (DESIGN.md section 18):
 * `provider: alertmanager` and `provider: pagerduty` deliveries, handled on
 * the broker's HTTP thread.
 *
 * One session per incident: an alert fingerprint (with its startsAt: an
 * alert that resolved and fires again is a new incident) or a PagerDuty
 * incident id. Repeats of a firing alert start nothing; a resolution whose
 * session is still queued or running is told to it: an `alert_resolved`
 * event on <p>events and an operator message (the session's tell list),
 * which the agent sees before its next turn. A resolution with no session,
 * or whose session ended, does nothing.
 *
 * Redis (prefix wt: by default):
 *   <p>trigger:<id>:incident:<key>  hash  version (startsAt), sid, resolved
 *                                         (30 days)
 * The SPAWN's idempotency key is "inc:<trigger>:<key>:<sha256(version)>",
 * so a broker that dies between SPAWN and recording the session starts
 * nothing twice when the alert is sent again. */
#ifndef WT_TRIG_INCIDENT_H
#define WT_TRIG_INCIDENT_H

#include "wt_buf.h"
#include "wt_trigger_rt.h"

typedef struct wt_trig_incident wt_trig_incident_t;

/* rt and its triggers are borrowed and outlive this; redis_url is copied. */
wt_trig_incident_t *wt_trig_incident_new(wt_trigger_rt_t *rt, const wt_triggers_t *ts,
                                         const char *redis_url);
void wt_trig_incident_destroy(wt_trig_incident_t **self_p);

/* Handles a delivery for an alertmanager or pagerduty trigger t (HTTP
 * thread only): 401 bad credentials or signature, 400 bad payload, 503
 * Redis or broker unavailable (Alertmanager and PagerDuty retry), else 200
 * with a JSON summary. With maxQueueDepth of the trigger's sessions queued a
 * new incident starts nothing: Alertmanager's alert is counted `deferred`
 * (its next repeat notification brings it again), PagerDuty gets 429 with
 * Retry-After (it redelivers). */
void wt_trig_incident_webhook(wt_trig_incident_t *self, const wt_trigger_t *t,
                              const wt_webhook_req_t *req, wt_webhook_resp_t *resp);

/* Appends wt_alert_* counters (per trigger) in Prometheus text format. */
void wt_trig_incident_metrics(wt_trig_incident_t *self, wt_buf_t *out);

#endif
