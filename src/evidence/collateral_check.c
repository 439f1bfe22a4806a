/* DCAP collateral verification (attestation.md §2 steps 3, 7, 8): the issuer chains against the
 * pinned root at a given time, the TCB info and QE identity signatures over their exact signed
 * bytes, their ids and dates, and the two CRLs. A TCB-info-only collateral
 * (cloak_collateral_load_tcb_info) has no QE identity and no CRLs: only the TCB info, its
 * signature and its signing chain are checked, and nothing is said about revocation.
 *
 * Every date check uses the caller's `at`; nothing here reads the clock. */
#include "evidence/collateral_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

static void cert_cn(X509 *x, char *out, size_t cap)
{
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap) < 0)
        snprintf(out, cap, "(no CN)");
}

/* ASN1_TIME -> time_t, strictly (X509_cmp_time treats a malformed time as "equal"). */
static int asn1_time(const ASN1_TIME *a, time_t *out)
{
    struct tm tm;
    if (!a || ASN1_TIME_to_tm(a, &tm) != 1) return -1;
    *out = timegm(&tm);
    return 0;
}

static void fmt_time(time_t t, char out[32])
{
    ev_time_str(t, out);
}

/* ECDSA P-256 / SHA-256 over msg with a raw r||s signature: 1 valid, 0 not. */
static int verify_raw_p256(EVP_PKEY *key, const uint8_t *msg, size_t len,
                           const uint8_t sig[DCAP_RAW_SIG_BYTES])
{
    int ok = 0;
    char group[32];
    size_t glen = 0;
    unsigned char *der = NULL;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!key || !s || !r || !ss || !ctx || !EVP_PKEY_is_a(key, "EC") ||
        EVP_PKEY_get_group_name(key, group, sizeof group, &glen) != 1 ||
        strcmp(group, "prime256v1") != 0)
        goto out;
    if (ECDSA_SIG_set0(s, r, ss) != 1) goto out;
    r = ss = NULL;
    int dlen = i2d_ECDSA_SIG(s, &der);
    if (dlen <= 0) goto out;
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(ctx, der, (size_t)dlen, msg, len) == 1;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    return ok;
}

/* A signer chain from the collateral: [signer, root?]. The signer must be issued and signed by
 * the pinned root, be valid at `at` (the certificate's own dates: Intel re-issued the TCB
 * Signing certificate in 2025 with the same key and serial, MANIFEST quirk 3), and not be on the
 * root CA CRL. A copy of the root after it must be the pinned root. */
static cloak_err check_signer(STACK_OF(X509) * chain, const char *what, X509 *root,
                              X509_CRL *root_crl, time_t at, int sigs_known, X509 **signer,
                              cloak_error *why)
{
    char cn[128], rcn[128], a[32], b[32], t[32];
    time_t nb = 0, na = 0;
    EVP_PKEY *rk = X509_get0_pubkey(root);
    X509 *leaf = sk_X509_value(chain, 0);
    if (!leaf || !rk) return cloak_error_set(why, CLOAK_EINVAL, "%s is empty", what);
    cert_cn(leaf, cn, sizeof cn);
    cert_cn(root, rcn, sizeof rcn);
    for (int i = 1; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        if (X509_cmp(x, root) != 0 &&
            !(EVP_PKEY_eq(X509_get0_pubkey(x), rk) == 1 &&
              X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(root)) == 0)) {
            char xcn[128];
            cert_cn(x, xcn, sizeof xcn);
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "%s does not chain to the root: certificate %d (%s) is not the "
                                   "pinned root %s",
                                   what, i + 1, xcn, rcn);
        }
    }
    if (X509_cmp(leaf, root) == 0 || X509_check_issued(root, leaf) != X509_V_OK ||
        (!sigs_known && X509_verify(leaf, rk) != 1)) {
        ERR_clear_error();
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s does not chain to the root: %s is not issued and signed by %s",
                               what, cn, rcn);
    }
    fmt_time(at, t);
    if (asn1_time(X509_get0_notBefore(leaf), &nb) < 0 ||
        asn1_time(X509_get0_notAfter(leaf), &na) < 0 || at < nb || at > na) {
        fmt_time(nb, a);
        fmt_time(na, b);
        return cloak_error_set(why, CLOAK_EVERIFY, "%s: %s is not valid at %s (valid %s to %s)",
                               what, cn, t, a, b);
    }
    if (asn1_time(X509_get0_notBefore(root), &nb) < 0 ||
        asn1_time(X509_get0_notAfter(root), &na) < 0 || at < nb || at > na)
        return cloak_error_set(why, CLOAK_EVERIFY, "root %s is not valid at %s", rcn, t);
    X509_REVOKED *rev = NULL;
    /* root_crl is NULL only for a TCB-info-only collateral, which makes no revocation claim */
    if (root_crl && X509_CRL_get0_by_cert(root_crl, &rev, leaf) == 1) {
        char *serial = NULL;
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
        serial = bn ? BN_bn2hex(bn) : NULL;
        cloak_error_set(why, CLOAK_EVERIFY, "%s: %s (serial %s) is revoked on the root CA CRL",
                        what, cn, serial ? serial : "?");
        OPENSSL_free(serial);
        BN_free(bn);
        return CLOAK_EVERIFY;
    }
    *signer = leaf;
    return CLOAK_OK;
}

