/* wt_session - the agent loop.
 *
 * A session is one conversation, as in WorkRail's daemon: the first user
 * message presents the goal and the first step; each complete_step tool
 * result presents the next step. Steps advance only through complete_step,
 * and every step_advanced event records exactly what the agent submitted
 * (notes, context delta, artifacts), so a session resumed on another worker
 * rebuilds its position by replaying those events into a fresh run cursor
 * rather than trusting any snapshot. Limits (turns, wall clock) and stuck
 * signals each end the session with one session_completed carrying the
 * right outcome. */
#include "wt_session.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_deliver.h"
#include "wt_fleetq.h"
#include "wt_log.h"
#include "wt_prompt.h"
#include "wt_session_int.h"
#include "wt_tools.h"
#include "wt_tools_fleet.h"
#include "wt_workspace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

wt_session_t *
wt_session_new(const wt_session_env_t *env, const wt_msg_t *a)
{
    wt_session_t *self = wt_xcalloc(1, sizeof *self);
    self->env = env;
    /* An LLM call sleeps on the slot's eventfd instead of waking every
     * second to look at cancel (issue 18): lent at launch. */
    self->cancel_fd = -1;
    wt_strlcpy(self->sid, a->session, sizeof self->sid);
    self->workflow_id = wt_xstrdup(a->workflow);
    self->goal = wt_xstrdup(a->goal ? a->goal : "");
    self->context_json = wt_xstrdup(a->context_json && *a->context_json ? a->context_json : "{}");
    self->workspace_repo = a->workspace ? wt_xstrdup(a->workspace) : NULL;
    wt_err_t serr = {0};
    if (wt_repo_spec_parse(a->workspace, &self->spec, &serr) < 0)
        snprintf(self->spec_error, sizeof self->spec_error, "%s", serr.msg);
    self->epoch = a->epoch;
    self->at_boundary = 1; /* a session that has not begun its step may be handed back */
    wt_events_init(&self->events, &self->store, self->sid, a->epoch);
    self->events.min_replicas = env->min_replicas;
    self->attempt = a->attempt;
    self->depth = a->depth;
    self->max_turns = a->max_turns > 0 ? a->max_turns : env->default_max_turns;
    self->timeout_ms = a->timeout_ms > 0 ? a->timeout_ms : env->default_timeout_ms;
    return self;
}

void
wt_session_destroy(wt_session_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_session_t *self = *self_p;
    wt_events_release(&self->events);
    uint64_t n;
    if (self->cancel && self->cancel_fd >= 0 && read(self->cancel_fd, &n, sizeof n) < 0)
        wt_log_debug("session %s: cancel fd drain: %s", self->sid, strerror(errno));
    free(self->workflow_id);
    free(self->goal);
    free(self->context_json);
    json_decref(self->context0);
    free(self->workspace_repo);
    free(self->workspace);
    wt_repo_spec_release(&self->spec);
    if (!self->system_shared)
        free(self->system);
    json_decref(self->messages);
    json_decref(self->tools);
    wt_wfrun_destroy(&self->run);
    if (!self->redis_lent)
        wt_redis_destroy(&self->redis);
    free(self);
    *self_p = NULL;
}

const char *
wt_session_id(const wt_session_t *self)
{
    return self->sid;
}

void
wt_session_renew(wt_session_t *self, int64_t epoch)
{
    /* Only the main thread renews; the session thread reads it atomically. */
    if (epoch > __atomic_load_n(&self->events.epoch, __ATOMIC_SEQ_CST))
        __atomic_store_n(&self->events.epoch, epoch, __ATOMIC_SEQ_CST);
}

/* Sets cancel, then wakes a waiting LLM call (the fd stays readable). */
static void
set_cancel(wt_session_t *self)
{
    self->cancel = 1;
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the flag before the wake */
    uint64_t one = 1;
    if (self->cancel_fd >= 0 && write(self->cancel_fd, &one, sizeof one) < 0)
        wt_log_debug("session %s: cancel wake: %s", self->sid, strerror(errno));
}

void
wt_session_cancel(wt_session_t *self)
{
    set_cancel(self);
}

void
wt_session_drain(wt_session_t *self)
{
    self->drain = 1;
}

void
wt_session_abandon(wt_session_t *self)
{
    self->abandon = 1;
    self->drain = 1;
    set_cancel(self); /* interrupts a running tool or LLM call */
}

/* After a write of wt_events: stale sets `stale`, another failure says why
 * in write_error. Returns rc. */
