/* wt_run - see wt_run.h. One thread; all state is in this struct and in
 * Redis. */
#include "wt_run.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_client.h"
#include "wt_clock.h"
#include "wt_log.h"
#include "wt_notify.h"
#include "wt_redis.h"
#include "wt_signal.h"
#include "wt_store.h"
#include "wt_ulid.h"
#include "wt_wsspec.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RUN_BLOCK_MS       1000    /* longest XREAD BLOCK */
#define RUN_NOTIFY_POLL_MS 50      /* XREAD BLOCK while a notification is in flight */
#define RUN_RECHECK_MS     5000    /* longest time between hash re-reads */
#define RUN_SOURCE_MAX     1048576 /* pipeline text kept in the record */
#define RUN_OWNER_MS       10000   /* lease of the coordinator on its run */

/* The coordinator's lease on <p>run:<id>:owner: taken when it is free, ours
 * (refresh) or held by ARGV[3] (a dead coordinator on this host). Returns 1,
 * or the holder. */
static const char owner_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == false or v == ARGV[1] or (ARGV[3] ~= '' and v == ARGV[3]) then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return v\n";
/* Adopts session ARGV[2] as phase ARGV[4] of run ARGV[3] (--adopt): it
 * joins the run (its run and phase fields, <p>run:<id>:sessions) unless it
 * is in another run. Returns {1, workflow}, {0, other run}, or an error
 * when there is no such session. */
static const char adopt_lua[] =
    "local p, sid, run, phase = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local hk = p..'session:'..sid\n"
    "local cur = redis.call('HMGET', hk, 'workflow', 'run', 'created_ms')\n"
    "if not cur[1] then return redis.error_reply('NOTFOUND no session '..sid) end\n"
    "if cur[2] and cur[2] ~= '' and cur[2] ~= run then return {0, cur[2]} end\n"
    "redis.call('HSET', hk, 'run', run, 'phase', phase)\n"
    "redis.call('ZADD', p..'run:'..run..':sessions', cur[3] or '0', sid)\n"
    "return {1, cur[1]}\n";
static const char unown_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
    "return 1\n";

typedef enum { PH_PENDING, PH_RUNNING, PH_DONE, PH_SKIPPED, PH_FAILED } ph_state_t;

static const char *const state_names[] = {"pending", "running", "done", "skipped", "failed"};

typedef struct kid {
    char *sid;      /* owned; NULL until spawned */
    json_t *result; /* owned; NULL until it ended */
} kid_t;

typedef struct phase_rt {
    const wt_phase_t *def; /* borrowed from the pipeline */
    ph_state_t state;
    int attempt;      /* current attempt, 1-based; 0 before the first */
    kid_t *kids;      /* owned: sessions of the current attempt */
    int nkids;        /* 1, or the number of foreach items */
    int open;         /* kids without a result */
    json_t *items;    /* owned foreach list, or NULL */
    json_t *sessions; /* owned array: every session over all attempts */
    json_t *previous; /* owned view of the previous attempt, or NULL */
    json_t *stored;   /* owned view from the record (resume), or NULL */
    int retry_exhausted;
    char reason[512];
    struct notify_job *job; /* owned: a notify phase's delivery in flight */
} phase_rt_t;

/* A notify phase's delivery runs on its own thread (with the notify
 * library's retries it can take a minute): the loop goes on waiting for
 * sessions, starting phases and renewing its lease meanwhile. Everything
 * here is owned by the job; the loop reads the results after `done`. */
typedef struct notify_job {
    pthread_t thread;
    atomic_int done;     /* set by the thread when it has finished */
    char *urls[2];       /* owned expanded webhook / slack URL, or NULL */
    json_t *body;        /* owned */
    char *event;         /* owned */
    wt_notify_cfg_t cfg; /* copy */
    int tried;           /* targets tried */
    int failed;          /* targets that failed */
    char why[300];       /* the last failure */
} notify_job_t;

static void notify_job_free(notify_job_t *job);

struct wt_run {
    wt_run_cfg_t cfg;
    const wt_pipeline_t *p; /* borrowed */
    char id[WT_ULID_LEN + 1];
    json_t *inputs; /* owned copy */
    char *file;     /* owned */
    char *source;   /* owned */
    phase_rt_t *ph; /* owned, pipeline order */
    int *order;     /* owned topological order */
    wt_redis_t *redis;
    wt_store_t store;
    wt_client_t *client;
    char last_id[64]; /* fleet stream position */
    int64_t created_ms;
    int resumes;
    int notified;  /* the end-of-run notification went out (record) */
    char who[300]; /* host:pid of this coordinator */
    int lost;      /* another coordinator holds the run: write nothing */
    wt_redis_script_t owner_script, unown_script, adopt_script;
    json_t *adopt;      /* owned: phase id -> adopted session id (may be empty) */
    const char *status; /* running succeeded failed timeout interrupted */
    char fatal[300];    /* why the run could not go on (Redis, broker) */
    int dirty;          /* phases changed since the record was last written */
};

/* --- progress and views --- */

