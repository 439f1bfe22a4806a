/*
 * vault store, keys: versions, lookups, soft delete / recover / purge, pages and restore
 * (store.h). Each change is one statement or one BEGIN IMMEDIATE transaction; lookups that
 * need two statements read in one transaction so they see one snapshot.
 *
 * Trust: names, versions and JSON text are bound parameters, never SQL. Thread-safety: every
 * function takes the store's mutex.
 */
#include "vault/store_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_CAP 100000 /* larger pages are cut (with *more = 1) */

static int is_constraint(cloak_vault_store *s)
{
    return (sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_CONSTRAINT;
}

void cloak_vault_keyrec_clear(cloak_vault_keyrec *r)
{
    if (!r) return;
    free(r->name);
    free(r->version);
    free(r->meta);
    free(r->blob);
    free(r->deleted);
    memset(r, 0, sizeof(*r));
}

void cloak_vault_keyrecs_free(cloak_vault_keyrec *r, size_t n)
{
    if (!r) return;
    for (size_t i = 0; i < n; i++)
        cloak_vault_keyrec_clear(&r[i]);
    free(r);
}

/* The current row of a record query into *r. */
static cloak_err read_rec(sqlite3_stmt *q, int with_blob, cloak_vault_keyrec *r, cloak_error *why)
{
    memset(r, 0, sizeof(*r));
    r->name = cloak_vstore_col_dup(q, 0);
    r->version = cloak_vstore_col_dup(q, 1);
    r->seq = sqlite3_column_int64(q, 2);
    r->meta = cloak_vstore_col_dup(q, 3);
    int ok = r->name && r->version && r->meta;
    if (sqlite3_column_type(q, 4) != SQLITE_NULL) {
        r->deleted = cloak_vstore_col_dup(q, 4);
        ok = ok && r->deleted;
    }
    if (with_blob && ok) {
        size_t n = (size_t)sqlite3_column_bytes(q, 5);
        const void *b = sqlite3_column_blob(q, 5);
        r->blob = malloc(n ? n : 1);
        ok = r->blob != NULL;
        if (ok && n) memcpy(r->blob, b, n);
        r->blob_len = n;
    }
    if (!ok) {
        cloak_vault_keyrec_clear(r);
        return cloak_error_set(why, CLOAK_ENOMEM, "vault store: out of memory reading a key");
    }
    return CLOAK_OK;
}

/* Look a name up: *id (0 when absent) and *deleted. */
static cloak_err key_lookup(cloak_vault_store *s, const char *name, int64_t *id, int *deleted,
                            cloak_error *why)
{
    sqlite3_stmt *q = s->st[ST_KEY_LOOKUP];
    cloak_err err = CLOAK_OK;
    *id = 0;
    *deleted = 0;
    cloak_vstore_bind_text(q, 1, name);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(q, 0);
        *deleted = sqlite3_column_int(q, 1);
    } else if (rc != SQLITE_DONE) {
        err = cloak_vstore_fail(s, why, "looking up a key");
    }
    cloak_vstore_done(q);
    return err;
}

static cloak_err deleted_conflict(const char *name, cloak_error *why)
{
    return cloak_error_set(why, CLOAK_EEXIST,
                           "Key %s is currently in a deleted but recoverable state, and its name "
                           "cannot be reused; recover or purge it first",
                           name);
}

/* ---- versions ---- */

/* Insert one version row for key `id`; EEXIST when the version exists. */
static cloak_err insert_version(cloak_vault_store *s, int64_t id, const char *name,
                                const char *version, const char *meta, const uint8_t *blob,
                                size_t blob_len, cloak_error *why)
{
    sqlite3_stmt *q = s->st[ST_VER_INSERT];
    cloak_err err = CLOAK_OK;
    sqlite3_bind_int64(q, 1, id);
    cloak_vstore_bind_text(q, 2, version);
    cloak_vstore_bind_text(q, 3, meta);
    /* A non-NULL pointer so an empty blob is stored as a zero-length BLOB, not NULL. */
    sqlite3_bind_blob64(q, 4, blob_len ? (const void *)blob : (const void *)"", blob_len,
                        SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) {
        if (is_constraint(s))
            err = cloak_error_set(why, CLOAK_EEXIST, "version %s of key %s already exists", version,
                                  name);
        else
            err = cloak_vstore_fail(s, why, "inserting a key version");
    }
    cloak_vstore_done(q);
    return err;
}

