/* DCAP collateral: loading (split directory, dcap-qvl JSON, PCS responses), the exact-bytes
 * rule, dcap_collateral_check against the real Intel collateral at the times MANIFEST.md gives
 * (and one second outside each window), a flipped byte in each signed body, wrong ids, chains
 * that do not reach the root, revocation, and the MAA-style hashes.
 *
 * Expectations come from outside the code under test: MANIFEST.md windows and results, the
 * origin projects' tests (dcap-qvl verify_quote.rs, go-tdx-guest verify_test.go, teekit
 * tcb.test.ts), `sha256sum` of the vector files, and CRLs minted here with OpenSSL's own API. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cloak/platform.h"
#include "evidence/collateral_testlib.h"

#define SGX_DIR "dcap-qvl/sgx_quote_collateral"
#define TDX_DIR "dcap-qvl/tdx_quote_collateral"
#define OLD_DIR "dcap-qvl/tdx_quote_outdated_collateral"
/* MANIFEST.md: verification times of the dcap-qvl tests (min(nextUpdate) - 1 s) */
#define SGX_AT 1752919277 /* 2025-07-19T10:01:17Z */
#define TDX_AT 1752919234 /* 2025-07-19T10:00:34Z */
#define OLD_AT 1774003274 /* 2026-03-20T10:41:14Z */
#define GTG_AT 1688169600 /* 2023-07-01T00:00:00Z, inside every go-tdx-guest 2023 window */

static void check_ok(const cloak_collateral *c, X509 *root, time_t at, int is_tdx)
{
    cloak_error e = {0};
    if (dcap_collateral_check(c, root, at, is_tdx, &e) != CLOAK_OK)
        fail_msg("check at %lld: %s", (long long)at, e.msg);
}

static void check_fails(const cloak_collateral *c, X509 *root, time_t at, int is_tdx,
                        const char *want)
{
    cloak_error e = {0};
    assert_int_equal(dcap_collateral_check(c, root, at, is_tdx, &e), CLOAK_EVERIFY);
    if (!strstr(e.msg, want)) fail_msg("expected \"%s\" in: %s", want, e.msg);
}

static void check_dir_fails(const char *dir, X509 *root, time_t at, int is_tdx, const char *want)
{
    cloak_collateral *c = load_ok(dir);
    check_fails(c, root, at, is_tdx, want);
    cloak_collateral_free(c);
}

/* Replace the first occurrence of `from` by `to` (same length) in a copy of a body file. */
static void patch_file(const char *dir, const char *name, const char *from, const char *to)
{
    char *path = NULL;
    size_t len;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    uint8_t *p = slurp(path, &len);
    char *hit = memmem(p, len, from, strlen(from));
    assert_non_null(hit);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(hit, to, strlen(to));
    put(dir, name, p, len);
    free(p);
    free(path);
}

/* ---- loading ---- */

static void test_split_dir_keeps_exact_signed_bytes(void **state)
{
    (void)state;
    size_t blen, slen;
    uint8_t *body = slurp_vec(SGX_DIR "/tcb_info_body.json", &blen);
    uint8_t *sig = slurp_vec(SGX_DIR "/tcb_info.sig", &slen);
    cloak_collateral *c = load_vec(SGX_DIR);
    assert_int_equal(c->tcb_info.len, blen);
    assert_memory_equal(c->tcb_info.p, body, blen);
    assert_memory_equal(c->tcb_info_sig, sig, 64);
    assert_int_equal(c->tcb.version, 3);
    assert_false(c->tcb.is_tdx);
    assert_int_equal(c->tcb.nlevels, 11);
    assert_int_equal(c->tcb.eval_number, 17);
    assert_false(c->qe.is_td_qe);
    assert_int_equal(c->qe.isvprodid, 1);
    assert_non_null(dcap_collateral_root_crl(c));
    assert_non_null(dcap_collateral_pck_crl(c));
    cloak_collateral_free(c);
    free(body);
    free(sig);
}

