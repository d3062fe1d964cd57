/* wt_redis - hiredis wrapper.
 *
 * hiredis marks a context unusable after any I/O error; we free it and
 * reconnect on the next call, so a Redis restart costs the caller one failed
 * command rather than a dead process. Replies of type ERROR become err with
 * WT_EIO and the server's text, so callers have a single failure path. */
#include "wt_redis.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_log.h"

#include <errno.h>
#include <hiredis/sds.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wt_redis {
    wt_redis_url_t url; /* parsed target */
    char display[300];  /* url with the password masked */
    int timeout_ms;     /* connect and command timeout */
    redisContext *ctx;  /* NULL while disconnected */
    uint64_t errors;    /* failed commands and connects */
    int pending;        /* replies owed for appended commands */
    /* sentinel mode */
    int next_sentinel;      /* the sentinel asked first (the last that answered) */
    uint64_t failovers;     /* times the resolved master address changed */
    uint64_t disagreements; /* resolves where the sentinels named different masters */
    char last_split[768];   /* the last disagreement logged */
    int64_t checked_ms;     /* when the sentinels were last asked (mono) */
    /* scripts to re-load after a reconnect (a new master, a restarted
     * server) so that pipelined EVALSHA never meets NOSCRIPT */
    const char *scripts[16]; /* static sources (see wt_redis_script_t) */
    int nscripts;
    int patience_ms; /* see wt_redis_set_patience */
    int resolved;    /* the last connect attempt got a master from a sentinel */
};

/* Copies n bytes of p into out, decoding %XX escapes (a password may hold
 * '@', ':' or '/'); -1 when it does not fit or an escape is malformed. */
static int
decode_part(const char *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%') {
            char hex[3] = {0};
            if (i + 2 >= n)
                return -1;
            hex[0] = p[i + 1];
            hex[1] = p[i + 2];
            char *end = NULL;
            long v = strtol(hex, &end, 16);
            if (end != hex + 2 || v <= 0)
                return -1;
            c = (char)v;
            i += 2;
        }
        if (k + 1 >= cap)
            return -1;
        out[k++] = c;
    }
    out[k] = '\0';
    return 0;
}

/* Parses "[user][:password]@" at *p (if there is an '@') into out and
 * advances *p past it. */
static int
parse_credentials(const char **p_io, wt_redis_url_t *out, const char *shown, wt_err_t *err)
{
    const char *p = *p_io;
    const char *at = strrchr(p, '@');
    if (at == NULL)
        return 0;
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *user_end = colon ? colon : at;
    if (decode_part(p, (size_t)(user_end - p), out->user, sizeof out->user) != 0)
        return wt_err_set(err, WT_EINVAL, "bad redis url '%s': bad or too long user", shown);
    if (colon && decode_part(colon + 1, (size_t)(at - colon - 1), out->password,
                             sizeof out->password) != 0) {
        explicit_bzero(out->password, sizeof out->password);
        return wt_err_set(err, WT_EINVAL, "bad redis url '%s': bad or too long password", shown);
    }
    *p_io = at + 1;
    return 0;
}

/* Parses "host:port[,host:port...]/master[/db]" of a redis-sentinel URL. */
static int
parse_sentinels(const char *p, wt_redis_url_t *out, const char *shown, wt_err_t *err)
{
    const char *slash = strchr(p, '/');
    if (slash == NULL || slash[1] == '\0' || slash[1] == '/')
        return wt_err_set(err, WT_EINVAL, "bad redis url '%s': missing /MASTER_NAME", shown);
    out->host[0] = '\0';
    while (p < slash) {
        const char *comma = memchr(p, ',', (size_t)(slash - p));
        const char *end = comma ? comma : slash;
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (out->nsentinels == WT_REDIS_MAX_SENTINELS)
            return wt_err_set(err, WT_EINVAL, "bad redis url '%s': more than %d sentinels", shown,
                              WT_REDIS_MAX_SENTINELS);
        wt_redis_sentinel_t *s = &out->sentinels[out->nsentinels];
        size_t hn = (size_t)((colon ? colon : end) - p);
        if (hn == 0 || hn >= sizeof s->host)
            return wt_err_set(err, WT_EINVAL, "bad redis url '%s': empty sentinel host", shown);
        memcpy(s->host, p, hn);
        s->host[hn] = '\0';
        s->port = 26379;
        if (colon) {
            char *pe = NULL;
            long port = strtol(colon + 1, &pe, 10);
            if (pe == colon + 1 || pe != end || port <= 0 || port > 65535)
                return wt_err_set(err, WT_EINVAL, "bad redis url '%s': bad sentinel port", shown);
            s->port = (int)port;
        }
        out->nsentinels++;
        p = comma ? comma + 1 : slash;
        if (comma && p == slash)
            return wt_err_set(err, WT_EINVAL, "bad redis url '%s': empty sentinel host", shown);
    }
    if (out->nsentinels == 0)
        return wt_err_set(err, WT_EINVAL, "bad redis url '%s': no sentinel host", shown);
    const char *name = slash + 1;
    const char *dbs = strchr(name, '/');
    size_t nn = dbs ? (size_t)(dbs - name) : strlen(name);
    if (nn >= sizeof out->master)
        return wt_err_set(err, WT_EINVAL, "bad redis url '%s': master name too long", shown);
    memcpy(out->master, name, nn);
    out->master[nn] = '\0';
    if (dbs && dbs[1]) {
        char *end = NULL;
        long db = strtol(dbs + 1, &end, 10);
        if (*end != '\0' || db < 0 || db > 1000)
            return wt_err_set(err, WT_EINVAL, "bad redis url '%s': bad database number", shown);
        out->db = (int)db;
    }
    return 0;
}

