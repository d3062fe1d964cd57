/* wt_broker_workers - the worker channel: READY, HEARTBEAT, FINISHED and
 * DISCONNECT, and the broker's table of live workers they keep.
 *
 * A READY registers a worker (or re-registers one: a restarted process, or
 * one the broker had judged dead), replaces what it offers, and reconciles
 * what the broker thinks it holds with the sessions it lists as running:
 * lost ASSIGNs go back to the queue, sessions still queued that it runs go
 * back to it (reattach), orphans found at broker start become its (adopt).
 * Its credit - how many ASSIGNs it may still get - follows from its slots,
 * its prefetch and what it holds; HEARTBEAT repeats the reconciliation and
 * FINISHED returns a unit of credit. */
#include "wt_alloc.h"
#include "wt_broker_int.h"
#include "wt_clock.h"
#include "wt_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wt_bworker_t *
find_worker(wt_broker_t *self, const void *id, size_t idlen)
{
    for (size_t i = 0; i < self->nw; i++)
        if (self->w[i].idlen == idlen && memcmp(self->w[i].id, id, idlen) == 0)
            return &self->w[i];
    return NULL;
}

void
wt_broker_worker_release(wt_bworker_t *w)
{
    while (w->jobs) {
        wt_job_t *j = w->jobs;
        w->jobs = j->next;
        wt_job_destroy(&j);
    }
    wt_route_offer_release(&w->offer);
    free(w->outq); /* empty: flushed in the turn that filled it */
    w->outq = NULL;
    w->nout = w->capout = 0;
}

void
wt_broker_remove_worker(wt_broker_t *self, wt_bworker_t *w, const char *why)
{
    wt_log_warn("worker %s removed: %s", w->name, why);
    while (w->jobs) {
        wt_job_t *j = w->jobs;
        w->jobs = j->next;
        self->active--;
        wt_broker_requeue(self, j, why, WT_REQUEUE_LOST);
    }
    size_t i = (size_t)(w - self->w);
    wt_broker_worker_release(w);
    self->w[i] = self->w[--self->nw];
    wt_route_fleet_changed(self->queue); /* indexes moved, and an offer left */
}

static int
in_list(const wt_strlist_t *l, const char *sid)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], sid) == 0)
            return 1;
    return 0;
}

/* The worker's cumulative counters from its READY or HEARTBEAT. */
static void
take_counters(wt_bworker_t *w, const wt_msg_t *m)
{
    w->count.llm_calls = m->llm_calls;
    w->count.input_tokens = m->input_tokens;
    w->count.output_tokens = m->output_tokens;
    w->count.tool_calls = m->tool_calls;
    w->count.llm_retries = m->llm_retries;
}

/* Orphans (running at broker start) that this worker reports become its. */
static void
adopt_orphans(wt_broker_t *self, wt_bworker_t *w, const wt_strlist_t *running)
{
    wt_orphan_t **pp = &self->orphans;
    while (*pp) {
        wt_orphan_t *o = *pp;
        if (strcmp(o->holder, w->name) == 0 && in_list(running, o->job->sid)) {
            *pp = o->next;
            o->job->next = w->jobs;
            o->job->assigned_ms = wt_clock_mono_ms();
            w->jobs = o->job;
            w->credit--;
            self->active++;
            wt_log_info("session %s adopted by worker %s after broker restart", o->job->sid,
                        w->name);
            free(o);
            continue;
        }
        pp = &o->next;
    }
}

/* Whether a session given to w that its READY or HEARTBEAT (acking ASSIGNs
 * up to req `acked`) does not list is lost. Surely when the worker has read
 * its ASSIGN: it ended it (FINISHED would have come first) or never had it.
 * Not merely because it is old: a starved worker may have hundreds of
 * ASSIGNs unread, and requeueing those re-assigned them to the same worker
 * under a new epoch, fencing out the copies it was about to start (the
 * ASan READY storm). Sent before the worker's last READY and older than a
 * grace period: it went to the connection or process that READY replaced.
 * Very old: a connection lost without a READY. */
static int
assign_lost(const wt_broker_t *self, const wt_bworker_t *w, const wt_job_t *j, uint64_t acked,
            int64_t now)
{
    int64_t hb = self->cfg.heartbeat_ms, age = now - j->assigned_ms;
    if (j->assign_seq != 0 && j->assign_seq <= acked)
        return 1;
    if (j->assigned_ms < w->ready_ms && age > 2 * hb)
        return 1;
    return age > 30 * hb;
}

