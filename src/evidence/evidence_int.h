/*
 * Private to src/evidence: the seams between the dispatcher (evidence.c), trust anchors
 * (trust.c, roots.c), DCAP quotes (dcap_*.c), DCAP collateral and TCB evaluation
 * (collateral.c, tcb.c) and SEV-SNP (snp*.c).
 */
#ifndef CLOAK_EVIDENCE_INT_H
#define CLOAK_EVIDENCE_INT_H

#include "cloak/evidence.h"

#include <openssl/x509.h>
#include <pthread.h>

enum { SNP_MILAN = 0, SNP_GENOA = 1, SNP_TURIN = 2, SNP_NPRODUCTS = 3 };

/* A PCK chain whose signatures already verified to this trust's pinned root: quotes from one
 * platform carry the same chain, and parsing and verifying it again is most of a quote's cost.
 * Validity times, the pin and revocation are still checked on every call. Entries are found by
 * comparing the chain's exact bytes (a copy is kept), so a lookup costs a memcmp, not a hash.
 *
 * The QE memo rides on a chain entry: the QE part of a DCAP quote that verified with this chain
 * (attestation key || QE report || QE report signature, EV_QE_BYTES) and the attestation key,
 * parsed. Every quote from one QE carries the same three, so the QE report's ECDSA signature
 * check under the chain's leaf and the key parsing need not be redone; the quote's own
 * signature, the QE binding, the chain's times, the pin, revocation and the TCB are still
 * checked on every call. */
#define EV_CHAIN_CACHE 64
#define EV_CHAIN_AUX_BYTES 192
#define EV_QE_BYTES 512
typedef struct {
    uint8_t *bytes; /* the chain's bytes as carried in the evidence (malloc'd copy) */
    size_t len;
    X509 *leaf, *ca, *root;
    uint8_t aux[EV_CHAIN_AUX_BYTES]; /* what the caller derived from the leaf (its parsed
                                        extension), so a hit need not parse it again */
    size_t aux_len;
    uint8_t qe[EV_QE_BYTES]; /* the QE memo; att NULL: none */
    EVP_PKEY *att;
} ev_chain_entry;

struct cloak_trust {
    uint32_t magic;
    pthread_mutex_t cache_lock;
    ev_chain_entry chain_cache[EV_CHAIN_CACHE];
    unsigned chain_next;
    X509 *intel_root;              /* Intel SGX Root CA (built in) */
    X509 *sim_root;                /* development root; NULL unless CLOAK_TRUST_ALLOW_SIM */
    X509 *amd_ark[SNP_NPRODUCTS];  /* built in, self-signed, RSA-4096 */
    X509 *amd_ask[SNP_NPRODUCTS];  /* built in convenience copies (signed by the ARK) */
    X509 *amd_asvk[SNP_NPRODUCTS]; /* VLEK intermediates (signed by the ARK) */
};
#define TRUST_MAGIC 0x54525354u

/* Built-in anchors (roots.c): DER/PEM bytes. */
extern const uint8_t cloak_intel_sgx_root_der[];
extern const size_t cloak_intel_sgx_root_der_len;
extern const char *const cloak_amd_chain_pem[SNP_NPRODUCTS];      /* ASK then ARK */
extern const char *const cloak_amd_vlek_chain_pem[SNP_NPRODUCTS]; /* ASVK then ARK */

/* Evidence back ends. `type` is CLOAK_TEE_SGX or CLOAK_TEE_TDX for dcap_*. Each fills a claims
 * object with the keys of docs/CLAIMS.md; the dispatcher adds verified_at. */
cloak_err dcap_verify(const uint8_t *p, size_t len, const cloak_verify_opts *o, json_t **claims,
                      cloak_error *why);
cloak_err dcap_show(const uint8_t *p, size_t len, json_t **fields, cloak_error *why);
cloak_err dcap_fmspc(const uint8_t *p, size_t len, const cloak_trust *t, uint8_t fmspc[6],
                     cloak_error *why);
cloak_err snp_verify(const uint8_t *p, size_t len, const cloak_verify_opts *o, json_t **claims,
                     cloak_error *why);
cloak_err snp_show(const uint8_t *p, size_t len, json_t **fields, cloak_error *why);

/* ---- DCAP collateral (collateral.c, tcb.c) ---- */

/* The PCK certificate's SGX extension (OID 1.2.840.113741.1.13.1), as dcap_*.c extracts it. */
typedef struct {
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint8_t cpu_svn[16];
    uint8_t comp_svn[16];
    uint16_t pce_svn;
} dcap_pck_tcb;

typedef struct {
    cloak_tcb_status status; /* merged: worst of platform, QE, module */
    cloak_tcb_status platform_status;
    cloak_tcb_status qe_status;
    cloak_tcb_status module_status; /* TDX only; CLOAK_TCB_UP_TO_DATE when not applicable */
    json_t *advisory_ids;           /* array (new reference), union of the matched levels' */
    char tcb_date[32];              /* the matched platform level's tcbDate */
    int tcb_eval_number;
} dcap_tcb_result;
void dcap_tcb_result_clear(dcap_tcb_result *r);