static cloak_err check_version_args(const char *name, const char *version, const char *meta,
                                    const uint8_t *blob, size_t blob_len, cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(name), "the key name", why)) ||
        (err = cloak_vstore_need(cloak_vstore_nonempty(version), "the key version", why)) ||
        (err = cloak_vstore_need(meta != NULL, "the key metadata", why)) ||
        (err = cloak_vstore_need(blob || !blob_len, "the key blob", why)))
        return err;
    return CLOAK_OK;
}

cloak_err cloak_vault_store_put_version(cloak_vault_store *s, const char *name, const char *version,
                                        const char *meta, const uint8_t *blob, size_t blob_len,
                                        cloak_error *why)
{
    cloak_err err = check_version_args(name, version, meta, blob, blob_len, why);
    if (err) return err;
    int64_t id;
    int deleted;
    vstore_lock(s);
    if ((err = vstore_begin(s, ST_BEGIN_IMMEDIATE, why))) goto out;
    if ((err = key_lookup(s, name, &id, &deleted, why))) goto out;
    if (deleted) {
        err = deleted_conflict(name, why);
        goto out;
    }
    if (!id) {
        cloak_vstore_bind_text(s->st[ST_KEY_INSERT], 1, name);
        if ((err = cloak_vstore_run(s, ST_KEY_INSERT, "inserting a key", why))) goto out;
        id = sqlite3_last_insert_rowid(s->db);
    }
    if ((err = insert_version(s, id, name, version, meta, blob, blob_len, why))) goto out;
    err = vstore_commit(s, why);
out:
    if (err) cloak_vstore_rollback(s);
    vstore_unlock(s);
    return err;
}

/* Run a single-record query with `name` (and `version`) bound; ENOTFOUND when no row. */
static cloak_err get_one(cloak_vault_store *s, int id, const char *name, const char *version,
                         cloak_vault_keyrec *out, cloak_error *why)
{
    sqlite3_stmt *q = s->st[id];
    cloak_vault_keyrec r;
    cloak_err err = CLOAK_OK;
    vstore_lock(s);
    cloak_vstore_bind_text(q, 1, name);
    if (version) cloak_vstore_bind_text(q, 2, version);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        if (!(err = read_rec(q, 1, &r, why))) *out = r;
    } else if (rc == SQLITE_DONE) {
        if (id == ST_GET_DELETED)
            err = cloak_error_set(why, CLOAK_ENOTFOUND, "Deleted Key not found: %s", name);
        else if (version)
            err = cloak_error_set(why, CLOAK_ENOTFOUND, "Key not found: %s (version %s)", name,
                                  version);
        else
            err = cloak_error_set(why, CLOAK_ENOTFOUND, "Key not found: %s", name);
    } else {
        err = cloak_vstore_fail(s, why, "reading a key");
    }
    cloak_vstore_done(q);
    vstore_unlock(s);
    return err;
}

cloak_err cloak_vault_store_get(cloak_vault_store *s, const char *name, const char *version,
                                cloak_vault_keyrec *out, cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(name), "the key name", why)) ||
        (err = cloak_vstore_need(out != NULL, "the output record", why)))
        return err;
    if (version && !*version) version = NULL; /* "/keys/{name}/" is the latest */
    return get_one(s, version ? ST_GET_VERSION : ST_GET_LATEST, name, version, out, why);
}

cloak_err cloak_vault_store_get_deleted(cloak_vault_store *s, const char *name,
                                        cloak_vault_keyrec *out, cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(name), "the key name", why)) ||
        (err = cloak_vstore_need(out != NULL, "the output record", why)))
        return err;
    return get_one(s, ST_GET_DELETED, name, NULL, out, why);
}

/* Run a one-statement change bound by the caller; ENOTFOUND (with `missing`) if no row
 * changed. */
static cloak_err change(cloak_vault_store *s, int id, const char *what, const char *missing,
                        const char *name, cloak_error *why)
{
    sqlite3_stmt *q = s->st[id];
    cloak_err err = CLOAK_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        err = cloak_vstore_fail(s, why, what);
    else if (sqlite3_changes(s->db) == 0)
        err = cloak_error_set(why, CLOAK_ENOTFOUND, "%s%s", missing, name);
    cloak_vstore_done(q);
    return err;
}

cloak_err cloak_vault_store_update_meta(cloak_vault_store *s, const char *name, const char *version,
                                        const char *meta, cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(name), "the key name", why)) ||
        (err = cloak_vstore_need(cloak_vstore_nonempty(version), "the key version", why)) ||
        (err = cloak_vstore_need(meta != NULL, "the key metadata", why)))
        return err;
    vstore_lock(s);
    sqlite3_stmt *q = s->st[ST_UPDATE_META];
    cloak_vstore_bind_text(q, 1, name);
    cloak_vstore_bind_text(q, 2, version);
    cloak_vstore_bind_text(q, 3, meta);
    err = change(s, ST_UPDATE_META, "updating a key version", "Key not found: ", name, why);
    vstore_unlock(s);
    return err;
}

