/*
 * AMD SEV-SNP attestation reports: parse (snp_show) and verify (snp_verify).
 *
 * Layout: AMD SEV-SNP Firmware ABI specification 56860, ATTESTATION_REPORT (0x4A0 bytes), with
 * the reserved-field checks of go-sev-guest abi.ReportToProto; versions 2..5 as go-sev-guest
 * accepts. Verification (attestation.md section 4): the chain VCEK/VLEK -> ASK/ASVK -> built-in
 * ARK (snp_certs.c), the ECDSA P-384 signature over [0, 0x2A0), then the endorsement key's
 * TCB and hwID against the report.
 *
 * TCB status: AMD publishes no TCB status list for SNP, so a report whose REPORTED_TCB matches
 * the VCEK's SPLs is "UpToDate" with no advisories; minimum-TCB rules belong to the policy
 * layer. Likewise POLICY.DEBUG only becomes the "debug" claim here: refusing debug guests is
 * cloak_claims_check's job.
 */
#include "evidence/snp_int.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

/* Sizes of the fixed fields (ABI 56860, ATTESTATION_REPORT), pinned against the struct. */
_Static_assert(sizeof(((snp_report *)0)->family_id) == 0x10, "FAMILY_ID");
_Static_assert(sizeof(((snp_report *)0)->report_data) == 0x40, "REPORT_DATA");
_Static_assert(sizeof(((snp_report *)0)->measurement) == 0x30, "MEASUREMENT");
_Static_assert(sizeof(((snp_report *)0)->host_data) == 0x20, "HOST_DATA");
_Static_assert(sizeof(((snp_report *)0)->id_key_digest) == 0x30, "ID_KEY_DIGEST");
_Static_assert(sizeof(((snp_report *)0)->report_id) == 0x20, "REPORT_ID");
_Static_assert(sizeof(((snp_report *)0)->chip_id) == 0x40, "CHIP_ID");
_Static_assert(sizeof(((snp_report *)0)->reported_tcb) == 8, "TCB_VERSION");
/* The report ends with the 512-byte SIGNATURE field at 0x2A0. (Each field's offset is
 * checked as it is read; see at().) */
_Static_assert(SNP_SIG_OFFSET + 2 * SNP_SIG_COMPONENT + (SNP_SIG_SIZE - 2 * SNP_SIG_COMPONENT) ==
                   SNP_REPORT_SIZE,
               "SIGNATURE ends the report");

int snp_product_from_cpuid(uint8_t family, uint8_t model)
{
    /* attestation.md section 3: family 0x19 models 0x00-0x0F Milan, 0x10-0x1F Genoa; family 0x1A
     * (Zen 5) server models are Turin. */
    if (family == 0x19 && model <= 0x0F) return SNP_MILAN;
    if (family == 0x19 && model >= 0x10 && model <= 0x1F) return SNP_GENOA;
    if (family == 0x1A && model <= 0x1F) return SNP_TURIN;
    return -1;
}

void snp_tcb_decode(const uint8_t raw[8], int product, snp_tcb *t)
{
    memset(t, 0, sizeof *t);
    if (product == SNP_TURIN) {
        t->fmc = raw[0];
        t->bootloader = raw[1];
        t->tee = raw[2];
        t->snp = raw[3];
    } else {
        t->bootloader = raw[0];
        t->tee = raw[1];
        t->snp = raw[6];
    }
    t->microcode = raw[7];
}

/* ---- parsing ---- */

typedef struct {
    cloak_reader rd;
    size_t bad_off; /* first non-zero reserved byte, or 0 */
    const char *bad_field;
} parser;

/* Each reader states the field's offset from the specification; the cursor must be there
 * (an invariant of this file's field list, hence assert). */
static void at(const parser *ps, size_t off)
{
    assert(ps->rd.failed || ps->rd.off == off);
    (void)ps;
    (void)off;
}

static void u8_at(parser *ps, size_t off, uint8_t *v)
{
    at(ps, off);
    cloak_take_u8(&ps->rd, v);
}

static void u32_at(parser *ps, size_t off, uint32_t *v)
{
    at(ps, off);
    cloak_take_u32le(&ps->rd, v);
}

static void u64_at(parser *ps, size_t off, uint64_t *v)
{
    at(ps, off);
    cloak_take_u64le(&ps->rd, v);
}

static void bytes_at(parser *ps, size_t off, uint8_t *dst, size_t n)
{
    at(ps, off);
    cloak_take_bytes(&ps->rd, dst, n);
}

