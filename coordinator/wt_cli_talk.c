/* wt_cli_talk - `worktrain talk` (DESIGN.md 17): a conversation with an
 * agent of the bundled `talk` workflow that starts with the fleet's context.
 *
 * The session is an ordinary fleet session, so it is durable, resumable
 * (--resume SID) and visible in the console. The first message is its goal:
 * the context bundle built from Redis (wt_fleetq_bundle). Each typed line
 * goes to the session as `worktrain tell` does (wt_store_tell); the agent's
 * reply texts are read from the session's event stream (llm_turn_completed
 * carries the text for conversation workflows) and printed as each turn is
 * stored. A turn without tool calls means the agent waits for the next
 * line, so the prompt comes back then. /quit (or end of input, or Ctrl-C)
 * sends the quit message; the worker ends the session with outcome success.
 *
 * On a terminal, lines are edited with libedit (its readline interface,
 * callback mode so Ctrl-C interrupts our poll) with history in
 * ~/.worktrain_history; from a pipe, plain lines are read. */
#include "wt_alloc.h"
#include "wt_cli.h"
#include "wt_cli_common.h"
#include "wt_client.h"
#include "wt_clock.h"
#include "wt_fleetq.h"
#include "wt_ulid.h"

#include <editline/readline.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES  WT_STORE_TELL_MAX_BYTES
#define QUIT_WAIT_MS    60000
#define QUEUED_HINT_MS  10000 /* silence after which talk says the session is still queued */
#define HISTORY_ENTRIES 1000
#define TALK_TIMEOUT_MS (8LL * 3600 * 1000) /* a talk lives at most a working day */
#define TALK_MAX_TURNS  2000

static const char talk_usage[] =
    "usage: worktrain talk [--resume SID] [--workflow ID] [--context N] [--timeout DUR]\n"
    "                      [--reply-timeout DUR] [--redis URL] [--broker EP]\n"
    "                      [--curve-key FILE --broker-pub FILE]\n"
    "\n"
    "Talks with an agent of the `talk` workflow that starts with the fleet's context:\n"
    "the project memory, the last N completions (--context, default 10), escalations\n"
    "and reported issues, in-flight sessions with their latest notes, recent ideas.\n"
    "Each line you type goes to the agent (as `worktrain tell` does); its replies are\n"
    "printed as they arrive. The agent can search the fleet's sessions and record\n"
    "ideas (inbox kind idea, wt:ideas). The conversation is an ordinary session:\n"
    "--resume SID continues one that is still running.\n"
    "\n"
    "Local commands: /ideas (recent ideas), /status (queue, in flight, workers),\n"
    "/quit (end the session with outcome success; so do end of input and Ctrl-C).\n"
    "On a terminal lines can be edited and history is kept in ~/.worktrain_history;\n"
    "from a pipe, one message per line. Empty lines and lines over 16 KiB are refused.\n"
    "--reply-timeout (default 10m) bounds the wait for one reply.\n"
    "Exit 0 ended with success, 1 the session failed or could not be resumed,\n"
    "2 bad usage or no broker / Redis.\n"
    "\n" WT_CLI_CURVE_HELP;

