/* wt_llm - provider selection, tier->model mapping and the retry loop that
 * is the same for every provider: exponential backoff with full jitter,
 * capped, honouring Retry-After, abandoned at once when the session is
 * cancelled. Providers implement a single attempt. */
#include "wt_llm.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_llm_http.h"
#include "wt_llm_int.h"
#include "wt_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void
wt_llm_cfg_defaults(wt_llm_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->anthropic_version, sizeof cfg->anthropic_version, "2023-06-01");
    cfg->max_tokens = 4096;
    cfg->timeout_ms = 120000;
    cfg->connect_timeout_ms = 10000;
    cfg->max_retries = 4;
    cfg->backoff_base_ms = 500;
    cfg->backoff_cap_ms = 30000;
    cfg->max_response_bytes = 8u << 20;
}

static void
set_default(char *dst, size_t cap, const char *v)
{
    if (dst[0] == '\0')
        snprintf(dst, cap, "%s", v);
}

/* A hosted API answers every call without a key with 401, so a worker that
 * started anyway would take sessions only to fail each of them: refuse to
 * start instead. A custom base URL may be a local server (Ollama, vLLM,
 * llama.cpp) that needs no key: start, and say that no key is sent. */
static int
check_key(const wt_llm_cfg_t *cfg, wt_err_t *err)
{
    if (strcmp(cfg->provider, "scripted") == 0)
        return 0;
    const char *key = cfg->api_key_env[0] ? getenv(cfg->api_key_env) : NULL;
    if (key && *key)
        return 0;
    const char *public_base = strcmp(cfg->provider, "anthropic") == 0 ? "https://api.anthropic.com"
                                                                      : "https://api.openai.com";
    size_t n = strlen(public_base);
    int is_public = strncmp(cfg->base_url, public_base, n) == 0 &&
                    (cfg->base_url[n] == '\0' || cfg->base_url[n] == '/');
    if (is_public)
        return wt_err_set(err, WT_EINVAL,
                          "provider %s at %s needs an API key: %s is not set (export it, or "
                          "point --base-url at a server that needs none)",
                          cfg->provider, cfg->base_url, cfg->api_key_env);
    wt_log_warn("%s is not set: calls to %s go without an API key", cfg->api_key_env,
                cfg->base_url);
    return 0;
}

int
wt_llm_cfg_check(wt_llm_cfg_t *cfg, wt_err_t *err)
{
    const char *ak = getenv("ANTHROPIC_API_KEY"), *ok = getenv("OPENAI_API_KEY");
    if (cfg->provider[0] == '\0') {
        if (ak && *ak)
            snprintf(cfg->provider, sizeof cfg->provider, "anthropic");
        else if (ok && *ok)
            snprintf(cfg->provider, sizeof cfg->provider, "openai");
        else
            return wt_err_set(err, WT_EINVAL,
                              "no provider: set ANTHROPIC_API_KEY or OPENAI_API_KEY, or use "
                              "--provider scripted --script FILE");
    }
    if (strcmp(cfg->provider, "anthropic") == 0) {
        const char *base = getenv("ANTHROPIC_BASE_URL");
        set_default(cfg->base_url, sizeof cfg->base_url,
                    base && *base ? base : "https://api.anthropic.com");
        set_default(cfg->api_key_env, sizeof cfg->api_key_env, "ANTHROPIC_API_KEY");
        set_default(cfg->model_fast, sizeof cfg->model_fast, "claude-haiku-4-5");
        set_default(cfg->model_balanced, sizeof cfg->model_balanced, "claude-sonnet-4-5");
        set_default(cfg->model_best, sizeof cfg->model_best, "claude-opus-4-1");
    } else if (strcmp(cfg->provider, "openai") == 0) {
        const char *base = getenv("OPENAI_BASE_URL");
        set_default(cfg->base_url, sizeof cfg->base_url,
                    base && *base ? base : "https://api.openai.com");
        set_default(cfg->api_key_env, sizeof cfg->api_key_env, "OPENAI_API_KEY");
        set_default(cfg->model_fast, sizeof cfg->model_fast, "gpt-4o-mini");
        set_default(cfg->model_balanced, sizeof cfg->model_balanced, "gpt-4o");
        set_default(cfg->model_best, sizeof cfg->model_best, "gpt-4.1");
    } else if (strcmp(cfg->provider, "scripted") == 0) {
        if (cfg->script_path[0] == '\0')
            return wt_err_set(err, WT_EINVAL, "provider scripted needs --script FILE");
        set_default(cfg->model_fast, sizeof cfg->model_fast, "scripted");
        set_default(cfg->model_balanced, sizeof cfg->model_balanced, "scripted");
        set_default(cfg->model_best, sizeof cfg->model_best, "scripted");
    } else {
        return wt_err_set(err, WT_EINVAL,
                          "unknown provider '%s' (expected anthropic, openai or scripted)",
                          cfg->provider);
    }
    return check_key(cfg, err);
}

wt_llm_t *
wt_llm_new(const wt_llm_cfg_t *cfg, wt_err_t *err)
{
    wt_llm_t *self = wt_xcalloc(1, sizeof *self);
    self->cfg = *cfg;
    if (strcmp(cfg->provider, "scripted") == 0) {
        self->provider = &wt_llm_scripted_provider;
        if ((self->script = wt_llm_scripted_load(cfg->script_path, err)) == NULL) {
            free(self);
            return NULL;
        }
    } else if (strcmp(cfg->provider, "anthropic") == 0) {
        self->provider = &wt_llm_anthropic_provider;
    } else if (strcmp(cfg->provider, "openai") == 0) {
        self->provider = &wt_llm_openai_provider;
    } else {
        free(self);
        wt_err_set(err, WT_EINVAL, "unknown provider '%s'", cfg->provider);
        return NULL;
    }
    const char *key = cfg->api_key_env[0] ? getenv(cfg->api_key_env) : NULL;
    if (key && *key)
        self->api_key = wt_xstrdup(key);
    return self;
}

