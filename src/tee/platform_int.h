/* Private to the simulation platform (platform.c, platform_certs.c, platform_collateral.c).
 * Names are cloak_plat_* because they link across files; nothing outside src/tee/platform*
 * may call them. */
#ifndef CLOAK_PLATFORM_INT_H
#define CLOAK_PLATFORM_INT_H

#include "cloak/platform.h"

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* File names inside the platform directory (documented in include/cloak/platform.h). */
#define PLAT_ROOT_CERT "root.pem"
#define PLAT_ROOT_KEY "root.key"
#define PLAT_PCKCA_CERT "pck-ca.pem"
#define PLAT_PCKCA_KEY "pck-ca.key"
#define PLAT_PCK_CERT "pck.pem"
#define PLAT_PCK_KEY "pck.key"
#define PLAT_TCBSIGN_CERT "tcb-signing.pem"
#define PLAT_TCBSIGN_KEY "tcb-signing.key"
#define PLAT_ATT_KEY "attestation.key"
#define PLAT_SEAL_SECRET "seal.secret"
#define PLAT_INFO "platform.json" /* written last: its presence marks a complete platform */
#define PLAT_LOCK ".lock"
#define PLAT_COLLATERAL "collateral"

#define PLAT_SEAL_SECRET_BYTES 32
#define PLAT_FILE_MODE_SECRET 0600u
#define PLAT_FILE_MODE_PUBLIC 0644u
#define PLAT_DIR_MODE 0700u

/* Certificate subjects. */
#define PLAT_CN_ROOT "Cloak Development SGX Root CA"
#define PLAT_CN_PCKCA "Cloak Development SGX PCK Platform CA"
#define PLAT_CN_PCK "Cloak Development SGX PCK Certificate"
#define PLAT_CN_TCBSIGN "Cloak Development SGX TCB Signing"
#define PLAT_ORG "Cloak Development Platform (simulation, not Intel)"
#define PLAT_CERT_DAYS 3650

/* Collateral lifetime and the re-issue window. */
#define PLAT_COLLATERAL_DAYS 30
#define PLAT_COLLATERAL_RENEW_DAYS 7
#define PLAT_TCB_EVAL_NUMBER 1

/* The simulated Quoting Enclave. Its identity is fixed software, like Intel's QE: the QE
 * identity collateral (qe_identity_body.json) is generated from these same values. */
#define PLAT_QE_ISVPRODID 1
#define PLAT_QE_ISVSVN 8
#define PLAT_QE_MISCSELECT 0x00000000u
#define PLAT_QE_MISCSELECT_MASK 0xFFFFFFFFu
/* INIT | MODE64BIT | PROVISIONKEY, as Intel's QE (0x15); xfrm x87|SSE|AVX|opmask|ZMM (0xe7). */
#define PLAT_QE_ATTR_FLAGS 0x15ull
#define PLAT_QE_ATTR_XFRM 0xe7ull
/* Intel's published QE identity mask: every flag but PROVISIONKEY (bit 2); xfrm ignored. */
#define PLAT_QE_ATTR_FLAGS_MASK 0xFFFFFFFFFFFFFFFBull
#define PLAT_QE_ATTR_XFRM_MASK 0x0ull
#define PLAT_QE_AUTH_DATA_BYTES 32
extern const uint8_t cloak_plat_qe_mrenclave[32];
extern const uint8_t cloak_plat_qe_mrsigner[32];

/* The platform's TCB as its PCK certificate states it (stored in platform.json). */
typedef struct {
    uint8_t fmspc[6];
    uint8_t pceid[2];
    uint8_t comp_svn[16];
    uint16_t pcesvn;
    uint8_t cpusvn[16];
    uint8_t ppid[16];
    uint8_t platform_id[16]; /* first 16 bytes of the quote header's user_data */
} cloak_plat_tcb;

/* "<dir>/<name>", malloc'd; NULL on allocation failure. */
char *cloak_plat_path(const char *dir, const char *name);

/* PEM files in the platform directory. */
cloak_err cloak_plat_read_cert(const char *dir, const char *name, X509 **out, cloak_error *why);
cloak_err cloak_plat_read_key(const char *dir, const char *name, EVP_PKEY **out, cloak_error *why);
/* PEM text of a certificate, malloc'd and NUL-terminated. */
char *cloak_plat_cert_pem(X509 *x);

/* Generate every key, certificate and secret of a fresh platform and write them into dir
 * (all but platform.json, which the caller writes last). Caller holds the directory lock. */
cloak_err cloak_plat_create_identity(const char *dir, const cloak_plat_tcb *tcb, time_t now,
                                     cloak_error *why);

/* (Re-)issue the collateral if any file is missing, malformed, not yet valid or expiring
 * within PLAT_COLLATERAL_RENEW_DAYS of now. Caller holds the directory lock. */
cloak_err cloak_plat_collateral_refresh(const char *dir, const cloak_plat_tcb *tcb, time_t now,
                                        cloak_error *why);

/* An empty v2 CRL issued now by `issuer`, next update in PLAT_COLLATERAL_DAYS; DER, malloc'd
 * with OPENSSL_malloc (free with OPENSSL_free). */
cloak_err cloak_plat_make_crl(X509 *issuer, EVP_PKEY *issuer_key, time_t now, uint8_t **der,
                              size_t *der_len, cloak_error *why);

/* ECDSA P-256 / SHA-256 signature over msg as r||s, 32 bytes each, big-endian. */
cloak_err cloak_plat_sign_p1363(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t out[64],
                                cloak_error *why);

/* 1 if key is an EC P-256 key. */
int cloak_plat_is_p256(EVP_PKEY *key);

#endif
