/* Unit tests of wt_http: Retry-After as delta-seconds or HTTP-date, the
 * rate-limit hints, the retry policy of each caller (full jitter bounds,
 * server waits and their caps, retried statuses), and transport failures
 * (refused port, non-http scheme) without any server; abort_fn ends a
 * waiting request. wt_http_mux against a real libmicrohttpd server:
 * 8 threads' 40 requests share at most 8 connections, 64 requests waiting
 * at once on a silent server all end at their abort and the I/O thread
 * serves the next, a readable abort fd whose abort_fn says no runs to
 * the timeout without spinning, a refused port. The answered side of
 * wt_http is covered by the integration tests of the LLM providers,
 * notifications and pollers against the fakes. */
#include "wt_http.h"
#include "wt_http_mux.h"
#include "wt_httpd.h"
#include "wt_test.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define NOW_S 1700000000LL /* Tue, 14 Nov 2023 22:13:20 GMT */

static void
test_retry_after_forms(void)
{
    WT_CHECK(wt_http_parse_retry_after("3", NOW_S) == 3000);
    WT_CHECK(wt_http_parse_retry_after(" 3\r\n", NOW_S) == 3000);
    WT_CHECK(wt_http_parse_retry_after("0", NOW_S) == 0);
    WT_CHECK(wt_http_parse_retry_after("90000", NOW_S) == 90000000); /* uncapped here */
    /* HTTP-date, 10 s after NOW_S, in the three forms curl_getdate reads. */
    WT_CHECK(wt_http_parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", NOW_S) == 10000);
    WT_CHECK(wt_http_parse_retry_after(" Tue, 14 Nov 2023 22:13:30 GMT\r\n", NOW_S) == 10000);
    WT_CHECK(wt_http_parse_retry_after("Tuesday, 14-Nov-23 22:13:30 GMT", NOW_S) == 10000);
    WT_CHECK(wt_http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW_S) == 0); /* past */
    WT_CHECK(wt_http_parse_retry_after("-1", NOW_S) == -1);
    WT_CHECK(wt_http_parse_retry_after("5x", NOW_S) == -1);
    WT_CHECK(wt_http_parse_retry_after("soon", NOW_S) == -1);
    WT_CHECK(wt_http_parse_retry_after("", NOW_S) == -1);
    WT_CHECK(wt_http_parse_retry_after(NULL, NOW_S) == -1);
}

static void
feed(wt_http_hints_t *h, const char *line)
{
    wt_http_hints_header(h, line, strlen(line), NOW_S);
}

static void
test_hints_from_headers(void)
{
    wt_http_hints_t h;
    wt_http_hints_init(&h);
    WT_CHECK(h.retry_after_ms == -1 && h.remaining == -1 && h.reset_s == -1);
    feed(&h, "HTTP/1.1 429 Too Many Requests\r\n");
    feed(&h, "retry-after: 7\r\n");
    feed(&h, "X-RateLimit-Remaining: 0\r\n");
    feed(&h, "X-RateLimit-Reset: 1700000060\r\n");
    WT_CHECK(h.retry_after_ms == 7000 && h.remaining == 0 && h.reset_s == 1700000060);
    feed(&h, "HTTP/1.1 200 OK\r\n"); /* a new status block starts over */
    WT_CHECK(h.retry_after_ms == -1 && h.remaining == -1 && h.reset_s == -1);
    feed(&h, "RateLimit-Remaining: 12");
    feed(&h, "Retry-After: Tue, 14 Nov 2023 22:13:30 GMT");
    WT_CHECK(h.remaining == 12 && h.retry_after_ms == 10000);
}

/* The LLM client's policy (wt_llm.c). */
static const int llm_statuses[] = {429, 500, 502, 503, 529, 0};
static const wt_http_retry_t llm = {.max_attempts = 4,
                                    .base_ms = 1000,
                                    .cap_ms = 8000,
                                    .server_wait_cap_ms = 60000,
                                    .statuses = llm_statuses,
                                    .flags = WT_HTTP_RETRY_AFTER_ANY};
/* The notifier's policy (wt_notify.c). */
static const wt_http_retry_t notify = {
    .max_attempts = 5, .base_ms = 500, .cap_ms = 30000, .server_wait_cap_ms = 30000};

