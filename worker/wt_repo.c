/* wt_repo - mirrors, worktrees, commits and pushes (see wt_repo.h).
 *
 * The mirror is a bare repository whose remote "origin" is the session's
 * URL, fetched into refs/remotes/origin (not refs/heads): the session
 * branches worktrain/<sid> live in its refs/heads, and a mirror-style fetch
 * with --prune would delete them. Everything that changes the mirror's
 * shared state (clone, fetch, worktree add/prune) holds an flock on
 * <name>.lock, so the kernel releases it when a worker dies - a lock is
 * never stale - but the git process killed with it may have left its own
 * *.lock files (config.lock, packed-refs.lock, ...): under our lock no other
 * git touches those, so they are removed. gc.auto is off in the mirror so
 * no background gc takes packed-refs.lock while worktrees commit. Commits
 * in worktrees only touch their own branch ref and add objects, which git
 * does safely in parallel. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* execvpe, pipe2 */
#endif
#include "wt_repo.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_AUTHOR "WorkTrain <worktrain@localhost>"

/* --- spec --- */

static char *
opt_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? wt_xstrdup(s) : NULL;
}

int
wt_repo_spec_parse(const char *field, wt_repo_spec_t *spec, wt_err_t *err)
{
    memset(spec, 0, sizeof *spec);
    spec->draft = 1;
    if (field == NULL || field[0] != '{')
        return 0;
    json_error_t je;
    json_t *o = json_loads(field, 0, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return wt_err_set(err, WT_EINVAL, "workspace spec is not a JSON object: %s", je.text);
    }
    spec->url = opt_str(o, "repo");
    spec->ref = opt_str(o, "ref");
    spec->deliver = opt_str(o, "deliver");
    spec->forge = opt_str(o, "forge");
    spec->project = opt_str(o, "project");
    spec->labels = opt_str(o, "labels");
    spec->author = opt_str(o, "author");
    spec->auto_commit = json_is_true(json_object_get(o, "auto_commit"));
    spec->no_verify = json_is_true(json_object_get(o, "no_verify"));
    if (json_is_false(json_object_get(o, "draft")))
        spec->draft = 0;
    json_decref(o);
    const char *bad = NULL;
    if (spec->url == NULL)
        bad = "workspace spec: 'repo' (the git URL) is missing";
    else if (spec->url[0] == '-' || strstr(spec->url, "::") != NULL)
        bad = "workspace spec: 'repo' must be a URL or path (no leading '-', no transport::)";
    else if (spec->ref && spec->ref[0] == '-')
        bad = "workspace spec: 'ref' must not start with '-'";
    else if (spec->deliver && strcmp(spec->deliver, "branch") && strcmp(spec->deliver, "pr"))
        bad = "workspace spec: 'deliver' must be branch or pr";
    else if (spec->forge && strcmp(spec->forge, "github") && strcmp(spec->forge, "gitlab"))
        bad = "workspace spec: 'forge' must be github or gitlab";
    else if (spec->author && (!strchr(spec->author, '<') || !strchr(spec->author, '>')))
        bad = "workspace spec: 'author' must look like 'Name <email>'";
    if (bad) {
        wt_repo_spec_release(spec);
        return wt_err_set(err, WT_EINVAL, "%s", bad);
    }
    return 1;
}

char *
wt_repo_spec_dump(const wt_repo_spec_t *s)
{
    json_t *o = json_pack("{s:s}", "repo", s->url ? s->url : "");
    const char *keys[] = {"ref", "deliver", "forge", "project", "labels", "author"};
    const char *vals[] = {s->ref, s->deliver, s->forge, s->project, s->labels, s->author};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (vals[i])
            json_object_set_new(o, keys[i], json_string(vals[i]));
    if (s->auto_commit)
        json_object_set_new(o, "auto_commit", json_true());
    if (s->no_verify)
        json_object_set_new(o, "no_verify", json_true());
    if (!s->draft)
        json_object_set_new(o, "draft", json_false());
    char *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return out;
}

void
wt_repo_spec_release(wt_repo_spec_t *s)
{
    free(s->url);
    free(s->ref);
    free(s->deliver);
    free(s->forge);
    free(s->project);
    free(s->labels);
    free(s->author);
    memset(s, 0, sizeof *s);
}

