/* Unit tests of the fleet knowledge tools (wt_tools_fleet over wt_fleetq)
 * against a real redis-server filled with 5,000 sessions: paging visits
 * every session once in order, each filter finds exactly the planted
 * sessions, every answer stays within the budget, read-only tools change
 * nothing (Redis's dirty counter), keys of another prefix are invisible
 * (sessions, notes, inbox, workers, the bundle), and bad arguments are tool
 * errors. fleet_gaps over the 5,000: every finding recorded once (one gap
 * inbox entry each), the answer within the budget, a second scan finds
 * nothing new; an idea's prerequisites (requires, idea_done). */
#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_fleetq.h"
#include "wt_gaps.h"
#include "wt_test.h"
#include "wt_test_redis.h"
#include "wt_tools_fleet.h"
#include "wt_ulid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N         5000
#define BASE_MS   1700000000000LL
#define OTHER_SID "01ARZ3NDEKTSV4RRFFQ69G5FAW" /* a session under prefix xx: only */

static wt_test_redis_t srv;
static wt_redis_t *r;
static wt_store_t st;
static char sids[N][WT_ULID_LEN + 1];
static char big_sid[WT_ULID_LEN + 1]; /* 300 long notes */

static void
cmd(const char *fmt, const char *a, const char *b)
{
    redisReply *rep = wt_redis_command(r, NULL, fmt, a, b);
    WT_CHECK(rep != NULL);
    if (rep)
        freeReplyObject(rep);
}

static void
seed(void)
{
    char *huge = wt_xmalloc(100001);
    memset(huge, 'g', 100000);
    huge[100000] = '\0';
    for (int i = 0; i < N; i++) {
        long long ms = BASE_MS + (long long)i * 1000;
        wt_ulid_make(sids[i], ms);
        char key[96], goal[128], created[24], output[256];
        snprintf(key, sizeof key, "wt:session:%s", sids[i]);
        snprintf(goal, sizeof goal, "goal number %d%s", i,
                 i % 500 == 7 ? " with a Needle in it" : "");
        snprintf(created, sizeof created, "%lld", ms);
        snprintf(output, sizeof output, "{\"context\":{},\"notes\":\"did %d%s\",\"artifacts\":[]}",
                 i, i % 250 == 3 ? " found the NeedleNote" : "");
        const char *status = i >= N - 60 ? "running" : i % 10 == 0 ? "failed" : "completed";
        const char *outcome = i >= N - 60 ? "" : i % 10 == 0 ? "error" : "success";
        const char *argv[] = {"HSET",       key,
                              "id",         sids[i],
                              "workflow",   i % 3 == 0 ? "coding-task" : "bug-investigation",
                              "goal",       i == 42 ? huge : goal,
                              "status",     status,
                              "outcome",    outcome,
                              "run",        i % 100 == 0 ? "RUN7" : "",
                              "created_ms", created,
                              "step",       "second",
                              "output",     output,
                              "error",      i % 10 == 0 ? "llm call failed" : ""};
        WT_CHECK(wt_redis_append(r, 22, argv, NULL, NULL) == 0);
        const char *z[] = {"ZADD", "wt:sessions", created, sids[i]};
        WT_CHECK(wt_redis_append(r, 4, z, NULL, NULL) == 0);
        if (i >= N - 60) {
            const char *h[] = {"HSET", "wt:running", sids[i], "w1"};
            WT_CHECK(wt_redis_append(r, 4, h, NULL, NULL) == 0);
        }
    }
    for (int i = 0; i < N * 2 + 60; i++) {
        redisReply *rep = wt_redis_get_reply(r, NULL);
        WT_CHECK(rep != NULL);
        if (rep)
            freeReplyObject(rep);
    }
    free(huge);
    /* one session's events: 3 notes and an issue; another with 300 long notes */
    char ev[96];
    snprintf(ev, sizeof ev, "wt:session:%s:events", sids[10]);
    for (int k = 0; k < 3; k++) {
        char data[128];
        snprintf(data, sizeof data, "{\"step\":\"s%d\",\"notes\":\"note %d\",\"context\":{}}", k,
                 k);
        cmd("XADD %s * type step_advanced data %s", ev, data);
    }
    cmd("XADD %s * type issue_reported data %s", ev,
        "{\"kind\":\"bug\",\"severity\":\"high\",\"summary\":\"flaky build\"}");
    snprintf(big_sid, sizeof big_sid, "%s", sids[20]);
    snprintf(ev, sizeof ev, "wt:session:%s:events", big_sid);
    char *note = wt_xmalloc(3000);
    for (int k = 0; k < 300; k++) {
        char *data = wt_xasprintf("{\"step\":\"s%d\",\"notes\":\"%d %.1400s\"}", k, k,
                                  memset(note, 'n', 2999) ? note : "");
        cmd("XADD %s * type step_advanced data %s", ev, data);
        free(data);
    }
    free(note);
    /* inbox: 300 entries, every third an escalation */
    for (int i = 0; i < 300; i++) {
        char summary[64];
        snprintf(summary, sizeof summary, "entry %d", i);
        redisReply *rep = wt_redis_command(r, NULL, "XADD wt:inbox * kind %s summary %s",
                                           i % 3 == 0 ? "escalation" : "completion", summary);
        if (rep)
            freeReplyObject(rep);
    }
    /* another prefix's session: invisible to the tools */
    redisReply *rep = wt_redis_command(r, NULL, "HSET xx:session:%s id %s goal %s status failed",
                                       OTHER_SID, "x", "SECRET other prefix");
    if (rep)
        freeReplyObject(rep);
    rep = wt_redis_command(r, NULL, "ZADD xx:sessions %lld %s", BASE_MS, OTHER_SID);
    if (rep)
        freeReplyObject(rep);
    /* ... its inbox, ideas and a worker: invisible too */
    cmd("XADD xx:inbox * kind escalation summary %s%s", "SECRET other inbox", "");
    cmd("XADD xx:ideas * title %s body %s", "SECRET other idea", "b");
    cmd("ZADD xx:workers 1 %s%s", "spyworker", "");
    cmd("HSET xx:worker:spyworker slots 4 free %s", "4", "");
}

