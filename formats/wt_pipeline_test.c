/* Unit tests of wt_pipeline: every shape and meaning problem with its exact
 * line:column, a full pipeline read back field by field, the DESIGN §7
 * example verbatim, run order and the sniffer. */
#include "wt_pipeline.h"
#include "wt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
known(void *ud, const char *id)
{
    (void)ud;
    static const char *const ids[] = {"classify-task", "discovery", "coding-task", "mr-review"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

/* Loads text and, when it loads, checks it; diags get everything. */
static void
run(const char *text, wt_diags_t *d)
{
    wt_diags_init(d);
    wt_pipeline_t *p = wt_pipeline_load_buffer(text, strlen(text), "p.yml", d);
    if (p != NULL)
        wt_pipeline_check(p, known, NULL, d);
    wt_diags_sort(d);
    wt_pipeline_destroy(&p);
}

static void
dump(const wt_diags_t *d)
{
    wt_diags_print(d, stderr);
}

/* Exactly one error, at line:col, whose message contains msg. */
#define EXPECT_ONE(text, l, c, want)                                                               \
    do {                                                                                           \
        wt_diags_t d_;                                                                             \
        run(text, &d_);                                                                            \
        int ok_ = d_.errors == 1 && d_.n >= 1;                                                     \
        int k_ = 0;                                                                                \
        while (ok_ && k_ < d_.n && d_.v[k_].warning)                                               \
            k_++;                                                                                  \
        ok_ = ok_ && k_ < d_.n && d_.v[k_].line == (l) && d_.v[k_].col == (c) &&                   \
              strstr(d_.v[k_].msg, want) != NULL && strcmp(d_.v[k_].file, "p.yml") == 0;           \
        if (!ok_) {                                                                                \
            fprintf(stderr, "expected %d:%d %s, got:\n", (l), (c), (want));                        \
            dump(&d_);                                                                             \
        }                                                                                          \
        WT_CHECK(ok_);                                                                             \
        wt_diags_release(&d_);                                                                     \
    } while (0)

#define HEAD "pipeline: t\nphases:\n"

static void
test_yaml_and_top_level_errors(void)
{
    EXPECT_ONE("pipeline: t\nphases: [\n", 3, 1, "invalid YAML: ");
    EXPECT_ONE("pipeline: t\n  phases: x\n", 2, 9, "mapping values are not allowed");
    EXPECT_ONE("", 1, 1, "empty file");
    EXPECT_ONE("- a\n- b\n", 1, 1,
               "expected a mapping with 'pipeline' and 'phases' at the top, "
               "not a sequence");
    EXPECT_ONE(HEAD "  - {id: a, workflow: discovery}\nphase: x\n", 4, 1,
               "unknown key 'phase' in the pipeline (did you mean 'phases'?)");
    EXPECT_ONE(HEAD "  - {id: a, workflow: discovery}\nzzz: x\n", 4, 1,
               "unknown key 'zzz' in the pipeline (expected one of: pipeline, description, "
               "inputs, phases)");
    EXPECT_ONE("phases:\n  - {id: a, workflow: discovery}\n", 1, 1, "missing 'pipeline'");
    EXPECT_ONE("pipeline: t\n", 1, 1, "missing 'phases'");
    EXPECT_ONE("pipeline: t\nphases: []\n", 2, 9, "'phases' must be a list of at least one phase");
    EXPECT_ONE("pipeline: {a: 1}\nphases:\n  - {id: a, workflow: discovery}\n", 1, 11,
               "'pipeline' must be text, not a mapping");
    EXPECT_ONE("pipeline: ''\nphases:\n  - {id: a, workflow: discovery}\n", 1, 11,
               "'pipeline' is empty");
    EXPECT_ONE("pipeline: t\ninputs: goal\nphases:\n  - {id: a, workflow: discovery}\n", 2, 9,
               "'inputs' must be a list of names");
    EXPECT_ONE("pipeline: t\ninputs: [goal, 'a b']\nphases:\n  - {id: a, workflow: discovery}\n", 2,
               16, "bad input name 'a b'");
    EXPECT_ONE("pipeline: t\ninputs: [goal, goal]\nphases:\n  - {id: a, workflow: discovery}\n", 2,
               16, "input 'goal' is listed twice");
    EXPECT_ONE("pipeline: t\npipeline: u\nphases:\n  - {id: a, workflow: discovery}\n", 2, 1,
               "duplicate key 'pipeline' (first at line 1 column 1)");
}

static void
test_phase_shape_errors(void)
{
    EXPECT_ONE(HEAD "  - just-text\n", 3, 5, "phase 1 must be a mapping");
    EXPECT_ONE(HEAD "  - workflow: discovery\n", 3, 5, "phase 1 has no 'id'");
    EXPECT_ONE(HEAD "  - id: 9lives\n    workflow: discovery\n", 3, 9, "bad phase id '9lives'");
    EXPECT_ONE(HEAD "  - id: inputs\n    workflow: discovery\n", 3, 9,
               "phase id 'inputs' is reserved");
    EXPECT_ONE(HEAD "  - {id: a, workflow: discovery}\n  - {id: a, workflow: discovery}\n", 4, 10,
               "duplicate phase id 'a' (first at line 3)");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    notify: {webhook: x}\n", 5, 5,
               "phase 'a' has both 'workflow' and 'notify'");
    EXPECT_ONE(HEAD "  - id: a\n    goal: x\n", 3, 5,
               "phase 'a' needs 'workflow' (to run a session) or 'notify'");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    nedds: [b]\n", 5, 5,
               "unknown key 'nedds' in a phase (did you mean 'needs'?)");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: [x]\n", 4, 15,
               "'workflow' must be text, not a "
               "sequence");
    EXPECT_ONE(HEAD "  - {id: a, workflow: discovery}\n  - id: b\n    workflow: discovery\n"
                    "    needs: {a: 1}\n",
               6, 12, "'needs' must be a phase id or a list of phase ids, not a mapping");
    EXPECT_ONE(HEAD "  - {id: a, workflow: discovery}\n  - id: b\n    workflow: discovery\n"
                    "    needs: [a, a]\n",
               6, 16, "'a' is listed twice in needs");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    retry: 3\n", 5, 12,
               "'retry' must be a mapping {max_attempts: N, until: EXPR}, not a scalar");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    retry: {until: 'true'}\n", 5, 12,
               "'retry' needs 'max_attempts' (1 to 20)");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    retry: {max_attempts: 21}\n", 5, 27,
               "'max_attempts' must be a whole number from 1 to 20");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    retry: {max_attempts: 2, untill: x}\n",
               5, 30, "unknown key 'untill' in retry (did you mean 'until'?)");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    vars: [x]\n", 5, 11,
               "'vars' must be a mapping of names to text, not a sequence");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    vars: {k: [1]}\n", 5, 15,
               "vars.k must be text, not a sequence");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    timeout: soon\n", 5, 14,
               "bad timeout 'soon'");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    timeout: nan\n", 5, 14,
               "bad timeout 'nan'");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    max_turns: 0\n", 5, 16,
               "'max_turns' must be a whole number from 1 to 100000");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    priority: 101\n", 5, 15,
               "'priority' must be a whole number from -100 to 100");
    EXPECT_ONE(HEAD "  - id: a\n    notify: hello\n", 4, 13, "'notify' must be a mapping");
    EXPECT_ONE(HEAD "  - id: a\n    notify: {webhok: x}\n", 4, 14,
               "unknown key 'webhok' in notify (did you mean 'webhook'?)");
    EXPECT_ONE(HEAD "  - id: a\n    notify: {webhook: x}\n    timeout: 5m\n", 5, 5,
               "'timeout' has no meaning in a notify phase");
}

