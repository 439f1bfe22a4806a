/* Secure Key Release: POST /keys/{name}[/{version}]/release {"target": attestation token,
 * "nonce"?, "enc"?}.
 *
 * The target is verified by the relying party (include/cloak/attest.h) against the trusted
 * attestation issuers' JWKS; its claims must satisfy the key's release policy (vault/skr.h);
 * a nonce is accepted once; the key must be enabled, exportable and carry a release policy.
 * The enclave wraps the key for the first suitable RSA key in the token's x-ms-runtime.keys
 * (CKM_RSA_AES_KEY_WRAP and friends, keyops.h), and the answer is a JWS signed by the vault's
 * release key (DATA_DIR/release.key, RSA-2048, self-signed certificate in x5c):
 *   {"request":{"api-version","enc","kid","nonce"?},
 *    "response":{"key": <key bundle whose key carries key_hsm>}}
 * key_hsm = base64url({"schema_version":"1.0","header":{"kid":<KEK kid>,"alg":"dir",
 *                      "enc":<enc>},"ciphertext":base64url(wrapped)}). */
#include "vault/service.h"

#include "cloak/jose.h"
#include "cloak/keyfile.h"
#include "vault/skr.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cloak_err vault_release_key_load(cloak_vault_service *s, cloak_error *why)
{
    cloak_err rc;
    char *kp = NULL, *cp = NULL;
    unsigned char *der = NULL;
    if (asprintf(&kp, "%s/release.key", s->data_dir) < 0 ||
        asprintf(&cp, "%s/release.pem", s->data_dir) < 0) {
        kp = cp = NULL;
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = cloak_keyfile_rsa_load_or_create(kp, cp, "cloak vault key release signing", 2048,
                                               &s->rel_key, &s->rel_cert, why)))
        goto out;
    int n = i2d_X509(s->rel_cert, &der);
    if (n <= 0) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "encoding the release certificate");
        goto out;
    }
    uint8_t h[SHA256_DIGEST_LENGTH];
    SHA256(der, (size_t)n, h);
    char *t = cloak_base64url_encode(h, sizeof h);
    s->rel_x5c = cloak_base64_encode(der, (size_t)n);
    if (!t || !s->rel_x5c) {
        free(t);
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(s->rel_x5t256, sizeof s->rel_x5t256, "%s", t);
    free(t);
    rc = cloak_jwk_thumbprint_key(s->rel_key, s->rel_kid, why);
out:
    OPENSSL_free(der);
    free(kp);
    free(cp);
    return rc;
}

void vault_release_key_free(cloak_vault_service *s)
{
    EVP_PKEY_free(s->rel_key);
    X509_free(s->rel_cert);
    free(s->rel_x5c);
}

/* Why the relying party refused the target, as its own error. */
static void refuse_token(vjob *j, const char *token, const cloak_error *e)
{
    json_t *hdr = NULL;
    cloak_error pe = {0};
    if (!cloak_jws_peek_header(token, strlen(token), &hdr, &pe)) {
        const char *alg = json_string_value(json_object_get(hdr, "alg"));
        if (alg && !strcmp(alg, "none")) {
            json_decref(hdr);
            vfail(j, 403, "Forbidden", "UnsecuredToken",
                  "The target token is unsigned (alg \"none\"): a release needs a token signed by "
                  "a trusted attestation service.");
            return;
        }
    }
    json_decref(hdr);
    switch (e->code) {
    case CLOAK_EINVAL:
        vfail(j, 400, "BadParameter", "InvalidToken", "target: %s", e->msg);
        return;
    case CLOAK_EPERM:
        vfail(j, 403, "Forbidden", strstr(e->msg, "alg") ? "UnsecuredToken" : "UntrustedIssuer",
              "target: %s", e->msg);
        return;
    case CLOAK_ENOTFOUND:
        vfail(j, 403, "Forbidden", "UnknownSigningKey", "target: %s", e->msg);
        return;
    case CLOAK_EIO:
        vfail(j, 503, "ServiceUnavailable", "IssuerUnreachable", "target: %s", e->msg);
        return;
    case CLOAK_EVERIFY:
        vfail(j, 403, "Forbidden",
              strstr(e->msg, "JWT expired") ? "TokenExpired"
              : (strstr(e->msg, "JWT not valid before") || strstr(e->msg, "JWT issued in the future"))
                  ? "TokenNotYetValid"
                  : "InvalidSignature",
              "target: %s", e->msg);
        return;
    default:
        vfail_err(j, e);
    }
}

static int enc_ok(const char *enc)
{
    return !strcmp(enc, "CKM_RSA_AES_KEY_WRAP") || !strcmp(enc, "RSA_AES_KEY_WRAP_256") ||
           !strcmp(enc, "RSA_AES_KEY_WRAP_384");
}

