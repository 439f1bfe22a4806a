/*
 * The vault enclave's key operations (CRYPT): Key Vault's algorithms on a key opened from its
 * blob.
 *
 *   RSA  RSA-OAEP (SHA-1), RSA-OAEP-256 (SHA-256, MGF1 SHA-256), RSA1_5: encrypt, decrypt,
 *        wrap, unwrap. RS256/384/512 (PKCS#1 v1.5), PS256/384/512 (PSS, MGF1 same hash, salt
 *        = hash length): sign, verify; `value` is the digest.
 *   EC   ES256 (P-256), ES256K (secp256k1), ES384 (P-384), ES512 (P-521): sign, verify; the
 *        signature is R || S at the curve's width (RFC 7518 §3.4).
 *   oct  A*GCM (iv: 12 random bytes chosen here; tag 16 bytes), A*KW and CKM_AES_KEY_WRAP
 *        (RFC 3394), CKM_AES_KEY_WRAP_PAD (RFC 5649), A*CBC (no padding) and A*CBCPAD (PKCS#7),
 *        iv given (16 bytes).
 *
 * Errors: an alg that does not fit the key or the op, a wrong length -> CLOAK_EINVAL;
 * authentication failure on decrypt/unwrap -> CLOAK_EVERIFY; a signature that does not verify
 * is not an error (verified = 0).
 *
 * Trust: requests are hostile; every length is checked here before OpenSSL sees it. RSA1_5 and
 * CBCPAD decryption report bad padding as an error, which is a padding oracle by nature of
 * those algorithms (Key Vault offers them for compatibility); prefer RSA-OAEP and GCM.
 */
#include "ve_int.h"
#include "vault_proto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    F_RSA_ENC,
    F_RSA_PKCS1,
    F_RSA_PSS,
    F_ECDSA,
    F_GCM,
    F_KW,
    F_KWP,
    F_CBC,
    F_CBCPAD
} fam;

#define OPS_ENC ((1u << VE_OP_ENCRYPT) | (1u << VE_OP_DECRYPT))
#define OPS_WRAP ((1u << VE_OP_WRAP) | (1u << VE_OP_UNWRAP))
#define OPS_SIG ((1u << VE_OP_SIGN) | (1u << VE_OP_VERIFY))

typedef struct {
    const char *name;
    fam f;
    int key_type;
    unsigned key_bits; /* oct: the key size the alg needs (0: any) */
    const char *md;    /* RSA: OAEP / signature hash */
    int curve;         /* ECDSA: the curve the alg needs */
    size_t digest;     /* sign/verify: digest bytes */
    unsigned ops;
} alg_def;

