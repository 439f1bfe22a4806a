/*
 * Private to the SEV-SNP back end (snp.c, snp_certs.c): the parsed attestation report, the
 * VCEK/VLEK extensions and the certificate chain check. Layout references are to the AMD SEV-SNP
 * Firmware ABI specification 56860 (Table "ATTESTATION_REPORT Structure") and the AMD KDS
 * specification 57230 (VCEK/VLEK certificate extensions).
 *
 * Nothing here reads the wall clock; everything is reentrant.
 */
#ifndef CLOAK_SNP_INT_H
#define CLOAK_SNP_INT_H

#include "evidence/evidence_int.h"

#include <openssl/x509.h>

#define SNP_REPORT_SIZE 0x4A0u /* 1184 bytes, the whole ATTESTATION_REPORT */
#define SNP_SIGNED_SIZE 0x2A0u /* the signature covers bytes [0, 0x2A0) */
#define SNP_SIG_OFFSET 0x2A0u
#define SNP_SIG_COMPONENT 72u /* R and S: 72-byte little-endian integers */
#define SNP_P384_BYTES 48u    /* only the low 48 bytes of R and S may be non-zero */
#define SNP_SIG_SIZE 512u

#define SNP_VERSION_MIN 2u /* go-sev-guest abi.MinSupportedReportVersion */
#define SNP_VERSION_MAX 5u /* go-sev-guest abi.MaxSupportedReportVersion */
#define SNP_SIG_ALGO_ECDSA_P384_SHA384 1u

/* KEY_INFO.SIGNING_KEY (bits 4:2) */
enum { SNP_KEY_VCEK = 0, SNP_KEY_VLEK = 1, SNP_KEY_NONE = 7 };

/* POLICY bits (ABI 56860, GUEST_POLICY) */
#define SNP_POLICY_SMT (1ull << 16)
#define SNP_POLICY_RESERVED_ONE (1ull << 17)
#define SNP_POLICY_MIGRATE_MA (1ull << 18)
#define SNP_POLICY_DEBUG (1ull << 19)
#define SNP_POLICY_SINGLE_SOCKET (1ull << 20)
#define SNP_POLICY_KNOWN_MASK ((1ull << 26) - 1) /* bits 26..63 must be zero */

/* One TCB_VERSION decoded with the product's layout. fmc is only meaningful for Turin. */
typedef struct {
    uint8_t fmc, bootloader, tee, snp, microcode;
} snp_tcb;

/* Every field of the report, copied out by snp_report_parse. */
typedef struct {
    uint32_t version, guest_svn, vmpl, sig_algo, key_info;
    uint64_t policy, platform_info;
    uint8_t family_id[16], image_id[16];
    uint8_t current_tcb[8], reported_tcb[8], committed_tcb[8], launch_tcb[8];
    uint8_t report_data[64], measurement[48], host_data[32];
    uint8_t id_key_digest[48], author_key_digest[48], report_id[32], report_id_ma[32];
    uint8_t cpuid_fam, cpuid_mod, cpuid_step; /* version >= 3; zero before */
    uint8_t chip_id[64];
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint64_t launch_mit_vector, current_mit_vector; /* version >= 5; zero before */
    uint8_t sig_r[SNP_SIG_COMPONENT], sig_s[SNP_SIG_COMPONENT];
} snp_report;

static inline unsigned snp_signing_key(const snp_report *r)
{
    return (r->key_info >> 2) & 7u;
}

/* Read all fields from exactly SNP_REPORT_SIZE bytes. With `strict`, also apply the format
 * checks (version 2..5, SIGNATURE_ALGO 1, reserved/MBZ fields zero, POLICY bit 17 set, KEY_INFO
 * reserved values refused) and fail with a message naming the field and its offset. Without
 * `strict` (snp_show) only the size is checked. */
cloak_err snp_report_parse(const uint8_t *p, size_t len, int strict, snp_report *r,
                           cloak_error *why);

/* Product from the report's CPUID fields (version >= 3): SNP_MILAN/GENOA/TURIN, or -1. */
int snp_product_from_cpuid(uint8_t family, uint8_t model);
/* Product from a name ("Milan", "Milan-B0", "Genoa", "Turin"): the part before '-' must be
 * exactly a product name. -1 if unknown. */
int snp_product_from_name(const char *name);
const char *snp_product_name(int product);
/* TCB_VERSION layout: Milan/Genoa [0] BL [1] TEE [6] SNP [7] ucode; Turin [0] FMC [1] BL
 * [2] TEE [3] SNP [7] ucode. */
void snp_tcb_decode(const uint8_t raw[8], int product, snp_tcb *t);

/* VCEK/VLEK extensions (OID prefix 1.3.6.1.4.1.3704.1.). SPL values are -1 when absent. */
typedef struct {
    char product_name[32]; /* "" when absent */
    int bl_spl, tee_spl, snp_spl, ucode_spl, fmc_spl;
    uint8_t hwid[64];
    size_t hwid_len; /* 0 when absent; 64 (Milan, Genoa) or 8 (Turin) */
} snp_vek_ext;

/* Decode the extensions with OpenSSL's ASN.1 decoders. hwID is accepted both as the raw 64
 * bytes (older KDS certificates, no DER tag) and as a DER OCTET STRING; SPLs are DER INTEGERs
 * 0..255. A duplicated or undecodable extension is an error. */
cloak_err snp_vek_ext_parse(X509 *cert, snp_vek_ext *e, cloak_error *why);

/* Compare the extensions with REPORTED_TCB (decoded for `product`) and, for a VCEK, hwID with
 * CHIP_ID (skipped when CHIP_ID is all zero: MASK_CHIP_ID). */
cloak_err snp_vek_ext_check(const snp_vek_ext *e, const snp_report *r, int product, int is_vlek,
                            cloak_error *why);

/* The verified endorsement key: the VCEK or VLEK, its product and extensions. */
typedef struct {
    X509 *vek; /* owned */
    int product;
    snp_vek_ext ext;
} snp_chain;
void snp_chain_clear(snp_chain *c);

/* From opts->certs pick the VCEK (signing_key 0) or VLEK (1), decide the product from its issuer
 * CN, its productName extension and (cpuid_product >= 0) the report's CPUID, which must all
 * agree; anchor at the built-in ARK of that product (a supplied ARK must be identical); take the
 * ASK/ASVK from the input or the built-in copy; check each RSASSA-PSS signature (SHA-384,
 * MGF1-SHA-384, salt 48) and each certificate's validity at opts->at. */
cloak_err snp_chain_verify(const cloak_verify_opts *o, unsigned signing_key, int cpuid_product,
                           snp_chain *out, cloak_error *why);

/* RFC 3339 of an ASN1_TIME for messages ("?" if it does not convert). */
void snp_asn1_time_str(const ASN1_TIME *t, char out[32]);

#endif
