/* The vault store's key operations (src/vault/store.h): versions, lookups, error codes,
 * paging, soft delete / recover / purge, backup and restore, nonces and settings.
 * Expectations are independent of the store: orders come from qsort/strcmp over the names the
 * test made, blobs from SHA-256 of name/version, and raw SQLite reads the file directly. */
#include "vstore_testlib.h"

typedef struct {
    vt_dir d;
    cloak_vault_store *s;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    if (!f) return -1;
    vt_mkdir(&f->d);
    f->s = vt_open(f->d.db);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    cloak_vault_store_close(f->s);
    vt_cleanup(&f->d);
    free(f);
    return 0;
}

static void test_put_then_get_latest_and_by_version(void **state)
{
    fx *f = *state;
    char v1[33], v2[33];
    vt_version(1, v1);
    vt_version(2, v2);
    vt_put(f->s, "k1", v1, "{\"n\":1}");
    vt_put(f->s, "k1", v2, "{\"n\":2}");

    cloak_vault_keyrec a = {0}, b = {0}, c = {0};
    VT_OK(cloak_vault_store_get(f->s, "k1", NULL, &a, why_));
    assert_string_equal(a.name, "k1");
    assert_string_equal(a.version, v2);
    assert_string_equal(a.meta, "{\"n\":2}");
    assert_null(a.deleted);
    vt_check_blob(&a, VT_BLOB_LEN);

    VT_OK(cloak_vault_store_get(f->s, "k1", v1, &b, why_));
    assert_string_equal(b.version, v1);
    assert_string_equal(b.meta, "{\"n\":1}");
    vt_check_blob(&b, VT_BLOB_LEN);
    assert_true(a.seq > b.seq);

    /* "/keys/k1/" arrives as an empty version: the latest. */
    VT_OK(cloak_vault_store_get(f->s, "k1", "", &c, why_));
    assert_string_equal(c.version, v2);
    cloak_vault_keyrec_clear(&a);
    cloak_vault_keyrec_clear(&b);
    cloak_vault_keyrec_clear(&c);
    assert_null(a.name); /* clear leaves an empty record */

    /* An empty blob is stored as zero bytes, not as "no blob". */
    VT_OK(cloak_vault_store_put_version(f->s, "empty", v1, "{}", NULL, 0, why_));
    VT_OK(cloak_vault_store_get(f->s, "empty", NULL, &a, why_));
    assert_non_null(a.blob);
    assert_int_equal(a.blob_len, 0);
    cloak_vault_keyrec_clear(&a);
}

static void test_missing_keys_and_versions_are_enotfound(void **state)
{
    fx *f = *state;
    char v1[33], v9[33];
    vt_version(1, v1);
    vt_version(9, v9);
    vt_put(f->s, "k1", v1, "{}");
    cloak_vault_keyrec r = {0};
    r.name = (char *)"sentinel";
    VT_EXPECT_ERR(cloak_vault_store_get(f->s, "nope", NULL, &r, why_), CLOAK_ENOTFOUND, "nope");
    VT_EXPECT_ERR(cloak_vault_store_get(f->s, "k1", v9, &r, why_), CLOAK_ENOTFOUND, v9);
    VT_EXPECT_ERR(cloak_vault_store_get(f->s, "K1", NULL, &r, why_), CLOAK_ENOTFOUND, NULL);
    /* out-parameters are untouched on failure */
    assert_string_equal(r.name, "sentinel");
    VT_EXPECT_ERR(cloak_vault_store_get_deleted(f->s, "k1", &r, why_), CLOAK_ENOTFOUND,
                  "Deleted Key not found: k1");
    VT_EXPECT_ERR(cloak_vault_store_update_meta(f->s, "k1", v9, "{}", why_), CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_update_meta(f->s, "nope", v1, "{}", why_), CLOAK_ENOTFOUND,
                  NULL);
    VT_EXPECT_ERR(cloak_vault_store_delete(f->s, "nope", "{}", why_), CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_recover(f->s, "nope", why_), CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_purge(f->s, "nope", why_), CLOAK_ENOTFOUND, NULL);
    cloak_vault_keyrec *recs = NULL;
    size_t n = 0;
    int more = 0;
    VT_EXPECT_ERR(cloak_vault_store_list_versions(f->s, "nope", 0, 5, &recs, &n, &more, why_),
                  CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_all_versions(f->s, "nope", &recs, &n, why_), CLOAK_ENOTFOUND,
                  NULL);
    assert_null(recs);
    char *v = NULL;
    VT_EXPECT_ERR(cloak_vault_store_kv_get(f->s, "nope", &v, why_), CLOAK_ENOTFOUND, NULL);
    assert_null(v);
}

