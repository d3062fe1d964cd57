/* wt_test_redis.h - a real redis-server for unit tests: started on a free
 * loopback port (kept across a stop/start, so a test can restart it where
 * clients expect it), no persistence, waited for with a bounded PING loop,
 * killed at stop. Header-only like wt_test.h; link wtbase. */
#ifndef WT_TEST_REDIS_H
#define WT_TEST_REDIS_H

#include "wt_clock.h"
#include "wt_redis.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct wt_test_redis {
    pid_t pid;    /* redis-server, 0 when stopped */
    int port;     /* chosen at the first start, then kept */
    char url[64]; /* redis://127.0.0.1:PORT/0 */
} wt_test_redis_t;

/* A loopback TCP port nobody listens on right now, or -1. */
static int
wt_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Starts the server and returns a client (command timeout timeout_ms) once
 * it answers PING, trying for at most 5 s; the caller destroys the client. */
static wt_redis_t *
wt_test_redis_start(wt_test_redis_t *s, int timeout_ms)
{
    if (s->port == 0)
        s->port = wt_test_free_port();
    char ports[16];
    snprintf(ports, sizeof ports, "%d", s->port);
    snprintf(s->url, sizeof s->url, "redis://127.0.0.1:%d/0", s->port);
    s->pid = fork();
    if (s->pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execl("/usr/bin/redis-server", "redis-server", "--port", ports, "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
              (char *)NULL);
        _exit(127);
    }
    wt_redis_t *r = wt_redis_new(s->url, timeout_ms, NULL);
    for (int i = 0; i < 200; i++) {
        redisReply *rep = wt_redis_command(r, NULL, "PING");
        if (rep) {
            freeReplyObject(rep);
            return r;
        }
        wt_clock_sleep_ms(25);
    }
    return r;
}

/* Kills the server (SIGKILL) and reaps it; a no-op when stopped. */
static void
wt_test_redis_stop(wt_test_redis_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

#endif
