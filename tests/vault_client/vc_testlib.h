/* Helpers shared by the vault client tests: OpenSSL used directly as the peer that checks what
 * the vault produced (signatures, releases), and release-policy fixtures. */
#ifndef CLOAK_TEST_VC_TESTLIB_H
#define CLOAK_TEST_VC_TESTLIB_H

#include "vault_testlib.h"

/* 1 when OpenSSL verifies `sig` (JWS form: RSA raw, ECDSA r||s) over the digest with `alg`. */
int ossl_verify(EVP_PKEY *pub, const char *alg, const uint8_t *dg, size_t dl, const uint8_t *sig,
                size_t sl);
/* SHA-256/384/512 of msg with OpenSSL's one-shot functions. */
void ossl_digest(const char *md, const uint8_t *msg, size_t len, uint8_t *out, size_t *out_len);
/* RSA-OAEP (md "SHA1"/"SHA256") encryption with OpenSSL. */
uint8_t *ossl_oaep_encrypt(EVP_PKEY *pub, const char *md, const uint8_t *in, size_t len,
                           size_t *out_len);
/* A release policy requiring SGX, not debuggable, svn >= min_svn, from the fixture's
 * attestation service (malloc'd JSON text). */
char *release_policy(int min_svn);
/* A new RSA-2048 KEK and x-ms-runtime JSON {"keys":[{kid "kek-1", key_ops [encrypt], ...}]}. */
EVP_PKEY *make_kek(char **runtime_json);
/* The vault's release certificate's public key (DATA_DIR/release.pem). */
EVP_PKEY *release_pub(void);

#endif
