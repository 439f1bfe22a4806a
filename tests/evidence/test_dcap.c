/* DCAP quotes without collateral: every real quote of shared/vectors/attestation parses and
 * verifies (quote signature, QE report, binding, PCK chain to the built-in Intel root) at a time
 * MANIFEST.md gives; `show` reports the fields MANIFEST.md states; structural damage, untrusted
 * roots, times outside the PCK validity and revoked certificates are refused, each with its own
 * reason. Simulated quotes come from the development platform (include/cloak/platform.h).
 * Expectations come from MANIFEST.md, docs/SIM-PLATFORM.md and values the test sets itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cloak/evidence.h"
#include "dcap_testlib.h"
#include "evidence/dcap_quote.h"

static cloak_trust *vendor_trust(void)
{
    cloak_trust *t = NULL;
    cloak_error e = {0};
    if (cloak_trust_new(0, NULL, &t, &e) != CLOAK_OK) fail_msg("trust: %s", e.msg);
    return t;
}

static cloak_err verify(const uint8_t *q, size_t len, const cloak_trust *t, time_t at,
                        json_t **claims, cloak_error *e)
{
    cloak_verify_opts o;
    memset(&o, 0, sizeof o);
    o.trust = t;
    o.at = at;
    return cloak_evidence_verify(q, len, &o, claims, e);
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s) fail_msg("claim %s missing or not a string", k);
    return s;
}

static void assert_hex_claim(const json_t *c, const char *k, const uint8_t *p, size_t n)
{
    char *h = cloak_hex_encode(p, n);
    assert_string_equal(str(c, k), h);
    free(h);
}

/* ---- every real quote ---- */

static void test_every_vector_verifies_at_manifest_time(void **state)
{
    (void)state;
    cloak_trust *t = vendor_trust();
    for (size_t i = 0; i < dcap_nvecs; i++) {
        const dcap_vec *v = &dcap_vecs[i];
        size_t len;
        uint8_t *q = dcap_vec_load(v->file, &len);
        json_t *c = NULL;
        cloak_error e = {0};
        cloak_err rc = verify(q, len, t, v->at, &c, &e);
        if (rc != CLOAK_OK) fail_msg("%s: %s", v->file, e.msg);
        assert_string_equal(str(c, "tee"), v->tdx ? "tdx" : "sgx");
        assert_int_equal(json_integer_value(json_object_get(c, "evidence_version")), v->version);
        if (v->fmspc) assert_string_equal(str(c, "fmspc"), v->fmspc);
        /* no collateral: status not evaluated */
        assert_string_equal(str(c, "tcb_status"), "Unknown");
        assert_true(json_is_array(json_object_get(c, "advisory_ids")));
        assert_int_equal(json_array_size(json_object_get(c, "advisory_ids")), 0);
        assert_null(json_object_get(c, "x-cloak-sim"));
        assert_null(json_object_get(c, "platform_tcb_status"));
        /* measurement and report data at the offsets of attestation.md §1, read here directly */
        size_t body = v->version == 5 ? 54 : 48;
        if (v->tdx) {
            assert_hex_claim(c, "measurement", q + body + 136, 48);
            assert_hex_claim(c, "mrtd", q + body + 136, 48);
            assert_hex_claim(c, "report_data", q + body + 520, 64);
            assert_int_equal(json_is_true(json_object_get(c, "debug")), q[body + 120] & 1);
            assert_non_null(json_object_get(c, "rtmr3"));
        } else {
            assert_hex_claim(c, "measurement", q + body + 64, 32);
            assert_hex_claim(c, "mrenclave", q + body + 64, 32);
            assert_hex_claim(c, "report_data", q + body + 320, 64);
            assert_int_equal(json_is_true(json_object_get(c, "debug")), (q[body + 48] >> 1) & 1);
            assert_non_null(json_object_get(c, "qe_svn"));
        }
        json_t *f = NULL;
        rc = cloak_evidence_show(q, len, CLOAK_TEE_AUTO, &f, &e);
        if (rc != CLOAK_OK) fail_msg("show %s: %s", v->file, e.msg);
        size_t ql = (size_t)json_integer_value(json_object_get(f, "quote_length"));
        assert_int_equal(ql, v->quote_len ? v->quote_len : len);
        assert_int_equal(json_integer_value(json_object_get(f, "trailing_bytes")), len - ql);
        assert_int_equal(
            json_array_size(json_object_get(json_object_get(f, "signature_data"), "pck_chain")), 3);
        json_decref(f);
        json_decref(c);
        free(q);
    }
    cloak_trust_free(t);
}

