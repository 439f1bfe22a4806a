/* Intel DCAP quote parsing: header, body and signature data of SGX v3/v4 and TDX v4/v5 quotes
 * (attestation.md §1). Structure only -- dcap_verify.c decides whether to believe it.
 *
 * Every read goes through cloak_reader; sub-structures get a reader whose end is their
 * declared end, so a length can never reach past its container. Offsets in messages are from
 * the start of the input. */
#include "evidence/dcap_quote.h"

#include <string.h>

/* Intel's Quoting Enclave vendor id (attestation.md §1). */
static const uint8_t intel_qe_vendor[DCAP_QE_VENDOR_BYTES] = {
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

const char *dcap_body_name(dcap_body_type t)
{
    switch (t) {
    case DCAP_BODY_SGX:
        return "SGX report body";
    case DCAP_BODY_TD10:
        return "TD 1.0 quote body";
    case DCAP_BODY_TD15:
        return "TD 1.5 quote body";
    }
    return "unknown body";
}

static size_t body_size(dcap_body_type t)
{
    return t == DCAP_BODY_SGX    ? DCAP_SGX_BODY_BYTES
           : t == DCAP_BODY_TD10 ? DCAP_TD10_BODY_BYTES
                                 : DCAP_TD15_BODY_BYTES;
}

/* The header (48 bytes) and, for v5, the body descriptor; sets body_type and body_len. */
static cloak_err parse_header(cloak_reader *r, dcap_quote *q, cloak_error *why)
{
    uint16_t reserved_qe, reserved_pce;
    if (cloak_reader_left(r) < DCAP_HEADER_BYTES)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "quote is %zu bytes, shorter than the %d-byte quote header", r->len,
                               DCAP_HEADER_BYTES);
    cloak_take_u16le(r, &q->version);
    cloak_take_u16le(r, &q->att_key_type);
    cloak_take_u32le(r, &q->tee_type);
    cloak_take_u16le(r, &reserved_qe);
    cloak_take_u16le(r, &reserved_pce);
    cloak_take_ref(r, &q->qe_vendor_id, DCAP_QE_VENDOR_BYTES);
    cloak_take_ref(r, &q->user_data, DCAP_USER_DATA_BYTES);
    q->qe_svn = reserved_qe;
    q->pce_svn = reserved_pce;
    if (q->version < 3 || q->version > 5)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "quote version %u at offset 0x0 is not supported (3, 4 or 5)",
                               q->version);
    if (q->att_key_type != DCAP_ATT_KEY_ECDSA_P256)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "attestation key type %u at offset 0x2 is not supported "
                               "(only 2, ECDSA-256-with-P-256)",
                               q->att_key_type);
    if (q->tee_type != DCAP_TEE_SGX && q->tee_type != DCAP_TEE_TDX)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "TEE type 0x%x at offset 0x4 is neither SGX (0x0) nor TDX (0x81)",
                               q->tee_type);
    if (q->version == 3 && q->tee_type != DCAP_TEE_SGX)
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "a version 3 quote is SGX only, but the TEE type at offset 0x4 is 0x%x", q->tee_type);
    if (memcmp(q->qe_vendor_id, intel_qe_vendor, sizeof intel_qe_vendor) != 0)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "QE vendor id at offset 0xc is not Intel's "
                               "(939a7233f79c4ca9940a0db3957f0607)");
    if (q->version < 5) {
        /* v3/v4: the TEE type alone picks the body (attestation.md §1 "Body placement") */
        q->body_type = q->tee_type == DCAP_TEE_SGX ? DCAP_BODY_SGX : DCAP_BODY_TD10;
    } else {
        uint16_t bt;
        uint32_t bs;
        size_t at = r->off;
        if (cloak_take_u16le(r, &bt) || cloak_take_u32le(r, &bs))
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "v5 body type and size at offset 0x%zx run past the end of the "
                                   "input (%zu bytes)",
                                   at, r->len);
        if (bt < DCAP_BODY_SGX || bt > DCAP_BODY_TD15)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "v5 body type %u at offset 0x%zx is not 1 (SGX), 2 (TD 1.0) or "
                                   "3 (TD 1.5)",
                                   bt, at);
        q->body_type = (dcap_body_type)bt;
        if ((q->tee_type == DCAP_TEE_SGX) != (q->body_type == DCAP_BODY_SGX))
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "v5 body type %u at offset 0x%zx does not match the TEE type "
                                   "0x%x at offset 0x4",
                                   bt, at, q->tee_type);
        if (bs != body_size(q->body_type))
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "v5 body size %u at offset 0x%zx does not match body type %u "
                                   "(%zu bytes)",
                                   bs, at + 2, bt, body_size(q->body_type));
    }
    q->body_len = body_size(q->body_type);
    return CLOAK_OK;
}

