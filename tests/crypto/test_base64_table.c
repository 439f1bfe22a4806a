/* The table-driven base64 decoder (src/crypto/base64.c) against the two-pass decoder it
 * replaced, copied here verbatim as the reference (ref_decode): for random valid encodings,
 * random strings over the alphabets plus '=' and bytes outside them, and single-character
 * mutations of valid encodings, both must return the same code, the same message and the
 * same bytes, for all three entry points (base64url with optional padding, base64 with
 * required padding, JWS parts without padding). Valid standard encodings are also checked
 * against OpenSSL's EVP_EncodeBlock as an independent peer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cloak/jose.h"
#include "crypto/jose_int.h"

enum pad_rule { PAD_FORBIDDEN, PAD_OPTIONAL, PAD_REQUIRED };

/* ---- the reference: the decoder before the lookup table (verbatim but for the names) ---- */
/* Value of one character, or -1. Branches on the character: base64 input here is public
 * (tokens, certificates, public keys) except private JWK members, whose length and alphabet
 * leak nothing beyond what the JWK format already makes public. */
static int ref_value_of(char c, int url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

static cloak_err ref_decode(const char *s, size_t len, int url, enum pad_rule rule,
                            const char *what, uint8_t **out, size_t *out_len, cloak_error *why)
{
    if (!s && len) return cloak_error_set(why, CLOAK_EINVAL, "%s: no input", what);
    size_t pads = 0;
    while (pads < len && pads < 3 && s[len - 1 - pads] == '=')
        pads++;
    size_t n = len - pads;
    for (size_t i = 0; i < n; i++) {
        if (ref_value_of(s[i], url) >= 0) continue;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x21 && c < 0x7f)
            return cloak_error_set(why, CLOAK_EINVAL, "%s: character '%c' at offset %zu is not %s",
                                   what, c, i, url ? "base64url" : "base64");
        return cloak_error_set(why, CLOAK_EINVAL, "%s: byte 0x%02x at offset %zu is not %s", what,
                               c, i, url ? "base64url" : "base64");
    }
    if (pads && rule == PAD_FORBIDDEN)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "%s: padding '=' is not allowed here (offset %zu)", what, n);
    if (rule == PAD_REQUIRED && len % 4)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "%s: length %zu is not a multiple of 4 (padding missing)", what,
                               len);
    if (n % 4 == 1)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "%s: truncated (%zu characters leave one dangling)", what, n);
    if (pads && (len % 4 || pads != (4 - n % 4) % 4))
        return cloak_error_set(why, CLOAK_EINVAL, "%s: wrong amount of '=' padding (%zu)", what,
                               pads);
    size_t cap = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    uint8_t *buf = malloc(cap + 1);
    if (!buf) return cloak_error_set(why, CLOAK_ENOMEM, "%s: out of memory", what);
    uint32_t acc = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = ref_value_of(s[i], url); /* valid: checked above */
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            buf[o++] = (uint8_t)(acc >> 16);
            buf[o++] = (uint8_t)(acc >> 8);
            buf[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    /* RFC 4648 §3.5: the unused bits of the last character must be zero (canonical form). */
    if (n % 4 == 2) {
        if (acc & 0xf) goto noncanonical;
        buf[o++] = (uint8_t)(acc >> 4);
    } else if (n % 4 == 3) {
        if (acc & 0x3) goto noncanonical;
        buf[o++] = (uint8_t)(acc >> 10);
        buf[o++] = (uint8_t)(acc >> 2);
    }
    buf[o] = 0;
    *out = buf;
    *out_len = o;
    return CLOAK_OK;
noncanonical:
    cloak_free_secret(buf, cap + 1);
    return cloak_error_set(why, CLOAK_EINVAL,
                           "%s: the last character has non-zero unused bits (not canonical)", what);
}

/* ---- comparison ---- */
static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static unsigned long compared, accepted;

