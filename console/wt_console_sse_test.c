/* Unit tests of wt_console_sse's frame formatting. */
#include "wt_console_sse.h"

#include "wt_test.h"

#include <string.h>

static void
test_frame(void)
{
    wt_buf_t b;
    wt_buf_init(&b, 4096);
    WT_CHECK(wt_console_sse_frame(&b, "1732950000000-0", "step_advanced",
                                  "{\"id\":\"1732950000000-0\",\"data\":{\"notes\":\"a\\nb\"}}",
                                  NULL) == 0);
    WT_CHECK_STR(wt_buf_str(&b), "id: 1732950000000-0\nevent: step_advanced\n"
                                 "data: {\"id\":\"1732950000000-0\",\"data\":{\"notes\":\"a\\nb\"}}"
                                 "\n\n");
    wt_buf_release(&b);
}

static void
test_fields_cannot_break_the_frame(void)
{
    wt_buf_t b;
    wt_buf_init(&b, 4096);
    WT_CHECK(wt_console_sse_frame(&b, "1-0\nevent: x", "evil\r\ndata: y", "{}", NULL) == 0);
    WT_CHECK_STR(wt_buf_str(&b), "id: 1-0_event: x\nevent: evil__data: y\ndata: {}\n\n");
    wt_buf_reset(&b);
    wt_err_t err = {0};
    WT_CHECK(wt_console_sse_frame(&b, "1-0", "t", "{\n}", &err) == -1);
    WT_CHECK(err.code == WT_EINVAL && b.len == 0);
    wt_buf_release(&b);
}

static void
test_full_buffer_leaves_no_half_frame(void)
{
    wt_buf_t b;
    wt_buf_init(&b, 40);
    WT_CHECK(wt_console_sse_frame(&b, "1-0", "t", "{}", NULL) == 0);
    size_t len = b.len;
    wt_err_t err = {0};
    WT_CHECK(wt_console_sse_frame(&b, "2-0", "t", "{\"long\":\"xxxxxxxxxxxxxxxxxxxx\"}", &err) ==
             -1);
    WT_CHECK(err.code == WT_ELIMIT && b.len == len);
    WT_CHECK(strlen(wt_buf_str(&b)) == len);
    wt_buf_release(&b);
}

static void
test_comment(void)
{
    wt_buf_t b;
    wt_buf_init(&b, 256);
    WT_CHECK(wt_console_sse_comment(&b, "keepalive", NULL) == 0);
    WT_CHECK(wt_console_sse_comment(&b, "two\nlines", NULL) == 0);
    WT_CHECK_STR(wt_buf_str(&b), ": keepalive\n\n: two_lines\n\n");
    wt_buf_release(&b);
}

WT_TEST_MAIN(WT_TEST(test_frame), WT_TEST(test_fields_cannot_break_the_frame),
             WT_TEST(test_full_buffer_leaves_no_half_frame), WT_TEST(test_comment))
