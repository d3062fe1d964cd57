/* wt_template - "text {{ expr }} text" strings of pipelines: goals, vars,
 * notify messages. Each {{ ... }} holds a wt_expr expression (usually a
 * path: inputs.goal, classify.output.context.taskComplexity,
 * review.session, item). Rendering: a string value goes in as is, null as
 * "", any other value as compact JSON. "{{" with no closing "}}" is a
 * parse error. Pure and thread-safe once parsed. */
#ifndef WT_TEMPLATE_H
#define WT_TEMPLATE_H

#include "wt_expr.h"

typedef struct wt_template wt_template_t;

/* Longest template text, in bytes (WT_ELIMIT beyond); each {{ ... }} is
 * further limited to WT_EXPR_MAX_BYTES. */
#define WT_TEMPLATE_MAX_BYTES (1024 * 1024)

/* Parses text. On failure returns NULL, sets err and *err_offset (byte
 * offset in text of the problem, e.g. inside the bad expression). */
wt_template_t *wt_template_parse(const char *text, size_t *err_offset, wt_err_t *err);
void wt_template_destroy(wt_template_t **self_p);

/* The source text (borrowed). */
const char *wt_template_text(const wt_template_t *self);

/* Renders against scope (borrowed); the caller frees the result. */
char *wt_template_render(const wt_template_t *self, const json_t *scope);

/* Every path of every expression, as wt_expr_paths; offsets are within the
 * whole template text. */
void wt_template_paths(const wt_template_t *self, wt_expr_path_fn fn, void *ud);

#endif
