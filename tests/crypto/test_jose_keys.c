/* JWK export/import, every JWS algorithm end to end, and JWT claim checks.
 * Independent expectations: ECDSA signatures are re-checked by OpenSSL directly after a
 * by-hand r||s -> DER conversion; key round trips are compared with EVP_PKEY_eq; JWT dates
 * are RFC 7515 A.1's exp (1300819380 = 2011-03-22T18:43:00Z, as the RFC states). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cloak/jose.h"

static EVP_PKEY *gen_ec(const char *group)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
    assert_non_null(k);
    return k;
}

static EVP_PKEY *gen_rsa(size_t bits)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
    assert_non_null(k);
    return k;
}

static json_t *js(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    assert_non_null(j);
    return j;
}

static void expect_import_fails(json_t *jwk, int private_key, cloak_err code, const char *msg)
{
    EVP_PKEY *k = (EVP_PKEY *)0x1;
    cloak_error why = {0};
    cloak_err rc = private_key ? cloak_jwk_import_private(jwk, &k, &why)
                               : cloak_jwk_import_public(jwk, &k, &why);
    char *dump = json_dumps(jwk, JSON_COMPACT);
    if (rc != code || !strstr(why.msg, msg))
        fail_msg("%.80s: got %d \"%s\", want %d \"%s\"", dump, rc, why.msg, code, msg);
    assert_ptr_equal(k, (EVP_PKEY *)0x1);
    free(dump);
}

/* 4 groups x (public, private) and RSA: export, import, same key. */
static void test_jwk_roundtrip_rsa_and_every_curve(void **state)
{
    const char *groups[] = {"P-256", "P-384", "P-521", "secp256k1"};
    const size_t widths[] = {32, 48, 66, 32};
    for (int i = 0; i < 5; i++) {
        EVP_PKEY *k = i < 4 ? gen_ec(groups[i]) : gen_rsa(2048);
        json_t *pub = NULL, *priv = NULL;
        cloak_jwk_opts o = {.kid = "k", .include_private = 1};
        cloak_error why = {0};
        if (cloak_jwk_export(k, NULL, &pub, &why) || cloak_jwk_export(k, &o, &priv, &why))
            fail_msg("%s", why.msg);
        assert_null(json_object_get(pub, "d"));
        assert_non_null(json_object_get(priv, "d"));
        if (i < 4) {
            assert_string_equal(json_string_value(json_object_get(pub, "crv")), groups[i]);
            /* exact width even when the top byte is zero: 43/64/88/43 characters */
            size_t chars = (widths[i] * 4 + 2) / 3;
            assert_int_equal(json_string_length(json_object_get(pub, "x")), chars);
            assert_int_equal(json_string_length(json_object_get(pub, "y")), chars);
            assert_int_equal(json_string_length(json_object_get(priv, "d")), chars);
        } else {
            for (const char *const *m = (const char *const[]){"p", "q", "dp", "dq", "qi", NULL}; *m;
                 m++)
                assert_non_null(json_object_get(priv, *m));
        }
        EVP_PKEY *a = NULL, *b = NULL;
        if (cloak_jwk_import_public(pub, &a, &why) || cloak_jwk_import_private(priv, &b, &why))
            fail_msg("%s", why.msg);
        assert_int_equal(EVP_PKEY_eq(k, a), 1);
        assert_int_equal(EVP_PKEY_eq(k, b), 1);
        /* the imported private key signs, and the public one verifies it */
        char *tok = NULL;
        int alg = cloak_jws_alg_for_key(b);
        assert_true(alg > 0);
        assert_int_equal(
            cloak_jws_sign(b, (cloak_jws_alg)alg, NULL, (const uint8_t *)"x", 1, &tok, &why),
            CLOAK_OK);
        cloak_jws out = {0};
        assert_int_equal(
            cloak_jws_verify(tok, strlen(tok), a, CLOAK_JWS_ALLOW((cloak_jws_alg)alg), &out, &why),
            CLOAK_OK);
        cloak_jws_clear(&out);
        free(tok);
        /* a public JWK is not a private key */
        expect_import_fails(pub, 1, CLOAK_EINVAL, "JWK has no \"d\" member");
        EVP_PKEY_free(a);
        EVP_PKEY_free(b);
        json_decref(pub);
        cloak_jwk_free_private(priv);
        EVP_PKEY_free(k);
    }
}