/* MANIFEST.md facts about single vectors, seen through `show` and the claims. */
static void test_show_reports_manifest_fields(void **state)
{
    (void)state;
    size_t len;
    cloak_error e = {0};
    json_t *f = NULL;
    uint8_t *q = dcap_vec_load("dcap-qvl/sgx_quote.dat", &len);
    assert_int_equal(cloak_evidence_show(q, len, CLOAK_TEE_AUTO, &f, &e), CLOAK_OK);
    json_t *h = json_object_get(f, "header"), *sd = json_object_get(f, "signature_data");
    assert_int_equal(json_integer_value(json_object_get(h, "version")), 3);
    assert_int_equal(json_integer_value(json_object_get(h, "qe_svn")), 10);  /* "QE svn 10" */
    assert_int_equal(json_integer_value(json_object_get(h, "pce_svn")), 15); /* "PCE svn 15" */
    assert_string_equal(str(h, "qe_vendor_id"), "939a7233f79c4ca9940a0db3957f0607");
    assert_int_equal(json_integer_value(json_object_get(sd, "pck_cert_data_type")), 5);
    json_t *ca = json_array_get(json_object_get(sd, "pck_chain"), 1);
    assert_non_null(strstr(str(ca, "subject"), "CN=Intel SGX PCK Processor CA"));
    json_t *root = json_array_get(json_object_get(sd, "pck_chain"), 2);
    assert_non_null(strstr(str(root, "subject"), "CN=Intel SGX Root CA"));
    json_t *x = json_object_get(sd, "pck_extension");
    assert_string_equal(str(x, "fmspc"), "00a067110000");
    assert_int_equal(json_integer_value(json_object_get(x, "pce_svn")), 13); /* "pcesvn 13" */
    json_decref(f);
    free(q);

    /* tdx_quote.dat: v4, cert data type 6, PCK Platform CA, TEE_TCB_SVN 06 01 03, QE isvsvn 6 */
    q = dcap_vec_load("dcap-qvl/tdx_quote.dat", &len);
    assert_int_equal(cloak_evidence_show(q, len, CLOAK_TEE_AUTO, &f, &e), CLOAK_OK);
    sd = json_object_get(f, "signature_data");
    assert_int_equal(json_integer_value(json_object_get(sd, "cert_data_type")), 6);
    ca = json_array_get(json_object_get(sd, "pck_chain"), 1);
    assert_non_null(strstr(str(ca, "subject"), "CN=Intel SGX PCK Platform CA"));
    assert_string_equal(str(json_object_get(f, "body"), "tee_tcb_svn"),
                        "06010300000000000000000000000000");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(sd, "qe_report"), "isv_svn")), 6);
    assert_string_equal(str(f, "body_type"), "TD 1.0 quote body");
    json_decref(f);
    free(q);

    /* tdx_quote_outdated.dat: v5, body type 3 (TD 1.5), TEE_TCB_SVN 07 01 03, PCK comp#8 = 3 */
    q = dcap_vec_load("dcap-qvl/tdx_quote_outdated.dat", &len);
    assert_int_equal(cloak_evidence_show(q, len, CLOAK_TEE_TDX, &f, &e), CLOAK_OK);
    assert_string_equal(str(f, "body_type"), "TD 1.5 quote body");
    assert_non_null(json_object_get(json_object_get(f, "body"), "mrservicetd"));
    assert_non_null(strstr(str(json_object_get(f, "body"), "tee_tcb_svn"), "070103"));
    x = json_object_get(json_object_get(f, "signature_data"), "pck_extension");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(x, "comp_svn"), 7)), 3);
    json_decref(f);
    json_t *c = NULL;
    cloak_trust *t = vendor_trust();
    assert_int_equal(verify(q, len, t, T_DCAPQVL_OUTDATED, &c, &e), CLOAK_OK);
    assert_non_null(json_object_get(c, "tee_tcb_svn2"));
    assert_non_null(json_object_get(c, "mrservicetd"));
    json_decref(c);
    free(q);

    /* go-tdx-guest/quote_v5_sample.dat: QE isvsvn 7 */
    q = dcap_vec_load("go-tdx-guest/quote_v5_sample.dat", &len);
    assert_int_equal(cloak_evidence_show(q, len, CLOAK_TEE_AUTO, &f, &e), CLOAK_OK);
    sd = json_object_get(f, "signature_data");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(sd, "qe_report"), "isv_svn")), 7);
    json_decref(f);
    free(q);
    cloak_trust_free(t);
}