/* A reserved range; the first non-zero byte is remembered for the strict checks. */
static void mbz_at(parser *ps, size_t off, size_t n, const char *field)
{
    const uint8_t *q;
    at(ps, off);
    if (cloak_take_ref(&ps->rd, &q, n)) return;
    for (size_t i = 0; i < n && !ps->bad_field; i++)
        if (q[i]) {
            ps->bad_off = off + i;
            ps->bad_field = field;
        }
}

cloak_err snp_report_parse(const uint8_t *p, size_t len, int strict, snp_report *out,
                           cloak_error *why)
{
    snp_report r;
    parser ps;
    memset(&r, 0, sizeof r);
    memset(&ps, 0, sizeof ps);
    if (!p || len != SNP_REPORT_SIZE)
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "an SEV-SNP attestation report is exactly 1184 (0x4A0) bytes; got %zu%s", len,
            len < SNP_REPORT_SIZE ? " (truncated)"
                                  : " (extra bytes: pass the report alone, not an extended "
                                    "report with its certificate table)");
    cloak_reader *rd = &ps.rd;
    cloak_reader_init(rd, p, len);
    u32_at(&ps, 0x000, &r.version);
    u32_at(&ps, 0x004, &r.guest_svn);
    u64_at(&ps, 0x008, &r.policy);
    bytes_at(&ps, 0x010, r.family_id, sizeof r.family_id);
    bytes_at(&ps, 0x020, r.image_id, sizeof r.image_id);
    u32_at(&ps, 0x030, &r.vmpl);
    u32_at(&ps, 0x034, &r.sig_algo);
    bytes_at(&ps, 0x038, r.current_tcb, 8);
    u64_at(&ps, 0x040, &r.platform_info);
    u32_at(&ps, 0x048, &r.key_info);
    mbz_at(&ps, 0x04C, 4, "reserved");
    bytes_at(&ps, 0x050, r.report_data, sizeof r.report_data);
    bytes_at(&ps, 0x090, r.measurement, sizeof r.measurement);
    bytes_at(&ps, 0x0C0, r.host_data, sizeof r.host_data);
    bytes_at(&ps, 0x0E0, r.id_key_digest, sizeof r.id_key_digest);
    bytes_at(&ps, 0x110, r.author_key_digest, sizeof r.author_key_digest);
    bytes_at(&ps, 0x140, r.report_id, sizeof r.report_id);
    bytes_at(&ps, 0x160, r.report_id_ma, sizeof r.report_id_ma);
    bytes_at(&ps, 0x180, r.reported_tcb, 8);
    if (r.version >= 3) { /* CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP */
        u8_at(&ps, 0x188, &r.cpuid_fam);
        u8_at(&ps, 0x189, &r.cpuid_mod);
        u8_at(&ps, 0x18A, &r.cpuid_step);
    } else {
        mbz_at(&ps, 0x188, 3, "reserved (CPUID fields before version 3)");
    }
    mbz_at(&ps, 0x18B, 0x1A0 - 0x18B, "reserved");
    bytes_at(&ps, 0x1A0, r.chip_id, sizeof r.chip_id);
    bytes_at(&ps, 0x1E0, r.committed_tcb, 8);
    u8_at(&ps, 0x1E8, &r.current_build);
    u8_at(&ps, 0x1E9, &r.current_minor);
    u8_at(&ps, 0x1EA, &r.current_major);
    mbz_at(&ps, 0x1EB, 1, "reserved");
    u8_at(&ps, 0x1EC, &r.committed_build);
    u8_at(&ps, 0x1ED, &r.committed_minor);
    u8_at(&ps, 0x1EE, &r.committed_major);
    mbz_at(&ps, 0x1EF, 1, "reserved");
    bytes_at(&ps, 0x1F0, r.launch_tcb, 8);
    if (r.version >= 5) {
        u64_at(&ps, 0x1F8, &r.launch_mit_vector);
        u64_at(&ps, 0x200, &r.current_mit_vector);
    } else {
        mbz_at(&ps, 0x1F8, 16, "reserved (mitigation vectors before version 5)");
    }
    mbz_at(&ps, 0x208, SNP_SIG_OFFSET - 0x208, "reserved");
    bytes_at(&ps, SNP_SIG_OFFSET, r.sig_r, SNP_SIG_COMPONENT);
    bytes_at(&ps, SNP_SIG_OFFSET + SNP_SIG_COMPONENT, r.sig_s, SNP_SIG_COMPONENT);
    mbz_at(&ps, SNP_SIG_OFFSET + 2 * SNP_SIG_COMPONENT, SNP_SIG_SIZE - 2 * SNP_SIG_COMPONENT,
           "reserved part of SIGNATURE");
    assert(!rd->failed && rd->off == SNP_REPORT_SIZE);
    if (rd->failed)
        return cloak_error_set(why, CLOAK_EINTERNAL, "SEV-SNP report reader ran past the end");

    if (strict) {
        unsigned sk = (r.key_info >> 2) & 7u;
        if (r.version < SNP_VERSION_MIN || r.version > SNP_VERSION_MAX)
            return cloak_error_set(
                why, CLOAK_EINVAL,
                "unsupported SEV-SNP report VERSION %u (offset 0x000); supported: %u..%u",
                r.version, SNP_VERSION_MIN, SNP_VERSION_MAX);
        if (r.sig_algo != SNP_SIG_ALGO_ECDSA_P384_SHA384)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "unsupported SIGNATURE_ALGO %u (offset 0x034); only 1 (ECDSA "
                                   "P-384 with SHA-384) exists",
                                   r.sig_algo);
        if (!(r.policy & SNP_POLICY_RESERVED_ONE))
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "POLICY (offset 0x008) bit 17 is reserved and must be 1");
        if (r.policy & ~SNP_POLICY_KNOWN_MASK)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "POLICY (offset 0x008) bits 26..63 must be zero (policy 0x%llx)",
                                   (unsigned long long)r.policy);
        if (r.key_info >> 5)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "KEY_INFO (offset 0x048) bits 5..31 must be zero (0x%x)",
                                   r.key_info);
        if (sk > SNP_KEY_VLEK && sk < SNP_KEY_NONE)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "KEY_INFO.SIGNING_KEY (offset 0x048) %u is reserved", sk);
        if (ps.bad_field)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "SEV-SNP report %s byte at offset 0x%03zx must be zero",
                                   ps.bad_field, ps.bad_off);
        for (size_t i = SNP_P384_BYTES; i < SNP_SIG_COMPONENT; i++)
            if (r.sig_r[i] || r.sig_s[i])
                return cloak_error_set(
                    why, CLOAK_EINVAL,
                    "SIGNATURE %s (offset 0x%03zx) is larger than a P-384 scalar: byte %zu is not "
                    "zero",
                    r.sig_r[i] ? "R" : "S",
                    (size_t)(r.sig_r[i] ? SNP_SIG_OFFSET : SNP_SIG_OFFSET + SNP_SIG_COMPONENT), i);
    }
    *out = r;
    return CLOAK_OK;
}

