/*
 * The SKR example enclave (examples/skr, product id 3): it receives a key from a vault by
 * Secure Key Release and uses it, without the key ever being visible to its host.
 *
 *   cloak_enclave_init   makes an RSA-2048 key-encryption key (KEK) here, inside, and the
 *                        runtime data {"keys":[{"kid":"skr-kek","kty":"RSA","key_ops":
 *                        ["encrypt"],"n","e"}]} naming its public half; then warms up OpenSSL
 *                        by opening a release it made itself (see warm_up).
 *   ecall_skr_evidence   the runtime data (exact bytes) + an SGX quote whose REPORTDATA is
 *                        SHA-256(runtime data) || 32 zero bytes. The attestation service
 *                        checks that binding and puts the KEK into the token's x-ms-runtime,
 *                        where the vault finds the key to wrap a release for.
 *   ecall_skr_open       verify the vault's release JWS, unwrap the key with the KEK and
 *                        decrypt a ciphertext with it (enclave_open.c); only the plaintext
 *                        leaves.
 *
 * Trust: the host is hostile. The KEK's private half never leaves this process; the host
 * cannot choose report data (cloak_trusted_allow_host_report_data is NOT called), so only this
 * code can bind a key into a quote. One KEK per enclave instance; it is read-only after init,
 * so concurrent calls are safe. Under the simulation backend the enclave is a sandboxed
 * process: this protects nothing against root (docs/ARCHITECTURE.md).
 */
#include "skr_t.h"

#include "cloak/trusted.h"
#include "enclave_int.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int skrx_fetch_algorithms(void); /* enclave_crypto.c */

static EVP_PKEY *g_kek;
static char *g_runtime; /* the runtime data JSON, NUL-terminated */
static size_t g_runtime_len;

EVP_PKEY *skrx_kek(void)
{
    return g_kek;
}

/* base64url of an RSA parameter (n or e), big-endian without leading zeros. */
static char *rsa_param_b64(const char *name)
{
    BIGNUM *bn = NULL;
    char *out = NULL;
    if (EVP_PKEY_get_bn_param(g_kek, name, &bn) != 1) return NULL;
    int n = BN_num_bytes(bn);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && BN_bn2bin(bn, b) == n) out = skrx_b64_encode(b, (size_t)n, 1);
    free(b);
    BN_free(bn);
    return out;
}

/* The KEK and the runtime data naming it. */
static int make_kek(void)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    int ok = c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) == 1 &&
             EVP_PKEY_keygen(c, &g_kek) == 1;
    EVP_PKEY_CTX_free(c);
    if (!ok) return -1;
    char *n = rsa_param_b64(OSSL_PKEY_PARAM_RSA_N), *e = rsa_param_b64(OSSL_PKEY_PARAM_RSA_E);
    /* jansson keeps insertion order: kid, kty, key_ops, n, e */
    json_t *rt = n && e ? json_pack("{s:[{s:s,s:s,s:[s],s:s,s:s}]}", "keys", "kid", SKRX_KEK_KID,
                                    "kty", "RSA", "key_ops", "encrypt", "n", n, "e", e)
                        : NULL;
    g_runtime = rt ? json_dumps(rt, JSON_COMPACT) : NULL;
    json_decref(rt);
    free(n);
    free(e);
    if (!g_runtime) return -1;
    g_runtime_len = strlen(g_runtime);
    return 0;
}

int ecall_skr_evidence(uint8_t *runtime, size_t rt_cap, size_t *rt_len, uint8_t *quote,
                       size_t quote_cap, size_t *quote_len)
{
    uint8_t rd[CLOAK_REPORT_DATA_BYTES] = {0}, *q = NULL;
    size_t ql = 0;
    unsigned int hl = 0;
    if (g_runtime_len > rt_cap)
        return cloak_trusted_fail(CLOAK_ERANGE, "the runtime data needs %zu bytes", g_runtime_len);
    if (EVP_Digest(g_runtime, g_runtime_len, rd, &hl, skrx_md("SHA256"), NULL) != 1 || hl != 32)
        return cloak_trusted_fail(CLOAK_EINTERNAL, "SHA-256 of the runtime data failed");
    cloak_err rc = cloak_trusted_get_evidence(rd, &q, &ql);
    if (rc) return rc;
    if (ql > quote_cap) {
        free(q);
        return cloak_trusted_fail(CLOAK_ERANGE, "the quote needs %zu bytes", ql);
    }
    memcpy(runtime, g_runtime, g_runtime_len);
    *rt_len = g_runtime_len;
    memcpy(quote, q, ql);
    *quote_len = ql;
    free(q);
    return CLOAK_OK;
}

