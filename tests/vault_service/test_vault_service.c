/* The vault's Key Vault keys API over real HTTPS: authentication and RBAC, key management,
 * lifecycle, key operations checked with OpenSSL as the peer (and RFC 3394's vector), rng,
 * request errors, and the audit chain of it all. */
#include "vault_testlib.h"

#include "vault/audit.h"

#include <dirent.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#define Q "?api-version=7.6"

static int setup(void **st)
{
    (void)st;
    vfix_setup_attest();
    vfix_start_vault(NULL, 0);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    vfix_teardown();
    return 0;
}

static json_t *create(const char *name, const char *body)
{
    char path[256];
    json_t *j = NULL;
    snprintf(path, sizeof path, "/keys/%s/create" Q, name);
    long st = vcall(F.admin, "POST", path, body, &j, NULL, 0);
    if (st != 200) {
        char *d = j ? json_dumps(j, 0) : NULL;
        fail_msg("create %s: %ld %s", name, st, d ? d : "");
    }
    return j;
}

static const char *kid_version(const json_t *bundle)
{
    const char *kid = json_string_value(json_object_get(json_object_get(bundle, "key"), "kid"));
    assert_non_null(kid);
    return strrchr(kid, '/') + 1;
}

static void test_auth_and_rbac(void **st)
{
    (void)st;
    char www[1024], want[600];
    json_t *j = NULL;
    /* the SDK's first request: no Authorization, no body */
    long s = vcall(NULL, "GET", "/keys/k1/?api%2Dversion=7.6", NULL, &j, www, sizeof www);
    vexpect(s, &j, 401, "Unauthorized", NULL);
    snprintf(want, sizeof want, "Bearer authorization=\"%s/cloak\", resource=\"%s\"", F.url, F.url);
    assert_string_equal(www, want);
    s = vcall("not-a-jwt", "GET", "/keys" Q, NULL, &j, www, sizeof www);
    vexpect(s, &j, 401, "Unauthorized", NULL);
    assert_true(strncmp(www, "Bearer ", 7) == 0);
    /* a reader cannot create; nothing is created */
    char *reader = vtoken("reader", "r");
    s = vcall(reader, "POST", "/keys/rb1/create" Q, "{\"kty\":\"EC\"}", &j, NULL, 0);
    vexpect(s, &j, 403, "Forbidden", "ForbiddenByRbac");
    s = vcall(F.admin, "GET", "/keys/rb1" Q, NULL, &j, NULL, 0);
    vexpect(s, &j, 404, "KeyNotFound", NULL);
    /* role matrix on one key */
    json_decref(create("rb2", "{\"kty\":\"RSA\",\"key_size\":2048}"));
    static const struct {
        const char *role;
        int get, sign, wrap, update, del;
    } m[] = {
        /* Azure's built-in roles: Crypto User may update attributes but not create or delete */
        {"reader", 200, 403, 403, 403, 403},
        {"crypto-user", 200, 200, 200, 200, 403},
        {"crypto-service-encryption-user", 200, 403, 200, 403, 403},
        {"crypto-service-release-user", 403, 403, 403, 403, 403},
        {"crypto-officer", 200, 200, 200, 200, 200},
    };
    uint8_t digest[32] = {1, 2, 3};
    char *dg = tb64url(digest, 32), body[256];
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        char *t = vtoken(m[i].role, "matrix");
        assert_int_equal(vcall(t, "GET", "/keys/rb2" Q, NULL, NULL, NULL, 0), m[i].get);
        snprintf(body, sizeof body, "{\"alg\":\"RS256\",\"value\":\"%s\"}", dg);
        assert_int_equal(vcall(t, "POST", "/keys/rb2/sign" Q, body, NULL, NULL, 0), m[i].sign);
        snprintf(body, sizeof body, "{\"alg\":\"RSA-OAEP\",\"value\":\"%s\"}", dg);
        assert_int_equal(vcall(t, "POST", "/keys/rb2/wrapkey" Q, body, NULL, NULL, 0), m[i].wrap);
        assert_int_equal(
            vcall(t, "PATCH", "/keys/rb2" Q, "{\"tags\":{\"by\":\"matrix\"}}", NULL, NULL, 0),
            m[i].update);
        if (m[i].del == 403)
            assert_int_equal(vcall(t, "DELETE", "/keys/rb2" Q, NULL, NULL, NULL, 0), 403);
        free(t);
    }
    free(dg);
    free(reader);
}

