/* wt_console_sse - one SSE stream.
 *
 * libmicrohttpd calls the content reader on the connection's own thread
 * (MHD_USE_THREAD_PER_CONNECTION), so the reader may block: it XREADs with
 * BLOCK of at most WT_CONSOLE_SSE_BLOCK_MS, then checks the stop flag and
 * the heartbeat. The position is the last stream id sent, so a reconnecting
 * client (Last-Event-ID) gets exactly the entries after it. A session
 * stream ends after session_completed; when a block times out it also
 * checks whether the session ended (a client that resumed after the last
 * event), drains what is left and ends. A Redis failure ends the stream
 * (the browser reconnects with Last-Event-ID and loses nothing). */
#include "wt_console_sse.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_console_api.h"
#include "wt_redis.h"
#include "wt_store.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_COUNT      200       /* entries per XREAD */
#define SSE_MAX_BUFFER (8 << 20) /* frames of one read */

typedef struct sse {
    wt_redis_t *redis;          /* owned: this stream's connection */
    wt_store_t store;           /* key prefix */
    char key[176];              /* the stream */
    char session[72];           /* session id, "" for the fleet stream */
    char last[64];              /* last id sent */
    int64_t heartbeat_ms;       /* keepalive interval */
    int64_t next_beat_ms;       /* monotonic time of the next keepalive */
    const atomic_int *stopping; /* borrowed */
    wt_buf_t out;               /* frames not yet handed to MHD */
    size_t off;                 /* bytes of out already handed */
    int ended;                  /* end once out is drained */
} sse_t;

/* Appends s with CR and LF replaced by '_'; -1 when the buffer is full. */
static int
clean(wt_buf_t *b, const char *s)
{
    for (; *s; s++)
        if (wt_buf_append(b, *s == '\r' || *s == '\n' ? "_" : s, 1, NULL) != 0)
            return -1;
    return 0;
}

int
wt_console_sse_frame(wt_buf_t *out, const char *id, const char *type, const char *json,
                     wt_err_t *err)
{
    if (strchr(json, '\n') != NULL || strchr(json, '\r') != NULL)
        return wt_err_set(err, WT_EINVAL, "sse data must be one line");
    size_t before = out->len;
    int rc = wt_buf_puts(out, "id: ", NULL);
    rc |= clean(out, id);
    rc |= wt_buf_puts(out, "\nevent: ", NULL);
    rc |= clean(out, type);
    rc |= wt_buf_puts(out, "\ndata: ", NULL);
    rc |= wt_buf_puts(out, json, NULL);
    rc |= wt_buf_puts(out, "\n\n", NULL);
    if (rc != 0) {
        out->len = before; /* no half frame */
        if (out->data)
            out->data[before] = '\0';
        return wt_err_set(err, WT_ELIMIT, "sse buffer full");
    }
    return 0;
}

int
wt_console_sse_comment(wt_buf_t *out, const char *text, wt_err_t *err)
{
    if (wt_buf_puts(out, ": ", err) != 0 || clean(out, text) != 0)
        return wt_err_set(err, WT_ELIMIT, "sse buffer full");
    return wt_buf_puts(out, "\n\n", err);
}

json_t *
wt_console_sse_truncate(json_t *e, size_t bytes, const char *full)
{
    json_t *t = json_deep_copy(e), *data = json_object_get(e, "data");
    json_t *kept = json_object(), *dropped = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(data, k, v)
    {
        char *one = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (one && strlen(one) <= WT_CONSOLE_SSE_KEEP_FIELD_BYTES)
            json_object_set(kept, k, v);
        else
            json_array_append_new(dropped, json_string(k));
        free(one);
    }
    json_object_set_new(t, "data", kept);
    json_object_set_new(t, "truncated", json_true());
    json_object_set_new(t, "dropped", dropped);
    json_object_set_new(t, "bytes", json_integer((json_int_t)bytes));
    json_object_set_new(t, "full", json_string(full));
    return t;
}

