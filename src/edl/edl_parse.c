/*
 * EDL lexer and parser: text -> cloak_edl (see include/cloak/edl.h, docs/EDL.md).
 *
 * A hand-written recursive-descent parser over a one-token lookahead. It stops at the first
 * error and reports it as "file:line:col: message" (1-based, columns count bytes). Everything
 * the generator relies on is checked here: every pointer has a direction and a length, size=
 * and count= name a by-value integer parameter, names cannot collide with C keywords or with
 * the names the generated code uses (edl_*, cloak_*, enclave, retval).
 */
#include "cloak/edl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EDL_MAX_TEXT ((size_t)16 << 20)

typedef enum { TOK_EOF, TOK_IDENT, TOK_INT, TOK_PUNCT } tok_kind;

typedef struct {
    tok_kind kind;
    const char *s; /* identifier text (not NUL-terminated) */
    size_t len;
    uint64_t ival; /* TOK_INT */
    char punct;    /* TOK_PUNCT */
    unsigned line, col;
} tok;

typedef struct {
    const char *text;
    size_t len, pos;
    unsigned line, col;
    const char *file;
    cloak_error *why;
    tok cur;
    cloak_edl *edl;
    int oom; /* the failure was an allocation, not the text */
} parser;

/* Where a size=/count= value was written, and what it named; kept while a function parses. */
typedef struct {
    char name[CLOAK_EDL_MAX_IDENT + 1];
    unsigned line, col;
    unsigned attr_line, attr_col; /* the '[' of the attribute list, 0 if none */
} param_src;

static const struct {
    const char *name;
    cloak_edl_type type;
} type_names[] = {
    {"void", CLOAK_EDL_VOID},         {"bool", CLOAK_EDL_BOOL},
    {"char", CLOAK_EDL_CHAR},         {"int8_t", CLOAK_EDL_INT8},
    {"uint8_t", CLOAK_EDL_UINT8},     {"int16_t", CLOAK_EDL_INT16},
    {"uint16_t", CLOAK_EDL_UINT16},   {"int32_t", CLOAK_EDL_INT32},
    {"uint32_t", CLOAK_EDL_UINT32},   {"int64_t", CLOAK_EDL_INT64},
    {"uint64_t", CLOAK_EDL_UINT64},   {"int", CLOAK_EDL_INT},
    {"unsigned", CLOAK_EDL_UNSIGNED}, {"long", CLOAK_EDL_LONG},
    {"size_t", CLOAK_EDL_SIZE},
};

const char *cloak_edl_type_name(cloak_edl_type t)
{
    if (t == CLOAK_EDL_ULONG) return "unsigned long";
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i].type == t) return type_names[i].name;
    return "?";
}

/* C keywords and the type names above cannot name a function or parameter. */
static const char *const reserved_words[] = {
    "auto",     "break",    "case",       "const",     "continue",       "default",
    "do",       "double",   "else",       "enum",      "extern",         "float",
    "for",      "goto",     "if",         "inline",    "register",       "restrict",
    "return",   "short",    "signed",     "sizeof",    "static",         "struct",
    "switch",   "typedef",  "union",      "volatile",  "while",          "true",
    "false",    "NULL",     "_Alignas",   "_Alignof",  "_Atomic",        "_Bool",
    "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local",
    "enclave",  "retval",
};

static int fail_at(parser *p, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(parser *p, unsigned line, unsigned col, const char *fmt, ...)
{
    char msg[CLOAK_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cloak_error_set(p->why, CLOAK_EINVAL, "%s:%u:%u: %s", p->file, line, col, msg);
    return -1;
}

static int nomem(parser *p)
{
    p->oom = 1;
    cloak_error_set(p->why, CLOAK_ENOMEM, "%s: out of memory while parsing", p->file);
    return -1;
}

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static void advance(parser *p)
{
    if (p->text[p->pos] == '\n') {
        p->line++;
        p->col = 1;
    } else {
        p->col++;
    }
    p->pos++;
}

/* Skip whitespace and comments. */
static int skip_space(parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            advance(p);
        } else if (c == '/' && p->pos + 1 < p->len && p->text[p->pos + 1] == '/') {
            while (p->pos < p->len && p->text[p->pos] != '\n')
                advance(p);
        } else if (c == '/' && p->pos + 1 < p->len && p->text[p->pos + 1] == '*') {
            unsigned line = p->line, col = p->col;
            advance(p);
            advance(p);
            for (;;) {
                if (p->pos + 1 >= p->len) return fail_at(p, line, col, "unterminated /* comment");
                if (p->text[p->pos] == '*' && p->text[p->pos + 1] == '/') break;
                advance(p);
            }
            advance(p);
            advance(p);
        } else {
            break;
        }
    }
    return 0;
}

