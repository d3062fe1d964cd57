/* wt_broker_intake - the broker's two Redis pipelines: intake (SPAWNs
 * validated, stored with one pipeline of intake scripts, answered SPAWNED
 * only for what Redis stored) and dispatch (queued sessions matched to
 * workers' credit, one pipeline of assign scripts, then ASSIGN). An intake
 * round trip also carries the assign scripts for sessions already queued,
 * so a turn of the loop with spawns and free credit costs one round trip.
 * Loop thread only. */
#include "wt_alloc.h"
#include "wt_broker_int.h"
#include "wt_clock.h"
#include "wt_diag.h"
#include "wt_log.h"
#include "wt_retain.h"
#include "wt_ulid.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pair {
    wt_job_t *job; /* owned while in flight */
    size_t worker; /* index into self->w */
} pair_t;

#define DISPATCH_BATCH 256

/* Dispatch in three steps (below), so that intake can carry the assign
 * scripts of sessions already queued in its own round trip. */
static int dispatch_allowed(const wt_broker_t *self);
static int dispatch_take(wt_broker_t *self, pair_t *batch);
static int dispatch_append(wt_broker_t *self, pair_t *batch, int n, int *ok, wt_err_t *err);
static void dispatch_finish(wt_broker_t *self, pair_t *batch, int n, int appended, int *ok,
                            wt_err_t *err);
static void send_assign(wt_broker_t *self, wt_bworker_t *w, wt_job_t *j, int64_t epoch,
                        int attempt);

/* A run or phase id goes into Redis key names: keep it to a safe alphabet.
 * Absent (NULL or "") is fine. */
static int
id_ok(const char *id)
{
    if (id == NULL || id[0] == '\0')
        return 1;
    size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
    return n == strlen(id) && n <= 64;
}

/* A SPAWN of a workflow no worker of the fleet ever advertised is most
 * likely a typo: refuse it, naming the known ids and the closest one. An
 * empty known set (a fresh fleet whose workers have not come up yet) gives
 * no grounds to refuse, so everything is accepted then. Returns 1 and fills
 * why when refused. */
static int
unknown_workflow(wt_broker_t *self, const char *workflow, char *why, size_t cap)
{
    const wt_strlist_t *known = wt_route_known(self->queue);
    if (known->n == 0 || wt_route_known_has(self->queue, workflow))
        return 0;
    const char *near = wt_diag_suggest(workflow, (const char *const *)known->items, (int)known->n);
    int n = snprintf(why, cap, "unknown workflow '%.100s'", workflow);
    if (near && n > 0 && (size_t)n < cap)
        n += snprintf(why + n, cap - (size_t)n, " (did you mean '%s'?)", near);
    if (n > 0 && (size_t)n < cap)
        n += snprintf(why + n, cap - (size_t)n, "; no worker of the fleet ever offered it; known:");
    for (size_t i = 0; i < known->n && n > 0 && (size_t)n < cap; i++)
        n += snprintf(why + n, cap - (size_t)n, "%s %s", i ? "," : "", known->items[i]);
    if (n > 0 && (size_t)n >= cap && cap > 4)
        memcpy(why + cap - 4, "...", 4);
    return 1;
}

/* *field, now the caller's (NULL left behind); an empty string stays with
 * the message and gives NULL unless keep_empty. */
static char *
steal(char **field, int keep_empty)
{
    char *v = *field;
    if (v == NULL || (v[0] == '\0' && !keep_empty))
        return NULL;
    *field = NULL;
    return v;
}

