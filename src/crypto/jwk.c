/* JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8812 §3.1) and thumbprints (RFC 7638). */
#include "crypto/jose_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

/* RFC 7518 §6.2.1.1 and RFC 8812 §3.1; width = ceil(log2(p) / 8) (§6.2.1.2). */
static const jose_curve CURVES[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
    {"secp256k1", "secp256k1", 32},
};
#define NCURVES (sizeof CURVES / sizeof CURVES[0])
#define MAX_X5C 16 /* certificates in one "x5c"; real chains have 2-4 */

static int group_nid(const char *name)
{
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef) nid = EC_curve_nist2nid(name);
    return nid;
}

const jose_curve *jose_curve_of(EVP_PKEY *key)
{
    char name[64];
    size_t len = 0;
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return NULL;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len)) {
        ERR_clear_error();
        return NULL;
    }
    int nid = group_nid(name);
    for (size_t i = 0; i < NCURVES; i++)
        if (nid != NID_undef && nid == group_nid(CURVES[i].group)) return &CURVES[i];
    return NULL;
}

static const jose_curve *curve_by_jwk_name(const char *crv)
{
    for (size_t i = 0; i < NCURVES; i++)
        if (!strcmp(CURVES[i].jwk_name, crv)) return &CURVES[i];
    return NULL;
}

int jose_rsa_bits(EVP_PKEY *key)
{
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return 0;
    return EVP_PKEY_get_bits(key);
}

/* ---- export ---------------------------------------------------------------------------- */

/* Set o[name] = base64url(bn), big-endian in `width` bytes (0: minimal, RFC 7518 §6.3.1.1). */
static cloak_err put_bn(json_t *o, const char *name, const BIGNUM *bn, size_t width,
                        cloak_error *why)
{
    size_t n = width ? width : (size_t)BN_num_bytes(bn);
    if (!n) n = 1;
    uint8_t *buf = malloc(n);
    char *s = NULL;
    cloak_err rc = CLOAK_ENOMEM;
    if (!buf) goto out;
    if (BN_bn2binpad(bn, buf, (int)n) < 0) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "JWK member \"%s\" does not fit %zu bytes", name,
                             n);
        goto out;
    }
    s = cloak_base64url_encode(buf, n);
    if (!s || json_object_set_new(o, name, json_string(s))) goto out;
    rc = CLOAK_OK;
out:
    if (rc == CLOAK_ENOMEM) cloak_error_set(why, rc, "JWK export: out of memory");
    cloak_free_secret(buf, n);
    if (s) cloak_free_secret(s, strlen(s));
    return rc;
}

/* Copy one BIGNUM parameter of `key` into o[name]. Private parameters are cleared on free. */
static cloak_err put_param(json_t *o, EVP_PKEY *key, const char *param, const char *name,
                           size_t width, cloak_error *why)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(key, param, &bn)) {
        ERR_clear_error();
        return cloak_error_set(why, CLOAK_EINVAL,
                               "key has no %s (JWK \"%s\"): a private export needs the private key "
                               "(RSA: with its CRT parameters)",
                               param, name);
    }
    cloak_err rc = put_bn(o, name, bn, width, why);
    BN_clear_free(bn);
    return rc;
}

static cloak_err put_x5c(json_t *o, EVP_PKEY *key, X509 *const *x5c, size_t n, cloak_error *why)
{
    if (n > MAX_X5C)
        return cloak_error_set(why, CLOAK_EINVAL, "x5c: %zu certificates (max %d)", n, MAX_X5C);
    EVP_PKEY *leaf = x5c[0] ? X509_get0_pubkey(x5c[0]) : NULL;
    if (!leaf || EVP_PKEY_eq(key, leaf) != 1) {
        ERR_clear_error();
        return cloak_error_set(why, CLOAK_EINVAL,
                               "x5c: the first certificate does not hold this key (RFC 7517 §4.7); "
                               "put the key's own certificate first");
    }
    json_t *arr = json_array();
    if (!arr || json_object_set_new(o, "x5c", arr))
        return cloak_error_set(why, CLOAK_ENOMEM, "x5c: out of memory");
    for (size_t i = 0; i < n; i++) {
        unsigned char *der = NULL;
        int len = x5c[i] ? i2d_X509(x5c[i], &der) : -1;
        if (len <= 0)
            return cloak_error_openssl(why, CLOAK_EINVAL, "x5c: a certificate does not encode");
        char *s = cloak_base64_encode(der, (size_t)len);
        OPENSSL_free(der);
        if (!s || json_array_append_new(arr, json_string(s))) {
            free(s);
            return cloak_error_set(why, CLOAK_ENOMEM, "x5c: out of memory");
        }
        free(s);
    }
    return CLOAK_OK;
}

