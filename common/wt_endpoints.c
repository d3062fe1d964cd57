/* wt_endpoints - see wt_endpoints.h. */
#include "wt_endpoints.h"

#include <stdio.h>
#include <string.h>

/* Calls back for each non-empty, trimmed entry; returns the count. */
static int
walk(const char *list, int want, char *out, size_t cap)
{
    int count = 0;
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a) {
            if (count == want && out != NULL)
                snprintf(out, cap, "%.*s", (int)(b - a), a);
            count++;
        }
        p = *end ? end + 1 : end;
    }
    return count;
}

int
wt_endpoints_nth(const char *list, int n, char *out, size_t cap)
{
    if (out && cap)
        out[0] = '\0';
    int count = walk(list, -1, NULL, 0);
    if (count > 0) {
        int i = n % count;
        walk(list, i < 0 ? i + count : i, out, cap);
    }
    return count;
}
