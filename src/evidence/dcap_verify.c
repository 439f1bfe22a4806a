/* Intel DCAP quote verification (SGX v3/v4, TDX v4/v5) and `show`: the order of checks of
 * attestation.md §2, on top of dcap_quote.c (structure), dcap_pck.c (chain, CRLs, extension)
 * and the collateral module (collateral.c, tcb.c). Claims are the keys of docs/CLAIMS.md.
 *
 * The cheap, local checks run first (quote signature, QE binding), then the certificate work,
 * then the collateral; the first failure is reported, naming the check and the offset. */
#include "evidence/dcap_quote.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#define SHA256_BYTES 32

/* QE report REPORTDATA = SHA-256(attestation key || QE auth data) || 32 zero bytes
 * (attestation.md §1 "Binding"). */
static cloak_err check_binding(const dcap_quote *q, cloak_error *why)
{
    static const uint8_t zero[SGX_REPORTDATA_BYTES - SHA256_BYTES];
    uint8_t h[SHA256_BYTES];
    unsigned hl = 0;
    const uint8_t *rd = q->qe_report + SGX_OFF_REPORTDATA;
    size_t rd_off = q->qe_report_off + SGX_OFF_REPORTDATA;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, q->att_key, DCAP_ATT_KEY_BYTES) == 1 &&
             EVP_DigestUpdate(md, q->qe_auth, q->qe_auth_len) == 1 &&
             EVP_DigestFinal_ex(md, h, &hl) == 1 && hl == SHA256_BYTES;
    EVP_MD_CTX_free(md);
    if (!ok) return cloak_error_openssl(why, CLOAK_ENOMEM, "cannot hash the attestation key");
    if (CRYPTO_memcmp(h, rd, SHA256_BYTES) != 0)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "QE report data (offset 0x%zx) does not bind the attestation key: "
                               "REPORTDATA[0:32] != SHA-256(attestation key || QE auth data)",
                               rd_off);
    if (CRYPTO_memcmp(rd + SHA256_BYTES, zero, sizeof zero) != 0)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "QE report data bytes 32..63 (offset 0x%zx) are not zero",
                               rd_off + SHA256_BYTES);
    return CLOAK_OK;
}

/* A collateral failure is a verification failure: keep the collateral module's words. */
static cloak_err collateral_failed(cloak_err rc, cloak_error *why)
{
    if (rc == CLOAK_ENOMEM || rc == CLOAK_EINTERNAL) return rc;
    if (why) why->code = CLOAK_EVERIFY;
    return CLOAK_EVERIFY;
}

static void set_status(json_t *c, const char *key, cloak_tcb_status s)
{
    json_object_set_new(c, key, json_string(cloak_tcb_status_name(s)));
}

