/* vault auth (src/vault/auth.c): the role table, local tokens end to end, each refusal with its
 * own message, the verified-token cache, and OIDC issuers served in-process (the http server
 * core on 127.0.0.1:0 with OIDC metadata and a JWKS for an RSA key made here).
 * Independent expectations: the role -> permission table is written out here from the header's
 * prose; a local token's ES256 signature is re-checked by OpenSSL directly (r||s -> DER by
 * hand) with the key read from DATA_DIR/token.key by PEM_read_PrivateKey; token.key's mode is
 * read with stat(2); forged tokens are assembled by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cloak/http.h"
#include "cloak/jose.h"
#include "vault/auth.h"

static char dir[64], data[128], data2[128];
static cloak_http_server *srv;
static char base[96], ca_path[4200];
static EVP_PKEY *oidc_key, *other_rsa;
static atomic_int n_meta, n_certs;

/* ---- fixture OIDC issuer ---- */

static void h_meta(cloak_http_req *req)
{
    atomic_fetch_add(&n_meta, 1);
    char jwks[160];
    snprintf(jwks, sizeof jwks, "%s/certs", base);
    cloak_http_reply_json(req, 200, json_pack("{s:s,s:s}", "issuer", base, "jwks_uri", jwks));
}

static void h_certs(cloak_http_req *req)
{
    atomic_fetch_add(&n_certs, 1);
    json_t *jwk = NULL;
    cloak_jwk_opts o = {.kid = "oidc-1"};
    cloak_error e = {0};
    if (cloak_jwk_export(oidc_key, &o, &jwk, &e)) {
        cloak_http_reply_error(req, 500, "Fixture", "%s", e.msg);
        return;
    }
    cloak_http_reply_json(req, 200, json_pack("{s:[o]}", "keys", jwk));
}

