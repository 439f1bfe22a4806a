/*
 * End-to-end test of the stubs generated from tests/edl/sample.edl: the host stubs
 * (sample_u.c) and the enclave stubs (sample_t.c) run in this one process over a FAKE
 * transport defined below -- cloak_enclave_call dispatches to the handlers recorded by
 * cloak_trusted_register, cloak_trusted_ocall to the functions recorded by
 * cloak_enclave_set_ocall. This binary does not link libcloak (which holds the real ones).
 *
 * The hostile cases build messages by hand from the layout in docs/EDL.md, not with the
 * generator, and feed them straight to the generated handlers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <cmocka.h>

#include "cloak/trusted.h"
#include "sample_u.h"
#include "stubs_test.h"

/* From sample_t.h, which this (host) half cannot include: its names would clash. */
cloak_err sample_register_ecalls(void);

/* Function ids: 1 + index in sample.edl's trusted / untrusted lists. */
enum {
    F_PROCESS = 1,
    F_ADD,
    F_GREET,
    F_TYPES,
    F_NEGATE,
    F_NARROW,
    F_FIXED,
    F_SIGNED_COUNT,
    F_NOTHING,
    F_INOUT_ONE,
    F_CALL_HOST,
};
enum { O_PRINT = 1, O_FETCH, O_SCALE, O_VOID };

/* ---- the fake transport ---- */

#define MAX_ID 32
struct cloak_enclave {
    int dummy;
};
static cloak_enclave the_enclave;
static cloak_ecall_fn ecalls[MAX_ID];
static struct {
    cloak_ocall_fn fn;
    void *ctx;
} ocalls[MAX_ID];
static char fail_msg[CLOAK_ERROR_MAX];
static const uint8_t *last_req; /* the request the last ecall handler was given */
static size_t last_req_len;

cloak_err cloak_trusted_register(uint32_t fid, cloak_ecall_fn fn)
{
    if (fid >= MAX_ID) return CLOAK_EINVAL;
    ecalls[fid] = fn;
    return CLOAK_OK;
}

cloak_err cloak_trusted_fail(cloak_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fail_msg, sizeof fail_msg, fmt, ap);
    va_end(ap);
    return code;
}

/* Unlike the real runtime, the fake passes the request buffer itself (so the test can check
 * the stubs copy it) and reports out_len as the handler set it (so the host stub's own check
 * of a reply longer than asked is what is tested). */
cloak_err cloak_enclave_call(cloak_enclave *e, uint32_t fid, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t out_cap, size_t *out_len, cloak_error *why)
{
    if (e != &the_enclave || fid >= MAX_ID || !ecalls[fid]) return CLOAK_ENOTFOUND;
    fail_msg[0] = 0;
    last_req = in;
    last_req_len = in_len;
    size_t n = 0;
    cloak_err rc = ecalls[fid](in, in_len, out, out_cap, &n);
    if (rc != CLOAK_OK && why) {
        why->code = rc;
        snprintf(why->msg, sizeof why->msg, "%s", fail_msg);
    }
    if (rc == CLOAK_OK) *out_len = n;
    return rc;
}

cloak_err cloak_enclave_set_ocall(cloak_enclave *e, uint32_t oid, cloak_ocall_fn fn, void *ctx,
                                  cloak_error *why)
{
    (void)why;
    if (e != &the_enclave || oid >= MAX_ID) return CLOAK_EINVAL;
    ocalls[oid].fn = fn;
    ocalls[oid].ctx = ctx;
    return CLOAK_OK;
}

cloak_err cloak_trusted_ocall(uint32_t oid, const uint8_t *in, size_t in_len, uint8_t *out,
                              size_t out_cap, size_t *out_len)
{
    if (oid >= MAX_ID || !ocalls[oid].fn) return CLOAK_ENOTFOUND;
    size_t n = 0;
    cloak_err rc = ocalls[oid].fn(ocalls[oid].ctx, in, in_len, out, out_cap, &n);
    if (rc == CLOAK_OK) *out_len = n;
    return rc;
}

/* ---- the host's ocall implementations ---- */

