/* Helpers of the vault store tests (see vstore_testlib.h). Test values come from SHA-256 so
 * they are distinct and reproducible; the raw SQLite helpers read the file without the store. */
#include "vstore_testlib.h"

#include <dirent.h>
#include <unistd.h>

#include <openssl/sha.h>

void vt_mkdir(vt_dir *d)
{
    const char *base = getenv("TMPDIR");
    snprintf(d->dir, sizeof(d->dir), "%s/cloak-vstore-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(d->dir));
    snprintf(d->db, sizeof(d->db), "%s/vault.db", d->dir);
}

void vt_cleanup(vt_dir *d)
{
    DIR *dir = opendir(d->dir);
    if (!dir) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(dir))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof(p), "%s/%s", d->dir, e->d_name);
        unlink(p);
    }
    closedir(dir);
    rmdir(d->dir);
}

cloak_vault_store *vt_open(const char *path)
{
    cloak_vault_store *s = NULL;
    cloak_error e = {0};
    cloak_err rc = cloak_vault_store_open(path, &s, &e);
    if (rc) fail_msg("cloak_vault_store_open(%s): %s: %s", path, cloak_err_name(rc), e.msg);
    assert_non_null(s);
    return s;
}

void vt_version(unsigned i, char out[33])
{
    char in[32];
    uint8_t md[SHA256_DIGEST_LENGTH];
    int n = snprintf(in, sizeof(in), "version%u", i);
    SHA256((const uint8_t *)in, (size_t)n, md);
    for (int k = 0; k < 16; k++)
        snprintf(out + 2 * k, 3, "%02x", md[k]);
}

void vt_blob(const char *name, const char *version, uint8_t *out, size_t len)
{
    size_t nl = strlen(name), vl = strlen(version);
    char *in = malloc(nl + vl + 2);
    assert_non_null(in);
    memcpy(in, name, nl);
    in[nl] = '/';
    memcpy(in + nl + 1, version, vl + 1);
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)in, nl + vl + 1, md);
    free(in);
    for (size_t i = 0; i < len; i++)
        out[i] = md[i % sizeof(md)];
}

void vt_put(cloak_vault_store *s, const char *name, const char *version, const char *meta)
{
    uint8_t blob[VT_BLOB_LEN];
    vt_blob(name, version, blob, sizeof(blob));
    VT_OK(cloak_vault_store_put_version(s, name, version, meta, blob, sizeof(blob), why_));
}

void vt_check_blob(const cloak_vault_keyrec *r, size_t blob_len)
{
    uint8_t *want = malloc(blob_len ? blob_len : 1);
    assert_non_null(want);
    vt_blob(r->name, r->version, want, blob_len);
    assert_non_null(r->blob);
    assert_int_equal(r->blob_len, blob_len);
    assert_memory_equal(r->blob, want, blob_len);
    free(want);
}

int64_t vt_sql_int(const char *db, const char *sql)
{
    sqlite3 *c = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(c, 10000);
    if (sqlite3_prepare_v2(c, sql, -1, &q, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(c));
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(c);
    return v;
}

void vt_sql_exec(const char *db, const char *sql)
{
    sqlite3 *c = NULL;
    char *err = NULL;
    assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(c, 10000);
    if (sqlite3_exec(c, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(c);
}
