/* The vault C client (include/cloak/vault.h) against an in-process `cloak vault serve` over real
 * HTTPS: every call, the error mapping (401, 403 with innererror, 404, 409, 400), nextLink
 * paging, keep-alive, and Secure Key Release opened and unwrapped by the client, with the
 * results checked by OpenSSL used directly (signatures, OAEP, AES-GCM, the released key against
 * the published public key). */
#include "vc_testlib.h"

#include "cloak/vault.h"

#include <openssl/rand.h>

static cloak_vault_client *g_c; /* administrator */

#define assert_prefix(s, prefix)                                                                   \
    do {                                                                                           \
        if (strncmp((s), (prefix), strlen(prefix)))                                                \
            fail_msg("'%s' does not start with '%s'", (s), (prefix));                              \
    } while (0)

static int setup(void **st)
{
    (void)st;
    cloak_error e = {0};
    vfix_setup_attest();
    vfix_start_vault(NULL, 0);
    if (cloak_vault_client_new(F.url, F.ca, F.admin, &g_c, &e)) fail_msg("client: %s", e.msg);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    cloak_vault_client_free(g_c);
    vfix_teardown();
    return 0;
}

static cloak_vault_client *client_for(const char *token)
{
    cloak_vault_client *c = NULL;
    cloak_error e = {0};
    if (cloak_vault_client_new(F.url, F.ca, token, &c, &e)) fail_msg("client: %s", e.msg);
    return c;
}

/* The version part of a kid ".../keys/NAME/VERSION". */
static const char *kid_version(const json_t *bundle)
{
    const char *kid = json_string_value(json_object_get(json_object_get(bundle, "key"), "kid"));
    assert_non_null(kid);
    return strrchr(kid, '/') + 1;
}

static void create_simple(const char *name, const char *kty, unsigned size, const char *crv,
                          json_t **out)
{
    cloak_error e = {0};
    cloak_vault_key_spec s = {.kty = kty, .key_size = size, .crv = crv};
    json_t *b = NULL;
    if (cloak_vault_key_create(g_c, name, &s, &b, &e)) fail_msg("create %s: %s", name, e.msg);
    if (out)
        *out = b;
    else
        json_decref(b);
}

static void test_client_new_refuses(void **st)
{
    (void)st;
    cloak_vault_client *c = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_vault_client_new("http://127.0.0.1:1", NULL, "t", &c, &e), CLOAK_EINVAL);
    assert_int_equal(cloak_vault_client_new(F.url, F.ca, "", &c, &e), CLOAK_EINVAL);
    assert_int_equal(cloak_vault_client_new(F.url, F.ca, "secret-part\r\nX-Evil: 1", &c, &e),
                     CLOAK_EINVAL);
    assert_null(strstr(e.msg, "secret-part")); /* the token is never echoed */
    assert_null(c);
    /* a trailing slash is dropped */
    char u[200];
    snprintf(u, sizeof u, "%s//", F.url);
    c = NULL;
    assert_int_equal(cloak_vault_client_new(u, F.ca, "t", &c, &e), CLOAK_OK);
    assert_string_equal(cloak_vault_client_url(c), F.url);
    cloak_vault_client_free(c);
}

