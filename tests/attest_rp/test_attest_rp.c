/* The attestation relying party and client against an in-process fixture issuer: the http
 * server core on 127.0.0.1:0 (TLS material in a mkdtemp directory) serving OIDC metadata and a
 * JWKS for keys generated here, with x5c holding self-signed certificates. Tokens are signed
 * here with cloak_jws_sign (or built by hand for alg none / HS256). The fixture counts the
 * requests it serves, so the cache and the refetch rule are checked from the server's side.
 * The client side is checked by a fixture POST /attest/SgxEnclave that inspects the body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloak/attest.h"
#include "cloak/http.h"
#include "cloak/jose.h"

#include "attest/rp_int.h"

static char dir[64];
static cloak_http_server *srv;
static char base[96];    /* https://localhost:PORT: the fixture issuer */
static char ip_base[96]; /* https://127.0.0.1:PORT: the same server, another origin */
static char ca_path[4200];
static EVP_PKEY *k1, *k2, *kec;
static X509 *c1, *c2;

static pthread_mutex_t fx_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *fx_jwks;            /* what GET /certs serves (under fx_lock) */
static atomic_int n_meta, n_certs; /* requests served */
static atomic_int n_attest;
static char fx_shape_error[256]; /* what the /attest fixture disliked (under fx_lock) */

#define QUOTE_BYTES "\x03\x00\x02\x00quote-bytes\xff\xfe"
#define RUNTIME_JSON "{\"keys\":[{\"kid\":\"k\"}]}"

/* ---- the fixture issuer ---- */

static void h_meta(cloak_http_req *req)
{
    atomic_fetch_add(&n_meta, 1);
    const char *tenant = cloak_http_param(req, "tenant");
    char iss[160], jwks[160];
    snprintf(iss, sizeof iss, "%s%s%s", base, tenant ? "/" : "", tenant ? tenant : "");
    snprintf(jwks, sizeof jwks, "%s/certs", base);
    if (tenant && !strcmp(tenant, "evil")) snprintf(jwks, sizeof jwks, "%s/certs", ip_base);
    if (tenant && !strcmp(tenant, "gone")) {
        cloak_http_reply_error(req, 404, "NotFound", "no such tenant");
        return;
    }
    if (tenant && !strcmp(tenant, "liar")) snprintf(iss, sizeof iss, "https://someone.else");
    cloak_http_reply_json(req, 200,
                          json_pack("{s:s,s:s,s:[s,s],s:[s],s:[s]}", "issuer", iss, "jwks_uri",
                                    jwks, "response_types_supported", "token", "none",
                                    "id_token_signing_alg_values_supported", "RS256",
                                    "claims_supported", "x-ms-ver"));
}

static void h_certs(cloak_http_req *req)
{
    atomic_fetch_add(&n_certs, 1);
    pthread_mutex_lock(&fx_lock);
    json_t *j = json_deep_copy(fx_jwks);
    pthread_mutex_unlock(&fx_lock);
    cloak_http_reply_json(req, 200, j);
}

static void shape_error(const char *msg)
{
    pthread_mutex_lock(&fx_lock);
    if (!fx_shape_error[0]) snprintf(fx_shape_error, sizeof fx_shape_error, "%s", msg);
    pthread_mutex_unlock(&fx_lock);
}

/* Decode a base64url field, refusing padding and the standard alphabet (azure-api.md §1). */
static uint8_t *b64url_field(const json_t *o, const char *name, size_t *len)
{
    const char *s = json_string_value(json_object_get(o, name));
    if (!s || strpbrk(s, "+/=")) return NULL;
    uint8_t *p = NULL;
    cloak_error e = {0};
    if (cloak_base64url_decode(s, strlen(s), &p, len, &e)) return NULL;
    return p;
}