/* The host of a URL (https://host/..., ssh://user@host/..., user@host:path),
 * "" for file URLs and paths. */
static void
host_of(const char *url, char *out, size_t cap)
{
    out[0] = '\0';
    const char *p = strstr(url, "://");
    if (p)
        p += 3;
    else if (strchr(url, '@') && strchr(url, ':') && url[0] != '/')
        p = url;
    else
        return;
    const char *at = strchr(p, '@'), *slash = strchr(p, '/');
    if (at && (!slash || at < slash))
        p = at + 1;
    size_t n = strcspn(p, ":/");
    snprintf(out, cap, "%.*s", (int)n, p);
}

const char *
wt_repo_forge_of(const wt_repo_spec_t *spec)
{
    if (spec->forge)
        return spec->forge;
    char host[256];
    host_of(spec->url ? spec->url : "", host, sizeof host);
    if (strstr(host, "github"))
        return "github";
    if (strstr(host, "gitlab"))
        return "gitlab";
    return NULL;
}

int
wt_repo_project_of(const wt_repo_spec_t *spec, char *out, size_t cap)
{
    if (spec->project)
        return snprintf(out, cap, "%s", spec->project) < (int)cap ? 0 : -1;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec->url ? spec->url : "");
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '/')
        buf[--n] = '\0';
    if (n > 4 && strcmp(buf + n - 4, ".git") == 0)
        buf[n -= 4] = '\0';
    char *name = strrchr(buf, '/');
    if (name == NULL)
        return -1;
    *name = '\0';
    char *owner = strrchr(buf, '/');
    char *colon = strrchr(buf, ':'); /* user@host:owner/name */
    if (colon && (!owner || colon > owner))
        owner = colon;
    if (owner == NULL || owner[1] == '\0' || name[1] == '\0')
        return -1;
    return snprintf(out, cap, "%s/%s", owner + 1, name + 1) < (int)cap ? 0 : -1;
}

/* --- running git --- */

int
wt_repo_timeout_ms(void)
{
    const char *v = getenv("WORKTRAIN_GIT_TIMEOUT_MS");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n > 0 && n < 86400000 ? (int)n : WT_REPO_GIT_TIMEOUT_MS;
}

static void
read_into(int fd, wt_buf_t *out, char *keep, size_t keep_cap, size_t *kept, int *open_)
{
    char chunk[4096];
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        *open_ = 0;
        return;
    }
    if (out)
        wt_buf_append(out, chunk, (size_t)r, NULL);
    if (keep) {
        size_t take = (size_t)r;
        if (take > keep_cap - 1 - *kept)
            take = keep_cap - 1 - *kept;
        memcpy(keep + *kept, chunk, take);
        *kept += take;
        keep[*kept] = '\0';
    }
}

