/* wt_http - the one outbound HTTP client of WorkTrain (LLM providers,
 * notifications, GitHub/GitLab pollers): a small libcurl wrapper and the
 * retry policy they share.
 *
 * Request: method, URL, headers, body, total and connect timeouts, http(s)
 * only, no redirects, an abort callback polled during the transfer. Response:
 * status, a body capped at max_response_bytes (WT_ELIMIT past it), and the
 * server's wait hints (Retry-After as delta-seconds or HTTP-date, the
 * X-RateLimit-* / RateLimit-* remaining and reset). Headers are never logged
 * or copied into errors (they carry tokens), nor is the URL (Slack URLs are
 * secrets).
 *
 * Retry policy (wt_http_retry_t): max attempts, exponential backoff with full
 * jitter (uniform in [0, min(cap, base * 2^(attempt-1))]), and a server wait
 * that replaces the backoff, capped by an option. What each caller uses:
 *
 *   caller  retried statuses                server wait on        cap           reset
 *   LLM     429 500 502 503 529, no answer  any retried status    60 s          no
 *   notify  408 429 5xx, no answer          429 and 503           backoff cap   no
 *                                                                 (30 s)
 *   pollers schedule of their own (interval, doubled on failure up to 5 min,
 *           no jitter) in the monotonic clock; Retry-After on 403/429/503,
 *           an exhausted quota's reset time, 1 h cap (wt_poll reads the
 *           headers with wt_http_hints_header).
 * Timeouts: LLM total 120 s / connect 10 s (configurable); notify one value
 * for both (WORKTRAIN_NOTIFY_TIMEOUT_MS, 5 s); pollers 30 s / 10 s. Body
 * caps: LLM 8 MiB, pollers 8 MiB, notify discards the body. Only the pollers
 * ask for compressed bodies.
 *
 * TLS: peers are verified against one trust store for the process, loaded
 * on first use: curl's built-in CA bundle, or what SSL_CERT_FILE /
 * SSL_CERT_DIR name when set.
 *
 * Thread use: a wt_http_t (one reused easy handle, keeps connections)
 * belongs to one thread at a time. Many threads' long waits (LLM calls) go
 * through wt_http_mux instead: one I/O thread, one curl multi handle.
 * Call curl_global_init before the first use. */
#ifndef WT_HTTP_H
#define WT_HTTP_H

#include "wt_buf.h"
#include "wt_err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wt_http_req {
    const char *method;         /* "GET", "POST", ...; NULL = POST with a body, else GET */
    const char *url;            /* absolute http(s) URL; never logged */
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const char *body;           /* request body, or NULL */
    size_t body_len;            /* its length (0 with a body = strlen(body)) */
    int timeout_ms;             /* whole request (CURLOPT_TIMEOUT_MS); 0 = none */
    int connect_timeout_ms;     /* connect phase; 0 = timeout_ms */
    size_t max_response_bytes;  /* body cap; 0 = the body is discarded */
    int accept_encoding;        /* 1: ask for any encoding curl can decode */
    size_t recv_buffer;         /* curl's receive buffer (CURLOPT_BUFFERSIZE); 0 = its 16 KB */
    int (*abort_fn)(void *ud);  /* polled during the transfer (wt_http_perform: about
                                   once a second); non-zero abandons it */
    void *abort_ud;             /* its argument */
    int abort_fd;               /* wt_http_mux_perform only: > 0, readable once abort_fn
                                   says abort (an eventfd): the caller sleeps until the
                                   answer, its timeout or this fd, instead of waking
                                   every second to ask abort_fn; 0 = none */
    void (*header_fn)(void *ud, const char *line, size_t len); /* each raw header line */
    void *header_ud;                                           /* its argument */
} wt_http_req_t;

/* The server's wait hints of one response. */
typedef struct wt_http_hints {
    int64_t retry_after_ms; /* Retry-After from the time it was read, -1 if absent; uncapped */
    int64_t remaining;      /* X-RateLimit-Remaining / RateLimit-Remaining, -1 if absent */
    int64_t reset_s;        /* X-RateLimit-Reset / RateLimit-Reset (Unix s), -1 if absent */
} wt_http_hints_t;

typedef struct wt_http_resp {
    long status;           /* HTTP status, 0 when no answer came */
    wt_buf_t body;         /* capped body (init by wt_http_resp_init) */
    wt_http_hints_t hints; /* wait hints of the last status block */
} wt_http_resp_t;

typedef struct wt_http wt_http_t;

wt_http_t *wt_http_new(wt_err_t *err);
/* Frees *self_p and sets it NULL. NULL-safe. */
void wt_http_destroy(wt_http_t **self_p);

/* Embedded by value: init with the request's body cap, release after. */
void wt_http_resp_init(wt_http_resp_t *resp, size_t max_response_bytes);
void wt_http_resp_release(wt_http_resp_t *resp);

/* Performs one request. Any HTTP status is a success (0, resp->status set);
 * -1 without an answer: WT_ETIMEDOUT (timed out, or abandoned by abort_fn),
 * WT_ELIMIT (body over the cap), WT_EIO (refused, reset, DNS: curl's text,
 * which never contains the URL). resp is reset first. */
int wt_http_perform(wt_http_t *self, const wt_http_req_t *req, wt_http_resp_t *resp, wt_err_t *err);

/* Parses a Retry-After value: delta-seconds, or an HTTP-date (curl_getdate)
 * turned into a delay from now_s (0 when past). Surrounding blanks and CRLF
 * are ignored. Milliseconds, or -1 when absent or malformed. Uncapped. */
int64_t wt_http_parse_retry_after(const char *value, int64_t now_s);

void wt_http_hints_init(wt_http_hints_t *h);
/* Feeds one raw header line (with or without CRLF) to h; a status line
 * starts over. now_s converts an HTTP-date. */
void wt_http_hints_header(wt_http_hints_t *h, const char *line, size_t len, int64_t now_s);

#define WT_HTTP_RETRY_AFTER_ANY 1u /* server wait on any retried status (else 429/503 only) */
#define WT_HTTP_RETRY_RESET     2u /* Remaining 0 + Reset time is a server wait too */

typedef struct wt_http_retry {
    int max_attempts;           /* tries in all, >= 1 */
    int64_t base_ms;            /* backoff ceiling of the first retry */
    int64_t cap_ms;             /* ceiling of any backoff */
    int64_t server_wait_cap_ms; /* cap of a Retry-After / reset wait */
    const int *statuses;        /* retried statuses, 0-terminated; NULL = 408, 429, 5xx */
    unsigned flags;             /* WT_HTTP_RETRY_* */
} wt_http_retry_t;

/* 1 when a try that ended with status (0 = no HTTP answer) is worth
 * repeating under p. */
int wt_http_retry_retryable(const wt_http_retry_t *p, long status);

/* The delay before the next try after try `attempt` (1-based) ended with
 * status and hints (may be NULL), or -1 to give up (not retryable, or
 * max_attempts reached). now_ms (wall clock) converts a reset time once;
 * rnd is a uniform random draw for the jitter. */
int64_t wt_http_retry_delay_ms(const wt_http_retry_t *p, int attempt, long status,
                               const wt_http_hints_t *hints, int64_t now_ms, uint64_t rnd);

/* A random 64-bit value for the jitter (getrandom, else a clock mix). */
uint64_t wt_http_random(void);

#endif
