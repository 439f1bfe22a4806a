/* The attestation relying party: verify MAA-style tokens against the JWKS of trusted issuers.
 *
 * Order of checks in cloak_attest_rp_verify, cheapest and least trusting first: the header's
 * alg against the allow-list and the (unverified) payload's iss against the trusted issuers
 * come before any network access, so a forged token can neither make us fetch from a URL of its
 * choosing nor force a refetch with an alg we would refuse anyway. Only then is the key looked
 * up (fetching metadata and JWKS as needed), the signature verified, and the verified claims
 * checked for time and issuer. The payload is decoded and parsed once, before verification (to
 * choose the issuer); after the signature verified, that parse becomes the claims only if the
 * verified payload is byte for byte the one it was parsed from. */
#include "cloak/attest.h"
#include "cloak/http.h"
#include "cloak/jose.h"

#include "attest/rp_int.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RP_MAGIC 0x52504154u /* "RPAT": catches a wrong or freed handle */
#define MAX_KEYS 64          /* keys in one JWKS we look at; MAA publishes a handful */

typedef struct {
    char *kid;
    EVP_PKEY *key; /* NULL when the JWK could not be imported ... */
    char *error;   /* ... and this says why */
} rp_key;

typedef struct {
    char *url;      /* normalised issuer URL (no trailing '/') */
    char *jwks_uri; /* from the last good metadata */
    rp_key *keys;
    size_t nkeys;
    int loaded;
    double fetched_at; /* monotonic seconds of the last good load */
    int forced;        /* an unknown-kid refetch happened ... */
    double forced_at;  /* ... at this time */
} rp_issuer;

struct cloak_attest_rp {
    unsigned magic;
    rp_issuer issuers[CLOAK_ATTEST_MAX_ISSUERS];
    size_t nissuers;
    char *ca_file;
    unsigned algs, slack, ttl, interval;
    pthread_mutex_t lock; /* guards everything below and the issuers' caches */
    cloak_http_client *http;
    unsigned long fetches;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void free_keys(rp_key *keys, size_t n)
{
    if (!keys) return;
    for (size_t i = 0; i < n; i++) {
        free(keys[i].kid);
        EVP_PKEY_free(keys[i].key);
        free(keys[i].error);
    }
    free(keys);
}

/* ---- configuration ---- */

cloak_err cloak_attest_rp_new(const cloak_attest_rp_config *cfg, cloak_attest_rp **out,
                              cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    cloak_attest_rp *rp = NULL;
    if (!cfg || !out)
        return cloak_error_set(why, CLOAK_EINVAL, "attest rp: no configuration or output");
    if (!cfg->issuers || !cfg->issuers[0])
        return cloak_error_set(why, CLOAK_EINVAL,
                               "attest rp: no trusted issuer configured (give at least one URL)");
    rp = calloc(1, sizeof *rp);
    if (!rp) return cloak_error_set(why, CLOAK_ENOMEM, "attest rp: out of memory");
    if (pthread_mutex_init(&rp->lock, NULL)) {
        free(rp);
        return cloak_error_set(why, CLOAK_EINTERNAL, "attest rp: mutex init failed");
    }
    rp->magic = RP_MAGIC;
    for (size_t i = 0; cfg->issuers[i]; i++) {
        if (i == CLOAK_ATTEST_MAX_ISSUERS) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "attest rp: more than %d trusted issuers",
                                 CLOAK_ATTEST_MAX_ISSUERS);
            goto out;
        }
        if ((rc =
                 attest_url_normalize(cfg->issuers[i], "trusted issuer", &rp->issuers[i].url, why)))
            goto out;
        rp->nissuers = i + 1;
    }
    if (cfg->ca_file && !(rp->ca_file = strdup(cfg->ca_file))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "attest rp: out of memory");
        goto out;
    }
    rp->algs = cfg->algs ? cfg->algs : CLOAK_JWS_ALLOW(CLOAK_JWS_RS256);
    for (unsigned a = 0; a < 32; a++)
        if ((rp->algs & (1u << a)) && !cloak_jws_alg_name((cloak_jws_alg)a)) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "attest rp: allowed algs 0x%x has an unknown bit %u", rp->algs, a);
            goto out;
        }
    rp->slack = cfg->slack_seconds == CLOAK_ATTEST_SLACK_NONE ? 0
                : cfg->slack_seconds                          ? cfg->slack_seconds
                                                              : CLOAK_ATTEST_SLACK_DEFAULT;
    rp->ttl = cfg->cache_ttl_seconds ? cfg->cache_ttl_seconds : CLOAK_ATTEST_CACHE_TTL_DEFAULT;
    rp->interval = cfg->refresh_interval_seconds ? cfg->refresh_interval_seconds
                                                 : CLOAK_ATTEST_REFRESH_INTERVAL_DEFAULT;
