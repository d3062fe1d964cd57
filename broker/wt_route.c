/* wt_route - run queue per (workflow, required labels) class.
 *
 * Classes live in a small array (there are as many as distinct needs among
 * waiting sessions, usually a handful); a class is made by the first push
 * of its needs and kept while empty (see drop_empty). Arrival numbers come from one counter for all
 * classes, so heads of different classes compare exactly as they would in
 * one queue. Each class caches the fleet indexes of the workers that can
 * run it, tagged with the fleet generation it was computed for; a fleet
 * change bumps the generation, and the next pop recomputes lazily. */
#include "wt_route.h"

#include "wt_alloc.h"
#include "wt_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEP_CLASSES 64 /* empty classes are freed only past this many classes */

typedef struct rclass {
    char *workflow; /* owned */
    char *require;  /* owned canonical labels, "" for none */
    wt_queue_t *q;  /* owned jobs */
    size_t *elig;   /* owned fleet indexes of workers that can run it */
    size_t nelig;   /* entries */
    size_t capelig; /* allocated */
    uint64_t gen;   /* fleet generation elig was computed for (0: never) */
    size_t rr;      /* rotation among equally free workers */
} rclass_t;

struct wt_route {
    rclass_t **c;       /* owned classes (empty ones kept up to KEEP_CLASSES) */
    size_t nc;          /* classes */
    size_t capc;        /* allocated */
    size_t njobs;       /* jobs across classes */
    uint64_t seq;       /* last arrival number given */
    uint64_t gen;       /* fleet generation, starts at 1 */
    wt_strlist_t known; /* sorted workflow ids ever advertised */
};

/* --- sorted string lists --- */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
sorted_has(const wt_strlist_t *l, const char *s)
{
    return l->n && bsearch(&s, l->items, l->n, sizeof *l->items, cmp_str) != NULL;
}

static void
sorted_copy(wt_strlist_t *dst, const wt_strlist_t *src)
{
    wt_strlist_clear(dst);
    for (size_t i = 0; src && i < src->n; i++)
        wt_strlist_push(dst, src->items[i]);
    if (dst->n > 1)
        qsort(dst->items, dst->n, sizeof *dst->items, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < dst->n; i++) {
        if (k > 0 && strcmp(dst->items[i], dst->items[k - 1]) == 0) {
            free(dst->items[i]);
            continue;
        }
        dst->items[k++] = dst->items[i];
    }
    dst->n = k;
}

/* --- offers and labels --- */

void
wt_route_offer_set(wt_route_offer_t *self, const wt_strlist_t *workflows,
                   const wt_strlist_t *labels)
{
    sorted_copy(&self->workflows, workflows);
    sorted_copy(&self->labels, labels);
}

void
wt_route_offer_release(wt_route_offer_t *self)
{
    wt_strlist_clear(&self->workflows);
    wt_strlist_clear(&self->labels);
}

int
wt_route_offer_runs(const wt_route_offer_t *self, const char *workflow, const char *require)
{
    if (!sorted_has(&self->workflows, workflow))
        return 0;
    for (const char *p = require; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char label[WT_PROTO_MAX_LABEL + 1];
        if (n > WT_PROTO_MAX_LABEL)
            return 0;
        memcpy(label, p, n);
        label[n] = '\0';
        if (!sorted_has(&self->labels, label))
            return 0;
        p = end ? end + 1 : p + n;
    }
    return 1;
}

int
wt_route_labels_canon(const wt_strlist_t *labels, char *out, size_t cap, wt_err_t *err)
{
    if (labels->n > WT_PROTO_MAX_LABELS)
        return wt_err_set(err, WT_EINVAL, "%zu labels required, at most %d", labels->n,
                          WT_PROTO_MAX_LABELS);
    for (size_t i = 0; i < labels->n; i++)
        if (!wt_proto_label_ok(labels->items[i]))
            return wt_err_set(err, WT_EINVAL,
                              "bad label '%.80s': 1-%d characters of A-Z a-z 0-9 . _ : -",
                              labels->items[i], WT_PROTO_MAX_LABEL);
    wt_strlist_t s = {0};
    sorted_copy(&s, labels);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < s.n; i++) {
        int w = snprintf(out + len, cap - len, "%s%s", i ? "," : "", s.items[i]);
        if (w < 0 || (size_t)w >= cap - len) {
            wt_strlist_clear(&s);
            return wt_err_set(err, WT_ELIMIT, "required labels too long");
        }
        len += (size_t)w;
    }
    wt_strlist_clear(&s);
    return 0;
}

