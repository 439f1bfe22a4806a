/* Appraisal policy over claims: each refusal has its own reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cloak/evidence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *sgx_claims(void)
{
    json_error_t err;
    json_t *c = json_loads(
        "{\"tee\":\"sgx\",\"debug\":false,"
        "\"measurement\":\"a68b5dcadac9990ae7c8f852f51e18b1bbb8fd4f1e75af61f425f041663bec3b\","
        "\"mrenclave\":\"a68b5dcadac9990ae7c8f852f51e18b1bbb8fd4f1e75af61f425f041663bec3b\","
        "\"mrsigner\":\"2727951c9960660dac61be72c9b6251a306a72a285dfeeaa5ca8c0ec12dcff38\","
        "\"isv_prod_id\":1,\"isv_svn\":3,\"tcb_status\":\"SWHardeningNeeded\","
        "\"report_data\":\"00ff000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000\"}",
        0, &err);
    assert_non_null(c);
    return c;
}

static void expect(const json_t *c, const cloak_policy *p, cloak_err code, const char *words)
{
    cloak_error why = {0};
    cloak_err rc = cloak_claims_check(c, p, &why);
    assert_int_equal(rc, code);
    if (words) {
        if (!strstr(why.msg, words)) fprintf(stderr, "message: %s\n", why.msg);
        assert_non_null(strstr(why.msg, words));
    }
}

static void test_default_policy_accepts_production_hardware(void **state)
{
    json_t *c = sgx_claims();
    cloak_policy p;
    cloak_policy_init(&p);
    expect(c, &p, CLOAK_OK, NULL);
    json_decref(c);
}

static void test_each_refusal_has_its_reason(void **state)
{
    json_t *c = sgx_claims();
    cloak_policy p;
    uint8_t rd[2] = {0x00, 0xff}, wrong[2] = {0x00, 0xfe}, m[32];

    cloak_policy_init(&p);
    p.report_data = rd;
    p.report_data_len = 2;
    expect(c, &p, CLOAK_OK, NULL);
    p.report_data = wrong;
    expect(c, &p, CLOAK_EVERIFY, "report data does not match");

    cloak_policy_init(&p);
    memset(m, 0x11, sizeof m);
    p.measurement = m;
    p.measurement_len = 32;
    expect(c, &p, CLOAK_EVERIFY, "measurement does not match");

    cloak_policy_init(&p);
    p.signer = m;
    p.signer_len = 32;
    expect(c, &p, CLOAK_EVERIFY, "mrsigner does not match");

    cloak_policy_init(&p);
    p.product_id = 2;
    expect(c, &p, CLOAK_EVERIFY, "product id 1");

    cloak_policy_init(&p);
    p.min_svn = 4;
    expect(c, &p, CLOAK_EVERIFY, "below the policy's minimum 4");
    p.min_svn = 3;
    expect(c, &p, CLOAK_OK, NULL);

    cloak_policy_init(&p);
    p.max_tcb_status = CLOAK_TCB_UP_TO_DATE;
    expect(c, &p, CLOAK_EVERIFY, "SWHardeningNeeded is worse");
    p.max_tcb_status = CLOAK_TCB_SW_HARDENING_NEEDED;
    expect(c, &p, CLOAK_OK, NULL);
    json_object_set_new(c, "collateral_scope", json_string("tcb-info-only"));
    expect(c, &p, CLOAK_EVERIFY, "TCB info alone");
    p.allow_tcb_info_only = 1;
    expect(c, &p, CLOAK_OK, NULL);
    json_object_del(c, "collateral_scope");

    json_object_set_new(c, "debug", json_true());
    cloak_policy_init(&p);
    expect(c, &p, CLOAK_EPERM, "debug sgx");
    p.allow_debug = 1;
    expect(c, &p, CLOAK_OK, NULL);

    json_object_set_new(c, "x-cloak-sim", json_true());
    expect(c, &p, CLOAK_EPERM, "simulated evidence");
    p.allow_sim = 1;
    expect(c, &p, CLOAK_OK, NULL);

    /* a claim set without a debug claim is treated as debug: absence never loosens a policy */
    json_object_del(c, "debug");
    p.allow_debug = 0;
    expect(c, &p, CLOAK_EPERM, "debug");
    json_decref(c);
}

static void test_tcb_status_names_round_trip(void **state)
{
    for (int s = CLOAK_TCB_UP_TO_DATE; s <= CLOAK_TCB_UNKNOWN; s++)
        assert_int_equal(cloak_tcb_status_parse(cloak_tcb_status_name((cloak_tcb_status)s)), s);
    assert_int_equal(cloak_tcb_status_parse("ConfigurationAndSWHardeningNeeded"),
                     CLOAK_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED);
    assert_int_equal(cloak_tcb_status_parse("Bogus"), -1);
}

/* The FMSPC used to pick collateral: MANIFEST says 00A067110000 for dcap-qvl's SGX sample. */
static void test_fmspc_before_verification(void **state)
{
    char path[1024];
    uint8_t *q, *r, fm[6];
    size_t ql, rl;
    cloak_error why;
    snprintf(path, sizeof path, "%s/vectors/attestation/dcap-qvl/sgx_quote.dat",
             getenv("CLOAK_SHARED_DIR"));
    assert_int_equal(cloak_file_read(path, &q, &ql, &why), CLOAK_OK);
    assert_int_equal(cloak_evidence_fmspc(NULL, q, ql, fm, &why), CLOAK_OK);
    const uint8_t want[6] = {0x00, 0xa0, 0x67, 0x11, 0x00, 0x00};
    assert_memory_equal(fm, want, 6);
    /* the same through a trust whose chain cache holds the verified chain */
    cloak_trust *t;
    assert_int_equal(cloak_trust_new(0, NULL, &t, &why), CLOAK_OK);
    cloak_verify_opts o = {.trust = t, .at = 1752919277};
    json_t *c;
    assert_int_equal(cloak_evidence_verify(q, ql, &o, &c, &why), CLOAK_OK);
    json_decref(c);
    memset(fm, 0, 6);
    assert_int_equal(cloak_evidence_fmspc(t, q, ql, fm, &why), CLOAK_OK);
    assert_memory_equal(fm, want, 6);
    snprintf(path, sizeof path, "%s/vectors/attestation/go-sev-guest/attestation_milan_v2.bin",
             getenv("CLOAK_SHARED_DIR"));
    assert_int_equal(cloak_file_read(path, &r, &rl, &why), CLOAK_OK);
    assert_int_equal(cloak_evidence_fmspc(t, r, rl, fm, &why), CLOAK_EINVAL);
    cloak_trust_free(t);
    free(q);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_policy_accepts_production_hardware),
        cmocka_unit_test(test_each_refusal_has_its_reason),
        cmocka_unit_test(test_tcb_status_names_round_trip),
        cmocka_unit_test(test_fmspc_before_verification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
