/* libFuzzer target: MAA policy parser and evaluator. The input is policy text; when it parses,
 * it is evaluated over a fixed claim set (SGX claims plus a JSON x-ms-runtime), and the
 * evaluation must leave the claims unchanged. JMESPath queries reach maa_jmespath.c through
 * JmesPath() calls in the policy text. */
#include "attest/maa_policy.h"

#include <stdint.h>
#include <stdlib.h>

static const char claims_json[] =
    "[{\"type\":\"x-ms-sgx-is-debuggable\",\"value\":false,\"issuer\":\"AttestationService\"},"
    "{\"type\":\"x-ms-sgx-mrsigner\",\"value\":\"aa\",\"issuer\":\"AttestationService\"},"
    "{\"type\":\"x-ms-sgx-product-id\",\"value\":1,\"issuer\":\"AttestationService\"},"
    "{\"type\":\"x-ms-sgx-svn\",\"value\":2,\"issuer\":\"AttestationService\"},"
    "{\"type\":\"events\",\"value\":\"{\\\"Events\\\":[{\\\"PcrIndex\\\":12,\\\"EventSeq\\\":3},{"
    "\\\"PcrIndex\\\":13}]}\","
    "\"issuer\":\"AttestationService\"},"
    "{\"type\":\"x-ms-runtime\",\"value\":{\"keys\":[{\"kid\":\"k\",\"kty\":\"RSA\"}],\"n\":[1,2,3]"
    "},"
    "\"issuer\":\"AttestationService\"}]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *claims, *before;
    if (!claims) {
        claims = json_loads(claims_json, 0, NULL);
        before = json_deep_copy(claims);
        if (!claims || !before) abort();
    }
    maa_policy *p = NULL;
    cloak_error why = {0};
    if (maa_policy_parse((const char *)data, size, &p, &why) != CLOAK_OK) return 0;
    maa_result r = {0};
    if (maa_policy_eval(p, claims, &r, &why) == CLOAK_OK) maa_result_free(&r);
    if (!json_equal(claims, before)) abort(); /* evaluation must not mutate its input */
    maa_policy_free(p);
    return 0;
}
