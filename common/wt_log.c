/* wt_log - stderr logger. The settings are process-wide by nature (like the
 * stderr they describe) and are written once, before threads start; the
 * session of a line is per thread (a session thread of the worker sets it),
 * so it needs no lock.
 *
 * JSON lines are built with jansson, so any byte a message carries (quotes,
 * newlines, a model's text) is escaped; bytes that are not UTF-8 become '?'
 * (jansson refuses them, and a log shipper would too). A line is written
 * with one write(2) so threads do not interleave. */
#include "wt_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 2048

static char log_name[32] = "worktrain";
static char log_worker[128] = "";
static wt_log_level_t log_level = WT_LOG_INFO;
static int log_json = 0;
static _Thread_local const char *log_session = NULL;

void
wt_log_init(const char *name)
{
    snprintf(log_name, sizeof log_name, "%s", name);
    const char *fmt = getenv("WORKTRAIN_LOG_FORMAT");
    log_json = fmt != NULL && strcmp(fmt, "json") == 0;
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

void
wt_log_set_json(int on)
{
    log_json = on;
}

void
wt_log_set_worker(const char *name)
{
    snprintf(log_worker, sizeof log_worker, "%s", name ? name : "");
}

void
wt_log_thread_session(const char *sid)
{
    log_session = sid;
}

int
wt_log_enabled(wt_log_level_t level)
{
    return level <= log_level;
}

/* A JSON string of s; bytes jansson refuses (invalid UTF-8) become '?'. */
static json_t *
safe_string(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    char copy[LINE_MAX_BYTES];
    size_t i = 0;
    for (; s[i] && i < sizeof copy - 1; i++)
        copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    copy[i] = '\0';
    return json_string(copy);
}

/* The session id a message names first ("session ID: ..." or "session ID
 * ..."), copied into out; 0 when it names none. */
static int
session_in(const char *msg, char *out, size_t cap)
{
    if (strncmp(msg, "session ", 8) != 0)
        return 0;
    const char *p = msg + 8;
    size_t n = strspn(p, "0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghijklmnopqrstuvwxyz-_");
    if (n < 8 || n >= cap)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

static size_t
format_json(char *out, size_t cap, const char *ts, wt_log_level_t level, const char *msg)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    json_t *o = json_object();
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(names[level]));
    json_object_set_new(o, "proc", json_string(log_name));
    json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(o, "msg", safe_string(msg));
    char sid[64];
    if (log_session != NULL)
        json_object_set_new(o, "session", safe_string(log_session));
    else if (session_in(msg, sid, sizeof sid))
        json_object_set_new(o, "session", json_string(sid));
    if (log_worker[0])
        json_object_set_new(o, "worker", safe_string(log_worker));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    size_t n = s ? strlen(s) : 0;
    if (s == NULL || n + 2 > cap) { /* too long for one line: say so, still valid JSON */
        n = (size_t)snprintf(out, cap,
                             "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"(line too long)\"}", ts,
                             names[level]);
    } else {
        memcpy(out, s, n);
    }
    free(s);
    out[n++] = '\n';
    return n;
}

size_t
wt_log_format(char *out, size_t cap, wt_log_level_t level, const char *msg)
{
    static const char letters[] = "EWID";
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
    if (log_json)
        return format_json(out, cap, ts, level, msg);
    int n = snprintf(out, cap, "%s %c %s[%d] %s", ts, letters[level], log_name, (int)getpid(), msg);
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len > cap - 2)
        len = cap - 2;
    out[len++] = '\n';
    return len;
}

void
wt_log_write(wt_log_level_t level, const char *fmt, ...)
{
    if (!wt_log_enabled(level))
        return;
    char msg[LINE_MAX_BYTES - 200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char line[LINE_MAX_BYTES * 2]; /* escaping can double a JSON message */
    size_t len = wt_log_format(line, sizeof line, level, msg);
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
