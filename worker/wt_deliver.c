/* wt_deliver - the delivery thread and its Redis records (see
 * wt_deliver.h). The thread polls its own <p>deliveries:<worker> and the
 * shared <p>deliveries twice a second (or when
 * kicked); every step it takes is recorded in <p>delivery:<sid> before the
 * next one starts, so whichever worker picks the entry up next continues
 * from the last recorded state: a push is redone harmlessly (the remote
 * already has the commit), a PR is looked up before it is created. */
#include "wt_deliver.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_forge.h"
#include "wt_http.h"
#include "wt_log.h"
#include "wt_repo.h"
#include "wt_store.h"
#include "wt_workspace.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define POLL_MS     500
#define RECHECK_MS  2000  /* a session still running is looked at again after this */
#define FOREIGN_MS  10000 /* a pending delivery whose worktree is on another worker */
#define REGISTER_MS 3600000
#define DUE_BATCH   8

struct wt_deliver {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, kicked;
    char *redis_url, *prefix, *worker, *root;
    wt_redis_t *redis;
    wt_store_t store;
    wt_http_t *http;
    atomic_uint_fast64_t *failures; /* borrowed: the worker's counter, or NULL */
};

/* Appends a delivery event after the session's session_completed (the
 * fenced append refuses anything after it, by design for the agent's
 * events; delivery happens after the end) and sets hash fields. */
static const char event_lua[] =
    "local hk = KEYS[1]\n"
    "if redis.call('EXISTS', hk) == 0 then return 0 end\n"
    "redis.call('XADD', hk..':events', '*', 'type', ARGV[1], 'data', ARGV[2], 'epoch', "
    "redis.call('HGET', hk, 'epoch') or '0')\n"
    "redis.call('XADD', ARGV[3]..'events', 'MAXLEN', '~', '100000', '*', 'type', ARGV[1], "
    "'session', ARGV[4], 'data', ARGV[2])\n"
    "for i = 5, #ARGV, 2 do redis.call('HSET', hk, ARGV[i], ARGV[i+1]) end\n"
    "return 1\n";
static wt_redis_script_t event_script;
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";
static wt_redis_script_t release_script;
static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;

static void
init_scripts(void)
{
    wt_redis_script_init(&event_script, event_lua);
    wt_redis_script_init(&release_script, release_lua);
}

static void
key(const wt_deliver_t *self, char *out, size_t cap, const char *fmt, const char *sid)
{
    wt_store_key(&self->store, out, cap, fmt, sid);
}

static void
emit(wt_deliver_t *self, const char *sid, const char *type, json_t *data, int nfields,
     const char **fields)
{
    char hk[160];
    key(self, hk, sizeof hk, "session:%s", sid);
    char *d = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    const char *argv[12] = {hk, type, d, self->store.prefix, sid};
    int argc = 5;
    for (int i = 0; i < nfields && argc < 12; i++)
        argv[argc++] = fields[i];
    wt_err_t err = {0};
    redisReply *r = wt_redis_eval(self->redis, &event_script, 1, argc, argv, NULL, &err);
    if (r == NULL)
        wt_log_warn("session %s: cannot record %s: %s", sid, type, err.msg);
    freeReplyObject(r);
    free(d);
}

static void
inbox(wt_deliver_t *self, const char *sid, const char *outcome, const char *summary)
{
    const char *f[] = {"session", sid, "outcome", outcome, "summary", summary};
    wt_err_t err = {0};
    if (wt_store_inbox_add(&self->store, "delivery", 6, f, &err) != 0)
        wt_log_warn("session %s: cannot add the delivery to the inbox: %s", sid, err.msg);
}

static void
set_fields(wt_deliver_t *self, const char *dk, int n, const char **fv)
{
    const char *argv[16] = {"HSET", dk};
    int argc = 2;
    for (int i = 0; i < n && argc < 16; i++)
        argv[argc++] = fv[i];
    wt_err_t err = {0};
    freeReplyObject(wt_redis_commandv(self->redis, argc, argv, NULL, &err));
}

/* Pending deliveries (not pushed yet) wait in the zset of the worker that
 * holds the worktree, <p>deliveries:<worker>: only it can push them, and a
 * shared zset would let other workers' looks starve it. Pushed ones are in
 * the shared <p>deliveries, where any worker may open the PR. */