static void h_attest_sgx(cloak_http_req *req)
{
    atomic_fetch_add(&n_attest, 1);
    json_t *b = cloak_http_body_json(req);
    if (!b) return;
    const char *api = cloak_http_query(req, "api-version");
    const char *ct = cloak_http_header(req, "Content-Type");
    if (!api || strcmp(api, CLOAK_ATTEST_API_VERSION)) shape_error("api-version missing or wrong");
    if (!ct || !strstr(ct, "application/json")) shape_error("Content-Type is not application/json");
    size_t ql = 0, rl = 0;
    uint8_t *q = b64url_field(b, "quote", &ql);
    if (q && ql == 3 && !memcmp(q, "bad", 3)) {
        free(q);
        cloak_http_reply_error(req, 400, "InvalidParameter",
                               "quote signature does not verify (offset 0x1b0)");
        return;
    }
    if (!q || ql != sizeof QUOTE_BYTES - 1 || memcmp(q, QUOTE_BYTES, ql))
        shape_error("quote not base64url of the evidence");
    json_t *rd = json_object_get(b, "runtimeData");
    uint8_t *r = b64url_field(rd, "data", &rl);
    const char *dt = json_string_value(json_object_get(rd, "dataType"));
    if (!r || rl != strlen(RUNTIME_JSON) || memcmp(r, RUNTIME_JSON, rl))
        shape_error("runtimeData.data wrong");
    if (!dt || strcmp(dt, "JSON")) shape_error("runtimeData.dataType is not JSON");
    const char *nonce = json_string_value(json_object_get(b, "nonce"));
    if (!nonce || strcmp(nonce, "n0nce")) shape_error("nonce missing");
    if (json_object_size(b) != 3 || json_object_size(rd) != 2) shape_error("unexpected members");
    free(q);
    free(r);
    cloak_http_reply_json(req, 200, json_pack("{s:s}", "token", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"));
}

static const cloak_http_route routes[] = {
    {"GET", "/.well-known/openid-configuration", NULL, 0, h_meta},
    {"GET", "/{tenant}/.well-known/openid-configuration", NULL, 0, h_meta},
    {"GET", "/certs", NULL, 0, h_certs},
    {"POST", "/attest/SgxEnclave", NULL, 0, h_attest_sgx},
};

/* ---- keys, JWKS and tokens ---- */

static X509 *self_signed(EVP_PKEY *k)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"fixture issuer", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    return x;
}

/* A JWK for `k` with x5c; `maa_shape` keeps only kid, kty and x5c, as MAA publishes them. */
static json_t *jwk_for(EVP_PKEY *k, X509 *cert, const char *kid, int maa_shape)
{
    cloak_jwk_opts o = {.kid = kid, .x5c = &cert, .nx5c = 1};
    json_t *j = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_jwk_export(k, &o, &j, &e), CLOAK_OK);
    if (maa_shape) {
        json_object_del(j, "n");
        json_object_del(j, "e");
    }
    return j;
}

static void set_jwks(json_t *keys)
{
    pthread_mutex_lock(&fx_lock);
    json_decref(fx_jwks);
    fx_jwks = json_pack("{s:o}", "keys", keys);
    pthread_mutex_unlock(&fx_lock);
}

static void jwks_k1_only(void)
{
    set_jwks(json_pack("[o]", jwk_for(k1, c1, "k1", 1)));
}

static char *sign_token(EVP_PKEY *k, cloak_jws_alg alg, const char *kid, const char *iss,
                        long long iat, long long nbf, long long exp)
{
    json_t *h = json_pack("{s:s,s:s}", "kid", kid, "typ", "JWT");
    json_t *c = json_pack("{s:s,s:I,s:I,s:I,s:s,s:s}", "iss", iss, "iat", (json_int_t)iat, "nbf",
                          (json_int_t)nbf, "exp", (json_int_t)exp, "x-ms-attestation-type", "sgx",
                          "jti", "j1");
    char *p = json_dumps(c, JSON_COMPACT);
    char *t = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_jws_sign(k, alg, h, (const uint8_t *)p, strlen(p), &t, &e), CLOAK_OK);
    free(p);
    json_decref(c);
    json_decref(h);
    return t;
}

static char *good_token(const char *kid, EVP_PKEY *k)
{
    long long now = (long long)time(NULL);
    return sign_token(k, CLOAK_JWS_RS256, kid, base, now, now, now + 8 * 3600);
}