/* Read the next token into p->cur. */
static int next(parser *p)
{
    if (skip_space(p)) return -1;
    tok *t = &p->cur;
    memset(t, 0, sizeof *t);
    t->line = p->line;
    t->col = p->col;
    if (p->pos >= p->len) {
        t->kind = TOK_EOF;
        return 0;
    }
    unsigned char c = (unsigned char)p->text[p->pos];
    if (is_ident_start(c)) {
        t->kind = TOK_IDENT;
        t->s = p->text + p->pos;
        while (p->pos < p->len && (is_ident_start(p->text[p->pos]) || is_digit(p->text[p->pos]))) {
            advance(p);
            t->len++;
        }
        if (t->len > CLOAK_EDL_MAX_IDENT)
            return fail_at(p, t->line, t->col, "name longer than %d characters",
                           CLOAK_EDL_MAX_IDENT);
        return 0;
    }
    if (is_digit(c)) {
        t->kind = TOK_INT;
        int hex = c == '0' && p->pos + 1 < p->len &&
                  (p->text[p->pos + 1] == 'x' || p->text[p->pos + 1] == 'X');
        unsigned base = hex ? 16 : 10, ndigits = 0;
        if (hex) {
            advance(p);
            advance(p);
        }
        for (; p->pos < p->len; advance(p)) {
            char d = p->text[p->pos];
            unsigned v;
            if (is_digit(d))
                v = (unsigned)(d - '0');
            else if (hex && d >= 'a' && d <= 'f')
                v = (unsigned)(d - 'a' + 10);
            else if (hex && d >= 'A' && d <= 'F')
                v = (unsigned)(d - 'A' + 10);
            else if (is_ident_start(d))
                return fail_at(p, p->line, p->col, "unexpected '%c' in a number", d);
            else
                break;
            if (t->ival > (UINT64_MAX - v) / base)
                return fail_at(p, t->line, t->col, "number too large");
            t->ival = t->ival * base + v;
            ndigits++;
        }
        if (hex && !ndigits) return fail_at(p, t->line, t->col, "hex number without digits");
        return 0;
    }
    if (strchr("{}()[];,=*", c) && c) {
        t->kind = TOK_PUNCT;
        t->punct = (char)c;
        advance(p);
        return 0;
    }
    if (c >= 0x21 && c < 0x7f) return fail_at(p, t->line, t->col, "unexpected character '%c'", c);
    return fail_at(p, t->line, t->col, "unexpected byte 0x%02x", c);
}

static int is_punct(const parser *p, char c)
{
    return p->cur.kind == TOK_PUNCT && p->cur.punct == c;
}
static int is_word(const parser *p, const char *w)
{
    return p->cur.kind == TOK_IDENT && p->cur.len == strlen(w) && !memcmp(p->cur.s, w, p->cur.len);
}

