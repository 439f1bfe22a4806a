/*
 * Vault keyops, key custody: blobs bound to their name and vault, the sealed master key's
 * lifecycle, backups, randomness, no plaintext key bytes on disk, parallel lanes, a hostile
 * host sending malformed requests straight to the enclave, and the cost of one call (printed,
 * not asserted).
 */
#include "vk_testlib.h"

#include "cloak/enclave.h"
#include "cloak/jose.h"
#include "vault/enclave/vault_proto.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const uint8_t KNOWN_OCT[32] = {
    0x5e, 0xc7, 0x3a, 0x11, 0x9b, 0x42, 0xd0, 0x6f, 0x81, 0x2c, 0xe5, 0x37, 0xa8, 0x04, 0x7d, 0xbb,
    0x19, 0xf2, 0x60, 0x8e, 0xc3, 0x55, 0x0a, 0x9d, 0x74, 0xe1, 0x2f, 0xb6, 0x48, 0x93, 0x1c, 0xda};

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* A blob opens only for its own bind, unaltered, in its own vault: else CLOAK_EVERIFY (also
 * after it was opened once and cached). */
static void test_blob_refused_wrong_bind_flipped_bit_other_vault(void **state)
{
    uint8_t *blob = NULL, v[32] = {7};
    size_t len = 0;
    json_t *jwk = vk_oct_jwk(KNOWN_OCT, 32);
    vk_import(vk_ko, jwk, "k1/v1", &blob, &len, NULL);
    json_decref(jwk);
    assert_int_equal(len, 32 + VE_BLOB_OVERHEAD);
    assert_memory_equal(blob, VE_BLOB_MAGIC, 4);
    assert_int_equal(vk_crypt_rc(vk_ko, blob, len, "k1/v1", CLOAK_VK_WRAP, "A256KW", v, 32),
                     CLOAK_OK); /* now cached */
    const char *binds[] = {"k1/v2", "k2/v1", "k1/v1 ", "", "K1/v1"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(vk_crypt_rc(vk_ko, blob, len, binds[i], CLOAK_VK_WRAP, "A256KW", v, 32),
                         CLOAK_EVERIFY);
    /* a flipped bit anywhere: magic, type, iv, ciphertext, tag */
    for (size_t off = 0; off < len; off++) {
        blob[off] ^= 0x01;
        cloak_err rc = vk_crypt_rc(vk_ko, blob, len, "k1/v1", CLOAK_VK_WRAP, "A256KW", v, 32);
        if (rc != CLOAK_EVERIFY)
            fail_msg("flipped bit at offset %zu: got %s", off, cloak_err_name(rc));
        blob[off] ^= 0x01;
    }
    assert_int_equal(vk_crypt_rc(vk_ko, blob, len - 1, "k1/v1", CLOAK_VK_WRAP, "A256KW", v, 32),
                     CLOAK_EVERIFY);
    assert_int_equal(vk_crypt_rc(vk_ko, blob, 10, "k1/v1", CLOAK_VK_WRAP, "A256KW", v, 32),
                     CLOAK_EVERIFY);
    /* another data directory = another master key */
    cloak_vault_keyops *other = vk_open("other", 1);
    cloak_vk_request rq = {.op = CLOAK_VK_WRAP, .alg = "A256KW", .value = v, .value_len = 32};
    cloak_vk_result r = {0};
    cloak_error why = {0};
    assert_int_equal(cloak_vault_keyops_crypt(other, blob, len, "k1/v1", &rq, &r, &why),
                     CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "k1/v1"));
    uint8_t *ob = NULL;
    size_t ol = 0;
    vk_generate(other, CLOAK_VK_RSA, 2048, NULL, "k1/v1", &ob, &ol, NULL);
    uint8_t dg[32] = {1};
    assert_int_equal(vk_crypt_rc(vk_ko, ob, ol, "k1/v1", CLOAK_VK_SIGN, "RS256", dg, 32),
                     CLOAK_EVERIFY);
    assert_int_equal(vk_crypt_rc(other, ob, ol, "k1/v1", CLOAK_VK_SIGN, "RS256", dg, 32), CLOAK_OK);
    free(ob);
    cloak_vault_keyops_free(other);
    free(blob);
}