static void test_jwk_import_refuses_bad_keys(void **state)
{
    EVP_PKEY *k = gen_ec("P-256");
    json_t *jwk = NULL;
    cloak_jwk_opts o = {.include_private = 1};
    assert_int_equal(cloak_jwk_export(k, &o, &jwk, NULL), CLOAK_OK);
    const char *y = json_string_value(json_object_get(jwk, "y"));
    char *y2 = strdup(y);
    /* y changed -> the point leaves the curve */
    y2[5] = y2[5] == 'A' ? 'B' : 'A';
    json_t *j = json_deep_copy(jwk);
    json_object_set_new(j, "y", json_string(y2));
    expect_import_fails(j, 0, CLOAK_EINVAL, "not on the curve");
    json_decref(j);
    /* short coordinate (a leading zero byte stripped): refused, exact width is required */
    j = json_deep_copy(jwk);
    json_object_set_new(j, "x", json_string("AAAA"));
    expect_import_fails(j, 0, CLOAK_EINVAL, "x and y must be exactly 32 bytes (got 3 and 32)");
    json_decref(j);
    /* d of another key */
    j = json_deep_copy(jwk);
    json_object_set_new(j, "d", json_string("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"));
    expect_import_fails(j, 1, CLOAK_EINVAL, "d does not match the public point");
    json_decref(j);
    /* wrong curve name, kty, types */
    j = json_deep_copy(jwk);
    json_object_set_new(j, "crv", json_string("P-192"));
    expect_import_fails(j, 0, CLOAK_EUNSUPPORTED, "curve \"P-192\" is not supported");
    json_object_set_new(j, "kty", json_string("oct"));
    expect_import_fails(j, 0, CLOAK_EUNSUPPORTED, "symmetric JWK");
    json_object_set_new(j, "kty", json_string("OKP"));
    expect_import_fails(j, 0, CLOAK_EUNSUPPORTED, "kty \"OKP\" is not supported");
    json_object_del(j, "kty");
    expect_import_fails(j, 0, CLOAK_EINVAL, "no \"kty\"");
    json_decref(j);
    j = json_deep_copy(jwk);
    json_object_set_new(j, "x", json_integer(5));
    expect_import_fails(j, 0, CLOAK_EINVAL, "\"x\" is not a string");
    json_object_set_new(j, "x", json_string("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE+"));
    expect_import_fails(j, 0, CLOAK_EINVAL, "JWK member \"x\": base64url: character '+'");
    json_decref(j);
    j = js("[1]");
    expect_import_fails(j, 0, CLOAK_EINVAL, "not a JSON object");
    json_decref(j);
    /* RSA: too small, even e, multi-prime, missing CRT */
    EVP_PKEY *small = gen_rsa(1024);
    json_t *sj = NULL;
    cloak_error why = {0};
    assert_int_equal(cloak_jwk_export(small, NULL, &sj, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "RSA key of 1024 bits"));
    EVP_PKEY *rsa = gen_rsa(2048);
    json_t *rj = NULL;
    assert_int_equal(cloak_jwk_export(rsa, &o, &rj, NULL), CLOAK_OK);
    j = json_deep_copy(rj);
    json_object_set_new(j, "n", json_string("AQAB"));
    expect_import_fails(j, 0, CLOAK_EINVAL, "RSA modulus has 17 bits");
    json_decref(j);
    j = json_deep_copy(rj);
    json_object_set_new(j, "e", json_string("AQAA"));
    expect_import_fails(j, 0, CLOAK_EINVAL, "n and e must be odd");
    json_decref(j);
    j = json_deep_copy(rj);
    json_object_set_new(j, "oth", json_array());
    expect_import_fails(j, 1, CLOAK_EUNSUPPORTED, "multi-prime");
    json_object_del(j, "oth");
    json_object_del(j, "qi");
    expect_import_fails(j, 1, CLOAK_EINVAL, "needs p, q, dp, dq and qi");
    json_decref(j);
    j = json_deep_copy(rj); /* d from another key: the pairwise check catches it */
    json_t *other = NULL;
    EVP_PKEY *rsa2 = gen_rsa(2048);
    assert_int_equal(cloak_jwk_export(rsa2, &o, &other, NULL), CLOAK_OK);
    json_object_set(j, "d", json_object_get(other, "d"));
    expect_import_fails(j, 1, CLOAK_EINVAL, "do not belong together");
    json_decref(j);
    /* Key Vault's kty names import as the same key */
    j = json_deep_copy(rj);
    json_object_set_new(j, "kty", json_string("RSA-HSM"));
    EVP_PKEY *hk = NULL;
    assert_int_equal(cloak_jwk_import_public(j, &hk, NULL), CLOAK_OK);
    assert_int_equal(EVP_PKEY_eq(hk, rsa), 1);
    EVP_PKEY_free(hk);
    json_decref(j);
    cloak_jwk_free_private(other);
    cloak_jwk_free_private(rj);
    cloak_jwk_free_private(jwk);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(small);
    EVP_PKEY_free(k);
    free(y2);
}