/* A short description of the current token for "expected X, found Y" messages. */
static void describe(const tok *t, char *buf, size_t cap)
{
    if (t->kind == TOK_EOF)
        snprintf(buf, cap, "end of file");
    else if (t->kind == TOK_INT)
        snprintf(buf, cap, "number %llu", (unsigned long long)t->ival);
    else if (t->kind == TOK_PUNCT)
        snprintf(buf, cap, "'%c'", t->punct);
    else
        snprintf(buf, cap, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
}

static int expected(parser *p, const char *what)
{
    char found[64];
    describe(&p->cur, found, sizeof found);
    return fail_at(p, p->cur.line, p->cur.col, "expected %s, found %s", what, found);
}

static int expect_punct(parser *p, char c, const char *what)
{
    if (!is_punct(p, c)) return expected(p, what);
    return next(p);
}

/* Words the generated code or C itself needs; `func` adds the cloak_ prefix rule. */
static int check_name(parser *p, const tok *t, int func)
{
    for (size_t i = 0; i < sizeof reserved_words / sizeof reserved_words[0]; i++)
        if (t->len == strlen(reserved_words[i]) && !memcmp(t->s, reserved_words[i], t->len))
            return fail_at(p, t->line, t->col, "'%.*s' is reserved and cannot be used as a name",
                           (int)t->len, t->s);
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (t->len == strlen(type_names[i].name) && !memcmp(t->s, type_names[i].name, t->len))
            return fail_at(p, t->line, t->col, "'%.*s' is a type and cannot be used as a name",
                           (int)t->len, t->s);
    if (t->len >= 4 && !memcmp(t->s, "edl_", 4))
        return fail_at(p, t->line, t->col,
                       "names starting with 'edl_' are reserved for the generated code");
    if (func && t->len >= 6 && !memcmp(t->s, "cloak_", 6))
        return fail_at(p, t->line, t->col,
                       "function names starting with 'cloak_' are reserved for cloak");
    return 0;
}

static char *tok_strdup(const tok *t)
{
    char *s = malloc(t->len + 1);
    if (s) {
        memcpy(s, t->s, t->len);
        s[t->len] = 0;
    }
    return s;
}

/* type := int8_t | ... | size_t | bool | char | void | int | long | unsigned [int | long] */
static int parse_type(parser *p, cloak_edl_type *out)
{
    if (p->cur.kind != TOK_IDENT) return expected(p, "a type");
    tok t = p->cur;
    if (is_word(p, "unsigned")) {
        if (next(p)) return -1;
        *out = CLOAK_EDL_UNSIGNED;
        if (is_word(p, "int")) return next(p);
        if (is_word(p, "long")) {
            *out = CLOAK_EDL_ULONG;
            if (next(p)) return -1;
            if (is_word(p, "long"))
                return fail_at(p, p->cur.line, p->cur.col,
                               "'long long' is not supported; use uint64_t");
            return 0;
        }
        if (is_word(p, "char") || is_word(p, "short"))
            return fail_at(p, t.line, t.col, "'unsigned %.*s' is not supported; use uint%d_t",
                           (int)p->cur.len, p->cur.s, is_word(p, "char") ? 8 : 16);
        return 0;
    }
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
        if (!is_word(p, type_names[i].name)) continue;
        *out = type_names[i].type;
        if (next(p)) return -1;
        if (*out == CLOAK_EDL_LONG && is_word(p, "long"))
            return fail_at(p, p->cur.line, p->cur.col, "'long long' is not supported; use int64_t");
        if (*out == CLOAK_EDL_LONG && is_word(p, "int"))
            return fail_at(p, p->cur.line, p->cur.col, "'long int' is not supported; use long");
        return 0;
    }
    if (is_word(p, "struct") || is_word(p, "union") || is_word(p, "enum"))
        return fail_at(p, t.line, t.col,
                       "'%.*s' types are not supported; pass the fields, or bytes with size=",
                       (int)t.len, t.s);
    return fail_at(p, t.line, t.col,
                   "unsupported type '%.*s' (supported: int8_t..int64_t, uint8_t..uint64_t, int, "
                   "unsigned, long, unsigned long, size_t, bool, char *, void)",
                   (int)(t.len > 40 ? 40 : t.len), t.s);
}