static void
own_key(const wt_deliver_t *self, char *out, size_t cap)
{
    wt_store_key(&self->store, out, cap, "deliveries:%s", self->worker);
}

static void
schedule(wt_deliver_t *self, const char *sid, int64_t due_ms)
{
    char zk[160], dk[160];
    key(self, dk, sizeof dk, "delivery:%s", sid);
    wt_err_t err = {0};
    redisReply *st = wt_redis_command(self->redis, &err, "HGET %s state", dk);
    int pushed = st && st->type == REDIS_REPLY_STRING && strcmp(st->str, "pushed") == 0;
    freeReplyObject(st);
    if (pushed)
        key(self, zk, sizeof zk, "deliveries%s", "");
    else
        own_key(self, zk, sizeof zk);
    freeReplyObject(
        wt_redis_command(self->redis, &err, "ZADD %s %lld %s", zk, (long long)due_ms, sid));
    if (pushed) { /* no longer this worker's alone */
        own_key(self, zk, sizeof zk);
        freeReplyObject(wt_redis_command(self->redis, &err, "ZREM %s %s", zk, sid));
    }
}

static void
finish_entry(wt_deliver_t *self, const char *sid)
{
    char zk[160], own[160];
    key(self, zk, sizeof zk, "deliveries%s", "");
    own_key(self, own, sizeof own);
    wt_err_t err = {0};
    freeReplyObject(wt_redis_command(self->redis, &err, "ZREM %s %s", zk, sid));
    freeReplyObject(wt_redis_command(self->redis, &err, "ZREM %s %s", own, sid));
}

/* The PR body: the goal, each step's notes, the session's output (its final
 * context), the session id and where to read everything. */
static char *
pr_body(wt_deliver_t *self, const char *sid, const char *goal, size_t max)
{
    char ek[160];
    key(self, ek, sizeof ek, "session:%s:events", sid);
    wt_buf_t b;
    wt_buf_init(&b, 64u << 20);
    wt_buf_printf(&b, NULL, "%s\n\n", goal);
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(self->redis, &err, "XRANGE %s - +", ek);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->elements != 2)
            continue;
        const char *type = wt_redis_field(e->element[1], "type");
        const char *data = wt_redis_field(e->element[1], "data");
        if (type == NULL || data == NULL || strcmp(type, "step_advanced") != 0)
            continue;
        json_t *d = json_loads(data, 0, NULL);
        const char *step = json_string_value(json_object_get(d, "step"));
        const char *notes = json_string_value(json_object_get(d, "notes"));
        wt_buf_printf(&b, NULL, "### %s\n\n%s\n\n", step ? step : "step", notes ? notes : "");
        json_decref(d);
    }
    freeReplyObject(r);
    /* The session's output: its final context (what the workflow reports,
     * e.g. summary, changedFiles), as JSON. */
    char hk[160];
    key(self, hk, sizeof hk, "session:%s", sid);
    r = wt_redis_command(self->redis, &err, "HGET %s output", hk);
    json_t *res = r && r->type == REDIS_REPLY_STRING ? json_loads(r->str, 0, NULL) : NULL;
    freeReplyObject(r);
    json_t *ctx = json_object_get(res, "context");
    if (json_is_object(ctx) && json_object_size(ctx) > 0) {
        char *js = json_dumps(ctx, JSON_INDENT(2) | JSON_SORT_KEYS);
        wt_buf_printf(&b, NULL, "### Output\n\n```json\n%s\n```\n\n", js ? js : "{}");
        free(js);
    }
    json_decref(res);
    const char *console = getenv("WORKTRAIN_CONSOLE_URL");
    char *link = console && *console ? wt_xasprintf("%s/sessions/%s", console, sid)
                                     : wt_xasprintf("`worktrain events %s`", sid);
    wt_buf_printf(&b, NULL, "---\nWorkTrain session `%s` - %s\n", sid, link);
    char *out = wt_forge_truncate(wt_buf_str(&b), max, link);
    free(link);
    wt_buf_release(&b);
    return out;
}

