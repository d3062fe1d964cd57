/* wt_proto - msgpack codec for WorkTrain wire messages.
 *
 * Design: one flat struct for every command (see wt_proto.h) and one table
 * of fields. Encoding writes only the fields that are set, so a zero value
 * and an absent key mean the same thing and round trips are exact. Decoding
 * validates in layers - header, command, size, msgpack shape, field types,
 * required fields - and reports the first failure with the wire error code
 * the peer should receive. msgpack objects live in a per-thread zone that is
 * cleared before returning: nothing of msgpack-c leaves this file. */
#include "wt_proto.h"

#include "wt_alloc.h"

#include <msgpack.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef enum { F_STR, F_I64, F_I32, F_U64, F_BOOL, F_LIST } ftype_t;

typedef struct field {
    const char *key; /* wire name */
    size_t klen;     /* strlen(key) */
    ftype_t type;    /* value type */
    size_t off;      /* offset in wt_msg_t */
} field_t;

#define FLD(k, t, m)                                                                               \
    {                                                                                              \
        k, sizeof(k) - 1, t, offsetof(wt_msg_t, m)                                                 \
    }

static const field_t fields[] = {
    FLD("req", F_U64, req),
    FLD("session", F_STR, session),
    FLD("workflow", F_STR, workflow),
    FLD("goal", F_STR, goal),
    FLD("context", F_STR, context_json),
    FLD("parent", F_STR, parent),
    FLD("key", F_STR, key),
    FLD("workspace", F_STR, workspace),
    FLD("run", F_STR, run),
    FLD("phase", F_STR, phase),
    FLD("priority", F_I32, priority),
    FLD("timeout_ms", F_I64, timeout_ms),
    FLD("max_turns", F_I32, max_turns),
    FLD("retain_ms", F_I64, retain_ms),
    FLD("depth", F_I32, depth),
    FLD("epoch", F_I64, epoch),
    FLD("attempt", F_I32, attempt),
    FLD("created_ms", F_I64, created_ms),
    FLD("existing", F_BOOL, existing),
    FLD("code", F_I32, code),
    FLD("message", F_STR, message),
    FLD("name", F_STR, name),
    FLD("version", F_STR, version),
    FLD("slots", F_I32, slots),
    FLD("free", F_I32, free),
    FLD("prefetch", F_I32, prefetch),
    FLD("caps", F_LIST, caps),
    FLD("running", F_LIST, running),
    FLD("labels", F_LIST, labels),
    FLD("require", F_LIST, require),
    FLD("allow_unknown", F_BOOL, allow_unknown),
    FLD("batch", F_I32, batch),
    FLD("llm_calls", F_U64, llm_calls),
    FLD("input_tokens", F_U64, input_tokens),
    FLD("output_tokens", F_U64, output_tokens),
    FLD("tool_calls", F_U64, tool_calls),
    FLD("llm_retries", F_U64, llm_retries),
    FLD("outcome", F_STR, outcome),
    FLD("queued", F_I64, queued),
    FLD("active", F_I64, active),
    FLD("workers", F_I64, workers),
    FLD("slots_total", F_I64, slots_total),
    FLD("slots_free", F_I64, slots_free),
};

#define NFIELDS (sizeof fields / sizeof fields[0])

static const struct {
    int cmd;
    const char *name;
    wt_chan_t chan;
    const char *required; /* space-separated wire keys */
} cmds[] = {
    {WT_CMD_SPAWN, "SPAWN", WT_CHAN_CLIENT, "workflow goal"},
    {WT_CMD_SPAWNED, "SPAWNED", WT_CHAN_CLIENT, "session"},
    {WT_CMD_CANCEL, "CANCEL", WT_CHAN_CLIENT, "session"},
    {WT_CMD_CANCELLED, "CANCELLED", WT_CHAN_CLIENT, "session"},
    {WT_CMD_STATS, "STATS", WT_CHAN_CLIENT, ""},
    {WT_CMD_STATS_REPLY, "STATS_REPLY", WT_CHAN_CLIENT, ""},
    {WT_CMD_BATCH, "BATCH", 0, ""},
    {WT_CMD_ERROR, "ERROR", 0, "code message"},
    {WT_CMD_READY, "READY", WT_CHAN_WORKER, "name slots"},
    {WT_CMD_HEARTBEAT, "HEARTBEAT", WT_CHAN_WORKER, ""},
    {WT_CMD_ASSIGN, "ASSIGN", WT_CHAN_WORKER, "session workflow epoch"},
    {WT_CMD_FINISHED, "FINISHED", WT_CHAN_WORKER, "session outcome"},
    {WT_CMD_DISCONNECT, "DISCONNECT", WT_CHAN_WORKER, ""},
    {WT_CMD_STOP, "STOP", WT_CHAN_WORKER, "session"},
};