static cloak_err check_crl_time(X509_CRL *crl, const char *what, time_t at, cloak_error *why)
{
    time_t tu = 0, nu = 0;
    char a[32], t[32];
    fmt_time(at, t);
    if (asn1_time(X509_CRL_get0_lastUpdate(crl), &tu) < 0 ||
        asn1_time(X509_CRL_get0_nextUpdate(crl), &nu) < 0)
        return cloak_error_set(why, CLOAK_EVERIFY, "%s has no valid thisUpdate/nextUpdate", what);
    if (at < tu) {
        fmt_time(tu, a);
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s is not yet valid: thisUpdate %s is after the verification "
                               "time %s",
                               what, a, t);
    }
    if (at > nu) {
        fmt_time(nu, a);
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s expired at %s (nextUpdate; verification time %s)", what, a, t);
    }
    return CLOAK_OK;
}

static cloak_err check_crl_signer(X509_CRL *crl, X509 *issuer, const char *what, int sigs_known,
                                  cloak_error *why)
{
    char cn[128];
    cert_cn(issuer, cn, sizeof cn);
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
        return cloak_error_set(why, CLOAK_EVERIFY, "%s is not issued by %s", what, cn);
    if (!sigs_known && X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1) {
        ERR_clear_error();
        return cloak_error_set(why, CLOAK_EVERIFY, "%s signature does not verify under %s", what,
                               cn);
    }
    return CLOAK_OK;
}

/* One signed body: signature over the exact bytes, id, issueDate <= at <= nextUpdate. */
static cloak_err check_body(const char *what, const dcap_bytes *body, const uint8_t *sig,
                            X509 *signer, const char *id, const char *want_id, time_t issue,
                            const char *issue_str, time_t next, const char *next_str, time_t at,
                            int sigs_known, cloak_error *why)
{
    char cn[128], t[32];
    cert_cn(signer, cn, sizeof cn);
    fmt_time(at, t);
    if (!sigs_known && !verify_raw_p256(X509_get0_pubkey(signer), body->p, body->len, sig))
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s signature does not verify under %s over the body's exact bytes",
                               what, cn);
    if (strcmp(id, want_id) != 0)
        return cloak_error_set(why, CLOAK_EVERIFY, "%s id is %s, expected %s", what, id, want_id);
    if (at < issue)
        return cloak_error_set(
            why, CLOAK_EVERIFY,
            "%s is not yet valid: issueDate %s is after the verification time %s", what, issue_str,
            t);
    if (at > next)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s expired at %s (nextUpdate; verification time %s)", what,
                               next_str, t);
    return CLOAK_OK;
}

