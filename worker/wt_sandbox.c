/* wt_sandbox - bubblewrap command lines and resource limits for tools.
 *
 * The mounts that never change (system directories, masks over secrets) are
 * computed once in wt_sandbox_new; each call only adds the workspace and the
 * network choice. bwrap is used rather than raw clone/unshare because it is
 * Debian-packaged, audited, and handles the user-namespace corner cases
 * (uid maps, /proc, /dev, pivot_root) we would otherwise reimplement. */
#include "wt_sandbox.h"

#include "wt_alloc.h"
#include "wt_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS 10000

/* A growable NULL-terminated vector of owned strings. */
typedef struct strv {
    char **v;
    size_t n, cap;
} strv_t;

struct wt_sandbox {
    wt_sandbox_cfg_t cfg;
    char bwrap[PATH_MAX]; /* absolute path of bwrap, "" when disabled */
    strv_t fixed;         /* mount options shared by every call */
};

static void
strv_add(strv_t *s, const char *a)
{
    if (s->n + 2 > s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->v = wt_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = wt_xstrdup(a);
    s->v[s->n] = NULL;
}

static void
strv_add3(strv_t *s, const char *a, const char *b, const char *c)
{
    strv_add(s, a);
    strv_add(s, b);
    if (c)
        strv_add(s, c);
}

static void
strv_release(strv_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

void
wt_sandbox_cfg_defaults(wt_sandbox_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->enabled = 1;
    cfg->network = 0;
    cfg->max_cpu_s = 600;
    cfg->max_mem_mb = 4096;
    cfg->max_procs = 1024;
    cfg->max_file_mb = 1024;
}

static int
find_bwrap(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path && *path ? path : "/usr/bin:/bin");
    for (char *dir = buf, *next; dir; dir = next) {
        next = strchr(dir, ':');
        if (next)
            *next++ = '\0';
        if (*dir != '/')
            continue; /* a relative PATH entry would depend on the cwd */
        snprintf(out, cap, "%s/bwrap", dir);
        if (access(out, X_OK) == 0)
            return 0;
    }
    out[0] = '\0';
    return -1;
}

/* /bin, /lib ... are symlinks into /usr on Debian 12 (merged /usr): recreate
 * the link; on older layouts bind the directory read-only. */
static void
system_dir(strv_t *s, const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return;
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(dir, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            strv_add3(s, "--symlink", target, dir);
        }
    } else if (S_ISDIR(st.st_mode)) {
        strv_add3(s, "--ro-bind", dir, dir);
    }
}

/* Covers path (when it exists) with an empty directory or /dev/null. */
static void
mask(strv_t *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode))
        strv_add3(s, "--tmpfs", path, NULL);
    else
        strv_add3(s, "--ro-bind", "/dev/null", path);
}

static int
under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