static void
test_full_jitter_bounds(void)
{
    /* attempt n: uniform in [0, min(cap, base * 2^(n-1))]; rnd picks. */
    WT_CHECK(wt_http_retry_delay_ms(&llm, 1, 500, NULL, 0, 0) == 0);
    WT_CHECK(wt_http_retry_delay_ms(&llm, 1, 500, NULL, 0, 1000) == 1000);
    WT_CHECK(wt_http_retry_delay_ms(&llm, 1, 500, NULL, 0, 1001) == 0);
    WT_CHECK(wt_http_retry_delay_ms(&llm, 3, 0, NULL, 0, 4000) == 4000);
    WT_CHECK(wt_http_retry_delay_ms(&notify, 4, 503, NULL, 0, 4000) == 4000);
    WT_CHECK(wt_http_retry_delay_ms(&notify, 4, 503, NULL, 0, 4001) == 0);
    wt_http_retry_t big = notify;
    big.max_attempts = 100;
    WT_CHECK(wt_http_retry_delay_ms(&big, 60, 500, NULL, 0, 30000) == 30000); /* capped */
    WT_CHECK(wt_http_retry_delay_ms(&big, 60, 500, NULL, 0, 30001) == 0);
    for (uint64_t r = 0; r < 2000; r += 7) {
        int64_t d = wt_http_retry_delay_ms(&llm, 2, 429, NULL, 0, r * 2654435761u);
        WT_CHECK(d >= 0 && d <= 2000);
    }
}

static void
test_give_up(void)
{
    WT_CHECK(wt_http_retry_delay_ms(&llm, 4, 500, NULL, 0, 1) == -1); /* attempts used */
    WT_CHECK(wt_http_retry_delay_ms(&llm, 1, 400, NULL, 0, 1) == -1);
    WT_CHECK(wt_http_retry_delay_ms(&llm, 1, 504, NULL, 0, 1) == -1); /* not in its list */
    WT_CHECK(wt_http_retry_delay_ms(&notify, 1, 504, NULL, 0, 1) >= 0);
    WT_CHECK(wt_http_retry_delay_ms(&notify, 1, 408, NULL, 0, 1) >= 0);
    WT_CHECK(wt_http_retry_delay_ms(&notify, 1, 404, NULL, 0, 1) == -1);
    WT_CHECK(wt_http_retry_retryable(&notify, 0) && wt_http_retry_retryable(&llm, 0));
    wt_http_retry_t once = notify;
    once.max_attempts = 1;
    WT_CHECK(wt_http_retry_delay_ms(&once, 1, 500, NULL, 0, 1) == -1);
}

static void
test_server_waits(void)
{
    wt_http_hints_t h;
    wt_http_hints_init(&h);
    h.retry_after_ms = 3000;
    /* notify: on 429/503 only, capped at its backoff cap */
    WT_CHECK(wt_http_retry_delay_ms(&notify, 1, 429, &h, 0, 0) == 3000);
    WT_CHECK(wt_http_retry_delay_ms(&notify, 1, 503, &h, 0, 0) == 3000);
    WT_CHECK(wt_http_retry_delay_ms(&notify, 1, 500, &h, 0, 77) == 77 % 501);
    h.retry_after_ms = 86400000;
    WT_CHECK(wt_http_retry_delay_ms(&notify, 1, 429, &h, 0, 0) == 30000);
    /* LLM: on any retried status, capped at 60 s */
    WT_CHECK(wt_http_retry_delay_ms(&llm, 1, 500, &h, 0, 0) == 60000);
    h.retry_after_ms = 0;
    WT_CHECK(wt_http_retry_delay_ms(&llm, 1, 529, &h, 0, 999) == 0);
    /* reset time: only with WT_HTTP_RETRY_RESET and an exhausted quota */
    wt_http_retry_t poll = notify;
    poll.server_wait_cap_ms = 3600000;
    poll.flags = WT_HTTP_RETRY_RESET;
    wt_http_hints_init(&h);
    h.remaining = 0;
    h.reset_s = NOW_S + 20;
    WT_CHECK(wt_http_retry_delay_ms(&poll, 1, 429, &h, NOW_S * 1000, 0) == 20000);
    WT_CHECK(wt_http_retry_delay_ms(&notify, 1, 429, &h, NOW_S * 1000, 5) == 5);
    h.reset_s = NOW_S - 5; /* already past */
    WT_CHECK(wt_http_retry_delay_ms(&poll, 1, 429, &h, NOW_S * 1000, 5) == 0);
    h.reset_s = INT64_MAX / 2; /* hostile: capped, no overflow */
    WT_CHECK(wt_http_retry_delay_ms(&poll, 1, 429, &h, NOW_S * 1000, 5) == 3600000);
    h.remaining = 3;
    h.reset_s = NOW_S + 20;
    WT_CHECK(wt_http_retry_delay_ms(&poll, 1, 429, &h, NOW_S * 1000, 5) == 5);
}

