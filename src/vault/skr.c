/* vault skr: Secure Key Release policies -- parse (grammar 1.0.0, plus the legacy
 * {"claim","condition","value"} form), evaluate against a verified token's claims, decode Key
 * Vault's release_policy envelope, and pick the key-encryption key from x-ms-runtime.
 *
 * Trust: policy documents are parsed defensively (fuzz/fuzz_skr_policy.c): anything outside the
 * grammar is refused with the JSON path of the offending part, nesting and size are bounded, and
 * nothing in a policy is executed or fetched. Claims come from a token the caller has verified;
 * evaluation only reads them (the fuzz target checks they are left unchanged).
 *
 * Decisions where the grammar text is silent (documented in the header and docs):
 *  - less/lessOrEquals/greater/greaterOrEquals compare numbers only. A policy giving them a
 *    string or boolean is refused at parse time (lexicographic order on measurements or version
 *    strings would be a silent footgun); a token whose claim is not a number fails the condition
 *    at evaluation with a message saying so.
 *  - Numbers compare numerically: two JSON integers exactly, otherwise as doubles (2 == 2.0).
 *  - Strings compare exactly (case-sensitive), booleans by value. A claim whose JSON type is not
 *    the policy value's type fails equals AND notEquals: a type mismatch never satisfies a
 *    condition, so "is-debuggable notEquals true" does not pass for the string "true".
 *  - exists takes true or false. exists:true holds when the claim is present (any value, even
 *    null); exists:false never holds -- the header's rule that a missing claim fails every
 *    operator leaves it nothing to match -- and its message says so.
 *  - anyOf/allOf arrays must not be empty (an empty allOf would release to any token of the
 *    authority, an empty anyOf to none; both are mistakes). Every block needs one of them.
 *  - authority is allowed only in the top-level blocks, and required there.
 *  - Top-level anyOf: the blocks whose authority matches iss are tried; allOf: every block must
 *    match iss and hold (so an allOf of two different authorities can never hold).
 */
#include "vault/skr.h"

#include "cloak/jose.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SKR_MAGIC 0x534b5250u   /* "SKRP": catches a wrong or freed handle */
#define SKR_MAX_DOC (64u << 10) /* bytes of policy JSON */
#define SKR_MAX_DEPTH 16        /* nested blocks below the top level */
#define SKR_MAX_NODES 1024      /* blocks and conditions in one policy */
#define SKR_MAX_CLAIM 256       /* characters of a claim path */
#define SKR_SHOW 96             /* characters of a value quoted in a message */

typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_EXISTS, OP_COUNT } skr_op;
static const char *const OP_NAMES[OP_COUNT] = {
    "equals", "notEquals", "less", "lessOrEquals", "greater", "greaterOrEquals", "exists"};

enum { K_ANY, K_ALL, K_COND };

typedef struct skr_node skr_node;
struct skr_node {
    int kind;
    char *where; /* JSON path of this node in the policy, for messages */
    /* blocks */
    skr_node **kids;
    size_t nkids;
    char *authority; /* top-level blocks only; one trailing '/' removed */
    /* conditions */
    char *claim;
    skr_op op;
    const json_t *value; /* borrowed from the policy's document */
};

struct cloak_skr_policy {
    unsigned magic;
    json_t *doc;
    skr_node *root; /* K_ANY or K_ALL over authority blocks */
};

static void node_free(skr_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->where);
    free(n->authority);
    free(n->claim);
    free(n);
}

void cloak_skr_policy_free(cloak_skr_policy *p)
{
    if (!p || p->magic != SKR_MAGIC) return;
    node_free(p->root);
    json_decref(p->doc);
    p->magic = 0;
    free(p);
}

/* ---- parsing ---------------------------------------------------------------------------- */

typedef struct {
    size_t nodes;
    cloak_error *why;
} pctx;

