/* wt_llm_http - blocking libcurl POST used by one session thread at a time
 * (each call has its own easy handle, so threads never share curl state). */
#include "wt_llm_http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct sink {
    wt_buf_t *buf;          /* response body */
    int too_big;            /* cap exceeded */
    int64_t retry_after_ms; /* from the header, -1 when absent */
    volatile int *cancel;   /* abort flag */
} sink_t;

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    if (wt_buf_append(s->buf, p, size * n, NULL) != 0) {
        s->too_big = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        char v[64];
        size_t k = len - 12 < sizeof v - 1 ? len - 12 : sizeof v - 1;
        memcpy(v, p + 12, k);
        v[k] = '\0';
        char *end;
        long secs = strtol(v, &end, 10);
        if (end != v && secs >= 0) {
            s->retry_after_ms = (int64_t)secs * 1000;
        } else {
            time_t when = curl_getdate(v, NULL);
            if (when > 0)
                s->retry_after_ms = when > time(NULL) ? (int64_t)(when - time(NULL)) * 1000 : 0;
        }
    }
    return len;
}

static int
on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    sink_t *s = ud;
    return s->cancel && *s->cancel ? 1 : 0;
}

int
wt_llm_http_post(const wt_llm_http_req_t *req, long *status, wt_buf_t *resp,
                 int64_t *retry_after_ms, wt_err_t *err)
{
    *status = 0;
    *retry_after_ms = -1;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return wt_err_set(err, WT_EIO, "cannot create a curl handle");
    struct curl_slist *hdrs = NULL;
    for (const char *const *h = req->headers; h && *h; h++)
        hdrs = curl_slist_append(hdrs, *h);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    sink_t s = {resp, 0, -1, req->cancel};
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "worktrain/" WT_VERSION);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    *retry_after_ms = s.retry_after_ms;
    if (rc == CURLE_OK)
        return 0;
    *status = 0;
    if (s.too_big)
        return wt_err_set(err, WT_ELIMIT, "response larger than %zu bytes",
                          req->max_response_bytes);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return wt_err_set(err, WT_ETIMEDOUT, "no complete answer within %d ms", req->timeout_ms);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return wt_err_set(err, WT_ETIMEDOUT, "request cancelled");
    return wt_err_set(err, WT_EIO, "request failed: %s", curl_easy_strerror(rc));
}
