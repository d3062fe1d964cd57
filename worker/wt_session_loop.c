/* wt_session_loop - turns of the conversation: ask the model, run the tools
 * it called, feed the results back. Stuck signals: the same tool with the
 * same arguments three times in a row (repeated_tool_call), 8 of the last 10
 * turns without an advanced step (no_progress), and the wall-clock deadline
 * being near (timeout_imminent, reported once), all kept in wt_stuck. With
 * the abort policy the first two end the session as stuck. A model that
 * gives no answer within the stall timeout (after the provider's retries)
 * is reported as agent_stuck stall and ends the session as timeout.
 *
 * Operator messages (`worktrain tell SID MESSAGE`) join the conversation as
 * user messages right before an LLM turn. The guarantee: one Lua script
 * moves a message from the session's tell list into a message_received
 * event (fenced by the lease epoch), so each message is either still
 * waiting or recorded exactly once - a crash cannot lose or duplicate it
 * there. A take whose reply was lost is retried with the same take number
 * and returns the same messages, so a recorded message reaches the run
 * that took it; if that run dies, the resumed run re-adds every recorded
 * message to its fresh conversation (wt_session.c, replay). So the agent
 * sees each message at least once per conversation, before the first turn
 * that starts after the message was stored and the worker next heard from
 * Redis. Messages still waiting when the session ends are dropped with its
 * tell list. Cost: appends report the list length, so the take is an
 * extra round trip only when messages wait. */
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_llm_replay.h"
#include "wt_log.h"
#include "wt_session_int.h"
#include "wt_tools.h"
#include "wt_tools_fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_CHARS     200
#define REPLY_TEXT_MAX    (16 * 1024) /* conversation reply text kept in llm_turn_completed */
#define USER_WAIT_POLL_MS 200         /* conversation: how often the tell list is looked at */
#define QUIT_MESSAGE      "/quit"     /* conversation: the user ended the talk */
#define ASK_TOLD_ROUNDS   3           /* takes before an LLM call's start is written anyway */

/* Adds n to one of the worker's counters (none when the env has none). */
#define COUNT(self, field, n)                                                                      \
    do {                                                                                           \
        if ((self)->env->counters)                                                                 \
            atomic_fetch_add_explicit(&(self)->env->counters->field, (uint_fast64_t)(n),           \
                                      memory_order_relaxed);                                       \
    } while (0)

static void
on_retry(void *ud, int attempt, long status, int64_t delay_ms, const char *why)
{
    wt_session_t *self = ud;
    COUNT(self, llm_retries, 1);
    wt_log_warn("session %s: llm retry %d in %lld ms (status %ld): %s", self->sid, attempt,
                (long long)delay_ms, status, why);
}

static int
stuck(wt_session_t *self, const char *reason, const char *detail)
{
    json_t *d = json_pack("{s:s,s:s,s:s}", "reason", reason, "detail", detail, "policy",
                          self->env->stuck_abort ? "abort" : "notify_only");
    const char *fields[] = {"stuck", reason}; /* the console lists it without an event scan */
    wt_session_emit(self, "agent_stuck", d, 1, 2, fields);
    if (!self->stuck_counted) { /* wt_sessions_stuck on the worker's /metrics */
        self->stuck_counted = 1;
        COUNT(self, stuck_flagged, 1);
    }
    return self->env->stuck_abort;
}

static json_t *
result_entry(const wt_llm_tool_call_t *c, const char *text, int is_error)
{
    return json_pack("{s:s,s:s,s:s,s:b}", "id", c->id, "name", c->name, "content", text, "is_error",
                     is_error);
}

int
wt_session_emit_skipped(wt_session_t *self)
{
    json_t *list = wt_wfrun_take_skipped(self->run);
    size_t i;
    json_t *e;
    int rc = 0;
    json_array_foreach(list, i, e)
    {
        if (rc == 0 && wt_session_defer(self, "step_skipped", json_incref(e), 0, 0, NULL) != 0)
            rc = -1;
    }
    json_decref(list);
    return rc;
}

/* complete_step: advances the cursor; the result presents the next step. */

/* --auto-commit: the step's work as one commit (subject the step title,
 * body its notes); nothing changed, no commit. A failure is reported and
 * the session goes on: the work stays in the worktree for the next commit. */
