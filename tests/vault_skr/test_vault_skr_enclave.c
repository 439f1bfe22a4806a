/* Secure Key Release into the example enclave (examples/skr), end to end over real HTTPS: the
 * enclave's evidence is attested by an in-process attestation service, the vault releases an
 * oct-HSM and an RSA key to the KEK the enclave made, and the enclave decrypts what the vault
 * encrypted. Expectations are independent of the code under test: the plaintext is the
 * message given to the vault, the quote layout is the SGX report body's (report data at body
 * offset 320), and forged answers are built here with OpenSSL directly. Refusals: a policy
 * asking for another product id, or a debug build of the enclave (PolicyNotSatisfied), a
 * tampered signature or payload, a JWS signed by another key (with its own or the vault's
 * x5c), another CA, another nonce. */
#include "vault_testlib.h"

#include "cloak/vault.h"
#include "evidence/dcap_testlib.h"
#include "skr_host.h"

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

static cloak_skrx *g_enc;
static char g_signer[65];
static char *g_release_path, *g_release_pem;
static cloak_vault_client *g_client;
static char *g_release_token; /* role crypto-service-release-user */
static int g_nonce;

static int setup(void **st)
{
    (void)st;
    cloak_error e = {0};
    vfix_setup_attest();
    vfix_start_vault(NULL, 0);
    if (cloak_skrx_new(NULL, F.plat_dir, &g_enc, &e)) fail_msg("enclave: %s", e.msg);
    /* the identity the policy names, read from the signed image itself */
    cloak_image *img = NULL;
    if (cloak_image_open_file(cloak_skrx_default_image(), &img, &e)) fail_msg("%s", e.msg);
    const cloak_image_identity *id = cloak_image_id(img);
    assert_int_equal(id->product_id, 3);
    assert_int_equal(id->svn, 1);
    assert_false(id->debug);
    assert_memory_equal(id->mrsigner, cloak_skrx_identity(g_enc)->mrsigner, 32);
    cloak_hex_write(g_signer, id->mrsigner, 32);
    cloak_image_free(img);
    assert_true(asprintf(&g_release_path, "%s/release.pem", F.vault_dir) > 0);
    size_t n = 0;
    g_release_pem = (char *)dcap_read_file(g_release_path, &n);
    assert_non_null(g_release_pem);
    g_release_pem = realloc(g_release_pem, n + 1);
    g_release_pem[n] = 0;
    if (cloak_vault_client_new(F.url, F.ca, F.admin, &g_client, &e)) fail_msg("%s", e.msg);
    g_release_token = vtoken("crypto-service-release-user", "skr-host");
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    cloak_vault_client_free(g_client);
    cloak_skrx_free(g_enc);
    free(g_release_path);
    free(g_release_pem);
    free(g_release_token);
    vfix_teardown();
    return 0;
}

/* An exportable key whose release policy names the example enclave's signer, `product` and
 * a non-debug enclave. */
static void create_key(const char *name, const char *kty, unsigned size, int product)
{
    char *pol = NULL;
    cloak_error e = {0};
    assert_true(asprintf(&pol,
                         "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"%s\",\"allOf\":["
                         "{\"claim\":\"x-ms-sgx-mrsigner\",\"equals\":\"%s\"},"
                         "{\"claim\":\"x-ms-sgx-product-id\",\"equals\":%d},"
                         "{\"claim\":\"x-ms-sgx-is-debuggable\",\"equals\":false}]}]}",
                         F.attest_url, g_signer, product) > 0);
    cloak_vault_key_spec spec = {
        .kty = kty, .key_size = size, .exportable = 1, .release_policy = pol};
    json_t *b = NULL;
    if (cloak_vault_key_create(g_client, name, &spec, &b, &e)) fail_msg("create: %s", e.msg);
    json_decref(b);
    free(pol);
}

static void vault_encrypt(const char *name, const char *alg, const char *msg,
                          cloak_vault_crypt_result *r)
{
    cloak_error e = {0};
    cloak_vault_crypt_params p = {.alg = alg};
    memset(r, 0, sizeof *r);
    if (cloak_vault_encrypt(g_client, name, &p, (const uint8_t *)msg, strlen(msg), r, &e))
        fail_msg("encrypt: %s", e.msg);
}