static long long
dirty(void)
{
    redisReply *rep = wt_redis_command(r, NULL, "INFO persistence");
    const char *p = rep && rep->str ? strstr(rep->str, "rdb_changes_since_last_save:") : NULL;
    long long n = p ? atoll(p + strlen("rdb_changes_since_last_save:")) : -1;
    if (rep)
        freeReplyObject(rep);
    return n;
}

/* Runs a tool with args given as JSON text; returns the parsed answer (NULL
 * for an error result, whose text goes to *err_text when given). */
static json_t *
call(const char *tool, const char *args, char **err_text)
{
    json_t *a = json_loads(args, JSON_DECODE_ANY, NULL);
    wt_tool_result_t res = {0};
    WT_CHECK(wt_tools_fleet_run(&st, "01HCALLER0000000000000000A", tool, a, &res) == 0);
    json_decref(a);
    WT_CHECK(res.text != NULL);
    WT_CHECK(strlen(res.text) <= WT_FLEETQ_BUDGET_BYTES);
    json_t *j = NULL;
    if (!res.is_error)
        j = json_loads(res.text, 0, NULL);
    else if (err_text)
        *err_text = wt_xstrdup(res.text);
    wt_tool_result_release(&res);
    return j;
}

/* Pages through fleet_sessions with extra filter JSON; returns the count
 * and checks order, uniqueness and page sizes. */
