/*
 * Signed enclave images (include/cloak/image.h). Expectations come from outside the code under
 * test: the `openssl` command computes the measurement, verifies the signature and derives the
 * signer hash from `openssl rsa -modulus`; the code is a real ELF shared object built by CMake
 * (TEST_IMAGE_CODE). The command line is tested in test_image_cli.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "cloak/image.h"
#include "image_testlib.h"

#ifndef TEST_IMAGE_CODE
#error "TEST_IMAGE_CODE (path of the test shared object) must be defined by the build"
#endif

static struct {
    char key_a[128], key_b[128], key_f4[128], key_e17[128], key_2048[128], key_ec[128];
    char key_enc[128];
    uint8_t *code;
    size_t code_len;
    uint8_t *img; /* code signed by key A: product 7, svn 3, not debug, heap 8M */
    size_t img_len;
} T;

/* ---- helpers ----------------------------------------------------------------------------- */

/* Re-sign bytes [0, 528) of an image with `key` (a peer implementation via EVP), writing the
 * signature into the last 384 bytes: builds images the signer itself would never produce. */
static void resign(uint8_t *img, size_t len, const char *key)
{
    FILE *f = fopen(key, "r");
    assert_non_null(f);
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pk);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t siglen = SIG;
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestSign(md, img + len - SIG, &siglen, img, SIGNED), 1);
    assert_int_equal(siglen, SIG);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
}

static uint8_t *dup_img(void)
{
    uint8_t *c = malloc(T.img_len);
    assert_non_null(c);
    memcpy(c, T.img, T.img_len);
    return c;
}

/* Open and expect failure `code` with `msg` in the message; the out-param stays untouched. */
static void expect_refused(const uint8_t *p, size_t len, cloak_err code, const char *msg)
{
    cloak_image *img = (cloak_image *)(uintptr_t)0x1;
    cloak_error why = {0};
    cloak_err rc = cloak_image_open(p, len, &img, &why);
    if (rc != code || (msg && !strstr(why.msg, msg)))
        fail_msg("expected %s (%s), got %s: %s", cloak_err_name(code), msg ? msg : "",
                 cloak_err_name(rc), why.msg);
    assert_ptr_equal(img, (cloak_image *)(uintptr_t)0x1);
}

static cloak_image *expect_open(const uint8_t *p, size_t len)
{
    cloak_image *img = NULL;
    cloak_error why = {0};
    cloak_err rc = cloak_image_open(p, len, &img, &why);
    if (rc) fail_msg("open failed: %s", why.msg);
    return img;
}

static cloak_err sign_with(const char *key, const uint8_t *code, size_t len, uint8_t **out,
                           size_t *out_len, cloak_error *why)
{
    cloak_image_config cfg = {.product_id = 7, .svn = 3, .debug = 0, .heap = 8u << 20};
    return cloak_image_sign(code, len, key, &cfg, out, out_len, why);
}

/* ---- setup ------------------------------------------------------------------------------- */

