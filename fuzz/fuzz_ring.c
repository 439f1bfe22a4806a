/* libFuzzer: a hostile host's ring messages (CALL, BATCH, garbage) into the enclave's request
 * handler. It must answer every input with a well-formed response inside the ring. */
#include "tee/runner/runner.h"

#include <stdlib.h>
#include <string.h>

runner_state g_runner;

static cloak_err echo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len)
{
    if (in_len > out_cap) return cloak_trusted_fail(CLOAK_ERANGE, "too large");
    memcpy(out, in, in_len);
    *out_len = in_len;
    return CLOAK_OK;
}

static cloak_err fill(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len)
{
    memset(out, 0xab, out_cap);
    *out_len = out_cap;
    return CLOAK_OK;
}

#define CAP 8192u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static worker w;
    static int init;
    if (!init) {
        if (cloak_trusted_register(1, echo) || cloak_trusted_register(2, fill) ||
            cloak_trusted_register(5000, echo))
            abort();
        runner_seal_registrations();
        w.ring.cap = CAP;
        w.req = malloc(CAP);
        w.resp = malloc(CAP);
        init = 1;
    }
    if (size > CAP) size = CAP;
    memcpy(w.req, data, size);
    size_t n = runner_handle(&w, size);
    if (n < 8 || n > CAP) abort(); /* an empty batch result is 8 bytes */
    uint32_t type = cloak_get_u32le(w.resp);
    if (type != RMSG_RESULT && type != RMSG_BATCH_RES) abort();
    return 0;
}
