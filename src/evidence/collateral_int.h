/*
 * Private to collateral.c, tcb.c and json_span.c (and their tests and fuzz target): the DCAP
 * collateral object and the parsed view of its two signed JSON bodies.
 *
 * A cloak_collateral keeps every input exactly as it arrived (the TCB info and QE identity
 * bodies are the exact signed bytes, never re-serialised) next to a parsed view used for TCB
 * evaluation. Parsing is structural only: nothing in the parsed view is trusted until
 * dcap_collateral_check has verified the signatures, chains, CRLs and dates (attestation.md §2
 * steps 7-8). Immutable once built; may be shared by threads.
 */
#ifndef CLOAK_COLLATERAL_INT_H
#define CLOAK_COLLATERAL_INT_H

#include "evidence/evidence_int.h"

#include <pthread.h>

#include <openssl/x509.h>

#define COLLATERAL_MAGIC 0x434f4c4cu /* "COLL" */
#define DCAP_RAW_SIG_BYTES 64        /* ECDSA P-256 r||s, big-endian */
#define DCAP_TCB_COMPONENTS 16       /* sgxtcbcomponents / tdxtcbcomponents per level */

/* TCB info tcbLevels[i] (Intel PCS API v4, "TCB Info V3"; v2 uses sgxtcbcompNNsvn keys). */
typedef struct {
    uint8_t sgx[DCAP_TCB_COMPONENTS];
    uint8_t tdx[DCAP_TCB_COMPONENTS]; /* TDX TCB info only */
    uint16_t pcesvn;
    cloak_tcb_status status;
    const char *tcb_date;     /* borrowed from the parsed document */
    const json_t *advisories; /* borrowed array of strings, or NULL */
} dcap_tcb_level;

/* QE identity tcbLevels[i] and TDX module identity tcbLevels[i]: keyed by one isvsvn. */
typedef struct {
    uint16_t isvsvn;
    cloak_tcb_status status;
    const char *tcb_date;
    const json_t *advisories;
} dcap_isv_level;

/* tcbInfo.tdxModule (levels == NULL) or one of tcbInfo.tdxModuleIdentities. */
typedef struct {
    const char *id; /* "TDX_01", ...; NULL for tdxModule */
    uint8_t mrsigner[48];
    uint8_t attributes[8];
    uint8_t attributes_mask[8];
    dcap_isv_level *levels;
    size_t nlevels;
} dcap_tdx_module;

typedef struct {
    json_t *doc; /* owns every borrowed string above */
    int is_tdx;  /* id "TDX" (else "SGX"; TCB info v2 has no id and is SGX) */
    int version; /* 2 or 3 */
    time_t issue_date, next_update;
    const char *issue_date_str, *next_update_str;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    int tcb_type;
    int eval_number;
    dcap_tcb_level *levels;
    size_t nlevels;
    int has_module;
    dcap_tdx_module module;      /* tdxModule, when has_module */
    dcap_tdx_module *module_ids; /* tdxModuleIdentities */
    size_t nmodule_ids;
} dcap_tcb_info;

typedef struct {
    json_t *doc;
    int is_td_qe; /* id "TD_QE" (else "QE") */
    int version;  /* 2 */
    time_t issue_date, next_update;
    const char *issue_date_str, *next_update_str;
    int eval_number;
    uint32_t miscselect, miscselect_mask;
    uint8_t attributes[16], attributes_mask[16]; /* report byte order */
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    dcap_isv_level *levels;
    size_t nlevels;
} dcap_qe_identity;

/* A byte string owned by the collateral. */
typedef struct {
    uint8_t *p;
    size_t len;
} dcap_bytes;

