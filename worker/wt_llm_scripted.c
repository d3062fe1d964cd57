/* wt_llm_scripted - replays a JSON script: the Nth assistant turn of a
 * session gets the Nth reply. Used by tests, the demo and benchmarks, so it
 * goes through the same retry path as real providers ("error" entries) and
 * can be slow on purpose ("delay_ms"). The script is parsed once and shared
 * read-only by all session threads; each reply is deep-copied with
 * "{{goal}}", "{{session}}" and "{{context.KEY}}" substituted, so
 * per-session outputs differ.
 *
 * A script is either an array of replies (every session replays it) or an
 * object {"scripts": [{"name"?, "when"?, "replies": [...]}, ...]}: the first
 * entry whose `when` holds for the session supplies its replies. `when`
 * may give `workflow` (equal), `goal_contains` (substring) and `context`
 * (each key's value equal to the session's initial context value; a number
 * and its decimal string are equal). The selection depends only on the
 * workflow, goal and initial context, which never change during a session,
 * so every turn of a session picks the same entry. */
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_llm_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* where: "[3]" or "scripts[1].replies[3]". */
static int
check_reply(const char *path, const char *where, json_t *r, wt_err_t *err)
{
    if (!json_is_object(r))
        return wt_err_set(err, WT_EINVAL, "%s: %s: a reply must be an object", path, where);
    json_t *text = json_object_get(r, "text"), *calls = json_object_get(r, "tool_calls");
    json_t *error = json_object_get(r, "error");
    if (text && !json_is_string(text))
        return wt_err_set(err, WT_EINVAL, "%s: %s: text must be a string", path, where);
    if (calls && !json_is_array(calls))
        return wt_err_set(err, WT_EINVAL, "%s: %s: tool_calls must be an array", path, where);
    if (!text && !calls && !error)
        return wt_err_set(err, WT_EINVAL, "%s: %s: needs text, tool_calls or error", path, where);
    size_t k;
    json_t *c;
    json_array_foreach(calls, k, c)
    {
        if (!json_is_string(json_object_get(c, "name")))
            return wt_err_set(err, WT_EINVAL, "%s: %s: tool_calls[%zu] has no name", path, where,
                              k);
        json_t *in = json_object_get(c, "input");
        if (in && !json_is_object(in))
            return wt_err_set(err, WT_EINVAL, "%s: %s: tool_calls[%zu].input must be an object",
                              path, where, k);
    }
    json_t *d = json_object_get(r, "delay_ms");
    if (d && (!json_is_integer(d) || json_integer_value(d) < 0))
        return wt_err_set(err, WT_EINVAL, "%s: %s: delay_ms must be a non-negative integer", path,
                          where);
    return 0;
}

/* prefix: "" for the array form, "scripts[1].replies" for an entry. */
static int
check_replies(const char *path, const char *prefix, json_t *replies, wt_err_t *err)
{
    size_t i;
    json_t *r;
    json_array_foreach(replies, i, r)
    {
        char where[96];
        snprintf(where, sizeof where, "%s[%zu]", prefix, i);
        if (check_reply(path, where, r, err) != 0)
            return -1;
    }
    return 0;
}

static int
check_when(const char *path, size_t i, json_t *when, wt_err_t *err)
{
    if (!json_is_object(when))
        return wt_err_set(err, WT_EINVAL, "%s: scripts[%zu].when: must be an object", path, i);
    const char *k;
    json_t *v;
    json_object_foreach(when, k, v)
    {
        if (strcmp(k, "workflow") == 0 || strcmp(k, "goal_contains") == 0) {
            if (!json_is_string(v))
                return wt_err_set(err, WT_EINVAL, "%s: scripts[%zu].when.%s: must be a string",
                                  path, i, k);
        } else if (strcmp(k, "context") == 0) {
            if (!json_is_object(v))
                return wt_err_set(err, WT_EINVAL,
                                  "%s: scripts[%zu].when.context: must be an object of "
                                  "context key -> expected value",
                                  path, i);
        } else {
            return wt_err_set(err, WT_EINVAL,
                              "%s: scripts[%zu].when: unknown key '%.40s' (expected workflow, "
                              "goal_contains or context)",
                              path, i, k);
        }
    }
    return 0;
}

