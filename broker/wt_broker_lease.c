/* wt_broker_lease - one active broker among those sharing a Redis (DESIGN
 * 13; the Binary Star idea with Redis as the arbiter). The active broker
 * renews the lease <prefix>broker:leader every LEASE_RENEW_MS; a standby
 * polls it every LEASE_POLL_MS and takes it once it is gone, with a new
 * epoch (at once when the holder was a broker on this host whose process is
 * gone: a kill -9 and restart is no slower than without a lease). The epoch fences every write that
 * assigns or requeues work (wt_store leader fence), so a broker that still believes it leads after
 * a pause cannot dispatch: its first refused write, or its next renewal,
 * makes it step down. Stepping down drops the in-memory workers, queue and
 * orphans (the new leader owns them now, in Redis); becoming active
 * rebuilds them from Redis exactly as a restarted broker does. */
#include "wt_alloc.h"
#include "wt_broker_int.h"
#include "wt_clock.h"
#include "wt_log.h"
#include "wt_ulid.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The inode of this process's PID namespace (0 if unknown): two brokers
 * see each other's pids only when it and the host name are the same. */
static unsigned long long
pid_ns(void)
{
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* A lease holder on this host and PID namespace whose process is gone (a
 * broker killed -9 and restarted here): no need to wait for its TTL. Any
 * doubt (another host, a pid that exists, even if reused) means alive. */
static int
holder_dead(const wt_broker_t *self)
{
    char host[64] = "?", theirs[64];
    unsigned long long ns = 0;
    long pid = 0;
    gethostname(host, sizeof host - 1);
    if (sscanf(self->leader_holder, "%63[^:]:%llu:%ld:", theirs, &ns, &pid) != 3)
        return 0;
    return strcmp(theirs, host) == 0 && ns != 0 && ns == pid_ns() && pid > 0 &&
           pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void
wt_broker_lease_init(wt_broker_t *self)
{
    char host[64] = "?", ulid[WT_ULID_LEN + 1];
    gethostname(host, sizeof host - 1);
    wt_ulid_make(ulid, wt_clock_now_ms());
    snprintf(self->lease_id, sizeof self->lease_id, "%s:%llu:%ld:%s", host,
             (unsigned long long)pid_ns(), (long)getpid(), ulid);
    self->store.leader_epoch = 0;
    pthread_mutex_lock(&self->stats.lock);
    self->stats.leader = 0;
    self->stats.leader_epoch = 0;
    pthread_mutex_unlock(&self->stats.lock);
}

void
wt_broker_step_down(wt_broker_t *self, const char *why)
{
    if (self->store.leader_epoch == 0)
        return;
    wt_log_warn("leader lease (epoch %lld) lost: %s; stepping down to standby: dropping %zu "
                "workers and %zu queued sessions from memory, dispatching nothing",
                (long long)self->store.leader_epoch, why, self->nw, wt_route_size(self->queue));
    for (size_t i = 0; i < self->nw; i++)
        wt_broker_worker_release(&self->w[i]);
    self->nw = 0;
    self->active = 0;
    while (self->orphans) {
        wt_orphan_t *o = self->orphans;
        self->orphans = o->next;
        wt_job_destroy(&o->job);
        free(o);
    }
    for (wt_job_t *j; (j = wt_route_pop_any(self->queue)) != NULL;)
        wt_job_destroy(&j);
    wt_route_fleet_changed(self->queue);
    self->store.leader_epoch = 0;
    self->lease_lost = 0;
    pthread_mutex_lock(&self->stats.lock);
    self->stats.leader = 0;
    self->stats.leader_epoch = 0;
    self->stats.stepdowns++;
    pthread_mutex_unlock(&self->stats.lock);
}

/* Holds epoch now: rebuild from Redis, or give the lease back on failure
 * (a leader without its queue would dispatch nothing). */
static void
take_over(wt_broker_t *self, int64_t epoch)
{
    wt_err_t err = {0};
    self->store.leader_epoch = epoch;
    if (wt_broker_recover(self, &err) != 0) {
        wt_log_warn("took the leader lease (epoch %lld) but cannot recover from redis: %s; "
                    "giving it back",
                    (long long)epoch, err.msg);
        wt_store_unlease(&self->store, self->lease_id, epoch, NULL);
        self->store.leader_epoch = 0;
        return;
    }
    wt_log_info("leader lease taken (epoch %lld, id %s): this broker is active", (long long)epoch,
                self->lease_id);
    pthread_mutex_lock(&self->stats.lock);
    self->stats.leader = 1;
    self->stats.leader_epoch = epoch;
    self->stats.takeovers++;
    pthread_mutex_unlock(&self->stats.lock);
}

int
wt_broker_lease_tick(wt_broker_t *self, int redis_ok, wt_err_t *err)
{
    int64_t now = wt_clock_mono_ms();
    if (self->lease_lost) {
        wt_broker_step_down(self, "redis refused a write fenced with it");
        self->next_lease_ms = now; /* see at once who holds it now */
    }
    if (now < self->next_lease_ms)
        return 0;
    int64_t mine = self->store.leader_epoch;
    self->next_lease_ms = now + (mine ? WT_BROKER_LEASE_RENEW_MS : WT_BROKER_LEASE_POLL_MS);
    int64_t got = redis_ok
                      ? wt_store_lease(&self->store, self->lease_id, mine, WT_BROKER_LEASE_TTL_MS,
                                       NULL, self->leader_holder, sizeof self->leader_holder, err)
                      : -1;
    if (got == 0 && mine == 0 && holder_dead(self)) {
        char dead[sizeof self->leader_holder];
        snprintf(dead, sizeof dead, "%s", self->leader_holder);
        wt_log_info("leader lease holder %s was a broker on this host that is gone: taking over "
                    "without waiting for its TTL",
                    dead);
        got = wt_store_lease(&self->store, self->lease_id, 0, WT_BROKER_LEASE_TTL_MS, dead,
                             self->leader_holder, sizeof self->leader_holder, err);
    }
    /* the connection may have moved to a new master by itself (the
     * sentinels asked again, wt_redis): keep /metrics current */
    pthread_mutex_lock(&self->stats.lock);
    self->stats.redis_master_changes = wt_redis_failovers(self->redis);
    self->stats.sentinel_disagreements = wt_redis_sentinel_disagreements(self->redis);
    pthread_mutex_unlock(&self->stats.lock);
    if (got < 0) {
        /* Cannot tell: past the TTL (less a margin) another broker may
         * hold it, so stop dispatching before that can overlap. */
        if (mine && now - self->lease_ok_ms >= WT_BROKER_LEASE_TTL_MS - WT_BROKER_LEASE_POLL_MS)
            wt_broker_step_down(self, "it could not be renewed before its TTL ran out");
        return redis_ok ? -1 : 0;
    }
    if (got == mine) {
        if (mine)
            self->lease_ok_ms = now;
        return 0;
    }
    if (mine) {
        char why[200];
        snprintf(why, sizeof why, "broker %s holds it now", self->leader_holder);
        wt_broker_step_down(self, why);
    }
    if (got > 0) {
        self->lease_ok_ms = now;
        take_over(self, got);
    }
    return 0;
}

void
wt_broker_lease_release(wt_broker_t *self)
{
    if (self->store.leader_epoch == 0)
        return;
    wt_err_t err = {0};
    if (wt_store_unlease(&self->store, self->lease_id, self->store.leader_epoch, &err) == 0)
        wt_log_info("leader lease (epoch %lld) given up at stop",
                    (long long)self->store.leader_epoch);
}