static int
written(wt_session_t *self, int rc, const char *what, const wt_err_t *err)
{
    if (rc == 0)
        return 0;
    if (self->events.stale)
        self->stale = 1;
    else
        snprintf(self->write_error, sizeof self->write_error, "cannot write %s: %s", what,
                 err->msg);
    return -1;
}

int
wt_session_emit(wt_session_t *self, const char *type, json_t *data, int fleet, int nfields,
                const char **fields)
{
    wt_err_t err = {0};
    return written(self, wt_events_emit(&self->events, type, data, fleet, nfields, fields, &err),
                   type, &err);
}

int
wt_session_defer(wt_session_t *self, const char *type, json_t *data, int fleet, int nfields,
                 const char **fields)
{
    wt_err_t err = {0};
    return written(self, wt_events_defer(&self->events, type, data, fleet, nfields, fields, &err),
                   type, &err);
}

int
wt_session_commit_unless_told(wt_session_t *self, const char *type, json_t *data, int *told)
{
    wt_err_t err = {0};
    return written(self,
                   wt_events_commit_unless_told(&self->events, type, data, 0, 0, NULL, told, &err),
                   type, &err);
}

int
wt_session_commit(wt_session_t *self)
{
    wt_err_t err = {0};
    return written(self, wt_events_commit(&self->events, &err), "events", &err);
}

json_t *
wt_session_operator_message(const char *text)
{
    char *content = wt_xasprintf("Message from the operator: %s", text ? text : "");
    json_t *m = json_pack("{s:s,s:s}", "role", "user", "content", content);
    free(content);
    return m;
}

/* --- endings --- */

static const char *
status_for(const char *outcome)
{
    if (strcmp(outcome, "success") == 0)
        return "completed";
    if (strcmp(outcome, "cancelled") == 0)
        return "cancelled";
    return "failed";
}

/* The memory workflow's output becomes the project memory (DESIGN.md 17),
 * stored before session_completed so whoever sees the completion sees it. */
static void
keep_memory(wt_session_t *self, const char *memory)
{
    wt_err_t err = {0};
    if (memory == NULL || *memory == '\0')
        wt_log_warn("session %s: no 'memory' in the output; project memory unchanged", self->sid);
    else if (wt_fleetq_memory_set(&self->store, memory, &err) != 0)
        wt_log_warn("session %s: project memory not stored: %s", self->sid, err.msg);
}

/* Writes the one session_completed; returns the outcome to report. */
static const char *
finish(wt_session_t *self, const char *outcome, const char *detail)
{
    json_t *ctx = self->run ? json_incref(wt_wfrun_context(self->run)) : json_object();
    if (strcmp(outcome, "success") == 0 && self->wf && wt_workflow_project_memory(self->wf))
        keep_memory(self, json_string_value(json_object_get(ctx, "memory")));
    json_t *arts = self->run ? json_incref(wt_wfrun_artifacts(self->run)) : json_array();
    json_t *output = json_pack("{s:o,s:s,s:o}", "context", ctx, "notes",
                               self->run ? wt_wfrun_notes(self->run) : "", "artifacts", arts);
    int64_t dur = wt_clock_now_ms() - self->started_ms;
    char *out_s = json_dumps(output, JSON_COMPACT);
    json_t *data = json_pack("{s:s,s:O,s:s,s:I}", "outcome", outcome, "output", output, "detail",
                             detail ? detail : "", "duration_ms", (json_int_t)dur);
    char ended[24];
    int64_t ended_ms = wt_clock_now_ms();
    snprintf(ended, sizeof ended, "%lld", (long long)ended_ms);
    const char *fields[] = {"status",   status_for(outcome),
                            "outcome",  outcome,
                            "output",   out_s,
                            "error",    strcmp(outcome, "success") ? (detail ? detail : "") : "",
                            "ended_ms", ended};
    int rc = wt_session_emit(self, "session_completed", data, 1, 10, fields);
    free(out_s);
    json_decref(output);
    if (rc != 0 && self->stale)
        return "stale";
    if (rc != 0) {
        /* Not stored, so not final: the broker requeues it. */
        wt_log_error("session %s: %s; handing it back", self->sid, self->write_error);
        return "handback";
    }
    wt_log_info("session %s: %s%s%s", self->sid, outcome, detail && *detail ? ": " : "",
                detail ? detail : "");
    if (self->spec.deliver) {
        /* session_completed is stored: the delivery thread delivers a
         * success and records any other ending as skipped (wt_deliver). */
        wt_err_t derr = {0};
        if (wt_deliver_due_now(self->redis, self->env->prefix, self->sid, self->env->worker_name,
                               &derr) != 0)
            wt_log_warn("session %s: delivery waits for its periodic look: %s", self->sid,
                        derr.msg);
        wt_deliver_kick(self->env->deliver);
    }
    /* Enqueue only: delivery runs on the notifier's own thread. */
    if (wt_notify_enabled(self->env->notify))
        wt_notify_post(self->env->notify, "session_completed",
                       wt_notify_body_new("session_completed", self->workflow_id, self->sid,
                                          outcome, detail, self->goal, ended_ms));
    return outcome;
}

