/* The attestation service's policy endpoints: upload, get, reset, persistence, bad policies
 * refused with line:column, deny and issue policies, isolated mode with policy signers. */
#include "svc_testlib.h"

static char *policy_jws(const char *text)
{
    char *b = b64url((const uint8_t *)text, strlen(text)), *payload = NULL, *out = NULL;
    cloak_error e = {0};
    assert_true(asprintf(&payload, "{\"AttestationPolicy\":\"%s\"}", b) > 0);
    json_t *h = json_object();
    if (cloak_jws_sign_unsecured(h, (const uint8_t *)payload, strlen(payload), &out, &e))
        fail_msg("%s", e.msg);
    json_decref(h);
    free(payload);
    free(b);
    return out;
}

/* The policy text inside a policy answer's x-ms-policy (an unsigned JWS). */
static char *policy_text_of(const json_t *claims)
{
    const char *jws = json_string_value(json_object_get(claims, "x-ms-policy"));
    cloak_jws j = {0};
    cloak_error e = {0};
    uint8_t *t = NULL;
    size_t n = 0;
    assert_non_null(jws);
    if (cloak_jws_decode_unsecured(jws, strlen(jws), &j, &e)) fail_msg("%s", e.msg);
    json_t *p = json_loadb((const char *)j.payload, j.payload_len, 0, NULL);
    const char *b = json_string_value(json_object_get(p, "AttestationPolicy"));
    assert_non_null(b);
    if (cloak_base64url_decode(b, strlen(b), &t, &n, &e)) fail_msg("%s", e.msg);
    char *s = strndup((const char *)t, n);
    free(t);
    json_decref(p);
    cloak_jws_clear(&j);
    return s;
}

static json_t *policy_call(svc *v, const char *method, const char *path, const char *body)
{
    json_t *j = NULL;
    long st = call(v, method, path, "text/plain", body, &j);
    if (st != 200) fail_msg("%s %s: %ld %s", method, path, st, err_msg(j) ? err_msg(j) : "");
    json_t *c = verify_token(v, json_string_value(json_object_get(j, "token")), NULL);
    json_decref(j);
    return c;
}

static const char custom_policy[] =
    "version= 1.0;\n"
    "authorizationrules {\n"
    "  [type==\"x-ms-sgx-is-debuggable\", value==true] => permit();\n"
    "};\n"
    "issuancerules {\n"
    "  c:[type==\"x-ms-sgx-mrenclave\"] => issue(type=\"custom-mrenclave\", value=c.value);\n"
    "  => issue(type=\"custom-tag\", value=\"cloak-test\");\n"
    "  => issue(type=\"x-cloak-sim\", value=false);\n"
    "  => issue(type=\"x-ms-sgx-mrenclave\", value=\"00\");\n"
    "  => issue(type=\"exp\", value=1);\n"
    "};\n";

static const char deny_policy[] = "version= 1.0;\n"
                                  "authorizationrules {\n"
                                  "  [type==\"x-cloak-sim\", value==true] => deny();\n"
                                  "  => permit();\n"
                                  "};\n"
                                  "issuancerules { };\n";