static void say(const wt_run_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(const wt_run_t *self, const char *fmt, ...)
{
    if (self->cfg.quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "run %s: ", self->id);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int
is_terminal(ph_state_t s)
{
    return s == PH_DONE || s == PH_SKIPPED || s == PH_FAILED;
}

/* The view of one phase (see wt_run.h); a new reference. */
static json_t *
phase_view(const phase_rt_t *ph)
{
    if (ph->stored && is_terminal(ph->state))
        return json_deep_copy(ph->stored);
    json_t *v = json_object();
    json_object_set_new(v, "state", json_string(state_names[ph->state]));
    json_object_set_new(v, "done", json_boolean(ph->state == PH_DONE));
    json_object_set_new(v, "skipped", json_boolean(ph->state == PH_SKIPPED));
    json_object_set_new(v, "failed", json_boolean(ph->state == PH_FAILED));
    json_object_set_new(v, "attempts", json_integer(ph->attempt));
    json_object_set_new(v, "retryExhausted", json_boolean(ph->retry_exhausted));
    json_object_set_new(v, "reason", json_string(ph->reason));
    json_object_set_new(v, "sessions",
                        json_copy(ph->sessions)); /* a snapshot: views outlive attempts */
    json_t *needs = json_array();                 /* the DAG's edges, for the console */
    for (int n = 0; n < ph->def->nneeds; n++)
        json_array_append_new(needs, json_string(ph->def->needs[n]));
    json_object_set_new(v, "needs", needs);
    if (ph->def->workflow)
        json_object_set_new(v, "workflow", json_string(ph->def->workflow));
    if (ph->items) {
        json_t *outs = json_array(), *results = json_array();
        int ok = 1;
        for (int k = 0; k < ph->nkids; k++) {
            json_t *r = ph->kids[k].result;
            json_array_append(outs, r ? json_object_get(r, "output") : json_null());
            json_array_append(results, r ? r : json_null());
            const char *o = r ? json_string_value(json_object_get(r, "outcome")) : NULL;
            ok &= o != NULL && strcmp(o, "success") == 0;
        }
        json_object_set_new(v, "output", outs);
        json_object_set_new(v, "results", results);
        json_object_set_new(v, "outcome",
                            ph->open == 0 && ph->attempt > 0 ? json_string(ok ? "success" : "error")
                                                             : json_null());
        json_object_set_new(v, "session", json_null());
    } else if (ph->nkids == 1 && ph->kids[0].result) {
        json_t *r = ph->kids[0].result;
        json_object_set(v, "outcome", json_object_get(r, "outcome"));
        json_object_set(v, "output", json_object_get(r, "output"));
        json_object_set(v, "detail", json_object_get(r, "detail"));
        if (json_object_get(r, "delivery"))
            json_object_set(v, "delivery", json_object_get(r, "delivery"));
        json_object_set_new(v, "session", json_string(ph->kids[0].sid));
    } else {
        json_object_set_new(v, "outcome", json_null());
        json_object_set_new(v, "output", json_null());
        json_object_set_new(v, "session",
                            ph->nkids == 1 && ph->kids[0].sid ? json_string(ph->kids[0].sid)
                                                              : json_null());
    }
    return v;
}

/* What expressions and templates see: inputs and every phase that has
 * started. extras (borrowed, may be NULL) are merged on top. */
static json_t *
build_scope(const wt_run_t *self, const json_t *extras)
{
    json_t *scope = json_object();
    json_object_set(scope, "inputs", self->inputs);
    for (int i = 0; i < self->p->nphases; i++)
        if (self->ph[i].state != PH_PENDING)
            json_object_set_new(scope, self->p->phases[i].id, phase_view(&self->ph[i]));
    if (extras)
        json_object_update(scope, (json_t *)extras);
    return scope;
}

/* --- the run record --- */

static void
persist(wt_run_t *self)
{
    if (self->lost)
        return;
    self->dirty = 0;
    char key[160], now[24], created[24], resumes[16];
    wt_store_key(&self->store, key, sizeof key, "run:%s", self->id);
    snprintf(now, sizeof now, "%lld", (long long)wt_clock_now_ms());
    snprintf(created, sizeof created, "%lld", (long long)self->created_ms);
    snprintf(resumes, sizeof resumes, "%d", self->resumes);
    json_t *phases = json_array();
    for (int i = 0; i < self->p->nphases; i++) {
        json_t *v = phase_view(&self->ph[i]);
        json_object_set_new(v, "id", json_string(self->p->phases[i].id));
        json_array_append_new(phases, v);
    }
    char *pj = json_dumps(phases, JSON_COMPACT);
    char *ij = json_dumps(self->inputs, JSON_COMPACT);
    char *aj = json_dumps(self->adopt, JSON_COMPACT);
    json_decref(phases);
    const char *who = self->who;
    const char *ended = strcmp(self->status, "running") == 0 ? "" : now;
    const char *argv[] = {
        "HSET",       key,       "id",         self->id, "pipeline", self->p->name, "file",
        self->file,   "source",  self->source, "inputs", ij,         "status",      self->status,
        "created_ms", created,   "updated_ms", now,      "ended_ms", ended,         "coordinator",
        who,          "resumes", resumes,      "phases", pj,         "adopt",       aj};
    wt_err_t err = {0};
    redisReply *r =
        wt_redis_commandv(self->redis, (int)(sizeof argv / sizeof argv[0]), argv, NULL, &err);
    if (r == NULL)
        say(self, "cannot update the run record: %s", err.msg);
    else
        freeReplyObject(r);
    free(pj);
    free(ij);
    free(aj);
}

json_t *
wt_run_load_record(const wt_run_cfg_t *cfg, const char *run_id, wt_err_t *err)
{
    wt_redis_t *redis = wt_redis_new(cfg->redis_url, 5000, err);
    if (redis == NULL)
        return NULL;
    wt_store_t store;
    wt_store_init(&store, redis, cfg->prefix);
    char key[160];
    wt_store_key(&store, key, sizeof key, "run:%s", run_id);
    redisReply *r = wt_redis_command(redis, err, "HGETALL %s", key);
    json_t *rec = NULL;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        rec = json_object();
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            json_object_set_new(rec, r->element[i]->str, json_string(r->element[i + 1]->str));
        json_t *in = json_loads(json_string_value(json_object_get(rec, "inputs")), 0, NULL);
        json_t *ph = json_loads(json_string_value(json_object_get(rec, "phases")), 0, NULL);
        if (!json_is_object(in) || !json_is_array(ph) ||
            !json_is_string(json_object_get(rec, "source"))) {
            wt_err_set(err, WT_EINVAL, "run '%s': the record in Redis is damaged", run_id);
            json_decref(rec);
            rec = NULL;
        } else {
            json_object_set(rec, "inputs", in);
            json_object_set(rec, "phases", ph);
        }
        json_decref(in);
        json_decref(ph);
    } else if (r) {
        wt_err_set(err, WT_ENOTFOUND, "run '%s' not found in Redis", run_id);
    }
    if (r)
        freeReplyObject(r);
    wt_redis_destroy(&redis);
    return rec;
}

/* --- lifecycle --- */

static wt_run_t *
run_alloc(const wt_run_cfg_t *cfg, const wt_pipeline_t *p, wt_err_t *err)
{
    wt_run_t *self = wt_xcalloc(1, sizeof *self);
    self->cfg = *cfg;
    if (self->cfg.spawn_wait_ms <= 0)
        self->cfg.spawn_wait_ms = 30000;
    self->p = p;
    self->status = "running";
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(self->who, sizeof self->who, "%s:%d", host, (int)getpid());
    wt_redis_script_init(&self->owner_script, owner_lua);
    wt_redis_script_init(&self->unown_script, unown_lua);
    wt_redis_script_init(&self->adopt_script, adopt_lua);
    self->adopt = json_object();
    self->order = wt_pipeline_topo_order(p);
    self->ph = wt_xcalloc((size_t)(p->nphases ? p->nphases : 1), sizeof *self->ph);
    for (int i = 0; i < p->nphases; i++) {
        self->ph[i].def = &p->phases[i];
        self->ph[i].sessions = json_array();
    }
    if (self->order == NULL) {
        wt_err_set(err, WT_EINVAL, "pipeline '%s' has a cycle in its needs", p->name);
        wt_run_destroy(&self);
        return NULL;
    }
    self->redis = wt_redis_new(cfg->redis_url, 5000, err);
    if (self->redis == NULL) {
        wt_run_destroy(&self);
        return NULL;
    }
    /* a run waits out a Redis master failover (sentinel URLs) */
    wt_redis_set_patience(self->redis, WT_REDIS_CLIENT_PATIENCE_MS);
    wt_store_init(&self->store, self->redis, cfg->prefix);
    self->client = wt_client_new(cfg->broker, cfg->curve, err);
    if (self->client == NULL) {
        wt_run_destroy(&self);
        return NULL;
    }
    return self;
}

/* The text of file for the record, or NULL. */
static char *
read_source(const char *file)
{
    wt_buf_t b;
    wt_buf_init(&b, RUN_SOURCE_MAX);
    if (file == NULL || wt_buf_read_file(&b, file, NULL) != 0) {
        wt_buf_release(&b);
        return NULL;
    }
    return wt_buf_detach(&b);
}

wt_run_t *
wt_run_new(const wt_run_cfg_t *cfg, const wt_pipeline_t *p, const json_t *inputs, const char *file,
           const char *source, wt_err_t *err)
{
    if (source && strlen(source) > RUN_SOURCE_MAX) {
        wt_err_set(err, WT_ELIMIT, "pipeline '%s' is larger than %d bytes", file, RUN_SOURCE_MAX);
        return NULL;
    }
    wt_run_t *self = run_alloc(cfg, p, err);
    if (self == NULL)
        return NULL;
    self->created_ms = wt_clock_now_ms();
    wt_ulid_make(self->id, self->created_ms);
    self->inputs = json_deep_copy(inputs);
    if (json_is_object(cfg->adopt))
        json_object_update(self->adopt, (json_t *)cfg->adopt);
    self->file = wt_xstrdup(file ? file : "");
    self->source = source ? wt_xstrdup(source) : read_source(file);
    if (self->source == NULL) {
        wt_err_set(err, WT_EIO, "cannot read pipeline '%s' (or it is over %d bytes)", file,
                   RUN_SOURCE_MAX);
        wt_run_destroy(&self);
        return NULL;
    }
    /* The record exists before the first SPAWN: a coordinator that dies
     * while the broker is slow (or a big foreach is being started) leaves
     * a run that --resume can find. */
    persist(self);
    char key[160];
    wt_store_key(&self->store, key, sizeof key, "runs");
    redisReply *r = wt_redis_command(self->redis, err, "ZADD %s %lld %s", key,
                                     (long long)self->created_ms, self->id);
    if (r == NULL) {
        wt_run_destroy(&self);
        return NULL;
    }
    freeReplyObject(r);
    return self;
}

wt_run_t *
wt_run_resume(const wt_run_cfg_t *cfg, const wt_pipeline_t *p, const json_t *record, wt_err_t *err)
{
    const char *id = json_string_value(json_object_get(record, "id"));
    if (id == NULL || strlen(id) != WT_ULID_LEN) {
        wt_err_set(err, WT_EINVAL, "run record has no valid id");
        return NULL;
    }
    wt_run_t *self = run_alloc(cfg, p, err);
    if (self == NULL)
        return NULL;
    snprintf(self->id, sizeof self->id, "%s", id);
    self->inputs = json_deep_copy(json_object_get(record, "inputs"));
    json_t *adopted =
        json_loads(json_string_value(json_object_get(record, "adopt")) ?: "{}", 0, NULL);
    if (json_is_object(adopted))
        json_object_update(self->adopt, adopted);
    json_decref(adopted);
    self->file = wt_xstrdup(json_string_value(json_object_get(record, "file")) ?: "");
    self->source = wt_xstrdup(json_string_value(json_object_get(record, "source")) ?: "");
    const char *created = json_string_value(json_object_get(record, "created_ms"));
    self->created_ms = created ? strtoll(created, NULL, 10) : wt_clock_now_ms();
    const char *resumes = json_string_value(json_object_get(record, "resumes"));
    self->resumes = (resumes ? (int)strtol(resumes, NULL, 10) : 0) + 1;
    const char *notified = json_string_value(json_object_get(record, "notified"));
    self->notified = notified && strcmp(notified, "1") == 0;
    /* Notify phases are not idempotent: keep what the record says of them. */
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(record, "phases"), i, v)
    {
        int k = wt_pipeline_find(p, json_string_value(json_object_get(v, "id")) ?: "");
        const char *st = json_string_value(json_object_get(v, "state"));
        if (k < 0 || p->phases[k].workflow != NULL || st == NULL)
            continue;
        for (int s = PH_DONE; s <= PH_FAILED; s++)
            if (strcmp(st, state_names[s]) == 0) {
                self->ph[k].state = (ph_state_t)s;
                self->ph[k].stored = json_deep_copy(v);
                json_object_del(self->ph[k].stored, "id");
            }
    }
    return self;
}

