/*
 * The vault enclave's keys: generation, import, key blobs and the cache of opened keys.
 *
 * Blob = "CVK1" || type (1) || iv (12, random) || AES-256-GCM(blob key, PKCS#8 DER or raw oct
 * key) || tag (16), with AAD = "CVK1" || type || bind. The blob key is HKDF-derived from the
 * vault master key (vault_enclave.c). A blob that does not authenticate for this vault and
 * this bind is CLOAK_EVERIFY, whatever the reason (a wrong bind, a flipped bit, another vault).
 *
 * Cache: parsing PKCS#8 and setting up an RSA key costs far more than the operation itself, so
 * opened keys are kept (1024 entries, 4-way set-associative, least recently used out) under
 * SHA-256(u32le(blob_len) || blob || bind). A hit therefore means: this exact blob opened for
 * this exact bind before. Evicted keys are freed (OpenSSL wipes private key numbers) and raw
 * oct keys wiped.
 *
 * Trust: requests are hostile (lengths checked by the cursor, sizes checked before OpenSSL sees
 * anything); imported key material is checked with EVP_PKEY_check (pairwise consistency, point
 * on the curve) before it is sealed. Thread-safety: the cache has its own lock.
 */
#include "ve_int.h"
#include "vault_proto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int warming; /* cloak_enclave_init's warm-up: small RSA keys allowed, nothing cached */

static const ve_curve curves[] = {
    {VE_CRV_P256, "P-256", "P-256", "prime256v1", 32, 256},
    {VE_CRV_P384, "P-384", "P-384", "secp384r1", 48, 384},
    {VE_CRV_P521, "P-521", "P-521", "secp521r1", 66, 521},
    {VE_CRV_K256, "P-256K", "secp256k1", "secp256k1", 32, 256},
};

const ve_curve *ve_curve_by_jwk(const uint8_t *name, size_t len)
{
    for (size_t i = 0; i < sizeof curves / sizeof *curves; i++) {
        const char *a = curves[i].jwk, *b = curves[i].alias;
        if ((len == strlen(a) && !memcmp(name, a, len)) ||
            (len == strlen(b) && !memcmp(name, b, len) && curves[i].id == VE_CRV_K256))
            return &curves[i];
    }
    return NULL;
}

const ve_curve *ve_curve_by_id(int id)
{
    for (size_t i = 0; i < sizeof curves / sizeof *curves; i++)
        if ((int)curves[i].id == id) return &curves[i];
    return NULL;
}

static const ve_curve *curve_of(EVP_PKEY *pk)
{
    char name[64];
    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, NULL) !=
        1)
        return NULL;
    for (size_t i = 0; i < sizeof curves / sizeof *curves; i++)
        if (!strcmp(name, curves[i].group) || !strcmp(name, curves[i].alias)) return &curves[i];
    return NULL;
}

void ve_key_clear(ve_key *k)
{
    EVP_PKEY_free(k->pkey);
    OPENSSL_cleanse(k, sizeof *k);
}

static int rsa_bits_ok(unsigned bits)
{
    return bits == 2048 || bits == 3072 || bits == 4096 || (warming && bits >= 1024);
}

/* Fill type, bits and curve of k from its pkey, checking the size rules. */
static cloak_err describe(ve_key *k)
{
    if (k->type == VE_KEY_RSA) {
        if (!EVP_PKEY_is_a(k->pkey, "RSA")) return CLOAK_EINVAL;
        k->bits = (unsigned)EVP_PKEY_get_bits(k->pkey);
        return rsa_bits_ok(k->bits) ? CLOAK_OK : CLOAK_EINVAL;
    }
    const ve_curve *c = EVP_PKEY_is_a(k->pkey, "EC") ? curve_of(k->pkey) : NULL;
    if (!c) return CLOAK_EINVAL;
    k->curve = (int)c->id;
    k->bits = c->bits;
    return CLOAK_OK;
}

/* ---- PKCS#8 ---- */