int
wt_repo_git(const wt_repo_cmd_t *c, char *why, size_t cap)
{
    const char *argv[48];
    size_t n = 0;
    argv[n++] = "git";
    if (c->dir) {
        argv[n++] = "-C";
        argv[n++] = c->dir;
    }
    for (size_t i = 0; c->args[i] != NULL && n < sizeof argv / sizeof argv[0] - 1; i++)
        argv[n++] = c->args[i];
    argv[n] = NULL;
    /* The environment is built before fork: the child of a threaded
     * process may only call async-signal-safe functions. */
    size_t ne = 0, na = 0;
    while (environ[ne])
        ne++;
    while (c->env && c->env[na])
        na++;
    char **envp = wt_xcalloc(ne + na + 1, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < na; i++)
        envp[k++] = (char *)c->env[i];
    for (size_t i = 0; i < ne; i++) {
        size_t nl = strcspn(environ[i], "=");
        int shadowed = 0;
        for (size_t j = 0; j < na && !shadowed; j++)
            shadowed = strncmp(c->env[j], environ[i], nl + 1) == 0;
        if (!shadowed)
            envp[k++] = environ[i];
    }
    envp[k] = NULL;
    int errp[2], outp[2] = {-1, -1}, inp[2] = {-1, -1};
    if (pipe2(errp, O_CLOEXEC) != 0 || (c->out && pipe2(outp, O_CLOEXEC) != 0) ||
        (c->input && pipe2(inp, O_CLOEXEC) != 0)) {
        free(envp);
        return snprintf(why, cap, "pipe: %s", strerror(errno)), -1;
    }
    /* vfork: fork would take every malloc arena's lock in this session
     * thread (see start_child in wt_tool_bash.c); the child makes only
     * system calls until execvpe or _exit. */
    pid_t pid = vfork();
    if (pid == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDWR);
        dup2(c->input ? inp[0] : null, STDIN_FILENO);
        dup2(c->out ? outp[1] : null, STDOUT_FILENO);
        dup2(errp[1], STDERR_FILENO);
        execvpe("git", (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    close(errp[1]);
    if (c->out)
        close(outp[1]);
    if (c->input)
        close(inp[0]);
    if (pid < 0) {
        close(errp[0]);
        if (c->out)
            close(outp[0]);
        if (c->input)
            close(inp[1]);
        return snprintf(why, cap, "cannot fork: %s", strerror(errno)), -1;
    }
    if (c->input) { /* commit messages: small next to the pipe buffer, and git reads them first */
        signal(SIGPIPE, SIG_IGN);
        size_t len = strlen(c->input), off = 0;
        while (off < len) {
            ssize_t w = write(inp[1], c->input + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        close(inp[1]);
    }
    int timeout = c->timeout_ms > 0 ? c->timeout_ms : wt_repo_timeout_ms();
    int64_t deadline = wt_clock_mono_ms() + timeout;
    char msg[512] = "";
    size_t kept = 0;
    int err_open = 1, out_open = c->out != NULL, timed_out = 0;
    while (err_open || out_open) {
        struct pollfd p[2];
        int np = 0;
        if (err_open)
            p[np++] = (struct pollfd){.fd = errp[0], .events = POLLIN};
        if (out_open)
            p[np++] = (struct pollfd){.fd = outp[0], .events = POLLIN};
        int64_t left = deadline - wt_clock_mono_ms();
        if (left <= 0) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
        if (poll(p, (nfds_t)np, (int)(left > 1000 ? 1000 : left)) <= 0)
            continue;
        for (int i = 0; i < np; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (p[i].fd == errp[0])
                read_into(errp[0], NULL, msg, sizeof msg, &kept, &err_open);
            else
                read_into(outp[0], c->out, NULL, 0, NULL, &out_open);
        }
    }
    close(errp[0]);
    if (c->out)
        close(outp[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out)
        return snprintf(why, cap, "git %s timed out after %d ms", c->args[0], timeout), -1;
    /* The first meaningful line: skip git's "hint:" lines. */
    char *line = msg;
    while (strncmp(line, "hint:", 5) == 0 && strchr(line, '\n'))
        line = strchr(line, '\n') + 1;
    line[strcspn(line, "\n")] = '\0';
    snprintf(why, cap, "%s", line);
    if (!WIFEXITED(status))
        return -1;
    if (WEXITSTATUS(status) == 127 && kept == 0)
        snprintf(why, cap, "git is not installed");
    return WEXITSTATUS(status);
}

/* --- credentials --- */

char **
wt_repo_env(const wt_repo_spec_t *spec)
{
    char **env = wt_xcalloc(8, sizeof *env);
    size_t n = 0;
    env[n++] = wt_xstrdup("GIT_TERMINAL_PROMPT=0");
    const char *url = spec && spec->url ? spec->url : "";
    const char *forge = spec ? wt_repo_forge_of(spec) : NULL;
    const char *token = NULL, *user = NULL;
    if (forge && strcmp(forge, "github") == 0)
        token = getenv("GITHUB_TOKEN"), user = "x-access-token";
    else if (forge && strcmp(forge, "gitlab") == 0)
        token = getenv("GITLAB_TOKEN"), user = "oauth2";
    if (token && *token && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)) {
        char *pair = wt_xasprintf("%s:%s", user, token);
        size_t len = strlen(pair);
        unsigned char *b64 = wt_xcalloc(4 * ((len + 2) / 3) + 1, 1);
        EVP_EncodeBlock(b64, (const unsigned char *)pair, (int)len);
        explicit_bzero(pair, len);
        free(pair);
        env[n++] = wt_xstrdup("GIT_CONFIG_COUNT=1");
        env[n++] = wt_xstrdup("GIT_CONFIG_KEY_0=http.extraHeader");
        env[n++] = wt_xasprintf("GIT_CONFIG_VALUE_0=Authorization: Basic %s", (char *)b64);
        explicit_bzero(b64, strlen((char *)b64));
        free(b64);
    }
    env[n] = NULL;
    return env;
}

void
wt_repo_env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++) {
        explicit_bzero(env[i], strlen(env[i]));
        free(env[i]);
    }
    free(env);
}

/* --- the mirror --- */

/* <root>/.mirrors/<last path component>-<sha256(url) prefix>: readable, and
 * two URLs never share a mirror. */
static int
mirror_name(const char *url, char *out, size_t cap)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1)
        return -1;
    const char *base = strrchr(url, '/');
    base = base && base[1] ? base + 1 : "repo";
    char clean[48];
    size_t k = 0;
    for (const char *p = base; *p && k < sizeof clean - 1; p++)
        clean[k++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'
                                ? *p
                                : '_');
    clean[k] = '\0';
    int w = snprintf(out, cap, "%s-", clean);
    for (int i = 0; i < 8 && w > 0 && (size_t)w < cap; i++)
        w += snprintf(out + w, cap - (size_t)w, "%02x", md[i]);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}