/* --- setup --- */

/* The worktree of a remote repository (wt_repo): reused when this worker
 * already has it (a resumed session), else made from the mirror. */
/* noinline (here, make_workspace and retire_workspace): their PATH_MAX
 * buffers would otherwise sit in wt_session_run's frame, resident all
 * through the waits on the LLM (issue 18). */
static __attribute__((noinline)) int
make_remote_workspace(wt_session_t *self, char *why, size_t cap)
{
    wt_err_t err = {0};
    char dir[PATH_MAX];
    struct stat st;
    if (snprintf(dir, sizeof dir, "%s/%s", self->env->workspace_root, self->sid) >= (int)sizeof dir)
        return snprintf(why, cap, "workspace root too long"), -1;
    if (stat(dir, &st) != 0 &&
        wt_repo_worktree(self->env->workspace_root, &self->spec, self->sid, dir, &err) != 0)
        return snprintf(why, cap, "workspace: %s", err.msg), -1;
    free(self->workspace);
    if ((self->workspace = realpath(dir, NULL)) == NULL)
        return snprintf(why, cap, "cannot resolve workspace '%s'", dir), -1;
    if (self->spec.deliver) {
        char *js = wt_repo_spec_dump(&self->spec);
        int rc = wt_deliver_register(self->redis, self->env->prefix, self->sid, js,
                                     self->env->worker_name, self->env->workspace_root, &err);
        free(js);
        if (rc != 0)
            return snprintf(why, cap, "cannot register the delivery: %s", err.msg), -1;
    }
    return 0;
}

/* A git worktree is made now (its files are the session's input); a plain
 * directory only gets its path, and is made by the first tool that may
 * use it (wt_session_workspace_ready): most short sessions never need it. */
static __attribute__((noinline)) int
make_workspace(wt_session_t *self, char *why, size_t cap)
{
    wt_err_t err = {0};
    char path[PATH_MAX];
    if (self->spec_error[0])
        return snprintf(why, cap, "%s", self->spec_error), -1;
    if (self->spec.url)
        return make_remote_workspace(self, why, cap);
    int plain = self->workspace_repo == NULL || self->workspace_repo[0] == '\0';
    const char *real = self->env->workspace_real;
    if ((plain ? (real && *real ? wt_workspace_path_under(real, self->sid, path, sizeof path, &err)
                                : wt_workspace_path(self->env->workspace_root, self->sid, path,
                                                    sizeof path, &err))
               : wt_workspace_create(self->env->workspace_root, self->sid, self->workspace_repo,
                                     path, sizeof path, &err)) != 0) {
        snprintf(why, cap, "%s", err.msg);
        return -1;
    }
    free(self->workspace);
    self->workspace = wt_xstrdup(path);
    self->workspace_later = plain;
    return 0;
}

int
wt_session_workspace_ready(wt_session_t *self, char *why, size_t cap)
{
    if (!self->workspace_later)
        return 0;
    wt_err_t err = {0};
    char path[PATH_MAX];
    if (wt_workspace_create(self->env->workspace_root, self->sid, NULL, path, sizeof path, &err) !=
        0) {
        snprintf(why, cap, "%s", err.msg);
        return -1;
    }
    self->workspace_later = 0;
    return 0;
}

/* XRANGE of the session's events, retried like event writes while Redis
 * is unreachable (bounded by the same retry_ms, cut short by abandon). */