static cloak_err pkcs8_encode(EVP_PKEY *pk, uint8_t **der, size_t *len)
{
    OSSL_ENCODER_CTX *ctx =
        OSSL_ENCODER_CTX_new_for_pkey(pk, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
    unsigned char *p = NULL;
    size_t n = 0;
    int ok = ctx && OSSL_ENCODER_CTX_get_num_encoders(ctx) > 0 &&
             OSSL_ENCODER_to_data(ctx, &p, &n) == 1 && p && n;
    OSSL_ENCODER_CTX_free(ctx);
    if (!ok) {
        if (p) OPENSSL_clear_free(p, n);
        return cloak_trusted_fail(CLOAK_EINTERNAL, "encoding the private key as PKCS#8 failed");
    }
    *der = p;
    *len = n;
    return CLOAK_OK;
}

static EVP_PKEY *pkcs8_decode(const uint8_t *der, size_t len, const char *type)
{
    EVP_PKEY *pk = NULL;
    OSSL_DECODER_CTX *ctx = OSSL_DECODER_CTX_new_for_pkey(&pk, "DER", "PrivateKeyInfo", type,
                                                          EVP_PKEY_KEYPAIR, NULL, NULL);
    const unsigned char *p = der;
    size_t left = len;
    if (!ctx || OSSL_DECODER_from_data(ctx, &p, &left) != 1 || left != 0) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    OSSL_DECODER_CTX_free(ctx);
    return pk;
}

/* ---- cache ---- */

#define CACHE_SETS 256
#define CACHE_WAYS 4
typedef struct {
    uint8_t id[32];
    uint64_t used; /* 0 = empty; else the tick of the last use */
    ve_key key;
} cache_slot;
static cache_slot cache[CACHE_SETS][CACHE_WAYS];
static uint64_t cache_tick;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int cache_id(const uint8_t *blob, size_t blob_len, const uint8_t *bind, size_t bind_len,
                    uint8_t id[32])
{
    uint8_t len[4];
    cloak_put_u32le(len, (uint32_t)blob_len);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    int ok = c && EVP_DigestInit_ex(c, ve_md("SHA256"), NULL) == 1 &&
             EVP_DigestUpdate(c, len, 4) == 1 && EVP_DigestUpdate(c, blob, blob_len) == 1 &&
             EVP_DigestUpdate(c, bind, bind_len) == 1 && EVP_DigestFinal_ex(c, id, &n) == 1 &&
             n == 32;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

static void key_copy(ve_key *dst, const ve_key *src)
{
    *dst = *src;
    if (dst->pkey) EVP_PKEY_up_ref(dst->pkey);
}

static int cache_get(const uint8_t id[32], ve_key *out)
{
    cache_slot *set = cache[cloak_get_u32le(id) % CACHE_SETS];
    int hit = 0;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_WAYS && !hit; i++)
        if (set[i].used && !memcmp(set[i].id, id, 32)) {
            set[i].used = ++cache_tick;
            key_copy(out, &set[i].key);
            hit = 1;
        }
    pthread_mutex_unlock(&cache_lock);
    return hit;
}

static void cache_put(const uint8_t id[32], const ve_key *k)
{
    if (warming) return;
    cache_slot *set = cache[cloak_get_u32le(id) % CACHE_SETS];
    pthread_mutex_lock(&cache_lock);
    int victim = 0;
    for (int i = 0; i < CACHE_WAYS; i++) {
        if (set[i].used && !memcmp(set[i].id, id, 32)) goto out; /* another thread was first */
        if (set[i].used < set[victim].used) victim = i;
    }
    if (set[victim].used) ve_key_clear(&set[victim].key);
    memcpy(set[victim].id, id, 32);
    key_copy(&set[victim].key, k);
    set[victim].used = ++cache_tick;
out:
    pthread_mutex_unlock(&cache_lock);
}

/* ---- blobs ---- */

static cloak_err blob_refused(const uint8_t *bind, size_t bind_len, const char *why)
{
    return cloak_trusted_fail(CLOAK_EVERIFY,
                              "the key blob does not open for \"%.*s\" under this vault's master "
                              "key: %s",
                              (int)(bind_len > 200 ? 200 : bind_len), (const char *)bind, why);
}

cloak_err ve_blob_plaintext(const uint8_t *blob, size_t blob_len, const uint8_t *bind,
                            size_t bind_len, int *type, uint8_t **pt, size_t *pt_len)
{
    const uint8_t *key = ve_blob_key();
    if (!key) return cloak_trusted_fail(CLOAK_EPERM, "the vault master key is not loaded");
    if (bind_len > VE_MAX_BIND)
        return cloak_trusted_fail(CLOAK_EINVAL, "bind is longer than %u bytes", VE_MAX_BIND);
    if (blob_len <= VE_BLOB_OVERHEAD || blob_len > 65536 || memcmp(blob, VE_BLOB_MAGIC, 4) ||
        blob[4] < VE_KEY_RSA || blob[4] > VE_KEY_OCT)
        return blob_refused(bind, bind_len, "not a vault key blob (bad header or length)");
    size_t n = blob_len - VE_BLOB_OVERHEAD;
    uint8_t *aad = malloc(5 + bind_len), *p = malloc(n), tag[16];
    if (!aad || !p) {
        free(aad);
        free(p);
        return cloak_trusted_fail(CLOAK_ENOMEM, "out of memory opening a key blob");
    }
    memcpy(aad, blob, 5);
    if (bind_len) memcpy(aad + 5, bind, bind_len);
    memcpy(tag, blob + VE_BLOB_HDR + n, 16);
    cloak_err rc =
        ve_gcm(0, key, 32, blob + 5, 12, aad, 5 + bind_len, blob + VE_BLOB_HDR, n, p, tag);
    free(aad);
    if (rc) {
        free(p); /* ve_gcm wiped it */
        return blob_refused(bind, bind_len,
                            "it was made for another key name/version, altered, or made by "
                            "another vault");
    }
    *type = blob[4];
    *pt = p;
    *pt_len = n;
    return CLOAK_OK;
}

cloak_err ve_blob_open(const uint8_t *blob, size_t blob_len, const uint8_t *bind, size_t bind_len,
                       ve_key *out)
{
    uint8_t id[32], *pt = NULL;
    size_t pt_len = 0;
    int type = 0;
    memset(out, 0, sizeof *out);
    if (bind_len > VE_MAX_BIND)
        return cloak_trusted_fail(CLOAK_EINVAL, "bind is longer than %u bytes", VE_MAX_BIND);
    if (cache_id(blob, blob_len, bind, bind_len, id))
        return cloak_trusted_fail(CLOAK_EINTERNAL, "SHA-256 failed");
    if (ve_blob_key() && cache_get(id, out)) return CLOAK_OK;
    cloak_err rc = ve_blob_plaintext(blob, blob_len, bind, bind_len, &type, &pt, &pt_len);
    if (rc) return rc;
    ve_key k = {.type = type};
    if (type == VE_KEY_OCT) {
        if (pt_len != 16 && pt_len != 24 && pt_len != 32) {
            rc = blob_refused(bind, bind_len, "the oct key inside has a bad length");
            goto out;
        }
        memcpy(k.raw, pt, pt_len);
        k.raw_len = pt_len;
        k.bits = (unsigned)pt_len * 8;
    } else {
        k.pkey = pkcs8_decode(pt, pt_len, type == VE_KEY_RSA ? "RSA" : "EC");
        if (!k.pkey || describe(&k)) {
            rc = blob_refused(bind, bind_len, "the private key inside does not parse");
            goto out;
        }
    }
    cache_put(id, &k);
    *out = k;
    memset(&k, 0, sizeof k);
out:
    ve_key_clear(&k);
    cloak_free_secret(pt, pt_len);
    return rc;
}

/* Seal k for bind and write the GENERATE/IMPORT reply: bytes blob, bytes SPKI, u32 bits. */
static cloak_err key_seal(const ve_key *k, const uint8_t *bind, size_t bind_len, ve_out *reply)
{
    const uint8_t *key = ve_blob_key();
    if (!key) return cloak_trusted_fail(CLOAK_EPERM, "the vault master key is not loaded");
    uint8_t *pt = NULL, *blob = NULL, *aad = NULL, *spki = NULL;
    size_t pt_len = 0, blob_len = 0;
    int spki_len = 0;
    cloak_err rc = CLOAK_OK;
    if (k->type == VE_KEY_OCT) {
        if (!(pt = malloc(k->raw_len))) goto oom;
        memcpy(pt, k->raw, k->raw_len);
        pt_len = k->raw_len;
    } else {
        if ((rc = pkcs8_encode(k->pkey, &pt, &pt_len))) goto out;
        if ((spki_len = i2d_PUBKEY(k->pkey, &spki)) <= 0) {
            rc = cloak_trusted_fail(CLOAK_EINTERNAL, "encoding the public key failed");
            goto out;
        }
    }
    blob_len = pt_len + VE_BLOB_OVERHEAD;
    if (!(blob = malloc(blob_len)) || !(aad = malloc(5 + bind_len))) goto oom;
    memcpy(blob, VE_BLOB_MAGIC, 4);
    blob[4] = (uint8_t)k->type;
    if (cloak_trusted_random(blob + 5, 12)) {
        rc = cloak_trusted_fail(CLOAK_EIO, "no randomness for the blob iv");
        goto out;
    }
    memcpy(aad, blob, 5);
    if (bind_len) memcpy(aad + 5, bind, bind_len);
    rc = ve_gcm(1, key, 32, blob + 5, 12, aad, 5 + bind_len, pt, pt_len, blob + VE_BLOB_HDR,
                blob + VE_BLOB_HDR + pt_len);
    if (rc) {
        rc = cloak_trusted_fail(rc, "encrypting the key blob failed");
        goto out;
    }
    ve_put_bytes(reply, blob, blob_len);
    ve_put_bytes(reply, spki, spki_len > 0 ? (size_t)spki_len : 0);
    ve_put_u32(reply, k->bits);
    uint8_t id[32];
    if (!cache_id(blob, blob_len, bind, bind_len, id)) cache_put(id, k);
    goto out;
oom:
    rc = cloak_trusted_fail(CLOAK_ENOMEM, "out of memory sealing a key");
out:
    if (pt)
        (k->type == VE_KEY_OCT ? cloak_free_secret(pt, pt_len) : OPENSSL_clear_free(pt, pt_len));
    free(blob);
    free(aad);
    OPENSSL_free(spki);
    return rc;
}

/* ---- generate ---- */

static cloak_err generate(int type, unsigned bits, const ve_curve *c, ve_key *out)
{
    ve_key k = {.type = type};
    EVP_PKEY_CTX *ctx = NULL;
    cloak_err rc = CLOAK_OK;
    if (type == VE_KEY_OCT) {
        if (bits != 128 && bits != 192 && bits != 256)
            return cloak_trusted_fail(CLOAK_EINVAL, "oct keys have 128, 192 or 256 bits, not %u",
                                      bits);
        k.raw_len = bits / 8;
        k.bits = bits;
        if (cloak_trusted_random(k.raw, k.raw_len)) {
            ve_key_clear(&k);
            return cloak_trusted_fail(CLOAK_EIO, "no randomness for the key");
        }
        *out = k;
        return CLOAK_OK;
    }
    if (type == VE_KEY_RSA) {
        if (!rsa_bits_ok(bits))
            return cloak_trusted_fail(CLOAK_EINVAL, "RSA keys have 2048, 3072 or 4096 bits, not %u",
                                      bits);
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 ||
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) != 1)
            goto fail;
    } else {
        ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 ||
            EVP_PKEY_CTX_set_group_name(ctx, c->group) != 1)
            goto fail;
    }
    if (EVP_PKEY_generate(ctx, &k.pkey) != 1 || describe(&k)) goto fail;
    *out = k;
    EVP_PKEY_CTX_free(ctx);
    return CLOAK_OK;