/* attrs := '[' attr (',' attr)* ']'; attr := in | out | string | size=X | count=X */
static int parse_attrs(parser *p, cloak_edl_param *prm, param_src *src)
{
    src->attr_line = p->cur.line;
    src->attr_col = p->cur.col;
    if (next(p)) return -1;
    int have_in = 0, have_out = 0, have_string = 0;
    for (;;) {
        if (p->cur.kind != TOK_IDENT)
            return expected(p, "an attribute (in, out, string, size=, count=)");
        tok a = p->cur;
        if (is_word(p, "in") || is_word(p, "out") || is_word(p, "string")) {
            int *flag = is_word(p, "in") ? &have_in : is_word(p, "out") ? &have_out : &have_string;
            if (*flag)
                return fail_at(p, a.line, a.col, "attribute '%.*s' given twice", (int)a.len, a.s);
            *flag = 1;
            if (next(p)) return -1;
        } else if (is_word(p, "size") || is_word(p, "count")) {
            int is_size = is_word(p, "size");
            if (prm->len_kind == CLOAK_EDL_LEN_SIZE || prm->len_kind == CLOAK_EDL_LEN_COUNT)
                return fail_at(p, a.line, a.col, "only one of size= and count= may be given");
            prm->len_kind = is_size ? CLOAK_EDL_LEN_SIZE : CLOAK_EDL_LEN_COUNT;
            if (next(p)) return -1;
            if (!is_punct(p, '='))
                return expected(p, is_size ? "'=' after size" : "'=' after count");
            if (next(p)) return -1;
            src->line = p->cur.line;
            src->col = p->cur.col;
            if (p->cur.kind == TOK_INT) {
                if (p->cur.ival > UINT32_MAX)
                    return fail_at(p, p->cur.line, p->cur.col, "%s= literal larger than %u",
                                   is_size ? "size" : "count", UINT32_MAX);
                prm->len_value = p->cur.ival;
                prm->len_param = -1;
            } else if (p->cur.kind == TOK_IDENT) {
                memcpy(src->name, p->cur.s, p->cur.len);
                src->name[p->cur.len] = 0;
            } else {
                return expected(p, "a parameter name or a number");
            }
            if (next(p)) return -1;
        } else if (is_word(p, "user_check")) {
            return fail_at(p, a.line, a.col,
                           "user_check is not supported: give the pointer a direction ([in], "
                           "[out] or [in, out]) and a length (size=, count= or string)");
        } else {
            return fail_at(p, a.line, a.col,
                           "unsupported attribute '%.*s' (supported: in, out, string, size=, "
                           "count=)",
                           (int)(a.len > 40 ? 40 : a.len), a.s);
        }
        if (is_punct(p, ']')) break;
        if (!is_punct(p, ',')) return expected(p, "',' or ']'");
        if (next(p)) return -1;
    }
    prm->dir = (have_in ? CLOAK_EDL_IN : 0) | (have_out ? CLOAK_EDL_OUT : 0);
    if (have_string) {
        /* string is valid only as exactly [in, string] on a char pointer: say which rule broke */
        if (have_out)
            return fail_at(
                p, src->attr_line, src->attr_col,
                "[out] strings are not supported; use [out, size=N] char * and a length");
        if (!have_in) return fail_at(p, src->attr_line, src->attr_col, "string needs [in]");
        if (prm->len_kind != CLOAK_EDL_LEN_ONE)
            return fail_at(p, src->attr_line, src->attr_col,
                           "string cannot be combined with size= or count=");
        prm->len_kind = CLOAK_EDL_LEN_STRING;
    }
    return next(p);
}

