/* MAA policy 1.2: functions, the '!' operator and the JMESPath subset. Expected outcomes are
 * the ones claim-rule-functions.md and policy-version-1-2.md give for their examples. */
#include "maa_test_util.h"

#define V12(issuance)                                                                              \
    "version=1.2;\nauthorizationrules { => permit(); };\nissuancerules {\n" issuance "\n};\n"

static void test_jmespath_literal_arguments(void **state)
{
    (void)state;
    /* "=>add(type="JmesPathResult", value=JmesPath("{\"foo\": \"bar\"}", "foo"));" -> "bar" */
    maa_result r =
        eval_ok(V12("=>add(type=\"JmesPathResult\", value=JmesPath(\"{\\\"foo\\\": \\\"bar\\\"}\", "
                    "\"foo\"));\n"
                    "c:[type==\"JmesPathResult\"] => issue(type=\"raw\", value=c.value);\n"
                    "c:[type==\"JmesPathResult\"] => issue(type=\"decoded\", "
                    "value=JsonToClaimValue(c.value));"),
                "[]");
    /* The function returns JSON text; JsonToClaimValue turns it into the claim value. */
    assert_string_equal(json_string_value(issued_value(&r, "raw")), "\"bar\"");
    assert_string_equal(json_string_value(issued_value(&r, "decoded")), "bar");
    maa_result_free(&r);
}

static void test_jmespath_arguments_from_claims(void **state)
{
    (void)state;
    maa_result r =
        eval_ok(V12("c1:[type==\"JsonData\"] && c2:[type==\"JmesPathQuery\"] =>\n"
                    "issue(type=\"JmesPathResult\", value=JmesPath(c1.value, c2.value));"),
                "[{\"type\":\"JsonData\",\"value\":\"{\\\"values\\\": [0,1,2,3,4]}\"},"
                "{\"type\":\"JmesPathQuery\",\"value\":\"values[2]\"}]");
    assert_string_equal(json_string_value(issued_value(&r, "JmesPathResult")), "2");
    maa_result_free(&r);
}

static void test_json_to_claim_value_scalars(void **state)
{
    (void)state;
    maa_result r = eval_ok(V12("c:[type==\"JsonIntegerData\"] => issue(type=\"IntegerResult\", "
                               "value=JsonToClaimValue(c.value));\n"
                               "c:[type==\"JsonBooleanData\"] => issue(type=\"BooleanResult\", "
                               "value=JsonToClaimValue(c.value));\n"
                               "c:[type==\"JsonStringData\"] => issue(type=\"StringResult\", "
                               "value=JsonToClaimValue(c.value));"),
                           "[{\"type\":\"JsonIntegerData\",\"value\":\"100\"},{\"type\":"
                           "\"JsonBooleanData\",\"value\":\"true\"},"
                           "{\"type\":\"JsonStringData\",\"value\":\"\\\"abc\\\"\"}]");
    assert_int_equal(json_integer_value(issued_value(&r, "IntegerResult")), 100);
    assert_true(json_is_true(issued_value(&r, "BooleanResult")));
    assert_string_equal(json_string_value(issued_value(&r, "StringResult")), "abc");
    assert_string_equal(
        json_string_value(json_object_get(issued(&r, "IntegerResult", 0), "valueType")), "Integer");
    maa_result_free(&r);
}

static void test_json_to_claim_value_array_and_null(void **state)
{
    (void)state;
    maa_result r = eval_ok(
        V12("c:[type==\"JsonData\"] => issue(type=\"Result\", value=JsonToClaimValue(c.value));"),
        "[{\"type\":\"JsonData\",\"value\":\"[0, \\\"abc\\\", true]\"}]");
    assert_int_equal(count_issued(&r, "Result"), 3); /* one claim per array entry */
    assert_int_equal(json_integer_value(json_object_get(issued(&r, "Result", 0), "value")), 0);
    assert_string_equal(json_string_value(json_object_get(issued(&r, "Result", 1), "value")),
                        "abc");
    assert_true(json_is_true(json_object_get(issued(&r, "Result", 2), "value")));
    maa_result_free(&r);
    r = eval_ok(
        V12("c:[type==\"JsonData\"] => issue(type=\"Result\", value=JsonToClaimValue(c.value));"),
        "[{\"type\":\"JsonData\",\"value\":\"null\"}]");
    assert_int_equal(json_array_size(r.issued), 0); /* an empty claim is a no-op */
    maa_result_free(&r);
}