/* Sessions the broker gave this worker that it no longer runs go back to
 * the queue (assign_lost); the lease fence makes that safe even if the
 * worker does have one. */
static void
reconcile(wt_broker_t *self, wt_bworker_t *w, const wt_msg_t *m)
{
    int64_t now = wt_clock_mono_ms();
    wt_job_t **pp = &w->jobs;
    while (*pp) {
        wt_job_t *j = *pp;
        if (!in_list(&m->running, j->sid) && assign_lost(self, w, j, m->req, now)) {
            *pp = j->next;
            self->active--;
            w->credit++;
            wt_broker_requeue(self, j, "its worker does not run it (lost ASSIGN or worker restart)",
                              WT_REQUEUE_LOST);
            continue;
        }
        pp = &j->next;
    }
}

/* A worker the broker had judged dead (its heartbeats starved, or it was
 * paused) registers again listing what it still runs. Those sessions were
 * requeued when it was removed; the ones still queued - not yet given to
 * another worker - go back to it under their old lease instead of running
 * a second time. Any other copy it runs is fenced out by the lease and
 * ends as "stale". */
static void
reattach(wt_broker_t *self, wt_bworker_t *w, const wt_strlist_t *running)
{
    for (size_t i = 0; i < running->n; i++) {
        wt_job_t *j = wt_route_remove(self->queue, running->items[i]);
        if (j == NULL)
            continue;
        wt_err_t err = {0};
        int rc = wt_store_reattach(&self->store, j->sid, w->name, &err);
        if (rc != 1) {
            if (rc < 0)
                wt_broker_redis_failed(self, &err);
            wt_route_push(self->queue, &j);
            continue;
        }
        j->assigned_ms = wt_clock_mono_ms();
        j->assign_seq = 0;
        j->next = w->jobs;
        w->jobs = j;
        self->active++;
        pthread_mutex_lock(&self->stats.lock);
        self->stats.reattached++;
        pthread_mutex_unlock(&self->stats.lock);
        wt_log_info("session %s reattached to worker %s: it still runs it", j->sid, w->name);
    }
}

/* Credit is what the broker has not given out, but never more than the
 * slots its running list leaves free: it may still run copies the broker
 * no longer counts as its (fenced out, ending as "stale"). */
static void
set_credit(wt_bworker_t *w, const wt_strlist_t *running)
{
    /* Prefetch (READY): the worker holds that many sessions, not started,
     * beyond its slots, and starts one the moment a slot frees: a 1-slot
     * worker need not wait for FINISHED and the next ASSIGN to cross. */
    int cap = w->slots + w->prefetch;
    int64_t worker_free = (int64_t)cap - (int64_t)running->n;
    int held = 0;
    for (wt_job_t *j = w->jobs; j; j = j->next)
        held++;
    w->credit = cap - held;
    if (worker_free < w->credit)
        w->credit = worker_free > 0 ? (int)worker_free : 0;
}

static void
on_ready(wt_broker_t *self, const void *id, size_t idlen, wt_msg_t *m)
{
    wt_bworker_t *w = find_worker(self, id, idlen);
    int fresh = w == NULL;
    if (w == NULL) {
        if (self->nw == self->capw) {
            self->capw = self->capw ? self->capw * 2 : 16;
            self->w = wt_xrealloc(self->w, self->capw * sizeof *self->w);
        }
        w = &self->w[self->nw++];
        memset(w, 0, sizeof *w);
        memcpy(w->id, id, idlen);
        w->idlen = idlen;
    }
    wt_strlcpy(w->name, m->name, sizeof w->name);
    /* The offer is replaced, never merged: a worker that restarted with
     * other --workflows or --label must not get what it no longer runs. */
    wt_route_offer_set(&w->offer, &m->caps, &m->labels);
    for (size_t i = 0; i < m->caps.n; i++)
        wt_route_known_add(self->queue, m->caps.items[i]);
    wt_route_fleet_changed(self->queue);
    w->slots = m->slots > 0 ? m->slots : 0; /* 0: draining, send nothing */
    w->batch = m->batch > WT_PROTO_MAX_BATCH ? WT_PROTO_MAX_BATCH : m->batch;
    w->prefetch = w->slots == 0 || m->prefetch <= 0     ? 0
                  : m->prefetch > WT_PROTO_MAX_PREFETCH ? WT_PROTO_MAX_PREFETCH
                                                        : m->prefetch;
    w->last_seen_ms = wt_clock_mono_ms();
    take_counters(w, m);
    w->ready_ms = w->last_seen_ms;
    reconcile(self, w, m);
    if (fresh && m->running.n) {
        pthread_mutex_lock(&self->stats.lock);
        self->stats.reregistrations++;
        pthread_mutex_unlock(&self->stats.lock);
        reattach(self, w, &m->running);
    }
    adopt_orphans(self, w, &m->running);
    set_credit(w, &m->running);
    wt_log_info("worker %s ready: %d slots (+%d prefetch), %zu running, %zu workflows, %zu "
                "labels, version %s",
                w->name, w->slots, w->prefetch, m->running.n, w->offer.workflows.n,
                w->offer.labels.n, m->version ? m->version : "?");
}

