/* wt_err - error values. Messages are formatted once, at the failure site;
 * callers that handle the error decide whether to log it. */
#include "wt_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
wt_err_set(wt_err_t *err, wt_code_t code, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->code = code;
    err->sys_errno = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int
wt_err_sys(wt_err_t *err, const char *fmt, ...)
{
    int saved = errno;
    if (err == NULL)
        return -1;
    err->code = WT_EIO;
    err->sys_errno = saved;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(saved));
    return -1;
}

const char *
wt_err_name(wt_code_t code)
{
    switch (code) {
    case WT_OK:
        return "OK";
    case WT_EINVAL:
        return "EINVAL";
    case WT_EIO:
        return "EIO";
    case WT_EPROTO:
        return "EPROTO";
    case WT_ELIMIT:
        return "ELIMIT";
    case WT_ETIMEDOUT:
        return "ETIMEDOUT";
    case WT_EHTTP:
        return "EHTTP";
    case WT_ENOTFOUND:
        return "ENOTFOUND";
    case WT_ESTALE:
        return "ESTALE";
    }
    return "EUNKNOWN";
}