static void test_json_to_claim_value_rejects_objects_and_fractions(void **state)
{
    (void)state;
    const char *bad[] = {"{\\\"a\\\":1}", "1.5", "[[1]]", "not json"};
    maa_policy *p =
        parse_ok(V12("c:[type==\"J\"] => issue(type=\"R\", value=JsonToClaimValue(c.value));"));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "[{\"type\":\"J\",\"value\":\"%s\"}]", bad[i]);
        json_t *c = load(buf);
        maa_result r = {0};
        cloak_error why = {0};
        assert_int_equal(maa_policy_eval(p, c, &r, &why), CLOAK_EINVAL);
        assert_non_null(strstr(why.msg, "JsonToClaimValue"));
        assert_non_null(strstr(why.msg, "line 4"));
        assert_null(r.issued);
        json_decref(c);
    }
    maa_policy_free(p);
}

static void test_is_subset_of(void **state)
{
    (void)state;
    const char *pol = V12("c1:[type == \"Subset\"] && c2:[type==\"Superset\"] => "
                          "issue(type=\"IsSubset\", value=IsSubsetOf(c1.value, c2.value));");
    maa_result r = eval_ok(
        pol, "[{\"type\":\"Subset\",\"value\":\"abc\"},{\"type\":\"Subset\",\"value\":100},"
             "{\"type\":\"Superset\",\"value\":true},{\"type\":\"Superset\",\"value\":\"abc\"},"
             "{\"type\":\"Superset\",\"value\":100}]");
    assert_int_equal(count_issued(&r, "IsSubset"), 1);
    assert_true(json_is_true(issued_value(&r, "IsSubset")));
    maa_result_free(&r);
    r = eval_ok(pol, "[{\"type\":\"Subset\",\"value\":\"abc\"},{\"type\":\"Subset\",\"value\":101},"
                     "{\"type\":\"Superset\",\"value\":\"abc\"}]");
    assert_true(json_is_false(issued_value(&r, "IsSubset")));
    maa_result_free(&r);
}

static void test_append_string_and_negate_bool(void **state)
{
    (void)state;
    maa_result r = eval_ok(
        V12("c1:[type==\"String1\"] && c2:[type==\"String2\"] => issue(type=\"Result\", "
            "value=AppendString(c1.value, c2.value));\n"
            "c:[type==\"Input\"] => issue(type=\"Negated\", value=NegateBool(c.value));"),
        "[{\"type\":\"String1\",\"value\":\"abc\"},{\"type\":\"String2\",\"value\":\"xyz\"},"
        "{\"type\":\"Input\",\"value\":true}]");
    assert_string_equal(json_string_value(issued_value(&r, "Result")), "abcxyz");
    assert_true(json_is_false(issued_value(&r, "Negated")));
    maa_result_free(&r);
}

static void test_contains_only_value(void **state)
{
    (void)state;
    const char *pol =
        V12("c:[type==\"Set\"] => issue(type=\"Result\", value=ContainsOnlyValue(c.value, 100));\n"
            "![type==\"Set\"] => issue(type=\"Result\", value=ContainsOnlyValue(\"x\", 100));");
    maa_result r =
        eval_ok(pol, "[{\"type\":\"Set\",\"value\":100},{\"type\":\"Set\",\"value\":101}]");
    assert_true(json_is_false(issued_value(&r, "Result")));
    maa_result_free(&r);
    r = eval_ok(pol, "[{\"type\":\"Set\",\"value\":100},{\"type\":\"Set\",\"value\":100}]");
    assert_true(json_is_true(issued_value(&r, "Result")));
    maa_result_free(&r);
}