int
wt_broker_validate_spawn(wt_broker_t *self, wt_broker_spawn_t *s, char *why, size_t cap)
{
    wt_msg_t *m = s->msg;
    if (m->workflow[0] == '\0' || m->goal[0] == '\0')
        return snprintf(why, cap, "workflow and goal must not be empty"), -1;
    if (m->priority < -100 || m->priority > 100)
        return snprintf(why, cap, "priority %d out of range -100..100", m->priority), -1;
    if (m->timeout_ms < 0 || m->max_turns < 0)
        return snprintf(why, cap, "timeout_ms and max_turns must not be negative"), -1;
    if (m->retain_ms != 0 && (m->retain_ms < WT_RETAIN_MIN_MS || m->retain_ms > WT_RETAIN_MAX_MS))
        return snprintf(why, cap, "retain_ms %lld out of range 1000..%lld (0 = broker default)",
                        (long long)m->retain_ms, (long long)WT_RETAIN_MAX_MS),
               -1;
    if (!id_ok(m->run) || !id_ok(m->phase))
        return snprintf(why, cap, "run and phase must be 1-64 characters of A-Z a-z 0-9 _ -"), -1;
    char require[WT_PROTO_MAX_LABELS * (WT_PROTO_MAX_LABEL + 1) + 1];
    wt_err_t lerr = {0};
    if (wt_route_labels_canon(&m->require, require, sizeof require, &lerr) != 0)
        return snprintf(why, cap, "require: %s", lerr.msg), -1;
    if (!m->allow_unknown && unknown_workflow(self, m->workflow, why, cap))
        return -3;
    if (m->context_json && m->context_json[0]) {
        json_error_t jerr;
        json_t *ctx = json_loads(m->context_json, 0, &jerr);
        int ok = ctx && json_is_object(ctx);
        json_decref(ctx);
        if (!ok)
            return snprintf(why, cap, "context is not a JSON object: %s",
                            ctx ? "wrong type" : jerr.text),
                   -1;
    }
    int depth = 0;
    if (m->parent && m->parent[0]) {
        char key[128];
        wt_err_t err = {0};
        wt_store_key(&self->store, key, sizeof key, "session:%s", m->parent);
        redisReply *r = wt_redis_command(self->redis, &err, "HGET %s depth", key);
        if (r == NULL)
            return snprintf(why, cap, "cannot read parent: %s", err.msg), -2;
        if (r->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            return snprintf(why, cap, "parent session '%s' does not exist", m->parent), -1;
        }
        depth = (int)strtol(r->str, NULL, 10) + 1;
        freeReplyObject(r);
        if (depth > 3)
            return snprintf(why, cap, "spawn depth %d exceeds the limit of 3", depth), -1;
    }
    char sid[WT_ULID_LEN + 1];
    wt_ulid_make(sid, wt_clock_now_ms());
    wt_job_t *j = wt_job_new(sid);
    /* The job takes the SPAWN's strings (nothing reads them from the
     * message after this): no copy and no free of each per session. */
    j->workflow = steal(&m->workflow, 1);
    j->goal = steal(&m->goal, 1);
    j->context_json = steal(&m->context_json, 1);
    j->parent = steal(&m->parent, 0);
    j->workspace = steal(&m->workspace, 0);
    j->require = require[0] ? wt_xstrdup(require) : NULL;
    j->priority = m->priority;
    j->timeout_ms = m->timeout_ms;
    j->max_turns = m->max_turns;
    j->depth = depth;
    j->created_ms = wt_clock_now_ms();
    s->job = j;
    s->key = m->key ? m->key : "";
    return 0;
}

/* SPAWNED and ASSIGN are built around borrowed strings (the encoder only
 * reads them): no copy of each field and no free per reply. A SPAWN whose
 * client announced batch (SPAWN batch > 1) is answered later, with the
 * turn's other SPAWNED for that client, in one BATCH (send_spawned). */
static void
answer_spawn(wt_broker_t *self, wt_broker_spawn_t *s, const char *sid, int existing)
{
    s->reply = (wt_msg_t){.chan = WT_CHAN_CLIENT, .cmd = WT_CMD_SPAWNED};
    s->reply.req = s->msg->req;
    s->reply.session = (char *)sid;
    s->reply.existing = existing;
    s->held = s->msg->batch > 1;
    if (!s->held)
        wt_broker_send(self, self->clients, s->id, s->idlen, &s->reply);
}

/* The held SPAWNED of the batch, one BATCH per client (in arrival order,
 * at most the batch that client announced). */
static void
send_spawned(wt_broker_t *self, wt_broker_spawn_t *batch, int n)
{
    const wt_msg_t *ptrs[512];
    for (int i = 0; i < n; i++) {
        if (!batch[i].held)
            continue;
        wt_broker_spawn_t *first = &batch[i];
        size_t k = 0, cap = first->msg->batch < 512 ? (size_t)first->msg->batch : 512;
        for (int j = i; j < n && k < cap; j++)
            if (batch[j].held && batch[j].idlen == first->idlen &&
                memcmp(batch[j].id, first->id, first->idlen) == 0) {
                ptrs[k++] = &batch[j].reply;
                batch[j].held = 0;
            }
        wt_err_t err = {0};
        self->quiet[0] = 0;
        if (wt_wire_send_batch(self->clients, first->id, first->idlen, ptrs, k, 1, &err) != 0)
            wt_log_warn("send of %zu SPAWNED failed: %s", k, err.msg);
    }
}

