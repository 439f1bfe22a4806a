/*
 * cloak ratls: attested TLS. A certificate whose public key is bound into TEE evidence, and a
 * verifier that OpenSSL calls during the handshake to check that evidence against vendor roots
 * and an identity policy, so a client knows it talks to the approved code in a real TEE.
 *
 * Format (docs/RATLS.md has every byte): the Interoperable RA-TLS format of the CCC Attestation
 * SIG, as Gramine (>= 1.8), the Intel SGX SDK (>= 2.22, SampleAttestedTLS) and rats-tls write
 * and read it. The evidence travels in the non-critical X.509 extension 2.23.133.5.4.9 (TCG DICE
 * tcg-dice-conceptual-message-wrapper, formerly "tagged evidence"), whose value is the CBOR
 * item 60000([quote, claims]). `claims` is a CBOR map {"pubkey-hash": [1, SHA-256(SPKI DER)]}
 * (plus "nonce" when one is given), and the quote's REPORTDATA is
 * SHA-256(claims) || 32 zero bytes. So the key is bound through the claims: one hash more than
 * Gramine's older raw-quote format, which is what lets other implementations read ours.
 *
 * Trust: the certificate is self-signed and its signature proves nothing; the TLS handshake
 * proves possession of the key, and the evidence proves which code holds it. Everything in the
 * certificate is untrusted input until cloak_ratls_verify_cert returns CLOAK_OK. In simulation
 * the evidence chains to the local development root, which protects nothing against root on
 * the machine that made it: the default policy refuses it (x-cloak-sim).
 *
 * Inside an enclave: cloak_ratls_make_cert needs only OpenSSL and the caller's evidence
 * function (a wrapper around cloak_trusted_get_evidence); it reads no files and no clock.
 *
 * Thread-safety: a cloak_ratls_verifier is read-only during verification and may serve many
 * connections and threads at once; the objects it points to must outlive every SSL_CTX it is
 * installed on. All functions are reentrant.
 */
#ifndef CLOAK_RATLS_H
#define CLOAK_RATLS_H

#include "cloak/base.h"
#include "cloak/evidence.h"
#include "cloak/platform.h"

#include <time.h>

#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The evidence extension (TCG DICE registry; Interoperable RA-TLS, "cert and evidence formats"). */
#define CLOAK_RATLS_EVIDENCE_OID "2.23.133.5.4.9"
/* CBOR tag of an Intel TEE (SGX or TDX) ECDSA quote (IANA CBOR tags registry). */
#define CLOAK_RATLS_CBOR_TAG_INTEL_QUOTE 60000u
/* Hash algorithm ids of the pubkey-hash claim (IANA named-information registry). */
#define CLOAK_RATLS_HASH_SHA256 1
#define CLOAK_RATLS_HASH_SHA384 7
#define CLOAK_RATLS_HASH_SHA512 8
/* Nonce claim sizes this implementation writes and accepts (the format allows any length). */
#define CLOAK_RATLS_NONCE_MIN_BYTES 8
#define CLOAK_RATLS_NONCE_MAX_BYTES 64
#define CLOAK_RATLS_MAX_HASH_BYTES 64

/* Produce evidence whose report data is `report_data` (64 bytes): *evidence is malloc'd (the
 * caller frees it with free()). Inside a cloak enclave:
 *     static cloak_err ev(void *ctx, const uint8_t rd[64], uint8_t **q, size_t *n)
 *     { return cloak_trusted_get_evidence(rd, q, n); }                               */
typedef cloak_err (*cloak_ratls_evidence_fn)(void *ctx,
                                             const uint8_t report_data[CLOAK_REPORT_DATA_BYTES],
                                             uint8_t **evidence, size_t *len);

/* A fresh EC P-256 key for a certificate (generated with OpenSSL's DRBG). */
cloak_err cloak_ratls_keygen(EVP_PKEY **out, cloak_error *why) CLOAK_MUST_CHECK;

/* Make a self-signed certificate for `key` (signed by it: ECDSA with SHA-256 for EC keys),
 * CN=subject_cn, valid [not_before, not_after], carrying evidence bound to the key. Extensions:
 * basicConstraints CA:FALSE, keyUsage digitalSignature, extKeyUsage serverAuth+clientAuth,
 * subject/authority key ids, and the evidence extension (non-critical). */