static void test_policy_round_trip(void **state)
{
    (void)state;
    svc v = {0};
    size_t qlen;
    uint8_t mre[32];
    char mre_hex[65], hash[64];
    json_t *j = NULL;
    uint8_t *q = sim_quote(&qlen, mre);
    cloak_hex_write(mre_hex, mre, 32);
    char *body = sim_body(q, qlen, runtime_json, NULL);
    const char *PP = "/policies/SgxEnclave?api-version=2020-10-01";
    const char *AP = "/attest/SgxEnclave?api-version=2020-10-01";
    svc_start(&v, 0, 1);

    /* GET: the default policy */
    json_t *c = policy_call(&v, "GET", PP, NULL);
    char *t = policy_text_of(c);
    assert_string_equal(t, maa_default_policy("SgxEnclave"));
    free(t);
    json_decref(c);

    /* PUT a policy that adds claims */
    char *jws = policy_jws(custom_policy);
    c = policy_call(&v, "PUT", PP, jws);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-policy-result")), "Updated");
    uint8_t d[32];
    SHA256((const uint8_t *)jws, strlen(jws), d);
    openssl_b64url(d, 32, hash);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-policy-token-hash")), hash);
    t = policy_text_of(c);
    assert_string_equal(t, custom_policy);
    free(t);
    json_decref(c);
    assert_true(policy_file_exists("SgxEnclave"));
    c = policy_call(&v, "GET", PP, NULL);
    t = policy_text_of(c);
    assert_string_equal(t, custom_policy);
    free(t);
    json_decref(c);
    c = attest_ok(&v, AP, body, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "custom-mrenclave")), mre_hex);
    assert_string_equal(json_string_value(json_object_get(c, "custom-tag")), "cloak-test");
    /* the default policy's issue rules are gone */
    assert_null(json_object_get(c, "sgx-mrenclave"));
    /* a policy cannot overwrite what the evidence says, nor the JWT's own claims */
    assert_true(json_is_true(json_object_get(c, "x-cloak-sim")));
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-sgx-mrenclave")), mre_hex);
    assert_true(json_integer_value(json_object_get(c, "exp")) > 1);
    maa_policy_hash(custom_policy, hash);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-policy-hash")), hash);
    json_decref(c);

    /* a bad policy is refused with its line and column; the old one stays (memory and disk) */
    char *bad = policy_jws("version= 1.0;\nauthorizationrules {\n  [type==\"x\"] permit();\n};\n");
    expect_error(call(&v, "PUT", PP, "text/plain", bad, &j), &j, 400, "InvalidPolicy", "line 3");
    free(bad);
    expect_error(call(&v, "PUT", PP, "text/plain", "not a jws", &j), &j, 400, "BadParameter", NULL);
    c = policy_call(&v, "GET", PP, NULL);
    t = policy_text_of(c);
    assert_string_equal(t, custom_policy);
    free(t);
    json_decref(c);

    /* the policy survives a restart */
    svc_stop(&v);
    svc_start(&v, 0, 1);
    c = attest_ok(&v, AP, body, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "custom-tag")), "cloak-test");
    json_decref(c);

    /* a deny policy refuses the (simulated) evidence */
    char *djws = policy_jws(deny_policy);
    json_decref(policy_call(&v, "PUT", PP, djws));
    expect_error(call(&v, "POST", AP, NULL, body, &j), &j, 400, "PolicyEvaluationError", "permit");

    /* a draft policy applies to one request only, and its token is unsigned */
    json_t *draft = json_string(custom_policy);
    char *dq = json_dumps(draft, JSON_ENCODE_ANY), *body2 = NULL;
    json_decref(draft);
    char *bq = b64url(q, qlen);
    assert_true(asprintf(&body2, "{\"quote\":\"%s\",\"draftPolicyForAttestation\":%s}", bq, dq) >
                0);
    assert_int_equal(call(&v, "POST", AP, NULL, body2, &j), 200);
    {
        cloak_jws uj = {0};
        cloak_error e = {0};
        const char *tok = json_string_value(json_object_get(j, "token"));
        if (cloak_jws_decode_unsecured(tok, strlen(tok), &uj, &e)) fail_msg("%s", e.msg);
        json_t *cl = json_loadb((const char *)uj.payload, uj.payload_len, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(cl, "custom-tag")), "cloak-test");
        json_decref(cl);
        cloak_jws_clear(&uj);
    }
    json_decref(j);
    expect_error(call(&v, "POST", AP, NULL, body, &j), &j, 400, "PolicyEvaluationError", NULL);

    /* reset: back to the default, file removed */
    char *reset = NULL;
    {
        cloak_error e = {0};
        json_t *h = json_object();
        if (cloak_jws_sign_unsecured(h, (const uint8_t *)"", 0, &reset, &e)) fail_msg("%s", e.msg);
        json_decref(h);
    }
    c = policy_call(&v, "POST", "/policies/SgxEnclave:reset?api-version=2020-10-01", reset);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-policy-result")), "Removed");
    json_decref(c);
    assert_false(policy_file_exists("SgxEnclave"));
    c = attest_ok(&v, AP, body, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "sgx-mrenclave")), mre_hex);
    json_decref(c);
    svc_stop(&v);
    free(reset);
    free(djws);
    free(dq);
    free(body2);
    free(bq);
    free(jws);
    free(body);
    free(q);
}

