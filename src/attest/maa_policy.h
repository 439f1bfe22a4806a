/*
 * Microsoft Azure Attestation (MAA) policy language, versions 1.0, 1.1 and 1.2: a parser, an
 * evaluator and MAA's documented default policies. The attestation service feeds the claims it
 * derived from verified evidence through the tenant's policy and signs what comes out.
 *
 * Sources (MicrosoftDocs/azure-docs, articles/attestation/): claim-rule-grammar.md ("Claim",
 * "Claim Rule"), policy-version-1-0/1-1/1-2.md, claim-rule-functions.md (1.2 functions and the
 * "!" operator), author-sign-policy.md ("Drafting the policy file"), policy-examples.md.
 * docs/MAA-POLICY.md lists exactly what is and is not supported.
 *
 * Trust: the policy text comes from a tenant administrator and the claims from evidence; both
 * are untrusted input. Parsing is all-or-nothing (no policy object unless the whole text is
 * valid); evaluation never modifies the policy or the incoming claims and writes its result
 * only on success. Thread-safety: a parsed policy is immutable and may be evaluated from many
 * threads at once; results belong to their caller.
 *
 * Claims are jansson objects {"type": str, "value": any JSON, "issuer": str?, "valueType": str?}.
 * A missing issuer means "CustomClaim" (claim-rule-grammar.md, "Claim"); a missing valueType is
 * derived from the JSON type of the value (Integer, Boolean, otherwise String).
 */
#ifndef CLOAK_ATTEST_MAA_POLICY_H
#define CLOAK_ATTEST_MAA_POLICY_H

#include <stddef.h>

#include <jansson.h>

#include "cloak/base.h"

#define MAA_POLICY_MAX_LEN (256u * 1024u) /* longer policy text is refused */

typedef struct maa_policy maa_policy;

typedef enum { MAA_VERSION_1_0 = 10, MAA_VERSION_1_1 = 11, MAA_VERSION_1_2 = 12 } maa_version;

/* What one evaluation produced. */
typedef struct {
    int permitted;      /* 1: a permit() ran first; 0: deny() ran first, or no decision */
    json_t *issued;     /* array of claims for the token (issue actions), in rule order */
    json_t *properties; /* object: issueproperty(type, value) from issuancerules */
    json_t *config;     /* object: issueproperty settings from configurationrules (1.1+) */
} maa_result;

/* Parse policy text (UTF-8, not NUL-terminated). On error `why` reads
 * "line 4, column 17: expected '=>' after the condition" and *out is untouched. */
cloak_err maa_policy_parse(const char *text, size_t len, maa_policy **out,
                           cloak_error *why) CLOAK_MUST_CHECK;
void maa_policy_free(maa_policy *p);
maa_version maa_policy_version(const maa_policy *p);

/* Run the policy over `claims` (a JSON array of claim objects). `claims` is not modified.
 * Fails (CLOAK_EINVAL) for malformed claims and for run-time errors the docs call errors
 * (e.g. JsonToClaimValue on a JSON object); *out is then untouched. */
cloak_err maa_policy_eval(const maa_policy *p, const json_t *claims, maa_result *out,
                          cloak_error *why) CLOAK_MUST_CHECK;
void maa_result_free(maa_result *r);

/* MAA's documented default policy text for an attestation type ("SgxEnclave", "OpenEnclave",
 * "SevSnpVm", "TdxVm"), or NULL when Microsoft does not document one (see the .c file). */
const char *maa_default_policy(const char *attestation_type);

/* JMESPath subset used by the 1.2 JmesPath() function (maa_jmespath.c). Evaluates `expr`
 * over `data`; *out is a new reference (JSON null when nothing matched). */
cloak_err maa_jmespath_search(const char *expr, const json_t *data, json_t **out,
                              cloak_error *why) CLOAK_MUST_CHECK;

#endif