cloak_err dcap_collateral_check(const cloak_collateral *c, X509 *root, time_t at, int is_tdx,
                                cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    X509 *tcb_signer = NULL, *qe_signer = NULL, *pck_ca = NULL;
    if (!c || c->magic != COLLATERAL_MAGIC || !root) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "dcap_collateral_check: collateral and root required");
        goto out;
    }
    cloak_collateral *m = (cloak_collateral *)c; /* only the memo changes */
    pthread_mutex_lock(&m->memo_lock);
    int known = m->memo_root && m->memo_is_tdx == is_tdx && X509_cmp(m->memo_root, root) == 0;
    pthread_mutex_unlock(&m->memo_lock);
    /* the root CRL's signature first: the signer checks below consult it */
    if ((!c->tcb_only && (rc = check_crl_signer(c->root_crl, root, "root CA CRL", known, why))) ||
        (rc = check_signer(c->tcb_chain, "TCB info issuer chain", root, c->root_crl, at, known,
                           &tcb_signer, why)) ||
        (rc = check_body("TCB info", &c->tcb_info, c->tcb_info_sig, tcb_signer,
                         c->tcb.is_tdx ? "TDX" : "SGX", is_tdx ? "TDX" : "SGX", c->tcb.issue_date,
                         c->tcb.issue_date_str, c->tcb.next_update, c->tcb.next_update_str, at,
                         known, why)))
        goto out;
    /* TCB-info-only: there is no QE identity and there are no CRLs to check */
    if (c->tcb_only) goto memo;
    qe_signer = tcb_signer;
    if ((c->qe_chain_raw.len != c->tcb_chain_raw.len ||
         memcmp(c->qe_chain_raw.p, c->tcb_chain_raw.p, c->tcb_chain_raw.len) != 0) &&
        (rc = check_signer(c->qe_chain, "QE identity issuer chain", root, c->root_crl, at, known,
                           &qe_signer, why)))
        goto out;
    if ((rc = check_body("QE identity", &c->qe_identity, c->qe_identity_sig, qe_signer,
                         c->qe.is_td_qe ? "TD_QE" : "QE", is_tdx ? "TD_QE" : "QE", c->qe.issue_date,
                         c->qe.issue_date_str, c->qe.next_update, c->qe.next_update_str, at, known,
                         why)) ||
        (rc = check_crl_time(c->root_crl, "root CA CRL", at, why)) ||
        (rc = check_signer(c->pck_crl_chain, "PCK CRL issuer chain", root, c->root_crl, at, known,
                           &pck_ca, why)) ||
        (rc = check_crl_signer(c->pck_crl, pck_ca, "PCK CRL", known, why)) ||
        (rc = check_crl_time(c->pck_crl, "PCK CRL", at, why)))
        goto out;
memo:
    if (!known) {
        pthread_mutex_lock(&m->memo_lock);
        if (X509_up_ref(root)) {
            X509_free(m->memo_root);
            m->memo_root = root;
            m->memo_is_tdx = is_tdx;
        }
        pthread_mutex_unlock(&m->memo_lock);
    }
out:
    return rc;
}

int dcap_collateral_is_tcb_only(const cloak_collateral *c)
{
    return c && c->magic == COLLATERAL_MAGIC && c->tcb_only;
}

X509_CRL *dcap_collateral_root_crl(const cloak_collateral *c)
{
    return c && c->magic == COLLATERAL_MAGIC ? c->root_crl : NULL;
}

X509_CRL *dcap_collateral_pck_crl(const cloak_collateral *c)
{
    return c && c->magic == COLLATERAL_MAGIC ? c->pck_crl : NULL;
}

X509 *dcap_collateral_pck_crl_issuer(const cloak_collateral *c)
{
    return c && c->magic == COLLATERAL_MAGIC ? sk_X509_value(c->pck_crl_chain, 0) : NULL;
}