/* A loopback port nobody listens on. */
static int
closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &n);
    close(fd);
    return ntohs(a.sin_port);
}

static void
test_transport_failures(void)
{
    wt_err_t err = {0};
    wt_http_t *h = wt_http_new(&err);
    WT_CHECK(h != NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/SECRET", closed_port());
    const char *hdrs[] = {"Authorization: Bearer TOKEN", NULL};
    wt_http_req_t req = {
        .url = url, .headers = hdrs, .body = "{}", .timeout_ms = 2000, .max_response_bytes = 1024};
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, req.max_response_bytes);
    WT_CHECK(wt_http_perform(h, &req, &resp, &err) == -1);
    WT_CHECK(err.code == WT_EIO && resp.status == 0);
    WT_CHECK(strstr(err.msg, "SECRET") == NULL && strstr(err.msg, "TOKEN") == NULL);
    WT_CHECK(strstr(err.msg, "127.0.0.1") == NULL);
    /* Only http and https: a file URL is refused before any I/O. */
    req.url = "file:///etc/passwd";
    req.body = NULL;
    memset(&err, 0, sizeof err);
    WT_CHECK(wt_http_perform(h, &req, &resp, &err) == -1 && err.code == WT_EIO);
    WT_CHECK(resp.body.len == 0);
    wt_http_resp_release(&resp);
    wt_http_destroy(&h);
    WT_CHECK(h == NULL);
    wt_http_destroy(&h); /* NULL-safe */
}

/* A server that accepts connections (the kernel's backlog) and never
 * answers: a request to it waits until its timeout or an abort. */
static int
silent_server(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &n) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

typedef struct aborter {
    atomic_int flag;  /* abort_fn's answer */
    atomic_int calls; /* abort_fn calls */
    int fd;           /* the eventfd */
} aborter_t;

static int
abort_asked(void *ud)
{
    aborter_t *a = ud;
    atomic_fetch_add(&a->calls, 1);
    return atomic_load(&a->flag);
}

static void *
abort_later(void *ud)
{
    aborter_t *a = ud;
    usleep(200000);
    atomic_store(&a->flag, 1);
    uint64_t one = 1;
    WT_CHECK(write(a->fd, &one, sizeof one) == sizeof one);
    return NULL;
}

/* A silent server (its fd returned), its URL in url, and a with a fresh
 * eventfd and abort_fn answering no. */
static int
silent_with_aborter(char *url, size_t cap, aborter_t *a)
{
    int port = 0, srv = silent_server(&port);
    WT_CHECK(srv >= 0);
    snprintf(url, cap, "http://127.0.0.1:%d/v1", port);
    atomic_init(&a->flag, 0);
    atomic_init(&a->calls, 0);
    a->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    WT_CHECK(a->fd > 0);
    return srv;
}

/* wt_http_perform asks abort_fn from curl's progress callback (the
 * pollers' stop): once it says yes the request ends as cancelled, long
 * before its 60 s timeout (the test's bound). The abort fd is wt_http_mux's
 * (test_mux_many_waiting_abort). */
