/* Unit tests of the log line formats: the text line, and JSON lines
 * (WORKTRAIN_LOG_FORMAT=json) parsed back with jansson: escaping of quotes,
 * newlines and invalid UTF-8, the session from the thread or the message,
 * the worker name. */
#include "wt_log.h"

#include "wt_test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *
line_json(wt_log_level_t level, const char *msg)
{
    char line[8192];
    size_t n = wt_log_format(line, sizeof line, level, msg);
    WT_CHECK(n > 0 && line[n - 1] == '\n');
    WT_CHECK(memchr(line, '\n', n - 1) == NULL); /* exactly one line */
    line[n - 1] = '\0';
    json_t *o = json_loads(line, 0, NULL);
    WT_CHECK(o != NULL);
    return o;
}

static const char *
field(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void
test_text_line(void)
{
    wt_log_init("wt-test");
    wt_log_set_json(0);
    char line[512];
    size_t n = wt_log_format(line, sizeof line, WT_LOG_WARN, "hello");
    line[n] = '\0';
    WT_CHECK(n > 30 && line[4] == '-' && line[23] == 'Z');
    WT_CHECK(strstr(line, " W wt-test[") != NULL);
    WT_CHECK(strcmp(line + n - 7, " hello\n") == 0);
}

static void
test_json_fields_and_escaping(void)
{
    wt_log_init("wt-test");
    wt_log_set_json(1);
    wt_log_set_worker("w\"1");
    json_t *o = line_json(WT_LOG_ERROR, "bad \"frame\"\nfrom \\peer\\ \xff\xfe");
    WT_CHECK_STR(field(o, "level"), "error");
    WT_CHECK_STR(field(o, "proc"), "wt-test");
    WT_CHECK_STR(field(o, "worker"), "w\"1");
    WT_CHECK_STR(field(o, "msg"), "bad \"frame\"\nfrom \\peer\\ ??");
    WT_CHECK(strlen(field(o, "ts")) == 24 && field(o, "ts")[23] == 'Z');
    WT_CHECK(json_integer_value(json_object_get(o, "pid")) > 0);
    WT_CHECK(json_object_get(o, "session") == NULL);
    json_decref(o);
    wt_log_set_worker("");
    wt_log_set_json(0);
}

static void
test_json_session(void)
{
    wt_log_set_json(1);
    json_t *o = line_json(WT_LOG_INFO, "session 01JABCDEFGHJKMNPQRSTVWXYZ0: lease lost");
    WT_CHECK_STR(field(o, "session"), "01JABCDEFGHJKMNPQRSTVWXYZ0");
    WT_CHECK(json_object_get(o, "worker") == NULL);
    json_decref(o);
    wt_log_thread_session("s-from-thread");
    o = line_json(WT_LOG_DEBUG, "llm: call done");
    WT_CHECK_STR(field(o, "session"), "s-from-thread");
    WT_CHECK_STR(field(o, "level"), "debug");
    json_decref(o);
    wt_log_thread_session(NULL);
    o = line_json(WT_LOG_INFO, "session x: too short an id is not one");
    WT_CHECK(json_object_get(o, "session") == NULL);
    json_decref(o);
    wt_log_set_json(0);
}

static void
test_json_long_message_stays_one_valid_line(void)
{
    wt_log_set_json(1);
    char *big = malloc(3000);
    memset(big, '"', 2999); /* every byte doubles when escaped */
    big[2999] = '\0';
    char line[1024];
    size_t n = wt_log_format(line, sizeof line, WT_LOG_INFO, big);
    line[n - 1] = '\0';
    json_t *o = json_loads(line, 0, NULL);
    WT_CHECK(o != NULL);
    WT_CHECK_STR(field(o, "msg"), "(line too long)");
    json_decref(o);
    free(big);
    wt_log_set_json(0);
}

WT_TEST_MAIN(WT_TEST(test_text_line), WT_TEST(test_json_fields_and_escaping),
             WT_TEST(test_json_session), WT_TEST(test_json_long_message_stays_one_valid_line))
