/* Helpers of the vault client tests; see vc_testlib.h. Everything here is OpenSSL used
 * directly, independent of the client under test. */
#include "vc_testlib.h"

#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

static const EVP_MD *md_of(const char *alg)
{
    const char *bits = alg + strlen(alg) - 3;
    if (!strcmp(alg, "ES256K")) return EVP_sha256();
    return !strcmp(bits, "384") ? EVP_sha384() : !strcmp(bits, "512") ? EVP_sha512() : EVP_sha256();
}

int ossl_verify(EVP_PKEY *pub, const char *alg, const uint8_t *dg, size_t dl, const uint8_t *sig,
                size_t sl)
{
    uint8_t *der = NULL;
    int derl = 0;
    if (alg[0] == 'E') { /* r||s -> DER */
        ECDSA_SIG *s = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, (int)(sl / 2), NULL),
               *ss = BN_bin2bn(sig + sl / 2, (int)(sl / 2), NULL);
        assert_int_equal(ECDSA_SIG_set0(s, r, ss), 1);
        derl = i2d_ECDSA_SIG(s, &der);
        assert_true(derl > 0);
        ECDSA_SIG_free(s);
        sig = der;
        sl = (size_t)derl;
    }
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    assert_int_equal(EVP_PKEY_verify_init(c), 1);
    if (alg[0] != 'E') {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, alg[0] == 'P' ? RSA_PKCS1_PSS_PADDING
                                                                       : RSA_PKCS1_PADDING),
                         1);
        if (alg[0] == 'P')
            assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, md_of(alg)), 1);
    int ok = EVP_PKEY_verify(c, sig, sl, dg, dl);
    EVP_PKEY_CTX_free(c);
    OPENSSL_free(der);
    return ok == 1;
}

void ossl_digest(const char *md, const uint8_t *msg, size_t len, uint8_t *out, size_t *out_len)
{
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(msg, len, out, &n, EVP_get_digestbyname(md), NULL), 1);
    *out_len = n;
}

uint8_t *ossl_oaep_encrypt(EVP_PKEY *pub, const char *md, const uint8_t *in, size_t len,
                           size_t *out_len)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    size_t n = 0;
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_get_digestbyname(md)), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_get_digestbyname(md)), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, NULL, &n, in, len), 1);
    uint8_t *out = malloc(n);
    assert_int_equal(EVP_PKEY_encrypt(c, out, &n, in, len), 1);
    EVP_PKEY_CTX_free(c);
    *out_len = n;
    return out;
}

char *release_policy(int min_svn)
{
    char *pol = NULL;
    assert_true(asprintf(&pol,
                         "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"%s/\",\"allOf\":["
                         "{\"claim\":\"x-ms-sgx-is-debuggable\",\"equals\":false},"
                         "{\"claim\":\"x-ms-sgx-svn\",\"greaterOrEquals\":%d},"
                         "{\"claim\":\"x-ms-attestation-type\",\"equals\":\"sgx\"}]}]}",
                         F.attest_url, min_svn) > 0);
    return pol;
}

EVP_PKEY *make_kek(char **runtime_json)
{
    cloak_error e = {0};
    EVP_PKEY *kek = EVP_RSA_gen(2048);
    assert_non_null(kek);
    json_t *jwk = NULL;
    cloak_jwk_opts o = {.kid = "kek-1"};
    if (cloak_jwk_export(kek, &o, &jwk, &e)) fail_msg("%s", e.msg);
    json_object_set_new(jwk, "key_ops", json_pack("[s]", "encrypt"));
    json_t *rt = json_pack("{s:[o]}", "keys", jwk);
    *runtime_json = json_dumps(rt, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rt);
    return kek;
}

EVP_PKEY *release_pub(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/release.pem", F.vault_dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    EVP_PKEY *k = X509_get_pubkey(x);
    X509_free(x);
    return k;
}