#define NCMDS (sizeof cmds / sizeof cmds[0])

static int
cmd_index(int cmd)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (cmds[i].cmd == cmd)
            return (int)i;
    return -1;
}

const char *
wt_cmd_name(int cmd)
{
    int i = cmd_index(cmd);
    return i < 0 ? "UNKNOWN" : cmds[i].name;
}

int
wt_cmd_valid(wt_chan_t chan, int cmd)
{
    int i = cmd_index(cmd);
    return i >= 0 && (cmds[i].chan == 0 || cmds[i].chan == chan);
}

int
wt_proto_label_ok(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");
    return n > 0 && n <= WT_PROTO_MAX_LABEL && s[n] == '\0';
}

wt_msg_t *
wt_msg_new(wt_chan_t chan, wt_cmd_t cmd)
{
    wt_msg_t *self = wt_xcalloc(1, sizeof *self);
    self->chan = chan;
    self->cmd = cmd;
    return self;
}

void
wt_strlist_push(wt_strlist_t *list, const char *s)
{
    list->items = wt_xrealloc(list->items, (list->n + 1) * sizeof *list->items);
    list->items[list->n++] = wt_xstrdup(s);
}

void
wt_strlist_clear(wt_strlist_t *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

void
wt_msg_destroy(wt_msg_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_msg_t *self = *self_p;
    while (self) {
        wt_msg_t *next = self->next;
        for (size_t i = 0; i < NFIELDS; i++) {
            char *base = (char *)self + fields[i].off;
            if (fields[i].type == F_STR)
                free(*(char **)base);
            else if (fields[i].type == F_LIST)
                wt_strlist_clear((wt_strlist_t *)base);
        }
        free(self);
        self = next;
    }
    *self_p = NULL;
}

void
wt_msg_set(char **field, const char *value)
{
    free(*field);
    *field = value ? wt_xstrdup(value) : NULL;
}

/* --- encoding --- */

/* The packer writes straight into the caller's buffer; a body over the
 * limit stops the writes but keeps counting, for the error message. */
typedef struct enc {
    wt_buf_t *out;     /* destination */
    size_t body_bytes; /* bytes the body has (or would have) */
    int failed;        /* a write was refused: over the limit or out's cap */
} enc_t;

static int
buf_write(void *data, const char *p, size_t n)
{
    enc_t *e = data;
    e->body_bytes += n;
    if (e->failed || e->body_bytes > WT_PROTO_MAX_BODY || wt_buf_append(e->out, p, n, NULL) != 0)
        e->failed = 1;
    return e->failed ? -1 : 0;
}

static int
field_set(const wt_msg_t *m, const field_t *f)
{
    const char *base = (const char *)m + f->off;
    switch (f->type) {
    case F_STR:
        return *(char *const *)base != NULL;
    case F_I64:
        return *(const int64_t *)base != 0;
    case F_I32:
        return *(const int32_t *)base != 0;
    case F_U64:
        return *(const uint64_t *)base != 0;
    case F_BOOL:
        return *(const int *)base != 0;
    case F_LIST:
        return ((const wt_strlist_t *)base)->n != 0;
    }
    return 0;
}

static void
pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void
pack_field(msgpack_packer *pk, const wt_msg_t *m, const field_t *f)
{
    const char *base = (const char *)m + f->off;
    msgpack_pack_str(pk, f->klen);
    msgpack_pack_str_body(pk, f->key, f->klen);
    switch (f->type) {
    case F_STR:
        pack_str(pk, *(char *const *)base);
        break;
    case F_I64:
        msgpack_pack_int64(pk, *(const int64_t *)base);
        break;
    case F_I32:
        msgpack_pack_int32(pk, *(const int32_t *)base);
        break;
    case F_U64:
        msgpack_pack_uint64(pk, *(const uint64_t *)base);
        break;
    case F_BOOL:
        if (*(const int *)base)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case F_LIST: {
        const wt_strlist_t *l = (const wt_strlist_t *)base;
        msgpack_pack_array(pk, l->n);
        for (size_t i = 0; i < l->n; i++)
            pack_str(pk, l->items[i]);
        break;
    }
    }
}

int
wt_proto_encode(const wt_msg_t *msg, wt_buf_t *out, wt_err_t *err)
{
    if (!wt_cmd_valid(msg->chan, (int)msg->cmd) || msg->cmd == WT_CMD_BATCH)
        return wt_err_set(err, WT_EINVAL, "cannot encode command 0x%02x on channel '%c'%s",
                          (unsigned)msg->cmd, msg->chan,
                          msg->cmd == WT_CMD_BATCH ? " (a BATCH: wt_proto_encode_batch)" : "");
    size_t start = out->len;
    char hdr[WT_PROTO_HEADER_LEN + 1] = {'W', 'T', (char)msg->chan, '1', (char)msg->cmd};
    if (wt_buf_append(out, hdr, sizeof hdr, err) != 0)
        return -1;
    enc_t e = {out, 0, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &e, buf_write);
    unsigned char set[NFIELDS]; /* one pass over the fields, not two */
    size_t n = 0;
    for (size_t i = 0; i < NFIELDS; i++)
        if (field_set(msg, &fields[i]))
            set[n++] = (unsigned char)i;
    msgpack_pack_map(&pk, n);
    for (size_t k = 0; k < n; k++)
        pack_field(&pk, msg, &fields[set[k]]);
    if (!e.failed)
        return 0;
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    if (e.body_bytes > WT_PROTO_MAX_BODY)
        return wt_err_set(err, WT_ELIMIT, "%s body of %zu bytes > max %d",
                          wt_cmd_name((int)msg->cmd), e.body_bytes, WT_PROTO_MAX_BODY);
    return wt_err_set(err, WT_ELIMIT, "%s message of %zu bytes does not fit the buffer (max %zu)",
                      wt_cmd_name((int)msg->cmd), e.body_bytes + sizeof hdr, out->max_bytes);
}

/* Big-endian 32 bits at p. */
static void
put_be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

/* BATCH body: {"batch": [bin, ...]}, each bin the flat form of one
 * message. Written with 32-bit array and bin lengths (patched in after
 * each message is encoded in place), which any msgpack reader accepts. */
int
wt_proto_encode_batch(wt_chan_t chan, const wt_msg_t *const *msgs, size_t n, wt_buf_t *out,
                      wt_err_t *err)
{
    if (n == 0 || n > WT_PROTO_MAX_BATCH)
        return wt_err_set(err, WT_ELIMIT, "BATCH of %zu messages (1..%d)", n, WT_PROTO_MAX_BATCH);
    size_t start = out->len;
    char head[WT_PROTO_HEADER_LEN + 1 + 1 + 6 + 5] = {
        'W', 'T', (char)chan, '1', (char)WT_CMD_BATCH, (char)0x81, (char)0xa5, 'b',
        'a', 't', 'c',        'h', (char)0xdd};
    put_be32(head + 13, (uint32_t)n);
    if (wt_buf_append(out, head, sizeof head, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i]->chan != chan || msgs[i]->cmd == WT_CMD_BATCH) {
            wt_err_set(err, WT_EINVAL, "BATCH on channel '%c': message %zu is a %s of channel '%c'",
                       chan, i, wt_cmd_name((int)msgs[i]->cmd), msgs[i]->chan);
            goto undo;
        }
        char bin[5] = {(char)0xc6};
        size_t at = out->len;
        if (wt_buf_append(out, bin, sizeof bin, err) != 0 ||
            wt_proto_encode(msgs[i], out, err) != 0)
            goto undo;
        put_be32(out->data + at + 1, (uint32_t)(out->len - at - sizeof bin));
        if (out->len - start - WT_PROTO_HEADER_LEN - 1 > WT_PROTO_MAX_BODY) {
            wt_err_set(err, WT_ELIMIT, "BATCH body over %d bytes at message %zu", WT_PROTO_MAX_BODY,
                       i);
            goto undo;
        }
    }
    return 0;
undo:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return -1;
}