/* The claims of docs/CLAIMS.md for a verified quote. tcb == NULL: no collateral. */
static json_t *claims_new(const dcap_quote *q, const dcap_pck_ext *ext, int sim,
                          const dcap_tcb_result *tcb, const cloak_collateral *col)
{
    json_t *c = json_object();
    int tdx = dcap_quote_is_tdx(q);
    if (!c) return NULL;
    json_object_set_new(c, "tee", json_string(tdx ? "tdx" : "sgx"));
    json_object_set_new(c, "evidence_version", json_integer(q->version));
    if (!tdx) {
        uint64_t flags = cloak_get_u64le(q->body + SGX_OFF_ATTRIBUTES);
        dcap_fields_to_json(c, dcap_sgx_fields(), q->body, 1);
        ev_set_hex(c, "measurement", q->body + SGX_OFF_MRENCLAVE, 32);
        json_object_set_new(c, "debug", json_boolean(flags & SGX_ATTR_DEBUG));
        /* platform TCB from the PCK certificate; QE SVN from the (signed) QE report */
        ev_set_hex(c, "cpu_svn", ext->tcb.cpu_svn, sizeof ext->tcb.cpu_svn);
        json_object_set_new(c, "pce_svn", json_integer(ext->tcb.pce_svn));
        json_object_set_new(c, "qe_svn",
                            json_integer(cloak_get_u16le(q->qe_report + SGX_OFF_ISVSVN)));
    } else {
        uint64_t attrs = cloak_get_u64le(q->body + TD_OFF_TDATTRIBUTES);
        dcap_fields_to_json(c, dcap_td_fields(q->body_type), q->body, 1);
        ev_set_hex(c, "measurement", q->body + TD_OFF_MRTD, 48);
        json_object_set_new(c, "debug", json_boolean(attrs & TD_ATTR_DEBUG));
    }
    ev_set_hex(c, "fmspc", ext->tcb.fmspc, sizeof ext->tcb.fmspc);
    ev_set_hex(c, "pce_id", ext->tcb.pce_id, sizeof ext->tcb.pce_id);
    if (tcb) {
        uint8_t qh[SHA256_BYTES];
        json_t *h = dcap_collateral_hashes(col);
        set_status(c, "tcb_status", tcb->status);
        set_status(c, "platform_tcb_status", tcb->platform_status);
        set_status(c, "qe_tcb_status", tcb->qe_status); /* "Unknown" for tcb-info-only */
        /* a TCB info alone is not a full DCAP appraisal: no QE identity, no revocation */
        if (dcap_collateral_is_tcb_only(col))
            json_object_set_new(c, "collateral_scope", json_string("tcb-info-only"));
        if (tdx) set_status(c, "module_tcb_status", tcb->module_status);
        json_object_set_new(c, "advisory_ids",
                            tcb->advisory_ids ? json_incref(tcb->advisory_ids) : json_array());
        if (tcb->tcb_date[0]) json_object_set_new(c, "tcb_date", json_string(tcb->tcb_date));
        /* quotehash covers the quote itself, [0, quote_len): trailing padding is not evidence */
        if (h && EVP_Digest(q->p, q->quote_len, qh, NULL, EVP_sha256(), NULL) == 1)
            ev_set_hex(h, "quotehash", qh, sizeof qh);
        if (h) json_object_set_new(c, "collateral", h);
    } else {
        set_status(c, "tcb_status", CLOAK_TCB_UNKNOWN);
        json_object_set_new(c, "advisory_ids", json_array());
    }
    if (sim) json_object_set_new(c, "x-cloak-sim", json_true());
    return c;
}