static void test_json_file_equals_split_layout(void **state)
{
    (void)state;
    const char *sets[][2] = {
        {SGX_DIR, SGX_DIR ".json"}, {TDX_DIR, TDX_DIR ".json"}, {OLD_DIR, OLD_DIR ".json"}};
    for (size_t i = 0; i < 3; i++) {
        cloak_collateral *a = load_vec(sets[i][0]), *b = load_vec(sets[i][1]);
        assert_int_equal(a->tcb_info.len, b->tcb_info.len);
        assert_memory_equal(a->tcb_info.p, b->tcb_info.p, a->tcb_info.len);
        assert_int_equal(a->qe_identity.len, b->qe_identity.len);
        assert_memory_equal(a->qe_identity.p, b->qe_identity.p, a->qe_identity.len);
        assert_memory_equal(a->tcb_info_sig, b->tcb_info_sig, 64);
        assert_memory_equal(a->qe_identity_sig, b->qe_identity_sig, 64);
        json_t *ha = dcap_collateral_hashes(a), *hb = dcap_collateral_hashes(b);
        assert_true(json_equal(ha, hb));
        json_decref(ha);
        json_decref(hb);
        cloak_collateral_free(a);
        cloak_collateral_free(b);
    }
}

static void test_hashes_are_sha256_of_inputs(void **state)
{
    (void)state;
    /* `sha256sum` of the files in shared/vectors/attestation/dcap-qvl/sgx_quote_collateral/ */
    cloak_collateral *c = load_vec(SGX_DIR);
    json_t *h = dcap_collateral_hashes(c);
    assert_int_equal(json_object_size(h), 6);
    struct {
        const char *key, *want;
    } w[] = {
        {"tcbinfohash", "f93593b7772c7d21fd77875a3864abf7ea794f840138a6906fb524c722f741bd"},
        {"qeidhash", "e37ba07d82691e98ed58afe63d3299116e3c33d9fc3aaa8aa1fbc376866b986e"},
        {"tcbinfocertshash", "c550544e4442d9be583a5eddd48df8ba0149ddeef40efd3737ebe0f885dc3711"},
        {"qeidcertshash", "c550544e4442d9be583a5eddd48df8ba0149ddeef40efd3737ebe0f885dc3711"},
        {"tcbinfocrlhash", "5b07d32995f53ee023c370e466d31263c2ee8c128bcf4bb48dc61da7559fe28b"},
        {"qeidcrlhash", "ad6f3f4e0673bb14ed4dffa7686f203cdfd25f07183e826ce928a9466801b3ec"},
    };
    for (size_t i = 0; i < sizeof w / sizeof *w; i++)
        assert_string_equal(json_string_value(json_object_get(h, w[i].key)), w[i].want);
    json_decref(h);
    cloak_collateral_free(c);
}

static void test_load_errors_name_the_file(void **state)
{
    (void)state;
    cloak_collateral *c = NULL;
    cloak_error e = {0};
    char *d = copy_vec_split(SGX_DIR), *path = NULL;

    assert_int_equal(cloak_collateral_load("/nonexistent/cloak-collateral", &c, &e),
                     CLOAK_ENOTFOUND);
    put(d, "tcb_info.sig", "short", 5);
    assert_int_equal(cloak_collateral_load(d, &c, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "tcb_info.sig"));
    assert_non_null(strstr(e.msg, "64-byte"));

    rm_rf(d);
    d = copy_vec_split(SGX_DIR);
    put(d, "qe_identity_body.json", "{\"id\":", 6);
    assert_int_equal(cloak_collateral_load(d, &c, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "qe_identity_body.json"));

    rm_rf(d);
    d = copy_vec_split(SGX_DIR);
    put(d, "pck_crl.der", "\x30\x03\x02\x01\x01", 5);
    assert_int_equal(cloak_collateral_load(d, &c, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "pck_crl.der"));

    rm_rf(d);
    d = copy_vec_split(SGX_DIR);
    assert_true(asprintf(&path, "%s/root_ca_crl.der", d) > 0);
    assert_int_equal(unlink(path), 0);
    assert_int_not_equal(cloak_collateral_load(d, &c, &e), CLOAK_OK);
    assert_non_null(strstr(e.msg, "root_ca_crl.der"));
    assert_null(c);
    free(path);
    rm_rf(d);
}

