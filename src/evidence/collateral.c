/* DCAP collateral: load it (the dcap-qvl split directory layout, a dcap-qvl collateral JSON
 * file, PCS responses through dcap_pcs_split, or a PCS TCB info response alone for the
 * TCB-info-only scope) and hash its inputs for claims. Verification against a pinned root at a
 * given time is collateral_check.c.
 *
 * The TCB info and QE identity bodies are kept as the exact bytes their signatures cover
 * (MANIFEST quirk 2): signatures are checked over those bytes, never over a re-serialisation.
 * Every date check uses the caller's `at`; nothing here reads the clock. */
#include "evidence/collateral_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* The inputs in the order of labels[] below. */
enum {
    I_TCB,
    I_TCB_SIG,
    I_QE,
    I_QE_SIG,
    I_ROOT_CRL,
    I_PCK_CRL,
    I_TCB_CHAIN,
    I_QE_CHAIN,
    I_PCK_CHAIN,
    I_COUNT
};

/* What each input is called in messages, per source format. */
static const char *const split_names[I_COUNT] = {
    "tcb_info_body.json",    "tcb_info.sig",          "qe_identity_body.json",
    "qe_identity.sig",       "root_ca_crl.der",       "pck_crl.der",
    "tcb_signing_chain.pem", "tcb_signing_chain.pem", "pck_crl_issuer_chain.pem",
};
static const char *const json_names[I_COUNT] = {
    "tcb_info",
    "tcb_info_signature",
    "qe_identity",
    "qe_identity_signature",
    "root_ca_crl",
    "pck_crl",
    "tcb_info_issuer_chain",
    "qe_identity_issuer_chain",
    "pck_crl_issuer_chain",
};
static const char *const part_names[I_COUNT] = {
    "TCB info",
    "TCB info signature",
    "QE identity",
    "QE identity signature",
    "root CA CRL",
    "PCK CRL",
    "TCB info issuer chain",
    "QE identity issuer chain",
    "PCK CRL issuer chain",
};

void cloak_collateral_free(cloak_collateral *c)
{
    if (!c) return;
    dcap_bytes *all[] = {&c->tcb_info,      &c->qe_identity,  &c->root_crl_raw,     &c->pck_crl_raw,
                         &c->tcb_chain_raw, &c->qe_chain_raw, &c->pck_crl_chain_raw};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]->p);
    X509_CRL_free(c->root_crl);
    X509_CRL_free(c->pck_crl);
    sk_X509_pop_free(c->tcb_chain, X509_free);
    sk_X509_pop_free(c->qe_chain, X509_free);
    sk_X509_pop_free(c->pck_crl_chain, X509_free);
    dcap_tcb_info_free(&c->tcb);
    dcap_qe_identity_free(&c->qe);
    free(c->source);
    X509_free(c->memo_root);
    pthread_mutex_destroy(&c->memo_lock);
    c->magic = 0;
    free(c);
}

static int copy_bytes(dcap_bytes *b, const uint8_t *p, size_t len)
{
    b->p = malloc(len ? len : 1);
    if (!b->p) return -1;
    if (len) memcpy(b->p, p, len);
    b->len = len;
    return 0;
}