/* "where: message" (or "policy: message" at the root). Always CLOAK_EINVAL. */
static cloak_err perr(pctx *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cloak_err perr(pctx *c, const char *where, const char *fmt, ...)
{
    char msg[CLOAK_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cloak_error_set(c->why, CLOAK_EINVAL, "%.200s: %s", where && *where ? where : "policy",
                           msg);
}

static char *path_member(const char *where, const char *name)
{
    size_t n = strlen(where) + strlen(name) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", where, *where ? "." : "", name);
    return s;
}

static char *path_index(const char *where, const char *arr, size_t i)
{
    size_t n = strlen(where) + strlen(arr) + 26;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s[%zu]", where, *where ? "." : "", arr, i);
    return s;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static int op_by_name(const char *s)
{
    for (int i = 0; i < OP_COUNT; i++)
        if (!strcmp(s, OP_NAMES[i])) return i;
    return -1;
}

static cloak_err check_claim_path(pctx *c, const char *where, const json_t *v, char **out)
{
    const char *s = json_string_value(v);
    if (!s) return perr(c, where, "\"claim\" must be a string (got %s)", json_kind(v));
    size_t n = json_string_length(v);
    if (n == 0) return perr(c, where, "\"claim\" is empty");
    if (n > SKR_MAX_CLAIM)
        return perr(c, where, "\"claim\" is longer than %d characters", SKR_MAX_CLAIM);
    if (strlen(s) != n) return perr(c, where, "\"claim\" contains a NUL character");
    if (s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
        return perr(c, where,
                    "claim \"%.100s\" has an empty segment (a dotted path is name.name...)", s);
    if (!(*out = strdup(s))) return cloak_error_set(c->why, CLOAK_ENOMEM, "out of memory");
    return CLOAK_OK;
}

static cloak_err check_value(pctx *c, const char *where, const char *member, skr_op op,
                             const json_t *v)
{
    char at[400];
    snprintf(at, sizeof at, "%s.%s", where, member);
    if (json_is_object(v) || json_is_array(v) || json_is_null(v))
        return perr(c, at, "condition values are strings, numbers or booleans (got %s)",
                    json_kind(v));
    if (op == OP_EXISTS && !json_is_boolean(v))
        return perr(c, at, "exists takes true or false (got %s)", json_kind(v));
    if ((op == OP_LT || op == OP_LE || op == OP_GT || op == OP_GE) && !json_is_number(v))
        return perr(c, at,
                    "%s compares numbers (got %s); strings and booleans take equals or notEquals",
                    OP_NAMES[op], json_kind(v));
    return CLOAK_OK;
}

/* {"claim": path, OP: value} or the legacy {"claim", "condition": OP, "value"}. */
static cloak_err parse_cond(pctx *c, const json_t *o, const char *where, skr_node *n)
{
    n->kind = K_COND;
    cloak_err rc = check_claim_path(c, where, json_object_get(o, "claim"), &n->claim);
    if (rc) return rc;
    const json_t *cond = json_object_get(o, "condition");
    const char *k;
    const json_t *v;
    if (cond) { /* legacy form (Key Vault 7.3-preview) */
        const char *name = json_string_value(cond);
        int op = name ? op_by_name(name) : -1;
        if (op < 0)
            return perr(c, where,
                        "unknown operator \"%.64s\" in \"condition\" (one of equals, "
                        "notEquals, less, lessOrEquals, greater, greaterOrEquals, exists)",
                        name ? name : json_kind(cond));
        json_object_foreach((json_t *)o, k, v)
        {
            if (strcmp(k, "claim") && strcmp(k, "condition") && strcmp(k, "value"))
                return perr(c, where, "unknown member \"%.64s\" in a legacy condition", k);
        }
        const json_t *val = json_object_get(o, "value");
        if (!val) return perr(c, where, "legacy condition has \"condition\" but no \"value\"");
        n->op = (skr_op)op;
        n->value = val;
        return check_value(c, where, "value", n->op, val);
    }
    int found = -1;
    json_object_foreach((json_t *)o, k, v)
    {
        if (!strcmp(k, "claim")) continue;
        int op = op_by_name(k);
        if (op < 0) return perr(c, where, "unknown operator \"%.64s\"", k);
        if (found >= 0)
            return perr(c, where, "more than one operator (%s and %s); a condition has one",
                        OP_NAMES[found], OP_NAMES[op]);
        found = op;
        n->value = v;
    }
    if (found < 0)
        return perr(c, where,
                    "condition on \"%.100s\" has no operator (one of equals, notEquals, "
                    "less, lessOrEquals, greater, greaterOrEquals, exists)",
                    n->claim);
    n->op = (skr_op)found;
    return check_value(c, where, OP_NAMES[found], n->op, n->value);
}

static cloak_err parse_node(pctx *c, const json_t *o, char *where, int depth, int top,
                            skr_node **out);

/* A block: {"allOf"|"anyOf": [...]} (plus "authority" at the top level), or a condition. */
static cloak_err parse_block(pctx *c, const json_t *o, const char *where, int depth, int top,
                             skr_node *n)
{
    const json_t *any = json_object_get(o, "anyOf"), *all = json_object_get(o, "allOf");
    const json_t *auth = json_object_get(o, "authority");
    if (json_object_get(o, "claim")) {
        if (top)
            return perr(c, where,
                        "an authority block holds allOf or anyOf, not a condition: put the "
                        "condition in {\"authority\":...,\"allOf\":[...]}");
        if (any || all || auth)
            return perr(c, where, "a condition (\"claim\") cannot also hold %s",
                        auth  ? "authority"
                        : any ? "anyOf"
                              : "allOf");
        return parse_cond(c, o, where, n);
    }
    if (any && all) return perr(c, where, "holds both allOf and anyOf; a block holds one of them");
    if (!any && !all)
        return perr(c, where, "%s needs allOf or anyOf", top ? "an authority block" : "a block");
    if (top) {
        const char *a = json_string_value(auth);
        if (!auth)
            return perr(c, where, "an authority block needs \"authority\" (the token issuer URL)");
        if (!a || !*a || strlen(a) != json_string_length(auth) || json_string_length(auth) > 1024)
            return perr(c, where, "\"authority\" must be a non-empty issuer URL string");
        if (!(n->authority = strdup(a)))
            return cloak_error_set(c->why, CLOAK_ENOMEM, "out of memory");
        size_t l = strlen(n->authority);
        if (l > 1 && n->authority[l - 1] == '/') n->authority[l - 1] = 0;
    } else if (auth) {
        return perr(c, where, "\"authority\" is allowed only in the top-level blocks");
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (strcmp(k, "anyOf") && strcmp(k, "allOf") && strcmp(k, "authority"))
            return perr(c, where, "unknown member \"%.64s\" in a block", k);
    }
    const char *name = any ? "anyOf" : "allOf";
    const json_t *arr = any ? any : all;
    n->kind = any ? K_ANY : K_ALL;
    char *aw = path_member(where, name);
    if (!aw) return cloak_error_set(c->why, CLOAK_ENOMEM, "out of memory");
    cloak_err rc = CLOAK_OK;
    if (!json_is_array(arr))
        rc = perr(c, aw, "must be an array (got %s)", json_kind(arr));
    else if (json_array_size(arr) == 0)
        rc = perr(c, aw, "is empty (an empty %s is %s)", name,
                  any ? "never satisfied" : "always satisfied, which would release to anyone");
    free(aw);
    if (rc) return rc;
    if (depth >= SKR_MAX_DEPTH)
        return perr(c, where, "nesting deeper than %d levels", SKR_MAX_DEPTH);
    size_t cnt = json_array_size(arr);
    if (!(n->kids = calloc(cnt, sizeof *n->kids)))
        return cloak_error_set(c->why, CLOAK_ENOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        char *kw = path_index(where, name, i);
        if (!kw) return cloak_error_set(c->why, CLOAK_ENOMEM, "out of memory");
        rc = parse_node(c, json_array_get(arr, i), kw, depth + 1, 0, &n->kids[i]);
        if (rc) return rc; /* kw is owned by the node (or freed by parse_node) */
        n->nkids++;
    }
    return CLOAK_OK;
}

/* Takes ownership of `where`. */
static cloak_err parse_node(pctx *c, const json_t *o, char *where, int depth, int top,
                            skr_node **out)
{
    cloak_err rc;
    if (++c->nodes > SKR_MAX_NODES) {
        rc = perr(c, where, "more than %d blocks and conditions", SKR_MAX_NODES);
        free(where);
        return rc;
    }
    if (!json_is_object(o)) {
        rc = perr(c, where, "must be a JSON object (got %s)", json_kind(o));
        free(where);
        return rc;
    }
    skr_node *n = calloc(1, sizeof *n);
    if (!n) {
        free(where);
        return cloak_error_set(c->why, CLOAK_ENOMEM, "out of memory");
    }
    n->where = where;
    if ((rc = parse_block(c, o, where, depth, top, n))) {
        node_free(n);
        return rc;
    }
    *out = n;
    return CLOAK_OK;
}

cloak_err cloak_skr_policy_parse(const uint8_t *json, size_t len, cloak_skr_policy **out,
                                 cloak_error *why)
{
    pctx c = {0, why};
    if (!json || !out) return cloak_error_set(why, CLOAK_EINVAL, "skr: no policy or output");
    if (len > SKR_MAX_DOC) return perr(&c, "", "larger than %u bytes", SKR_MAX_DOC);
    json_error_t je;
    json_t *doc = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) return perr(&c, "", "not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    cloak_err rc = CLOAK_OK;
    cloak_skr_policy *p = NULL;
    skr_node *root = NULL;
    if (!json_is_object(doc)) {
        rc = perr(&c, "", "must be a JSON object (got %s)", json_kind(doc));
        goto out;
    }
    const json_t *ver = json_object_get(doc, "version");
    if (!ver) {
        rc = perr(&c, "version", "missing (this vault reads version \"1.0.0\")");
        goto out;
    }
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "1.0.0") ||
        json_string_length(ver) != 5) {
        char *shown = json_dumps(ver, JSON_ENCODE_ANY | JSON_COMPACT);
        rc = perr(&c, "version", "unsupported version %.64s (this vault reads \"1.0.0\")",
                  shown ? shown : "?");
        free(shown);
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "version") && strcmp(k, "anyOf") && strcmp(k, "allOf")) {
            rc = perr(&c, "",
                      "unknown member \"%.64s\" (a policy holds version and anyOf or "
                      "allOf)",
                      k);
            goto out;
        }
    }
    const json_t *any = json_object_get(doc, "anyOf"), *all = json_object_get(doc, "allOf");
    if (any && all) {
        rc = perr(&c, "", "holds both allOf and anyOf; the top level holds one of them");
        goto out;
    }
    if (!any && !all) {
        rc = perr(&c, "", "needs anyOf or allOf (a list of authority blocks)");
        goto out;
    }
    const json_t *arr = any ? any : all;
    const char *name = any ? "anyOf" : "allOf";
    if (!json_is_array(arr)) {
        rc = perr(&c, name, "must be an array of authority blocks (got %s)", json_kind(arr));
        goto out;
    }
    if (json_array_size(arr) == 0) {
        rc = perr(&c, name, "is empty: name at least one authority");
        goto out;
    }
    if (!(root = calloc(1, sizeof *root)) || !(root->where = strdup("")) ||
        !(root->kids = calloc(json_array_size(arr), sizeof *root->kids))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    root->kind = any ? K_ANY : K_ALL;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char *kw = path_index("", name, i);
        if (!kw) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = parse_node(&c, json_array_get(arr, i), kw, 0, 1, &root->kids[i]))) goto out;
        root->nkids++;
    }
    if (!(p = calloc(1, sizeof *p))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    p->magic = SKR_MAGIC;
    p->doc = doc;
    p->root = root;
    doc = NULL;
    root = NULL;
    *out = p;
out:
    node_free(root);
    json_decref(doc);
    return rc;
}

