/* wt_tools_fleet - argument checking and definitions of the fleet knowledge
 * tools; the Redis reads live in common/wt_fleetq. */
#include "wt_tools_fleet.h"

#include "wt_alloc.h"
#include "wt_fleetq.h"
#include "wt_forge.h"
#include "wt_gaps.h"
#include "wt_tools_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"fleet_sessions", "session_notes", "fleet_status", "inbox_read",
                                    "record_idea",    "idea_done",     "fleet_gaps"};
#define NNAMES (sizeof names / sizeof *names)

int
wt_tools_fleet_is(const char *name)
{
    for (size_t i = 0; i < NNAMES; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

#define STR(d)  json_pack("{s:s,s:s}", "type", "string", "description", d)
#define INT(d)  json_pack("{s:s,s:s}", "type", "integer", "description", d)
#define BOOL(d) json_pack("{s:s,s:s}", "type", "boolean", "description", d)

static json_t *
def(const char *name, const char *desc, json_t *props, json_t *required)
{
    return json_pack("{s:s,s:s,s:{s:s,s:o,s:o}}", "name", name, "description", desc, "input_schema",
                     "type", "object", "properties", props, "required", required);
}

static json_t *
definition(const char *name)
{
    if (strcmp(name, "fleet_sessions") == 0)
        return def(name,
                   "Find fleet sessions, newest first: text (in goal, notes, output or error), "
                   "status, outcome, workflow, run, created time range. Paged: pass next_cursor "
                   "back as cursor. Read-only.",
                   json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "text",
                             STR("case-insensitive substring"), "status",
                             STR("queued running completed failed cancelled"), "outcome",
                             STR("success error timeout stuck cancelled"), "workflow",
                             STR("workflow id"), "run", STR("coordinator run id"), "since_ms",
                             INT("created at or after (Unix ms)"), "until_ms",
                             INT("created at or before (Unix ms)"), "cursor",
                             STR("next_cursor of the previous page"), "limit",
                             INT("sessions per page, 1..50 (default 20)")),
                   json_array());
    if (strcmp(name, "session_notes") == 0)
        return def(name,
                   "A session's step notes, reported issues, status and output context. "
                   "Read-only.",
                   json_pack("{s:o}", "session", STR("the session id (26-char ULID)")),
                   json_pack("[s]", "session"));
    if (strcmp(name, "fleet_status") == 0)
        return def(name,
                   "The fleet now: queue length, in-flight sessions with their step and latest "
                   "note, workers. Read-only.",
                   json_object(), json_array());
    if (strcmp(name, "inbox_read") == 0)
        return def(name,
                   "Recent operator inbox entries, newest first (kinds: completion issue "
                   "escalation pipeline idea gap). Read-only.",
                   json_pack("{s:o,s:o,s:o}", "kind", STR("only this kind"), "limit",
                             INT("entries, 1..50 (default 20)"), "cursor",
                             STR("next_cursor of the previous page")),
                   json_array());
    if (strcmp(name, "fleet_gaps") == 0)
        return def(name,
                   "The watchdog's scan: sessions that failed with no follow-up, sessions or "
                   "delivered branches/PRs that touched the same files, issues reported more "
                   "than once, escalations nobody acted on (no later session, tell or ack "
                   "naming them), ideas whose prerequisites are all done. Returns only findings "
                   "not reported before, and records each (an inbox entry of kind gap) so the "
                   "next scan does not report it again.",
                   json_pack("{s:o}", "since_ms",
                             INT("only sessions created at or after (Unix ms); default all")),
                   json_array());
    if (strcmp(name, "idea_done") == 0)
        return def(name,
                   "Mark a recorded idea done (built, or dropped): ideas that require it count "
                   "it as a finished prerequisite.",
                   json_pack("{s:o}", "idea", STR("the idea id record_idea returned (MS-SEQ)")),
                   json_pack("[s]", "idea"));
    return def(name,
               "Record an idea for later: an 'idea' entry in the operator inbox and the fleet's "
               "idea list.",
               json_pack("{s:o,s:o,s:o,s:o,s:o}", "title", STR("one line, at most 200 bytes"),
                         "body", STR("the idea, at most 4000 bytes"), "tags",
                         json_pack("{s:s,s:{s:s}}", "type", "array", "items", "type", "string"),
                         "requires",
                         json_pack("{s:s,s:s,s:{s:s}}", "type", "array", "description",
                                   "prerequisites, at most 10: session ids (done when they "
                                   "succeed) or idea ids (done when marked with idea_done)",
                                   "items", "type", "string"),
                         "open_issue",
                         BOOL("also file it as an issue on the forge (when one is configured)")),
               json_pack("[s,s]", "title", "body"));
}

void
wt_tools_fleet_add_definitions(json_t *defs, const wt_workflow_t *wf)
{
    for (size_t i = 0; wf && i < NNAMES; i++)
        if (wt_workflow_tool_enabled(wf, names[i]))
            json_array_append_new(defs, definition(names[i]));
}

/* Argument readers: 0 and *out set (or left when absent), -1 with the tool
 * error filled when present with the wrong type or out of range. */
static int
arg_str(json_t *args, const char *tool, const char *key, size_t max, const char **out,
        wt_tool_result_t *res)
{
    json_t *v = json_object_get(args, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return wt_tools_fail(res, "%s: '%s' must be a string", tool, key), -1;
    if (strlen(json_string_value(v)) > max)
        return wt_tools_fail(res, "%s: '%s' longer than %zu bytes", tool, key, max), -1;
    *out = json_string_value(v);
    return 0;
}

static int
arg_int(json_t *args, const char *tool, const char *key, json_int_t lo, json_int_t hi,
        json_int_t *out, wt_tool_result_t *res)
{
    json_t *v = json_object_get(args, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return wt_tools_fail(res, "%s: '%s' must be an integer", tool, key), -1;
    if (json_integer_value(v) < lo || json_integer_value(v) > hi)
        return wt_tools_fail(res, "%s: '%s' is %lld, out of range %lld..%lld", tool, key,
                             (long long)json_integer_value(v), (long long)lo, (long long)hi),
               -1;
    *out = json_integer_value(v);
    return 0;
}

/* Fills res with j's JSON (stolen), or the error. */
static int
answer(wt_tool_result_t *res, const char *tool, json_t *j, const wt_err_t *err)
{
    if (j == NULL)
        return wt_tools_fail(res, "%s: %s", tool, err->msg);
    res->text = wt_fleetq_dump(j);
    json_decref(j);
    return 0;
}

static int
sessions(wt_store_t *st, json_t *a, wt_tool_result_t *res)
{
    const char *t = "fleet_sessions";
    wt_fleetq_filter_t f = {0};
    json_int_t since = 0, until = 0, limit = 20;
    if (arg_str(a, t, "text", 200, &f.text, res) || arg_str(a, t, "status", 32, &f.status, res) ||
        arg_str(a, t, "outcome", 32, &f.outcome, res) ||
        arg_str(a, t, "workflow", 128, &f.workflow, res) || arg_str(a, t, "run", 64, &f.run, res) ||
        arg_str(a, t, "cursor", 64, &f.cursor, res) ||
        arg_int(a, t, "since_ms", 0, INT64_C(1) << 50, &since, res) ||
        arg_int(a, t, "until_ms", 0, INT64_C(1) << 50, &until, res) ||
        arg_int(a, t, "limit", 1, WT_FLEETQ_LIMIT_MAX, &limit, res))
        return 0;
    f.since_ms = since;
    f.until_ms = until;
    f.limit = (int)limit;
    wt_err_t err = {0};
    return answer(res, t, wt_fleetq_sessions(st, &f, &err), &err);
}

/* Files the idea as an issue on the forge named by WORKTRAIN_IDEAS_FORGE
 * ("github:OWNER/NAME" or "gitlab:GROUP/PROJECT"; token and API base as
 * for delivery, DESIGN.md 15) and says how it went in out's "issue"
 * (the URL) or "issue_error". The idea is recorded either way. */
static void
file_issue(const char *title, const char *body, const char *labels, json_t *out)
{
    const char *where = getenv("WORKTRAIN_IDEAS_FORGE");
    const char *colon = where ? strchr(where, ':') : NULL;
    char forge[16] = "";
    if (colon && (size_t)(colon - where) < sizeof forge)
        snprintf(forge, sizeof forge, "%.*s", (int)(colon - where), where);
    if (where == NULL || *where == '\0') {
        json_object_set_new(out, "issue_error",
                            json_string("not filed: no forge is configured for this worker "
                                        "(WORKTRAIN_IDEAS_FORGE=github:OWNER/NAME)"));
        return;
    }
    if ((strcmp(forge, "github") != 0 && strcmp(forge, "gitlab") != 0) || !strchr(colon, '/')) {
        json_object_set_new(out, "issue_error",
                            json_string("not filed: WORKTRAIN_IDEAS_FORGE must be "
                                        "github:OWNER/NAME or gitlab:GROUP/PROJECT"));
        return;
    }
    wt_err_t err = {0};
    wt_forge_result_t r;
    wt_http_t *http = wt_http_new(&err);
    if (http == NULL ||
        wt_forge_issue(http, forge, colon + 1, title, body, labels, &r, &err) != 0) {
        char *msg = wt_xasprintf("not filed: %s", err.msg);
        json_object_set_new(out, "issue_error", json_string(msg));
        free(msg);
    } else {
        json_object_set_new(out, "issue", json_string(r.url));
        json_object_set_new(out, "issue_number", json_integer(r.number));
    }
    wt_http_destroy(&http);
}

static int
record_idea(wt_store_t *st, const char *session, json_t *a, wt_tool_result_t *res)
{
    const char *t = "record_idea", *title = NULL, *body = NULL;
    if (arg_str(a, t, "title", WT_FLEETQ_IDEA_TITLE, &title, res) ||
        arg_str(a, t, "body", WT_FLEETQ_IDEA_BODY, &body, res))
        return 0;
    if (title == NULL || *title == '\0' || body == NULL)
        return wt_tools_fail(res, "%s: 'title' (non-empty) and 'body' (strings) are required", t);
    json_t *tags = json_object_get(a, "tags"), *open = json_object_get(a, "open_issue");
    if (tags && !json_is_array(tags) && !json_is_null(tags))
        return wt_tools_fail(res, "%s: 'tags' must be an array of strings", t);
    if (open && !json_is_boolean(open) && !json_is_null(open))
        return wt_tools_fail(res, "%s: 'open_issue' must be true or false", t);
    char joined[256] = "";
    size_t i;
    json_t *tg;
    json_array_foreach(tags, i, tg)
    {
        if (!json_is_string(tg) || strchr(json_string_value(tg), ','))
            return wt_tools_fail(res, "%s: tags[%zu] must be a string without commas", t, i);
        if (strlen(joined) + strlen(json_string_value(tg)) + 2 > sizeof joined)
            return wt_tools_fail(res, "%s: tags longer than %zu bytes in all", t,
                                 sizeof joined - 1);
        if (*joined)
            strcat(joined, ",");
        strcat(joined, json_string_value(tg));
    }
    json_t *reqs = json_object_get(a, "requires");
    if (reqs && !json_is_array(reqs) && !json_is_null(reqs))
        return wt_tools_fail(res, "%s: 'requires' must be an array of session or idea ids", t);
    if (json_array_size(reqs) > WT_TOOLS_FLEET_REQUIRES_MAX)
        return wt_tools_fail(res, "%s: 'requires' has %zu entries, at most %d", t,
                             json_array_size(reqs), WT_TOOLS_FLEET_REQUIRES_MAX);
    char needs[WT_TOOLS_FLEET_REQUIRES_MAX * 48] = "";
    json_t *rq;
    json_array_foreach(reqs, i, rq)
    {
        const char *v = json_string_value(rq);
        if (v == NULL || (!wt_fleetq_sid_ok(v) && !wt_fleetq_idea_id_ok(v)))
            return wt_tools_fail(res,
                                 "%s: requires[%zu] must be a session id (26-char ULID) or an "
                                 "idea id (MS-SEQ)",
                                 t, i);
        if (*needs)
            strcat(needs, ",");
        strcat(needs, v);
    }
    char id[48];
    wt_err_t err = {0};
    if (wt_fleetq_record_idea(st, title, body, joined, needs, session, id, sizeof id, &err) != 0)
        return wt_tools_fail(res, "%s: %s", t, err.msg);
    json_t *out = json_pack("{s:s,s:b}", "idea", id, "recorded", 1);
    if (json_is_true(open))
        file_issue(title, body, joined, out);
    res->text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return 0;
}

int
wt_tools_fleet_run(wt_store_t *st, const char *session, const char *name, json_t *args,
                   wt_tool_result_t *out)
{
    out->text = NULL;
    out->is_error = 0;
    if (!wt_tools_fleet_is(name))
        return -1;
    if (!json_is_object(args))
        return wt_tools_fail(out, "%s: arguments must be a JSON object", name);
    wt_err_t err = {0};
    if (strcmp(name, "fleet_sessions") == 0)
        return sessions(st, args, out);
    if (strcmp(name, "session_notes") == 0) {
        const char *sid = NULL;
        if (arg_str(args, name, "session", 64, &sid, out))
            return 0;
        if (sid == NULL)
            return wt_tools_fail(out, "session_notes: 'session' (a session id) is required");
        return answer(out, name, wt_fleetq_notes(st, sid, &err), &err);
    }
    if (strcmp(name, "fleet_status") == 0)
        return answer(out, name, wt_fleetq_status(st, &err), &err);
    if (strcmp(name, "inbox_read") == 0) {
        const char *kind = NULL, *cursor = NULL;
        json_int_t limit = 20;
        if (arg_str(args, name, "kind", 31, &kind, out) ||
            arg_str(args, name, "cursor", 48, &cursor, out) ||
            arg_int(args, name, "limit", 1, WT_FLEETQ_LIMIT_MAX, &limit, out))
            return 0;
        return answer(out, name, wt_fleetq_inbox(st, kind, (int)limit, cursor, &err), &err);
    }
    if (strcmp(name, "idea_done") == 0) {
        const char *idea = NULL;
        if (arg_str(args, name, "idea", 48, &idea, out))
            return 0;
        if (idea == NULL)
            return wt_tools_fail(out, "idea_done: 'idea' (an idea id) is required");
        if (wt_fleetq_idea_done(st, idea, session, &err) != 0)
            return wt_tools_fail(out, "idea_done: %s", err.msg);
        out->text = wt_xasprintf("{\"idea\":\"%s\",\"done\":true}", idea);
        return 0;
    }
    if (strcmp(name, "fleet_gaps") == 0) {
        json_int_t since = 0;
        if (arg_int(args, name, "since_ms", 0, INT64_C(1) << 50, &since, out))
            return 0;
        json_t *j = wt_gaps_scan(st, since, session, &err);
        /* every finding is recorded; the answer lists what fits the budget */
        json_t *fresh = json_object_get(j, "new");
        while (j && json_array_size(fresh) > 0 &&
               json_dumpb(j, NULL, 0, JSON_COMPACT) > WT_FLEETQ_BUDGET_BYTES) {
            json_array_remove(fresh, json_array_size(fresh) - 1);
            json_object_set_new(j, "truncated", json_true());
        }
        return answer(out, name, j, &err);
    }
    return record_idea(st, session, args, out);
}