int
wt_redis_parse_url(const char *url, wt_redis_url_t *out, wt_err_t *err)
{
    char shown[300];
    wt_redis_url_display(url, shown, sizeof shown);
    memset(out, 0, sizeof *out);
    out->port = 6379;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7;
        const char *q = strchr(p, '?');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || n >= sizeof out->path)
            return wt_err_set(err, WT_EINVAL, "bad redis url '%s': missing socket path", shown);
        memcpy(out->path, p, n);
        if (q && strncmp(q, "?db=", 4) == 0)
            out->db = (int)strtol(q + 4, NULL, 10);
        return 0;
    }
    int sentinel = strncmp(url, "redis-sentinel://", 17) == 0;
    if (!sentinel && strncmp(url, "redis://", 8) != 0)
        return wt_err_set(err, WT_EINVAL,
                          "bad redis url '%s': expected redis://, redis-sentinel:// or unix://",
                          shown);
    const char *p = url + (sentinel ? 17 : 8);
    if (parse_credentials(&p, out, shown, err) != 0)
        return -1;
    if (sentinel)
        return parse_sentinels(p, out, shown, err);
    const char *slash = strchr(p, '/');
    const char *colon = strchr(p, ':');
    if (colon && slash && colon > slash)
        colon = NULL;
    const char *host_end = colon ? colon : (slash ? slash : p + strlen(p));
    size_t hn = (size_t)(host_end - p);
    if (hn == 0 || hn >= sizeof out->host)
        return wt_err_set(err, WT_EINVAL, "bad redis url '%s': missing host", shown);
    memcpy(out->host, p, hn);
    if (colon) {
        char *end = NULL;
        long port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || port <= 0 || port > 65535 || (*end != '\0' && *end != '/'))
            return wt_err_set(err, WT_EINVAL, "bad redis url '%s': bad port", shown);
        out->port = (int)port;
    }
    if (slash && slash[1]) {
        char *end = NULL;
        long db = strtol(slash + 1, &end, 10);
        if (*end != '\0' || db < 0 || db > 1000)
            return wt_err_set(err, WT_EINVAL, "bad redis url '%s': bad database number", shown);
        out->db = (int)db;
    }
    return 0;
}

void
wt_redis_url_display(const char *url, char *out, size_t cap)
{
    const char *scheme = strstr(url, "://");
    const char *rest = scheme ? scheme + 3 : url;
    const char *at = strrchr(rest, '@');
    if (at == NULL) {
        snprintf(out, cap, "%s", url);
        return;
    }
    /* Keep the scheme and the user (who connects is useful in a log), never
     * what follows the first ':' of the credentials. */
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    if (colon == NULL) /* a user without a password: nothing secret */
        snprintf(out, cap, "%s", url);
    else
        snprintf(out, cap, "%.*s:***@%s", (int)(colon - url), url, at + 1);
}

