/* wt_http - one libcurl wrapper and one retry policy for every outbound
 * HTTP call.
 *
 * Design: a wt_http_t owns one easy handle, reset before each request so
 * nothing of an earlier request (headers holding a token) leaks into the
 * next, while the connection cache survives. Header lines go through
 * wt_http_hints_header (the wait hints) and then to the caller's own
 * callback (ETag, Link, X-Poll-Interval for the pollers). Retry-After has one
 * parser here: delta-seconds or an HTTP-date read by curl_getdate, never a
 * hand-written date parser; what a caller caps it to is a policy option.
 *
 * Trust: every HTTPS connection of the process verifies against one
 * X509_STORE, loaded once (see trust_load). */
#include "wt_http.h"
#include "wt_http_int.h"

#include "wt_alloc.h"
#include "wt_clock.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct wt_http {
    CURL *curl; /* reused easy handle */
};

/* --- trust --- */

/* libcurl left to itself loads the CA bundle into a store cached per multi
 * handle: Debian's bundle (~145 certificates) parsed is ~870 KB, so every
 * session waiting on an HTTPS LLM held a copy of its own (measured: 887 KB
 * per handle against 61 KB with one shared store), and parsed it again for
 * each new connection. One store for the process instead, referenced by
 * every connection's SSL_CTX, holding what curl would have loaded: its
 * built-in CA file and directory (Debian: /etc/ssl/certs/ca-certificates.crt,
 * which the container image carries). SSL_CERT_FILE or SSL_CERT_DIR, when
 * set, replace them, as for any OpenSSL program (OpenSSL's default paths,
 * which they change). Only with libcurl's OpenSSL backend (the SSL_CTX is
 * OpenSSL's, and ours is the same library); with another backend, or when
 * the files cannot be read, curl keeps its own CA handling (and its error). */
static pthread_once_t trust_once = PTHREAD_ONCE_INIT;
static X509_STORE *trust_store; /* process-wide, never freed; NULL = curl's own */

static void
trust_load(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (v == NULL || v->ssl_version == NULL || strncmp(v->ssl_version, "OpenSSL/", 8) != 0)
        return;
    X509_STORE *s = X509_STORE_new();
    if (s == NULL)
        return;
    int ok;
    if (getenv("SSL_CERT_FILE") || getenv("SSL_CERT_DIR") || (!v->cainfo && !v->capath))
        ok = X509_STORE_set_default_paths(s) == 1;
    else
        ok = (v->cainfo == NULL || X509_STORE_load_file(s, v->cainfo) == 1) &&
             (v->capath == NULL || X509_STORE_load_path(s, v->capath) == 1);
    if (!ok) {
        X509_STORE_free(s);
        return;
    }
    trust_store = s;
}

static CURLcode
trust_ctx(CURL *c, void *ssl_ctx, void *ud)
{
    (void)c, (void)ud;
    SSL_CTX_set1_cert_store(ssl_ctx, trust_store); /* takes a reference */
    return CURLE_OK;
}

/* After each curl_easy_reset: no CA file or directory of curl's own (so it
 * loads none), the shared store installed as each connection starts. Peer
 * and host verification stay on, as by default. */
static void
trust_options(CURL *c)
{
    pthread_once(&trust_once, trust_load);
    if (trust_store == NULL)
        return;
    curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, trust_ctx);
}

wt_http_t *
wt_http_new(wt_err_t *err)
{
    CURL *c = curl_easy_init();
    if (c == NULL) {
        wt_err_set(err, WT_EIO, "cannot create a curl handle");
        return NULL;
    }
    wt_http_t *self = wt_xcalloc(1, sizeof *self);
    self->curl = c;
    return self;
}

void
wt_http_destroy(wt_http_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    curl_easy_cleanup((*self_p)->curl);
    free(*self_p);
    *self_p = NULL;
}

void
wt_http_resp_init(wt_http_resp_t *resp, size_t max_response_bytes)
{
    resp->status = 0;
    wt_buf_init(&resp->body, max_response_bytes);
    wt_http_hints_init(&resp->hints);
}

