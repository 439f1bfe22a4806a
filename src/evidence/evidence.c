/* Evidence dispatcher: detect the type, call the back end, add common claims; shared helpers. */
#include "evidence/evidence_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>

static const char *const status_names[] = {
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
    "Revoked",
    "Unknown",
};

const char *cloak_tcb_status_name(cloak_tcb_status s)
{
    return (unsigned)s < sizeof status_names / sizeof *status_names ? status_names[s] : "Unknown";
}

int cloak_tcb_status_parse(const char *name)
{
    for (size_t i = 0; i < sizeof status_names / sizeof *status_names; i++)
        if (!strcmp(name, status_names[i])) return (int)i;
    return -1;
}

cloak_tee_type cloak_evidence_detect(const uint8_t *p, size_t len)
{
    /* DCAP header: version 3..5, attestation key type 2 (or 3), tee_type 0 (SGX) or 0x81 (TDX) */
    if (len >= 48) {
        uint16_t ver = cloak_get_u16le(p), akt = cloak_get_u16le(p + 2);
        uint32_t tee = cloak_get_u32le(p + 4);
        if (ver >= 3 && ver <= 5 && (akt == 2 || akt == 3)) {
            if (tee == 0x81) return CLOAK_TEE_TDX;
            if (tee == 0) return CLOAK_TEE_SGX;
        }
    }
    /* SNP report: 1184 bytes, version 2..5, signature algorithm 1 at 0x34 */
    if (len >= 0x4A0) {
        uint32_t ver = cloak_get_u32le(p), algo = cloak_get_u32le(p + 0x34);
        if (ver >= 2 && ver <= 5 && algo == 1) return CLOAK_TEE_SNP;
    }
    return CLOAK_TEE_AUTO;
}

static cloak_tee_type resolve(const uint8_t *p, size_t len, cloak_tee_type want, cloak_error *why)
{
    cloak_tee_type got = cloak_evidence_detect(p, len);
    if (want == CLOAK_TEE_AUTO) {
        if (got == CLOAK_TEE_AUTO)
            cloak_error_set(
                why, CLOAK_EINVAL,
                "not recognised as an SGX/TDX DCAP quote or an SEV-SNP report (%zu bytes); "
                "pass --type to say which it is",
                len);
        return got;
    }
    if (got != CLOAK_TEE_AUTO && got != want) {
        static const char *n[] = {"unknown", "sgx", "tdx", "snp"};
        cloak_error_set(why, CLOAK_EINVAL, "evidence looks like %s, not %s", n[got], n[want]);
        return CLOAK_TEE_AUTO;
    }
    return want;
}

cloak_err cloak_evidence_verify(const uint8_t *p, size_t len, const cloak_verify_opts *o,
                                json_t **claims, cloak_error *why)
{
    if (!p || !o || !o->trust || o->trust->magic != TRUST_MAGIC || !claims)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "cloak_evidence_verify: evidence, options and trust are required");
    cloak_tee_type t = resolve(p, len, o->type, why);
    if (t == CLOAK_TEE_AUTO) return CLOAK_EINVAL;
    cloak_verify_opts oo = *o;
    oo.type = t;
    json_t *c = NULL;
    cloak_err rc =
        t == CLOAK_TEE_SNP ? snp_verify(p, len, &oo, &c, why) : dcap_verify(p, len, &oo, &c, why);
    if (rc) return rc;
    char ts[32];
    ev_time_str(o->at, ts);
    json_object_set_new(c, "verified_at", json_string(ts));
    *claims = c;
    return CLOAK_OK;
}

cloak_err cloak_evidence_show(const uint8_t *p, size_t len, cloak_tee_type type, json_t **fields,
                              cloak_error *why)
{
    if (!p || !fields)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_evidence_show: no evidence");
    cloak_tee_type t = resolve(p, len, type, why);
    if (t == CLOAK_TEE_AUTO) return CLOAK_EINVAL;
    return t == CLOAK_TEE_SNP ? snp_show(p, len, fields, why) : dcap_show(p, len, fields, why);
}

cloak_err cloak_evidence_fmspc(const cloak_trust *trust, const uint8_t *quote, size_t len,
                               uint8_t fmspc[6], cloak_error *why)
{
    if (!quote || !fmspc || (trust && trust->magic != TRUST_MAGIC))
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_evidence_fmspc: no quote");
    cloak_tee_type t = cloak_evidence_detect(quote, len);
    if (t != CLOAK_TEE_SGX && t != CLOAK_TEE_TDX)
        return cloak_error_set(why, CLOAK_EINVAL, "not a DCAP quote: it has no FMSPC");
    return dcap_fmspc(quote, len, trust, fmspc, why);
}

json_t *ev_hex(const uint8_t *p, size_t len)
{
    char *h = cloak_hex_encode(p, len);
    json_t *j = h ? json_string(h) : NULL;
    free(h);
    return j;
}

void ev_set_hex(json_t *o, const char *key, const uint8_t *p, size_t len)
{
    json_object_set_new(o, key, ev_hex(p, len));
}

int ev_cert_valid_at(X509 *c, time_t at)
{
    /* ASN1_TIME_cmp_time_t: -1/0/1, or -2 for a malformed time (which must never pass) */
    int nb = ASN1_TIME_cmp_time_t(X509_get0_notBefore(c), at);
    int na = ASN1_TIME_cmp_time_t(X509_get0_notAfter(c), at);
    return nb != -2 && na != -2 && nb <= 0 && na >= 0;
}

STACK_OF(X509) * ev_load_certs(const uint8_t *p, size_t len)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!sk || len > INT32_MAX) goto fail;
    if (len > 0 && p[0] == 0x30) { /* DER */
        const uint8_t *q = p;
        X509 *x = d2i_X509(NULL, &q, (long)len);
        if (!x || q != p + len || !sk_X509_push(sk, x)) {
            X509_free(x);
            goto fail;
        }
        return sk;
    }
    BIO *b = BIO_new_mem_buf(p, (int)len);
    if (!b) goto fail;
    X509 *x;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            BIO_free(b);
            goto fail;
        }
    BIO_free(b);
    ERR_clear_error(); /* the end of the PEM stream */
    if (sk_X509_num(sk) == 0) goto fail;
    return sk;
fail:
    sk_X509_pop_free(sk, X509_free);
    return NULL;
}

void ev_time_str(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
