/* wt_bench_run - executing a suite on the fleet.
 *
 * One pass of the loop: top up the open sessions to `concurrency` (SPAWN
 * in item order: variant, case, repeat), then XREAD BLOCK the fleet stream
 * <p>events for session_completed of ours, and every few seconds re-read
 * the open sessions' hashes (the stream is capped and may have dropped an
 * entry). A finished session is scored at once and its scored case HSET
 * into the record before the next item is looked at, so a kill -9 loses at
 * most the scoring in progress, which the resume redoes. */
#include "wt_bench_run.h"

#include "wt_bench_judge.h"

#include "wt_alloc.h"
#include "wt_client.h"
#include "wt_clock.h"
#include "wt_proto.h"
#include "wt_redis.h"
#include "wt_signal.h"
#include "wt_store.h"
#include "wt_ulid.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CMD_OUTPUT (64 * 1024) /* command scorer output kept per case */

typedef struct item {
    const wt_bench_variant_t *v; /* borrowed */
    const wt_bench_case_t *c;    /* borrowed */
    int repeat;                  /* 0-based */
    char *sid;                   /* session once spawned */
    json_t *scored;              /* the RUN.json case entry once scored */
    char dir[PATH_MAX];          /* runner-side work folder (fixture repo, command cwd) */
} item_t;

typedef struct bench {
    const wt_bench_suite_t *s;
    const wt_bench_opts_t *o;
    char id[WT_ULID_LEN + 1];
    wt_redis_t *redis;
    wt_store_t store;
    wt_client_t *client;
    item_t *items;
    int nitems;
    int next;         /* first item not yet spawned */
    int open;         /* spawned, not scored */
    int done;         /* scored */
    int failed;       /* scored not pass */
    char last_id[64]; /* fleet stream position */
    char rkey[160];   /* <p>bench:<run> */
    int64_t started_ms;
    int64_t t0_mono, last_progress;
    int tty;
} bench_t;

static int
selected(const wt_bench_opts_t *o, const char *name)
{
    if (o->nmatrix == 0)
        return 1;
    for (int i = 0; i < o->nmatrix; i++)
        if (strcmp(o->matrix[i], name) == 0)
            return 1;
    return 0;
}

static void
item_field(const item_t *it, char *out, size_t cap)
{
    snprintf(out, cap, "case:%s/%s/%d", it->v->name, it->c->id, it->repeat);
}

json_t *
wt_bench_load_record(const char *redis_url, const char *run, wt_err_t *err)
{
    wt_redis_t *r = wt_redis_new(redis_url, 5000, err);
    if (r == NULL)
        return NULL;
    wt_store_t st;
    wt_store_init(&st, r, NULL);
    char key[160];
    wt_store_key(&st, key, sizeof key, "bench:%s", run);
    redisReply *rep = wt_redis_command(
        r, err, "HMGET %s id suite file matrix repeat out status record replay", key);
    json_t *out = NULL;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 9 &&
        rep->element[0]->type == REDIS_REPLY_STRING) {
#define S(i) (rep->element[i]->type == REDIS_REPLY_STRING ? rep->element[i]->str : "")
        out = json_pack("{s:s,s:s,s:s,s:o,s:i,s:s,s:s,s:s,s:s}", "id", S(0), "suite", S(1), "file",
                        S(2), "matrix", json_loads(S(3), 0, NULL) ?: json_array(), "repeat",
                        (int)strtol(S(4), NULL, 10), "out", S(5), "status", S(6), "record", S(7),
                        "replay", S(8));
#undef S
    } else if (rep) {
        wt_err_set(err, WT_ENOTFOUND, "no bench run '%s' in Redis (%s)", run, key);
    }
    if (rep)
        freeReplyObject(rep);
    wt_redis_destroy(&r);
    return out;
}

