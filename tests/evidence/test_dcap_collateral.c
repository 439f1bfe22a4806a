/* DCAP quotes with collateral: the TCB statuses MANIFEST.md states for the dcap-qvl vectors
 * (from dcap-qvl's tests and an independent recomputation), the distinct refusals for an
 * unsupported TCB level, expired collateral and a revoked PCK certificate, and the sim
 * platform's own collateral (docs/SIM-PLATFORM.md: the platform's TCB level is UpToDate).
 * Needs the collateral module (src/evidence/collateral.c, tcb.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cloak/evidence.h"
#include "dcap_testlib.h"

static cloak_collateral *load_collateral(const char *path)
{
    cloak_collateral *c = NULL;
    cloak_error e = {0};
    if (cloak_collateral_load(path, &c, &e) != CLOAK_OK) fail_msg("collateral %s: %s", path, e.msg);
    return c;
}

static cloak_collateral *vec_collateral(const char *rel)
{
    char *path = dcap_vec_path(rel);
    cloak_collateral *c = load_collateral(path);
    free(path);
    return c;
}

static cloak_err verify_with(const char *quote, const cloak_collateral *col, const cloak_trust *t,
                             time_t at, json_t **claims, cloak_error *e)
{
    size_t len;
    uint8_t *q = dcap_vec_load(quote, &len);
    cloak_verify_opts o = {.type = CLOAK_TEE_AUTO, .trust = t, .collateral = col, .at = at};
    cloak_err rc = cloak_evidence_verify(q, len, &o, claims, e);
    free(q);
    return rc;
}

static cloak_trust *vendor_trust(void)
{
    cloak_trust *t = NULL;
    cloak_error e = {0};
    if (cloak_trust_new(0, NULL, &t, &e) != CLOAK_OK) fail_msg("trust: %s", e.msg);
    return t;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s) fail_msg("claim %s missing or not a string", k);
    return s;
}

static void assert_collateral_hashes(const json_t *c)
{
    static const char *keys[] = {"tcbinfohash",   "qeidhash",       "tcbinfocertshash",
                                 "qeidcertshash", "tcbinfocrlhash", "qeidcrlhash",
                                 "quotehash"};
    json_t *h = json_object_get(c, "collateral");
    assert_true(json_is_object(h));
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *v = json_string_value(json_object_get(h, keys[i]));
        if (!v || strlen(v) != 64) fail_msg("collateral.%s is not a SHA-256 hex string", keys[i]);
    }
}

/* dcap-qvl tests/verify_quote.rs could_parse_sgx_quote, at now = 1752919277. Both forms of the
 * collateral: the split directory and the single JSON file. */
static void test_sgx_sample_status(void **state)
{
    (void)state;
    const char *forms[] = {"dcap-qvl/sgx_quote_collateral", "dcap-qvl/sgx_quote_collateral.json"};
    cloak_trust *t = vendor_trust();
    for (size_t i = 0; i < 2; i++) {
        cloak_collateral *col = vec_collateral(forms[i]);
        json_t *c = NULL;
        cloak_error e = {0};
        if (verify_with("dcap-qvl/sgx_quote.dat", col, t, T_DCAPQVL_SGX, &c, &e) != CLOAK_OK)
            fail_msg("%s: %s", forms[i], e.msg);
        assert_string_equal(str(c, "tcb_status"), "ConfigurationAndSWHardeningNeeded");
        json_t *adv = json_object_get(c, "advisory_ids");
        assert_int_equal(json_array_size(adv), 2);
        assert_string_equal(json_string_value(json_array_get(adv, 0)), "INTEL-SA-00289");
        assert_string_equal(json_string_value(json_array_get(adv, 1)), "INTEL-SA-00615");
        assert_non_null(strstr(str(c, "tcb_date"), "2024-03-13")); /* our recomputation */
        assert_non_null(json_object_get(c, "platform_tcb_status"));
        assert_non_null(json_object_get(c, "qe_tcb_status"));
        assert_null(json_object_get(c, "module_tcb_status"));
        assert_collateral_hashes(c);
        json_decref(c);
        cloak_collateral_free(col);
    }
    cloak_trust_free(t);
}

/* could_parse_tdx_quote at now = 1752919234: UpToDate, no advisories. */
static void test_tdx_sample_up_to_date(void **state)
{
    (void)state;
    cloak_trust *t = vendor_trust();
    cloak_collateral *col = vec_collateral("dcap-qvl/tdx_quote_collateral");
    json_t *c = NULL;
    cloak_error e = {0};
    if (verify_with("dcap-qvl/tdx_quote.dat", col, t, T_DCAPQVL_TDX, &c, &e) != CLOAK_OK)
        fail_msg("%s", e.msg);
    assert_string_equal(str(c, "tcb_status"), "UpToDate");
    assert_int_equal(json_array_size(json_object_get(c, "advisory_ids")), 0);
    assert_non_null(json_object_get(c, "module_tcb_status"));
    assert_collateral_hashes(c);
    json_decref(c);
    cloak_collateral_free(col);
    cloak_trust_free(t);
}

/* tdx_quote_outdated at 1774003274: valid crypto, no TCB level matches. */
static void test_outdated_tcb_not_supported(void **state)
{
    (void)state;
    cloak_trust *t = vendor_trust();
    cloak_collateral *col = vec_collateral("dcap-qvl/tdx_quote_outdated_collateral");
    json_t *c = NULL;
    cloak_error e = {0};
    assert_int_equal(
        verify_with("dcap-qvl/tdx_quote_outdated.dat", col, t, T_DCAPQVL_OUTDATED, &c, &e),
        CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "TCB level not supported"));
    assert_null(c);
    cloak_collateral_free(col);
    cloak_trust_free(t);
}

