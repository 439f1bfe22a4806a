/*
 * The vault enclave's message codec (layouts in vault_proto.h): the bounds-checked field
 * cursor, the reply writer, and the structural decoding of every request that has fields
 * (GENERATE, IMPORT, CRYPT, RELEASE, RANDOM). Pure C over bytes: no OpenSSL, no enclave
 * runtime, so the enclave and the fuzzer (fuzz/fuzz_vault_enclave.c) compile the same code.
 *
 * Trust: the input is hostile. A decoder either fails (-1) or fills pointers that lie inside
 * the input with lengths that fit it, having consumed every byte (nothing may follow the last
 * field). Semantic checks (key types, sizes, bind length, algorithm names) stay with the
 * handlers, except the algorithm-name copy, which is here.
 */
#ifndef CLOAK_VAULT_VE_MSG_H
#define CLOAK_VAULT_VE_MSG_H

#include <stddef.h>
#include <stdint.h>

/* ---- cursor ---- */
typedef struct {
    const uint8_t *p;
    size_t len, off;
    int failed;
} ve_in;
static inline void ve_in_init(ve_in *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->failed = 0;
}
int ve_take_u8(ve_in *r, uint8_t *v);
int ve_take_u32(ve_in *r, uint32_t *v);
int ve_take_bytes(ve_in *r, const uint8_t **p, size_t *len); /* u32 length + bytes */
/* 0 when every field was read and nothing is left over. */
int ve_in_end(const ve_in *r);

/* ---- writer ---- */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed; /* a write did not fit */
} ve_out;
void ve_put_u8(ve_out *w, uint8_t v);
void ve_put_u32(ve_out *w, uint32_t v);
void ve_put_bytes(ve_out *w, const uint8_t *p, size_t len); /* u32 length + bytes */
void ve_put_raw(ve_out *w, const uint8_t *p, size_t len);

/* ---- requests ---- */
/* The inputs of a key operation (CRYPT's value, digest, iv, aad, tag). */
typedef struct {
    const uint8_t *value, *digest, *iv, *aad, *tag;
    size_t value_len, digest_len, iv_len, aad_len, tag_len;
} ve_req;

typedef struct {
    uint8_t type;
    uint32_t bits;
    const uint8_t *crv, *bind;
    size_t crv_len, bind_len;
} ve_generate_msg;

#define VE_MSG_MAX_FIELDS 8u /* VE_IMPORT_RSA_FIELDS */
typedef struct {
    uint8_t type, count;
    const uint8_t *bind;
    size_t bind_len;
    const uint8_t *f[VE_MSG_MAX_FIELDS];
    size_t fl[VE_MSG_MAX_FIELDS];
} ve_import_msg;

typedef struct {
    uint8_t op;
    const uint8_t *alg, *blob, *bind;
    size_t alg_len, blob_len, bind_len;
    ve_req rq;
} ve_crypt_msg;

typedef struct {
    const uint8_t *blob, *bind, *kek_n, *kek_e, *enc;
    size_t blob_len, bind_len, kek_n_len, kek_e_len, enc_len;
} ve_release_msg;

/* Each: 0, or -1 for a malformed message (a field missing or too short, a count over
 * VE_MSG_MAX_FIELDS, bytes left over). */
int ve_parse_generate(const uint8_t *in, size_t len, ve_generate_msg *m);
int ve_parse_import(const uint8_t *in, size_t len, ve_import_msg *m);
int ve_parse_crypt(const uint8_t *in, size_t len, ve_crypt_msg *m);
int ve_parse_release(const uint8_t *in, size_t len, ve_release_msg *m);
int ve_parse_random(const uint8_t *in, size_t len, uint32_t *n);

/* CRYPT's algorithm name as a C string: 0 when it is 1..31 bytes without NUL, else -1. */
#define VE_ALG_NAME_MAX 32u
int ve_alg_name(const uint8_t *alg, size_t alg_len, char name[VE_ALG_NAME_MAX]);

#endif
