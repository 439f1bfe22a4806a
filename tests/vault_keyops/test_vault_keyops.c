/*
 * Vault keyops (src/vault/keyops*.c + the vault enclave): every algorithm of keyops.h in both
 * directions against OpenSSL used directly as the peer, published vectors (RFC 3394 §4,
 * RFC 5649 §6, NIST SP 800-38A F.2.5, GCM spec test case 16), Secure Key Release opened by
 * the test with its own KEK, and the refusals (bad alg/key combinations, bad sizes).
 */
#include "vk_testlib.h"

#include "cloak/jose.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *alg, *md;
    int pss;
    size_t dlen;
} rsa_sigs[] = {{"RS256", "SHA256", 0, 32}, {"RS384", "SHA384", 0, 48}, {"RS512", "SHA512", 0, 64},
                {"PS256", "SHA256", 1, 32}, {"PS384", "SHA384", 1, 48}, {"PS512", "SHA512", 1, 64}};
static const struct {
    const char *alg, *md;
} rsa_encs[] = {{"RSA-OAEP", "SHA1"}, {"RSA-OAEP-256", "SHA256"}, {"RSA1_5", NULL}};

/* Generated RSA key: OpenSSL encrypts with the public JWK, keyops decrypts/unwraps; keyops
 * signs, OpenSSL verifies; keyops verifies its own and refuses altered signatures. */
static void check_rsa_generated(unsigned bits)
{
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    json_t *pub = NULL;
    vk_generate(vk_ko, CLOAK_VK_RSA, bits, NULL, "rsa/g", &blob, &blob_len, &pub);
    assert_string_equal(json_string_value(json_object_get(pub, "kty")), "RSA");
    assert_string_equal(json_string_value(json_object_get(pub, "e")), "AQAB");
    assert_null(json_object_get(pub, "d"));
    assert_null(json_object_get(pub, "kid"));
    EVP_PKEY *pk = vk_public_from_jwk(pub);
    assert_int_equal(EVP_PKEY_get_bits(pk), bits);
    const uint8_t msg[] = "a 32-byte content-encryption key";
    for (size_t i = 0; i < 3; i++) {
        size_t ct_len = 0;
        uint8_t *ct = vk_rsa(pk, 1, rsa_encs[i].md, msg, 32, &ct_len);
        assert_non_null(ct);
        cloak_vk_result r = {0};
        vk_crypt_ok(vk_ko, blob, blob_len, "rsa/g", CLOAK_VK_DECRYPT, rsa_encs[i].alg, ct, ct_len,
                    &r);
        assert_int_equal(r.value_len, 32);
        assert_memory_equal(r.value, msg, 32);
        cloak_vk_result_clear(&r);
        vk_crypt_ok(vk_ko, blob, blob_len, "rsa/g", CLOAK_VK_UNWRAP, rsa_encs[i].alg, ct, ct_len,
                    &r);
        assert_memory_equal(r.value, msg, 32);
        cloak_vk_result_clear(&r);
        /* keyops encrypts: randomized, the key's size, and decrypts back */
        cloak_vk_result e1 = {0}, e2 = {0}, d = {0};
        vk_crypt_ok(vk_ko, blob, blob_len, "rsa/g", CLOAK_VK_WRAP, rsa_encs[i].alg, msg, 32, &e1);
        vk_crypt_ok(vk_ko, blob, blob_len, "rsa/g", CLOAK_VK_ENCRYPT, rsa_encs[i].alg, msg, 32,
                    &e2);
        assert_int_equal(e1.value_len, bits / 8);
        assert_true(memcmp(e1.value, e2.value, bits / 8) != 0);
        vk_crypt_ok(vk_ko, blob, blob_len, "rsa/g", CLOAK_VK_DECRYPT, rsa_encs[i].alg, e1.value,
                    e1.value_len, &d);
        assert_memory_equal(d.value, msg, 32);
        cloak_vk_result_clear(&e1);
        cloak_vk_result_clear(&e2);
        cloak_vk_result_clear(&d);
        /* a ciphertext for another key does not decrypt */
        ct[ct_len / 2] ^= 1;
        if (rsa_encs[i].md)
            assert_int_equal(vk_crypt_rc(vk_ko, blob, blob_len, "rsa/g", CLOAK_VK_DECRYPT,
                                         rsa_encs[i].alg, ct, ct_len),
                             CLOAK_EVERIFY);
        free(ct);
    }
    for (size_t i = 0; i < 6; i++) {
        uint8_t dg[64];
        size_t dl = 0;
        vk_hash(rsa_sigs[i].md, "hello", 5, dg, &dl);
        cloak_vk_result s = {0}, v = {0};
        vk_crypt_ok(vk_ko, blob, blob_len, "rsa/g", CLOAK_VK_SIGN, rsa_sigs[i].alg, dg, dl, &s);
        assert_int_equal(s.value_len, bits / 8);
        assert_true(vk_verify(pk, rsa_sigs[i].md, rsa_sigs[i].pss, dg, dl, s.value, s.value_len));
        cloak_vk_request rq = {.op = CLOAK_VK_VERIFY,
                               .alg = rsa_sigs[i].alg,
                               .value = s.value,
                               .value_len = s.value_len,
                               .digest = dg,
                               .digest_len = dl};
        cloak_error why = {0};
        assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "rsa/g", &rq, &v, &why), CLOAK_OK);
        assert_int_equal(v.verified, 1);
        assert_null(v.value);
        s.value[3] ^= 0x10;
        assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "rsa/g", &rq, &v, &why), CLOAK_OK);
        assert_int_equal(v.verified, 0);
        cloak_vk_result_clear(&s);
    }
    EVP_PKEY_free(pk);
    json_decref(pub);
    free(blob);
}

