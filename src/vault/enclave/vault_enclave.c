/*
 * The vault enclave: entry point, master key, backups, randomness, Secure Key Release, and the
 * plumbing the other files share (message cursor and writer, AES helpers, fetched algorithms).
 *
 * The vault master key (VMK, 32 random bytes) is made here on first start and leaves only
 * sealed to this enclave's signer (CLOAK_SEAL_MRSIGNER, AAD "cloak-vault master v1"). Two
 * AES-256-GCM keys are derived from it with HKDF-SHA256 (info "cloak-vault key-blob v1" and
 * "cloak-vault backup v1"); the VMK itself is wiped once they exist. It is set once per
 * enclave process: a second MASTER_CREATE/OPEN is refused, so a host cannot switch keys under
 * a running vault.
 *
 * Trust: the host is hostile. Every request is parsed with a bounds-checked cursor, and a reply
 * never grows past out_cap. OpenSSL runs inside the sandbox, which kills the process on open():
 * cloak_enclave_init fetches every algorithm and runs every code path once before the sandbox
 * closes (ve_warm_up_keys).
 */
#include "ve_int.h"
#include "vault_proto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/bn.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- reply writer (the codec is ve_msg.c) ---- */

cloak_err ve_out_done(const ve_out *w, size_t *out_len)
{
    if (w->failed)
        return cloak_trusted_fail(CLOAK_ERANGE,
                                  "the vault enclave's reply does not fit the %zu bytes the host "
                                  "offered",
                                  w->cap);
    *out_len = w->len;
    return CLOAK_OK;
}

/* ---- algorithms fetched once (read-only after cloak_enclave_init) ---- */

static EVP_CIPHER *ciphers[4][3]; /* [mode][16, 24, 32 bytes] */
static const char *const cipher_names[4][3] = {
    {"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"},
    {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"},
    {"AES-128-WRAP", "AES-192-WRAP", "AES-256-WRAP"},
    {"AES-128-WRAP-PAD", "AES-192-WRAP-PAD", "AES-256-WRAP-PAD"},
};
static const char *const md_names[] = {"SHA1", "SHA256", "SHA384", "SHA512"};
static EVP_MD *mds[4];

EVP_CIPHER *ve_cipher(ve_mode mode, size_t key_len)
{
    if ((unsigned)mode > VE_WRAP_PAD || (key_len != 16 && key_len != 24 && key_len != 32))
        return NULL;
    return ciphers[mode][(key_len - 16) / 8];
}

EVP_MD *ve_md(const char *name)
{
    for (size_t i = 0; i < sizeof md_names / sizeof *md_names; i++)
        if (!strcmp(name, md_names[i])) return mds[i];
    return NULL;
}

static int fetch_algorithms(void)
{
    for (int m = 0; m < 4; m++)
        for (int k = 0; k < 3; k++)
            if (!(ciphers[m][k] = EVP_CIPHER_fetch(NULL, cipher_names[m][k], NULL))) return -1;
    for (size_t i = 0; i < sizeof md_names / sizeof *md_names; i++)
        if (!(mds[i] = EVP_MD_fetch(NULL, md_names[i], NULL))) return -1;
    return 0;
}

cloak_err ve_gcm(int enc, const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
                 const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
                 uint8_t tag[16])
{
    EVP_CIPHER *c = ve_cipher(VE_GCM, key_len);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, ok = c && ctx && iv_len > 0 && in_len <= INT_MAX && aad_len <= INT_MAX;
    ok = ok && EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) == 1 &&
         EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, enc) == 1;
    if (ok && aad_len) ok = EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1;
    if (ok && in_len) ok = EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) == 1;
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    cloak_err rc = ok ? CLOAK_OK : CLOAK_EINTERNAL;
    if (ok) {
        uint8_t none[16];
        int fin = 0;
        if (EVP_CipherFinal_ex(ctx, in_len ? out + n : none, &fin) != 1)
            rc = enc ? CLOAK_EINTERNAL : CLOAK_EVERIFY;
        else if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
            rc = CLOAK_EINTERNAL;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (rc == CLOAK_EVERIFY && in_len) OPENSSL_cleanse(out, in_len);
    return rc;
}

cloak_err ve_kw(int wrap, int pad, const uint8_t *key, size_t key_len, const uint8_t *in,
                size_t in_len, uint8_t *out, size_t *out_len)
{
    EVP_CIPHER *c = ve_cipher(pad ? VE_WRAP_PAD : VE_WRAP, key_len);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    cloak_err rc = CLOAK_EINTERNAL;
    if (!c || !ctx || in_len > INT_MAX) goto out;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_CipherInit_ex(ctx, c, NULL, key, NULL, wrap) != 1) goto out;
    if (EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1 ||
        EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) {
        rc = wrap ? CLOAK_EINVAL : CLOAK_EVERIFY;
        goto out;
    }
    *out_len = (size_t)n + (size_t)fin;
    rc = CLOAK_OK;
