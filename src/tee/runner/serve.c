/* Serving a client ring inside the enclave: copy each request out of shared memory, dispatch
 * it, copy the result back. Also the enclave's side of ocalls. */
#include "tee/runner/runner.h"
#include "tee/spin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest the enclave spins for the next request (or an ocall's answer) before it sleeps;
 * it spins only while they have been arriving quickly (tee/spin.h). Between HTTP requests the
 * next call is typically hundreds of microseconds away, so a loaded service sleeps at once
 * instead of burning the core its host needs; a burst of calls keeps it hot. */
#define ENC_SPIN_NS 50000ull
#define ENC_SLICE_MS 100u

static __thread worker *cur; /* the ring this thread serves */
static __thread spin_hist next_spin, ocall_spin;
static __thread char fail_msg[CLOAK_ERROR_MAX];

char *runner_fail_msg(void)
{
    return fail_msg;
}

static int should_stop(void *p)
{
    worker *w = p;
    return atomic_load(&w->stop) || atomic_load(&w->ring.hdr->closing) ? 1 : 0;
}

/* Wait for the next request and copy it into w->req. Returns its length, or -1 to stop. */
static long next_request(worker *w, uint32_t seen)
{
    if (spin_wait(&next_spin, ENC_SPIN_NS, &w->ring.hdr->req_seq, &w->ring.hdr->enc_waiting, seen,
                  ENC_SLICE_MS, should_stop, w))
        return -1;
    uint64_t n = atomic_load_explicit(&w->ring.hdr->req_len, memory_order_relaxed);
    if (n > w->ring.cap) n = w->ring.cap; /* hostile length: bound it, parsing rejects the rest */
    memcpy(w->req, w->ring.req, n);
    return (long)n;
}

static void respond(worker *w, size_t len)
{
    memcpy(w->ring.resp, w->resp, len);
    ch_post_resp(&w->ring, len);
}

/* Run one call. `out` has out_cap bytes. Returns rc; *out_len set on success. */
static cloak_err run_call(uint32_t fid, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t out_cap, size_t *out_len);

cloak_err runner_ocall(uint32_t oid, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    worker *w = cur;
    *out_len = 0;
    if (!w) return CLOAK_EUNSUPPORTED; /* no host is listening (during cloak_enclave_init) */
    if (in_len > w->ring.cap - RMSG_HDR_BYTES || out_cap > w->ring.cap) return CLOAK_ERANGE;
    uint8_t *m = w->ring.resp;
    cloak_put_u32le(m, RMSG_OCALL);
    cloak_put_u32le(m + 4, oid);
    cloak_put_u64le(m + 8, out_cap);
    cloak_put_u64le(m + 16, in_len);
    if (in_len) memcpy(m + RMSG_HDR_BYTES, in, in_len);
    uint32_t seen = atomic_load(&w->ring.hdr->req_seq);
    ch_post_resp(&w->ring, RMSG_HDR_BYTES + in_len);
    /* The reply lands in the request buffer; the call's own request was already copied to
     * w->req, so reading the reply into a separate private buffer keeps both intact. */
    if (spin_wait(&ocall_spin, ENC_SPIN_NS, &w->ring.hdr->req_seq, &w->ring.hdr->enc_waiting, seen,
                  ENC_SLICE_MS, should_stop, w))
        return CLOAK_EIO;
    uint64_t n = atomic_load_explicit(&w->ring.hdr->req_len, memory_order_relaxed);
    if (n < 16 || n > w->ring.cap) return CLOAK_EIO;
    uint8_t hdr[16];
    memcpy(hdr, w->ring.req, 16);
    uint32_t type = cloak_get_u32le(hdr), rc = cloak_get_u32le(hdr + 4);
    uint64_t len = cloak_get_u64le(hdr + 8);
    if (type != RMSG_OCALL_RET || len > n - 16) return CLOAK_EIO;
    if (rc) return rc > CLOAK_EINTERNAL ? CLOAK_EIO : (cloak_err)rc;
    if (len > out_cap) return CLOAK_ERANGE; /* the host may not return more than we asked */
    if (len) memcpy(out, w->ring.req + 16, len);
    *out_len = len;
    return CLOAK_OK;
}

static cloak_err builtin_quote(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                               size_t *out_len)
{
    if (in_len != CLOAK_REPORT_DATA_BYTES)
        return cloak_trusted_fail(CLOAK_EINVAL, "report data must be 64 bytes");
    int zero = 1;
    for (size_t i = 0; i < in_len; i++)
        zero &= in[i] == 0;
    if (!zero && !g_runner.allow_host_report_data)
        return cloak_trusted_fail(CLOAK_EPERM,
                                  "this enclave does not let its host choose report data (it "
                                  "binds its own keys there); ask the enclave for its evidence");
    uint8_t *q = NULL;
    size_t qlen = 0;
    cloak_err rc = cloak_trusted_get_evidence(in, &q, &qlen);
    if (rc) return rc;
    if (qlen > out_cap) {
        free(q);
        return cloak_trusted_fail(CLOAK_ERANGE, "quote of %zu bytes does not fit %zu", qlen,
                                  out_cap);
    }
    memcpy(out, q, qlen);
    *out_len = qlen;
    free(q);
    return CLOAK_OK;
}