static int
mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = c;
        if (c == '\0')
            return 0;
    }
}

/* Takes the mirror lock (bounded wait) and records who holds it. */
static int
lock_mirror(const char *path, const char *sid, wt_err_t *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return wt_err_sys(err, "cannot open the mirror lock '%s'", path), -1;
    int64_t give_up = wt_clock_mono_ms() + WT_REPO_LOCK_WAIT_MS, nap = 5;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            wt_err_sys(err, "cannot lock '%s'", path);
            close(fd);
            return -1;
        }
        if (wt_clock_mono_ms() > give_up) {
            close(fd);
            return wt_err_set(err, WT_ETIMEDOUT, "mirror lock '%s' still held after %d ms", path,
                              WT_REPO_LOCK_WAIT_MS),
                   -1;
        }
        wt_clock_sleep_ms(nap);
        nap = nap < 100 ? nap * 2 : 100;
    }
    char rec[160];
    int n = snprintf(rec, sizeof rec, "pid=%ld branch=worktrain/%s time_ms=%lld\n", (long)getpid(),
                     sid, (long long)wt_clock_now_ms());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, rec, (size_t)n, 0) < 0)
        wt_log_debug("mirror lock '%s': cannot record the holder", path);
    return fd;
}

static void
unlock_mirror(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* Under the mirror lock no git of ours runs in the mirror's shared files,
 * so a *.lock there was left by a git that was killed. */
static void
remove_stale_git_locks(const char *mirror)
{
    DIR *d = opendir(mirror);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".lock") != 0)
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", mirror, e->d_name);
        if (unlink(p) == 0)
            wt_log_warn("mirror %s: removed %s left by a git that was stopped", mirror, e->d_name);
    }
    closedir(d);
}

static int
git_simple(const char *dir, const char *const *args, char *const *env, char *why, size_t cap)
{
    wt_repo_cmd_t c = {.dir = dir, .args = args, .env = (const char *const *)env};
    return wt_repo_git(&c, why, cap);
}

/* Clones (into a temporary directory renamed into place, so a half clone
 * is never taken for a mirror) or fetches. Lock held. */
/* When the last successful fetch of the mirror started (ms, from
 * <mirror>/worktrain-fetched), 0 when unknown. */
static int64_t
last_fetch_ms(const char *mirror)
{
    char p[PATH_MAX], buf[32] = "";
    snprintf(p, sizeof p, "%s/worktrain-fetched", mirror);
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strtoll(buf, NULL, 10);
}

static void
note_fetch_ms(const char *mirror, int64_t started)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/worktrain-fetched", mirror);
    FILE *f = fopen(p, "w");
    if (f != NULL) {
        fprintf(f, "%lld\n", (long long)started);
        fclose(f);
    }
}

/* asked_ms: when the session asked for its worktree. A fetch that started
 * after that (another session's, while this one waited for the lock) is as
 * fresh as one of its own, so concurrent sessions share one fetch. */
