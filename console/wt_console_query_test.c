/* Unit tests of wt_console_query: the cursor and the parameter checks. */
#include "wt_console_query.h"

#include "wt_test.h"

#include <string.h>

/* Query parameters as "k=v" strings ("k" alone: present without value). */
typedef struct args {
    const char *const *kv;
    int n;
    char scratch[256];
} args_t;

static const char *
get(void *ud, const char *name)
{
    args_t *a = ud;
    size_t len = strlen(name);
    for (int i = 0; i < a->n; i++) {
        if (strncmp(a->kv[i], name, len) != 0)
            continue;
        if (a->kv[i][len] == '\0')
            return "";
        if (a->kv[i][len] == '=')
            return a->kv[i] + len + 1;
    }
    return NULL;
}

static int
sessions(wt_console_sessions_query_t *q, wt_err_t *err, int n, const char *const *kv)
{
    args_t a = {.kv = kv, .n = n};
    return wt_console_query_sessions(get, &a, q, err);
}

static void
test_cursor_round_trip(void)
{
    char text[128];
    wt_console_query_cursor_encode(1732950000123LL, "01JD0000000000000000000000", text,
                                   sizeof text);
    WT_CHECK_STR(text, "1732950000123-01JD0000000000000000000000");
    wt_console_cursor_t c;
    wt_err_t err = {0};
    WT_CHECK(wt_console_query_cursor_decode(text, &c, &err) == 0);
    WT_CHECK(c.ms == 1732950000123LL);
    WT_CHECK_STR(c.id, "01JD0000000000000000000000");
    /* ids may contain '-': the split is at the first one */
    WT_CHECK(wt_console_query_cursor_decode("5-run-a-1", &c, &err) == 0);
    WT_CHECK(c.ms == 5 && strcmp(c.id, "run-a-1") == 0);
}

static void
test_cursor_rejects_garbage(void)
{
    static const char *const bad[] = {
        "", "-", "12", "x-01J", "12-", "-01J", "12-a b", "12-<script>", "1234567890123456789-A"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wt_console_cursor_t c;
        wt_err_t err = {0};
        WT_CHECK(wt_console_query_cursor_decode(bad[i], &c, &err) == -1);
        WT_CHECK(err.code == WT_EINVAL && strstr(err.msg, "'cursor'") != NULL);
    }
}

static void
test_limit(void)
{
    wt_console_sessions_query_t q;
    wt_err_t err = {0};
    WT_CHECK(sessions(&q, &err, 0, NULL) == 0 && q.page.limit == WT_CONSOLE_LIMIT_DEFAULT);
    const char *ok[] = {"limit=500"};
    WT_CHECK(sessions(&q, &err, 1, ok) == 0 && q.page.limit == 500);
    static const char *const bad[] = {
        "limit=0", "limit=501", "limit=", "limit=2x", "limit=-1", "limit=99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        WT_CHECK(sessions(&q, &err, 1, &bad[i]) == -1);
        WT_CHECK(strstr(err.msg, "'limit'") != NULL);
    }
}

static void
test_filters(void)
{
    const char *kv[] = {"status=running", "workflow=mr-review", "worker=w1",
                        "run=01JRUN",     "parent=01JPARENT",   "roots=1",
                        "cursor=10-01JX"};
    wt_console_sessions_query_t q;
    wt_err_t err = {0};
    WT_CHECK(sessions(&q, &err, 7, kv) == 0);
    WT_CHECK_STR(q.status, "running");
    WT_CHECK_STR(q.workflow, "mr-review");
    WT_CHECK_STR(q.worker, "w1");
    WT_CHECK_STR(q.run, "01JRUN");
    WT_CHECK_STR(q.parent, "01JPARENT");
    WT_CHECK(q.roots == 1 && q.page.has_cursor && q.page.cursor.ms == 10);
}

static void
test_bad_filters_name_the_parameter(void)
{
    static const struct {
        const char *kv;
        const char *name;
    } bad[] = {{"status=done", "'status'"},
               {"roots=yes", "'roots'"},
               {"parent=../x", "'parent'"},
               {"run=a b", "'run'"},
               {"cursor=nope", "'cursor'"}};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wt_console_sessions_query_t q;
        wt_err_t err = {0};
        WT_CHECK(sessions(&q, &err, 1, &bad[i].kv) == -1);
        WT_CHECK(err.code == WT_EINVAL && strstr(err.msg, bad[i].name) != NULL);
    }
    char longname[300] = "workflow=";
    memset(longname + 9, 'w', 200);
    const char *kv[] = {longname};
    wt_console_sessions_query_t q;
    wt_err_t err = {0};
    WT_CHECK(sessions(&q, &err, 1, kv) == -1 && strstr(err.msg, "'workflow'") != NULL);
}

static void
test_ids(void)
{
    WT_CHECK(wt_console_query_id_ok("01JD8Z5K3Q9X7W2V4T6R8P0N1M"));
    WT_CHECK(!wt_console_query_id_ok(""));
    WT_CHECK(!wt_console_query_id_ok("a/b"));
    WT_CHECK(!wt_console_query_id_ok("a%20"));
    WT_CHECK(wt_console_query_stream_id_ok("1732950000000-0"));
    WT_CHECK(wt_console_query_stream_id_ok("1732950000000"));
    WT_CHECK(!wt_console_query_stream_id_ok("1-"));
    WT_CHECK(!wt_console_query_stream_id_ok("$"));
    WT_CHECK(!wt_console_query_stream_id_ok("1-2-3"));
    WT_CHECK(!wt_console_query_stream_id_ok("1\n-2"));
}

WT_TEST_MAIN(WT_TEST(test_cursor_round_trip), WT_TEST(test_cursor_rejects_garbage),
             WT_TEST(test_limit), WT_TEST(test_filters),
             WT_TEST(test_bad_filters_name_the_parameter), WT_TEST(test_ids))