static cloak_attest_rp *new_rp(const char *issuer, unsigned refresh_interval)
{
    const char *issuers[] = {issuer ? issuer : base, NULL};
    cloak_attest_rp_config cfg = {
        .issuers = issuers, .ca_file = ca_path, .refresh_interval_seconds = refresh_interval};
    cloak_attest_rp *rp = NULL;
    cloak_error e = {0};
    cloak_err rc = cloak_attest_rp_new(&cfg, &rp, &e);
    if (rc) fprintf(stderr, "rp_new: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    return rp;
}

/* Verify and expect failure with `code` and a message containing each of the NULL-terminated
 * fragments. */
static void expect_refused(cloak_attest_rp *rp, const char *token, time_t now, cloak_err code, ...)
{
    json_t *claims = (json_t *)0x1; /* must stay untouched */
    cloak_error e = {0};
    cloak_err rc = cloak_attest_rp_verify(rp, token, strlen(token), now, &claims, &e);
    fprintf(stderr, "  refused as expected? rc=%d: %s\n", rc, e.msg);
    assert_int_equal(rc, code);
    assert_ptr_equal(claims, (json_t *)0x1);
    va_list ap;
    va_start(ap, code);
    for (const char *frag; (frag = va_arg(ap, const char *));) {
        if (!strstr(e.msg, frag)) fprintf(stderr, "missing \"%s\" in \"%s\"\n", frag, e.msg);
        assert_non_null(strstr(e.msg, frag));
    }
    va_end(ap);
}

static json_t *expect_ok(cloak_attest_rp *rp, const char *token, time_t now)
{
    json_t *claims = NULL;
    cloak_error e = {0};
    cloak_err rc = cloak_attest_rp_verify(rp, token, strlen(token), now, &claims, &e);
    if (rc) fprintf(stderr, "verify: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    assert_true(json_is_object(claims));
    return claims;
}

/* ---- setup ---- */

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/cloak-attestrp-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    k1 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k2 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    kec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!k1 || !k2 || !kec) return -1;
    c1 = self_signed(k1);
    c2 = self_signed(k2);
    jwks_k1_only();
    cloak_http_config cfg = {0};
    char tls[128];
    snprintf(tls, sizeof tls, "%s/tls", dir);
    cfg.tls_dir = tls;
    cfg.routes = routes;
    cfg.nroutes = sizeof routes / sizeof *routes;
    cloak_error e = {0};
    if (cloak_http_server_new(&cfg, &srv, &e) || cloak_http_server_start(srv, &e)) {
        fprintf(stderr, "server: %s\n", e.msg);
        return -1;
    }
    snprintf(base, sizeof base, "https://localhost:%u", cloak_http_server_port(srv));
    snprintf(ip_base, sizeof ip_base, "https://127.0.0.1:%u", cloak_http_server_port(srv));
    snprintf(ca_path, sizeof ca_path, "%s", cloak_http_server_tls(srv)->ca);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (srv) cloak_http_server_free(srv);
    json_decref(fx_jwks);
    X509_free(c1);
    X509_free(c2);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(kec);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- relying party ---- */

static void test_valid_token_returns_claims(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    char *t = good_token("k1", k1);
    json_t *c = expect_ok(rp, t, time(NULL));
    assert_string_equal(json_string_value(json_object_get(c, "iss")), base);
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-attestation-type")), "sgx");
    json_decref(c);
    /* a trailing slash on iss names the same issuer (Azure CVM tokens carry one) */
    char iss[128];
    snprintf(iss, sizeof iss, "%s/", base);
    long long now = (long long)time(NULL);
    char *t2 = sign_token(k1, CLOAK_JWS_RS256, "k1", iss, now, now, now + 60);
    json_decref(expect_ok(rp, t2, time(NULL)));
    /* and so does a trailing slash on the configured issuer; a newline after the token (stdin) is
     * fine */
    cloak_attest_rp *rp2 = new_rp(iss, 0);
    size_t n = strlen(t);
    char *tn = malloc(n + 2);
    memcpy(tn, t, n);
    memcpy(tn + n, "\n", 2);
    json_decref(expect_ok(rp2, tn, time(NULL)));
    free(tn);
    free(t2);
    free(t);
    cloak_attest_rp_free(rp2);
    cloak_attest_rp_free(rp);
}

static void test_expired_and_not_yet_valid_refused(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    long long now = (long long)time(NULL);
    char *expired =
        sign_token(k1, CLOAK_JWS_RS256, "k1", base, now - 9 * 3600, now - 9 * 3600, now - 3600);
    expect_refused(rp, expired, (time_t)now, CLOAK_EVERIFY, "expired", base, NULL);
    char *future = sign_token(k1, CLOAK_JWS_RS256, "k1", base, now, now + 3600, now + 7200);
    expect_refused(rp, future, (time_t)now, CLOAK_EVERIFY, "not valid before", NULL);
    /* the verification time is the caller's: the expired token verifies at a time it was valid */
    json_decref(expect_ok(rp, expired, (time_t)(now - 2 * 3600)));
    free(expired);
    free(future);
    cloak_attest_rp_free(rp);
}

static void test_times_within_slack_accepted(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    long long now = (long long)time(NULL);
    /* expired 30 s ago, valid from 30 s ahead: both inside the default 60 s slack */
    char *t = sign_token(k1, CLOAK_JWS_RS256, "k1", base, now, now + 30, now - 30);
    json_decref(expect_ok(rp, t, (time_t)now));
    /* ... but not inside a configured zero slack */
    const char *issuers[] = {base, NULL};
    cloak_attest_rp_config cfg = {
        .issuers = issuers, .ca_file = ca_path, .slack_seconds = CLOAK_ATTEST_SLACK_NONE};
    cloak_attest_rp *strict = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_attest_rp_new(&cfg, &strict, &e), CLOAK_OK);
    expect_refused(strict, t, (time_t)now, CLOAK_EVERIFY, "expired", NULL);
    /* 61 s is beyond the default slack */
    char *t2 = sign_token(k1, CLOAK_JWS_RS256, "k1", base, now - 100, now - 100, now - 61);
    expect_refused(rp, t2, (time_t)now, CLOAK_EVERIFY, "expired", NULL);
    free(t);
    free(t2);
    cloak_attest_rp_free(strict);
    cloak_attest_rp_free(rp);
}