cloak_err cloak_jwk_export(EVP_PKEY *key, const cloak_jwk_opts *opts, json_t **out,
                           cloak_error *why)
{
    static const cloak_jwk_opts none = {0};
    if (!opts) opts = &none;
    if (!key || !out)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_jwk_export: no key or output");
    cloak_err rc = CLOAK_ENOMEM;
    json_t *o = json_object();
    if (!o) goto nomem;
    int bits = jose_rsa_bits(key);
    const jose_curve *c = jose_curve_of(key);
    if (bits) {
        if (bits < CLOAK_JWS_RSA_MIN_BITS || bits > CLOAK_JWS_RSA_MAX_BITS) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "RSA key of %d bits: JOSE keys must have %d..%d bits", bits,
                                 CLOAK_JWS_RSA_MIN_BITS, CLOAK_JWS_RSA_MAX_BITS);
            goto out;
        }
        BIGNUM *f3 = NULL;
        if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR3, &f3)) {
            BN_clear_free(f3);
            rc = cloak_error_set(why, CLOAK_EUNSUPPORTED,
                                 "multi-prime RSA keys are not exported (no \"oth\")");
            goto out;
        }
        ERR_clear_error();
        if (json_object_set_new(o, "kty", json_string("RSA"))) goto nomem;
        if ((rc = put_param(o, key, OSSL_PKEY_PARAM_RSA_N, "n", 0, why)) ||
            (rc = put_param(o, key, OSSL_PKEY_PARAM_RSA_E, "e", 0, why)))
            goto out;
        if (opts->include_private &&
            ((rc = put_param(o, key, OSSL_PKEY_PARAM_RSA_D, "d", 0, why)) ||
             (rc = put_param(o, key, OSSL_PKEY_PARAM_RSA_FACTOR1, "p", 0, why)) ||
             (rc = put_param(o, key, OSSL_PKEY_PARAM_RSA_FACTOR2, "q", 0, why)) ||
             (rc = put_param(o, key, OSSL_PKEY_PARAM_RSA_EXPONENT1, "dp", 0, why)) ||
             (rc = put_param(o, key, OSSL_PKEY_PARAM_RSA_EXPONENT2, "dq", 0, why)) ||
             (rc = put_param(o, key, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, "qi", 0, why))))
            goto out;
    } else if (c) {
        if (json_object_set_new(o, "kty", json_string("EC")) ||
            json_object_set_new(o, "crv", json_string(c->jwk_name)))
            goto nomem;
        if ((rc = put_param(o, key, OSSL_PKEY_PARAM_EC_PUB_X, "x", c->width, why)) ||
            (rc = put_param(o, key, OSSL_PKEY_PARAM_EC_PUB_Y, "y", c->width, why)))
            goto out;
        if (opts->include_private &&
            (rc = put_param(o, key, OSSL_PKEY_PARAM_PRIV_KEY, "d", c->width, why)))
            goto out;
    } else {
        rc = cloak_error_set(
            why, CLOAK_EUNSUPPORTED,
            "key type %s has no JWK form in cloak (RSA, or EC on P-256, P-384, P-521, secp256k1)",
            EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "?");
        goto out;
    }
    if (opts->kid && json_object_set_new(o, "kid", json_string(opts->kid))) goto nomem;
    if (opts->nx5c && (rc = put_x5c(o, key, opts->x5c, opts->nx5c, why))) goto out;
    *out = o;
    o = NULL;
    rc = CLOAK_OK;
    goto out;
nomem:
    rc = cloak_error_set(why, CLOAK_ENOMEM, "JWK export: out of memory");
out:
    cloak_jwk_free_private(o);
    return rc;
}

void cloak_jwk_free_private(json_t *jwk)
{
    static const char *const secret[] = {"d", "p", "q", "dp", "dq", "qi", "k"};
    if (!jwk) return;
    if (json_is_object(jwk))
        for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
            json_t *v = json_object_get(jwk, secret[i]);
            /* jansson owns a private copy of each string value: wipe it in place */
            if (json_is_string(v))
                OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
        }
    json_decref(jwk);
}

/* ---- import ---------------------------------------------------------------------------- */

