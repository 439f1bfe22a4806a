/* Secure Key Release policies (src/vault/skr.c): every operator both ways, nesting, authority
 * matching, missing claims, the legacy form, each parse error with its JSON path, the example
 * policy of azure-api.md §2 against a realistic MAA SGX claim set (claim names from
 * attestation.md §7), the release_policy envelope, and the KEK pick.
 * Independent expectations: truth values worked out by hand from the grammar; envelope data
 * encoded with OpenSSL's EVP_EncodeBlock (not cloak's encoder); KEK identity checked with
 * EVP_PKEY_eq against the key generated here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloak/jose.h"
#include "vault/skr.h"

#define MAA "https://maa.example"
#define MRSIGNER "9fa4d8e6b8f1c0a2e3d4c5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f00112"
#define MRENCLAVE "5e2f4a1c9d8b7a6f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e"

/* An SGX token's claims as MAA issues them (attestation.md §7; values made up). */
static const char SGX_CLAIMS[] =
    "{\"iss\":\"" MAA "\",\"iat\":1752919277,\"nbf\":1752919277,\"exp\":1752948077,"
    "\"jti\":\"8a9c3f\",\"x-ms-ver\":\"1.0\",\"x-ms-attestation-type\":\"sgx\","
    "\"x-ms-policy-hash\":\"wm9mHlvTU82e8UqoOy1Yj1FBRSNkfe99-69IYDq9eWs\","
    "\"x-ms-sgx-is-debuggable\":false,\"x-ms-sgx-product-id\":1,"
    "\"x-ms-sgx-mrsigner\":\"" MRSIGNER "\",\"x-ms-sgx-mrenclave\":\"" MRENCLAVE "\","
    "\"x-ms-sgx-svn\":3,\"x-ms-sgx-ehd\":\"eyJrZXlzIjpbXX0\","
    "\"x-ms-sgx-report-data\":\"00\","
    "\"x-ms-sgx-collateral\":{\"qeidcertshash\":\"a1\",\"qeidcrlhash\":\"a2\",\"qeidhash\":\"a3\","
    "\"quotehash\":\"a4\",\"tcbinfocertshash\":\"a5\",\"tcbinfocrlhash\":\"a6\","
    "\"tcbinfohash\":\"a7\"},"
    "\"is-debuggable\":false,\"product-id\":1,\"sgx-mrenclave\":\"" MRENCLAVE "\","
    "\"sgx-mrsigner\":\"" MRSIGNER "\",\"svn\":3,\"tee\":\"sgx\","
    "\"x-ms-isolation-tee\":{\"x-ms-attestation-type\":\"sevsnpvm\","
    "\"x-ms-sevsnpvm-guestsvn\":4,\"x-ms-sevsnpvm-is-debuggable\":false},"
    "\"x-ms-runtime\":{\"keys\":[]},\"ratio\":2.5}";

static json_t *sgx_claims(void)
{
    json_error_t je;
    json_t *c = json_loads(SGX_CLAIMS, 0, &je);
    if (!c) fprintf(stderr, "claims: %s\n", je.text);
    assert_non_null(c);
    return c;
}

static cloak_skr_policy *parse_ok(const char *doc)
{
    cloak_skr_policy *p = NULL;
    cloak_error e = {0};
    cloak_err rc = cloak_skr_policy_parse((const uint8_t *)doc, strlen(doc), &p, &e);
    if (rc) fprintf(stderr, "parse: %s\n  policy: %s\n", e.msg, doc);
    assert_int_equal(rc, CLOAK_OK);
    return p;
}

/* Parse and evaluate; *msg gets the refusal. */
static cloak_err run(const char *doc, const char *iss, const json_t *claims, char *msg, size_t n)
{
    cloak_skr_policy *p = parse_ok(doc);
    cloak_error e = {0};
    cloak_err rc = cloak_skr_policy_eval(p, iss, claims, &e);
    if (msg) snprintf(msg, n, "%s", e.msg);
    cloak_skr_policy_free(p);
    return rc;
}

/* One condition under the MAA authority, against the SGX claims. */
static cloak_err cond(const char *c, char *msg, size_t n)
{
    char doc[1024];
    snprintf(doc, sizeof doc,
             "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[%s]}]}", c);
    json_t *claims = sgx_claims();
    cloak_err rc = run(doc, MAA, claims, msg, n);
    json_decref(claims);
    return rc;
}

static void expect_cond(const char *c, int holds)
{
    char msg[CLOAK_ERROR_MAX];
    cloak_err rc = cond(c, msg, sizeof msg);
    if ((rc == CLOAK_OK) != holds)
        fprintf(stderr, "condition %s: expected %s, got rc %d (%s)\n", c, holds ? "true" : "false",
                rc, msg);
    assert_int_equal(rc, holds ? CLOAK_OK : CLOAK_EPERM);
}

