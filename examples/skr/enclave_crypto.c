/*
 * SKR example enclave: the OpenSSL and base64 helpers (see enclave_int.h). Everything here is
 * OpenSSL's EVP API; base64 is OpenSSL's encoder with the URL alphabet swapped in and a strict
 * alphabet check on input (the enclave links nothing of libcloak's but the runtime calls).
 *
 * Trust: inputs come from the host and are checked for length before use; secrets in local
 * buffers are wiped with OPENSSL_cleanse.
 */
#include "enclave_int.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/rsa.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- base64 ---- */

char *skrx_b64_encode(const uint8_t *p, size_t n, int url)
{
    if (n > INT_MAX / 2) return NULL;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out) return NULL;
    int m = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    if (url) {
        while (m > 0 && out[m - 1] == '=')
            m--;
        out[m] = 0;
        for (int i = 0; i < m; i++)
            out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    return out;
}

static int b64_char(char c, int url)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return 1;
    return url ? (c == '-' || c == '_') : (c == '+' || c == '/');
}

int skrx_b64_decode(const char *s, size_t len, int url, uint8_t **out, size_t *out_len)
{
    size_t pad = 0;
    *out = NULL;
    *out_len = 0;
    if (!url)
        while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
            pad++;
    size_t body = len - pad;
    if (len > INT_MAX / 2 || (!url && len % 4) || body % 4 == 1) return -1;
    for (size_t i = 0; i < body; i++)
        if (!b64_char(s[i], url)) return -1;
    size_t full = (body + 3) / 4 * 4, extra = full - body; /* '=' to add for the decoder */
    char *t = malloc(full + 1);
    uint8_t *o = malloc(full / 4 * 3 + 1);
    if (!t || !o) {
        free(t);
        free(o);
        return -1;
    }
    for (size_t i = 0; i < body; i++)
        t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    memset(t + body, '=', extra);
    int m = full ? EVP_DecodeBlock(o, (const unsigned char *)t, (int)full) : 0;
    OPENSSL_cleanse(t, full);
    free(t);
    if (m < 0 || (size_t)m < extra) {
        free(o);
        return -1;
    }
    *out_len = (size_t)m - extra;
    o[*out_len] = 0;
    *out = o;
    return 0;
}

/* ---- algorithms, fetched by skrx_warm_up (enclave.c) before the sandbox closes ---- */

static EVP_MD *mds[3];
static const char *const md_names[3] = {"SHA1", "SHA256", "SHA384"};
static EVP_CIPHER *gcm[3], *kwp;

int skrx_fetch_algorithms(void);
int skrx_fetch_algorithms(void)
{
    static const char *const gcm_names[3] = {"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"};
    for (int i = 0; i < 3; i++)
        if (!(mds[i] = EVP_MD_fetch(NULL, md_names[i], NULL)) ||
            !(gcm[i] = EVP_CIPHER_fetch(NULL, gcm_names[i], NULL)))
            return -1;
    return (kwp = EVP_CIPHER_fetch(NULL, "AES-256-WRAP-PAD", NULL)) ? 0 : -1;
}

EVP_MD *skrx_md(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, md_names[i])) return mds[i];
    return NULL;
}

EVP_MD *skrx_enc_md(const char *enc)
{
    if (!enc) return NULL;
    if (!strcmp(enc, "CKM_RSA_AES_KEY_WRAP")) return skrx_md("SHA1");
    if (!strcmp(enc, "RSA_AES_KEY_WRAP_256")) return skrx_md("SHA256");
    if (!strcmp(enc, "RSA_AES_KEY_WRAP_384")) return skrx_md("SHA384");
    return NULL;
}

/* ---- RSA-OAEP, AES key wrap with padding, AES-GCM ---- */

int skrx_oaep(int enc, EVP_PKEY *pk, EVP_MD *md, const uint8_t *in, size_t in_len, uint8_t *out,
              size_t *out_len)
{
    EVP_PKEY_CTX *c = md ? EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL) : NULL;
    int ok = c && (enc ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(c, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) == 1;
    ok = ok && (enc ? EVP_PKEY_encrypt(c, out, out_len, in, in_len)
                    : EVP_PKEY_decrypt(c, out, out_len, in, in_len)) == 1;
    EVP_PKEY_CTX_free(c);
    return ok ? 0 : -1;
}

int skrx_kwp(int wrap, const uint8_t key[32], const uint8_t *in, size_t in_len, uint8_t *out,
             size_t *out_len)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok = c && in_len <= INT_MAX / 2;
    if (ok) EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    ok = ok && EVP_CipherInit_ex(c, kwp, NULL, key, NULL, wrap) == 1 &&
         EVP_CipherUpdate(c, out, &n, in, (int)in_len) == 1 &&
         EVP_CipherFinal_ex(c, out + n, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (ok) *out_len = (size_t)n + (size_t)fin;
    return ok ? 0 : -1;
}

int skrx_gcm(int enc, const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
             const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
             uint8_t tag[16])
{
    EVP_CIPHER *ci = key_len == 16   ? gcm[0]
                     : key_len == 24 ? gcm[1]
                     : key_len == 32 ? gcm[2]
                                     : NULL;
    EVP_CIPHER_CTX *c = ci ? EVP_CIPHER_CTX_new() : NULL;
    int n = 0, fin = 0, rc = -1;
    uint8_t none[16];
    if (!c || !iv_len || iv_len > 64 || in_len > INT_MAX || aad_len > INT_MAX) goto out;
    if (EVP_CipherInit_ex(c, ci, NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) != 1)
        goto out;
    if (aad_len && EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) != 1) goto out;
    n = 0;
    if (in_len && EVP_CipherUpdate(c, out, &n, in, (int)in_len) != 1) goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1) goto out;
    if (EVP_CipherFinal_ex(c, in_len ? out + n : none, &fin) != 1) {
        rc = enc ? -1 : 1;
        goto out;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    if (rc && !enc && in_len) OPENSSL_cleanse(out, in_len);
    return rc;
}

EVP_PKEY *skrx_pkcs8_rsa(const uint8_t *der, size_t len)
{
    EVP_PKEY *pk = NULL;
    const unsigned char *p = der;
    size_t left = len;
    OSSL_DECODER_CTX *c = OSSL_DECODER_CTX_new_for_pkey(&pk, "DER", "PrivateKeyInfo", "RSA",
                                                        EVP_PKEY_KEYPAIR, NULL, NULL);
    if (!c || OSSL_DECODER_CTX_get_num_decoders(c) == 0 ||
        OSSL_DECODER_from_data(c, &p, &left) != 1 || left != 0) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    OSSL_DECODER_CTX_free(c);
    return pk;
}
