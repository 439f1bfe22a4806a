/* SEV-SNP reports against the real vectors (shared/vectors/attestation, MANIFEST.md).
 *
 * Expectations come from outside the code under test: the values MANIFEST.md states for each
 * report (TCB, policy, CPUID, VMPL), the origin projects' tests (teekit's expected measurement
 * and report_data, virtee's flipped bit 7 of byte 21), `openssl asn1parse` of the VCEKs (hwID,
 * SPLs), and SHA-512 computed here with OpenSSL for the x25519 binding. Verification times are
 * chosen inside each VCEK's validity window as MANIFEST.md lists it; each test says which.
 * Negatives each assert their own reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evidence/snp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

static cloak_trust *g_trust;
static EVP_PKEY *g_fake_rsa; /* RSA-4096 made here: a forged ARK/ASK key */

typedef struct {
    uint8_t *p;
    size_t n;
} blob;

static blob vec(const char *rel)
{
    char path[512];
    blob b = {0};
    cloak_error why = {0};
    snprintf(path, sizeof path, "%s/%s", CLOAK_VECTORS, rel);
    if (cloak_file_read(path, &b.p, &b.n, &why)) fprintf(stderr, "%s: %s\n", path, why.msg);
    assert_non_null(b.p);
    return b;
}

static time_t utc(const char *iso)
{
    struct tm tm = {0};
    assert_non_null(strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm));
    return timegm(&tm);
}

/* Verify `rep` with certificate buffers `certs` at `at`; the claims are returned or freed. */
static cloak_err verify_blobs(blob rep, const blob *certs, size_t n, const char *at,
                              cloak_tee_type type, json_t **claims, cloak_error *why)
{
    const uint8_t *cp[8];
    size_t cl[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        cp[i] = certs[i].p;
        cl[i] = certs[i].n;
    }
    cloak_verify_opts o = {
        .type = type, .trust = g_trust, .certs = cp, .cert_lens = cl, .ncerts = n, .at = utc(at)};
    json_t *c = NULL;
    memset(why, 0, sizeof *why);
    cloak_err rc = cloak_evidence_verify(rep.p, rep.n, &o, &c, why);
    if (rc) assert_null(c);
    if (claims)
        *claims = c;
    else
        json_decref(c);
    return rc;
}

/* Files: report, then up to three certificate files (NULL-terminated). */
static json_t *verify_ok(const char *report, const char *at, const char *c1, const char *c2,
                         const char *c3)
{
    const char *names[3] = {c1, c2, c3};
    blob certs[3], rep = vec(report);
    size_t n = 0;
    for (size_t i = 0; i < 3 && names[i]; i++)
        certs[n++] = vec(names[i]);
    cloak_error why;
    json_t *c = NULL;
    cloak_err rc = verify_blobs(rep, certs, n, at, CLOAK_TEE_AUTO, &c, &why);
    if (rc) fprintf(stderr, "%s: %s\n", report, why.msg);
    assert_int_equal(rc, CLOAK_OK);
    assert_non_null(c);
    for (size_t i = 0; i < n; i++)
        free(certs[i].p);
    free(rep.p);
    return c;
}

static void expect_fail(blob rep, const blob *certs, size_t n, const char *at, cloak_err code,
                        const char *words)
{
    cloak_error why;
    cloak_err rc = verify_blobs(rep, certs, n, at, CLOAK_TEE_SNP, NULL, &why);
    if (rc != code || !strstr(why.msg, words))
        fprintf(stderr, "want \"%s\", got %d: %s\n", words, rc, why.msg);
    assert_int_equal(rc, code);
    assert_non_null(strstr(why.msg, words));
}

static void claim_int(const json_t *c, const char *k, json_int_t v)
{
    json_t *j = json_object_get(c, k);
    if (!json_is_integer(j) || json_integer_value(j) != v)
        fprintf(stderr, "claim %s, want %lld\n", k, (long long)v);
    assert_true(json_is_integer(j));
    assert_int_equal(json_integer_value(j), v);
}

static void claim_str(const json_t *c, const char *k, const char *v)
{
    const char *s = json_string_value(json_object_get(c, k));
    if (!s || strcmp(s, v)) fprintf(stderr, "claim %s = %s, want %s\n", k, s ? s : "(none)", v);
    assert_non_null(s);
    assert_string_equal(s, v);
}

static void claim_bool(const json_t *c, const char *k, int v)
{
    json_t *j = json_object_get(c, k);
    assert_true(json_is_boolean(j));
    assert_int_equal(json_is_true(j), !!v);
}

static void claim_tcb(const json_t *c, const char *k, int bl, int tee, int snp, int uc)
{
    json_t *t = json_object_get(c, k);
    assert_true(json_is_object(t));
    claim_int(t, "bootloader", bl);
    claim_int(t, "tee", tee);
    claim_int(t, "snp", snp);
    claim_int(t, "microcode", uc);
    assert_null(json_object_get(t, "fmc")); /* Milan/Genoa layout */
}

