/* The fake PCS / PCCS / KDS (see fake_pcs.h). Responses are assembled from the split files of
 * the dcap-qvl vectors exactly as PCS serves them: {"tcbInfo":<the signed bytes>,"signature":
 * "<hex r||s>"} with the issuer chain percent-encoded in TCB-Info-Issuer-Chain (percent-encoding
 * by libcurl, a peer implementation). The forged variants are made here with OpenSSL directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_pcs.h"

#include "cloak/http.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

fake_pcs F;
static cloak_http_server *srv;

/* One DCAP set: dcap-qvl/{sgx,tdx}_quote_collateral/ */
typedef struct {
    const char *fmspc; /* upper-case, as in the TCB info */
    char *tcb_resp, *tcb_resp_edited, *tcb_resp_forged;
    char *qe_resp;
    char *chain_enc, *forged_chain_enc;
    uint8_t *pck_crl;
    size_t pck_crl_len;
    char *pck_chain_enc;
} dcap_set;
static dcap_set sets[2]; /* [0] SGX (Processor CA CRL), [1] TDX (Platform CA CRL) */
static uint8_t *root_crl;
static size_t root_crl_len;
static char *root_crl_hex;
static uint8_t *forged_amd_crl;
static size_t forged_amd_crl_len;

uint8_t *fake_vec(const char *rel, size_t *len)
{
    char path[1400];
    uint8_t *p = NULL;
    cloak_error e;
    snprintf(path, sizeof path, "%s/%s", F.vec, rel);
    if (cloak_file_read(path, &p, len, &e)) fail_msg("vector %s: %s", rel, e.msg);
    return p;
}

int fake_same_as_vec(const char *path, const char *rel)
{
    size_t a_len = 0, b_len = 0;
    uint8_t *a = NULL, *b = fake_vec(rel, &b_len);
    cloak_error e;
    int same = cloak_file_read(path, &a, &a_len, &e) == CLOAK_OK && a_len == b_len &&
               memcmp(a, b, a_len) == 0;
    free(a);
    free(b);
    return same;
}

char *fake_tmpdir(void)
{
    char *d = strdup("/tmp/cloak-fetch-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

void fake_rm_rf(char *path)
{
    if (!path) return;
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

static char *pct(const uint8_t *p, size_t len)
{
    char *e = curl_easy_escape(NULL, (const char *)p, (int)len);
    assert_non_null(e);
    char *s = strdup(e);
    curl_free(e);
    return s;
}

static char *pcs_resp(const char *key, const uint8_t *body, size_t body_len, const uint8_t *sig)
{
    char hex[129], *s = NULL;
    cloak_hex_write(hex, sig, 64);
    assert_true(asprintf(&s, "{\"%s\":%.*s,\"signature\":\"%s\"}", key, (int)body_len,
                         (const char *)body, hex) > 0);
    return s;
}

/* ---- forgeries, with OpenSSL directly ---- */

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Intel Corporation", -1,
                               -1, 0);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    ASN1_TIME_set(X509_getm_notBefore(x), 1500000000); /* 2017 */
    ASN1_TIME_set(X509_getm_notAfter(x), 2100000000);  /* 2036 */
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static char *pem_of(X509 *a, X509 *b)
{
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, a);
    if (b) PEM_write_bio_X509(bio, b);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(bio);
    return s;
}

/* A TCB info response whose signature is valid -- under a look-alike chain that is not Intel's. */
static void forge_tcb(dcap_set *set, const uint8_t *body, size_t len)
{
    EVP_PKEY *rk = EVP_EC_gen("P-256"), *lk = EVP_EC_gen("P-256");
    X509 *root = make_cert(rk, "Intel SGX Root CA", NULL, NULL);
    X509 *leaf = make_cert(lk, "Intel SGX TCB Signing", root, rk);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t der[128], sig[64];
    size_t der_len = sizeof der;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, lk), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &der_len, body, len), 1);
    const uint8_t *q = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)der_len);
    assert_non_null(es);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
    set->tcb_resp_forged = pcs_resp("tcbInfo", body, len, sig);
    char *pem = pem_of(leaf, root);
    set->forged_chain_enc = pct((const uint8_t *)pem, strlen(pem));
    free(pem);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(ctx);
    X509_free(root);
    X509_free(leaf);
    EVP_PKEY_free(rk);
    EVP_PKEY_free(lk);
}