/* The lease of j is stored for worker bw (by an assign script, or by the
 * intake taking the first lease at once): j goes to the worker and is its
 * until it ends. The caller counts the dispatch. */
static void
hand_over(wt_broker_t *self, wt_bworker_t *bw, wt_job_t *j, int64_t epoch, int attempt,
          int64_t now_us, int64_t now_ms)
{
    send_assign(self, bw, j, epoch, attempt);
    j->assigned_ms = now_ms;
    j->next = bw->jobs;
    bw->jobs = j;
    self->active++;
    pthread_mutex_lock(&self->stats.lock);
    wt_broker_stats_observe(&self->stats, (double)(now_us - j->queued_us) / 1e6);
    pthread_mutex_unlock(&self->stats.lock);
}

/* The worker a new session can go to at once, its intake script taking
 * the first lease (no queue entries written only for an assign script to
 * remove them right after): only when nothing waits in the run queue, so
 * nothing queued is overtaken, and by the route's own choice of worker.
 * Its credit is taken; SIZE_MAX when the session must queue. */
static size_t
direct_worker(wt_broker_t *self, wt_job_t **job_p, int *credit_left)
{
    if (*credit_left <= 0 || !dispatch_allowed(self) || wt_route_size(self->queue) > 0)
        return SIZE_MAX;
    char sid[sizeof(*job_p)->sid];
    memcpy(sid, (*job_p)->sid, sizeof sid);
    wt_route_fleet_t fleet = wt_broker_fleet(self);
    size_t wi = SIZE_MAX;
    wt_route_push(self->queue, job_p);
    *job_p = wt_route_pop(self->queue, &fleet, &wi);
    if (*job_p == NULL) {
        *job_p = wt_route_remove(self->queue, sid);
        return SIZE_MAX;
    }
    self->w[wi].credit--;
    (*credit_left)--;
    return wi;
}

/* Stores every valid SPAWN of the batch with one pipeline (up to
 * WT_STORE_INTAKE_BATCH sessions per script call), then answers. A new
 * session a worker can take at once gets its first lease in its intake
 * script. The same round trip carries the assign scripts of sessions
 * already queued for the credit workers have now (intake, WAIT, assigns:
 * each session's intake reply is still read, and SPAWNED sent, before
 * anything depends on it); sessions queued by this intake are dispatched
 * by the loop's dispatch() right after. */
