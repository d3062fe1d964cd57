/* Unit tests of the workspace tools: Bash runs in the workspace with stdin
 * closed and no secrets, its timeout kills the whole process group, output
 * keeps head and tail; file tools refuse every way out of the workspace. */
#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_test.h"
#include "wt_tools.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static char ws[PATH_MAX];
static char **tool_env;
static volatile int cancel_flag;

static wt_tool_env_t
env(void)
{
    return (wt_tool_env_t){ws, &cancel_flag, 300000, tool_env, 0, NULL, 0};
}

static wt_tool_result_t
run(const char *name, const char *args_json)
{
    json_t *args = json_loads(args_json, 0, NULL);
    wt_tool_result_t r = {0};
    wt_tool_env_t e = env();
    if (wt_tools_run(&e, name, args, &r) != 0) {
        r.text = wt_xstrdup("(no such tool)");
        r.is_error = 1;
    }
    json_decref(args);
    return r;
}

static void
test_bash_isolation(void)
{
    setenv("MY_API_KEY", "k-should-not-leak", 1);
    setenv("GITHUB_TOKEN", "t-should-not-leak", 1);
    setenv("PLAIN_SETTING", "visible", 1);
    wt_tools_env_free(tool_env);
    tool_env = wt_tools_scrub_env(environ);
    wt_tool_result_t r = run("Bash", "{\"command\":\"pwd; env; cat; echo end\"}");
    WT_CHECK(!r.is_error);
    WT_CHECK(strstr(r.text, ws) != NULL);                /* cwd is the workspace */
    WT_CHECK(strstr(r.text, "should-not-leak") == NULL); /* secrets scrubbed */
    WT_CHECK(strstr(r.text, "PLAIN_SETTING=visible") != NULL);
    WT_CHECK(strstr(r.text, "end") != NULL); /* cat got EOF: stdin closed */
    WT_CHECK(strstr(r.text, "[exit code 0]") != NULL);
    wt_tool_result_release(&r);
    r = run("Bash", "{\"command\":\"exit 3\"}");
    WT_CHECK(r.is_error && strstr(r.text, "[exit code 3]") != NULL);
    wt_tool_result_release(&r);
}

static void
test_bash_timeout_kills_group(void)
{
    /* A duration unique to this process, so pgrep sees only our sleeps, not
     * those of tests running alongside (the sandbox test sleeps 30 too). */
    char dur[32], cmd[256], probe[160];
    snprintf(dur, sizeof dur, "30.%05d", (int)(getpid() % 100000));
    snprintf(cmd, sizeof cmd,
             "{\"command\":\"(sleep %s; echo late) & sleep %s; echo x > pidfile\",\"timeout\":300}",
             dur, dur);
    int64_t t0 = wt_clock_mono_ms();
    wt_tool_result_t r = run("Bash", cmd);
    int64_t ms = wt_clock_mono_ms() - t0;
    WT_CHECK(r.is_error && strstr(r.text, "timed out") != NULL);
    WT_CHECK(ms < 25000); /* killed at the timeout, not after the 30 s sleeps */
    wt_tool_result_release(&r);
    /* nothing of the group survives (the kill is asynchronous: poll, bounded) */
    snprintf(probe, sizeof probe, "{\"command\":\"pgrep -f 'slee[p] %s' | wc -l\"}", dur);
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        r = run("Bash", probe);
        gone = r.text && strncmp(r.text, "0", 1) == 0;
        wt_tool_result_release(&r);
        if (!gone)
            wt_clock_sleep_ms(50);
    }
    WT_CHECK(gone);
}

static void
test_bash_output_keeps_head_and_tail(void)
{
    wt_tool_result_t r = run("Bash", "{\"command\":\"echo FIRST; seq 1 100000; echo LAST\"}");
    WT_CHECK(strstr(r.text, "FIRST") != NULL && strstr(r.text, "LAST") != NULL);
    WT_CHECK(strstr(r.text, "bytes omitted") != NULL);
    WT_CHECK(strlen(r.text) < WT_TOOLS_OUTPUT_CAP + 200);
    wt_tool_result_release(&r);
}