struct cloak_collateral {
    uint32_t magic;
    char *source; /* path or label, for messages */
    /* 1: built by dcap_collateral_from_tcb_info -- only tcb_info, tcb_info_sig, tcb_chain_raw,
     * tcb_chain and tcb are set; no QE identity, no CRLs, no PCK CRL issuer chain. Checks and
     * evaluation then cover the platform TCB level (and TDX module) only, and the claims say
     * "collateral_scope": "tcb-info-only". */
    int tcb_only;
    dcap_bytes tcb_info; /* exact signed bytes of the tcbInfo value */
    uint8_t tcb_info_sig[DCAP_RAW_SIG_BYTES];
    dcap_bytes qe_identity; /* exact signed bytes of the enclaveIdentity value */
    uint8_t qe_identity_sig[DCAP_RAW_SIG_BYTES];
    dcap_bytes root_crl_raw; /* as given: DER (or PEM) */
    dcap_bytes pck_crl_raw;
    dcap_bytes tcb_chain_raw;     /* TCB info issuer chain, PEM: TCB signing cert, root */
    dcap_bytes qe_chain_raw;      /* QE identity issuer chain (same bytes in the split layout) */
    dcap_bytes pck_crl_chain_raw; /* PCK CRL issuer chain: PCK CA, root */
    X509_CRL *root_crl, *pck_crl;
    STACK_OF(X509) * tcb_chain, *qe_chain, *pck_crl_chain;
    dcap_tcb_info tcb;
    dcap_qe_identity qe;
    /* Signature memo: every signature in this collateral verified under `memo_root` (for the
     * TCB info / QE identity ids of `memo_is_tdx`). Signatures do not depend on the
     * verification time, so later checks under the same root redo only the time, id and
     * revocation checks. The collateral is otherwise immutable; the lock guards the memo. */
    char hashes[6][65]; /* dcap_collateral_hashes, computed once at load */
    pthread_mutex_t memo_lock;
    X509 *memo_root;
    int memo_is_tdx;
};

/* The inputs of a collateral, borrowed; every field required. Signatures are raw r||s. */
typedef struct {
    const uint8_t *tcb_info;
    size_t tcb_info_len;
    const uint8_t *tcb_info_sig;
    size_t tcb_info_sig_len;
    const uint8_t *qe_identity;
    size_t qe_identity_len;
    const uint8_t *qe_identity_sig;
    size_t qe_identity_sig_len;
    const uint8_t *root_crl; /* DER or PEM */
    size_t root_crl_len;
    const uint8_t *pck_crl;
    size_t pck_crl_len;
    const uint8_t *tcb_chain; /* PEM */
    size_t tcb_chain_len;
    const uint8_t *qe_chain;
    size_t qe_chain_len;
    const uint8_t *pck_crl_chain;
    size_t pck_crl_chain_len;
} dcap_collateral_parts;

/* Build a collateral from parts (copied). `source` names it in messages. */
cloak_err dcap_collateral_from_parts(const dcap_collateral_parts *parts, const char *source,
                                     cloak_collateral **out, cloak_error *why);
/* Build from the text of a dcap-qvl collateral JSON file (QuoteCollateralV3 as JSON). */
cloak_err dcap_collateral_from_json(const uint8_t *p, size_t len, const char *source,
                                    cloak_collateral **out, cloak_error *why);

/* A TCB-info-only collateral: a PCS TCB info response (resp, parsed with dcap_pcs_split) and
 * its issuer chain (PEM or DER: "Intel SGX TCB Signing", optionally the root after it). */
cloak_err dcap_collateral_from_tcb_info(const uint8_t *resp, size_t resp_len, const uint8_t *chain,
                                        size_t chain_len, const char *source,
                                        cloak_collateral **out, cloak_error *why);

/* A PCS response {"tcbInfo":{...},"signature":"hex"} or {"enclaveIdentity":{...},...}: the
 * exact bytes of the value of `key` (pointing into p) and the raw signature. The whole
 * response must be valid JSON without duplicate keys. */
cloak_err dcap_pcs_split(const uint8_t *p, size_t len, const char *key, const uint8_t **body,
                         size_t *body_len, uint8_t sig[DCAP_RAW_SIG_BYTES], cloak_error *why);

/* json_span.c: the exact bytes of the value of top-level member `key` of the JSON object in
 * p[0,len). 0 on success; -1 if the text is not an object the scanner can walk, the key is
 * absent or present twice, or nesting is deeper than JSON_SPAN_MAX_DEPTH. The scanner checks
 * structure (strings, escapes, brackets) only; callers validate the JSON with a parser too. */
#define JSON_SPAN_MAX_DEPTH 64
int dcap_json_member_span(const uint8_t *p, size_t len, const char *key, size_t *off, size_t *vlen);

/* tcb.c: parse the two bodies into c->tcb and c->qe (structure and value ranges; no trust).
 * `tcb_name`/`qe_name` name the inputs in messages. */
cloak_err dcap_tcb_info_parse(const uint8_t *p, size_t len, const char *name, dcap_tcb_info *out,
                              cloak_error *why);
void dcap_tcb_info_free(dcap_tcb_info *t);
cloak_err dcap_qe_identity_parse(const uint8_t *p, size_t len, const char *name,
                                 dcap_qe_identity *out, cloak_error *why);
void dcap_qe_identity_free(dcap_qe_identity *q);
/* "YYYY-MM-DDTHH:MM:SSZ" (optionally with fractional seconds) -> time_t. 0 or -1. */
int dcap_parse_utc(const char *s, time_t *out);

#endif
