/* Secure Key Release over real HTTPS against a real attestation service: a release that
 * succeeds is unwrapped here with OpenSSL (RSA-OAEP then RFC 5649 key wrap with padding) and
 * the key it yields decrypts what the vault encrypted; and the denial matrix, one test per
 * reason. */
#include "vault_testlib.h"

#include "evidence/dcap_testlib.h"

#include <openssl/rsa.h>
#include <openssl/x509.h>

#define Q "?api-version=7.6"

static EVP_PKEY *g_kek;
static char *g_runtime; /* {"keys":[KEK JWK with kid and key_ops encrypt]} */
static char g_signer_hex[65];

static int setup(void **st)
{
    (void)st;
    cloak_error e = {0};
    vfix_setup_attest();
    vfix_start_vault(NULL, 0);
    g_kek = EVP_RSA_gen(2048);
    assert_non_null(g_kek);
    json_t *jwk = NULL;
    cloak_jwk_opts o = {.kid = "kek-1"};
    if (cloak_jwk_export(g_kek, &o, &jwk, &e)) fail_msg("%s", e.msg);
    json_object_set_new(jwk, "key_ops", json_pack("[s]", "encrypt"));
    json_t *rt = json_pack("{s:[{s:s,s:s},o]}", "keys", "kid", "ec-first", "kty", "EC", jwk);
    g_runtime = json_dumps(rt, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rt);
    for (int i = 0; i < 32; i++)
        snprintf(g_signer_hex + 2 * i, 3, "%02x", 0x5a);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    EVP_PKEY_free(g_kek);
    free(g_runtime);
    vfix_teardown();
    return 0;
}

/* Create an exportable key `name` of `kty_json` with the release policy `allof` (the members
 * of the authority's allOf, as JSON text). */
static void create_releasable(const char *name, const char *kty_json, const char *allof)
{
    char *pol = NULL, *body = NULL, path[128];
    assert_true(asprintf(&pol,
                         "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"%s/\","
                         "\"allOf\":[%s]}]}",
                         F.attest_url, allof) > 0);
    char *pb = tb64url((const uint8_t *)pol, strlen(pol));
    assert_true(asprintf(&body,
                         "{%s,\"attributes\":{\"exportable\":true},\"release_policy\":{"
                         "\"contentType\":\"application/json; charset=utf-8\",\"data\":\"%s\"}}",
                         kty_json, pb) > 0);
    snprintf(path, sizeof path, "/keys/%s/create" Q, name);
    json_t *j = NULL;
    long s = vcall(F.admin, "POST", path, body, &j, NULL, 0);
    if (s != 200) fail_msg("create %s: %ld %s", name, s, j ? json_dumps(j, 0) : "");
    json_decref(j);
    free(pb);
    free(pol);
    free(body);
}

static const char *const good_policy = "{\"claim\":\"x-ms-sgx-is-debuggable\",\"equals\":false},"
                                       "{\"claim\":\"x-ms-sgx-svn\",\"greaterOrEquals\":2},"
                                       "{\"claim\":\"x-ms-attestation-type\",\"equals\":\"sgx\"}";

static long release(const char *token, const char *name, const char *nonce, const char *enc,
                    json_t **out)
{
    char *body = NULL, path[128];
    assert_true(asprintf(&body, "{\"target\":\"%s\"%s%s%s%s%s%s}", token,
                         nonce ? ",\"nonce\":\"" : "", nonce ? nonce : "", nonce ? "\"" : "",
                         enc ? ",\"enc\":\"" : "", enc ? enc : "", enc ? "\"" : "") > 0);
    snprintf(path, sizeof path, "/keys/%s/release" Q, name);
    long s = vcall(F.admin, "POST", path, body, out, NULL, 0);
    free(body);
    return s;
}

/* Open the release in `reply` with the test's KEK (vault_testlib); check the request echo and
 * the KEK's kid. Returns the target bytes (PKCS#8 DER or raw) and the released bundle. */