static void
test_expression_positions(void)
{
    /* plain scalar: column of the scalar + offset */
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    if: inputs.goal == && 1\n", 5, 24,
               "bad expression in 'if': ");
    /* double-quoted on one line: +1 for the quote */
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    if: \"inputs.goal == && 1\"\n", 5, 25,
               "bad expression in 'if'");
    /* single-quoted: doubled quotes count twice */
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    if: 'inputs.goal == ''x'' )'\n", 5, 31,
               "bad expression in 'if'");
    /* multi-line scalar: the scalar's start */
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    foreach: >\n      inputs.goal ==\n"
                    "      && 1\n",
               5, 14, "bad expression in 'foreach'");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    retry: {max_attempts: 2, until: "
                    "'a.x =='}\n",
               5, 44, "bad expression in 'retry.until'");
    /* templates: offset inside the whole template */
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    goal: \"fix {{inputs.goal\"\n", 5, 16,
               "bad template in 'goal'");
    EXPECT_ONE(HEAD "  - id: a\n    workflow: discovery\n    goal: \"\"\n", 5, 11,
               "'goal' is empty");
    EXPECT_ONE(HEAD "  - id: a\n    notify: {webhook: x, message: \"{{ == }}\"}\n", 4, 39,
               "bad template in 'notify.message'");
    /* a message has no redundant "at offset" */
    wt_diags_t d;
    run(HEAD "  - id: a\n    workflow: discovery\n    if: inputs.goal == && 1\n", &d);
    WT_CHECK(d.n == 1 && strstr(d.v[0].msg, "at offset") == NULL);
    wt_diags_release(&d);
}

