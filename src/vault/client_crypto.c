/* The vault client's key operations (encrypt, decrypt, wrap, unwrap, sign, verify) and Secure
 * Key Release: the release call, opening the vault's signed answer, and unwrapping the released
 * key with the caller's KEK (RSA-OAEP + RFC 5649, OpenSSL EVP).
 *
 * Trust: answers are untrusted and type-checked; the release JWS is verified with its own x5c
 * leaf, and that leaf must hold the caller's pinned key when one is given. Plaintext sent or
 * received (encrypt/wrap input, decrypt/unwrap output, unwrapped keys, the AES transport key)
 * is wiped from the buffers this file owns. */
#include "vault/client_int.h"

#include "cloak/jose.h"

#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cloak_vault_crypt_result_clear(cloak_vault_crypt_result *r)
{
    if (!r) return;
    if (r->value) cloak_free_secret(r->value, r->value_len);
    free(r->iv);
    free(r->tag);
    free(r->kid);
    memset(r, 0, sizeof *r);
}

/* Add base64url(p) as member `k`. */
static int put_b64(json_t *o, const char *k, const uint8_t *p, size_t n)
{
    char *s = cloak_base64url_encode(p, n);
    if (!s) return -1;
    int rc = json_object_set_new(o, k, json_string(s));
    OPENSSL_cleanse(s, strlen(s));
    free(s);
    return rc;
}

/* A base64url member of an answer; required members must be present. */
static cloak_err get_b64(const json_t *o, const char *k, int required, uint8_t **out, size_t *len,
                         const char *what, cloak_error *why)
{
    const json_t *v = json_object_get(o, k);
    *out = NULL;
    *len = 0;
    if (!v && !required) return CLOAK_OK;
    const char *s = json_string_value(v);
    if (!s)
        return cloak_error_set(why, CLOAK_EIO, "%s: the vault's answer has no \"%s\" string", what,
                               k);
    if (cloak_base64url_decode(s, json_string_length(v), out, len, why))
        return cloak_error_wrap(why, "%s: the vault's \"%s\"", what, k);
    return CLOAK_OK;
}

typedef enum { OP_ENCRYPT, OP_DECRYPT, OP_WRAP, OP_UNWRAP, OP_SIGN, OP_VERIFY } crypt_op;
static const char *const op_path[] = {"encrypt",   "decrypt", "wrapkey",
                                      "unwrapkey", "sign",    "verify"};

static cloak_err crypt_call(cloak_vault_client *c, crypt_op op, const char *name,
                            const cloak_vault_crypt_params *p, const uint8_t *in, size_t len,
                            const uint8_t *sig, size_t sig_len, cloak_vault_crypt_result *out,
                            int *valid, cloak_error *why)
{
    const char *what = op_path[op];
    char path[300];
    cloak_err rc;
    json_t *body = NULL, *ans = NULL;
    int secret_in = op == OP_ENCRYPT || op == OP_WRAP;
    int secret_out = op == OP_DECRYPT || op == OP_UNWRAP;
    if (out) memset(out, 0, sizeof *out);
    if (valid) *valid = 0;
    if (!c || !p || !p->alg || !*p->alg)
        return cloak_error_set(why, CLOAK_EINVAL, "%s: an algorithm (alg) is required", what);
    if (!in && len) return cloak_error_set(why, CLOAK_EINVAL, "%s: no input", what);
    if ((rc = vc_check_name("key name", name, why))) return rc;
    if (p->version && *p->version && (rc = vc_check_name("key version", p->version, why)))
        return rc;
    snprintf(path, sizeof path, "/keys/%s/%s%s%s", name,
             p->version && *p->version ? p->version : "", p->version && *p->version ? "/" : "",
             what);
    body = json_pack("{s:s}", "alg", p->alg);
    int bad = !body;
    if (op == OP_VERIFY) {
        bad = bad || put_b64(body, "digest", in ? in : (const uint8_t *)"", len) ||
              put_b64(body, "value", sig ? sig : (const uint8_t *)"", sig_len);
    } else {
        bad = bad || put_b64(body, "value", in ? in : (const uint8_t *)"", len);
        if (op != OP_SIGN) {
            bad = bad || (p->iv && put_b64(body, "iv", p->iv, p->iv_len)) ||
                  (p->aad && put_b64(body, "aad", p->aad, p->aad_len)) ||
                  (p->tag && put_b64(body, "tag", p->tag, p->tag_len));
        }
    }
    if (bad) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = vc_call(c, "POST", path, body, secret_out ? VC_SECRET_REPLY : 0, &ans, why)))
        goto done;
    if (op == OP_VERIFY) {
        json_t *v = json_object_get(ans, "value");
        if (!json_is_boolean(v)) {
            rc = cloak_error_set(why, CLOAK_EIO, "verify: the vault's answer has no boolean value");
            goto done;
        }
        if (valid) *valid = json_is_true(v);
        goto done;
    }
    if (!out) goto done;
    const char *kid = json_string_value(json_object_get(ans, "kid"));
    if ((rc = get_b64(ans, "value", 1, &out->value, &out->value_len, what, why)) ||
        (rc = get_b64(ans, "iv", 0, &out->iv, &out->iv_len, what, why)) ||
        (rc = get_b64(ans, "tag", 0, &out->tag, &out->tag_len, what, why)))
        goto done;
    if (kid && !(out->kid = strdup(kid))) rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