static void test_tdreport_is_not_a_quote(void **state)
{
    (void)state;
    size_t len;
    cloak_error e = {0};
    json_t *c = NULL;
    cloak_trust *t = vendor_trust();
    uint8_t *r = dcap_vec_load("go-tdx-guest/tdreport.dat", &len);
    assert_int_equal(len, 1024);
    assert_int_equal(verify(r, len, t, T_GO_TDX_V5, &c, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "not recognised"));
    /* forced to TDX, the DCAP parser names the field it refuses */
    cloak_verify_opts o = {.type = CLOAK_TEE_TDX, .trust = t, .at = T_GO_TDX_V5};
    assert_int_equal(cloak_evidence_verify(r, len, &o, &c, &e), CLOAK_EINVAL);
    assert_int_equal(dcap_show(r, len, &c, &e), CLOAK_EINVAL);
    /* its first two bytes (0f d7) read as a quote version */
    assert_non_null(strstr(e.msg, "quote version 55055 at offset 0x0 is not supported"));
    assert_null(c);
    free(r);
    cloak_trust_free(t);
}

/* ---- structure ---- */

static void expect_parse_error(const uint8_t *q, size_t len, const char *needle)
{
    dcap_quote pq;
    cloak_error e = {0};
    assert_int_equal(dcap_quote_parse(q, len, &pq, &e), CLOAK_EINVAL);
    if (!strstr(e.msg, needle)) fail_msg("expected \"%s\" in \"%s\"", needle, e.msg);
}

static void test_header_fields_refused_by_name(void **state)
{
    (void)state;
    size_t len;
    uint8_t *q = dcap_vec_load("dcap-qvl/sgx_quote.dat", &len), *m = malloc(len);
    memcpy(m, q, len), cloak_put_u16le(m, 6);
    expect_parse_error(m, len, "quote version 6 at offset 0x0");
    memcpy(m, q, len), cloak_put_u16le(m + 2, 3);
    expect_parse_error(m, len, "attestation key type 3 at offset 0x2");
    memcpy(m, q, len), cloak_put_u32le(m + 4, 0x81);
    expect_parse_error(m, len, "version 3 quote is SGX only");
    memcpy(m, q, len), cloak_put_u32le(m + 4, 0x7);
    expect_parse_error(m, len, "TEE type 0x7 at offset 0x4");
    memcpy(m, q, len), m[12] ^= 1;
    expect_parse_error(m, len, "QE vendor id at offset 0xc is not Intel's");
    free(q);
    free(m);

    /* v4 TDX with the TEE type of SGX: the 584-byte body no longer fits the SGX layout */
    q = dcap_vec_load("dcap-qvl/tdx_quote.dat", &len);
    m = malloc(len);
    memcpy(m, q, len), cloak_put_u32le(m + 4, 0);
    dcap_quote pq;
    cloak_error e = {0};
    assert_int_not_equal(dcap_quote_parse(m, len, &pq, &e), CLOAK_OK);
    free(q);
    free(m);

    /* v5: body type and size must agree with each other and with the TEE type */
    q = dcap_vec_load("dcap-qvl/tdx_quote_outdated.dat", &len);
    m = malloc(len);
    memcpy(m, q, len), cloak_put_u16le(m + 48, 4);
    expect_parse_error(m, len, "v5 body type 4 at offset 0x30");
    memcpy(m, q, len), cloak_put_u16le(m + 48, 1);
    expect_parse_error(m, len, "does not match the TEE type");
    memcpy(m, q, len), cloak_put_u16le(m + 48, 2);
    expect_parse_error(m, len, "v5 body size 648 at offset 0x32 does not match body type 2");
    memcpy(m, q, len), cloak_put_u32le(m + 50, 584);
    expect_parse_error(m, len, "v5 body size 584");
    free(q);
    free(m);
}

static void test_every_truncation_is_refused(void **state)
{
    (void)state;
    const char *files[] = {"dcap-qvl/sgx_quote.dat", "dcap-qvl/tdx_quote.dat",
                           "dcap-qvl/tdx_quote_outdated.dat"};
    for (size_t f = 0; f < 3; f++) {
        size_t len;
        uint8_t *q = dcap_vec_load(files[f], &len);
        dcap_quote pq;
        assert_int_equal(dcap_quote_parse(q, len, &pq, NULL), CLOAK_OK);
        size_t ql = pq.quote_len;
        for (size_t n = 0; n < ql; n++) {
            /* a copy of exactly n bytes, so ASan sees any read past the end */
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, q, n);
            cloak_error e = {0};
            if (dcap_quote_parse(cut, n, &pq, &e) != CLOAK_EINVAL || !e.msg[0])
                fail_msg("%s cut to %zu bytes was not refused", files[f], n);
            free(cut);
        }
        free(q);
    }
}

