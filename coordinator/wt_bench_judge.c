/* wt_bench_judge - one judge call per case, no retries beyond wt_http's
 * transport (a judge that answers badly is a scorer error, reported, not
 * hidden by asking again). The prompt asks for the number alone; anything
 * else in the reply is an error, because a lenient parse ("Score: 0.8
 * because...") would turn prose into silent numbers. */
#include "wt_bench_judge.h"

#include "wt_alloc.h"
#include "wt_http.h"
#include "wt_jpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
prompt_text(const wt_bench_scorer_t *sc, const char *goal, const json_t *expect,
            const json_t *answer)
{
    char *e = expect ? json_dumps(expect, JSON_COMPACT) : wt_xstrdup("{}");
    char *a = wt_jpath_text(answer);
    char *p = wt_xasprintf("You grade one answer of an AI agent.\n\nRubric:\n%s\n\nTask given to "
                           "the agent:\n%s\n\nExpected values:\n%s\n\nThe agent's answer:\n%s\n\n"
                           "Reply with the score alone: one number from 0 to 1 (e.g. 0.75), "
                           "nothing else.",
                           sc->rubric, goal, e, a);
    free(e);
    free(a);
    return p;
}

static const char *
text_of_reply(json_t *body, int anthropic, int64_t *in, int64_t *out)
{
    json_t *usage = json_object_get(body, "usage");
    if (anthropic) {
        *in = json_integer_value(json_object_get(usage, "input_tokens"));
        *out = json_integer_value(json_object_get(usage, "output_tokens"));
        json_t *c = json_array_get(json_object_get(body, "content"), 0);
        return json_string_value(json_object_get(c, "text"));
    }
    *in = json_integer_value(json_object_get(usage, "prompt_tokens"));
    *out = json_integer_value(json_object_get(usage, "completion_tokens"));
    json_t *m = json_object_get(json_array_get(json_object_get(body, "choices"), 0), "message");
    return json_string_value(json_object_get(m, "content"));
}

int
wt_bench_judge_score(const wt_bench_scorer_t *sc, const char *goal, const json_t *expect,
                     const json_t *answer, double *score, int64_t *in_tokens, int64_t *out_tokens,
                     char *why, size_t cap)
{
    *in_tokens = *out_tokens = 0;
    int anthropic = sc->judge_provider && strcmp(sc->judge_provider, "anthropic") == 0;
    const char *key = getenv(anthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY");
    const char *base = sc->judge_base_url
                           ? sc->judge_base_url
                           : getenv(anthropic ? "ANTHROPIC_BASE_URL" : "OPENAI_BASE_URL");
    if (base == NULL || *base == '\0')
        base = anthropic ? "https://api.anthropic.com" : "https://api.openai.com";
    if (key == NULL || *key == '\0')
        return snprintf(why, cap, "llm_judge: %s is not set",
                        anthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY"),
               -1;
    char *prompt = prompt_text(sc, goal, expect, answer);
    json_t *req = json_pack("{s:s,s:i,s:[{s:s,s:s}]}", "model", sc->judge_model, "max_tokens", 16,
                            "messages", "role", "user", "content", prompt);
    if (!anthropic)
        json_object_set_new(req, "temperature", json_integer(0));
    free(prompt);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    size_t blen = strlen(base);
    char *url = wt_xasprintf("%.*s%s", (int)(blen && base[blen - 1] == '/' ? blen - 1 : blen), base,
                             anthropic ? "/v1/messages" : "/v1/chat/completions");
    char *auth = anthropic ? wt_xasprintf("x-api-key: %s", key)
                           : wt_xasprintf("Authorization: Bearer %s", key);
    const char *headers[] = {"Content-Type: application/json", auth,
                             anthropic ? "anthropic-version: 2023-06-01" : NULL, NULL};
    wt_http_req_t hr = {.url = url,
                        .headers = headers,
                        .body = body,
                        .timeout_ms = 120000,
                        .connect_timeout_ms = 10000,
                        .max_response_bytes = 1 << 20};
    wt_err_t err = {0};
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, hr.max_response_bytes);
    wt_http_t *http = wt_http_new(&err);
    int rc = http ? wt_http_perform(http, &hr, &resp, &err) : -1;
    free(body);
    free(url);
    memset(auth, 0, strlen(auth)); /* the key does not linger in freed memory */
    free(auth);
    if (rc != 0) {
        snprintf(why, cap, "llm_judge: %s", err.msg);
    } else if (resp.status != 200) {
        snprintf(why, cap, "llm_judge: HTTP %ld", resp.status);
        rc = -1;
    } else {
        json_t *j = json_loads(wt_buf_str(&resp.body), 0, NULL);
        const char *text = j ? text_of_reply(j, anthropic, in_tokens, out_tokens) : NULL;
        if (wt_bench_judge_parse(text, score) != 0) {
            snprintf(why, cap, "llm_judge: the reply is not a bare score in [0, 1]: '%.80s'",
                     text ? text : "(no text)");
            rc = -1;
        }
        json_decref(j);
    }
    wt_http_resp_release(&resp);
    wt_http_destroy(&http);
    return rc;
}