static void test_duplicate_version_is_eexist_and_changes_nothing(void **state)
{
    fx *f = *state;
    char v1[33];
    vt_version(1, v1);
    vt_put(f->s, "k1", v1, "{\"first\":1}");
    uint8_t other[4] = {1, 2, 3, 4};
    VT_EXPECT_ERR(
        cloak_vault_store_put_version(f->s, "k1", v1, "{\"second\":1}", other, sizeof(other), why_),
        CLOAK_EEXIST, "already exists");
    cloak_vault_keyrec r = {0};
    VT_OK(cloak_vault_store_get(f->s, "k1", v1, &r, why_));
    assert_string_equal(r.meta, "{\"first\":1}");
    vt_check_blob(&r, VT_BLOB_LEN);
    cloak_vault_keyrec_clear(&r);
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM versions"), 1);
    /* the same version id under another key is fine */
    vt_put(f->s, "k2", v1, "{}");
}

static void test_bad_arguments_are_einval(void **state)
{
    fx *f = *state;
    char v1[33];
    vt_version(1, v1);
    uint8_t b[1] = {0};
    cloak_vault_keyrec r = {0}, *recs = NULL;
    size_t n = 0;
    int more = 0;
    char *v = NULL;
    VT_EXPECT_ERR(cloak_vault_store_put_version(f->s, NULL, v1, "{}", b, 1, why_), CLOAK_EINVAL,
                  "name");
    VT_EXPECT_ERR(cloak_vault_store_put_version(f->s, "", v1, "{}", b, 1, why_), CLOAK_EINVAL,
                  "name");
    VT_EXPECT_ERR(cloak_vault_store_put_version(f->s, "k", "", "{}", b, 1, why_), CLOAK_EINVAL,
                  "version");
    VT_EXPECT_ERR(cloak_vault_store_put_version(f->s, "k", v1, NULL, b, 1, why_), CLOAK_EINVAL,
                  "metadata");
    VT_EXPECT_ERR(cloak_vault_store_put_version(f->s, "k", v1, "{}", NULL, 5, why_), CLOAK_EINVAL,
                  "blob");
    VT_EXPECT_ERR(cloak_vault_store_get(f->s, NULL, NULL, &r, why_), CLOAK_EINVAL, NULL);
    VT_EXPECT_ERR(cloak_vault_store_update_meta(f->s, "k", v1, NULL, why_), CLOAK_EINVAL, NULL);
    VT_EXPECT_ERR(cloak_vault_store_delete(f->s, "k", NULL, why_), CLOAK_EINVAL, NULL);
    VT_EXPECT_ERR(cloak_vault_store_list_keys(f->s, NULL, 0, &recs, &n, &more, why_), CLOAK_EINVAL,
                  "page size");
    VT_EXPECT_ERR(cloak_vault_store_restore(f->s, NULL, 0, why_), CLOAK_EINVAL, NULL);
    VT_EXPECT_ERR(cloak_vault_store_nonce_use(f->s, "", 1, 2, why_), CLOAK_EINVAL, NULL);
    VT_EXPECT_ERR(cloak_vault_store_kv_put(f->s, "k", NULL, why_), CLOAK_EINVAL, NULL);
    VT_EXPECT_ERR(cloak_vault_store_kv_get(f->s, "", &v, why_), CLOAK_EINVAL, NULL);
    /* nothing was written by any of them */
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM keys"), 0);
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM versions"), 0);
}