/* claim-rule-functions.md, "Not condition operator". */
static void test_absent_claim_condition(void **state)
{
    (void)state;
    const char *pol = V12("![type==\"Claim3\"] => add(type=\"Claim3\", value=300);\n"
                          "c:[type==\"Claim3\"] => issue(claim=c);");
    maa_result r =
        eval_ok(pol, "[{\"type\":\"Claim1\",\"value\":100},{\"type\":\"Claim2\",\"value\":200}]");
    assert_int_equal(json_integer_value(issued_value(&r, "Claim3")), 300);
    assert_string_equal(json_string_value(json_object_get(issued(&r, "Claim3", 0), "issuer")),
                        "AttestationPolicy");
    maa_result_free(&r);
    r = eval_ok(pol, "[{\"type\":\"Claim3\",\"value\":1}]");
    assert_int_equal(count_issued(&r, "Claim3"), 1);
    assert_int_equal(json_integer_value(issued_value(&r, "Claim3")), 1);
    maa_result_free(&r);
}

/* A JSON runtime claim (attestation.md §7: x-ms-runtime carries a JWKS "keys"). */
static void test_runtime_keys_with_jmespath(void **state)
{
    (void)state;
    const char *pol = V12(
        "c:[type==\"x-ms-runtime\"] => issue(type=\"kid\", "
        "value=JsonToClaimValue(JmesPath(c.value, \"keys[0].kid\")));\n"
        "c:[type==\"x-ms-runtime\"] => issue(type=\"rsa-kids\", "
        "value=JsonToClaimValue(JmesPath(c.value, \"keys[?kty == 'RSA'].kid\")));\n"
        "c:[type==\"x-ms-runtime\"] => issue(type=\"nkeys\", "
        "value=JsonToClaimValue(JmesPath(c.value, \"length(keys)\")));\n"
        "c:[type==\"x-ms-runtime\"] => issue(type=\"vm\", value=JsonToClaimValue(JmesPath(c.value, "
        "\"\\\"vm-configuration\\\".\\\"secure-boot\\\"\")));\n"
        "c:[type==\"x-ms-runtime\"] => issue(type=\"missing\", "
        "value=JsonToClaimValue(JmesPath(c.value, \"keys[5].kid\")));");
    maa_result r = eval_ok(
        pol, "[{\"type\":\"x-ms-runtime\",\"issuer\":\"AttestationService\",\"value\":"
             "{\"keys\":[{\"kid\":\"HCLTransferKey\",\"kty\":\"RSA\",\"key_ops\":[\"encrypt\"]},"
             "{\"kid\":\"ec1\",\"kty\":\"EC\"},{\"kid\":\"rsa2\",\"kty\":\"RSA\"}],"
             "\"vm-configuration\":{\"secure-boot\":true}}}]");
    assert_string_equal(json_string_value(issued_value(&r, "kid")), "HCLTransferKey");
    assert_int_equal(count_issued(&r, "rsa-kids"), 2);
    assert_string_equal(json_string_value(json_object_get(issued(&r, "rsa-kids", 1), "value")),
                        "rsa2");
    assert_int_equal(json_integer_value(issued_value(&r, "nkeys")), 3);
    assert_true(json_is_true(issued_value(&r, "vm")));
    assert_null(issued(&r, "missing", 0));
    maa_result_free(&r);
}

/* claim-rule-functions.md "Sample policy using policy version 1.2" (its issuer="..." typo
 * written as issuer==). */
static const char secure_boot_policy[] =
    "version=1.2;\n\nauthorizationrules { \n  => permit();\n};\n\n\nissuancerules\n{\n\n"
    "c:[type == \"events\", issuer==\"AttestationService\"] => add(type = \"efiConfigVariables\", "
    "value = JmesPath(c.value, "
    "\"Events[?EventTypeString == 'EV_EFI_VARIABLE_DRIVER_CONFIG' && ProcessedData.VariableGuid == "
    "'8BE4DF61-93CA-11D2-AA0D-00E098032B8C']\"));\n\n"
    "c:[type==\"efiConfigVariables\", issuer==\"AttestationPolicy\"]=> issue(type = "
    "\"secureBootEnabled\", value = JsonToClaimValue(JmesPath(c.value, "
    "\"[?ProcessedData.UnicodeName == 'SecureBoot'] | length(@) == `1` && "
    "@[0].ProcessedData.VariableData == 'AQ'\")));\n"
    "![type==\"secureBootEnabled\", issuer==\"AttestationPolicy\"] => "
    "issue(type=\"secureBootEnabled\", value=false);\n\n};\n";