/* Checks of one parameter that need only the parameter itself. */
static int check_param(parser *p, const cloak_edl_param *prm, const param_src *src)
{
    unsigned l = prm->line, c = prm->col;
    const char *n = prm->name;
    if (!prm->is_ptr) {
        if (src->attr_line)
            return fail_at(p, src->attr_line, src->attr_col,
                           "attributes apply only to pointers; '%s' is passed by value", n);
        if (prm->type == CLOAK_EDL_VOID)
            return fail_at(p, l, c, "parameter '%s' cannot be void", n);
        if (prm->type == CLOAK_EDL_CHAR)
            return fail_at(p, l, c,
                           "char is supported only as a pointer ([in, string] const char *); "
                           "use int8_t or uint8_t for '%s'",
                           n);
        return 0;
    }
    if (!prm->dir)
        return fail_at(p, l, c,
                       "pointer parameter '%s' needs a direction: [in], [out] or [in, out]", n);
    if ((prm->dir & CLOAK_EDL_OUT) && prm->is_const)
        return fail_at(p, l, c, "[out] parameter '%s' cannot be const", n);
    if (prm->len_kind == CLOAK_EDL_LEN_STRING && prm->type != CLOAK_EDL_CHAR)
        return fail_at(p, l, c, "string applies only to char pointers ('%s' is %s *)", n,
                       cloak_edl_type_name(prm->type));
    if (prm->type == CLOAK_EDL_BOOL)
        return fail_at(p, l, c,
                       "bool * is not supported (a hostile peer could send bytes other than 0 "
                       "or 1); use uint8_t * for '%s'",
                       n);
    if (prm->type == CLOAK_EDL_VOID && prm->len_kind != CLOAK_EDL_LEN_SIZE)
        return fail_at(p, l, c, "void pointer '%s' needs size= (a byte count)", n);
    if (prm->type == CLOAK_EDL_CHAR && prm->len_kind == CLOAK_EDL_LEN_ONE)
        return fail_at(p, l, c, "char pointer '%s' needs string, size= or count=", n);
    return 0;
}

/* param := [attrs] [const] type ['*'] name */
static int parse_param(parser *p, cloak_edl_param *prm, param_src *src)
{
    memset(src, 0, sizeof *src);
    prm->line = p->cur.line;
    prm->col = p->cur.col;
    if (is_punct(p, '[') && parse_attrs(p, prm, src)) return -1;
    if (is_word(p, "const")) {
        prm->is_const = 1;
        if (next(p)) return -1;
    }
    if (parse_type(p, &prm->type)) return -1;
    if (is_word(p, "const"))
        return fail_at(p, p->cur.line, p->cur.col, "write const before the type ('const T *')");
    if (is_punct(p, '*')) {
        prm->is_ptr = 1;
        if (next(p)) return -1;
        if (is_punct(p, '*'))
            return fail_at(p, p->cur.line, p->cur.col,
                           "pointers to pointers cannot cross the "
                           "boundary; pass a flat buffer");
    }
    if (p->cur.kind != TOK_IDENT) return expected(p, "a parameter name");
    if (check_name(p, &p->cur, 0)) return -1;
    if (!(prm->name = tok_strdup(&p->cur))) return nomem(p);
    if (next(p)) return -1;
    if (is_punct(p, '['))
        return fail_at(p, p->cur.line, p->cur.col,
                       "arrays are not supported; use a pointer with "
                       "count=");
    return check_param(p, prm, src);
}

/* Resolve size=/count= names and check names are unique, once the whole list is known. */
static int resolve_params(parser *p, cloak_edl_func *f, const param_src *src)
{
    for (size_t i = 0; i < f->nparams; i++) {
        cloak_edl_param *prm = &f->params[i];
        for (size_t j = 0; j < i; j++)
            if (!strcmp(f->params[j].name, prm->name))
                return fail_at(p, prm->line, prm->col, "parameter '%s' declared twice in '%s'",
                               prm->name, f->name);
        if (!src[i].name[0]) continue;
        const char *what = prm->len_kind == CLOAK_EDL_LEN_SIZE ? "size" : "count";
        size_t k;
        for (k = 0; k < f->nparams; k++)
            if (!strcmp(f->params[k].name, src[i].name)) break;
        if (k == f->nparams)
            return fail_at(p, src[i].line, src[i].col, "%s=%s: '%s' has no parameter named '%s'",
                           what, src[i].name, f->name, src[i].name);
        const cloak_edl_param *lp = &f->params[k];
        if (lp->is_ptr || lp->type == CLOAK_EDL_BOOL)
            return fail_at(p, src[i].line, src[i].col,
                           "%s=%s must name an integer parameter passed by value ('%s' is %s%s)",
                           what, src[i].name, src[i].name, cloak_edl_type_name(lp->type),
                           lp->is_ptr ? " *" : "");
        prm->len_param = (int)k;
    }
    return 0;
}

