/* The attestation service over real HTTPS (127.0.0.1:0, TLS verified against the generated
 * CA). Expectations come from outside the service: MANIFEST.md (TCB statuses of the real
 * samples), the simulated quote's own inputs, MAA's documented formulas recomputed here with
 * OpenSSL (policy hash), cloak_jws_verify under the published JWKS, and Node's crypto. */
#include "svc_testlib.h"

char *g_data, *g_plat_dir, *g_coll;
cloak_platform *g_plat;

void svc_start_cfg(svc *v, cloak_attest_service_config *c)
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

void svc_start(svc *v, time_t at, int allow_sim)
{
    cloak_attest_service_config c = {.allow_sim = allow_sim, .test_time = at};
    svc_start_cfg(v, &c);
}

void svc_stop(svc *v)
{
    cloak_attest_service_stop(v->s);
    cloak_attest_service_free(v->s);
    v->s = NULL;
}

/* One request; returns the status, *json the parsed body (may be NULL). */
long call(svc *v, const char *method, const char *path, const char *ctype, const char *body,
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

const char *err_code(const json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}
const char *err_msg(const json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

/* jp, not j: the status call and the body must be read in order. */
void expect_error(long st, json_t **jp, long want_st, const char *want_code, const char *in_msg)
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

char *b64url(const uint8_t *p, size_t n)
{
    char *s = cloak_base64url_encode(p, n);
    assert_non_null(s);
    return s;
}

/* Verify a token with the key the service publishes at /certs; returns its claims. */
json_t *verify_token(svc *v, const char *token, json_t **header_out)
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

json_t *attest_ok(svc *v, const char *path, const char *body, json_t **header)
{
    json_t *j = NULL;
    long st = call(v, "POST", path, NULL, body, &j);
    if (st != 200) fail_msg("POST %s: %ld %s", path, st, err_msg(j) ? err_msg(j) : "");
    json_t *claims = verify_token(v, json_string_value(json_object_get(j, "token")), header);
    json_decref(j);
    return claims;
}

/* ---- simulated SGX ---- */
const char runtime_json[] = "{\"keys\":[{\"kid\":\"k1\",\"kty\":\"oct\"}],\"x\":1}";
const char init_bytes[] = "init-time data";

/* A simulated quote binding SHA-256(runtime_json) in REPORTDATA and SHA-256(init_bytes) in
 * CONFIGID, with the DEBUG attribute set. */
uint8_t *sim_quote(size_t *len, uint8_t mrenclave[32])
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

char *sim_body(const uint8_t *q, size_t qlen, const char *runtime, const char *extra)
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
void openssl_b64url(const uint8_t *p, size_t n, char *out)
{
    int m = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (m > 0 && out[m - 1] == '=')
        m--;
    out[m] = 0;
    for (int i = 0; i < m; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
}
void maa_policy_hash(const char *text, char out[64])
{
    size_t n = strlen(text);
    char *b = malloc(n * 2 + 8);
    uint8_t d[32];
    openssl_b64url((const uint8_t *)text, n, b);
    SHA256((const uint8_t *)b, strlen(b), d);
    openssl_b64url(d, 32, out);
    free(b);
}

void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

int policy_file_exists(const char *type)
{
    char p[512];
    snprintf(p, sizeof p, "%s/policies/%s.jws", g_data, type);
    return access(p, F_OK) == 0;
}

int svc_setup(void **state)
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

int svc_teardown(void **state)
{
    (void)state;
    cloak_platform_free(g_plat);
    dcap_rm_rf(g_data);
    dcap_rm_rf(g_plat_dir);
    dcap_rm_rf(g_coll);
    return 0;
}
