/* Unit tests of wt_webhook and wt_jpath: HMAC check (both header forms,
 * constant-time compare path, malformed headers), JSON paths, goalTemplate
 * rendering, contextMapping, dispatchCondition. */
#include "wt_jpath.h"
#include "wt_proto.h"
#include "wt_test.h"
#include "wt_trigger.h"
#include "wt_webhook.h"

#include <stdlib.h>
#include <string.h>

static void
test_hmac(void)
{
    /* RFC 4231 test case 2 */
    char hex[65];
    wt_webhook_sign("Jefe", "what do ya want for nothing?", 28, hex);
    WT_CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    const char *body = "what do ya want for nothing?";
    WT_CHECK(wt_webhook_verify("Jefe", body, 28, hex));
    WT_CHECK(wt_webhook_verify(
        "Jefe", body, 28,
        "sha256=5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"));
    WT_CHECK(!wt_webhook_verify("jefe", body, 28, hex));
    WT_CHECK(!wt_webhook_verify("Jefe", body, 27, hex));
    WT_CHECK(!wt_webhook_verify("Jefe", body, 28, NULL));
    WT_CHECK(!wt_webhook_verify("Jefe", body, 28, ""));
    WT_CHECK(!wt_webhook_verify("Jefe", body, 28, "sha256="));
    WT_CHECK(!wt_webhook_verify("Jefe", body, 28, "sha1=5bdcc146bf60754e6a04"));
    char bad[80];
    snprintf(bad, sizeof bad, "%.63sz", hex);
    WT_CHECK(!wt_webhook_verify("Jefe", body, 28, bad));
    WT_CHECK(!wt_webhook_verify(NULL, body, 28, hex));
    /* an empty key is public: a signature made with it proves nothing */
    wt_webhook_sign("", body, 28, hex);
    WT_CHECK(!wt_webhook_verify("", body, 28, hex));
    wt_webhook_sha256_hex("abc", 3, hex);
    WT_CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_jpath(void)
{
    json_t *j =
        json_loads("{\"a\":{\"b\":[1,{\"c\":\"x\"}],\"n\":null,\"t\":true},\"k.e\":2}", 0, NULL);
    char why[200];
    WT_CHECK(wt_jpath_check("$", why, sizeof why) == 0);
    WT_CHECK(wt_jpath_check("$.a.b[1].c", why, sizeof why) == 0);
    WT_CHECK(wt_jpath_check("a.b", why, sizeof why) == -1 && strstr(why, "start with '$'"));
    WT_CHECK(wt_jpath_check("$.a..b", why, sizeof why) == -1 && strstr(why, "empty name"));
    WT_CHECK(wt_jpath_check("$.a[x]", why, sizeof why) == -1);
    WT_CHECK(wt_jpath_check("$.a[1", why, sizeof why) == -1);
    WT_CHECK(wt_jpath_check("$1", why, sizeof why) == -1);
    WT_CHECK(wt_jpath_check("$-x", why, sizeof why) == -1);
    /* $NAME starts at the root's key "$NAME" (side data, e.g. Alertmanager's $group) */
    WT_CHECK(wt_jpath_check("$group.commonLabels.team", why, sizeof why) == 0);
    json_t *g = json_loads("{\"labels\":{\"a\":\"1\"},\"$group\":{\"commonLabels\":{\"team\":"
                           "\"db\"}}}",
                           0, NULL);
    WT_CHECK_STR(json_string_value(wt_jpath_get(g, "$group.commonLabels.team")), "db");
    WT_CHECK(wt_jpath_get(g, "$other.commonLabels") == NULL);
    WT_CHECK(wt_jpath_get(j, "$group") == NULL);
    json_decref(g);
    WT_CHECK(json_integer_value(wt_jpath_get(j, "$.a.b[0]")) == 1);
    WT_CHECK_STR(json_string_value(wt_jpath_get(j, "$.a.b[1].c")), "x");
    WT_CHECK(wt_jpath_get(j, "$.a.b[2]") == NULL);
    WT_CHECK(wt_jpath_get(j, "$.a.b.c") == NULL);
    WT_CHECK(wt_jpath_get(j, "$.zz") == NULL);
    WT_CHECK(wt_jpath_get(j, "$") == j);
    char *s = wt_jpath_text(wt_jpath_get(j, "$.a.t"));
    WT_CHECK_STR(s, "true");
    free(s);
    s = wt_jpath_text(wt_jpath_get(j, "$.a.b"));
    WT_CHECK_STR(s, "[1,{\"c\":\"x\"}]");
    free(s);
    json_decref(j);
}

static void
test_render(void)
{
    json_t *j = json_loads("{\"pr\":{\"title\":\"Fix it\",\"number\":42,\"user\":{\"login\":"
                           "\"ann\"}}}",
                           0, NULL);
    wt_err_t err = {0};
    char *g = wt_jpath_render("Review PR #{{$.pr.number}}: {{ $.pr.title }} by {{$.pr.user.login}}"
                              "{{$.missing}}.",
                              j, 1000, &err);
    WT_CHECK_STR(g, "Review PR #42: Fix it by ann.");
    free(g);
    g = wt_jpath_render("no placeholders", j, 1000, &err);
    WT_CHECK_STR(g, "no placeholders");
    free(g);
    WT_CHECK(wt_jpath_render("{{$.pr.title}}{{$.pr.title}}", j, 10, &err) == NULL);
    WT_CHECK(err.code == WT_ELIMIT);
    char why[200];
    size_t off = 0;
    WT_CHECK(wt_jpath_template_check("a {{$.x}} b {{ y }}", why, sizeof why, &off) == -1);
    WT_CHECK(off == 12 && strstr(why, "must start with '$'"));
    WT_CHECK(wt_jpath_template_check("a {{$.x", why, sizeof why, &off) == -1 && off == 2);
    WT_CHECK(wt_jpath_template_check("plain {single} braces", why, sizeof why, &off) == 0);
    json_decref(j);
}

static wt_triggers_t *
load(const char *y)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_trigger_opts_t o = {NULL, NULL};
    wt_triggers_t *t = wt_triggers_load_buffer(y, strlen(y), "t.yml", &o, &d);
    if (t == NULL)
        wt_diags_print(&d, stderr);
    wt_diags_release(&d);
    return t;
}

