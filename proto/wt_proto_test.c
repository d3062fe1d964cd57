/* Unit tests of the wire codec: every command round-trips field by field,
 * and every kind of bad input gets its defined error code. */
#include "wt_proto.h"

#include "wt_alloc.h"
#include "wt_test.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

static wt_msg_t *
full(wt_chan_t chan, wt_cmd_t cmd)
{
    wt_msg_t *m = wt_msg_new(chan, cmd);
    m->req = 42;
    wt_msg_set(&m->session, "01HZX0000000000000000000AA");
    wt_msg_set(&m->workflow, "coding-task");
    wt_msg_set(&m->goal, "fix the bug \xe2\x9c\x93");
    wt_msg_set(&m->context_json, "{\"a\":1}");
    wt_msg_set(&m->parent, "01HZX0000000000000000000AB");
    wt_msg_set(&m->run, "run-01HZX");
    wt_msg_set(&m->phase, "review");
    wt_msg_set(&m->key, "k-1");
    wt_msg_set(&m->workspace, "/srv/repo");
    m->priority = -7;
    m->timeout_ms = 3600000;
    m->max_turns = 200;
    m->depth = 2;
    m->epoch = 9;
    m->attempt = 3;
    m->created_ms = 1760000000000;
    m->existing = 1;
    m->code = WT_PROTO_E_REFUSED;
    wt_msg_set(&m->message, "no");
    wt_msg_set(&m->name, "w1");
    wt_msg_set(&m->version, "0.1.0");
    m->slots = 8;
    m->free = 5;
    m->prefetch = 2;
    wt_strlist_push(&m->caps, "demo");
    wt_strlist_push(&m->caps, "two-step");
    wt_strlist_push(&m->running, "01HZX0000000000000000000AC");
    wt_strlist_push(&m->labels, "gpu");
    wt_strlist_push(&m->require, "gpu");
    wt_strlist_push(&m->require, "repo-cache");
    m->allow_unknown = 1;
    m->batch = 64;
    wt_msg_set(&m->outcome, "success");
    m->llm_calls = 12;
    m->input_tokens = 50000000000ULL; /* past 32 bits */
    m->output_tokens = 777;
    m->tool_calls = 30;
    m->llm_retries = 2;
    m->queued = 100;
    m->active = 10;
    m->workers = 2;
    m->slots_total = 16;
    m->slots_free = 6;
    return m;
}

static int
str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int
list_eq(const wt_strlist_t *a, const wt_strlist_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return 0;
    return 1;
}

static int
msg_eq(const wt_msg_t *a, const wt_msg_t *b)
{
    return a->chan == b->chan && a->cmd == b->cmd && a->req == b->req &&
           str_eq(a->session, b->session) && str_eq(a->workflow, b->workflow) &&
           str_eq(a->goal, b->goal) && str_eq(a->context_json, b->context_json) &&
           str_eq(a->parent, b->parent) && str_eq(a->key, b->key) && str_eq(a->run, b->run) &&
           str_eq(a->phase, b->phase) && str_eq(a->workspace, b->workspace) &&
           a->priority == b->priority && a->timeout_ms == b->timeout_ms &&
           a->max_turns == b->max_turns && a->depth == b->depth && a->epoch == b->epoch &&
           a->attempt == b->attempt && a->created_ms == b->created_ms &&
           a->existing == b->existing && a->code == b->code && str_eq(a->message, b->message) &&
           str_eq(a->name, b->name) && str_eq(a->version, b->version) && a->slots == b->slots &&
           a->free == b->free && a->prefetch == b->prefetch && list_eq(&a->caps, &b->caps) &&
           list_eq(&a->running, &b->running) && list_eq(&a->labels, &b->labels) &&
           list_eq(&a->require, &b->require) && a->allow_unknown == b->allow_unknown &&
           a->batch == b->batch && str_eq(a->outcome, b->outcome) && a->queued == b->queued &&
           a->active == b->active && a->workers == b->workers && a->slots_total == b->slots_total &&
           a->slots_free == b->slots_free && a->llm_calls == b->llm_calls &&
           a->input_tokens == b->input_tokens && a->output_tokens == b->output_tokens &&
           a->tool_calls == b->tool_calls && a->llm_retries == b->llm_retries;
}