static void test_create_get_list(void **st)
{
    (void)st;
    json_t *j = NULL;
    json_t *r = create("r1", "{\"kty\":\"RSA-HSM\",\"key_size\":3072,\"tags\":{\"t\":\"1\"}}");
    const char *kid = json_string_value(json_object_get(json_object_get(r, "key"), "kid"));
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s/keys/r1/", F.url);
    assert_true(strncmp(kid, prefix, strlen(prefix)) == 0);
    assert_int_equal(strlen(kid_version(r)), 32);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "key"), "kty")),
                        "RSA-HSM");
    EVP_PKEY *pk = bundle_pub(r);
    assert_int_equal(EVP_PKEY_get_bits(pk), 3072);
    EVP_PKEY_free(pk);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "attributes"), "recoveryLevel")),
        "Recoverable+Purgeable");
    /* latest with the trailing slash and a percent-encoded query name; by version */
    assert_int_equal(vcall(F.admin, "GET", "/keys/r1/?api%2Dversion=2025-07-01", NULL, &j, NULL, 0),
                     200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "key"), "kid")), kid);
    json_decref(j);
    char path[256];
    snprintf(path, sizeof path, "/keys/r1/%s" Q, kid_version(r));
    assert_int_equal(vcall(F.admin, "GET", path, NULL, &j, NULL, 0), 200);
    json_decref(j);
    json_t *e = create("e1", "{\"kty\":\"EC-HSM\",\"crv\":\"P-384\"}");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "key"), "crv")),
                        "P-384");
    json_t *o = create("o1", "{\"kty\":\"oct-HSM\",\"key_size\":256}");
    assert_null(json_object_get(json_object_get(o, "key"), "k")); /* never the key itself */
    /* errors */
    vexpect(vcall(F.admin, "GET", "/keys/nope" Q, NULL, &j, NULL, 0), &j, 404, "KeyNotFound", NULL);
    vexpect(vcall(F.admin, "GET", "/keys/r1/00000000000000000000000000000000" Q, NULL, &j, NULL, 0),
            &j, 404, "KeyNotFound", NULL);
    vexpect(vcall(F.admin, "POST", "/keys/bad_name/create" Q, "{\"kty\":\"EC\"}", &j, NULL, 0), &j,
            400, "BadParameter", NULL);
    vexpect(vcall(F.admin, "POST", "/keys/x1/create" Q, "{\"kty\":\"RSA\",\"key_size\":1024}", &j,
                  NULL, 0),
            &j, 400, "BadParameter", NULL);
    vexpect(vcall(F.admin, "POST", "/keys/x1/create" Q, "{\"kty\":\"DSA\"}", &j, NULL, 0), &j, 400,
            "BadParameter", NULL);
    vexpect(vcall(F.admin, "POST", "/keys/x1/create" Q, NULL, &j, NULL, 0), &j, 400, "BadParameter",
            NULL);
    vexpect(vcall(F.admin, "POST", "/keys/x1/create" Q, "{\"kty\":", &j, NULL, 0), &j, 400,
            "BadParameter", NULL);
    vexpect(vcall(F.admin, "GET", "/keys/r1?api-version=1999-01-01", NULL, &j, NULL, 0), &j, 400,
            NULL, NULL);
    /* exportable needs a release policy */
    vexpect(vcall(F.admin, "POST", "/keys/x1/create" Q,
                  "{\"kty\":\"RSA\",\"attributes\":{\"exportable\":true}}", &j, NULL, 0),
            &j, 400, "BadParameter", NULL);
    /* paging: 2 per page, following absolute nextLinks, every key exactly once, in order */
    for (int i = 0; i < 5; i++) {
        char n[16];
        snprintf(n, sizeof n, "p%d", i);
        json_decref(create(n, "{\"kty\":\"oct\",\"key_size\":128}"));
    }
    char next[1024];
    snprintf(next, sizeof next, "/keys?api-version=7.6&maxresults=2");
    int seen = 0, pages = 0;
    char last[64] = "";
    for (;;) {
        assert_int_equal(vcall(F.admin, "GET", next, NULL, &j, NULL, 0), 200);
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(j, "value"), i, it)
        {
            const char *k = json_string_value(json_object_get(it, "kid"));
            const char *nm = strrchr(k, '/') + 1;
            assert_true(strcmp(nm, last) > 0);
            snprintf(last, sizeof last, "%s", nm);
            if (nm[0] == 'p') seen++;
        }
        assert_true(json_array_size(json_object_get(j, "value")) <= 2);
        pages++;
        const char *nl = json_string_value(json_object_get(j, "nextLink"));
        if (!nl) {
            json_decref(j);
            break;
        }
        assert_true(strncmp(nl, F.url, strlen(F.url)) == 0); /* absolute */
        snprintf(next, sizeof next, "%s", nl);
        json_decref(j);
    }
    assert_int_equal(seen, 5);
    assert_true(pages >= 4);
    vexpect(vcall(F.admin, "GET", "/keys?api-version=7.6&maxresults=26", NULL, &j, NULL, 0), &j,
            400, "BadParameter", NULL);
    json_decref(r);
    json_decref(e);
    json_decref(o);
}

