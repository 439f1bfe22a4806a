/* The attestation service over real HTTPS (127.0.0.1:0, TLS verified against the generated
 * CA). Expectations come from outside the service: MANIFEST.md (TCB statuses of the real
 * samples), the simulated quote's own inputs, MAA's documented formulas recomputed here with
 * OpenSSL (policy hash), cloak_jws_verify under the published JWKS, and Node's crypto. */
#include "svc_testlib.h"

static void test_certs_and_openid(void **state)
{
    (void)state;
    svc v = {0};
    json_t *j = NULL;
    svc_start(&v, 0, 1);
    assert_int_equal(call(&v, "GET", "/certs", NULL, NULL, &j), 200);
    json_t *k = json_array_get(json_object_get(j, "keys"), 0);
    assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "RSA");
    assert_int_equal(strlen(json_string_value(json_object_get(k, "kid"))),
                     CLOAK_JWK_THUMBPRINT_LEN);
    assert_non_null(json_string_value(json_object_get(k, "n")));
    assert_string_equal(json_string_value(json_object_get(k, "e")), "AQAB");
    /* x5c: standard base64 DER of a certificate holding the same key (the import checks it) */
    const char *x5c = json_string_value(json_array_get(json_object_get(k, "x5c"), 0));
    assert_non_null(x5c);
    assert_null(strchr(x5c, '-'));
    assert_null(strchr(x5c, '_'));
    EVP_PKEY *key = NULL;
    cloak_error e = {0};
    char tp[CLOAK_JWK_THUMBPRINT_LEN + 1];
    if (cloak_jwk_import_public(k, &key, &e)) fail_msg("%s", e.msg);
    if (cloak_jwk_thumbprint_key(key, tp, &e)) fail_msg("%s", e.msg);
    assert_string_equal(tp, json_string_value(json_object_get(k, "kid"))); /* kid = RFC 7638 */
    assert_int_equal(EVP_PKEY_get_bits(key), 2048);
    EVP_PKEY_free(key);
    json_decref(j);

    assert_int_equal(call(&v, "GET", "/.well-known/openid-configuration", NULL, NULL, &j), 200);
    char jwks_uri[256];
    snprintf(jwks_uri, sizeof jwks_uri, "%s/certs", v.iss);
    assert_string_equal(v.iss, v.base); /* the default issuer is the service's base URL */
    assert_string_equal(json_string_value(json_object_get(j, "issuer")), v.iss);
    assert_string_equal(json_string_value(json_object_get(j, "jwks_uri")), jwks_uri);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(j, "id_token_signing_alg_values_supported"), 0)),
                        "RS256");
    assert_true(json_array_size(json_object_get(j, "response_types_supported")) > 0);
    assert_true(json_array_size(json_object_get(j, "claims_supported")) > 0);
    json_decref(j);

    /* the signing key is kept 0600 and reused on restart */
    struct stat st;
    char path[512];
    snprintf(path, sizeof path, "%s/signing.key", g_data);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    svc_stop(&v);
    svc_start(&v, 0, 1);
    assert_int_equal(call(&v, "GET", "/certs", NULL, NULL, &j), 200);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "keys"), 0), "kid")),
        tp);
    json_decref(j);
    svc_stop(&v);
}