static void
auto_commit(wt_session_t *self, const char *title, const char *notes)
{
    if (!self->spec.url || !self->spec.auto_commit)
        return;
    int made = 0;
    char sha[41] = "";
    wt_err_t err = {0};
    if (wt_repo_commit(self->workspace, &self->spec, self->sid, title, notes, &made, sha, &err) !=
        0)
        wt_log_warn("session %s: auto-commit failed: %s", self->sid, err.msg);
    else if (made)
        wt_log_debug("session %s: committed %s '%s'", self->sid, sha, title);
}

static int
complete_step(wt_session_t *self, json_t *input, wt_tool_result_t *res)
{
    /* WorkRail's daemon checks the notes at the tool boundary, before the
     * engine and whatever the step says; its message, in characters. */
    const char *given = json_string_value(json_object_get(input, "notes"));
    size_t len = 0;
    for (const char *p = given ? given : ""; *p; p++)
        len += ((unsigned char)*p & 0xC0) != 0x80;
    if (len < (size_t)self->env->min_notes) {
        res->text = wt_xasprintf(
            "complete_step: notes is required and must be at least %d characters. Provide "
            "substantive notes describing what you did, what you produced, and any notable "
            "decisions. Current length: %zu characters.",
            self->env->min_notes, len);
        res->is_error = 1;
        return 0;
    }
    const char *from = wt_xstrdup(wt_wfrun_step_id(self->run));
    char *title = wt_xstrdup(wt_wfrun_step_title(self->run));
    wt_err_t err = {0};
    if (wt_wfrun_complete(self->run, input, &err) != 0) {
        res->text = wt_xasprintf("step '%s' is not complete: %s", from, err.msg);
        res->is_error = 1;
        free((char *)from);
        free(title);
        return 0;
    }
    json_t *ctx = json_object_get(input, "context"), *arts = json_object_get(input, "artifacts");
    const char *notes = json_string_value(json_object_get(input, "notes"));
    json_t *d = json_pack("{s:s,s:s,s:s,s:o,s:o}", "step", from, "next",
                          wt_wfrun_step_id(self->run), "notes", notes ? notes : "", "context",
                          json_is_object(ctx) ? json_incref(ctx) : json_object(), "artifacts",
                          json_is_array(arts) ? json_incref(arts) : json_array());
    const char *fields[] = {"step", wt_wfrun_done(self->run) ? "" : wt_wfrun_step_id(self->run)};
    free((char *)from);
    /* Deferred: stored before the next LLM call or tool (which commits),
     * or at once when an auto-commit follows: a git commit is made only
     * for a step whose step_advanced is durable. */
    int auto_git = self->spec.url && self->spec.auto_commit;
    if ((auto_git ? wt_session_emit : wt_session_defer)(self, "step_advanced", d, 1, 2, fields) !=
        0) {
        free(title);
        return -1;
    }
    auto_commit(self, title && *title ? title : "WorkTrain step", notes);
    free(title);
    if (wt_session_emit_skipped(self) != 0)
        return -1;
    if (wt_wfrun_done(self->run))
        res->text = wt_xstrdup("Step completed. The workflow is complete: nothing more to do.");
    else {
        char *next = wt_wfrun_render_step(self->run);
        res->text = wt_xasprintf("Step completed. Next step:\n\n%s", next);
        free(next);
    }
    return 1;
}

static int
report_issue(wt_session_t *self, json_t *input, wt_tool_result_t *res)
{
    const char *kind = json_string_value(json_object_get(input, "kind"));
    const char *sev = json_string_value(json_object_get(input, "severity"));
    const char *summary = json_string_value(json_object_get(input, "summary"));
    if (!kind || !sev || !summary) {
        res->text = wt_xstrdup("report_issue: kind, severity and summary (strings) are required");
        res->is_error = 1;
        return 0;
    }
    json_t *d = json_pack("{s:s,s:s,s:s}", "kind", kind, "severity", sev, "summary", summary);
    const char *fields[] = {"+issues", "1"}; /* the console's count, without an event scan */
    if (wt_session_emit(self, "issue_reported", d, 1, 2, fields) != 0)
        return -1;
    res->text = wt_xstrdup("issue recorded; continue with the step");
    return 0;
}

/* Runs one tool call with its events. Returns 1 when a step advanced, 0
 * otherwise, -1 when the session must stop (stale lease / Redis gone). */