/* ---- evaluation ------------------------------------------------------------------------- */

/* The value at a dotted path, or NULL. */
static const json_t *claim_at(const json_t *claims, const char *path)
{
    const json_t *cur = claims;
    const char *s = path;
    while (cur) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (!json_is_object(cur)) return NULL;
        cur = json_object_getn(cur, s, n);
        if (!dot) return cur;
        s = dot + 1;
    }
    return NULL;
}

/* A value for a message: compact JSON, cut at SKR_SHOW characters. */
static void show(const json_t *v, char *buf, size_t n)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(buf, n, "(%s)", json_kind(v));
        return;
    }
    if (strlen(s) > SKR_SHOW)
        snprintf(buf, n, "%.*s...", SKR_SHOW, s);
    else
        snprintf(buf, n, "%s", s);
    free(s);
}

static int same_type(const json_t *a, const json_t *b)
{
    return (json_is_string(a) && json_is_string(b)) || (json_is_number(a) && json_is_number(b)) ||
           (json_is_boolean(a) && json_is_boolean(b));
}

/* -1, 0, 1 for two JSON numbers. */
static int num_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    double x = json_number_value(a), y = json_number_value(b);
    return x < y ? -1 : x > y;
}

/* 1 when the condition holds, else 0 with `why` set. */
static int eval_cond(const skr_node *n, const json_t *claims, cloak_error *why)
{
    char want[SKR_SHOW + 8], have[SKR_SHOW + 8];
    show(n->value, want, sizeof want);
    const json_t *t = claim_at(claims, n->claim);
    if (!t) {
        cloak_error_set(why, CLOAK_EPERM, "%.160s %s %s: the token has no such claim (%.120s)",
                        n->claim, OP_NAMES[n->op], want, n->where);
        return 0;
    }
    if (n->op == OP_EXISTS) {
        if (json_is_true(n->value)) return 1;
        cloak_error_set(why, CLOAK_EPERM,
                        "%.160s exists false: never satisfied (a missing claim fails every "
                        "condition, and this one is present) (%.120s)",
                        n->claim, n->where);
        return 0;
    }
    show(t, have, sizeof have);
    if (!same_type(t, n->value)) {
        cloak_error_set(why, CLOAK_EPERM,
                        "%.160s %s %s: the token has %s, which is %s, not %s (%.120s)", n->claim,
                        OP_NAMES[n->op], want, have, json_kind(t), json_kind(n->value), n->where);
        return 0;
    }
    int ok;
    switch (n->op) {
    case OP_EQ:
    case OP_NE: {
        int eq;
        if (json_is_string(t))
            eq = json_string_length(t) == json_string_length(n->value) &&
                 !memcmp(json_string_value(t), json_string_value(n->value), json_string_length(t));
        else if (json_is_number(t))
            eq = num_cmp(t, n->value) == 0;
        else
            eq = json_is_true(t) == json_is_true(n->value);
        ok = n->op == OP_EQ ? eq : !eq;
        break;
    }
    case OP_LT:
        ok = num_cmp(t, n->value) < 0;
        break;
    case OP_LE:
        ok = num_cmp(t, n->value) <= 0;
        break;
    case OP_GT:
        ok = num_cmp(t, n->value) > 0;
        break;
    case OP_GE:
        ok = num_cmp(t, n->value) >= 0;
        break;
    default:
        ok = 0;
    }
    if (!ok)
        cloak_error_set(why, CLOAK_EPERM, "%.160s %s %s: the token has %s (%.120s)", n->claim,
                        OP_NAMES[n->op], want, have, n->where);
    return ok;
}

