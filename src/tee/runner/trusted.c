/* The enclave API (cloak/trusted.h) as the simulation runtime provides it. */
#include "tee/runner/runner.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define DIRECT_FIDS 1024u

static cloak_ecall_fn direct[DIRECT_FIDS];
static struct {
    uint32_t fid;
    cloak_ecall_fn fn;
} * sparse;
static size_t nsparse;
static int serving; /* set once start-up is over: the handler table is then read-only */

void runner_seal_registrations(void)
{
    serving = 1;
}

cloak_err cloak_trusted_register(uint32_t fid, cloak_ecall_fn fn)
{
    if (!fn || fid >= CLOAK_FID_RESERVED) return CLOAK_EINVAL;
    if (serving) return CLOAK_EPERM; /* register in cloak_enclave_init only */
    if (fid < DIRECT_FIDS) {
        direct[fid] = fn;
        return CLOAK_OK;
    }
    for (size_t i = 0; i < nsparse; i++)
        if (sparse[i].fid == fid) {
            sparse[i].fn = fn;
            return CLOAK_OK;
        }
    void *t = realloc(sparse, (nsparse + 1) * sizeof *sparse);
    if (!t) return CLOAK_ENOMEM;
    sparse = t;
    sparse[nsparse].fid = fid;
    sparse[nsparse].fn = fn;
    nsparse++;
    return CLOAK_OK;
}

cloak_ecall_fn runner_handler(uint32_t fid)
{
    if (fid < DIRECT_FIDS) return direct[fid];
    for (size_t i = 0; i < nsparse; i++)
        if (sparse[i].fid == fid) return sparse[i].fn;
    return NULL;
}

cloak_err cloak_trusted_fail(cloak_err code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(runner_fail_msg(), CLOAK_ERROR_MAX, fmt, ap);
    va_end(ap);
    return code;
}

cloak_err cloak_trusted_ocall(uint32_t oid, const uint8_t *in, size_t in_len, uint8_t *out,
                              size_t out_cap, size_t *out_len)
{
    size_t dummy;
    if (!out_len) out_len = &dummy;
    if (oid >= CLOAK_FID_RESERVED || (in_len && !in) || (out_cap && !out)) return CLOAK_EINVAL;
    return runner_ocall(oid, in, in_len, out, out_cap, out_len);
}

void cloak_trusted_log(int level, const char *fmt, ...)
{
    uint8_t buf[4 + 2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf((char *)buf + 4, sizeof buf - 4, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof buf - 5 ? (size_t)n : sizeof buf - 5;
    cloak_put_u32le(buf, (uint32_t)level);
    size_t out_len;
    if (runner_ocall(OID_LOG, buf, 4 + len, NULL, 0, &out_len) == CLOAK_EUNSUPPORTED) {
        /* during cloak_enclave_init, before any ring: stderr is still the host's */
        dprintf(2, "[enclave init] %.*s\n", (int)len, (const char *)buf + 4);
    }
}

static cloak_err name_prefix(const char *name, uint8_t **msg, size_t extra, size_t *off)
{
    size_t nl = name ? strlen(name) : 0;
    if (nl == 0 || nl > 128) return CLOAK_EINVAL;
    *msg = malloc(2 + nl + extra);
    if (!*msg) return CLOAK_ENOMEM;
    cloak_put_u16le(*msg, (uint16_t)nl);
    memcpy(*msg + 2, name, nl);
    *off = 2 + nl;
    return CLOAK_OK;
}

cloak_err cloak_trusted_storage_put(const char *name, const uint8_t *p, size_t len)
{
    uint8_t *msg;
    size_t off, out_len;
    if (len && !p) return CLOAK_EINVAL;
    cloak_err rc = name_prefix(name, &msg, len, &off);
    if (rc) return rc;
    if (len) memcpy(msg + off, p, len);
    rc = runner_ocall(OID_STORAGE_PUT, msg, off + len, NULL, 0, &out_len);
    free(msg);
    return rc;
}

cloak_err cloak_trusted_storage_get(const char *name, uint8_t **out, size_t *len)
{
    uint8_t *msg, *buf = NULL;
    size_t off, cap = 1u << 20, got = 0;
    if (!out || !len) return CLOAK_EINVAL;
    cloak_err rc = name_prefix(name, &msg, 0, &off);
    if (rc) return rc;
    for (;;) {
        free(buf);
        buf = malloc(cap);
        if (!buf) {
            rc = CLOAK_ENOMEM;
            break;
        }
        rc = runner_ocall(OID_STORAGE_GET, msg, off, buf, cap, &got);
        if (rc != CLOAK_ERANGE || cap >= (1u << 30)) break;
        cap *= 4; /* larger than our buffer: ask again with more room (bounded by the ring) */
    }
    free(msg);
    if (rc) {
        free(buf);
        return rc;
    }
    /* copy into an exact-size buffer: the host told us its length, we keep only that much */
    uint8_t *exact = malloc(got ? got : 1);
    if (!exact) {
        free(buf);
        return CLOAK_ENOMEM;
    }
    memcpy(exact, buf, got);
    free(buf);
    *out = exact;
    *len = got;
    return CLOAK_OK;
}

cloak_err cloak_trusted_random(uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = getrandom(buf + off, len - off, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return CLOAK_EIO;
        off += (size_t)n;
    }
    return CLOAK_OK;
}

void cloak_trusted_identity(cloak_image_identity *id)
{
    if (id) *id = g_runner.id;
}

void cloak_trusted_allow_host_report_data(void)
{
    g_runner.allow_host_report_data = 1;
}

/* The report body the simulated CPU would produce for this enclave (SGX SDM, REPORT). */
static void build_report(const uint8_t report_data[CLOAK_REPORT_DATA_BYTES], cloak_sgx_report *r)
{
    memset(r, 0, sizeof *r);
    cloak_platform_cpusvn(g_runner.platform, r->cpusvn);
    r->attr_flags = CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_MODE64BIT;
    if (g_runner.id.debug) r->attr_flags |= CLOAK_SGX_FLAG_DEBUG;
    if (g_runner.has_config_id) r->attr_flags |= CLOAK_SGX_FLAG_KSS;
    r->attr_xfrm = 0x3; /* x87 | SSE */
    memcpy(r->mrenclave, g_runner.id.mrenclave, 32);
    memcpy(r->mrsigner, g_runner.id.mrsigner, 32);
    if (g_runner.has_config_id) memcpy(r->configid, g_runner.config_id, CLOAK_CONFIGID_BYTES);
    r->configsvn = g_runner.config_svn;
    r->isvprodid = g_runner.id.product_id;
    r->isvsvn = g_runner.id.svn;
    memcpy(r->reportdata, report_data, CLOAK_REPORT_DATA_BYTES);
}

cloak_err cloak_trusted_get_evidence(const uint8_t report_data[CLOAK_REPORT_DATA_BYTES],
                                     uint8_t **quote, size_t *quote_len)
{
    if (!report_data || !quote || !quote_len) return CLOAK_EINVAL;
    cloak_sgx_report r;
    uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES];
    build_report(report_data, &r);
    cloak_sgx_report_encode(&r, body);
    cloak_error why;
    cloak_err rc = cloak_platform_quote(g_runner.platform, body, quote, quote_len, &why);
    if (rc) return cloak_trusted_fail(rc, "quoting failed: %s", why.msg);
    return CLOAK_OK;
}
