/*
 * cloak enclave API: what code inside an enclave calls. An enclave image is a shared object
 * that defines
 *
 *     cloak_err cloak_enclave_init(void);
 *
 * which registers its handlers with cloak_trusted_register(). The runtime (the enclave
 * process) resolves the functions below for it; an enclave links against nothing else of
 * cloak's.
 *
 * Trust: everything the host sends is hostile. The runtime copies each request out of shared
 * memory before a handler sees it, so a handler's `in` is stable; handlers must still check
 * lengths (generated stubs do). Thread-safety: handlers may run on several threads at once
 * when several clients are attached; the functions here are thread-safe.
 */
#ifndef CLOAK_TRUSTED_H
#define CLOAK_TRUSTED_H

#include "cloak/base.h"
#include "cloak/image.h"
#include "cloak/platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An ecall handler: read in[0..in_len), write at most out_cap bytes to out, set *out_len.
 * Returned errors reach the host's cloak_enclave_call with the message set by
 * cloak_trusted_fail (or a generic one). */
typedef cloak_err (*cloak_ecall_fn)(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                    size_t *out_len);

/* The image's entry point, called once after loading, before the sandbox is closed. */
cloak_err cloak_enclave_init(void);

cloak_err cloak_trusted_register(uint32_t fid, cloak_ecall_fn fn);

/* Set the message returned with the current call's error; returns `code`. */
cloak_err cloak_trusted_fail(cloak_err code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Call host function `oid`. The reply is copied in; a reply longer than out_cap is refused. */
cloak_err cloak_trusted_ocall(uint32_t oid, const uint8_t *in, size_t in_len, uint8_t *out,
                              size_t out_cap, size_t *out_len) CLOAK_MUST_CHECK;

/* Built-in ocalls. Log lines go to the host's stderr; never log secrets. */
enum { CLOAK_LOG_ERROR = 0, CLOAK_LOG_WARN = 1, CLOAK_LOG_INFO = 2, CLOAK_LOG_DEBUG = 3 };
void cloak_trusted_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Untrusted storage on the host: names are [A-Za-z0-9._-]{1,128}. Store only sealed data. */
cloak_err cloak_trusted_storage_put(const char *name, const uint8_t *p,
                                    size_t len) CLOAK_MUST_CHECK;
/* *out is malloc'd; CLOAK_ENOTFOUND if absent. */
cloak_err cloak_trusted_storage_get(const char *name, uint8_t **out, size_t *len) CLOAK_MUST_CHECK;

/* Randomness (getrandom). */
cloak_err cloak_trusted_random(uint8_t *buf, size_t len) CLOAK_MUST_CHECK;

/* The identity this enclave runs with (measured by the runtime, not told by the host). */
void cloak_trusted_identity(cloak_image_identity *id);

/* Sealing. MRENCLAVE: only an enclave with the same measurement (and debug flag) opens the
 * blob. MRSIGNER: any enclave of the same signer and product id (and debug flag) whose svn is
 * at least the svn the blob was sealed at (rollback protection) opens it. `aad` is
 * authenticated, not encrypted, and returned by unseal. Blobs are AES-256-GCM under
 * HKDF-SHA256(platform secret, identity) with the identity and svn in the associated data. */
typedef enum { CLOAK_SEAL_MRENCLAVE = 1, CLOAK_SEAL_MRSIGNER = 2 } cloak_seal_policy;
cloak_err cloak_trusted_seal(cloak_seal_policy policy, const uint8_t *aad, size_t aad_len,
                             const uint8_t *pt, size_t pt_len, uint8_t **blob,
                             size_t *blob_len) CLOAK_MUST_CHECK;
/* *pt is malloc'd (free with cloak_free_secret); *aad (optional) is malloc'd. */
cloak_err cloak_trusted_unseal(const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *pt_len,
                               uint8_t **aad, size_t *aad_len) CLOAK_MUST_CHECK;

/* Evidence: an SGX DCAP quote v3 whose REPORTDATA is `report_data` (64 bytes). */
cloak_err cloak_trusted_get_evidence(const uint8_t report_data[CLOAK_REPORT_DATA_BYTES],
                                     uint8_t **quote, size_t *quote_len) CLOAK_MUST_CHECK;

/* Let the host choose report data through cloak_enclave_get_quote (off by default). */
void cloak_trusted_allow_host_report_data(void);

#ifdef __cplusplus
}
#endif
#endif
