/* wt_llm_openai - OpenAI Chat Completions (POST {base}/v1/chat/completions),
 * which Ollama, vLLM and llama.cpp's server also speak. Tool calls carry
 * their arguments as a JSON *string*; each tool result is its own message
 * with role "tool" and the tool_call_id it answers. The Authorization header
 * is only sent when a key is set (local servers need none). */
#include "wt_alloc.h"
#include "wt_llm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
to_messages(const char *system, json_t *neutral)
{
    json_t *out = json_array();
    if (system && *system)
        json_array_append_new(out, json_pack("{s:s,s:s}", "role", "system", "content", system));
    size_t i;
    json_t *m;
    json_array_foreach(neutral, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "assistant") == 0) {
            json_t *calls = json_array();
            size_t k;
            json_t *c;
            json_array_foreach(json_object_get(m, "tool_calls"), k, c)
            {
                char *args = json_dumps(json_object_get(c, "input"), JSON_COMPACT);
                json_array_append_new(
                    calls, json_pack("{s:O,s:s,s:{s:O,s:s}}", "id", json_object_get(c, "id"),
                                     "type", "function", "function", "name",
                                     json_object_get(c, "name"), "arguments", args ? args : "{}"));
                free(args);
            }
            json_t *msg =
                json_pack("{s:s,s:O}", "role", "assistant", "content", json_object_get(m, "text"));
            if (json_array_size(calls))
                json_object_set(msg, "tool_calls", calls);
            json_decref(calls);
            json_array_append_new(out, msg);
        } else if (role && strcmp(role, "tool") == 0) {
            size_t k;
            json_t *r;
            json_array_foreach(json_object_get(m, "results"), k, r) json_array_append_new(
                out, json_pack("{s:s,s:O,s:O}", "role", "tool", "tool_call_id",
                               json_object_get(r, "id"), "content", json_object_get(r, "content")));
        } else {
            json_array_append_new(out, json_pack("{s:s,s:O}", "role", "user", "content",
                                                 json_object_get(m, "content")));
        }
    }
    return out;
}

static json_t *
to_tools(json_t *tools)
{
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) json_array_append_new(
        out, json_pack("{s:s,s:{s:O,s:O,s:O}}", "type", "function", "function", "name",
                       json_object_get(t, "name"), "description", json_object_get(t, "description"),
                       "parameters", json_object_get(t, "input_schema")));
    return out;
}

static const char *
map_finish(const char *f)
{
    if (f == NULL || strcmp(f, "stop") == 0)
        return "end_turn";
    if (strcmp(f, "tool_calls") == 0 || strcmp(f, "function_call") == 0)
        return "tool_use";
    if (strcmp(f, "length") == 0)
        return "max_tokens";
    if (strcmp(f, "content_filter") == 0)
        return "refusal";
    return f;
}

int
wt_llm_openai_parse(const char *body, size_t len, wt_llm_reply_t *reply, wt_err_t *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (j == NULL)
        return wt_err_set(err, WT_EPROTO, "openai reply: invalid JSON at line %d column %d: %s",
                          jerr.line, jerr.column, jerr.text);
    json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    if (!json_is_object(msg)) {
        json_decref(j);
        return wt_err_set(err, WT_EPROTO, "openai reply: no choices[0].message");
    }
    const char *content = json_string_value(json_object_get(msg, "content"));
    const char *refusal = json_string_value(json_object_get(msg, "refusal"));
    reply->text = wt_xstrdup(content ? content : refusal ? refusal : "");
    json_t *calls = json_object_get(msg, "tool_calls");
    size_t n = json_array_size(calls);
    reply->calls = n ? wt_xcalloc(n, sizeof *reply->calls) : NULL;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *c = json_array_get(calls, i);
        json_t *fn = json_object_get(c, "function");
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *name = json_string_value(json_object_get(fn, "name"));
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        json_t *input = args ? json_loads(*args ? args : "{}", 0, &jerr) : NULL;
        if (!id || !name || !json_is_object(input)) {
            json_decref(input);
            rc = wt_err_set(err, WT_EPROTO,
                            "openai reply: tool_calls[%zu]: needs id, function.name and "
                            "function.arguments holding a JSON object%s%s",
                            i, args && !input ? ": " : "", args && !input ? jerr.text : "");
            break;
        }
        wt_llm_tool_call_t *tc = &reply->calls[reply->ncalls++];
        tc->id = wt_xstrdup(id);
        tc->name = wt_xstrdup(name);
        tc->input = input;
    }
    const char *finish = json_string_value(json_object_get(choice, "finish_reason"));
    snprintf(reply->stop_reason, sizeof reply->stop_reason, "%s",
             refusal && !content ? "refusal" : map_finish(finish));
    const char *model = json_string_value(json_object_get(j, "model"));
    if (model)
        snprintf(reply->model, sizeof reply->model, "%s", model);
    json_t *usage = json_object_get(j, "usage");
    reply->input_tokens = json_integer_value(json_object_get(usage, "prompt_tokens"));
    reply->output_tokens = json_integer_value(json_object_get(usage, "completion_tokens"));
    json_decref(j);
    return rc;
}

static int
openai_call(wt_llm_t *self, const wt_llm_request_t *req, const char *model, wt_llm_reply_t *reply,
            long *status, int64_t *retry_after, wt_err_t *err)
{
    json_t *body = json_pack("{s:s,s:i,s:o}", "model", model, "max_tokens", self->cfg.max_tokens,
                             "messages", to_messages(req->system, req->messages));
    if (json_array_size(req->tools))
        json_object_set_new(body, "tools", to_tools(req->tools));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    size_t blen = strlen(self->cfg.base_url);
    int has_v1 = blen >= 3 && strcmp(self->cfg.base_url + blen - 3, "/v1") == 0;
    char url[600], auth[512] = "";
    snprintf(url, sizeof url, "%s%s/chat/completions", self->cfg.base_url, has_v1 ? "" : "/v1");
    const char *headers[] = {NULL, NULL};
    if (self->api_key && *self->api_key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", self->api_key);
        headers[0] = auth;
    }
    int rc = wt_llm_post(self, req, url, headers, text, model, wt_llm_openai_parse, reply, status,
                         retry_after, err);
    explicit_bzero(auth, sizeof auth);
    free(text);
    return rc;
}

const wt_llm_provider_t wt_llm_openai_provider = {"openai", openai_call};
