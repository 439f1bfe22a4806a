/* Making an RA-TLS certificate: claims bound to the key, evidence over the claims, a
 * self-signed X.509 v3 certificate carrying both. Needs only OpenSSL and the caller's evidence
 * function, so it runs inside an enclave as well as on a host (no files, no clock). */
#include "ratls/ratls_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define SERIAL_BYTES 16 /* random, positive: RFC 5280 §4.1.2.2 allows up to 20 octets */

cloak_err cloak_ratls_keygen(EVP_PKEY **out, cloak_error *why)
{
    if (!out) return cloak_error_set(why, CLOAK_EINVAL, "cloak_ratls_keygen: no output");
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k) return cloak_error_openssl(why, CLOAK_EINTERNAL, "generating an EC P-256 key");
    *out = k;
    return CLOAK_OK;
}

/* Add a v3 extension given in OpenSSL's configuration syntax, with issuer = subject = x. */
static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok ? 0 : -1;
}

static int add_evidence_ext(X509 *x, const uint8_t *value, size_t len)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(CLOAK_RATLS_EVIDENCE_OID, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    int ok = oid && os && len <= INT_MAX && ASN1_OCTET_STRING_set(os, value, (int)len) &&
             /* non-critical: the draft notes OpenSSL and mbedTLS reject unknown critical ones */
             (e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os)) && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    return ok ? 0 : -1;
}

static int set_serial(X509 *x)
{
    uint8_t s[SERIAL_BYTES];
    if (RAND_bytes(s, sizeof s) != 1) return -1;
    s[0] = (s[0] & 0x7f) | 0x01; /* positive and exactly SERIAL_BYTES long */
    BIGNUM *bn = BN_bin2bn(s, sizeof s, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    return ok ? 0 : -1;
}

/* Digest for the certificate signature: SHA-256 unless the key type fixes its own (Ed25519). */
static const EVP_MD *sign_md(EVP_PKEY *key)
{
    int nid = NID_undef;
    if (EVP_PKEY_get_default_digest_nid(key, &nid) == 2 && nid == NID_undef) return NULL;
    return EVP_sha256();
}

static cloak_err build_cert(EVP_PKEY *key, const char *cn, time_t not_before, time_t not_after,
                            const uint8_t *ext, size_t ext_len, X509 **out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    if (!x || !name) goto ossl;
    if (!X509_set_version(x, X509_VERSION_3) || set_serial(x) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), not_before) ||
        !ASN1_TIME_set(X509_getm_notAfter(x), not_after) || !X509_set_pubkey(x, key))
        goto ossl;
    if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
        add_ext(x, NID_key_usage, "critical,digitalSignature") ||
        add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") ||
        add_ext(x, NID_subject_key_identifier, "hash") ||
        add_ext(x, NID_authority_key_identifier, "keyid:always") ||
        add_evidence_ext(x, ext, ext_len))
        goto ossl;
    if (X509_sign(x, key, sign_md(key)) <= 0) {
        rc = cloak_error_openssl(why, CLOAK_EINVAL, "signing the RA-TLS certificate with its key");
        goto out;
    }
    *out = x;
    x = NULL;
    goto out;
ossl:
    rc = cloak_error_openssl(why, CLOAK_ENOMEM, "building the RA-TLS certificate");
out:
    X509_NAME_free(name);
    X509_free(x);
    return rc;
}

cloak_err cloak_ratls_make_cert_nonce(EVP_PKEY *key, const char *subject_cn,
                                      cloak_ratls_evidence_fn get_evidence, void *ctx,
                                      time_t not_before, time_t not_after, const uint8_t *nonce,
                                      size_t nonce_len, X509 **out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    uint8_t *spki = NULL, *ev = NULL;
    size_t spki_len = 0, ev_len = 0;
    uint8_t rd[CLOAK_REPORT_DATA_BYTES];
    cloak_buf claims = {0}, ext = {0};
    if (!key || !subject_cn || !*subject_cn || !get_evidence || !out) {
        rc = cloak_error_set(
            why, CLOAK_EINVAL,
            "cloak_ratls_make_cert: key, subject CN, evidence function and output are required");
        goto out;
    }
    if (not_after <= not_before) {
        rc = cloak_error_set(
            why, CLOAK_EINVAL,
            "certificate validity is empty: not_after (%lld) is not after not_before (%lld)",
            (long long)not_after, (long long)not_before);
        goto out;
    }
    if (nonce_len && (!nonce || nonce_len < CLOAK_RATLS_NONCE_MIN_BYTES ||
                      nonce_len > CLOAK_RATLS_NONCE_MAX_BYTES)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "nonce must be %d..%d bytes (got %zu)",
                             CLOAK_RATLS_NONCE_MIN_BYTES, CLOAK_RATLS_NONCE_MAX_BYTES, nonce_len);
        goto out;
    }
    if ((rc = ratls_spki_der(key, &spki, &spki_len, why)) ||
        (rc = ratls_build_claims(CLOAK_RATLS_HASH_SHA256, spki, spki_len, nonce, nonce_len, &claims,
                                 why)) ||
        (rc = ratls_report_data(claims.p, claims.len, rd, why)))
        goto out;
    if ((rc = get_evidence(ctx, rd, &ev, &ev_len)) != CLOAK_OK) {
        rc =
            cloak_error_set(why, rc,
                            "the evidence function failed (%s) while quoting the certificate key's "
                            "claims; its own log or context has the details",
                            cloak_err_name(rc));
        goto out;
    }
    if (!ev || !ev_len) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "the evidence function returned no evidence");
        goto out;
    }
    if ((rc = ratls_build_extension(ev, ev_len, claims.p, claims.len, &ext, why))) goto out;
    rc = build_cert(key, subject_cn, not_before, not_after, ext.p, ext.len, out, why);
out:
    OPENSSL_free(spki);
    free(ev);
    cloak_buf_free(&claims);
    cloak_buf_free(&ext);
    return rc;
}

cloak_err cloak_ratls_make_cert(EVP_PKEY *key, const char *subject_cn,
                                cloak_ratls_evidence_fn get_evidence, void *ctx, time_t not_before,
                                time_t not_after, X509 **out, cloak_error *why)
{
    return cloak_ratls_make_cert_nonce(key, subject_cn, get_evidence, ctx, not_before, not_after,
                                       NULL, 0, out, why);
}