/* The part shared by v3 signature data and v4+ QE report certification data: QE report,
 * its signature, QE auth data and cert data type 5. `r` ends where the container ends, and
 * the container must hold exactly these (Intel's layouts leave no slack inside). */
static cloak_err parse_qe_part(cloak_reader *r, dcap_quote *q, const char *container,
                               cloak_error *why)
{
    size_t at = r->off;
    q->qe_report_off = r->off;
    if (cloak_take_ref(r, &q->qe_report, DCAP_SGX_BODY_BYTES))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "QE report (%d bytes at offset 0x%zx) runs past the end of the %s "
                               "(offset 0x%zx)",
                               DCAP_SGX_BODY_BYTES, at, container, r->len);
    q->qe_report_sig_off = r->off;
    if (cloak_take_ref(r, &q->qe_report_sig, DCAP_SIG_BYTES))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "QE report signature at offset 0x%zx runs past the end of the %s "
                               "(offset 0x%zx)",
                               q->qe_report_sig_off, container, r->len);
    at = r->off;
    if (cloak_take_u16le(r, &q->qe_auth_len))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "QE auth data size at offset 0x%zx runs past the end of the %s", at,
                               container);
    q->qe_auth_off = r->off;
    if (cloak_take_ref(r, &q->qe_auth, q->qe_auth_len))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "QE auth data size %u at offset 0x%zx exceeds the %s (%zu bytes "
                               "left)",
                               q->qe_auth_len, at, container, r->len - q->qe_auth_off);
    q->qe_auth_end = r->off;
    at = r->off;
    if (cloak_take_u16le(r, &q->pck_cert_type) || cloak_take_u32le(r, &q->pck_pem_len))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "certification data type and size at offset 0x%zx run past the "
                               "end of the %s",
                               at, container);
    if (q->pck_cert_type != DCAP_CERT_PCK_CHAIN)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "certification data type %u at offset 0x%zx is not supported "
                               "(need 5, the PCK certificate chain)",
                               q->pck_cert_type, at);
    q->pck_pem_off = r->off;
    if (cloak_take_ref(r, &q->pck_pem, q->pck_pem_len))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "PCK certificate chain size %u at offset 0x%zx exceeds the %s "
                               "(%zu bytes left)",
                               q->pck_pem_len, at + 2, container, r->len - q->pck_pem_off);
    if (cloak_reader_left(r) != 0)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "%zu unexplained bytes at offset 0x%zx after the PCK certificate "
                               "chain, inside the %s",
                               cloak_reader_left(r), r->off, container);
    return CLOAK_OK;
}