typedef struct talk {
    wt_cli_conn_t conn;
    const char *resume;   /* --resume SID or NULL */
    const char *workflow; /* --workflow (talk) */
    int context_n;        /* completions in the bundle */
    int64_t timeout_ms;   /* session wall-clock limit */
    int64_t reply_ms;     /* wait for one reply */
    wt_redis_t *redis;    /* owned */
    wt_store_t store;     /* over redis */
    char sid[WT_ULID_LEN + 1];
    char last_id[64]; /* last event id read from the session's stream */
    int tty;          /* stdin is a terminal: libedit */
    int ended;        /* session_completed seen */
    char outcome[32]; /* its outcome */
    char *pending;    /* a line libedit handed over (owned) */
    int eof;          /* end of input */
} talk_t;

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int
talk_parse(int argc, char **argv, talk_t *t)
{
    static const struct option opts[] = {{"resume", 1, 0, 'R'},
                                         {"workflow", 1, 0, 'w'},
                                         {"context", 1, 0, 'n'},
                                         {"timeout", 1, 0, 't'},
                                         {"reply-timeout", 1, 0, 'T'},
                                         {"redis", 1, 0, 'r'},
                                         {"broker", 1, 0, 'b'},
                                         {"help", 0, 0, 'h'},
                                         WT_CLI_CURVE_KEY_OPT,
                                         WT_CLI_BROKER_PUB_OPT,
                                         {0, 0, 0, 0}};
    int c;
    wt_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'R':
            if (!wt_fleetq_sid_ok(optarg))
                return wt_cli_usage_error("talk",
                                          "--resume wants a session id (26-char ULID), "
                                          "got '%s'",
                                          optarg);
            t->resume = optarg;
            break;
        case 'w':
            t->workflow = optarg;
            break;
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > WT_FLEETQ_LIMIT_MAX)
                return wt_cli_usage_error("talk", "--context wants 1..%d, got '%s'",
                                          WT_FLEETQ_LIMIT_MAX, optarg);
            t->context_n = (int)v;
            break;
        }
        case 't':
            if ((t->timeout_ms = wt_clock_parse_duration_ms(optarg)) <= 0)
                return wt_cli_usage_error("talk", "bad --timeout '%s' (e.g. 30m, 8h)", optarg);
            break;
        case 'T':
            if ((t->reply_ms = wt_clock_parse_duration_ms(optarg)) <= 0)
                return wt_cli_usage_error("talk", "bad --reply-timeout '%s' (e.g. 90s)", optarg);
            break;
        case 'r':
            snprintf(t->conn.redis, sizeof t->conn.redis, "%s", optarg);
            break;
        case 'b':
            snprintf(t->conn.broker, sizeof t->conn.broker, "%s", optarg);
            break;
        case 'h':
            fputs(talk_usage, stdout);
            return -1;
        default:
            if (!wt_cli_conn_opt(&t->conn, c, optarg))
                return wt_cli_usage_error("talk", "unknown or incomplete option '%s'",
                                          argv[optind - 1]);
        }
    }
    if (optind < argc)
        return wt_cli_usage_error("talk", "unexpected argument '%s'", argv[optind]);
    return wt_cli_conn_check("talk", &t->conn);
}

/* --- the session's events --- */

static void
say(talk_t *t, const char *fmt, const char *text)
{
    (void)t;
    printf(fmt, text);
    fflush(stdout);
}

/* Prints what one event means for the user; sets *turn_done when the agent
 * now waits for the next line. */
static void
on_event(talk_t *t, const char *type, const char *data, int *turn_done)
{
    json_t *d = json_loads(data ? data : "", 0, NULL);
    if (strcmp(type, "llm_turn_completed") == 0) {
        const char *text = json_string_value(json_object_get(d, "text"));
        if (text && *text)
            say(t, "agent> %s\n", text);
        json_t *tools = json_object_get(d, "tools");
        size_t i;
        json_t *n;
        json_array_foreach(tools, i, n)
        {
            say(t, "  [%s]\n", json_string_value(n));
        }
        const char *stop = json_string_value(json_object_get(d, "stop_reason"));
        if (json_array_size(tools) == 0 && !(stop && strcmp(stop, "max_tokens") == 0))
            *turn_done = 1;
    } else if (strcmp(type, "tool_call_failed") == 0) {
        const char *tool = json_string_value(json_object_get(d, "tool"));
        char line[600];
        snprintf(line, sizeof line, "%s: %s", tool ? tool : "?",
                 json_string_value(json_object_get(d, "error"))
                     ? json_string_value(json_object_get(d, "error"))
                     : "");
        say(t, "  [failed %s]\n", line);
    } else if (strcmp(type, "session_completed") == 0) {
        const char *o = json_string_value(json_object_get(d, "outcome"));
        snprintf(t->outcome, sizeof t->outcome, "%s", o ? o : "");
        t->ended = 1;
        const char *detail = json_string_value(json_object_get(d, "detail"));
        char line[400];
        snprintf(line, sizeof line, "%s%s%s", t->outcome, detail && *detail ? ": " : "",
                 detail ? detail : "");
        say(t, "talk ended (%s)\n", line);
    }
    json_decref(d);
}

/* Reads new events for at most block_ms; -1 on a Redis error. */
static int
read_events(talk_t *t, int block_ms, int *turn_done)
{
    char key[128];
    wt_store_key(&t->store, key, sizeof key, "session:%s:events", t->sid);
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(t->redis, &err, "XREAD COUNT 100 BLOCK %d STREAMS %s %s",
                                     block_ms, key, t->last_id);
    if (r == NULL) {
        fprintf(stderr, "worktrain talk: reading the session's events: %s\n", err.msg);
        return -1;
    }
    for (size_t s = 0; r->type == REDIS_REPLY_ARRAY && s < r->elements; s++) {
        redisReply *entries = r->element[s]->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            redisReply *e = entries->element[i];
            snprintf(t->last_id, sizeof t->last_id, "%s", e->element[0]->str);
            const char *type = wt_redis_field(e->element[1], "type");
            if (type)
                on_event(t, type, wt_redis_field(e->element[1], "data"), turn_done);
        }
    }
    freeReplyObject(r);
    return 0;
}

