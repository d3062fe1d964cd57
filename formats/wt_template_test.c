/* Unit tests for wt_template: rendering rules, literal braces, parse errors
 * with whole-text offsets, and path visiting. */
#include "wt_template.h"
#include "wt_test.h"

#include <stdlib.h>
#include <string.h>

static json_t *
scope_new(void)
{
    return json_loads(
        "{\"inputs\": {\"goal\": \"fix the bug\"}, \"n\": null, \"i\": 3,"
        " \"r\": 0.85, \"t\": true, \"obj\": {\"a\": 1, \"b\": [1, \"x\"]},"
        " \"list\": [1, 2.5, \"s\"], \"empty\": \"\", \"item\": \"repo-a\","
        " \"quote\": \"say \\\"hi\\\"\\n\","
        " \"classify\": {\"output\": {\"context\": {\"taskComplexity\": \"Large\"}}}}",
        0, NULL);
}

/* Parses and renders text; NULL when it did not parse. */
static char *
render(const char *text)
{
    wt_err_t err = {0};
    size_t off = 999;
    wt_template_t *t = wt_template_parse(text, &off, &err);
    if (t == NULL) {
        fprintf(stderr, "  parse '%s' failed at %zu: %s\n", text, off, err.msg);
        return NULL;
    }
    json_t *scope = scope_new();
    char *out = wt_template_render(t, scope);
    json_decref(scope);
    wt_template_destroy(&t);
    return out;
}

#define CHECK_RENDER(text, want)                                                                   \
    do {                                                                                           \
        char *got_ = render(text);                                                                 \
        WT_CHECK_STR(got_, want);                                                                  \
        free(got_);                                                                                \
    } while (0)

static int
parse_fails(const char *text, size_t want_off, wt_code_t want_code, const char *want_msg)
{
    wt_err_t err = {0};
    size_t off = 12345;
    wt_template_t *t = wt_template_parse(text, &off, &err);
    if (t != NULL) {
        fprintf(stderr, "  '%s' parsed but should not\n", text);
        wt_template_destroy(&t);
        return 0;
    }
    int ok = off == want_off && err.code == want_code && strstr(err.msg, want_msg) != NULL;
    if (!ok)
        fprintf(stderr, "  '%.60s': got offset %zu code %d msg '%s'; want %zu %d '%s'\n", text, off,
                err.code, err.msg, want_off, want_code, want_msg);
    return ok;
}

static void
test_render_values(void)
{
    CHECK_RENDER("{{inputs.goal}}", "fix the bug");
    CHECK_RENDER("Goal: {{ inputs.goal }}.", "Goal: fix the bug.");
    CHECK_RENDER("[{{quote}}]", "[say \"hi\"\n]"); /* strings go in raw */
    CHECK_RENDER("[{{n}}]", "[]");
    CHECK_RENDER("[{{missing.path}}]", "[]");
    CHECK_RENDER("[{{empty}}]", "[]");
    CHECK_RENDER("{{i}}", "3");
    CHECK_RENDER("{{r}}", "0.85");
    CHECK_RENDER("{{t}}", "true");
    CHECK_RENDER("{{ false }}", "false");
    CHECK_RENDER("{{obj}}", "{\"a\":1,\"b\":[1,\"x\"]}");
    CHECK_RENDER("{{list}}", "[1,2.5,\"s\"]");
    CHECK_RENDER("{{ [] }}", "[]");
    CHECK_RENDER("{{ 'lit' }}", "lit");
    CHECK_RENDER("{{ i > 2 && t }}", "true");
    CHECK_RENDER("{{ classify.output.context.taskComplexity != 'Small' }}", "true");
    CHECK_RENDER("{{ '}}' }}", "}}"); /* "}}" inside a string does not close */
    CHECK_RENDER("{{ \"{{x}}\" }}", "{{x}}");
}

static void
test_render_text(void)
{
    CHECK_RENDER("", "");
    CHECK_RENDER("no templates here", "no templates here");
    CHECK_RENDER("{{item}}-{{i}}-{{ item }}", "repo-a-3-repo-a");
    CHECK_RENDER("{{i}}{{i}}", "33");
    CHECK_RENDER("a { b } c {x} }} {", "a { b } c {x} }} {");
    CHECK_RENDER("json: {\"k\": {{i}}}", "json: {\"k\": 3}");
    CHECK_RENDER("{ {{item}} }", "{ repo-a }");
    CHECK_RENDER("x}}{{i}}", "x}}3");
    CHECK_RENDER("multi\nline {{i}}\n", "multi\nline 3\n");

    wt_template_t *t = wt_template_parse("Fix {{ inputs.goal }} now", NULL, NULL);
    WT_CHECK(t != NULL);
    WT_CHECK_STR(wt_template_text(t), "Fix {{ inputs.goal }} now");
    char *out = wt_template_render(t, NULL); /* no scope: paths are null */
    WT_CHECK_STR(out, "Fix  now");
    free(out);
    wt_template_destroy(&t);
    WT_CHECK(t == NULL);
    wt_template_destroy(&t);
    wt_template_destroy(NULL);
    WT_CHECK(wt_template_text(NULL) == NULL);
}