/* A failed try: retried on the durable schedule, or given up. */
static void
failed(wt_deliver_t *self, const char *sid, const char *dk, int attempt, const char *error,
       int64_t retry_in_ms)
{
    if (attempt >= WT_DELIVER_MAX_ATTEMPTS)
        retry_in_ms = -1;
    char at[16], rin[24];
    snprintf(at, sizeof at, "%d", attempt);
    snprintf(rin, sizeof rin, "%lld", (long long)retry_in_ms);
    const char *fv[] = {"attempt", at, "error", error, "state", retry_in_ms < 0 ? "failed" : NULL};
    set_fields(self, dk, retry_in_ms < 0 ? 6 : 4, fv);
    emit(self, sid, "delivery_failed",
         json_pack("{s:s,s:i,s:I}", "error", error, "attempt", attempt, "retry_in_ms",
                   (json_int_t)retry_in_ms),
         0, NULL);
    if (self->failures)
        atomic_fetch_add_explicit(self->failures, 1, memory_order_relaxed);
    wt_log_warn("session %s: delivery attempt %d failed: %s%s", sid, attempt, error,
                retry_in_ms < 0 ? " (giving up)" : "");
    if (retry_in_ms < 0) {
        inbox(self, sid, "delivery_failed", error);
        finish_entry(self, sid);
    } else
        schedule(self, sid, wt_clock_now_ms() + retry_in_ms);
}

