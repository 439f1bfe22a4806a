/*
 * MAA's default policies: what a tenant gets before it uploads its own (and after
 * POST /policies/{type}:reset). Only policies Microsoft publishes are reproduced here.
 *
 * SgxEnclave: MicrosoftDocs/azure-docs articles/attestation/policy-examples.md, "Default policy
 *   for an SGX enclave" (the 2022-11 revision, ms.date 11/14/2022: version 1.1 with an
 *   x-ms-sgx-tcbidentifier configuration rule and the deprecated-but-supported legacy claim
 *   names is-debuggable, sgx-mrsigner, sgx-mrenclave, product-id, svn, tee). Older revisions of
 *   the same page and Get-AzAttestationPolicy's example show a 1.0 policy over "$is-debuggable"
 *   style claim types; that one is kept as maa_default_policy("SgxEnclave-legacy") because the
 *   signed-policy examples in the docs embed it.
 * OpenEnclave, SevSnpVm, TdxVm: no default policy text is published in the Azure docs we could
 *   find (policy-examples.md documents SGX only and says "There is no default policy for VBS
 *   enclave"; the TDX EAT profile and the SNP claim sets list claims, not a policy). We return
 *   NULL rather than invent one; the service must make the tenant upload a policy for them.
 */
#include "attest/maa_policy.h"

#include <string.h>

static const char sgx_default[] =
    "version= 1.1;\n"
    "configurationrules{\n"
    "\t=> issueproperty(type=\"x-ms-sgx-tcbidentifier\", value=\"azuredefault\");\n"
    "};\n"
    "authorizationrules{\n"
    "\t=> permit();\n"
    "};\n"
    "issuancerules{\n"
    "\tc:[type==\"x-ms-sgx-is-debuggable\"] => issue(type=\"is-debuggable\", value=c.value);\n"
    "\tc:[type==\"x-ms-sgx-mrsigner\"] => issue(type=\"sgx-mrsigner\", value=c.value);\n"
    "\tc:[type==\"x-ms-sgx-mrenclave\"] => issue(type=\"sgx-mrenclave\", value=c.value);\n"
    "\tc:[type==\"x-ms-sgx-product-id\"] => issue(type=\"product-id\", value=c.value);\n"
    "\tc:[type==\"x-ms-sgx-svn\"] => issue(type=\"svn\", value=c.value);\n"
    "\tc:[type==\"x-ms-attestation-type\"] => issue(type=\"tee\", value=c.value);\n"
    "};\n";

static const char sgx_legacy[] =
    "version= 1.0;\n"
    "authorizationrules{\n"
    "\tc:[type==\"$is-debuggable\"] => permit();\n"
    "};\n"
    "issuancerules{\n"
    "\tc:[type==\"$is-debuggable\"] => issue(type=\"is-debuggable\", value=c.value);\n"
    "\tc:[type==\"$sgx-mrsigner\"] => issue(type=\"sgx-mrsigner\", value=c.value);\n"
    "\tc:[type==\"$sgx-mrenclave\"] => issue(type=\"sgx-mrenclave\", value=c.value);\n"
    "\tc:[type==\"$product-id\"] => issue(type=\"product-id\", value=c.value);\n"
    "\tc:[type==\"$svn\"] => issue(type=\"svn\", value=c.value);\n"
    "\tc:[type==\"$tee\"] => issue(type=\"tee\", value=c.value);\n"
    "};\n";

const char *maa_default_policy(const char *attestation_type)
{
    if (!attestation_type) return NULL;
    if (!strcmp(attestation_type, "SgxEnclave")) return sgx_default;
    if (!strcmp(attestation_type, "SgxEnclave-legacy")) return sgx_legacy;
    return NULL; /* OpenEnclave, SevSnpVm, TdxVm: not published, see above */
}