static void test_component_count_mismatch_is_an_error(void **state)
{
    (void)state;
    char *d = copy_vec_split(SGX_DIR);
    cloak_collateral *c = NULL;
    cloak_error e = {0};
    /* drop the first level's 16th component: 15 components */
    patch_file(d, "tcb_info_body.json", "{\"svn\":0}],\"pcesvn\":13}",
               "        ],\"pcesvn\":13}\x20");
    patch_file(d, "tcb_info_body.json", ",        ]", "        ]\x20");
    assert_int_equal(cloak_collateral_load(d, &c, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "has 15 components, expected 16"));
    rm_rf(d);
}

/* ---- checks on the real Intel collateral ---- */

static void test_intel_collateral_verifies_at_manifest_times(void **state)
{
    (void)state;
    X509 *root = intel_root();
    cloak_collateral *s = load_vec(SGX_DIR), *t = load_vec(TDX_DIR), *o = load_vec(OLD_DIR),
                     *sj = load_vec(SGX_DIR ".json");
    check_ok(s, root, SGX_AT, 0);
    check_ok(sj, root, SGX_AT, 0);
    check_ok(t, root, TDX_AT, 1);
    check_ok(o, root, OLD_AT, 1);
    /* the window edges are inclusive: min(nextUpdate) itself */
    check_ok(s, root, SGX_AT + 1, 0);
    check_ok(t, root, TDX_AT + 1, 1);
    check_ok(o, root, OLD_AT + 1, 1);
    cloak_collateral_free(s);
    cloak_collateral_free(t);
    cloak_collateral_free(o);
    cloak_collateral_free(sj);
    X509_free(root);
}

static void test_one_second_outside_each_window(void **state)
{
    (void)state;
    X509 *root = intel_root();
    cloak_collateral *s = load_vec(SGX_DIR), *t = load_vec(TDX_DIR), *o = load_vec(OLD_DIR);
    /* sgx: QE identity nextUpdate 2025-07-19T10:01:18Z ends the window */
    check_fails(s, root, SGX_AT + 2, 0, "QE identity expired at 2025-07-19T10:01:18Z");
    /* sgx: TCB info issueDate 2025-06-19T10:56:11Z starts it */
    check_fails(s, root, 1750330571 - 1, 0,
                "TCB info is not yet valid: issueDate 2025-06-19T10:56:11Z");
    /* tdx: the PCK CRL (nextUpdate 10:00:35) ends it; the QE identity (10:32:27) starts it */
    check_fails(t, root, TDX_AT + 2, 1, "PCK CRL expired at 2025-07-19T10:00:35Z");
    check_fails(t, root, 1750329147 - 1, 1, "QE identity is not yet valid");
    /* tdx: TCB info nextUpdate 2025-07-19T10:16:03Z */
    check_fails(t, root, 1752920163 + 1, 1, "TCB info expired at 2025-07-19T10:16:03Z");
    /* outdated set: PCK CRL ends it, TCB info (2026-02-18T10:58:51Z) starts it */
    check_fails(o, root, OLD_AT + 2, 1, "PCK CRL expired at 2026-03-20T10:41:15Z");
    check_fails(o, root, 1771412331 - 1, 1, "TCB info is not yet valid");
    /* before the 2025 TCB Signing certificate existed */
    check_fails(s, root, 1746057600, 0,
                "TCB info issuer chain: Intel SGX TCB Signing is not valid");
    cloak_collateral_free(s);
    cloak_collateral_free(t);
    cloak_collateral_free(o);
    X509_free(root);
}

static void test_root_crl_expired(void **state)
{
    (void)state;
    X509 *root = intel_root();
    size_t len;
    /* go-tdx-guest's root CA CRL (2023-04-03 .. 2024-04-02), signed by the same Intel root */
    uint8_t *crl = slurp_vec("go-tdx-guest/root_ca_crl.der", &len);
    char *d = copy_vec_split(TDX_DIR);
    put(d, "root_ca_crl.der", crl, len);
    check_dir_fails(d, root, TDX_AT, 1, "root CA CRL expired at 2024-04-02T10:22:51Z");
    free(crl);
    rm_rf(d);
    X509_free(root);
}