/* --- decoding --- */

static const char *
type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "string";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "binary";
    default:
        return "extension";
    }
}

static int
fail(int *code, int c, wt_err_t *err, const char *fmt, const char *a, const char *b)
{
    if (code)
        *code = c;
    return wt_err_set(err, c == WT_PROTO_E_TOO_BIG ? WT_ELIMIT : WT_EPROTO, fmt, a, b);
}

static int
get_str(const msgpack_object *o, const char *key, char **out, int *code, wt_err_t *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return fail(code, WT_PROTO_E_BAD_BODY, err, "field '%s': expected string, got %s", key,
                    type_name(o->type));
    if (o->via.str.size > WT_PROTO_MAX_STR)
        return fail(code, WT_PROTO_E_TOO_BIG, err, "field '%s': string too long%s", key, "");
    if (memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL)
        return fail(code, WT_PROTO_E_BAD_BODY, err, "field '%s': string contains a NUL byte%s", key,
                    "");
    free(*out);
    *out = wt_xstrndup(o->via.str.ptr, o->via.str.size);
    return 0;
}

static int
get_int(const msgpack_object *o, const field_t *f, int64_t lo, int64_t hi, int64_t *out, int *code,
        wt_err_t *err)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)hi)
            return fail(code, WT_PROTO_E_BAD_BODY, err, "field '%s': integer out of range%s",
                        f->key, "");
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        if (o->via.i64 < lo)
            return fail(code, WT_PROTO_E_BAD_BODY, err, "field '%s': integer out of range%s",
                        f->key, "");
        *out = o->via.i64;
        return 0;
    }
    return fail(code, WT_PROTO_E_BAD_BODY, err, "field '%s': expected integer, got %s", f->key,
                type_name(o->type));
}

