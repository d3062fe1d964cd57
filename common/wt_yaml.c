/* wt_yaml - libyaml's composed document (yaml_parser_load) copied into a
 * compact tree. Design: libyaml represents an alias as a second reference
 * to an earlier node (a DAG, even a cycle for `&a [*a]`), which a naive
 * walk would expand without bound. So the tree is built in two passes: the
 * first counts the nodes the expansion would produce, stopping as soon as
 * WT_YAML_MAX_NODES or WT_YAML_MAX_DEPTH is passed (work bounded by the
 * caps, not by the expansion); the second fills one pool of exactly that
 * many nodes. Children of a collection sit contiguously in the pool
 * (mappings alternate key, value), so accessors are index arithmetic.
 * Scalar text points into the libyaml document, which the tree keeps. */
#include "wt_yaml.h"

#include "wt_alloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

struct wt_yaml_node {
    wt_yaml_kind_t kind;   /* scalar, sequence or mapping */
    wt_yaml_style_t style; /* scalars only */
    int line;              /* 1-based start line */
    int col;               /* 1-based start column */
    int end_line;          /* 1-based end line */
    const char *text;      /* scalars: borrowed from the libyaml document */
    size_t len;            /* scalars: bytes of text */
    wt_yaml_node_t *kids;  /* collections: items, or key/value pairs */
    size_t n;              /* items or pairs */
};

struct wt_yaml {
    yaml_document_t doc;  /* the composed document; owns scalar text */
    int has_doc;          /* doc must be deleted */
    wt_yaml_node_t *pool; /* owned; every node of the tree */
    size_t used;          /* nodes of pool handed out */
    wt_yaml_node_t *root; /* pool[0] or NULL for an empty document */
};

static void set_error(wt_yaml_error_t *e, int line, int col, wt_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
set_error(wt_yaml_error_t *e, int line, int col, wt_code_t code, const char *fmt, ...)
{
    if (e == NULL)
        return;
    e->line = line;
    e->col = col;
    e->err.code = code;
    e->err.sys_errno = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err.msg, sizeof e->err.msg, fmt, ap);
    va_end(ap);
}

/* Line and column of a byte offset (libyaml reader errors give offsets). */
static void
offset_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void
parser_error(const yaml_parser_t *p, const char *text, size_t len, wt_yaml_error_t *e)
{
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "unknown problem";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        set_error(e, 0, 0, WT_ELIMIT, "invalid YAML: out of memory");
        return;
    case YAML_READER_ERROR:
        offset_pos(text, len, p->problem_offset, &line, &col);
        set_error(e, line, col, WT_EINVAL, "invalid YAML: %s", problem);
        return;
    default:
        break;
    }
    if (p->context != NULL)
        set_error(e, line, col, WT_EINVAL, "invalid YAML: %s (%s at line %d column %d)", problem,
                  p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    else
        set_error(e, line, col, WT_EINVAL, "invalid YAML: %s", problem);
}

/* First pass: adds the expanded size of node idx to *total; -1 with e set
 * once a cap is passed. */
static int
count_nodes(yaml_document_t *doc, int idx, int depth, size_t *total, wt_yaml_error_t *e)
{
    yaml_node_t *y = yaml_document_get_node(doc, idx);
    if (y == NULL) {
        set_error(e, 0, 0, WT_EINVAL, "invalid YAML: dangling node reference");
        return -1;
    }
    if (++*total > WT_YAML_MAX_NODES) {
        set_error(e, (int)y->start_mark.line + 1, (int)y->start_mark.column + 1, WT_ELIMIT,
                  "YAML document too large: more than %d nodes (aliases expanded)",
                  WT_YAML_MAX_NODES);
        return -1;
    }
    if (y->type != YAML_SCALAR_NODE && depth >= WT_YAML_MAX_DEPTH) {
        set_error(e, (int)y->start_mark.line + 1, (int)y->start_mark.column + 1, WT_ELIMIT,
                  "YAML nesting deeper than %d levels (recursive alias?)", WT_YAML_MAX_DEPTH);
        return -1;
    }
    if (y->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = y->data.sequence.items.start; it < y->data.sequence.items.top;
             it++)
            if (count_nodes(doc, *it, depth + 1, total, e) != 0)
                return -1;
    } else if (y->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *pr = y->data.mapping.pairs.start; pr < y->data.mapping.pairs.top;
             pr++)
            if (count_nodes(doc, pr->key, depth + 1, total, e) != 0 ||
                count_nodes(doc, pr->value, depth + 1, total, e) != 0)
                return -1;
    }
    return 0;
}