static cloak_err run_call(uint32_t fid, const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t out_cap, size_t *out_len)
{
    fail_msg[0] = 0;
    *out_len = 0;
    if (fid == FID_GET_QUOTE) return builtin_quote(in, in_len, out, out_cap, out_len);
    cloak_ecall_fn fn = runner_handler(fid);
    if (!fn)
        return cloak_trusted_fail(CLOAK_ENOTFOUND, "the enclave has no function with id %u", fid);
    cloak_err rc = fn(in, in_len, out, out_cap, out_len);
    if (!rc && *out_len > out_cap) /* a handler bug: never hand out more than the buffer */
        return cloak_trusted_fail(CLOAK_EINTERNAL, "function %u overran its output buffer", fid);
    if (rc && (unsigned)rc > CLOAK_EINTERNAL) rc = CLOAK_EINTERNAL;
    return rc;
}

/* Write an error result (message from cloak_trusted_fail, or a generic one). */
static size_t put_error(uint8_t *p, size_t cap, cloak_err rc)
{
    const char *msg = fail_msg[0] ? fail_msg : cloak_err_name(rc);
    size_t l = strlen(msg);
    if (l > cap) l = cap;
    memcpy(p, msg, l);
    return l;
}

static size_t handle_call(worker *w, size_t n)
{
    uint8_t *o = w->resp;
    size_t cap = w->ring.cap;
    cloak_put_u32le(o, RMSG_RESULT);
    if (n < RMSG_HDR_BYTES) goto malformed;
    uint32_t fid = cloak_get_u32le(w->req + 4);
    uint64_t out_cap = cloak_get_u64le(w->req + 8), in_len = cloak_get_u64le(w->req + 16);
    if (in_len > n - RMSG_HDR_BYTES) goto malformed;
    if (out_cap > cap - 16) out_cap = cap - 16;
    size_t out_len = 0;
    cloak_err rc = run_call(fid, w->req + RMSG_HDR_BYTES, in_len, o + 16, out_cap, &out_len);
    if (rc) out_len = put_error(o + 16, cap - 16, rc);
    cloak_put_u32le(o + 4, rc);
    cloak_put_u64le(o + 8, out_len);
    return 16 + out_len;
malformed:
    cloak_put_u32le(o + 4, CLOAK_EINVAL);
    fail_msg[0] = 0;
    size_t l = put_error(o + 16, cap - 16, CLOAK_EINVAL);
    cloak_put_u64le(o + 8, l);
    return 16 + l;
}

static size_t handle_batch(worker *w, size_t n)
{
    uint8_t *o = w->resp;
    size_t cap = w->ring.cap, in_off = 8, out_off = 8;
    if (n < 8) return handle_call(w, 0);
    uint32_t count = cloak_get_u32le(w->req + 4);
    cloak_put_u32le(o, RMSG_BATCH_RES);
    cloak_put_u32le(o + 4, count);
    for (uint32_t i = 0; i < count; i++) {
        if (n - in_off < 24 || cap - out_off < 16) return handle_call(w, 0);
        uint32_t fid = cloak_get_u32le(w->req + in_off);
        uint64_t out_cap = cloak_get_u64le(w->req + in_off + 8);
        uint64_t in_len = cloak_get_u64le(w->req + in_off + 16);
        if (in_len > n - in_off - 24) return handle_call(w, 0);
        if (out_cap > cap - out_off - 16) out_cap = cap - out_off - 16;
        size_t out_len = 0;
        cloak_err rc =
            run_call(fid, w->req + in_off + 24, in_len, o + out_off + 16, out_cap, &out_len);
        if (rc) out_len = 0; /* per-call messages are not carried in batches; codes are */
        cloak_put_u32le(o + out_off, rc);
        cloak_put_u32le(o + out_off + 4, 0);
        cloak_put_u64le(o + out_off + 8, out_len);
        in_off += 24 + in_len;
        out_off += 16 + out_len;
    }
    return out_off;
}

size_t runner_handle(worker *w, size_t n)
{
    uint32_t type = n >= 4 ? cloak_get_u32le(w->req) : 0;
    if (type == RMSG_BATCH) return handle_batch(w, n);
    if (type == RMSG_CALL) return handle_call(w, n);
    return handle_call(w, 0); /* malformed: answer with an error, keep serving */
}

void *runner_serve(void *arg)
{
    worker *w = arg;
    cur = w;
    /* read before ATTACHED was sent: the host may post its first request before we run */
    uint32_t seen = w->seen;
    for (;;) {
        long n = next_request(w, seen);
        if (n < 0) break;
        size_t len = runner_handle(w, (size_t)n);
        /* Ocall answers moved req_seq; take it before responding: the host posts the next
         * request only after it sees our response. */
        seen = atomic_load(&w->ring.hdr->req_seq);
        respond(w, len);
    }
    cur = NULL;
    return NULL;
}
