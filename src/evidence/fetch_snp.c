/*
 * cloak_evidence_fetch_collateral, the AMD side: from KDS (/vcek/v1/{product}/cert_chain,
 * /vcek/v1/{product}/crl and /vcek/v1/{product}/{hwid}?...SPL=) the ASK+ARK chain, the ARK's CRL
 * and, for each SEV-SNP report given, the VCEK of its chip at its REPORTED_TCB, written under
 * OUT/snp-<Product>/ (cert_chain.pem, crl.der, vcek-<hwid>-<tcb>.der).
 *
 * Trust: KDS answers are untrusted. The ARK must be byte-identical to libcloak's built-in ARK
 * of that product; the ASK must be issued and signed by it and valid at `at`; the CRL must be
 * issued and signed by the ARK and current at `at`; a VCEK is kept only if the report verifies
 * under it with cloak_evidence_verify (chain to the built-in ARK, signature, SPLs, hwID). The
 * verifier itself does not read this folder -- SNP evidence carries or is given its VCEK -- so
 * the folder serves `cloak evidence verify --cert` and callers that pass certificates.
 */
#include "evidence/fetch_int.h"
#include "evidence/snp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Write one verified file unless it is already there; returns the item result. */
static const char *put_file(const char *dir, const char *name, const uint8_t *p, size_t len,
                            cloak_err *rc, cloak_error *why)
{
    char *path = NULL;
    const fetch_file f = {name, p, len};
    if (fetch_folder_same(dir, &f, 1)) return "unchanged";
    if ((*rc = cloak_mkdirs(dir, 0755, why))) return "failed";
    if (asprintf(&path, "%s/%s", dir, name) < 0) {
        *rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        return "failed";
    }
    int existed = access(path, F_OK) == 0;
    *rc = cloak_file_write(path, p, len, 0644, why);
    free(path);
    return *rc ? "failed" : existed ? "updated" : "created";
}

static int time_ok(const ASN1_TIME *t, time_t at, int not_after)
{
    if (!t) return !not_after ? 0 : 1; /* no nextUpdate: no end */
    int c = X509_cmp_time(t, &at);     /* -1: t < at, 1: t > at, 0: error */
    return c != 0 && (not_after ? c > 0 : c < 0);
}

static cloak_err check_chain(fetch_session *s, int product, const uint8_t *p, size_t len,
                             cloak_error *why)
{
    X509 *ark = s->trust->amd_ark[product], *ask = NULL;
    STACK_OF(X509) *sk = ev_load_certs(p, len);
    const char *name = snp_product_name(product);
    cloak_err rc = CLOAK_OK;
    int have_ark = 0;
    if (!sk || sk_X509_num(sk) != 2) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "cert_chain is not two PEM certificates (ASK, then ARK): %d found",
                             sk ? sk_X509_num(sk) : 0);
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        X509 *x = sk_X509_value(sk, i);
        if (!X509_cmp(x, ark))
            have_ark = 1;
        else
            ask = x;
    }
    if (!have_ark || !ask) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "cert_chain does not hold libcloak's built-in ARK-%s: a root that "
                             "is not AMD's is never accepted",
                             name);
        goto out;
    }
    if (X509_check_issued(ark, ask) != X509_V_OK || X509_verify(ask, X509_get0_pubkey(ark)) != 1) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the ASK in cert_chain is not issued and signed by ARK-%s", name);
        goto out;
    }
    if (!ev_cert_valid_at(ask, s->at)) {
        char t[32];
        ev_time_str(s->at, t);
        rc = cloak_error_set(why, CLOAK_EVERIFY, "the ASK in cert_chain is not valid at %s", t);
        goto out;
    }
out:
    ERR_clear_error();
    sk_X509_pop_free(sk, X509_free);
    return rc;
}

