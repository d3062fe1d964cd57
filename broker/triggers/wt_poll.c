/* wt_poll - pure helpers of the GitHub / GitLab pollers.
 *
 * Design: a poll reads the first page(s) of open items sorted by update
 * time, newest first. For each item the decision compares what the API
 * shows (updated_at, head sha, labels) with the state remembered in Redis
 * for that item (a small JSON object {"u": updated_at, "s": sha, "l":
 * [labels]}). "Remembered" means dispatched, or present and eligible at the
 * trigger's first poll (the baseline: a new trigger does not flood the
 * fleet with the repository's backlog). Items failing the filters are not
 * remembered, so one that later gains a wanted label counts as new.
 * Rate-limit rules follow GitHub's REST guide: Retry-After wins, then an
 * exhausted X-RateLimit-Remaining waits for X-RateLimit-Reset (UTC epoch
 * seconds), else a refusal waits a minute; GitLab's RateLimit-* headers
 * read the same way. */
#include "wt_poll.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REFUSAL_WAIT_MS 60000 /* a 403/429 that names no time: wait a minute */

wt_poll_provider_t
wt_poll_provider_parse(const char *name)
{
    if (name == NULL)
        return 0;
    if (strcmp(name, "github_issues_poll") == 0)
        return WT_POLL_GITHUB_ISSUES;
    if (strcmp(name, "github_prs_poll") == 0)
        return WT_POLL_GITHUB_PRS;
    if (strcmp(name, "gitlab_poll") == 0)
        return WT_POLL_GITLAB_MRS;
    return 0;
}

unsigned
wt_poll_event_parse(const char *name)
{
    if (name == NULL)
        return 0;
    if (strcmp(name, "opened") == 0 || strcmp(name, "created") == 0 || strcmp(name, "open") == 0)
        return WT_POLL_EV_OPENED;
    if (strcmp(name, "updated") == 0 || strcmp(name, "edited") == 0 ||
        strcmp(name, "synchronize") == 0 || strcmp(name, "update") == 0)
        return WT_POLL_EV_UPDATED;
    if (strcmp(name, "labeled") == 0 || strcmp(name, "label") == 0)
        return WT_POLL_EV_LABELED;
    return 0;
}

/* --- URLs --- */

static int
repo_ok(const char *s)
{
    const char *slash = strchr(s, '/');
    if (slash == NULL || slash == s || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr("-_./", *p) == NULL)
            return 0;
    return 1;
}

char *
wt_poll_url(wt_poll_provider_t p, const char *base, const char *where, int per_page, wt_err_t *err)
{
    if (base == NULL || base[0] == '\0' || where == NULL || where[0] == '\0') {
        wt_err_set(err, WT_EINVAL, "poll url: empty base or repository");
        return NULL;
    }
    if (per_page < 1 || per_page > 100)
        per_page = 50;
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    wt_buf_t b;
    wt_buf_init(&b, 4096);
    int rc = 0;
    if (p == WT_POLL_GITHUB_ISSUES || p == WT_POLL_GITHUB_PRS) {
        if (!repo_ok(where)) {
            wt_buf_release(&b);
            wt_err_set(err, WT_EINVAL, "poll url: repo '%s' is not owner/name", where);
            return NULL;
        }
        rc = wt_buf_printf(
            &b, err, "%.*s/repos/%s/%s?state=open&sort=updated&direction=desc&per_page=%d",
            (int)blen, base, where, p == WT_POLL_GITHUB_ISSUES ? "issues" : "pulls", per_page);
    } else if (p == WT_POLL_GITLAB_MRS) {
        int has_api = blen >= 7 && strncmp(base + blen - 7, "/api/v4", 7) == 0;
        char *id = curl_easy_escape(NULL, where, 0);
        if (id == NULL) {
            wt_buf_release(&b);
            wt_err_set(err, WT_EINVAL, "poll url: cannot encode project '%s'", where);
            return NULL;
        }
        rc = wt_buf_printf(&b, err,
                           "%.*s%s/projects/%s/merge_requests?state=opened&order_by=updated_at"
                           "&sort=desc&per_page=%d",
                           (int)blen, base, has_api ? "" : "/api/v4", id, per_page);
        curl_free(id);
    } else {
        wt_buf_release(&b);
        wt_err_set(err, WT_EINVAL, "poll url: unknown provider %d", (int)p);
        return NULL;
    }
    if (rc != 0) {
        wt_buf_release(&b);
        return NULL;
    }
    return wt_buf_detach(&b);
}

