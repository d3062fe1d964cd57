/* wt_err - error values: a named code plus a "what failed: why" message.
 * Fallible calls take a wt_err_t *err last (may be NULL) and return -1/NULL. */
#ifndef WT_ERR_H
#define WT_ERR_H

typedef enum {
    WT_OK = 0,
    WT_EINVAL = 1,    /* bad argument or malformed input */
    WT_EIO = 2,       /* system or network I/O failed */
    WT_EPROTO = 3,    /* peer broke the protocol */
    WT_ELIMIT = 4,    /* a configured bound was exceeded */
    WT_ETIMEDOUT = 5, /* a bounded wait ran out */
    WT_EHTTP = 6,     /* an HTTP peer answered with an error */
    WT_ENOTFOUND = 7, /* the named thing does not exist */
    WT_ESTALE = 8,    /* a fencing epoch is out of date */
} wt_code_t;

typedef struct wt_err {
    wt_code_t code; /* WT_OK when nothing failed */
    int sys_errno;  /* errno at failure, 0 if not a system error */
    char msg[256];  /* "what failed: why", NUL-terminated */
} wt_err_t;

/* Fills err (may be NULL); always returns -1. */
int wt_err_set(wt_err_t *err, wt_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like wt_err_set but records errno and appends strerror(errno). */
int wt_err_sys(wt_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Short stable name of a code, e.g. "EPROTO". */
const char *wt_err_name(wt_code_t code);

#endif
