/*
 * The JMESPath subset behind MAA policy 1.2's JmesPath() (claim-rule-functions.md, "JmesPath
 * function"). Grammar and semantics follow the JMESPath specification (jmespath.org/
 * specification.html); the parser is a Pratt parser with the specification's binding powers.
 *
 * Supported, because the documented policies use it (policy-version-1-2.md, claim-rule-
 * functions.md): identifiers and "quoted" identifiers, subexpressions a.b, index [n] and [-n],
 * list projection [*], object projection *, flatten [], filter projection [?cond], pipe |,
 * current node @, comparisons == != < <= > >=, && || ! and parentheses, raw strings 'x',
 * JSON literals `...`, and the functions length(), contains() and MAA's equals_ignore_case().
 * multi-select lists [a, b] and hashes {k: a} (the System Guard sample in
 * tpm-attestation-sample-policies.md uses @.{EventSeq: ..., SignatureValid: ...}).
 * Not supported (a clear error, never a wrong answer): slices, expression references (&) and
 * the other built-in functions.
 */
#include "attest/maa_policy.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JP_MAX_DEPTH 64
#define JP_MAX_NODES 4096
#define JP_MAX_ITEMS 16

typedef enum {
    T_EOF,
    T_IDENT,
    T_QIDENT,
    T_RAW,
    T_LIT,
    T_NUM,
    T_DOT,
    T_STAR,
    T_AT,
    T_LBRACKET,
    T_FILTER,
    T_FLATTEN,
    T_RBRACKET,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_PIPE,
    T_OR,
    T_AND,
    T_NOT,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_LBRACE,
    T_RBRACE,
    T_COLON
} tok_kind;

typedef enum {
    N_FIELD,
    N_CURRENT,
    N_LITERAL,
    N_INDEX,
    N_SUB,
    N_PROJECT,
    N_VALUES,
    N_FLATTEN,
    N_FILTER,
    N_PIPE,
    N_OR,
    N_AND,
    N_NOT,
    N_CMP,
    N_FUNC,
    N_MSLIST,
    N_MSHASH
} node_kind;

typedef struct node {
    node_kind kind;
    tok_kind op;     /* N_CMP */
    char *name;      /* N_FIELD, N_FUNC */
    long long index; /* N_INDEX */
    json_t *lit;     /* N_LITERAL */
    struct node *l, *r, *cond;
    struct node *args[JP_MAX_ITEMS]; /* function arguments, multi-select items */
    char *keys[JP_MAX_ITEMS];        /* multi-select hash keys */
    int nargs;
} node;

typedef struct {
    const char *s;
    size_t len, pos;
    tok_kind kind;
    size_t start; /* of the current token */
    char *text;   /* decoded identifier / string */
    json_t *lit;
    long long num;
    node *nodes[JP_MAX_NODES];
    size_t nnodes;
    int depth;
    cloak_error *why;
    int failed;
} jp;

static int jp_fail(jp *p, const char *msg)
{
    if (!p->failed)
        cloak_error_set(p->why, CLOAK_EINVAL, "JMESPath \"%.*s\", offset %zu: %s",
                        (int)(p->len > 80 ? 80 : p->len), p->s, p->start, msg);
    p->failed = 1;
    return -1;
}

static node *new_node(jp *p, node_kind k)
{
    if (p->nnodes >= JP_MAX_NODES) {
        jp_fail(p, "expression too large");
        return NULL;
    }
    node *n = calloc(1, sizeof *n);
    if (!n) {
        jp_fail(p, "out of memory");
        return NULL;
    }
    n->kind = k;
    p->nodes[p->nnodes++] = n;
    return n;
}

