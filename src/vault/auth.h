/*
 * vault auth: bearer tokens and role-based access control modelled on Key Vault's built-in
 * roles.
 *
 * Tokens are JWTs. The vault's own issuer ("local" tokens, for `cloak vault token`) signs with
 * an ES256 key kept in DATA_DIR/token.key (created 0600 on first use); its iss is
 * CLOAK_VAULT_LOCAL_ISSUER. Other issuers are OIDC issuers whose JWKS is fetched through
 * include/cloak/attest.h's relying party; their tokens must carry aud = the configured
 * audience. Roles come from the "roles" claim (an array of role names).
 *
 * A verified token is cached (by SHA-256 of the token) until it expires, so a client sending
 * the same bearer token on every request pays for one signature check.
 *
 * Thread-safety: a cloak_vault_auth may be shared by threads (internal mutex).
 */
#ifndef CLOAK_VAULT_AUTH_H
#define CLOAK_VAULT_AUTH_H

#include "cloak/base.h"

#include <stddef.h>
#include <time.h>

#define CLOAK_VAULT_LOCAL_ISSUER "urn:cloak:vault:local"

/* Permissions (data actions). */
enum {
    CLOAK_VAULT_PERM_READ = 1u << 0,    /* get key, list keys and versions, rotation policy */
    CLOAK_VAULT_PERM_WRITE = 1u << 1,   /* create, import, update, rotate, set rotation policy */
    CLOAK_VAULT_PERM_DELETE = 1u << 2,  /* delete */
    CLOAK_VAULT_PERM_DELETED = 1u << 3, /* get and list deleted keys */
    CLOAK_VAULT_PERM_RECOVER = 1u << 4,
    CLOAK_VAULT_PERM_PURGE = 1u << 5,
    CLOAK_VAULT_PERM_BACKUP = 1u << 6,
    CLOAK_VAULT_PERM_RESTORE = 1u << 7,
    CLOAK_VAULT_PERM_ENCRYPT = 1u << 8,
    CLOAK_VAULT_PERM_DECRYPT = 1u << 9,
    CLOAK_VAULT_PERM_WRAP = 1u << 10,
    CLOAK_VAULT_PERM_UNWRAP = 1u << 11,
    CLOAK_VAULT_PERM_SIGN = 1u << 12,
    CLOAK_VAULT_PERM_VERIFY = 1u << 13,
    CLOAK_VAULT_PERM_RELEASE = 1u << 14,
    CLOAK_VAULT_PERM_RNG = 1u << 15,
    /* Update attributes and tags (PATCH) only: crypto-user may update but not create, so this
     * is its own bit. Every role with WRITE has it too; a route for PATCH checks UPDATE. */
    CLOAK_VAULT_PERM_UPDATE = 1u << 16,
};

/* Roles: short names (as `cloak vault token --role` takes them) and Azure's display names
 * ("Key Vault Crypto Officer") are both accepted, case-insensitively.
 *   administrator                  everything
 *   crypto-officer                 everything on keys (including purge and release)
 *   crypto-user                    read, update (not create/import/delete), backup,
 *                                  encrypt/decrypt/wrap/unwrap/sign/verify, rng
 *   crypto-service-encryption-user read, wrap, unwrap
 *   crypto-service-release-user    release
 *   reader                         read (metadata and public keys only)
 * Returns the permission bits, 0 for an unknown role. *canonical (may be NULL) gets the
 * short name. */
unsigned cloak_vault_role_perms(const char *role, const char **canonical);

typedef struct {
    char subject[256]; /* sub (or oid, appid) of the token */
    char issuer[512];
    unsigned perms;  /* the union of the token's roles' permissions */
    char roles[256]; /* the canonical role names, comma-separated, for the audit log */
} cloak_vault_principal;

typedef struct {
    const char *data_dir;            /* DATA_DIR/token.key: the local issuer's key */
    const char *const *oidc_issuers; /* NULL-terminated, may be NULL: other trusted issuers */
    const char *ca_file;             /* for reaching them; NULL = system roots */
    const char *audience;            /* aud their tokens must carry (required with issuers) */
} cloak_vault_auth_config;

typedef struct cloak_vault_auth cloak_vault_auth;

cloak_err cloak_vault_auth_new(const cloak_vault_auth_config *cfg, cloak_vault_auth **out,
                               cloak_error *why) CLOAK_MUST_CHECK;
void cloak_vault_auth_free(cloak_vault_auth *a);

/* Check an Authorization header value ("Bearer <jwt>"; NULL when absent) at time `now`.
 * CLOAK_EPERM (the caller answers 401) for: absent ("Request is missing a Bearer or PoP
 * token."), not Bearer, malformed, bad signature, unknown issuer, wrong audience, expired, not
 * yet valid, no known role -- each with its own message. On success fills *who. */
cloak_err cloak_vault_auth_check(cloak_vault_auth *a, const char *authorization, time_t now,
                                 cloak_vault_principal *who, cloak_error *why) CLOAK_MUST_CHECK;

/* Issue a local token (what `cloak vault token` prints): iss CLOAK_VAULT_LOCAL_ISSUER, sub,
 * roles [role], iat/nbf/exp (ttl seconds; 0 = 8 hours), jti; ES256 with the data directory's
 * key (created when missing). The role must be known. *token is malloc'd. */
cloak_err cloak_vault_token_issue(const char *data_dir, const char *role, const char *subject,
                                  unsigned ttl_seconds, char **token,
                                  cloak_error *why) CLOAK_MUST_CHECK;
/* The same with iat = nbf = not_before (tests that shift the service's clock). */
cloak_err cloak_vault_token_issue_at(const char *data_dir, const char *role, const char *subject,
                                     time_t not_before, unsigned ttl_seconds, char **token,
                                     cloak_error *why) CLOAK_MUST_CHECK;

/* Clock skew tolerated for exp/nbf/iat of bearer tokens (local and OIDC). */
#define CLOAK_VAULT_AUTH_SLACK 60u
/* Slots of the verified-token cache (direct-mapped by the token's SHA-256: a collision evicts,
 * so the cache never holds more than this many tokens). */
#define CLOAK_VAULT_AUTH_CACHE_SLOTS 1024u

/* For tests and metrics: full token verifications (signature checks) done so far, and tokens
 * currently cached. */
unsigned long cloak_vault_auth_sig_checks(cloak_vault_auth *a);
size_t cloak_vault_auth_cache_entries(cloak_vault_auth *a);

#endif
