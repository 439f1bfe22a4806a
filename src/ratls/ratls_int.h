/*
 * Private to src/ratls: the small CBOR subset the Interoperable RA-TLS format uses (RFC 8949:
 * unsigned integers, byte and text strings, definite-length arrays and maps, tags), and the
 * claims builder shared by certificate creation and the tests.
 */
#ifndef CLOAK_RATLS_INT_H
#define CLOAK_RATLS_INT_H

#include "cloak/ratls.h"

/* CBOR major types (RFC 8949 §3.1). */
enum {
    CBOR_UINT = 0,
    CBOR_BSTR = 2,
    CBOR_TSTR = 3,
    CBOR_ARRAY = 4,
    CBOR_MAP = 5,
    CBOR_TAG = 6,
};

/* Writer: shortest-form heads (RFC 8949 §4.2.1 preferred serialization). */
void cbor_put_head(cloak_buf *b, int major, uint64_t value);
void cbor_put_bytes(cloak_buf *b, int major, const void *p, size_t len); /* BSTR or TSTR */

/* Reader over untrusted bytes: every take checks the length left before reading. Indefinite
 * lengths (additional info 31) and the reserved values 28..30 are refused. */
typedef struct {
    const uint8_t *p;
    size_t len, off;
} cbor_reader;
/* Read one head: its major type and argument. -1 on malformed or truncated input. */
int cbor_take_head(cbor_reader *r, int *major, uint64_t *value);
/* Read a head that must be of `major`; -1 otherwise. */
int cbor_take_expect(cbor_reader *r, int major, uint64_t *value);
/* A byte or text string of `major`: points into the input. */
int cbor_take_string(cbor_reader *r, int major, const uint8_t **p, size_t *len);
/* Skip one complete item (nesting bounded). */
int cbor_skip(cbor_reader *r);

/* The claims map: {"pubkey-hash": bstr(cbor [alg, bstr(hash of spki)]), "nonce": bstr}, the
 * nonce only when nonce_len > 0. Map keys in the order Gramine writes them. */
cloak_err ratls_build_claims(int hash_alg, const uint8_t *spki, size_t spki_len,
                             const uint8_t *nonce, size_t nonce_len, cloak_buf *out,
                             cloak_error *why);
/* The extension value: tag(60000, [bstr(evidence), bstr(claims)]). */
cloak_err ratls_build_extension(const uint8_t *evidence, size_t evidence_len, const uint8_t *claims,
                                size_t claims_len, cloak_buf *out, cloak_error *why);
/* report data = SHA-256(claims) || 32 zero bytes. */
cloak_err ratls_report_data(const uint8_t *claims, size_t claims_len,
                            uint8_t out[CLOAK_REPORT_DATA_BYTES], cloak_error *why);
/* Digest of `p` with a CLOAK_RATLS_HASH_* algorithm; -1 for an unknown id. */
int ratls_hash(int hash_alg, const uint8_t *p, size_t len, uint8_t out[CLOAK_RATLS_MAX_HASH_BYTES],
               size_t *out_len);
/* DER SubjectPublicKeyInfo of a key (malloc'd). */
cloak_err ratls_spki_der(EVP_PKEY *key, uint8_t **der, size_t *len, cloak_error *why);

#endif
