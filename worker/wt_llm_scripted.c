/* wt_llm_scripted - replays a JSON script: the Nth assistant turn of a
 * session gets the Nth reply. Used by tests, the demo and benchmarks, so it
 * goes through the same retry path as real providers ("error" entries) and
 * can be slow on purpose ("delay_ms"). The script is parsed once and shared
 * read-only by all session threads; each reply is deep-copied with
 * "{{goal}}" and "{{session}}" substituted, so per-session outputs differ. */
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_llm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
check_reply(const char *path, size_t i, json_t *r, wt_err_t *err)
{
    if (!json_is_object(r))
        return wt_err_set(err, WT_EINVAL, "%s: [%zu]: a reply must be an object", path, i);
    json_t *text = json_object_get(r, "text"), *calls = json_object_get(r, "tool_calls");
    json_t *error = json_object_get(r, "error");
    if (text && !json_is_string(text))
        return wt_err_set(err, WT_EINVAL, "%s: [%zu]: text must be a string", path, i);
    if (calls && !json_is_array(calls))
        return wt_err_set(err, WT_EINVAL, "%s: [%zu]: tool_calls must be an array", path, i);
    if (!text && !calls && !error)
        return wt_err_set(err, WT_EINVAL, "%s: [%zu]: needs text, tool_calls or error", path, i);
    size_t k;
    json_t *c;
    json_array_foreach(calls, k, c)
    {
        if (!json_is_string(json_object_get(c, "name")))
            return wt_err_set(err, WT_EINVAL, "%s: [%zu]: tool_calls[%zu] has no name", path, i, k);
        json_t *in = json_object_get(c, "input");
        if (in && !json_is_object(in))
            return wt_err_set(err, WT_EINVAL, "%s: [%zu]: tool_calls[%zu].input must be an object",
                              path, i, k);
    }
    json_t *d = json_object_get(r, "delay_ms");
    if (d && (!json_is_integer(d) || json_integer_value(d) < 0))
        return wt_err_set(err, WT_EINVAL, "%s: [%zu]: delay_ms must be a non-negative integer",
                          path, i);
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
    if (!json_is_array(s)) {
        json_decref(s);
        wt_err_set(err, WT_EINVAL, "%s: a script must be a JSON array of replies", path);
        return NULL;
    }
    size_t i;
    json_t *r;
    json_array_foreach(s, i, r)
    {
        if (check_reply(path, i, r, err) != 0) {
            json_decref(s);
            return NULL;
        }
    }
    return s;
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
    json_t *r = req->turn >= 0 ? json_array_get(self->script, (size_t)req->turn) : NULL;
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
