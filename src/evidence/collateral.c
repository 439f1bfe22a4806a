/* Placeholder until DCAP collateral lands (owned by the collateral engineer). */
#include "evidence/evidence_int.h"

cloak_err cloak_collateral_load(const char *path, cloak_collateral **out, cloak_error *why)
{
    return cloak_error_set(why, CLOAK_EUNSUPPORTED, "collateral loading is not implemented yet");
}

void cloak_collateral_free(cloak_collateral *c)
{
    (void)c;
}

cloak_err dcap_collateral_check(const cloak_collateral *c, X509 *root, time_t at, int is_tdx,
                                cloak_error *why)
{
    return cloak_error_set(why, CLOAK_EUNSUPPORTED, "collateral checks are not implemented yet");
}

X509_CRL *dcap_collateral_root_crl(const cloak_collateral *c)
{
    return NULL;
}

X509_CRL *dcap_collateral_pck_crl(const cloak_collateral *c)
{
    return NULL;
}

json_t *dcap_collateral_hashes(const cloak_collateral *c)
{
    return json_object();
}
