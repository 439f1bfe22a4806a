/* JOSE against published vectors and the refusals of cloak_jws_verify.
 * Expectations come from the RFCs, not from cloak: RFC 4648 §10 (base64), RFC 7515 Appendix
 * A.2 (RS256, deterministic: the exact compact serialization), A.3 (ES256), A.4 (ES512), A.5
 * (unsecured), RFC 7517 Appendix A.1 (public keys), RFC 7638 §3.1 (thumbprint). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "cloak/jose.h"

/* ---- vectors ---- */
/* RFC 7515 A.2-A.5 payload: {"iss":"joe",\r\n "exp":1300819380,\r\n
 * "http://example.com/is_root":true} */
#define RFC_PAYLOAD                                                                                \
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
#define RFC_PAYLOAD64                                                                              \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl" \
    "fQ"

/* RFC 7515 A.2.1: the RSA key */
static const char *A2_JWK =
    "{\"kty\":\"RSA\","
    "\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
    "4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-"
    "SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-"
    "bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2"
    "CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_"
    "h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4F"
    "RWyuXpoQ\","
    "\"e\":\"AQAB\","
    "\"d\":\"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-"
    "7YwVol2NXOoAJe46sui395IW_"
    "GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_"
    "V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2Qv"
    "Xt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_"
    "RQyGWSeWjnczT0QU91p1DhOVRuOopznQ\","
    "\"p\":\"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_"
    "5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2"
    "KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc\","
    "\"q\":\"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-"
    "7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_"
    "HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc\","
    "\"dp\":\"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-"
    "FOKnu1R6HsJeDCjn12Sk3v"
    "mAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0\","
    "\"dq\":\"h_96-mK1R_"
    "7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-"
    "NKJnwgjMd2w9"
    "cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU\","
    "\"qi\":\"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_"
    "QJQ3ydy5cY7YIBi87w93IKLEdfnbJ"
    "toOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U\"}";
/* RFC 7515 A.2.1: the complete JWS */
static const char *A2_JWS =
    "eyJhbGciOiJSUzI1NiJ9." RFC_PAYLOAD64 "."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_"
    "O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQ"
    "jbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_"
    "eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsq"
    "tFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_"
    "IoypGlUPQGe77Rw";

/* RFC 7515 A.3.1: the P-256 key and A.3 JWS */
static const char *A3_JWK =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
    "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";
static const char *A3_JWS =
    "eyJhbGciOiJFUzI1NiJ9." RFC_PAYLOAD64 "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

/* RFC 7515 A.4: P-521 key (public part) and ES512 JWS over "Payload" */
static const char *A4_JWK = "{\"kty\":\"EC\",\"crv\":\"P-521\","
                            "\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_"
                            "NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk\","
                            "\"y\":\"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-"
                            "x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2\"}";
static const char *A4_JWS =
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA."
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_"
    "7XdtAG8GaSwFKd"
    "CAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

/* RFC 7515 A.5: unsecured JWS */
static const char *A5_JWS = "eyJhbGciOiJub25lIn0." RFC_PAYLOAD64 ".";

/* RFC 7517 A.1 public keys; the RSA one is also RFC 7638 §3.1's example */
#define RFC7517_RSA_N                                                                              \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"      \
    "BJECPebWKRXjBZCiFV4n3oknjhMs"                                                                 \
    "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"                                 \
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajr"                                    \
    "n1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-" \
    "kEgU8awapJzKnqDKgw"
static const char *RFC7517_EC =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\","
    "\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\",\"use\":\"enc\",\"kid\":\"1\"}";
static const char *RFC7517_RSA =
    "{\"kty\":\"RSA\",\"n\":\"" RFC7517_RSA_N "\",\"e\":\"AQAB\",\"alg\":\"RS256\","
    "\"kid\":\"2011-04-29\"}";

/* ---- helpers ---- */
static json_t *js(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    assert_non_null(j);
    return j;
}