/* Says so when the session still waits for a worker (none offers the
 * workflow, or all are busy): otherwise the user just sees nothing. */
static void
queued_hint(talk_t *t)
{
    char key[128];
    wt_store_key(&t->store, key, sizeof key, "session:%s", t->sid);
    redisReply *r = wt_redis_command(t->redis, NULL, "HGET %s status", key);
    if (r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "queued") == 0)
        fprintf(stderr,
                "worktrain talk: session %s is still queued: no free worker offers workflow "
                "'%s' yet\n",
                t->sid, t->workflow);
    if (r)
        freeReplyObject(r);
}

/* Waits until the agent's turn is done, the session ended, Ctrl-C, or the
 * reply timeout; -1 on a Redis error. */
static int
wait_reply(talk_t *t, int64_t timeout_ms)
{
    int done = 0, hinted = 0;
    int64_t start = wt_clock_mono_ms(), end = start + timeout_ms;
    while (!done && !t->ended && !interrupted) {
        if (!hinted && wt_clock_mono_ms() - start > QUEUED_HINT_MS) {
            hinted = 1;
            queued_hint(t);
        }
        if (wt_clock_mono_ms() >= end) {
            fprintf(stderr,
                    "worktrain talk: no reply within %lld s; the agent may still "
                    "answer later\n",
                    (long long)(timeout_ms / 1000));
            return 0;
        }
        if (read_events(t, 250, &done) != 0)
            return -1;
    }
    return 0;
}

/* --- local commands --- */

static void
show_ideas(talk_t *t)
{
    wt_err_t err = {0};
    json_t *j = wt_fleetq_ideas(&t->store, 20, &err);
    if (j == NULL) {
        fprintf(stderr, "worktrain talk: /ideas: %s\n", err.msg);
        return;
    }
    json_t *ideas = json_object_get(j, "ideas");
    if (json_array_size(ideas) == 0)
        puts("no ideas recorded yet");
    size_t i;
    json_t *e;
    json_array_foreach(ideas, i, e)
        printf("- %s [%s] (session %s)\n", json_string_value(json_object_get(e, "title")),
               json_string_value(json_object_get(e, "tags")) ?: "",
               json_string_value(json_object_get(e, "session")) ?: "-");
    json_decref(j);
}

static void
show_status(talk_t *t)
{
    wt_err_t err = {0};
    json_t *j = wt_fleetq_status(&t->store, &err);
    if (j == NULL) {
        fprintf(stderr, "worktrain talk: /status: %s\n", err.msg);
        return;
    }
    printf("queued %lld, running %lld, workers %zu\n",
           (long long)json_integer_value(json_object_get(j, "queued")),
           (long long)json_integer_value(json_object_get(j, "running_total")),
           json_array_size(json_object_get(j, "workers")));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "running"), i, e)
        printf("- %s %s step %s: %s\n", json_string_value(json_object_get(e, "id")),
               json_string_value(json_object_get(e, "workflow")),
               json_string_value(json_object_get(e, "step")),
               json_string_value(json_object_get(e, "latest_note")));
    json_decref(j);
}

/* Sends the quit message and waits (bounded) for the session to end. */
static void
quit(talk_t *t)
{
    if (t->ended)
        return;
    wt_err_t err = {0};
    if (wt_store_tell(&t->store, t->sid, "/quit", &err) != 0) {
        fprintf(stderr, "worktrain talk: /quit: %s\n", err.msg);
        return;
    }
    int done = 0;
    int64_t end = wt_clock_mono_ms() + QUIT_WAIT_MS;
    while (!t->ended && wt_clock_mono_ms() < end)
        if (read_events(t, 250, &done) != 0)
            return;
    if (!t->ended)
        fprintf(stderr, "worktrain talk: session %s has not ended yet; it will at its next turn\n",
                t->sid);
}