done:
    if (rc && out) cloak_vault_crypt_result_clear(out);
    if (secret_in)
        vc_json_wipe_decref(body);
    else
        json_decref(body);
    if (secret_out)
        vc_json_wipe_decref(ans);
    else
        json_decref(ans);
    return rc;
}

cloak_err cloak_vault_encrypt(cloak_vault_client *c, const char *name,
                              const cloak_vault_crypt_params *p, const uint8_t *in, size_t len,
                              cloak_vault_crypt_result *out, cloak_error *why)
{
    return crypt_call(c, OP_ENCRYPT, name, p, in, len, NULL, 0, out, NULL, why);
}

cloak_err cloak_vault_decrypt(cloak_vault_client *c, const char *name,
                              const cloak_vault_crypt_params *p, const uint8_t *in, size_t len,
                              cloak_vault_crypt_result *out, cloak_error *why)
{
    return crypt_call(c, OP_DECRYPT, name, p, in, len, NULL, 0, out, NULL, why);
}

cloak_err cloak_vault_wrap(cloak_vault_client *c, const char *name,
                           const cloak_vault_crypt_params *p, const uint8_t *in, size_t len,
                           cloak_vault_crypt_result *out, cloak_error *why)
{
    return crypt_call(c, OP_WRAP, name, p, in, len, NULL, 0, out, NULL, why);
}

cloak_err cloak_vault_unwrap(cloak_vault_client *c, const char *name,
                             const cloak_vault_crypt_params *p, const uint8_t *in, size_t len,
                             cloak_vault_crypt_result *out, cloak_error *why)
{
    return crypt_call(c, OP_UNWRAP, name, p, in, len, NULL, 0, out, NULL, why);
}

cloak_err cloak_vault_sign(cloak_vault_client *c, const char *name,
                           const cloak_vault_crypt_params *p, const uint8_t *digest,
                           size_t digest_len, cloak_vault_crypt_result *out, cloak_error *why)
{
    if (!out) return cloak_error_set(why, CLOAK_EINVAL, "sign: no output");
    return crypt_call(c, OP_SIGN, name, p, digest, digest_len, NULL, 0, out, NULL, why);
}

cloak_err cloak_vault_verify(cloak_vault_client *c, const char *name,
                             const cloak_vault_crypt_params *p, const uint8_t *digest,
                             size_t digest_len, const uint8_t *sig, size_t sig_len, int *valid,
                             cloak_error *why)
{
    if (!valid) return cloak_error_set(why, CLOAK_EINVAL, "verify: no output");
    return crypt_call(c, OP_VERIFY, name, p, digest, digest_len, sig, sig_len, NULL, valid, why);
}

cloak_err cloak_vault_digest(const char *alg, const uint8_t *msg, size_t len, uint8_t md[64],
                             size_t *md_len, cloak_error *why)
{
    const char *h = NULL;
    size_t al = alg ? strlen(alg) : 0;
    if (al == 5 && (!strncmp(alg, "RS", 2) || !strncmp(alg, "PS", 2) || !strncmp(alg, "ES", 2)))
        h = !strcmp(alg + 2, "256")   ? "SHA256"
            : !strcmp(alg + 2, "384") ? "SHA384"
            : !strcmp(alg + 2, "512") ? "SHA512"
                                      : NULL;
    else if (alg && !strcmp(alg, "ES256K"))
        h = "SHA256";
    if (!h)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "'%.32s' is not a signature algorithm: use RS256/384/512, "
                               "PS256/384/512, ES256, ES256K, ES384 or ES512",
                               alg ? alg : "");
    unsigned int n = 0;
    EVP_MD *m = EVP_MD_fetch(NULL, h, NULL);
    int ok = m && EVP_Digest(msg ? msg : (const uint8_t *)"", len, md, &n, m, NULL) == 1;
    EVP_MD_free(m);
    if (!ok) return cloak_error_openssl(why, CLOAK_EINTERNAL, "hashing the message");
    *md_len = n;
    return CLOAK_OK;
}