static void test_untrusted_issuer_refused_without_any_fetch(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    long long now = (long long)time(NULL);
    char *t = sign_token(k1, CLOAK_JWS_RS256, "k1", "https://attacker.example", now, now, now + 60);
    expect_refused(rp, t, (time_t)now, CLOAK_EPERM, "not a trusted issuer",
                   "https://attacker.example", NULL);
    /* the same server under another origin is another issuer */
    char *t2 = sign_token(k1, CLOAK_JWS_RS256, "k1", ip_base, now, now, now + 60);
    expect_refused(rp, t2, (time_t)now, CLOAK_EPERM, "not a trusted issuer", NULL);
    assert_int_equal(cloak_attest_rp_fetch_count(rp), 0);
    free(t);
    free(t2);
    cloak_attest_rp_free(rp);
}

static void test_unknown_kid_refetches_once_after_rotation(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 300);
    char *t1 = good_token("k1", k1), *t2 = good_token("k2", k2), *tx = good_token("nope", k2);
    json_decref(expect_ok(rp, t1, time(NULL)));
    int certs0 = atomic_load(&n_certs);
    /* the issuer rotates: k2 joins (with n/e and x5c this time), k1 stays for its tokens */
    set_jwks(json_pack("[o,o]", jwk_for(k2, c2, "k2", 0), jwk_for(k1, c1, "k1", 1)));
    json_decref(expect_ok(rp, t2, time(NULL)));
    assert_int_equal(atomic_load(&n_certs), certs0 + 1);
    /* the new key is cached now; so is the old one */
    json_decref(expect_ok(rp, t2, time(NULL)));
    json_decref(expect_ok(rp, t1, time(NULL)));
    assert_int_equal(atomic_load(&n_certs), certs0 + 1);
    /* a kid nobody publishes: refused, and no refetch inside the refresh interval (no storms) */
    for (int i = 0; i < 5; i++)
        expect_refused(rp, tx, time(NULL), CLOAK_ENOTFOUND, "kid \"nope\"", "/certs", NULL);
    assert_int_equal(atomic_load(&n_certs), certs0 + 1);
    /* a fresh relying party with an unknown kid fetches once (its first load) and not again */
    cloak_attest_rp *rp2 = new_rp(NULL, 300);
    expect_refused(rp2, tx, time(NULL), CLOAK_ENOTFOUND, "not in the JWKS", NULL);
    assert_int_equal(cloak_attest_rp_fetch_count(rp2), 2); /* metadata + JWKS */
    jwks_k1_only();
    free(t1);
    free(t2);
    free(tx);
    cloak_attest_rp_free(rp2);
    cloak_attest_rp_free(rp);
}