static void test_update_meta_replaces_only_that_version(void **state)
{
    fx *f = *state;
    char v1[33], v2[33];
    vt_version(1, v1);
    vt_version(2, v2);
    vt_put(f->s, "k", v1, "{\"a\":1}");
    vt_put(f->s, "k", v2, "{\"a\":2}");
    VT_OK(cloak_vault_store_update_meta(f->s, "k", v1, "{\"enabled\":false}", why_));
    cloak_vault_keyrec r = {0};
    VT_OK(cloak_vault_store_get(f->s, "k", v1, &r, why_));
    assert_string_equal(r.meta, "{\"enabled\":false}");
    vt_check_blob(&r, VT_BLOB_LEN); /* the blob is untouched */
    cloak_vault_keyrec_clear(&r);
    VT_OK(cloak_vault_store_get(f->s, "k", NULL, &r, why_));
    assert_string_equal(r.version, v2); /* updating an old version does not make it latest */
    assert_string_equal(r.meta, "{\"a\":2}");
    cloak_vault_keyrec_clear(&r);
    VT_OK(cloak_vault_store_delete(f->s, "k", "{\"d\":1}", why_));
    VT_EXPECT_ERR(cloak_vault_store_update_meta(f->s, "k", v1, "{}", why_), CLOAK_ENOTFOUND, NULL);
}

static void test_soft_delete_recover_purge(void **state)
{
    fx *f = *state;
    char v[4][33];
    for (unsigned i = 0; i < 4; i++)
        vt_version(i, v[i]);
    for (unsigned i = 0; i < 3; i++)
        vt_put(f->s, "doomed", v[i], "{}");
    vt_put(f->s, "bystander", v[0], "{}");
    const char *del = "{\"deletedDate\":1700000000,\"recoveryId\":\"x\"}";
    VT_OK(cloak_vault_store_delete(f->s, "doomed", del, why_));

    /* the live path answers ENOTFOUND, latest or by version */
    cloak_vault_keyrec r = {0};
    VT_EXPECT_ERR(cloak_vault_store_get(f->s, "doomed", NULL, &r, why_), CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_get(f->s, "doomed", v[0], &r, why_), CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_delete(f->s, "doomed", del, why_), CLOAK_ENOTFOUND, NULL);
    /* the deleted view: the latest version, with the deletion record */
    VT_OK(cloak_vault_store_get_deleted(f->s, "doomed", &r, why_));
    assert_string_equal(r.version, v[2]);
    assert_string_equal(r.deleted, del);
    cloak_vault_keyrec_clear(&r);
    /* the name cannot be reused while deleted */
    uint8_t b[1] = {7};
    VT_EXPECT_ERR(cloak_vault_store_put_version(f->s, "doomed", v[3], "{}", b, 1, why_),
                  CLOAK_EEXIST, "deleted but recoverable");
    /* and purge needs a deleted key: a live one is not purged */
    VT_EXPECT_ERR(cloak_vault_store_purge(f->s, "bystander", why_), CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_recover(f->s, "bystander", why_), CLOAK_ENOTFOUND, NULL);

    /* recover restores every version */
    VT_OK(cloak_vault_store_recover(f->s, "doomed", why_));
    VT_EXPECT_ERR(cloak_vault_store_recover(f->s, "doomed", why_), CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_get_deleted(f->s, "doomed", &r, why_), CLOAK_ENOTFOUND, NULL);
    cloak_vault_keyrec *recs = NULL;
    size_t n = 0;
    VT_OK(cloak_vault_store_all_versions(f->s, "doomed", &recs, &n, why_));
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(recs[i].version, v[i]);
        assert_null(recs[i].deleted);
        vt_check_blob(&recs[i], VT_BLOB_LEN);
    }
    int64_t old_max_seq = recs[2].seq;
    cloak_vault_keyrecs_free(recs, n);

    /* purge removes the key and all its versions; then the name is free */
    VT_OK(cloak_vault_store_delete(f->s, "doomed", del, why_));
    VT_OK(cloak_vault_store_purge(f->s, "doomed", why_));
    VT_EXPECT_ERR(cloak_vault_store_purge(f->s, "doomed", why_), CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_get_deleted(f->s, "doomed", &r, why_), CLOAK_ENOTFOUND, NULL);
    VT_EXPECT_ERR(cloak_vault_store_get(f->s, "doomed", NULL, &r, why_), CLOAK_ENOTFOUND, NULL);
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM versions"), 1); /* bystander */
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM keys"), 1);
    vt_put(f->s, "doomed", v[0], "{\"new\":1}");
    VT_OK(cloak_vault_store_all_versions(f->s, "doomed", &recs, &n, why_));
    assert_int_equal(n, 1);
    assert_string_equal(recs[0].meta, "{\"new\":1}");
    assert_true(recs[0].seq > old_max_seq); /* seq is never reused */
    cloak_vault_keyrecs_free(recs, n);
}

