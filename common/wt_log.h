/* wt_log - one line per event on stderr:
 *   2026-05-01T12:00:00.123Z I wt-worker[812] llm: call done task=t-42
 * Settings are fixed by wt_log_init before any thread starts; lines are
 * written with one write(2) so threads do not interleave. Never log secrets. */
#ifndef WT_LOG_H
#define WT_LOG_H

typedef enum { WT_LOG_ERROR = 0, WT_LOG_WARN, WT_LOG_INFO, WT_LOG_DEBUG } wt_log_level_t;

/* name: process tag, e.g. "wt-broker". Level from WORKTRAIN_LOG (error, warn,
 * info, debug) unless overridden by wt_log_set_level. */
void wt_log_init(const char *name);
void wt_log_set_level(wt_log_level_t level);
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
