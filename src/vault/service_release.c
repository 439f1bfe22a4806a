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
 *                      "enc":<enc>},"ciphertext":base64url(wrapped)}).
 *
 * Per key version, what a release needs of the stored metadata (enabled, nbf, exp, exportable,
 * the parsed release policy, the key bundle's JSON text) is kept in a small cache (64 entries,
 * first in first out) keyed by the key name, the version and the exact bytes of the metadata
 * text (length + memcmp, no hash): any update (PATCH, a new policy) changes those bytes, so the
 * next release parses again. Only metadata is cached, never anything of the target token,
 * which is verified on every release. The answer's JSON text is built directly from the
 * cached bundle text and the per-release parts; it is byte for byte what json_dumps
 * (JSON_COMPACT) made of the same objects (members in the same order). */
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
    if (!s->rel_mu_ok) {
        if (pthread_mutex_init(&s->rel_mu, NULL)) {
            rc = cloak_error_set(why, CLOAK_EINTERNAL, "cannot create a mutex");
            goto out;
        }
        s->rel_mu_ok = 1;
    }
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

static void release_cache_free(cloak_vault_service *s);

void vault_release_key_free(cloak_vault_service *s)
{
    if (s->rel_mu_ok) {
        release_cache_free(s);
        pthread_mutex_destroy(&s->rel_mu);
        s->rel_mu_ok = 0;
    }
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
        vfail(
            j, 403, "Forbidden",
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

/* ---- the release view of a key version's metadata ---- */

typedef struct vrel_ent {
    unsigned refs; /* the cache's reference + one per release using it; under rel_mu */
    char *name, *version, *meta;
    size_t meta_len;
    int disabled, exportable, has_rp;
    json_int_t nbf, exp;
    cloak_skr_policy *pol; /* NULL when the stored policy does not parse: perr says why */
    char perr[CLOAK_ERROR_MAX];
    /* the bundle's text: key_open is {"key":{...members of the key (no closing brace);
     * key_close is "}," + the other members of the bundle + "}" */
    char *key_open, *key_close;
    size_t key_open_len, key_close_len;
} vrel_ent;

static void ent_free(vrel_ent *e)
{
    if (!e) return;
    free(e->name);
    free(e->version);
    free(e->meta);
    cloak_skr_policy_free(e->pol);
    free(e->key_open);
    free(e->key_close);
    free(e);
}

static void ent_put(cloak_vault_service *s, vrel_ent *e)
{
    if (!e) return;
    pthread_mutex_lock(&s->rel_mu);
    unsigned left = --e->refs;
    pthread_mutex_unlock(&s->rel_mu);
    if (!left) ent_free(e);
}

static int ent_is(const vrel_ent *e, const char *name, const cloak_vault_keyrec *rec, size_t mlen)
{
    return e && e->meta_len == mlen && !strcmp(e->name, name) &&
           !strcmp(e->version, rec->version) && !memcmp(e->meta, rec->meta, mlen);
}

/* The entry for (name, rec) with a reference for the caller, or NULL. */
static vrel_ent *ent_get(cloak_vault_service *s, const char *name, const cloak_vault_keyrec *rec)
{
    size_t mlen = strlen(rec->meta);
    vrel_ent *r = NULL;
    pthread_mutex_lock(&s->rel_mu);
    for (size_t i = 0; i < VAULT_REL_CACHE && !r; i++) {
        if (ent_is(s->rel_cache[i], name, rec, mlen)) {
            r = s->rel_cache[i];
            r->refs++;
        }
    }
    pthread_mutex_unlock(&s->rel_mu);
    return r;
}

/* Insert e (which holds one reference, the caller's); returns the entry to use (e, or an equal
 * one another worker inserted meanwhile, e then freed), with a reference for the caller. */
static vrel_ent *ent_add(cloak_vault_service *s, vrel_ent *e)
{
    vrel_ent *old = NULL, *same = NULL;
    pthread_mutex_lock(&s->rel_mu);
    for (size_t i = 0; i < VAULT_REL_CACHE && !same; i++) {
        vrel_ent *c = s->rel_cache[i];
        if (c && c->meta_len == e->meta_len && !strcmp(c->name, e->name) &&
            !strcmp(c->version, e->version) && !memcmp(c->meta, e->meta, e->meta_len))
            same = c;
    }
    if (same) {
        same->refs++;
    } else {
        size_t k = s->rel_next++ % VAULT_REL_CACHE;
        old = s->rel_cache[k];
        if (old && --old->refs) old = NULL; /* still in use: the last user frees it */
        s->rel_cache[k] = e;
        e->refs++;
    }
    pthread_mutex_unlock(&s->rel_mu);
    ent_free(old);
    if (same) {
        ent_free(e); /* never shared: only this caller held it */
        return same;
    }
    return e;
}

/* Compact JSON text of an object ("{...}"), malloc'd; NULL on OOM or anything else. */
static char *dump_obj(const json_t *o, size_t *len)
{
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    *len = t ? strlen(t) : 0;
    if (t && (*len < 2 || t[0] != '{' || t[*len - 1] != '}')) {
        free(t);
        return NULL;
    }
    return t;
}

/* Build the release view of rec's metadata. NULL after vfail. */
static vrel_ent *ent_build(vjob *j, const cloak_vault_keyrec *rec)
{
    json_t *meta = NULL, *bundle = NULL;
    cloak_error e = {0};
    uint8_t *pdoc = NULL;
    size_t plen = 0;
    char *kt = NULL, *bt = NULL;
    vrel_ent *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(j->name)) || !(r->version = strdup(rec->version)) ||
        !(r->meta = strdup(rec->meta)))
        goto oom;
    r->refs = 1;
    r->meta_len = strlen(r->meta);
    if (vault_meta_parse(j, rec, &meta)) goto fail;
    const json_t *a = json_object_get(meta, "attributes");
    r->disabled = json_is_false(json_object_get(a, "enabled"));
    r->nbf = json_integer_value(json_object_get(a, "nbf"));
    r->exp = json_integer_value(json_object_get(a, "exp"));
    r->exportable = json_is_true(json_object_get(a, "exportable"));
    const json_t *rp = json_object_get(meta, "release_policy");
    r->has_rp = rp != NULL;
    if (!r->exportable || !r->has_rp) goto done; /* never released: nothing more to keep */
    int immutable = 0;
    if (cloak_skr_envelope_decode(rp, &pdoc, &plen, &immutable, &e) ||
        cloak_skr_policy_parse(pdoc, plen, &r->pol, &e)) {
        r->pol = NULL;
        snprintf(r->perr, sizeof r->perr, "%s", e.msg);
    }
    /* the bundle as vault_bundle makes it; key_hsm is the key's last member */
    size_t kl, bl;
    if (!(bundle = vault_bundle(j->s, j->name, rec->version, meta)) ||
        !(kt = dump_obj(json_object_get(bundle, "key"), &kl)))
        goto oom;
    json_object_del(bundle, "key");
    if (!(bt = dump_obj(bundle, &bl))) goto oom;
    static const char kpre[] = "{\"key\":";
    if (!(r->key_open = malloc(sizeof kpre - 1 + kl - 1 + 1)) || !(r->key_close = malloc(bl + 2)))
        goto oom;
    memcpy(r->key_open, kpre, sizeof kpre - 1);
    memcpy(r->key_open + sizeof kpre - 1, kt, kl - 1);
    r->key_open_len = sizeof kpre - 1 + kl - 1;
    r->key_open[r->key_open_len] = 0;
    r->key_close[0] = '}';
    if (bl == 2) { /* no other member */
        memcpy(r->key_close + 1, "}", 2);
        r->key_close_len = 2;
    } else {
        r->key_close[1] = ',';
        memcpy(r->key_close + 2, bt + 1, bl); /* without '{', with '}' and NUL */
        r->key_close_len = bl + 1;
    }
    goto done;
oom:
    vfail(j, 500, "InternalError", NULL, "out of memory");
fail:
    ent_free(r);
    r = NULL;
done:
    free(kt);
    free(bt);
    free(pdoc);
    json_decref(bundle);
    json_decref(meta);
    return r;
}

