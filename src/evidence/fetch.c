/*
 * cloak_evidence_fetch_collateral: keep a collateral directory fresh from Intel PCS (API v4) or
 * a PCCS, and AMD KDS (fetch_snp.c). For each SGX/TDX FMSPC -- given, or read from a quote's
 * PCK certificate -- it fetches the TCB info, the QE identity, the PCK CRL of the right CA and
 * the root CA CRL with their issuer chains (response headers), builds the collateral exactly
 * as cloak_collateral_load will read it back, verifies it with the verifier's own
 * dcap_collateral_check at the given time, and only then swaps the folder in.
 *
 * Trust: the servers (and the network to them, beyond TLS to --ca or the system roots) are not
 * trusted: a response that does not verify to the built-in Intel root, is for another FMSPC, or
 * is older than a still-valid set on disk is refused and the folder left as it was. Quotes are
 * only parsed to choose what to fetch (FMSPC, PCK CA); they are verified afterwards with what is
 * on disk, for the report. Verification time is a parameter; the clock is read only when the
 * caller leaves it 0.
 */
#include "evidence/collateral_int.h"
#include "evidence/dcap_quote.h"
#include "evidence/fetch_int.h"
#include "evidence/snp_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* One DCAP folder to fetch. */
typedef struct {
    int tdx;
    uint8_t fmspc[6];
    cloak_pck_ca ca;
    const char *from; /* "--fmspc" or the evidence name */
} dcap_want;

/* A response fetched once per run and shared by the folders that need it (or its error). */
typedef struct {
    int done;
    cloak_err rc;
    cloak_error why;
    uint8_t *body; /* the body (CRLs: DER) */
    size_t len;
    uint8_t *chain; /* the issuer chain header, decoded PEM (NULL for the root CA CRL) */
    size_t chain_len;
} shared_resp;

typedef struct {
    fetch_session *s;
    shared_resp root_crl, qe[2], pck_crl[3]; /* qe[tdx], pck_crl[cloak_pck_ca] */
} dcap_ctx;

static void shared_free(shared_resp *r)
{
    free(r->body);
    free(r->chain);
    memset(r, 0, sizeof *r);
}

static const char *tee_name(int tdx)
{
    return tdx ? "tdx" : "sgx";
}

static const char *ca_name(cloak_pck_ca ca)
{
    return ca == CLOAK_PCK_CA_PLATFORM ? "platform" : "processor";
}

static cloak_err fetch_pck_crl(dcap_ctx *d, cloak_pck_ca ca)
{
    shared_resp *r = &d->pck_crl[ca];
    cloak_http_response resp = {0};
    char url[1400], what[64];
    static const char *const hdr[] = {"SGX-PCK-CRL-Issuer-Chain", NULL};
    if (r->done) return r->rc;
    r->done = 1;
    snprintf(url, sizeof url, "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", d->s->pcs,
             ca_name(ca));
    snprintf(what, sizeof what, "PCK %s CA CRL", ca_name(ca));
    if (!(r->rc = fetch_get(d->s, what, url, 1, &resp, &r->why)) &&
        !(r->rc = fetch_chain_header(&resp, hdr, what, &r->chain, &r->chain_len, &r->why)))
        r->rc = fetch_crl_der(resp.body.p, resp.body.len, what, &r->body, &r->len, NULL, &r->why);
    cloak_http_response_free(&resp);
    return r->rc;
}

static cloak_err fetch_root_crl(dcap_ctx *d)
{
    shared_resp *r = &d->root_crl;
    cloak_http_response resp = {0};
    if (r->done) return r->rc;
    r->done = 1;
    /* the key goes to the PCS/PCCS only, not to Intel's certificate host or a custom URL */
    int to_pcs = !d->s->o->root_crl_url && d->s->o->pccs_url;
    if (!(r->rc = fetch_get(d->s, "root CA CRL", d->s->root_crl_url, to_pcs, &resp, &r->why)))
        r->rc = fetch_crl_der(resp.body.p, resp.body.len, "root CA CRL", &r->body, &r->len, NULL,
                              &r->why);
    cloak_http_response_free(&resp);
    return r->rc;
}

