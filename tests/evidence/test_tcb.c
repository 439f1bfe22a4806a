/* DCAP TCB evaluation (dcap_tcb_evaluate) driven directly, the way the quote verifier calls it:
 * PCK SGX-extension values, the 384-byte QE report and (TDX) the TD report body.
 *
 * The PCK values are hard-coded from the PCK certificates inside the quotes (decoded once with
 * `openssl asn1parse -strparse` on the extension 1.2.840.113741.1.13.1, cross-checked with a
 * pyca/cryptography script); the QE report and TD body are read from the quote files at the
 * fixed offsets of attestation.md §1. Expected results: MANIFEST.md (dcap-qvl verify_quote.rs,
 * verify_tcb_override.rs; go-tdx-guest verify_test.go) and, for the variations, an independent
 * Python re-implementation of Intel QVL's EvaluateTcb.cpp run over the same JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cloak/platform.h"
#include "evidence/collateral_testlib.h"

/* Offsets into the quote files (attestation.md §1). v3: header 48 + SGX body 384 + sig_data_len
 * 4 + quote sig 64 + att key 64 = 564. v4: header 48 + TD10 body 584 + 4 + 128 + cert type 2 +
 * size 4 = 770. v5: header 48 + type 2 + size 4 + TD15 body 648 + 4 + 128 + 6 = 840. */
#define V3_QE_REPORT 564
#define V4_QE_REPORT 770
#define V4_TD_BODY 48
#define V5_QE_REPORT 840
#define V5_TD_BODY 54
#define TD10 584
#define TD15 648

/* dcap-qvl/sgx_quote.dat PCK certificate (Processor CA): FMSPC 00a067110000, PCE-ID 0000,
 * comp SVNs 0b 0b 02 02 ff 01 00.., PCESVN 13 (0x0d), CPUSVN 0b0b0202ff0100000000000000000000 */