#define TWO HEAD "  - {id: a, workflow: discovery}\n  - id: b\n    workflow: coding-task\n"

static void
test_meaning_errors(void)
{
    EXPECT_ONE(HEAD "  - id: a\n    workflow: no-such\n", 4, 15,
               "unknown workflow 'no-such' in "
               "phase 'a'");
    EXPECT_ONE(TWO "    needs: [c]\n", 6, 13, "unknown phase 'c' in needs of 'b'");
    EXPECT_ONE(TWO "    needs: [aa]\n", 6, 13,
               "unknown phase 'aa' in needs of 'b' (did you mean "
               "'a'?)");
    EXPECT_ONE(TWO "    needs: b\n", 6, 12, "cycle in needs: b -> b");
    EXPECT_ONE(HEAD "  - {id: a, workflow: discovery, needs: [c]}\n"
                    "  - {id: b, workflow: discovery, needs: a}\n"
                    "  - {id: c, workflow: discovery, needs: [b]}\n",
               4, 41, "cycle in needs: a -> c -> b -> a");
    EXPECT_ONE(TWO "    if: a.output.ok\n", 6, 9,
               "'a' is not upstream of phase 'b': add it to "
               "needs");
    EXPECT_ONE(TWO "    needs: [a]\n    if: a.output.ok && b.output.ok\n", 7, 24,
               "phase 'b' refers to its own output in 'if'");
    EXPECT_ONE(TWO "    needs: [a]\n    goal: \"{{inputs.goall}}\"\n", 7, 14,
               "unknown input 'inputs.goall' in 'goal': declare it under 'inputs' (did you mean "
               "'goal'?)");
    EXPECT_ONE(TWO "    needs: [a]\n    vars: {x: \"{{ aa.output }}\"}\n", 7, 19,
               "unknown name 'aa' in 'vars': expected inputs.NAME, item, index, attempt, previous "
               "or a phase id "
               "(did you mean 'a'?)");
    EXPECT_ONE(TWO "    needs: [a]\n    goal: \"do {{item}}\"\n", 7, 17,
               "'item' is only set in a phase with 'foreach' (phase 'b')");
    EXPECT_ONE(TWO "    needs: [a]\n    if: attempt > 1\n", 7, 9,
               "'attempt' is only set in the goal and vars of a session phase");
    EXPECT_ONE(TWO "    needs: [a]\n    goal: \"{{previous.outcome}}\"\n", 7, 14,
               "'previous' is only set in a phase with 'retry' (phase 'b')");
    EXPECT_ONE(TWO "    needs: [a]\n    foreach: index\n", 7, 14,
               "'index' cannot be used in the 'foreach' expression that makes it");
    EXPECT_ONE(HEAD "  - id: n\n    notify: {message: hello}\n", 3, 9,
               "notify phase 'n' has no target: give 'webhook' or 'slack'");

    /* upstream through another phase, self in retry.until, item in foreach phases: fine */
    wt_diags_t d;
    run("pipeline: t\ninputs: [goal, repo]\nphases:\n"
        "  - {id: a, workflow: discovery}\n"
        "  - {id: b, workflow: discovery, needs: a}\n"
        "  - id: c\n    workflow: coding-task\n    needs: [b]\n"
        "    foreach: a.output.context.items\n"
        "    if: a.output.context.n > 1 && 'x' in inputs.repo\n"
        "    goal: \"{{item}} #{{index}} of {{inputs.goal}}\"\n"
        "    retry: {max_attempts: 2, until: c.output.context.ok == true}\n",
        &d);
    if (d.n != 0)
        dump(&d);
    WT_CHECK(d.n == 0);
    wt_diags_release(&d);

    /* several problems are all reported, top to bottom */
    run(HEAD "  - id: a\n    workflow: nope\n    nedds: x\n  - id: a\n    workflow: [1]\n", &d);
    WT_CHECK(d.errors == 3 && d.v[0].line == 5 && d.v[1].line == 6 && d.v[2].line == 7);
    wt_diags_release(&d);

    /* no list of workflows: a warning, not an error */
    wt_diags_init(&d);
    const char *ok = HEAD "  - {id: a, workflow: anything}\n";
    wt_pipeline_t *p = wt_pipeline_load_buffer(ok, strlen(ok), NULL, &d);
    WT_CHECK(p != NULL && strcmp(p->path, "<buffer>") == 0);
    WT_CHECK(wt_pipeline_check(p, NULL, NULL, &d) == 0);
    WT_CHECK(d.n == 1 && d.v[0].warning && d.errors == 0);
    WT_CHECK(wt_pipeline_check(p, known, NULL, &d) == 1);
    wt_pipeline_destroy(&p);
    wt_diags_release(&d);
}

