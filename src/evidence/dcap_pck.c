/* The PCK side of a DCAP quote: raw ECDSA P-256 signatures (r||s as Intel writes them), the
 * PCK certificate chain pinned to a trusted root, its revocation against the collateral's
 * CRLs, and the PCK certificate's SGX extension (attestation.md §2 steps 2-5).
 *
 * Every signature and chain check is OpenSSL's; this file decides what to pin and what to ask. */
#include "evidence/dcap_quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509v3.h>

/* ---- raw ECDSA P-256 ---- */

cloak_err dcap_p256_key(const uint8_t xy[DCAP_ATT_KEY_BYTES], EVP_PKEY **out, cloak_error *why)
{
    cloak_err rc = CLOAK_EVERIFY;
    uint8_t pub[1 + DCAP_ATT_KEY_BYTES];
    char group[] = "prime256v1";
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[3];
    pub[0] = 0x04; /* SEC 1 uncompressed point */
    memcpy(pub + 1, xy, DCAP_ATT_KEY_BYTES);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub);
    params[2] = OSSL_PARAM_construct_end();
    if (!ctx) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    /* OpenSSL refuses a point that is not on the curve (EC_POINT_set_affine_coordinates) */
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        ERR_clear_error();
        rc = cloak_error_set(why, CLOAK_EVERIFY, "not a point on P-256 (x||y, 64 bytes)");
        goto out;
    }
    *out = k;
    k = NULL;
    rc = CLOAK_OK;
out:
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int dcap_ecdsa_verify(EVP_PKEY *key, const uint8_t *msg, size_t len,
                      const uint8_t sig[DCAP_SIG_BYTES])
{
    int ok = 0, der_len;
    unsigned char *der = NULL;
    BIGNUM *r = BN_bin2bn(sig, DCAP_SIG_BYTES / 2, NULL);
    BIGNUM *s = BN_bin2bn(sig + DCAP_SIG_BYTES / 2, DCAP_SIG_BYTES / 2, NULL);
    ECDSA_SIG *es = ECDSA_SIG_new();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!key || !r || !s || !es || !md || !EVP_PKEY_is_a(key, "EC")) goto out;
    if (ECDSA_SIG_set0(es, r, s) != 1) goto out;
    r = s = NULL; /* owned by es now */
    der_len = i2d_ECDSA_SIG(es, &der);
    if (der_len <= 0) goto out;
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1) goto out;
    ok = EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1;
out:
    ERR_clear_error(); /* a failed verify leaves errors; the caller reports in words */
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    ECDSA_SIG_free(es);
    BN_free(r);
    BN_free(s);
    return ok;
}

/* ---- the chain ---- */

void dcap_cert_cn(X509 *x, char *out, size_t cap)
{
    if (!x ||
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap) < 0)
        snprintf(out, cap, "(no common name)");
}

void dcap_pck_chain_free(dcap_pck_chain *c)
{
    if (!c) return;
    X509_free(c->leaf);
    X509_free(c->ca);
    X509_free(c->root);
    c->leaf = c->ca = c->root = NULL;
}

cloak_err dcap_pck_chain_load(const uint8_t *pem, size_t len, dcap_pck_chain *out, cloak_error *why)
{
    cloak_err rc;
    STACK_OF(X509) *sk = ev_load_certs(pem, len);
    if (!sk) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "the PCK certificate chain (%zu bytes) does not parse as PEM "
                             "certificates",
                             len);
        goto out;
    }
    if (sk_X509_num(sk) != 3) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "the PCK certificate chain holds %d certificates; Intel's holds 3 "
                             "(PCK certificate, PCK CA, root)",
                             sk_X509_num(sk));
        goto out;
    }
    /* Intel's order: leaf, intermediate, root */
    out->root = sk_X509_pop(sk);
    out->ca = sk_X509_pop(sk);
    out->leaf = sk_X509_pop(sk);
    rc = CLOAK_OK;
out:
    sk_X509_pop_free(sk, X509_free);
    return rc;
}

