/*
 * The SKR example enclave's internals, shared by enclave.c (start-up, KEK, evidence),
 * enclave_open.c (opening a release) and enclave_crypto.c (OpenSSL and base64 helpers).
 *
 * Trust: everything that arrives from the host is hostile; these helpers check every length.
 * OpenSSL runs inside the runner's sandbox (open() kills the process), so every algorithm is
 * fetched and every code path runs once in cloak_enclave_init before the sandbox closes.
 */
#ifndef CLOAK_EXAMPLE_SKR_ENCLAVE_INT_H
#define CLOAK_EXAMPLE_SKR_ENCLAVE_INT_H

#include "cloak/base.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* The kid of the enclave's key-encryption key in its runtime data. */
#define SKRX_KEK_KID "skr-kek"
/* The KEK: RSA-2048, made in cloak_enclave_init; read-only afterwards. */
EVP_PKEY *skrx_kek(void);

/* base64url without padding (url = 1) or standard base64 with padding (url = 0). Decoding is
 * strict: any character outside the alphabet, or a length no encoder produces, is refused.
 * Results are malloc'd (a decoded buffer is NUL-terminated one past *out_len). */
char *skrx_b64_encode(const uint8_t *p, size_t n, int url);
int skrx_b64_decode(const char *s, size_t len, int url, uint8_t **out, size_t *out_len);

/* SHA1, SHA256, SHA384 (fetched once); NULL for any other name. */
EVP_MD *skrx_md(const char *name);
/* The OAEP hash of a release `enc` (docs/VAULT.md): CKM_RSA_AES_KEY_WRAP SHA-1,
 * RSA_AES_KEY_WRAP_256 SHA-256, RSA_AES_KEY_WRAP_384 SHA-384; NULL when unknown. */
EVP_MD *skrx_enc_md(const char *enc);

/* RSA-OAEP with `md` for both the label hash and MGF1. enc 1: encrypt with the public half;
 * 0: decrypt with the private half. *out_len is in: capacity, out: length. 0 = ok. */
int skrx_oaep(int enc, EVP_PKEY *pk, EVP_MD *md, const uint8_t *in, size_t in_len, uint8_t *out,
              size_t *out_len);
/* AES-256 key wrap with padding (RFC 5649). out needs in_len + 8 bytes (wrap) or in_len
 * (unwrap). 0 = ok. */
int skrx_kwp(int wrap, const uint8_t key[32], const uint8_t *in, size_t in_len, uint8_t *out,
             size_t *out_len);
/* AES-GCM with a 16-byte tag; key 16, 24 or 32 bytes. out has in_len bytes. 0 = ok; a tag
 * that does not verify returns 1 (and out is wiped). */
int skrx_gcm(int enc, const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
             const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
             uint8_t tag[16]);
/* A PKCS#8 PrivateKeyInfo (DER) of an RSA key, decoded with OSSL_DECODER; NULL on failure. */
EVP_PKEY *skrx_pkcs8_rsa(const uint8_t *der, size_t len);

/* Open a release and decrypt with the released key (ecall_skr_open without the stub). */
typedef struct {
    const char *jws, *release_ca, *nonce, *alg;
    const uint8_t *ct, *iv, *tag, *aad;
    size_t ct_len, iv_len, tag_len, aad_len;
} skrx_open_in;
cloak_err skrx_open_release(const skrx_open_in *in, uint8_t *pt, size_t pt_cap, size_t *pt_len,
                            char *msg, size_t msg_cap);

#endif
