/* wt_trigger - triggers.yml loader: shape, environment expansion and
 * meaning checks, every problem reported with its line and column. */
#include "wt_trigger.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_jpath.h"
#include "wt_retain.h"
#include "wt_wsspec.h"
#include "wt_yaml.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct loader {
    const char *file;              /* for messages */
    const wt_trigger_opts_t *opts; /* workflow check */
    wt_diags_t *d;                 /* problems */
} loader_t;

#define ERR(L, n, ...)                                                                             \
    wt_diags_add((L)->d, (L)->file, wt_yaml_line(n), wt_yaml_col(n), 0, __VA_ARGS__)
#define WARN(L, n, ...)                                                                            \
    wt_diags_add((L)->d, (L)->file, wt_yaml_line(n), wt_yaml_col(n), 1, __VA_ARGS__)

/* WorkRail fields with no meaning here: accepted silently. */
static const char *const ignored_keys[] = {
    "autoMerge", "branchStrategy", "branchPrefix", "baseBranch",  "description",
    "name",      "enabled",        "onComplete",   "callbackUrl", "referenceUrls",
    "soulFile",  "tags",           "priority",     "notes",       NULL};

static const char *const provider_names[] = {
    NULL,   "generic",      "github_issues_poll", "github_prs_poll", "gitlab_poll",
    "cron", "alertmanager", "pagerduty",          "redis_stream"};
#define PROVIDER_LAST WT_TRIGGER_REDIS_STREAM

const char *
wt_trigger_provider_name(wt_trigger_provider_t p)
{
    return p >= WT_TRIGGER_GENERIC && p <= PROVIDER_LAST ? provider_names[p] : "unknown";
}

/* --- values --- */

/* Expands $NAME / ${NAME} / $$ from the environment; NULL (error added)
 * when a variable is unset or a ${ is not closed. */
static char *
expand_env(loader_t *L, const wt_yaml_node_t *n, const char *s)
{
    wt_buf_t b;
    wt_buf_init(&b, WT_YAML_MAX_BYTES);
    int ok = 1;
    for (const char *p = s; *p;) {
        if (*p != '$') {
            size_t k = strcspn(p, "$");
            wt_buf_append(&b, p, k, NULL);
            p += k;
            continue;
        }
        if (p[1] == '$') {
            wt_buf_append(&b, "$", 1, NULL);
            p += 2;
            continue;
        }
        const char *name = p + 1;
        size_t len;
        const char *after;
        if (*name == '{') {
            name++;
            const char *close = strchr(name, '}');
            if (close == NULL) {
                ERR(L, n, "'${' without a closing '}'");
                ok = 0;
                break;
            }
            len = (size_t)(close - name);
            after = close + 1;
        } else {
            len = 0;
            while (isalnum((unsigned char)name[len]) || name[len] == '_')
                len++;
            if (len == 0 || isdigit((unsigned char)name[0])) { /* "$5": a literal dollar */
                wt_buf_append(&b, "$", 1, NULL);
                p++;
                continue;
            }
            after = name + len;
        }
        char *var = wt_xstrndup(name, len);
        const char *val = len ? getenv(var) : NULL;
        if (val == NULL) {
            ERR(L, n, "environment variable '%s' is not set", var);
            ok = 0;
        } else {
            wt_buf_puts(&b, val, NULL);
        }
        free(var);
        p = after;
    }
    if (!ok) {
        wt_buf_release(&b);
        return NULL;
    }
    return wt_buf_detach(&b);
}

/* A scalar string value; NULL (error added) for collections or an empty
 * value. expand: apply $NAME. */
static char *
get_str(loader_t *L, const wt_yaml_node_t *key, const wt_yaml_node_t *v, int expand)
{
    if (wt_yaml_kind(v) != WT_YAML_SCALAR) {
        ERR(L, v, "'%s' must be a string, not a %s", wt_yaml_text(key), wt_yaml_kind_name(v));
        return NULL;
    }
    if (wt_yaml_is_null(v)) {
        ERR(L, v, "'%s' must not be empty", wt_yaml_text(key));
        return NULL;
    }
    return expand ? expand_env(L, v, wt_yaml_text(v)) : wt_xstrdup(wt_yaml_text(v));
}

/* A positive integer (at most max); 0 (error added) otherwise. */
static int
get_pos_int(loader_t *L, const wt_yaml_node_t *key, const wt_yaml_node_t *v, long long max)
{
    long long x;
    if (wt_yaml_kind(v) != WT_YAML_SCALAR || wt_yaml_int(v, &x) != 0 || x < 1 || x > max) {
        ERR(L, v, "'%s' must be a whole number from 1 to %lld", wt_yaml_text(key), max);
        return 0;
    }
    return (int)x;
}