static void test_rsa_generated_2048_both_directions(void **state)
{
    check_rsa_generated(2048);
}

static void test_rsa_generated_3072_and_4096(void **state)
{
    check_rsa_generated(3072);
    check_rsa_generated(4096);
}

/* Imported known RSA key: public JWK matches, PKCS#1 v1.5 signatures equal OpenSSL's byte for
 * byte (deterministic), keyops verifies OpenSSL's signatures, OpenSSL decrypts keyops's
 * ciphertexts. */
static void test_rsa_imported_known_key(void **state)
{
    EVP_PKEY *key = vk_rsa_key(2048);
    json_t *jwk = vk_private_jwk(key);
    json_object_set_new(jwk, "kty", json_string("RSA-HSM"));
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    json_t *pub = NULL;
    cloak_vk_type t = 0;
    unsigned bits = 0;
    cloak_error why = {0};
    assert_int_equal(
        cloak_vault_keyops_import(vk_ko, jwk, "rsa/i", &blob, &blob_len, &pub, &t, &bits, &why),
        CLOAK_OK);
    assert_int_equal(t, CLOAK_VK_RSA);
    assert_int_equal(bits, 2048);
    assert_string_equal(json_string_value(json_object_get(pub, "n")),
                        json_string_value(json_object_get(jwk, "n")));
    assert_null(json_object_get(pub, "d"));
    for (size_t i = 0; i < 6; i++) {
        uint8_t dg[64];
        size_t dl = 0, sl = 0;
        vk_hash(rsa_sigs[i].md, "known", 5, dg, &dl);
        cloak_vk_result s = {0}, v = {0};
        vk_crypt_ok(vk_ko, blob, blob_len, "rsa/i", CLOAK_VK_SIGN, rsa_sigs[i].alg, dg, dl, &s);
        uint8_t *mine = vk_sign(key, rsa_sigs[i].md, rsa_sigs[i].pss, 0, dg, dl, &sl);
        if (!rsa_sigs[i].pss) { /* RFC 8017 §8.2: deterministic */
            assert_int_equal(sl, s.value_len);
            assert_memory_equal(mine, s.value, sl);
        }
        assert_true(vk_verify(key, rsa_sigs[i].md, rsa_sigs[i].pss, dg, dl, s.value, s.value_len));
        cloak_vk_request rq = {.op = CLOAK_VK_VERIFY,
                               .alg = rsa_sigs[i].alg,
                               .value = mine,
                               .value_len = sl,
                               .digest = dg,
                               .digest_len = dl};
        assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "rsa/i", &rq, &v, &why), CLOAK_OK);
        assert_int_equal(v.verified, 1);
        dg[0] ^= 1; /* another digest */
        assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "rsa/i", &rq, &v, &why), CLOAK_OK);
        assert_int_equal(v.verified, 0);
        free(mine);
        cloak_vk_result_clear(&s);
    }
    const uint8_t msg[] = "known plaintext";
    for (size_t i = 0; i < 3; i++) {
        cloak_vk_result e = {0};
        vk_crypt_ok(vk_ko, blob, blob_len, "rsa/i", CLOAK_VK_ENCRYPT, rsa_encs[i].alg, msg,
                    sizeof msg, &e);
        size_t n = 0;
        uint8_t *pt = vk_rsa(key, 0, rsa_encs[i].md, e.value, e.value_len, &n);
        assert_non_null(pt);
        assert_int_equal(n, sizeof msg);
        assert_memory_equal(pt, msg, n);
        free(pt);
        cloak_vk_result_clear(&e);
    }
    free(blob);
    json_decref(pub);
    cloak_jwk_free_private(jwk);
    EVP_PKEY_free(key);
}