static void expect_cond_msg(const char *c, const char *frag)
{
    char msg[CLOAK_ERROR_MAX];
    assert_int_equal(cond(c, msg, sizeof msg), CLOAK_EPERM);
    if (!strstr(msg, frag)) fprintf(stderr, "missing \"%s\" in \"%s\"\n", frag, msg);
    assert_non_null(strstr(msg, frag));
}

/* ---- operators ---- */

static void test_equals_and_not_equals_per_type(void **state)
{
    (void)state;
    expect_cond("{\"claim\":\"x-ms-sgx-mrsigner\",\"equals\":\"" MRSIGNER "\"}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-mrsigner\",\"equals\":\"9fa4\"}", 0);
    /* strings compare exactly: upper-case hex is another string */
    expect_cond("{\"claim\":\"tee\",\"equals\":\"SGX\"}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"equals\":3}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"equals\":3.0}", 1); /* numerically */
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"equals\":4}", 0);
    expect_cond("{\"claim\":\"ratio\",\"equals\":2.5}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-is-debuggable\",\"equals\":false}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-is-debuggable\",\"equals\":true}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-mrsigner\",\"notEquals\":\"9fa4\"}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-mrsigner\",\"notEquals\":\"" MRSIGNER "\"}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"notEquals\":2}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"notEquals\":3}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-is-debuggable\",\"notEquals\":true}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-is-debuggable\",\"notEquals\":false}", 0);
    /* a type mismatch satisfies neither equals nor notEquals */
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"equals\":\"3\"}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"notEquals\":\"3\"}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-is-debuggable\",\"notEquals\":\"true\"}", 0);
    expect_cond_msg("{\"claim\":\"x-ms-sgx-is-debuggable\",\"notEquals\":\"true\"}",
                    "which is a boolean, not a string");
}

static void test_ordering_operators_on_numbers(void **state)
{
    (void)state;
    /* svn is 3 */
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"less\":4}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"less\":3}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"lessOrEquals\":3}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"lessOrEquals\":2}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"greater\":2}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"greater\":3}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"greaterOrEquals\":3}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"greaterOrEquals\":4}", 0);
    /* reals, and integers against reals (ratio is 2.5) */
    expect_cond("{\"claim\":\"ratio\",\"greater\":2}", 1);
    expect_cond("{\"claim\":\"ratio\",\"less\":2.49}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"greater\":2.99}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"less\":3.01}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"greaterOrEquals\":-1}", 1);
    /* a string claim under an ordering operator fails at evaluation, saying why */
    expect_cond_msg("{\"claim\":\"tee\",\"greater\":1}",
                    "tee greater 1: the token has \"sgx\", which is a string, not a number");
    /* and the failing value is named: the header's example shape */
    expect_cond_msg("{\"claim\":\"x-ms-sgx-svn\",\"greaterOrEquals\":4}",
                    "x-ms-sgx-svn greaterOrEquals 4: the token has 3 (anyOf[0].allOf[0])");
}

static void test_exists(void **state)
{
    (void)state;
    expect_cond("{\"claim\":\"x-ms-sgx-ehd\",\"exists\":true}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-collateral.quotehash\",\"exists\":true}", 1);
    expect_cond("{\"claim\":\"x-ms-sgx-config-id\",\"exists\":true}", 0);
    /* exists:false never holds: present fails, and a missing claim fails every operator */
    expect_cond("{\"claim\":\"x-ms-sgx-ehd\",\"exists\":false}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-config-id\",\"exists\":false}", 0);
    expect_cond_msg("{\"claim\":\"x-ms-sgx-ehd\",\"exists\":false}", "never satisfied");
}

static void test_missing_claim_fails_every_operator(void **state)
{
    (void)state;
    static const char *const ops[] = {"equals",       "notEquals", "less",
                                      "lessOrEquals", "greater",   "greaterOrEquals"};
    for (size_t i = 0; i < 6; i++) {
        char c[160];
        snprintf(c, sizeof c, "{\"claim\":\"x-ms-sgx-nope\",\"%s\":1}", ops[i]);
        expect_cond(c, 0);
        expect_cond_msg(c, "x-ms-sgx-nope");
        expect_cond_msg(c, "the token has no such claim");
    }
    /* a dotted path through a missing object, and through a non-object */
    expect_cond("{\"claim\":\"x-ms-nothing.x\",\"notEquals\":\"y\"}", 0);
    expect_cond("{\"claim\":\"tee.x\",\"notEquals\":\"y\"}", 0);
}