static void test_create_get_keepalive(void **st)
{
    (void)st;
    cloak_error e = {0};
    static const char *const ops[] = {"sign", "verify", NULL};
    json_t *tags = json_pack("{s:s,s:s}", "team", "blue", "env", "test");
    cloak_vault_key_spec s = {.kty = "RSA-HSM", .key_size = 3072, .key_ops = ops, .tags = tags};
    json_t *b = NULL, *g = NULL, *gv = NULL;
    assert_int_equal(cloak_vault_key_create(g_c, "cg-rsa", &s, &b, &e), CLOAK_OK);
    json_decref(tags);
    const json_t *k = json_object_get(b, "key");
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "RSA-HSM");
    assert_int_equal(json_array_size(json_object_get(k, "key_ops")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "tags"), "team")),
                        "blue");
    char want_prefix[256];
    snprintf(want_prefix, sizeof want_prefix, "%s/keys/cg-rsa/", F.url);
    assert_int_equal(
        strncmp(json_string_value(json_object_get(k, "kid")), want_prefix, strlen(want_prefix)), 0);
    EVP_PKEY *pub = bundle_pub(b);
    assert_int_equal(EVP_PKEY_get_bits(pub), 3072);
    EVP_PKEY_free(pub);
    /* latest and by version: the same key; the second call reuses the connection */
    assert_int_equal(cloak_vault_key_get(g_c, "cg-rsa", NULL, &g, &e), CLOAK_OK);
    assert_int_equal(cloak_vault_client_last(g_c)->status, 200);
    assert_true(cloak_vault_client_last(g_c)->request_id[0] != 0);
    assert_int_equal(cloak_vault_key_get(g_c, "cg-rsa", kid_version(b), &gv, &e), CLOAK_OK);
    assert_int_equal(cloak_vault_client_last(g_c)->new_connections, 0);
    assert_true(json_equal(json_object_get(g, "key"), json_object_get(b, "key")));
    assert_true(json_equal(json_object_get(gv, "key"), json_object_get(b, "key")));
    json_decref(b);
    json_decref(g);
    json_decref(gv);
    /* EC with a curve, oct with a size, disabled with exp */
    create_simple("cg-ec", "EC", 0, "P-384", &b);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "key"), "crv")),
                        "P-384");
    json_decref(b);
    cloak_vault_key_spec os = {.kty = "oct-HSM", .key_size = 128, .disabled = 1, .exp = 4102444800};
    assert_int_equal(cloak_vault_key_create(g_c, "cg-oct", &os, &b, &e), CLOAK_OK);
    const json_t *a = json_object_get(b, "attributes");
    assert_true(json_is_false(json_object_get(a, "enabled")));
    assert_int_equal(json_integer_value(json_object_get(a, "exp")), 4102444800);
    assert_null(json_object_get(json_object_get(b, "key"), "k")); /* no key material */
    json_decref(b);
}

