/* Unit tests of doctor's report: one line per check, a fix only on
 * failures, the summary line, and JSON that escapes what it carries. The
 * checks themselves run against real parts in tests/integration/test_doctor.py. */
#include "wt_doctor.h"

#include "wt_test.h"

#include <jansson.h>
#include <string.h>

static void
test_text(void)
{
    wt_doctor_report_t r = {0};
    wt_doctor_add(&r, "redis", WT_DOCTOR_OK, "never shown", "answers, Redis %d.%d", 7, 0);
    wt_doctor_add(&r, "acl", WT_DOCTOR_FAIL, "grant it", "XADD refused");
    wt_doctor_add(&r, "llm", WT_DOCTOR_SKIP, "never shown", "--offline");
    WT_CHECK(wt_doctor_failed(&r) == 1);
    wt_buf_t b;
    wt_buf_init(&b, 1 << 16);
    wt_doctor_render_text(&r, &b);
    WT_CHECK_STR(wt_buf_str(&b), "ok   redis      answers, Redis 7.0\n"
                                 "FAIL acl        XADD refused -> fix: grant it\n"
                                 "skip llm        --offline\n"
                                 "3 checks, 1 failed\n");
    wt_buf_release(&b);
}

static void
test_json(void)
{
    wt_doctor_report_t r = {0};
    wt_doctor_add(&r, "workflows", WT_DOCTOR_FAIL, "fix \"it\"", "bad\nfile '%s'", "a\\b");
    wt_buf_t b;
    wt_buf_init(&b, 1 << 16);
    wt_doctor_render_json(&r, &b);
    json_t *doc = json_loads(wt_buf_str(&b), 0, NULL);
    WT_CHECK(doc != NULL);
    WT_CHECK(json_is_false(json_object_get(doc, "ok")));
    json_t *c = json_array_get(json_object_get(doc, "checks"), 0);
    WT_CHECK_STR(json_string_value(json_object_get(c, "status")), "fail");
    WT_CHECK_STR(json_string_value(json_object_get(c, "detail")), "bad\nfile 'a\\b'");
    WT_CHECK_STR(json_string_value(json_object_get(c, "fix")), "fix \"it\"");
    json_decref(doc);
    wt_buf_release(&b);
}

static void
test_full_report_drops_extra(void)
{
    wt_doctor_report_t r = {0};
    for (int i = 0; i < WT_DOCTOR_MAX_CHECKS + 3; i++)
        wt_doctor_add(&r, "x", WT_DOCTOR_OK, NULL, "n=%d", i);
    WT_CHECK(r.n == WT_DOCTOR_MAX_CHECKS);
}

WT_TEST_MAIN(WT_TEST(test_text), WT_TEST(test_json), WT_TEST(test_full_report_drops_extra))
