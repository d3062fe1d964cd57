/* wt_llm_int - what the providers share inside worker/: the provider table
 * and the wt_llm_t layout. Not for other modules. */
#ifndef WT_LLM_INT_H
#define WT_LLM_INT_H

#include "wt_http_mux.h"
#include "wt_llm.h"

typedef struct wt_llm_provider {
    const char *name; /* "anthropic" ... */
    /* One attempt (no retries): fills reply, or err; *http_status set when an
     * HTTP answer arrived (0 otherwise); *retry_after_ms from Retry-After. */
    int (*call)(wt_llm_t *self, const wt_llm_request_t *req, const char *model,
                wt_llm_reply_t *reply, long *http_status, int64_t *retry_after_ms, wt_err_t *err);
} wt_llm_provider_t;

struct wt_llm {
    wt_llm_cfg_t cfg;                  /* copy, read-only */
    const wt_llm_provider_t *provider; /* borrowed static table */
    char *api_key;                     /* owned; never logged */
    json_t *script;                    /* scripted: replies array or {"scripts": [...]} */
    wt_http_mux_t *mux;                /* owned: anthropic, openai (NULL: scripted) */
};

extern const wt_llm_provider_t wt_llm_scripted_provider;
extern const wt_llm_provider_t wt_llm_anthropic_provider;
extern const wt_llm_provider_t wt_llm_openai_provider;

/* Loads and checks a script file: an array of replies, or {"scripts":
 * [{when, replies}, ...]} (errors name the JSON path, e.g.
 * scripts[2].when.context). */
json_t *wt_llm_scripted_load(const char *path, wt_err_t *err);
/* The replies a session gets from a loaded script (borrowed): the array
 * itself, or the first entry whose `when` holds for workflow, goal and the
 * initial context; NULL with err naming the workflow when none does. */
json_t *wt_llm_scripted_select(json_t *script, const char *workflow, const char *goal,
                               json_t *context, wt_err_t *err);
/* Parsers of provider reply bodies (fuzzed). */
int wt_llm_anthropic_parse(const char *body, size_t len, wt_llm_reply_t *reply, wt_err_t *err);
int wt_llm_openai_parse(const char *body, size_t len, wt_llm_reply_t *reply, wt_err_t *err);
/* Rough token estimate for providers that report none. */
int64_t wt_llm_estimate_tokens(const char *text);

typedef int (*wt_llm_parse_fn)(const char *body, size_t len, wt_llm_reply_t *reply, wt_err_t *err);
/* One attempt of an HTTP provider: POSTs body to url with headers; a 200 is
 * parsed with parse (a malformed body fails with *status reset to 0, so it is
 * not retried), any other status becomes WT_EHTTP with the API's message. */
int wt_llm_post(wt_llm_t *self, const wt_llm_request_t *req, const char *url,
                const char *const *headers, const char *body, const char *model,
                wt_llm_parse_fn parse, wt_llm_reply_t *reply, long *status, int64_t *retry_after,
                wt_err_t *err);

#endif
