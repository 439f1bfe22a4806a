/*
 * cloak simulation platform: the per-machine development root that plays the part of Intel's
 * provisioning infrastructure and the Quoting Enclave for simulated enclaves.
 *
 * On first use it creates, under the platform directory ($CLOAK_PLATFORM_DIR, else
 * $XDG_DATA_HOME/cloak/platform, else ~/.local/share/cloak/platform):
 *   root.pem/root.key            "Cloak Development SGX Root CA" (EC P-256, self-signed)
 *   pck-ca.pem/pck-ca.key        "Cloak Development SGX PCK Platform CA"
 *   pck.pem/pck.key              PCK leaf with the Intel SGX extension (1.2.840.113741.1.13.1):
 *                                PPID, TCB (16 comp svns, pcesvn, cpusvn), PCE-ID, FMSPC, SGX type
 *   tcb-signing.pem/.key         "Cloak Development SGX TCB Signing"
 *   attestation.key              the QE's attestation key (EC P-256)
 *   seal.secret                  32 random bytes, the root of sealing keys
 *   collateral/                  dcap-qvl split layout: tcb_info_body.json, tcb_info.sig,
 *                                qe_identity_body.json, qe_identity.sig, root_ca_crl.der,
 *                                pck_crl.der, tcb_signing_chain.pem, pck_crl_issuer_chain.pem
 * Collateral is re-issued when it expires within 7 days.
 *
 * Trust: the simulation protects nothing against root or against the user who owns these
 * files; it exists so that the same verifier code runs on simulated and hardware evidence.
 * Thread-safety: a cloak_platform may be used from several threads once opened.
 */
#ifndef CLOAK_PLATFORM_H
#define CLOAK_PLATFORM_H

#include "cloak/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_SGX_REPORT_BODY_BYTES 384
#define CLOAK_REPORT_DATA_BYTES 64
#define CLOAK_CONFIGID_BYTES 64
#define CLOAK_SEAL_KEY_BYTES 32

/* SGX ATTRIBUTES.flags bits (SGX SDM, SECS.ATTRIBUTES) */
#define CLOAK_SGX_FLAG_INIT 0x1ull
#define CLOAK_SGX_FLAG_DEBUG 0x2ull
#define CLOAK_SGX_FLAG_MODE64BIT 0x4ull
#define CLOAK_SGX_FLAG_KSS 0x80ull

/* Fields of an SGX report body (Intel DCAP quote spec, "SGX Report Body", 384 bytes). */
typedef struct {
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t isvextprodid[16];
    uint64_t attr_flags;
    uint64_t attr_xfrm;
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint8_t configid[CLOAK_CONFIGID_BYTES];
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint16_t configsvn;
    uint8_t isvfamilyid[16];
    uint8_t reportdata[CLOAK_REPORT_DATA_BYTES];
} cloak_sgx_report;

/* Serialize to / parse from the 384-byte wire layout. */
void cloak_sgx_report_encode(const cloak_sgx_report *r, uint8_t out[CLOAK_SGX_REPORT_BODY_BYTES]);
void cloak_sgx_report_decode(const uint8_t in[CLOAK_SGX_REPORT_BODY_BYTES], cloak_sgx_report *r);

typedef struct cloak_platform cloak_platform;

/* Resolve the platform directory: explicit `dir` if non-NULL, else the environment as above.
 * Returns a malloc'd path. */
char *cloak_platform_default_dir(const char *dir);

/* Open (creating on first use) the development platform in `dir` (NULL = default). */
cloak_err cloak_platform_open(const char *dir, cloak_platform **out,
                              cloak_error *why) CLOAK_MUST_CHECK;
void cloak_platform_free(cloak_platform *p);
const char *cloak_platform_path(const cloak_platform *p);

/* The platform's CPUSVN, written into every report body. */
void cloak_platform_cpusvn(const cloak_platform *p, uint8_t out[16]);

/* Produce an Intel SGX DCAP ECDSA quote v3 (attestation key type 2, ECDSA-256-with-P-256)
 * over `report_body`, with the QE report, QE auth data and certification data type 5 (the
 * PEM chain PCK leaf | PCK Platform CA | root). */
cloak_err cloak_platform_quote(const cloak_platform *p,
                               const uint8_t report_body[CLOAK_SGX_REPORT_BODY_BYTES],
                               uint8_t **quote, size_t *quote_len,
                               cloak_error *why) CLOAK_MUST_CHECK;

/* HKDF-SHA256(ikm = platform seal secret, salt = "cloak-seal-v1", info) -> 32-byte key. */
cloak_err cloak_platform_seal_key(const cloak_platform *p, const uint8_t *info, size_t info_len,
                                  uint8_t key[CLOAK_SEAL_KEY_BYTES],
                                  cloak_error *why) CLOAK_MUST_CHECK;

/* Path of the collateral directory (inside the platform dir); valid while p lives. */
const char *cloak_platform_collateral_dir(const cloak_platform *p);
/* PEM of the development root certificate. */
const char *cloak_platform_root_pem(const cloak_platform *p);

#ifdef __cplusplus
}
#endif
#endif