void
wt_run_destroy(wt_run_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_run_t *self = *self_p;
    for (int i = 0; self->ph && i < self->p->nphases; i++) {
        phase_rt_t *ph = &self->ph[i];
        for (int k = 0; k < ph->nkids; k++) {
            free(ph->kids[k].sid);
            json_decref(ph->kids[k].result);
        }
        free(ph->kids);
        json_decref(ph->items);
        json_decref(ph->sessions);
        json_decref(ph->previous);
        json_decref(ph->stored);
        if (ph->job) { /* bounded by the notify library's retry policy */
            pthread_join(ph->job->thread, NULL);
            notify_job_free(ph->job);
        }
    }
    free(self->ph);
    free(self->order);
    json_decref(self->inputs);
    json_decref(self->adopt);
    free(self->file);
    free(self->source);
    wt_client_destroy(&self->client);
    wt_redis_destroy(&self->redis);
    free(self);
    *self_p = NULL;
}

const char *
wt_run_id(const wt_run_t *self)
{
    return self->id;
}

/* --- phases --- */

static void finish(wt_run_t *self, phase_rt_t *ph, ph_state_t st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
finish(wt_run_t *self, phase_rt_t *ph, ph_state_t st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ph->reason, sizeof ph->reason, fmt, ap);
    va_end(ap);
    ph->state = st;
    self->dirty = 1;
    say(self, "phase %s %s%s%s", ph->def->id, state_names[st], ph->reason[0] ? ": " : "",
        ph->reason);
}

/* Sets *ud when a path looks at a phase's failure (x.failed, x.state,
 * x.outcome): such an `if` decides for itself about failed needs. */
static void
failure_path(void *ud, const char *const *segs, int n, size_t offset)
{
    (void)offset;
    if (n >= 2 && (strcmp(segs[1], "failed") == 0 || strcmp(segs[1], "state") == 0 ||
                   strcmp(segs[1], "outcome") == 0))
        *(int *)ud = 1;
}

/* "$NAME" and "${NAME}" from the environment. Returns a new string, or NULL
 * with the first unset name in missing. */
static char *
expand_env(const char *text, char *missing, size_t cap)
{
    wt_buf_t b;
    wt_buf_init(&b, 8192); /* a URL */
    for (const char *p = text; *p;) {
        if (*p != '$') {
            wt_buf_append(&b, p++, 1, NULL);
            continue;
        }
        int braced = p[1] == '{';
        const char *s = p + 1 + braced;
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
        if (n == 0 || (braced && s[n] != '}')) {
            wt_buf_append(&b, p++, 1, NULL);
            continue;
        }
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)n, s);
        const char *v = getenv(name);
        if (v == NULL || *v == '\0') {
            snprintf(missing, cap, "%s", name);
            wt_buf_release(&b);
            return NULL;
        }
        if (wt_buf_append(&b, v, strlen(v), NULL) != 0) {
            snprintf(missing, cap, "%s (value longer than 8 KiB)", name);
            wt_buf_release(&b);
            return NULL;
        }
        p = s + n + braced;
    }
    char *out = wt_xstrdup(wt_buf_str(&b));
    wt_buf_release(&b);
    return out;
}