/* ---- paging ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void shuffle(char **a, size_t n, unsigned *seed)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)rand_r(seed) % (i + 1);
        char *t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

#define NKEYS 60
static void test_list_keys_pages_every_key_once_in_order(void **state)
{
    fx *f = *state;
    char *names[NKEYS], *sorted[NKEYS];
    unsigned seed = 60;
    char v1[33], v2[33];
    vt_version(1, v1);
    vt_version(2, v2);
    for (int i = 0; i < NKEYS; i++) {
        char buf[64];
        /* mixed case, digits and dashes so the order is not the insertion order */
        snprintf(buf, sizeof(buf), "%s-%02d%s",
                 (i % 3 == 0)   ? "Key"
                 : (i % 3 == 1) ? "key"
                                : "k",
                 (i * 37) % 100, (i % 2) ? "-x" : "");
        names[i] = strdup(buf);
        sorted[i] = names[i];
    }
    qsort(sorted, NKEYS, sizeof(char *), cmp_str);
    shuffle(names, NKEYS, &seed);
    for (int i = 0; i < NKEYS; i++) {
        vt_put(f->s, names[i], v1, "{\"v\":1}");
        if (i % 4 == 0) vt_put(f->s, names[i], v2, "{\"v\":2}");
    }
    /* soft-deleted keys are not listed */
    vt_put(f->s, "deleted-a", v1, "{}");
    vt_put(f->s, "Deleted-b", v1, "{}");
    VT_OK(cloak_vault_store_delete(f->s, "deleted-a", "{}", why_));
    VT_OK(cloak_vault_store_delete(f->s, "Deleted-b", "{}", why_));

    const size_t sizes[] = {1, 2, 25, 60, 61, 1000};
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        size_t max = sizes[si], seen = 0, pages = 0;
        char after[128] = "";
        int more = 1;
        while (more) {
            cloak_vault_keyrec *recs = NULL;
            size_t n = 0;
            VT_OK(cloak_vault_store_list_keys(f->s, pages ? after : NULL, max, &recs, &n, &more,
                                              why_));
            pages++;
            assert_true(n <= max);
            assert_true(n > 0 || !more);
            for (size_t i = 0; i < n; i++, seen++) {
                assert_true(seen < NKEYS);
                assert_string_equal(recs[i].name, sorted[seen]);
                assert_null(recs[i].deleted);
                assert_null(recs[i].blob); /* lists do not load blobs */
                /* the latest version of each */
                int has_v2 = 0;
                for (int k = 0; k < NKEYS; k++)
                    if (!strcmp(names[k], recs[i].name)) has_v2 = k % 4 == 0;
                assert_string_equal(recs[i].version, has_v2 ? v2 : v1);
                assert_string_equal(recs[i].meta, has_v2 ? "{\"v\":2}" : "{\"v\":1}");
            }
            if (n) snprintf(after, sizeof(after), "%s", recs[n - 1].name);
            cloak_vault_keyrecs_free(recs, n);
            assert_true(pages <= NKEYS + 1);
        }
        assert_int_equal(seen, NKEYS);
        assert_int_equal(pages, max >= NKEYS ? 1 : (NKEYS + max - 1) / max);
    }

    /* the deleted list, one per page: both, in order, with the deletion record */
    cloak_vault_keyrec *recs = NULL;
    size_t n = 0;
    int more = 0;
    VT_OK(cloak_vault_store_list_deleted(f->s, NULL, 1, &recs, &n, &more, why_));
    assert_int_equal(n, 1);
    assert_int_equal(more, 1);
    assert_string_equal(recs[0].name, "Deleted-b"); /* 'D' < 'd' */
    assert_string_equal(recs[0].deleted, "{}");
    cloak_vault_keyrecs_free(recs, n);
    VT_OK(cloak_vault_store_list_deleted(f->s, "Deleted-b", 1, &recs, &n, &more, why_));
    assert_int_equal(n, 1);
    assert_int_equal(more, 0);
    assert_string_equal(recs[0].name, "deleted-a");
    cloak_vault_keyrecs_free(recs, n);
    VT_OK(cloak_vault_store_list_deleted(f->s, "deleted-a", 1, &recs, &n, &more, why_));
    assert_int_equal(n, 0);
    assert_int_equal(more, 0);
    cloak_vault_keyrecs_free(recs, n);
    for (int i = 0; i < NKEYS; i++)
        free(sorted[i]);
}

