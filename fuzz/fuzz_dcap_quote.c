/*
 * libFuzzer target for the DCAP quote parser and verifier (dcap_show, dcap_verify): quotes are
 * untrusted input from any client. Seeds in fuzz/corpus/fuzz_dcap_quote/ are real SGX v3, TDX
 * v4 and TDX v5 quotes from shared/vectors/attestation, so mutations start past the header
 * checks and reach the signature data, the PEM chain, the chain verification and the PCK
 * extension decoder. The trust is built once; the time is inside the seeds' chain validity.
 * Invariants: a failure fills a message and leaves the out-parameter alone; a success is an
 * object with "tee".
 */
#include "evidence/evidence_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TIME ((time_t)1772323200) /* 2026-03-01: inside every seed's PCK chain validity */

static cloak_trust *trust(void)
{
    static cloak_trust *t;
    if (!t && cloak_trust_new(0, NULL, &t, NULL) != CLOAK_OK) abort();
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cloak_error why;
    json_t *out = NULL;
    memset(&why, 0, sizeof why);
    if (dcap_show(data, size, &out, &why) == CLOAK_OK) {
        if (!json_is_object(out) || !json_object_get(out, "tee")) abort();
        json_decref(out);
        out = NULL;
    } else if (out != NULL || why.msg[0] == 0) {
        abort();
    }
    cloak_verify_opts o;
    memset(&o, 0, sizeof o);
    o.trust = trust();
    o.at = FUZZ_TIME;
    memset(&why, 0, sizeof why);
    if (dcap_verify(data, size, &o, &out, &why) == CLOAK_OK) {
        if (!json_is_object(out) || !json_object_get(out, "tee")) abort();
        json_decref(out);
    } else if (out != NULL || why.msg[0] == 0) {
        abort();
    }
    return 0;
}