static int same_root(X509 *a, X509 *b)
{
    EVP_PKEY *ka = X509_get0_pubkey(a), *kb = X509_get0_pubkey(b);
    return X509_cmp(a, b) == 0 || (ka && kb && EVP_PKEY_eq(ka, kb) == 1);
}

static void time_str(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        snprintf(out, 32, "(bad time)");
        return;
    }
    ev_time_str(timegm(&tm), out);
}

static cloak_err check_valid_at(X509 *x, const char *role, time_t at, cloak_error *why)
{
    char cn[128], nb[32], na[32], now[32];
    if (ev_cert_valid_at(x, at)) return CLOAK_OK;
    dcap_cert_cn(x, cn, sizeof cn);
    time_str(X509_get0_notBefore(x), nb);
    time_str(X509_get0_notAfter(x), na);
    ev_time_str(at, now);
    return cloak_error_set(why, CLOAK_EVERIFY,
                           "%s (CN=%s) is not valid at %s: it is valid from %s to %s", role, cn,
                           now, nb, na);
}

static int cn_has(X509 *x, const char *what)
{
    char cn[128];
    dcap_cert_cn(x, cn, sizeof cn);
    return strstr(cn, what) != NULL;
}

cloak_err dcap_pck_chain_verify(const dcap_pck_chain *c, const cloak_trust *t, time_t at,
                                int sigs_known, X509 **anchor, int *is_sim, cloak_error *why)
{
    cloak_err rc = CLOAK_EVERIFY;
    X509 *root = NULL;
    int sim = 0;
    char cn[128];
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    STACK_OF(X509) * built;
    /* 1. pin: the chain's root must be a trusted root, byte-equal or with the same key */
    if (same_root(c->root, t->intel_root)) {
        root = t->intel_root;
    } else if (t->sim_root && same_root(c->root, t->sim_root)) {
        root = t->sim_root;
        sim = 1;
    } else {
        dcap_cert_cn(c->root, cn, sizeof cn);
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "PCK chain ends at an untrusted root (CN=%s); trusted: Intel SGX Root "
                             "CA%s",
                             cn, t->sim_root ? " and the development root" : "");
        goto out;
    }
    /* 2. Intel's shape: a PCK certificate under a PCK Platform or Processor CA */
    if (!cn_has(c->ca, "PCK Platform CA") && !cn_has(c->ca, "PCK Processor CA")) {
        dcap_cert_cn(c->ca, cn, sizeof cn);
        rc =
            cloak_error_set(why, CLOAK_EVERIFY,
                            "the PCK chain's intermediate (CN=%s) is neither a PCK Platform CA nor "
                            "a PCK Processor CA",
                            cn);
        goto out;
    }
    if (!cn_has(c->leaf, "SGX PCK Certificate")) {
        dcap_cert_cn(c->leaf, cn, sizeof cn);
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the PCK chain's first certificate (CN=%s) is not an SGX PCK "
                             "Certificate",
                             cn);
        goto out;
    }
    /* 3. validity at the verification time, each with its own message */
    if ((rc = check_valid_at(c->leaf, "PCK certificate", at, why)) ||
        (rc = check_valid_at(c->ca, "PCK CA certificate", at, why)) ||
        (rc = check_valid_at(root, "root certificate", at, why)))
        goto out;
    /* 4. signatures and structure: OpenSSL, the pinned root as the only anchor */
    if (sigs_known) goto done;
    store = X509_STORE_new();
    ctx = X509_STORE_CTX_new();
    untrusted = sk_X509_new_null();
    if (!store || !ctx || !untrusted || X509_STORE_add_cert(store, root) != 1 ||
        !sk_X509_push(untrusted, c->ca) ||
        X509_STORE_CTX_init(ctx, store, c->leaf, untrusted) != 1) {
        rc = cloak_error_openssl(why, CLOAK_ENOMEM, "cannot set up PCK chain verification");
        goto out;
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), at); /* sets USE_CHECK_TIME */
    X509_VERIFY_PARAM_clear_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_verify_cert(ctx) != 1) {
        int err = X509_STORE_CTX_get_error(ctx);
        dcap_cert_cn(X509_STORE_CTX_get_current_cert(ctx), cn, sizeof cn);
        ERR_clear_error();
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "PCK chain does not verify to the pinned root: %s (depth %d, CN=%s)",
                             X509_verify_cert_error_string(err),
                             X509_STORE_CTX_get_error_depth(ctx), cn);
        goto out;
    }
    built = X509_STORE_CTX_get0_chain(ctx);
    if (sk_X509_num(built) != 3 || X509_cmp(sk_X509_value(built, 1), c->ca) != 0) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "PCK chain verified through a path other than PCK certificate -> PCK "
                             "CA -> root (%d certificates)",
                             sk_X509_num(built));
        goto out;
    }