int
wt_redis_password_file(char *out, size_t cap, wt_err_t *err)
{
    out[0] = '\0';
    const char *path = getenv(WT_REDIS_PASSWORD_FILE_ENV);
    if (path == NULL || *path == '\0')
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return wt_err_set(err, WT_EIO, "cannot read %s '%s': %s", WT_REDIS_PASSWORD_FILE_ENV, path,
                          strerror(errno));
    size_t n = fread(out, 1, cap - 1, f);
    int bad = ferror(f), more = !bad && fgetc(f) != EOF;
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    if (bad || more || n == 0 || memchr(out, '\n', n) != NULL) {
        explicit_bzero(out, cap);
        return wt_err_set(err, WT_EINVAL, "cannot read %s '%s': %s", WT_REDIS_PASSWORD_FILE_ENV,
                          path,
                          bad      ? "read error"
                          : more   ? "longer than the maximum password"
                          : n == 0 ? "file is empty"
                                   : "more than one line");
    }
    return 0;
}

wt_redis_t *
wt_redis_new(const char *url, int timeout_ms, wt_err_t *err)
{
    wt_redis_t *self = wt_xcalloc(1, sizeof *self);
    if (wt_redis_parse_url(url, &self->url, err) != 0) {
        free(self);
        return NULL;
    }
    if (self->url.password[0] == '\0' &&
        wt_redis_password_file(self->url.password, sizeof self->url.password, err) != 0) {
        free(self);
        return NULL;
    }
    wt_redis_url_display(url, self->display, sizeof self->display);
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    return self;
}

void
wt_redis_destroy(wt_redis_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_redis_t *self = *self_p;
    if (self->ctx)
        redisFree(self->ctx);
    explicit_bzero(self->url.password, sizeof self->url.password);
    free(self);
    *self_p = NULL;
}

void
wt_redis_disconnect(wt_redis_t *self)
{
    if (self->ctx)
        redisFree(self->ctx);
    self->ctx = NULL;
    self->pending = 0;
}

int
wt_redis_connected(const wt_redis_t *self)
{
    return self->ctx != NULL;
}

uint64_t
wt_redis_failovers(const wt_redis_t *self)
{
    return self->failovers;
}

uint64_t
wt_redis_sentinel_disagreements(const wt_redis_t *self)
{
    return self->disagreements;
}

uint64_t
wt_redis_errors(const wt_redis_t *self)
{
    return self->errors;
}

static int
io_fail(wt_redis_t *self, wt_err_t *err, const char *what)
{
    self->errors++;
    if (self->url.nsentinels > 0)
        wt_err_set(err, WT_EIO, "redis %s at master '%s' %s:%d (%s): %s", what, self->url.master,
                   self->url.host, self->url.port, self->display,
                   self->ctx && self->ctx->errstr[0] ? self->ctx->errstr : "connection lost");
    else
        wt_err_set(err, WT_EIO, "redis %s at %s: %s", what, self->display,
                   self->ctx && self->ctx->errstr[0] ? self->ctx->errstr : "connection lost");
    if (err && self->ctx && self->ctx->err == REDIS_ERR_IO && self->ctx->errstr[0] &&
        strstr(self->ctx->errstr, "temporarily unavailable") != NULL)
        err->code = WT_ETIMEDOUT; /* hiredis 0.14 reports a timeout as EAGAIN */
    wt_redis_disconnect(self);
    return -1;
}

