/* wt_clock - time helpers: wall-clock and monotonic milliseconds, and the
 * duration syntax of the CLI ("250ms", "90s", "30m", "2h", bare = seconds). */
#ifndef WT_CLOCK_H
#define WT_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (for timestamps stored in Redis). */
int64_t wt_clock_now_ms(void);
/* TEST ONLY clock: Unix ms read from the file at path (its text is Unix
 * seconds, see WORKTRAIN_TEST_CLOCK_FILE); the real wall clock when path
 * is NULL or "", or the file is missing or malformed. */
int64_t wt_clock_file_ms(const char *path);
/* Monotonic milliseconds (for timeouts and intervals). */
int64_t wt_clock_mono_ms(void);
/* Monotonic microseconds (for latency measurement). */
int64_t wt_clock_mono_us(void);
/* Parses a duration; returns milliseconds or -1 when malformed. */
int64_t wt_clock_parse_duration_ms(const char *text);
/* Formats a Unix time in ms as ISO-8601 UTC with milliseconds
 * (2026-11-30T06:00:00.123Z) into out (cap >= 25); a negative ms is the
 * epoch. */
void wt_clock_format_iso(int64_t ms, char *out, size_t cap);
/* Sleeps for ms milliseconds (restarts after signals). */
void wt_clock_sleep_ms(int64_t ms);

#endif