/* Signature data (attestation.md §1): r reads [sig_data_off, quote_len). */
static cloak_err parse_sig_data(cloak_reader *r, dcap_quote *q, cloak_error *why)
{
    size_t at = r->off;
    if (cloak_take_ref(r, &q->quote_sig, DCAP_SIG_BYTES))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "signature data (%u bytes at offset 0x%zx) is too short for the "
                               "quote signature",
                               q->sig_data_len, at);
    q->att_key_off = r->off;
    if (cloak_take_ref(r, &q->att_key, DCAP_ATT_KEY_BYTES))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "signature data (%u bytes at offset 0x%zx) is too short for the "
                               "attestation key",
                               q->sig_data_len, at);
    if (q->version == 3) {
        /* v3: the QE report follows directly; the whole rest is QE part + cert data type 5 */
        q->outer_cert_type = DCAP_CERT_PCK_CHAIN;
        q->outer_cert_len = 0;
        return parse_qe_part(r, q, "signature data", why);
    }
    /* v4/v5, Intel "Quote Signature Data" + Table "QE Report Certification Data" (type 6) */
    at = r->off;
    if (cloak_take_u16le(r, &q->outer_cert_type) || cloak_take_u32le(r, &q->outer_cert_len))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "certification data type and size at offset 0x%zx run past the end "
                               "of the signature data",
                               at);
    if (q->outer_cert_type != DCAP_CERT_QE_REPORT)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "certification data type %u at offset 0x%zx is not 6 (QE report "
                               "certification data), which a version %u quote needs",
                               q->outer_cert_type, at, q->version);
    if (q->outer_cert_len != cloak_reader_left(r))
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "QE report certification data size %u at offset 0x%zx does not match "
            "the %zu bytes left in the signature data",
            q->outer_cert_len, at + 2, cloak_reader_left(r));
    return parse_qe_part(r, q, "QE report certification data", why);
}

/*
 * Trailing bytes: the quote ends at header + body + 4 + sig_data_len. Bytes after that are
 * accepted and ignored, as dcap-qvl and go-tdx-guest do: real buffers come zero-padded (the
 * 8000-byte TDX buffers, the 5006-byte ones in MANIFEST.md quirk 1) and nothing reads them --
 * they are outside the signed region and outside every length. Inside the quote there is no
 * slack: every nested length must fill its container exactly.
 */
cloak_err dcap_quote_parse(const uint8_t *p, size_t len, dcap_quote *out, cloak_error *why)
{
    dcap_quote q;
    cloak_reader r, s;
    cloak_err rc;
    memset(&q, 0, sizeof q);
    if (!p) return cloak_error_set(why, CLOAK_EINVAL, "no quote bytes");
    cloak_reader_init(&r, p, len);
    q.p = p;
    q.buf_len = len;
    if ((rc = parse_header(&r, &q, why)) != CLOAK_OK) return rc;
    q.body_off = r.off;
    if (cloak_take_ref(&r, &q.body, q.body_len))
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "quote body (%s, %zu bytes at offset 0x%zx) runs past the end of the "
            "input (%zu bytes)",
            dcap_body_name(q.body_type), q.body_len, q.body_off, len);
    q.signed_len = r.off;
    if (cloak_take_u32le(&r, &q.sig_data_len))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "signature data length at offset 0x%zx runs past the end of the "
                               "input (%zu bytes)",
                               q.signed_len, len);
    q.sig_data_off = r.off;
    if (q.sig_data_len > cloak_reader_left(&r))
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "signature data length %u at offset 0x%zx exceeds the %zu bytes left "
            "in the input",
            q.sig_data_len, q.signed_len, cloak_reader_left(&r));
    q.quote_len = q.sig_data_off + q.sig_data_len;
    /* a reader that ends where the quote ends; offsets stay absolute */
    cloak_reader_init(&s, p, q.quote_len);
    s.off = q.sig_data_off;
    if ((rc = parse_sig_data(&s, &q, why)) != CLOAK_OK) return rc;
    *out = q;
    return CLOAK_OK;
}

/* ---- body fields (attestation.md §1 tables; names from docs/CLAIMS.md) ---- */

static const dcap_field sgx_fields[] = {
    /* the report's CPUSVN; the cpu_svn claim comes from the PCK certificate's TCB */
    {"cpu_svn", SGX_OFF_CPUSVN, 16, DCAP_F_HEX, 0},
    {"misc_select", SGX_OFF_MISCSELECT, 4, DCAP_F_U32, 1},
    {"isv_ext_prod_id", SGX_OFF_ISVEXTPRODID, 16, DCAP_F_HEX, 1},
    {"attributes", SGX_OFF_ATTRIBUTES, 16, DCAP_F_HEX, 1},
    {"mrenclave", SGX_OFF_MRENCLAVE, 32, DCAP_F_HEX, 1},
    {"mrsigner", SGX_OFF_MRSIGNER, 32, DCAP_F_HEX, 1},
    {"config_id", SGX_OFF_CONFIGID, 64, DCAP_F_HEX, 1},
    {"isv_prod_id", SGX_OFF_ISVPRODID, 2, DCAP_F_U16, 1},
    {"isv_svn", SGX_OFF_ISVSVN, 2, DCAP_F_U16, 1},
    {"config_svn", SGX_OFF_CONFIGSVN, 2, DCAP_F_U16, 1},
    {"isv_family_id", SGX_OFF_ISVFAMILYID, 16, DCAP_F_HEX, 1},
    {"report_data", SGX_OFF_REPORTDATA, SGX_REPORTDATA_BYTES, DCAP_F_HEX, 1},
    {NULL, 0, 0, DCAP_F_HEX, 0},
};