static void
on_finished(wt_broker_t *self, wt_bworker_t *w, wt_msg_t *m)
{
    for (wt_job_t **pp = &w->jobs; *pp; pp = &(*pp)->next) {
        wt_job_t *j = *pp;
        if (strcmp(j->sid, m->session) != 0)
            continue;
        *pp = j->next;
        w->credit++;
        self->active--;
        pthread_mutex_lock(&self->stats.lock);
        self->stats.finished[wt_broker_stats_outcome(m->outcome)]++;
        pthread_mutex_unlock(&self->stats.lock);
        if (strcmp(m->outcome, "handback") == 0)
            wt_broker_requeue(self, j, "handed back by a draining worker", WT_REQUEUE_REFUND);
        else if (strcmp(m->outcome, "stale") == 0)
            /* The broker counts this worker as the holder, yet its copy ran
             * under an older lease (it was reattached or re-assigned while
             * that copy wrote): nobody runs it now, so it must run again. */
            wt_broker_requeue(self, j, "its worker dropped a stale copy", WT_REQUEUE_REFUND);
        else
            wt_job_destroy(&j);
        return;
    }
    wt_log_debug("FINISHED for unknown session %s from %s", m->session, w->name);
}

void
wt_broker_on_workers(wt_broker_t *self)
{
    for (int turn = 0; turn < WT_BROKER_BATCH_MAX * 2; turn++) {
        wt_broker_rx_t rx;
        int rc = wt_broker_recv(self, WT_CHAN_WORKER, &rx);
        if (rc == 0)
            break;
        if (rc < 0)
            continue;
        const char *id = rx.id, *uid = rx.uid;
        size_t idlen = rx.idlen;
        wt_msg_t *m = rx.m;
        if (m->cmd == WT_CMD_READY &&
            !wt_broker_key_still_allowed(self, WT_ZAP_DOMAIN_WORKERS, uid)) {
            /* authenticated before a reload revoked it: no registration */
            wt_msg_t *d = wt_msg_new(WT_CHAN_WORKER, WT_CMD_DISCONNECT);
            wt_broker_send(self, self->workers, id, idlen, d);
            wt_msg_destroy(&d);
            wt_msg_destroy(&m);
            continue;
        }
        if (self->store.leader_epoch == 0) {
            if (m->cmd != WT_CMD_DISCONNECT)
                wt_broker_not_active(self, self->workers, WT_CHAN_WORKER, id, idlen, m->req);
            wt_msg_destroy(&m);
            continue;
        }
        wt_bworker_t *w = find_worker(self, id, idlen);
        if (m->cmd == WT_CMD_READY) {
            on_ready(self, id, idlen, m);
            if ((w = find_worker(self, id, idlen)) != NULL)
                snprintf(w->key, sizeof w->key, "%s", uid);
        } else if (w == NULL) {
            wt_msg_t *d = wt_msg_new(WT_CHAN_WORKER, WT_CMD_DISCONNECT);
            wt_broker_send(self, self->workers, id, idlen, d);
            wt_msg_destroy(&d);
        } else {
            w->last_seen_ms = wt_clock_mono_ms();
            switch (m->cmd) {
            case WT_CMD_HEARTBEAT:
                take_counters(w, m);
                if (self->orphans)
                    adopt_orphans(self, w, &m->running);
                reconcile(self, w, m);
                set_credit(w, &m->running);
                break;
            case WT_CMD_FINISHED:
                on_finished(self, w, m);
                break;
            case WT_CMD_DISCONNECT:
                wt_broker_remove_worker(self, w, "disconnected");
                break;
            default:
                pthread_mutex_lock(&self->stats.lock);
                self->stats.bad_worker++;
                pthread_mutex_unlock(&self->stats.lock);
                wt_broker_send_error(self, self->workers, WT_CHAN_WORKER, id, idlen, 0,
                                     WT_PROTO_E_UNKNOWN_CMD, "command not accepted from a worker");
            }
        }
        wt_msg_destroy(&m);
    }
}
