/* Helpers shared by the image tests (see image_testlib.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "image_testlib.h"

char scratch_dir[64];

int scratch_create(void)
{
    strcpy(scratch_dir, "/tmp/cloak-test-image-XXXXXX");
    return mkdtemp(scratch_dir) ? 0 : -1;
}

void scratch_remove(void)
{
    char cmd[128];
    if (!scratch_dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch_dir);
    (void)!system(cmd);
}

void tpath(char *dst, size_t n, const char *name)
{
    snprintf(dst, n, "%s/%s", scratch_dir, name);
}

/* Run a shell command; capture up to outsz-1 bytes of stdout; return its exit status. */
int run(const char *cmd, char *out, size_t outsz)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = 0;
    char sink[4096];
    for (;;) {
        size_t got = out && n + 1 < outsz ? fread(out + n, 1, outsz - 1 - n, f)
                                          : fread(sink, 1, sizeof sink, f);
        if (!got) break;
        if (out && n + 1 < outsz) n += got;
    }
    if (out) out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int runf(char *out, size_t outsz, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    return run(cmd, out, outsz);
}

void write_file(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
            assert_non_null(b);
        }
        size_t got = fread(b + n, 1, cap - n, f);
        if (!got) break;
        n += got;
    }
    fclose(f);
    *len = n;
    return b;
}

/* SHA-256 of a file by the openssl command, lower-case hex. */
void openssl_sha256(const char *path, char hex[65])
{
    char out[256];
    assert_int_equal(runf(out, sizeof out, "openssl dgst -sha256 -r '%s'", path), 0);
    assert_true(strlen(out) >= 64);
    memcpy(hex, out, 64);
    hex[64] = 0;
}

void to_hex(const uint8_t *p, size_t n, char *hex)
{
    for (size_t i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", p[i]);
}

void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The big-endian modulus of a key, from `openssl rsa -modulus`. */
void openssl_modulus(const char *key, uint8_t mod[384])
{
    char out[2048];
    assert_int_equal(runf(out, sizeof out, "openssl rsa -in '%s' -noout -modulus", key), 0);
    const char *h = strstr(out, "Modulus=");
    assert_non_null(h);
    h += strlen("Modulus=");
    for (int i = 0; i < 384; i++) {
        unsigned v;
        assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
        mod[i] = (uint8_t)v;
    }
}

/* mrsigner as the spec defines it, computed by openssl: SHA-256 of the modulus little-endian. */
void expected_mrsigner_hex(const char *key, char hex[65])
{
    uint8_t mod[384], le[384];
    char path[256];
    openssl_modulus(key, mod);
    for (int i = 0; i < 384; i++)
        le[i] = mod[383 - i];
    tpath(path, sizeof path, "modulus-le.bin");
    write_file(path, le, sizeof le);
    openssl_sha256(path, hex);
}

/* Re-sign bytes [0, 528) of an image with `key` (a peer implementation via EVP), writing the
 * signature into the last 384 bytes: builds images the signer itself would never produce. */

const char *cli(void)
{
    static char path[512];
    const char *b = getenv("CLOAK_BUILD_DIR");
    assert_non_null(b);
    snprintf(path, sizeof path, "%s/bin/cloak", b);
    return path;
}
