/* wt_poller - the I/O half of a polling trigger: one thread per trigger.
 *
 * Design: each turn the thread waits until max(next poll, not-before of the
 * last response), both in the monotonic clock (a header's absolute time,
 * reset or HTTP-date, is turned into a delay once, with the wall clock, when
 * the response arrives; setting the wall clock moves nothing), then GETs the first page with
 * If-None-Match (a 304 costs no rate quota and means nothing changed). On a 200 it reads the items,
 * fetches what it remembered about them from <p>trigger:<id>:seen in one
 * HMGET, asks wt_poll_decide, and works through the page oldest first:
 * SPAWN (idempotency key poll:<trigger>:<item>:<updated_at>) then HSET the
 * new state. A crash between the two replays the SPAWN with the same key
 * and the broker answers with the existing session: nothing starts twice.
 * The ETag is kept only once a whole page went through, so a failed spawn
 * is retried on the next poll instead of hidden by a 304. The first poll of
 * a trigger ever (no "baselined" field in <p>trigger:<id>:poll) remembers
 * what is already open without dispatching it. Further pages (Link
 * rel="next") are followed while every item of a page was new or changed.
 * Failures (HTTP errors, timeouts, bad JSON, Redis) are logged with the
 * trigger id, counted, and back off exponentially (interval x2 up to 5
 * min); rate-limit refusals wait for Retry-After or the reset time. The
 * token goes into a request header only; curl's verbose output is off. */
#include "wt_poller.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_http.h"
#include "wt_jpath.h"
#include "wt_log.h"
#include "wt_redis.h"
#include "wt_store.h"
#include "wt_webhook.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BACKOFF_MS 300000
#define REDIS_TIMEOUT  2000
#define MAX_GOAL_BYTES (64 * 1024)
#define MAX_PAGE_ITEMS 100

struct wt_poller {
    wt_poller_cfg_t cfg;      /* copy, read-only */
    wt_poller_spawn_fn spawn; /* dispatch callback */
    void *spawn_arg;          /* its argument */
    pthread_t thread;         /* the poll thread */
    int started;              /* thread is running */
    pthread_mutex_t lock;     /* guards stop, stats */
    pthread_cond_t wake;      /* signalled on stop */
    int stop;                 /* set by wt_poller_stop */
    wt_poller_stats_t stats;  /* counters */
    /* thread-only state below */
    wt_redis_t *redis;     /* own connection */
    wt_store_t store;      /* for key names */
    wt_http_t *http;       /* reused handle (keeps the connection) */
    char etag[256];        /* ETag of the last fully handled first page */
    int64_t not_before_ms; /* monotonic: no request before this */
    int failures;          /* consecutive failed polls */
    char first_url[2048];  /* first-page URL */
};

void
wt_poller_cfg_defaults(wt_poller_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->interval_ms = 60000;
    cfg->per_page = 50;
    cfg->max_pages = 5;
    cfg->http_timeout_ms = 30000;
    cfg->max_response_bytes = 8 * 1024 * 1024;
}