/* A CRL in DER (the whole input) or PEM. */
static X509_CRL *parse_crl(const uint8_t *p, size_t len)
{
    X509_CRL *crl = NULL;
    if (len == 0 || len > INT32_MAX) return NULL;
    if (p[0] == 0x30) {
        const uint8_t *q = p;
        crl = d2i_X509_CRL(NULL, &q, (long)len);
        if (crl && q != p + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    } else {
        BIO *b = BIO_new_mem_buf(p, (int)len);
        crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    }
    ERR_clear_error();
    return crl;
}

static int compute_hashes(cloak_collateral *c);

static cloak_err build(const dcap_collateral_parts *in, const char *source,
                       const char *const *names, cloak_collateral **out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    cloak_collateral *c = calloc(1, sizeof *c);
    const char *src = source ? source : "collateral";
    char name[512];
    if (!c || !(c->source = strdup(src))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory loading collateral %s", src);
        goto out;
    }
    c->magic = COLLATERAL_MAGIC;
    pthread_mutex_init(&c->memo_lock, NULL);
    if (!in->tcb_info_sig || in->tcb_info_sig_len != DCAP_RAW_SIG_BYTES || !in->qe_identity_sig ||
        in->qe_identity_sig_len != DCAP_RAW_SIG_BYTES) {
        int t = !in->tcb_info_sig || in->tcb_info_sig_len != DCAP_RAW_SIG_BYTES;
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "%s: %s: expected a %d-byte raw ECDSA signature (r||s), got %zu bytes",
                             src, names[t ? I_TCB_SIG : I_QE_SIG], DCAP_RAW_SIG_BYTES,
                             t ? in->tcb_info_sig_len : in->qe_identity_sig_len);
        goto out;
    }
    memcpy(c->tcb_info_sig, in->tcb_info_sig, DCAP_RAW_SIG_BYTES);
    memcpy(c->qe_identity_sig, in->qe_identity_sig, DCAP_RAW_SIG_BYTES);
    if (copy_bytes(&c->tcb_info, in->tcb_info, in->tcb_info_len) < 0 ||
        copy_bytes(&c->qe_identity, in->qe_identity, in->qe_identity_len) < 0 ||
        copy_bytes(&c->root_crl_raw, in->root_crl, in->root_crl_len) < 0 ||
        copy_bytes(&c->pck_crl_raw, in->pck_crl, in->pck_crl_len) < 0 ||
        copy_bytes(&c->tcb_chain_raw, in->tcb_chain, in->tcb_chain_len) < 0 ||
        copy_bytes(&c->qe_chain_raw, in->qe_chain, in->qe_chain_len) < 0 ||
        copy_bytes(&c->pck_crl_chain_raw, in->pck_crl_chain, in->pck_crl_chain_len) < 0) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory loading collateral %s", src);
        goto out;
    }
    if (!(c->root_crl = parse_crl(c->root_crl_raw.p, c->root_crl_raw.len)) ||
        !(c->pck_crl = parse_crl(c->pck_crl_raw.p, c->pck_crl_raw.len))) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "%s: %s: not a DER or PEM X.509 CRL", src,
                             names[c->root_crl ? I_PCK_CRL : I_ROOT_CRL]);
        goto out;
    }
    struct {
        const dcap_bytes *b;
        STACK_OF(X509) * *sk;
        int idx;
    } chains[] = {
        {&c->tcb_chain_raw, &c->tcb_chain, I_TCB_CHAIN},
        {&c->qe_chain_raw, &c->qe_chain, I_QE_CHAIN},
        {&c->pck_crl_chain_raw, &c->pck_crl_chain, I_PCK_CHAIN},
    };
    for (size_t i = 0; i < sizeof chains / sizeof *chains; i++)
        if (!(*chains[i].sk = ev_load_certs(chains[i].b->p, chains[i].b->len))) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "%s: %s: no PEM or DER certificate found", src,
                                 names[chains[i].idx]);
            goto out;
        }
    snprintf(name, sizeof name, "%s: %s", src, names[I_TCB]);
    if ((rc = dcap_tcb_info_parse(c->tcb_info.p, c->tcb_info.len, name, &c->tcb, why))) goto out;
    snprintf(name, sizeof name, "%s: %s", src, names[I_QE]);
    if ((rc = dcap_qe_identity_parse(c->qe_identity.p, c->qe_identity.len, name, &c->qe, why)))
        goto out;
    if (compute_hashes(c)) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "cannot hash the collateral");
        goto out;
    }
    *out = c;
    c = NULL;
out:
    cloak_collateral_free(c);
    return rc;
}

cloak_err dcap_collateral_from_parts(const dcap_collateral_parts *parts, const char *source,
                                     cloak_collateral **out, cloak_error *why)
{
    if (!parts || !out)
        return cloak_error_set(why, CLOAK_EINVAL, "dcap_collateral_from_parts: no parts");
    return build(parts, source, part_names, out, why);
}

/* ---- the dcap-qvl JSON file (QuoteCollateralV3 serialised with serde_json) ---- */

