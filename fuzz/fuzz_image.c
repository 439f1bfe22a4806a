/*
 * libFuzzer target for cloak_image_open: signed enclave images are untrusted input (a host
 * may hand any bytes to the loader). Seeds in fuzz/corpus/fuzz_image/ are small real images
 * signed by `cloak enclave sign`, so mutations reach every structural check and the RSA
 * verification; past it, an accepted image must satisfy the format's invariants.
 */
#include "cloak/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cloak_image *img = NULL;
    cloak_error why;
    memset(&why, 0, sizeof why);
    cloak_err rc = cloak_image_open(data, size, &img, &why);
    if (rc == CLOAK_OK) {
        const cloak_image_identity *id = cloak_image_id(img);
        const uint8_t *code = NULL;
        size_t len = 0;
        cloak_image_code(img, &code, &len);
        uint8_t m[CLOAK_MEASUREMENT_BYTES];
        cloak_image_measure(code, len, id->heap, m);
        /* An accepted image: exact length, ELF code, measurement and heap as declared. */
        if (len + CLOAK_IMAGE_HEADER_BYTES + CLOAK_IMAGE_MANIFEST_BYTES + CLOAK_IMAGE_SIG_BYTES !=
                size ||
            len < 4 ||
            memcmp(code,
                   "\x7f"
                   "ELF",
                   4) != 0 ||
            memcmp(m, id->mrenclave, sizeof m) != 0 || id->heap == 0 ||
            id->heap > CLOAK_IMAGE_MAX_HEAP || (id->debug != 0 && id->debug != 1))
            abort();
        cloak_image_free(img);
    } else if (img != NULL || why.msg[0] == 0) {
        abort(); /* out-param written on failure, or a failure with no message */
    }
    return 0;
}