static int eval_node(const skr_node *n, const json_t *claims, cloak_error *why)
{
    if (n->kind == K_COND) return eval_cond(n, claims, why);
    if (n->kind == K_ALL) {
        for (size_t i = 0; i < n->nkids; i++)
            if (!eval_node(n->kids[i], claims, why)) return 0;
        return 1;
    }
    cloak_error first = {0}, scratch = {0};
    for (size_t i = 0; i < n->nkids; i++) {
        if (eval_node(n->kids[i], claims, i ? &scratch : &first)) return 1;
    }
    if (n->nkids == 1)
        *why = first;
    else
        cloak_error_set(why, CLOAK_EPERM,
                        "none of the %zu alternatives of %.100s%sanyOf holds; "
                        "the first: %.300s",
                        n->nkids, n->where, *n->where ? "." : "", first.msg);
    return 0;
}

static int authority_matches(const char *authority, const char *iss)
{
    size_t a = strlen(authority), i = strlen(iss);
    if (i > 1 && iss[i - 1] == '/') i--;
    return a == i && !memcmp(authority, iss, a);
}

cloak_err cloak_skr_policy_eval(const cloak_skr_policy *p, const char *iss, const json_t *claims,
                                cloak_error *why)
{
    if (!p || p->magic != SKR_MAGIC)
        return cloak_error_set(why, CLOAK_EINVAL, "skr: not a parsed policy");
    if (!json_is_object(claims))
        return cloak_error_set(why, CLOAK_EINVAL, "skr: the claims are not a JSON object");
    if (!iss) iss = "";
    cloak_error local = {0};
    cloak_error *w = why ? why : &local;
    const skr_node *r = p->root;
    if (r->kind == K_ALL) {
        for (size_t i = 0; i < r->nkids; i++) {
            if (!authority_matches(r->kids[i]->authority, iss))
                return cloak_error_set(why, CLOAK_EPERM,
                                       "the token's issuer \"%.160s\" is not the authority "
                                       "\"%.160s\" of %s",
                                       iss, r->kids[i]->authority, r->kids[i]->where);
            if (!eval_node(r->kids[i], claims, w)) return CLOAK_EPERM;
        }
        return CLOAK_OK;
    }
    int matched = 0;
    cloak_error first = {0}, scratch = {0};
    for (size_t i = 0; i < r->nkids; i++) {
        if (!authority_matches(r->kids[i]->authority, iss)) continue;
        if (eval_node(r->kids[i], claims, matched ? &scratch : &first)) return CLOAK_OK;
        matched++;
    }
    if (matched) {
        *w = first;
        w->code = CLOAK_EPERM;
        return CLOAK_EPERM;
    }
    char list[300];
    size_t o = 0;
    list[0] = 0;
    for (size_t i = 0; i < r->nkids && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s\"%s\"", i ? ", " : "",
                              r->kids[i]->authority);
    return cloak_error_set(why, CLOAK_EPERM,
                           "the token's issuer \"%.160s\" is not an authority of the release "
                           "policy (%.300s)",
                           iss, list);
}