static const alg_def algs[] = {
    {"RSA-OAEP", F_RSA_ENC, VE_KEY_RSA, 0, "SHA1", 0, 0, OPS_ENC | OPS_WRAP},
    {"RSA-OAEP-256", F_RSA_ENC, VE_KEY_RSA, 0, "SHA256", 0, 0, OPS_ENC | OPS_WRAP},
    {"RSA1_5", F_RSA_ENC, VE_KEY_RSA, 0, NULL, 0, 0, OPS_ENC | OPS_WRAP},
    {"RS256", F_RSA_PKCS1, VE_KEY_RSA, 0, "SHA256", 0, 32, OPS_SIG},
    {"RS384", F_RSA_PKCS1, VE_KEY_RSA, 0, "SHA384", 0, 48, OPS_SIG},
    {"RS512", F_RSA_PKCS1, VE_KEY_RSA, 0, "SHA512", 0, 64, OPS_SIG},
    {"PS256", F_RSA_PSS, VE_KEY_RSA, 0, "SHA256", 0, 32, OPS_SIG},
    {"PS384", F_RSA_PSS, VE_KEY_RSA, 0, "SHA384", 0, 48, OPS_SIG},
    {"PS512", F_RSA_PSS, VE_KEY_RSA, 0, "SHA512", 0, 64, OPS_SIG},
    {"ES256", F_ECDSA, VE_KEY_EC, 0, NULL, VE_CRV_P256, 32, OPS_SIG},
    {"ES256K", F_ECDSA, VE_KEY_EC, 0, NULL, VE_CRV_K256, 32, OPS_SIG},
    {"ES384", F_ECDSA, VE_KEY_EC, 0, NULL, VE_CRV_P384, 48, OPS_SIG},
    {"ES512", F_ECDSA, VE_KEY_EC, 0, NULL, VE_CRV_P521, 64, OPS_SIG},
    {"A128GCM", F_GCM, VE_KEY_OCT, 128, NULL, 0, 0, OPS_ENC},
    {"A192GCM", F_GCM, VE_KEY_OCT, 192, NULL, 0, 0, OPS_ENC},
    {"A256GCM", F_GCM, VE_KEY_OCT, 256, NULL, 0, 0, OPS_ENC},
    {"A128KW", F_KW, VE_KEY_OCT, 128, NULL, 0, 0, OPS_ENC | OPS_WRAP},
    {"A192KW", F_KW, VE_KEY_OCT, 192, NULL, 0, 0, OPS_ENC | OPS_WRAP},
    {"A256KW", F_KW, VE_KEY_OCT, 256, NULL, 0, 0, OPS_ENC | OPS_WRAP},
    {"CKM_AES_KEY_WRAP", F_KW, VE_KEY_OCT, 0, NULL, 0, 0, OPS_ENC | OPS_WRAP},
    {"CKM_AES_KEY_WRAP_PAD", F_KWP, VE_KEY_OCT, 0, NULL, 0, 0, OPS_ENC | OPS_WRAP},
    {"A128CBC", F_CBC, VE_KEY_OCT, 128, NULL, 0, 0, OPS_ENC},
    {"A192CBC", F_CBC, VE_KEY_OCT, 192, NULL, 0, 0, OPS_ENC},
    {"A256CBC", F_CBC, VE_KEY_OCT, 256, NULL, 0, 0, OPS_ENC},
    {"A128CBCPAD", F_CBCPAD, VE_KEY_OCT, 128, NULL, 0, 0, OPS_ENC},
    {"A192CBCPAD", F_CBCPAD, VE_KEY_OCT, 192, NULL, 0, 0, OPS_ENC},
    {"A256CBCPAD", F_CBCPAD, VE_KEY_OCT, 256, NULL, 0, 0, OPS_ENC},
};

static const char *const op_names[] = {"",          "encrypt", "decrypt", "wrapKey",
                                       "unwrapKey", "sign",    "verify"};
static const char *const type_names[] = {"", "RSA", "EC", "oct"};

/* The reply: u8 verified, bytes value, bytes iv, bytes tag. */
static void reply(ve_out *w, int verified, const uint8_t *v, size_t vl, const uint8_t *iv,
                  size_t ivl, const uint8_t *tag, size_t tl)
{
    ve_put_u8(w, (uint8_t)verified);
    ve_put_bytes(w, v, vl);
    ve_put_bytes(w, iv, ivl);
    ve_put_bytes(w, tag, tl);
}

/* ---- RSA ---- */

