/* libFuzzer: sealed blobs come back from untrusted storage; unseal must refuse anything it did
 * not make, with an error, never a crash or a partial result. */
#include "tee/runner/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

runner_state g_runner;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        char dir[] = "/tmp/cloak-fuzz-platform-XXXXXX";
        cloak_error why;
        if (!mkdtemp(dir) || cloak_platform_open(dir, &g_runner.platform, &why)) abort();
        memset(g_runner.id.mrenclave, 0x11, 32);
        memset(g_runner.id.mrsigner, 0x22, 32);
        g_runner.id.product_id = 1;
        g_runner.id.svn = 2;
        init = 1;
    }
    uint8_t *pt = NULL, *aad = NULL;
    size_t pt_len = 0, aad_len = 0;
    cloak_err rc = cloak_trusted_unseal(data, size, &pt, &pt_len, &aad, &aad_len);
    if (rc == CLOAK_OK) {
        /* only a blob made by seal can authenticate; the fuzzer cannot forge GCM */
        free(pt);
        free(aad);
        abort();
    }
    if (pt || aad) abort();
    return 0;
}
