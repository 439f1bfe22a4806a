/* vault auth: bearer-token authentication and Key Vault-style roles.
 *
 * A request's Authorization header is checked in this order, cheapest and least trusting
 * first: present; scheme "Bearer"; the token is three base64url parts; the verified-token cache
 * (SHA-256 of the token, honouring exp/nbf); then, with nothing from the token trusted yet, its
 * header (alg "none" refused outright) and its unverified iss, which only selects the verifier:
 *   - iss = CLOAK_VAULT_LOCAL_ISSUER: ES256 under DATA_DIR/token.key (cloak_jwt_verify, exp
 *     required, CLOAK_VAULT_AUTH_SLACK of skew);
 *   - one of the configured OIDC issuers: cloak_attest_rp (metadata + JWKS over HTTPS), then
 *     aud must name the configured audience;
 *   - anything else is refused without any network access.
 * Then the verified claims give the roles (known names only) and the subject.
 *
 * Trust: the header value is untrusted; no part of the token is ever echoed in a message (only
 * the scheme name, the issuer and role names of a token whose signature verified, or the iss
 * of an unverified one, cut short). DATA_DIR/token.key is trusted: whoever can read it can mint
 * tokens for any role, so it is created 0600 (race-free: written aside, then link(2)ed in).
 *
 * Thread-safety: a mutex guards the cache and the counter; verification runs outside it.
 */
#include "vault/auth.h"

#include "cloak/attest.h"
#include "cloak/jose.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUTH_MAGIC 0x41555448u /* "AUTH" */
#define DEFAULT_TTL (8u * 3600u)

/* ---- roles ------------------------------------------------------------------------------ */

#define P(x) CLOAK_VAULT_PERM_##x
#define ALL_PERMS                                                                                  \
    (P(READ) | P(WRITE) | P(UPDATE) | P(DELETE) | P(DELETED) | P(RECOVER) | P(PURGE) | P(BACKUP) | \
     P(RESTORE) | P(ENCRYPT) | P(DECRYPT) | P(WRAP) | P(UNWRAP) | P(SIGN) | P(VERIFY) |            \
     P(RELEASE) | P(RNG))

static const struct {
    const char *name;
    unsigned perms;
} ROLES[] = {
    {"administrator", ALL_PERMS},
    {"crypto-officer", ALL_PERMS},
    {"crypto-user", P(READ) | P(UPDATE) | P(BACKUP) | P(ENCRYPT) | P(DECRYPT) | P(WRAP) |
                        P(UNWRAP) | P(SIGN) | P(VERIFY) | P(RNG)},
    {"crypto-service-encryption-user", P(READ) | P(WRAP) | P(UNWRAP)},
    {"crypto-service-release-user", P(RELEASE)},
    {"reader", P(READ)},
};
#define NROLES (sizeof ROLES / sizeof ROLES[0])
#undef P

unsigned cloak_vault_role_perms(const char *role, const char **canonical)
{
    if (!role) return 0;
    /* "Key Vault Crypto Officer", "crypto officer", "Crypto-Officer" -> "crypto-officer" */
    char buf[64];
    size_t n = strlen(role);
    if (n >= sizeof buf) return 0;
    if (!strncasecmp(role, "key vault ", 10)) role += 10, n -= 10;
    for (size_t i = 0; i <= n; i++)
        buf[i] = role[i] == ' ' ? '-' : (char)tolower((unsigned char)role[i]);
    for (size_t i = 0; i < NROLES; i++)
        if (!strcmp(buf, ROLES[i].name)) {
            if (canonical) *canonical = ROLES[i].name;
            return ROLES[i].perms;
        }
    return 0;
}

static void known_roles(char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < NROLES && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? ", " : "", ROLES[i].name);
}

/* ---- the local issuer's key ------------------------------------------------------------- */

static cloak_err key_from_pem(const uint8_t *pem, size_t len, const char *path, EVP_PKEY **out,
                              cloak_error *why)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!k) return cloak_error_openssl(why, CLOAK_EINVAL, path);
    if (cloak_jws_alg_for_key(k) != CLOAK_JWS_ES256) {
        EVP_PKEY_free(k);
        return cloak_error_set(why, CLOAK_EINVAL,
                               "%s is not an EC P-256 key (the vault signs tokens with ES256); "
                               "move it away and a new key is created",
                               path);
    }
    *out = k;
    return CLOAK_OK;
}

/* Load DATA_DIR/token.key, creating it (0600) when missing. Two processes creating it at once
 * end up with the same key: each writes its own temp file and link(2) lets only one in. */