static uint8_t *open_release(json_t *reply, const char *enc, size_t *len, json_t **bundle)
{
    const char *jws = json_string_value(json_object_get(reply, "value"));
    assert_non_null(jws);
    json_t *payload = NULL, *kh = NULL;
    uint8_t *out = vopen_release(jws, g_kek, enc, len, &payload, &kh);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(payload, "request"), "enc")), enc);
    assert_string_equal(json_string_value(json_object_get(json_object_get(kh, "header"), "kid")),
                        "kek-1");
    *bundle = json_incref(json_object_get(json_object_get(payload, "response"), "key"));
    json_decref(kh);
    json_decref(payload);
    return out;
}

static void test_release_rsa(void **st)
{
    (void)st;
    json_t *j = NULL, *bundle = NULL;
    create_releasable("rel-rsa", "\"kty\":\"RSA-HSM\",\"key_size\":2048", good_policy);
    char *tok = attest_token(g_runtime, 0, 0x5a, 3);
    assert_int_equal(release(tok, "rel-rsa", "n-1", NULL, &j), 200);
    size_t n;
    uint8_t *pk8 = open_release(j, "CKM_RSA_AES_KEY_WRAP", &n, &bundle);
    json_decref(j);
    const uint8_t *p = pk8;
    EVP_PKEY *priv = d2i_AutoPrivateKey(NULL, &p, (long)n);
    assert_non_null(priv);
    /* the same key as published */
    assert_int_equal(vcall(F.admin, "GET", "/keys/rel-rsa" Q, NULL, &j, NULL, 0), 200);
    EVP_PKEY *pub = bundle_pub(j);
    assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
    json_decref(j);
    /* and it decrypts what the vault encrypted */
    char *m = tb64url((const uint8_t *)"released", 8), body[512];
    snprintf(body, sizeof body, "{\"alg\":\"RSA-OAEP\",\"value\":\"%s\"}", m);
    assert_int_equal(vcall(F.admin, "POST", "/keys/rel-rsa/encrypt" Q, body, &j, NULL, 0), 200);
    size_t cl;
    uint8_t *ct = tb64url_dec(json_string_value(json_object_get(j, "value")), &cl), pt[512];
    json_decref(j);
    j = NULL;
    size_t pl = sizeof pt;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_decrypt(c, pt, &pl, ct, cl), 1);
    assert_int_equal(pl, 8);
    assert_memory_equal(pt, "released", 8);
    EVP_PKEY_CTX_free(c);
    /* the same nonce again: replay */
    vexpect(release(tok, "rel-rsa", "n-1", NULL, &j), &j, 403, "Forbidden", "NonceReplayed");
    /* a release-only role may release, a reader may not */
    char *ru = vtoken("crypto-service-release-user", "skr"), *rd = vtoken("reader", "rd"),
         *b2 = NULL;
    assert_true(asprintf(&b2, "{\"target\":\"%s\"}", tok) > 0);
    assert_int_equal(vcall(ru, "POST", "/keys/rel-rsa/release" Q, b2, NULL, NULL, 0), 200);
    assert_int_equal(vcall(rd, "POST", "/keys/rel-rsa/release" Q, b2, &j, NULL, 0), 403);
    json_decref(j);
    j = NULL;
    free(b2);
    free(ru);
    free(rd);
    free(ct);
    json_decref(j);
    free(m);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(priv);
    free(pk8);
    json_decref(bundle);
    free(tok);
}