static int
run_call(wt_session_t *self, const wt_llm_tool_call_t *c, json_t *results)
{
    char *summary = wt_tools_summary(c->input, SUMMARY_CHARS);
    /* in_tool marks the session as running a tool: if the worker dies now,
     * this session may be why, and only then is the run charged against
     * --max-attempts (the broker's requeue reads it). */
    const char *mark[] = {"in_tool", c->name};
    /* The workflow's own tools (complete_step, report_issue) act only on
     * the session: their events go with the next commit. Any other tool
     * is an outside action: everything before it is stored first. */
    int internal = strcmp(c->name, "complete_step") == 0 || strcmp(c->name, "report_issue") == 0;
    if ((internal ? wt_session_defer : wt_session_emit)(
            self, "tool_call_started",
            json_pack("{s:s,s:s}", "tool", c->name, "args_summary", summary), 0, 2, mark) != 0) {
        free(summary);
        return -1;
    }
    free(summary);
    COUNT(self, tool_calls, 1);
    int64_t t0 = wt_clock_mono_ms();
    wt_tool_result_t res = {0};
    int advanced = 0;
    char why[512];
    if (strcmp(c->name, "complete_step") == 0)
        advanced = complete_step(self, c->input, &res);
    else if (strcmp(c->name, "report_issue") == 0)
        advanced = report_issue(self, c->input, &res);
    else if (strcmp(c->name, "spawn_agent") == 0)
        advanced = wt_session_spawn_agent(self, c->input, &res);
    else if (wt_tools_fleet_is(c->name) && self->wf && wt_workflow_tool_enabled(self->wf, c->name))
        wt_tools_fleet_run(&self->store, self->sid, c->name, c->input, &res);
    else if (wt_session_workspace_ready(self, why, sizeof why) != 0) {
        res.text = wt_xasprintf("no workspace: %s", why);
        res.is_error = 1;
    } else {
        wt_tool_env_t tenv = {self->workspace,
                              &self->cancel,
                              self->env->bash_timeout_ms,
                              self->env->tool_env,
                              self->deadline_mono,
                              self->env->sandbox,
                              self->wf ? wt_workflow_network(self->wf) : 0};
        if (wt_tools_run(&tenv, c->name, c->input, &res) != 0) {
            res.text = wt_xasprintf("unknown tool '%s'", c->name);
            res.is_error = 1;
        }
    }
    if (advanced < 0) {
        wt_tool_result_release(&res);
        return -1;
    }
    int64_t ms = wt_clock_mono_ms() - t0;
    char *rs = wt_xstrndup(res.text ? res.text : "", SUMMARY_CHARS);
    json_t *d = res.is_error ? json_pack("{s:s,s:s,s:I}", "tool", c->name, "error", rs,
                                         "duration_ms", (json_int_t)ms)
                             : json_pack("{s:s,s:I,s:s}", "tool", c->name, "duration_ms",
                                         (json_int_t)ms, "result_summary", rs);
    free(rs);
    const char *unmark[] = {"in_tool", ""};
    int rc = wt_session_defer(self, res.is_error ? "tool_call_failed" : "tool_call_completed", d, 0,
                              2, unmark);
    json_array_append_new(results, result_entry(c, res.text ? res.text : "", res.is_error));
    wt_tool_result_release(&res);
    return rc != 0 ? -1 : advanced;
}

static json_t *
assistant_message(const wt_llm_reply_t *r)
{
    json_t *calls = json_array();
    for (size_t i = 0; i < r->ncalls; i++)
        json_array_append_new(calls, json_pack("{s:s,s:s,s:O}", "id", r->calls[i].id, "name",
                                               r->calls[i].name, "input", r->calls[i].input));
    return json_pack("{s:s,s:s,s:o}", "role", "assistant", "text", r->text ? r->text : "",
                     "tool_calls", calls);
}

