/*
 * The SKR example's host side as a library (libskr_host, used by skr-host and by
 * tests/vault_skr): run the example enclave, get its evidence attested, have a vault release a
 * key to it, and let it decrypt a ciphertext the vault produced.
 *
 *   enclave --(runtime data {"keys":[KEK]}, quote)--> host --> attestation service --> token
 *   host --(release {"target": token, "nonce"})--> vault --> JWS with key_hsm (wrapped for KEK)
 *   host --(JWS, release CA, nonce, ciphertext)--> enclave --> plaintext
 *
 * Trust: the host is untrusted for key material: it never sees the KEK's private half or the
 * released key, only the plaintext the enclave chooses to return. It does choose which
 * certificate the enclave trusts for the release (see examples/skr/enclave_open.c: pinning
 * the vault's release certificate or CA is the caller's job). The vault bearer token is a
 * secret: it is passed in memory (skr-host reads it from a file), never logged.
 *
 * Names: cloak_skrx_* ("SKR example"), so as not to clash with libcloak's cloak_skr_*.
 */
#ifndef CLOAK_EXAMPLE_SKR_HOST_H
#define CLOAK_EXAMPLE_SKR_HOST_H

#include "cloak/base.h"
#include "cloak/image.h"

#include <stdint.h>
#include <stdio.h>

typedef struct cloak_skrx cloak_skrx;

/* The enclave image this build made (examples/skr/enclave.signed in the build tree), and the
 * same code signed as a debug enclave (enclave-debug.signed). */
const char *cloak_skrx_default_image(void);
const char *cloak_skrx_debug_image(void);

/* Start the enclave (simulation backend). image NULL = the build's; platform_dir NULL = the
 * default simulation platform. A debug-signed image is launched in debug mode (its quotes,
 * and so its tokens, then say x-ms-sgx-is-debuggable true). */
cloak_err cloak_skrx_new(const char *image, const char *platform_dir, cloak_skrx **out,
                         cloak_error *why) CLOAK_MUST_CHECK;
void cloak_skrx_free(cloak_skrx *s);
const cloak_image_identity *cloak_skrx_identity(const cloak_skrx *s);

/* The enclave's runtime data (*runtime: malloc'd, NUL-terminated JSON, the exact bytes it
 * hashed into the quote) and its quote (malloc'd). */
cloak_err cloak_skrx_evidence(cloak_skrx *s, char **runtime, uint8_t **quote, size_t *quote_len,
                              cloak_error *why) CLOAK_MUST_CHECK;
/* Evidence -> POST {attest_url}/attest/SgxEnclave (runtimeData dataType JSON) -> *token. */
cloak_err cloak_skrx_attest(cloak_skrx *s, const char *attest_url, const char *attest_ca,
                            char **token, cloak_error *why) CLOAK_MUST_CHECK;

/* A ciphertext from the vault's encrypt: alg A128/192/256GCM (iv, tag, aad as the vault used
 * them) or RSA-OAEP / RSA-OAEP-256. */
typedef struct {
    const char *alg;
    const uint8_t *ct, *iv, *tag, *aad;
    size_t ct_len, iv_len, tag_len, aad_len;
} cloak_skrx_ciphertext;

/* Hand the release JWS to the enclave: it checks the JWS (x5c chained to release_ca_pem, the
 * PEM text of the vault's release certificate or CA; nonce, when not NULL, must be the one
 * sent with the release), unwraps the key with its KEK and decrypts `c`. *pt (malloc'd;
 * free with cloak_free_secret) is the plaintext. An enclave refusal is CLOAK_EVERIFY (or the
 * enclave's own code) with the enclave's reason. */
cloak_err cloak_skrx_open(cloak_skrx *s, const char *jws, const char *release_ca_pem,
                          const char *nonce, const cloak_skrx_ciphertext *c, uint8_t **pt,
                          size_t *pt_len, cloak_error *why) CLOAK_MUST_CHECK;

/* The whole flow. */
typedef struct {
    const char *image, *platform_dir;   /* NULL = defaults, as cloak_skrx_new */
    const char *attest_url, *attest_ca; /* attestation service and its TLS CA (NULL = system) */
    const char *vault_url, *vault_ca;   /* the vault and its TLS CA (NULL = system roots) */
    const char *release_ca_file;        /* PEM: the vault's release certificate or its CA */
    const char *token;                  /* the vault bearer token (needs the release role) */
    const char *key, *version;          /* the key to release; version NULL = the latest */
    const char *enc; /* NULL = CKM_RSA_AES_KEY_WRAP, or RSA_AES_KEY_WRAP_256 / _384 */
    cloak_skrx_ciphertext ct;
    FILE *progress; /* one line per step, NULL = quiet */
} cloak_skrx_flow;
cloak_err cloak_skrx_run(const cloak_skrx_flow *f, uint8_t **pt, size_t *pt_len,
                         cloak_error *why) CLOAK_MUST_CHECK;

#endif