static cloak_err token_key(const char *data_dir, EVP_PKEY **out, cloak_error *why)
{
    char path[4096], tmp[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/token.key", data_dir) >= sizeof path)
        return cloak_error_set(why, CLOAK_EINVAL, "data directory path too long");
    cloak_err rc = CLOAK_OK;
    EVP_PKEY *k = NULL;
    BIO *b = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        uint8_t *pem = NULL;
        size_t len = 0;
        rc = cloak_file_read(path, &pem, &len, why);
        if (rc == CLOAK_OK) {
            rc = key_from_pem(pem, len, path, out, why);
            cloak_free_secret(pem, len);
            return rc;
        }
        if (rc != CLOAK_ENOTFOUND) return rc;
        if ((rc = cloak_mkdirs(data_dir, 0700, why))) return rc;
        uint8_t rnd[8];
        char *hex = NULL;
        if (RAND_bytes(rnd, sizeof rnd) != 1 || !(hex = cloak_hex_encode(rnd, sizeof rnd)))
            return cloak_error_openssl(why, CLOAK_EINTERNAL, "token key: random name");
        snprintf(tmp, sizeof tmp, "%s.new-%s", path, hex);
        free(hex);
        if (!(k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")))
            return cloak_error_openssl(why, CLOAK_EINTERNAL, "token key: EC P-256 keygen");
        char *data = NULL;
        long dl;
        if (!(b = BIO_new(BIO_s_secmem())) ||
            !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) ||
            (dl = BIO_get_mem_data(b, &data)) <= 0) {
            rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "token key: PEM encoding");
            goto out;
        }
        if ((rc = cloak_file_write(tmp, (const uint8_t *)data, (size_t)dl, 0600, why))) goto out;
        int linked = link(tmp, path) == 0, err = errno;
        unlink(tmp);
        BIO_free(b);
        b = NULL;
        if (linked) {
            *out = k;
            return CLOAK_OK;
        }
        EVP_PKEY_free(k);
        k = NULL;
        if (err != EEXIST)
            return cloak_error_set(why, CLOAK_EIO, "cannot create %s: %s", path, strerror(err));
        /* someone else created it meanwhile: read theirs */
    }
    rc = cloak_error_set(why, CLOAK_EIO, "cannot create or read %s", path);
out:
    BIO_free(b);
    EVP_PKEY_free(k);
    return rc;
}

/* ---- issuing ---------------------------------------------------------------------------- */

cloak_err cloak_vault_token_issue(const char *data_dir, const char *role, const char *subject,
                                  unsigned ttl_seconds, char **token, cloak_error *why)
{
    return cloak_vault_token_issue_at(data_dir, role, subject, time(NULL), ttl_seconds, token, why);
}

cloak_err cloak_vault_token_issue_at(const char *data_dir, const char *role, const char *subject,
                                     time_t not_before, unsigned ttl_seconds, char **token,
                                     cloak_error *why)
{
    if (!data_dir || !*data_dir || !token)
        return cloak_error_set(why, CLOAK_EINVAL, "vault token: no data directory or output");
    const char *canon = NULL;
    char list[200];
    if (!cloak_vault_role_perms(role, &canon)) {
        known_roles(list, sizeof list);
        return cloak_error_set(why, CLOAK_EINVAL, "unknown role \"%.64s\" (one of: %s)",
                               role ? role : "", list);
    }
    if (!subject || !*subject || strlen(subject) >= sizeof(((cloak_vault_principal *)0)->subject))
        return cloak_error_set(why, CLOAK_EINVAL, "the subject must be 1..255 bytes");
    EVP_PKEY *k = NULL;
    cloak_err rc = token_key(data_dir, &k, why);
    if (rc) return rc;
    json_t *claims = NULL, *hdr = NULL;
    char *payload = NULL, jti[33], kid[CLOAK_JWK_THUMBPRINT_LEN + 1];
    uint8_t rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "vault token: jti");
        goto out;
    }
    cloak_hex_write(jti, rnd, sizeof rnd);
    if ((rc = cloak_jwk_thumbprint_key(k, kid, why))) goto out;
    json_int_t now = (json_int_t)not_before;
    json_int_t exp = now + (json_int_t)(ttl_seconds ? ttl_seconds : DEFAULT_TTL);
    claims = json_pack("{s:s,s:s,s:[s],s:I,s:I,s:I,s:s}", "iss", CLOAK_VAULT_LOCAL_ISSUER, "sub",
                       subject, "roles", canon, "iat", now, "nbf", now, "exp", exp, "jti", jti);
    hdr = json_pack("{s:s,s:s}", "typ", "JWT", "kid", kid);
    if (!claims || !hdr) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "the subject is not valid UTF-8");
        goto out;
    }
    if (!(payload = json_dumps(claims, JSON_COMPACT))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    rc = cloak_jws_sign(k, CLOAK_JWS_ES256, hdr, (const uint8_t *)payload, strlen(payload), token,
                        why);
out:
    free(payload);
    json_decref(claims);
    json_decref(hdr);
    EVP_PKEY_free(k);
    return rc;
}