out:
    if (rc) {
        cloak_attest_rp_free(rp);
        return rc;
    }
    *out = rp;
    return CLOAK_OK;
}

void cloak_attest_rp_free(cloak_attest_rp *rp)
{
    if (!rp) return;
    for (size_t i = 0; i < CLOAK_ATTEST_MAX_ISSUERS; i++) {
        free(rp->issuers[i].url);
        free(rp->issuers[i].jwks_uri);
        free_keys(rp->issuers[i].keys, rp->issuers[i].nkeys);
    }
    cloak_http_client_free(rp->http);
    free(rp->ca_file);
    pthread_mutex_destroy(&rp->lock);
    rp->magic = 0;
    free(rp);
}

unsigned long cloak_attest_rp_fetch_count(cloak_attest_rp *rp)
{
    if (!rp || rp->magic != RP_MAGIC) return 0;
    pthread_mutex_lock(&rp->lock);
    unsigned long n = rp->fetches;
    pthread_mutex_unlock(&rp->lock);
    return n;
}

/* ---- fetching (called with rp->lock held) ---- */

/* GET url, expect 200 and a JSON object. `what` names the document in messages. */
static cloak_err fetch_json(cloak_attest_rp *rp, const char *what, const char *url, json_t **out,
                            cloak_error *why)
{
    static const char *const headers[] = {"Accept: application/json", NULL};
    cloak_http_response r;
    json_t *j = NULL;
    json_error_t je;
    cloak_err rc;
    rp->fetches++;
    if ((!rp->http && (rc = cloak_http_client_new(rp->ca_file, &rp->http, why))) ||
        (rc = cloak_http_client_fetch(rp->http, "GET", url, headers, NULL, 0, &r, why))) {
        cloak_error_wrap(why, "fetching %s %s", what, url);
        return rc; /* r was not filled */
    }
    if (r.status != 200) {
        rc = cloak_error_set(why, CLOAK_EIO, "fetching %s %s: HTTP %ld (expected 200)", what, url,
                             r.status);
        goto out;
    }
    j = json_loadb((const char *)r.body.p, r.body.len, 0, &je);
    if (!json_is_object(j)) {
        rc = cloak_error_set(why, CLOAK_EIO, "fetching %s %s: the reply is not a JSON object (%s)",
                             what, url, j ? "other JSON" : je.text);
        goto out;
    }
    *out = j;
    j = NULL;
out:
    json_decref(j);
    cloak_http_response_free(&r);
    return rc;
}

/* The public key of a JWK: from n/e or x/y when present (cloak_jwk_import_public also checks
 * that x5c[0], if any, holds the same key), else from x5c[0] alone, MAA's shape
 * {"kid","kty","x5c"} (azure-api.md §1). */
static cloak_err import_jwk(const json_t *jwk, EVP_PKEY **out, cloak_error *why)
{
    if (json_object_get(jwk, "n") || json_object_get(jwk, "x"))
        return cloak_jwk_import_public(jwk, out, why);
    json_t *x5c = json_object_get(jwk, "x5c");
    json_t *first = json_array_get(x5c, 0);
    if (!json_is_string(first))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "JWK has no key: neither n/e, x/y nor an x5c certificate");
    uint8_t *der = NULL;
    size_t len = 0;
    X509 *x = NULL;
    EVP_PKEY *key = NULL;
    cloak_err rc =
        cloak_base64_decode(json_string_value(first), json_string_length(first), &der, &len, why);
    if (rc) {
        cloak_error_wrap(why, "JWK \"x5c\"[0] (standard base64, not base64url)");
        return rc;
    }
    const unsigned char *p = der;
    x = d2i_X509(NULL, &p, (long)len);
    if (!x || p != der + len) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "JWK \"x5c\"[0] is not one DER certificate");
        goto out;
    }
    key = X509_get_pubkey(x);
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    int id = key ? EVP_PKEY_get_base_id(key) : 0;
    if (id == EVP_PKEY_RSA) {
        if (kty && strcmp(kty, "RSA") && strcmp(kty, "RSA-HSM")) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "JWK kty \"%.20s\" but x5c[0] holds an RSA key",
                                 kty);
            goto out;
        }
        if (EVP_PKEY_get_bits(key) < CLOAK_JWS_RSA_MIN_BITS) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "JWK x5c[0] RSA key has %d bits (at least %d required)",
                                 EVP_PKEY_get_bits(key), CLOAK_JWS_RSA_MIN_BITS);
            goto out;
        }
    } else if (id == EVP_PKEY_EC) {
        if (kty && strcmp(kty, "EC") && strcmp(kty, "EC-HSM")) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "JWK kty \"%.20s\" but x5c[0] holds an EC key",
                                 kty);
            goto out;
        }
    } else {
        rc = cloak_error_set(why, CLOAK_EUNSUPPORTED,
                             "JWK x5c[0] holds neither an RSA nor an EC key");
        goto out;
    }
    *out = key;
    key = NULL;