static char printed[64];
static int void_calls;
static const char fetch_text[] = "hello from the host";

void ocall_print(const char *msg)
{
    snprintf(printed, sizeof printed, "%s", msg ? msg : "(null)");
}

int ocall_fetch(uint8_t *buf, size_t cap, size_t *got)
{
    size_t n = strlen(fetch_text) < cap ? strlen(fetch_text) : cap;
    memcpy(buf, fetch_text, n);
    *got = n;
    return 42;
}

uint32_t ocall_scale(uint32_t *vals, uint32_t n, uint32_t factor)
{
    for (uint32_t i = 0; i < n; i++)
        vals[i] *= factor;
    return n;
}

void ocall_void(void)
{
    void_calls++;
}

/* ---- hand-built messages (docs/EDL.md layout) ---- */

typedef struct {
    uint8_t b[4096];
    size_t n;
} msg;

static void m_u64(msg *m, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        m->b[m->n++] = (uint8_t)(v >> (8 * i));
}
static void m_bytes(msg *m, const void *p, size_t n)
{
    memcpy(m->b + m->n, p, n);
    m->n += n;
}
static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static cloak_err raw_call(uint32_t fid, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                          size_t *out_len)
{
    fail_msg[0] = 0;
    return ecalls[fid](in, len, out, cap, out_len);
}

/* A valid ecall_process request: in = "abcd", out_len = 3. */
static void process_request(msg *m)
{
    m->n = 0;
    m_u64(m, 4);
    m_bytes(m, "abcd", 4);
    m_u64(m, 4); /* in_len */
    m_u64(m, 3); /* out capacity */
    m_u64(m, 3); /* out_len */
}

static int setup(void **state)
{
    (void)state;
    cloak_error why = {0};
    memset(ecalls, 0, sizeof ecalls);
    memset(ocalls, 0, sizeof ocalls);
    memset(&seen, 0, sizeof seen);
    printed[0] = 0;
    if (sample_register_ecalls() != CLOAK_OK) return -1;
    if (sample_register_ocalls(&the_enclave, &why) != CLOAK_OK) return -1;
    return 0;
}

/* ---- round trips through both stubs ---- */

static int inside(const void *p, const uint8_t *buf, size_t len)
{
    return p && (const uint8_t *)p >= buf && (const uint8_t *)p < buf + len;
}

static void test_bytes_in_and_out_round_trip(void **state)
{
    (void)state;
    uint8_t in[5] = {1, 2, 3, 4, 5}, out[12];
    memset(out, 0xcc, sizeof out);
    int rv = 0;
    assert_int_equal(ecall_process(&the_enclave, &rv, in, sizeof in, out, sizeof out), CLOAK_OK);
    assert_int_equal(rv, 5 - 12);
    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], in[i % 5] ^ 0x5a);
    /* the enclave function got private copies, not pointers into the request */
    assert_int_equal(seen.nptrs, 2);
    assert_false(inside(seen.ptrs[0], last_req, last_req_len));
    assert_false(inside(seen.ptrs[1], last_req, last_req_len));
}

/* Empty buffers may be NULL on the caller's side; the callee always gets a valid pointer (so
 * memcpy(out, in, 0) in enclave code stays defined). */
static void test_empty_buffers_arrive_as_valid_pointers(void **state)
{
    (void)state;
    int rv = 1;
    assert_int_equal(ecall_process(&the_enclave, &rv, NULL, 0, NULL, 0), CLOAK_OK);
    assert_int_equal(rv, 0);
    assert_non_null(seen.ptrs[0]);
    assert_non_null(seen.ptrs[1]);
    /* a NULL pointer with a non-zero size is refused before anything crosses */
    int calls = seen.calls;
    uint8_t out[4];
    assert_int_equal(ecall_process(&the_enclave, &rv, NULL, 3, out, sizeof out), CLOAK_EINVAL);
    assert_int_equal(seen.calls, calls);
    /* retval may be NULL */
    assert_int_equal(ecall_process(&the_enclave, NULL, NULL, 0, NULL, 0), CLOAK_OK);
    /* so may not the enclave */
    assert_int_equal(ecall_process(NULL, &rv, NULL, 0, NULL, 0), CLOAK_EINVAL);
}

