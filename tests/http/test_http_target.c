/* The request-target parser and route patterns, without a server. Expected values are what
 * the Azure SDKs send on the wire (reference/azure-api.md §0, §2) and RFC 3986 decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/http_int.h"

static int parse(http_arena *a, const char *s, http_target *t, int *status)
{
    const char *err = NULL;
    *status = 0;
    return http_target_parse(a, (const uint8_t *)s, strlen(s), t, &err, status);
}

static void test_query_names_are_percent_decoded(void **state)
{
    http_arena a = {0};
    http_target t;
    int st;
    assert_int_equal(parse(&a, "/keys/k1/?api%2Dversion=2025-07-01", &t, &st), 0);
    assert_string_equal(http_target_query(&t, "api-version"), "2025-07-01");
    assert_string_equal(http_target_query(&t, "API-Version"),
                        "2025-07-01"); /* names: case-insensitive */
    assert_string_equal(t.path.p, "/keys/k1/");
    assert_int_equal(t.nsegs, 3);
    assert_string_equal(t.segs[0].p, "keys");
    assert_string_equal(t.segs[1].p, "k1");
    assert_string_equal(t.segs[2].p, ""); /* the trailing slash */
    http_arena_free(&a);
}

static void test_query_values_decode_plus_and_escapes(void **state)
{
    http_arena a = {0};
    http_target t;
    int st;
    assert_int_equal(parse(&a, "/x?a=1+2%2B3&&flag&b=&a=second&%24skiptoken=ab%3D%3D", &t, &st), 0);
    assert_string_equal(http_target_query(&t, "a"), "1 2+3"); /* first wins */
    assert_string_equal(http_target_query(&t, "flag"), "");
    assert_string_equal(http_target_query(&t, "b"), "");
    assert_string_equal(http_target_query(&t, "$skiptoken"), "ab==");
    assert_null(http_target_query(&t, "missing"));
    assert_int_equal(t.nquery, 5);
    http_arena_free(&a);
}

static void test_malformed_escapes_are_refused(void **state)
{
    const char *bad[] = {"/x?a=%zz", "/x?a=%4", "/x?%=1", "/k%2", "/k%00",
                         "/x?a=%00", "x",       "",       "/a b", "/\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        http_arena a = {0};
        http_target t;
        int st;
        assert_int_equal(parse(&a, bad[i], &t, &st), -1);
        assert_int_equal(st, 400);
        http_arena_free(&a);
    }
}

static void test_absolute_form_and_fragment(void **state)
{
    http_arena a = {0};
    http_target t;
    int st;
    assert_int_equal(
        parse(&a, "https://vault1.localhost:8443/keys/r1?api-version=7.4#frag", &t, &st), 0);
    assert_string_equal(t.path.p, "/keys/r1");
    assert_string_equal(http_target_query(&t, "api-version"), "7.4");
    assert_int_equal(parse(&a, "https://host?x=1", &t, &st), 0);
    assert_string_equal(t.path.p, "/");
    assert_string_equal(http_target_query(&t, "x"), "1");
    http_arena_free(&a);
}

static void test_limits(void **state)
{
    http_arena a = {0};
    http_target t;
    int st;
    char big[HTTP_MAX_TARGET + 8];
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = 0;
    assert_int_equal(parse(&a, big, &t, &st), -1);
    assert_int_equal(st, 414);
    char many[1024] = "/x?";
    for (int i = 0; i < 70; i++)
        strcat(many, "a=1&");
    assert_int_equal(parse(&a, many, &t, &st), -1);
    assert_int_equal(st, 400);
    char deep[256] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "/a");
    assert_int_equal(parse(&a, deep, &t, &st), -1);
    assert_int_equal(st, 404);
    http_arena_free(&a);
}

/* Parameter names point into the compiled pattern, which lives as long as its server: keep
 * the patterns until the end of the test. */
static http_pattern pats[32];
static size_t npats;

static int match(const char *pattern, unsigned flags, const char *path, http_arena *a, http_kv **kv,
                 size_t *n)
{
    http_pattern p;
    const char *err;
    http_target t;
    int st;
    assert_int_equal(http_pattern_compile(pattern, &p, &err), 0);
    assert_int_equal(parse(a, path, &t, &st), 0);
    int m = http_pattern_match(&p, flags, &t, a, kv, n);
    assert_true(npats < 32);
    pats[npats++] = p;
    return m;
}

static void test_patterns(void **state)
{
    http_arena a = {0};
    http_kv *kv;
    size_t n;
    assert_int_equal(match("/keys/{name}/{version}", 0, "/keys/r1/0123abcd", &a, &kv, &n), 1);
    assert_int_equal(n, 2);
    assert_string_equal(kv[0].name.p, "name");
    assert_string_equal(kv[0].value.p, "r1");
    assert_string_equal(kv[1].value.p, "0123abcd");
    /* An encoded '/' stays inside its parameter. */
    assert_int_equal(match("/keys/{name}", 0, "/keys/a%2Fb", &a, &kv, &n), 1);
    assert_string_equal(kv[0].value.p, "a/b");
    /* The `:reset` suffix. */
    assert_int_equal(match("/policies/{type}:reset", 0, "/policies/SgxEnclave:reset", &a, &kv, &n),
                     1);
    assert_string_equal(kv[0].value.p, "SgxEnclave");
    assert_int_equal(match("/policies/{type}:reset", 0, "/policies/:reset", &a, &kv, &n), 0);
    assert_int_equal(match("/policies/{type}:reset", 0, "/policies/SgxEnclave", &a, &kv, &n), 0);
    assert_int_equal(match("/certificates:add", 0, "/certificates:add", &a, &kv, &n), 1);
    /* Trailing slash: exact by default, optional by flag, in both directions. */
    assert_int_equal(match("/keys/{name}", 0, "/keys/k1/", &a, &kv, &n), 0);
    assert_int_equal(match("/keys/{name}", CLOAK_HTTP_SLASH_OPTIONAL, "/keys/k1/", &a, &kv, &n), 1);
    assert_string_equal(kv[0].value.p, "k1");
    assert_int_equal(match("/keys/{name}/", CLOAK_HTTP_SLASH_OPTIONAL, "/keys/k1", &a, &kv, &n), 1);
    assert_int_equal(match("/keys/{name}/", 0, "/keys/k1", &a, &kv, &n), 0);
    assert_int_equal(match("/keys/{name}", 0, "/keys/", &a, &kv, &n), 0); /* empty parameter */
    assert_int_equal(match("/", 0, "/", &a, &kv, &n), 1);
    assert_int_equal(match("/", CLOAK_HTTP_SLASH_OPTIONAL, "/", &a, &kv, &n), 1);
    assert_int_equal(match("/keys", 0, "/keys/extra", &a, &kv, &n), 0);
    http_arena_free(&a);
    while (npats)
        http_pattern_free(&pats[--npats]);
}

static void test_bad_patterns_are_refused(void **state)
{
    const char *bad[] = {"keys", "/keys/{name", "/keys/name}", "/keys/{}", "/a/{x}{y}", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        http_pattern p;
        const char *err = NULL;
        assert_int_equal(http_pattern_compile(bad[i], &p, &err), -1);
        assert_non_null(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_names_are_percent_decoded),
        cmocka_unit_test(test_query_values_decode_plus_and_escapes),
        cmocka_unit_test(test_malformed_escapes_are_refused),
        cmocka_unit_test(test_absolute_form_and_fragment),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_bad_patterns_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