/* --- response headers --- */

void
wt_poll_meta_init(wt_poll_meta_t *m)
{
    memset(m, 0, sizeof *m);
    m->remaining = -1;
    m->reset_s = -1;
    m->retry_after_s = -1;
    m->poll_interval_s = -1;
}

static int64_t
parse_int(const char *v)
{
    char *end;
    long long x = strtoll(v, &end, 10);
    while (*end == ' ' || *end == '\t')
        end++;
    if (end == v || *end != '\0' || x < 0)
        return -1;
    return (int64_t)x;
}

/* A wait in seconds, capped to WT_POLL_MAX_WAIT_S; -1 stays absent. */
static int64_t
wait_s(int64_t s)
{
    return s > WT_POLL_MAX_WAIT_S ? WT_POLL_MAX_WAIT_S : s;
}

/* Finds rel="next" in a Link header value: <url>; rel="next", <...>; ... */
static void
parse_link(wt_poll_meta_t *m, const char *v)
{
    const char *p = v;
    while ((p = strchr(p, '<')) != NULL) {
        const char *close = strchr(p, '>');
        if (close == NULL)
            return;
        const char *comma = strchr(close, ',');
        size_t seglen = comma ? (size_t)(comma - close) : strlen(close);
        char seg[256];
        snprintf(seg, sizeof seg, "%.*s", (int)(seglen < sizeof seg ? seglen : sizeof seg - 1),
                 close);
        if (strstr(seg, "rel=\"next\"") != NULL || strstr(seg, "rel=next") != NULL) {
            size_t n = (size_t)(close - p - 1);
            if (n < sizeof m->next_url)
                snprintf(m->next_url, sizeof m->next_url, "%.*s", (int)n, p + 1);
            return;
        }
        p = close;
    }
}

void
wt_poll_meta_header(wt_poll_meta_t *m, const char *line, size_t len, int64_t now_s)
{
    char buf[2048];
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len >= sizeof buf)
        return; /* no header we read is that long */
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (strncmp(buf, "HTTP/", 5) == 0) {
        wt_poll_meta_init(m);
        const char *sp = strchr(buf, ' ');
        if (sp != NULL)
            m->status = strtol(sp + 1, NULL, 10);
        return;
    }
    char *colon = strchr(buf, ':');
    if (colon == NULL)
        return;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    const char *k = buf;
    if (strcasecmp(k, "etag") == 0) {
        snprintf(m->etag, sizeof m->etag, "%s", v);
    } else if (strcasecmp(k, "link") == 0) {
        parse_link(m, v);
    } else if (strcasecmp(k, "retry-after") == 0 || strcasecmp(k, "x-ratelimit-remaining") == 0 ||
               strcasecmp(k, "ratelimit-remaining") == 0 ||
               strcasecmp(k, "x-ratelimit-reset") == 0 || strcasecmp(k, "ratelimit-reset") == 0) {
        /* The wait hints are read by wt_http, as for every HTTP caller. */
        wt_http_hints_t h = {
            .retry_after_ms = -2, .remaining = m->remaining, .reset_s = m->reset_s};
        wt_http_hints_header(&h, line, len, now_s);
        m->remaining = h.remaining;
        m->reset_s = h.reset_s;
        if (h.retry_after_ms != -2)
            m->retry_after_s = wait_s(h.retry_after_ms < 0 ? -1
                                                           : h.retry_after_ms / 1000 +
                                                                 (h.retry_after_ms % 1000 != 0));
    } else if (strcasecmp(k, "x-poll-interval") == 0) {
        m->poll_interval_s = wait_s(parse_int(v));
    }
}

int64_t
wt_poll_meta_not_before_ms(const wt_poll_meta_t *m, int64_t now_ms, int *rate_limited)
{
    int refused = m->status == 403 || m->status == 429;
    int limited = m->status == 429 || (refused && (m->retry_after_s >= 0 || m->remaining == 0));
    if (rate_limited)
        *rate_limited = limited;
    if (m->retry_after_s >= 0 && (refused || m->status == 503))
        return now_ms + m->retry_after_s * 1000;
    if (m->remaining == 0 && m->reset_s >= 0) {
        int64_t max_s = now_ms / 1000 + WT_POLL_MAX_WAIT_S;
        if (m->reset_s > max_s) /* also keeps reset_s * 1000 from overflowing */
            return now_ms + (int64_t)WT_POLL_MAX_WAIT_S * 1000;
        int64_t at = m->reset_s * 1000;
        return at > now_ms ? at : now_ms;
    }
    if (limited)
        return now_ms + REFUSAL_WAIT_MS;
    return now_ms;
}