static void test_sign_verify(void **st)
{
    (void)st;
    static const struct {
        const char *name, *kty, *crv, *alg, *md;
    } cases[] = {
        {"sv-rsa", "RSA", NULL, "RS256", "SHA256"},
        {"sv-rsa", "RSA", NULL, "PS384", "SHA384"},
        {"sv-p256", "EC", "P-256", "ES256", "SHA256"},
        {"sv-p521", "EC", "P-521", "ES512", "SHA512"},
    };
    cloak_error e = {0};
    const uint8_t msg[] = "message to sign";
    /* the digest helper against the FIPS 180-2 vector for "abc" */
    uint8_t md[64];
    size_t ml = 0;
    assert_int_equal(cloak_vault_digest("ES256", (const uint8_t *)"abc", 3, md, &ml, &e), 0);
    assert_int_equal(ml, 32);
    char *hx = cloak_hex_encode(md, ml);
    assert_string_equal(hx, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    free(hx);
    assert_int_equal(cloak_vault_digest("A256GCM", msg, 3, md, &ml, &e), CLOAK_EINVAL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *b = NULL;
        if (i == 0 || strcmp(cases[i].name, cases[i - 1].name))
            create_simple(cases[i].name, cases[i].kty, 0, cases[i].crv, NULL);
        assert_int_equal(cloak_vault_key_get(g_c, cases[i].name, NULL, &b, &e), 0);
        EVP_PKEY *pub = bundle_pub(b);
        uint8_t dg[64];
        size_t dl;
        ossl_digest(cases[i].md, msg, sizeof msg, dg, &dl);
        assert_int_equal(cloak_vault_digest(cases[i].alg, msg, sizeof msg, md, &ml, &e), 0);
        assert_int_equal(ml, dl);
        assert_memory_equal(md, dg, dl);
        cloak_vault_crypt_params p = {.alg = cases[i].alg};
        cloak_vault_crypt_result r = {0};
        if (cloak_vault_sign(g_c, cases[i].name, &p, dg, dl, &r, &e))
            fail_msg("sign %s: %s", cases[i].alg, e.msg);
        assert_string_equal(r.kid,
                            json_string_value(json_object_get(json_object_get(b, "key"), "kid")));
        /* OpenSSL agrees the signature is good ... */
        assert_true(ossl_verify(pub, cases[i].alg, dg, dl, r.value, r.value_len));
        int valid = -1;
        /* ... and so does the vault, by version too; a changed digest does not verify */
        p.version = kid_version(b);
        assert_int_equal(
            cloak_vault_verify(g_c, cases[i].name, &p, dg, dl, r.value, r.value_len, &valid, &e),
            0);
        assert_int_equal(valid, 1);
        dg[0] ^= 1;
        assert_int_equal(
            cloak_vault_verify(g_c, cases[i].name, &p, dg, dl, r.value, r.value_len, &valid, &e),
            0);
        assert_int_equal(valid, 0);
        assert_false(ossl_verify(pub, cases[i].alg, dg, dl, r.value, r.value_len));
        cloak_vault_crypt_result_clear(&r);
        assert_null(r.value);
        EVP_PKEY_free(pub);
        json_decref(b);
    }
}

static void test_encrypt_decrypt(void **st)
{
    (void)st;
    cloak_error e = {0};
    json_t *b = NULL;
    const uint8_t pt[] = "attack at dawn";
    cloak_vault_crypt_result r = {0}, d = {0};
    /* RSA-OAEP-256: OpenSSL encrypts to the published key, the vault decrypts */
    create_simple("ed-rsa", "RSA", 2048, NULL, &b);
    EVP_PKEY *pub = bundle_pub(b);
    size_t cl;
    uint8_t *ct = ossl_oaep_encrypt(pub, "SHA256", pt, sizeof pt, &cl);
    cloak_vault_crypt_params p = {.alg = "RSA-OAEP-256"};
    assert_int_equal(cloak_vault_decrypt(g_c, "ed-rsa", &p, ct, cl, &d, &e), 0);
    assert_int_equal(d.value_len, sizeof pt);
    assert_memory_equal(d.value, pt, sizeof pt);
    cloak_vault_crypt_result_clear(&d);
    /* the vault's own encryption round-trips */
    assert_int_equal(cloak_vault_encrypt(g_c, "ed-rsa", &p, pt, sizeof pt, &r, &e), 0);
    assert_int_equal(r.value_len, 256);
    assert_int_equal(cloak_vault_decrypt(g_c, "ed-rsa", &p, r.value, r.value_len, &d, &e), 0);
    assert_memory_equal(d.value, pt, sizeof pt);
    cloak_vault_crypt_result_clear(&r);
    cloak_vault_crypt_result_clear(&d);
    free(ct);
    EVP_PKEY_free(pub);
    json_decref(b);
    /* A256GCM with aad: iv and tag come back; decrypt needs them; a bad tag is refused */
    create_simple("ed-oct", "oct", 256, NULL, NULL);
    cloak_vault_crypt_params g = {.alg = "A256GCM", .aad = (const uint8_t *)"hdr", .aad_len = 3};
    assert_int_equal(cloak_vault_encrypt(g_c, "ed-oct", &g, pt, sizeof pt, &r, &e), 0);
    assert_int_equal(r.iv_len, 12);
    assert_int_equal(r.tag_len, 16);
    assert_int_equal(r.value_len, sizeof pt);
    g.iv = r.iv;
    g.iv_len = r.iv_len;
    g.tag = r.tag;
    g.tag_len = r.tag_len;
    assert_int_equal(cloak_vault_decrypt(g_c, "ed-oct", &g, r.value, r.value_len, &d, &e), 0);
    assert_memory_equal(d.value, pt, sizeof pt);
    cloak_vault_crypt_result_clear(&d);
    r.tag[0] ^= 1;
    assert_int_equal(cloak_vault_decrypt(g_c, "ed-oct", &g, r.value, r.value_len, &d, &e),
                     CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "HTTP 400 BadParameter (DecryptionFailed): "));
    assert_null(d.value);
    cloak_vault_crypt_result_clear(&r);
}