static void
inbox_add(wt_run_t *self, const char *kind, const char *outcome, const char *summary)
{
    const char *goal = json_string_value(json_object_get(self->inputs, "goal"));
    const char *fields[] = {"run",   self->id,  "workflow", self->p->name, "outcome",
                            outcome, "summary", summary,    "goal",        goal ? goal : ""};
    wt_err_t err = {0};
    if (wt_store_inbox_add(&self->store, kind, (int)(sizeof fields / sizeof fields[0]), fields,
                           &err) != 0)
        say(self, "cannot write the inbox: %s", err.msg);
}

/* Body of a notify phase or of the end-of-run notification. */
static json_t *
notify_body(const wt_run_t *self, const char *event, const char *phase, const char *message,
            const char *outcome)
{
    char ts[40];
    wt_clock_format_iso(wt_clock_now_ms(), ts, sizeof ts);
    json_t *phases = json_object();
    for (int i = 0; i < self->p->nphases; i++) {
        const phase_rt_t *ph = &self->ph[i];
        json_t *v = phase_view(ph), *brief = json_object();
        json_object_set(brief, "state", json_object_get(v, "state"));
        json_object_set(brief, "outcome", json_object_get(v, "outcome"));
        json_object_set(brief, "session", json_object_get(v, "session"));
        json_t *out = json_object_get(v, "output");
        json_object_set(brief, "context",
                        json_is_object(out) ? json_object_get(out, "context") : json_null());
        json_object_set_new(phases, ph->def->id, brief);
        json_decref(v);
    }
    json_t *goal = json_object_get(self->inputs, "goal");
    return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:O?, s:s, s:o}", "event", event,
                     "workflowId", self->p->name, "sessionId", self->id, "phase", phase, "outcome",
                     outcome, "detail", message, "runId", self->id, "goal",
                     json_is_string(goal) ? goal : NULL, "timestamp", ts, "phases", phases);
}

/* The notification settings of this process (WORKTRAIN_NOTIFY_*), with
 * outcomes recorded in this run's Redis. */
static int
notify_cfg(const wt_run_t *self, wt_notify_cfg_t *ncfg, wt_err_t *err)
{
    wt_notify_cfg_defaults(ncfg);
    if (wt_notify_cfg_from_env(ncfg, err) != 0)
        return -1;
    snprintf(ncfg->redis_url, sizeof ncfg->redis_url, "%s", self->cfg.redis_url);
    snprintf(ncfg->prefix, sizeof ncfg->prefix, "%s", self->cfg.prefix ? self->cfg.prefix : "");
    return 0;
}

/* A notify phase: posts now (bounded retries) and finishes the phase. */
static void *
notify_thread(void *arg)
{
    notify_job_t *job = arg;
    for (int t = 0; t < 2; t++) {
        if (job->urls[t] == NULL)
            continue;
        job->tried++;
        wt_err_t err = {0};
        if (wt_notify_send_sync(job->urls[t], t, job->body, &job->cfg, job->event, &err) != 0) {
            job->failed++;
            snprintf(job->why, sizeof job->why, "%s: %s", t ? "slack" : "webhook", err.msg);
        }
    }
    atomic_store(&job->done, 1);
    return NULL;
}

static void
notify_job_free(notify_job_t *job)
{
    if (job == NULL)
        return;
    for (int t = 0; t < 2; t++)
        free(job->urls[t]);
    json_decref(job->body);
    free(job->event);
    free(job);
}

/* A notify phase: records it in the inbox and starts its delivery (see
 * notify_job_t); with no target it is done at once. */
static void
run_notify(wt_run_t *self, phase_rt_t *ph, const json_t *scope)
{
    const wt_phase_t *d = ph->def;
    ph->attempt = 1;
    char *message = d->notify_message ? wt_template_render(d->notify_message, scope) : NULL;
    if (message == NULL) {
        char def[300];
        snprintf(def, sizeof def, "pipeline %s (run %s) needs attention at phase %s", self->p->name,
                 self->id, d->id);
        message = wt_xstrdup(def);
    }
    const char *event = d->notify_event ? d->notify_event : "escalation";
    inbox_add(self, strcmp(event, "escalation") == 0 ? "escalation" : "pipeline", event, message);
    notify_job_t *job = wt_xcalloc(1, sizeof *job);
    wt_err_t cerr = {0};
    if (notify_cfg(self, &job->cfg, &cerr) != 0) {
        free(message);
        notify_job_free(job);
        finish(self, ph, PH_FAILED, "%s", cerr.msg);
        return;
    }
    const char *raw[2] = {d->notify_webhook, d->notify_slack};
    char missing[128] = "";
    int targets = 0;
    for (int t = 0; t < 2; t++) {
        if (raw[t] == NULL)
            continue;
        job->urls[t] = expand_env(raw[t], missing, sizeof missing);
        if (job->urls[t] == NULL)
            say(self, "phase %s: %s target skipped: $%s is not set or unusable", d->id,
                t ? "slack" : "webhook", missing);
        else
            targets++;
    }
    if (targets == 0) {
        free(message);
        notify_job_free(job);
        finish(self, ph, PH_DONE, "no notify target configured%s%s; recorded in the inbox",
               missing[0] ? ": $" : "", missing);
        return;
    }
    job->body = notify_body(self, event, d->id, message, "notify");
    job->event = wt_xstrdup(event);
    free(message);
    atomic_init(&job->done, 0);
    if (pthread_create(&job->thread, NULL, notify_thread, job) != 0) {
        notify_job_free(job);
        finish(self, ph, PH_FAILED, "cannot start the notification thread");
        return;
    }
    ph->job = job;
    ph->state = PH_RUNNING;
    self->dirty = 1;
    say(self, "phase %s: sending %s", d->id, event);
}

/* Finishes notify phases whose delivery ended; returns how many. */
static int
reap_notifies(wt_run_t *self)
{
    int n = 0;
    for (int i = 0; i < self->p->nphases; i++) {
        phase_rt_t *ph = &self->ph[i];
        if (ph->job == NULL || !atomic_load(&ph->job->done))
            continue;
        notify_job_t *job = ph->job;
        pthread_join(job->thread, NULL);
        ph->job = NULL;
        if (job->failed)
            finish(self, ph, PH_FAILED, "notification not delivered: %s", job->why);
        else
            finish(self, ph, PH_DONE, "%s delivered", job->event);
        notify_job_free(job);
        n++;
    }
    if (n)
        persist(self); /* not idempotent: its outcome goes in the record first */
    return n;
}

/* 1 while a notification is being delivered. */
static int
notifying(const wt_run_t *self)
{
    for (int i = 0; i < self->p->nphases; i++)
        if (self->ph[i].job != NULL)
            return 1;
    return 0;
}

static json_t *
refused_result(const char *workflow, const char *why)
{
    return json_pack("{s:n, s:s, s:s, s:s, s:n, s:s}", "session", "workflow", workflow, "status",
                     "failed", "outcome", "error", "output", "detail", why);
}

/* Reads sid's hash: its result when it already ended, else NULL. A
 * session that succeeded and asked for delivery (DESIGN.md 15) ends for the
 * run once its delivery did (done, or failed for good); its result then
 * carries "delivery" {state, branch, commit, url, number, error, base, diff}
 * (diff: the pushed change, bounded by the worker, WT_DELIVER_DIFF_MAX). */