static void
progress(bench_t *b, int final)
{
    if (b->o->quiet)
        return;
    int64_t now = wt_clock_mono_ms();
    if (!final && now - b->last_progress < (b->tty ? 200 : 1000))
        return;
    b->last_progress = now;
    double el = (double)(now - b->t0_mono) / 1000.0;
    char eta[32] = "-";
    if (b->done > 0 && b->done < b->nitems)
        snprintf(eta, sizeof eta, "%.0fs", el / b->done * (b->nitems - b->done));
    fprintf(stderr, "%sbench %s: %d/%d done, %d running, %d failed, ETA %s%s", b->tty ? "\r" : "",
            b->id, b->done, b->nitems, b->open, b->failed, eta, b->tty && !final ? "" : "\n");
    fflush(stderr);
}

static int
has_command(const wt_bench_suite_t *s)
{
    for (int i = 0; i < s->nscorers; i++)
        if (s->scorers[i].kind == WT_BENCH_COMMAND)
            return 1;
    return 0;
}

/* mkdir -p without a shell: most cases have no fixture, and a fork per
 * case would cost the runner more than the rest of its work. */
static int
mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Copies the case's fixture (or clones its repo) into it->dir as a git
 * repository the session's worktree is made from; kept across a resume. */
static int
prepare_workspace(bench_t *b, item_t *it, char *why, size_t cap)
{
    snprintf(it->dir, sizeof it->dir, "%s/work/%s/%s/%s/%d", b->o->out_dir, b->id, it->v->name,
             it->c->id, it->repeat);
    char *env[5] = {NULL};
    env[0] = wt_xasprintf("WT_DST=%s", it->dir);
    env[1] = wt_xasprintf("WT_SRC=%s", it->c->workspace ? it->c->workspace : "");
    env[2] = wt_xasprintf("WT_REPO=%s", it->c->repo ? it->c->repo : "");
    env[3] = wt_xasprintf("WT_REF=%s", it->c->ref ? it->c->ref : "");
    const char *script =
        "set -e; [ -d \"$WT_DST/.git\" ] && exit 0; rm -rf \"$WT_DST\"; mkdir -p \"$WT_DST\"\n"
        "if [ -n \"$WT_REPO\" ]; then git clone -q \"$WT_REPO\" \"$WT_DST\";\n"
        "  [ -z \"$WT_REF\" ] || git -C \"$WT_DST\" checkout -q \"$WT_REF\"; exit 0; fi\n"
        "[ -z \"$WT_SRC\" ] || cp -a \"$WT_SRC/.\" \"$WT_DST/\"\n"
        "cd \"$WT_DST\"; git init -q; git add -A\n"
        "git -c user.name=worktrain -c user.email=bench@worktrain.invalid commit -q "
        "--allow-empty -m 'bench fixture'\n";
    int needs_repo = it->c->workspace || it->c->repo;
    int rc = 0;
    if (needs_repo) {
        char *out = NULL;
        rc = wt_bench_command(script, NULL, env, 120000, 4096, &out, why, cap);
        if (rc > 0)
            snprintf(why, cap, "preparing the workspace of case %s failed: %.200s", it->c->id,
                     out ? out : "");
        free(out);
    } else if (has_command(b->s) && mkdir_p(it->dir) != 0) { /* the command scorer's cwd */
        snprintf(why, cap, "cannot create '%s': %s", it->dir, strerror(errno));
        rc = -1;
    }
    for (int i = 0; i < 4; i++)
        free(env[i]);
    return rc == 0 ? 0 : -1;
}

static json_t *
case_entry(const item_t *it)
{
    return json_pack("{s:s,s:i,s:n,s:s,s:{},s:{},s:i,s:i,s:f,s:i,s:i}", "id", it->c->id, "repeat",
                     it->repeat, "session", "outcome", "error", "scores", "errors", "input_tokens",
                     0, "output_tokens", 0, "cost_usd", 0.0, "wall_ms", 0, "turns", 0);
}

