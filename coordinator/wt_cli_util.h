/* wt_cli_util - pure helpers of the CLI verbs, kept apart from I/O so unit
 * tests can reach them: --var parsing, await's exit code, the text form of
 * an event, and the sorted session index await looks ids up in. */
#ifndef WT_CLI_UTIL_H
#define WT_CLI_UTIL_H

#include "wt_buf.h"

#include <jansson.h>

/* Adds "K=V" to the JSON object ctx. V goes in as JSON when it parses as a
 * number, true/false, an object or an array, else as the literal string.
 * Returns -1 (ctx untouched) when there is no '=', the key is empty or V
 * is not UTF-8. */
int wt_cli_var_parse(json_t *ctx, const char *kv);

/* Parses a whole decimal integer in [min, max] into *out; returns -1 (out
 * untouched) for empty text, trailing characters or a value out of range. */
int wt_cli_parse_int(const char *text, long long min, long long max, long long *out);

/* await's exit code over n slots of results (NULL = not ended): 2 when the
 * wait is not satisfied (all: one is missing; any: none ended), else 1 when
 * an ended session's outcome is not "success", else 0. */
int wt_cli_await_exit(json_t *const *results, int n, int any);

/* Renders one event as "TIME [SID ]TYPE key=value ..." (no newline) into
 * out, replacing its content. stream_id is the Redis entry id (its
 * millisecond part gives TIME, UTC); sid NULL leaves the SID out; data is
 * the event's JSON object text (shown raw when it is not an object). String
 * values are quoted when they hold spaces, quotes or '='; every value is
 * cut at value_max bytes with "...". Returns wt_buf_str(out). */
const char *wt_cli_event_line(wt_buf_t *out, const char *stream_id, const char *sid,
                              const char *type, const char *data, size_t value_max);

/* Formats a millisecond Unix time (decimal text) as ISO-8601 UTC, or "-"
 * when ms is NULL or empty. */
void wt_cli_format_ms(const char *ms, char *out, size_t cap);

/* A sorted, searchable copy of session ids: index -> position in the
 * caller's array. Built once; lookups are O(log n). */
typedef struct wt_cli_index_entry {
    const char *id; /* borrowed id */
    int pos;        /* its position in the caller's array */
} wt_cli_index_entry_t;

typedef struct wt_cli_index {
    wt_cli_index_entry_t *v; /* owned, sorted by id then pos */
    int n;                   /* entries */
} wt_cli_index_t;

/* Builds the index over ids[0..n) (borrowed: they must outlive it). */
void wt_cli_index_build(wt_cli_index_t *ix, char *const *ids, int n);
/* Every original position holding id, written to out (up to cap); returns
 * how many there are (an id may be awaited twice). */
int wt_cli_index_find(const wt_cli_index_t *ix, const char *id, int *out, int cap);
void wt_cli_index_release(wt_cli_index_t *ix);

#endif
