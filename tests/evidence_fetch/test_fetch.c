/* cloak_evidence_fetch_collateral against a fake PCS / PCCS / KDS over real TLS (fake_pcs.c).
 * Expectations are independent of the code under test: the fetched files must be byte-equal to
 * the published split collateral of the vectors, and the real sample quotes must verify with
 * the fetched folder to the TCB statuses MANIFEST.md records (dcap-qvl's own test results);
 * forgeries are made with OpenSSL directly; the KDS URL for the Milan report is the one
 * MANIFEST.md records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_pcs.h"

#include "cloak/attest_service.h"
#include "cloak/evidence.h"
#include "cloak/http.h"
#include "cloak/jose.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#define T_SGX ((time_t)1752919277) /* 2025-07-19T10:01:17Z, MANIFEST.md (dcap-qvl) */
#define T_TDX ((time_t)1752919234) /* 2025-07-19T10:00:34Z: inside both sets' windows */
#define T_SNP ((time_t)1735689600) /* 2025-01-01: inside vcek_milan.der's 2022..2029 */

static const char *const split_files[] = {
    "tcb_info_body.json", "tcb_info.sig", "qe_identity_body.json", "qe_identity.sig",
    "root_ca_crl.der",    "pck_crl.der",  "tcb_signing_chain.pem", "pck_crl_issuer_chain.pem",
};

static char root_crl_url[128];

static void opts_init(cloak_fetch_opts *o, const char *out, time_t at)
{
    memset(o, 0, sizeof *o);
    o->out_dir = out;
    o->pcs_url = F.base;
    o->kds_url = F.base;
    o->root_crl_url = root_crl_url;
    o->ca_file = F.ca;
    o->at = at;
}

/* The folder equals the vectors' split collateral, file by file. */
static void assert_folder_is(const char *out, const char *name, const char *vec_dir)
{
    for (size_t i = 0; i < sizeof split_files / sizeof *split_files; i++) {
        char path[1200], rel[256];
        snprintf(path, sizeof path, "%s/%s/%s", out, name, split_files[i]);
        snprintf(rel, sizeof rel, "dcap-qvl/%s/%s", vec_dir, split_files[i]);
        if (!fake_same_as_vec(path, rel)) fail_msg("%s differs from %s", path, rel);
    }
}

static int exists(const char *out, const char *name)
{
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", out, name);
    return stat(path, &st) == 0;
}

/* No staging folders left behind. */
static void assert_no_stage(const char *out)
{
    DIR *d = opendir(out);
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".new-")) fail_msg("staging folder %s left in %s", e->d_name, out);
    closedir(d);
}

/* Verify a vector quote with a folder of `out`; returns the claims. */
static json_t *verify_with(const char *out, const char *folder, const char *quote, time_t at)
{
    char dir[1200];
    cloak_collateral *c = NULL;
    cloak_trust *t = NULL;
    json_t *claims = NULL;
    cloak_error e = {0};
    size_t len;
    uint8_t *q = fake_vec(quote, &len);
    snprintf(dir, sizeof dir, "%s/%s", out, folder);
    if (cloak_collateral_load(dir, &c, &e)) fail_msg("load %s: %s", dir, e.msg);
    assert_int_equal(cloak_trust_new(0, NULL, &t, &e), CLOAK_OK);
    cloak_verify_opts vo = {.trust = t, .collateral = c, .at = at};
    if (cloak_evidence_verify(q, len, &vo, &claims, &e)) fail_msg("verify %s: %s", quote, e.msg);
    cloak_trust_free(t);
    cloak_collateral_free(c);
    free(q);
    return claims;
}

static json_t *item(json_t *rep, size_t i)
{
    json_t *it = json_array_get(json_object_get(rep, "items"), i);
    assert_non_null(it);
    return it;
}

static const char *field(json_t *rep, size_t i, const char *key)
{
    return json_string_value(json_object_get(item(rep, i), key));
}

