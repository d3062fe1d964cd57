/* Conformance with WorkRail v3.37.1 (issue 12), built from WorkRail's own
 * workflow files: the full fixture folder in ../shared when present, else
 * the copies the project ships in tests/fixtures/workrail-v3.37.1/ (MIT,
 * LICENSE alongside; see wt_test_workrail.h). Each test names the WorkRail
 * rule it checks. */
#include "wt_alloc.h"
#include "wt_condition.h"
#include "wt_test.h"
#include "wt_test_workrail.h"
#include "wt_wfrun.h"
#include "wt_workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOTES "Did the work of this step and recorded what was found and decided here."

static wt_workflow_t *
load(const char *rel)
{
    char path[512];
    wt_test_workrail_file(path, sizeof path, rel);
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_load_file(path, &err);
    if (wf == NULL)
        fprintf(stderr, "  cannot load %s: %s\n", path, err.msg);
    WT_CHECK(wf != NULL);
    return wf;
}

static int
complete(wt_wfrun_t *run, json_t *args, char *msg, size_t cap)
{
    wt_err_t err = {0};
    int rc = wt_wfrun_complete(run, args, &err);
    if (msg)
        snprintf(msg, cap, "%s", err.msg);
    json_decref(args);
    return rc;
}

/* Walks a workflow answering every step with good notes and `ctx` as the
 * context of the first step; returns the step ids, space-separated. */
static char *
walk(const wt_workflow_t *wf, const char *ctx_json)
{
    char ids[4096] = "";
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    for (int i = 0; i < 50 && !wt_wfrun_done(run); i++) {
        size_t n = strlen(ids);
        snprintf(ids + n, sizeof ids - n, "%s%s", n ? " " : "", wt_wfrun_step_id(run));
        json_t *args = json_pack("{s:s}", "notes", NOTES);
        if (i == 0)
            json_object_set_new(args, "context", json_loads(ctx_json, 0, NULL));
        char msg[512];
        if (complete(run, args, msg, sizeof msg) != 0) {
            fprintf(stderr, "  refused at %s: %s\n", wt_wfrun_step_id(run), msg);
            break;
        }
    }
    wt_wfrun_destroy(&run);
    return wt_xstrdup(ids);
}

/* Point 5: WorkRail's equals trims and ignores case (lenientEquals), so
 * document-creation-workflow runs the same 7 steps whatever the case of the
 * docComplexity answer; with "Simple" it runs the simple path. */
static void
test_conditions_answer_case(void)
{
    wt_workflow_t *wf = load("document-creation-workflow.json");
    if (wf == NULL)
        return;
    const char *standard = "phase-0-triage phase-1-analyze phase-2-requirements phase-3-plan "
                           "phase-4-create phase-5-quality-review phase-6-finalize";
    const char *answers[] = {"{\"docComplexity\":\"Standard\"}", "{\"docComplexity\":\"standard\"}",
                             "{\"docComplexity\":\"STANDARD\"}",
                             "{\"docComplexity\":\" Standard \\n\"}"};
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        char *got = walk(wf, answers[i]);
        WT_CHECK_STR(got, standard);
        free(got);
    }
    char *simple = walk(wf, "{\"docComplexity\":\"simple\"}");
    WT_CHECK(strstr(simple, "phase-simple-create") != NULL);
    WT_CHECK(strstr(simple, "phase-1-analyze") == NULL);
    free(simple);
    wt_workflow_destroy(&wf);
}

