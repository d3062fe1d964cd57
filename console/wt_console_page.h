/* wt_console_page - reads a zset scored by created_ms newest first, in
 * batches, from an exclusive position (score, member): the order is score
 * descending, then member descending, exactly as ZREVRANGEBYSCORE returns
 * equal scores. So a page can resume after any item without repeating or
 * skipping one, even when many share a millisecond. Borrows its Redis. */
#ifndef WT_CONSOLE_PAGE_H
#define WT_CONSOLE_PAGE_H

#include "wt_console_query.h"
#include "wt_err.h"
#include "wt_redis.h"

#define WT_CONSOLE_PAGE_BATCH_MAX 1000 /* candidates per round trip */

typedef struct wt_console_page {
    wt_redis_t *redis;          /* borrowed */
    char key[256];              /* the zset */
    int has_anchor;             /* anchor is set */
    wt_console_cursor_t anchor; /* last item handed out */
    int exhausted;              /* the zset has nothing after the anchor */
    wt_console_cursor_t *items; /* owned: the current batch */
    int nitems;                 /* entries in items */
} wt_console_page_t;

/* after may be NULL (start at the newest). */
void wt_console_page_init(wt_console_page_t *self, wt_redis_t *redis, const char *key,
                          const wt_console_cursor_t *after);
void wt_console_page_release(wt_console_page_t *self);
/* Reads the next batch of at most n items (n <= WT_CONSOLE_PAGE_BATCH_MAX,
 * plus the rest of the anchor's millisecond) into self->items; returns the
 * count, 0 once exhausted, -1 with err when Redis fails. */
int wt_console_page_next(wt_console_page_t *self, int n, wt_err_t *err);

/* 1 when member a sorts before b in a zset (byte order, as Redis). */
int wt_console_page_member_less(const char *a, const char *b);

#endif
