/* wt_console_query - parameter checks for the console's routes.
 *
 * The cursor is "<created_ms>-<id>" of the last item a page returned (or
 * the last candidate examined when a request ran out of its work bound);
 * ids never contain '-' followed by digits only, but we split at the first
 * '-' anyway, since ms is all digits. */
#include "wt_console_query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wt_console_query_cursor_encode(int64_t ms, const char *id, char *out, size_t cap)
{
    snprintf(out, cap, "%lld-%s", (long long)ms, id);
}

static int
digits(const char *s, size_t n)
{
    if (n == 0 || n > 18)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int
wt_console_query_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > WT_CONSOLE_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int
wt_console_query_stream_id_ok(const char *text)
{
    const char *dash = strchr(text, '-');
    if (dash == NULL)
        return digits(text, strlen(text));
    return digits(text, (size_t)(dash - text)) && digits(dash + 1, strlen(dash + 1));
}

int
wt_console_query_cursor_decode(const char *text, wt_console_cursor_t *out, wt_err_t *err)
{
    const char *dash = strchr(text, '-');
    if (dash == NULL || !digits(text, (size_t)(dash - text)) || !wt_console_query_id_ok(dash + 1))
        return wt_err_set(err, WT_EINVAL,
                          "bad parameter 'cursor': expected the next_cursor of a previous page");
    out->ms = strtoll(text, NULL, 10);
    snprintf(out->id, sizeof out->id, "%s", dash + 1);
    return 0;
}

int
wt_console_query_page(wt_console_arg_fn get, void *ud, wt_console_page_query_t *q, wt_err_t *err)
{
    memset(q, 0, sizeof *q);
    q->limit = WT_CONSOLE_LIMIT_DEFAULT;
    const char *v = get(ud, "limit");
    if (v != NULL) {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0' || errno != 0 || n < 1 || n > WT_CONSOLE_LIMIT_MAX)
            return wt_err_set(err, WT_EINVAL, "bad parameter 'limit': expected 1..%d",
                              WT_CONSOLE_LIMIT_MAX);
        q->limit = (int)n;
    }
    v = get(ud, "cursor");
    if (v != NULL && *v != '\0') {
        if (wt_console_query_cursor_decode(v, &q->cursor, err) != 0)
            return -1;
        q->has_cursor = 1;
    }
    return 0;
}

/* Copies an optional text parameter, checking its length (and shape). */
static int
text_arg(wt_console_arg_fn get, void *ud, const char *name, char *out, size_t cap, int is_id,
         wt_err_t *err)
{
    const char *v = get(ud, name);
    out[0] = '\0';
    if (v == NULL || *v == '\0')
        return 0;
    if (strlen(v) >= cap)
        return wt_err_set(err, WT_EINVAL, "bad parameter '%s': longer than %zu characters", name,
                          cap - 1);
    if (is_id && !wt_console_query_id_ok(v))
        return wt_err_set(err, WT_EINVAL, "bad parameter '%s': not a session or run id", name);
    snprintf(out, cap, "%s", v);
    return 0;
}

int
wt_console_query_sessions(wt_console_arg_fn get, void *ud, wt_console_sessions_query_t *q,
                          wt_err_t *err)
{
    memset(q, 0, sizeof *q);
    if (wt_console_query_page(get, ud, &q->page, err) != 0)
        return -1;
    static const char *const statuses[] = {"queued", "running", "completed", "failed", "cancelled"};
    const char *v = get(ud, "status");
    if (v != NULL && *v != '\0') {
        int ok = 0;
        for (size_t i = 0; i < sizeof statuses / sizeof statuses[0] && !ok; i++)
            ok = strcmp(v, statuses[i]) == 0;
        if (!ok)
            return wt_err_set(err, WT_EINVAL,
                              "bad parameter 'status': expected queued, running, completed, "
                              "failed or cancelled");
        snprintf(q->status, sizeof q->status, "%s", v);
    }
    if (text_arg(get, ud, "workflow", q->workflow, sizeof q->workflow, 0, err) != 0 ||
        text_arg(get, ud, "worker", q->worker, sizeof q->worker, 0, err) != 0 ||
        text_arg(get, ud, "run", q->run, sizeof q->run, 1, err) != 0 ||
        text_arg(get, ud, "parent", q->parent, sizeof q->parent, 1, err) != 0)
        return -1;
    v = get(ud, "roots");
    if (v != NULL) {
        if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
            q->roots = 1;
        else if (strcmp(v, "0") != 0 && strcmp(v, "false") != 0 && *v != '\0')
            return wt_err_set(err, WT_EINVAL, "bad parameter 'roots': expected 1 or 0");
    }
    return 0;
}