int64_t
wt_poll_meta_not_before_mono(const wt_poll_meta_t *m, int64_t wall_now_ms, int64_t mono_now_ms,
                             int *rate_limited)
{
    int64_t wait = wt_poll_meta_not_before_ms(m, wall_now_ms, rate_limited) - wall_now_ms;
    return mono_now_ms + (wait > 0 ? wait : 0);
}

/* --- items --- */

static const char *
str_at(const json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

int
wt_poll_item_read(wt_poll_provider_t p, const json_t *j, wt_poll_item_t *it, wt_err_t *err)
{
    memset(it, 0, sizeof *it);
    if (!json_is_object(j))
        return wt_err_set(err, WT_EPROTO, "poll item: not a JSON object");
    const char *idk = p == WT_POLL_GITLAB_MRS ? "iid" : "number";
    json_t *id = json_object_get(j, idk);
    if (!json_is_integer(id) || json_integer_value(id) < 0)
        return wt_err_set(err, WT_EPROTO, "poll item: '%s' missing or not a number", idk);
    snprintf(it->id, sizeof it->id, "%lld", (long long)json_integer_value(id));
    it->updated_at = json_string_value(json_object_get(j, "updated_at"));
    if (it->updated_at == NULL || it->updated_at[0] == '\0' || strlen(it->updated_at) > 64)
        return wt_err_set(err, WT_EPROTO, "poll item %s: 'updated_at' missing or bad", it->id);
    it->title = str_at(j, "title");
    if (p == WT_POLL_GITLAB_MRS) {
        it->url = str_at(j, "web_url");
        it->author = str_at(json_object_get(j, "author"), "username");
        it->sha = str_at(j, "sha");
    } else {
        it->url = str_at(j, "html_url");
        it->author = str_at(json_object_get(j, "user"), "login");
        it->sha = p == WT_POLL_GITHUB_PRS ? str_at(json_object_get(j, "head"), "sha") : "";
        it->is_pr = p == WT_POLL_GITHUB_ISSUES && json_object_get(j, "pull_request") != NULL;
    }
    if (strlen(it->sha) > 64)
        it->sha = "";
    json_t *labels = json_object_get(j, "labels");
    it->labels = json_is_array(labels) ? labels : NULL;
    return 0;
}

static const char *
label_name(const json_t *l)
{
    if (json_is_string(l))
        return json_string_value(l); /* GitLab: labels are strings */
    return json_string_value(json_object_get(l, "name"));
}

int
wt_poll_item_has_label(const wt_poll_item_t *it, const char *label)
{
    size_t i;
    json_t *l;
    json_array_foreach(it->labels, i, l)
    {
        const char *n = label_name(l);
        if (n != NULL && strcasecmp(n, label) == 0)
            return 1;
    }
    return 0;
}

static const char *
filtered_out(const wt_poll_rules_t *r, const wt_poll_item_t *it)
{
    if (r->provider == WT_POLL_GITHUB_ISSUES && it->is_pr)
        return "pull request on the issues endpoint";
    for (int i = 0; i < r->n_exclude_authors; i++)
        if (strcasecmp(it->author, r->exclude_authors[i]) == 0)
            return "author excluded";
    for (int i = 0; i < r->n_not_labels; i++)
        if (wt_poll_item_has_label(it, r->not_labels[i]))
            return "carries an excluded label";
    if (r->n_label_filter == 0)
        return NULL;
    for (int i = 0; i < r->n_label_filter; i++)
        if (wt_poll_item_has_label(it, r->label_filter[i]))
            return NULL;
    return "carries none of labelFilter";
}

static char *
state_of(const wt_poll_item_t *it)
{
    json_t *labels = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(it->labels, i, l)
    {
        const char *n = label_name(l);
        if (n != NULL)
            json_array_append_new(labels, json_string(n));
    }
    json_t *o = json_pack("{s:s, s:s, s:o}", "u", it->updated_at, "s", it->sha, "l", labels);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    wt_assert(s != NULL);
    return s;
}

/* 1 when the item carries a label the remembered state did not list. */
static int
gained_label(const wt_poll_item_t *it, const json_t *old_labels)
{
    size_t i, k;
    json_t *l, *o;
    json_array_foreach(it->labels, i, l)
    {
        const char *n = label_name(l);
        int had = n == NULL;
        json_array_foreach(old_labels, k, o)
        {
            if (n != NULL && json_is_string(o) && strcasecmp(n, json_string_value(o)) == 0)
                had = 1;
        }
        if (!had)
            return 1;
    }
    return 0;
}

void
wt_poll_decide(const wt_poll_rules_t *r, const wt_poll_item_t *it, const char *remembered,
               int baseline, wt_poll_decision_t *d)
{
    memset(d, 0, sizeof *d);
    unsigned ev = r->events ? r->events : WT_POLL_EV_OPENED;
    if ((d->why = filtered_out(r, it)) != NULL)
        return;
    if (remembered == NULL) {
        d->state = state_of(it);
        if (baseline) {
            d->action = WT_POLL_REMEMBER;
            d->why = "present at the trigger's first poll";
        } else if (ev & WT_POLL_EV_OPENED) {
            d->action = WT_POLL_DISPATCH;
            d->event = "opened";
        } else {
            d->action = WT_POLL_REMEMBER;
            d->why = "new, but events lacks opened";
        }
        return;
    }
    json_t *old = json_loads(remembered, 0, NULL);
    const char *ou = json_string_value(json_object_get(old, "u"));
    const char *os = json_string_value(json_object_get(old, "s"));
    if (old == NULL || ou == NULL) {
        /* Unreadable state: remember afresh without dispatching (never twice). */
        json_decref(old);
        d->action = WT_POLL_REMEMBER;
        d->why = "remembered state unreadable";
        d->state = state_of(it);
        return;
    }
    int same = strcmp(ou, it->updated_at) == 0 && strcmp(os ? os : "", it->sha) == 0;
    int gained = gained_label(it, json_object_get(old, "l"));
    json_decref(old);
    if (same && !gained) {
        d->why = "unchanged";
        return;
    }
    d->state = state_of(it);
    if ((ev & WT_POLL_EV_LABELED) && gained) {
        d->action = WT_POLL_DISPATCH;
        d->event = "labeled";
    } else if ((ev & WT_POLL_EV_UPDATED) && !same) {
        d->action = WT_POLL_DISPATCH;
        d->event = "updated";
    } else {
        d->action = WT_POLL_REMEMBER;
        d->why = "changed, but events does not ask for it";
    }
}

char *
wt_poll_idem_key(const char *trigger, const wt_poll_item_t *it)
{
    if (it->sha[0])
        return wt_xasprintf("poll:%s:%s:%s:%s", trigger, it->id, it->updated_at, it->sha);
    return wt_xasprintf("poll:%s:%s:%s", trigger, it->id, it->updated_at);
}

char *
wt_poll_context(const char *trigger, wt_poll_provider_t p, const wt_poll_item_t *it,
                const char *event)
{
    const char *prov = p == WT_POLL_GITHUB_ISSUES ? "github_issues_poll"
                       : p == WT_POLL_GITHUB_PRS  ? "github_prs_poll"
                                                  : "gitlab_poll";
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "trigger", trigger,
                          "provider", prov, "event", event ? event : "", "number",
                          (json_int_t)strtoll(it->id, NULL, 10), "url", it->url, "title", it->title,
                          "author", it->author, "updatedAt", it->updated_at);
    if (it->sha[0])
        json_object_set_new(o, "sha", json_string(it->sha));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    wt_assert(s != NULL);
    return s;
}

/* Scheme, host (lower case) and port of an absolute http(s) URL into out;
 * -1 when url is not one. */
static int
origin_of(const char *url, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -1;
    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
        for (char *h = host; *h; h++)
            *h = (char)tolower((unsigned char)*h);
        rc = snprintf(out, cap, "%s://%s:%s", scheme, host, port) < (int)cap ? 0 : -1;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

int
wt_poll_same_origin(const char *base, const char *url)
{
    char a[512], b[512];
    return origin_of(base, a, sizeof a) == 0 && origin_of(url, b, sizeof b) == 0 &&
           strcmp(a, b) == 0;
}