static void
test_abort_fn(void)
{
    char url[64];
    aborter_t a;
    int srv = silent_with_aborter(url, sizeof url, &a);
    wt_err_t err = {0};
    wt_http_t *h = wt_http_new(&err);
    WT_CHECK(h != NULL);
    wt_http_req_t req = {.url = url,
                         .body = "{}",
                         .timeout_ms = 60000,
                         .max_response_bytes = 1024,
                         .abort_fn = abort_asked,
                         .abort_ud = &a};
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, req.max_response_bytes);
    pthread_t t;
    WT_CHECK(pthread_create(&t, NULL, abort_later, &a) == 0);
    WT_CHECK(wt_http_perform(h, &req, &resp, &err) == -1);
    pthread_join(t, NULL);
    WT_CHECK(err.code == WT_ETIMEDOUT && strstr(err.msg, "cancelled") != NULL);
    wt_http_resp_release(&resp);
    wt_http_destroy(&h);
    close(a.fd);
    close(srv);
}

/* --- wt_http_mux --- */

#define THREADS 8 /* callers at once, each making CALLS requests in turn */
#define CALLS   5
#define WAITING 64 /* requests waiting at once on a silent server */

static enum MHD_Result
answer_ok(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    static int started;
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data;
    if (*con_cls == NULL) { /* the headers: wait for the body */
        *con_cls = &started;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        *upload_size = 0;
        return MHD_YES;
    }
    wt_buf_t body;
    wt_buf_init(&body, 64);
    wt_buf_puts(&body, "ok", NULL);
    return wt_httpd_reply(conn, MHD_HTTP_OK, "text/plain", &body);
}

/* A libmicrohttpd server answering "ok" on a free loopback port. */
static struct MHD_Daemon *
ok_server(int *port)
{
    for (int tries = 0; tries < 20; tries++) {
        char addr[32];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", *port = closed_port());
        wt_err_t err = {0};
        struct MHD_Daemon *d = wt_httpd_start(addr, 64, answer_ok, NULL, NULL, &err);
        if (d != NULL)
            return d;
    }
    return NULL;
}

typedef struct caller {
    wt_http_mux_t *mux;
    const char *url;
    aborter_t *abort; /* NULL: none */
    int calls;        /* requests, one after another */
    atomic_int *ok;   /* answered 200 "ok" */
    atomic_int *cancelled;
} caller_t;

static void *
call_mux(void *ud)
{
    caller_t *c = ud;
    for (int i = 0; i < c->calls; i++) {
        wt_http_req_t req = {
            .url = c->url, .body = "{}", .timeout_ms = 60000, .max_response_bytes = 1024};
        if (c->abort) {
            req.abort_fn = abort_asked;
            req.abort_ud = c->abort;
            req.abort_fd = c->abort->fd;
        }
        wt_http_resp_t resp;
        wt_http_resp_init(&resp, req.max_response_bytes);
        wt_err_t err = {0};
        int rc = wt_http_mux_perform(c->mux, &req, &resp, &err);
        if (rc == 0 && resp.status == 200 && strcmp(wt_buf_str(&resp.body), "ok") == 0)
            atomic_fetch_add(c->ok, 1);
        if (rc == -1 && err.code == WT_ETIMEDOUT && strstr(err.msg, "cancelled") != NULL)
            atomic_fetch_add(c->cancelled, 1);
        wt_http_resp_release(&resp);
    }
    return NULL;
}