static void test_dotted_claim_paths(void **state)
{
    (void)state;
    expect_cond("{\"claim\":\"x-ms-isolation-tee.x-ms-attestation-type\",\"equals\":\"sevsnpvm\"}",
                1);
    expect_cond("{\"claim\":\"x-ms-isolation-tee.x-ms-sevsnpvm-guestsvn\",\"greaterOrEquals\":4}",
                1);
    expect_cond("{\"claim\":\"x-ms-isolation-tee.x-ms-sevsnpvm-guestsvn\",\"greater\":4}", 0);
    expect_cond("{\"claim\":\"x-ms-sgx-collateral.quotehash\",\"equals\":\"a4\"}", 1);
}

/* ---- structure ---- */

static void test_nesting_any_of_all_of(void **state)
{
    (void)state;
    json_t *c = sgx_claims();
    /* allOf[ T, anyOf[ F, allOf[T, anyOf[F, T]] ] ] = T */
    const char *t = "{\"claim\":\"tee\",\"equals\":\"sgx\"}";
    const char *f = "{\"claim\":\"tee\",\"equals\":\"tdx\"}";
    char doc[2048];
    snprintf(doc, sizeof doc,
             "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[%s,"
             "{\"anyOf\":[%s,{\"allOf\":[%s,{\"anyOf\":[%s,%s]}]}]}]}]}",
             t, f, t, f, t);
    assert_int_equal(run(doc, MAA, c, NULL, 0), CLOAK_OK);
    /* innermost anyOf[F, F]: the whole thing fails, and the message names the innermost block */
    snprintf(doc, sizeof doc,
             "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[%s,"
             "{\"anyOf\":[%s,{\"allOf\":[%s,{\"anyOf\":[%s,%s]}]}]}]}]}",
             t, f, t, f, f);
    char msg[CLOAK_ERROR_MAX];
    assert_int_equal(run(doc, MAA, c, msg, sizeof msg), CLOAK_EPERM);
    assert_non_null(strstr(msg, "tee equals \"tdx\": the token has \"sgx\""));
    /* allOf with one false member fails; anyOf with one true member holds */
    snprintf(doc, sizeof doc,
             "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[%s,%s]}]}", t,
             f);
    assert_int_equal(run(doc, MAA, c, NULL, 0), CLOAK_EPERM);
    snprintf(doc, sizeof doc,
             "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" MAA "\",\"anyOf\":[%s,%s]}]}", f,
             t);
    assert_int_equal(run(doc, MAA, c, NULL, 0), CLOAK_OK);
    /* top-level allOf: every block must hold (and match the issuer) */
    snprintf(doc, sizeof doc,
             "{\"version\":\"1.0.0\",\"allOf\":[{\"authority\":\"" MAA "\",\"allOf\":[%s]},"
             "{\"authority\":\"" MAA "/\",\"anyOf\":[%s,%s]}]}",
             t, f, t);
    assert_int_equal(run(doc, MAA, c, NULL, 0), CLOAK_OK);
    snprintf(doc, sizeof doc,
             "{\"version\":\"1.0.0\",\"allOf\":[{\"authority\":\"" MAA "\",\"allOf\":[%s]},"
             "{\"authority\":\"https://other.example\",\"allOf\":[%s]}]}",
             t, t);
    assert_int_equal(run(doc, MAA, c, msg, sizeof msg), CLOAK_EPERM);
    assert_non_null(strstr(msg, "https://other.example"));
    /* top-level anyOf over two authorities: the matching one decides */
    snprintf(doc, sizeof doc,
             "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://other.example\","
             "\"allOf\":[%s]},{\"authority\":\"" MAA "\",\"allOf\":[%s]}]}",
             t, t);
    assert_int_equal(run(doc, MAA, c, NULL, 0), CLOAK_OK);
    assert_int_equal(run(doc, "https://other.example", c, NULL, 0), CLOAK_OK);
    assert_int_equal(run(doc, "https://third.example", c, msg, sizeof msg), CLOAK_EPERM);
    assert_non_null(strstr(msg, "\"https://third.example\" is not an authority"));
    json_decref(c);
}

static void test_authority_trailing_slash(void **state)
{
    (void)state;
    json_t *c = sgx_claims();
    const char *pol[] = {
        "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[{\"claim\":"
        "\"tee\",\"equals\":\"sgx\"}]}]}",
        "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" MAA "/\",\"allOf\":[{\"claim\":"
        "\"tee\",\"equals\":\"sgx\"}]}]}",
    };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run(pol[i], MAA, c, NULL, 0), CLOAK_OK);
        assert_int_equal(run(pol[i], MAA "/", c, NULL, 0), CLOAK_OK);
        char msg[CLOAK_ERROR_MAX];
        /* only one slash is normalised; another host, scheme or path is another issuer */
        assert_int_equal(run(pol[i], MAA "//", c, msg, sizeof msg), CLOAK_EPERM);
        assert_int_equal(run(pol[i], "http://maa.example", c, NULL, 0), CLOAK_EPERM);
        assert_int_equal(run(pol[i], MAA "/tenant", c, NULL, 0), CLOAK_EPERM);
        assert_int_equal(run(pol[i], "https://maa.example.evil", c, msg, sizeof msg), CLOAK_EPERM);
        assert_non_null(strstr(msg, "issuer \"https://maa.example.evil\""));
        assert_non_null(strstr(msg, "\"" MAA "\""));
        assert_int_equal(run(pol[i], NULL, c, NULL, 0), CLOAK_EPERM);
    }
    json_decref(c);
}