static void test_list_versions_pages_in_insertion_order(void **state)
{
    fx *f = *state;
    char v[NKEYS][33];
    for (unsigned i = 0; i < NKEYS; i++) {
        vt_version(i, v[i]); /* hash order, not insertion order */
        vt_put(f->s, "many", v[i], "{}");
        vt_put(f->s, i % 2 ? "other-a" : "other-b", v[i], "{}"); /* seq gaps for "many" */
    }
    const size_t sizes[] = {1, 2, 25, 100};
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        size_t max = sizes[si], seen = 0;
        int64_t after = 0, last_seq = 0;
        int more = 1;
        while (more) {
            cloak_vault_keyrec *recs = NULL;
            size_t n = 0;
            VT_OK(
                cloak_vault_store_list_versions(f->s, "many", after, max, &recs, &n, &more, why_));
            assert_true(n <= max);
            for (size_t i = 0; i < n; i++, seen++) {
                assert_true(seen < NKEYS);
                assert_string_equal(recs[i].name, "many");
                assert_string_equal(recs[i].version, v[seen]);
                assert_true(recs[i].seq > last_seq);
                last_seq = recs[i].seq;
                assert_null(recs[i].blob);
            }
            if (n) after = recs[n - 1].seq;
            cloak_vault_keyrecs_free(recs, n);
        }
        assert_int_equal(seen, NKEYS);
    }
    /* past the end: an empty last page */
    cloak_vault_keyrec *recs = NULL;
    size_t n = 9;
    int more = 9;
    VT_OK(cloak_vault_store_list_versions(f->s, "many", INT64_MAX, 5, &recs, &n, &more, why_));
    assert_int_equal(n, 0);
    assert_int_equal(more, 0);
    cloak_vault_keyrecs_free(recs, n);
    /* a deleted key has no live versions to list */
    VT_OK(cloak_vault_store_delete(f->s, "many", "{}", why_));
    VT_EXPECT_ERR(cloak_vault_store_list_versions(f->s, "many", 0, 5, &recs, &n, &more, why_),
                  CLOAK_ENOTFOUND, NULL);
}

/* ---- backup / restore ---- */

