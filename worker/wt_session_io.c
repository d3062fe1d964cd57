/* wt_session_io - event writes and workspace setup for sessions.
 * A write that fails because Redis is unreachable is retried with capped
 * backoff for as long as it takes: the session pauses at that write (no
 * event is ever reported that Redis did not store, and giving up would
 * strand the session as "running"). Only a drain deadline interrupts the
 * wait, handing the session back. A refused write (stale epoch, or the
 * session already ended) is final. */
#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_log.h"
#include "wt_session_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

int
wt_session_emit(wt_session_t *self, const char *type, json_t *data, int fleet, int nfields,
                const char **fields)
{
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (text == NULL)
        text = wt_xstrdup("{}");
    int backoff = 50, rc = -1, warned = 0;
    for (;;) {
        wt_err_t err = {0};
        if (wt_store_append(&self->store, self->sid, self->epoch, type, text, fleet, nfields,
                            fields, &err) == 0) {
            rc = 0;
            break;
        }
        if (err.code == WT_ESTALE) {
            self->stale = 1;
            break;
        }
        if (self->drain == 2)
            break; /* drain deadline: the broker requeues it */
        if (!warned++)
            wt_log_warn("session %s: paused, cannot write %s (retrying until Redis answers): %s",
                        self->sid, type, err.msg);
        wt_clock_sleep_ms(backoff);
        backoff = backoff < 2000 ? backoff * 2 : 2000;
    }
    if (rc == 0 && warned)
        wt_log_info("session %s: Redis answers again, resuming", self->sid);
    free(text);
    return rc;
}

int
wt_session_git_worktree(const char *repo, const char *dir, const char *sid, char *why, size_t cap)
{
    char branch[64];
    snprintf(branch, sizeof branch, "worktrain/%s", sid);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", 0);
        dup2(null, 0);
        dup2(null, 1);
        execlp("git", "git", "-C", repo, "worktree", "add", "-q", "-b", branch, dir, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        snprintf(why, cap, "git worktree add of '%s' on branch %s failed", repo, branch);
        return -1;
    }
    return 0;
}
