/* wt_trig_incident - alertmanager and pagerduty deliveries: one session per
 * incident, resolutions told to the running session. */
#include "wt_trig_incident.h"

#include "wt_alloc.h"
#include "wt_jpath.h"
#include "wt_log.h"
#include "wt_redis.h"
#include "wt_store.h"
#include "wt_trig_alertmanager.h"
#include "wt_trig_pagerduty.h"
#include "wt_webhook.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_TTL_S (30 * 86400)

enum { C_STARTED, C_REPEAT, C_TOLD, C_IGNORED, C_REJECTED, C_BAD, C_DEFERRED, C_N };

static const char *const cnames[C_N] = {"started",          "repeat",   "resolved_told",
                                        "resolved_ignored", "rejected", "bad_payload",
                                        "deferred"};

struct wt_trig_incident {
    wt_trigger_rt_t *rt;        /* borrowed */
    const wt_triggers_t *ts;    /* borrowed */
    char redis_url[512];        /* copy */
    wt_redis_t *redis;          /* HTTP thread's, lazily connected */
    wt_store_t store;           /* over redis */
    wt_trigger_rt_conn_t *conn; /* HTTP thread's SPAWN connection */
    pthread_mutex_t lock;       /* guards counts */
    uint64_t (*counts)[C_N];    /* per trigger */
};

wt_trig_incident_t *
wt_trig_incident_new(wt_trigger_rt_t *rt, const wt_triggers_t *ts, const char *redis_url)
{
    wt_trig_incident_t *self = wt_xcalloc(1, sizeof *self);
    self->rt = rt;
    self->ts = ts;
    snprintf(self->redis_url, sizeof self->redis_url, "%s", redis_url);
    self->conn = wt_trigger_rt_conn_new();
    self->counts = wt_xcalloc(ts->n + 1, sizeof *self->counts);
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void
wt_trig_incident_destroy(wt_trig_incident_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_trig_incident_t *self = *self_p;
    wt_trigger_rt_conn_destroy(&self->conn);
    wt_redis_destroy(&self->redis);
    pthread_mutex_destroy(&self->lock);
    free(self->counts);
    free(self);
    *self_p = NULL;
}

static void
count(wt_trig_incident_t *self, const wt_trigger_t *t, int what)
{
    pthread_mutex_lock(&self->lock);
    self->counts[t - self->ts->v][what]++;
    pthread_mutex_unlock(&self->lock);
}

void
wt_trig_incident_metrics(wt_trig_incident_t *self, wt_buf_t *out)
{
    int any = 0;
    for (size_t i = 0; i < self->ts->n; i++)
        any |= self->ts->v[i].provider == WT_TRIGGER_ALERTMANAGER ||
               self->ts->v[i].provider == WT_TRIGGER_PAGERDUTY;
    if (!any)
        return;
    wt_buf_printf(
        out, NULL,
        "# HELP wt_alert_total Alert and incident webhook outcomes by trigger "
        "(started, repeat, resolved_told, resolved_ignored, rejected, bad_payload, deferred).\n"
        "# TYPE wt_alert_total counter\n");
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->ts->n; i++) {
        const wt_trigger_t *t = &self->ts->v[i];
        if (t->provider != WT_TRIGGER_ALERTMANAGER && t->provider != WT_TRIGGER_PAGERDUTY)
            continue;
        for (int k = 0; k < C_N; k++)
            wt_buf_printf(out, NULL, "wt_alert_total{trigger=\"%s\",outcome=\"%s\"} %llu\n", t->id,
                          cnames[k], (unsigned long long)self->counts[i][k]);
    }
    pthread_mutex_unlock(&self->lock);
}

static int
ready(wt_trig_incident_t *self, wt_err_t *err)
{
    if (self->redis == NULL) {
        self->redis = wt_redis_new(self->redis_url, 2000, err);
        if (self->redis == NULL)
            return -1;
        wt_store_init(&self->store, self->redis, NULL);
    }
    return 0;
}