static EVP_PKEY *jwk_key(const char *jwk, int private_key)
{
    json_t *j = js(jwk);
    EVP_PKEY *k = NULL;
    cloak_error why = {0};
    cloak_err rc =
        private_key ? cloak_jwk_import_private(j, &k, &why) : cloak_jwk_import_public(j, &k, &why);
    if (rc) fail_msg("import: %s", why.msg);
    json_decref(j);
    return k;
}

/* Verify, expecting failure with `code` and `msg` in the message; *out must stay untouched. */
static void expect_refused(const char *token, EVP_PKEY *key, unsigned algs, cloak_err code,
                           const char *msg)
{
    cloak_jws out;
    memset(&out, 0xa5, sizeof out);
    cloak_error why = {0};
    cloak_err rc = cloak_jws_verify(token, strlen(token), key, algs, &out, &why);
    if (rc != code || !strstr(why.msg, msg))
        fail_msg("token %.60s...: got %d \"%s\", want %d with \"%s\"", token, rc, why.msg, code,
                 msg);
    const unsigned char *b = (const unsigned char *)&out;
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(b[i], 0xa5);
}

/* ---- base64 ---- */
static void test_base64_rfc4648_vectors(void **state)
{
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *s = cloak_base64_encode((const uint8_t *)in[i], strlen(in[i]));
        char *u = cloak_base64url_encode((const uint8_t *)in[i], strlen(in[i]));
        assert_string_equal(s, std[i]);
        assert_string_equal(u, url[i]);
        uint8_t *d = NULL;
        size_t n = 0;
        assert_int_equal(cloak_base64_decode(std[i], strlen(std[i]), &d, &n, NULL), CLOAK_OK);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(d, in[i], n);
        free(d);
        assert_int_equal(cloak_base64url_decode(url[i], strlen(url[i]), &d, &n, NULL), CLOAK_OK);
        assert_memory_equal(d, in[i], n);
        free(d);
        /* base64url also takes the padded form */
        assert_int_equal(cloak_base64url_decode(std[i], strlen(std[i]), &d, &n, NULL), CLOAK_OK);
        assert_memory_equal(d, in[i], n);
        free(d);
        free(s);
        free(u);
    }
    const uint8_t ff[] = {0xfb, 0xff};
    char *s = cloak_base64_encode(ff, 2), *u = cloak_base64url_encode(ff, 2);
    assert_string_equal(s, "+/8=");
    assert_string_equal(u, "-_8");
    free(s);
    free(u);
}

