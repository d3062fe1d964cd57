/* Unit tests of wt_repo and wt_forge's pure parts: the workspace spec
 * (parse, refuse, dump round trip), forge and project from remote URLs,
 * the credential environment (token only in a header, never for file
 * URLs), mirror + worktree + commit + push against a file:// bare remote
 * (branch from the ref, no commit when nothing changed, the trailer, a
 * remote branch holding other work makes a suffixed push, never a force),
 * git's time limit, and the deterministic PR body truncation. */
#include "wt_forge.h"
#include "wt_repo.h"
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
sh(const char *cmd)
{
    return system(cmd);
}

static void
test_spec(void)
{
    wt_repo_spec_t s;
    wt_err_t err = {0};
    WT_CHECK(wt_repo_spec_parse("/some/path", &s, &err) == 0);
    WT_CHECK(wt_repo_spec_parse(NULL, &s, &err) == 0);
    WT_CHECK(wt_repo_spec_parse("{\"repo\":\"https://github.com/acme/app.git\",\"ref\":\"dev\","
                                "\"auto_commit\":true,\"deliver\":\"pr\",\"draft\":false}",
                                &s, &err) == 1);
    WT_CHECK(s.auto_commit && !s.draft && strcmp(s.ref, "dev") == 0 &&
             strcmp(s.deliver, "pr") == 0);
    char *js = wt_repo_spec_dump(&s);
    wt_repo_spec_t t;
    WT_CHECK(wt_repo_spec_parse(js, &t, &err) == 1 && t.auto_commit && !t.draft &&
             strcmp(t.url, s.url) == 0);
    free(js);
    wt_repo_spec_release(&t);
    WT_CHECK(strcmp(wt_repo_forge_of(&s), "github") == 0);
    char proj[128];
    WT_CHECK(wt_repo_project_of(&s, proj, sizeof proj) == 0 && strcmp(proj, "acme/app") == 0);
    wt_repo_spec_release(&s);
    WT_CHECK(wt_repo_spec_parse("{\"repo\":\"git@gitlab.example.com:grp/sub.git\"}", &s, &err) ==
             1);
    WT_CHECK(strcmp(wt_repo_forge_of(&s), "gitlab") == 0);
    WT_CHECK(wt_repo_project_of(&s, proj, sizeof proj) == 0 && strcmp(proj, "grp/sub") == 0);
    wt_repo_spec_release(&s);
    WT_CHECK(wt_repo_spec_parse("{\"repo\":\"x\",\"deliver\":\"merge\"}", &s, &err) == -1 &&
             strstr(err.msg, "deliver") != NULL);
    WT_CHECK(wt_repo_spec_parse("{\"ref\":\"main\"}", &s, &err) == -1 &&
             strstr(err.msg, "repo") != NULL);
    WT_CHECK(wt_repo_spec_parse("{nope", &s, &err) == -1);
    WT_CHECK(wt_repo_spec_parse("{\"repo\":\"ext::sh -c touch% /tmp/x\"}", &s, &err) == -1);
    WT_CHECK(wt_repo_spec_parse("{\"repo\":\"--upload-pack=x\"}", &s, &err) == -1);
    WT_CHECK(wt_repo_spec_parse("{\"repo\":\"x\",\"author\":\"no email\"}", &s, &err) == -1);
}

static void
test_env(void)
{
    setenv("GITHUB_TOKEN", "tok-123", 1);
    wt_repo_spec_t s = {.url = "https://github.com/a/b.git", .draft = 1};
    char **env = wt_repo_env(&s);
    int header = 0;
    for (size_t i = 0; env[i]; i++) {
        WT_CHECK(strstr(env[i], "tok-123") == NULL); /* base64 in a header only */
        header |= strncmp(env[i], "GIT_CONFIG_VALUE_0=Authorization: Basic ", 40) == 0;
    }
    WT_CHECK(header);
    wt_repo_env_free(env);
    s.url = "file:///tmp/x.git";
    env = wt_repo_env(&s);
    WT_CHECK(env[0] && strcmp(env[0], "GIT_TERMINAL_PROMPT=0") == 0 && env[1] == NULL);
    wt_repo_env_free(env);
    unsetenv("GITHUB_TOKEN");
}

