/*
 * vault store: the vault's keys in SQLite (WAL mode). A key is a name with versions; each
 * version row holds the service's metadata document (JSON text: kty, key_ops, public JWK,
 * attributes, tags, release_policy; the store does not interpret it) and the key blob
 * (ciphertext from the enclave, see keyops.h). A key name is live, or soft-deleted (all its
 * versions at once) until it is recovered or purged.
 *
 * Durability: every function that changes keys commits before it returns, with
 * synchronous=FULL, so an acknowledged write survives a crash of the process or the machine.
 * Release nonces are the exception (synchronous=NORMAL: they survive a crash of the process,
 * which is what replay protection within a token's lifetime needs, not a power loss).
 *
 * Errors: CLOAK_ENOTFOUND (no such live key / version / deleted key), CLOAK_EEXIST (a name
 * that is soft-deleted cannot be reused or restored; a version that exists; a replayed nonce),
 * CLOAK_EIO (SQLite failed: the message carries sqlite3_errmsg and the file).
 *
 * Thread-safety: one store may be used from several threads; calls are serialised by a mutex.
 */
#ifndef CLOAK_VAULT_STORE_H
#define CLOAK_VAULT_STORE_H

#include "cloak/base.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cloak_vault_store cloak_vault_store;

typedef struct {
    char *name;
    char *version; /* 32 lowercase hex */
    int64_t seq;   /* insertion order across the store; the latest version has the largest */
    char *meta;    /* the service's JSON text */
    uint8_t *blob; /* NULL in list results */
    size_t blob_len;
    char *deleted; /* NULL for a live key; else the deletion JSON text given to _delete */
} cloak_vault_keyrec;
void cloak_vault_keyrec_clear(cloak_vault_keyrec *r);
void cloak_vault_keyrecs_free(cloak_vault_keyrec *r, size_t n);

/* Open or create the database file (0600), WAL, synchronous=FULL, foreign keys, a busy
 * timeout; create or check the schema (a file with a newer schema version is refused). */
cloak_err cloak_vault_store_open(const char *path, cloak_vault_store **out,
                                 cloak_error *why) CLOAK_MUST_CHECK;
void cloak_vault_store_close(cloak_vault_store *s);

/* A new version of a key (create, import, rotate). EEXIST if the name is soft-deleted (the
 * message says so: "deleted but recoverable") or the version exists. */
cloak_err cloak_vault_store_put_version(cloak_vault_store *s, const char *name, const char *version,
                                        const char *meta, const uint8_t *blob, size_t blob_len,
                                        cloak_error *why) CLOAK_MUST_CHECK;
/* The latest (version NULL) or the given version of a live key, with its blob. */
cloak_err cloak_vault_store_get(cloak_vault_store *s, const char *name, const char *version,
                                cloak_vault_keyrec *out, cloak_error *why) CLOAK_MUST_CHECK;
/* Replace a live version's metadata. */
cloak_err cloak_vault_store_update_meta(cloak_vault_store *s, const char *name, const char *version,
                                        const char *meta, cloak_error *why) CLOAK_MUST_CHECK;

/* Pages. Live keys by name (the latest version of each), names after `after` (NULL = from the
 * start), at most `max`; versions of one live key by seq after `after_seq` (0 = from the
 * start); soft-deleted keys by name (the latest version, `deleted` set). *more is 1 when
 * another page follows. Blobs are not loaded. *recs is malloc'd (free with _keyrecs_free). */
cloak_err cloak_vault_store_list_keys(cloak_vault_store *s, const char *after, size_t max,
                                      cloak_vault_keyrec **recs, size_t *n, int *more,
                                      cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_store_list_versions(cloak_vault_store *s, const char *name, int64_t after_seq,
                                          size_t max, cloak_vault_keyrec **recs, size_t *n,
                                          int *more, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_store_list_deleted(cloak_vault_store *s, const char *after, size_t max,
                                         cloak_vault_keyrec **recs, size_t *n, int *more,
                                         cloak_error *why) CLOAK_MUST_CHECK;

/* Soft-delete a live key (all versions); `deleted` is the service's JSON text (deletedDate,
 * scheduledPurgeDate, recoveryId). */
cloak_err cloak_vault_store_delete(cloak_vault_store *s, const char *name, const char *deleted,
                                   cloak_error *why) CLOAK_MUST_CHECK;
/* The latest version of a soft-deleted key, `deleted` set. */
cloak_err cloak_vault_store_get_deleted(cloak_vault_store *s, const char *name,
                                        cloak_vault_keyrec *out, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_store_recover(cloak_vault_store *s, const char *name,
                                    cloak_error *why) CLOAK_MUST_CHECK;
/* Remove a soft-deleted key and all its versions for good. */
cloak_err cloak_vault_store_purge(cloak_vault_store *s, const char *name,
                                  cloak_error *why) CLOAK_MUST_CHECK;

/* Every version of a live key, oldest first, with blobs (backup). */
cloak_err cloak_vault_store_all_versions(cloak_vault_store *s, const char *name,
                                         cloak_vault_keyrec **recs, size_t *n,
                                         cloak_error *why) CLOAK_MUST_CHECK;
/* Restore versions (name/version/meta/blob of each; all the same name) in one transaction, in
 * the given order. EEXIST if the name exists, live or soft-deleted. */
cloak_err cloak_vault_store_restore(cloak_vault_store *s, const cloak_vault_keyrec *recs, size_t n,
                                    cloak_error *why) CLOAK_MUST_CHECK;

/* Record a release nonce until `expires` (unix seconds); EEXIST if it is already recorded and
 * not expired. Expired nonces are pruned now and then. */
cloak_err cloak_vault_store_nonce_use(cloak_vault_store *s, const char *nonce, int64_t now,
                                      int64_t expires, cloak_error *why) CLOAK_MUST_CHECK;

/* Small named values (the audit chain head, settings): put replaces; get -> ENOTFOUND. */
cloak_err cloak_vault_store_kv_put(cloak_vault_store *s, const char *k, const char *v,
                                   cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_store_kv_get(cloak_vault_store *s, const char *k, char **v,
                                   cloak_error *why) CLOAK_MUST_CHECK;

/* PRAGMA integrity_check; CLOAK_EVERIFY with SQLite's first complaint when it is not "ok". */
cloak_err cloak_vault_store_integrity_check(cloak_vault_store *s,
                                            cloak_error *why) CLOAK_MUST_CHECK;

#endif