/* A compact JWS with the given header and a junk signature. */
static char *hand_made(const char *header_json, const char *sig)
{
    long long now = (long long)time(NULL);
    char payload[256];
    snprintf(payload, sizeof payload, "{\"iss\":\"%s\",\"exp\":%lld}", base, now + 60);
    char *h = cloak_base64url_encode((const uint8_t *)header_json, strlen(header_json));
    char *p = cloak_base64url_encode((const uint8_t *)payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *t = malloc(n);
    snprintf(t, n, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return t;
}

static void test_alg_none_refused(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    char *t = hand_made("{\"alg\":\"none\",\"kid\":\"k1\"}", "");
    expect_refused(rp, t, time(NULL), CLOAK_EPERM, "alg \"none\"", NULL);
    assert_int_equal(cloak_attest_rp_fetch_count(rp), 0);
    free(t);
    cloak_attest_rp_free(rp);
}

static void test_hs256_and_es256_refused_when_only_rs256_allowed(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    char *hs = hand_made("{\"alg\":\"HS256\",\"kid\":\"k1\"}", "c2lnbmF0dXJl");
    expect_refused(rp, hs, time(NULL), CLOAK_EPERM, "alg \"HS256\" is not allowed", "RS256", NULL);
    long long now = (long long)time(NULL);
    char *es = sign_token(kec, CLOAK_JWS_ES256, "k1", base, now, now, now + 60);
    expect_refused(rp, es, time(NULL), CLOAK_EPERM, "alg \"ES256\" is not allowed (allowed: RS256)",
                   NULL);
    assert_int_equal(cloak_attest_rp_fetch_count(rp), 0);
    free(hs);
    free(es);
    cloak_attest_rp_free(rp);
}

static void test_bad_signature_refused(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    /* signed by k2 but naming k1 */
    char *t = good_token("k1", k2);
    expect_refused(rp, t, time(NULL), CLOAK_EVERIFY, "bad token signature", "\"k1\"", NULL);
    /* one flipped payload character under k1's genuine signature */
    char *g = good_token("k1", k1);
    char *dot = strchr(g, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    cloak_error e = {0};
    json_t *c = NULL;
    cloak_err rc = cloak_attest_rp_verify(rp, g, strlen(g), time(NULL), &c, &e);
    assert_true(rc == CLOAK_EVERIFY || rc == CLOAK_EINVAL); /* the flip may break the JSON first */
    assert_null(c);
    free(g);
    free(t);
    cloak_attest_rp_free(rp);
}

static void test_jwks_uri_on_another_origin_refused(void **state)
{
    (void)state;
    char iss[128];
    snprintf(iss, sizeof iss, "%s/evil", base);
    cloak_attest_rp *rp = new_rp(iss, 0);
    int certs0 = atomic_load(&n_certs);
    long long now = (long long)time(NULL);
    char *t = sign_token(k1, CLOAK_JWS_RS256, "k1", iss, now, now, now + 60);
    expect_refused(rp, t, (time_t)now, CLOAK_EPERM, "outside the issuer's origin", ip_base, NULL);
    assert_int_equal(atomic_load(&n_certs), certs0); /* never fetched */
    free(t);
    cloak_attest_rp_free(rp);
    /* metadata that names another issuer is refused too (OIDC Discovery §4.3) */
    snprintf(iss, sizeof iss, "%s/liar", base);
    rp = new_rp(iss, 0);
    t = sign_token(k1, CLOAK_JWS_RS256, "k1", iss, now, now, now + 60);
    expect_refused(rp, t, (time_t)now, CLOAK_EPERM, "names issuer \"https://someone.else\"", NULL);
    free(t);
    cloak_attest_rp_free(rp);
}

static void test_fetch_failure_names_url_and_reason(void **state)
{
    (void)state;
    /* HTTP error */
    char iss[128], url[200];
    snprintf(iss, sizeof iss, "%s/gone", base);
    snprintf(url, sizeof url, "%s/.well-known/openid-configuration", iss);
    cloak_attest_rp *rp = new_rp(iss, 0);
    long long now = (long long)time(NULL);
    char *t = sign_token(k1, CLOAK_JWS_RS256, "k1", iss, now, now, now + 60);
    expect_refused(rp, t, (time_t)now, CLOAK_EIO, url, "HTTP 404", NULL);
    free(t);
    cloak_attest_rp_free(rp);
    /* a stopped issuer: bind a server, note its port, free it, then ask it */
    cloak_http_config cfg = {0};
    char tls[128];
    snprintf(tls, sizeof tls, "%s/tls", dir);
    cfg.tls_dir = tls;
    cfg.routes = routes;
    cfg.nroutes = sizeof routes / sizeof *routes;
    cloak_http_server *gone = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_http_server_new(&cfg, &gone, &e), CLOAK_OK);
    snprintf(iss, sizeof iss, "https://localhost:%u", cloak_http_server_port(gone));
    cloak_http_server_free(gone);
    snprintf(url, sizeof url, "%s/.well-known/openid-configuration", iss);
    rp = new_rp(iss, 0);
    t = sign_token(k1, CLOAK_JWS_RS256, "k1", iss, now, now, now + 60);
    expect_refused(rp, t, (time_t)now, CLOAK_EIO, url, "fetching OpenID metadata", NULL);
    free(t);
    cloak_attest_rp_free(rp);
}

static void test_cache_serves_repeated_verifies_without_refetching(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    int m0 = atomic_load(&n_meta), c0 = atomic_load(&n_certs);
    char *t = good_token("k1", k1);
    for (int i = 0; i < 20; i++)
        json_decref(expect_ok(rp, t, time(NULL)));
    assert_int_equal(atomic_load(&n_meta), m0 + 1);
    assert_int_equal(atomic_load(&n_certs), c0 + 1);
    assert_int_equal(cloak_attest_rp_fetch_count(rp), 2);
    free(t);
    cloak_attest_rp_free(rp);
}

typedef struct {
    cloak_attest_rp *rp;
    const char *token;
    int ok;
} verify_job;

static void *verify_thread(void *arg)
{
    verify_job *j = arg;
    for (int i = 0; i < 10; i++) {
        json_t *c = NULL;
        cloak_error e = {0};
        if (cloak_attest_rp_verify(j->rp, j->token, strlen(j->token), time(NULL), &c, &e) ==
            CLOAK_OK)
            j->ok++;
        json_decref(c);
    }
    return NULL;
}

static void test_concurrent_verifies_share_one_fetch(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    char *t = good_token("k1", k1);
    pthread_t th[8];
    verify_job jobs[8];
    for (int i = 0; i < 8; i++) {
        jobs[i] = (verify_job){rp, t, 0};
        assert_int_equal(pthread_create(&th[i], NULL, verify_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].ok, 10);
    }
    assert_int_equal(cloak_attest_rp_fetch_count(rp), 2);
    free(t);
    cloak_attest_rp_free(rp);
}

static void test_x5c_holding_another_key_refused(void **state)
{
    (void)state;
    /* n/e of k1 with k2's certificate: the JWK contradicts itself */
    json_t *bad = jwk_for(k1, c1, "mixed", 0);
    json_t *c2jwk = jwk_for(k2, c2, "x", 0);
    json_object_set(bad, "x5c", json_object_get(c2jwk, "x5c"));
    json_decref(c2jwk);
    set_jwks(json_pack("[o,o]", jwk_for(k1, c1, "k1", 1), bad));
    cloak_attest_rp *rp = new_rp(NULL, 0);
    char *t = good_token("mixed", k1);
    expect_refused(rp, t, time(NULL), CLOAK_EINVAL, "\"mixed\"", "cannot be used", "different key",
                   NULL);
    /* the good key of the same JWKS still works */
    char *g = good_token("k1", k1);
    json_decref(expect_ok(rp, g, time(NULL)));
    jwks_k1_only();
    free(g);
    free(t);
    cloak_attest_rp_free(rp);
}

static void test_malformed_tokens_and_config_refused(void **state)
{
    (void)state;
    cloak_attest_rp *rp = new_rp(NULL, 0);
    expect_refused(rp, "not-a-token", time(NULL), CLOAK_EINVAL, "malformed token", NULL);
    char *nokid = hand_made("{\"alg\":\"RS256\"}", "c2ln");
    expect_refused(rp, nokid, time(NULL), CLOAK_EINVAL, "no \"kid\"", NULL);
    free(nokid);
    /* a token without exp is refused: bearer credentials must expire */
    json_t *h = json_pack("{s:s}", "kid", "k1");
    char payload[160], *t = NULL;
    snprintf(payload, sizeof payload, "{\"iss\":\"%s\"}", base);
    cloak_error e = {0};
    assert_int_equal(
        cloak_jws_sign(k1, CLOAK_JWS_RS256, h, (const uint8_t *)payload, strlen(payload), &t, &e),
        0);
    expect_refused(rp, t, time(NULL), CLOAK_EVERIFY, "\"exp\"", NULL);
    free(t);
    json_decref(h);
    cloak_attest_rp_free(rp);
    /* configuration: https only, at least one issuer */
    const char *http_iss[] = {"http://localhost:1", NULL};
    const char *none[] = {NULL};
    cloak_attest_rp_config cfg = {.issuers = http_iss};
    cloak_attest_rp *out = (cloak_attest_rp *)0x1;
    assert_int_equal(cloak_attest_rp_new(&cfg, &out, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "https://"));
    cfg.issuers = none;
    assert_int_equal(cloak_attest_rp_new(&cfg, &out, &e), CLOAK_EINVAL);
    assert_ptr_equal(out, (cloak_attest_rp *)0x1);
}

static void test_cache_expires_after_ttl(void **state)
{
    (void)state;
    const char *issuers[] = {base, NULL};
    cloak_attest_rp_config cfg = {.issuers = issuers, .ca_file = ca_path, .cache_ttl_seconds = 1};
    cloak_attest_rp *rp = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_attest_rp_new(&cfg, &rp, &e), CLOAK_OK);
    char *t = good_token("k1", k1);
    json_decref(expect_ok(rp, t, time(NULL)));
    json_decref(expect_ok(rp, t, time(NULL)));
    assert_int_equal(cloak_attest_rp_fetch_count(rp), 2);
    struct timespec ts = {1, 200000000};
    nanosleep(&ts, NULL);
    json_decref(expect_ok(rp, t, time(NULL)));
    assert_int_equal(cloak_attest_rp_fetch_count(rp), 4);
    free(t);
    cloak_attest_rp_free(rp);
}

static void test_es256_accepted_when_allowed(void **state)
{
    (void)state;
    X509 *cec = self_signed(kec);
    set_jwks(json_pack("[o,o]", jwk_for(k1, c1, "k1", 1), jwk_for(kec, cec, "ec1", 0)));
    const char *issuers[] = {base, NULL};
    cloak_attest_rp_config cfg = {.issuers = issuers,
                                  .ca_file = ca_path,
                                  .algs = CLOAK_JWS_ALLOW(CLOAK_JWS_RS256) |
                                          CLOAK_JWS_ALLOW(CLOAK_JWS_ES256)};
    cloak_attest_rp *rp = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_attest_rp_new(&cfg, &rp, &e), CLOAK_OK);
    long long now = (long long)time(NULL);
    char *t = sign_token(kec, CLOAK_JWS_ES256, "ec1", base, now, now, now + 60);
    json_decref(expect_ok(rp, t, time(NULL)));
    /* an ES256 token naming an RSA key: the key does not fit the alg */
    char *bad = sign_token(kec, CLOAK_JWS_ES256, "k1", base, now, now, now + 60);
    expect_refused(rp, bad, time(NULL), CLOAK_EINVAL, "token", NULL);
    jwks_k1_only();
    free(bad);
    free(t);
    X509_free(cec);
    cloak_attest_rp_free(rp);
}