static void test_base64_strict_rejections(void **state)
{
    struct {
        const char *s;
        int url;
        const char *msg;
    } bad[] = {
        {"Zm9v!", 1, "character '!' at offset 4"},
        {"+/8", 1, "character '+'"},
        {"-_8=", 0, "character '-'"},
        {"Zg=", 1, "wrong amount"},
        {"Zg===", 1, "wrong amount"},
        {"Zm9=", 1, "non-zero unused bits"},
        {"Zh", 1, "non-zero unused bits"},
        {"Zm9vYh==", 0, "non-zero unused bits"},
        {"Zg", 0, "padding missing"},
        {"Zg==Zg==", 0, "character '='"},
        {"Z", 1, "truncated"},
        {"Zm9vY", 1, "truncated"},
        {"Zm 9v", 1, "byte 0x20"},
        {"Zm9v\n", 1, "byte 0x0a"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *d = (uint8_t *)"untouched";
        size_t n = 77;
        cloak_error why = {0};
        cloak_err rc = bad[i].url ? cloak_base64url_decode(bad[i].s, strlen(bad[i].s), &d, &n, &why)
                                  : cloak_base64_decode(bad[i].s, strlen(bad[i].s), &d, &n, &why);
        if (rc != CLOAK_EINVAL || !strstr(why.msg, bad[i].msg))
            fail_msg("\"%s\": got %d \"%s\", want \"%s\"", bad[i].s, rc, why.msg, bad[i].msg);
        assert_string_equal((const char *)d, "untouched");
        assert_int_equal(n, 77);
    }
}

/* ---- RFC 7515 Appendix A ---- */
static void test_rfc7515_a2_rs256_exact_serialization(void **state)
{
    EVP_PKEY *k = jwk_key(A2_JWK, 1);
    char *tok = NULL;
    cloak_error why = {0};
    if (cloak_jws_sign(k, CLOAK_JWS_RS256, NULL, (const uint8_t *)RFC_PAYLOAD, strlen(RFC_PAYLOAD),
                       &tok, &why))
        fail_msg("%s", why.msg);
    assert_string_equal(tok, A2_JWS); /* PKCS#1 v1.5 is deterministic: byte-exact */
    cloak_jws out = {0};
    assert_int_equal(
        cloak_jws_verify(A2_JWS, strlen(A2_JWS), k, CLOAK_JWS_ALLOW(CLOAK_JWS_RS256), &out, &why),
        CLOAK_OK);
    assert_int_equal(out.alg, CLOAK_JWS_RS256);
    assert_int_equal(out.payload_len, strlen(RFC_PAYLOAD));
    assert_memory_equal(out.payload, RFC_PAYLOAD, out.payload_len);
    assert_string_equal(json_string_value(json_object_get(out.header, "alg")), "RS256");
    cloak_jws_clear(&out);
    free(tok);
    EVP_PKEY_free(k);
}

static void test_rfc7515_a3_es256_verifies_and_ours_verify_in_openssl(void **state)
{
    EVP_PKEY *pub = jwk_key(A3_JWK, 0), *priv = jwk_key(A3_JWK, 1);
    cloak_jws out = {0};
    cloak_error why = {0};
    if (cloak_jws_verify(A3_JWS, strlen(A3_JWS), pub, CLOAK_JWS_ALLOW(CLOAK_JWS_ES256), &out, &why))
        fail_msg("RFC A.3 token: %s", why.msg);
    assert_memory_equal(out.payload, RFC_PAYLOAD, out.payload_len);
    cloak_jws_clear(&out);

    /* our ES256 signature: 64 bytes r||s; converted to DER by hand, OpenSSL verifies it */
    char *tok = NULL;
    assert_int_equal(
        cloak_jws_sign(priv, CLOAK_JWS_ES256, NULL, (const uint8_t *)"hi", 2, &tok, &why),
        CLOAK_OK);
    const char *d2 = strrchr(tok, '.');
    uint8_t *sig = NULL;
    size_t siglen = 0;
    assert_int_equal(cloak_base64url_decode(d2 + 1, strlen(d2 + 1), &sig, &siglen, NULL), CLOAK_OK);
    assert_int_equal(siglen, 64);
    ECDSA_SIG *es = ECDSA_SIG_new();
    assert_true(ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)));
    unsigned char *der = NULL;
    int dlen = i2d_ECDSA_SIG(es, &der);
    assert_true(dlen > 0);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pub), 1);
    assert_int_equal(
        EVP_DigestVerify(m, der, (size_t)dlen, (const uint8_t *)tok, (size_t)(d2 - tok)), 1);
    EVP_MD_CTX_free(m);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    free(sig);
    /* and cloak verifies its own */
    assert_int_equal(cloak_jws_verify(tok, strlen(tok), pub, CLOAK_JWS_ALLOW_EC, &out, &why),
                     CLOAK_OK);
    assert_int_equal(out.payload_len, 2);
    cloak_jws_clear(&out);
    free(tok);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(priv);
}

static void test_rfc7515_a4_es512_p521_verifies(void **state)
{
    EVP_PKEY *pub = jwk_key(A4_JWK, 0);
    cloak_jws out = {0};
    cloak_error why = {0};
    if (cloak_jws_verify(A4_JWS, strlen(A4_JWS), pub, CLOAK_JWS_ALLOW(CLOAK_JWS_ES512), &out, &why))
        fail_msg("RFC A.4 token: %s", why.msg);
    assert_int_equal(out.payload_len, 7);
    assert_memory_equal(out.payload, "Payload", 7);
    cloak_jws_clear(&out);
    EVP_PKEY_free(pub);
}

