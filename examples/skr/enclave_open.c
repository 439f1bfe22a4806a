/*
 * SKR example enclave: open a Secure Key Release answer inside the enclave and use the key.
 *
 *   JWS (compact, RS256)  header {"alg":"RS256","x5c":[leaf, intermediates...],...}
 *                         payload {"request":{"enc","nonce"?,...},
 *                                  "response":{"key":{"kty",...,"key_hsm":b64url(JSON)}}}
 *   key_hsm               {"header":{"kid":"skr-kek","enc"},"ciphertext":b64url(
 *                            RSA-OAEP(KEK, AES-256 key) || AES-KWP (RFC 5649)(AES key, target))}
 *   target                raw key bytes (oct) or PKCS#8 DER (RSA)
 *
 * OAEP uses SHA-1 for CKM_RSA_AES_KEY_WRAP, SHA-256 / SHA-384 for RSA_AES_KEY_WRAP_256 / _384
 * (both the label hash and MGF1), as src/vault/enclave/vault_enclave.c makes it.
 *
 * Trust: the host is hostile and so is the JWS until checked. The JWS is believed only when
 * its x5c leaf chains (X509_verify_cert, partial chains allowed so that a pinned leaf works)
 * to a certificate in `release_ca` and its RS256 signature verifies with that leaf's key.
 * WHICH certificate to trust is the caller's decision: the host passes the vault's release
 * certificate or CA (a vault's DATA_DIR/release.pem is self-signed, so it is its own anchor).
 * A host that passes its own CA can of course make the enclave accept its own "release" --
 * but it can only hand the enclave a key the host already knows, never learn the vault's key:
 * that key arrives wrapped for the KEK, whose private half never leaves this enclave. A real
 * deployment compiles the vault's CA into the enclave (it is then part of MRENCLAVE).
 * When the host passes a nonce, the payload's request.nonce must equal it (freshness).
 * The released key and the transport key are wiped after use; only the plaintext goes out.
 */
#include "enclave_int.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_X5C 8

typedef struct {
    char *msg;
    size_t cap;
} why_buf;