static X509 *self_signed(EVP_PKEY *k)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"jose", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    return x;
}

static void test_jwk_x5c_standard_base64_and_leaf_must_match(void **state)
{
    EVP_PKEY *k = gen_ec("P-256"), *k2 = gen_ec("P-256");
    X509 *c = self_signed(k), *c2 = self_signed(k2);
    X509 *chain[] = {c, c2};
    cloak_jwk_opts o = {.kid = "k1", .x5c = chain, .nx5c = 2};
    json_t *jwk = NULL;
    cloak_error why = {0};
    if (cloak_jwk_export(k, &o, &jwk, &why)) fail_msg("%s", why.msg);
    /* x5c[0] is the certificate's DER in standard base64 (checked against OpenSSL's encoder) */
    unsigned char *der = NULL;
    int dlen = i2d_X509(c, &der);
    unsigned char std[4096];
    int n = EVP_EncodeBlock(std, der, dlen);
    assert_string_equal(json_string_value(json_array_get(json_object_get(jwk, "x5c"), 0)),
                        (char *)std);
    OPENSSL_free(der);
    EVP_PKEY *back = NULL;
    assert_int_equal(cloak_jwk_import_public(jwk, &back, &why), CLOAK_OK);
    assert_int_equal(EVP_PKEY_eq(back, k), 1);
    EVP_PKEY_free(back);
    /* base64url in x5c is refused */
    json_t *j = json_deep_copy(jwk);
    for (int i = 0; i < n; i++)
        if (std[i] == '+' || std[i] == '/') std[i] = std[i] == '+' ? '-' : '_';
    json_array_set_new(json_object_get(j, "x5c"), 0, json_string((char *)std));
    if (strchr((char *)std, '-') || strchr((char *)std, '_'))
        expect_import_fails(j, 0, CLOAK_EINVAL, "\"x5c\"[0] (standard base64, not base64url)");
    json_decref(j);
    /* a leaf holding another key is refused, on export and on import */
    X509 *wrong[] = {c2};
    cloak_jwk_opts bad = {.x5c = wrong, .nx5c = 1};
    json_t *tmp = NULL;
    assert_int_equal(cloak_jwk_export(k, &bad, &tmp, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "does not hold this key"));
    j = json_deep_copy(jwk);
    json_array_remove(json_object_get(j, "x5c"), 0);
    expect_import_fails(j, 0, CLOAK_EINVAL, "holds a different key");
    json_array_set_new(json_object_get(j, "x5c"), 0, json_string("AAAA"));
    expect_import_fails(j, 0, CLOAK_EINVAL, "is not one DER certificate");
    json_decref(j);
    json_decref(jwk);
    X509_free(c);
    X509_free(c2);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
}

