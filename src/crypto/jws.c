/* JWS compact serialization (RFC 7515 §7.1) with the RSA and ECDSA algorithms of RFC 7518 §3
 * and ES256K (RFC 8812 §3.2). No HMAC: cloak's tokens are verified by parties that do not
 * share a secret with the signer. Each thread keeps a few set-up signing/verification contexts
 * (see "per-thread signing and verification contexts"), which hold references to their keys. */
#include "crypto/jose_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

typedef enum { KIND_RSA, KIND_PSS, KIND_EC } alg_kind;
typedef struct {
    cloak_jws_alg alg;
    const char *name;
    const char *md;
    alg_kind kind;
    const char *crv; /* EC: the JWK curve the algorithm is defined on */
} alg_info;

static const alg_info ALGS[] = {
    {CLOAK_JWS_RS256, "RS256", "SHA256", KIND_RSA, NULL},
    {CLOAK_JWS_RS384, "RS384", "SHA384", KIND_RSA, NULL},
    {CLOAK_JWS_RS512, "RS512", "SHA512", KIND_RSA, NULL},
    {CLOAK_JWS_PS256, "PS256", "SHA256", KIND_PSS, NULL},
    {CLOAK_JWS_PS384, "PS384", "SHA384", KIND_PSS, NULL},
    {CLOAK_JWS_PS512, "PS512", "SHA512", KIND_PSS, NULL},
    {CLOAK_JWS_ES256, "ES256", "SHA256", KIND_EC, "P-256"},
    {CLOAK_JWS_ES384, "ES384", "SHA384", KIND_EC, "P-384"},
    {CLOAK_JWS_ES512, "ES512", "SHA512", KIND_EC, "P-521"},
    {CLOAK_JWS_ES256K, "ES256K", "SHA256", KIND_EC, "secp256k1"},
};
#define NALGS (sizeof ALGS / sizeof ALGS[0])

static const alg_info *alg_by_id(int alg)
{
    for (size_t i = 0; i < NALGS; i++)
        if ((int)ALGS[i].alg == alg) return &ALGS[i];
    return NULL;
}

static const alg_info *alg_by_name(const char *name)
{
    for (size_t i = 0; name && i < NALGS; i++)
        if (!strcmp(ALGS[i].name, name)) return &ALGS[i];
    return NULL;
}

const char *cloak_jws_alg_name(cloak_jws_alg alg)
{
    const alg_info *a = alg_by_id((int)alg);
    return a ? a->name : NULL;
}

int cloak_jws_alg_parse(const char *name)
{
    const alg_info *a = alg_by_name(name);
    return a ? (int)a->alg : -1;
}

int cloak_jws_alg_for_key(EVP_PKEY *key)
{
    int bits = jose_rsa_bits(key);
    if (bits)
        return bits >= CLOAK_JWS_RSA_MIN_BITS && bits <= CLOAK_JWS_RSA_MAX_BITS ? CLOAK_JWS_RS256
                                                                                : -1;
    const jose_curve *c = jose_curve_of(key);
    for (size_t i = 0; c && i < NALGS; i++)
        if (ALGS[i].crv && !strcmp(ALGS[i].crv, c->jwk_name)) return (int)ALGS[i].alg;
    return -1;
}