static void test_pck_crl_from_the_wrong_ca(void **state)
{
    (void)state;
    X509 *root = intel_root();
    size_t len;
    /* the Processor CA's CRL next to the Platform CA issuer chain */
    uint8_t *crl = slurp_vec(SGX_DIR "/pck_crl.der", &len);
    char *d = copy_vec_split(TDX_DIR);
    put(d, "pck_crl.der", crl, len);
    check_dir_fails(d, root, TDX_AT, 1, "PCK CRL is not issued by Intel SGX PCK Platform CA");
    free(crl);
    rm_rf(d);
    X509_free(root);
}

static void test_flipped_byte_in_each_signed_body(void **state)
{
    (void)state;
    X509 *root = intel_root();
    /* the same value in another spelling is other bytes: the signature must fail */
    char *d = copy_vec_split(SGX_DIR);
    patch_file(d, "tcb_info_body.json", "\"fmspc\":\"00A067110000\"", "\"fmspc\":\"00a067110000\"");
    check_dir_fails(d, root, SGX_AT, 0,
                    "TCB info signature does not verify under Intel SGX TCB Signing");
    rm_rf(d);
    d = copy_vec_split(SGX_DIR);
    patch_file(d, "qe_identity_body.json", "\"isvprodid\":1", "\"isvprodid\":2");
    check_dir_fails(d, root, SGX_AT, 0, "QE identity signature does not verify");
    rm_rf(d);
    d = copy_vec_split(TDX_DIR);
    patch_file(d, "tcb_info_body.json", "2024-03-13", "2024-03-14");
    check_dir_fails(d, root, TDX_AT, 1, "TCB info signature does not verify");
    rm_rf(d);
    d = copy_vec_split(TDX_DIR);
    patch_file(d, "qe_identity_body.json", "\"TD_QE\"", "\"TD_QF\"");
    cloak_collateral *c = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_collateral_load(d, &c, &e), CLOAK_EINVAL); /* not an id we know */
    rm_rf(d);
    /* a flipped signature byte */
    d = copy_vec_split(TDX_DIR);
    size_t len;
    char *sp = NULL;
    assert_true(asprintf(&sp, "%s/qe_identity.sig", d) > 0);
    uint8_t *sig = slurp(sp, &len);
    sig[10] ^= 1;
    put(d, "qe_identity.sig", sig, len);
    check_dir_fails(d, root, TDX_AT, 1, "QE identity signature does not verify");
    free(sig);
    free(sp);
    rm_rf(d);
    X509_free(root);
}

static void test_wrong_ids(void **state)
{
    (void)state;
    X509 *root = intel_root();
    cloak_collateral *s = load_vec(SGX_DIR), *t = load_vec(TDX_DIR);
    check_fails(s, root, SGX_AT, 1, "TCB info id is SGX, expected TDX");
    check_fails(t, root, TDX_AT, 0, "TCB info id is TDX, expected SGX");
    cloak_collateral_free(s);
    cloak_collateral_free(t);
    /* SGX TCB info with the TD_QE identity: both Intel-signed, both valid at SGX_AT */
    size_t len;
    char *d = copy_vec_split(SGX_DIR);
    uint8_t *b = slurp_vec(TDX_DIR "/qe_identity_body.json", &len);
    put(d, "qe_identity_body.json", b, len);
    free(b);
    b = slurp_vec(TDX_DIR "/qe_identity.sig", &len);
    put(d, "qe_identity.sig", b, len);
    free(b);
    check_dir_fails(d, root, SGX_AT, 0, "QE identity id is TD_QE, expected QE");
    rm_rf(d);
    X509_free(root);
}

static void test_tcb_signing_certificate_validity_at_time(void **state)
{
    (void)state;
    /* MANIFEST quirk 3: the 2018 certificate has the same key, but expired on 2025-05-21 */
    X509 *root = intel_root();
    size_t len;
    uint8_t *chain = slurp_vec("go-tdx-guest/tcb_signing_chain_2018.pem", &len);
    char *d = copy_vec_split(SGX_DIR);
    put(d, "tcb_signing_chain.pem", chain, len);
    check_dir_fails(d, root, SGX_AT, 0,
                    "Intel SGX TCB Signing is not valid at 2025-07-19T10:01:17Z (valid "
                    "2018-05-21T10:50:10Z to 2025-05-21T10:50:10Z)");
    /* ... and before it expired it verifies the same 2025 body's signature: the failure is
     * then the body's own date */
    check_dir_fails(d, root, 1746057600, 0, "TCB info is not yet valid");
    free(chain);
    rm_rf(d);
    X509_free(root);
}

