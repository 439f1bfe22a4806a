/*
 * vault store: the vault's keys, release nonces and small settings in one SQLite file (see
 * store.h for the contract). This file: the schema, opening and closing, the cached
 * statements, nonces, settings and the integrity check; store_keys.c has the key operations.
 *
 * Schema (PRAGMA user_version 1, application_id 'clkv'):
 *   keys(id, name UNIQUE, deleted)              one row per key name; deleted = NULL (live) or
 *                                               the service's deletion JSON
 *   versions(seq AUTOINCREMENT, key_id -> keys ON DELETE CASCADE, version, meta, blob,
 *            UNIQUE(key_id, version))           seq is never reused, so it orders versions and
 *                                               pages by seq stay stable after a purge
 *   nonces(nonce PRIMARY KEY, expires)          release nonces (replay protection)
 *   kv(k PRIMARY KEY, v)                        audit chain head, settings
 * Names and versions compare exactly (BINARY): the service binds key blobs to the name it was
 * given, so "Key1" and "key1" are two keys here (Azure treats them as one; see the report).
 *
 * Durability: WAL with synchronous=FULL, so each commit is fsync'd before the call returns;
 * every multi-statement change runs in one BEGIN IMMEDIATE transaction. Nonce writes drop to
 * synchronous=NORMAL (process-crash safe, not power-loss safe; see store.h).
 *
 * Trust: the database file is the host's; it holds only ciphertext blobs and public metadata.
 * Every value is a bound parameter, so names and JSON text cannot change a statement.
 * Thread-safety: one mutex per store serialises all calls on its connection; several stores
 * (or processes) on one file coordinate through SQLite's locks and the busy timeout.
 */
#include "vault/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x636c6b76 /* "clkv" */
#define BUSY_TIMEOUT_MS 10000
#define NONCE_PRUNE_EVERY 64

/* Record queries all select: name, version, seq, meta, deleted [, blob]. */
#define REC_COLS "k.name, v.version, v.seq, v.meta, k.deleted"
const char *const cloak_vstore_sql[ST_COUNT] = {
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
    [ST_SYNC_FULL] = "PRAGMA synchronous=FULL",
    [ST_KEY_LOOKUP] = "SELECT id, deleted IS NOT NULL FROM keys WHERE name = ?1",
    [ST_KEY_INSERT] = "INSERT INTO keys(name) VALUES(?1)",
    [ST_VER_INSERT] = "INSERT INTO versions(key_id, version, meta, blob) VALUES(?1, ?2, ?3, ?4)",
    [ST_GET_LATEST] = "SELECT " REC_COLS ", v.blob FROM keys k JOIN versions v ON v.key_id = k.id"
                      " WHERE k.name = ?1 AND k.deleted IS NULL ORDER BY v.seq DESC LIMIT 1",
    [ST_GET_VERSION] = "SELECT " REC_COLS ", v.blob FROM keys k JOIN versions v ON v.key_id = k.id"
                       " WHERE k.name = ?1 AND k.deleted IS NULL AND v.version = ?2",
    [ST_GET_DELETED] = "SELECT " REC_COLS ", v.blob FROM keys k JOIN versions v ON v.key_id = k.id"
                       " WHERE k.name = ?1 AND k.deleted IS NOT NULL ORDER BY v.seq DESC LIMIT 1",
    [ST_UPDATE_META] = "UPDATE versions SET meta = ?3 WHERE version = ?2 AND key_id ="
                       " (SELECT id FROM keys WHERE name = ?1 AND deleted IS NULL)",
    [ST_LIST_KEYS] = "SELECT " REC_COLS " FROM keys k JOIN versions v ON v.seq ="
                     " (SELECT max(seq) FROM versions WHERE key_id = k.id)"
                     " WHERE k.deleted IS NULL AND k.name > ?1 ORDER BY k.name LIMIT ?2",
    [ST_LIST_DELETED] = "SELECT " REC_COLS " FROM keys k JOIN versions v ON v.seq ="
                        " (SELECT max(seq) FROM versions WHERE key_id = k.id)"
                        " WHERE k.deleted IS NOT NULL AND k.name > ?1 ORDER BY k.name LIMIT ?2",
    [ST_LIST_VERSIONS] = "SELECT " REC_COLS " FROM versions v JOIN keys k ON k.id = v.key_id"
                         " WHERE v.key_id = ?1 AND v.seq > ?2 ORDER BY v.seq LIMIT ?3",
    [ST_ALL_VERSIONS] = "SELECT " REC_COLS ", v.blob FROM versions v JOIN keys k ON k.id = v.key_id"
                        " WHERE v.key_id = ?1 ORDER BY v.seq",
    [ST_DELETE] = "UPDATE keys SET deleted = ?2 WHERE name = ?1 AND deleted IS NULL",
    [ST_RECOVER] = "UPDATE keys SET deleted = NULL WHERE name = ?1 AND deleted IS NOT NULL",
    [ST_PURGE] = "DELETE FROM keys WHERE name = ?1 AND deleted IS NOT NULL",
    /* The upsert only overwrites an expired row, so changes() == 0 means "replayed". */
    [ST_NONCE_USE] = "INSERT INTO nonces(nonce, expires) VALUES(?1, ?3) ON CONFLICT(nonce)"
                     " DO UPDATE SET expires = excluded.expires WHERE nonces.expires <= ?2",
    [ST_NONCE_PRUNE] = "DELETE FROM nonces WHERE expires <= ?1",
    [ST_KV_PUT] = "INSERT INTO kv(k, v) VALUES(?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    [ST_KV_GET] = "SELECT v FROM kv WHERE k = ?1",
    [ST_INTEGRITY] = "PRAGMA integrity_check",
};

