/* A test enclave: one function per behaviour the runtime tests exercise. Built several times
 * with different signing parameters; VARIANT=2 changes the code (and so the measurement) and
 * leaves host-chosen report data off. */
#include "cloak/trusted.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VARIANT
#define VARIANT 1
#endif

enum {
    F_ECHO = 1,
    F_EMPTY,
    F_CRASH,
    F_LOOP,
    F_SYSCALL,
    F_SEAL,
    F_UNSEAL,
    F_QUOTE,
    F_OCALLS,
    F_IDENTITY,
    F_FAIL,
    F_FILL,
    F_ABORT,
    F_ALLOC
};

#if VARIANT == 1
__attribute__((used)) const char variant_tag[] = "test enclave, variant one";
#else
__attribute__((used)) const char variant_tag[] = "test enclave, variant two (other code)";
#endif

static cloak_err echo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len)
{
    if (in_len > out_cap)
        return cloak_trusted_fail(CLOAK_ERANGE, "echo: %zu > %zu", in_len, out_cap);
    memcpy(out, in, in_len);
    *out_len = in_len;
    return CLOAK_OK;
}

static cloak_err empty(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    *out_len = 0;
    return CLOAK_OK;
}

/* a real wild store; kept away from UBSan so sanitizer builds crash the same way */
__attribute__((no_sanitize("undefined", "address"))) static cloak_err
crash(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    volatile int *p = NULL;
    *p = 1;
    return CLOAK_OK;
}

static cloak_err loop(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len)
{
    for (volatile unsigned long i = 0;; i++) {
    }
    return CLOAK_OK;
}

static cloak_err forbidden(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                           size_t *out_len)
{
    /* no network from inside an enclave: socket() is outside the sandbox allow-list */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0) close(fd);
    return cloak_trusted_fail(CLOAK_EINTERNAL, "socket was allowed");
}

static cloak_err do_abort(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len)
{
    abort();
}

/* in: u8 policy | data; out: blob */
static cloak_err seal(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len)
{
    if (in_len < 1) return cloak_trusted_fail(CLOAK_EINVAL, "seal: empty");
    uint8_t *blob;
    size_t n;
    static const uint8_t aad[] = "test-aad";
    cloak_err rc = cloak_trusted_seal((cloak_seal_policy)in[0], aad, sizeof aad, in + 1, in_len - 1,
                                      &blob, &n);
    if (rc) return rc;
    if (n > out_cap) {
        free(blob);
        return cloak_trusted_fail(CLOAK_ERANGE, "seal: blob too large");
    }
    memcpy(out, blob, n);
    *out_len = n;
    free(blob);
    return CLOAK_OK;
}

static cloak_err unseal(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                        size_t *out_len)
{
    uint8_t *pt, *aad;
    size_t n, an;
    cloak_err rc = cloak_trusted_unseal(in, in_len, &pt, &n, &aad, &an);
    if (rc) return rc;
    int aad_ok = an == sizeof "test-aad" && !memcmp(aad, "test-aad", an);
    free(aad);
    if (!aad_ok || n > out_cap) {
        free(pt);
        return cloak_trusted_fail(CLOAK_EVERIFY, "unseal: aad mismatch or output too large");
    }
    memcpy(out, pt, n);
    *out_len = n;
    free(pt);
    return CLOAK_OK;
}

static cloak_err quote(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    uint8_t rd[CLOAK_REPORT_DATA_BYTES] = {0}, *q;
    size_t n;
    memcpy(rd, in, in_len < sizeof rd ? in_len : sizeof rd);
    cloak_err rc = cloak_trusted_get_evidence(rd, &q, &n);
    if (rc) return rc;
    if (n > out_cap) {
        free(q);
        return cloak_trusted_fail(CLOAK_ERANGE, "quote too large");
    }
    memcpy(out, q, n);
    *out_len = n;
    free(q);
    return CLOAK_OK;
}

/* Log, store and fetch through the host, then ask host ocall 7 to reverse `in`. */
static cloak_err ocalls(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                        size_t *out_len)
{
    cloak_trusted_log(CLOAK_LOG_INFO, "ocall test with %zu bytes", in_len);
    cloak_err rc = cloak_trusted_storage_put("obj-1", in, in_len);
    if (rc) return cloak_trusted_fail(rc, "storage put failed");
    uint8_t *got;
    size_t n;
    rc = cloak_trusted_storage_get("obj-1", &got, &n);
    if (rc) return cloak_trusted_fail(rc, "storage get failed");
    int same = n == in_len && !memcmp(got, in, n);
    free(got);
    if (!same) return cloak_trusted_fail(CLOAK_EVERIFY, "storage returned other bytes");
    if (cloak_trusted_storage_get("missing", &got, &n) != CLOAK_ENOTFOUND)
        return cloak_trusted_fail(CLOAK_EINTERNAL, "missing object was found");
    if (cloak_trusted_storage_put("../escape", in, in_len) == CLOAK_OK)
        return cloak_trusted_fail(CLOAK_EINTERNAL, "a path-like storage name was accepted");
    rc = cloak_trusted_ocall(7, in, in_len, out, out_cap, out_len);
    if (rc) return cloak_trusted_fail(rc, "host ocall 7 failed");
    return CLOAK_OK;
}

static cloak_err identity(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                          size_t *out_len)
{
    cloak_image_identity id;
    cloak_trusted_identity(&id);
    if (out_cap < 68) return CLOAK_ERANGE;
    memcpy(out, id.mrenclave, 32);
    memcpy(out + 32, id.mrsigner, 32);
    out[64] = (uint8_t)id.product_id;
    out[65] = (uint8_t)(id.product_id >> 8);
    out[66] = (uint8_t)id.svn;
    out[67] = (uint8_t)(id.svn >> 8);
    *out_len = 68;
    return CLOAK_OK;
}

static cloak_err fail(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len)
{
    return cloak_trusted_fail(CLOAK_EPERM, "refused on purpose (%zu bytes)", in_len);
}

static cloak_err fill(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len)
{
    for (size_t i = 0; i < out_cap; i++)
        out[i] = (uint8_t)(i * 7 + 3);
    *out_len = out_cap;
    return CLOAK_OK;
}

/* in: u64 bytes to allocate and touch */
static cloak_err alloc(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    if (in_len != 8) return cloak_trusted_fail(CLOAK_EINVAL, "alloc: 8 bytes");
    size_t n = (size_t)cloak_get_u64le(in);
    volatile uint8_t *p = malloc(n);
    if (!p) return cloak_trusted_fail(CLOAK_ENOMEM, "alloc: %zu bytes refused", n);
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 1;
    free((void *)p);
    *out_len = 0;
    return CLOAK_OK;
}

cloak_err cloak_enclave_init(void)
{
    static const struct {
        uint32_t fid;
        cloak_ecall_fn fn;
    } table[] = {{F_ECHO, echo},         {F_EMPTY, empty},       {F_CRASH, crash},
                 {F_LOOP, loop},         {F_SYSCALL, forbidden}, {F_SEAL, seal},
                 {F_UNSEAL, unseal},     {F_QUOTE, quote},       {F_OCALLS, ocalls},
                 {F_IDENTITY, identity}, {F_FAIL, fail},         {F_FILL, fill},
                 {F_ABORT, do_abort},    {F_ALLOC, alloc}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        cloak_err rc = cloak_trusted_register(table[i].fid, table[i].fn);
        if (rc) return rc;
    }
    if (VARIANT == 1) cloak_trusted_allow_host_report_data();
    return CLOAK_OK;
}
