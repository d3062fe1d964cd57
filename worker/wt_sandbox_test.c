/* Unit tests for wt_sandbox: the bwrap command line, and (where this host
 * can create namespaces) what a sandboxed Bash call can and cannot see. */
#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_sandbox.h"
#include "wt_test.h"
#include "wt_tools.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static char root[PATH_MAX], ws[PATH_MAX], outside[PATH_MAX];
static wt_sandbox_t *sb;
static int usable; /* bwrap runs here */

static int
has(char **argv, const char *a, const char *b)
{
    for (size_t i = 0; argv[i]; i++)
        if (strcmp(argv[i], a) == 0 && (b == NULL || (argv[i + 1] && strcmp(argv[i + 1], b) == 0)))
            return 1;
    return 0;
}

static void
test_argv_shape(void)
{
    wt_sandbox_cfg_t c;
    wt_sandbox_cfg_defaults(&c);
    WT_CHECK(c.enabled && !c.network && c.max_mem_mb > 0);
    c.enabled = 0;
    wt_sandbox_t *off = wt_sandbox_new(&c, NULL, NULL);
    char **a = wt_sandbox_argv(off, "/w", 0, "echo hi");
    WT_CHECK(strcmp(a[0], "/bin/bash") == 0 && strcmp(a[2], "echo hi") == 0 && a[3] == NULL);
    wt_sandbox_argv_free(a);
    wt_sandbox_destroy(&off);
    WT_CHECK(off == NULL);
    if (sb == NULL)
        return;
    a = wt_sandbox_argv(sb, "/w/s1", 0, "make");
    WT_CHECK(strstr(a[0], "bwrap") != NULL);
    WT_CHECK(has(a, "--unshare-all", NULL) && !has(a, "--share-net", NULL));
    WT_CHECK(has(a, "--cap-drop", "ALL") && has(a, "--die-with-parent", NULL));
    WT_CHECK(has(a, "--bind", "/w/s1") && has(a, "--chdir", "/w/s1"));
    WT_CHECK(has(a, "--tmpfs", "/tmp") && has(a, "--ro-bind", "/usr"));
    WT_CHECK(!has(a, "--bind", "/") && !has(a, "--ro-bind", "/"));
    wt_sandbox_argv_free(a);
    a = wt_sandbox_argv(sb, "/w/s1", 1, "make");
    WT_CHECK(has(a, "--share-net", NULL));
    wt_sandbox_argv_free(a);
}

static wt_tool_result_t
bash(const char *command, int64_t timeout_ms)
{
    static volatile int cancel;
    char **env = wt_tools_scrub_env(environ);
    wt_tool_env_t e = {ws, &cancel, (int)timeout_ms, env, 0, sb, 0};
    json_t *args = json_pack("{s:s}", "command", command);
    wt_tool_result_t r = {0};
    wt_tools_run(&e, "Bash", args, &r);
    json_decref(args);
    wt_tools_env_free(env);
    return r;
}

static void
test_sandboxed_bash(void)
{
    if (!usable) {
        printf("skip: bwrap cannot create namespaces on this host\n");
        return;
    }
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof cmd, "cat '%s'", outside);
    wt_tool_result_t r = bash(cmd, 10000);
    WT_CHECK(r.is_error && strstr(r.text, "outside-secret") == NULL);
    wt_tool_result_release(&r);
    r = bash("echo made > f && cat f && ls /tmp | wc -l && echo home=$HOME", 10000);
    WT_CHECK(!r.is_error && strstr(r.text, "made") && strstr(r.text, "home=/tmp"));
    wt_tool_result_release(&r);
    r = bash("ulimit -v; ulimit -t; ulimit -f", 10000);
    WT_CHECK(!r.is_error && strstr(r.text, "4194304") && strstr(r.text, "600"));
    wt_tool_result_release(&r);
    r = bash("cat /etc/shadow", 10000);
    WT_CHECK(strstr(r.text, "root:") == NULL);
    wt_tool_result_release(&r);
    /* a timeout kills what the command left running in the background */
    int64_t t0 = wt_clock_mono_ms();
    r = bash("sleep 30 & sleep 30", 500);
    WT_CHECK(r.is_error && strstr(r.text, "timed out") != NULL);
    WT_CHECK(wt_clock_mono_ms() - t0 < 5000);
    wt_tool_result_release(&r);
}

int
main(void)
{
    char tmpl[] = "/tmp/wt-sandbox-XXXXXX";
    if (mkdtemp(tmpl) == NULL || realpath(tmpl, root) == NULL)
        return 1;
    snprintf(ws, sizeof ws, "%s/ws", root);
    snprintf(outside, sizeof outside, "%s/key", root);
    if (mkdir(ws, 0700) != 0)
        return 1;
    FILE *f = fopen(outside, "w");
    if (f == NULL)
        return 1;
    fputs("outside-secret\n", f);
    fclose(f);
    wt_sandbox_cfg_t c;
    wt_sandbox_cfg_defaults(&c);
    wt_err_t err = {0};
    sb = wt_sandbox_new(&c, NULL, &err);
    if (sb == NULL)
        printf("skip: %s\n", err.msg);
    usable = sb && wt_sandbox_probe(sb, ws, &err) == 0;
    if (sb && !usable)
        printf("skip: %s\n", err.msg);
    static const wt_test_case_t cases[] = {WT_TEST(test_argv_shape), WT_TEST(test_sandboxed_bash)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    wt_sandbox_destroy(&sb);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