static int
walk(const char *filter, int limit)
{
    char cursor[64] = "";
    int total = 0, pages = 0;
    long long prev = -1;
    char *seen = wt_xcalloc(N, 1);
    for (;;) {
        char args[512];
        snprintf(args, sizeof args, "{%s%s\"limit\": %d%s%s%s}", filter, *filter ? "," : "", limit,
                 *cursor ? ",\"cursor\":\"" : "", cursor, *cursor ? "\"" : "");
        json_t *j = call("fleet_sessions", args, NULL);
        WT_CHECK(j != NULL);
        if (j == NULL)
            break;
        json_t *list = json_object_get(j, "sessions");
        WT_CHECK(json_array_size(list) <= (size_t)limit);
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s)
        {
            long long c = json_integer_value(json_object_get(s, "created_ms"));
            WT_CHECK(prev < 0 || c < prev); /* newest first, no repeats */
            prev = c;
            int idx = (int)((c - BASE_MS) / 1000);
            WT_CHECK(idx >= 0 && idx < N && !seen[idx]);
            if (idx >= 0 && idx < N)
                seen[idx] = 1;
            total++;
        }
        pages++;
        const char *next = json_string_value(json_object_get(j, "next_cursor"));
        if (next)
            snprintf(cursor, sizeof cursor, "%s", next);
        json_decref(j);
        if (!next || pages > N)
            break;
    }
    free(seen);
    return total;
}

static void
test_paging_and_filters(void)
{
    long long d0 = dirty();
    int64_t t0 = wt_clock_mono_ms();
    WT_CHECK(walk("", 50) == N);
    int64_t full_ms = wt_clock_mono_ms() - t0;
    WT_CHECK(walk("", 7) == N);
    WT_CHECK(walk("\"status\":\"failed\"", 50) == 494);
    WT_CHECK(walk("\"status\":\"running\"", 50) == 60);
    WT_CHECK(walk("\"outcome\":\"error\",\"workflow\":\"coding-task\"", 50) == 165);
    WT_CHECK(walk("\"run\":\"RUN7\"", 50) == 50);
    t0 = wt_clock_mono_ms();
    WT_CHECK(walk("\"text\":\"needle in\"", 50) == 10); /* goal, case-insensitive */
    int64_t text_ms = wt_clock_mono_ms() - t0;
    WT_CHECK(walk("\"text\":\"needlenote\"", 50) == 20);         /* notes in output */
    WT_CHECK(walk("\"text\":\"llm call failed\"", 50) == 500);   /* error */
    WT_CHECK(walk("\"text\":\"SECRET other prefix\"", 50) == 0); /* other prefix */
    char range[128];
    snprintf(range, sizeof range, "\"since_ms\": %lld, \"until_ms\": %lld", BASE_MS + 1000000,
             BASE_MS + 1099000);
    WT_CHECK(walk(range, 50) == 100);
    WT_CHECK(dirty() == d0); /* read-only */
    fprintf(stderr, "  5000 sessions: all pages of 50 in %lld ms, text search in %lld ms\n",
            (long long)full_ms, (long long)text_ms);
}

