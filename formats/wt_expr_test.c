/* Unit tests for wt_expr: operators, precedence, paths, truthiness, parse
 * errors with offsets, limits and path visiting. */
#include "wt_expr.h"
#include "wt_test.h"

#include <stdlib.h>
#include <string.h>

static json_t *
scope_new(void)
{
    json_error_t je;
    json_t *s = json_loads("{\"a\": 1, \"b\": 2, \"zero\": 0, \"s\": \"0.85\", \"name\": \"alpha\","
                           " \"empty\": \"\", \"t\": true, \"f\": false, \"n\": null,"
                           " \"list\": [1, \"two\", 3.5], \"obj\": {\"k\": \"v\", \"0\": \"zero\"},"
                           " \"items\": [{\"name\": \"x\"}, {\"name\": \"y\"}],"
                           " \"my-phase\": {\"out_put\": 7},"
                           " \"classify\": {\"output\": {\"context\": {\"taskComplexity\": "
                           "\"Small\", \"score\": \"0.91\"}}},"
                           " \"null\": {\"x\": \"kw\"}, \"big\": 9007199254740993}",
                           0, &je);
    if (s == NULL)
        fprintf(stderr, "scope: %s\n", je.text);
    return s;
}

/* Parses and evaluates text; returns the result as compact JSON (caller
 * frees) or NULL when it did not parse. */
static char *
eval_json(const char *text)
{
    wt_err_t err = {0};
    size_t off = 999;
    wt_expr_t *e = wt_expr_parse(text, &off, &err);
    if (e == NULL) {
        fprintf(stderr, "parse '%s' failed at %zu: %s\n", text, off, err.msg);
        return NULL;
    }
    json_t *scope = scope_new();
    json_t *v = wt_expr_eval(e, scope);
    char *out = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    json_decref(scope);
    wt_expr_destroy(&e);
    WT_CHECK(e == NULL);
    return out;
}

/* 1 true, 0 false, -1 did not parse. */
static int
truth(const char *text)
{
    wt_err_t err = {0};
    size_t off = 0;
    wt_expr_t *e = wt_expr_parse(text, &off, &err);
    if (e == NULL) {
        fprintf(stderr, "parse '%s' failed at %zu: %s\n", text, off, err.msg);
        return -1;
    }
    json_t *scope = scope_new();
    int t = wt_expr_true(e, scope);
    json_decref(scope);
    wt_expr_destroy(&e);
    return t;
}

#define CHECK_EVAL(text, want)                                                                     \
    do {                                                                                           \
        char *got_ = eval_json(text);                                                              \
        WT_CHECK_STR(got_, want);                                                                  \
        free(got_);                                                                                \
    } while (0)

#define CHECK_TRUE(text)  WT_CHECK(truth(text) == 1)
#define CHECK_FALSE(text) WT_CHECK(truth(text) == 0)

/* Expects a parse failure at offset want_off with want_msg in the message. */
static int
parse_fails(const char *text, size_t want_off, wt_code_t want_code, const char *want_msg)
{
    wt_err_t err = {0};
    size_t off = 12345;
    wt_expr_t *e = wt_expr_parse(text, &off, &err);
    if (e != NULL) {
        fprintf(stderr, "  '%s' parsed but should not\n", text);
        wt_expr_destroy(&e);
        return 0;
    }
    int ok = off == want_off && err.code == want_code && strstr(err.msg, want_msg) != NULL;
    if (!ok)
        fprintf(stderr, "  '%.60s': got offset %zu code %d msg '%s'; want %zu %d '%s'\n", text, off,
                err.code, err.msg, want_off, want_code, want_msg);
    return ok;
}

