/* wt_console - the console's HTTP server and verb.
 *
 * Threads: libmicrohttpd's listener plus one thread per connection
 * (MHD_USE_THREAD_PER_CONNECTION). A connection's state (its lazily opened
 * Redis connection) lives in the MHD socket context, made when the
 * connection starts and freed when it closes, so it is only ever touched
 * by that connection's thread. The connection cap is counted here, not by
 * MHD, so the connections over it get a 503 rather than a reset; MHD's own
 * limit sits a little above as the hard bound on threads.
 *
 * Every request: over the cap -> 503; not GET -> 405; /healthz (no token);
 * the token check (?token= -> cookie + 303); the page's files; /api/...
 * Answers carry nosniff, no-store and the page's CSP. */
#include "wt_console.h"

#include "wt_addr.h"
#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_console_api.h"
#include "wt_console_auth.h"
#include "wt_console_ideas.h"
#include "wt_console_bench.h"
#include "wt_console_query.h"
#include "wt_console_runs.h"
#include "wt_console_sse.h"
#include "wt_console_www.h"
#include "wt_log.h"
#include "wt_redis.h"
#include "wt_sd.h"
#include "wt_signal.h"
#include "wt_store.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "frame-ancestors 'none'"
#define REDIS_TIMEOUT_MS 3000       /* per command of an API request */
#define MAX_BODY_BYTES   (64 << 20) /* largest JSON answer */
#define MAX_QUERY_ARGS   32         /* query parameters kept for the token redirect */

struct wt_console {
    wt_console_cfg_t cfg;      /* copy */
    struct MHD_Daemon *daemon; /* owned */
    atomic_int stopping;       /* set first thing in destroy: streams end */
    atomic_int open;           /* connections open now */
    int port;                  /* bound port */
};

typedef struct conn {
    wt_redis_t *redis; /* owned, opened on first use */
    wt_store_t store;  /* over redis */
    int over_cap;      /* opened beyond max_connections: answer 503 */
} conn_t;

void
wt_console_cfg_defaults(wt_console_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->http, sizeof cfg->http, "%s", WT_CONSOLE_DEFAULT_HTTP);
    const char *v = getenv("WORKTRAIN_REDIS");
    snprintf(cfg->redis, sizeof cfg->redis, "%s", v && *v ? v : "redis://127.0.0.1:6379/0");
    v = getenv("WORKTRAIN_CONSOLE_TOKEN");
    if (v && *v)
        snprintf(cfg->token, sizeof cfg->token, "%s", v);
    cfg->heartbeat_ms = WT_CONSOLE_HEARTBEAT_MS;
    cfg->max_connections = WT_CONSOLE_MAX_CONNS;
}

int
wt_console_cfg_check(const wt_console_cfg_t *cfg, wt_err_t *err)
{
    wt_addr_t sa;
    wt_redis_url_t url;
    if (wt_addr_parse(cfg->http, "--http", &sa, err) != 0 ||
        wt_redis_parse_url(cfg->redis, &url, err) != 0)
        return -1;
    if (cfg->token[0] && !wt_console_auth_token_ok(cfg->token))
        return wt_err_set(err, WT_EINVAL,
                          "bad token: use 1..%d characters of A-Z a-z 0-9 - . _ ~ + / =",
                          WT_CONSOLE_AUTH_TOKEN_MAX);
    if (cfg->heartbeat_ms < 100 || cfg->heartbeat_ms > 600000)
        return wt_err_set(err, WT_EINVAL, "bad --sse-heartbeat: expected 100ms..10m");
    if (cfg->max_connections < 1 || cfg->max_connections > 10000)
        return wt_err_set(err, WT_EINVAL, "bad connection limit %d", cfg->max_connections);
    return 0;
}

/* --- answers --- */

static void
common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static enum MHD_Result
send_bytes(struct MHD_Connection *c, unsigned status, const char *type, const void *p, size_t n,
           enum MHD_ResponseMemoryMode mode, const char *h1, const char *v1)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)p, mode);
    if (r == NULL)
        return MHD_NO;
    common_headers(r);
    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    if (h1)
        MHD_add_response_header(r, h1, v1);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, json_t *body, const char *h1, const char *v1)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return MHD_NO;
    size_t n = strlen(text);
    if (n > MAX_BODY_BYTES) { /* a bound, not expected: answers are paged */
        free(text);
        text = wt_xstrdup("{\"error\":\"answer too large\"}");
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        n = strlen(text);
    }
    return send_bytes(c, status, "application/json; charset=utf-8", text, n, MHD_RESPMEM_MUST_FREE,
                      h1, v1);
}

