/*
 * libFuzzer target: hostile bytes into the generated enclave stubs of tests/edl/sample.edl --
 * as ecall requests to every handler, and as host replies to the ocall stubs that
 * ecall_call_host makes. The stubs are the checked-in golden copy (tests/edl/golden/, kept
 * equal to the generator's output by test_edl_parse), compiled in here with a fake runtime.
 * The enclave functions below trust their arguments the way real enclave code may after the
 * stub's checks, so ASan catches any length the stubs let through wrongly.
 *
 * Input: [fid % 12] [reply capacity / 8] [u16le request length] [request] [ocall replies...]
 * where each ocall reply is [rc selector] [u16le claimed length] [bytes].
 */
#include "../tests/edl/golden/sample_t.c"

#include <stdlib.h>

/* ---- fake runtime ---- */

static cloak_ecall_fn handlers[16];
static const uint8_t *tape;
static size_t tape_len;

cloak_err cloak_trusted_register(uint32_t fid, cloak_ecall_fn fn)
{
    if (fid >= 16) return CLOAK_EINVAL;
    handlers[fid] = fn;
    return CLOAK_OK;
}

cloak_err cloak_trusted_fail(cloak_err code, const char *fmt, ...)
{
    (void)fmt;
    return code;
}

/* A hostile host: any error code, any claimed length (the bytes written stay in bounds, as
 * the real runtime guarantees; the claim is passed on unchecked). */
cloak_err cloak_trusted_ocall(uint32_t oid, const uint8_t *in, size_t in_len, uint8_t *out,
                              size_t out_cap, size_t *out_len)
{
    (void)oid;
    (void)in;
    (void)in_len;
    if (tape_len < 3) return CLOAK_EIO;
    uint8_t rc = tape[0];
    size_t claim = (size_t)tape[1] | (size_t)tape[2] << 8;
    tape += 3;
    tape_len -= 3;
    size_t n = claim < tape_len ? claim : tape_len;
    if (n > out_cap) n = out_cap;
    if (n) memcpy(out, tape, n);
    tape += n;
    tape_len -= n;
    *out_len = claim;
    return rc < 200 ? CLOAK_OK : (cloak_err)rc;
}

/* ---- the enclave functions: they use every byte their declarations promise ---- */

static volatile uint64_t sink;

int ecall_process(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    for (size_t i = 0; i < in_len; i++)
        sink += in[i];
    memset(out, 0xab, out_len);
    return 1;
}
uint64_t ecall_add(uint64_t a, uint64_t b)
{
    return a + b;
}
void ecall_greet(const char *name, uint32_t *vals, size_t n)
{
    sink += name ? strlen(name) : 0;
    for (size_t i = 0; i < n; i++)
        vals[i] += 1;
}
int64_t ecall_types(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint32_t f, int64_t g,
                    uint64_t h, int i, unsigned j, unsigned k, long l, unsigned long m, size_t n,
                    bool o)
{
    sink += (uint64_t)g + h + (uint64_t)l + m + n + (uint64_t)i + j + k + f + (uint64_t)e;
    return (int64_t)a + b + c + d + o;
}
bool ecall_negate(bool x)
{
    return !x;
}
int8_t ecall_narrow(int8_t x)
{
    return x;
}
void ecall_fixed(const void *key, uint32_t *words, size_t *got, const uint64_t *one)
{
    memcpy(words, key, 16);
    *got = (size_t)*one;
}
int ecall_signed_count(const int16_t *vals, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++)
        s += vals[i];
    return s;
}
void ecall_nothing(void) {}
void ecall_inout_one(int32_t *x)
{
    *x = (int32_t)((uint32_t)*x * 3u);
}
int ecall_call_host(const char *msg, char *buf, size_t cap, size_t *got)
{
    int r = 0;
    uint32_t vals[3] = {1, 2, 3}, scaled = 0;
    if (ocall_print(msg) == CLOAK_OK) sink++;
    if (ocall_fetch(&r, (uint8_t *)buf, cap, got) == CLOAK_OK && *got <= cap)
        for (size_t i = 0; i < *got; i++)
            sink += (uint8_t)buf[i];
    if (ocall_scale(&scaled, vals, 3, 7) == CLOAK_OK) sink += vals[0] + vals[2] + scaled;
    if (ocall_void() == CLOAK_OK) sink++;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int registered;
    if (!registered) {
        if (sample_register_ecalls() != CLOAK_OK) abort();
        registered = 1;
    }
    if (size < 4) return 0;
    uint32_t fid = data[0] % 12;
    size_t cap = (size_t)data[1] * 8;
    size_t req_len = (size_t)data[2] | (size_t)data[3] << 8;
    data += 4;
    size -= 4;
    if (req_len > size) req_len = size;
    tape = data + req_len;
    tape_len = size - req_len;
    if (!handlers[fid]) return 0;
    /* exact-size heap copies, so ASan sees any read or write past either message */
    uint8_t *req = malloc(req_len ? req_len : 1), *out = malloc(cap ? cap : 1);
    if (!req || !out) abort();
    if (req_len) memcpy(req, data, req_len);
    size_t out_len = 0;
    if (handlers[fid](req, req_len, out, cap, &out_len) == CLOAK_OK && out_len > cap) abort();
    free(req);
    free(out);
    return 0;
}