out:
    EVP_PKEY_free(key);
    X509_free(x);
    free(der);
    ERR_clear_error();
    return rc;
}

/* Parse a JWKS into keys. Keys without a kid are skipped (a token names its key by kid); a key
 * that does not import is kept with its reason, so a token naming it gets that reason. */
static cloak_err parse_jwks(const json_t *jwks, const char *url, rp_key **out, size_t *nout,
                            cloak_error *why)
{
    json_t *arr = json_object_get(jwks, "keys");
    if (!json_is_array(arr))
        return cloak_error_set(why, CLOAK_EIO, "JWKS %s has no \"keys\" array", url);
    size_t n = json_array_size(arr) < MAX_KEYS ? json_array_size(arr) : MAX_KEYS, k = 0;
    rp_key *keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys) return cloak_error_set(why, CLOAK_ENOMEM, "JWKS: out of memory");
    cloak_err rc = CLOAK_OK;
    for (size_t i = 0; i < n; i++) {
        json_t *jwk = json_array_get(arr, i);
        const char *kid = json_string_value(json_object_get(jwk, "kid"));
        if (!kid) continue;
        cloak_error e = {0};
        keys[k].kid = strdup(kid);
        if (import_jwk(jwk, &keys[k].key, &e)) keys[k].error = strdup(e.msg);
        if (!keys[k].kid || (!keys[k].key && !keys[k].error)) {
            k++;
            rc = cloak_error_set(why, CLOAK_ENOMEM, "JWKS: out of memory");
            goto out;
        }
        k++;
    }
out:
    if (rc) {
        free_keys(keys, k);
        return rc;
    }
    *out = keys;
    *nout = k;
    return CLOAK_OK;
}

/* Fetch metadata then JWKS; replace the issuer's cache only when both are good. */
static cloak_err load_issuer(cloak_attest_rp *rp, rp_issuer *is, cloak_error *why)
{
    json_t *meta = NULL, *jwks = NULL;
    rp_key *keys = NULL;
    size_t nkeys = 0;
    char *jwks_uri = NULL, *meta_url = NULL;
    cloak_err rc;
    size_t ml = strlen(is->url) + sizeof "/.well-known/openid-configuration";
    if (!(meta_url = malloc(ml)))
        return cloak_error_set(why, CLOAK_ENOMEM, "attest rp: out of memory");
    snprintf(meta_url, ml, "%s/.well-known/openid-configuration", is->url);
    if ((rc = fetch_json(rp, "OpenID metadata", meta_url, &meta, why))) goto out;
    /* OpenID Connect Discovery 1.0 §4.3: the metadata's issuer must be the issuer we asked. */
    const char *mi = json_string_value(json_object_get(meta, "issuer"));
    size_t mil = mi ? strlen(mi) : 0;
    while (mil && mi[mil - 1] == '/')
        mil--;
    if (!mi || mil != strlen(is->url) || strncmp(mi, is->url, mil)) {
        rc = cloak_error_set(why, CLOAK_EPERM, "OpenID metadata %s names issuer \"%.160s\", not %s",
                             meta_url, mi ? mi : "(none)", is->url);
        goto out;
    }
    const char *ju = json_string_value(json_object_get(meta, "jwks_uri"));
    if (!ju) {
        rc = cloak_error_set(why, CLOAK_EIO, "OpenID metadata %s has no \"jwks_uri\"", meta_url);
        goto out;
    }
    if (!attest_same_origin(ju, is->url)) {
        rc = cloak_error_set(
            why, CLOAK_EPERM,
            "OpenID metadata %s points jwks_uri to \"%.200s\", outside the issuer's origin %s; "
            "refused (signing keys are only taken from the issuer itself)",
            meta_url, ju, is->url);
        goto out;
    }
    if (!(jwks_uri = strdup(ju))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "attest rp: out of memory");
        goto out;
    }
    if ((rc = fetch_json(rp, "JWKS", jwks_uri, &jwks, why))) goto out;
    if ((rc = parse_jwks(jwks, jwks_uri, &keys, &nkeys, why))) goto out;
    free_keys(is->keys, is->nkeys);
    free(is->jwks_uri);
    is->keys = keys;
    is->nkeys = nkeys;
    is->jwks_uri = jwks_uri;
    keys = NULL;
    nkeys = 0;
    jwks_uri = NULL;
    is->loaded = 1;
    is->fetched_at = mono_now();
