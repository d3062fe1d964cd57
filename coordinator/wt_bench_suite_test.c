/* Unit tests of wt_bench_suite: the bundled and smoke suites load; a bad
 * suite reports every problem at once with its line; unknown workflows
 * come from the fleet callback; prices give costs. Runs from the source
 * tree (ctest's working directory). */
#include "wt_bench_suite.h"

#include "wt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fleet knows every workflow but the one named by ud. */
static int
all_but(void *ud, const char *id)
{
    return strcmp(id, (const char *)ud) != 0;
}

static int
has(const wt_diags_t *d, int line, const char *text)
{
    for (int i = 0; i < d->n; i++)
        if ((line == 0 || d->v[i].line == line) && strstr(d->v[i].msg, text))
            return 1;
    return 0;
}

static void
test_bundled_load(void)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_bench_suite_t *s =
        wt_bench_suite_load("coordinator/suites/mr-review/suite.yml", all_but, "none", &d);
    wt_diags_print(&d, stderr);
    WT_CHECK(s != NULL && d.errors == 0);
    WT_CHECK(s && s->ncases == 12 && s->nvariants == 2 && s->nscorers == 4);
    WT_CHECK(s && s->variants[1].one_shot &&
             strcmp(s->variants[1].workflow, WT_BENCH_ONE_SHOT_WORKFLOW) == 0);
    WT_CHECK(s && s->cases[0].workspace && s->cases[0].workspace[0] == '/');
    wt_bench_suite_destroy(&s);
    WT_CHECK(s == NULL);
    wt_diags_release(&d);
    wt_diags_init(&d);
    /* the one-shot variant's workflow is unknown to this "fleet" */
    s = wt_bench_suite_load("tests/bench/smoke/suite.yml", all_but, "bench-one-shot", &d);
    WT_CHECK(s == NULL && has(&d, 2, "unknown workflow 'bench-one-shot'"));
    wt_diags_release(&d);
    wt_diags_init(&d);
    s = wt_bench_suite_load("tests/bench/smoke/suite.yml", NULL, NULL, &d);
    WT_CHECK(s != NULL && s->nprices == 1);
    WT_CHECK(s && wt_bench_suite_cost(s, "small-model", 1000000, 500000) == 2.0);
    WT_CHECK(s && wt_bench_suite_cost(s, "other", 1000000, 1) == 0.0);
    wt_bench_suite_destroy(&s);
    wt_diags_release(&d);
}

static void
test_all_problems_at_once(void)
{
    char path[] = "/tmp/wt-suite-test-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "suite: bad\n"                                               /* 1 */
                       "workflow: w\n"                                              /* 2 */
                       "colour: red\n"                                              /* 3 */
                       "cases:\n"                                                   /* 4 */
                       "  - {id: a, goal: g, expect: {v: 1}}\n"                     /* 5 */
                       "  - {id: a, goal: g, expect: {v: 1}}\n"                     /* 6 */
                       "  - {id: 'b c', goal: g, expect: {v: 1}}\n"                 /* 7 */
                       "  - {id: d, expect: {}}\n"                                  /* 8 */
                       "scorers:\n"                                                 /* 9 */
                       "  - {name: v, type: equals, output: result.v, expect: v}\n" /* 10 */
                       "  - {name: r, type: regex, output: notes, pattern: '('}\n"  /* 11 */
                       "  - {name: x, type: nope}\n"                                /* 12 */
                       "thresholds: {recal: 0.5}\n";                                /* 13 */
    WT_CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    wt_diags_t d;
    wt_diags_init(&d);
    WT_CHECK(wt_bench_suite_load(path, NULL, NULL, &d) == NULL);
    WT_CHECK(has(&d, 3, "unknown key 'colour'"));
    WT_CHECK(has(&d, 6, "duplicate case id 'a'"));
    WT_CHECK(has(&d, 7, "case id 'b c'"));
    WT_CHECK(has(&d, 8, "needs a 'goal'"));
    WT_CHECK(has(&d, 8, "case 'd' has no expect.v"));
    WT_CHECK(has(&d, 10, "unknown output path 'result.v'"));
    WT_CHECK(has(&d, 11, "bad regex '('"));
    WT_CHECK(has(&d, 12, "type must be one of"));
    WT_CHECK(has(&d, 13, "unknown metric 'recal'"));
    WT_CHECK(d.errors >= 9);
    wt_diags_release(&d);
    unlink(path);
}

int
main(void)
{
    static const wt_test_case_t cases[] = {WT_TEST(test_bundled_load),
                                           WT_TEST(test_all_problems_at_once)};
    return wt_test_run(cases, sizeof cases / sizeof cases[0]);
}