static void
store_scored(bench_t *b, item_t *it)
{
    char field[200];
    item_field(it, field, sizeof field);
    char *js = json_dumps(it->scored, JSON_COMPACT);
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(b->redis, &err, "HSET %s %s %s", b->rkey, field, js);
    if (r)
        freeReplyObject(r);
    else
        fprintf(stderr, "bench %s: could not store %s: %s\n", b->id, field, err.msg);
    free(js);
    b->open--;
    b->done++;
    const char *oc = json_string_value(json_object_get(it->scored, "outcome"));
    if (oc == NULL || strcmp(oc, "pass") != 0)
        b->failed++;
}

/* The path of the worktree the worker made for sid from it->dir, or "". */
static void
find_worktree(const item_t *it, char *out, size_t cap)
{
    out[0] = '\0';
    char *env[3] = {wt_xasprintf("WT_DST=%s", it->dir), NULL, NULL};
    char *text = NULL, why[128];
    int rc = wt_bench_command("git -C \"$WT_DST\" worktree list --porcelain", NULL, env, 20000,
                              256 * 1024, &text, why, sizeof why);
    free(env[0]);
    if (rc != 0 || text == NULL) {
        free(text);
        return;
    }
    char want[200];
    snprintf(want, sizeof want, "branch refs/heads/worktrain/%s", it->sid);
    char path[PATH_MAX] = "";
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, "worktree ", 9) == 0)
            snprintf(path, sizeof path, "%s", line + 9);
        else if (strcmp(line, want) == 0)
            snprintf(out, cap, "%s", path);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
}

static int64_t
hash_int(redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING
               ? strtoll(r->element[i]->str, NULL, 10)
               : 0;
}

/* Runs one command scorer; fills scores/errors. */
static void
run_command(bench_t *b, item_t *it, const wt_bench_scorer_t *sc, const char *cwd, json_t *scores,
            json_t *errors)
{
    char rep[16];
    snprintf(rep, sizeof rep, "%d", it->repeat);
    char *env[] = {wt_xasprintf("WT_BENCH_RUN=%s", b->id),
                   wt_xasprintf("WT_BENCH_CASE=%s", it->c->id),
                   wt_xasprintf("WT_BENCH_VARIANT=%s", it->v->name),
                   wt_xasprintf("WT_BENCH_REPEAT=%s", rep),
                   wt_xasprintf("WT_BENCH_SESSION=%s", it->sid),
                   NULL};
    char why[256] = "", *out = NULL;
    int rc =
        wt_bench_command(sc->run, cwd, env, sc->timeout_ms, MAX_CMD_OUTPUT, &out, why, sizeof why);
    for (int i = 0; env[i]; i++)
        free(env[i]);
    if (rc < 0) {
        json_object_set_new(scores, sc->name, json_null());
        json_object_set_new(errors, sc->name, json_string(why));
    } else {
        json_object_set_new(scores, sc->name, json_real(rc == 0 ? 1.0 : 0.0));
        if (rc != 0) {
            size_t n = out ? strlen(out) : 0;
            const char *tail = n > 1500 ? out + n - 1500 : (out ? out : "");
            char *msg = wt_xasprintf("'%s' exited %d: %s", sc->run, rc, tail);
            json_object_set_new(errors, sc->name, json_string(msg));
            free(msg);
        }
    }
    if (out && *out) { /* output kept next to the results */
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s.out", it->dir, sc->name);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs(out, f);
            fclose(f);
        }
    }
    free(out);
}

