/* wt_console_query - the console's query parameters and paging cursor, with
 * no I/O: parameters come through a lookup callback so tests (and any HTTP
 * layer) can supply them. Every error names the parameter. */
#ifndef WT_CONSOLE_QUERY_H
#define WT_CONSOLE_QUERY_H

#include "wt_err.h"

#include <stddef.h>
#include <stdint.h>

#define WT_CONSOLE_LIMIT_DEFAULT 50  /* page size when limit is not given */
#define WT_CONSOLE_LIMIT_MAX     500 /* largest page */
#define WT_CONSOLE_ID_MAX        64  /* longest session or run id accepted */
#define WT_CONSOLE_NAME_MAX      128 /* longest workflow or worker name accepted */

/* Returns the value of query parameter name, "" when it has no value, NULL
 * when it is absent. */
typedef const char *(*wt_console_arg_fn)(void *ud, const char *name);

/* A position in a zset read newest first: the last item seen. */
typedef struct wt_console_cursor {
    int64_t ms;                     /* its score (created_ms) */
    char id[WT_CONSOLE_ID_MAX + 1]; /* its member (session or run id) */
} wt_console_cursor_t;

typedef struct wt_console_page_query {
    int limit;                  /* 1..WT_CONSOLE_LIMIT_MAX */
    int has_cursor;             /* cursor is set */
    wt_console_cursor_t cursor; /* continue after this item */
} wt_console_page_query_t;

typedef struct wt_console_sessions_query {
    wt_console_page_query_t page;           /* limit and cursor */
    char status[16];                        /* "" or queued running completed failed cancelled */
    char workflow[WT_CONSOLE_NAME_MAX + 1]; /* "" = any */
    char worker[WT_CONSOLE_NAME_MAX + 1];   /* "" = any */
    char run[WT_CONSOLE_ID_MAX + 1];        /* "" = any */
    char parent[WT_CONSOLE_ID_MAX + 1];     /* "" = any */
    int roots;                              /* only sessions with neither parent nor run */
} wt_console_sessions_query_t;

/* Renders a cursor as "<ms>-<id>" into out. */
void wt_console_query_cursor_encode(int64_t ms, const char *id, char *out, size_t cap);
/* Parses "<ms>-<id>"; -1 with WT_EINVAL naming `cursor` when malformed. */
int wt_console_query_cursor_decode(const char *text, wt_console_cursor_t *out, wt_err_t *err);
/* 1 when id is 1..WT_CONSOLE_ID_MAX chars of [0-9A-Za-z_-]. */
int wt_console_query_id_ok(const char *id);
/* 1 when text is a Redis stream id "<ms>-<seq>" (or "<ms>"). */
int wt_console_query_stream_id_ok(const char *text);

/* Reads limit and cursor. */
int wt_console_query_page(wt_console_arg_fn get, void *ud, wt_console_page_query_t *q,
                          wt_err_t *err);
/* Reads the filters of GET /api/sessions (see console/API.md). */
int wt_console_query_sessions(wt_console_arg_fn get, void *ud, wt_console_sessions_query_t *q,
                              wt_err_t *err);

#endif
