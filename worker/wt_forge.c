/* wt_forge - GitHub pull requests and GitLab merge requests (see
 * wt_forge.h). Requests go through wt_http (one libcurl client for the
 * whole program); the token travels in a header, which wt_http never logs
 * nor copies into an error. */
#include "wt_forge.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORGE_TIMEOUT_MS 30000
#define FORGE_BODY_CAP   (4u << 20)

/* Retried: no answer, 408, 429, 5xx; 403 only when it is a rate limit
 * (checked before asking the policy). */
static const int RETRIED[] = {403, 408, 429, 500, 502, 503, 504, 0};
static const wt_http_retry_t POLICY = {.max_attempts = 1000,
                                       .base_ms = 2000,
                                       .cap_ms = 300000,
                                       .server_wait_cap_ms = 3600000,
                                       .statuses = RETRIED,
                                       .flags = WT_HTTP_RETRY_AFTER_ANY | WT_HTTP_RETRY_RESET};

typedef struct call {
    wt_http_t *http;
    const char
        *token_header; /* "Authorization: Bearer ..." / "PRIVATE-TOKEN: ..." (owned by caller) */
    int github;
} call_t;

/* One request; the parsed JSON answer (NULL when not JSON) in *out. */
static int
request(call_t *c, const char *method, const char *url, const char *body, wt_http_resp_t *resp,
        json_t **out, wt_err_t *err)
{
    const char *gh[] = {c->token_header,
                        "Accept: application/vnd.github+json",
                        "X-GitHub-Api-Version: 2022-11-28",
                        "User-Agent: worktrain",
                        "Content-Type: application/json",
                        NULL};
    const char *gl[] = {c->token_header, "Accept: application/json", "User-Agent: worktrain",
                        "Content-Type: application/json", NULL};
    wt_http_req_t req = {.method = method,
                         .url = url,
                         .headers = c->github ? gh : gl,
                         .body = body,
                         .timeout_ms = FORGE_TIMEOUT_MS,
                         .connect_timeout_ms = 10000,
                         .max_response_bytes = FORGE_BODY_CAP};
    *out = NULL;
    if (wt_http_perform(c->http, &req, resp, err) != 0)
        return -1;
    *out = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
    return 0;
}

/* Fills res from a PR/MR object; 0 when it has a URL and a number. */
static int
take(json_t *o, int github, wt_forge_result_t *res)
{
    const char *url = json_string_value(json_object_get(o, github ? "html_url" : "web_url"));
    json_int_t n = json_integer_value(json_object_get(o, github ? "number" : "iid"));
    if (url == NULL || n <= 0)
        return -1;
    snprintf(res->url, sizeof res->url, "%s", url);
    res->number = (long)n;
    return 0;
}

/* The wait before a retry, -1 when the status is not worth one. */
static int64_t
retry_in(const wt_http_resp_t *resp, long status, int attempt)
{
    if (status == 403 && resp->hints.remaining != 0 && resp->hints.retry_after_ms < 0)
        return -1; /* forbidden for good: not a rate limit */
    return wt_http_retry_delay_ms(&POLICY, attempt, status, &resp->hints, wt_clock_now_ms(),
                                  wt_http_random());
}

static int
fail(const wt_http_resp_t *resp, json_t *j, const char *what, int attempt, wt_forge_result_t *res,
     wt_err_t *err)
{
    res->status = resp->status;
    res->retry_in_ms = retry_in(resp, resp->status, attempt);
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (msg == NULL && json_is_array(json_object_get(j, "message")))
        msg = json_string_value(json_array_get(json_object_get(j, "message"), 0));
    return wt_err_set(err, WT_EHTTP, "%s: HTTP %ld%s%.200s", what, resp->status, msg ? ": " : "",
                      msg ? msg : "");
}