static void
test_worktree_commit_push(void)
{
    char cmd[PATH_MAX * 4], remote[PATH_MAX + 16], root[PATH_MAX + 16], dir[PATH_MAX + 64];
    snprintf(remote, sizeof remote, "%s/remote.git", base);
    snprintf(root, sizeof root, "%s/root", base);
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; git init -q -b main src; cd src; echo hi > README; git add .; "
             "git -c user.name=t -c user.email=t@t commit -qm init; git branch dev; "
             "git clone -q --bare . '%s'",
             base, remote);
    WT_CHECK(sh(cmd) == 0);
    char url[PATH_MAX + 32];
    snprintf(url, sizeof url, "file://%s", remote);
    wt_repo_spec_t s = {.url = url, .ref = "dev", .author = "Bot <bot@x>", .draft = 1};
    wt_err_t err = {0};
    snprintf(dir, sizeof dir, "%s/01S", root);
    WT_CHECK(wt_repo_worktree(root, &s, "01S", dir, &err) == 0);
    char p[PATH_MAX + 96];
    snprintf(p, sizeof p, "%s/README", dir);
    struct stat st;
    WT_CHECK(stat(p, &st) == 0);
    int made = 1;
    char sha[41];
    WT_CHECK(wt_repo_commit(dir, &s, "01S", "Nothing", NULL, &made, sha, &err) == 0 && !made);
    snprintf(cmd, sizeof cmd, "echo new > '%s/new.txt'", dir);
    WT_CHECK(sh(cmd) == 0);
    WT_CHECK(wt_repo_commit(dir, &s, "01S", "Add new", "the notes", &made, sha, &err) == 0 &&
             made && strlen(sha) == 40);
    char pushed[160];
    WT_CHECK(wt_repo_push(dir, &s, "worktrain/01S", pushed, sizeof pushed, sha, &err) == 0 &&
             strcmp(pushed, "worktrain/01S") == 0);
    snprintf(cmd, sizeof cmd,
             "git --git-dir='%s' log -1 --format='%%s|%%an <%%ae>|%%b' worktrain/01S | "
             "grep -q '^Add new|Bot <bot@x>|the notes' && "
             "git --git-dir='%s' log -1 --format=%%B worktrain/01S | "
             "grep -qx 'WorkTrain-Session: 01S'",
             remote, remote);
    WT_CHECK(sh(cmd) == 0);
    /* Someone else's work on the branch: ours goes under a suffix, theirs stays. */
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s/src'; git checkout -q -b other; echo x > x; git add x; "
             "git -c user.name=t -c user.email=t@t commit -qm theirs; "
             "git push -q '%s' other:worktrain/01T",
             base, remote);
    WT_CHECK(sh(cmd) == 0);
    WT_CHECK(wt_repo_push(dir, &s, "worktrain/01T", pushed, sizeof pushed, sha, &err) == 0 &&
             strcmp(pushed, "worktrain/01T-2") == 0);
    snprintf(cmd, sizeof cmd,
             "git --git-dir='%s' log -1 --format=%%s worktrain/01T | grep -qx theirs", remote);
    WT_CHECK(sh(cmd) == 0);
    char mirror[PATH_MAX];
    WT_CHECK(wt_repo_mirror_path(root, url, mirror, sizeof mirror) == 0 && stat(mirror, &st) == 0);
    /* The diff against the base: file list and patch; bytes that are not
     * UTF-8 become '?'; bounded, cut at a line, saying so. */
    snprintf(cmd, sizeof cmd, "printf 'caf\\351\\n' > '%s/latin1.txt'", dir);
    WT_CHECK(sh(cmd) == 0);
    WT_CHECK(wt_repo_commit(dir, &s, "01S", "Latin-1", NULL, &made, sha, &err) == 0 && made);
    char *diff = wt_repo_diff(dir, "dev", "worktrain/01S", 100000, &err);
    WT_CHECK(diff && strstr(diff, "2 files changed, 2 insertions(+)") && strstr(diff, "\n+new\n") &&
             strstr(diff, "+caf?\n") && !strstr(diff, "truncated"));
    char *cut = wt_repo_diff(dir, "dev", "worktrain/01S", 200, &err);
    WT_CHECK(cut && strlen(cut) <= 200 && strstr(cut, "diff truncated to 200 of") &&
             strstr(cut, "git diff origin/dev...worktrain/01S") &&
             strncmp(cut, diff, strlen(cut) - strlen(strstr(cut, "\n[... diff"))) == 0);
    free(diff);
    free(cut);
    WT_CHECK(wt_repo_diff(dir, "nope", "x", 100, &err) == NULL && strstr(err.msg, "nope"));
    /* the files the branch changed since it forked from dev */
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/sub' && echo b > '%s/sub/b.c' && echo hey > '%s/README'", dir, dir, dir);
    WT_CHECK(sh(cmd) == 0);
    WT_CHECK(wt_repo_commit(dir, &s, "01S", "More", NULL, &made, sha, &err) == 0 && made);
    char files[256];
    WT_CHECK(wt_repo_changed_files(dir, &s, files, sizeof files, &err) == 0);
    WT_CHECK_STR(files, "README\nlatin1.txt\nnew.txt\nsub/b.c");
    WT_CHECK(wt_repo_changed_files(dir, &s, files, 12, &err) == 0); /* whole lines only */
    WT_CHECK_STR(files, "README");
    /* Retention: a session that was not delivered keeps worktree and
     * branch until --keep-days, then both go (the branch from the mirror). */
    char has_branch[PATH_MAX * 2];
    snprintf(has_branch, sizeof has_branch,
             "git --git-dir='%s' rev-parse -q --verify refs/heads/worktrain/01S >/dev/null",
             mirror);
    WT_CHECK(wt_workspace_retire(root, "01S", mirror, 0, &err) == 0);
    WT_CHECK(wt_workspace_prune(root, 3600000, 10, &err) == 0);
    WT_CHECK(stat(dir, &st) == 0 && sh(has_branch) == 0);
    WT_CHECK(wt_workspace_prune(root, 0, 10, &err) == 1);
    WT_CHECK(stat(dir, &st) != 0 && sh(has_branch) != 0);
    /* A user's own repository (a plain workspace path) keeps its branches. */
    char own[PATH_MAX + 32], odir[PATH_MAX + 64];
    snprintf(own, sizeof own, "%s/src", base);
    snprintf(odir, sizeof odir, "%s/01V", root);
    WT_CHECK(wt_workspace_create(root, "01V", own, odir, sizeof odir, &err) == 0);
    WT_CHECK(wt_workspace_retire(root, "01V", own, 0, &err) == 0);
    WT_CHECK(wt_workspace_prune(root, 0, 10, &err) == 1 && stat(odir, &st) != 0);
    snprintf(has_branch, sizeof has_branch,
             "git -C '%s' rev-parse -q --verify refs/heads/worktrain/01V >/dev/null", own);
    WT_CHECK(sh(has_branch) == 0);
    /* A missing ref is named. */
    wt_repo_spec_t bad = {.url = url, .ref = "nope", .draft = 1};
    snprintf(dir, sizeof dir, "%s/01U", root);
    WT_CHECK(wt_repo_worktree(root, &bad, "01U", dir, &err) == -1 && err.code == WT_ENOTFOUND &&
             strstr(err.msg, "nope") != NULL);
}

