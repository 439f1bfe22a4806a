/*
 * libFuzzer target for the RA-TLS evidence extension: a peer's certificate is untrusted input
 * that the TLS verify callback parses before any signature is checked. The input is a DER
 * certificate (d2i_X509, then cloak_ratls_evidence_get); input that is not a certificate is
 * parsed as a bare extension value (cloak_ratls_evidence_parse), so mutations also reach the
 * CBOR reader directly. Seeds in fuzz/corpus/fuzz_ratls_cert/: certificates made by cloak (with
 * and without a nonce) and by Gramine, the Intel SGX SDK and rats-tls, and their extension
 * values. No verification runs here.
 */
#include "cloak/ratls.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What an accepted extension must satisfy, whatever the input was. */
static void check(const cloak_ratls_evidence *e)
{
    size_t want = e->hash_alg == CLOAK_RATLS_HASH_SHA256   ? 32
                  : e->hash_alg == CLOAK_RATLS_HASH_SHA384 ? 48
                  : e->hash_alg == CLOAK_RATLS_HASH_SHA512 ? 64
                                                           : 0;
    if (e->tag != CLOAK_RATLS_CBOR_TAG_INTEL_QUOTE || !e->evidence || !e->evidence_len ||
        !e->claims || !e->claims_len || !want || e->pubkey_hash_len != want ||
        (!e->nonce && e->nonce_len))
        abort();
    /* touch every byte so ASan sees any out-of-bounds copy */
    volatile uint8_t x = 0;
    for (size_t i = 0; i < e->evidence_len; i++)
        x ^= e->evidence[i];
    for (size_t i = 0; i < e->claims_len; i++)
        x ^= e->claims[i];
    for (size_t i = 0; i < e->nonce_len; i++)
        x ^= e->nonce[i];
    (void)x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cloak_ratls_evidence e;
    cloak_error why;
    memset(&why, 0, sizeof why);
    const uint8_t *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)size);
    cloak_err rc = x ? cloak_ratls_evidence_get(x, &e, &why)
                     : cloak_ratls_evidence_parse(data, size, &e, &why);
    if (rc == CLOAK_OK) {
        check(&e);
        cloak_ratls_evidence_clear(&e);
    } else if (!why.msg[0]) {
        abort(); /* every refusal says why */
    }
    X509_free(x);
    ERR_clear_error();
    return 0;
}