/* Point 5: every operator with WorkRail's rules. */
static void
test_condition_operators(void)
{
    json_t *ctx = json_loads("{\"n\":5,\"s\":\"  Hello World \",\"b\":true,\"list\":[\"x\",\"y\"],"
                             "\"obj\":{\"k\":\"v\"},\"zero\":0,\"empty\":\"\",\"ns\":\"5\","
                             "\"nul\":null}",
                             0, NULL);

    static const struct {
        const char *cond;
        int want;
    } cases[] = {
        {"{\"var\":\"s\",\"equals\":\"hello world\"}", 1},
        {"{\"var\":\"s\",\"equals\":\"HELLO WORLD\"}", 1},
        {"{\"var\":\"s\",\"not_equals\":\"hello WORLD\"}", 0},
        {"{\"var\":\"n\",\"equals\":\"5\"}", 1},
        {"{\"var\":\"n\",\"equals\":\" 5.0 \"}", 1},
        {"{\"var\":\"ns\",\"equals\":5}", 1},
        {"{\"var\":\"b\",\"equals\":\"YES\"}", 1},
        {"{\"var\":\"b\",\"equals\":\"1\"}", 1},
        {"{\"var\":\"b\",\"equals\":\"no\"}", 0},
        {"{\"var\":\"missing\",\"equals\":null}", 1},
        {"{\"var\":\"nul\",\"equals\":null}", 1},
        {"{\"var\":\"missing\",\"not_equals\":\"x\"}", 1},
        {"{\"var\":\"obj\",\"equals\":{\"k\":\"v\"}}", 0},
        {"{\"var\":\"list\",\"equals\":[\"x\",\"y\"]}", 0},
        {"{\"var\":\"s\",\"in\":[\"a\",\"HELLO world\"]}", 1},
        {"{\"var\":\"ns\",\"gt\":1}", 0},
        {"{\"var\":\"n\",\"gte\":5}", 1},
        {"{\"var\":\"n\",\"lt\":5}", 0},
        {"{\"var\":\"s\",\"contains\":\"WORLD\"}", 1},
        {"{\"var\":\"list\",\"contains\":\"x,Y\"}", 1},
        {"{\"var\":\"missing\",\"contains\":\"\"}", 1},
        {"{\"var\":\"s\",\"startsWith\":\"hello\"}", 1},
        {"{\"var\":\"s\",\"endsWith\":\"WORLD\"}", 1},
        {"{\"var\":\"s\",\"matches\":\"^hel+o w\"}", 1},
        {"{\"var\":\"s\",\"matches\":\"^world\"}", 0},
        {"{\"var\":\"s\"}", 1},
        {"{\"var\":\"zero\"}", 0},
        {"{\"var\":\"empty\"}", 0},
        {"{\"var\":\"missing\"}", 0},
        {"{\"var\":\"n\",\"equals\":6,\"gt\":1}", 0}, /* the first operator decides */
        {"{\"and\":[{\"var\":\"n\",\"gte\":5}],\"or\":[{\"var\":\"zero\"}]}", 1},
        {"{\"not\":{\"var\":\"b\",\"equals\":\"false\"}}", 1},
        {"{}", 1},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *c = json_loads(cases[i].cond, 0, NULL);
        WT_CHECK(c != NULL && wt_condition_check(c, "$", NULL) == 0);
        int got = wt_condition_eval(c, ctx);
        WT_CHECK(got == cases[i].want);
        if (got != cases[i].want)
            fprintf(stderr, "  condition %s gave %d\n", cases[i].cond, got);
        json_decref(c);
    }
    json_decref(ctx);
}

/* Point 5: a step passed over is recorded with its condition and the
 * values the condition saw. */