cloak_err cloak_ratls_make_cert(EVP_PKEY *key, const char *subject_cn,
                                cloak_ratls_evidence_fn get_evidence, void *ctx, time_t not_before,
                                time_t not_after, X509 **out, cloak_error *why) CLOAK_MUST_CHECK;

/* The same, with a "nonce" claim (CLOAK_RATLS_NONCE_MIN_BYTES..MAX_BYTES) that a verifier
 * supplied out of band, for a certificate made fresh for that verifier. */
cloak_err cloak_ratls_make_cert_nonce(EVP_PKEY *key, const char *subject_cn,
                                      cloak_ratls_evidence_fn get_evidence, void *ctx,
                                      time_t not_before, time_t not_after, const uint8_t *nonce,
                                      size_t nonce_len, X509 **out,
                                      cloak_error *why) CLOAK_MUST_CHECK;

/* The evidence extension, parsed (not verified). Byte fields are malloc'd copies. */
typedef struct {
    uint64_t tag;      /* CBOR tag: CLOAK_RATLS_CBOR_TAG_INTEL_QUOTE */
    uint8_t *evidence; /* the quote */
    size_t evidence_len;
    uint8_t *claims; /* the serialized claims map, exactly as hashed */
    size_t claims_len;
    int hash_alg; /* CLOAK_RATLS_HASH_* of pubkey_hash */
    uint8_t pubkey_hash[CLOAK_RATLS_MAX_HASH_BYTES];
    size_t pubkey_hash_len;
    uint8_t *nonce; /* NULL when the certificate has no nonce claim */
    size_t nonce_len;
} cloak_ratls_evidence;

/* Parse the evidence extension of `cert` (exactly one must be present). */
cloak_err cloak_ratls_evidence_get(X509 *cert, cloak_ratls_evidence *out,
                                   cloak_error *why) CLOAK_MUST_CHECK;
/* Parse an extension value (the bytes inside the OCTET STRING). */
cloak_err cloak_ratls_evidence_parse(const uint8_t *p, size_t len, cloak_ratls_evidence *out,
                                     cloak_error *why) CLOAK_MUST_CHECK;
void cloak_ratls_evidence_clear(cloak_ratls_evidence *e);

/* What a peer must prove. */
typedef struct {
    const cloak_trust *trust;           /* required; CLOAK_TRUST_ALLOW_SIM for simulated peers */
    const cloak_collateral *collateral; /* NULL: TCB status "Unknown" */
    const cloak_policy *policy;         /* required; leave report_data unset: RA-TLS sets it */
    time_t at;                          /* verification time; 0 = the clock at each check */
    const uint8_t *nonce;               /* optional: the certificate must carry this nonce */
    size_t nonce_len;
} cloak_ratls_verifier;

/* Verify a certificate: the evidence extension parses; its pubkey-hash is the hash of this
 * certificate's SubjectPublicKeyInfo; the certificate is valid at the verification time; the
 * evidence verifies (cloak_evidence_verify); its report data is SHA-256(claims) || 0^32; the
 * nonce matches when the verifier names one; the claims pass v->policy. On success *claims is
 * the evidence's claims (json_decref it). Each refusal names the check that failed. */
cloak_err cloak_ratls_verify_cert(X509 *cert, const cloak_ratls_verifier *v, json_t **claims,
                                  cloak_error *why) CLOAK_MUST_CHECK;

/* Make every handshake on `ctx` require a peer certificate and check it with
 * cloak_ratls_verify_cert instead of a CA chain (SSL_CTX_set_cert_verify_callback; only the
 * peer's leaf certificate is looked at, other certificates it sends are ignored). Works for
 * clients (checking servers) and servers (checking clients, mutual attestation). `v` must
 * outlive ctx. Session resumption is turned off on ctx, because a resumed session would skip
 * the check. */
cloak_err cloak_ratls_ssl_ctx_set_verify(SSL_CTX *ctx, const cloak_ratls_verifier *v,
                                         cloak_error *why) CLOAK_MUST_CHECK;

/* After a handshake on an SSL whose context was set up above: the peer's verified claims (a
 * new reference). If the check refused the peer, returns its error code and reason (so a
 * failed handshake can say why); CLOAK_ENOTFOUND if no check ran on this connection. */
cloak_err cloak_ratls_ssl_claims(const SSL *ssl, json_t **claims,
                                 cloak_error *why) CLOAK_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