static void
test_file_tools_and_escapes(void)
{
    wt_tool_result_t r =
        run("Write", "{\"path\":\"sub/dir/a.txt\",\"content\":\"one two one\\n\"}");
    WT_CHECK(!r.is_error);
    wt_tool_result_release(&r);
    r = run("Read", "{\"path\":\"sub/dir/a.txt\"}");
    WT_CHECK(!r.is_error && strstr(r.text, "one two one") != NULL);
    wt_tool_result_release(&r);
    r = run("Edit", "{\"path\":\"sub/dir/a.txt\",\"old_string\":\"one\",\"new_string\":\"1\"}");
    WT_CHECK(r.is_error && strstr(r.text, "2 times") != NULL);
    wt_tool_result_release(&r);
    r = run("Edit", "{\"path\":\"sub/dir/a.txt\",\"old_string\":\"one\",\"new_string\":\"1\","
                    "\"replace_all\":true}");
    WT_CHECK(!r.is_error && strstr(r.text, "2 occurrences") != NULL);
    wt_tool_result_release(&r);
    r = run("Grep", "{\"pattern\":\"1 two\"}");
    WT_CHECK(strstr(r.text, "sub/dir/a.txt:1:") != NULL);
    wt_tool_result_release(&r);
    r = run("Glob", "{\"pattern\":\"**/*.txt\"}");
    WT_CHECK(strstr(r.text, "sub/dir/a.txt") != NULL);
    wt_tool_result_release(&r);
    const char *escapes[] = {
        "{\"path\":\"../outside.txt\",\"content\":\"x\"}",
        "{\"path\":\"/etc/passwd\",\"content\":\"x\"}",
        "{\"path\":\"sub/../../x\",\"content\":\"x\"}",
        "{\"path\":\"link/evil.txt\",\"content\":\"x\"}",
        "{\"path\":\"newdir/../../../x\",\"content\":\"x\"}",
    };
    char link[PATH_MAX + 8];
    snprintf(link, sizeof link, "%s/link", ws);
    WT_CHECK(symlink("/tmp", link) == 0);
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        r = run("Write", escapes[i]);
        WT_CHECK(r.is_error && strstr(r.text, "escapes") != NULL);
        if (!r.is_error || !strstr(r.text, "escapes"))
            fprintf(stderr, "  %s -> %s\n", escapes[i], r.text);
        wt_tool_result_release(&r);
    }
    r = run("Read", "{\"path\":\"link/../etc/passwd\"}");
    WT_CHECK(r.is_error);
    wt_tool_result_release(&r);
    r = run("Read", "{\"path\":\"/etc/hostname\"}");
    WT_CHECK(r.is_error && strstr(r.text, "escapes") != NULL);
    wt_tool_result_release(&r);
    r = run("Grep", "{\"pattern\":\"root\",\"path\":\"link\"}");
    WT_CHECK(r.is_error && strstr(r.text, "escapes") != NULL);
    wt_tool_result_release(&r);
}

static void
test_bash_background_and_deadline(void)
{
    /* A background job keeping the pipe open does not hold the result. */
    int64_t t0 = wt_clock_mono_ms();
    wt_tool_result_t r = run("Bash", "{\"command\":\"sleep 20 & echo started\"}");
    WT_CHECK(!r.is_error && strstr(r.text, "started") != NULL);
    WT_CHECK(wt_clock_mono_ms() - t0 < 5000);
    wt_tool_result_release(&r);
    /* The session deadline bounds the command, whatever its timeout says. */
    wt_tool_env_t e = env();
    e.deadline_mono_ms = wt_clock_mono_ms() + 300;
    json_t *args = json_pack("{s:s,s:i}", "command", "sleep 10", "timeout", 60000);
    t0 = wt_clock_mono_ms();
    WT_CHECK(wt_tools_run(&e, "Bash", args, &r) == 0);
    WT_CHECK(r.is_error && strstr(r.text, "timed out") != NULL);
    WT_CHECK(wt_clock_mono_ms() - t0 < 3000);
    wt_tool_result_release(&r);
    /* A cancel kills the group. */
    cancel_flag = 1;
    t0 = wt_clock_mono_ms();
    r = run("Bash", "{\"command\":\"sleep 10\"}");
    cancel_flag = 0;
    WT_CHECK(r.is_error && strstr(r.text, "cancelled") != NULL);
    WT_CHECK(wt_clock_mono_ms() - t0 < 3000);
    wt_tool_result_release(&r);
    json_decref(args);
}

