/*
 * The image commands as a user runs them: `cloak enclave keygen|sign|info` in a separate
 * process ($CLOAK_BUILD_DIR/bin/cloak), checked by exit code, by files on disk, and by parsing
 * `info --json` with jansson against values computed by openssl (see image_testlib.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloak/image.h"
#include "image_testlib.h"

#ifndef TEST_IMAGE_CODE
#error "TEST_IMAGE_CODE (path of the test shared object) must be defined by the build"
#endif

static struct {
    char key_a[128], key_e17[128], img_path[128];
    uint8_t *code, *img;
    size_t code_len, img_len;
} T;

static int setup(void **state)
{
    cloak_error why = {0};
    char cmd[1024];
    if (scratch_create()) return -1;
    tpath(T.key_a, sizeof T.key_a, "a.pem");
    tpath(T.key_e17, sizeof T.key_e17, "e17.pem");
    tpath(T.img_path, sizeof T.img_path, "a.signed");
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 "
             "-pkeyopt rsa_keygen_pubexp:17 -out '%s' 2>/dev/null",
             T.key_e17);
    if (system(cmd)) return -1;
    if (cloak_image_keygen(T.key_a, &why)) return -1;
    if (cloak_file_read(TEST_IMAGE_CODE, &T.code, &T.code_len, &why)) return -1;
    snprintf(cmd, sizeof cmd,
             "'%s' enclave sign --key '%s' --product-id 7 --svn 3 '%s' -o '%s' >/dev/null", cli(),
             T.key_a, TEST_IMAGE_CODE, T.img_path);
    if (system(cmd)) return -1;
    if (cloak_file_read(T.img_path, &T.img, &T.img_len, &why)) return -1;
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

static void test_cli_keygen_sign_info_json(void **state)
{
    char key[256], out[256], json[4096];
    struct stat st;
    tpath(key, sizeof key, "cli.pem");
    tpath(out, sizeof out, "cli.signed");
    assert_int_equal(runf(NULL, 0, "'%s' enclave keygen -o '%s' 2>/dev/null", cli(), key), 0);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(runf(NULL, 0, "'%s' enclave keygen -o '%s' 2>/dev/null", cli(), key), 1);
    assert_int_equal(runf(NULL, 0,
                          "'%s' enclave sign --key '%s' --product-id 0x2a --svn 5 --debug "
                          "--heap 2M '%s' -o '%s' >/dev/null",
                          cli(), key, TEST_IMAGE_CODE, out),
                     0);
    assert_int_equal(runf(json, sizeof json, "'%s' enclave info --json '%s'", cli(), out), 0);

    json_error_t err;
    json_t *o = json_loads(json, 0, &err);
    if (!o) fail_msg("info --json is not JSON: %s\n%s", err.text, json);
    assert_true(json_is_object(o));
    assert_int_equal(json_object_size(o), 6);
    uint8_t mre[32];
    char mre_hex[65], mrs_hex[65];
    cloak_image_measure(T.code, T.code_len, 2u << 20, mre);
    to_hex(mre, 32, mre_hex);
    expected_mrsigner_hex(key, mrs_hex);
    assert_true(json_is_string(json_object_get(o, "mrenclave")));
    assert_string_equal(json_string_value(json_object_get(o, "mrenclave")), mre_hex);
    assert_string_equal(json_string_value(json_object_get(o, "mrsigner")), mrs_hex);
    assert_true(json_is_integer(json_object_get(o, "product_id")));
    assert_int_equal(json_integer_value(json_object_get(o, "product_id")), 42);
    assert_true(json_is_integer(json_object_get(o, "svn")));
    assert_int_equal(json_integer_value(json_object_get(o, "svn")), 5);
    assert_true(json_is_true(json_object_get(o, "debug")));
    assert_true(json_is_integer(json_object_get(o, "heap")));
    assert_int_equal(json_integer_value(json_object_get(o, "heap")), 2 << 20);
    json_decref(o);

    /* Default heap, no debug. */
    assert_int_equal(runf(NULL, 0,
                          "'%s' enclave sign --key '%s' --product-id 1 --svn 1 '%s' -o '%s' "
                          ">/dev/null",
                          cli(), key, TEST_IMAGE_CODE, out),
                     0);
    assert_int_equal(runf(json, sizeof json, "'%s' enclave info --json '%s'", cli(), out), 0);
    o = json_loads(json, 0, &err);
    assert_non_null(o);
    assert_true(json_is_false(json_object_get(o, "debug")));
    assert_int_equal(json_integer_value(json_object_get(o, "heap")), CLOAK_IMAGE_DEFAULT_HEAP);
    json_decref(o);

    /* Text form: identity plus the honest note about the simulation backend. */
    assert_int_equal(runf(json, sizeof json, "'%s' enclave info '%s'", cli(), out), 0);
    assert_non_null(strstr(json, "mrenclave"));
    assert_non_null(strstr(json, "product_id"));
    assert_non_null(strstr(json, "simulation backend"));
    assert_non_null(strstr(json, "root on the same machine"));
    (void)state;
}

