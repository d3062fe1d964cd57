/* wt_expr - recursive-descent parser for the pipeline condition language
 * into a small tree, and its evaluator over a jansson scope. The parser
 * bounds text length and nesting depth so hostile input cannot exhaust the
 * stack; evaluation recursion is bounded by the tree depth. */
#include "wt_expr.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_expr_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    N_LIT,   /* lit */
    N_PATH,  /* segs[nsegs] */
    N_ARRAY, /* kids[nkids] */
    N_NOT,   /* kids[0] */
    N_AND,   /* kids[nkids], nkids >= 2 */
    N_OR,    /* kids[nkids], nkids >= 2 */
    N_CMP,   /* kids[0] op kids[1] */
} node_kind_t;

typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN } cmp_op_t;

typedef struct node {
    node_kind_t kind;
    cmp_op_t op;   /* N_CMP */
    size_t offset; /* in the expression's own text */
    json_t *lit;   /* N_LIT, owned */
    char **segs;   /* N_PATH, owned */
    int nsegs;
    struct node **kids; /* owned */
    int nkids;
} node_t;

struct wt_expr {
    char *text; /* owned */
    node_t *root;
};

/* ---- lexer ------------------------------------------------------------ */

typedef enum {
    T_END, /* end of text, or "}}" when embedded */
    T_STR, /* decoded into parser.sbuf */
    T_NUM,
    T_PATH, /* IDENT ( "." (IDENT | DIGITS) )* */
    T_TRUE,
    T_FALSE,
    T_NULL,
    T_IN,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
    T_OR,
    T_AND,
    T_NOT,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
} tok_type_t;

typedef struct tok {
    tok_type_t type;
    size_t off; /* absolute offset in the whole text */
    size_t len;
} tok_t;

typedef struct parser {
    const char *s; /* whole text, NUL-terminated */
    size_t start;  /* where the expression begins */
    int embedded;  /* stop at "}}" */
    int depth;     /* current nesting */
    int failed;    /* err already set */
    wt_err_t *err;
    size_t *err_offset;
    tok_t tok;     /* current token */
    wt_buf_t sbuf; /* decoded text of a T_STR token */
} parser_t;