static void describe_key(EVP_PKEY *key, char *buf, size_t n)
{
    const jose_curve *c = jose_curve_of(key);
    int bits = jose_rsa_bits(key);
    if (bits)
        snprintf(buf, n, "an RSA key of %d bits", bits);
    else if (c)
        snprintf(buf, n, "an EC key on %s", c->jwk_name);
    else
        snprintf(buf, n, "a %s key",
                 key && EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown");
}

/* The key must be of the algorithm's type (and curve): RFC 7518 §3.3-3.5. A mismatch is
 * refused before any signature is computed or checked. */
static cloak_err check_key_fits(const alg_info *a, EVP_PKEY *key, cloak_error *why)
{
    int bits = jose_rsa_bits(key);
    const jose_curve *c = jose_curve_of(key);
    int ok = a->kind == KIND_EC ? c && !strcmp(c->jwk_name, a->crv)
                                : bits >= CLOAK_JWS_RSA_MIN_BITS && bits <= CLOAK_JWS_RSA_MAX_BITS;
    if (ok) return CLOAK_OK;
    char have[96];
    describe_key(key, have, sizeof have);
    if (a->kind == KIND_EC)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "key does not fit the JWS alg: %s needs an EC key on %s, not %s",
                               a->name, a->crv, have);
    return cloak_error_set(
        why, CLOAK_EINVAL,
        "key does not fit the JWS alg: %s needs an RSA key of %d..%d bits, not %s", a->name,
        CLOAK_JWS_RSA_MIN_BITS, CLOAK_JWS_RSA_MAX_BITS, have);
}

static cloak_err digest_init(EVP_MD_CTX *mctx, const alg_info *a, EVP_PKEY *key, int sign)
{
    EVP_PKEY_CTX *pctx = NULL;
    int ok = sign ? EVP_DigestSignInit_ex(mctx, &pctx, a->md, NULL, NULL, key, NULL)
                  : EVP_DigestVerifyInit_ex(mctx, &pctx, a->md, NULL, NULL, key, NULL);
    if (ok == 1 && a->kind == KIND_PSS)
        /* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output */
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, a->md, NULL) == 1;
    return ok == 1 ? CLOAK_OK : CLOAK_EINTERNAL;
}

/* ---- per-thread signing and verification contexts ----
 * Setting up an EVP_MD_CTX for a key (fetching the signature and digest, the provider's key
 * export, padding) costs several microseconds, about 25 times copying one that is set up.
 * Each thread keeps up to CTX_SLOTS set-up contexts, found by (key, alg, sign or verify), and
 * hands out copies; least recently used out. A slot holds a reference to its key, so the
 * address cannot be reused for another key while it is cached (an EVP_PKEY is not changed
 * after it is made, in cloak); the key is released (and private numbers wiped by OpenSSL)
 * when its slot is evicted or the thread exits. A context that cannot be copied is set up
 * afresh, so results never depend on the cache. */
#define CTX_SLOTS 4
typedef struct {
    EVP_PKEY *key; /* a reference; NULL = empty */
    const alg_info *a;
    int sign;
    EVP_MD_CTX *tpl; /* set up for (a, key, sign), never used directly */
    uint64_t used;
} ctx_slot;
typedef struct {
    ctx_slot slot[CTX_SLOTS];
    uint64_t tick;
} ctx_cache;

static pthread_key_t ctx_cache_key;
static pthread_once_t ctx_cache_once = PTHREAD_ONCE_INIT;
static int ctx_cache_ok;

static void slot_clear(ctx_slot *s)
{
    EVP_MD_CTX_free(s->tpl);
    EVP_PKEY_free(s->key);
    memset(s, 0, sizeof *s);
}

static void ctx_cache_free(void *p)
{
    ctx_cache *c = p;
    for (size_t i = 0; i < CTX_SLOTS; i++)
        slot_clear(&c->slot[i]);
    free(c);
}

static void ctx_cache_init(void)
{
    ctx_cache_ok = pthread_key_create(&ctx_cache_key, ctx_cache_free) == 0;
}

static ctx_cache *this_thread_cache(void)
{
    pthread_once(&ctx_cache_once, ctx_cache_init);
    if (!ctx_cache_ok) return NULL;
    ctx_cache *c = pthread_getspecific(ctx_cache_key);
    if (c) return c;
    if (!(c = calloc(1, sizeof *c))) return NULL;
    if (pthread_setspecific(ctx_cache_key, c)) {
        free(c);
        return NULL;
    }
    return c;
}

/* A new EVP_MD_CTX ready for one EVP_DigestSign / EVP_DigestVerify with (a, key); NULL on
 * failure. The caller frees it. */