static void assert_contains(const char *s, const char *word)
{
    if (!s || !strstr(s, word)) fail_msg("\"%s\" does not mention \"%s\"", s ? s : "(null)", word);
}

static int has_advisory(json_t *claims, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(claims, "advisory_ids"), i,
                       v) if (!strcmp(json_string_value(v), id)) return 1;
    return 0;
}

/* POST a quote to the attestation service; the token's x-cloak-tcb-status (the token's
 * signature is the service tests' business; here only the claim counts). */
static const char *attest_status(cloak_attest_service *svc, const char *type, const uint8_t *q,
                                 size_t len)
{
    static char status[64];
    char url[256], ca[4200], *b64 = cloak_base64url_encode(q, len), *body = NULL;
    cloak_http_response r = {0};
    cloak_error e = {0};
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    snprintf(url, sizeof url, "https://127.0.0.1:%u/attest/%s?api-version=2022-08-01",
             (unsigned)cloak_attest_service_port(svc), type);
    snprintf(ca, sizeof ca, "%s", cloak_attest_service_ca(svc));
    assert_true(asprintf(&body, "{\"quote\":\"%s\"}", b64) > 0);
    if (cloak_http_fetch("POST", url, ca, hdrs, (const uint8_t *)body, strlen(body), &r, &e))
        fail_msg("POST %s: %s", url, e.msg);
    if (r.status != 200) fail_msg("POST %s: %ld %s", url, r.status, (const char *)r.body.p);
    json_t *j = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "token"));
    assert_non_null(tok);
    const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    assert_non_null(d2);
    uint8_t *payload = NULL;
    size_t pl = 0;
    assert_int_equal(cloak_base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &payload, &pl, &e), 0);
    json_t *claims = json_loadb((const char *)payload, pl, 0, NULL);
    const char *st = json_string_value(json_object_get(claims, "x-cloak-tcb-status"));
    snprintf(status, sizeof status, "%s", st ? st : "(none)");
    json_decref(claims);
    json_decref(j);
    free(payload);
    free(body);
    free(b64);
    cloak_http_response_free(&r);
    return status;
}

static void test_sgx_fmspc(void **state)
{
    char *out = fake_tmpdir();
    cloak_fetch_opts o;
    json_t *rep = NULL;
    cloak_error e = {0};
    const char *fm[] = {"00a067110000"};
    fake_reset();
    opts_init(&o, out, T_SGX);
    o.fmspcs = fm;
    o.nfmspcs = 1;
    if (cloak_evidence_fetch_collateral(&o, &rep, &e)) fail_msg("fetch: %s", e.msg);
    assert_string_equal(field(rep, 0, "result"), "created");
    assert_string_equal(field(rep, 0, "kind"), "sgx");
    assert_string_equal(field(rep, 0, "pck_ca"), "processor");
    assert_int_equal(F.ca_processor, 1);
    assert_folder_is(out, "sgx-00a067110000", "sgx_quote_collateral");
    assert_no_stage(out);
    /* MANIFEST.md: ConfigurationAndSWHardeningNeeded, INTEL-SA-00289 and INTEL-SA-00615 */
    json_t *claims = verify_with(out, "sgx-00a067110000", "dcap-qvl/sgx_quote.dat", T_SGX);
    assert_string_equal(json_string_value(json_object_get(claims, "tcb_status")),
                        "ConfigurationAndSWHardeningNeeded");
    assert_true(has_advisory(claims, "INTEL-SA-00289"));
    assert_true(has_advisory(claims, "INTEL-SA-00615"));
    json_decref(claims);
    json_decref(rep);
    /* again: nothing to change */
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_OK);
    assert_string_equal(field(rep, 0, "result"), "unchanged");
    json_decref(rep);
    /* a file on disk damaged by hand is replaced by the verified set */
    char path[1200];
    snprintf(path, sizeof path, "%s/sgx-00a067110000/tcb_info.sig", out);
    assert_int_equal(cloak_file_write(path, (const uint8_t *)"junk", 4, 0644, &e), CLOAK_OK);
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_OK);
    assert_string_equal(field(rep, 0, "result"), "updated");
    assert_folder_is(out, "sgx-00a067110000", "sgx_quote_collateral");
    assert_no_stage(out);
    json_decref(rep);
    fake_rm_rf(out);
}