static const dcap_pck_tcb sgx_pck = {{0x00, 0xa0, 0x67, 0x11, 0x00, 0x00},
                                     {0, 0},
                                     {11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                                     {11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                                     13};
/* dcap-qvl/tdx_quote.dat: FMSPC b0c06f000000, comps 03 03 02 02 04 01 00 05, PCESVN 11 */
static const dcap_pck_tcb tdx_pck = {{0xb0, 0xc0, 0x6f, 0x00, 0x00, 0x00},
                                     {0, 0},
                                     {3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0},
                                     {3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0},
                                     11};
/* dcap-qvl/tdx_quote_outdated.dat: FMSPC 90c06f000000, comps 03 03 02 02 04 01 00 03, PCESVN 13 */
static const dcap_pck_tcb old_pck = {{0x90, 0xc0, 0x6f, 0x00, 0x00, 0x00},
                                     {0, 0},
                                     {3, 3, 2, 2, 4, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0},
                                     {3, 3, 2, 2, 4, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0},
                                     13};
/* go-tdx-guest/tdx_prod_quote_SPR_E4.dat: FMSPC 50806f000000, comps 03 03 02 02 02 01 00 02,
 * PCESVN 11 */
static const dcap_pck_tcb spr_pck = {{0x50, 0x80, 0x6f, 0x00, 0x00, 0x00},
                                     {0, 0},
                                     {3, 3, 2, 2, 2, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0},
                                     {3, 3, 2, 2, 2, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0},
                                     11};
/* docs/SIM-PLATFORM.md "Fixed development values" */
static const dcap_pck_tcb sim_pck = {{0x00, 0xc1, 0x0f, 0x00, 0x00, 0x00},
                                     {0, 0},
                                     {4, 4, 3, 3, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                                     {4, 4, 3, 3, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                                     13};

typedef struct {
    cloak_collateral *c;
    uint8_t qe[384];
    uint8_t td[TD15];
    size_t td_len;
} fixture;

static void fixture_init(fixture *f, const char *coll, const char *quote, size_t qe_off,
                         size_t td_off, size_t td_len)
{
    size_t len;
    uint8_t *q = slurp_vec(quote, &len);
    memset(f, 0, sizeof *f);
    f->c = load_vec(coll);
    assert_true(qe_off + 384 <= len && td_off + td_len <= len);
    memcpy(f->qe, q + qe_off, 384);
    if (td_len) memcpy(f->td, q + td_off, td_len);
    f->td_len = td_len;
    free(q);
}

static void eval_ok(const fixture *f, const dcap_pck_tcb *pck, dcap_tcb_result *r)
{
    cloak_error e = {0};
    memset(r, 0, sizeof *r);
    if (dcap_tcb_evaluate(f->c, f->td_len > 0, pck, f->qe, f->td_len ? f->td : NULL, f->td_len, r,
                          &e) != CLOAK_OK)
        fail_msg("evaluate: %s", e.msg);
}

static void eval_fails(const fixture *f, const dcap_pck_tcb *pck, const char *want)
{
    cloak_error e = {0};
    dcap_tcb_result r;
    memset(&r, 0xa5, sizeof r);
    dcap_tcb_result before = r;
    assert_int_equal(dcap_tcb_evaluate(f->c, f->td_len > 0, pck, f->qe, f->td_len ? f->td : NULL,
                                       f->td_len, &r, &e),
                     CLOAK_EVERIFY);
    if (!strstr(e.msg, want)) fail_msg("expected \"%s\" in: %s", want, e.msg);
    assert_memory_equal(&r, &before, sizeof r); /* out untouched on failure */
}

static void expect(dcap_tcb_result *r, cloak_tcb_status st, const char *const *adv, size_t nadv,
                   const char *date)
{
    assert_string_equal(cloak_tcb_status_name(r->status), cloak_tcb_status_name(st));
    assert_int_equal(json_array_size(r->advisory_ids), nadv);
    for (size_t i = 0; i < nadv; i++)
        assert_string_equal(json_string_value(json_array_get(r->advisory_ids, i)), adv[i]);
    if (date) assert_string_equal(r->tcb_date, date);
    dcap_tcb_result_clear(r);
    assert_null(r->advisory_ids);
    assert_int_equal(r->status, CLOAK_TCB_UNKNOWN);
}

/* ---- the MANIFEST results ---- */

static void test_sgx_quote_is_configuration_and_sw_hardening_needed(void **state)
{
    (void)state;
    fixture f;
    dcap_tcb_result r;
    static const char *const adv[] = {"INTEL-SA-00289", "INTEL-SA-00615"};
    fixture_init(&f, "dcap-qvl/sgx_quote_collateral", "dcap-qvl/sgx_quote.dat", V3_QE_REPORT, 0, 0);
    eval_ok(&f, &sgx_pck, &r);
    assert_int_equal(r.platform_status, CLOAK_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(r.qe_status, CLOAK_TCB_UP_TO_DATE);
    assert_int_equal(r.module_status, CLOAK_TCB_UP_TO_DATE);
    assert_int_equal(r.tcb_eval_number, 17);
    expect(&r, CLOAK_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, adv, 2, "2024-03-13T00:00:00Z");
    cloak_collateral_free(f.c);
    /* the dcap-qvl JSON file gives the same */
    fixture_init(&f, "dcap-qvl/sgx_quote_collateral.json", "dcap-qvl/sgx_quote.dat", V3_QE_REPORT,
                 0, 0);
    eval_ok(&f, &sgx_pck, &r);
    expect(&r, CLOAK_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, adv, 2, "2024-03-13T00:00:00Z");
    cloak_collateral_free(f.c);
}

static void test_tdx_quote_is_up_to_date(void **state)
{
    (void)state;
    fixture f;
    dcap_tcb_result r;
    fixture_init(&f, "dcap-qvl/tdx_quote_collateral", "dcap-qvl/tdx_quote.dat", V4_QE_REPORT,
                 V4_TD_BODY, TD10);
    eval_ok(&f, &tdx_pck, &r);
    assert_int_equal(r.module_status, CLOAK_TCB_UP_TO_DATE); /* TDX_01, module SVN 6 >= 4 */
    expect(&r, CLOAK_TCB_UP_TO_DATE, NULL, 0, "2024-03-13T00:00:00Z");
    cloak_collateral_free(f.c);
}

static void test_tdx_outdated_quote_has_no_tcb_level(void **state)
{
    (void)state;
    fixture f;
    dcap_tcb_result r;
    fixture_init(&f, "dcap-qvl/tdx_quote_outdated_collateral", "dcap-qvl/tdx_quote_outdated.dat",
                 V5_QE_REPORT, V5_TD_BODY, TD15);
    eval_fails(&f, &old_pck, "TCB level not supported");
    eval_fails(&f, &old_pck, "PCK component SVNs 0303020204010003");
    /* dcap-qvl verify_tcb_override.rs: only SGX comp #8 (3 < 5) is in the way */
    dcap_pck_tcb up = old_pck;
    up.comp_svn[7] = 5;
    eval_ok(&f, &up, &r);
    expect(&r, CLOAK_TCB_UP_TO_DATE, NULL, 0, "2024-11-13T00:00:00Z");
    cloak_collateral_free(f.c);
}

static void test_go_tdx_guest_spr_quote_has_no_tcb_level(void **state)
{
    (void)state;
    fixture f;
    dcap_tcb_result r;
    size_t len;
    uint8_t *q = slurp_vec("go-tdx-guest/tdx_prod_quote_SPR_E4.dat", &len);
    memset(&f, 0, sizeof f);
    f.c = from_pcs("go-tdx-guest/tcbinfo_tdx_50806f000000.json",
                   "go-tdx-guest/qe_identity_td_qe.json", "go-tdx-guest/root_ca_crl.der",
                   "go-tdx-guest/pck_platform_crl.der", "go-tdx-guest/tcb_signing_chain_2018.pem",
                   "go-tdx-guest/pck_platform_crl_issuer_chain.pem");
    memcpy(f.qe, q + V4_QE_REPORT, 384);
    memcpy(f.td, q + V4_TD_BODY, TD10);
    f.td_len = TD10;
    /* go-tdx-guest: "no matching TCB level found" (comp #1 3 < 5) */
    eval_fails(&f, &spr_pck, "TCB level not supported");
    /* raised to the level's SVNs (go-tdx-guest's tests lower the requirements instead) */
    dcap_pck_tcb up = spr_pck;
    static const uint8_t lvl[8] = {5, 5, 2, 2, 3, 1, 0, 3};
    memcpy(up.comp_svn, lvl, sizeof lvl);
    eval_fails(&f, &up, "TEE_TCB_SVN 03000400"); /* TEE_TCB_SVN[2] 4 < 5 */
    f.td[2] = 5;
    eval_ok(&f, &up, &r);
    expect(&r, CLOAK_TCB_UP_TO_DATE, NULL, 0, "2023-02-15T00:00:00Z");
    /* TDX module major 0: no module identity, and TEE_TCB_SVN[0] is compared (3 >= 3) */
    f.td[0] = 2;
    eval_fails(&f, &up, "TCB level not supported");
    cloak_collateral_free(f.c);
    free(q);
}

static void test_simulated_platform_is_up_to_date(void **state)
{
    (void)state;
    char *t = tmpdir_new();
    cloak_platform *p = NULL;
    cloak_error e = {0};
    if (cloak_platform_open(t, &p, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    uint8_t body[384] = {0}, *quote = NULL;
    size_t qlen = 0;
    if (cloak_platform_quote(p, body, &quote, &qlen, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    fixture f;
    dcap_tcb_result r;
    memset(&f, 0, sizeof f);
    if (cloak_collateral_load(cloak_platform_collateral_dir(p), &f.c, &e)) fail_msg("%s", e.msg);
    assert_true(qlen >= V3_QE_REPORT + 384);
    memcpy(f.qe, quote + V3_QE_REPORT, 384);
    eval_ok(&f, &sim_pck, &r);
    assert_int_equal(r.qe_status, CLOAK_TCB_UP_TO_DATE);
    expect(&r, CLOAK_TCB_UP_TO_DATE, NULL, 0, "2025-01-01T00:00:00Z");
    /* SIM-PLATFORM.md: the second level is every SVN and the PCESVN minus one, OutOfDate */
    dcap_pck_tcb older = sim_pck;
    for (int i = 0; i < 16; i++)
        if (older.comp_svn[i]) older.comp_svn[i]--;
    older.pce_svn--;
    static const char *const adv[] = {"INTEL-SA-00000"};
    eval_ok(&f, &older, &r);
    expect(&r, CLOAK_TCB_OUT_OF_DATE, adv, 1, "2024-01-01T00:00:00Z");
    older.pce_svn--;
    eval_fails(&f, &older, "TCB level not supported");
    /* the QE identity levels are isvsvn 8 (UpToDate) and 6 (OutOfDate) */
    f.qe[258] = 7;
    eval_ok(&f, &sim_pck, &r);
    assert_int_equal(r.qe_status, CLOAK_TCB_OUT_OF_DATE);
    expect(&r, CLOAK_TCB_OUT_OF_DATE, adv, 1, NULL);
    cloak_collateral_free(f.c);
    free(quote);
    cloak_platform_free(p);
    rm_rf(t);
}

/* ---- variations (expected values from the Python QVL re-implementation) ---- */

static void test_platform_level_walk_and_status_merge(void **state)
{
    (void)state;
    fixture f;
    dcap_tcb_result r;
    fixture_init(&f, "dcap-qvl/sgx_quote_collateral", "dcap-qvl/sgx_quote.dat", V3_QE_REPORT, 0, 0);
    dcap_pck_tcb p = sgx_pck;
    p.comp_svn[6] = 12; /* reaches the first level */
    static const char *const a615[] = {"INTEL-SA-00615"};
    eval_ok(&f, &p, &r);
    expect(&r, CLOAK_TCB_SW_HARDENING_NEEDED, a615, 1, "2024-03-13T00:00:00Z");
    p = sgx_pck;
    p.pce_svn = 10; /* only the 2020-11-11 levels with pcesvn 10 remain */
    static const char *const a10[] = {"INTEL-SA-00477", "INTEL-SA-00289", "INTEL-SA-00614",
                                      "INTEL-SA-00617", "INTEL-SA-00657", "INTEL-SA-00767",
                                      "INTEL-SA-00828", "INTEL-SA-00615"};
    eval_ok(&f, &p, &r);
    expect(&r, CLOAK_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, a10, 8, "2020-11-11T00:00:00Z");
    p.pce_svn = 4;
    eval_fails(&f, &p,
               "TCB level not supported: no tcbLevel of the TCB info for FMSPC 00a067110000");
    /* an OutOfDate QE (ISVSVN 6): ConfigurationAndSWHardeningNeeded becomes
     * OutOfDateConfigurationNeeded (QVL convergeTcbStatuses); advisories are the union */
    static const char *const adv[] = {"INTEL-SA-00289", "INTEL-SA-00615"};
    f.qe[258] = 6;
    eval_ok(&f, &sgx_pck, &r);
    assert_int_equal(r.platform_status, CLOAK_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(r.qe_status, CLOAK_TCB_OUT_OF_DATE);
    expect(&r, CLOAK_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, adv, 2, NULL);
    /* with the first platform level, an OutOfDate QE makes it OutOfDate */
    p = sgx_pck;
    p.comp_svn[6] = 12;
    eval_ok(&f, &p, &r);
    expect(&r, CLOAK_TCB_OUT_OF_DATE, a615, 1, NULL);
    f.qe[258] = 0;
    eval_fails(&f, &sgx_pck, "QE TCB level not supported: QE ISVSVN 0");
    cloak_collateral_free(f.c);
}

static void test_platform_identity_mismatches(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, "dcap-qvl/sgx_quote_collateral", "dcap-qvl/sgx_quote.dat", V3_QE_REPORT, 0, 0);
    dcap_pck_tcb p = sgx_pck;
    p.fmspc[5] = 1;
    eval_fails(&f, &p,
               "TCB info is for FMSPC 00a067110000, the PCK certificate's FMSPC is 00a067110001");
    p = sgx_pck;
    p.pce_id[1] = 1;
    eval_fails(&f, &p, "PCE-ID");
    cloak_error e = {0};
    dcap_tcb_result r = {0};
    assert_int_equal(dcap_tcb_evaluate(f.c, 1, &sgx_pck, f.qe, f.td, TD10, &r, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "collateral is for SGX"));
    assert_int_equal(dcap_tcb_evaluate(f.c, 1, &sgx_pck, f.qe, NULL, 0, &r, &e), CLOAK_EINVAL);
    assert_int_equal(dcap_tcb_evaluate(NULL, 0, &sgx_pck, f.qe, NULL, 0, &r, &e), CLOAK_EINVAL);
    cloak_collateral_free(f.c);
}

static void test_qe_report_must_match_qe_identity(void **state)
{
    (void)state;
    fixture f;
    dcap_tcb_result r;
    fixture_init(&f, "dcap-qvl/sgx_quote_collateral", "dcap-qvl/sgx_quote.dat", V3_QE_REPORT, 0, 0);
    uint8_t orig[384];
    memcpy(orig, f.qe, 384);
    f.qe[128 + 31] ^= 1;
    eval_fails(&f, &sgx_pck, "QE report MRSIGNER");
    memcpy(f.qe, orig, 384);
    f.qe[256] = 2;
    eval_fails(&f, &sgx_pck, "QE report ISVPRODID 2 is not the QE identity's isvprodid 1");
    memcpy(f.qe, orig, 384);
    f.qe[16] = 1;
    eval_fails(&f, &sgx_pck, "MISCSELECT 0x00000001");
    memcpy(f.qe, orig, 384);
    f.qe[48] |= 0x02; /* DEBUG, inside the mask FB */
    eval_fails(&f, &sgx_pck, "QE report ATTRIBUTES");
    memcpy(f.qe, orig, 384);
    f.qe[48] ^= 0x04; /* MODE64BIT, outside the mask: ignored */
    eval_ok(&f, &sgx_pck, &r);
    dcap_tcb_result_clear(&r);
    cloak_collateral_free(f.c);
}

static void test_tdx_module_identity(void **state)
{
    (void)state;
    fixture f;
    dcap_tcb_result r;
    fixture_init(&f, "dcap-qvl/tdx_quote_collateral", "dcap-qvl/tdx_quote.dat", V4_QE_REPORT,
                 V4_TD_BODY, TD10);
    uint8_t orig[TD10];
    memcpy(orig, f.td, TD10);
    f.td[0] = 3; /* TDX_01 levels: isvsvn 4 UpToDate, 2 OutOfDate */
    eval_ok(&f, &tdx_pck, &r);
    assert_int_equal(r.platform_status, CLOAK_TCB_UP_TO_DATE);
    assert_int_equal(r.module_status, CLOAK_TCB_OUT_OF_DATE);
    expect(&r, CLOAK_TCB_OUT_OF_DATE, NULL, 0, "2024-03-13T00:00:00Z");
    f.td[0] = 1;
    eval_fails(&f, &tdx_pck, "TCB level not supported: TDX module TDX_01 SVN 1");
    f.td[0] = 6;
    f.td[1] = 2;
    eval_fails(&f, &tdx_pck, "TDX module identity TDX_02 is not in the TCB info");
    f.td[1] = 0; /* TDX 1.0 numbering: tdxModule only, TEE_TCB_SVN compared from index 0 */
    eval_ok(&f, &tdx_pck, &r);
    expect(&r, CLOAK_TCB_UP_TO_DATE, NULL, 0, NULL);
    f.td[0] = 4; /* 4 < tdxtcbcomponents[0] 5 */
    eval_fails(&f, &tdx_pck, "TCB level not supported");
    memcpy(f.td, orig, TD10);
    f.td[64 + 47] = 1;
    eval_fails(&f, &tdx_pck, "TDX module mismatch: MRSIGNERSEAM");
    memcpy(f.td, orig, TD10);
    f.td[112] = 0x80;
    eval_fails(&f, &tdx_pck, "TDX module mismatch: SEAMATTRIBUTES");
    cloak_collateral_free(f.c);
}

static void test_tcb_info_v2_is_evaluated(void **state)
{
    (void)state;
    /* A TCB info v2 body (Intel PCS API v3 shape: sgxtcbcompNNsvn keys, no id); the signature is
     * not checked here, only parsing and evaluation. */
    json_t *lv = json_array();
    for (int k = 0; k < 2; k++) {
        json_t *tcb = json_object();
        for (int i = 0; i < 16; i++) {
            char key[24];
            snprintf(key, sizeof key, "sgxtcbcomp%02dsvn", i + 1);
            json_object_set_new(tcb, key, json_integer(sgx_pck.comp_svn[i] + (k == 0 && i == 0)));
        }
        json_object_set_new(tcb, "pcesvn", json_integer(13));
        json_array_append_new(lv, json_pack("{s:o,s:s,s:s}", "tcb", tcb, "tcbDate",
                                            k ? "2020-01-01T00:00:00Z" : "2021-01-01T00:00:00Z",
                                            "tcbStatus", k ? "SWHardeningNeeded" : "UpToDate"));
    }
    json_t *o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:i,s:i,s:o}", "version", 2, "issueDate",
                          "2020-01-01T00:00:00Z", "nextUpdate", "2020-02-01T00:00:00Z", "fmspc",
                          "00A067110000", "pceId", "0000", "tcbType", 0, "tcbEvaluationDataNumber",
                          5, "tcbLevels", lv);
    char *body = json_dumps(o, JSON_COMPACT);
    size_t ql;
    uint8_t *qe = slurp_vec("dcap-qvl/sgx_quote_collateral/qe_identity_body.json", &ql);
    dcap_tcb_info t;
    cloak_error e = {0};
    assert_int_equal(dcap_tcb_info_parse((const uint8_t *)body, strlen(body), "v2", &t, &e),
                     CLOAK_OK);
    assert_int_equal(t.version, 2);
    assert_false(t.is_tdx);
    assert_int_equal(t.nlevels, 2);
    assert_int_equal(t.levels[1].sgx[4], 255);
    dcap_tcb_info_free(&t);
    /* through a whole collateral (from parts; dcap-qvl chains and CRLs) */
    size_t rl, cl;
    uint8_t *crl = slurp_vec("dcap-qvl/sgx_quote_collateral/root_ca_crl.der", &rl);
    uint8_t *ch = slurp_vec("dcap-qvl/sgx_quote_collateral/tcb_signing_chain.pem", &cl);
    uint8_t sig[64] = {0};
    dcap_collateral_parts parts = {(const uint8_t *)body,
                                   strlen(body),
                                   sig,
                                   64,
                                   qe,
                                   ql,
                                   sig,
                                   64,
                                   crl,
                                   rl,
                                   crl,
                                   rl,
                                   ch,
                                   cl,
                                   ch,
                                   cl,
                                   ch,
                                   cl};
    fixture f;
    memset(&f, 0, sizeof f);
    if (dcap_collateral_from_parts(&parts, "v2", &f.c, &e)) fail_msg("%s", e.msg);
    size_t len;
    uint8_t *q = slurp_vec("dcap-qvl/sgx_quote.dat", &len);
    memcpy(f.qe, q + V3_QE_REPORT, 384);
    dcap_tcb_result r;
    eval_ok(&f, &sgx_pck, &r);
    expect(&r, CLOAK_TCB_SW_HARDENING_NEEDED, NULL, 0, "2020-01-01T00:00:00Z");
    cloak_collateral_free(f.c);
    free(q), free(crl), free(ch), free(qe), free(body);
    json_decref(o);
}

static void test_malformed_bodies_are_refused(void **state)
{
    (void)state;
    dcap_tcb_info t;
    dcap_qe_identity q;
    cloak_error e = {0};
    size_t len;
    uint8_t *b = slurp_vec("dcap-qvl/tdx_quote_collateral/tcb_info_body.json", &len);
    struct {
        const char *from, *to, *want;
    } cases[] = {
        {"\"version\":3", "\"version\":4", "version is 4"},
        {"\"tcbType\":0", "\"tcbType\":1", "tcbType is 1"},
        {"\"fmspc\":\"B0C06F000000\"", "\"fmspc\":\"B0C06F00000G\"", "fmspc"},
        {"\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"UpToDat3\"", "is not an Intel TCB status"},
        {"\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Unknown\"\x20",
         "is not an Intel TCB status"},
        {"\"issueDate\":\"2025-06-19T10:16:03Z\"", "\"issueDate\":\"2025-06-19 10:16:03Z\"",
         "not a UTC date"},
        {"{\"svn\":5,", "{\"svx\":5,", "tcbLevels[0].tcb.sgxtcbcomponents[7].svn is missing"},
        {"\"pcesvn\":11", "\"pcesvn\":-1", "pcesvn is -1"},
        {"\"id\":\"TDX\"", "\"id\":\"TDY\"", "neither SGX nor TDX"},
        {"\"tcbDate\"", "\"tcbDatf\"", "tcbDate is missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t *c = malloc(len + 8);
        memcpy(c, b, len);
        char *hit = memmem(c, len, cases[i].from, strlen(cases[i].from));
        assert_non_null(hit);
        size_t fl = strlen(cases[i].from), tl = strlen(cases[i].to);
        assert_true(tl >= fl && tl - fl <= 8);
        memmove(hit + tl, hit + fl, len - (size_t)(hit - (char *)c) - fl);
        memcpy(hit, cases[i].to, tl);
        assert_int_equal(dcap_tcb_info_parse(c, len + tl - fl, "body", &t, &e), CLOAK_EINVAL);
        if (!strstr(e.msg, cases[i].want)) fail_msg("case %zu: %s", i, e.msg);
        free(c);
    }
    /* duplicate keys would let a parser read other values than the signer meant */
    const char *dup = "{\"version\":3,\"version\":3}";
    assert_int_equal(dcap_tcb_info_parse((const uint8_t *)dup, strlen(dup), "dup", &t, &e),
                     CLOAK_EINVAL);
    free(b);
    b = slurp_vec("dcap-qvl/sgx_quote_collateral/qe_identity_body.json", &len);
    assert_int_equal(dcap_qe_identity_parse(b, len, "qe", &q, &e), CLOAK_OK);
    assert_int_equal(q.miscselect_mask, 0xffffffffu);
    assert_int_equal(q.attributes_mask[0], 0xfb);
    assert_int_equal(q.nlevels, 6);
    dcap_qe_identity_free(&q);
    assert_int_equal(dcap_qe_identity_parse(b, len - 1, "qe", &q, &e), CLOAK_EINVAL);
    free(b);
}

static void test_utc_dates(void **state)
{
    (void)state;
    time_t t;
    assert_int_equal(dcap_parse_utc("2025-07-19T10:01:17Z", &t), 0);
    assert_int_equal(t, 1752919277);
    assert_int_equal(dcap_parse_utc("2025-07-19T10:01:17.123Z", &t), 0);
    assert_int_equal(t, 1752919277);
    static const char *const bad[] = {"",
                                      "2025-07-19T10:01:17",
                                      "2025-07-19T10:01:17+00:00",
                                      "2025-13-19T10:01:17Z",
                                      "2025-07-19T24:01:17Z",
                                      "2025-07-19t10:01:17Z",
                                      "2025-07-19T10:01:17.Z",
                                      "2025-07-19T10:01:17Zx",
                                      "+025-07-19T10:01:17Z"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (dcap_parse_utc(bad[i], &t) == 0) fail_msg("accepted %s", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_quote_is_configuration_and_sw_hardening_needed),
        cmocka_unit_test(test_tdx_quote_is_up_to_date),
        cmocka_unit_test(test_tdx_outdated_quote_has_no_tcb_level),
        cmocka_unit_test(test_go_tdx_guest_spr_quote_has_no_tcb_level),
        cmocka_unit_test(test_simulated_platform_is_up_to_date),
        cmocka_unit_test(test_platform_level_walk_and_status_merge),
        cmocka_unit_test(test_platform_identity_mismatches),
        cmocka_unit_test(test_qe_report_must_match_qe_identity),
        cmocka_unit_test(test_tdx_module_identity),
        cmocka_unit_test(test_tcb_info_v2_is_evaluated),
        cmocka_unit_test(test_malformed_bodies_are_refused),
        cmocka_unit_test(test_utc_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