/* Scores an ended session: result is its result object (taken). */
static void
score(bench_t *b, item_t *it, json_t *result)
{
    json_t *e = case_entry(it);
    json_object_set_new(e, "session", json_string(it->sid));
    char key[160];
    wt_store_key(&b->store, key, sizeof key, "session:%s", it->sid);
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(b->redis, &err,
                                     "HMGET %s input_tokens output_tokens turns started_ms "
                                     "ended_ms created_ms",
                                     key);
    if (r && r->type == REDIS_REPLY_ARRAY) {
        int64_t in = hash_int(r, 0), out = hash_int(r, 1), st = hash_int(r, 3);
        int64_t en = hash_int(r, 4), cr = hash_int(r, 5);
        json_object_set_new(e, "input_tokens", json_integer(in));
        json_object_set_new(e, "output_tokens", json_integer(out));
        json_object_set_new(e, "turns", json_integer(hash_int(r, 2)));
        json_object_set_new(e, "wall_ms", json_integer(en > 0 ? en - (st > 0 ? st : cr) : 0));
        json_object_set_new(e, "cost_usd",
                            json_real(wt_bench_suite_cost(b->s, it->v->model, in, out)));
    }
    if (r)
        freeReplyObject(r);
    const char *outcome = json_string_value(json_object_get(result, "outcome")) ?: "?";
    json_object_set_new(e, "session_outcome", json_string(outcome));
    json_t *scores = json_object_get(e, "scores"), *errors = json_object_get(e, "errors");
    json_t *output = json_object_get(result, "output");
    int pass = 1, error = 0;
    if (strcmp(outcome, "success") != 0) {
        const char *detail = json_string_value(json_object_get(result, "detail")) ?: "";
        char *why = wt_xasprintf("session ended %s: %s", outcome, detail);
        json_object_set_new(e, "reason", json_string(why));
        free(why);
        for (int i = 0; i < b->s->nscorers; i++)
            json_object_set_new(scores, b->s->scorers[i].name, json_real(0.0));
        pass = 0;
    }
    char wt[PATH_MAX] = "";
    for (int i = 0; pass >= 0 && strcmp(outcome, "success") == 0 && i < b->s->nscorers; i++) {
        const wt_bench_scorer_t *sc = &b->s->scorers[i];
        if (sc->kind == WT_BENCH_COMMAND) {
            if (wt[0] == '\0' && (it->c->workspace || it->c->repo))
                find_worktree(it, wt, sizeof wt);
            if (wt[0] == '\0' && (it->c->workspace || it->c->repo)) {
                json_object_set_new(scores, sc->name, json_null());
                json_object_set_new(errors, sc->name,
                                    json_string("the session's workspace was not found (is the "
                                                "worker on another machine?)"));
            } else {
                run_command(b, it, sc, wt[0] ? wt : it->dir, scores, errors);
            }
        } else if (sc->kind == WT_BENCH_LLM_JUDGE) {
            json_t *got = sc->output ? wt_bench_path_get(output, sc->output) : output;
            double v = 0;
            int64_t jin = 0, jout = 0;
            char why[256] = "";
            int jrc = wt_bench_judge_score(sc, it->c->goal, it->c->expect, got, &v, &jin, &jout,
                                           why, sizeof why);
            json_object_set_new(scores, sc->name, jrc == 0 ? json_real(v) : json_null());
            if (jrc != 0)
                json_object_set_new(errors, sc->name, json_string(why));
            json_object_set_new(
                e, "judge_input_tokens",
                json_integer(json_integer_value(json_object_get(e, "judge_input_tokens")) + jin));
            json_object_set_new(
                e, "judge_output_tokens",
                json_integer(json_integer_value(json_object_get(e, "judge_output_tokens")) + jout));
        } else {
            json_t *got = sc->output ? wt_bench_path_get(output, sc->output) : NULL;
            json_t *want = sc->expect ? json_object_get(it->c->expect, sc->expect) : NULL;
            double v = 0;
            char why[256] = "";
            if (wt_bench_score_value(sc, got, want, &v, why, sizeof why) != 0) {
                json_object_set_new(scores, sc->name, json_null());
                json_object_set_new(errors, sc->name, json_string(why));
            } else {
                json_object_set_new(scores, sc->name, json_real(v));
                if (got == NULL)
                    json_object_set_new(errors, sc->name,
                                        json_string("the output has no value at this path"));
            }
        }
        json_t *v = json_object_get(scores, sc->name);
        if (json_is_null(v))
            error = 1;
        else if (json_real_value(v) < sc->pass_at)
            pass = 0;
    }
    json_object_set_new(e, "outcome", json_string(error ? "error" : pass ? "pass" : "fail"));
    json_decref(result);
    it->scored = e;
    store_scored(b, it);
}

