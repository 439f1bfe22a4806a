/* base64 (RFC 4648 §4) and base64url (§5), strict: one accepted encoding per byte string. */
#include "crypto/jose_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char STD_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char URL_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

enum pad_rule { PAD_FORBIDDEN, PAD_OPTIONAL, PAD_REQUIRED };

static char *encode(const uint8_t *p, size_t len, const char *alphabet, int pad)
{
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3) return NULL;
    size_t n = (len + 2) / 3 * 4;
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        if (pad) {
            *o++ = '=';
            *o++ = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        if (pad) *o++ = '=';
    }
    *o = 0;
    return out;
}

char *cloak_base64url_encode(const uint8_t *p, size_t len)
{
    return encode(p, len, URL_ALPHABET, 0);
}

char *cloak_base64_encode(const uint8_t *p, size_t len)
{
    return encode(p, len, STD_ALPHABET, 1);
}

/* Value of each byte in the two alphabets, or BAD. Indexed by the character: base64 input
 * here is public (tokens, certificates, public keys) except private JWK members, whose length
 * and alphabet leak nothing beyond what the JWK format already makes public. */
enum { BAD = 0x80 };

typedef struct {
    uint8_t v[256];
} b64_table;

static b64_table make_table(const char *alphabet)
{
    b64_table t;
    memset(t.v, BAD, sizeof t.v);
    for (unsigned i = 0; i < 64; i++)
        t.v[(unsigned char)alphabet[i]] = (uint8_t)i;
    return t;
}

static b64_table STD_TABLE, URL_TABLE;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void init_tables(void)
{
    STD_TABLE = make_table(STD_ALPHABET);
    URL_TABLE = make_table(URL_ALPHABET);
}

/* The error for the first character of s[0..n) that is not in the alphabet. */
static cloak_err bad_char(const uint8_t *tab, const char *s, size_t n, int url, const char *what,
                          cloak_error *why)
{
    size_t i = 0;
    while (i < n && !(tab[(unsigned char)s[i]] & BAD))
        i++;
    unsigned char c = (unsigned char)s[i]; /* i < n: the caller saw a bad character */
    if (c >= 0x21 && c < 0x7f)
        return cloak_error_set(why, CLOAK_EINVAL, "%s: character '%c' at offset %zu is not %s",
                               what, c, i, url ? "base64url" : "base64");
    return cloak_error_set(why, CLOAK_EINVAL, "%s: byte 0x%02x at offset %zu is not %s", what, c, i,
                           url ? "base64url" : "base64");
}

/* One pass: decode and note (by OR-ing the table values) whether any character was not in
 * the alphabet. The checks and their order of precedence (a bad character first, then the
 * padding and length rules, then canonical trailing bits) are those of the two-pass decoder
 * this replaced; tests/crypto/test_base64_table.c compares the two. */
static cloak_err decode(const char *s, size_t len, int url, enum pad_rule rule, const char *what,
                        uint8_t **out, size_t *out_len, cloak_error *why)
{
    if (!s && len) return cloak_error_set(why, CLOAK_EINVAL, "%s: no input", what);
    pthread_once(&tables_once, init_tables);
    const uint8_t *tab = url ? URL_TABLE.v : STD_TABLE.v;
    size_t pads = 0;
    while (pads < len && pads < 3 && s[len - 1 - pads] == '=')
        pads++;
    size_t n = len - pads;
    enum { OK_SHAPE, PAD_NOT_ALLOWED, PAD_MISSING, DANGLING, PAD_AMOUNT } shape = OK_SHAPE;
    /* a shape error is reported only when every character is valid */
    if (pads && rule == PAD_FORBIDDEN)
        shape = PAD_NOT_ALLOWED;
    else if (rule == PAD_REQUIRED && len % 4)
        shape = PAD_MISSING;
    else if (n % 4 == 1)
        shape = DANGLING;
    else if (pads && (len % 4 || pads != (4 - n % 4) % 4))
        shape = PAD_AMOUNT;
    if (shape != OK_SHAPE) {
        uint8_t any = 0;
        for (size_t i = 0; i < n; i++)
            any |= tab[(unsigned char)s[i]];
        if (any & BAD) return bad_char(tab, s, n, url, what, why);
        switch (shape) {
        case PAD_NOT_ALLOWED:
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "%s: padding '=' is not allowed here (offset %zu)", what, n);
        case PAD_MISSING:
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "%s: length %zu is not a multiple of 4 (padding missing)", what,
                                   len);
        case DANGLING:
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "%s: truncated (%zu characters leave one dangling)", what, n);
        default:
            return cloak_error_set(why, CLOAK_EINVAL, "%s: wrong amount of '=' padding (%zu)", what,
                                   pads);
        }
    }
    size_t cap = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    uint8_t *buf = malloc(cap + 1);
    if (!buf) {
        uint8_t any = 0;
        for (size_t i = 0; i < n; i++)
            any |= tab[(unsigned char)s[i]];
        if (any & BAD) return bad_char(tab, s, n, url, what, why);
        return cloak_error_set(why, CLOAK_ENOMEM, "%s: out of memory", what);
    }
    const unsigned char *u = (const unsigned char *)s;
    uint8_t any = 0;
    size_t o = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        uint8_t a = tab[u[i]], b = tab[u[i + 1]], c = tab[u[i + 2]], d = tab[u[i + 3]];
        any |= a | b | c | d;
        uint32_t acc = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        buf[o++] = (uint8_t)(acc >> 16);
        buf[o++] = (uint8_t)(acc >> 8);
        buf[o++] = (uint8_t)acc;
    }
    uint32_t acc = 0;
    for (; i < n; i++) {
        any |= tab[u[i]];
        acc = acc << 6 | (tab[u[i]] & 63u);
    }
    if (any & BAD) {
        cloak_free_secret(buf, cap + 1);
        return bad_char(tab, s, n, url, what, why);
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

cloak_err cloak_base64url_decode(const char *s, size_t len, uint8_t **out, size_t *out_len,
                                 cloak_error *why)
{
    if (!out || !out_len) return cloak_error_set(why, CLOAK_EINVAL, "base64url: no output");
    return decode(s, len, 1, PAD_OPTIONAL, "base64url", out, out_len, why);
}

cloak_err cloak_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len,
                              cloak_error *why)
{
    if (!out || !out_len) return cloak_error_set(why, CLOAK_EINVAL, "base64: no output");
    return decode(s, len, 0, PAD_REQUIRED, "base64", out, out_len, why);
}

cloak_err jose_b64url_decode_part(const char *s, size_t len, const char *what, uint8_t **out,
                                  size_t *out_len, cloak_error *why)
{
    return decode(s, len, 1, PAD_FORBIDDEN, what, out, out_len, why);
}