/* Writes llm_turn_completed with the usage and the names of tools called. */
static int
record_turn(wt_session_t *self, const wt_llm_reply_t *r)
{
    json_t *names = json_array();
    for (size_t i = 0; i < r->ncalls; i++)
        json_array_append_new(names, json_string(r->calls[i].name));
    char in[24], out[24];
    snprintf(in, sizeof in, "%lld", (long long)r->input_tokens);
    snprintf(out, sizeof out, "%lld", (long long)r->output_tokens);
    const char *fields[] = {"+turns", "1", "+input_tokens", in, "+output_tokens", out};
    json_t *d =
        json_pack("{s:s,s:I,s:I,s:o,s:s,s:i}", "stop_reason", r->stop_reason, "input_tokens",
                  (json_int_t)r->input_tokens, "output_tokens", (json_int_t)r->output_tokens,
                  "tools", names, "model", r->model, "retries", r->retries);
    if (self->wf && wt_workflow_conversation(self->wf) && r->text && *r->text) {
        /* the reply `worktrain talk` prints (DESIGN.md 17), bounded */
        char *t = wt_xstrndup(r->text, REPLY_TEXT_MAX);
        json_t *text = json_string(t); /* NULL when the cut split a UTF-8 sequence */
        json_object_set_new(d, "text", text ? text : json_string(""));
        free(t);
    }
    return wt_session_defer(self, "llm_turn_completed", d, 0, 6, fields);
}

/* The outcome after a failed write: stale when the lease moved; otherwise
 * Redis stayed unreachable past the retry bound, and the session is handed
 * back (the broker requeues it and it resumes from its last stored step)
 * rather than failed for an outage that was not the agent's doing. */
static const char *
write_failure(wt_session_t *self, char *detail, size_t cap)
{
    if (self->stale)
        return "stale";
    if (!self->abandon)
        wt_log_error("session %s: %s; handing it back", self->sid,
                     self->write_error[0] ? self->write_error : "cannot write to redis");
    snprintf(detail, cap, "%s", self->write_error);
    return "handback";
}

/* Checks flags and limits before a turn: an outcome, or NULL to go on. */
static const char *
before_turn(wt_session_t *self, char *detail, size_t cap)
{
    if (self->abandon)
        return "handback";
    if (self->cancel) {
        snprintf(detail, cap, "cancelled by request");
        return "cancelled";
    }
    if (self->drain && self->at_boundary)
        return "handback"; /* SIGTERM: stop between steps; the drain deadline covers the rest */
    int64_t left = self->deadline_mono - wt_clock_mono_ms();
    if (left <= 0) {
        snprintf(detail, cap, "wall-clock limit of %lld ms reached", (long long)self->timeout_ms);
        return "timeout";
    }
    if (wt_stuck_deadline(&self->stuck, left, self->timeout_ms)) {
        char d[128];
        snprintf(d, sizeof d, "%lld ms of %lld ms left", (long long)left,
                 (long long)self->timeout_ms);
        stuck(self, "timeout_imminent", d);
        if (self->stale)
            return "stale";
    }
    if (self->turns_used >= self->max_turns) {
        snprintf(detail, cap, "max_turns %d reached", self->max_turns);
        return "error";
    }
    return NULL;
}

/* Adds waiting operator messages to the conversation; -1 when the lease
 * moved. A Redis error is only logged: the messages wait for the next turn. */
static int
take_tells(wt_session_t *self)
{
    wt_err_t err = {0};
    json_t *msgs = wt_events_take_tells(&self->events, &err);
    if (msgs == NULL) {
        if (self->events.stale) {
            self->stale = 1;
            return -1;
        }
        wt_log_warn("session %s: operator messages wait for the next turn: %s", self->sid, err.msg);
        return 0;
    }
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        if (self->wf && wt_workflow_conversation(self->wf) &&
            strcmp(json_string_value(m), QUIT_MESSAGE) == 0) {
            self->quit = 1; /* recorded as message_received; ends the talk before the next turn */
            continue;
        }
        json_array_append_new(self->messages, wt_session_operator_message(json_string_value(m)));
    }
    if (json_array_size(msgs))
        wt_log_info("session %s: %zu operator message(s) delivered", self->sid,
                    json_array_size(msgs));
    json_decref(msgs);
    return 0;
}