static void test_sim_sgx_token(void **state)
{
    (void)state;
    svc v = {0};
    size_t qlen;
    uint8_t mre[32];
    char mre_hex[65], hash[64];
    uint8_t *q = sim_quote(&qlen, mre);
    char *body = sim_body(q, qlen, runtime_json, ",\"nonce\":\"n-123\"");
    svc_start(&v, 0, 1);
    json_t *c = attest_ok(&v, "/attest/SgxEnclave?api-version=2022-08-01", body, NULL);
    cloak_hex_write(mre_hex, mre, 32);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-sgx-mrenclave")), mre_hex);
    /* the legacy name, issued by MAA's default policy */
    assert_string_equal(json_string_value(json_object_get(c, "sgx-mrenclave")), mre_hex);
    assert_true(json_is_true(json_object_get(c, "x-cloak-sim")));
    assert_true(json_is_true(json_object_get(c, "x-ms-sgx-is-debuggable")));
    assert_true(json_is_true(json_object_get(c, "is-debuggable")));
    assert_int_equal(json_integer_value(json_object_get(c, "x-ms-sgx-product-id")), 7);
    assert_int_equal(json_integer_value(json_object_get(c, "product-id")), 7);
    assert_int_equal(json_integer_value(json_object_get(c, "x-ms-sgx-svn")), 3);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-attestation-type")), "sgx");
    assert_string_equal(json_string_value(json_object_get(c, "tee")), "sgx");
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-ver")), "1.0");
    assert_string_equal(json_string_value(json_object_get(c, "nonce")), "n-123");
    maa_policy_hash(maa_default_policy("SgxEnclave"), hash);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-policy-hash")), hash);
    json_t *rt = json_loads(runtime_json, 0, NULL);
    assert_true(json_equal(json_object_get(c, "x-ms-runtime"), rt));
    json_decref(rt);
    char ehd[256];
    openssl_b64url((const uint8_t *)runtime_json, strlen(runtime_json), ehd);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-sgx-ehd")), ehd);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")) -
                         json_integer_value(json_object_get(c, "iat")),
                     8 * 3600);
    assert_int_equal(strlen(json_string_value(json_object_get(c, "jti"))), 64);
    assert_non_null(json_object_get(c, "x-ms-sgx-collateral")); /* the sim platform's collateral */
    json_decref(c);

    /* percent-encoded query name, standard base64 with padding, api-version 2025-06-01 */
    char *std = NULL;
    {
        size_t n = 4 * ((qlen + 2) / 3) + 1;
        std = malloc(n);
        EVP_EncodeBlock((unsigned char *)std, q, (int)qlen);
    }
    char *body2 = NULL;
    assert_true(asprintf(&body2, "{\"quote\":\"%s\"}", std) > 0);
    c = attest_ok(&v, "/attest/SgxEnclave?api%2Dversion=2025-06-01", body2, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-sgx-mrenclave")), mre_hex);
    assert_null(json_object_get(c, "nonce"));
    json_decref(c);
    /* OpenEnclave takes the same quote as `report` */
    free(body2);
    assert_true(asprintf(&body2, "{\"report\":\"%s\"}", std) > 0);
    c = attest_ok(&v, "/attest/OpenEnclave?api-version=2020-10-01", body2, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-sgx-mrenclave")), mre_hex);
    json_decref(c);
    free(body2);
    /* ... and as an oe_report: header {version 1, type 2 (remote), u64 size} + quote */
    {
        uint8_t *oe = malloc(qlen + 16);
        cloak_put_u32le(oe, 1);
        cloak_put_u32le(oe + 4, 2);
        cloak_put_u64le(oe + 8, qlen);
        memcpy(oe + 16, q, qlen);
        char *boe = b64url(oe, qlen + 16);
        assert_true(asprintf(&body2, "{\"report\":\"%s\"}", boe) > 0);
        c = attest_ok(&v, "/attest/OpenEnclave?api-version=2022-08-01", body2, NULL);
        assert_string_equal(json_string_value(json_object_get(c, "x-ms-sgx-mrenclave")), mre_hex);
        json_decref(c);
        free(boe);
        free(oe);
    }
    free(body2);
    free(std);

    /* Independent check: Node's crypto verifies the token under the JWKS */
    json_t *j = NULL, *jwks = NULL;
    assert_int_equal(call(&v, "POST", "/attest/SgxEnclave?api-version=2020-10-01", NULL, body, &j),
                     200);
    assert_int_equal(call(&v, "GET", "/certs", NULL, NULL, &jwks), 200);
    char tf[512], jf[512], cmd[2048];
    snprintf(tf, sizeof tf, "%s/token.txt", g_plat_dir);
    snprintf(jf, sizeof jf, "%s/jwks.json", g_plat_dir);
    write_text(tf, json_string_value(json_object_get(j, "token")));
    char *js = json_dumps(jwks, 0);
    write_text(jf, js);
    free(js);
    if (system("command -v node >/dev/null 2>&1") != 0)
        fail_msg("node is not installed: the independent token check needs it (make deps)");
    snprintf(cmd, sizeof cmd, "node '%s' '%s' '%s' '%s'", NODE_CHECK_SCRIPT, tf, jf, v.iss);
    assert_int_equal(system(cmd), 0);
    json_decref(j);
    json_decref(jwks);
    svc_stop(&v);
    free(body);
    free(q);
}

static void test_errors_are_distinct_and_change_nothing(void **state)
{
    (void)state;
    svc v = {0};
    size_t qlen;
    uint8_t mre[32];
    json_t *j = NULL;
    uint8_t *q = sim_quote(&qlen, mre);
    svc_start(&v, 0, 1);
    const char *P = "/attest/SgxEnclave?api-version=2020-10-01";

    /* runtime data that does not hash to REPORTDATA */
    char *b = sim_body(q, qlen, "{\"other\":true}", NULL);
    expect_error(call(&v, "POST", P, NULL, b, &j), &j, 400, "RuntimeDataMismatch", "REPORTDATA");
    free(b);
    /* init-time data that does not hash to CONFIGID */
    char *bq = b64url(q, qlen), *br = b64url((const uint8_t *)runtime_json, strlen(runtime_json));
    assert_true(
        asprintf(&b,
                 "{\"quote\":\"%s\",\"runtimeData\":{\"data\":\"%s\",\"dataType\":\"JSON\"},"
                 "\"initTimeData\":{\"data\":\"aW5pdA\",\"dataType\":\"Binary\"}}",
                 bq, br) > 0);
    expect_error(call(&v, "POST", P, NULL, b, &j), &j, 400, "InitTimeDataMismatch", "CONFIGID");
    free(b);
    /* a tampered quote: one bit of MRENCLAVE (report body at 48 + 64) */
    q[48 + 64] ^= 1;
    char *bt = b64url(q, qlen);
    q[48 + 64] ^= 1;
    assert_true(asprintf(&b, "{\"quote\":\"%s\"}", bt) > 0);
    expect_error(call(&v, "POST", P, NULL, b, &j), &j, 400, "InvalidEvidence", "does not verify");
    free(b);
    free(bt);
    /* missing, malformed and incomplete bodies */
    expect_error(call(&v, "POST", P, NULL, NULL, &j), &j, 400, "BadParameter", NULL);
    expect_error(call(&v, "POST", P, NULL, "{\"quote\": ", &j), &j, 400, "BadParameter", "line");
    expect_error(call(&v, "POST", P, NULL, "{\"runtimeData\":{}}", &j), &j, 400, "BadParameter",
                 "\"quote\"");
    expect_error(call(&v, "POST", P, NULL, "{\"quote\":\"!!!\"}", &j), &j, 400, "BadParameter",
                 "quote");
    assert_true(
        asprintf(&b, "{\"quote\":\"%s\",\"runtimeData\":{\"data\":\"%s\",\"dataType\":\"XML\"}}",
                 bq, br) > 0);
    expect_error(call(&v, "POST", P, NULL, b, &j), &j, 400, "BadParameter", "dataType");
    free(b);
    /* api-version: unknown, missing; unknown attestation type */
    assert_true(asprintf(&b, "{\"quote\":\"%s\"}", bq) > 0);
    long st = call(&v, "POST", "/attest/SgxEnclave?api-version=2019-01-01", NULL, b, &j);
    assert_int_equal(st, 400);
    assert_non_null(err_code(j));
    assert_non_null(strstr(err_msg(j), "2019-01-01"));
    json_decref(j);
    st = call(&v, "POST", "/attest/SgxEnclave", NULL, b, &j);
    assert_int_equal(st, 400);
    assert_non_null(strstr(err_msg(j), "api-version"));
    json_decref(j);
    expect_error(call(&v, "POST", "/attest/Tpm?api-version=2020-10-01", NULL, b, &j), &j, 400,
                 "BadParameter", "Tpm");
    svc_stop(&v);
    /* simulated evidence without --allow-sim */
    svc_start(&v, 0, 0);
    expect_error(call(&v, "POST", P, NULL, b, &j), &j, 400, "InvalidEvidence", NULL);
    svc_stop(&v);
    free(b);
    free(bq);
    free(br);
    /* no state change: no policy stored */
    assert_false(policy_file_exists("SgxEnclave"));
    free(q);
}

static void test_issuer_and_ttl_options(void **state)
{
    (void)state;
    svc v = {0};
    json_t *j = NULL;
    size_t qlen;
    uint8_t mre[32];
    uint8_t *q = sim_quote(&qlen, mre);
    char *body = sim_body(q, qlen, runtime_json, NULL);
    cloak_attest_service_config c = {
        .allow_sim = 1, .issuer = "https://attest.example.test/", .token_ttl = 90};
    svc_start_cfg(&v, &c);
    assert_string_equal(v.iss, "https://attest.example.test"); /* trailing '/' dropped */
    assert_int_equal(call(&v, "GET", "/.well-known/openid-configuration", NULL, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "issuer")),
                        "https://attest.example.test");
    assert_string_equal(json_string_value(json_object_get(j, "jwks_uri")),
                        "https://attest.example.test/certs");
    json_decref(j);
    json_t *cl = attest_ok(&v, "/attest/SgxEnclave?api-version=2020-10-01", body, NULL);
    assert_int_equal(json_integer_value(json_object_get(cl, "exp")) -
                         json_integer_value(json_object_get(cl, "iat")),
                     90);
    json_decref(cl);
    svc_stop(&v);
    free(body);
    free(q);
}

