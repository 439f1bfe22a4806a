/*
 * First checks on evidence bytes that came back from the kernel and host: is it the kind of
 * thing we asked for, are its lengths consistent, and does it carry our report data? A
 * mismatch means the host answered another request or lied; verification (cloak/evidence.h)
 * is still the caller's job.
 */
#include "attester/attester_int.h"

#include <string.h>

/* AMD SEV-SNP ABI 56860, Table 22: REPORT_DATA at 0x50. The largest report the ioctl can carry
 * is its 4000-byte response minus the 32-byte MSG_REPORT_RSP header (Table 25). */
#define SNP_REPORT_DATA_OFF 0x50
#define SNP_REPORT_MAX (4000 - 32)
_Static_assert(CLOAK_SNP_REPORT_BYTES == 1184, "SNP report size (ABI 56860 Table 22)");

/* Intel DCAP quote: header 48 bytes; TD10 body 584, TD15 body 648; REPORTDATA at body+520
 * (docs: shared reference attestation.md section 1). */
#define DCAP_HEADER 48
#define TD10_BODY 584
#define TD15_BODY 648
#define TD_REPORT_DATA_OFF 520
#define DCAP_TEE_TDX 0x81u

/* TDX module ABI: REPORTMACSTRUCT (the first 256 bytes of TDREPORT) has REPORTDATA at 128. */
#define TDREPORT_REPORT_DATA_OFF 128

static cloak_err mismatch(cloak_error *why, const char *what, size_t off)
{
    return cloak_error_set(why, CLOAK_EVERIFY,
                           "the %s's report data (offset 0x%zx) differs from the report data "
                           "asked for: the host answered another request",
                           what, off);
}

cloak_err att_check_snp_report(const uint8_t *p, size_t len, const uint8_t rd[64], cloak_error *why)
{
    if (len < CLOAK_SNP_REPORT_BYTES || len > SNP_REPORT_MAX)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "SEV-SNP report is %zu bytes; expected %u (at most %u)", len,
                               (unsigned)CLOAK_SNP_REPORT_BYTES, (unsigned)SNP_REPORT_MAX);
    if (memcmp(p + SNP_REPORT_DATA_OFF, rd, 64))
        return mismatch(why, "SEV-SNP report", SNP_REPORT_DATA_OFF);
    return CLOAK_OK;
}

cloak_err att_check_tdx_quote(const uint8_t *p, size_t len, const uint8_t rd[64], cloak_error *why)
{
    cloak_reader r;
    uint16_t version = 0, akt = 0, body_type = 0;
    uint32_t tee = 0, body_size = TD10_BODY, sig_len = 0;
    const uint8_t *body = NULL;
    cloak_reader_init(&r, p, len);
    cloak_take_u16le(&r, &version);
    cloak_take_u16le(&r, &akt);
    cloak_take_u32le(&r, &tee);
    if (r.failed || len < DCAP_HEADER)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "TDX quote is %zu bytes: shorter than the 48-byte quote header",
                               len);
    if ((version != 4 && version != 5) || tee != DCAP_TEE_TDX)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "not a TDX quote: version %u, TEE type 0x%x (expected version 4 "
                               "or 5 and TEE type 0x81)",
                               version, tee);
    const uint8_t *rest_of_header = NULL;
    cloak_take_ref(&r, &rest_of_header, DCAP_HEADER - 8);
    if (version == 5) {
        /* v5: u16 body type (2 = TD10, 3 = TD15), u32 body size, then the body */
        cloak_take_u16le(&r, &body_type);
        cloak_take_u32le(&r, &body_size);
        if (r.failed || !((body_type == 2 && body_size == TD10_BODY) ||
                          (body_type == 3 && body_size == TD15_BODY)))
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "TDX quote v5 body type %u with size %u is not a TD report "
                                   "body (type 2 / 584 or type 3 / 648 bytes)",
                                   body_type, body_size);
    }
    size_t body_off = r.off;
    if (cloak_take_ref(&r, &body, body_size) || cloak_take_u32le(&r, &sig_len) ||
        sig_len > cloak_reader_left(&r))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "TDX quote is truncated: %zu bytes cannot hold its %u-byte body "
                               "and %u-byte signature data",
                               len, body_size, sig_len);
    /* Bytes after the signature data are allowed: quote services pad their buffers. */
    if (memcmp(body + TD_REPORT_DATA_OFF, rd, 64))
        return mismatch(why, "TDX quote", body_off + TD_REPORT_DATA_OFF);
    return CLOAK_OK;
}

cloak_err att_check_tdreport(const uint8_t *p, size_t len, const uint8_t rd[64], cloak_error *why)
{
    if (len != CLOAK_TDREPORT_BYTES)
        return cloak_error_set(why, CLOAK_EINVAL, "TDREPORT is %zu bytes; expected %u", len,
                               (unsigned)CLOAK_TDREPORT_BYTES);
    if (memcmp(p + TDREPORT_REPORT_DATA_OFF, rd, 64))
        return mismatch(why, "TDREPORT", TDREPORT_REPORT_DATA_OFF);
    return CLOAK_OK;
}