static const struct {
    wt_chan_t chan;
    wt_cmd_t cmd;
} all_cmds[] = {
    {WT_CHAN_CLIENT, WT_CMD_SPAWN},      {WT_CHAN_CLIENT, WT_CMD_SPAWNED},
    {WT_CHAN_CLIENT, WT_CMD_CANCEL},     {WT_CHAN_CLIENT, WT_CMD_CANCELLED},
    {WT_CHAN_CLIENT, WT_CMD_STATS},      {WT_CHAN_CLIENT, WT_CMD_STATS_REPLY},
    {WT_CHAN_CLIENT, WT_CMD_ERROR},      {WT_CHAN_WORKER, WT_CMD_ERROR},
    {WT_CHAN_WORKER, WT_CMD_READY},      {WT_CHAN_WORKER, WT_CMD_HEARTBEAT},
    {WT_CHAN_WORKER, WT_CMD_ASSIGN},     {WT_CHAN_WORKER, WT_CMD_FINISHED},
    {WT_CHAN_WORKER, WT_CMD_DISCONNECT}, {WT_CHAN_WORKER, WT_CMD_STOP},
};

static void
test_round_trip_every_command(void)
{
    for (size_t i = 0; i < sizeof all_cmds / sizeof all_cmds[0]; i++) {
        wt_msg_t *m = full(all_cmds[i].chan, all_cmds[i].cmd);
        wt_buf_t b;
        wt_buf_init(&b, WT_PROTO_MAX_BODY + 16);
        wt_err_t err = {0};
        WT_CHECK(wt_proto_encode(m, &b, &err) == 0);
        int code = -1;
        wt_msg_t *d = wt_proto_decode(b.data, b.len, &code, &err);
        WT_CHECK(d != NULL);
        if (d)
            WT_CHECK(msg_eq(m, d));
        if (d == NULL || !msg_eq(m, d))
            fprintf(stderr, "  command %s: %s\n", wt_cmd_name((int)m->cmd), err.msg);
        wt_msg_destroy(&d);
        wt_msg_destroy(&m);
        wt_buf_release(&b);
    }
}

static void
test_minimal_message_round_trips(void)
{
    wt_msg_t *m = wt_msg_new(WT_CHAN_WORKER, WT_CMD_HEARTBEAT);
    wt_buf_t b;
    wt_buf_init(&b, 1024);
    WT_CHECK(wt_proto_encode(m, &b, NULL) == 0);
    WT_CHECK(b.len == 6); /* header, command, empty map */
    wt_msg_t *d = wt_proto_decode(b.data, b.len, NULL, NULL);
    WT_CHECK(d != NULL && msg_eq(m, d));
    wt_msg_destroy(&d);
    wt_msg_destroy(&m);
    wt_buf_release(&b);
}

/* A worker's counters ride on HEARTBEAT; an older worker sends none and
 * the broker reads zeros. */
static void
test_heartbeat_counters(void)
{
    wt_msg_t *m = wt_msg_new(WT_CHAN_WORKER, WT_CMD_HEARTBEAT);
    m->free = 1;
    m->llm_calls = 4;
    m->input_tokens = 1000;
    m->output_tokens = 200;
    m->tool_calls = 9;
    m->llm_retries = 1;
    wt_buf_t b;
    wt_buf_init(&b, 1024);
    WT_CHECK(wt_proto_encode(m, &b, NULL) == 0);
    wt_msg_t *d = wt_proto_decode(b.data, b.len, NULL, NULL);
    WT_CHECK(d != NULL && d->llm_calls == 4 && d->input_tokens == 1000 && d->output_tokens == 200 &&
             d->tool_calls == 9 && d->llm_retries == 1);
    wt_msg_destroy(&d);
    wt_msg_destroy(&m);
    wt_buf_release(&b);
}

static void
test_every_truncation_fails_cleanly(void)
{
    wt_msg_t *m = full(WT_CHAN_WORKER, WT_CMD_ASSIGN);
    wt_buf_t b;
    wt_buf_init(&b, WT_PROTO_MAX_BODY + 16);
    wt_proto_encode(m, &b, NULL);
    int all_failed = 1, codes_ok = 1;
    for (size_t n = 0; n < b.len; n++) {
        int code = 0;
        wt_err_t err = {0};
        wt_msg_t *d = wt_proto_decode(b.data, n, &code, &err);
        if (d != NULL)
            all_failed = 0;
        if (code != WT_PROTO_E_BAD_FRAME && code != WT_PROTO_E_BAD_BODY)
            codes_ok = 0;
        wt_msg_destroy(&d);
    }
    WT_CHECK(all_failed);
    WT_CHECK(codes_ok);
    wt_msg_destroy(&m);
    wt_buf_release(&b);
}