cloak_err dcap_verify(const uint8_t *p, size_t len, const cloak_verify_opts *o, json_t **claims,
                      cloak_error *why)
{
    cloak_err rc;
    dcap_quote q;
    dcap_pck_chain chain = {0};
    dcap_pck_ext ext;
    dcap_tcb_result tcb;
    EVP_PKEY *att = NULL;
    X509 *anchor = NULL;
    int sim = 0, have_tcb = 0, tdx;
    json_t *c;
    memset(&tcb, 0, sizeof tcb);
    if (!o || !o->trust || !claims) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "dcap_verify: options with a trust are required");
        goto out;
    }
    if ((rc = dcap_quote_parse(p, len, &q, why)) != CLOAK_OK) goto out;
    tdx = dcap_quote_is_tdx(&q);
    if ((o->type == CLOAK_TEE_SGX && tdx) || (o->type == CLOAK_TEE_TDX && !tdx)) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "the quote holds a %s, but %s evidence was asked for",
                             dcap_body_name(q.body_type), tdx ? "SGX" : "TDX");
        goto out;
    }
    /* The QE memo (evidence_int.h): this QE's report signature already verified under the leaf
     * of this very PCK chain, and its attestation key is parsed. */
    _Static_assert(DCAP_ATT_KEY_BYTES + DCAP_SGX_BODY_BYTES + DCAP_SIG_BYTES == EV_QE_BYTES,
                   "the QE memo holds attestation key, QE report and its signature");
    uint8_t qe[EV_QE_BYTES];
    memcpy(qe, q.att_key, DCAP_ATT_KEY_BYTES);
    memcpy(qe + DCAP_ATT_KEY_BYTES, q.qe_report, DCAP_SGX_BODY_BYTES);
    memcpy(qe + DCAP_ATT_KEY_BYTES + DCAP_SGX_BODY_BYTES, q.qe_report_sig, DCAP_SIG_BYTES);
    int qe_known = ev_qe_memo_get(o->trust, q.pck_pem, q.pck_pem_len, qe, &att);
    /* 1. quote signature: attestation key over the signed region (header + body) */
    if (!qe_known && (rc = dcap_p256_key(q.att_key, &att, why)) != CLOAK_OK) {
        cloak_error_wrap(why, "attestation key at offset 0x%zx", q.att_key_off);
        goto out;
    }
    if (!dcap_ecdsa_verify(att, p, q.signed_len, q.quote_sig)) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "quote signature (offset 0x%zx) does not verify under the attestation "
                             "key over the signed region [0,0x%zx)",
                             q.sig_data_off, q.signed_len);
        goto out;
    }
    /* 2. the QE report binds the attestation key and auth data */
    if ((rc = check_binding(&q, why)) != CLOAK_OK) goto out;
    /* 3. the QE report is signed by the PCK key */
    _Static_assert(sizeof(dcap_pck_ext) <= EV_CHAIN_AUX_BYTES, "PCK extension fits the cache");
    int cached = ev_chain_cache_get(o->trust, q.pck_pem, q.pck_pem_len, &chain.leaf, &chain.ca,
                                    &chain.root, &ext, sizeof ext);
    if (!cached && (rc = dcap_pck_chain_load(q.pck_pem, q.pck_pem_len, &chain, why)) != CLOAK_OK) {
        cloak_error_wrap(why, "certification data at offset 0x%zx", q.pck_pem_off);
        goto out;
    }
    if (!qe_known && !dcap_ecdsa_verify(X509_get0_pubkey(chain.leaf), q.qe_report,
                                        DCAP_SGX_BODY_BYTES, q.qe_report_sig)) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "QE report signature (offset 0x%zx) does not verify under the PCK "
                             "certificate's key",
                             q.qe_report_sig_off);
        goto out;
    }
    /* 4. the PCK chain, pinned to a trusted root, valid at o->at */
    if ((rc = dcap_pck_chain_verify(&chain, o->trust, o->at, cached, &anchor, &sim, why)) !=
        CLOAK_OK)
        goto out;
    /* 5. the platform's TCB from the PCK certificate (parsed once per chain) */
    if (!cached) {
        if ((rc = dcap_pck_parse_ext(chain.leaf, &ext, why)) != CLOAK_OK) goto out;
        ev_chain_cache_put(o->trust, q.pck_pem, q.pck_pem_len, chain.leaf, chain.ca, chain.root,
                           &ext, sizeof ext);
    }
    /* the QE report signature verified under this chain's leaf, which verified to the root */
    if (!qe_known) ev_qe_memo_put(o->trust, q.pck_pem, q.pck_pem_len, qe, att);
    /* 6. collateral: its own signatures and times, revocation, then the TCB levels (for a
     * TCB-info-only collateral: the TCB info's signature and times, then the platform level) */
    if (o->collateral) {
        if ((rc = dcap_collateral_check(o->collateral, anchor, o->at, tdx, why)) != CLOAK_OK) {
            rc = collateral_failed(rc, why);
            goto out;
        }
        /* a TCB-info-only collateral has no CRLs: revocation is not checked, and the claims
         * say so ("collateral_scope": "tcb-info-only") */
        X509 *crl_issuer = dcap_collateral_pck_crl_issuer(o->collateral);
        int crl_known = crl_issuer && X509_cmp(crl_issuer, chain.ca) == 0;
        if (!dcap_collateral_is_tcb_only(o->collateral) &&
            (rc = dcap_pck_check_revocation(&chain, anchor, dcap_collateral_root_crl(o->collateral),
                                            dcap_collateral_pck_crl(o->collateral), crl_known,
                                            why)) != CLOAK_OK)
            goto out;
        rc = dcap_tcb_evaluate(o->collateral, tdx, &ext.tcb, q.qe_report, tdx ? q.body : NULL,
                               tdx ? q.body_len : 0, &tcb, why);
        if (rc != CLOAK_OK) {
            rc = collateral_failed(rc, why);
            goto out;
        }
        have_tcb = 1;
    }
    c = claims_new(&q, &ext, sim, have_tcb ? &tcb : NULL, o->collateral);
    if (!c) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory building claims");
        goto out;
    }
    *claims = c;
    rc = CLOAK_OK;
