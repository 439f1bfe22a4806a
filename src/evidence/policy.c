/* Appraisal policy over normalised claims: the same rules for SGX, TDX and SEV-SNP. */
#include "evidence/evidence_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void cloak_policy_init(cloak_policy *p)
{
    memset(p, 0, sizeof *p);
    p->product_id = -1;
    p->min_svn = -1;
    p->max_tcb_status = -1;
}

/* Compare a hex claim with expected bytes; -1 when the claim is missing or malformed. */
static int hex_claim_equals(const json_t *claims, const char *key, const uint8_t *want,
                            size_t want_len, size_t pad_to)
{
    const char *hex = json_string_value(json_object_get(claims, key));
    if (!hex) return -1;
    uint8_t *got = NULL;
    size_t got_len = 0;
    if (cloak_hex_decode(hex, &got, &got_len, NULL)) return -1;
    uint8_t padded[64] = {0};
    int eq;
    if (pad_to && want_len <= pad_to && pad_to <= sizeof padded) {
        memcpy(padded, want, want_len);
        eq = got_len == pad_to && !CRYPTO_memcmp(got, padded, pad_to);
    } else {
        eq = got_len == want_len && !CRYPTO_memcmp(got, want, want_len);
    }
    free(got);
    return eq;
}

static const char *svn_key(const char *tee)
{
    if (!strcmp(tee, "sgx")) return "isv_svn";
    if (!strcmp(tee, "sevsnp")) return "guest_svn";
    return NULL;
}

cloak_err cloak_claims_check(const json_t *claims, const cloak_policy *p, cloak_error *why)
{
    if (!claims || !p)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_claims_check: no claims or policy");
    const char *tee = json_string_value(json_object_get(claims, "tee"));
    if (!tee) return cloak_error_set(why, CLOAK_EINVAL, "claims have no \"tee\"");
    if (json_is_true(json_object_get(claims, "x-cloak-sim")) && !p->allow_sim)
        return cloak_error_set(why, CLOAK_EPERM,
                               "policy refuses simulated evidence (x-cloak-sim): it proves nothing "
                               "about hardware; allow simulation explicitly for development");
    if (!p->allow_debug && !json_is_false(json_object_get(claims, "debug")))
        return cloak_error_set(why, CLOAK_EPERM,
                               "policy refuses a debug %s: its memory is open to the host", tee);
    if (p->report_data) {
        if (p->report_data_len > 64)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "expected report data is longer than 64 bytes");
        if (hex_claim_equals(claims, "report_data", p->report_data, p->report_data_len, 64) != 1)
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "report data does not match the expected value (the evidence is "
                                   "bound to another key or nonce)");
    }
    if (p->measurement &&
        hex_claim_equals(claims, "measurement", p->measurement, p->measurement_len, 0) != 1)
        return cloak_error_set(why, CLOAK_EVERIFY, "measurement does not match the policy's");
    if (p->signer) {
        if (strcmp(tee, "sgx"))
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "policy names a signer, but %s evidence has none", tee);
        if (hex_claim_equals(claims, "mrsigner", p->signer, p->signer_len, 0) != 1)
            return cloak_error_set(why, CLOAK_EVERIFY, "mrsigner does not match the policy's");
    }
    if (p->product_id >= 0) {
        json_t *v = json_object_get(claims, "isv_prod_id");
        if (!json_is_integer(v) || json_integer_value(v) != p->product_id)
            return cloak_error_set(why, CLOAK_EVERIFY, "product id %lld is not the policy's %d",
                                   v ? (long long)json_integer_value(v) : -1LL, p->product_id);
    }
    if (p->min_svn >= 0) {
        const char *k = svn_key(tee);
        json_t *v = k ? json_object_get(claims, k) : NULL;
        if (!json_is_integer(v))
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "policy needs a security version; %s evidence has none", tee);
        if (json_integer_value(v) < p->min_svn)
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "security version %lld is below the policy's minimum %d",
                                   (long long)json_integer_value(v), p->min_svn);
    }
    if (p->max_tcb_status >= 0) {
        const char *s = json_string_value(json_object_get(claims, "tcb_status"));
        int st = s ? cloak_tcb_status_parse(s) : -1;
        if (st < 0 || st == CLOAK_TCB_UNKNOWN)
            return cloak_error_set(
                why, CLOAK_EVERIFY,
                "TCB status is unknown (no collateral) and the policy needs one");
        const char *scope = json_string_value(json_object_get(claims, "collateral_scope"));
        if (scope && !strcmp(scope, "tcb-info-only") && !p->allow_tcb_info_only)
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "TCB status comes from a TCB info alone (QE identity and "
                                   "revocation were not checked); give full collateral");
        if (st > p->max_tcb_status)
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "TCB status %s is worse than the policy allows (%s)", s,
                                   cloak_tcb_status_name((cloak_tcb_status)p->max_tcb_status));
    }
    return CLOAK_OK;
}