/* A CRL naming ARK-Milan as its issuer, signed by another RSA key. */
static void forge_amd_crl(void)
{
    size_t len;
    uint8_t *pem = fake_vec("go-sev-guest/ask_ark_milan.pem", &len);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *ask = PEM_read_bio_X509(b, NULL, NULL, NULL),
         *ark = PEM_read_bio_X509(b, NULL, NULL, NULL);
    assert_non_null(ark);
    EVP_PKEY *k = EVP_RSA_gen(2048);
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ark));
    ASN1_TIME *t = ASN1_TIME_set(NULL, F.snp_crl_at - 86400);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, F.snp_crl_at + 30 * 86400);
    X509_CRL_set1_nextUpdate(crl, t);
    assert_true(X509_CRL_sign(crl, k, EVP_sha384()) > 0);
    uint8_t *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    assert_true(n > 0);
    forged_amd_crl = malloc((size_t)n);
    memcpy(forged_amd_crl, der, (size_t)n);
    forged_amd_crl_len = (size_t)n;
    OPENSSL_free(der);
    ASN1_TIME_free(t);
    X509_CRL_free(crl);
    EVP_PKEY_free(k);
    X509_free(ask);
    X509_free(ark);
    BIO_free(b);
    free(pem);
}

static void load_set(dcap_set *set, const char *dir, const char *fmspc)
{
    char rel[256];
    size_t tl, ql, sl, cl, pl, sigl;
    uint8_t *tcb, *qe, *chain, *pchain, *tsig, *qsig;
    set->fmspc = fmspc;
#define V(name, var, lenv)                                                                         \
    snprintf(rel, sizeof rel, "dcap-qvl/%s/%s", dir, name);                                        \
    var = fake_vec(rel, &lenv)
    V("tcb_info_body.json", tcb, tl);
    V("tcb_info.sig", tsig, sigl);
    assert_int_equal(sigl, 64);
    V("qe_identity_body.json", qe, ql);
    V("qe_identity.sig", qsig, sigl);
    assert_int_equal(sigl, 64);
    V("tcb_signing_chain.pem", chain, cl);
    V("pck_crl_issuer_chain.pem", pchain, pl);
    V("pck_crl.der", set->pck_crl, set->pck_crl_len);
#undef V
    (void)sl;
    set->tcb_resp = pcs_resp("tcbInfo", tcb, tl, tsig);
    set->qe_resp = pcs_resp("enclaveIdentity", qe, ql, qsig);
    set->chain_enc = pct(chain, cl);
    set->pck_chain_enc = pct(pchain, pl);
    /* "edited": claims a newer evaluation number, keeps the old signature */
    set->tcb_resp_edited = strdup(set->tcb_resp);
    char *ev = strstr(set->tcb_resp_edited, "\"tcbEvaluationDataNumber\":17");
    assert_non_null(ev);
    ev[strlen("\"tcbEvaluationDataNumber\":17") - 1] = '9';
    forge_tcb(set, tcb, tl);
    free(tcb);
    free(qe);
    free(chain);
    free(pchain);
    free(tsig);
    free(qsig);
}

/* ---- handlers ---- */

/* The key check of PCS routes; 0 when the handler replied (401). */
static int key_check(cloak_http_req *req)
{
    const char *k = cloak_http_header(req, "Ocp-Apim-Subscription-Key");
    if (!F.want_key[0]) return 1;
    if (k && !strcmp(k, F.want_key)) {
        F.key_ok++;
        return 1;
    }
    F.key_bad++;
    cloak_http_reply_error(req, 401, "Unauthorized",
                           "Access denied due to invalid subscription key.");
    return 0;
}

static int forced_status(cloak_http_req *req, int route)
{
    int st = F.status[route];
    if (!st) return 0;
    cloak_http_add_header(req, "Error-Code", st == 404 ? "NotFound" : "InternalError");
    cloak_http_add_header(req, "Request-ID", "fake-4711");
    cloak_http_reply_error(req, st, "Forced", "The test asked for status %d.", st);
    return 1;
}

static int is_tdx(cloak_http_req *req)
{
    return !strncmp(cloak_http_path(req), "/tdx/", 5);
}