static cloak_skrx_flow flow(const char *name, const char *enc, const char *alg,
                            const cloak_vault_crypt_result *r)
{
    cloak_skrx_flow f = {
        .platform_dir = F.plat_dir,
        .attest_url = F.attest_url,
        .attest_ca = cloak_attest_service_ca(F.as),
        .vault_url = F.url,
        .vault_ca = F.ca,
        .release_ca_file = g_release_path,
        .token = g_release_token,
        .key = name,
        .enc = enc,
        .ct = {.alg = alg,
               .ct = r->value,
               .ct_len = r->value_len,
               .iv = r->iv,
               .iv_len = r->iv_len,
               .tag = r->tag,
               .tag_len = r->tag_len},
    };
    return f;
}

/* The runtime data is the KEK as a JWK, bound into the quote and carried into the token. */
static void test_evidence(void **st)
{
    (void)st;
    cloak_error e = {0};
    char *rt = NULL, *tok = NULL;
    uint8_t *q = NULL, h[32], zero[32] = {0};
    size_t ql = 0;
    if (cloak_skrx_evidence(g_enc, &rt, &q, &ql, &e)) fail_msg("%s", e.msg);
    static const char prefix[] =
        "{\"keys\":[{\"kid\":\"skr-kek\",\"kty\":\"RSA\",\"key_ops\":[\"encrypt\"],\"n\":\"";
    assert_int_equal(strncmp(rt, prefix, strlen(prefix)), 0);
    /* SGX quote v3: 48-byte header, then the report body; REPORTDATA at body offset 320 */
    assert_true(ql > 48 + 384);
    SHA256((const uint8_t *)rt, strlen(rt), h);
    assert_memory_equal(q + 48 + 320, h, 32);
    assert_memory_equal(q + 48 + 320 + 32, zero, 32);
    /* the KEK is an RSA-2048 public key with e = 65537 */
    json_t *j = json_loads(rt, 0, NULL);
    json_t *k = json_array_get(json_object_get(j, "keys"), 0);
    assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
    assert_string_equal(json_string_value(json_object_get(k, "e")), "AQAB");
    size_t nl = 0;
    uint8_t *n = tb64url_dec(json_string_value(json_object_get(k, "n")), &nl);
    assert_int_equal(nl, 256);
    assert_true(n[0] & 0x80);
    free(n);
    /* a second call gives the same KEK (one per enclave instance) */
    char *rt2 = NULL;
    uint8_t *q2 = NULL;
    if (cloak_skrx_evidence(g_enc, &rt2, &q2, &ql, &e)) fail_msg("%s", e.msg);
    assert_string_equal(rt, rt2);
    /* the attestation service binds it: x-ms-runtime is that document */
    if (cloak_skrx_attest(g_enc, F.attest_url, cloak_attest_service_ca(F.as), &tok, &e))
        fail_msg("%s", e.msg);
    const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
    char *mid = strndup(d1 + 1, (size_t)(d2 - d1 - 1));
    size_t cl = 0;
    uint8_t *cj = tb64url_dec(mid, &cl);
    json_t *c = json_loadb((const char *)cj, cl, 0, NULL);
    assert_non_null(c);
    assert_true(json_equal(json_object_get(c, "x-ms-runtime"), j));
    assert_int_equal(json_integer_value(json_object_get(c, "x-ms-sgx-product-id")), 3);
    assert_true(json_is_false(json_object_get(c, "x-ms-sgx-is-debuggable")));
    assert_string_equal(json_string_value(json_object_get(c, "x-ms-sgx-mrsigner")), g_signer);
    json_decref(c);
    json_decref(j);
    free(cj);
    free(mid);
    free(tok);
    free(rt);
    free(rt2);
    free(q);
    free(q2);
}