static void test_lifecycle(void **st)
{
    (void)st;
    json_t *j = NULL;
    json_t *k = create("lc1", "{\"kty\":\"EC\",\"crv\":\"P-256\"}");
    char path[256];
    /* update: disable + tags; a disabled key signs nothing */
    snprintf(path, sizeof path, "/keys/lc1/%s" Q, kid_version(k));
    assert_int_equal(vcall(F.admin, "PATCH", path,
                           "{\"attributes\":{\"enabled\":false},\"tags\":{\"x\":\"y\"}}", &j, NULL,
                           0),
                     200);
    assert_true(json_is_false(json_object_get(json_object_get(j, "attributes"), "enabled")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "tags"), "x")), "y");
    json_decref(j);
    uint8_t d[32] = {0};
    char *dg = tb64url(d, 32), body[256];
    snprintf(body, sizeof body, "{\"alg\":\"ES256\",\"value\":\"%s\"}", dg);
    vexpect(vcall(F.admin, "POST", "/keys/lc1/sign" Q, body, &j, NULL, 0), &j, 403, "Forbidden",
            "KeyDisabled");
    vexpect(vcall(F.admin, "PATCH", "/keys/lc1/" Q, "{\"attributes\":{\"exportable\":true}}", &j,
                  NULL, 0),
            &j, 400, "BadParameter", NULL);
    assert_int_equal(vcall(F.admin, "PATCH", "/keys/lc1/" Q, "{\"attributes\":{\"enabled\":true}}",
                           NULL, NULL, 0),
                     200);
    assert_int_equal(vcall(F.admin, "POST", "/keys/lc1/sign" Q, body, NULL, NULL, 0), 200);
    /* a key_ops restriction */
    json_decref(create("lc2", "{\"kty\":\"EC\",\"key_ops\":[\"verify\"]}"));
    vexpect(vcall(F.admin, "POST", "/keys/lc2/sign" Q, body, &j, NULL, 0), &j, 403, "Forbidden",
            "KeyOperationForbidden");
    /* soft delete: live path 404, deleted path 200, name not reusable, recover, purge */
    assert_int_equal(vcall(F.admin, "DELETE", "/keys/lc1" Q, NULL, &j, NULL, 0), 200);
    assert_non_null(json_object_get(j, "recoveryId"));
    assert_non_null(json_object_get(j, "scheduledPurgeDate"));
    json_decref(j);
    vexpect(vcall(F.admin, "GET", "/keys/lc1/" Q, NULL, &j, NULL, 0), &j, 404, "KeyNotFound", NULL);
    assert_int_equal(vcall(F.admin, "GET", "/deletedkeys/lc1" Q, NULL, &j, NULL, 0), 200);
    json_decref(j);
    assert_int_equal(vcall(F.admin, "GET", "/deletedkeys" Q, NULL, &j, NULL, 0), 200);
    assert_true(json_array_size(json_object_get(j, "value")) >= 1);
    json_decref(j);
    vexpect(vcall(F.admin, "POST", "/keys/lc1/create" Q, "{\"kty\":\"EC\"}", &j, NULL, 0), &j, 409,
            "Conflict", "ObjectIsDeletedButRecoverable");
    assert_int_equal(vcall(F.admin, "POST", "/deletedkeys/lc1/recover" Q, NULL, &j, NULL, 0), 200);
    json_decref(j);
    assert_int_equal(vcall(F.admin, "GET", "/keys/lc1/" Q, NULL, NULL, NULL, 0), 200);
    assert_int_equal(vcall(F.admin, "POST", "/keys/lc1/sign" Q, body, NULL, NULL, 0), 200);
    vexpect(vcall(F.admin, "GET", "/deletedkeys/lc1" Q, NULL, &j, NULL, 0), &j, 404, "KeyNotFound",
            NULL);
    assert_int_equal(vcall(F.admin, "DELETE", "/keys/lc1" Q, NULL, NULL, NULL, 0), 200);
    assert_int_equal(vcall(F.admin, "DELETE", "/deletedkeys/lc1" Q, NULL, &j, NULL, 0), 204);
    vexpect(vcall(F.admin, "DELETE", "/deletedkeys/lc1" Q, NULL, &j, NULL, 0), &j, 404,
            "KeyNotFound", NULL);
    json_decref(create("lc1", "{\"kty\":\"EC\"}")); /* the name is free again */
    free(dg);
    json_decref(k);
}