static void test_wrap_unwrap(void **st)
{
    (void)st;
    cloak_error e = {0};
    uint8_t cek[32];
    assert_int_equal(RAND_bytes(cek, sizeof cek), 1);
    cloak_vault_crypt_result w = {0}, u = {0};
    create_simple("wu-oct", "oct-HSM", 256, NULL, NULL);
    cloak_vault_crypt_params p = {.alg = "A256KW"};
    assert_int_equal(cloak_vault_wrap(g_c, "wu-oct", &p, cek, sizeof cek, &w, &e), 0);
    assert_int_equal(w.value_len, 40); /* RFC 3394: n+8 */
    assert_int_equal(cloak_vault_unwrap(g_c, "wu-oct", &p, w.value, w.value_len, &u, &e), 0);
    assert_int_equal(u.value_len, 32);
    assert_memory_equal(u.value, cek, 32);
    cloak_vault_crypt_result_clear(&w);
    cloak_vault_crypt_result_clear(&u);
    /* RSA-OAEP (SHA-1): OpenSSL wraps to the public key, the vault unwraps */
    json_t *b = NULL;
    create_simple("wu-rsa", "RSA", 2048, NULL, &b);
    EVP_PKEY *pub = bundle_pub(b);
    size_t cl;
    uint8_t *ct = ossl_oaep_encrypt(pub, "SHA1", cek, sizeof cek, &cl);
    cloak_vault_crypt_params o = {.alg = "RSA-OAEP", .version = kid_version(b)};
    assert_int_equal(cloak_vault_unwrap(g_c, "wu-rsa", &o, ct, cl, &u, &e), 0);
    assert_memory_equal(u.value, cek, 32);
    cloak_vault_crypt_result_clear(&u);
    free(ct);
    EVP_PKEY_free(pub);
    json_decref(b);
}

static int count_item(const json_t *it, void *arg)
{
    (void)it;
    return ++*(int *)arg >= 3; /* stop after three */
}

static void test_list_paging(void **st)
{
    (void)st;
    cloak_error e = {0};
    char name[32];
    for (int i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "lst-%02d", i);
        create_simple(name, "oct", 128, NULL, NULL);
    }
    /* more than one page (25): every key once, by name */
    json_t *items = NULL;
    assert_int_equal(cloak_vault_key_list_all(g_c, CLOAK_VAULT_LIST_KEYS, NULL, &items, &e), 0);
    int seen[30] = {0};
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *kid = json_string_value(json_object_get(it, "kid"));
        const char *p = strstr(kid, "/keys/lst-");
        if (p) seen[atoi(p + 10)]++;
    }
    for (int k = 0; k < 30; k++)
        assert_int_equal(seen[k], 1);
    assert_true(json_array_size(items) > 25);
    json_decref(items);
    /* the callback stops early */
    int n = 0;
    assert_int_equal(cloak_vault_key_list(g_c, CLOAK_VAULT_LIST_KEYS, NULL, count_item, &n, &e), 0);
    assert_int_equal(n, 3);
    /* versions: rotate through the raw call, then two versions */
    json_t *rot = NULL;
    assert_int_equal(cloak_vault_call(g_c, "POST", "/keys/lst-00/rotate", NULL, &rot, &e), 0);
    assert_non_null(json_object_get(rot, "key"));
    json_decref(rot);
    assert_int_equal(cloak_vault_key_list_all(g_c, CLOAK_VAULT_LIST_VERSIONS, "lst-00", &items, &e),
                     0);
    assert_int_equal(json_array_size(items), 2);
    json_decref(items);
    assert_int_equal(
        cloak_vault_key_list_all(g_c, CLOAK_VAULT_LIST_VERSIONS, "no-such-key", &items, &e),
        CLOAK_ENOTFOUND);
    assert_null(items);
    assert_int_equal(
        cloak_vault_key_list_all(g_c, CLOAK_VAULT_LIST_VERSIONS, "bad/name", &items, &e),
        CLOAK_EINVAL);
}