static const char design_example[] =
    "pipeline: implement-feature\n"
    "inputs: [goal]\n"
    "phases:\n"
    "  - id: classify\n"
    "    workflow: classify-task\n"
    "    goal: \"{{inputs.goal}}\"\n"
    "  - id: discovery\n"
    "    workflow: discovery\n"
    "    needs: [classify]\n"
    "    if: classify.output.context.taskComplexity != 'Small'\n"
    "    goal: \"{{inputs.goal}}\"\n"
    "  - id: code\n"
    "    workflow: coding-task\n"
    "    needs: [classify, discovery]\n"
    "    goal: \"{{inputs.goal}}\"\n"
    "  - id: review\n"
    "    workflow: mr-review\n"
    "    needs: [code]\n"
    "    retry: {max_attempts: 3, until: review.output.context.verdict == 'clean'}\n"
    "  - id: escalate\n"
    "    notify: {webhook: \"$ESCALATION_WEBHOOK\"}\n"
    "    needs: [review]\n"
    "    if: review.output.context.verdict == 'blocking'\n";

static void
test_design_example(void)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_pipeline_t *p = wt_pipeline_load_buffer(design_example, strlen(design_example),
                                               "implement-feature.yml", &d);
    WT_CHECK(p != NULL);
    if (p == NULL) {
        dump(&d);
        wt_diags_release(&d);
        return;
    }
    WT_CHECK(wt_pipeline_check(p, known, NULL, &d) == 0);
    WT_CHECK(d.n == 0);
    WT_CHECK_STR(p->name, "implement-feature");
    WT_CHECK(p->nphases == 5 && p->ninputs == 1);
    const wt_phase_t *review = &p->phases[wt_pipeline_find(p, "review")];
    WT_CHECK(review->retry_max == 3 && review->retry_until != NULL);
    WT_CHECK(review->retry_pos.line == 19 && review->retry_pos.col == 12);
    WT_CHECK_STR(wt_template_text(review->goal), "{{inputs.goal}}"); /* default */
    const wt_phase_t *esc = &p->phases[4];
    WT_CHECK(esc->workflow == NULL);
    WT_CHECK_STR(esc->notify_webhook, "$ESCALATION_WEBHOOK");
    WT_CHECK_STR(esc->notify_event, "escalation");
    WT_CHECK(esc->if_expr != NULL && esc->if_pos.line == 23 && esc->if_pos.col == 9);
    int *order = wt_pipeline_topo_order(p);
    WT_CHECK(order != NULL);
    for (int i = 0; order && i < 5; i++)
        WT_CHECK(order[i] == i);
    free(order);
    /* evaluation works on what was loaded */
    json_t *scope =
        json_pack("{s:{s:{s:{s:s}}}}", "review", "output", "context", "verdict", "blocking");
    WT_CHECK(wt_expr_true(esc->if_expr, scope) == 1);
    WT_CHECK(wt_expr_true(review->retry_until, scope) == 0);
    json_decref(scope);
    wt_pipeline_destroy(&p);
    WT_CHECK(p == NULL);
    wt_diags_release(&d);
}