/* ---- the verifier ----------------------------------------------------------------------- */

typedef struct {
    int used;
    uint8_t hash[SHA256_DIGEST_LENGTH];
    long long not_before; /* max(nbf, iat), LLONG_MIN when neither */
    long long exp;
    cloak_vault_principal who;
} cache_slot;

struct cloak_vault_auth {
    unsigned magic;
    EVP_PKEY *local_key; /* NULL: no data directory, local tokens refused */
    char **issuers;      /* normalised (no trailing '/') */
    size_t nissuers;
    char *audience;
    cloak_attest_rp *rp;
    pthread_mutex_t lock; /* guards cache, entries, sig_checks */
    cache_slot *cache;
    size_t entries;
    unsigned long sig_checks;
};

static char *dup_norm(const char *s)
{
    char *d = strdup(s);
    if (d) {
        size_t n = strlen(d);
        if (n > 1 && d[n - 1] == '/') d[n - 1] = 0;
    }
    return d;
}

void cloak_vault_auth_free(cloak_vault_auth *a)
{
    if (!a || a->magic != AUTH_MAGIC) return;
    EVP_PKEY_free(a->local_key);
    for (size_t i = 0; i < a->nissuers; i++)
        free(a->issuers[i]);
    free(a->issuers);
    free(a->audience);
    cloak_attest_rp_free(a->rp);
    pthread_mutex_destroy(&a->lock);
    if (a->cache) cloak_free_secret(a->cache, CLOAK_VAULT_AUTH_CACHE_SLOTS * sizeof *a->cache);
    a->magic = 0;
    free(a);
}

cloak_err cloak_vault_auth_new(const cloak_vault_auth_config *cfg, cloak_vault_auth **out,
                               cloak_error *why)
{
    if (!cfg || !out) return cloak_error_set(why, CLOAK_EINVAL, "vault auth: no configuration");
    size_t ni = 0;
    while (cfg->oidc_issuers && cfg->oidc_issuers[ni])
        ni++;
    if (!cfg->data_dir && !ni)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "vault auth: no token issuer (a data directory for local tokens, "
                               "or OIDC issuers)");
    if (ni && (!cfg->audience || !*cfg->audience))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "vault auth: OIDC issuers need an audience (the aud their tokens "
                               "must carry)");
    cloak_err rc = CLOAK_OK;
    cloak_vault_auth *a = calloc(1, sizeof *a);
    if (!a) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    pthread_mutex_init(&a->lock, NULL);
    a->magic = AUTH_MAGIC;
    if (!(a->cache = calloc(CLOAK_VAULT_AUTH_CACHE_SLOTS, sizeof *a->cache)) ||
        (ni && !(a->issuers = calloc(ni, sizeof *a->issuers))) ||
        (cfg->audience && !(a->audience = dup_norm(cfg->audience)))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    for (; a->nissuers < ni; a->nissuers++)
        if (!(a->issuers[a->nissuers] = dup_norm(cfg->oidc_issuers[a->nissuers]))) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
    if (cfg->data_dir && (rc = token_key(cfg->data_dir, &a->local_key, why))) goto out;
    if (ni) {
        cloak_attest_rp_config rc_cfg = {
            .issuers = cfg->oidc_issuers,
            .ca_file = cfg->ca_file,
            .algs = CLOAK_JWS_ALLOW_RSA | CLOAK_JWS_ALLOW(CLOAK_JWS_ES256) |
                    CLOAK_JWS_ALLOW(CLOAK_JWS_ES384) | CLOAK_JWS_ALLOW(CLOAK_JWS_ES512),
            .slack_seconds = CLOAK_VAULT_AUTH_SLACK,
        };
        if ((rc = cloak_attest_rp_new(&rc_cfg, &a->rp, why))) {
            cloak_error_wrap(why, "vault auth: OIDC issuers");
            goto out;
        }
    }
    *out = a;
    a = NULL;
out:
    cloak_vault_auth_free(a);
    return rc;
}