static cloak_err json_field(json_t *o, const char *key, const char *src, const uint8_t **p,
                            size_t *len, cloak_error *why)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return cloak_error_set(why, CLOAK_EINVAL, "%s: field \"%s\" is missing or not a string",
                               src, key);
    *p = (const uint8_t *)json_string_value(v);
    *len = json_string_length(v);
    return CLOAK_OK;
}

static cloak_err json_hex_field(json_t *o, const char *key, const char *src, uint8_t **p,
                                size_t *len, cloak_error *why)
{
    const uint8_t *s;
    size_t n;
    cloak_error inner;
    cloak_err rc = json_field(o, key, src, &s, &n, why);
    if (rc) return rc;
    if (cloak_hex_decode((const char *)s, p, len, &inner) != CLOAK_OK)
        return cloak_error_set(why, CLOAK_EINVAL, "%s: field \"%s\": %s", src, key, inner.msg);
    return CLOAK_OK;
}

cloak_err dcap_collateral_from_json(const uint8_t *p, size_t len, const char *source,
                                    cloak_collateral **out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    json_error_t jerr;
    dcap_collateral_parts parts;
    uint8_t *tsig = NULL, *qsig = NULL, *rcrl = NULL, *pcrl = NULL;
    const char *src = source ? source : "collateral JSON";
    memset(&parts, 0, sizeof parts);
    json_t *o = p ? json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!o || !json_is_object(o)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "%s: not a dcap-qvl collateral JSON object (%s)",
                             src,
                             o   ? "not an object"
                             : p ? jerr.text
                                 : "no input");
        goto out;
    }
    if ((rc = json_field(o, "tcb_info", src, &parts.tcb_info, &parts.tcb_info_len, why)) ||
        (rc = json_hex_field(o, "tcb_info_signature", src, &tsig, &parts.tcb_info_sig_len, why)) ||
        (rc = json_field(o, "qe_identity", src, &parts.qe_identity, &parts.qe_identity_len, why)) ||
        (rc = json_hex_field(o, "qe_identity_signature", src, &qsig, &parts.qe_identity_sig_len,
                             why)) ||
        (rc = json_hex_field(o, "root_ca_crl", src, &rcrl, &parts.root_crl_len, why)) ||
        (rc = json_hex_field(o, "pck_crl", src, &pcrl, &parts.pck_crl_len, why)) ||
        (rc = json_field(o, "tcb_info_issuer_chain", src, &parts.tcb_chain, &parts.tcb_chain_len,
                         why)) ||
        (rc = json_field(o, "qe_identity_issuer_chain", src, &parts.qe_chain, &parts.qe_chain_len,
                         why)) ||
        (rc = json_field(o, "pck_crl_issuer_chain", src, &parts.pck_crl_chain,
                         &parts.pck_crl_chain_len, why)))
        goto out;
    parts.tcb_info_sig = tsig;
    parts.qe_identity_sig = qsig;
    parts.root_crl = rcrl;
    parts.pck_crl = pcrl;
    rc = build(&parts, src, json_names, out, why);
out:
    free(tsig);
    free(qsig);
    free(rcrl);
    free(pcrl);
    json_decref(o);
    return rc;
}

cloak_err dcap_pcs_split(const uint8_t *p, size_t len, const char *key, const uint8_t **body,
                         size_t *body_len, uint8_t sig[DCAP_RAW_SIG_BYTES], cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    json_error_t jerr;
    size_t off = 0, vlen = 0;
    uint8_t s[DCAP_RAW_SIG_BYTES];
    cloak_error inner;
    /* the parser validates the whole response (and refuses duplicate keys, including an
     * escaped spelling of `key` that the byte scanner would not see) */
    json_t *o = p ? json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    json_t *sv = o ? json_object_get(o, "signature") : NULL;
    if (!o || !json_is_object(o)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "PCS response is not a JSON object (%s)",
                             o   ? "not an object"
                             : p ? jerr.text
                                 : "no input");
        goto out;
    }
    if (!json_is_object(json_object_get(o, key)) ||
        dcap_json_member_span(p, len, key, &off, &vlen) < 0) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "PCS response has no \"%s\" object", key);
        goto out;
    }
    if (!json_is_string(sv) ||
        cloak_hex_decode_fixed(json_string_value(sv), s, sizeof s, &inner) != CLOAK_OK) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "PCS response \"signature\" is not %d bytes of hex (raw r||s)",
                             DCAP_RAW_SIG_BYTES);
        goto out;
    }
    *body = p + off;
    *body_len = vlen;
    memcpy(sig, s, sizeof s);
