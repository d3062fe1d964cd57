/* wt_cli_util - pure helpers of the CLI verbs.
 *
 * Nothing here touches the network or Redis: --var parsing, await's exit
 * code, one event rendered as a text line, and a sorted index of session
 * ids. The index lets await match a fleet-stream entry to the ids it waits
 * for in O(log n), which matters when a benchmark awaits 20,000 sessions
 * and every one of their session_completed events passes through. */
#include "wt_cli_util.h"

#include "wt_alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
wt_cli_var_parse(json_t *ctx, const char *kv)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    if (eq == NULL || eq == kv || !json_is_object(ctx))
        return -1;
    char *key = wt_xstrndup(kv, (size_t)(eq - kv));
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    /* A JSON string or null is not what a user means by `--var k="x"` or
     * `--var k=null`: keep exactly what was typed. */
    if (v == NULL || json_is_string(v) || json_is_null(v)) {
        json_decref(v);
        v = json_string(eq + 1); /* NULL when not UTF-8 */
    }
    if (v == NULL) {
        free(key);
        return -1;
    }
    json_object_set_new(ctx, key, v);
    free(key);
    return 0;
}

int
wt_cli_parse_int(const char *text, long long min, long long max, long long *out)
{
    if (text == NULL || *text == '\0')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
wt_cli_await_exit(json_t *const *results, int n, int any)
{
    int ended = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        if (results[i] == NULL)
            continue;
        ended++;
        const char *o = json_string_value(json_object_get(results[i], "outcome"));
        if (o == NULL || strcmp(o, "success") != 0)
            failed = 1;
    }
    if (any ? ended == 0 : ended < n)
        return 2;
    return failed ? 1 : 0;
}

void
wt_cli_format_ms(const char *ms, char *out, size_t cap)
{
    if (ms == NULL || *ms == '\0') {
        snprintf(out, cap, "-");
        return;
    }
    time_t t = (time_t)(strtoll(ms, NULL, 10) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Appends s cut at max bytes (on a UTF-8 boundary) with "..." after it. */
static void
append_cut(wt_buf_t *out, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) {
        wt_buf_append(out, s, n, NULL);
        return;
    }
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    wt_buf_append(out, s, n, NULL);
    wt_buf_puts(out, "...", NULL);
}

/* 1 when a string value can be shown bare in key=value form. */
static int
bare_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            return 0;
    return 1;
}

static void
append_value(wt_buf_t *out, json_t *v, size_t max)
{
    if (json_is_string(v) && bare_ok(json_string_value(v))) {
        append_cut(out, json_string_value(v), max);
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    append_cut(out, s ? s : "?", max);
    free(s);
}

const char *
wt_cli_event_line(wt_buf_t *out, const char *stream_id, const char *sid, const char *type,
                  const char *data, size_t value_max)
{
    wt_buf_reset(out);
    long long ms = strtoll(stream_id ? stream_id : "0", NULL, 10);
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char when[32];
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    wt_buf_printf(out, NULL, "%s.%03lldZ ", when, ms % 1000);
    if (sid && *sid)
        wt_buf_printf(out, NULL, "%s ", sid);
    wt_buf_puts(out, type && *type ? type : "?", NULL);
    if (data == NULL || *data == '\0')
        return wt_buf_str(out);
    json_t *d = json_loads(data, 0, NULL);
    if (!json_is_object(d)) {
        wt_buf_puts(out, " ", NULL);
        append_cut(out, data, value_max);
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(d, k, v)
        {
            wt_buf_printf(out, NULL, " %s=", k);
            append_value(out, v, value_max);
        }
    }
    json_decref(d);
    return wt_buf_str(out);
}

static int
entry_cmp(const void *a, const void *b)
{
    const wt_cli_index_entry_t *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

void
wt_cli_index_build(wt_cli_index_t *ix, char *const *ids, int n)
{
    ix->n = n;
    ix->v = wt_xcalloc((size_t)(n > 0 ? n : 1), sizeof *ix->v);
    for (int i = 0; i < n; i++) {
        ix->v[i].id = ids[i];
        ix->v[i].pos = i;
    }
    qsort(ix->v, (size_t)n, sizeof *ix->v, entry_cmp);
}

int
wt_cli_index_find(const wt_cli_index_t *ix, const char *id, int *out, int cap)
{
    int lo = 0, hi = ix->n; /* first entry with id >= the one sought */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(ix->v[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int found = 0;
    for (int i = lo; i < ix->n && strcmp(ix->v[i].id, id) == 0; i++, found++)
        if (found < cap)
            out[found] = ix->v[i].pos;
    return found;
}

void
wt_cli_index_release(wt_cli_index_t *ix)
{
    free(ix->v);
    ix->v = NULL;
    ix->n = 0;
}