/* After nextUpdate (2025-07-19T10:01:18Z for the QE identity): refused as expired, a reason
 * distinct from the TCB level's. */
static void test_expired_collateral_refused(void **state)
{
    (void)state;
    cloak_trust *t = vendor_trust();
    cloak_collateral *col = vec_collateral("dcap-qvl/sgx_quote_collateral");
    json_t *c = NULL;
    cloak_error e = {0};
    assert_int_equal(verify_with("dcap-qvl/sgx_quote.dat", col, t, T_DCAPQVL_SGX + 86400, &c, &e),
                     CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "expired"));
    assert_null(strstr(e.msg, "TCB level not supported"));
    assert_null(c);
    cloak_collateral_free(col);
    cloak_trust_free(t);
}

/* The collateral of one TEE with a quote of the other: refused. */
static void test_collateral_for_other_quote_refused(void **state)
{
    (void)state;
    cloak_trust *t = vendor_trust();
    cloak_collateral *col = vec_collateral("dcap-qvl/tdx_quote_collateral");
    json_t *c = NULL;
    cloak_error e = {0};
    assert_int_equal(verify_with("dcap-qvl/sgx_quote.dat", col, t, T_DCAPQVL_TDX, &c, &e),
                     CLOAK_EVERIFY);
    assert_null(c);
    cloak_collateral_free(col);
    cloak_trust_free(t);
}

/* ---- the development platform's collateral ---- */

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[512], b[512];
    size_t n;
    cloak_error e = {0};
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    uint8_t *p = dcap_read_file(a, &n);
    if (cloak_file_write(b, p, n, 0600, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    free(p);
}

static X509 *pem_cert(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

/* A PCK CRL listing the development PCK certificate, signed by the development PCK CA's key
 * (docs/SIM-PLATFORM.md: pck-ca.key), written as DER to `path`. */
static void write_revoking_crl(const char *plat_dir, const char *path)
{
    char kp[512];
    snprintf(kp, sizeof kp, "%s/pck-ca.key", plat_dir);
    FILE *f = fopen(kp, "r");
    assert_non_null(f);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(key);
    X509 *ca = pem_cert(plat_dir, "pck-ca.pem"), *leaf = pem_cert(plat_dir, "pck.pem");
    X509_CRL *crl = X509_CRL_new();
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL) - 60);
    ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), 30, 0);
    assert_int_equal(X509_CRL_set_version(crl, 1), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)), 1);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, now), 1);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, next), 1);
    assert_int_equal(X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(leaf)), 1);
    assert_int_equal(X509_REVOKED_set_revocationDate(r, now), 1);
    assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int n = i2d_X509_CRL(crl, &der);
    assert_true(n > 0);
    cloak_error e = {0};
    if (cloak_file_write(path, der, (size_t)n, 0600, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    OPENSSL_free(der);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(key);
}

static void test_sim_collateral_and_revoked_pck(void **state)
{
    (void)state;
    static const char *files[] = {
        "tcb_info_body.json", "tcb_info.sig",          "qe_identity_body.json",   "qe_identity.sig",
        "root_ca_crl.der",    "tcb_signing_chain.pem", "pck_crl_issuer_chain.pem"};
    char *dir = dcap_tmpdir(), *revoked_dir = dcap_tmpdir();
    cloak_platform *p = NULL;
    cloak_trust *t = NULL;
    cloak_error e = {0};
    uint8_t mre[32] = {9}, rd[64] = {8};
    size_t len;
    json_t *c = NULL;
    if (cloak_platform_open(dir, &p, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    if (cloak_trust_new(CLOAK_TRUST_ALLOW_SIM, dir, &t, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    uint8_t *q = dcap_sim_quote(p, mre, CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_MODE64BIT, rd, &len);
    cloak_verify_opts o = {.type = CLOAK_TEE_AUTO, .trust = t, .at = time(NULL)};

    /* as issued: the platform's own TCB level, UpToDate */
    o.collateral = load_collateral(cloak_platform_collateral_dir(p));
    if (cloak_evidence_verify(q, len, &o, &c, &e) != CLOAK_OK) fail_msg("sim: %s", e.msg);
    assert_string_equal(str(c, "tcb_status"), "UpToDate");
    assert_true(json_is_true(json_object_get(c, "x-cloak-sim")));
    assert_collateral_hashes(c);
    json_decref(c);
    c = NULL;
    cloak_collateral_free((cloak_collateral *)o.collateral);

    /* the same collateral with a PCK CRL that lists the PCK certificate */
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        copy_file(cloak_platform_collateral_dir(p), revoked_dir, files[i]);
    char crl_path[512];
    snprintf(crl_path, sizeof crl_path, "%s/pck_crl.der", revoked_dir);
    write_revoking_crl(dir, crl_path);
    o.collateral = load_collateral(revoked_dir);
    assert_int_equal(cloak_evidence_verify(q, len, &o, &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "PCK certificate serial"));
    assert_non_null(strstr(e.msg, "is revoked"));
    assert_null(c);
    cloak_collateral_free((cloak_collateral *)o.collateral);

    free(q);
    cloak_trust_free(t);
    cloak_platform_free(p);
    dcap_rm_rf(dir);
    dcap_rm_rf(revoked_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_sample_status),
        cmocka_unit_test(test_tdx_sample_up_to_date),
        cmocka_unit_test(test_outdated_tcb_not_supported),
        cmocka_unit_test(test_expired_collateral_refused),
        cmocka_unit_test(test_collateral_for_other_quote_refused),
        cmocka_unit_test(test_sim_collateral_and_revoked_pck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