fail:
    rc = cloak_trusted_fail(CLOAK_EINTERNAL, "key generation failed in OpenSSL");
    EVP_PKEY_CTX_free(ctx);
    ve_key_clear(&k);
    return rc;
}

cloak_err ve_h_generate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                        size_t *out_len)
{
    ve_generate_msg m;
    if (ve_parse_generate(in, in_len, &m))
        return cloak_trusted_fail(CLOAK_EINVAL, "malformed GENERATE request");
    uint8_t type = m.type;
    uint32_t bits = m.bits;
    const uint8_t *crv = m.crv, *bind = m.bind;
    size_t crv_len = m.crv_len, bind_len = m.bind_len;
    if (bind_len > VE_MAX_BIND)
        return cloak_trusted_fail(CLOAK_EINVAL, "bind is longer than %u bytes", VE_MAX_BIND);
    const ve_curve *c = NULL;
    if (type == VE_KEY_EC && !(c = ve_curve_by_jwk(crv, crv_len)))
        return cloak_trusted_fail(CLOAK_EINVAL,
                                  "unsupported curve \"%.*s\" (P-256, P-384, P-521, P-256K)",
                                  (int)(crv_len > 40 ? 40 : crv_len), (const char *)crv);
    if (type < VE_KEY_RSA || type > VE_KEY_OCT)
        return cloak_trusted_fail(CLOAK_EINVAL, "unknown key type %u", type);
    ve_key k;
    cloak_err rc = generate(type, bits, c, &k);
    if (rc) return rc;
    ve_out w = {out, 0, out_cap, 0};
    rc = key_seal(&k, bind, bind_len, &w);
    ve_key_clear(&k);
    return rc ? rc : ve_out_done(&w, out_len);
}

