/* wt_condition - runCondition checks and evaluation with WorkRail v3.37.1's
 * rules (its condition evaluator, read for the rules):
 *
 * - a condition with "var" uses the first operator present in the order
 *   equals, not_equals, gt, gte, lt, lte, contains, startsWith, endsWith,
 *   matches, in; "var" alone tests the value's truthiness; without "var",
 *   "and" wins over "or", which wins over "not";
 * - equals / not_equals / in compare leniently: strings trimmed and
 *   case-insensitive, a numeric string equals its number, "true"/"1"/"yes"
 *   and "false"/"0"/"no" equal the booleans, null equals a missing variable;
 *   objects and arrays never equal anything;
 * - gt / gte / lt / lte hold only for a number variable;
 * - contains / startsWith / endsWith compare the value's text form trimmed
 *   and case-insensitive; matches is a case-insensitive regular expression
 *   (POSIX extended here, JavaScript in WorkRail) over the trimmed text.
 *
 * Variables are looked up by name; a dotted name with no such key is also
 * tried as a path ("review.verdict"), a WorkTrain addition. */
#include "wt_condition.h"

#include "wt_alloc.h"
#include "wt_buf.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* In WorkRail's precedence order. */
static const char *const ops[] = {"equals",   "not_equals", "gt",       "gte",     "lt", "lte",
                                  "contains", "startsWith", "endsWith", "matches", "in"};
#define NOPS (sizeof ops / sizeof ops[0])

static int
op_index(const char *key)
{
    for (size_t i = 0; i < NOPS; i++)
        if (strcmp(key, ops[i]) == 0)
            return (int)i;
    return -1;
}

int
wt_condition_check(json_t *cond, const char *path, wt_err_t *err)
{
    if (!json_is_object(cond))
        return wt_err_set(err, WT_EINVAL, "%s: expected a condition object", path);
    const char *key;
    json_t *v;
    int nops = 0, has_var = 0;
    json_object_foreach(cond, key, v)
    {
        char sub[512];
        if (strcmp(key, "var") == 0) {
            if (!json_is_string(v))
                return wt_err_set(err, WT_EINVAL, "%s.var: expected a string", path);
            has_var = 1;
        } else if (strcmp(key, "and") == 0 || strcmp(key, "or") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0)
                return wt_err_set(err, WT_EINVAL, "%s.%s: expected a non-empty array", path, key);
            size_t i;
            json_t *c;
            json_array_foreach(v, i, c)
            {
                snprintf(sub, sizeof sub, "%s.%s[%zu]", path, key, i);
                if (wt_condition_check(c, sub, err) != 0)
                    return -1;
            }
        } else if (strcmp(key, "not") == 0) {
            snprintf(sub, sizeof sub, "%s.not", path);
            if (wt_condition_check(v, sub, err) != 0)
                return -1;
        } else {
            int i = op_index(key);
            if (i < 0)
                return wt_err_set(err, WT_EINVAL,
                                  "%s: unknown operator '%s' (use var with equals, not_equals, gt, "
                                  "gte, lt, lte, contains, startsWith, endsWith, matches, in, or "
                                  "and/or/not)",
                                  path, key);
            if (i >= 2 && i <= 5 && !json_is_number(v))
                return wt_err_set(err, WT_EINVAL, "%s.%s: expected a number", path, key);
            if (i == 10 && !json_is_array(v))
                return wt_err_set(err, WT_EINVAL, "%s.in: expected an array", path);
            if (i == 9) {
                regex_t re;
                if (!json_is_string(v) ||
                    regcomp(&re, json_string_value(v), REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
                    return wt_err_set(err, WT_EINVAL, "%s.matches: expected a regular expression",
                                      path);
                regfree(&re);
            }
            nops++;
        }
    }
    if (nops && !has_var)
        return wt_err_set(err, WT_EINVAL, "%s: an operator needs 'var'", path);
    return 0;
}

json_t *
wt_condition_lookup(json_t *context, const char *name)
{
    json_t *v = json_object_get(context, name);
    if (v != NULL || strchr(name, '.') == NULL)
        return v;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", name);
    v = context;
    for (char *part = buf, *dot; part && v; part = dot ? dot + 1 : NULL) {
        dot = strchr(part, '.');
        if (dot)
            *dot = '\0';
        v = json_object_get(v, part);
    }
    return v;
}

/* s trimmed into buf (at most n-1 bytes), optionally lower-cased. */
static const char *
trim_copy(const char *s, char *buf, size_t n, int lower)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len >= n)
        len = n - 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = lower ? (char)tolower((unsigned char)s[i]) : s[i];
    buf[len] = '\0';
    return buf;
}

