/* wt_jpath - JSON paths and {{...}} templates over webhook payloads. */
#include "wt_jpath.h"

#include "wt_alloc.h"
#include "wt_buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Walks path; with root NULL only checks syntax. Returns 0 and sets *out. */
static int
walk(const char *path, json_t *root, json_t **out, char *why, size_t cap)
{
    const char *p = path;
    *out = NULL;
    if (*p != '$') {
        if (why)
            snprintf(why, cap, "JSON path '%s' must start with '$'", path);
        return -1;
    }
    p++;
    json_t *cur = root;
    if (isalpha((unsigned char)*p)) {
        /* $NAME: the root's key "$NAME" (side data a caller put there) */
        size_t n = 1 + strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
        if (cur != NULL) {
            char *name = wt_xstrndup(p - 1, n);
            cur = json_is_object(cur) ? json_object_get(cur, name) : NULL;
            free(name);
        }
        p += n - 1;
    }
    int steps = 0;
    while (*p) {
        if (++steps > WT_JPATH_MAX_STEPS) {
            if (why)
                snprintf(why, cap, "JSON path '%s' has more than %d steps", path,
                         WT_JPATH_MAX_STEPS);
            return -1;
        }
        if (*p == '.') {
            p++;
            size_t n = strcspn(p, ".[");
            if (n == 0) {
                if (why)
                    snprintf(why, cap, "JSON path '%s' has an empty name after '.'", path);
                return -1;
            }
            if (cur != NULL) {
                char *name = wt_xstrndup(p, n);
                cur = json_is_object(cur) ? json_object_get(cur, name) : NULL;
                free(name);
            }
            p += n;
        } else if (*p == '[') {
            p++;
            if (!isdigit((unsigned char)*p)) {
                if (why)
                    snprintf(why, cap, "JSON path '%s': expected an index after '['", path);
                return -1;
            }
            size_t idx = 0;
            while (isdigit((unsigned char)*p)) {
                if (idx > 100000000) {
                    if (why)
                        snprintf(why, cap, "JSON path '%s': index too large", path);
                    return -1;
                }
                idx = idx * 10 + (size_t)(*p++ - '0');
            }
            if (*p != ']') {
                if (why)
                    snprintf(why, cap, "JSON path '%s': expected ']'", path);
                return -1;
            }
            p++;
            if (cur != NULL)
                cur = json_is_array(cur) ? json_array_get(cur, idx) : NULL;
        } else {
            if (why)
                snprintf(why, cap, "JSON path '%s': expected '.' or '[' at '%s'", path, p);
            return -1;
        }
    }
    *out = cur;
    return 0;
}

int
wt_jpath_check(const char *path, char *why, size_t cap)
{
    json_t *v;
    return walk(path, NULL, &v, why, cap);
}

json_t *
wt_jpath_get(json_t *root, const char *path)
{
    json_t *v = NULL;
    if (root == NULL || walk(path, root, &v, NULL, 0) != 0)
        return NULL;
    return v;
}

/* Finds the next placeholder at or after p: *open at "{{", *inner and *ilen the
 * trimmed text inside, returns the char after "}}"; NULL when none. Sets
 * *unclosed when "{{" has no "}}". */
static const char *
next_placeholder(const char *p, const char **open, const char **inner, size_t *ilen, int *unclosed)
{
    *unclosed = 0;
    const char *o = strstr(p, "{{");
    if (o == NULL)
        return NULL;
    const char *c = strstr(o + 2, "}}");
    *open = o;
    if (c == NULL) {
        *unclosed = 1;
        return NULL;
    }
    const char *s = o + 2, *e = c;
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    *inner = s;
    *ilen = (size_t)(e - s);
    return c + 2;
}

int
wt_jpath_template_check(const char *tmpl, char *why, size_t cap, size_t *offset)
{
    const char *p = tmpl, *open, *inner;
    size_t ilen;
    int unclosed;
    while ((p = next_placeholder(p, &open, &inner, &ilen, &unclosed)) != NULL) {
        char *path = wt_xstrndup(inner, ilen);
        char sub[200];
        int rc = wt_jpath_check(path, sub, sizeof sub);
        free(path);
        if (rc != 0) {
            if (offset)
                *offset = (size_t)(open - tmpl);
            snprintf(why, cap, "bad placeholder: %s", sub);
            return -1;
        }
    }
    if (unclosed) {
        if (offset)
            *offset = (size_t)(open - tmpl);
        snprintf(why, cap, "'{{' without a closing '}}'");
        return -1;
    }
    return 0;
}

char *
wt_jpath_text(const json_t *v)
{
    if (v == NULL || json_is_null(v))
        return wt_xstrdup("");
    if (json_is_string(v))
        return wt_xstrndup(json_string_value(v), json_string_length(v));
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL)
        return wt_xstrdup("");
    char *r = wt_xstrdup(s);
    free(s);
    return r;
}

char *
wt_jpath_render(const char *tmpl, json_t *root, size_t max_bytes, wt_err_t *err)
{
    wt_buf_t b;
    wt_buf_init(&b, max_bytes);
    const char *p = tmpl, *open, *inner, *next;
    size_t ilen;
    int unclosed;
    while ((next = next_placeholder(p, &open, &inner, &ilen, &unclosed)) != NULL) {
        if (wt_buf_append(&b, p, (size_t)(open - p), err) != 0)
            goto fail;
        char *path = wt_xstrndup(inner, ilen);
        char *text = wt_jpath_text(wt_jpath_get(root, path));
        free(path);
        int rc = wt_buf_puts(&b, text, err);
        free(text);
        if (rc != 0)
            goto fail;
        p = next;
    }
    if (wt_buf_puts(&b, p, err) != 0)
        goto fail;
    return wt_buf_detach(&b);
fail:
    wt_buf_release(&b);
    return NULL;
}
