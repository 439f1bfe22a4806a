/*
 * cloak vault client: a C client for the Azure Key Vault keys REST API as `cloak vault serve`
 * speaks it (docs/VAULT.md), api-version 7.6. One cloak_vault_client wraps one
 * cloak_http_client, so consecutive calls reuse a kept-alive HTTPS connection.
 *
 * Trust: the vault is reached over HTTPS only, its certificate verified against ca_file (or
 * the system roots). Its answers are still untrusted input: every member is type-checked, a
 * list's nextLink is followed only when it points below the vault URL this client was made
 * with (the bearer token goes nowhere else), and a release JWS is verified before its payload
 * is believed (see cloak_vault_release_open). The bearer token is a secret: it is copied once
 * into the client, never logged or put into an error message, and wiped on free (libcurl keeps
 * a transient copy of each request's headers, which it frees without wiping). Plaintext that
 * passes through the client (encrypt/wrap input, decrypt/unwrap output) is wiped from the
 * client's own buffers; the caller wipes its results with cloak_vault_crypt_result_clear.
 *
 * Errors: a vault refusal {"error":{"code","message","innererror"?:{"code"}}} becomes `why`
 * "HTTP 403 Forbidden (PolicyNotSatisfied): <message>" with cloak_err 401/403 -> CLOAK_EPERM,
 * 404 -> CLOAK_ENOTFOUND, 409 -> CLOAK_EEXIST, 400 -> CLOAK_EINVAL, anything else (5xx, a
 * malformed answer, a transport failure) -> CLOAK_EIO. cloak_vault_client_last gives the
 * status and codes of the last answer for callers that branch on them.
 *
 * Thread-safety: a client belongs to one thread at a time; use one client per thread.
 * Memory: json_t results are new references the caller owns (json_decref); bytes are
 * malloc'd (free, or the *_clear functions that wipe). On failure the out-parameters are left
 * empty (NULL / zeroed), so the caller's cleanup is the same on both paths.
 */
#ifndef CLOAK_VAULT_H
#define CLOAK_VAULT_H

#include "cloak/base.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_VAULT_API_VERSION "7.6"

typedef struct cloak_vault_client cloak_vault_client;

/* url: the vault's base URL ("https://host:port", a trailing '/' is ignored); ca_file: CA
 * certificates to trust for it (NULL = system roots); token: the bearer token (a JWT from
 * `cloak vault token` or an OIDC issuer), copied. Nothing is sent yet. */
cloak_err cloak_vault_client_new(const char *url, const char *ca_file, const char *token,
                                 cloak_vault_client **out, cloak_error *why) CLOAK_MUST_CHECK;
/* Wipes the token copy and closes the connection. NULL is fine. */
void cloak_vault_client_free(cloak_vault_client *c);
/* The base URL in use (no trailing '/'). */
const char *cloak_vault_client_url(const cloak_vault_client *c);

/* What the vault answered last (status 0 when no answer was received). */
typedef struct {
    long status;          /* HTTP status */
    char code[64];        /* error.code ("KeyNotFound"), "" on success */
    char inner[64];       /* error.innererror.code ("PolicyNotSatisfied"), "" when absent */
    char request_id[64];  /* x-ms-request-id, for matching the vault's audit log */
    long new_connections; /* 0 when a kept-alive connection was reused */
} cloak_vault_status;
const cloak_vault_status *cloak_vault_client_last(const cloak_vault_client *c);

/* A raw call: method, a path below the vault URL ("/keys/k1/rotate"; "?api-version=7.6" is
 * appended, or "&api-version=7.6" when the path has a query), an optional JSON body. On 2xx
 * *out is the parsed answer (NULL for an empty one, e.g. 204); other statuses are errors as
 * above. For routes without a dedicated function (update, rotate, backup, rng). */
cloak_err cloak_vault_call(cloak_vault_client *c, const char *method, const char *path,
                           const json_t *body, json_t **out, cloak_error *why) CLOAK_MUST_CHECK;

/* ---- key management ---- */
typedef struct {
    const char *kty;            /* "RSA", "RSA-HSM", "EC", "EC-HSM", "oct", "oct-HSM" */
    unsigned key_size;          /* RSA 2048/3072/4096, oct 128/192/256; 0 = the vault's default */
    const char *crv;            /* EC: "P-256", "P-384", "P-521", "P-256K"; NULL = P-256 */
    const char *const *key_ops; /* NULL-terminated ("sign", "verify", ...); NULL = by type */
    int exportable;             /* 1: releasable (needs release_policy) */
    const char *release_policy; /* the policy JSON document (grammar 1.0.0), NULL = none */
    int release_policy_immutable;
    const json_t *tags; /* an object of string values, NULL = none */
    int disabled;       /* 1: created with enabled = false */
    int64_t nbf, exp;   /* seconds since 1970; 0 = not set */
} cloak_vault_key_spec;

