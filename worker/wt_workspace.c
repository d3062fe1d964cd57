/* wt_workspace - plain directories and git worktrees for sessions.
 *
 * git runs through fork/exec with an argument vector (no shell, so a repo
 * path with spaces or quotes is just a path). A session resumed on the same
 * machine finds its directory already there and keeps it, work included;
 * resumed on another machine that shares the repo, it checks out the
 * existing branch worktrain/<sid> instead of failing to create it again.
 *
 * Retention (DESIGN.md section 19): a successful session's workspace is
 * removed when it ends; any other ending leaves an empty-ish record file
 * <root>/.ended/<sid> (holding the repo path of a worktree) whose mtime is
 * the end, and the worker's periodic prune removes workspace and record once
 * --keep-days have passed (with the branch worktrain/<sid> when the
 * worktree came from the worker's mirror). The record, not the directory's own mtime, is
 * what prune trusts: a directory without one belongs to a session that is
 * running (here or on another worker sharing the root) and is never
 * touched. Trees are removed with nftw(FTW_DEPTH | FTW_PHYS), so a symlink
 * an agent left in a workspace is removed, never followed. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "wt_workspace.h"

#include "wt_alloc.h"
#include "wt_repo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ENDED_DIR   ".ended"   /* retention records under the root; never a session id */
#define MIRRORS_DIR ".mirrors" /* wt_repo's bare mirrors under the root */