/* ---- isolated mode: policies must be signed by a registered certificate ---- */
static X509 *self_signed(EVP_PKEY *k, const char *cn)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    assert_non_null(x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(x, n);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return x;
}

static char *cert_b64(X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    char *b = malloc(4 * ((size_t)n + 2) / 3 + 4);
    EVP_EncodeBlock((unsigned char *)b, der, n);
    OPENSSL_free(der);
    return b;
}

/* A policy JWS signed ES256 by k, naming x in x5c. */
static char *signed_policy_jws(EVP_PKEY *k, X509 *x, const char *text)
{
    char *b = b64url((const uint8_t *)text, strlen(text)), *payload = NULL, *out = NULL,
         *xb = cert_b64(x);
    cloak_error e = {0};
    assert_true(asprintf(&payload, "{\"AttestationPolicy\":\"%s\"}", b) > 0);
    json_t *h = json_pack("{s:[s]}", "x5c", xb);
    if (cloak_jws_sign(k, CLOAK_JWS_ES256, h, (const uint8_t *)payload, strlen(payload), &out, &e))
        fail_msg("%s", e.msg);
    json_decref(h);
    free(payload);
    free(b);
    free(xb);
    return out;
}

/* {"<field>": JWS signed by (sk, sx) over {"policyCertificate": JWK of (k, x) with x5c}} */
static char *cert_change_body(EVP_PKEY *sk, X509 *sx, EVP_PKEY *k, X509 *x, const char *field)
{
    cloak_error e = {0};
    json_t *jwk = NULL;
    X509 *chain[1] = {x};
    cloak_jwk_opts o = {.x5c = chain, .nx5c = 1};
    if (cloak_jwk_export(k, &o, &jwk, &e)) fail_msg("%s", e.msg);
    json_t *pl = json_pack("{s:o}", "policyCertificate", jwk);
    char *payload = json_dumps(pl, JSON_COMPACT), *sxb = cert_b64(sx), *jws = NULL, *out = NULL;
    json_t *h = json_pack("{s:[s]}", "x5c", sxb);
    if (cloak_jws_sign(sk, CLOAK_JWS_ES256, h, (const uint8_t *)payload, strlen(payload), &jws, &e))
        fail_msg("%s", e.msg);
    json_t *body = json_pack("{s:s}", field, jws);
    out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    json_decref(h);
    json_decref(pl);
    free(payload);
    free(sxb);
    free(jws);
    return out;
}

/* SHA-1 over i2d_X509, upper-case hex (the Windows/MAA certificate thumbprint). */
static void sha1_upper(X509 *x, char out[41])
{
    unsigned char *der = NULL, md[20];
    unsigned int n = 0;
    int len = i2d_X509(x, &der);
    EVP_Digest(der, (size_t)len, md, &n, EVP_sha1(), NULL);
    OPENSSL_free(der);
    for (unsigned i = 0; i < 20; i++)
        sprintf(out + 2 * i, "%02X", md[i]);
}

