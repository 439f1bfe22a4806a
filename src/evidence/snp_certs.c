/*
 * SEV-SNP certificates: pick the VCEK/VLEK from what the caller supplied, decide the product,
 * and check the chain VCEK -> ASK -> ARK (VLEK -> ASVK -> ARK) against the built-in AMD ARK.
 *
 * Why not X509_STORE: the VCEK serial is 0 (MANIFEST quirk 5), the VCEK has no key usage or
 * basic constraints to speak of, and the chain is always exactly three fixed roles, so each
 * signature and validity window is checked explicitly, with a message per failing step.
 */
#include "evidence/snp_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#define AMD_OID_PREFIX "1.3.6.1.4.1.3704.1."

static const char *const product_names[SNP_NPRODUCTS] = {"Milan", "Genoa", "Turin"};

const char *snp_product_name(int product)
{
    return product >= 0 && product < SNP_NPRODUCTS ? product_names[product] : "unknown";
}

int snp_product_from_name(const char *name)
{
    size_t n = strcspn(name, "-");
    for (int i = 0; i < SNP_NPRODUCTS; i++)
        if (strlen(product_names[i]) == n && !strncmp(name, product_names[i], n)) return i;
    return -1;
}

void snp_asn1_time_str(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "?");
}

void snp_chain_clear(snp_chain *c)
{
    X509_free(c->vek);
    memset(c, 0, sizeof *c);
}

/* ---- extensions ---- */

/* The extension value (extnValue contents) for AMD OID suffix `sfx`, or NULL when absent. */
static cloak_err amd_ext(X509 *c, const char *sfx, const ASN1_OCTET_STRING **val, cloak_error *why)
{
    char oid[64];
    snprintf(oid, sizeof oid, AMD_OID_PREFIX "%s", sfx);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    cloak_err rc = CLOAK_OK;
    *val = NULL;
    if (!obj) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    int i = X509_get_ext_by_OBJ(c, obj, -1);
    if (i < 0) goto out;
    if (X509_get_ext_by_OBJ(c, obj, i) >= 0) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "endorsement key certificate has extension %s twice", oid);
        goto out;
    }
    *val = X509_EXTENSION_get_data(X509_get_ext(c, i));
out:
    ASN1_OBJECT_free(obj);
    return rc;
}

/* An SPL: a DER INTEGER 0..255 filling the whole value. *out stays -1 when absent. */
static cloak_err ext_spl(X509 *c, const char *sfx, const char *name, int *out, cloak_error *why)
{
    const ASN1_OCTET_STRING *v;
    ASN1_INTEGER *ai = NULL;
    cloak_err rc = amd_ext(c, sfx, &v, why);
    *out = -1;
    if (rc || !v) goto out;
    const unsigned char *q = ASN1_STRING_get0_data(v);
    long n = ASN1_STRING_length(v);
    int64_t x = -1;
    ai = d2i_ASN1_INTEGER(NULL, &q, n);
    if (!ai || q != ASN1_STRING_get0_data(v) + n || !ASN1_INTEGER_get_int64(&x, ai) || x < 0 ||
        x > 255) {
        ERR_clear_error();
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "endorsement key extension %s (" AMD_OID_PREFIX
                             "%s) is not an INTEGER 0..255",
                             name, sfx);
        goto out;
    }
    *out = (int)x;
out:
    ASN1_INTEGER_free(ai);
    return rc;
}

