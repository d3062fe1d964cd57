/* wt_gaps - the watchdog's gap finders (see wt_gaps.h). Sessions come from
 * wt_fleetq_sessions pages (bounded, newest first); file edits from the
 * tool_call_started events of Write and Edit (their args_summary is the
 * path); issues from the inbox. */
#include "wt_gaps.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_fleetq.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sessions of these workflows watch the fleet; their own endings are not gaps. */
static int
own_workflow(const char *wf)
{
    return wf &&
           (strcmp(wf, "watchdog") == 0 || strcmp(wf, "talk") == 0 || strcmp(wf, "memory") == 0);
}

/* The newest sessions (at most WT_GAPS_SESSIONS_MAX) as a new array. */
static json_t *
load_sessions(wt_store_t *st, int64_t since_ms, wt_err_t *err)
{
    json_t *all = json_array();
    char cursor[64] = "";
    while (json_array_size(all) < WT_GAPS_SESSIONS_MAX) {
        wt_fleetq_filter_t f = {.since_ms = since_ms, .cursor = cursor, .limit = 50};
        json_t *page = wt_fleetq_sessions(st, &f, err);
        if (page == NULL) {
            json_decref(all);
            return NULL;
        }
        json_array_extend(all, json_object_get(page, "sessions"));
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(page);
        if (*cursor == '\0')
            break;
    }
    return all;
}

static void
add(json_t *found, const char *kind, const char *key, const char *summary, json_t *sessions)
{
    json_array_append_new(found, json_pack("{s:s,s:s,s:s,s:o}", "kind", kind, "key", key, "summary",
                                           summary, "sessions", sessions));
}

static const char *
sget(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* failed_no_followup: no later session with the same workflow and goal. */
static void
find_failed(json_t *sessions, json_t *found)
{
    size_t i, k;
    json_t *s, *t;
    json_array_foreach(sessions, i, s)
    {
        if (strcmp(sget(s, "status"), "failed") != 0 || own_workflow(sget(s, "workflow")))
            continue;
        json_int_t c = json_integer_value(json_object_get(s, "created_ms"));
        int followed = 0;
        json_array_foreach(sessions, k, t)
        {
            if (k != i && json_integer_value(json_object_get(t, "created_ms")) > c &&
                strcmp(sget(t, "workflow"), sget(s, "workflow")) == 0 &&
                strcmp(sget(t, "goal"), sget(s, "goal")) == 0) {
                followed = 1;
                break;
            }
        }
        if (followed)
            continue;
        char key[64], *summary;
        snprintf(key, sizeof key, "failed:%s", sget(s, "id"));
        summary =
            wt_xasprintf("session %s (%s) ended %s and nothing followed it up: %s", sget(s, "id"),
                         sget(s, "workflow"), sget(s, "outcome"), sget(s, "summary"));
        add(found, "failed_no_followup", key, summary, json_pack("[s]", sget(s, "id")));
        free(summary);
    }
}

/* 1 when the array of strings list holds s. */
static int
has(json_t *list, const char *s)
{
    size_t k;
    json_t *x;
    json_array_foreach(list, k, x)
    {
        if (strcmp(json_string_value(x), s) == 0)
            return 1;
    }
    return 0;
}

static void
add_path(json_t *paths, const char *path, const char *sid)
{
    json_t *list = json_object_get(paths, path);
    if (list == NULL)
        json_object_set_new(paths, path, list = json_array());
    if (!has(list, sid))
        json_array_append_new(list, json_string(sid));
}

/* Paths one session wrote or edited (Write/Edit calls), added to paths
 * (path -> [sids]); the operator messages it received (tells) appended to
 * tells as {ms, text} (text cut). */
static void
session_scan(wt_store_t *st, const char *sid, json_t *paths, json_t *tells)
{
    char key[128];
    wt_store_key(st, key, sizeof key, "session:%s:events", sid);
    redisReply *r =
        wt_redis_command(st->redis, NULL, "XRANGE %s - + COUNT %d", key, WT_GAPS_EVENTS_MAX);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        const char *type = wt_redis_field(e->element[1], "type");
        int edit = type && strcmp(type, "tool_call_started") == 0;
        int tell = type && strcmp(type, "message_received") == 0;
        if (!edit && !tell)
            continue;
        json_t *d = json_loads(wt_redis_field(e->element[1], "data") ?: "", 0, NULL);
        if (tell && json_array_size(tells) < WT_GAPS_TELLS_MAX) {
            char cut[WT_GAPS_TELL_CHARS + 1];
            snprintf(cut, sizeof cut, "%s", sget(d, "message"));
            json_array_append_new(
                tells, json_pack("{s:I,s:s}", "ms",
                                 (json_int_t)strtoll(e->element[0]->str, NULL, 10), "text", cut));
        }
        const char *tool = sget(d, "tool"), *path = sget(d, "args_summary");
        if (edit && paths && (strcmp(tool, "Write") == 0 || strcmp(tool, "Edit") == 0) && *path)
            add_path(paths, path, sid);
        json_decref(d);
    }
    if (r)
        freeReplyObject(r);
}