/* A string or a list of strings. */
static void
get_strv(loader_t *L, const wt_yaml_node_t *key, const wt_yaml_node_t *v, wt_trigger_strv_t *out)
{
    if (wt_yaml_kind(v) == WT_YAML_SCALAR) {
        if (wt_yaml_is_null(v))
            return;
        out->v = wt_xcalloc(1, sizeof *out->v);
        out->v[0] = expand_env(L, v, wt_yaml_text(v));
        out->n = out->v[0] ? 1 : 0;
        return;
    }
    if (wt_yaml_kind(v) != WT_YAML_SEQ) {
        ERR(L, v, "'%s' must be a string or a list of strings", wt_yaml_text(key));
        return;
    }
    out->v = wt_xcalloc(wt_yaml_len(v) + 1, sizeof *out->v);
    for (size_t i = 0; i < wt_yaml_len(v); i++) {
        const wt_yaml_node_t *it = wt_yaml_seq_at(v, i);
        char *s = get_str(L, key, it, 1);
        if (s)
            out->v[out->n++] = s;
    }
}

static void
strv_free(wt_trigger_strv_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* http(s) URL with a host, checked with libcurl's URL parser. */
static void
check_url(loader_t *L, const wt_yaml_node_t *key, const wt_yaml_node_t *v, const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc == CURLUE_OK)
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (rc == CURLUE_OK)
        curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (rc != CURLUE_OK)
        ERR(L, v, "'%s' is not a valid URL: %s", wt_yaml_text(key), curl_url_strerror(rc));
    else if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        ERR(L, v, "'%s' must be an http:// or https:// URL", wt_yaml_text(key));
    else if (host == NULL || host[0] == '\0')
        ERR(L, v, "'%s' has no host", wt_yaml_text(key));
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
}

static int
is_ignored(const char *k)
{
    for (int i = 0; ignored_keys[i]; i++)
        if (strcmp(k, ignored_keys[i]) == 0)
            return 1;
    return 0;
}

static void
check_path(loader_t *L, const wt_yaml_node_t *v, const char *path, const char *what)
{
    char why[300];
    if (wt_jpath_check(path, why, sizeof why) != 0)
        ERR(L, v, "%s: %s", what, why);
}

/* --- sections --- */

static void
load_agent(loader_t *L, const wt_yaml_node_t *m, wt_trigger_agent_t *a)
{
    if (wt_yaml_kind(m) != WT_YAML_MAP) {
        ERR(L, m, "'agentConfig' must be a mapping, not a %s", wt_yaml_kind_name(m));
        return;
    }
    for (size_t i = 0; i < wt_yaml_len(m); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(m, i), *v = wt_yaml_map_value_at(m, i);
        const char *name = wt_yaml_text(k);
        if (strcmp(name, "model") == 0) {
            free(a->model);
            a->model = get_str(L, k, v, 1);
        } else if (strcmp(name, "modelTier") == 0) {
            free(a->model_tier);
            a->model_tier = get_str(L, k, v, 1);
            if (a->model_tier && strcmp(a->model_tier, "fast") != 0 &&
                strcmp(a->model_tier, "balanced") != 0 && strcmp(a->model_tier, "best") != 0)
                ERR(L, v, "unknown modelTier '%s' (expected fast, balanced or best)",
                    a->model_tier);
        } else if (strcmp(name, "maxSessionMinutes") == 0) {
            a->max_session_minutes = get_pos_int(L, k, v, 7 * 24 * 60);
        } else if (strcmp(name, "maxTurns") == 0) {
            a->max_turns = get_pos_int(L, k, v, 100000);
        } else if (strcmp(name, "stallTimeoutSeconds") == 0) {
            a->stall_timeout_seconds = get_pos_int(L, k, v, 86400);
        } else {
            WARN(L, k, "unknown agentConfig key '%s' ignored", name);
        }
    }
}

