/* fuzz_expr - the pipeline condition language and templates: any bytes
 * either fail to parse with a message and an offset inside the text, or
 * parse and can be evaluated, rendered and walked without crashing. */
#include "wt_alloc.h"
#include "wt_expr.h"
#include "wt_template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
count_path(void *ud, const char *const *segs, int n, size_t offset)
{
    size_t *limit = ud;
    wt_assert(n >= 1 && offset < *limit);
    for (int i = 0; i < n; i++)
        wt_assert(segs[i] != NULL && segs[i][0] != '\0');
}

static void
try_expr(const char *text, size_t len, const json_t *scope)
{
    wt_err_t err = {0};
    size_t off = SIZE_MAX;
    wt_expr_t *e = wt_expr_parse(text, &off, &err);
    if (e == NULL) {
        wt_assert(err.msg[0] != '\0' && off <= len);
        return;
    }
    json_t *v = wt_expr_eval(e, scope);
    wt_assert(v != NULL);
    wt_assert(wt_expr_true(e, scope) == wt_expr_truthy(v));
    json_decref(v);
    wt_expr_paths(e, count_path, &len);
    wt_assert(strcmp(wt_expr_text(e), text) == 0);
    wt_expr_destroy(&e);
}

static void
try_template(const char *text, size_t len, const json_t *scope)
{
    wt_err_t err = {0};
    size_t off = SIZE_MAX;
    wt_template_t *t = wt_template_parse(text, &off, &err);
    if (t == NULL) {
        wt_assert(err.msg[0] != '\0' && off <= len);
        return;
    }
    char *out = wt_template_render(t, scope);
    wt_assert(out != NULL);
    free(out);
    wt_template_paths(t, count_path, &len);
    wt_template_destroy(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = wt_xstrndup((const char *)data, size); /* stops at a NUL byte */
    size_t len = strlen(text);
    json_t *scope = json_pack("{s:{s:s},s:i,s:f,s:s,s:[i,s,{s:b}],s:{s:{s:{s:s}}},s:n}", "inputs",
                              "goal", "fix it", "n", 3, "r", 0.85, "s", "0.9", "list", 1, "two",
                              "k", 1, "review", "output", "context", "verdict", "clean", "none");
    wt_assert(scope != NULL);
    try_expr(text, len, scope);
    try_template(text, len, scope);
    json_decref(scope);
    free(text);
    return 0;
}