static void test_rotate_backup_restore(void **st)
{
    (void)st;
    json_t *j = NULL;
    json_t *k = create("rb", "{\"kty\":\"RSA\",\"key_size\":2048,\"tags\":{\"a\":\"b\"}}");
    char v1[33];
    snprintf(v1, sizeof v1, "%s", kid_version(k));
    assert_int_equal(vcall(F.admin, "POST", "/keys/rb/rotate" Q, NULL, &j, NULL, 0), 200);
    assert_string_not_equal(kid_version(j), v1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "tags"), "a")), "b");
    EVP_PKEY *p1 = bundle_pub(k), *p2 = bundle_pub(j);
    assert_int_not_equal(EVP_PKEY_eq(p1, p2), 1); /* new key material */
    json_decref(j);
    assert_int_equal(vcall(F.admin, "GET", "/keys/rb/versions" Q, NULL, &j, NULL, 0), 200);
    assert_int_equal(json_array_size(json_object_get(j, "value")), 2);
    json_decref(j);
    /* backup, delete, purge, restore: both versions back, the same keys, still usable */
    assert_int_equal(vcall(F.admin, "POST", "/keys/rb/backup" Q, NULL, &j, NULL, 0), 200);
    char *blob = strdup(json_string_value(json_object_get(j, "value")));
    json_decref(j);
    char *rbody = NULL;
    assert_true(asprintf(&rbody, "{\"value\":\"%s\"}", blob) > 0);
    vexpect(vcall(F.admin, "POST", "/keys/restore" Q, rbody, &j, NULL, 0), &j, 409, "Conflict",
            NULL);
    assert_int_equal(vcall(F.admin, "DELETE", "/keys/rb" Q, NULL, NULL, NULL, 0), 200);
    assert_int_equal(vcall(F.admin, "DELETE", "/deletedkeys/rb" Q, NULL, NULL, NULL, 0), 204);
    assert_int_equal(vcall(F.admin, "POST", "/keys/restore" Q, rbody, &j, NULL, 0), 200);
    EVP_PKEY *p3 = bundle_pub(j);
    assert_int_equal(EVP_PKEY_eq(p2, p3), 1);
    json_decref(j);
    char path[128];
    snprintf(path, sizeof path, "/keys/rb/%s" Q, v1);
    assert_int_equal(vcall(F.admin, "GET", path, NULL, &j, NULL, 0), 200);
    EVP_PKEY *p4 = bundle_pub(j);
    assert_int_equal(EVP_PKEY_eq(p1, p4), 1);
    json_decref(j);
    uint8_t d[32] = {9};
    char *dg = tb64url(d, 32), body[256];
    snprintf(body, sizeof body, "{\"alg\":\"RS256\",\"value\":\"%s\"}", dg);
    assert_int_equal(vcall(F.admin, "POST", "/keys/rb/sign" Q, body, NULL, NULL, 0), 200);
    /* a damaged backup */
    blob[strlen(blob) / 2] = blob[strlen(blob) / 2] == 'A' ? 'B' : 'A';
    free(rbody);
    assert_true(asprintf(&rbody, "{\"value\":\"%s\"}", blob) > 0);
    assert_int_equal(vcall(F.admin, "DELETE", "/keys/rb" Q, NULL, NULL, NULL, 0), 200);
    assert_int_equal(vcall(F.admin, "DELETE", "/deletedkeys/rb" Q, NULL, NULL, NULL, 0), 204);
    vexpect(vcall(F.admin, "POST", "/keys/restore" Q, rbody, &j, NULL, 0), &j, 400, "BadParameter",
            "InvalidBackup");
    free(dg);
    free(rbody);
    free(blob);
    EVP_PKEY_free(p1);
    EVP_PKEY_free(p2);
    EVP_PKEY_free(p3);
    EVP_PKEY_free(p4);
    json_decref(k);
}