static void test_all_versions_and_restore(void **state)
{
    fx *f = *state;
    char v[3][33];
    for (unsigned i = 0; i < 3; i++) {
        vt_version(100 + i, v[i]);
        char meta[32];
        snprintf(meta, sizeof(meta), "{\"i\":%u}", i);
        vt_put(f->s, "bk", v[i], meta);
    }
    cloak_vault_keyrec *recs = NULL;
    size_t n = 0;
    VT_OK(cloak_vault_store_all_versions(f->s, "bk", &recs, &n, why_));
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(recs[i].version, v[i]); /* oldest first */
        vt_check_blob(&recs[i], VT_BLOB_LEN);
    }
    /* restore refuses a name in use: live, then soft-deleted */
    VT_EXPECT_ERR(cloak_vault_store_restore(f->s, recs, n, why_), CLOAK_EEXIST, "already exists");
    VT_OK(cloak_vault_store_delete(f->s, "bk", "{}", why_));
    VT_EXPECT_ERR(cloak_vault_store_restore(f->s, recs, n, why_), CLOAK_EEXIST,
                  "deleted but recoverable");
    VT_OK(cloak_vault_store_purge(f->s, "bk", why_));

    /* a backup whose versions repeat fails as a whole: nothing is half-restored */
    cloak_vault_keyrec dup[2] = {recs[0], recs[0]};
    VT_EXPECT_ERR(cloak_vault_store_restore(f->s, dup, 2, why_), CLOAK_EEXIST, NULL);
    cloak_vault_keyrec r = {0};
    VT_EXPECT_ERR(cloak_vault_store_get(f->s, "bk", NULL, &r, why_), CLOAK_ENOTFOUND, NULL);
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM keys"), 0);
    /* one key per restore */
    cloak_vault_keyrec mixed[2] = {recs[0], recs[1]};
    mixed[1].name = (char *)"another";
    VT_EXPECT_ERR(cloak_vault_store_restore(f->s, mixed, 2, why_), CLOAK_EINVAL, "another");

    VT_OK(cloak_vault_store_restore(f->s, recs, n, why_));
    VT_OK(cloak_vault_store_get(f->s, "bk", NULL, &r, why_));
    assert_string_equal(r.version, v[2]); /* the last restored is the latest */
    assert_string_equal(r.meta, "{\"i\":2}");
    vt_check_blob(&r, VT_BLOB_LEN);
    cloak_vault_keyrec_clear(&r);
    cloak_vault_keyrec *back = NULL;
    size_t bn = 0;
    VT_OK(cloak_vault_store_all_versions(f->s, "bk", &back, &bn, why_));
    assert_int_equal(bn, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(back[i].version, recs[i].version);
        assert_string_equal(back[i].meta, recs[i].meta);
        vt_check_blob(&back[i], VT_BLOB_LEN);
    }
    cloak_vault_keyrecs_free(back, bn);
    cloak_vault_keyrecs_free(recs, n);
}

/* ---- nonces, settings ---- */

static void test_nonce_replay_and_expiry(void **state)
{
    fx *f = *state;
    VT_OK(cloak_vault_store_nonce_use(f->s, "n1", 1000, 1300, why_));
    VT_EXPECT_ERR(cloak_vault_store_nonce_use(f->s, "n1", 1100, 1400, why_), CLOAK_EEXIST,
                  "replay");
    VT_EXPECT_ERR(cloak_vault_store_nonce_use(f->s, "n1", 1299, 1600, why_), CLOAK_EEXIST, NULL);
    VT_OK(cloak_vault_store_nonce_use(f->s, "n2", 1100, 1400, why_)); /* independent */
    VT_OK(cloak_vault_store_nonce_use(f->s, "N1", 1100, 1400, why_)); /* exact match only */
    /* at its expiry the nonce may be used again, and is then recorded anew */
    VT_OK(cloak_vault_store_nonce_use(f->s, "n1", 1300, 1600, why_));
    VT_EXPECT_ERR(cloak_vault_store_nonce_use(f->s, "n1", 1500, 1900, why_), CLOAK_EEXIST, NULL);
    assert_int_equal(vt_sql_int(f->d.db, "SELECT expires FROM nonces WHERE nonce = 'n1'"), 1600);

    /* pruning: within any 64 calls expired nonces are deleted */
    for (int i = 0; i < 200; i++) {
        char nn[32];
        snprintf(nn, sizeof(nn), "old-%d", i);
        VT_OK(cloak_vault_store_nonce_use(f->s, nn, 1000, 2000, why_));
    }
    for (int i = 0; i < 64; i++) {
        char nn[32];
        snprintf(nn, sizeof(nn), "new-%d", i);
        VT_OK(cloak_vault_store_nonce_use(f->s, nn, 3000, 3600, why_));
    }
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM nonces WHERE expires <= 3000"), 0);
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM nonces WHERE nonce LIKE 'new-%'"),
                     64);
    /* an unexpired nonce survives pruning and stays a replay */
    VT_EXPECT_ERR(cloak_vault_store_nonce_use(f->s, "new-5", 3500, 4000, why_), CLOAK_EEXIST, NULL);
    /* key writes still work after nonce writes switched synchronous back and forth */
    char v1[33];
    vt_version(1, v1);
    vt_put(f->s, "after-nonces", v1, "{}");
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM keys WHERE name = 'after-nonces'"),
                     1);
}

