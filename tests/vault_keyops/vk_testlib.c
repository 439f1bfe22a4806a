/* Helpers of the vault keyops tests (see vk_testlib.h). OpenSSL is used directly as the peer. */
#include "vk_testlib.h"

#include "cloak/jose.h"

#include <ftw.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char vk_root[] = "/tmp/cloak-test-vault-keyops-XXXXXX";
cloak_vault_keyops *vk_ko;

const char *vk_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", vk_root, name);
    return buf[k];
}

const char *vk_platform(void)
{
    return vk_path("platform");
}

cloak_err vk_try_open(const char *data, unsigned lanes, cloak_vault_keyops **ko, cloak_error *why)
{
    char dir[512], plat[512];
    snprintf(dir, sizeof dir, "%s", vk_path(data));
    snprintf(plat, sizeof plat, "%s", vk_platform());
    cloak_vault_keyops_config cfg = {.data_dir = dir, .platform_dir = plat, .lanes = lanes};
    return cloak_vault_keyops_open(&cfg, ko, why);
}

cloak_vault_keyops *vk_open(const char *data, unsigned lanes)
{
    cloak_vault_keyops *ko = NULL;
    cloak_error why = {0};
    cloak_err rc = vk_try_open(data, lanes, &ko, &why);
    if (rc) fail_msg("keyops open %s: %s (%s)", data, why.msg, cloak_err_name(rc));
    return ko;
}

static int rm_entry(const char *p, const struct stat *s, int f, struct FTW *w)
{
    return remove(p);
}