static void test_release_oct_each_enc(void **st)
{
    (void)st;
    static const char *const encs[] = {"CKM_RSA_AES_KEY_WRAP", "RSA_AES_KEY_WRAP_256",
                                       "RSA_AES_KEY_WRAP_384"};
    create_releasable("rel-oct", "\"kty\":\"oct-HSM\",\"key_size\":256", good_policy);
    char *tok = attest_token(g_runtime, 0, 0x5a, 2);
    json_t *j = NULL, *bundle = NULL;
    /* what the vault encrypts under the key ... */
    char *m = tb64url((const uint8_t *)"oct secret", 10), body[512];
    snprintf(body, sizeof body, "{\"alg\":\"A256GCM\",\"value\":\"%s\"}", m);
    assert_int_equal(vcall(F.admin, "POST", "/keys/rel-oct/encrypt" Q, body, &j, NULL, 0), 200);
    size_t cl, ivl, tl;
    uint8_t *ct = tb64url_dec(json_string_value(json_object_get(j, "value")), &cl);
    uint8_t *iv = tb64url_dec(json_string_value(json_object_get(j, "iv")), &ivl);
    uint8_t *tag = tb64url_dec(json_string_value(json_object_get(j, "tag")), &tl);
    json_decref(j);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(release(tok, "rel-oct", NULL, encs[i], &j), 200);
        size_t n;
        uint8_t *k = open_release(j, encs[i], &n, &bundle);
        json_decref(j);
        json_decref(bundle);
        assert_int_equal(n, 32);
        /* ... the released key decrypts */
        EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
        uint8_t out[64];
        int ol = 0, fl = 0;
        assert_int_equal(EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
        assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, (int)ivl, NULL), 1);
        assert_int_equal(EVP_DecryptInit_ex(x, NULL, NULL, k, iv), 1);
        assert_int_equal(EVP_DecryptUpdate(x, out, &ol, ct, (int)cl), 1);
        assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, (int)tl, tag), 1);
        assert_int_equal(EVP_DecryptFinal_ex(x, out + ol, &fl), 1);
        assert_int_equal(ol + fl, 10);
        assert_memory_equal(out, "oct secret", 10);
        EVP_CIPHER_CTX_free(x);
        free(k);
    }
    vexpect(release(tok, "rel-oct", NULL, "A256KW", &j), &j, 400, "BadParameter", NULL);
    free(ct);
    free(iv);
    free(tag);
    free(m);
    free(tok);
}

/* ---- the denial matrix: one reason each ---- */
static void test_deny_debug(void **st)
{
    (void)st;
    json_t *j = NULL;
    create_releasable("d-dbg", "\"kty\":\"oct\"", good_policy);
    char *tok = attest_token(g_runtime, 1, 0x5a, 3);
    vexpect(release(tok, "d-dbg", NULL, NULL, &j), &j, 403, "Forbidden", "PolicyNotSatisfied");
    free(tok);
}

static void test_deny_sim_when_hardware_required(void **st)
{
    (void)st;
    json_t *j = NULL;
    create_releasable("d-hw", "\"kty\":\"oct\"", "{\"claim\":\"x-cloak-sim\",\"equals\":false}");
    char *tok = attest_token(g_runtime, 0, 0x5a, 3);
    vexpect(release(tok, "d-hw", NULL, NULL, &j), &j, 403, "Forbidden", "PolicyNotSatisfied");
    free(tok);
}

static void test_deny_wrong_signer_and_measurement(void **st)
{
    (void)st;
    json_t *j = NULL;
    char pol[512];
    snprintf(pol, sizeof pol, "{\"claim\":\"x-ms-sgx-mrsigner\",\"equals\":\"%s\"}", g_signer_hex);
    create_releasable("d-sig", "\"kty\":\"oct\"", pol);
    char *good = attest_token(g_runtime, 0, 0x5a, 3), *bad = attest_token(g_runtime, 0, 0x11, 3);
    assert_int_equal(release(good, "d-sig", NULL, NULL, &j), 200); /* the control */
    json_decref(j);
    vexpect(release(bad, "d-sig", NULL, NULL, &j), &j, 403, "Forbidden", "PolicyNotSatisfied");
    create_releasable("d-mre", "\"kty\":\"oct\"",
                      "{\"claim\":\"x-ms-sgx-mrenclave\",\"equals\":"
                      "\"0000000000000000000000000000000000000000000000000000000000000000\"}");
    vexpect(release(good, "d-mre", NULL, NULL, &j), &j, 403, "Forbidden", "PolicyNotSatisfied");
    free(good);
    free(bad);
}

