/*
 * Private to the vault enclave (src/vault/enclave): message cursor and writer, the master key
 * state, key blobs and the parsed-key cache, and the handlers.
 *
 * Trust: everything in a request is hostile; every reader call is bounds-checked and a reply
 * never grows past the runtime's out_cap. Thread-safety: handlers run on several threads at
 * once (one per attached client); the master key is set once under a lock and read-only after,
 * the key cache has its own lock.
 */
#ifndef CLOAK_VAULT_VE_INT_H
#define CLOAK_VAULT_VE_INT_H

#include "cloak/trusted.h"
#include "ve_msg.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* ---- messages (see vault_proto.h for the layouts; codec in ve_msg.h) ---- */
/* Finish a reply: *out_len, or CLOAK_ERANGE when it did not fit. */
cloak_err ve_out_done(const ve_out *w, size_t *out_len);

/* ---- master key ---- */
/* The AES-256-GCM keys derived from the vault master key; NULL until MASTER_CREATE/OPEN. */
const uint8_t *ve_blob_key(void);
const uint8_t *ve_backup_key(void);

/* ---- ciphers fetched at start-up (read-only afterwards) ---- */
typedef enum { VE_GCM = 0, VE_CBC = 1, VE_WRAP = 2, VE_WRAP_PAD = 3 } ve_mode;
/* The AES cipher of `mode` for a key of key_len bytes (16, 24, 32); NULL for another size. */
EVP_CIPHER *ve_cipher(ve_mode mode, size_t key_len);
/* One-shot AES-GCM with a 16-byte tag. Decrypt: CLOAK_EVERIFY when the tag does not match. */
cloak_err ve_gcm(int enc, const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
                 uint8_t tag[16]);
/* One-shot AES key wrap (RFC 3394, pad = 0) or with padding (RFC 5649, pad = 1). *out_len is
 * set; out needs in_len + 16 bytes. Unwrap: CLOAK_EVERIFY when the integrity check fails. */
cloak_err ve_kw(int wrap, int pad, const uint8_t *key, size_t key_len, const uint8_t *in,
                size_t in_len, uint8_t *out, size_t *out_len);
/* An OpenSSL digest by name ("SHA1", "SHA256", ...), fetched at start-up. */
EVP_MD *ve_md(const char *name);

/* ---- keys ---- */
typedef enum { VE_CRV_P256 = 1, VE_CRV_P384, VE_CRV_P521, VE_CRV_K256 } ve_curve_id;
typedef struct {
    ve_curve_id id;
    const char *jwk;   /* "P-256", ..., "P-256K" */
    const char *group; /* OpenSSL group name for key generation */
    const char *alias; /* the name OpenSSL reports for the group */
    size_t field;      /* bytes of a coordinate / scalar */
    unsigned bits;
} ve_curve;
const ve_curve *ve_curve_by_jwk(const uint8_t *name, size_t len); /* also "secp256k1" */
const ve_curve *ve_curve_by_id(int id);

/* A key opened from a blob: pkey for RSA and EC (a reference of its own), raw for oct. */
typedef struct {
    int type; /* VE_KEY_* */
    EVP_PKEY *pkey;
    uint8_t raw[32];
    size_t raw_len;
    unsigned bits; /* RSA modulus bits, EC field bits, oct key bits */
    int curve;     /* ve_curve_id for EC */
} ve_key;
void ve_key_clear(ve_key *k); /* frees pkey, wipes raw */

/* Open a blob for `bind` (through the cache). Any failure is CLOAK_EVERIFY. */
cloak_err ve_blob_open(const uint8_t *blob, size_t blob_len, const uint8_t *bind, size_t bind_len,
                       ve_key *out);
/* Open a blob without parsing it: *pt (PKCS#8 DER or the raw oct key) is malloc'd; free it
 * with cloak_free_secret. */
cloak_err ve_blob_plaintext(const uint8_t *blob, size_t blob_len, const uint8_t *bind,
                            size_t bind_len, int *type, uint8_t **pt, size_t *pt_len);

/* A key operation on an opened key: the core of CRYPT. `alg` is NUL-terminated. Writes
 * u8 verified, bytes value, bytes iv, bytes tag to `reply`. (ve_req: ve_msg.h) */
cloak_err ve_crypt_key(const ve_key *k, int op, const char *alg, const ve_req *rq, ve_out *reply);

/* ---- handlers (cloak_ecall_fn) ---- */
cloak_err ve_h_generate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                        size_t *out_len);
cloak_err ve_h_import(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len);
cloak_err ve_h_crypt(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                     size_t *out_len);
cloak_err ve_h_release(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len);

/* Warm-up of every OpenSSL path the handlers use (the sandbox forbids loading later). */
cloak_err ve_warm_up_keys(void);

#endif
