/* fuzz_alert - outside input of the alert intake providers (DESIGN.md
 * section 18): an Alertmanager v4 body, a PagerDuty V3 body with its
 * X-PagerDuty-Signature, an Authorization header, and a Redis stream entry.
 * Input: a first line used as the header (Authorization, signature, and the
 * entry's flat field), the rest as the body (and the entry's `payload`).
 * Never crashes; failures carry a reason; a valid signature prepended to
 * any header verifies; alert keys are usable Redis key parts. */
#include "wt_alloc.h"
#include "wt_jpath.h"
#include "wt_trig_alertmanager.h"
#include "wt_trig_pagerduty.h"
#include "wt_trig_stream.h"
#include "wt_trigger.h"
#include "wt_webhook.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char triggers_yml[] =
    "triggers:\n"
    "  - id: am\n"
    "    provider: alertmanager\n"
    "    workflowId: w\n"
    "    goalTemplate: '{{$.labels.alertname}} {{$.annotations.summary}} {{$.startsAt}} "
    "{{$group.commonLabels.team}} {{$group.alerts[0]}}'\n"
    "    contextMapping: {l: $.labels, g: $group.groupKey}\n"
    "    auth: {bearer: tok}\n"
    "  - id: basic\n"
    "    provider: alertmanager\n"
    "    workflowId: w\n"
    "    goal: fixed\n"
    "    auth: {basic: {user: u, password: p}}\n"
    "  - id: pd\n"
    "    provider: pagerduty\n"
    "    workflowId: w\n"
    "    goalTemplate: '{{$.event.data.title}}'\n"
    "    hmacSecret: one\n"
    "    hmacSecrets: [two]\n";

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
        wt_assert(t != NULL && t->n == 3);
    }
    return t;
}

static void
build(const wt_trigger_t *t, json_t *root)
{
    char *goal = NULL, *ctx = NULL;
    wt_err_t err = {0};
    if (wt_webhook_build(t, root, &goal, &ctx, &err) != 0) {
        wt_assert(err.msg[0] != '\0' && goal == NULL && ctx == NULL);
        return;
    }
    wt_assert(goal[0] != '\0' && strlen(goal) <= WT_WEBHOOK_MAX_GOAL);
    free(goal);
    free(ctx);
}

static void
stream_entry(const char *hdr, size_t hl, const char *body, size_t len)
{
    redisReply k1 = {.type = REDIS_REPLY_STRING, .str = (char *)"payload", .len = 7};
    redisReply v1 = {.type = REDIS_REPLY_STRING, .str = (char *)body, .len = len};
    redisReply k2 = {.type = REDIS_REPLY_STRING, .str = (char *)"h", .len = 1};
    redisReply v2 = {.type = REDIS_REPLY_STRING, .str = (char *)hdr, .len = hl};
    redisReply *with[] = {&k1, &v1}, *flat[] = {&k2, &v2};
    redisReply a = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = with};
    redisReply b = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = flat};
    char why[400];
    why[0] = '\0';
    json_t *r = wt_trig_stream_root(&a, why, sizeof why);
    wt_assert(r != NULL || why[0] != '\0');
    json_decref(r);
    why[0] = '\0';
    r = wt_trig_stream_root(&b, why, sizeof why);
    wt_assert(r != NULL || why[0] != '\0');
    if (r != NULL)
        build(&triggers()->v[0], r);
    json_decref(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const wt_triggers_t *ts = triggers();
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : 0;
    char *hdr = wt_xstrndup((const char *)data, hl);
    const char *body = (const char *)data + (nl ? hl + 1 : 0);
    size_t len = size - (nl ? hl + 1 : 0);

    int a = wt_am_auth_ok(&ts->v[0], hdr), b = wt_am_auth_ok(&ts->v[1], hdr);
    wt_assert((a == 0 || a == 1) && (b == 0 || b == 1));
    wt_assert(wt_am_auth_ok(&ts->v[0], "Bearer tok") && wt_am_auth_ok(&ts->v[1], "Basic dTpw"));

    wt_am_batch_t batch;
    wt_err_t err = {0};
    if (wt_am_parse(body, len, &batch, &err) == 0) {
        for (size_t i = 0; i < batch.n; i++) {
            const char *k = batch.v[i].key;
            wt_assert(k[0] != '\0' && strlen(k) <= 65 && strcspn(k, " :*?[]{}\r\n") == strlen(k));
            wt_assert(json_object_get(batch.v[i].root, "$group") != NULL);
            build(&ts->v[0], batch.v[i].root);
        }
        wt_am_batch_release(&batch);
    } else {
        wt_assert(err.msg[0] != '\0' && batch.n == 0);
    }

    char sig[65];
    wt_webhook_sign("two", body, len, sig);
    char *good = wt_xasprintf("%.200s,v1=%s", hdr, sig);
    wt_assert(wt_pd_verify(&ts->v[2], body, len, good) == 1 || strchr(hdr, ',') != NULL ||
              strlen(hdr) > 200);
    int v = wt_pd_verify(&ts->v[2], body, len, hdr);
    wt_assert(v == 0 || v == 1);
    free(good);
    wt_pd_event_t ev;
    err = (wt_err_t){0};
    if (wt_pd_parse(body, len, &ev, &err) == 0) {
        wt_assert(ev.root != NULL && ev.type[0] != '\0');
        build(&ts->v[2], ev.root);
        wt_pd_event_release(&ev);
    } else {
        wt_assert(err.msg[0] != '\0');
    }
    stream_entry(hdr, strlen(hdr), body, len); /* hdr ends at a NUL in the input */
    free(hdr);
    return 0;
}
