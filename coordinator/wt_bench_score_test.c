/* Unit tests of wt_bench_score: each scorer kind, item matching, the
 * command scorer's exit status, output and timeout, and the statistics
 * (mean, standard error, pass@k, pass^k) against values worked by hand. */
#include "wt_bench_score.h"

#include "wt_test.h"

#include <math.h>
#include <stdlib.h>

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

static double
value(wt_bench_kind_t kind, wt_bench_match_t m, const char *got, const char *want)
{
    wt_bench_scorer_t sc = {.name = "s", .kind = kind, .match = m, .tolerance = 0.5, .pass_at = 1};
    json_t *g = got ? json_loads(got, JSON_DECODE_ANY, NULL) : NULL;
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    double s = -1;
    char why[128];
    if (wt_bench_score_value(&sc, g, w, &s, why, sizeof why) != 0)
        s = -1;
    json_decref(g);
    json_decref(w);
    return s;
}

static void
test_equals_and_numeric(void)
{
    WT_CHECK(value(WT_BENCH_EQUALS, 0, "\"blocking\"", "\"blocking\"") == 1);
    WT_CHECK(value(WT_BENCH_EQUALS, 0, "\"minor\"", "\"blocking\"") == 0);
    WT_CHECK(value(WT_BENCH_EQUALS, 0, "3", "\"3\"") == 1);  /* compared as text */
    WT_CHECK(value(WT_BENCH_EQUALS, 0, NULL, "\"x\"") == 0); /* missing output: wrong */
    WT_CHECK(value(WT_BENCH_NUMERIC, 0, "3.4", "3") == 1);   /* tolerance 0.5 */
    WT_CHECK(value(WT_BENCH_NUMERIC, 0, "\"3.6\"", "3") == 0);
    WT_CHECK(value(WT_BENCH_NUMERIC, 0, "\"many\"", "3") == 0);
    WT_CHECK(value(WT_BENCH_NUMERIC, 0, "3", "\"x\"") == -1); /* bad expectation: error */
}

static void
test_regex(void)
{
    WT_CHECK(value(WT_BENCH_REGEX, 0, "\"exit code 0\"", "\"code [0-9]+$\"") == 1);
    WT_CHECK(value(WT_BENCH_REGEX, 0, "\"exit code x\"", "\"code [0-9]+$\"") == 0);
    WT_CHECK(value(WT_BENCH_REGEX, 0, "\"a\"", "\"(\"") == -1); /* bad regex is an error */
}

static void
test_sets(void)
{
    const char *got = "[\"Loop-bound off by one\", \"style nit\"]";
    const char *want = "[\"loop-bound\", \"leak\"]";
    WT_CHECK(NEAR(value(WT_BENCH_SET_RECALL, WT_BENCH_MATCH_CONTAINS, got, want), 0.5));
    WT_CHECK(NEAR(value(WT_BENCH_SET_PRECISION, WT_BENCH_MATCH_CONTAINS, got, want), 0.5));
    WT_CHECK(NEAR(value(WT_BENCH_F1, WT_BENCH_MATCH_CONTAINS, got, want), 0.5));
    WT_CHECK(NEAR(value(WT_BENCH_SET_RECALL, WT_BENCH_MATCH_EQUALS, got, want), 0.0));
    WT_CHECK(
        NEAR(value(WT_BENCH_SET_RECALL, WT_BENCH_MATCH_REGEX, got, "[\"^Loop\", \"nit$\"]"), 1.0));
    /* empty cases: nothing expected and nothing found is perfect */
    WT_CHECK(NEAR(value(WT_BENCH_SET_RECALL, 0, "[]", "[]"), 1.0));
    WT_CHECK(NEAR(value(WT_BENCH_SET_PRECISION, 0, "[]", "[]"), 1.0));
    WT_CHECK(NEAR(value(WT_BENCH_SET_PRECISION, 0, "[]", "[\"a\"]"), 0.0));
    WT_CHECK(NEAR(value(WT_BENCH_SET_PRECISION, 0, "[\"a\"]", "[]"), 0.0));
    WT_CHECK(NEAR(value(WT_BENCH_F1, 0, NULL, "[\"a\"]"), 0.0));
}

static void
test_path(void)
{
    json_t *o = json_loads("{\"context\": {\"f\": [{\"x\": 7}]}, \"notes\": \"n\"}", 0, NULL);
    WT_CHECK(json_integer_value(wt_bench_path_get(o, "context.f.0.x")) == 7);
    WT_CHECK(wt_bench_path_get(o, "context.g") == NULL);
    WT_CHECK(wt_bench_path_get(o, "context.f.1") == NULL);
    WT_CHECK_STR(json_string_value(wt_bench_path_get(o, "notes")), "n");
    json_decref(o);
}