int vk_setup(void **state)
{
    if (!mkdtemp(vk_root)) return -1;
    cloak_error why = {0};
    if (vk_try_open("d0", 2, &vk_ko, &why)) {
        fprintf(stderr, "keyops open: %s\n", why.msg);
        nftw(vk_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return -1;
    }
    return 0;
}

int vk_teardown(void **state)
{
    cloak_vault_keyops_free(vk_ko);
    vk_ko = NULL;
    nftw(vk_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

uint8_t *vk_unhex(const char *hex, size_t *len)
{
    uint8_t *p = NULL;
    cloak_error why = {0};
    if (cloak_hex_decode(hex, &p, len, &why)) fail_msg("bad hex in test: %s", why.msg);
    return p;
}

cloak_err vk_crypt(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len, const char *bind,
                   const cloak_vk_request *req, cloak_vk_result *out, cloak_error *why)
{
    cloak_err rc = cloak_vault_keyops_crypt(ko, blob, blob_len, bind, req, out, why);
    return rc;
}

void vk_crypt_ok(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len, const char *bind,
                 cloak_vk_op op, const char *alg, const uint8_t *value, size_t value_len,
                 cloak_vk_result *out)
{
    cloak_vk_request rq = {.op = op, .alg = alg, .value = value, .value_len = value_len};
    cloak_error why = {0};
    cloak_err rc = cloak_vault_keyops_crypt(ko, blob, blob_len, bind, &rq, out, &why);
    if (rc) fail_msg("%s op %d: %s (%s)", alg, (int)op, why.msg, cloak_err_name(rc));
}

cloak_err vk_crypt_rc(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len,
                      const char *bind, cloak_vk_op op, const char *alg, const uint8_t *value,
                      size_t value_len)
{
    cloak_vk_request rq = {.op = op, .alg = alg, .value = value, .value_len = value_len};
    cloak_vk_result r = {0};
    cloak_error why = {0};
    cloak_err rc = cloak_vault_keyops_crypt(ko, blob, blob_len, bind, &rq, &r, &why);
    if (rc) assert_true(why.msg[0] != 0); /* every refusal says why */
    cloak_vk_result_clear(&r);
    return rc;
}

void vk_import(cloak_vault_keyops *ko, const json_t *jwk, const char *bind, uint8_t **blob,
               size_t *blob_len, json_t **pub)
{
    cloak_error why = {0};
    cloak_vk_type t;
    unsigned bits;
    cloak_err rc = cloak_vault_keyops_import(ko, jwk, bind, blob, blob_len, pub, &t, &bits, &why);
    if (rc) fail_msg("import: %s (%s)", why.msg, cloak_err_name(rc));
}

void vk_generate(cloak_vault_keyops *ko, cloak_vk_type type, unsigned bits, const char *curve,
                 const char *bind, uint8_t **blob, size_t *blob_len, json_t **pub)
{
    cloak_vk_spec spec = {.type = type, .bits = bits, .curve = curve};
    cloak_error why = {0};
    cloak_err rc = cloak_vault_keyops_generate(ko, &spec, bind, blob, blob_len, pub, &why);
    if (rc) fail_msg("generate: %s (%s)", why.msg, cloak_err_name(rc));
}

EVP_PKEY *vk_rsa_key(unsigned bits)
{
    EVP_PKEY *pk = EVP_RSA_gen(bits);
    assert_non_null(pk);
    return pk;
}

EVP_PKEY *vk_ec_key(const char *group)
{
    EVP_PKEY *pk = EVP_EC_gen(group);
    assert_non_null(pk);
    return pk;
}

static void set_b64(json_t *j, const char *name, const uint8_t *p, size_t len)
{
    char *s = cloak_base64url_encode(p, len);
    assert_non_null(s);
    json_object_set_new(j, name, json_string(s));
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

/* A private JWK built from the key's parameters with OpenSSL (RFC 7518 §6.2, §6.3). */
json_t *vk_private_jwk(EVP_PKEY *pk)
{
    json_t *j = json_object();
    uint8_t buf[1024];
    if (EVP_PKEY_is_a(pk, "RSA")) {
        static const char *const jn[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
        static const char *const on[] = {
            OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
            OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
            OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
            OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
        json_object_set_new(j, "kty", json_string("RSA"));
        for (size_t i = 0; i < 8; i++) {
            BIGNUM *b = NULL;
            assert_int_equal(EVP_PKEY_get_bn_param(pk, on[i], &b), 1);
            int n = BN_bn2bin(b, buf);
            set_b64(j, jn[i], buf, (size_t)n);
            BN_clear_free(b);
        }
    } else {
        char group[64];
        size_t pl = 0;
        BIGNUM *d = NULL;
        assert_int_equal(EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                        sizeof group, NULL),
                         1);
        const char *crv = !strcmp(group, "prime256v1")  ? "P-256"
                          : !strcmp(group, "secp384r1") ? "P-384"
                          : !strcmp(group, "secp521r1") ? "P-521"
                                                        : "secp256k1";
        assert_int_equal(
            EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &pl), 1);
        size_t f = (pl - 1) / 2;
        json_object_set_new(j, "kty", json_string("EC"));
        json_object_set_new(j, "crv", json_string(crv));
        set_b64(j, "x", buf + 1, f);
        set_b64(j, "y", buf + 1 + f, f);
        assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
        BN_bn2binpad(d, buf, (int)f);
        set_b64(j, "d", buf, f);
        BN_clear_free(d);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return j;
}

json_t *vk_oct_jwk(const uint8_t *k, size_t len)
{
    char *s = cloak_base64url_encode(k, len);
    json_t *j = json_pack("{s:s, s:s}", "kty", "oct", "k", s);
    free(s);
    assert_non_null(j);
    return j;
}

static BIGNUM *b64_bn(const json_t *jwk, const char *name, size_t *len)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    uint8_t *b = NULL;
    size_t n = 0;
    cloak_error why = {0};
    assert_non_null(s);
    if (cloak_base64url_decode(s, strlen(s), &b, &n, &why)) fail_msg("%s: %s", name, why.msg);
    BIGNUM *r = BN_bin2bn(b, (int)n, NULL);
    if (len) *len = n;
    free(b);
    return r;
}

EVP_PKEY *vk_public_from_jwk(const json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *a = NULL, *b = NULL;
    uint8_t pub[1 + 2 * 66]; /* the builder keeps a pointer to it until to_param */
    assert_non_null(kty);
    if (!strcmp(kty, "RSA")) {
        a = b64_bn(jwk, "n", NULL);
        b = b64_bn(jwk, "e", NULL);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, a);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, b);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    } else {
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        const char *group = !strcmp(crv, "P-256K") ? "secp256k1" : crv;
        size_t xl = 0, yl = 0;
        a = b64_bn(jwk, "x", &xl);
        b = b64_bn(jwk, "y", &yl);
        assert_int_equal(xl, yl);
        pub[0] = 4;
        BN_bn2binpad(a, pub + 1, (int)xl);
        BN_bn2binpad(b, pub + 1 + xl, (int)xl);
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * xl);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    }
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    assert_true(params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
                EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) == 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(a);
    BN_free(b);
    return pk;
}

uint8_t *vk_pkcs8(EVP_PKEY *pk, size_t *len)
{
    OSSL_ENCODER_CTX *c =
        OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
    unsigned char *p = NULL;
    assert_true(c && OSSL_ENCODER_to_data(c, &p, len) == 1);
    OSSL_ENCODER_CTX_free(c);
    return p;
}

void vk_hash(const char *md, const void *p, size_t len, uint8_t *out, size_t *out_len)
{
    unsigned n = 0;
    EVP_MD *m = EVP_MD_fetch(NULL, md, NULL);
    assert_true(m && EVP_Digest(p, len, out, &n, m, NULL) == 1);
    EVP_MD_free(m);
    *out_len = n;
}

static EVP_PKEY_CTX *sig_ctx(EVP_PKEY *pk, int sign, const char *md, int pss)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    assert_non_null(c);
    assert_int_equal(sign ? EVP_PKEY_sign_init(c) : EVP_PKEY_verify_init(c), 1);
    if (EVP_PKEY_is_a(pk, "RSA")) {
        EVP_MD *m = EVP_MD_fetch(NULL, md, NULL);
        assert_int_equal(
            EVP_PKEY_CTX_set_rsa_padding(c, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, m), 1);
        if (pss) {
            assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, m), 1);
            assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST), 1);
        }
        EVP_MD_free(m);
    }
    return c;
}