/* Read a delimited string (quote q) with backslash escapes; returns malloc'd body. */
static char *read_delimited(jp *p, char q, size_t *out_len)
{
    size_t i = p->pos + 1;
    while (i < p->len && p->s[i] != q)
        i += (p->s[i] == '\\' && i + 1 < p->len) ? 2 : 1;
    if (i >= p->len) {
        jp_fail(p, "unterminated string or literal");
        return NULL;
    }
    size_t n = i - p->pos - 1;
    char *b = malloc(n + 1);
    if (!b) {
        jp_fail(p, "out of memory");
        return NULL;
    }
    size_t o = 0;
    for (size_t k = p->pos + 1; k < i; k++) {
        /* JEP-12: a raw string unescapes \' and \\ only; a literal unescapes \` only.
         * Other backslashes stay (so '\windows\x' keeps its backslashes). */
        if (q != '"' && p->s[k] == '\\' && k + 1 < i &&
            (p->s[k + 1] == q || (q == '\'' && p->s[k + 1] == '\\')))
            k++;
        b[o++] = p->s[k];
    }
    b[o] = 0;
    *out_len = o;
    p->pos = i + 1;
    return b;
}

static int next(jp *p)
{
    free(p->text);
    p->text = NULL;
    json_decref(p->lit);
    p->lit = NULL;
    while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
    p->start = p->pos;
    if (p->pos >= p->len) {
        p->kind = T_EOF;
        return 0;
    }
    char c = p->s[p->pos];
    char d = p->pos + 1 < p->len ? p->s[p->pos + 1] : 0;
    if (isalpha((unsigned char)c) || c == '_') {
        size_t e = p->pos;
        while (e < p->len && (isalnum((unsigned char)p->s[e]) || p->s[e] == '_'))
            e++;
        p->text = strndup(p->s + p->pos, e - p->pos);
        if (!p->text) return jp_fail(p, "out of memory");
        p->pos = e;
        p->kind = T_IDENT;
        return 0;
    }
    if (isdigit((unsigned char)c) || (c == '-' && isdigit((unsigned char)d))) {
        char *end;
        p->num = strtoll(p->s + p->pos, &end, 10);
        p->pos = (size_t)(end - p->s);
        p->kind = T_NUM;
        return 0;
    }
    size_t n;
    switch (c) {
    case '"': {
        /* A quoted identifier is a JSON string. */
        size_t save = p->pos;
        char *b = read_delimited(p, '"', &n);
        if (!b) return -1;
        free(b);
        json_t *j = json_loadb(p->s + save, p->pos - save, JSON_DECODE_ANY, NULL);
        if (!json_is_string(j)) {
            json_decref(j);
            return jp_fail(p, "bad quoted identifier");
        }
        p->text = strdup(json_string_value(j));
        json_decref(j);
        if (!p->text) return jp_fail(p, "out of memory");
        p->kind = T_QIDENT;
        return 0;
    }
    case '\'':
        p->text = read_delimited(p, '\'', &n);
        if (!p->text) return -1;
        p->kind = T_RAW;
        return 0;
    case '`': {
        char *b = read_delimited(p, '`', &n);
        if (!b) return -1;
        p->lit = json_loadb(b, n, JSON_DECODE_ANY, NULL);
        free(b);
        if (!p->lit) return jp_fail(p, "literal between backticks is not valid JSON");
        p->kind = T_LIT;
        return 0;
    }
    case '[':
        if (d == '?') {
            p->pos += 2;
            p->kind = T_FILTER;
            return 0;
        }
        if (d == ']') {
            p->pos += 2;
            p->kind = T_FLATTEN;
            return 0;
        }
        p->pos++;
        p->kind = T_LBRACKET;
        return 0;
    case '|':
        p->pos += d == '|' ? 2 : 1;
        p->kind = d == '|' ? T_OR : T_PIPE;
        return 0;
    case '&':
        if (d == '&') {
            p->pos += 2;
            p->kind = T_AND;
            return 0;
        }
        return jp_fail(p, "expression references (&) are not supported");
    case '!':
        p->pos += d == '=' ? 2 : 1;
        p->kind = d == '=' ? T_NE : T_NOT;
        return 0;
    case '=':
        if (d == '=') {
            p->pos += 2;
            p->kind = T_EQ;
            return 0;
        }
        return jp_fail(p, "expected '=='");
    case '<':
        p->pos += d == '=' ? 2 : 1;
        p->kind = d == '=' ? T_LE : T_LT;
        return 0;
    case '>':
        p->pos += d == '=' ? 2 : 1;
        p->kind = d == '=' ? T_GE : T_GT;
        return 0;
    case '.':
        p->pos++;
        p->kind = T_DOT;
        return 0;
    case '*':
        p->pos++;
        p->kind = T_STAR;
        return 0;
    case '@':
        p->pos++;
        p->kind = T_AT;
        return 0;
    case ']':
        p->pos++;
        p->kind = T_RBRACKET;
        return 0;
    case '(':
        p->pos++;
        p->kind = T_LPAREN;
        return 0;
    case ')':
        p->pos++;
        p->kind = T_RPAREN;
        return 0;
    case ',':
        p->pos++;
        p->kind = T_COMMA;
        return 0;
    case '{':
        p->pos++;
        p->kind = T_LBRACE;
        return 0;
    case '}':
        p->pos++;
        p->kind = T_RBRACE;
        return 0;
    case ':':
        p->pos++;
        p->kind = T_COLON;
        return 0;
    default:
        return jp_fail(p, "unexpected character");
    }
}