/* Builds header|cmd|body from a msgpack map written by fn. */
static size_t
raw(char *out, size_t cap, const char *hdr, int cmd, void (*fn)(msgpack_packer *))
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    fn(&pk);
    size_t n = 5 + sb.size;
    wt_assert(n <= cap);
    memcpy(out, hdr, 4);
    out[4] = (char)cmd;
    memcpy(out + 5, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void
spawn_ok(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    pk_str(pk, "workflow");
    pk_str(pk, "demo");
    pk_str(pk, "goal");
    pk_str(pk, "g");
    pk_str(pk, "unknown_future_field");
    msgpack_pack_array(pk, 0);
}

static void
spawn_wrong_type(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    pk_str(pk, "workflow");
    msgpack_pack_int(pk, 7);
    pk_str(pk, "goal");
    pk_str(pk, "g");
}

static void
spawn_missing_goal(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    pk_str(pk, "workflow");
    pk_str(pk, "demo");
}

static void
not_a_map(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 1);
}

static void
ready_bad_list(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    pk_str(pk, "name");
    pk_str(pk, "w");
    pk_str(pk, "slots");
    msgpack_pack_int(pk, 2);
    pk_str(pk, "running");
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 5);
}

static void
ready_slots_overflow(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    pk_str(pk, "name");
    pk_str(pk, "w");
    pk_str(pk, "slots");
    msgpack_pack_uint64(pk, 1ULL << 40);
}

static void
heartbeat_negative_tokens(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    pk_str(pk, "llm_calls");
    msgpack_pack_uint64(pk, 3);
    pk_str(pk, "input_tokens");
    msgpack_pack_int64(pk, -5);
}

static int
decode_code(const char *p, size_t n, char *msg, size_t cap)
{
    int code = 0;
    wt_err_t err = {0};
    wt_msg_t *m = wt_proto_decode(p, n, &code, &err);
    if (msg)
        snprintf(msg, cap, "%s", err.msg);
    if (m) {
        wt_msg_destroy(&m);
        return 0;
    }
    return code;
}

static void
test_bad_inputs_get_defined_codes(void)
{
    char buf[4096], msg[256];
    size_t n = raw(buf, sizeof buf, "WTC1", WT_CMD_SPAWN, spawn_ok);
    WT_CHECK(decode_code(buf, n, NULL, 0) == 0); /* unknown keys are ignored */
    memcpy(buf, "WTC2", 4);
    WT_CHECK(decode_code(buf, n, NULL, 0) == WT_PROTO_E_VERSION);
    memcpy(buf, "XYZ1", 4);
    WT_CHECK(decode_code(buf, n, NULL, 0) == WT_PROTO_E_BAD_FRAME);
    memcpy(buf, "WTW1", 4); /* SPAWN on the worker channel */
    WT_CHECK(decode_code(buf, n, NULL, 0) == WT_PROTO_E_UNKNOWN_CMD);
    n = raw(buf, sizeof buf, "WTC1", 0x7e, spawn_ok);
    WT_CHECK(decode_code(buf, n, NULL, 0) == WT_PROTO_E_UNKNOWN_CMD);
    n = raw(buf, sizeof buf, "WTC1", WT_CMD_SPAWN, spawn_wrong_type);
    WT_CHECK(decode_code(buf, n, msg, sizeof msg) == WT_PROTO_E_BAD_BODY);
    WT_CHECK(strstr(msg, "workflow") != NULL && strstr(msg, "expected string") != NULL);
    n = raw(buf, sizeof buf, "WTC1", WT_CMD_SPAWN, spawn_missing_goal);
    WT_CHECK(decode_code(buf, n, msg, sizeof msg) == WT_PROTO_E_MISSING);
    WT_CHECK(strstr(msg, "goal") != NULL);
    n = raw(buf, sizeof buf, "WTC1", WT_CMD_SPAWN, not_a_map);
    WT_CHECK(decode_code(buf, n, NULL, 0) == WT_PROTO_E_BAD_BODY);
    n = raw(buf, sizeof buf, "WTW1", WT_CMD_READY, ready_bad_list);
    WT_CHECK(decode_code(buf, n, msg, sizeof msg) == WT_PROTO_E_BAD_BODY);
    WT_CHECK(strstr(msg, "running") != NULL);
    n = raw(buf, sizeof buf, "WTW1", WT_CMD_READY, ready_slots_overflow);
    WT_CHECK(decode_code(buf, n, NULL, 0) == WT_PROTO_E_BAD_BODY);
    n = raw(buf, sizeof buf, "WTW1", WT_CMD_HEARTBEAT, heartbeat_negative_tokens);
    WT_CHECK(decode_code(buf, n, msg, sizeof msg) == WT_PROTO_E_BAD_BODY);
    WT_CHECK(strstr(msg, "input_tokens") != NULL);
    n = raw(buf, sizeof buf, "WTC1", WT_CMD_SPAWN, spawn_ok);
    buf[n++] = '\x01'; /* trailing garbage */
    WT_CHECK(decode_code(buf, n, NULL, 0) == WT_PROTO_E_BAD_BODY);
    /* found by fuzzing: a tiny body claiming a 4-billion-entry map must be
     * refused before msgpack-c sizes an allocation from the claim */
    const char claim[] = "WTC1\x05\xdd\xdd\xdd\xdd\xdd\x80";
    WT_CHECK(decode_code(claim, sizeof claim - 1, NULL, 0) == WT_PROTO_E_BAD_BODY);
    const char nul_str[] = "WTC1\x01\x82\xa8workflow\xa3\x64\x00m\xa4goal\xa1g";
    WT_CHECK(decode_code(nul_str, sizeof nul_str - 1, NULL, 0) == WT_PROTO_E_BAD_BODY);
}