static cloak_err rsa_crypt(const ve_key *k, const alg_def *a, int op, const ve_req *rq, ve_out *w)
{
    int enc = op == VE_OP_ENCRYPT || op == VE_OP_WRAP;
    size_t size = (size_t)EVP_PKEY_get_size(k->pkey), hl = 0, out_len = size;
    if (a->md) hl = (size_t)EVP_MD_get_size(ve_md(a->md));
    size_t max_pt = a->md ? size - 2 * hl - 2 : size - 11; /* RFC 8017 §7.1.1, §7.2.1 */
    if (enc && rq->value_len > max_pt)
        return cloak_trusted_fail(CLOAK_EINVAL,
                                  "%s with a %u-bit key takes at most %zu bytes (got %zu)", a->name,
                                  k->bits, max_pt, rq->value_len);
    if (!enc && rq->value_len != size)
        return cloak_trusted_fail(CLOAK_EINVAL,
                                  "%s ciphertext for a %u-bit key is %zu bytes (got %zu)", a->name,
                                  k->bits, size, rq->value_len);
    uint8_t *buf = malloc(size);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    cloak_err rc = CLOAK_OK;
    int ok = buf && ctx && (enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) == 1;
    if (ok && a->md)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(ctx, ve_md(a->md)) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, ve_md(a->md)) == 1;
    else if (ok)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
    if (!ok) {
        rc = cloak_trusted_fail(CLOAK_EINTERNAL, "setting up %s failed", a->name);
    } else if (enc) {
        if (EVP_PKEY_encrypt(ctx, buf, &out_len, rq->value, rq->value_len) != 1)
            rc = cloak_trusted_fail(CLOAK_EINVAL, "%s encryption failed", a->name);
    } else if (EVP_PKEY_decrypt(ctx, buf, &out_len, rq->value, rq->value_len) != 1) {
        rc = cloak_trusted_fail(CLOAK_EVERIFY,
                                "%s decryption failed: the ciphertext was not "
                                "made for this key (padding check failed)",
                                a->name);
    }
    if (!rc) reply(w, 0, buf, out_len, NULL, 0, NULL, 0);
    EVP_PKEY_CTX_free(ctx);
    if (buf) cloak_free_secret(buf, size);
    return rc;
}

static cloak_err rsa_sign(const ve_key *k, const alg_def *a, int op, const ve_req *rq, ve_out *w)
{
    const uint8_t *digest = op == VE_OP_SIGN ? rq->value : rq->digest;
    size_t digest_len = op == VE_OP_SIGN ? rq->value_len : rq->digest_len;
    if (digest_len != a->digest)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s signs a %zu-byte digest (got %zu bytes)",
                                  a->name, a->digest, digest_len);
    size_t size = (size_t)EVP_PKEY_get_size(k->pkey), sig_len = size;
    uint8_t *sig = op == VE_OP_SIGN ? malloc(size) : NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    int pss = a->f == F_RSA_PSS;
    int ok =
        ctx && (op != VE_OP_SIGN || sig) &&
        (op == VE_OP_SIGN ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) == 1 &&
        EVP_PKEY_CTX_set_signature_md(ctx, ve_md(a->md)) == 1;
    if (ok && pss)
        ok = EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, ve_md(a->md)) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    cloak_err rc = CLOAK_OK;
    if (!ok) {
        rc = cloak_trusted_fail(CLOAK_EINTERNAL, "setting up %s failed", a->name);
    } else if (op == VE_OP_SIGN) {
        if (EVP_PKEY_sign(ctx, sig, &sig_len, digest, digest_len) != 1)
            rc = cloak_trusted_fail(CLOAK_EINTERNAL, "%s signing failed", a->name);
        else
            reply(w, 0, sig, sig_len, NULL, 0, NULL, 0);
    } else {
        /* a signature of the wrong length simply does not verify */
        int v = rq->value_len == size &&
                EVP_PKEY_verify(ctx, rq->value, rq->value_len, digest, digest_len) == 1;
        reply(w, v, NULL, 0, NULL, 0, NULL, 0);
    }
    EVP_PKEY_CTX_free(ctx);
    free(sig);
    return rc;
}

/* ---- ECDSA with JOSE R || S signatures ---- */

