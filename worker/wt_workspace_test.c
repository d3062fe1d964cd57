/* Unit tests of workspaces: a fresh directory per session, reused when the
 * session resumes; a git worktree on branch worktrain/<sid>, also when the
 * branch already exists; clear errors for a non-repository and a bad id. */
#include "wt_test.h"
#include "wt_workspace.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

int
main(void)
{
    char tmpl[] = "/tmp/wt-ws-test-XXXXXX";
    if (mkdtemp(tmpl) == NULL || realpath(tmpl, base) == NULL)
        return 1;
    static const wt_test_case_t cases[] = {WT_TEST(test_plain_directory),
                                           WT_TEST(test_git_worktree)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    if (sh("rm -rf '%s'", base) != 0)
        rc = 1;
    return rc;
}