static EVP_MD_CTX *md_ctx_for(const alg_info *a, EVP_PKEY *key, int sign)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (!m) return NULL;
    ctx_cache *c = this_thread_cache();
    ctx_slot *victim = NULL;
    if (c) {
        victim = &c->slot[0];
        for (size_t i = 0; i < CTX_SLOTS; i++) {
            ctx_slot *s = &c->slot[i];
            if (s->key == key && s->a == a && s->sign == sign) {
                if (EVP_MD_CTX_copy_ex(m, s->tpl) == 1) {
                    s->used = ++c->tick;
                    return m;
                }
                ERR_clear_error();
                EVP_MD_CTX_reset(m);
                victim = s; /* replaced below */
                break;
            }
            if (s->used < victim->used) victim = s;
        }
    }
    if (digest_init(m, a, key, sign)) {
        EVP_MD_CTX_free(m);
        return NULL;
    }
    if (victim) {
        EVP_MD_CTX *tpl = EVP_MD_CTX_new();
        if (tpl && EVP_MD_CTX_copy_ex(tpl, m) == 1 && EVP_PKEY_up_ref(key) == 1) {
            slot_clear(victim);
            *victim = (ctx_slot){.key = key, .a = a, .sign = sign, .tpl = tpl, .used = ++c->tick};
        } else {
            EVP_MD_CTX_free(tpl);
            ERR_clear_error();
        }
    }
    return m;
}

/* Sign `in`; ECDSA signatures come back as r||s at the curve width (RFC 7518 §3.4). */
static cloak_err sign_raw(const alg_info *a, EVP_PKEY *key, const uint8_t *in, size_t inlen,
                          uint8_t **out, size_t *out_len, cloak_error *why)
{
    EVP_MD_CTX *mctx = md_ctx_for(a, key, 1);
    uint8_t *sig = NULL, *raw = NULL;
    size_t siglen = 0;
    ECDSA_SIG *es = NULL;
    cloak_err rc = CLOAK_EINTERNAL;
    if (!mctx || EVP_DigestSign(mctx, NULL, &siglen, in, inlen) != 1 || !(sig = malloc(siglen)) ||
        EVP_DigestSign(mctx, sig, &siglen, in, inlen) != 1) {
        rc = cloak_error_openssl(why, CLOAK_EINVAL, "JWS signing failed (is it a private key?)");
        goto out;
    }
    if (a->kind != KIND_EC) {
        *out = sig;
        *out_len = siglen;
        sig = NULL;
        rc = CLOAK_OK;
        goto out;
    }
    size_t w = jose_curve_of(key)->width;
    const unsigned char *p = sig;
    const BIGNUM *r, *s;
    if (!(es = d2i_ECDSA_SIG(NULL, &p, (long)siglen)) || !(raw = malloc(2 * w))) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL,
                                 "JWS signing: cannot convert the ECDSA signature");
        goto out;
    }
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, raw, (int)w) < 0 || BN_bn2binpad(s, raw + w, (int)w) < 0) {
        rc =
            cloak_error_set(why, CLOAK_EINTERNAL, "JWS signing: ECDSA r or s wider than the curve");
        goto out;
    }
    *out = raw;
    *out_len = 2 * w;
    raw = NULL;
    rc = CLOAK_OK;
out:
    ECDSA_SIG_free(es);
    free(sig);
    free(raw);
    EVP_MD_CTX_free(mctx);
    return rc;
}

