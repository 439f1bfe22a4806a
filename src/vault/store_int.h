/*
 * vault store internals shared by store.c (open/close, nonces, settings, integrity) and
 * store_keys.c (keys, versions, pages, restore). Not a public interface: see store.h.
 *
 * Trust and thread-safety: as store.h; every helper here expects the store's mutex held.
 */
#ifndef CLOAK_VAULT_STORE_INT_H
#define CLOAK_VAULT_STORE_INT_H

#include "vault/store.h"

#include <pthread.h>
#include <sqlite3.h>

enum {
    ST_BEGIN_IMMEDIATE,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SYNC_NORMAL,
    ST_SYNC_FULL,
    ST_KEY_LOOKUP,
    ST_KEY_INSERT,
    ST_VER_INSERT,
    ST_GET_LATEST,
    ST_GET_VERSION,
    ST_GET_DELETED,
    ST_UPDATE_META,
    ST_LIST_KEYS,
    ST_LIST_DELETED,
    ST_LIST_VERSIONS,
    ST_ALL_VERSIONS,
    ST_DELETE,
    ST_RECOVER,
    ST_PURGE,
    ST_NONCE_USE,
    ST_NONCE_PRUNE,
    ST_KV_PUT,
    ST_KV_GET,
    ST_INTEGRITY,
    ST_COUNT
};

/* The SQL of each cached statement (store.c). */
extern const char *const cloak_vstore_sql[ST_COUNT];

struct cloak_vault_store {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *st[ST_COUNT];
    char *path;
    unsigned nonce_calls;
};

/* Report the connection's last error (EIO, or ENOMEM). Call before the statement is reset. */
cloak_err cloak_vstore_fail(cloak_vault_store *s, cloak_error *why, const char *what);
/* Step a cached statement that returns no rows we need, then reset it. */
cloak_err cloak_vstore_run(cloak_vault_store *s, int id, const char *what, cloak_error *why);

/* Transactions and the store mutex (statement `id` is a BEGIN statement). */
static inline cloak_err vstore_begin(cloak_vault_store *s, int id, cloak_error *why)
{
    return cloak_vstore_run(s, id, "starting a transaction", why);
}

static inline cloak_err vstore_commit(cloak_vault_store *s, cloak_error *why)
{
    return cloak_vstore_run(s, ST_COMMIT, "committing", why);
}

static inline void vstore_lock(cloak_vault_store *s)
{
    pthread_mutex_lock(&s->mu);
}

static inline void vstore_unlock(cloak_vault_store *s)
{
    pthread_mutex_unlock(&s->mu);
}
/* Roll back after a failure (a no-op when no transaction is open). */
void cloak_vstore_rollback(cloak_vault_store *s);
/* A malloc'd copy of a text column; NULL for SQL NULL or out of memory. */
char *cloak_vstore_col_dup(sqlite3_stmt *q, int i);
/* EINVAL "vault store: <what> is missing or empty" unless cond. */
cloak_err cloak_vstore_need(int cond, const char *what, cloak_error *why);

static inline void cloak_vstore_done(sqlite3_stmt *q)
{
    if (q) {
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
    }
}

/* SQLITE_STATIC: every statement is reset before the bound string goes away. */
static inline int cloak_vstore_bind_text(sqlite3_stmt *q, int i, const char *v)
{
    return sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

static inline int cloak_vstore_nonempty(const char *v)
{
    return v && *v;
}

#endif