static int
check_entries(const char *path, json_t *s, wt_err_t *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v)
    {
        if (strcmp(k, "scripts") != 0)
            return wt_err_set(err, WT_EINVAL, "%s: unknown key '%.40s' (expected scripts)", path,
                              k);
    }
    json_t *scripts = json_object_get(s, "scripts");
    if (!json_is_array(scripts) || json_array_size(scripts) == 0)
        return wt_err_set(err, WT_EINVAL,
                          "%s: scripts: must be a non-empty array of {when, replies} entries",
                          path);
    size_t i, catch_all = (size_t)-1;
    json_t *e;
    json_array_foreach(scripts, i, e)
    {
        if (!json_is_object(e))
            return wt_err_set(err, WT_EINVAL, "%s: scripts[%zu]: must be an object", path, i);
        if (catch_all != (size_t)-1)
            return wt_err_set(err, WT_EINVAL,
                              "%s: scripts[%zu]: unreachable: scripts[%zu] has no when and "
                              "matches every session (move it last)",
                              path, i, catch_all);
        json_object_foreach(e, k, v)
        {
            if (strcmp(k, "when") != 0 && strcmp(k, "replies") != 0 && strcmp(k, "name") != 0)
                return wt_err_set(err, WT_EINVAL,
                                  "%s: scripts[%zu]: unknown key '%.40s' (expected when, replies "
                                  "or name)",
                                  path, i, k);
        }
        json_t *name = json_object_get(e, "name");
        if (name && !json_is_string(name))
            return wt_err_set(err, WT_EINVAL, "%s: scripts[%zu].name: must be a string", path, i);
        json_t *when = json_object_get(e, "when");
        if (when && check_when(path, i, when, err) != 0)
            return -1;
        if (when == NULL || json_object_size(when) == 0)
            catch_all = i;
        json_t *replies = json_object_get(e, "replies");
        if (!json_is_array(replies))
            return wt_err_set(err, WT_EINVAL,
                              "%s: scripts[%zu].replies: must be an array of replies", path, i);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "scripts[%zu].replies", i);
        if (check_replies(path, prefix, replies, err) != 0)
            return -1;
    }
    return 0;
}

json_t *
wt_llm_scripted_load(const char *path, wt_err_t *err)
{
    json_error_t jerr;
    json_t *s = json_load_file(path, 0, &jerr);
    if (s == NULL) {
        wt_err_set(err, WT_EINVAL, "%s: line %d column %d: %s", path, jerr.line, jerr.column,
                   jerr.text);
        return NULL;
    }
    int rc;
    if (json_is_array(s))
        rc = check_replies(path, "", s, err);
    else if (json_is_object(s))
        rc = check_entries(path, s, err);
    else
        rc = wt_err_set(err, WT_EINVAL,
                        "%s: a script must be a JSON array of replies or an object "
                        "{\"scripts\": [...]}",
                        path);
    if (rc != 0) {
        json_decref(s);
        return NULL;
    }
    return s;
}

/* A number, or a string that is entirely a decimal number: 1 and *out set. */
static int
as_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '+' || *s == '.'))
        return 0;
    char *end = NULL;
    double d = strtod(s, &end);
    if (end == s || *end != '\0' || strchr(s, 'x') || strchr(s, 'X') || !isfinite(d))
        return 0;
    *out = d;
    return 1;
}

/* JSON equality where numbers compare by value and a number equals its
 * decimal string ("2" == 2, 2 == 2.0), also inside arrays and objects. */
static int
loose_equal(const json_t *a, const json_t *b)
{
    double x, y;
    if ((json_is_number(a) || json_is_number(b)) && as_number(a, &x) && as_number(b, &y))
        return x == y;
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!loose_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a) && json_is_object(b)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (w == NULL || !loose_equal(v, w))
                return 0;
        }
        return 1;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

static int
when_holds(json_t *when, const char *workflow, const char *goal, json_t *context)
{
    const char *wf = json_string_value(json_object_get(when, "workflow"));
    if (wf && strcmp(wf, workflow ? workflow : "") != 0)
        return 0;
    const char *part = json_string_value(json_object_get(when, "goal_contains"));
    if (part && strstr(goal ? goal : "", part) == NULL)
        return 0;
    const char *k;
    json_t *want;
    json_object_foreach(json_object_get(when, "context"), k, want)
    {
        json_t *got = json_object_get(context, k);
        if (got == NULL || !loose_equal(want, got))
            return 0;
    }
    return 1;
}

json_t *
wt_llm_scripted_select(json_t *script, const char *workflow, const char *goal, json_t *context,
                       wt_err_t *err)
{
    if (json_is_array(script))
        return script;
    json_t *scripts = json_object_get(script, "scripts");
    size_t i;
    json_t *e;
    json_array_foreach(scripts, i, e)
    {
        json_t *when = json_object_get(e, "when");
        if (when == NULL || when_holds(when, workflow, goal, context))
            return json_object_get(e, "replies");
    }
    wt_err_set(err, WT_EINVAL,
               "scripted: no script entry matches workflow '%.64s' (goal \"%.60s\"; %zu entries "
               "tried)",
               workflow ? workflow : "", goal ? goal : "", json_array_size(scripts));
    return NULL;
}

/* Appends the text of context value KEY (a plain key, else a dotted path):
 * a string raw, anything else as compact JSON, nothing when missing. */