void
wt_llm_destroy(wt_llm_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_llm_t *self = *self_p;
    if (self->api_key) {
        explicit_bzero(self->api_key, strlen(self->api_key));
        free(self->api_key);
    }
    json_decref(self->script);
    free(self);
    *self_p = NULL;
}

int
wt_llm_tier_valid(const char *tier)
{
    return tier && (strcmp(tier, "fast") == 0 || strcmp(tier, "balanced") == 0 ||
                    strcmp(tier, "best") == 0);
}

const char *
wt_llm_model_for(const wt_llm_t *self, const char *tier)
{
    if (tier && strcmp(tier, "fast") == 0)
        return self->cfg.model_fast;
    if (tier && strcmp(tier, "best") == 0)
        return self->cfg.model_best;
    return self->cfg.model_balanced;
}

int64_t
wt_llm_estimate_tokens(const char *text)
{
    size_t n = text ? strlen(text) : 0;
    return (int64_t)(n / 4 + 1);
}

static int
transient(long status, const wt_err_t *err)
{
    if (status == 429 || status == 500 || status == 502 || status == 503 || status == 529)
        return 1;
    return status == 0 && (err->code == WT_ETIMEDOUT || err->code == WT_EIO);
}

/* Sleeps ms in short slices; returns -1 when cancelled. */
static int
nap(int64_t ms, volatile int *cancel)
{
    while (ms > 0) {
        if (cancel && *cancel)
            return -1;
        int64_t step = ms < 50 ? ms : 50;
        wt_clock_sleep_ms(step);
        ms -= step;
    }
    return 0;
}

int
wt_llm_complete(wt_llm_t *self, const wt_llm_request_t *req, wt_llm_reply_t *reply, wt_err_t *err)
{
    memset(reply, 0, sizeof *reply);
    const char *model = req->model ? req->model : wt_llm_model_for(self, req->tier);
    for (int attempt = 0;; attempt++) {
        long status = 0;
        int64_t retry_after = -1;
        wt_err_t e = {0};
        wt_llm_reply_release(reply);
        if (self->provider->call(self, req, model, reply, &status, &retry_after, &e) == 0) {
            reply->retries = attempt;
            return 0;
        }
        if (!transient(status, &e) || attempt >= self->cfg.max_retries) {
            if (err)
                *err = e;
            return -1;
        }
        int64_t cap = (int64_t)self->cfg.backoff_base_ms << (attempt < 20 ? attempt : 20);
        if (cap > self->cfg.backoff_cap_ms)
            cap = self->cfg.backoff_cap_ms;
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, 0) != sizeof r)
            r = 0;
        int64_t delay = cap > 0 ? (int64_t)(r % (uint64_t)(cap + 1)) : 0;
        if (retry_after >= 0)
            delay = retry_after > 60000 ? 60000 : retry_after;
        if (req->on_retry)
            req->on_retry(req->ud, attempt + 1, status, delay, e.msg);
        if (nap(delay, req->cancel) != 0)
            return wt_err_set(err, WT_ETIMEDOUT, "llm call cancelled");
    }
}

void
wt_llm_reply_release(wt_llm_reply_t *reply)
{
    free(reply->text);
    for (size_t i = 0; i < reply->ncalls; i++) {
        free(reply->calls[i].id);
        free(reply->calls[i].name);
        json_decref(reply->calls[i].input);
    }
    free(reply->calls);
    int retries = reply->retries;
    memset(reply, 0, sizeof *reply);
    reply->retries = retries;
}

/* "PROVIDER API answered HTTP N: type: message" from an error body (both
 * APIs use {"error": {"type", "message"}}). */
static void
api_error(const char *provider, long status, const wt_buf_t *body, wt_err_t *err)
{
    json_t *j = json_loads(wt_buf_str(body), 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    wt_err_set(err, WT_EHTTP, "%s API answered HTTP %ld%s%s%s%s", provider, status,
               type ? ": " : "", type ? type : "", msg ? ": " : "", msg ? msg : "");
    json_decref(j);
}

int
wt_llm_post(wt_llm_t *self, const wt_llm_request_t *req, const char *url,
            const char *const *headers, const char *body, const char *model, wt_llm_parse_fn parse,
            wt_llm_reply_t *reply, long *status, int64_t *retry_after, wt_err_t *err)
{
    wt_llm_http_req_t hr = {url,
                            headers,
                            body,
                            req->timeout_ms > 0 ? req->timeout_ms : self->cfg.timeout_ms,
                            self->cfg.connect_timeout_ms,
                            self->cfg.max_response_bytes,
                            req->cancel};
    wt_buf_t resp;
    wt_buf_init(&resp, self->cfg.max_response_bytes);
    int rc = wt_llm_http_post(&hr, status, &resp, retry_after, err);
    if (rc == 0 && *status != 200) {
        api_error(self->provider->name, *status, &resp, err);
        rc = -1;
    } else if (rc == 0) {
        rc = parse(wt_buf_str(&resp), resp.len, reply, err);
        if (rc != 0)
            *status = 0; /* a malformed body is not retried */
    }
    if (rc == 0 && reply->model[0] == '\0')
        snprintf(reply->model, sizeof reply->model, "%s", model);
    wt_buf_release(&resp);
    return rc;
}
