/*
 * Evaluator for parsed MAA policies.
 *
 * Semantics, with the doc each comes from (MicrosoftDocs/azure-docs, articles/attestation/):
 * - A condition filters the claim set; it holds when at least one claim satisfies every test in
 *   it; a claim satisfies a test when its property compares true with the right-hand side
 *   (claim-rule-grammar.md, "Evaluation of conditions list"). A rule fires when all its
 *   conditions hold; with no conditions it always fires (ibid., "Claim Rule").
 * - An identifier names the set of claims its condition matched; c.value is the set of their
 *   values. Actions and functions work on such sets: IsSubsetOf/ContainsOnlyValue take sets, and
 *   an add/issue with n values adds n claims of the same type (claim-rule-functions.md,
 *   JsonToClaimValue "JSON array" and IsSubsetOf examples, where one rule yields one claim).
 *   A test against a set holds when it holds for some member.
 * - '!' conditions hold when no claim matches (claim-rule-functions.md, "Not condition operator").
 * - Sections run configurationrules, then authorizationrules, then issuancerules; rules run in
 *   the order written (policy-version-1-0.md, policy-version-1-1.md).
 * - Authorization: the first permit() or deny() that fires decides and ends the section; add()
 *   rules before it still run. No decision means deny: author-sign-policy.md ("Drafting the
 *   policy file") says a rule set with only deny() "ensure[s] no issuance rules are processed"
 *   and permit() is what "allow[s] processing of issuance rules"; the signed example policy in
 *   policy-examples.md puts "=> deny();" for debuggable enclaves *before* an unconditional
 *   "=> permit();", which only works if the first decision wins. Denied: nothing is issued.
 * - Claims created by the policy have issuer "AttestationPolicy" (claim-rule-grammar.md, "Claim")
 *   and a valueType from their value (author-sign-policy.md step 5: value=100 -> "Integer").
 * - add(): the incoming set; issue(): incoming and outgoing; issueproperty(): incoming and the
 *   property set (claim-rule-grammar.md, action table). A null value adds nothing
 *   (claim-rule-functions.md, JsonToClaimValue "Null").
 * The caller's claims are deep-copied; the result is written only when evaluation succeeds.
 */
#include "attest/maa_policy_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SET 4096     /* values one expression may produce */
#define MAX_CLAIMS 65536 /* claims in the working set */

typedef struct {
    json_t *incoming; /* working claim set (our copy) */
    json_t *issued;
    json_t *properties;
    json_t *config;
    cloak_error *why;
    int line; /* rule being evaluated, for messages */
} E;