static int
refresh_mirror(const char *mirror, const wt_repo_spec_t *spec, char *const *env, int64_t asked_ms,
               wt_err_t *err)
{
    char why[512];
    struct stat st;
    int fresh_clone = 0;
    if (stat(mirror, &st) != 0) {
        fresh_clone = 1;
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s.tmp", mirror);
        /* git init and config are idempotent: an earlier half-made one is reused */
        const char *init[] = {"init", "-q", "--bare", tmp, NULL};
        if (git_simple(NULL, init, NULL, why, sizeof why) != 0)
            return wt_err_set(err, WT_EIO, "cannot create the mirror '%s': %s", tmp, why);
        const char *url[] = {"config", "remote.origin.url", spec->url, NULL};
        const char *refs[] = {"config", "remote.origin.fetch",
                              "+refs/heads/*:refs/remotes/origin/*", NULL};
        const char *gc[] = {"config", "gc.auto", "0", NULL};
        if (git_simple(tmp, url, NULL, why, sizeof why) != 0 ||
            git_simple(tmp, refs, NULL, why, sizeof why) != 0 ||
            git_simple(tmp, gc, NULL, why, sizeof why) != 0)
            return wt_err_set(err, WT_EIO, "cannot configure the mirror '%s': %s", tmp, why);
        if (rename(tmp, mirror) != 0)
            return wt_err_sys(err, "cannot move the mirror into '%s'", mirror);
    }
    remove_stale_git_locks(mirror);
    if (!fresh_clone && last_fetch_ms(mirror) >= asked_ms)
        return 0;
    int64_t started = wt_clock_now_ms();
    const char *fetch[] = {"fetch", "-q", "--prune", "--tags", "origin", NULL};
    if (git_simple(mirror, fetch, env, why, sizeof why) != 0)
        return wt_err_set(err, WT_EIO, "cannot fetch %s: %s", spec->url, why);
    note_fetch_ms(mirror, started);
    char origin_head[PATH_MAX];
    snprintf(origin_head, sizeof origin_head, "%s/refs/remotes/origin/HEAD", mirror);
    if (spec->ref == NULL && (fresh_clone || stat(origin_head, &st) != 0)) {
        const char *head[] = {"remote", "set-head", "origin", "--auto", NULL};
        if (git_simple(mirror, head, env, why, sizeof why) != 0)
            return wt_err_set(err, WT_EIO, "cannot learn the default branch of %s: %s", spec->url,
                              why);
    }
    return 0;
}

/* The commit spec->ref names (a remote branch, tag or commit id). */
static int
resolve_ref(const char *mirror, const wt_repo_spec_t *spec, char *sha, wt_err_t *err)
{
    char cand[3][512];
    int nc = 0;
    if (spec->ref == NULL)
        snprintf(cand[nc++], sizeof cand[0], "refs/remotes/origin/HEAD^{commit}");
    else {
        snprintf(cand[nc++], sizeof cand[0], "refs/remotes/origin/%s^{commit}", spec->ref);
        snprintf(cand[nc++], sizeof cand[0], "refs/tags/%s^{commit}", spec->ref);
        snprintf(cand[nc++], sizeof cand[0], "%s^{commit}", spec->ref);
    }
    for (int i = 0; i < nc; i++) {
        wt_buf_t out;
        wt_buf_init(&out, 4096);
        char why[256];
        const char *rp[] = {"rev-parse", "--verify", "--quiet", "--end-of-options", cand[i], NULL};
        wt_repo_cmd_t c = {.dir = mirror, .args = rp, .out = &out};
        int rc = wt_repo_git(&c, why, sizeof why);
        if (rc == 0 && out.len >= 40) {
            snprintf(sha, 41, "%.40s", wt_buf_str(&out));
            wt_buf_release(&out);
            return 0;
        }
        wt_buf_release(&out);
    }
    return wt_err_set(err, WT_ENOTFOUND, "ref '%s' not found in %s", spec->ref ? spec->ref : "HEAD",
                      spec->url);
}