static void test_secure_boot_sample_policy(void **state)
{
    (void)state;
    static const char guid[] = "8BE4DF61-93CA-11D2-AA0D-00E098032B8C";
    char claims[1024];
    snprintf(claims, sizeof claims,
             "[{\"type\":\"events\",\"issuer\":\"AttestationService\",\"value\":\"{\\\"Events\\\":["
             "{\\\"EventTypeString\\\":\\\"EV_EFI_VARIABLE_DRIVER_CONFIG\\\",\\\"ProcessedData\\\":"
             "{\\\"VariableGuid\\\":\\\"%s\\\","
             "\\\"UnicodeName\\\":\\\"SecureBoot\\\",\\\"VariableData\\\":\\\"%s\\\"}},"
             "{\\\"EventTypeString\\\":\\\"EV_EFI_VARIABLE_DRIVER_CONFIG\\\",\\\"ProcessedData\\\":"
             "{\\\"VariableGuid\\\":\\\"%s\\\","
             "\\\"UnicodeName\\\":\\\"PK\\\",\\\"VariableData\\\":\\\"xx\\\"}},"
             "{\\\"EventTypeString\\\":\\\"EV_SEPARATOR\\\"}]}\"}]",
             guid, "AQ", guid);
    maa_result r = eval_ok(secure_boot_policy, claims);
    assert_int_equal(count_issued(&r, "secureBootEnabled"), 1);
    assert_true(json_is_true(issued_value(&r, "secureBootEnabled")));
    maa_result_free(&r);
    /* VariableData "AA": Secure Boot off. */
    snprintf(claims, sizeof claims,
             "[{\"type\":\"events\",\"issuer\":\"AttestationService\",\"value\":\"{\\\"Events\\\":["
             "{\\\"EventTypeString\\\":\\\"EV_EFI_VARIABLE_DRIVER_CONFIG\\\",\\\"ProcessedData\\\":"
             "{\\\"VariableGuid\\\":\\\"%s\\\","
             "\\\"UnicodeName\\\":\\\"SecureBoot\\\",\\\"VariableData\\\":\\\"AA\\\"}}]}\"}]",
             guid);
    r = eval_ok(secure_boot_policy, claims);
    assert_int_equal(count_issued(&r, "secureBootEnabled"), 1);
    assert_true(json_is_false(issued_value(&r, "secureBootEnabled")));
    maa_result_free(&r);
    /* No events at all: the '!' fallback issues false. */
    r = eval_ok(secure_boot_policy, "[]");
    assert_true(json_is_false(issued_value(&r, "secureBootEnabled")));
    maa_result_free(&r);
}

static json_t *jp(const char *expr, const char *data)
{
    json_t *d = load(data), *out = NULL;
    cloak_error why = {0};
    cloak_err rc = maa_jmespath_search(expr, d, &out, &why);
    if (rc) print_error("%s: %s\n", expr, why.msg);
    assert_int_equal(rc, CLOAK_OK);
    json_decref(d);
    return out;
}

static void jp_is(const char *expr, const char *data, const char *want)
{
    json_t *got = jp(expr, data), *w = json_loads(want, JSON_DECODE_ANY, NULL);
    assert_non_null(w);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_ENCODE_ANY);
        print_error("%s -> %s, want %s\n", expr, g, want);
        free(g);
    }
    assert_true(json_equal(got, w));
    json_decref(got);
    json_decref(w);
}