wt_sandbox_t *
wt_sandbox_new(const wt_sandbox_cfg_t *cfg, const char *const *hidden, wt_err_t *err)
{
    wt_sandbox_t *self = wt_xcalloc(1, sizeof *self);
    self->cfg = *cfg;
    if (!cfg->enabled)
        return self;
    if (find_bwrap(self->bwrap, sizeof self->bwrap) != 0) {
        free(self);
        wt_err_set(err, WT_EINVAL,
                   "sandbox: bwrap not found in PATH (install Debian's bubblewrap, or run with "
                   "--sandbox off on a trusted single-user machine)");
        return NULL;
    }
    strv_t *s = &self->fixed;
    /* --unshare-all: user, ipc, pid, net, uts, cgroup; --share-net adds the
     * network back per call. --cap-drop ALL matters when the worker is root:
     * without it the sandboxed root could mount or mknod its way out. */
    strv_add3(s, "--die-with-parent", "--new-session", NULL);
    strv_add3(s, "--unshare-all", "--cap-drop", "ALL");
    static const char *const sysdirs[] = {"/usr",   "/bin",   "/sbin",   "/lib",
                                          "/lib32", "/lib64", "/libx32", "/etc"};
    for (size_t i = 0; i < sizeof sysdirs / sizeof sysdirs[0]; i++)
        system_dir(s, sysdirs[i]);
    /* /etc is needed (passwd, ld.so.cache, alternatives, ssl/certs, git's
     * config) but holds host secrets: cover the usual places. */
    static const char *const etc_secrets[] = {
        "/etc/shadow",    "/etc/gshadow",   "/etc/shadow-",   "/etc/gshadow-",
        "/etc/sudoers",   "/etc/sudoers.d", "/etc/ssh",       "/etc/ssl/private",
        "/etc/worktrain", "/etc/redis",     "/etc/credstore", "/etc/credstore.encrypted"};
    for (size_t i = 0; i < sizeof etc_secrets / sizeof etc_secrets[0]; i++)
        mask(s, etc_secrets[i]);
    /* The worker's own secret files, wherever they are inside what is
     * visible (outside it they are absent anyway). */
    for (size_t i = 0; hidden && hidden[i]; i++) {
        char real[PATH_MAX];
        if (hidden[i][0] == '\0' || realpath(hidden[i], real) == NULL)
            continue;
        if (under(real, "/usr") || under(real, "/etc") || under(real, "/bin") ||
            under(real, "/sbin") || under(real, "/lib") || under(real, "/lib64") ||
            under(real, "/lib32") || under(real, "/libx32"))
            mask(s, real);
    }
    strv_add3(s, "--proc", "/proc", NULL);
    strv_add3(s, "--dev", "/dev", NULL);
    strv_add3(s, "--tmpfs", "/tmp", NULL);
    /* HOME is absent in the sandbox; tools that write dotfiles (git, pip)
     * get the private /tmp instead. */
    strv_add3(s, "--setenv", "HOME", "/tmp");
    strv_add3(s, "--setenv", "TMPDIR", "/tmp");
    return self;
}

void
wt_sandbox_destroy(wt_sandbox_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    strv_release(&(*self_p)->fixed);
    free(*self_p);
    *self_p = NULL;
}

int
wt_sandbox_enabled(const wt_sandbox_t *self)
{
    return self != NULL && self->cfg.enabled;
}

/* A workspace that is a git worktree has a .git file pointing into the
 * repository's git directory (REPO/.git/worktrees/NAME, whose commondir
 * names REPO/.git): git needs that directory, read-write for commits, and
 * nothing else of the repository. Fills out, or "" when not a worktree. */
static void
worktree_gitdir(const char *workspace, char *out, size_t cap)
{
    out[0] = '\0';
    char path[PATH_MAX], line[PATH_MAX], common[PATH_MAX];
    snprintf(path, sizeof path, "%s/.git", workspace);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    int ok = fgets(line, sizeof line, f) != NULL && strncmp(line, "gitdir: ", 8) == 0;
    fclose(f);
    if (!ok)
        return;
    line[strcspn(line, "\r\n")] = '\0';
    const char *gitdir = line + 8;
    if (gitdir[0] != '/')
        return; /* git writes absolute paths; a relative one is not ours */
    snprintf(path, sizeof path, "%s/commondir", gitdir);
    f = fopen(path, "r");
    ok = f && fgets(common, sizeof common, f) != NULL;
    if (f)
        fclose(f);
    if (!ok)
        return;
    common[strcspn(common, "\r\n")] = '\0';
    if (common[0] == '/')
        snprintf(path, sizeof path, "%s", common);
    else
        snprintf(path, sizeof path, "%s/%s", gitdir, common);
    char real[PATH_MAX];
    if (realpath(path, real) != NULL)
        snprintf(out, cap, "%s", real);
}