static int
decode_field(wt_msg_t *m, const field_t *f, const msgpack_object *o, int *code, wt_err_t *err)
{
    char *base = (char *)m + f->off;
    int64_t v = 0;
    switch (f->type) {
    case F_STR:
        return get_str(o, f->key, (char **)base, code, err);
    case F_I64:
        if (get_int(o, f, INT64_MIN, INT64_MAX, &v, code, err) != 0)
            return -1;
        *(int64_t *)base = v;
        return 0;
    case F_I32:
        if (get_int(o, f, INT32_MIN, INT32_MAX, &v, code, err) != 0)
            return -1;
        *(int32_t *)base = (int32_t)v;
        return 0;
    case F_U64:
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return fail(code, WT_PROTO_E_BAD_BODY, err,
                        "field '%s': expected unsigned integer, got %s", f->key,
                        type_name(o->type));
        *(uint64_t *)base = o->via.u64;
        return 0;
    case F_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN)
            return fail(code, WT_PROTO_E_BAD_BODY, err, "field '%s': expected bool, got %s", f->key,
                        type_name(o->type));
        *(int *)base = o->via.boolean ? 1 : 0;
        return 0;
    case F_LIST: {
        if (o->type != MSGPACK_OBJECT_ARRAY)
            return fail(code, WT_PROTO_E_BAD_BODY, err, "field '%s': expected array, got %s",
                        f->key, type_name(o->type));
        if (o->via.array.size > WT_PROTO_MAX_LIST)
            return fail(code, WT_PROTO_E_TOO_BIG, err, "field '%s': list too long%s", f->key, "");
        wt_strlist_t *l = (wt_strlist_t *)base;
        wt_strlist_clear(l);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            char *s = NULL;
            if (get_str(&o->via.array.ptr[i], f->key, &s, code, err) != 0)
                return -1;
            l->items = wt_xrealloc(l->items, (l->n + 1) * sizeof *l->items);
            l->items[l->n++] = s;
        }
        return 0;
    }
    }
    return 0;
}