/* Expected values worked out from the JMESPath specification (jmespath.org) examples. */
static void test_jmespath_subset(void **state)
{
    (void)state;
    const char *d = "{\"a\":{\"b\":[{\"c\":1,\"t\":\"x\"},{\"c\":2,\"t\":\"y\"},{\"c\":3}]},\"n\":["
                    "[1,2],[3],4],\"o\":{\"p\":1,\"q\":2}}";
    jp_is("a.b[0].c", d, "1");
    jp_is("a.b[-1].c", d, "3");
    jp_is("a.b[*].c", d, "[1,2,3]");
    jp_is("a.b[*].t", d, "[\"x\",\"y\"]"); /* projections drop nulls */
    jp_is("a.b[?c > `1`].c", d, "[2,3]");
    jp_is("a.b[?c == `1` || t == 'y'].c", d, "[1,2]");
    jp_is("a.b[?!(c == `1`) && t].t", d, "[\"y\"]");
    jp_is("a.b[*].c | [0]", d, "1"); /* a pipe stops the projection */
    jp_is("a.b[*].c[0]", d, "[]");   /* ... while [0] inside it applies per element */
    jp_is("n[]", d, "[1,2,3,4]");
    jp_is("n[][]", d, "[1,2,3,4]");
    jp_is("length(a.b) == `3`", d, "true");
    jp_is("*.b[0].c", d, "[1]");
    jp_is("o.*", d, "[1,2]");
    jp_is("a.b[0].t == 'x' && a.b[1].t", d, "\"y\"");
    jp_is("missing.x", d, "null");
    jp_is("@ != `null`", d, "true");
    jp_is("a.b[?equals_ignore_case(t, 'X')].c", d, "[1]");
    jp_is("contains(a.b[*].c, `2`)", d, "true");
    jp_is("`{\"k\": [1]}`.k", d, "[1]");
    jp_is("a.b[?c < `2`] | length(@)", d, "1");
    jp_is("a.b[0].{k: c, u: t}", d, "{\"k\":1,\"u\":\"x\"}");
    jp_is("a.b[*].[c, t]", d, "[[1,\"x\"],[2,\"y\"],[3,null]]");
    jp_is("[o.p, o.q]", d, "[1,2]");
    jp_is("missing.{k: c}", d, "null");
    /* Raw strings (JEP-12): \\' and \\\\ are escapes, other backslashes are kept. */
    jp_is("'it\\'s'", d, "\"it's\"");
    jp_is("'a\\\\b'", d, "\"a\\\\b\"");
    jp_is("'\\windows\\x'", d, "\"\\\\windows\\\\x\"");
}

/* tpm-attestation-sample-policies.md, "validate System Guard is enabled": multi-select hash,
 * pipes, and queries built with AppendString from earlier results. */
static const char system_guard[] =
    "version = 1.2;\n\nauthorizationrules\n{\n    => permit();\n};\n\nissuancerules\n{\n"
    "    c:[type==\"events\", issuer==\"AttestationService\"] => "
    "add(type=\"validDrtmStateAuthEvent\", value=JmesPath(c.value, "
    "\"Events[? EventTypeString == 'EV_EVENT_TAG' && PcrIndex == `20` && "
    "ProcessedData.EVENT_TRUSTBOUNDARY.EVENT_DRTM_STATE_AUTH.SignatureValid != `null`] "
    "| length(@) == `1` && @[0] | @.{EventSeq:EventSeq, "
    "SignatureValid:ProcessedData.EVENT_TRUSTBOUNDARY.EVENT_DRTM_STATE_AUTH.SignatureValid}\"));\n"
    "    c:[type==\"validDrtmStateAuthEvent\", issuer==\"AttestationPolicy\"] => "
    "issue(type=\"drtmMleValid\", value=JsonToClaimValue(JmesPath(c.value, \"SignatureValid\")));\n"
    "    ![type==\"drtmMleValid\", issuer==\"AttestationPolicy\"] => issue(type=\"drtmMleValid\", "
    "value=false);\n"
    "    [type==\"drtmMleValid\", value==true, issuer==\"AttestationPolicy\"] &&\n"
    "    c:[type==\"validDrtmStateAuthEvent\", issuer==\"AttestationPolicy\"] => "
    "add(type=\"validDrtmStateAuthEventSeq\", value=JmesPath(c.value, \"EventSeq\"));\n"
    "    [type==\"drtmMleValid\", value==true, issuer==\"AttestationPolicy\"] &&\n"
    "    c:[type==\"validDrtmStateAuthEventSeq\", issuer==\"AttestationPolicy\"] => "
    "add(type=\"smmQuery\", value=AppendString(AppendString("
    "\"Events[? EventTypeString == 'EV_EVENT_TAG' && PcrIndex == `20` && EventSeq < `\", c.value), "
    "\"`].ProcessedData.EVENT_DRTM_SMM | length(@) == `1` && @[0] | @.Value\"));\n"
    "    [type==\"drtmMleValid\", value==true, issuer==\"AttestationPolicy\"] &&\n"
    "    c1:[type==\"smmQuery\", issuer==\"AttestationPolicy\"] &&\n"
    "    c2:[type==\"events\", issuer==\"AttestationService\"] => issue(type=\"smmLevel\", "
    "value=JsonToClaimValue(JmesPath(c2.value, c1.value)));\n};\n";