static void test_chain_must_reach_the_pinned_root(void **state)
{
    (void)state;
    char *t = tmpdir_new();
    cloak_platform *p = NULL;
    cloak_error e = {0};
    if (cloak_platform_open(t, &p, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    BIO *bio = BIO_new_mem_buf(cloak_platform_root_pem(p), -1);
    X509 *sim_root = PEM_read_bio_X509(bio, NULL, NULL, NULL), *intel = intel_root();
    BIO_free(bio);
    assert_non_null(sim_root);
    /* Intel collateral under the development root: the root CRL is not the pinned root's */
    cloak_collateral *s = load_vec(SGX_DIR);
    check_fails(s, sim_root, SGX_AT, 0,
                "root CA CRL is not issued by Cloak Development SGX Root CA");
    cloak_collateral_free(s);
    /* the simulated collateral with Intel's TCB signing chain */
    char *d = copy_split(cloak_platform_collateral_dir(p));
    size_t len;
    uint8_t *chain = slurp_vec(SGX_DIR "/tcb_signing_chain.pem", &len);
    cloak_collateral *c = load_ok(d);
    time_t at = c->tcb.issue_date + 3600;
    cloak_collateral_free(c);
    put(d, "tcb_signing_chain.pem", chain, len);
    check_dir_fails(d, sim_root, at, 0,
                    "TCB info issuer chain does not chain to the root: certificate 2 (Intel SGX "
                    "Root CA) is not the pinned root Cloak Development SGX Root CA");
    /* only Intel's leaf */
    char *end = strstr((char *)chain, "-----END CERTIFICATE-----");
    assert_non_null(end);
    put(d, "tcb_signing_chain.pem", chain, (size_t)(end - (char *)chain) + 26);
    check_dir_fails(
        d, sim_root, at, 0,
        "Intel SGX TCB Signing is not issued and signed by Cloak Development SGX Root CA");
    /* and the simulated collateral under Intel's root */
    c = load_ok(cloak_platform_collateral_dir(p));
    check_fails(c, intel, at, 0, "root CA CRL is not issued by Intel SGX Root CA");
    check_ok(c, sim_root, at, 0);
    cloak_collateral_free(c);
    free(chain);
    rm_rf(d);
    X509_free(sim_root);
    X509_free(intel);
    cloak_platform_free(p);
    rm_rf(t);
}

/* A root CRL for the development platform listing `revoked` (PEM file in the platform dir,
 * or NULL), signed with `key_name`. */
static void put_sim_root_crl(const char *plat, const char *dir, const char *revoked,
                             const char *key_name, time_t at)
{
    char *rp = NULL, *kp = NULL;
    size_t len;
    assert_true(asprintf(&rp, "%s/root.pem", plat) > 0);
    assert_true(asprintf(&kp, "%s/%s", plat, key_name) > 0);
    uint8_t *pem = slurp(rp, &len);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *root = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    pem = slurp(kp, &len);
    b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    assert_non_null(root);
    assert_non_null(key);
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_set(NULL, at - 3600), *next = ASN1_TIME_set(NULL, at + 86400);
    assert_int_equal(X509_CRL_set_version(crl, 1), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(root)), 1);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, last), 1);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, next), 1);
    if (revoked) {
        char *cp = NULL;
        assert_true(asprintf(&cp, "%s/%s", plat, revoked) > 0);
        pem = slurp(cp, &len);
        b = BIO_new_mem_buf(pem, (int)len);
        X509 *victim = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        free(pem);
        free(cp);
        X509_REVOKED *r = X509_REVOKED_new();
        assert_int_equal(X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(victim)), 1);
        assert_int_equal(X509_REVOKED_set_revocationDate(r, last), 1);
        assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
        X509_free(victim);
    }
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    assert_true(n > 0);
    put(dir, "root_ca_crl.der", der, (size_t)n);
    OPENSSL_free(der);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(root);
    free(rp);
    free(kp);
}