static void
test_build_and_conditions(void)
{
    wt_triggers_t *ts = load("triggers:\n"
                             "  - id: a\n"
                             "    provider: generic\n"
                             "    workflowId: w\n"
                             "    goalTemplate: 'triage {{$.alert.name}}'\n"
                             "    contextMapping: {sev: $.alert.severity, host: $.alert.host,\n"
                             "                     tags: $.alert.tags}\n"
                             "    agentConfig: {modelTier: fast, maxTurns: 5}\n"
                             "    dispatchCondition:\n"
                             "      - {path: $.status, equals: firing}\n"
                             "      - {path: $.alert.severity, in: [1, 2]}\n"
                             "      - {path: $.silenced, exists: false}\n"
                             "  - id: b\n"
                             "    provider: generic\n"
                             "    workflowId: w\n"
                             "    goal: fixed goal\n"
                             "    dispatchCondition: {path: $.action, notEquals: closed}\n");
    WT_CHECK(ts != NULL);
    if (ts == NULL)
        return;
    const wt_trigger_t *a = &ts->v[0], *b = &ts->v[1];
    json_t *p =
        json_loads("{\"status\":\"firing\",\"alert\":{\"name\":\"disk full\",\"severity\":2,"
                   "\"tags\":[\"x\"]}}",
                   0, NULL);
    char why[200];
    WT_CHECK(wt_webhook_condition(a, p, why, sizeof why) == 1);
    char *goal, *ctx;
    wt_err_t err = {0};
    WT_CHECK(wt_webhook_build(a, p, &goal, &ctx, &err) == 0);
    WT_CHECK_STR(goal, "triage disk full");
    WT_CHECK_STR(ctx, "{\"sev\":2,\"tags\":[\"x\"],\"agentConfig\":{\"modelTier\":\"fast\"}}");
    free(goal);
    free(ctx);
    json_object_set_new(json_object_get(p, "alert"), "severity", json_integer(3));
    WT_CHECK(wt_webhook_condition(a, p, why, sizeof why) == 0);
    WT_CHECK(strstr(why, "$.alert.severity") != NULL);
    json_object_set_new(json_object_get(p, "alert"), "severity", json_string("1"));
    WT_CHECK(wt_webhook_condition(a, p, why, sizeof why) == 1);
    json_object_set_new(p, "silenced", json_true());
    WT_CHECK(wt_webhook_condition(a, p, why, sizeof why) == 0);
    json_decref(p);
    /* a template that renders to nothing is refused */
    p = json_loads("{}", 0, NULL);
    WT_CHECK(wt_webhook_build(a, p, &goal, &ctx, &err) == 0); /* "triage " is not blank */
    free(goal);
    free(ctx);
    /* fixed goal; the payload's own "goal" wins (WorkRail's generic webhook) */
    WT_CHECK(wt_webhook_condition(b, p, why, sizeof why) == 1);
    WT_CHECK(wt_webhook_build(b, p, &goal, &ctx, &err) == 0);
    WT_CHECK_STR(goal, "fixed goal");
    WT_CHECK_STR(ctx, "{}");
    free(goal);
    free(ctx);
    json_decref(p);
    p = json_loads("{\"goal\":\"Review PR #7\",\"action\":\"closed\"}", 0, NULL);
    WT_CHECK(wt_webhook_condition(b, p, why, sizeof why) == 0);
    WT_CHECK(wt_webhook_build(b, p, &goal, &ctx, &err) == 0);
    WT_CHECK_STR(goal, "Review PR #7");
    free(goal);
    free(ctx);
    json_decref(p);
    p = json_loads("{\"goal\":\"   \"}", 0, NULL);
    WT_CHECK(wt_webhook_build(b, p, &goal, &ctx, &err) == -1 && err.code == WT_EINVAL);
    json_decref(p);
    wt_triggers_destroy(&ts);
}