/* 1: the signature verifies; 0: it does not (whatever the reason). */
static int verify_raw(const alg_info *a, EVP_PKEY *key, const uint8_t *in, size_t inlen,
                      const uint8_t *sig, size_t siglen)
{
    EVP_MD_CTX *mctx = md_ctx_for(a, key, 0);
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    int ok = 0;
    if (!mctx) goto out;
    if (a->kind == KIND_EC) {
        size_t w = jose_curve_of(key)->width;
        if (siglen != 2 * w) goto out;
        if (!(es = ECDSA_SIG_new()) || !(r = BN_bin2bn(sig, (int)w, NULL)) ||
            !(s = BN_bin2bn(sig + w, (int)w, NULL)) || !ECDSA_SIG_set0(es, r, s))
            goto out;
        r = s = NULL; /* owned by es now */
        int dlen = i2d_ECDSA_SIG(es, &der);
        if (dlen <= 0) goto out;
        ok = EVP_DigestVerify(mctx, der, (size_t)dlen, in, inlen) == 1;
    } else {
        if (siglen != (size_t)EVP_PKEY_get_size(key)) goto out; /* RFC 8017 §8.2.2 step 1 */
        ok = EVP_DigestVerify(mctx, sig, siglen, in, inlen) == 1;
    }
out:
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(mctx);
    ERR_clear_error();
    return ok;
}

/* {"alg": alg, ...caller's members}, compact, alg first. */
static cloak_err build_header(const char *alg, const json_t *extra, char **out, cloak_error *why)
{
    if (extra && !json_is_object(extra))
        return cloak_error_set(why, CLOAK_EINVAL, "JWS header must be a JSON object");
    json_t *h = json_object();
    if (!h || json_object_set_new(h, "alg", json_string(alg))) goto nomem;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)extra, k, v)
    {
        if (!strcmp(k, "alg") || !strcmp(k, "crit")) {
            json_decref(h);
            return cloak_error_set(why, CLOAK_EINVAL, "JWS header must not carry \"%s\" (%s)", k,
                                   !strcmp(k, "alg") ? "cloak sets alg from the algorithm argument"
                                                     : "cloak implements no critical extensions");
        }
        if (json_object_set(h, k, v)) goto nomem;
    }
    *out = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    if (!*out) return cloak_error_set(why, CLOAK_ENOMEM, "JWS header: out of memory");
    return CLOAK_OK;
nomem:
    json_decref(h);
    return cloak_error_set(why, CLOAK_ENOMEM, "JWS header: out of memory");
}

/* header64 "." payload64 ["." sig64] into one malloc'd string. */
static char *join(const char *h64, const char *p64, const char *s64)
{
    size_t hl = strlen(h64), pl = strlen(p64), sl = s64 ? strlen(s64) : 0;
    char *t = malloc(hl + pl + sl + 3);
    if (!t) return NULL;
    memcpy(t, h64, hl);
    t[hl] = '.';
    memcpy(t + hl + 1, p64, pl);
    t[hl + 1 + pl] = '.';
    if (s64) memcpy(t + hl + pl + 2, s64, sl);
    t[hl + pl + 2 + sl] = 0;
    return t;
}

static cloak_err sign_any(const alg_info *a, EVP_PKEY *key, const json_t *header,
                          const uint8_t *payload, size_t payload_len, char **out, cloak_error *why)
{
    char *hjson = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *input = NULL;
    uint8_t *sig = NULL;
    size_t siglen = 0;
    cloak_err rc;
    if (!out || (!payload && payload_len))
        return cloak_error_set(why, CLOAK_EINVAL, "JWS sign: no payload or output");
    if ((rc = build_header(a ? a->name : "none", header, &hjson, why))) return rc;
    rc = CLOAK_ENOMEM;
    if (!(h64 = cloak_base64url_encode((const uint8_t *)hjson, strlen(hjson))) ||
        !(p64 = cloak_base64url_encode(payload, payload_len)) || !(input = join(h64, p64, NULL)))
        goto out;
    input[strlen(input) - 1] = 0; /* the signing input has no trailing '.' (RFC 7515 §5.1 step 5) */
    if (a) {
        if ((rc = sign_raw(a, key, (const uint8_t *)input, strlen(input), &sig, &siglen, why)))
            goto out;
        rc = CLOAK_ENOMEM;
        if (!(s64 = cloak_base64url_encode(sig, siglen))) goto out;
    }
    if (!(*out = join(h64, p64, s64 ? s64 : ""))) goto out;
    rc = CLOAK_OK;
out:
    if (rc == CLOAK_ENOMEM) cloak_error_set(why, rc, "JWS sign: out of memory");
    free(hjson);
    free(h64);
    free(p64);
    free(s64);
    free(input);
    free(sig);
    return rc;
}