static int lbp(tok_kind k)
{
    switch (k) {
    case T_PIPE:
        return 1;
    case T_OR:
        return 2;
    case T_AND:
        return 3;
    case T_EQ:
    case T_NE:
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE:
        return 5;
    case T_FLATTEN:
        return 9;
    case T_STAR:
        return 20;
    case T_FILTER:
        return 21;
    case T_DOT:
        return 40;
    case T_NOT:
        return 45;
    case T_LBRACKET:
        return 55;
    case T_LPAREN:
        return 60;
    default:
        return 0;
    }
}

static node *expression(jp *p, int rbp);

static int expect(jp *p, tok_kind k, const char *msg)
{
    if (p->kind != k) return jp_fail(p, msg);
    return next(p);
}

static node *field_node(jp *p)
{
    node *n = new_node(p, N_FIELD);
    if (!n) return NULL;
    n->name = p->text;
    p->text = NULL;
    return next(p) ? NULL : n;
}

static node *projection_rhs(jp *p, int bp);

/* [a, b] (after '[' was consumed) and {k: a, ...} (after '{'). */
static node *multi_select(jp *p, int hash)
{
    node *n = new_node(p, hash ? N_MSHASH : N_MSLIST);
    if (!n) return NULL;
    for (;;) {
        if (n->nargs == JP_MAX_ITEMS) {
            jp_fail(p, "too many multi-select items");
            return NULL;
        }
        if (hash) {
            if (p->kind != T_IDENT && p->kind != T_QIDENT) {
                jp_fail(p, "expected a key in the multi-select hash");
                return NULL;
            }
            n->keys[n->nargs] = p->text;
            p->text = NULL;
            if (next(p) || expect(p, T_COLON, "expected ':' after the key")) return NULL;
        }
        if (!(n->args[n->nargs++] = expression(p, 0))) return NULL;
        if (p->kind == T_COMMA) {
            if (next(p)) return NULL;
            continue;
        }
        if (expect(p, hash ? T_RBRACE : T_RBRACKET,
                   hash ? "expected ',' or '}'" : "expected ',' or ']'"))
            return NULL;
        return n;
    }
}

static node *dot_rhs(jp *p, int bp)
{
    /* As in the specification's reference parser: the right side of '.' is a whole expression
     * at the caller's binding power, so "a[*].b[0]" applies b[0] to each projected element. */
    if (p->kind == T_IDENT || p->kind == T_QIDENT || p->kind == T_STAR) return expression(p, bp);
    if (p->kind == T_LBRACKET || p->kind == T_LBRACE) {
        int hash = p->kind == T_LBRACE;
        return next(p) ? NULL : multi_select(p, hash);
    }
    jp_fail(p, "expected a name, '[' or '{' after '.'");
    return NULL;
}