/* Both quotes at once: the FMSPC and PCK CA come from each quote's PCK certificate. */
static void test_from_evidence(void **state)
{
    char *out = fake_tmpdir();
    cloak_fetch_opts o;
    json_t *rep = NULL;
    cloak_error e = {0};
    size_t l1, l2;
    uint8_t *q1 = fake_vec("dcap-qvl/sgx_quote.dat", &l1),
            *q2 = fake_vec("dcap-qvl/tdx_quote.dat", &l2);
    cloak_fetch_evidence ev[] = {{"sgx_quote.dat", q1, l1}, {"tdx_quote.dat", q2, l2}};
    fake_reset();
    opts_init(&o, out, T_TDX);
    o.evidence = ev;
    o.nevidence = 2;
    if (cloak_evidence_fetch_collateral(&o, &rep, &e)) fail_msg("fetch: %s", e.msg);
    assert_string_equal(field(rep, 0, "kind"), "sgx");
    assert_string_equal(field(rep, 0, "fmspc"), "00a067110000");
    assert_string_equal(field(rep, 0, "pck_ca"), "processor");
    assert_string_equal(field(rep, 1, "kind"), "tdx");
    assert_string_equal(field(rep, 1, "fmspc"), "b0c06f000000");
    assert_string_equal(field(rep, 1, "pck_ca"), "platform");
    assert_int_equal(F.ca_processor, 1);
    assert_int_equal(F.ca_platform, 1);
    assert_folder_is(out, "sgx-00a067110000", "sgx_quote_collateral");
    assert_folder_is(out, "tdx-b0c06f000000", "tdx_quote_collateral");
    /* the report verifies each input with what is on disk; MANIFEST.md: TDX UpToDate */
    json_t *ev1 = json_array_get(json_object_get(rep, "evidence"), 1);
    assert_true(json_is_true(json_object_get(ev1, "verified")));
    assert_string_equal(json_string_value(json_object_get(ev1, "tcb_status")), "UpToDate");
    json_t *claims = verify_with(out, "tdx-b0c06f000000", "dcap-qvl/tdx_quote.dat", T_TDX);
    assert_string_equal(json_string_value(json_object_get(claims, "tcb_status")), "UpToDate");
    json_decref(claims);
    json_decref(rep);
    /* `cloak attest serve --collateral-dir` reads the same directory */
    char *data = fake_tmpdir();
    cloak_attest_service *svc = NULL;
    cloak_attest_service_config sc = {.data_dir = data, .collateral_dir = out, .test_time = T_TDX};
    if (cloak_attest_service_new(&sc, &svc, &e) || cloak_attest_service_start(svc, &e))
        fail_msg("service: %s", e.msg);
    assert_string_equal(attest_status(svc, "SgxEnclave", q1, l1),
                        "ConfigurationAndSWHardeningNeeded");
    assert_string_equal(attest_status(svc, "TdxVm", q2, l2), "UpToDate");
    cloak_attest_service_stop(svc);
    cloak_attest_service_free(svc);
    fake_rm_rf(data);
    free(q1);
    free(q2);
    fake_rm_rf(out);
}

static void expect_refused(const char *out, int tamper, const char *words)
{
    cloak_fetch_opts o;
    json_t *rep = NULL;
    cloak_error e = {0};
    const char *fm[] = {"00A067110000"};
    F.tamper = tamper;
    opts_init(&o, out, T_SGX);
    o.fmspcs = fm;
    o.nfmspcs = 1;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EVERIFY);
    assert_string_equal(field(rep, 0, "result"), "refused");
    assert_contains(field(rep, 0, "message"), words);
    assert_contains(field(rep, 0, "message"), "left as it was");
    assert_contains(e.msg, words);
    json_decref(rep);
    assert_no_stage(out);
}