/* The files a session's delivered branch changed (<p>delivery:<sid> field
 * files, one path a line, written when the branch is pushed), added to
 * paths; its PR URL or branch to via (sid -> text). */
static void
session_delivery(wt_store_t *st, const char *sid, json_t *paths, json_t *via)
{
    char dk[128], hk[128];
    wt_store_key(st, dk, sizeof dk, "delivery:%s", sid);
    wt_store_key(st, hk, sizeof hk, "session:%s", sid);
    redisReply *d = wt_redis_command(st->redis, NULL, "HMGET %s files branch", dk);
    redisReply *h = wt_redis_command(st->redis, NULL, "HGET %s pr_url", hk);
    const char *files = d && d->type == REDIS_REPLY_ARRAY && d->elements == 2 &&
                                d->element[0]->type == REDIS_REPLY_STRING
                            ? d->element[0]->str
                            : NULL;
    const char *branch = d && d->type == REDIS_REPLY_ARRAY && d->elements == 2 &&
                                 d->element[1]->type == REDIS_REPLY_STRING
                             ? d->element[1]->str
                             : "";
    const char *pr = h && h->type == REDIS_REPLY_STRING ? h->str : "";
    if (files && *files) {
        char *copy = wt_xstrdup(files), *save = NULL;
        for (char *p = strtok_r(copy, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
            add_path(paths, p, sid);
        free(copy);
        char *what = *pr ? wt_xasprintf("PR %s", pr) : wt_xasprintf("branch %s", branch);
        json_object_set_new(via, sid, json_string(what));
        free(what);
    }
    if (d)
        freeReplyObject(d);
    if (h)
        freeReplyObject(h);
}

/* same_files: two or more sessions (their Write/Edit calls, or the files
 * their delivered branch changed) touching one path. */
static void
find_same_files(wt_store_t *st, json_t *sessions, json_t *tells, json_t *found)
{
    json_t *paths = json_object(), *via = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(sessions, i, s)
    {
        if (i >= WT_GAPS_FILES_SESSIONS)
            break;
        session_scan(st, sget(s, "id"), own_workflow(sget(s, "workflow")) ? NULL : paths, tells);
        if (!own_workflow(sget(s, "workflow")))
            session_delivery(st, sget(s, "id"), paths, via);
    }
    const char *path;
    json_t *list;
    json_object_foreach(paths, path, list)
    {
        if (json_array_size(list) < 2)
            continue;
        char ids[512] = "", shown[1024] = "";
        size_t k;
        json_t *x;
        json_array_foreach(list, k, x)
        {
            const char *sid = json_string_value(x);
            const char *how = json_string_value(json_object_get(via, sid));
            if (strlen(ids) + 28 < sizeof ids)
                snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%s", *ids ? "," : "", sid);
            snprintf(shown + strlen(shown), sizeof shown - strlen(shown), "%s%s%s%s%s",
                     *shown ? ", " : "", sid, how ? " (" : "", how ? how : "", how ? ")" : "");
        }
        char *key = wt_xasprintf("files:%.200s:%s", path, ids);
        char *summary =
            wt_xasprintf("%zu sessions touched %s: %s", json_array_size(list), path, shown);
        add(found, "same_files", key, summary, json_incref(list));
        free(key);
        free(summary);
    }
    json_decref(paths);
    json_decref(via);
}

/* Lower-cased, spaces squeezed, cut: the identity of an issue summary. */
static void
normalise(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    int space = 1;
    for (; *in && n + 1 < cap; in++) {
        if (isspace((unsigned char)*in)) {
            if (!space)
                out[n++] = ' ';
            space = 1;
        } else {
            out[n++] = (char)tolower((unsigned char)*in);
            space = 0;
        }
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* The newest WT_GAPS_ISSUES_MAX inbox entries (newest first), or NULL. */
static redisReply *
load_inbox(wt_store_t *st, wt_err_t *err)
{
    char key[96];
    wt_store_key(st, key, sizeof key, "inbox");
    return wt_redis_command(st->redis, err, "XREVRANGE %s + - COUNT %d", key, WT_GAPS_ISSUES_MAX);
}

static redisReply *
entry_fields(redisReply *inbox, size_t i)
{
    redisReply *e = inbox->element[i];
    return e->type == REDIS_REPLY_ARRAY && e->elements == 2 ? e->element[1] : NULL;
}

static void
find_repeated_issues(redisReply *inbox, json_t *found)
{
    json_t *by = json_object(); /* normalised summary -> [sids] */
    for (size_t i = 0; inbox->type == REDIS_REPLY_ARRAY && i < inbox->elements; i++) {
        redisReply *f = entry_fields(inbox, i);
        const char *kind = f ? wt_redis_field(f, "kind") : NULL;
        const char *sum = f ? wt_redis_field(f, "summary") : NULL;
        const char *sid = f ? wt_redis_field(f, "session") : NULL;
        if (!kind || strcmp(kind, "issue") != 0 || !sum || !sid)
            continue;
        char norm[128];
        normalise(sum, norm, sizeof norm);
        json_t *list = json_object_get(by, norm);
        if (list == NULL)
            json_object_set_new(by, norm, list = json_array());
        if (!has(list, sid) && json_array_size(list) < 20)
            json_array_insert_new(list, 0, json_string(sid)); /* oldest first */
    }
    const char *norm;
    json_t *list;
    json_object_foreach(by, norm, list)
    {
        if (json_array_size(list) < 2)
            continue;
        char *k = wt_xasprintf("issue:%s", norm);
        char *summary = wt_xasprintf("the issue \"%s\" was reported by %zu sessions", norm,
                                     json_array_size(list));
        add(found, "repeated_issue", k, summary, json_incref(list));
        free(k);
        free(summary);
    }
    json_decref(by);
}

/* 1 when text contains any of the non-empty refs. */
static int
mentions(const char *text, const char *const *refs, int n)
{
    for (int k = 0; k < n; k++)
        if (refs[k] && *refs[k] && strstr(text, refs[k]))
            return 1;
    return 0;
}

/* escalation_unacted: an inbox escalation (created at or after since_ms)
 * that nothing refers to: no ack entry (kind ack, field ref = the
 * escalation's entry id or run), no session created after it whose goal
 * names the entry id, its run or its session, and no later operator
 * message (tell) naming them. The watchdog's own sessions do not count. */
static void
find_unacted(redisReply *inbox, json_t *sessions, json_t *tells, int64_t since_ms, json_t *found)
{
    for (size_t i = 0; inbox->type == REDIS_REPLY_ARRAY && i < inbox->elements; i++) {
        redisReply *f = entry_fields(inbox, i);
        const char *kind = f ? wt_redis_field(f, "kind") : NULL;
        if (!kind || strcmp(kind, "escalation") != 0)
            continue;
        const char *id = inbox->element[i]->element[0]->str;
        int64_t at = strtoll(id, NULL, 10);
        if (at < since_ms)
            continue;
        const char *refs[] = {id, wt_redis_field(f, "run"), wt_redis_field(f, "session")};
        int acted = 0;
        for (size_t k = 0; k < i && !acted; k++) { /* newer entries: acks */
            redisReply *g = entry_fields(inbox, k);
            const char *gk = g ? wt_redis_field(g, "kind") : NULL;
            const char *ref = g ? wt_redis_field(g, "ref") : NULL;
            acted = gk && ref && strcmp(gk, "ack") == 0 && *ref &&
                    (strcmp(ref, refs[0]) == 0 || (refs[1] && strcmp(ref, refs[1]) == 0));
        }
        size_t k;
        json_t *x;
        json_array_foreach(sessions, k, x)
        {
            if (acted)
                break;
            acted = !own_workflow(sget(x, "workflow")) &&
                    json_integer_value(json_object_get(x, "created_ms")) > at &&
                    mentions(sget(x, "goal"), refs, 3);
        }
        json_array_foreach(tells, k, x)
        {
            if (acted)
                break;
            acted = json_integer_value(json_object_get(x, "ms")) > at &&
                    mentions(sget(x, "text"), refs, 3);
        }
        if (acted)
            continue;
        char *key = wt_xasprintf("escalation:%s", id);
        char run[80] = "";
        if (refs[1] && *refs[1])
            snprintf(run, sizeof run, " (run %.60s)", refs[1]);
        char *summary = wt_xasprintf("escalation %s%s has had no session, tell or ack since: %s",
                                     id, run, wt_redis_field(f, "summary") ?: "");
        add(found, "escalation_unacted", key, summary,
            refs[2] && *refs[2] ? json_pack("[s]", refs[2]) : json_array());
        if (refs[1] && *refs[1])
            json_object_set_new(json_array_get(found, json_array_size(found) - 1), "run",
                                json_string(refs[1]));
        free(key);
        free(summary);
    }
}

/* 1 when the prerequisite is done: a session that completed with success,
 * or an idea marked done; 0 otherwise (also when unknown). */
static int
prerequisite_done(wt_store_t *st, const char *req)
{
    char key[128];
    redisReply *r;
    int done = 0;
    if (wt_fleetq_sid_ok(req)) {
        wt_store_key(st, key, sizeof key, "session:%s", req);
        r = wt_redis_command(st->redis, NULL, "HMGET %s status outcome", key);
        done = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[0]->type == REDIS_REPLY_STRING &&
               r->element[1]->type == REDIS_REPLY_STRING &&
               strcmp(r->element[0]->str, "completed") == 0 &&
               strcmp(r->element[1]->str, "success") == 0;
    } else {
        wt_store_key(st, key, sizeof key, "ideas:done");
        r = wt_redis_command(st->redis, NULL, "HEXISTS %s %s", key, req);
        done = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    }
    if (r)
        freeReplyObject(r);
    return done;
}

/* idea_ready: a recorded idea with prerequisites (record_idea's requires),
 * not itself done, all of whose prerequisites are done. */
static void
find_ready_ideas(wt_store_t *st, json_t *found)
{
    char key[96];
    wt_store_key(st, key, sizeof key, "ideas");
    redisReply *r =
        wt_redis_command(st->redis, NULL, "XREVRANGE %s + - COUNT %d", key, WT_GAPS_IDEAS_MAX);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
            continue;
        const char *id = e->element[0]->str, *req = wt_redis_field(e->element[1], "requires");
        if (req == NULL || *req == '\0' || prerequisite_done(st, id))
            continue;
        char *copy = wt_xstrdup(req), *save = NULL;
        int all = 1;
        for (char *p = strtok_r(copy, ",", &save); p && all; p = strtok_r(NULL, ",", &save))
            all = prerequisite_done(st, p);
        free(copy);
        if (!all)
            continue;
        const char *by = wt_redis_field(e->element[1], "session");
        char *k = wt_xasprintf("idea:%s", id);
        char *summary = wt_xasprintf("the idea %s \"%.200s\" is ready: its prerequisites (%s) "
                                     "are all done",
                                     id, wt_redis_field(e->element[1], "title") ?: "", req);
        add(found, "idea_ready", k, summary, by && *by ? json_pack("[s]", by) : json_array());
        json_object_set_new(json_array_get(found, json_array_size(found) - 1), "idea",
                            json_string(id));
        free(k);
        free(summary);
    }
    if (r)
        freeReplyObject(r);
}

/* 1 when key is new (now marked in <p>gaps), 0 when reported before, -1 on error. */
static int
mark(wt_store_t *st, const char *key, wt_err_t *err)
{
    char zk[96], ts[24];
    wt_store_key(st, zk, sizeof zk, "gaps");
    snprintf(ts, sizeof ts, "%lld", (long long)wt_clock_now_ms());
    const char *argv[] = {"ZADD", zk, "NX", ts, key};
    redisReply *r = wt_redis_commandv(st->redis, 5, argv, NULL, err);
    if (r == NULL)
        return -1;
    int fresh = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return fresh;
}

/* Keeps the newest WT_GAPS_MARKS_MAX marks: <p>gaps stays bounded (a
 * finding older than all of them could be reported again). */
static void
prune(wt_store_t *st)
{
    char zk[96];
    wt_store_key(st, zk, sizeof zk, "gaps");
    redisReply *r =
        wt_redis_command(st->redis, NULL, "ZREMRANGEBYRANK %s 0 %d", zk, -(WT_GAPS_MARKS_MAX + 1));
    if (r)
        freeReplyObject(r);
}

json_t *
wt_gaps_scan(wt_store_t *st, int64_t since_ms, const char *by, wt_err_t *err)
{
    json_t *sessions = load_sessions(st, since_ms, err);
    if (sessions == NULL)
        return NULL;
    redisReply *inbox = load_inbox(st, err);
    if (inbox == NULL) {
        json_decref(sessions);
        return NULL;
    }
    json_t *found = json_array(), *tells = json_array();
    find_failed(sessions, found);
    find_same_files(st, sessions, tells, found);
    find_repeated_issues(inbox, found);
    find_unacted(inbox, sessions, tells, since_ms, found);
    find_ready_ideas(st, found);
    freeReplyObject(inbox);
    json_decref(tells);
    json_t *fresh = json_array();
    int old = 0;
    size_t i;
    json_t *g;
    json_array_foreach(found, i, g)
    {
        int m = mark(st, sget(g, "key"), err);
        if (m < 0) {
            json_decref(found);
            json_decref(fresh);
            json_decref(sessions);
            return NULL;
        }
        if (m == 0) {
            old++;
            continue;
        }
        char ids[512] = "";
        size_t k;
        json_t *x;
        json_array_foreach(json_object_get(g, "sessions"), k, x)
        {
            if (strlen(ids) + 28 >= sizeof ids)
                break;
            if (*ids)
                strcat(ids, ",");
            strcat(ids, json_string_value(x));
        }
        char cut[201];
        snprintf(cut, sizeof cut, "%s", sget(g, "summary"));
        const char *fields[] = {
            "session",  by ? by : "", "gap_kind", sget(g, "kind"), "summary", cut,
            "sessions", ids,          "key",      sget(g, "key"),  "run",     sget(g, "run")};
        if (wt_store_inbox_add(st, "gap", *sget(g, "run") ? 12 : 10, fields, err) != 0) {
            json_decref(found);
            json_decref(fresh);
            json_decref(sessions);
            return NULL;
        }
        json_array_append(fresh, g);
    }
    prune(st);
    json_t *out = json_pack("{s:o,s:i,s:I}", "new", fresh, "already_reported", old,
                            "sessions_scanned", (json_int_t)json_array_size(sessions));
    json_decref(found);
    json_decref(sessions);
    return out;
}
