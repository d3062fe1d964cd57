/* wt_alloc - allocation that aborts with a message on exhaustion (the
 * process supervisor restarts us), and wt_assert, which stays on in release. */
#ifndef WT_ALLOC_H
#define WT_ALLOC_H

#include <stddef.h>

void *wt_xmalloc(size_t n);
void *wt_xcalloc(size_t count, size_t n);
void *wt_xrealloc(void *p, size_t n);
char *wt_xstrdup(const char *s);
/* Copies at most n bytes of s (stops at its NUL). */
char *wt_xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *wt_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void wt_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define wt_assert(e) ((e) ? (void)0 : wt_assert_fail(#e, __FILE__, __LINE__))

/* Copies src into dst[cap], truncating; always NUL-terminates. Returns 0, or
 * -1 when src did not fit. */
int wt_strlcpy(char *dst, const char *src, size_t cap);

#endif