int ecall_skr_open(const char *jws, const char *release_ca, const char *nonce, const char *alg,
                   const uint8_t *ct, size_t ct_len, const uint8_t *iv, size_t iv_len,
                   const uint8_t *tag, size_t tag_len, const uint8_t *aad, size_t aad_len,
                   uint8_t *pt, size_t pt_cap, size_t *pt_len, char *msg, size_t msg_cap)
{
    skrx_open_in in = {.jws = jws,
                       .release_ca = release_ca,
                       .nonce = nonce,
                       .alg = alg,
                       .ct = ct,
                       .ct_len = ct_len,
                       .iv = iv,
                       .iv_len = iv_len,
                       .tag = tag,
                       .tag_len = tag_len,
                       .aad = aad,
                       .aad_len = aad_len};
    return skrx_open_release(&in, pt, pt_cap, pt_len, msg, msg_cap);
}

/* ---- warm-up: open releases made here, so every OpenSSL path has run before the sandbox
 * closes (open() and new executable mappings kill the process afterwards) ---- */

/* A self-signed certificate for the KEK (the warm-up's "vault"): *pem and *x5c malloc'd. */
static int warm_cert(char **pem, char **x5c)
{
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    BIO *b = BIO_new(BIO_s_mem());
    uint8_t *der = NULL;
    int ok = x && nm && b && X509_set_version(x, X509_VERSION_3) == 1 &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
             X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
                                        (const unsigned char *)"skr warm-up", -1, -1, 0) == 1 &&
             X509_set_subject_name(x, nm) == 1 && X509_set_issuer_name(x, nm) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), 3600) && X509_set_pubkey(x, g_kek) == 1 &&
             X509_sign(x, g_kek, skrx_md("SHA256")) > 0 && PEM_write_bio_X509(b, x) == 1;
    int dl = ok ? i2d_X509(x, &der) : -1;
    char *p = NULL;
    long pl = ok ? BIO_get_mem_data(b, &p) : 0;
    *pem = ok && pl > 0 ? strndup(p, (size_t)pl) : NULL;
    *x5c = dl > 0 ? skrx_b64_encode(der, (size_t)dl, 0) : NULL;
    OPENSSL_free(der);
    BIO_free(b);
    X509_NAME_free(nm);
    X509_free(x);
    return *pem && *x5c ? 0 : -1;
}

static char *b64_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    char *out = s ? skrx_b64_encode((const uint8_t *)s, strlen(s), 1) : NULL;
    free(s);
    return out;
}

/* A release JWS wrapping `target` for the KEK, signed by the KEK. */
static char *warm_jws(const char *x5c, const char *kty, const char *enc, const uint8_t *target,
                      size_t target_len)
{
    uint8_t aes[32], wrapped[2048];
    size_t k = (size_t)EVP_PKEY_get_size(g_kek), ol = k, wl = 0, sl = 0;
    char *out = NULL, *ct = NULL, *kh = NULL, *h = NULL, *p = NULL, *in = NULL, *s = NULL;
    uint8_t sig[512];
    json_t *khj = NULL, *hj = NULL, *pj = NULL;
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    if (!mc || target_len + k + 16 > sizeof wrapped || RAND_bytes(aes, sizeof aes) != 1 ||
        skrx_oaep(1, g_kek, skrx_enc_md(enc), aes, sizeof aes, wrapped, &ol) || ol != k ||
        skrx_kwp(1, aes, target, target_len, wrapped + k, &wl))
        goto out;
    ct = skrx_b64_encode(wrapped, k + wl, 1);
    khj = json_pack("{s:s,s:{s:s,s:s,s:s},s:s}", "schema_version", "1.0", "header", "kid",
                    SKRX_KEK_KID, "alg", "dir", "enc", enc, "ciphertext", ct ? ct : "");
    kh = khj ? b64_json(khj) : NULL;
    hj = json_pack("{s:s,s:[s]}", "alg", "RS256", "x5c", x5c);
    pj = json_pack("{s:{s:s,s:s},s:{s:{s:{s:s,s:s}}}}", "request", "enc", enc, "nonce", "warm-up",
                   "response", "key", "key", "kty", kty, "key_hsm", kh ? kh : "");
    h = hj ? b64_json(hj) : NULL;
    p = pj ? b64_json(pj) : NULL;
    if (!h || !p || asprintf(&in, "%s.%s", h, p) < 0) {
        in = NULL;
        goto out;
    }
    sl = sizeof sig;
    if (EVP_DigestSignInit_ex(mc, NULL, "SHA256", NULL, NULL, g_kek, NULL) != 1 ||
        EVP_DigestSign(mc, sig, &sl, (const uint8_t *)in, strlen(in)) != 1 ||
        !(s = skrx_b64_encode(sig, sl, 1)) || asprintf(&out, "%s.%s", in, s) < 0)
        out = NULL;
out:
    OPENSSL_cleanse(aes, sizeof aes);
    EVP_MD_CTX_free(mc);
    json_decref(khj);
    json_decref(hj);
    json_decref(pj);
    free(ct);
    free(kh);
    free(h);
    free(p);
    free(in);
    free(s);
    return out;
}