static void
test_skipped_steps_recorded(void)
{
    wt_workflow_t *wf = load("document-creation-workflow.json");
    if (wf == NULL)
        return;
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    json_decref(wt_wfrun_take_skipped(run));
    WT_CHECK(
        complete(run,
                 json_pack("{s:s,s:{s:s}}", "notes", NOTES, "context", "docComplexity", "Simple"),
                 NULL, 0) == 0);
    json_t *sk = wt_wfrun_take_skipped(run);
    WT_CHECK(json_array_size(sk) == 3);
    json_t *first = json_array_get(sk, 0);
    WT_CHECK_STR(json_string_value(json_object_get(first, "step")), "phase-1-analyze");
    WT_CHECK(json_object_get(json_object_get(first, "condition"), "or") != NULL);
    WT_CHECK_STR(
        json_string_value(json_object_get(json_object_get(first, "values"), "docComplexity")),
        "Simple");
    json_decref(sk);
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

/* Point 2: outputRequired is prompt text (WorkRail's "## Output Required"
 * section), not required context keys: good notes complete the step. */
static void
test_output_required_is_prompt_text(void)
{
    wt_workflow_t *wf = load("adaptive-ticket-creation.json");
    if (wf == NULL)
        return;
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    WT_CHECK_STR(wt_wfrun_step_id(run), "phase-0-triage");
    char *text = wt_wfrun_render_step(run);
    WT_CHECK(strstr(text, "## Output Required\n- **notesMarkdown**: Selected path "
                          "(Simple/Standard/Epic), top three triage reasons") != NULL);
    WT_CHECK(strstr(text, "Required in complete_step's context") == NULL);
    free(text);
    char msg[512];
    WT_CHECK(complete(run,
                      json_pack("{s:s,s:{s:s}}", "notes", NOTES, "context", "pathComplexity",
                                "standard"),
                      msg, sizeof msg) == 0);
    WT_CHECK_STR(wt_wfrun_step_id(run), "phase-1-context-and-gaps");
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

/* Point 3: the prompt lists each assessment with its dimensions and
 * levels; levels are validated (case-normalised as WorkRail does), the
 * follow-up fires on the trigger level. */
static void
test_assessment_gate_single(void)
{
    wt_workflow_t *wf = load("test-artifact-loop-control.json");
    if (wf == NULL)
        return;
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    const char *stop = "{\"notes\":\"" NOTES "\",\"artifacts\":[{\"kind\":\"wr.loop_control\","
                       "\"decision\":\"stop\"}]}";
    for (int i = 0; i < 5 && strcmp(wt_wfrun_step_id(run), "complete") != 0; i++)
        WT_CHECK(complete(run, json_loads(stop, 0, NULL), NULL, 0) == 0);
    WT_CHECK_STR(wt_wfrun_step_id(run), "complete");
    char *text = wt_wfrun_render_step(run);
    WT_CHECK(strstr(text, "**ASSESSMENT REQUIREMENTS (System):**") != NULL);
    WT_CHECK(strstr(text, "- Assessment target: \"readiness_gate\"") != NULL);
    WT_CHECK(strstr(text, "-   confidence (low | high): How confident") != NULL);
    WT_CHECK(strstr(text, "\"assessmentId\": \"readiness_gate\", \"dimensions\": { "
                          "\"confidence\": \"low\" }") != NULL);
    WT_CHECK(strstr(text, "DIMENSION") == NULL);
    free(text);

    static const struct {
        const char *dims;
        const char *want; /* NULL: accepted */
    } cases[] = {
        {"{\"confidence\":\"banana\"}",
         "Dimension \"confidence\": Level \"banana\" is not allowed. Allowed levels: low, high."},
        {"{}", "Missing assessment dimension \"confidence\"."},
        {"{\"confidence\":\"high\",\"extra\":\"x\"}",
         "Unknown assessment dimension \"extra\" for assessment \"readiness_gate\"."},
        {"{\"confidence\":\"LOW\"}", "Follow-up required before this step can proceed: "
                                     "readiness_gate.confidence matched \"low\"."},
        {"{\"confidence\":\" High \"}", NULL},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *args = json_pack("{s:s,s:[{s:s,s:s,s:o}]}", "notes", NOTES, "artifacts", "kind",
                                 "wr.assessment", "assessmentId", "readiness_gate", "dimensions",
                                 json_loads(cases[i].dims, 0, NULL));
        char msg[1024];
        int rc = complete(run, args, msg, sizeof msg);
        WT_CHECK(rc == (cases[i].want ? -1 : 0));
        if (cases[i].want && strstr(msg, cases[i].want) == NULL)
            fprintf(stderr, "  case %zu: got: %s\n", i, msg);
        WT_CHECK(cases[i].want == NULL || strstr(msg, cases[i].want) != NULL);
    }
    WT_CHECK(wt_wfrun_done(run));
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

/* Point 3: with several assessments, one artifact per assessment matched
 * by assessmentId (WorkRail's form); a missing one is named. */
static void
test_assessment_gate_multi(void)
{
    wt_workflow_t *wf = load("mr-review-workflow.agentic.v2.json");
    if (wf == NULL)
        return;
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    int refs_seen = 0;
    for (int i = 0; i < 40 && !wt_wfrun_done(run) &&
                    strcmp(wt_wfrun_step_id(run), "phase-5-final-validation") != 0;
         i++) {
        char *step = wt_wfrun_render_step(run); /* point 4: wr.refs.* render as guidance */
        refs_seen += strstr(step, "Notes come first:\n- the notes you give complete_step") != NULL;
        WT_CHECK(strstr(step, "wr.refs.") == NULL);
        free(step);
        json_t *args = json_pack("{s:s,s:[{s:s,s:s}]}", "notes", NOTES, "artifacts", "kind",
                                 "wr.loop_control", "decision", "stop");
        char msg[1024];
        if (complete(run, args, msg, sizeof msg) != 0) {
            fprintf(stderr, "  refused at %s: %s\n", wt_wfrun_step_id(run), msg);
            break;
        }
    }
    WT_CHECK_STR(wt_wfrun_step_id(run), "phase-5-final-validation");
    WT_CHECK(refs_seen > 0);
    char *text = wt_wfrun_render_step(run);
    WT_CHECK(strstr(text, "Set assessmentId: \"coverage-completeness-gate\"") != NULL);
    WT_CHECK(strstr(text, "-   evidence_quality (low | high): ") != NULL);
    free(text);
    const char *two =
        "[{\"kind\":\"wr.assessment\",\"assessmentId\":\"coverage-completeness-gate\","
        "\"dimensions\":{\"coverage_completeness\":\"high\"}},"
        "{\"kind\":\"wr.assessment\",\"assessmentId\":\"evidence-quality-gate\","
        "\"dimensions\":{\"evidence_quality\":\"high\"}}]";
    char msg[2048];
    WT_CHECK(complete(run,
                      json_pack("{s:s,s:o}", "notes", NOTES, "artifacts", json_loads(two, 0, NULL)),
                      msg, sizeof msg) == -1);
    WT_CHECK(strstr(msg, "Missing assessment artifact for \"contradiction-resolution-gate\"") !=
             NULL);
    WT_CHECK(strstr(msg, "evidence-quality-gate") == NULL);
    json_t *arts = json_loads(two, 0, NULL);
    json_array_append_new(arts, json_loads("{\"kind\":\"wr.assessment\",\"assessmentId\":"
                                           "\"contradiction-resolution-gate\",\"dimensions\":{"
                                           "\"contradiction_resolution\":\"high\"}}",
                                           0, NULL));
    WT_CHECK(complete(run, json_pack("{s:s,s:o}", "notes", NOTES, "artifacts", arts), msg,
                      sizeof msg) == 0);
    if (strstr(msg, "Invalid"))
        fprintf(stderr, "  %s\n", msg);
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

/* Point 6: validationCriteria are checked against the notes with
 * WorkRail's messages, and listed in the prompt. */
static void
test_validation_criteria(void)
{
    wt_workflow_t *wf = load("scoped-documentation-workflow.json");
    if (wf == NULL)
        return;
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    WT_CHECK_STR(wt_wfrun_step_id(run), "phase-0-reconnaissance-and-scope");
    char *text = wt_wfrun_render_step(run);
    WT_CHECK(strstr(text, "- Must contain: \"IN SCOPE\"\n- Must contain: \"OUT OF SCOPE\"\n- "
                          "Length: ≥400 chars") != NULL);
    free(text);
    char msg[2048];
    WT_CHECK(complete(run, json_pack("{s:s}", "notes", NOTES), msg, sizeof msg) == -1);
    WT_CHECK(strstr(msg, "Invalid output for contractRef=wr.validationCriteria.") != NULL);
    WT_CHECK(strstr(msg, "- Must explicitly define what is in scope\n") != NULL);
    WT_CHECK(strstr(msg, "- Must explicitly define what is out of scope\n") != NULL);
    WT_CHECK(strstr(msg, "(at least 400 characters)") != NULL);
    char good[1024];
    snprintf(good, sizeof good, "IN SCOPE: the parser. OUT OF SCOPE: the renderer. %s %s %s %s %s",
             NOTES, NOTES, NOTES, NOTES, NOTES);
    WT_CHECK(complete(run, json_pack("{s:s}", "notes", "in scope / out of scope, lower case"), msg,
                      sizeof msg) == -1); /* contains is case-sensitive in WorkRail */
    WT_CHECK(complete(run, json_pack("{s:s}", "notes", good), msg, sizeof msg) == 0);
    WT_CHECK(strcmp(wt_wfrun_step_id(run), "phase-0-reconnaissance-and-scope") != 0);
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

/* Point 4: {{var}} templates are rendered from the context ([unset: x]
 * when missing, as WorkRail), promptFragments whose `when` holds are
 * appended. */
static void
test_templates_and_fragments(void)
{
    const char *text =
        "{\"id\":\"t\",\"name\":\"t\",\"version\":\"1\",\"description\":\"d\",\"steps\":[{\"id\":"
        "\"s\",\"title\":\"Slice {{sliceIndex}}\",\"prompt\":\"Do slice {{sliceIndex}} of "
        "{{plan.total}} ({{missing}}, {{wr.bindings.x}}).\",\"promptFragments\":[{\"id\":\"a\","
        "\"when\":{\"var\":\"rigor\",\"equals\":\"thorough\"},\"text\":\"Be thorough on "
        "{{sliceIndex}}.\"},{\"id\":\"b\",\"when\":{\"var\":\"rigor\",\"equals\":\"quick\"},"
        "\"text\":\"Be quick.\"},{\"id\":\"c\",\"text\":\"Always.\"}]}]}";
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_parse(text, strlen(text), "t.json", &err);
    WT_CHECK(wf != NULL);
    if (wf == NULL)
        return;
    json_t *ctx =
        json_loads("{\"sliceIndex\":2,\"plan\":{\"total\":5},\"rigor\":\" THOROUGH\"}", 0, NULL);
    wt_wfrun_t *run = wt_wfrun_new(wf, ctx, NULL);
    json_decref(ctx);
    char *out = wt_wfrun_render_step(run);
    WT_CHECK(strstr(out, "# Step: Slice 2 (id: s)") != NULL);
    WT_CHECK(strstr(out, "Do slice 2 of 5 ([unset: missing], {{wr.bindings.x}}).") != NULL);
    WT_CHECK(strstr(out, "Be thorough on 2.") != NULL);
    WT_CHECK(strstr(out, "Be quick.") == NULL);
    WT_CHECK(strstr(out, "Always.") != NULL);
    free(out);
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

/* Walks a workflow as walk() does and returns the rendered prompt of the
 * first visit of step `id` (NULL when the run never reaches it). */
static char *
render_at(const wt_workflow_t *wf, const char *ctx_json, const char *id)
{
    char *text = NULL;
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    for (int i = 0; i < 50 && !wt_wfrun_done(run) && text == NULL; i++) {
        if (strcmp(wt_wfrun_step_id(run), id) == 0) {
            text = wt_wfrun_render_step(run);
            break;
        }
        json_t *args = json_pack("{s:s}", "notes", NOTES);
        if (i == 0)
            json_object_set_new(args, "context", json_loads(ctx_json, 0, NULL));
        if (complete(run, args, NULL, 0) != 0)
            break;
    }
    wt_wfrun_destroy(&run);
    return text;
}

/* Point 4, from a fixture step: document-creation-workflow's phase-3-plan
 * carries a promptFragment whose `when` is docComplexity equals "Complex";
 * WorkRail appends its text when the condition holds (lenient equals, so
 * "complex" too) and leaves it out otherwise. */
static void
test_fixture_prompt_fragment(void)
{
    wt_workflow_t *wf = load("document-creation-workflow.json");
    if (wf == NULL)
        return;
    const char *frag = "For Complex documentation, also include: integration strategy";
    char *complex = render_at(wf, "{\"docComplexity\":\"complex\"}", "phase-3-plan");
    char *standard = render_at(wf, "{\"docComplexity\":\"Standard\"}", "phase-3-plan");
    WT_CHECK(complex != NULL && standard != NULL);
    WT_CHECK(complex && strstr(complex, "Create a content plan for this documentation") != NULL);
    WT_CHECK(complex && strstr(complex, frag) != NULL);
    WT_CHECK(standard && strstr(standard, "Create a content plan for this documentation") != NULL);
    WT_CHECK(standard && strstr(standard, frag) == NULL);
    free(complex);
    free(standard);
    wt_workflow_destroy(&wf);
}

/* Point 4, from a fixture step: coding-task-workflow-agentic.json's slice
 * loop (forEach over `slices`, itemVar currentSlice, indexVar sliceIndex)
 * run as written with two slices: the titles `IMPLEMENT: Slice
 * {{sliceIndex}}` and `VERIFY: Slice {{sliceIndex}}` and the prompt's
 * `{{currentSlice.name}}` render with the loop's values (index from 0, as
 * WorkRail's loop context sets it). */
static void
test_fixture_slice_template(void)
{
    char path[512];
    json_t *file = json_load_file(
        wt_test_workrail_file(path, sizeof path, "coding-task-workflow-agentic.json"), 0, NULL);
    WT_CHECK(file != NULL);
    json_t *loop = NULL, *st;
    size_t i;
    json_array_foreach(json_object_get(file, "steps"), i, st)
    {
        if (strcmp(json_string_value(json_object_get(st, "id")), "phase-7-implement-slices") == 0)
            loop = st;
    }
    WT_CHECK(loop != NULL);
    if (loop == NULL) {
        json_decref(file);
        return;
    }
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:[O]}", "id", "slices", "name", "slices", "version",
                            "1", "description", "the fixture's slice loop", "steps", loop);
    char *text = json_dumps(doc, 0);
    json_decref(doc);
    json_decref(file);
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_parse(text, strlen(text), "slices.json", &err);
    free(text);
    WT_CHECK(wf != NULL);
    if (wf == NULL) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    json_t *ctx = json_loads("{\"taskComplexity\":\"Medium\",\"slices\":[{\"name\":\"parser\"},"
                             "{\"name\":\"renderer\"}]}",
                             0, NULL);
    wt_wfrun_t *run = wt_wfrun_new(wf, ctx, NULL);
    json_decref(ctx);
    char seen[8192] = "";
    int implement = 0, raw = 0;
    for (int n = 0; n < 30 && !wt_wfrun_done(run); n++) {
        char *out = wt_wfrun_render_step(run);
        raw += strstr(out, "{{sliceIndex}}") != NULL || strstr(out, "{{currentSlice") != NULL;
        const char *h = strstr(out, "# Step: ");
        size_t len = strlen(seen);
        if (h && len < sizeof seen - 200)
            snprintf(seen + len, sizeof seen - len, "%.*s\n", (int)strcspn(h, "\n"), h);
        if (strcmp(wt_wfrun_step_id(run), "phase-slice-prep") == 0)
            WT_CHECK(strstr(out, implement == 0
                                     ? "Prepare to implement slice `parser`."
                                     : "Prepare to implement slice `renderer`.") != NULL);
        implement += strcmp(wt_wfrun_step_id(run), "phase-7b-implement") == 0;
        free(out);
        WT_CHECK(complete(run, json_pack("{s:s}", "notes", NOTES), NULL, 0) == 0);
    }
    WT_CHECK(wt_wfrun_done(run));
    WT_CHECK(implement == 2);
    WT_CHECK(raw == 0);
    WT_CHECK(strstr(seen, "# Step: IMPLEMENT: Slice 0 (id: phase-7b-implement)\n"
                          "# Step: VERIFY: Slice 0 (id: phase-7c-verify)\n") != NULL);
    WT_CHECK(strstr(seen, "# Step: IMPLEMENT: Slice 1 (id: phase-7b-implement)\n"
                          "# Step: VERIFY: Slice 1 (id: phase-7c-verify)\n") != NULL);
    if (raw || strstr(seen, "Slice 1 (id: phase-7c") == NULL)
        fprintf(stderr, "  headings seen:\n%s", seen);
    wt_wfrun_destroy(&run);
    wt_workflow_destroy(&wf);
}

/* Point 4: an unknown reference is a load error naming it, as in WorkRail. */
static void
test_unknown_ref(void)
{
    const char *text =
        "{\"id\":\"t\",\"name\":\"t\",\"version\":\"1\",\"description\":\"d\","
        "\"steps\":[{\"id\":\"s\",\"promptBlocks\":{\"goal\":\"g\",\"constraints\":[["
        "{\"kind\":\"ref\",\"refId\":\"wr.refs.nope\"}]]}}]}";
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_parse(text, strlen(text), "t.json", &err);
    WT_CHECK(wf == NULL);
    WT_CHECK(strstr(err.msg, "$.steps[0].promptBlocks.constraints[0][0]: Unknown ref "
                             "'wr.refs.nope'. Known refs: wr.refs.memory_usage") != NULL);
    wt_workflow_destroy(&wf);
}

/* Point 4: a templateCall step is expanded into the routine's steps
 * (ids "caller.step", {arg} substituted, the routine's metaGuidance added
 * to each step's guidance), as WorkRail's compiler does. */
static void
test_template_call_expansion(void)
{
    wt_workflow_set_t *set = wt_workflow_set_new();
    char dir[512];
    int n = wt_workflow_set_load_dir(set, wt_test_workrail_file(dir, sizeof dir, ""), NULL, NULL);
    WT_CHECK(n >= 2);
    const wt_workflow_t *wf = wt_workflow_set_get(set, "routine-injection-example");
    WT_CHECK(wf != NULL);
    if (wf == NULL) {
        wt_workflow_set_destroy(&set);
        return;
    }
    WT_CHECK(wt_workflow_step_count(wf) == 7);
    wt_wfrun_t *run = wt_wfrun_new(wf, NULL, NULL);
    char ids[1024] = "";
    char *deliver = NULL;
    for (int i = 0; i < 10 && !wt_wfrun_done(run); i++) {
        size_t len = strlen(ids);
        snprintf(ids + len, sizeof ids - len, "%s%s", len ? " " : "", wt_wfrun_step_id(run));
        if (strcmp(wt_wfrun_step_id(run), "phase-1-design.step-deliver") == 0)
            deliver = wt_wfrun_render_step(run);
        WT_CHECK(complete(run, json_pack("{s:s}", "notes", NOTES), NULL, 0) == 0);
    }
    WT_CHECK_STR(ids,
                 "phase-0-gather phase-1-design.step-discover-philosophy "
                 "phase-1-design.step-understand-deeply phase-1-design.step-generate-candidates "
                 "phase-1-design.step-compare-and-recommend phase-1-design.step-deliver "
                 "phase-2-implement");
    WT_CHECK(deliver && strstr(deliver, "Create `design-candidates.md`.") != NULL);
    WT_CHECK(deliver && strstr(deliver, "{deliverableName}") == NULL);
    WT_CHECK(deliver && strstr(deliver, "- PURPOSE: generate genuinely different design") != NULL);
    free(deliver);
    wt_wfrun_destroy(&run);
    wt_workflow_set_destroy(&set);
}

WT_TEST_MAIN(WT_TEST(test_template_call_expansion), WT_TEST(test_unknown_ref),
             WT_TEST(test_output_required_is_prompt_text), WT_TEST(test_assessment_gate_single),
             WT_TEST(test_assessment_gate_multi), WT_TEST(test_validation_criteria),
             WT_TEST(test_templates_and_fragments), WT_TEST(test_fixture_prompt_fragment),
             WT_TEST(test_fixture_slice_template), WT_TEST(test_conditions_answer_case),
             WT_TEST(test_condition_operators), WT_TEST(test_skipped_steps_recorded))
