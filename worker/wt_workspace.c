/* wt_workspace - plain directories and git worktrees for sessions.
 *
 * git runs through fork/exec with an argument vector (no shell, so a repo
 * path with spaces or quotes is just a path). A session resumed on the same
 * machine finds its directory already there and keeps it, work included;
 * resumed on another machine that shares the repo, it checks out the
 * existing branch worktrain/<sid> instead of failing to create it again. */
#include "wt_workspace.h"

#include "wt_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* mkdir -p. */
static int
make_path(const char *path, wt_err_t *err)
{
    char buf[PATH_MAX];
    if (wt_strlcpy(buf, path, sizeof buf) != 0)
        return wt_err_set(err, WT_ELIMIT, "workspace root '%s': path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return wt_err_sys(err, "cannot create directory '%s'", buf);
        *p = c;
        if (c == '\0')
            return 0;
    }
}

int
wt_workspace_git(char *const *args, char *why, size_t cap)
{
    char *argv[32];
    size_t n = 0;
    argv[n++] = "git";
    for (size_t i = 0; args[i] != NULL && n < sizeof argv / sizeof argv[0] - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return snprintf(why, cap, "pipe: %s", strerror(errno)), -1;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        execvp("git", argv);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return snprintf(why, cap, "cannot fork: %s", strerror(errno)), -1;
    }
    char msg[512], chunk[256];
    size_t len = 0;
    ssize_t r;
    /* Read all of stderr (so git never blocks on a full pipe), keep the start. */
    while ((r = read(fds[0], chunk, sizeof chunk)) > 0 || (r < 0 && errno == EINTR)) {
        size_t take = r > 0 ? (size_t)r : 0;
        if (take > sizeof msg - 1 - len)
            take = sizeof msg - 1 - len;
        memcpy(msg + len, chunk, take);
        len += take;
    }
    close(fds[0]);
    msg[len] = '\0';
    msg[strcspn(msg, "\n")] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    snprintf(why, cap, "%s", msg);
    if (!WIFEXITED(status))
        return -1;
    if (WEXITSTATUS(status) == 127 && len == 0)
        snprintf(why, cap, "git is not installed");
    return WEXITSTATUS(status);
}

static int
worktree(const char *repo, const char *dir, const char *sid, wt_err_t *err)
{
    char branch[96], ref[128], why[512];
    snprintf(branch, sizeof branch, "worktrain/%s", sid);
    snprintf(ref, sizeof ref, "refs/heads/%s", branch);
    char *check[] = {"-C", (char *)repo, "rev-parse", "--git-dir", NULL};
    if (wt_workspace_git(check, why, sizeof why) != 0)
        return wt_err_set(err, WT_EINVAL, "workspace '%s' is not a git repository: %s", repo, why);
    char *has[] = {"-C", (char *)repo, "rev-parse", "--verify", "--quiet", ref, NULL};
    int exists = wt_workspace_git(has, why, sizeof why) == 0;
    char *add_new[] = {"-C", (char *)repo, "worktree",  "add", "-q",
                       "-b", branch,       (char *)dir, NULL};
    char *add_old[] = {"-C", (char *)repo, "worktree", "add", "-q", (char *)dir, branch, NULL};
    if (wt_workspace_git(exists ? add_old : add_new, why, sizeof why) != 0)
        return wt_err_set(err, WT_EIO, "git worktree add of '%s' on branch %s failed: %s", repo,
                          branch, why);
    return 0;
}

int
wt_workspace_create(const char *root, const char *sid, const char *repo, char *out, size_t cap,
                    wt_err_t *err)
{
    if (sid == NULL || *sid == '\0' || strchr(sid, '/') || strcmp(sid, ".") == 0 ||
        strcmp(sid, "..") == 0)
        return wt_err_set(err, WT_EINVAL, "bad session id for a workspace: '%s'", sid ? sid : "");
    if (make_path(root, err) != 0)
        return -1;
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", root, sid) >= (int)sizeof dir)
        return wt_err_set(err, WT_ELIMIT, "workspace path under '%s' too long", root);
    struct stat st;
    int exists = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    if (!exists && repo && *repo) {
        if (worktree(repo, dir, sid, err) != 0)
            return -1;
    } else if (!exists && mkdir(dir, 0755) != 0) {
        return wt_err_sys(err, "cannot create workspace '%s'", dir);
    }
    char real[PATH_MAX];
    if (realpath(dir, real) == NULL)
        return wt_err_sys(err, "cannot resolve workspace '%s'", dir);
    if (wt_strlcpy(out, real, cap) != 0)
        return wt_err_set(err, WT_ELIMIT, "workspace path '%s' too long", real);
    return 0;
}