static const cloak_http_route routes[] = {
    {"GET", "/.well-known/openid-configuration", NULL, 0, h_meta},
    {"GET", "/certs", NULL, 0, h_certs},
};

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/cloak-vaultauth-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(data2, sizeof data2, "%s/other", dir);
    oidc_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    other_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (!oidc_key || !other_rsa) return -1;
    char tls[128];
    snprintf(tls, sizeof tls, "%s/tls", dir);
    cloak_http_config cfg = {.tls_dir = tls, .routes = routes, .nroutes = 2};
    cloak_error e = {0};
    if (cloak_http_server_new(&cfg, &srv, &e) || cloak_http_server_start(srv, &e)) {
        fprintf(stderr, "server: %s\n", e.msg);
        return -1;
    }
    snprintf(base, sizeof base, "https://localhost:%u", cloak_http_server_port(srv));
    snprintf(ca_path, sizeof ca_path, "%s", cloak_http_server_tls(srv)->ca);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cloak_http_server_free(srv);
    EVP_PKEY_free(oidc_key);
    EVP_PKEY_free(other_rsa);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static cloak_vault_auth *local_auth(const char *d)
{
    cloak_vault_auth_config cfg = {.data_dir = d};
    cloak_vault_auth *a = NULL;
    cloak_error e = {0};
    cloak_err rc = cloak_vault_auth_new(&cfg, &a, &e);
    if (rc) fprintf(stderr, "auth_new: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    return a;
}

static char *issue(const char *d, const char *role, const char *sub, unsigned ttl)
{
    char *t = NULL;
    cloak_error e = {0};
    cloak_err rc = cloak_vault_token_issue(d, role, sub, ttl, &t, &e);
    if (rc) fprintf(stderr, "issue: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    return t;
}

static char *bearer(const char *t)
{
    size_t n = strlen(t) + 8;
    char *h = malloc(n);
    assert_non_null(h);
    snprintf(h, n, "Bearer %s", t);
    return h;
}

/* Check and expect a refusal whose message holds `frag`; the message is copied to out. */
static void expect_refused(cloak_vault_auth *a, const char *hdr, time_t now, const char *frag,
                           char *out, size_t n)
{
    cloak_vault_principal who;
    memset(&who, 0x5a, sizeof who);
    cloak_error e = {0};
    cloak_err rc = cloak_vault_auth_check(a, hdr, now, &who, &e);
    if (rc != CLOAK_EPERM || !strstr(e.msg, frag))
        fprintf(stderr, "auth_check: rc %d \"%s\" (wanted \"%s\")\n", rc, e.msg, frag);
    assert_int_equal(rc, CLOAK_EPERM);
    assert_non_null(strstr(e.msg, frag));
    if (out) snprintf(out, n, "%s", e.msg);
}

static void expect_ok(cloak_vault_auth *a, const char *hdr, time_t now, cloak_vault_principal *who)
{
    cloak_error e = {0};
    cloak_err rc = cloak_vault_auth_check(a, hdr, now, who, &e);
    if (rc) fprintf(stderr, "auth_check: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
}

static EVP_PKEY *read_token_key(const char *d)
{
    char p[256];
    snprintf(p, sizeof p, "%s/token.key", d);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(k);
    return k;
}

static char *sign_claims(EVP_PKEY *k, cloak_jws_alg alg, const char *kid, json_t *claims)
{
    json_t *h = json_pack("{s:s}", "typ", "JWT");
    if (kid) json_object_set_new(h, "kid", json_string(kid));
    char *p = json_dumps(claims, JSON_COMPACT), *t = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_jws_sign(k, alg, h, (const uint8_t *)p, strlen(p), &t, &e), CLOAK_OK);
    free(p);
    json_decref(h);
    json_decref(claims);
    return t;
}

static json_t *b64json(const char *s, size_t n)
{
    uint8_t *raw = NULL;
    size_t rl = 0;
    cloak_error e = {0};
    assert_int_equal(cloak_base64url_decode(s, n, &raw, &rl, &e), CLOAK_OK);
    json_t *j = json_loadb((const char *)raw, rl, 0, NULL);
    free(raw);
    assert_non_null(j);
    return j;
}

/* ---- roles ---- */

#define P(x) CLOAK_VAULT_PERM_##x
#define NONE_HDR "{\"alg\":\"none\",\"typ\":\"JWT\"}"
static void test_role_permission_table(void **state)
{
    (void)state;
    const unsigned all = P(READ) | P(WRITE) | P(UPDATE) | P(DELETE) | P(DELETED) | P(RECOVER) |
                         P(PURGE) | P(BACKUP) | P(RESTORE) | P(ENCRYPT) | P(DECRYPT) | P(WRAP) |
                         P(UNWRAP) | P(SIGN) | P(VERIFY) | P(RELEASE) | P(RNG);
    const struct {
        const char *name, *display;
        unsigned perms;
    } want[] = {
        {"administrator", "Key Vault Administrator", all},
        {"crypto-officer", "Key Vault Crypto Officer", all},
        {"crypto-user", "Key Vault Crypto User",
         P(READ) | P(UPDATE) | P(BACKUP) | P(ENCRYPT) | P(DECRYPT) | P(WRAP) | P(UNWRAP) | P(SIGN) |
             P(VERIFY) | P(RNG)},
        {"crypto-service-encryption-user", "Key Vault Crypto Service Encryption User",
         P(READ) | P(WRAP) | P(UNWRAP)},
        {"crypto-service-release-user", "Key Vault Crypto Service Release User", P(RELEASE)},
        {"reader", "Key Vault Reader", P(READ)},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *canon = NULL;
        assert_int_equal(cloak_vault_role_perms(want[i].name, &canon), want[i].perms);
        assert_string_equal(canon, want[i].name);
        canon = NULL;
        assert_int_equal(cloak_vault_role_perms(want[i].display, &canon), want[i].perms);
        assert_string_equal(canon, want[i].name);
        char up[80];
        size_t k = 0;
        for (; want[i].display[k]; k++)
            up[k] = (char)(want[i].display[k] >= 'a' && want[i].display[k] <= 'z'
                               ? want[i].display[k] - 32
                               : want[i].display[k]);
        up[k] = 0;
        assert_int_equal(cloak_vault_role_perms(up, NULL), want[i].perms);
    }
    /* crypto-user: update but never create/import/delete/purge/release */
    unsigned cu = cloak_vault_role_perms("crypto-user", NULL);
    assert_false(cu & (P(WRITE) | P(DELETE) | P(PURGE) | P(RELEASE) | P(RESTORE)));
    assert_true(cu & P(UPDATE));
    assert_int_equal(cloak_vault_role_perms("Key Vault Contributor", NULL), 0);
    assert_int_equal(cloak_vault_role_perms("owner", NULL), 0);
    assert_int_equal(cloak_vault_role_perms("", NULL), 0);
    assert_int_equal(cloak_vault_role_perms(NULL, NULL), 0);
    assert_int_equal(cloak_vault_role_perms("crypto-officer ", NULL), 0);
}

/* ---- local tokens ---- */

static void test_local_token_round_trip(void **state)
{
    (void)state;
    time_t now = time(NULL);
    char *t = issue(data, "Key Vault Crypto User", "alice", 5400);
    /* token.key: created 0600 */
    char kp[256];
    snprintf(kp, sizeof kp, "%s/token.key", data);
    struct stat st;
    assert_int_equal(stat(kp, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* the token, by hand: header, claims, and an ES256 signature OpenSSL accepts */
    const char *d1 = strchr(t, '.'), *d2 = strchr(d1 + 1, '.');
    json_t *h = b64json(t, (size_t)(d1 - t)), *c = b64json(d1 + 1, (size_t)(d2 - d1 - 1));
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
    assert_non_null(json_string_value(json_object_get(h, "kid")));
    assert_string_equal(json_string_value(json_object_get(c, "iss")), CLOAK_VAULT_LOCAL_ISSUER);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "alice");
    assert_int_equal(json_array_size(json_object_get(c, "roles")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "roles"), 0)),
                        "crypto-user");
    json_int_t iat = json_integer_value(json_object_get(c, "iat"));
    assert_true(iat >= now - 5 && iat <= now + 5);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")) - iat, 5400);
    assert_int_equal(json_integer_value(json_object_get(c, "nbf")), iat);
    assert_int_equal(strlen(json_string_value(json_object_get(c, "jti"))), 32);

    EVP_PKEY *k = read_token_key(data);
    uint8_t *sig = NULL;
    size_t sl = 0;
    cloak_error e = {0};
    assert_int_equal(cloak_base64url_decode(d2 + 1, strlen(d2 + 1), &sig, &sl, &e), CLOAK_OK);
    assert_int_equal(sl, 64);
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    unsigned char *der = NULL;
    int dl = i2d_ECDSA_SIG(es, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(
        EVP_DigestVerify(md, der, (size_t)dl, (const unsigned char *)t, (size_t)(d2 - t)), 1);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    free(sig);
    EVP_PKEY_free(k);
    json_decref(h);
    json_decref(c);

    /* and the verifier accepts it */
    cloak_vault_auth *a = local_auth(data);
    char *hdr = bearer(t);
    cloak_vault_principal who;
    expect_ok(a, hdr, now, &who);
    assert_string_equal(who.subject, "alice");
    assert_string_equal(who.issuer, CLOAK_VAULT_LOCAL_ISSUER);
    assert_string_equal(who.roles, "crypto-user");
    assert_int_equal(who.perms, cloak_vault_role_perms("crypto-user", NULL));
    /* scheme case and surrounding blanks do not matter */
    char hdr2[4096];
    snprintf(hdr2, sizeof hdr2, "  bearer   %s \r\n", t);
    expect_ok(a, hdr2, now, &who);
    assert_string_equal(who.subject, "alice");
    cloak_vault_auth_free(a);
    free(hdr);
    free(t);

    /* the default lifetime is 8 hours; a second token reuses the same key */
    t = issue(data, "reader", "bob", 0);
    d1 = strchr(t, '.');
    d2 = strchr(d1 + 1, '.');
    c = b64json(d1 + 1, (size_t)(d2 - d1 - 1));
    assert_int_equal(json_integer_value(json_object_get(c, "exp")) -
                         json_integer_value(json_object_get(c, "iat")),
                     8 * 3600);
    json_decref(c);
    free(t);
}

static void test_issue_refuses_unknown_role_and_bad_subject(void **state)
{
    (void)state;
    char *t = (char *)0x1;
    cloak_error e = {0};
    assert_int_equal(cloak_vault_token_issue(data, "owner", "x", 0, &t, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "unknown role \"owner\""));
    assert_int_equal(cloak_vault_token_issue(data, "reader", "", 0, &t, &e), CLOAK_EINVAL);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(cloak_vault_token_issue(data, "reader", big, 0, &t, &e), CLOAK_EINVAL);
    assert_ptr_equal(t, (char *)0x1);
}

/* Every refusal, each with its own message. */
static void test_refusals_have_distinct_messages(void **state)
{
    (void)state;
    cloak_vault_auth *a = local_auth(data);
    time_t now = time(NULL);
    enum { N = 13 };
    char msgs[N][CLOAK_ERROR_MAX];
    int m = 0;

    expect_refused(a, NULL, now, "Request is missing a Bearer or PoP token.", msgs[m++],
                   CLOAK_ERROR_MAX);
    expect_refused(a, "", now, "Request is missing a Bearer or PoP token.", NULL, 0);
    expect_refused(a, "Basic dXNlcjpzZWNyZXQ=", now, "\"Basic\" scheme", msgs[m++],
                   CLOAK_ERROR_MAX);
    assert_null(strstr(msgs[m - 1], "dXNlcjpzZWNyZXQ")); /* the credential is not echoed */
    expect_refused(a, "Bearer", now, "carries no token", msgs[m++], CLOAK_ERROR_MAX);
    expect_refused(a, "Bearer abc.def", now, "malformed", msgs[m++], CLOAK_ERROR_MAX);
    expect_refused(a, "Bearer a b", now, "malformed", NULL, 0);

    /* expired (ttl 60 s, checked 2 h later) and not yet valid (checked 1 h earlier) */
    char *t = issue(data, "reader", "carol", 60);
    char *hdr = bearer(t);
    expect_refused(a, hdr, now + 7200, "expired", msgs[m++], CLOAK_ERROR_MAX);
    expect_refused(a, hdr, now - 3600, "not valid before", msgs[m++], CLOAK_ERROR_MAX);
    free(hdr);
    free(t);

    /* signed by another vault's key */
    t = issue(data2, "administrator", "mallory", 600);
    hdr = bearer(t);
    expect_refused(a, hdr, now, "does not verify under this vault's token key", msgs[m++],
                   CLOAK_ERROR_MAX);
    free(hdr);
    free(t);

    /* alg none, built by hand */
    json_t *claims = json_pack("{s:s,s:s,s:[s],s:I}", "iss", CLOAK_VAULT_LOCAL_ISSUER, "sub",
                               "mallory", "roles", "administrator", "exp", (json_int_t)now + 600);
    char *cj = json_dumps(claims, JSON_COMPACT);
    char *h64 = cloak_base64url_encode((const uint8_t *)NONE_HDR, strlen(NONE_HDR));
    char *c64 = cloak_base64url_encode((const uint8_t *)cj, strlen(cj));
    char none[2048];
    snprintf(none, sizeof none, "Bearer %s.%s.", h64, c64);
    expect_refused(a, none, now, "alg \"none\"", msgs[m++], CLOAK_ERROR_MAX);
    free(h64);
    free(c64);
    free(cj);

    /* a role this vault does not know, and no roles at all (signed with the right key) */
    EVP_PKEY *k = read_token_key(data);
    json_object_set_new(claims, "roles", json_pack("[s,s]", "Key Vault Contributor", "owner"));
    t = sign_claims(k, CLOAK_JWS_ES256, NULL, json_deep_copy(claims));
    hdr = bearer(t);
    expect_refused(a, hdr, now, "no known role", msgs[m++], CLOAK_ERROR_MAX);
    free(hdr);
    free(t);
    json_object_del(claims, "roles");
    t = sign_claims(k, CLOAK_JWS_ES256, NULL, json_deep_copy(claims));
    hdr = bearer(t);
    expect_refused(a, hdr, now, "no \"roles\" claim", msgs[m++], CLOAK_ERROR_MAX);
    free(hdr);
    free(t);
    /* no subject */
    json_object_set_new(claims, "roles", json_pack("[s]", "reader"));
    json_object_del(claims, "sub");
    t = sign_claims(k, CLOAK_JWS_ES256, NULL, json_deep_copy(claims));
    hdr = bearer(t);
    expect_refused(a, hdr, now, "no subject", msgs[m++], CLOAK_ERROR_MAX);
    free(hdr);
    free(t);
    /* an issuer nobody configured (even signed with the vault's own key) */
    json_object_set_new(claims, "iss", json_string("https://evil.example"));
    json_object_set_new(claims, "sub", json_string("mallory"));
    t = sign_claims(k, CLOAK_JWS_ES256, NULL, json_deep_copy(claims));
    hdr = bearer(t);
    expect_refused(a, hdr, now, "issuer \"https://evil.example\" is not trusted", msgs[m++],
                   CLOAK_ERROR_MAX);
    free(hdr);
    free(t);
    /* no exp: local tokens must expire */
    json_object_set_new(claims, "iss", json_string(CLOAK_VAULT_LOCAL_ISSUER));
    json_object_del(claims, "exp");
    t = sign_claims(k, CLOAK_JWS_ES256, NULL, json_deep_copy(claims));
    hdr = bearer(t);
    expect_refused(a, hdr, now, "no \"exp\"", msgs[m++], CLOAK_ERROR_MAX);
    free(hdr);
    free(t);
    json_decref(claims);
    EVP_PKEY_free(k);

    assert_int_equal(m, N);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            if (!strcmp(msgs[i], msgs[j])) fprintf(stderr, "same message: %s\n", msgs[i]);
            assert_string_not_equal(msgs[i], msgs[j]);
        }
    cloak_vault_auth_free(a);
}

/* ---- the cache ---- */

static void test_cache_one_signature_check_per_token(void **state)
{
    (void)state;
    cloak_vault_auth *a = local_auth(data);
    time_t now = time(NULL);
    char *t = issue(data, "crypto-officer", "dave", 600);
    char *hdr = bearer(t);
    cloak_vault_principal w1, w2;
    assert_int_equal(cloak_vault_auth_sig_checks(a), 0);
    expect_ok(a, hdr, now, &w1);
    assert_int_equal(cloak_vault_auth_sig_checks(a), 1);
    expect_ok(a, hdr, now + 1, &w2);
    assert_int_equal(cloak_vault_auth_sig_checks(a), 1); /* from the cache */
    assert_memory_equal(&w1, &w2, sizeof w1);
    assert_int_equal(cloak_vault_auth_cache_entries(a), 1);
    /* expiry is honoured for a cached token: refused, with the verifier's own message */
    expect_refused(a, hdr, now + 3600, "expired", NULL, 0);
    assert_int_equal(cloak_vault_auth_sig_checks(a), 2);
    /* and a token that changed in one byte is not the cached one */
    size_t n = strlen(hdr);
    hdr[n - 2] = hdr[n - 2] == 'A' ? 'B' : 'A';
    expect_refused(a, hdr, now, "bearer token refused", NULL, 0);
    assert_int_equal(cloak_vault_auth_sig_checks(a), 3);
    free(hdr);
    free(t);

    /* bounded: many distinct tokens never hold more than the slot count */
    const unsigned many = CLOAK_VAULT_AUTH_CACHE_SLOTS + 300;
    for (unsigned i = 0; i < many; i++) {
        char sub[32];
        snprintf(sub, sizeof sub, "user-%u", i);
        t = issue(data, "reader", sub, 600);
        hdr = bearer(t);
        cloak_vault_principal w;
        expect_ok(a, hdr, now, &w);
        assert_string_equal(w.subject, sub);
        free(hdr);
        free(t);
    }
    size_t entries = cloak_vault_auth_cache_entries(a);
    assert_true(entries <= CLOAK_VAULT_AUTH_CACHE_SLOTS);
    assert_true(entries > CLOAK_VAULT_AUTH_CACHE_SLOTS / 2); /* it does cache */
    assert_int_equal(cloak_vault_auth_sig_checks(a), 3 + many);
    cloak_vault_auth_free(a);
}

typedef struct {
    cloak_vault_auth *a;
    const char *hdr;
    int failures;
} thr_arg;

static void *thr(void *p)
{
    thr_arg *x = p;
    for (int i = 0; i < 200; i++) {
        cloak_vault_principal w;
        cloak_error e = {0};
        if (cloak_vault_auth_check(x->a, x->hdr, time(NULL), &w, &e) || strcmp(w.subject, "erin"))
            x->failures++;
    }
    return NULL;
}

static void test_shared_by_threads(void **state)
{
    (void)state;
    cloak_vault_auth *a = local_auth(data);
    char *t = issue(data, "reader", "erin", 600);
    char *hdr = bearer(t);
    pthread_t th[4];
    thr_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thr_arg){a, hdr, 0};
        assert_int_equal(pthread_create(&th[i], NULL, thr, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    /* at most one check per thread that missed the cache before the first insert */
    assert_true(cloak_vault_auth_sig_checks(a) >= 1 && cloak_vault_auth_sig_checks(a) <= 4);
    free(hdr);
    free(t);
    cloak_vault_auth_free(a);
}

/* ---- OIDC issuers ---- */

static cloak_vault_auth *oidc_auth(void)
{
    const char *issuers[] = {base, NULL};
    cloak_vault_auth_config cfg = {.data_dir = data,
                                   .oidc_issuers = issuers,
                                   .ca_file = ca_path,
                                   .audience = "https://vault.example/"};
    cloak_vault_auth *a = NULL;
    cloak_error e = {0};
    cloak_err rc = cloak_vault_auth_new(&cfg, &a, &e);
    if (rc) fprintf(stderr, "auth_new: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    return a;
}

static char *oidc_token(EVP_PKEY *k, const char *iss, json_t *aud, const char *role)
{
    json_int_t now = (json_int_t)time(NULL);
    json_t *c =
        json_pack("{s:s,s:s,s:s,s:[s],s:I,s:I,s:I}", "iss", iss, "sub", "pairwise-x", "oid",
                  "00000000-1111", "roles", role, "iat", now, "nbf", now, "exp", now + 3600);
    if (aud) json_object_set_new(c, "aud", aud);
    return sign_claims(k, CLOAK_JWS_RS256, "oidc-1", c);
}

static void test_oidc_issuer_with_audience(void **state)
{
    (void)state;
    cloak_error e = {0};
    cloak_vault_auth *bad = NULL;
    const char *issuers[] = {base, NULL};
    cloak_vault_auth_config no_aud = {.oidc_issuers = issuers, .ca_file = ca_path};
    assert_int_equal(cloak_vault_auth_new(&no_aud, &bad, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "audience"));

    cloak_vault_auth *a = oidc_auth();
    time_t now = time(NULL);
    int metas = atomic_load(&n_meta);
    /* aud as a string (without the trailing slash) and as an array */
    char *t = oidc_token(oidc_key, base, json_string("https://vault.example"), "Key Vault Reader");
    char *hdr = bearer(t);
    cloak_vault_principal who;
    expect_ok(a, hdr, now, &who);
    assert_string_equal(who.subject, "pairwise-x"); /* sub before oid */
    assert_string_equal(who.issuer, base);
    assert_string_equal(who.roles, "reader");
    expect_ok(a, hdr, now, &who);
    assert_int_equal(cloak_vault_auth_sig_checks(a), 1);
    assert_int_equal(atomic_load(&n_meta), metas + 1);
    free(hdr);
    free(t);
    t = oidc_token(oidc_key, base, json_pack("[s,s]", "api://x", "https://vault.example/"),
                   "crypto-user");
    hdr = bearer(t);
    expect_ok(a, hdr, now, &who);
    assert_string_equal(who.roles, "crypto-user");
    free(hdr);
    free(t);
    /* wrong audience, and none */
    t = oidc_token(oidc_key, base, json_string("https://other.example"), "reader");
    hdr = bearer(t);
    expect_refused(a, hdr, now, "wrong audience \"https://other.example\"", NULL, 0);
    free(hdr);
    free(t);
    t = oidc_token(oidc_key, base, NULL, "reader");
    hdr = bearer(t);
    expect_refused(a, hdr, now, "wrong audience (none)", NULL, 0);
    free(hdr);
    free(t);
    /* signed by a key the issuer does not publish (same kid) */
    t = oidc_token(other_rsa, base, json_string("https://vault.example"), "reader");
    hdr = bearer(t);
    expect_refused(a, hdr, now, "signature", NULL, 0);
    free(hdr);
    free(t);
    /* an issuer not configured: refused without contacting anyone */
    int before = atomic_load(&n_meta) + atomic_load(&n_certs);
    char other[128];
    snprintf(other, sizeof other, "https://127.0.0.1:%u", cloak_http_server_port(srv));
    t = oidc_token(oidc_key, other, json_string("https://vault.example"), "reader");
    hdr = bearer(t);
    expect_refused(a, hdr, now, "is not trusted by this vault", NULL, 0);
    assert_int_equal(atomic_load(&n_meta) + atomic_load(&n_certs), before);
    free(hdr);
    free(t);
    /* local tokens still work beside the OIDC issuer */
    t = issue(data, "crypto-service-release-user", "frank", 600);
    hdr = bearer(t);
    expect_ok(a, hdr, now, &who);
    assert_int_equal(who.perms, CLOAK_VAULT_PERM_RELEASE);
    free(hdr);
    free(t);
    cloak_vault_auth_free(a);
}

static void test_no_data_dir_refuses_local_tokens(void **state)
{
    (void)state;
    const char *issuers[] = {base, NULL};
    cloak_vault_auth_config cfg = {
        .oidc_issuers = issuers, .ca_file = ca_path, .audience = "https://vault.example"};
    cloak_vault_auth *a = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_vault_auth_new(&cfg, &a, &e), CLOAK_OK);
    char *t = issue(data, "reader", "gina", 600);
    char *hdr = bearer(t);
    expect_refused(a, hdr, time(NULL), "local tokens", NULL, 0);
    free(hdr);
    free(t);
    cloak_vault_auth_free(a);
    cloak_vault_auth_config none = {0};
    assert_int_equal(cloak_vault_auth_new(&none, &a, &e), CLOAK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_permission_table),
        cmocka_unit_test(test_local_token_round_trip),
        cmocka_unit_test(test_issue_refuses_unknown_role_and_bad_subject),
        cmocka_unit_test(test_refusals_have_distinct_messages),
        cmocka_unit_test(test_cache_one_signature_check_per_token),
        cmocka_unit_test(test_shared_by_threads),
        cmocka_unit_test(test_oidc_issuer_with_audience),
        cmocka_unit_test(test_no_data_dir_refuses_local_tokens),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