static cloak_err fetch_qe(dcap_ctx *d, int tdx)
{
    shared_resp *r = &d->qe[tdx];
    cloak_http_response resp = {0};
    char url[1400];
    static const char *const hdr[] = {"SGX-Enclave-Identity-Issuer-Chain", NULL};
    const char *what = tdx ? "TD QE identity" : "QE identity";
    if (r->done) return r->rc;
    r->done = 1;
    snprintf(url, sizeof url, "%s/%s/certification/v4/qe/identity", d->s->pcs, tee_name(tdx));
    if (!(r->rc = fetch_get(d->s, what, url, 1, &resp, &r->why)) &&
        !(r->rc = fetch_chain_header(&resp, hdr, what, &r->chain, &r->chain_len, &r->why))) {
        if (!(r->body = malloc(resp.body.len + 1)))
            r->rc = cloak_error_set(&r->why, CLOAK_ENOMEM, "out of memory");
        else {
            memcpy(r->body, resp.body.p, resp.body.len);
            r->len = resp.body.len;
        }
    }
    cloak_http_response_free(&resp);
    return r->rc;
}

/* The split layout keeps one signing chain for both bodies (tcb_signing_chain.pem): the QE
 * identity must be signed by the same certificate as the TCB info. */
static cloak_err same_signer(const uint8_t *tcb_chain, size_t tcb_len, const uint8_t *qe_chain,
                             size_t qe_len, cloak_error *why)
{
    STACK_OF(X509) *a = ev_load_certs(tcb_chain, tcb_len), *b = ev_load_certs(qe_chain, qe_len);
    int same = a && b && sk_X509_num(a) > 0 && sk_X509_num(b) > 0 &&
               X509_cmp(sk_X509_value(a, 0), sk_X509_value(b, 0)) == 0;
    sk_X509_pop_free(a, X509_free);
    sk_X509_pop_free(b, X509_free);
    if (same) return CLOAK_OK;
    return cloak_error_set(why, CLOAK_EVERIFY,
                           "the QE identity's issuer chain does not start with the TCB info's "
                           "signing certificate (the collateral layout has one signing chain)");
}

/* A set on disk that still verifies at `at` must not be replaced by an older one. */
static cloak_err not_older(const char *dir, const cloak_collateral *nc, X509 *root, time_t at,
                           int tdx, cloak_error *why)
{
    cloak_collateral *old = NULL;
    cloak_error ignored;
    cloak_err rc = CLOAK_OK;
    if (cloak_collateral_load(dir, &old, &ignored) != CLOAK_OK ||
        dcap_collateral_check(old, root, at, tdx, &ignored) != CLOAK_OK)
        goto out; /* nothing good on disk to protect */
    const char *what = NULL;
    if (nc->tcb.eval_number < old->tcb.eval_number || nc->tcb.issue_date < old->tcb.issue_date)
        what = "TCB info";
    else if (nc->qe.eval_number < old->qe.eval_number || nc->qe.issue_date < old->qe.issue_date)
        what = "QE identity";
    else if (ASN1_TIME_compare(X509_CRL_get0_lastUpdate(nc->pck_crl),
                               X509_CRL_get0_lastUpdate(old->pck_crl)) < 0)
        what = "PCK CRL";
    else if (ASN1_TIME_compare(X509_CRL_get0_lastUpdate(nc->root_crl),
                               X509_CRL_get0_lastUpdate(old->root_crl)) < 0)
        what = "root CA CRL";
    if (what)
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the fetched %s is older than the valid one in %s (TCB evaluation "
                             "data number %d, on disk %d): the server is serving stale "
                             "collateral",
                             what, dir, nc->tcb.eval_number, old->tcb.eval_number);
out:
    cloak_collateral_free(old);
    return rc;
}