done:
    *anchor = root;
    *is_sim = sim;
    rc = CLOAK_OK;
out:
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

/* ---- revocation ---- */

static void serial_hex(X509 *x, char *out, size_t cap)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL;
    snprintf(out, cap, "%s", h ? h : "?");
    for (char *q = out; *q; q++)
        if (*q >= 'A' && *q <= 'F') *q = (char)(*q - 'A' + 'a');
    OPENSSL_free(h);
    BN_free(bn);
}

static int is_revoked(X509_CRL *crl, X509 *x)
{
    X509_REVOKED *rev = NULL;
    /* 1: listed; 2: listed as removeFromCRL, i.e. no longer revoked (RFC 5280 §5.3.1) */
    return X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(x)) == 1;
}

cloak_err dcap_pck_check_revocation(const dcap_pck_chain *c, X509 *root, X509_CRL *root_crl,
                                    X509_CRL *pck_crl, int crl_sig_known, cloak_error *why)
{
    char cn[128], serial[80];
    EVP_PKEY *ca_key = X509_get0_pubkey(c->ca);
    if (!root_crl || !pck_crl)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "the collateral has no %s, so PCK revocation cannot be checked",
                               root_crl ? "PCK CRL" : "root CA CRL");
    if (X509_NAME_cmp(X509_CRL_get_issuer(root_crl), X509_get_subject_name(root)) != 0)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "the root CA CRL is not issued by the PCK chain's root");
    if (is_revoked(root_crl, c->ca)) {
        dcap_cert_cn(c->ca, cn, sizeof cn);
        serial_hex(c->ca, serial, sizeof serial);
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "PCK CA certificate serial %s (CN=%s) is revoked by the root CA CRL",
                               serial, cn);
    }
    /* the PCK CRL must come from this chain's CA: a Platform CA CRL says nothing about
     * certificates of the Processor CA (attestation.md §2 step 3) */
    dcap_cert_cn(c->ca, cn, sizeof cn);
    if (X509_NAME_cmp(X509_CRL_get_issuer(pck_crl), X509_get_subject_name(c->ca)) != 0)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "the PCK CRL is not issued by the PCK chain's CA (CN=%s): the "
                               "collateral is for the other PCK CA",
                               cn);
    if (!crl_sig_known && (!ca_key || X509_CRL_verify(pck_crl, ca_key) != 1)) {
        ERR_clear_error();
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "the PCK CRL's signature does not verify under the PCK CA's key "
                               "(CN=%s)",
                               cn);
    }
    if (is_revoked(pck_crl, c->leaf)) {
        serial_hex(c->leaf, serial, sizeof serial);
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "PCK certificate serial %s is revoked (PCK CRL of CN=%s)", serial,
                               cn);
    }
    return CLOAK_OK;
}

/* ---- the SGX extension (attestation.md §2 step 4; docs/SIM-PLATFORM.md) ---- */

#define SGX_EXT_OID "1.2.840.113741.1.13.1"
enum { EXT_PPID = 1, EXT_TCB = 2, EXT_PCEID = 3, EXT_FMSPC = 4, EXT_SGXTYPE = 5 };
#define TCB_COMPONENTS 16
#define TCB_PCESVN 17
#define TCB_CPUSVN 18

/* Decode SEQUENCE { OID, value } into the OID's last arc (under `prefix`) and the value.
 * Returns the arc (> 0), or -1 if the element is not such a pair or the OID is elsewhere;
 * *pair must be freed by the caller (sk_ASN1_TYPE_pop_free). */