static int efail(E *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int efail(E *e, const char *fmt, ...)
{
    char msg[CLOAK_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cloak_error_set(e->why, CLOAK_EINVAL, "policy rule at line %d: %s", e->line, msg);
    return -1;
}

static const char *value_type_of(const json_t *v)
{
    if (json_is_integer(v)) return "Integer";
    if (json_is_boolean(v)) return "Boolean";
    return "String";
}

static json_t *make_claim(const char *type, json_t *value, const char *issuer, const char *vt)
{
    return json_pack("{s:s, s:O, s:s, s:s}", "type", type, "value", value, "issuer", issuer,
                     "valueType", vt ? vt : value_type_of(value));
}

static const char *sprop(const json_t *claim, const char *k)
{
    return json_string_value(json_object_get(claim, k));
}

static json_t *claim_prop(const json_t *claim, maa_prop p)
{
    switch (p) {
    case MAA_P_TYPE:
        return json_object_get(claim, "type");
    case MAA_P_VALUE:
        return json_object_get(claim, "value");
    case MAA_P_ISSUER:
        return json_object_get(claim, "issuer");
    default:
        return json_object_get(claim, "valueType");
    }
}

static int push(E *e, json_t *set, json_t *v) /* steals v */
{
    if (!v) return efail(e, "out of memory");
    if (json_array_size(set) >= MAX_SET) {
        json_decref(v);
        return efail(e, "an expression produced more than %d values", MAX_SET);
    }
    return json_array_append_new(set, v) ? efail(e, "out of memory") : 0;
}

static json_t *eval_expr(E *e, const maa_expr *x, json_t *const *bound);

/* JSON text (or an incoming JSON claim value) -> JSON. */
static json_t *as_json(E *e, const json_t *v, const char *fn)
{
    if (!json_is_string(v)) return json_incref((json_t *)v);
    json_error_t err;
    json_t *j = json_loadb(json_string_value(v), json_string_length(v), JSON_DECODE_ANY, &err);
    if (!j) efail(e, "%s: argument is not valid JSON (%s)", fn, err.text);
    return j;
}

/* claim-rule-functions.md, JsonToClaimValue "Evaluation". */
static int to_claim_value(E *e, json_t *out, const json_t *j, int in_array)
{
    if (json_is_null(j)) return 0;
    if (json_is_integer(j) || json_is_boolean(j) || json_is_string(j))
        return push(e, out, json_deep_copy(j));
    if (json_is_real(j)) {
        double d = json_real_value(j);
        /* Range first so the cast is defined; no libm (the library links without -lm). */
        if (!(d > -9.0e15 && d < 9.0e15) || d != (double)(long long)d)
            return efail(e, "JsonToClaimValue: %g is a fraction or out of range", d);
        return push(e, out, json_integer((json_int_t)d));
    }
    if (json_is_object(j))
        return efail(e, "JsonToClaimValue: JSON objects cannot become claim values");
    if (in_array)
        return efail(e,
                     "JsonToClaimValue: arrays may hold only numbers, booleans, strings and null");
    size_t i;
    json_t *el;
    json_array_foreach(j, i, el) if (to_claim_value(e, out, el, 1)) return -1;
    return 0;
}

static json_t *call(E *e, const maa_expr *x, json_t *const *bound)
{
    json_t *a = NULL, *b = NULL, *out = json_array();
    size_t i, k;
    json_t *u, *v;
    int ok = 0;
    if (!out) {
        efail(e, "out of memory");
        return NULL;
    }
    if (!(a = eval_expr(e, x->args[0], bound))) goto out;
    if (x->nargs > 1 && !(b = eval_expr(e, x->args[1], bound))) goto out;
    switch (x->fn) {
    case MAA_FN_JMESPATH:
        json_array_foreach(a, i, u) json_array_foreach(b, k, v)
        {
            if (!json_is_string(v) || !json_string_length(v)) {
                efail(e, "JmesPath: the query must be a non-empty string");
                goto out;
            }
            json_t *data = as_json(e, u, "JmesPath"), *res = NULL;
            if (!data) goto out;
            cloak_err rc = maa_jmespath_search(json_string_value(v), data, &res, e->why);
            json_decref(data);
            if (rc) {
                cloak_error_wrap(e->why, "policy rule at line %d", e->line);
                goto out;
            }
            char *txt = json_dumps(res, JSON_ENCODE_ANY | JSON_COMPACT);
            json_decref(res);
            if (!txt) {
                efail(e, "out of memory");
                goto out;
            }
            json_t *s = json_string(txt); /* the result is JSON text, e.g. "null" or "\"bar\"" */
            free(txt);
            if (push(e, out, s)) goto out;
        }
        break;
    case MAA_FN_JSONTOCLAIMVALUE:
        json_array_foreach(a, i, u)
        {
            json_t *j = as_json(e, u, "JsonToClaimValue");
            int rc = j ? to_claim_value(e, out, j, 0) : -1;
            json_decref(j);
            if (rc) goto out;
        }
        break;
    case MAA_FN_ISSUBSETOF: {
        int sub = 1;
        json_array_foreach(a, i, u)
        {
            int found = 0;
            json_array_foreach(b, k, v) found |= json_equal(u, v);
            sub &= found;
        }
        if (push(e, out, json_boolean(sub))) goto out;
        break;
    }
    case MAA_FN_APPENDSTRING:
        json_array_foreach(a, i, u) json_array_foreach(b, k, v)
        {
            if (!json_is_string(u) || !json_is_string(v)) {
                efail(e, "AppendString: both arguments must be strings");
                goto out;
            }
            size_t la = json_string_length(u), lb = json_string_length(v);
            char *s = malloc(la + lb + 1);
            if (!s) {
                efail(e, "out of memory");
                goto out;
            }
            memcpy(s, json_string_value(u), la);
            memcpy(s + la, json_string_value(v), lb);
            s[la + lb] = 0;
            json_t *js = json_stringn(s, la + lb);
            free(s);
            if (push(e, out, js)) goto out;
        }
        break;
    case MAA_FN_NEGATEBOOL:
        json_array_foreach(a, i, u)
        {
            if (!json_is_boolean(u)) {
                efail(e, "NegateBool: the argument must be a Boolean");
                goto out;
            }
            if (push(e, out, json_boolean(!json_is_true(u)))) goto out;
        }
        break;
    case MAA_FN_CONTAINSONLYVALUE: {
        if (json_array_size(b) != 1) {
            efail(e, "ContainsOnlyValue: the second argument must be one value, not %zu",
                  json_array_size(b));
            goto out;
        }
        int only = json_array_size(a) > 0;
        json_array_foreach(a, i, u) only &= json_equal(u, json_array_get(b, 0));
        if (push(e, out, json_boolean(only))) goto out;
        break;
    }
    }
    ok = 1;
out:
    json_decref(a);
    json_decref(b);
    if (!ok) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Evaluate to a set (JSON array) of values; NULL on error. */
static json_t *eval_expr(E *e, const maa_expr *x, json_t *const *bound)
{
    json_t *set = NULL;
    size_t i;
    json_t *c;
    switch (x->kind) {
    case MAA_EX_STR:
        return json_pack("[s]", x->str);
    case MAA_EX_INT:
        return json_pack("[I]", (json_int_t)x->num);
    case MAA_EX_BOOL:
        return json_pack("[b]", (int)x->num);
    case MAA_EX_PROP:
        if (!(set = json_array())) return NULL;
        json_array_foreach(bound[x->var], i, c)
        {
            json_t *v = claim_prop(c, x->prop);
            if (v && push(e, set, json_incref(v))) {
                json_decref(set);
                return NULL;
            }
        }
        return set;
    case MAA_EX_CALL:
        return call(e, x, bound);
    }
    return NULL;
}

static int compare(const json_t *l, maa_op op, const json_t *r)
{
    if (!l) return 0;
    if (op == MAA_OP_EQ) return json_equal(l, r);
    if (op == MAA_OP_NE) return !json_equal(l, r);
    if (!json_is_integer(l) || !json_is_integer(r)) return 0; /* ordering is for integers only */
    json_int_t a = json_integer_value(l), b = json_integer_value(r);
    switch (op) {
    case MAA_OP_LT:
        return a < b;
    case MAA_OP_LE:
        return a <= b;
    case MAA_OP_GT:
        return a > b;
    default:
        return a >= b;
    }
}

/* Fill bound[var] (or a scratch set) with the claims matching `c`; returns 1 if the
 * condition holds, 0 if not, -1 on error. */
static int eval_cond(E *e, const maa_cond *c, json_t *snapshot, json_t **bound)
{
    json_t *rhs[64] = {0}, **rv = rhs, *matched = json_array();
    int rc = -1;
    if (c->ntests > 64 && !(rv = calloc(c->ntests, sizeof *rv))) {
        efail(e, "out of memory");
        goto out;
    }
    if (!matched) {
        efail(e, "out of memory");
        goto out;
    }
    for (size_t t = 0; t < c->ntests; t++)
        if (!(rv[t] = eval_expr(e, c->tests[t].rhs, bound))) goto out;
    size_t i, k;
    json_t *cl, *r;
    json_array_foreach(snapshot, i, cl)
    {
        int all = 1;
        for (size_t t = 0; t < c->ntests && all; t++) {
            int any = 0;
            json_t *l = claim_prop(cl, c->tests[t].prop);
            json_array_foreach(rv[t], k, r) if (compare(l, c->tests[t].op, r))
            {
                any = 1;
                break;
            }
            all = any;
        }
        if (all && json_array_append(matched, cl)) {
            efail(e, "out of memory");
            goto out;
        }
    }
    rc = c->negated ? json_array_size(matched) == 0 : json_array_size(matched) > 0;
    if (c->var >= 0) {
        bound[c->var] = matched;
        matched = NULL;
    }
out:
    for (size_t t = 0; t < c->ntests; t++)
        json_decref(rv[t]);
    if (rv != rhs) free(rv);
    json_decref(matched);
    return rc;
}

static int add_claim(E *e, json_t *claim, maa_action a, maa_section sec) /* steals claim */
{
    if (!claim) return efail(e, "out of memory");
    if (json_array_size(e->incoming) >= MAX_CLAIMS) {
        json_decref(claim);
        return efail(e, "the policy created more than %d claims", MAX_CLAIMS);
    }
    if (a == MAA_A_ISSUE && json_array_append(e->issued, claim)) goto oom;
    if (a == MAA_A_ISSUEPROPERTY &&
        json_object_set(sec == MAA_SEC_CONFIG ? e->config : e->properties, sprop(claim, "type"),
                        json_object_get(claim, "value")))
        goto oom;
    if (json_array_append_new(e->incoming, claim)) return efail(e, "out of memory");
    return 0;
oom:
    json_decref(claim);
    return efail(e, "out of memory");
}

/* Run one rule. Returns -1 on error, 0 if it did not fire, 1 if it fired. */
static int run_rule(E *e, const maa_rule *r, maa_section sec)
{
    json_t *bound_small[8] = {0}, **bound = bound_small, *snapshot = NULL, *vals = NULL;
    int rc = -1, holds = 1;
    e->line = r->line;
    if (r->nvars > 8 && !(bound = calloc(r->nvars, sizeof *bound)))
        return efail(e, "out of memory");
    /* Conditions see the claims as they were when the rule started. */
    if (!(snapshot = json_copy(e->incoming))) {
        efail(e, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->nconds && holds; i++) {
        int h = eval_cond(e, &r->conds[i], snapshot, bound);
        if (h < 0) goto out;
        holds = h;
    }
    if (!holds) {
        rc = 0;
        goto out;
    }
    if (r->action == MAA_A_PERMIT || r->action == MAA_A_DENY) {
        rc = 1;
        goto out;
    }
    if (r->claim_var >= 0) {
        size_t i;
        json_t *c;
        json_array_foreach(bound[r->claim_var], i,
                           c) if (add_claim(e, json_deep_copy(c), r->action, sec)) goto out;
        rc = 1;
        goto out;
    }
    if (!(vals = eval_expr(e, r->value, bound))) goto out;
    size_t j;
    json_t *v;
    json_array_foreach(vals, j, v)
    {
        if (json_is_null(v)) continue;
        if (add_claim(e, make_claim(r->type, v, "AttestationPolicy", NULL), r->action, sec))
            goto out;
    }
    rc = 1;
out:
    for (size_t i = 0; i < r->nvars; i++)
        json_decref(bound[i]);
    if (bound != bound_small) free(bound);
    json_decref(snapshot);
    json_decref(vals);
    return rc;
}

/* Copy and normalise the caller's claims: issuer defaults to CustomClaim (claim-rule-grammar.md).
 */
static int load_claims(E *e, const json_t *claims)
{
    size_t i;
    json_t *c;
    if (!json_is_array(claims))
        return cloak_error_set(e->why, CLOAK_EINVAL, "claims must be a JSON array"), -1;
    json_array_foreach(claims, i, c)
    {
        json_t *type = json_object_get(c, "type"), *value = json_object_get(c, "value");
        json_t *iss = json_object_get(c, "issuer"), *vt = json_object_get(c, "valueType");
        if (!json_is_object(c) || !json_is_string(type) || !value || json_is_null(value) ||
            (iss && !json_is_string(iss)) || (vt && !json_is_string(vt)))
            return cloak_error_set(
                       e->why, CLOAK_EINVAL,
                       "claim %zu: needs a string \"type\", a non-null \"value\" and optional "
                       "string \"issuer\"/\"valueType\"",
                       i),
                   -1;
        json_t *copy = json_deep_copy(value);
        json_t *n = copy ? make_claim(json_string_value(type), copy,
                                      iss ? json_string_value(iss) : "CustomClaim",
                                      vt ? json_string_value(vt) : NULL)
                         : NULL;
        json_decref(copy);
        if (!n || json_array_append_new(e->incoming, n))
            return cloak_error_set(e->why, CLOAK_ENOMEM, "out of memory copying claims"), -1;
    }
    return 0;
}

cloak_err maa_policy_eval(const maa_policy *p, const json_t *claims, maa_result *out,
                          cloak_error *why)
{
    E e = {.why = why};
    cloak_err rc = CLOAK_EINVAL;
    int permitted = 0;
    if (!p || !claims || !out)
        return cloak_error_set(why, CLOAK_EINVAL, "maa_policy_eval: missing argument");
    e.incoming = json_array();
    e.issued = json_array();
    e.properties = json_object();
    e.config = json_object();
    if (!e.incoming || !e.issued || !e.properties || !e.config) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (load_claims(&e, claims)) goto out;
    for (size_t i = 0; i < p->nrules[MAA_SEC_CONFIG]; i++)
        if (run_rule(&e, &p->rules[MAA_SEC_CONFIG][i], MAA_SEC_CONFIG) < 0) goto out;
    for (size_t i = 0; i < p->nrules[MAA_SEC_AUTHZ]; i++) {
        const maa_rule *r = &p->rules[MAA_SEC_AUTHZ][i];
        int fired = run_rule(&e, r, MAA_SEC_AUTHZ);
        if (fired < 0) goto out;
        if (fired && (r->action == MAA_A_PERMIT || r->action == MAA_A_DENY)) {
            permitted = r->action == MAA_A_PERMIT;
            break;
        }
    }
    if (permitted)
        for (size_t i = 0; i < p->nrules[MAA_SEC_ISSUANCE]; i++)
            if (run_rule(&e, &p->rules[MAA_SEC_ISSUANCE][i], MAA_SEC_ISSUANCE) < 0) goto out;
    out->permitted = permitted;
    out->issued = e.issued;
    out->properties = e.properties;
    out->config = e.config;
    e.issued = e.properties = e.config = NULL;
    rc = CLOAK_OK;
out:
    if (rc && why && why->code) rc = why->code;
    json_decref(e.incoming);
    json_decref(e.issued);
    json_decref(e.properties);
    json_decref(e.config);
    return rc;
}

void maa_result_free(maa_result *r)
{
    if (!r) return;
    json_decref(r->issued);
    json_decref(r->properties);
    json_decref(r->config);
    memset(r, 0, sizeof *r);
}
