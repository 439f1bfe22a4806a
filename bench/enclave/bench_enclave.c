/* The benchmark enclave: an empty function and an echo. */
#include "cloak/trusted.h"

#include <string.h>

static cloak_err empty(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len)
{
    *out_len = 0;
    return CLOAK_OK;
}

static cloak_err echo(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                      size_t *out_len)
{
    if (in_len > out_cap) return CLOAK_ERANGE;
    memcpy(out, in, in_len);
    *out_len = in_len;
    return CLOAK_OK;
}

cloak_err cloak_enclave_init(void)
{
    cloak_err rc = cloak_trusted_register(1, empty);
    return rc ? rc : cloak_trusted_register(2, echo);
}