cloak_err snp_vek_ext_parse(X509 *c, snp_vek_ext *e, cloak_error *why)
{
    snp_vek_ext t;
    const ASN1_OCTET_STRING *v;
    ASN1_TYPE *name = NULL;
    ASN1_OCTET_STRING *hw = NULL;
    cloak_err rc;
    memset(&t, 0, sizeof t);
    if ((rc = ext_spl(c, "3.1", "blSPL", &t.bl_spl, why)) ||
        (rc = ext_spl(c, "3.2", "teeSPL", &t.tee_spl, why)) ||
        (rc = ext_spl(c, "3.3", "snpSPL", &t.snp_spl, why)) ||
        (rc = ext_spl(c, "3.8", "ucodeSPL", &t.ucode_spl, why)) ||
        (rc = ext_spl(c, "3.9", "fmcSPL", &t.fmc_spl, why)))
        goto out;

    /* productName (.2): IA5String per KDS; accept the other plain string types too */
    if ((rc = amd_ext(c, "2", &v, why))) goto out;
    if (v) {
        const unsigned char *q = ASN1_STRING_get0_data(v);
        long n = ASN1_STRING_length(v);
        name = d2i_ASN1_TYPE(NULL, &q, n);
        int ty = name ? ASN1_TYPE_get(name) : -1;
        if (!name || q != ASN1_STRING_get0_data(v) + n ||
            (ty != V_ASN1_IA5STRING && ty != V_ASN1_UTF8STRING && ty != V_ASN1_PRINTABLESTRING) ||
            name->value.asn1_string->length <= 0 ||
            (size_t)name->value.asn1_string->length >= sizeof t.product_name ||
            memchr(name->value.asn1_string->data, 0, (size_t)name->value.asn1_string->length)) {
            ERR_clear_error();
            rc = cloak_error_set(why, CLOAK_EVERIFY,
                                 "endorsement key extension productName (" AMD_OID_PREFIX
                                 "2) is not a short string");
            goto out;
        }
        memcpy(t.product_name, name->value.asn1_string->data,
               (size_t)name->value.asn1_string->length);
    }

    /* hwID (.4): the raw 64 bytes (8 for Turin) in older KDS certificates, which carry no DER
     * tag (go-sev-guest kds.go and Trustee do the same), or a DER OCTET STRING. */
    if ((rc = amd_ext(c, "4", &v, why))) goto out;
    if (v) {
        const unsigned char *q = ASN1_STRING_get0_data(v);
        long n = ASN1_STRING_length(v);
        if (n == 64 || n == 8) {
            memcpy(t.hwid, q, (size_t)n);
            t.hwid_len = (size_t)n;
        } else if ((hw = d2i_ASN1_OCTET_STRING(NULL, &q, n)) && q == ASN1_STRING_get0_data(v) + n &&
                   (hw->length == 64 || hw->length == 8)) {
            memcpy(t.hwid, hw->data, (size_t)hw->length);
            t.hwid_len = (size_t)hw->length;
        } else {
            ERR_clear_error();
            rc = cloak_error_set(why, CLOAK_EVERIFY,
                                 "endorsement key extension hwID (" AMD_OID_PREFIX
                                 "4) is neither 64 (or 8) raw bytes "
                                 "nor an OCTET STRING of that size (%ld bytes)",
                                 n);
            goto out;
        }
    }
    *e = t;
out:
    ASN1_TYPE_free(name);
    ASN1_OCTET_STRING_free(hw);
    return rc;
}

static cloak_err spl_check(int spl, const char *name, const char *oid, uint8_t reported,
                           const char *field, cloak_error *why)
{
    if (spl < 0)
        return cloak_error_set(why, CLOAK_EVERIFY, "endorsement key certificate lacks %s (%s%s)",
                               name, AMD_OID_PREFIX, oid);
    if (spl != reported)
        return cloak_error_set(
            why, CLOAK_EVERIFY,
            "endorsement key %s is %d but REPORTED_TCB (offset 0x180) %s is %u: the certificate "
            "is for another TCB; fetch the one for this REPORTED_TCB",
            name, spl, field, reported);
    return CLOAK_OK;
}