static void
test_dangling_symlink_write_refused(void)
{
    char link[PATH_MAX + 16], target[PATH_MAX + 16];
    snprintf(link, sizeof link, "%s/dangling", ws);
    snprintf(target, sizeof target, "%s-outside-target", ws);
    unlink(target);
    WT_CHECK(symlink(target, link) == 0);
    wt_tool_result_t r = run("Write", "{\"path\":\"dangling\",\"content\":\"x\"}");
    WT_CHECK(r.is_error && strstr(r.text, "escapes") != NULL);
    WT_CHECK(access(target, F_OK) != 0); /* nothing was created outside */
    wt_tool_result_release(&r);
    unlink(link);
}

static void
test_secret_names(void)
{
    WT_CHECK(!wt_tools_is_secret_name("GIT_AUTHOR_NAME=t"));
    WT_CHECK(wt_tools_is_secret_name("HTTP_AUTH=x"));
    WT_CHECK(wt_tools_is_secret_name("AWS_REGION=x"));
    WT_CHECK(wt_tools_is_secret_name("WORKTRAIN_WEBHOOK_SECRET=x"));
    WT_CHECK(wt_tools_is_secret_name("ANTHROPIC_API_KEY=x"));
    WT_CHECK(wt_tools_is_secret_name("OPENAI_BASE_URL=x"));
    WT_CHECK(wt_tools_is_secret_name("github_token=x"));
    WT_CHECK(wt_tools_is_secret_name("DB_PASSWORD"));
    WT_CHECK(wt_tools_is_secret_name("WORKTRAIN_REDIS=redis://:pw@h"));
    /* Webhook URLs embed tokens (WORKTRAIN_NOTIFY_WEBHOOK / _SLACK and the like). */
    WT_CHECK(wt_tools_is_secret_name("WORKTRAIN_NOTIFY_WEBHOOK=http://h/x"));
    WT_CHECK(wt_tools_is_secret_name("WORKTRAIN_NOTIFY_SLACK=https://hooks.slack.com/x"));
    WT_CHECK(wt_tools_is_secret_name("TEAM_WEBHOOK_URL=http://h/x"));
    WT_CHECK(wt_tools_is_secret_name("ops_slack_hook=http://h/x"));
    WT_CHECK(!wt_tools_is_secret_name("PATH=/usr/bin"));
    WT_CHECK(!wt_tools_is_secret_name("HOME=/root"));
}

int
main(void)
{
    char tmpl[] = "/tmp/wt-tools-XXXXXX";
    if (mkdtemp(tmpl) == NULL || realpath(tmpl, ws) == NULL)
        return 1;
    tool_env = wt_tools_scrub_env(environ);
    static const wt_test_case_t cases[] = {WT_TEST(test_bash_isolation),
                                           WT_TEST(test_bash_timeout_kills_group),
                                           WT_TEST(test_bash_output_keeps_head_and_tail),
                                           WT_TEST(test_file_tools_and_escapes),
                                           WT_TEST(test_bash_background_and_deadline),
                                           WT_TEST(test_dangling_symlink_write_refused),
                                           WT_TEST(test_secret_names)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    wt_tools_env_free(tool_env);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ws);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