static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    const char *h = NULL, *v = NULL;
    if (status == MHD_HTTP_UNAUTHORIZED) {
        h = "WWW-Authenticate";
        v = "Bearer";
    } else if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        h = "Allow";
        v = "GET";
    } else if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
        h = "Retry-After";
        v = "2";
    }
    return send_json(c, status, json_pack("{s:o}", "error", wt_console_api_string(msg)), h, v);
}

/* Answers a route's result: JSON, or the error mapped to a status. */
static enum MHD_Result
send_result(struct MHD_Connection *c, json_t *body, const wt_err_t *err)
{
    if (body != NULL)
        return send_json(c, MHD_HTTP_OK, body, NULL, NULL);
    if (err->code == WT_EINVAL)
        return send_error(c, MHD_HTTP_BAD_REQUEST, err->msg);
    if (err->code == WT_ENOTFOUND)
        return send_error(c, MHD_HTTP_NOT_FOUND, err->msg);
    char msg[300];
    snprintf(msg, sizeof msg, "redis unavailable: %s", err->msg);
    return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg);
}

/* --- request helpers --- */

static int
hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static const char *
arg(void *ud, const char *name)
{
    const char *v = NULL;
    if (MHD_lookup_connection_value_n(ud, MHD_GET_ARGUMENT_KIND, name, strlen(name), &v, NULL) !=
        MHD_YES)
        return NULL;
    return v ? v : "";
}

static conn_t *
conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static wt_store_t *
conn_store(wt_console_t *self, conn_t *cc, wt_err_t *err)
{
    if (cc->redis == NULL) {
        cc->redis = wt_redis_new(self->cfg.redis, REDIS_TIMEOUT_MS, err);
        if (cc->redis == NULL)
            return NULL;
        wt_store_init(&cc->store, cc->redis, NULL);
    }
    return &cc->store;
}

typedef struct qargs {
    int n;                            /* pairs kept */
    const char *keys[MAX_QUERY_ARGS]; /* borrowed from MHD */
    const char *vals[MAX_QUERY_ARGS]; /* borrowed; NULL for a bare key */
} qargs_t;

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    qargs_t *q = cls;
    if (q->n < MAX_QUERY_ARGS) {
        q->keys[q->n] = key;
        q->vals[q->n++] = value;
    }
    return MHD_YES;
}

/* ?token=T: a right token sets the cookie and redirects to the URL
 * without it; a wrong one is refused. */
static enum MHD_Result
token_redirect(wt_console_t *self, struct MHD_Connection *c, const char *url, const char *given)
{
    if (!wt_console_auth_equal(given, self->cfg.token))
        return send_error(c, MHD_HTTP_UNAUTHORIZED, "wrong token");
    qargs_t q = {0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
    wt_buf_t loc, cookie;
    wt_buf_init(&loc, 8192);
    wt_buf_init(&cookie, 512);
    wt_console_auth_location(&loc, url, q.n, q.keys, q.vals, NULL);
    wt_console_auth_cookie(&cookie, self->cfg.token, NULL);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc = MHD_NO;
    if (r != NULL) {
        common_headers(r);
        MHD_add_response_header(r, "Location", wt_buf_str(&loc));
        MHD_add_response_header(r, "Set-Cookie", wt_buf_str(&cookie));
        rc = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
        MHD_destroy_response(r);
    }
    wt_buf_release(&loc);
    explicit_bzero(cookie.data, cookie.len);
    wt_buf_release(&cookie);
    return rc;
}

static enum MHD_Result
healthz(wt_console_t *self, struct MHD_Connection *c, conn_t *cc)
{
    wt_err_t err = {0};
    wt_store_t *st = conn_store(self, cc, &err);
    redisReply *r = st ? wt_redis_command(st->redis, &err, "PING") : NULL;
    int up = r != NULL;
    if (r)
        freeReplyObject(r);
    return send_json(c, MHD_HTTP_OK, json_pack("{s:b,s:b}", "ok", 1, "redis", up), NULL, NULL);
}

static enum MHD_Result
stream(wt_console_t *self, struct MHD_Connection *c, const char *sid)
{
    const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    const char *q = arg(c, "last_event_id");
    if ((last == NULL || *last == '\0') && q != NULL && *q != '\0')
        last = q;
    if (last != NULL && *last == '\0')
        last = NULL;
    if (last != NULL && !wt_console_query_stream_id_ok(last))
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "bad parameter 'last_event_id' (or Last-Event-ID): expected a stream "
                          "id like 1732950000000-0");
    wt_console_sse_cfg_t cfg = {.redis_url = self->cfg.redis,
                                .session = sid,
                                .last_event_id = last,
                                .heartbeat_ms = self->cfg.heartbeat_ms,
                                .stopping = &self->stopping};
    int no_content = 0;
    wt_err_t err = {0};
    struct MHD_Response *r = wt_console_sse_response(&cfg, &no_content, &err);
    if (no_content)
        return send_bytes(c, MHD_HTTP_NO_CONTENT, NULL, "", 0, MHD_RESPMEM_PERSISTENT, NULL, NULL);
    if (r == NULL)
        return send_result(c, NULL, &err);
    common_headers(r);
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* Splits "/api/<what>/<id>[/<sub>]" after prefix: copies id, points sub. */
static int
split_id(const char *rest, char *id, size_t cap, const char **sub)
{
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= cap)
        return -1;
    memcpy(id, rest, n);
    id[n] = '\0';
    *sub = slash ? slash : "";
    return wt_console_query_id_ok(id) ? 0 : -1;
}