int
wt_repo_worktree(const char *root, const wt_repo_spec_t *spec, const char *sid, const char *dir,
                 wt_err_t *err)
{
    char name[96], folder[PATH_MAX], mirror[PATH_MAX], lock[PATH_MAX], why[512];
    if (mirror_name(spec->url, name, sizeof name) != 0)
        return wt_err_set(err, WT_EINVAL, "cannot name a mirror for %s", spec->url);
    snprintf(folder, sizeof folder, "%s/.mirrors", root);
    if (snprintf(mirror, sizeof mirror, "%s/%s.git", folder, name) >= (int)sizeof mirror ||
        snprintf(lock, sizeof lock, "%s/%s.lock", folder, name) >= (int)sizeof lock)
        return wt_err_set(err, WT_ELIMIT, "workspace root '%s' too long", root);
    if (mkdir_p(folder) != 0)
        return wt_err_sys(err, "cannot create '%s'", folder);
    int64_t asked = wt_clock_now_ms();
    int fd = lock_mirror(lock, sid, err);
    if (fd < 0)
        return -1;
    char **env = wt_repo_env(spec);
    int rc = refresh_mirror(mirror, spec, env, asked, err);
    wt_repo_env_free(env);
    char sha[41] = "", branch[96];
    snprintf(branch, sizeof branch, "worktrain/%s", sid);
    if (rc == 0)
        rc = resolve_ref(mirror, spec, sha, err);
    if (rc == 0) {
        const char *prune[] = {"worktree", "prune", NULL};
        git_simple(mirror, prune, NULL, why, sizeof why);
        char ref[128];
        snprintf(ref, sizeof ref, "refs/heads/%s", branch);
        const char *has[] = {"rev-parse", "--verify", "--quiet", ref, NULL};
        int exists = git_simple(mirror, has, NULL, why, sizeof why) == 0;
        const char *add_new[] = {"worktree", "add", "-q", "--no-track", "-b",
                                 branch,     dir,   sha,  NULL};
        const char *add_old[] = {"worktree", "add", "-q", dir, branch, NULL};
        if (git_simple(mirror, exists ? add_old : add_new, NULL, why, sizeof why) != 0)
            rc = wt_err_set(err, WT_EIO, "git worktree add of %s on branch %s failed: %s",
                            spec->url, branch, why);
    }
    unlock_mirror(fd);
    return rc;
}

/* --- commits and pushes --- */

static void
author_env(const wt_repo_spec_t *spec, char env[4][320])
{
    const char *a = spec->author ? spec->author : DEFAULT_AUTHOR;
    const char *lt = strchr(a, '<'), *gt = strchr(a, '>');
    int nlen = (int)(lt - a);
    while (nlen > 0 && a[nlen - 1] == ' ')
        nlen--;
    int elen = (int)(gt - lt - 1);
    snprintf(env[0], 320, "GIT_AUTHOR_NAME=%.*s", nlen, a);
    snprintf(env[1], 320, "GIT_AUTHOR_EMAIL=%.*s", elen, lt + 1);
    snprintf(env[2], 320, "GIT_COMMITTER_NAME=%.*s", nlen, a);
    snprintf(env[3], 320, "GIT_COMMITTER_EMAIL=%.*s", elen, lt + 1);
}

static int
head_sha(const char *dir, char *sha)
{
    wt_buf_t out;
    wt_buf_init(&out, 4096);
    char why[256];
    const char *rp[] = {"rev-parse", "HEAD", NULL};
    wt_repo_cmd_t c = {.dir = dir, .args = rp, .out = &out};
    int rc = wt_repo_git(&c, why, sizeof why) == 0 && out.len >= 40 ? 0 : -1;
    if (rc == 0)
        snprintf(sha, 41, "%.40s", wt_buf_str(&out));
    wt_buf_release(&out);
    return rc;
}