static void test_tampered_refused(void **state)
{
    char *out = fake_tmpdir(), *fresh = fake_tmpdir();
    cloak_fetch_opts o;
    json_t *rep = NULL;
    cloak_error e = {0};
    const char *fm[] = {"00A067110000"};
    fake_reset();
    opts_init(&o, out, T_SGX);
    o.fmspcs = fm;
    o.nfmspcs = 1;
    if (cloak_evidence_fetch_collateral(&o, &rep, &e)) fail_msg("fetch: %s", e.msg);
    json_decref(rep);
    /* an edited body under the real signature, then a valid signature under a look-alike
     * chain: neither replaces the good folder */
    expect_refused(out, 1, "signature does not verify");
    assert_folder_is(out, "sgx-00a067110000", "sgx_quote_collateral");
    expect_refused(out, 2, "does not chain to the root");
    assert_folder_is(out, "sgx-00a067110000", "sgx_quote_collateral");
    /* and nothing is created where there was nothing */
    expect_refused(fresh, 2, "does not chain to the root");
    assert_false(exists(fresh, "sgx-00a067110000"));
    fake_reset();
    fake_rm_rf(out);
    fake_rm_rf(fresh);
}

/* A port nothing listens on. */
static unsigned dead_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void test_http_errors(void **state)
{
    char *out = fake_tmpdir();
    cloak_fetch_opts o;
    json_t *rep = NULL;
    cloak_error e = {0};
    char dead[64];
    fake_reset();
    /* 404 for an unknown FMSPC; the other FMSPC is still fetched */
    const char *fm2[] = {"112233445566", "00A067110000"};
    opts_init(&o, out, T_SGX);
    o.fmspcs = fm2;
    o.nfmspcs = 2;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_ENOTFOUND);
    assert_string_equal(field(rep, 0, "result"), "failed");
    assert_contains(field(rep, 0, "message"), "HTTP 404");
    assert_contains(field(rep, 0, "message"), "unknown FMSPC");
    assert_contains(field(rep, 0, "message"), "Error-Code: InvalidParameter");
    assert_string_equal(field(rep, 1, "result"), "created");
    assert_contains(e.msg, "1 of 2 items failed");
    assert_false(exists(out, "sgx-112233445566"));
    json_decref(rep);
    fake_rm_rf(out);

    /* 500 from the QE identity */
    const char *fm[] = {"00A067110000"};
    out = fake_tmpdir();
    F.status[FAKE_QE] = 500;
    opts_init(&o, out, T_SGX);
    o.fmspcs = fm;
    o.nfmspcs = 1;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EIO);
    assert_string_equal(field(rep, 0, "result"), "failed");
    assert_contains(field(rep, 0, "message"), "QE identity");
    assert_contains(field(rep, 0, "message"), "HTTP 500");
    assert_contains(field(rep, 0, "message"), "server error");
    assert_contains(field(rep, 0, "message"), "Request-ID: fake-4711");
    assert_false(exists(out, "sgx-00a067110000"));
    json_decref(rep);
    F.status[FAKE_QE] = 0;

    /* connection refused */
    snprintf(dead, sizeof dead, "https://127.0.0.1:%u", dead_port());
    o.pcs_url = dead;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EIO);
    assert_string_equal(field(rep, 0, "result"), "failed");
    assert_contains(field(rep, 0, "message"), "connect");
    assert_contains(field(rep, 0, "message"), dead);
    assert_false(exists(out, "sgx-00a067110000"));
    json_decref(rep);

    /* TLS is verified: without --ca the fake server's certificate is not trusted */
    opts_init(&o, out, T_SGX);
    o.fmspcs = fm;
    o.nfmspcs = 1;
    o.ca_file = NULL;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EIO);
    assert_string_equal(field(rep, 0, "result"), "failed");
    assert_false(exists(out, "sgx-00a067110000"));
    json_decref(rep);

    /* bad input is refused before any request */
    const char *bad[] = {"00A0671100"};
    o.ca_file = F.ca;
    o.fmspcs = bad;
    rep = NULL;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EINVAL);
    assert_null(rep);
    assert_contains(e.msg, "12 hex digits");
    fake_rm_rf(out);
}

