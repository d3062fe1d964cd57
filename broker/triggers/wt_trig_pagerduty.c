/* wt_trig_pagerduty - PagerDuty V3 webhook signatures and events. */
#include "wt_trig_pagerduty.h"

#include "wt_webhook.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int
wt_pd_signed(const wt_trigger_t *t)
{
    return t->hmac_secret != NULL || t->hmac_secrets.n > 0;
}

static int
matches_any(const wt_trigger_t *t, const void *body, size_t len, const char *hexsig)
{
    int ok = 0;
    /* every secret is tried, so the time taken does not say which matched */
    if (t->hmac_secret)
        ok |= wt_webhook_verify(t->hmac_secret, body, len, hexsig);
    for (size_t i = 0; i < t->hmac_secrets.n; i++)
        ok |= wt_webhook_verify(t->hmac_secrets.v[i], body, len, hexsig);
    return ok;
}

int
wt_pd_verify(const wt_trigger_t *t, const void *body, size_t len, const char *header)
{
    if (header == NULL || !wt_pd_signed(t))
        return 0;
    int ok = 0, seen = 0;
    for (const char *p = header; *p && seen < WT_PD_MAX_SIGS;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0)
            break;
        seen++;
        if (n == 3 + 64 && strncasecmp(p, "v1=", 3) == 0) {
            char hexsig[65];
            memcpy(hexsig, p + 3, 64);
            hexsig[64] = '\0';
            ok |= matches_any(t, body, len, hexsig);
        }
        p += strcspn(p, ",");
    }
    return ok;
}

void
wt_pd_event_release(wt_pd_event_t *ev)
{
    if (ev) {
        json_decref(ev->root);
        ev->root = NULL;
    }
}

static int
id_ok(const char *s)
{
    size_t n = strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    return n == strlen(s) && n >= 1 && n <= 64;
}

int
wt_pd_parse(const char *body, size_t len, wt_pd_event_t *ev, wt_err_t *err)
{
    memset(ev, 0, sizeof *ev);
    json_error_t je;
    json_t *p = json_loadb(body, len, 0, &je);
    if (p == NULL)
        return wt_err_set(err, WT_EINVAL, "bad JSON: %s at line %d column %d (byte %d)", je.text,
                          je.line, je.column, je.position);
    json_t *e = json_object_get(p, "event");
    json_t *type = json_object_get(e, "event_type");
    json_t *id = json_object_get(json_object_get(e, "data"), "id");
    const char *why = NULL;
    if (!json_is_object(e))
        why = "no 'event' object";
    else if (!json_is_string(type) || json_string_length(type) == 0 ||
             json_string_length(type) >= sizeof ev->type)
        why = "event.event_type is not a string of 1-63 characters";
    else if (strncmp(json_string_value(type), "incident.", 9) == 0 && !json_is_string(id))
        why = "an incident event without a string event.data.id";
    if (why != NULL) {
        json_decref(p);
        return wt_err_set(err, WT_EINVAL, "PagerDuty payload: %s", why);
    }
    snprintf(ev->type, sizeof ev->type, "%s", json_string_value(type));
    if (json_is_string(id) && id_ok(json_string_value(id))) {
        snprintf(ev->incident, sizeof ev->incident, "%s", json_string_value(id));
    } else if (json_is_string(id)) {
        char hx[65];
        wt_webhook_sha256_hex(json_string_value(id), json_string_length(id), hx);
        snprintf(ev->incident, sizeof ev->incident, "h%s", hx);
    }
    ev->root = p;
    return 0;
}