/* master.sealed: created 0600 on first open, reused after (old blobs still work), and one that
 * does not unseal is an error and is left as it is. */
static void test_master_sealed_persists_and_is_never_replaced(void **state)
{
    cloak_vault_keyops *ko = vk_open("persist", 2);
    struct stat st;
    char path[512];
    snprintf(path, sizeof path, "%s/master.sealed", vk_path("persist"));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t *rsa = NULL, *oct = NULL, *m1 = NULL, *m2 = NULL;
    size_t rl = 0, ol = 0, n1 = 0, n2 = 0;
    json_t *pub = NULL, *jwk = vk_oct_jwk(KNOWN_OCT, 32);
    vk_generate(ko, CLOAK_VK_RSA, 2048, NULL, "p/1", &rsa, &rl, &pub);
    vk_import(ko, jwk, "p/2", &oct, &ol, NULL);
    cloak_vault_keyops_free(ko);
    cloak_error why = {0};
    assert_int_equal(cloak_file_read(path, &m1, &n1, &why), CLOAK_OK);

    ko = vk_open("persist", 1);
    uint8_t dg[32] = {9}, kw[16] = {1, 2, 3};
    cloak_vk_result r = {0};
    vk_crypt_ok(ko, rsa, rl, "p/1", CLOAK_VK_SIGN, "PS256", dg, 32, &r);
    EVP_PKEY *pk = vk_public_from_jwk(pub);
    assert_true(vk_verify(pk, "SHA256", 1, dg, 32, r.value, r.value_len));
    cloak_vk_result_clear(&r);
    vk_crypt_ok(ko, oct, ol, "p/2", CLOAK_VK_WRAP, "A256KW", kw, 16, &r);
    cloak_vk_result_clear(&r);
    cloak_vault_keyops_free(ko);
    assert_int_equal(cloak_file_read(path, &m2, &n2, &why), CLOAK_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(m1, m2, n1); /* reused, not rewritten */

    /* a damaged master.sealed: a clear error, the file untouched */
    m2[n2 / 2] ^= 0x20;
    write_file(path, m2, n2);
    cloak_vault_keyops *bad = NULL;
    memset(&why, 0, sizeof why);
    cloak_err rc = vk_try_open("persist", 1, &bad, &why);
    assert_int_not_equal(rc, CLOAK_OK);
    assert_null(bad);
    assert_non_null(strstr(why.msg, "master.sealed"));
    assert_non_null(strstr(why.msg, "never replaced"));
    uint8_t *m3 = NULL;
    size_t n3 = 0;
    assert_int_equal(cloak_file_read(path, &m3, &n3, &why), CLOAK_OK);
    assert_int_equal(n3, n2);
    assert_memory_equal(m3, m2, n2);
    /* a truncated one, too */
    write_file(path, m1, 10);
    assert_int_not_equal(vk_try_open("persist", 1, &bad, &why), CLOAK_OK);
    EVP_PKEY_free(pk);
    json_decref(pub);
    json_decref(jwk);
    free(rsa), free(oct), free(m1), free(m2), free(m3);
}

static void test_backup_round_trip_and_tamper_refused(void **state)
{
    uint8_t bundle[3000], *sealed = NULL, *back = NULL;
    size_t sl = 0, bl = 0;
    cloak_error why = {0};
    for (size_t i = 0; i < sizeof bundle; i++)
        bundle[i] = (uint8_t)(i * 7);
    assert_int_equal(
        cloak_vault_keyops_backup_seal(vk_ko, bundle, sizeof bundle, &sealed, &sl, &why), CLOAK_OK);
    assert_int_equal(sl, sizeof bundle + VE_BACKUP_OVERHEAD);
    assert_int_equal(cloak_vault_keyops_backup_open(vk_ko, sealed, sl, &back, &bl, &why), CLOAK_OK);
    assert_int_equal(bl, sizeof bundle);
    assert_memory_equal(back, bundle, bl);
    free(back);
    for (size_t off = 0; off < sl; off += 97) {
        sealed[off] ^= 4;
        assert_int_equal(cloak_vault_keyops_backup_open(vk_ko, sealed, sl, &back, &bl, &why),
                         CLOAK_EVERIFY);
        sealed[off] ^= 4;
    }
    assert_int_equal(cloak_vault_keyops_backup_open(vk_ko, sealed, sl - 1, &back, &bl, &why),
                     CLOAK_EVERIFY);
    cloak_vault_keyops *other = vk_open("other-backup", 1);
    assert_int_equal(cloak_vault_keyops_backup_open(other, sealed, sl, &back, &bl, &why),
                     CLOAK_EVERIFY);
    cloak_vault_keyops_free(other);
    free(sealed);
    /* an empty bundle round-trips too */
    assert_int_equal(cloak_vault_keyops_backup_seal(vk_ko, NULL, 0, &sealed, &sl, &why), CLOAK_OK);
    assert_int_equal(cloak_vault_keyops_backup_open(vk_ko, sealed, sl, &back, &bl, &why), CLOAK_OK);
    assert_int_equal(bl, 0);
    free(sealed), free(back);
}

static void test_random_from_enclave(void **state)
{
    uint8_t a[4096], b[4096];
    cloak_error why = {0};
    assert_int_equal(cloak_vault_keyops_random(vk_ko, a, sizeof a, &why), CLOAK_OK);
    assert_int_equal(cloak_vault_keyops_random(vk_ko, b, sizeof b, &why), CLOAK_OK);
    assert_true(memcmp(a, b, sizeof a) != 0);
    unsigned ones = 0; /* 32768 bits: far from all-zero or all-one */
    for (size_t i = 0; i < sizeof a; i++)
        ones += (unsigned)__builtin_popcount(a[i]);
    assert_true(ones > 15000 && ones < 17800);
    assert_int_equal(cloak_vault_keyops_random(vk_ko, a, 4097, &why), CLOAK_EINVAL);
}

static int contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (!memcmp(hay + i, needle, m)) return 1;
    return 0;
}