static cloak_err fail(why_buf *w, cloak_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cloak_err fail(why_buf *w, cloak_err code, const char *fmt, ...)
{
    if (w->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->msg, w->cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A base64url segment of the JWS, parsed as a JSON object. */
static json_t *segment_json(const char *s, size_t len)
{
    uint8_t *p = NULL;
    size_t n = 0;
    if (skrx_b64_decode(s, len, 1, &p, &n)) return NULL;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
    free(p);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* Check the x5c chain against the anchors in `ca_pem`; *leaf_key the leaf's public key. */
static cloak_err check_x5c(const json_t *x5c, const char *ca_pem, EVP_PKEY **leaf_key, why_buf *w)
{
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    BIO *bio = NULL;
    cloak_err rc = CLOAK_ENOMEM;
    size_t n = json_array_size(x5c), anchors = 0;
    if (!chain || !store || !ctx) goto out;
    if (!n || n > MAX_X5C) {
        rc = fail(w, CLOAK_EVERIFY,
                  "the release JWS header has no x5c (or more than %d "
                  "certificates)",
                  MAX_X5C);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(x5c, i);
        uint8_t *der = NULL;
        size_t dl = 0;
        if (!json_is_string(c) ||
            skrx_b64_decode(json_string_value(c), json_string_length(c), 0, &der, &dl)) {
            rc = fail(w, CLOAK_EVERIFY, "x5c[%zu] is not standard base64", i);
            goto out;
        }
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long)dl);
        int whole = x && p == der + dl;
        free(der);
        if (!whole || (i ? !sk_X509_push(chain, x) : !(leaf = x))) {
            X509_free(x);
            rc = fail(w, CLOAK_EVERIFY, "x5c[%zu] is not one DER certificate", i);
            goto out;
        }
    }
    if (!ca_pem || !(bio = BIO_new_mem_buf(ca_pem, -1))) {
        rc = fail(w, CLOAK_EINVAL, "no release CA was given to check the vault's certificate");
        goto out;
    }
    for (X509 *a; (a = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL; X509_free(a))
        if (X509_STORE_add_cert(store, a) == 1) anchors++;
    ERR_clear_error(); /* the end of the PEM data */
    if (!anchors) {
        rc = fail(w, CLOAK_EINVAL, "the release CA holds no PEM certificate");
        goto out;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_STORE_CTX_init(ctx, store, leaf, chain) != 1) goto out;
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        rc = fail(w, CLOAK_EVERIFY,
                  "the release JWS's x5c certificate does not chain to the release CA given "
                  "(%s): refusing an answer not signed by the trusted vault",
                  X509_verify_cert_error_string(e));
        goto out;
    }
    EVP_PKEY *pk = X509_get_pubkey(leaf);
    if (!pk || !EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_get_bits(pk) < 2048) {
        EVP_PKEY_free(pk);
        rc = fail(w, CLOAK_EVERIFY, "the release signing key is not an RSA key of 2048+ bits");
        goto out;
    }
    *leaf_key = pk;
    rc = CLOAK_OK;
out:
    if (rc == CLOAK_ENOMEM) fail(w, rc, "out of memory checking the release certificate");
    BIO_free(bio);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(chain, X509_free);
    X509_free(leaf);
    return rc;
}

/* RS256 over "header.payload". */
static int rs256_ok(EVP_PKEY *pk, const char *input, size_t input_len, const char *sig64,
                    size_t sig64_len)
{
    uint8_t *sig = NULL;
    size_t sl = 0;
    if (skrx_b64_decode(sig64, sig64_len, 1, &sig, &sl) || sl != (size_t)EVP_PKEY_get_size(pk)) {
        free(sig);
        return 0;
    }
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestVerifyInit_ex(c, NULL, "SHA256", NULL, NULL, pk, NULL) == 1 &&
             EVP_DigestVerify(c, sig, sl, (const uint8_t *)input, input_len) == 1;
    EVP_MD_CTX_free(c);
    free(sig);
    return ok;
}

/* key_hsm -> the released key bytes (malloc'd, wipe them). */
static cloak_err unwrap_key_hsm(const char *key_hsm, uint8_t **key, size_t *key_len, why_buf *w)
{
    uint8_t *kh = NULL, *ct = NULL, aes[512], *target = NULL;
    size_t khl = 0, ctl = 0, al = sizeof aes, tl = 0;
    json_t *j = NULL;
    cloak_err rc;
    EVP_PKEY *kek = skrx_kek();
    size_t k = (size_t)EVP_PKEY_get_size(kek);
    if (skrx_b64_decode(key_hsm, strlen(key_hsm), 1, &kh, &khl) ||
        !(j = json_loadb((const char *)kh, khl, JSON_REJECT_DUPLICATES, NULL))) {
        rc = fail(w, CLOAK_EVERIFY, "key_hsm is not base64url of a JSON document");
        goto out;
    }
    const json_t *hdr = json_object_get(j, "header"), *ctv = json_object_get(j, "ciphertext");
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    const char *enc = json_string_value(json_object_get(hdr, "enc"));
    EVP_MD *md = skrx_enc_md(enc);
    if (!kid || strcmp(kid, SKRX_KEK_KID)) {
        rc = fail(w, CLOAK_EVERIFY,
                  "the key was released for KEK \"%.64s\", not this enclave's "
                  "\"" SKRX_KEK_KID "\"",
                  kid ? kid : "(none)");
        goto out;
    }
    if (!md) {
        rc = fail(w, CLOAK_EINVAL, "unknown release enc \"%.40s\"", enc ? enc : "(none)");
        goto out;
    }
    if (!json_is_string(ctv) ||
        skrx_b64_decode(json_string_value(ctv), json_string_length(ctv), 1, &ct, &ctl) ||
        ctl < k + 16 || (ctl - k) % 8) {
        rc = fail(w, CLOAK_EVERIFY, "key_hsm.ciphertext is not RSA-OAEP(%zu bytes) || AES-KWP", k);
        goto out;
    }
    if (skrx_oaep(0, kek, md, ct, k, aes, &al) || al != 32) {
        rc = fail(w, CLOAK_EVERIFY, "the KEK does not open the transport key (RSA-OAEP, %s)", enc);
        goto out;
    }
    if (!(target = malloc(ctl - k))) {
        rc = fail(w, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (skrx_kwp(0, aes, ct + k, ctl - k, target, &tl)) {
        OPENSSL_cleanse(target, ctl - k);
        free(target);
        target = NULL;
        rc = fail(w, CLOAK_EVERIFY, "the released key's AES key wrap (RFC 5649) does not open");
        goto out;
    }
    *key = target;
    *key_len = tl;
    rc = CLOAK_OK;
out:
    OPENSSL_cleanse(aes, sizeof aes);
    free(ct);
    free(kh);
    json_decref(j);
    return rc;
}

/* Decrypt with the released key: raw AES key for oct, PKCS#8 for RSA. */
static cloak_err decrypt_with(const char *kty, const uint8_t *key, size_t key_len,
                              const skrx_open_in *in, uint8_t *pt, size_t pt_cap, size_t *pt_len,
                              why_buf *w)
{
    const char *alg = in->alg ? in->alg : "";
    if (!strcmp(kty, "oct") || !strcmp(kty, "oct-HSM")) {
        size_t want = !strcmp(alg, "A128GCM")   ? 16
                      : !strcmp(alg, "A192GCM") ? 24
                      : !strcmp(alg, "A256GCM") ? 32
                                                : 0;
        if (!want) return fail(w, CLOAK_EINVAL, "alg \"%.32s\" is not A128/192/256GCM", alg);
        if (key_len != want)
            return fail(w, CLOAK_EINVAL, "%s needs a %zu-bit key; the released key has %zu", alg,
                        want * 8, key_len * 8);
        if (in->tag_len != 16 || !in->iv_len)
            return fail(w, CLOAK_EINVAL, "%s needs the iv and the 16-byte tag", alg);
        if (in->ct_len > pt_cap)
            return fail(w, CLOAK_ERANGE, "the plaintext (%zu bytes) does not fit", in->ct_len);
        uint8_t tag[16];
        memcpy(tag, in->tag, 16);
        int r = skrx_gcm(0, key, key_len, in->iv, in->iv_len, in->aad, in->aad_len, in->ct,
                         in->ct_len, pt, tag);
        if (r)
            return fail(w, CLOAK_EVERIFY,
                        "AES-GCM: the ciphertext does not authenticate "
                        "under the released key");
        *pt_len = in->ct_len;
        return CLOAK_OK;
    }
    if (!strcmp(kty, "RSA") || !strcmp(kty, "RSA-HSM")) {
        EVP_MD *md = !strcmp(alg, "RSA-OAEP")       ? skrx_md("SHA1")
                     : !strcmp(alg, "RSA-OAEP-256") ? skrx_md("SHA256")
                                                    : NULL;
        if (!md) return fail(w, CLOAK_EINVAL, "alg \"%.32s\" is not RSA-OAEP(-256)", alg);
        EVP_PKEY *pk = skrx_pkcs8_rsa(key, key_len);
        if (!pk) return fail(w, CLOAK_EVERIFY, "the released RSA key is not PKCS#8 DER");
        uint8_t buf[1024];
        size_t n = sizeof buf;
        int bad = in->ct_len != (size_t)EVP_PKEY_get_size(pk) ||
                  skrx_oaep(0, pk, md, in->ct, in->ct_len, buf, &n);
        EVP_PKEY_free(pk);
        if (bad)
            return fail(w, CLOAK_EVERIFY,
                        "%s: the ciphertext does not decrypt under the "
                        "released key",
                        alg);
        cloak_err rc = n > pt_cap ? fail(w, CLOAK_ERANGE, "the plaintext does not fit") : CLOAK_OK;
        if (!rc) {
            memcpy(pt, buf, n);
            *pt_len = n;
        }
        OPENSSL_cleanse(buf, sizeof buf);
        return rc;
    }
    return fail(w, CLOAK_EINVAL, "a released %.16s key cannot decrypt here (oct or RSA only)", kty);
}

cloak_err skrx_open_release(const skrx_open_in *in, uint8_t *pt, size_t pt_cap, size_t *pt_len,
                            char *msg, size_t msg_cap)
{
    why_buf w = {msg, msg_cap};
    json_t *hdr = NULL, *payload = NULL;
    EVP_PKEY *signer = NULL;
    uint8_t *key = NULL;
    size_t key_len = 0;
    cloak_err rc;
    if (msg_cap) msg[0] = 0;
    *pt_len = 0;
    const char *jws = in->jws ? in->jws : "";
    const char *d1 = strchr(jws, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.')) {
        rc = fail(&w, CLOAK_EVERIFY, "the release answer is not a compact JWS");
        goto out;
    }
    if (!(hdr = segment_json(jws, (size_t)(d1 - jws)))) {
        rc = fail(&w, CLOAK_EVERIFY, "the release JWS header is not base64url JSON");
        goto out;
    }
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    if (!alg || strcmp(alg, "RS256")) {
        rc = fail(&w, CLOAK_EVERIFY, "the release JWS alg is \"%.16s\", not RS256",
                  alg ? alg : "(none)");
        goto out;
    }
    if ((rc = check_x5c(json_object_get(hdr, "x5c"), in->release_ca, &signer, &w))) goto out;
    if (!rs256_ok(signer, jws, (size_t)(d2 - jws), d2 + 1, strlen(d2 + 1))) {
        rc = fail(&w, CLOAK_EVERIFY,
                  "the release JWS signature does not verify with its x5c "
                  "certificate: the answer was altered");
        goto out;
    }
    if (!(payload = segment_json(d1 + 1, (size_t)(d2 - d1 - 1)))) {
        rc = fail(&w, CLOAK_EVERIFY, "the release JWS payload is not base64url JSON");
        goto out;
    }
    if (in->nonce && *in->nonce) {
        const char *got =
            json_string_value(json_object_get(json_object_get(payload, "request"), "nonce"));
        if (!got || strcmp(got, in->nonce)) {
            rc = fail(&w, CLOAK_EVERIFY,
                      "the release answer is not for this request (nonce "
                      "differs): a replayed answer?");
            goto out;
        }
    }
    const json_t *k =
        json_object_get(json_object_get(json_object_get(payload, "response"), "key"), "key");
    const char *kty = json_string_value(json_object_get(k, "kty"));
    const char *key_hsm = json_string_value(json_object_get(k, "key_hsm"));
    if (!kty || !key_hsm) {
        rc = fail(&w, CLOAK_EVERIFY, "the release payload has no response.key.key.kty/key_hsm");
        goto out;
    }
    if ((rc = unwrap_key_hsm(key_hsm, &key, &key_len, &w))) goto out;
    rc = decrypt_with(kty, key, key_len, in, pt, pt_cap, pt_len, &w);
out:
    if (key) {
        OPENSSL_cleanse(key, key_len);
        free(key);
    }
    EVP_PKEY_free(signer);
    json_decref(payload);
    json_decref(hdr);
    return rc;
}
