/* The documented policies in tests/attest/policies/ parse, and the TPM 1.2 sample gives the
 * outcomes its comments describe (tpm-attestation-sample-policies.md). */
#include "maa_test_util.h"

#include <stdlib.h>

static char *read_policy(const char *name)
{
    const char *src = getenv("CLOAK_SOURCE_DIR");
    char path[1024];
    uint8_t *buf = NULL;
    size_t len = 0;
    cloak_error why = {0};
    assert_non_null(src);
    snprintf(path, sizeof path, "%s/tests/attest/policies/%s", src, name);
    if (cloak_file_read(path, &buf, &len, &why)) print_error("%s\n", why.msg);
    assert_non_null(buf);
    char *s = realloc(buf, len + 1);
    assert_non_null(s);
    s[len] = 0;
    return s;
}

static void test_documented_policies_parse(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        maa_version v;
    } files[] = {
        {"tpm_v12_sample.txt", MAA_VERSION_1_2},
        {"tpm_v12_pcrs.txt", MAA_VERSION_1_2},
        {"vbs_v12.txt", MAA_VERSION_1_2},
        {"issue_all_v12.txt", MAA_VERSION_1_2},
        {"policy_v12_sample.txt", MAA_VERSION_1_2},
        {"sgx_default_v11.txt", MAA_VERSION_1_1},
        {"author_sign_corrected.txt", MAA_VERSION_1_0},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *text = read_policy(files[i].file);
        maa_policy *p = parse_ok(text);
        assert_int_equal(maa_policy_version(p), files[i].v);
        maa_policy_free(p);
        free(text);
    }
    /* The shipped default equals the documented one byte for byte (after the source line). */
    char *doc = read_policy("sgx_default_v11.txt");
    assert_string_equal(strchr(doc, '\n') + 1, maa_default_policy("SgxEnclave"));
    free(doc);
}

/* An "events" claim as the service gives it: JSON text of the TCG event log. */
static char *events_claims(const char *secure_boot, int ci2, int bitlocker2, const char *elam_path)
{
    json_t *tb12 =
        json_pack("{s:b, s:{s:i}}", "EVENT_CODEINTEGRITY", 1, "EVENT_BITLOCKER_UNLOCK", "Value", 0);
    json_t *tb19 = json_pack("{s:b, s:{s:i}}", "EVENT_CODEINTEGRITY", ci2, "EVENT_BITLOCKER_UNLOCK",
                             "Value", bitlocker2);
    if (elam_path)
        json_object_set_new(
            tb12, "EVENT_LOADEDMODULE_AGGREGATION",
            json_pack("[{s:b, s:s}]", "EVENT_IMAGEVALIDATED", 1, "EVENT_FILEPATH", elam_path));
    json_t *log =
        json_pack("{s:[{s:s, s:{s:s, s:s, s:s}}, {s:s, s:i, s:{s:o}}, {s:s, s:i, s:{s:o}}]}",
                  "Events", "EventTypeString", "EV_EFI_VARIABLE_DRIVER_CONFIG", "ProcessedData",
                  "VariableGuid", "8BE4DF61-93CA-11D2-AA0D-00E098032B8C", "UnicodeName",
                  "SecureBoot", "VariableData", secure_boot, "EventTypeString", "EV_EVENT_TAG",
                  "PcrIndex", 12, "ProcessedData", "EVENT_TRUSTBOUNDARY", tb12, "EventTypeString",
                  "EV_EVENT_TAG", "PcrIndex", 19, "ProcessedData", "EVENT_TRUSTBOUNDARY", tb19);
    assert_non_null(log);
    char *text = json_dumps(log, JSON_COMPACT);
    json_t *claims = json_pack("[{s:s, s:s, s:s}, {s:s, s:b, s:s}]", "type", "events", "value",
                               text, "issuer", "AttestationService", "type", "aikValidated",
                               "value", 1, "issuer", "AttestationService");
    char *out = json_dumps(claims, JSON_COMPACT);
    free(text);
    json_decref(log);
    json_decref(claims);
    return out;
}

static void test_tpm_v12_sample_healthy_boot(void **state)
{
    (void)state;
    char *policy = read_policy("tpm_v12_sample.txt");
    char *claims = events_claims("AQ", 1, 1, "\\Windows\\System32\\drivers\\wdboot.sys");
    maa_result r = eval_ok(policy, claims);
    assert_true(r.permitted);
    assert_true(json_is_true(issued_value(&r, "aikValidated")));
    assert_true(json_is_true(issued_value(&r, "SecureBootEnabled")));
    assert_int_equal(count_issued(&r, "CodeIntegrityEnabled"), 1);
    assert_true(json_is_true(issued_value(&r, "CodeIntegrityEnabled")));
    assert_true(
        json_is_true(issued_value(&r, "BitlockerStatus"))); /* first non-zero unlock value exists */
    assert_true(
        json_is_true(issued_value(&r, "ELAMDriverLoaded"))); /* path compared ignoring case */
    maa_result_free(&r);
    free(claims);
    free(policy);
}

static void test_tpm_v12_sample_weak_boot(void **state)
{
    (void)state;
    char *policy = read_policy("tpm_v12_sample.txt");
    char *claims = events_claims("AA", 0, 0, NULL);
    maa_result r = eval_ok(policy, claims);
    assert_true(json_is_false(issued_value(&r, "SecureBootEnabled")));
    assert_int_equal(count_issued(&r, "CodeIntegrityEnabled"), 1);
    assert_true(json_is_false(issued_value(&r, "CodeIntegrityEnabled"))); /* one event says false */
    assert_int_equal(count_issued(&r, "BitlockerStatus"), 1);
    assert_true(json_is_false(issued_value(&r, "BitlockerStatus"))); /* every unlock value is 0 */
    maa_result_free(&r);
    free(claims);
    free(policy);
}

static void test_vbs_policy_authorization(void **state)
{
    (void)state;
    char *policy = read_policy("vbs_v12.txt");
    static const char good[] =
        "[{\"type\":\"vsmReportPresent\",\"value\":true},"
        "{\"type\":\"enclaveAuthorId\",\"value\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"},"
        "{\"type\":\"enclaveImageId\",\"value\":\"AQEAAAAAAAAAAAAAAAAAAA\"},{\"type\":"
        "\"enclaveSvn\",\"value\":0}]";
    maa_result r = eval_ok(policy, good);
    assert_true(r.permitted);
    maa_result_free(&r);
    r = eval_ok(
        policy,
        "[{\"type\":\"vsmReportPresent\",\"value\":true},{\"type\":\"enclaveSvn\",\"value\":0}]");
    assert_false(r.permitted);
    maa_result_free(&r);
    free(policy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_policies_parse),
        cmocka_unit_test(test_tpm_v12_sample_healthy_boot),
        cmocka_unit_test(test_tpm_v12_sample_weak_boot),
        cmocka_unit_test(test_vbs_policy_authorization),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
