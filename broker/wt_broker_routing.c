/* wt_broker_routing - the broker's view of its workers for wt_route, and
 * the report of queued sessions no live worker can run.
 *
 * The report goes two ways. /metrics gets it through the stats (one
 * wt_queue_unroutable sample per class, with the reason as a label), and
 * Redis gets it as the hash <prefix>unroutable, field "WORKFLOW" or
 * "WORKFLOW|LABELS" -> reason, which `worktrain status` reads for a queued
 * session (it needs only Redis). The hash is rewritten only when the report
 * changed, in one MULTI/EXEC, so a reader sees the old or the new one. */
#include "wt_alloc.h"
#include "wt_broker_int.h"
#include "wt_buf.h"
#include "wt_log.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

static const wt_route_offer_t *
fleet_offer(void *ud, size_t i)
{
    return &((wt_broker_t *)ud)->w[i].offer;
}

static int
fleet_credit(void *ud, size_t i)
{
    return ((wt_broker_t *)ud)->w[i].credit;
}

wt_route_fleet_t
wt_broker_fleet(wt_broker_t *self)
{
    wt_route_fleet_t f = {self->nw, fleet_offer, fleet_credit, self};
    return f;
}

typedef struct report {
    wt_broker_unroutable_t *v; /* owned entries */
    size_t n;                  /* used */
    size_t cap;                /* allocated */
} report_t;

static void
collect(const char *workflow, const char *require, size_t waiting, const char *reason, void *ud)
{
    report_t *r = ud;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 8;
        r->v = wt_xrealloc(r->v, r->cap * sizeof *r->v);
    }
    wt_broker_unroutable_t *u = &r->v[r->n++];
    wt_strlcpy(u->workflow, workflow, sizeof u->workflow);
    wt_strlcpy(u->require, require, sizeof u->require);
    wt_strlcpy(u->reason, reason, sizeof u->reason);
    u->waiting = (int64_t)waiting;
}

static int
by_class(const void *a, const void *b)
{
    const wt_broker_unroutable_t *x = a, *y = b;
    int c = strcmp(x->workflow, y->workflow);
    return c ? c : strcmp(x->require, y->require);
}

/* Rewrites <prefix>unroutable; the field/value pairs are in text, as
 * "field\treason\n" lines. */
static int
write_hash(wt_broker_t *self, const report_t *r, wt_err_t *err)
{
    char key[128];
    wt_store_key(&self->store, key, sizeof key, "unroutable");
    size_t argc = 2 + 2 * r->n;
    const char **argv = wt_xcalloc(argc, sizeof *argv);
    char **fields = wt_xcalloc(r->n + 1, sizeof *fields);
    argv[0] = "HSET";
    argv[1] = key;
    for (size_t i = 0; i < r->n; i++) {
        const wt_broker_unroutable_t *u = &r->v[i];
        fields[i] = u->require[0] ? wt_xasprintf("%s|%s", u->workflow, u->require)
                                  : wt_xstrdup(u->workflow);
        argv[2 + 2 * i] = fields[i];
        argv[3 + 2 * i] = u->reason;
    }
    const char *multi[] = {"MULTI"}, *del[] = {"DEL", key}, *exec[] = {"EXEC"};
    int rc = wt_redis_append(self->redis, 1, multi, NULL, err) == 0 &&
                     wt_redis_append(self->redis, 2, del, NULL, err) == 0 &&
                     (r->n == 0 || wt_redis_append(self->redis, (int)argc, argv, NULL, err) == 0) &&
                     wt_redis_append(self->redis, 1, exec, NULL, err) == 0
                 ? 0
                 : -1;
    for (int i = 0; rc == 0 && i < (r->n ? 4 : 3); i++) {
        redisReply *rep = wt_redis_get_reply(self->redis, err);
        if (rep == NULL)
            rc = -1;
        else
            freeReplyObject(rep);
    }
    for (size_t i = 0; i < r->n; i++)
        free(fields[i]);
    free(fields);
    free(argv);
    return rc;
}

void
wt_broker_report_unroutable(wt_broker_t *self)
{
    report_t r = {0};
    wt_route_fleet_t fleet = wt_broker_fleet(self);
    wt_route_unroutable(self->queue, &fleet, collect, &r);
    if (r.n > 1)
        qsort(r.v, r.n, sizeof *r.v, by_class);
    pthread_mutex_lock(&self->stats.lock);
    wt_broker_unroutable_t *dst = wt_broker_stats_unroutable(&self->stats, r.n);
    if (r.n)
        memcpy(dst, r.v, r.n * sizeof *r.v);
    pthread_mutex_unlock(&self->stats.lock);
    /* What Redis holds changes only with the classes and reasons, not the counts. */
    wt_buf_t text;
    wt_buf_init(&text, 1 << 20);
    for (size_t i = 0; i < r.n; i++)
        wt_buf_printf(&text, NULL, "%s|%s\t%s\n", r.v[i].workflow, r.v[i].require, r.v[i].reason);
    const char *now = text.data ? text.data : "";
    if (self->unroutable == NULL || strcmp(self->unroutable, now) != 0) {
        wt_err_t err = {0};
        if (self->scripts_loaded && write_hash(self, &r, &err) == 0) {
            free(self->unroutable);
            self->unroutable = wt_xstrdup(now);
            for (size_t i = 0; i < r.n; i++)
                wt_log_info("queued sessions of workflow '%s'%s%s wait: %s", r.v[i].workflow,
                            r.v[i].require[0] ? " requiring " : "", r.v[i].require, r.v[i].reason);
        } else if (err.code != WT_OK) {
            wt_log_warn("cannot write %sunroutable: %s", self->store.prefix, err.msg);
        }
    }
    wt_buf_release(&text);
    free(r.v);
}