static void test_lengths_refused_with_offsets(void **state)
{
    (void)state;
    size_t len;
    uint8_t *q = dcap_vec_load("dcap-qvl/sgx_quote.dat", &len), *m = malloc(len + 64);
    /* v3: signature data at 436; QE auth size at 436 + 576 = 0x3f4 */
    memcpy(m, q, len), cloak_put_u16le(m + 0x3f4, 4000);
    expect_parse_error(m, len, "QE auth data size 4000 at offset 0x3f4 exceeds the signature data");
    memcpy(m, q, len), cloak_put_u32le(m + 432, 0x10000);
    expect_parse_error(m, len, "signature data length 65536 at offset 0x1b0 exceeds");
    /* sig_data_len one byte longer, with a byte to spare: the nested lengths no longer fill it */
    memcpy(m, q, len), m[len] = 0, cloak_put_u32le(m + 432, cloak_get_u32le(q + 432) + 1);
    expect_parse_error(m, len + 1, "1 unexplained bytes");
    memcpy(m, q, len), cloak_put_u16le(m + 0x3f6 + 32, 4);
    expect_parse_error(m, len, "certification data type 4 at offset 0x416 is not supported");
    free(q);
    free(m);

    /* v4: signature data at 636; cert data type 6 at 636 + 128 = 0x2fc, its size at 0x2fe */
    q = dcap_vec_load("dcap-qvl/tdx_quote.dat", &len);
    m = malloc(len);
    memcpy(m, q, len), cloak_put_u16le(m + 0x2fc, 5);
    expect_parse_error(m, len, "certification data type 5 at offset 0x2fc is not 6");
    memcpy(m, q, len), cloak_put_u32le(m + 0x2fe, cloak_get_u32le(q + 0x2fe) - 1);
    expect_parse_error(m, len, "QE report certification data size 4165 at offset 0x2fe");
    /* QE auth size inside type 6: 0x302 + 384 + 64 = 0x4c2 */
    memcpy(m, q, len), cloak_put_u16le(m + 0x4c2, 4000);
    expect_parse_error(m, len,
                       "QE auth data size 4000 at offset 0x4c2 exceeds the QE report "
                       "certification data");
    free(q);
    free(m);
}

/* The quote ends at header + body + 4 + sig_data_len; what follows is ignored (MANIFEST.md
 * quirk 1), whatever it holds. */
static void test_trailing_bytes_ignored(void **state)
{
    (void)state;
    size_t len;
    cloak_error e = {0};
    json_t *a = NULL, *b = NULL;
    cloak_trust *t = vendor_trust();
    uint8_t *q = dcap_vec_load("dcap-qvl/sgx_quote.dat", &len), *m = malloc(len + 1000);
    memcpy(m, q, len);
    for (size_t i = 0; i < 1000; i++)
        m[len + i] = (uint8_t)(i * 37 + 1);
    assert_int_equal(verify(q, len, t, T_DCAPQVL_SGX, &a, &e), CLOAK_OK);
    assert_int_equal(verify(m, len + 1000, t, T_DCAPQVL_SGX, &b, &e), CLOAK_OK);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(q);
    free(m);
    cloak_trust_free(t);
}

/* ---- time ---- */

static void test_time_outside_pck_validity_refused(void **state)
{
    (void)state;
    size_t len;
    cloak_error e = {0};
    json_t *c = NULL;
    cloak_trust *t = vendor_trust();
    /* trustee/sgx_occlum_quote_v3.dat: "PCK notAfter 2030-04-26" (MANIFEST.md) */
    uint8_t *q = dcap_vec_load("trustee/sgx_occlum_quote_v3.dat", &len);
    assert_int_equal(verify(q, len, t, 1903305600 /* 2030-04-25 */, &c, &e), CLOAK_OK);
    json_decref(c);
    c = NULL;
    assert_int_equal(verify(q, len, t, 1903478400 /* 2030-04-27 */, &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "PCK certificate (CN=Intel SGX PCK Certificate) is not valid at "
                                  "2030-04-27T00:00:00Z"));
    assert_null(c);
    free(q);
    /* go-tdx-guest SPR: verifies at 2023-07-01, fails at 2053-07-01 (verify_test.go) */
    q = dcap_vec_load("go-tdx-guest/tdx_prod_quote_SPR_E4.dat", &len);
    assert_int_equal(verify(q, len, t, 2634944400 /* 2053-07-01T01:00Z */, &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "is not valid at 2053-07-01T01:00:00Z"));
    /* before the PCK certificate was issued (2022-09-20) */
    assert_int_equal(verify(q, len, t, 1640995200 /* 2022-01-01 */, &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "PCK certificate"));
    free(q);
    cloak_trust_free(t);
}