cloak_err snp_vek_ext_check(const snp_vek_ext *e, const snp_report *r, int product, int is_vlek,
                            cloak_error *why)
{
    snp_tcb t;
    cloak_err rc;
    snp_tcb_decode(r->reported_tcb, product, &t);
    if ((rc = spl_check(e->bl_spl, "blSPL", "3.1", t.bootloader, "bootloader", why)) ||
        (rc = spl_check(e->tee_spl, "teeSPL", "3.2", t.tee, "tee", why)) ||
        (rc = spl_check(e->snp_spl, "snpSPL", "3.3", t.snp, "snp", why)) ||
        (rc = spl_check(e->ucode_spl, "ucodeSPL", "3.8", t.microcode, "microcode", why)))
        return rc;
    if (product == SNP_TURIN && (rc = spl_check(e->fmc_spl, "fmcSPL", "3.9", t.fmc, "fmc", why)))
        return rc;
    if (is_vlek) return CLOAK_OK; /* a VLEK is not tied to a chip: no hwID */
    static const uint8_t zero[64];
    if (!memcmp(r->chip_id, zero, sizeof zero))
        return CLOAK_OK;                         /* MASK_CHIP_ID: nothing to compare */
    size_t want = product == SNP_TURIN ? 8 : 64; /* Turin's hwID is the first 8 bytes of CHIP_ID */
    if (e->hwid_len == 0)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "VCEK certificate lacks hwID (" AMD_OID_PREFIX "4)");
    if (e->hwid_len != want)
        return cloak_error_set(why, CLOAK_EVERIFY, "VCEK hwID is %zu bytes; a %s hwID is %zu",
                               e->hwid_len, snp_product_name(product), want);
    if (memcmp(e->hwid, r->chip_id, want))
        return cloak_error_set(
            why, CLOAK_EVERIFY,
            "VCEK hwID does not equal CHIP_ID (offset 0x1A0): the VCEK belongs to another chip");
    return CLOAK_OK;
}

/* ---- certificates ---- */

typedef enum { ROLE_OTHER, ROLE_ARK, ROLE_ASK, ROLE_ASVK, ROLE_VCEK, ROLE_VLEK } cert_role;

static int cn_of(const X509_NAME *n, char *buf, size_t len)
{
    int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
    if (i < 0) return -1;
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
    int l = ASN1_STRING_length(s);
    if (l <= 0 || (size_t)l >= len || memchr(ASN1_STRING_get0_data(s), 0, (size_t)l)) return -1;
    memcpy(buf, ASN1_STRING_get0_data(s), (size_t)l);
    buf[l] = 0;
    return 0;
}

/* Role and (for ASK/ASVK) product from the subject CN; KDS names: ARK-<P>, SEV-<P>,
 * SEV-VLEK-<P>, SEV-VCEK, SEV-VLEK. Any self-issued certificate is treated as an ARK. */
static cert_role role_of(X509 *c, int *product)
{
    char cn[64];
    *product = -1;
    if (!X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c))) return ROLE_ARK;
    if (cn_of(X509_get_subject_name(c), cn, sizeof cn)) return ROLE_OTHER;
    if (!strcmp(cn, "SEV-VCEK")) return ROLE_VCEK;
    if (!strcmp(cn, "SEV-VLEK")) return ROLE_VLEK;
    if (!strncmp(cn, "SEV-VLEK-", 9)) {
        *product = snp_product_from_name(cn + 9);
        return *product >= 0 && !strchr(cn + 9, '-') ? ROLE_ASVK : ROLE_OTHER;
    }
    if (!strncmp(cn, "SEV-", 4)) {
        *product = snp_product_from_name(cn + 4);
        return *product >= 0 && !strchr(cn + 4, '-') ? ROLE_ASK : ROLE_OTHER;
    }
    return ROLE_OTHER;
}

/* All supplied certificates, parsed, identical copies merged. */
static cloak_err load_all(const cloak_verify_opts *o, STACK_OF(X509) * *out, cloak_error *why)
{
    STACK_OF(X509) *all = sk_X509_new_null();
    cloak_err rc = CLOAK_OK;
    if (!all) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < o->ncerts; i++) {
        STACK_OF(X509) *sk = o->certs[i] ? ev_load_certs(o->certs[i], o->cert_lens[i]) : NULL;
        if (!sk) {
            ERR_clear_error();
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "certificate buffer %zu (%zu bytes) is not PEM or DER X.509", i,
                                 o->cert_lens ? o->cert_lens[i] : 0);
            goto out;
        }
        X509 *x;
        while ((x = sk_X509_shift(sk))) {
            int dup = 0;
            for (int j = 0; j < sk_X509_num(all) && !dup; j++)
                dup = !X509_cmp(x, sk_X509_value(all, j));
            if (dup || !sk_X509_push(all, x)) {
                X509_free(x);
                if (!dup) {
                    sk_X509_pop_free(sk, X509_free);
                    rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
                    goto out;
                }
            }
        }
        sk_X509_free(sk);
    }
    *out = all;
    all = NULL;