/* A string as its compact JSON text (jansson's escaping), malloc'd; NULL if not UTF-8 / OOM. */
static char *json_str_text(const char *v)
{
    json_t *t = json_string(v);
    char *d = t ? json_dumps(t, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(t);
    return d;
}

/* Concatenate n pieces into one malloc'd NUL-terminated text. */
static char *cat(size_t n, const char *const *p, const size_t *l)
{
    size_t t = 1;
    for (size_t i = 0; i < n; i++)
        t += l[i];
    char *o = malloc(t), *w = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        memcpy(w, p[i], l[i]);
        w += l[i];
    }
    *w = 0;
    return o;
}

/* key_hsm's JSON text: {"schema_version":"1.0","header":{"kid":K,"alg":"dir","enc":E},
 * "ciphertext":C}. enc is one of enc_ok's names and ct is base64url: neither needs escaping. */
static char *key_hsm_text(const char *kek_kid, const char *enc, const char *ct)
{
    char *k = json_str_text(kek_kid);
    if (!k) return NULL;
    const char *p[] = {"{\"schema_version\":\"1.0\",\"header\":{\"kid\":",
                       k,
                       ",\"alg\":\"dir\",\"enc\":\"",
                       enc,
                       "\"},\"ciphertext\":\"",
                       ct,
                       "\"}"};
    size_t l[7];
    for (size_t i = 0; i < 7; i++)
        l[i] = strlen(p[i]);
    char *o = cat(7, p, l);
    free(k);
    return o;
}