static json_t *
ended_result(wt_run_t *self, const char *sid)
{
    char key[160], dkey[160];
    wt_store_key(&self->store, key, sizeof key, "session:%s", sid);
    wt_store_key(&self->store, dkey, sizeof dkey, "delivery:%s", sid);
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(self->redis, &err, "HMGET %s status outcome", key);
    int terminal = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                   r->element[0]->type == REDIS_REPLY_STRING &&
                   wt_store_status_terminal(r->element[0]->str);
    int success = terminal && r->element[1]->type == REDIS_REPLY_STRING &&
                  strcmp(r->element[1]->str, "success") == 0;
    if (r)
        freeReplyObject(r);
    if (!terminal)
        return NULL;
    json_t *delivery = NULL;
    r = wt_redis_command(self->redis, &err,
                         "HMGET %s state branch commit url number error base diff", dkey);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 8 &&
        r->element[0]->type == REDIS_REPLY_STRING) {
        const char *st = r->element[0]->str;
        int over =
            strcmp(st, "done") == 0 || strcmp(st, "failed") == 0 || strcmp(st, "skipped") == 0;
        if (success && !over) {
            freeReplyObject(r);
            return NULL; /* still delivering */
        }
        static const char *const names[] = {"state",  "branch", "commit", "url",
                                            "number", "error",  "base",   "diff"};
        delivery = json_object();
        for (size_t i = 0; i < 8; i++)
            json_object_set_new(delivery, names[i],
                                r->element[i]->type == REDIS_REPLY_STRING
                                    ? json_string(r->element[i]->str)
                                    : json_null());
    }
    if (r)
        freeReplyObject(r);
    json_t *res = wt_store_result(&self->store, sid, &err);
    if (res && delivery)
        json_object_set(res, "delivery", delivery);
    json_decref(delivery);
    return res;
}

/* The phase's workspace spec (DESIGN.md 15) rendered in scope, NULL when
 * it names no repo. A field rendered "" is left out; autoOpenPR: true means
 * deliver: pr; a bad value is left out with a message (the session then
 * runs without it rather than not at all). */
static char *
workspace_spec(const wt_phase_t *d, const json_t *scope)
{
    static const char *const from[] = {"repo",  "ref",          "autoCommit", "deliver",
                                       "forge", "forgeProject", "labels",     "autoOpenPR"};
    static const char *const to[] = {"repo",  "ref",     "auto_commit", "deliver",
                                     "forge", "project", "labels",      "deliver"};
    json_t *spec = json_object();
    for (int v = 0; v < d->nworkspace; v++) {
        char *val = wt_template_render(d->workspace[v].value, scope);
        for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
            if (strcmp(d->workspace[v].key, from[i]) != 0 || val == NULL || val[0] == '\0')
                continue;
            const char *value = val;
            if (strcmp(from[i], "autoOpenPR") == 0) {
                if (strcmp(val, "true") != 0)
                    break;
                value = "pr";
            }
            char why[256];
            if (wt_wsspec_set(spec, to[i], value, why, sizeof why) != 0)
                fprintf(stderr, "worktrain run: phase %s: workspace: %s (left out)\n", d->id, why);
        }
        free(val);
    }
    char why[256];
    char *out = json_object_get(spec, "repo") ? wt_wsspec_dump(spec, why, sizeof why) : NULL;
    json_decref(spec);
    return out;
}

/* SPAWNs kid k of the current attempt; -1 when the broker is unreachable
 * (the run cannot go on; it can be resumed). */
/* The first attempt of a phase named by --adopt: its session is the one
 * given, joined to the run instead of SPAWNed. 1 when adopted (or refused:
 * kid->result says why), 0 when the phase is not adopted, -1 when Redis
 * cannot be reached. */
static int
adopt_kid(wt_run_t *self, phase_rt_t *ph, int k)
{
    const wt_phase_t *d = ph->def;
    const char *sid = json_string_value(json_object_get(self->adopt, d->id));
    if (sid == NULL || ph->items || ph->attempt != 1)
        return 0;
    const char *argv[] = {self->store.prefix, sid, self->id, d->id};
    wt_err_t err = {0};
    redisReply *r = wt_redis_eval(self->redis, &self->adopt_script, 0, 4, argv, NULL, &err);
    kid_t *kid = &ph->kids[k];
    char why[400] = "";
    if (r == NULL && strstr(err.msg, "NOTFOUND ") == NULL) {
        snprintf(self->fatal, sizeof self->fatal, "phase %s: cannot adopt session %s: %s", d->id,
                 sid, err.msg);
        return -1;
    }
    if (r == NULL)
        snprintf(why, sizeof why, "--adopt %s=%s: no such session", d->id, sid);
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
             r->element[1]->type != REDIS_REPLY_STRING)
        snprintf(why, sizeof why, "--adopt %s=%s: unexpected reply from Redis", d->id, sid);
    else if (r->element[0]->integer == 0)
        snprintf(why, sizeof why, "--adopt %s=%s: the session is already in run %s", d->id, sid,
                 r->element[1]->str);
    else if (strcmp(r->element[1]->str, d->workflow) != 0)
        snprintf(why, sizeof why,
                 "--adopt %s=%s: the session runs workflow '%s', the phase needs '%s'", d->id, sid,
                 r->element[1]->str, d->workflow);
    if (r)
        freeReplyObject(r);
    if (why[0]) {
        kid->result = refused_result(d->workflow, why);
        say(self, "phase %s: %s", d->id, why);
    } else {
        kid->sid = wt_xstrdup(sid);
        json_array_append_new(ph->sessions, json_string(sid));
        kid->result = ended_result(self, sid);
        say(self, "phase %s: session %s adopted%s", d->id, sid,
            kid->result ? ", already ended" : "");
    }
    if (kid->result)
        ph->open--;
    return 1;
}

