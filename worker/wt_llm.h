/* wt_llm - the one small interface behind which LLM providers live:
 * anthropic (Messages API), openai (Chat Completions, also Ollama/vLLM/
 * llama.cpp via base_url) and scripted (replays a JSON script).
 *
 * Conversations are kept provider-neutral as a jansson array of messages:
 *   {"role":"user","content":"text"}
 *   {"role":"assistant","text":"...","tool_calls":[{"id","name","input":{}}]}
 *   {"role":"tool","results":[{"id","name","content":"text","is_error":false}]}
 * and each provider translates to its wire format. One wt_llm_t is shared by
 * all session threads of a worker: wt_llm_complete is thread-safe. */
#ifndef WT_LLM_H
#define WT_LLM_H

#include "wt_err.h"

#include <jansson.h>
#include <stdint.h>

typedef struct wt_llm wt_llm_t;

typedef struct wt_llm_cfg {
    char provider[16];    /* "anthropic", "openai" or "scripted" */
    char base_url[512];   /* API root, e.g. https://api.anthropic.com; "" = provider default */
    char api_key_env[64]; /* env var holding the key; the key itself is read once, never logged */
    char model_fast[128]; /* model for tier "fast" */
    char model_balanced[128];   /* model for tier "balanced" (the default tier) */
    char model_best[128];       /* model for tier "best" */
    char script_path[512];      /* scripted: JSON array of replies, or {"scripts": [...]} */
    char anthropic_version[32]; /* anthropic-version header */
    int max_tokens;             /* per reply */
    int timeout_ms;             /* whole request, CURLOPT_TIMEOUT_MS */
    int connect_timeout_ms;     /* CURLOPT_CONNECTTIMEOUT_MS */
    int max_retries;            /* retries after the first try on 429/5xx/529/timeouts */
    int backoff_base_ms;        /* first backoff; doubles, with jitter */
    int backoff_cap_ms;         /* backoff ceiling */
    size_t max_response_bytes;  /* larger bodies fail with WT_ELIMIT */
} wt_llm_cfg_t;

typedef struct wt_llm_tool_call {
    char *id;      /* provider's tool-call id (scripted: "call_<turn>_<i>") */
    char *name;    /* tool name */
    json_t *input; /* owned JSON object of arguments */
} wt_llm_tool_call_t;

typedef struct wt_llm_reply {
    char *text;                /* assistant text, "" when none; owned */
    wt_llm_tool_call_t *calls; /* owned array */
    size_t ncalls;             /* number of calls */
    char stop_reason[32];      /* end_turn tool_use max_tokens refusal stop_sequence ... */
    char model[128];           /* model that answered */
    int64_t input_tokens;      /* usage, 0 when the provider did not say */
    int64_t output_tokens;     /* usage */
    int retries;               /* retries it took */
} wt_llm_reply_t;

/* Called before each retry sleep (from the calling thread). */
typedef void (*wt_llm_retry_fn)(void *ud, int attempt, long http_status, int64_t delay_ms,
                                const char *why);

typedef struct wt_llm_request {
    const char *system;       /* system prompt */
    json_t *messages;         /* borrowed neutral conversation (see above) */
    json_t *tools;            /* borrowed array of {name, description, input_schema} */
    const char *tier;         /* "fast" "balanced" "best"; NULL = balanced */
    const char *model;        /* explicit model, overrides tier when non-NULL */
    int turn;                 /* 0-based assistant turn index within the session */
    const char *session;      /* session id (scripted templating, logs) */
    const char *goal;         /* session goal (scripted templating) */
    wt_llm_retry_fn on_retry; /* may be NULL */
    void *ud;                 /* for on_retry */
    volatile int *cancel;     /* when non-NULL and set, abandon waits and fail */
    int cancel_fd;            /* > 0: readable once *cancel is set (wakes the wait); 0 = none */
    const char *workflow;     /* session workflow id (scripted script selection); may be NULL */
    json_t *context;          /* borrowed initial session context (scripted); may be NULL */
    int timeout_ms;           /* stall timeout of this session; 0 = the provider's */
} wt_llm_request_t;

void wt_llm_cfg_defaults(wt_llm_cfg_t *cfg);
/* Picks the provider from the keys present when cfg->provider is "". */
int wt_llm_cfg_check(wt_llm_cfg_t *cfg, wt_err_t *err);

wt_llm_t *wt_llm_new(const wt_llm_cfg_t *cfg, wt_err_t *err);
void wt_llm_destroy(wt_llm_t **self_p);
/* Model name a tier maps to. */
const char *wt_llm_model_for(const wt_llm_t *self, const char *tier);
/* 1 for "fast", "balanced" and "best". */
int wt_llm_tier_valid(const char *tier);
/* One assistant turn. Retries transient failures inside. On failure fills
 * err: WT_EHTTP (status in msg), WT_ETIMEDOUT, WT_EPROTO (malformed body),
 * WT_ELIMIT (oversized). A refusal or max_tokens cut-off is a success with
 * that stop_reason. */
int wt_llm_complete(wt_llm_t *self, const wt_llm_request_t *req, wt_llm_reply_t *reply,
                    wt_err_t *err);
void wt_llm_reply_release(wt_llm_reply_t *reply);

#endif