static const char *value_of(json_t *j)
{
    const char *v = json_string_value(json_object_get(j, "value"));
    assert_non_null(v);
    return v;
}

static void test_crypto_ops(void **st)
{
    (void)st;
    json_t *j = NULL;
    char body[2048];
    /* RSA-OAEP-256: encrypt with OpenSSL under the published key, decrypt in the vault */
    json_t *r = create("cr", "{\"kty\":\"RSA\",\"key_size\":2048}");
    EVP_PKEY *pub = bundle_pub(r);
    const char msg[] = "attack at dawn";
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    uint8_t ct[512];
    size_t ctl = sizeof ct;
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, ct, &ctl, (const uint8_t *)msg, strlen(msg)), 1);
    EVP_PKEY_CTX_free(c);
    char *b = tb64url(ct, ctl);
    snprintf(body, sizeof body, "{\"alg\":\"RSA-OAEP-256\",\"value\":\"%s\"}", b);
    free(b);
    assert_int_equal(vcall(F.admin, "POST", "/keys/cr/decrypt" Q, body, &j, NULL, 0), 200);
    size_t n;
    uint8_t *pt = tb64url_dec(value_of(j), &n);
    assert_int_equal(n, strlen(msg));
    assert_memory_equal(pt, msg, n);
    free(pt);
    json_decref(j);
    /* RS256 and PS256: the vault signs a digest, OpenSSL verifies */
    uint8_t dg[32];
    SHA256((const uint8_t *)msg, strlen(msg), dg);
    char *dgb = tb64url(dg, 32);
    for (int pss = 0; pss < 2; pss++) {
        snprintf(body, sizeof body, "{\"alg\":\"%s\",\"value\":\"%s\"}", pss ? "PS256" : "RS256",
                 dgb);
        assert_int_equal(vcall(F.admin, "POST", "/keys/cr/sign" Q, body, &j, NULL, 0), 200);
        uint8_t *sig = tb64url_dec(value_of(j), &n);
        json_decref(j);
        c = EVP_PKEY_CTX_new(pub, NULL);
        assert_int_equal(EVP_PKEY_verify_init(c), 1);
        assert_int_equal(
            EVP_PKEY_CTX_set_rsa_padding(c, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
        if (pss) assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, 32), 1);
        assert_int_equal(EVP_PKEY_verify(c, sig, n, dg, 32), 1);
        EVP_PKEY_CTX_free(c);
        /* and the vault's own verify: true, then false for another digest */
        char *sb = tb64url(sig, n);
        snprintf(body, sizeof body, "{\"alg\":\"%s\",\"digest\":\"%s\",\"value\":\"%s\"}",
                 pss ? "PS256" : "RS256", dgb, sb);
        assert_int_equal(vcall(F.admin, "POST", "/keys/cr/verify" Q, body, &j, NULL, 0), 200);
        assert_true(json_is_true(json_object_get(j, "value")));
        json_decref(j);
        char *other = tb64url((const uint8_t *)"0123456789abcdef0123456789abcdef", 32);
        snprintf(body, sizeof body, "{\"alg\":\"%s\",\"digest\":\"%s\",\"value\":\"%s\"}",
                 pss ? "PS256" : "RS256", other, sb);
        assert_int_equal(vcall(F.admin, "POST", "/keys/cr/verify" Q, body, &j, NULL, 0), 200);
        assert_true(json_is_false(json_object_get(j, "value")));
        json_decref(j);
        free(other);
        free(sb);
        free(sig);
    }
    EVP_PKEY_free(pub);
    /* ES256: R||S from the vault, DER for OpenSSL */
    json_t *e = create("ce", "{\"kty\":\"EC\",\"crv\":\"P-256\"}");
    pub = bundle_pub(e);
    snprintf(body, sizeof body, "{\"alg\":\"ES256\",\"value\":\"%s\"}", dgb);
    assert_int_equal(vcall(F.admin, "POST", "/keys/ce/sign" Q, body, &j, NULL, 0), 200);
    uint8_t *rs = tb64url_dec(value_of(j), &n);
    assert_int_equal(n, 64);
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(rs, 32, NULL), BN_bin2bn(rs + 32, 32, NULL));
    uint8_t *der = NULL;
    int dl = i2d_ECDSA_SIG(es, &der);
    c = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_init(c), 1);
    assert_int_equal(EVP_PKEY_verify(c, der, (size_t)dl, dg, 32), 1);
    EVP_PKEY_CTX_free(c);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    free(rs);
    json_decref(j);
    EVP_PKEY_free(pub);
    /* wrong alg for the key */
    snprintf(body, sizeof body, "{\"alg\":\"RS256\",\"value\":\"%s\"}", dgb);
    vexpect(vcall(F.admin, "POST", "/keys/ce/sign" Q, body, &j, NULL, 0), &j, 400, "BadParameter",
            NULL);
    /* RFC 3394 §4.6: wrap 256 bits of key data with a 256-bit KEK, imported */
    uint8_t kek[32], data[32];
    for (int i = 0; i < 32; i++)
        kek[i] = (uint8_t)i;
    static const uint8_t kd[32] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
                                   0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                   0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    static const uint8_t want[40] = {0x28, 0xc9, 0xf4, 0x04, 0xc4, 0xb8, 0x10, 0xf4, 0xcb, 0xcc,
                                     0xb3, 0x5c, 0xfb, 0x87, 0xf8, 0x26, 0x3f, 0x57, 0x86, 0xe2,
                                     0xd8, 0x0e, 0xd3, 0x26, 0xcb, 0xc7, 0xf0, 0xe7, 0x1a, 0x99,
                                     0xf4, 0x3b, 0xfb, 0x98, 0x8b, 0x9b, 0x7a, 0x02, 0xdd, 0x21};
    memcpy(data, kd, 32);
    char *kb = tb64url(kek, 32);
    snprintf(body, sizeof body, "{\"key\":{\"kty\":\"oct\",\"k\":\"%s\"},\"Hsm\":true}", kb);
    free(kb);
    assert_int_equal(vcall(F.admin, "PUT", "/keys/ko" Q, body, &j, NULL, 0), 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "key"), "kty")),
                        "oct-HSM");
    json_decref(j);
    char *db = tb64url(data, 32);
    snprintf(body, sizeof body, "{\"alg\":\"A256KW\",\"value\":\"%s\"}", db);
    free(db);
    assert_int_equal(vcall(F.admin, "POST", "/keys/ko/wrapkey" Q, body, &j, NULL, 0), 200);
    uint8_t *w = tb64url_dec(value_of(j), &n);
    assert_int_equal(n, 40);
    assert_memory_equal(w, want, 40);
    json_decref(j);
    char *wb = tb64url(w, n);
    snprintf(body, sizeof body, "{\"alg\":\"A256KW\",\"value\":\"%s\"}", wb);
    assert_int_equal(vcall(F.admin, "POST", "/keys/ko/unwrapkey" Q, body, &j, NULL, 0), 200);
    uint8_t *u = tb64url_dec(value_of(j), &n);
    assert_int_equal(n, 32);
    assert_memory_equal(u, kd, 32);
    free(u);
    json_decref(j);
    free(wb);
    free(w);
    /* A256GCM with aad: vault encrypts, vault decrypts, OpenSSL decrypts too; a bad tag fails */
    char *pb = tb64url((const uint8_t *)msg, strlen(msg)), *ab = tb64url((const uint8_t *)"aad", 3);
    snprintf(body, sizeof body, "{\"alg\":\"A256GCM\",\"value\":\"%s\",\"aad\":\"%s\"}", pb, ab);
    assert_int_equal(vcall(F.admin, "POST", "/keys/ko/encrypt" Q, body, &j, NULL, 0), 200);
    const char *iv = json_string_value(json_object_get(j, "iv"));
    const char *tag = json_string_value(json_object_get(j, "tag"));
    assert_non_null(iv);
    assert_non_null(tag);
    size_t ivn, tn, cn;
    uint8_t *ivb = tb64url_dec(iv, &ivn), *tgb = tb64url_dec(tag, &tn),
            *cb = tb64url_dec(value_of(j), &cn);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    uint8_t out[64];
    int ol = 0, fl = 0;
    assert_int_equal(EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, (int)ivn, NULL), 1);
    assert_int_equal(EVP_DecryptInit_ex(x, NULL, NULL, kek, ivb), 1);
    assert_int_equal(EVP_DecryptUpdate(x, NULL, &ol, (const uint8_t *)"aad", 3), 1);
    assert_int_equal(EVP_DecryptUpdate(x, out, &ol, cb, (int)cn), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, (int)tn, tgb), 1);
    assert_int_equal(EVP_DecryptFinal_ex(x, out + ol, &fl), 1);
    assert_int_equal(ol + fl, (int)strlen(msg));
    assert_memory_equal(out, msg, strlen(msg));
    EVP_CIPHER_CTX_free(x);
    char dbody[1024];
    snprintf(dbody, sizeof dbody,
             "{\"alg\":\"A256GCM\",\"value\":\"%s\",\"iv\":\"%s\",\"tag\":\"%s\",\"aad\":\"%s\"}",
             value_of(j), iv, tag, ab);
    assert_int_equal(vcall(F.admin, "POST", "/keys/ko/decrypt" Q, dbody, NULL, NULL, 0), 200);
    tgb[0] ^= 1;
    char *bad = tb64url(tgb, tn);
    snprintf(dbody, sizeof dbody,
             "{\"alg\":\"A256GCM\",\"value\":\"%s\",\"iv\":\"%s\",\"tag\":\"%s\",\"aad\":\"%s\"}",
             value_of(j), iv, bad, ab);
    json_t *j2 = NULL;
    vexpect(vcall(F.admin, "POST", "/keys/ko/decrypt" Q, dbody, &j2, NULL, 0), &j2, 400,
            "BadParameter", NULL);
    free(bad);
    free(ivb);
    free(tgb);
    free(cb);
    free(pb);
    free(ab);
    json_decref(j);
    free(dgb);
    json_decref(r);
    json_decref(e);
}

