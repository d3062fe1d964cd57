/* Unit tests of wt_diag: counting errors apart from warnings, stable sort
 * by position, the printed FILE:LINE:COL form. */
#include "wt_diag.h"
#include "wt_test.h"

#include <stdlib.h>
#include <string.h>

static void
test_add_counts_errors_not_warnings(void)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_diags_add(&d, "p.yml", 3, 5, 0, "unknown key '%s'", "nedds");
    wt_diags_add(&d, "p.yml", 1, 1, 1, "no workflows known");
    for (int i = 0; i < 20; i++) /* grows past the first allocation */
        wt_diags_add(&d, "p.yml", 100 + i, 1, 0, "e%d", i);
    WT_CHECK(d.n == 22);
    WT_CHECK(d.errors == 21);
    WT_CHECK_STR(d.v[0].msg, "unknown key 'nedds'");
    WT_CHECK(d.v[1].warning == 1);
    WT_CHECK_STR(d.v[21].msg, "e19");
    wt_diags_release(&d);
    WT_CHECK(d.n == 0 && d.v == NULL && d.errors == 0);
}

static void
test_sort_is_stable_by_line_then_col(void)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_diags_add(&d, "f", 5, 2, 0, "c");
    wt_diags_add(&d, "f", 2, 9, 0, "b");
    wt_diags_add(&d, "f", 2, 1, 0, "a");
    wt_diags_add(&d, "f", 5, 2, 0, "d"); /* same place as "c": stays after it */
    wt_diags_sort(&d);
    WT_CHECK_STR(d.v[0].msg, "a");
    WT_CHECK_STR(d.v[1].msg, "b");
    WT_CHECK_STR(d.v[2].msg, "c");
    WT_CHECK_STR(d.v[3].msg, "d");
    wt_diags_release(&d);
}

static void
test_print_format(void)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_diags_add(&d, "dir/p.yml", 7, 12, 0, "unknown phase '%s' in needs", "x");
    wt_diags_add(&d, "dir/p.yml", 1, 1, 1, "skipped");
    wt_diags_add(&d, "dir/p.yml", 0, 0, 0, "cannot read file");
    char buf[512] = "";
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    wt_diags_print(&d, f);
    fclose(f);
    WT_CHECK_STR(buf, "dir/p.yml:7:12: error: unknown phase 'x' in needs\n"
                      "dir/p.yml:1:1: warning: skipped\n"
                      "dir/p.yml: error: cannot read file\n");
    wt_diags_release(&d);
}

static void
test_suggest_closest_when_close(void)
{
    const char *const ids[] = {"two-step", "coding-task", "mr-review"};
    WT_CHECK_STR(wt_diag_suggest("two-stpe", ids, 3), "two-step");
    WT_CHECK_STR(wt_diag_suggest("mr-reveiw", ids, 3), "mr-review");
    WT_CHECK(wt_diag_suggest("deploy", ids, 3) == NULL);
    WT_CHECK(wt_diag_suggest("x", ids, 0) == NULL);
}

WT_TEST_MAIN(WT_TEST(test_add_counts_errors_not_warnings),
             WT_TEST(test_sort_is_stable_by_line_then_col), WT_TEST(test_print_format),
             WT_TEST(test_suggest_closest_when_close))