/* ---- Secure Key Release ---- */
cloak_err cloak_vault_key_release(cloak_vault_client *c, const char *name, const char *version,
                                  const char *target, const char *nonce, const char *enc,
                                  char **jws, cloak_error *why)
{
    char path[300];
    cloak_err rc;
    json_t *ans = NULL;
    if (jws) *jws = NULL;
    if (!c || !jws) return cloak_error_set(why, CLOAK_EINVAL, "release: missing argument");
    if (!target || !*target)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "release: a target attestation token is required (e.g. from "
                               "`cloak attest request`)");
    if ((rc = vc_check_name("key name", name, why))) return rc;
    if (version && *version && (rc = vc_check_name("key version", version, why))) return rc;
    snprintf(path, sizeof path, "/keys/%s/%s%srelease", name, version && *version ? version : "",
             version && *version ? "/" : "");
    json_t *body = json_pack("{s:s}", "target", target);
    if (body && nonce) json_object_set_new(body, "nonce", json_string(nonce));
    if (body && enc) json_object_set_new(body, "enc", json_string(enc));
    if (!body) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    rc = vc_call(c, "POST", path, body, 0, &ans, why);
    vc_json_wipe_decref(body); /* the target token is a bearer credential until it expires */
    if (rc) return rc;
    const char *v = json_string_value(json_object_get(ans, "value"));
    if (!v || !*v)
        rc = cloak_error_set(why, CLOAK_EIO, "release: the vault's answer has no value (JWS)");
    else if (!(*jws = strdup(v)))
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    json_decref(ans);
    return rc;
}

void cloak_vault_release_clear(cloak_vault_release *r)
{
    if (!r) return;
    json_decref(r->payload);
    json_decref(r->key_hsm);
    free(r->ciphertext);
    EVP_PKEY_free(r->signer);
    memset(r, 0, sizeof *r);
}

/* The public key of the JWS header's x5c leaf. */
static cloak_err leaf_key(const char *jws, EVP_PKEY **out, cloak_error *why)
{
    json_t *hdr = NULL;
    uint8_t *der = NULL;
    size_t dl = 0;
    X509 *cert = NULL;
    cloak_err rc = cloak_jws_peek_header(jws, strlen(jws), &hdr, why);
    if (rc) return cloak_error_wrap(why, "the release answer");
    const json_t *x0 = json_array_get(json_object_get(hdr, "x5c"), 0);
    if (!json_is_string(x0)) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the release answer's header has no x5c certificate to verify it");
        goto out;
    }
    if ((rc = cloak_base64_decode(json_string_value(x0), json_string_length(x0), &der, &dl, why))) {
        cloak_error_wrap(why, "the release answer's x5c");
        goto out;
    }
    const uint8_t *p = der;
    if (!(cert = d2i_X509(NULL, &p, (long)dl)) || p != der + dl) {
        rc = cloak_error_openssl(why, CLOAK_EVERIFY, "the release answer's x5c certificate");
        goto out;
    }
    if (!(*out = X509_get_pubkey(cert)))
        rc = cloak_error_openssl(why, CLOAK_EVERIFY, "the release answer's x5c public key");
out:
    X509_free(cert);
    free(der);
    json_decref(hdr);
    return rc;
}

cloak_err cloak_vault_release_open(const char *jws, EVP_PKEY *pinned, cloak_vault_release *out,
                                   cloak_error *why)
{
    cloak_vault_release r = {0};
    cloak_jws v = {0};
    uint8_t *kh = NULL;
    size_t khl = 0;
    cloak_err rc;
    if (!jws || !out) return cloak_error_set(why, CLOAK_EINVAL, "release open: missing argument");
    memset(out, 0, sizeof *out);
    if ((rc = leaf_key(jws, &r.signer, why))) goto fail;
    if (pinned && EVP_PKEY_eq(pinned, r.signer) != 1) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the release answer is signed by a key other than the pinned vault "
                             "release key (DATA_DIR/release.pem): do not use it");
        goto fail;
    }
    if ((rc = cloak_jws_verify(jws, strlen(jws), r.signer, CLOAK_JWS_ALLOW_RSA, &v, why))) {
        cloak_error_wrap(why, "the release answer's signature");
        goto fail;
    }
    json_error_t je;
    r.payload = json_loadb((const char *)v.payload, v.payload_len, 0, &je);
    r.bundle = json_object_get(json_object_get(r.payload, "response"), "key");
    const json_t *khv = json_object_get(json_object_get(r.bundle, "key"), "key_hsm");
    if (!json_is_object(r.bundle) || !json_is_string(khv)) {
        rc = cloak_error_set(why, CLOAK_EIO,
                             "the release answer's payload has no response.key.key.key_hsm");
        goto fail;
    }
    if ((rc = cloak_base64url_decode(json_string_value(khv), json_string_length(khv), &kh, &khl,
                                     why))) {
        cloak_error_wrap(why, "the release answer's key_hsm");
        goto fail;
    }
    r.key_hsm = json_loadb((const char *)kh, khl, 0, &je);
    const json_t *h = json_object_get(r.key_hsm, "header");
    const json_t *ct = json_object_get(r.key_hsm, "ciphertext");
    r.kek_kid = json_string_value(json_object_get(h, "kid"));
    r.enc = json_string_value(json_object_get(h, "enc"));
    if (!r.kek_kid || !r.enc || !json_is_string(ct)) {
        rc = cloak_error_set(why, CLOAK_EIO,
                             "the release answer's key_hsm is not {\"header\":{\"kid\",\"enc\"},"
                             "\"ciphertext\"}");
        goto fail;
    }
    if ((rc = cloak_base64url_decode(json_string_value(ct), json_string_length(ct), &r.ciphertext,
                                     &r.ciphertext_len, why))) {
        cloak_error_wrap(why, "the release answer's key_hsm ciphertext");
        goto fail;
    }
    free(kh);
    cloak_jws_clear(&v);
    *out = r;
    return CLOAK_OK;