out:
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* ---- master key ---- */

static pthread_mutex_t master_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t blob_key[32], backup_key[32];
static atomic_int master_ready;

const uint8_t *ve_blob_key(void)
{
    return atomic_load_explicit(&master_ready, memory_order_acquire) ? blob_key : NULL;
}

const uint8_t *ve_backup_key(void)
{
    return atomic_load_explicit(&master_ready, memory_order_acquire) ? backup_key : NULL;
}

/* HKDF-SHA256 (RFC 5869), no salt. */
static int hkdf(const uint8_t vmk[32], const char *info, uint8_t out[32])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)vmk, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    int ok = ctx && EVP_KDF_derive(ctx, out, 32, p) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

/* Derive the sub-keys and publish them; the caller holds master_lock. */
static cloak_err master_set(const uint8_t vmk[32])
{
    if (hkdf(vmk, VE_INFO_BLOB, blob_key) || hkdf(vmk, VE_INFO_BACKUP, backup_key)) {
        OPENSSL_cleanse(blob_key, sizeof blob_key);
        OPENSSL_cleanse(backup_key, sizeof backup_key);
        return cloak_trusted_fail(CLOAK_EINTERNAL, "deriving the vault's sub-keys failed");
    }
    atomic_store_explicit(&master_ready, 1, memory_order_release);
    return CLOAK_OK;
}

static cloak_err h_master_create(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                 size_t *out_len)
{
    if (in_len) return cloak_trusted_fail(CLOAK_EINVAL, "MASTER_CREATE takes no input");
    uint8_t vmk[32], *sealed = NULL;
    size_t sealed_len = 0;
    cloak_err rc;
    pthread_mutex_lock(&master_lock);
    if (atomic_load(&master_ready)) {
        rc = cloak_trusted_fail(CLOAK_EPERM, "this vault enclave already holds a master key");
        goto out;
    }
    if ((rc = cloak_trusted_random(vmk, sizeof vmk))) {
        rc = cloak_trusted_fail(rc, "no randomness for the master key");
        goto out;
    }
    rc = cloak_trusted_seal(CLOAK_SEAL_MRSIGNER, (const uint8_t *)VE_MASTER_AAD,
                            strlen(VE_MASTER_AAD), vmk, sizeof vmk, &sealed, &sealed_len);
    if (rc) {
        rc = cloak_trusted_fail(rc, "sealing the master key failed (%s)", cloak_err_name(rc));
        goto out;
    }
    if (sealed_len > out_cap) {
        rc = cloak_trusted_fail(CLOAK_ERANGE, "the sealed master key (%zu bytes) does not fit",
                                sealed_len);
        goto out;
    }
    /* Only a key the host can store is committed. */
    if ((rc = master_set(vmk))) goto out;
    memcpy(out, sealed, sealed_len);
    *out_len = sealed_len;
out:
    pthread_mutex_unlock(&master_lock);
    OPENSSL_cleanse(vmk, sizeof vmk);
    free(sealed);
    return rc;
}

static cloak_err h_master_open(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    uint8_t *vmk = NULL, *aad = NULL;
    size_t vmk_len = 0, aad_len = 0;
    cloak_err rc;
    pthread_mutex_lock(&master_lock);
    if (atomic_load(&master_ready)) {
        rc = cloak_trusted_fail(CLOAK_EPERM, "this vault enclave already holds a master key");
        goto out;
    }
    rc = cloak_trusted_unseal(in, in_len, &vmk, &vmk_len, &aad, &aad_len);
    if (rc) {
        rc = cloak_trusted_fail(rc == CLOAK_EPERM ? CLOAK_EPERM : CLOAK_EVERIFY,
                                "the sealed master key does not unseal in this enclave (%s): it "
                                "was sealed by another signer or product, by a newer enclave "
                                "version, or on another platform",
                                cloak_err_name(rc));
        goto out;
    }
    if (aad_len != strlen(VE_MASTER_AAD) || CRYPTO_memcmp(aad, VE_MASTER_AAD, aad_len) ||
        vmk_len != 32) {
        rc = cloak_trusted_fail(CLOAK_EVERIFY, "the sealed blob is not a vault master key");
        goto out;
    }
    rc = master_set(vmk);
    *out_len = 0;
out:
    pthread_mutex_unlock(&master_lock);
    if (vmk) cloak_free_secret(vmk, vmk_len);
    free(aad);
    return rc;
}

/* ---- backups ---- */

