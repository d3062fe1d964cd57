/* wt_trig_alertmanager - Alertmanager v4 payloads and receiver auth. */
#include "wt_trig_alertmanager.h"

#include "wt_alloc.h"
#include "wt_webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
fingerprint_ok(const char *s)
{
    size_t n = strspn(s, "0123456789abcdefABCDEFghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ");
    return n == strlen(s) && n >= 1 && n <= 64;
}

void
wt_am_batch_release(wt_am_batch_t *b)
{
    for (size_t i = 0; b && i < b->n; i++) {
        free(b->v[i].starts_at);
        json_decref(b->v[i].root);
    }
    if (b) {
        free(b->v);
        memset(b, 0, sizeof *b);
    }
}

static int
bad(wt_am_batch_t *out, wt_err_t *err, const char *what)
{
    wt_am_batch_release(out);
    return wt_err_set(err, WT_EINVAL, "Alertmanager payload: %s", what);
}

int
wt_am_parse(const char *body, size_t len, wt_am_batch_t *out, wt_err_t *err)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *p = json_loadb(body, len, 0, &je);
    if (p == NULL)
        return wt_err_set(err, WT_EINVAL, "bad JSON: %s at line %d column %d (byte %d)", je.text,
                          je.line, je.column, je.position);
    int rc = -1;
    json_t *ver = json_object_get(p, "version"), *alerts = json_object_get(p, "alerts");
    if (!json_is_object(p)) {
        rc = bad(out, err, "the body is not a JSON object");
        goto done;
    }
    if (ver != NULL && !(json_is_string(ver) && strcmp(json_string_value(ver), "4") == 0)) {
        rc = bad(out, err, "'version' must be \"4\"");
        goto done;
    }
    if (!json_is_array(alerts)) {
        rc = bad(out, err, "no 'alerts' list");
        goto done;
    }
    if (json_array_size(alerts) > WT_AM_MAX_ALERTS) {
        rc = bad(out, err, "more than " WT_AM_MAX_ALERTS_S " alerts");
        goto done;
    }
    json_t *group = json_deep_copy(p);
    json_object_del(group, "alerts");
    out->v = wt_xcalloc(json_array_size(alerts) + 1, sizeof *out->v);
    for (size_t i = 0; i < json_array_size(alerts); i++) {
        json_t *a = json_array_get(alerts, i);
        json_t *labels = json_object_get(a, "labels"), *st = json_object_get(a, "status");
        json_t *fp = json_object_get(a, "fingerprint"), *sa = json_object_get(a, "startsAt");
        const char *why = NULL;
        if (!json_is_object(a))
            why = "alerts[%zu] is not an object";
        else if (!json_is_object(labels))
            why = "alerts[%zu] has no 'labels' object";
        else if (!json_is_string(st) || (strcmp(json_string_value(st), "firing") != 0 &&
                                         strcmp(json_string_value(st), "resolved") != 0))
            why = "alerts[%zu]: status must be \"firing\" or \"resolved\"";
        if (why != NULL) {
            char m[120];
            snprintf(m, sizeof m, why, i);
            json_decref(group);
            rc = bad(out, err, m);
            goto done;
        }
        wt_am_alert_t *x = &out->v[out->n++];
        x->firing = strcmp(json_string_value(st), "firing") == 0;
        x->starts_at = wt_xstrdup(json_is_string(sa) ? json_string_value(sa) : "");
        if (json_is_string(fp) && fingerprint_ok(json_string_value(fp))) {
            snprintf(x->key, sizeof x->key, "%s", json_string_value(fp));
        } else {
            char *ls = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
            char hx[65];
            wt_webhook_sha256_hex(ls ? ls : "", ls ? strlen(ls) : 0, hx);
            free(ls);
            snprintf(x->key, sizeof x->key, "l%s", hx);
        }
        x->root = json_copy(a);
        json_object_set(x->root, "$group", group);
    }
    json_decref(group);
    rc = 0;
done:
    json_decref(p);
    return rc;
}

static void
digest(const void *p, size_t n, unsigned char md[32])
{
    unsigned int len = 32;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
}

/* Constant time in the secret: both sides are hashed first, so neither the
 * length nor a common prefix of the secret shows in the time taken. */
static int
same(const void *got, size_t gn, const void *want, size_t wn)
{
    unsigned char a[32], b[32];
    digest(got, gn, a);
    digest(want, wn, b);
    return CRYPTO_memcmp(a, b, 32) == 0;
}

int
wt_am_auth_ok(const wt_trigger_t *t, const char *h)
{
    if (t->auth.bearer == NULL && t->auth.user == NULL)
        return 1;
    if (h == NULL)
        return 0;
    while (*h == ' ')
        h++;
    if (t->auth.bearer != NULL) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return 0;
        const char *tok = h + 7;
        while (*tok == ' ')
            tok++;
        return same(tok, strlen(tok), t->auth.bearer, strlen(t->auth.bearer));
    }
    if (strncasecmp(h, "Basic ", 6) != 0)
        return 0;
    const char *b64 = h + 6;
    while (*b64 == ' ')
        b64++;
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n > 4096)
        return 0;
    unsigned char *dec = wt_xmalloc(n / 4 * 3 + 1);
    int dn = EVP_DecodeBlock(dec, (const unsigned char *)b64, (int)n);
    if (dn < 0) {
        free(dec);
        return 0;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes: drop them */
    for (const char *e = b64 + n; e > b64 && e[-1] == '=' && dn > 0; e--)
        dn--;
    char *want = wt_xasprintf("%s:%s", t->auth.user, t->auth.password ? t->auth.password : "");
    int ok = same(dec, (size_t)dn, want, strlen(want));
    explicit_bzero(want, strlen(want));
    explicit_bzero(dec, (size_t)dn);
    free(want);
    free(dec);
    return ok;
}