static void
load_source(loader_t *L, const wt_yaml_node_t *m, wt_trigger_source_t *s)
{
    if (wt_yaml_kind(m) != WT_YAML_MAP) {
        ERR(L, m, "'source' must be a mapping, not a %s", wt_yaml_kind_name(m));
        return;
    }
    for (size_t i = 0; i < wt_yaml_len(m); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(m, i), *v = wt_yaml_map_value_at(m, i);
        const char *name = wt_yaml_text(k);
        char **dst = NULL;
        if (strcmp(name, "repo") == 0)
            dst = &s->repo;
        else if (strcmp(name, "baseUrl") == 0)
            dst = &s->base_url;
        else if (strcmp(name, "projectId") == 0)
            dst = &s->project_id;
        else if (strcmp(name, "token") == 0)
            dst = &s->token;
        else if (strcmp(name, "apiBaseUrl") == 0)
            dst = &s->api_base_url;
        else if (strcmp(name, "stream") == 0)
            dst = &s->stream;
        else if (strcmp(name, "group") == 0)
            dst = &s->group;
        else if (strcmp(name, "redis") == 0)
            dst = &s->redis;
        if (dst != NULL) {
            free(*dst);
            *dst = get_str(L, k, v, 1);
            if (*dst && (dst == &s->base_url || dst == &s->api_base_url))
                check_url(L, k, v, *dst);
            if (*dst && dst == &s->repo) {
                const char *slash = strchr(*dst, '/');
                if (slash == NULL || slash == *dst || slash[1] == '\0' || strchr(slash + 1, '/'))
                    ERR(L, v, "'repo' must be OWNER/NAME, not '%s'", *dst);
            }
        } else if (strcmp(name, "pollIntervalSeconds") == 0) {
            s->poll_interval_seconds = get_pos_int(L, k, v, 86400);
        } else if (strcmp(name, "events") == 0) {
            get_strv(L, k, v, &s->events);
        } else if (strcmp(name, "excludeAuthors") == 0) {
            get_strv(L, k, v, &s->exclude_authors);
        } else if (strcmp(name, "labelFilter") == 0) {
            get_strv(L, k, v, &s->label_filter);
        } else if (strcmp(name, "notLabels") == 0) {
            get_strv(L, k, v, &s->not_labels);
        } else if (strcmp(name, "claimIdleSeconds") == 0) {
            s->claim_idle_seconds = get_pos_int(L, k, v, 86400);
        } else {
            WARN(L, k, "unknown source key '%s' ignored", name);
        }
    }
}

/* auth: {bearer: TOKEN} or {basic: {user, password}} (alertmanager). */
static void
load_auth(loader_t *L, const wt_yaml_node_t *m, wt_trigger_auth_t *a)
{
    if (wt_yaml_kind(m) != WT_YAML_MAP) {
        ERR(L, m, "'auth' must be a mapping {bearer: TOKEN} or {basic: {user, password}}");
        return;
    }
    for (size_t i = 0; i < wt_yaml_len(m); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(m, i), *v = wt_yaml_map_value_at(m, i);
        const char *name = wt_yaml_text(k);
        if (strcmp(name, "bearer") == 0) {
            free(a->bearer);
            a->bearer = get_str(L, k, v, 1);
            if (a->bearer && a->bearer[0] == '\0')
                ERR(L, v, "'bearer' is empty: anyone could send it");
        } else if (strcmp(name, "basic") == 0 && wt_yaml_kind(v) != WT_YAML_MAP) {
            ERR(L, v, "'basic' must be a mapping {user, password}");
        } else if (strcmp(name, "basic") == 0) {
            const wt_yaml_node_t *u = wt_yaml_map_get(v, "user"),
                                 *p = wt_yaml_map_get(v, "password");
            if (u == NULL || p == NULL) {
                ERR(L, v, "'basic' needs 'user' and 'password'");
                continue;
            }
            free(a->user);
            free(a->password);
            a->user = get_str(L, k, u, 1);
            a->password = get_str(L, k, p, 1);
            if (a->password && a->password[0] == '\0')
                ERR(L, p, "basic auth 'password' is empty");
        } else {
            ERR(L, k, "unknown auth key '%s' (expected bearer, or basic with user and password)",
                name);
        }
    }
    if (a->bearer && a->user)
        ERR(L, m, "'auth' takes bearer or basic, not both");
}

static void
load_context(loader_t *L, const wt_yaml_node_t *m, wt_trigger_t *t)
{
    if (wt_yaml_kind(m) != WT_YAML_MAP) {
        ERR(L, m, "'contextMapping' must be a mapping of variable: JSON path, not a %s",
            wt_yaml_kind_name(m));
        return;
    }
    t->context = wt_xcalloc(wt_yaml_len(m) + 1, sizeof *t->context);
    for (size_t i = 0; i < wt_yaml_len(m); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(m, i), *v = wt_yaml_map_value_at(m, i);
        char *path = get_str(L, k, v, 0);
        if (path == NULL)
            continue;
        check_path(L, v, path, "contextMapping");
        t->context[t->ncontext].var = wt_xstrdup(wt_yaml_text(k));
        t->context[t->ncontext++].path = path;
    }
}