static void test_deny_low_svn(void **st)
{
    (void)st;
    json_t *j = NULL;
    create_releasable("d-svn", "\"kty\":\"oct\"", good_policy);
    char *tok = attest_token(g_runtime, 0, 0x5a, 1);
    vexpect(release(tok, "d-svn", NULL, NULL, &j), &j, 403, "Forbidden", "PolicyNotSatisfied");
    free(tok);
}

static void test_deny_time(void **st)
{
    (void)st;
    json_t *j = NULL;
    create_releasable("d-time", "\"kty\":\"oct\"", good_policy);
    char *tok = attest_token(g_runtime, 0, 0x5a, 3);
    cloak_vault_service_config c = {.test_time = time(NULL) + 9 * 3600}; /* tokens last 8 h */
    vfix_stop_vault();
    vfix_start_vault(&c, 1);
    vexpect(release(tok, "d-time", NULL, NULL, &j), &j, 403, "Forbidden", "TokenExpired");
    vfix_stop_vault();
    c.test_time = time(NULL) - 3600;
    vfix_start_vault(&c, 1);
    vexpect(release(tok, "d-time", NULL, NULL, &j), &j, 403, "Forbidden", "TokenNotYetValid");
    vfix_stop_vault();
    vfix_start_vault(NULL, 1);
    free(tok);
}

static void test_deny_untrusted_issuer(void **st)
{
    (void)st;
    cloak_error e = {0};
    json_t *j = NULL;
    create_releasable("d-iss", "\"kty\":\"oct\"", good_policy);
    /* a second, untrusted attestation service on the same platform */
    char *dir = dcap_tmpdir();
    cloak_attest_service *other = NULL;
    cloak_attest_service_config ac = {.data_dir = dir, .platform_dir = F.plat_dir, .allow_sim = 1};
    if (cloak_attest_service_new(&ac, &other, &e) || cloak_attest_service_start(other, &e))
        fail_msg("%s", e.msg);
    cloak_attest_service *saved = F.as;
    char saved_url[128];
    snprintf(saved_url, sizeof saved_url, "%s", F.attest_url);
    F.as = other;
    snprintf(F.attest_url, sizeof F.attest_url, "%s", cloak_attest_service_issuer(other));
    char *tok = attest_token(g_runtime, 0, 0x5a, 3);
    F.as = saved;
    snprintf(F.attest_url, sizeof F.attest_url, "%s", saved_url);
    vexpect(release(tok, "d-iss", NULL, NULL, &j), &j, 403, "Forbidden", "UntrustedIssuer");
    cloak_attest_service_stop(other);
    cloak_attest_service_free(other);
    dcap_rm_rf(dir);
    free(tok);
}

/* Tokens made here: the trusted iss and claims, but an unknown key, no signature, or a broken
 * one. */
static char *forge(const char *kid, int unsecured)
{
    cloak_error e = {0};
    time_t now = time(NULL);
    json_t *claims =
        json_pack("{s:s,s:I,s:I,s:I,s:b,s:i,s:s}", "iss", F.attest_url, "iat", (json_int_t)now,
                  "nbf", (json_int_t)now, "exp", (json_int_t)now + 600, "x-ms-sgx-is-debuggable", 0,
                  "x-ms-sgx-svn", 3, "x-ms-attestation-type", "sgx");
    json_object_set_new(claims, "x-ms-runtime", json_loads(g_runtime, 0, NULL));
    char *p = json_dumps(claims, JSON_COMPACT), *out = NULL;
    json_t *h = json_pack("{s:s,s:s}", "kid", kid, "typ", "JWT");
    if (unsecured) {
        if (cloak_jws_sign_unsecured(h, (const uint8_t *)p, strlen(p), &out, &e))
            fail_msg("%s", e.msg);
    } else {
        EVP_PKEY *k = EVP_RSA_gen(2048);
        if (cloak_jws_sign(k, CLOAK_JWS_RS256, h, (const uint8_t *)p, strlen(p), &out, &e))
            fail_msg("%s", e.msg);
        EVP_PKEY_free(k);
    }
    json_decref(h);
    json_decref(claims);
    free(p);
    return out;
}

