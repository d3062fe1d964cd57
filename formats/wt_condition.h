/* wt_condition - WorkRail runCondition expressions over a JSON context:
 * {var, equals|not_equals|gt|gte|lt|lte|contains|startsWith|endsWith|
 * matches|in} or {var} alone (truthiness), combined with and/or/not, with
 * WorkRail v3.37.1's comparison rules (lenient equals: trimmed,
 * case-insensitive; see wt_condition.c). Evaluation never fails: a missing
 * variable or a type mismatch is simply false. Validation reports the first
 * malformed node by path. */
#ifndef WT_CONDITION_H
#define WT_CONDITION_H

#include "wt_err.h"

#include <jansson.h>

/* Checks cond; on error err->msg reads "PATH: what is wrong". */
int wt_condition_check(json_t *cond, const char *path, wt_err_t *err);
/* 1 when cond holds over context (NULL or {} holds). */
int wt_condition_eval(json_t *cond, json_t *context);
/* Same for a nested condition ({} there does not hold, as in WorkRail). */
int wt_condition_eval_strict(json_t *cond, json_t *context);
/* WorkRail's lenient equality; NULL stands for a missing variable. */
int wt_condition_lenient_equals(json_t *a, json_t *b);
/* A variable by name, or by dotted path when no key has that name;
 * borrowed, NULL when missing. */
json_t *wt_condition_lookup(json_t *context, const char *name);
/* JavaScript's String(v) of a JSON value ("" for NULL/null, "a,b" for an
 * array, "[object Object]" for an object); caller frees. */
char *wt_condition_text(json_t *v);
/* New object {var: value seen or null} of every variable cond names. */
json_t *wt_condition_values(json_t *cond, json_t *context);

#endif