/* A context larger than one SPAWN string field can carry would be refused by
 * every SPAWN (a serial trigger's queue would be stuck behind it, a webhook
 * retried for ever on 503): the build refuses it with WT_ELIMIT. */
static void
test_context_too_big(void)
{
    wt_triggers_t *ts = load("triggers:\n"
                             "  - id: a\n"
                             "    provider: generic\n"
                             "    workflowId: w\n"
                             "    goal: g\n"
                             "    contextMapping: {all: $}\n");
    WT_CHECK(ts != NULL);
    if (ts == NULL)
        return;
    size_t n = WT_PROTO_MAX_STR + 10;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    json_t *p = json_pack("{s:s}", "text", big);
    free(big);
    char *goal = NULL, *ctx = NULL;
    wt_err_t err = {0};
    WT_CHECK(wt_webhook_build(&ts->v[0], p, &goal, &ctx, &err) == -1 && err.code == WT_ELIMIT);
    WT_CHECK(goal == NULL && ctx == NULL && strstr(err.msg, "context") != NULL);
    free(goal);
    free(ctx);
    json_decref(p);
    p = json_pack("{s:s}", "text", "small");
    WT_CHECK(wt_webhook_build(&ts->v[0], p, &goal, &ctx, &err) == 0);
    WT_CHECK_STR(ctx, "{\"all\":{\"text\":\"small\"}}");
    free(goal);
    free(ctx);
    json_decref(p);
    wt_triggers_destroy(&ts);
}

WT_TEST_MAIN(WT_TEST(test_hmac), WT_TEST(test_context_too_big), WT_TEST(test_jpath),
             WT_TEST(test_render), WT_TEST(test_build_and_conditions))