static void
test_literals(void)
{
    CHECK_EVAL("42", "42");
    CHECK_EVAL("-7", "-7");
    CHECK_EVAL("0.5", "0.5");
    CHECK_EVAL("1e3", "1000.0");
    CHECK_EVAL("2.5E-1", "0.25");
    CHECK_EVAL("99999999999999999999", "1e20");
    CHECK_EVAL("\"dq\"", "\"dq\"");
    CHECK_EVAL("'sq'", "\"sq\"");
    CHECK_EVAL("'a\\'b\\\"c\\\\d\\n\\t\\/'", "\"a'b\\\"c\\\\d\\n\\t/\"");
    CHECK_EVAL("'caf\\u00e9 \\ud83d\\ude00'", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    CHECK_EVAL("'raw \xc3\xa9'", "\"raw \xc3\xa9\"");
    CHECK_EVAL("true", "true");
    CHECK_EVAL("false", "false");
    CHECK_EVAL("null", "null");
    CHECK_EVAL("[]", "[]");
    CHECK_EVAL("[1, 'x', [true], a]", "[1,\"x\",[true],1]");
    CHECK_EVAL("  ( ( 3 ) )  ", "3");
}

static void
test_equality(void)
{
    CHECK_TRUE("a == 1");
    CHECK_FALSE("a == 2");
    CHECK_TRUE("a != 2");
    CHECK_FALSE("a != 1");
    CHECK_TRUE("1 == 1.0");
    CHECK_TRUE("name == 'alpha'");
    CHECK_TRUE("name == \"alpha\"");
    CHECK_FALSE("name == 'Alpha'");
    CHECK_TRUE("classify.output.context.taskComplexity != 'Large'");
    CHECK_FALSE("classify.output.context.taskComplexity != 'Small'");
    /* a number and a numeric string compare as numbers */
    CHECK_TRUE("s == 0.85");
    CHECK_TRUE("0.85 == s");
    CHECK_TRUE("'1' == 1");
    CHECK_TRUE("' 2 ' == 2");
    CHECK_TRUE("'1e2' == 100");
    CHECK_TRUE("'-3.0' == -3");
    CHECK_FALSE("'0x10' == 16");
    CHECK_FALSE("'inf' == 1e308");
    CHECK_FALSE("'' == 0");
    CHECK_FALSE("'abc' == 0");
    /* two strings compare as strings */
    CHECK_FALSE("'1.0' == '1'");
    /* other types never equal numbers or strings */
    CHECK_FALSE("t == 1");
    CHECK_FALSE("t == 'true'");
    CHECK_FALSE("n == 0");
    CHECK_FALSE("n == ''");
    CHECK_TRUE("t == true");
    CHECK_TRUE("f != true");
    CHECK_TRUE("n == null");
    CHECK_TRUE("missing == null");
    CHECK_TRUE("missing.deeper == n");
    CHECK_TRUE("list == [1, 'two', 3.5]");
    CHECK_TRUE("list == ['1', 'two', '3.5']");
    CHECK_FALSE("list == [1, 'two']");
    CHECK_FALSE("list == [1, 'two', 3]");
    CHECK_TRUE("obj == obj");
    CHECK_FALSE("obj == items.0");
    CHECK_FALSE("obj == list");
    CHECK_TRUE("items.0 != items.1");
    CHECK_TRUE("big != 9007199254740992");
    CHECK_TRUE("big == 9007199254740993");
}

static void
test_ordering(void)
{
    CHECK_TRUE("a < b");
    CHECK_FALSE("b < a");
    CHECK_TRUE("a <= 1");
    CHECK_FALSE("a <= 0.99");
    CHECK_TRUE("b > a");
    CHECK_TRUE("b >= 2.0");
    CHECK_FALSE("b >= 2.01");
    CHECK_TRUE("-1 < zero");
    CHECK_TRUE("big > 9007199254740992");
    /* a numeric string orders as its number against a number */
    CHECK_TRUE("s >= 0.8");
    CHECK_FALSE("s > 0.85");
    CHECK_TRUE("classify.output.context.score > 0.9");
    CHECK_TRUE("1 < '10'");
    /* two strings: byte order */
    CHECK_TRUE("'abc' < 'abd'");
    CHECK_TRUE("'ab' < 'abc'");
    CHECK_TRUE("'B' < 'a'");
    CHECK_TRUE("'10' < '9'");
    CHECK_TRUE("name >= 'alpha'");
    CHECK_FALSE("name > 'alpha'");
    /* anything else is false both ways */
    CHECK_FALSE("1 < 'abc'");
    CHECK_FALSE("1 >= 'abc'");
    CHECK_FALSE("n < 1");
    CHECK_FALSE("n >= 1");
    CHECK_FALSE("missing <= 0");
    CHECK_FALSE("t > f");
    CHECK_FALSE("t <= f");
    CHECK_FALSE("list < list");
    CHECK_FALSE("[1] <= [1]");
}

static void
test_in(void)
{
    CHECK_TRUE("1 in list");
    CHECK_TRUE("'two' in list");
    CHECK_TRUE("'1' in list");
    CHECK_TRUE("3.5 in list");
    CHECK_FALSE("2 in list");
    CHECK_FALSE("'one' in list");
    CHECK_TRUE("name in ['beta', 'alpha']");
    CHECK_FALSE("name in []");
    CHECK_TRUE("[1] in [[1], [2]]");
    CHECK_TRUE("null in [null]");
    CHECK_TRUE("missing in [1, null]");
    /* substring */
    CHECK_TRUE("'lph' in name");
    CHECK_TRUE("'alpha' in name");
    CHECK_TRUE("'' in name");
    CHECK_FALSE("'alphas' in name");
    CHECK_FALSE("'x' in empty");
    CHECK_FALSE("1 in '123'");
    /* object keys */
    CHECK_TRUE("'k' in obj");
    CHECK_TRUE("'0' in obj");
    CHECK_FALSE("'v' in obj");
    CHECK_FALSE("0 in obj");
    /* anything else */
    CHECK_FALSE("1 in 1");
    CHECK_FALSE("'a' in missing");
    CHECK_FALSE("null in null");
    CHECK_TRUE("!(3 in list)");
}

static void
test_logic_precedence(void)
{
    CHECK_EVAL("t && f", "false");
    CHECK_EVAL("t && t", "true");
    CHECK_EVAL("f || t", "true");
    CHECK_EVAL("f || f", "false");
    CHECK_EVAL("!t", "false");
    CHECK_EVAL("!missing", "true");
    CHECK_EVAL("!!name", "true");
    CHECK_EVAL("a && name", "true"); /* && and || give booleans */
    CHECK_EVAL("zero || empty", "false");
    /* && binds tighter than || */
    CHECK_TRUE("t || f && f");
    CHECK_FALSE("(t || f) && f");
    CHECK_TRUE("f && f || t");
    CHECK_FALSE("f && (f || t)");
    /* ! applies to a whole comparison: !a == b is !(a == b) */
    CHECK_TRUE("!a == b");
    CHECK_FALSE("(!a) == b");
    CHECK_TRUE("!(a in list) == false");
    /* comparisons bind tighter than && and || */
    CHECK_TRUE("a == 1 && b == 2");
    CHECK_TRUE("a == 2 || b == 2");
    CHECK_FALSE("a == 1 && b == 3 || zero");
    CHECK_TRUE("a == 1 && b == 2 && name == 'alpha' && 'k' in obj");
    CHECK_TRUE("f || f || f || t");
    CHECK_TRUE("(a < b) == true");
    CHECK_TRUE("[a == 1, b] == [true, 2]");
}

static void
test_paths(void)
{
    CHECK_EVAL("name", "\"alpha\"");
    CHECK_EVAL("classify.output.context.taskComplexity", "\"Small\"");
    CHECK_EVAL("items.0.name", "\"x\"");
    CHECK_EVAL("items.1.name", "\"y\"");
    CHECK_EVAL("items.2.name", "null");
    CHECK_EVAL("items.00.name", "\"x\"");
    CHECK_EVAL("items.99999999999999999999999.name", "null");
    CHECK_EVAL("list.1", "\"two\"");
    CHECK_EVAL("list.x", "null");
    CHECK_EVAL("obj.0", "\"zero\""); /* digits are a key on an object */
    CHECK_EVAL("obj.k", "\"v\"");
    CHECK_EVAL("name.0", "null"); /* no indexing into strings */
    CHECK_EVAL("a.b.c", "null");
    CHECK_EVAL("missing", "null");
    CHECK_EVAL("missing.x.y.0", "null");
    CHECK_EVAL("my-phase.out_put", "7");
    CHECK_EVAL("null.x", "\"kw\""); /* a keyword with segments is a path */
    CHECK_EVAL("items", "[{\"name\":\"x\"},{\"name\":\"y\"}]");

    wt_expr_t *e = wt_expr_parse("name", NULL, NULL);
    WT_CHECK(e != NULL);
    json_t *v = wt_expr_eval(e, NULL); /* no scope: everything missing */
    WT_CHECK(json_is_null(v));
    json_decref(v);
    json_t *arr = json_pack("[s]", "x");
    v = wt_expr_eval(e, arr); /* scope that is not an object */
    WT_CHECK(json_is_null(v));
    json_decref(v);
    json_decref(arr);
    wt_expr_destroy(&e);
    wt_expr_destroy(&e); /* idempotent */
    wt_expr_destroy(NULL);
}

static void
test_truthiness(void)
{
    struct {
        const char *json;
        int want;
    } cases[] = {
        {"null", 0},         {"false", 0}, {"true", 1},  {"0", 0},
        {"0.0", 0},          {"-0.0", 0},  {"1", 1},     {"-1", 1},
        {"0.001", 1},        {"\"\"", 0},  {"\"0\"", 1}, {"\"false\"", 1},
        {"\" \"", 1},        {"[]", 0},    {"[0]", 1},   {"{}", 0},
        {"{\"a\":null}", 1},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        WT_CHECK(v != NULL);
        if (wt_expr_truthy(v) != cases[i].want)
            fprintf(stderr, "  truthy(%s) != %d\n", cases[i].json, cases[i].want);
        WT_CHECK(wt_expr_truthy(v) == cases[i].want);
        json_decref(v);
    }
    WT_CHECK(wt_expr_truthy(NULL) == 0);
    /* wt_expr_true applies the same table */
    CHECK_FALSE("zero");
    CHECK_FALSE("empty");
    CHECK_FALSE("n");
    CHECK_FALSE("missing");
    CHECK_FALSE("[]");
    CHECK_TRUE("list");
    CHECK_TRUE("obj");
    CHECK_TRUE("s");
    CHECK_TRUE("'0'");
}

static void
test_parse_errors(void)
{
    WT_CHECK(
        parse_fails("(a", 2, WT_EINVAL, "expected ')' after '(' at offset 0, found end of text"));
    WT_CHECK(parse_fails("a==(b", 5, WT_EINVAL,
                         "expected ')' after '(' at offset 3, found end of text"));
    WT_CHECK(parse_fails("(a b)", 3, WT_EINVAL, "expected ')' after '(' at offset 0, found 'b'"));
    WT_CHECK(
        parse_fails("a = b", 2, WT_EINVAL, "unknown operator '=' at offset 2; did you mean '=='?"));
    WT_CHECK(parse_fails("a === b", 2, WT_EINVAL,
                         "unknown operator '===' at offset 2; did you mean '=='?"));
    WT_CHECK(parse_fails("a !== b", 2, WT_EINVAL, "did you mean '!='?"));
    WT_CHECK(parse_fails("a => b", 2, WT_EINVAL,
                         "unknown operator '=>' at offset 2; did you mean '>='?"));
    WT_CHECK(parse_fails("a =< b", 2, WT_EINVAL, "did you mean '<='?"));
    WT_CHECK(
        parse_fails("a & b", 2, WT_EINVAL, "unknown operator '&' at offset 2; did you mean '&&'?"));
    WT_CHECK(
        parse_fails("a | b", 2, WT_EINVAL, "unknown operator '|' at offset 2; did you mean '||'?"));
    WT_CHECK(parse_fails("x == 'abc", 5, WT_EINVAL, "unterminated string starting at offset 5"));
    WT_CHECK(parse_fails("x == \"a\\\"", 5, WT_EINVAL, "unterminated string"));
    WT_CHECK(parse_fails("'ab\\", 0, WT_EINVAL, "unterminated string"));
    WT_CHECK(parse_fails("'a\\qb'", 2, WT_EINVAL, "unknown escape '\\q' at offset 2"));
    WT_CHECK(parse_fails("'\\u12'", 1, WT_EINVAL, "need 4 hex digits"));
    WT_CHECK(parse_fails("'\\ud800'", 1, WT_EINVAL, "high surrogate"));
    WT_CHECK(parse_fails("'\\udc00'", 1, WT_EINVAL, "lone low surrogate"));
    WT_CHECK(parse_fails("'\\u0000'", 1, WT_EINVAL, "not allowed"));
    WT_CHECK(parse_fails("'\xff'", 0, WT_EINVAL, "invalid UTF-8 in the string at offset 0"));
    WT_CHECK(
        parse_fails("", 0, WT_EINVAL, "expected an expression at offset 0, found end of text"));
    WT_CHECK(parse_fails("   ", 3, WT_EINVAL, "expected an expression"));
    WT_CHECK(parse_fails("a ==", 4, WT_EINVAL, "expected a value at offset 4, found end of text"));
    WT_CHECK(parse_fails("a == )", 5, WT_EINVAL, "expected a value at offset 5, found ')'"));
    WT_CHECK(parse_fails("a && ", 5, WT_EINVAL, "expected a value at offset 5"));
    WT_CHECK(parse_fails("!", 1, WT_EINVAL, "expected a value at offset 1"));
    WT_CHECK(parse_fails("a b", 2, WT_EINVAL, "unexpected 'b' at offset 2"));
    WT_CHECK(parse_fails("a 'x'", 2, WT_EINVAL, "unexpected string 'x' at offset 2"));
    WT_CHECK(parse_fails("a \"a very long string that goes on\"", 2, WT_EINVAL,
                         "unexpected string \"a very long string ... at offset 2"));
    WT_CHECK(parse_fails("a 'x\xc3\xa9\ny'", 2, WT_EINVAL,
                         "unexpected string 'x?"
                         "?"
                         "?y' at offset 2"));
    WT_CHECK(parse_fails("a)", 1, WT_EINVAL, "unexpected ')' at offset 1"));
    WT_CHECK(parse_fails("a and b", 2, WT_EINVAL, "did you mean '&&'?"));
    WT_CHECK(parse_fails("a or b", 2, WT_EINVAL, "did you mean '||'?"));
    WT_CHECK(parse_fails("a == b == c", 7, WT_EINVAL, "comparisons do not chain"));
    WT_CHECK(parse_fails("a < b in c", 6, WT_EINVAL, "comparisons do not chain"));
    WT_CHECK(parse_fails("a.", 2, WT_EINVAL, "expected a name or index after '.' at offset 1"));
    WT_CHECK(parse_fails("a..b", 2, WT_EINVAL, "expected a name or index after '.'"));
    WT_CHECK(parse_fails("a . b", 2, WT_EINVAL, "unexpected character '.' at offset 2"));
    WT_CHECK(parse_fails("a.1x", 2, WT_EINVAL, "invalid path segment '1x' at offset 2"));
    WT_CHECK(parse_fails("a.-b", 2, WT_EINVAL, "invalid path segment '-b'"));
    WT_CHECK(parse_fails("x > 12ab", 4, WT_EINVAL, "invalid number '12ab' at offset 4"));
    WT_CHECK(parse_fails("1.2.3", 0, WT_EINVAL, "invalid number '1.2.3'"));
    WT_CHECK(parse_fails("1e999", 0, WT_EINVAL, "number '1e999' at offset 0 is out of range"));
    WT_CHECK(parse_fails("-x", 0, WT_EINVAL, "unexpected character '-' at offset 0"));
    WT_CHECK(parse_fails("a # b", 2, WT_EINVAL, "unexpected character '#' at offset 2"));
    WT_CHECK(parse_fails("a \x01", 2, WT_EINVAL, "unexpected byte 0x01 at offset 2"));
    WT_CHECK(parse_fails("{{ a }}", 0, WT_EINVAL, "unexpected character '{'"));
    WT_CHECK(parse_fails("[1, 2", 5, WT_EINVAL,
                         "expected ',' or ']' in the list at offset 0, found end of text"));
    WT_CHECK(parse_fails("[1 2]", 3, WT_EINVAL, "expected ',' or ']'"));
    WT_CHECK(parse_fails("[1,]", 3, WT_EINVAL, "expected a value at offset 3, found ']'"));
    WT_CHECK(parse_fails("a == 'x' &&", 11, WT_EINVAL, "found end of text"));

    wt_err_t err = {0};
    size_t off = 7;
    WT_CHECK(wt_expr_parse(NULL, &off, &err) == NULL && off == 0 && err.code == WT_EINVAL);
    WT_CHECK(wt_expr_parse("(", NULL, NULL) == NULL); /* err and offset are optional */
}

/* Builds "<open * n>a<close * n>". */
static char *
nest(const char *open, const char *close, int n)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = malloc(n * (lo + lc) + 2);
    size_t k = 0;
    for (int i = 0; i < n; i++, k += lo)
        memcpy(s + k, open, lo);
    s[k++] = 'a';
    for (int i = 0; i < n; i++, k += lc)
        memcpy(s + k, close, lc);
    s[k] = '\0';
    return s;
}