static void test_legacy_condition_form(void **state)
{
    (void)state;
    expect_cond("{\"claim\":\"x-ms-sgx-is-debuggable\",\"condition\":\"equals\",\"value\":false}",
                1);
    expect_cond("{\"claim\":\"x-ms-sgx-is-debuggable\",\"condition\":\"equals\",\"value\":true}",
                0);
    expect_cond("{\"claim\":\"x-ms-sgx-svn\",\"condition\":\"greaterOrEquals\",\"value\":2}", 1);
    expect_cond("{\"value\":\"sgx\",\"condition\":\"notEquals\",\"claim\":\"tee\"}", 0);
    /* the SDK 7.3-preview test policy shape */
    json_t *c = json_pack("{s:s}", "sdk-test", "true");
    assert_int_equal(run("{\"version\":\"1.0.0\",\"anyOf\":[{\"allOf\":[{\"claim\":\"sdk-test\","
                         "\"condition\":\"equals\",\"value\":\"true\"}],\"authority\":\"" MAA
                         "\"}]}",
                         MAA, c, NULL, 0),
                     CLOAK_OK);
    json_decref(c);
}

/* ---- parse errors ---- */

static void expect_parse_error(const char *doc, const char *frag)
{
    cloak_skr_policy *p = (cloak_skr_policy *)0x1;
    cloak_error e = {0};
    cloak_err rc = cloak_skr_policy_parse((const uint8_t *)doc, strlen(doc), &p, &e);
    if (rc != CLOAK_EINVAL || !strstr(e.msg, frag))
        fprintf(stderr, "policy %s\n  rc %d, \"%s\"\n  wanted \"%s\"\n", doc, rc, e.msg, frag);
    assert_int_equal(rc, CLOAK_EINVAL);
    assert_ptr_equal(p, (cloak_skr_policy *)0x1); /* untouched on failure */
    assert_non_null(strstr(e.msg, frag));
}

#define V "{\"version\":\"1.0.0\","
#define AB(x) V "\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[" x "]}]}"
#define C "{\"claim\":\"tee\",\"equals\":\"sgx\"}"