static void test_isolated_mode_policy_signers(void **state)
{
    (void)state;
    svc v = {0};
    json_t *j = NULL;
    EVP_PKEY *ka = EVP_EC_gen("P-256"), *kb = EVP_EC_gen("P-256");
    X509 *xa = self_signed(ka, "registered signer"), *xb = self_signed(kb, "stranger");
    char *dir = dcap_tmpdir(), pem[512];
    snprintf(pem, sizeof pem, "%s/signers.pem", g_plat_dir);
    FILE *f = fopen(pem, "w");
    assert_non_null(f);
    PEM_write_X509(f, xa);
    fclose(f);
    size_t qlen;
    uint8_t mre[32];
    uint8_t *q = sim_quote(&qlen, mre);
    char *body = sim_body(q, qlen, runtime_json, NULL);
    const char *PP = "/policies/SgxEnclave?api-version=2020-10-01";
    cloak_attest_service_config c = {.allow_sim = 1, .data_dir = dir, .policy_signers = pem};
    svc_start_cfg(&v, &c);

    /* GET /certificates lists the registered certificate */
    json_t *cl = policy_call(&v, "GET", "/certificates?api-version=2020-10-01", NULL);
    json_t *keys = json_object_get(json_object_get(cl, "x-ms-policy-certificates"), "keys");
    assert_int_equal(json_array_size(keys), 1);
    char *xab = cert_b64(xa);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(keys, 0), "x5c"), 0)), xab);
    free(xab);
    json_decref(cl);

    /* unsigned, and signed by a stranger: refused, nothing stored */
    char *unsigned_jws = policy_jws(custom_policy);
    expect_error(call(&v, "PUT", PP, "text/plain", unsigned_jws, &j), &j, 400,
                 "InvalidPolicySignature", "isolated");
    char *stranger = signed_policy_jws(kb, xb, custom_policy);
    expect_error(call(&v, "PUT", PP, "text/plain", stranger, &j), &j, 400, "InvalidPolicySignature",
                 "not a registered");
    char p[600];
    snprintf(p, sizeof p, "%s/policies/SgxEnclave.jws", dir);
    assert_int_equal(access(p, F_OK), -1);

    /* signed by the registered signer: stored, and the signer is reported */
    char *good = signed_policy_jws(ka, xa, custom_policy);
    cl = policy_call(&v, "PUT", PP, good);
    assert_string_equal(json_string_value(json_object_get(cl, "x-ms-policy-result")), "Updated");
    assert_non_null(json_object_get(json_object_get(cl, "x-ms-policy-signer"), "x5c"));
    json_decref(cl);
    assert_int_equal(access(p, F_OK), 0);
    cl = attest_ok(&v, "/attest/SgxEnclave?api-version=2020-10-01", body, NULL);
    assert_string_equal(json_string_value(json_object_get(cl, "custom-tag")), "cloak-test");
    assert_non_null(json_object_get(cl, "x-ms-policy-signer"));
    json_decref(cl);

    /* an unsigned reset is refused too; a signed one works */
    char *reset_unsigned = NULL, *reset_signed = NULL;
    {
        cloak_error e = {0};
        json_t *h = json_object(), *hx = NULL;
        char *xb64 = cert_b64(xa);
        hx = json_pack("{s:[s]}", "x5c", xb64);
        if (cloak_jws_sign_unsecured(h, (const uint8_t *)"", 0, &reset_unsigned, &e))
            fail_msg("%s", e.msg);
        if (cloak_jws_sign(ka, CLOAK_JWS_ES256, hx, (const uint8_t *)"{}", 2, &reset_signed, &e))
            fail_msg("%s", e.msg);
        json_decref(h);
        json_decref(hx);
        free(xb64);
    }
    expect_error(call(&v, "POST", "/policies/SgxEnclave:reset?api-version=2020-10-01", "text/plain",
                      reset_unsigned, &j),
                 &j, 400, "InvalidPolicySignature", NULL);
    assert_int_equal(access(p, F_OK), 0);
    cl = policy_call(&v, "POST", "/policies/SgxEnclave:reset?api-version=2020-10-01", reset_signed);
    assert_string_equal(json_string_value(json_object_get(cl, "x-ms-policy-result")), "Removed");
    json_decref(cl);
    assert_int_equal(access(p, F_OK), -1);

    /* /certificates:add, signed by a registered signer, registers the stranger's certificate */
    char *add_b = cert_change_body(ka, xa, kb, xb, "policyCertificateToAdd");
    cl = policy_call(&v, "POST", "/certificates:add?api-version=2020-10-01", add_b);
    assert_string_equal(json_string_value(json_object_get(cl, "x-ms-policycertificates-result")),
                        "IsPresent");
    char want_tp[41];
    sha1_upper(xb, want_tp);
    assert_string_equal(json_string_value(json_object_get(cl, "x-ms-certificate-thumbprint")),
                        want_tp);
    json_decref(cl);
    cl = policy_call(&v, "GET", "/certificates?api-version=2020-10-01", NULL);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(cl, "x-ms-policy-certificates"), "keys")),
        2);
    json_decref(cl);
    json_decref(policy_call(&v, "PUT", PP, stranger)); /* now accepted */
    /* a change signed by an unregistered key is refused */
    EVP_PKEY *kc = EVP_EC_gen("P-256");
    X509 *xc = self_signed(kc, "third");
    char *add_c = cert_change_body(kc, xc, kc, xc, "policyCertificateToAdd");
    expect_error(
        call(&v, "POST", "/certificates:add?api-version=2020-10-01", "text/plain", add_c, &j), &j,
        400, "InvalidPolicySignature", "not a registered");
    /* the set persists in the data directory across a restart (no --policy-signer-cert) */
    svc_stop(&v);
    cloak_attest_service_config c2 = {.allow_sim = 1, .data_dir = dir};
    svc_start_cfg(&v, &c2);
    char *rm_b = cert_change_body(ka, xa, kb, xb, "policyCertificateToRemove");
    cl = policy_call(&v, "POST", "/certificates:remove?api-version=2020-10-01", rm_b);
    assert_string_equal(json_string_value(json_object_get(cl, "x-ms-policycertificates-result")),
                        "IsAbsent");
    json_decref(cl);
    expect_error(call(&v, "PUT", PP, "text/plain", stranger, &j), &j, 400, "InvalidPolicySignature",
                 NULL);
    /* the policy its certificate signed stays in force, also across a restart */
    svc_stop(&v);
    svc_start_cfg(&v, &c2);
    cl = attest_ok(&v, "/attest/SgxEnclave?api-version=2020-10-01", body, NULL);
    assert_string_equal(json_string_value(json_object_get(cl, "custom-tag")), "cloak-test");
    json_decref(cl);
    /* the last certificate stays */
    char *rm_a = cert_change_body(ka, xa, ka, xa, "policyCertificateToRemove");
    expect_error(
        call(&v, "POST", "/certificates:remove?api-version=2020-10-01", "text/plain", rm_a, &j), &j,
        400, "InvalidPolicySignature", "last");
    svc_stop(&v);
    /* outside isolated mode there is nothing to manage */
    svc_start(&v, 0, 1);
    expect_error(
        call(&v, "POST", "/certificates:add?api-version=2020-10-01", "text/plain", add_b, &j), &j,
        400, "InvalidPolicySignature", "isolated");
    svc_stop(&v);
    free(add_b);
    free(add_c);
    free(rm_b);
    free(rm_a);
    X509_free(xc);
    EVP_PKEY_free(kc);

    /* default mode: a signed policy verifies under its own x5c and its signer is reported */
    svc_start(&v, 0, 1);
    cl = policy_call(&v, "PUT", PP, stranger);
    assert_non_null(json_object_get(cl, "x-ms-policy-signer"));
    json_decref(cl);
    /* a tampered signature is refused */
    char *bad = strdup(stranger);
    bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
    expect_error(call(&v, "PUT", PP, "text/plain", bad, &j), &j, 400, "InvalidPolicySignature",
                 NULL);
    json_decref(policy_call(&v, "POST", "/policies/SgxEnclave:reset?api-version=2020-10-01",
                            reset_unsigned));
    svc_stop(&v);
    assert_false(policy_file_exists("SgxEnclave"));

    free(bad);
    free(reset_unsigned);
    free(reset_signed);
    free(good);
    free(stranger);
    free(unsigned_jws);
    free(body);
    free(q);
    X509_free(xa);
    X509_free(xb);
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
    dcap_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_round_trip),
        cmocka_unit_test(test_isolated_mode_policy_signers),
    };
    return cmocka_run_group_tests(tests, svc_setup, svc_teardown);
}
