/* MAA policy 1.0/1.1: the documented examples and their documented outcomes.
 * Expectations come from MicrosoftDocs/azure-docs articles/attestation/ pages (cited per test). */
#include "maa_test_util.h"

#define SGX_CLAIMS                                                                                 \
    "[{\"type\":\"x-ms-sgx-is-debuggable\",\"value\":false,\"issuer\":\"AttestationService\"},"    \
    "{\"type\":\"x-ms-sgx-mrsigner\",\"value\":\"c0ffee\",\"issuer\":\"AttestationService\"},"     \
    "{\"type\":\"x-ms-sgx-mrenclave\",\"value\":\"e1e1\",\"issuer\":\"AttestationService\"},"      \
    "{\"type\":\"x-ms-sgx-product-id\",\"value\":7,\"issuer\":\"AttestationService\"},"            \
    "{\"type\":\"x-ms-sgx-svn\",\"value\":3,\"issuer\":\"AttestationService\"},"                   \
    "{\"type\":\"x-ms-attestation-type\",\"value\":\"sgx\",\"issuer\":\"AttestationService\"}]"

/* policy-examples.md, "Sample custom policy for an SGX enclave", placeholders filled in. */
static const char sgx_custom[] =
    "version= 1.0;\n"
    "authorizationrules\n"
    "{\n"
    "       [ type==\"x-ms-sgx-is-debuggable\", value==false ]\n"
    "        && [ type==\"x-ms-sgx-product-id\", value==7 ]\n"
    "        && [ type==\"x-ms-sgx-svn\", value>= 0 ]\n"
    "        && [ type==\"x-ms-sgx-mrsigner\", value==\"c0ffee\"]\n"
    "    => permit();\n"
    "};\n"
    "issuancerules {\n"
    "c:[type==\"x-ms-sgx-mrsigner\"] => issue(type=\"custom-signer\", value=c.value);\n"
    "};\n";

static void test_default_sgx_policy_issues_legacy_claims(void **state)
{
    (void)state;
    const char *text = maa_default_policy("SgxEnclave");
    assert_non_null(text);
    maa_result r = eval_ok(text, SGX_CLAIMS);
    assert_true(r.permitted);
    /* policy-examples.md "Default policy for an SGX enclave": the legacy names. */
    assert_true(json_is_false(issued_value(&r, "is-debuggable")));
    assert_string_equal(json_string_value(issued_value(&r, "sgx-mrsigner")), "c0ffee");
    assert_string_equal(json_string_value(issued_value(&r, "sgx-mrenclave")), "e1e1");
    assert_int_equal(json_integer_value(issued_value(&r, "product-id")), 7);
    assert_int_equal(json_integer_value(issued_value(&r, "svn")), 3);
    assert_string_equal(json_string_value(issued_value(&r, "tee")), "sgx");
    assert_int_equal(json_array_size(r.issued), 6);
    json_t *c = issued(&r, "svn", 0);
    assert_string_equal(json_string_value(json_object_get(c, "issuer")), "AttestationPolicy");
    assert_string_equal(json_string_value(json_object_get(c, "valueType")), "Integer");
    assert_string_equal(json_string_value(json_object_get(r.config, "x-ms-sgx-tcbidentifier")),
                        "azuredefault");
    maa_result_free(&r);
}

static void test_legacy_default_sgx_policy_uses_dollar_claims(void **state)
{
    (void)state;
    const char *text = maa_default_policy("SgxEnclave-legacy");
    assert_non_null(text);
    maa_result r = eval_ok(
        text, "[{\"type\":\"$is-debuggable\",\"value\":true},"
              "{\"type\":\"$sgx-mrsigner\",\"value\":\"ab\"},{\"type\":\"$svn\",\"value\":1}]");
    assert_true(r.permitted);
    assert_true(json_is_true(issued_value(&r, "is-debuggable")));
    assert_string_equal(json_string_value(issued_value(&r, "sgx-mrsigner")), "ab");
    assert_int_equal(json_array_size(r.issued), 3);
    maa_result_free(&r);
    /* Without $is-debuggable no permit rule fires: denied, nothing issued. */
    r = eval_ok(text, "[{\"type\":\"$svn\",\"value\":1}]");
    assert_false(r.permitted);
    assert_int_equal(json_array_size(r.issued), 0);
    maa_result_free(&r);
}

static void test_undocumented_defaults_are_null(void **state)
{
    (void)state;
    assert_null(maa_default_policy("OpenEnclave"));
    assert_null(maa_default_policy("SevSnpVm"));
    assert_null(maa_default_policy("TdxVm"));
    assert_null(maa_default_policy("Tpm"));
}