/* Decode s[0..len) with every entry point and with the reference; all must agree. */
static void compare(const char *s, size_t len)
{
    static const struct {
        int url;
        enum pad_rule rule;
    } modes[] = {{1, PAD_OPTIONAL}, {0, PAD_REQUIRED}, {1, PAD_FORBIDDEN}};
    for (size_t m = 0; m < 3; m++) {
        cloak_error e1 = {0}, e2 = {0};
        uint8_t *o1 = NULL, *o2 = NULL;
        size_t n1 = 0, n2 = 0;
        cloak_err r1;
        const char *what = modes[m].rule == PAD_FORBIDDEN ? "part"
                           : modes[m].url                 ? "base64url"
                                                          : "base64";
        if (modes[m].rule == PAD_OPTIONAL)
            r1 = cloak_base64url_decode(s, len, &o1, &n1, &e1);
        else if (modes[m].rule == PAD_REQUIRED)
            r1 = cloak_base64_decode(s, len, &o1, &n1, &e1);
        else
            r1 = jose_b64url_decode_part(s, len, what, &o1, &n1, &e1);
        cloak_err r2 = ref_decode(s, len, modes[m].url, modes[m].rule, what, &o2, &n2, &e2);
        if (r1 != r2 || strcmp(e1.msg, e2.msg)) {
            print_error("mode %zu input '%.*s' (%zu bytes): new %d '%s', old %d '%s'\n", m,
                        (int)len, s, len, r1, e1.msg, r2, e2.msg);
            fail();
        }
        if (r1 == CLOAK_OK) {
            accepted++;
            assert_int_equal(n1, n2);
            assert_memory_equal(o1, o2, n1);
            assert_int_equal(o1[n1], 0);
        }
        free(o1);
        free(o2);
        compared++;
    }
}

static void test_random_valid(void **state)
{
    (void)state;
    uint8_t raw[300];
    char std[420];
    for (int iter = 0; iter < 4000; iter++) {
        size_t n = rnd() % sizeof raw;
        assert_int_equal(RAND_bytes(raw, (int)sizeof raw), 1);
        /* OpenSSL's encoder as the peer: padded standard base64 */
        int sl = EVP_EncodeBlock((unsigned char *)std, raw, (int)n);
        uint8_t *d = NULL;
        size_t dl = 0;
        assert_int_equal(cloak_base64_decode(std, (size_t)sl, &d, &dl, NULL), CLOAK_OK);
        assert_int_equal(dl, n);
        if (n) assert_memory_equal(d, raw, n);
        free(d);
        compare(std, (size_t)sl);
        char *u = cloak_base64url_encode(raw, n);
        assert_non_null(u);
        compare(u, strlen(u));
        free(u);
    }
}

static void test_random_strings(void **state)
{
    (void)state;
    static const char pool[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                               "+/-_====..  \n\x01\x7f\x80\xff";
    char s[64];
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = rnd() % 24;
        for (size_t i = 0; i < len; i++)
            s[i] = pool[rnd() % (sizeof pool - 1)];
        /* strings mostly in one alphabet, so that many are valid */
        if (iter % 3 == 0)
            for (size_t i = 0; i + 2 < len; i++)
                s[i] = pool[rnd() % 62];
        compare(s, len);
    }
    /* every byte value at every position of a short valid string, with and without '=' */
    char base[] = "QUJD";
    for (size_t pos = 0; pos < 4; pos++)
        for (int c = 0; c < 256; c++) {
            memcpy(s, base, 4);
            s[pos] = (char)c;
            compare(s, 4);
            compare(s, 3);
            memcpy(s + 4, "QQ==", 4);
            compare(s, 8);
            s[6] = (char)c;
            compare(s, 8);
        }
    compare("", 0);
    compare(NULL, 0);
    compare(NULL, 3);
    print_message("%lu comparisons, %lu accepted\n", compared, accepted);
}

static void test_mutated_valid(void **state)
{
    (void)state;
    uint8_t raw[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = rnd() % sizeof raw;
        assert_int_equal(RAND_bytes(raw, (int)sizeof raw), 1);
        char *e = (iter & 1) ? cloak_base64_encode(raw, n) : cloak_base64url_encode(raw, n);
        assert_non_null(e);
        size_t len = strlen(e);
        char *m = malloc(len + 4);
        assert_non_null(m);
        memcpy(m, e, len + 1);
        if (len) m[rnd() % len] = (char)(rnd() & 0xff); /* one byte changed */
        compare(m, len);
        memcpy(m, e, len);
        memcpy(m + len, "===", 3);
        compare(m, len + 1 + rnd() % 3); /* extra padding */
        if (len) compare(e, len - 1);    /* one character short */
        free(m);
        free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_valid),
        cmocka_unit_test(test_random_strings),
        cmocka_unit_test(test_mutated_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