static int
copy_field(char *dst, size_t cap, const char *src, const char *trigger, const char *what,
           wt_err_t *err)
{
    if (src == NULL)
        src = "";
    if (strlen(src) >= cap)
        return wt_err_set(err, WT_EINVAL, "trigger '%s': %s longer than %zu bytes", trigger, what,
                          cap - 1);
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int
copy_list(char (*dst)[64], int *n, const wt_trigger_strv_t *src, const char *trigger,
          const char *what, wt_err_t *err)
{
    if (src->n > WT_POLL_MAX_LIST)
        return wt_err_set(err, WT_EINVAL, "trigger '%s': %s has more than %d entries", trigger,
                          what, WT_POLL_MAX_LIST);
    for (size_t i = 0; i < src->n; i++)
        if (copy_field(dst[i], 64, src->v[i], trigger, what, err) != 0)
            return -1;
    *n = (int)src->n;
    return 0;
}

int
wt_poller_cfg_from_trigger(wt_poller_cfg_t *cfg, const wt_trigger_t *t, const char *redis,
                           wt_err_t *err)
{
    wt_poller_cfg_defaults(cfg);
    const char *id = t->id;
    const wt_trigger_source_t *src = &t->source;
    wt_poll_provider_t p = t->provider == WT_TRIGGER_GITHUB_ISSUES_POLL ? WT_POLL_GITHUB_ISSUES
                           : t->provider == WT_TRIGGER_GITHUB_PRS_POLL  ? WT_POLL_GITHUB_PRS
                           : t->provider == WT_TRIGGER_GITLAB_POLL      ? WT_POLL_GITLAB_MRS
                                                                        : 0;
    if (p == 0)
        return wt_err_set(err, WT_EINVAL, "trigger '%s': not a poll provider", id);
    cfg->rules.provider = p;
    const char *base = src->api_base_url;
    if (base == NULL)
        base = p == WT_POLL_GITLAB_MRS ? src->base_url : "https://api.github.com";
    const char *where = p == WT_POLL_GITLAB_MRS ? src->project_id : src->repo;
    for (size_t i = 0; i < src->events.n; i++) {
        unsigned bit = wt_poll_event_parse(src->events.v[i]);
        if (bit == 0)
            return wt_err_set(err, WT_EINVAL,
                              "trigger '%s': unknown event '%s' (opened, updated, labeled)", id,
                              src->events.v[i]);
        cfg->rules.events |= bit;
    }
    if (copy_field(cfg->trigger, sizeof cfg->trigger, id, id, "id", err) ||
        copy_field(cfg->api_base, sizeof cfg->api_base, base, id, "apiBaseUrl", err) ||
        copy_field(cfg->where, sizeof cfg->where, where, id, "repo/projectId", err) ||
        copy_field(cfg->token, sizeof cfg->token, src->token, id, "token", err) ||
        copy_field(cfg->workflow, sizeof cfg->workflow, t->workflow_id, id, "workflowId", err) ||
        copy_field(cfg->goal, sizeof cfg->goal, t->goal, id, "goal", err) ||
        copy_field(cfg->goal_template, sizeof cfg->goal_template, t->goal_template, id,
                   "goalTemplate", err) ||
        copy_field(cfg->workspace, sizeof cfg->workspace, t->workspace_path, id, "workspacePath",
                   err) ||
        copy_field(cfg->redis, sizeof cfg->redis, redis, id, "redis URL", err) ||
        copy_list(cfg->rules.exclude_authors, &cfg->rules.n_exclude_authors, &src->exclude_authors,
                  id, "excludeAuthors", err) ||
        copy_list(cfg->rules.label_filter, &cfg->rules.n_label_filter, &src->label_filter, id,
                  "labelFilter", err) ||
        copy_list(cfg->rules.not_labels, &cfg->rules.n_not_labels, &src->not_labels, id,
                  "notLabels", err))
        return -1;
    if (src->poll_interval_seconds > 0)
        cfg->interval_ms = src->poll_interval_seconds * 1000;
    cfg->session_timeout_ms = (int64_t)t->agent.max_session_minutes * 60000;
    cfg->max_turns = t->agent.max_turns;
    cfg->trigger_def = t;
    return 0;
}

int
wt_poller_cfg_check(const wt_poller_cfg_t *cfg, wt_err_t *err)
{
    if (cfg->trigger[0] == '\0')
        return wt_err_set(err, WT_EINVAL, "poll trigger: empty id");
    const char *t = cfg->trigger;
    if (cfg->rules.provider == 0)
        return wt_err_set(err, WT_EINVAL, "trigger '%s': unknown poll provider", t);
    if (cfg->where[0] == '\0')
        return wt_err_set(err, WT_EINVAL, "trigger '%s': source needs %s", t,
                          cfg->rules.provider == WT_POLL_GITLAB_MRS ? "projectId" : "repo");
    if (cfg->api_base[0] == '\0' ||
        (strncmp(cfg->api_base, "http://", 7) != 0 && strncmp(cfg->api_base, "https://", 8) != 0))
        return wt_err_set(err, WT_EINVAL, "trigger '%s': apiBaseUrl '%s' is not an http(s) URL", t,
                          cfg->api_base);
    if (cfg->token[0] == '\0')
        return wt_err_set(err, WT_EINVAL, "trigger '%s': source.token is empty", t);
    if (cfg->interval_ms < 1000)
        return wt_err_set(err, WT_EINVAL, "trigger '%s': pollIntervalSeconds must be >= 1", t);
    if (cfg->workflow[0] == '\0' || (cfg->goal[0] == '\0' && cfg->goal_template[0] == '\0'))
        return wt_err_set(err, WT_EINVAL, "trigger '%s': needs workflowId and goal", t);
    char *u = wt_poll_url(cfg->rules.provider, cfg->api_base, cfg->where, cfg->per_page, err);
    if (u == NULL)
        return -1;
    free(u);
    return 0;
}

const char *
wt_poller_trigger(const wt_poller_t *self)
{
    return self->cfg.trigger;
}

void
wt_poller_stats(wt_poller_t *self, wt_poller_stats_t *out)
{
    pthread_mutex_lock(&self->lock);
    *out = self->stats;
    pthread_mutex_unlock(&self->lock);
}

static void
count(wt_poller_t *self, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&self->lock);
    *field += n;
    pthread_mutex_unlock(&self->lock);
}