static void
test_parse_errors(void)
{
    WT_CHECK(parse_fails("hello {{ name", 6, WT_EINVAL, "unclosed '{{' at offset 6"));
    WT_CHECK(parse_fails("{{a}} and {{", 10, WT_EINVAL, "unclosed '{{' at offset 10"));
    WT_CHECK(parse_fails("x {{ a } }", 2, WT_EINVAL, "unclosed '{{'"));
    WT_CHECK(parse_fails("x {{ a = b }}", 7, WT_EINVAL,
                         "unknown operator '=' at offset 7; did you mean '=='?"));
    WT_CHECK(parse_fails("{{}}", 2, WT_EINVAL, "expected an expression at offset 2, found '}}'"));
    WT_CHECK(parse_fails("ab {{  }}", 7, WT_EINVAL, "expected an expression at offset 7"));
    WT_CHECK(parse_fails("{{ a b }}", 5, WT_EINVAL,
                         "unexpected 'b' at offset 5: expected an operator or '}}'"));
    WT_CHECK(
        parse_fails("{{ (a }}", 6, WT_EINVAL, "expected ')' after '(' at offset 3, found '}}'"));
    WT_CHECK(parse_fails("{{ 'a}}", 3, WT_EINVAL, "unterminated string starting at offset 3"));
    WT_CHECK(parse_fails("{{ 'a}}' ", 9, WT_EINVAL,
                         "expected '}}' to close '{{' at offset 0, found end of text"));
    WT_CHECK(parse_fails("{{{x}}}", 2, WT_EINVAL, "unexpected character '{' at offset 2"));
    WT_CHECK(parse_fails("ok {{a}} bad {{ x. }}", 18, WT_EINVAL, "after '.' at offset 17"));

    wt_err_t err = {0};
    size_t off = 5;
    WT_CHECK(wt_template_parse(NULL, &off, &err) == NULL && off == 0 && err.code == WT_EINVAL);

    /* one expression is capped at WT_EXPR_MAX_BYTES inside a template too */
    size_t n = WT_EXPR_MAX_BYTES + 100;
    char *s = malloc(n + 8);
    memcpy(s, "{{", 2);
    for (size_t i = 2; i < n + 2; i++)
        s[i] = (i - 2) % 3 == 0 ? 'a' : '|';
    memcpy(s + n + 2, "a}}", 4);
    WT_CHECK(parse_fails(s, 2 + WT_EXPR_MAX_BYTES, WT_ELIMIT, "expression too long"));
    free(s);

    /* and a whole template at WT_TEMPLATE_MAX_BYTES */
    s = malloc(WT_TEMPLATE_MAX_BYTES + 2);
    memset(s, 'x', WT_TEMPLATE_MAX_BYTES + 1);
    s[WT_TEMPLATE_MAX_BYTES + 1] = '\0';
    WT_CHECK(parse_fails(s, WT_TEMPLATE_MAX_BYTES, WT_ELIMIT, "template too long"));
    s[WT_TEMPLATE_MAX_BYTES] = '\0';
    wt_template_t *t = wt_template_parse(s, NULL, NULL);
    WT_CHECK(t != NULL);
    wt_template_destroy(&t);
    free(s);
}

typedef struct seen {
    char text[512];
} seen_t;

static void
record_path(void *ud, const char *const *segs, int n, size_t offset)
{
    seen_t *seen = ud;
    size_t k = strlen(seen->text);
    k += (size_t)snprintf(seen->text + k, sizeof seen->text - k, "%s%zu:", k ? " " : "", offset);
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(seen->text + k, sizeof seen->text - k, "%s%s", i ? "/" : "", segs[i]);
}

static void
test_paths(void)
{
    const char *text = "Fix {{inputs.goal}} per {{ review.output.notes }}; {{ a.0 == b }}{{'x'}}";
    wt_template_t *t = wt_template_parse(text, NULL, NULL);
    WT_CHECK(t != NULL);
    seen_t seen = {{0}};
    wt_template_paths(t, record_path, &seen);
    WT_CHECK_STR(seen.text, "6:inputs/goal 27:review/output/notes 54:a/0 61:b");
    WT_CHECK(strncmp(text + 6, "inputs.goal", 11) == 0);
    WT_CHECK(strncmp(text + 27, "review.output.notes", 19) == 0);
    WT_CHECK(text[54] == 'a' && text[61] == 'b');
    wt_template_paths(t, NULL, NULL);
    wt_template_destroy(&t);

    t = wt_template_parse("plain", NULL, NULL);
    seen.text[0] = '\0';
    wt_template_paths(t, record_path, &seen);
    WT_CHECK_STR(seen.text, "");
    wt_template_destroy(&t);
}

WT_TEST_MAIN(WT_TEST(test_render_values), WT_TEST(test_render_text), WT_TEST(test_parse_errors),
             WT_TEST(test_paths))