static void
test_bounds(void)
{
    /* session 42's goal is 100 KB: cut in lists */
    char args[128];
    snprintf(args, sizeof args, "{\"since_ms\": %lld, \"until_ms\": %lld}", BASE_MS + 42000,
             BASE_MS + 42000);
    json_t *j = call("fleet_sessions", args, NULL);
    json_t *s = json_array_get(json_object_get(j, "sessions"), 0);
    WT_CHECK(strlen(json_string_value(json_object_get(s, "goal"))) <= WT_FLEETQ_TEXT_CHARS + 3);
    json_decref(j);
    /* 300 notes of 1.4 KB: truncated to the budget, newest kept */
    snprintf(args, sizeof args, "{\"session\": \"%s\"}", big_sid);
    j = call("session_notes", args, NULL);
    WT_CHECK(j && json_is_true(json_object_get(j, "truncated")));
    json_t *notes = json_object_get(j, "notes");
    WT_CHECK(json_array_size(notes) > 2 && json_array_size(notes) < 300);
    WT_CHECK_STR(json_string_value(
                     json_object_get(json_array_get(notes, json_array_size(notes) - 1), "step")),
                 "s299");
    json_decref(j);
    snprintf(args, sizeof args, "{\"session\": \"%s\"}", sids[10]);
    j = call("session_notes", args, NULL);
    WT_CHECK(j && json_array_size(json_object_get(j, "notes")) == 3);
    WT_CHECK_STR(json_string_value(
                     json_object_get(json_array_get(json_object_get(j, "issues"), 0), "summary")),
                 "flaky build");
    json_decref(j);
    /* status: 60 running, at most 50 listed */
    j = call("fleet_status", "{}", NULL);
    WT_CHECK(j && json_integer_value(json_object_get(j, "running_total")) == 60);
    WT_CHECK(json_array_size(json_object_get(j, "running")) <= WT_FLEETQ_LIMIT_MAX);
    WT_CHECK(json_array_size(json_object_get(j, "running")) > 0);
    json_decref(j);
    /* inbox: 100 escalations, paged by cursor, none twice */
    int total = 0;
    char cursor[64] = "";
    for (int pages = 0; pages < 100; pages++) {
        snprintf(args, sizeof args, "{\"kind\":\"escalation\",\"limit\":30%s%s%s}",
                 *cursor ? ",\"cursor\":\"" : "", cursor, *cursor ? "\"" : "");
        j = call("inbox_read", args, NULL);
        WT_CHECK(j != NULL);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(j, "entries"), i, e)
        {
            WT_CHECK_STR(json_string_value(json_object_get(e, "kind")), "escalation");
            WT_CHECK(*cursor == '\0' ||
                     strcmp(json_string_value(json_object_get(e, "id")), cursor) != 0);
            total++;
        }
        const char *next = json_string_value(json_object_get(j, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(j);
        if (!next)
            break;
    }
    WT_CHECK(total == 100);
}

/* Nothing of prefix xx: in what the tools or the bundle answer. */
static void
test_other_prefix(void)
{
    char cursor[64] = "", args[160];
    for (int pages = 0; pages < 100; pages++) {
        snprintf(args, sizeof args, "{\"limit\":50%s%s%s}", *cursor ? ",\"cursor\":\"" : "", cursor,
                 *cursor ? "\"" : "");
        char *text = NULL;
        json_t *j = call("inbox_read", args, &text);
        WT_CHECK(j != NULL);
        char *dump = j ? json_dumps(j, 0) : NULL;
        WT_CHECK(dump && !strstr(dump, "SECRET"));
        free(dump);
        free(text);
        const char *next = json_string_value(json_object_get(j, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(j);
        if (!*cursor)
            break;
    }
    json_t *j = call("fleet_status", "{}", NULL);
    char *dump = j ? json_dumps(j, 0) : NULL;
    WT_CHECK(dump && !strstr(dump, "spyworker"));
    free(dump);
    json_decref(j);
    char *b = wt_fleetq_bundle(&st, 50, NULL);
    WT_CHECK(b && !strstr(b, "SECRET") && !strstr(b, "spyworker"));
    free(b);
}

static void
expect_error(const char *tool, const char *args, const char *mention)
{
    char *text = NULL;
    json_t *j = call(tool, args, &text);
    WT_CHECK(j == NULL && text != NULL);
    if (text && !strstr(text, mention)) {
        fprintf(stderr, "  %s %s: '%s' lacks '%s'\n", tool, args, text, mention);
        WT_CHECK(0);
    }
    free(text);
    json_decref(j);
}

static void
test_bad_input(void)
{
    long long d0 = dirty();
    expect_error("fleet_sessions", "{\"limit\": 0}", "limit");
    expect_error("fleet_sessions", "{\"limit\": 51}", "limit");
    expect_error("fleet_sessions", "{\"limit\": \"ten\"}", "integer");
    expect_error("fleet_sessions", "{\"since_ms\": -1}", "since_ms");
    expect_error("fleet_sessions", "{\"text\": 7}", "string");
    expect_error("fleet_sessions", "{\"cursor\": \"garbage\"}", "cursor");
    expect_error("fleet_sessions", "[1,2]", "object");
    expect_error("session_notes", "{}", "session");
    expect_error("session_notes", "{\"session\": 5}", "string");
    expect_error("session_notes", "{\"session\": \"xx:session:01HOTHERPREFIX00000000000\"}",
                 "ULID");
    expect_error("session_notes", "{\"session\": \"*\"}", "ULID");
    expect_error("session_notes", "{\"session\": \"01HOTHERPREFIX00000000000\"}", "ULID");
    expect_error("session_notes", "{\"session\": \"" OTHER_SID "\"}", "no session");
    expect_error("session_notes", "{\"session\": \"01ARZ3NDEKTSV4RRFFQ69G5FAV\"}", "no session");
    expect_error("inbox_read", "{\"limit\": 100}", "limit");
    expect_error("inbox_read", "{\"cursor\": \"+\"}", "cursor");
    expect_error("record_idea", "{\"body\": \"b\"}", "title");
    expect_error("record_idea", "{\"title\": \"\", \"body\": \"b\"}", "title");
    expect_error("record_idea", "{\"title\": \"t\", \"body\": \"b\", \"tags\": \"x\"}", "tags");
    expect_error("record_idea", "{\"title\": \"t\", \"body\": \"b\", \"tags\": [1]}", "tags");
    expect_error("record_idea", "{\"title\": \"t\", \"body\": \"b\", \"open_issue\": 3}",
                 "open_issue");
    expect_error("record_idea", "{\"title\": \"t\", \"body\": \"b\", \"requires\": \"x\"}",
                 "'requires' must be an array");
    expect_error("record_idea", "{\"title\": \"t\", \"body\": \"b\", \"requires\": [\"nope\"]}",
                 "requires[0]");
    expect_error("record_idea", "{\"title\": \"t\", \"body\": \"b\", \"requires\": [\"1-0\", 7]}",
                 "requires[1]");
    expect_error("record_idea",
                 "{\"title\": \"t\", \"body\": \"b\", \"requires\": [\"1-0\",\"1-1\",\"1-2\","
                 "\"1-3\",\"1-4\",\"1-5\",\"1-6\",\"1-7\",\"1-8\",\"1-9\",\"1-10\"]}",
                 "at most 10");
    expect_error("idea_done", "{}", "'idea'");
    expect_error("idea_done", "{\"idea\": 5}", "string");
    expect_error("idea_done", "{\"idea\": \"wt:ideas\"}", "bad idea id");
    expect_error("idea_done", "{\"idea\": \"1-0\"}", "no idea 1-0");
    expect_error("fleet_gaps", "{\"since_ms\": \"yesterday\"}", "integer");
    expect_error("fleet_gaps", "{\"since_ms\": -5}", "out of range");
    expect_error("fleet_gaps", "[]", "object");
    expect_error("inbox_read", "{\"kind\": 3}", "string");
    expect_error("inbox_read", "{\"limit\": \"all\"}", "integer");
    expect_error("fleet_status", "\"status\"", "object");
    WT_CHECK(dirty() == d0); /* refused calls wrote nothing */
    wt_tool_result_t res = {0};
    json_t *none = json_object();
    WT_CHECK(wt_tools_fleet_run(&st, "S", "Bash", none, &res) == -1);
    json_decref(none);
}

static void
test_record_idea(void)
{
    json_t *j = call("record_idea",
                     "{\"title\": \"cache the bundle\", \"body\": \"talk could reuse it\", "
                     "\"tags\": [\"talk\", \"perf\"], \"open_issue\": true}",
                     NULL);
    WT_CHECK(j && json_is_true(json_object_get(j, "recorded")));
    /* no WORKTRAIN_IDEAS_FORGE: recorded, and says why it was not filed */
    const char *why = json_string_value(json_object_get(j, "issue_error"));
    WT_CHECK(why && strncmp(why, "not filed: no forge", 19) == 0);
    json_decref(j);
    redisReply *rep = wt_redis_command(r, NULL, "XREVRANGE wt:ideas + - COUNT 1");
    WT_CHECK(rep && rep->elements == 1);
    if (rep && rep->elements == 1) {
        WT_CHECK_STR(wt_redis_field(rep->element[0]->element[1], "title"), "cache the bundle");
        WT_CHECK_STR(wt_redis_field(rep->element[0]->element[1], "tags"), "talk,perf");
        WT_CHECK_STR(wt_redis_field(rep->element[0]->element[1], "session"),
                     "01HCALLER0000000000000000A");
    }
    if (rep)
        freeReplyObject(rep);
    rep = wt_redis_command(r, NULL, "XREVRANGE wt:inbox + - COUNT 1");
    WT_CHECK(rep && rep->elements == 1);
    if (rep && rep->elements == 1) {
        WT_CHECK_STR(wt_redis_field(rep->element[0]->element[1], "kind"), "idea");
        WT_CHECK_STR(wt_redis_field(rep->element[0]->element[1], "summary"), "cache the bundle");
    }
    if (rep)
        freeReplyObject(rep);
    j = call("inbox_read", "{\"kind\": \"idea\"}", NULL);
    WT_CHECK(j && json_array_size(json_object_get(j, "entries")) == 1);
    json_decref(j);
    /* the bundle: bounded, names escalations and the idea */
    char *b = wt_fleetq_bundle(&st, 10, NULL);
    WT_CHECK(b && strlen(b) <= WT_FLEETQ_BUDGET_BYTES);
    WT_CHECK(b && strstr(b, "cache the bundle") && strstr(b, "escalation"));
    free(b);
}

static long long
gap_entries(void)
{
    redisReply *rep = wt_redis_command(r, NULL, "XRANGE wt:inbox - +");
    long long n = 0;
    for (size_t i = 0; rep && i < rep->elements; i++) {
        const char *k = wt_redis_field(rep->element[i]->element[1], "kind");
        n += k && strcmp(k, "gap") == 0;
    }
    if (rep)
        freeReplyObject(rep);
    return n;
}

/* fleet_gaps over the 5,000 sessions: it looks at the newest
 * WT_GAPS_SESSIONS_MAX; their failed ones (unique goals: no follow-up) and
 * the 100 escalations (nothing names them) are the findings. */
static void
test_gaps(void)
{
    int failed = 0;
    for (int i = N - WT_GAPS_SESSIONS_MAX; i < N - 60; i++)
        failed += i % 10 == 0;
    json_t *j = call("fleet_gaps", "{}", NULL);
    WT_CHECK(j != NULL);
    WT_CHECK(json_integer_value(json_object_get(j, "sessions_scanned")) == WT_GAPS_SESSIONS_MAX);
    WT_CHECK(json_is_true(json_object_get(j, "truncated"))); /* 294 do not fit: cut */
    WT_CHECK(json_array_size(json_object_get(j, "new")) > 0);
    json_decref(j);
    WT_CHECK(gap_entries() == failed + 100); /* every finding recorded, once */
    j = call("fleet_gaps", "{}", NULL);
    WT_CHECK(j && json_array_size(json_object_get(j, "new")) == 0);
    WT_CHECK(json_integer_value(json_object_get(j, "already_reported")) == failed + 100);
    json_decref(j);
    WT_CHECK(gap_entries() == failed + 100);

    /* an idea waiting on a session that succeeded and on another idea */
    j = call("record_idea", "{\"title\": \"base\", \"body\": \"b\"}", NULL);
    char base[48], args[256];
    snprintf(base, sizeof base, "%s", json_string_value(json_object_get(j, "idea")));
    json_decref(j);
    snprintf(args, sizeof args,
             "{\"title\": \"on top\", \"body\": \"b\", \"requires\": [\"%s\", \"%s\"]}",
             sids[N - 100 + 1], base);
    j = call("record_idea", args, NULL);
    char top[48];
    snprintf(top, sizeof top, "%s", json_string_value(json_object_get(j, "idea")));
    json_decref(j);
    redisReply *rep = wt_redis_command(r, NULL, "XRANGE wt:ideas %s %s", top, top);
    WT_CHECK(rep && rep->elements == 1);
    if (rep && rep->elements == 1) {
        char want[96];
        snprintf(want, sizeof want, "%s,%s", sids[N - 100 + 1], base);
        WT_CHECK_STR(wt_redis_field(rep->element[0]->element[1], "requires"), want);
    }
    if (rep)
        freeReplyObject(rep);
    j = call("fleet_gaps", "{}", NULL); /* base not done yet */
    WT_CHECK(j && json_array_size(json_object_get(j, "new")) == 0);
    json_decref(j);
    snprintf(args, sizeof args, "{\"idea\": \"%s\"}", base);
    j = call("idea_done", args, NULL);
    WT_CHECK(j && json_is_true(json_object_get(j, "done")));
    json_decref(j);
    j = call("fleet_gaps", "{}", NULL);
    json_t *g = json_array_get(json_object_get(j, "new"), 0);
    WT_CHECK(j && json_array_size(json_object_get(j, "new")) == 1);
    WT_CHECK_STR(json_string_value(json_object_get(g, "kind")), "idea_ready");
    WT_CHECK_STR(json_string_value(json_object_get(g, "idea")), top);
    json_decref(j);
    j = call("fleet_gaps", "{}", NULL);
    WT_CHECK(j && json_array_size(json_object_get(j, "new")) == 0);
    json_decref(j);
}

/* The talk bundle lists open escalations: one an ack entry names is left out. */
static void
test_bundle_acks(void)
{
    char *b = wt_fleetq_bundle(&st, 10, NULL);
    WT_CHECK(b && strstr(b, "## Open escalations") && strstr(b, "] entry 297\n"));
    free(b);
    redisReply *rep = wt_redis_command(r, NULL, "XREVRANGE wt:inbox + - COUNT 5000");
    char id[48] = "";
    for (size_t i = 0; rep && i < rep->elements && !*id; i++) {
        const char *sum = wt_redis_field(rep->element[i]->element[1], "summary");
        if (sum && strcmp(sum, "entry 297") == 0)
            snprintf(id, sizeof id, "%s", rep->element[i]->element[0]->str);
    }
    if (rep)
        freeReplyObject(rep);
    WT_CHECK(*id);
    cmd("XADD wt:inbox * kind ack ref %s summary %s", id, "handled");
    b = wt_fleetq_bundle(&st, 10, NULL);
    WT_CHECK(b && !strstr(b, "] entry 297\n") && strstr(b, "] entry 294\n"));
    free(b);
}

static void
setup(void)
{
    r = wt_test_redis_start(&srv, 5000);
    wt_store_init(&st, r, "wt:");
    seed();
}

static void
teardown(void)
{
    wt_redis_destroy(&r);
    wt_test_redis_stop(&srv);
}

static void
test_all(void)
{
    setup();
    test_paging_and_filters();
    test_bounds();
    test_other_prefix();
    test_bad_input();
    unsetenv("WORKTRAIN_IDEAS_FORGE"); /* filing is test_talk's, against a fake GitHub */
    test_record_idea();
    test_gaps();
    test_bundle_acks();
    teardown();
}

WT_TEST_MAIN(WT_TEST(test_all))