/* Verify the collateral itself against `root` at time `at`: the TCB signing chain (leaf, root)
 * chains to root, is valid at `at` and its leaf is not on the root CRL; the TCB info and QE
 * identity signatures (raw r||s ECDSA P-256 over the exact body bytes) verify under the leaf;
 * issueDate <= at <= nextUpdate for both; the root CRL is signed by root and current; the PCK
 * CRL is signed by the first certificate of the PCK CRL issuer chain, which chains to root; both
 * CRLs current. Each failure names the item and the check ("TCB info expired at ...").
 * `is_tdx` selects the expected ids: TCB info "SGX" or "TDX", QE identity "QE" or "TD_QE".
 * A TCB-info-only collateral: only the TCB signing chain (no root CRL) and the TCB info. */
cloak_err dcap_collateral_check(const cloak_collateral *c, X509 *root, time_t at, int is_tdx,
                                cloak_error *why);
/* 1 if c came from cloak_collateral_load_tcb_info: dcap_collateral_check then verifies only the
 * TCB info (signature, signing chain without a root CRL, id, dates), the CRL accessors below
 * return NULL, revocation is not checked and dcap_tcb_evaluate skips the QE identity. */
int dcap_collateral_is_tcb_only(const cloak_collateral *c);
/* CRLs for the PCK chain checks (borrowed; valid while c lives). */
X509_CRL *dcap_collateral_root_crl(const cloak_collateral *c);
X509_CRL *dcap_collateral_pck_crl(const cloak_collateral *c);
/* The certificate dcap_collateral_check verified the PCK CRL's signature under (borrowed). */
X509 *dcap_collateral_pck_crl_issuer(const cloak_collateral *c);

/* Evaluate TCB: TCB info fmspc/pceId must equal the PCK's (case-insensitive); the QE report
 * (384 bytes) must match the QE identity (mrsigner, isvprodid, masked miscselect and
 * attributes) and its isvsvn selects the QE TCB status; the platform level is the first whose
 * sgxtcbcomponents and pcesvn the PCK's reach (and tdxtcbcomponents the TD body's TEE_TCB_SVN,
 * for TDX); for TCB info v3 with TDX module identities, the module status is merged (attestation.md
 * §2 steps 7-11). No matching platform level -> CLOAK_EVERIFY "TCB level not supported ...".
 * td_body: the TD report body (584 or 648 bytes) for TDX, NULL for SGX.
 * A TCB-info-only collateral: no QE identity step; qe_status is CLOAK_TCB_UNKNOWN and status is
 * the platform status joined with the module status. */
cloak_err dcap_tcb_evaluate(const cloak_collateral *c, int is_tdx, const dcap_pck_tcb *pck,
                            const uint8_t *qe_report, const uint8_t *td_body, size_t td_body_len,
                            dcap_tcb_result *out, cloak_error *why);

/* MAA-style collateral hashes (object of SHA-256 hex strings; new reference). */
json_t *dcap_collateral_hashes(const cloak_collateral *c);

/* The chain cache (trust.c). get: 1 and up-referenced certificates on a hit, 0 on a miss. */
int ev_chain_cache_get(const cloak_trust *t, const uint8_t *bytes, size_t len, X509 **leaf,
                       X509 **ca, X509 **root, void *aux, size_t aux_len);
void ev_chain_cache_put(const cloak_trust *t, const uint8_t *bytes, size_t len, X509 *leaf,
                        X509 *ca, X509 *root, const void *aux, size_t aux_len);

/* The QE memo of the chain entry for `bytes` (trust.c). get: 1 and an up-referenced
 * attestation key when the entry's memo holds exactly `qe`; put: record it (no entry: no-op). */
int ev_qe_memo_get(const cloak_trust *t, const uint8_t *bytes, size_t len,
                   const uint8_t qe[EV_QE_BYTES], EVP_PKEY **att);
void ev_qe_memo_put(const cloak_trust *t, const uint8_t *bytes, size_t len,
                    const uint8_t qe[EV_QE_BYTES], EVP_PKEY *att);

/* Small shared helpers (evidence.c). */
json_t *ev_hex(const uint8_t *p, size_t len); /* new JSON string of lower-case hex */
void ev_set_hex(json_t *o, const char *key, const uint8_t *p, size_t len);
/* X509 time check: notBefore <= at <= notAfter. */
int ev_cert_valid_at(X509 *c, time_t at);
/* Parse certificates (PEM, possibly several, or one DER) into a stack. */
STACK_OF(X509) * ev_load_certs(const uint8_t *p, size_t len);
/* RFC 3339 UTC for claims ("2025-07-19T10:01:17Z"). */
void ev_time_str(time_t t, char out[32]);

#endif