static void
test_oversized_inputs(void)
{
    size_t n = WT_PROTO_MAX_BODY + 100;
    char *big = wt_xcalloc(1, n);
    memcpy(big, "WTC1\x01", 5);
    big[5] = (char)0x80;
    WT_CHECK(decode_code(big, n, NULL, 0) == WT_PROTO_E_TOO_BIG);
    free(big);
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    char *huge = wt_xcalloc(1, WT_PROTO_MAX_BODY + 10);
    memset(huge, 'a', WT_PROTO_MAX_BODY + 9);
    wt_msg_set(&m->workflow, "w");
    wt_msg_set(&m->goal, huge);
    wt_buf_t b;
    wt_buf_init(&b, 4 * WT_PROTO_MAX_BODY);
    wt_err_t err = {0};
    WT_CHECK(wt_proto_encode(m, &b, &err) == -1 && err.code == WT_ELIMIT);
    WT_CHECK(b.len == 0);
    free(huge);
    wt_msg_destroy(&m);
    wt_buf_release(&b);
    /* a string over WT_PROTO_MAX_STR inside a body under the body limit */
    m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    huge = wt_xcalloc(1, WT_PROTO_MAX_STR + 2);
    memset(huge, 'b', WT_PROTO_MAX_STR + 1);
    wt_msg_set(&m->workflow, "w");
    wt_msg_set(&m->goal, huge);
    wt_buf_init(&b, 4 * WT_PROTO_MAX_BODY);
    WT_CHECK(wt_proto_encode(m, &b, NULL) == 0);
    WT_CHECK(decode_code(b.data, b.len, NULL, 0) == WT_PROTO_E_TOO_BIG);
    free(huge);
    wt_msg_destroy(&m);
    wt_buf_release(&b);
}

static void
test_names_and_channels(void)
{
    WT_CHECK(strcmp(wt_cmd_name(WT_CMD_ASSIGN), "ASSIGN") == 0);
    WT_CHECK(strcmp(wt_cmd_name(0x77), "UNKNOWN") == 0);
    WT_CHECK(wt_cmd_valid(WT_CHAN_CLIENT, WT_CMD_ERROR) &&
             wt_cmd_valid(WT_CHAN_WORKER, WT_CMD_ERROR));
    WT_CHECK(!wt_cmd_valid(WT_CHAN_CLIENT, WT_CMD_READY));
    WT_CHECK(!wt_cmd_valid(WT_CHAN_WORKER, WT_CMD_SPAWN));
    wt_msg_t *m = NULL;
    wt_msg_destroy(&m); /* NULL-safe */
    WT_CHECK(m == NULL);
}