#define TD10_FIELDS                                                                                \
    {"tee_tcb_svn", TD_OFF_TEE_TCB_SVN, 16, DCAP_F_HEX, 1},                                        \
        {"mrseam", TD_OFF_MRSEAM, 48, DCAP_F_HEX, 1},                                              \
        {"mrsignerseam", TD_OFF_MRSIGNERSEAM, 48, DCAP_F_HEX, 1},                                  \
        {"seam_attributes", TD_OFF_SEAMATTRIBUTES, 8, DCAP_F_HEX, 1},                              \
        {"td_attributes", TD_OFF_TDATTRIBUTES, 8, DCAP_F_HEX, 1},                                  \
        {"xfam", TD_OFF_XFAM, 8, DCAP_F_HEX, 1}, {"mrtd", TD_OFF_MRTD, 48, DCAP_F_HEX, 1},         \
        {"mrconfigid", TD_OFF_MRCONFIGID, 48, DCAP_F_HEX, 1},                                      \
        {"mrowner", TD_OFF_MROWNER, 48, DCAP_F_HEX, 1},                                            \
        {"mrownerconfig", TD_OFF_MROWNERCONFIG, 48, DCAP_F_HEX, 1},                                \
        {"rtmr0", TD_OFF_RTMR0, 48, DCAP_F_HEX, 1},                                                \
        {"rtmr1", TD_OFF_RTMR0 + 48, 48, DCAP_F_HEX, 1},                                           \
        {"rtmr2", TD_OFF_RTMR0 + 96, 48, DCAP_F_HEX, 1},                                           \
        {"rtmr3", TD_OFF_RTMR0 + 144, 48, DCAP_F_HEX, 1},                                          \
    {                                                                                              \
        "report_data", TD_OFF_REPORTDATA, 64, DCAP_F_HEX, 1                                        \
    }
_Static_assert(TD_OFF_RTMR0 + 192 == TD_OFF_REPORTDATA, "RTMR0..3 precede REPORTDATA");

static const dcap_field td10_fields[] = {TD10_FIELDS, {NULL, 0, 0, DCAP_F_HEX, 0}};
static const dcap_field td15_fields[] = {
    TD10_FIELDS,
    {"tee_tcb_svn2", TD_OFF_TEE_TCB_SVN2, 16, DCAP_F_HEX, 1},
    {"mrservicetd", TD_OFF_MRSERVICETD, 48, DCAP_F_HEX, 1},
    {NULL, 0, 0, DCAP_F_HEX, 0},
};

const dcap_field *dcap_sgx_fields(void)
{
    return sgx_fields;
}

const dcap_field *dcap_td_fields(dcap_body_type t)
{
    return t == DCAP_BODY_TD15 ? td15_fields : td10_fields;
}

void dcap_fields_to_json(json_t *o, const dcap_field *f, const uint8_t *body, int claims_only)
{
    for (; f->name; f++) {
        if (claims_only && !f->claim) continue;
        switch (f->kind) {
        case DCAP_F_HEX:
            ev_set_hex(o, f->name, body + f->off, f->len);
            break;
        case DCAP_F_U16:
            json_object_set_new(o, f->name, json_integer(cloak_get_u16le(body + f->off)));
            break;
        case DCAP_F_U32:
            json_object_set_new(o, f->name, json_integer(cloak_get_u32le(body + f->off)));
            break;
        }
    }
}