static void test_api_key(void **state)
{
    char *out = fake_tmpdir();
    cloak_fetch_opts o;
    json_t *rep = NULL;
    cloak_error e = {0};
    const char *fm[] = {"00A067110000"};
    static const char key[] = "k3y-0f-Th3-T35t-4c5e9";
    fake_reset();
    snprintf(F.want_key, sizeof F.want_key, "%s", key);
    opts_init(&o, out, T_SGX);
    o.fmspcs = fm;
    o.nfmspcs = 1;
    o.api_key = key;
    if (cloak_evidence_fetch_collateral(&o, &rep, &e)) fail_msg("fetch: %s", e.msg);
    assert_int_equal(F.key_ok, 3); /* TCB info, QE identity, PCK CRL */
    assert_int_equal(F.key_bad, 0);
    assert_int_equal(F.key_elsewhere, 0); /* not to the root CRL host */
    char *dump = json_dumps(rep, 0);
    assert_null(strstr(dump, key));
    free(dump);
    json_decref(rep);
    /* a wrong key: 401, a clear message, and the key in neither the message nor the report */
    static const char wrong[] = "Wr0ng-K3y-77aa";
    o.api_key = wrong;
    fake_rm_rf(out);
    out = fake_tmpdir();
    o.out_dir = out;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EIO);
    assert_contains(field(rep, 0, "message"), "HTTP 401");
    assert_contains(field(rep, 0, "message"), "API key");
    dump = json_dumps(rep, 0);
    assert_null(strstr(dump, wrong));
    assert_null(strstr(e.msg, wrong));
    free(dump);
    json_decref(rep);
    /* SNP requests never carry it */
    const char *products[] = {"Milan"};
    o.fmspcs = NULL;
    o.nfmspcs = 0;
    o.snp_products = products;
    o.nsnp_products = 1;
    o.at = T_SNP;
    F.key_elsewhere = 0;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EVERIFY); /* the CRL */
    assert_int_equal(F.key_elsewhere, 0);
    json_decref(rep);
    fake_reset();
    fake_rm_rf(out);
}

/* PCCS: the same API; the root CA CRL from the PCCS, served as hex text. */
static void test_pccs(void **state)
{
    char *out = fake_tmpdir();
    cloak_fetch_opts o;
    json_t *rep = NULL;
    cloak_error e = {0};
    const char *fm[] = {"00A067110000"};
    fake_reset();
    opts_init(&o, out, T_SGX);
    o.pcs_url = NULL;
    o.pccs_url = F.base;
    o.root_crl_url = NULL;
    o.fmspcs = fm;
    o.nfmspcs = 1;
    if (cloak_evidence_fetch_collateral(&o, &rep, &e)) fail_msg("fetch: %s", e.msg);
    assert_string_equal(field(rep, 0, "result"), "created");
    assert_folder_is(out, "sgx-00a067110000", "sgx_quote_collateral"); /* root CRL as DER */
    json_decref(rep);
    o.pcs_url = F.base; /* both: refused */
    rep = NULL;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EINVAL);
    assert_null(rep);
    fake_rm_rf(out);
}

