/* wt_console_page - batched newest-first reads of a created_ms zset.
 *
 * A batch after the anchor (S, M) is two pipelined reads: the members with
 * score exactly S (then we keep those below M, in descending order), and
 * ZREVRANGEBYSCORE (S -inf LIMIT 0 n. The first read is tiny in practice
 * (sessions created in the same millisecond). Without an anchor the batch
 * is +inf -inf LIMIT 0 n. The zset is exhausted when the second read comes
 * back short. */
#include "wt_console_page.h"

#include "wt_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wt_console_page_init(wt_console_page_t *self, wt_redis_t *redis, const char *key,
                     const wt_console_cursor_t *after)
{
    memset(self, 0, sizeof *self);
    self->redis = redis;
    snprintf(self->key, sizeof self->key, "%s", key);
    if (after != NULL) {
        self->anchor = *after;
        self->has_anchor = 1;
    }
}

void
wt_console_page_release(wt_console_page_t *self)
{
    free(self->items);
    self->items = NULL;
    self->nitems = 0;
}

int
wt_console_page_member_less(const char *a, const char *b)
{
    return strcmp(a, b) < 0; /* strcmp compares as unsigned char, like Redis's memcmp */
}

static void
push(wt_console_page_t *self, int *cap, const char *id, int64_t ms)
{
    if (self->nitems == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        self->items = wt_xrealloc(self->items, (size_t)*cap * sizeof *self->items);
    }
    wt_console_cursor_t *c = &self->items[self->nitems++];
    c->ms = ms;
    snprintf(c->id, sizeof c->id, "%s", id);
}

static int
is_strings(const redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return 0;
    return 1;
}

int
wt_console_page_next(wt_console_page_t *self, int n, wt_err_t *err)
{
    self->nitems = 0;
    if (self->exhausted)
        return 0;
    if (n < 1 || n > WT_CONSOLE_PAGE_BATCH_MAX)
        n = WT_CONSOLE_PAGE_BATCH_MAX;
    char score[32], excl[32], count[16];
    snprintf(score, sizeof score, "%lld", (long long)self->anchor.ms);
    snprintf(excl, sizeof excl, "(%lld", (long long)self->anchor.ms);
    snprintf(count, sizeof count, "%d", n);
    const char *same[] = {"ZREVRANGEBYSCORE", self->key, score, score};
    const char *older[] = {"ZREVRANGEBYSCORE",
                           self->key,
                           self->has_anchor ? excl : "+inf",
                           "-inf",
                           "WITHSCORES",
                           "LIMIT",
                           "0",
                           count};
    if ((self->has_anchor && wt_redis_append(self->redis, 4, same, NULL, err) != 0) ||
        wt_redis_append(self->redis, 8, older, NULL, err) != 0)
        return -1;
    /* Both replies are always read, so no reply is left owed on the
     * connection when the first one is an error. */
    wt_err_t e1 = {0};
    redisReply *rs = self->has_anchor ? wt_redis_get_reply(self->redis, &e1) : NULL;
    redisReply *ro = wt_redis_get_reply(self->redis, err);
    int rc = 0, cap = 0;
    if (self->has_anchor && rs == NULL) {
        if (err)
            *err = e1;
        rc = -1;
    } else if (ro == NULL)
        rc = -1;
    else if ((self->has_anchor && !is_strings(rs)) || !is_strings(ro) || ro->elements % 2 != 0)
        rc = wt_err_set(err, WT_EPROTO, "'%s' is not a sorted set", self->key);
    else {
        for (size_t i = 0; self->has_anchor && i < rs->elements; i++)
            if (wt_console_page_member_less(rs->element[i]->str, self->anchor.id))
                push(self, &cap, rs->element[i]->str, self->anchor.ms);
        for (size_t i = 0; i + 1 < ro->elements; i += 2)
            push(self, &cap, ro->element[i]->str, (int64_t)strtod(ro->element[i + 1]->str, NULL));
        if (ro->elements / 2 < (size_t)n)
            self->exhausted = 1;
        if (self->nitems > 0) {
            self->anchor = self->items[self->nitems - 1];
            self->has_anchor = 1;
        }
        rc = self->nitems;
    }
    if (rs)
        freeReplyObject(rs);
    if (ro)
        freeReplyObject(ro);
    return rc;
}