static int
stopping(wt_poller_t *self)
{
    pthread_mutex_lock(&self->lock);
    int s = self->stop;
    pthread_mutex_unlock(&self->lock);
    return s;
}

/* The wall clock: only to turn a header's absolute time into a delay. */
static int64_t
wall_ms(const wt_poller_t *self)
{
    return wt_clock_file_ms(self->cfg.clock_file);
}

/* Waits until the monotonic time at_ms or a stop; returns 1 when stopping.
 * The condition variable runs on CLOCK_MONOTONIC: setting the wall clock
 * moves no wait. */
static int
wait_until(wt_poller_t *self, int64_t at_ms)
{
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        int64_t now = wt_clock_mono_ms();
        if (now >= at_ms)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t left = at_ms - now;
        ts.tv_sec += (time_t)(left / 1000);
        ts.tv_nsec += (long)(left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&self->wake, &self->lock, &ts);
    }
    int s = self->stop;
    pthread_mutex_unlock(&self->lock);
    return s;
}

/* --- HTTP --- */

typedef struct fetch {
    wt_http_resp_t resp; /* status and capped body */
    wt_poll_meta_t meta; /* headers */
    wt_poller_t *self;   /* for the stop check and the clock */
} fetch_t;

static void
on_header(void *ud, const char *line, size_t len)
{
    fetch_t *f = ud;
    wt_poll_meta_header(&f->meta, line, len, wall_ms(f->self) / 1000);
}

static int
on_abort(void *ud)
{
    return stopping(ud);
}

/* GETs url into f; with_etag sends If-None-Match. 0, or -1 with err for a
 * transport failure (any HTTP status is a success here). */
static int
http_get(wt_poller_t *self, const char *url, int with_etag, fetch_t *f, wt_err_t *err)
{
    char auth[700], inm[300];
    const char *h[6];
    int n = 0;
    if (self->cfg.rules.provider == WT_POLL_GITLAB_MRS) {
        snprintf(auth, sizeof auth, "PRIVATE-TOKEN: %s", self->cfg.token);
        h[n++] = auth;
        h[n++] = "Accept: application/json";
    } else {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", self->cfg.token);
        h[n++] = auth;
        h[n++] = "Accept: application/vnd.github+json";
        h[n++] = "X-GitHub-Api-Version: 2022-11-28";
    }
    if (with_etag && self->etag[0]) {
        snprintf(inm, sizeof inm, "If-None-Match: %s", self->etag);
        h[n++] = inm;
    }
    h[n] = NULL;
    wt_http_req_t req = {.method = "GET",
                         .url = url,
                         .headers = h,
                         .timeout_ms = self->cfg.http_timeout_ms,
                         .connect_timeout_ms = 10000,
                         .max_response_bytes = self->cfg.max_response_bytes,
                         .accept_encoding = 1,
                         .abort_fn = on_abort,
                         .abort_ud = self,
                         .header_fn = on_header,
                         .header_ud = f};
    int rc = wt_http_perform(self->http, &req, &f->resp, err);
    explicit_bzero(auth, sizeof auth); /* held the token */
    count(self, &self->stats.polls, 1);
    return rc;
}

/* --- Redis --- */

static int
redis_flag(wt_poller_t *self, const char *field, int *out, wt_err_t *err)
{
    char key[200];
    wt_store_key(&self->store, key, sizeof key, "trigger:%s:poll", self->cfg.trigger);
    redisReply *r = wt_redis_command(self->redis, err, "HEXISTS %s %s", key, field);
    if (r == NULL)
        return -1;
    *out = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return 0;
}

