/* wt_expr - the condition language of pipelines (DESIGN §7): `if`,
 * `retry.until`, `foreach` and the inside of `{{...}}` templates.
 *
 * Grammar (lowest precedence first):
 *   or      := and ( "||" and )*
 *   and     := not ( "&&" not )*
 *   not     := "!" not | cmp
 *   cmp     := primary ( ("=="|"!="|"<"|"<="|">"|">="|"in") primary )?
 *   primary := STRING | NUMBER | true | false | null | path | "[" list "]"
 *              | "(" or ")"
 *   path    := IDENT ( "." (IDENT | DIGITS) )*      e.g. review.output.context.verdict
 * Strings take single or double quotes with backslash escapes. IDENT is
 * [A-Za-z_][A-Za-z0-9_-]*. A path is looked up in a JSON scope object: each
 * segment is an object key, or an array index when it is all digits; a
 * missing segment yields null (never an error).
 *
 * Semantics: == and != compare JSON values (a number and a string that
 * parses as a number compare as numbers: agents often write "0.85");
 * < <= > >= need two numbers (or two strings: byte order), else false;
 * `a in b` is true when b is an array holding a value == a, or b and a are
 * strings and a is a substring of b, or b is an object with key a.
 * Ordering a number against a numeric string also compares as numbers
 * (`score >= 0.8` with score "0.85"); two strings always compare as strings.
 * Equality is deep for arrays and objects. !, && and || give true/false.
 * Keywords true, false, null and in are paths when followed by ".".
 * Truthiness: null, false, 0, "" , [] and {} are false; all else true.
 * Evaluation never fails: everything has a value. Pure and thread-safe. */
#ifndef WT_EXPR_H
#define WT_EXPR_H

#include "wt_err.h"

#include <jansson.h>
#include <stddef.h>

typedef struct wt_expr wt_expr_t;

/* Longest expression text, in bytes (WT_ELIMIT beyond). */
#define WT_EXPR_MAX_BYTES 4096
/* Deepest nesting of "(", "[" and "!" (WT_ELIMIT beyond). */
#define WT_EXPR_MAX_DEPTH 64

/* Parses text. On failure returns NULL, sets err ("expected ')' but found
 * 'x'") and *err_offset to the byte offset in text where it went wrong. */
wt_expr_t *wt_expr_parse(const char *text, size_t *err_offset, wt_err_t *err);
void wt_expr_destroy(wt_expr_t **self_p);

/* The text it was parsed from (borrowed). */
const char *wt_expr_text(const wt_expr_t *self);

/* Evaluates against scope (borrowed); returns a new reference, never NULL
 * (json_null() for missing paths). */
json_t *wt_expr_eval(const wt_expr_t *self, const json_t *scope);

/* wt_expr_eval then truthiness as above. */
int wt_expr_true(const wt_expr_t *self, const json_t *scope);

/* Truthiness of a JSON value (NULL is false). */
int wt_expr_truthy(const json_t *v);

/* Calls fn once per path in the expression, in text order: segs[0..n) are
 * the segments (borrowed for the call), offset the byte offset of the path
 * in the text. Used by validation (unknown phase, phase not in needs). */
typedef void (*wt_expr_path_fn)(void *ud, const char *const *segs, int n, size_t offset);
void wt_expr_paths(const wt_expr_t *self, wt_expr_path_fn fn, void *ud);

#endif