/* ---- simulated quotes and roots ---- */

typedef struct {
    char *dir;
    cloak_platform *plat;
} sim;

static int sim_setup(void **state)
{
    sim *s = calloc(1, sizeof *s);
    cloak_error e = {0};
    s->dir = dcap_tmpdir();
    if (cloak_platform_open(s->dir, &s->plat, &e) != CLOAK_OK) fail_msg("platform: %s", e.msg);
    *state = s;
    return 0;
}

static int sim_teardown(void **state)
{
    sim *s = *state;
    cloak_platform_free(s->plat);
    dcap_rm_rf(s->dir);
    free(s);
    return 0;
}

static void test_sim_quote_verifies_only_with_sim_trust(void **state)
{
    sim *s = *state;
    uint8_t mre[32], rd[64];
    size_t len;
    cloak_error e = {0};
    json_t *c = NULL;
    cloak_trust *dev = NULL, *vendor = vendor_trust();
    memset(mre, 0xab, sizeof mre);
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)i;
    uint8_t *q =
        dcap_sim_quote(s->plat, mre, CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_MODE64BIT, rd, &len);
    if (cloak_trust_new(CLOAK_TRUST_ALLOW_SIM, s->dir, &dev, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    time_t now = time(NULL); /* the platform's certificates were issued just now */
    if (verify(q, len, dev, now, &c, &e) != CLOAK_OK) fail_msg("sim quote: %s", e.msg);
    assert_true(json_is_true(json_object_get(c, "x-cloak-sim")));
    assert_false(json_is_true(json_object_get(c, "debug")));
    assert_hex_claim(c, "mrenclave", mre, 32);
    assert_hex_claim(c, "measurement", mre, 32);
    assert_hex_claim(c, "report_data", rd, 64);
    assert_int_equal(json_integer_value(json_object_get(c, "isv_prod_id")), 7);
    assert_int_equal(json_integer_value(json_object_get(c, "isv_svn")), 3);
    /* docs/SIM-PLATFORM.md fixed values */
    assert_string_equal(str(c, "fmspc"), "00c10f000000");
    assert_string_equal(str(c, "pce_id"), "0000");
    assert_string_equal(str(c, "cpu_svn"), "04040303ff0100000000000000000000");
    assert_int_equal(json_integer_value(json_object_get(c, "pce_svn")), 13);
    assert_int_equal(json_integer_value(json_object_get(c, "qe_svn")), 8);
    assert_string_equal(str(c, "tcb_status"), "Unknown");
    json_decref(c);
    c = NULL;
    /* only vendor roots: refused, naming the root */
    assert_int_equal(verify(q, len, vendor, now, &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "PCK chain ends at an untrusted root "
                                  "(CN=Cloak Development SGX Root CA)"));
    assert_null(c);
    free(q);
    /* the DEBUG attribute shows in the claims */
    q = dcap_sim_quote(s->plat, mre, CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_DEBUG, rd, &len);
    assert_int_equal(verify(q, len, dev, now, &c, &e), CLOAK_OK);
    assert_true(json_is_true(json_object_get(c, "debug")));
    json_decref(c);
    free(q);
    /* and a real Intel quote still verifies under the sim-allowing trust, without the flag */
    q = dcap_vec_load("dcap-qvl/sgx_quote.dat", &len);
    assert_int_equal(verify(q, len, dev, T_DCAPQVL_SGX, &c, &e), CLOAK_OK);
    assert_null(json_object_get(c, "x-cloak-sim"));
    json_decref(c);
    free(q);
    cloak_trust_free(dev);
    cloak_trust_free(vendor);
}

/* A second development platform is a different root: its quotes are not trusted by the
 * first platform's trust. */
static void test_other_sim_root_refused(void **state)
{
    sim *s = *state;
    sim other;
    uint8_t mre[32] = {1}, rd[64] = {2};
    size_t len;
    cloak_error e = {0};
    json_t *c = NULL;
    cloak_trust *dev = NULL;
    other.dir = dcap_tmpdir();
    if (cloak_platform_open(other.dir, &other.plat, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    uint8_t *q = dcap_sim_quote(other.plat, mre, CLOAK_SGX_FLAG_INIT, rd, &len);
    if (cloak_trust_new(CLOAK_TRUST_ALLOW_SIM, s->dir, &dev, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    assert_int_equal(verify(q, len, dev, time(NULL), &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "untrusted root"));
    free(q);
    cloak_trust_free(dev);
    cloak_platform_free(other.plat);
    dcap_rm_rf(other.dir);
}

/* ---- SGX v4 and v5 layouts (MANIFEST.md: no real SGX v4 quote exists in the vectors) ----
 * The development platform writes v3. Re-frame its quote in the v4 / v5 layout of
 * attestation.md §1 -- header version 4/5 (reserved QE/PCE SVN fields zero), for v5 body type
 * 1 and size 384, and the QE report, its signature, the auth data and the PEM chain moved into
 * cert data type 6 -- and sign the new signed region with the platform's attestation key. The
 * QE report stays valid: it binds the attestation key and auth data, not the quote layout. */
static uint8_t *sgx_reframe(const uint8_t *v3, size_t v3_len, int version, const char *plat_dir,
                            size_t *out_len)
{
    const uint8_t *sd = v3 + 436;
    size_t sdl = cloak_get_u32le(v3 + 432), inner = sdl - 128, hdr = version == 5 ? 54 : 48;
    cloak_buf b = {0};
    assert_int_equal(436 + sdl, v3_len);
    cloak_buf_put(&b, v3, 48);
    cloak_put_u16le(b.p, (uint16_t)version);
    memset(b.p + 8, 0, 4);
    if (version == 5) cloak_buf_u16le(&b, 1), cloak_buf_u32le(&b, 384);
    cloak_buf_put(&b, v3 + 48, 384);
    cloak_buf_u32le(&b, (uint32_t)(64 + 64 + 6 + inner));
    cloak_buf_zero(&b, 64);         /* the quote signature, below */
    cloak_buf_put(&b, sd + 64, 64); /* attestation key */
    cloak_buf_u16le(&b, 6);
    cloak_buf_u32le(&b, (uint32_t)inner);
    cloak_buf_put(&b, sd + 128, inner); /* QE report ... PEM chain, as in v3 */
    assert_false(b.failed);

    char path[512];
    snprintf(path, sizeof path, "%s/attestation.key", plat_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[80];
    size_t dl = sizeof der;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(md, der, &dl, b.p, hdr + 384), 1);
    const unsigned char *dp = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &dp, (long)dl);
    assert_non_null(es);
    uint8_t *sig = b.p + hdr + 384 + 4;
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32), 32);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    *out_len = b.len;
    return b.p;
}

static void test_sim_sgx_v4_v5_layouts(void **state)
{
    sim *s = *state;
    uint8_t mre[32], rd[64] = {0x42};
    size_t len, n;
    cloak_error e = {0};
    cloak_trust *dev = NULL;
    memset(mre, 0xcd, sizeof mre);
    uint8_t *v3 = dcap_sim_quote(s->plat, mre, CLOAK_SGX_FLAG_INIT, rd, &len);
    if (cloak_trust_new(CLOAK_TRUST_ALLOW_SIM, s->dir, &dev, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    for (int version = 4; version <= 5; version++) {
        json_t *c = NULL, *f = NULL;
        uint8_t *q = sgx_reframe(v3, len, version, s->dir, &n);
        if (verify(q, n, dev, time(NULL), &c, &e) != CLOAK_OK)
            fail_msg("SGX v%d: %s", version, e.msg);
        assert_string_equal(str(c, "tee"), "sgx");
        assert_int_equal(json_integer_value(json_object_get(c, "evidence_version")), version);
        assert_hex_claim(c, "mrenclave", mre, 32);
        assert_hex_claim(c, "report_data", rd, 64);
        assert_int_equal(json_integer_value(json_object_get(c, "qe_svn")), 8);
        assert_true(json_is_true(json_object_get(c, "x-cloak-sim")));
        assert_int_equal(cloak_evidence_show(q, n, CLOAK_TEE_SGX, &f, &e), CLOAK_OK);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(f, "signature_data"),
                                                            "cert_data_type")),
                         6);
        assert_string_equal(str(f, "body_type"), "SGX report body");
        /* asked for TDX: refused */
        cloak_verify_opts o = {.type = CLOAK_TEE_TDX, .trust = dev, .at = time(NULL)};
        json_decref(c);
        c = NULL;
        assert_int_equal(cloak_evidence_verify(q, n, &o, &c, &e), CLOAK_EINVAL);
        /* one byte of the body changed: the new signature no longer covers it */
        q[(version == 5 ? 54 : 48) + 64] ^= 1;
        assert_int_equal(verify(q, n, dev, time(NULL), &c, &e), CLOAK_EVERIFY);
        assert_non_null(strstr(e.msg, "quote signature"));
        json_decref(f);
        free(q);
    }
    free(v3);
    cloak_trust_free(dev);
}

/* ---- revocation (dcap_pck_check_revocation; the CRLs are built here with OpenSSL) ---- */

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

static EVP_PKEY *pem_key(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

/* A v2 CRL by `issuer` (name) signed with `key`, listing `revoked` if non-NULL. */
static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *key, X509 *revoked)
{
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
    ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), 30, 0);
    assert_int_equal(X509_CRL_set_version(crl, 1), 1);
    assert_int_equal(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)), 1);
    assert_int_equal(X509_CRL_set1_lastUpdate(crl, now), 1);
    assert_int_equal(X509_CRL_set1_nextUpdate(crl, next), 1);
    if (revoked) {
        X509_REVOKED *r = X509_REVOKED_new();
        assert_int_equal(X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked)), 1);
        assert_int_equal(X509_REVOKED_set_revocationDate(r, now), 1);
        assert_int_equal(X509_CRL_add0_revoked(crl, r), 1);
    }
    assert_true(X509_CRL_sort(crl) == 1);
    assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    return crl;
}

