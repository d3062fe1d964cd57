/* wt_condition - WorkRail runCondition expressions over a JSON context:
 * {var, equals|not_equals|gt|gte|lt|lte|in|contains} combined with
 * and/or/not. Evaluation never fails: a missing variable or a type mismatch
 * is simply false. Validation reports the first malformed node by path. */
#ifndef WT_CONDITION_H
#define WT_CONDITION_H

#include "wt_err.h"

#include <jansson.h>

/* Checks cond; on error err->msg reads "PATH: what is wrong". */
int wt_condition_check(json_t *cond, const char *path, wt_err_t *err);
/* 1 when cond holds over context (NULL cond holds). */
int wt_condition_eval(json_t *cond, json_t *context);

#endif