static char *
map_key(wt_trig_incident_t *self, char *out, size_t cap, const wt_trigger_t *t, const char *key)
{
    return wt_store_key(&self->store, out, cap, "trigger:%s:incident:%s", t->id, key);
}

/* Starts the session of incident key (version: what makes a new incident
 * of the same key) unless it has one. *started 1 when this call started
 * it; sid gets the session ("" when the dispatchCondition said no).
 * Returns 1, starting nothing, when maxQueueDepth of the trigger's
 * sessions are queued. */
static int
incident_open(wt_trig_incident_t *self, const wt_trigger_t *t, const char *key, const char *version,
              json_t *root, json_t *detail, char *sid, size_t cap, int *started, wt_err_t *err)
{
    *started = 0;
    sid[0] = '\0';
    char mk[256];
    map_key(self, mk, sizeof mk, t, key);
    redisReply *r = wt_redis_command(self->redis, err, "HMGET %s version sid", mk);
    if (r == NULL)
        return -1;
    int seen = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[0]->type == REDIS_REPLY_STRING &&
               r->element[1]->type == REDIS_REPLY_STRING &&
               strcmp(r->element[0]->str, version) == 0;
    if (seen)
        snprintf(sid, cap, "%s", r->element[1]->str);
    freeReplyObject(r);
    if (seen)
        return 0;
    if (!wt_webhook_condition(t, root, NULL, 0))
        return 0;
    if (t->max_queue_depth > 0) {
        long queued = 0;
        if (wt_trigger_rt_queued(self->rt, self->conn, t, &queued, err) != 0)
            return -1;
        if (queued >= t->max_queue_depth)
            return 1; /* full: the sender's next notification brings it again */
    }
    char *goal = NULL, *ctx = NULL;
    if (wt_webhook_build(t, root, &goal, &ctx, err) != 0)
        return -1;
    char hx[65], ik[256];
    wt_webhook_sha256_hex(version, strlen(version), hx);
    snprintf(ik, sizeof ik, "inc:%s:%s:%.16s", t->id, key, hx);
    long waiting = 0;
    int rc =
        wt_trigger_rt_fire(self->rt, self->conn, t, ik, goal, ctx, detail, sid, cap, &waiting, err);
    free(goal);
    free(ctx);
    if (rc != 0)
        return -1;
    if (sid[0] == '\0') /* only serial triggers queue; the loader refuses them here */
        return wt_err_set(err, WT_EPROTO, "trigger %s: no session id from SPAWN", t->id);
    r = wt_redis_command(self->redis, err, "HSET %s version %s sid %s resolved 0", mk, version,
                         sid);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    if ((r = wt_redis_command(self->redis, err, "EXPIRE %s %d", mk, MAP_TTL_S)) == NULL)
        return -1;
    freeReplyObject(r);
    *started = 1;
    return 0;
}

#define RUN_TELL_MAX 200 /* sessions of one pipeline run told of a resolution */

/* Tells session target that incident key resolved: alert_resolved on its
 * own stream and on wt:events, and the operator message, in one script
 * that refuses an ended session (both or neither). run: the pipeline run
 * it is told through, or NULL. *told becomes 1 when it was told; -1 only
 * on a Redis error (the sender retries). */
static int
tell_resolved(wt_trig_incident_t *self, const wt_trigger_t *t, const char *key, const char *target,
              const char *run, const char *message, json_t *detail, int *told, wt_err_t *err)
{
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:O}", "trigger", t->id, "provider",
                           wt_trigger_provider_name(t->provider), "session", target, "incident",
                           key, "detail", detail ? detail : json_null());
    if (run)
        json_object_set_new(ev, "run", json_string(run));
    char *data = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    wt_err_t te = {0};
    int rc = wt_store_tell_event(&self->store, target, message, "alert_resolved", data, &te);
    free(data);
    if (rc == 0)
        *told = 1;
    else if (te.code == WT_ESTALE || te.code == WT_ENOTFOUND)
        ; /* ended (or in between): nothing to tell */
    else if (te.code == WT_ELIMIT || te.code == WT_EINVAL)
        wt_log_warn("trigger %s: cannot tell session %s: %s", t->id, target, te.msg);
    else
        return wt_err_set(err, te.code, "%s", te.msg);
    return 0;
}