fail:
    free(kh);
    cloak_jws_clear(&v);
    cloak_vault_release_clear(&r);
    return rc;
}

cloak_err cloak_vault_release_unwrap(const cloak_vault_release *r, EVP_PKEY *kek, uint8_t **key,
                                     size_t *key_len, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    uint8_t aes[512], *outp = NULL;
    size_t al = sizeof aes, wl = 0;
    int ol = 0, fl = 0;
    EVP_PKEY_CTX *pc = NULL;
    EVP_CIPHER_CTX *cc = NULL;
    if (!r || !r->ciphertext || !r->enc || !kek || !key || !key_len)
        return cloak_error_set(why, CLOAK_EINVAL, "release unwrap: missing argument");
    *key = NULL;
    *key_len = 0;
    const char *md = !strcmp(r->enc, "CKM_RSA_AES_KEY_WRAP")   ? "SHA1"
                     : !strcmp(r->enc, "RSA_AES_KEY_WRAP_256") ? "SHA256"
                     : !strcmp(r->enc, "RSA_AES_KEY_WRAP_384") ? "SHA384"
                                                               : NULL;
    if (!md)
        return cloak_error_set(why, CLOAK_EINVAL, "release unwrap: unknown enc '%.40s'", r->enc);
    if (!EVP_PKEY_is_a(kek, "RSA"))
        return cloak_error_set(why, CLOAK_EINVAL, "release unwrap: the KEK must be an RSA key");
    int ks = EVP_PKEY_get_size(kek);
    if (ks <= 0 || r->ciphertext_len <= (size_t)ks + 8 || r->ciphertext_len > INT32_MAX)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "release unwrap: the ciphertext (%zu bytes) does not fit a "
                               "%d-byte RSA KEK: was it released for this key?",
                               r->ciphertext_len, ks);
    if (!(pc = EVP_PKEY_CTX_new_from_pkey(NULL, kek, NULL)) || EVP_PKEY_decrypt_init(pc) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md_name(pc, md, NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, md, NULL) != 1) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "release unwrap: RSA-OAEP setup");
        goto out;
    }
    if (EVP_PKEY_decrypt(pc, aes, &al, r->ciphertext, (size_t)ks) != 1 || al != 32) {
        rc = cloak_error_openssl(why, CLOAK_EVERIFY,
                                 "release unwrap: the KEK does not decrypt the transport key "
                                 "(wrong KEK or enc)");
        goto out;
    }
    wl = r->ciphertext_len - (size_t)ks;
    if (!(outp = malloc(wl)) || !(cc = EVP_CIPHER_CTX_new())) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    EVP_CIPHER_CTX_set_flags(cc, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_DecryptInit_ex(cc, EVP_aes_256_wrap_pad(), NULL, aes, NULL) != 1 ||
        EVP_DecryptUpdate(cc, outp, &ol, r->ciphertext + ks, (int)wl) != 1 ||
        EVP_DecryptFinal_ex(cc, outp + ol, &fl) != 1) {
        rc = cloak_error_openssl(why, CLOAK_EVERIFY,
                                 "release unwrap: the key wrap (RFC 5649) does not open");
        goto out;
    }
    *key = outp;
    *key_len = (size_t)(ol + fl);
    outp = NULL;
out:
    OPENSSL_cleanse(aes, sizeof aes);
    if (outp) cloak_free_secret(outp, wl);
    EVP_CIPHER_CTX_free(cc);
    EVP_PKEY_CTX_free(pc);
    return rc;
}