static int oid_pair(const ASN1_TYPE *el, const char *prefix, STACK_OF(ASN1_TYPE) * *pair,
                    const ASN1_TYPE **value)
{
    char oid[80];
    const unsigned char *d;
    const ASN1_TYPE *o;
    size_t plen = strlen(prefix);
    char *end;
    long arc;
    int n;
    *pair = NULL;
    if (el->type != V_ASN1_SEQUENCE) return -1;
    d = ASN1_STRING_get0_data(el->value.sequence);
    *pair = d2i_ASN1_SEQUENCE_ANY(NULL, &d, ASN1_STRING_length(el->value.sequence));
    if (!*pair || sk_ASN1_TYPE_num(*pair) != 2) return -1;
    o = sk_ASN1_TYPE_value(*pair, 0);
    if (o->type != V_ASN1_OBJECT) return -1;
    n = OBJ_obj2txt(oid, sizeof oid, o->value.object, 1);
    if (n <= 0 || n >= (int)sizeof oid) return -1;
    if (strncmp(oid, prefix, plen) != 0 || oid[plen] != '.') return 0; /* another subtree */
    arc = strtol(oid + plen + 1, &end, 10);
    if (*end != 0 || arc <= 0 || arc > 1000) return 0;
    *value = sk_ASN1_TYPE_value(*pair, 1);
    return (int)arc;
}

static int octets(const ASN1_TYPE *v, uint8_t *out, size_t n)
{
    if (v->type != V_ASN1_OCTET_STRING || ASN1_STRING_length(v->value.octet_string) != (int)n)
        return -1;
    memcpy(out, ASN1_STRING_get0_data(v->value.octet_string), n);
    return 0;
}

static int small_int(const ASN1_TYPE *v, int type, int64_t max, int64_t *out)
{
    int64_t x;
    int ok = type == V_ASN1_INTEGER
                 ? v->type == V_ASN1_INTEGER && ASN1_INTEGER_get_int64(&x, v->value.integer) == 1
                 : v->type == V_ASN1_ENUMERATED &&
                       ASN1_ENUMERATED_get_int64(&x, v->value.enumerated) == 1;
    if (!ok || x < 0 || x > max) return -1;
    *out = x;
    return 0;
}

/* .2 TCB: .2.1-.2.16 component SVNs, .2.17 PCESVN, .2.18 CPUSVN -- each exactly once. */
static cloak_err parse_tcb(const ASN1_TYPE *v, dcap_pck_tcb *t, cloak_error *why)
{
    cloak_err rc = CLOAK_EVERIFY;
    STACK_OF(ASN1_TYPE) *seq = NULL, *pair = NULL;
    uint32_t seen = 0;
    const unsigned char *d;
    if (v->type != V_ASN1_SEQUENCE) {
        rc = cloak_error_set(why, CLOAK_EVERIFY, "PCK SGX extension: TCB (.2) is not a SEQUENCE");
        goto out;
    }
    d = ASN1_STRING_get0_data(v->value.sequence);
    seq = d2i_ASN1_SEQUENCE_ANY(NULL, &d, ASN1_STRING_length(v->value.sequence));
    if (!seq) {
        rc = cloak_error_set(why, CLOAK_EVERIFY, "PCK SGX extension: TCB (.2) does not decode");
        goto out;
    }
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        const ASN1_TYPE *val = NULL;
        int64_t x;
        int arc = oid_pair(sk_ASN1_TYPE_value(seq, i), SGX_EXT_OID ".2", &pair, &val);
        int bad = arc < 0 || arc > TCB_CPUSVN || (arc > 0 && (seen & (1u << arc)));
        if (!bad && arc >= 1 && arc <= TCB_COMPONENTS) {
            bad = small_int(val, V_ASN1_INTEGER, 255, &x) != 0;
            if (!bad) t->comp_svn[arc - 1] = (uint8_t)x;
        } else if (!bad && arc == TCB_PCESVN) {
            bad = small_int(val, V_ASN1_INTEGER, 65535, &x) != 0;
            if (!bad) t->pce_svn = (uint16_t)x;
        } else if (!bad && arc == TCB_CPUSVN) {
            bad = octets(val, t->cpu_svn, sizeof t->cpu_svn) != 0;
        }
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        pair = NULL;
        if (bad || arc == 0) {
            rc = cloak_error_set(why, CLOAK_EVERIFY,
                                 "PCK SGX extension: TCB element %d is malformed, unknown or "
                                 "repeated",
                                 i);
            goto out;
        }
        seen |= 1u << arc;
    }
    if (seen != 0x7fffeu) { /* arcs 1..18 */
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "PCK SGX extension: TCB (.2) lacks some of its 18 elements");
        goto out;
    }
    rc = CLOAK_OK;