static void test_revoked_pck_refused(void **state)
{
    sim *s = *state;
    dcap_pck_chain ch = {pem_cert(s->dir, "pck.pem"), pem_cert(s->dir, "pck-ca.pem"),
                         pem_cert(s->dir, "root.pem")};
    EVP_PKEY *ca_key = pem_key(s->dir, "pck-ca.key"), *root_key = pem_key(s->dir, "root.key");
    EVP_PKEY *stranger = EVP_EC_gen("P-256");
    cloak_error e = {0};
    X509_CRL *root_empty = make_crl(ch.root, root_key, NULL);
    X509_CRL *pck_empty = make_crl(ch.ca, ca_key, NULL);
    X509_CRL *pck_revoked = make_crl(ch.ca, ca_key, ch.leaf);
    X509_CRL *root_revoked = make_crl(ch.root, root_key, ch.ca);
    X509_CRL *pck_by_root = make_crl(ch.root, root_key, NULL);
    X509_CRL *pck_forged = make_crl(ch.ca, stranger, NULL); /* right name, wrong key */
    X509_CRL *pck_other = make_crl(ch.ca, ca_key, ch.root); /* lists another serial */

    assert_int_equal(dcap_pck_check_revocation(&ch, ch.root, root_empty, pck_empty, 0, &e),
                     CLOAK_OK);
    assert_int_equal(dcap_pck_check_revocation(&ch, ch.root, root_empty, pck_other, 0, &e),
                     CLOAK_OK);
    assert_int_equal(dcap_pck_check_revocation(&ch, ch.root, root_empty, pck_revoked, 0, &e),
                     CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "PCK certificate serial"));
    assert_non_null(
        strstr(e.msg, "is revoked (PCK CRL of CN=Cloak Development SGX PCK Platform CA)"));
    assert_int_equal(dcap_pck_check_revocation(&ch, ch.root, root_revoked, pck_empty, 0, &e),
                     CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "PCK CA certificate serial"));
    assert_non_null(strstr(e.msg, "revoked by the root CA CRL"));
    assert_int_equal(dcap_pck_check_revocation(&ch, ch.root, root_empty, pck_by_root, 0, &e),
                     CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "not issued by the PCK chain's CA"));
    assert_int_equal(dcap_pck_check_revocation(&ch, ch.root, root_empty, pck_forged, 0, &e),
                     CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "signature does not verify"));
    assert_int_equal(dcap_pck_check_revocation(&ch, ch.root, pck_empty, pck_empty, 0, &e),
                     CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "root CA CRL is not issued by"));
    assert_int_equal(dcap_pck_check_revocation(&ch, ch.root, NULL, pck_empty, 0, &e),
                     CLOAK_EVERIFY);

    X509_CRL *all[] = {root_empty,  pck_empty,  pck_revoked, root_revoked,
                       pck_by_root, pck_forged, pck_other};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        X509_CRL_free(all[i]);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(root_key);
    EVP_PKEY_free(stranger);
    dcap_pck_chain_free(&ch);
}

