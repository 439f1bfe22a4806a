/* The attestation service over real HTTPS (127.0.0.1:0, TLS verified against the generated
 * CA). Expectations come from outside the service: MANIFEST.md (TCB statuses of the real
 * samples), the simulated quote's own inputs, MAA's documented formulas recomputed here with
 * OpenSSL (policy hash), cloak_jws_verify under the published JWKS, and Node's crypto. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cloak/attest_service.h"
#include "cloak/http.h"
#include "cloak/jose.h"
#include "cloak/platform.h"
#include "attest/maa_policy.h"
#include "evidence/dcap_testlib.h"

#define T_SNP_MILAN                                                                                \
    ((time_t)1704067200) /* 2024-01-01T00:00:00Z, inside vcek_milan.der (test_snp.c) */

static char *g_data, *g_plat_dir, *g_coll;
static cloak_platform *g_plat;

typedef struct {
    cloak_attest_service *s;
    char base[128]; /* where to connect */
    char iss[128];  /* the issuer it claims (differs with cfg.issuer) */
} svc;

static void svc_start_cfg(svc *v, cloak_attest_service_config *c)
{
    cloak_error e = {0};
    if (!c->data_dir) c->data_dir = g_data;
    c->platform_dir = g_plat_dir;
    c->collateral_dir = g_coll;
    if (cloak_attest_service_new(c, &v->s, &e)) fail_msg("service: %s", e.msg);
    if (cloak_attest_service_start(v->s, &e)) fail_msg("start: %s", e.msg);
    snprintf(v->base, sizeof v->base, "https://127.0.0.1:%u",
             (unsigned)cloak_attest_service_port(v->s));
    snprintf(v->iss, sizeof v->iss, "%s", cloak_attest_service_issuer(v->s));
}

static void svc_start(svc *v, time_t at, int allow_sim)
{
    cloak_attest_service_config c = {.allow_sim = allow_sim, .test_time = at};
    svc_start_cfg(v, &c);
}

static void svc_stop(svc *v)
{
    cloak_attest_service_stop(v->s);
    cloak_attest_service_free(v->s);
    v->s = NULL;
}

/* One request; returns the status, *json the parsed body (may be NULL). */
static long call(svc *v, const char *method, const char *path, const char *ctype, const char *body,
                 json_t **json)
{
    char url[512], ct[128], ca[4200], rid[64];
    cloak_http_response r = {0};
    cloak_error e = {0};
    snprintf(url, sizeof url, "%s%s", v->base, path);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
    snprintf(ca, sizeof ca, "%s", cloak_attest_service_ca(v->s)); /* the data dir's generated CA */
    const char *hdrs[] = {ct, NULL};
    if (cloak_http_fetch(method, url, ca, hdrs, (const uint8_t *)body, body ? strlen(body) : 0, &r,
                         &e))
        fail_msg("%s %s: %s", method, path, e.msg);
    if (!cloak_http_response_header(&r, "x-ms-request-id", rid, sizeof rid) || strlen(rid) != 36)
        fail_msg("%s %s: no x-ms-request-id", method, path);
    if (json) *json = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    long st = r.status;
    cloak_http_response_free(&r);
    return st;
}

static const char *err_code(const json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}
static const char *err_msg(const json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

/* jp, not j: the status call and the body must be read in order. */
static void expect_error(long st, json_t **jp, long want_st, const char *want_code,
                         const char *in_msg)
{
    json_t *j = *jp;
    *jp = NULL;
    if (st != want_st || !err_code(j) || strcmp(err_code(j), want_code))
        fail_msg("want %ld %s, got %ld %s: %s", want_st, want_code, st,
                 err_code(j) ? err_code(j) : "-", err_msg(j) ? err_msg(j) : "-");
    if (in_msg && !strstr(err_msg(j), in_msg))
        fail_msg("error message '%s' does not mention '%s'", err_msg(j), in_msg);
    json_decref(j);
}

static char *b64url(const uint8_t *p, size_t n)
{
    char *s = cloak_base64url_encode(p, n);
    assert_non_null(s);
    return s;
}

/* Verify a token with the key the service publishes at /certs; returns its claims. */
static json_t *verify_token(svc *v, const char *token, json_t **header_out)
{
    json_t *jwks = NULL, *hdr = NULL, *claims = NULL;
    EVP_PKEY *key = NULL;
    cloak_error e = {0};
    assert_int_equal(call(v, "GET", "/certs", NULL, NULL, &jwks), 200);
    json_t *jwk = json_array_get(json_object_get(jwks, "keys"), 0);
    if (cloak_jwk_import_public(jwk, &key, &e)) fail_msg("jwk: %s", e.msg);
    cloak_jwt_opts o = {.algs = CLOAK_JWS_ALLOW(CLOAK_JWS_RS256),
                        .now = time(NULL),
                        .slack_seconds = 60,
                        .flags = CLOAK_JWT_REQUIRE_EXP,
                        .issuer = v->iss};
    if (cloak_jwt_verify(token, strlen(token), key, &o, &hdr, &claims, &e))
        fail_msg("token: %s", e.msg);
    assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
                        json_string_value(json_object_get(jwk, "kid")));
    char jku[256];
    snprintf(jku, sizeof jku, "%s/certs", v->iss);
    assert_string_equal(json_string_value(json_object_get(hdr, "jku")), jku);
    assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
    if (header_out)
        *header_out = hdr;
    else
        json_decref(hdr);
    EVP_PKEY_free(key);
    json_decref(jwks);
    return claims;
}