static void test_by_value_add(void **state)
{
    (void)state;
    uint64_t rv = 0;
    assert_int_equal(ecall_add(&the_enclave, &rv, UINT64_MAX, 2), CLOAK_OK);
    assert_true(rv == 1); /* unsigned wrap inside the enclave */
    assert_int_equal(ecall_add(&the_enclave, &rv, 40, 2), CLOAK_OK);
    assert_true(rv == 42);
}

static void test_string_and_in_out_count(void **state)
{
    (void)state;
    uint32_t vals[3] = {10, 20, 0xffffffffu};
    assert_int_equal(ecall_greet(&the_enclave, "world", vals, 3), CLOAK_OK);
    assert_string_equal(seen.name, "world");
    assert_int_equal(vals[0], 25);
    assert_int_equal(vals[1], 45);
    assert_int_equal(vals[2], (uint32_t)(0xffffffffu * 2u + 5u));
    /* a NULL string crosses as NULL */
    assert_int_equal(ecall_greet(&the_enclave, NULL, vals, 0), CLOAK_OK);
    assert_true(seen.name_was_null);
    assert_int_equal(ecall_greet(&the_enclave, "", vals, 0), CLOAK_OK);
    assert_false(seen.name_was_null);
    assert_string_equal(seen.name, "");
}

static void test_string_longer_than_1mib_refused(void **state)
{
    (void)state;
    size_t max = (size_t)1 << 20;
    char *s = malloc(max + 2);
    assert_non_null(s);
    memset(s, 'x', max + 1);
    s[max + 1] = 0;
    uint32_t v = 0;
    int calls = seen.calls;
    assert_int_equal(ecall_greet(&the_enclave, s, &v, 0), CLOAK_EINVAL);
    assert_int_equal(seen.calls, calls);
    s[max] = 0; /* exactly 1 MiB is allowed */
    assert_int_equal(ecall_greet(&the_enclave, s, &v, 0), CLOAK_OK);
    assert_int_equal(seen.calls, calls + 1);
    free(s);
}

static void test_every_integer_type_round_trips(void **state)
{
    (void)state;
    int64_t rv = 0;
    assert_int_equal(ecall_types(&the_enclave, &rv, INT8_MIN, UINT8_MAX, INT16_MIN, UINT16_MAX,
                                 INT32_MIN, UINT32_MAX, INT64_MIN, UINT64_MAX, INT_MIN, UINT_MAX,
                                 12345u, LONG_MIN, ULONG_MAX, SIZE_MAX, true),
                     CLOAK_OK);
    assert_true(seen.a == INT8_MIN && seen.b == UINT8_MAX && seen.c == INT16_MIN);
    assert_true(seen.d == UINT16_MAX && seen.e == INT32_MIN && seen.f == UINT32_MAX);
    assert_true(seen.g == INT64_MIN && seen.h == UINT64_MAX && seen.i == INT_MIN);
    assert_true(seen.j == UINT_MAX && seen.k == 12345u && seen.l == LONG_MIN);
    assert_true(seen.m == ULONG_MAX && seen.n == SIZE_MAX && seen.o == true);
    assert_true(rv == (int64_t)INT8_MIN + UINT8_MAX + INT16_MIN + UINT16_MAX + INT32_MIN);
    assert_int_equal(
        ecall_types(&the_enclave, &rv, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, 0, -1, 0, 0, false),
        CLOAK_OK);
    assert_true(seen.a == -1 && seen.g == -1 && seen.l == -1 && seen.o == false);
    assert_true(rv == -3);
}

