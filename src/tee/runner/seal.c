/*
 * Sealing (cloak/trusted.h). Blob layout, version 1 (little-endian):
 *   0   8   magic "CLKSEAL1"
 *   8   1   policy (1 = MRENCLAVE, 2 = MRSIGNER)
 *   9   1   flags (bit 0: sealed by a debug enclave)
 *   10  2   product id (MRSIGNER policy; 0 otherwise)
 *   12  2   key svn (MRSIGNER policy: the sealer's svn; 0 otherwise)
 *   14  2   reserved, zero
 *   16  32  identity: MRENCLAVE or MRSIGNER
 *   48  32  key id (random per blob)
 *   80  12  AES-GCM IV (random)
 *   92  4   aad length A
 *   96  A   aad
 *   ..  P   ciphertext
 *   ..  16  GCM tag
 * Key = HKDF-SHA256(platform seal secret, salt "cloak-seal-v1",
 *                   info "cloak-seal-key-v1" | bytes [8, 80) of the header)
 * so the policy, debug flag, product id, svn, identity and key id select the key, and the GCM
 * associated data is the whole header plus the aad (bytes [0, 96 + A)).
 * Like SGX's EGETKEY, an enclave may derive the key of its own svn or any lower one, never a
 * higher one: that is the rollback protection.
 */
#include "tee/runner/runner.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define SEAL_MAGIC "CLKSEAL1"
#define SEAL_HDR 96u
#define SEAL_TAG 16u
#define SEAL_IV 12u

static cloak_err derive(const uint8_t *hdr, uint8_t key[32])
{
    static const char label[] = "cloak-seal-key-v1";
    uint8_t info[sizeof label - 1 + 72];
    memcpy(info, label, sizeof label - 1);
    memcpy(info + sizeof label - 1, hdr + 8, 72);
    cloak_error why;
    return cloak_platform_seal_key(g_runner.platform, info, sizeof info, key, &why);
}

/* AES-256-GCM; enc=1 encrypts in place into out, enc=0 decrypts and checks the tag. */
static cloak_err gcm(int enc, const uint8_t key[32], const uint8_t *iv, const uint8_t *aad,
                     size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    cloak_err rc = CLOAK_EINTERNAL;
    int n;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return CLOAK_ENOMEM;
    if (!EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc)) goto out;
    if (aad_len > INT32_MAX || len > INT32_MAX) goto out;
    if (!EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len)) goto out;
    if (len && !EVP_CipherUpdate(c, out, &n, in, (int)len)) goto out;
    if (!enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag)) goto out;
    if (!EVP_CipherFinal_ex(c, out + len, &n)) {
        rc = CLOAK_EVERIFY;
        goto out;
    }
    if (enc && !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag)) goto out;
    rc = CLOAK_OK;
out:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

cloak_err cloak_trusted_seal(cloak_seal_policy policy, const uint8_t *aad, size_t aad_len,
                             const uint8_t *pt, size_t pt_len, uint8_t **blob, size_t *blob_len)
{
    if ((policy != CLOAK_SEAL_MRENCLAVE && policy != CLOAK_SEAL_MRSIGNER) || !blob || !blob_len ||
        (aad_len && !aad) || (pt_len && !pt) || aad_len > (1u << 30) || pt_len > (1u << 30))
        return cloak_trusted_fail(CLOAK_EINVAL, "seal: bad policy or buffers");
    size_t total = SEAL_HDR + aad_len + pt_len + SEAL_TAG;
    uint8_t *b = calloc(1, total), key[32];
    if (!b) return CLOAK_ENOMEM;
    memcpy(b, SEAL_MAGIC, 8);
    b[8] = (uint8_t)policy;
    b[9] = g_runner.id.debug ? 1 : 0;
    if (policy == CLOAK_SEAL_MRSIGNER) {
        cloak_put_u16le(b + 10, g_runner.id.product_id);
        cloak_put_u16le(b + 12, g_runner.id.svn);
        memcpy(b + 16, g_runner.id.mrsigner, 32);
    } else {
        memcpy(b + 16, g_runner.id.mrenclave, 32);
    }
    cloak_err rc = cloak_trusted_random(b + 48, 32 + SEAL_IV);
    if (rc) goto out;
    cloak_put_u32le(b + 92, (uint32_t)aad_len);
    if (aad_len) memcpy(b + SEAL_HDR, aad, aad_len);
    rc = derive(b, key);
    if (rc) goto out;
    rc = gcm(1, key, b + 80, b, SEAL_HDR + aad_len, pt, pt_len, b + SEAL_HDR + aad_len,
             b + SEAL_HDR + aad_len + pt_len);
out:
    OPENSSL_cleanse(key, sizeof key);
    if (rc) {
        free(b);
        return cloak_trusted_fail(rc, "seal failed");
    }
    *blob = b;
    *blob_len = total;
    return CLOAK_OK;
}