static void test_revocation_and_crl_signatures(void **state)
{
    (void)state;
    char *t = tmpdir_new();
    cloak_platform *p = NULL;
    cloak_error e = {0};
    if (cloak_platform_open(t, &p, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    BIO *bio = BIO_new_mem_buf(cloak_platform_root_pem(p), -1);
    X509 *root = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    char *d = copy_split(cloak_platform_collateral_dir(p));
    cloak_collateral *c = load_ok(d);
    time_t at = c->tcb.issue_date + 3600;
    check_ok(c, root, at, 0);
    cloak_collateral_free(c);

    put_sim_root_crl(t, d, NULL, "root.key", at);
    c = load_ok(d);
    check_ok(c, root, at, 0); /* a fresh empty CRL from the root is fine */
    check_fails(c, root, at + 2 * 86400, 0, "root CA CRL expired");
    cloak_collateral_free(c);
    put_sim_root_crl(t, d, "tcb-signing.pem", "root.key", at);
    check_dir_fails(d, root, at, 0,
                    "TCB info issuer chain: Cloak Development SGX TCB Signing (serial ");
    check_dir_fails(d, root, at, 0, ") is revoked on the root CA CRL");
    put_sim_root_crl(t, d, "pck-ca.pem", "root.key", at);
    check_dir_fails(d, root, at, 0,
                    "PCK CRL issuer chain: Cloak Development SGX PCK Platform CA (serial ");
    put_sim_root_crl(t, d, NULL, "pck-ca.key", at);
    check_dir_fails(d, root, at, 0,
                    "root CA CRL signature does not verify under Cloak Development SGX Root CA");
    /* the PCK CRL signed by someone else than the PCK CA: use the root CRL's bytes */
    rm_rf(d);
    d = copy_split(cloak_platform_collateral_dir(p));
    size_t len;
    char *rp = NULL;
    assert_true(asprintf(&rp, "%s/root_ca_crl.der", d) > 0);
    uint8_t *crl = slurp(rp, &len);
    put(d, "pck_crl.der", crl, len);
    check_dir_fails(d, root, at, 0,
                    "PCK CRL is not issued by Cloak Development SGX PCK Platform CA");
    free(crl);
    free(rp);
    rm_rf(d);
    X509_free(root);
    cloak_platform_free(p);
    rm_rf(t);
}

/* ---- PCS responses ---- */

static void test_go_tdx_guest_2023_set_verifies(void **state)
{
    (void)state;
    X509 *root = intel_root();
    cloak_collateral *c =
        from_pcs("go-tdx-guest/tcbinfo_tdx_50806f000000.json",
                 "go-tdx-guest/qe_identity_td_qe.json", "go-tdx-guest/root_ca_crl.der",
                 "go-tdx-guest/pck_platform_crl.der", "go-tdx-guest/tcb_signing_chain_2018.pem",
                 "go-tdx-guest/pck_platform_crl_issuer_chain.pem");
    check_ok(c, root, GTG_AT, 1);
    /* go-tdx-guest: "tcbInfo has expired" at 2053 (here the 2018 signing cert goes first) */
    check_fails(c, root, 2634940800, 1, "is not valid at 2053-07-01");
    cloak_collateral_free(c);
    /* the 2025 re-issue of the signing certificate did not exist in 2023 */
    c = from_pcs("go-tdx-guest/tcbinfo_tdx_50806f000000.json",
                 "go-tdx-guest/qe_identity_td_qe.json", "go-tdx-guest/root_ca_crl.der",
                 "go-tdx-guest/pck_platform_crl.der", SGX_DIR "/tcb_signing_chain.pem",
                 "go-tdx-guest/pck_platform_crl_issuer_chain.pem");
    check_fails(c, root, GTG_AT, 1, "Intel SGX TCB Signing is not valid at 2023-07-01T00:00:00Z");
    cloak_collateral_free(c);
    X509_free(root);
}

static void test_teekit_pretty_printed_tcb_info_fails_signature(void **state)
{
    (void)state;
    X509 *root = intel_root();
    static const char *const files[] = {"00806f050000", "00906ed50000", "30606a000000",
                                        "50806f000000", "90c06f000000", "b0c06f000000"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char rel[96];
        snprintf(rel, sizeof rel, "teekit/tcbinfos/tcbInfo-sgx-%s.json", files[i]);
        cloak_collateral *c =
            from_pcs(rel, "trustee/qe_identity_td_qe.json", SGX_DIR "/root_ca_crl.der",
                     SGX_DIR "/pck_crl.der", SGX_DIR "/tcb_signing_chain.pem",
                     SGX_DIR "/pck_crl_issuer_chain.pem");
        /* teekit's time 2025-09-29T23:00:00Z. The pretty-printed two (MANIFEST quirk 2) fail
         * their signature; the others pass it, so the first failure is the id of the QE
         * identity used to fill the gap */
        int pretty = !strcmp(files[i], "30606a000000") || !strcmp(files[i], "90c06f000000");
        check_fails(c, root, 1759186800, 0,
                    pretty ? "TCB info signature does not verify" : "QE identity id is TD_QE");
        cloak_collateral_free(c);
    }
    X509_free(root);
}

static void test_pcs_split_exact_value_bytes(void **state)
{
    (void)state;
    size_t len;
    const uint8_t *body;
    size_t blen;
    uint8_t sig[64];
    cloak_error e = {0};
    uint8_t *p = slurp_vec("go-tdx-guest/qe_identity_td_qe.json", &len);
    assert_int_equal(dcap_pcs_split(p, len, "enclaveIdentity", &body, &blen, sig, &e), CLOAK_OK);
    assert_int_equal(body - p, strlen("{\"enclaveIdentity\":"));
    assert_memory_equal(body, "{\"id\":\"TD_QE\"", 13);
    assert_int_equal(body[blen - 1], '}');
    assert_memory_equal(body + blen, ",\"signature\":\"b6a601f0", 22);
    assert_int_equal(sig[0], 0xb6);
    assert_int_equal(sig[63], 0xa6);
    assert_int_equal(dcap_pcs_split(p, len, "tcbInfo", &body, &blen, sig, &e), CLOAK_EINVAL);
    free(p);
    /* duplicate and escaped-duplicate keys are refused */
    const char *dup = "{\"tcbInfo\":{\"a\":1},\"tcbInfo\":{\"a\":2},\"signature\":\"00\"}";
    const char *esc = "{\"tcbInfo\":{\"a\":1},\"\\u0074cbInfo\":{\"a\":2},\"signature\":\"00\"}";
    assert_int_equal(
        dcap_pcs_split((const uint8_t *)dup, strlen(dup), "tcbInfo", &body, &blen, sig, &e),
        CLOAK_EINVAL);
    assert_int_equal(
        dcap_pcs_split((const uint8_t *)esc, strlen(esc), "tcbInfo", &body, &blen, sig, &e),
        CLOAK_EINVAL);
}

static void test_json_span_scanner(void **state)
{
    (void)state;
    size_t off, len;
    const char *s = " {\"x\":\"}\\\"{\",\"k\" : {\"s\":\"a\\\\\",\"n\":[1,{\"b\":true}],\"e\":{}} "
                    ",\"z\":null}\n";
    assert_int_equal(dcap_json_member_span((const uint8_t *)s, strlen(s), "k", &off, &len), 0);
    assert_int_equal(len, strlen("{\"s\":\"a\\\\\",\"n\":[1,{\"b\":true}],\"e\":{}}"));
    assert_memory_equal(s + off, "{\"s\":\"a\\\\\",\"n\":[1,{\"b\":true}],\"e\":{}}", len);
    assert_int_equal(dcap_json_member_span((const uint8_t *)s, strlen(s), "z", &off, &len), 0);
    assert_memory_equal(s + off, "null", len);
    assert_int_equal(dcap_json_member_span((const uint8_t *)s, strlen(s), "x", &off, &len), 0);
    assert_memory_equal(s + off, "\"}\\\"{\"", len);
    static const char *const bad[] = {
        "",
        "[]",
        "{",
        "{}",
        "{\"k\":1",
        "{\"k\":1}x",
        "{\"k\":1,}",
        "{\"k\" 1}",
        "{\"k\":\"a}",
        "{\"k\":{\"a\":1}",
        "{\"k\":[1,2}",
        "{\"k\":1,\"k\":2}",
        "{\"k\":\"\x01\"}",
        "{k:1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (dcap_json_member_span((const uint8_t *)bad[i], strlen(bad[i]), "k", &off, &len) == 0)
            fail_msg("accepted bad input %zu: %s", i, bad[i]);
    /* depth limit */
    char deep[400];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"k\":");
    for (int i = 0; i < JSON_SPAN_MAX_DEPTH + 1; i++)
        deep[n++] = '[';
    for (int i = 0; i < JSON_SPAN_MAX_DEPTH + 1; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    assert_int_equal(dcap_json_member_span((const uint8_t *)deep, n, "k", &off, &len), -1);
}

static void test_simulated_collateral_verifies_under_its_root(void **state)
{
    (void)state;
    char *t = tmpdir_new();
    cloak_platform *p = NULL;
    cloak_error e = {0};
    if (cloak_platform_open(t, &p, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    BIO *bio = BIO_new_mem_buf(cloak_platform_root_pem(p), -1);
    X509 *root = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    cloak_collateral *c = load_ok(cloak_platform_collateral_dir(p));
    /* SIM-PLATFORM.md: issued now, valid 30 days */
    check_ok(c, root, c->tcb.issue_date, 0);
    check_ok(c, root, c->tcb.next_update, 0);
    check_fails(c, root, c->tcb.next_update + 1, 0, "expired");
    check_fails(c, root, c->tcb.issue_date, 1, "TCB info id is SGX, expected TDX");
    json_t *h = dcap_collateral_hashes(c);
    assert_int_equal(json_object_size(h), 6);
    assert_string_equal(json_string_value(json_object_get(h, "tcbinfocertshash")),
                        json_string_value(json_object_get(h, "qeidcertshash")));
    json_decref(h);
    cloak_collateral_free(c);
    X509_free(root);
    cloak_platform_free(p);
    rm_rf(t);
}

static void test_misuse_is_refused(void **state)
{
    (void)state;
    cloak_error e = {0};
    X509 *root = intel_root();
    assert_int_equal(dcap_collateral_check(NULL, root, 0, 0, &e), CLOAK_EINVAL);
    assert_null(dcap_collateral_root_crl(NULL));
    assert_null(dcap_collateral_hashes(NULL));
    cloak_collateral_free(NULL);
    assert_int_equal(cloak_collateral_load(NULL, NULL, &e), CLOAK_EINVAL);
    assert_int_equal(dcap_collateral_from_json((const uint8_t *)"[]", 2, "x", NULL, &e),
                     CLOAK_EINVAL);
    X509_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_dir_keeps_exact_signed_bytes),
        cmocka_unit_test(test_json_file_equals_split_layout),
        cmocka_unit_test(test_hashes_are_sha256_of_inputs),
        cmocka_unit_test(test_load_errors_name_the_file),
        cmocka_unit_test(test_component_count_mismatch_is_an_error),
        cmocka_unit_test(test_intel_collateral_verifies_at_manifest_times),
        cmocka_unit_test(test_one_second_outside_each_window),
        cmocka_unit_test(test_root_crl_expired),
        cmocka_unit_test(test_pck_crl_from_the_wrong_ca),
        cmocka_unit_test(test_flipped_byte_in_each_signed_body),
        cmocka_unit_test(test_wrong_ids),
        cmocka_unit_test(test_tcb_signing_certificate_validity_at_time),
        cmocka_unit_test(test_chain_must_reach_the_pinned_root),
        cmocka_unit_test(test_revocation_and_crl_signatures),
        cmocka_unit_test(test_go_tdx_guest_2023_set_verifies),
        cmocka_unit_test(test_teekit_pretty_printed_tcb_info_fails_signature),
        cmocka_unit_test(test_pcs_split_exact_value_bytes),
        cmocka_unit_test(test_json_span_scanner),
        cmocka_unit_test(test_simulated_collateral_verifies_under_its_root),
        cmocka_unit_test(test_misuse_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