static void claim_cpuid(const json_t *c, int fam, int mod, int step)
{
    json_t *t = json_object_get(c, "cpuid");
    assert_true(json_is_object(t));
    claim_int(t, "family", fam);
    claim_int(t, "model", mod);
    claim_int(t, "stepping", step);
}

/* Claims every verified SNP report carries. */
static void claim_common(const json_t *c, int version, const char *product, const char *key)
{
    claim_str(c, "tee", "sevsnp");
    claim_int(c, "evidence_version", version);
    claim_str(c, "product", product);
    claim_str(c, "signing_key", key);
    claim_str(c, "tcb_status", "UpToDate");
    assert_true(json_is_array(json_object_get(c, "advisory_ids")));
    assert_int_equal(json_array_size(json_object_get(c, "advisory_ids")), 0);
    assert_non_null(json_object_get(c, "verified_at"));
    for (const char *const *k =
             (const char *const[]){"measurement", "report_data", "host_data", "chip_id",
                                   "id_key_digest", "author_key_digest", "report_id",
                                   "report_id_ma", "family_id", "image_id", NULL};
         *k; k++)
        assert_true(json_is_string(json_object_get(c, *k)));
    for (const char *const *k = (const char *const[]){"committed_tcb", "launch_tcb", "current_tcb",
                                                      "current_build", "committed_build", NULL};
         *k; k++)
        assert_true(json_is_object(json_object_get(c, *k)));
    if (version < 3) assert_null(json_object_get(c, "cpuid"));
}

/* ---- positives: every SNP report in the vectors ---- */

static void test_go_sev_guest_milan_v2_verifies_and_reports_debug(void **state)
{
    /* VCEK valid 2022-09-24..2029-09-24; verified at 2024-01-01. */
    json_t *c = verify_ok("go-sev-guest/attestation_milan_v2.bin", "2024-01-01T00:00:00Z",
                          "go-sev-guest/vcek_milan.der", NULL, NULL);
    claim_common(c, 2, "Milan", "vcek");
    claim_bool(c, "debug", 1); /* policy 0xB0000: bit 19; refusing it is the policy layer's job */
    claim_int(c, "policy", 0xB0000);
    claim_int(c, "abi_major", 0);
    claim_int(c, "abi_minor", 0);
    claim_bool(c, "smt_allowed", 1);
    claim_bool(c, "migration_allowed", 0);
    claim_bool(c, "single_socket", 0);
    claim_int(c, "vmpl", 0);
    claim_tcb(c, "reported_tcb", 2, 0, 5, 68);
    claim_str(c, "report_data",
              "0102030405000000000000000000000000000000000000000000000000000000"
              "0000000000000000000000000000000000000000000000000000000000000000");
    /* hwID of vcek_milan.der as `openssl asn1parse` prints it */
    claim_str(c, "chip_id",
              "3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e5378618"
              "4ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d");
    claim_str(c, "verified_at", "2024-01-01T00:00:00Z");
    json_decref(c);
    /* the same with the KDS cert_chain (ASK then ARK) supplied: the ARK equals the built-in one */
    c = verify_ok("go-sev-guest/attestation_milan_v2.bin", "2024-01-01T00:00:00Z",
                  "go-sev-guest/vcek_milan.der", "go-sev-guest/ask_ark_milan.pem", NULL);
    json_decref(c);
}

static void test_virtee_milan_v2_verifies_and_flipped_byte21_fails(void **state)
{
    /* VCEK valid 2023-04-03..2030-04-03; verified at 2024-01-01. */
    json_t *c = verify_ok("virtee-sev/report_milan_v2.bin", "2024-01-01T00:00:00Z",
                          "virtee-sev/vcek_milan.der", NULL, NULL);
    claim_common(c, 2, "Milan", "vcek");
    claim_tcb(c, "reported_tcb", 3, 0, 8, 0x73);
    claim_int(c, "policy", 0x30000);
    claim_bool(c, "debug", 0);
    json_decref(c);
    /* virtee tests/certs.rs milan_report_invalid: flip bit 7 of byte 21 */
    blob rep = vec("virtee-sev/report_milan_v2.bin"), vcek = vec("virtee-sev/vcek_milan.der");
    rep.p[21] ^= 0x80;
    expect_fail(rep, &vcek, 1, "2024-01-01T00:00:00Z", CLOAK_EVERIFY,
                "report signature (offset 0x2A0) does not verify");
    free(rep.p);
    free(vcek.p);
}

static void test_trustee_milan_v2_verifies(void **state)
{
    /* VCEK valid 2023-01-24..2030-01-24; verified at 2024-06-01. */
    json_t *c = verify_ok("trustee/snp_milan_v2_report.bin", "2024-06-01T00:00:00Z",
                          "trustee/snp_milan_vcek.der", NULL, NULL);
    claim_common(c, 2, "Milan", "vcek");
    claim_tcb(c, "reported_tcb", 3, 0, 8, 0x73);
    claim_tcb(c, "current_tcb", 3, 0, 8, 0xCE);
    json_decref(c);
}

