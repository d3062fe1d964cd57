/* wt_sd - sd_notify with libsystemd rather than a hand-written datagram:
 * libsystemd handles abstract sockets, WATCHDOG_PID and credentials.
 * Pinging from the main loop (not a timer thread) is the point: a wedged
 * loop stops the pings and systemd restarts the process. */
#include "wt_sd.h"

#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

void
wt_sd_init(wt_sd_t *self)
{
    memset(self, 0, sizeof *self);
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        self->interval_ms = (int64_t)(usec / 2000);
        if (self->interval_ms < 1)
            self->interval_ms = 1;
    }
}

void
wt_sd_ready(wt_sd_t *self, const char *status)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%sSTATUS=%s", self->ready_sent ? "" : "READY=1\n",
             status ? status : "");
    if (sd_notify(0, msg) > 0)
        self->ready_sent = 1;
}

void
wt_sd_stopping(wt_sd_t *self, const char *status)
{
    (void)self;
    char msg[512];
    snprintf(msg, sizeof msg, "STOPPING=1\nSTATUS=%s", status ? status : "");
    sd_notify(0, msg);
}

void
wt_sd_tick(wt_sd_t *self, int64_t now_ms)
{
    if (self->interval_ms == 0 || now_ms < self->next_ms)
        return;
    sd_notify(0, "WATCHDOG=1");
    self->next_ms = now_ms + self->interval_ms;
}
