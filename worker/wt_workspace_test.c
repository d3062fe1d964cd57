/* Unit tests of workspaces: a fresh directory per session, reused when the
 * session resumes; a git worktree on branch worktrain/<sid>, also when the
 * branch already exists; clear errors for a non-repository and a bad id.
 * Retention: a successful session's workspace goes at once (a worktree
 * keeps its branch), another ending leaves it with a .ended record that
 * prune honours after keep_ms; prune never touches a directory without a
 * record and never follows a symlink out of a workspace. */
#include "wt_test.h"
#include "wt_workspace.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[PATH_MAX];

static int
sh(const char *fmt, const char *arg)
{
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof cmd, fmt, arg, arg, arg);
    return system(cmd);
}

static void
test_plain_directory(void)
{
    char root[PATH_MAX + 32], out[PATH_MAX];
    snprintf(root, sizeof root, "%s/nested/root", base);
    wt_err_t err = {0};
    WT_CHECK(wt_workspace_create(root, "01PLAIN", NULL, out, sizeof out, &err) == 0);
    struct stat st;
    WT_CHECK(stat(out, &st) == 0 && S_ISDIR(st.st_mode));
    WT_CHECK(strstr(out, "/nested/root/01PLAIN") != NULL && out[0] == '/');
    /* resumed: the directory and its files stay */
    char f[PATH_MAX + 16];
    snprintf(f, sizeof f, "%s/keep", out);
    FILE *fp = fopen(f, "w");
    if (fp)
        fclose(fp);
    char again[PATH_MAX];
    WT_CHECK(wt_workspace_create(root, "01PLAIN", "", again, sizeof again, &err) == 0);
    WT_CHECK_STR(out, again);
    WT_CHECK(access(f, F_OK) == 0);
    WT_CHECK(wt_workspace_create(root, "../evil", NULL, out, sizeof out, &err) == -1);
    WT_CHECK(err.code == WT_EINVAL);
}

/* The path alone (a session that may never run a tool): the root is made,
 * the workspace is not, and creating it later gives the same path. */
static void
test_path_without_directory(void)
{
    char root[PATH_MAX + 32], path[PATH_MAX], made[PATH_MAX];
    snprintf(root, sizeof root, "%s/later/root", base);
    wt_err_t err = {0};
    WT_CHECK(wt_workspace_path(root, "01LATER", path, sizeof path, &err) == 0);
    struct stat st;
    WT_CHECK(stat(root, &st) == 0 && S_ISDIR(st.st_mode));
    WT_CHECK(stat(path, &st) != 0); /* not created */
    WT_CHECK(wt_workspace_create(root, "01LATER", NULL, made, sizeof made, &err) == 0);
    WT_CHECK_STR(path, made);
    WT_CHECK(wt_workspace_path(root, "..", path, sizeof path, &err) == -1 && err.code == WT_EINVAL);
    /* the halves a worker uses (root resolved once): the same path, the
     * same refusals; a root given through a symlink resolves to its target */
    char link[PATH_MAX + 32], real[PATH_MAX], under[PATH_MAX];
    snprintf(link, sizeof link, "%s/later/link", base);
    WT_CHECK(symlink(root, link) == 0);
    WT_CHECK(wt_workspace_root_real(link, real, sizeof real, &err) == 0);
    WT_CHECK(wt_workspace_path_under(real, "01LATER", under, sizeof under, &err) == 0);
    WT_CHECK_STR(under, made);
    err = (wt_err_t){0};
    WT_CHECK(wt_workspace_path_under(real, "..", under, sizeof under, &err) == -1 &&
             err.code == WT_EINVAL);
    err = (wt_err_t){0};
    WT_CHECK(wt_workspace_path_under(real, "a/b", under, sizeof under, &err) == -1 &&
             err.code == WT_EINVAL);
}

