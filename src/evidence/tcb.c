/* Placeholder until TCB evaluation lands (owned by the collateral engineer). */
#include "evidence/evidence_int.h"

void dcap_tcb_result_clear(dcap_tcb_result *r)
{
    json_decref(r->advisory_ids);
    r->advisory_ids = NULL;
}

cloak_err dcap_tcb_evaluate(const cloak_collateral *c, int is_tdx, const dcap_pck_tcb *pck,
                            const uint8_t *qe_report, const uint8_t *td_body, size_t td_body_len,
                            dcap_tcb_result *out, cloak_error *why)
{
    return cloak_error_set(why, CLOAK_EUNSUPPORTED, "TCB evaluation is not implemented yet");
}