static node *projection_rhs(jp *p, int bp)
{
    if (lbp(p->kind) < 10) return new_node(p, N_CURRENT);
    if (p->kind == T_LBRACKET || p->kind == T_FILTER || p->kind == T_FLATTEN)
        return expression(p, bp);
    if (p->kind == T_DOT) return next(p) ? NULL : dot_rhs(p, bp);
    jp_fail(p, "unexpected token after a projection");
    return NULL;
}

/* [n] or [*] after `left` (left may be the current node). */
static node *bracket(jp *p, node *left)
{
    if (p->kind == T_NUM) {
        node *n = new_node(p, N_INDEX);
        if (!n) return NULL;
        n->index = p->num;
        n->l = left;
        if (next(p) || expect(p, T_RBRACKET, "expected ']' after the index")) return NULL;
        return n;
    }
    if (p->kind == T_STAR) {
        if (next(p) || expect(p, T_RBRACKET, "expected ']' after '[*'")) return NULL;
        node *n = new_node(p, N_PROJECT);
        if (!n) return NULL;
        n->l = left;
        n->r = projection_rhs(p, lbp(T_STAR));
        return n->r ? n : NULL;
    }
    if (left->kind == N_CURRENT) return multi_select(p, 0); /* [a, b] at the start */
    jp_fail(p, "only [n], [*], [] and [?...] may follow an expression (slices are not supported)");
    return NULL;
}

static node *filter(jp *p, node *left)
{
    node *n = new_node(p, N_FILTER);
    if (!n) return NULL;
    n->l = left;
    n->cond = expression(p, 0);
    if (!n->cond || expect(p, T_RBRACKET, "expected ']' to close the filter")) return NULL;
    n->r = projection_rhs(p, lbp(T_FILTER));
    return n->r ? n : NULL;
}

static node *flatten(jp *p, node *left)
{
    node *f = new_node(p, N_FLATTEN), *n = new_node(p, N_PROJECT);
    if (!f || !n) return NULL;
    f->l = left;
    n->l = f;
    n->r = projection_rhs(p, lbp(T_FLATTEN));
    return n->r ? n : NULL;
}

static node *nud(jp *p)
{
    node *n;
    switch (p->kind) {
    case T_IDENT:
    case T_QIDENT:
        return field_node(p);
    case T_RAW:
        if (!(n = new_node(p, N_LITERAL))) return NULL;
        if (!(n->lit = json_string(p->text))) {
            jp_fail(p, "raw string is not valid UTF-8");
            return NULL;
        }
        return next(p) ? NULL : n;
    case T_LIT:
        if (!(n = new_node(p, N_LITERAL))) return NULL;
        n->lit = p->lit;
        p->lit = NULL;
        return next(p) ? NULL : n;
    case T_AT:
        return next(p) ? NULL : new_node(p, N_CURRENT);
    case T_STAR:
        if (next(p) || !(n = new_node(p, N_VALUES))) return NULL;
        n->l = new_node(p, N_CURRENT);
        n->r = projection_rhs(p, lbp(T_STAR));
        return n->l && n->r ? n : NULL;
    case T_NOT:
        if (next(p) || !(n = new_node(p, N_NOT))) return NULL;
        n->l = expression(p, lbp(T_NOT));
        return n->l ? n : NULL;
    case T_LPAREN:
        if (next(p) || !(n = expression(p, 0))) return NULL;
        return expect(p, T_RPAREN, "expected ')'") ? NULL : n;
    case T_LBRACKET: {
        node *cur = new_node(p, N_CURRENT);
        return cur && !next(p) ? bracket(p, cur) : NULL;
    }
    case T_FILTER: {
        node *cur = new_node(p, N_CURRENT);
        return cur && !next(p) ? filter(p, cur) : NULL;
    }
    case T_FLATTEN: {
        node *cur = new_node(p, N_CURRENT);
        return cur && !next(p) ? flatten(p, cur) : NULL;
    }
    case T_LBRACE:
        return next(p) ? NULL : multi_select(p, 1);
    case T_EOF:
        jp_fail(p, "unexpected end of expression");
        return NULL;
    default:
        jp_fail(p, "unexpected token (a bare number? JMESPath literals need backticks: `1`)");
        return NULL;
    }
}

