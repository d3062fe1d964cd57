/* wt_diag - a growable list of problems found in a file a person wrote.
 * Messages are formatted once when added; the list keeps the order found
 * until wt_diags_sort, which is a stable insertion sort by position (lists
 * are short: a file with thousands of problems is still cheap enough). */
#include "wt_diag.h"

#include "wt_alloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
wt_diags_init(wt_diags_t *self)
{
    memset(self, 0, sizeof *self);
}

void
wt_diags_release(wt_diags_t *self)
{
    for (int i = 0; i < self->n; i++) {
        free(self->v[i].file);
        free(self->v[i].msg);
    }
    free(self->v);
    memset(self, 0, sizeof *self);
}

void
wt_diags_add(wt_diags_t *self, const char *file, int line, int col, int warning, const char *fmt,
             ...)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 8;
        self->v = wt_xrealloc(self->v, (size_t)self->cap * sizeof self->v[0]);
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = wt_xmalloc(n > 0 ? (size_t)n + 1 : 1);
    msg[0] = '\0';
    if (n > 0) {
        va_start(ap, fmt);
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    wt_diag_t *d = &self->v[self->n++];
    d->file = wt_xstrdup(file ? file : "<input>");
    d->line = line > 0 ? line : 0;
    d->col = col > 0 ? col : 0;
    d->warning = warning ? 1 : 0;
    d->msg = msg;
    if (!d->warning)
        self->errors++;
}

static int
before(const wt_diag_t *a, const wt_diag_t *b)
{
    if (a->line != b->line)
        return a->line < b->line;
    return a->col < b->col;
}

void
wt_diags_sort(wt_diags_t *self)
{
    for (int i = 1; i < self->n; i++) {
        wt_diag_t d = self->v[i];
        int j = i;
        while (j > 0 && before(&d, &self->v[j - 1])) {
            self->v[j] = self->v[j - 1];
            j--;
        }
        self->v[j] = d;
    }
}

void
wt_diags_print(const wt_diags_t *self, FILE *out)
{
    for (int i = 0; i < self->n; i++) {
        const wt_diag_t *d = &self->v[i];
        const char *kind = d->warning ? "warning" : "error";
        if (d->line > 0)
            fprintf(out, "%s:%d:%d: %s: %s\n", d->file, d->line, d->col, kind, d->msg);
        else
            fprintf(out, "%s: %s: %s\n", d->file, kind, d->msg);
    }
}

/* Edit distance, bounded rows (words here are short; longer ones are cut). */
static int
distance(const char *a, const char *b)
{
    int la = (int)strnlen(a, 63), lb = (int)strnlen(b, 63);
    int prev[64], cur[64];
    for (int j = 0; j <= lb; j++)
        prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
    }
    return prev[lb];
}

const char *
wt_diag_suggest(const char *word, const char *const *cands, int n)
{
    const char *best = NULL;
    int best_d = 1 << 30, len = (int)strlen(word);
    int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    for (int i = 0; i < n; i++) {
        int d = distance(word, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best_d <= limit ? best : NULL;
}
