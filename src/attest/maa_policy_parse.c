/*
 * Parser for the MAA policy language 1.0-1.2. The grammar, as the Microsoft docs give it:
 *
 *   policy     := 'version' '=' MAJOR '.' MINOR ';' section+          (author-sign-policy.md)
 *   section    := ('configurationrules' | 'authorizationrules' | 'issuancerules') '{' rule* '}' ';'
 *   rule       := [condition ('&&' condition)*] '=>' action ';'       (claim-rule-grammar.md)
 *   condition  := [IDENT ':'] ['!'] '[' [test (',' test)*] ']'        ('!' from 1.2,
 * claim-rule-functions.md) test       := ('type' | 'value' | 'issuer' | 'valueType') OP expr action
 * := 'permit' '(' ')' | 'deny' '(' ')' | ('add' | 'issue' | 'issueproperty') '(' 'type' '=' STRING
 * ',' 'value' '=' expr ')' | ('add' | 'issue') '(' 'claim' '=' IDENT ')' expr       := STRING |
 * INTEGER | 'true' | 'false' | IDENT '.' prop | FUNC '(' [expr (',' expr)*] ')'
 *
 * Sections come in the order configuration, authorization, issuance (policy-version-1-1.md);
 * configurationrules needs 1.1+, functions and '!' need 1.2. Keywords are case-insensitive
 * (policy-examples.md writes "Version= 1.0"); strings are case-sensitive. Comments: // to end of
 * line, and slash-star blocks. Everything is allocated from one arena so a failed parse frees
 * everything at once.
 */
#include "attest/maa_policy_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 32 /* nested function calls */
#define MAX_VARS 64  /* identifiers per rule */

/* ---- arena ---- */
struct maa_arena {
    struct maa_arena *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char data[];
};

static void *arena_alloc(struct maa_arena **a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!*a || (*a)->cap - (*a)->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        struct maa_arena *c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = *a;
        c->used = 0;
        c->cap = cap;
        *a = c;
    }
    void *p = (*a)->data + (*a)->used;
    (*a)->used += n;
    memset(p, 0, n);
    return p;
}

static void arena_free(struct maa_arena *a)
{
    while (a) {
        struct maa_arena *n = a->next;
        free(a);
        a = n;
    }
}

/* ---- lexer ---- */
typedef enum {
    K_EOF,
    K_IDENT,
    K_STRING,
    K_INT,
    K_VERSION,
    K_SEMI,
    K_LBRACE,
    K_RBRACE,
    K_LBRACKET,
    K_RBRACKET,
    K_LPAREN,
    K_RPAREN,
    K_COMMA,
    K_COLON,
    K_DOT,
    K_ASSIGN,
    K_EQ,
    K_NE,
    K_LT,
    K_LE,
    K_GT,
    K_GE,
    K_ARROW,
    K_AND,
    K_NOT
} kind;

typedef struct {
    const char *s;
    size_t len, pos;
    int line, col; /* of s[pos] */
    kind k;        /* current token */
    int tline, tcol;
    const char *text; /* K_IDENT / K_STRING (arena), K_VERSION raw */
    size_t tlen;
    long long num;
    struct maa_arena *arena;
    cloak_error *why;
    int failed;
    int depth;
    maa_version version;
    /* variables of the rule being parsed */
    const char *vars[MAX_VARS];
    size_t nvars;
} P;

