/* wt_alloc - aborting allocators. Out-of-memory is not recoverable in a
 * daemon that holds sessions in flight; bounded inputs are the real defence. */
#include "wt_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
oom(size_t n)
{
    fprintf(stderr, "worktrain: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
wt_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n);
    return p;
}

void *
wt_xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (p == NULL)
        oom(count * n);
    return p;
}

void *
wt_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n);
    return q;
}

char *
wt_xstrdup(const char *s)
{
    return wt_xstrndup(s, strlen(s));
}

char *
wt_xstrndup(const char *s, size_t n)
{
    n = strnlen(s, n);
    char *p = wt_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
wt_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    char *p = wt_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void
wt_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "worktrain: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}

int
wt_strlcpy(char *dst, const char *src, size_t cap)
{
    size_t n = strlen(src);
    if (cap == 0)
        return -1;
    if (n >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}
