/* libFuzzer target: the Secure Key Release policy parser and evaluator (src/vault/skr.c). The
 * input is a policy document; when it parses, it is evaluated against a fixed SGX claim set
 * (nested objects for dotted paths, numbers, reals, booleans, an x-ms-runtime JWKS) under two
 * issuers, and the evaluation must leave the claims unchanged. The same bytes are also tried as
 * the "data" of a release_policy envelope (base64url), which parses them again. */
#include "vault/skr.h"

#include "cloak/jose.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char claims_json[] =
    "{\"iss\":\"https://maa.example\",\"x-ms-attestation-type\":\"sgx\","
    "\"x-ms-sgx-is-debuggable\":false,\"x-ms-sgx-mrsigner\":\"9fa4\",\"x-ms-sgx-product-id\":1,"
    "\"x-ms-sgx-svn\":2,\"x-ms-ver\":\"1.0\",\"ratio\":2.5,\"nul\":null,"
    "\"x-ms-isolation-tee\":{\"x-ms-attestation-type\":\"sevsnpvm\",\"x-ms-sevsnpvm-guestsvn\":3,"
    "\"deep\":{\"a\":{\"b\":true}}},"
    "\"x-ms-runtime\":{\"keys\":[{\"kid\":\"k\",\"kty\":\"RSA\",\"key_ops\":[\"encrypt\"]}]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *claims, *before;
    if (!claims) {
        claims = json_loads(claims_json, 0, NULL);
        before = json_deep_copy(claims);
        if (!claims || !before) abort();
    }
    cloak_skr_policy *p = NULL;
    cloak_error why = {0};
    if (cloak_skr_policy_parse(data, size, &p, &why) == CLOAK_OK) {
        if (cloak_skr_policy_eval(p, "https://maa.example/", claims, &why) != CLOAK_OK &&
            why.code != CLOAK_EPERM)
            abort(); /* a parsed policy is either satisfied or refused by policy */
        (void)cloak_skr_policy_eval(p, NULL, claims, &why);
        cloak_skr_policy_free(p);
    }
    if (!json_equal(claims, before)) abort(); /* evaluation must not mutate its input */
    if (size < 4096) {
        char *b64 = cloak_base64url_encode(data, size);
        json_t *env = b64 ? json_pack("{s:s,s:s,s:b}", "contentType", "application/json", "data",
                                      b64, "immutable", 1)
                          : NULL;
        uint8_t *doc = NULL;
        size_t len = 0;
        int imm = 0;
        if (env && cloak_skr_envelope_decode(env, &doc, &len, &imm, &why) == CLOAK_OK) {
            if (len != size || memcmp(doc, data, size) || !imm) abort();
            free(doc);
        }
        json_decref(env);
        free(b64);
    }
    return 0;
}
