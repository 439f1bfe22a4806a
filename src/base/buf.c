/* Growable output buffer and bounds-checked input reader. */
#include "cloak/base.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static int grow(cloak_buf *b, size_t extra)
{
    if (b->failed) return -1;
    if (extra > SIZE_MAX - b->len) goto fail;
    if (b->len + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra) {
        if (cap > SIZE_MAX / 2) goto fail;
        cap *= 2;
    }
    uint8_t *p = malloc(cap);
    if (!p) goto fail;
    if (b->len) memcpy(p, b->p, b->len);
    /* buffers may hold secrets: never leave a copy behind in freed memory */
    if (b->p) OPENSSL_cleanse(b->p, b->cap);
    free(b->p);
    b->p = p;
    b->cap = cap;
    return 0;
fail:
    b->failed = 1;
    return -1;
}

void cloak_buf_put(cloak_buf *b, const void *p, size_t len)
{
    if (!len || grow(b, len)) return;
    memcpy(b->p + b->len, p, len);
    b->len += len;
}

void cloak_buf_zero(cloak_buf *b, size_t n)
{
    if (!n || grow(b, n)) return;
    memset(b->p + b->len, 0, n);
    b->len += n;
}

void cloak_buf_u8(cloak_buf *b, uint8_t v)
{
    cloak_buf_put(b, &v, 1);
}
void cloak_buf_u16le(cloak_buf *b, uint16_t v)
{
    uint8_t t[2];
    cloak_put_u16le(t, v);
    cloak_buf_put(b, t, 2);
}
void cloak_buf_u32le(cloak_buf *b, uint32_t v)
{
    uint8_t t[4];
    cloak_put_u32le(t, v);
    cloak_buf_put(b, t, 4);
}
void cloak_buf_u64le(cloak_buf *b, uint64_t v)
{
    uint8_t t[8];
    cloak_put_u64le(t, v);
    cloak_buf_put(b, t, 8);
}

void cloak_buf_free(cloak_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void cloak_buf_free_secret(cloak_buf *b)
{
    if (b->p) OPENSSL_cleanse(b->p, b->cap);
    cloak_buf_free(b);
}

void cloak_reader_init(cloak_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->failed = 0;
}

int cloak_take_ref(cloak_reader *r, const uint8_t **ptr, size_t n)
{
    if (r->failed || n > r->len - r->off) {
        r->failed = 1;
        return -1;
    }
    *ptr = r->p + r->off;
    r->off += n;
    return 0;
}

int cloak_take_bytes(cloak_reader *r, void *dst, size_t n)
{
    const uint8_t *s;
    if (cloak_take_ref(r, &s, n)) return -1;
    if (n) memcpy(dst, s, n);
    return 0;
}

int cloak_take_u8(cloak_reader *r, uint8_t *v)
{
    return cloak_take_bytes(r, v, 1);
}
int cloak_take_u16le(cloak_reader *r, uint16_t *v)
{
    const uint8_t *s;
    if (cloak_take_ref(r, &s, 2)) return -1;
    *v = cloak_get_u16le(s);
    return 0;
}
int cloak_take_u32le(cloak_reader *r, uint32_t *v)
{
    const uint8_t *s;
    if (cloak_take_ref(r, &s, 4)) return -1;
    *v = cloak_get_u32le(s);
    return 0;
}
int cloak_take_u64le(cloak_reader *r, uint64_t *v)
{
    const uint8_t *s;
    if (cloak_take_ref(r, &s, 8)) return -1;
    *v = cloak_get_u64le(s);
    return 0;
}
