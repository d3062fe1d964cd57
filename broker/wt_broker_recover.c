/* wt_broker_recover - rebuilds the broker's memory from Redis at start
 * (DESIGN.md 10.4). Queued sessions (<prefix>queue) go back in the run queue
 * in their original order; sessions that were running (<prefix>running)
 * become orphans: the worker that held them has one liveness window to say
 * (READY/HEARTBEAT) that it still runs them, else they are requeued and
 * resumed elsewhere. Reads are pipelined, so a large backlog loads quickly. */
#include "wt_alloc.h"
#include "wt_broker_int.h"
#include "wt_clock.h"
#include "wt_log.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

static char *
dup_nonempty(const char *s)
{
    return s && *s ? wt_xstrdup(s) : NULL;
}

wt_job_t *
wt_broker_job_from_hash(const char *sid, void *reply)
{
    const redisReply *r = reply;
    const char *workflow = wt_redis_field(r, "workflow"), *goal = wt_redis_field(r, "goal");
    const char *status = wt_redis_field(r, "status");
    if (workflow == NULL || goal == NULL || status == NULL)
        return NULL;
    if (strcmp(status, "queued") != 0 && strcmp(status, "running") != 0)
        return NULL;
    wt_job_t *j = wt_job_new(sid);
    j->workflow = wt_xstrdup(workflow);
    j->goal = wt_xstrdup(goal);
    j->context_json = dup_nonempty(wt_redis_field(r, "context"));
    j->parent = dup_nonempty(wt_redis_field(r, "parent"));
    j->workspace = dup_nonempty(wt_redis_field(r, "workspace"));
    j->require = dup_nonempty(wt_redis_field(r, "require"));
    const char *v;
    if ((v = wt_redis_field(r, "priority")))
        j->priority = (int)strtol(v, NULL, 10);
    if ((v = wt_redis_field(r, "timeout_ms")))
        j->timeout_ms = strtoll(v, NULL, 10);
    if ((v = wt_redis_field(r, "max_turns")))
        j->max_turns = (int)strtol(v, NULL, 10);
    if ((v = wt_redis_field(r, "depth")))
        j->depth = (int)strtol(v, NULL, 10);
    if ((v = wt_redis_field(r, "created_ms")))
        j->created_ms = strtoll(v, NULL, 10);
    j->queued_us = wt_clock_mono_us();
    return j;
}

/* Pipelines HGETALL for each id and calls take(job or NULL, i, ud). */
static void malformed(wt_broker_t *self, const char *where, const char *sid);

static int
load_hashes(wt_broker_t *self, redisReply *ids, int step, const char *where,
            void (*take)(wt_broker_t *, wt_job_t *, size_t, void *), void *ud, wt_err_t *err)
{
    size_t n = ids->elements;
    for (size_t base = 0; base < n; base += 1000) {
        size_t end = base + 1000 < n ? base + 1000 : n;
        for (size_t i = base; i < end; i += (size_t)step) {
            char key[128];
            wt_store_key(&self->store, key, sizeof key, "session:%s", ids->element[i]->str);
            const char *argv[] = {"HGETALL", key};
            if (wt_redis_append(self->redis, 2, argv, NULL, err) != 0)
                return -1;
        }
        for (size_t i = base; i < end; i += (size_t)step) {
            redisReply *h = wt_redis_get_reply(self->redis, err);
            if (h == NULL)
                return -1;
            wt_job_t *job = wt_broker_job_from_hash(ids->element[i]->str, h);
            if (job == NULL &&
                (wt_redis_field(h, "workflow") == NULL || wt_redis_field(h, "goal") == NULL))
                malformed(self, where, ids->element[i]->str); /* ended ones are just skipped */
            take(self, job, i, ud);
            freeReplyObject(h);
        }
    }
    return 0;
}

/* A record that cannot be a session (written by hand, or half-deleted) is
 * reported and left alone: guessing its fields could run the wrong thing. */
static void
malformed(wt_broker_t *self, const char *where, const char *sid)
{
    wt_log_warn("recovery: %s entry '%s' has no usable session record (needs workflow, goal, "
                "status queued or running): skipped",
                where, sid);
    pthread_mutex_lock(&self->stats.lock);
    self->stats.bad_records++;
    pthread_mutex_unlock(&self->stats.lock);
}

static void
take_queued(wt_broker_t *self, wt_job_t *job, size_t i, void *ud)
{
    (void)i;
    size_t *count = ud;
    if (job == NULL)
        return;
    wt_route_push(self->queue, &job);
    (*count)++;
}

static void
take_running(wt_broker_t *self, wt_job_t *job, size_t i, void *ud)
{
    redisReply *running = ud;
    if (job == NULL)
        return;
    wt_orphan_t *o = wt_xcalloc(1, sizeof *o);
    o->job = job;
    wt_strlcpy(o->holder, running->element[i + 1]->str, sizeof o->holder);
    o->deadline_ms = wt_clock_mono_ms() + (int64_t)self->cfg.heartbeat_ms * self->cfg.liveness;
    o->next = self->orphans;
    self->orphans = o;
}

int
wt_broker_recover(wt_broker_t *self, wt_err_t *err)
{
    char key[128];
    /* Forget a partial earlier attempt (Redis failed half-way). */
    for (wt_job_t *j; (j = wt_route_pop_any(self->queue)) != NULL;)
        wt_job_destroy(&j);
    while (self->orphans) {
        wt_orphan_t *o = self->orphans;
        self->orphans = o->next;
        wt_job_destroy(&o->job);
        free(o);
    }
    redisReply *q = wt_redis_command(self->redis, err, "ZRANGE %s 0 -1",
                                     wt_store_key(&self->store, key, sizeof key, "queue"));
    if (q == NULL)
        return -1;
    size_t queued = 0;
    int rc = load_hashes(self, q, 1, "queue", take_queued, &queued, err);
    freeReplyObject(q);
    if (rc != 0)
        return -1;
    redisReply *run = wt_redis_command(self->redis, err, "HGETALL %s",
                                       wt_store_key(&self->store, key, sizeof key, "running"));
    if (run == NULL)
        return -1;
    rc = load_hashes(self, run, 2, "running", take_running, run, err);
    size_t orphans = run->elements / 2;
    freeReplyObject(run);
    if (rc != 0)
        return -1;
    /* Every workflow a worker ever published (HSET <prefix>workflows at its
     * start) counts as known, so a restarted broker refuses exactly what
     * the old one refused even before the workers are back. */
    redisReply *wf = wt_redis_command(self->redis, err, "HKEYS %s",
                                      wt_store_key(&self->store, key, sizeof key, "workflows"));
    if (wf == NULL)
        return -1;
    for (size_t i = 0; wf->type == REDIS_REPLY_ARRAY && i < wf->elements; i++)
        if (wf->element[i]->type == REDIS_REPLY_STRING)
            wt_route_known_add(self->queue, wf->element[i]->str);
    freeReplyObject(wf);
    if (queued || orphans)
        wt_log_info("recovered from redis: %zu queued, %zu running awaiting their workers", queued,
                    orphans);
    return 0;
}