/* Every algorithm: sign, verify, header members kept, ECDSA r||s re-checked by OpenSSL. */
static void test_jws_every_alg_roundtrip(void **state)
{
    static const struct {
        cloak_jws_alg alg;
        const char *group;
        size_t siglen;
        const char *md;
    } cases[] = {
        {CLOAK_JWS_RS256, NULL, 256, "SHA256"},    {CLOAK_JWS_RS384, NULL, 256, "SHA384"},
        {CLOAK_JWS_RS512, NULL, 256, "SHA512"},    {CLOAK_JWS_PS256, NULL, 256, "SHA256"},
        {CLOAK_JWS_PS384, NULL, 256, "SHA384"},    {CLOAK_JWS_PS512, NULL, 256, "SHA512"},
        {CLOAK_JWS_ES256, "P-256", 64, "SHA256"},  {CLOAK_JWS_ES384, "P-384", 96, "SHA384"},
        {CLOAK_JWS_ES512, "P-521", 132, "SHA512"}, {CLOAK_JWS_ES256K, "secp256k1", 64, "SHA256"},
    };
    EVP_PKEY *rsa = gen_rsa(2048);
    json_t *hdr = js("{\"kid\":\"k1\",\"typ\":\"JWT\",\"jku\":\"https://inst/certs\"}");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        EVP_PKEY *k = cases[i].group ? gen_ec(cases[i].group) : rsa;
        char *tok = NULL;
        cloak_error why = {0};
        if (cloak_jws_sign(k, cases[i].alg, hdr, (const uint8_t *)"{}", 2, &tok, &why))
            fail_msg("%s", why.msg);
        cloak_jws out = {0};
        if (cloak_jws_verify(tok, strlen(tok), k, CLOAK_JWS_ALLOW(cases[i].alg), &out, &why))
            fail_msg("%s: %s", cloak_jws_alg_name(cases[i].alg), why.msg);
        assert_string_equal(json_string_value(json_object_get(out.header, "alg")),
                            cloak_jws_alg_name(cases[i].alg));
        assert_string_equal(json_string_value(json_object_get(out.header, "kid")), "k1");
        assert_int_equal(out.alg, cases[i].alg);
        assert_int_equal(cloak_jws_alg_parse(cloak_jws_alg_name(cases[i].alg)), cases[i].alg);
        cloak_jws_clear(&out);
        const char *dot = strrchr(tok, '.');
        uint8_t *sig = NULL;
        size_t siglen = 0;
        assert_int_equal(cloak_base64url_decode(dot + 1, strlen(dot + 1), &sig, &siglen, NULL),
                         CLOAK_OK);
        assert_int_equal(siglen, cases[i].siglen);
        if (cases[i].group) {
            size_t w = siglen / 2;
            ECDSA_SIG *es = ECDSA_SIG_new();
            assert_true(
                ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)w, NULL), BN_bin2bn(sig + w, (int)w, NULL)));
            unsigned char *der = NULL;
            int dlen = i2d_ECDSA_SIG(es, &der);
            EVP_MD_CTX *m = EVP_MD_CTX_new();
            assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, cases[i].md, NULL, NULL, k, NULL), 1);
            assert_int_equal(
                EVP_DigestVerify(m, der, (size_t)dlen, (const uint8_t *)tok, (size_t)(dot - tok)),
                1);
            EVP_MD_CTX_free(m);
            OPENSSL_free(der);
            ECDSA_SIG_free(es);
            EVP_PKEY_free(k);
        }
        free(sig);
        free(tok);
    }
    /* the sign side refuses what verify would refuse */
    char *tok = NULL;
    cloak_error why = {0};
    EVP_PKEY *ec = gen_ec("P-384");
    assert_int_equal(cloak_jws_sign(ec, CLOAK_JWS_ES256, NULL, NULL, 0, &tok, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "ES256 needs an EC key on P-256, not an EC key on P-384"));
    assert_int_equal(cloak_jws_sign(rsa, CLOAK_JWS_ES256, NULL, NULL, 0, &tok, &why), CLOAK_EINVAL);
    EVP_PKEY *small = gen_rsa(1024);
    assert_int_equal(cloak_jws_sign(small, CLOAK_JWS_RS256, NULL, NULL, 0, &tok, &why),
                     CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "not an RSA key of 1024 bits"));
    json_t *h2 = js("{\"alg\":\"none\"}");
    assert_int_equal(cloak_jws_sign(rsa, CLOAK_JWS_RS256, h2, NULL, 0, &tok, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "must not carry \"alg\""));
    json_decref(h2);
    assert_int_equal(cloak_jws_sign(rsa, (cloak_jws_alg)0, NULL, NULL, 0, &tok, &why),
                     CLOAK_EINVAL);
    assert_null(tok);
    assert_int_equal(cloak_jws_alg_parse("none"), -1);
    assert_int_equal(cloak_jws_alg_parse("HS256"), -1);
    /* a public-only key cannot sign */
    json_t *pj = NULL;
    EVP_PKEY *pub = NULL;
    assert_int_equal(cloak_jwk_export(rsa, NULL, &pj, NULL), CLOAK_OK);
    assert_int_equal(cloak_jwk_import_public(pj, &pub, NULL), CLOAK_OK);
    assert_int_not_equal(cloak_jws_sign(pub, CLOAK_JWS_RS256, NULL, NULL, 0, &tok, &why), CLOAK_OK);
    assert_null(tok);
    json_decref(pj);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(small);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa);
    json_decref(hdr);
}