static int add_func(parser *p, int trusted, cloak_edl_func *f)
{
    cloak_edl *e = p->edl;
    cloak_edl_func **list = trusted ? &e->trusted : &e->untrusted;
    size_t *n = trusted ? &e->ntrusted : &e->nuntrusted;
    if (*n >= CLOAK_EDL_MAX_FUNCS)
        return fail_at(p, f->line, f->col, "more than %d %s functions", CLOAK_EDL_MAX_FUNCS,
                       trusted ? "trusted" : "untrusted");
    for (int t = 0; t < 2; t++) {
        const cloak_edl_func *l = t ? e->trusted : e->untrusted;
        size_t ln = t ? e->ntrusted : e->nuntrusted;
        for (size_t i = 0; i < ln; i++)
            if (!strcmp(l[i].name, f->name))
                return fail_at(p, f->line, f->col, "function '%s' already declared at line %u",
                               f->name, l[i].line);
    }
    cloak_edl_func *nl = realloc(*list, (*n + 1) * sizeof *nl);
    if (!nl) return nomem(p);
    *list = nl;
    nl[(*n)++] = *f;
    memset(f, 0, sizeof *f);
    return 0;
}

static void free_func(cloak_edl_func *f)
{
    for (size_t i = 0; i < f->nparams; i++)
        free(f->params[i].name);
    free(f->params);
    free(f->name);
}

/* func := ['public'] type name '(' ('void' | param (',' param)*)? ')' ';' */
static int parse_func(parser *p, int trusted)
{
    cloak_edl_func f;
    memset(&f, 0, sizeof f);
    param_src *src = NULL;
    int rc = -1;
    f.line = p->cur.line;
    f.col = p->cur.col;
    if (is_word(p, "public")) {
        if (!trusted)
            return fail_at(p, p->cur.line, p->cur.col,
                           "'public' applies only to trusted functions");
        if (next(p)) return -1;
    }
    if (is_word(p, "private"))
        return fail_at(p, p->cur.line, p->cur.col,
                       "'private' is not supported: every trusted function is public");
    if (parse_type(p, &f.ret)) return -1;
    if (is_punct(p, '*'))
        return fail_at(p, p->cur.line, p->cur.col,
                       "functions cannot return pointers; return data through an [out] buffer");
    if (f.ret == CLOAK_EDL_CHAR)
        return fail_at(p, f.line, f.col, "char is supported only as a pointer; return int8_t");
    if (p->cur.kind != TOK_IDENT) return expected(p, "a function name");
    if (check_name(p, &p->cur, 1)) return -1;
    if (!(f.name = tok_strdup(&p->cur))) return nomem(p);
    if (next(p) || expect_punct(p, '(', "'(' after the function name")) goto out;
    if (!(src = calloc(CLOAK_EDL_MAX_PARAMS, sizeof *src))) {
        nomem(p);
        goto out;
    }
    if (is_word(p, "void")) {
        /* `(void)` or a void pointer parameter: look one token further */
        size_t pos = p->pos;
        unsigned line = p->line, col = p->col;
        tok save = p->cur;
        if (next(p)) goto out;
        int empty = is_punct(p, ')');
        if (!empty) {
            p->pos = pos;
            p->line = line;
            p->col = col;
            p->cur = save;
        }
    }
    while (!is_punct(p, ')')) {
        if (f.nparams == CLOAK_EDL_MAX_PARAMS) {
            fail_at(p, p->cur.line, p->cur.col, "more than %d parameters", CLOAK_EDL_MAX_PARAMS);
            goto out;
        }
        if (!f.params && !(f.params = calloc(CLOAK_EDL_MAX_PARAMS, sizeof *f.params))) {
            nomem(p);
            goto out;
        }
        f.nparams++;
        if (parse_param(p, &f.params[f.nparams - 1], &src[f.nparams - 1])) goto out;
        if (is_punct(p, ')')) break;
        if (expect_punct(p, ',', "',' or ')'")) goto out;
    }
    if (next(p) || resolve_params(p, &f, src)) goto out;
    if (is_word(p, "allow") || is_word(p, "propagate_errno") ||
        is_word(p, "transition_using_threads")) {
        fail_at(p, p->cur.line, p->cur.col, "'%.*s' is not supported", (int)p->cur.len, p->cur.s);
        goto out;
    }
    if (expect_punct(p, ';', "';' after the function declaration")) goto out;
    if (add_func(p, trusted, &f)) goto out;
    rc = 0;
out:
    free(src);
    free_func(&f);
    return rc;
}