/* ---- import ---- */

static BIGNUM *bn(const uint8_t *p, size_t len, int secret)
{
    if (!len || len > 1024) return NULL;
    BIGNUM *b = secret ? BN_secure_new() : BN_new();
    if (b && !BN_bin2bn(p, (int)len, b)) {
        BN_clear_free(b);
        b = NULL;
    }
    return b;
}

static cloak_err import(int type, const uint8_t *const *f, const size_t *fl, size_t nf, ve_key *out)
{
    ve_key k = {.type = type};
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL, *check = NULL;
    BIGNUM *b[8] = {0};
    uint8_t pub[1 + 2 * 66];
    cloak_err rc = CLOAK_EINVAL;
    const char *what = "";
    if (type == VE_KEY_OCT) {
        if (nf != VE_IMPORT_OCT_FIELDS || (fl[0] != 16 && fl[0] != 24 && fl[0] != 32))
            return cloak_trusted_fail(CLOAK_EINVAL, "oct keys have 128, 192 or 256 bits");
        memcpy(k.raw, f[0], fl[0]);
        k.raw_len = fl[0];
        k.bits = (unsigned)fl[0] * 8;
        *out = k;
        return CLOAK_OK;
    }
    if (!(bld = OSSL_PARAM_BLD_new())) goto oom;
    if (type == VE_KEY_RSA) {
        static const char *const names[VE_IMPORT_RSA_FIELDS] = {
            OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
            OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
            OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
            OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
        what = "RSA private key (n, e, d, p, q, dp, dq, qi)";
        if (nf != VE_IMPORT_RSA_FIELDS) goto bad;
        for (size_t i = 0; i < VE_IMPORT_RSA_FIELDS; i++)
            if (!(b[i] = bn(f[i], fl[i], i >= 2)) || !OSSL_PARAM_BLD_push_BN(bld, names[i], b[i]))
                goto bad;
    } else {
        const ve_curve *c = nf == VE_IMPORT_EC_FIELDS ? ve_curve_by_jwk(f[0], fl[0]) : NULL;
        what = "EC private key (crv P-256, P-384, P-521 or P-256K; x, y and d of the curve's "
               "width)";
        if (!c || fl[1] != c->field || fl[2] != c->field || fl[3] != c->field) goto bad;
        pub[0] = 0x04; /* SEC 1 §2.3.3 uncompressed point */
        memcpy(pub + 1, f[1], c->field);
        memcpy(pub + 1 + c->field, f[2], c->field);
        if (!(b[0] = bn(f[3], fl[3], 1)) ||
            !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
                                              1 + 2 * c->field) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, b[0]))
            goto bad;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type == VE_KEY_RSA ? "RSA" : "EC", NULL);
    if (!(params = OSSL_PARAM_BLD_to_param(bld)) || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k.pkey, EVP_PKEY_KEYPAIR, params) != 1)
        goto bad;
    if (describe(&k)) {
        rc = cloak_trusted_fail(CLOAK_EINVAL, type == VE_KEY_RSA
                                                  ? "RSA keys have 2048, 3072 or 4096 bits"
                                                  : "unsupported EC curve");
        goto out;
    }
    /* the members must form one key: p*q = n and d, dp, dq, qi match (RSA); the point is on the
     * curve and equals d*G (EC) */
    if (!(check = EVP_PKEY_CTX_new_from_pkey(NULL, k.pkey, NULL)) || EVP_PKEY_check(check) != 1) {
        rc = cloak_trusted_fail(CLOAK_EINVAL, "the imported %s is not consistent",
                                type == VE_KEY_RSA ? "RSA key" : "EC key");
        goto out;
    }
    *out = k;
    memset(&k, 0, sizeof k);
    rc = CLOAK_OK;
    goto out;
