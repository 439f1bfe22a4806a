/*
 * cloak evidence: parse and verify attestation evidence -- Intel SGX DCAP quotes (v3, v4),
 * Intel TDX quotes (v4, v5) and AMD SEV-SNP attestation reports (v2, v3, v5) -- against vendor
 * roots and collateral, and turn it into one JSON object of normalised claims.
 *
 * Trust: the only anchors are the vendor roots built into libcloak (Intel SGX Root CA; AMD ARKs
 * for Milan, Genoa, Turin), plus the local development root when a cloak_trust allows
 * simulation. Everything else -- the evidence, certificates, CRLs, TCB info, QE identity -- is
 * untrusted input, parsed with bounds checks and verified before use. Verification time is a
 * parameter; nothing reads the wall clock unless the caller passes it.
 *
 * Thread-safety: a cloak_trust and a cloak_collateral are immutable once built and may be shared
 * by threads; each verify call is independent.
 *
 * Claims (docs/CLAIMS.md lists every key): "tee" ("sgx" | "tdx" | "sevsnp"), identity fields per
 * TEE (hex lower-case), "debug", "report_data", "tcb_status" ("UpToDate", ..., "Unknown" when no
 * collateral was given), "advisory_ids", platform identifiers, and "x-cloak-sim": true when the
 * chain ends at the local development root.
 */
#ifndef CLOAK_EVIDENCE_H
#define CLOAK_EVIDENCE_H

#include "cloak/base.h"

#include <jansson.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CLOAK_TEE_AUTO = 0,
    CLOAK_TEE_SGX = 1,
    CLOAK_TEE_TDX = 2,
    CLOAK_TEE_SNP = 3,
} cloak_tee_type;

/* TCB status, in Intel's names; the order is from best to worst for merging. */
typedef enum {
    CLOAK_TCB_UP_TO_DATE = 0,
    CLOAK_TCB_SW_HARDENING_NEEDED,
    CLOAK_TCB_CONFIGURATION_NEEDED,
    CLOAK_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
    CLOAK_TCB_OUT_OF_DATE,
    CLOAK_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
    CLOAK_TCB_REVOKED,
    CLOAK_TCB_UNKNOWN, /* no collateral: not evaluated */
} cloak_tcb_status;
const char *cloak_tcb_status_name(cloak_tcb_status s);
/* Parse Intel's name ("UpToDate", ...); -1 if unknown. */
int cloak_tcb_status_parse(const char *name);

/* Trust anchors. */
#define CLOAK_TRUST_ALLOW_SIM 0x1u /* also trust the development root of `platform_dir` */
typedef struct cloak_trust cloak_trust;
/* Vendor roots, plus (with CLOAK_TRUST_ALLOW_SIM) the development root of the simulation
 * platform in platform_dir (NULL = default, see cloak/platform.h). */
cloak_err cloak_trust_new(unsigned flags, const char *platform_dir, cloak_trust **out,
                          cloak_error *why) CLOAK_MUST_CHECK;
void cloak_trust_free(cloak_trust *t);

/* DCAP collateral: TCB info, QE identity (each with its signature, kept as the exact signed
 * bytes), the root CA CRL, the PCK CRL and the two issuer chains. */
typedef struct cloak_collateral cloak_collateral;
/* A directory in the split layout (tcb_info_body.json, tcb_info.sig, qe_identity_body.json,
 * qe_identity.sig, root_ca_crl.der, pck_crl.der, tcb_signing_chain.pem,
 * pck_crl_issuer_chain.pem), or a single dcap-qvl JSON file (*_collateral.json). */
cloak_err cloak_collateral_load(const char *path, cloak_collateral **out,
                                cloak_error *why) CLOAK_MUST_CHECK;
/* TCB-info-only collateral: a PCS TCB info response ({"tcbInfo":{...},"signature":"hex"}, as
 * served by /sgx|tdx/certification/v4/tcb, the exact bytes kept) and its issuer chain
 * (signing_chain_path, required: PEM of "Intel SGX TCB Signing", optionally the root after it
 * -- the PCS TCB-Info-Issuer-Chain header; libcloak has no built-in TCB signing certificate,
 * since Intel re-issues it). Verification then checks the TCB info signature over the exact
 * bytes, the signing certificate against the pinned Intel root and its validity at `at`,
 * issueDate <= at <= nextUpdate, FMSPC and PCE-ID, and evaluates the PLATFORM TCB level (and
 * TDX module) only: no QE identity, no CRLs, so no revocation. Claims carry
 * "collateral_scope": "tcb-info-only" and "qe_tcb_status": "Unknown". */