out:
    sk_X509_pop_free(all, X509_free);
    return rc;
}

/* The signature algorithm must be RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48, trailer 1
 * (AMD KDS spec 57230), in both the outer and the TBS AlgorithmIdentifier. */
static cloak_err check_pss(const X509 *c, const char *role, cloak_error *why)
{
    const X509_ALGOR *alg = NULL;
    RSA_PSS_PARAMS *pss = NULL;
    X509_ALGOR *mgf_md = NULL;
    const char *bad = NULL;
    X509_get0_signature(NULL, &alg, c);
    if (!alg || OBJ_obj2nid(alg->algorithm) != NID_rsassaPss) {
        bad = "is not RSASSA-PSS";
        goto out;
    }
    if (X509_ALGOR_cmp(alg, X509_get0_tbs_sigalg(c))) {
        bad = "differs between the certificate and its TBS part";
        goto out;
    }
    if (!alg->parameter ||
        !(pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter))) {
        bad = "has no decodable RSASSA-PSS parameters";
        goto out;
    }
    if (!pss->hashAlgorithm || OBJ_obj2nid(pss->hashAlgorithm->algorithm) != NID_sha384) {
        bad = "does not use SHA-384 (RSASSA-PSS hashAlgorithm)";
        goto out;
    }
    if (!pss->maskGenAlgorithm || OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1 ||
        !pss->maskGenAlgorithm->parameter ||
        !(mgf_md = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
                                             pss->maskGenAlgorithm->parameter)) ||
        OBJ_obj2nid(mgf_md->algorithm) != NID_sha384) {
        bad = "does not use MGF1 with SHA-384";
        goto out;
    }
    int64_t salt = -1, trailer = 1;
    if (!pss->saltLength || !ASN1_INTEGER_get_int64(&salt, pss->saltLength) || salt != 48) {
        bad = "does not use a 48-byte salt";
        goto out;
    }
    if (pss->trailerField &&
        (!ASN1_INTEGER_get_int64(&trailer, pss->trailerField) || trailer != 1)) {
        bad = "has a trailer field other than 1";
        goto out;
    }
out:
    RSA_PSS_PARAMS_free(pss);
    X509_ALGOR_free(mgf_md);
    if (!bad) return CLOAK_OK;
    ERR_clear_error();
    return cloak_error_set(
        why, CLOAK_EVERIFY,
        "%s signature algorithm %s; AMD certificates use RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48",
        role, bad);
}

static cloak_err check_valid(X509 *c, const char *role, time_t at, cloak_error *why)
{
    if (ev_cert_valid_at(c, at)) return CLOAK_OK;
    char a[32], b[32], t[32];
    snp_asn1_time_str(X509_get0_notBefore(c), a);
    snp_asn1_time_str(X509_get0_notAfter(c), b);
    ev_time_str(at, t);
    return cloak_error_set(why, CLOAK_EVERIFY,
                           "%s certificate is not valid at %s (valid %s to %s)%s", role, t, a, b,
                           X509_cmp_time(X509_get0_notAfter(c), &at) < 0 ? ": it has expired" : "");
}

/* `child` is signed by `parent` with the required PSS parameters and both are valid at `at`. */
static cloak_err check_link(X509 *child, const char *crole, X509 *parent, const char *prole,
                            time_t at, cloak_error *why)
{
    cloak_err rc;
    if ((rc = check_pss(child, crole, why)) || (rc = check_valid(child, crole, at, why))) return rc;
    EVP_PKEY *pk = X509_get0_pubkey(parent);
    if (!pk || X509_verify(child, pk) != 1) {
        ERR_clear_error();
        return cloak_error_set(why, CLOAK_EVERIFY, "%s signature does not verify under the %s",
                               crole, prole);
    }
    return CLOAK_OK;
}

static cloak_err check_vek_key(X509 *vek, const char *role, cloak_error *why)
{
    EVP_PKEY *pk = X509_get0_pubkey(vek);
    char group[32] = "";
    size_t gl = 0;
    if (!pk || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof group, &gl) ||
        strcmp(group, "secp384r1")) {
        ERR_clear_error();
        return cloak_error_set(why, CLOAK_EVERIFY, "%s public key is not an EC P-384 key", role);
    }
    return CLOAK_OK;
}