cloak_err cloak_vault_store_delete(cloak_vault_store *s, const char *name, const char *deleted,
                                   cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(name), "the key name", why)) ||
        (err = cloak_vstore_need(deleted != NULL, "the deletion record", why)))
        return err;
    vstore_lock(s);
    cloak_vstore_bind_text(s->st[ST_DELETE], 1, name);
    cloak_vstore_bind_text(s->st[ST_DELETE], 2, deleted);
    err = change(s, ST_DELETE, "deleting a key", "Key not found: ", name, why);
    vstore_unlock(s);
    return err;
}

cloak_err cloak_vault_store_recover(cloak_vault_store *s, const char *name, cloak_error *why)
{
    cloak_err err = cloak_vstore_need(cloak_vstore_nonempty(name), "the key name", why);
    if (err) return err;
    vstore_lock(s);
    cloak_vstore_bind_text(s->st[ST_RECOVER], 1, name);
    err = change(s, ST_RECOVER, "recovering a key", "Deleted Key not found: ", name, why);
    vstore_unlock(s);
    return err;
}

cloak_err cloak_vault_store_purge(cloak_vault_store *s, const char *name, cloak_error *why)
{
    cloak_err err = cloak_vstore_need(cloak_vstore_nonempty(name), "the key name", why);
    if (err) return err;
    vstore_lock(s);
    /* One statement: the key row and (ON DELETE CASCADE) all its versions go atomically. */
    cloak_vstore_bind_text(s->st[ST_PURGE], 1, name);
    err = change(s, ST_PURGE, "purging a key", "Deleted Key not found: ", name, why);
    vstore_unlock(s);
    return err;
}

/* ---- pages ---- */

/* Step a bound record query: up to max rows into a malloc'd array; *more if a row max+1 came
 * (the query's LIMIT is max+1). Out-parameters only on success. */
static cloak_err collect(cloak_vault_store *s, sqlite3_stmt *q, size_t max, int with_blob,
                         cloak_vault_keyrec **recs, size_t *n, int *more, cloak_error *why)
{
    cloak_vault_keyrec *a = NULL;
    size_t got = 0, cap = 0;
    int extra = 0, rc;
    cloak_err err = CLOAK_OK;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (got == max) {
            extra = 1;
            break;
        }
        if (got == cap) {
            size_t nc = cap ? cap * 2 : 16;
            cloak_vault_keyrec *na = realloc(a, nc * sizeof(*a));
            if (!na) {
                err = cloak_error_set(why, CLOAK_ENOMEM, "vault store: out of memory listing keys");
                goto out;
            }
            a = na;
            cap = nc;
        }
        if ((err = read_rec(q, with_blob, &a[got], why))) goto out;
        got++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = cloak_vstore_fail(s, why, "listing keys");
        goto out;
    }
    if (!a && !(a = calloc(1, sizeof(*a)))) {
        err = cloak_error_set(why, CLOAK_ENOMEM, "vault store: out of memory listing keys");
        goto out;
    }
    *recs = a;
    *n = got;
    if (more) *more = extra;
out:
    if (err) cloak_vault_keyrecs_free(a, got);
    return err;
}

static cloak_err list_args(size_t *max, cloak_vault_keyrec **recs, size_t *n, int *more,
                           cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(recs && n && more, "an output argument", why)) ||
        (err = cloak_vstore_need(*max > 0, "the page size", why)))
        return err;
    if (*max > PAGE_CAP) *max = PAGE_CAP;
    return CLOAK_OK;
}

static cloak_err list_names(cloak_vault_store *s, int id, const char *after, size_t max,
                            cloak_vault_keyrec **recs, size_t *n, int *more, cloak_error *why)
{
    cloak_err err = list_args(&max, recs, n, more, why);
    if (err) return err;
    vstore_lock(s);
    sqlite3_stmt *q = s->st[id];
    cloak_vstore_bind_text(q, 1, after ? after : ""); /* every name sorts after "" */
    sqlite3_bind_int64(q, 2, (sqlite3_int64)max + 1);
    err = collect(s, q, max, 0, recs, n, more, why);
    cloak_vstore_done(q);
    vstore_unlock(s);
    return err;
}