unsigned long cloak_vault_auth_sig_checks(cloak_vault_auth *a)
{
    if (!a || a->magic != AUTH_MAGIC) return 0;
    pthread_mutex_lock(&a->lock);
    unsigned long n = a->sig_checks;
    pthread_mutex_unlock(&a->lock);
    return n;
}

size_t cloak_vault_auth_cache_entries(cloak_vault_auth *a)
{
    if (!a || a->magic != AUTH_MAGIC) return 0;
    pthread_mutex_lock(&a->lock);
    size_t n = a->entries;
    pthread_mutex_unlock(&a->lock);
    return n;
}

/* A refusal the caller answers with 401: CLOAK_EPERM, whatever the verifier's code, except
 * resource failures (out of memory, an issuer unreachable), which keep theirs. */
static cloak_err refuse(cloak_error *why, cloak_err rc)
{
    if (rc == CLOAK_ENOMEM || rc == CLOAK_EIO || rc == CLOAK_EINTERNAL) return rc;
    cloak_error_wrap(why, "bearer token refused");
    if (why) why->code = CLOAK_EPERM;
    return CLOAK_EPERM;
}

/* The unverified payload's iss (only to choose the verifier). */
static cloak_err peek_iss(const char *tok, size_t len, char *iss, size_t n, cloak_error *why)
{
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d2) return cloak_error_set(why, CLOAK_EPERM, "bearer token refused: not a JWT");
    uint8_t *p = NULL;
    size_t pl = 0;
    if (cloak_base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &p, &pl, NULL))
        return cloak_error_set(why, CLOAK_EPERM,
                               "bearer token refused: malformed JWT (payload is not base64url)");
    json_t *c = json_loadb((const char *)p, pl, JSON_REJECT_DUPLICATES, NULL);
    free(p);
    cloak_err rc = CLOAK_OK;
    const char *s = json_string_value(json_object_get(c, "iss"));
    if (!json_is_object(c))
        rc = cloak_error_set(why, CLOAK_EPERM,
                             "bearer token refused: malformed JWT (payload is not a JSON object)");
    else if (!s)
        rc = cloak_error_set(why, CLOAK_EPERM,
                             "bearer token refused: the token has no \"iss\" (issuer) claim");
    else if (strlen(s) >= n)
        rc = cloak_error_set(why, CLOAK_EPERM, "bearer token refused: the issuer is too long");
    else
        snprintf(iss, n, "%s", s);
    json_decref(c);
    return rc;
}

static int audience_ok(const json_t *aud, const char *want)
{
    size_t wl = strlen(want);
    const json_t *one = aud;
    for (size_t i = 0;; i++) {
        if (json_is_array(aud)) {
            if (i >= json_array_size(aud)) return 0;
            one = json_array_get(aud, i);
        } else if (i) {
            return 0;
        }
        const char *s = json_string_value(one);
        if (s) {
            size_t l = strlen(s);
            if (l > 1 && s[l - 1] == '/') l--;
            if (l == wl && !memcmp(s, want, wl)) return 1;
        }
    }
}

/* Roles and subject of verified claims into *who. */
static cloak_err principal_of(const json_t *c, const char *iss, cloak_vault_principal *who,
                              cloak_error *why)
{
    memset(who, 0, sizeof *who);
    const json_t *roles = json_object_get(c, "roles");
    if (!json_is_array(roles))
        return cloak_error_set(why, CLOAK_EPERM,
                               "bearer token refused: no \"roles\" claim (an array of role names)");
    size_t i, o = 0;
    const json_t *r;
    unsigned seen = 0; /* bit i: ROLES[i] listed */
    json_array_foreach(roles, i, r)
    {
        const char *canon = NULL;
        unsigned p = cloak_vault_role_perms(json_string_value(r), &canon);
        size_t k = 0;
        while (k < NROLES && ROLES[k].name != canon)
            k++;
        if (!p || k == NROLES || (seen & (1u << k))) continue; /* unknown, or already listed */
        seen |= 1u << k;
        who->perms |= p;
        o += (size_t)snprintf(who->roles + o, sizeof who->roles - o, "%s%s", o ? "," : "", canon);
        if (o >= sizeof who->roles) o = sizeof who->roles - 1;
    }
    if (!who->perms) {
        char list[200], *got = json_dumps(roles, JSON_COMPACT);
        known_roles(list, sizeof list);
        cloak_err rc = cloak_error_set(why, CLOAK_EPERM,
                                       "bearer token refused: no known role in the token (roles "
                                       "%.120s; this vault knows %s)",
                                       got ? got : "[]", list);
        free(got);
        memset(who, 0, sizeof *who);
        return rc;
    }
    const char *sub = NULL;
    static const char *const names[] = {"sub", "oid", "appid"};
    for (size_t k = 0; k < 3 && !sub; k++)
        sub = json_string_value(json_object_get(c, names[k]));
    if (!sub || !*sub || strlen(sub) >= sizeof who->subject || strlen(iss) >= sizeof who->issuer) {
        memset(who, 0, sizeof *who);
        return cloak_error_set(why, CLOAK_EPERM, "bearer token refused: %s",
                               sub && *sub ? "subject or issuer too long"
                                           : "no subject (sub, oid or appid claim)");
    }
    snprintf(who->subject, sizeof who->subject, "%s", sub);
    snprintf(who->issuer, sizeof who->issuer, "%s", iss);
    return CLOAK_OK;
}