void
wt_broker_intake(wt_broker_t *self, wt_broker_spawn_t *batch, int n)
{
    wt_err_t err = {0};
    int redis_ok = wt_broker_redis_ready(self, &err) == 0;
    wt_store_spawn_t *sp = wt_xcalloc((size_t)n + 1, sizeof *sp);
    int *at = wt_xcalloc((size_t)n + 1, sizeof *at); /* sp[k] is batch[at[k]] */
    int m = 0;
    /* The fleet's credit: once a burst has used it up, the rest of the
     * burst is not offered to the run queue one by one (a push, a pop that
     * finds no worker and a remove per spawn). */
    int credit_left = 0;
    for (size_t w = 0; w < self->nw; w++)
        credit_left += self->w[w].credit > 0 ? self->w[w].credit : 0;
    for (int i = 0; i < n; i++) {
        batch[i].stored = batch[i].existing = 0;
        batch[i].epoch = 0;
        batch[i].direct = SIZE_MAX;
        if (batch[i].job == NULL || !redis_ok)
            continue;
        batch[i].direct = direct_worker(self, &batch[i].job, &credit_left);
        at[m] = i;
        sp[m++] = (wt_store_spawn_t){
            .sid = batch[i].job->sid,
            .workflow = batch[i].job->workflow,
            .goal = batch[i].job->goal,
            .context_json = batch[i].job->context_json,
            .parent = batch[i].job->parent,
            .idem_key = batch[i].key,
            .workspace = batch[i].job->workspace,
            .run = batch[i].msg->run,
            .phase = batch[i].msg->phase,
            .require = batch[i].job->require,
            .priority = batch[i].job->priority,
            .timeout_ms = batch[i].job->timeout_ms,
            .max_turns = batch[i].job->max_turns,
            .retain_ms =
                batch[i].msg->retain_ms > 0 ? batch[i].msg->retain_ms : self->cfg.retain_ms,
            .depth = batch[i].job->depth,
            .created_ms = batch[i].job->created_ms,
            .worker = batch[i].direct != SIZE_MAX ? self->w[batch[i].direct].name : NULL};
    }
    int calls = 0, appended = 0;
    for (int k = 0; k < m && redis_ok; k += WT_STORE_INTAKE_BATCH) {
        int c = m - k < WT_STORE_INTAKE_BATCH ? m - k : WT_STORE_INTAKE_BATCH;
        if (wt_store_intake_append_n(&self->store, &sp[k], c, &err) != 0)
            redis_ok = 0;
        else
            calls++, appended += c;
    }
    /* --redis-min-replicas: one WAIT after the batch's writes; SPAWNED only
     * when N replicas have them, so a master lost right after cannot take an
     * acknowledged session with it. */
    int waiting = redis_ok && appended > 0 && self->cfg.min_replicas > 0;
    if (waiting && wt_redis_append_wait(self->redis, self->cfg.min_replicas,
                                        self->cfg.min_replicas_wait_ms, &err) != 0)
        redis_ok = 0;
    pair_t pairs[DISPATCH_BATCH];
    int npairs = redis_ok && dispatch_allowed(self) ? dispatch_take(self, pairs) : 0;
    int dok = redis_ok;
    wt_err_t derr = {0};
    int dappended = npairs ? dispatch_append(self, pairs, npairs, &dok, &derr) : 0;
    int got = 0;
    wt_store_intake_t res[WT_STORE_INTAKE_BATCH];
    for (int call = 0, k = 0; call < calls && redis_ok; call++, k += WT_STORE_INTAKE_BATCH) {
        int c = m - k < WT_STORE_INTAKE_BATCH ? m - k : WT_STORE_INTAKE_BATCH;
        if (wt_store_intake_reply_n(&self->store, res, c, &err) != 0) {
            redis_ok = 0;
            break;
        }
        for (int t = 0; t < c; t++) {
            wt_broker_spawn_t *b = &batch[at[k + t]];
            snprintf(b->sid, sizeof b->sid, "%s", res[t].sid);
            b->existing = res[t].existing;
            b->epoch = res[t].epoch;
            b->stored = 1;
        }
        got += c;
    }
    free(sp);
    free(at);
    int replicas = -1;
    if (waiting && redis_ok && wt_redis_wait_reply(self->redis, &replicas, &err) != 0)
        redis_ok = 0;
    int confirmed = !waiting || replicas >= self->cfg.min_replicas;
    if (waiting && redis_ok && !confirmed) {
        pthread_mutex_lock(&self->stats.lock);
        self->stats.unreplicated += (uint64_t)got;
        pthread_mutex_unlock(&self->stats.lock);
        wt_log_warn("redis: WAIT %d %d confirmed %d replica(s): answering spawns UNAVAILABLE",
                    self->cfg.min_replicas, self->cfg.min_replicas_wait_ms, replicas);
        snprintf(err.msg, sizeof err.msg,
                 "stored on the master but only %d of %d replica(s) confirmed; retry with the "
                 "same key",
                 replicas, self->cfg.min_replicas);
    }
    int64_t now_us = wt_clock_mono_us(), now_ms = wt_clock_mono_ms();
    uint64_t spawned = 0, duplicates = 0, direct = 0;
    for (int i = 0; i < n; i++) {
        wt_broker_spawn_t *s = &batch[i];
        s->held = 0;
        if (s->job == NULL)
            continue;
        /* A session stored on the master is queued whether or not replicas
         * confirmed it: a retry with the same key finds it (existing) and is
         * not queued twice. */
        int assigned = s->stored && !s->existing && s->epoch > 0 && s->direct != SIZE_MAX;
        if (s->direct != SIZE_MAX && !assigned)
            self->w[s->direct].credit++; /* queued after all: the credit goes back */
        if (s->stored && !s->existing) {
            s->job->queued_us = now_us;
            if (assigned) {
                hand_over(self, &self->w[s->direct], s->job, s->epoch, 1, now_us, now_ms);
                direct++;
                s->job = NULL;
            } else
                wt_route_push(self->queue, &s->job);
        }
        if (s->stored && redis_ok && confirmed) {
            answer_spawn(self, s, s->sid, s->existing);
            if (s->existing)
                duplicates++;
            else
                spawned++;
        } else {
            char why[300];
            snprintf(why, sizeof why, "session not stored, retry: %s", err.msg);
            wt_broker_send_error(
                self, self->clients, WT_CHAN_CLIENT, s->id, s->idlen, s->msg->req,
                wt_store_fenced(&err) ? WT_PROTO_E_NOT_ACTIVE : WT_PROTO_E_UNAVAILABLE, why);
        }
        wt_job_destroy(&s->job);
    }
    send_spawned(self, batch, n);
    if (spawned || duplicates || direct) { /* direct: assigned even when unconfirmed */
        pthread_mutex_lock(&self->stats.lock);
        self->stats.spawned += spawned;
        self->stats.duplicates += duplicates;
        self->stats.dispatches += direct;
        pthread_mutex_unlock(&self->stats.lock);
    }
    /* The assign replies follow the intake ones: unreadable once those
     * failed (the connection is dropped below), so their sessions go back
     * to the queue. */
    if (!redis_ok)
        dok = 0;
    if (npairs)
        dispatch_finish(self, pairs, npairs, dappended, &dok, &derr);
    wt_broker_flush_assigns(self); /* the direct ones when nothing else was dispatched */
    if (!redis_ok)
        wt_broker_redis_failed(self, &err);
    else if (!dok)
        wt_broker_redis_failed(self, &derr);
}