static void
load_cond(loader_t *L, const wt_yaml_node_t *m, wt_trigger_cond_t *c)
{
    if (wt_yaml_kind(m) != WT_YAML_MAP) {
        ERR(L, m, "a dispatchCondition must be a mapping {path, equals|notEquals|in|exists}");
        return;
    }
    const wt_yaml_node_t *kp = NULL, *kop = NULL;
    for (size_t i = 0; i < wt_yaml_len(m); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(m, i), *v = wt_yaml_map_value_at(m, i);
        const char *name = wt_yaml_text(k);
        if (strcmp(name, "path") == 0) {
            kp = k;
            c->path = get_str(L, k, v, 0);
            if (c->path)
                check_path(L, v, c->path, "dispatchCondition");
            continue;
        }
        if (kop != NULL && (strcmp(name, "equals") == 0 || strcmp(name, "notEquals") == 0 ||
                            strcmp(name, "in") == 0 || strcmp(name, "exists") == 0)) {
            ERR(L, k, "dispatchCondition takes one of equals, notEquals, in, exists");
            continue;
        }
        if (strcmp(name, "equals") == 0 || strcmp(name, "notEquals") == 0) {
            kop = k;
            c->op = name[0] == 'e' ? WT_TRIGGER_COND_EQUALS : WT_TRIGGER_COND_NOT_EQUALS;
            if (wt_yaml_kind(v) != WT_YAML_SCALAR)
                ERR(L, v, "'%s' must be a scalar", name);
            else
                c->value = wt_xstrdup(wt_yaml_text(v));
        } else if (strcmp(name, "in") == 0) {
            kop = k;
            c->op = WT_TRIGGER_COND_IN;
            get_strv(L, k, v, &c->values);
        } else if (strcmp(name, "exists") == 0) {
            kop = k;
            int b = 0;
            if (wt_yaml_bool(v, &b) != 0)
                ERR(L, v, "'exists' must be true or false");
            c->op = b ? WT_TRIGGER_COND_EXISTS : WT_TRIGGER_COND_ABSENT;
        } else {
            ERR(L, k,
                "unknown dispatchCondition key '%s' (expected path, equals, notEquals, in, "
                "exists)",
                name);
        }
    }
    if (kp == NULL)
        ERR(L, m, "dispatchCondition needs a 'path'");
    if (kop == NULL)
        ERR(L, m, "dispatchCondition needs one of equals, notEquals, in, exists");
}

static void
load_conds(loader_t *L, const wt_yaml_node_t *v, wt_trigger_t *t)
{
    if (wt_yaml_kind(v) == WT_YAML_SEQ) {
        t->conds = wt_xcalloc(wt_yaml_len(v) + 1, sizeof *t->conds);
        for (size_t i = 0; i < wt_yaml_len(v); i++)
            load_cond(L, wt_yaml_seq_at(v, i), &t->conds[t->nconds++]);
        return;
    }
    t->conds = wt_xcalloc(1, sizeof *t->conds);
    load_cond(L, v, &t->conds[t->nconds++]);
}

static int
id_ok(const char *id)
{
    size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
    return n == strlen(id) && n >= 1 && n <= 64;
}

/* --- the workspace (DESIGN.md 15) --- */

/* The delivery fields of a trigger, gathered while its keys are read. */
typedef struct ws_fields {
    json_t *spec;                /* fields given, each checked by wt_wsspec_set */
    int open_pr;                 /* autoOpenPR: true (deliver: pr) */
    const wt_yaml_node_t *any_v; /* the first of these keys, for messages */
} ws_fields_t;

/* A git URL rather than a local path: scheme://... or scp-like
 * user@host:path. */
static int
is_remote_url(const char *s)
{
    if (strstr(s, "://"))
        return 1;
    const char *colon = strchr(s, ':'), *slash = strchr(s, '/');
    return colon && colon != s && (slash == NULL || colon < slash);
}

/* labels: a string (comma-separated) or a list of strings, joined by ','. */
static char *
get_labels(loader_t *L, const wt_yaml_node_t *k, const wt_yaml_node_t *v)
{
    wt_trigger_strv_t sv = {0};
    get_strv(L, k, v, &sv);
    wt_buf_t b;
    wt_buf_init(&b, WT_YAML_MAX_BYTES);
    for (size_t i = 0; i < sv.n; i++)
        wt_buf_printf(&b, NULL, "%s%s", i ? "," : "", sv.v[i]);
    strv_free(&sv);
    if (b.len == 0) {
        wt_buf_release(&b);
        return NULL;
    }
    return wt_buf_detach(&b);
}

