/* wt_diag - problems found in a file a person wrote (pipeline YAML,
 * triggers YAML), collected so all of them are reported at once, each as
 * "FILE:LINE:COL: error: what is wrong". Lines and columns count from 1;
 * 0 means unknown. Plain data, embedded by value (_init/_release). */
#ifndef WT_DIAG_H
#define WT_DIAG_H

#include <stdio.h>

typedef struct wt_diag {
    char *file;  /* owned; path as given */
    int line;    /* 1-based, 0 unknown */
    int col;     /* 1-based, 0 unknown */
    int warning; /* 1 = warning (does not fail validation) */
    char *msg;   /* owned; "what is wrong" */
} wt_diag_t;

typedef struct wt_diags {
    wt_diag_t *v; /* owned, in the order found */
    int n;        /* entries */
    int cap;      /* allocated */
    int errors;   /* entries that are not warnings */
} wt_diags_t;

void wt_diags_init(wt_diags_t *self);
void wt_diags_release(wt_diags_t *self);

/* Appends one problem. */
void wt_diags_add(wt_diags_t *self, const char *file, int line, int col, int warning,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Sorts by line then column (stable), for reading top to bottom. */
void wt_diags_sort(wt_diags_t *self);

/* Prints each as "FILE:LINE:COL: error|warning: MSG\n". */
void wt_diags_print(const wt_diags_t *self, FILE *out);

/* The candidate closest to word by edit distance when close enough to be a
 * likely typo (borrowed from cands), else NULL: the "did you mean" of
 * validation errors and refused spawns. */
const char *wt_diag_suggest(const char *word, const char *const *cands, int n);

#endif
