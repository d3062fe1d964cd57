/* wt_expr_int - coordinator-private part of wt_expr shared with
 * wt_template: parsing an expression that sits inside a larger text. */
#ifndef WT_EXPR_INT_H
#define WT_EXPR_INT_H

#include "wt_expr.h"

/* Parses one expression starting at text + start and stopping before the
 * first "}}" outside a string literal, or at the end of text. Offsets in
 * messages and in *err_offset are within the whole text. On success *end is
 * where it stopped (at "}}" or at the NUL); the expression's own text
 * (wt_expr_text) is text[start, *end) and wt_expr_paths reports offsets
 * relative to start. */
wt_expr_t *wt_expr_parse_embedded(const char *text, size_t start, size_t *end, size_t *err_offset,
                                  wt_err_t *err);

#endif