static redisReply *
read_events(wt_session_t *self, const char *key, wt_err_t *err)
{
    int64_t give_up = wt_clock_mono_ms() + self->events.retry_ms, backoff = 50;
    for (;;) {
        redisReply *r = wt_redis_command(self->redis, err, "XRANGE %s - +", key);
        if (r != NULL && r->type == REDIS_REPLY_ARRAY)
            return r;
        if (r != NULL) {
            freeReplyObject(r);
            wt_err_set(err, WT_EPROTO, "XRANGE %s: unexpected reply type", key);
            return NULL;
        }
        if (self->abandon || wt_clock_mono_ms() + backoff > give_up)
            return NULL;
        wt_clock_sleep_ms(backoff);
        backoff = backoff < 1000 ? backoff * 2 : 2000;
    }
}

/* Replays step_advanced events into a fresh cursor and counts earlier
 * session_started events (other than this run's), so any earlier run - lost
 * worker, broker restart, drain hand-back - is resumed where it stopped.
 * The attempt counter is not the signal: a hand-back refunds its attempt.
 * Turns: turns_used counts every recorded turn (for max_turns), while the
 * turn index restarts after the last stored step, because the turns of the
 * interrupted step are redone - so the scripted provider replays the same
 * replies and spawn_agent derives the same child keys for them.
 * Operator messages an earlier run took (message_received) are appended to
 * told, in order: the fresh conversation must carry them again.
 * Returns the number of steps replayed, -1 on a Redis error. */
static int
replay(wt_session_t *self, int *earlier_runs, json_t *told, wt_err_t *err)
{
    char key[128];
    wt_store_key(&self->store, key, sizeof key, "session:%s:events", self->sid);
    redisReply *r = read_events(self, key, err);
    if (r == NULL)
        return -1;
    int n = 0, starts = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->elements != 2)
            continue;
        redisReply *f = e->element[1];
        const char *type = wt_redis_field(f, "type"), *data = wt_redis_field(f, "data");
        if (type && strcmp(type, "session_started") == 0)
            starts++;
        if (type && strcmp(type, "llm_turn_completed") == 0)
            self->turns_used++;
        if (type && data && strcmp(type, "message_received") == 0) {
            json_t *d = json_loads(data, 0, NULL);
            const char *text = json_string_value(json_object_get(d, "message"));
            if (text)
                json_array_append_new(told, json_string(text));
            json_decref(d);
            continue;
        }
        if (type == NULL || data == NULL || strcmp(type, "step_advanced") != 0)
            continue;
        json_t *d = json_loads(data, 0, NULL);
        wt_err_t e2 = {0};
        if (d && wt_wfrun_complete(self->run, d, &e2) == 0) {
            n++;
            self->turn = self->turns_used; /* turns after this one are redone */
        } else
            wt_log_warn("session %s: cannot replay a step_advanced event: %s", self->sid,
                        d ? e2.msg : "bad JSON");
        json_decref(d);
    }
    freeReplyObject(r);
    *earlier_runs = starts > 0 ? starts - 1 : 0; /* this run's session_started is already there */
    return n;
}

static json_t *
first_message(wt_session_t *self, int resumed_from)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 22);
    wt_buf_printf(&b, NULL, "Goal: %s\n\n", self->goal);
    if (strcmp(self->context_json, "{}") != 0)
        wt_buf_printf(&b, NULL, "Session context (JSON): %s\n\n", self->context_json);
    if (resumed_from > 0)
        wt_buf_printf(&b, NULL,
                      "Note: this session was resumed on a new worker after %d completed "
                      "step(s); the notes of those steps are in the system prompt. Continue from "
                      "the step below; do not redo earlier steps.\n\n",
                      resumed_from);
    char *step = wt_wfrun_render_step(self->run);
    wt_buf_puts(&b, step, NULL);
    free(step);
    json_t *m = json_pack("{s:s,s:s}", "role", "user", "content", wt_buf_str(&b));
    wt_buf_release(&b);
    return m;
}

/* The index of the session's workflow in env->workflows, for the values
 * the worker built once per workflow (-1: none built, or not found). */
static int
shared_index(const wt_session_t *self)
{
    if (self->env->wf_tools == NULL && self->env->wf_prompts == NULL)
        return -1;
    for (int i = 0; i < wt_workflow_set_count(self->env->workflows); i++)
        if (wt_workflow_set_at(self->env->workflows, i) == self->wf)
            return i;
    return -1;
}

/* 1 when the workspace cannot hold AGENTS.md or CLAUDE.md: a plain one
 * that does not exist yet. It may, from an earlier run on this worker,
 * unless this is the session's first lease (epoch 1, as in start: no
 * earlier run), which needs no look. */