/* A worker that announced READY batch gets its ASSIGNs of this turn in one
 * BATCH: held in its outq (strings borrowed from jobs it now holds, which
 * nothing frees before this turn ends) and sent here. */
void
wt_broker_flush_assigns(wt_broker_t *self)
{
    for (size_t i = 0; i < self->nw; i++) {
        wt_bworker_t *w = &self->w[i];
        if (w->nout == 0)
            continue;
        const wt_msg_t *ptrs[256], **pp = ptrs;
        if (w->nout > 256)
            pp = wt_xcalloc((size_t)w->nout, sizeof *pp);
        for (int k = 0; k < w->nout; k++)
            pp[k] = &w->outq[k];
        wt_err_t err = {0};
        self->quiet[1] = 0;
        for (int k = 0; k < w->nout; k += w->batch) { /* at most what it announced per BATCH */
            size_t c = (size_t)(w->nout - k < w->batch ? w->nout - k : w->batch);
            if (wt_wire_send_batch(self->workers, w->id, w->idlen, pp + k, c, 1, &err) != 0)
                wt_log_warn("send of %zu ASSIGNs to %s failed: %s", c, w->name, err.msg);
        }
        if (pp != ptrs)
            free(pp);
        w->nout = 0;
    }
}

static void
send_assign(wt_broker_t *self, wt_bworker_t *w, wt_job_t *j, int64_t epoch, int attempt)
{
    wt_msg_t m = {.chan = WT_CHAN_WORKER, .cmd = WT_CMD_ASSIGN};
    m.req = j->assign_seq = ++self->assign_seq; /* the worker acks it (reconcile) */
    m.session = j->sid;
    m.workflow = j->workflow;
    m.goal = j->goal;
    m.context_json = j->context_json;
    m.parent = j->parent;
    m.workspace = j->workspace;
    m.priority = j->priority;
    m.timeout_ms = j->timeout_ms;
    m.max_turns = j->max_turns;
    m.depth = j->depth;
    m.epoch = epoch;
    m.attempt = attempt;
    m.created_ms = j->created_ms;
    if (w->batch > 1) {
        if (w->nout == w->capout) {
            w->capout = w->capout ? w->capout * 2 : 16;
            w->outq = wt_xrealloc(w->outq, (size_t)w->capout * sizeof *w->outq);
        }
        w->outq[w->nout++] = m;
        return;
    }
    wt_broker_send(self, self->workers, w->id, w->idlen, &m);
}

static int
dispatch_allowed(const wt_broker_t *self)
{
    return self->store.leader_epoch != 0 && !self->lease_lost &&
           wt_clock_mono_ms() >= self->redis_retry_ms;
}

/* Pops up to DISPATCH_BATCH queued sessions, each with the worker to run
 * it (one credit taken). */