out:
    dcap_tcb_result_clear(&tcb);
    dcap_pck_chain_free(&chain);
    EVP_PKEY_free(att);
    return rc;
}

cloak_err dcap_fmspc(const uint8_t *p, size_t len, const cloak_trust *t, uint8_t fmspc[6],
                     cloak_error *why)
{
    dcap_quote q;
    dcap_pck_chain chain = {0};
    dcap_pck_ext ext;
    cloak_err rc = dcap_quote_parse(p, len, &q, why);
    if (rc) return rc;
    /* a chain this trust already verified carries its parsed extension; otherwise parse it
     * (unverified: the caller only uses the FMSPC to choose collateral) */
    if (!t || !ev_chain_cache_get(t, q.pck_pem, q.pck_pem_len, &chain.leaf, &chain.ca, &chain.root,
                                  &ext, sizeof ext)) {
        if ((rc = dcap_pck_chain_load(q.pck_pem, q.pck_pem_len, &chain, why)) ||
            (rc = dcap_pck_parse_ext(chain.leaf, &ext, why)))
            goto out;
    }
    memcpy(fmspc, ext.tcb.fmspc, 6);
out:
    dcap_pck_chain_free(&chain);
    return rc;
}

/* ---- show: every parsed field, nothing verified ---- */

static json_t *name_json(const X509_NAME *n)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = NULL;
    long len;
    json_t *j = NULL;
    if (b && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 &&
        (len = BIO_get_mem_data(b, &s)) >= 0)
        j = json_stringn(s, (size_t)len);
    BIO_free(b);
    return j;
}

static json_t *time_json(const ASN1_TIME *t)
{
    struct tm tm;
    char s[32];
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return json_null();
    ev_time_str(timegm(&tm), s);
    return json_string(s);
}

static json_t *cert_json(X509 *x)
{
    json_t *o = json_object();
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL;
    for (char *q = h; q && *q; q++)
        if (*q >= 'A' && *q <= 'F') *q = (char)(*q - 'A' + 'a');
    json_object_set_new(o, "subject", name_json(X509_get_subject_name(x)));
    json_object_set_new(o, "issuer", name_json(X509_get_issuer_name(x)));
    json_object_set_new(o, "serial", h ? json_string(h) : json_null());
    json_object_set_new(o, "not_before", time_json(X509_get0_notBefore(x)));
    json_object_set_new(o, "not_after", time_json(X509_get0_notAfter(x)));
    OPENSSL_free(h);
    BN_free(bn);
    return o;
}

static json_t *ext_json(const dcap_pck_ext *e)
{
    static const char *const types[] = {"Standard", "Scalable", "ScalableWithIntegrity"};
    json_t *o = json_object(), *comp = json_array();
    for (size_t i = 0; i < sizeof e->tcb.comp_svn; i++)
        json_array_append_new(comp, json_integer(e->tcb.comp_svn[i]));
    ev_set_hex(o, "ppid", e->ppid, sizeof e->ppid);
    json_object_set_new(o, "comp_svn", comp);
    json_object_set_new(o, "pce_svn", json_integer(e->tcb.pce_svn));
    ev_set_hex(o, "cpu_svn", e->tcb.cpu_svn, sizeof e->tcb.cpu_svn);
    ev_set_hex(o, "pce_id", e->tcb.pce_id, sizeof e->tcb.pce_id);
    ev_set_hex(o, "fmspc", e->tcb.fmspc, sizeof e->tcb.fmspc);
    json_object_set_new(o, "sgx_type", json_string(types[e->sgx_type]));
    return o;
}

/* The PEM chain's certificates and the PCK extension; a chain that does not parse is shown
 * as its error, since `show` describes what is there rather than judging it. */