/* Import a known oct key and a known RSA key, store their blobs and a backup in the data dir
 * (as the vault's store would), then search every file there for the key bytes (raw, hex,
 * base64url, and the RSA key's PKCS#8 and d). */
static void test_no_plaintext_key_bytes_in_data_dir(void **state)
{
    cloak_vault_keyops *ko = vk_open("scan", 2);
    json_t *oj = vk_oct_jwk(KNOWN_OCT, 32);
    EVP_PKEY *rk = vk_rsa_key(2048);
    json_t *rj = vk_private_jwk(rk);
    uint8_t *ob = NULL, *rb = NULL, *sealed = NULL;
    size_t ol = 0, rl = 0, sl = 0, p8l = 0;
    vk_import(ko, oj, "scan/o", &ob, &ol, NULL);
    vk_import(ko, rj, "scan/r", &rb, &rl, NULL);
    cloak_buf both = {0};
    cloak_buf_put(&both, ob, ol);
    cloak_buf_put(&both, rb, rl);
    cloak_error why = {0};
    assert_int_equal(cloak_vault_keyops_backup_seal(ko, both.p, both.len, &sealed, &sl, &why), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/blobs.bin", vk_path("scan"));
    write_file(path, both.p, both.len);
    snprintf(path, sizeof path, "%s/backup.bin", vk_path("scan"));
    write_file(path, sealed, sl);
    cloak_vault_keyops_free(ko);

    char *hex = cloak_hex_encode(KNOWN_OCT, 32);
    const char *b64 = json_string_value(json_object_get(oj, "k"));
    uint8_t *p8 = vk_pkcs8(rk, &p8l);
    size_t dl = 0;
    uint8_t *d = NULL;
    const char *d64 = json_string_value(json_object_get(rj, "d"));
    assert_int_equal(cloak_base64url_decode(d64, strlen(d64), &d, &dl, &why), 0);
    DIR *dir = opendir(vk_path("scan"));
    assert_non_null(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.') continue;
        uint8_t *p = NULL;
        size_t n = 0;
        snprintf(path, sizeof path, "%s/%s", vk_path("scan"), e->d_name);
        assert_int_equal(cloak_file_read(path, &p, &n, &why), CLOAK_OK);
        files++;
        /* any 8-byte window of the keys would be found, not only the whole key */
        for (size_t off = 0; off + 8 <= 32; off += 4)
            assert_false(contains(p, n, KNOWN_OCT + off, 8));
        for (size_t off = 0; off + 16 <= dl; off += 16)
            assert_false(contains(p, n, d + off, 16));
        assert_false(contains(p, n, hex, 16));
        assert_false(contains(p, n, b64, 16));
        assert_false(contains(p, n, p8 + p8l - 64, 64));
        free(p);
    }
    closedir(dir);
    assert_int_equal(files, 3); /* master.sealed, blobs.bin, backup.bin */
    free(hex), free(ob), free(rb), free(sealed), free(d);
    OPENSSL_free(p8);
    cloak_buf_free(&both);
    json_decref(oj);
    json_decref(rj);
    EVP_PKEY_free(rk);
}

/* Several threads on two lanes: every answer is right. */
typedef struct {
    const uint8_t *blob;
    size_t len;
    int failures;
    unsigned seed;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < 150; i++) {
        uint8_t pt[40], key[16];
        for (size_t j = 0; j < sizeof pt; j++)
            pt[j] = (uint8_t)(a->seed * 31 + (unsigned)i + j);
        memcpy(key, pt, 16);
        cloak_vk_request rq = {
            .op = CLOAK_VK_ENCRYPT, .alg = "A256GCM", .value = pt, .value_len = sizeof pt};
        cloak_vk_result e = {0}, d = {0};
        cloak_error why = {0};
        if (cloak_vault_keyops_crypt(vk_ko, a->blob, a->len, "mt", &rq, &e, &why)) {
            a->failures++;
            continue;
        }
        cloak_vk_request dr = {.op = CLOAK_VK_DECRYPT,
                               .alg = "A256GCM",
                               .value = e.value,
                               .value_len = e.value_len,
                               .iv = e.iv,
                               .iv_len = e.iv_len,
                               .tag = e.tag,
                               .tag_len = e.tag_len};
        if (cloak_vault_keyops_crypt(vk_ko, a->blob, a->len, "mt", &dr, &d, &why) ||
            d.value_len != sizeof pt || memcmp(d.value, pt, sizeof pt))
            a->failures++;
        cloak_vk_result_clear(&e);
        cloak_vk_result_clear(&d);
    }
    return NULL;
}