static void test_custom_sgx_policy_permits_matching_enclave(void **state)
{
    (void)state;
    maa_result r = eval_ok(sgx_custom, SGX_CLAIMS);
    assert_true(r.permitted);
    assert_string_equal(json_string_value(issued_value(&r, "custom-signer")), "c0ffee");
    maa_result_free(&r);
}

static void test_custom_sgx_policy_denies_debuggable_enclave(void **state)
{
    (void)state;
    maa_result r = eval_ok(
        sgx_custom,
        "[{\"type\":\"x-ms-sgx-is-debuggable\",\"value\":true},"
        "{\"type\":\"x-ms-sgx-product-id\",\"value\":7},{\"type\":\"x-ms-sgx-svn\",\"value\":3},"
        "{\"type\":\"x-ms-sgx-mrsigner\",\"value\":\"c0ffee\"}]");
    assert_false(r.permitted);
    assert_int_equal(json_array_size(r.issued), 0); /* denied: issuancerules do not run */
    maa_result_free(&r);
}

static void test_custom_sgx_policy_denies_wrong_product(void **state)
{
    (void)state;
    maa_result r = eval_ok(
        sgx_custom,
        "[{\"type\":\"x-ms-sgx-is-debuggable\",\"value\":false},"
        "{\"type\":\"x-ms-sgx-product-id\",\"value\":8},{\"type\":\"x-ms-sgx-svn\",\"value\":3},"
        "{\"type\":\"x-ms-sgx-mrsigner\",\"value\":\"c0ffee\"}]");
    assert_false(r.permitted);
    maa_result_free(&r);
}

/* policy-examples.md "Sample custom policy to support multiple SGX enclaves". */
static void test_multiple_enclaves_policy_permits_either_signer(void **state)
{
    (void)state;
    static const char pol[] =
        "version= 1.0;\n"
        "authorizationrules \n"
        "{\n"
        "\t[ type==\"x-ms-sgx-is-debuggable\", value==true ]&&\n"
        "\t[ type==\"x-ms-sgx-mrsigner\", value==\"mrsigner1\"] => permit(); \n"
        "\t[ type==\"x-ms-sgx-is-debuggable\", value==true ]&& \n"
        "\t[ type==\"x-ms-sgx-mrsigner\", value==\"mrsigner2\"] => permit(); \n"
        "};\n";
    maa_result r = eval_ok(pol, "[{\"type\":\"x-ms-sgx-is-debuggable\",\"value\":true},"
                                "{\"type\":\"x-ms-sgx-mrsigner\",\"value\":\"mrsigner2\"}]");
    assert_true(r.permitted);
    maa_result_free(&r);
    r = eval_ok(pol, "[{\"type\":\"x-ms-sgx-is-debuggable\",\"value\":true},"
                     "{\"type\":\"x-ms-sgx-mrsigner\",\"value\":\"mrsigner3\"}]");
    assert_false(r.permitted);
    maa_result_free(&r);
}

/* policy-examples.md, signed SGX policy (payload decoded): deny() before an unconditional
 * permit(); the first decision wins. */
static const char deny_then_permit[] =
    "version=1.0;authorizationrules {c:[type==\"$is-debuggable\"] && [value==true] => deny();=> "
    "permit();};"
    "issuancerules {    c:[type==\"$is-debuggable\"] => issue(type=\"NotDebuggable\", "
    "value=c.value);    "
    "c:[type==\"$tee\"] => issue(type=\"tee\", value=c.value);};";

static void test_first_decision_wins_deny(void **state)
{
    (void)state;
    maa_result r = eval_ok(deny_then_permit, "[{\"type\":\"$is-debuggable\",\"value\":true}]");
    assert_false(r.permitted);
    assert_int_equal(json_array_size(r.issued), 0);
    maa_result_free(&r);
}

static void test_first_decision_wins_permit(void **state)
{
    (void)state;
    maa_result r = eval_ok(
        deny_then_permit,
        "[{\"type\":\"$is-debuggable\",\"value\":false},{\"type\":\"$tee\",\"value\":\"sgx\"}]");
    assert_true(r.permitted);
    assert_true(json_is_false(issued_value(&r, "NotDebuggable")));
    assert_string_equal(json_string_value(issued_value(&r, "tee")), "sgx");
    maa_result_free(&r);
}