static int fail_at(P *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(P *p, int line, int col, const char *fmt, ...)
{
    if (p->failed) return -1;
    p->failed = 1;
    char msg[CLOAK_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cloak_error_set(p->why, CLOAK_EINVAL, "line %d, column %d: %s", line, col, msg);
    return -1;
}
#define FAIL(p, ...) fail_at((p), (p)->tline, (p)->tcol, __VA_ARGS__)

static void adv(P *p, size_t n)
{
    while (n-- && p->pos < p->len) {
        if (p->s[p->pos++] == '\n') {
            p->line++;
            p->col = 1;
        } else
            p->col++;
    }
}

static const char *kind_name(kind k)
{
    static const char *names[] = {
        "end of policy", "a name", "a string", "an integer", "a version number",
        "';'",           "'{'",    "'}'",      "'['",        "']'",
        "'('",           "')'",    "','",      "':'",        "'.'",
        "'='",           "'=='",   "'!='",     "'<'",        "'<='",
        "'>'",           "'>='",   "'=>'",     "'&&'",       "'!'"};
    return names[k];
}

static int lex_string(P *p)
{
    /* "..." with \" \\ \/ \n \r \t escapes (claim-rule-functions.md escapes quotes in JSON). */
    size_t i = p->pos + 1, o = 0;
    char *buf;
    size_t n = 0;
    while (i + n < p->len && p->s[i + n] != '"') {
        if (p->s[i + n] == '\n') break;
        n += (p->s[i + n] == '\\' && i + n + 1 < p->len) ? 2 : 1;
    }
    if (i + n >= p->len || p->s[i + n] != '"')
        return FAIL(p, "unterminated string: add the closing '\"' before the end of the line");
    if (!(buf = arena_alloc(&p->arena, n + 1))) return FAIL(p, "out of memory");
    adv(p, 1);
    while (p->s[p->pos] != '"') {
        char c = p->s[p->pos];
        if (c == '\\') {
            char e = p->s[p->pos + 1];
            switch (e) {
            case '"':
            case '\\':
            case '/':
                c = e;
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            default:
                return fail_at(p, p->line, p->col,
                               "unknown escape '\\%c' in a string (use \\\" \\\\ \\n \\r \\t)",
                               isprint((unsigned char)e) ? e : '?');
            }
            adv(p, 1);
        }
        if (c == 0) return fail_at(p, p->line, p->col, "NUL byte inside a string");
        buf[o++] = c;
        adv(p, 1);
    }
    buf[o] = 0;
    /* Claims are JSON strings: refuse what jansson would refuse later, here, with a position. */
    json_t *probe = json_stringn(buf, o);
    if (!probe) return FAIL(p, "string is not valid UTF-8");
    json_decref(probe);
    adv(p, 1);
    p->text = buf;
    p->tlen = o;
    p->k = K_STRING;
    return 0;
}

static int lex(P *p)
{
    for (;;) {
        while (p->pos < p->len && isspace((unsigned char)p->s[p->pos]))
            adv(p, 1);
        if (p->pos + 1 < p->len && p->s[p->pos] == '/' && p->s[p->pos + 1] == '/') {
            while (p->pos < p->len && p->s[p->pos] != '\n')
                adv(p, 1);
            continue;
        }
        if (p->pos + 1 < p->len && p->s[p->pos] == '/' && p->s[p->pos + 1] == '*') {
            int l = p->line, c = p->col;
            adv(p, 2);
            while (p->pos + 1 < p->len && !(p->s[p->pos] == '*' && p->s[p->pos + 1] == '/'))
                adv(p, 1);
            if (p->pos + 1 >= p->len) return fail_at(p, l, c, "unterminated /* comment");
            adv(p, 2);
            continue;
        }
        break;
    }
    p->tline = p->line;
    p->tcol = p->col;
    if (p->pos >= p->len) {
        p->k = K_EOF;
        return 0;
    }
    unsigned char c = (unsigned char)p->s[p->pos];
    char d = p->pos + 1 < p->len ? p->s[p->pos + 1] : 0;
    if (isalpha(c) || c == '_') {
        size_t e = p->pos;
        while (e < p->len && (isalnum((unsigned char)p->s[e]) || p->s[e] == '_'))
            e++;
        char *t = arena_alloc(&p->arena, e - p->pos + 1);
        if (!t) return FAIL(p, "out of memory");
        memcpy(t, p->s + p->pos, e - p->pos);
        p->text = t;
        p->tlen = e - p->pos;
        adv(p, e - p->pos);
        p->k = K_IDENT;
        return 0;
    }
    if (isdigit(c) || (c == '-' && isdigit((unsigned char)d))) {
        size_t e = p->pos + 1;
        while (e < p->len && isdigit((unsigned char)p->s[e]))
            e++;
        if (e + 1 < p->len && p->s[e] == '.' && isdigit((unsigned char)p->s[e + 1]) && c != '-') {
            size_t f = e + 1;
            while (f < p->len && isdigit((unsigned char)p->s[f]))
                f++;
            p->text = p->s + p->pos;
            p->tlen = f - p->pos;
            adv(p, f - p->pos);
            p->k = K_VERSION;
            return 0;
        }
        char tmp[32];
        if (e - p->pos >= sizeof tmp)
            return FAIL(p, "integer is too long (64-bit signed integers only)");
        memcpy(tmp, p->s + p->pos, e - p->pos);
        tmp[e - p->pos] = 0;
        errno = 0;
        p->num = strtoll(tmp, NULL, 10);
        if (errno == ERANGE) return FAIL(p, "integer %s does not fit in 64 bits", tmp);
        adv(p, e - p->pos);
        p->k = K_INT;
        return 0;
    }
    if (c == '"') return lex_string(p);
    struct {
        char a, b;
        kind k;
    } two[] = {{'=', '=', K_EQ}, {'!', '=', K_NE},    {'<', '=', K_LE},
               {'>', '=', K_GE}, {'=', '>', K_ARROW}, {'&', '&', K_AND}};
    for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
        if (c == two[i].a && d == two[i].b) {
            adv(p, 2);
            p->k = two[i].k;
            return 0;
        }
    const char *one = ";{}[](),:.=<>!";
    const kind onek[] = {K_SEMI,  K_LBRACE, K_RBRACE, K_LBRACKET, K_RBRACKET, K_LPAREN, K_RPAREN,
                         K_COMMA, K_COLON,  K_DOT,    K_ASSIGN,   K_LT,       K_GT,     K_NOT};
    const char *hit = c ? strchr(one, c) : NULL;
    if (hit) {
        adv(p, 1);
        p->k = onek[hit - one];
        return 0;
    }
    if (c == 0xE2 && p->pos + 2 < p->len && (unsigned char)p->s[p->pos + 1] == 0x80 &&
        ((unsigned char)p->s[p->pos + 2] == 0x9C || (unsigned char)p->s[p->pos + 2] == 0x9D))
        return FAIL(p, "typographic quote (U+201C/U+201D): use a straight double quote '\"'");
    if (c == '&') return FAIL(p, "single '&': conditions are joined with '&&'");
    return FAIL(p, isprint(c) ? "unexpected character '%c'" : "unexpected byte 0x%02x", c);
}

static int kw(const P *p, const char *w)
{
    return p->k == K_IDENT && strlen(w) == p->tlen && !strncasecmp(p->text, w, p->tlen);
}

static int expect(P *p, kind k, const char *what)
{
    if (p->k != k) return FAIL(p, "expected %s %s, found %s", kind_name(k), what, kind_name(p->k));
    return lex(p);
}

/* ---- expressions ---- */
static int parse_prop(P *p, maa_prop *out)
{
    static const char *names[] = {"type", "value", "issuer", "valueType"};
    for (int i = 0; i < 4; i++)
        if (kw(p, names[i])) {
            *out = (maa_prop)i;
            return lex(p);
        }
    return FAIL(p, "expected a claim property (type, value, issuer or valueType), found %s",
                kind_name(p->k));
}

static const struct {
    const char *name;
    maa_fn fn;
    int nargs;
} functions[] = {
    {"JmesPath", MAA_FN_JMESPATH, 2},     {"JsonToClaimValue", MAA_FN_JSONTOCLAIMVALUE, 1},
    {"IsSubsetOf", MAA_FN_ISSUBSETOF, 2}, {"AppendString", MAA_FN_APPENDSTRING, 2},
    {"NegateBool", MAA_FN_NEGATEBOOL, 1}, {"ContainsOnlyValue", MAA_FN_CONTAINSONLYVALUE, 2},
};

static int find_var(const P *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->nvars; i++)
        if (strlen(p->vars[i]) == len && !strncmp(p->vars[i], name, len)) return (int)i;
    return -1;
}

static maa_expr *parse_expr(P *p)
{
    maa_expr *e = arena_alloc(&p->arena, sizeof *e);
    if (!e) {
        FAIL(p, "out of memory");
        return NULL;
    }
    int line = p->tline, col = p->tcol;
    if (p->k == K_STRING) {
        e->kind = MAA_EX_STR;
        e->str = p->text;
        return lex(p) ? NULL : e;
    }
    if (p->k == K_INT) {
        e->kind = MAA_EX_INT;
        e->num = p->num;
        return lex(p) ? NULL : e;
    }
    if (kw(p, "true") || kw(p, "false")) {
        e->kind = MAA_EX_BOOL;
        e->num = kw(p, "true");
        return lex(p) ? NULL : e;
    }
    if (p->k != K_IDENT) {
        FAIL(p,
             "expected a value (string, integer, true/false, claim property or function call), "
             "found %s",
             kind_name(p->k));
        return NULL;
    }
    const char *name = p->text;
    size_t nlen = p->tlen;
    if (lex(p)) return NULL;
    if (p->k == K_LPAREN) {
        size_t i, n = sizeof functions / sizeof functions[0];
        for (i = 0; i < n; i++)
            if (strlen(functions[i].name) == nlen && !strncasecmp(functions[i].name, name, nlen))
                break;
        if (i == n) {
            fail_at(p, line, col,
                    "unknown function '%.*s' (known: JmesPath, JsonToClaimValue, IsSubsetOf, "
                    "AppendString, NegateBool, ContainsOnlyValue)",
                    (int)nlen, name);
            return NULL;
        }
        if (p->version < MAA_VERSION_1_2) {
            fail_at(p, line, col,
                    "function %s needs 'version=1.2;' (claim rule functions came with policy 1.2)",
                    functions[i].name);
            return NULL;
        }
        if (++p->depth > MAX_DEPTH) {
            FAIL(p, "function calls nested more than %d deep", MAX_DEPTH);
            return NULL;
        }
        e->kind = MAA_EX_CALL;
        e->fn = functions[i].fn;
        if (lex(p)) return NULL;
        while (p->k != K_RPAREN) {
            if (e->nargs == 2) {
                FAIL(p, "too many arguments to %s", functions[i].name);
                return NULL;
            }
            if (!(e->args[e->nargs++] = parse_expr(p))) return NULL;
            if (p->k == K_COMMA) {
                if (lex(p)) return NULL;
            } else if (p->k != K_RPAREN) {
                FAIL(p, "expected ',' or ')' in the arguments of %s", functions[i].name);
                return NULL;
            }
        }
        if (e->nargs != functions[i].nargs) {
            fail_at(p, line, col, "%s takes %d argument(s), not %d", functions[i].name,
                    functions[i].nargs, e->nargs);
            return NULL;
        }
        p->depth--;
        return lex(p) ? NULL : e;
    }
    e->kind = MAA_EX_PROP;
    if ((e->var = find_var(p, name, nlen)) < 0) {
        fail_at(p, line, col, "'%.*s' is not an identifier of an earlier condition in this rule",
                (int)nlen, name);
        return NULL;
    }
    if (expect(p, K_DOT, "after a claim identifier (e.g. c.value)") || parse_prop(p, &e->prop))
        return NULL;
    return e;
}

/* ---- rules ---- */
static int parse_test(P *p, maa_test *t)
{
    if (parse_prop(p, &t->prop)) return -1;
    int line = p->tline, col = p->tcol;
    switch (p->k) {
    case K_EQ:
        t->op = MAA_OP_EQ;
        break;
    case K_NE:
        t->op = MAA_OP_NE;
        break;
    case K_LT:
        t->op = MAA_OP_LT;
        break;
    case K_LE:
        t->op = MAA_OP_LE;
        break;
    case K_GT:
        t->op = MAA_OP_GT;
        break;
    case K_GE:
        t->op = MAA_OP_GE;
        break;
    case K_ASSIGN:
        return FAIL(p, "'=' assigns; a condition compares with '==' or '!='");
    default:
        return FAIL(p, "expected a comparison operator (== != < <= > >=), found %s",
                    kind_name(p->k));
    }
    if (lex(p) || !(t->rhs = parse_expr(p))) return -1;
    /* claim-rule-grammar.md: strings and booleans only support == and !=. */
    if (t->op > MAA_OP_NE) {
        if (t->prop != MAA_P_VALUE)
            return fail_at(p, line, col, "'%s' compares strings: only == and != are allowed",
                           t->prop == MAA_P_TYPE     ? "type"
                           : t->prop == MAA_P_ISSUER ? "issuer"
                                                     : "valueType");
        if (t->rhs->kind == MAA_EX_STR || t->rhs->kind == MAA_EX_BOOL)
            return fail_at(p, line, col,
                           "ordering operators need an integer; %s values only allow == and !=",
                           t->rhs->kind == MAA_EX_STR ? "string" : "boolean");
    }
    if (t->prop != MAA_P_VALUE && (t->rhs->kind == MAA_EX_INT || t->rhs->kind == MAA_EX_BOOL))
        return fail_at(p, line, col,
                       "claim type, issuer and valueType are strings; quote the value");
    return 0;
}

static int parse_condition(P *p, maa_cond *c)
{
    c->var = -1;
    if (p->k == K_IDENT) {
        const char *name = p->text;
        size_t nlen = p->tlen;
        int line = p->tline, col = p->tcol;
        if (lex(p)) return -1;
        if (p->k != K_COLON)
            return FAIL(p, "expected ':' after the condition identifier '%.*s'", (int)nlen, name);
        if (find_var(p, name, nlen) >= 0)
            return fail_at(p, line, col, "identifier '%.*s' is already used in this rule",
                           (int)nlen, name);
        if (p->nvars == MAX_VARS)
            return fail_at(p, line, col, "more than %d identifiers in one rule", MAX_VARS);
        char *v = arena_alloc(&p->arena, nlen + 1);
        if (!v) return FAIL(p, "out of memory");
        memcpy(v, name, nlen);
        if (lex(p)) return -1;
        c->var = (int)p->nvars;
        /* Not visible to its own tests: a condition filters claims one at a time. */
        p->vars[p->nvars] = v;
    }
    if (p->k == K_NOT) {
        if (p->version < MAA_VERSION_1_2)
            return FAIL(p, "'!' (claim absent) needs 'version=1.2;' (claim-rule-functions.md)");
        if (c->var >= 0)
            return FAIL(p, "a '!' condition matches no claim, so it cannot have an identifier");
        c->negated = 1;
        if (lex(p)) return -1;
    }
    if (expect(p, K_LBRACKET, "to open a condition")) return -1;
    size_t cap = 0;
    maa_test *tests = NULL;
    while (p->k != K_RBRACKET) {
        if (c->ntests == cap) {
            cap = cap ? cap * 2 : 4;
            maa_test *n = arena_alloc(&p->arena, cap * sizeof *n);
            if (!n) return FAIL(p, "out of memory");
            if (c->ntests) memcpy(n, tests, c->ntests * sizeof *n);
            tests = n;
        }
        if (parse_test(p, &tests[c->ntests++])) return -1;
        if (p->k == K_COMMA) {
            if (lex(p)) return -1;
        } else if (p->k != K_RBRACKET)
            return FAIL(p, "expected ',' or ']' in the condition, found %s", kind_name(p->k));
    }
    c->tests = tests;
    if (c->var >= 0) p->nvars++;
    return lex(p);
}

static int parse_action(P *p, maa_rule *r, maa_section sec)
{
    static const struct {
        const char *name;
        maa_action a;
        unsigned sections;
    } actions[] = {
        /* claim-rule-grammar.md, action table; configurationrules: policy-version-1-1.md sample. */
        {"permit", MAA_A_PERMIT, 1u << MAA_SEC_AUTHZ},
        {"deny", MAA_A_DENY, 1u << MAA_SEC_AUTHZ},
        {"add", MAA_A_ADD, (1u << MAA_SEC_AUTHZ) | (1u << MAA_SEC_ISSUANCE)},
        {"issue", MAA_A_ISSUE, 1u << MAA_SEC_ISSUANCE},
        {"issueproperty", MAA_A_ISSUEPROPERTY, (1u << MAA_SEC_ISSUANCE) | (1u << MAA_SEC_CONFIG)},
    };
    static const char *secname[] = {"configurationrules", "authorizationrules", "issuancerules"};
    static const char *allowed[] = {"issueproperty", "permit, deny, add",
                                    "add, issue, issueproperty"};
    if (p->k != K_IDENT) return FAIL(p, "expected an action after '=>', found %s", kind_name(p->k));
    size_t i, n = sizeof actions / sizeof actions[0];
    for (i = 0; i < n && !kw(p, actions[i].name); i++) {
    }
    if (i == n)
        return FAIL(p, "unknown action '%.*s' (actions: permit, deny, add, issue, issueproperty)",
                    (int)p->tlen, p->text);
    if (!(actions[i].sections & (1u << sec)))
        return FAIL(p, "%s() is not allowed in %s (allowed there: %s)", actions[i].name,
                    secname[sec], allowed[sec]);
    r->action = actions[i].a;
    r->claim_var = -1;
    if (lex(p) || expect(p, K_LPAREN, "after the action name")) return -1;
    if (r->action == MAA_A_PERMIT || r->action == MAA_A_DENY)
        return expect(p, K_RPAREN, "(permit() and deny() take no arguments)");
    if (kw(p, "claim") && r->action != MAA_A_ISSUEPROPERTY) {
        if (lex(p) || expect(p, K_ASSIGN, "after 'claim'")) return -1;
        if (p->k != K_IDENT) return FAIL(p, "expected a condition identifier after 'claim='");
        if ((r->claim_var = find_var(p, p->text, p->tlen)) < 0)
            return FAIL(p, "'%.*s' is not the identifier of a condition in this rule", (int)p->tlen,
                        p->text);
        if (lex(p)) return -1;
        return expect(p, K_RPAREN, "after claim=<identifier>");
    }
    int have_type = 0, have_value = 0;
    while (p->k != K_RPAREN) {
        if (kw(p, "type") && !have_type) {
            if (lex(p) || expect(p, K_ASSIGN, "after 'type'")) return -1;
            if (p->k != K_STRING)
                return FAIL(p, "type= takes a string literal, found %s", kind_name(p->k));
            if (!p->tlen) return FAIL(p, "the claim type must not be empty");
            r->type = p->text;
            have_type = 1;
            if (lex(p)) return -1;
        } else if (kw(p, "value") && !have_value) {
            if (lex(p) || expect(p, K_ASSIGN, "after 'value'") || !(r->value = parse_expr(p)))
                return -1;
            have_value = 1;
        } else {
            return FAIL(p, "expected type=\"...\" or value=... in the action's arguments, found %s",
                        kind_name(p->k));
        }
        if (p->k == K_COMMA) {
            if (lex(p)) return -1;
        } else if (p->k != K_RPAREN)
            return FAIL(p, "expected ',' or ')' in the action's arguments, found %s",
                        kind_name(p->k));
    }
    if (!have_type || !have_value)
        return FAIL(p, "this action needs both type=\"...\" and value=...%s",
                    r->action == MAA_A_ISSUEPROPERTY ? "" : " (or claim=<identifier>)");
    return lex(p);
}

static int parse_rule(P *p, maa_rule *r, maa_section sec)
{
    size_t cap = 0;
    maa_cond *conds = NULL;
    p->nvars = 0;
    r->line = p->tline;
    if (p->k != K_ARROW) {
        for (;;) {
            if (r->nconds == cap) {
                cap = cap ? cap * 2 : 4;
                maa_cond *n = arena_alloc(&p->arena, cap * sizeof *n);
                if (!n) return FAIL(p, "out of memory");
                if (r->nconds) memcpy(n, conds, r->nconds * sizeof *n);
                conds = n;
            }
            if (parse_condition(p, &conds[r->nconds++])) return -1;
            if (p->k != K_AND) break;
            if (lex(p)) return -1;
        }
        if (p->k != K_ARROW)
            return FAIL(p, "expected '=>' after the condition%s, found %s",
                        r->nconds > 1 ? "s" : "", kind_name(p->k));
    }
    r->conds = conds;
    if (lex(p) || parse_action(p, r, sec)) return -1;
    r->nvars = p->nvars;
    if (p->k != K_SEMI)
        return FAIL(p, "expected ';' after the rule's action, found %s", kind_name(p->k));
    return lex(p);
}

static int parse_section(P *p, maa_policy *pol, maa_section sec)
{
    size_t cap = 0;
    maa_rule *rules = NULL;
    if (lex(p) || expect(p, K_LBRACE, "to open the section")) return -1;
    while (p->k != K_RBRACE) {
        if (p->k == K_EOF)
            return FAIL(p, "unexpected end of policy: the section needs a closing '}'");
        if (pol->nrules[sec] == cap) {
            cap = cap ? cap * 2 : 8;
            maa_rule *n = arena_alloc(&p->arena, cap * sizeof *n);
            if (!n) return FAIL(p, "out of memory");
            if (pol->nrules[sec]) memcpy(n, rules, pol->nrules[sec] * sizeof *n);
            rules = n;
        }
        if (parse_rule(p, &rules[pol->nrules[sec]++], sec)) return -1;
    }
    pol->rules[sec] = rules;
    if (lex(p)) return -1;
    return expect(p, K_SEMI, "after the section's closing '}'");
}

static int parse_policy(P *p, maa_policy *pol)
{
    static const char *names[] = {"configurationrules", "authorizationrules", "issuancerules"};
    if (lex(p)) return -1;
    if (!kw(p, "version")) return FAIL(p, "a policy starts with 'version=1.0;' (or 1.1, 1.2)");
    if (lex(p) || expect(p, K_ASSIGN, "after 'version'")) return -1;
    if (p->k != K_VERSION)
        return FAIL(p, "expected a version number such as 1.0, found %s", kind_name(p->k));
    if (p->tlen == 3 && !strncmp(p->text, "1.0", 3))
        p->version = MAA_VERSION_1_0;
    else if (p->tlen == 3 && !strncmp(p->text, "1.1", 3))
        p->version = MAA_VERSION_1_1;
    else if (p->tlen == 3 && !strncmp(p->text, "1.2", 3))
        p->version = MAA_VERSION_1_2;
    else
        return FAIL(p, "unsupported policy version %.*s (supported: 1.0, 1.1, 1.2)", (int)p->tlen,
                    p->text);
    pol->version = p->version;
    if (lex(p) || expect(p, K_SEMI, "after the version")) return -1;
    int seen[MAA_SEC_COUNT] = {0};
    int last = -1;
    while (p->k != K_EOF) {
        int s;
        for (s = 0; s < MAA_SEC_COUNT && !kw(p, names[s]); s++) {
        }
        if (s == MAA_SEC_COUNT)
            return FAIL(p,
                        "expected a section (configurationrules, authorizationrules or "
                        "issuancerules), found %s",
                        kind_name(p->k));
        if (s == MAA_SEC_CONFIG && p->version < MAA_VERSION_1_1)
            return FAIL(p,
                        "configurationrules needs 'version=1.1;' or later (policy-version-1-1.md)");
        if (seen[s]) return FAIL(p, "section %s appears twice", names[s]);
        if (s < last) return FAIL(p, "section %s must come before %s", names[s], names[last]);
        seen[s] = 1;
        last = s;
        if (parse_section(p, pol, (maa_section)s)) return -1;
    }
    if (!seen[MAA_SEC_AUTHZ])
        return FAIL(p, "the policy has no authorizationrules section; without a permit() every "
                       "attestation is denied");
    return 0;
}

cloak_err maa_policy_parse(const char *text, size_t len, maa_policy **out, cloak_error *why)
{
    if (!text || !out)
        return cloak_error_set(why, CLOAK_EINVAL, "maa_policy_parse: no text or output");
    if (len > MAA_POLICY_MAX_LEN)
        return cloak_error_set(why, CLOAK_EINVAL, "policy is %zu bytes; the limit is %u", len,
                               MAA_POLICY_MAX_LEN);
    P p;
    memset(&p, 0, sizeof p);
    p.s = text;
    p.len = len;
    p.line = p.col = 1;
    p.why = why;
    maa_policy *pol = arena_alloc(&p.arena, sizeof *pol);
    if (!pol) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory parsing the policy");
    if (parse_policy(&p, pol)) {
        arena_free(p.arena);
        return why ? why->code : CLOAK_EINVAL;
    }
    pol->arena = p.arena;
    *out = pol;
    return CLOAK_OK;
}

void maa_policy_free(maa_policy *p)
{
    if (p) arena_free(p->arena); /* the policy itself lives in its arena */
}

maa_version maa_policy_version(const maa_policy *p)
{
    return p->version;
}