/* "a||a||...||a" of exactly len bytes (len % 3 == 1). */
static char *
chain(size_t len)
{
    char *s = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        s[i] = i % 3 == 0 ? 'a' : '|';
    s[len] = '\0';
    return s;
}

static void
test_limits(void)
{
    char *s = nest("(", ")", WT_EXPR_MAX_DEPTH - 1);
    wt_expr_t *e = wt_expr_parse(s, NULL, NULL);
    WT_CHECK(e != NULL);
    wt_expr_destroy(&e);
    free(s);

    s = nest("(", ")", 1000);
    WT_CHECK(parse_fails(s, WT_EXPR_MAX_DEPTH, WT_ELIMIT, "nested too deeply at offset 64"));
    free(s);
    s = nest("!", "", 3000);
    WT_CHECK(parse_fails(s, WT_EXPR_MAX_DEPTH, WT_ELIMIT, "more than 64 levels"));
    free(s);
    s = nest("[", "]", 500);
    WT_CHECK(parse_fails(s, WT_EXPR_MAX_DEPTH, WT_ELIMIT, "nested too deeply"));
    free(s);

    /* a long flat chain "a||a||...||a" is fine up to the length limit */
    s = chain(WT_EXPR_MAX_BYTES);
    WT_CHECK(strlen(s) == WT_EXPR_MAX_BYTES);
    e = wt_expr_parse(s, NULL, NULL);
    WT_CHECK(e != NULL);
    WT_CHECK(wt_expr_true(e, NULL) == 0);
    wt_expr_destroy(&e);
    free(s);
    s = chain(WT_EXPR_MAX_BYTES + 3);
    WT_CHECK(
        parse_fails(s, WT_EXPR_MAX_BYTES, WT_ELIMIT, "expression too long: more than 4096 bytes"));
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
test_paths_visit(void)
{
    const char *text =
        "review.output.context.verdict == 'clean' && !(c.0.d in [e, f.g]) || 'x' in h";
    wt_expr_t *e = wt_expr_parse(text, NULL, NULL);
    WT_CHECK(e != NULL);
    seen_t seen = {{0}};
    wt_expr_paths(e, record_path, &seen);
    WT_CHECK_STR(seen.text, "0:review/output/context/verdict 46:c/0/d 56:e 59:f/g 75:h");
    WT_CHECK_STR(wt_expr_text(e), text);
    wt_expr_destroy(&e);

    e = wt_expr_parse("  1 == 'a.b'  ", NULL, NULL); /* no paths, text kept as given */
    seen.text[0] = '\0';
    wt_expr_paths(e, record_path, &seen);
    WT_CHECK_STR(seen.text, "");
    WT_CHECK_STR(wt_expr_text(e), "  1 == 'a.b'  ");
    wt_expr_paths(e, NULL, NULL);
    wt_expr_destroy(&e);
    WT_CHECK(wt_expr_text(NULL) == NULL);
}

WT_TEST_MAIN(WT_TEST(test_literals), WT_TEST(test_equality), WT_TEST(test_ordering),
             WT_TEST(test_in), WT_TEST(test_logic_precedence), WT_TEST(test_paths),
             WT_TEST(test_truthiness), WT_TEST(test_parse_errors), WT_TEST(test_limits),
             WT_TEST(test_paths_visit))