/* ---- JWT ---- */
#define RFC_EXP 1300819380 /* RFC 7515 A.1: 2011-03-22T18:43:00Z */

static void expect_time(const char *claims, time_t now, unsigned slack, unsigned flags,
                        cloak_err code, const char *msg)
{
    json_t *c = js(claims);
    cloak_error why = {0};
    cloak_err rc = cloak_jwt_check_time(c, now, slack, flags, &why);
    if (rc != code || (msg && !strstr(why.msg, msg)))
        fail_msg("%s at %lld: got %d \"%s\", want %d \"%s\"", claims, (long long)now, rc, why.msg,
                 code, msg ? msg : "");
    json_decref(c);
}

static void test_jwt_time_claims(void **state)
{
    const char *c = "{\"iss\":\"joe\",\"exp\":1300819380,\"nbf\":1300819000,\"iat\":1300819000}";
    expect_time(c, RFC_EXP - 1, 0, 0, CLOAK_OK, NULL);
    expect_time(c, RFC_EXP, 0, 0, CLOAK_EVERIFY,
                "JWT expired at 2011-03-22T18:43:00Z (now 2011-03-22T18:43:00Z, 0 s slack)");
    expect_time(c, RFC_EXP + 60, 61, 0, CLOAK_OK, NULL);
    expect_time(c, RFC_EXP + 60, 60, 0, CLOAK_EVERIFY, "expired at");
    expect_time(c, 1300819000 - 1, 0, 0, CLOAK_EVERIFY,
                "JWT not valid before 2011-03-22T18:36:40Z");
    expect_time(c, 1300819000 - 5, 5, 0, CLOAK_OK, NULL);
    expect_time("{\"iat\":2000000000}", 1900000000, 0, 0, CLOAK_EVERIFY, "issued in the future");
    expect_time("{\"exp\":1300819380.9}", RFC_EXP, 0, 0, CLOAK_EVERIFY,
                "expired at"); /* reals floor */
    expect_time("{\"exp\":\"1300819380\"}", 0, 0, 0, CLOAK_EINVAL, "\"exp\" is not a NumericDate");
    expect_time("{\"nbf\":true}", 0, 0, 0, CLOAK_EINVAL, "\"nbf\" is not a NumericDate");
    expect_time("{}", 0, 0, 0, CLOAK_OK, NULL);
    expect_time("{}", 0, 0, CLOAK_JWT_REQUIRE_EXP, CLOAK_EVERIFY, "no \"exp\" claim");

    json_t *cl = js(c);
    cloak_error why = {0};
    assert_int_equal(cloak_jwt_check_issuer(cl, "joe", &why), CLOAK_OK);
    assert_int_equal(cloak_jwt_check_issuer(cl, "Joe", &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "issuer \"joe\" is not the expected \"Joe\""));
    assert_int_equal(cloak_jwt_check_issuer(cl, "jo", &why), CLOAK_EVERIFY);
    json_object_set_new(cl, "iss", json_integer(1));
    assert_int_equal(cloak_jwt_check_issuer(cl, "joe", &why), CLOAK_EINVAL);
    json_object_del(cl, "iss");
    assert_int_equal(cloak_jwt_check_issuer(cl, "joe", &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "no \"iss\""));
    json_decref(cl);
}

