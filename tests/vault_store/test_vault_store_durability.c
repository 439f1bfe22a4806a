/* The vault store's file and its durability (src/vault/store.h): mode 0600, WAL, the schema
 * version, refusal of newer or foreign files, persistence across reopen, the integrity check
 * on a good and a deliberately corrupted copy, four threads writing at once through two
 * connections, and acknowledged writes that survive SIGKILL of the writing process.
 * A raw SQLite connection (vstore_testlib.c) is the independent peer that reads the file. */
#include "vstore_testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static mode_t file_mode(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 0777;
}

static void test_new_file_is_0600_wal_with_schema_version(void **state)
{
    (void)state;
    vt_dir d;
    vt_mkdir(&d);
    mode_t old = umask(0); /* the store must not rely on the umask */
    cloak_vault_store *s = vt_open(d.db);
    char v1[33];
    vt_version(1, v1);
    vt_put(s, "k", v1, "{}");
    umask(old);
    assert_int_equal(file_mode(d.db), 0600);
    char wal[400];
    snprintf(wal, sizeof(wal), "%s-wal", d.db);
    assert_int_equal(file_mode(wal), 0600); /* SQLite copies the database file's mode */
    assert_int_equal(vt_sql_int(d.db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    assert_int_equal(vt_sql_int(d.db, "PRAGMA user_version"), 1);
    assert_int_equal(vt_sql_int(d.db, "PRAGMA application_id"), 0x636c6b76);
    cloak_vault_store_close(s);
    /* an existing file with a wider mode is tightened */
    assert_int_equal(chmod(d.db, 0644), 0);
    s = vt_open(d.db);
    assert_int_equal(file_mode(d.db), 0600);
    cloak_vault_store_close(s);
    vt_cleanup(&d);
}

static void test_newer_or_foreign_files_are_refused(void **state)
{
    (void)state;
    vt_dir d;
    vt_mkdir(&d);
    cloak_vault_store *s = vt_open(d.db), *t = NULL;
    cloak_vault_store_close(s);
    vt_sql_exec(d.db, "PRAGMA user_version = 2");
    VT_EXPECT_ERR(cloak_vault_store_open(d.db, &t, why_), CLOAK_EUNSUPPORTED, "newer");
    assert_null(t);

    char other[400];
    snprintf(other, sizeof(other), "%s/other.db", d.dir);
    vt_sql_exec(other, "CREATE TABLE notes(x)");
    VT_EXPECT_ERR(cloak_vault_store_open(other, &t, why_), CLOAK_EINVAL, "not a cloak vault");
    assert_null(t);

    snprintf(other, sizeof(other), "%s/garbage.db", d.dir);
    FILE *fp = fopen(other, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 8192; i++)
        fputc((i * 131 + 7) & 0xff, fp);
    fclose(fp);
    VT_EXPECT_ERR(cloak_vault_store_open(other, &t, why_), CLOAK_EIO, "garbage.db");
    assert_null(t);

    snprintf(other, sizeof(other), "%s/no/such/dir/vault.db", d.dir);
    VT_EXPECT_ERR(cloak_vault_store_open(other, &t, why_), CLOAK_EIO, "no/such/dir");
    vt_cleanup(&d);
}

static void test_everything_persists_across_reopen(void **state)
{
    (void)state;
    vt_dir d;
    vt_mkdir(&d);
    cloak_vault_store *s = vt_open(d.db);
    char v1[33], v2[33];
    vt_version(1, v1);
    vt_version(2, v2);
    vt_put(s, "a", v1, "{\"a\":1}");
    vt_put(s, "a", v2, "{\"a\":2}");
    vt_put(s, "gone", v1, "{}");
    VT_OK(cloak_vault_store_update_meta(s, "a", v1, "{\"a\":\"updated\"}", why_));
    VT_OK(cloak_vault_store_delete(s, "gone", "{\"when\":1}", why_));
    VT_OK(cloak_vault_store_kv_put(s, "head", "h1", why_));
    VT_OK(cloak_vault_store_nonce_use(s, "n", 100, 200, why_));
    cloak_vault_store_close(s);
    char wal[400];
    snprintf(wal, sizeof(wal), "%s-wal", d.db);
    assert_int_equal(access(wal, F_OK), -1); /* closing checkpointed and removed the WAL */

    s = vt_open(d.db);
    cloak_vault_keyrec r = {0};
    VT_OK(cloak_vault_store_get(s, "a", NULL, &r, why_));
    assert_string_equal(r.version, v2);
    vt_check_blob(&r, VT_BLOB_LEN);
    cloak_vault_keyrec_clear(&r);
    VT_OK(cloak_vault_store_get(s, "a", v1, &r, why_));
    assert_string_equal(r.meta, "{\"a\":\"updated\"}");
    cloak_vault_keyrec_clear(&r);
    VT_OK(cloak_vault_store_get_deleted(s, "gone", &r, why_));
    assert_string_equal(r.deleted, "{\"when\":1}");
    cloak_vault_keyrec_clear(&r);
    char *v = NULL;
    VT_OK(cloak_vault_store_kv_get(s, "head", &v, why_));
    assert_string_equal(v, "h1");
    free(v);
    VT_EXPECT_ERR(cloak_vault_store_nonce_use(s, "n", 150, 300, why_), CLOAK_EEXIST, NULL);
    VT_OK(cloak_vault_store_integrity_check(s, why_));
    cloak_vault_store_close(s);
    vt_cleanup(&d);
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    assert_non_null(a);
    assert_non_null(b);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), a)) > 0)
        assert_int_equal(fwrite(buf, 1, n, b), n);
    fclose(a);
    fclose(b);
}

