/* Unit tests of wt_yaml: positions, accessors, scalar styles, syntax errors
 * with line/column and libyaml's problem text, and the caps that stop alias
 * bombs, recursive aliases, deep nesting and oversized inputs. */
#include "wt_alloc.h"
#include "wt_test.h"
#include "wt_yaml.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static wt_yaml_t *
load(const char *text, wt_yaml_error_t *e)
{
    return wt_yaml_load_buffer(text, strlen(text), e);
}

static void
test_tree_positions_and_accessors(void)
{
    const char *text = "name: demo\n"
                       "list:\n"
                       "  - a\n"
                       "  - 'b c'\n"
                       "  - {x: 1}\n"
                       "quoted: \"q\"\n"
                       "block: |\n"
                       "  line one\n"
                       "  line two\n";
    wt_yaml_error_t e;
    wt_yaml_t *y = load(text, &e);
    WT_CHECK(y != NULL);
    const wt_yaml_node_t *root = wt_yaml_root(y);
    WT_CHECK(wt_yaml_kind(root) == WT_YAML_MAP && wt_yaml_len(root) == 4);
    WT_CHECK_STR(wt_yaml_kind_name(root), "mapping");
    WT_CHECK_STR(wt_yaml_text(wt_yaml_map_key_at(root, 1)), "list");
    const wt_yaml_node_t *name = wt_yaml_map_get(root, "name");
    WT_CHECK_STR(wt_yaml_text(name), "demo");
    WT_CHECK(wt_yaml_line(name) == 1 && wt_yaml_col(name) == 7);
    WT_CHECK(wt_yaml_is_plain(name));
    const wt_yaml_node_t *list = wt_yaml_map_get(root, "list");
    WT_CHECK(wt_yaml_kind(list) == WT_YAML_SEQ && wt_yaml_len(list) == 3);
    WT_CHECK_STR(wt_yaml_kind_name(list), "sequence");
    const wt_yaml_node_t *b = wt_yaml_seq_at(list, 1);
    WT_CHECK_STR(wt_yaml_text(b), "b c");
    WT_CHECK(wt_yaml_style(b) == WT_YAML_SINGLE && !wt_yaml_is_plain(b));
    WT_CHECK(wt_yaml_line(b) == 4 && wt_yaml_col(b) == 5);
    const wt_yaml_node_t *x = wt_yaml_map_get(wt_yaml_seq_at(list, 2), "x");
    long long v = 0;
    WT_CHECK(wt_yaml_int(x, &v) == 0 && v == 1);
    WT_CHECK(wt_yaml_line(x) == 5 && wt_yaml_col(x) == 9);
    WT_CHECK(wt_yaml_seq_at(list, 3) == NULL && wt_yaml_map_get(list, "x") == NULL);
    const wt_yaml_node_t *q = wt_yaml_map_get(root, "quoted");
    WT_CHECK(wt_yaml_style(q) == WT_YAML_DOUBLE && wt_yaml_col(q) == 9);
    const wt_yaml_node_t *blk = wt_yaml_map_get(root, "block");
    WT_CHECK_STR(wt_yaml_text(blk), "line one\nline two\n");
    WT_CHECK(wt_yaml_style(blk) == WT_YAML_LITERAL && wt_yaml_end_line(blk) > wt_yaml_line(blk));
    WT_CHECK(wt_yaml_map_get(root, "missing") == NULL);
    WT_CHECK(wt_yaml_text(list) == NULL && wt_yaml_len(name) == 0);
    wt_yaml_destroy(&y);
    WT_CHECK(y == NULL);
    wt_yaml_destroy(&y); /* idempotent */
}

static void
test_scalar_types(void)
{
    wt_yaml_error_t e;
    wt_yaml_t *y =
        load("[~, null, '', true, False, 'true', 42, -7, '42', 1.5, 99999999999999999999, "
             "+3, -]",
             &e);
    WT_CHECK(y != NULL);
    const wt_yaml_node_t *r = wt_yaml_root(y);
    int b = -1;
    long long v = 0;
    WT_CHECK(wt_yaml_is_null(wt_yaml_seq_at(r, 0)) && wt_yaml_is_null(wt_yaml_seq_at(r, 1)));
    WT_CHECK(!wt_yaml_is_null(wt_yaml_seq_at(r, 2))); /* quoted empty string */
    WT_CHECK(wt_yaml_bool(wt_yaml_seq_at(r, 3), &b) == 0 && b == 1);
    WT_CHECK(wt_yaml_bool(wt_yaml_seq_at(r, 4), &b) == 0 && b == 0);
    WT_CHECK(wt_yaml_bool(wt_yaml_seq_at(r, 5), &b) == -1);
    WT_CHECK(wt_yaml_int(wt_yaml_seq_at(r, 6), &v) == 0 && v == 42);
    WT_CHECK(wt_yaml_int(wt_yaml_seq_at(r, 7), &v) == 0 && v == -7);
    WT_CHECK(wt_yaml_int(wt_yaml_seq_at(r, 8), &v) == -1);
    WT_CHECK(wt_yaml_int(wt_yaml_seq_at(r, 9), &v) == -1);
    WT_CHECK(wt_yaml_int(wt_yaml_seq_at(r, 10), &v) == -1); /* out of range */
    WT_CHECK(wt_yaml_int(wt_yaml_seq_at(r, 11), &v) == 0 && v == 3);
    WT_CHECK(wt_yaml_int(wt_yaml_seq_at(r, 12), &v) == -1);
    wt_yaml_destroy(&y);
}