oom:
    rc = cloak_trusted_fail(CLOAK_ENOMEM, "out of memory importing a key");
    goto out;
bad:
    rc = cloak_trusted_fail(CLOAK_EINVAL, "not a valid %s", what);
out:
    for (size_t i = 0; i < 8; i++)
        BN_clear_free(b[i]);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_CTX_free(check);
    ve_key_clear(&k);
    OPENSSL_cleanse(pub, sizeof pub);
    return rc;
}

cloak_err ve_h_import(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len)
{
    ve_import_msg m;
    if (ve_parse_import(in, in_len, &m))
        return cloak_trusted_fail(CLOAK_EINVAL, "malformed IMPORT request");
    uint8_t type = m.type, nf = m.count;
    const uint8_t *bind = m.bind, *const *f = m.f;
    size_t bind_len = m.bind_len;
    const size_t *fl = m.fl;
    if (bind_len > VE_MAX_BIND)
        return cloak_trusted_fail(CLOAK_EINVAL, "bind is longer than %u bytes", VE_MAX_BIND);
    if (type < VE_KEY_RSA || type > VE_KEY_OCT)
        return cloak_trusted_fail(CLOAK_EINVAL, "unknown key type %u", type);
    ve_key k;
    cloak_err rc = import(type, f, fl, nf, &k);
    if (rc) return rc;
    ve_out w = {out, 0, out_cap, 0};
    rc = key_seal(&k, bind, bind_len, &w);
    ve_key_clear(&k);
    return rc ? rc : ve_out_done(&w, out_len);
}