/* One look at a due delivery (lease held). */
static void
process(wt_deliver_t *self, const char *sid, const char *dk, redisReply *rec)
{
    const char *state = wt_redis_field(rec, "state");
    const char *spec_s = wt_redis_field(rec, "spec");
    const char *root = wt_redis_field(rec, "root");
    const char *at_s = wt_redis_field(rec, "attempt");
    int attempt = (at_s ? atoi(at_s) : 0) + 1;
    wt_repo_spec_t spec;
    wt_err_t err = {0};
    if (spec_s == NULL || wt_repo_spec_parse(spec_s, &spec, &err) != 1) {
        failed(self, sid, dk, WT_DELIVER_MAX_ATTEMPTS, "bad delivery record", -1);
        return;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root ? root : "", sid);
    if (state && strcmp(state, "pending") == 0) {
        struct stat st;
        if (root == NULL || strcmp(root, self->root) != 0 || stat(dir, &st) != 0) {
            schedule(self, sid, wt_clock_now_ms() + FOREIGN_MS); /* its worker pushes it */
            wt_repo_spec_release(&spec);
            return;
        }
        if (at_s == NULL || atoi(at_s) == 0)
            emit(self, sid, "delivery_started",
                 json_pack("{s:s,s:s}", "deliver", spec.deliver ? spec.deliver : "branch", "worker",
                           self->worker),
                 0, NULL);
        char sha[41] = "", branch[160], pushed[160];
        int made = 0;
        snprintf(branch, sizeof branch, "worktrain/%s", sid);
        if (wt_repo_commit(dir, &spec, sid, "WorkTrain: the rest of the session's work", NULL,
                           &made, sha, &err) != 0 ||
            wt_repo_push(dir, &spec, branch, pushed, sizeof pushed, sha, &err) != 0) {
            failed(self, sid, dk, attempt, err.msg, 2000LL << (attempt < 6 ? attempt : 6));
            wt_repo_spec_release(&spec);
            return;
        }
        /* The change, bounded, for whoever reads the delivery next (a
         * pipeline's review phase): only this worker has the worktree; and
         * the files it touched, which the watchdog compares across deliveries. */
        char based[256], files[4096];
        wt_repo_base_branch(dir, &spec, based, sizeof based);
        wt_err_t de = {0};
        char *diff = wt_repo_diff(dir, based, pushed, WT_DELIVER_DIFF_MAX, &de);
        if (diff == NULL)
            wt_log_warn("session %s: no diff for the delivery: %s", sid, de.msg);
        if (wt_repo_changed_files(dir, &spec, files, sizeof files, &de) != 0) {
            wt_log_warn("session %s: cannot list the changed files: %s", sid, de.msg);
            *files = '\0';
        }
        const char *fv[] = {"state", "pushed",  "branch", pushed, "commit",
                            sha,     "attempt", "0",      "diff", diff ? diff : "",
                            "base",  based,     "files",  files};
        set_fields(self, dk, 14, fv);
        free(diff);
        /* Into the shared zset: if this worker dies now, another opens the
         * PR once the lease lapses. */
        schedule(self, sid, wt_clock_now_ms());
        const char *hv[] = {"branch", pushed};
        emit(self, sid, "delivery_pushed", json_pack("{s:s,s:s}", "branch", pushed, "commit", sha),
             2, hv);
        wt_log_info("session %s: pushed %s (%s)", sid, pushed, sha);
        attempt = 1;
        if (strcmp(spec.deliver ? spec.deliver : "branch", "pr") != 0) {
            const char *dv[] = {"state", "done"};
            set_fields(self, dk, 2, dv);
            emit(self, sid, "delivery_completed",
                 json_pack("{s:s,s:s,s:s,s:i}", "branch", pushed, "commit", sha, "url", "",
                           "number", 0),
                 0, NULL);
            inbox(self, sid, "delivered", pushed);
            finish_entry(self, sid);
            wt_repo_spec_release(&spec);
            return;
        }
    }
    /* state pushed: open (or find) the PR. */
    char dkey_fields[2][160];
    wt_err_t e2 = {0};
    redisReply *now = wt_redis_command(self->redis, &e2, "HMGET %s branch commit", dk);
    snprintf(dkey_fields[0], 160, "%s",
             now && now->elements > 0 && now->element[0]->str ? now->element[0]->str : "");
    snprintf(dkey_fields[1], 160, "%s",
             now && now->elements > 1 && now->element[1]->str ? now->element[1]->str : "");
    freeReplyObject(now);
    const char *pushed = dkey_fields[0], *sha = dkey_fields[1];
    const char *forge = wt_repo_forge_of(&spec);
    char project[256], base[256];
    if (forge == NULL || wt_repo_project_of(&spec, project, sizeof project) != 0) {
        failed(self, sid, dk, WT_DELIVER_MAX_ATTEMPTS,
               forge ? "cannot tell the project from the repository URL (use --forge-project)"
                     : "cannot tell the forge from the repository URL (use --forge)",
               -1);
        wt_repo_spec_release(&spec);
        return;
    }
    struct stat st;
    if (stat(dir, &st) == 0)
        wt_repo_base_branch(dir, &spec, base, sizeof base);
    else
        snprintf(base, sizeof base, "%s", spec.ref ? spec.ref : "main");
    char hk[160];
    key(self, hk, sizeof hk, "session:%s", sid);
    redisReply *g = wt_redis_command(self->redis, &e2, "HGET %s goal", hk);
    char *goal = wt_xstrdup(g && g->str ? g->str : sid);
    freeReplyObject(g);
    char title[256];
    snprintf(title, sizeof title, "%.*s", (int)strcspn(goal, "\n"), goal);
    char *body =
        pr_body(self, sid, goal,
                strcmp(forge, "github") == 0 ? WT_FORGE_GITHUB_BODY_MAX : WT_FORGE_GITLAB_BODY_MAX);
    wt_forge_pr_t pr = {.forge = forge,
                        .project = project,
                        .branch = pushed,
                        .base = base,
                        .title = title,
                        .body = body,
                        .labels = spec.labels,
                        .draft = spec.draft};
    wt_forge_result_t res;
    int rc = wt_forge_open(self->http, &pr, attempt, &res, &err);
    free(body);
    free(goal);
    if (rc != 0) {
        failed(self, sid, dk, attempt, err.msg, res.retry_in_ms);
        wt_repo_spec_release(&spec);
        return;
    }
    char num[24];
    snprintf(num, sizeof num, "%ld", res.number);
    const char *fv[] = {"state", "done", "url", res.url, "number", num};
    set_fields(self, dk, 6, fv);
    const char *hv[] = {"pr_url", res.url, "branch", pushed};
    emit(self, sid, "delivery_completed",
         json_pack("{s:s,s:s,s:s,s:I,s:b}", "branch", pushed, "commit", sha, "url", res.url,
                   "number", (json_int_t)res.number, "existed", res.existed),
         4, hv);
    inbox(self, sid, "delivered", res.url);
    finish_entry(self, sid);
    wt_log_info("session %s: %s %s", sid, res.existed ? "found" : "opened", res.url);
    wt_repo_spec_release(&spec);
}