cloak_err cloak_jws_sign(EVP_PKEY *key, cloak_jws_alg alg, const json_t *header,
                         const uint8_t *payload, size_t payload_len, char **out, cloak_error *why)
{
    const alg_info *a = alg_by_id((int)alg);
    if (!a) return cloak_error_set(why, CLOAK_EINVAL, "JWS sign: unknown algorithm %d", (int)alg);
    if (!key) return cloak_error_set(why, CLOAK_EINVAL, "JWS sign: no key");
    cloak_err rc = check_key_fits(a, key, why);
    if (rc) return rc;
    return sign_any(a, key, header, payload, payload_len, out, why);
}

cloak_err cloak_jws_sign_unsecured(const json_t *header, const uint8_t *payload, size_t payload_len,
                                   char **out, cloak_error *why)
{
    return sign_any(NULL, NULL, header, payload, payload_len, out, why);
}

/* ---- parsing --------------------------------------------------------------------------- */

typedef struct {
    json_t *header;
    const char *alg; /* points into header */
    uint8_t *payload, *sig;
    size_t payload_len, sig_len;
    size_t signed_len; /* bytes of header64 "." payload64 */
} parsed;

static void parsed_free(parsed *p)
{
    json_decref(p->header);
    free(p->payload);
    free(p->sig);
    memset(p, 0, sizeof *p);
}

/* RFC 7515 §5.2 steps 1-4 for the compact form: three base64url parts, a JSON object header
 * (no duplicate names) with a string "alg" and no "crit". */
static cloak_err parse(const char *t, size_t len, parsed *p, cloak_error *why)
{
    memset(p, 0, sizeof *p);
    if (!t) return cloak_error_set(why, CLOAK_EINVAL, "malformed JWS: no token");
    const char *d1 = memchr(t, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - t)) : NULL;
    if (!d2)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "malformed JWS: %s (a compact JWS is header.payload.signature)",
                               d1 ? "only two parts" : "no '.' separator");
    size_t hl = (size_t)(d1 - t), pl = (size_t)(d2 - d1 - 1), sl = len - (size_t)(d2 + 1 - t);
    if (memchr(d2 + 1, '.', sl))
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "malformed JWS: more than three parts (a JWE has five; cloak reads only JWS)");
    if (!hl) return cloak_error_set(why, CLOAK_EINVAL, "malformed JWS: the header part is empty");
    uint8_t *hraw = NULL;
    size_t hraw_len = 0;
    cloak_err rc = jose_b64url_decode_part(t, hl, "base64url", &hraw, &hraw_len, why);
    if (rc) return cloak_error_wrap(why, "malformed JWS: header part");
    json_error_t jerr;
    p->header = json_loadb((const char *)hraw, hraw_len, JSON_REJECT_DUPLICATES, &jerr);
    free(hraw);
    if (!p->header) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "malformed JWS: header part is not JSON (%s at column %d)", jerr.text,
                             jerr.column);
        goto fail;
    }
    if (!json_is_object(p->header)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "malformed JWS: header part is not a JSON object");
        goto fail;
    }
    if (!(p->alg = json_string_value(json_object_get(p->header, "alg")))) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "malformed JWS: header has no \"alg\" string");
        goto fail;
    }
    /* RFC 7515 §4.1.11: a recipient that does not understand a listed extension must refuse. */
    if (json_object_get(p->header, "crit")) {
        rc = cloak_error_set(
            why, CLOAK_EINVAL,
            "malformed JWS: header has \"crit\" and cloak implements no JWS extensions");
        goto fail;
    }
    if ((rc =
             jose_b64url_decode_part(d1 + 1, pl, "base64url", &p->payload, &p->payload_len, why))) {
        cloak_error_wrap(why, "malformed JWS: payload part");
        goto fail;
    }
    if ((rc = jose_b64url_decode_part(d2 + 1, sl, "base64url", &p->sig, &p->sig_len, why))) {
        cloak_error_wrap(why, "malformed JWS: signature part");
        goto fail;
    }
    p->signed_len = (size_t)(d2 - t);
    return CLOAK_OK;