void
wt_http_resp_release(wt_http_resp_t *resp)
{
    wt_buf_release(&resp->body);
}

/* --- header hints --- */

void
wt_http_hints_init(wt_http_hints_t *h)
{
    h->retry_after_ms = -1;
    h->remaining = -1;
    h->reset_s = -1;
}

/* A non-negative decimal integer with optional blanks around; -1 otherwise. */
static int64_t
parse_count(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (*v < '0' || *v > '9')
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
        end++;
    if (errno != 0 || *end != '\0')
        return -1;
    return (int64_t)x;
}

int64_t
wt_http_parse_retry_after(const char *value, int64_t now_s)
{
    if (value == NULL)
        return -1;
    int64_t secs = parse_count(value);
    if (secs >= 0)
        return secs > INT64_MAX / 1000 ? INT64_MAX / 1000 * 1000 : secs * 1000;
    while (*value == ' ' || *value == '\t')
        value++;
    if (*value == '\0' || *value == '-' || (*value >= '0' && *value <= '9'))
        return -1; /* negative or junk after digits: not a date either */
    time_t when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    if ((int64_t)when <= now_s)
        return 0;
    int64_t secs_left = (int64_t)when - now_s; /* a date far in the future must not overflow */
    return secs_left > INT64_MAX / 1000 ? INT64_MAX / 1000 * 1000 : secs_left * 1000;
}

void
wt_http_hints_header(wt_http_hints_t *h, const char *line, size_t len, int64_t now_s)
{
    char buf[512];
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len >= sizeof buf)
        return; /* no hint header is that long */
    memcpy(buf, line, len);
    buf[len] = '\0';
    if (strncmp(buf, "HTTP/", 5) == 0) {
        wt_http_hints_init(h); /* a new status block (after 100 Continue, a redirect) */
        return;
    }
    char *colon = strchr(buf, ':');
    if (colon == NULL)
        return;
    *colon = '\0';
    const char *k = buf, *v = colon + 1;
    if (strcasecmp(k, "retry-after") == 0)
        h->retry_after_ms = wt_http_parse_retry_after(v, now_s);
    else if (strcasecmp(k, "x-ratelimit-remaining") == 0 ||
             strcasecmp(k, "ratelimit-remaining") == 0)
        h->remaining = parse_count(v);
    else if (strcasecmp(k, "x-ratelimit-reset") == 0 || strcasecmp(k, "ratelimit-reset") == 0)
        h->reset_s = parse_count(v);
}

/* --- the transfer --- */

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    wt_http_xfer_t *x = ud;
    if (x->req->max_response_bytes == 0)
        return size * n; /* the caller wants only the status */
    if (wt_buf_append(&x->resp->body, p, size * n, NULL) != 0) {
        x->too_big = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    wt_http_xfer_t *x = ud;
    wt_http_hints_header(&x->resp->hints, p, size * n, wt_clock_now_ms() / 1000);
    if (x->req->header_fn)
        x->req->header_fn(x->req->header_ud, p, size * n);
    return size * n;
}

static int
on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    const wt_http_xfer_t *x = ud;
    return x->req->abort_fn != NULL && x->req->abort_fn(x->req->abort_ud) ? 1 : 0;
}

void
wt_http_set_options(CURL *c, const wt_http_req_t *req, struct curl_slist *hdrs, wt_http_xfer_t *x,
                    int progress)
{
    const char *method = req->method ? req->method : req->body ? "POST" : "GET";
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (req->body != NULL) {
        size_t n = req->body_len ? req->body_len : strlen(req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    }
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    else if (strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (req->accept_encoding)
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    if (req->recv_buffer > 0)
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)req->recv_buffer);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    if (progress && req->abort_fn != NULL) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT_MS,
        (long)(req->connect_timeout_ms > 0 ? req->connect_timeout_ms : req->timeout_ms));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "worktrain/" WT_VERSION);
    trust_options(c);
}

struct curl_slist *
wt_http_headers(const wt_http_req_t *req)
{
    struct curl_slist *hdrs = NULL;
    for (const char *const *h = req->headers; h && *h; h++)
        hdrs = curl_slist_append(hdrs, *h);
    if (req->body != NULL)
        hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    return hdrs;
}