/* The SPAWN of an item whose workspace is ready, or NULL when preparing
 * it failed (the item is then scored failed and the run goes on). */
static wt_msg_t *
spawn_msg(bench_t *b, item_t *it)
{
    char why[300] = "";
    if (prepare_workspace(b, it, why, sizeof why) != 0) {
        it->scored = case_entry(it);
        json_object_set_new(it->scored, "reason", json_string(why));
        b->open++;
        store_scored(b, it);
        return NULL;
    }
    json_t *ctx = json_deep_copy(it->c->context);
    json_t *ac = json_deep_copy(it->v->agent_config);
    if (it->v->model)
        json_object_set_new(ac, "model", json_string(it->v->model));
    if (it->v->tier)
        json_object_set_new(ac, "modelTier", json_string(it->v->tier));
    if (json_object_size(ac))
        json_object_set_new(ctx, "agentConfig", ac);
    else
        json_decref(ac);
    json_object_set_new(ctx, "bench", json_string(b->id));
    json_object_set_new(ctx, "case", json_string(it->c->id));
    json_object_set_new(ctx, "variant", json_string(it->v->name));
    json_object_set_new(ctx, "repeat", json_integer(it->repeat));
    if (it->c->workspace || it->c->repo)
        json_object_set_new(ctx, "keepWorkspace", json_true());
    if (b->o->record_dir)
        json_object_set_new(ctx, "benchRecord", json_string(b->o->record_dir));
    if (b->o->replay_dir)
        json_object_set_new(ctx, "benchReplay", json_string(b->o->replay_dir));
    char *ctx_json = json_dumps(ctx, JSON_COMPACT);
    json_decref(ctx);
    char key[256];
    snprintf(key, sizeof key, "bench:%s:%s:%s:%d", b->id, it->v->name, it->c->id, it->repeat);
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    wt_msg_set(&m->workflow, it->v->workflow);
    wt_msg_set(&m->goal, it->c->goal);
    wt_msg_set(&m->context_json, ctx_json);
    wt_msg_set(&m->key, key);
    wt_msg_set(&m->run, b->id);
    wt_msg_set(&m->phase, it->c->id);
    if (it->c->workspace || it->c->repo)
        wt_msg_set(&m->workspace, it->dir);
    m->timeout_ms = b->s->timeout_ms;
    m->max_turns = b->s->max_turns;
    if (it->v->nrequire) {
        m->require.items = wt_xcalloc((size_t)it->v->nrequire, sizeof(char *));
        for (int i = 0; i < it->v->nrequire; i++)
            m->require.items[i] = wt_xstrdup(it->v->require[i]);
        m->require.n = (size_t)it->v->nrequire;
    }
    free(ctx_json);
    return m;
}

/* The broker's answer to an item's SPAWN (taken). */
static void
spawned(bench_t *b, item_t *it, wt_msg_t *rep)
{
    wt_err_t err = {0};
    b->open++;
    if (rep->cmd != WT_CMD_SPAWNED || rep->session == NULL) {
        it->scored = case_entry(it);
        char *msg = wt_xasprintf("the broker refused the session: %s",
                                 rep->message ? rep->message : "no reason given");
        json_object_set_new(it->scored, "reason", json_string(msg));
        free(msg);
        store_scored(b, it);
    } else {
        it->sid = wt_xstrdup(rep->session);
        if (rep->existing) { /* resumed: it may have ended while no runner watched */
            json_t *res = NULL;
            char hk[160];
            wt_store_key(&b->store, hk, sizeof hk, "session:%s", it->sid);
            redisReply *r = wt_redis_command(b->redis, &err, "HGET %s status", hk);
            if (r && r->type == REDIS_REPLY_STRING && wt_store_status_terminal(r->str))
                res = wt_store_result(&b->store, it->sid, &err);
            if (r)
                freeReplyObject(r);
            if (res)
                score(b, it, res);
        }
    }
    wt_msg_destroy(&rep);
}