out:
    free_keys(keys, nkeys);
    free(jwks_uri);
    free(meta_url);
    json_decref(meta);
    json_decref(jwks);
    return rc;
}

static const rp_key *find_kid(const rp_issuer *is, const char *kid)
{
    for (size_t i = 0; i < is->nkeys; i++)
        if (!strcmp(is->keys[i].kid, kid)) return &is->keys[i];
    return NULL;
}

/* The key for kid, with a reference the caller frees. Loads a missing or stale cache; on an
 * unknown kid refetches once per refresh interval (a key rotation), never more. */
static cloak_err get_key(cloak_attest_rp *rp, rp_issuer *is, const char *kid, EVP_PKEY **out,
                         cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    pthread_mutex_lock(&rp->lock);
    double now = mono_now();
    int fresh = 0; /* loaded by this call: a refetch would see the same JWKS */
    if (!is->loaded || now - is->fetched_at >= (double)rp->ttl) {
        if ((rc = load_issuer(rp, is, why))) goto out;
        fresh = 1;
    }
    const rp_key *k = find_kid(is, kid);
    if (!k && !fresh && (!is->forced || now - is->forced_at >= (double)rp->interval)) {
        is->forced = 1;
        is->forced_at = now;
        if ((rc = load_issuer(rp, is, why))) goto out;
        k = find_kid(is, kid);
    }
    if (!k) {
        rc = cloak_error_set(
            why, CLOAK_ENOTFOUND,
            "token kid \"%.80s\" is not in the JWKS of %s (%s); the issuer does not (or no "
            "longer) publish that key -- the token is forged or from another instance",
            kid, is->url, is->jwks_uri ? is->jwks_uri : "?");
        goto out;
    }
    if (!k->key) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "key kid \"%.80s\" in the JWKS of %s cannot be used: %s", kid, is->url,
                             k->error);
        goto out;
    }
    if (!EVP_PKEY_up_ref(k->key)) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "attest rp: EVP_PKEY_up_ref failed");
        goto out;
    }
    *out = k->key;
out:
    pthread_mutex_unlock(&rp->lock);
    return rc;
}

/* ---- verification ---- */

/* The payload of a compact JWS, decoded but NOT verified: only for choosing the issuer. The
 * decoded bytes are kept (*raw) so that, once the signature verified, the claims parsed here
 * can be used if and only if the verified payload is the same bytes. */
static cloak_err peek_payload(const char *token, size_t len, json_t **out, uint8_t **raw,
                              size_t *raw_len, cloak_error *why)
{
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d2)
        return cloak_error_set(why, CLOAK_EINVAL, "malformed token: not three dot-separated parts");
    uint8_t *p = NULL;
    size_t pl = 0;
    json_error_t je;
    cloak_err rc = cloak_base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &p, &pl, why);
    if (rc) {
        cloak_error_wrap(why, "malformed token payload");
        return rc;
    }
    json_t *j = json_loadb((const char *)p, pl, 0, &je);
    if (!json_is_object(j)) {
        free(p);
        json_decref(j);
        return cloak_error_set(why, CLOAK_EINVAL,
                               "malformed token: the payload is not a JSON object");
    }
    *out = j;
    *raw = p;
    *raw_len = pl;
    return CLOAK_OK;
}

static rp_issuer *find_issuer(cloak_attest_rp *rp, const char *iss)
{
    size_t il = strlen(iss);
    while (il && iss[il - 1] == '/')
        il--; /* "https://x/" names the same issuer as "https://x" */
    for (size_t i = 0; i < rp->nissuers; i++)
        if (strlen(rp->issuers[i].url) == il && !strncmp(rp->issuers[i].url, iss, il))
            return &rp->issuers[i];
    return NULL;
}

static void list_algs(unsigned algs, char *dst, size_t n)
{
    size_t off = 0;
    dst[0] = 0;
    for (unsigned a = 0; a < 32 && off < n; a++) {
        const char *name = (algs & (1u << a)) ? cloak_jws_alg_name((cloak_jws_alg)a) : NULL;
        if (name) off += (size_t)snprintf(dst + off, n - off, "%s%s", off ? ", " : "", name);
    }
}