static void test_system_guard_sample_policy(void **state)
{
    (void)state;
    /* One SMM event (seq 1, level 3) before one valid DRTM state-auth event (seq 5). */
    static const char events[] =
        "[{\"type\":\"events\",\"issuer\":\"AttestationService\",\"value\":\"{\\\"Events\\\":["
        "{\\\"EventSeq\\\":1,\\\"EventTypeString\\\":\\\"EV_EVENT_TAG\\\",\\\"PcrIndex\\\":20,"
        "\\\"ProcessedData\\\":{\\\"EVENT_DRTM_SMM\\\":{\\\"Value\\\":3}}},"
        "{\\\"EventSeq\\\":5,\\\"EventTypeString\\\":\\\"EV_EVENT_TAG\\\",\\\"PcrIndex\\\":20,"
        "\\\"ProcessedData\\\":{\\\"EVENT_TRUSTBOUNDARY\\\":{\\\"EVENT_DRTM_STATE_AUTH\\\":{"
        "\\\"SignatureValid\\\":true}}}},"
        "{\\\"EventSeq\\\":9,\\\"EventTypeString\\\":\\\"EV_EVENT_TAG\\\",\\\"PcrIndex\\\":20,"
        "\\\"ProcessedData\\\":{\\\"EVENT_DRTM_SMM\\\":{\\\"Value\\\":7}}}]}\"}]";
    maa_result r = eval_ok(system_guard, events);
    assert_true(json_is_true(issued_value(&r, "drtmMleValid")));
    assert_int_equal(json_integer_value(issued_value(&r, "smmLevel")),
                     3); /* seq 9 comes after seq 5 */
    maa_result_free(&r);
    /* No state-auth event: drtmMleValid false, no smmLevel. */
    r = eval_ok(system_guard, "[{\"type\":\"events\",\"issuer\":\"AttestationService\",\"value\":"
                              "\"{\\\"Events\\\":[]}\"}]");
    assert_true(json_is_false(issued_value(&r, "drtmMleValid")));
    assert_null(issued(&r, "smmLevel", 0));
    maa_result_free(&r);
}

static void test_jmespath_unsupported_is_an_error(void **state)
{
    (void)state;
    const char *bad[] = {"a[0:1]", "a[::2]", "sort_by(a, &c)", "abs(a)", "a[", "a ==",    "'open",
                         "`{bad`", "",       "a[? b == 20]",   "{a}",    "a.", "length(a"};
    json_t *d = load("{\"a\":[1]}");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *out = NULL;
        cloak_error why = {0};
        if (maa_jmespath_search(bad[i], d, &out, &why) == CLOAK_OK)
            print_error("accepted %s\n", bad[i]);
        assert_null(out);
        assert_true(why.msg[0] != 0);
    }
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jmespath_literal_arguments),
        cmocka_unit_test(test_jmespath_arguments_from_claims),
        cmocka_unit_test(test_json_to_claim_value_scalars),
        cmocka_unit_test(test_json_to_claim_value_array_and_null),
        cmocka_unit_test(test_json_to_claim_value_rejects_objects_and_fractions),
        cmocka_unit_test(test_is_subset_of),
        cmocka_unit_test(test_append_string_and_negate_bool),
        cmocka_unit_test(test_contains_only_value),
        cmocka_unit_test(test_absent_claim_condition),
        cmocka_unit_test(test_runtime_keys_with_jmespath),
        cmocka_unit_test(test_secure_boot_sample_policy),
        cmocka_unit_test(test_system_guard_sample_policy),
        cmocka_unit_test(test_jmespath_subset),
        cmocka_unit_test(test_jmespath_unsupported_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