static node *led(jp *p, node *left)
{
    tok_kind k = p->kind;
    node *n;
    if (next(p)) return NULL;
    switch (k) {
    case T_DOT:
        if (!(n = new_node(p, N_SUB))) return NULL;
        n->l = left;
        n->r = dot_rhs(p, lbp(T_DOT));
        return n->r ? n : NULL;
    case T_LBRACKET:
        return bracket(p, left);
    case T_FILTER:
        return filter(p, left);
    case T_FLATTEN:
        return flatten(p, left);
    case T_PIPE:
    case T_OR:
    case T_AND:
        if (!(n = new_node(p, k == T_PIPE ? N_PIPE : k == T_OR ? N_OR : N_AND))) return NULL;
        n->l = left;
        n->r = expression(p, lbp(k));
        return n->r ? n : NULL;
    case T_EQ:
    case T_NE:
    case T_LT:
    case T_LE:
    case T_GT:
    case T_GE:
        if (!(n = new_node(p, N_CMP))) return NULL;
        n->op = k;
        n->l = left;
        n->r = expression(p, lbp(k));
        return n->r ? n : NULL;
    case T_LPAREN:
        if (left->kind != N_FIELD) {
            jp_fail(p, "only a function name may be called");
            return NULL;
        }
        left->kind = N_FUNC;
        while (p->kind != T_RPAREN) {
            if (left->nargs == JP_MAX_ITEMS) {
                jp_fail(p, "too many function arguments");
                return NULL;
            }
            if (!(left->args[left->nargs++] = expression(p, 0))) return NULL;
            if (p->kind == T_COMMA) {
                if (next(p)) return NULL;
            } else if (p->kind != T_RPAREN) {
                jp_fail(p, "expected ',' or ')'");
                return NULL;
            }
        }
        return next(p) ? NULL : left;
    default:
        jp_fail(p, "unexpected token");
        return NULL;
    }
}

static node *expression(jp *p, int rbp)
{
    if (++p->depth > JP_MAX_DEPTH) {
        jp_fail(p, "expression nested too deeply");
        return NULL;
    }
    node *left = nud(p);
    while (left && !p->failed && rbp < lbp(p->kind))
        left = led(p, left);
    p->depth--;
    return p->failed ? NULL : left;
}

/* ---- evaluation ---- */

static int truthy(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v)) return 0;
    if (json_is_string(v)) return json_string_length(v) > 0;
    if (json_is_array(v)) return json_array_size(v) > 0;
    if (json_is_object(v)) return json_object_size(v) > 0;
    return 1;
}

static int num(const json_t *v, double *d)
{
    if (!json_is_number(v)) return 0;
    *d = json_number_value(v);
    return 1;
}

static int jequal(const json_t *a, const json_t *b)
{
    double x, y;
    if (num(a, &x) && num(b, &y)) return x == y; /* JMESPath compares numbers by value */
    return json_equal(a, b);
}

static json_t *eval(const node *n, json_t *cur, cloak_error *why, int *err, int depth);