static void test_trustee_vlek_verifies_before_expiry_and_not_after(void **state)
{
    /* VLEK valid 2024-12-10..2025-12-10 (MANIFEST: use 2025-06-01). ASVK from Trustee's bundle. */
    json_t *c = verify_ok("trustee/snp_milan_v3_vlek_report.bin", "2025-06-01T00:00:00Z",
                          "trustee/snp_milan_vlek.der", "trustee/milan_ask_ark_asvk.pem", NULL);
    claim_common(c, 3, "Milan", "vlek");
    claim_cpuid(c, 0x19, 0x01, 1);
    claim_int(c, "vmpl", 1);
    claim_str(c, "chip_id",
              "0000000000000000000000000000000000000000000000000000000000000000"
              "0000000000000000000000000000000000000000000000000000000000000000");
    json_decref(c);
    /* the built-in ASVK serves as well */
    c = verify_ok("trustee/snp_milan_v3_vlek_report.bin", "2025-06-01T00:00:00Z",
                  "trustee/snp_milan_vlek.der", NULL, NULL);
    json_decref(c);
    blob rep = vec("trustee/snp_milan_v3_vlek_report.bin"),
         vlek = vec("trustee/snp_milan_vlek.der");
    expect_fail(rep, &vlek, 1, "2026-01-01T00:00:00Z", CLOAK_EVERIFY,
                "VLEK certificate is not valid at 2026-01-01T00:00:00Z");
    expect_fail(rep, &vlek, 1, "2026-01-01T00:00:00Z", CLOAK_EVERIFY, "expired");
    /* KEY_INFO says VLEK: a VCEK alone does not do */
    blob vcek = vec("trustee/snp_milan_vcek.der");
    expect_fail(rep, &vcek, 1, "2025-06-01T00:00:00Z", CLOAK_EVERIFY, "no VLEK certificate");
    free(vcek.p);
    free(rep.p);
    free(vlek.p);
}

static void test_azure_genoa_v3_verifies(void **state)
{
    /* Genoa VCEK valid 2025-01-24..2032-01-24; verified at 2025-06-01. */
    json_t *c = verify_ok("trustee/az_snp_genoa_v3_report.bin", "2025-06-01T00:00:00Z",
                          "trustee/az_snp_genoa_vcek.pem", NULL, NULL);
    claim_common(c, 3, "Genoa", "vcek");
    claim_cpuid(c, 0x19, 0x11, 1);
    claim_tcb(c, "reported_tcb", 10, 0, 23, 0x54);
    json_decref(c);
}

static void test_azure_milan_v2_verifies_with_its_chain(void **state)
{
    /* VCEK valid 2023-05-02..2030-05-02; verified at 2024-06-01. One PEM with VCEK+ASK+ARK. */
    json_t *c = verify_ok("trustee/az_snp_milan_v2_report.bin", "2024-06-01T00:00:00Z",
                          "trustee/az_snp_milan_vcek_chain.pem", NULL, NULL);
    claim_common(c, 2, "Milan", "vcek");
    claim_tcb(c, "reported_tcb", 3, 0, 8, 0x73);
    json_decref(c);
}

static void test_gcp_v5_verifies(void **state)
{
    /* GCP VCEK valid 2025-12-05..2032-12-05; verified at 2026-01-01. */
    json_t *c = verify_ok("teekit/sev-gcp.bin", "2026-01-01T00:00:00Z", "teekit/sev-gcp-vcek.pem",
                          "teekit/sev-gcp-cert-chain.pem", NULL);
    claim_common(c, 5, "Milan", "vcek");
    claim_cpuid(c, 0x19, 0x01, 1);
    claim_tcb(c, "reported_tcb", 4, 0, 27, 0xDE);
    claim_int(c, "vmpl", 0);
    claim_str(c, "report_data",
              "0000000000000000000000000000000000000000000000000000000000000000"
              "0000000000000000000000000000000000000000000000000000000000000000");
    json_decref(c);
}

static void test_gcp_reportdata_values_match_teekit(void **state)
{
    /* teekit quote-sev-snp.test.ts EXPECTED_MEASUREMENT / EXPECTED_REPORT_DATA; at 2026-01-01 */
    json_t *c = verify_ok("teekit/sev-gcp-reportdata.bin", "2026-01-01T00:00:00Z",
                          "teekit/sev-gcp-vcek.pem", "teekit/sev-gcp-cert-chain.pem", NULL);
    claim_common(c, 5, "Milan", "vcek");
    claim_int(c, "vmpl", 1);
    claim_str(c, "measurement",
              "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1"
              "b6d19251b8ee600fd16a3708f58406f3");
    claim_str(c, "report_data",
              "32fc4f6c1971cbf91566231f8d6153eeb9d093aa94306cb48d39bcc4861a3d39"
              "5f149876a37bc91332fe493f46294fd135d5b95d363ae96352b8c45f906079f5");
    json_decref(c);
}