/* author-sign-policy.md "Drafting the policy file" steps 3-5. */
static void test_drafting_steps(void **state)
{
    (void)state;
    maa_result r = eval_ok(
        "version=1.0;\nauthorizationrules\n{\n=>deny();\n};\n\nissuancerules\n{\n};\n",
        "[{\"type\":\"secureBootEnabled\",\"value\":true,\"issuer\":\"AttestationService\"}]");
    assert_false(r.permitted);
    maa_result_free(&r);
    static const char step5[] =
        "version=1.0;\nauthorizationrules\n{\n"
        "[type==\"secureBootEnabled\", value==true, "
        "issuer==\"AttestationService\"]=>permit();\n};\n\n"
        "issuancerules\n{\n=> issue(type=\"SecurityLevelValue\", value=100);\n};\n";
    r = eval_ok(
        step5,
        "[{\"type\":\"secureBootEnabled\",\"value\":true,\"issuer\":\"AttestationService\"}]");
    assert_true(r.permitted);
    /* "[type="SecurityLevelValue", value=100, valueType="Integer", issuer="AttestationPolicy"]" */
    json_t *c = issued(&r, "SecurityLevelValue", 0);
    assert_non_null(c);
    assert_int_equal(json_integer_value(json_object_get(c, "value")), 100);
    assert_string_equal(json_string_value(json_object_get(c, "valueType")), "Integer");
    assert_string_equal(json_string_value(json_object_get(c, "issuer")), "AttestationPolicy");
    maa_result_free(&r);
    /* Same claim but from the client (issuer defaults to CustomClaim): no permit. */
    r = eval_ok(step5, "[{\"type\":\"secureBootEnabled\",\"value\":true}]");
    assert_false(r.permitted);
    maa_result_free(&r);
}

/* claim-rule-grammar.md, both F1 examples (typographic quotes straightened). */
static void test_grammar_examples_issueproperty_and_issue_claim(void **state)
{
    (void)state;
    static const char pol[] =
        "version=1.0;\nauthorizationrules { => permit(); };\nissuancerules {\n"
        "F1:[type==\"OSName\" , issuer==\"CustomClaim\"] && \n"
        "[type==\"OSName\" , issuer==\"AttestationService\", value== F1.value ] \n"
        "=> issueproperty(type=\"report_validity_in_minutes\", value=1440);\n\n"
        "F1:[type==\"OSName\" , issuer==\"CustomClaim\"] && \n"
        "C2:[type==\"OSName\" , issuer==\"AttestationService\", value== F1.value ] \n"
        "=> issue(claim = C2);\n};\n";
    maa_result r = eval_ok(
        pol, "[{\"type\":\"OSName\",\"value\":\"Windows\",\"issuer\":\"CustomClaim\"},"
             "{\"type\":\"OSName\",\"value\":\"Windows\",\"issuer\":\"AttestationService\"},"
             "{\"type\":\"OSName\",\"value\":\"Linux\",\"issuer\":\"AttestationService\"}]");
    assert_int_equal(
        json_integer_value(json_object_get(r.properties, "report_validity_in_minutes")), 1440);
    assert_int_equal(count_issued(&r, "OSName"), 1);
    json_t *c = issued(&r, "OSName", 0);
    assert_string_equal(json_string_value(json_object_get(c, "value")), "Windows");
    assert_string_equal(json_string_value(json_object_get(c, "issuer")),
                        "AttestationService"); /* claim kept as is */
    maa_result_free(&r);
    /* Values differ: neither rule fires. */
    r = eval_ok(pol,
                "[{\"type\":\"OSName\",\"value\":\"Windows\",\"issuer\":\"CustomClaim\"},"
                "{\"type\":\"OSName\",\"value\":\"Linux\",\"issuer\":\"AttestationService\"}]");
    assert_int_equal(json_object_size(r.properties), 0);
    assert_int_equal(json_array_size(r.issued), 0);
    maa_result_free(&r);
}

/* claim-rule-grammar.md action table: add() feeds later rules but is not issued. */
static void test_add_in_authorization_feeds_issuance_only(void **state)
{
    (void)state;
    static const char pol[] =
        "version=1.0;\nauthorizationrules {\n"
        "  c:[type==\"x-ms-sgx-svn\", value >= 3] => add(type=\"svn-ok\", value=true);\n"
        "  [type==\"svn-ok\", issuer==\"AttestationPolicy\"] => permit();\n};\n"
        "issuancerules {\n  c:[type==\"svn-ok\"] => issue(type=\"svn-checked\", "
        "value=c.value);\n};\n";
    maa_result r = eval_ok(pol, SGX_CLAIMS);
    assert_true(r.permitted);
    assert_null(issued(&r, "svn-ok", 0));
    assert_true(json_is_true(issued_value(&r, "svn-checked")));
    maa_result_free(&r);
    r = eval_ok(pol, "[{\"type\":\"x-ms-sgx-svn\",\"value\":2}]");
    assert_false(r.permitted);
    maa_result_free(&r);
}