/* send_result for one session: one that retention deleted answers 410
 * {"error", "status": "expired", "expired_ms"} instead of 404. */
static enum MHD_Result
send_session(struct MHD_Connection *c, wt_store_t *st, const char *sid, json_t *body,
             const wt_err_t *err)
{
    int64_t when = 0;
    wt_err_t e = {0};
    if (body != NULL || err->code != WT_ENOTFOUND || wt_store_expired(st, sid, &when, &e) != 1)
        return send_result(c, body, err);
    char iso[40], msg[160];
    wt_clock_format_iso(when, iso, sizeof iso);
    snprintf(msg, sizeof msg, "session '%s' expired at %s (retention)", sid, iso);
    return send_json(c, MHD_HTTP_GONE,
                     json_pack("{s:s,s:s,s:I}", "error", msg, "status", "expired", "expired_ms",
                               (json_int_t)when),
                     NULL, NULL);
}

static enum MHD_Result
api_sessions(wt_console_t *self, struct MHD_Connection *c, wt_store_t *st, const char *rest)
{
    wt_err_t err = {0};
    if (*rest == '\0') {
        wt_console_sessions_query_t q;
        if (wt_console_query_sessions(arg, c, &q, &err) != 0)
            return send_result(c, NULL, &err);
        return send_result(c, wt_console_api_sessions(st, &q, &err), &err);
    }
    char sid[WT_CONSOLE_ID_MAX + 1];
    const char *sub;
    if (*rest != '/' || split_id(rest + 1, sid, sizeof sid, &sub) != 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad session id in the path");
    if (*sub == '\0')
        return send_session(c, st, sid, wt_console_api_session(st, sid, &err), &err);
    if (strcmp(sub, "/tree") == 0)
        return send_session(c, st, sid, wt_console_api_tree(st, sid, &err), &err);
    if (strcmp(sub, "/events") == 0)
        return stream(self, c, sid);
    if (strncmp(sub, "/events/", 8) == 0)
        return send_result(c, wt_console_api_event_get(st, sid, sub + 8, &err), &err);
    return send_error(c, MHD_HTTP_NOT_FOUND, "no such route");
}

static enum MHD_Result
api(wt_console_t *self, struct MHD_Connection *c, conn_t *cc, const char *url)
{
    wt_err_t err = {0};
    if (strcmp(url, "/api/events") == 0)
        return stream(self, c, NULL);
    wt_store_t *st = conn_store(self, cc, &err);
    if (st == NULL)
        return send_result(c, NULL, &err);
    if (strncmp(url, "/api/sessions", 13) == 0 && (url[13] == '\0' || url[13] == '/'))
        return api_sessions(self, c, st, url + 13);
    if (strncmp(url, "/api/events/", 12) == 0)
        return send_result(c, wt_console_api_event_get(st, NULL, url + 12, &err), &err);
    if (strcmp(url, "/api/stats") == 0)
        return send_result(c, wt_console_api_stats(st, &err), &err);
    if (strcmp(url, "/api/workers") == 0)
        return send_result(c, wt_console_api_workers(st, &err), &err);
    if (strcmp(url, "/api/ideas") == 0)
        return send_result(c, wt_console_ideas(st, &err), &err);
    if (strcmp(url, "/api/bench") == 0)
        return send_result(c, wt_console_bench_list(st, &err), &err);
    if (strncmp(url, "/api/bench/", 11) == 0) {
        char id[WT_CONSOLE_ID_MAX + 1];
        const char *sub;
        if (split_id(url + 11, id, sizeof id, &sub) != 0 || *sub != '\0')
            return send_error(c, MHD_HTTP_BAD_REQUEST, "bad bench run id in the path");
        return send_result(c, wt_console_bench_get(st, id, &err), &err);
    }
    if (strcmp(url, "/api/runs") == 0) {
        wt_console_page_query_t q;
        if (wt_console_query_page(arg, c, &q, &err) != 0)
            return send_result(c, NULL, &err);
        return send_result(c, wt_console_runs_list(st, &q, &err), &err);
    }
    if (strncmp(url, "/api/runs/", 10) == 0) {
        char id[WT_CONSOLE_ID_MAX + 1];
        const char *sub;
        if (split_id(url + 10, id, sizeof id, &sub) != 0 || *sub != '\0')
            return send_error(c, MHD_HTTP_BAD_REQUEST, "bad run id in the path");
        return send_result(c, wt_console_runs_get(st, id, &err), &err);
    }
    return send_error(c, MHD_HTTP_NOT_FOUND, "no such route");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    static int first_call;
    wt_console_t *self = cls;
    conn_t *cc = conn_of(c);
    if (*req_cls == NULL) { /* answer once the request is read, so keep-alive works */
        *req_cls = &first_call;
        return MHD_YES;
    }
    if (*upload_size != 0) { /* no route takes a body: discard it */
        *upload_size = 0;
        return MHD_YES;
    }
    if (cc == NULL || cc->over_cap) /* closed after: a new connection may fit again */
        return send_json(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                         json_pack("{s:s}", "error", "too many connections"), "Connection",
                         "close");
    if (strcmp(method, "GET") != 0)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is served");
    if (strcmp(url, "/healthz") == 0)
        return healthz(self, c, cc);
    if (self->cfg.token[0] == '\0' &&
        !wt_console_auth_host_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")))
        return send_error(c, MHD_HTTP_FORBIDDEN,
                          "this console has no token, so it answers only a Host that is an IP "
                          "address or localhost (use one, or start it with a token)");
    if (self->cfg.token[0]) {
        const char *given = arg(c, "token");
        if (given != NULL)
            return token_redirect(self, c, url, given);
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *cookie =
            MHD_lookup_connection_value(c, MHD_COOKIE_KIND, WT_CONSOLE_AUTH_COOKIE);
        if (!wt_console_auth_check(self->cfg.token, auth, cookie))
            return send_error(c, MHD_HTTP_UNAUTHORIZED,
                              "this console needs its token (Authorization: Bearer, or open a "
                              "link with ?token=)");
    }
    if (strncmp(url, "/api/", 5) == 0)
        return api(self, c, cc, url);
    const wt_console_www_file_t *f = wt_console_www_find(url);
    if (f != NULL)
        return send_bytes(c, MHD_HTTP_OK, wt_console_www_type(url), f->data, f->len,
                          MHD_RESPMEM_PERSISTENT, NULL, NULL);
    return send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
}

/* MHD's unescaping, except that %00 stays as it is: a NUL would end the
 * path or a parameter early ("/api/sessions/S%00/tree" would be read as
 * the detail of S), whereas "%00" is refused by every check. */
static size_t
unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *out = s;
    for (const char *p = s; *p;) {
        int hi = -1, lo = -1;
        if (p[0] == '%' && p[1] && p[2]) {
            hi = hexval(p[1]);
            lo = hexval(p[2]);
        }
        if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
            *out++ = (char)(hi << 4 | lo);
            p += 3;
        } else
            *out++ = *p++;
    }
    *out = '\0';
    return (size_t)(out - s);
}

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    wt_console_t *self = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_t *cc = wt_xcalloc(1, sizeof *cc);
        cc->over_cap = atomic_fetch_add(&self->open, 1) >= self->cfg.max_connections;
        *socket_context = cc;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context != NULL) {
        conn_t *cc = *socket_context;
        atomic_fetch_sub(&self->open, 1);
        wt_redis_destroy(&cc->redis);
        free(cc);
        *socket_context = NULL;
    }
}