/* ---- warm-up: every OpenSSL path once, before the sandbox closes ---- */

static cloak_err warm_crypt(const ve_key *k, int op, const char *alg, const uint8_t *value,
                            size_t value_len, const uint8_t *digest, size_t digest_len,
                            uint8_t *res, size_t *res_len)
{
    uint8_t buf[1024];
    ve_out w = {buf, 0, sizeof buf, 0};
    uint8_t iv[16] = {0};
    ve_req rq = {
        .value = value, .value_len = value_len, .digest = digest, .digest_len = digest_len};
    if (!strcmp(alg + strlen(alg) - 3, "CBC") || strstr(alg, "CBCPAD")) {
        rq.iv = iv;
        rq.iv_len = 16;
    }
    cloak_err rc = ve_crypt_key(k, op, alg, &rq, &w);
    if (rc || w.failed) return rc ? rc : CLOAK_EINTERNAL;
    ve_in r;
    uint8_t verified = 0;
    const uint8_t *v;
    size_t vl;
    ve_in_init(&r, buf, w.len);
    if (ve_take_u8(&r, &verified) || ve_take_bytes(&r, &v, &vl) || vl > *res_len)
        return CLOAK_EINTERNAL;
    if (op == VE_OP_VERIFY && !verified) return CLOAK_EVERIFY;
    memcpy(res, v, vl);
    *res_len = vl;
    return CLOAK_OK;
}