static int permits(const char *cond, const char *claims)
{
    char pol[512];
    snprintf(pol, sizeof pol, "version=1.0; authorizationrules { %s => permit(); };", cond);
    maa_result r = eval_ok(pol, claims);
    int p = r.permitted;
    maa_result_free(&r);
    return p;
}

/* claim-rule-grammar.md operator table. */
static void test_integer_comparisons(void **state)
{
    (void)state;
    const char *svn5 = "[{\"type\":\"svn\",\"value\":5}]";
    assert_true(permits("[type==\"svn\", value==5]", svn5));
    assert_false(permits("[type==\"svn\", value!=5]", svn5));
    assert_true(permits("[type==\"svn\", value!=4]", svn5));
    assert_true(permits("[type==\"svn\", value<6]", svn5));
    assert_false(permits("[type==\"svn\", value<5]", svn5));
    assert_true(permits("[type==\"svn\", value<=5]", svn5));
    assert_false(permits("[type==\"svn\", value<=4]", svn5));
    assert_true(permits("[type==\"svn\", value>4]", svn5));
    assert_false(permits("[type==\"svn\", value>5]", svn5));
    assert_true(permits("[type==\"svn\", value>=5]", svn5));
    assert_false(permits("[type==\"svn\", value>=6]", svn5));
    assert_true(permits("[type==\"svn\", value>=-1]", svn5));
    /* An integer never equals a string or boolean; ordering a string claim is false. */
    assert_false(permits("[type==\"svn\", value==\"5\"]", svn5));
    assert_false(permits("[type==\"svn\", value>=0]", "[{\"type\":\"svn\",\"value\":\"5\"}]"));
}

static void test_string_and_boolean_comparisons(void **state)
{
    (void)state;
    const char *c = "[{\"type\":\"a\",\"value\":\"Abc\"},{\"type\":\"b\",\"value\":true}]";
    assert_true(permits("[type==\"a\", value==\"Abc\"]", c));
    assert_false(permits("[type==\"a\", value==\"abc\"]", c)); /* strings are case-sensitive */
    assert_true(permits("[type==\"a\", value!=\"abc\"]", c));
    assert_true(permits("[type==\"b\", value==true]", c));
    assert_false(permits("[type==\"b\", value!=true]", c));
    assert_true(permits("[type==\"b\", valueType==\"Boolean\"]", c));
    assert_true(permits("[type!=\"zzz\"]", c));
    assert_true(permits("[type==\"a\"] && [type==\"b\"]", c));
    assert_false(permits("[type==\"a\"] && [type==\"c\"]", c));
    /* One claim must satisfy every test of a condition. */
    assert_false(permits("[type==\"a\", value==true]", c));
}

/* policy-version-1-1.md "Sample policies": configuration settings and two issuance rules. */
static void test_tpm_v11_configuration_rules(void **state)
{
    (void)state;
    static const char pol[] =
        "version=1.1;\n\nconfigurationrules{\n"
        "=> issueproperty(type = \"required_pcr_mask\", value = 15);\n"
        "=> issueproperty(type = \"require_valid_aik_cert\", value = false);\n};\n\n"
        "authorizationrules { \n    => permit();\n};\n\n\nissuancerules\n{\n"
        "[type==\"aikValidated\", value==true]&& \n[type==\"secureBootEnabled\", value==true] &&\n"
        "[type==\"bootDebuggingDisabled\", value==true] && \n"
        "[type==\"notSafeMode\", value==true] => issue(type=\"PlatformAttested\", value=true);\n\n"
        "[type==\"aikValidated\", value==false]&& \n[type==\"secureBootEnabled\", value==true] &&\n"
        "[type==\"bootDebuggingDisabled\", value==true] && \n"
        "[type==\"notSafeMode\", value==true] => issue(type=\"PlatformAttested\", "
        "value=false);\n};\n";
    maa_result r = eval_ok(pol, "[{\"type\":\"aikValidated\",\"value\":false},{\"type\":"
                                "\"secureBootEnabled\",\"value\":true},"
                                "{\"type\":\"bootDebuggingDisabled\",\"value\":true},{\"type\":"
                                "\"notSafeMode\",\"value\":true}]");
    assert_true(r.permitted);
    assert_int_equal(json_integer_value(json_object_get(r.config, "required_pcr_mask")), 15);
    assert_true(json_is_false(json_object_get(r.config, "require_valid_aik_cert")));
    assert_int_equal(json_object_size(r.properties), 0);
    assert_int_equal(count_issued(&r, "PlatformAttested"), 1);
    assert_true(json_is_false(issued_value(&r, "PlatformAttested")));
    maa_result_free(&r);
}