wt_console_t *
wt_console_new(const wt_console_cfg_t *cfg, wt_err_t *err)
{
    if (wt_console_cfg_check(cfg, err) != 0)
        return NULL;
    wt_addr_t sa;
    wt_addr_parse(cfg->http, "--http", &sa, NULL);
    wt_console_t *self = wt_xcalloc(1, sizeof *self);
    self->cfg = *cfg;
    atomic_init(&self->stopping, 0);
    atomic_init(&self->open, 0);
    /* Idle keep-alive connections go after a while; streams send a
     * keepalive well within it. */
    unsigned timeout_s = (unsigned)(cfg->heartbeat_ms / 1000) * 2 + 10;
    if (timeout_s < 60)
        timeout_s = 60;
    self->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG | (sa.family == AF_INET6 ? MHD_USE_IPv6 : 0),
        (uint16_t)sa.port, NULL, NULL, on_request, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa.sa, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(cfg->max_connections + 16), MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, self, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)(1 << 20), MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
    if (self->daemon == NULL) {
        free(self);
        wt_err_set(err, WT_EIO, "cannot listen for HTTP on %s (address in use?)", cfg->http);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? (int)info->port : sa.port;
    return self;
}

int
wt_console_port(const wt_console_t *self)
{
    return self->port;
}