/* Labels go into the session hash joined by ',': the alphabet excludes it. */
static void
test_label_alphabet(void)
{
    WT_CHECK(wt_proto_label_ok("gpu"));
    WT_CHECK(wt_proto_label_ok("zone:eu-1.a_b"));
    WT_CHECK(!wt_proto_label_ok(""));
    WT_CHECK(!wt_proto_label_ok("a,b"));
    WT_CHECK(!wt_proto_label_ok("a b"));
    char long_label[WT_PROTO_MAX_LABEL + 2];
    memset(long_label, 'x', sizeof long_label - 1);
    long_label[sizeof long_label - 1] = '\0';
    WT_CHECK(!wt_proto_label_ok(long_label));
    long_label[WT_PROTO_MAX_LABEL] = '\0';
    WT_CHECK(wt_proto_label_ok(long_label));
}

/* The flat form of a BATCH whose "batch" array holds the given items;
 * kinds[i]: 'b' = items[i] as bin, 's' = as str, 'i' = the integer 7. */
static size_t
raw_batch(wt_buf_t *out, const char *hdr, const char *kinds, const wt_buf_t *items)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str(&pk, 5);
    msgpack_pack_str_body(&pk, "batch", 5);
    size_t n = strlen(kinds);
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++) {
        if (kinds[i] == 'b') {
            msgpack_pack_bin(&pk, items[i].len);
            msgpack_pack_bin_body(&pk, items[i].data, items[i].len);
        } else if (kinds[i] == 's') {
            msgpack_pack_str(&pk, items[i].len);
            msgpack_pack_str_body(&pk, items[i].data, items[i].len);
        } else
            msgpack_pack_int(&pk, 7);
    }
    wt_buf_reset(out);
    wt_buf_append(out, hdr, 4, NULL);
    char cmd = (char)WT_CMD_BATCH;
    wt_buf_append(out, &cmd, 1, NULL);
    wt_buf_append(out, sb.data, sb.size, NULL);
    msgpack_sbuffer_destroy(&sb);
    return out->len;
}

static void
test_batch_round_trip(void)
{
    wt_msg_t *ms[3];
    for (int i = 0; i < 3; i++) {
        ms[i] = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWNED);
        ms[i]->req = (uint64_t)(10 + i);
        char sid[32];
        snprintf(sid, sizeof sid, "01HZX00000000000000000000%d", i);
        wt_msg_set(&ms[i]->session, sid);
    }
    ms[2]->existing = 1;
    wt_buf_t b;
    wt_buf_init(&b, 4 << 20);
    wt_err_t err = {0};
    WT_CHECK(wt_proto_encode_batch(WT_CHAN_CLIENT, (const wt_msg_t *const *)ms, 3, &b, &err) == 0);
    WT_CHECK(b.len > 5 && b.data[4] == (char)WT_CMD_BATCH);
    int code = 0;
    wt_msg_t *got = wt_proto_decode(b.data, b.len, &code, &err);
    WT_CHECK(got != NULL);
    int i = 0;
    for (wt_msg_t *m = got; m; m = m->next, i++) {
        WT_CHECK(i < 3 && m->batched == 1 && m->cmd == WT_CMD_SPAWNED);
        if (i < 3) {
            WT_CHECK(m->req == ms[i]->req);
            WT_CHECK_STR(m->session, ms[i]->session);
            WT_CHECK(m->existing == ms[i]->existing);
        }
    }
    WT_CHECK(i == 3);     /* in order, none lost */
    wt_msg_destroy(&got); /* the whole chain */
    /* a BATCH is never encoded as a plain message, nor of the other channel */
    wt_msg_t *bm = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_BATCH);
    wt_buf_reset(&b);
    WT_CHECK(wt_proto_encode(bm, &b, &err) != 0);
    wt_msg_destroy(&bm);
    WT_CHECK(wt_proto_encode_batch(WT_CHAN_WORKER, (const wt_msg_t *const *)ms, 3, &b, &err) != 0);
    WT_CHECK(strstr(err.msg, "message 0") != NULL);
    WT_CHECK(b.len == 0); /* nothing left behind */
    for (i = 0; i < 3; i++)
        wt_msg_destroy(&ms[i]);
    wt_buf_release(&b);
}

