/*
 * libFuzzer target for the JOSE layer: compact JWS and JWKs are untrusted input (attestation
 * tokens, JWKS from /certs, keys in Secure Key Release requests). Each input is tried as
 *   - a compact JWS: cloak_jws_verify under fixed RSA (RFC 7515 A.2) and P-256 (A.3) keys with
 *     every algorithm allowed, cloak_jws_peek_header, cloak_jws_decode_unsecured;
 *   - a JWK (when it parses as JSON): cloak_jwk_import_public / _private and the thumbprint;
 *   - raw base64 and base64url text.
 * Seeds in fuzz/corpus/fuzz_jws/: the RFC 7515 Appendix A tokens and RFC 7517/7515 JWKs.
 */
#include "cloak/jose.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *RSA_JWK =
    "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_"
    "wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"
    "4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_"
    "7OMg0LOL-bSf63kpaSHSXndS5z"
    "5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_"
    "I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9"
    "_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}";
static const char *EC_JWK =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static EVP_PKEY *load(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    EVP_PKEY *k = NULL;
    if (!j || cloak_jwk_import_public(j, &k, NULL)) abort();
    json_decref(j);
    return k;
}

static void touch(const uint8_t *p, size_t n)
{
    volatile uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    (void)x;
}

static void check_jws(cloak_err rc, cloak_jws *j, const cloak_error *why)
{
    if (rc != CLOAK_OK) {
        if (!why->msg[0]) abort(); /* every refusal says why */
        return;
    }
    if (!json_is_object(j->header) || !json_is_string(json_object_get(j->header, "alg")) ||
        !j->payload || j->payload[j->payload_len] != 0)
        abort();
    touch(j->payload, j->payload_len);
    cloak_jws_clear(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static EVP_PKEY *rsa, *ec;
    if (!rsa) {
        rsa = load(RSA_JWK);
        ec = load(EC_JWK);
    }
    const char *t = (const char *)data;
    cloak_error why;
    cloak_jws j;
    cloak_err rc;

    for (int i = 0; i < 2; i++) {
        memset(&why, 0, sizeof why);
        memset(&j, 0, sizeof j);
        rc = cloak_jws_verify(t, size, i ? ec : rsa, ~0u, &j, &why);
        if (rc == CLOAK_OK && j.alg <= 0) abort();
        check_jws(rc, &j, &why);
    }
    memset(&why, 0, sizeof why);
    memset(&j, 0, sizeof j);
    rc = cloak_jws_decode_unsecured(t, size, &j, &why);
    if (rc == CLOAK_OK &&
        (j.alg != 0 || strcmp(json_string_value(json_object_get(j.header, "alg")), "none")))
        abort();
    check_jws(rc, &j, &why);
    json_t *h = NULL;
    if (cloak_jws_peek_header(t, size, &h, NULL) == CLOAK_OK) {
        if (!json_is_object(h)) abort();
        json_decref(h);
    }

    json_t *jwk = json_loadb(t, size, 0, NULL);
    if (jwk) {
        EVP_PKEY *k = NULL;
        char tp[CLOAK_JWK_THUMBPRINT_LEN + 1];
        memset(&why, 0, sizeof why);
        if (cloak_jwk_import_public(jwk, &k, &why) == CLOAK_OK) {
            if (!k || cloak_jwk_thumbprint_key(k, tp, NULL) != CLOAK_OK ||
                strlen(tp) != CLOAK_JWK_THUMBPRINT_LEN)
                abort();
            EVP_PKEY_free(k);
            k = NULL;
        } else if (!why.msg[0]) {
            abort();
        }
        if (cloak_jwk_import_private(jwk, &k, NULL) == CLOAK_OK) {
            if (!k) abort();
            EVP_PKEY_free(k);
        }
        json_decref(jwk);
    }

    uint8_t *out = NULL;
    size_t n = 0;
    if (cloak_base64url_decode(t, size, &out, &n, NULL) == CLOAK_OK) {
        /* canonical: re-encoding gives the input without its padding */
        char *back = cloak_base64url_encode(out, n);
        size_t bl = strlen(back);
        if (bl > size || memcmp(back, t, bl)) abort();
        for (size_t i = bl; i < size; i++)
            if (t[i] != '=') abort();
        free(back);
        free(out);
    }
    if (cloak_base64_decode(t, size, &out, &n, NULL) == CLOAK_OK) {
        char *back = cloak_base64_encode(out, n);
        if (strlen(back) != size || memcmp(back, t, size)) abort();
        free(back);
        free(out);
    }
    ERR_clear_error();
    return 0;
}