static long long claim_time(const json_t *c, const char *name, long long dflt)
{
    const json_t *v = json_object_get(c, name);
    if (json_is_integer(v)) return (long long)json_integer_value(v);
    if (json_is_real(v)) return (long long)json_real_value(v);
    return dflt;
}

static int valid_at(const cache_slot *s, time_t now)
{
    long long n = (long long)now, slack = CLOAK_VAULT_AUTH_SLACK;
    return n - slack < s->exp && n + slack >= s->not_before;
}

/* Full verification of a token not in the cache. */
static cloak_err verify(cloak_vault_auth *a, const char *tok, size_t len, time_t now,
                        cloak_vault_principal *who, long long *not_before, long long *exp,
                        cloak_error *why)
{
    json_t *hdr = NULL, *claims = NULL;
    cloak_err rc = cloak_jws_peek_header(tok, len, &hdr, why);
    if (rc) return refuse(why, rc);
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    int none = alg && !strcasecmp(alg, "none");
    json_decref(hdr);
    if (none)
        return cloak_error_set(why, CLOAK_EPERM,
                               "bearer token refused: unsecured token (alg \"none\"): it carries "
                               "no signature");
    char iss[512];
    if ((rc = peek_iss(tok, len, iss, sizeof iss, why))) return rc;
    if (!strcmp(iss, CLOAK_VAULT_LOCAL_ISSUER)) {
        if (!a->local_key)
            return cloak_error_set(why, CLOAK_EPERM,
                                   "bearer token refused: local tokens (%s) are not accepted: "
                                   "this vault has no data directory",
                                   CLOAK_VAULT_LOCAL_ISSUER);
        pthread_mutex_lock(&a->lock);
        a->sig_checks++;
        pthread_mutex_unlock(&a->lock);
        cloak_jwt_opts o = {.algs = CLOAK_JWS_ALLOW(CLOAK_JWS_ES256),
                            .now = now,
                            .slack_seconds = CLOAK_VAULT_AUTH_SLACK,
                            .flags = CLOAK_JWT_REQUIRE_EXP,
                            .issuer = CLOAK_VAULT_LOCAL_ISSUER};
        if ((rc = cloak_jwt_verify(tok, len, a->local_key, &o, NULL, &claims, why))) {
            if (rc == CLOAK_EVERIFY && why && !strncmp(why->msg, "JWS signature", 13))
                cloak_error_set(why, rc,
                                "the signature does not verify under this vault's token key "
                                "(DATA_DIR/token.key): the token was altered or issued by "
                                "another vault");
            return refuse(why, rc);
        }
    } else {
        char norm[512];
        snprintf(norm, sizeof norm, "%s", iss);
        size_t nl = strlen(norm);
        if (nl > 1 && norm[nl - 1] == '/') norm[nl - 1] = 0;
        size_t i = 0;
        while (i < a->nissuers && strcmp(a->issuers[i], norm))
            i++;
        if (i == a->nissuers)
            return cloak_error_set(why, CLOAK_EPERM,
                                   "bearer token refused: issuer \"%.160s\" is not trusted by this "
                                   "vault",
                                   iss);
        pthread_mutex_lock(&a->lock);
        a->sig_checks++;
        pthread_mutex_unlock(&a->lock);
        if ((rc = cloak_attest_rp_verify(a->rp, tok, len, now, &claims, why)))
            return refuse(why, rc);
        const json_t *aud = json_object_get(claims, "aud");
        if (!audience_ok(aud, a->audience)) {
            char *got = aud ? json_dumps(aud, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            rc = cloak_error_set(why, CLOAK_EPERM,
                                 "bearer token refused: wrong audience %.160s (this vault "
                                 "takes tokens for \"%.160s\")",
                                 got ? got : "(none)", a->audience);
            free(got);
            json_decref(claims);
            return rc;
        }
    }
    if ((rc = principal_of(claims, iss, who, why)) == CLOAK_OK) {
        long long nbf = claim_time(claims, "nbf", LLONG_MIN),
                  iat = claim_time(claims, "iat", LLONG_MIN);
        *not_before = nbf > iat ? nbf : iat;
        *exp = claim_time(claims, "exp", LLONG_MIN); /* both verifiers require exp */
    }
    json_decref(claims);
    return rc;
}

static int b64url_char(int c)
{
    return isalnum(c) || c == '-' || c == '_';
}

cloak_err cloak_vault_auth_check(cloak_vault_auth *a, const char *authorization, time_t now,
                                 cloak_vault_principal *who, cloak_error *why)
{
    if (!a || a->magic != AUTH_MAGIC || !who)
        return cloak_error_set(why, CLOAK_EINVAL, "vault auth: no verifier or output");
    const char *s = authorization;
    while (s && (*s == ' ' || *s == '\t'))
        s++;
    if (!s || !*s)
        return cloak_error_set(why, CLOAK_EPERM, "Request is missing a Bearer or PoP token.");
    size_t sl = strcspn(s, " \t");
    if (sl != 6 || strncasecmp(s, "Bearer", 6)) {
        char scheme[24];
        size_t k = 0;
        for (; k < sl && k < sizeof scheme - 1; k++)
            scheme[k] = isgraph((unsigned char)s[k]) ? s[k] : '?';
        scheme[k] = 0;
        return cloak_error_set(why, CLOAK_EPERM,
                               "the Authorization header uses the \"%s\" scheme; this vault "
                               "takes \"Bearer <token>\"",
                               scheme);
    }
    const char *tok = s + sl;
    while (*tok == ' ' || *tok == '\t')
        tok++;
    size_t len = strlen(tok);
    while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t' || tok[len - 1] == '\r' ||
                   tok[len - 1] == '\n'))
        len--;
    if (!len)
        return cloak_error_set(why, CLOAK_EPERM,
                               "the Authorization header says Bearer but carries no token");
    if (len > CLOAK_ATTEST_MAX_TOKEN)
        return cloak_error_set(why, CLOAK_EPERM, "bearer token refused: longer than %u bytes",
                               CLOAK_ATTEST_MAX_TOKEN);
    size_t dots = 0;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] == '.')
            dots++;
        else if (!b64url_char((unsigned char)tok[i]))
            return cloak_error_set(why, CLOAK_EPERM,
                                   "bearer token refused: malformed (a JWT is three base64url "
                                   "parts joined by '.', character %zu is not)",
                                   i);
    }
    if (dots != 2)
        return cloak_error_set(why, CLOAK_EPERM,
                               "bearer token refused: malformed (a JWT has three parts, this "
                               "has %zu)",
                               dots + 1);

    uint8_t h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)tok, len, h);
    size_t slot = (((size_t)h[0] << 8) | h[1]) % CLOAK_VAULT_AUTH_CACHE_SLOTS;
    pthread_mutex_lock(&a->lock);
    cache_slot *c = &a->cache[slot];
    if (c->used && !CRYPTO_memcmp(c->hash, h, sizeof h)) {
        if (valid_at(c, now)) {
            *who = c->who;
            pthread_mutex_unlock(&a->lock);
            return CLOAK_OK;
        }
        /* out of its validity: drop it; the full check below says why */
        OPENSSL_cleanse(c, sizeof *c);
        a->entries--;
    }
    pthread_mutex_unlock(&a->lock);

    cloak_vault_principal p;
    long long nb = LLONG_MIN, exp = LLONG_MIN;
    cloak_err rc = verify(a, tok, len, now, &p, &nb, &exp, why);
    if (rc) return rc;
    pthread_mutex_lock(&a->lock);
    c = &a->cache[slot];
    if (!c->used) a->entries++;
    c->used = 1;
    memcpy(c->hash, h, sizeof h);
    c->not_before = nb;
    c->exp = exp;
    c->who = p;
    pthread_mutex_unlock(&a->lock);
    *who = p;
    return CLOAK_OK;
}