/* ---- claims ---- */

static json_t *u64_json(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX) return json_integer((json_int_t)v);
    char b[24];
    snprintf(b, sizeof b, "0x%016llx", (unsigned long long)v);
    return json_string(b);
}

static json_t *tcb_json(const uint8_t raw[8], int product)
{
    snp_tcb t;
    snp_tcb_decode(raw, product, &t);
    json_t *o = json_object();
    if (product == SNP_TURIN) json_object_set_new(o, "fmc", json_integer(t.fmc));
    json_object_set_new(o, "bootloader", json_integer(t.bootloader));
    json_object_set_new(o, "tee", json_integer(t.tee));
    json_object_set_new(o, "snp", json_integer(t.snp));
    json_object_set_new(o, "microcode", json_integer(t.microcode));
    return o;
}

static json_t *build_json(uint8_t build, uint8_t minor, uint8_t major)
{
    json_t *o = json_object();
    json_object_set_new(o, "build", json_integer(build));
    json_object_set_new(o, "minor", json_integer(minor));
    json_object_set_new(o, "major", json_integer(major));
    return o;
}

/* The fields docs/CLAIMS.md lists for SEV-SNP, shared by verify and show. `product` selects the
 * TCB layout (-1: Milan/Genoa layout, for snp_show of a v2 report). */