static void test_rfc7515_a5_unsecured_refused_by_verify(void **state)
{
    EVP_PKEY *k = jwk_key(A2_JWK, 0);
    expect_refused(A5_JWS, k, ~0u, CLOAK_EPERM, "unsecured JWS (alg \"none\") refused");
    /* only the explicit function reads it, and cloak's unsecured writer reproduces A.5 exactly */
    cloak_jws out = {0};
    assert_int_equal(cloak_jws_decode_unsecured(A5_JWS, strlen(A5_JWS), &out, NULL), CLOAK_OK);
    assert_memory_equal(out.payload, RFC_PAYLOAD, out.payload_len);
    assert_int_equal(out.alg, 0);
    cloak_jws_clear(&out);
    char *tok = NULL;
    assert_int_equal(cloak_jws_sign_unsecured(NULL, (const uint8_t *)RFC_PAYLOAD,
                                              strlen(RFC_PAYLOAD), &tok, NULL),
                     CLOAK_OK);
    assert_string_equal(tok, A5_JWS);
    free(tok);
    /* a signed token is not "unsecured", and "none" with a signature is malformed */
    cloak_error why = {0};
    assert_int_equal(cloak_jws_decode_unsecured(A2_JWS, strlen(A2_JWS), &out, &why), CLOAK_EPERM);
    assert_non_null(strstr(why.msg, "cloak_jws_verify"));
    const char *none_sig = "eyJhbGciOiJub25lIn0." RFC_PAYLOAD64 ".AAAA";
    assert_int_equal(cloak_jws_decode_unsecured(none_sig, strlen(none_sig), &out, &why),
                     CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "empty signature"));
    EVP_PKEY_free(k);
}

/* ---- RFC 7517 A.1 and RFC 7638 ---- */
static void test_rfc7517_a1_public_keys_import_and_reexport_exactly(void **state)
{
    const char *keys[] = {RFC7517_EC, RFC7517_RSA};
    const char *members[][3] = {{"crv", "x", "y"}, {"n", "e", NULL}};
    for (int i = 0; i < 2; i++) {
        json_t *j = js(keys[i]), *back = NULL;
        EVP_PKEY *k = NULL;
        cloak_error why = {0};
        if (cloak_jwk_import_public(j, &k, &why)) fail_msg("%s", why.msg);
        cloak_jwk_opts o = {.kid = json_string_value(json_object_get(j, "kid"))};
        assert_int_equal(cloak_jwk_export(k, &o, &back, &why), CLOAK_OK);
        for (int m = 0; m < 3 && members[i][m]; m++)
            assert_string_equal(json_string_value(json_object_get(back, members[i][m])),
                                json_string_value(json_object_get(j, members[i][m])));
        assert_string_equal(json_string_value(json_object_get(back, "kty")), i ? "RSA" : "EC");
        assert_string_equal(json_string_value(json_object_get(back, "kid")),
                            i ? "2011-04-29" : "1");
        assert_null(json_object_get(back, "d"));
        assert_int_equal(cloak_jws_alg_for_key(k), i ? CLOAK_JWS_RS256 : CLOAK_JWS_ES256);
        json_decref(back);
        json_decref(j);
        EVP_PKEY_free(k);
    }
}

