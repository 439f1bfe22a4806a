/* The enclave half of the end-to-end test: the developer's ecall implementations, written
 * against the generated sample_t.h exactly as an enclave would (names are t_-prefixed by
 * trusted_names.h; see there). Each records what it received in `seen`. */
#include "sample_t.h"
#include "stubs_test.h"

#include <string.h>

enclave_seen seen;

static void record(size_t n, const void *const *p)
{
    seen.calls++;
    seen.nptrs = n;
    for (size_t i = 0; i < n; i++)
        seen.ptrs[i] = p[i];
}

int ecall_process(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    const void *p[] = {in, out};
    record(2, p);
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)(in_len ? in[i % in_len] ^ 0x5a : 0xee);
    return (int)in_len - (int)out_len;
}

uint64_t ecall_add(uint64_t a, uint64_t b)
{
    record(0, NULL);
    return a + b;
}

void ecall_greet(const char *name, uint32_t *vals, size_t n)
{
    const void *p[] = {name, vals};
    record(2, p);
    seen.name_was_null = name == NULL;
    seen.name[0] = 0;
    if (name) {
        strncpy(seen.name, name, sizeof seen.name - 1);
        seen.name[sizeof seen.name - 1] = 0;
    }
    size_t len = name ? strlen(name) : 0;
    for (size_t i = 0; i < n; i++)
        vals[i] = vals[i] * 2 + (uint32_t)len;
}

int64_t ecall_types(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint32_t f, int64_t g,
                    uint64_t h, int i, unsigned j, unsigned k, long l, unsigned long m, size_t n,
                    bool o)
{
    record(0, NULL);
    seen.a = a, seen.b = b, seen.c = c, seen.d = d, seen.e = e, seen.f = f, seen.g = g;
    seen.h = h, seen.i = i, seen.j = j, seen.k = k, seen.l = l, seen.m = m, seen.n = n;
    seen.o = o;
    return (int64_t)a + b + c + d + e; /* fits: bounded by the narrow types */
}

bool ecall_negate(bool x)
{
    record(0, NULL);
    return !x;
}

int8_t ecall_narrow(int8_t x)
{
    record(0, NULL);
    return x;
}

void ecall_fixed(const void *key, uint32_t *words, size_t *got, const uint64_t *one)
{
    const void *p[] = {key, words, got, one};
    record(4, p);
    const uint8_t *k = key;
    for (int w = 0; w < 4; w++)
        words[w] = (uint32_t)k[4 * w] | (uint32_t)k[4 * w + 1] << 8 | (uint32_t)k[4 * w + 2] << 16 |
                   (uint32_t)k[4 * w + 3] << 24;
    *got = (size_t)*one + 1;
}

int ecall_signed_count(const int16_t *vals, int n)
{
    const void *p[] = {vals};
    record(1, p);
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += vals[i];
    return sum;
}

void ecall_nothing(void)
{
    record(0, NULL);
}

void ecall_inout_one(int32_t *x)
{
    const void *p[] = {x};
    record(1, p);
    *x = *x * 3;
}

/* Calls every ocall; returns ocall_fetch's result. */
int ecall_call_host(const char *msg, char *buf, size_t cap, size_t *got)
{
    const void *p[] = {msg, buf, got};
    record(3, p);
    uint32_t vals[3] = {1, 2, 3};
    seen.ocall_rc[0] = ocall_print(msg);
    seen.ocall_rc[1] = ocall_fetch(&seen.fetch_retval, (uint8_t *)buf, cap, got);
    seen.ocall_rc[2] = ocall_scale(&seen.scale_retval, vals, 3, 10);
    seen.ocall_rc[3] = ocall_void();
    memcpy(seen.scaled, vals, sizeof vals);
    return seen.fetch_retval;
}