static int
decode_map(wt_msg_t *m, const msgpack_object *root, int *code, wt_err_t *err)
{
    if (root->type != MSGPACK_OBJECT_MAP)
        return fail(code, WT_PROTO_E_BAD_BODY, err, "body: expected a map, got %s%s",
                    type_name(root->type), "");
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return fail(code, WT_PROTO_E_BAD_BODY, err, "body: map key is %s, not a string%s",
                        type_name(kv->key.type), "");
        for (size_t j = 0; j < NFIELDS; j++) {
            if (fields[j].klen == kv->key.via.str.size &&
                memcmp(fields[j].key, kv->key.via.str.ptr, kv->key.via.str.size) == 0) {
                if (decode_field(m, &fields[j], &kv->val, code, err) != 0)
                    return -1;
                break;
            }
        }
    }
    return 0;
}

static int
check_required(const wt_msg_t *m, int *code, wt_err_t *err)
{
    const char *req = cmds[cmd_index((int)m->cmd)].required;
    while (*req) {
        size_t n = strcspn(req, " ");
        for (size_t j = 0; j < NFIELDS; j++) {
            if (fields[j].klen == n && memcmp(fields[j].key, req, n) == 0 &&
                !field_set(m, &fields[j]) && fields[j].type != F_I32 && fields[j].type != F_I64)
                return fail(code, WT_PROTO_E_MISSING, err, "%s: required field '%s' is missing",
                            wt_cmd_name((int)m->cmd), fields[j].key);
        }
        req += n;
        while (*req == ' ')
            req++;
    }
    return 0;
}

/* msgpack-c sizes its zone from the counts a container declares, so a
 * 60-byte body announcing a 4-billion-entry map would allocate gigabytes.
 * This walk checks, before unpacking, that the encoded items are there:
 * every pending item needs at least one byte, so more pending items than
 * bytes left means a lie. It only reads headers and lengths (msgpack spec). */
static uint64_t
be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static int
sizes_plausible(const unsigned char *p, size_t n)
{
    uint64_t pending = 1;
    size_t i = 0;
    while (pending > 0) {
        if (i >= n)
            return 0;
        unsigned c = p[i++];
        uint64_t skip = 0, items = 0;
        int len_bytes = 0;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
            ;
        else if (c >= 0x80 && c <= 0x8f)
            items = 2 * (uint64_t)(c & 0x0f);
        else if (c >= 0x90 && c <= 0x9f)
            items = c & 0x0f;
        else if (c >= 0xa0 && c <= 0xbf)
            skip = c & 0x1f;
        else if (c == 0xcc || c == 0xd0)
            skip = 1;
        else if (c == 0xcd || c == 0xd1)
            skip = 2;
        else if (c == 0xca || c == 0xce || c == 0xd2)
            skip = 4;
        else if (c == 0xcb || c == 0xcf || c == 0xd3)
            skip = 8;
        else if (c == 0xd4 || c == 0xd5 || c == 0xd6 || c == 0xd7 || c == 0xd8)
            skip = 1 + ((uint64_t)1 << (c - 0xd4));
        else if (c == 0xc4 || c == 0xd9 || c == 0xc7)
            len_bytes = 1;
        else if (c == 0xc5 || c == 0xda || c == 0xc8 || c == 0xdc || c == 0xde)
            len_bytes = 2;
        else if (c == 0xc6 || c == 0xdb || c == 0xc9 || c == 0xdd || c == 0xdf)
            len_bytes = 4;
        else
            return 0; /* 0xc1: never used */
        if (len_bytes) {
            if (n - i < (size_t)len_bytes)
                return 0;
            uint64_t len = be(p + i, len_bytes);
            i += (size_t)len_bytes;
            if (c == 0xdc || c == 0xdd)
                items = len;
            else if (c == 0xde || c == 0xdf)
                items = 2 * len;
            else
                skip = len + (c >= 0xc7 && c <= 0xc9 ? 1 : 0); /* ext has a type byte */
        }
        if (skip > n - i)
            return 0;
        i += (size_t)skip;
        pending = pending - 1 + items;
        if (pending > n - i)
            return 0;
    }
    return 1;
}