out:
    json_decref(o);
    return rc;
}

/* ---- a PCS TCB info response alone (collateral_scope "tcb-info-only") ---- */

cloak_err dcap_collateral_from_tcb_info(const uint8_t *resp, size_t resp_len, const uint8_t *chain,
                                        size_t chain_len, const char *source,
                                        cloak_collateral **out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    cloak_collateral *c = NULL;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    uint8_t sig[DCAP_RAW_SIG_BYTES];
    const char *src = source ? source : "TCB info";
    char name[512];
    if (!out) return cloak_error_set(why, CLOAK_EINVAL, "dcap_collateral_from_tcb_info: no out");
    if ((rc = dcap_pcs_split(resp, resp_len, "tcbInfo", &body, &body_len, sig, why))) {
        cloak_error_wrap(why,
                         "TCB info %s (expected a PCS response {\"tcbInfo\":{...},"
                         "\"signature\":\"hex\"})",
                         src);
        goto out;
    }
    if (!(c = calloc(1, sizeof *c)) || !(c->source = strdup(src))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory loading TCB info %s", src);
        goto out;
    }
    c->magic = COLLATERAL_MAGIC;
    c->tcb_only = 1;
    pthread_mutex_init(&c->memo_lock, NULL);
    memcpy(c->tcb_info_sig, sig, sizeof sig);
    if (copy_bytes(&c->tcb_info, body, body_len) < 0 ||
        copy_bytes(&c->tcb_chain_raw, chain, chain ? chain_len : 0) < 0) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory loading TCB info %s", src);
        goto out;
    }
    if (!chain || !chain_len ||
        !(c->tcb_chain = ev_load_certs(c->tcb_chain_raw.p, c->tcb_chain_raw.len))) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "%s: TCB signing chain: no PEM or DER certificate found (give the "
                             "PCS TCB-Info-Issuer-Chain: \"Intel SGX TCB Signing\", then the root)",
                             src);
        goto out;
    }
    snprintf(name, sizeof name, "%s: tcbInfo", src);
    if ((rc = dcap_tcb_info_parse(c->tcb_info.p, c->tcb_info.len, name, &c->tcb, why))) goto out;
    if (compute_hashes(c)) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "cannot hash the TCB info");
        goto out;
    }
    *out = c;
    c = NULL;
out:
    cloak_collateral_free(c);
    return rc;
}

cloak_err cloak_collateral_load_tcb_info(const char *tcb_info_path, const char *signing_chain_path,
                                         cloak_collateral **out, cloak_error *why)
{
    cloak_err rc;
    uint8_t *resp = NULL, *chain = NULL;
    size_t resp_len = 0, chain_len = 0;
    if (!tcb_info_path || !out)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_collateral_load_tcb_info: no path");
    /* no built-in TCB Signing certificate: Intel re-issues it (2018, 2025; MANIFEST quirk 3)
     * and PCS serves it next to each response, so the caller passes what PCS served */
    if (!signing_chain_path)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "TCB info %s: a TCB signing chain is required (the PCS "
                               "TCB-Info-Issuer-Chain header, PEM)",
                               tcb_info_path);
    if ((rc = cloak_file_read(tcb_info_path, &resp, &resp_len, why))) {
        cloak_error_wrap(why, "loading TCB info");
        goto out;
    }
    if ((rc = cloak_file_read(signing_chain_path, &chain, &chain_len, why))) {
        cloak_error_wrap(why, "loading TCB signing chain");
        goto out;
    }
    rc = dcap_collateral_from_tcb_info(resp, resp_len, chain, chain_len, tcb_info_path, out, why);
out:
    free(resp);
    free(chain);
    return rc;
}

/* ---- the split directory layout ---- */

