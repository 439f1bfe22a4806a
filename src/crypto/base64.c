/* base64 (RFC 4648 §4) and base64url (§5), strict: one accepted encoding per byte string. */
#include "crypto/jose_int.h"

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

/* Value of one character, or -1. Branches on the character: base64 input here is public
 * (tokens, certificates, public keys) except private JWK members, whose length and alphabet
 * leak nothing beyond what the JWK format already makes public. */
static int value_of(char c, int url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

static cloak_err decode(const char *s, size_t len, int url, enum pad_rule rule, const char *what,
                        uint8_t **out, size_t *out_len, cloak_error *why)
{
    if (!s && len) return cloak_error_set(why, CLOAK_EINVAL, "%s: no input", what);
    size_t pads = 0;
    while (pads < len && pads < 3 && s[len - 1 - pads] == '=')
        pads++;
    size_t n = len - pads;
    for (size_t i = 0; i < n; i++) {
        if (value_of(s[i], url) >= 0) continue;
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
        int v = value_of(s[i], url); /* valid: checked above */
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