/* POST /keys/{name}/create; *bundle the key bundle {"key","attributes","tags",...}. */
cloak_err cloak_vault_key_create(cloak_vault_client *c, const char *name,
                                 const cloak_vault_key_spec *spec, json_t **bundle,
                                 cloak_error *why) CLOAK_MUST_CHECK;
/* GET /keys/{name}[/{version}]; version NULL or "" = the latest. */
cloak_err cloak_vault_key_get(cloak_vault_client *c, const char *name, const char *version,
                              json_t **bundle, cloak_error *why) CLOAK_MUST_CHECK;
/* DELETE /keys/{name} (soft delete); *deleted (may be NULL) the deleted key bundle with
 * recoveryId, deletedDate, scheduledPurgeDate. */
cloak_err cloak_vault_key_delete(cloak_vault_client *c, const char *name, json_t **deleted,
                                 cloak_error *why) CLOAK_MUST_CHECK;
/* POST /deletedkeys/{name}/recover; *bundle (may be NULL) the recovered key bundle. */
cloak_err cloak_vault_key_recover(cloak_vault_client *c, const char *name, json_t **bundle,
                                  cloak_error *why) CLOAK_MUST_CHECK;
/* DELETE /deletedkeys/{name}: gone for good (the vault answers 204). */
cloak_err cloak_vault_key_purge(cloak_vault_client *c, const char *name,
                                cloak_error *why) CLOAK_MUST_CHECK;

typedef enum {
    CLOAK_VAULT_LIST_KEYS = 0, /* GET /keys: the latest version of each live key */
    CLOAK_VAULT_LIST_VERSIONS, /* GET /keys/{name}/versions */
    CLOAK_VAULT_LIST_DELETED,  /* GET /deletedkeys */
} cloak_vault_list_kind;
/* Called once per item ({"kid","attributes","tags"}, borrowed); return nonzero to stop early
 * (the list call then returns CLOAK_OK). */
typedef int (*cloak_vault_list_fn)(const json_t *item, void *arg);
/* Every page, following nextLink. name only for CLOAK_VAULT_LIST_VERSIONS. */
cloak_err cloak_vault_key_list(cloak_vault_client *c, cloak_vault_list_kind kind, const char *name,
                               cloak_vault_list_fn fn, void *arg,
                               cloak_error *why) CLOAK_MUST_CHECK;
/* The same, collected into a new JSON array. */
cloak_err cloak_vault_key_list_all(cloak_vault_client *c, cloak_vault_list_kind kind,
                                   const char *name, json_t **items,
                                   cloak_error *why) CLOAK_MUST_CHECK;

/* ---- key operations (the key never leaves the vault) ---- */
typedef struct {
    const char *alg;     /* "RSA-OAEP-256", "A256GCM", "A256KW", "RS256", ... (docs/VAULT.md) */
    const char *version; /* NULL = the latest version */
    const uint8_t *iv, *aad, *tag; /* AES-GCM/CBC only; NULL = not sent */
    size_t iv_len, aad_len, tag_len;
} cloak_vault_crypt_params;

typedef struct {
    uint8_t *value; /* ciphertext, plaintext, wrapped/unwrapped key or signature */
    size_t value_len;
    uint8_t *iv, *tag; /* encrypt with AES-GCM: the iv the vault chose and the tag */
    size_t iv_len, tag_len;
    char *kid; /* the key version that did the operation */
} cloak_vault_crypt_result;
/* Wipe and free the members (value may be plaintext). */
void cloak_vault_crypt_result_clear(cloak_vault_crypt_result *r);