static void
test_git_worktree(void)
{
    char repo[PATH_MAX + 16], root[PATH_MAX + 16], out[PATH_MAX], why[256];
    snprintf(repo, sizeof repo, "%s/repo", base);
    snprintf(root, sizeof root, "%s/ws", base);
    WT_CHECK(sh("mkdir -p '%s' && cd '%s' && git init -q && echo hi > README && git add README"
                " && git -c user.email=t@t -c user.name=t commit -qm init && test -d '%s'",
                repo) == 0);
    wt_err_t err = {0};
    WT_CHECK(wt_workspace_create(root, "01GIT", repo, out, sizeof out, &err) == 0);
    if (err.code)
        fprintf(stderr, "  %s\n", err.msg);
    char *head[] = {"-C", out, "symbolic-ref", "--short", "HEAD", NULL};
    WT_CHECK(wt_workspace_git(head, why, sizeof why) == 0);
    char f[PATH_MAX + 16];
    snprintf(f, sizeof f, "%s/README", out);
    WT_CHECK(access(f, F_OK) == 0); /* a checkout of the repo */
    char *branch[] = {"-C", repo, "rev-parse", "--verify", "--quiet", "refs/heads/worktrain/01GIT",
                      NULL};
    WT_CHECK(wt_workspace_git(branch, why, sizeof why) == 0);
    /* the branch exists but the directory is gone (resumed elsewhere) */
    char *rm[] = {"-C", repo, "worktree", "remove", "--force", out, NULL};
    WT_CHECK(wt_workspace_git(rm, why, sizeof why) == 0);
    WT_CHECK(wt_workspace_create(root, "01GIT", repo, out, sizeof out, &err) == 0);
    WT_CHECK(access(f, F_OK) == 0);
    /* not a repository: a clear error naming it */
    err = (wt_err_t){0};
    WT_CHECK(wt_workspace_create(root, "01NOREPO", base, out, sizeof out, &err) == -1);
    WT_CHECK(err.code == WT_EINVAL && strstr(err.msg, "not a git repository") != NULL);
}

static int
exists(const char *root, const char *name)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", root, name);
    struct stat st;
    return lstat(p, &st) == 0;
}

static void
test_retire_and_prune(void)
{
    char root[PATH_MAX + 16], out[PATH_MAX], outside[PATH_MAX + 16], link[PATH_MAX * 2];
    snprintf(root, sizeof root, "%s/ret", base);
    snprintf(outside, sizeof outside, "%s/outside", base);
    WT_CHECK(sh("mkdir -p '%s' && touch '%s/precious'", outside) == 0);
    wt_err_t err = {0};
    const char *ids[] = {"01OK", "01FAIL", "01RUNNING"};
    for (int i = 0; i < 3; i++) {
        WT_CHECK(wt_workspace_create(root, ids[i], NULL, out, sizeof out, &err) == 0);
        snprintf(link, sizeof link, "%s/escape", out); /* an agent's symlink out */
        WT_CHECK(symlink(outside, link) == 0);
    }
    WT_CHECK(wt_workspace_retire(root, "01OK", NULL, 1, &err) == 0);
    WT_CHECK(!exists(root, "01OK"));
    WT_CHECK(wt_workspace_retire(root, "01FAIL", NULL, 0, &err) == 0);
    WT_CHECK(exists(root, "01FAIL") && exists(root, ".ended/01FAIL"));
    WT_CHECK(wt_workspace_prune(root, 3600 * 1000, 32, &err) == 0); /* not old enough */
    WT_CHECK(exists(root, "01FAIL"));
    WT_CHECK(wt_workspace_prune(root, 0, 32, &err) == 1 && err.code == WT_OK);
    WT_CHECK(!exists(root, "01FAIL") && !exists(root, ".ended/01FAIL"));
    WT_CHECK(exists(root, "01RUNNING")); /* no record: never pruned */
    WT_CHECK(exists(base, "outside/precious"));
    WT_CHECK(wt_workspace_retire(root, ".ended", NULL, 1, &err) == -1 && err.code == WT_EINVAL);
    /* a worktree: removed through git, its branch stays in the repo */
    char repo[PATH_MAX + 16], why[256];
    snprintf(repo, sizeof repo, "%s/repo2", base);
    WT_CHECK(sh("mkdir -p '%s' && cd '%s' && git init -q && echo hi > README && git add README"
                " && git -c user.email=t@t -c user.name=t commit -qm init && test -d '%s'",
                repo) == 0);
    WT_CHECK(wt_workspace_create(root, "01WT", repo, out, sizeof out, &err) == 0);
    WT_CHECK(wt_workspace_retire(root, "01WT", repo, 1, &err) == 0 && !exists(root, "01WT"));
    char *branch[] = {"-C", repo, "rev-parse", "--verify", "--quiet", "refs/heads/worktrain/01WT",
                      NULL};
    WT_CHECK(wt_workspace_git(branch, why, sizeof why) == 0);
}

int
main(void)
{
    char tmpl[] = "/tmp/wt-ws-test-XXXXXX";
    if (mkdtemp(tmpl) == NULL || realpath(tmpl, base) == NULL)
        return 1;
    static const wt_test_case_t cases[] = {
        WT_TEST(test_plain_directory), WT_TEST(test_path_without_directory),
        WT_TEST(test_git_worktree), WT_TEST(test_retire_and_prune)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    if (sh("rm -rf '%s'", base) != 0)
        rc = 1;
    return rc;
}
