/* Verifying an RA-TLS certificate, and the OpenSSL glue that runs the check in a handshake.
 *
 * Order of checks: cheap structural ones first (the extension parses, the key hash matches the
 * certificate, validity, nonce), then the evidence's signatures and chain, then the binding of
 * the verified report data to the claims, then the identity policy. Only verified bytes reach
 * the binding and policy checks: the report data compared is the one in the verified claims. */
#include "ratls/ratls_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

static int nonce_len_ok(size_t n)
{
    return n >= CLOAK_RATLS_NONCE_MIN_BYTES && n <= CLOAK_RATLS_NONCE_MAX_BYTES;
}

static cloak_err check_args(const cloak_ratls_verifier *v, cloak_error *why)
{
    if (!v || !v->trust || !v->policy)
        return cloak_error_set(why, CLOAK_EINVAL, "RA-TLS verifier needs a trust and a policy");
    if (v->policy->report_data)
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "RA-TLS verifier: leave policy.report_data unset; the report data is "
            "derived from each certificate's key (and nonce)");
    if (v->nonce_len ? !v->nonce || !nonce_len_ok(v->nonce_len) : v->nonce != NULL)
        return cloak_error_set(why, CLOAK_EINVAL, "RA-TLS verifier nonce must be %d..%d bytes",
                               CLOAK_RATLS_NONCE_MIN_BYTES, CLOAK_RATLS_NONCE_MAX_BYTES);
    return CLOAK_OK;
}

/* The pubkey-hash claim must be the hash of this certificate's SubjectPublicKeyInfo. */
static cloak_err check_key_binding(X509 *cert, const cloak_ratls_evidence *e, cloak_error *why)
{
    unsigned char *spki = NULL;
    uint8_t h[CLOAK_RATLS_MAX_HASH_BYTES];
    size_t hl = 0;
    cloak_err rc = CLOAK_OK;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki);
    if (n <= 0) {
        rc = cloak_error_openssl(why, CLOAK_EINVAL, "certificate public key does not encode");
        goto out;
    }
    if (ratls_hash(e->hash_alg, spki, (size_t)n, h, &hl)) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "hashing the certificate public key");
        goto out;
    }
    if (hl != e->pubkey_hash_len || CRYPTO_memcmp(h, e->pubkey_hash, hl)) {
        char got[17], want[17];
        cloak_hex_write(got, e->pubkey_hash, 8);
        cloak_hex_write(want, h, 8);
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the certificate's public key is not the key bound in its evidence "
                             "(pubkey-hash claim %s..., hash of the certificate's key %s...): the "
                             "evidence was made for another key",
                             got, want);
    }
out:
    OPENSSL_free(spki);
    return rc;
}

/* ASN1_TIME as text for a message ("Jan  1 00:00:00 2030 GMT"). */
static void time_text(const ASN1_TIME *t, char out[64])
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = b && ASN1_TIME_print(b, t) > 0 ? BIO_read(b, out, 63) : 0;
    out[n > 0 ? n : 0] = 0;
    BIO_free(b);
}

static cloak_err check_validity(X509 *cert, time_t at, cloak_error *why)
{
    if (X509_cmp_time(X509_get0_notBefore(cert), &at) <= 0 &&
        X509_cmp_time(X509_get0_notAfter(cert), &at) >= 0)
        return CLOAK_OK;
    char t[32], nb[64], na[64];
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
    time_text(X509_get0_notBefore(cert), nb);
    time_text(X509_get0_notAfter(cert), na);
    return cloak_error_set(why, CLOAK_EVERIFY,
                           "RA-TLS certificate is not valid at %s (valid from %s to %s)", t, nb,
                           na);
}

static cloak_err check_nonce(const cloak_ratls_verifier *v, const cloak_ratls_evidence *e,
                             cloak_error *why)
{
    if (!v->nonce_len) return CLOAK_OK;
    if (!e->nonce)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "RA-TLS certificate has no nonce claim, but this verifier requires "
                               "its nonce (a certificate made before the nonce was issued?)");
    if (e->nonce_len != v->nonce_len || CRYPTO_memcmp(e->nonce, v->nonce, v->nonce_len))
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "RA-TLS certificate's nonce claim is not the nonce this verifier "
                               "issued (a replayed certificate?)");
    return CLOAK_OK;
}

/* The verified report data must be SHA-256(claims) || 32 zero bytes. */
static cloak_err check_report_data(const json_t *claims, const cloak_ratls_evidence *e,
                                   cloak_error *why)
{
    uint8_t want[CLOAK_REPORT_DATA_BYTES], got[CLOAK_REPORT_DATA_BYTES];
    cloak_err rc = ratls_report_data(e->claims, e->claims_len, want, why);
    if (rc) return rc;
    const char *hex = json_string_value(json_object_get(claims, "report_data"));
    if (!hex || cloak_hex_decode_fixed(hex, got, sizeof got, NULL))
        return cloak_error_set(why, CLOAK_EINTERNAL, "verified claims have no 64-byte report_data");
    if (CRYPTO_memcmp(got, want, sizeof want)) {
        char g[17], w[17];
        cloak_hex_write(g, got, 8);
        cloak_hex_write(w, want, 8);
        return cloak_error_set(
            why, CLOAK_EVERIFY,
            "the evidence is not bound to this certificate: report data %s... is "
            "not SHA-256(claims) || 0^32 = %s... (evidence made for another key "
            "or nonce)",
            g, w);
    }
    return CLOAK_OK;
}

