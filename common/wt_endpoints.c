/* wt_endpoints - see wt_endpoints.h. */
#include "wt_endpoints.h"

#include <stdio.h>
#include <stdlib.h>
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

const char *
wt_endpoint_problem(const char *ep, int bind)
{
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
        return ep[strcspn(ep, "/") + 2] ? NULL : "no path after the transport";
    if (strncmp(ep, "tcp://", 6) != 0)
        return "expected tcp://HOST:PORT, ipc://PATH or inproc://NAME";
    const char *colon = strrchr(ep + 6, ':');
    if (colon == NULL || colon == ep + 6)
        return "expected tcp://HOST:PORT";
    if (strcmp(colon + 1, "*") == 0)
        return bind ? NULL : "a port to connect to must be 1-65535, not *";
    if (!bind && colon == ep + 7 && ep[6] == '*')
        return "a host to connect to must be named, not *";
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] && *end == '\0' && port > 0 && port < 65536)
        return NULL;
    return bind ? "port must be 1-65535 or *" : "port must be 1-65535";
}

int
wt_endpoints_check(const char *list, const char *flag, wt_err_t *err)
{
    int n = wt_endpoints_nth(list, 0, NULL, 0);
    if (n == 0)
        return wt_err_set(err, WT_EINVAL, "bad %s '%s': no endpoint (expected tcp://HOST:PORT)",
                          flag, list ? list : "");
    for (int i = 0; i < n; i++) {
        char ep[512];
        wt_endpoints_nth(list, i, ep, sizeof ep);
        const char *why = wt_endpoint_problem(ep, 0);
        if (why != NULL)
            return wt_err_set(err, WT_EINVAL, "bad %s '%s': %s", flag, ep, why);
    }
    return 0;
}