static int
redis_set_poll_field(wt_poller_t *self, const char *field, const char *value, wt_err_t *err)
{
    char key[200];
    wt_store_key(&self->store, key, sizeof key, "trigger:%s:poll", self->cfg.trigger);
    redisReply *r = wt_redis_command(self->redis, err, "HSET %s %s %s", key, field, value);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* HMGET of the remembered states of n items; fills states[i] (owned, NULL
 * when never seen). */
static int
redis_recall(wt_poller_t *self, wt_poll_item_t *items, size_t n, char **states, wt_err_t *err)
{
    char key[200];
    wt_store_key(&self->store, key, sizeof key, "trigger:%s:seen", self->cfg.trigger);
    const char *argv[MAX_PAGE_ITEMS + 2];
    argv[0] = "HMGET";
    argv[1] = key;
    for (size_t i = 0; i < n; i++)
        argv[i + 2] = items[i].id;
    redisReply *r = wt_redis_commandv(self->redis, (int)n + 2, argv, NULL, err);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        freeReplyObject(r);
        return wt_err_set(err, WT_EPROTO, "HMGET %s: unexpected reply", key);
    }
    for (size_t i = 0; i < n; i++)
        states[i] =
            r->element[i]->type == REDIS_REPLY_STRING ? wt_xstrdup(r->element[i]->str) : NULL;
    freeReplyObject(r);
    return 0;
}

static int
redis_remember(wt_poller_t *self, const char *id, const char *state, wt_err_t *err)
{
    char key[200];
    wt_store_key(&self->store, key, sizeof key, "trigger:%s:seen", self->cfg.trigger);
    redisReply *r = wt_redis_command(self->redis, err, "HSET %s %s %s", key, id, state);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

/* --- one page --- */

/* The session's goal and context: with the trigger definition, exactly as
 * a webhook builds them from its payload (goalTemplate, contextMapping,
 * agentConfig), plus the item's basics (trigger, event, number, url,
 * title, author, updatedAt, sha). 0, or -1 with err when the goal renders
 * empty or too long. */
static int
build(const wt_poller_cfg_t *c, const wt_poll_item_t *it, json_t *j, const char *event, char **goal,
      char **ctx, wt_err_t *err)
{
    char *mapped = NULL;
    *ctx = NULL;
    if (c->trigger_def != NULL) {
        if (wt_webhook_build(c->trigger_def, j, goal, &mapped, err) != 0)
            return -1;
    } else {
        *goal = c->goal_template[0] ? wt_jpath_render(c->goal_template, j, MAX_GOAL_BYTES, err)
                                    : wt_xstrdup(c->goal);
        if (*goal == NULL)
            return -1;
        if ((*goal)[0] == '\0') {
            free(*goal);
            return wt_err_set(err, WT_EINVAL, "the goal is empty for this item");
        }
    }
    char *base = wt_poll_context(c->trigger, c->rules.provider, it, event);
    json_t *o = json_loads(base, 0, NULL);
    free(base);
    json_t *m = mapped ? json_loads(mapped, 0, NULL) : NULL;
    free(mapped);
    if (json_is_object(m))
        json_object_update_missing(o, m);
    json_decref(m);
    *ctx = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    wt_assert(*ctx != NULL);
    return 0;
}

/* Starts the session of one item: 0 done, -1 the spawn failed (err; the
 * poll stops and is retried), 1 the item cannot make a session (logged
 * and counted; the poll goes on). */
static int
dispatch_item(wt_poller_t *self, const wt_poll_item_t *it, json_t *j, const char *event,
              wt_err_t *err)
{
    const wt_poller_cfg_t *c = &self->cfg;
    char *goal = NULL, *ctx = NULL;
    wt_err_t berr = {0};
    if (build(c, it, j, event, &goal, &ctx, &berr) != 0) {
        wt_log_warn("trigger %s: item %s not dispatched: %s", c->trigger, it->id, berr.msg);
        count(self, &self->stats.bad_items, 1);
        return 1;
    }
    char *key = wt_poll_idem_key(c->trigger, it);
    wt_poller_spawn_t s = {.trigger = c->trigger,
                           .workflow = c->workflow,
                           .goal = goal,
                           .context_json = ctx,
                           .key = key,
                           .workspace = c->workspace,
                           .timeout_ms = c->session_timeout_ms,
                           .max_turns = c->max_turns,
                           .item = it->id,
                           .event = event,
                           .url = it->url};
    char sid[64] = "";
    int rc = self->spawn(self->spawn_arg, &s, sid, sizeof sid, err);
    if (rc == 0) {
        count(self, &self->stats.dispatched, 1);
        wt_log_info("trigger %s: item %s %s -> session %s", c->trigger, it->id, event, sid);
    }
    free(goal);
    free(ctx);
    free(key);
    return rc;
}

/* Handles one page of items. *all_new is set when no item was unchanged
 * (worth looking at the next page). */
static int
handle_page(wt_poller_t *self, json_t *page, int baseline, int *all_new, wt_err_t *err)
{
    *all_new = 0;
    if (!json_is_array(page))
        return wt_err_set(err, WT_EPROTO, "response is not a JSON array");
    size_t n = json_array_size(page);
    if (n > MAX_PAGE_ITEMS)
        n = MAX_PAGE_ITEMS;
    wt_poll_item_t items[MAX_PAGE_ITEMS];
    json_t *js[MAX_PAGE_ITEMS];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        wt_err_t e = {0};
        json_t *j = json_array_get(page, i);
        if (wt_poll_item_read(self->cfg.rules.provider, j, &items[m], &e) != 0) {
            wt_log_warn("trigger %s: %s", self->cfg.trigger, e.msg);
            count(self, &self->stats.bad_items, 1);
            continue;
        }
        js[m++] = j;
    }
    if (m == 0)
        return 0;
    char *states[MAX_PAGE_ITEMS];
    if (redis_recall(self, items, m, states, err) != 0)
        return -1;
    int rc = 0, unchanged = 0;
    /* Oldest update first: the page is newest first. */
    for (size_t k = m; k-- > 0 && rc == 0;) {
        wt_poll_decision_t d;
        wt_poll_decide(&self->cfg.rules, &items[k], states[k], baseline, &d);
        if (d.action == WT_POLL_SKIP && d.why != NULL && strcmp(d.why, "unchanged") == 0)
            unchanged = 1;
        if (d.action == WT_POLL_SKIP)
            wt_log_debug("trigger %s: item %s skipped: %s", self->cfg.trigger, items[k].id,
                         d.why ? d.why : "");
        if (d.action == WT_POLL_DISPATCH && dispatch_item(self, &items[k], js[k], d.event, err) < 0)
            rc = -1;
        if (rc == 0 && d.state != NULL)
            rc = redis_remember(self, items[k].id, d.state, err);
        free(d.state);
    }
    for (size_t i = 0; i < m; i++)
        free(states[i]);
    *all_new = !unchanged;
    return rc;
}