static int
spawn_kid(wt_run_t *self, phase_rt_t *ph, int k, const json_t *base)
{
    const wt_phase_t *d = ph->def;
    int adopted = adopt_kid(self, ph, k);
    if (adopted != 0)
        return adopted < 0 ? -1 : 0;
    json_t *extras = json_object(), *ctx = json_object();
    json_object_set_new(extras, "attempt", json_integer(ph->attempt));
    json_object_set_new(ctx, "attempt", json_integer(ph->attempt));
    if (ph->previous) {
        json_object_set(extras, "previous", ph->previous);
        json_t *prev = json_object();
        static const char *const keep[] = {"outcome", "output", "detail", "session"};
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
            json_object_set(prev, keep[i], json_object_get(ph->previous, keep[i]));
        json_object_set_new(ctx, "previousResult", prev);
    }
    if (ph->items) {
        json_t *item = json_array_get(ph->items, (size_t)k);
        json_object_set(extras, "item", item);
        json_object_set_new(extras, "index", json_integer(k));
        json_object_set(ctx, "item", item);
        json_object_set_new(ctx, "index", json_integer(k));
    }
    json_t *scope = json_copy((json_t *)base); /* shallow: the base is shared by every kid */
    json_object_update(scope, extras);
    char *goal = wt_template_render(d->goal, scope);
    for (int v = 0; v < d->nvars; v++) {
        char *val = wt_template_render(d->vars[v].value, scope);
        json_object_set_new(ctx, d->vars[v].key, json_string(val));
        free(val);
    }
    char *workspace = workspace_spec(d, scope);
    json_decref(scope);
    json_decref(extras);
    char *ctx_json = json_dumps(ctx, JSON_COMPACT);
    json_decref(ctx);
    char key[256];
    if (ph->items)
        snprintf(key, sizeof key, "run:%s:%s:%d:%d", self->id, d->id, ph->attempt, k);
    else
        snprintf(key, sizeof key, "run:%s:%s:%d", self->id, d->id, ph->attempt);
    wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
    wt_msg_set(&m->workflow, d->workflow);
    wt_msg_set(&m->goal, goal);
    wt_msg_set(&m->context_json, ctx_json);
    wt_msg_set(&m->key, key);
    wt_msg_set(&m->run, self->id);
    wt_msg_set(&m->phase, d->id);
    m->priority = d->priority;
    m->timeout_ms = d->timeout_ms;
    m->max_turns = d->max_turns;
    m->retain_ms = d->retain_ms;
    wt_msg_set(&m->workspace, workspace);
    free(workspace);
    free(goal);
    free(ctx_json);
    wt_err_t err = {0};
    wt_msg_t *rep = wt_client_request(self->client, m, (int)self->cfg.spawn_wait_ms, &err);
    wt_msg_destroy(&m);
    if (rep == NULL) {
        snprintf(self->fatal, sizeof self->fatal, "phase %s: broker did not answer: %s", d->id,
                 err.msg);
        return -1;
    }
    kid_t *kid = &ph->kids[k];
    if (rep->cmd != WT_CMD_SPAWNED || rep->session == NULL) {
        char why[300];
        snprintf(why, sizeof why, "the broker refused the session: %s",
                 rep->message ? rep->message : "no reason given");
        kid->result = refused_result(d->workflow, why);
        say(self, "phase %s: %s", d->id, why);
    } else {
        kid->sid = wt_xstrdup(rep->session);
        json_array_append_new(ph->sessions, json_string(rep->session));
        if (rep->existing)
            kid->result = ended_result(self, kid->sid);
        say(self, "phase %s: session %s %s%s", d->id, kid->sid,
            rep->existing ? "(from before the resume) " : "started",
            kid->result ? "already ended" : "");
    }
    wt_msg_destroy(&rep);
    if (kid->result)
        ph->open--;
    return 0;
}

static int finish_attempt(wt_run_t *self, phase_rt_t *ph);

/* Starts the next attempt of a session phase; -1 on a fatal error. */
static int
start_attempt(wt_run_t *self, phase_rt_t *ph)
{
    for (int k = 0; k < ph->nkids; k++) {
        free(ph->kids[k].sid);
        json_decref(ph->kids[k].result);
    }
    free(ph->kids);
    ph->attempt++;
    ph->nkids = ph->items ? (int)json_array_size(ph->items) : 1;
    ph->kids = wt_xcalloc((size_t)ph->nkids, sizeof *ph->kids);
    ph->open = ph->nkids;
    ph->state = PH_RUNNING;
    self->dirty = 1;
    /* One scope for the attempt: nothing a kid's templates may name changes
     * while its siblings are spawned (a phase may not name itself there). */
    json_t *base = build_scope(self, NULL);
    int rc = 0;
    for (int k = 0; k < ph->nkids && rc == 0; k++)
        rc = spawn_kid(self, ph, k, base);
    json_decref(base);
    if (rc != 0)
        return -1;
    return ph->open == 0 ? finish_attempt(self, ph) : 0;
}

/* All sessions of the attempt ended: done, retried, or failed. */
static int
finish_attempt(wt_run_t *self, phase_rt_t *ph)
{
    const wt_phase_t *d = ph->def;
    json_t *view = phase_view(ph);
    const char *outcome = json_string_value(json_object_get(view, "outcome"));
    int success = outcome && strcmp(outcome, "success") == 0;
    int held = 1;
    if (success && d->retry_until) {
        ph->state = PH_DONE; /* the condition may look at the phase itself */
        json_t *scope = build_scope(self, NULL);
        held = wt_expr_true(d->retry_until, scope);
        json_decref(scope);
        ph->state = PH_RUNNING;
    }
    if (success && held) {
        json_decref(view);
        finish(self, ph, PH_DONE, "%s", "");
        return 0;
    }
    if (ph->attempt < d->retry_max) {
        json_decref(ph->previous);
        ph->previous = view;
        say(self, "phase %s: attempt %d of %d %s; retrying", d->id, ph->attempt, d->retry_max,
            success ? "did not meet retry.until" : "failed");
        return start_attempt(self, ph);
    }
    if (success) {
        ph->retry_exhausted = 1;
        json_decref(view);
        finish(self, ph, PH_DONE, "retry.until (%s) still false after %d attempts",
               wt_expr_text(d->retry_until), ph->attempt);
        return 0;
    }
    if (ph->items) {
        int bad = 0;
        for (int k = 0; k < ph->nkids; k++) {
            const char *o = json_string_value(json_object_get(ph->kids[k].result, "outcome"));
            bad += o == NULL || strcmp(o, "success") != 0;
        }
        finish(self, ph, PH_FAILED, "%d of %d items did not succeed", bad, ph->nkids);
    } else {
        const char *detail = json_string_value(json_object_get(view, "detail"));
        finish(self, ph, PH_FAILED, "session %s ended with outcome %s%s%s",
               ph->kids[0].sid ? ph->kids[0].sid : "(none)", outcome ? outcome : "?",
               detail && *detail ? ": " : "", detail ? detail : "");
    }
    json_decref(view);
    return 0;
}

/* Decides what a phase whose needs are all finished does. -1 = fatal. */
static int
start_phase(wt_run_t *self, phase_rt_t *ph)
{
    const wt_phase_t *d = ph->def;
    const char *failed_need = NULL;
    for (int n = 0; n < d->nneeds && failed_need == NULL; n++) {
        int k = wt_pipeline_find(self->p, d->needs[n]);
        if (k >= 0 && self->ph[k].state == PH_FAILED)
            failed_need = d->needs[n];
    }
    int decides = 0;
    if (d->if_expr)
        wt_expr_paths(d->if_expr, failure_path, &decides);
    if (failed_need && !decides) {
        finish(self, ph, PH_FAILED, "needs '%s', which failed", failed_need);
        return 0;
    }
    json_t *scope = build_scope(self, NULL);
    int rc = 0;
    if (d->if_expr && !wt_expr_true(d->if_expr, scope)) {
        finish(self, ph, PH_SKIPPED, "if (%s) is false", wt_expr_text(d->if_expr));
    } else if (d->workflow == NULL) {
        run_notify(self, ph, scope);
    } else if (d->foreach) {
        json_t *items = wt_expr_eval(d->foreach, scope);
        if (!json_is_array(items)) {
            finish(self, ph, PH_FAILED, "foreach (%s) did not give a list",
                   wt_expr_text(d->foreach));
            json_decref(items);
        } else if (json_array_size(items) > 1000) {
            finish(self, ph, PH_FAILED, "foreach (%s) gave %zu items; the limit is 1000",
                   wt_expr_text(d->foreach), json_array_size(items));
            json_decref(items);
        } else {
            ph->items = items;
            if (json_array_size(items) == 0) {
                ph->attempt = 1;
                finish(self, ph, PH_DONE, "foreach list is empty");
            } else {
                rc = start_attempt(self, ph);
            }
        }
    } else {
        rc = start_attempt(self, ph);
    }
    json_decref(scope);
    return rc;
}