static json_t *attest_ok(svc *v, const char *path, const char *body, json_t **header)
{
    json_t *j = NULL;
    long st = call(v, "POST", path, NULL, body, &j);
    if (st != 200) fail_msg("POST %s: %ld %s", path, st, err_msg(j) ? err_msg(j) : "");
    json_t *claims = verify_token(v, json_string_value(json_object_get(j, "token")), header);
    json_decref(j);
    return claims;
}

/* ---- simulated SGX ---- */
static const char runtime_json[] = "{\"keys\":[{\"kid\":\"k1\",\"kty\":\"oct\"}],\"x\":1}";
static const char init_bytes[] = "init-time data";

/* A simulated quote binding SHA-256(runtime_json) in REPORTDATA and SHA-256(init_bytes) in
 * CONFIGID, with the DEBUG attribute set. */
static uint8_t *sim_quote(size_t *len, uint8_t mrenclave[32])
{
    cloak_sgx_report r;
    uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES], *q = NULL;
    cloak_error e = {0};
    memset(&r, 0, sizeof r);
    cloak_platform_cpusvn(g_plat, r.cpusvn);
    r.attr_flags = CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_DEBUG | CLOAK_SGX_FLAG_MODE64BIT;
    r.attr_xfrm = 0x3;
    for (int i = 0; i < 32; i++)
        mrenclave[i] = (uint8_t)(0xa0 + i);
    memcpy(r.mrenclave, mrenclave, 32);
    memset(r.mrsigner, 0x5a, sizeof r.mrsigner);
    r.isvprodid = 7;
    r.isvsvn = 3;
    SHA256((const uint8_t *)runtime_json, strlen(runtime_json), r.reportdata);
    SHA256((const uint8_t *)init_bytes, strlen(init_bytes), r.configid);
    cloak_sgx_report_encode(&r, body);
    if (cloak_platform_quote(g_plat, body, &q, len, &e)) fail_msg("quote: %s", e.msg);
    return q;
}

static char *sim_body(const uint8_t *q, size_t qlen, const char *runtime, const char *extra)
{
    char *bq = b64url(q, qlen), *br = b64url((const uint8_t *)runtime, strlen(runtime)),
         *bi = b64url((const uint8_t *)init_bytes, strlen(init_bytes)), *out = NULL;
    assert_true(
        asprintf(&out,
                 "{\"quote\":\"%s\",\"runtimeData\":{\"data\":\"%s\",\"dataType\":\"JSON\"},"
                 "\"initTimeData\":{\"data\":\"%s\",\"dataType\":\"Binary\"}%s}",
                 bq, br, bi, extra ? extra : "") > 0);
    free(bq);
    free(br);
    free(bi);
    return out;
}

/* MAA claim-sets: BASE64URL(SHA256(UTF8(BASE64URL(UTF8(policy text))))), with OpenSSL's
 * encoder translated to base64url here (not cloak's). */
static void openssl_b64url(const uint8_t *p, size_t n, char *out)
{
    int m = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (m > 0 && out[m - 1] == '=')
        m--;
    out[m] = 0;
    for (int i = 0; i < m; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
}
static void maa_policy_hash(const char *text, char out[64])
{
    size_t n = strlen(text);
    char *b = malloc(n * 2 + 8);
    uint8_t d[32];
    openssl_b64url((const uint8_t *)text, n, b);
    SHA256((const uint8_t *)b, strlen(b), d);
    openssl_b64url(d, 32, out);
    free(b);
}

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

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

static int policy_file_exists(const char *type)
{
    char p[512];
    snprintf(p, sizeof p, "%s/policies/%s.jws", g_data, type);
    return access(p, F_OK) == 0;
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
    assert_null(json_object_get(c, "x-cloak-sim"));
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

static int setup(void **state)
{
    (void)state;
    cloak_error e = {0};
    g_data = dcap_tmpdir();
    g_plat_dir = dcap_tmpdir();
    g_coll = dcap_tmpdir();
    if (cloak_platform_open(g_plat_dir, &g_plat, &e)) fail_msg("platform: %s", e.msg);
    /* one folder per FMSPC, as `cloak evidence fetch-collateral` lays them out */
    char *src = dcap_vec_path("dcap-qvl/sgx_quote_collateral"), *dst = NULL;
    assert_true(asprintf(&dst, "%s/00a067110000-sgx", g_coll) > 0);
    assert_int_equal(symlink(src, dst), 0);
    free(src);
    free(dst);
    src = dcap_vec_path("dcap-qvl/tdx_quote_collateral");
    assert_true(asprintf(&dst, "%s/b0c06f000000-tdx", g_coll) > 0);
    assert_int_equal(symlink(src, dst), 0);
    free(src);
    free(dst);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cloak_platform_free(g_plat);
    dcap_rm_rf(g_data);
    dcap_rm_rf(g_plat_dir);
    dcap_rm_rf(g_coll);
    return 0;
}

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
        cmocka_unit_test(test_policy_round_trip),
        cmocka_unit_test(test_isolated_mode_policy_signers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