static X509_CRL *der_crl(const char *rel)
{
    char *path = dcap_vec_path(rel);
    size_t n;
    uint8_t *d = dcap_read_file(path, &n);
    const uint8_t *p = d;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
    assert_non_null(crl);
    free(d);
    free(path);
    return crl;
}

static dcap_pck_chain vector_chain(const char *rel)
{
    size_t len;
    dcap_quote pq;
    dcap_pck_chain ch = {0};
    cloak_error e = {0};
    uint8_t *q = dcap_vec_load(rel, &len);
    assert_int_equal(dcap_quote_parse(q, len, &pq, &e), CLOAK_OK);
    assert_int_equal(dcap_pck_chain_load(pq.pck_pem, pq.pck_pem_len, &ch, &e), CLOAK_OK);
    free(q);
    return ch;
}

/* Intel's own CRLs: the sample quote is not revoked (MANIFEST: verify OK); a Processor CA CRL
 * says nothing about a Platform CA chain. */
static void test_real_crls(void **state)
{
    (void)state;
    cloak_error e = {0};
    X509_CRL *root_crl = der_crl("dcap-qvl/sgx_quote_collateral/root_ca_crl.der");
    X509_CRL *processor = der_crl("dcap-qvl/sgx_quote_collateral/pck_crl.der");
    X509_CRL *platform = der_crl("dcap-qvl/tdx_quote_collateral/pck_crl.der");
    dcap_pck_chain sgx = vector_chain("dcap-qvl/sgx_quote.dat");
    dcap_pck_chain tdx = vector_chain("dcap-qvl/tdx_quote.dat");
    assert_int_equal(dcap_pck_check_revocation(&sgx, sgx.root, root_crl, processor, 0, &e),
                     CLOAK_OK);
    assert_int_equal(dcap_pck_check_revocation(&tdx, tdx.root, root_crl, platform, 0, &e),
                     CLOAK_OK);
    assert_int_equal(dcap_pck_check_revocation(&tdx, tdx.root, root_crl, processor, 0, &e),
                     CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "CN=Intel SGX PCK Platform CA"));
    dcap_pck_chain_free(&sgx);
    dcap_pck_chain_free(&tdx);
    X509_CRL_free(root_crl);
    X509_CRL_free(processor);
    X509_CRL_free(platform);
}

