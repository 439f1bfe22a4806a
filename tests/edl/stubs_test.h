/* State shared by the end-to-end test's host half (test_edl_stubs.c) and enclave half
 * (edl_stubs_enclave.c). In a real build they are two programs; here the enclave half
 * records what its functions received so the host half can check it. */
#ifndef EDL_STUBS_TEST_H
#define EDL_STUBS_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cloak/base.h"

typedef struct {
    int calls;           /* enclave functions run so far */
    const void *ptrs[8]; /* pointers the last enclave function received */
    size_t nptrs;
    /* ecall_types' arguments as received */
    int8_t a;
    uint8_t b;
    int16_t c;
    uint16_t d;
    int32_t e;
    uint32_t f;
    int64_t g;
    uint64_t h;
    int i;
    unsigned j, k;
    long l;
    unsigned long m;
    size_t n;
    bool o;
    /* ecall_greet */
    char name[64];
    int name_was_null;
    /* ecall_call_host: what each ocall stub returned, in order print, fetch, scale, void */
    cloak_err ocall_rc[4];
    int fetch_retval;
    uint32_t scale_retval;
    uint32_t scaled[3];
} enclave_seen;

extern enclave_seen seen;

#endif
