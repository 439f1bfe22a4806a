/* Hex encoding: lower-case out, either case in. */
#include "cloak/base.h"

#include <stdlib.h>
#include <string.h>

static const char digits[] = "0123456789abcdef";

void cloak_hex_write(char *dst, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        dst[2 * i] = digits[p[i] >> 4];
        dst[2 * i + 1] = digits[p[i] & 15];
    }
    dst[2 * len] = 0;
}

char *cloak_hex_encode(const uint8_t *p, size_t len)
{
    char *s = malloc(2 * len + 1);
    if (s) cloak_hex_write(s, p, len);
    return s;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static cloak_err decode_into(const char *hex, size_t n, uint8_t *out, cloak_error *why)
{
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return cloak_error_set(why, CLOAK_EINVAL, "not a hex digit at position %zu of '%.40s'",
                                   hi < 0 ? 2 * i : 2 * i + 1, hex);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return CLOAK_OK;
}

cloak_err cloak_hex_decode(const char *hex, uint8_t **out, size_t *out_len, cloak_error *why)
{
    size_t l = strlen(hex);
    if (l % 2)
        return cloak_error_set(why, CLOAK_EINVAL, "hex string has an odd number of digits (%zu)",
                               l);
    uint8_t *b = malloc(l / 2 + 1);
    if (!b) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory decoding hex");
    cloak_err rc = decode_into(hex, l / 2, b, why);
    if (rc) {
        free(b);
        return rc;
    }
    *out = b;
    *out_len = l / 2;
    return CLOAK_OK;
}

cloak_err cloak_hex_decode_fixed(const char *hex, uint8_t *out, size_t len, cloak_error *why)
{
    size_t l = strlen(hex);
    if (l != 2 * len)
        return cloak_error_set(why, CLOAK_EINVAL, "expected %zu hex digits (%zu bytes), got %zu",
                               2 * len, len, l);
    return decode_into(hex, len, out, why);
}