cloak_err cloak_vault_encrypt(cloak_vault_client *c, const char *name,
                              const cloak_vault_crypt_params *p, const uint8_t *in, size_t len,
                              cloak_vault_crypt_result *out, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_decrypt(cloak_vault_client *c, const char *name,
                              const cloak_vault_crypt_params *p, const uint8_t *in, size_t len,
                              cloak_vault_crypt_result *out, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_wrap(cloak_vault_client *c, const char *name,
                           const cloak_vault_crypt_params *p, const uint8_t *in, size_t len,
                           cloak_vault_crypt_result *out, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_unwrap(cloak_vault_client *c, const char *name,
                             const cloak_vault_crypt_params *p, const uint8_t *in, size_t len,
                             cloak_vault_crypt_result *out, cloak_error *why) CLOAK_MUST_CHECK;
/* Sign a digest (the hash of the message by the alg's hash: SHA-256 for RS256/PS256/ES256/
 * ES256K, SHA-384 for *384, SHA-512 for *512); out->value is the signature (ECDSA as r||s). */
cloak_err cloak_vault_sign(cloak_vault_client *c, const char *name,
                           const cloak_vault_crypt_params *p, const uint8_t *digest,
                           size_t digest_len, cloak_vault_crypt_result *out,
                           cloak_error *why) CLOAK_MUST_CHECK;
/* *valid = 1 when the vault says the signature verifies, 0 when it says it does not (both
 * CLOAK_OK); an error only when the vault refused or failed. */
cloak_err cloak_vault_verify(cloak_vault_client *c, const char *name,
                             const cloak_vault_crypt_params *p, const uint8_t *digest,
                             size_t digest_len, const uint8_t *sig, size_t sig_len, int *valid,
                             cloak_error *why) CLOAK_MUST_CHECK;
/* The digest the alg signs: the message hashed with SHA-256/384/512; *md_len the size. */
cloak_err cloak_vault_digest(const char *alg, const uint8_t *msg, size_t len, uint8_t md[64],
                             size_t *md_len, cloak_error *why) CLOAK_MUST_CHECK;

/* ---- Secure Key Release ---- */
/* POST /keys/{name}[/{version}]/release {"target","nonce"?,"enc"?}: target an attestation
 * token whose claims satisfy the key's release policy; enc NULL = CKM_RSA_AES_KEY_WRAP (or
 * RSA_AES_KEY_WRAP_256 / _384). *jws (malloc'd) is the vault's signed answer. */
cloak_err cloak_vault_key_release(cloak_vault_client *c, const char *name, const char *version,
                                  const char *target, const char *nonce, const char *enc,
                                  char **jws, cloak_error *why) CLOAK_MUST_CHECK;

/* A release answer, opened. */
typedef struct {
    json_t *payload;     /* {"request":{...},"response":{"key":<bundle>}} */
    json_t *bundle;      /* payload.response.key (borrowed from payload) */
    json_t *key_hsm;     /* the decoded key_hsm {"schema_version","header","ciphertext"} */
    const char *kek_kid; /* key_hsm.header.kid: the runtime key it is wrapped for (borrowed) */
    const char *enc;     /* key_hsm.header.enc (borrowed) */
    uint8_t *ciphertext; /* RSA-OAEP(KEK, AES key) || RFC 5649 wrap(AES key, target key) */
    size_t ciphertext_len;
    EVP_PKEY *signer; /* the public key that verified the JWS (its x5c leaf) */
} cloak_vault_release;
/* Verify `jws` (RS256/PS256 and friends) with the public key of its own x5c leaf certificate
 * and decode it. The leaf is self-signed by the vault: to trust the answer, pass the vault's
 * release public key (DATA_DIR/release.pem) as `pinned`; the leaf must hold that key. pinned
 * NULL checks only that the JWS is intact (the caller must then authenticate the answer some
 * other way, e.g. by the TLS connection it came over). */
cloak_err cloak_vault_release_open(const char *jws, EVP_PKEY *pinned, cloak_vault_release *out,
                                   cloak_error *why) CLOAK_MUST_CHECK;
/* Unwrap the released key with the KEK's private key (the one whose public half was in the
 * attestation token's x-ms-runtime.keys): RSA-OAEP (SHA-1 for CKM_RSA_AES_KEY_WRAP, SHA-256 /
 * SHA-384 for RSA_AES_KEY_WRAP_256 / _384) then AES-256 key wrap with padding (RFC 5649).
 * *key (wipe it: cloak_free_secret) is PKCS#8 DER for RSA and EC keys, the raw bytes for oct. */
cloak_err cloak_vault_release_unwrap(const cloak_vault_release *r, EVP_PKEY *kek, uint8_t **key,
                                     size_t *key_len, cloak_error *why) CLOAK_MUST_CHECK;
void cloak_vault_release_clear(cloak_vault_release *r);

#ifdef __cplusplus
}
#endif
#endif