static int
no_context_files(wt_session_t *self)
{
    struct stat st;
    self->workspace_absent =
        self->workspace_later &&
        (self->epoch == 1 || (stat(self->workspace, &st) != 0 && errno == ENOENT));
    return self->workspace_absent;
}

static const char *
start(wt_session_t *self, char *detail, size_t cap)
{
    wt_err_t err = {0};
    self->wf = wt_workflow_set_get(self->env->workflows, self->workflow_id);
    json_t *ctx = json_loads(self->context_json, 0, NULL);
    if (!json_is_object(ctx)) {
        json_decref(ctx);
        ctx = json_object();
    }
    self->context0 = ctx;
    if (self->wf)
        self->run = wt_wfrun_new(self->wf, ctx, &err);
    char started[24];
    snprintf(started, sizeof started, "%lld", (long long)self->started_ms);
    const char *step = self->run ? wt_wfrun_step_id(self->run) : "";
    const char *fields[] = {"status",     "running", "worker", self->env->worker_name,
                            "started_ms", started,   "step",   step};
    /* Deferred: stored with the events before the first LLM call (or the
     * session_completed of a session that cannot start), one round trip. */
    if (wt_session_defer(
            self, "session_started",
            json_pack("{s:s,s:i}", "worker", self->env->worker_name, "attempt", self->attempt), 1,
            8, fields) != 0)
        return self->stale ? "stale" : "handback";
    if (self->wf == NULL) {
        snprintf(detail, cap, "unknown workflow '%s' on worker %s", self->workflow_id,
                 self->env->worker_name);
        return "error";
    }
    if (self->run == NULL) {
        snprintf(detail, cap, "%s", err.msg);
        return "error";
    }
    int earlier = 0, replayed = 0;
    json_t *told = json_array();
    /* Lease epoch 1 is the session's first lease ever (every ASSIGN raises
     * it, nothing lowers it, and only a holder can write events), so no
     * earlier run can have left events to resume from: skip the read. Any
     * later lease stores session_started and reads the stream. */
    if (self->epoch > 1 && wt_session_commit(self) != 0) {
        json_decref(told);
        return self->stale ? "stale" : "handback";
    }
    if (self->epoch > 1)
        replayed = replay(self, &earlier, told, &err);
    if (replayed < 0) {
        json_decref(told);
        wt_log_error("session %s: cannot read its events to resume: %s; handing it back", self->sid,
                     err.msg);
        return "handback";
    }
    if (earlier > 0) {
        json_t *d =
            json_pack("{s:s,s:s,s:i,s:i}", "from_step", wt_wfrun_step_id(self->run), "cause",
                      "an earlier run stopped (worker lost, broker restart or drain)", "attempt",
                      self->attempt, "steps_replayed", replayed);
        const char *at[] = {"step", wt_wfrun_step_id(self->run)};
        if (wt_session_emit(self, "session_resumed", d, 1, 2, at) != 0) {
            json_decref(told);
            return self->stale ? "stale" : "handback";
        }
    }
    if (earlier > 0) /* told when the session first ran */
        json_decref(wt_wfrun_take_skipped(self->run));
    else if (wt_session_emit_skipped(self) != 0) {
        json_decref(told);
        return self->stale ? "stale" : "handback";
    }
    if (make_workspace(self, detail, cap) != 0) {
        json_decref(told);
        return "error";
    }
    int wfi = shared_index(self);
    if (wfi >= 0 && self->env->wf_prompts && wt_wfrun_completed_count(self->run) == 0 &&
        no_context_files(self)) {
        self->system = self->env->wf_prompts[wfi];
        self->system_shared = 1;
    } else
        self->system = wt_prompt_build(self->wf, self->run, self->workspace, self->env->soul);
    if (wfi >= 0 && self->env->wf_tools)
        self->tools = json_incref(self->env->wf_tools[wfi]);
    else {
        self->tools = wt_tools_definitions();
        wt_tools_fleet_add_definitions(self->tools, self->wf); /* opt-in (DESIGN.md 17) */
    }
    self->messages = json_array();
    json_array_append_new(self->messages, first_message(self, replayed));
    size_t i;
    json_t *m;
    json_array_foreach(told, i, m)
        json_array_append_new(self->messages, wt_session_operator_message(json_string_value(m)));
    json_decref(told);
    return NULL;
}

void
wt_session_lend_redis(wt_session_t *self, wt_redis_t *redis)
{
    if (!self->redis_lent)
        wt_redis_destroy(&self->redis);
    self->redis = redis;
    self->redis_lent = 1;
}