static void
test_round_trip_every_field(void)
{
    const char *text = "pipeline: full\n"
                       "description: every field\n"
                       "inputs: [goal, repo]\n"
                       "phases:\n"
                       "  - id: scan\n"
                       "    workflow: discovery\n"
                       "    timeout: 30m\n"
                       "    max_turns: 40\n"
                       "    priority: -5\n"
                       "  - id: fix\n"
                       "    workflow: coding-task\n"
                       "    needs: scan\n"
                       "    foreach: scan.output.context.bugs\n"
                       "    goal: \"Fix {{item.title}} in {{inputs.repo}}\"\n"
                       "    vars: {bug: \"{{item}}\", n: 3}\n"
                       "    retry: {max_attempts: 2}\n"
                       "  - id: tell\n"
                       "    notify:\n"
                       "      slack: ${SLACK_URL}\n"
                       "      message: \"{{fix.session}} done\"\n"
                       "      event: done\n"
                       "    needs: [fix, scan]\n";
    wt_diags_t d;
    wt_diags_init(&d);
    wt_pipeline_t *p = wt_pipeline_load_buffer(text, strlen(text), "full.yml", &d);
    WT_CHECK(p != NULL && wt_pipeline_check(p, known, NULL, &d) == 0 && d.n == 0);
    if (p == NULL) {
        dump(&d);
        wt_diags_release(&d);
        return;
    }
    WT_CHECK_STR(p->name, "full");
    WT_CHECK_STR(p->description, "every field");
    WT_CHECK_STR(p->path, "full.yml");
    WT_CHECK(p->ninputs == 2 && strcmp(p->inputs[1], "repo") == 0);
    const wt_phase_t *scan = &p->phases[0], *fix = &p->phases[1], *tell = &p->phases[2];
    WT_CHECK_STR(scan->id, "scan");
    WT_CHECK(scan->pos.line == 5 && scan->pos.col == 9);
    WT_CHECK_STR(scan->workflow, "discovery");
    WT_CHECK(scan->workflow_pos.line == 6 && scan->workflow_pos.col == 15);
    WT_CHECK(scan->timeout_ms == 30 * 60 * 1000 && scan->max_turns == 40 && scan->priority == -5);
    WT_CHECK(scan->retry_max == 1 && scan->retry_until == NULL && scan->nneeds == 0);
    WT_CHECK(fix->nneeds == 1 && strcmp(fix->needs[0], "scan") == 0);
    WT_CHECK(fix->needs_pos[0].line == 12 && fix->needs_pos[0].col == 12);
    WT_CHECK_STR(wt_expr_text(fix->foreach), "scan.output.context.bugs");
    WT_CHECK_STR(wt_template_text(fix->goal), "Fix {{item.title}} in {{inputs.repo}}");
    WT_CHECK(fix->goal_pos.line == 14 && fix->goal_pos.col == 11);
    WT_CHECK(fix->nvars == 2 && strcmp(fix->vars[0].key, "bug") == 0 &&
             strcmp(fix->vars[1].key, "n") == 0);
    WT_CHECK_STR(wt_template_text(fix->vars[1].value), "3");
    WT_CHECK(fix->vars[0].pos.line == 15 && fix->vars[0].pos.col == 17);
    WT_CHECK(fix->retry_max == 2 && fix->retry_until == NULL);
    json_t *scope = json_pack("{s:{s:s},s:{s:s}}", "item", "title", "NPE", "inputs", "repo", "wt");
    char *goal = wt_template_render(fix->goal, scope);
    WT_CHECK_STR(goal, "Fix NPE in wt");
    free(goal);
    json_decref(scope);
    WT_CHECK(tell->workflow == NULL && tell->notify_webhook == NULL);
    WT_CHECK_STR(tell->notify_slack, "${SLACK_URL}");
    WT_CHECK_STR(tell->notify_event, "done");
    WT_CHECK_STR(wt_template_text(tell->notify_message), "{{fix.session}} done");
    WT_CHECK(tell->nneeds == 2);
    WT_CHECK(wt_pipeline_find(p, "tell") == 2 && wt_pipeline_find(p, "nope") == -1);
    wt_pipeline_destroy(&p);
    wt_diags_release(&d);
}

