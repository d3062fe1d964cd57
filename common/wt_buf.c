/* wt_buf - capped growable buffer. Growth doubles; the cap is checked on the
 * requested length so an oversized input never causes a large allocation. */
#include "wt_buf.h"

#include "wt_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wt_buf_init(wt_buf_t *self, size_t max_bytes)
{
    self->data = NULL;
    self->len = 0;
    self->cap = 0;
    self->max_bytes = max_bytes;
}

void
wt_buf_release(wt_buf_t *self)
{
    free(self->data);
    self->data = NULL;
    self->len = self->cap = 0;
}

void
wt_buf_reset(wt_buf_t *self)
{
    self->len = 0;
    if (self->data)
        self->data[0] = '\0';
}

static int
reserve(wt_buf_t *self, size_t extra, wt_err_t *err)
{
    if (extra > self->max_bytes || self->len > self->max_bytes - extra)
        return wt_err_set(err, WT_ELIMIT, "buffer would hold %zu bytes > max %zu",
                          self->len + extra, self->max_bytes);
    size_t need = self->len + extra + 1;
    if (need <= self->cap)
        return 0;
    size_t cap = self->cap ? self->cap : 64;
    while (cap < need)
        cap *= 2;
    self->data = wt_xrealloc(self->data, cap);
    self->cap = cap;
    return 0;
}

int
wt_buf_append(wt_buf_t *self, const void *p, size_t n, wt_err_t *err)
{
    if (reserve(self, n, err) != 0)
        return -1;
    if (n)
        memcpy(self->data + self->len, p, n);
    self->len += n;
    self->data[self->len] = '\0';
    return 0;
}

int
wt_buf_puts(wt_buf_t *self, const char *s, wt_err_t *err)
{
    return wt_buf_append(self, s, strlen(s), err);
}

int
wt_buf_printf(wt_buf_t *self, wt_err_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return wt_err_set(err, WT_EINVAL, "bad format '%s'", fmt);
    if (reserve(self, (size_t)n, err) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(self->data + self->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    self->len += (size_t)n;
    return 0;
}

const char *
wt_buf_str(const wt_buf_t *self)
{
    return self->data ? self->data : "";
}

char *
wt_buf_detach(wt_buf_t *self)
{
    char *p = self->data ? self->data : wt_xstrdup("");
    self->data = NULL;
    self->len = self->cap = 0;
    return p;
}

int
wt_buf_read_file(wt_buf_t *self, const char *path, wt_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return wt_err_sys(err, "cannot open '%s'", path);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = wt_buf_append(self, chunk, n, err);
    if (rc == 0 && ferror(f))
        rc = wt_err_sys(err, "cannot read '%s'", path);
    fclose(f);
    return rc;
}