out:
    sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    return rc;
}

cloak_err dcap_pck_parse_ext(X509 *leaf, dcap_pck_ext *out, cloak_error *why)
{
    cloak_err rc = CLOAK_EVERIFY;
    ASN1_OBJECT *oid = OBJ_txt2obj(SGX_EXT_OID, 1);
    STACK_OF(ASN1_TYPE) *seq = NULL, *pair = NULL;
    dcap_pck_ext e;
    unsigned seen = 0;
    int idx;
    const ASN1_OCTET_STRING *data;
    const unsigned char *d, *end;
    memset(&e, 0, sizeof e);
    if (!oid) {
        rc = cloak_error_openssl(why, CLOAK_ENOMEM, "cannot build the SGX extension OID");
        goto out;
    }
    idx = X509_get_ext_by_OBJ(leaf, oid, -1);
    if (idx < 0 || X509_get_ext_by_OBJ(leaf, oid, idx) >= 0) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the PCK certificate has %s SGX extension (OID " SGX_EXT_OID ")",
                             idx < 0 ? "no" : "more than one");
        goto out;
    }
    data = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
    d = ASN1_STRING_get0_data(data);
    end = d + ASN1_STRING_length(data);
    seq = d2i_ASN1_SEQUENCE_ANY(NULL, &d, ASN1_STRING_length(data));
    if (!seq || d != end) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the PCK certificate's SGX extension is not one DER SEQUENCE");
        goto out;
    }
    for (int i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
        const ASN1_TYPE *val = NULL;
        int64_t x = 0;
        int arc = oid_pair(sk_ASN1_TYPE_value(seq, i), SGX_EXT_OID, &pair, &val);
        int bad = arc < 0 || (arc > 0 && arc <= EXT_SGXTYPE && (seen & (1u << arc)));
        if (!bad) switch (arc) {
            case EXT_PPID:
                bad = octets(val, e.ppid, sizeof e.ppid) != 0;
                break;
            case EXT_TCB:
                if ((rc = parse_tcb(val, &e.tcb, why)) != CLOAK_OK) goto out;
                break;
            case EXT_PCEID:
                bad = octets(val, e.tcb.pce_id, sizeof e.tcb.pce_id) != 0;
                break;
            case EXT_FMSPC:
                bad = octets(val, e.tcb.fmspc, sizeof e.tcb.fmspc) != 0;
                break;
            case EXT_SGXTYPE:
                bad = small_int(val, V_ASN1_ENUMERATED, 2, &x) != 0;
                e.sgx_type = (int)x;
                break;
            default:
                break; /* .6 PlatformInstanceID, .7 Configuration: multi-package only */
            }
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        pair = NULL;
        if (bad) {
            rc = cloak_error_set(why, CLOAK_EVERIFY,
                                 "PCK SGX extension: element %d (arc .%d) is malformed or repeated",
                                 i, arc);
            goto out;
        }
        if (arc > 0 && arc <= EXT_SGXTYPE) seen |= 1u << arc;
    }
    if (seen != 0x3eu) { /* arcs 1..5 */
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "PCK SGX extension lacks PPID, TCB, PCE-ID, FMSPC or SGX type");
        goto out;
    }
    *out = e;
    rc = CLOAK_OK;
out:
    sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    ASN1_OBJECT_free(oid);
    return rc;
}