static cloak_err h_backup_seal(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    const uint8_t *key = ve_backup_key();
    if (!key) return cloak_trusted_fail(CLOAK_EPERM, "the vault master key is not loaded");
    if (in_len > INT_MAX || out_cap < VE_BACKUP_OVERHEAD || out_cap - VE_BACKUP_OVERHEAD < in_len)
        return cloak_trusted_fail(CLOAK_ERANGE, "a sealed backup of %zu bytes does not fit",
                                  in_len);
    memcpy(out, VE_BACKUP_MAGIC, 4);
    if (cloak_trusted_random(out + 4, 12))
        return cloak_trusted_fail(CLOAK_EIO, "no randomness for the backup iv");
    uint8_t *ct = out + 16, *tag = ct + in_len;
    cloak_err rc = ve_gcm(1, key, 32, out + 4, 12, out, 4, in, in_len, ct, tag);
    if (rc) return cloak_trusted_fail(rc, "sealing the backup failed");
    *out_len = in_len + VE_BACKUP_OVERHEAD;
    return CLOAK_OK;
}

static cloak_err h_backup_open(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    const uint8_t *key = ve_backup_key();
    if (!key) return cloak_trusted_fail(CLOAK_EPERM, "the vault master key is not loaded");
    if (in_len < VE_BACKUP_OVERHEAD || memcmp(in, VE_BACKUP_MAGIC, 4))
        return cloak_trusted_fail(CLOAK_EVERIFY, "not a sealed vault backup (bad header)");
    size_t n = in_len - VE_BACKUP_OVERHEAD;
    if (n > out_cap || n > INT_MAX)
        return cloak_trusted_fail(CLOAK_ERANGE, "a backup of %zu bytes does not fit", n);
    uint8_t tag[16];
    memcpy(tag, in + 16 + n, 16);
    cloak_err rc = ve_gcm(0, key, 32, in + 4, 12, in, 4, in + 16, n, out, tag);
    if (rc == CLOAK_EVERIFY)
        return cloak_trusted_fail(rc, "the backup does not authenticate under this vault's master "
                                      "key (tampered, or made by another vault)");
    if (rc) return cloak_trusted_fail(rc, "opening the backup failed");
    *out_len = n;
    return CLOAK_OK;
}

/* ---- randomness, scrub ---- */

static cloak_err h_random(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len)
{
    uint32_t n = 0;
    if (ve_parse_random(in, in_len, &n))
        return cloak_trusted_fail(CLOAK_EINVAL, "RANDOM takes one u32 length");
    if (n > VE_MAX_RANDOM)
        return cloak_trusted_fail(CLOAK_EINVAL, "at most %u random bytes per call (asked %u)",
                                  VE_MAX_RANDOM, n);
    if (n > out_cap) return cloak_trusted_fail(CLOAK_ERANGE, "%u random bytes do not fit", n);
    if (cloak_trusted_random(out, n)) return cloak_trusted_fail(CLOAK_EIO, "getrandom failed");
    *out_len = n;
    return CLOAK_OK;
}

static cloak_err h_scrub(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                         size_t *out_len)
{
    *out_len = 0;
    return CLOAK_OK;
}

/* ---- Secure Key Release ---- */

/* An RSA public key from n and e (big-endian), built with OpenSSL's parameter API. */
static EVP_PKEY *rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL), *be = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pk = NULL;
    if (!bld || !bn || !be || !ctx || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn);
    BN_free(be);
    return pk;
}

/* out = RSA-OAEP(kek, fresh AES-256 key) || AES-KWP(that key, target) (Key Vault's BYOK
 * CKM_RSA_AES_KEY_WRAP). target: PKCS#8 DER for RSA and EC, the raw key for oct. */