int vk_verify(EVP_PKEY *pub, const char *md, int pss, const uint8_t *digest, size_t dlen,
              const uint8_t *sig, size_t slen)
{
    EVP_PKEY_CTX *c = sig_ctx(pub, 0, md, pss);
    uint8_t *der = NULL;
    int n = (int)slen, ok;
    if (EVP_PKEY_is_a(pub, "EC")) { /* JOSE R||S -> DER */
        ECDSA_SIG *s = ECDSA_SIG_new();
        ECDSA_SIG_set0(s, BN_bin2bn(sig, (int)slen / 2, NULL),
                       BN_bin2bn(sig + slen / 2, (int)slen / 2, NULL));
        n = i2d_ECDSA_SIG(s, &der);
        ECDSA_SIG_free(s);
        sig = der;
    }
    ok = EVP_PKEY_verify(c, sig, (size_t)n, digest, dlen) == 1;
    OPENSSL_free(der);
    EVP_PKEY_CTX_free(c);
    return ok;
}

uint8_t *vk_sign(EVP_PKEY *pk, const char *md, int pss, size_t field, const uint8_t *digest,
                 size_t dlen, size_t *slen)
{
    EVP_PKEY_CTX *c = sig_ctx(pk, 1, md, pss);
    size_t n = 0;
    assert_int_equal(EVP_PKEY_sign(c, NULL, &n, digest, dlen), 1);
    uint8_t *sig = malloc(n);
    assert_int_equal(EVP_PKEY_sign(c, sig, &n, digest, dlen), 1);
    EVP_PKEY_CTX_free(c);
    if (EVP_PKEY_is_a(pk, "EC")) { /* DER -> JOSE R||S */
        const uint8_t *p = sig;
        ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)n);
        uint8_t *rs = malloc(2 * field);
        assert_non_null(s);
        BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, (int)field);
        BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + field, (int)field);
        ECDSA_SIG_free(s);
        free(sig);
        sig = rs;
        n = 2 * field;
    }
    *slen = n;
    return sig;
}

uint8_t *vk_rsa(EVP_PKEY *pk, int enc, const char *md, const uint8_t *in, size_t len,
                size_t *out_len)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    assert_int_equal(enc ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c), 1);
    if (md) {
        EVP_MD *m = EVP_MD_fetch(NULL, md, NULL);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, m), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, m), 1);
        EVP_MD_free(m);
    } else {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
    }
    size_t n = (size_t)EVP_PKEY_get_size(pk);
    uint8_t *out = malloc(n);
    int ok = enc ? EVP_PKEY_encrypt(c, out, &n, in, len) : EVP_PKEY_decrypt(c, out, &n, in, len);
    EVP_PKEY_CTX_free(c);
    if (ok != 1) {
        free(out);
        return NULL;
    }
    *out_len = n;
    return out;
}

uint8_t *vk_release_open(EVP_PKEY *kek, const char *md, const uint8_t *out, size_t len,
                         size_t *target_len)
{
    size_t k = (size_t)EVP_PKEY_get_size(kek), aes_len = 0;
    assert_true(len > k + 8);
    uint8_t *aes = vk_rsa(kek, 0, md, out, k, &aes_len);
    assert_non_null(aes);
    assert_int_equal(aes_len, 32);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    uint8_t *t = malloc(len - k);
    int n = 0, fin = 0;
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, aes, NULL), 1);
    assert_int_equal(EVP_DecryptUpdate(c, t, &n, out + k, (int)(len - k)), 1);
    assert_int_equal(EVP_DecryptFinal_ex(c, t + n, &fin), 1);
    EVP_CIPHER_CTX_free(c);
    free(aes);
    *target_len = (size_t)(n + fin);
    return t;
}

int vk_aes(const char *cipher, int enc, int pad, const uint8_t *key, const uint8_t *iv,
           size_t iv_len, const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
           uint8_t *out, size_t *out_len, uint8_t *tag)
{
    EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, cipher, NULL);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int gcm = strstr(cipher, "GCM") != NULL, n = 0, fin = 0, ok;
    ok = ci && c && EVP_CipherInit_ex(c, ci, NULL, NULL, NULL, enc) == 1;
    if (ok && gcm) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) == 1;
    if (ok && !gcm) ok = EVP_CIPHER_CTX_set_padding(c, pad) == 1;
    if (ok && aad_len) ok = EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1;
    if (ok) ok = EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
    if (ok && gcm && !enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    if (ok) ok = EVP_CipherFinal_ex(c, out + n, &fin) == 1;
    if (ok && gcm && enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(c);
    EVP_CIPHER_free(ci);
    *out_len = (size_t)(n + fin);
    return ok;
}