static void
put_context(wt_buf_t *b, json_t *context, const char *key, size_t len)
{
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), key);
    json_t *v = json_object_get(context, name);
    if (v == NULL && strchr(name, '.')) {
        v = context;
        for (char *part = name, *dot; part && v; part = dot ? dot + 1 : NULL) {
            dot = strchr(part, '.');
            if (dot)
                *dot = '\0';
            v = json_object_get(v, part);
        }
    }
    if (v == NULL)
        return;
    if (json_is_string(v)) {
        wt_buf_append(b, json_string_value(v), json_string_length(v), NULL);
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text)
        wt_buf_puts(b, text, NULL);
    free(text);
}

static char *
substitute(const char *s, const wt_llm_request_t *req)
{
    if (strstr(s, "{{") == NULL)
        return wt_xstrdup(s);
    wt_buf_t b;
    wt_buf_init(&b, 1 << 24);
    while (*s) {
        if (strncmp(s, "{{goal}}", 8) == 0) {
            wt_buf_puts(&b, req->goal ? req->goal : "", NULL);
            s += 8;
        } else if (strncmp(s, "{{session}}", 11) == 0) {
            wt_buf_puts(&b, req->session ? req->session : "", NULL);
            s += 11;
        } else if (strncmp(s, "{{context.", 10) == 0 && strstr(s + 10, "}}") != NULL) {
            const char *key = s + 10, *close = strstr(key, "}}");
            put_context(&b, req->context, key, (size_t)(close - key));
            s = close + 2;
        } else {
            wt_buf_append(&b, s++, 1, NULL);
        }
    }
    return wt_buf_detach(&b);
}

/* Deep copy of v with substitution in every string. New reference. */
static json_t *
render(json_t *v, const wt_llm_request_t *req)
{
    if (json_is_string(v)) {
        char *s = substitute(json_string_value(v), req);
        json_t *out = json_string(s);
        free(s);
        return out ? out : json_string("");
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(out, render(x, req));
        return out;
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) json_object_set_new(out, k, render(x, req));
        return out;
    }
    return json_deep_copy(v);
}

static int
scripted_call(wt_llm_t *self, const wt_llm_request_t *req, const char *model, wt_llm_reply_t *reply,
              long *status, int64_t *retry_after, wt_err_t *err)
{
    (void)retry_after;
    snprintf(reply->model, sizeof reply->model, "%s", model);
    json_t *replies =
        wt_llm_scripted_select(self->script, req->workflow, req->goal, req->context, err);
    if (replies == NULL)
        return -1;
    json_t *r = req->turn >= 0 ? json_array_get(replies, (size_t)req->turn) : NULL;
    if (r == NULL) {
        reply->text = wt_xstrdup("script exhausted");
        snprintf(reply->stop_reason, sizeof reply->stop_reason, "end_turn");
        reply->input_tokens = 1;
        reply->output_tokens = 1;
        return 0;
    }
    json_int_t delay = json_integer_value(json_object_get(r, "delay_ms"));
    for (json_int_t waited = 0; waited < delay; waited += 50) {
        if (req->cancel && *req->cancel)
            return wt_err_set(err, WT_ETIMEDOUT, "scripted reply cancelled");
        wt_clock_sleep_ms(delay - waited < 50 ? delay - waited : 50);
    }
    json_t *error = json_object_get(r, "error");
    if (error) {
        *status = (long)json_integer_value(json_object_get(error, "status"));
        return wt_err_set(err, WT_EHTTP, "scripted error: HTTP %ld", *status);
    }
    const char *text = json_string_value(json_object_get(r, "text"));
    reply->text = text ? substitute(text, req) : wt_xstrdup("");
    json_t *calls = json_object_get(r, "tool_calls");
    reply->ncalls = json_array_size(calls);
    reply->calls = reply->ncalls ? wt_xcalloc(reply->ncalls, sizeof *reply->calls) : NULL;
    for (size_t i = 0; i < reply->ncalls; i++) {
        json_t *c = json_array_get(calls, i);
        reply->calls[i].id = wt_xasprintf("call_%d_%zu", req->turn, i);
        reply->calls[i].name = wt_xstrdup(json_string_value(json_object_get(c, "name")));
        json_t *in = json_object_get(c, "input");
        reply->calls[i].input = in ? render(in, req) : json_object();
    }
    const char *stop = json_string_value(json_object_get(r, "stop_reason"));
    snprintf(reply->stop_reason, sizeof reply->stop_reason, "%s",
             stop ? stop : (reply->ncalls ? "tool_use" : "end_turn"));
    char *conv = json_dumps(req->messages, JSON_COMPACT);
    reply->input_tokens = wt_llm_estimate_tokens(req->system) + wt_llm_estimate_tokens(conv);
    free(conv);
    char *out = json_dumps(r, JSON_COMPACT);
    reply->output_tokens = wt_llm_estimate_tokens(out);
    free(out);
    return 0;
}

const wt_llm_provider_t wt_llm_scripted_provider = {"scripted", scripted_call};
