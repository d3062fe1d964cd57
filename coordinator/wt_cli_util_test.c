/* Unit tests of the CLI's pure helpers: --var parsing, await's exit code,
 * the text form of an event, the session index, durations and times. */
#include "wt_cli_util.h"
#include "wt_clock.h"
#include "wt_test.h"

#include <stdlib.h>
#include <string.h>

static void
test_var_parse(void)
{
    json_t *ctx = json_object();
    WT_CHECK(wt_cli_var_parse(ctx, "n=3") == 0);
    WT_CHECK(json_integer_value(json_object_get(ctx, "n")) == 3);
    WT_CHECK(wt_cli_var_parse(ctx, "f=2.5") == 0);
    WT_CHECK(json_real_value(json_object_get(ctx, "f")) == 2.5);
    WT_CHECK(wt_cli_var_parse(ctx, "yes=true") == 0);
    WT_CHECK(json_is_true(json_object_get(ctx, "yes")));
    WT_CHECK(wt_cli_var_parse(ctx, "no=false") == 0);
    WT_CHECK(json_is_false(json_object_get(ctx, "no")));
    WT_CHECK(wt_cli_var_parse(ctx, "o={\"a\":[1,2]}") == 0);
    WT_CHECK(json_is_object(json_object_get(ctx, "o")));
    WT_CHECK(wt_cli_var_parse(ctx, "l=[1,\"x\"]") == 0);
    WT_CHECK(json_array_size(json_object_get(ctx, "l")) == 2);
    /* Plain text, quoted text and null stay exactly what was typed. */
    WT_CHECK(wt_cli_var_parse(ctx, "s=hello world") == 0);
    WT_CHECK_STR(json_string_value(json_object_get(ctx, "s")), "hello world");
    WT_CHECK(wt_cli_var_parse(ctx, "q=\"quoted\"") == 0);
    WT_CHECK_STR(json_string_value(json_object_get(ctx, "q")), "\"quoted\"");
    WT_CHECK(wt_cli_var_parse(ctx, "z=null") == 0);
    WT_CHECK_STR(json_string_value(json_object_get(ctx, "z")), "null");
    WT_CHECK(wt_cli_var_parse(ctx, "e=") == 0);
    WT_CHECK_STR(json_string_value(json_object_get(ctx, "e")), "");
    WT_CHECK(wt_cli_var_parse(ctx, "eq=a=b") == 0);
    WT_CHECK_STR(json_string_value(json_object_get(ctx, "eq")), "a=b");
    WT_CHECK(wt_cli_var_parse(ctx, "3x=3x") == 0); /* not JSON: a string */
    WT_CHECK_STR(json_string_value(json_object_get(ctx, "3x")), "3x");
    /* The last of a repeated key wins. */
    WT_CHECK(wt_cli_var_parse(ctx, "n=4") == 0);
    WT_CHECK(json_integer_value(json_object_get(ctx, "n")) == 4);
    size_t before = json_object_size(ctx);
    WT_CHECK(wt_cli_var_parse(ctx, "novalue") == -1);
    WT_CHECK(wt_cli_var_parse(ctx, "=v") == -1);
    WT_CHECK(wt_cli_var_parse(ctx, "bad=\xff\xfe") == -1);
    WT_CHECK(wt_cli_var_parse(NULL, "a=b") == -1);
    WT_CHECK(json_object_size(ctx) == before);
    json_decref(ctx);
}

static json_t *
result(const char *outcome)
{
    return json_pack("{s:s,s:s}", "session", "S", "outcome", outcome);
}

static void
test_await_exit(void)
{
    json_t *ok = result("success"), *bad = result("error"), *cancel = result("cancelled");
    json_t *none = json_object(); /* no outcome at all counts as failed */
    json_t *all_ok[] = {ok, ok};
    WT_CHECK(wt_cli_await_exit(all_ok, 2, 0) == 0);
    WT_CHECK(wt_cli_await_exit(all_ok, 2, 1) == 0);
    json_t *mixed[] = {ok, bad};
    WT_CHECK(wt_cli_await_exit(mixed, 2, 0) == 1);
    json_t *cancelled[] = {cancel};
    WT_CHECK(wt_cli_await_exit(cancelled, 1, 0) == 1);
    json_t *odd[] = {none};
    WT_CHECK(wt_cli_await_exit(odd, 1, 0) == 1);
    /* all: one missing is a timeout even when another failed. */
    json_t *partial[] = {bad, NULL};
    WT_CHECK(wt_cli_await_exit(partial, 2, 0) == 2);
    /* any: one ended is enough; its outcome decides. */
    WT_CHECK(wt_cli_await_exit(partial, 2, 1) == 1);
    json_t *one_ok[] = {NULL, ok};
    WT_CHECK(wt_cli_await_exit(one_ok, 2, 1) == 0);
    json_t *nothing[] = {NULL, NULL};
    WT_CHECK(wt_cli_await_exit(nothing, 2, 1) == 2);
    WT_CHECK(wt_cli_await_exit(nothing, 2, 0) == 2);
    json_decref(ok);
    json_decref(bad);
    json_decref(cancel);
    json_decref(none);
}