static void test_cli_info_refuses_tampered_image(void **state)
{
    char p[256], msg[1024];
    tpath(p, sizeof p, "tampered.signed");
    uint8_t *c = malloc(T.img_len);
    assert_non_null(c);
    memcpy(c, T.img, T.img_len);
    c[SIGNED + T.code_len / 2] ^= 0x10;
    write_file(p, c, T.img_len);
    free(c);
    assert_int_equal(runf(msg, sizeof msg, "'%s' enclave info --json '%s' 2>&1", cli(), p), 1);
    assert_non_null(strstr(msg, MEAS_MSG));
    assert_null(strstr(msg, "mrenclave\":"));
    assert_int_equal(runf(NULL, 0, "'%s' enclave info '%s' 2>/dev/null", cli(), p), 1);
    tpath(p, sizeof p, "missing.signed");
    assert_int_equal(runf(NULL, 0, "'%s' enclave info '%s' 2>/dev/null", cli(), p), 1);
    (void)state;
}

static void test_cli_exit_codes(void **state)
{
    char out[4096], k[256], o[256];
    tpath(k, sizeof k, "never.pem");
    tpath(o, sizeof o, "never.signed");
    static const char *helps[] = {"keygen", "sign", "info"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(runf(out, sizeof out, "'%s' enclave %s --help", cli(), helps[i]), 0);
        assert_non_null(strstr(out, "usage: cloak enclave"));
    }
    assert_int_equal(runf(out, sizeof out, "'%s' enclave keygen --help", cli()), 0);
    assert_non_null(strstr(out, "exponent 3"));
    const char *usage[] = {
        "enclave keygen",
        "enclave keygen -o",
        "enclave keygen --bogus -o K",
        "enclave keygen -o K extra",
        "enclave sign",
        "enclave sign --key A --product-id 1 --svn 1 -o O", /* no input */
        "enclave sign --key A --product-id 1 --svn 1 C",    /* no -o */
        "enclave sign --key A --svn 1 C -o O",              /* no product id */
        "enclave sign --key A --product-id 1 C -o O",       /* no svn */
        "enclave sign --key A --product-id 65536 --svn 1 C -o O",
        "enclave sign --key A --product-id -1 --svn 1 C -o O",
        "enclave sign --key A --product-id 1 --svn 70000 C -o O",
        "enclave sign --key A --product-id 1 --svn x C -o O",
        "enclave sign --key A --product-id 1 --svn 1 --heap 12X C -o O",
        "enclave sign --key A --product-id 1 --svn 1 --heap 0 C -o O",
        "enclave sign --key A --product-id 1 --svn 1 --heap 2T C -o O",
        "enclave sign --key A --product-id 1 --svn 1 --frobnicate C -o O",
        "enclave sign --key A --product-id 1 --svn 1 C C -o O",
        "enclave info",
        "enclave info --bogus I",
        "enclave info I J",
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        /* placeholders: A = a real key, C = the real code, K/O = fresh paths, I = the image */
        char cmd[1024], *w = cmd;
        w += sprintf(w, "'%s'", cli());
        char args[256];
        strcpy(args, usage[i]);
        for (char *t = strtok(args, " "); t; t = strtok(NULL, " ")) {
            const char *s = !strcmp(t, "A")   ? T.key_a
                            : !strcmp(t, "C") ? TEST_IMAGE_CODE
                            : !strcmp(t, "K") ? k
                            : !strcmp(t, "O") ? o
                                              : t;
            w += sprintf(w, " '%s'", s);
        }
        strcat(cmd, " >/dev/null 2>&1");
        int rc = run(cmd, NULL, 0);
        if (rc != 2) fail_msg("expected exit 2 from: %s (got %d)", usage[i], rc);
    }
    assert_int_equal(access(k, F_OK), -1); /* nothing written by a refused command */
    assert_int_equal(access(o, F_OK), -1);
    /* Failures that are not usage errors exit 1. */
    assert_int_equal(runf(NULL, 0,
                          "'%s' enclave sign --key '%s' --product-id 1 --svn 1 '%s' -o '%s' "
                          ">/dev/null 2>&1",
                          cli(), T.key_e17, TEST_IMAGE_CODE, o),
                     1);
    assert_int_equal(runf(NULL, 0,
                          "'%s' enclave sign --key '%s' --product-id 1 --svn 1 '%s' -o '%s' "
                          ">/dev/null 2>&1",
                          cli(), T.key_a, T.key_a /* not ELF */, o),
                     1);
    assert_int_equal(access(o, F_OK), -1);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_keygen_sign_info_json),
        cmocka_unit_test(test_cli_info_refuses_tampered_image),
        cmocka_unit_test(test_cli_exit_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