static cloak_err check_crl(fetch_session *s, int product, X509_CRL *crl, const char *dir,
                           cloak_error *why)
{
    X509 *ark = s->trust->amd_ark[product];
    const char *name = snp_product_name(product);
    char t[32];
    ev_time_str(s->at, t);
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)) != 0 ||
        X509_CRL_verify(crl, X509_get0_pubkey(ark)) != 1) {
        ERR_clear_error();
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "the CRL is not issued and signed by libcloak's built-in ARK-%s",
                               name);
    }
    if (!time_ok(X509_CRL_get0_lastUpdate(crl), s->at, 0) ||
        !time_ok(X509_CRL_get0_nextUpdate(crl), s->at, 1))
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "the CRL is not current at %s (thisUpdate/nextUpdate)", t);
    /* not older than a CRL on disk that verifies */
    char *path = NULL;
    uint8_t *old = NULL, *der = NULL;
    size_t old_len = 0, der_len = 0;
    X509_CRL *oc = NULL;
    cloak_error ignored;
    cloak_err rc = CLOAK_OK;
    if (asprintf(&path, "%s/crl.der", dir) >= 0 &&
        cloak_file_read(path, &old, &old_len, &ignored) == CLOAK_OK &&
        fetch_crl_der(old, old_len, "crl.der", &der, &der_len, &oc, &ignored) == CLOAK_OK &&
        X509_CRL_verify(oc, X509_get0_pubkey(ark)) == 1 &&
        ASN1_TIME_compare(X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_lastUpdate(oc)) < 0)
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the CRL is older than the one in %s: the server is stale", path);
    ERR_clear_error();
    X509_CRL_free(oc);
    free(der);
    free(old);
    free(path);
    return rc;
}

cloak_err fetch_snp_product(fetch_session *s, int product)
{
    const char *name = snp_product_name(product);
    char url[1300], *dir = NULL;
    cloak_err rc = CLOAK_OK;
    if (asprintf(&dir, "%s/snp-%s", s->o->out_dir, name) < 0) return CLOAK_ENOMEM;
    for (int part = 0; part < 2; part++) { /* 0: cert_chain, 1: crl */
        cloak_http_response r = {0};
        cloak_error e = {0};
        const char *result = "failed", *file = part ? "crl.der" : "cert_chain.pem";
        char what[64];
        uint8_t *der = NULL;
        size_t der_len = 0;
        X509_CRL *crl = NULL;
        cloak_err irc;
        snprintf(what, sizeof what, "AMD KDS %s %s", name, part ? "CRL" : "certificate chain");
        json_t *item = json_pack("{s:s,s:s,s:s++}", "kind", part ? "snp-crl" : "snp-chain",
                                 "product", name, "path", dir, "/", file);
        snprintf(url, sizeof url, "%s/vcek/v1/%s/%s", s->kds, name, part ? "crl" : "cert_chain");
        if ((irc = fetch_get(s, what, url, 0, &r, &e))) goto next;
        result = "refused";
        if (part == 0) {
            if ((irc = check_chain(s, product, r.body.p, r.body.len, &e))) goto next;
            result = put_file(dir, file, r.body.p, r.body.len, &irc, &e);
        } else {
            if ((irc = fetch_crl_der(r.body.p, r.body.len, what, &der, &der_len, &crl, &e)) ||
                (irc = check_crl(s, product, crl, dir, &e)))
                goto next;
            result = put_file(dir, file, der, der_len, &irc, &e);
        }
    next:
        if (!strcmp(result, "refused"))
            cloak_error_wrap(&e, "%s refused, %s/%s left as it was", what, dir, file);
        fetch_record(s, item, result, irc, e.msg[0] ? &e : NULL);
        if (irc && !rc) rc = irc;
        X509_CRL_free(crl);
        free(der);
        cloak_http_response_free(&r);
    }
    free(dir);
    return rc;
}

