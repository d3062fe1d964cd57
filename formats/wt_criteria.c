/* wt_criteria - validationCriteria evaluation (see wt_criteria.h).
 *
 * Differences from WorkRail, on purpose or by necessity: regular
 * expressions are POSIX extended (WorkRail: JavaScript), with flag "i"
 * honoured; lengths count UTF-8 characters (WorkRail: UTF-16 units);
 * "schema" rules are not evaluated (they pass). WorkRail lists requirements
 * in the prompt only for a single rule or an "and" composition; here an
 * array of rules is listed too, so the agent sees what will be checked. */
#include "wt_criteria.h"

#include "wt_condition.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>

static int
is_rule(json_t *c)
{
    return json_is_string(c) || (json_is_object(c) && json_object_get(c, "type") != NULL);
}

int
wt_criteria_check(json_t *c, const char *path, wt_err_t *err)
{
    if (json_is_array(c)) {
        size_t i;
        json_t *r;
        json_array_foreach(c, i, r)
        {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!is_rule(r))
                return wt_err_set(err, WT_EINVAL, "%s: expected a rule with a type", sub);
            if (wt_criteria_check(r, sub, err) != 0)
                return -1;
        }
        return 0;
    }
    if (json_is_string(c))
        return 0;
    if (!json_is_object(c))
        return wt_err_set(err, WT_EINVAL, "%s: expected a rule, an array of rules or {and|or|not}",
                          path);
    json_t *cond = json_object_get(c, "condition");
    if (cond) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s.condition", path);
        if (wt_condition_check(cond, sub, err) != 0)
            return -1;
    }
    const char *type = json_string_value(json_object_get(c, "type"));
    if (type && strcmp(type, "contains") != 0 && strcmp(type, "regex") != 0 &&
        strcmp(type, "length") != 0 && strcmp(type, "schema") != 0)
        return wt_err_set(err, WT_EINVAL,
                          "%s.type: unknown rule type '%s' (contains, regex, length, schema)", path,
                          type);
    const char *keys[] = {"and", "or"};
    for (int k = 0; k < 2; k++) {
        json_t *list = json_object_get(c, keys[k]);
        size_t i;
        json_t *r;
        json_array_foreach(list, i, r)
        {
            char sub[512];
            snprintf(sub, sizeof sub, "%s.%s[%zu]", path, keys[k], i);
            if (wt_criteria_check(r, sub, err) != 0)
                return -1;
        }
    }
    return 0;
}