/* section := ('trusted' | 'untrusted') '{' func* '}' [';'] */
static int parse_section(parser *p)
{
    int trusted = is_word(p, "trusted");
    if (next(p) || expect_punct(p, '{', trusted ? "'{' after trusted" : "'{' after untrusted"))
        return -1;
    while (!is_punct(p, '}')) {
        if (p->cur.kind == TOK_EOF) return expected(p, "'}' closing the section");
        if (parse_func(p, trusted)) return -1;
    }
    if (next(p)) return -1;
    if (is_punct(p, ';')) return next(p);
    return 0;
}

static int unsupported_directive(parser *p)
{
    if (is_word(p, "from") || is_word(p, "import") || is_word(p, "include"))
        return fail_at(p, p->cur.line, p->cur.col,
                       "'%.*s' is not supported: declare every function in this file",
                       (int)p->cur.len, p->cur.s);
    return 0;
}

/* file := 'enclave' '{' section* '}' [';'] EOF */
static int parse_file(parser *p)
{
    if (next(p) || unsupported_directive(p)) return -1;
    if (!is_word(p, "enclave")) return expected(p, "'enclave'");
    if (next(p) || expect_punct(p, '{', "'{' after enclave")) return -1;
    while (!is_punct(p, '}')) {
        if (unsupported_directive(p)) return -1;
        if (is_word(p, "struct") || is_word(p, "enum") || is_word(p, "union"))
            return fail_at(p, p->cur.line, p->cur.col, "type definitions are not supported");
        if (!is_word(p, "trusted") && !is_word(p, "untrusted"))
            return expected(p, "'trusted', 'untrusted' or '}'");
        if (parse_section(p)) return -1;
    }
    if (next(p)) return -1;
    if (is_punct(p, ';') && next(p)) return -1;
    if (p->cur.kind != TOK_EOF) {
        char found[64];
        describe(&p->cur, found, sizeof found);
        return fail_at(p, p->cur.line, p->cur.col, "unexpected %s after the enclave block", found);
    }
    return 0;
}

void cloak_edl_free(cloak_edl *edl)
{
    if (!edl) return;
    for (size_t i = 0; i < edl->ntrusted; i++)
        free_func(&edl->trusted[i]);
    for (size_t i = 0; i < edl->nuntrusted; i++)
        free_func(&edl->untrusted[i]);
    free(edl->trusted);
    free(edl->untrusted);
    free(edl);
}

cloak_err cloak_edl_parse(const char *text, size_t len, const char *filename, cloak_edl **out,
                          cloak_error *why)
{
    if (!filename) filename = "<edl>";
    if (!out || (!text && len))
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_edl_parse: no text or output");
    if (len > EDL_MAX_TEXT)
        return cloak_error_set(why, CLOAK_EINVAL, "%s: EDL file larger than %zu bytes", filename,
                               EDL_MAX_TEXT);
    parser p;
    memset(&p, 0, sizeof p);
    p.text = text ? text : "";
    p.len = len;
    p.line = 1;
    p.col = 1;
    p.file = filename;
    p.why = why;
    if (!(p.edl = calloc(1, sizeof *p.edl)))
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory parsing %s", filename);
    if (parse_file(&p)) {
        cloak_edl_free(p.edl);
        return p.oom ? CLOAK_ENOMEM : CLOAK_EINVAL;
    }
    *out = p.edl;
    return CLOAK_OK;
}
