/* wt_signal - stop flag set from signal handlers. */
#include "wt_signal.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_count;
static volatile sig_atomic_t hup_pending;

static void
on_hup(int sig)
{
    (void)sig;
    hup_pending = 1;
}

void
wt_signal_install_hup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
}

int
wt_signal_take_hup(void)
{
    if (!hup_pending)
        return 0;
    hup_pending = 0;
    return 1;
}

static void
on_signal(int sig)
{
    (void)sig;
    stop_count++;
}

void
wt_signal_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int
wt_signal_stopping(void)
{
    return stop_count;
}

void
wt_signal_request_stop(void)
{
    stop_count++;
}