static void test_bool_and_narrow_returns(void **state)
{
    (void)state;
    bool b = true;
    assert_int_equal(ecall_negate(&the_enclave, &b, true), CLOAK_OK);
    assert_false(b);
    assert_int_equal(ecall_negate(&the_enclave, &b, false), CLOAK_OK);
    assert_true(b);
    int8_t r = 0;
    assert_int_equal(ecall_narrow(&the_enclave, &r, INT8_MIN), CLOAK_OK);
    assert_int_equal(r, INT8_MIN);
    assert_int_equal(ecall_narrow(&the_enclave, &r, INT8_MAX), CLOAK_OK);
    assert_int_equal(r, INT8_MAX);
}

static void test_literal_sizes_void_buffers_single_elements(void **state)
{
    (void)state;
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(i * 17);
    uint32_t words[4] = {0};
    size_t got = 0;
    uint64_t one = 99;
    assert_int_equal(ecall_fixed(&the_enclave, key, words, &got, &one), CLOAK_OK);
    assert_int_equal(words[0], 0x33221100u);
    assert_int_equal(words[3], 0xffeeddccu);
    assert_int_equal(got, 100);
    /* single-element pointers must not be NULL */
    assert_int_equal(ecall_fixed(&the_enclave, key, words, NULL, &one), CLOAK_EINVAL);
    assert_int_equal(ecall_fixed(&the_enclave, key, words, &got, NULL), CLOAK_EINVAL);
}

static void test_signed_count(void **state)
{
    (void)state;
    int16_t v[3] = {-5, 100, -30000};
    int rv = 0;
    assert_int_equal(ecall_signed_count(&the_enclave, &rv, v, 3), CLOAK_OK);
    assert_int_equal(rv, -5 + 100 - 30000);
    int calls = seen.calls;
    assert_int_equal(ecall_signed_count(&the_enclave, &rv, v, -1), CLOAK_EINVAL);
    assert_int_equal(seen.calls, calls);
}

static void test_void_and_single_in_out(void **state)
{
    (void)state;
    int calls = seen.calls;
    assert_int_equal(ecall_nothing(&the_enclave), CLOAK_OK);
    assert_int_equal(seen.calls, calls + 1);
    int32_t x = -7;
    assert_int_equal(ecall_inout_one(&the_enclave, &x), CLOAK_OK);
    assert_int_equal(x, -21);
}