/* One poll: first page, then further pages while everything was new.
 * Returns 0 (also for 304), or -1 with err; *limited for a rate refusal. */
static int
poll_once(wt_poller_t *self, int *limited, wt_err_t *err)
{
    *limited = 0;
    int baseline = 0;
    if (wt_redis_connect(self->redis, err) != 0 || redis_flag(self, "baselined", &baseline, err))
        return -1;
    baseline = !baseline;
    char url[2048];
    snprintf(url, sizeof url, "%s", self->first_url);
    char first_etag[256] = "";
    for (int page = 0; page < self->cfg.max_pages; page++) {
        fetch_t f = {.self = self};
        wt_http_resp_init(&f.resp, self->cfg.max_response_bytes);
        wt_poll_meta_init(&f.meta);
        int rc = http_get(self, url, page == 0, &f, err);
        int64_t now = wt_clock_mono_ms();
        int64_t nb = wt_poll_meta_not_before_mono(&f.meta, wall_ms(self), now, limited);
        if (nb > self->not_before_ms)
            self->not_before_ms = nb;
        if (rc == 0 && f.meta.poll_interval_s > 0 &&
            now + f.meta.poll_interval_s * 1000 > self->not_before_ms)
            self->not_before_ms = now + f.meta.poll_interval_s * 1000;
        if (rc == 0 && page == 0 && f.meta.status == 304) {
            count(self, &self->stats.not_modified, 1);
            wt_http_resp_release(&f.resp);
            return 0;
        }
        if (rc == 0 && f.meta.status != 200) {
            if (*limited)
                count(self, &self->stats.rate_limited, 1);
            rc = wt_err_set(err, WT_EHTTP, "%s answered HTTP %ld%s", page ? "next page" : "API",
                            f.meta.status, *limited ? " (rate limited)" : "");
        }
        json_t *items = NULL;
        if (rc == 0) {
            json_error_t je;
            items = json_loadb(wt_buf_str(&f.resp.body), f.resp.body.len, 0, &je);
            if (items == NULL)
                rc = wt_err_set(err, WT_EPROTO, "bad JSON at line %d: %s", je.line, je.text);
        }
        wt_http_resp_release(&f.resp);
        int all_new = 0;
        if (rc == 0)
            rc = handle_page(self, items, baseline, &all_new, err);
        json_decref(items);
        if (rc != 0)
            return -1;
        if (page == 0)
            snprintf(first_etag, sizeof first_etag, "%s", f.meta.etag);
        if (baseline || !all_new || f.meta.next_url[0] == '\0' || stopping(self))
            break;
        if (!wt_poll_same_origin(self->first_url, f.meta.next_url)) {
            /* The request carries the token: never to another host. */
            wt_log_warn("trigger %s: Link rel=\"next\" leaves the API's host: not followed",
                        self->cfg.trigger);
            break;
        }
        snprintf(url, sizeof url, "%s", f.meta.next_url);
    }
    if (baseline && redis_set_poll_field(self, "baselined", "1", err) != 0)
        return -1;
    snprintf(self->etag, sizeof self->etag, "%s", first_etag);
    return 0;
}