static void test_release_oct(void **st)
{
    (void)st;
    static const char msg[] = "an oct-HSM key, released into the enclave";
    cloak_vault_crypt_result r;
    cloak_error e = {0};
    uint8_t *pt = NULL;
    size_t pl = 0;
    create_key("skr-oct", "oct-HSM", 256, 3);
    vault_encrypt("skr-oct", "A256GCM", msg, &r);
    assert_int_equal(r.tag_len, 16);
    cloak_skrx_flow f = flow("skr-oct", NULL, "A256GCM", &r);
    if (cloak_skrx_run(&f, &pt, &pl, &e)) fail_msg("%s", e.msg);
    assert_int_equal(pl, strlen(msg));
    assert_memory_equal(pt, msg, pl);
    cloak_free_secret(pt, pl);
    /* with the other OAEP hashes of the transport key, too */
    f.enc = "RSA_AES_KEY_WRAP_384";
    if (cloak_skrx_run(&f, &pt, &pl, &e)) fail_msg("%s", e.msg);
    assert_memory_equal(pt, msg, strlen(msg));
    cloak_free_secret(pt, pl);
    /* a ciphertext altered by one bit does not authenticate under the released key */
    r.value[0] ^= 1;
    assert_int_equal(cloak_skrx_run(&f, &pt, &pl, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "does not authenticate"));
    assert_null(pt);
    cloak_vault_crypt_result_clear(&r);
}

static void test_release_rsa(void **st)
{
    (void)st;
    static const char msg[] = "an RSA key, released into the enclave";
    cloak_vault_crypt_result r;
    cloak_error e = {0};
    uint8_t *pt = NULL;
    size_t pl = 0;
    create_key("skr-rsa", "RSA", 2048, 3);
    vault_encrypt("skr-rsa", "RSA-OAEP-256", msg, &r);
    assert_int_equal(r.value_len, 256);
    cloak_skrx_flow f = flow("skr-rsa", "RSA_AES_KEY_WRAP_256", "RSA-OAEP-256", &r);
    if (cloak_skrx_run(&f, &pt, &pl, &e)) fail_msg("%s", e.msg);
    assert_int_equal(pl, strlen(msg));
    assert_memory_equal(pt, msg, pl);
    cloak_free_secret(pt, pl);
    cloak_vault_crypt_result_clear(&r);
    /* RSA-OAEP (SHA-1) with the default enc */
    vault_encrypt("skr-rsa", "RSA-OAEP", msg, &r);
    f = flow("skr-rsa", NULL, "RSA-OAEP", &r);
    if (cloak_skrx_run(&f, &pt, &pl, &e)) fail_msg("%s", e.msg);
    assert_memory_equal(pt, msg, strlen(msg));
    cloak_free_secret(pt, pl);
    /* the wrong OAEP hash for that ciphertext is refused, not mis-decrypted */
    f.ct.alg = "RSA-OAEP-256";
    assert_int_equal(cloak_skrx_run(&f, &pt, &pl, &e), CLOAK_EVERIFY);
    cloak_vault_crypt_result_clear(&r);
}