static void h_tcb(cloak_http_req *req)
{
    if (!key_check(req) || forced_status(req, FAKE_TCB)) return;
    dcap_set *set = &sets[is_tdx(req)];
    const char *fmspc = cloak_http_query(req, "fmspc");
    if (!fmspc || strcasecmp(fmspc, set->fmspc)) {
        cloak_http_add_header(req, "Error-Code", "InvalidParameter");
        cloak_http_add_header(req, "Error-Message", "No TCB info for this FMSPC");
        cloak_http_reply_empty(req, 404);
        return;
    }
    int t = F.tamper;
    const char *body = t == 1   ? set->tcb_resp_edited
                       : t == 2 ? set->tcb_resp_forged
                                : set->tcb_resp;
    cloak_http_add_header(req, "TCB-Info-Issuer-Chain",
                          t == 2 ? set->forged_chain_enc : set->chain_enc);
    cloak_http_reply_text(req, 200, "application/json", body, strlen(body));
}

static void h_qe(cloak_http_req *req)
{
    if (!key_check(req) || forced_status(req, FAKE_QE)) return;
    dcap_set *set = &sets[is_tdx(req)];
    cloak_http_add_header(req, "SGX-Enclave-Identity-Issuer-Chain", set->chain_enc);
    cloak_http_reply_text(req, 200, "application/json", set->qe_resp, strlen(set->qe_resp));
}

static void h_pckcrl(cloak_http_req *req)
{
    if (!key_check(req) || forced_status(req, FAKE_PCKCRL)) return;
    const char *ca = cloak_http_query(req, "ca"), *enc = cloak_http_query(req, "encoding");
    int platform = ca && !strcmp(ca, "platform");
    if (!ca || (!platform && strcmp(ca, "processor")) || !enc || strcmp(enc, "der")) {
        cloak_http_reply_empty(req, 400);
        return;
    }
    platform ? F.ca_platform++ : F.ca_processor++;
    dcap_set *set = &sets[platform];
    cloak_http_add_header(req, "SGX-PCK-CRL-Issuer-Chain", set->pck_chain_enc);
    cloak_http_reply_text(req, 200, "application/pkix-crl", set->pck_crl, set->pck_crl_len);
}

/* PCCS flavour: the root CA CRL as hex text. */
static void h_pccs_rootcrl(cloak_http_req *req)
{
    if (!key_check(req) || forced_status(req, FAKE_ROOTCRL)) return;
    cloak_http_reply_text(req, 200, "text/plain", root_crl_hex, strlen(root_crl_hex));
}

static void note_foreign_key(cloak_http_req *req)
{
    if (cloak_http_header(req, "Ocp-Apim-Subscription-Key")) F.key_elsewhere++;
}

static void h_rootcrl(cloak_http_req *req)
{
    note_foreign_key(req);
    if (forced_status(req, FAKE_ROOTCRL)) return;
    cloak_http_reply_text(req, 200, "application/pkix-crl", root_crl, root_crl_len);
}

static const char *chain_file(const char *product)
{
    if (F.snp_wrong_chain) return "go-sev-guest/ask_ark_genoa.pem";
    if (!strcmp(product, "Milan")) return "go-sev-guest/ask_ark_milan.pem";
    if (!strcmp(product, "Genoa")) return "go-sev-guest/ask_ark_genoa.pem";
    if (!strcmp(product, "Turin")) return "go-sev-guest/ask_ark_turin_vcek.pem";
    return NULL;
}

static void h_kds_chain(cloak_http_req *req)
{
    note_foreign_key(req);
    if (forced_status(req, FAKE_KDS)) return;
    const char *f = chain_file(cloak_http_param(req, "product"));
    if (!f) {
        cloak_http_reply_empty(req, 404);
        return;
    }
    size_t len;
    uint8_t *p = fake_vec(f, &len);
    cloak_http_reply_text(req, 200, "application/x-pem-file", p, len);
    free(p);
}

static void h_kds_crl(cloak_http_req *req)
{
    note_foreign_key(req);
    if (forced_status(req, FAKE_KDS)) return;
    cloak_http_reply_text(req, 200, "application/pkix-crl", forged_amd_crl, forged_amd_crl_len);
}

/* /vcek/v1/Milan/<CHIP_ID hex>?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68 -- the URL MANIFEST.md
 * records for go-sev-guest/attestation_milan_v2.bin -- serves go-sev-guest/vcek_milan.der. */