static void test_snp(void **state)
{
    char *out = fake_tmpdir();
    cloak_fetch_opts o;
    json_t *rep = NULL;
    cloak_error e = {0};
    size_t len;
    uint8_t *rp = fake_vec("go-sev-guest/attestation_milan_v2.bin", &len);
    cloak_fetch_evidence ev[] = {{"attestation_milan_v2.bin", rp, len}};
    const char *products[] = {"Milan"};
    fake_reset();
    opts_init(&o, out, T_SNP);
    o.evidence = ev;
    o.nevidence = 1;
    /* a v2 report does not say which product it is */
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EINVAL);
    assert_string_equal(field(rep, 0, "kind"), "snp-vcek");
    assert_contains(field(rep, 0, "message"), "--product");
    assert_int_equal(F.vcek_requests, 0);
    json_decref(rep);

    o.snp_products = products;
    o.nsnp_products = 1;
    /* the forged CRL (issuer ARK-Milan, another key) is refused; the rest is written */
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EVERIFY);
    assert_string_equal(field(rep, 0, "kind"), "snp-chain");
    assert_string_equal(field(rep, 0, "result"), "created");
    assert_string_equal(field(rep, 1, "kind"), "snp-crl");
    assert_string_equal(field(rep, 1, "result"), "refused");
    assert_contains(field(rep, 1, "message"),
                    "not issued and signed by libcloak's built-in ARK-Milan");
    assert_string_equal(field(rep, 2, "kind"), "snp-vcek");
    assert_string_equal(field(rep, 2, "result"), "created");
    assert_int_equal(F.vcek_requests, 1);
    assert_false(exists(out, "snp-Milan/crl.der"));
    char chain[1200];
    snprintf(chain, sizeof chain, "%s/snp-Milan/cert_chain.pem", out);
    assert_true(fake_same_as_vec(chain, "go-sev-guest/ask_ark_milan.pem"));
    const char *vpath = field(rep, 2, "path");
    assert_true(fake_same_as_vec(vpath, "go-sev-guest/vcek_milan.der"));
    json_t *ev0 = json_array_get(json_object_get(rep, "evidence"), 0);
    assert_true(json_is_true(json_object_get(ev0, "verified")));
    /* independently: the report verifies with the written VCEK and chain */
    uint8_t *vcek = NULL, *ch = NULL;
    size_t vl, cl;
    assert_int_equal(cloak_file_read(vpath, &vcek, &vl, &e), CLOAK_OK);
    assert_int_equal(cloak_file_read(chain, &ch, &cl, &e), CLOAK_OK);
    const uint8_t *certs[] = {vcek, ch};
    size_t lens[] = {vl, cl};
    cloak_trust *t = NULL;
    json_t *claims = NULL;
    assert_int_equal(cloak_trust_new(0, NULL, &t, &e), CLOAK_OK);
    cloak_verify_opts vo = {
        .trust = t, .certs = certs, .cert_lens = lens, .ncerts = 2, .at = T_SNP};
    if (cloak_evidence_verify(rp, len, &vo, &claims, &e)) fail_msg("verify: %s", e.msg);
    json_decref(claims);
    cloak_trust_free(t);
    free(vcek);
    free(ch);
    json_decref(rep);

    /* a chain with another product's ARK is refused and the good file kept */
    F.snp_wrong_chain = 1;
    assert_int_equal(cloak_evidence_fetch_collateral(&o, &rep, &e), CLOAK_EVERIFY);
    assert_string_equal(field(rep, 0, "result"), "refused");
    assert_contains(field(rep, 0, "message"), "built-in ARK-Milan");
    assert_true(fake_same_as_vec(chain, "go-sev-guest/ask_ark_milan.pem"));
    json_decref(rep);
    fake_reset();
    free(rp);
    fake_rm_rf(out);
}

static int setup(void **state)
{
    fake_start();
    snprintf(root_crl_url, sizeof root_crl_url, "%s/IntelSGXRootCA.der", F.base);
    return 0;
}

static int teardown(void **state)
{
    fake_stop();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_fmspc),
        cmocka_unit_test(test_from_evidence),
        cmocka_unit_test(test_tampered_refused),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_api_key),
        cmocka_unit_test(test_pccs),
        cmocka_unit_test(test_snp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