static json_t *call(const node *n, json_t *cur, cloak_error *why, int *err, int depth)
{
    json_t *a[JP_MAX_ITEMS] = {0};
    json_t *res = NULL;
    for (int i = 0; i < n->nargs; i++)
        if (!(a[i] = eval(n->args[i], cur, why, err, depth + 1))) goto out;
    if (!strcmp(n->name, "length") && n->nargs == 1) {
        if (json_is_string(a[0])) {
            size_t c = 0;
            for (const char *s = json_string_value(a[0]); *s; s++)
                c += ((*s & 0xC0) != 0x80);
            res = json_integer((json_int_t)c);
        } else if (json_is_array(a[0]))
            res = json_integer((json_int_t)json_array_size(a[0]));
        else if (json_is_object(a[0]))
            res = json_integer((json_int_t)json_object_size(a[0]));
        else {
            *err = 1;
            cloak_error_set(why, CLOAK_EINVAL, "JMESPath length() needs a string, array or object");
        }
    } else if (!strcmp(n->name, "equals_ignore_case") && n->nargs == 2) {
        /* An MAA extension used by policy-version-1-2.md (ELAM driver rule). */
        res = json_boolean(json_is_string(a[0]) && json_is_string(a[1]) &&
                           !strcasecmp(json_string_value(a[0]), json_string_value(a[1])));
    } else if (!strcmp(n->name, "contains") && n->nargs == 2) {
        int found = 0;
        if (json_is_array(a[0])) {
            size_t i;
            json_t *e;
            json_array_foreach(a[0], i, e) if (jequal(e, a[1])) found = 1;
        } else if (json_is_string(a[0]) && json_is_string(a[1])) {
            found = strstr(json_string_value(a[0]), json_string_value(a[1])) != NULL;
        }
        res = json_boolean(found);
    } else {
        *err = 1;
        cloak_error_set(why, CLOAK_EINVAL,
                        "JMESPath function %s() with %d argument(s) is not supported (supported: "
                        "length/1, contains/2, equals_ignore_case/2)",
                        n->name, n->nargs);
    }
out:
    for (int i = 0; i < JP_MAX_ITEMS; i++)
        json_decref(a[i]);
    if (!res && !*err) {
        *err = 1;
        cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    return res;
}

/* Collect eval(rhs) over each element of `arr`, dropping nulls (JMESPath projection). */
static json_t *project(const node *rhs, const node *cond, json_t *arr, cloak_error *why, int *err,
                       int depth)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    if (!out) {
        *err = 1;
        return NULL;
    }
    json_array_foreach(arr, i, e)
    {
        if (cond) {
            json_t *c = eval(cond, e, why, err, depth + 1);
            int keep = truthy(c);
            json_decref(c);
            if (*err) break;
            if (!keep) continue;
        }
        json_t *v = eval(rhs, e, why, err, depth + 1);
        if (*err) break;
        if (!json_is_null(v)) json_array_append(out, v);
        json_decref(v);
    }
    if (*err) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static json_t *eval(const node *n, json_t *cur, cloak_error *why, int *err, int depth)
{
    json_t *l = NULL, *r = NULL, *res = NULL;
    if (depth > 4 * JP_MAX_DEPTH) {
        *err = 1;
        cloak_error_set(why, CLOAK_EINVAL, "JMESPath evaluation nested too deeply");
        return NULL;
    }
    switch (n->kind) {
    case N_CURRENT:
        return json_incref(cur);
    case N_LITERAL:
        return json_incref(n->lit);
    case N_FIELD: {
        json_t *v = json_is_object(cur) ? json_object_get(cur, n->name) : NULL;
        return v ? json_incref(v) : json_null();
    }
    case N_FUNC:
        return call(n, cur, why, err, depth);
    case N_MSLIST:
    case N_MSHASH: {
        if (json_is_null(cur)) return json_null(); /* JMESPath: multi-select on null is null */
        json_t *o = n->kind == N_MSHASH ? json_object() : json_array();
        for (int i = 0; o && i < n->nargs; i++) {
            json_t *v = eval(n->args[i], cur, why, err, depth + 1);
            if (!v) {
                json_decref(o);
                return NULL;
            }
            if (n->kind == N_MSHASH)
                json_object_set_new(o, n->keys[i], v);
            else
                json_array_append_new(o, v);
        }
        if (!o) {
            *err = 1;
            cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        }
        return o;
    }
    default:
        break;
    }
    if (!(l = eval(n->l, cur, why, err, depth + 1))) goto out;
    switch (n->kind) {
    case N_INDEX: {
        long long sz = json_is_array(l) ? (long long)json_array_size(l) : 0, i = n->index;
        if (i < 0) i += sz;
        json_t *v = json_is_array(l) && i >= 0 && i < sz ? json_array_get(l, (size_t)i) : NULL;
        res = v ? json_incref(v) : json_null();
        break;
    }
    case N_SUB:
    case N_PIPE:
        res = eval(n->r, l, why, err, depth + 1);
        break;
    case N_PROJECT:
        res = json_is_array(l) ? project(n->r, NULL, l, why, err, depth) : json_null();
        break;
    case N_FILTER:
        res = json_is_array(l) ? project(n->r, n->cond, l, why, err, depth) : json_null();
        break;
    case N_VALUES: {
        if (!json_is_object(l)) {
            res = json_null();
            break;
        }
        json_t *vals = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(l, k, v) json_array_append(vals, v);
        res = project(n->r, NULL, vals, why, err, depth);
        json_decref(vals);
        break;
    }
    case N_FLATTEN: {
        if (!json_is_array(l)) {
            res = json_null();
            break;
        }
        res = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(l, i, e)
        {
            if (json_is_array(e))
                json_array_extend(res, e);
            else
                json_array_append(res, e);
        }
        break;
    }
    case N_OR:
        res = truthy(l) ? json_incref(l) : eval(n->r, cur, why, err, depth + 1);
        break;
    case N_AND:
        res = !truthy(l) ? json_incref(l) : eval(n->r, cur, why, err, depth + 1);
        break;
    case N_NOT:
        res = json_boolean(!truthy(l));
        break;
    case N_CMP: {
        if (!(r = eval(n->r, cur, why, err, depth + 1))) break;
        double x, y;
        if (n->op == T_EQ)
            res = json_boolean(jequal(l, r));
        else if (n->op == T_NE)
            res = json_boolean(!jequal(l, r));
        else if (!num(l, &x) || !num(r, &y))
            res = json_null(); /* ordering needs numbers */
        else
            res = json_boolean(n->op == T_LT   ? x < y
                               : n->op == T_LE ? x <= y
                               : n->op == T_GT ? x > y
                                               : x >= y);
        break;
    }
    default:
        *err = 1;
        cloak_error_set(why, CLOAK_EINTERNAL, "JMESPath: unknown node %d", (int)n->kind);
    }
out:
    json_decref(l);
    json_decref(r);
    if (!res && !*err) {
        *err = 1;
        cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    return *err ? (json_decref(res), NULL) : res;
}

cloak_err maa_jmespath_search(const char *expr, const json_t *data, json_t **out, cloak_error *why)
{
    jp p;
    cloak_err rc = CLOAK_EINVAL;
    memset(&p, 0, sizeof p);
    p.s = expr;
    p.len = expr ? strlen(expr) : 0;
    p.why = why;
    if (!expr || !data || !out)
        return cloak_error_set(why, CLOAK_EINVAL, "maa_jmespath_search: missing argument");
    if (!p.len) return cloak_error_set(why, CLOAK_EINVAL, "JmesPath: the query is empty");
    node *root = NULL;
    if (next(&p) == 0) root = expression(&p, 0);
    if (root && p.kind != T_EOF) {
        jp_fail(&p, "unexpected text after the expression");
        root = NULL;
    }
    if (root) {
        int err = 0;
        json_t *res = eval(root, (json_t *)data, why, &err, 0);
        if (res) {
            *out = res;
            rc = CLOAK_OK;
        } else
            rc = why ? why->code : CLOAK_EINVAL;
    }
    free(p.text);
    json_decref(p.lit);
    for (size_t i = 0; i < p.nnodes; i++) {
        free(p.nodes[i]->name);
        for (int k = 0; k < JP_MAX_ITEMS; k++)
            free(p.nodes[i]->keys[k]);
        json_decref(p.nodes[i]->lit);
        free(p.nodes[i]);
    }
    return rc;
}