/* Spawns items until `concurrency` are open, all SPAWNs of a round sent
 * at once (one round trip, not one per session); -1 when the broker does
 * not answer (fatal set; the run can be resumed). */
static int
top_up(bench_t *b, char *fatal, size_t cap)
{
    int want = b->o->concurrency - b->open;
    if (want <= 0 || b->next >= b->nitems)
        return 0;
    wt_msg_t **reqs = wt_xcalloc((size_t)want, sizeof *reqs);
    wt_msg_t **reps = wt_xcalloc((size_t)want, sizeof *reps);
    item_t **its = wt_xcalloc((size_t)want, sizeof *its);
    int n = 0;
    while (n < want && b->next < b->nitems) {
        item_t *it = &b->items[b->next++];
        if (it->scored)
            continue;
        wt_msg_t *m = spawn_msg(b, it);
        if (m) {
            reqs[n] = m;
            its[n++] = it;
        }
    }
    wt_err_t err = {0};
    int rc =
        n ? wt_client_request_batch(b->client, reqs, n, (int)b->o->spawn_wait_ms, reps, &err) : 0;
    if (rc != 0)
        snprintf(fatal, cap, "the broker did not answer: %s", err.msg);
    for (int i = 0; i < n; i++) {
        wt_msg_destroy(&reqs[i]);
        if (rc == 0)
            spawned(b, its[i], reps[i]);
        else
            wt_msg_destroy(&reps[i]);
    }
    free(reqs);
    free(reps);
    free(its);
    return rc;
}

static item_t *
open_item(bench_t *b, const char *sid)
{
    for (int i = 0; i < b->next; i++)
        if (b->items[i].sid && !b->items[i].scored && strcmp(b->items[i].sid, sid) == 0)
            return &b->items[i];
    return NULL;
}

static int
read_events(bench_t *b, char *fatal, size_t cap)
{
    char key[128];
    wt_store_key(&b->store, key, sizeof key, "events");
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(b->redis, &err, "XREAD COUNT 1000 BLOCK 1000 STREAMS %s %s",
                                     key, b->last_id);
    if (r == NULL)
        return snprintf(fatal, cap, "reading %s: %s", key, err.msg), -1;
    int got = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *entries = r->element[0]->element[1];
        got = (int)entries->elements;
        for (size_t i = 0; i < entries->elements; i++) {
            redisReply *e = entries->element[i];
            snprintf(b->last_id, sizeof b->last_id, "%s", e->element[0]->str);
            const char *type = wt_redis_field(e->element[1], "type");
            const char *sid = wt_redis_field(e->element[1], "session");
            item_t *it =
                type && sid && strcmp(type, "session_completed") == 0 ? open_item(b, sid) : NULL;
            json_t *res = it ? wt_store_result(&b->store, sid, &err) : NULL;
            if (res)
                score(b, it, res);
        }
    }
    freeReplyObject(r);
    return got;
}

static void
check_open(bench_t *b)
{
    for (int i = 0; i < b->next; i++) {
        item_t *it = &b->items[i];
        if (it->sid == NULL || it->scored)
            continue;
        char hk[160];
        wt_err_t err = {0};
        wt_store_key(&b->store, hk, sizeof hk, "session:%s", it->sid);
        redisReply *r = wt_redis_command(b->redis, &err, "HGET %s status", hk);
        int ended = r && r->type == REDIS_REPLY_STRING && wt_store_status_terminal(r->str);
        if (r)
            freeReplyObject(r);
        json_t *res = ended ? wt_store_result(&b->store, it->sid, &err) : NULL;
        if (res)
            score(b, it, res);
    }
}

static void
start_position(bench_t *b)
{
    char key[128];
    wt_store_key(&b->store, key, sizeof key, "events");
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(b->redis, &err, "XREVRANGE %s + - COUNT 1", key);
    snprintf(b->last_id, sizeof b->last_id, "0-0");
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1)
        snprintf(b->last_id, sizeof b->last_id, "%s", r->element[0]->element[0]->str);
    if (r)
        freeReplyObject(r);
}