static redisReply *
check_reply(wt_redis_t *self, redisReply *r, wt_err_t *err)
{
    if (r == NULL) {
        io_fail(self, err, "command");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        self->errors++;
        if (strncmp(r->str, "STALE", 5) == 0)
            wt_err_set(err, WT_ESTALE, "redis refused: %s", r->str);
        else
            wt_err_set(err, WT_EIO, "redis error: %s", r->str);
        /* A demoted master answers writes with READONLY and a promoted
         * replica may still be LOADING: ask the sentinels again. */
        if (self->url.nsentinels > 0 &&
            (strncmp(r->str, "READONLY", 8) == 0 || strncmp(r->str, "LOADING", 7) == 0 ||
             strstr(r->str, "-READONLY") != NULL)) {
            wt_log_warn("redis master '%s' at %s:%d answered '%.40s': resolving again",
                        self->url.master, self->url.host, self->url.port, r->str);
            wt_redis_disconnect(self);
        }
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Asks every sentinel where the master is (one pass, so a caller's retry
 * loop bounds the attempts) and takes the address named by a strict majority
 * of those that named one: sentinels that disagree (mid-failover, or a
 * misconfigured set) never make us pick a side at random. A tie is an error
 * naming every answer; a dissenting minority is logged. Both are counted. */
static int
resolve_master(wt_redis_t *self, struct timeval tv, wt_err_t *err)
{
    char why[768] = "";
    size_t wn = 0;
    int n = self->url.nsentinels, named = 0;

    struct {
        char host[256];
        int port, votes;
        char who[160]; /* the sentinels that named it */
    } addr[WT_REDIS_MAX_SENTINELS];

    int naddr = 0;
    /* a sentinel answers at once or not at all: do not let a dead one cost
     * a whole command timeout */
    struct timeval stv = tv.tv_sec >= 1 ? (struct timeval){.tv_sec = 1} : tv;
    for (int k = 0; k < n; k++) {
        int i = (self->next_sentinel + k) % n;
        const wt_redis_sentinel_t *s = &self->url.sentinels[i];
        char got[256] = "";
        redisContext *c = redisConnectWithTimeout(s->host, s->port, stv);
        redisReply *r = NULL;
        if (c == NULL || c->err)
            snprintf(got, sizeof got, "unreachable (%s)", c ? c->errstr : "out of memory");
        else if (redisSetTimeout(c, stv) != REDIS_OK ||
                 (r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", self->url.master)) ==
                     NULL)
            snprintf(got, sizeof got, "no answer (%s)", c->errstr[0] ? c->errstr : "timeout");
        else if (r->type == REDIS_REPLY_ERROR)
            snprintf(got, sizeof got, "error: %.200s", r->str);
        else if (r->type == REDIS_REPLY_NIL)
            snprintf(got, sizeof got, "does not know master '%s'", self->url.master);
        else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                 r->element[0]->type != REDIS_REPLY_STRING ||
                 r->element[1]->type != REDIS_REPLY_STRING ||
                 strlen(r->element[0]->str) >= sizeof addr[0].host)
            snprintf(got, sizeof got, "unexpected reply");
        else {
            int port = atoi(r->element[1]->str), j = 0;
            while (j < naddr &&
                   (strcmp(addr[j].host, r->element[0]->str) != 0 || addr[j].port != port))
                j++;
            if (j == naddr) {
                snprintf(addr[j].host, sizeof addr[j].host, "%s", r->element[0]->str);
                addr[j].port = port;
                addr[j].votes = 0;
                addr[j].who[0] = '\0';
                naddr++;
            }
            size_t wl = strlen(addr[j].who);
            snprintf(addr[j].who + wl, sizeof addr[j].who - wl, "%s%s:%d", wl ? ", " : "", s->host,
                     s->port);
            addr[j].votes++;
            named++;
        }
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
        if (got[0] == '\0')
            continue;
        int w = snprintf(why + wn, sizeof why - wn, "%ssentinel %s:%d %s", wn ? "; " : "", s->host,
                         s->port, got);
        if (w > 0 && (size_t)w < sizeof why - wn)
            wn += (size_t)w;
    }
    int best = -1;
    for (int j = 0; j < naddr; j++)
        if (2 * addr[j].votes > named)
            best = j;
    if (naddr > 1) {
        self->disagreements++;
        char all[768] = "";
        size_t an = 0;
        for (int j = 0; j < naddr; j++) {
            int w = snprintf(all + an, sizeof all - an, "%s%s:%d per sentinel %s", j ? "; " : "",
                             addr[j].host, addr[j].port, addr[j].who);
            if (w > 0 && (size_t)w < sizeof all - an)
                an += (size_t)w;
        }
        if (best < 0) {
            self->errors++;
            /* said once per distinct split: callers may log only their
             * first failure, and a retry loop must not flood the log */
            if (strcmp(self->last_split, all) != 0)
                wt_log_warn("redis master '%s': the sentinels disagree, none has a majority: %s",
                            self->url.master, all);
            snprintf(self->last_split, sizeof self->last_split, "%s", all);
            return wt_err_set(err, WT_EIO,
                              "redis master '%s' not resolved (%s): the sentinels disagree and "
                              "none has a majority: %s",
                              self->url.master, self->display, all);
        }
        if (strcmp(self->last_split, all) != 0)
            wt_log_warn("redis master '%s': the sentinels disagree (%s); taking the majority's "
                        "%s:%d",
                        self->url.master, all, addr[best].host, addr[best].port);
        snprintf(self->last_split, sizeof self->last_split, "%s", all);
    }
    if (best < 0) {
        self->errors++;
        return wt_err_set(err, WT_EIO, "redis master '%s' not resolved (%s): %s", self->url.master,
                          self->display, why);
    }
    if (strcmp(self->url.host, addr[best].host) != 0 || self->url.port != addr[best].port) {
        if (self->url.host[0])
            self->failovers++;
        wt_log_info("redis master '%s' is at %s:%d (sentinel %s)", self->url.master,
                    addr[best].host, addr[best].port, addr[best].who);
    }
    snprintf(self->url.host, sizeof self->url.host, "%s", addr[best].host);
    self->url.port = addr[best].port;
    return 0;
}

/* A sentinel's answer may be stale (mid-failover): refuse a "master" that
 * says it is a replica, and ask the next sentinel first next time. */
static int
check_role(wt_redis_t *self, wt_err_t *err)
{
    redisReply *r = check_reply(self, redisCommand(self->ctx, "ROLE"), err);
    if (r == NULL) {
        wt_redis_disconnect(self);
        return -1;
    }
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
             r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "master") == 0;
    if (!ok) {
        self->errors++;
        wt_err_set(err, WT_EIO, "redis at %s:%d (master '%s' per sentinel) answers ROLE as '%s'",
                   self->url.host, self->url.port, self->url.master,
                   r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                           r->element[0]->type == REDIS_REPLY_STRING
                       ? r->element[0]->str
                       : "?");
        self->next_sentinel = (self->next_sentinel + 1) % self->url.nsentinels;
        wt_redis_disconnect(self);
    }
    freeReplyObject(r);
    return ok ? 0 : -1;
}

void
wt_redis_set_patience(wt_redis_t *self, int ms)
{
    self->patience_ms = ms > 0 ? ms : 0;
}

static int
connect_once(wt_redis_t *self, wt_err_t *err)
{
    struct timeval tv = {.tv_sec = self->timeout_ms / 1000,
                         .tv_usec = (self->timeout_ms % 1000) * 1000};
    self->resolved = 0;
    if (self->url.nsentinels > 0 && resolve_master(self, tv, err) != 0)
        return -1;
    self->resolved = self->url.nsentinels > 0;
    if (self->url.path[0])
        self->ctx = redisConnectUnixWithTimeout(self->url.path, tv);
    else
        self->ctx = redisConnectWithTimeout(self->url.host, self->url.port, tv);
    if (self->ctx == NULL || self->ctx->err)
        return io_fail(self, err, "connect");
    if (redisSetTimeout(self->ctx, tv) != REDIS_OK)
        return io_fail(self, err, "set timeout");
    if (self->url.password[0]) {
        /* AUTH on every (re)connect: a new connection starts unauthenticated.
         * The reply (WRONGPASS, NOAUTH ...) never echoes the password. */
        redisReply *r = self->url.user[0] ? redisCommand(self->ctx, "AUTH %s %s", self->url.user,
                                                         self->url.password)
                                          : redisCommand(self->ctx, "AUTH %s", self->url.password);
        if (r == NULL)
            return io_fail(self, err, "auth");
        if (r->type == REDIS_REPLY_ERROR) {
            self->errors++;
            wt_err_set(err, WT_EIO, "redis auth at %s failed: %s", self->display, r->str);
            freeReplyObject(r);
            wt_redis_disconnect(self);
            return -1;
        }
        freeReplyObject(r);
    }
    if (self->url.db != 0) {
        redisReply *r = check_reply(self, redisCommand(self->ctx, "SELECT %d", self->url.db), err);
        if (r == NULL) {
            wt_redis_disconnect(self);
            return -1;
        }
        freeReplyObject(r);
    }
    if (self->url.nsentinels > 0 && check_role(self, err) != 0)
        return -1;
    for (int i = 0; i < self->nscripts; i++) {
        redisReply *r =
            check_reply(self, redisCommand(self->ctx, "SCRIPT LOAD %s", self->scripts[i]), err);
        if (r == NULL) {
            wt_redis_disconnect(self);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

/* What a +switch-master subscription would tell, by asking: every
 * WT_REDIS_MASTER_RECHECK_MS, before a command (never inside a pipeline),
 * the sentinels are asked again; when their majority names another master
 * the connection is dropped and the command goes there. This catches an old
 * master that is still up and writable (cut off from the sentinels, not yet
 * demoted), which neither a lost connection nor READONLY would reveal. When
 * no sentinel answers, the current connection is kept. */
static void
recheck_master(wt_redis_t *self)
{
    if (self->url.nsentinels == 0 || self->ctx == NULL || self->pending > 0)
        return;
    int64_t now = wt_clock_mono_ms();
    if (now - self->checked_ms < WT_REDIS_MASTER_RECHECK_MS)
        return;
    self->checked_ms = now;
    char host[sizeof self->url.host];
    int port = self->url.port;
    uint64_t errors = self->errors;
    snprintf(host, sizeof host, "%s", self->url.host);
    struct timeval tv = {.tv_sec = 1};
    wt_err_t e = {0};
    if (resolve_master(self, tv, &e) != 0) {
        self->errors = errors; /* the connection in use is fine: not a failure */
        return;
    }
    if (strcmp(host, self->url.host) != 0 || port != self->url.port) {
        wt_log_warn("redis master '%s' moved from %s:%d to %s:%d (per the sentinels): switching",
                    self->url.master, host, port, self->url.host, self->url.port);
        wt_redis_disconnect(self);
    }
}

/* Only failures after a sentinel named a master are worth waiting out: no
 * reachable sentinel or an unknown master name is a configuration error. */
int
wt_redis_connect(wt_redis_t *self, wt_err_t *err)
{
    if (self->ctx)
        return 0;
    int64_t until = wt_clock_mono_ms() + self->patience_ms, delay = 100;
    int said = 0;
    for (;;) {
        if (connect_once(self, err) == 0) {
            self->checked_ms = wt_clock_mono_ms();
            if (said)
                wt_log_info("redis master '%s' reachable again at %s:%d", self->url.master,
                            self->url.host, self->url.port);
            return 0;
        }
        int64_t left = until - wt_clock_mono_ms();
        if (self->patience_ms <= 0 || !self->resolved || left <= 0)
            return -1;
        if (!said++)
            wt_log_warn("%s; a failover may be under way: retrying for up to %d s",
                        err ? err->msg : "redis connect failed", (int)(left / 1000));
        wt_clock_sleep_ms(delay < left ? delay : left);
        delay = delay * 2 < 1000 ? delay * 2 : 1000;
    }
}

redisContext *
wt_redis_context(wt_redis_t *self)
{
    return self->ctx;
}

/* With patience, a command whose connection was lost (or that met a demoted
 * master) goes once more to the master resolved again. Callers of patient
 * connections send only commands that are safe to repeat. */
static int
retry_lost(const wt_redis_t *self)
{
    return self->patience_ms > 0 && self->url.nsentinels > 0 && self->ctx == NULL;
}

redisReply *
wt_redis_command(wt_redis_t *self, wt_err_t *err, const char *fmt, ...)
{
    recheck_master(self);
    for (int attempt = 0;; attempt++) {
        if (wt_redis_connect(self, err) != 0)
            return NULL;
        va_list ap;
        va_start(ap, fmt);
        redisReply *r = check_reply(self, redisvCommand(self->ctx, fmt, ap), err);
        va_end(ap);
        if (r != NULL || attempt > 0 || !retry_lost(self))
            return r;
    }
}

redisReply *
wt_redis_commandv(wt_redis_t *self, int argc, const char **argv, const size_t *lens, wt_err_t *err)
{
    recheck_master(self);
    for (int attempt = 0;; attempt++) {
        if (wt_redis_connect(self, err) != 0)
            return NULL;
        redisReply *r = check_reply(self, redisCommandArgv(self->ctx, argc, argv, lens), err);
        if (r != NULL || attempt > 0 || !retry_lost(self))
            return r;
    }
}

/* Writes n in decimal at p; returns the digits written. */
static size_t
put_u(char *p, size_t n)
{
    char d[24];
    size_t k = 0;
    do {
        d[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (size_t i = 0; i < k; i++)
        p[i] = d[k - 1 - i];
    return k;
}

/* The command's RESP straight into hiredis's output buffer: what
 * redisAppendCommandArgv does, without its per-command sds (a malloc, a
 * copy and a free) and printf-style lengths. The buffer starts at 16 KiB
 * for a pipeline: hiredis empties it after each full write, and a batch of
 * scripts grew it again by doubling from nothing. 0, or -1 out of memory. */
static int
append_argv(redisContext *c, int argc, const char **argv, const size_t *lens)
{
    size_t bound = 1 + 20 + 2;
    for (int i = 0; i < argc; i++)
        bound += 1 + 20 + 2 + (lens ? lens[i] : strlen(argv[i])) + 2;
    if (sdslen(c->obuf) == 0 && bound < 16384)
        bound = 16384;
    sds ob = sdsMakeRoomFor(c->obuf, bound);
    if (ob == NULL)
        return -1;
    c->obuf = ob;
    char *p = ob + sdslen(ob), *start = p;
    *p++ = '*';
    p += put_u(p, (size_t)argc);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        *p++ = '$';
        p += put_u(p, n);
        *p++ = '\r';
        *p++ = '\n';
        memcpy(p, argv[i], n);
        p += n;
        *p++ = '\r';
        *p++ = '\n';
    }
    sdsIncrLen(ob, (int)(p - start));
    return 0;
}

int
wt_redis_append(wt_redis_t *self, int argc, const char **argv, const size_t *lens, wt_err_t *err)
{
    recheck_master(self);
    if (wt_redis_connect(self, err) != 0)
        return -1;
    if (append_argv(self->ctx, argc, argv, lens) != 0)
        return io_fail(self, err, "append");
    self->pending++;
    return 0;
}

redisReply *
wt_redis_get_reply(wt_redis_t *self, wt_err_t *err)
{
    if (self->ctx == NULL || self->pending <= 0) {
        wt_err_set(err, WT_EIO, "redis reply lost: connection was reset");
        return NULL;
    }
    void *r = NULL;
    if (redisGetReply(self->ctx, &r) != REDIS_OK) {
        io_fail(self, err, "reply");
        return NULL;
    }
    self->pending--;
    return check_reply(self, r, err);
}

int
wt_redis_append_wait(wt_redis_t *self, int nreplicas, int timeout_ms, wt_err_t *err)
{
    char n[16], t[16];
    snprintf(n, sizeof n, "%d", nreplicas);
    snprintf(t, sizeof t, "%d", timeout_ms);
    const char *argv[] = {"WAIT", n, t};
    return wt_redis_append(self, 3, argv, NULL, err);
}

int
wt_redis_wait_reply(wt_redis_t *self, int *replicas, wt_err_t *err)
{
    redisReply *r = wt_redis_get_reply(self, err);
    if (r == NULL)
        return -1;
    int ok = r->type == REDIS_REPLY_INTEGER;
    *replicas = ok ? (int)r->integer : 0;
    freeReplyObject(r);
    return ok ? 0 : wt_err_set(err, WT_EPROTO, "WAIT returned an unexpected reply");
}

/* The SHA-1 of each script source, computed once per process: a worker
 * sets up a store per session, and hashing every script each time was a
 * noticeable part of a short session's CPU (issue 18). Keyed by the
 * source's address (the sources are static); an entry is published with
 * release order once its sha1 is written, so lookups need no lock. */
#define SCRIPT_SHA_CACHE 32

static struct {
    const char *source;
    char sha1[41];
} script_shas[SCRIPT_SHA_CACHE];

static pthread_mutex_t script_shas_lock = PTHREAD_MUTEX_INITIALIZER;

void
wt_redis_script_init(wt_redis_script_t *script, const char *source)
{
    script->source = source;
    for (int i = 0; i < SCRIPT_SHA_CACHE; i++) {
        const char *s = __atomic_load_n(&script_shas[i].source, __ATOMIC_ACQUIRE);
        if (s == NULL)
            break;
        if (s == source) {
            memcpy(script->sha1, script_shas[i].sha1, sizeof script->sha1);
            return;
        }
    }
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)source, strlen(source), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(script->sha1 + 2 * i, 3, "%02x", md[i]);
    pthread_mutex_lock(&script_shas_lock);
    for (int i = 0; i < SCRIPT_SHA_CACHE; i++) {
        const char *s = __atomic_load_n(&script_shas[i].source, __ATOMIC_ACQUIRE);
        if (s == source)
            break;
        if (s == NULL) {
            memcpy(script_shas[i].sha1, script->sha1, sizeof script->sha1);
            __atomic_store_n(&script_shas[i].source, source, __ATOMIC_RELEASE);
            break;
        }
    }
    pthread_mutex_unlock(&script_shas_lock);
}

int
wt_redis_script_load(wt_redis_t *self, wt_redis_script_t *script, wt_err_t *err)
{
    redisReply *r = wt_redis_command(self, err, "SCRIPT LOAD %s", script->source);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    int known = 0;
    for (int i = 0; i < self->nscripts; i++)
        known |= self->scripts[i] == script->source;
    if (!known && self->nscripts < (int)(sizeof self->scripts / sizeof self->scripts[0]))
        self->scripts[self->nscripts++] = script->source;
    return 0;
}

/* Builds EVALSHA/EVAL argv: cmd, body, nkeys, args... */
static void
eval_argv(const char *cmd, const char *body, const char *nkeys_s, int argc, const char **argv,
          const size_t *lens, const char **av, size_t *al)
{
    av[0] = cmd;
    al[0] = strlen(cmd);
    av[1] = body;
    al[1] = strlen(body);
    av[2] = nkeys_s;
    al[2] = strlen(nkeys_s);
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        al[3 + i] = lens ? lens[i] : strlen(argv[i]);
    }
}

#define WT_REDIS_MAX_EVAL_ARGS 512 /* group commit batches (wt_store_append_batch) */
#define WT_REDIS_STACK_ARGS    64  /* more than this: the argv goes on the heap */

/* The EVALSHA/EVAL argv arrays: on the stack for the usual few arguments;
 * a large batch takes them from the heap, so a session thread's stack
 * (whose touched pages stay resident for the thread's life) stays small. */
typedef struct eval_args {
    const char *sav[WT_REDIS_STACK_ARGS + 3];
    size_t sal[WT_REDIS_STACK_ARGS + 3];
    const char **av;
    size_t *al;
} eval_args_t;

static void
eval_args_init(eval_args_t *a, int argc)
{
    if (argc <= WT_REDIS_STACK_ARGS) {
        a->av = a->sav;
        a->al = a->sal;
    } else {
        a->av = wt_xcalloc((size_t)argc + 3, sizeof *a->av);
        a->al = wt_xcalloc((size_t)argc + 3, sizeof *a->al);
    }
}

static void
eval_args_release(eval_args_t *a)
{
    if (a->av != a->sav) {
        free(a->av);
        free(a->al);
    }
}

redisReply *
wt_redis_eval(wt_redis_t *self, wt_redis_script_t *script, int nkeys, int argc, const char **argv,
              const size_t *lens, wt_err_t *err)
{
    if (argc > WT_REDIS_MAX_EVAL_ARGS) {
        wt_err_set(err, WT_ELIMIT, "redis script with %d args > max %d", argc,
                   WT_REDIS_MAX_EVAL_ARGS);
        return NULL;
    }
    eval_args_t a;
    eval_args_init(&a, argc);
    char nk[16];
    snprintf(nk, sizeof nk, "%d", nkeys);
    eval_argv("EVALSHA", script->sha1, nk, argc, argv, lens, a.av, a.al);
    wt_err_t e = {0};
    redisReply *r = wt_redis_commandv(self, argc + 3, a.av, a.al, &e);
    if (r == NULL && strstr(e.msg, "NOSCRIPT") != NULL) {
        self->errors--; /* an expected miss, not a failure */
        eval_argv("EVAL", script->source, nk, argc, argv, lens, a.av, a.al);
        r = wt_redis_commandv(self, argc + 3, a.av, a.al, &e);
    }
    eval_args_release(&a);
    if (r == NULL && err)
        *err = e;
    return r;
}

int
wt_redis_append_eval(wt_redis_t *self, wt_redis_script_t *script, int nkeys, int argc,
                     const char **argv, const size_t *lens, wt_err_t *err)
{
    if (argc > WT_REDIS_MAX_EVAL_ARGS)
        return wt_err_set(err, WT_ELIMIT, "redis script with %d args > max %d", argc,
                          WT_REDIS_MAX_EVAL_ARGS);
    eval_args_t a;
    eval_args_init(&a, argc);
    char nk[16];
    snprintf(nk, sizeof nk, "%d", nkeys);
    eval_argv("EVALSHA", script->sha1, nk, argc, argv, lens, a.av, a.al);
    int rc = wt_redis_append(self, argc + 3, a.av, a.al, err);
    eval_args_release(&a);
    return rc;
}

const char *
wt_redis_field(const redisReply *pairs, const char *name)
{
    if (pairs == NULL || pairs->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < pairs->elements; i += 2)
        if (pairs->element[i]->type == REDIS_REPLY_STRING &&
            strcmp(pairs->element[i]->str, name) == 0)
            return pairs->element[i + 1]->type == REDIS_REPLY_STRING ? pairs->element[i + 1]->str
                                                                     : NULL;
    return NULL;
}