static cloak_err load_dir(const char *dir, cloak_collateral **out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    uint8_t *buf[I_COUNT] = {0};
    size_t len[I_COUNT] = {0};
    static const int files[] = {I_TCB,      I_TCB_SIG, I_QE,        I_QE_SIG,
                                I_ROOT_CRL, I_PCK_CRL, I_TCB_CHAIN, I_PCK_CHAIN};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, split_names[files[i]]) < 0) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        rc = cloak_file_read(path, &buf[files[i]], &len[files[i]], why);
        free(path);
        if (rc) {
            cloak_error_wrap(why, "loading collateral %s", dir);
            goto out;
        }
    }
    /* the split layout has one chain for both signed bodies: the TCB signing chain */
    dcap_collateral_parts parts = {
        buf[I_TCB],       len[I_TCB],       buf[I_TCB_SIG],   len[I_TCB_SIG],   buf[I_QE],
        len[I_QE],        buf[I_QE_SIG],    len[I_QE_SIG],    buf[I_ROOT_CRL],  len[I_ROOT_CRL],
        buf[I_PCK_CRL],   len[I_PCK_CRL],   buf[I_TCB_CHAIN], len[I_TCB_CHAIN], buf[I_TCB_CHAIN],
        len[I_TCB_CHAIN], buf[I_PCK_CHAIN], len[I_PCK_CHAIN],
    };
    rc = build(&parts, dir, split_names, out, why);
out:
    for (int i = 0; i < I_COUNT; i++)
        free(buf[i]);
    return rc;
}

cloak_err cloak_collateral_load(const char *path, cloak_collateral **out, cloak_error *why)
{
    struct stat st;
    uint8_t *p = NULL;
    size_t len = 0;
    cloak_err rc;
    if (!path || !out) return cloak_error_set(why, CLOAK_EINVAL, "cloak_collateral_load: no path");
    if (stat(path, &st) < 0)
        return cloak_error_set(why, errno == ENOENT ? CLOAK_ENOTFOUND : CLOAK_EIO,
                               "collateral %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return load_dir(path, out, why);
    if ((rc = cloak_file_read(path, &p, &len, why))) return rc;
    rc = dcap_collateral_from_json(p, len, path, out, why);
    free(p);
    return rc;
}

/* MAA's x-ms-sgx-collateral names; each value is SHA-256 (lower-case hex) of the exact input
 * bytes as loaded:
 *   tcbinfohash       the signed TCB info body (the bytes the signature covers)
 *   qeidhash          the signed QE identity body
 *   tcbinfocertshash  the TCB info issuer chain (PEM as given)
 *   qeidcertshash     the QE identity issuer chain (the same bytes in the split layout)
 *   tcbinfocrlhash    the PCK CRL (revocation of the platform whose TCB the TCB info rates)
 *   qeidcrlhash       the root CA CRL (revocation of the signing and CA certificates)
 * The PCK CRL issuer chain is not hashed (MAA has no key for it). */
static const char *const hash_keys[6] = {"tcbinfohash",   "qeidhash",       "tcbinfocertshash",
                                         "qeidcertshash", "tcbinfocrlhash", "qeidcrlhash"};

/* The collateral is immutable: hash its inputs once. */
static int compute_hashes(cloak_collateral *c)
{
    const dcap_bytes *items[6] = {&c->tcb_info,     &c->qe_identity, &c->tcb_chain_raw,
                                  &c->qe_chain_raw, &c->pck_crl_raw, &c->root_crl_raw};
    for (size_t i = 0; i < 6; i++) {
        uint8_t md[32];
        unsigned int mdlen = 0;
        if (EVP_Digest(items[i]->p, items[i]->len, md, &mdlen, EVP_sha256(), NULL) != 1) return -1;
        cloak_hex_write(c->hashes[i], md, 32);
    }
    return 0;
}

json_t *dcap_collateral_hashes(const cloak_collateral *c)
{
    if (!c || c->magic != COLLATERAL_MAGIC) return NULL;
    json_t *o = json_object();
    for (size_t i = 0; o && i < 6; i++)
        /* TCB-info-only: no QE identity, no CRLs -- no hashes of inputs that were not given */
        if ((!c->tcb_only || i == 0 || i == 2) &&
            json_object_set_new(o, hash_keys[i], json_string(c->hashes[i])) < 0) {
            json_decref(o);
            o = NULL;
        }
    return o;
}
