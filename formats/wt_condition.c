/* wt_condition - runCondition checks and evaluation. Variables are looked up
 * by dotted path in the context ("review.verdict"). Numbers compare as
 * doubles; equals compares any JSON values (strings case-sensitively, and a
 * string "true"/"false" against a bool as WorkRail's agents often write). */
#include "wt_condition.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const ops[] = {"equals", "not_equals", "gt", "gte",
                                  "lt",     "lte",        "in", "contains"};

int
wt_condition_check(json_t *cond, const char *path, wt_err_t *err)
{
    if (!json_is_object(cond))
        return wt_err_set(err, WT_EINVAL, "%s: expected a condition object", path);
    const char *key;
    json_t *v;
    int nops = 0, has_var = 0, has_logic = 0;
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
            has_logic = 1;
        } else if (strcmp(key, "not") == 0) {
            snprintf(sub, sizeof sub, "%s.not", path);
            if (wt_condition_check(v, sub, err) != 0)
                return -1;
            has_logic = 1;
        } else {
            size_t i;
            for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
                if (strcmp(key, ops[i]) == 0)
                    break;
            if (i == sizeof ops / sizeof ops[0])
                return wt_err_set(err, WT_EINVAL,
                                  "%s: unknown operator '%s' (use var with equals, not_equals, gt, "
                                  "gte, lt, lte, in, contains, or and/or/not)",
                                  path, key);
            if ((i >= 2 && i <= 5) && !json_is_number(v))
                return wt_err_set(err, WT_EINVAL, "%s.%s: expected a number", path, key);
            if (i == 6 && !json_is_array(v))
                return wt_err_set(err, WT_EINVAL, "%s.in: expected an array", path);
            nops++;
        }
    }
    if (nops && !has_var)
        return wt_err_set(err, WT_EINVAL, "%s: an operator needs 'var'", path);
    if (has_var && nops == 0)
        return wt_err_set(err, WT_EINVAL, "%s: 'var' needs an operator (equals, gt, in, ...)",
                          path);
    if (!has_var && !has_logic && json_object_size(cond) > 0)
        return wt_err_set(err, WT_EINVAL, "%s: empty condition", path);
    return 0;
}

static json_t *
lookup(json_t *context, const char *name)
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

static int
loose_equal(json_t *a, json_t *b)
{
    if (a == NULL || b == NULL)
        return 0;
    if (json_is_number(a) && json_is_number(b))
        return fabs(json_number_value(a) - json_number_value(b)) < 1e-9;
    if (json_is_boolean(a) && json_is_string(b))
        return strcmp(json_string_value(b), json_is_true(a) ? "true" : "false") == 0;
    if (json_is_string(a) && json_is_boolean(b))
        return loose_equal(b, a);
    return json_equal(a, b);
}

static int
compare(json_t *v, const char *op, json_t *arg)
{
    if (strcmp(op, "equals") == 0)
        return loose_equal(v, arg);
    if (strcmp(op, "not_equals") == 0)
        return !loose_equal(v, arg);
    if (strcmp(op, "in") == 0) {
        size_t i;
        json_t *x;
        json_array_foreach(arg, i, x) if (loose_equal(v, x)) return 1;
        return 0;
    }
    if (strcmp(op, "contains") == 0) {
        if (json_is_string(v) && json_is_string(arg))
            return strstr(json_string_value(v), json_string_value(arg)) != NULL;
        if (json_is_array(v)) {
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) if (loose_equal(x, arg)) return 1;
        }
        return 0;
    }
    if (!json_is_number(v) || !json_is_number(arg))
        return 0;
    double a = json_number_value(v), b = json_number_value(arg);
    if (strcmp(op, "gt") == 0)
        return a > b;
    if (strcmp(op, "gte") == 0)
        return a >= b;
    if (strcmp(op, "lt") == 0)
        return a < b;
    if (strcmp(op, "lte") == 0)
        return a <= b;
    return 0;
}

int
wt_condition_eval(json_t *cond, json_t *context)
{
    if (cond == NULL || !json_is_object(cond))
        return 1;
    int result = 1;
    const char *key;
    json_t *v;
    json_t *var = json_object_get(cond, "var");
    json_t *value = json_is_string(var) ? lookup(context, json_string_value(var)) : NULL;
    json_object_foreach(cond, key, v)
    {
        if (strcmp(key, "var") == 0)
            continue;
        if (strcmp(key, "and") == 0) {
            size_t i;
            json_t *c;
            json_array_foreach(v, i, c) if (!wt_condition_eval(c, context)) result = 0;
        } else if (strcmp(key, "or") == 0) {
            int any = 0;
            size_t i;
            json_t *c;
            json_array_foreach(v, i, c) if (wt_condition_eval(c, context)) any = 1;
            result = result && any;
        } else if (strcmp(key, "not") == 0) {
            result = result && !wt_condition_eval(v, context);
        } else {
            if (value == NULL && strcmp(key, "not_equals") != 0)
                result = 0;
            else if (value != NULL && !compare(value, key, v))
                result = 0;
        }
    }
    return result;
}
