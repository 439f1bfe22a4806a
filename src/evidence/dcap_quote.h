/*
 * Private to src/evidence: Intel DCAP ECDSA quotes (SGX v3/v4, TDX v4/v5) -- the parsed view
 * (dcap_quote.c), the PCK certificate chain and its SGX extension (dcap_pck.c), and the raw
 * ECDSA helpers that dcap_verify.c uses. Layouts: shared/reference/attestation.md §1, from
 * Intel's "ECDSA Quote Library API" (Tables "Quote Header", "SGX Report Body", "TD Quote
 * Body", "Quote Signature Data", "QE Report Certification Data").
 *
 * A dcap_quote points into the caller's buffer: it owns nothing and lives as long as the
 * buffer. Parsing checks structure only (every length against its container, the header
 * values Intel's QVL accepts); nothing here is trusted until dcap_verify has checked the
 * signatures and the chain.
 */
#ifndef CLOAK_DCAP_QUOTE_H
#define CLOAK_DCAP_QUOTE_H

#include "evidence/evidence_int.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Quote header (Intel DCAP, "Quote Header", 48 bytes). */
#define DCAP_HEADER_BYTES 48
#define DCAP_ATT_KEY_ECDSA_P256 2
#define DCAP_TEE_SGX 0x00000000u
#define DCAP_TEE_TDX 0x00000081u
#define DCAP_QE_VENDOR_BYTES 16
#define DCAP_USER_DATA_BYTES 20
_Static_assert(2 + 2 + 4 + 2 + 2 + DCAP_QE_VENDOR_BYTES + DCAP_USER_DATA_BYTES == DCAP_HEADER_BYTES,
               "DCAP quote header is 48 bytes");
/* v5 only: u16 body_type, u32 body_size between the header and the body. */
#define DCAP_V5_BODY_DESC_BYTES 6

/* Bodies. */
#define DCAP_SGX_BODY_BYTES 384  /* SGX report body; also the QE report */
#define DCAP_TD10_BODY_BYTES 584 /* TDX 1.0 TD quote body */
#define DCAP_TD15_BODY_BYTES 648 /* TDX 1.5: TD10 + TEE_TCB_SVN_2 (16) + MRSERVICETD (48) */
_Static_assert(DCAP_TD15_BODY_BYTES == DCAP_TD10_BODY_BYTES + 16 + 48, "TD15 = TD10 + 64 bytes");
_Static_assert(DCAP_HEADER_BYTES + DCAP_SGX_BODY_BYTES == 432, "SGX v3/v4 signed region [0,432)");
_Static_assert(DCAP_HEADER_BYTES + DCAP_TD10_BODY_BYTES == 632, "TDX v4 signed region [0,632)");

/* SGX report body offsets (attestation.md §1, "SGX report body"). */
#define SGX_OFF_CPUSVN 0
#define SGX_OFF_MISCSELECT 16
#define SGX_OFF_ISVEXTPRODID 32
#define SGX_OFF_ATTRIBUTES 48
#define SGX_OFF_MRENCLAVE 64
#define SGX_OFF_MRSIGNER 128
#define SGX_OFF_CONFIGID 192
#define SGX_OFF_ISVPRODID 256
#define SGX_OFF_ISVSVN 258
#define SGX_OFF_CONFIGSVN 260
#define SGX_OFF_ISVFAMILYID 304
#define SGX_OFF_REPORTDATA 320
#define SGX_REPORTDATA_BYTES 64
_Static_assert(SGX_OFF_REPORTDATA + SGX_REPORTDATA_BYTES == DCAP_SGX_BODY_BYTES,
               "REPORTDATA ends the SGX report body");
#define SGX_ATTR_DEBUG 0x2u /* ATTRIBUTES.flags bit 1 */