static void release_cache_free(cloak_vault_service *s)
{
    for (size_t i = 0; i < VAULT_REL_CACHE; i++) {
        ent_free(s->rel_cache[i]); /* no release runs any more: the cache holds the only refs */
        s->rel_cache[i] = NULL;
    }
}

void op_release(vjob *j)
{
    cloak_error e = {0};
    cloak_vault_keyrec rec = {0};
    json_t *claims = NULL, *request = NULL, *hdr = NULL;
    vrel_ent *ve = NULL;
    uint8_t *wrapped = NULL;
    size_t wlen = 0;
    EVP_PKEY *kek = NULL;
    char *kek_kid = NULL, *bind = NULL, *jws = NULL, *ptext = NULL, *ct = NULL, *khs = NULL,
         *khb = NULL, *rtext = NULL;
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
    if (vault_load_rec(j, &rec)) return;
    if (!(ve = ent_get(j->s, j->name, &rec))) {
        vrel_ent *n = ent_build(j, &rec);
        if (!n) goto out;
        ve = ent_add(j->s, n);
    }
    if (vault_key_usable_at(j, ve->disabled, ve->nbf, ve->exp, "", 1)) goto out;
    if (!ve->exportable || !ve->has_rp) {
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
    if (!ve->pol) {
        vfail(j, 500, "InternalError", NULL, "the stored release policy does not parse: %s",
              ve->perr);
        goto out;
    }
    if (cloak_skr_policy_eval(ve->pol, iss, claims, &e)) {
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
    char kid[600];
    snprintf(kid, sizeof kid, "%s/keys/%s%s%s", j->s->url, j->name,
             cloak_http_param(j->req, "version") ? "/" : "",
             cloak_http_param(j->req, "version") ? rec.version : "");
    const char *av = cloak_http_query(j->req, "api-version");
    request = json_pack("{s:s,s:s,s:s}", "api-version", av ? av : "", "enc", enc, "kid", kid);
    if (request && nonce) json_object_set_new(request, "nonce", json_string(nonce));
    hdr = json_pack("{s:s,s:s,s:s,s:[s]}", "kid", j->s->rel_kid, "x5t#S256", j->s->rel_x5t256,
                    "typ", "JWT", "x5c", j->s->rel_x5c);
    /* {"request":R,"response":{"key":{"key":{...,"key_hsm":"H"},...}}} */
    if ((ct = cloak_base64url_encode(wrapped, wlen)) && (khs = key_hsm_text(kek_kid, enc, ct)) &&
        (khb = cloak_base64url_encode((const uint8_t *)khs, strlen(khs))) && request &&
        (rtext = json_dumps(request, JSON_COMPACT))) {
        static const char p0[] = "{\"request\":", p2[] = ",\"response\":{\"key\":",
                          p4[] = ",\"key_hsm\":\"", p6[] = "\"", p8[] = "}}";
        const char *p[] = {p0, rtext, p2, ve->key_open, p4, khb, p6, ve->key_close, p8};
        size_t l[] = {sizeof p0 - 1,    strlen(rtext),     sizeof p2 - 1,
                      ve->key_open_len, sizeof p4 - 1,     strlen(khb),
                      sizeof p6 - 1,    ve->key_close_len, sizeof p8 - 1};
        ptext = cat(9, p, l);
    }
    if (!ptext || !hdr) {
        vfail(j, 500, "InternalError", NULL, "out of memory");
        goto out;
    }
    if (cloak_jws_sign(j->s->rel_key, CLOAK_JWS_RS256, hdr, (const uint8_t *)ptext, strlen(ptext),
                       &jws, &e)) {
        vfail_err(j, &e);
        goto out;
    }
    /* a compact JWS is ASCII (base64url and dots): no UTF-8 check of its several KiB */
    json_t *reply = json_object();
    if (!reply || json_object_set_new_nocheck(reply, "value", json_string_nocheck(jws))) {
        json_decref(reply);
        vfail(j, 500, "InternalError", NULL, "out of memory");
        goto out;
    }
    vok(j, 200, reply);
out:
    free(jws);
    free(ptext);
    free(rtext);
    free(khb);
    free(khs);
    free(ct);
    json_decref(hdr);
    json_decref(request);
    free(bind);
    free(wrapped);
    free(kek_kid);
    EVP_PKEY_free(kek);
    json_decref(claims);
    ent_put(j->s, ve);
    cloak_vault_keyrec_clear(&rec);
}
