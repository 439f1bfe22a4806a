/* Private to the vault service (service*.c): the service object, the request job every route
 * runs as, and the key metadata <-> Key Vault JSON mapping. */
#ifndef CLOAK_VAULT_SERVICE_INT_H
#define CLOAK_VAULT_SERVICE_INT_H

#include "cloak/attest.h"
#include "cloak/http.h"
#include "cloak/vault_service.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>

#include "vault/audit.h"
#include "vault/auth.h"
#include "vault/keyops.h"
#include "vault/store.h"

#define VAULT_RECOVERABLE_DAYS 90
#define VAULT_MAX_RESULTS 25
#define VAULT_NONCE_TTL (24 * 3600) /* a nonce is remembered at least this long */
#define VAULT_REL_CACHE 64          /* key versions whose release view is kept parsed */

struct cloak_vault_service {
    cloak_http_server *http;
    char *data_dir;
    char *url;      /* base URL, no trailing '/' */
    char *resource; /* the challenge's resource (= audience) */
    char *authority;
    char ca[4096];
    time_t test_time;
    cloak_vault_store *store;
    cloak_vault_keyops *ko;
    cloak_vault_auth *auth;
    cloak_vault_audit *audit;
    cloak_attest_rp *rp; /* trusted attestation issuers; NULL = release impossible */
    /* the release signing key (RS256) and its self-signed certificate */
    EVP_PKEY *rel_key;
    X509 *rel_cert;
    char *rel_x5c; /* standard base64 DER */
    char rel_x5t256[64];
    char rel_kid[64];
    /* what a release needs of a key version's metadata, parsed once (service_release.c) */
    pthread_mutex_t rel_mu;
    int rel_mu_ok;
    struct vrel_ent *rel_cache[VAULT_REL_CACHE];
    size_t rel_next;
};

/* One request, run on a worker: authorise, parse, do the operation, audit, then reply. */
typedef struct vjob vjob;
typedef void (*vop_fn)(vjob *j);
typedef struct {
    const char *name; /* audit operation name: "KeyCreate", ... */
    unsigned perm;    /* CLOAK_VAULT_PERM_* needed */
    int body;         /* 1: a JSON object body is required */
    vop_fn fn;
} vop;

struct vjob {
    cloak_vault_service *s;
    cloak_http_req *req;
    const vop *op;
    cloak_vault_principal who;
    json_t *body;               /* owned by the job */
    const char *name, *version; /* path parameters (version may be NULL) */
    time_t now;
    /* the answer */
    int status;
    json_t *reply;
    char code[48];
    char inner[48];
    char msg[CLOAK_ERROR_MAX + 128];
    int challenge; /* 401 with WWW-Authenticate */
};

/* Record an error answer; returns -1 so ops can `return vfail(...)`. inner may be NULL. */
int vfail(vjob *j, int status, const char *code, const char *inner, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Map a cloak_err from a component to an answer (EINVAL -> 400 BadParameter, ENOTFOUND -> 404
 * KeyNotFound, EEXIST -> 409 Conflict, EVERIFY -> 400, EPERM -> 403, else 500). */
int vfail_err(vjob *j, const cloak_error *e);
void vok(vjob *j, int status, json_t *reply);
/* Run `op` for this request on a worker (the route handlers call this). */
void vault_start_job(cloak_http_req *req, const vop *op);

/* service_routes.c */
extern const cloak_http_route vault_routes[];
extern const size_t vault_nroutes;

/* service_meta.c: key metadata (the store's meta JSON) and the Key Vault shapes. */
int vault_name_ok(const char *name);
void vault_new_version(char out[33]);
/* {"key":{kid,kty,key_ops,...public},"attributes":{...},"tags":{},"release_policy"?} */
json_t *vault_bundle(const cloak_vault_service *s, const char *name, const char *version,
                     const json_t *meta);
/* The list item: {"kid","attributes","tags","managed"?} (kid without version when
 * with_version is 0). */
json_t *vault_item(const cloak_vault_service *s, const char *name, const char *version,
                   const json_t *meta, int with_version);
/* Adds recoveryId, deletedDate, scheduledPurgeDate from the deletion JSON. */
void vault_add_deleted(const cloak_vault_service *s, json_t *bundle, const char *name,
                       const char *deleted);
/* A usable key for an operation at `now`: enabled, within nbf/exp (exp only for the operations
 * that make new ciphertext or signatures), key_ops allowing `opname`. 0 or vfail. */
int vault_key_usable(vjob *j, const json_t *meta, const char *opname, int needs_fresh);
/* The same checks from already extracted attributes (disabled: enabled is false; nbf/exp 0 when
 * absent), without the key_ops check. 0 or vfail. */
int vault_key_usable_at(vjob *j, int disabled, json_int_t nbf, json_int_t exp, const char *opname,
                        int needs_fresh);
/* Load the live key record (j->name, j->version or latest) without parsing its meta. 0 or vfail
 * (404). */
int vault_load_rec(vjob *j, cloak_vault_keyrec *rec);
/* Parse rec->meta. 0 or vfail (500, corrupt metadata); rec is left as it is. */
int vault_meta_parse(vjob *j, const cloak_vault_keyrec *rec, json_t **meta);
/* Load the live key (j->name, j->version or latest) and its meta. 0 or vfail (404). */
int vault_load(vjob *j, cloak_vault_keyrec *rec, json_t **meta);
char *vault_bind(const char *name, const char *version); /* malloc'd "name/version" */

/* service_keys.c: key management ops; service_crypto.c: key operations and release. */
void op_create(vjob *j);
void op_import(vjob *j);
void op_get(vjob *j);
void op_list(vjob *j);
void op_versions(vjob *j);
void op_update(vjob *j);
void op_delete(vjob *j);
void op_get_deleted(vjob *j);
void op_list_deleted(vjob *j);
void op_recover(vjob *j);
void op_purge(vjob *j);
void op_rotate(vjob *j);
void op_backup(vjob *j);
void op_restore(vjob *j);
void op_rng(vjob *j);
void op_get_rotation_policy(vjob *j);
void op_put_rotation_policy(vjob *j);
void op_encrypt(vjob *j);
void op_decrypt(vjob *j);
void op_wrap(vjob *j);
void op_unwrap(vjob *j);
void op_sign(vjob *j);
void op_verify(vjob *j);
void op_release(vjob *j);

/* service_release.c: the release signing key (DATA_DIR/release.key, .pem). */
cloak_err vault_release_key_load(cloak_vault_service *s, cloak_error *why) CLOAK_MUST_CHECK;
void vault_release_key_free(cloak_vault_service *s);

#endif