cloak_err cloak_ratls_verify_cert(X509 *cert, const cloak_ratls_verifier *v, json_t **claims,
                                  cloak_error *why)
{
    cloak_ratls_evidence e;
    json_t *c = NULL;
    cloak_err rc;
    memset(&e, 0, sizeof e);
    if (!cert || !claims) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "cloak_ratls_verify_cert: certificate and claims output are required");
        goto out;
    }
    if ((rc = check_args(v, why))) goto out;
    time_t at = v->at ? v->at : time(NULL);
    if ((rc = cloak_ratls_evidence_get(cert, &e, why)) || (rc = check_key_binding(cert, &e, why)) ||
        (rc = check_validity(cert, at, why)) || (rc = check_nonce(v, &e, why)))
        goto out;
    cloak_tee_type t = cloak_evidence_detect(e.evidence, e.evidence_len);
    if (t != CLOAK_TEE_SGX && t != CLOAK_TEE_TDX) {
        rc = cloak_error_set(
            why, CLOAK_EINVAL,
            "RA-TLS evidence is tagged as an Intel TEE quote (CBOR tag 60000), but its "
            "%zu bytes are not an SGX or TDX quote",
            e.evidence_len);
        goto out;
    }
    cloak_verify_opts o = {.type = t, .trust = v->trust, .collateral = v->collateral, .at = at};
    if ((rc = cloak_evidence_verify(e.evidence, e.evidence_len, &o, &c, why))) {
        cloak_error_wrap(why, "RA-TLS evidence");
        goto out;
    }
    if ((rc = check_report_data(c, &e, why))) goto out;
    if ((rc = cloak_claims_check(c, v->policy, why))) {
        cloak_error_wrap(why, "RA-TLS peer refused by policy");
        goto out;
    }
    *claims = c;
    c = NULL;
out:
    json_decref(c);
    cloak_ratls_evidence_clear(&e);
    return rc;
}

/* ---- OpenSSL glue ---- */

/* What the check found for one connection, kept in the SSL's ex_data until SSL_free. */
typedef struct {
    json_t *claims;
    cloak_error why;
} ratls_result;

static int g_result_idx = -1;
static pthread_once_t g_result_once = PTHREAD_ONCE_INIT;

static void free_result(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    ratls_result *r = ptr;
    if (!r) return;
    json_decref(r->claims);
    free(r);
}

static void init_result_idx(void)
{
    g_result_idx = SSL_get_ex_new_index(0, (void *)"cloak ratls result", NULL, NULL, free_result);
}

static int result_idx(void)
{
    pthread_once(&g_result_once, init_result_idx);
    return g_result_idx;
}

/* Replaces OpenSSL's chain verification for this context: the RA-TLS check of the peer's leaf
 * is the whole decision. The handshake itself proves the peer holds the leaf's key. */
static int verify_cb(X509_STORE_CTX *sctx, void *arg)
{
    const cloak_ratls_verifier *v = arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
    int idx = result_idx();
    ratls_result *r = calloc(1, sizeof *r);
    if (!ssl || !r || idx < 0) {
        free(r);
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
    cloak_err rc = leaf ? cloak_ratls_verify_cert(leaf, v, &r->claims, &r->why)
                        : cloak_error_set(&r->why, CLOAK_EVERIFY, "peer sent no certificate");
    r->why.code = rc;
    /* a renegotiation (TLS 1.2) runs the check again: the newest result replaces the old one */
    ratls_result *old = SSL_get_ex_data(ssl, idx);
    if (!SSL_set_ex_data(ssl, idx, r)) {
        json_decref(r->claims);
        free(r);
        X509_STORE_CTX_set_error(sctx, X509_V_ERR_OUT_OF_MEM);
        return 0;
    }
    if (old) free_result(NULL, old, NULL, idx, 0, NULL);
    X509_STORE_CTX_set_error(sctx, rc ? X509_V_ERR_APPLICATION_VERIFICATION : X509_V_OK);
    return rc ? 0 : 1;
}

cloak_err cloak_ratls_ssl_ctx_set_verify(SSL_CTX *ctx, const cloak_ratls_verifier *v,
                                         cloak_error *why)
{
    cloak_err rc;
    if (!ctx)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_ratls_ssl_ctx_set_verify: no SSL_CTX");
    if ((rc = check_args(v, why))) return rc;
    if (result_idx() < 0)
        return cloak_error_openssl(why, CLOAK_ENOMEM, "allocating an SSL ex_data index");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, verify_cb, (void *)v);
    /* a resumed session carries no evidence check: never resume */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    return CLOAK_OK;
}

cloak_err cloak_ratls_ssl_claims(const SSL *ssl, json_t **claims, cloak_error *why)
{
    if (!ssl || !claims)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_ratls_ssl_claims: no SSL or output");
    int idx = result_idx();
    const ratls_result *r = idx >= 0 ? SSL_get_ex_data(ssl, idx) : NULL;
    if (!r)
        return cloak_error_set(
            why, CLOAK_ENOTFOUND,
            "no RA-TLS check ran on this connection: was the SSL_CTX set up with "
            "cloak_ratls_ssl_ctx_set_verify, and did the handshake reach the "
            "peer's certificate?");
    if (r->why.code != CLOAK_OK) {
        if (why) *why = r->why;
        return r->why.code;
    }
    if (!r->claims)
        return cloak_error_set(why, CLOAK_EINTERNAL, "RA-TLS check passed without claims");
    /* The certificate is checked before the peer proves it holds the key (CertificateVerify):
     * claims count only once the handshake has completed. */
    if (!SSL_is_init_finished(ssl) || SSL_get_verify_result(ssl) != X509_V_OK)
        return cloak_error_set(
            why, CLOAK_EVERIFY,
            "the peer's certificate passed the RA-TLS check, but the handshake did "
            "not complete, so the peer has not proved it holds the certificate's key");
    *claims = json_incref(r->claims);
    return CLOAK_OK;
}
