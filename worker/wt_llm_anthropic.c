/* wt_llm_anthropic - the Anthropic Messages API (POST /v1/messages).
 * The neutral conversation maps to content blocks: assistant turns carry
 * text and tool_use blocks; tool results go back as one user message of
 * tool_result blocks, in call order, each naming its tool_use_id. The API
 * wants user/assistant alternation, so consecutive user messages merge. */
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_llm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
user_blocks(json_t *msg)
{
    json_t *blocks = json_array();
    const char *role = json_string_value(json_object_get(msg, "role"));
    if (strcmp(role, "tool") == 0) {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(msg, "results"), i, r) json_array_append_new(
            blocks, json_pack("{s:s,s:O,s:O,s:O}", "type", "tool_result", "tool_use_id",
                              json_object_get(r, "id"), "content", json_object_get(r, "content"),
                              "is_error", json_object_get(r, "is_error")));
    } else {
        json_array_append_new(blocks, json_pack("{s:s,s:O}", "type", "text", "text",
                                                json_object_get(msg, "content")));
    }
    return blocks;
}

static json_t *
to_messages(json_t *neutral)
{
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(neutral, i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "assistant") == 0) {
            json_t *blocks = json_array();
            const char *text = json_string_value(json_object_get(m, "text"));
            if (text && *text)
                json_array_append_new(blocks, json_pack("{s:s,s:s}", "type", "text", "text", text));
            size_t k;
            json_t *c;
            json_array_foreach(json_object_get(m, "tool_calls"), k, c) json_array_append_new(
                blocks, json_pack("{s:s,s:O,s:O,s:O}", "type", "tool_use", "id",
                                  json_object_get(c, "id"), "name", json_object_get(c, "name"),
                                  "input", json_object_get(c, "input")));
            json_array_append_new(out,
                                  json_pack("{s:s,s:o}", "role", "assistant", "content", blocks));
            continue;
        }
        json_t *blocks = user_blocks(m);
        json_t *last = json_array_get(out, json_array_size(out) - 1);
        if (last && strcmp(json_string_value(json_object_get(last, "role")), "user") == 0)
            json_array_extend(json_object_get(last, "content"), blocks);
        else
            json_array_append_new(out, json_pack("{s:s,s:O}", "role", "user", "content", blocks));
        json_decref(blocks);
    }
    return out;
}

int
wt_llm_anthropic_parse(const char *body, size_t len, wt_llm_reply_t *reply, wt_err_t *err)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, 0, &jerr);
    if (j == NULL)
        return wt_err_set(err, WT_EPROTO, "anthropic reply: invalid JSON at line %d column %d: %s",
                          jerr.line, jerr.column, jerr.text);
    json_t *content = json_object_get(j, "content");
    if (!json_is_array(content)) {
        json_decref(j);
        return wt_err_set(err, WT_EPROTO, "anthropic reply: 'content' is not an array");
    }
    wt_buf_t text;
    wt_buf_init(&text, 8u << 20);
    size_t i, ncalls = 0;
    json_t *b;
    json_array_foreach(content, i, b)
    {
        const char *t = json_string_value(json_object_get(b, "type"));
        ncalls += t && strcmp(t, "tool_use") == 0;
    }
    reply->calls = ncalls ? wt_xcalloc(ncalls, sizeof *reply->calls) : NULL;
    int rc = 0;
    json_array_foreach(content, i, b)
    {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (type && strcmp(type, "text") == 0 && json_is_string(json_object_get(b, "text"))) {
            wt_buf_puts(&text, json_string_value(json_object_get(b, "text")), NULL);
        } else if (type && strcmp(type, "tool_use") == 0) {
            const char *id = json_string_value(json_object_get(b, "id"));
            const char *name = json_string_value(json_object_get(b, "name"));
            json_t *input = json_object_get(b, "input");
            if (!id || !name || !json_is_object(input)) {
                rc = wt_err_set(err, WT_EPROTO,
                                "anthropic reply: content[%zu]: tool_use needs id, name and an "
                                "input object",
                                i);
                break;
            }
            wt_llm_tool_call_t *c = &reply->calls[reply->ncalls++];
            c->id = wt_xstrdup(id);
            c->name = wt_xstrdup(name);
            c->input = json_incref(input);
        }
    }
    reply->text = wt_buf_detach(&text);
    const char *stop = json_string_value(json_object_get(j, "stop_reason"));
    snprintf(reply->stop_reason, sizeof reply->stop_reason, "%s", stop ? stop : "end_turn");
    const char *model = json_string_value(json_object_get(j, "model"));
    if (model)
        snprintf(reply->model, sizeof reply->model, "%s", model);
    json_t *usage = json_object_get(j, "usage");
    reply->input_tokens = json_integer_value(json_object_get(usage, "input_tokens"));
    reply->output_tokens = json_integer_value(json_object_get(usage, "output_tokens"));
    json_decref(j);
    return rc;
}

static int
anthropic_call(wt_llm_t *self, const wt_llm_request_t *req, const char *model,
               wt_llm_reply_t *reply, long *status, int64_t *retry_after, wt_err_t *err)
{
    json_t *body =
        json_pack("{s:s,s:i,s:s,s:o}", "model", model, "max_tokens", self->cfg.max_tokens, "system",
                  req->system ? req->system : "", "messages", to_messages(req->messages));
    if (json_array_size(req->tools))
        json_object_set(body, "tools", req->tools);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char url[600], key_hdr[512], ver_hdr[96];
    snprintf(url, sizeof url, "%s/v1/messages", self->cfg.base_url);
    snprintf(key_hdr, sizeof key_hdr, "x-api-key: %s", self->api_key ? self->api_key : "");
    snprintf(ver_hdr, sizeof ver_hdr, "anthropic-version: %s", self->cfg.anthropic_version);
    const char *headers[] = {key_hdr, ver_hdr, NULL};
    int rc = wt_llm_post(self, req, url, headers, text, model, wt_llm_anthropic_parse, reply,
                         status, retry_after, err);
    explicit_bzero(key_hdr, sizeof key_hdr);
    free(text);
    return rc;
}

const wt_llm_provider_t wt_llm_anthropic_provider = {"anthropic", anthropic_call};