static json_t *report_json(const snp_report *r, int product)
{
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "tee", json_string("sevsnp"));
    json_object_set_new(o, "evidence_version", json_integer(r->version));
    json_object_set_new(o, "debug", json_boolean(r->policy & SNP_POLICY_DEBUG));
    ev_set_hex(o, "measurement", r->measurement, sizeof r->measurement);
    ev_set_hex(o, "report_data", r->report_data, sizeof r->report_data);
    ev_set_hex(o, "host_data", r->host_data, sizeof r->host_data);
    ev_set_hex(o, "id_key_digest", r->id_key_digest, sizeof r->id_key_digest);
    ev_set_hex(o, "author_key_digest", r->author_key_digest, sizeof r->author_key_digest);
    ev_set_hex(o, "report_id", r->report_id, sizeof r->report_id);
    ev_set_hex(o, "report_id_ma", r->report_id_ma, sizeof r->report_id_ma);
    ev_set_hex(o, "family_id", r->family_id, sizeof r->family_id);
    ev_set_hex(o, "image_id", r->image_id, sizeof r->image_id);
    json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
    json_object_set_new(o, "vmpl", json_integer(r->vmpl));
    json_object_set_new(o, "policy", u64_json(r->policy));
    json_object_set_new(o, "abi_major", json_integer((r->policy >> 8) & 0xff));
    json_object_set_new(o, "abi_minor", json_integer(r->policy & 0xff));
    json_object_set_new(o, "migration_allowed", json_boolean(r->policy & SNP_POLICY_MIGRATE_MA));
    json_object_set_new(o, "smt_allowed", json_boolean(r->policy & SNP_POLICY_SMT));
    json_object_set_new(o, "single_socket", json_boolean(r->policy & SNP_POLICY_SINGLE_SOCKET));
    json_object_set_new(o, "platform_info", u64_json(r->platform_info));
    ev_set_hex(o, "chip_id", r->chip_id, sizeof r->chip_id);
    json_object_set_new(o, "reported_tcb", tcb_json(r->reported_tcb, product));
    json_object_set_new(o, "current_tcb", tcb_json(r->current_tcb, product));
    json_object_set_new(o, "committed_tcb", tcb_json(r->committed_tcb, product));
    json_object_set_new(o, "launch_tcb", tcb_json(r->launch_tcb, product));
    if (r->version >= 3) {
        json_t *c = json_object();
        json_object_set_new(c, "family", json_integer(r->cpuid_fam));
        json_object_set_new(c, "model", json_integer(r->cpuid_mod));
        json_object_set_new(c, "stepping", json_integer(r->cpuid_step));
        json_object_set_new(o, "cpuid", c);
    }
    json_object_set_new(o, "current_build",
                        build_json(r->current_build, r->current_minor, r->current_major));
    json_object_set_new(o, "committed_build",
                        build_json(r->committed_build, r->committed_minor, r->committed_major));
    return o;
}

/* ---- verification ---- */

/* ECDSA P-384 / SHA-384 over [0, 0x2A0). R and S are 72-byte little-endian integers; the high
 * 24 bytes were checked to be zero, so BN_lebin2bn over the low 48 bytes is the whole value
 * (the same as reversing and keeping the low 48 bytes big-endian). */