static void test_origin_and_url_rules(void **state)
{
    (void)state;
    assert_true(attest_same_origin("https://h:8443/certs", "https://H:8443/x/y"));
    assert_true(attest_same_origin("https://h/certs", "https://h:443"));
    assert_false(attest_same_origin("https://h:8443/certs", "https://h:8444"));
    assert_false(attest_same_origin("https://h.evil/certs", "https://h"));
    assert_false(attest_same_origin("https://h@evil/certs", "https://h"));
    assert_false(attest_same_origin("https://h:8443@evil:8443/certs", "https://h:8443"));
    assert_false(attest_same_origin("http://h/certs", "https://h"));
    assert_false(attest_same_origin("https://hh/certs", "https://h"));
    assert_true(attest_same_origin("https://[::1]:8443/certs", "https://[::1]:8443"));
    assert_false(attest_same_origin("https://[::1]:8443/certs", "https://[::2]:8443"));
    char *u = NULL;
    cloak_error e = {0};
    assert_int_equal(attest_url_normalize("https://h:1/a//", "issuer", &u, &e), CLOAK_OK);
    assert_string_equal(u, "https://h:1/a");
    free(u);
    assert_int_equal(attest_url_normalize("https://h/", "issuer", &u, &e), CLOAK_OK);
    assert_string_equal(u, "https://h");
    free(u);
    assert_int_equal(attest_url_normalize("https://h/?x=1", "issuer", &u, &e), CLOAK_EINVAL);
    assert_int_equal(attest_url_normalize("https://u@h/", "issuer", &u, &e), CLOAK_EINVAL);
    assert_int_equal(attest_url_normalize("https:///x", "issuer", &u, &e), CLOAK_EINVAL);
    assert_int_equal(attest_url_normalize("https://h/a b", "issuer", &u, &e), CLOAK_EINVAL);
}