/* One release opened through skrx_open_release, with a ciphertext made for `target`. */
static int warm_case(const char *pem, const char *x5c, const char *kty, const char *enc,
                     const char *alg, const uint8_t *target, size_t target_len)
{
    static const uint8_t msg[] = "warm-up message", iv[12] = {1, 2, 3};
    uint8_t ct[512], tag[16] = {0}, pt[512];
    size_t cl = sizeof ct, pl = 0;
    char why[256];
    int rc = -1;
    if (!strcmp(alg, "A256GCM")) {
        if (skrx_gcm(1, target, target_len, iv, sizeof iv, iv, 4, msg, sizeof msg, ct, tag))
            return -1;
        cl = sizeof msg;
    } else if (skrx_oaep(1, g_kek, skrx_md(strcmp(alg, "RSA-OAEP") ? "SHA256" : "SHA1"), msg,
                         sizeof msg, ct, &cl)) {
        return -1;
    }
    char *jws = warm_jws(x5c, kty, enc, target, target_len);
    skrx_open_in in = {.jws = jws,
                       .release_ca = pem,
                       .nonce = "warm-up",
                       .alg = alg,
                       .ct = ct,
                       .ct_len = cl,
                       .iv = iv,
                       .iv_len = sizeof iv,
                       .tag = tag,
                       .tag_len = 16,
                       .aad = iv,
                       .aad_len = 4};
    if (jws && skrx_open_release(&in, pt, sizeof pt, &pl, why, sizeof why) == CLOAK_OK &&
        pl == sizeof msg && !memcmp(pt, msg, pl))
        rc = 0;
    else
        cloak_trusted_log(CLOAK_LOG_ERROR, "skr enclave: warm-up %s/%s failed: %s", kty, alg,
                          jws ? why : "no JWS");
    free(jws);
    return rc;
}

static int warm_up(void)
{
    char *pem = NULL, *x5c = NULL;
    uint8_t oct[32], *pk8 = NULL, buf[48], tag[16];
    size_t pk8_len = 0;
    int rc = -1;
    json_decref(json_object()); /* jansson seeds its hash from /dev/urandom on first use */
    OSSL_ENCODER_CTX *ec =
        OSSL_ENCODER_CTX_new_for_pkey(g_kek, EVP_PKEY_KEYPAIR, "DER", "PrivateKeyInfo", NULL);
    if (!ec || OSSL_ENCODER_to_data(ec, &pk8, &pk8_len) != 1 || warm_cert(&pem, &x5c) ||
        RAND_bytes(oct, sizeof oct) != 1)
        goto out;
    /* the KEK itself plays the released RSA key */
    if (warm_case(pem, x5c, "oct-HSM", "CKM_RSA_AES_KEY_WRAP", "A256GCM", oct, sizeof oct) ||
        warm_case(pem, x5c, "RSA-HSM", "RSA_AES_KEY_WRAP_256", "RSA-OAEP-256", pk8, pk8_len) ||
        warm_case(pem, x5c, "RSA", "RSA_AES_KEY_WRAP_384", "RSA-OAEP", pk8, pk8_len))
        goto out;
    /* the other GCM sizes, and a tag that does not verify */
    for (size_t kl = 16; kl <= 32; kl += 8)
        if (skrx_gcm(1, oct, kl, oct, 12, NULL, 0, oct, 16, buf, tag) ||
            skrx_gcm(0, oct, kl, oct, 12, NULL, 0, buf, 16, buf, tag))
            goto out;
    tag[0] ^= 1;
    if (skrx_gcm(0, oct, 32, oct, 12, NULL, 0, buf, 16, buf, tag) != 1) goto out;
    rc = 0;
out:
    OSSL_ENCODER_CTX_free(ec);
    if (pk8) {
        OPENSSL_cleanse(pk8, pk8_len);
        OPENSSL_free(pk8);
    }
    OPENSSL_cleanse(oct, sizeof oct);
    OPENSSL_cleanse(buf, sizeof buf);
    free(pem);
    free(x5c);
    return rc;
}

cloak_err cloak_enclave_init(void)
{
    if (skrx_fetch_algorithms() || make_kek()) {
        cloak_trusted_log(CLOAK_LOG_ERROR, "skr enclave: OpenSSL could not make the KEK");
        return CLOAK_EINTERNAL;
    }
    if (warm_up()) return CLOAK_EINTERNAL;
    return skr_register_ecalls();
}