static void h_kds_vcek(cloak_http_req *req)
{
    note_foreign_key(req);
    F.vcek_requests++;
    if (forced_status(req, FAKE_KDS)) return;
    size_t len;
    uint8_t *rep = fake_vec("go-sev-guest/attestation_milan_v2.bin", &len);
    char chip[129];
    cloak_hex_write(chip, rep + 0x1A0, 64); /* CHIP_ID, ABI 56860 */
    free(rep);
    const char *bl = cloak_http_query(req, "blSPL"), *tee = cloak_http_query(req, "teeSPL"),
               *snp = cloak_http_query(req, "snpSPL"), *uc = cloak_http_query(req, "ucodeSPL");
    if (strcmp(cloak_http_param(req, "product"), "Milan") ||
        strcasecmp(cloak_http_param(req, "hwid"), chip) || !bl || strcmp(bl, "2") || !tee ||
        strcmp(tee, "0") || !snp || strcmp(snp, "5") || !uc || strcmp(uc, "68")) {
        cloak_http_reply_empty(req, 404);
        return;
    }
    uint8_t *p = fake_vec("go-sev-guest/vcek_milan.der", &len);
    cloak_http_reply_text(req, 200, "application/x-x509-ca-cert", p, len);
    free(p);
}

static const cloak_http_route routes[] = {
    {"GET", "/sgx/certification/v4/tcb", NULL, 0, h_tcb},
    {"GET", "/tdx/certification/v4/tcb", NULL, 0, h_tcb},
    {"GET", "/sgx/certification/v4/qe/identity", NULL, 0, h_qe},
    {"GET", "/tdx/certification/v4/qe/identity", NULL, 0, h_qe},
    {"GET", "/sgx/certification/v4/pckcrl", NULL, 0, h_pckcrl},
    {"GET", "/sgx/certification/v4/rootcacrl", NULL, 0, h_pccs_rootcrl},
    {"GET", "/IntelSGXRootCA.der", NULL, 0, h_rootcrl},
    {"GET", "/vcek/v1/{product}/cert_chain", NULL, 0, h_kds_chain},
    {"GET", "/vcek/v1/{product}/crl", NULL, 0, h_kds_crl},
    {"GET", "/vcek/v1/{product}/{hwid}", NULL, 0, h_kds_vcek},
};

void fake_reset(void)
{
    F.tamper = 0;
    for (int i = 0; i < FAKE_NROUTES; i++)
        F.status[i] = 0;
    F.snp_wrong_chain = 0;
    F.want_key[0] = 0;
    F.key_ok = F.key_bad = F.key_elsewhere = 0;
    F.ca_processor = F.ca_platform = 0;
    F.vcek_requests = 0;
}

void fake_start(void)
{
    cloak_error e = {0};
    cloak_http_tls_files tls;
    const char *shared = getenv("CLOAK_SHARED_DIR");
    snprintf(F.vec, sizeof F.vec, "%s/vectors/attestation",
             shared && *shared ? shared : CLOAK_SHARED);
    snprintf(F.dir, sizeof F.dir, "/tmp/cloak-fakepcs-XXXXXX");
    assert_non_null(mkdtemp(F.dir));
    if (cloak_http_tls_ensure(F.dir, &tls, &e)) fail_msg("tls: %s", e.msg);
    snprintf(F.ca, sizeof F.ca, "%s", tls.ca);
    F.snp_crl_at = 1735689600; /* 2025-01-01T00:00:00Z: inside vcek_milan.der's validity */
    load_set(&sets[0], "sgx_quote_collateral", "00A067110000");
    load_set(&sets[1], "tdx_quote_collateral", "B0C06F000000");
    root_crl = fake_vec("dcap-qvl/sgx_quote_collateral/root_ca_crl.der", &root_crl_len);
    root_crl_hex = cloak_hex_encode(root_crl, root_crl_len);
    forge_amd_crl();
    cloak_http_config c = {
        .tls_dir = F.dir, .routes = routes, .nroutes = sizeof routes / sizeof *routes};
    if (cloak_http_server_new(&c, &srv, &e) || cloak_http_server_start(srv, &e))
        fail_msg("fake server: %s", e.msg);
    snprintf(F.base, sizeof F.base, "https://127.0.0.1:%u", (unsigned)cloak_http_server_port(srv));
    fake_reset();
}

void fake_stop(void)
{
    cloak_http_server_stop(srv);
    cloak_http_server_free(srv);
    srv = NULL;
    for (int i = 0; i < 2; i++) {
        dcap_set *s = &sets[i];
        free(s->tcb_resp);
        free(s->tcb_resp_edited);
        free(s->tcb_resp_forged);
        free(s->qe_resp);
        free(s->chain_enc);
        free(s->forged_chain_enc);
        free(s->pck_crl);
        free(s->pck_chain_enc);
    }
    free(root_crl);
    free(root_crl_hex);
    free(forged_amd_crl);
    fake_rm_rf(strdup(F.dir));
}