static cloak_err ec_sign(const ve_key *k, const alg_def *a, int op, const ve_req *rq, ve_out *w)
{
    const ve_curve *c = ve_curve_by_id(k->curve);
    const uint8_t *digest = op == VE_OP_SIGN ? rq->value : rq->digest;
    size_t digest_len = op == VE_OP_SIGN ? rq->value_len : rq->digest_len;
    if (digest_len != a->digest)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s signs a %zu-byte digest (got %zu bytes)",
                                  a->name, a->digest, digest_len);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    ECDSA_SIG *s = NULL;
    BIGNUM *r = NULL, *sv = NULL;
    uint8_t *der = NULL, rs[2 * 66];
    size_t der_len = 0;
    cloak_err rc = CLOAK_OK;
    if (!ctx) goto internal;
    if (op == VE_OP_SIGN) {
        if (EVP_PKEY_sign_init(ctx) != 1 ||
            EVP_PKEY_sign(ctx, NULL, &der_len, digest, digest_len) != 1 ||
            !(der = malloc(der_len)) || EVP_PKEY_sign(ctx, der, &der_len, digest, digest_len) != 1)
            goto internal;
        const uint8_t *p = der;
        if (!(s = d2i_ECDSA_SIG(NULL, &p, (long)der_len))) goto internal;
        const BIGNUM *sr, *ss;
        ECDSA_SIG_get0(s, &sr, &ss);
        if (BN_bn2binpad(sr, rs, (int)c->field) != (int)c->field ||
            BN_bn2binpad(ss, rs + c->field, (int)c->field) != (int)c->field)
            goto internal;
        reply(w, 0, rs, 2 * c->field, NULL, 0, NULL, 0);
        goto out;
    }
    /* verify: a signature of the wrong length does not verify */
    int v = 0;
    if (rq->value_len == 2 * c->field) {
        if (!(s = ECDSA_SIG_new()) || !(r = BN_bin2bn(rq->value, (int)c->field, NULL)) ||
            !(sv = BN_bin2bn(rq->value + c->field, (int)c->field, NULL)) ||
            ECDSA_SIG_set0(s, r, sv) != 1)
            goto internal;
        r = sv = NULL; /* owned by s */
        int l = i2d_ECDSA_SIG(s, &der);
        if (l <= 0 || EVP_PKEY_verify_init(ctx) != 1) goto internal;
        v = EVP_PKEY_verify(ctx, der, (size_t)l, digest, digest_len) == 1;
        OPENSSL_free(der);
        der = NULL;
    }
    reply(w, v, NULL, 0, NULL, 0, NULL, 0);
    goto out;
internal:
    rc = cloak_trusted_fail(CLOAK_EINTERNAL, "%s failed in OpenSSL", a->name);
out:
    if (op == VE_OP_SIGN)
        free(der);
    else
        OPENSSL_free(der);
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(s);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* ---- AES ---- */

static cloak_err aes_gcm(const ve_key *k, const alg_def *a, int op, const ve_req *rq, ve_out *w)
{
    int enc = op == VE_OP_ENCRYPT;
    uint8_t iv[12], tag[16];
    const uint8_t *ivp = iv;
    size_t iv_len = sizeof iv;
    if (rq->value_len > INT_MAX || rq->aad_len > INT_MAX)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s input too long", a->name);
    if (enc) {
        if (rq->iv_len || rq->tag_len)
            return cloak_trusted_fail(CLOAK_EINVAL,
                                      "%s encryption takes no iv or tag: the vault picks a random "
                                      "12-byte iv and returns it with the tag",
                                      a->name);
        if (cloak_trusted_random(iv, sizeof iv))
            return cloak_trusted_fail(CLOAK_EIO, "no randomness for the GCM iv");
    } else {
        if (rq->iv_len < 1 || rq->iv_len > 128)
            return cloak_trusted_fail(CLOAK_EINVAL,
                                      "%s decryption needs the iv (1 to 128 bytes; "
                                      "the vault uses 12)",
                                      a->name);
        if (rq->tag_len != 16)
            return cloak_trusted_fail(CLOAK_EINVAL,
                                      "%s decryption needs the 16-byte authentication tag (got "
                                      "%zu bytes)",
                                      a->name, rq->tag_len);
        ivp = rq->iv;
        iv_len = rq->iv_len;
        memcpy(tag, rq->tag, 16);
    }
    uint8_t *buf = malloc(rq->value_len ? rq->value_len : 1);
    if (!buf) return cloak_trusted_fail(CLOAK_ENOMEM, "out of memory");
    cloak_err rc = ve_gcm(enc, k->raw, k->raw_len, ivp, iv_len, rq->aad, rq->aad_len, rq->value,
                          rq->value_len, buf, tag);
    if (rc == CLOAK_EVERIFY)
        rc = cloak_trusted_fail(rc,
                                "%s decryption failed: the tag does not match (wrong key, iv, "
                                "aad, or altered ciphertext)",
                                a->name);
    else if (rc)
        rc = cloak_trusted_fail(rc, "%s failed in OpenSSL", a->name);
    else if (enc)
        reply(w, 0, buf, rq->value_len, iv, sizeof iv, tag, sizeof tag);
    else
        reply(w, 0, buf, rq->value_len, NULL, 0, NULL, 0);
    cloak_free_secret(buf, rq->value_len ? rq->value_len : 1);
    return rc;
}