/* mkdir -p. */
static int
make_path(const char *path, wt_err_t *err)
{
    char buf[PATH_MAX];
    if (wt_strlcpy(buf, path, sizeof buf) != 0)
        return wt_err_set(err, WT_ELIMIT, "workspace root '%s': path too long", path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0; /* the usual case: no mkdir per component (each locks its parent) */
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
    /* One git runner for the program (wt_repo: argv, no shell, bounded). */
    wt_repo_cmd_t c = {.args = (const char *const *)args};
    return wt_repo_git(&c, why, cap);
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

static int valid_sid(const char *sid);

int
wt_workspace_path(const char *root, const char *sid, char *out, size_t cap, wt_err_t *err)
{
    if (!valid_sid(sid))
        return wt_err_set(err, WT_EINVAL, "bad session id for a workspace: '%s'", sid ? sid : "");
    char real[PATH_MAX];
    if (wt_workspace_root_real(root, real, sizeof real, err) != 0)
        return -1;
    return wt_workspace_path_under(real, sid, out, cap, err);
}

int
wt_workspace_root_real(const char *root, char *out, size_t cap, wt_err_t *err)
{
    if (make_path(root, err) != 0)
        return -1;
    char real[PATH_MAX];
    if (realpath(root, real) == NULL)
        return wt_err_sys(err, "cannot resolve workspace root '%s'", root);
    if (wt_strlcpy(out, real, cap) != 0)
        return wt_err_set(err, WT_ELIMIT, "workspace root '%s' too long", real);
    return 0;
}

int
wt_workspace_path_under(const char *real_root, const char *sid, char *out, size_t cap,
                        wt_err_t *err)
{
    if (!valid_sid(sid))
        return wt_err_set(err, WT_EINVAL, "bad session id for a workspace: '%s'", sid ? sid : "");
    if (snprintf(out, cap, "%s/%s", real_root, sid) >= (int)cap)
        return wt_err_set(err, WT_ELIMIT, "workspace path under '%s' too long", real_root);
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

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf dir (a missing dir is fine). */
static int
remove_tree(const char *dir, wt_err_t *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0 && errno == ENOENT)
        return 0;
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return wt_err_sys(err, "cannot remove workspace '%s'", dir);
    return 0;
}

static int
valid_sid(const char *sid)
{
    return sid && *sid && !strchr(sid, '/') && strcmp(sid, ".") && strcmp(sid, "..") &&
           strcmp(sid, ENDED_DIR);
}

int
wt_workspace_retire(const char *root, const char *sid, const char *repo, int remove_now,
                    wt_err_t *err)
{
    if (!valid_sid(sid))
        return wt_err_set(err, WT_EINVAL, "bad session id for a workspace: '%s'", sid ? sid : "");
    char dir[PATH_MAX], rec[PATH_MAX], why[512];
    if (snprintf(dir, sizeof dir, "%s/%s", root, sid) >= (int)sizeof dir ||
        snprintf(rec, sizeof rec, "%s/" ENDED_DIR "/%s", root, sid) >= (int)sizeof rec)
        return wt_err_set(err, WT_ELIMIT, "workspace path under '%s' too long", root);
    if (remove_now) {
        char *rm[] = {"-C", (char *)repo, "worktree", "remove", "--force", dir, NULL};
        if (repo && *repo && wt_workspace_git(rm, why, sizeof why) == 0)
            return 0;
        return remove_tree(dir, err); /* plain, or git could not: the files go anyway */
    }
    char folder[PATH_MAX];
    snprintf(folder, sizeof folder, "%s/" ENDED_DIR, root);
    if (make_path(folder, err) != 0)
        return -1;
    FILE *f = fopen(rec, "w");
    if (f == NULL)
        return wt_err_sys(err, "cannot record the end of workspace '%s'", dir);
    fputs(repo ? repo : "", f);
    if (fclose(f) != 0)
        return wt_err_sys(err, "cannot record the end of workspace '%s'", dir);
    return 0;
}

/* Removes the workspace recorded by .ended/<sid>, then the record. */
static int
prune_one(const char *root, const char *sid, const char *rec, wt_err_t *err)
{
    char dir[PATH_MAX], repo[PATH_MAX] = "", why[512];
    if (snprintf(dir, sizeof dir, "%s/%s", root, sid) >= (int)sizeof dir)
        return wt_err_set(err, WT_ELIMIT, "workspace path under '%s' too long", root);
    FILE *f = fopen(rec, "r");
    if (f != NULL) {
        size_t n = fread(repo, 1, sizeof repo - 1, f);
        repo[n] = '\0';
        fclose(f);
    }
    if (remove_tree(dir, err) != 0)
        return -1;
    if (repo[0]) { /* forget the worktree's metadata in its repo (best effort) */
        char *prune[] = {"-C", repo, "worktree", "prune", NULL};
        wt_workspace_git(prune, why, sizeof why);
        /* In a worker's own mirror (DESIGN.md 15) the branch worktrain/<sid>
         * of a session that was never delivered goes too: it was kept for
         * inspection only. A user's repository keeps its branches. */
        char mirrors[PATH_MAX], branch[96];
        snprintf(mirrors, sizeof mirrors, "%s/" MIRRORS_DIR "/", root);
        snprintf(branch, sizeof branch, "worktrain/%s", sid);
        if (strncmp(repo, mirrors, strlen(mirrors)) == 0) {
            char *del[] = {"-C", repo, "branch", "-q", "-D", branch, NULL};
            if (wt_workspace_git(del, why, sizeof why) != 0 && !strstr(why, "not found"))
                return wt_err_set(err, WT_EIO, "cannot delete branch %s in '%s': %s", branch, repo,
                                  why);
        }
    }
    if (unlink(rec) != 0 && errno != ENOENT)
        return wt_err_sys(err, "cannot remove '%s'", rec);
    return 0;
}

int
wt_workspace_prune(const char *root, int64_t keep_ms, int max, wt_err_t *err)
{
    char folder[PATH_MAX];
    if (snprintf(folder, sizeof folder, "%s/" ENDED_DIR, root) >= (int)sizeof folder)
        return wt_err_set(err, WT_ELIMIT, "workspace root '%s' too long", root);
    DIR *d = opendir(folder);
    if (d == NULL)
        return errno == ENOENT ? 0 : wt_err_sys(err, "cannot read '%s'", folder);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    int removed = 0;
    struct dirent *e;
    while (removed < max && (e = readdir(d)) != NULL) {
        if (!valid_sid(e->d_name))
            continue;
        char rec[PATH_MAX];
        struct stat st;
        if (snprintf(rec, sizeof rec, "%s/%s", folder, e->d_name) >= (int)sizeof rec ||
            stat(rec, &st) != 0)
            continue;
        int64_t ended_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (now_ms - ended_ms < keep_ms)
            continue;
        wt_err_t e2 = {0};
        if (prune_one(root, e->d_name, rec, &e2) == 0)
            removed++;
        else if (err && err->code == WT_OK)
            *err = e2; /* reported once by the caller; the others still get their turn */
    }
    closedir(d);
    return removed;
}