cloak_err cloak_collateral_load_tcb_info(const char *tcb_info_path, const char *signing_chain_path,
                                         cloak_collateral **out, cloak_error *why) CLOAK_MUST_CHECK;
void cloak_collateral_free(cloak_collateral *c);

typedef struct {
    cloak_tee_type type;                /* CLOAK_TEE_AUTO: detect from the bytes */
    const cloak_trust *trust;           /* required */
    const cloak_collateral *collateral; /* SGX/TDX; NULL = TCB status "Unknown" */
    const uint8_t *const *certs; /* SNP: VCEK or VLEK, ASK/ASVK, ARK (PEM or DER, any order) */
    const size_t *cert_lens;
    size_t ncerts;
    time_t at; /* verification time */
} cloak_verify_opts;

/* Verify evidence. On success *claims is a new JSON object (json_decref it). On failure
 * `why` names the check that failed and the field or offset, and *claims is untouched. */
cloak_err cloak_evidence_verify(const uint8_t *evidence, size_t len, const cloak_verify_opts *opts,
                                json_t **claims, cloak_error *why) CLOAK_MUST_CHECK;

/* Appraisal policy over normalised claims (TEE-neutral). Zero-initialise, then set what to
 * require; cloak_policy_init gives the production defaults: no debug, no simulation, any
 * measurement, any TCB status. */
typedef struct {
    int allow_debug;            /* 0: refuse debug evidence */
    int allow_sim;              /* 0: refuse evidence with x-cloak-sim */
    const uint8_t *report_data; /* expected report data (a prefix, zero-padded to 64) */
    size_t report_data_len;
    const uint8_t *measurement; /* MRENCLAVE / MRTD / SNP MEASUREMENT */
    size_t measurement_len;
    const uint8_t *signer; /* SGX MRSIGNER */
    size_t signer_len;
    int product_id;          /* -1: any (SGX ISVPRODID) */
    int min_svn;             /* -1: any (SGX ISVSVN, SNP GUEST_SVN) */
    int max_tcb_status;      /* -1: any; else the worst acceptable cloak_tcb_status */
    int allow_tcb_info_only; /* 0: a TCB status from a TCB info alone (no QE identity,
                                no revocation) does not satisfy max_tcb_status */
} cloak_policy;
void cloak_policy_init(cloak_policy *p);
/* Check claims against the policy; each refusal has its own reason naming the claim. */
cloak_err cloak_claims_check(const json_t *claims, const cloak_policy *p,
                             cloak_error *why) CLOAK_MUST_CHECK;

/* Parse without verifying: every field, for `cloak evidence show`. */
cloak_err cloak_evidence_show(const uint8_t *evidence, size_t len, cloak_tee_type type,
                              json_t **fields, cloak_error *why) CLOAK_MUST_CHECK;

/* The FMSPC of a DCAP quote's PCK certificate, to pick collateral before verifying. NOT a
 * verification: the verifier checks later that the collateral's FMSPC is the certificate's.
 * Cheap once `trust` has verified a quote with the same PCK chain (it reuses the chain cache). */
cloak_err cloak_evidence_fmspc(const cloak_trust *trust, const uint8_t *quote, size_t len,
                               uint8_t fmspc[6], cloak_error *why) CLOAK_MUST_CHECK;

/* Detect the evidence type from its bytes (CLOAK_TEE_AUTO if unrecognised). */
cloak_tee_type cloak_evidence_detect(const uint8_t *evidence, size_t len);