/* ---- real samples ---- */
static char *vec_body(const char *rel, size_t cut, const char *field)
{
    size_t len;
    uint8_t *q = dcap_vec_load(rel, &len);
    if (cut && cut < len) len = cut;
    char *b64 = b64url(q, len), *out = NULL;
    assert_true(asprintf(&out, "{\"%s\":\"%s\"}", field, b64) > 0);
    free(b64);
    free(q);
    return out;
}

static void test_real_sgx_sample(void **state)
{
    (void)state;
    svc v = {0};
    svc_start(&v, T_DCAPQVL_SGX, 0);
    char *b = vec_body("dcap-qvl/sgx_quote.dat", 4600, "quote");
    json_t *c = attest_ok(&v, "/attest/SgxEnclave?api-version=2020-10-01", b, NULL);
    /* MANIFEST.md: ConfigurationAndSWHardeningNeeded with its collateral at this time */
    assert_string_equal(json_string_value(json_object_get(c, "x-cloak-tcb-status")),
                        "ConfigurationAndSWHardeningNeeded");
    assert_true(json_is_false(json_object_get(c, "x-cloak-sim"))); /* hardware: false */
    json_t *coll = json_object_get(c, "x-ms-sgx-collateral");
    const char *keys[] = {"qeidcertshash",    "qeidcrlhash",    "qeidhash",   "quotehash",
                          "tcbinfocertshash", "tcbinfocrlhash", "tcbinfohash"};
    for (size_t i = 0; i < 7; i++) {
        const char *h = json_string_value(json_object_get(coll, keys[i]));
        if (!h || strlen(h) != 64) fail_msg("x-ms-sgx-collateral.%s", keys[i]);
    }
    assert_int_equal(strlen(json_string_value(json_object_get(c, "x-ms-sgx-mrenclave"))), 64);
    assert_true(json_is_boolean(json_object_get(c, "x-ms-sgx-is-debuggable")));
    json_decref(c);
    free(b);
    svc_stop(&v);
}