/* Looks for an open PR/MR with head branch. 1 found, 0 none, -1 error. */
static int
find(call_t *c, const char *base_url, const char *project_path, const wt_forge_pr_t *pr,
     int attempt, wt_forge_result_t *res, wt_err_t *err)
{
    CURL *cu = curl_easy_init();
    char *br = curl_easy_escape(cu, pr->branch, 0);
    char *url;
    if (c->github) {
        char owner[256];
        snprintf(owner, sizeof owner, "%.*s", (int)strcspn(pr->project, "/"), pr->project);
        char *head = wt_xasprintf("%s:%s", owner, pr->branch);
        char *he = curl_easy_escape(cu, head, 0);
        url = wt_xasprintf("%s/pulls?state=open&head=%s&per_page=100", base_url, he);
        curl_free(he);
        free(head);
    } else
        url = wt_xasprintf("%s/merge_requests?state=opened&source_branch=%s&per_page=100", base_url,
                           br);
    (void)project_path;
    curl_free(br);
    curl_easy_cleanup(cu);
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, FORGE_BODY_CAP);
    json_t *j = NULL;
    int rc = request(c, "GET", url, NULL, &resp, &j, err);
    free(url);
    if (rc != 0) {
        res->status = 0;
        res->retry_in_ms = retry_in(&resp, 0, attempt);
    } else if (resp.status != 200 || !json_is_array(j)) {
        rc = fail(&resp, j,
                  c->github ? "looking up the pull request" : "looking up the merge request",
                  attempt, res, err);
    } else {
        rc = 0;
        size_t i;
        json_t *o;
        json_array_foreach(j, i, o)
        {
            /* GitHub filters by head; GitLab by source_branch - check anyway. */
            const char *ref =
                c->github ? json_string_value(json_object_get(json_object_get(o, "head"), "ref"))
                          : json_string_value(json_object_get(o, "source_branch"));
            if (ref && strcmp(ref, pr->branch) == 0 && take(o, c->github, res) == 0) {
                res->existed = 1;
                rc = 1;
                break;
            }
        }
    }
    json_decref(j);
    wt_http_resp_release(&resp);
    return rc;
}

static json_t *
labels_array(const char *labels)
{
    json_t *a = json_array();
    for (const char *p = labels; p && *p;) {
        size_t n = strcspn(p, ",");
        while (n > 0 && *p == ' ')
            p++, n--;
        if (n > 0)
            json_array_append_new(a, json_stringn(p, n));
        p += n;
        if (*p == ',')
            p++;
    }
    return a;
}

/* Sets up c (token header from GITHUB_TOKEN / GITLAB_TOKEN) and returns
 * the project's API base URL (new), or NULL with err when no token is set. */
static char *
begin(call_t *c, wt_http_t *http, int github, const char *project, const char *what, wt_err_t *err)
{
    const char *token = getenv(github ? "GITHUB_TOKEN" : "GITLAB_TOKEN");
    const char *api = getenv(github ? "WORKTRAIN_GITHUB_API" : "WORKTRAIN_GITLAB_API");
    if (api == NULL || *api == '\0')
        api = github ? "https://api.github.com" : "https://gitlab.com/api/v4";
    if (token == NULL || *token == '\0') {
        wt_err_set(err, WT_EINVAL, "%s is not set: cannot open a %s",
                   github ? "GITHUB_TOKEN" : "GITLAB_TOKEN", what);
        return NULL;
    }
    c->http = http;
    c->github = github;
    c->token_header = github ? wt_xasprintf("Authorization: Bearer %s", token)
                             : wt_xasprintf("PRIVATE-TOKEN: %s", token);
    CURL *cu = curl_easy_init();
    char *pe = curl_easy_escape(cu, project, 0);
    char *base_url = github ? wt_xasprintf("%s/repos/%s", api, project)
                            : wt_xasprintf("%s/projects/%s", api, pe);
    curl_free(pe);
    curl_easy_cleanup(cu);
    return base_url;
}

/* Wipes and frees the token header begin() made. */
static void
end(call_t *c)
{
    char *th = (char *)c->token_header;
    explicit_bzero(th, strlen(th));
    free(th);
}