/* ---- client ---- */

static void test_request_sends_azure_body_and_returns_token(void **state)
{
    (void)state;
    char *token = NULL;
    cloak_error e = {0};
    fx_shape_error[0] = 0;
    char svc[128];
    snprintf(svc, sizeof svc, "%s/", base); /* trailing slash tolerated */
    cloak_err rc = cloak_attest_request(svc, ca_path, CLOAK_TEE_SGX, (const uint8_t *)QUOTE_BYTES,
                                        sizeof QUOTE_BYTES - 1, (const uint8_t *)RUNTIME_JSON,
                                        strlen(RUNTIME_JSON), 1, "n0nce", &token, &e);
    if (rc) fprintf(stderr, "request: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    if (fx_shape_error[0]) fprintf(stderr, "fixture: %s\n", fx_shape_error);
    assert_string_equal(fx_shape_error, "");
    assert_string_equal(token, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
    free(token);
    /* runtime data claimed to be JSON must be JSON; nothing is sent */
    int n0 = atomic_load(&n_attest);
    token = NULL;
    assert_int_equal(cloak_attest_request(base, ca_path, CLOAK_TEE_SGX, (const uint8_t *)"q", 1,
                                          (const uint8_t *)"{nope", 5, 1, NULL, &token, &e),
                     CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "not JSON"));
    assert_int_equal(atomic_load(&n_attest), n0);
    assert_null(token);
}

static void test_request_error_reply_mapped_into_why(void **state)
{
    (void)state;
    char *token = NULL;
    cloak_error e = {0};
    cloak_err rc = cloak_attest_request(base, ca_path, CLOAK_TEE_SGX, (const uint8_t *)"bad", 3,
                                        NULL, 0, 0, NULL, &token, &e);
    fprintf(stderr, "  %s\n", e.msg);
    assert_int_equal(rc, CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "HTTP 400"));
    assert_non_null(strstr(e.msg, "InvalidParameter"));
    assert_non_null(strstr(e.msg, "quote signature does not verify (offset 0x1b0)"));
    assert_null(token);
    /* a route the service does not have (TdxVm on this fixture) is a 404 */
    rc = cloak_attest_request(base, ca_path, CLOAK_TEE_TDX, (const uint8_t *)"q", 1, NULL, 0, 0,
                              NULL, &token, &e);
    assert_int_equal(rc, CLOAK_ENOTFOUND);
    assert_non_null(strstr(e.msg, "HTTP 404"));
    /* plain http is refused before anything is sent */
    rc = cloak_attest_request("http://localhost:1", NULL, CLOAK_TEE_SGX, (const uint8_t *)"q", 1,
                              NULL, 0, 0, NULL, &token, &e);
    assert_int_equal(rc, CLOAK_EINVAL);
    assert_null(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_token_returns_claims),
        cmocka_unit_test(test_expired_and_not_yet_valid_refused),
        cmocka_unit_test(test_times_within_slack_accepted),
        cmocka_unit_test(test_untrusted_issuer_refused_without_any_fetch),
        cmocka_unit_test(test_unknown_kid_refetches_once_after_rotation),
        cmocka_unit_test(test_alg_none_refused),
        cmocka_unit_test(test_hs256_and_es256_refused_when_only_rs256_allowed),
        cmocka_unit_test(test_bad_signature_refused),
        cmocka_unit_test(test_jwks_uri_on_another_origin_refused),
        cmocka_unit_test(test_fetch_failure_names_url_and_reason),
        cmocka_unit_test(test_cache_serves_repeated_verifies_without_refetching),
        cmocka_unit_test(test_concurrent_verifies_share_one_fetch),
        cmocka_unit_test(test_x5c_holding_another_key_refused),
        cmocka_unit_test(test_malformed_tokens_and_config_refused),
        cmocka_unit_test(test_cache_expires_after_ttl),
        cmocka_unit_test(test_es256_accepted_when_allowed),
        cmocka_unit_test(test_origin_and_url_rules),
        cmocka_unit_test(test_request_sends_azure_body_and_returns_token),
        cmocka_unit_test(test_request_error_reply_mapped_into_why),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
