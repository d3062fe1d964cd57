/* wt_template - a template is a list of parts: literal byte runs of the
 * source text and {{ expressions }} parsed by wt_expr. */
#include "wt_template.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_expr_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct part {
    size_t off;      /* literal: start in text; expression: start of its text */
    size_t len;      /* literal bytes (0 for an expression) */
    wt_expr_t *expr; /* owned, or NULL for a literal */
} part_t;

struct wt_template {
    char *text; /* owned */
    part_t *parts;
    int nparts;
};

static void
add_part(wt_template_t *self, size_t off, size_t len, wt_expr_t *expr)
{
    if (expr == NULL && len == 0)
        return;
    self->parts = wt_xrealloc(self->parts, (size_t)(self->nparts + 1) * sizeof *self->parts);
    self->parts[self->nparts++] = (part_t){.off = off, .len = len, .expr = expr};
}

static wt_template_t *
fail(wt_template_t **self_p, size_t *err_offset, size_t off)
{
    if (err_offset)
        *err_offset = off;
    wt_template_destroy(self_p);
    return NULL;
}

wt_template_t *
wt_template_parse(const char *text, size_t *err_offset, wt_err_t *err)
{
    if (text == NULL) {
        if (err_offset)
            *err_offset = 0;
        wt_err_set(err, WT_EINVAL, "no template given");
        return NULL;
    }
    size_t n = strnlen(text, WT_TEMPLATE_MAX_BYTES + 1);
    if (n > WT_TEMPLATE_MAX_BYTES) {
        if (err_offset)
            *err_offset = WT_TEMPLATE_MAX_BYTES;
        wt_err_set(err, WT_ELIMIT, "template too long: more than %d bytes", WT_TEMPLATE_MAX_BYTES);
        return NULL;
    }
    wt_template_t *self = wt_xcalloc(1, sizeof *self);
    self->text = wt_xstrdup(text);
    size_t lit = 0; /* start of the pending literal run */
    for (;;) {
        const char *open = strstr(text + lit, "{{");
        if (open == NULL) {
            add_part(self, lit, n - lit, NULL);
            return self;
        }
        size_t at = (size_t)(open - text);
        add_part(self, lit, at - lit, NULL);
        if (strstr(open + 2, "}}") == NULL) {
            wt_err_set(err, WT_EINVAL, "unclosed '{{' at offset %zu: no '}}' follows", at);
            return fail(&self, err_offset, at);
        }
        size_t end;
        wt_expr_t *e = wt_expr_parse_embedded(text, at + 2, &end, err_offset, err);
        if (e == NULL) {
            wt_template_destroy(&self);
            return NULL;
        }
        add_part(self, at + 2, 0, e);
        if (text[end] != '}') { /* a string literal swallowed the "}}" */
            wt_err_set(err, WT_EINVAL,
                       "expected '}}' to close '{{' at offset %zu, found end of text", at);
            return fail(&self, err_offset, end);
        }
        lit = end + 2;
    }
}

void
wt_template_destroy(wt_template_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_template_t *self = *self_p;
    for (int i = 0; i < self->nparts; i++)
        wt_expr_destroy(&self->parts[i].expr);
    free(self->parts);
    free(self->text);
    free(self);
    *self_p = NULL;
}

const char *
wt_template_text(const wt_template_t *self)
{
    return self ? self->text : NULL;
}

/* One value as template text: strings raw, null empty, else compact JSON. */
static void
render_value(wt_buf_t *out, const json_t *v)
{
    if (json_is_null(v))
        return;
    if (json_is_string(v)) {
        wt_buf_append(out, json_string_value(v), json_string_length(v), NULL);
        return;
    }
    char *js = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (js != NULL)
        wt_buf_puts(out, js, NULL);
    free(js);
}

char *
wt_template_render(const wt_template_t *self, const json_t *scope)
{
    wt_buf_t out;
    wt_buf_init(&out, SIZE_MAX / 2);
    for (int i = 0; self != NULL && i < self->nparts; i++) {
        const part_t *pt = &self->parts[i];
        if (pt->expr == NULL) {
            wt_buf_append(&out, self->text + pt->off, pt->len, NULL);
            continue;
        }
        json_t *v = wt_expr_eval(pt->expr, scope);
        render_value(&out, v);
        json_decref(v);
    }
    return wt_buf_detach(&out);
}

typedef struct shift {
    wt_expr_path_fn fn;
    void *ud;
    size_t base;
} shift_t;

static void
shifted(void *ud, const char *const *segs, int n, size_t offset)
{
    shift_t *sh = ud;
    sh->fn(sh->ud, segs, n, sh->base + offset);
}

void
wt_template_paths(const wt_template_t *self, wt_expr_path_fn fn, void *ud)
{
    if (self == NULL || fn == NULL)
        return;
    for (int i = 0; i < self->nparts; i++) {
        if (self->parts[i].expr == NULL)
            continue;
        shift_t sh = {fn, ud, self->parts[i].off};
        wt_expr_paths(self->parts[i].expr, shifted, &sh);
    }
}