struct find {
    const char *want;
    int found;
};

static int find_recovery_id(const json_t *it, void *arg)
{
    struct find *f = arg;
    const char *kid = json_string_value(json_object_get(it, "recoveryId"));
    f->found += kid && !strcmp(kid, f->want);
    return 0;
}

static void test_delete_recover_purge(void **st)
{
    (void)st;
    cloak_error e = {0};
    json_t *d = NULL, *b = NULL;
    create_simple("drp", "EC", 0, NULL, NULL);
    assert_int_equal(cloak_vault_key_delete(g_c, "drp", &d, &e), 0);
    char rid[256];
    snprintf(rid, sizeof rid, "%s/deletedkeys/drp", F.url);
    assert_string_equal(json_string_value(json_object_get(d, "recoveryId")), rid);
    assert_true(json_integer_value(json_object_get(d, "scheduledPurgeDate")) >
                json_integer_value(json_object_get(d, "deletedDate")));
    json_decref(d);
    /* the live name is 404, the deleted list has it, the name cannot be reused */
    assert_int_equal(cloak_vault_key_get(g_c, "drp", NULL, &b, &e), CLOAK_ENOTFOUND);
    assert_string_equal(e.msg, "HTTP 404 KeyNotFound: Key not found: drp");
    assert_int_equal(cloak_vault_client_last(g_c)->status, 404);
    assert_string_equal(cloak_vault_client_last(g_c)->code, "KeyNotFound");
    assert_null(b);
    struct find fd = {rid, 0};
    assert_int_equal(
        cloak_vault_key_list(g_c, CLOAK_VAULT_LIST_DELETED, NULL, find_recovery_id, &fd, &e), 0);
    assert_int_equal(fd.found, 1);
    cloak_vault_key_spec s = {.kty = "EC"};
    assert_int_equal(cloak_vault_key_create(g_c, "drp", &s, &b, &e), CLOAK_EEXIST);
    assert_prefix(e.msg, "HTTP 409 Conflict (ObjectIsDeletedButRecoverable): ");
    assert_string_equal(cloak_vault_client_last(g_c)->inner, "ObjectIsDeletedButRecoverable");
    /* recover, then it works again */
    assert_int_equal(cloak_vault_key_recover(g_c, "drp", &b, &e), 0);
    assert_non_null(json_object_get(b, "key"));
    json_decref(b);
    assert_int_equal(cloak_vault_key_get(g_c, "drp", NULL, &b, &e), 0);
    json_decref(b);
    /* purge needs a deleted key; after it the name is gone everywhere */
    assert_int_equal(cloak_vault_key_purge(g_c, "drp", &e), CLOAK_ENOTFOUND);
    assert_non_null(strstr(e.msg, "Deleted Key not found: drp"));
    assert_int_equal(cloak_vault_key_delete(g_c, "drp", NULL, &e), 0);
    assert_int_equal(cloak_vault_key_purge(g_c, "drp", &e), 0);
    assert_int_equal(cloak_vault_client_last(g_c)->status, 204);
    assert_int_equal(cloak_vault_key_recover(g_c, "drp", NULL, &e), CLOAK_ENOTFOUND);
    assert_int_equal(cloak_vault_call(g_c, "GET", "/deletedkeys/drp", NULL, &b, &e),
                     CLOAK_ENOTFOUND);
    /* and the name is free again */
    assert_int_equal(cloak_vault_key_create(g_c, "drp", &s, &b, &e), 0);
    json_decref(b);
}

