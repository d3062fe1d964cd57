/* wt_log - one line per event on stderr:
 *   2026-05-01T12:00:00.123Z I wt-worker[812] llm: call done task=t-42
 * or, with WORKTRAIN_LOG_FORMAT=json (for log shippers), one JSON object:
 *   {"ts":"2026-05-01T12:00:00.123Z","level":"info","proc":"wt-worker",
 *    "pid":812,"msg":"llm: call done","session":"...","worker":"w1"}
 * session comes from the calling thread (wt_log_thread_session) or a message
 * that starts with "session ID"; worker from wt_log_set_worker.
 * Settings are fixed by wt_log_init before any thread starts; lines are
 * written with one write(2) so threads do not interleave. Never log secrets. */
#ifndef WT_LOG_H
#define WT_LOG_H

#include <stddef.h>

typedef enum { WT_LOG_ERROR = 0, WT_LOG_WARN, WT_LOG_INFO, WT_LOG_DEBUG } wt_log_level_t;

/* name: process tag, e.g. "wt-broker". Level from WORKTRAIN_LOG (error, warn,
 * info, debug) unless overridden by wt_log_set_level. */
void wt_log_init(const char *name);
void wt_log_set_level(wt_log_level_t level);
/* 1: JSON lines, 0: text; wt_log_init reads WORKTRAIN_LOG_FORMAT (json|text). */
void wt_log_set_json(int on);
/* The worker name put in JSON lines of this process (copied; "" = none). */
void wt_log_set_worker(const char *name);
/* The session the calling thread works for (borrowed until the next call on
 * this thread; NULL = none). */
void wt_log_thread_session(const char *sid);
/* Formats one line as wt_log_write would (without writing it) into out;
 * returns its length including the newline. For tests. */
size_t wt_log_format(char *out, size_t cap, wt_log_level_t level, const char *msg);
int wt_log_enabled(wt_log_level_t level);
void wt_log_write(wt_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wt_log_error(...) wt_log_write(WT_LOG_ERROR, __VA_ARGS__)
#define wt_log_warn(...)  wt_log_write(WT_LOG_WARN, __VA_ARGS__)
#define wt_log_info(...)  wt_log_write(WT_LOG_INFO, __VA_ARGS__)
#define wt_log_debug(...)                                                                          \
    do {                                                                                           \
        if (wt_log_enabled(WT_LOG_DEBUG))                                                          \
            wt_log_write(WT_LOG_DEBUG, __VA_ARGS__);                                               \
    } while (0)

#endif
