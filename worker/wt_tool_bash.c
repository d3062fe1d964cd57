/* wt_tool_bash - the Bash tool. The child gets its own process group, the
 * workspace as cwd, /dev/null as stdin, a scrubbed environment, the
 * sandbox's resource limits, and runs under bwrap when the sandbox is on; its
 * stdout and stderr share one pipe. Output beyond the cap keeps the first and
 * last halves (the start says what ran, the end says how it ended). A timeout
 * or a cancel sends SIGTERM to the whole group, then SIGKILL after a grace
 * period, so background children of the command die too. */
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_tools_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HALF     (WT_TOOLS_OUTPUT_CAP / 2)
#define GRACE_MS 300 /* output still read after the shell exited */

typedef struct capture {
    char head[HALF]; /* first bytes */
    size_t nhead;    /* bytes in head */
    char tail[HALF]; /* ring of the last bytes */
    size_t ntail;    /* bytes in the ring (<= HALF) */
    size_t tail_pos; /* next write position in the ring */
    size_t total;    /* bytes seen */
} capture_t;

static void
capture_add(capture_t *c, const char *p, size_t n)
{
    c->total += n;
    while (n && c->nhead < HALF) {
        c->head[c->nhead++] = *p++;
        n--;
    }
    for (; n; n--, p++) {
        c->tail[c->tail_pos] = *p;
        c->tail_pos = (c->tail_pos + 1) % HALF;
        if (c->ntail < HALF)
            c->ntail++;
    }
}

static char *
capture_text(const capture_t *c, int status_code, const char *why)
{
    wt_buf_t b;
    wt_buf_init(&b, WT_TOOLS_OUTPUT_CAP + 512);
    wt_buf_append(&b, c->head, c->nhead, NULL);
    size_t omitted = c->total - c->nhead - c->ntail;
    if (omitted)
        wt_buf_printf(&b, NULL, "\n[... %zu bytes omitted ...]\n", omitted);
    size_t start = c->ntail < HALF ? 0 : c->tail_pos;
    for (size_t i = 0; i < c->ntail; i++)
        wt_buf_append(&b, &c->tail[(start + i) % HALF], 1, NULL);
    if (why)
        wt_buf_printf(&b, NULL, "%s[%s]", b.len ? "\n" : "", why);
    else
        wt_buf_printf(&b, NULL, "%s[exit code %d]", b.len ? "\n" : "", status_code);
    return wt_buf_detach(&b);
}

static void
kill_group(pid_t pid)
{
    kill(-pid, SIGTERM);
    for (int i = 0; i < 20; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            goto reap_rest;
        wt_clock_sleep_ms(50);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
reap_rest:
    kill(-pid, SIGKILL); /* stragglers that outlived the shell */
}

/* argv is built before the fork (wt_sandbox_argv): between fork and exec
 * the child of a multi-threaded worker may only make async-signal-safe calls.
 * vfork, not fork: glibc's fork takes every malloc arena's lock in this
 * (niced) session thread while it copies the worker's page tables, and a
 * session thread starved of CPU there held main_arena for seconds, so the
 * main thread stalled in malloc and missed its heartbeats
 * (test_starve_cpu). vfork runs no atfork handlers and copies nothing; the
 * child only makes system calls until execve or _exit. */
static pid_t
start_child(const wt_tool_env_t *env, char **argv, int out_fd, int in_fd)
{
    pid_t pid = vfork();
    if (pid != 0)
        return pid;
    setpgid(0, 0);
    dup2(in_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    if (chdir(env->workspace) != 0)
        _exit(126);
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    signal(SIGPIPE, SIG_DFL);
    wt_sandbox_child_limits(env->sandbox);
    execve(argv[0], argv, env->scrubbed_env);
    _exit(127);
}

/* Reads the child's output until EOF, the deadline, a cancel, or a short
 * grace after the shell exited (a background job may keep the pipe open).
 * Returns NULL when the shell ended (status in *status), else why not. */
static const char *
pump(const wt_tool_env_t *env, pid_t pid, int fd, int64_t deadline, capture_t *cap, int *status)
{
    char buf[8192];
    int exited = 0;
    int64_t grace_end = 0;
    for (;;) {
        if (env->cancel && *env->cancel)
            return "cancelled";
        int64_t now = wt_clock_mono_ms(), left = deadline - now;
        if (left <= 0)
            return "timed out";
        if (!exited && waitpid(pid, status, WNOHANG) == pid) {
            exited = 1;
            grace_end = now + GRACE_MS;
        }
        if (exited && now >= grace_end)
            return NULL; /* leftovers hold the pipe: the group is killed below */
        struct pollfd pfd = {fd, POLLIN, 0};
        int rc = poll(&pfd, 1, left < 100 ? (int)left : 100);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF: the command (and anything holding the pipe) is done */
        capture_add(cap, buf, (size_t)n);
    }
    if (!exited)
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
            ;
    return NULL;
}

int
wt_tool_bash(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out)
{
    const char *command = json_string_value(json_object_get(args, "command"));
    if (command == NULL || *command == '\0')
        return wt_tools_fail(out, "Bash: 'command' (string) is required");
    json_t *t = json_object_get(args, "timeout");
    int64_t timeout_ms = json_is_integer(t) && json_integer_value(t) > 0 ? json_integer_value(t)
                                                                         : env->default_timeout_ms;
    int64_t start = wt_clock_mono_ms(), deadline = start + timeout_ms;
    if (env->deadline_mono_ms > 0 && deadline > env->deadline_mono_ms)
        deadline = env->deadline_mono_ms; /* never outlive the session's wall clock */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return wt_tools_fail(out, "Bash: cannot create a pipe: %s", strerror(errno));
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char **argv = wt_sandbox_argv(env->sandbox, env->workspace, env->network, command);
    pid_t pid = start_child(env, argv, fds[1], devnull);
    wt_sandbox_argv_free(argv);
    close(fds[1]);
    if (devnull >= 0)
        close(devnull);
    if (pid < 0) {
        close(fds[0]);
        return wt_tools_fail(out, "Bash: cannot fork: %s", strerror(errno));
    }
    setpgid(pid, pid);
    capture_t *cap = wt_xcalloc(1, sizeof *cap);
    int status = 0, code = -1;
    const char *why = pump(env, pid, fds[0], deadline, cap, &status);
    close(fds[0]);
    char whybuf[96];
    if (why) {
        kill_group(pid);
        snprintf(whybuf, sizeof whybuf, "%s after %lld ms; process group killed", why,
                 (long long)(wt_clock_mono_ms() - start));
    } else {
        kill(-pid, SIGKILL); /* background leftovers */
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    out->text = capture_text(cap, code, why ? whybuf : NULL);
    out->is_error = why != NULL || code != 0;
    free(cap);
    return 0;
}