cloak_err ve_h_release(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    ve_release_msg m;
    if (ve_parse_release(in, in_len, &m))
        return cloak_trusted_fail(CLOAK_EINVAL, "malformed RELEASE request");
    const uint8_t *blob = m.blob, *bind = m.bind, *kn = m.kek_n, *ke = m.kek_e, *enc = m.enc;
    size_t blob_len = m.blob_len, bind_len = m.bind_len, kn_len = m.kek_n_len, ke_len = m.kek_e_len,
           enc_len = m.enc_len;
    static const struct {
        const char *name, *md;
    } encs[] = {{"CKM_RSA_AES_KEY_WRAP", "SHA1"},
                {"RSA_AES_KEY_WRAP_256", "SHA256"},
                {"RSA_AES_KEY_WRAP_384", "SHA384"}};
    EVP_MD *md = NULL;
    for (size_t i = 0; i < sizeof encs / sizeof *encs; i++)
        if (enc_len == strlen(encs[i].name) && !memcmp(enc, encs[i].name, enc_len))
            md = ve_md(encs[i].md);
    if (!md)
        return cloak_trusted_fail(CLOAK_EINVAL,
                                  "unknown release enc \"%.*s\" (CKM_RSA_AES_KEY_WRAP, "
                                  "RSA_AES_KEY_WRAP_256, RSA_AES_KEY_WRAP_384)",
                                  (int)(enc_len > 40 ? 40 : enc_len), (const char *)enc);
    EVP_PKEY *kek = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    uint8_t aes[32], *target = NULL;
    size_t target_len = 0;
    int type = 0;
    cloak_err rc;
    /* n of 2048..16384 bits (no leading zero byte), odd; e odd, at least 3, at most 64 bits */
    if (kn_len < 256 || kn_len > 2048 || !kn[0] || !(kn[kn_len - 1] & 1) || ke_len < 1 ||
        ke_len > 8 || !(ke[ke_len - 1] & 1) || (ke_len == 1 && ke[0] < 3) ||
        (kek = rsa_public(kn, kn_len, ke, ke_len)) == NULL) {
        rc = cloak_trusted_fail(CLOAK_EINVAL, "the release key-encryption key must be an RSA "
                                              "public key of 2048 to 16384 bits");
        goto out;
    }
    if ((rc = ve_blob_plaintext(blob, blob_len, bind, bind_len, &type, &target, &target_len)))
        goto out;
    size_t k = (size_t)EVP_PKEY_get_size(kek), wrapped_len = 0, ct_len = k;
    if (out_cap < k || out_cap - k < target_len + 16) {
        rc = cloak_trusted_fail(CLOAK_ERANGE, "the released key does not fit the reply");
        goto out;
    }
    if (cloak_trusted_random(aes, sizeof aes)) {
        rc = cloak_trusted_fail(CLOAK_EIO, "no randomness for the release key");
        goto out;
    }
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, kek, NULL);
    if (!pctx || EVP_PKEY_encrypt_init(pctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
        EVP_PKEY_encrypt(pctx, out, &ct_len, aes, sizeof aes) != 1 || ct_len != k) {
        rc = cloak_trusted_fail(CLOAK_EINVAL, "RSA-OAEP encryption for the key-encryption key "
                                              "failed");
        goto out;
    }
    if ((rc = ve_kw(1, 1, aes, sizeof aes, target, target_len, out + k, &wrapped_len))) {
        rc = cloak_trusted_fail(rc, "AES key wrap of the released key failed");
        goto out;
    }
    *out_len = k + wrapped_len;
out:
    OPENSSL_cleanse(aes, sizeof aes);
    if (target) cloak_free_secret(target, target_len);
    EVP_PKEY_CTX_free(pctx);
    EVP_PKEY_free(kek);
    return rc;
}

/* ---- start-up ---- */

static int warm_up_master(void)
{
    uint8_t vmk[32] = {1}, k[32], tag[16], buf[32];
    int rc = hkdf(vmk, VE_INFO_BLOB, k);
    rc |= ve_gcm(1, k, 32, vmk, 12, vmk, 4, vmk, 32, buf, tag) ? -1 : 0;
    rc |= ve_gcm(0, k, 32, vmk, 12, vmk, 4, buf, 32, buf, tag) ? -1 : 0;
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

cloak_err cloak_enclave_init(void)
{
    if (fetch_algorithms() || warm_up_master()) {
        cloak_trusted_log(CLOAK_LOG_ERROR, "vault enclave: OpenSSL algorithms are missing");
        return CLOAK_EINTERNAL;
    }
    cloak_err rc = ve_warm_up_keys();
    if (rc) {
        cloak_trusted_log(CLOAK_LOG_ERROR, "vault enclave: warming up OpenSSL failed: %s",
                          cloak_err_name(rc));
        return rc;
    }
    static const struct {
        uint32_t fid;
        cloak_ecall_fn fn;
    } table[] = {
        {VE_FID_MASTER_CREATE, h_master_create},
        {VE_FID_MASTER_OPEN, h_master_open},
        {VE_FID_GENERATE, ve_h_generate},
        {VE_FID_IMPORT, ve_h_import},
        {VE_FID_CRYPT, ve_h_crypt},
        {VE_FID_RELEASE, ve_h_release},
        {VE_FID_BACKUP_SEAL, h_backup_seal},
        {VE_FID_BACKUP_OPEN, h_backup_open},
        {VE_FID_RANDOM, h_random},
        {VE_FID_SCRUB, h_scrub},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if ((rc = cloak_trusted_register(table[i].fid, table[i].fn))) return rc;
    return CLOAK_OK;
}