static void test_jwt_verify_end_to_end(void **state)
{
    EVP_PKEY *k = gen_ec("P-256");
    const char *claims = "{\"iss\":\"https://inst\",\"exp\":1300819380,\"x-ms-ver\":\"1.0\"}";
    json_t *hdr = js("{\"typ\":\"JWT\",\"kid\":\"k1\"}");
    char *tok = NULL;
    assert_int_equal(cloak_jws_sign(k, CLOAK_JWS_ES256, hdr, (const uint8_t *)claims,
                                    strlen(claims), &tok, NULL),
                     CLOAK_OK);
    cloak_jwt_opts o = {.algs = CLOAK_JWS_ALLOW(CLOAK_JWS_ES256),
                        .now = RFC_EXP - 10,
                        .issuer = "https://inst",
                        .flags = CLOAK_JWT_REQUIRE_EXP};
    json_t *h = NULL, *c = NULL;
    cloak_error why = {0};
    if (cloak_jwt_verify(tok, strlen(tok), k, &o, &h, &c, &why)) fail_msg("%s", why.msg);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-ver")), "1.0");
    assert_string_equal(json_string_value(json_object_get(h, "kid")), "k1");
    json_decref(h);
    json_decref(c);
    h = c = NULL;
    o.now = RFC_EXP;
    assert_int_equal(cloak_jwt_verify(tok, strlen(tok), k, &o, &h, &c, &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "expired at"));
    o.now = RFC_EXP - 10;
    o.issuer = "https://other";
    assert_int_equal(cloak_jwt_verify(tok, strlen(tok), k, &o, &h, &c, &why), CLOAK_EVERIFY);
    o.issuer = NULL;
    o.algs = CLOAK_JWS_ALLOW(CLOAK_JWS_RS256);
    assert_int_equal(cloak_jwt_verify(tok, strlen(tok), k, &o, &h, &c, &why), CLOAK_EPERM);
    assert_null(h);
    assert_null(c);
    free(tok);
    /* a payload that is not a JSON object is not a JWT */
    o.algs = CLOAK_JWS_ALLOW(CLOAK_JWS_ES256);
    assert_int_equal(
        cloak_jws_sign(k, CLOAK_JWS_ES256, NULL, (const uint8_t *)"[1]", 3, &tok, NULL), CLOAK_OK);
    assert_int_equal(cloak_jwt_verify(tok, strlen(tok), k, &o, &h, &c, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "payload is not a JSON object"));
    free(tok);
    json_decref(hdr);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwk_roundtrip_rsa_and_every_curve),
        cmocka_unit_test(test_jwk_import_refuses_bad_keys),
        cmocka_unit_test(test_jwk_x5c_standard_base64_and_leaf_must_match),
        cmocka_unit_test(test_jws_every_alg_roundtrip),
        cmocka_unit_test(test_jwt_time_claims),
        cmocka_unit_test(test_jwt_verify_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