static void test_gcp_x25519_bound_verifies_with_either_vcek(void **state)
{
    /* report_data = SHA-512(NONCE || X25519_KEY) from sev-gcp-x25519-bound.txt, computed here */
    static const char *const nonce =
        "df82306ff38a9da023854af947d02a878cfab1b40a793823ff41dc51213b96aa";
    static const char *const key =
        "03a8107030fabeac06b0df4ef865763918b5e2a9fa030e20025a4315dab4b2a6";
    uint8_t in[64], md[64];
    cloak_error why;
    assert_int_equal(cloak_hex_decode_fixed(nonce, in, 32, &why), CLOAK_OK);
    assert_int_equal(cloak_hex_decode_fixed(key, in + 32, 32, &why), CLOAK_OK);
    SHA512(in, sizeof in, md);
    char want[129];
    cloak_hex_write(want, md, sizeof md);
    const char *vceks[] = {"teekit/sev-gcp-vcek.pem", "teekit/sev-gcp-x25519-vcek.pem"};
    for (int i = 0; i < 2; i++) { /* both valid from 2025-12-05; at 2026-01-01 */
        json_t *c = verify_ok("teekit/sev-gcp-x25519-bound.bin", "2026-01-01T00:00:00Z", vceks[i],
                              NULL, NULL);
        claim_common(c, 5, "Milan", "vcek");
        claim_str(c, "report_data", want);
        json_decref(c);
    }
}

/* ---- negatives: each with its own reason ---- */

static void test_another_chips_vcek_fails_the_signature(void **state)
{
    blob rep = vec("go-sev-guest/attestation_milan_v2.bin"),
         vcek = vec("virtee-sev/vcek_milan.der");
    expect_fail(rep, &vcek, 1, "2024-01-01T00:00:00Z", CLOAK_EVERIFY,
                "report signature (offset 0x2A0) does not verify under the VCEK");
    free(rep.p);
    free(vcek.p);
}

static void test_vcek_tcb_must_equal_reported_tcb(void **state)
{
    blob rep = vec("virtee-sev/report_milan_v2.bin"), vcek = vec("virtee-sev/vcek_milan.der");
    /* Through snp_verify: REPORTED_TCB is signed, so changing it breaks the signature first; the
     * message then names the TCB mismatch as the likely cause. */
    rep.p[0x180] = 4; /* bootloader 3 -> 4 */
    expect_fail(rep, &vcek, 1, "2024-01-01T00:00:00Z", CLOAK_EVERIFY,
                "does not verify under the VCEK; likely cause: endorsement key blSPL is 3 but "
                "REPORTED_TCB");
    /* The TCB check on its own, for each component (signature not involved). */
    snp_report r;
    snp_vek_ext e;
    cloak_error why;
    const uint8_t *q = vcek.p;
    X509 *x = d2i_X509(NULL, &q, (long)vcek.n);
    assert_non_null(x);
    assert_int_equal(snp_vek_ext_parse(x, &e, &why), CLOAK_OK);
    rep.p[0x180] = 3;
    assert_int_equal(snp_report_parse(rep.p, rep.n, 1, &r, &why), CLOAK_OK);
    assert_int_equal(snp_vek_ext_check(&e, &r, SNP_MILAN, 0, &why), CLOAK_OK);
    static const struct {
        size_t off;
        const char *words;
    } cases[] = {{0x180, "blSPL"}, {0x181, "teeSPL"}, {0x186, "snpSPL"}, {0x187, "ucodeSPL"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snp_report m = r;
        m.reported_tcb[cases[i].off - 0x180] ^= 1;
        assert_int_equal(snp_vek_ext_check(&e, &m, SNP_MILAN, 0, &why), CLOAK_EVERIFY);
        assert_non_null(strstr(why.msg, cases[i].words));
    }
    snp_report m = r;
    m.chip_id[5] ^= 1;
    assert_int_equal(snp_vek_ext_check(&e, &m, SNP_MILAN, 0, &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "hwID does not equal CHIP_ID"));
    memset(m.chip_id, 0, sizeof m.chip_id); /* MASK_CHIP_ID: nothing to compare */
    assert_int_equal(snp_vek_ext_check(&e, &m, SNP_MILAN, 0, &why), CLOAK_OK);
    X509_free(x);
    free(rep.p);
    free(vcek.p);
}

static X509 *make_cert(const X509_NAME *subject, const X509_NAME *issuer, EVP_PKEY *key,
                       EVP_PKEY *signer, int salt)
{
    X509 *x = X509_new();
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    assert_non_null(x);
    assert_true(X509_set_version(x, 2));
    assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), utc("2020-01-01T00:00:00Z")));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), utc("2045-01-01T00:00:00Z")));
    assert_true(X509_set_subject_name(x, subject) && X509_set_issuer_name(x, issuer) &&
                X509_set_pubkey(x, key));
    assert_int_equal(EVP_DigestSignInit(m, &pc, EVP_sha384(), NULL, signer), 1);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, salt) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha384()) > 0);
    assert_true(X509_sign_ctx(x, m) > 0);
    EVP_MD_CTX_free(m);
    return x;
}