cloak_err cloak_attest_rp_verify(cloak_attest_rp *rp, const char *token, size_t len, time_t now,
                                 json_t **claims, cloak_error *why)
{
    json_t *hdr = NULL, *unverified = NULL, *c = NULL;
    uint8_t *peeked = NULL; /* the payload bytes `unverified` was parsed from */
    size_t peeked_len = 0;
    EVP_PKEY *key = NULL;
    cloak_jws jws = {0};
    json_error_t je;
    cloak_err rc;
    if (!rp || rp->magic != RP_MAGIC || !token || !claims)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "attest verify: no relying party, token or output");
    if (len > CLOAK_ATTEST_MAX_TOKEN)
        return cloak_error_set(why, CLOAK_EINVAL, "token is %zu bytes (max %u)", len,
                               CLOAK_ATTEST_MAX_TOKEN);
    while (len && (token[len - 1] == '\n' || token[len - 1] == '\r' || token[len - 1] == ' '))
        len--;
    if ((rc = cloak_jws_peek_header(token, len, &hdr, why))) {
        cloak_error_wrap(why, "malformed token");
        goto out;
    }
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    if (alg && !strcmp(alg, "none")) {
        rc =
            cloak_error_set(why, CLOAK_EPERM,
                            "token alg \"none\" (unsigned) refused: anyone can write such a token");
        goto out;
    }
    int a = alg ? cloak_jws_alg_parse(alg) : -1;
    if (a < 0 || !(rp->algs & CLOAK_JWS_ALLOW(a))) {
        char allowed[128];
        list_algs(rp->algs, allowed, sizeof allowed);
        rc = cloak_error_set(why, CLOAK_EPERM, "token alg \"%.20s\" is not allowed (allowed: %s)",
                             alg ? alg : "?", allowed);
        goto out;
    }
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    if (!kid) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "token header has no \"kid\": cannot choose the issuer's key");
        goto out;
    }
    if ((rc = peek_payload(token, len, &unverified, &peeked, &peeked_len, why))) goto out;
    const char *iss = json_string_value(json_object_get(unverified, "iss"));
    if (!iss) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "token has no \"iss\" claim (string)");
        goto out;
    }
    rp_issuer *is = find_issuer(rp, iss);
    if (!is) {
        rc = cloak_error_set(why, CLOAK_EPERM,
                             "token issuer \"%.200s\" is not a trusted issuer (trusted: %s%s)", iss,
                             rp->issuers[0].url, rp->nissuers > 1 ? ", ..." : "");
        goto out;
    }
    if ((rc = get_key(rp, is, kid, &key, why))) goto out;
    if ((rc = cloak_jws_verify(token, len, key, rp->algs, &jws, why))) {
        if (rc == CLOAK_EVERIFY)
            cloak_error_wrap(
                why, "bad token signature under key \"%.80s\" of %s (token altered or forged)", kid,
                is->url);
        else
            cloak_error_wrap(why, "token key \"%.80s\" of %s", kid, is->url);
        goto out;
    }
    /* The claims: parsed once. The object parsed before verification is taken only when the
     * verified payload is byte for byte what it was parsed from (same parser, same flags), so
     * it is exactly what parsing the verified payload would give; otherwise parse that. */
    if (jws.payload_len == peeked_len && !memcmp(jws.payload, peeked, peeked_len)) {
        c = unverified;
        unverified = NULL;
    } else {
        c = json_loadb((const char *)jws.payload, jws.payload_len, 0, &je);
    }
    if (!json_is_object(c)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "token payload is not a JSON object");
        goto out;
    }
    if ((rc = cloak_jwt_check_time(c, now, rp->slack, CLOAK_JWT_REQUIRE_EXP, why))) {
        cloak_error_wrap(why, "token from %s", is->url);
        goto out;
    }
    /* The verified iss must name the issuer whose key verified it (it does: same payload bytes;
     * checked again so the rule does not depend on that reasoning). */
    const char *viss = json_string_value(json_object_get(c, "iss"));
    if (!viss || find_issuer(rp, viss) != is) {
        rc = cloak_error_set(why, CLOAK_EPERM, "token issuer does not match the key's issuer %s",
                             is->url);
        goto out;
    }
    *claims = c;
    c = NULL;
out:
    json_decref(c);
    json_decref(hdr);
    json_decref(unverified);
    free(peeked);
    cloak_jws_clear(&jws);
    EVP_PKEY_free(key);
    return rc;
}