static const struct {
    const char *crv, *group, *alg, *md;
    size_t field;
} curves[] = {{"P-256", "P-256", "ES256", "SHA256", 32},
              {"P-384", "P-384", "ES384", "SHA384", 48},
              {"P-521", "P-521", "ES512", "SHA512", 66},
              {"P-256K", "secp256k1", "ES256K", "SHA256", 32}};

/* Every curve: generated keys sign for OpenSSL; imported known keys verify OpenSSL's
 * signatures and sign for OpenSSL. */
static void test_ec_all_curves_both_directions(void **state)
{
    for (size_t i = 0; i < 4; i++) {
        uint8_t dg[64], *blob = NULL;
        size_t dl = 0, blob_len = 0;
        json_t *pub = NULL;
        vk_hash(curves[i].md, "ec", 2, dg, &dl);
        vk_generate(vk_ko, CLOAK_VK_EC, 0, curves[i].crv, "ec/g", &blob, &blob_len, &pub);
        assert_string_equal(json_string_value(json_object_get(pub, "kty")), "EC");
        assert_string_equal(json_string_value(json_object_get(pub, "crv")), curves[i].crv);
        assert_null(json_object_get(pub, "d"));
        EVP_PKEY *pk = vk_public_from_jwk(pub);
        cloak_vk_result s = {0};
        vk_crypt_ok(vk_ko, blob, blob_len, "ec/g", CLOAK_VK_SIGN, curves[i].alg, dg, dl, &s);
        assert_int_equal(s.value_len, 2 * curves[i].field);
        assert_true(vk_verify(pk, NULL, 0, dg, dl, s.value, s.value_len));
        cloak_vk_result_clear(&s);
        EVP_PKEY_free(pk);
        json_decref(pub);
        free(blob);

        /* a known key, imported with Key Vault's curve name */
        EVP_PKEY *key = vk_ec_key(curves[i].group);
        json_t *jwk = vk_private_jwk(key);
        json_object_set_new(jwk, "crv", json_string(curves[i].crv));
        cloak_vk_type t = 0;
        unsigned bits = 0;
        cloak_error why = {0};
        assert_int_equal(
            cloak_vault_keyops_import(vk_ko, jwk, "ec/i", &blob, &blob_len, &pub, &t, &bits, &why),
            CLOAK_OK);
        assert_int_equal(t, CLOAK_VK_EC);
        assert_int_equal(bits, curves[i].field == 66 ? 521 : curves[i].field * 8);
        assert_string_equal(json_string_value(json_object_get(pub, "x")),
                            json_string_value(json_object_get(jwk, "x")));
        size_t sl = 0;
        uint8_t *mine = vk_sign(key, NULL, 0, curves[i].field, dg, dl, &sl);
        cloak_vk_result v = {0};
        cloak_vk_request rq = {.op = CLOAK_VK_VERIFY,
                               .alg = curves[i].alg,
                               .value = mine,
                               .value_len = sl,
                               .digest = dg,
                               .digest_len = dl};
        assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "ec/i", &rq, &v, &why), CLOAK_OK);
        assert_int_equal(v.verified, 1);
        mine[sl - 1] ^= 1;
        assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "ec/i", &rq, &v, &why), CLOAK_OK);
        assert_int_equal(v.verified, 0);
        rq.value_len = sl - 1; /* wrong length: not valid, not an error */
        assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "ec/i", &rq, &v, &why), CLOAK_OK);
        assert_int_equal(v.verified, 0);
        vk_crypt_ok(vk_ko, blob, blob_len, "ec/i", CLOAK_VK_SIGN, curves[i].alg, dg, dl, &s);
        assert_true(vk_verify(key, NULL, 0, dg, dl, s.value, s.value_len));
        cloak_vk_result_clear(&s);
        free(mine);
        free(blob);
        json_decref(pub);
        cloak_jwk_free_private(jwk);
        EVP_PKEY_free(key);
    }
}

static void import_oct(const char *hex, const char *bind, uint8_t **blob, size_t *blob_len)
{
    size_t kl = 0;
    uint8_t *k = vk_unhex(hex, &kl);
    json_t *jwk = vk_oct_jwk(k, kl), *pub = (json_t *)1;
    cloak_vk_type t = 0;
    unsigned bits = 0;
    cloak_error why = {0};
    assert_int_equal(
        cloak_vault_keyops_import(vk_ko, jwk, bind, blob, blob_len, &pub, &t, &bits, &why),
        CLOAK_OK);
    assert_null(pub);
    assert_int_equal(t, CLOAK_VK_OCT);
    assert_int_equal(bits, kl * 8);
    json_decref(jwk);
    free(k);
}

