/* wt_buf - a growable byte buffer with a hard cap fixed at init. Appending
 * past the cap fails with WT_ELIMIT before allocating. Always NUL-terminated
 * so text can be read through wt_buf_str(). Embedded by value: init/release. */
#ifndef WT_BUF_H
#define WT_BUF_H

#include "wt_err.h"

#include <stddef.h>

typedef struct wt_buf {
    char *data;       /* owned; NULL until the first append */
    size_t len;       /* bytes used, excluding the trailing NUL */
    size_t cap;       /* bytes allocated */
    size_t max_bytes; /* hard limit on len */
} wt_buf_t;

void wt_buf_init(wt_buf_t *self, size_t max_bytes);
void wt_buf_release(wt_buf_t *self);
/* Empties the buffer, keeping its memory. */
void wt_buf_reset(wt_buf_t *self);
int wt_buf_append(wt_buf_t *self, const void *p, size_t n, wt_err_t *err);
int wt_buf_puts(wt_buf_t *self, const char *s, wt_err_t *err);
int wt_buf_printf(wt_buf_t *self, wt_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends the whole file at path; fails (WT_ELIMIT) when it does not fit
 * under the cap, or with errno (wt_err_sys) when it cannot be read. */
int wt_buf_read_file(wt_buf_t *self, const char *path, wt_err_t *err);
/* Borrowed NUL-terminated view ("" when empty). */
const char *wt_buf_str(const wt_buf_t *self);
/* Hands the bytes to the caller (NUL-terminated, never NULL) and resets. */
char *wt_buf_detach(wt_buf_t *self);

#endif