/* ---- the envelope ----------------------------------------------------------------------- */

/* application/json, with parameters (charset) allowed, case-insensitive. */
static int is_json_media_type(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    static const char mt[] = "application/json";
    if (strncasecmp(s, mt, sizeof mt - 1)) return 0;
    s += sizeof mt - 1;
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == 0 || *s == ';';
}

cloak_err cloak_skr_envelope_decode(const json_t *release_policy, uint8_t **json, size_t *len,
                                    int *immutable, cloak_error *why)
{
    if (!json || !len) return cloak_error_set(why, CLOAK_EINVAL, "skr: no output");
    if (!json_is_object(release_policy))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "release_policy must be a JSON object {\"contentType\", \"data\", "
                               "\"immutable\"}");
    const json_t *ct = json_object_get(release_policy, "contentType");
    if (ct && !json_is_null(ct)) {
        if (!json_is_string(ct) || !is_json_media_type(json_string_value(ct)))
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "release_policy.contentType must be application/json (got "
                                   "%.80s)",
                                   json_is_string(ct) ? json_string_value(ct) : json_kind(ct));
    }
    const json_t *im = json_object_get(release_policy, "immutable");
    if (im && !json_is_null(im) && !json_is_boolean(im))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "release_policy.immutable must be true or false (got %s)",
                               json_kind(im));
    const json_t *d = json_object_get(release_policy, "data");
    const char *s = json_string_value(d);
    if (!s || !json_string_length(d))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "release_policy.data must be the policy JSON, base64url-encoded "
                               "(got %s)",
                               d ? (json_is_string(d) ? "an empty string" : json_kind(d))
                                 : "nothing");
    size_t sl = json_string_length(d);
    uint8_t *raw = NULL;
    size_t rl = 0;
    cloak_err rc;
    int std = strpbrk(s, "+/") != NULL;
    if (std && strpbrk(s, "-_"))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "release_policy.data mixes the base64 and base64url alphabets");
    if (std) {
        /* standard base64 (some clients send it); cloak's decoder wants the padding */
        char *padded = malloc(sl + 4);
        if (!padded) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        memcpy(padded, s, sl);
        size_t pl = sl;
        while (pl % 4)
            padded[pl++] = '=';
        rc = cloak_base64_decode(padded, pl, &raw, &rl, why);
        free(padded);
    } else {
        rc = cloak_base64url_decode(s, sl, &raw, &rl, why);
    }
    if (rc) return cloak_error_wrap(why, "release_policy.data is not base64url");
    cloak_skr_policy *p = NULL;
    if ((rc = cloak_skr_policy_parse(raw, rl, &p, why))) {
        free(raw);
        return cloak_error_wrap(why, "release_policy");
    }
    cloak_skr_policy_free(p);
    uint8_t *nt = realloc(raw, rl + 1);
    if (!nt) {
        free(raw);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    nt[rl] = 0; /* convenience, not counted */
    *json = nt;
    *len = rl;
    if (immutable) *immutable = json_is_true(im);
    return CLOAK_OK;
}