/* GCM: decrypt the GCM specification's test case 16 (AES-256, 96-bit iv, aad); keyops
 * encryptions decrypt with OpenSSL (all key sizes); tag/iv/size refusals. */
static void test_oct_gcm_known_answer_and_openssl(void **state)
{
    size_t kl, pl, al, ivl, cl, tl;
    uint8_t *K = vk_unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", &kl);
    uint8_t *P = vk_unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c"
                          "95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
                          &pl);
    uint8_t *A = vk_unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", &al);
    uint8_t *IV = vk_unhex("cafebabefacedbaddecaf888", &ivl);
    uint8_t *C = vk_unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e"
                          "48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
                          &cl);
    uint8_t *T = vk_unhex("76fc6ece0f4e1768cddf8853bb2d551b", &tl);
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    import_oct("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "gcm", &blob,
               &blob_len);
    cloak_vk_request rq = {.op = CLOAK_VK_DECRYPT,
                           .alg = "A256GCM",
                           .value = C,
                           .value_len = cl,
                           .iv = IV,
                           .iv_len = ivl,
                           .aad = A,
                           .aad_len = al,
                           .tag = T,
                           .tag_len = tl};
    cloak_vk_result r = {0};
    cloak_error why = {0};
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "gcm", &rq, &r, &why), CLOAK_OK);
    assert_int_equal(r.value_len, pl);
    assert_memory_equal(r.value, P, pl);
    cloak_vk_result_clear(&r);
    T[0] ^= 1;
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "gcm", &rq, &r, &why), CLOAK_EVERIFY);
    T[0] ^= 1;
    rq.aad_len--; /* other aad */
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "gcm", &rq, &r, &why), CLOAK_EVERIFY);
    rq.aad_len++;
    rq.tag = NULL, rq.tag_len = 0;
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "gcm", &rq, &r, &why), CLOAK_EINVAL);
    rq.tag = T, rq.tag_len = tl, rq.iv = NULL, rq.iv_len = 0;
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "gcm", &rq, &r, &why), CLOAK_EINVAL);
    /* encryption picks the iv; a caller's iv is refused */
    cloak_vk_request er = {.op = CLOAK_VK_ENCRYPT,
                           .alg = "A256GCM",
                           .value = P,
                           .value_len = pl,
                           .iv = IV,
                           .iv_len = ivl};
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "gcm", &er, &r, &why), CLOAK_EINVAL);
    assert_int_equal(vk_crypt_rc(vk_ko, blob, blob_len, "gcm", CLOAK_VK_ENCRYPT, "A128GCM", P, pl),
                     CLOAK_EINVAL);
    assert_int_equal(vk_crypt_rc(vk_ko, blob, blob_len, "gcm", CLOAK_VK_WRAP, "A256GCM", P, pl),
                     CLOAK_EINVAL);
    free(blob);

    static const char *const keys[] = {"000102030405060708090a0b0c0d0e0f",
                                       "000102030405060708090a0b0c0d0e0f1011121314151617",
                                       "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1"
                                       "d1e1f"};
    static const char *const algs[] = {"A128GCM", "A192GCM", "A256GCM"};
    static const char *const ciphers[] = {"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = 0;
        uint8_t *k = vk_unhex(keys[i], &n), out[128];
        import_oct(keys[i], "gcm/k", &blob, &blob_len);
        cloak_vk_request e = {.op = CLOAK_VK_ENCRYPT,
                              .alg = algs[i],
                              .value = P,
                              .value_len = pl,
                              .aad = A,
                              .aad_len = al};
        assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "gcm/k", &e, &r, &why), CLOAK_OK);
        assert_int_equal(r.iv_len, 12);
        assert_int_equal(r.tag_len, 16);
        assert_int_equal(r.value_len, pl);
        assert_true(vk_aes(ciphers[i], 0, 0, k, r.iv, r.iv_len, A, al, r.value, r.value_len, out,
                           &n, r.tag));
        assert_memory_equal(out, P, pl);
        cloak_vk_result_clear(&r);
        free(blob);
        free(k);
    }
    free(K), free(P), free(A), free(IV), free(C), free(T);
}