static void test_deny_unknown_key_none_and_bad_signature(void **st)
{
    (void)st;
    json_t *j = NULL;
    create_releasable("d-forge", "\"kty\":\"oct\"", good_policy);
    char *t = forge("no-such-kid", 0);
    vexpect(release(t, "d-forge", NULL, NULL, &j), &j, 403, "Forbidden", "UnknownSigningKey");
    free(t);
    t = forge("whatever", 1);
    vexpect(release(t, "d-forge", NULL, NULL, &j), &j, 403, "Forbidden", "UnsecuredToken");
    free(t);
    t = attest_token(g_runtime, 0, 0x5a, 3);
    size_t n = strlen(t);
    t[n - 5] = t[n - 5] == 'A' ? 'B' : 'A';
    vexpect(release(t, "d-forge", NULL, NULL, &j), &j, 403, "Forbidden", "InvalidSignature");
    free(t);
}

static void test_deny_not_exportable(void **st)
{
    (void)st;
    json_t *j = NULL;
    assert_int_equal(
        vcall(F.admin, "POST", "/keys/d-noexp/create" Q, "{\"kty\":\"oct\"}", NULL, NULL, 0), 200);
    char *tok = attest_token(g_runtime, 0, 0x5a, 3);
    vexpect(release(tok, "d-noexp", NULL, NULL, &j), &j, 403, "Forbidden", "KeyNotExportable");
    free(tok);
}

/* The release policy envelope {"contentType","data"} of the authority's allOf `allof`. */
static char *policy_env(const char *allof)
{
    char *pol = NULL, *env = NULL;
    assert_true(asprintf(&pol,
                         "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"%s/\","
                         "\"allOf\":[%s]}]}",
                         F.attest_url, allof) > 0);
    char *pb = tb64url((const uint8_t *)pol, strlen(pol));
    assert_true(asprintf(&env, "{\"contentType\":\"application/json\",\"data\":\"%s\"}", pb) > 0);
    free(pb);
    free(pol);
    return env;
}

static void patch_key(const char *name, const char *body)
{
    char path[128];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/keys/%s" Q, name);
    long st = vcall(F.admin, "PATCH", path, body, &j, NULL, 0);
    if (st != 200) fail_msg("PATCH %s: %ld", name, st);
    json_decref(j);
}

/* The released bundle's policy (decoded data) contains `want`, its tag t is `tag`. */
static void released_bundle_has(json_t *reply, const char *want, const char *tag)
{
    size_t n, dl;
    json_t *bundle = NULL;
    uint8_t *k = open_release(reply, "CKM_RSA_AES_KEY_WRAP", &n, &bundle);
    assert_int_equal(n, 32); /* the oct key itself */
    const char *data =
        json_string_value(json_object_get(json_object_get(bundle, "release_policy"), "data"));
    assert_non_null(data);
    uint8_t *doc = tb64url_dec(data, &dl);
    char *d = strndup((const char *)doc, dl);
    if (!strstr(d, want)) fail_msg("released policy %s lacks %s", d, want);
    const char *t = json_string_value(json_object_get(json_object_get(bundle, "tags"), "t"));
    if (tag)
        assert_string_equal(t, tag);
    else
        assert_null(t);
    free(d);
    free(doc);
    free(k);
    json_decref(bundle);
}

#define SVN_GE(n) "{\"claim\":\"x-ms-sgx-svn\",\"greaterOrEquals\":" #n "}"

/* The parsed release policy and bundle are kept per key version's exact metadata: two keys with
 * different policies each get their own, and an update (policy, enabled, tags) is in force for
 * the very next release. */
