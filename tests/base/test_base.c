/* base: hex, the bounds-checked reader, the buffer, atomic files, error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cloak/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_hex_roundtrip_and_errors(void **state)
{
    const uint8_t b[] = {0x00, 0xff, 0x10, 0xab};
    char *h = cloak_hex_encode(b, sizeof b);
    assert_string_equal(h, "00ff10ab");
    uint8_t *d;
    size_t n;
    cloak_error why;
    assert_int_equal(cloak_hex_decode("00FF10aB", &d, &n, &why), CLOAK_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(d, b, 4);
    free(d);
    free(h);
    assert_int_equal(cloak_hex_decode("abc", &d, &n, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "odd"));
    assert_int_equal(cloak_hex_decode("zz", &d, &n, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "position 0"));
    uint8_t f[2];
    assert_int_equal(cloak_hex_decode_fixed("0102", f, 2, &why), CLOAK_OK);
    assert_int_equal(cloak_hex_decode_fixed("010203", f, 2, &why), CLOAK_EINVAL);
}

static void test_reader_refuses_to_pass_the_end(void **state)
{
    const uint8_t b[] = {1, 0, 2, 0, 0, 0, 9};
    cloak_reader r;
    cloak_reader_init(&r, b, sizeof b);
    uint16_t a;
    uint32_t c;
    uint8_t x;
    assert_int_equal(cloak_take_u16le(&r, &a), 0);
    assert_int_equal(a, 1);
    assert_int_equal(cloak_take_u32le(&r, &c), 0);
    assert_int_equal(c, 2);
    assert_int_equal(cloak_reader_left(&r), 1);
    uint64_t big;
    assert_int_equal(cloak_take_u64le(&r, &big), -1); /* would pass the end */
    assert_true(r.failed);
    assert_int_equal(cloak_take_u8(&r, &x), -1); /* and stays failed */
    const uint8_t *p;
    cloak_reader_init(&r, b, sizeof b);
    assert_int_equal(cloak_take_ref(&r, &p, SIZE_MAX), -1); /* no overflow on huge lengths */
}

static void test_buf_grows_and_encodes_le(void **state)
{
    cloak_buf b = {0};
    cloak_buf_u16le(&b, 0x0102);
    cloak_buf_u32le(&b, 0x03040506);
    cloak_buf_u64le(&b, 0x0708090a0b0c0d0eull);
    for (int i = 0; i < 1000; i++)
        cloak_buf_u8(&b, (uint8_t)i);
    assert_false(b.failed);
    assert_int_equal(b.len, 14 + 1000);
    const uint8_t want[] = {2, 1, 6, 5, 4, 3, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 9, 8, 7};
    assert_memory_equal(b.p, want, sizeof want);
    assert_int_equal(b.p[14 + 999], (uint8_t)999);
    cloak_buf_free_secret(&b);
    assert_null(b.p);
}

static void test_file_write_is_atomic_and_read_back(void **state)
{
    char dir[] = "/tmp/cloak-base-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[128], path[160];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    cloak_error why;
    assert_int_equal(cloak_mkdirs(sub, 0700, &why), CLOAK_OK);
    snprintf(path, sizeof path, "%s/f", sub);
    assert_int_equal(cloak_file_write(path, (const uint8_t *)"one", 3, 0600, &why), CLOAK_OK);
    assert_int_equal(cloak_file_write(path, (const uint8_t *)"second", 6, 0600, &why), CLOAK_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t *d;
    size_t n;
    assert_int_equal(cloak_file_read(path, &d, &n, &why), CLOAK_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(d, "second", 6);
    free(d);
    /* no temp files left behind */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", sub);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/missing", sub);
    assert_int_equal(cloak_file_read(path, &d, &n, &why), CLOAK_ENOTFOUND);
    assert_non_null(strstr(why.msg, "missing"));
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_error_wrap_keeps_code_and_context(void **state)
{
    cloak_error why;
    cloak_error_set(&why, CLOAK_EVERIFY, "signature bad at offset 0x%x", 0x1b0);
    assert_int_equal(cloak_error_wrap(&why, "loading %s", "x.signed"), CLOAK_EVERIFY);
    assert_string_equal(why.msg, "loading x.signed: signature bad at offset 0x1b0");
    char longer[700];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    cloak_error_wrap(&why, "%s", longer); /* truncates, stays terminated */
    assert_true(strlen(why.msg) < CLOAK_ERROR_MAX);
    assert_string_equal(cloak_err_name(CLOAK_ETIMEOUT), "enclave timed out");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_roundtrip_and_errors),
        cmocka_unit_test(test_reader_refuses_to_pass_the_end),
        cmocka_unit_test(test_buf_grows_and_encodes_le),
        cmocka_unit_test(test_file_write_is_atomic_and_read_back),
        cmocka_unit_test(test_error_wrap_keeps_code_and_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