/* Decode member `name`; *out == NULL when it is absent and not required. */
static cloak_err get_member(const json_t *jwk, const char *name, int required, uint8_t **out,
                            size_t *out_len, cloak_error *why)
{
    json_t *v = json_object_get(jwk, name);
    *out = NULL;
    *out_len = 0;
    if (!v) {
        if (!required) return CLOAK_OK;
        return cloak_error_set(why, CLOAK_EINVAL, "JWK has no \"%s\" member", name);
    }
    if (!json_is_string(v))
        return cloak_error_set(why, CLOAK_EINVAL, "JWK member \"%s\" is not a string", name);
    cloak_err rc =
        cloak_base64url_decode(json_string_value(v), json_string_length(v), out, out_len, why);
    if (rc) return cloak_error_wrap(why, "JWK member \"%s\"", name);
    if (!*out_len) {
        free(*out);
        *out = NULL;
        return cloak_error_set(why, CLOAK_EINVAL, "JWK member \"%s\" is empty", name);
    }
    return CLOAK_OK;
}

/* BIGNUM from member `name`, or an error. Private members go into BN_secure_new numbers, so
 * OSSL_PARAM_BLD copies them to its cleared-on-free block. */
static cloak_err get_bn(const json_t *jwk, const char *name, BIGNUM **out, cloak_error *why)
{
    int secret = strcmp(name, "n") && strcmp(name, "e");
    uint8_t *b = NULL;
    size_t n = 0;
    cloak_err rc = get_member(jwk, name, 1, &b, &n, why);
    if (rc) return rc;
    BIGNUM *bn = secret ? BN_secure_new() : BN_new();
    if (bn && !BN_bin2bn(b, (int)n, bn)) {
        BN_clear_free(bn);
        bn = NULL;
    }
    *out = bn;
    cloak_free_secret(b, n);
    if (!*out) return cloak_error_set(why, CLOAK_ENOMEM, "JWK import: out of memory");
    return CLOAK_OK;
}

static cloak_err from_params(const char *type, OSSL_PARAM_BLD *bld, int selection, EVP_PKEY **out,
                             const char *what, cloak_error *why)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    cloak_err rc = CLOAK_OK;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, selection, params) <= 0)
        rc = cloak_error_openssl(why, CLOAK_EINVAL, what);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* clears the secure (private BIGNUM) block */
    return rc;
}

/* Full validity (EC: on the curve, right order) or, for private keys, pairwise consistency. */
static cloak_err check_key(EVP_PKEY *key, int private_key, const char *what, cloak_error *why)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = ctx && (private_key ? EVP_PKEY_pairwise_check(ctx) : EVP_PKEY_public_check(ctx)) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? CLOAK_OK : cloak_error_openssl(why, CLOAK_EINVAL, what);
}

static cloak_err import_rsa(const json_t *jwk, int private_key, EVP_PKEY **out, cloak_error *why)
{
    static const char *const crt_names[] = {"p", "q", "dp", "dq", "qi"};
    static const char *const crt_params[] = {
        OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
        OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    BIGNUM *n = NULL, *e = NULL, *d = NULL, *crt[5] = {0};
    OSSL_PARAM_BLD *bld = NULL;
    cloak_err rc;
    if ((rc = get_bn(jwk, "n", &n, why)) || (rc = get_bn(jwk, "e", &e, why))) goto out;
    int bits = BN_num_bits(n);
    if (bits < CLOAK_JWS_RSA_MIN_BITS || bits > CLOAK_JWS_RSA_MAX_BITS) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "JWK RSA modulus has %d bits; cloak accepts %d..%d",
                             bits, CLOAK_JWS_RSA_MIN_BITS, CLOAK_JWS_RSA_MAX_BITS);
        goto out;
    }
    if (!BN_is_odd(n) || !BN_is_odd(e) || BN_num_bits(e) < 2 || BN_cmp(e, n) >= 0) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "JWK RSA key is not valid (n and e must be odd, 3 <= e < n)");
        goto out;
    }
    if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "JWK import: out of memory");
        goto out;
    }
    if (private_key) {
        if (json_object_get(jwk, "oth")) {
            rc = cloak_error_set(why, CLOAK_EUNSUPPORTED,
                                 "multi-prime RSA JWK (\"oth\") is not supported");
            goto out;
        }
        if ((rc = get_bn(jwk, "d", &d, why))) goto out;
        /* RFC 7518 §6.3.2: the CRT members come together; cloak requires them. */
        for (size_t i = 0; i < 5; i++)
            if ((rc = get_bn(jwk, crt_names[i], &crt[i], why))) {
                cloak_error_wrap(why, "private RSA JWK needs p, q, dp, dq and qi");
                goto out;
            }
        if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d)) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "JWK import: out of memory");
            goto out;
        }
        for (size_t i = 0; i < 5; i++)
            if (!OSSL_PARAM_BLD_push_BN(bld, crt_params[i], crt[i])) {
                rc = cloak_error_set(why, CLOAK_ENOMEM, "JWK import: out of memory");
                goto out;
            }
    }
    rc = from_params("RSA", bld, private_key ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, out,
                     "JWK RSA key is rejected by OpenSSL", why);
    if (!rc && private_key &&
        (rc = check_key(*out, 1,
                        "private RSA JWK members do not belong together (pairwise check failed)",
                        why))) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
