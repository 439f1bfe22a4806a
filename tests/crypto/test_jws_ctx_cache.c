/* The per-thread signing/verification context cache of src/crypto/jws.c: signatures made and
 * checked through cached contexts must be exactly what OpenSSL, used directly as the peer,
 * makes and accepts, for the right key only, whatever the order of keys, after eviction (more
 * keys than slots), after a key was freed, and on several threads at once. RS256 (PKCS#1 v1.5)
 * is deterministic, so a signature made through a cached context must equal the one made by
 * OpenSSL directly, byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "cloak/jose.h"

#define NRSA 3
#define NEC 4 /* with the RSA keys, more keys than the cache has slots (4) */
static EVP_PKEY *rsa[NRSA], *ec[NEC];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < NRSA; i++)
        if (!(rsa[i] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048))) return -1;
    for (int i = 0; i < NEC; i++)
        if (!(ec[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NRSA; i++)
        EVP_PKEY_free(rsa[i]);
    for (int i = 0; i < NEC; i++)
        EVP_PKEY_free(ec[i]);
    return 0;
}

/* The signing input and raw signature of a compact JWS, decoded with OpenSSL's own base64
 * (after mapping base64url to base64 and padding). */
static void split(const char *jws, size_t *signed_len, unsigned char *sig, size_t *sig_len)
{
    const char *d2 = strrchr(jws, '.');
    assert_non_null(d2);
    *signed_len = (size_t)(d2 - jws);
    char b64[1024];
    size_t n = strlen(d2 + 1);
    assert_true(n + 4 < sizeof b64);
    for (size_t i = 0; i < n; i++)
        b64[i] = d2[1 + i] == '-' ? '+' : d2[1 + i] == '_' ? '/' : d2[1 + i];
    while (n % 4)
        b64[n++] = '=';
    b64[n] = 0;
    int l = EVP_DecodeBlock(sig, (const unsigned char *)b64, (int)n);
    assert_true(l > 0);
    size_t pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
    *sig_len = (size_t)l - pad;
}

/* OpenSSL directly: does sig verify over in under key (RS256 or ES256, raw r||s for ES256)? */
static int peer_verify(EVP_PKEY *key, int is_ec, const unsigned char *in, size_t inlen,
                       const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned char der[80];
    const unsigned char *s = sig;
    size_t sl = siglen;
    if (is_ec) {
        if (siglen != 64) return 0;
        ECDSA_SIG *es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        unsigned char *p = der;
        sl = (size_t)i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        s = der;
    }
    int ok = EVP_DigestVerifyInit_ex(m, NULL, "SHA256", NULL, NULL, key, NULL) == 1 &&
             EVP_DigestVerify(m, s, sl, in, inlen) == 1;
    EVP_MD_CTX_free(m);
    return ok;
}

/* OpenSSL directly: the RS256 signature over in. */
static size_t peer_sign(EVP_PKEY *key, const unsigned char *in, size_t inlen, unsigned char *sig)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    size_t sl = 512;
    assert_int_equal(EVP_DigestSignInit_ex(m, NULL, "SHA256", NULL, NULL, key, NULL), 1);
    assert_int_equal(EVP_DigestSign(m, sig, &sl, in, inlen), 1);
    EVP_MD_CTX_free(m);
    return sl;
}

/* Sign with key k (RS256 for RSA, ES256 for EC) through cloak; check with the peer that it
 * verifies under k and under no other key, that RS256 equals OpenSSL's own signature, and
 * that cloak_jws_verify accepts it under k and refuses it under another key. */
static void sign_and_check(int is_ec, int k, const char *payload)
{
    EVP_PKEY *key = is_ec ? ec[k] : rsa[k];
    char *jws = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_jws_sign(key, is_ec ? CLOAK_JWS_ES256 : CLOAK_JWS_RS256, NULL,
                                    (const uint8_t *)payload, strlen(payload), &jws, &e),
                     CLOAK_OK);
    size_t inlen = 0, sl = 0;
    unsigned char sig[512], want[512];
    split(jws, &inlen, sig, &sl);
    for (int o = 0; o < (is_ec ? NEC : NRSA); o++)
        assert_int_equal(
            peer_verify(is_ec ? ec[o] : rsa[o], is_ec, (const unsigned char *)jws, inlen, sig, sl),
            o == k);
    if (!is_ec) {
        size_t wl = peer_sign(key, (const unsigned char *)jws, inlen, want);
        assert_int_equal(wl, sl);
        assert_memory_equal(want, sig, sl);
    }
    unsigned allow = CLOAK_JWS_ALLOW(CLOAK_JWS_RS256) | CLOAK_JWS_ALLOW(CLOAK_JWS_ES256);
    cloak_jws out = {0};
    assert_int_equal(cloak_jws_verify(jws, strlen(jws), key, allow, &out, &e), CLOAK_OK);
    assert_int_equal(out.payload_len, strlen(payload));
    assert_memory_equal(out.payload, payload, out.payload_len);
    cloak_jws_clear(&out);
    EVP_PKEY *other = is_ec ? ec[(k + 1) % NEC] : rsa[(k + 1) % NRSA];
    assert_int_equal(cloak_jws_verify(jws, strlen(jws), other, allow, &out, &e), CLOAK_EVERIFY);
    free(jws);
}

static void test_keys_in_turn_and_eviction(void **state)
{
    (void)state;
    /* 7 keys in turn, several rounds: every slot is reused and evicted many times */
    for (int round = 0; round < 5; round++) {
        for (int k = 0; k < NRSA; k++)
            sign_and_check(0, k, "{\"round\":1}");
        for (int k = 0; k < NEC; k++)
            sign_and_check(1, k, "{\"ec\":true}");
        sign_and_check(0, round % NRSA, "{\"again\":\"same key twice in a row\"}");
        sign_and_check(0, round % NRSA, "{\"again\":\"same key twice in a row\"}");
    }
}

static void test_freed_key_replaced(void **state)
{
    (void)state;
    sign_and_check(0, 0, "{\"before\":1}");
    /* free the key (the cache may still hold a reference) and put a new one in its place */
    EVP_PKEY_free(rsa[0]);
    rsa[0] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(rsa[0]);
    sign_and_check(0, 0, "{\"after\":1}");
    EVP_PKEY_free(ec[0]);
    ec[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(ec[0]);
    sign_and_check(1, 0, "{\"after\":2}");
}

static void *thread_main(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < 20; i++) {
        sign_and_check(0, (t + i) % NRSA, "{\"thread\":true}");
        sign_and_check(1, (t * 3 + i) % NEC, "{\"thread\":true}");
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t th[4];
    for (int t = 0; t < 4; t++)
        assert_int_equal(pthread_create(&th[t], NULL, thread_main, (void *)(intptr_t)t), 0);
    for (int t = 0; t < 4; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_in_turn_and_eviction),
        cmocka_unit_test(test_freed_key_replaced),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