static void
test_topo_order(void)
{
    const char *text = HEAD "  - {id: d, workflow: discovery, needs: [b, c]}\n"
                            "  - {id: c, workflow: discovery}\n"
                            "  - {id: b, workflow: discovery, needs: c}\n"
                            "  - {id: a, workflow: discovery}\n";
    wt_diags_t d;
    wt_diags_init(&d);
    wt_pipeline_t *p = wt_pipeline_load_buffer(text, strlen(text), "t.yml", &d);
    WT_CHECK(p != NULL);
    int *order = p ? wt_pipeline_topo_order(p) : NULL;
    WT_CHECK(order != NULL);
    /* c (1) first, then b (2) and d (0)? no: lowest index whose needs are met */
    if (order) {
        WT_CHECK(order[0] == 1 && order[1] == 2 && order[2] == 0 && order[3] == 3);
    }
    free(order);
    wt_pipeline_destroy(&p);
    const char *cyc = HEAD "  - {id: a, workflow: discovery, needs: b}\n"
                           "  - {id: b, workflow: discovery, needs: a}\n";
    p = wt_pipeline_load_buffer(cyc, strlen(cyc), "c.yml", &d);
    WT_CHECK(p != NULL && wt_pipeline_topo_order(p) == NULL);
    wt_pipeline_destroy(&p);
    wt_diags_release(&d);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    WT_CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void
test_sniff_and_files(void)
{
    char dir[] = "/tmp/wt_pipeline_test_XXXXXX";
    WT_CHECK(mkdtemp(dir) != NULL);
    char a[256], b[256], c[256];
    snprintf(a, sizeof a, "%s/p.yml", dir);
    snprintf(b, sizeof b, "%s/triggers.yml", dir);
    snprintf(c, sizeof c, "%s/broken.yml", dir);
    write_file(a, design_example);
    write_file(b, "triggers:\n  - id: t\n    provider: generic\n");
    write_file(c, "pipeline: x\nphases: [\n");
    WT_CHECK(wt_pipeline_sniff(a) == 1);
    WT_CHECK(wt_pipeline_sniff(b) == 0);
    WT_CHECK(wt_pipeline_sniff(c) == 1); /* broken YAML still reads as meant for a pipeline */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.yml", dir);
    WT_CHECK(wt_pipeline_sniff(missing) == 0);

    wt_diags_t d;
    wt_diags_init(&d);
    wt_pipeline_t *p = wt_pipeline_load_file(a, &d);
    WT_CHECK(p != NULL && strcmp(p->path, a) == 0 && d.n == 0);
    wt_pipeline_destroy(&p);
    p = wt_pipeline_load_file(c, &d);
    WT_CHECK(p == NULL && d.errors == 1 && strcmp(d.v[0].file, c) == 0 && d.v[0].line == 3);
    p = wt_pipeline_load_file(missing, &d);
    WT_CHECK(p == NULL && d.errors == 2 && strstr(d.v[1].msg, "cannot read") != NULL);
    wt_diags_release(&d);
    unlink(a);
    unlink(b);
    unlink(c);
    rmdir(dir);
}

static void
test_phase_cap(void)
{
    size_t cap = 1100 * 40 + 64;
    char *text = malloc(cap);
    size_t n = (size_t)snprintf(text, cap, HEAD);
    for (int i = 0; i < 1001; i++)
        n += (size_t)snprintf(text + n, cap - n, "  - {id: p%d, workflow: discovery}\n", i);
    wt_diags_t d;
    run(text, &d);
    WT_CHECK(d.errors == 1 && d.v[0].line == 3 && strstr(d.v[0].msg, "too many phases") != NULL);
    wt_diags_release(&d);
    free(text);
}

WT_TEST_MAIN(WT_TEST(test_yaml_and_top_level_errors), WT_TEST(test_phase_shape_errors),
             WT_TEST(test_expression_positions), WT_TEST(test_meaning_errors),
             WT_TEST(test_design_example), WT_TEST(test_round_trip_every_field),
             WT_TEST(test_topo_order), WT_TEST(test_sniff_and_files), WT_TEST(test_phase_cap))