static int report_sig_ok(const uint8_t *p, const snp_report *r, X509 *vek)
{
    BIGNUM *br = BN_lebin2bn(r->sig_r, SNP_P384_BYTES, NULL),
           *bs = BN_lebin2bn(r->sig_s, SNP_P384_BYTES, NULL);
    ECDSA_SIG *sig = ECDSA_SIG_new();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    int ok = 0, dl;
    if (!br || !bs || !sig || !ctx || !ECDSA_SIG_set0(sig, br, bs)) goto out;
    br = bs = NULL; /* owned by sig now */
    if ((dl = i2d_ECDSA_SIG(sig, &der)) <= 0) goto out;
    ok = EVP_DigestVerifyInit_ex(ctx, NULL, "SHA384", NULL, NULL, X509_get0_pubkey(vek), NULL) ==
             1 &&
         EVP_DigestVerify(ctx, der, (size_t)dl, p, SNP_SIGNED_SIZE) == 1;
out:
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

cloak_err snp_verify(const uint8_t *p, size_t len, const cloak_verify_opts *o, json_t **claims,
                     cloak_error *why)
{
    snp_report r;
    snp_chain ch;
    cloak_error ext_why;
    memset(&ext_why, 0, sizeof ext_why);
    json_t *c = NULL;
    cloak_err rc;
    memset(&ch, 0, sizeof ch);
    if (!o || !o->trust || o->trust->magic != TRUST_MAGIC || !claims) {
        rc = cloak_error_set(
            why, CLOAK_EINVAL,
            "snp_verify: options with a trust store and a claims pointer are required");
        goto out;
    }
    if ((rc = snp_report_parse(p, len, 1, &r, why))) goto out;
    unsigned sk = snp_signing_key(&r);
    if (sk == SNP_KEY_NONE) {
        rc = cloak_error_set(
            why, CLOAK_EVERIFY,
            "the report is not signed: KEY_INFO.SIGNING_KEY (offset 0x048) is 7 (none)");
        goto out;
    }
    int cpuid_product = -1;
    if (r.version >= 3 && (cpuid_product = snp_product_from_cpuid(r.cpuid_fam, r.cpuid_mod)) < 0) {
        rc = cloak_error_set(
            why, CLOAK_EVERIFY,
            "CPUID (offset 0x188) family 0x%02x model 0x%02x is not a known SEV-SNP product "
            "(Milan, Genoa, Turin)",
            r.cpuid_fam, r.cpuid_mod);
        goto out;
    }
    if ((rc = snp_chain_verify(o, sk, cpuid_product, &ch, why))) goto out;

    /* The signature decides authenticity, so it is checked before the TCB and hwID; when it
     * fails, a TCB/hwID mismatch explains why (a VCEK for another chip or TCB). */
    cloak_err ext_rc = snp_vek_ext_check(&ch.ext, &r, ch.product, sk == SNP_KEY_VLEK, &ext_why);
    if (!report_sig_ok(p, &r, ch.vek)) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "report signature (offset 0x2A0) does not verify under the %s%s%s%s",
                             sk == SNP_KEY_VLEK ? "VLEK" : "VCEK", ext_rc ? "; likely cause: " : "",
                             ext_rc ? ext_why.msg : "",
                             !ext_rc && (r.key_info & 2) ? " (KEY_INFO.MASK_CHIP_KEY is set)" : "");
        goto out;
    }
    if (ext_rc) {
        rc = cloak_error_set(why, ext_rc, "%s", ext_why.msg);
        goto out;
    }

    if (!(c = report_json(&r, ch.product))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    json_object_set_new(c, "signing_key", json_string(sk == SNP_KEY_VLEK ? "vlek" : "vcek"));
    json_object_set_new(c, "product", json_string(snp_product_name(ch.product)));
    json_object_set_new(c, "tcb_status", json_string(cloak_tcb_status_name(CLOAK_TCB_UP_TO_DATE)));
    json_object_set_new(c, "advisory_ids", json_array());
    *claims = c;
    c = NULL;
out:
    json_decref(c);
    snp_chain_clear(&ch);
    return rc;
}

cloak_err snp_show(const uint8_t *p, size_t len, json_t **fields, cloak_error *why)
{
    snp_report r;
    cloak_error fmt;
    cloak_err rc = snp_report_parse(p, len, 0, &r, why);
    if (rc) return rc;
    if (!fields) return cloak_error_set(why, CLOAK_EINVAL, "snp_show: no output pointer");
    int product = r.version >= 3 ? snp_product_from_cpuid(r.cpuid_fam, r.cpuid_mod) : -1;
    json_t *o = report_json(&r, product);
    if (!o) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    unsigned sk = snp_signing_key(&r);
    json_object_set_new(o, "product",
                        product >= 0 ? json_string(snp_product_name(product)) : json_null());
    json_object_set_new(o, "tcb_layout",
                        json_string(product == SNP_TURIN ? "Turin" : "Milan/Genoa"));
    json_object_set_new(o, "signing_key",
                        json_string(sk == SNP_KEY_VCEK   ? "vcek"
                                    : sk == SNP_KEY_VLEK ? "vlek"
                                    : sk == SNP_KEY_NONE ? "none"
                                                         : "reserved"));
    json_object_set_new(o, "key_info", json_integer(r.key_info));
    json_object_set_new(o, "author_key_en", json_boolean(r.key_info & 1));
    json_object_set_new(o, "mask_chip_key", json_boolean(r.key_info & 2));
    json_object_set_new(o, "signature_algo", json_integer(r.sig_algo));
    if (r.version >= 5) {
        json_object_set_new(o, "launch_mit_vector", u64_json(r.launch_mit_vector));
        json_object_set_new(o, "current_mit_vector", u64_json(r.current_mit_vector));
    }
    json_t *sig = json_object();
    ev_set_hex(sig, "r", r.sig_r, sizeof r.sig_r);
    ev_set_hex(sig, "s", r.sig_s, sizeof r.sig_s);
    json_object_set_new(o, "signature", sig);
    /* Show parses leniently; say what verification would refuse on format grounds. */
    if (snp_report_parse(p, len, 1, &r, &fmt))
        json_object_set_new(o, "format_error", json_string(fmt.msg));
    *fields = o;
    return CLOAK_OK;
}