/* RFC 3394 §4.1-4.6 with A*KW (wrap and encrypt) and CKM_AES_KEY_WRAP; unwrap back. */
static void test_oct_kw_rfc3394_vectors(void **state)
{
    static const char *k128 = "000102030405060708090A0B0C0D0E0F",
                      *k192 = "000102030405060708090A0B0C0D0E0F1011121314151617",
                      *k256 = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
                      *d128 = "00112233445566778899AABBCCDDEEFF",
                      *d192 = "00112233445566778899AABBCCDDEEFF0001020304050607",
                      *d256 = "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F";
    const struct {
        const char *kek, *data, *ct, *alg;
    } v[] = {
        {k128, d128, "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5", "A128KW"},
        {k192, d128, "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D", "A192KW"},
        {k256, d128, "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7", "A256KW"},
        {k192, d192, "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2", "A192KW"},
        {k256, d192, "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1", "A256KW"},
        {k256, d256,
         "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
         "A256KW"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        uint8_t *blob = NULL;
        size_t blob_len = 0, dl = 0, cl = 0;
        uint8_t *d = vk_unhex(v[i].data, &dl), *c = vk_unhex(v[i].ct, &cl);
        import_oct(v[i].kek, "kw", &blob, &blob_len);
        const char *algs[] = {v[i].alg, "CKM_AES_KEY_WRAP"};
        for (size_t a = 0; a < 2; a++) {
            cloak_vk_result r = {0};
            vk_crypt_ok(vk_ko, blob, blob_len, "kw", a ? CLOAK_VK_ENCRYPT : CLOAK_VK_WRAP, algs[a],
                        d, dl, &r);
            assert_int_equal(r.value_len, cl);
            assert_memory_equal(r.value, c, cl);
            cloak_vk_result_clear(&r);
            vk_crypt_ok(vk_ko, blob, blob_len, "kw", a ? CLOAK_VK_DECRYPT : CLOAK_VK_UNWRAP,
                        algs[a], c, cl, &r);
            assert_int_equal(r.value_len, dl);
            assert_memory_equal(r.value, d, dl);
            cloak_vk_result_clear(&r);
        }
        c[cl - 1] ^= 1;
        assert_int_equal(vk_crypt_rc(vk_ko, blob, blob_len, "kw", CLOAK_VK_UNWRAP, v[i].alg, c, cl),
                         CLOAK_EVERIFY);
        assert_int_equal(vk_crypt_rc(vk_ko, blob, blob_len, "kw", CLOAK_VK_WRAP, v[i].alg, d, 12),
                         CLOAK_EINVAL); /* not a multiple of 8 */
        assert_int_equal(vk_crypt_rc(vk_ko, blob, blob_len, "kw", CLOAK_VK_UNWRAP, v[i].alg, c, 16),
                         CLOAK_EINVAL);
        free(d), free(c), free(blob);
    }
    /* the alg must fit the key size */
    uint8_t *blob = NULL, d[16] = {0};
    size_t blob_len = 0;
    import_oct(k128, "kw", &blob, &blob_len);
    assert_int_equal(vk_crypt_rc(vk_ko, blob, blob_len, "kw", CLOAK_VK_WRAP, "A256KW", d, 16),
                     CLOAK_EINVAL);
    free(blob);
}

/* RFC 5649 §6: both examples (192-bit KEK), wrap and unwrap; tampering detected. */
static void test_oct_kwp_rfc5649_vectors(void **state)
{
    const struct {
        const char *key, *ct;
    } v[] = {{"c37b7e6492584340bed12207808941155068f738",
              "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
             {"466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"}};
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    import_oct("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "kwp", &blob, &blob_len);
    for (size_t i = 0; i < 2; i++) {
        size_t kl = 0, cl = 0;
        uint8_t *k = vk_unhex(v[i].key, &kl), *c = vk_unhex(v[i].ct, &cl);
        cloak_vk_result r = {0};
        vk_crypt_ok(vk_ko, blob, blob_len, "kwp", CLOAK_VK_WRAP, "CKM_AES_KEY_WRAP_PAD", k, kl, &r);
        assert_int_equal(r.value_len, cl);
        assert_memory_equal(r.value, c, cl);
        cloak_vk_result_clear(&r);
        vk_crypt_ok(vk_ko, blob, blob_len, "kwp", CLOAK_VK_DECRYPT, "CKM_AES_KEY_WRAP_PAD", c, cl,
                    &r);
        assert_int_equal(r.value_len, kl);
        assert_memory_equal(r.value, k, kl);
        cloak_vk_result_clear(&r);
        c[0] ^= 0x80;
        assert_int_equal(vk_crypt_rc(vk_ko, blob, blob_len, "kwp", CLOAK_VK_UNWRAP,
                                     "CKM_AES_KEY_WRAP_PAD", c, cl),
                         CLOAK_EVERIFY);
        free(k), free(c);
    }
    free(blob);
}

/* CBC: NIST SP 800-38A F.2.5 (CBC-AES256.Encrypt); CBCPAD against OpenSSL; refusals. */
static void test_oct_cbc_sp800_38a_and_pad(void **state)
{
    static const char *key = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    size_t kl, ivl, pl, cl, n;
    uint8_t *k = vk_unhex(key, &kl), *iv = vk_unhex("000102030405060708090a0b0c0d0e0f", &ivl);
    uint8_t *P = vk_unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c"
                          "46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
                          &pl);
    uint8_t *C = vk_unhex("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f233"
                          "69a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b",
                          &cl);
    uint8_t *blob = NULL, out[128];
    size_t blob_len = 0;
    import_oct(key, "cbc", &blob, &blob_len);
    cloak_vk_request rq = {.op = CLOAK_VK_ENCRYPT,
                           .alg = "A256CBC",
                           .value = P,
                           .value_len = pl,
                           .iv = iv,
                           .iv_len = ivl};
    cloak_vk_result r = {0};
    cloak_error why = {0};
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "cbc", &rq, &r, &why), CLOAK_OK);
    assert_int_equal(r.value_len, cl);
    assert_memory_equal(r.value, C, cl);
    cloak_vk_result_clear(&r);
    rq.op = CLOAK_VK_DECRYPT, rq.value = C;
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "cbc", &rq, &r, &why), CLOAK_OK);
    assert_memory_equal(r.value, P, pl);
    cloak_vk_result_clear(&r);
    rq.op = CLOAK_VK_ENCRYPT, rq.value = P, rq.value_len = 20; /* no padding: blocks only */
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "cbc", &rq, &r, &why), CLOAK_EINVAL);
    rq.value_len = pl, rq.iv = NULL, rq.iv_len = 0;
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "cbc", &rq, &r, &why), CLOAK_EINVAL);
    /* CBCPAD: 20 bytes -> 32, as OpenSSL with PKCS#7 padding */
    rq = (cloak_vk_request){.op = CLOAK_VK_ENCRYPT,
                            .alg = "A256CBCPAD",
                            .value = P,
                            .value_len = 20,
                            .iv = iv,
                            .iv_len = ivl};
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "cbc", &rq, &r, &why), CLOAK_OK);
    assert_true(vk_aes("AES-256-CBC", 1, 1, k, iv, 16, NULL, 0, P, 20, out, &n, NULL));
    assert_int_equal(r.value_len, 32);
    assert_int_equal(n, 32);
    assert_memory_equal(r.value, out, 32);
    rq.op = CLOAK_VK_DECRYPT, rq.value = out, rq.value_len = 32;
    cloak_vk_result d = {0};
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "cbc", &rq, &d, &why), CLOAK_OK);
    assert_int_equal(d.value_len, 20);
    assert_memory_equal(d.value, P, 20);
    cloak_vk_result_clear(&d);
    cloak_vk_result_clear(&r);
    /* the last block decrypts to bad padding under another iv byte pattern: refuse */
    rq.value = C, rq.value_len = 16;
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "cbc", &rq, &r, &why), CLOAK_EVERIFY);
    rq.alg = "A128CBCPAD";
    assert_int_equal(vk_crypt(vk_ko, blob, blob_len, "cbc", &rq, &r, &why), CLOAK_EINVAL);
    free(k), free(iv), free(P), free(C), free(blob);
}