static void
test_syntax_error_has_position_and_problem(void)
{
    wt_yaml_error_t e;
    wt_yaml_t *y = load("a: 1\nb: [1, 2\nc: 3\n", &e);
    WT_CHECK(y == NULL);
    WT_CHECK(e.err.code == WT_EINVAL);
    WT_CHECK(strstr(e.err.msg, "invalid YAML: ") == e.err.msg);
    WT_CHECK(e.line == 3 && e.col == 2);
    WT_CHECK(strstr(e.err.msg, "flow sequence") != NULL);

    y = load("a: 1\n  b: 2\n", &e);
    WT_CHECK(y == NULL && e.line == 2 && e.col == 4);
    WT_CHECK(strstr(e.err.msg, "mapping values are not allowed") != NULL);

    y = load("key: \"unterminated\n", &e);
    WT_CHECK(y == NULL && e.line == 2 && strstr(e.err.msg, "quoted scalar") != NULL);

    y = load("a: *nope\n", &e);
    WT_CHECK(y == NULL && strstr(e.err.msg, "undefined alias") != NULL && e.line == 1);

    y = wt_yaml_load_buffer("a: \xff\xfe\n", 7, &e); /* not UTF-8 */
    WT_CHECK(y == NULL && e.line == 1 && e.col == 4);
}

static void
test_duplicates_and_documents(void)
{
    wt_yaml_error_t e;
    wt_yaml_t *y = load("a: 1\nb: 2\na: 3\n", &e);
    WT_CHECK(y == NULL && e.line == 3 && e.col == 1);
    WT_CHECK_STR(e.err.msg, "duplicate key 'a' (first at line 1 column 1)");
    y = load("a: 1\n---\nb: 2\n", &e);
    WT_CHECK(y == NULL && e.line == 2 && strstr(e.err.msg, "second document") != NULL);
    y = load("", &e);
    WT_CHECK(y != NULL && wt_yaml_root(y) == NULL);
    wt_yaml_destroy(&y);
    y = load("# only a comment\n", &e);
    WT_CHECK(y != NULL && wt_yaml_root(y) == NULL);
    wt_yaml_destroy(&y);
}

static void
test_aliases_expand_within_caps(void)
{
    wt_yaml_error_t e;
    wt_yaml_t *y = load("base: &b {x: 1}\nuse: *b\n", &e);
    WT_CHECK(y != NULL);
    const wt_yaml_node_t *u = wt_yaml_map_get(wt_yaml_root(y), "use");
    WT_CHECK_STR(wt_yaml_text(wt_yaml_map_get(u, "x")), "1");
    wt_yaml_destroy(&y);

    /* billion laughs: 10 levels of 10 aliases = 10^10 nodes if expanded */
    char bomb[2048];
    size_t used = (size_t)snprintf(bomb, sizeof bomb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i <= 10; i++) {
        int p = i - 1;
        used += (size_t)snprintf(bomb + used, sizeof bomb - used,
                                 "a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n",
                                 i, i, p, p, p, p, p, p, p, p, p, p);
    }
    WT_CHECK(used < sizeof bomb);
    y = load(bomb, &e);
    WT_CHECK(y == NULL && e.err.code == WT_ELIMIT);
    WT_CHECK(strstr(e.err.msg, "more than 100000 nodes") != NULL);

    y = load("a: &a [1, *a]\n", &e); /* recursive: must fail, not loop */
    WT_CHECK(y == NULL);
    WT_CHECK(e.err.msg[0] != '\0');
}

static void
test_depth_and_size_caps(void)
{
    wt_yaml_error_t e;
    size_t n = 1000;
    char *deep = wt_xmalloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    wt_yaml_t *y = load(deep, &e);
    WT_CHECK(y == NULL && e.err.code == WT_ELIMIT && strstr(e.err.msg, "nesting") != NULL);
    free(deep);

    size_t big = WT_YAML_MAX_BYTES + 1;
    char *huge = wt_xmalloc(big);
    memset(huge, '#', big);
    y = wt_yaml_load_buffer(huge, big, &e);
    WT_CHECK(y == NULL && e.err.code == WT_ELIMIT);

    char path[] = "/tmp/wt_yaml_test_XXXXXX";
    int fd = mkstemp(path);
    WT_CHECK(fd >= 0);
    WT_CHECK(write(fd, huge, big) == (ssize_t)big);
    close(fd);
    y = wt_yaml_load_file(path, &e);
    WT_CHECK(y == NULL && e.err.code == WT_ELIMIT && strstr(e.err.msg, path) != NULL);
    FILE *f = fopen(path, "w");
    fputs("k: [v]\n", f);
    fclose(f);
    y = wt_yaml_load_file(path, &e);
    WT_CHECK(y != NULL);
    WT_CHECK_STR(wt_yaml_text(wt_yaml_seq_at(wt_yaml_map_get(wt_yaml_root(y), "k"), 0)), "v");
    wt_yaml_destroy(&y);
    unlink(path);
    free(huge);

    y = wt_yaml_load_file("/nonexistent/x.yml", &e);
    WT_CHECK(y == NULL && e.err.code == WT_EIO && strstr(e.err.msg, "/nonexistent/x.yml") != NULL);
    y = wt_yaml_load_file("/tmp", &e);
    WT_CHECK(y == NULL && e.err.code == WT_EIO);
}

WT_TEST_MAIN(WT_TEST(test_tree_positions_and_accessors), WT_TEST(test_scalar_types),
             WT_TEST(test_syntax_error_has_position_and_problem),
             WT_TEST(test_duplicates_and_documents), WT_TEST(test_aliases_expand_within_caps),
             WT_TEST(test_depth_and_size_caps))