static int
dispatch_take(wt_broker_t *self, pair_t *batch)
{
    wt_route_fleet_t fleet = wt_broker_fleet(self);
    int n = 0;
    wt_job_t *next;
    size_t wi;
    while (n < DISPATCH_BATCH && (next = wt_route_pop(self->queue, &fleet, &wi)) != NULL) {
        batch[n].job = next;
        batch[n].worker = wi;
        self->w[wi].credit--;
        n++;
    }
    return n;
}

/* Appends their assign scripts to the pipeline, WT_STORE_ASSIGN_BATCH
 * sessions per script call (one leader fence check each); nothing when
 * *ok is 0. How many sessions went in. */
static int
dispatch_append(wt_broker_t *self, pair_t *batch, int n, int *ok, wt_err_t *err)
{
    if (*ok && wt_broker_redis_ready(self, err) != 0)
        *ok = 0;
    const char *sids[DISPATCH_BATCH], *names[DISPATCH_BATCH];
    for (int i = 0; i < n; i++) {
        sids[i] = batch[i].job->sid;
        names[i] = self->w[batch[i].worker].name;
    }
    int appended = 0;
    int64_t now_ms = wt_clock_now_ms();
    for (int k = 0; k < n && *ok; k += WT_STORE_ASSIGN_BATCH) {
        int c = n - k < WT_STORE_ASSIGN_BATCH ? n - k : WT_STORE_ASSIGN_BATCH;
        if (wt_store_assign_append_n(&self->store, &sids[k], &names[k], c, now_ms,
                                     self->cfg.max_attempts, err))
            *ok = 0;
        else
            appended += c;
    }
    return appended;
}

/* Reads the assign replies (while *ok) and sends each ASSIGN; what was not
 * assigned goes back to the queue with its credit. On a Redis failure *ok
 * becomes 0 and err says why (the caller calls redis_failed). */
static void
dispatch_finish(wt_broker_t *self, pair_t *batch, int n, int appended, int *ok, wt_err_t *err)
{
    wt_store_assigned_t res[DISPATCH_BATCH];
    int got = 0;
    for (int k = 0; k < appended && *ok; k += WT_STORE_ASSIGN_BATCH) {
        int c = appended - k < WT_STORE_ASSIGN_BATCH ? appended - k : WT_STORE_ASSIGN_BATCH;
        if (wt_store_assign_reply_n(&self->store, &res[k], c, err) != 0)
            *ok = 0;
        else
            got += c;
    }
    int64_t now_us = wt_clock_mono_us(), now_ms = wt_clock_mono_ms();
    uint64_t dispatched = 0, resumed = 0, deadletters = 0;
    for (int i = 0; i < n; i++) {
        wt_bworker_t *bw = &self->w[batch[i].worker];
        wt_job_t *j = batch[i].job;
        if (i < got && res[i].err.code == WT_OK) { /* stored: the lease is the worker's */
            hand_over(self, bw, j, res[i].epoch, res[i].attempt, now_us, now_ms);
            dispatched++;
            if (j->requeued || res[i].attempt > 1)
                resumed++;
            continue;
        }
        bw->credit++;
        if (i < got && res[i].err.code == WT_ENOTFOUND) {
            wt_log_info("session %s not dispatched: %s", j->sid, res[i].err.msg);
            if (strstr(res[i].err.msg, "dead-lettered") != NULL) /* wt_store's assign script */
                deadletters++;
            wt_job_destroy(&j);
            continue;
        }
        if (i < got && *ok) { /* an error of its own: stop, as a failed call does */
            *ok = 0;
            *err = res[i].err;
        }
        wt_route_push(self->queue, &j);
    }
    wt_broker_flush_assigns(self);
    pthread_mutex_lock(&self->stats.lock);
    self->stats.dispatches += dispatched;
    self->stats.resumed += resumed;
    self->stats.deadletters += deadletters;
    pthread_mutex_unlock(&self->stats.lock);
}

void
wt_broker_dispatch(wt_broker_t *self)
{
    if (!dispatch_allowed(self))
        return;
    pair_t batch[DISPATCH_BATCH];
    while (wt_route_size(self->queue) > 0) {
        int n = dispatch_take(self, batch);
        if (n == 0)
            return;
        wt_err_t err = {0};
        int ok = 1;
        int appended = dispatch_append(self, batch, n, &ok, &err);
        dispatch_finish(self, batch, n, appended, &ok, &err);
        if (!ok) {
            wt_broker_redis_failed(self, &err);
            return;
        }
    }
}