/* Key Vault's BYOK construction opened by the test: OAEP(kek, AES key) || KWP(AES key, target),
 * for each enc, RSA / EC / oct targets, 2048- and 3072-bit KEKs. */
static void test_release_each_enc_opens_to_the_key(void **state)
{
    static const struct {
        const char *enc, *md;
    } encs[] = {{"CKM_RSA_AES_KEY_WRAP", "SHA1"},
                {"RSA_AES_KEY_WRAP_256", "SHA256"},
                {"RSA_AES_KEY_WRAP_384", "SHA384"}};
    EVP_PKEY *keks[2] = {vk_rsa_key(2048), vk_rsa_key(3072)};
    EVP_PKEY *targets[2] = {vk_rsa_key(2048), vk_ec_key("P-384")};
    uint8_t oct[32];
    for (int i = 0; i < 32; i++)
        oct[i] = (uint8_t)(0xa0 + i);
    for (int t = 0; t < 3; t++) {
        json_t *jwk = t < 2 ? vk_private_jwk(targets[t]) : vk_oct_jwk(oct, 32);
        uint8_t *blob = NULL, *want;
        size_t blob_len = 0, want_len;
        vk_import(vk_ko, jwk, "rel/1", &blob, &blob_len, NULL);
        want = t < 2 ? vk_pkcs8(targets[t], &want_len) : oct;
        if (t == 2) want_len = 32;
        for (int k = 0; k < 2; k++)
            for (int e = 0; e < 3; e++) {
                uint8_t *out = NULL;
                size_t out_len = 0, got_len = 0;
                cloak_error why = {0};
                cloak_err rc = cloak_vault_keyops_release(vk_ko, blob, blob_len, "rel/1", keks[k],
                                                          encs[e].enc, &out, &out_len, &why);
                if (rc) fail_msg("release %s: %s", encs[e].enc, why.msg);
                uint8_t *got = vk_release_open(keks[k], encs[e].md, out, out_len, &got_len);
                assert_int_equal(got_len, want_len);
                assert_memory_equal(got, want, want_len);
                if (t < 2) { /* and it is the same private key */
                    const uint8_t *p = got;
                    EVP_PKEY *back = d2i_AutoPrivateKey(NULL, &p, (long)got_len);
                    assert_non_null(back);
                    assert_int_equal(EVP_PKEY_eq(back, targets[t]), 1);
                    BIGNUM *a = NULL, *b = NULL;
                    const char *dn = t == 0 ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
                    assert_int_equal(EVP_PKEY_get_bn_param(back, dn, &a), 1);
                    assert_int_equal(EVP_PKEY_get_bn_param(targets[t], dn, &b), 1);
                    assert_int_equal(BN_cmp(a, b), 0);
                    BN_clear_free(a), BN_clear_free(b);
                    EVP_PKEY_free(back);
                }
                free(got);
                free(out);
            }
        /* refusals: unknown enc, small KEK, EC KEK, wrong bind */
        uint8_t *out = NULL;
        size_t out_len = 0;
        cloak_error why = {0};
        EVP_PKEY *small = vk_rsa_key(1024), *eck = vk_ec_key("P-256");
        assert_int_equal(cloak_vault_keyops_release(vk_ko, blob, blob_len, "rel/1", keks[0],
                                                    "RSA_AES_KEY_WRAP_512", &out, &out_len, &why),
                         CLOAK_EINVAL);
        assert_int_equal(cloak_vault_keyops_release(vk_ko, blob, blob_len, "rel/1", small,
                                                    "RSA_AES_KEY_WRAP_256", &out, &out_len, &why),
                         CLOAK_EINVAL);
        assert_int_equal(cloak_vault_keyops_release(vk_ko, blob, blob_len, "rel/1", eck,
                                                    "RSA_AES_KEY_WRAP_256", &out, &out_len, &why),
                         CLOAK_EINVAL);
        assert_int_equal(cloak_vault_keyops_release(vk_ko, blob, blob_len, "rel/2", keks[0],
                                                    "RSA_AES_KEY_WRAP_256", &out, &out_len, &why),
                         CLOAK_EVERIFY);
        EVP_PKEY_free(small), EVP_PKEY_free(eck);
        if (t < 2) OPENSSL_free(want);
        free(blob);
        if (t < 2)
            cloak_jwk_free_private(jwk);
        else
            json_decref(jwk);
    }
    for (int i = 0; i < 2; i++)
        EVP_PKEY_free(keks[i]), EVP_PKEY_free(targets[i]);
}