static void test_policy_cache_follows_updates(void **st)
{
    (void)st;
    json_t *j = NULL;
    create_releasable("c-pol-a", "\"kty\":\"oct\"", SVN_GE(2));
    create_releasable("c-pol-b", "\"kty\":\"oct\"", SVN_GE(5));
    char *tok = attest_token(g_runtime, 0, 0x5a, 3);
    for (int round = 0; round < 2; round++) { /* the second round is served from the cache */
        assert_int_equal(release(tok, "c-pol-a", NULL, NULL, &j), 200);
        released_bundle_has(j, "\"greaterOrEquals\":2", NULL);
        json_decref(j);
        j = NULL;
        vexpect(release(tok, "c-pol-b", NULL, NULL, &j), &j, 403, "Forbidden",
                "PolicyNotSatisfied");
    }
    /* swap the policies */
    char *e5 = policy_env(SVN_GE(5)), *e2 = policy_env(SVN_GE(2)), *body = NULL;
    assert_true(asprintf(&body, "{\"release_policy\":%s}", e5) > 0);
    patch_key("c-pol-a", body);
    free(body);
    assert_true(asprintf(&body, "{\"release_policy\":%s,\"tags\":{\"t\":\"v2\"}}", e2) > 0);
    patch_key("c-pol-b", body);
    free(body);
    vexpect(release(tok, "c-pol-a", NULL, NULL, &j), &j, 403, "Forbidden", "PolicyNotSatisfied");
    assert_int_equal(release(tok, "c-pol-b", NULL, NULL, &j), 200);
    released_bundle_has(j, "\"greaterOrEquals\":2", "v2");
    json_decref(j);
    j = NULL;
    /* tags only: the released bundle follows */
    patch_key("c-pol-b", "{\"tags\":{\"t\":\"v3\"}}");
    assert_int_equal(release(tok, "c-pol-b", NULL, NULL, &j), 200);
    released_bundle_has(j, "\"greaterOrEquals\":2", "v3");
    json_decref(j);
    j = NULL;
    /* disabled, then enabled again */
    patch_key("c-pol-b", "{\"attributes\":{\"enabled\":false}}");
    vexpect(release(tok, "c-pol-b", NULL, NULL, &j), &j, 403, "Forbidden", "KeyDisabled");
    patch_key("c-pol-b", "{\"attributes\":{\"enabled\":true}}");
    assert_int_equal(release(tok, "c-pol-b", NULL, NULL, &j), 200);
    json_decref(j);
    j = NULL;
    /* expired */
    assert_true(asprintf(&body, "{\"attributes\":{\"exp\":%lld}}", (long long)time(NULL) - 60) > 0);
    patch_key("c-pol-b", body);
    free(body);
    vexpect(release(tok, "c-pol-b", NULL, NULL, &j), &j, 403, "Forbidden", "KeyExpired");
    free(e5);
    free(e2);
    free(tok);
}

/* More keys than the cache holds (64), alternating two policies, twice over: every answer
 * follows its own key's policy, also after eviction. */
static void test_policy_cache_many_keys(void **st)
{
    (void)st;
    json_t *j = NULL;
    char name[32];
    for (int i = 0; i < 70; i++) {
        snprintf(name, sizeof name, "c-many-%d", i);
        create_releasable(name, "\"kty\":\"oct\"", i % 2 ? SVN_GE(5) : SVN_GE(2));
    }
    char *tok = attest_token(g_runtime, 0, 0x5a, 3);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 70; i++) {
            snprintf(name, sizeof name, "c-many-%d", i);
            long stt = release(tok, name, NULL, NULL, &j);
            if (i % 2) {
                vexpect(stt, &j, 403, "Forbidden", "PolicyNotSatisfied");
            } else {
                assert_int_equal(stt, 200);
                json_decref(j);
                j = NULL;
            }
        }
    }
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_rsa),
        cmocka_unit_test(test_release_oct_each_enc),
        cmocka_unit_test(test_deny_debug),
        cmocka_unit_test(test_deny_sim_when_hardware_required),
        cmocka_unit_test(test_deny_wrong_signer_and_measurement),
        cmocka_unit_test(test_deny_low_svn),
        cmocka_unit_test(test_deny_time),
        cmocka_unit_test(test_deny_untrusted_issuer),
        cmocka_unit_test(test_deny_unknown_key_none_and_bad_signature),
        cmocka_unit_test(test_deny_not_exportable),
        cmocka_unit_test(test_policy_cache_follows_updates),
        cmocka_unit_test(test_policy_cache_many_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