static size_t
utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* 1 when pattern matches output; -1 when the pattern is invalid. */
static int
regex_test(const char *pattern, const char *flags, const char *output)
{
    regex_t re;
    int cflags = REG_EXTENDED | REG_NOSUB | (flags && strchr(flags, 'i') ? REG_ICASE : 0);
    if (regcomp(&re, pattern, cflags) != 0)
        return -1;
    int m = regexec(&re, output, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

static void
issue(wt_buf_t *b, json_t *rule, const char *dflt)
{
    const char *msg = json_string_value(json_object_get(rule, "message"));
    wt_buf_printf(b, NULL, "- %s\n", msg && *msg ? msg : dflt);
}

/* One rule; returns the number of issues it adds. */
static int
eval_rule(json_t *rule, const char *out, wt_buf_t *issues)
{
    size_t before = issues->len;
    if (json_is_string(rule)) {
        if (regex_test(json_string_value(rule), NULL, out) != 1)
            wt_buf_printf(issues, NULL, "- Output does not match pattern: %s\n",
                          json_string_value(rule));
        return issues->len != before;
    }
    const char *type = json_string_value(json_object_get(rule, "type"));
    char dflt[1024];
    if (type && strcmp(type, "contains") == 0) {
        const char *v = json_string_value(json_object_get(rule, "value"));
        if (v == NULL) {
            issue(issues, rule, "Output must include the required substring.");
        } else if (strstr(out, v) == NULL) {
            int jsonish = v[0] == '{' || v[0] == '[' || strchr(v, '"') || strchr(v, ':');
            snprintf(dflt, sizeof dflt,
                     jsonish ? "Output must include this literal JSON snippet (not a JSON-encoded "
                               "string): %s"
                             : "Output must include: %s",
                     v);
            issue(issues, rule, dflt);
        }
    } else if (type && strcmp(type, "regex") == 0) {
        const char *p = json_string_value(json_object_get(rule, "pattern"));
        int m = p ? regex_test(p, json_string_value(json_object_get(rule, "flags")), out) : -1;
        if (m < 0) {
            wt_buf_puts(issues, "- Invalid regex pattern in validationCriteria\n", NULL);
        } else if (m == 0) {
            snprintf(dflt, sizeof dflt, "Pattern mismatch: %s", p);
            issue(issues, rule, dflt);
        }
    } else if (type && strcmp(type, "length") == 0) {
        json_t *min = json_object_get(rule, "min"), *max = json_object_get(rule, "max");
        size_t n = utf8_len(out);
        if (json_is_number(min) && (double)n < json_number_value(min)) {
            snprintf(dflt, sizeof dflt, "Output shorter than minimum length %g",
                     json_number_value(min));
            issue(issues, rule, dflt);
        }
        if (json_is_number(max) && (double)n > json_number_value(max)) {
            snprintf(dflt, sizeof dflt, "Output exceeds maximum length %g", json_number_value(max));
            issue(issues, rule, dflt);
        }
    }
    return issues->len != before;
}

static int eval_any(json_t *c, const char *out, json_t *ctx, wt_buf_t *issues);

/* A composition holds or not; WorkRail reports a failed one as a whole. */
static int
composition_holds(json_t *c, const char *out, json_t *ctx)
{
    wt_buf_t scratch;
    wt_buf_init(&scratch, 1 << 20);
    int ok;
    json_t *and = json_object_get(c, "and"), * or = json_object_get(c, "or");
    json_t *not = json_object_get(c, "not");
    size_t i;
    json_t *x;
    if (and) {
        ok = 1;
        json_array_foreach(and, i, x) if (eval_any(x, out, ctx, &scratch) != 0) ok = 0;
    } else if (or) {
        ok = 0;
        json_array_foreach(or, i, x) if (eval_any(x, out, ctx, &scratch) == 0) ok = 1;
    } else if (not ) {
        ok = eval_any(not, out, ctx, &scratch) != 0;
    } else {
        ok = 1;
    }
    wt_buf_release(&scratch);
    return ok;
}

static int
eval_any(json_t *c, const char *out, json_t *ctx, wt_buf_t *issues)
{
    if (json_is_array(c)) {
        int n = 0;
        size_t i;
        json_t *r;
        json_array_foreach(c, i, r) n += eval_any(r, out, ctx, issues);
        return n;
    }
    json_t *cond = json_object_get(c, "condition");
    if (cond && !wt_condition_eval(cond, ctx))
        return 0;
    if (is_rule(c))
        return eval_rule(c, out, issues);
    if (composition_holds(c, out, ctx))
        return 0;
    wt_buf_puts(issues, "- Validation composition failed\n", NULL);
    return 1;
}

int
wt_criteria_eval(json_t *criteria, const char *output, json_t *context, wt_buf_t *issues)
{
    return eval_any(criteria, output ? output : "", context, issues);
}

static int
requirements(json_t *c, wt_buf_t *out, int n)
{
    if (json_is_array(c) || (json_is_object(c) && json_is_array(json_object_get(c, "and")))) {
        json_t *list = json_is_array(c) ? c : json_object_get(c, "and");
        size_t i;
        json_t *r;
        json_array_foreach(list, i, r) n = requirements(r, out, n);
        return n;
    }
    if (n >= 5 || !json_is_object(c))
        return n;
    const char *type = json_string_value(json_object_get(c, "type"));
    if (type == NULL)
        return n;
    if (strcmp(type, "contains") == 0 && json_string_value(json_object_get(c, "value")) &&
        *json_string_value(json_object_get(c, "value"))) {
        wt_buf_printf(out, NULL, "- Must contain: \"%s\"\n",
                      json_string_value(json_object_get(c, "value")));
        return n + 1;
    }
    if (strcmp(type, "regex") == 0 && json_string_value(json_object_get(c, "pattern"))) {
        const char *flags = json_string_value(json_object_get(c, "flags"));
        wt_buf_printf(out, NULL, "- Must match pattern: %s%s%s%s\n",
                      json_string_value(json_object_get(c, "pattern")), flags ? " (flags: " : "",
                      flags ? flags : "", flags ? ")" : "");
        return n + 1;
    }
    if (strcmp(type, "length") == 0) {
        json_t *min = json_object_get(c, "min"), *max = json_object_get(c, "max");
        if (!json_is_number(min) && !json_is_number(max))
            return n;
        wt_buf_puts(out, "- Length: ", NULL);
        if (json_is_number(min))
            wt_buf_printf(out, NULL, "≥%g chars", json_number_value(min));
        if (json_is_number(max))
            wt_buf_printf(out, NULL, "%s≤%g chars", json_is_number(min) ? ", " : "",
                          json_number_value(max));
        wt_buf_puts(out, "\n", NULL);
        return n + 1;
    }
    return n;
}

int
wt_criteria_requirements(json_t *criteria, wt_buf_t *out)
{
    return requirements(criteria, out, 0);
}