static void fmspc_hex(const uint8_t f[6], char out[13], int upper)
{
    cloak_hex_write(out, f, 6);
    for (int i = 0; upper && i < 12; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
}

/* Fetch, verify and write one folder, and record the outcome in the report. */
static void fetch_dcap(dcap_ctx *d, const dcap_want *w)
{
    fetch_session *s = d->s;
    cloak_http_response tcb = {0};
    cloak_collateral *c = NULL, *back = NULL;
    cloak_error e = {0};
    cloak_err rc;
    uint8_t *tcb_chain = NULL;
    size_t tcb_chain_len = 0;
    char hex[13], HEX[13], name[32], url[1400], label[96], *dir = NULL;
    const char *result = "failed";
    const uint8_t *tcb_body = NULL, *qe_body = NULL;
    size_t tcb_body_len = 0, qe_body_len = 0;
    uint8_t tcb_sig[DCAP_RAW_SIG_BYTES], qe_sig[DCAP_RAW_SIG_BYTES];
    static const char *const tcb_hdr[] = {"TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain",
                                          NULL};
    fmspc_hex(w->fmspc, hex, 0);
    fmspc_hex(w->fmspc, HEX, 1);
    snprintf(name, sizeof name, "%s-%s", tee_name(w->tdx), hex);
    snprintf(label, sizeof label, "%s collateral for FMSPC %s", w->tdx ? "TDX" : "SGX", hex);
    json_t *item = json_pack("{s:s,s:s,s:s,s:s}", "kind", tee_name(w->tdx), "fmspc", hex, "pck_ca",
                             ca_name(w->ca), "from", w->from);
    if (asprintf(&dir, "%s/%s", s->o->out_dir, name) < 0) {
        dir = NULL;
        rc = cloak_error_set(&e, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    json_object_set_new(item, "path", json_string(dir));
    snprintf(url, sizeof url, "%s/%s/certification/v4/tcb?fmspc=%s", s->pcs, tee_name(w->tdx), HEX);
    if ((rc = fetch_get(s, "TCB info", url, 1, &tcb, &e)) ||
        (rc = fetch_chain_header(&tcb, tcb_hdr, "TCB info", &tcb_chain, &tcb_chain_len, &e)) ||
        (rc = dcap_pcs_split(tcb.body.p, tcb.body.len, "tcbInfo", &tcb_body, &tcb_body_len, tcb_sig,
                             &e))) {
        result = rc == CLOAK_EINVAL ? "refused" : "failed";
        goto out;
    }
    if ((rc = fetch_qe(d, w->tdx)) || (rc = fetch_pck_crl(d, w->ca)) || (rc = fetch_root_crl(d))) {
        e = d->qe[w->tdx].rc       ? d->qe[w->tdx].why
            : d->pck_crl[w->ca].rc ? d->pck_crl[w->ca].why
                                   : d->root_crl.why;
        result = rc == CLOAK_EINVAL ? "refused" : "failed";
        goto out;
    }
    const shared_resp *qe = &d->qe[w->tdx], *pck = &d->pck_crl[w->ca], *root = &d->root_crl;
    if ((rc = dcap_pcs_split(qe->body, qe->len, "enclaveIdentity", &qe_body, &qe_body_len, qe_sig,
                             &e))) {
        result = "refused";
        goto out;
    }
    /* Exactly what cloak_collateral_load will read back: one chain for both signed bodies. */
    dcap_collateral_parts parts = {
        tcb_body,  tcb_body_len,  tcb_sig,    sizeof tcb_sig, qe_body,    qe_body_len,
        qe_sig,    sizeof qe_sig, root->body, root->len,      pck->body,  pck->len,
        tcb_chain, tcb_chain_len, tcb_chain,  tcb_chain_len,  pck->chain, pck->chain_len,
    };
    result = "refused";
    if ((rc = dcap_collateral_from_parts(&parts, label, &c, &e)) ||
        (rc = dcap_collateral_check(c, s->trust->intel_root, s->at, w->tdx, &e)) ||
        (rc = same_signer(tcb_chain, tcb_chain_len, qe->chain, qe->chain_len, &e)))
        goto out;
    if (memcmp(c->tcb.fmspc, w->fmspc, 6) != 0) {
        char got[13];
        fmspc_hex(c->tcb.fmspc, got, 0);
        rc = cloak_error_set(&e, CLOAK_EVERIFY,
                             "the server answered with the TCB info of FMSPC %s, not %s", got, hex);
        goto out;
    }
    if ((rc = not_older(dir, c, s->trust->intel_root, s->at, w->tdx, &e))) goto out;
    json_object_set_new(item, "tcb_evaluation_data_number", json_integer(c->tcb.eval_number));
    json_object_set_new(item, "tcb_info_next_update", json_string(c->tcb.next_update_str));
    json_object_set_new(item, "qe_identity_next_update", json_string(c->qe.next_update_str));
    const fetch_file files[] = {
        {"tcb_info_body.json", tcb_body, tcb_body_len},
        {"tcb_info.sig", tcb_sig, sizeof tcb_sig},
        {"qe_identity_body.json", qe_body, qe_body_len},
        {"qe_identity.sig", qe_sig, sizeof qe_sig},
        {"root_ca_crl.der", root->body, root->len},
        {"pck_crl.der", pck->body, pck->len},
        {"tcb_signing_chain.pem", tcb_chain, tcb_chain_len},
        {"pck_crl_issuer_chain.pem", pck->chain, pck->chain_len},
    };
    const size_t nfiles = sizeof files / sizeof *files;
    result = "failed";
    if (fetch_folder_same(dir, files, nfiles)) {
        result = "unchanged";
        goto out;
    }
    int created = 0;
    if ((rc = fetch_folder_replace(s->o->out_dir, name, files, nfiles, &created, &e))) goto out;
    /* read it back the way the verifier will, and check it again */
    if ((rc = cloak_collateral_load(dir, &back, &e)) ||
        (rc = dcap_collateral_check(back, s->trust->intel_root, s->at, w->tdx, &e))) {
        cloak_error_wrap(&e, "%s as written", dir);
        goto out;
    }
    result = created ? "created" : "updated";
out:
    if (!strcmp(result, "refused"))
        cloak_error_wrap(&e, "%s refused, %s left as it was", label, dir ? dir : s->o->out_dir);
    else if (!strcmp(result, "failed"))
        cloak_error_wrap(&e, "%s", label);
    fetch_record(s, item, result, rc, e.msg[0] ? &e : NULL);
    cloak_collateral_free(c);
    cloak_collateral_free(back);
    cloak_http_response_free(&tcb);
    free(tcb_chain);
    free(dir);
}

/* ---- what to fetch ---- */

static cloak_err parse_fmspc(const char *hex, uint8_t out[6], cloak_error *why)
{
    cloak_error inner;
    if (!hex || strlen(hex) != 12 || cloak_hex_decode_fixed(hex, out, 6, &inner) != CLOAK_OK)
        return cloak_error_set(why, CLOAK_EINVAL, "FMSPC \"%.40s\" is not 12 hex digits",
                               hex ? hex : "");
    return CLOAK_OK;
}

static int add_want(dcap_want *w, size_t *n, const dcap_want *x)
{
    for (size_t i = 0; i < *n; i++)
        if (w[i].tdx == x->tdx && !memcmp(w[i].fmspc, x->fmspc, 6)) return (int)i;
    w[(*n)++] = *x;
    return -1;
}

/* The PCK CA of a quote's chain, from its CN ("Intel SGX PCK Platform CA" / "Processor CA"). */
static cloak_err quote_ca(const uint8_t *p, size_t len, cloak_pck_ca *ca, cloak_error *why)
{
    dcap_quote q;
    dcap_pck_chain ch = {0};
    char cn[128];
    cloak_err rc = dcap_quote_parse(p, len, &q, why);
    if (rc || (rc = dcap_pck_chain_load(q.pck_pem, q.pck_pem_len, &ch, why))) return rc;
    dcap_cert_cn(ch.ca, cn, sizeof cn);
    dcap_pck_chain_free(&ch);
    if (strstr(cn, "Platform CA"))
        *ca = CLOAK_PCK_CA_PLATFORM;
    else if (strstr(cn, "Processor CA"))
        *ca = CLOAK_PCK_CA_PROCESSOR;
    else
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the PCK CA \"%s\" is neither the Platform nor the Processor CA",
                               cn);
    return CLOAK_OK;
}

static void evidence_entry(fetch_session *s, const cloak_fetch_evidence *ev, int tdx,
                           const uint8_t fmspc[6])
{
    char hex[13], *dir = NULL;
    cloak_collateral *c = NULL;
    json_t *claims = NULL;
    cloak_error e = {0};
    fmspc_hex(fmspc, hex, 0);
    json_t *o = json_pack("{s:s,s:s,s:s}", "name", ev->name ? ev->name : "evidence", "tee",
                          tee_name(tdx), "fmspc", hex);
    cloak_err rc = asprintf(&dir, "%s/%s-%s", s->o->out_dir, tee_name(tdx), hex) < 0
                       ? cloak_error_set(&e, CLOAK_ENOMEM, "out of memory")
                       : cloak_collateral_load(dir, &c, &e);
    if (rc == CLOAK_OK) {
        cloak_verify_opts vo = {.type = tdx ? CLOAK_TEE_TDX : CLOAK_TEE_SGX,
                                .trust = s->trust,
                                .collateral = c,
                                .at = s->at};
        rc = cloak_evidence_verify(ev->p, ev->len, &vo, &claims, &e);
    }
    json_object_set_new(o, "verified", json_boolean(rc == CLOAK_OK));
    if (rc == CLOAK_OK)
        json_object_set(o, "tcb_status", json_object_get(claims, "tcb_status"));
    else
        json_object_set_new(o, "error", json_string(e.msg));
    json_array_append_new(s->evidence, o);
    json_decref(claims);
    cloak_collateral_free(c);
    free(dir);
}

static cloak_err session_init(fetch_session *s, const cloak_fetch_opts *o, cloak_error *why)
{
    cloak_err rc;
    const char *pcs = o->pccs_url ? o->pccs_url : o->pcs_url ? o->pcs_url : CLOAK_PCS_URL_DEFAULT;
    const char *kds = o->kds_url ? o->kds_url : CLOAK_KDS_URL_DEFAULT;
    memset(s, 0, sizeof *s);
    s->o = o;
    s->at = o->at ? o->at : time(NULL);
    if (o->pcs_url && o->pccs_url)
        return cloak_error_set(why, CLOAK_EINVAL, "give a PCS URL or a PCCS URL, not both");
    if (strlen(pcs) >= sizeof s->pcs - 1 || strlen(kds) >= sizeof s->kds - 1)
        return cloak_error_set(why, CLOAK_EINVAL, "a base URL is too long");
    snprintf(s->pcs, sizeof s->pcs, "%s", pcs);
    snprintf(s->kds, sizeof s->kds, "%s", kds);
    for (char *b = s->pcs; *b && b[strlen(b) - 1] == '/';)
        b[strlen(b) - 1] = 0;
    for (char *b = s->kds; *b && b[strlen(b) - 1] == '/';)
        b[strlen(b) - 1] = 0;
    int n =
        o->root_crl_url ? snprintf(s->root_crl_url, sizeof s->root_crl_url, "%s", o->root_crl_url)
        : o->pccs_url
            ? snprintf(s->root_crl_url, sizeof s->root_crl_url, "%s/sgx/certification/v4/rootcacrl",
                       s->pcs)
            : snprintf(s->root_crl_url, sizeof s->root_crl_url, "%s", CLOAK_ROOT_CRL_URL_DEFAULT);
    if (n < 0 || (size_t)n >= sizeof s->root_crl_url)
        return cloak_error_set(why, CLOAK_EINVAL, "the root CA CRL URL is too long");
    if (o->api_key) {
        for (const char *k = o->api_key; *k; k++)
            if ((unsigned char)*k < 0x21 || (unsigned char)*k > 0x7e)
                return cloak_error_set(why, CLOAK_EINVAL,
                                       "the API key holds a space or a control character");
        s->key_header_len = strlen("Ocp-Apim-Subscription-Key: ") + strlen(o->api_key) + 1;
        if (!(s->key_header = malloc(s->key_header_len)))
            return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        snprintf(s->key_header, s->key_header_len, "Ocp-Apim-Subscription-Key: %s", o->api_key);
    }
    if ((rc = cloak_trust_new(0, NULL, &s->trust, why)) ||
        (rc = cloak_http_client_new(o->ca_file, &s->http, why)))
        return rc;
    if (!(s->items = json_array()) || !(s->evidence = json_array()))
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    return CLOAK_OK;
}

static void session_free(fetch_session *s)
{
    if (s->key_header) cloak_free_secret(s->key_header, s->key_header_len);
    cloak_http_client_free(s->http);
    cloak_trust_free(s->trust);
    json_decref(s->items);
    json_decref(s->evidence);
    memset(s, 0, sizeof *s);
}

cloak_err cloak_evidence_fetch_collateral(const cloak_fetch_opts *o, json_t **report,
                                          cloak_error *why)
{
    fetch_session s;
    dcap_ctx d;
    cloak_err rc;
    dcap_want *want = NULL;
    size_t nwant = 0;
    int snp_products[SNP_NPRODUCTS] = {0}, product_hint = -1, want_snp = 0;
    memset(&d, 0, sizeof d);
    memset(&s, 0, sizeof s);
    if (!o || !o->out_dir || !*o->out_dir)
        return cloak_error_set(why, CLOAK_EINVAL, "an output directory is required (--out DIR)");
    if (!o->nfmspcs && !o->nevidence && !o->nsnp_products && !(o->types & CLOAK_FETCH_SNP))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "nothing to fetch: give FMSPCs, evidence, or SNP products");
    unsigned types = o->types;
    if (o->nfmspcs && types && !(types & (CLOAK_FETCH_SGX | CLOAK_FETCH_TDX)))
        return cloak_error_set(why, CLOAK_EINVAL, "an FMSPC is for SGX or TDX collateral");
    if (o->pck_ca < CLOAK_PCK_CA_AUTO || o->pck_ca > CLOAK_PCK_CA_PLATFORM)
        return cloak_error_set(why, CLOAK_EINVAL, "unknown PCK CA type");
    for (size_t i = 0; i < o->nsnp_products; i++) {
        int p = snp_product_from_name(o->snp_products[i]);
        if (p < 0 || strchr(o->snp_products[i], '-'))
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "unknown SEV-SNP product \"%.40s\" (Milan, Genoa or Turin)",
                                   o->snp_products[i]);
        snp_products[p] = 1;
        product_hint = o->nsnp_products == 1 ? p : -1;
    }
    if (!(want = calloc(2 * o->nfmspcs + o->nevidence + 1, sizeof *want)))
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    for (size_t i = 0; i < o->nfmspcs; i++) {
        dcap_want w = {.from = "--fmspc"};
        if ((rc = parse_fmspc(o->fmspcs[i], w.fmspc, why))) goto out;
        for (int tdx = 0; tdx < 2; tdx++) {
            if (!(types ? types & (tdx ? CLOAK_FETCH_TDX : CLOAK_FETCH_SGX) : !tdx)) continue;
            w.tdx = tdx;
            w.ca = o->pck_ca ? o->pck_ca : tdx ? CLOAK_PCK_CA_PLATFORM : CLOAK_PCK_CA_PROCESSOR;
            add_want(want, &nwant, &w);
        }
    }
    if ((rc = session_init(&s, o, why))) goto out;
    d.s = &s;
    /* evidence: choose what to fetch (parse only; verified afterwards for the report) */
    for (size_t i = 0; i < o->nevidence; i++) {
        const cloak_fetch_evidence *ev = &o->evidence[i];
        cloak_tee_type t = cloak_evidence_detect(ev->p, ev->len);
        if (t == CLOAK_TEE_AUTO) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "%s: not an SGX/TDX DCAP quote or an SEV-SNP report",
                                 ev->name ? ev->name : "evidence");
            goto out;
        }
        unsigned bit = t == CLOAK_TEE_SGX   ? CLOAK_FETCH_SGX
                       : t == CLOAK_TEE_TDX ? CLOAK_FETCH_TDX
                                            : CLOAK_FETCH_SNP;
        if (types && !(types & bit)) continue;
        if (t == CLOAK_TEE_SNP) {
            want_snp = 1;
            continue;
        }
        dcap_want w = {.tdx = t == CLOAK_TEE_TDX, .from = ev->name ? ev->name : "evidence"};
        if ((rc = cloak_evidence_fmspc(s.trust, ev->p, ev->len, w.fmspc, why)) ||
            (rc = quote_ca(ev->p, ev->len, &w.ca, why))) {
            cloak_error_wrap(why, "%s", w.from);
            goto out;
        }
        int idx = add_want(want, &nwant, &w);
        if (idx >= 0 && want[idx].ca != w.ca) {
            if (!strcmp(want[idx].from, "--fmspc") && !o->pck_ca) {
                want[idx].ca = w.ca; /* the quote knows better than the default */
                want[idx].from = w.from;
            } else {
                rc = cloak_error_set(why, CLOAK_EINVAL,
                                     "%s and %s need the %s and the %s CA CRL for one folder",
                                     w.from, want[idx].from, ca_name(w.ca), ca_name(want[idx].ca));
                goto out;
            }
        }
    }
    if (!o->nevidence && !o->nsnp_products && (types & CLOAK_FETCH_SNP))
        for (int p = 0; p < SNP_NPRODUCTS; p++)
            snp_products[p] = 1;
    if ((rc = cloak_mkdirs(o->out_dir, 0755, why))) goto out;

    for (size_t i = 0; i < nwant; i++)
        fetch_dcap(&d, &want[i]);
    for (size_t i = 0; want_snp && i < o->nevidence; i++) {
        /* the product folders of the reports, for their chains and CRLs */
        const cloak_fetch_evidence *ev = &o->evidence[i];
        if (cloak_evidence_detect(ev->p, ev->len) != CLOAK_TEE_SNP) continue;
        snp_report r;
        cloak_error ignored;
        int p = snp_report_parse(ev->p, ev->len, 0, &r, &ignored) != CLOAK_OK ? -1
                : r.version >= 3 ? snp_product_from_cpuid(r.cpuid_fam, r.cpuid_mod)
                                 : product_hint;
        if (p >= 0) snp_products[p] = 1;
    }
    for (int p = 0; p < SNP_NPRODUCTS; p++)
        if (snp_products[p]) fetch_snp_product(&s, p);
    for (size_t i = 0; i < o->nevidence; i++) {
        const cloak_fetch_evidence *ev = &o->evidence[i];
        cloak_tee_type t = cloak_evidence_detect(ev->p, ev->len);
        unsigned bit = t == CLOAK_TEE_SGX   ? CLOAK_FETCH_SGX
                       : t == CLOAK_TEE_TDX ? CLOAK_FETCH_TDX
                                            : CLOAK_FETCH_SNP;
        if (types && !(types & bit)) continue;
        if (t == CLOAK_TEE_SNP) {
            fetch_snp_report(&s, ev, product_hint);
        } else {
            uint8_t f[6];
            cloak_error ignored;
            if (cloak_evidence_fmspc(s.trust, ev->p, ev->len, f, &ignored) == CLOAK_OK)
                evidence_entry(&s, ev, t == CLOAK_TEE_TDX, f);
        }
    }
    if (report)
        *report = json_pack("{s:s,s:O,s:O}", "out_dir", o->out_dir, "items", s.items, "evidence",
                            s.evidence);
    rc = CLOAK_OK;
    if (s.nfailed)
        rc = cloak_error_set(why, s.first_rc, "%d of %zu items failed; the first: %s", s.nfailed,
                             json_array_size(s.items), s.first_msg);
out:
    for (int i = 0; i < 2; i++)
        shared_free(&d.qe[i]);
    for (int i = 0; i < 3; i++)
        shared_free(&d.pck_crl[i]);
    shared_free(&d.root_crl);
    session_free(&s);
    free(want);
    return rc;
}
