/*
 * vault keyops: the host side of the vault enclave, where every key of the vault is generated,
 * unwrapped and used. The host process never holds a plaintext key byte (imported keys are the
 * one exception: they arrive in a request body, are handed to the enclave at once and the copy
 * is wiped).
 *
 * Model:
 *  - The vault master key (VMK, 32 random bytes) is created inside the enclave on first start
 *    and sealed to the enclave's signer (CLOAK_SEAL_MRSIGNER: a newer build of the same signer
 *    and product opens it, an older svn does not). The host stores only the sealed blob,
 *    DATA_DIR/master.sealed, and hands it back on the next start.
 *  - A key blob is the key material (PKCS#8 DER for RSA and EC, raw bytes for oct) encrypted
 *    inside the enclave with AES-256-GCM under a key derived from the VMK; `bind` (the key's
 *    "name/version") is authenticated, so a blob moved to another key's row does not open.
 *  - Every operation takes a blob and a request, and returns only the result.
 *
 * Thread-safety: a cloak_vault_keyops may be used by several threads at once; it keeps `lanes`
 * attached enclave clients (cloak_enclave_attach), and a call takes a free lane (waiting when
 * all are busy).
 */
#ifndef CLOAK_VAULT_KEYOPS_H
#define CLOAK_VAULT_KEYOPS_H

#include "cloak/base.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cloak_vault_keyops cloak_vault_keyops;

typedef struct {
    const char *enclave_path; /* the signed vault enclave image; NULL = the build's default */
    const char *data_dir;     /* master.sealed lives here (created 0600 on first start) */
    const char *platform_dir; /* simulation platform; NULL = default */
    unsigned lanes;           /* parallel enclave clients; 0 = 2 */
    int debug;                /* 1: allow a debug-signed enclave image */
} cloak_vault_keyops_config;

cloak_err cloak_vault_keyops_open(const cloak_vault_keyops_config *cfg, cloak_vault_keyops **out,
                                  cloak_error *why) CLOAK_MUST_CHECK;
void cloak_vault_keyops_free(cloak_vault_keyops *ko);

typedef enum {
    CLOAK_VK_RSA = 1, /* bits 2048, 3072, 4096; public exponent 65537 */
    CLOAK_VK_EC = 2,  /* curve "P-256", "P-384", "P-521", "P-256K" (secp256k1) */
    CLOAK_VK_OCT = 3, /* bits 128, 192, 256 (AES) */
} cloak_vk_type;

typedef struct {
    cloak_vk_type type;
    unsigned bits;     /* RSA, oct */
    const char *curve; /* EC: JWK crv name */
} cloak_vk_spec;

/* A new key, generated inside the enclave. *blob is malloc'd (ciphertext: safe to store).
 * *public_jwk (RSA, EC; NULL for oct) holds only public members: kty "RSA"/"EC", n/e or
 * crv/x/y (base64url), no kid, no key_ops. */
cloak_err cloak_vault_keyops_generate(cloak_vault_keyops *ko, const cloak_vk_spec *spec,
                                      const char *bind, uint8_t **blob, size_t *blob_len,
                                      json_t **public_jwk, cloak_error *why) CLOAK_MUST_CHECK;

/* Import a private JWK (RSA with d/p/q/dp/dq/qi, EC with d, oct with k; "-HSM" kty suffixes
 * accepted). The same size/curve rules as generate apply. Outputs as for generate; *type_out
 * and *bits_out (RSA modulus bits, oct key bits, EC field bits) describe what was imported. */
cloak_err cloak_vault_keyops_import(cloak_vault_keyops *ko, const json_t *private_jwk,
                                    const char *bind, uint8_t **blob, size_t *blob_len,
                                    json_t **public_jwk, cloak_vk_type *type_out,
                                    unsigned *bits_out, cloak_error *why) CLOAK_MUST_CHECK;

typedef enum {
    CLOAK_VK_ENCRYPT = 1,
    CLOAK_VK_DECRYPT,
    CLOAK_VK_WRAP,
    CLOAK_VK_UNWRAP,
    CLOAK_VK_SIGN,
    CLOAK_VK_VERIFY,
} cloak_vk_op;

