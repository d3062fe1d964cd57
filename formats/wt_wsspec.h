/* wt_wsspec - builds the workspace spec of DESIGN.md section 15 (the JSON
 * object the worker's wt_repo reads from a session's `workspace` field)
 * from spawn flags, pipeline phase fields and trigger keys, checking each
 * value where it is given, so a typo is refused at the command line or in
 * the file, not on a worker. */
#ifndef WT_WSSPEC_H
#define WT_WSSPEC_H

#include <jansson.h>
#include <stddef.h>

/* Sets one field of spec: repo ref deliver forge project labels author
 * (strings), auto_commit draft no_verify ("true"/"false"). -1 with why
 * for an unknown name or a bad value. */
int wt_wsspec_set(json_t *spec, const char *name, const char *value, char *why, size_t cap);
/* The spec as compact JSON (caller frees), NULL with why "" when spec is
 * empty, NULL with why set when it lacks repo. */
char *wt_wsspec_dump(json_t *spec, char *why, size_t cap);

#endif