static void show_chain(json_t *sd, const dcap_quote *q)
{
    dcap_pck_chain ch = {0};
    dcap_pck_ext e;
    cloak_error err = {0};
    json_t *arr;
    if (dcap_pck_chain_load(q->pck_pem, q->pck_pem_len, &ch, &err) != CLOAK_OK) {
        json_object_set_new(sd, "pck_chain_error", json_string(err.msg));
        return;
    }
    arr = json_array();
    json_array_append_new(arr, cert_json(ch.leaf));
    json_array_append_new(arr, cert_json(ch.ca));
    json_array_append_new(arr, cert_json(ch.root));
    json_object_set_new(sd, "pck_chain", arr);
    if (dcap_pck_parse_ext(ch.leaf, &e, &err) == CLOAK_OK)
        json_object_set_new(sd, "pck_extension", ext_json(&e));
    else
        json_object_set_new(sd, "pck_extension_error", json_string(err.msg));
    dcap_pck_chain_free(&ch);
}

cloak_err dcap_show(const uint8_t *p, size_t len, json_t **fields, cloak_error *why)
{
    dcap_quote q;
    cloak_err rc;
    json_t *o, *h, *b, *sd, *qe;
    int tdx;
    if ((rc = dcap_quote_parse(p, len, &q, why)) != CLOAK_OK) return rc;
    tdx = dcap_quote_is_tdx(&q);
    o = json_object();
    h = json_object();
    b = json_object();
    sd = json_object();
    qe = json_object();
    if (!o || !h || !b || !sd || !qe) {
        json_decref(o), json_decref(h), json_decref(b), json_decref(sd), json_decref(qe);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    json_object_set_new(o, "tee", json_string(tdx ? "tdx" : "sgx"));
    json_object_set_new(h, "version", json_integer(q.version));
    json_object_set_new(h, "att_key_type", json_integer(q.att_key_type));
    json_object_set_new(h, "tee_type", json_integer(q.tee_type));
    if (q.version == 3) {
        json_object_set_new(h, "qe_svn", json_integer(q.qe_svn));
        json_object_set_new(h, "pce_svn", json_integer(q.pce_svn));
    } else {
        ev_set_hex(h, "reserved", p + 8, 4);
    }
    ev_set_hex(h, "qe_vendor_id", q.qe_vendor_id, DCAP_QE_VENDOR_BYTES);
    ev_set_hex(h, "user_data", q.user_data, DCAP_USER_DATA_BYTES);
    json_object_set_new(o, "header", h);
    json_object_set_new(o, "body_type", json_string(dcap_body_name(q.body_type)));
    dcap_fields_to_json(b, tdx ? dcap_td_fields(q.body_type) : dcap_sgx_fields(), q.body, 0);
    json_object_set_new(o, "body", b);
    json_object_set_new(o, "quote_length", json_integer((json_int_t)q.quote_len));
    json_object_set_new(o, "trailing_bytes", json_integer((json_int_t)(q.buf_len - q.quote_len)));
    json_object_set_new(sd, "length", json_integer(q.sig_data_len));
    ev_set_hex(sd, "quote_signature", q.quote_sig, DCAP_SIG_BYTES);
    ev_set_hex(sd, "attestation_key", q.att_key, DCAP_ATT_KEY_BYTES);
    json_object_set_new(sd, "cert_data_type", json_integer(q.outer_cert_type));
    if (q.version > 3) json_object_set_new(sd, "cert_data_length", json_integer(q.outer_cert_len));
    dcap_fields_to_json(qe, dcap_sgx_fields(), q.qe_report, 0);
    json_object_set_new(sd, "qe_report", qe);
    ev_set_hex(sd, "qe_report_signature", q.qe_report_sig, DCAP_SIG_BYTES);
    ev_set_hex(sd, "qe_auth_data", q.qe_auth, q.qe_auth_len);
    json_object_set_new(sd, "pck_cert_data_type", json_integer(q.pck_cert_type));
    json_object_set_new(sd, "pck_cert_data_length", json_integer(q.pck_pem_len));
    show_chain(sd, &q);
    json_object_set_new(o, "signature_data", sd);
    *fields = o;
    return CLOAK_OK;
}