static void
test_mux_shares_connections(void)
{
    int port = 0;
    struct MHD_Daemon *d = ok_server(&port);
    WT_CHECK(d != NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
    wt_err_t err = {0};
    wt_http_mux_t *mux = wt_http_mux_new(&err);
    WT_CHECK(mux != NULL);
    atomic_int ok = 0, cancelled = 0;
    pthread_t t[THREADS];
    caller_t c = {mux, url, NULL, CALLS, &ok, &cancelled};
    for (int i = 0; i < THREADS; i++)
        WT_CHECK(pthread_create(&t[i], NULL, call_mux, &c) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    WT_CHECK(atomic_load(&ok) == THREADS * CALLS);
    /* a handle per call opens a connection per call: 40 */
    long opened = wt_http_mux_connects(mux);
    WT_CHECK(opened >= 1 && opened <= THREADS);
    wt_http_mux_destroy(&mux);
    WT_CHECK(mux == NULL);
    wt_http_mux_destroy(&mux); /* NULL-safe */
    MHD_stop_daemon(d);
}

static void
test_mux_many_waiting_abort(void)
{
    char url[64];
    aborter_t a;
    int srv = silent_with_aborter(url, sizeof url, &a);
    wt_err_t err = {0};
    wt_http_mux_t *mux = wt_http_mux_new(&err);
    WT_CHECK(mux != NULL);
    atomic_int ok = 0, cancelled = 0;
    pthread_t t[WAITING], ab;
    caller_t c = {mux, url, &a, 1, &ok, &cancelled};
    for (int i = 0; i < WAITING; i++)
        WT_CHECK(pthread_create(&t[i], NULL, call_mux, &c) == 0);
    /* abort_later: 200 ms, then abort_fn says yes and the fd wakes all 64
     * (an eventfd stays readable); each ends long before its 60 s timeout */
    WT_CHECK(pthread_create(&ab, NULL, abort_later, &a) == 0);
    for (int i = 0; i < WAITING; i++)
        pthread_join(t[i], NULL);
    pthread_join(ab, NULL);
    WT_CHECK(atomic_load(&cancelled) == WAITING && atomic_load(&ok) == 0);
    /* a readable fd whose abort_fn says no: the request runs to its own
     * timeout without spinning on the fd */
    atomic_store(&a.flag, 0);
    atomic_store(&a.calls, 0);
    wt_http_req_t req = {.url = url,
                         .body = "{}",
                         .timeout_ms = 1500,
                         .max_response_bytes = 1024,
                         .abort_fn = abort_asked,
                         .abort_ud = &a,
                         .abort_fd = a.fd};
    wt_http_resp_t resp;
    wt_http_resp_init(&resp, req.max_response_bytes);
    WT_CHECK(wt_http_mux_perform(mux, &req, &resp, &err) == -1);
    WT_CHECK(err.code == WT_ETIMEDOUT && strstr(err.msg, "no complete answer") != NULL);
    WT_CHECK(atomic_load(&a.calls) < 100);
    /* the I/O thread lives on: the next request, to a server that answers */
    int okport = 0;
    struct MHD_Daemon *d = ok_server(&okport);
    WT_CHECK(d != NULL);
    char okurl[64];
    snprintf(okurl, sizeof okurl, "http://127.0.0.1:%d/v1", okport);
    req = (wt_http_req_t){
        .url = okurl, .body = "{}", .timeout_ms = 10000, .max_response_bytes = 1024};
    memset(&err, 0, sizeof err);
    WT_CHECK(wt_http_mux_perform(mux, &req, &resp, &err) == 0 && resp.status == 200);
    /* a refused port: an I/O error that names neither the URL nor a header */
    char refused[64];
    snprintf(refused, sizeof refused, "http://127.0.0.1:%d/hooks/SECRET", closed_port());
    const char *hdrs[] = {"Authorization: Bearer TOKEN", NULL};
    req = (wt_http_req_t){.url = refused,
                          .headers = hdrs,
                          .body = "{}",
                          .timeout_ms = 2000,
                          .max_response_bytes = 1024};
    memset(&err, 0, sizeof err);
    WT_CHECK(wt_http_mux_perform(mux, &req, &resp, &err) == -1 && err.code == WT_EIO);
    WT_CHECK(strstr(err.msg, "SECRET") == NULL && strstr(err.msg, "TOKEN") == NULL);
    wt_http_resp_release(&resp);
    wt_http_mux_destroy(&mux);
    MHD_stop_daemon(d);
    close(a.fd);
    close(srv);
}

static void
test_random_varies(void)
{
    uint64_t a = wt_http_random(), b = wt_http_random();
    WT_CHECK(a != b);
}

static void
test_curl_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

WT_TEST_MAIN(WT_TEST(test_curl_global_init), WT_TEST(test_retry_after_forms),
             WT_TEST(test_hints_from_headers), WT_TEST(test_full_jitter_bounds),
             WT_TEST(test_give_up), WT_TEST(test_server_waits), WT_TEST(test_transport_failures),
             WT_TEST(test_random_varies), WT_TEST(test_abort_fn),
             WT_TEST(test_mux_shares_connections), WT_TEST(test_mux_many_waiting_abort))