static void test_rfc7638_thumbprint_example(void **state)
{
    json_t *j = js(RFC7517_RSA);
    char tp[CLOAK_JWK_THUMBPRINT_LEN + 1];
    cloak_error why = {0};
    if (cloak_jwk_thumbprint(j, tp, &why)) fail_msg("%s", why.msg);
    assert_string_equal(tp, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    /* optional members (alg, kid, use) do not change it; a different key does */
    json_object_del(j, "alg");
    json_object_set_new(j, "kid", json_string("other"));
    char tp2[CLOAK_JWK_THUMBPRINT_LEN + 1];
    assert_int_equal(cloak_jwk_thumbprint(j, tp2, NULL), CLOAK_OK);
    assert_string_equal(tp2, tp);
    json_t *a2 = js(A2_JWK);
    assert_int_equal(cloak_jwk_thumbprint(a2, tp2, NULL), CLOAK_OK);
    assert_string_not_equal(tp2, tp);
    json_decref(a2);
    json_decref(j);
}

/* ---- refusals ---- */
static char *mutate(const char *tok, const char *find, const char *repl)
{
    const char *at = strstr(tok, find);
    assert_non_null(at);
    char *s = malloc(strlen(tok) + strlen(repl) + 1);
    memcpy(s, tok, (size_t)(at - tok));
    strcpy(s + (at - tok), repl);
    strcat(s, at + strlen(find));
    return s;
}

static char *b64u(const char *s)
{
    return cloak_base64url_encode((const uint8_t *)s, strlen(s));
}

static void test_verify_refusals_have_distinct_messages(void **state)
{
    EVP_PKEY *rsa = jwk_key(A2_JWK, 0), *ec = jwk_key(A3_JWK, 0), *p521 = jwk_key(A4_JWK, 0);
    const unsigned RS = CLOAK_JWS_ALLOW(CLOAK_JWS_RS256);
    expect_refused("abc", rsa, RS, CLOAK_EINVAL, "malformed JWS: no '.'");
    expect_refused("abc.def", rsa, RS, CLOAK_EINVAL, "malformed JWS: only two parts");
    expect_refused("a.b.c.d.e", rsa, RS, CLOAK_EINVAL, "more than three parts");
    expect_refused(".e30.AAAA", rsa, RS, CLOAK_EINVAL, "header part is empty");
    char *t = mutate(A2_JWS, "eyJhbGciOiJSUzI1NiJ9", "eyJhbGciOiJSUzI1NiJ9=");
    expect_refused(t, rsa, RS, CLOAK_EINVAL, "malformed JWS: header part: base64url: padding");
    free(t);
    t = mutate(A2_JWS, "eyJpc3Mi", "eyJpc3M*");
    expect_refused(t, rsa, RS, CLOAK_EINVAL,
                   "malformed JWS: payload part: base64url: character '*'");
    free(t);
    t = mutate(A2_JWS, "cC4hiUPo", "cC4hiU+o");
    expect_refused(t, rsa, RS, CLOAK_EINVAL,
                   "malformed JWS: signature part: base64url: character '+'");
    free(t);
    struct {
        const char *header;
        const char *msg;
    } hdr[] = {
        {"{\"alg\":\"RS256\"", "header part is not JSON"},
        {"[\"RS256\"]", "header part is not a JSON object"},
        {"{\"typ\":\"JWT\"}", "header has no \"alg\" string"},
        {"{\"alg\":256}", "header has no \"alg\" string"},
        {"{\"alg\":\"RS256\",\"alg\":\"none\"}", "duplicate"},
        {"{\"alg\":\"RS256\",\"crit\":[\"b64\"],\"b64\":false}", "\"crit\""},
    };
    for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
        char *h = b64u(hdr[i].header);
        t = mutate(A2_JWS, "eyJhbGciOiJSUzI1NiJ9", h);
        expect_refused(t, rsa, RS, CLOAK_EINVAL, hdr[i].msg);
        free(t);
        free(h);
    }
    /* alg none never passes verify, even when the caller's allow-list is everything */
    expect_refused(A5_JWS, rsa, ~0u, CLOAK_EPERM, "alg \"none\") refused");
    char *none_hdr = b64u("{\"alg\":\"none\"}");
    t = mutate(A2_JWS, "eyJhbGciOiJSUzI1NiJ9", none_hdr); /* none, with a valid RS256 signature */
    expect_refused(t, rsa, ~0u, CLOAK_EPERM, "alg \"none\") refused");
    free(t);
    free(none_hdr);
    /* alg not in the allow-list; unknown and HMAC algs likewise */
    expect_refused(A2_JWS, rsa, CLOAK_JWS_ALLOW(CLOAK_JWS_ES256), CLOAK_EPERM,
                   "JWS alg \"RS256\" is not allowed here (allowed: ES256)");
    expect_refused(A2_JWS, rsa, 0, CLOAK_EPERM, "(allowed: nothing)");
    char *hs = b64u("{\"alg\":\"HS256\"}");
    t = mutate(A2_JWS, "eyJhbGciOiJSUzI1NiJ9", hs);
    expect_refused(t, rsa, ~0u, CLOAK_EPERM, "JWS alg \"HS256\" is not allowed");
    free(t);
    free(hs);
    /* key/alg mismatch: RSA token with an EC key, ES256 token with an RSA key or a P-521 key */
    expect_refused(A2_JWS, ec, ~0u, CLOAK_EINVAL,
                   "RS256 needs an RSA key of 2048..16384 bits, not an EC key on P-256");
    expect_refused(A3_JWS, rsa, ~0u, CLOAK_EINVAL,
                   "ES256 needs an EC key on P-256, not an RSA key of 2048 bits");
    expect_refused(A3_JWS, p521, ~0u, CLOAK_EINVAL,
                   "ES256 needs an EC key on P-256, not an EC key on P-521");
    /* bad signatures: one flipped bit, wrong key, truncated, and the payload swapped */
    t = mutate(A2_JWS, "e77Rw", "e77Qw"); /* one bit of the last byte */
    expect_refused(t, rsa, RS, CLOAK_EVERIFY, "JWS signature does not verify");
    free(t);
    EVP_PKEY *other = jwk_key(RFC7517_RSA, 0);
    expect_refused(A2_JWS, other, RS, CLOAK_EVERIFY, "JWS signature does not verify");
    EVP_PKEY_free(other);
    uint8_t short_sig[60] = {1};
    char *s60 = cloak_base64url_encode(short_sig, sizeof short_sig);
    t = mutate(A3_JWS, strrchr(A3_JWS, '.') + 1, s60);
    expect_refused(t, ec, ~0u, CLOAK_EVERIFY,
                   "does not verify under the given key (alg ES256, 60-byte signature)");
    free(t);
    free(s60);
    t = mutate(A3_JWS, RFC_PAYLOAD64, "e30");
    expect_refused(t, ec, ~0u, CLOAK_EVERIFY, "signature does not verify");
    free(t);
    /* the RSA signature reinterpreted as PS256 does not verify (no PKCS#1/PSS confusion) */
    char *ps = b64u("{\"alg\":\"PS256\"}");
    t = mutate(A2_JWS, "eyJhbGciOiJSUzI1NiJ9", ps);
    expect_refused(t, rsa, ~0u, CLOAK_EVERIFY, "alg PS256");
    free(t);
    free(ps);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(p521);
}