static void test_integrity_check_passes_good_and_fails_corrupted_copy(void **state)
{
    (void)state;
    vt_dir d;
    vt_mkdir(&d);
    cloak_vault_store *s = vt_open(d.db);
    static uint8_t big[4000];
    char v1[33];
    vt_version(1, v1);
    for (int i = 0; i < 60; i++) {
        char name[32];
        snprintf(name, sizeof(name), "key-%02d", i);
        vt_blob(name, v1, big, sizeof(big));
        VT_OK(cloak_vault_store_put_version(s, name, v1, "{}", big, sizeof(big), why_));
    }
    VT_OK(cloak_vault_store_integrity_check(s, why_));
    cloak_vault_store_close(s); /* checkpoints: the main file holds everything */

    char bad[400];
    snprintf(bad, sizeof(bad), "%s/corrupt.db", d.dir);
    copy_file(d.db, bad);
    /* Overwrite the b-tree page header of the versions table's root page (an interior page:
     * 60 rows of 4 KB do not fit one page) with bytes no valid page has. */
    int64_t root = vt_sql_int(bad, "SELECT rootpage FROM sqlite_schema WHERE name = 'versions'");
    int64_t psz = vt_sql_int(bad, "PRAGMA page_size");
    assert_true(root > 1);
    int fd = open(bad, O_WRONLY);
    assert_true(fd >= 0);
    uint8_t junk[64];
    memset(junk, 0xA5, sizeof(junk));
    assert_int_equal(pwrite(fd, junk, sizeof(junk), (off_t)((root - 1) * psz)), sizeof(junk));
    close(fd);
    /* the peer agrees the copy is corrupt: a complaint, or SQLITE_CORRUPT itself */
    sqlite3 *raw = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open_v2(bad, &raw, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    int prc = sqlite3_step(q);
    assert_true(prc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0);
    sqlite3_finalize(q);
    sqlite3_close(raw);

    cloak_vault_store *c = vt_open(bad);
    VT_EXPECT_ERR(cloak_vault_store_integrity_check(c, why_), CLOAK_EVERIFY, "integrity");
    cloak_vault_store_close(c);
    s = vt_open(d.db);
    VT_OK(cloak_vault_store_integrity_check(s, why_));
    cloak_vault_store_close(s);
    vt_cleanup(&d);
}

/* ---- four threads, two connections ---- */

#define TH_N 4
#define TH_KEYS 40
typedef struct {
    cloak_vault_store *s;
    int id;
    int nonce_wins;
    char err[600];
} th_arg;

static void *writer(void *p)
{
    th_arg *a = p;
    char v1[33], v2[33], name[32], val[16], nonce[32];
    vt_version(1, v1);
    vt_version(2, v2);
    uint8_t blob[VT_BLOB_LEN];
    cloak_error e = {0};
    for (int j = 0; j < TH_KEYS; j++) {
        snprintf(name, sizeof(name), "t%d-k%02d", a->id, j);
        snprintf(val, sizeof(val), "%d", j);
        snprintf(nonce, sizeof(nonce), "shared-%02d", j);
        vt_blob(name, v1, blob, sizeof(blob));
        if (cloak_vault_store_put_version(a->s, name, v1, "{\"v\":1}", blob, sizeof(blob), &e))
            goto fail;
        vt_blob(name, v2, blob, sizeof(blob));
        if (cloak_vault_store_put_version(a->s, name, v2, "{\"v\":2}", blob, sizeof(blob), &e) ||
            cloak_vault_store_update_meta(a->s, name, v1, "{\"v\":\"1b\"}", &e) ||
            cloak_vault_store_kv_put(a->s, name, val, &e))
            goto fail;
        /* every thread tries every shared nonce: exactly one may win each */
        cloak_err rc = cloak_vault_store_nonce_use(a->s, nonce, 1000, 5000, &e);
        if (rc == CLOAK_OK)
            a->nonce_wins++;
        else if (rc != CLOAK_EEXIST)
            goto fail;
    }
    return NULL;
fail:
    snprintf(a->err, sizeof(a->err), "thread %d: %s", a->id, e.msg);
    return NULL;
}

static void test_four_threads_write_concurrently(void **state)
{
    (void)state;
    vt_dir d;
    vt_mkdir(&d);
    /* threads 0 and 1 share one store; 2 and 3 another on the same file */
    cloak_vault_store *sa = vt_open(d.db), *sb = vt_open(d.db);
    pthread_t t[TH_N];
    th_arg a[TH_N];
    memset(a, 0, sizeof(a));
    for (int i = 0; i < TH_N; i++) {
        a[i].s = i < 2 ? sa : sb;
        a[i].id = i;
        assert_int_equal(pthread_create(&t[i], NULL, writer, &a[i]), 0);
    }
    int wins = 0;
    for (int i = 0; i < TH_N; i++) {
        pthread_join(t[i], NULL);
        if (a[i].err[0]) fail_msg("%s", a[i].err);
        wins += a[i].nonce_wins;
    }
    assert_int_equal(wins, TH_KEYS);

    /* every key exactly once, in order, latest v2, v1's metadata updated */
    size_t seen = 0;
    char after[64] = "";
    int more = 1;
    char v1[33], v2[33];
    vt_version(1, v1);
    vt_version(2, v2);
    while (more) {
        cloak_vault_keyrec *recs = NULL;
        size_t n = 0;
        VT_OK(cloak_vault_store_list_keys(sb, seen ? after : NULL, 25, &recs, &n, &more, why_));
        for (size_t i = 0; i < n; i++, seen++) {
            char want[32];
            snprintf(want, sizeof(want), "t%zu-k%02zu", seen / TH_KEYS, seen % TH_KEYS);
            assert_string_equal(recs[i].name, want);
            assert_string_equal(recs[i].version, v2);
            cloak_vault_keyrec r = {0};
            VT_OK(cloak_vault_store_get(sa, want, v1, &r, why_));
            assert_string_equal(r.meta, "{\"v\":\"1b\"}");
            vt_check_blob(&r, VT_BLOB_LEN);
            cloak_vault_keyrec_clear(&r);
        }
        if (n) snprintf(after, sizeof(after), "%s", recs[n - 1].name);
        cloak_vault_keyrecs_free(recs, n);
    }
    assert_int_equal(seen, TH_N * TH_KEYS);
    assert_int_equal(vt_sql_int(d.db, "SELECT count(*) FROM versions"), 2 * TH_N * TH_KEYS);
    VT_OK(cloak_vault_store_integrity_check(sa, why_));
    cloak_vault_store_close(sa);
    cloak_vault_store_close(sb);
    vt_cleanup(&d);
}

/* ---- SIGKILL: an acknowledged write survives ----
 * The child runs a fixed sequence of ops and writes each op's index to a pipe after the store
 * call returned. The parent kills it at a random moment, reopens, and checks every key is in
 * the state of the acknowledged prefix, or (only the one op in flight may have committed
 * without its acknowledgement) of the prefix plus that op. Ops, per key k (4 each):
 * put v1 "a"; update v1 "b"; put v2 "c"; odd k: delete, even k: update v2 "d". */

#define CR_ROUNDS 20
#define CR_KEYS 100
#define CR_OPS (4 * CR_KEYS)

typedef struct {
    int state; /* 0 absent, 1 live, 2 deleted */
    int nver;
    char m1, m2;
} cr_key;

static void cr_name(int round, int k, char out[32])
{
    snprintf(out, 32, "r%02d-k%03d", round, k);
}

static void cr_meta(char m, char out[16])
{
    snprintf(out, 16, "{\"m\":\"%c\"}", m);
}

static void cr_apply(cr_key *keys, int j)
{
    cr_key *m = &keys[j / 4];
    switch (j % 4) {
    case 0:
        m->state = 1, m->nver = 1, m->m1 = 'a';
        break;
    case 1:
        m->m1 = 'b';
        break;
    case 2:
        m->nver = 2, m->m2 = 'c';
        break;
    default:
        if ((j / 4) % 2)
            m->state = 2;
        else
            m->m2 = 'd';
    }
}

static int cr_do(cloak_vault_store *s, int round, int j)
{
    char name[32], meta[16], v1[33], v2[33];
    int k = j / 4;
    cr_name(round, k, name);
    vt_version(1, v1);
    vt_version(2, v2);
    uint8_t blob[VT_BLOB_LEN];
    switch (j % 4) {
    case 0:
        cr_meta('a', meta);
        vt_blob(name, v1, blob, sizeof(blob));
        return cloak_vault_store_put_version(s, name, v1, meta, blob, sizeof(blob), NULL);
    case 1:
        cr_meta('b', meta);
        return cloak_vault_store_update_meta(s, name, v1, meta, NULL);
    case 2:
        cr_meta('c', meta);
        vt_blob(name, v2, blob, sizeof(blob));
        return cloak_vault_store_put_version(s, name, v2, meta, blob, sizeof(blob), NULL);
    default:
        if (k % 2) return cloak_vault_store_delete(s, name, "{\"d\":1}", NULL);
        cr_meta('d', meta);
        return cloak_vault_store_update_meta(s, name, v2, meta, NULL);
    }
}

/* A key's observable state as a string; from the model, or read through the store. */
static void cr_describe(const cr_key *m, char *out, size_t len)
{
    if (m->state == 0)
        snprintf(out, len, "absent");
    else if (m->state == 2)
        snprintf(out, len, "deleted latest=%c", m->nver == 2 ? m->m2 : m->m1);
    else if (m->nver == 1)
        snprintf(out, len, "live n=1 m1=%c", m->m1);
    else
        snprintf(out, len, "live n=2 m1=%c m2=%c", m->m1, m->m2);
}

static void cr_observe(cloak_vault_store *s, const char *name, char *out, size_t len)
{
    cloak_vault_keyrec *recs = NULL, r = {0};
    size_t n = 0;
    cloak_error e = {0};
    cloak_err rc = cloak_vault_store_all_versions(s, name, &recs, &n, &e);
    if (rc == CLOAK_OK) {
        assert_true(n == 1 || n == 2);
        for (size_t i = 0; i < n; i++)
            vt_check_blob(&recs[i], VT_BLOB_LEN);
        if (n == 1)
            snprintf(out, len, "live n=1 m1=%c", recs[0].meta[6]);
        else
            snprintf(out, len, "live n=2 m1=%c m2=%c", recs[0].meta[6], recs[1].meta[6]);
        cloak_vault_keyrecs_free(recs, n);
        return;
    }
    if (rc != CLOAK_ENOTFOUND) fail_msg("%s: %s", name, e.msg);
    rc = cloak_vault_store_get_deleted(s, name, &r, &e);
    if (rc == CLOAK_OK) {
        snprintf(out, len, "deleted latest=%c", r.meta[6]);
        cloak_vault_keyrec_clear(&r);
        return;
    }
    if (rc != CLOAK_ENOTFOUND) fail_msg("%s: %s", name, e.msg);
    snprintf(out, len, "absent");
}

static void test_acknowledged_writes_survive_sigkill(void **state)
{
    (void)state;
    vt_dir d;
    vt_mkdir(&d);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    print_message("sigkill test seed %u\n", seed);
    static char final[CR_ROUNDS][CR_KEYS][40];
    int min_acked = CR_OPS, max_acked = 0, midway = 0;
    for (int round = 0; round < CR_ROUNDS; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            cloak_vault_store *s = NULL;
            if (cloak_vault_store_open(d.db, &s, NULL)) _exit(3);
            for (int32_t j = 0; j < CR_OPS; j++) {
                if (cr_do(s, round, j)) _exit(4);
                if (write(p[1], &j, sizeof(j)) != sizeof(j)) _exit(5);
            }
            for (;;)
                pause();
        }
        close(p[1]);
        int target = rand_r(&seed) % (CR_OPS * 3 / 4);
        int acked = 0;
        int32_t j;
        while (acked < target && read(p[0], &j, sizeof(j)) == sizeof(j)) {
            assert_int_equal(j, acked);
            acked++;
        }
        usleep((useconds_t)(rand_r(&seed) % 3000));
        kill(pid, SIGKILL);
        ssize_t got;
        while ((got = read(p[0], &j, sizeof(j))) == sizeof(j)) {
            assert_int_equal(j, acked);
            acked++;
        }
        assert_int_equal(got, 0); /* 4-byte writes are atomic: no torn acknowledgement */
        close(p[0]);
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
            fail_msg("round %d: the writer failed on its own (status %d)", round, st);

        /* the acknowledged prefix, and that prefix plus the op in flight */
        cr_key a[CR_KEYS], b[CR_KEYS];
        memset(a, 0, sizeof(a));
        for (int k = 0; k < acked; k++)
            cr_apply(a, k);
        memcpy(b, a, sizeof(a));
        if (acked < CR_OPS) cr_apply(b, acked);
        cloak_vault_store *s = vt_open(d.db);
        VT_OK(cloak_vault_store_integrity_check(s, why_));
        for (int k = 0; k < CR_KEYS; k++) {
            char name[32], got_s[40], want_a[40], want_b[40];
            cr_name(round, k, name);
            cr_observe(s, name, got_s, sizeof(got_s));
            cr_describe(&a[k], want_a, sizeof(want_a));
            cr_describe(&b[k], want_b, sizeof(want_b));
            if (strcmp(got_s, want_a) && strcmp(got_s, want_b))
                fail_msg("round %d (seed %u, %d acknowledged): %s is \"%s\", want \"%s\"%s%s",
                         round, seed, acked, name, got_s, want_a,
                         strcmp(want_a, want_b) ? " or " : "",
                         strcmp(want_a, want_b) ? want_b : "");
            snprintf(final[round][k], sizeof(final[round][k]), "%s", got_s);
        }
        cloak_vault_store_close(s);
        if (acked < min_acked) min_acked = acked;
        if (acked > max_acked) max_acked = acked;
        if (acked < CR_OPS) midway++;
    }
    print_message("sigkill: %d rounds, %d killed mid-sequence, %d..%d ops acknowledged\n",
                  CR_ROUNDS, midway, min_acked, max_acked);
    /* every earlier round is still as it was */
    cloak_vault_store *s = vt_open(d.db);
    for (int round = 0; round < CR_ROUNDS; round++) {
        for (int k = 0; k < CR_KEYS; k++) {
            char name[32], got_s[40];
            cr_name(round, k, name);
            cr_observe(s, name, got_s, sizeof(got_s));
            assert_string_equal(got_s, final[round][k]);
        }
    }
    VT_OK(cloak_vault_store_integrity_check(s, why_));
    cloak_vault_store_close(s);
    vt_cleanup(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_file_is_0600_wal_with_schema_version),
        cmocka_unit_test(test_newer_or_foreign_files_are_refused),
        cmocka_unit_test(test_everything_persists_across_reopen),
        cmocka_unit_test(test_integrity_check_passes_good_and_fails_corrupted_copy),
        cmocka_unit_test(test_four_threads_write_concurrently),
        cmocka_unit_test(test_acknowledged_writes_survive_sigkill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
