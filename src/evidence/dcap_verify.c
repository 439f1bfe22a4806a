/* Placeholder until the DCAP verifier lands (owned by the DCAP engineer). */
#include "evidence/evidence_int.h"

cloak_err dcap_verify(const uint8_t *p, size_t len, const cloak_verify_opts *o, json_t **claims,
                      cloak_error *why)
{
    return cloak_error_set(why, CLOAK_EUNSUPPORTED, "DCAP verification is not implemented yet");
}

cloak_err dcap_show(const uint8_t *p, size_t len, json_t **fields, cloak_error *why)
{
    return cloak_error_set(why, CLOAK_EUNSUPPORTED, "DCAP parsing is not implemented yet");
}
