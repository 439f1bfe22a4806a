/* Helpers shared by the MAA policy tests. */
#ifndef MAA_TEST_UTIL_H
#define MAA_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "attest/maa_policy.h"

static inline maa_policy *parse_ok(const char *text)
{
    maa_policy *p = NULL;
    cloak_error why = {0};
    cloak_err rc = maa_policy_parse(text, strlen(text), &p, &why);
    if (rc) print_error("parse failed: %s\n", why.msg);
    assert_int_equal(rc, CLOAK_OK);
    assert_non_null(p);
    return p;
}

/* Parse must fail with a message containing `where` and `what`. */
static inline void parse_fails(const char *text, const char *where, const char *what)
{
    maa_policy *p = (maa_policy *)0x1;
    cloak_error why = {0};
    assert_int_equal(maa_policy_parse(text, strlen(text), &p, &why), CLOAK_EINVAL);
    assert_ptr_equal(p, (maa_policy *)0x1); /* untouched on failure */
    if (!strstr(why.msg, where) || !strstr(why.msg, what))
        print_error("got \"%s\", want \"%s\" + \"%s\"\n", why.msg, where, what);
    assert_non_null(strstr(why.msg, where));
    assert_non_null(strstr(why.msg, what));
}

static inline json_t *load(const char *json)
{
    json_error_t err;
    json_t *j = json_loads(json, 0, &err);
    if (!j) print_error("bad test JSON: %s\n", err.text);
    assert_non_null(j);
    return j;
}

/* Evaluate and check the input claims were left alone. */
static inline maa_result eval_ok(const char *policy, const char *claims_json)
{
    maa_policy *p = parse_ok(policy);
    json_t *claims = load(claims_json), *before = json_deep_copy(claims);
    maa_result r = {0};
    cloak_error why = {0};
    cloak_err rc = maa_policy_eval(p, claims, &r, &why);
    if (rc) print_error("eval failed: %s\n", why.msg);
    assert_int_equal(rc, CLOAK_OK);
    assert_true(json_equal(claims, before));
    json_decref(claims);
    json_decref(before);
    maa_policy_free(p);
    return r;
}

/* The n-th issued claim of `type` (n from 0), or NULL. */
static inline json_t *issued(const maa_result *r, const char *type, size_t n)
{
    size_t i;
    json_t *c;
    json_array_foreach(r->issued, i,
                       c) if (!strcmp(json_string_value(json_object_get(c, "type")), type) &&
                              n-- == 0) return c;
    return NULL;
}

static inline size_t count_issued(const maa_result *r, const char *type)
{
    size_t n = 0;
    while (issued(r, type, n))
        n++;
    return n;
}

static inline json_t *issued_value(const maa_result *r, const char *type)
{
    json_t *c = issued(r, type, 0);
    if (!c) print_error("no issued claim %s\n", type);
    assert_non_null(c);
    return json_object_get(c, "value");
}

#endif
