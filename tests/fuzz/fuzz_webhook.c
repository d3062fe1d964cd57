/* fuzz_webhook - a webhook body on its way to a session: the bytes are
 * checked against a signature, parsed as JSON (any failure must carry
 * jansson's reason), tested against dispatchCondition and rendered into a
 * goal and a context. Input: an optional first line "T:<template>" used as
 * an extra goalTemplate (checked, then rendered when well-formed), then the
 * body. Never crashes; a built goal is non-empty and bounded, a context is
 * a JSON object. */
#include "wt_alloc.h"
#include "wt_jpath.h"
#include "wt_trigger.h"
#include "wt_webhook.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char triggers_yml[] =
    "triggers:\n"
    "  - id: t\n"
    "    provider: generic\n"
    "    workflowId: w\n"
    "    goalTemplate: 'PR #{{$.number}} {{$.pull_request.title}} by {{ $.sender.login }} "
    "{{$.commits[0].id}}{{$.x[3][1].y}}'\n"
    "    contextMapping: {n: $.number, title: $.pull_request.title, all: $, c: '$.commits[1]'}\n"
    "    dispatchCondition:\n"
    "      - {path: $.action, notEquals: closed}\n"
    "      - {path: $.number, exists: true}\n"
    "    agentConfig: {modelTier: fast}\n"
    "  - id: g\n"
    "    provider: generic\n"
    "    workflowId: w\n"
    "    goal: fixed\n";

static wt_triggers_t *
triggers(void)
{
    static wt_triggers_t *t;
    if (t == NULL) {
        wt_diags_t d;
        wt_diags_init(&d);
        wt_trigger_opts_t o = {NULL, NULL};
        t = wt_triggers_load_buffer(triggers_yml, sizeof triggers_yml - 1, "fuzz.yml", &o, &d);
        if (t == NULL)
            wt_diags_print(&d, stderr);
        wt_diags_release(&d);
        wt_assert(t != NULL && t->n == 2);
    }
    return t;
}

static void
build(const wt_trigger_t *t, json_t *payload)
{
    char why[300];
    int ok = wt_webhook_condition(t, payload, why, sizeof why);
    wt_assert(ok == 0 || ok == 1);
    char *goal = NULL, *ctx = NULL;
    wt_err_t err = {0};
    if (wt_webhook_build(t, payload, &goal, &ctx, &err) != 0) {
        wt_assert(err.msg[0] != '\0' && goal == NULL && ctx == NULL);
        return;
    }
    wt_assert(goal[0] != '\0' && strlen(goal) <= WT_WEBHOOK_MAX_GOAL);
    json_t *c = json_loads(ctx, 0, NULL);
    wt_assert(json_is_object(c));
    json_decref(c);
    free(goal);
    free(ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const wt_triggers_t *ts = triggers();
    const char *body = (const char *)data;
    size_t len = size;
    char *tmpl = NULL;
    if (size >= 2 && data[0] == 'T' && data[1] == ':') {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t tl = nl ? (size_t)(nl - data) : size;
        tmpl = wt_xstrndup((const char *)data + 2, tl - 2);
        body = nl ? (const char *)nl + 1 : body + size;
        len = nl ? size - tl - 1 : 0;
    }
    char sig[65];
    wt_webhook_sign("k", body, len, sig);
    wt_assert(wt_webhook_verify("k", body, len, sig) == 1);
    wt_assert(wt_webhook_verify("other", body, len, sig) == 0);
    json_error_t je;
    json_t *payload = json_loadb(body, len, JSON_DECODE_ANY, &je);
    if (payload == NULL) {
        wt_assert(je.text[0] != '\0');
        payload = json_object(); /* an empty body is {} */
    }
    for (size_t i = 0; i < ts->n; i++)
        build(&ts->v[i], payload);
    if (tmpl != NULL) {
        char why[300];
        size_t off = 0;
        if (wt_jpath_template_check(tmpl, why, sizeof why, &off) == 0) {
            wt_err_t err = {0};
            char *g = wt_jpath_render(tmpl, payload, 4096, &err);
            wt_assert(g != NULL || err.code == WT_ELIMIT);
            wt_assert(g == NULL || strlen(g) <= 4096);
            free(g);
        } else {
            wt_assert(why[0] != '\0' && off <= strlen(tmpl));
        }
        free(tmpl);
    }
    json_decref(payload);
    return 0;
}
