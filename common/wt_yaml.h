/* wt_yaml - a small read-only tree over one YAML document (libyaml), for
 * files people write: pipelines, triggers, config. Every node keeps its
 * 1-based line and column so checkers can point at the exact place.
 * Aliases are expanded into the tree, bounded by WT_YAML_MAX_NODES and
 * WT_YAML_MAX_DEPTH (alias bombs and recursive aliases fail to load);
 * inputs over WT_YAML_MAX_BYTES are refused before parsing. Duplicate
 * scalar keys in a mapping are a load error. After loading the tree is
 * plain read-only data: nodes are borrowed from their wt_yaml_t. */
#ifndef WT_YAML_H
#define WT_YAML_H

#include "wt_err.h"

#include <stddef.h>

#define WT_YAML_MAX_BYTES (4u << 20) /* input size cap */
#define WT_YAML_MAX_NODES 100000     /* nodes after alias expansion */
#define WT_YAML_MAX_DEPTH 256        /* nesting of collections */

typedef struct wt_yaml wt_yaml_t;
typedef struct wt_yaml_node wt_yaml_node_t;

typedef enum wt_yaml_kind {
    WT_YAML_SCALAR = 1,
    WT_YAML_SEQ = 2,
    WT_YAML_MAP = 3,
} wt_yaml_kind_t;

typedef enum wt_yaml_style {
    WT_YAML_PLAIN = 0,   /* bare text: may mean null, bool, number */
    WT_YAML_SINGLE = 1,  /* 'text' */
    WT_YAML_DOUBLE = 2,  /* "text" */
    WT_YAML_LITERAL = 3, /* | block */
    WT_YAML_FOLDED = 4,  /* > block */
} wt_yaml_style_t;

/* Where loading failed: 1-based, 0 when unknown. */
typedef struct wt_yaml_error {
    int line;     /* 1-based line, 0 unknown */
    int col;      /* 1-based column, 0 unknown */
    wt_err_t err; /* code and "what failed: why" (libyaml's problem text) */
} wt_yaml_error_t;

/* Parses the first document of text[0..len). Returns NULL and fills e (may
 * be NULL) on a syntax error, a second document, a duplicate key, or a cap
 * exceeded (WT_ELIMIT). An empty input loads with a NULL root. */
wt_yaml_t *wt_yaml_load_buffer(const char *text, size_t len, wt_yaml_error_t *e);
/* Reads path (at most WT_YAML_MAX_BYTES) and parses it as above. */
wt_yaml_t *wt_yaml_load_file(const char *path, wt_yaml_error_t *e);
void wt_yaml_destroy(wt_yaml_t **self_p);

/* The document's top node (borrowed), NULL for an empty document. */
const wt_yaml_node_t *wt_yaml_root(const wt_yaml_t *self);

wt_yaml_kind_t wt_yaml_kind(const wt_yaml_node_t *node);
/* "scalar", "sequence" or "mapping", for messages. */
const char *wt_yaml_kind_name(const wt_yaml_node_t *node);
/* Position of the node's first character (for a quoted scalar: the quote). */
int wt_yaml_line(const wt_yaml_node_t *node);
int wt_yaml_col(const wt_yaml_node_t *node);
/* Line of the node's end (one past its last character). */
int wt_yaml_end_line(const wt_yaml_node_t *node);

/* Scalars: the text (borrowed, NUL-terminated; may hold inner NULs, see
 * len) or NULL for a collection; its style; is_plain = bare text. */
const char *wt_yaml_text(const wt_yaml_node_t *node);
size_t wt_yaml_text_len(const wt_yaml_node_t *node);
wt_yaml_style_t wt_yaml_style(const wt_yaml_node_t *node);
int wt_yaml_is_plain(const wt_yaml_node_t *node);
/* 1 for a plain scalar "", "~", "null", "Null", "NULL". */
int wt_yaml_is_null(const wt_yaml_node_t *node);
/* Plain scalars true/false (any case of the YAML 1.2 core forms): 0 and
 * *out set; -1 for anything else. */
int wt_yaml_bool(const wt_yaml_node_t *node, int *out);
/* Plain decimal integer scalars (optional sign): 0 and *out set; -1 for
 * anything else, including out-of-range values. */
int wt_yaml_int(const wt_yaml_node_t *node, long long *out);

/* Collections: number of items (sequence) or pairs (mapping), 0 for scalars. */
size_t wt_yaml_len(const wt_yaml_node_t *node);
/* Item i of a sequence, NULL when out of range or not a sequence. */
const wt_yaml_node_t *wt_yaml_seq_at(const wt_yaml_node_t *node, size_t i);
/* Key / value of pair i of a mapping (file order), NULL when out of range. */
const wt_yaml_node_t *wt_yaml_map_key_at(const wt_yaml_node_t *node, size_t i);
const wt_yaml_node_t *wt_yaml_map_value_at(const wt_yaml_node_t *node, size_t i);
/* Value for a scalar key, NULL when absent or node is not a mapping. */
const wt_yaml_node_t *wt_yaml_map_get(const wt_yaml_node_t *node, const char *key);

#endif