static void test_error_mapping(void **st)
{
    (void)st;
    cloak_error e = {0};
    json_t *b = NULL;
    cloak_vault_key_spec s = {.kty = "EC"};
    /* 401: a token the vault did not issue */
    cloak_vault_client *bad = client_for("eyJhbGciOiJFUzI1NiJ9.e30.AAAA");
    assert_int_equal(cloak_vault_key_get(bad, "cg-ec", NULL, &b, &e), CLOAK_EPERM);
    assert_prefix(e.msg, "HTTP 401 Unauthorized: ");
    assert_null(strstr(e.msg, "eyJhbGciOiJFUzI1NiJ9.e30")); /* the token is not echoed */
    cloak_vault_client_free(bad);
    /* 403 ForbiddenByRbac: a reader may read but not create */
    char *rt = vtoken("reader", "rdr");
    cloak_vault_client *rd = client_for(rt);
    assert_int_equal(cloak_vault_key_get(rd, "cg-ec", NULL, &b, &e), 0);
    json_decref(b);
    assert_int_equal(cloak_vault_key_create(rd, "by-reader", &s, &b, &e), CLOAK_EPERM);
    assert_prefix(e.msg, "HTTP 403 Forbidden (ForbiddenByRbac): ");
    assert_string_equal(cloak_vault_client_last(rd)->inner, "ForbiddenByRbac");
    cloak_vault_client_free(rd);
    free(rt);
    assert_int_equal(cloak_vault_key_get(g_c, "by-reader", NULL, &b, &e), CLOAK_ENOTFOUND);
    /* 403 KeyOperationForbidden: cg-rsa allows only sign and verify */
    cloak_vault_crypt_params p = {.alg = "RSA-OAEP"};
    cloak_vault_crypt_result r = {0};
    assert_int_equal(cloak_vault_encrypt(g_c, "cg-rsa", &p, (const uint8_t *)"x", 1, &r, &e),
                     CLOAK_EPERM);
    assert_prefix(e.msg, "HTTP 403 Forbidden (KeyOperationForbidden): ");
    /* 403 KeyDisabled: cg-oct was created disabled */
    cloak_vault_crypt_params w = {.alg = "A128KW"};
    uint8_t k16[16] = {0};
    assert_int_equal(cloak_vault_wrap(g_c, "cg-oct", &w, k16, 16, &r, &e), CLOAK_EPERM);
    assert_string_equal(cloak_vault_client_last(g_c)->inner, "KeyDisabled");
    /* 400 BadParameter from the vault */
    cloak_vault_key_spec bk = {.kty = "DSA"};
    assert_int_equal(cloak_vault_key_create(g_c, "bad-kty", &bk, &b, &e), CLOAK_EINVAL);
    assert_prefix(e.msg, "HTTP 400 BadParameter: kty must be");
    cloak_vault_key_spec big = {.kty = "RSA", .key_size = 1024};
    assert_int_equal(cloak_vault_key_create(g_c, "bad-size", &big, &b, &e), CLOAK_EINVAL);
    /* transport failure: nothing listens there (EIO) ... */
    cloak_vault_client *off = NULL;
    assert_int_equal(cloak_vault_client_new("https://127.0.0.1:1", F.ca, "t", &off, &e), 0);
    assert_int_equal(cloak_vault_key_get(off, "x", NULL, &b, &e), CLOAK_EIO);
    assert_int_equal(cloak_vault_client_last(off)->status, 0);
    /* ... so EINVAL from the same client means refused here, before any request */
    assert_int_equal(cloak_vault_key_get(off, "a/../b", NULL, &b, &e), CLOAK_EINVAL);
    assert_int_equal(cloak_vault_key_get(off, "ok", "v?x=1", &b, &e), CLOAK_EINVAL);
    cloak_vault_crypt_params nalg = {.alg = NULL};
    cloak_vault_crypt_result nr = {0};
    assert_int_equal(cloak_vault_sign(off, "ok", &nalg, (const uint8_t *)"x", 1, &nr, &e),
                     CLOAK_EINVAL);
    cloak_vault_key_spec np = {.kty = "RSA", .exportable = 1, .release_policy = "not json"};
    assert_int_equal(cloak_vault_key_create(off, "np", &np, &b, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "release policy is not a JSON object"));
    assert_int_equal(cloak_vault_call(off, "GET", "/keys/a b", NULL, &b, &e), CLOAK_EINVAL);
    cloak_vault_client_free(off);
    /* the raw call: /rng gives the bytes asked for */
    json_t *body = json_pack("{s:i}", "count", 16), *ans = NULL;
    assert_int_equal(cloak_vault_call(g_c, "POST", "/rng", body, &ans, &e), 0);
    size_t n = 0;
    uint8_t *rb = tb64url_dec(json_string_value(json_object_get(ans, "value")), &n);
    assert_int_equal(n, 16);
    free(rb);
    json_decref(ans);
    json_decref(body);
}