/* Algorithms that do not fit the key or the op, and bad digest sizes: CLOAK_EINVAL. */
static void test_bad_alg_key_combinations_refused(void **state)
{
    uint8_t *rsa = NULL, *ec = NULL, *oct = NULL, v[64] = {1};
    size_t rl = 0, el = 0, ol = 0;
    vk_generate(vk_ko, CLOAK_VK_RSA, 2048, NULL, "c/r", &rsa, &rl, NULL);
    vk_generate(vk_ko, CLOAK_VK_EC, 0, "P-256", "c/e", &ec, &el, NULL);
    vk_generate(vk_ko, CLOAK_VK_OCT, 256, NULL, "c/o", &oct, &ol, NULL);
    const struct {
        uint8_t *blob;
        size_t *len;
        const char *bind;
        cloak_vk_op op;
        const char *alg;
        size_t vlen;
    } bad[] = {
        {rsa, &rl, "c/r", CLOAK_VK_SIGN, "ES256", 32},
        {rsa, &rl, "c/r", CLOAK_VK_SIGN, "RSA-OAEP", 32},
        {rsa, &rl, "c/r", CLOAK_VK_ENCRYPT, "RS256", 32},
        {rsa, &rl, "c/r", CLOAK_VK_ENCRYPT, "A256GCM", 32},
        {rsa, &rl, "c/r", CLOAK_VK_SIGN, "RS256", 31},
        {rsa, &rl, "c/r", CLOAK_VK_SIGN, "PS512", 32},
        {rsa, &rl, "c/r", CLOAK_VK_DECRYPT, "RSA-OAEP", 64},
        {rsa, &rl, "c/r", CLOAK_VK_SIGN, "HS256", 32},
        {ec, &el, "c/e", CLOAK_VK_SIGN, "ES384", 48},
        {ec, &el, "c/e", CLOAK_VK_SIGN, "ES256K", 32},
        {ec, &el, "c/e", CLOAK_VK_ENCRYPT, "RSA-OAEP", 32},
        {ec, &el, "c/e", CLOAK_VK_SIGN, "ES256", 48},
        {ec, &el, "c/e", CLOAK_VK_WRAP, "ES256", 32},
        {oct, &ol, "c/o", CLOAK_VK_SIGN, "A256GCM", 32},
        {oct, &ol, "c/o", CLOAK_VK_ENCRYPT, "A128KW", 32},
        {oct, &ol, "c/o", CLOAK_VK_WRAP, "A256CBC", 32},
        {oct, &ol, "c/o", CLOAK_VK_ENCRYPT, "RSA-OAEP", 32},
        {oct, &ol, "c/o", CLOAK_VK_ENCRYPT, "a256gcm", 32},
        {oct, &ol, "c/o", CLOAK_VK_ENCRYPT, "", 32},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cloak_err rc = vk_crypt_rc(vk_ko, bad[i].blob, *bad[i].len, bad[i].bind, bad[i].op,
                                   bad[i].alg, v, bad[i].vlen);
        if (rc != CLOAK_EINVAL)
            fail_msg("case %zu (%s op %d): got %s", i, bad[i].alg, (int)bad[i].op,
                     cloak_err_name(rc));
    }
    /* a separate digest on anything but verify */
    cloak_vk_request rq = {.op = CLOAK_VK_SIGN,
                           .alg = "RS256",
                           .value = v,
                           .value_len = 32,
                           .digest = v,
                           .digest_len = 32};
    cloak_vk_result r = {0};
    cloak_error why = {0};
    assert_int_equal(vk_crypt(vk_ko, rsa, rl, "c/r", &rq, &r, &why), CLOAK_EINVAL);
    free(rsa), free(ec), free(oct);
}

