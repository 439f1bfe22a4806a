/* Signing-key rotation (cloak_attest_rotate_key): the new key signs after a restart, the
 * retired key stays in /certs for one token lifetime so earlier tokens still verify, and is
 * dropped from /certs after it. Tokens are checked with cloak_jwt_verify under the key of the
 * published JWKS whose kid the token names. */
#include "svc_testlib.h"

/* A token from the running service (simulated SGX evidence). */
static char *get_token(svc *v)
{
    size_t qlen;
    uint8_t mre[32];
    uint8_t *q = sim_quote(&qlen, mre);
    char *body = sim_body(q, qlen, runtime_json, NULL);
    json_t *j = NULL;
    long st = call(v, "POST", "/attest/SgxEnclave?api-version=2022-08-01", NULL, body, &j);
    if (st != 200) fail_msg("attest: %ld %s", st, err_msg(j) ? err_msg(j) : "");
    char *tok = strdup(json_string_value(json_object_get(j, "token")));
    json_decref(j);
    free(body);
    free(q);
    return tok;
}

/* The token's kid header (malloc'd). */
static char *token_kid(const char *tok)
{
    cloak_error e = {0};
    json_t *hdr = NULL;
    if (cloak_jws_peek_header(tok, strlen(tok), &hdr, &e)) fail_msg("%s", e.msg);
    const char *k = json_string_value(json_object_get(hdr, "kid"));
    assert_non_null(k);
    char *kid = strdup(k);
    json_decref(hdr);
    return kid;
}

/* Verify tok under the published key its kid names; returns 0, or -1 if /certs lacks it. */
static int verify_by_kid(svc *v, const char *tok)
{
    json_t *jwks = NULL, *k, *hdr = NULL, *claims = NULL;
    size_t i;
    int found = -1;
    cloak_error e = {0};
    char *kid = token_kid(tok);
    assert_int_equal(call(v, "GET", "/certs", NULL, NULL, &jwks), 200);
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        if (strcmp(json_string_value(json_object_get(k, "kid")), kid)) continue;
        EVP_PKEY *key = NULL;
        if (cloak_jwk_import_public(k, &key, &e)) fail_msg("jwk: %s", e.msg);
        cloak_jwt_opts o = {.algs = CLOAK_JWS_ALLOW(CLOAK_JWS_RS256),
                            .now = time(NULL),
                            .slack_seconds = 60,
                            .flags = CLOAK_JWT_REQUIRE_EXP,
                            .issuer = v->iss};
        if (cloak_jwt_verify(tok, strlen(tok), key, &o, &hdr, &claims, &e))
            fail_msg("token: %s", e.msg);
        json_decref(hdr);
        json_decref(claims);
        EVP_PKEY_free(key);
        found = 0;
    }
    json_decref(jwks);
    free(kid);
    return found;
}

static size_t nkeys(svc *v)
{
    json_t *j = NULL;
    assert_int_equal(call(v, "GET", "/certs", NULL, NULL, &j), 200);
    size_t n = json_array_size(json_object_get(j, "keys"));
    json_decref(j);
    return n;
}

/* A fixed issuer: tokens from an earlier instance (another ephemeral port) carry the same iss. */
#define ISS "https://attest.cloak.test"
static void start(svc *v, unsigned ttl)
{
    cloak_attest_service_config c = {.allow_sim = 1, .token_ttl = ttl, .issuer = ISS};
    svc_start_cfg(v, &c);
}

static void test_rotate_key(void **state)
{
    (void)state;
    svc v = {0};
    cloak_error e = {0};
    char path[512];
    struct stat st;

    start(&v, 0);
    assert_int_equal(nkeys(&v), 1);
    char *a = get_token(&v);
    json_decref(verify_token(&v, a, NULL)); /* the fixture's check: the current key */
    svc_stop(&v);

    if (cloak_attest_rotate_key(g_data, &e)) fail_msg("rotate: %s", e.msg);
    char *kid_a = token_kid(a);
    snprintf(path, sizeof path, "%s/retired-%s.key", g_data, kid_a);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/signing.key", g_data);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    start(&v, 0);
    assert_int_equal(nkeys(&v), 2);
    char *b = get_token(&v);
    char *kid_b = token_kid(b);
    assert_string_not_equal(kid_a, kid_b);
    json_decref(verify_token(&v, b, NULL)); /* the new key is current (keys[0]) */
    assert_int_equal(verify_by_kid(&v, a), 0);
    assert_int_equal(verify_by_kid(&v, b), 0);
    svc_stop(&v);

    /* a token lifetime shorter than the retirement age: the retired key is dropped */
    char *rec = NULL;
    assert_true(asprintf(&rec, "{\"keys\":[{\"kid\":\"%s\",\"retired\":%lld}]}", kid_a,
                         (long long)time(NULL) - 3600) > 0);
    snprintf(path, sizeof path, "%s/retired-keys.json", g_data);
    write_text(path, rec);
    start(&v, 600);
    assert_int_equal(nkeys(&v), 1);
    assert_int_equal(verify_by_kid(&v, a), -1);
    assert_int_equal(verify_by_kid(&v, b), 0);
    svc_stop(&v);
    /* ... and kept with the default lifetime (8 h) */
    start(&v, 0);
    assert_int_equal(nkeys(&v), 2);
    svc_stop(&v);

    /* a second rotation keeps both earlier keys */
    if (cloak_attest_rotate_key(g_data, &e)) fail_msg("rotate: %s", e.msg);
    start(&v, 0);
    assert_int_equal(nkeys(&v), 3);
    assert_int_equal(verify_by_kid(&v, b), 0);
    svc_stop(&v);

    free(rec);
    free(a);
    free(b);
    free(kid_a);
    free(kid_b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotate_key),
    };
    return cmocka_run_group_tests(tests, svc_setup, svc_teardown);
}