/* Takes one due entry: decides from the session's record, claims the lease. */
static void
take(wt_deliver_t *self, const char *sid)
{
    char dk[160], hk[160], lk[176];
    key(self, dk, sizeof dk, "delivery:%s", sid);
    key(self, hk, sizeof hk, "session:%s", sid);
    snprintf(lk, sizeof lk, "%s:lease", dk);
    wt_err_t err = {0};
    redisReply *rec = wt_redis_command(self->redis, &err, "HGETALL %s", dk);
    const char *state = rec ? wt_redis_field(rec, "state") : NULL;
    if (rec == NULL) {
        return;
    }
    if (state == NULL || strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 ||
        strcmp(state, "skipped") == 0) {
        freeReplyObject(rec);
        finish_entry(self, sid);
        return;
    }
    redisReply *s = wt_redis_command(self->redis, &err, "HMGET %s status outcome", hk);
    const char *status = s && s->elements == 2 ? s->element[0]->str : NULL;
    const char *outcome = s && s->elements == 2 ? s->element[1]->str : NULL;
    if (s == NULL) {
        freeReplyObject(rec);
        return;
    }
    int ended = status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                           strcmp(status, "cancelled") == 0);
    if (status == NULL) { /* the session expired */
        const char *fv[] = {"state", "skipped", "error", "the session is gone"};
        set_fields(self, dk, 4, fv);
        finish_entry(self, sid);
    } else if (!ended) {
        schedule(self, sid, wt_clock_now_ms() + RECHECK_MS);
    } else if (outcome == NULL || strcmp(outcome, "success") != 0) {
        /* Never deliver an unfinished session: its branch stays local. */
        const char *fv[] = {"state", "skipped", "error", outcome ? outcome : "no outcome"};
        set_fields(self, dk, 4, fv);
        finish_entry(self, sid);
        wt_log_info("session %s ended %s: not delivered", sid, outcome ? outcome : "?");
    } else {
        redisReply *l = wt_redis_command(self->redis, &err, "SET %s %s NX PX %d", lk, self->worker,
                                         WT_DELIVER_LEASE_MS);
        int got = l && l->type == REDIS_REPLY_STATUS;
        freeReplyObject(l);
        if (got) {
            process(self, sid, dk, rec);
            const char *argv[] = {lk, self->worker};
            freeReplyObject(wt_redis_eval(self->redis, &release_script, 1, 2, argv, NULL, &err));
            /* A delivered worktree of this worker goes now; one whose
             * delivery failed for good stays for inspection until
             * --keep-days, like an unsuccessful session's (retention). */
            redisReply *st = wt_redis_command(self->redis, &err, "HMGET %s state root spec", dk);
            const char *fin = st && st->elements == 3 ? st->element[0]->str : NULL;
            int done = fin && strcmp(fin, "done") == 0, gave_up = fin && strcmp(fin, "failed") == 0;
            if ((done || gave_up) && st->element[1]->str &&
                strcmp(st->element[1]->str, self->root) == 0 && st->element[2]->str) {
                wt_repo_spec_t spec;
                char mirror[4096];
                wt_err_t e3 = {0};
                if (wt_repo_spec_parse(st->element[2]->str, &spec, &e3) == 1 &&
                    wt_repo_mirror_path(self->root, spec.url, mirror, sizeof mirror) == 0 &&
                    wt_workspace_retire(self->root, sid, mirror, done, &e3) != 0)
                    wt_log_warn("session %s: workspace left in place: %s", sid, e3.msg);
                wt_repo_spec_release(&spec);
            }
            freeReplyObject(st);
        }
    }
    freeReplyObject(s);
    freeReplyObject(rec);
}