static void test_peek_header_reads_kid_without_verifying(void **state)
{
    char *h = b64u("{\"alg\":\"RS256\",\"kid\":\"k1\",\"jku\":\"https://inst/certs\"}");
    char *t = mutate(A2_JWS, "eyJhbGciOiJSUzI1NiJ9", h);
    json_t *hdr = NULL;
    assert_int_equal(cloak_jws_peek_header(t, strlen(t), &hdr, NULL), CLOAK_OK);
    assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "k1");
    json_decref(hdr);
    cloak_error why = {0};
    assert_int_equal(cloak_jws_peek_header("x.y", 3, &hdr, &why), CLOAK_EINVAL);
    free(t);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_strict_rejections),
        cmocka_unit_test(test_rfc7515_a2_rs256_exact_serialization),
        cmocka_unit_test(test_rfc7515_a3_es256_verifies_and_ours_verify_in_openssl),
        cmocka_unit_test(test_rfc7515_a4_es512_p521_verifies),
        cmocka_unit_test(test_rfc7515_a5_unsecured_refused_by_verify),
        cmocka_unit_test(test_rfc7517_a1_public_keys_import_and_reexport_exactly),
        cmocka_unit_test(test_rfc7638_thumbprint_example),
        cmocka_unit_test(test_verify_refusals_have_distinct_messages),
        cmocka_unit_test(test_peek_header_reads_kid_without_verifying),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
