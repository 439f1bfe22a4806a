/* The hello enclave: plain C functions; the generated hello_t.c does all the marshalling. */
#include "hello_t.h"

#include "cloak/trusted.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ecall_process(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
    if (in_len != out_len) return -1;
    for (size_t i = 0; i < in_len; i++)
        out[i] = (in[i] >= 'a' && in[i] <= 'z') ? (uint8_t)(in[i] - 32) : in[i];
    char msg[96];
    snprintf(msg, sizeof msg, "hello from inside the enclave: processed %zu bytes", in_len);
    if (ocall_print(msg)) return -2; /* the host prints it; nothing secret crosses */
    return 0;
}

int ecall_seal(const char *secret, uint8_t *blob, size_t cap, size_t *blob_len)
{
    uint8_t *b;
    size_t n;
    if (cloak_trusted_seal(CLOAK_SEAL_MRSIGNER, NULL, 0, (const uint8_t *)secret, strlen(secret),
                           &b, &n))
        return -1;
    if (n > cap) {
        free(b);
        return -2;
    }
    memcpy(blob, b, n);
    *blob_len = n;
    free(b);
    return 0;
}

int ecall_unseal(const uint8_t *blob, size_t blob_len, uint8_t *secret, size_t cap, size_t *len)
{
    uint8_t *p;
    size_t n;
    if (cloak_trusted_unseal(blob, blob_len, &p, &n, NULL, NULL)) return -1;
    if (n > cap) {
        cloak_free_secret(p, n);
        return -2;
    }
    memcpy(secret, p, n);
    *len = n;
    cloak_free_secret(p, n);
    return 0;
}

cloak_err cloak_enclave_init(void)
{
    /* The demo lets `cloak enclave quote --report-data` choose report data. An enclave that
     * binds its own keys into report data must not do this. */
    cloak_trusted_allow_host_report_data();
    return hello_register_ecalls();
}