static wt_yaml_style_t
style_of(yaml_scalar_style_t s)
{
    switch (s) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE:
        return WT_YAML_SINGLE;
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
        return WT_YAML_DOUBLE;
    case YAML_LITERAL_SCALAR_STYLE:
        return WT_YAML_LITERAL;
    case YAML_FOLDED_SCALAR_STYLE:
        return WT_YAML_FOLDED;
    default:
        return WT_YAML_PLAIN;
    }
}

static wt_yaml_node_t *
take(wt_yaml_t *self, size_t n)
{
    wt_yaml_node_t *p = self->pool + self->used;
    self->used += n;
    return p;
}

static int
key_cmp(const void *a, const void *b)
{
    const wt_yaml_node_t *x = *(wt_yaml_node_t *const *)a, *y = *(wt_yaml_node_t *const *)b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    int c = memcmp(x->text, y->text, x->len);
    if (c != 0)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

static int
same_text(const wt_yaml_node_t *a, const wt_yaml_node_t *b)
{
    return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* Duplicate scalar keys of a filled mapping; sorting keeps it n log n.
 * Reports the earliest second occurrence and where the key first was. */
static int
check_duplicates(const wt_yaml_node_t *map, wt_yaml_error_t *e)
{
    if (map->n < 2)
        return 0;
    const wt_yaml_node_t **keys = wt_xmalloc(map->n * sizeof *keys);
    size_t k = 0;
    for (size_t i = 0; i < map->n; i++)
        if (map->kids[2 * i].kind == WT_YAML_SCALAR)
            keys[k++] = &map->kids[2 * i];
    qsort(keys, k, sizeof *keys, key_cmp);
    const wt_yaml_node_t *dup = NULL, *first = NULL;
    for (size_t i = 1; i < k; i++) {
        /* in a run of equal keys (sorted by position) the second is the dup */
        if (!same_text(keys[i], keys[i - 1]) || (i >= 2 && same_text(keys[i - 1], keys[i - 2])))
            continue;
        if (dup == NULL || keys[i]->line < dup->line ||
            (keys[i]->line == dup->line && keys[i]->col < dup->col)) {
            dup = keys[i];
            first = keys[i - 1];
        }
    }
    if (dup != NULL)
        set_error(e, dup->line, dup->col, WT_EINVAL,
                  "duplicate key '%.*s' (first at line %d column %d)",
                  dup->len > 60 ? 60 : (int)dup->len, dup->text, first->line, first->col);
    free(keys);
    return dup ? -1 : 0;
}

/* Second pass: copies node idx into dst (sizes already checked). */
static int
fill(wt_yaml_t *self, int idx, wt_yaml_node_t *dst, wt_yaml_error_t *e)
{
    yaml_node_t *y = yaml_document_get_node(&self->doc, idx);
    memset(dst, 0, sizeof *dst);
    dst->line = (int)y->start_mark.line + 1;
    dst->col = (int)y->start_mark.column + 1;
    dst->end_line = (int)y->end_mark.line + 1;
    if (y->type == YAML_SCALAR_NODE) {
        dst->kind = WT_YAML_SCALAR;
        dst->style = style_of(y->data.scalar.style);
        dst->text = (const char *)y->data.scalar.value;
        dst->len = y->data.scalar.length;
    } else if (y->type == YAML_SEQUENCE_NODE) {
        dst->kind = WT_YAML_SEQ;
        dst->n = (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
        dst->kids = take(self, dst->n);
        for (size_t i = 0; i < dst->n; i++)
            if (fill(self, y->data.sequence.items.start[i], &dst->kids[i], e) != 0)
                return -1;
    } else {
        dst->kind = WT_YAML_MAP;
        dst->n = (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
        dst->kids = take(self, 2 * dst->n);
        for (size_t i = 0; i < dst->n; i++) {
            yaml_node_pair_t *pr = &y->data.mapping.pairs.start[i];
            if (fill(self, pr->key, &dst->kids[2 * i], e) != 0 ||
                fill(self, pr->value, &dst->kids[2 * i + 1], e) != 0)
                return -1;
        }
        if (check_duplicates(dst, e) != 0)
            return -1;
    }
    return 0;
}

/* Fails when another document follows the first. */
static int
check_single_document(yaml_parser_t *p, const char *text, size_t len, wt_yaml_error_t *e)
{
    yaml_document_t next;
    if (!yaml_parser_load(p, &next)) {
        parser_error(p, text, len, e);
        return -1;
    }
    yaml_node_t *root = yaml_document_get_root_node(&next);
    int rc = 0;
    if (root != NULL) {
        set_error(e, (int)next.start_mark.line + 1, (int)next.start_mark.column + 1, WT_EINVAL,
                  "invalid YAML: a second document starts here (expected one)");
        rc = -1;
    }
    yaml_document_delete(&next);
    return rc;
}

wt_yaml_t *
wt_yaml_load_buffer(const char *text, size_t len, wt_yaml_error_t *e)
{
    if (e != NULL)
        memset(e, 0, sizeof *e);
    if (len > WT_YAML_MAX_BYTES) {
        set_error(e, 0, 0, WT_ELIMIT, "YAML input is %zu bytes, more than the %u byte limit", len,
                  WT_YAML_MAX_BYTES);
        return NULL;
    }
    wt_yaml_t *self = wt_xcalloc(1, sizeof *self);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        set_error(e, 0, 0, WT_ELIMIT, "invalid YAML: cannot initialise the parser");
        free(self);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int ok = yaml_parser_load(&p, &self->doc);
    if (!ok) {
        parser_error(&p, text, len, e);
        yaml_parser_delete(&p);
        free(self);
        return NULL;
    }
    self->has_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&self->doc);
    size_t total = 0;
    int rc = 0;
    if (root != NULL) {
        rc = count_nodes(&self->doc, 1, 0, &total, e);
        if (rc == 0) {
            self->pool = wt_xcalloc(total, sizeof *self->pool);
            self->root = take(self, 1);
            rc = fill(self, 1, self->root, e);
        }
        if (rc == 0)
            rc = check_single_document(&p, text, len, e);
    }
    yaml_parser_delete(&p);
    if (rc != 0)
        wt_yaml_destroy(&self);
    return self;
}

wt_yaml_t *
wt_yaml_load_file(const char *path, wt_yaml_error_t *e)
{
    if (e != NULL)
        memset(e, 0, sizeof *e);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        set_error(e, 0, 0, WT_EIO, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        set_error(e, 0, 0, WT_EIO, "cannot read '%s': is a directory", path);
        return NULL;
    }
    size_t cap = WT_YAML_MAX_BYTES + 1, n = 0;
    char *buf =
        wt_xmalloc(st.st_size > 0 && (size_t)st.st_size < cap ? (size_t)st.st_size + 1 : 65536);
    size_t have = st.st_size > 0 && (size_t)st.st_size < cap ? (size_t)st.st_size + 1 : 65536;
    for (;;) {
        if (n == have) {
            have = have * 2 > cap ? cap : have * 2;
            buf = wt_xrealloc(buf, have);
        }
        size_t got = fread(buf + n, 1, have - n, f);
        n += got;
        if (got == 0 || n >= cap)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    wt_yaml_t *self = NULL;
    if (rerr)
        set_error(e, 0, 0, WT_EIO, "cannot read '%s': read error", path);
    else if (n > WT_YAML_MAX_BYTES)
        set_error(e, 0, 0, WT_ELIMIT, "'%s' is larger than the %u byte limit for YAML files", path,
                  WT_YAML_MAX_BYTES);
    else
        self = wt_yaml_load_buffer(buf, n, e);
    free(buf);
    return self;
}

void
wt_yaml_destroy(wt_yaml_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_yaml_t *self = *self_p;
    if (self->has_doc)
        yaml_document_delete(&self->doc);
    free(self->pool);
    free(self);
    *self_p = NULL;
}

const wt_yaml_node_t *
wt_yaml_root(const wt_yaml_t *self)
{
    return self ? self->root : NULL;
}

wt_yaml_kind_t
wt_yaml_kind(const wt_yaml_node_t *node)
{
    return node->kind;
}

const char *
wt_yaml_kind_name(const wt_yaml_node_t *node)
{
    if (node == NULL)
        return "nothing";
    return node->kind == WT_YAML_MAP   ? "mapping"
           : node->kind == WT_YAML_SEQ ? "sequence"
                                       : "scalar";
}

int
wt_yaml_line(const wt_yaml_node_t *node)
{
    return node->line;
}

int
wt_yaml_col(const wt_yaml_node_t *node)
{
    return node->col;
}

int
wt_yaml_end_line(const wt_yaml_node_t *node)
{
    return node->end_line;
}

const char *
wt_yaml_text(const wt_yaml_node_t *node)
{
    return node && node->kind == WT_YAML_SCALAR ? node->text : NULL;
}

size_t
wt_yaml_text_len(const wt_yaml_node_t *node)
{
    return node && node->kind == WT_YAML_SCALAR ? node->len : 0;
}

wt_yaml_style_t
wt_yaml_style(const wt_yaml_node_t *node)
{
    return node->style;
}

int
wt_yaml_is_plain(const wt_yaml_node_t *node)
{
    return node && node->kind == WT_YAML_SCALAR && node->style == WT_YAML_PLAIN;
}

int
wt_yaml_is_null(const wt_yaml_node_t *node)
{
    if (!wt_yaml_is_plain(node))
        return 0;
    static const char *const forms[] = {"", "~", "null", "Null", "NULL"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (strlen(forms[i]) == node->len && memcmp(node->text, forms[i], node->len) == 0)
            return 1;
    return 0;
}

int
wt_yaml_bool(const wt_yaml_node_t *node, int *out)
{
    if (!wt_yaml_is_plain(node))
        return -1;
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False",
                                                                              "FALSE"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(node->text, yes[i]) == 0)
            return *out = 1, 0;
        if (strcmp(node->text, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

int
wt_yaml_int(const wt_yaml_node_t *node, long long *out)
{
    if (!wt_yaml_is_plain(node) || node->len == 0 || strlen(node->text) != node->len)
        return -1;
    const char *s = node->text;
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (s[i] == '\0')
        return -1;
    for (size_t j = i; s[j]; j++)
        if (s[j] < '0' || s[j] > '9')
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

size_t
wt_yaml_len(const wt_yaml_node_t *node)
{
    return node && node->kind != WT_YAML_SCALAR ? node->n : 0;
}

const wt_yaml_node_t *
wt_yaml_seq_at(const wt_yaml_node_t *node, size_t i)
{
    return node && node->kind == WT_YAML_SEQ && i < node->n ? &node->kids[i] : NULL;
}

const wt_yaml_node_t *
wt_yaml_map_key_at(const wt_yaml_node_t *node, size_t i)
{
    return node && node->kind == WT_YAML_MAP && i < node->n ? &node->kids[2 * i] : NULL;
}

const wt_yaml_node_t *
wt_yaml_map_value_at(const wt_yaml_node_t *node, size_t i)
{
    return node && node->kind == WT_YAML_MAP && i < node->n ? &node->kids[2 * i + 1] : NULL;
}

const wt_yaml_node_t *
wt_yaml_map_get(const wt_yaml_node_t *node, const char *key)
{
    if (node == NULL || node->kind != WT_YAML_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < node->n; i++) {
        const wt_yaml_node_t *k = &node->kids[2 * i];
        if (k->kind == WT_YAML_SCALAR && k->len == klen && memcmp(k->text, key, klen) == 0)
            return &node->kids[2 * i + 1];
    }
    return NULL;
}