/* Tells incident key's session that it resolved, when that session is
 * still queued or running and was not told before. When the session is a
 * phase of a pipeline run (worktrain run --adopt, e.g. the triage phase of
 * triage-incident), every queued or running session of that run is told
 * instead: the incident is being worked on there now. *told 1 when some
 * session was told. */
static int
incident_close(wt_trig_incident_t *self, const wt_trigger_t *t, const char *key,
               const char *message, json_t *detail, char *sid, size_t cap, int *told, wt_err_t *err)
{
    *told = 0;
    sid[0] = '\0';
    char mk[256], hk[200];
    map_key(self, mk, sizeof mk, t, key);
    redisReply *r = wt_redis_command(self->redis, err, "HMGET %s sid resolved", mk);
    if (r == NULL)
        return -1;
    int known =
        r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        !(r->element[1]->type == REDIS_REPLY_STRING && strcmp(r->element[1]->str, "1") == 0);
    if (known)
        snprintf(sid, cap, "%s", r->element[0]->str);
    freeReplyObject(r);
    if (!known)
        return 0;
    wt_store_key(&self->store, hk, sizeof hk, "session:%s", sid);
    if ((r = wt_redis_command(self->redis, err, "HGET %s run", hk)) == NULL)
        return -1;
    char run[64] = "";
    if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < sizeof run)
        snprintf(run, sizeof run, "%s", r->str);
    freeReplyObject(r);
    if (run[0] == '\0') {
        if (tell_resolved(self, t, key, sid, NULL, message, detail, told, err) != 0)
            return -1;
    } else {
        char rk[160];
        wt_store_key(&self->store, rk, sizeof rk, "run:%s:sessions", run);
        if ((r = wt_redis_command(self->redis, err, "ZRANGE %s 0 %d", rk, RUN_TELL_MAX - 1)) ==
            NULL)
            return -1;
        int rc = 0;
        for (size_t i = 0; rc == 0 && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
            if (r->element[i]->type == REDIS_REPLY_STRING)
                rc = tell_resolved(self, t, key, r->element[i]->str, run, message, detail, told,
                                   err);
        freeReplyObject(r);
        if (rc != 0)
            return -1;
    }
    if ((r = wt_redis_command(self->redis, err, "HSET %s resolved 1", mk)) == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

static void
reply(wt_trig_incident_t *self, wt_webhook_resp_t *resp, int status, json_t *body)
{
    resp->status = status;
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    snprintf(resp->body, sizeof resp->body, "%s\n", s ? s : "{}");
    free(s);
    wt_trigger_rt_count(self->rt, status);
}

static void
reject(wt_trig_incident_t *self, const wt_trigger_t *t, wt_webhook_resp_t *resp, int status,
       const char *msg)
{
    count(self, t, status == 401 ? C_REJECTED : C_BAD);
    wt_log_warn("webhook %s (%s): %d %s", t->id, wt_trigger_provider_name(t->provider), status,
                msg);
    reply(self, resp, status, json_pack("{s:s}", "error", msg));
}

static void
unavailable(wt_trig_incident_t *self, const wt_trigger_t *t, wt_webhook_resp_t *resp,
            const wt_err_t *err)
{
    wt_log_warn("webhook %s: %s", t->id, err->msg);
    char msg[600];
    snprintf(msg, sizeof msg, "cannot handle the delivery now: %s", err->msg);
    resp->retry_after = 5;
    reply(self, resp, 503, json_pack("{s:s}", "error", msg));
}

/* The operator message for a resolved alert. */
static char *
am_message(json_t *root)
{
    char *name = wt_jpath_text(wt_jpath_get(root, "$.labels.alertname"));
    char *summary = wt_jpath_text(wt_jpath_get(root, "$.annotations.summary"));
    char *ends = wt_jpath_text(wt_jpath_get(root, "$.endsAt"));
    char *m = wt_xasprintf("[alertmanager] The alert this session investigates has resolved: "
                           "%s%s%s (ended %s). Finish what is useful, note the resolution, and "
                           "stop investigating further.",
                           name[0] ? name : "(no alertname)", summary[0] ? " - " : "", summary,
                           ends[0] ? ends : "now");
    free(name);
    free(summary);
    free(ends);
    return m;
}

static void
alertmanager(wt_trig_incident_t *self, const wt_trigger_t *t, const wt_webhook_req_t *req,
             wt_webhook_resp_t *resp)
{
    if (!wt_am_auth_ok(t, req->authorization))
        return reject(self, t, resp, 401,
                      req->authorization ? "credentials do not match (Authorization)"
                                         : "missing Authorization (bearer or basic auth)");
    wt_am_batch_t b;
    wt_err_t err = {0};
    if (wt_am_parse(req->body, req->len, &b, &err) != 0)
        return reject(self, t, resp, 400, err.msg);
    if (ready(self, &err) != 0) {
        wt_am_batch_release(&b);
        return unavailable(self, t, resp, &err);
    }
    json_t *started = json_array();
    long repeats = 0, told = 0, ignored = 0, deferred = 0;
    for (size_t i = 0; i < b.n; i++) {
        wt_am_alert_t *a = &b.v[i];
        char sid[64];
        json_t *detail =
            json_pack("{s:s, s:s, s:s, s:O?}", "via", "alertmanager", "fingerprint", a->key,
                      "startsAt", a->starts_at, "labels", json_object_get(a->root, "labels"));
        int rc, did = 0;
        if (a->firing) {
            rc = incident_open(self, t, a->key, a->starts_at, a->root, detail, sid, sizeof sid,
                               &did, &err);
            if (rc == 1) { /* queue full: Alertmanager's next repeat brings it again */
                deferred++;
                count(self, t, C_DEFERRED);
                rc = 0;
            } else if (rc == 0) {
                if (did)
                    json_array_append_new(started, json_string(sid));
                repeats += !did;
                count(self, t, did ? C_STARTED : C_REPEAT);
            }
        } else {
            char *msg = am_message(a->root);
            const char *ends = json_string_value(json_object_get(a->root, "endsAt"));
            json_object_set_new(detail, "endsAt", json_string(ends ? ends : ""));
            rc = incident_close(self, t, a->key, msg, detail, sid, sizeof sid, &did, &err);
            free(msg);
            if (rc == 0) {
                told += did;
                ignored += !did;
                count(self, t, did ? C_TOLD : C_IGNORED);
                if (did)
                    wt_log_info("trigger %s: alert %s resolved, told session %s", t->id, a->key,
                                sid);
            }
        }
        json_decref(detail);
        if (rc != 0) {
            json_decref(started);
            wt_am_batch_release(&b);
            /* EINVAL: this alert's goal cannot be built: the payload's fault */
            if (err.code == WT_EINVAL || err.code == WT_ELIMIT)
                return reject(self, t, resp, 400, err.msg);
            return unavailable(self, t, resp, &err);
        }
    }
    wt_am_batch_release(&b);
    reply(self, resp, 200,
          json_pack("{s:o, s:I, s:I, s:I, s:I}", "started", started, "repeats", (json_int_t)repeats,
                    "resolved_told", (json_int_t)told, "ignored", (json_int_t)ignored, "deferred",
                    (json_int_t)deferred));
}

static void
pagerduty(wt_trig_incident_t *self, const wt_trigger_t *t, const wt_webhook_req_t *req,
          wt_webhook_resp_t *resp)
{
    if (wt_pd_signed(t) && !wt_pd_verify(t, req->body, req->len, req->sig_pagerduty))
        return reject(self, t, resp, 401,
                      req->sig_pagerduty ? "no X-PagerDuty-Signature matches the body"
                                         : "missing X-PagerDuty-Signature");
    wt_pd_event_t ev;
    wt_err_t err = {0};
    if (wt_pd_parse(req->body, req->len, &ev, &err) != 0)
        return reject(self, t, resp, 400, err.msg);
    int opening = strcmp(ev.type, "incident.triggered") == 0;
    int closing = strcmp(ev.type, "incident.resolved") == 0;
    if (!opening && !closing) {
        wt_pd_event_release(&ev);
        return reply(self, resp, 200,
                     json_pack("{s:b, s:s}", "dispatched", 0, "reason",
                               "only incident.triggered and incident.resolved are handled"));
    }
    if (ready(self, &err) != 0) {
        wt_pd_event_release(&ev);
        return unavailable(self, t, resp, &err);
    }
    char sid[64];
    int did = 0, rc;
    json_t *detail = json_pack("{s:s, s:s, s:O?}", "via", "pagerduty", "incident", ev.incident,
                               "event", json_object_get(json_object_get(ev.root, "event"), "id"));
    if (opening) {
        rc = incident_open(self, t, ev.incident, "", ev.root, detail, sid, sizeof sid, &did, &err);
        if (rc == 1) { /* queue full: PagerDuty retries the delivery */
            json_decref(detail);
            wt_pd_event_release(&ev);
            count(self, t, C_DEFERRED);
            char msg[300];
            snprintf(msg, sizeof msg, "trigger '%s' has maxQueueDepth %d sessions queued", t->id,
                     t->max_queue_depth);
            resp->retry_after = 10;
            return reply(self, resp, 429, json_pack("{s:s}", "error", msg));
        }
        if (rc == 0)
            count(self, t, did ? C_STARTED : C_REPEAT);
    } else {
        char *title = wt_jpath_text(wt_jpath_get(ev.root, "$.event.data.title"));
        char *at = wt_jpath_text(wt_jpath_get(ev.root, "$.event.occurred_at"));
        char *msg = wt_xasprintf("[pagerduty] Incident %s%s%s was resolved (%s). Finish what is "
                                 "useful, note the resolution, and stop investigating further.",
                                 ev.incident, title[0] ? " - " : "", title, at[0] ? at : "now");
        rc = incident_close(self, t, ev.incident, msg, detail, sid, sizeof sid, &did, &err);
        free(title);
        free(at);
        free(msg);
        if (rc == 0)
            count(self, t, did ? C_TOLD : C_IGNORED);
    }
    json_decref(detail);
    wt_pd_event_release(&ev);
    if (rc != 0) {
        if (err.code == WT_EINVAL || err.code == WT_ELIMIT)
            return reject(self, t, resp, 400, err.msg);
        return unavailable(self, t, resp, &err);
    }
    if (opening)
        return reply(self, resp, 200,
                     json_pack("{s:s?, s:b}", "session", sid[0] ? sid : NULL, "duplicate", !did));
    reply(self, resp, 200,
          json_pack("{s:s?, s:b}", "session", sid[0] ? sid : NULL, "resolved_told", did));
}

void
wt_trig_incident_webhook(wt_trig_incident_t *self, const wt_trigger_t *t,
                         const wt_webhook_req_t *req, wt_webhook_resp_t *resp)
{
    memset(resp, 0, sizeof *resp);
    if (t->provider == WT_TRIGGER_ALERTMANAGER)
        alertmanager(self, t, req, resp);
    else
        pagerduty(self, t, req, resp);
}