static void test_parse_errors_name_their_path(void **state)
{
    (void)state;
    expect_parse_error("{\"version\":", "policy: not JSON");
    expect_parse_error(AB(C) " x", "policy: not JSON");
    expect_parse_error("{\"version\":\"1.0.0\",\"version\":\"1.0.0\",\"anyOf\":[]}",
                       "policy: not JSON");
    expect_parse_error("[1]", "policy: must be a JSON object (got an array)");
    expect_parse_error("{\"anyOf\":[]}", "version: missing");
    expect_parse_error("{\"version\":\"1.0.2\",\"anyOf\":[]}",
                       "version: unsupported version \"1.0.2\"");
    expect_parse_error("{\"version\":1,\"anyOf\":[]}", "version: unsupported version 1");
    expect_parse_error(V "\"anyOf\":[],\"foo\":1}", "policy: unknown member \"foo\"");
    expect_parse_error(V "\"anyOf\":[],\"allOf\":[]}", "policy: holds both allOf and anyOf");
    expect_parse_error("{\"version\":\"1.0.0\"}", "policy: needs anyOf or allOf");
    expect_parse_error(V "\"anyOf\":{}}", "anyOf: must be an array");
    expect_parse_error(V "\"allOf\":[]}", "allOf: is empty");
    expect_parse_error(V "\"anyOf\":[\"x\"]}", "anyOf[0]: must be a JSON object (got a string)");
    expect_parse_error(V "\"anyOf\":[{\"allOf\":[" C "]}]}",
                       "anyOf[0]: an authority block needs \"authority\"");
    expect_parse_error(V "\"anyOf\":[{\"authority\":7,\"allOf\":[" C "]}]}",
                       "anyOf[0]: \"authority\" must be a non-empty issuer URL string");
    expect_parse_error(V "\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[" C "],\"anyOf\":[" C
                         "]}]}",
                       "anyOf[0]: holds both allOf and anyOf");
    expect_parse_error(V "\"anyOf\":[{\"authority\":\"" MAA "\"}]}",
                       "anyOf[0]: an authority block needs allOf or anyOf");
    expect_parse_error(V "\"anyOf\":[{\"authority\":\"" MAA "\",\"claim\":\"tee\",\"equals\":1}]}",
                       "anyOf[0]: an authority block holds allOf or anyOf, not a condition");
    expect_parse_error(V "\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[" C "],\"x\":1}]}",
                       "anyOf[0]: unknown member \"x\" in a block");
    expect_parse_error(V "\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[]}]}",
                       "anyOf[0].allOf: is empty");
    expect_parse_error(V "\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":7}]}",
                       "anyOf[0].allOf: must be an array (got a number)");
    /* the header's example, verbatim */
    expect_parse_error(AB(C "," C ",{\"claim\":\"tee\",\"equal\":\"sgx\"}"),
                       "anyOf[0].allOf[2]: unknown operator \"equal\"");
    expect_parse_error(AB(C ",{\"authority\":\"" MAA "\",\"allOf\":[" C "]}"),
                       "anyOf[0].allOf[1]: \"authority\" is allowed only in the top-level blocks");
    expect_parse_error(AB("{\"claim\":\"tee\",\"equals\":\"sgx\",\"notEquals\":\"x\"}"),
                       "anyOf[0].allOf[0]: more than one operator");
    expect_parse_error(AB("{\"claim\":\"tee\"}"), "anyOf[0].allOf[0]: condition on \"tee\" has no "
                                                  "operator");
    expect_parse_error(AB("{\"claim\":1,\"equals\":1}"),
                       "anyOf[0].allOf[0]: \"claim\" must be a string (got a number)");
    expect_parse_error(AB("{\"claim\":\"\",\"equals\":1}"),
                       "anyOf[0].allOf[0]: \"claim\" is empty");
    expect_parse_error(AB("{\"claim\":\"a..b\",\"equals\":1}"),
                       "anyOf[0].allOf[0]: claim \"a..b\" has an empty segment");
    expect_parse_error(AB("{\"claim\":\"a.\",\"equals\":1}"), "has an empty segment");
    expect_parse_error(AB("{\"claim\":\"tee\",\"equals\":{}}"),
                       "anyOf[0].allOf[0].equals: condition values are strings, numbers or "
                       "booleans (got an object)");
    expect_parse_error(AB("{\"claim\":\"tee\",\"notEquals\":[1]}"),
                       "anyOf[0].allOf[0].notEquals: condition values are strings, numbers or "
                       "booleans (got an array)");
    expect_parse_error(AB("{\"claim\":\"tee\",\"equals\":null}"), "(got null)");
    expect_parse_error(AB("{\"claim\":\"tee\",\"less\":\"b\"}"),
                       "anyOf[0].allOf[0].less: less compares numbers (got a string)");
    expect_parse_error(AB("{\"claim\":\"tee\",\"greaterOrEquals\":true}"),
                       "anyOf[0].allOf[0].greaterOrEquals: greaterOrEquals compares numbers");
    expect_parse_error(AB("{\"claim\":\"tee\",\"exists\":1}"),
                       "anyOf[0].allOf[0].exists: exists takes true or false");
    expect_parse_error(AB("{\"anyOf\":[]}"), "anyOf[0].allOf[0].anyOf: is empty");
    expect_parse_error(AB("{\"anyOf\":[" C "],\"claim\":\"x\",\"equals\":1}"),
                       "anyOf[0].allOf[0]: a condition (\"claim\") cannot also hold anyOf");
    expect_parse_error(AB("{\"anyOf\":[" C ",5]}"),
                       "anyOf[0].allOf[0].anyOf[1]: must be a JSON object (got a number)");
    expect_parse_error(AB("{\"claim\":\"tee\",\"condition\":\"equal\",\"value\":1}"),
                       "anyOf[0].allOf[0]: unknown operator \"equal\" in \"condition\"");
    expect_parse_error(AB("{\"claim\":\"tee\",\"condition\":\"equals\"}"),
                       "anyOf[0].allOf[0]: legacy condition has \"condition\" but no \"value\"");
    expect_parse_error(AB("{\"claim\":\"tee\",\"condition\":\"equals\",\"value\":1,\"x\":2}"),
                       "anyOf[0].allOf[0]: unknown member \"x\" in a legacy condition");
    expect_parse_error(AB("{\"claim\":\"tee\",\"condition\":\"less\",\"value\":\"a\"}"),
                       "anyOf[0].allOf[0].value: less compares numbers");
    /* nesting is bounded */
    char deep[4096] = "";
    size_t o = 0;
    o += (size_t)snprintf(deep + o, sizeof deep - o,
                          V "\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":[");
    for (int i = 0; i < 20; i++)
        o += (size_t)snprintf(deep + o, sizeof deep - o, "{\"anyOf\":[");
    o += (size_t)snprintf(deep + o, sizeof deep - o, C);
    for (int i = 0; i < 20; i++)
        o += (size_t)snprintf(deep + o, sizeof deep - o, "]}");
    snprintf(deep + o, sizeof deep - o, "]}]}");
    expect_parse_error(deep, "nesting deeper than 16 levels");
}

/* ---- the example policy of azure-api.md §2 against SGX claims ---- */

static void test_reference_example_policy_against_sgx_claims(void **state)
{
    (void)state;
    json_t *c = sgx_claims();
    /* azure-api.md §2, with the mrsigner written out */
    const char *example =
        "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://maa.example\",\"allOf\":["
        "{\"claim\":\"x-ms-sgx-mrsigner\",\"equals\":\"" MRSIGNER "\"},"
        "{\"claim\":\"x-ms-sgx-svn\",\"greaterOrEquals\":2},"
        "{\"anyOf\":[{\"claim\":\"x-ms-attestation-type\",\"equals\":\"sevsnpvm\"},"
        "{\"claim\":\"x-ms-attestation-type\",\"equals\":\"tdxvm\"}]}]}]}";
    char msg[CLOAK_ERROR_MAX];
    /* an SGX token is neither SNP nor TDX: the inner anyOf fails, naming the token's type */
    assert_int_equal(run(example, MAA, c, msg, sizeof msg), CLOAK_EPERM);
    assert_non_null(strstr(msg, "none of the 2 alternatives of anyOf[0].allOf[2].anyOf"));
    assert_non_null(
        strstr(msg, "x-ms-attestation-type equals \"sevsnpvm\": the token has \"sgx\""));
    /* the same policy for SGX releases; then each claim a release must be denied for */
    const char *sgx =
        "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://maa.example/\",\"allOf\":["
        "{\"claim\":\"x-ms-sgx-mrsigner\",\"equals\":\"" MRSIGNER "\"},"
        "{\"claim\":\"x-ms-sgx-mrenclave\",\"equals\":\"" MRENCLAVE "\"},"
        "{\"claim\":\"x-ms-sgx-is-debuggable\",\"equals\":false},"
        "{\"claim\":\"x-ms-sgx-svn\",\"greaterOrEquals\":2},"
        "{\"anyOf\":[{\"claim\":\"x-ms-attestation-type\",\"equals\":\"sgx\"},"
        "{\"claim\":\"x-ms-attestation-type\",\"equals\":\"sevsnpvm\"}]}]}]}";
    assert_int_equal(run(sgx, MAA, c, NULL, 0), CLOAK_OK);

    json_object_set_new(c, "x-ms-sgx-is-debuggable", json_true());
    assert_int_equal(run(sgx, MAA, c, msg, sizeof msg), CLOAK_EPERM);
    assert_non_null(strstr(msg, "x-ms-sgx-is-debuggable equals false: the token has true"));
    json_object_set_new(c, "x-ms-sgx-is-debuggable", json_false());

    json_object_set_new(c, "x-ms-sgx-svn", json_integer(1));
    assert_int_equal(run(sgx, MAA, c, msg, sizeof msg), CLOAK_EPERM);
    assert_non_null(strstr(msg, "x-ms-sgx-svn greaterOrEquals 2: the token has 1"));
    json_object_set_new(c, "x-ms-sgx-svn", json_integer(3));

    json_object_set_new(c, "x-ms-sgx-mrenclave", json_string("00"));
    assert_int_equal(run(sgx, MAA, c, msg, sizeof msg), CLOAK_EPERM);
    assert_non_null(
        strstr(msg, "x-ms-sgx-mrenclave equals \"" MRENCLAVE "\": the token has \"00\""));
    json_decref(c);
}

/* ---- the envelope ---- */

/* Standard base64 by OpenSSL, optionally turned into unpadded base64url by hand. */
static char *b64(const char *s, int url)
{
    size_t n = strlen(s);
    char *o = malloc(4 * ((n + 2) / 3) + 1);
    assert_non_null(o);
    EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)s, (int)n);
    if (url) {
        for (char *p = o; *p; p++) {
            if (*p == '+') *p = '-';
            if (*p == '/') *p = '_';
            if (*p == '=') *p = 0;
        }
    }
    return o;
}

