/*
 * cloak signed enclave images: an enclave shared object plus a signed manifest, the analogue
 * of an SGX enclave and its SIGSTRUCT.
 *
 * File layout (format version 1, all integers little-endian), documented in docs/IMAGE-FORMAT.md:
 *   magic "CLOAKIMG" (8) | u32 format_version = 1 | u32 manifest_len (= 512)
 *   manifest (512 bytes):
 *     0   32  mrenclave  SHA-256 over the measured content, see below
 *     32  32  mrsigner   SHA-256 over the signer's RSA modulus, 384 bytes little-endian (as SGX)
 *     64  2   product_id
 *     66  2   svn
 *     68  4   flags (bit 0 = debug; other bits must be zero)
 *     72  8   heap bytes (1 .. CLOAK_IMAGE_MAX_HEAP = 1 TiB)
 *     80  8   code_len (length of the shared object)
 *     88  4   signer public exponent (3 or 65537)
 *     92  36  reserved, zero
 *     128 384 signer modulus, big-endian, exactly 3072 bits (top bit set)
 *   code (code_len bytes: the ELF shared object)
 *   signature (384 bytes): RSASSA-PKCS1-v1_5 with SHA-256 over bytes [0, 16 + 512) (header and
 *   manifest), by the RSA-3072 key whose modulus the manifest carries; stored big-endian as
 *   PKCS#1 defines it (what `openssl dgst -sign` writes). Nothing follows the signature.
 * The code is covered by the signature only through mrenclave: open recomputes it.
 *
 * Measurement (MRENCLAVE analogue), version 1:
 *   SHA-256( "cloak-mrenclave-v1" (18 bytes, no NUL) | u64 heap | u64 code_len | code bytes )
 * The product id, svn and debug flag are signed but not measured, as in SGX (they are in
 * SIGSTRUCT and the report's ATTRIBUTES/ISVPRODID/ISVSVN, not in MRENCLAVE).
 *
 * Thread-safety: a cloak_image is immutable after cloak_image_open; share it read-only.
 */
#ifndef CLOAK_IMAGE_H
#define CLOAK_IMAGE_H

#include "cloak/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_MEASUREMENT_BYTES 32
#define CLOAK_SIGNER_BYTES 32
#define CLOAK_IMAGE_MAGIC "CLOAKIMG"
#define CLOAK_IMAGE_FORMAT_VERSION 1u
#define CLOAK_IMAGE_HEADER_BYTES 16
#define CLOAK_IMAGE_MANIFEST_BYTES 512
#define CLOAK_IMAGE_SIG_BYTES 384
#define CLOAK_IMAGE_RSA_BITS 3072
#define CLOAK_IMAGE_FLAG_DEBUG 1u
#define CLOAK_IMAGE_DEFAULT_HEAP (64u << 20)
/* Largest heap an image may declare (1 TiB); open refuses 0 or more than this. */
#define CLOAK_IMAGE_MAX_HEAP (1ull << 40)

typedef struct {
    uint8_t mrenclave[CLOAK_MEASUREMENT_BYTES];
    uint8_t mrsigner[CLOAK_SIGNER_BYTES];
    uint16_t product_id;
    uint16_t svn;
    int debug;
    uint64_t heap;
} cloak_image_identity;

typedef struct {
    uint16_t product_id;
    uint16_t svn;
    int debug;
    uint64_t heap; /* 0 = CLOAK_IMAGE_DEFAULT_HEAP */
} cloak_image_config;

typedef struct cloak_image cloak_image;

/* Write a new RSA-3072 signing key (public exponent 3, as SGX requires) to `path` as PKCS#8
 * PEM, mode 0600. Refuses to overwrite an existing file. */
cloak_err cloak_image_keygen(const char *path, cloak_error *why) CLOAK_MUST_CHECK;

/* Sign `code` (an ELF shared object) with the RSA-3072 key in PEM file `key_path`. */
cloak_err cloak_image_sign(const uint8_t *code, size_t code_len, const char *key_path,
                           const cloak_image_config *cfg, uint8_t **out, size_t *out_len,
                           cloak_error *why) CLOAK_MUST_CHECK;

/* Parse a signed image, verify its signature and recompute its measurement. Fails with
 * CLOAK_EVERIFY for a tampered or wrongly signed image and CLOAK_EINVAL for a malformed one.
 * The image keeps its own copy of the bytes. */
cloak_err cloak_image_open(const uint8_t *p, size_t len, cloak_image **out,
                           cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_image_open_file(const char *path, cloak_image **out,
                                cloak_error *why) CLOAK_MUST_CHECK;
const cloak_image_identity *cloak_image_id(const cloak_image *img);
void cloak_image_code(const cloak_image *img, const uint8_t **code, size_t *len);
void cloak_image_free(cloak_image *img);

/* Compute the measurement of `code` with `heap`, as defined above. */
void cloak_image_measure(const uint8_t *code, size_t code_len, uint64_t heap,
                         uint8_t out[CLOAK_MEASUREMENT_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