static const char SCHEMA[] =
    "CREATE TABLE keys(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " deleted TEXT);"
    "CREATE TABLE versions(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " key_id INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,"
    " version TEXT NOT NULL, meta TEXT NOT NULL, blob BLOB NOT NULL,"
    " UNIQUE(key_id, version));"
    "CREATE INDEX versions_by_key ON versions(key_id, seq);"
    "CREATE TABLE nonces(nonce TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;";

/* ---- helpers shared with store_keys.c (store_int.h) ---- */

cloak_err cloak_vstore_fail(cloak_vault_store *s, cloak_error *why, const char *what)
{
    int rc = sqlite3_extended_errcode(s->db);
    cloak_err code = (rc & 0xff) == SQLITE_NOMEM ? CLOAK_ENOMEM : CLOAK_EIO;
    return cloak_error_set(why, code, "vault store %s: %s: %s (SQLite error %d)", s->path, what,
                           sqlite3_errmsg(s->db), rc);
}

cloak_err cloak_vstore_run(cloak_vault_store *s, int id, const char *what, cloak_error *why)
{
    sqlite3_stmt *q = s->st[id];
    int rc = sqlite3_step(q);
    cloak_err err = CLOAK_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) err = cloak_vstore_fail(s, why, what);
    cloak_vstore_done(q);
    return err;
}

void cloak_vstore_rollback(cloak_vault_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->st[ST_ROLLBACK]);
        cloak_vstore_done(s->st[ST_ROLLBACK]);
    }
}

char *cloak_vstore_col_dup(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    if (!t) return NULL;
    size_t n = (size_t)sqlite3_column_bytes(q, i);
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, t, n);
        r[n] = '\0';
    }
    return r;
}

cloak_err cloak_vstore_need(int cond, const char *what, cloak_error *why)
{
    return cond ? CLOAK_OK
                : cloak_error_set(why, CLOAK_EINVAL, "vault store: %s is missing or empty", what);
}

/* ---- open / close ---- */

/* Read one integer pragma (or any single-integer query). */
static cloak_err query_int(cloak_vault_store *s, const char *sql, int64_t *v, cloak_error *why)
{
    sqlite3_stmt *q = NULL;
    cloak_err err = CLOAK_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return cloak_vstore_fail(s, why, sql);
    if (sqlite3_step(q) == SQLITE_ROW)
        *v = sqlite3_column_int64(q, 0);
    else
        err = cloak_vstore_fail(s, why, sql);
    sqlite3_finalize(q);
    return err;
}

static cloak_err exec(cloak_vault_store *s, const char *sql, cloak_error *why)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return cloak_vstore_fail(s, why, sql);
    return CLOAK_OK;
}

/* Create the schema in a fresh file, or check the one that is there. BEGIN IMMEDIATE so two
 * processes opening a new file at once do not both create it. */