cloak_err fetch_snp_report(fetch_session *s, const cloak_fetch_evidence *ev, int product_hint)
{
    snp_report r;
    snp_tcb t;
    cloak_error e = {0};
    cloak_http_response resp = {0};
    json_t *claims = NULL;
    char *dir = NULL, *hwid = NULL, url[1600], file[200], tcb_hex[17];
    const char *result = "failed", *ename = ev->name ? ev->name : "evidence";
    int product = -1;
    json_t *item = json_pack("{s:s,s:s}", "kind", "snp-vcek", "from", ename);
    cloak_err rc = snp_report_parse(ev->p, ev->len, 1, &r, &e);
    if (rc) goto out;
    product = r.version >= 3 ? snp_product_from_cpuid(r.cpuid_fam, r.cpuid_mod) : product_hint;
    if (product < 0) {
        if (r.version >= 3)
            rc = cloak_error_set(&e, CLOAK_EINVAL,
                                 "its CPUID (family 0x%02x model 0x%02x) is not a Milan, Genoa "
                                 "or Turin part",
                                 r.cpuid_fam, r.cpuid_mod);
        else
            rc = cloak_error_set(&e, CLOAK_EINVAL,
                                 "a version %u report does not name its product: give exactly "
                                 "one SNP product (--product)",
                                 r.version);
        goto out;
    }
    const char *pname = snp_product_name(product);
    json_object_set_new(item, "product", json_string(pname));
    if (snp_signing_key(&r) != SNP_KEY_VCEK) {
        if (snp_signing_key(&r) == SNP_KEY_VLEK)
            rc = cloak_error_set(&e, CLOAK_EINVAL,
                                 "the report is signed with a VLEK, not a VCEK: KDS serves VLEKs "
                                 "only to registered cloud providers; get it from yours");
        else
            rc = cloak_error_set(&e, CLOAK_EINVAL,
                                 "the report is not signed with a VCEK (KEY_INFO signing key %u)",
                                 snp_signing_key(&r));
        goto out;
    }
    static const uint8_t zero[64];
    if (!memcmp(r.chip_id, zero, sizeof zero)) {
        rc = cloak_error_set(&e, CLOAK_EINVAL,
                             "CHIP_ID is zero (MASK_CHIP_ID): there is no chip to ask KDS for");
        goto out;
    }
    /* Turin's hwID is the first 8 bytes of CHIP_ID; Milan and Genoa use all 64 */
    size_t hwid_len = product == SNP_TURIN ? 8 : 64;
    snp_tcb_decode(r.reported_tcb, product, &t);
    cloak_hex_write(tcb_hex, r.reported_tcb, 8);
    if (!(hwid = cloak_hex_encode(r.chip_id, hwid_len)) ||
        asprintf(&dir, "%s/snp-%s", s->o->out_dir, pname) < 0) {
        dir = NULL;
        rc = cloak_error_set(&e, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (product == SNP_TURIN)
        snprintf(url, sizeof url,
                 "%s/vcek/v1/%s/%s?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", s->kds,
                 pname, hwid, t.fmc, t.bootloader, t.tee, t.snp, t.microcode);
    else
        snprintf(url, sizeof url, "%s/vcek/v1/%s/%s?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u",
                 s->kds, pname, hwid, t.bootloader, t.tee, t.snp, t.microcode);
    snprintf(file, sizeof file, "vcek-%s-%s.der", hwid, tcb_hex);
    json_object_set_new(item, "reported_tcb", json_string(tcb_hex));
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, file) >= 0)
        json_object_set_new(item, "path", json_string(path));
    free(path);
    if ((rc = fetch_get(s, "AMD KDS VCEK", url, 0, &resp, &e))) goto out;
    /* keep it only if the report verifies under it: chain to the built-in ARK, the report
     * signature, the VCEK's SPLs against REPORTED_TCB and its hwID against CHIP_ID */
    /* with the product's chain on disk (verified when written), else the built-in ASK */
    uint8_t *chain = NULL;
    size_t chain_len = 0;
    char *chain_path = NULL;
    cloak_error ignored;
    if (asprintf(&chain_path, "%s/cert_chain.pem", dir) < 0 ||
        cloak_file_read(chain_path, &chain, &chain_len, &ignored) != CLOAK_OK)
        chain = NULL;
    free(chain_path);
    const uint8_t *certs[2] = {resp.body.p, chain};
    size_t lens[2] = {resp.body.len, chain_len};
    cloak_verify_opts vo = {.type = CLOAK_TEE_SNP,
                            .trust = s->trust,
                            .certs = certs,
                            .cert_lens = lens,
                            .ncerts = chain ? 2 : 1,
                            .at = s->at};
    result = "refused";
    rc = cloak_evidence_verify(ev->p, ev->len, &vo, &claims, &e);
    free(chain);
    if (rc) {
        cloak_error_wrap(&e, "%s does not verify under the VCEK KDS served", ename);
        goto out;
    }
    result = put_file(dir, file, resp.body.p, resp.body.len, &rc, &e);
out:
    if (!strcmp(result, "refused"))
        cloak_error_wrap(&e, "AMD KDS VCEK for %s refused, nothing written", ename);
    else if (!strcmp(result, "failed"))
        cloak_error_wrap(&e, "VCEK for %s", ename);
    fetch_record(s, item, result, rc, e.msg[0] ? &e : NULL);
    json_t *o =
        json_pack("{s:s,s:s,s:b}", "name", ename, "tee", "sevsnp", "verified", claims != NULL);
    if (product >= 0) json_object_set_new(o, "product", json_string(snp_product_name(product)));
    if (claims)
        json_object_set(o, "tcb_status", json_object_get(claims, "tcb_status"));
    else
        json_object_set_new(o, "error", json_string(e.msg));
    json_array_append_new(s->evidence, o);
    json_decref(claims);
    cloak_http_response_free(&resp);
    free(hwid);
    free(dir);
    return rc;
}