/* Starts every pending phase whose needs are finished, until nothing more
 * can start (notify and skipped phases finish at once and may free more). */
static int
advance(wt_run_t *self)
{
    for (int progress = 1; progress;) {
        progress = 0;
        for (int o = 0; o < self->p->nphases; o++) {
            phase_rt_t *ph = &self->ph[self->order[o]];
            if (ph->state != PH_PENDING)
                continue;
            int ready = 1;
            for (int n = 0; n < ph->def->nneeds && ready; n++) {
                int k = wt_pipeline_find(self->p, ph->def->needs[n]);
                ready = k < 0 || is_terminal(self->ph[k].state);
            }
            if (!ready)
                continue;
            if (start_phase(self, ph) != 0)
                return -1;
            /* A notify phase is not idempotent: its outcome is in the
             * record before anything else (a SPAWN can block) happens. */
            if (ph->def->workflow == NULL)
                persist(self);
            progress = 1;
        }
    }
    if (self->dirty) /* most passes (an XREAD that saw others' events) change nothing */
        persist(self);
    return 0;
}

/* --- waiting --- */

/* A session of ours ended. -1 = fatal. */
static int
kid_ended(wt_run_t *self, const char *sid, json_t *result)
{
    for (int i = 0; i < self->p->nphases; i++) {
        phase_rt_t *ph = &self->ph[i];
        if (ph->state != PH_RUNNING)
            continue;
        for (int k = 0; k < ph->nkids; k++) {
            kid_t *kid = &ph->kids[k];
            if (kid->result || kid->sid == NULL || strcmp(kid->sid, sid) != 0)
                continue;
            kid->result = result;
            self->dirty = 1;
            say(self, "phase %s: session %s ended (%s)", ph->def->id, sid,
                json_string_value(json_object_get(result, "outcome")) ?: "?");
            if (--ph->open == 0)
                return finish_attempt(self, ph);
            return 0;
        }
    }
    json_decref(result);
    return 0;
}

/* Reads the fleet stream once (blocking up to block_ms); returns entries
 * read or -1 (fatal set). */
static int
read_events(wt_run_t *self, int64_t block_ms)
{
    char key[128];
    wt_store_key(&self->store, key, sizeof key, "events");
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(self->redis, &err, "XREAD COUNT 1000 BLOCK %lld STREAMS %s %s",
                                     (long long)block_ms, key, self->last_id);
    if (r == NULL) {
        snprintf(self->fatal, sizeof self->fatal, "reading %s: %s", key, err.msg);
        return -1;
    }
    int got = 0, rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *entries = r->element[0]->element[1];
        got = (int)entries->elements;
        for (size_t i = 0; i < entries->elements && rc == 0; i++) {
            redisReply *e = entries->element[i], *f = e->element[1];
            snprintf(self->last_id, sizeof self->last_id, "%s", e->element[0]->str);
            const char *type = wt_redis_field(f, "type"), *sid = wt_redis_field(f, "session");
            if (type == NULL || sid == NULL ||
                (strcmp(type, "session_completed") != 0 &&
                 strcmp(type, "delivery_completed") != 0 && strcmp(type, "delivery_failed") != 0))
                continue;
            json_t *res = NULL;
            for (int p = 0; p < self->p->nphases && res == NULL; p++)
                for (int k = 0; k < self->ph[p].nkids && self->ph[p].state == PH_RUNNING; k++)
                    if (self->ph[p].kids[k].sid && !self->ph[p].kids[k].result &&
                        strcmp(self->ph[p].kids[k].sid, sid) == 0) {
                        res = ended_result(self, sid); /* NULL while it delivers */
                        break;
                    }
            if (res)
                rc = kid_ended(self, sid, res);
        }
    }
    freeReplyObject(r);
    return rc < 0 ? -1 : got;
}

/* Re-reads the hash of every open session (the stream is capped). */
static int
check_open(wt_run_t *self)
{
    for (int p = 0; p < self->p->nphases; p++) {
        phase_rt_t *ph = &self->ph[p];
        int attempt = ph->attempt;
        for (int k = 0; k < ph->nkids && ph->state == PH_RUNNING && ph->attempt == attempt; k++) {
            if (ph->kids[k].sid == NULL || ph->kids[k].result)
                continue;
            json_t *res = ended_result(self, ph->kids[k].sid);
            if (res && kid_ended(self, ph->kids[k].sid, res) != 0)
                return -1;
        }
    }
    return 0;
}

static int
any_running(const wt_run_t *self)
{
    for (int i = 0; i < self->p->nphases; i++)
        if (self->ph[i].state == PH_RUNNING)
            return 1;
    return 0;
}

/* --after: one session per listed workflow (memory, watchdog) once the run
 * has ended, keyed by the run so a resumed coordinator starts none twice. */
static void
spawn_after(wt_run_t *self)
{
    for (int i = 0; i < self->cfg.nafter; i++) {
        const char *wf = self->cfg.after[i];
        char goal[400], key[160];
        snprintf(goal, sizeof goal, "After pipeline run %s (%s, %s): look at what it did", self->id,
                 self->p->name, self->status);
        snprintf(key, sizeof key, "after:%s:%s", self->id, wf);
        json_t *ctx = json_pack("{s:s,s:s,s:s}", "run", self->id, "pipeline", self->p->name,
                                "status", self->status);
        char *ctx_json = json_dumps(ctx, JSON_COMPACT);
        json_decref(ctx);
        wt_msg_t *m = wt_msg_new(WT_CHAN_CLIENT, WT_CMD_SPAWN);
        wt_msg_set(&m->workflow, wf);
        wt_msg_set(&m->goal, goal);
        wt_msg_set(&m->context_json, ctx_json);
        wt_msg_set(&m->key, key);
        free(ctx_json);
        wt_err_t err = {0};
        wt_msg_t *rep = wt_client_request(self->client, m, (int)self->cfg.spawn_wait_ms, &err);
        wt_msg_destroy(&m);
        if (rep && rep->cmd == WT_CMD_SPAWNED && rep->session)
            say(self, "after the run: %s session %s", wf, rep->session);
        else
            say(self, "after the run: no %s session: %s", wf,
                rep ? (rep->message ? rep->message : "refused") : err.msg);
        wt_msg_destroy(&rep);
    }
}