out:
    BN_free(n);
    BN_free(e);
    BN_clear_free(d);
    for (size_t i = 0; i < 5; i++)
        BN_clear_free(crt[i]);
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

static cloak_err import_ec(const json_t *jwk, int private_key, EVP_PKEY **out, cloak_error *why)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    if (!crv) return cloak_error_set(why, CLOAK_EINVAL, "EC JWK has no \"crv\" string");
    const jose_curve *c = curve_by_jwk_name(crv);
    if (!c)
        return cloak_error_set(
            why, CLOAK_EUNSUPPORTED,
            "EC JWK curve \"%.40s\" is not supported (P-256, P-384, P-521, secp256k1)", crv);
    uint8_t *x = NULL, *y = NULL, *d = NULL, pub[1 + 2 * 66];
    size_t xl = 0, yl = 0, dl = 0;
    BIGNUM *dbn = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    cloak_err rc;
    if ((rc = get_member(jwk, "x", 1, &x, &xl, why)) ||
        (rc = get_member(jwk, "y", 1, &y, &yl, why)))
        goto out;
    if (xl != c->width || yl != c->width) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "EC JWK on %s: x and y must be exactly %zu bytes (got %zu and %zu)",
                             crv, c->width, xl, yl);
        goto out;
    }
    pub[0] = 0x04; /* SEC 1 §2.3.3 uncompressed point */
    memcpy(pub + 1, x, xl);
    memcpy(pub + 1 + xl, y, yl);
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * c->width)) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "JWK import: out of memory");
        goto out;
    }
    if (private_key) {
        if ((rc = get_member(jwk, "d", 1, &d, &dl, why))) goto out;
        if (dl != c->width) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "EC JWK on %s: d must be exactly %zu bytes (got %zu)", crv,
                                 c->width, dl);
            goto out;
        }
        if (!(dbn = BN_secure_new()) || !BN_bin2bn(d, (int)dl, dbn) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, dbn)) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "JWK import: out of memory");
            goto out;
        }
    }
    rc = from_params("EC", bld, private_key ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, out,
                     "EC JWK point is not on the curve", why);
    if (rc) {
        cloak_error_wrap(why, "%s", crv);
        goto out;
    }
    rc = private_key ? check_key(*out, 1, "EC JWK: d does not match the public point", why)
                     : check_key(*out, 0, "EC JWK public point is not valid on its curve", why);
    if (rc) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
out:
    free(x);
    free(y);
    if (d) cloak_free_secret(d, dl);
    BN_clear_free(dbn);
    OSSL_PARAM_BLD_free(bld);
    OPENSSL_cleanse(pub, sizeof pub);
    return rc;
}

/* RFC 7517 §4.7: each entry standard base64 DER; the first holds the JWK's key. */
static cloak_err check_x5c(const json_t *jwk, EVP_PKEY *key, cloak_error *why)
{
    json_t *arr = json_object_get(jwk, "x5c");
    if (!arr) return CLOAK_OK;
    if (!json_is_array(arr) || !json_array_size(arr) || json_array_size(arr) > MAX_X5C)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "JWK \"x5c\" must be an array of 1..%d certificates", MAX_X5C);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        uint8_t *der = NULL;
        size_t len = 0;
        if (!json_is_string(v))
            return cloak_error_set(why, CLOAK_EINVAL, "JWK \"x5c\"[%zu] is not a string", i);
        if (cloak_base64_decode(json_string_value(v), json_string_length(v), &der, &len, why))
            return cloak_error_wrap(why, "JWK \"x5c\"[%zu] (standard base64, not base64url)", i);
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        int whole = x && p == der + len;
        int match = whole && (i > 0 || EVP_PKEY_eq(key, X509_get0_pubkey(x)) == 1);
        X509_free(x);
        free(der);
        ERR_clear_error();
        if (!whole)
            return cloak_error_set(why, CLOAK_EINVAL, "JWK \"x5c\"[%zu] is not one DER certificate",
                                   i);
        if (!match)
            return cloak_error_set(
                why, CLOAK_EINVAL,
                "JWK \"x5c\"[0] holds a different key than the JWK (RFC 7517 §4.7)");
    }
    return CLOAK_OK;
}