static void test_rng(void **st)
{
    (void)st;
    json_t *j = NULL;
    assert_int_equal(vcall(F.admin, "POST", "/rng" Q, "{\"count\":32}", &j, NULL, 0), 200);
    size_t n;
    uint8_t *b = tb64url_dec(value_of(j), &n);
    assert_int_equal(n, 32);
    free(b);
    json_decref(j);
    vexpect(vcall(F.admin, "POST", "/rng" Q, "{\"count\":0}", &j, NULL, 0), &j, 400, "BadParameter",
            NULL);
}

/* Known key bytes imported into the vault appear nowhere in its data directory. */
static int file_has(const char *path, const uint8_t *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    size_t got = fread(buf, 1, len > 0 ? (size_t)len : 0, f);
    fclose(f);
    int hit = got >= n && memmem(buf, got, needle, n) != NULL;
    free(buf);
    return hit;
}

static void test_no_key_bytes_at_rest(void **st)
{
    (void)st;
    uint8_t k[32];
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)(0xc0 ^ (i * 37));
    char *kb = tb64url(k, 32), body[256];
    snprintf(body, sizeof body, "{\"key\":{\"kty\":\"oct\",\"k\":\"%s\"}}", kb);
    assert_int_equal(vcall(F.admin, "PUT", "/keys/secret1" Q, body, NULL, NULL, 0), 200);
    DIR *d = opendir(F.vault_dir);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d))) {
        char p[1024];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", F.vault_dir, de->d_name);
        if (stat(p, &sb) || !S_ISREG(sb.st_mode)) continue;
        files++;
        if (file_has(p, k, 32) || file_has(p, (const uint8_t *)kb, strlen(kb)))
            fail_msg("key bytes found in %s", p);
    }
    closedir(d);
    assert_true(files >= 4); /* vault.db, master.sealed, audit.log, ... */
    free(kb);
}

/* Everything above went through the audit log: its chain verifies. */
static void test_audit_chain(void **st)
{
    (void)st;
    cloak_vault_audit_report rep = {0};
    cloak_error e = {0};
    vfix_stop_vault(); /* close (sync) the log */
    if (cloak_vault_audit_verify(F.vault_dir, &rep, &e)) fail_msg("audit: %s", e.msg);
    assert_true(rep.entries > 50);
    vfix_start_vault(NULL, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_and_rbac),
        cmocka_unit_test(test_create_get_list),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_rotate_backup_restore),
        cmocka_unit_test(test_crypto_ops),
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_no_key_bytes_at_rest),
        cmocka_unit_test(test_audit_chain),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
