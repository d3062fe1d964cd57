/* wt_llm - provider selection, tier->model mapping and the retry loop that
 * is the same for every provider: wt_http's policy (exponential backoff with
 * full jitter, capped; Retry-After as seconds or HTTP-date on any retried
 * status, capped at LLM_SERVER_WAIT_CAP_MS), abandoned at once when the
 * session is cancelled. Providers implement a single attempt. */
#include "wt_llm.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_http.h"
#include "wt_http_mux.h"
#include "wt_llm_int.h"
#include "wt_log.h"
#include "wt_slot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* the HTTP providers' calls, every session thread's, on one I/O thread */
    if (self->provider != &wt_llm_scripted_provider && (self->mux = wt_http_mux_new(err)) == NULL) {
        json_decref(self->script);
        free(self);
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
    wt_http_mux_destroy(&self->mux);
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

#define LLM_SERVER_WAIT_CAP_MS 60000 /* longest Retry-After honoured */
/* A call still waiting after this long gives back its idle stack pages. */
#define TRIM_AFTER_MS 500
/* curl's receive buffer for an LLM call: it lives as long as the call
 * waits, times the waiting sessions; 16 KB by default. 1 KB (curl's
 * minimum): a 50 KB reply takes 50 reads instead of 4 - microseconds next
 * to the seconds the call waited (issue 18). */
#define LLM_RECV_BUFFER 1024

/* Statuses worth another try: rate limits, overload (529) and the 5xx
 * that mean "try again"; 0 is no HTTP answer. */
static const int llm_retry_statuses[] = {429, 500, 502, 503, 529, 0};

/* No HTTP answer is transient only for timeouts and connection failures (a
 * malformed body also reports status 0, and is not retried). */
static int
transient(long status, const wt_err_t *err)
{
    return status != 0 || err->code == WT_ETIMEDOUT || err->code == WT_EIO;
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
    wt_http_retry_t policy = {.max_attempts = self->cfg.max_retries + 1,
                              .base_ms = self->cfg.backoff_base_ms,
                              .cap_ms = self->cfg.backoff_cap_ms,
                              .server_wait_cap_ms = LLM_SERVER_WAIT_CAP_MS,
                              .statuses = llm_retry_statuses,
                              .flags = WT_HTTP_RETRY_AFTER_ANY};
    for (int attempt = 0;; attempt++) {
        long status = 0;
        int64_t retry_after = -1;
        wt_err_t e = {0};
        wt_llm_reply_release(reply);
        if (self->provider->call(self, req, model, reply, &status, &retry_after, &e) == 0) {
            reply->retries = attempt;
            return 0;
        }
        wt_http_hints_t hints;
        wt_http_hints_init(&hints);
        hints.retry_after_ms = retry_after;
        int64_t delay = transient(status, &e)
                            ? wt_http_retry_delay_ms(&policy, attempt + 1, status, &hints,
                                                     wt_clock_now_ms(), wt_http_random())
                            : -1;
        if (delay < 0) {
            if (err)
                *err = e;
            return -1;
        }
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

/* What wt_http's abort callback sees of one call. */
typedef struct waiting {
    const volatile int *cancel; /* the session's cancel flag, may be NULL */
    int64_t trim_at_ms;         /* monotonic time to trim the stack, 0 once done */
} waiting_t;

/* wt_http's abort callback: the session's cancel flag. Once the call has
 * waited a while (the request is sent, the answer is far), the stack pages
 * curl's connect and send touched below this frame go back too. */
static int
cancelled(void *ud)
{
    waiting_t *w = ud;
    if (w->trim_at_ms != 0 && wt_clock_mono_ms() >= w->trim_at_ms) {
        w->trim_at_ms = 0;
        wt_slot_trim_stack();
    }
    return w->cancel != NULL && *w->cancel;
}

int
wt_llm_post(wt_llm_t *self, const wt_llm_request_t *req, const char *url,
            const char *const *headers, const char *body, const char *model, wt_llm_parse_fn parse,
            wt_llm_reply_t *reply, long *status, int64_t *retry_after, wt_err_t *err)
{
    const char *hdrs[16];
    size_t n = 0;
    for (const char *const *h = headers; h && *h; h++) {
        wt_assert(n < 14); /* providers send a handful of headers */
        hdrs[n++] = *h;
    }
    hdrs[n++] = "Content-Type: application/json";
    hdrs[n] = NULL;
    waiting_t wait = {req->cancel, wt_clock_mono_ms() + TRIM_AFTER_MS};
    wt_http_req_t hr = {.method = "POST",
                        .url = url,
                        .headers = hdrs,
                        .body = body,
                        .timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : self->cfg.timeout_ms,
                        .connect_timeout_ms = self->cfg.connect_timeout_ms,
                        .max_response_bytes = self->cfg.max_response_bytes,
                        .recv_buffer = LLM_RECV_BUFFER,
                        .abort_fn = cancelled,
                        .abort_ud = &wait,
                        .abort_fd = req->cancel_fd > 0 ? req->cancel_fd : 0};
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, self->cfg.max_response_bytes);
    /* The call waits seconds to minutes: the stack pages an earlier deep
     * call touched (making the workspace) go back first (issue 18). */
    wt_slot_trim_stack();
    int rc = wt_http_mux_perform(self->mux, &hr, &resp, err);
    *status = resp.status;
    *retry_after = resp.hints.retry_after_ms;
    if (rc == 0 && *status != 200) {
        api_error(self->provider->name, *status, &resp.body, err);
        rc = -1;
    } else if (rc == 0) {
        rc = parse(wt_buf_str(&resp.body), resp.body.len, reply, err);
        if (rc != 0)
            *status = 0; /* a malformed body is not retried */
    }
    if (rc == 0 && reply->model[0] == '\0')
        snprintf(reply->model, sizeof reply->model, "%s", model);
    wt_http_resp_release(&resp);
    return rc;
}