static int fail_at(parser_t *p, size_t off, wt_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail_at(parser_t *p, size_t off, wt_code_t code, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = 1;
    if (p->err_offset)
        *p->err_offset = off;
    if (p->err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
        va_end(ap);
        p->err->code = code;
        p->err->sys_errno = 0;
    }
    return -1;
}

static int
is_ident_start(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int
is_ident_char(int c)
{
    return is_ident_start(c) || is_digit(c) || c == '-';
}

static int
is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Describes the current token for "found ..." in messages: at most 20
 * bytes of it, anything but printable ASCII shown as '?' so the message is
 * always valid UTF-8. */
static void
describe_tok(const parser_t *p, char *out, size_t cap)
{
    const tok_t *t = &p->tok;
    if (t->type == T_END) {
        snprintf(out, cap, "%s", p->s[t->off] == '\0' ? "end of text" : "'}}'");
        return;
    }
    char text[24];
    size_t n = t->len > 20 ? 20 : t->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p->s[t->off + i];
        text[i] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    text[n] = '\0';
    const char *more = t->len > n ? "..." : "";
    if (t->type == T_STR)
        snprintf(out, cap, "string %s%s", text, more);
    else
        snprintf(out, cap, "'%s%s'", text, more);
}

static int
hex_val(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at s; -1 when they are not. */
static long
hex4(const char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_val((unsigned char)s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static void
put_utf8(wt_buf_t *b, unsigned long cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    wt_buf_append(b, u, n, NULL);
}

/* \uXXXX at s[i] (i at the backslash), with a surrogate pair when needed.
 * Returns the bytes consumed or -1. */
static int
lex_unicode(parser_t *p, size_t i)
{
    const char *s = p->s;
    long hi = hex4(s + i + 2);
    if (hi < 0)
        return fail_at(p, i, WT_EINVAL, "bad escape '\\u' at offset %zu: need 4 hex digits", i);
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return fail_at(p, i, WT_EINVAL, "bad escape at offset %zu: lone low surrogate", i);
    if (hi < 0xD800 || hi > 0xDBFF) {
        if (hi == 0)
            return fail_at(p, i, WT_EINVAL, "bad escape at offset %zu: '\\u0000' is not allowed",
                           i);
        put_utf8(&p->sbuf, (unsigned long)hi);
        return 6;
    }
    long lo = s[i + 6] == '\\' && s[i + 7] == 'u' ? hex4(s + i + 8) : -1;
    if (lo < 0xDC00 || lo > 0xDFFF)
        return fail_at(p, i, WT_EINVAL,
                       "bad escape at offset %zu: high surrogate without a low one", i);
    put_utf8(&p->sbuf,
             0x10000UL + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00));
    return 12;
}

/* A quoted string at p->tok.off; decodes into p->sbuf. */
static int
lex_string(parser_t *p)
{
    const char *s = p->s;
    size_t start = p->tok.off, i = start + 1;
    char q = s[start];
    wt_buf_reset(&p->sbuf);
    for (;;) {
        char c = s[i];
        if (c == '\0')
            return fail_at(p, start, WT_EINVAL, "unterminated string starting at offset %zu",
                           start);
        if (c == q)
            break;
        if (c != '\\') {
            size_t run = i;
            while (s[run] != '\0' && s[run] != q && s[run] != '\\')
                run++;
            wt_buf_append(&p->sbuf, s + i, run - i, NULL);
            i = run;
            continue;
        }
        static const char esc_in[] = "ntrbf\\'\"/", esc_out[] = "\n\t\r\b\f\\'\"/";
        char e = s[i + 1];
        const char *hit = e != '\0' ? strchr(esc_in, e) : NULL;
        if (e == 'u') {
            int n = lex_unicode(p, i);
            if (n < 0)
                return -1;
            i += (size_t)n;
            continue;
        }
        if (e == '\0')
            return fail_at(p, start, WT_EINVAL, "unterminated string starting at offset %zu",
                           start);
        if (hit == NULL && (unsigned char)e >= 0x20 && (unsigned char)e < 0x7F)
            return fail_at(p, i, WT_EINVAL, "unknown escape '\\%c' at offset %zu", e, i);
        if (hit == NULL)
            return fail_at(p, i, WT_EINVAL, "unknown escape at offset %zu", i);
        char out = esc_out[hit - esc_in];
        wt_buf_append(&p->sbuf, &out, 1, NULL);
        i += 2;
    }
    p->tok.type = T_STR;
    p->tok.len = i + 1 - start;
    return 0;
}

/* -?DIGITS(.DIGITS)?([eE][+-]?DIGITS)? not followed by a name character. */
static int
lex_number(parser_t *p)
{
    const char *s = p->s;
    size_t start = p->tok.off, i = start;
    if (s[i] == '-')
        i++;
    while (is_digit(s[i]))
        i++;
    if (s[i] == '.' && is_digit(s[i + 1])) {
        i++;
        while (is_digit(s[i]))
            i++;
    }
    if ((s[i] == 'e' || s[i] == 'E') &&
        (is_digit(s[i + 1]) || ((s[i + 1] == '+' || s[i + 1] == '-') && is_digit(s[i + 2])))) {
        i += 2;
        while (is_digit(s[i]))
            i++;
    }
    if (is_ident_char(s[i]) || s[i] == '.') {
        size_t end = i;
        while (is_ident_char(s[end]) || s[end] == '.')
            end++;
        return fail_at(p, start, WT_EINVAL, "invalid number '%.*s' at offset %zu",
                       (int)(end - start > 40 ? 40 : end - start), s + start, start);
    }
    p->tok.type = T_NUM;
    p->tok.len = i - start;
    return 0;
}

/* A path; the words true, false, null and in alone are keywords. */
static int
lex_path(parser_t *p)
{
    const char *s = p->s;
    size_t start = p->tok.off, i = start;
    while (is_ident_char(s[i]))
        i++;
    size_t first_end = i;
    while (s[i] == '.') {
        size_t seg = ++i;
        while (is_ident_char(s[i]))
            i++;
        if (i == seg)
            return fail_at(p, seg, WT_EINVAL, "expected a name or index after '.' at offset %zu",
                           seg - 1);
        int digits = 1;
        for (size_t k = seg; k < i; k++)
            digits &= is_digit(s[k]);
        if (!digits && !is_ident_start(s[seg]))
            return fail_at(p, seg, WT_EINVAL,
                           "invalid path segment '%.*s' at offset %zu: use a name or all digits",
                           (int)(i - seg > 40 ? 40 : i - seg), s + seg, seg);
    }
    p->tok.type = T_PATH;
    p->tok.len = i - start;
    if (i == first_end) {
        static const struct {
            const char *word;
            tok_type_t type;
        } kw[] = {{"true", T_TRUE}, {"false", T_FALSE}, {"null", T_NULL}, {"in", T_IN}};

        for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++)
            if (strlen(kw[k].word) == p->tok.len && memcmp(s + start, kw[k].word, p->tok.len) == 0)
                p->tok.type = kw[k].type;
    }
    return 0;
}

static int
bad_operator(parser_t *p, size_t off, size_t len, const char *suggest)
{
    return fail_at(p, off, WT_EINVAL, "unknown operator '%.*s' at offset %zu; did you mean '%s'?",
                   (int)len, p->s + off, off, suggest);
}

/* Operators and punctuation; returns 1 when c started none of them. */
static int
lex_punct(parser_t *p)
{
    const char *s = p->s;
    size_t i = p->tok.off;
    char c = s[i], d = s[i + 1];
    tok_type_t t;
    size_t len = 1;
    switch (c) {
    case '(':
        t = T_LPAREN;
        break;
    case ')':
        t = T_RPAREN;
        break;
    case '[':
        t = T_LBRACK;
        break;
    case ']':
        t = T_RBRACK;
        break;
    case ',':
        t = T_COMMA;
        break;
    case '<':
        t = d == '=' ? T_LE : T_LT;
        len = d == '=' ? 2 : 1;
        break;
    case '>':
        t = d == '=' ? T_GE : T_GT;
        len = d == '=' ? 2 : 1;
        break;
    case '!':
        if (d == '=' && s[i + 2] == '=')
            return bad_operator(p, i, 3, "!=");
        t = d == '=' ? T_NE : T_NOT;
        len = d == '=' ? 2 : 1;
        break;
    case '=':
        if (d == '=' && s[i + 2] == '=')
            return bad_operator(p, i, 3, "==");
        if (d == '<')
            return bad_operator(p, i, 2, "<=");
        if (d == '>')
            return bad_operator(p, i, 2, ">=");
        if (d != '=')
            return bad_operator(p, i, 1, "==");
        t = T_EQ;
        len = 2;
        break;
    case '&':
        if (d != '&')
            return bad_operator(p, i, 1, "&&");
        t = T_AND;
        len = 2;
        break;
    case '|':
        if (d != '|')
            return bad_operator(p, i, 1, "||");
        t = T_OR;
        len = 2;
        break;
    default:
        return 1;
    }
    p->tok.type = t;
    p->tok.len = len;
    return 0;
}

/* Advances to the next token. */
static int
lex(parser_t *p)
{
    const char *s = p->s;
    size_t i = p->tok.off + p->tok.len;
    while (is_space((unsigned char)s[i]))
        i++;
    p->tok.off = i;
    p->tok.len = 0;
    if (i - p->start > WT_EXPR_MAX_BYTES)
        return fail_at(p, i, WT_ELIMIT, "expression too long: more than %d bytes",
                       WT_EXPR_MAX_BYTES);
    unsigned char c = (unsigned char)s[i];
    if (c == '\0' || (p->embedded && c == '}' && s[i + 1] == '}')) {
        p->tok.type = T_END;
        return 0;
    }
    int r;
    if (c == '"' || c == '\'')
        r = lex_string(p);
    else if (is_digit(c) || (c == '-' && is_digit((unsigned char)s[i + 1])))
        r = lex_number(p);
    else if (is_ident_start(c))
        r = lex_path(p);
    else
        r = lex_punct(p);
    if (r < 0)
        return -1;
    if (r == 0 && i + p->tok.len - p->start > WT_EXPR_MAX_BYTES)
        return fail_at(p, i, WT_ELIMIT, "expression too long: more than %d bytes",
                       WT_EXPR_MAX_BYTES);
    if (r == 0)
        return 0;
    if (c >= 0x20 && c < 0x7F)
        return fail_at(p, i, WT_EINVAL, "unexpected character '%c' at offset %zu", c, i);
    return fail_at(p, i, WT_EINVAL, "unexpected byte 0x%02x at offset %zu", c, i);
}

/* ---- tree ------------------------------------------------------------- */

static void
node_free(node_t *n)
{
    if (n == NULL)
        return;
    json_decref(n->lit);
    for (int i = 0; i < n->nsegs; i++)
        free(n->segs[i]);
    free(n->segs);
    for (int i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n);
}

static node_t *
node_new(const parser_t *p, node_kind_t kind, size_t abs_off)
{
    node_t *n = wt_xcalloc(1, sizeof *n);
    n->kind = kind;
    n->offset = abs_off - p->start;
    return n;
}

static void
node_add(node_t *n, node_t *kid)
{
    n->kids = wt_xrealloc(n->kids, (size_t)(n->nkids + 1) * sizeof *n->kids);
    n->kids[n->nkids++] = kid;
}

/* ---- parser ----------------------------------------------------------- */

static node_t *parse_or(parser_t *p);

static node_t *
expect_fail(parser_t *p, const char *what)
{
    char found[48];
    describe_tok(p, found, sizeof found);
    fail_at(p, p->tok.off, WT_EINVAL, "expected %s at offset %zu, found %s", what, p->tok.off,
            found);
    return NULL;
}

static node_t *
parse_number(parser_t *p)
{
    char *text = wt_xstrndup(p->s + p->tok.off, p->tok.len);
    int is_int = strpbrk(text, ".eE") == NULL;
    json_t *v = NULL;
    errno = 0;
    char *end;
    long long ll = is_int ? strtoll(text, &end, 10) : 0;
    if (is_int && errno == 0 && *end == '\0') {
        v = json_integer(ll);
    } else {
        errno = 0;
        double d = strtod(text, &end);
        if (*end == '\0' && isfinite(d))
            v = json_real(d);
    }
    free(text);
    if (v == NULL) {
        fail_at(p, p->tok.off, WT_EINVAL, "number '%.*s' at offset %zu is out of range",
                (int)(p->tok.len > 40 ? 40 : p->tok.len), p->s + p->tok.off, p->tok.off);
        return NULL;
    }
    node_t *n = node_new(p, N_LIT, p->tok.off);
    n->lit = v;
    return lex(p) == 0 ? n : (node_free(n), NULL);
}

static node_t *
parse_path(parser_t *p)
{
    node_t *n = node_new(p, N_PATH, p->tok.off);
    const char *s = p->s + p->tok.off, *end = s + p->tok.len;
    while (s < end) {
        const char *dot = memchr(s, '.', (size_t)(end - s));
        const char *seg_end = dot ? dot : end;
        n->segs = wt_xrealloc(n->segs, (size_t)(n->nsegs + 1) * sizeof *n->segs);
        n->segs[n->nsegs++] = wt_xstrndup(s, (size_t)(seg_end - s));
        s = dot ? dot + 1 : end;
    }
    return lex(p) == 0 ? n : (node_free(n), NULL);
}

static node_t *
parse_list(parser_t *p)
{
    size_t open = p->tok.off;
    node_t *n = node_new(p, N_ARRAY, open);
    if (lex(p) != 0)
        goto fail;
    if (p->tok.type == T_RBRACK)
        return lex(p) == 0 ? n : (node_free(n), NULL);
    for (;;) {
        node_t *kid = parse_or(p);
        if (kid == NULL)
            goto fail;
        node_add(n, kid);
        if (p->tok.type == T_RBRACK)
            break;
        if (p->tok.type != T_COMMA) {
            char what[64];
            snprintf(what, sizeof what, "',' or ']' in the list at offset %zu", open);
            char found[48];
            describe_tok(p, found, sizeof found);
            fail_at(p, p->tok.off, WT_EINVAL, "expected %s, found %s at offset %zu", what, found,
                    p->tok.off);
            goto fail;
        }
        if (lex(p) != 0)
            goto fail;
    }
    if (lex(p) != 0)
        goto fail;
    return n;
fail:
    node_free(n);
    return NULL;
}

static node_t *
parse_primary(parser_t *p)
{
    tok_t t = p->tok;
    node_t *n;
    switch (t.type) {
    case T_STR: {
        json_t *v = json_stringn(wt_buf_str(&p->sbuf), p->sbuf.len);
        if (v == NULL) {
            fail_at(p, t.off, WT_EINVAL, "invalid UTF-8 in the string at offset %zu", t.off);
            return NULL;
        }
        n = node_new(p, N_LIT, t.off);
        n->lit = v;
        return lex(p) == 0 ? n : (node_free(n), NULL);
    }
    case T_NUM:
        return parse_number(p);
    case T_TRUE:
    case T_FALSE:
    case T_NULL:
        n = node_new(p, N_LIT, t.off);
        n->lit = t.type == T_NULL ? json_null() : json_boolean(t.type == T_TRUE);
        return lex(p) == 0 ? n : (node_free(n), NULL);
    case T_PATH:
        return parse_path(p);
    case T_LBRACK:
        return parse_list(p);
    case T_LPAREN:
        if (lex(p) != 0)
            return NULL;
        n = parse_or(p);
        if (n == NULL)
            return NULL;
        if (p->tok.type != T_RPAREN) {
            char found[48];
            describe_tok(p, found, sizeof found);
            fail_at(p, p->tok.off, WT_EINVAL, "expected ')' after '(' at offset %zu, found %s",
                    t.off, found);
            node_free(n);
            return NULL;
        }
        return lex(p) == 0 ? n : (node_free(n), NULL);
    default:
        return expect_fail(p, "a value");
    }
}

/* The comparison a token stands for; 0 when it is none. */
static int
cmp_op(tok_type_t t, cmp_op_t *op)
{
    static const struct {
        tok_type_t tok;
        cmp_op_t op;
    } ops[] = {{T_EQ, OP_EQ}, {T_NE, OP_NE}, {T_LT, OP_LT}, {T_LE, OP_LE},
               {T_GT, OP_GT}, {T_GE, OP_GE}, {T_IN, OP_IN}};

    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (ops[i].tok == t) {
            *op = ops[i].op;
            return 1;
        }
    }
    return 0;
}

static node_t *
parse_cmp(parser_t *p)
{
    node_t *left = parse_primary(p);
    cmp_op_t op;
    if (left == NULL || !cmp_op(p->tok.type, &op))
        return left;
    node_t *n = node_new(p, N_CMP, p->tok.off);
    n->op = op;
    node_add(n, left);
    if (lex(p) != 0) {
        node_free(n);
        return NULL;
    }
    node_t *right = parse_primary(p);
    if (right == NULL) {
        node_free(n);
        return NULL;
    }
    node_add(n, right);
    if (cmp_op(p->tok.type, &op)) {
        fail_at(p, p->tok.off, WT_EINVAL,
                "comparisons do not chain: unexpected '%.*s' at offset %zu; use parentheses",
                (int)p->tok.len, p->s + p->tok.off, p->tok.off);
        node_free(n);
        return NULL;
    }
    return n;
}

static node_t *
parse_not(parser_t *p)
{
    if (++p->depth > WT_EXPR_MAX_DEPTH) {
        fail_at(p, p->tok.off, WT_ELIMIT,
                "expression nested too deeply at offset %zu: more than %d levels", p->tok.off,
                WT_EXPR_MAX_DEPTH);
        return NULL;
    }
    node_t *n;
    if (p->tok.type == T_NOT) {
        n = node_new(p, N_NOT, p->tok.off);
        node_t *kid = lex(p) == 0 ? parse_not(p) : NULL;
        if (kid == NULL) {
            node_free(n);
            n = NULL;
        } else {
            node_add(n, kid);
        }
    } else {
        n = parse_cmp(p);
    }
    p->depth--;
    return n;
}

/* and := not ( "&&" not )*   or := and ( "||" and )*   (n-ary nodes) */
static node_t *
parse_chain(parser_t *p, int is_or)
{
    node_t *first = is_or ? parse_chain(p, 0) : parse_not(p);
    tok_type_t op = is_or ? T_OR : T_AND;
    if (first == NULL || p->tok.type != op)
        return first;
    node_t *n = node_new(p, is_or ? N_OR : N_AND, p->tok.off);
    node_add(n, first);
    while (p->tok.type == op) {
        node_t *kid = lex(p) == 0 ? (is_or ? parse_chain(p, 0) : parse_not(p)) : NULL;
        if (kid == NULL) {
            node_free(n);
            return NULL;
        }
        node_add(n, kid);
    }
    return n;
}

static node_t *
parse_or(parser_t *p)
{
    return parse_chain(p, 1);
}

/* After a whole expression only the end may follow. */
static int
expect_end(parser_t *p)
{
    if (p->tok.type == T_END)
        return 0;
    const char *w = p->s + p->tok.off;
    const char *hint = "";
    if (p->tok.type == T_PATH && p->tok.len == 3 && memcmp(w, "and", 3) == 0)
        hint = "; did you mean '&&'?";
    else if (p->tok.type == T_PATH && p->tok.len == 2 && memcmp(w, "or", 2) == 0)
        hint = "; did you mean '||'?";
    char found[48];
    describe_tok(p, found, sizeof found);
    return fail_at(
        p, p->tok.off, WT_EINVAL, "unexpected %s at offset %zu: expected %s%s", found, p->tok.off,
        p->embedded ? "an operator or '}}'" : "an operator or the end of the expression", hint);
}

static wt_expr_t *
parse_at(const char *text, size_t start, int embedded, size_t *end, size_t *err_offset,
         wt_err_t *err)
{
    parser_t p = {
        .s = text, .start = start, .embedded = embedded, .err = err, .err_offset = err_offset};
    p.tok.off = start;
    wt_buf_init(&p.sbuf, WT_EXPR_MAX_BYTES);
    node_t *root = NULL;
    if (lex(&p) == 0 && p.tok.type == T_END)
        expect_fail(&p, "an expression");
    else if (!p.failed)
        root = parse_or(&p);
    if (root != NULL && expect_end(&p) != 0) {
        node_free(root);
        root = NULL;
    }
    wt_buf_release(&p.sbuf);
    if (root == NULL)
        return NULL;
    wt_expr_t *self = wt_xcalloc(1, sizeof *self);
    self->text = wt_xstrndup(text + start, p.tok.off - start);
    self->root = root;
    if (end)
        *end = p.tok.off;
    return self;
}

wt_expr_t *
wt_expr_parse(const char *text, size_t *err_offset, wt_err_t *err)
{
    if (text == NULL) {
        if (err_offset)
            *err_offset = 0;
        wt_err_set(err, WT_EINVAL, "no expression given");
        return NULL;
    }
    size_t n = strnlen(text, WT_EXPR_MAX_BYTES + 1);
    if (n > WT_EXPR_MAX_BYTES) {
        if (err_offset)
            *err_offset = WT_EXPR_MAX_BYTES;
        wt_err_set(err, WT_ELIMIT, "expression too long: more than %d bytes", WT_EXPR_MAX_BYTES);
        return NULL;
    }
    wt_expr_t *self = parse_at(text, 0, 0, NULL, err_offset, err);
    if (self != NULL) { /* keep the text exactly as given, trailing spaces too */
        free(self->text);
        self->text = wt_xstrdup(text);
    }
    return self;
}

wt_expr_t *
wt_expr_parse_embedded(const char *text, size_t start, size_t *end, size_t *err_offset,
                       wt_err_t *err)
{
    return parse_at(text, start, 1, end, err_offset, err);
}

void
wt_expr_destroy(wt_expr_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_expr_t *self = *self_p;
    node_free(self->root);
    free(self->text);
    free(self);
    *self_p = NULL;
}

const char *
wt_expr_text(const wt_expr_t *self)
{
    return self ? self->text : NULL;
}

/* ---- evaluation ------------------------------------------------------- */

typedef struct num {
    int is_int;
    long long i;
    double d;
} num_t;

/* A number as decimal text: [ws][+-]digits[.digits][(e|E)[+-]digits][ws]
 * (or .digits); no hex, inf or nan. */
static int
num_from_string(const char *s, size_t len, num_t *out)
{
    size_t i = 0, j = len;
    while (i < j && is_space((unsigned char)s[i]))
        i++;
    while (j > i && is_space((unsigned char)s[j - 1]))
        j--;
    size_t k = i, digits = 0;
    if (k < j && (s[k] == '+' || s[k] == '-'))
        k++;
    while (k < j && is_digit(s[k]))
        k++, digits++;
    int is_int = 1;
    if (k < j && s[k] == '.') {
        is_int = 0;
        k++;
        while (k < j && is_digit(s[k]))
            k++, digits++;
    }
    if (digits == 0)
        return 0;
    if (k < j && (s[k] == 'e' || s[k] == 'E')) {
        is_int = 0;
        k++;
        if (k < j && (s[k] == '+' || s[k] == '-'))
            k++;
        size_t ed = 0;
        while (k < j && is_digit(s[k]))
            k++, ed++;
        if (ed == 0)
            return 0;
    }
    if (k != j || j - i > 400)
        return 0;
    char buf[402];
    memcpy(buf, s + i, j - i);
    buf[j - i] = '\0';
    char *end;
    errno = 0;
    out->is_int = 0;
    if (is_int) {
        out->i = strtoll(buf, &end, 10);
        if (errno == 0) {
            out->is_int = 1;
            out->d = (double)out->i;
            return 1;
        }
    }
    out->d = strtod(buf, &end);
    return isfinite(out->d);
}

/* A number, or a string that reads as one. */
static int
as_num(const json_t *v, num_t *out)
{
    if (json_is_integer(v)) {
        out->is_int = 1;
        out->i = json_integer_value(v);
        out->d = (double)out->i;
        return 1;
    }
    if (json_is_real(v)) {
        out->is_int = 0;
        out->d = json_real_value(v);
        return 1;
    }
    if (json_is_string(v))
        return num_from_string(json_string_value(v), json_string_length(v), out);
    return 0;
}

static int
num_cmp(const num_t *a, const num_t *b)
{
    if (a->is_int && b->is_int)
        return (a->i > b->i) - (a->i < b->i);
    return (a->d > b->d) - (a->d < b->d);
}

static int
str_cmp(const json_t *a, const json_t *b)
{
    size_t la = json_string_length(a), lb = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return (la > lb) - (la < lb);
}

/* JSON equality where numbers compare by value and a number equals a
 * string that reads as the same number. */
static int
values_equal(const json_t *a, const json_t *b)
{
    num_t x, y;
    if (json_is_number(a) || json_is_number(b)) {
        if (!(json_is_number(a) && json_is_number(b)) && !(json_is_string(a) || json_is_string(b)))
            return 0;
        return as_num(a, &x) && as_num(b, &y) && num_cmp(&x, &y) == 0;
    }
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return str_cmp(a, b) == 0;
    case JSON_ARRAY: {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *key;
        size_t klen;
        json_t *va;
        json_object_keylen_foreach((json_t *)a, key, klen, va)
        {
            json_t *vb = json_object_getn(b, key, klen);
            if (vb == NULL || !values_equal(va, vb))
                return 0;
        }
        return 1;
    }
    default: /* true, false, null: same type is equal */
        return 1;
    }
}

/* Order of a and b into *c; 0 when they cannot be ordered. */
static int
values_order(const json_t *a, const json_t *b, int *c)
{
    num_t x, y;
    if (json_is_string(a) && json_is_string(b)) {
        *c = str_cmp(a, b);
        return 1;
    }
    if ((json_is_number(a) || json_is_number(b)) && as_num(a, &x) && as_num(b, &y)) {
        *c = num_cmp(&x, &y);
        return 1;
    }
    return 0;
}

static int
value_in(const json_t *a, const json_t *b)
{
    if (json_is_array(b)) {
        for (size_t i = 0; i < json_array_size(b); i++)
            if (values_equal(a, json_array_get(b, i)))
                return 1;
        return 0;
    }
    if (json_is_string(b) && json_is_string(a)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        return la == 0 || (la <= lb && memmem(json_string_value(b), lb, json_string_value(a), la));
    }
    if (json_is_object(b) && json_is_string(a))
        return json_object_getn(b, json_string_value(a), json_string_length(a)) != NULL;
    return 0;
}

static json_t *
lookup(const node_t *n, const json_t *scope)
{
    const json_t *cur = scope;
    for (int i = 0; i < n->nsegs && cur != NULL; i++) {
        const char *seg = n->segs[i];
        if (json_is_object(cur)) {
            cur = json_object_get(cur, seg);
        } else if (json_is_array(cur) && is_digit((unsigned char)seg[0])) {
            char *end;
            errno = 0;
            unsigned long long idx = strtoull(seg, &end, 10);
            cur = errno == 0 && *end == '\0' && idx < json_array_size(cur)
                      ? json_array_get(cur, (size_t)idx)
                      : NULL;
        } else {
            cur = NULL;
        }
    }
    return cur ? json_incref((json_t *)cur) : json_null();
}

static json_t *eval(const node_t *n, const json_t *scope);

static int
eval_truthy(const node_t *n, const json_t *scope)
{
    json_t *v = eval(n, scope);
    int t = wt_expr_truthy(v);
    json_decref(v);
    return t;
}

static int
eval_cmp(const node_t *n, const json_t *scope)
{
    json_t *a = eval(n->kids[0], scope), *b = eval(n->kids[1], scope);
    int r = 0, c;
    switch (n->op) {
    case OP_EQ:
        r = values_equal(a, b);
        break;
    case OP_NE:
        r = !values_equal(a, b);
        break;
    case OP_LT:
        r = values_order(a, b, &c) && c < 0;
        break;
    case OP_LE:
        r = values_order(a, b, &c) && c <= 0;
        break;
    case OP_GT:
        r = values_order(a, b, &c) && c > 0;
        break;
    case OP_GE:
        r = values_order(a, b, &c) && c >= 0;
        break;
    case OP_IN:
        r = value_in(a, b);
        break;
    }
    json_decref(a);
    json_decref(b);
    return r;
}

static json_t *
eval(const node_t *n, const json_t *scope)
{
    switch (n->kind) {
    case N_LIT:
        return json_incref(n->lit);
    case N_PATH:
        return lookup(n, scope);
    case N_ARRAY: {
        json_t *arr = json_array();
        for (int i = 0; i < n->nkids; i++)
            json_array_append_new(arr, eval(n->kids[i], scope));
        return arr;
    }
    case N_NOT:
        return json_boolean(!eval_truthy(n->kids[0], scope));
    case N_AND:
        for (int i = 0; i < n->nkids; i++)
            if (!eval_truthy(n->kids[i], scope))
                return json_false();
        return json_true();
    case N_OR:
        for (int i = 0; i < n->nkids; i++)
            if (eval_truthy(n->kids[i], scope))
                return json_true();
        return json_false();
    case N_CMP:
        return json_boolean(eval_cmp(n, scope));
    }
    return json_null();
}

json_t *
wt_expr_eval(const wt_expr_t *self, const json_t *scope)
{
    if (self == NULL)
        return json_null();
    return eval(self->root, scope);
}

int
wt_expr_true(const wt_expr_t *self, const json_t *scope)
{
    return self != NULL && eval_truthy(self->root, scope);
}

int
wt_expr_truthy(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_NULL:
    case JSON_FALSE:
        return 0;
    case JSON_TRUE:
        return 1;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    case JSON_STRING:
        return json_string_length(v) != 0;
    case JSON_ARRAY:
        return json_array_size(v) != 0;
    case JSON_OBJECT:
        return json_object_size(v) != 0;
    }
    return 0;
}

static void
visit(const node_t *n, wt_expr_path_fn fn, void *ud)
{
    if (n->kind == N_PATH) {
        fn(ud, (const char *const *)n->segs, n->nsegs, n->offset);
        return;
    }
    for (int i = 0; i < n->nkids; i++)
        visit(n->kids[i], fn, ud);
}

void
wt_expr_paths(const wt_expr_t *self, wt_expr_path_fn fn, void *ud)
{
    if (self != NULL && fn != NULL)
        visit(self->root, fn, ud);
}
