/* wt_proto - WorkTrain wire messages and their msgpack codec.
 *
 * A message on the wire is three ZeroMQ frames (after any ROUTER identity):
 *   1. header: 4 bytes, "WTC1" (client channel) or "WTW1" (worker channel)
 *   2. command: 1 byte (wt_cmd_t)
 *   3. body: one msgpack map with string keys (fields below)
 * The codec works on the flat concatenation header|command|body, so it is
 * I/O-free and fuzzable; wt_wire splits and joins frames. Unknown map keys
 * are ignored (forward compatibility); a known key with the wrong type is an
 * error. See proto/PROTOCOL.md for the normative spec. */
#ifndef WT_PROTO_H
#define WT_PROTO_H

#include "wt_buf.h"
#include "wt_err.h"

#include <stddef.h>
#include <stdint.h>

#define WT_PROTO_HEADER_CLIENT "WTC1"
#define WT_PROTO_HEADER_WORKER "WTW1"
#define WT_PROTO_HEADER_LEN    4
#define WT_PROTO_MAX_BODY      (1024 * 1024) /* larger bodies: WT_PROTO_E_TOO_BIG */
#define WT_PROTO_MAX_LIST      4096          /* max elements in a string list */
#define WT_PROTO_MAX_STR       (256 * 1024)  /* max bytes of one string field */
#define WT_PROTO_MAX_LABEL     64            /* max bytes of one worker/require label */
#define WT_PROTO_MAX_LABELS    16            /* max labels a SPAWN may require */
#define WT_PROTO_MAX_PREFETCH  64            /* READY prefetch the broker honours at most */
#define WT_PROTO_MAX_BATCH     4096          /* messages in one BATCH at most */

typedef enum {
    WT_CHAN_CLIENT = 'C', /* coordinator/CLI <-> broker */
    WT_CHAN_WORKER = 'W', /* worker <-> broker */
} wt_chan_t;

/* Command numbers are wire values: never renumber; retire as unused. */
typedef enum {
    /* client channel, 0x01..0x1f */
    WT_CMD_SPAWN = 0x01,       /* C->B create a session */
    WT_CMD_SPAWNED = 0x02,     /* B->C it is durable: session id */
    WT_CMD_CANCEL = 0x03,      /* C->B end a session as cancelled */
    WT_CMD_CANCELLED = 0x04,   /* B->C cancel accepted */
    WT_CMD_STATS = 0x05,       /* C->B fleet figures please */
    WT_CMD_STATS_REPLY = 0x06, /* B->C fleet figures */
    /* both channels */
    WT_CMD_BATCH = 0x1e, /* several messages of the channel in one (PROTOCOL.md 3.1) */
    WT_CMD_ERROR = 0x1f, /* either way: code + message */
    /* worker channel, 0x20..0x3f */
    WT_CMD_READY = 0x20,      /* W->B hello: name, slots, capabilities, version */
    WT_CMD_HEARTBEAT = 0x21,  /* both ways: liveness; W->B carries free + running */
    WT_CMD_ASSIGN = 0x22,     /* B->W run this session (the session record) */
    WT_CMD_FINISHED = 0x23,   /* W->B a session ended (or was handed back) */
    WT_CMD_DISCONNECT = 0x24, /* both ways: going away */
    WT_CMD_STOP = 0x25,       /* B->W cancel a running session */
} wt_cmd_t;

/* ERROR codes (wire values). */
typedef enum {
    WT_PROTO_E_BAD_FRAME = 1,         /* wrong frame count or sizes */
    WT_PROTO_E_VERSION = 2,           /* unknown header/protocol version */
    WT_PROTO_E_UNKNOWN_CMD = 3,       /* command byte not known on this channel */
    WT_PROTO_E_TOO_BIG = 4,           /* body, string or list over its limit */
    WT_PROTO_E_BAD_BODY = 5,          /* body not a msgpack map, or a field of the wrong type */
    WT_PROTO_E_MISSING = 6,           /* a required field is absent */
    WT_PROTO_E_UNAVAILABLE = 7,       /* broker cannot store right now (Redis down): retry */
    WT_PROTO_E_NOT_FOUND = 8,         /* no such session */
    WT_PROTO_E_REFUSED = 9,           /* not accepted (draining, limits) */
    WT_PROTO_E_INTERNAL = 10,         /* a bug on the sender's side */
    WT_PROTO_E_UNKNOWN_WORKFLOW = 11, /* SPAWN of a workflow no worker ever advertised */
    WT_PROTO_E_NOT_ACTIVE = 12,       /* a standby broker: try the next endpoint (retryable) */
} wt_proto_code_t;

typedef struct wt_strlist {
    char **items; /* owned strings */
    size_t n;     /* number of items */
} wt_strlist_t;

/* One message. Plain data: which fields are meaningful depends on cmd (see
 * PROTOCOL.md); unused strings stay NULL, unused numbers 0. All strings are
 * owned by the message. */