static void *
run(void *arg)
{
    wt_deliver_t *self = arg;
    for (;;) {
        pthread_mutex_lock(&self->mu);
        if (!self->stop && !self->kicked) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += POLL_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&self->cv, &self->mu, &ts);
        }
        int stop = self->stop;
        self->kicked = 0;
        pthread_mutex_unlock(&self->mu);
        if (stop)
            break;
        char zks[2][160];
        own_key(self, zks[0], sizeof zks[0]);
        key(self, zks[1], sizeof zks[1], "deliveries%s", "");
        for (int z = 0; z < 2; z++) {
            wt_err_t err = {0};
            redisReply *r =
                wt_redis_command(self->redis, &err, "ZRANGEBYSCORE %s -inf %lld LIMIT 0 %d", zks[z],
                                 (long long)wt_clock_now_ms(), DUE_BATCH);
            for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
                if (r->element[i]->str)
                    take(self, r->element[i]->str);
            freeReplyObject(r);
        }
    }
    return NULL;
}

wt_deliver_t *
wt_deliver_new(const char *redis_url, const char *prefix, const char *worker, const char *root,
               atomic_uint_fast64_t *failures, wt_err_t *err)
{
    pthread_once(&scripts_once, init_scripts);
    wt_deliver_t *self = wt_xcalloc(1, sizeof *self);
    self->failures = failures;
    self->redis_url = wt_xstrdup(redis_url);
    self->prefix = prefix ? wt_xstrdup(prefix) : NULL;
    self->worker = wt_xstrdup(worker);
    self->root = wt_xstrdup(root);
    self->redis = wt_redis_new(redis_url, 5000, err);
    self->http = self->redis ? wt_http_new(err) : NULL;
    if (self->redis == NULL || self->http == NULL) {
        wt_deliver_destroy(&self);
        return NULL;
    }
    wt_store_init(&self->store, self->redis, self->prefix);
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->cv, NULL);
    if (pthread_create(&self->thread, NULL, run, self) != 0) {
        wt_err_set(err, WT_EIO, "cannot start the delivery thread");
        pthread_mutex_destroy(&self->mu);
        pthread_cond_destroy(&self->cv);
        wt_deliver_destroy(&self);
        return NULL;
    }
    self->stop = -1; /* marks a running thread for destroy */
    pthread_mutex_lock(&self->mu);
    self->stop = 0;
    pthread_mutex_unlock(&self->mu);
    return self;
}

void
wt_deliver_destroy(wt_deliver_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_deliver_t *self = *self_p;
    if (self->http && self->redis && self->thread) {
        pthread_mutex_lock(&self->mu);
        self->stop = 1;
        pthread_cond_signal(&self->cv);
        pthread_mutex_unlock(&self->mu);
        pthread_join(self->thread, NULL);
        pthread_mutex_destroy(&self->mu);
        pthread_cond_destroy(&self->cv);
    }
    wt_http_destroy(&self->http);
    wt_redis_destroy(&self->redis);
    free(self->redis_url);
    free(self->prefix);
    free(self->worker);
    free(self->root);
    free(self);
    *self_p = NULL;
}

void
wt_deliver_kick(wt_deliver_t *self)
{
    if (self == NULL)
        return;
    pthread_mutex_lock(&self->mu);
    self->kicked = 1;
    pthread_cond_signal(&self->cv);
    pthread_mutex_unlock(&self->mu);
}

int
wt_deliver_register(wt_redis_t *redis, const char *prefix, const char *sid, const char *spec_json,
                    const char *worker, const char *root, wt_err_t *err)
{
    wt_store_t st;
    wt_store_init(&st, redis, prefix);
    char dk[160], zk[160];
    wt_store_key(&st, dk, sizeof dk, "delivery:%s", sid);
    wt_store_key(&st, zk, sizeof zk, "deliveries:%s", worker);
    redisReply *r = wt_redis_command(redis, err, "HSETNX %s state pending", dk);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    r = wt_redis_command(redis, err, "HSET %s spec %s worker %s root %s", dk, spec_json, worker,
                         root);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    r = wt_redis_command(redis, err, "ZADD %s NX %lld %s", zk,
                         (long long)(wt_clock_now_ms() + REGISTER_MS), sid);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}

int
wt_deliver_due_now(wt_redis_t *redis, const char *prefix, const char *sid, const char *worker,
                   wt_err_t *err)
{
    wt_store_t st;
    wt_store_init(&st, redis, prefix);
    char zk[160];
    wt_store_key(&st, zk, sizeof zk, "deliveries:%s", worker);
    redisReply *r = wt_redis_command(redis, err, "ZADD %s XX 0 %s", zk, sid);
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    return 0;
}