/* Git commit of the suite's folder (the workflows under test live with
 * it in most repositories), "" outside git. */
static void
suite_commit(const wt_bench_suite_t *s, char *out, size_t cap)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", s->file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    char *env[] = {wt_xasprintf("WT_DIR=%s", dir), NULL};
    char *text = NULL, why[64];
    out[0] = '\0';
    if (wt_bench_command("git -C \"$WT_DIR\" rev-parse HEAD 2>/dev/null", NULL, env, 10000, 128,
                         &text, why, sizeof why) == 0 &&
        text)
        snprintf(out, cap, "%.40s", text);
    free(env[0]);
    free(text);
}

static int
write_record(bench_t *b, char *fatal, size_t cap)
{
    json_t *m = json_array();
    for (int i = 0; i < b->s->nvariants; i++)
        if (selected(b->o, b->s->variants[i].name))
            json_array_append_new(m, json_string(b->s->variants[i].name));
    char *mj = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    char file[PATH_MAX] = "", out[PATH_MAX] = "", commit[64], host[128] = "", runner[200];
    if (realpath(b->s->file, file) == NULL)
        snprintf(file, sizeof file, "%s", b->s->file);
    if (realpath(b->o->out_dir, out) == NULL)
        snprintf(out, sizeof out, "%s", b->o->out_dir);
    suite_commit(b->s, commit, sizeof commit);
    gethostname(host, sizeof host - 1);
    snprintf(runner, sizeof runner, "%s:%d", host, (int)getpid());
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(
        b->redis, &err,
        "HSET %s id %s suite %s file %s matrix %s repeat %d out %s status running started_ms %lld "
        "commit %s runner %s record %s replay %s",
        b->rkey, b->id, b->s->name, file, mj, b->o->repeat, out, (long long)b->started_ms, commit,
        runner, b->o->record_dir ? b->o->record_dir : "", b->o->replay_dir ? b->o->replay_dir : "");
    free(mj);
    if (r == NULL)
        return snprintf(fatal, cap, "writing %s: %s", b->rkey, err.msg), -1;
    freeReplyObject(r);
    char zkey[128];
    wt_store_key(&b->store, zkey, sizeof zkey, "bench:runs");
    r = wt_redis_command(b->redis, &err, "ZADD %s NX %lld %s", zkey, (long long)b->started_ms,
                         b->id);
    if (r)
        freeReplyObject(r);
    return 0;
}

/* Takes the cases scored before a resume from the record. */
static void
load_scored(bench_t *b)
{
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(b->redis, &err, "HGET %s started_ms", b->rkey);
    if (r && r->type == REDIS_REPLY_STRING)
        b->started_ms = strtoll(r->str, NULL, 10);
    if (r)
        freeReplyObject(r);
    for (int i = 0; i < b->nitems; i++) {
        char field[200];
        item_field(&b->items[i], field, sizeof field);
        r = wt_redis_command(b->redis, &err, "HGET %s %s", b->rkey, field);
        if (r && r->type == REDIS_REPLY_STRING)
            b->items[i].scored = json_loads(r->str, 0, NULL);
        if (r)
            freeReplyObject(r);
        if (b->items[i].scored) {
            b->done++;
            const char *oc = json_string_value(json_object_get(b->items[i].scored, "outcome"));
            b->failed += oc == NULL || strcmp(oc, "pass") != 0;
        }
    }
}