static void test_real_tdx_sample(void **state)
{
    (void)state;
    svc v = {0};
    svc_start(&v, T_DCAPQVL_TDX, 0);
    char *b = vec_body("dcap-qvl/tdx_quote.dat", 4936, "quote");
    json_t *c = attest_ok(&v, "/attest/TdxVm?api-version=2025-06-01", b, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-attestation-type")), "tdxvm");
    assert_string_equal(json_string_value(json_object_get(c, "attester_tcb_status")),
                        "UpToDate"); /* MANIFEST.md */
    assert_string_equal(json_string_value(json_object_get(c, "eat_profile")),
                        "https://aka.ms/maa-eat-profile-tdxvm");
    assert_int_equal(strlen(json_string_value(json_object_get(c, "tdx_mrtd"))), 96);
    assert_int_equal(strlen(json_string_value(json_object_get(c, "tdx_report_data"))), 128);
    assert_int_equal(strlen(json_string_value(json_object_get(c, "tdx_rtmr3"))), 96);
    assert_true(json_is_boolean(json_object_get(c, "tdx_td_attributes_debug")));
    const char *dbg = json_string_value(json_object_get(c, "dbgstat"));
    assert_string_equal(
        dbg, json_is_true(json_object_get(c, "tdx_td_attributes_debug")) ? "enabled" : "disabled");
    json_decref(c);
    free(b);
    svc_stop(&v);
}

/* PEM of a DER certificate, by OpenSSL's encoder. */
static char *der_to_pem(const uint8_t *der, size_t n)
{
    char *b = malloc(4 * ((n + 2) / 3) + 1), *out = malloc(4 * ((n + 2) / 3) * 2 + 128);
    int m = EVP_EncodeBlock((unsigned char *)b, der, (int)n);
    size_t k = (size_t)sprintf(out, "-----BEGIN CERTIFICATE-----\n");
    for (int i = 0; i < m; i += 64)
        k += (size_t)sprintf(out + k, "%.64s\n", b + i);
    sprintf(out + k, "-----END CERTIFICATE-----\n");
    free(b);
    return out;
}

static void test_snp_sample_with_vcek(void **state)
{
    (void)state;
    svc v = {0};
    size_t rl, vl;
    uint8_t *rep = dcap_vec_load("go-sev-guest/attestation_milan_v2.bin", &rl);
    uint8_t *vcek = dcap_vec_load("go-sev-guest/vcek_milan.der", &vl);
    char *pem = der_to_pem(vcek, vl);
    char *brep = b64url(rep, rl), *bpem = b64url((const uint8_t *)pem, strlen(pem)),
         *wrapper = NULL, *bw = NULL, *b = NULL;
    /* Azure's shape (spec example AttestSevSnpVm.json): report = b64url(JSON wrapper) */
    assert_true(asprintf(&wrapper, "{\"SnpReport\":\"%s\",\"VcekCertChain\":\"%s\"}", brep, bpem) >
                0);
    bw = b64url((const uint8_t *)wrapper, strlen(wrapper));
    assert_true(asprintf(&b, "{\"report\":\"%s\",\"nonce\":\"snp\"}", bw) > 0);
    svc_start(&v, T_SNP_MILAN, 0);
    json_t *c = attest_ok(&v, "/attest/SevSnpVm?api-version=2025-06-01", b, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-attestation-type")), "sevsnpvm");
    assert_int_equal(
        strlen(json_string_value(json_object_get(c, "x-ms-sevsnpvm-launchmeasurement"))), 96);
    assert_int_equal(strlen(json_string_value(json_object_get(c, "x-ms-sevsnpvm-reportdata"))),
                     128);
    assert_true(json_is_boolean(json_object_get(c, "x-ms-sevsnpvm-is-debuggable")));
    assert_true(json_is_integer(json_object_get(c, "x-ms-sevsnpvm-vmpl")));
    assert_true(json_is_integer(json_object_get(c, "x-ms-sevsnpvm-snpfw-svn")));
    assert_string_equal(json_string_value(json_object_get(c, "nonce")), "snp");
    /* REPORT_DATA from the report bytes themselves (offset 0x50, AMD SNP ABI Table 21) */
    char rd[129];
    cloak_hex_write(rd, rep + 0x50, 64);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-sevsnpvm-reportdata")), rd);
    json_decref(c);
    free(b);
    /* the plain shape: report = the raw report, VcekCertChain beside it */
    assert_true(asprintf(&b, "{\"report\":\"%s\",\"VcekCertChain\":\"%s\"}", brep, bpem) > 0);
    c = attest_ok(&v, "/attest/SevSnpVm?api-version=2022-08-01", b, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-sevsnpvm-reportdata")), rd);
    json_decref(c);
    free(b);
    /* without the VCEK it cannot verify */
    json_t *j = NULL;
    assert_true(asprintf(&b, "{\"report\":\"%s\"}", brep) > 0);
    expect_error(call(&v, "POST", "/attest/SevSnpVm?api-version=2022-08-01", NULL, b, &j), &j, 400,
                 "InvalidEvidence", NULL);
    svc_stop(&v);
    free(b);
    free(bw);
    free(wrapper);
    free(brep);
    free(bpem);
    free(pem);
    free(rep);
    free(vcek);
}

/* ---- policies ---- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certs_and_openid),
        cmocka_unit_test(test_sim_sgx_token),
        cmocka_unit_test(test_errors_are_distinct_and_change_nothing),
        cmocka_unit_test(test_issuer_and_ttl_options),
        cmocka_unit_test(test_real_sgx_sample),
        cmocka_unit_test(test_real_tdx_sample),
        cmocka_unit_test(test_snp_sample_with_vcek),
    };
    return cmocka_run_group_tests(tests, svc_setup, svc_teardown);
}