/* A releasable key, released to the client's KEK, opened with the vault's pinned certificate
 * and unwrapped: the key matches the published public key / decrypts what the vault encrypted. */
static void test_release(void **st)
{
    (void)st;
    cloak_error e = {0};
    char *rt = NULL;
    EVP_PKEY *kek = make_kek(&rt), *pin = release_pub();
    char *pol = release_policy(2);
    cloak_vault_key_spec s = {
        .kty = "RSA-HSM", .exportable = 1, .release_policy = pol, .release_policy_immutable = 1};
    json_t *b = NULL;
    assert_int_equal(cloak_vault_key_create(g_c, "rel-rsa", &s, &b, &e), 0);
    assert_true(json_is_true(json_object_get(json_object_get(b, "release_policy"), "immutable")));
    char *tok = attest_token(rt, 0, 0x11, 3);
    char *jws = NULL;
    if (cloak_vault_key_release(g_c, "rel-rsa", kid_version(b), tok, "nonce-1", NULL, &jws, &e))
        fail_msg("release: %s", e.msg);
    cloak_vault_release rel = {0};
    assert_int_equal(cloak_vault_release_open(jws, pin, &rel, &e), 0);
    assert_string_equal(rel.kek_kid, "kek-1");
    assert_string_equal(rel.enc, "CKM_RSA_AES_KEY_WRAP");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rel.bundle, "key"), "kid")),
        json_string_value(json_object_get(json_object_get(b, "key"), "kid")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rel.payload, "request"), "nonce")),
        "nonce-1");
    uint8_t *key = NULL;
    size_t kl = 0;
    assert_int_equal(cloak_vault_release_unwrap(&rel, kek, &key, &kl, &e), 0);
    const uint8_t *p = key;
    EVP_PKEY *priv = d2i_AutoPrivateKey(NULL, &p, (long)kl);
    assert_non_null(priv);
    EVP_PKEY *pub = bundle_pub(b);
    assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
    cloak_free_secret(key, kl);
    /* another KEK does not open it; another pinned key refuses the answer */
    EVP_PKEY *other = EVP_RSA_gen(2048);
    assert_int_equal(cloak_vault_release_unwrap(&rel, other, &key, &kl, &e), CLOAK_EVERIFY);
    cloak_vault_release_clear(&rel);
    assert_int_equal(cloak_vault_release_open(jws, other, &rel, &e), CLOAK_EVERIFY);
    assert_null(rel.payload);
    /* a JWS changed in its payload does not verify */
    char *dot = strchr(jws, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    assert_int_not_equal(cloak_vault_release_open(jws, NULL, &rel, &e), CLOAK_OK);
    EVP_PKEY_free(other);
    free(jws);
    /* the nonce again: 403 NonceReplayed */
    assert_int_equal(cloak_vault_key_release(g_c, "rel-rsa", NULL, tok, "nonce-1", NULL, &jws, &e),
                     CLOAK_EPERM);
    assert_string_equal(cloak_vault_client_last(g_c)->inner, "NonceReplayed");
    assert_null(jws);
    free(tok);
    json_decref(b);

    /* an oct key, RSA_AES_KEY_WRAP_256: the released bytes decrypt (OpenSSL AES-GCM) what the
     * vault encrypted */
    s.kty = "oct-HSM";
    s.key_size = 256;
    s.release_policy_immutable = 0;
    assert_int_equal(cloak_vault_key_create(g_c, "rel-oct", &s, &b, &e), 0);
    json_decref(b);
    cloak_vault_crypt_params gp = {.alg = "A256GCM"};
    cloak_vault_crypt_result r = {0};
    assert_int_equal(
        cloak_vault_encrypt(g_c, "rel-oct", &gp, (const uint8_t *)"oct secret", 10, &r, &e), 0);
    tok = attest_token(rt, 0, 0x11, 2);
    assert_int_equal(
        cloak_vault_key_release(g_c, "rel-oct", NULL, tok, NULL, "RSA_AES_KEY_WRAP_256", &jws, &e),
        0);
    assert_int_equal(cloak_vault_release_open(jws, pin, &rel, &e), 0);
    assert_int_equal(cloak_vault_release_unwrap(&rel, kek, &key, &kl, &e), 0);
    assert_int_equal(kl, 32);
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    uint8_t out[32];
    int ol = 0, fl = 0;
    assert_int_equal(EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, (int)r.iv_len, NULL), 1);
    assert_int_equal(EVP_DecryptInit_ex(x, NULL, NULL, key, r.iv), 1);
    assert_int_equal(EVP_DecryptUpdate(x, out, &ol, r.value, (int)r.value_len), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, (int)r.tag_len, r.tag), 1);
    assert_int_equal(EVP_DecryptFinal_ex(x, out + ol, &fl), 1);
    assert_int_equal(ol + fl, 10);
    assert_memory_equal(out, "oct secret", 10);
    EVP_CIPHER_CTX_free(x);
    cloak_free_secret(key, kl);
    cloak_vault_release_clear(&rel);
    cloak_vault_crypt_result_clear(&r);
    free(jws);
    free(tok);

    /* 403 PolicyNotSatisfied: svn 1 is below the policy's 2 */
    tok = attest_token(rt, 0, 0x11, 1);
    assert_int_equal(cloak_vault_key_release(g_c, "rel-oct", NULL, tok, NULL, NULL, &jws, &e),
                     CLOAK_EPERM);
    assert_prefix(e.msg, "HTTP 403 Forbidden (PolicyNotSatisfied): ");
    free(tok);
    /* 403 KeyNotExportable: a key without a release policy */
    tok = attest_token(rt, 0, 0x11, 3);
    assert_int_equal(cloak_vault_key_release(g_c, "cg-ec", NULL, tok, NULL, NULL, &jws, &e),
                     CLOAK_EPERM);
    assert_string_equal(cloak_vault_client_last(g_c)->inner, "KeyNotExportable");
    free(tok);
    assert_int_equal(cloak_vault_key_release(g_c, "rel-oct", NULL, "", NULL, NULL, &jws, &e),
                     CLOAK_EINVAL);
    free(pol);
    free(rt);
    EVP_PKEY_free(kek);
    EVP_PKEY_free(pin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_new_refuses),
        cmocka_unit_test(test_create_get_keepalive),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_encrypt_decrypt),
        cmocka_unit_test(test_wrap_unwrap),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_delete_recover_purge),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_release),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