static void
end_notification(wt_run_t *self)
{
    int failed = 0;
    for (int i = 0; i < self->p->nphases; i++)
        failed += self->ph[i].state == PH_FAILED;
    char summary[300];
    snprintf(summary, sizeof summary, "pipeline %s %s (%d phase%s failed)", self->p->name,
             self->status, failed, failed == 1 ? "" : "s");
    inbox_add(self, "pipeline", self->status, summary);
    wt_notify_cfg_t ncfg;
    wt_err_t err = {0};
    wt_notify_t *n = notify_cfg(self, &ncfg, &err) == 0 ? wt_notify_new(&ncfg, &err) : NULL;
    if (n == NULL) {
        say(self, "end-of-run notification not sent: %s", err.msg);
        return;
    }
    wt_notify_post(n, "pipeline_completed",
                   notify_body(self, "pipeline_completed", NULL, summary, self->status));
    wt_notify_destroy(&n);
}

/* Marks the end-of-run notification as sent, so a --resume of the ended
 * run does not send it again. */
static void
mark_notified(wt_run_t *self)
{
    char key[160];
    wt_store_key(&self->store, key, sizeof key, "run:%s", self->id);
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(self->redis, &err, "HSET %s notified 1", key);
    if (r == NULL)
        say(self, "cannot update the run record: %s", err.msg);
    else
        freeReplyObject(r);
}

/* Takes or refreshes the lease on the run: 1 ours, 0 held by another
 * coordinator (named in holder), -1 Redis error. dead: a holder known to be
 * dead that may be replaced, or "". */
static int
own(wt_run_t *self, const char *dead, char *holder, size_t cap)
{
    char key[160], ms[24];
    wt_store_key(&self->store, key, sizeof key, "run:%s:owner", self->id);
    snprintf(ms, sizeof ms, "%d", RUN_OWNER_MS);
    const char *argv[] = {key, self->who, ms, dead};
    wt_err_t err = {0};
    redisReply *r = wt_redis_eval(self->redis, &self->owner_script, 1, 4, argv, NULL, &err);
    if (r == NULL) {
        snprintf(holder, cap, "%s", err.msg);
        return -1;
    }
    int rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    snprintf(holder, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "?");
    freeReplyObject(r);
    return rc;
}

/* Whether holder ("host:pid") is a process of this host that is gone. */
static int
holder_dead(const wt_run_t *self, const char *holder)
{
    const char *colon = strrchr(holder, ':'), *mine = strrchr(self->who, ':');
    if (colon == NULL || mine == NULL || colon - holder != mine - self->who ||
        strncmp(holder, self->who, (size_t)(colon - holder)) != 0)
        return 0;
    char *end;
    long pid = strtol(colon + 1, &end, 10);
    return *end == '\0' && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void
unown(wt_run_t *self)
{
    char key[160];
    wt_store_key(&self->store, key, sizeof key, "run:%s:owner", self->id);
    const char *argv[] = {key, self->who};
    wt_err_t err = {0};
    redisReply *r = wt_redis_eval(self->redis, &self->unown_script, 1, 2, argv, NULL, &err);
    if (r)
        freeReplyObject(r);
}

int
wt_run_execute(wt_run_t *self)
{
    char key[128];
    wt_store_key(&self->store, key, sizeof key, "events");
    wt_err_t err = {0};
    redisReply *r = wt_redis_command(self->redis, &err, "XREVRANGE %s + - COUNT 1", key);
    if (r == NULL) {
        fprintf(stderr, "worktrain run: %s\n", err.msg);
        return WT_RUN_TIMEOUT;
    }
    snprintf(self->last_id, sizeof self->last_id, "%s",
             r->type == REDIS_REPLY_ARRAY && r->elements ? r->element[0]->element[0]->str : "0-0");
    freeReplyObject(r);
    /* One coordinator per run: a second --resume while the first is alive
     * would send its notifications twice. */
    char holder[300];
    int owned = own(self, "", holder, sizeof holder);
    if (owned == 0 && holder_dead(self, holder)) {
        char dead[300];
        snprintf(dead, sizeof dead, "%s", holder);
        owned = own(self, dead, holder, sizeof holder);
    }
    if (owned <= 0) {
        self->lost = 1;
        if (owned < 0)
            fprintf(stderr, "worktrain run: %s\n", holder);
        else
            fprintf(stderr,
                    "worktrain run: run %s is being run by coordinator %s; not run twice (its "
                    "lease lapses %d s after that coordinator stops)\n",
                    self->id, holder, RUN_OWNER_MS / 1000);
        return WT_RUN_TIMEOUT;
    }
    say(self, "pipeline %s%s", self->p->name, self->resumes ? " (resumed)" : "");
    int64_t start = wt_clock_mono_ms(), checked = start;
    int64_t deadline = self->cfg.timeout_ms > 0 ? start + self->cfg.timeout_ms : INT64_MAX;
    int rc = advance(self);
    while (rc == 0 && any_running(self)) {
        if (wt_signal_stopping()) {
            self->status = "interrupted";
            break;
        }
        int64_t now = wt_clock_mono_ms(), left = deadline - now;
        if (left <= 0) {
            self->status = "timeout";
            break;
        }
        int64_t block = notifying(self) ? RUN_NOTIFY_POLL_MS : RUN_BLOCK_MS;
        int got = read_events(self, left < block ? left : block);
        reap_notifies(self);
        if (got >= 0 && own(self, "", holder, sizeof holder) == 0) {
            snprintf(self->fatal, sizeof self->fatal,
                     "coordinator %s took over the run (this one was too slow to renew its "
                     "lease)",
                     holder);
            self->lost = 1;
            rc = -1;
            break;
        }
        if (got < 0)
            rc = -1;
        else if ((got == 0 && wt_clock_mono_ms() - checked >= RUN_BLOCK_MS) ||
                 wt_clock_mono_ms() - checked >= RUN_RECHECK_MS) {
            checked = wt_clock_mono_ms();
            rc = check_open(self);
        }
        if (rc == 0)
            rc = advance(self);
    }
    if (rc != 0) {
        self->status = "interrupted";
        fprintf(stderr, "worktrain run: %s (continue with: worktrain run --resume %s)\n",
                self->fatal, self->id);
    } else if (strcmp(self->status, "running") == 0) {
        int failed = 0;
        for (int i = 0; i < self->p->nphases; i++)
            failed |= self->ph[i].state == PH_FAILED;
        self->status = failed ? "failed" : "succeeded";
    } else {
        fprintf(stderr, "worktrain run: %s; continue with: worktrain run --resume %s\n",
                self->status, self->id);
    }
    persist(self);
    if (!self->lost)
        unown(self);
    if (!self->lost && !self->notified &&
        (strcmp(self->status, "succeeded") == 0 || strcmp(self->status, "failed") == 0)) {
        end_notification(self);
        spawn_after(self);
        mark_notified(self);
    }
    say(self, "%s", self->status);
    if (strcmp(self->status, "succeeded") == 0)
        return WT_RUN_OK;
    return strcmp(self->status, "failed") == 0 ? WT_RUN_FAILED : WT_RUN_TIMEOUT;
}

json_t *
wt_run_report(const wt_run_t *self)
{
    json_t *phases = json_array();
    for (int i = 0; i < self->p->nphases; i++) {
        json_t *v = phase_view(&self->ph[i]);
        json_object_set_new(v, "id", json_string(self->p->phases[i].id));
        json_array_append_new(phases, v);
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "run", self->id, "pipeline", self->p->name, "status",
                     self->status, "phases", phases);
}