static blob der_of(X509 *x)
{
    blob b = {0};
    int n = i2d_X509(x, &b.p);
    assert_true(n > 0);
    b.n = (size_t)n;
    return b;
}

static void test_forged_ark_and_ask_are_refused(void **state)
{
    blob rep = vec("go-sev-guest/attestation_milan_v2.bin"),
         certs[2] = {vec("go-sev-guest/vcek_milan.der")};
    const uint8_t *q = certs[0].p;
    X509 *vcek = d2i_X509(NULL, &q, (long)certs[0].n);
    assert_non_null(vcek);
    X509 *real_ark = g_trust->amd_ark[SNP_MILAN];
    /* A self-made ARK-Milan (same name as AMD's, our RSA-4096 key) */
    X509 *ark = make_cert(X509_get_subject_name(real_ark), X509_get_subject_name(real_ark),
                          g_fake_rsa, g_fake_rsa, 48);
    certs[1] = der_of(ark);
    expect_fail(rep, certs, 2, "2024-01-01T00:00:00Z", CLOAK_EVERIFY, "untrusted ARK");
    OPENSSL_free(certs[1].p);
    /* A self-made ASK named as the VCEK's issuer, signed by that key: not AMD's ARK's work */
    X509 *ask = make_cert(X509_get_issuer_name(vcek), X509_get_subject_name(real_ark), g_fake_rsa,
                          g_fake_rsa, 48);
    certs[1] = der_of(ask);
    expect_fail(rep, certs, 2, "2024-01-01T00:00:00Z", CLOAK_EVERIFY,
                "supplied ASK signature does not verify under the built-in ARK-Milan");
    OPENSSL_free(certs[1].p);
    /* The PSS parameters are checked before the signature: salt 20 is refused by name */
    X509 *ask20 = make_cert(X509_get_issuer_name(vcek), X509_get_subject_name(real_ark), g_fake_rsa,
                            g_fake_rsa, 20);
    certs[1] = der_of(ask20);
    expect_fail(rep, certs, 2, "2024-01-01T00:00:00Z", CLOAK_EVERIFY,
                "supplied ASK signature algorithm does not use a 48-byte salt");
    OPENSSL_free(certs[1].p);
    /* A real ARK of another product is not this chain's anchor either */
    blob genoa = vec("go-sev-guest/ask_ark_genoa.pem");
    certs[1] = genoa;
    expect_fail(rep, certs, 2, "2024-01-01T00:00:00Z", CLOAK_EVERIFY,
                "untrusted ARK: the supplied root \"ARK-Genoa\"");
    free(genoa.p);
    X509_free(ark);
    X509_free(ask);
    X509_free(ask20);
    X509_free(vcek);
    free(certs[0].p);
    free(rep.p);
}

static void test_time_outside_vcek_validity_is_refused(void **state)
{
    /* vcek_milan.der: 2022-09-24T00:55:28Z .. 2029-09-24T00:55:28Z */
    blob rep = vec("go-sev-guest/attestation_milan_v2.bin"),
         vcek = vec("go-sev-guest/vcek_milan.der");
    expect_fail(rep, &vcek, 1, "2022-09-24T00:55:27Z", CLOAK_EVERIFY,
                "VCEK certificate is not valid at 2022-09-24T00:55:27Z (valid 2022-09-24T00:55:28Z "
                "to 2029-09-24T00:55:28Z)");
    expect_fail(rep, &vcek, 1, "2029-09-24T00:55:29Z", CLOAK_EVERIFY, "it has expired");
    json_t *c = NULL;
    cloak_error why;
    assert_int_equal(verify_blobs(rep, &vcek, 1, "2022-09-24T00:55:28Z", CLOAK_TEE_SNP, &c, &why),
                     CLOAK_OK);
    json_decref(c);
    assert_int_equal(verify_blobs(rep, &vcek, 1, "2029-09-24T00:55:27Z", CLOAK_TEE_SNP, &c, &why),
                     CLOAK_OK);
    json_decref(c);
    /* the built-in ARK/ASK (2020-10-22 .. 2045-10-22) bound the window too */
    expect_fail(rep, &vcek, 1, "2046-01-01T00:00:00Z", CLOAK_EVERIFY,
                "built-in ARK-Milan certificate is not valid");
    free(rep.p);
    free(vcek.p);
}

