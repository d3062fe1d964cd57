/* wt_webhook - signature check (OpenSSL HMAC, CRYPTO_memcmp), conditions and
 * goal/context rendering for webhook payloads. */
#include "wt_webhook.h"

#include "wt_alloc.h"
#include "wt_jpath.h"
#include "wt_proto.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void
hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void
hmac(const char *secret, const void *body, size_t len, unsigned char mac[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &n);
}

void
wt_webhook_sign(const char *secret, const void *body, size_t len, char out[65])
{
    unsigned char mac[32];
    hmac(secret, body, len, mac);
    hex(mac, 32, out);
}

void
wt_webhook_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 32;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hex(md, 32, out);
}

static int
unhex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
wt_webhook_verify(const char *secret, const void *body, size_t len, const char *header)
{
    if (secret == NULL || secret[0] == '\0' || header == NULL)
        return 0; /* an empty key is public: nothing it signs is trusted */
    while (*header == ' ')
        header++;
    if (strncasecmp(header, "sha256=", 7) == 0)
        header += 7;
    size_t n = strlen(header);
    while (n > 0 && isspace((unsigned char)header[n - 1]))
        n--;
    if (n != 64)
        return 0;
    unsigned char got[32];
    for (size_t i = 0; i < 32; i++) {
        int hi = unhex((unsigned char)header[2 * i]), lo = unhex((unsigned char)header[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        got[i] = (unsigned char)(hi << 4 | lo);
    }
    unsigned char want[32];
    hmac(secret, body, len, want);
    return CRYPTO_memcmp(got, want, 32) == 0;
}

int
wt_webhook_condition(const wt_trigger_t *t, json_t *payload, char *why, size_t cap)
{
    for (size_t i = 0; i < t->nconds; i++) {
        const wt_trigger_cond_t *c = &t->conds[i];
        json_t *v = wt_jpath_get(payload, c->path);
        int present = v != NULL && !json_is_null(v), ok = 0;
        char *text = wt_jpath_text(v);
        switch (c->op) {
        case WT_TRIGGER_COND_EQUALS:
            ok = present && strcmp(text, c->value) == 0;
            break;
        case WT_TRIGGER_COND_NOT_EQUALS:
            ok = !present || strcmp(text, c->value) != 0;
            break;
        case WT_TRIGGER_COND_IN:
            for (size_t k = 0; present && k < c->values.n && !ok; k++)
                ok = strcmp(text, c->values.v[k]) == 0;
            break;
        case WT_TRIGGER_COND_EXISTS:
            ok = present;
            break;
        case WT_TRIGGER_COND_ABSENT:
            ok = !present;
            break;
        }
        free(text);
        if (!ok) {
            if (why)
                snprintf(why, cap, "dispatchCondition on %s not met", c->path);
            return 0;
        }
    }
    return 1;
}

static int
blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

int
wt_webhook_build(const wt_trigger_t *t, json_t *payload, char **goal, char **context_json,
                 wt_err_t *err)
{
    *goal = NULL;
    *context_json = NULL;
    char *g = NULL;
    if (t->goal_template) {
        g = wt_jpath_render(t->goal_template, payload, WT_WEBHOOK_MAX_GOAL, err);
        if (g == NULL)
            return wt_err_set(err, WT_ELIMIT, "goalTemplate renders more than %d bytes",
                              WT_WEBHOOK_MAX_GOAL);
    } else {
        json_t *pg = json_is_object(payload) ? json_object_get(payload, "goal") : NULL;
        if (json_is_string(pg)) {
            if (json_string_length(pg) > WT_WEBHOOK_MAX_GOAL)
                return wt_err_set(err, WT_ELIMIT, "payload goal is longer than %d bytes",
                                  WT_WEBHOOK_MAX_GOAL);
            g = wt_xstrndup(json_string_value(pg), json_string_length(pg));
        } else {
            g = wt_xstrdup(t->goal ? t->goal : "");
        }
    }
    if (blank(g)) {
        free(g);
        return wt_err_set(err, WT_EINVAL, "the goal is empty for this payload");
    }
    json_t *ctx = json_object();
    for (size_t i = 0; i < t->ncontext; i++) {
        json_t *v = wt_jpath_get(payload, t->context[i].path);
        if (v != NULL)
            json_object_set(ctx, t->context[i].var, v);
    }
    if (t->agent.model || t->agent.model_tier || t->agent.stall_timeout_seconds) {
        json_t *a = json_object();
        if (t->agent.model)
            json_object_set_new(a, "model", json_string(t->agent.model));
        if (t->agent.model_tier)
            json_object_set_new(a, "modelTier", json_string(t->agent.model_tier));
        if (t->agent.stall_timeout_seconds)
            json_object_set_new(a, "stallTimeoutSeconds",
                                json_integer(t->agent.stall_timeout_seconds));
        json_object_set_new(ctx, "agentConfig", a);
    }
    char *cj = json_dumps(ctx, JSON_COMPACT);
    json_decref(ctx);
    if (cj == NULL) {
        free(g);
        return wt_err_set(err, WT_EINVAL, "cannot encode the session context");
    }
    size_t cjn = strlen(cj);
    if (cjn > WT_PROTO_MAX_STR) { /* no SPAWN could carry it: refuse now, never retry */
        free(cj);
        free(g);
        return wt_err_set(err, WT_ELIMIT,
                          "the session context is %zu bytes, more than the %d a SPAWN carries "
                          "(contextMapping copies too much of the payload)",
                          cjn, WT_PROTO_MAX_STR);
    }
    *context_json = wt_xstrdup(cj);
    free(cj);
    *goal = g;
    return 0;
}