static json_t *
results(bench_t *b)
{
    json_t *vars = json_array();
    for (int i = 0; i < b->s->nvariants; i++) {
        const wt_bench_variant_t *v = &b->s->variants[i];
        if (!selected(b->o, v->name))
            continue;
        json_t *cases = json_array();
        for (int k = 0; k < b->nitems; k++)
            if (b->items[k].v == v && b->items[k].scored)
                json_array_append(cases, b->items[k].scored);
        json_array_append_new(vars, json_pack("{s:s,s:s?,s:s?,s:s,s:s,s:o}", "name", v->name,
                                              "provider", v->provider, "model", v->model, "mode",
                                              v->one_shot ? "one-shot" : "workflow", "workflow",
                                              v->workflow, "cases", cases));
    }
    char commit[64];
    suite_commit(b->s, commit, sizeof commit);
    return json_pack("{s:s,s:s,s:I,s:I,s:i,s:s,s:o}", "suite", b->s->name, "run", b->id,
                     "started_ms", (json_int_t)b->started_ms, "ended_ms",
                     (json_int_t)wt_clock_now_ms(), "repeat", b->o->repeat, "commit", commit,
                     "variants", vars);
}

static int
loop(bench_t *b, char *fatal, size_t cap)
{
    int64_t last_check = wt_clock_mono_ms();
    while (b->done < b->nitems) {
        if (wt_signal_stopping())
            return snprintf(fatal, cap, "interrupted (resume with --resume %s)", b->id), -1;
        if (top_up(b, fatal, cap) != 0)
            return -1;
        progress(b, 0);
        if (b->done >= b->nitems)
            break;
        int got = read_events(b, fatal, cap);
        if (got < 0)
            return -1;
        int64_t now = wt_clock_mono_ms();
        if (got == 0 || now - last_check > 5000) {
            check_open(b);
            last_check = now;
        }
    }
    return 0;
}

json_t *
wt_bench_run(const wt_bench_suite_t *s, const wt_bench_opts_t *o, wt_err_t *err)
{
    bench_t b = {.s = s, .o = o, .tty = isatty(2)};
    if (o->resume)
        snprintf(b.id, sizeof b.id, "%s", o->resume);
    else
        wt_ulid_make(b.id, wt_clock_now_ms());
    b.started_ms = wt_clock_now_ms();
    b.t0_mono = wt_clock_mono_ms();
    b.redis = wt_redis_new(o->redis_url, 5000, err);
    if (b.redis == NULL)
        return NULL;
    wt_store_init(&b.store, b.redis, NULL);
    wt_store_key(&b.store, b.rkey, sizeof b.rkey, "bench:%s", b.id);
    b.client = wt_client_new(o->broker, o->curve, err);
    if (b.client == NULL) {
        wt_redis_destroy(&b.redis);
        return NULL;
    }
    for (int i = 0; i < s->nvariants; i++)
        if (selected(o, s->variants[i].name))
            b.nitems += s->ncases * o->repeat;
    b.items = wt_xcalloc((size_t)(b.nitems ? b.nitems : 1), sizeof *b.items);
    int n = 0;
    for (int i = 0; i < s->nvariants; i++)
        for (int c = 0; selected(o, s->variants[i].name) && c < s->ncases; c++)
            for (int r = 0; r < o->repeat; r++)
                b.items[n++] = (item_t){.v = &s->variants[i], .c = &s->cases[c], .repeat = r};
    char fatal[512] = "";
    if (o->resume)
        load_scored(&b);
    start_position(&b);
    int rc = o->resume ? 0 : write_record(&b, fatal, sizeof fatal);
    if (rc == 0 && !o->quiet)
        fprintf(stderr, "bench %s: suite %s, %d sessions (%d already scored)\n", b.id, s->name,
                b.nitems, b.done);
    if (rc == 0)
        rc = loop(&b, fatal, sizeof fatal);
    progress(&b, 1);
    json_t *out = NULL;
    if (rc == 0)
        out = results(&b);
    else
        wt_err_set(err, WT_EIO, "bench %s: %s", b.id, fatal);
    for (int i = 0; i < b.nitems; i++) {
        free(b.items[i].sid);
        json_decref(b.items[i].scored);
    }
    free(b.items);
    wt_client_destroy(&b.client);
    wt_redis_destroy(&b.redis);
    return out;
}