void op_release(vjob *j)
{
    cloak_error e = {0};
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL, *claims = NULL, *payload = NULL, *hdr = NULL;
    cloak_skr_policy *pol = NULL;
    uint8_t *pdoc = NULL, *wrapped = NULL;
    size_t plen = 0, wlen = 0;
    EVP_PKEY *kek = NULL;
    char *kek_kid = NULL, *bind = NULL, *jws = NULL, *ptext = NULL;
    const char *target = json_string_value(json_object_get(j->body, "target"));
    const char *nonce = json_string_value(json_object_get(j->body, "nonce"));
    const char *enc = json_string_value(json_object_get(j->body, "enc"));
    if (!enc) enc = "CKM_RSA_AES_KEY_WRAP";
    if (!target || !*target) {
        vfail(j, 400, "BadParameter", NULL, "target (an attestation token) is required.");
        return;
    }
    if (!enc_ok(enc)) {
        vfail(j, 400, "BadParameter", NULL,
              "enc must be CKM_RSA_AES_KEY_WRAP, RSA_AES_KEY_WRAP_256 or RSA_AES_KEY_WRAP_384.");
        return;
    }
    if (nonce && strlen(nonce) > 512) {
        vfail(j, 400, "BadParameter", NULL, "nonce is too long (at most 512 characters).");
        return;
    }
    if (vault_load(j, &rec, &meta)) return;
    if (vault_key_usable(j, meta, "", 1)) goto out;
    const json_t *rp = json_object_get(meta, "release_policy");
    if (!json_is_true(json_object_get(json_object_get(meta, "attributes"), "exportable")) || !rp) {
        vfail(j, 403, "Forbidden", "KeyNotExportable",
              "Key %s cannot be released: only exportable keys with a release policy can be.",
              j->name);
        goto out;
    }
    if (!j->s->rp) {
        vfail(j, 403, "Forbidden", "NoTrustedIssuer",
              "This vault trusts no attestation service: start it with --trust-issuer URL.");
        goto out;
    }
    if (cloak_attest_rp_verify(j->s->rp, target, strlen(target), j->now, &claims, &e)) {
        refuse_token(j, target, &e);
        goto out;
    }
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    int immutable = 0;
    if (cloak_skr_envelope_decode(rp, &pdoc, &plen, &immutable, &e) ||
        cloak_skr_policy_parse(pdoc, plen, &pol, &e)) {
        vfail(j, 500, "InternalError", NULL, "the stored release policy does not parse: %s", e.msg);
        goto out;
    }
    if (cloak_skr_policy_eval(pol, iss, claims, &e)) {
        vfail(j, 403, "Forbidden", "PolicyNotSatisfied",
              "The target token does not satisfy the key's release policy: %s", e.msg);
        goto out;
    }
    if (cloak_skr_pick_kek(claims, &kek, &kek_kid, &e)) {
        vfail(j, 400, "BadParameter", "NoKeyEncryptionKey", "target: %s", e.msg);
        goto out;
    }
    if (nonce && *nonce) {
        json_int_t exp = json_integer_value(json_object_get(claims, "exp"));
        int64_t until = (int64_t)j->now + VAULT_NONCE_TTL;
        if (exp > until) until = exp;
        if (cloak_vault_store_nonce_use(j->s->store, nonce, j->now, until, &e)) {
            if (e.code == CLOAK_EEXIST)
                vfail(j, 403, "Forbidden", "NonceReplayed",
                      "The nonce was already used for a release: send a fresh nonce.");
            else
                vfail_err(j, &e);
            goto out;
        }
    }
    if (!(bind = vault_bind(j->name, rec.version))) {
        vfail(j, 500, "InternalError", NULL, "out of memory");
        goto out;
    }
    if (cloak_vault_keyops_release(j->s->ko, rec.blob, rec.blob_len, bind, kek, enc, &wrapped,
                                   &wlen, &e)) {
        vfail_err(j, &e);
        goto out;
    }
    char *ct = cloak_base64url_encode(wrapped, wlen);
    json_t *kh = json_pack("{s:s,s:{s:s,s:s,s:s},s:s}", "schema_version", "1.0", "header", "kid",
                           kek_kid, "alg", "dir", "enc", enc, "ciphertext", ct ? ct : "");
    free(ct);
    char *khs = kh ? json_dumps(kh, JSON_COMPACT) : NULL;
    json_decref(kh);
    char *khb = khs ? cloak_base64url_encode((const uint8_t *)khs, strlen(khs)) : NULL;
    free(khs);
    json_t *bundle = vault_bundle(j->s, j->name, rec.version, meta);
    json_object_set_new(json_object_get(bundle, "key"), "key_hsm", json_string(khb ? khb : ""));
    free(khb);
    char kid[600];
    snprintf(kid, sizeof kid, "%s/keys/%s%s%s", j->s->url, j->name,
             cloak_http_param(j->req, "version") ? "/" : "",
             cloak_http_param(j->req, "version") ? rec.version : "");
    const char *av = cloak_http_query(j->req, "api-version");
    json_t *request = json_pack("{s:s,s:s,s:s}", "api-version", av ? av : "", "enc", enc, "kid", kid);
    if (nonce) json_object_set_new(request, "nonce", json_string(nonce));
    payload = json_pack("{s:o,s:{s:o}}", "request", request, "response", "key", bundle);
    hdr = json_pack("{s:s,s:s,s:s,s:[s]}", "kid", j->s->rel_kid, "x5t#S256", j->s->rel_x5t256,
                    "typ", "JWT", "x5c", j->s->rel_x5c);
    ptext = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    if (!ptext || !hdr) {
        vfail(j, 500, "InternalError", NULL, "out of memory");
        goto out;
    }
    if (cloak_jws_sign(j->s->rel_key, CLOAK_JWS_RS256, hdr, (const uint8_t *)ptext, strlen(ptext),
                       &jws, &e)) {
        vfail_err(j, &e);
        goto out;
    }
    vok(j, 200, json_pack("{s:s}", "value", jws));
out:
    free(jws);
    free(ptext);
    json_decref(hdr);
    json_decref(payload);
    free(bind);
    free(wrapped);
    free(kek_kid);
    EVP_PKEY_free(kek);
    cloak_skr_policy_free(pol);
    free(pdoc);
    json_decref(claims);
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
}