/* Encode/decode a key, rebuild it from its parameters (the import path), sign and verify or
 * encrypt and decrypt with every algorithm of its type. */
static cloak_err warm_key(const ve_key *k)
{
    uint8_t *der = NULL, *spki = NULL, out[1024], out2[1024], digest[64] = {7};
    size_t der_len = 0, n, n2;
    cloak_err rc = pkcs8_encode(k->pkey, &der, &der_len);
    if (rc) return rc;
    EVP_PKEY *back = pkcs8_decode(der, der_len, k->type == VE_KEY_RSA ? "RSA" : "EC");
    OPENSSL_clear_free(der, der_len);
    int spki_len = i2d_PUBKEY(k->pkey, &spki);
    const uint8_t *sp = spki;
    EVP_PKEY *pub = spki_len > 0 ? d2i_PUBKEY(NULL, &sp, spki_len) : NULL;
    OPENSSL_free(spki);
    if (!back || !pub || EVP_PKEY_eq(back, k->pkey) != 1 || EVP_PKEY_eq(pub, k->pkey) != 1)
        rc = CLOAK_EINTERNAL;
    EVP_PKEY_free(back);
    EVP_PKEY_free(pub);
    if (rc) return rc;

    /* the import path: parameters out, key back in */
    uint8_t fbuf[8][600];
    const uint8_t *f[8];
    size_t fl[8], nf = 0;
    if (k->type == VE_KEY_RSA) {
        static const char *const names[8] = {
            OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
            OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
            OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
            OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
        for (nf = 0; nf < 8; nf++) {
            BIGNUM *b = NULL;
            if (EVP_PKEY_get_bn_param(k->pkey, names[nf], &b) != 1) return CLOAK_EINTERNAL;
            int l = BN_bn2bin(b, fbuf[nf]);
            BN_clear_free(b);
            f[nf] = fbuf[nf];
            fl[nf] = (size_t)l;
        }
    } else {
        const ve_curve *c = ve_curve_by_id(k->curve);
        BIGNUM *d = NULL;
        size_t pl = 0;
        if (!c ||
            EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, fbuf[7],
                                            sizeof fbuf[7], &pl) != 1 ||
            pl != 1 + 2 * c->field ||
            EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
            return CLOAK_EINTERNAL;
        int ok = BN_bn2binpad(d, fbuf[3], (int)c->field) == (int)c->field;
        BN_clear_free(d);
        if (!ok) return CLOAK_EINTERNAL;
        f[0] = (const uint8_t *)c->jwk, fl[0] = strlen(c->jwk);
        f[1] = fbuf[7] + 1, fl[1] = c->field;
        f[2] = fbuf[7] + 1 + c->field, fl[2] = c->field;
        f[3] = fbuf[3], fl[3] = c->field;
        nf = 4;
    }
    ve_key again;
    rc = import(k->type, f, fl, nf, &again);
    OPENSSL_cleanse(fbuf, sizeof fbuf);
    if (rc) return rc;
    ve_key_clear(&again);

    if (k->type == VE_KEY_RSA) {
        static const char *const sig[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
        static const size_t dl[] = {32, 48, 64, 32, 48, 64};
        /* PS512 needs more than a 1024-bit modulus (RFC 8017 §9.1.1): PS256/384 warm it up */
        for (size_t i = 0; i < 5 && !rc; i++) {
            n = sizeof out;
            n2 = sizeof out2;
            rc = warm_crypt(k, VE_OP_SIGN, sig[i], digest, dl[i], NULL, 0, out, &n);
            if (!rc) rc = warm_crypt(k, VE_OP_VERIFY, sig[i], out, n, digest, dl[i], out2, &n2);
        }
        static const char *const enc[] = {"RSA-OAEP", "RSA-OAEP-256", "RSA1_5"};
        for (size_t i = 0; i < 3 && !rc; i++) {
            n = sizeof out;
            n2 = sizeof out2;
            rc = warm_crypt(k, VE_OP_ENCRYPT, enc[i], digest, 16, NULL, 0, out, &n);
            if (!rc) rc = warm_crypt(k, VE_OP_DECRYPT, enc[i], out, n, NULL, 0, out2, &n2);
        }
    } else {
        static const char *const sig[] = {"", "ES256", "ES384", "ES512", "ES256K"};
        static const size_t dl[] = {0, 32, 48, 64, 32};
        n = sizeof out;
        n2 = sizeof out2;
        rc = warm_crypt(k, VE_OP_SIGN, sig[k->curve], digest, dl[k->curve], NULL, 0, out, &n);
        if (!rc)
            rc =
                warm_crypt(k, VE_OP_VERIFY, sig[k->curve], out, n, digest, dl[k->curve], out2, &n2);
    }
    return rc;
}

cloak_err ve_warm_up_keys(void)
{
    warming = 1;
    cloak_err rc = CLOAK_OK;
    ve_key k;
    char step[32] = "RSA";
    /* RSA: a small key keeps start-up short; the code paths are the same */
    if (!(rc = generate(VE_KEY_RSA, 1024, NULL, &k))) {
        rc = warm_key(&k);
        ve_key_clear(&k);
    }
    for (int c = VE_CRV_P256; c <= VE_CRV_K256 && !rc; c++) {
        snprintf(step, sizeof step, "EC %s", ve_curve_by_id(c)->jwk);
        if ((rc = generate(VE_KEY_EC, 0, ve_curve_by_id(c), &k))) break;
        rc = warm_key(&k);
        ve_key_clear(&k);
    }
    static const char *const oct[] = {"GCM", "CBC", "CBCPAD", "KW"};
    for (unsigned bits = 128; bits <= 256 && !rc; bits += 64) {
        if ((rc = generate(VE_KEY_OCT, bits, NULL, &k))) break;
        uint8_t pt[32] = {1}, ct[128], back[128];
        for (size_t i = 0; i < 4 && !rc; i++) {
            char alg[16];
            snprintf(alg, sizeof alg, "A%u%s", bits, oct[i]);
            snprintf(step, sizeof step, "%s", alg);
            size_t n = sizeof ct, n2 = sizeof back;
            rc = warm_crypt(&k, VE_OP_ENCRYPT, alg, pt, sizeof pt, NULL, 0, ct, &n);
            /* GCM decryption needs iv and tag: exercise it directly */
            if (!rc && i == 0) {
                uint8_t tag[16], iv[12] = {0};
                rc = ve_gcm(1, k.raw, k.raw_len, iv, 12, NULL, 0, pt, sizeof pt, ct, tag);
                if (!rc)
                    rc = ve_gcm(0, k.raw, k.raw_len, iv, 12, NULL, 0, ct, sizeof pt, back, tag);
            } else if (!rc) {
                rc = warm_crypt(&k, VE_OP_DECRYPT, alg, ct, n, NULL, 0, back, &n2);
            }
        }
        size_t n = 0;
        snprintf(step, sizeof step, "AES key wrap with padding");
        if (!rc) rc = ve_kw(1, 1, k.raw, k.raw_len, pt, 7, ct, &n);
        if (!rc) rc = ve_kw(0, 1, k.raw, k.raw_len, ct, n, back, &n);
        ve_key_clear(&k);
    }
    warming = 0;
    if (rc)
        cloak_trusted_log(CLOAK_LOG_ERROR, "vault enclave: warm-up failed at %s (%s)", step,
                          cloak_err_name(rc));
    return rc;
}