static cloak_err schema(cloak_vault_store *s, cloak_error *why)
{
    int64_t ver = 0, app = 0, tables = 0;
    cloak_err err = exec(s, "BEGIN IMMEDIATE", why);
    if (err) return err;
    if ((err = query_int(s, "PRAGMA user_version", &ver, why)) ||
        (err = query_int(s, "PRAGMA application_id", &app, why)) ||
        (err = query_int(s, "SELECT count(*) FROM sqlite_schema", &tables, why)))
        goto out;
    if (ver == 0 && app == 0 && tables == 0) {
        char sql[sizeof(SCHEMA) + 128];
        snprintf(sql, sizeof(sql), "%sPRAGMA application_id=%d;PRAGMA user_version=%d;", SCHEMA,
                 APPLICATION_ID, SCHEMA_VERSION);
        err = exec(s, sql, why);
    } else if (app != APPLICATION_ID) {
        err = cloak_error_set(why, CLOAK_EINVAL,
                              "vault store %s: this SQLite file is not a cloak vault store "
                              "(application_id %lld); give the vault its own data file",
                              s->path, (long long)app);
    } else if (ver > SCHEMA_VERSION) {
        err = cloak_error_set(why, CLOAK_EUNSUPPORTED,
                              "vault store %s: schema version %lld was written by a newer cloak "
                              "(this build knows version %d); upgrade cloak to open it",
                              s->path, (long long)ver, SCHEMA_VERSION);
    } else if (ver != SCHEMA_VERSION) {
        err = cloak_error_set(why, CLOAK_EIO, "vault store %s: unknown schema version %lld",
                              s->path, (long long)ver);
    }
out:
    if (err)
        cloak_vstore_rollback(s);
    else
        err = exec(s, "COMMIT", why);
    return err;
}

/* Create the file 0600 ourselves (SQLite would use 0644 minus umask); tighten an existing
 * one. SQLite gives the -wal and -shm files the database file's mode. */
static cloak_err create_file(const char *path, cloak_error *why)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return cloak_error_set(why, CLOAK_EIO, "vault store %s: cannot open or create: %s", path,
                               strerror(errno));
    struct stat st;
    cloak_err err = CLOAK_OK;
    if (fstat(fd, &st) != 0)
        err = cloak_error_set(why, CLOAK_EIO, "vault store %s: stat: %s", path, strerror(errno));
    else if ((st.st_mode & 077) && fchmod(fd, 0600) != 0)
        err = cloak_error_set(why, CLOAK_EIO, "vault store %s: chmod 0600: %s", path,
                              strerror(errno));
    close(fd);
    return err;
}

cloak_err cloak_vault_store_open(const char *path, cloak_vault_store **out, cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(path), "the database path", why)) ||
        (err = cloak_vstore_need(out != NULL, "the output handle", why)))
        return err;
    if ((err = create_file(path, why))) return err;
    cloak_vault_store *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return cloak_error_set(why, CLOAK_ENOMEM, "vault store: out of memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    /* NOMUTEX: our own mutex serialises every use of the connection. */
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = s->db ? cloak_vstore_fail(s, why, "opening")
                    : cloak_error_set(why, CLOAK_ENOMEM, "vault store %s: out of memory", path);
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    char mode[16] = "";
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &q, NULL) != SQLITE_OK) {
        err = cloak_vstore_fail(s, why, "opening (is it an SQLite database?)");
        goto fail;
    }
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
        snprintf(mode, sizeof(mode), "%s", (const char *)sqlite3_column_text(q, 0));
    else
        err = cloak_vstore_fail(s, why, "switching to WAL mode (is it an SQLite database?)");
    sqlite3_finalize(q);
    if (err) goto fail;
    if (strcmp(mode, "wal") != 0) {
        err = cloak_error_set(why, CLOAK_EIO, "vault store %s: WAL mode refused (journal mode %s)",
                              path, mode);
        goto fail;
    }
    if ((err = exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", why)) ||
        (err = schema(s, why)))
        goto fail;
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, cloak_vstore_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            err = cloak_vstore_fail(s, why, "preparing statements");
            goto fail;
        }
    }
    *out = s;
    return CLOAK_OK;
fail:
    cloak_vault_store_close(s);
    return err;
}