int
wt_repo_commit(const char *dir, const wt_repo_spec_t *spec, const char *sid, const char *subject,
               const char *body, int *made, char *sha, wt_err_t *err)
{
    char why[512];
    *made = 0;
    const char *add[] = {"add", "-A", NULL};
    if (git_simple(dir, add, NULL, why, sizeof why) != 0)
        return wt_err_set(err, WT_EIO, "git add in '%s' failed: %s", dir, why);
    const char *diff[] = {"diff", "--cached", "--quiet", NULL};
    int rc = git_simple(dir, diff, NULL, why, sizeof why);
    if (rc == 0)
        return sha ? head_sha(dir, sha), 0 : 0;
    if (rc != 1)
        return wt_err_set(err, WT_EIO, "git diff in '%s' failed: %s", dir, why);
    char *msg = wt_xasprintf("%s\n\n%s%sWorkTrain-Session: %s\n",
                             subject && *subject ? subject : "WorkTrain step", body ? body : "",
                             body && *body ? "\n\n" : "", sid);
    char env[4][320];
    author_env(spec, env);
    const char *envp[] = {env[0], env[1], env[2], env[3], NULL};
    const char *commit[] = {"commit", "-q", "--cleanup=verbatim",
                            "-F",     "-",  spec->no_verify ? "--no-verify" : NULL,
                            NULL};
    wt_repo_cmd_t c = {.dir = dir, .args = commit, .env = envp, .input = msg};
    rc = wt_repo_git(&c, why, sizeof why);
    free(msg);
    if (rc != 0)
        return wt_err_set(err, WT_EIO, "git commit in '%s' failed: %s", dir, why);
    *made = 1;
    if (sha && head_sha(dir, sha) != 0)
        return wt_err_set(err, WT_EIO, "cannot read the commit made in '%s'", dir);
    return 0;
}

int
wt_repo_push(const char *dir, const wt_repo_spec_t *spec, const char *branch, char *pushed,
             size_t cap, char *sha, wt_err_t *err)
{
    char why[512] = "";
    if (head_sha(dir, sha) != 0)
        return wt_err_set(err, WT_EIO, "cannot read HEAD in '%s'", dir);
    char **env = wt_repo_env(spec);
    int rc = -1;
    for (int n = 1; n <= 5 && rc != 0; n++) {
        char target[160], refspec[200];
        if (n == 1)
            snprintf(target, sizeof target, "%s", branch);
        else
            snprintf(target, sizeof target, "%s-%d", branch, n);
        snprintf(refspec, sizeof refspec, "HEAD:refs/heads/%s", target);
        const char *push[] = {"push", "-q", "origin", refspec, NULL};
        if (git_simple(dir, push, env, why, sizeof why) == 0) {
            snprintf(pushed, cap, "%s", target);
            rc = 0;
            break;
        }
        /* Rejected? Fetch the remote branch: if it is an ancestor of ours,
         * the remote moved while we pushed - try again; otherwise it is
         * someone else's branch and ours goes under a suffixed name. */
        char src[200];
        snprintf(src, sizeof src, "refs/heads/%s", target);
        const char *fetch[] = {"fetch", "-q", "origin", src, NULL};
        if (git_simple(dir, fetch, env, why, sizeof why) != 0)
            break; /* no such remote branch: the push failed for another reason */
        const char *anc[] = {"merge-base", "--is-ancestor", "FETCH_HEAD", "HEAD", NULL};
        if (git_simple(dir, anc, NULL, why, sizeof why) == 0 &&
            git_simple(dir, push, env, why, sizeof why) == 0) {
            snprintf(pushed, cap, "%s", target);
            rc = 0;
            break;
        }
        snprintf(why, sizeof why, "remote branch %s holds other work", target);
    }
    wt_repo_env_free(env);
    if (rc != 0)
        return wt_err_set(err, WT_EIO, "git push of %s failed: %s", branch, why);
    return 0;
}

int
wt_repo_mirror_path(const char *root, const char *url, char *out, size_t cap)
{
    char name[96];
    if (mirror_name(url, name, sizeof name) != 0)
        return -1;
    return snprintf(out, cap, "%s/.mirrors/%s.git", root, name) < (int)cap ? 0 : -1;
}

void
wt_repo_base_branch(const char *dir, const wt_repo_spec_t *spec, char *out, size_t cap)
{
    char why[256], ref[512];
    snprintf(out, cap, "main");
    if (spec->ref) {
        snprintf(ref, sizeof ref, "refs/remotes/origin/%s", spec->ref);
        const char *has[] = {"rev-parse", "--verify", "--quiet", ref, NULL};
        if (git_simple(dir, has, NULL, why, sizeof why) == 0) {
            snprintf(out, cap, "%s", spec->ref);
            return;
        }
    }
    wt_buf_t b;
    wt_buf_init(&b, 4096);
    const char *sym[] = {"symbolic-ref", "-q", "refs/remotes/origin/HEAD", NULL};
    wt_repo_cmd_t c = {.dir = dir, .args = sym, .out = &b};
    const char *pre = "refs/remotes/origin/";
    if (wt_repo_git(&c, why, sizeof why) == 0 && b.len > strlen(pre) &&
        strncmp(wt_buf_str(&b), pre, strlen(pre)) == 0) {
        const char *name = wt_buf_str(&b) + strlen(pre);
        snprintf(out, cap, "%.*s", (int)strcspn(name, "\n"), name);
    }
    wt_buf_release(&b);
}