static cloak_err aes_kw(const ve_key *k, const alg_def *a, int op, const ve_req *rq, ve_out *w)
{
    int wrap = op == VE_OP_ENCRYPT || op == VE_OP_WRAP, pad = a->f == F_KWP;
    size_t n = rq->value_len;
    if (rq->iv_len || rq->tag_len || rq->aad_len)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s takes no iv, aad or tag", a->name);
    /* RFC 3394 §2: at least two 64-bit blocks of key data; RFC 5649: 1 byte or more */
    if (!pad && (n % 8 || (wrap ? n < 16 : n < 24)))
        return cloak_trusted_fail(CLOAK_EINVAL,
                                  "%s %s takes a multiple of 8 bytes, at least %d (got %zu)",
                                  a->name, wrap ? "wrapping" : "unwrapping", wrap ? 16 : 24, n);
    if (pad && (wrap ? n < 1 : (n < 16 || n % 8)))
        return cloak_trusted_fail(CLOAK_EINVAL, "%s: bad input length %zu", a->name, n);
    if (n > INT_MAX - 16) return cloak_trusted_fail(CLOAK_EINVAL, "%s input too long", a->name);
    uint8_t *buf = malloc(n + 16);
    size_t out_len = 0;
    if (!buf) return cloak_trusted_fail(CLOAK_ENOMEM, "out of memory");
    cloak_err rc = ve_kw(wrap, pad, k->raw, k->raw_len, rq->value, n, buf, &out_len);
    if (rc == CLOAK_EVERIFY)
        rc = cloak_trusted_fail(rc,
                                "%s unwrapping failed: the integrity check does not match "
                                "(wrong key or altered data)",
                                a->name);
    else if (rc)
        rc = cloak_trusted_fail(rc, "%s failed", a->name);
    else
        reply(w, 0, buf, out_len, NULL, 0, NULL, 0);
    cloak_free_secret(buf, n + 16);
    return rc;
}

static cloak_err aes_cbc(const ve_key *k, const alg_def *a, int op, const ve_req *rq, ve_out *w)
{
    int enc = op == VE_OP_ENCRYPT, pad = a->f == F_CBCPAD;
    size_t n = rq->value_len;
    if (rq->iv_len != 16)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s needs a 16-byte iv (got %zu bytes)", a->name,
                                  rq->iv_len);
    if (rq->aad_len || rq->tag_len)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s takes no aad or tag", a->name);
    if ((!pad || !enc) && n % 16)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s %s takes a multiple of 16 bytes (got %zu)",
                                  a->name, enc ? "encryption" : "decryption", n);
    if (!enc && pad && n == 0)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s decryption of nothing", a->name);
    if (n > INT_MAX - 32) return cloak_trusted_fail(CLOAK_EINVAL, "%s input too long", a->name);
    uint8_t *buf = malloc(n + 16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l = 0, fin = 0;
    cloak_err rc = CLOAK_OK;
    if (!buf || !ctx ||
        EVP_CipherInit_ex(ctx, ve_cipher(VE_CBC, k->raw_len), NULL, k->raw, rq->iv, enc) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, pad) != 1 ||
        (n && EVP_CipherUpdate(ctx, buf, &l, rq->value, (int)n) != 1)) {
        rc = cloak_trusted_fail(CLOAK_EINTERNAL, "%s failed in OpenSSL", a->name);
    } else if (EVP_CipherFinal_ex(ctx, buf + l, &fin) != 1) {
        rc = cloak_trusted_fail(enc ? CLOAK_EINTERNAL : CLOAK_EVERIFY,
                                "%s decryption failed: bad padding (wrong key or iv, or altered "
                                "ciphertext)",
                                a->name);
    } else {
        reply(w, 0, buf, (size_t)l + (size_t)fin, NULL, 0, NULL, 0);
    }
    EVP_CIPHER_CTX_free(ctx);
    if (buf) cloak_free_secret(buf, n + 16);
    return rc;
}

