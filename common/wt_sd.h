/* wt_sd - the systemd service-manager protocol (sd_notify, libsystemd) for
 * units with Type=notify and WatchdogSec= (deploy/systemd/): READY=1 once a
 * process is really serving (a worker: registered with the broker), STOPPING=1
 * when it begins to drain, and WATCHDOG=1 pings from the main loop at half
 * the interval systemd asked for. Outside systemd (no NOTIFY_SOCKET) every
 * call is a no-op. */
#ifndef WT_SD_H
#define WT_SD_H

#include <stdint.h>

typedef struct wt_sd {
    int ready_sent;      /* READY=1 went out */
    int64_t interval_ms; /* ping period (half of WATCHDOG_USEC), 0: no watchdog */
    int64_t next_ms;     /* monotonic time of the next ping */
} wt_sd_t;

/* Reads the watchdog setting of this process (WATCHDOG_USEC/WATCHDOG_PID). */
void wt_sd_init(wt_sd_t *self);
/* Sends READY=1 with a STATUS= line, once; later calls only update STATUS. */
void wt_sd_ready(wt_sd_t *self, const char *status);
/* Sends STOPPING=1 with a STATUS= line. */
void wt_sd_stopping(wt_sd_t *self, const char *status);
/* Call from each turn of the main loop: pings when due (now_ms monotonic). */
void wt_sd_tick(wt_sd_t *self, int64_t now_ms);

#endif