/* Turns the trigger's workspace into what SPAWN carries: a local path
 * alone stays a path (a worktree of that repository, as before); a URL, or
 * any of autoCommit/autoOpenPR/deliver/ref/forge/forgeProject/labels, makes
 * the JSON spec a worker's wt_repo reads ({"repo", "ref", "auto_commit",
 * "deliver", ...}), like spawn --repo/--auto-commit/--deliver. autoOpenPR:
 * true means deliver: pr. Consumes ws. */
static void
workspace_spec(loader_t *L, const wt_yaml_node_t *m, wt_trigger_t *t, ws_fields_t *ws)
{
    int spec = json_object_size(ws->spec) > 0 || ws->open_pr ||
               (t->workspace_path && is_remote_url(t->workspace_path));
    const char *deliver = json_string_value(json_object_get(ws->spec, "deliver"));
    if (ws->open_pr && deliver && strcmp(deliver, "pr") != 0)
        ERR(L, m, "trigger '%s': autoOpenPR: true and deliver: %s disagree", t->id ? t->id : "?",
            deliver);
    if (spec && t->workspace_path == NULL && ws->any_v)
        ERR(L, ws->any_v, "trigger '%s': '%s' needs 'workspace' (a repository URL or path)",
            t->id ? t->id : "?", wt_yaml_text(ws->any_v));
    if (spec && t->workspace_path) {
        char why[256] = "";
        json_object_set_new(ws->spec, "repo", json_string(t->workspace_path));
        if (ws->open_pr)
            json_object_set_new(ws->spec, "deliver", json_string("pr"));
        char *js = wt_wsspec_dump(ws->spec, why, sizeof why);
        if (js == NULL) {
            ERR(L, m, "trigger '%s': the workspace is not valid UTF-8", t->id ? t->id : "?");
        } else {
            free(t->workspace_path);
            t->workspace_path = js;
        }
    }
    json_decref(ws->spec);
    ws->spec = NULL;
}

/* --- one trigger --- */