static int setup(void **state)
{
    cloak_error why = {0};
    if (scratch_create()) return -1;
    tpath(T.key_a, sizeof T.key_a, "a.pem");
    tpath(T.key_b, sizeof T.key_b, "b.pem");
    tpath(T.key_f4, sizeof T.key_f4, "f4.pem");
    tpath(T.key_e17, sizeof T.key_e17, "e17.pem");
    tpath(T.key_2048, sizeof T.key_2048, "r2048.pem");
    tpath(T.key_ec, sizeof T.key_ec, "ec.pem");
    tpath(T.key_enc, sizeof T.key_enc, "encrypted.pem");
    if (cloak_image_keygen(T.key_a, &why) || cloak_image_keygen(T.key_b, &why)) {
        fprintf(stderr, "keygen: %s\n", why.msg);
        return -1;
    }
    char cmd[512];
#define GEN_RSA(bits, e, path)                                                                     \
    snprintf(cmd, sizeof cmd,                                                                      \
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:%d "                         \
             "-pkeyopt rsa_keygen_pubexp:%d -out '%s' 2>/dev/null",                                \
             bits, e, path)
    GEN_RSA(3072, 65537, T.key_f4);
    if (system(cmd)) return -1;
    GEN_RSA(3072, 17, T.key_e17);
    if (system(cmd)) return -1;
    GEN_RSA(2048, 3, T.key_2048);
    if (system(cmd)) return -1;
#undef GEN_RSA
    snprintf(cmd, sizeof cmd,
             "openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:secret -in '%s' -out '%s'",
             T.key_f4, T.key_enc);
    if (system(cmd)) return -1;
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' 2>/dev/null",
             T.key_ec);
    if (system(cmd)) return -1;
    if (cloak_file_read(TEST_IMAGE_CODE, &T.code, &T.code_len, &why)) {
        fprintf(stderr, "%s\n", why.msg);
        return -1;
    }
    if (sign_with(T.key_a, T.code, T.code_len, &T.img, &T.img_len, &why)) {
        fprintf(stderr, "sign: %s\n", why.msg);
        return -1;
    }
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    scratch_remove();
    free(T.code);
    free(T.img);
    (void)state;
    return 0;
}

/* ---- keygen ------------------------------------------------------------------------------ */