cloak_err cloak_trusted_unseal(const uint8_t *blob, size_t blob_len, uint8_t **pt, size_t *pt_len,
                               uint8_t **aad_out, size_t *aad_len_out)
{
    if (!blob || !pt || !pt_len) return cloak_trusted_fail(CLOAK_EINVAL, "unseal: missing buffers");
    if (blob_len < SEAL_HDR + SEAL_TAG || memcmp(blob, SEAL_MAGIC, 8))
        return cloak_trusted_fail(CLOAK_EINVAL, "not a sealed blob (bad magic or too short)");
    uint8_t policy = blob[8], flags = blob[9];
    uint16_t prodid = cloak_get_u16le(blob + 10), svn = cloak_get_u16le(blob + 12);
    size_t aad_len = cloak_get_u32le(blob + 92);
    if ((policy != CLOAK_SEAL_MRENCLAVE && policy != CLOAK_SEAL_MRSIGNER) || (flags & ~1u) ||
        cloak_get_u16le(blob + 14) || aad_len > blob_len - SEAL_HDR - SEAL_TAG)
        return cloak_trusted_fail(CLOAK_EINVAL, "sealed blob header is malformed");
    if ((flags & 1) != (g_runner.id.debug ? 1 : 0))
        return cloak_trusted_fail(CLOAK_EVERIFY, "blob was sealed by a %s enclave; this one is %s",
                                  flags & 1 ? "debug" : "production",
                                  g_runner.id.debug ? "debug" : "production");
    if (policy == CLOAK_SEAL_MRENCLAVE) {
        if (prodid || svn || CRYPTO_memcmp(blob + 16, g_runner.id.mrenclave, 32))
            return cloak_trusted_fail(CLOAK_EVERIFY,
                                      "blob is sealed to another enclave's measurement");
    } else {
        if (CRYPTO_memcmp(blob + 16, g_runner.id.mrsigner, 32) || prodid != g_runner.id.product_id)
            return cloak_trusted_fail(CLOAK_EVERIFY,
                                      "blob is sealed to another signer or product id");
        if (svn > g_runner.id.svn)
            return cloak_trusted_fail(CLOAK_EPERM,
                                      "blob was sealed at svn %u and this enclave has svn %u: "
                                      "an older version may not open a newer one's data",
                                      svn, g_runner.id.svn);
    }
    size_t ct_len = blob_len - SEAL_HDR - aad_len - SEAL_TAG;
    uint8_t key[32], tag[SEAL_TAG];
    uint8_t *p = malloc(ct_len + 16), *a = NULL; /* GCM final may write nothing, keep slack */
    if (!p) return CLOAK_ENOMEM;
    memcpy(tag, blob + blob_len - SEAL_TAG, SEAL_TAG);
    cloak_err rc = derive(blob, key);
    if (!rc)
        rc = gcm(0, key, blob + 80, blob, SEAL_HDR + aad_len, blob + SEAL_HDR + aad_len, ct_len, p,
                 tag);
    OPENSSL_cleanse(key, sizeof key);
    if (rc) {
        cloak_free_secret(p, ct_len + 16);
        return cloak_trusted_fail(rc == CLOAK_EVERIFY ? CLOAK_EVERIFY : rc,
                                  "sealed blob does not authenticate: it was modified or sealed on "
                                  "another platform");
    }
    if (aad_out) {
        a = malloc(aad_len ? aad_len : 1);
        if (!a) {
            cloak_free_secret(p, ct_len + 16);
            return CLOAK_ENOMEM;
        }
        if (aad_len) memcpy(a, blob + SEAL_HDR, aad_len);
        *aad_out = a;
        if (aad_len_out) *aad_len_out = aad_len;
    }
    *pt = p;
    *pt_len = ct_len;
    return CLOAK_OK;
}

int runner_warm_up(void)
{
    /* fetch the KDF and cipher implementations now: the sandbox forbids opening files later */
    uint8_t key[32], tag[16], out[32], in[16] = {0};
    if (derive((const uint8_t *)"warm-up-header-bytes-warm-up-header-bytes-warm-up-header-bytes-"
                                "warm-up-header-bytes-warm-up",
               key))
        return -1;
    int rc = gcm(1, key, in, in, 16, in, 16, out, tag) ? -1 : 0;
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}