int
wt_forge_open(wt_http_t *http, const wt_forge_pr_t *pr, int attempt, wt_forge_result_t *res,
              wt_err_t *err)
{
    memset(res, 0, sizeof *res);
    res->retry_in_ms = -1;
    int github = strcmp(pr->forge, "github") == 0;
    call_t c;
    char *base_url =
        begin(&c, http, github, pr->project, github ? "pull request" : "merge request", err);
    if (base_url == NULL)
        return -1;
    int rc = find(&c, base_url, pr->project, pr, attempt, res, err);
    if (rc != 0)
        goto out; /* found it, or cannot tell */
    json_t *b;
    char *title =
        pr->draft && !github ? wt_xasprintf("Draft: %s", pr->title) : wt_xstrdup(pr->title);
    if (github)
        b = json_pack("{s:s,s:s,s:s,s:s,s:b}", "title", title, "head", pr->branch, "base", pr->base,
                      "body", pr->body, "draft", pr->draft);
    else {
        b = json_pack("{s:s,s:s,s:s,s:s}", "title", title, "source_branch", pr->branch,
                      "target_branch", pr->base, "description", pr->body);
        if (pr->labels && *pr->labels)
            json_object_set_new(b, "labels", json_string(pr->labels));
    }
    free(title);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    char *url = wt_xasprintf("%s/%s", base_url, github ? "pulls" : "merge_requests");
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, FORGE_BODY_CAP);
    json_t *j = NULL;
    rc = request(&c, "POST", url, body, &resp, &j, err);
    free(url);
    free(body);
    if (rc != 0) {
        res->retry_in_ms = retry_in(&resp, 0, attempt);
    } else if (resp.status == 201 && take(j, github, res) == 0) {
        rc = 0;
    } else if ((github && resp.status == 422) || (!github && resp.status == 409)) {
        /* It exists already (a create whose answer was lost, or another
         * worker's): find it and use it. */
        rc = find(&c, base_url, pr->project, pr, attempt, res, err);
        if (rc == 0)
            rc = fail(&resp, j, "the forge says the request exists but lists none", attempt, res,
                      err);
        else if (rc == 1)
            rc = 0;
    } else {
        rc = fail(&resp, j, github ? "creating the pull request" : "creating the merge request",
                  attempt, res, err);
    }
    json_decref(j);
    wt_http_resp_release(&resp);
    if (rc == 0 && github && pr->labels && *pr->labels && !res->existed) {
        /* Labels live on the issue side of a PR; best effort. */
        json_t *lb = json_pack("{s:o}", "labels", labels_array(pr->labels));
        char *lbody = json_dumps(lb, JSON_COMPACT);
        json_decref(lb);
        char *lurl = wt_xasprintf("%s/issues/%ld/labels", base_url, res->number);
        wt_http_resp_t lr;
        wt_http_resp_init(&lr, FORGE_BODY_CAP);
        json_t *lj = NULL;
        wt_err_t e2 = {0};
        request(&c, "POST", lurl, lbody, &lr, &lj, &e2);
        json_decref(lj);
        wt_http_resp_release(&lr);
        free(lurl);
        free(lbody);
    }
out:
    if (rc == 1)
        rc = 0;
    res->status = rc == 0 ? 200 : res->status;
    end(&c);
    free(base_url);
    return rc;
}

int
wt_forge_issue(wt_http_t *http, const char *forge, const char *project, const char *title,
               const char *body, const char *labels, wt_forge_result_t *res, wt_err_t *err)
{
    memset(res, 0, sizeof *res);
    res->retry_in_ms = -1;
    int github = strcmp(forge, "github") == 0;
    call_t c;
    char *base_url = begin(&c, http, github, project, "issue", err);
    if (base_url == NULL)
        return -1;
    json_t *b = json_pack("{s:s,s:s}", "title", title, github ? "body" : "description", body);
    if (labels && *labels)
        json_object_set_new(b, "labels", github ? labels_array(labels) : json_string(labels));
    char *payload = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    char *url = wt_xasprintf("%s/issues", base_url);
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, FORGE_BODY_CAP);
    json_t *j = NULL;
    int rc = request(&c, "POST", url, payload, &resp, &j, err);
    if (rc == 0 && resp.status == 201 && take(j, github, res) == 0)
        res->status = resp.status;
    else if (rc == 0)
        rc = fail(&resp, j, "creating the issue", 1, res, err);
    json_decref(j);
    wt_http_resp_release(&resp);
    free(url);
    free(payload);
    free(base_url);
    end(&c);
    return rc;
}

char *
wt_forge_truncate(const char *text, size_t max, const char *more)
{
    size_t chars = 0, i = 0;
    for (const char *p = text; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    if (chars <= max)
        return wt_xstrdup(text);
    char *note = wt_xasprintf("\n\n[... truncated to %zu characters; the full notes: %s]", max,
                              more ? more : "the session's events");
    size_t note_chars = 0;
    for (const char *p = note; *p; p++)
        note_chars += ((unsigned char)*p & 0xC0) != 0x80;
    size_t keep = max > note_chars ? max - note_chars : 0, seen = 0;
    /* Walk to the byte where character number keep starts. */
    for (i = 0; text[i]; i++) {
        if (((unsigned char)text[i] & 0xC0) != 0x80) {
            if (seen == keep)
                break;
            seen++;
        }
    }
    char *out = wt_xasprintf("%.*s%s", (int)i, text, note);
    free(note);
    return out;
}