static void
load_trigger(loader_t *L, const wt_yaml_node_t *m, wt_trigger_t *t)
{
    t->line = wt_yaml_line(m);
    if (wt_yaml_kind(m) != WT_YAML_MAP) {
        ERR(L, m, "a trigger must be a mapping, not a %s", wt_yaml_kind_name(m));
        return;
    }
    const wt_yaml_node_t *provider_v = NULL, *workflow_v = NULL, *workspace_v = NULL,
                         *schedule_v = NULL, *tz_v = NULL, *goal_v = NULL, *id_v = NULL,
                         *ws_key = NULL;
    ws_fields_t ws = {json_object(), 0, NULL};
    for (size_t i = 0; i < wt_yaml_len(m); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(m, i), *v = wt_yaml_map_value_at(m, i);
        const char *name = wt_yaml_text(k);
        if (name == NULL) {
            ERR(L, k, "keys must be strings");
        } else if (strcmp(name, "id") == 0) {
            id_v = v;
            t->id = get_str(L, k, v, 1);
            if (t->id && !id_ok(t->id)) {
                ERR(L, v, "trigger id '%s' must be 1-64 characters of A-Z a-z 0-9 _ . -", t->id);
            }
        } else if (strcmp(name, "provider") == 0) {
            provider_v = v;
            char *p = get_str(L, k, v, 1);
            for (int j = WT_TRIGGER_GENERIC; p && j <= PROVIDER_LAST; j++)
                if (strcmp(p, provider_names[j]) == 0)
                    t->provider = (wt_trigger_provider_t)j;
            if (p && t->provider == 0)
                ERR(L, v,
                    "unknown provider '%s' (expected generic, github_issues_poll, "
                    "github_prs_poll, gitlab_poll, cron, alertmanager, pagerduty or "
                    "redis_stream)",
                    p);
            free(p);
        } else if (strcmp(name, "workflowId") == 0) {
            workflow_v = v;
            t->workflow_id = get_str(L, k, v, 1);
        } else if (strcmp(name, "workspacePath") == 0 || strcmp(name, "workspace") == 0 ||
                   strcmp(name, "repo") == 0) {
            if (workspace_v != NULL)
                ERR(L, k, "'%s' and '%s' both name the workspace: keep one", name,
                    wt_yaml_text(ws_key));
            workspace_v = v;
            ws_key = k;
            free(t->workspace_path); /* a second workspace key, already reported */
            t->workspace_path = get_str(L, k, v, 1);
        } else if (strcmp(name, "autoCommit") == 0 || strcmp(name, "autoOpenPR") == 0) {
            int b = 0;
            if (wt_yaml_kind(v) != WT_YAML_SCALAR || wt_yaml_bool(v, &b) != 0)
                ERR(L, v, "'%s' must be true or false", name);
            else if (name[4] == 'C' && b)
                json_object_set_new(ws.spec, "auto_commit", json_true());
            else if (name[4] != 'C')
                ws.open_pr = b;
            ws.any_v = ws.any_v ? ws.any_v : k;
        } else if (strcmp(name, "ref") == 0 || strcmp(name, "deliver") == 0 ||
                   strcmp(name, "forge") == 0 || strcmp(name, "forgeProject") == 0 ||
                   strcmp(name, "labels") == 0) {
            char *val = strcmp(name, "labels") == 0 ? get_labels(L, k, v) : get_str(L, k, v, 1);
            char why[256];
            if (val && wt_wsspec_set(ws.spec, strcmp(name, "forgeProject") == 0 ? "project" : name,
                                     val, why, sizeof why) != 0)
                ERR(L, v, "%s", why);
            free(val);
            ws.any_v = ws.any_v ? ws.any_v : k;
        } else if (strcmp(name, "goal") == 0) {
            goal_v = v;
            t->goal = get_str(L, k, v, 0);
        } else if (strcmp(name, "goalTemplate") == 0) {
            goal_v = v;
            t->goal_template = get_str(L, k, v, 0);
            char why[300];
            size_t off = 0;
            if (t->goal_template &&
                wt_jpath_template_check(t->goal_template, why, sizeof why, &off) != 0)
                ERR(L, v, "goalTemplate: %s (at character %zu)", why, off + 1);
        } else if (strcmp(name, "contextMapping") == 0) {
            load_context(L, v, t);
        } else if (strcmp(name, "dispatchCondition") == 0) {
            load_conds(L, v, t);
        } else if (strcmp(name, "hmacSecret") == 0) {
            t->hmac_secret = get_str(L, k, v, 1);
            if (t->hmac_secret && t->hmac_secret[0] == '\0')
                ERR(L, v, "'hmacSecret' is empty: anyone could sign with an empty key");
        } else if (strcmp(name, "hmacSecrets") == 0) {
            get_strv(L, k, v, &t->hmac_secrets);
            for (size_t j = 0; j < t->hmac_secrets.n; j++)
                if (t->hmac_secrets.v[j][0] == '\0')
                    ERR(L, v, "'hmacSecrets' holds an empty secret");
        } else if (strcmp(name, "auth") == 0) {
            load_auth(L, v, &t->auth);
        } else if (strcmp(name, "concurrencyMode") == 0) {
            char *s = get_str(L, k, v, 1);
            if (s && strcmp(s, "serial") == 0)
                t->serial = 1;
            else if (s && strcmp(s, "parallel") != 0)
                ERR(L, v, "unknown concurrencyMode '%s' (expected serial or parallel)", s);
            free(s);
        } else if (strcmp(name, "maxQueueDepth") == 0) {
            t->max_queue_depth = get_pos_int(L, k, v, 100000);
        } else if (strcmp(name, "retain") == 0) {
            char *s = get_str(L, k, v, 1);
            wt_err_t e = {0};
            if (s && wt_retain_parse("retain", s, &t->retain_ms, &e) != 0)
                ERR(L, v, "%s", e.msg);
            free(s);
        } else if (strcmp(name, "agentConfig") == 0) {
            load_agent(L, v, &t->agent);
        } else if (strcmp(name, "source") == 0) {
            load_source(L, v, &t->source);
        } else if (strcmp(name, "schedule") == 0) {
            schedule_v = v;
            t->schedule = get_str(L, k, v, 1);
        } else if (strcmp(name, "timezone") == 0) {
            tz_v = v;
            t->timezone = get_str(L, k, v, 1);
        } else if (!is_ignored(name)) {
            WARN(L, k, "unknown trigger key '%s' ignored", name);
        }
    }
    if (id_v == NULL)
        ERR(L, m, "trigger has no 'id'");
    const char *who = t->id ? t->id : "?";
    if (provider_v == NULL)
        ERR(L, m, "trigger '%s' has no 'provider'", who);
    if (workflow_v == NULL) {
        ERR(L, m, "trigger '%s' has no 'workflowId'", who);
    } else if (t->workflow_id) {
        if (L->opts && L->opts->known_workflow) {
            if (!L->opts->known_workflow(L->opts->ud, t->workflow_id))
                ERR(L, workflow_v, "unknown workflowId '%s' (not among the fleet's workflows)",
                    t->workflow_id);
        } else {
            WARN(L, workflow_v, "workflowId '%s' not checked: no list of the fleet's workflows",
                 t->workflow_id);
        }
    }
    if (t->workspace_path && !is_remote_url(t->workspace_path)) {
        struct stat st;
        if (stat(t->workspace_path, &st) != 0 || !S_ISDIR(st.st_mode))
            WARN(L, workspace_v, "%s '%s' is not a directory here", wt_yaml_text(ws_key),
                 t->workspace_path);
    }
    workspace_spec(L, m, t, &ws);
    if (t->goal && t->goal_template)
        ERR(L, goal_v, "trigger '%s' has both 'goal' and 'goalTemplate': keep one", who);
    if (t->goal == NULL && t->goal_template == NULL && goal_v == NULL)
        ERR(L, m, "trigger '%s' has no 'goal' or 'goalTemplate'", who);
    if (t->provider == WT_TRIGGER_CRON) {
        if (schedule_v == NULL) {
            ERR(L, m, "cron trigger '%s' has no 'schedule'", who);
        } else if (t->schedule) {
            char why[200];
            size_t off = 0;
            if (wt_cron_parse(&t->cron, t->schedule, why, sizeof why, &off) != 0) {
                int col = wt_yaml_col(schedule_v) + (int)off +
                          (wt_yaml_style(schedule_v) == WT_YAML_PLAIN ? 0 : 1);
                wt_diags_add(L->d, L->file, wt_yaml_line(schedule_v), col, 0,
                             "bad cron schedule '%s': %s", t->schedule, why);
            }
        }
    } else if (schedule_v != NULL && t->provider) {
        WARN(L, schedule_v, "'schedule' is only used by the cron provider");
    }
    if (tz_v != NULL && t->timezone) {
        const char *tz = getenv("TZ");
        if (tz == NULL || strcmp(tz, t->timezone) != 0)
            WARN(L, tz_v,
                 "timezone '%s' is not applied per trigger: cron uses the broker's time zone "
                 "(TZ or broker --timezone)",
                 t->timezone);
    }
    if (t->provider == WT_TRIGGER_GITHUB_ISSUES_POLL || t->provider == WT_TRIGGER_GITHUB_PRS_POLL) {
        if (t->source.repo == NULL)
            ERR(L, m, "trigger '%s': provider %s needs source.repo", who,
                wt_trigger_provider_name(t->provider));
    } else if (t->provider == WT_TRIGGER_GITLAB_POLL) {
        if (t->source.base_url == NULL || t->source.project_id == NULL)
            ERR(L, m,
                "trigger '%s': provider gitlab_poll needs source.baseUrl and "
                "source.projectId",
                who);
    } else if (t->provider == WT_TRIGGER_REDIS_STREAM) {
        if (t->source.stream == NULL || t->source.group == NULL)
            ERR(L, m, "trigger '%s': provider redis_stream needs source.stream and source.group",
                who);
        if (t->serial)
            ERR(L, m,
                "trigger '%s': redis_stream takes concurrencyMode parallel (the stream is the "
                "queue; use maxQueueDepth)",
                who);
    } else if (t->provider == WT_TRIGGER_PAGERDUTY) {
        if (t->hmac_secret == NULL && t->hmac_secrets.n == 0)
            WARN(L, m, "pagerduty trigger '%s' has no hmacSecret(s): unsigned events accepted",
                 who);
    }
    if (t->serial &&
        (t->provider == WT_TRIGGER_ALERTMANAGER || t->provider == WT_TRIGGER_PAGERDUTY))
        ERR(L, m,
            "trigger '%s': %s takes concurrencyMode parallel (one session per incident; use "
            "maxQueueDepth)",
            who, wt_trigger_provider_name(t->provider));
    if ((t->auth.bearer || t->auth.user) && t->provider != WT_TRIGGER_ALERTMANAGER)
        ERR(L, m, "trigger '%s': 'auth' is for the alertmanager provider (others use hmacSecret)",
            who);
    if ((t->hmac_secret || t->hmac_secrets.n) && t->provider == WT_TRIGGER_ALERTMANAGER)
        ERR(L, m, "trigger '%s': alertmanager sends no signature: use 'auth'", who);
}