static void
test_bad_batches_refused_whole(void)
{
    wt_buf_t items[3], out;
    for (int i = 0; i < 3; i++)
        wt_buf_init(&items[i], 4 << 20);
    wt_buf_init(&out, 4 << 20);
    wt_err_t err = {0};
    wt_msg_t *f = wt_msg_new(WT_CHAN_WORKER, WT_CMD_FINISHED);
    wt_msg_set(&f->session, "01HZX0000000000000000000AA");
    wt_msg_set(&f->outcome, "success");
    WT_CHECK(wt_proto_encode(f, &items[0], &err) == 0);
    WT_CHECK(wt_proto_encode(f, &items[1], &err) == 0);
    wt_msg_destroy(&f);
    char msg[256];
    /* good: two FINISHED */
    size_t n = raw_batch(&out, "WTW1", "bb", items);
    wt_msg_t *m = wt_proto_decode(out.data, n, NULL, &err);
    WT_CHECK(m && m->next && !m->next->next && m->next->cmd == WT_CMD_FINISHED);
    wt_msg_destroy(&m);
    /* the second message lacks its required outcome: the whole BATCH goes */
    f = wt_msg_new(WT_CHAN_WORKER, WT_CMD_FINISHED);
    wt_msg_set(&f->session, "01HZX0000000000000000000AB");
    wt_buf_reset(&items[1]);
    WT_CHECK(wt_proto_encode(f, &items[1], &err) == 0);
    wt_msg_destroy(&f);
    n = raw_batch(&out, "WTW1", "bb", items);
    WT_CHECK(decode_code(out.data, n, msg, sizeof msg) == WT_PROTO_E_MISSING);
    WT_CHECK(strstr(msg, "BATCH message 1 of 2") != NULL && strstr(msg, "outcome") != NULL);
    /* a message of the other channel inside */
    n = raw_batch(&out, "WTC1", "b", items);
    WT_CHECK(decode_code(out.data, n, msg, sizeof msg) == WT_PROTO_E_BAD_BODY);
    WT_CHECK(strstr(msg, "channel") != NULL);
    /* a BATCH inside a BATCH */
    raw_batch(&items[2], "WTW1", "b", items);
    wt_buf_t nested[1] = {items[2]};
    n = raw_batch(&out, "WTW1", "b", nested);
    WT_CHECK(decode_code(out.data, n, msg, sizeof msg) == WT_PROTO_E_BAD_BODY);
    WT_CHECK(strstr(msg, "BATCH inside a BATCH") != NULL);
    /* items that are not bin, an empty batch, a missing batch key, garbage */
    n = raw_batch(&out, "WTW1", "s", items);
    WT_CHECK(decode_code(out.data, n, msg, sizeof msg) == WT_PROTO_E_BAD_BODY);
    WT_CHECK(strstr(msg, "binary") != NULL);
    n = raw_batch(&out, "WTW1", "bi", items);
    WT_CHECK(decode_code(out.data, n, NULL, 0) == WT_PROTO_E_BAD_BODY);
    n = raw_batch(&out, "WTW1", "", items);
    WT_CHECK(decode_code(out.data, n, msg, sizeof msg) == WT_PROTO_E_BAD_BODY);
    WT_CHECK(strstr(msg, "no messages") != NULL);
    const char nokey[] = "WTW1\x1e\x81\xa3"
                         "abc\x90";
    WT_CHECK(decode_code(nokey, sizeof nokey - 1, msg, sizeof msg) == WT_PROTO_E_MISSING);
    const char notmap[] = "WTW1\x1e\x93\x01\x02\x03";
    WT_CHECK(decode_code(notmap, sizeof notmap - 1, NULL, 0) == WT_PROTO_E_BAD_BODY);
    /* a truncated inner message */
    wt_buf_t cut[1] = {items[0]};
    cut[0].len -= 3;
    n = raw_batch(&out, "WTW1", "b", cut);
    WT_CHECK(decode_code(out.data, n, msg, sizeof msg) == WT_PROTO_E_BAD_BODY);
    WT_CHECK(strstr(msg, "BATCH message 0") != NULL);
    /* every truncation of a good BATCH fails cleanly */
    n = raw_batch(&out, "WTW1", "b", items);
    for (size_t k = 0; k < n; k++)
        WT_CHECK(decode_code(out.data, k, NULL, 0) != 0);
    for (int i = 0; i < 3; i++)
        wt_buf_release(&items[i]);
    wt_buf_release(&out);
}

WT_TEST_MAIN(WT_TEST(test_round_trip_every_command), WT_TEST(test_minimal_message_round_trips),
             WT_TEST(test_heartbeat_counters), WT_TEST(test_every_truncation_fails_cleanly),
             WT_TEST(test_bad_inputs_get_defined_codes), WT_TEST(test_oversized_inputs),
             WT_TEST(test_names_and_channels), WT_TEST(test_label_alphabet),
             WT_TEST(test_batch_round_trip), WT_TEST(test_bad_batches_refused_whole))