static void test_report_format_errors_are_named(void **state)
{
    blob rep = vec("go-sev-guest/attestation_milan_v2.bin"),
         vcek = vec("go-sev-guest/vcek_milan.der");
    const char *at = "2024-01-01T00:00:00Z";
    blob t = rep;
    t.n = rep.n - 1;
    expect_fail(t, &vcek, 1, at, CLOAK_EINVAL, "exactly 1184 (0x4A0) bytes; got 1183 (truncated)");
    t.n = 0x2A0;
    expect_fail(t, &vcek, 1, at, CLOAK_EINVAL, "got 672 (truncated)");
    uint8_t *big = calloc(1, rep.n + 1);
    memcpy(big, rep.p, rep.n);
    t.p = big;
    t.n = rep.n + 1;
    expect_fail(t, &vcek, 1, at, CLOAK_EINVAL, "got 1185 (extra bytes");
    free(big);
    static const struct {
        size_t off;
        uint8_t val;
        const char *words;
    } cases[] = {
        {0x000, 1, "unsupported SEV-SNP report VERSION 1 (offset 0x000); supported: 2..5"},
        {0x000, 6, "unsupported SEV-SNP report VERSION 6"},
        {0x034, 2, "unsupported SIGNATURE_ALGO 2 (offset 0x034)"},
        {0x034, 0, "unsupported SIGNATURE_ALGO 0"},
        {0x00A, 0x08,
         "POLICY (offset 0x008) bit 17 is reserved and must be 1"}, /* 0xB0000 -> 0x80000 */
        {0x00B, 0x04, "POLICY (offset 0x008) bits 26..63 must be zero"},
        {0x048, 0x20, "KEY_INFO (offset 0x048) bits 5..31 must be zero"},
        {0x048, 0x08, "KEY_INFO.SIGNING_KEY (offset 0x048) 2 is reserved"},
        {0x048, 0x1C, "not signed: KEY_INFO.SIGNING_KEY (offset 0x048) is 7"},
        {0x04D, 1, "reserved byte at offset 0x04d must be zero"},
        {0x189, 1, "reserved (CPUID fields before version 3) byte at offset 0x189"},
        {0x19F, 1, "reserved byte at offset 0x19f must be zero"},
        {0x1EB, 1, "reserved byte at offset 0x1eb"},
        {0x1F8, 1, "mitigation vectors before version 5) byte at offset 0x1f8"},
        {0x29F, 1, "reserved byte at offset 0x29f"},
        {0x2A0 + 50, 1, "SIGNATURE R (offset 0x2a0) is larger than a P-384 scalar"},
        {0x2E8 + 71, 1, "SIGNATURE S (offset 0x2e8) is larger than a P-384 scalar"},
        {0x400, 1, "reserved part of SIGNATURE byte at offset 0x400"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t saved = rep.p[cases[i].off];
        rep.p[cases[i].off] = cases[i].off == 0x00A ? (uint8_t)(saved & ~0x02) : cases[i].val;
        expect_fail(rep, &vcek, 1, at,
                    cases[i].off == 0x048 && cases[i].val == 0x1C ? CLOAK_EVERIFY : CLOAK_EINVAL,
                    cases[i].words);
        rep.p[cases[i].off] = saved;
    }
    free(rep.p);
    free(vcek.p);
}

static void test_certificate_input_errors_are_named(void **state)
{
    const char *at = "2024-01-01T00:00:00Z";
    blob rep = vec("go-sev-guest/attestation_milan_v2.bin");
    blob certs[2] = {vec("go-sev-guest/vcek_milan.der"), vec("virtee-sev/vcek_milan.der")};
    expect_fail(rep, NULL, 0, at, CLOAK_EVERIFY,
                "no VCEK certificate (CN SEV-VCEK) among the 0 supplied");
    expect_fail(rep, certs, 2, at, CLOAK_EVERIFY, "2 different VCEK certificates");
    blob junk = {(uint8_t *)"not a certificate", 17};
    expect_fail(rep, &junk, 1, at, CLOAK_EINVAL,
                "certificate buffer 0 (17 bytes) is not PEM or DER");
    /* the same VCEK twice (DER and in a bundle) is one VCEK */
    blob twice[2] = {certs[0], certs[0]};
    json_t *c = NULL;
    cloak_error why;
    assert_int_equal(verify_blobs(rep, twice, 2, at, CLOAK_TEE_SNP, &c, &why), CLOAK_OK);
    json_decref(c);
    /* CPUID says Genoa, the VCEK is a Milan one */
    blob genoa = vec("trustee/az_snp_genoa_v3_report.bin");
    expect_fail(genoa, certs, 1, at, CLOAK_EVERIFY,
                "CPUID (offset 0x188) is a Genoa but the VCEK is for Milan");
    genoa.p[0x189] = 0x30; /* model 0x30 of family 0x19: no SNP product we know */
    expect_fail(genoa, certs, 1, at, CLOAK_EVERIFY,
                "family 0x19 model 0x30 is not a known SEV-SNP product");
    free(genoa.p);
    free(certs[0].p);
    free(certs[1].p);
    free(rep.p);
}

/* ---- extensions, layouts, anchors ---- */

static X509 *load_der(const char *rel)
{
    blob b = vec(rel);
    const uint8_t *q = b.p;
    X509 *x = d2i_X509(NULL, &q, (long)b.n);
    assert_non_null(x);
    free(b.p);
    return x;
}

static void hwid_is_0_to_63(const snp_vek_ext *e)
{
    assert_int_equal(e->hwid_len, 64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(e->hwid[i], i);
}

static void test_legacy_vcek_encodings_still_parse(void **state)
{
    /* Values as `openssl asn1parse` shows them. legacy: hwID is the raw 64 bytes 00..3f, ucodeSPL
     * is 02 02 00 A9; new: hwID is an OCTET STRING (04 40 00..3f). */
    snp_vek_ext e;
    cloak_error why;
    X509 *x = load_der("trustee/snp_vcek_invalid_legacy.der");
    assert_int_equal(snp_vek_ext_parse(x, &e, &why), CLOAK_OK);
    hwid_is_0_to_63(&e);
    assert_int_equal(e.bl_spl, 3);
    assert_int_equal(e.tee_spl, 0);
    assert_int_equal(e.snp_spl, 10);
    assert_int_equal(e.ucode_spl, 0xA9);
    assert_int_equal(e.fmc_spl, -1);
    assert_string_equal(e.product_name, "Milan-B0");
    X509_free(x);
    x = load_der("trustee/snp_vcek_invalid_new.der");
    assert_int_equal(snp_vek_ext_parse(x, &e, &why), CLOAK_OK);
    hwid_is_0_to_63(&e);
    assert_int_equal(e.bl_spl, 0);
    assert_int_equal(e.snp_spl, 0);
    assert_int_equal(e.ucode_spl, 0x1E);
    X509_free(x);
    x = load_der("trustee/snp_milan_vlek.der"); /* VLEK: no hwID; ucodeSPL 02 02 00 D9 */
    assert_int_equal(snp_vek_ext_parse(x, &e, &why), CLOAK_OK);
    assert_int_equal(e.hwid_len, 0);
    assert_int_equal(e.bl_spl, 4);
    assert_int_equal(e.snp_spl, 0x18);
    assert_int_equal(e.ucode_spl, 0xD9);
    assert_string_equal(e.product_name, "Milan");
    X509_free(x);
}

static void test_turin_layout_and_vcek(void **state)
{
    /* No Turin report exists in the vectors: check the layout with the real Turin VCEK
     * (fmcSPL 0, blSPL 0, teeSPL 0, snpSPL 0, ucodeSPL 9, hwID 1e550a8ee5cf9f4d) */
    snp_vek_ext e;
    cloak_error why;
    X509 *x = load_der("virtee-sev/vcek_turin.der");
    assert_int_equal(snp_vek_ext_parse(x, &e, &why), CLOAK_OK);
    assert_string_equal(e.product_name, "Turin");
    assert_int_equal(e.fmc_spl, 0);
    assert_int_equal(e.ucode_spl, 9);
    assert_int_equal(e.hwid_len, 8);
    static const uint8_t hw[8] = {0x1e, 0x55, 0x0a, 0x8e, 0xe5, 0xcf, 0x9f, 0x4d};
    assert_memory_equal(e.hwid, hw, 8);
    X509_free(x);

    snp_report r;
    memset(&r, 0, sizeof r);
    memcpy(r.chip_id, hw, 8); /* Turin: hwID is the first 8 bytes of CHIP_ID */
    r.chip_id[40] = 0x77;
    const uint8_t tcb[8] = {1, 2, 3, 4, 0, 0, 9, 5}; /* Turin: FMC BL TEE SNP . . . ucode */
    memcpy(r.reported_tcb, tcb, 8);
    e.fmc_spl = 1, e.bl_spl = 2, e.tee_spl = 3, e.snp_spl = 4, e.ucode_spl = 5;
    assert_int_equal(snp_vek_ext_check(&e, &r, SNP_TURIN, 0, &why), CLOAK_OK);
    /* read with the Milan layout, the same bytes are another TCB */
    assert_int_equal(snp_vek_ext_check(&e, &r, SNP_MILAN, 0, &why), CLOAK_EVERIFY);
    e.fmc_spl = 7;
    assert_int_equal(snp_vek_ext_check(&e, &r, SNP_TURIN, 0, &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "fmcSPL is 7 but REPORTED_TCB (offset 0x180) fmc is 1"));
    snp_tcb t;
    snp_tcb_decode(tcb, SNP_GENOA, &t);
    assert_int_equal(t.bootloader, 1);
    assert_int_equal(t.tee, 2);
    assert_int_equal(t.snp, 9);
    assert_int_equal(t.microcode, 5);
    assert_int_equal(snp_product_from_cpuid(0x19, 0x01), SNP_MILAN);
    assert_int_equal(snp_product_from_cpuid(0x19, 0x11), SNP_GENOA);
    assert_int_equal(snp_product_from_cpuid(0x1A, 0x02), SNP_TURIN);
    assert_int_equal(snp_product_from_cpuid(0x17, 0x01), -1);
    assert_int_equal(snp_product_from_name("Milan-B0"), SNP_MILAN);
    assert_int_equal(snp_product_from_name("Genoa"), SNP_GENOA);
    assert_int_equal(snp_product_from_name("Mil"), -1);
    assert_int_equal(snp_product_from_name("MilanX"), -1);
}

static void test_built_in_amd_anchors_are_the_vector_copies(void **state)
{
    static const char *const files[SNP_NPRODUCTS] = {"go-sev-guest/ask_ark_milan.pem",
                                                     "go-sev-guest/ask_ark_genoa.pem",
                                                     "go-sev-guest/ask_ark_turin_vcek.pem"};
    for (int i = 0; i < SNP_NPRODUCTS; i++) {
        blob b = vec(files[i]);
        STACK_OF(X509) *sk = ev_load_certs(b.p, b.n);
        assert_non_null(sk);
        assert_int_equal(sk_X509_num(sk), 2);
        assert_int_equal(X509_cmp(sk_X509_value(sk, 0), g_trust->amd_ask[i]), 0);
        assert_int_equal(X509_cmp(sk_X509_value(sk, 1), g_trust->amd_ark[i]), 0);
        sk_X509_pop_free(sk, X509_free);
        free(b.p);
    }
}

static void test_show_parses_every_report_without_certificates(void **state)
{
    static const char *const reports[] = {
        "go-sev-guest/attestation_milan_v2.bin",
        "virtee-sev/report_milan_v2.bin",
        "trustee/snp_milan_v2_report.bin",
        "trustee/snp_milan_v3_vlek_report.bin",
        "trustee/az_snp_genoa_v3_report.bin",
        "trustee/az_snp_milan_v2_report.bin",
        "teekit/sev-gcp.bin",
        "teekit/sev-gcp-reportdata.bin",
        "teekit/sev-gcp-x25519-bound.bin",
    };
    cloak_error why;
    for (size_t i = 0; i < sizeof reports / sizeof *reports; i++) {
        blob b = vec(reports[i]);
        json_t *f = NULL;
        assert_int_equal(cloak_evidence_detect(b.p, b.n), CLOAK_TEE_SNP);
        assert_int_equal(cloak_evidence_show(b.p, b.n, CLOAK_TEE_AUTO, &f, &why), CLOAK_OK);
        assert_null(json_object_get(f, "format_error"));
        assert_true(json_is_object(json_object_get(f, "signature")));
        assert_true(json_is_string(json_object_get(f, "measurement")));
        json_decref(f);
        free(b.p);
    }
    blob b = vec("teekit/sev-gcp.bin");
    json_t *f = NULL;
    assert_int_equal(snp_show(b.p, b.n, &f, &why), CLOAK_OK);
    claim_int(f, "launch_mit_vector", 0x0B); /* MANIFEST: mitigation vectors 0x0B */
    claim_int(f, "current_mit_vector", 0x0B);
    claim_str(f, "product", "Milan");
    claim_str(f, "signing_key", "vcek");
    json_decref(f);
    b.p[0] = 6; /* show still shows, and says what verify would refuse */
    assert_int_equal(snp_show(b.p, b.n, &f, &why), CLOAK_OK);
    assert_non_null(strstr(json_string_value(json_object_get(f, "format_error")), "VERSION 6"));
    json_decref(f);
    assert_int_equal(snp_show(b.p, 100, &f, &why), CLOAK_EINVAL);
    free(b.p);
}

static int setup(void **state)
{
    cloak_error why;
    if (cloak_trust_new(0, NULL, &g_trust, &why)) {
        fprintf(stderr, "trust: %s\n", why.msg);
        return -1;
    }
    g_fake_rsa = EVP_RSA_gen(4096);
    return g_fake_rsa ? 0 : -1;
}

static int teardown(void **state)
{
    cloak_trust_free(g_trust);
    EVP_PKEY_free(g_fake_rsa);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_sev_guest_milan_v2_verifies_and_reports_debug),
        cmocka_unit_test(test_virtee_milan_v2_verifies_and_flipped_byte21_fails),
        cmocka_unit_test(test_trustee_milan_v2_verifies),
        cmocka_unit_test(test_trustee_vlek_verifies_before_expiry_and_not_after),
        cmocka_unit_test(test_azure_genoa_v3_verifies),
        cmocka_unit_test(test_azure_milan_v2_verifies_with_its_chain),
        cmocka_unit_test(test_gcp_v5_verifies),
        cmocka_unit_test(test_gcp_reportdata_values_match_teekit),
        cmocka_unit_test(test_gcp_x25519_bound_verifies_with_either_vcek),
        cmocka_unit_test(test_another_chips_vcek_fails_the_signature),
        cmocka_unit_test(test_vcek_tcb_must_equal_reported_tcb),
        cmocka_unit_test(test_forged_ark_and_ask_are_refused),
        cmocka_unit_test(test_time_outside_vcek_validity_is_refused),
        cmocka_unit_test(test_report_format_errors_are_named),
        cmocka_unit_test(test_certificate_input_errors_are_named),
        cmocka_unit_test(test_legacy_vcek_encodings_still_parse),
        cmocka_unit_test(test_turin_layout_and_vcek),
        cmocka_unit_test(test_built_in_amd_anchors_are_the_vector_copies),
        cmocka_unit_test(test_show_parses_every_report_without_certificates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