static void *
run(void *arg)
{
    wt_poller_t *self = arg;
    const char *t = self->cfg.trigger;
    int64_t next = wt_clock_mono_ms();
    while (!wait_until(self, next > self->not_before_ms ? next : self->not_before_ms)) {
        wt_err_t err = {0};
        int limited = 0;
        int64_t start = wt_clock_mono_ms();
        if (poll_once(self, &limited, &err) == 0) {
            self->failures = 0;
            next = start + self->cfg.interval_ms;
            continue;
        }
        count(self, &self->stats.errors, 1);
        if (limited) {
            next = start + self->cfg.interval_ms;
            char when[32];
            wt_clock_format_iso(wall_ms(self) + (self->not_before_ms - wt_clock_mono_ms()), when,
                                sizeof when);
            wt_log_warn("trigger %s: %s; next request at %s", t, err.msg, when);
            continue;
        }
        if (self->failures < 16)
            self->failures++;
        int64_t backoff = (int64_t)self->cfg.interval_ms << self->failures;
        if (backoff > MAX_BACKOFF_MS)
            backoff = MAX_BACKOFF_MS;
        next = start + backoff;
        wt_log_warn("trigger %s: poll failed: %s (failure %d, retry in %lld ms)", t, err.msg,
                    self->failures, (long long)backoff);
    }
    return NULL;
}

wt_poller_t *
wt_poller_start(const wt_poller_cfg_t *cfg, wt_poller_spawn_fn spawn, void *arg, wt_err_t *err)
{
    if (wt_poller_cfg_check(cfg, err) != 0)
        return NULL;
    wt_poller_t *self = wt_xcalloc(1, sizeof *self);
    self->cfg = *cfg;
    self->spawn = spawn;
    self->spawn_arg = arg;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &ca);
    pthread_condattr_destroy(&ca);
    char *u = wt_poll_url(cfg->rules.provider, cfg->api_base, cfg->where, cfg->per_page, err);
    if (u == NULL || strlen(u) >= sizeof self->first_url) {
        free(u);
        wt_poller_stop(&self);
        if (u != NULL)
            wt_err_set(err, WT_EINVAL, "trigger '%s': API URL too long", cfg->trigger);
        return NULL;
    }
    snprintf(self->first_url, sizeof self->first_url, "%s", u);
    free(u);
    self->redis = wt_redis_new(cfg->redis, REDIS_TIMEOUT, err);
    if (self->redis == NULL) {
        wt_poller_stop(&self);
        return NULL;
    }
    wt_store_init(&self->store, self->redis, cfg->prefix[0] ? cfg->prefix : NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    self->http = wt_http_new(err);
    if (self->http == NULL || pthread_create(&self->thread, NULL, run, self) != 0) {
        wt_err_set(err, WT_EIO, "trigger '%s': cannot start the poll thread", cfg->trigger);
        wt_poller_stop(&self);
        return NULL;
    }
    self->started = 1;
    return self;
}

void
wt_poller_stop(wt_poller_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_poller_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = 1;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    if (self->started)
        pthread_join(self->thread, NULL);
    wt_http_destroy(&self->http);
    wt_redis_destroy(&self->redis);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    explicit_bzero(self->cfg.token, sizeof self->cfg.token);
    free(self);
    *self_p = NULL;
}
