/* wt_llm_http - one JSON POST with libcurl for the LLM providers: capped
 * body (WT_ELIMIT past the cap), total and connect timeouts, abandoned when
 * *cancel is set, Retry-After captured. Never logs headers (they hold keys). */
#ifndef WT_LLM_HTTP_H
#define WT_LLM_HTTP_H

#include "wt_buf.h"
#include "wt_err.h"

#include <stdint.h>

typedef struct wt_llm_http_req {
    const char *url;            /* full URL */
    const char *const *headers; /* "Name: value" strings, NULL-terminated */
    const char *body;           /* JSON text */
    int timeout_ms;             /* whole request */
    int connect_timeout_ms;     /* connect phase */
    size_t max_response_bytes;  /* response cap */
    volatile int *cancel;       /* may be NULL */
} wt_llm_http_req_t;

/* Performs the POST. On an HTTP answer returns 0 with *status set (any
 * status) and the body in resp; *retry_after_ms from Retry-After or -1.
 * Returns -1 on transport failures: WT_ETIMEDOUT, WT_EIO (refused, reset),
 * WT_ELIMIT (body over the cap). */
int wt_llm_http_post(const wt_llm_http_req_t *req, long *status, wt_buf_t *resp,
                     int64_t *retry_after_ms, wt_err_t *err);

#endif