/* Each thread unpacks into its own zone, kept between messages (cleared
 * back to its first 2 KiB chunk after each): a message no longer costs a
 * malloc and free of the zone. Freed when the thread ends. */
static pthread_key_t zone_key;
static pthread_once_t zone_once = PTHREAD_ONCE_INIT;

static void
zone_free(void *z)
{
    msgpack_zone_free(z);
}

static void
zone_key_make(void)
{
    if (pthread_key_create(&zone_key, zone_free) != 0)
        abort();
}

static msgpack_zone *
thread_zone(void)
{
    pthread_once(&zone_once, zone_key_make);
    msgpack_zone *z = pthread_getspecific(zone_key);
    if (z == NULL) {
        z = msgpack_zone_new(2048);
        if (z == NULL || pthread_setspecific(zone_key, z) != 0)
            abort();
    }
    return z;
}

/* A BATCH body's messages (root: the unpacked body, in zone): each bin of
 * its "batch" array is the flat form of one message of chan, not itself a
 * BATCH. The bins point into the caller's bytes, not into the zone, so
 * they are listed first and the zone is cleared before each is decoded
 * (wt_proto_decode uses and clears the same zone). All or nothing. */
static wt_msg_t *
decode_batch(wt_chan_t chan, const msgpack_object *root, msgpack_zone *zone, int *code,
             wt_err_t *err)
{
    const msgpack_object *items = NULL;
    if (root->type != MSGPACK_OBJECT_MAP) {
        fail(code, WT_PROTO_E_BAD_BODY, err, "BATCH body: expected a map, got %s%s",
             type_name(root->type), "");
        msgpack_zone_clear(zone);
        return NULL;
    }
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 5 &&
            memcmp(kv->key.via.str.ptr, "batch", 5) == 0)
            items = &kv->val;
    }
    const char *why = NULL;
    int c = WT_PROTO_E_BAD_BODY;
    if (items == NULL)
        why = "required field 'batch' is missing", c = WT_PROTO_E_MISSING;
    else if (items->type != MSGPACK_OBJECT_ARRAY)
        why = "field 'batch': expected array";
    else if (items->via.array.size == 0)
        why = "field 'batch': no messages";
    else if (items->via.array.size > WT_PROTO_MAX_BATCH)
        why = "field 'batch': more than 4096 messages", c = WT_PROTO_E_TOO_BIG;
    for (uint32_t i = 0; why == NULL && i < items->via.array.size; i++)
        if (items->via.array.ptr[i].type != MSGPACK_OBJECT_BIN)
            why = "field 'batch': every message must be binary (its flat form)";
    if (why) {
        fail(code, c, err, "BATCH: %s%s", why, "");
        msgpack_zone_clear(zone);
        return NULL;
    }
    uint32_t n = items->via.array.size;

    struct span {
        const char *p;
        size_t n;
    } *spans = wt_xcalloc(n, sizeof *spans);

    for (uint32_t i = 0; i < n; i++)
        spans[i] = (struct span){items->via.array.ptr[i].via.bin.ptr,
                                 items->via.array.ptr[i].via.bin.size};
    msgpack_zone_clear(zone);
    wt_msg_t *head = NULL, **tail = &head;
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *ib = (const unsigned char *)spans[i].p;
        wt_err_t ie = {0};
        int icode = WT_PROTO_E_BAD_BODY;
        wt_msg_t *m = NULL;
        if (spans[i].n >= WT_PROTO_HEADER_LEN + 1 && ib[4] == WT_CMD_BATCH)
            wt_err_set(&ie, WT_EPROTO, "a BATCH inside a BATCH");
        else if (spans[i].n >= WT_PROTO_HEADER_LEN + 1 && ib[2] != (unsigned char)chan)
            wt_err_set(&ie, WT_EPROTO, "message for channel '%c' in a BATCH of channel '%c'", ib[2],
                       chan);
        else
            m = wt_proto_decode(spans[i].p, spans[i].n, &icode, &ie);
        if (m == NULL) {
            if (code)
                *code = icode;
            wt_err_set(err, icode == WT_PROTO_E_TOO_BIG ? WT_ELIMIT : WT_EPROTO,
                       "BATCH message %u of %u: %s", i, n, ie.msg);
            wt_msg_destroy(&head);
            break;
        }
        m->batched = 1;
        *tail = m;
        tail = &m->next;
    }
    free(spans);
    return head;
}