fail:
    parsed_free(p);
    return rc;
}

static void allowed_list(unsigned allowed, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < NALGS && o < n; i++)
        if (allowed & CLOAK_JWS_ALLOW(ALGS[i].alg))
            o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? ", " : "", ALGS[i].name);
    if (!buf[0]) snprintf(buf, n, "nothing");
}

static void take(parsed *p, int alg, cloak_jws *out)
{
    out->header = p->header;
    out->payload = p->payload;
    out->payload_len = p->payload_len;
    out->alg = alg;
    p->header = NULL;
    p->payload = NULL;
    parsed_free(p);
}

cloak_err cloak_jws_verify(const char *token, size_t len, EVP_PKEY *key, unsigned allowed_algs,
                           cloak_jws *out, cloak_error *why)
{
    if (!key || !out) return cloak_error_set(why, CLOAK_EINVAL, "JWS verify: no key or output");
    parsed p;
    cloak_err rc = parse(token, len, &p, why);
    if (rc) return rc;
    const alg_info *a = alg_by_name(p.alg);
    char list[128];
    if (!strcmp(p.alg, "none")) {
        rc = cloak_error_set(
            why, CLOAK_EPERM,
            "unsecured JWS (alg \"none\") refused: it carries no signature, so anyone could "
            "have written it");
    } else if (!a || !(allowed_algs & CLOAK_JWS_ALLOW(a->alg))) {
        allowed_list(allowed_algs, list, sizeof list);
        rc = cloak_error_set(why, CLOAK_EPERM,
                             "JWS alg \"%.32s\" is not allowed here (allowed: %s)", p.alg, list);
    } else if (!(rc = check_key_fits(a, key, why)) &&
               !verify_raw(a, key, (const uint8_t *)token, p.signed_len, p.sig, p.sig_len)) {
        rc = cloak_error_set(
            why, CLOAK_EVERIFY,
            "JWS signature does not verify under the given key (alg %s, %zu-byte signature): "
            "the token was altered or signed by another key",
            a->name, p.sig_len);
    }
    if (rc) {
        parsed_free(&p);
        return rc;
    }
    take(&p, (int)a->alg, out);
    return CLOAK_OK;
}

cloak_err cloak_jws_peek_header(const char *token, size_t len, json_t **out, cloak_error *why)
{
    if (!out) return cloak_error_set(why, CLOAK_EINVAL, "JWS peek: no output");
    parsed p;
    cloak_err rc = parse(token, len, &p, why);
    if (rc) return rc;
    *out = json_incref(p.header);
    parsed_free(&p);
    return CLOAK_OK;
}

cloak_err cloak_jws_decode_unsecured(const char *token, size_t len, cloak_jws *out,
                                     cloak_error *why)
{
    if (!out) return cloak_error_set(why, CLOAK_EINVAL, "unsecured JWS: no output");
    parsed p;
    cloak_err rc = parse(token, len, &p, why);
    if (rc) return rc;
    if (strcmp(p.alg, "none"))
        rc = cloak_error_set(
            why, CLOAK_EPERM,
            "not an unsecured JWS (alg \"%.32s\"): verify signed tokens with cloak_jws_verify",
            p.alg);
    else if (p.sig_len || token[len - 1] != '.')
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "malformed JWS: an unsecured JWS must have an empty signature part");
    if (rc) {
        parsed_free(&p);
        return rc;
    }
    take(&p, 0, out);
    return CLOAK_OK;
}

void cloak_jws_clear(cloak_jws *jws)
{
    if (!jws) return;
    json_decref(jws->header);
    free(jws->payload);
    memset(jws, 0, sizeof *jws);
}
