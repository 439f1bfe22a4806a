/* Shared helpers of the vault store tests: a scratch directory, deterministic test values,
 * and a raw SQLite connection (the peer that inspects what the store wrote). */
#ifndef CLOAK_TEST_VSTORE_TESTLIB_H
#define CLOAK_TEST_VSTORE_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "vault/store.h"

/* A fresh directory (mkdtemp) holding DIR/vault.db; removed (with every file in it) by
 * vt_cleanup. */
typedef struct {
    char dir[256];
    char db[300];
} vt_dir;
void vt_mkdir(vt_dir *d);
void vt_cleanup(vt_dir *d);

cloak_vault_store *vt_open(const char *path);
/* A version id: 32 lowercase hex, from SHA-256("version" || i) (deterministic, distinct). */
void vt_version(unsigned i, char out[33]);
/* The blob the tests store for name/version: SHA-256(name "/" version) repeated to `len`. */
void vt_blob(const char *name, const char *version, uint8_t *out, size_t len);
#define VT_BLOB_LEN 80
/* put_version with vt_blob(name, version), asserting success. */
void vt_put(cloak_vault_store *s, const char *name, const char *version, const char *meta);
/* get and check the blob is vt_blob(name, version) of VT_BLOB_LEN (or blob_len). */
void vt_check_blob(const cloak_vault_keyrec *r, size_t blob_len);

/* Raw SQLite, independent of the store: one integer from a query. */
int64_t vt_sql_int(const char *db, const char *sql);
void vt_sql_exec(const char *db, const char *sql);

/* Expect a call to fail with `code` and a message containing `in_msg` (may be NULL). */
#define VT_EXPECT_ERR(call, want, in_msg)                                                          \
    do {                                                                                           \
        cloak_error e_ = {0};                                                                      \
        cloak_error *why_ = &e_;                                                                   \
        (void)why_;                                                                                \
        cloak_err r_ = (call);                                                                     \
        if (r_ != (want))                                                                          \
            fail_msg("%s: got %s (%s), want %s", #call, cloak_err_name(r_), e_.msg,                \
                     cloak_err_name(want));                                                        \
        const char *m_ = (in_msg);                                                                 \
        if (m_ && !strstr(e_.msg, m_))                                                             \
            fail_msg("%s: message \"%s\" lacks \"%s\"", #call, e_.msg, m_);                        \
    } while (0)

/* Expect success; print the store's message otherwise. */
#define VT_OK(call)                                                                                \
    do {                                                                                           \
        cloak_error e_ = {0};                                                                      \
        cloak_error *why_ = &e_;                                                                   \
        (void)why_;                                                                                \
        cloak_err r_ = (call);                                                                     \
        if (r_ != CLOAK_OK) fail_msg("%s: %s: %s", #call, cloak_err_name(r_), e_.msg);             \
    } while (0)

#endif