/* TD quote body offsets (attestation.md §1, "TDX TD quote body"). */
#define TD_OFF_TEE_TCB_SVN 0
#define TD_OFF_MRSEAM 16
#define TD_OFF_MRSIGNERSEAM 64
#define TD_OFF_SEAMATTRIBUTES 112
#define TD_OFF_TDATTRIBUTES 120
#define TD_OFF_XFAM 128
#define TD_OFF_MRTD 136
#define TD_OFF_MRCONFIGID 184
#define TD_OFF_MROWNER 232
#define TD_OFF_MROWNERCONFIG 280
#define TD_OFF_RTMR0 328
#define TD_OFF_REPORTDATA 520
#define TD_OFF_TEE_TCB_SVN2 584
#define TD_OFF_MRSERVICETD 600
_Static_assert(TD_OFF_REPORTDATA + 64 == DCAP_TD10_BODY_BYTES, "REPORTDATA ends the TD10 body");
_Static_assert(TD_OFF_MRSERVICETD + 48 == DCAP_TD15_BODY_BYTES, "MRSERVICETD ends the TD15 body");
#define TD_ATTR_DEBUG 0x1u /* TDATTRIBUTES bit 0 */

/* Signature data (attestation.md §1, "Signature data"). */
#define DCAP_SIG_BYTES 64     /* ECDSA P-256 r||s, big-endian */
#define DCAP_ATT_KEY_BYTES 64 /* P-256 point x||y, big-endian, no 0x04 prefix */
#define DCAP_CERT_PCK_CHAIN 5 /* PEM: PCK leaf | PCK CA | root */
#define DCAP_CERT_QE_REPORT 6 /* QE report certification data (v4+) */
/* v3: sig(64) att_key(64) qe_report(384) qe_sig(64) u16 auth_size -- then auth data */
#define DCAP_V3_SIG_FIXED                                                                          \
    (DCAP_SIG_BYTES + DCAP_ATT_KEY_BYTES + DCAP_SGX_BODY_BYTES + DCAP_SIG_BYTES + 2)
_Static_assert(DCAP_V3_SIG_FIXED == 578, "v3 QE auth data size sits at signature data offset 576");

typedef enum {
    DCAP_BODY_SGX = 1,  /* v5 body_type 1 (and v3, v4 with tee_type 0) */
    DCAP_BODY_TD10 = 2, /* v5 body_type 2 (and v4 with tee_type 0x81) */
    DCAP_BODY_TD15 = 3, /* v5 body_type 3 */
} dcap_body_type;

/* A parsed quote. Pointers go into the input; *_off are offsets from the start of it. */
typedef struct {
    const uint8_t *p; /* the input */
    size_t buf_len;   /* the input's length */
    size_t quote_len; /* header + body + 4 + sig_data_len (<= buf_len) */
    uint16_t version;
    uint16_t att_key_type;
    uint32_t tee_type;
    uint16_t qe_svn, pce_svn; /* v3 header; reserved in v4+ */
    const uint8_t *qe_vendor_id;
    const uint8_t *user_data;
    dcap_body_type body_type;
    const uint8_t *body;
    size_t body_len, body_off;
    size_t signed_len; /* signed region is [0, signed_len) */
    uint32_t sig_data_len;
    size_t sig_data_off;
    const uint8_t *quote_sig; /* 64 */
    const uint8_t *att_key;   /* 64 */
    size_t att_key_off;
    uint16_t outer_cert_type; /* 5 (v3) or 6 (v4+) */
    uint32_t outer_cert_len;
    const uint8_t *qe_report; /* 384 */
    size_t qe_report_off;
    const uint8_t *qe_report_sig; /* 64 */
    size_t qe_report_sig_off;
    const uint8_t *qe_auth;
    uint16_t qe_auth_len;
    size_t qe_auth_off;
    size_t qe_auth_end;     /* offset just past the QE auth data */
    uint16_t pck_cert_type; /* always 5 once parsed */
    const uint8_t *pck_pem; /* the PCK chain, PEM, possibly NUL-terminated */
    uint32_t pck_pem_len;
    size_t pck_pem_off;
} dcap_quote;

