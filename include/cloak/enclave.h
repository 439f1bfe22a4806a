/*
 * cloak enclave host API: create an enclave from a signed image, call into it with byte
 * messages, answer its ocalls, get its evidence, free it.
 *
 * Nothing but bytes with explicit lengths crosses the boundary: no pointer is shared. The
 * backend is chosen at run time (a table of functions); today only the simulation backend
 * exists: each enclave is a separate, sandboxed process (seccomp allow-list, not dumpable,
 * no core dumps, memory locked where RLIMIT_MEMLOCK allows) that talks to its host over a
 * shared-memory ring (memfd) with spin-then-futex wake-ups.
 *
 * Trust: the host is untrusted by the enclave; the enclave checks every length it receives.
 * The simulation protects the enclave's memory from other unprivileged processes only; it
 * protects nothing against root (CAP_SYS_PTRACE) or against the owner of the platform dir.
 *
 * Thread-safety: one cloak_enclave handle serves one call at a time (calls on the same handle
 * are serialised by an internal lock). For parallel calls, attach more clients
 * (cloak_enclave_attach) -- each gets its own ring and its own enclave thread.
 */
#ifndef CLOAK_ENCLAVE_H
#define CLOAK_ENCLAVE_H

#include "cloak/base.h"
#include "cloak/image.h"
#include "cloak/platform.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_ENCLAVE_FLAG_DEBUG 0x1u      /* allow a debug-signed image (required for one) */
#define CLOAK_ENCLAVE_FLAG_SIMULATION 0x2u /* use the simulation backend (the only one today) */

#define CLOAK_CALL_TIMEOUT_DEFAULT_MS 10000u
#define CLOAK_CHANNEL_DEFAULT_BYTES (4u << 20)

/* Function ids at or above this are reserved for the runtime. */
#define CLOAK_FID_RESERVED 0xFFFF0000u

typedef struct cloak_enclave cloak_enclave;

/* A host function the enclave may call (an ocall). Same contract as an ecall handler:
 * write at most out_cap bytes to out and set *out_len. Return CLOAK_OK or an error. */
typedef cloak_err (*cloak_ocall_fn)(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                                    size_t out_cap, size_t *out_len);

typedef struct {
    uint32_t flags;                   /* CLOAK_ENCLAVE_FLAG_* */
    const uint8_t *config_id;         /* NULL or CLOAK_CONFIGID_BYTES: CONFIGID in the report */
    uint16_t config_svn;              /* CONFIGSVN in the report */
    const char *platform_dir;         /* NULL = default (see cloak/platform.h) */
    const uint8_t *expected_mrsigner; /* NULL or 32 bytes: refuse another signer */
    unsigned call_timeout_ms;         /* 0 = CLOAK_CALL_TIMEOUT_DEFAULT_MS */
    size_t channel_bytes;             /* per-direction ring size; 0 = default (4 MiB) */
    const char *storage_dir;          /* untrusted storage ocalls; NULL = in-memory only */
    const char *attach_path;          /* NULL, or a Unix socket path other processes attach to */
    int quiet;                        /* 1 = drop enclave log ocalls instead of printing them */
} cloak_enclave_opts;

/* Verify the image (signature, measurement, optional expected signer), start the enclave
 * and run its initialiser. */
cloak_err cloak_enclave_create(const char *image_path, const cloak_enclave_opts *opts,
                               cloak_enclave **out, cloak_error *why) CLOAK_MUST_CHECK;

/* Attach to an enclave served by another process at `attach_path`: a new ring of our own. */
cloak_err cloak_enclave_attach(const char *attach_path, unsigned call_timeout_ms,
                               cloak_enclave **out, cloak_error *why) CLOAK_MUST_CHECK;

/* Call enclave function `fid` with `in`; the enclave writes at most out_cap bytes to out.
 * Returns the enclave function's own error code if it failed (with its message), or
 * CLOAK_ECRASHED / CLOAK_ETIMEOUT when the enclave died or did not answer in time (the
 * enclave is then unusable; free it). */
cloak_err cloak_enclave_call(cloak_enclave *e, uint32_t fid, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t out_cap, size_t *out_len,
                             cloak_error *why) CLOAK_MUST_CHECK;

/* Many small calls in one crossing. Each entry's rc and out_len are filled. Returns an error
 * only for the crossing itself (crash, timeout, batch larger than the channel). */
typedef struct {
    uint32_t fid;
    const uint8_t *in;
    size_t in_len;
    uint8_t *out;
    size_t out_cap;
    size_t out_len; /* out */
    cloak_err rc;   /* out */
} cloak_call;
cloak_err cloak_enclave_call_batch(cloak_enclave *e, cloak_call *calls, size_t n,
                                   cloak_error *why) CLOAK_MUST_CHECK;

/* Register a host function for ocall id `oid` (below CLOAK_FID_RESERVED). */
cloak_err cloak_enclave_set_ocall(cloak_enclave *e, uint32_t oid, cloak_ocall_fn fn, void *ctx,
                                  cloak_error *why) CLOAK_MUST_CHECK;

/* The identity the enclave runs with, as the runtime measured it. */
cloak_err cloak_enclave_identity(const cloak_enclave *e, cloak_image_identity *id);

/* Ask the enclave runtime for a quote with `report_data` (up to 64 bytes, zero-padded).
 * Only enclaves that called cloak_trusted_allow_host_report_data() accept non-zero report
 * data from their host (otherwise a host could bind its own key to the enclave's identity). */
cloak_err cloak_enclave_get_quote(cloak_enclave *e, const uint8_t *report_data, size_t rd_len,
                                  uint8_t **quote, size_t *quote_len,
                                  cloak_error *why) CLOAK_MUST_CHECK;

/* The enclave process id (simulation backend), for tests and diagnostics; -1 if attached. */
int cloak_enclave_pid(const cloak_enclave *e);

/* Stop the enclave (if we created it) and free the handle. */
void cloak_enclave_free(cloak_enclave *e);

#ifdef __cplusplus
}
#endif
#endif