/* --- classes --- */

wt_route_t *
wt_route_new(void)
{
    wt_route_t *self = wt_xcalloc(1, sizeof *self);
    self->gen = 1;
    return self;
}

static void
class_destroy(rclass_t **c_p)
{
    rclass_t *c = *c_p;
    free(c->workflow);
    free(c->require);
    wt_queue_destroy(&c->q);
    free(c->elig);
    free(c);
    *c_p = NULL;
}

void
wt_route_destroy(wt_route_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_route_t *self = *self_p;
    for (size_t i = 0; i < self->nc; i++)
        class_destroy(&self->c[i]);
    free(self->c);
    wt_strlist_clear(&self->known);
    free(self);
    *self_p = NULL;
}

static const char *
req_of(const wt_job_t *j)
{
    return j->require ? j->require : "";
}

void
wt_route_push(wt_route_t *self, wt_job_t **job_p)
{
    wt_job_t *job = *job_p;
    if (job->seq == 0)
        job->seq = ++self->seq;
    rclass_t *c = NULL;
    for (size_t i = 0; i < self->nc && c == NULL; i++)
        if (strcmp(self->c[i]->workflow, job->workflow) == 0 &&
            strcmp(self->c[i]->require, req_of(job)) == 0)
            c = self->c[i];
    if (c == NULL) {
        c = wt_xcalloc(1, sizeof *c);
        c->workflow = wt_xstrdup(job->workflow);
        c->require = wt_xstrdup(req_of(job));
        c->q = wt_queue_new();
        if (self->nc == self->capc) {
            self->capc = self->capc ? 2 * self->capc : 8;
            self->c = wt_xrealloc(self->c, self->capc * sizeof *self->c);
        }
        self->c[self->nc++] = c;
    }
    wt_queue_push(c->q, job_p);
    self->njobs++;
}

/* An empty class is kept (with its worker cache) for the next session of
 * the same needs, which is the common case; only when many classes exist
 * are the empty ones freed, so the array stays as small as what waits. */
static void
drop_empty(wt_route_t *self)
{
    if (self->nc <= KEEP_CLASSES)
        return;
    for (size_t i = 0; i < self->nc;) {
        if (wt_queue_size(self->c[i]->q) > 0) {
            i++;
            continue;
        }
        class_destroy(&self->c[i]);
        self->c[i] = self->c[--self->nc];
    }
}

static void
eligible(const wt_route_t *self, rclass_t *c, const wt_route_fleet_t *fleet)
{
    if (c->gen == self->gen)
        return;
    c->nelig = 0;
    for (size_t i = 0; i < fleet->n; i++) {
        if (!wt_route_offer_runs(fleet->offer(fleet->ud, i), c->workflow, c->require))
            continue;
        if (c->nelig == c->capelig) {
            c->capelig = c->capelig ? 2 * c->capelig : 8;
            c->elig = wt_xrealloc(c->elig, c->capelig * sizeof *c->elig);
        }
        c->elig[c->nelig++] = i;
    }
    c->gen = self->gen;
}

/* The eligible worker with most credit (rotating among ties), or -1. */
static long
freest(rclass_t *c, const wt_route_fleet_t *fleet, size_t *pos)
{
    long best = -1;
    int best_credit = 0;
    for (size_t k = 0; k < c->nelig; k++) {
        size_t at = (c->rr + k) % c->nelig;
        int cr = fleet->credit(fleet->ud, c->elig[at]);
        if (cr > best_credit) {
            best_credit = cr;
            best = (long)c->elig[at];
            *pos = at;
        }
    }
    return best;
}

static int
before(const wt_job_t *a, const wt_job_t *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->seq < b->seq;
}