static void test_kv_put_get_replace(void **state)
{
    fx *f = *state;
    char *v = NULL;
    VT_EXPECT_ERR(cloak_vault_store_kv_get(f->s, "audit.head", &v, why_), CLOAK_ENOTFOUND,
                  "audit.head");
    VT_OK(cloak_vault_store_kv_put(f->s, "audit.head", "{\"seq\":1}", why_));
    VT_OK(cloak_vault_store_kv_get(f->s, "audit.head", &v, why_));
    assert_string_equal(v, "{\"seq\":1}");
    free(v);
    VT_OK(cloak_vault_store_kv_put(f->s, "audit.head", "{\"seq\":2}", why_));
    VT_OK(cloak_vault_store_kv_put(f->s, "empty", "", why_));
    VT_OK(cloak_vault_store_kv_get(f->s, "audit.head", &v, why_));
    assert_string_equal(v, "{\"seq\":2}");
    free(v);
    VT_OK(cloak_vault_store_kv_get(f->s, "empty", &v, why_));
    assert_string_equal(v, "");
    free(v);
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM kv"), 2);
}

/* Names the service would refuse are still only data here. */
static void test_hostile_names_are_only_data(void **state)
{
    fx *f = *state;
    char longname[1025];
    memset(longname, 'L', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    const char *names[] = {"a'b",   "x\"); DROP TABLE keys; --",        "%",        "_",
                           "a/b/c", "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", "  space ", longname};
    const size_t nn = sizeof(names) / sizeof(names[0]);
    char v1[33];
    vt_version(1, v1);
    for (size_t i = 0; i < nn; i++)
        vt_put(f->s, names[i], v1, "{\"q\":\"'\\\"\"}");
    for (size_t i = 0; i < nn; i++) {
        cloak_vault_keyrec r = {0};
        VT_OK(cloak_vault_store_get(f->s, names[i], v1, &r, why_));
        assert_string_equal(r.name, names[i]);
        assert_string_equal(r.meta, "{\"q\":\"'\\\"\"}");
        vt_check_blob(&r, VT_BLOB_LEN);
        cloak_vault_keyrec_clear(&r);
    }
    /* "%" and "_" are not patterns: "_" does not find "%" */
    VT_OK(cloak_vault_store_delete(f->s, "_", "{}", why_));
    cloak_vault_keyrec r = {0};
    VT_OK(cloak_vault_store_get(f->s, "%", NULL, &r, why_));
    cloak_vault_keyrec_clear(&r);
    cloak_vault_keyrec *recs = NULL;
    size_t n = 0;
    int more = 0;
    VT_OK(cloak_vault_store_list_keys(f->s, NULL, 100, &recs, &n, &more, why_));
    assert_int_equal(n, nn - 1);
    cloak_vault_keyrecs_free(recs, n);
    assert_int_equal(vt_sql_int(f->d.db, "SELECT count(*) FROM keys"), (int64_t)nn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_then_get_latest_and_by_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_keys_and_versions_are_enotfound, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_version_is_eexist_and_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments_are_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_meta_replaces_only_that_version, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_soft_delete_recover_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_keys_pages_every_key_once_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_list_versions_pages_in_insertion_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_all_versions_and_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_replay_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_put_get_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_names_are_only_data, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
