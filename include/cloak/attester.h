/*
 * cloak attester: get attestation evidence from inside a confidential VM (an AMD SEV-SNP or
 * Intel TDX guest) for 64 bytes of report data, through the guest kernel's interfaces:
 *
 *   1. configfs-tsm (Linux >= 6.7): /sys/kernel/config/tsm/report. SEV-SNP: the attestation
 *      report plus the host's certificate table (VCEK or VLEK, ASK, ARK). TDX: a DCAP quote
 *      (the kernel asks the host's Quote Generation Service for it).
 *   2. /dev/sev-guest: ioctl SNP_GET_EXT_REPORT. The SNP report plus the certificate table.
 *   3. /dev/tdx_guest: ioctl TDX_CMD_GET_REPORT0. Only a TDREPORT: MAC'd by the CPU for this
 *      machine, not signed, so nobody else can verify it. It is never chosen automatically:
 *      ask for it explicitly (provider CLOAK_ATTESTER_TDX_GUEST or allow_tdreport).
 *
 * Automatic selection tries them in that order. docs/ATTESTER.md has the details.
 *
 * Trust: the host (hypervisor, VMM, quote service) is hostile. Everything the kernel hands back
 * -- outblob, auxblob, ioctl replies -- is length-checked and parsed with bounds checks, and the
 * report data inside the evidence must equal the report data asked for. Collection proves
 * nothing by itself: verify the evidence (cloak/evidence.h) where it is relied on.
 *
 * Thread-safety: a cloak_attester is immutable after open; several threads may call
 * cloak_attester_get_evidence on it at once (each configfs-tsm request uses its own report
 * entry; the kernel serialises the ioctls).
 */
#ifndef CLOAK_ATTESTER_H
#define CLOAK_ATTESTER_H

#include "cloak/base.h"
#include "cloak/evidence.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_ATTESTER_REPORT_DATA_BYTES 64
#define CLOAK_SNP_REPORT_BYTES 0x4A0 /* AMD SEV-SNP ABI 56860, Table 22: ATTESTATION_REPORT */
#define CLOAK_TDREPORT_BYTES 1024    /* <linux/tdx-guest.h> TDX_REPORT_LEN */
#define CLOAK_ATTESTER_MAX_CERTS 4   /* VCEK, VLEK, ASK (or ASVK), ARK */
#define CLOAK_ATTESTER_VMPL_DEFAULT (-1)

typedef enum {
    CLOAK_ATTESTER_AUTO = 0,
    CLOAK_ATTESTER_CONFIGFS_TSM = 1, /* /sys/kernel/config/tsm/report */
    CLOAK_ATTESTER_SEV_GUEST = 2,    /* /dev/sev-guest */
    CLOAK_ATTESTER_TDX_GUEST = 3,    /* /dev/tdx_guest (TDREPORT only) */
} cloak_attester_provider;

typedef enum {
    CLOAK_EVIDENCE_FORMAT_NONE = 0,
    CLOAK_EVIDENCE_SNP_REPORT = 1,   /* SEV-SNP attestation report (1184 bytes) */
    CLOAK_EVIDENCE_TDX_QUOTE = 2,    /* Intel DCAP quote v4/v5 with a TD body */
    CLOAK_EVIDENCE_TDX_TDREPORT = 3, /* TDREPORT: local-only, not verifiable elsewhere */
} cloak_evidence_format;

/* Which certificate of the SEV-SNP certificate table (GHCB spec 56421, MSG_REPORT_REQ). */
typedef enum {
    CLOAK_SNP_CERT_VCEK = 0,
    CLOAK_SNP_CERT_VLEK = 1,
    CLOAK_SNP_CERT_ASK = 2, /* ASK, or the ASVK when the report is VLEK-signed */
    CLOAK_SNP_CERT_ARK = 3,
} cloak_snp_cert_kind;

/* Evidence as collected. Zero-initialise; free the contents with cloak_evidence_blob_free.
 * certs/cert_lens fit cloak_verify_opts.certs/cert_lens directly. */
typedef struct {
    cloak_attester_provider provider; /* the interface it came from */
    cloak_tee_type tee;               /* CLOAK_TEE_SNP or CLOAK_TEE_TDX */
    cloak_evidence_format format;
    uint8_t *evidence; /* the bytes as the kernel returned them */
    size_t evidence_len;
    /* SEV-SNP only: the host's certificates, DER (PEM entries are converted), in the order
     * VCEK, VLEK, ASK, ARK with absent ones left out. ncerts is 0 when the host supplied none:
     * fetch them from AMD KDS then. The pointers point into cert_store. */
    size_t ncerts;
    const uint8_t *certs[CLOAK_ATTESTER_MAX_CERTS];
    size_t cert_lens[CLOAK_ATTESTER_MAX_CERTS];
    cloak_snp_cert_kind cert_kinds[CLOAK_ATTESTER_MAX_CERTS];
    uint8_t *cert_store; /* owns the certificate bytes */
} cloak_evidence_blob;

/* Free what the blob holds and zero it (the struct itself is the caller's). */
void cloak_evidence_blob_free(cloak_evidence_blob *b);

typedef struct cloak_attester cloak_attester;

typedef struct {
    const char *root; /* prefix for every path; NULL or "/" = the real root (tests pass a tree) */
    cloak_attester_provider provider; /* CLOAK_ATTESTER_AUTO: choose (see above) */
    int vmpl;           /* SEV-SNP VMPL to put in the report, 0..3; CLOAK_ATTESTER_VMPL_DEFAULT: the
                         * kernel's lowest permitted (configfs-tsm privlevel_floor), 0 for /dev/sev-guest */
    int allow_tdreport; /* AUTO may fall back to /dev/tdx_guest's TDREPORT */
} cloak_attester_opts;

/* Defaults: real root, automatic choice, default VMPL, no TDREPORT. */
void cloak_attester_opts_init(cloak_attester_opts *o);

/* Find the guest interface (automatic choice with default options) under `root`. Fails with
 * CLOAK_ENOTFOUND and a message listing the paths tried when there is none. */
cloak_err cloak_attester_open(const char *root, cloak_attester **out,
                              cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_attester_open_opts(const cloak_attester_opts *opts, cloak_attester **out,
                                   cloak_error *why) CLOAK_MUST_CHECK;

/* The chosen interface and the TEE behind it. */
cloak_attester_provider cloak_attester_kind(const cloak_attester *a);
cloak_tee_type cloak_attester_tee(const cloak_attester *a);
/* "configfs-tsm", "sev-guest", "tdx-guest" (or "auto"); NULL for anything else. */
const char *cloak_attester_provider_name(cloak_attester_provider p);
/* "sevsnp-report", "tdx-quote", "tdreport"; NULL for anything else. */
const char *cloak_evidence_format_name(cloak_evidence_format f);
/* "vcek", "vlek", "ask", "ark"; NULL for anything else. */
const char *cloak_snp_cert_kind_name(cloak_snp_cert_kind k);

/* Ask the guest kernel for evidence binding `report_data`. On success *out holds the evidence
 * (and for SEV-SNP the certificates the host supplied); free it with cloak_evidence_blob_free.
 * On failure *out is untouched. */
cloak_err cloak_attester_get_evidence(cloak_attester *a,
                                      const uint8_t report_data[CLOAK_ATTESTER_REPORT_DATA_BYTES],
                                      cloak_evidence_blob *out, cloak_error *why) CLOAK_MUST_CHECK;

void cloak_attester_free(cloak_attester *a);

#ifdef __cplusplus
}
#endif
#endif