static void test_parallel_calls_share_lanes(void **state)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    vk_generate(vk_ko, CLOAK_VK_OCT, 256, NULL, "mt", &blob, &len, NULL);
    pthread_t t[6];
    worker_arg a[6];
    for (unsigned i = 0; i < 6; i++) {
        a[i] = (worker_arg){blob, len, 0, i};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &a[i]), 0);
    }
    for (unsigned i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].failures, 0);
    }
    free(blob);
}

/* A hostile host: malformed requests straight to the enclave (truncations, huge lengths,
 * random bytes, each function id) are refused, and the enclave keeps serving. */
static void test_hostile_requests_do_not_crash_enclave(void **state)
{
    const char *image = VK_ENCLAVE_IMAGE;
    cloak_enclave_opts o = {
        .flags = CLOAK_ENCLAVE_FLAG_SIMULATION, .platform_dir = vk_platform(), .quiet = 1};
    cloak_enclave *e = NULL;
    cloak_error why = {0};
    if (cloak_enclave_create(image, &o, &e, &why)) fail_msg("create: %s", why.msg);
    static uint8_t out[1 << 16];
    size_t n = 0;
    /* before a master key: refused */
    uint8_t gen[] = {3, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'x'}; /* oct, 256 bits, "", "x" */
    assert_int_equal(
        cloak_enclave_call(e, VE_FID_GENERATE, gen, sizeof gen, out, sizeof out, &n, &why),
        CLOAK_EPERM);
    assert_int_equal(
        cloak_enclave_call(e, VE_FID_MASTER_CREATE, NULL, 0, out, sizeof out, &n, &why), CLOAK_OK);
    /* a second master key is refused */
    assert_int_equal(
        cloak_enclave_call(e, VE_FID_MASTER_CREATE, NULL, 0, out, sizeof out, &n, &why),
        CLOAK_EPERM);
    assert_int_equal(cloak_enclave_call(e, VE_FID_MASTER_OPEN, out, n, out, sizeof out, &n, &why),
                     CLOAK_EPERM);
    assert_int_equal(
        cloak_enclave_call(e, VE_FID_GENERATE, gen, sizeof gen, out, sizeof out, &n, &why),
        CLOAK_OK);
    uint8_t blob[200];
    size_t bl = cloak_get_u32le(out);
    assert_true(bl < sizeof blob && n >= 4 + bl);
    memcpy(blob, out + 4, bl);
    /* a valid CRYPT request to mutate: A256KW wrap of 16 bytes */
    cloak_buf m = {0};
    uint8_t v[16] = {0};
    cloak_buf_u8(&m, CLOAK_VK_WRAP);
    cloak_buf_u32le(&m, 6), cloak_buf_put(&m, "A256KW", 6);
    cloak_buf_u32le(&m, (uint32_t)bl), cloak_buf_put(&m, blob, bl);
    cloak_buf_u32le(&m, 1), cloak_buf_put(&m, "x", 1);
    cloak_buf_u32le(&m, 16), cloak_buf_put(&m, v, 16);
    for (int i = 0; i < 4; i++)
        cloak_buf_u32le(&m, 0);
    assert_int_equal(cloak_enclave_call(e, VE_FID_CRYPT, m.p, m.len, out, sizeof out, &n, &why),
                     CLOAK_OK);
    uint8_t *mut = malloc(m.len + 64);
    const uint32_t fids[] = {VE_FID_GENERATE,    VE_FID_IMPORT, VE_FID_CRYPT,       VE_FID_RELEASE,
                             VE_FID_BACKUP_OPEN, VE_FID_RANDOM, VE_FID_MASTER_OPEN, 0xFFFF};
    unsigned refused = 0, calls = 0;
    for (size_t cut = 0; cut < m.len; cut++) { /* every truncation */
        cloak_err rc = cloak_enclave_call(e, VE_FID_CRYPT, m.p, cut, out, sizeof out, &n, &why);
        assert_true(rc == CLOAK_EINVAL || rc == CLOAK_EVERIFY);
        calls++;
    }
    srand(12345);
    for (int i = 0; i < 3000; i++) {
        memcpy(mut, m.p, m.len);
        size_t len = m.len;
        int kind = i % 3;
        if (kind == 0) { /* a length field made huge or off by a little */
            size_t off = (size_t)rand() % (len - 4);
            uint32_t val = (uint32_t)rand() % 2 ? 0xFFFFFFF0u + (uint32_t)(rand() % 16)
                                                : (uint32_t)(rand() % 64);
            cloak_put_u32le(mut + off, val);
        } else if (kind == 1) { /* flipped bytes */
            for (int k = 0; k < 4; k++)
                mut[(size_t)rand() % len] ^= (uint8_t)(1 + rand() % 255);
        } else { /* random bytes, random length */
            len = (size_t)rand() % (m.len + 64);
            RAND_bytes(mut, (int)len);
        }
        uint32_t fid = fids[(size_t)i % (sizeof fids / sizeof *fids)];
        size_t cap = (size_t)rand() % 2 ? sizeof out : (size_t)rand() % 64;
        cloak_err rc = cloak_enclave_call(e, fid, mut, len, out, cap, &n, &why);
        if (rc == CLOAK_ECRASHED || rc == CLOAK_ETIMEOUT || rc == CLOAK_EINTERNAL)
            fail_msg("fid %u, case %d: %s: %s", fid, i, cloak_err_name(rc), why.msg);
        refused += rc != CLOAK_OK;
        calls++;
    }
    printf("  hostile requests: %u calls, %u refused, enclave alive\n", calls, refused);
    assert_int_equal(cloak_enclave_call(e, VE_FID_CRYPT, m.p, m.len, out, sizeof out, &n, &why),
                     CLOAK_OK);
    free(mut);
    cloak_buf_free(&m);
    cloak_enclave_free(e);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Cost of one keyops call, beside the same operation done directly with OpenSSL. Printed only. */
static void test_cost_of_one_call_printed(void **state)
{
    uint8_t *rsa = NULL, *oct = NULL, dg[32] = {5}, pt[32] = {6};
    size_t rl = 0, ol = 0;
    vk_generate(vk_ko, CLOAK_VK_RSA, 2048, NULL, "perf/r", &rsa, &rl, NULL);
    vk_generate(vk_ko, CLOAK_VK_OCT, 256, NULL, "perf/o", &oct, &ol, NULL);
    const int nr = 300, na = 3000;
    cloak_vk_result r = {0};
    vk_crypt_ok(vk_ko, rsa, rl, "perf/r", CLOAK_VK_SIGN, "RS256", dg, 32, &r); /* warm the cache */
    cloak_vk_result_clear(&r);
    double t0 = now_s();
    for (int i = 0; i < nr; i++) {
        vk_crypt_ok(vk_ko, rsa, rl, "perf/r", CLOAK_VK_SIGN, "RS256", dg, 32, &r);
        cloak_vk_result_clear(&r);
    }
    double t_rsa = (now_s() - t0) / nr;
    t0 = now_s();
    for (int i = 0; i < na; i++) {
        vk_crypt_ok(vk_ko, oct, ol, "perf/o", CLOAK_VK_ENCRYPT, "A256GCM", pt, 32, &r);
        cloak_vk_result_clear(&r);
    }
    double t_gcm = (now_s() - t0) / na;
    /* the same with OpenSSL in this process */
    EVP_PKEY *k = vk_rsa_key(2048);
    t0 = now_s();
    for (int i = 0; i < nr; i++) {
        size_t sl = 0;
        free(vk_sign(k, "SHA256", 0, 0, dg, 32, &sl));
    }
    double o_rsa = (now_s() - t0) / nr;
    uint8_t key[32] = {1}, iv[12], out[64], tag[16];
    t0 = now_s();
    for (int i = 0; i < na; i++) {
        size_t n = 0;
        RAND_bytes(iv, 12);
        assert_true(vk_aes("AES-256-GCM", 1, 0, key, iv, 12, NULL, 0, pt, 32, out, &n, tag));
    }
    double o_gcm = (now_s() - t0) / na;
    /* release of an RSA-2048 key to a 2048-bit KEK, and an A256KW wrap (printed only) */
    EVP_PKEY *kek = vk_rsa_key(2048);
    t0 = now_s();
    for (int i = 0; i < nr; i++) {
        uint8_t *wrapped = NULL;
        size_t n = 0;
        cloak_error why = {0};
        assert_int_equal(cloak_vault_keyops_release(vk_ko, rsa, rl, "perf/r", kek,
                                                    "RSA_AES_KEY_WRAP_256", &wrapped, &n, &why),
                         CLOAK_OK);
        free(wrapped);
    }
    double t_rel = (now_s() - t0) / nr;
    t0 = now_s();
    for (int i = 0; i < na; i++) {
        vk_crypt_ok(vk_ko, oct, ol, "perf/o", CLOAK_VK_WRAP, "A256KW", pt, 32, &r);
        cloak_vk_result_clear(&r);
    }
    double t_kw = (now_s() - t0) / na;
    EVP_PKEY_free(kek);
    printf("  keyops release RSA-2048 key:   %7.1f us/call (%6.0f/s)\n", t_rel * 1e6, 1 / t_rel);
    printf("  keyops A256KW wrap (32 B):     %7.1f us/call (%6.0f/s)\n", t_kw * 1e6, 1 / t_kw);
    printf("  keyops RSA-2048 sign (RS256): %8.1f us/call (%6.0f/s); OpenSSL direct %8.1f us\n",
           t_rsa * 1e6, 1 / t_rsa, o_rsa * 1e6);
    printf("  keyops A256GCM encrypt (32 B): %7.1f us/call (%6.0f/s); OpenSSL direct %8.1f us\n",
           t_gcm * 1e6, 1 / t_gcm, o_gcm * 1e6);
    EVP_PKEY_free(k);
    free(rsa), free(oct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_refused_wrong_bind_flipped_bit_other_vault),
        cmocka_unit_test(test_master_sealed_persists_and_is_never_replaced),
        cmocka_unit_test(test_backup_round_trip_and_tamper_refused),
        cmocka_unit_test(test_random_from_enclave),
        cmocka_unit_test(test_no_plaintext_key_bytes_in_data_dir),
        cmocka_unit_test(test_parallel_calls_share_lanes),
        cmocka_unit_test(test_hostile_requests_do_not_crash_enclave),
        cmocka_unit_test(test_cost_of_one_call_printed),
    };
    return cmocka_run_group_tests(tests, vk_setup, vk_teardown);
}
