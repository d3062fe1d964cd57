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

/* Paths one session wrote or edited, added to paths (path -> [sids]). */
static void
session_edits(wt_store_t *st, const char *sid, json_t *paths)
{
    char key[128];
    wt_store_key(st, key, sizeof key, "session:%s:events", sid);
    redisReply *r =
        wt_redis_command(st->redis, NULL, "XRANGE %s - + COUNT %d", key, WT_GAPS_EVENTS_MAX);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        const char *type = wt_redis_field(e->element[1], "type");
        if (type == NULL || strcmp(type, "tool_call_started") != 0)
            continue;
        json_t *d = json_loads(wt_redis_field(e->element[1], "data") ?: "", 0, NULL);
        const char *tool = sget(d, "tool"), *path = sget(d, "args_summary");
        if ((strcmp(tool, "Write") == 0 || strcmp(tool, "Edit") == 0) && *path) {
            json_t *list = json_object_get(paths, path);
            if (list == NULL)
                json_object_set_new(paths, path, list = json_array());
            if (!has(list, sid))
                json_array_append_new(list, json_string(sid));
        }
        json_decref(d);
    }
    if (r)
        freeReplyObject(r);
}

static void
find_same_files(wt_store_t *st, json_t *sessions, json_t *found)
{
    json_t *paths = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(sessions, i, s)
    {
        if (i >= WT_GAPS_FILES_SESSIONS)
            break;
        if (!own_workflow(sget(s, "workflow")))
            session_edits(st, sget(s, "id"), paths);
    }
    const char *path;
    json_t *list;
    json_object_foreach(paths, path, list)
    {
        if (json_array_size(list) < 2)
            continue;
        char ids[512] = "";
        size_t k;
        json_t *x;
        json_array_foreach(list, k, x)
        {
            if (strlen(ids) + 28 >= sizeof ids)
                break;
            if (*ids)
                strcat(ids, ",");
            strcat(ids, json_string_value(x));
        }
        char *key = wt_xasprintf("files:%.200s:%s", path, ids);
        char *summary =
            wt_xasprintf("%zu sessions edited %s: %s", json_array_size(list), path, ids);
        add(found, "same_files", key, summary, json_incref(list));
        free(key);
        free(summary);
    }
    json_decref(paths);
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

static void
find_repeated_issues(wt_store_t *st, json_t *found)
{
    char key[96];
    wt_store_key(st, key, sizeof key, "inbox");
    redisReply *r =
        wt_redis_command(st->redis, NULL, "XREVRANGE %s + - COUNT %d", key, WT_GAPS_ISSUES_MAX);
    json_t *by = json_object(); /* normalised summary -> [sids] */
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        const char *kind = wt_redis_field(f, "kind"), *sum = wt_redis_field(f, "summary");
        const char *sid = wt_redis_field(f, "session");
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
    if (r)
        freeReplyObject(r);
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
    json_t *found = json_array();
    find_failed(sessions, found);
    find_same_files(st, sessions, found);
    find_repeated_issues(st, found);
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
        const char *fields[] = {"session", by ? by : "",  "gap_kind", sget(g, "kind"),
                                "summary", cut,           "sessions", ids,
                                "key",     sget(g, "key")};
        if (wt_store_inbox_add(st, "gap", 10, fields, err) != 0) {
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