static void
trigger_release(wt_trigger_t *t)
{
    free(t->id);
    free(t->workflow_id);
    free(t->workspace_path);
    free(t->goal);
    free(t->goal_template);
    for (size_t i = 0; i < t->ncontext; i++) {
        free(t->context[i].var);
        free(t->context[i].path);
    }
    free(t->context);
    for (size_t i = 0; i < t->nconds; i++) {
        free(t->conds[i].path);
        free(t->conds[i].value);
        strv_free(&t->conds[i].values);
    }
    free(t->conds);
    free(t->hmac_secret);
    strv_free(&t->hmac_secrets);
    free(t->auth.bearer);
    free(t->auth.user);
    free(t->auth.password);
    free(t->source.stream);
    free(t->source.group);
    free(t->source.redis);
    free(t->agent.model);
    free(t->agent.model_tier);
    free(t->source.repo);
    free(t->source.base_url);
    free(t->source.project_id);
    free(t->source.token);
    free(t->source.api_base_url);
    strv_free(&t->source.events);
    strv_free(&t->source.exclude_authors);
    strv_free(&t->source.label_filter);
    strv_free(&t->source.not_labels);
    free(t->schedule);
    free(t->timezone);
}

void
wt_triggers_destroy(wt_triggers_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_triggers_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        trigger_release(&self->v[i]);
    free(self->v);
    free(self);
    *self_p = NULL;
}

