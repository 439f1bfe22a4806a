/* Placeholder until the SEV-SNP verifier lands (owned by the SNP engineer). */
#include "evidence/evidence_int.h"

cloak_err snp_verify(const uint8_t *p, size_t len, const cloak_verify_opts *o, json_t **claims,
                     cloak_error *why)
{
    return cloak_error_set(why, CLOAK_EUNSUPPORTED, "SEV-SNP verification is not implemented yet");
}

cloak_err snp_show(const uint8_t *p, size_t len, json_t **fields, cloak_error *why)
{
    return cloak_error_set(why, CLOAK_EUNSUPPORTED, "SEV-SNP parsing is not implemented yet");
}