/* One LLM call with its events. NULL with reply filled, or an outcome. */
static const char *
ask(wt_session_t *self, wt_llm_reply_t *reply, char *detail, size_t cap)
{
    /* agentConfig in the session context (set by triggers, or by a spawn
     * with --context-json): an explicit model wins; a modelTier counts
     * unless the current step names its own; stallTimeoutSeconds replaces
     * the worker's --stall-timeout for this session. */
    json_t *ac = json_object_get(self->context0, "agentConfig");
    const char *ac_model = json_string_value(json_object_get(ac, "model"));
    const char *ac_tier = json_string_value(json_object_get(ac, "modelTier"));
    json_int_t ac_stall = json_integer_value(json_object_get(ac, "stallTimeoutSeconds"));
    const char *tier = wt_wfrun_step_model_tier(self->run);
    if (tier == NULL)
        tier = ac_tier && wt_llm_tier_valid(ac_tier) ? ac_tier : wt_wfrun_model_tier(self->run);
    const char *model = ac_model && *ac_model ? ac_model : wt_llm_model_for(self->env->llm, tier);
    /* The LLM call is an outside action: this turn's start and whatever
     * the last turn deferred are stored first, in one round trip, unless
     * operator messages wait then: they are taken into the conversation
     * first and the start is sent again (after a few rounds of that, as a
     * plain write: messages told meanwhile wait for the next turn). */
    for (int round = 0;; round++) {
        if (take_tells(self) != 0)
            return "stale";
        if (self->quit) {
            snprintf(detail, cap, "conversation ended by the user");
            return "success";
        }
        json_t *d = json_pack("{s:s,s:i,s:i}", "model", model, "messages",
                              (int)json_array_size(self->messages), "turn", self->turn);
        int told = 0;
        if (round < ASK_TOLD_ROUNDS
                ? wt_session_commit_unless_told(self, "llm_turn_started", d, &told) != 0
                : (wt_session_defer(self, "llm_turn_started", d, 0, 0, NULL) != 0 ||
                   wt_session_commit(self) != 0))
            return write_failure(self, detail, cap);
        if (!told)
            break;
    }
    wt_llm_request_t req = {.system = self->system,
                            .messages = self->messages,
                            .tools = self->tools,
                            .tier = tier,
                            .model = ac_model && *ac_model ? ac_model : NULL,
                            .timeout_ms =
                                ac_stall > 0 && ac_stall <= 3600 ? (int)ac_stall * 1000 : 0,
                            .turn = self->turn,
                            .session = self->sid,
                            .goal = self->goal,
                            .on_retry = on_retry,
                            .ud = self,
                            .cancel = &self->cancel,
                            .cancel_fd = self->cancel_fd,
                            .workflow = self->workflow_id,
                            .context = self->context0};
    wt_err_t err = {0};
    int rc = wt_llm_replay_complete(self->env->llm, &req, self->context0, reply, &err);
    self->turn++;
    self->turns_used++;
    COUNT(self, llm_calls, 1);
    if (rc == 0) {
        COUNT(self, input_tokens, reply->input_tokens > 0 ? reply->input_tokens : 0);
        COUNT(self, output_tokens, reply->output_tokens > 0 ? reply->output_tokens : 0);
        if (record_turn(self, reply) != 0) {
            wt_llm_reply_release(reply);
            return write_failure(self, detail, cap);
        }
        return NULL;
    }
    wt_llm_reply_release(reply);
    if (self->abandon)
        return "handback";
    if (self->cancel) {
        snprintf(detail, cap, "cancelled by request");
        return "cancelled";
    }
    wt_session_emit(self, "tool_call_failed",
                    json_pack("{s:s,s:s}", "tool", "llm", "error", err.msg), 0, 0, NULL);
    if (err.code == WT_ETIMEDOUT) {
        stuck(self, "stall", err.msg);
        snprintf(detail, cap, "stall: no answer from the model: %s", err.msg);
        return "timeout";
    }
    snprintf(detail, cap, "llm call failed: %s", err.msg);
    return "error";
}

/* Runs the tool calls of one reply; the results go back as one message.
 * Returns 1 when a step advanced, 0 if not, -1 when a write failed. */
static int
act(wt_session_t *self, const wt_llm_reply_t *reply, int *repeat_hit)
{
    int advanced = 0, halt = 0;
    json_t *results = json_array();
    for (size_t i = 0; i < reply->ncalls && !halt && !self->cancel; i++) {
        int hit = wt_stuck_tool_call(&self->stuck, reply->calls[i].name, reply->calls[i].input);
        int r = run_call(self, &reply->calls[i], results);
        if (r < 0)
            halt = 1;
        else
            advanced |= r;
        /* A call that advanced the workflow is progress however often its
         * arguments repeat (successive steps completed with the same short
         * notes): it neither counts nor fires as a repeat. */
        if (r > 0)
            wt_stuck_progress(&self->stuck);
        else if (hit)
            *repeat_hit = 1;
    }
    if (json_array_size(results))
        json_array_append_new(self->messages,
                              json_pack("{s:s,s:o}", "role", "tool", "results", results));
    else
        json_decref(results);
    return halt ? -1 : advanced;
}