char **
wt_sandbox_argv(const wt_sandbox_t *self, const char *workspace, int network, const char *command)
{
    strv_t s = {0};
    if (wt_sandbox_enabled(self)) {
        strv_add(&s, self->bwrap);
        for (size_t i = 0; i < self->fixed.n; i++)
            strv_add(&s, self->fixed.v[i]);
        if (network || self->cfg.network) {
            strv_add(&s, "--share-net");
            /* resolv.conf may point into /run (systemd-resolved) */
            strv_add3(&s, "--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve");
        }
        char gitdir[PATH_MAX];
        worktree_gitdir(workspace, gitdir, sizeof gitdir);
        if (gitdir[0]) {
            /* Read-write for objects and refs, but hooks and config stay
             * read-only: the worker itself runs git in this repository
             * (worktree add/remove), and a hook or core.hooksPath /
             * core.fsmonitor written by a tool would run outside the sandbox. */
            char hooks[PATH_MAX + 8], config[PATH_MAX + 8];
            snprintf(hooks, sizeof hooks, "%s/hooks", gitdir);
            snprintf(config, sizeof config, "%s/config", gitdir);
            mkdir(hooks, 0755); /* git init makes it; if absent, an empty one is harmless */
            strv_add3(&s, "--bind", gitdir, gitdir);
            strv_add3(&s, "--ro-bind", hooks, hooks);
            strv_add3(&s, "--ro-bind-try", config, config);
        }
        strv_add3(&s, "--bind", workspace, workspace);
        strv_add3(&s, "--chdir", workspace, NULL);
    }
    strv_add3(&s, "/bin/bash", "-c", command);
    return s.v;
}

void
wt_sandbox_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

static void
limit(int resource, int64_t value, int64_t unit)
{
    if (value <= 0)
        return;
    struct rlimit rl = {(rlim_t)value * (rlim_t)unit, (rlim_t)value * (rlim_t)unit};
    struct rlimit cur;
    /* Never raise a limit the worker already runs under. */
    if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY &&
        cur.rlim_max < rl.rlim_max)
        rl.rlim_cur = rl.rlim_max = cur.rlim_max;
    setrlimit(resource, &rl);
}

void
wt_sandbox_child_limits(const wt_sandbox_t *self)
{
    if (self == NULL)
        return;
    limit(RLIMIT_CPU, self->cfg.max_cpu_s, 1);
    limit(RLIMIT_AS, self->cfg.max_mem_mb, 1024 * 1024);
    limit(RLIMIT_NPROC, self->cfg.max_procs, 1);
    limit(RLIMIT_FSIZE, self->cfg.max_file_mb, 1024 * 1024);
}

int
wt_sandbox_probe(const wt_sandbox_t *self, const char *dir, wt_err_t *err)
{
    if (!wt_sandbox_enabled(self))
        return 0;
    char **argv = wt_sandbox_argv(self, dir, 0, "exit 0");
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        wt_sandbox_argv_free(argv);
        return wt_err_set(err, WT_EIO, "sandbox probe: cannot create a pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        wt_sandbox_child_limits(self);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    wt_sandbox_argv_free(argv);
    if (pid < 0) {
        close(fds[0]);
        return wt_err_set(err, WT_EIO, "sandbox probe: cannot fork: %s", strerror(errno));
    }
    char out[512] = "";
    size_t n = 0;
    int status = 0, done = 0;
    int64_t deadline = wt_clock_mono_ms() + PROBE_TIMEOUT_MS;
    while (!done && wt_clock_mono_ms() < deadline) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, 100) > 0) {
            ssize_t r = read(fds[0], out + n, sizeof out - 1 - n);
            if (r > 0)
                n += (size_t)r;
        }
        done = waitpid(pid, &status, WNOHANG) == pid;
    }
    close(fds[0]);
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return wt_err_set(err, WT_ETIMEDOUT, "sandbox probe: bwrap did not finish in %d ms",
                          PROBE_TIMEOUT_MS);
    }
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return wt_err_set(err, WT_EINVAL,
                          "sandbox: bwrap cannot run tools here (%s; exit %d): give the worker "
                          "user namespaces, or run with --sandbox off on a trusted single-user "
                          "machine",
                          n ? out : "no message",
                          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}
