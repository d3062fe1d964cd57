/* wt_log - stderr logger. The settings are process-wide by nature (like the
 * stderr they describe) and are written once, before threads start. */
#include "wt_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char log_name[32] = "worktrain";
static wt_log_level_t log_level = WT_LOG_INFO;

void
wt_log_init(const char *name)
{
    snprintf(log_name, sizeof log_name, "%s", name);
    const char *env = getenv("WORKTRAIN_LOG");
    if (env == NULL)
        return;
    if (strcmp(env, "error") == 0)
        log_level = WT_LOG_ERROR;
    else if (strcmp(env, "warn") == 0)
        log_level = WT_LOG_WARN;
    else if (strcmp(env, "debug") == 0)
        log_level = WT_LOG_DEBUG;
    else
        log_level = WT_LOG_INFO;
}

void
wt_log_set_level(wt_log_level_t level)
{
    log_level = level;
}

int
wt_log_enabled(wt_log_level_t level)
{
    return level <= log_level;
}

void
wt_log_write(wt_log_level_t level, const char *fmt, ...)
{
    if (!wt_log_enabled(level))
        return;
    static const char letters[] = "EWID";
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %c %s[%d] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), letters[level], log_name, (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