/* Parse (structure only). Accepts trailing bytes after quote_len (see dcap_quote.c). */
cloak_err dcap_quote_parse(const uint8_t *p, size_t len, dcap_quote *out, cloak_error *why);
static inline int dcap_quote_is_tdx(const dcap_quote *q)
{
    return q->body_type != DCAP_BODY_SGX;
}
/* "SGX report body", "TD 1.0 quote body", "TD 1.5 quote body". */
const char *dcap_body_name(dcap_body_type t);

/* One field of a report body, for claims and for `show`. */
typedef enum { DCAP_F_HEX, DCAP_F_U16, DCAP_F_U32 } dcap_field_kind;
typedef struct {
    const char *name; /* the docs/CLAIMS.md key */
    uint16_t off, len;
    dcap_field_kind kind;
    int claim; /* 1: a claim for verified evidence; 0: shown by `show` only */
} dcap_field;
/* Field tables for each body type; terminated by name == NULL. */
const dcap_field *dcap_sgx_fields(void);
const dcap_field *dcap_td_fields(dcap_body_type t);
/* Set the fields (claims only if claims_only) of a body into a JSON object. */
void dcap_fields_to_json(json_t *o, const dcap_field *f, const uint8_t *body, int claims_only);

/* ---- raw ECDSA P-256 (dcap_pck.c) ---- */
/* The attestation key x||y as an EVP_PKEY (the point must be on P-256). */
cloak_err dcap_p256_key(const uint8_t xy[DCAP_ATT_KEY_BYTES], EVP_PKEY **out, cloak_error *why);
/* 1 if r||s is a valid ECDSA-SHA256 signature of msg under key; 0 otherwise. */
int dcap_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t len,
                      const uint8_t sig[DCAP_SIG_BYTES]);

/* ---- the PCK chain (dcap_pck.c) ---- */
typedef struct {
    X509 *leaf; /* "Intel SGX PCK Certificate" */
    X509 *ca;   /* "Intel SGX PCK Platform CA" or "... Processor CA" */
    X509 *root; /* as carried in the quote; verification uses the pinned anchor */
} dcap_pck_chain;

/* Parse the PEM cert data type 5: exactly leaf, CA, root. */
cloak_err dcap_pck_chain_load(const uint8_t *pem, size_t len, dcap_pck_chain *out,
                              cloak_error *why);
void dcap_pck_chain_free(dcap_pck_chain *c);
/* Pin the root to the trust's Intel root (or the development root when trusted), check
 * each certificate's validity at `at` and verify the chain with OpenSSL, the pinned root as
 * the only anchor. `sigs_known`: this exact chain already verified under this trust (the
 * trust's chain cache), so only the pin, shape and times are checked again. *anchor (borrowed
 * from t) and *is_sim are set on success. */
cloak_err dcap_pck_chain_verify(const dcap_pck_chain *c, const cloak_trust *t, time_t at,
                                int sigs_known, X509 **anchor, int *is_sim, cloak_error *why);
/* Revocation (attestation.md §2 step 3): the CA's serial is not on the root CA CRL (issued by
 * the root), the leaf's serial is not on the PCK CRL (issued and signed by the chain's CA).
 * The CRLs' own signatures and times are the collateral module's job. */
/* crl_sig_known: the PCK CRL's signature was already verified under this very CA certificate
 * (dcap_collateral_check verifies it under the collateral's PCK CRL issuer). */
cloak_err dcap_pck_check_revocation(const dcap_pck_chain *c, X509 *root, X509_CRL *root_crl,
                                    X509_CRL *pck_crl, int crl_sig_known, cloak_error *why);

/* The PCK SGX extension (OID 1.2.840.113741.1.13.1), every field. */
typedef struct {
    dcap_pck_tcb tcb;
    uint8_t ppid[16];
    int sgx_type; /* 0 Standard, 1 Scalable, 2 ScalableWithIntegrity */
} dcap_pck_ext;
cloak_err dcap_pck_parse_ext(X509 *leaf, dcap_pck_ext *out, cloak_error *why);

/* "CN=..." of a certificate's subject for messages (static buffer per call site). */
void dcap_cert_cn(X509 *x, char *out, size_t cap);

#endif