/* The event's compact JSON, or its truncated form's when it is too big. */
static char *
event_line(const sse_t *s, json_t *e)
{
    char *line = json_dumps(e, JSON_COMPACT);
    if (line == NULL || strlen(line) <= WT_CONSOLE_SSE_MAX_EVENT_BYTES)
        return line;
    const char *id = json_string_value(json_object_get(e, "id"));
    char full[256];
    if (s->session[0])
        snprintf(full, sizeof full, "/api/sessions/%s/events/%s", s->session, id ? id : "");
    else
        snprintf(full, sizeof full, "/api/events/%s", id ? id : "");
    json_t *t = wt_console_sse_truncate(e, strlen(line), full);
    free(line);
    line = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    return line;
}

/* Formats the entries of an XREAD/XRANGE entry list; notes the last id.
 * Stops early, leaving the rest for the next read, when the buffer fills. */
static void
emit(sse_t *s, const redisReply *entries)
{
    for (size_t i = 0; entries && entries->type == REDIS_REPLY_ARRAY && i < entries->elements;
         i++) {
        json_t *e = wt_console_api_event(entries->element[i], s->session[0] ? s->session : NULL);
        if (e == NULL)
            continue;
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *type = json_string_value(json_object_get(e, "type"));
        char *line = event_line(s, e);
        int have = line != NULL;
        int rc = have ? wt_console_sse_frame(&s->out, id, type, line, NULL) : -1;
        free(line);
        if (rc == 0)
            snprintf(s->last, sizeof s->last, "%s", id);
        else if (have && s->out.len > 0) {
            json_decref(e); /* full: the next read starts after s->last */
            return;
        } else
            s->ended = 1; /* out of memory; the client resumes */
        if (s->session[0] && strcmp(type, "session_completed") == 0)
            s->ended = 1;
        json_decref(e);
        if (s->ended)
            return;
    }
}

/* The session ended: send what is left after last, then end. -1 (and
 * ended) when Redis failed: nothing is known about what is left. */
static int
drain_ended(sse_t *s, wt_err_t *err)
{
    char from[72], count[16];
    snprintf(from, sizeof from, "(%s", s->last);
    snprintf(count, sizeof count, "%d", SSE_COUNT);
    const char *argv[] = {"XRANGE", s->key, from, "+", "COUNT", count};
    redisReply *r = wt_redis_commandv(s->redis, 6, argv, NULL, err);
    if (r == NULL || r->elements == 0)
        s->ended = 1;
    else
        emit(s, r);
    if (r)
        freeReplyObject(r);
    return r == NULL ? -1 : 0;
}

static int
session_ended(sse_t *s)
{
    char hk[160];
    wt_err_t err = {0};
    redisReply *r =
        wt_redis_command(s->redis, &err, "HGET %s status",
                         wt_store_key(&s->store, hk, sizeof hk, "session:%s", s->session));
    int ended = r == NULL || r->type != REDIS_REPLY_STRING || wt_store_status_terminal(r->str);
    if (r)
        freeReplyObject(r);
    return ended;
}

/* Fills s->out with frames, a keepalive, or sets ended; blocks <= 1 s. */
static void
fill(sse_t *s)
{
    int64_t now = wt_clock_mono_ms();
    if (now >= s->next_beat_ms) {
        wt_console_sse_comment(&s->out, "keepalive", NULL);
        s->next_beat_ms = now + s->heartbeat_ms;
        return;
    }
    int64_t block = s->next_beat_ms - now;
    if (block > WT_CONSOLE_SSE_BLOCK_MS)
        block = WT_CONSOLE_SSE_BLOCK_MS;
    char blk[24], count[16];
    snprintf(blk, sizeof blk, "%lld", (long long)block);
    snprintf(count, sizeof count, "%d", SSE_COUNT);
    const char *argv[] = {"XREAD", "COUNT", count, "BLOCK", blk, "STREAMS", s->key, s->last};
    wt_err_t err = {0};
    redisReply *r = wt_redis_commandv(s->redis, 8, argv, NULL, &err);
    if (r == NULL) {
        wt_console_sse_comment(&s->out, "redis unavailable", NULL);
        s->ended = 1;
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
        emit(s, r->element[0]->element[1]);
        s->next_beat_ms = wt_clock_mono_ms() + s->heartbeat_ms;
    } else if (s->session[0] && session_ended(s)) {
        drain_ended(s, NULL); /* a failure ends the stream: the client resumes */
    }
    freeReplyObject(r);
}