void cloak_vault_store_close(cloak_vault_store *s)
{
    if (!s) return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close_v2(s->db); /* the last connection checkpoints and removes the WAL */
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

/* ---- nonces, kv, integrity ---- */

cloak_err cloak_vault_store_nonce_use(cloak_vault_store *s, const char *nonce, int64_t now,
                                      int64_t expires, cloak_error *why)
{
    cloak_err err = cloak_vstore_need(cloak_vstore_nonempty(nonce), "the nonce", why);
    if (err) return err;
    vstore_lock(s);
    int prune = s->nonce_calls++ % NONCE_PRUNE_EVERY == 0;
    /* synchronous cannot change inside a transaction: switch before BEGIN, back after. */
    if ((err = cloak_vstore_run(s, ST_SYNC_NORMAL, "setting synchronous=NORMAL", why))) goto out;
    if (prune) {
        if ((err = vstore_begin(s, ST_BEGIN_IMMEDIATE, why))) goto out;
        sqlite3_bind_int64(s->st[ST_NONCE_PRUNE], 1, now);
        if ((err = cloak_vstore_run(s, ST_NONCE_PRUNE, "pruning expired nonces", why))) goto out;
    }
    sqlite3_stmt *q = s->st[ST_NONCE_USE];
    cloak_vstore_bind_text(q, 1, nonce);
    sqlite3_bind_int64(q, 2, now);
    sqlite3_bind_int64(q, 3, expires);
    if (sqlite3_step(q) != SQLITE_DONE)
        err = cloak_vstore_fail(s, why, "recording a nonce");
    else if (sqlite3_changes(s->db) == 0)
        err = cloak_error_set(why, CLOAK_EEXIST,
                              "the release nonce was already used (replay); ask for a new nonce");
    cloak_vstore_done(q);
    if (!err && prune) err = vstore_commit(s, why);
out:
    if (err) cloak_vstore_rollback(s);
    /* Back to FULL for every other write. If this fails the connection stays at NORMAL,
     * which would weaken the contract: report it (the caller should stop). */
    cloak_error tmp;
    if (cloak_vstore_run(s, ST_SYNC_FULL, "restoring synchronous=FULL", &tmp) && !err) {
        if (why) *why = tmp;
        err = tmp.code;
    }
    vstore_unlock(s);
    return err;
}

cloak_err cloak_vault_store_kv_put(cloak_vault_store *s, const char *k, const char *v,
                                   cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(k), "the setting name", why)) ||
        (err = cloak_vstore_need(v != NULL, "the setting value", why)))
        return err;
    vstore_lock(s);
    cloak_vstore_bind_text(s->st[ST_KV_PUT], 1, k);
    cloak_vstore_bind_text(s->st[ST_KV_PUT], 2, v);
    err = cloak_vstore_run(s, ST_KV_PUT, "writing a setting", why);
    vstore_unlock(s);
    return err;
}

cloak_err cloak_vault_store_kv_get(cloak_vault_store *s, const char *k, char **v, cloak_error *why)
{
    cloak_err err;
    if ((err = cloak_vstore_need(cloak_vstore_nonempty(k), "the setting name", why)) ||
        (err = cloak_vstore_need(v != NULL, "the output value", why)))
        return err;
    vstore_lock(s);
    sqlite3_stmt *q = s->st[ST_KV_GET];
    cloak_vstore_bind_text(q, 1, k);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        char *r = cloak_vstore_col_dup(q, 0);
        if (r)
            *v = r;
        else
            err = cloak_error_set(why, CLOAK_ENOMEM, "vault store: out of memory");
    } else if (rc == SQLITE_DONE) {
        err = cloak_error_set(why, CLOAK_ENOTFOUND, "vault store: no setting %s", k);
    } else {
        err = cloak_vstore_fail(s, why, "reading a setting");
    }
    cloak_vstore_done(q);
    vstore_unlock(s);
    return err;
}

cloak_err cloak_vault_store_integrity_check(cloak_vault_store *s, cloak_error *why)
{
    cloak_err err = CLOAK_OK;
    vstore_lock(s);
    sqlite3_stmt *q = s->st[ST_INTEGRITY];
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(q, 0);
        if (!r || strcmp(r, "ok") != 0)
            err = cloak_error_set(why, CLOAK_EVERIFY,
                                  "vault store %s failed the integrity check: %s; restore the "
                                  "data directory from a backup",
                                  s->path, r ? r : "(no result)");
    } else {
        int ext = sqlite3_extended_errcode(s->db) & 0xff;
        if (ext == SQLITE_CORRUPT || ext == SQLITE_NOTADB)
            err = cloak_error_set(why, CLOAK_EVERIFY,
                                  "vault store %s failed the integrity check: %s; restore the "
                                  "data directory from a backup",
                                  s->path, sqlite3_errmsg(s->db));
        else
            err = cloak_vstore_fail(s, why, "checking integrity");
    }
    cloak_vstore_done(q);
    vstore_unlock(s);
    return err;
}