/* Handles one input line: 1 to go on, 0 to stop. */
static int
handle_line(talk_t *t, const char *line, size_t len)
{
    if (len > LINE_MAX_BYTES) {
        fprintf(stderr, "worktrain talk: line of %zu bytes refused (max %d): not sent\n", len,
                LINE_MAX_BYTES);
        return 1;
    }
    size_t sp = strspn(line, " \t\r");
    if (line[sp] == '\0') {
        fprintf(stderr, "worktrain talk: empty line refused: type a message, or /quit\n");
        return 1;
    }
    if (t->tty)
        add_history(line);
    if (strcmp(line + sp, "/quit") == 0)
        return 0;
    if (strcmp(line + sp, "/ideas") == 0)
        return show_ideas(t), 1;
    if (strcmp(line + sp, "/status") == 0)
        return show_status(t), 1;
    if (line[sp] == '/' && strchr(line + sp, ' ') == NULL) {
        fprintf(stderr, "worktrain talk: unknown command %s (/ideas /status /quit)\n", line + sp);
        return 1;
    }
    wt_err_t err = {0};
    if (wt_store_tell(&t->store, t->sid, line, &err) != 0) {
        fprintf(stderr, "worktrain talk: not sent: %s\n", err.msg);
        return err.code == WT_ESTALE || err.code == WT_ENOTFOUND ? 0 : 1;
    }
    return wait_reply(t, t->reply_ms) == 0 && !t->ended;
}

/* --- input --- */

/* Pipe: one line into buf (newline stripped); the length, or -1 at end of
 * input / Ctrl-C. A longer line than the buffer is skipped to its end and
 * reported as its length, so handle_line refuses it. */
static long
read_plain(char *buf, size_t cap)
{
    size_t len = 0;
    int c;
    while (!interrupted && (c = getchar()) != EOF && c != '\n') {
        if (len + 1 < cap)
            buf[len] = (char)c;
        len++;
    }
    if (interrupted || (c == EOF && len == 0))
        return -1;
    buf[len < cap ? len : cap - 1] = '\0';
    return (long)len;
}

static talk_t *rl_talk; /* the talk libedit's callback hands lines to (one per process) */

static void
on_rl_line(char *line)
{
    if (line == NULL)
        rl_talk->eof = 1;
    else
        rl_talk->pending = line;
}

/* Terminal: one edited line (caller frees), or NULL at end of input / Ctrl-C. */
static char *
read_tty(talk_t *t)
{
    rl_talk = t;
    t->pending = NULL;
    t->eof = 0;
    rl_callback_handler_install("you> ", on_rl_line);
    while (!t->pending && !t->eof && !interrupted) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&p, 1, 500);
        if (n > 0)
            rl_callback_read_char();
        else if (n < 0 && errno != EINTR)
            break;
    }
    rl_callback_handler_remove();
    if (interrupted || t->eof) {
        putchar('\n');
        free(t->pending);
        return NULL;
    }
    return t->pending;
}

static void
history_path(char *out, size_t cap)
{
    const char *home = getenv("HOME");
    out[0] = '\0';
    if (home && *home)
        snprintf(out, cap, "%s/.worktrain_history", home);
}

static void
converse(talk_t *t)
{
    char hist[4096];
    if (t->tty) {
        history_path(hist, sizeof hist);
        rl_catch_signals = 0; /* our SIGINT handler ends the talk */
        stifle_history(HISTORY_ENTRIES);
        if (*hist)
            read_history(hist);
    }
    char *buf = t->tty ? NULL : wt_xmalloc(LINE_MAX_BYTES + 2);
    while (!t->ended && !interrupted) {
        if (!t->tty) {
            long n = read_plain(buf, LINE_MAX_BYTES + 2);
            if (n < 0 || !handle_line(t, buf, (size_t)n))
                break;
            continue;
        }
        char *line = read_tty(t);
        if (line == NULL)
            break;
        int go = handle_line(t, line, strlen(line));
        free(line);
        if (!go)
            break;
    }
    free(buf);
    if (t->tty && *hist && write_history(hist) != 0)
        fprintf(stderr, "worktrain talk: history not saved in %s: %s\n", hist, strerror(errno));
    if (!t->ended)
        quit(t);
}

/* --- start --- */

