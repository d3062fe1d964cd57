/* wt_criteria - WorkRail's validationCriteria: rules a step's notes must
 * satisfy before complete_step is accepted, evaluated with WorkRail
 * v3.37.1's rules (its ValidationEngine, read for the rules). Criteria are
 * an array of rules, a single rule, or an {and|or|not} composition; a rule
 * is {type: contains|regex|length|schema, value|pattern+flags|min+max,
 * message, condition} or a bare regular-expression string. A rule whose
 * condition does not hold over the context is skipped. */
#ifndef WT_CRITERIA_H
#define WT_CRITERIA_H

#include "wt_buf.h"
#include "wt_err.h"

#include <jansson.h>

/* Load-time shape check; err->msg reads "PATH: what is wrong". */
int wt_criteria_check(json_t *criteria, const char *path, wt_err_t *err);
/* Appends one "- ISSUE\n" line per failed rule to issues (WorkRail's
 * messages: the rule's message, else its default); returns the number. */
int wt_criteria_eval(json_t *criteria, const char *output, json_t *context, wt_buf_t *issues);
/* Appends the requirement lines WorkRail shows in a step's prompt
 * ("- Must contain: \"X\"", "- Must match pattern: P", "- Length: ≥N
 * chars"), at most 5; returns how many. */
int wt_criteria_requirements(json_t *criteria, wt_buf_t *out);

#endif