/* The SGX extension of a development PCK: docs/SIM-PLATFORM.md's fixed values. */
static void test_sim_pck_extension(void **state)
{
    sim *s = *state;
    static const uint8_t comp[16] = {4, 4, 3, 3, 255, 1};
    X509 *leaf = pem_cert(s->dir, "pck.pem");
    dcap_pck_ext x;
    cloak_error e = {0};
    assert_int_equal(dcap_pck_parse_ext(leaf, &x, &e), CLOAK_OK);
    assert_memory_equal(x.tcb.comp_svn, comp, 16);
    assert_memory_equal(x.tcb.cpu_svn, comp, 16);
    assert_int_equal(x.tcb.pce_svn, 13);
    assert_memory_equal(x.tcb.fmspc, "\x00\xc1\x0f\x00\x00\x00", 6);
    assert_int_equal(x.sgx_type, 0);
    /* a certificate without the extension: the root */
    X509 *root = pem_cert(s->dir, "root.pem");
    assert_int_equal(dcap_pck_parse_ext(root, &x, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "has no SGX extension"));
    X509_free(root);
    X509_free(leaf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_vector_verifies_at_manifest_time),
        cmocka_unit_test(test_show_reports_manifest_fields),
        cmocka_unit_test(test_tdreport_is_not_a_quote),
        cmocka_unit_test(test_header_fields_refused_by_name),
        cmocka_unit_test(test_every_truncation_is_refused),
        cmocka_unit_test(test_lengths_refused_with_offsets),
        cmocka_unit_test(test_trailing_bytes_ignored),
        cmocka_unit_test(test_time_outside_pck_validity_refused),
        cmocka_unit_test(test_real_crls),
        cmocka_unit_test_setup_teardown(test_sim_quote_verifies_only_with_sim_trust, sim_setup,
                                        sim_teardown),
        cmocka_unit_test_setup_teardown(test_other_sim_root_refused, sim_setup, sim_teardown),
        cmocka_unit_test_setup_teardown(test_sim_sgx_v4_v5_layouts, sim_setup, sim_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_pck_refused, sim_setup, sim_teardown),
        cmocka_unit_test_setup_teardown(test_sim_pck_extension, sim_setup, sim_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