wt_msg_t *
wt_proto_decode(const void *p, size_t n, int *code, wt_err_t *err)
{
    const unsigned char *b = p;
    if (n < WT_PROTO_HEADER_LEN + 1 || b[0] != 'W' || b[1] != 'T' ||
        (b[2] != WT_CHAN_CLIENT && b[2] != WT_CHAN_WORKER)) {
        fail(code, WT_PROTO_E_BAD_FRAME, err, "bad header: expected WTC1 or WTW1%s%s", "", "");
        return NULL;
    }
    if (b[3] != '1') {
        char v[2] = {(char)b[3], 0};
        fail(code, WT_PROTO_E_VERSION, err, "unsupported protocol version '%s'%s",
             (b[3] >= 0x20 && b[3] < 0x7f) ? v : "?", "");
        return NULL;
    }
    wt_chan_t chan = (wt_chan_t)b[2];
    int cmd = b[4];
    if (!wt_cmd_valid(chan, cmd)) {
        char c[8];
        snprintf(c, sizeof c, "0x%02x", (unsigned)cmd);
        fail(code, WT_PROTO_E_UNKNOWN_CMD, err, "unknown command %s on this channel%s", c, "");
        return NULL;
    }
    size_t body_n = n - WT_PROTO_HEADER_LEN - 1;
    if (body_n > WT_PROTO_MAX_BODY) {
        fail(code, WT_PROTO_E_TOO_BIG, err, "body exceeds the %s limit%s", "1 MiB", "");
        return NULL;
    }
    if (!sizes_plausible(b + WT_PROTO_HEADER_LEN + 1, body_n)) {
        fail(code, WT_PROTO_E_BAD_BODY, err, "body: %s%s",
             "truncated msgpack or a container larger than the body", "");
        return NULL;
    }
    msgpack_zone *zone = thread_zone();
    msgpack_object root;
    size_t off = 0;
    msgpack_unpack_return ur =
        msgpack_unpack((const char *)b + WT_PROTO_HEADER_LEN + 1, body_n, &off, zone, &root);
    wt_msg_t *m = NULL;
    if (ur == MSGPACK_UNPACK_SUCCESS && off == body_n && cmd == WT_CMD_BATCH) {
        m = decode_batch(chan, &root, zone, code, err); /* clears the zone */
        return m;
    } else if (ur == MSGPACK_UNPACK_SUCCESS && off == body_n) {
        m = wt_msg_new(chan, (wt_cmd_t)cmd);
        if (decode_map(m, &root, code, err) != 0 || check_required(m, code, err) != 0)
            wt_msg_destroy(&m);
    } else if (ur == MSGPACK_UNPACK_SUCCESS || ur == MSGPACK_UNPACK_EXTRA_BYTES) {
        fail(code, WT_PROTO_E_BAD_BODY, err, "body: %s after the map%s", "trailing bytes", "");
    } else {
        fail(code, WT_PROTO_E_BAD_BODY, err, "body: %s%s",
             ur == MSGPACK_UNPACK_CONTINUE ? "truncated msgpack" : "malformed msgpack", "");
    }
    msgpack_zone_clear(zone);
    return m;
}
