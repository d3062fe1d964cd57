/* Unit tests of wt_sd against a real notify socket: a datagram socket bound
 * here and named in NOTIFY_SOCKET, as systemd does for Type=notify units. */
#include "wt_sd.h"

#include "wt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int
listen_notify(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/wt-sd-test-%d.sock", (int)getpid());
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    struct timeval tv = {.tv_sec = 5}; /* bounded: a missing message fails, never hangs */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int
next_msg(int fd, char *buf, size_t cap)
{
    ssize_t n = recv(fd, buf, cap - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return (int)n;
}

static void
test_outside_systemd_is_quiet(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    wt_sd_t sd;
    wt_sd_init(&sd);
    WT_CHECK(sd.interval_ms == 0);
    wt_sd_ready(&sd, "up");
    WT_CHECK(sd.ready_sent == 0);
    wt_sd_tick(&sd, 1000); /* no watchdog: nothing to do, no crash */
}

static void
test_ready_watchdog_stopping(void)
{
    char path[108], buf[512];
    int fd = listen_notify(path, sizeof path);
    WT_CHECK(fd >= 0);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "2000000", 1); /* 2 s: pings every 1 s */
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    wt_sd_t sd;
    wt_sd_init(&sd);
    WT_CHECK(sd.interval_ms == 1000);
    wt_sd_ready(&sd, "registered with broker");
    WT_CHECK(next_msg(fd, buf, sizeof buf) > 0);
    WT_CHECK(strcmp(buf, "READY=1\nSTATUS=registered with broker") == 0);
    wt_sd_ready(&sd, "again"); /* READY only once */
    WT_CHECK(next_msg(fd, buf, sizeof buf) > 0 && strcmp(buf, "STATUS=again") == 0);
    wt_sd_tick(&sd, 5000);
    WT_CHECK(next_msg(fd, buf, sizeof buf) > 0 && strcmp(buf, "WATCHDOG=1") == 0);
    wt_sd_tick(&sd, 5500); /* not due yet: no message, the next one is STOPPING */
    wt_sd_stopping(&sd, "draining");
    WT_CHECK(next_msg(fd, buf, sizeof buf) > 0 && strcmp(buf, "STOPPING=1\nSTATUS=draining") == 0);
    wt_sd_tick(&sd, 6000);
    WT_CHECK(next_msg(fd, buf, sizeof buf) > 0 && strcmp(buf, "WATCHDOG=1") == 0);
    close(fd);
    unlink(path);
    unsetenv("NOTIFY_SOCKET");
}

WT_TEST_MAIN(WT_TEST(test_outside_systemd_is_quiet), WT_TEST(test_ready_watchdog_stopping))
