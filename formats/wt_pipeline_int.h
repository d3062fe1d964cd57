/* wt_pipeline_int - what the pipeline loader (wt_pipeline.c) and checker
 * (wt_pipeline_check.c) share. A loaded pipeline is the public struct
 * embedded first in a private one that remembers, for every parsed
 * expression and template, where its YAML scalar sits and how it was
 * written, so the checker can point at the character a path starts at. */
#ifndef WT_PIPELINE_INT_H
#define WT_PIPELINE_INT_H

#include "wt_pipeline.h"

#define WT_PIPELINE_MAX_PHASES 1000 /* phases per pipeline */
#define WT_PIPELINE_MAGIC      0x77747069u

/* Where one expression or template came from. */
typedef struct wt_pipeline_src {
    const void *obj;   /* the wt_expr_t / wt_template_t (borrowed) */
    int is_template;   /* 1 = wt_template_t */
    int phase;         /* index of its phase */
    const char *field; /* static name for messages: "if", "goal", "vars", ... */
    int line;          /* scalar start, 1-based */
    int col;           /* scalar start, 1-based (the quote for quoted text) */
    int style;         /* wt_yaml_style_t */
    int multiline;     /* the scalar spans lines: positions stay at its start */
} wt_pipeline_src_t;

typedef struct wt_pipeline_full {
    wt_pipeline_t pub;       /* first member: wt_pipeline_t * points here */
    unsigned magic;          /* WT_PIPELINE_MAGIC */
    wt_pipeline_src_t *srcs; /* owned, in file order */
    int nsrcs;               /* entries */
    int capsrcs;             /* allocated */
} wt_pipeline_full_t;

/* The private part of a loaded pipeline, NULL for one built by hand. */
const wt_pipeline_full_t *wt_pipeline_full(const wt_pipeline_t *self);

/* Position of byte offset off of text (the scalar's value) in the file. */
wt_pos_t wt_pipeline_src_pos(const wt_pipeline_src_t *src, const char *text, size_t off);

#endif