wt_job_t *
wt_route_pop(wt_route_t *self, const wt_route_fleet_t *fleet, size_t *worker)
{
    size_t best_c = 0, best_pos = 0;
    long best_w = -1;
    const wt_job_t *best_head = NULL;
    for (size_t i = 0; i < self->nc; i++) {
        rclass_t *c = self->c[i];
        const wt_job_t *head = wt_queue_peek(c->q);
        if (head == NULL)
            continue;
        eligible(self, c, fleet);
        if (c->nelig == 0)
            continue; /* nobody can run it: its jobs are not even looked at */
        if (best_head && !before(head, best_head))
            continue;
        size_t pos = 0;
        long w = freest(c, fleet, &pos);
        if (w < 0)
            continue;
        best_c = i, best_pos = pos, best_w = w, best_head = head;
    }
    if (best_head == NULL)
        return NULL;
    rclass_t *c = self->c[best_c];
    c->rr = best_pos + 1;
    *worker = (size_t)best_w;
    wt_job_t *j = wt_queue_pop(c->q);
    self->njobs--;
    if (wt_queue_size(c->q) == 0)
        drop_empty(self);
    return j;
}

wt_job_t *
wt_route_pop_any(wt_route_t *self)
{
    for (size_t i = 0; i < self->nc; i++) {
        wt_job_t *j = wt_queue_pop(self->c[i]->q);
        if (j != NULL) {
            self->njobs--;
            return j;
        }
    }
    return NULL;
}

wt_job_t *
wt_route_remove(wt_route_t *self, const char *sid)
{
    for (size_t i = 0; i < self->nc; i++) {
        wt_job_t *j = wt_queue_remove(self->c[i]->q, sid);
        if (j == NULL)
            continue;
        self->njobs--;
        if (wt_queue_size(self->c[i]->q) == 0)
            drop_empty(self);
        return j;
    }
    return NULL;
}

void
wt_route_fleet_changed(wt_route_t *self)
{
    self->gen++;
}

size_t
wt_route_size(const wt_route_t *self)
{
    return self->njobs;
}

int64_t
wt_route_oldest_us(const wt_route_t *self)
{
    int64_t oldest = 0;
    for (size_t i = 0; i < self->nc; i++) {
        int64_t o = wt_queue_oldest_us(self->c[i]->q);
        if (o && (oldest == 0 || o < oldest))
            oldest = o;
    }
    return oldest;
}

void
wt_route_reason(const char *workflow, const char *require, int workflow_offered, char *out,
                size_t cap)
{
    int labels = require && require[0];
    const char *plural = labels && strchr(require, ',') ? "s" : "";
    if (!labels)
        snprintf(out, cap, "no live worker offers workflow '%s'", workflow);
    else if (!workflow_offered)
        snprintf(out, cap, "no live worker offers workflow '%s' with label%s %s", workflow, plural,
                 require);
    else
        snprintf(out, cap, "no live worker offering workflow '%s' has label%s %s", workflow, plural,
                 require);
}

void
wt_route_unroutable(wt_route_t *self, const wt_route_fleet_t *fleet, wt_route_unroutable_fn fn,
                    void *ud)
{
    for (size_t i = 0; i < self->nc; i++) {
        rclass_t *c = self->c[i];
        if (wt_queue_size(c->q) == 0)
            continue;
        eligible(self, c, fleet);
        if (c->nelig > 0)
            continue;
        int offered = 0;
        for (size_t w = 0; w < fleet->n && !offered; w++)
            offered = wt_route_offer_runs(fleet->offer(fleet->ud, w), c->workflow, NULL);
        char why[512];
        wt_route_reason(c->workflow, c->require, offered, why, sizeof why);
        fn(c->workflow, c->require, wt_queue_size(c->q), why, ud);
    }
}

/* --- known workflows --- */

void
wt_route_known_add(wt_route_t *self, const char *workflow)
{
    if (workflow == NULL || workflow[0] == '\0' || sorted_has(&self->known, workflow))
        return;
    wt_strlist_push(&self->known, workflow);
    qsort(self->known.items, self->known.n, sizeof *self->known.items, cmp_str);
}

int
wt_route_known_has(const wt_route_t *self, const char *workflow)
{
    return sorted_has(&self->known, workflow);
}

const wt_strlist_t *
wt_route_known(const wt_route_t *self)
{
    return &self->known;
}