/* JavaScript's Number(s): trimmed, "" is 0; 0 when not a number. */
static int
js_number(const char *s, double *out)
{
    char t[128];
    trim_copy(s, t, sizeof t, 0);
    if (t[0] == '\0') {
        *out = 0;
        return 1;
    }
    char *end;
    *out = strtod(t, &end);
    return *end == '\0' && !isnan(*out) && strncasecmp(t, "nan", 3) != 0 &&
           strncasecmp(t, "inf", 3) != 0;
}

static int
strict_equal(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) == json_is_true(b);
    if (json_is_string(a) && json_is_string(b))
        return strcmp(json_string_value(a), json_string_value(b)) == 0;
    return 0; /* objects and arrays: never equal by identity in WorkRail */
}

/* WorkRail's lenientEquals; NULL is a missing variable. */
int
wt_condition_lenient_equals(json_t *a, json_t *b)
{
    int an = a == NULL || json_is_null(a), bn = b == NULL || json_is_null(b);
    if (an || bn)
        return an && bn;
    if (json_is_string(a) && json_is_string(b)) {
        char x[4096], y[4096];
        return strcmp(trim_copy(json_string_value(a), x, sizeof x, 1),
                      trim_copy(json_string_value(b), y, sizeof y, 1)) == 0;
    }
    if ((json_is_string(a) && json_is_number(b)) || (json_is_number(a) && json_is_string(b))) {
        json_t *s = json_is_string(a) ? a : b, *n = json_is_string(a) ? b : a;
        double d;
        if (js_number(json_string_value(s), &d))
            return d == json_number_value(n);
    }
    if ((json_is_string(a) && json_is_boolean(b)) || (json_is_boolean(a) && json_is_string(b))) {
        json_t *s = json_is_string(a) ? a : b, *bo = json_is_string(a) ? b : a;
        char t[16];
        trim_copy(json_string_value(s), t, sizeof t, 1);
        if (json_is_true(bo))
            return strcmp(t, "true") == 0 || strcmp(t, "1") == 0 || strcmp(t, "yes") == 0;
        return strcmp(t, "false") == 0 || strcmp(t, "0") == 0 || strcmp(t, "no") == 0;
    }
    return strict_equal(a, b);
}

/* JavaScript's String(v) for a JSON value, appended to b. */
static void
js_string(wt_buf_t *b, json_t *v)
{
    if (v == NULL || json_is_null(v))
        return;
    if (json_is_string(v)) {
        wt_buf_puts(b, json_string_value(v), NULL);
    } else if (json_is_integer(v)) {
        wt_buf_printf(b, NULL, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 1e15)
            wt_buf_printf(b, NULL, "%.0f", d);
        else
            wt_buf_printf(b, NULL, "%.17g", d);
    } else if (json_is_boolean(v)) {
        wt_buf_puts(b, json_is_true(v) ? "true" : "false", NULL);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (i)
                wt_buf_puts(b, ",", NULL);
            js_string(b, x);
        }
    } else {
        wt_buf_puts(b, "[object Object]", NULL);
    }
}

char *
wt_condition_text(json_t *v)
{
    wt_buf_t b;
    wt_buf_init(&b, 1 << 22);
    js_string(&b, v);
    return wt_buf_detach(&b);
}

static int
truthy(json_t *v)
{
    if (v == NULL || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_number(v))
        return json_number_value(v) != 0 && !isnan(json_number_value(v));
    return 1;
}