static void
test_command(void)
{
    char why[128], *out = NULL;
    char *env[] = {"WT_X=hello", NULL};
    WT_CHECK(wt_bench_command("echo $WT_X; exit 3", "/", env, 10000, 100, &out, why, sizeof why) ==
             3);
    WT_CHECK_STR(out, "hello\n");
    free(out);
    WT_CHECK(wt_bench_command("pwd", "/tmp", NULL, 10000, 100, &out, why, sizeof why) == 0);
    WT_CHECK_STR(out, "/tmp\n");
    free(out);
    /* output beyond the cap is dropped, the command still finishes */
    WT_CHECK(wt_bench_command("head -c 100000 /dev/zero | tr '\\0' a", NULL, NULL, 10000, 10, &out,
                              why, sizeof why) == 0);
    WT_CHECK(out && strlen(out) == 10);
    free(out);
    /* a hung command (and its children) is killed at the timeout */
    WT_CHECK(wt_bench_command("sleep 30 & sleep 30", NULL, NULL, 300, 100, &out, why, sizeof why) ==
             -1);
    WT_CHECK(strstr(why, "timed out") != NULL);
    free(out);
}

static void
test_stats(void)
{
    double v[] = {1, 0, 1, 1};
    wt_bench_stats_t s = wt_bench_stats(v, 4);
    WT_CHECK(s.n == 4 && NEAR(s.mean, 0.75));
    WT_CHECK(NEAR(s.se, 0.25)); /* sd = 0.5, /sqrt(4) */
    s = wt_bench_stats(v, 1);
    WT_CHECK(NEAR(s.mean, 1) && s.se == 0);
    s = wt_bench_stats(v, 0);
    WT_CHECK(s.n == 0 && s.mean == 0);
}

static void
test_pass_k(void)
{
    /* 9 of 10 passed: at least one of 10 draws passes surely; all ten pass never */
    WT_CHECK(NEAR(wt_bench_pass_at_k(10, 9, 10), 1.0));
    WT_CHECK(NEAR(wt_bench_pass_pow_k(10, 9, 10), 0.0));
    WT_CHECK(NEAR(wt_bench_pass_at_k(10, 9, 1), 0.9));
    WT_CHECK(NEAR(wt_bench_pass_pow_k(10, 9, 1), 0.9));
    /* n=4, c=2, k=2: pass@2 = 1 - C(2,2)/C(4,2) = 5/6; pass^2 = C(2,2)/C(4,2) = 1/6 */
    WT_CHECK(NEAR(wt_bench_pass_at_k(4, 2, 2), 5.0 / 6.0));
    WT_CHECK(NEAR(wt_bench_pass_pow_k(4, 2, 2), 1.0 / 6.0));
    WT_CHECK(wt_bench_pass_at_k(5, 0, 3) == 0 && wt_bench_pass_pow_k(5, 5, 5) == 1);
}

static void
test_judge_parse(void)
{
    double v = -1;
    WT_CHECK(wt_bench_judge_parse("0.75", &v) == 0 && NEAR(v, 0.75));
    WT_CHECK(wt_bench_judge_parse(" 1\n", &v) == 0 && NEAR(v, 1));
    WT_CHECK(wt_bench_judge_parse("0", &v) == 0 && v == 0);
    const char *bad[] = {"",     "Score: 0.8", "0.8 because", "1.5", "-0",  "+0.5",    ".5", "1.",
                         "0..5", "1e-1",       "nan",         "inf", "0x1", "0.5 0.6", NULL};
    for (int i = 0; bad[i]; i++) {
        v = -1;
        WT_CHECK(wt_bench_judge_parse(bad[i], &v) == -1 && v == -1);
    }
    WT_CHECK(wt_bench_judge_parse(NULL, &v) == -1);
}

int
main(void)
{
    static const wt_test_case_t cases[] = {
        WT_TEST(test_equals_and_numeric),
        WT_TEST(test_regex),
        WT_TEST(test_sets),
        WT_TEST(test_path),
        WT_TEST(test_command),
        WT_TEST(test_stats),
        WT_TEST(test_pass_k),
        WT_TEST(test_judge_parse),
    };
    return wt_test_run(cases, sizeof cases / sizeof cases[0]);
}