void
wt_session_lend_cancel_fd(wt_session_t *self, int fd)
{
    self->cancel_fd = fd;
    if (self->cancel)
        set_cancel(self); /* cancelled while held: readable from the start */
}

/* After session_completed is stored (retention, DESIGN.md 19): success
 * removes the workspace now, other endings keep it for --keep-days. A
 * session that did not end here (handback, stale) keeps it untouched. */
static __attribute__((noinline)) void
retire_workspace(wt_session_t *self, const char *ended)
{
    if (self->workspace == NULL || strcmp(ended, "handback") == 0 || strcmp(ended, "stale") == 0)
        return;
    /* keepWorkspace (set by `worktrain bench` for command scorers such as
     * `make test`): a successful session's workspace stays until pruned. */
    int keep = json_is_true(json_object_get(self->context0, "keepWorkspace"));
    if (!keep && strcmp(ended, "success") == 0 && self->workspace_later && self->workspace_absent)
        return; /* never made: nothing to remove */
    wt_err_t err = {0};
    const char *repo = self->workspace_repo;
    char mirror[PATH_MAX];
    if (self->spec.url) {
        if (self->spec.deliver && strcmp(ended, "success") == 0)
            return; /* the delivery thread removes it once delivered */
        repo = wt_repo_mirror_path(self->env->workspace_root, self->spec.url, mirror,
                                   sizeof mirror) == 0
                   ? mirror
                   : NULL;
    }
    if (wt_workspace_retire(self->env->workspace_root, self->sid, repo,
                            !keep && strcmp(ended, "success") == 0, &err) != 0)
        wt_log_warn("session %s: workspace left in place: %s", self->sid, err.msg);
}

/* What only the run needs is freed on the session's own thread as it
 * ends (its allocator arena), not on the worker's main thread, which
 * destroys the session after the report and is the fleet's serial part. */
static void
shed(wt_session_t *self)
{
    if (!self->system_shared)
        free(self->system);
    self->system = NULL;
    self->system_shared = 0;
    json_decref(self->messages);
    self->messages = NULL;
    json_decref(self->tools);
    self->tools = NULL;
    wt_wfrun_destroy(&self->run);
    json_decref(self->context0);
    self->context0 = NULL;
}

static const char *run_session(wt_session_t *self);

const char *
wt_session_run(wt_session_t *self)
{
    const char *outcome = run_session(self);
    shed(self);
    return outcome;
}

static const char *
run_session(wt_session_t *self)
{
    wt_err_t err = {0};
    self->started_ms = wt_clock_now_ms();
    self->deadline_mono = wt_clock_mono_ms() + self->timeout_ms;
    if (self->redis == NULL)
        self->redis = wt_redis_new(self->env->redis_url, 5000, &err);
    if (self->redis == NULL) {
        wt_log_error("session %s: %s; handing it back", self->sid, err.msg);
        return "handback";
    }
    wt_store_init(&self->store, self->redis, self->env->prefix);
    /* events was initialised in wt_session_new, on the main thread, so a
     * renewal (wt_session_renew) can never be overwritten here. */
    self->events.abandon = &self->abandon;
    if (self->env->write_retry_ms > 0)
        self->events.retry_ms = self->env->write_retry_ms;
    wt_stuck_init(&self->stuck);
    char detail[512] = "";
    const char *outcome = start(self, detail, sizeof detail);
    if (outcome == NULL)
        outcome = wt_session_loop(self, detail, sizeof detail);
    if (self->stuck_counted && self->env->counters) /* no longer running stuck here */
        atomic_fetch_add_explicit(&self->env->counters->stuck_ended, 1, memory_order_relaxed);
    self->stuck_counted = 0;
    if (strcmp(outcome, "stale") == 0) {
        wt_log_warn("session %s: lease lost (epoch %lld stale), dropping it", self->sid,
                    (long long)self->epoch);
        return "stale";
    }
    if (strcmp(outcome, "handback") == 0) {
        /* What the run did is stored before it is handed back, so the
         * next run resumes after it (e.g. a deferred step_advanced). */
        wt_session_commit(self);
        return "handback";
    }
    const char *ended = finish(self, outcome, detail);
    retire_workspace(self, ended);
    if (strcmp(ended, "stale") != 0 && strcmp(ended, "handback") != 0)
        wt_session_kick_memory(self); /* counts only stored endings */
    return ended;
}