static void test_policy_refused(void **st)
{
    (void)st;
    cloak_vault_crypt_result r;
    cloak_error e = {0};
    uint8_t *pt = NULL;
    size_t pl = 0;
    char *tok = NULL, *jws = NULL;
    create_key("skr-other", "oct-HSM", 256, 4); /* another product's key */
    vault_encrypt("skr-other", "A256GCM", "not for product 3", &r);
    if (cloak_skrx_attest(g_enc, F.attest_url, cloak_attest_service_ca(F.as), &tok, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(
        cloak_vault_key_release(g_client, "skr-other", NULL, tok, "p-1", NULL, &jws, &e),
        CLOAK_EPERM);
    assert_null(jws);
    assert_int_equal(cloak_vault_client_last(g_client)->status, 403);
    assert_string_equal(cloak_vault_client_last(g_client)->inner, "PolicyNotSatisfied");
    assert_non_null(strstr(e.msg, "x-ms-sgx-product-id"));
    /* the whole flow reports the vault's reason */
    cloak_skrx_flow f = flow("skr-other", NULL, "A256GCM", &r);
    assert_int_equal(cloak_skrx_run(&f, &pt, &pl, &e), CLOAK_EPERM);
    assert_non_null(strstr(e.msg, "PolicyNotSatisfied"));
    assert_null(pt);
    free(tok);
    cloak_vault_crypt_result_clear(&r);
}

/* The same code signed as a debug enclave: same signer and product, refused for the debug flag
 * alone (the non-debug enclave gets the same key). */
static void test_debug_refused(void **st)
{
    (void)st;
    cloak_skrx *d = NULL;
    cloak_error e = {0};
    char *tok = NULL, *jws = NULL;
    if (cloak_skrx_new(cloak_skrx_debug_image(), F.plat_dir, &d, &e)) fail_msg("%s", e.msg);
    assert_true(cloak_skrx_identity(d)->debug);
    assert_int_equal(cloak_skrx_identity(d)->product_id, 3);
    assert_memory_equal(cloak_skrx_identity(d)->mrsigner, cloak_skrx_identity(g_enc)->mrsigner, 32);
    create_key("skr-dbg", "oct-HSM", 256, 3);
    if (cloak_skrx_attest(d, F.attest_url, cloak_attest_service_ca(F.as), &tok, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(cloak_vault_key_release(g_client, "skr-dbg", NULL, tok, "d-1", NULL, &jws, &e),
                     CLOAK_EPERM);
    assert_string_equal(cloak_vault_client_last(g_client)->inner, "PolicyNotSatisfied");
    assert_non_null(strstr(e.msg, "x-ms-sgx-is-debuggable"));
    free(tok);
    tok = NULL;
    if (cloak_skrx_attest(g_enc, F.attest_url, cloak_attest_service_ca(F.as), &tok, &e))
        fail_msg("%s", e.msg);
    if (cloak_vault_key_release(g_client, "skr-dbg", NULL, tok, "d-2", NULL, &jws, &e))
        fail_msg("the non-debug enclave: %s", e.msg);
    free(jws);
    free(tok);
    cloak_skrx_free(d);
}

/* base64url / base64 with OpenSSL, for forging */
static char *b64(const uint8_t *p, size_t n, int url)
{
    if (url) return tb64url(p, n);
    char *o = malloc(n * 2 + 8);
    EVP_EncodeBlock((unsigned char *)o, p, (int)n);
    return o;
}

/* "header.payload.signature" signed RS256 by `k` with OpenSSL. */
static char *forge(const char *hdr64, const char *payload64, EVP_PKEY *k)
{
    char *in = NULL, *out = NULL;
    uint8_t sig[512];
    size_t sl = sizeof sig;
    assert_true(asprintf(&in, "%s.%s", hdr64, payload64) > 0);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(c, sig, &sl, (const uint8_t *)in, strlen(in)), 1);
    EVP_MD_CTX_free(c);
    char *s = tb64url(sig, sl);
    assert_true(asprintf(&out, "%s.%s", in, s) > 0);
    free(s);
    free(in);
    return out;
}

/* A self-signed certificate for `k`; *pem its PEM text; returns x5c (standard base64). */
static char *self_signed(EVP_PKEY *k, char **pem)
{
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"not the vault", -1,
                               -1, 0);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p = NULL;
    long pl = BIO_get_mem_data(b, &p);
    *pem = strndup(p, (size_t)pl);
    BIO_free(b);
    uint8_t *der = NULL;
    int dl = i2d_X509(x, &der);
    char *out = b64(der, (size_t)dl, 0);
    OPENSSL_free(der);
    X509_free(x);
    return out;
}

static void expect_refused(const char *jws, const char *ca, const char *nonce,
                           const cloak_skrx_ciphertext *c, const char *why_part)
{
    cloak_error e = {0};
    uint8_t *pt = NULL;
    size_t pl = 0;
    assert_int_equal(cloak_skrx_open(g_enc, jws, ca, nonce, c, &pt, &pl, &e), CLOAK_EVERIFY);
    assert_null(pt);
    if (!strstr(e.msg, why_part)) fail_msg("expected \"%s\" in: %s", why_part, e.msg);
}

static void test_forged_refused(void **st)
{
    (void)st;
    static const char msg[] = "only the vault's answer opens this";
    cloak_vault_crypt_result r;
    cloak_error e = {0};
    char *tok = NULL, *jws = NULL;
    uint8_t *pt = NULL;
    size_t pl = 0;
    create_key("skr-forge", "oct-HSM", 256, 3);
    vault_encrypt("skr-forge", "A256GCM", msg, &r);
    cloak_skrx_ciphertext c = {.alg = "A256GCM",
                               .ct = r.value,
                               .ct_len = r.value_len,
                               .iv = r.iv,
                               .iv_len = r.iv_len,
                               .tag = r.tag,
                               .tag_len = r.tag_len};
    if (cloak_skrx_attest(g_enc, F.attest_url, cloak_attest_service_ca(F.as), &tok, &e))
        fail_msg("%s", e.msg);
    char nonce[32];
    snprintf(nonce, sizeof nonce, "forge-%d", ++g_nonce);
    if (cloak_vault_key_release(g_client, "skr-forge", NULL, tok, nonce, NULL, &jws, &e))
        fail_msg("release: %s", e.msg);
    const char *d1 = strchr(jws, '.'), *d2 = strchr(d1 + 1, '.');
    char *hdr64 = strndup(jws, (size_t)(d1 - jws));
    char *pay64 = strndup(d1 + 1, (size_t)(d2 - d1 - 1));

    /* one byte of the signature changed */
    char *t = strdup(jws);
    size_t at = (size_t)(d2 - jws) + 20;
    t[at] = t[at] == 'A' ? 'B' : 'A';
    expect_refused(t, g_release_pem, nonce, &c, "signature does not verify");
    free(t);
    /* one byte of the payload changed */
    t = strdup(jws);
    at = (size_t)(d1 - jws) + 30;
    t[at] = t[at] == 'A' ? 'B' : 'A';
    expect_refused(t, g_release_pem, nonce, &c, "signature does not verify");
    free(t);
    /* the genuine payload signed by another key: under the vault's x5c ... */
    EVP_PKEY *other = EVP_RSA_gen(2048);
    assert_non_null(other);
    t = forge(hdr64, pay64, other);
    expect_refused(t, g_release_pem, nonce, &c, "signature does not verify");
    free(t);
    /* ... and under its own certificate */
    char *other_pem = NULL, *x5c = self_signed(other, &other_pem), *h = NULL;
    assert_true(asprintf(&h, "{\"alg\":\"RS256\",\"x5c\":[\"%s\"]}", x5c) > 0);
    char *h64 = tb64url((const uint8_t *)h, strlen(h));
    char *forged = forge(h64, pay64, other);
    expect_refused(forged, g_release_pem, nonce, &c, "does not chain to the release CA");
    /* the genuine answer checked against another CA, or for another request */
    expect_refused(jws, other_pem, nonce, &c, "does not chain to the release CA");
    size_t al = 0;
    char *att_ca = (char *)dcap_read_file(cloak_attest_service_ca(F.as), &al);
    att_ca = realloc(att_ca, al + 1);
    att_ca[al] = 0;
    expect_refused(jws, att_ca, nonce, &c, "does not chain to the release CA");
    free(att_ca);
    expect_refused(jws, g_release_pem, "another-nonce", &c, "nonce differs");
    /* the enclave survived all of that, and the genuine answer opens */
    if (cloak_skrx_open(g_enc, jws, g_release_pem, nonce, &c, &pt, &pl, &e)) fail_msg("%s", e.msg);
    assert_int_equal(pl, strlen(msg));
    assert_memory_equal(pt, msg, pl);
    cloak_free_secret(pt, pl);
    /* Pinning is the caller's job: a host that names the forger's certificate as the CA
     * makes the enclave accept the forged JWS -- and still gets nothing the vault did not
     * wrap for this enclave's KEK (the payload is the vault's). */
    if (cloak_skrx_open(g_enc, forged, other_pem, nonce, &c, &pt, &pl, &e)) fail_msg("%s", e.msg);
    assert_memory_equal(pt, msg, strlen(msg));
    cloak_free_secret(pt, pl);
    free(forged);
    free(h64);
    free(h);
    free(x5c);
    free(other_pem);
    EVP_PKEY_free(other);
    free(hdr64);
    free(pay64);
    free(jws);
    free(tok);
    cloak_vault_crypt_result_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evidence),      cmocka_unit_test(test_release_oct),
        cmocka_unit_test(test_release_rsa),   cmocka_unit_test(test_policy_refused),
        cmocka_unit_test(test_debug_refused), cmocka_unit_test(test_forged_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