static cloak_err import(const json_t *jwk, int private_key, EVP_PKEY **out, cloak_error *why)
{
    if (!out) return cloak_error_set(why, CLOAK_EINVAL, "JWK import: no output");
    if (!json_is_object(jwk)) return cloak_error_set(why, CLOAK_EINVAL, "JWK is not a JSON object");
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    if (!kty) return cloak_error_set(why, CLOAK_EINVAL, "JWK has no \"kty\" string");
    EVP_PKEY *key = NULL;
    cloak_err rc;
    /* "RSA-HSM" and "EC-HSM" are Azure Key Vault's names for the same key material. */
    if (!strcmp(kty, "RSA") || !strcmp(kty, "RSA-HSM"))
        rc = import_rsa(jwk, private_key, &key, why);
    else if (!strcmp(kty, "EC") || !strcmp(kty, "EC-HSM"))
        rc = import_ec(jwk, private_key, &key, why);
    else if (!strcmp(kty, "oct") || !strcmp(kty, "oct-HSM"))
        rc = cloak_error_set(
            why, CLOAK_EUNSUPPORTED,
            "symmetric JWK (kty \"oct\") cannot be imported as a public-key EVP_PKEY");
    else
        rc = cloak_error_set(why, CLOAK_EUNSUPPORTED,
                             "JWK kty \"%.40s\" is not supported (RSA, EC)", kty);
    if (!rc) rc = check_x5c(jwk, key, why);
    if (rc) {
        EVP_PKEY_free(key);
        return rc;
    }
    *out = key;
    return CLOAK_OK;
}

cloak_err cloak_jwk_import_public(const json_t *jwk, EVP_PKEY **out, cloak_error *why)
{
    return import(jwk, 0, out, why);
}

cloak_err cloak_jwk_import_private(const json_t *jwk, EVP_PKEY **out, cloak_error *why)
{
    return import(jwk, 1, out, why);
}

/* ---- thumbprint (RFC 7638 §3.2: required members, lexicographic order, no whitespace) ---- */

cloak_err cloak_jwk_thumbprint_key(EVP_PKEY *key, char out[CLOAK_JWK_THUMBPRINT_LEN + 1],
                                   cloak_error *why)
{
    json_t *pub = NULL;
    char *canon = NULL, *b64 = NULL;
    cloak_err rc = cloak_jwk_export(key, NULL, &pub, why);
    if (rc) return rc;
    const char *kty = json_string_value(json_object_get(pub, "kty"));
    int n;
    if (!strcmp(kty, "RSA"))
        n = asprintf(&canon, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
                     json_string_value(json_object_get(pub, "e")),
                     json_string_value(json_object_get(pub, "n")));
    else
        n = asprintf(&canon, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                     json_string_value(json_object_get(pub, "crv")),
                     json_string_value(json_object_get(pub, "x")),
                     json_string_value(json_object_get(pub, "y")));
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (n < 0) {
        canon = NULL;
        rc = cloak_error_set(why, CLOAK_ENOMEM, "JWK thumbprint: out of memory");
    } else if (!EVP_Digest(canon, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "JWK thumbprint: SHA-256 failed");
    } else if (!(b64 = cloak_base64url_encode(md, mdlen))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "JWK thumbprint: out of memory");
    } else {
        memcpy(out, b64, CLOAK_JWK_THUMBPRINT_LEN + 1);
    }
    free(canon);
    free(b64);
    json_decref(pub);
    return rc;
}

cloak_err cloak_jwk_thumbprint(const json_t *jwk, char out[CLOAK_JWK_THUMBPRINT_LEN + 1],
                               cloak_error *why)
{
    EVP_PKEY *key = NULL;
    cloak_err rc = cloak_jwk_import_public(jwk, &key, why);
    if (rc) return rc;
    rc = cloak_jwk_thumbprint_key(key, out, why);
    EVP_PKEY_free(key);
    return rc;
}