/* Sizes and curves outside the rules; inconsistent or malformed imports. */
static void test_bad_sizes_and_imports_refused(void **state)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    cloak_error why = {0};
    const cloak_vk_spec bad[] = {{CLOAK_VK_RSA, 1024, NULL}, {CLOAK_VK_RSA, 2047, NULL},
                                 {CLOAK_VK_EC, 0, "P-224"},  {CLOAK_VK_EC, 0, NULL},
                                 {CLOAK_VK_OCT, 512, NULL},  {CLOAK_VK_OCT, 0, NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(cloak_vault_keyops_generate(vk_ko, &bad[i], "b", &blob, &len, NULL, &why),
                         CLOAK_EINVAL);
    EVP_PKEY *rk = vk_rsa_key(2048), *ek = vk_ec_key("P-256"), *small = vk_rsa_key(1024);
    json_t *cases[6];
    cases[0] = vk_private_jwk(rk);
    /* d from another key: not one key */
    json_t *other = vk_private_jwk(small);
    json_object_set(cases[0], "qi", json_object_get(other, "dp"));
    cases[1] = vk_private_jwk(ek);
    json_object_set(cases[1], "x", json_object_get(cases[1], "y")); /* not on the curve */
    cases[2] = vk_private_jwk(small);                               /* 1024 bits */
    uint8_t k20[20] = {0};
    cases[3] = vk_oct_jwk(k20, sizeof k20);
    cases[4] = vk_private_jwk(rk);
    json_object_del(cases[4], "qi");
    cases[5] = json_pack("{s:s, s:s}", "kty", "OKP", "d", "AAAA");
    for (size_t i = 0; i < 6; i++) {
        cloak_err rc =
            cloak_vault_keyops_import(vk_ko, cases[i], "b", &blob, &len, NULL, NULL, NULL, &why);
        if (rc != CLOAK_EINVAL) fail_msg("import case %zu: got %s", i, cloak_err_name(rc));
        json_decref(cases[i]);
    }
    json_decref(other);
    EVP_PKEY_free(rk), EVP_PKEY_free(ek), EVP_PKEY_free(small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_generated_2048_both_directions),
        cmocka_unit_test(test_rsa_generated_3072_and_4096),
        cmocka_unit_test(test_rsa_imported_known_key),
        cmocka_unit_test(test_ec_all_curves_both_directions),
        cmocka_unit_test(test_oct_gcm_known_answer_and_openssl),
        cmocka_unit_test(test_oct_kw_rfc3394_vectors),
        cmocka_unit_test(test_oct_kwp_rfc5649_vectors),
        cmocka_unit_test(test_oct_cbc_sp800_38a_and_pad),
        cmocka_unit_test(test_release_each_enc_opens_to_the_key),
        cmocka_unit_test(test_bad_alg_key_combinations_refused),
        cmocka_unit_test(test_bad_sizes_and_imports_refused),
    };
    return cmocka_run_group_tests(tests, vk_setup, vk_teardown);
}