static void
test_timeout(void)
{
    /* git's own pager-less "git -c alias.x='!sleep 5' x" needs a shell: a
     * credential prompt would too; a hook is the simplest sleeping git. */
    char cmd[PATH_MAX * 2], repo[PATH_MAX + 16];
    snprintf(repo, sizeof repo, "%s/slow", base);
    snprintf(
        cmd, sizeof cmd,
        "set -e; git init -q '%s'; printf '#!/bin/sh\\nsleep 5\\n' > '%s/.git/hooks/pre-commit';"
        " chmod +x '%s/.git/hooks/pre-commit'; echo a > '%s/a'",
        repo, repo, repo, repo);
    WT_CHECK(sh(cmd) == 0);
    setenv("WORKTRAIN_GIT_TIMEOUT_MS", "2000",
           1); /* the hook sleeps 5 s; a plain commit fits even under load */
    wt_repo_spec_t s = {.url = "file:///x", .draft = 1};
    int made = 0;
    wt_err_t err = {0};
    WT_CHECK(wt_repo_commit(repo, &s, "01X", "slow", NULL, &made, NULL, &err) == -1 &&
             strstr(err.msg, "timed out") != NULL);
    s.no_verify = 1; /* hooks skipped when the configuration says so */
    WT_CHECK(wt_repo_commit(repo, &s, "01X", "fast", NULL, &made, NULL, &err) == 0 && made);
    unsetenv("WORKTRAIN_GIT_TIMEOUT_MS");
}

static void
test_truncate(void)
{
    char *short_ = wt_forge_truncate("small", 100, "link");
    WT_CHECK(strcmp(short_, "small") == 0);
    free(short_);
    size_t n = 70000;
    char *big = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(big + 2 * i, "\xc3\xa9", 2); /* e-acute: 2 bytes, 1 character */
    big[2 * n] = '\0';
    char *a = wt_forge_truncate(big, WT_FORGE_GITHUB_BODY_MAX, "https://console/x");
    char *b = wt_forge_truncate(big, WT_FORGE_GITHUB_BODY_MAX, "https://console/x");
    size_t chars = 0;
    for (const char *p = a; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    WT_CHECK(strcmp(a, b) == 0 && chars == WT_FORGE_GITHUB_BODY_MAX);
    WT_CHECK(strstr(a, "https://console/x") != NULL && strstr(a, "truncated") != NULL);
    free(a);
    free(b);
    free(big);
}

int
main(void)
{
    char tmpl[] = "/tmp/wt-repo-test-XXXXXX";
    if (mkdtemp(tmpl) == NULL || realpath(tmpl, base) == NULL)
        return 1;
    static const wt_test_case_t cases[] = {WT_TEST(test_spec), WT_TEST(test_env),
                                           WT_TEST(test_worktree_commit_push),
                                           WT_TEST(test_timeout), WT_TEST(test_truncate)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (sh(cmd) != 0)
        rc = 1;
    return rc;
}