static ssize_t
reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    sse_t *s = cls;
    while (s->off >= s->out.len) {
        wt_buf_reset(&s->out);
        s->off = 0;
        if (s->ended || atomic_load(s->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        fill(s);
    }
    size_t n = s->out.len - s->off;
    if (n > max)
        n = max;
    memcpy(buf, s->out.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void
sse_free(void *cls)
{
    sse_t *s = cls;
    wt_redis_destroy(&s->redis);
    wt_buf_release(&s->out);
    free(s);
}

/* Where the stream starts, and whether there is anything to do at all. */
static int
start(sse_t *s, const char *last_event_id, int *no_content, wt_err_t *err)
{
    if (s->session[0] == '\0') {
        if (last_event_id) {
            snprintf(s->last, sizeof s->last, "%s", last_event_id);
            return 0;
        }
        redisReply *r = wt_redis_command(s->redis, err, "XREVRANGE %s + - COUNT 1", s->key);
        if (r == NULL)
            return -1;
        snprintf(s->last, sizeof s->last, "%s",
                 r->type == REDIS_REPLY_ARRAY && r->elements == 1 ? r->element[0]->element[0]->str
                                                                  : "0-0");
        freeReplyObject(r);
        return 0;
    }
    char hk[160];
    redisReply *r =
        wt_redis_command(s->redis, err, "HGET %s status",
                         wt_store_key(&s->store, hk, sizeof hk, "session:%s", s->session));
    if (r == NULL)
        return -1;
    int missing = r->type != REDIS_REPLY_STRING;
    int ended = !missing && wt_store_status_terminal(r->str);
    freeReplyObject(r);
    if (missing)
        return wt_err_set(err, WT_ENOTFOUND, "no session '%s'", s->session);
    snprintf(s->last, sizeof s->last, "%s", last_event_id ? last_event_id : "0-0");
    if (ended && last_event_id) {
        /* Fills out, or sets ended when nothing is left. A failed read is
         * an error, not "nothing left": 204 would stop the browser for good. */
        if (drain_ended(s, err) != 0)
            return -1;
        if (s->ended && s->out.len == 0)
            *no_content = 1;
    }
    return 0;
}

struct MHD_Response *
wt_console_sse_response(const wt_console_sse_cfg_t *cfg, int *no_content, wt_err_t *err)
{
    *no_content = 0;
    sse_t *s = wt_xcalloc(1, sizeof *s);
    wt_buf_init(&s->out, SSE_MAX_BUFFER);
    s->redis = wt_redis_new(cfg->redis_url, 5000, err);
    if (s->redis == NULL) {
        sse_free(s);
        return NULL;
    }
    wt_store_init(&s->store, s->redis, NULL);
    snprintf(s->session, sizeof s->session, "%s", cfg->session ? cfg->session : "");
    if (cfg->session)
        wt_store_key(&s->store, s->key, sizeof s->key, "session:%s:events", cfg->session);
    else
        wt_store_key(&s->store, s->key, sizeof s->key, "events");
    s->heartbeat_ms = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 15000;
    s->next_beat_ms = wt_clock_mono_ms() + s->heartbeat_ms;
    s->stopping = cfg->stopping;
    if (start(s, cfg->last_event_id, no_content, err) != 0 || *no_content) {
        sse_free(s);
        return NULL;
    }
    /* The first chunk goes out at once, so the client sees the headers. */
    wt_buf_t head;
    wt_buf_init(&head, SSE_MAX_BUFFER + 64);
    wt_buf_printf(&head, NULL, "retry: %d\n\n", WT_CONSOLE_SSE_RETRY_MS);
    wt_buf_puts(&head, wt_buf_str(&s->out), NULL);
    wt_buf_reset(&s->out);
    wt_buf_puts(&s->out, wt_buf_str(&head), NULL);
    wt_buf_release(&head);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, reader, s, sse_free);
    if (resp == NULL) {
        sse_free(s);
        wt_err_set(err, WT_EIO, "cannot create the event stream response");
    }
    return resp;
}
