/*
 * vault skr: Secure Key Release policies (Azure Key Vault's key release policy grammar,
 * version 1.0.0) and the key-encryption key a release wraps for.
 *
 *   {"version":"1.0.0","anyOf":[{"authority":"https://maa.example","allOf":[
 *      {"claim":"x-ms-sgx-mrsigner","equals":"9fa4..."},{"claim":"x-ms-sgx-svn","greaterOrEquals":2},
 *      {"anyOf":[{"claim":"x-ms-attestation-type","equals":"sevsnpvm"}, ...]}]}]}
 *
 * The top level holds anyOf or allOf of authority blocks; an authority block (and any nested
 * block) holds allOf or anyOf, never both; they nest. A condition is {"claim": dotted.path,
 * OP: value} with OP one of equals, notEquals, less, lessOrEquals, greater, greaterOrEquals,
 * exists; values are strings, numbers or booleans (no objects, no arrays). The legacy form
 * {"claim","condition":"equals","value"} is accepted too. A missing claim fails every operator
 * (exists: false fails, too, when present). authority is compared with the token's iss with one
 * trailing '/' removed from both.
 *
 * Decided here (src/vault/skr.c says why): less/lessOrEquals/greater/greaterOrEquals take numbers
 * only -- a string or boolean value is refused at parse time, a non-number claim fails the
 * condition; numbers compare numerically (2 == 2.0); strings exactly (case-sensitive); a claim
 * of another JSON type than the value fails equals and notEquals alike; exists takes true or
 * false and exists:false never holds; empty anyOf/allOf arrays are refused.
 *
 * Trust: the policy comes from an authorised caller but is still parsed defensively (fuzz/
 * fuzz_skr_policy.c); the claims come from a token already verified by the caller.
 */
#ifndef CLOAK_VAULT_SKR_H
#define CLOAK_VAULT_SKR_H

#include "cloak/base.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cloak_skr_policy cloak_skr_policy;

/* Parse and validate a policy document. CLOAK_EINVAL with the JSON path of the offending part
 * ("anyOf[0].allOf[2]: unknown operator \"equal\"") for anything outside the grammar,
 * including an unknown version. */
cloak_err cloak_skr_policy_parse(const uint8_t *json, size_t len, cloak_skr_policy **out,
                                 cloak_error *why) CLOAK_MUST_CHECK;
void cloak_skr_policy_free(cloak_skr_policy *p);

/* Evaluate against a verified token's issuer and claims. CLOAK_OK when satisfied; else
 * CLOAK_EPERM with a message naming why (the authority that did not match, or the first
 * failing condition with the token's value, e.g. "x-ms-sgx-is-debuggable equals false: the
 * token has true"). */
cloak_err cloak_skr_policy_eval(const cloak_skr_policy *p, const char *iss, const json_t *claims,
                                cloak_error *why) CLOAK_MUST_CHECK;

/* The Key Vault envelope {"contentType":..., "data": base64url(policy JSON), "immutable": bool}:
 * decode data (base64url or standard base64), parse it as above. *json is malloc'd (the
 * decoded document). contentType, when present, must be application/json (parameters such as
 * charset allowed). */
cloak_err cloak_skr_envelope_decode(const json_t *release_policy, uint8_t **json, size_t *len,
                                    int *immutable, cloak_error *why) CLOAK_MUST_CHECK;

/* The key-encryption key of a release: the first key in claims["x-ms-runtime"]["keys"] that is
 * kty RSA, has a kid, and has "encrypt" in key_ops (or use "enc"). *kek is its public key, *kid
 * a malloc'd copy of its kid. CLOAK_EINVAL naming what is missing (no x-ms-runtime, no keys,
 * no suitable key, a key under 2048 bits). */
cloak_err cloak_skr_pick_kek(const json_t *claims, EVP_PKEY **kek, char **kid,
                             cloak_error *why) CLOAK_MUST_CHECK;

#endif