/* Conversation workflows: after a reply without tool calls, waits until the
 * user's next message is in the tell list (polled: the take is a script,
 * so there is no list to block on), or a stop, drain or the deadline. */
static void
wait_user(wt_session_t *self)
{
    char key[128];
    wt_store_key(&self->store, key, sizeof key, "session:%s:tell", self->sid);
    /* the reply (llm_turn_completed) is what `talk` prints: waiting for the
     * user is an outside action, so the deferred events go out first; a
     * failed write is left in stale/write_error for the next turn to end on */
    if (wt_session_commit(self) != 0)
        return;
    self->at_boundary = 1; /* a drain may hand a waiting talk back */
    while (!self->cancel && !self->drain && !self->abandon &&
           wt_clock_mono_ms() < self->deadline_mono) {
        redisReply *r = wt_redis_command(self->redis, NULL, "LLEN %s", key);
        long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        if (r)
            freeReplyObject(r);
        if (n > 0) {
            self->events.tells_waiting = n; /* the take runs only when it knows some wait */
            return;
        }
        wt_clock_sleep_ms(USER_WAIT_POLL_MS);
    }
}

static void
nudge(wt_session_t *self, const char *stop_reason)
{
    const char *text = strcmp(stop_reason, "max_tokens") == 0
                           ? "Your reply was cut off at the token limit. Continue, more briefly, "
                             "and call complete_step when the step is done."
                           : "Continue: call complete_step when the step is done.";
    json_array_append_new(self->messages, json_pack("{s:s,s:s}", "role", "user", "content", text));
}

/* Stuck signals after a turn: an outcome under the abort policy, or NULL. */
static const char *
after_turn(wt_session_t *self, int advanced, int repeat_hit, char *detail, size_t cap)
{
    if (repeat_hit && stuck(self, "repeated_tool_call", wt_stuck_last_call(&self->stuck))) {
        snprintf(detail, cap, "repeated_tool_call: %s", wt_stuck_last_call(&self->stuck));
        return "stuck";
    }
    if (wt_stuck_turn(&self->stuck, advanced) &&
        stuck(self, "no_progress", "8 of the last 10 turns advanced no step")) {
        snprintf(detail, cap, "no_progress: 8 of the last 10 turns advanced no step");
        return "stuck";
    }
    if (self->stale)
        return "stale";
    return NULL;
}

const char *
wt_session_loop(wt_session_t *self, char *detail, size_t cap)
{
    while (!wt_wfrun_done(self->run)) {
        const char *outcome = before_turn(self, detail, cap);
        if (outcome)
            return outcome;
        wt_llm_reply_t reply;
        if ((outcome = ask(self, &reply, detail, cap)) != NULL)
            return outcome;
        json_array_append_new(self->messages, assistant_message(&reply));
        int repeat_hit = 0;
        int advanced = act(self, &reply, &repeat_hit);
        self->at_boundary = advanced > 0;
        char stop_reason[32];
        wt_strlcpy(stop_reason, reply.stop_reason, sizeof stop_reason);
        size_t ncalls = reply.ncalls;
        wt_llm_reply_release(&reply);
        if (advanced < 0)
            return write_failure(self, detail, cap);
        if (self->abandon)
            return "handback";
        if (wt_wfrun_done(self->run))
            break;
        if (self->cancel) {
            snprintf(detail, cap, "cancelled by request");
            return "cancelled";
        }
        int conversation = self->wf && wt_workflow_conversation(self->wf);
        if (ncalls == 0 && conversation && strcmp(stop_reason, "max_tokens") != 0) {
            wait_user(self);
            advanced = 1; /* a reply to the user is progress, not a stuck turn */
        } else if (ncalls == 0)
            nudge(self, stop_reason);
        if ((outcome = after_turn(self, advanced, repeat_hit, detail, cap)) != NULL)
            return outcome;
    }
    detail[0] = '\0';
    return "success";
}