int
wt_repo_changed_files(const char *dir, const wt_repo_spec_t *spec, char *out, size_t cap,
                      wt_err_t *err)
{
    char basebr[256], range[320], why[256];
    if (cap > 0)
        *out = '\0';
    wt_repo_base_branch(dir, spec, basebr, sizeof basebr);
    snprintf(range, sizeof range, "refs/remotes/origin/%s...HEAD", basebr);
    const char *args[] = {"diff", "--name-only", "--no-renames", range, "--", NULL};
    wt_buf_t b;
    wt_buf_init(&b, 1 << 20);
    wt_repo_cmd_t c = {.dir = dir, .args = args, .out = &b};
    if (wt_repo_git(&c, why, sizeof why) != 0) {
        wt_buf_release(&b);
        return wt_err_set(err, WT_EIO, "git diff --name-only %s in %s: %s", range, dir, why);
    }
    size_t used = 0;
    int n = 0;
    const char *p = wt_buf_str(&b);
    while (*p && n < WT_REPO_FILES_MAX) {
        size_t len = strcspn(p, "\n");
        if (len > 0) {
            if (used + len + (used ? 1 : 0) + 1 > cap)
                break;
            if (used)
                out[used++] = '\n';
            memcpy(out + used, p, len);
            used += len;
            out[used] = '\0';
            n++;
        }
        p += len + (p[len] == '\n');
    }
    wt_buf_release(&b);
    return 0;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 when invalid. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80             ? 1
                 : (p[0] & 0xE0) == 0xC0 ? 2
                 : (p[0] & 0xF0) == 0xE0 ? 3
                 : (p[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n || (len == 2 && p[0] < 0xC2) || p[0] > 0xF4)
        return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) || /* overlong, surrogate */
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

char *
wt_repo_diff(const char *dir, const char *base, const char *branch, size_t max, wt_err_t *err)
{
    char range[512], why[512];
    if (snprintf(range, sizeof range, "refs/remotes/origin/%s...HEAD", base) >= (int)sizeof range)
        return wt_err_set(err, WT_ELIMIT, "base branch name too long: '%s'", base), NULL;
    wt_buf_t b;
    wt_buf_init(&b, 16u << 20); /* more is cut below anyway; the rest is drained */
    const char *args[] = {"-c",
                          "core.quotepath=false",
                          "diff",
                          "--no-color",
                          "--no-ext-diff",
                          "--stat",
                          "--patch",
                          range,
                          "--",
                          NULL};
    wt_repo_cmd_t c = {.dir = dir, .args = args, .out = &b};
    if (wt_repo_git(&c, why, sizeof why) != 0) {
        wt_buf_release(&b);
        return wt_err_set(err, WT_EIO, "git diff %s in '%s' failed: %s", range, dir, why), NULL;
    }
    size_t total = b.len;
    const unsigned char *in = (const unsigned char *)wt_buf_str(&b);
    char *note = NULL;
    size_t keep = total;
    if (total > max) {
        note = wt_xasprintf("\n[... diff truncated to %zu of %zu bytes; the full diff: git diff "
                            "origin/%s...%s]\n",
                            max, total, base, branch);
        size_t room = max > strlen(note) ? max - strlen(note) : 0;
        keep = room;
        while (keep > 0 && in[keep - 1] != '\n') /* whole lines only */
            keep--;
    }
    char *out = wt_xmalloc(keep + (note ? strlen(note) : 0) + 1);
    size_t o = 0;
    for (size_t i = 0; i < keep;) {
        size_t n = utf8_len(in + i, keep - i);
        if (n == 0) {
            out[o++] = '?';
            i++;
        } else {
            memcpy(out + o, in + i, n);
            o += n;
            i += n;
        }
    }
    if (note) {
        memcpy(out + o, note, strlen(note));
        o += strlen(note);
        free(note);
    }
    out[o] = '\0';
    wt_buf_release(&b);
    return out;
}