int
wt_http_finish(CURL *c, CURLcode rc, const wt_http_xfer_t *x, wt_err_t *err)
{
    const wt_http_req_t *req = x->req;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->resp->status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    if (rc == CURLE_OK)
        return 0;
    if (x->too_big)
        return wt_err_set(err, WT_ELIMIT, "response larger than %zu bytes",
                          req->max_response_bytes);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return wt_err_set(err, WT_ETIMEDOUT, "no complete answer within %d ms", req->timeout_ms);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return wt_err_set(err, WT_ETIMEDOUT, "request cancelled");
    return wt_err_set(err, WT_EIO, "request failed: %s", curl_easy_strerror(rc));
}

void
wt_http_resp_start(wt_http_resp_t *resp)
{
    resp->status = 0;
    wt_buf_reset(&resp->body);
    wt_http_hints_init(&resp->hints);
}

int
wt_http_perform(wt_http_t *self, const wt_http_req_t *req, wt_http_resp_t *resp, wt_err_t *err)
{
    wt_http_resp_start(resp);
    CURL *c = self->curl;
    curl_easy_reset(c);
    struct curl_slist *hdrs = wt_http_headers(req);
    wt_http_xfer_t x = {req, resp, 0};
    wt_http_set_options(c, req, hdrs, &x, 1);
    CURLcode rc = curl_easy_perform(c);
    int ret = wt_http_finish(c, rc, &x, err);
    curl_slist_free_all(hdrs); /* may hold a token: gone now */
    return ret;
}

/* --- retry policy --- */

int
wt_http_retry_retryable(const wt_http_retry_t *p, long status)
{
    if (status == 0)
        return 1; /* no answer: timeout, refused, reset */
    if (p->statuses == NULL)
        return status == 408 || status == 429 || (status >= 500 && status <= 599);
    for (const int *s = p->statuses; *s; s++)
        if (*s == status)
            return 1;
    return 0;
}

/* The wait the server asked for (ms), -1 when none applies. */
static int64_t
server_wait_ms(const wt_http_retry_t *p, long status, const wt_http_hints_t *h, int64_t now_ms)
{
    if (h == NULL)
        return -1;
    int any = (p->flags & WT_HTTP_RETRY_AFTER_ANY) != 0;
    if (h->retry_after_ms >= 0 && (any || status == 429 || status == 503))
        return h->retry_after_ms;
    if ((p->flags & WT_HTTP_RETRY_RESET) && h->remaining == 0 && h->reset_s >= 0) {
        int64_t now_s = now_ms / 1000;
        if (h->reset_s - now_s > p->server_wait_cap_ms / 1000 + 1)
            return p->server_wait_cap_ms; /* also keeps reset_s * 1000 from overflowing */
        return h->reset_s * 1000 > now_ms ? h->reset_s * 1000 - now_ms : 0;
    }
    return -1;
}

int64_t
wt_http_retry_delay_ms(const wt_http_retry_t *p, int attempt, long status,
                       const wt_http_hints_t *hints, int64_t now_ms, uint64_t rnd)
{
    if (attempt >= p->max_attempts || !wt_http_retry_retryable(p, status))
        return -1;
    int64_t wait = server_wait_ms(p, status, hints, now_ms);
    if (wait >= 0) {
        int64_t cap = p->server_wait_cap_ms > 0 ? p->server_wait_cap_ms : 0;
        return wait < cap ? wait : cap;
    }
    int64_t cap = p->cap_ms > 0 ? p->cap_ms : 0;
    int64_t ceil = p->base_ms > 0 ? p->base_ms : 0;
    for (int i = 1; i < attempt && ceil < cap; i++)
        ceil *= 2;
    if (ceil > cap)
        ceil = cap;
    if (ceil <= 0)
        return 0;
    return (int64_t)(rnd % (uint64_t)(ceil + 1)); /* full jitter */
}

uint64_t
wt_http_random(void)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    r = (uint64_t)wt_clock_mono_us() ^ ((uint64_t)getpid() << 32);
    return r * 0x2545F4914F6CDD1DULL;
}