/* ---- the key-encryption key ------------------------------------------------------------- */

static int allows_encrypt(const json_t *jwk)
{
    const json_t *ops = json_object_get(jwk, "key_ops");
    size_t i;
    const json_t *v;
    json_array_foreach(ops, i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), "encrypt")) return 1;
    }
    const char *use = json_string_value(json_object_get(jwk, "use"));
    return use && !strcmp(use, "enc");
}

cloak_err cloak_skr_pick_kek(const json_t *claims, EVP_PKEY **kek, char **kid, cloak_error *why)
{
    if (!kek || !kid) return cloak_error_set(why, CLOAK_EINVAL, "skr: no output");
    const json_t *rt = json_object_get(claims, "x-ms-runtime");
    if (!rt)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the attestation token has no x-ms-runtime claim: the workload "
                               "must send its key-encryption key as JSON runtime data "
                               "{\"keys\":[JWK]}");
    if (!json_is_object(rt))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the token's x-ms-runtime is %s, not a JSON object: send the "
                               "runtime data with dataType JSON",
                               json_kind(rt));
    const json_t *keys = json_object_get(rt, "keys");
    if (!json_is_array(keys) || !json_array_size(keys))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the token's x-ms-runtime has no \"keys\" (a non-empty JWK array)");
    size_t i;
    const json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const json_t *kidv = json_object_get(k, "kid");
        if (!kty || strcmp(kty, "RSA") || !json_is_string(kidv) || !json_string_length(kidv) ||
            !allows_encrypt(k))
            continue;
        EVP_PKEY *pk = NULL;
        cloak_err rc = cloak_jwk_import_public(k, &pk, why);
        if (rc)
            return cloak_error_wrap(why,
                                    "key-encryption key x-ms-runtime.keys[%zu] (kid \"%.80s\")", i,
                                    json_string_value(kidv));
        if (EVP_PKEY_get_bits(pk) < 2048) { /* import enforces this too; keep the rule local */
            int bits = EVP_PKEY_get_bits(pk);
            EVP_PKEY_free(pk);
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "key-encryption key x-ms-runtime.keys[%zu] has %d bits; at "
                                   "least 2048 are required",
                                   i, bits);
        }
        char *kc = strndup(json_string_value(kidv), json_string_length(kidv));
        if (!kc) {
            EVP_PKEY_free(pk);
            return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        }
        *kek = pk;
        *kid = kc;
        return CLOAK_OK;
    }
    return cloak_error_set(why, CLOAK_EINVAL,
                           "no suitable key-encryption key in x-ms-runtime.keys (%zu keys): "
                           "need kty RSA with a kid and \"encrypt\" in key_ops (or use \"enc\")",
                           json_array_size(keys));
}