static void test_ocalls_from_inside_an_ecall(void **state)
{
    (void)state;
    char buf[8];
    size_t got = 0;
    int rv = 0;
    void_calls = 0;
    assert_int_equal(ecall_call_host(&the_enclave, &rv, "log me", buf, sizeof buf, &got), CLOAK_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(seen.ocall_rc[i], CLOAK_OK);
    assert_string_equal(printed, "log me");
    assert_int_equal(rv, 42);
    assert_int_equal(got, sizeof buf);
    assert_memory_equal(buf, fetch_text, sizeof buf);
    assert_int_equal(seen.scale_retval, 3);
    assert_int_equal(seen.scaled[0], 10);
    assert_int_equal(seen.scaled[2], 30);
    assert_int_equal(void_calls, 1);
}

/* ---- hostile requests, straight to the generated enclave handlers ---- */

static void test_valid_raw_request_and_exact_reply(void **state)
{
    (void)state;
    msg m;
    process_request(&m);
    uint8_t out[64];
    size_t out_len = 0;
    assert_int_equal(raw_call(F_PROCESS, m.b, m.n, out, sizeof out, &out_len), CLOAK_OK);
    /* reply: retval (4 - 3 = 1), then out: length 3, bytes */
    assert_int_equal(out_len, 8 + 8 + 3);
    assert_true(rd64(out) == 1);
    assert_true(rd64(out + 8) == 3);
    assert_int_equal(out[16], 'a' ^ 0x5a);
    assert_int_equal(out[18], 'c' ^ 0x5a);
    assert_false(inside(seen.ptrs[0], m.b, m.n));
}

static void test_every_truncation_refused(void **state)
{
    (void)state;
    msg m;
    process_request(&m);
    uint8_t out[64];
    size_t out_len = 0;
    int calls = seen.calls;
    for (size_t n = 0; n < m.n; n++) {
        assert_int_equal(raw_call(F_PROCESS, m.b, n, out, sizeof out, &out_len), CLOAK_EINVAL);
        assert_non_null(strstr(fail_msg, "ecall_process: "));
    }
    assert_int_equal(seen.calls, calls);
    assert_non_null(strstr(fail_msg, "request truncated"));
    /* and one byte too many */
    m.b[m.n++] = 0;
    assert_int_equal(raw_call(F_PROCESS, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_process: trailing bytes after the request");
    assert_int_equal(seen.calls, calls);
}

static void test_lengths_must_match_size_params(void **state)
{
    (void)state;
    msg m;
    uint8_t out[64];
    size_t out_len = 0;
    int calls = seen.calls;
    /* [in] buffer of 4 bytes, but in_len says 5 */
    m.n = 0;
    m_u64(&m, 4);
    m_bytes(&m, "abcd", 4);
    m_u64(&m, 5);
    m_u64(&m, 3);
    m_u64(&m, 3);
    assert_int_equal(raw_call(F_PROCESS, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_process: in: length does not match size=in_len");
    /* [out] capacity 100, but out_len says 3 */
    process_request(&m);
    cloak_put_u64le(m.b + 20, 100); /* offsets: 0 len, 8 bytes, 12 in_len, 20 capacity */
    assert_int_equal(raw_call(F_PROCESS, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_process: out: capacity does not match size=out_len");
    /* a huge length field with few bytes behind it */
    m.n = 0;
    m_u64(&m, UINT64_MAX);
    m_bytes(&m, "abcd", 4);
    assert_int_equal(raw_call(F_PROCESS, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_process: in: request truncated");
    /* ecall_greet: name "", [in, out, count=n] vals: 2 elements (8 bytes) sent, n says 3 */
    m.n = 0;
    m_u64(&m, 1);
    m_bytes(&m, "", 1);
    m_u64(&m, 8);
    m_bytes(&m, "\1\0\0\0\2\0\0\0", 8);
    m_u64(&m, 8);
    m_u64(&m, 3);
    assert_int_equal(raw_call(F_GREET, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_greet: vals: length does not match count=n");
    /* single element: [in] const uint64_t *one must be exactly 8 bytes */
    m.n = 0;
    m_u64(&m, 16);
    m_bytes(&m, "0123456789abcdef", 16);
    m_u64(&m, 16);
    m_u64(&m, 8);
    m_u64(&m, 4);
    m_bytes(&m, "\1\0\0\0", 4);
    assert_int_equal(raw_call(F_FIXED, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_fixed: one: length is not one uint64_t");
    assert_int_equal(seen.calls, calls);
}

static void greet_with_name(msg *m, const void *name, size_t len)
{
    m->n = 0;
    m_u64(m, len);
    m_bytes(m, name, len);
    m_u64(m, 0); /* vals: no elements */
    m_u64(m, 0);
    m_u64(m, 0); /* n */
}

static void test_strings_must_end_at_their_first_nul(void **state)
{
    (void)state;
    msg m;
    uint8_t out[64];
    size_t out_len = 0;
    int calls = seen.calls;
    greet_with_name(&m, "abc", 3); /* no NUL */
    assert_int_equal(raw_call(F_GREET, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_non_null(strstr(fail_msg, "ecall_greet: name: "));
    greet_with_name(&m, "a\0bc", 5); /* embedded NUL */
    assert_int_equal(raw_call(F_GREET, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_int_equal(seen.calls, calls);
    greet_with_name(&m, "abc", 4); /* fine */
    assert_int_equal(raw_call(F_GREET, m.b, m.n, out, sizeof out, &out_len), CLOAK_OK);
    assert_string_equal(seen.name, "abc");
    /* longer than 1 MiB + NUL */
    size_t len = ((size_t)1 << 20) + 2;
    uint8_t *big = calloc(1, len + 32);
    assert_non_null(big);
    memset(big + 8, 'x', len - 1);
    cloak_put_u64le(big, len);
    memset(big + 8 + len, 0, 24);
    calls = seen.calls;
    assert_int_equal(raw_call(F_GREET, big, len + 32, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_int_equal(seen.calls, calls);
    free(big);
}

static void test_count_overflow_and_negative_counts_refused(void **state)
{
    (void)state;
    msg m;
    uint8_t out[64];
    size_t out_len = 0;
    int calls = seen.calls;
    /* ecall_greet: n * sizeof(uint32_t) overflows size_t; lengths claim the wrapped value 0 */
    m.n = 0;
    m_u64(&m, 1);
    m_bytes(&m, "", 1);
    m_u64(&m, 0);
    m_u64(&m, 0);
    m_u64(&m, ((uint64_t)1 << 62));
    assert_int_equal(raw_call(F_GREET, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg,
                        "ecall_greet: vals: count is negative or count * element size overflows");
    /* ecall_signed_count with n = -1 */
    m.n = 0;
    m_u64(&m, 0);
    m_u64(&m, UINT64_MAX);
    assert_int_equal(raw_call(F_SIGNED_COUNT, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_signed_count: vals: count is negative or count * "
                                  "element size overflows");
    /* n = 2^32: does not fit an int */
    m.n = 0;
    m_u64(&m, 0);
    m_u64(&m, (uint64_t)1 << 32);
    assert_int_equal(raw_call(F_SIGNED_COUNT, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_signed_count: n: value out of range for int");
    assert_int_equal(seen.calls, calls);
}

static void test_values_out_of_range_refused(void **state)
{
    (void)state;
    msg m;
    uint8_t out[64];
    size_t out_len = 0;
    int calls = seen.calls;
    m.n = 0;
    m_u64(&m, 128); /* int8_t */
    assert_int_equal(raw_call(F_NARROW, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_narrow: x: value out of range for int8_t");
    m.n = 0;
    m_u64(&m, (uint64_t)-129);
    assert_int_equal(raw_call(F_NARROW, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    m.n = 0;
    m_u64(&m, 2); /* bool */
    assert_int_equal(raw_call(F_NEGATE, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    assert_string_equal(fail_msg, "ecall_negate: x: bool is neither 0 nor 1");
    assert_int_equal(seen.calls, calls);
    m.n = 0;
    m_u64(&m, (uint64_t)-128); /* sign-extended -128 is fine */
    assert_int_equal(raw_call(F_NARROW, m.b, m.n, out, sizeof out, &out_len), CLOAK_OK);
    assert_true(rd64(out) == (uint64_t)-128);
}

static void test_small_reply_buffer_refused_before_the_call(void **state)
{
    (void)state;
    msg m;
    process_request(&m);
    uint8_t out[64];
    size_t out_len = 0;
    int calls = seen.calls;
    assert_int_equal(raw_call(F_PROCESS, m.b, m.n, out, 18, &out_len), CLOAK_ERANGE);
    assert_int_equal(seen.calls, calls);
    assert_int_equal(raw_call(F_PROCESS, m.b, m.n, out, 19, &out_len), CLOAK_OK);
}

/* ---- a hostile enclave reply, to the host stubs ---- */

static msg hostile;
static size_t hostile_claim;
static cloak_err hostile_rc;

static cloak_err hostile_handler(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                                 size_t *out_len)
{
    (void)in;
    (void)in_len;
    memcpy(out, hostile.b, hostile.n < out_cap ? hostile.n : out_cap);
    *out_len = hostile_claim;
    return hostile_rc;
}

/* Call ecall_process(in 2 bytes, out 4 bytes) against a hostile reply; expect `want` and, on
 * failure, untouched caller buffers. */
static void process_against(cloak_err want)
{
    uint8_t in[2] = {1, 2}, out[4];
    memset(out, 0xcc, sizeof out);
    int rv = -77;
    ecalls[F_PROCESS] = hostile_handler;
    assert_int_equal(ecall_process(&the_enclave, &rv, in, 2, out, 4), want);
    if (want != CLOAK_OK) {
        assert_int_equal(rv, -77);
        for (int i = 0; i < 4; i++)
            assert_int_equal(out[i], 0xcc);
    }
}

static void test_host_stub_checks_the_reply(void **state)
{
    (void)state;
    hostile_rc = CLOAK_OK;
    /* the well-formed reply is accepted */
    hostile.n = 0;
    m_u64(&hostile, 7);
    m_u64(&hostile, 4);
    m_bytes(&hostile, "wxyz", 4);
    hostile_claim = hostile.n;
    process_against(CLOAK_OK);
    /* a reply longer than asked */
    hostile_claim = hostile.n + 1;
    process_against(CLOAK_EINVAL);
    /* truncated */
    hostile_claim = hostile.n - 1;
    process_against(CLOAK_EINVAL);
    /* [out] length other than requested: 3 bytes, then a trailing byte */
    hostile.n = 0;
    m_u64(&hostile, 7);
    m_u64(&hostile, 3);
    m_bytes(&hostile, "wxyz", 4);
    hostile_claim = hostile.n;
    process_against(CLOAK_EINVAL);
    /* [out] length shorter than requested, the reply otherwise consistent (19 of 20 bytes):
     * copying the requested 4 bytes would read past what the enclave sent */
    hostile.n = 0;
    m_u64(&hostile, 7);
    m_u64(&hostile, 3);
    m_bytes(&hostile, "wxy", 3);
    hostile_claim = hostile.n;
    process_against(CLOAK_EINVAL);
    /* return value that does not fit an int */
    hostile.n = 0;
    m_u64(&hostile, (uint64_t)1 << 40);
    m_u64(&hostile, 4);
    m_bytes(&hostile, "wxyz", 4);
    hostile_claim = hostile.n;
    process_against(CLOAK_EINVAL);
    /* the enclave function's own error reaches the caller unchanged */
    hostile_rc = CLOAK_EPERM;
    process_against(CLOAK_EPERM);
}

/* ---- a hostile host, to the enclave's ocall stubs ---- */

static cloak_err hostile_ocall(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                               size_t out_cap, size_t *out_len)
{
    (void)ctx;
    return hostile_handler(in, in_len, out, out_cap, out_len);
}

/* ecall_call_host with an 8-byte buffer; the fetch ocall is hostile. */
static void fetch_against(cloak_err want)
{
    char buf[8];
    size_t got = 99;
    int rv = 0;
    cloak_error why = {0};
    assert_int_equal(cloak_enclave_set_ocall(&the_enclave, O_FETCH, hostile_ocall, NULL, &why),
                     CLOAK_OK);
    seen.fetch_retval = -1;
    assert_int_equal(ecall_call_host(&the_enclave, &rv, "m", buf, sizeof buf, &got), CLOAK_OK);
    assert_int_equal(seen.ocall_rc[1], want);
    if (want != CLOAK_OK) {
        /* the stub wrote nothing: the enclave's zeroed buffers came back as they were */
        assert_int_equal(seen.fetch_retval, -1);
        assert_int_equal(got, 0);
        for (int i = 0; i < 8; i++)
            assert_int_equal(buf[i], 0);
    }
}

static void test_ocall_stub_treats_the_host_as_hostile(void **state)
{
    (void)state;
    hostile_rc = CLOAK_OK;
    /* well-formed: retval, buf (8 bytes), got (sizeof(size_t)) */
    hostile.n = 0;
    m_u64(&hostile, 5);
    m_u64(&hostile, 8);
    m_bytes(&hostile, "ABCDEFGH", 8);
    m_u64(&hostile, sizeof(size_t));
    size_t three = 3;
    m_bytes(&hostile, &three, sizeof three);
    hostile_claim = hostile.n;
    fetch_against(CLOAK_OK);
    assert_int_equal(seen.fetch_retval, 5);
    /* longer than asked */
    hostile_claim = hostile.n + 8;
    fetch_against(CLOAK_EINVAL);
    /* truncated */
    hostile_claim = hostile.n - 1;
    fetch_against(CLOAK_EINVAL);
    /* buffer length larger than the capacity asked for */
    cloak_put_u64le(hostile.b + 8, 9);
    hostile_claim = hostile.n;
    fetch_against(CLOAK_EINVAL);
    cloak_put_u64le(hostile.b + 8, 8);
    /* buffer length shorter than asked, the reply otherwise consistent */
    msg good = hostile;
    hostile.n = 0;
    m_u64(&hostile, 5);
    m_u64(&hostile, 7);
    m_bytes(&hostile, "ABCDEFG", 7);
    m_u64(&hostile, sizeof(size_t));
    m_bytes(&hostile, &three, sizeof three);
    hostile_claim = hostile.n;
    fetch_against(CLOAK_EINVAL);
    hostile = good;
    hostile_claim = hostile.n;
    /* retval out of range for int */
    cloak_put_u64le(hostile.b, (uint64_t)INT32_MAX + 1);
    fetch_against(CLOAK_EINVAL);
    /* an error code cloak does not define becomes CLOAK_EIO */
    hostile_rc = (cloak_err)999;
    fetch_against(CLOAK_EIO);
    hostile_rc = CLOAK_ENOTFOUND;
    fetch_against(CLOAK_ENOTFOUND);
}

static void test_host_ocall_dispatcher_checks_requests(void **state)
{
    (void)state;
    cloak_ocall_fn scale = ocalls[O_SCALE].fn;
    uint8_t out[64];
    size_t out_len = 0;
    msg m;
    /* vals: 2 elements in, capacity 8, n = 2, factor 3 */
    m.n = 0;
    m_u64(&m, 8);
    m_bytes(&m, "\1\0\0\0\2\0\0\0", 8);
    m_u64(&m, 8);
    m_u64(&m, 2);
    m_u64(&m, 3);
    assert_int_equal(scale(NULL, m.b, m.n, out, sizeof out, &out_len), CLOAK_OK);
    assert_int_equal(out_len, 8 + 8 + 8);
    assert_true(rd64(out) == 2);
    assert_int_equal(out[16], 3);
    assert_int_equal(out[20], 6);
    for (size_t n = 0; n < m.n; n++)
        assert_int_equal(scale(NULL, m.b, n, out, sizeof out, &out_len), CLOAK_EINVAL);
    cloak_put_u64le(m.b + 24, 3); /* n no longer matches */
    assert_int_equal(scale(NULL, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
    cloak_put_u64le(m.b + 24, (uint64_t)1 << 32); /* n does not fit a uint32_t */
    assert_int_equal(scale(NULL, m.b, m.n, out, sizeof out, &out_len), CLOAK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_bytes_in_and_out_round_trip, setup),
        cmocka_unit_test_setup(test_empty_buffers_arrive_as_valid_pointers, setup),
        cmocka_unit_test_setup(test_by_value_add, setup),
        cmocka_unit_test_setup(test_string_and_in_out_count, setup),
        cmocka_unit_test_setup(test_string_longer_than_1mib_refused, setup),
        cmocka_unit_test_setup(test_every_integer_type_round_trips, setup),
        cmocka_unit_test_setup(test_bool_and_narrow_returns, setup),
        cmocka_unit_test_setup(test_literal_sizes_void_buffers_single_elements, setup),
        cmocka_unit_test_setup(test_signed_count, setup),
        cmocka_unit_test_setup(test_void_and_single_in_out, setup),
        cmocka_unit_test_setup(test_ocalls_from_inside_an_ecall, setup),
        cmocka_unit_test_setup(test_valid_raw_request_and_exact_reply, setup),
        cmocka_unit_test_setup(test_every_truncation_refused, setup),
        cmocka_unit_test_setup(test_lengths_must_match_size_params, setup),
        cmocka_unit_test_setup(test_strings_must_end_at_their_first_nul, setup),
        cmocka_unit_test_setup(test_count_overflow_and_negative_counts_refused, setup),
        cmocka_unit_test_setup(test_values_out_of_range_refused, setup),
        cmocka_unit_test_setup(test_small_reply_buffer_refused_before_the_call, setup),
        cmocka_unit_test_setup(test_host_stub_checks_the_reply, setup),
        cmocka_unit_test_setup(test_ocall_stub_treats_the_host_as_hostile, setup),
        cmocka_unit_test_setup(test_host_ocall_dispatcher_checks_requests, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