/* contains / startsWith / endsWith / matches over trimmed text forms. */
static int
text_op(int op, json_t *value, json_t *arg)
{
    char *vs = wt_condition_text(value), *as = wt_condition_text(arg);
    size_t vn = strlen(vs) + 1, an = strlen(as) + 1;
    char *v = wt_xmalloc(vn), *a = wt_xmalloc(an);
    trim_copy(vs, v, vn, op != 9);
    trim_copy(as, a, an, op != 9);
    int r = 0;
    size_t lv = strlen(v), la = strlen(a);
    if (op == 6)
        r = strstr(v, a) != NULL;
    else if (op == 7)
        r = strncmp(v, a, la) == 0;
    else if (op == 8)
        r = lv >= la && strcmp(v + lv - la, a) == 0;
    else if (op == 9 && json_is_string(arg)) {
        regex_t re;
        if (regcomp(&re, json_string_value(arg), REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0) {
            r = regexec(&re, v, 0, NULL, 0) == 0;
            regfree(&re);
        }
    }
    free(vs);
    free(as);
    free(v);
    free(a);
    return r;
}

int
wt_condition_eval(json_t *cond, json_t *context)
{
    if (cond == NULL || !json_is_object(cond) || json_object_size(cond) == 0)
        return 1;
    json_t *var = json_object_get(cond, "var");
    if (var != NULL) {
        json_t *value =
            json_is_string(var) ? wt_condition_lookup(context, json_string_value(var)) : NULL;
        for (int i = 0; i < (int)NOPS; i++) {
            json_t *arg = json_object_get(cond, ops[i]);
            if (arg == NULL)
                continue;
            switch (i) {
            case 0:
                return wt_condition_lenient_equals(value, arg);
            case 1:
                return !wt_condition_lenient_equals(value, arg);
            case 2:
            case 3:
            case 4:
            case 5: {
                if (!json_is_number(value) || !json_is_number(arg))
                    return 0;
                double a = json_number_value(value), b = json_number_value(arg);
                return i == 2 ? a > b : i == 3 ? a >= b : i == 4 ? a < b : a <= b;
            }
            case 10: {
                if (!json_is_array(arg))
                    return 0; /* WorkRail throws, and a throw is false */
                size_t k;
                json_t *x;
                json_array_foreach(arg, k, x) if (wt_condition_lenient_equals(value, x)) return 1;
                return 0;
            }
            default:
                return text_op(i, value, arg);
            }
        }
        return truthy(value);
    }
    json_t *and = json_object_get(cond, "and"), * or = json_object_get(cond, "or");
    if (and != NULL || or != NULL) {
        json_t *list = and? and : or ;
        if (!json_is_array(list))
            return 0;
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c)
        {
            int r = wt_condition_eval_strict(c, context);
            if (and&&!r)
                return 0;
            if (!and&&r)
                return 1;
        }
        return and != NULL;
    }
    json_t *not = json_object_get(cond, "not");
    if (not != NULL)
        return !wt_condition_eval_strict(not, context);
    return 0; /* an unknown form: WorkRail throws, and a throw is false */
}

/* Nested conditions: WorkRail evaluates them without the top-level "no
 * condition holds" shortcut, so an empty nested object is an unknown form. */
int
wt_condition_eval_strict(json_t *cond, json_t *context)
{
    if (!json_is_object(cond) || json_object_size(cond) == 0)
        return 0;
    return wt_condition_eval(cond, context);
}

static void
collect_vars(json_t *cond, json_t *context, json_t *out)
{
    if (!json_is_object(cond))
        return;
    json_t *var = json_object_get(cond, "var");
    if (json_is_string(var)) {
        json_t *v = wt_condition_lookup(context, json_string_value(var));
        json_object_set(out, json_string_value(var), v ? v : json_null());
    }
    const char *lists[] = {"and", "or"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(cond, lists[k]), i, c) collect_vars(c, context, out);
    }
    collect_vars(json_object_get(cond, "not"), context, out);
}

json_t *
wt_condition_values(json_t *cond, json_t *context)
{
    json_t *out = json_object();
    collect_vars(cond, context, out);
    return out;
}