void
wt_console_destroy(wt_console_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_console_t *self = *self_p;
    atomic_store(&self->stopping, 1);
    MHD_stop_daemon(self->daemon);
    explicit_bzero(self->cfg.token, sizeof self->cfg.token);
    free(self);
    *self_p = NULL;
}

/* --- the verb --- */

static const char usage[] =
    "usage: worktrain console [--http ADDR:PORT] [--redis URL] [--token T] [--sse-heartbeat DUR]\n"
    "\n"
    "Serves the read-only web console and its JSON API (console/API.md) from Redis.\n"
    "  --http ADDR:PORT      listen address (default " WT_CONSOLE_DEFAULT_HTTP "; IPv4, port 0 = "
    "any)\n"
    "  --redis URL           Redis (default $WORKTRAIN_REDIS or redis://127.0.0.1:6379/0)\n"
    "  --token T             require this token (default $WORKTRAIN_CONSOLE_TOKEN; prefer the\n"
    "                        variable: arguments are visible to other users)\n"
    "  --sse-heartbeat DUR   keepalive interval of event streams (default 15s)\n";

static int
usage_error(const char *fmt, const char *what)
{
    fprintf(stderr, "worktrain console: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (see worktrain console --help)\n");
    return 2;
}

/* 0 to run, 1 after --help, 2 on bad usage. */
static int
parse_args(int argc, char **argv, wt_console_cfg_t *cfg)
{
    static const struct option opts[] = {{"http", 1, 0, 'a'},  {"redis", 1, 0, 'r'},
                                         {"token", 1, 0, 't'}, {"sse-heartbeat", 1, 0, 'b'},
                                         {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'a':
            snprintf(cfg->http, sizeof cfg->http, "%s", optarg);
            break;
        case 'r':
            snprintf(cfg->redis, sizeof cfg->redis, "%s", optarg);
            break;
        case 't':
            if (strlen(optarg) >= sizeof cfg->token)
                return usage_error("%s", "--token is too long");
            snprintf(cfg->token, sizeof cfg->token, "%s", optarg);
            break;
        case 'b':
            cfg->heartbeat_ms = wt_clock_parse_duration_ms(optarg);
            if (cfg->heartbeat_ms <= 0)
                return usage_error("bad --sse-heartbeat '%s' (e.g. 15s)", optarg);
            break;
        case 'h':
            fputs(usage, stdout);
            return 1;
        default:
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}

int
wt_console_main(int argc, char **argv)
{
    wt_console_cfg_t cfg;
    wt_console_cfg_defaults(&cfg);
    int rc = parse_args(argc, argv, &cfg);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    wt_err_t err = {0};
    if (wt_console_cfg_check(&cfg, &err) != 0) {
        fprintf(stderr, "worktrain console: %s (see worktrain console --help)\n", err.msg);
        return 2;
    }
    wt_log_init("wt-console");
    wt_signal_install();
    wt_console_t *con = wt_console_new(&cfg, &err);
    if (con == NULL) {
        wt_log_error("console: %s", err.msg);
        return 1;
    }
    char shown[300], host[128];
    wt_redis_url_display(cfg.redis, shown, sizeof shown);
    snprintf(host, sizeof host, "%s", cfg.http);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    wt_log_info("console: listening on http://%s:%d/ redis=%s token=%s", host, wt_console_port(con),
                shown, cfg.token[0] ? "required" : "none");
    wt_sd_t sd; /* Type=notify: ready once listening; watchdog from this loop */
    wt_sd_init(&sd);
    wt_sd_ready(&sd, "listening");
    while (!wt_signal_stopping()) {
        wt_sd_tick(&sd, wt_clock_mono_ms());
        wt_clock_sleep_ms(100);
    }
    wt_sd_stopping(&sd, "stopping");
    wt_log_info("console: stopping");
    wt_console_destroy(&con);
    explicit_bzero(cfg.token, sizeof cfg.token);
    return 0;
}