static void
test_event_line(void)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 16);
    /* 1700000000123 ms = 2023-11-14T22:13:20.123Z */
    const char *l = wt_cli_event_line(&b, "1700000000123-0", NULL, "step_advanced",
                                      "{\"step\":\"inspect\",\"notes\":\"looked at it\","
                                      "\"context\":{\"a\":1},\"n\":2,\"ok\":true,\"e\":\"\"}",
                                      100);
    WT_CHECK_STR(l, "2023-11-14T22:13:20.123Z step_advanced step=inspect notes=\"looked at it\" "
                    "context={\"a\":1} n=2 ok=true e=\"\"");
    l = wt_cli_event_line(&b, "1700000000005-3", "SID1", "session_queued", "{\"k\":\"a=b\"}", 100);
    WT_CHECK_STR(l, "2023-11-14T22:13:20.005Z SID1 session_queued k=\"a=b\"");
    l = wt_cli_event_line(&b, "1700000000000-0", NULL, "x", "", 100);
    WT_CHECK_STR(l, "2023-11-14T22:13:20.000Z x");
    l = wt_cli_event_line(&b, "1700000000000-0", NULL, "x", "not json", 100);
    WT_CHECK_STR(l, "2023-11-14T22:13:20.000Z x not json");
    /* Long values are cut, never inside a UTF-8 sequence. */
    l = wt_cli_event_line(&b, "1700000000000-0", NULL, "x", "{\"v\":\"abcdefghij\"}", 4);
    WT_CHECK_STR(l, "2023-11-14T22:13:20.000Z x v=abcd...");
    l = wt_cli_event_line(&b, "1700000000000-0", NULL, "x", "{\"v\":\"a\xc3\xa9z\"}", 2);
    WT_CHECK_STR(l, "2023-11-14T22:13:20.000Z x v=a...");
    /* The buffer is replaced, not appended to. */
    l = wt_cli_event_line(&b, "0-1", NULL, "y", NULL, 10);
    WT_CHECK_STR(l, "1970-01-01T00:00:00.000Z y");
    wt_buf_release(&b);
}

static void
test_index(void)
{
    char *ids[] = {"C", "A", "B", "A", "D"};
    wt_cli_index_t ix;
    wt_cli_index_build(&ix, ids, 5);
    int pos[4];
    WT_CHECK(wt_cli_index_find(&ix, "B", pos, 4) == 1 && pos[0] == 2);
    WT_CHECK(wt_cli_index_find(&ix, "A", pos, 4) == 2 && pos[0] == 1 && pos[1] == 3);
    WT_CHECK(wt_cli_index_find(&ix, "D", pos, 4) == 1 && pos[0] == 4);
    WT_CHECK(wt_cli_index_find(&ix, "C", pos, 4) == 1 && pos[0] == 0);
    WT_CHECK(wt_cli_index_find(&ix, "E", pos, 4) == 0);
    WT_CHECK(wt_cli_index_find(&ix, "", pos, 4) == 0);
    WT_CHECK(wt_cli_index_find(&ix, "A", pos, 1) == 2 && pos[0] == 1); /* counts past cap */
    wt_cli_index_release(&ix);
    WT_CHECK(ix.v == NULL && ix.n == 0);
    wt_cli_index_build(&ix, NULL, 0);
    WT_CHECK(wt_cli_index_find(&ix, "A", pos, 4) == 0);
    wt_cli_index_release(&ix);
}

static void
test_parse_int(void)
{
    long long v = 7;
    WT_CHECK(wt_cli_parse_int("42", 1, 64, &v) == 0 && v == 42);
    WT_CHECK(wt_cli_parse_int("-100", -100, 100, &v) == 0 && v == -100);
    v = 7;
    WT_CHECK(wt_cli_parse_int("101", -100, 100, &v) == -1 && v == 7);
    WT_CHECK(wt_cli_parse_int("0", 1, 64, &v) == -1);
    WT_CHECK(wt_cli_parse_int("4x", 1, 64, &v) == -1);
    WT_CHECK(wt_cli_parse_int("", 1, 64, &v) == -1);
    WT_CHECK(wt_cli_parse_int(NULL, 1, 64, &v) == -1);
    WT_CHECK(wt_cli_parse_int("99999999999999999999999", 0, 1LL << 62, &v) == -1);
    WT_CHECK(wt_cli_parse_int("4294967297", -100, 100, &v) == -1); /* no int32 wrap */
    WT_CHECK(v == 7);
}

static void
test_durations_and_times(void)
{
    WT_CHECK(wt_clock_parse_duration_ms("90s") == 90000);
    WT_CHECK(wt_clock_parse_duration_ms("30m") == 1800000);
    WT_CHECK(wt_clock_parse_duration_ms("2h") == 7200000);
    WT_CHECK(wt_clock_parse_duration_ms("soon") < 0);
    WT_CHECK(wt_clock_parse_duration_ms("") < 0);
    char t[32];
    wt_cli_format_ms("1700000000999", t, sizeof t);
    WT_CHECK_STR(t, "2023-11-14T22:13:20Z");
    wt_cli_format_ms("", t, sizeof t);
    WT_CHECK_STR(t, "-");
    wt_cli_format_ms(NULL, t, sizeof t);
    WT_CHECK_STR(t, "-");
}

WT_TEST_MAIN(WT_TEST(test_var_parse), WT_TEST(test_await_exit), WT_TEST(test_event_line),
             WT_TEST(test_index), WT_TEST(test_parse_int), WT_TEST(test_durations_and_times))