static void test_keygen_writes_pkcs8_rsa3072_exponent3_mode_0600(void **state)
{
    struct stat st;
    char out[8192];
    assert_int_equal(stat(T.key_a, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    size_t len;
    uint8_t *pem = read_all(T.key_a, &len);
    assert_true(len > 28 && memcmp(pem, "-----BEGIN PRIVATE KEY-----", 27) == 0); /* PKCS#8 */
    free(pem);
    assert_int_equal(runf(out, sizeof out, "openssl pkey -in '%s' -noout -text", T.key_a), 0);
    assert_non_null(strstr(out, "3072 bit"));
    assert_non_null(strstr(out, "publicExponent: 3 (0x3)"));
    (void)state;
}

static void test_keygen_mode_0600_even_with_permissive_umask(void **state)
{
    char p[256];
    struct stat st;
    cloak_error why = {0};
    tpath(p, sizeof p, "umask0.pem");
    mode_t old = umask(0);
    cloak_err rc = cloak_image_keygen(p, &why);
    umask(old);
    assert_int_equal(rc, CLOAK_OK);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    (void)state;
}

static void test_keygen_refuses_overwrite_and_leaves_no_temp_files(void **state)
{
    size_t l1, l2;
    cloak_error why = {0};
    uint8_t *before = read_all(T.key_b, &l1);
    assert_int_not_equal(cloak_image_keygen(T.key_b, &why), CLOAK_OK);
    assert_non_null(strstr(why.msg, "refusing to overwrite"));
    uint8_t *after = read_all(T.key_b, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(before, after, l1);
    free(before);
    free(after);
    DIR *d = opendir(scratch_dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);
    char p[256];
    tpath(p, sizeof p, "no/such/dir/k.pem");
    assert_int_not_equal(cloak_image_keygen(p, &why), CLOAK_OK);
    (void)state;
}

/* ---- what sign writes, checked against openssl ------------------------------------------- */

static void test_measurement_equals_openssl_sha256_of_documented_bytes(void **state)
{
    /* "cloak-mrenclave-v1" | u64le heap | u64le code_len | code */
    size_t n = 18 + 8 + 8 + T.code_len;
    uint8_t *m = malloc(n);
    assert_non_null(m);
    memcpy(m, "cloak-mrenclave-v1", 18);
    put_le(m + 18, 8u << 20, 8);
    put_le(m + 26, T.code_len, 8);
    memcpy(m + 34, T.code, T.code_len);
    char path[256], want[65], got[65];
    tpath(path, sizeof path, "measured.bin");
    write_file(path, m, n);
    free(m);
    openssl_sha256(path, want);

    cloak_image *img = expect_open(T.img, T.img_len);
    to_hex(cloak_image_id(img)->mrenclave, 32, got);
    assert_string_equal(got, want);
    to_hex(T.img + M(0), 32, got); /* manifest offset 0 */
    assert_string_equal(got, want);
    uint8_t direct[32];
    cloak_image_measure(T.code, T.code_len, 8u << 20, direct);
    to_hex(direct, 32, got);
    assert_string_equal(got, want);
    cloak_image_free(img);
    (void)state;
}

static void test_signature_verifies_with_openssl_dgst(void **state)
{
    char hm[256], sig[256], pub[256], out[256];
    tpath(hm, sizeof hm, "header_manifest.bin");
    tpath(sig, sizeof sig, "sig.bin");
    tpath(pub, sizeof pub, "pub.pem");
    write_file(hm, T.img, SIGNED);
    write_file(sig, T.img + T.img_len - SIG, SIG);
    assert_int_equal(runf(NULL, 0, "openssl pkey -in '%s' -pubout -out '%s'", T.key_a, pub), 0);
    assert_int_equal(runf(out, sizeof out, "openssl dgst -sha256 -verify '%s' -signature '%s' '%s'",
                          pub, sig, hm),
                     0);
    assert_non_null(strstr(out, "Verified OK"));
    /* and not under another key */
    assert_int_equal(runf(NULL, 0, "openssl pkey -in '%s' -pubout -out '%s'", T.key_b, pub), 0);
    assert_int_not_equal(runf(out, sizeof out,
                              "openssl dgst -sha256 -verify '%s' -signature '%s' '%s' 2>&1", pub,
                              sig, hm),
                         0);
    (void)state;
}

static void test_mrsigner_is_sha256_of_little_endian_modulus(void **state)
{
    char want[65], got[65];
    uint8_t mod[384];
    expected_mrsigner_hex(T.key_a, want);
    cloak_image *img = expect_open(T.img, T.img_len);
    to_hex(cloak_image_id(img)->mrsigner, 32, got);
    assert_string_equal(got, want);
    cloak_image_free(img);
    openssl_modulus(T.key_a, mod);
    assert_memory_equal(T.img + M(128), mod, 384); /* modulus stored big-endian */
    (void)state;
}

static void test_layout_header_and_manifest_fields(void **state)
{
    assert_int_equal(T.img_len, SIGNED + T.code_len + SIG);
    assert_memory_equal(T.img, "CLOAKIMG", 8);
    assert_int_equal(get_le(T.img + 8, 4), 1);
    assert_int_equal(get_le(T.img + 12, 4), 512);
    assert_int_equal(get_le(T.img + M(64), 2), 7);
    assert_int_equal(get_le(T.img + M(66), 2), 3);
    assert_int_equal(get_le(T.img + M(68), 4), 0);
    assert_int_equal(get_le(T.img + M(72), 8), 8u << 20);
    assert_int_equal(get_le(T.img + M(80), 8), T.code_len);
    assert_int_equal(get_le(T.img + M(88), 4), 3);
    for (int i = 92; i < 128; i++)
        assert_int_equal(T.img[M(i)], 0);
    assert_memory_equal(T.img + SIGNED, T.code, T.code_len);

    cloak_image *img = expect_open(T.img, T.img_len);
    const cloak_image_identity *id = cloak_image_id(img);
    assert_int_equal(id->product_id, 7);
    assert_int_equal(id->svn, 3);
    assert_int_equal(id->debug, 0);
    assert_int_equal(id->heap, 8u << 20);
    const uint8_t *code;
    size_t len;
    cloak_image_code(img, &code, &len);
    assert_int_equal(len, T.code_len);
    assert_memory_equal(code, T.code, len);
    cloak_image_free(img);
    (void)state;
}

static void test_sign_default_heap_and_debug_flag(void **state)
{
    cloak_image_config cfg = {.product_id = 1, .svn = 65535, .debug = 1, .heap = 0};
    uint8_t *img = NULL;
    size_t len = 0;
    cloak_error why = {0};
    assert_int_equal(cloak_image_sign(T.code, T.code_len, T.key_a, &cfg, &img, &len, &why), 0);
    assert_int_equal(get_le(img + M(68), 4), 1);
    assert_int_equal(get_le(img + M(72), 8), CLOAK_IMAGE_DEFAULT_HEAP);
    cloak_image *o = expect_open(img, len);
    assert_int_equal(cloak_image_id(o)->debug, 1);
    assert_int_equal(cloak_image_id(o)->svn, 65535);
    assert_int_equal(cloak_image_id(o)->heap, CLOAK_IMAGE_DEFAULT_HEAP);
    cloak_image_free(o);
    free(img);
    (void)state;
}

/* ---- tampering --------------------------------------------------------------------------- */

static void test_every_header_and_manifest_bit_flip_refused(void **state)
{
    uint8_t *c = dup_img();
    uint64_t heap = get_le(T.img + M(72), 8);
    for (size_t off = 0; off < SIGNED; off++) {
        for (int bit = 0; bit < 8; bit++) {
            c[off] ^= (uint8_t)(1u << bit);
            cloak_err want = CLOAK_EVERIFY;
            const char *msg = SIG_MSG;
            size_t m = off - HDR;
            if (off < HDR) { /* magic, version, manifest_len */
                want = CLOAK_EINVAL;
                msg = off < 8 ? "magic" : off < 12 ? "version" : "manifest length";
            } else if (m >= 68 && m < 72 && !(m == 68 && bit == 0)) {
                want = CLOAK_EINVAL, msg = "unknown flag bits";
            } else if (m >= 72 && m < 80) {
                uint64_t h = heap ^ ((uint64_t)1 << (8 * (m - 72) + bit));
                if (h == 0 || h > CLOAK_IMAGE_MAX_HEAP) want = CLOAK_EINVAL, msg = "heap size";
            } else if (m >= 80 && m < 88) {
                want = CLOAK_EINVAL, msg = "truncated, extended or corrupt";
            } else if (m >= 88 && m < 92) {
                want = CLOAK_EINVAL, msg = "exponent";
            } else if (m >= 92 && m < 128) {
                want = CLOAK_EINVAL, msg = "reserved";
            } else if (m == 128 && bit == 7) {
                want = CLOAK_EINVAL, msg = "not 3072 bits";
            }
            expect_refused(c, T.img_len, want, msg);
            c[off] ^= (uint8_t)(1u << bit);
        }
    }
    free(c);
    (void)state;
}

static void test_every_signature_bit_flip_refused(void **state)
{
    uint8_t *c = dup_img();
    for (size_t off = T.img_len - SIG; off < T.img_len; off++) {
        for (int bit = 0; bit < 8; bit++) {
            c[off] ^= (uint8_t)(1u << bit);
            expect_refused(c, T.img_len, CLOAK_EVERIFY, SIG_MSG);
            c[off] ^= (uint8_t)(1u << bit);
        }
    }
    free(c);
    (void)state;
}

static void test_every_code_byte_flip_refused_as_measurement_mismatch(void **state)
{
    uint8_t *c = dup_img();
    for (size_t off = SIGNED; off < SIGNED + T.code_len; off++) {
        uint8_t bit = (uint8_t)(1u << (off % 8));
        c[off] ^= bit; /* includes the ELF magic: tampering, not a format error */
        expect_refused(c, T.img_len, CLOAK_EVERIFY, MEAS_MSG);
        c[off] ^= bit;
    }
    free(c);
    (void)state;
}

static void test_truncated_and_extended_files_refused(void **state)
{
    for (size_t len = 0; len < T.img_len; len++)
        expect_refused(T.img, len, CLOAK_EINVAL, NULL);
    size_t extras[] = {1, 2, SIG, 4096};
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        uint8_t *c = calloc(1, T.img_len + extras[i]);
        assert_non_null(c);
        memcpy(c, T.img, T.img_len);
        expect_refused(c, T.img_len + extras[i], CLOAK_EINVAL, "truncated, extended or corrupt");
        /* re-appending a copy of the signature is no better */
        if (extras[i] == SIG) {
            memcpy(c + T.img_len, T.img + T.img_len - SIG, SIG);
            expect_refused(c, T.img_len + SIG, CLOAK_EINVAL, NULL);
        }
        free(c);
    }
    expect_refused(NULL, 0, CLOAK_EINVAL, NULL);
    (void)state;
}

/* The modulus swapped for key B's (mrsigner fixed to match) while A's signature stays. */
static void test_other_signers_modulus_with_fixed_mrsigner_refused(void **state)
{
    uint8_t *c = dup_img(), mod_b[384];
    char hex[65];
    openssl_modulus(T.key_b, mod_b);
    memcpy(c + M(128), mod_b, 384);
    expected_mrsigner_hex(T.key_b, hex);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        c[M(32) + i] = (uint8_t)v;
    }
    expect_refused(c, T.img_len, CLOAK_EVERIFY, SIG_MSG);

    /* Positive control: re-signed by B, the same bytes are a valid image whose signer is B. */
    resign(c, T.img_len, T.key_b);
    cloak_image *img = expect_open(c, T.img_len);
    char got[65];
    to_hex(cloak_image_id(img)->mrsigner, 32, got);
    assert_string_equal(got, hex);
    cloak_image_free(img);
    free(c);
    (void)state;
}

/* Manifest names A (modulus and mrsigner) but B signed it. */
static void test_signed_by_b_claiming_a_refused(void **state)
{
    uint8_t *c = dup_img();
    resign(c, T.img_len, T.key_b);
    expect_refused(c, T.img_len, CLOAK_EVERIFY, SIG_MSG);
    free(c);
    (void)state;
}

static void test_signed_mrsigner_not_matching_modulus_refused(void **state)
{
    uint8_t *c = dup_img();
    c[M(32)] ^= 0x01;
    resign(c, T.img_len, T.key_a); /* the signature is fine; the claim is not */
    expect_refused(c, T.img_len, CLOAK_EVERIFY, "mrsigner");
    free(c);
    (void)state;
}

static void test_signed_stale_measurement_refused(void **state)
{
    uint8_t *c = dup_img();
    put_le(c + M(72), 16u << 20, 8); /* heap changed, mrenclave not recomputed */
    resign(c, T.img_len, T.key_a);
    expect_refused(c, T.img_len, CLOAK_EVERIFY, MEAS_MSG);
    free(c);
    (void)state;
}

static void test_product_id_is_signed_but_not_measured(void **state)
{
    uint8_t *c = dup_img();
    put_le(c + M(64), 9, 2);
    expect_refused(c, T.img_len, CLOAK_EVERIFY, SIG_MSG);
    resign(c, T.img_len, T.key_a);
    cloak_image *img = expect_open(c, T.img_len);
    assert_int_equal(cloak_image_id(img)->product_id, 9);
    assert_memory_equal(cloak_image_id(img)->mrenclave, T.img + M(0), 32);
    cloak_image_free(img);
    free(c);
    (void)state;
}

static void test_non_elf_code_refused(void **state)
{
    uint8_t *img = (uint8_t *)(uintptr_t)0x1;
    size_t len = 7;
    cloak_error why = {0};
    uint8_t *bad = malloc(T.code_len);
    assert_non_null(bad);
    memcpy(bad, T.code, T.code_len);
    bad[1] = 'X';
    assert_int_equal(sign_with(T.key_a, bad, T.code_len, &img, &len, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "ELF"));
    assert_ptr_equal(img, (uint8_t *)(uintptr_t)0x1);
    assert_int_equal(len, 7);
    assert_int_equal(sign_with(T.key_a, bad, 3, &img, &len, &why), CLOAK_EINVAL);

    /* Correctly measured and signed, but not ELF: refused by open as malformed. */
    uint8_t *c = dup_img();
    c[SIGNED + 1] = 'X';
    cloak_image_measure(c + SIGNED, T.code_len, 8u << 20, c + M(0));
    resign(c, T.img_len, T.key_a);
    expect_refused(c, T.img_len, CLOAK_EINVAL, "not an ELF");
    free(c);
    free(bad);
    (void)state;
}

/* ---- signing keys ------------------------------------------------------------------------ */

static void test_sign_accepts_exponent_65537(void **state)
{
    uint8_t *img = NULL;
    size_t len = 0;
    cloak_error why = {0};
    char want[65], got[65];
    assert_int_equal(sign_with(T.key_f4, T.code, T.code_len, &img, &len, &why), CLOAK_OK);
    assert_int_equal(get_le(img + M(88), 4), 65537);
    cloak_image *o = expect_open(img, len);
    expected_mrsigner_hex(T.key_f4, want);
    to_hex(cloak_image_id(o)->mrsigner, 32, got);
    assert_string_equal(got, want);
    cloak_image_free(o);
    free(img);
    (void)state;
}

static void test_sign_refuses_keys_the_format_does_not_allow(void **state)
{
    struct {
        const char *key;
        cloak_err rc;
        const char *msg;
    } cases[] = {
        {T.key_e17, CLOAK_EINVAL, "exponent 17"},
        {T.key_2048, CLOAK_EINVAL, "RSA-2048"},
        {T.key_ec, CLOAK_EINVAL, "RSA-3072"},
        {TEST_IMAGE_CODE, CLOAK_EINVAL, "PEM"},
        {T.key_enc, CLOAK_EINVAL, "passphrase"}, /* refused, never a terminal prompt */
        {"/nonexistent/key.pem", CLOAK_ENOTFOUND, "signing key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *img = (uint8_t *)(uintptr_t)0x1;
        size_t len = 7;
        cloak_error why = {0};
        cloak_err rc = sign_with(cases[i].key, T.code, T.code_len, &img, &len, &why);
        if (rc != cases[i].rc || !strstr(why.msg, cases[i].msg))
            fail_msg("%s: got %s: %s", cases[i].key, cloak_err_name(rc), why.msg);
        assert_ptr_equal(img, (uint8_t *)(uintptr_t)0x1);
        assert_int_equal(len, 7);
    }
    /* Heap bound: the format caps it at 1 TiB. */
    cloak_image_config cfg = {.heap = CLOAK_IMAGE_MAX_HEAP + 1};
    uint8_t *img = NULL;
    size_t len = 0;
    cloak_error why = {0};
    assert_int_equal(cloak_image_sign(T.code, T.code_len, T.key_a, &cfg, &img, &len, &why),
                     CLOAK_EINVAL);
    assert_null(img);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_writes_pkcs8_rsa3072_exponent3_mode_0600),
        cmocka_unit_test(test_keygen_mode_0600_even_with_permissive_umask),
        cmocka_unit_test(test_keygen_refuses_overwrite_and_leaves_no_temp_files),
        cmocka_unit_test(test_measurement_equals_openssl_sha256_of_documented_bytes),
        cmocka_unit_test(test_signature_verifies_with_openssl_dgst),
        cmocka_unit_test(test_mrsigner_is_sha256_of_little_endian_modulus),
        cmocka_unit_test(test_layout_header_and_manifest_fields),
        cmocka_unit_test(test_sign_default_heap_and_debug_flag),
        cmocka_unit_test(test_every_header_and_manifest_bit_flip_refused),
        cmocka_unit_test(test_every_signature_bit_flip_refused),
        cmocka_unit_test(test_every_code_byte_flip_refused_as_measurement_mismatch),
        cmocka_unit_test(test_truncated_and_extended_files_refused),
        cmocka_unit_test(test_other_signers_modulus_with_fixed_mrsigner_refused),
        cmocka_unit_test(test_signed_by_b_claiming_a_refused),
        cmocka_unit_test(test_signed_mrsigner_not_matching_modulus_refused),
        cmocka_unit_test(test_signed_stale_measurement_refused),
        cmocka_unit_test(test_product_id_is_signed_but_not_measured),
        cmocka_unit_test(test_non_elf_code_refused),
        cmocka_unit_test(test_sign_accepts_exponent_65537),
        cmocka_unit_test(test_sign_refuses_keys_the_format_does_not_allow),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