/* The cache key: every input that decides the chain -- the signing key kind, the product the
 * report's CPUID names, and each supplied certificate buffer with its length. */
static void cache_key(const cloak_verify_opts *o, unsigned signing_key, int cpuid_product,
                      uint8_t key[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t hdr[16];
    unsigned int n32 = 32;
    memset(key, 0, 32); /* an allocation failure yields a key no real input maps to */
    if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) goto out;
    cloak_put_u32le(hdr, signing_key);
    cloak_put_u32le(hdr + 4, (uint32_t)cpuid_product);
    cloak_put_u64le(hdr + 8, o->ncerts);
    EVP_DigestUpdate(c, "snp-chain", 9);
    EVP_DigestUpdate(c, hdr, sizeof hdr);
    for (size_t i = 0; i < o->ncerts; i++) {
        uint8_t l[8];
        size_t n = o->certs && o->cert_lens && o->certs[i] ? o->cert_lens[i] : 0;
        cloak_put_u64le(l, n);
        EVP_DigestUpdate(c, l, 8);
        if (n) EVP_DigestUpdate(c, o->certs[i], n);
    }
    EVP_DigestFinal_ex(c, key, &n32);
out:
    EVP_MD_CTX_free(c);
}

cloak_err snp_chain_verify(const cloak_verify_opts *o, unsigned signing_key, int cpuid_product,
                           snp_chain *out, cloak_error *why)
{
    const cloak_trust *tr = o->trust;
    const int vlek = signing_key == SNP_KEY_VLEK;
    const char *leaf_role = vlek ? "VLEK" : "VCEK", *mid_role = vlek ? "ASVK" : "ASK";
    STACK_OF(X509) *all = NULL;
    X509 *vek = NULL, *mid = NULL;
    snp_chain res;
    cloak_err rc;
    int nvek = 0, nother_leaf = 0, product = -1;
    char cn[64] = "", arkname[32];
    memset(&res, 0, sizeof res);

    if (o->ncerts && (!o->certs || !o->cert_lens)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "certificate count %zu without certificate buffers",
                             o->ncerts);
        goto out;
    }
    /* A chain this trust accepted before for the same inputs: only the times are checked again
     * (the signatures, PSS parameters, roles and product do not depend on the time). */
    uint8_t key[32];
    struct {
        int product;
        snp_vek_ext ext;
    } aux;
    _Static_assert(sizeof aux <= EV_CHAIN_AUX_BYTES, "SNP chain facts fit the cache");
    X509 *cvek = NULL, *cmid = NULL, *cark = NULL;
    cache_key(o, signing_key, cpuid_product, key);
    if (ev_chain_cache_get(tr, key, sizeof key, &cvek, &cmid, &cark, &aux, sizeof aux)) {
        snprintf(arkname, sizeof arkname, "built-in ARK-%s", snp_product_name(aux.product));
        snprintf(cn, sizeof cn, "%s", mid_role);
        if ((rc = check_valid(cark, arkname, o->at, why)) ||
            (rc = check_valid(cmid, cn, o->at, why)) ||
            (rc = check_valid(cvek, leaf_role, o->at, why))) {
            X509_free(cvek);
        } else {
            res.vek = cvek;
            res.product = aux.product;
            res.ext = aux.ext;
            *out = res;
        }
        X509_free(cmid);
        X509_free(cark);
        goto out;
    }
    if ((rc = load_all(o, &all, why))) goto out;
    for (int i = 0; i < sk_X509_num(all); i++) {
        int p;
        cert_role r = role_of(sk_X509_value(all, i), &p);
        if (r == (vlek ? ROLE_VLEK : ROLE_VCEK)) {
            vek = sk_X509_value(all, i);
            nvek++;
        } else if (r == (vlek ? ROLE_VCEK : ROLE_VLEK)) {
            nother_leaf++;
        }
    }
    if (nvek > 1) {
        rc = cloak_error_set(
            why, CLOAK_EVERIFY,
            "%d different %s certificates were supplied; pass only the one for this report", nvek,
            leaf_role);
        goto out;
    }
    if (!nvek) {
        rc = cloak_error_set(
            why, CLOAK_EVERIFY,
            "no %s certificate (CN SEV-%s) among the %d supplied certificates%s; KEY_INFO (offset "
            "0x48) "
            "says a %s signed the report -- take it from the extended report or from AMD KDS "
            "(kdsintf.amd.com)",
            leaf_role, leaf_role, sk_X509_num(all),
            nother_leaf ? (vlek ? " (there is a VCEK)" : " (there is a VLEK)") : "", leaf_role);
        goto out;
    }

    /* Product: issuer CN, productName extension and CPUID must agree. */
    if (cn_of(X509_get_issuer_name(vek), cn, sizeof cn) ||
        strncmp(cn, vlek ? "SEV-VLEK-" : "SEV-", vlek ? 9 : 4) ||
        (product = snp_product_from_name(cn + (vlek ? 9 : 4))) < 0 ||
        strchr(cn + (vlek ? 9 : 4), '-')) {
        rc = cloak_error_set(
            why, CLOAK_EVERIFY,
            "%s issuer CN \"%s\" names no known product (expected %s<Milan|Genoa|Turin>)",
            leaf_role, cn, vlek ? "SEV-VLEK-" : "SEV-");
        goto out;
    }
    if ((rc = snp_vek_ext_parse(vek, &res.ext, why))) goto out;
    if (!res.ext.product_name[0]) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "%s certificate lacks productName (" AMD_OID_PREFIX "2)", leaf_role);
        goto out;
    }
    if (snp_product_from_name(res.ext.product_name) != product) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "%s productName \"%s\" disagrees with its issuer \"%s\"", leaf_role,
                             res.ext.product_name, cn);
        goto out;
    }
    if (cpuid_product >= 0 && cpuid_product != product) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the report's CPUID (offset 0x188) is a %s but the %s is for %s",
                             snp_product_name(cpuid_product), leaf_role, snp_product_name(product));
        goto out;
    }

    /* The anchor is always the built-in ARK; a supplied ARK must be identical to it. Pick the
     * intermediate whose subject is the leaf's issuer; fall back to the built-in copy. */
    snprintf(arkname, sizeof arkname, "built-in ARK-%s", snp_product_name(product));
    X509 *ark = tr->amd_ark[product];
    for (int i = 0; i < sk_X509_num(all); i++) {
        X509 *x = sk_X509_value(all, i);
        int p;
        cert_role r = role_of(x, &p);
        if (r == ROLE_ARK && X509_cmp(x, ark)) {
            char xcn[64] = "?";
            cn_of(X509_get_subject_name(x), xcn, sizeof xcn);
            rc = cloak_error_set(
                why, CLOAK_EVERIFY,
                "untrusted ARK: the supplied root \"%s\" is not the %s that anchors every %s chain",
                xcn, arkname, snp_product_name(product));
            goto out;
        }
        if (!mid && r == (vlek ? ROLE_ASVK : ROLE_ASK) && p == product &&
            !X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(vek))) {
            mid = x;
        }
    }
    const char *mid_src = "supplied";
    if (!mid) {
        mid = vlek ? tr->amd_asvk[product] : tr->amd_ask[product];
        mid_src = "built-in";
    }
    char mid_desc[48];
    snprintf(mid_desc, sizeof mid_desc, "%s %s", mid_src, mid_role);
    if ((rc = check_valid(ark, arkname, o->at, why)) || (rc = check_pss(ark, arkname, why)) ||
        (rc = check_link(mid, mid_desc, ark, arkname, o->at, why)) ||
        (rc = check_link(vek, leaf_role, mid, mid_desc, o->at, why)) ||
        (rc = check_vek_key(vek, leaf_role, why)))
        goto out;

    if (!X509_up_ref(vek)) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    res.vek = vek;
    res.product = product;
    memset(&aux, 0, sizeof aux);
    aux.product = product;
    aux.ext = res.ext;
    ev_chain_cache_put(tr, key, sizeof key, vek, mid, ark, &aux, sizeof aux);
    *out = res;
out:
    sk_X509_pop_free(all, X509_free);
    return rc;
}