/* ---- keeping collateral fresh: fetch it from Intel PCS / a PCCS and AMD KDS (fetch*.c) ----
 *
 * Layout written under out_dir (the one `cloak attest serve --collateral-dir` and
 * cloak_collateral_load read):
 *   sgx-<fmspc>/ and tdx-<fmspc>/  the split DCAP layout (tcb_info_body.json, tcb_info.sig,
 *       qe_identity_body.json, qe_identity.sig, root_ca_crl.der, pck_crl.der,
 *       tcb_signing_chain.pem, pck_crl_issuer_chain.pem); fmspc in lower-case hex. A folder is
 *       replaced as a whole (staged next to it, then swapped in with one rename).
 *   snp-<Product>/  cert_chain.pem (ASK then ARK, as KDS serves it), crl.der, and
 *       vcek-<hwid>-<reported tcb>.der per SNP report given; each file written atomically.
 * Nothing is written that did not verify first, with the verifier's own code, at `at`: the
 * DCAP set as dcap_collateral_check (TCB info and QE identity signatures over their exact
 * bytes, chains to the built-in Intel root, ids, dates, both CRLs) plus the requested FMSPC;
 * the AMD ARK must be the built-in one, the ASK and the CRL signed by it, a VCEK must verify
 * its report (cloak_evidence_verify). A DCAP set older than a still-valid one on disk
 * (tcbEvaluationDataNumber, issue dates, CRL thisUpdate) is refused too. A refused or failed
 * item leaves what is on disk untouched. */
#define CLOAK_FETCH_SGX 0x1u
#define CLOAK_FETCH_TDX 0x2u
#define CLOAK_FETCH_SNP 0x4u
#define CLOAK_PCS_URL_DEFAULT "https://api.trustedservices.intel.com"
#define CLOAK_ROOT_CRL_URL_DEFAULT                                                                 \
    "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"
#define CLOAK_KDS_URL_DEFAULT "https://kdsintf.amd.com"

typedef enum {
    CLOAK_PCK_CA_AUTO = 0, /* from the quote's PCK chain; for a bare FMSPC: processor for SGX,
                              platform for TDX */
    CLOAK_PCK_CA_PROCESSOR = 1,
    CLOAK_PCK_CA_PLATFORM = 2,
} cloak_pck_ca;

/* One piece of evidence to fetch collateral for: an SGX/TDX quote (its FMSPC and PCK CA type
 * come from the PCK certificate) or an SEV-SNP report (product from its CPUID, or the only
 * entry of snp_products for a v2 report; its VCEK is fetched for its chip and REPORTED_TCB). */
typedef struct {
    const char *name; /* for messages and the report (a file name) */
    const uint8_t *p;
    size_t len;
} cloak_fetch_evidence;

typedef struct {
    const char *out_dir;       /* required; created if missing */
    const char *pcs_url;       /* Intel PCS base; NULL = CLOAK_PCS_URL_DEFAULT */
    const char *pccs_url;      /* instead: a PCCS base (same API, e.g. https://HOST:8081) */
    const char *root_crl_url;  /* NULL: Intel's (PCS) or PCCS/sgx/certification/v4/rootcacrl */
    const char *kds_url;       /* AMD KDS base; NULL = CLOAK_KDS_URL_DEFAULT */
    const char *api_key;       /* Ocp-Apim-Subscription-Key, sent to the PCS/PCCS only; a secret:
                                  never copied into messages or the report */
    const char *ca_file;       /* TLS trust for every fetch; NULL = the system roots */
    const char *const *fmspcs; /* 12 hex digits each */
    size_t nfmspcs;
    const cloak_fetch_evidence *evidence;
    size_t nevidence;
    const char *const *snp_products; /* "Milan", "Genoa", "Turin" */
    size_t nsnp_products;
    unsigned types;      /* CLOAK_FETCH_*: 0 = SGX for the FMSPCs, every type for evidence. With
                            types set, only those are fetched; SNP alone with no product and no
                            report means all three products (certificate chains and CRLs). */
    cloak_pck_ca pck_ca; /* which PCK CRL for a bare FMSPC */
    time_t at;           /* verification time; 0 = now */
} cloak_fetch_opts;

/* Fetch, verify and write collateral. Every item (one folder, or one SNP file) is handled on
 * its own: a failure is recorded and the others go on. *report (when report is not NULL) is
 * set whenever the options were valid, also on failure: {"out_dir", "items":[{"kind": "sgx"|
 * "tdx"|"snp-chain"|"snp-crl"|"snp-vcek", "fmspc"|"product", "path", "result": "created"|
 * "updated"|"unchanged"|"refused"|"failed", "message"?, ...}], "evidence":[{"name", "tee",
 * "verified", "tcb_status"|"error"}]} -- the evidence entries verify each input with what is now
 * on disk. Returns CLOAK_OK when every item was created, updated or unchanged; else the first
 * failed item's code, and `why` says how many items failed and why the first did. */
cloak_err cloak_evidence_fetch_collateral(const cloak_fetch_opts *opts, json_t **report,
                                          cloak_error *why) CLOAK_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