cloak_err cloak_vault_store_list_keys(cloak_vault_store *s, const char *after, size_t max,
                                      cloak_vault_keyrec **recs, size_t *n, int *more,
                                      cloak_error *why)
{
    return list_names(s, ST_LIST_KEYS, after, max, recs, n, more, why);
}

cloak_err cloak_vault_store_list_deleted(cloak_vault_store *s, const char *after, size_t max,
                                         cloak_vault_keyrec **recs, size_t *n, int *more,
                                         cloak_error *why)
{
    return list_names(s, ST_LIST_DELETED, after, max, recs, n, more, why);
}

/* Versions of one live key. The lookup and the page run in one read transaction so they see
 * the same snapshot. with_blob/all: the backup variant (every version, blobs). */
static cloak_err versions_of(cloak_vault_store *s, const char *name, int64_t after_seq, size_t max,
                             int all, cloak_vault_keyrec **recs, size_t *n, int *more,
                             cloak_error *why)
{
    int64_t id;
    int deleted;
    cloak_err err;
    vstore_lock(s);
    if ((err = vstore_begin(s, ST_BEGIN_READ, why))) goto out;
    if ((err = key_lookup(s, name, &id, &deleted, why))) goto out;
    if (!id || deleted) {
        err = cloak_error_set(why, CLOAK_ENOTFOUND, "Key not found: %s", name);
        goto out;
    }
    sqlite3_stmt *q = s->st[all ? ST_ALL_VERSIONS : ST_LIST_VERSIONS];
    sqlite3_bind_int64(q, 1, id);
    if (!all) {
        sqlite3_bind_int64(q, 2, after_seq);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)max + 1);
    }
    err = collect(s, q, all ? SIZE_MAX : max, all, recs, n, more, why);
    cloak_vstore_done(q);
    if (!err) err = vstore_commit(s, why);
out:
    if (err) cloak_vstore_rollback(s);
    vstore_unlock(s);
    return err;
}

cloak_err cloak_vault_store_list_versions(cloak_vault_store *s, const char *name, int64_t after_seq,
                                          size_t max, cloak_vault_keyrec **recs, size_t *n,
                                          int *more, cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(name), "the key name", why)) ||
        (err = list_args(&max, recs, n, more, why)))
        return err;
    return versions_of(s, name, after_seq, max, 0, recs, n, more, why);
}

cloak_err cloak_vault_store_all_versions(cloak_vault_store *s, const char *name,
                                         cloak_vault_keyrec **recs, size_t *n, cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(name), "the key name", why)) ||
        (err = cloak_vstore_need(recs && n, "an output argument", why)))
        return err;
    return versions_of(s, name, 0, 0, 1, recs, n, NULL, why);
}

cloak_err cloak_vault_store_restore(cloak_vault_store *s, const cloak_vault_keyrec *recs, size_t n,
                                    cloak_error *why)
{
    cloak_err err = cloak_vstore_need(recs && n > 0, "the versions to restore", why);
    if (err) return err;
    const char *name = recs[0].name;
    for (size_t i = 0; i < n; i++) {
        if ((err = check_version_args(recs[i].name, recs[i].version, recs[i].meta, recs[i].blob,
                                      recs[i].blob_len, why)))
            return err;
        if (strcmp(recs[i].name, name) != 0)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "vault store: a restore holds one key, but it names both %s "
                                   "and %s",
                                   name, recs[i].name);
    }
    int64_t id;
    int deleted;
    vstore_lock(s);
    if ((err = vstore_begin(s, ST_BEGIN_IMMEDIATE, why))) goto out;
    if ((err = key_lookup(s, name, &id, &deleted, why))) goto out;
    if (deleted) {
        err = deleted_conflict(name, why);
        goto out;
    }
    if (id) {
        err = cloak_error_set(why, CLOAK_EEXIST,
                              "Key %s already exists; a backup can only be restored under a name "
                              "that is not in use",
                              name);
        goto out;
    }
    cloak_vstore_bind_text(s->st[ST_KEY_INSERT], 1, name);
    if ((err = cloak_vstore_run(s, ST_KEY_INSERT, "inserting a key", why))) goto out;
    id = sqlite3_last_insert_rowid(s->db);
    for (size_t i = 0; i < n && !err; i++)
        err = insert_version(s, id, name, recs[i].version, recs[i].meta, recs[i].blob,
                             recs[i].blob_len, why);
    if (!err) err = vstore_commit(s, why);
out:
    if (err) cloak_vstore_rollback(s);
    vstore_unlock(s);
    return err;
}