cloak_err ve_crypt_key(const ve_key *k, int op, const char *alg, const ve_req *rq, ve_out *w)
{
    const alg_def *a = NULL;
    for (size_t i = 0; i < sizeof algs / sizeof *algs && !a; i++)
        if (!strcmp(algs[i].name, alg)) a = &algs[i];
    if (op < VE_OP_ENCRYPT || op > VE_OP_VERIFY)
        return cloak_trusted_fail(CLOAK_EINVAL, "unknown key operation %d", op);
    if (!a) return cloak_trusted_fail(CLOAK_EINVAL, "unknown algorithm \"%.40s\"", alg);
    if (a->key_type != k->type)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s is not an algorithm for %s keys", a->name,
                                  type_names[k->type]);
    if (!(a->ops & (1u << op)))
        return cloak_trusted_fail(CLOAK_EINVAL, "%s cannot be used to %s", a->name, op_names[op]);
    if (a->key_bits && a->key_bits != k->bits)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s needs a %u-bit key; this key has %u bits",
                                  a->name, a->key_bits, k->bits);
    if (a->curve && a->curve != k->curve)
        return cloak_trusted_fail(CLOAK_EINVAL, "%s needs a %s key; this key is on %s", a->name,
                                  ve_curve_by_id(a->curve)->jwk, ve_curve_by_id(k->curve)->jwk);
    if (op != VE_OP_VERIFY && rq->digest_len)
        return cloak_trusted_fail(CLOAK_EINVAL, "only verify takes a separate digest");
    switch (a->f) {
    case F_RSA_ENC:
        return rsa_crypt(k, a, op, rq, w);
    case F_RSA_PKCS1:
    case F_RSA_PSS:
        return rsa_sign(k, a, op, rq, w);
    case F_ECDSA:
        return ec_sign(k, a, op, rq, w);
    case F_GCM:
        return aes_gcm(k, a, op, rq, w);
    case F_KW:
    case F_KWP:
        return aes_kw(k, a, op, rq, w);
    case F_CBC:
    case F_CBCPAD:
        return aes_cbc(k, a, op, rq, w);
    }
    return cloak_trusted_fail(CLOAK_EINTERNAL, "no implementation for %s", a->name);
}

cloak_err ve_h_crypt(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                     size_t *out_len)
{
    ve_crypt_msg m;
    if (ve_parse_crypt(in, in_len, &m))
        return cloak_trusted_fail(CLOAK_EINVAL, "malformed CRYPT request");
    char name[VE_ALG_NAME_MAX];
    if (ve_alg_name(m.alg, m.alg_len, name))
        return cloak_trusted_fail(CLOAK_EINVAL, "unknown algorithm \"%.*s\"",
                                  (int)(m.alg_len > 40 ? 40 : m.alg_len), (const char *)m.alg);
    uint8_t op = m.op;
    const ve_req rq = m.rq;
    ve_key k;
    cloak_err rc = ve_blob_open(m.blob, m.blob_len, m.bind, m.bind_len, &k);
    if (rc) return rc;
    ve_out w = {out, 0, out_cap, 0};
    rc = ve_crypt_key(&k, op, name, &rq, &w);
    ve_key_clear(&k);
    return rc ? rc : ve_out_done(&w, out_len);
}
