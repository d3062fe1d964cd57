/* wt_jpath - the small JSON path subset triggers use to read webhook
 * payloads: `$` followed by `.name` and `[N]` steps ($.pull_request.user.login,
 * $.commits[0].id; a name runs to the next '.' or '['); `$NAME.a` starts at
 * the root's key "$NAME" instead (side data the caller adds, e.g. an
 * Alertmanager alert's `$group`), and templates that
 * embed paths as `{{$.a.b}}` (spaces inside the braces are allowed). I/O
 * free; values come from jansson trees. */
#ifndef WT_JPATH_H
#define WT_JPATH_H

#include "wt_err.h"

#include <jansson.h>
#include <stddef.h>

#define WT_JPATH_MAX_STEPS 32 /* deeper paths are refused */

/* 0 when path is well-formed, else -1 with why ("what is wrong"). */
int wt_jpath_check(const char *path, char *why, size_t cap);
/* The value at path in root (borrowed), or NULL when absent or malformed. */
json_t *wt_jpath_get(json_t *root, const char *path);
/* 0 when every {{...}} in tmpl closes and holds a good path; else -1 with
 * why and *offset (may be NULL) at the bad placeholder. */
int wt_jpath_template_check(const char *tmpl, char *why, size_t cap, size_t *offset);
/* Text form of a value for templates and conditions: strings as they are,
 * numbers and booleans as JSON, null/absent as "", objects and arrays as
 * compact JSON. Caller frees. */
char *wt_jpath_text(const json_t *v);
/* Renders tmpl against root; the result (caller frees) is at most max_bytes
 * or the call fails with WT_ELIMIT. */
char *wt_jpath_render(const char *tmpl, json_t *root, size_t max_bytes, wt_err_t *err);

#endif