static int
spawn_talk(talk_t *t)
{
    wt_err_t err = {0};
    char *bundle = wt_fleetq_bundle(&t->store, t->context_n, &err);
    if (bundle == NULL) {
        fprintf(stderr, "worktrain talk: Redis: %s\n", err.msg);
        return 2;
    }
    char *goal = wt_xasprintf("Talk with the operator of this WorkTrain fleet. The fleet's "
                              "context, read from Redis when the talk began:\n\n%s",
                              bundle);
    free(bundle);
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    wt_msg_set(&m->workflow, t->workflow);
    wt_msg_set(&m->goal, goal);
    free(goal);
    m->timeout_ms = t->timeout_ms;
    m->max_turns = TALK_MAX_TURNS;
    char id[WT_ULID_LEN + 1], key[48];
    wt_ulid_make(id, wt_clock_now_ms());
    snprintf(key, sizeof key, "talk-%s", id); /* a re-send after a lost reply is the same talk */
    wt_msg_set(&m->key, key);
    wt_client_t *cl = wt_client_new(t->conn.broker, &t->conn.curve, &err);
    wt_msg_t *rep = cl ? wt_client_request(cl, m, 10000, &err) : NULL;
    wt_msg_destroy(&m);
    wt_client_destroy(&cl);
    if (rep == NULL) {
        fprintf(stderr, "worktrain talk: no answer from the broker at %s: %s\n", t->conn.broker,
                err.msg);
        return 2;
    }
    int rc = 0;
    if (rep->cmd != WT_CMD_SPAWNED) {
        fprintf(stderr, "worktrain talk: the broker refused the talk session (%d): %s\n", rep->code,
                rep->message ? rep->message : "");
        rc = 1;
    } else
        snprintf(t->sid, sizeof t->sid, "%s", rep->session ? rep->session : "");
    wt_msg_destroy(&rep);
    snprintf(t->last_id, sizeof t->last_id, "0");
    return rc;
}

/* --resume: the session must exist and still be live. */
static int
resume_talk(talk_t *t)
{
    wt_err_t err = {0};
    char key[128];
    wt_store_key(&t->store, key, sizeof key, "session:%s", t->resume);
    redisReply *r = wt_redis_command(t->redis, &err, "HMGET %s status outcome", key);
    if (r == NULL) {
        fprintf(stderr, "worktrain talk: Redis: %s\n", err.msg);
        return 2;
    }
    const char *st = r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]->str : NULL;
    int rc = 0;
    if (st == NULL) {
        fprintf(stderr, "worktrain talk: no session %s\n", t->resume);
        rc = 1;
    } else if (wt_store_status_terminal(st)) {
        fprintf(stderr, "worktrain talk: session %s has ended (%s %s); start a new talk\n",
                t->resume, st, r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : "");
        rc = 1;
    }
    freeReplyObject(r);
    if (rc)
        return rc;
    snprintf(t->sid, sizeof t->sid, "%s", t->resume);
    /* new events only: the user has seen the earlier replies */
    wt_store_key(&t->store, key, sizeof key, "session:%s:events", t->sid);
    r = wt_redis_command(t->redis, &err, "XREVRANGE %s + - COUNT 1", key);
    snprintf(t->last_id, sizeof t->last_id, "%s",
             r && r->type == REDIS_REPLY_ARRAY && r->elements ? r->element[0]->element[0]->str
                                                              : "0");
    if (r)
        freeReplyObject(r);
    return 0;
}

int
wt_cli_talk_main(int argc, char **argv)
{
    talk_t t = {
        .workflow = "talk", .context_n = 10, .timeout_ms = TALK_TIMEOUT_MS, .reply_ms = 600000};
    wt_cli_conn_defaults(&t.conn);
    int rc = talk_parse(argc, argv, &t);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    wt_err_t err = {0};
    t.redis = wt_redis_new(t.conn.redis, 5000, &err);
    if (t.redis == NULL || wt_redis_connect(t.redis, &err) != 0) {
        char shown[512];
        wt_redis_url_display(t.conn.redis, shown, sizeof shown);
        fprintf(stderr, "worktrain talk: no Redis at %s: %s\n", shown, err.msg);
        wt_redis_destroy(&t.redis);
        return 2;
    }
    wt_store_init(&t.store, t.redis, NULL);
    rc = t.resume ? resume_talk(&t) : spawn_talk(&t);
    if (rc != 0) {
        wt_redis_destroy(&t.redis);
        return rc;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint; /* no SA_RESTART: a blocked read returns and we quit */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    t.tty = isatty(STDIN_FILENO);
    printf("talk session %s (/ideas /status /quit)\n", t.sid);
    fflush(stdout);
    if (!t.resume)
        wait_reply(&t, t.reply_ms);
    if (!t.ended)
        converse(&t); /* ends with quit() unless the session already ended */
    rc = t.ended && strcmp(t.outcome, "success") == 0 ? 0 : 1;
    wt_redis_destroy(&t.redis);
    return rc;
}