typedef struct wt_msg {
    wt_chan_t chan; /* channel the message belongs to */
    wt_cmd_t cmd;   /* command */
    uint64_t req;   /* client request id, echoed in the reply */
    /* session record: SPAWN, ASSIGN */
    char *session;        /* session id: SPAWNED CANCEL CANCELLED ASSIGN FINISHED STOP */
    char *workflow;       /* workflow id */
    char *goal;           /* the task */
    char *context_json;   /* JSON object of initial context vars */
    char *parent;         /* parent session id */
    char *key;            /* idempotency key (SPAWN) */
    char *workspace;      /* repo path for a worktree */
    char *run;            /* coordinator run id (SPAWN from `worktrain run`) */
    char *phase;          /* pipeline phase id within that run (SPAWN) */
    int32_t priority;     /* -100..100, higher first */
    int64_t timeout_ms;   /* wall-clock limit, 0 = worker default */
    int32_t max_turns;    /* 0 = worker default */
    int64_t retain_ms;    /* SPAWN: keep the ended session this long, 0 = broker default */
    int32_t depth;        /* spawn depth, 0 for roots (ASSIGN) */
    int64_t epoch;        /* lease epoch for fencing (ASSIGN) */
    int32_t attempt;      /* 1 for the first run (ASSIGN) */
    int64_t created_ms;   /* when intake accepted it (ASSIGN) */
    int existing;         /* SPAWNED: 1 when the key was seen before */
    wt_strlist_t require; /* SPAWN: labels a worker must have to run the session */
    int allow_unknown;    /* SPAWN: queue even if no worker ever advertised the workflow */
    int32_t batch;        /* SPAWN (its replies), READY (ASSIGNs): the sender accepts a
                             BATCH of up to this many messages; 0 = none */
    /* ERROR */
    int32_t code;  /* wt_proto_code_t */
    char *message; /* human-readable reason */
    /* READY, HEARTBEAT */
    char *name;           /* worker name (READY) */
    char *version;        /* software version (READY) */
    int32_t slots;        /* total session slots (READY) */
    int32_t free;         /* free slots (READY, HEARTBEAT) */
    int32_t prefetch;     /* READY: sessions it holds, unstarted, beyond its slots */
    wt_strlist_t caps;    /* capabilities, e.g. workflow ids (READY) */
    wt_strlist_t running; /* session ids being run (READY, HEARTBEAT) */
    wt_strlist_t labels;  /* worker labels, e.g. "gpu" (READY) */
    /* READY, HEARTBEAT: the worker's cumulative counters since it started */
    uint64_t llm_calls;     /* LLM calls made (after their retries) */
    uint64_t input_tokens;  /* input tokens the provider reported */
    uint64_t output_tokens; /* output tokens the provider reported */
    uint64_t tool_calls;    /* tool calls run */
    uint64_t llm_retries;   /* LLM call retries (429, 5xx, timeouts) */
    /* FINISHED */
    char *outcome; /* success error timeout stuck cancelled, or "handback" */
    /* STATS_REPLY */
    int64_t queued;      /* sessions waiting */
    int64_t active;      /* sessions assigned */
    int64_t workers;     /* workers alive */
    int64_t slots_total; /* sum of worker slots */
    int64_t slots_free;  /* sum of free slots */
    /* not on the wire */
    int batched;         /* decoded from a BATCH (so its sender understands BATCH) */
    struct wt_msg *next; /* wt_proto_decode of a BATCH: the messages after this one */
} wt_msg_t;

wt_msg_t *wt_msg_new(wt_chan_t chan, wt_cmd_t cmd);
/* Frees the message and every message chained after it (next). */
void wt_msg_destroy(wt_msg_t **self_p);
/* Replaces *field with a copy of value (NULL clears). */
void wt_msg_set(char **field, const char *value);
void wt_strlist_push(wt_strlist_t *list, const char *s);
void wt_strlist_clear(wt_strlist_t *list);
/* Name of a command, "UNKNOWN" if not known. */
const char *wt_cmd_name(int cmd);
/* 1 when cmd belongs to chan. */
int wt_cmd_valid(wt_chan_t chan, int cmd);

/* 1 when s is a valid label: 1-WT_PROTO_MAX_LABEL characters of
 * A-Z a-z 0-9 . _ : - (labels are joined with ',' in the session record). */
int wt_proto_label_ok(const char *s);

/* Appends the flat form (header|cmd|body) of msg to out. Fails with
 * WT_ELIMIT when the body would exceed WT_PROTO_MAX_BODY. */
int wt_proto_encode(const wt_msg_t *msg, wt_buf_t *out, wt_err_t *err);
/* Appends the flat form of one BATCH (chan) carrying msgs[0..n) (each of
 * chan, none a BATCH), in order. Fails with WT_ELIMIT when the body would
 * exceed WT_PROTO_MAX_BODY or n exceeds WT_PROTO_MAX_BATCH; out is then as
 * it was. */
int wt_proto_encode_batch(wt_chan_t chan, const wt_msg_t *const *msgs, size_t n, wt_buf_t *out,
                          wt_err_t *err);
/* Decodes the flat form. On failure returns NULL, fills err, and sets *code
 * (may be NULL) to the wt_proto_code_t to send back. Never reads past n.
 * A BATCH decodes to its messages chained by next (each with batched = 1),
 * all or nothing: one bad message in it refuses the whole BATCH, naming
 * the message's index. */
wt_msg_t *wt_proto_decode(const void *p, size_t n, int *code, wt_err_t *err);

#endif