static wt_triggers_t *
load_tree(loader_t *L, wt_yaml_t *y, const wt_yaml_error_t *ye)
{
    if (y == NULL) {
        wt_diags_add(L->d, L->file, ye->line, ye->col, 0, "%s", ye->err.msg);
        return NULL;
    }
    const wt_yaml_node_t *root = wt_yaml_root(y);
    const wt_yaml_node_t *list = root ? wt_yaml_map_get(root, "triggers") : NULL;
    if (root == NULL || wt_yaml_kind(root) != WT_YAML_MAP || list == NULL) {
        wt_diags_add(L->d, L->file, root ? wt_yaml_line(root) : 1, root ? wt_yaml_col(root) : 1, 0,
                     "expected a mapping with a top-level 'triggers:' list");
        return NULL;
    }
    for (size_t i = 0; i < wt_yaml_len(root); i++) {
        const wt_yaml_node_t *k = wt_yaml_map_key_at(root, i);
        if (wt_yaml_text(k) && strcmp(wt_yaml_text(k), "triggers") != 0)
            WARN(L, k, "unknown top-level key '%s' ignored", wt_yaml_text(k));
    }
    if (wt_yaml_kind(list) != WT_YAML_SEQ) {
        if (!wt_yaml_is_null(list))
            ERR(L, list, "'triggers' must be a list, not a %s", wt_yaml_kind_name(list));
        else
            WARN(L, list, "'triggers' is empty");
        if (!wt_yaml_is_null(list))
            return NULL;
    }
    wt_triggers_t *self = wt_xcalloc(1, sizeof *self);
    self->v = wt_xcalloc(wt_yaml_len(list) + 1, sizeof *self->v);
    for (size_t i = 0; i < wt_yaml_len(list); i++) {
        const wt_yaml_node_t *item = wt_yaml_seq_at(list, i);
        wt_trigger_t *t = &self->v[self->n++];
        load_trigger(L, item, t);
        for (size_t j = 0; t->id && j + 1 < self->n; j++)
            if (self->v[j].id && strcmp(self->v[j].id, t->id) == 0)
                ERR(L, item, "duplicate trigger id '%s' (first at line %d)", t->id,
                    self->v[j].line);
    }
    return self;
}

wt_triggers_t *
wt_triggers_load_buffer(const char *text, size_t len, const char *file,
                        const wt_trigger_opts_t *opts, wt_diags_t *d)
{
    loader_t L = {file, opts, d};
    int before = d->errors;
    wt_yaml_error_t ye = {0};
    wt_yaml_t *y = wt_yaml_load_buffer(text, len, &ye);
    wt_triggers_t *self = load_tree(&L, y, &ye);
    wt_yaml_destroy(&y);
    if (d->errors > before)
        wt_triggers_destroy(&self);
    return self;
}

wt_triggers_t *
wt_triggers_load_file(const char *path, const wt_trigger_opts_t *opts, wt_diags_t *d)
{
    loader_t L = {path, opts, d};
    int before = d->errors;
    wt_yaml_error_t ye = {0};
    wt_yaml_t *y = wt_yaml_load_file(path, &ye);
    wt_triggers_t *self = load_tree(&L, y, &ye);
    wt_yaml_destroy(&y);
    if (d->errors > before)
        wt_triggers_destroy(&self);
    return self;
}

const wt_trigger_t *
wt_triggers_find(const wt_triggers_t *self, const char *id)
{
    for (size_t i = 0; self && i < self->n; i++)
        if (self->v[i].id && strcmp(self->v[i].id, id) == 0)
            return &self->v[i];
    return NULL;
}

int
wt_triggers_sniff(const char *path)
{
    wt_yaml_error_t ye = {0};
    wt_yaml_t *y = wt_yaml_load_file(path, &ye);
    const wt_yaml_node_t *root = y ? wt_yaml_root(y) : NULL;
    int yes = root && wt_yaml_kind(root) == WT_YAML_MAP && wt_yaml_map_get(root, "triggers");
    wt_yaml_destroy(&y);
    return yes;
}