static void test_envelope_decode(void **state)
{
    (void)state;
    /* a policy whose base64 has '+' and '/' ("~~~" and ">>>" encode to fn5+ and Pj4+) */
    const char *pol = "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" MAA "\",\"allOf\":"
                      "[{\"claim\":\"x\",\"equals\":\"~~~>>>~~>\"}]}]}";
    for (int url = 0; url < 2; url++) {
        char *d = b64(pol, url);
        assert_true(url ? !strpbrk(d, "+/=") : strpbrk(d, "+/") != NULL);
        json_t *env = json_pack("{s:s,s:s,s:b}", "contentType", "application/json; charset=utf-8",
                                "data", d, "immutable", url);
        uint8_t *doc = NULL;
        size_t len = 0;
        int imm = -1;
        cloak_error e = {0};
        cloak_err rc = cloak_skr_envelope_decode(env, &doc, &len, &imm, &e);
        if (rc) fprintf(stderr, "envelope: %s\n", e.msg);
        assert_int_equal(rc, CLOAK_OK);
        assert_int_equal(len, strlen(pol));
        assert_memory_equal(doc, pol, len);
        assert_int_equal(imm, url);
        free(doc);
        json_decref(env);
        free(d);
    }
    /* contentType optional, immutable defaults to false, any case of the media type */
    char *d = b64(pol, 1);
    json_t *env = json_pack("{s:s}", "data", d);
    uint8_t *doc = NULL;
    size_t len = 0;
    int imm = -1;
    cloak_error e = {0};
    assert_int_equal(cloak_skr_envelope_decode(env, &doc, &len, &imm, &e), CLOAK_OK);
    assert_int_equal(imm, 0);
    free(doc);
    json_object_set_new(env, "contentType", json_string("Application/JSON"));
    assert_int_equal(cloak_skr_envelope_decode(env, &doc, &len, NULL, &e), CLOAK_OK);
    free(doc);

    struct {
        json_t *env;
        const char *frag;
    } bad[] = {
        {json_pack("{s:s,s:s}", "contentType", "text/plain", "data", d), "contentType"},
        {json_pack("{s:s,s:s}", "contentType", "application/jsonx", "data", d), "contentType"},
        {json_pack("{s:s,s:i}", "data", d, "immutable", 1), "immutable must be true or false"},
        {json_pack("{s:s}", "contentType", "application/json"), "release_policy.data"},
        {json_pack("{s:s}", "data", ""), "release_policy.data"},
        {json_pack("{s:s}", "data", "!!!"), "release_policy.data is not base64url"},
        {json_pack("{s:s}", "data", "ab-+"), "mixes the base64 and base64url alphabets"},
        {json_pack("[]"), "must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t *x = (uint8_t *)0x1;
        assert_int_equal(cloak_skr_envelope_decode(bad[i].env, &x, &len, &imm, &e), CLOAK_EINVAL);
        if (!strstr(e.msg, bad[i].frag)) fprintf(stderr, "%zu: %s\n", i, e.msg);
        assert_non_null(strstr(e.msg, bad[i].frag));
        assert_ptr_equal(x, (uint8_t *)0x1);
        json_decref(bad[i].env);
    }
    /* an invalid policy inside: the path is kept */
    char *bd = b64("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":[{\"claim\":"
                   "\"x\",\"equal\":1}]}]}",
                   1);
    json_t *be = json_pack("{s:s}", "data", bd);
    assert_int_equal(cloak_skr_envelope_decode(be, &doc, &len, &imm, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "release_policy: anyOf[0].allOf[0]: unknown operator \"equal\""));
    json_decref(be);
    free(bd);
    json_decref(env);
    free(d);
}

/* ---- the KEK ---- */

static EVP_PKEY *rsa(int bits)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    assert_non_null(k);
    return k;
}

/* An RSA public JWK built from OpenSSL's n and e directly. */
static json_t *rsa_jwk(EVP_PKEY *k, const char *kid, const char *op, const char *use)
{
    BIGNUM *n = NULL, *e = NULL;
    assert_true(EVP_PKEY_get_bn_param(k, "n", &n) && EVP_PKEY_get_bn_param(k, "e", &e));
    unsigned char nb[1024], eb[16];
    int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
    char *ns = cloak_base64url_encode(nb, (size_t)nl), *es = cloak_base64url_encode(eb, (size_t)el);
    json_t *j = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", ns, "e", es);
    if (kid) json_object_set_new(j, "kid", json_string(kid));
    if (op) json_object_set_new(j, "key_ops", json_pack("[s,s]", "verify", op));
    if (use) json_object_set_new(j, "use", json_string(use));
    free(ns);
    free(es);
    BN_free(n);
    BN_free(e);
    return j;
}

static json_t *with_keys(json_t *keys)
{
    return json_pack("{s:s,s:{s:o}}", "iss", MAA, "x-ms-runtime", "keys", keys);
}

static void expect_kek_error(json_t *claims, const char *frag)
{
    EVP_PKEY *k = (EVP_PKEY *)0x1;
    char *kid = (char *)0x1;
    cloak_error e = {0};
    assert_int_equal(cloak_skr_pick_kek(claims, &k, &kid, &e), CLOAK_EINVAL);
    if (!strstr(e.msg, frag)) fprintf(stderr, "KEK: \"%s\" lacks \"%s\"\n", e.msg, frag);
    assert_non_null(strstr(e.msg, frag));
    assert_ptr_equal(k, (EVP_PKEY *)0x1);
    assert_ptr_equal(kid, (char *)0x1);
    json_decref(claims);
}

static void test_kek_pick(void **state)
{
    (void)state;
    EVP_PKEY *a = rsa(2048), *b = rsa(2048), *small = rsa(1024);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec);
    json_t *ecj = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_jwk_export(ec, NULL, &ecj, &e), CLOAK_OK);
    json_object_set_new(ecj, "kid", json_string("ec"));
    json_object_set_new(ecj, "key_ops", json_pack("[s]", "encrypt"));

    /* skipped in order: EC; RSA without kid; RSA signing-only; then "good" is the KEK */
    json_t *claims = with_keys(json_pack(
        "[o,o,o,o,o]", ecj, rsa_jwk(b, NULL, "encrypt", NULL), rsa_jwk(b, "sig", "sign", "sig"),
        rsa_jwk(a, "good", "encrypt", NULL), rsa_jwk(b, "second", "encrypt", NULL)));
    EVP_PKEY *k = NULL;
    char *kid = NULL;
    assert_int_equal(cloak_skr_pick_kek(claims, &k, &kid, &e), CLOAK_OK);
    assert_string_equal(kid, "good");
    assert_int_equal(EVP_PKEY_eq(k, a), 1);
    EVP_PKEY_free(k);
    free(kid);
    json_decref(claims);

    /* use "enc" without key_ops also marks a KEK */
    claims = with_keys(json_pack("[o]", rsa_jwk(b, "enc-only", NULL, "enc")));
    assert_int_equal(cloak_skr_pick_kek(claims, &k, &kid, &e), CLOAK_OK);
    assert_string_equal(kid, "enc-only");
    assert_int_equal(EVP_PKEY_eq(k, b), 1);
    EVP_PKEY_free(k);
    free(kid);
    json_decref(claims);

    expect_kek_error(json_pack("{s:s}", "iss", MAA), "no x-ms-runtime claim");
    expect_kek_error(json_pack("{s:s}", "x-ms-runtime", "{\"keys\":[]}"), "not a JSON object");
    expect_kek_error(json_pack("{s:{}}", "x-ms-runtime"), "has no \"keys\"");
    expect_kek_error(with_keys(json_array()), "has no \"keys\"");
    expect_kek_error(with_keys(json_pack("[o]", rsa_jwk(b, "sig", "sign", NULL))),
                     "no suitable key-encryption key");
    /* the first suitable key is the KEK even when it is too small: no silent fallback */
    expect_kek_error(with_keys(json_pack("[o,o]", rsa_jwk(small, "weak", "encrypt", NULL),
                                         rsa_jwk(a, "good", "encrypt", NULL))),
                     "1024 bits");
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    EVP_PKEY_free(small);
    EVP_PKEY_free(ec);
}