/* A key operation. `alg` is the Key Vault algorithm name:
 *   RSA: RSA-OAEP, RSA-OAEP-256, RSA1_5 (encrypt/decrypt/wrap/unwrap); RS256/384/512,
 *        PS256/384/512 (sign/verify: `value` is the digest)
 *   EC:  ES256 (P-256), ES256K (P-256K), ES384 (P-384), ES512 (P-521); the signature is the
 *        JOSE R||S form
 *   oct: A128GCM/A192GCM/A256GCM (encrypt/decrypt; the enclave picks a 12-byte iv on encrypt;
 *        aad optional; decrypt needs iv and tag), A128KW/A192KW/A256KW and CKM_AES_KEY_WRAP
 *        (RFC 3394; wrap/unwrap, also encrypt/decrypt), CKM_AES_KEY_WRAP_PAD (RFC 5649),
 *        A128CBC/A192CBC/A256CBC (no padding, iv given) and A128CBCPAD/... (PKCS#7, iv given)
 * The key size must match the alg (A256* needs a 256-bit key). */
typedef struct {
    cloak_vk_op op;
    const char *alg;
    const uint8_t *value; /* plaintext, ciphertext, digest, or the signature for verify */
    size_t value_len;
    const uint8_t *digest; /* verify only: the digest that was signed */
    size_t digest_len;
    const uint8_t *iv, *aad, *tag;
    size_t iv_len, aad_len, tag_len;
} cloak_vk_request;

typedef struct {
    uint8_t *value; /* malloc'd; NULL for verify */
    size_t value_len;
    uint8_t *iv, *tag; /* GCM encrypt: the iv used and the 16-byte tag (malloc'd) */
    size_t iv_len, tag_len;
    int verified; /* verify: 1 when the signature is valid, 0 when not (not an error) */
} cloak_vk_result;
void cloak_vk_result_clear(cloak_vk_result *r);

/* Errors: an alg that does not fit the key or the op, a bad length (wrong digest size, GCM
 * without iv/tag) -> CLOAK_EINVAL; authentication failure on decrypt/unwrap (GCM tag, KW
 * integrity check, OAEP padding) -> CLOAK_EVERIFY; a blob that does not open under this vault's
 * master key and `bind` -> CLOAK_EVERIFY. Each with a message naming what was wrong. */
cloak_err cloak_vault_keyops_crypt(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len,
                                   const char *bind, const cloak_vk_request *req,
                                   cloak_vk_result *out, cloak_error *why) CLOAK_MUST_CHECK;

/* Secure Key Release: wrap the key in `blob` for `kek` (an RSA public key, 2048 bits or more)
 * with `enc`:
 *   "CKM_RSA_AES_KEY_WRAP" (OAEP with SHA-1), "RSA_AES_KEY_WRAP_256" (OAEP SHA-256),
 *   "RSA_AES_KEY_WRAP_384" (OAEP SHA-384):
 *   out = RSA-OAEP(kek, fresh AES-256 key) || AES-KWP (RFC 5649)(that AES key, target)
 * with target = PKCS#8 DER for RSA/EC, the raw bytes for oct. */
cloak_err cloak_vault_keyops_release(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len,
                                     const char *bind, EVP_PKEY *kek, const char *enc,
                                     uint8_t **out, size_t *out_len,
                                     cloak_error *why) CLOAK_MUST_CHECK;

/* Backups: seal an opaque bundle (the host's metadata plus key blobs) with AES-256-GCM under a
 * key derived from the VMK, so only a vault holding the same master key opens it; open checks
 * it and returns the bundle. The bundle is not secret (blobs are already ciphertext), it must
 * only be authentic. */
cloak_err cloak_vault_keyops_backup_seal(cloak_vault_keyops *ko, const uint8_t *bundle, size_t len,
                                         uint8_t **out, size_t *out_len,
                                         cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_keyops_backup_open(cloak_vault_keyops *ko, const uint8_t *sealed, size_t len,
                                         uint8_t **bundle, size_t *bundle_len,
                                         cloak_error *why) CLOAK_MUST_CHECK;

/* Random bytes from inside the enclave (GET /rng); at most 4096. */
cloak_err cloak_vault_keyops_random(cloak_vault_keyops *ko, uint8_t *buf, size_t len,
                                    cloak_error *why) CLOAK_MUST_CHECK;

#endif