/* policy-version-1-0.md TPM sample; TPM 1.0 sample from tpm-attestation-sample-policies.md. */
static void test_tpm_v10_sample(void **state)
{
    (void)state;
    static const char pol[] =
        "version=1.0;\n\nauthorizationrules { \n    => permit();\n};\n\n\nissuancerules\n{\n"
        "[type==\"aikValidated\", value==true]&& \n[type==\"secureBootEnabled\", value==true] &&\n"
        "[type==\"bootDebuggingDisabled\", value==true] && \n"
        "[type==\"notSafeMode\", value==true] => issue(type=\"PlatformAttested\", "
        "value=true);\n};\n";
    maa_result r = eval_ok(pol, "[{\"type\":\"aikValidated\",\"value\":true},{\"type\":"
                                "\"secureBootEnabled\",\"value\":true},"
                                "{\"type\":\"bootDebuggingDisabled\",\"value\":true},{\"type\":"
                                "\"notSafeMode\",\"value\":true}]");
    assert_true(json_is_true(issued_value(&r, "PlatformAttested")));
    maa_result_free(&r);
    r = eval_ok(pol, "[{\"type\":\"aikValidated\",\"value\":true}]");
    assert_true(r.permitted);
    assert_int_equal(json_array_size(r.issued), 0);
    maa_result_free(&r);
}

static void test_comments_and_case_insensitive_keywords(void **state)
{
    (void)state;
    static const char pol[] = "// leading comment\nVersion= 1.0; /* block\ncomment "
                              "*/\nAuthorizationRules { => Permit(); // why\n};\n"
                              "IssuanceRules { => Issue(Type=\"x\", Value=TRUE); };\n";
    maa_result r = eval_ok(pol, "[]");
    assert_true(r.permitted);
    assert_true(json_is_true(issued_value(&r, "x")));
    maa_result_free(&r);
}

static void test_multiple_matches_issue_one_claim_each(void **state)
{
    (void)state;
    maa_result r = eval_ok(
        "version=1.0; authorizationrules { => permit(); };"
        "issuancerules { c:[type==\"k\"] => issue(type=\"out\", value=c.value); };",
        "[{\"type\":\"k\",\"value\":1},{\"type\":\"k\",\"value\":2},{\"type\":\"j\",\"value\":3}]");
    assert_int_equal(count_issued(&r, "out"), 2);
    maa_result_free(&r);
}

static void test_malformed_claims_are_refused(void **state)
{
    (void)state;
    maa_policy *p = parse_ok("version=1.0; authorizationrules { => permit(); };");
    const char *bad[] = {"{}", "[1]", "[{\"value\":1}]", "[{\"type\":\"a\"}]",
                         "[{\"type\":\"a\",\"value\":1,\"issuer\":5}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *c = load(bad[i]);
        maa_result r = {.permitted = 42};
        cloak_error why = {0};
        assert_int_equal(maa_policy_eval(p, c, &r, &why), CLOAK_EINVAL);
        assert_int_equal(r.permitted, 42); /* untouched */
        assert_null(r.issued);
        json_decref(c);
    }
    maa_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_sgx_policy_issues_legacy_claims),
        cmocka_unit_test(test_legacy_default_sgx_policy_uses_dollar_claims),
        cmocka_unit_test(test_undocumented_defaults_are_null),
        cmocka_unit_test(test_custom_sgx_policy_permits_matching_enclave),
        cmocka_unit_test(test_custom_sgx_policy_denies_debuggable_enclave),
        cmocka_unit_test(test_custom_sgx_policy_denies_wrong_product),
        cmocka_unit_test(test_multiple_enclaves_policy_permits_either_signer),
        cmocka_unit_test(test_first_decision_wins_deny),
        cmocka_unit_test(test_first_decision_wins_permit),
        cmocka_unit_test(test_drafting_steps),
        cmocka_unit_test(test_grammar_examples_issueproperty_and_issue_claim),
        cmocka_unit_test(test_add_in_authorization_feeds_issuance_only),
        cmocka_unit_test(test_integer_comparisons),
        cmocka_unit_test(test_string_and_boolean_comparisons),
        cmocka_unit_test(test_tpm_v11_configuration_rules),
        cmocka_unit_test(test_tpm_v10_sample),
        cmocka_unit_test(test_comments_and_case_insensitive_keywords),
        cmocka_unit_test(test_multiple_matches_issue_one_claim_each),
        cmocka_unit_test(test_malformed_claims_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