static void test_eval_does_not_touch_claims_and_rejects_bad_handles(void **state)
{
    (void)state;
    json_t *c = sgx_claims(), *copy = json_deep_copy(c);
    char msg[CLOAK_ERROR_MAX];
    (void)run(AB(C ",{\"claim\":\"x-ms-isolation-tee.x-ms-sevsnpvm-guestsvn\",\"less\":1}"), MAA, c,
              msg, sizeof msg);
    assert_true(json_equal(c, copy));
    cloak_error e = {0};
    assert_int_equal(cloak_skr_policy_eval(NULL, MAA, c, &e), CLOAK_EINVAL);
    cloak_skr_policy *p = parse_ok(AB(C));
    assert_int_equal(cloak_skr_policy_eval(p, MAA, NULL, &e), CLOAK_EINVAL);
    cloak_skr_policy_free(p);
    json_decref(c);
    json_decref(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equals_and_not_equals_per_type),
        cmocka_unit_test(test_ordering_operators_on_numbers),
        cmocka_unit_test(test_exists),
        cmocka_unit_test(test_missing_claim_fails_every_operator),
        cmocka_unit_test(test_dotted_claim_paths),
        cmocka_unit_test(test_nesting_any_of_all_of),
        cmocka_unit_test(test_authority_trailing_slash),
        cmocka_unit_test(test_legacy_condition_form),
        cmocka_unit_test(test_parse_errors_name_their_path),
        cmocka_unit_test(test_reference_example_policy_against_sgx_claims),
        cmocka_unit_test(test_envelope_decode),
        cmocka_unit_test(test_kek_pick),
        cmocka_unit_test(test_eval_does_not_touch_claims_and_rejects_bad_handles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
