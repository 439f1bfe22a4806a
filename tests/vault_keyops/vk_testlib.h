/*
 * Helpers for the vault keyops tests: a temporary simulation platform and data directories,
 * and OpenSSL used directly as the peer (public keys from JWKs, signature checks, release
 * unwrapping). Nothing here uses the code under test except to call it.
 */
#ifndef VK_TESTLIB_H
#define VK_TESTLIB_H

#include "cloak/base.h"
#include "vault/keyops.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs these before its header */
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

extern char vk_root[]; /* temporary directory holding the platform and the data dirs */

int vk_setup(void **state);    /* makes vk_root and vk_ko (lanes 2) on data dir "d0" */
int vk_teardown(void **state); /* frees vk_ko, removes vk_root */
extern cloak_vault_keyops *vk_ko;

/* Path of vk_root/<name> (a static buffer of 4 rotating slots). */
const char *vk_path(const char *name);
const char *vk_platform(void);
/* Open keyops on vk_root/<data> with the test platform; asserts success. */
cloak_vault_keyops *vk_open(const char *data, unsigned lanes);
cloak_err vk_try_open(const char *data, unsigned lanes, cloak_vault_keyops **ko, cloak_error *why);

/* Hex -> malloc'd bytes; asserts. */
uint8_t *vk_unhex(const char *hex, size_t *len);

/* One keyops call; on error prints why.msg. */
cloak_err vk_crypt(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len, const char *bind,
                   const cloak_vk_request *req, cloak_vk_result *out, cloak_error *why);
/* Shorthand for a request with value only; asserts CLOAK_OK. */
void vk_crypt_ok(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len, const char *bind,
                 cloak_vk_op op, const char *alg, const uint8_t *value, size_t value_len,
                 cloak_vk_result *out);
/* The rc of a request with value only (the result is cleared). */
cloak_err vk_crypt_rc(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len,
                      const char *bind, cloak_vk_op op, const char *alg, const uint8_t *value,
                      size_t value_len);

/* Import a JWK / generate; assert success. */
void vk_import(cloak_vault_keyops *ko, const json_t *jwk, const char *bind, uint8_t **blob,
               size_t *blob_len, json_t **pub);
void vk_generate(cloak_vault_keyops *ko, cloak_vk_type type, unsigned bits, const char *curve,
                 const char *bind, uint8_t **blob, size_t *blob_len, json_t **pub);

/* OpenSSL as the peer. */
EVP_PKEY *vk_rsa_key(unsigned bits);    /* generate */
EVP_PKEY *vk_ec_key(const char *group); /* generate ("P-256", "secp256k1", ...) */
json_t *vk_private_jwk(EVP_PKEY *pk);   /* all private members */
json_t *vk_oct_jwk(const uint8_t *k, size_t len);
EVP_PKEY *vk_public_from_jwk(const json_t *jwk); /* RSA n/e or EC crv/x/y, built with OpenSSL */
uint8_t *vk_pkcs8(EVP_PKEY *pk, size_t *len);    /* PKCS#8 DER */
void vk_hash(const char *md, const void *p, size_t len, uint8_t *out, size_t *out_len);
/* RSA (pss 0/1) or ECDSA (R||S, field bytes) signature check with OpenSSL; 1 = valid. */
int vk_verify(EVP_PKEY *pub, const char *md, int pss, const uint8_t *digest, size_t dlen,
              const uint8_t *sig, size_t slen);
/* Sign a digest with OpenSSL: RSA PKCS#1/PSS, or ECDSA as R||S of `field` bytes. */
uint8_t *vk_sign(EVP_PKEY *pk, const char *md, int pss, size_t field, const uint8_t *digest,
                 size_t dlen, size_t *slen);
/* RSA encrypt/decrypt with OpenSSL: md NULL = PKCS#1 v1.5, else OAEP with md for both hashes. */
uint8_t *vk_rsa(EVP_PKEY *pk, int enc, const char *md, const uint8_t *in, size_t len,
                size_t *out_len);
/* Open a release: split at the KEK's size, OAEP-decrypt the AES key with md, unwrap (RFC
 * 5649). Returns the target (malloc'd). */
uint8_t *vk_release_open(EVP_PKEY *kek, const char *md, const uint8_t *out, size_t len,
                         size_t *target_len);
/* One-shot AES (cipher name like "AES-256-GCM"); gcm: iv/aad/tag used. Returns 1 on success. */
int vk_aes(const char *cipher, int enc, int pad, const uint8_t *key, const uint8_t *iv,
           size_t iv_len, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
           uint8_t *out, size_t *out_len, uint8_t *tag);

#endif
