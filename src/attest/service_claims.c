/* From cloak's normalised claims (docs/CLAIMS.md) to MAA's claim names (attestation.md §7,
 * azure-api.md §1), and the runtime/init-time data binding rules. Nothing here verifies
 * evidence: the claims come from cloak_evidence_verify. */
#include "attest/service.h"

#include "cloak/jose.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

cloak_err svc_b64_decode_any(const char *s, uint8_t **out, size_t *out_len, cloak_error *why)
{
    size_t n = strlen(s);
    cloak_error e1 = {0};
    if (cloak_base64url_decode(s, n, out, out_len, &e1) == CLOAK_OK) return CLOAK_OK;
    /* Standard base64 ('+', '/'), as the spec's own TdxVm example sends; padding optional. */
    char *padded = malloc(n + 4);
    if (!padded) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    memcpy(padded, s, n);
    size_t m = n;
    while (m % 4)
        padded[m++] = '=';
    padded[m] = 0;
    cloak_err rc = cloak_base64_decode(padded, m, out, out_len, NULL);
    free(padded);
    if (rc) return cloak_error_set(why, CLOAK_EINVAL, "not base64url or base64: %s", e1.msg);
    return CLOAK_OK;
}

/* The first 32 bytes of a hex claim, or -1. */
static int hex_prefix32(const json_t *claims, const char *key, uint8_t out[32])
{
    const char *h = json_string_value(json_object_get(claims, key));
    if (!h || strlen(h) < 64) return -1;
    char tmp[65];
    memcpy(tmp, h, 64);
    tmp[64] = 0;
    return cloak_hex_decode_fixed(tmp, out, 32, NULL) == CLOAK_OK ? 0 : -1;
}

static cloak_err check_one(const json_t *claims, const char *key, const char *what,
                           const char *field, const uint8_t *data, size_t len, cloak_error *why)
{
    uint8_t want[32], got[SHA256_DIGEST_LENGTH];
    if (hex_prefix32(claims, key, want))
        return cloak_error_set(why, CLOAK_EINVAL, "the evidence has no %s to bind %s to", field,
                               what);
    SHA256(data, len, got);
    if (memcmp(want, got, sizeof got)) {
        char a[65], b[65];
        cloak_hex_write(a, got, sizeof got);
        cloak_hex_write(b, want, sizeof want);
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s does not match the evidence: SHA-256(%s) = %s, but the first 32 "
                               "bytes of %s are %s",
                               what, what, a, field, b);
    }
    return CLOAK_OK;
}

cloak_err svc_check_binding(svc_type t, const json_t *claims, const svc_bound_data *d,
                            cloak_error *why)
{
    cloak_err rc;
    static const char *init_key[SVC_NTYPES] = {"config_id", "config_id", "host_data", "mrconfigid"};
    static const char *init_field[SVC_NTYPES] = {"CONFIGID", "CONFIGID", "HOST_DATA", "MRCONFIGID"};
    if (d->runtime && (rc = check_one(claims, "report_data", "runtimeData",
                                      t == SVC_SNP ? "REPORT_DATA" : "REPORTDATA", d->runtime,
                                      d->runtime_len, why)))
        return rc;
    if (d->inittime && (rc = check_one(claims, init_key[t], "initTimeData", init_field[t],
                                       d->inittime, d->inittime_len, why)))
        return rc;
    return CLOAK_OK;
}

/* ---- mapping ---- */
typedef enum { K_STR, K_INT, K_BOOL } kind;
typedef struct {
    const char *from; /* normalised claim key ("a.b" = member b of object a) */
    const char *to;   /* MAA name */
    kind k;
} map_row;

static const map_row sgx_map[] = {
    {"debug", "x-ms-sgx-is-debuggable", K_BOOL},
    {"mrsigner", "x-ms-sgx-mrsigner", K_STR},
    {"mrenclave", "x-ms-sgx-mrenclave", K_STR},
    {"isv_prod_id", "x-ms-sgx-product-id", K_INT},
    {"isv_svn", "x-ms-sgx-svn", K_INT},
    {"config_id", "x-ms-sgx-config-id", K_STR},
    {"config_svn", "x-ms-sgx-config-svn", K_INT},
    {"isv_ext_prod_id", "x-ms-sgx-isv-extended-product-id", K_STR},
    {"isv_family_id", "x-ms-sgx-isv-family-id", K_STR},
    {"report_data", "x-ms-sgx-report-data", K_STR},
    /* the v1.0 legacy incoming names ("$is-debuggable", ...) of MAA's legacy SGX policy */
    {"debug", "$is-debuggable", K_BOOL},
    {"mrsigner", "$sgx-mrsigner", K_STR},
    {"mrenclave", "$sgx-mrenclave", K_STR},
    {"isv_prod_id", "$product-id", K_INT},
    {"isv_svn", "$svn", K_INT},
    {NULL, NULL, K_STR},
};

static const map_row snp_map[] = {
    {"author_key_digest", "x-ms-sevsnpvm-authorkeydigest", K_STR},
    {"reported_tcb.bootloader", "x-ms-sevsnpvm-bootloader-svn", K_INT},
    {"family_id", "x-ms-sevsnpvm-familyId", K_STR},
    {"guest_svn", "x-ms-sevsnpvm-guestsvn", K_INT},
    {"host_data", "x-ms-sevsnpvm-hostdata", K_STR},
    {"id_key_digest", "x-ms-sevsnpvm-idkeydigest", K_STR},
    {"image_id", "x-ms-sevsnpvm-imageId", K_STR},
    {"debug", "x-ms-sevsnpvm-is-debuggable", K_BOOL},
    {"measurement", "x-ms-sevsnpvm-launchmeasurement", K_STR},
    {"reported_tcb.microcode", "x-ms-sevsnpvm-microcode-svn", K_INT},
    {"migration_allowed", "x-ms-sevsnpvm-migration-allowed", K_BOOL},
    {"report_data", "x-ms-sevsnpvm-reportdata", K_STR},
    {"report_id", "x-ms-sevsnpvm-reportid", K_STR},
    {"smt_allowed", "x-ms-sevsnpvm-smt-allowed", K_BOOL},
    {"reported_tcb.snp", "x-ms-sevsnpvm-snpfw-svn", K_INT},
    {"reported_tcb.tee", "x-ms-sevsnpvm-tee-svn", K_INT},
    {"vmpl", "x-ms-sevsnpvm-vmpl", K_INT},
    {NULL, NULL, K_STR},
};

static const map_row tdx_map[] = {
    {"tcb_status", "attester_tcb_status", K_STR},
    {"mrconfigid", "tdx_mrconfigid", K_STR},
    {"mrowner", "tdx_mrowner", K_STR},
    {"mrownerconfig", "tdx_mrownerconfig", K_STR},
    {"mrseam", "tdx_mrseam", K_STR},
    {"mrsignerseam", "tdx_mrsignerseam", K_STR},
    {"mrtd", "tdx_mrtd", K_STR},
    {"report_data", "tdx_report_data", K_STR},
    {"rtmr0", "tdx_rtmr0", K_STR},
    {"rtmr1", "tdx_rtmr1", K_STR},
    {"rtmr2", "tdx_rtmr2", K_STR},
    {"rtmr3", "tdx_rtmr3", K_STR},
    {"seam_attributes", "tdx_seam_attributes", K_STR},
    {"td_attributes", "tdx_td_attributes", K_STR},
    {"tee_tcb_svn", "tdx_tee_tcb_svn", K_STR},
    {"xfam", "tdx_xfam", K_STR},
    {NULL, NULL, K_STR},
};

static const json_t *lookup(const json_t *claims, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!dot) return json_object_get(claims, path);
    char head[64];
    size_t n = (size_t)(dot - path);
    if (n >= sizeof head) return NULL;
    memcpy(head, path, n);
    head[n] = 0;
    return json_object_get(json_object_get(claims, head), dot + 1);
}

/* Add one claim to both the policy's incoming list and the token's members. */
static int add(json_t *incoming, json_t *token, const char *type, json_t *value)
{
    if (!value) return -1;
    /* {"type","value","issuer"}, built member by member (json_pack parses its format string on
     * every call, and this runs for every claim of every request) */
    json_t *c = json_object();
    int bad = !c || json_object_set_new(c, "type", json_string(type)) ||
              json_object_set(c, "value", value) ||
              json_object_set_new(c, "issuer", json_string("AttestationService"));
    if (bad)
        json_decref(c);
    else
        bad = json_array_append_new(incoming, c);
    /* "$..." names are policy inputs only, never token members */
    if (!bad && type[0] != '$') bad = json_object_set(token, type, value);
    json_decref(value);
    return bad ? -1 : 0;
}

static int add_rows(const map_row *rows, const json_t *claims, json_t *incoming, json_t *token)
{
    for (const map_row *r = rows; r->from; r++) {
        const json_t *v = lookup(claims, r->from);
        if (!v) continue;
        if ((r->k == K_INT && !json_is_integer(v)) || (r->k == K_BOOL && !json_is_boolean(v)) ||
            (r->k == K_STR && !json_is_string(v)))
            continue; /* a claim of an unexpected type is left out rather than mistranslated */
        if (add(incoming, token, r->to, json_deep_copy(v))) return -1;
    }
    return 0;
}

/* TDX TDATTRIBUTES bits (Intel TDX module spec, TD attributes): DEBUG 0, SEPT_VE_DISABLE 28,
 * PKS 30, KL 31, PERFMON 63; the claim is the field's bytes in quote order (little-endian). */
static int add_td_attributes(const json_t *claims, json_t *incoming, json_t *token)
{
    uint8_t b[8];
    const char *h = json_string_value(json_object_get(claims, "td_attributes"));
    if (!h || cloak_hex_decode_fixed(h, b, sizeof b, NULL)) return 0;
    uint64_t a = cloak_get_u64le(b);
    static const struct {
        const char *name;
        unsigned bit;
    } bits[] = {
        {"tdx_td_attributes_debug", 0},
        {"tdx_td_attributes_septve_disable", 28},
        {"tdx_td_attributes_protection_keys", 30},
        {"tdx_td_attributes_key_locker", 31},
        {"tdx_td_attributes_perfmon", 63},
    };
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (add(incoming, token, bits[i].name, json_boolean((a >> bits[i].bit) & 1))) return -1;
    return 0;
}

static json_t *data_value(const uint8_t *p, size_t len, int is_json)
{
    if (is_json) return json_loadb((const char *)p, len, JSON_DECODE_ANY, NULL);
    char *b = cloak_base64url_encode(p, len);
    json_t *v = b ? json_string(b) : NULL;
    free(b);
    return v;
}

cloak_err svc_map_claims(svc_type t, const json_t *claims, const svc_bound_data *d,
                         const char *policy_hash, json_t **incoming_out, json_t **token_out,
                         cloak_error *why)
{
    cloak_err rc = CLOAK_ENOMEM;
    json_t *in = json_array(), *tok = json_object();
    static const char *att_type[SVC_NTYPES] = {"sgx", "sgx", "sevsnpvm", "tdxvm"};
    int sim = json_is_true(json_object_get(claims, "x-cloak-sim"));
    const json_t *tcb = json_object_get(claims, "tcb_status");
    if (!in || !tok) goto out;
    if (add(in, tok, "x-ms-ver", json_string("1.0")) ||
        add(in, tok, "x-ms-attestation-type", json_string(att_type[t])) ||
        add(in, tok, "x-ms-policy-hash", json_string(policy_hash)))
        goto out;
    if (t == SVC_SGX || t == SVC_OE) {
        if (add_rows(sgx_map, claims, in, tok) || add(in, tok, "$tee", json_string("sgx")))
            goto out;
        const json_t *coll = json_object_get(claims, "collateral");
        if (coll && json_object_set(tok, "x-ms-sgx-collateral", (json_t *)coll)) goto out;
        if (d->runtime && add(in, tok, "x-ms-sgx-ehd", data_value(d->runtime, d->runtime_len, 0)))
            goto out;
    } else if (t == SVC_SNP) {
        if (add_rows(snp_map, claims, in, tok)) goto out;
    } else {
        if (add_rows(tdx_map, claims, in, tok) || add_td_attributes(claims, in, tok) ||
            add(in, tok, "dbgstat",
                json_string(json_is_true(json_object_get(claims, "debug")) ? "enabled"
                                                                           : "disabled")) ||
            add(in, tok, "eat_profile", json_string("https://aka.ms/maa-eat-profile-tdxvm")) ||
            add(in, tok, "intuse", json_string("generic")))
            goto out;
    }
    /* cloak's own claims: the TCB status and simulation are always reported, never hidden */
    if (tcb && add(in, tok, "x-cloak-tcb-status", json_deep_copy(tcb))) goto out;
    /* false for hardware evidence, so a release policy can require hardware ("equals": false) */
    if (add(in, tok, "x-cloak-sim", json_boolean(sim))) goto out;
    if (d->runtime && d->runtime_json) {
        json_t *v = data_value(d->runtime, d->runtime_len, d->runtime_json);
        if (!v) {
            rc =
                cloak_error_set(why, CLOAK_EINVAL, "runtimeData has dataType JSON but is not JSON");
            goto fail;
        }
        if (add(in, tok, "x-ms-runtime", v)) goto out;
    }
    if (d->inittime && d->inittime_json) {
        json_t *v = data_value(d->inittime, d->inittime_len, d->inittime_json);
        if (!v) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "initTimeData has dataType JSON but is not JSON");
            goto fail;
        }
        if (add(in, tok, "x-ms-inittime", v)) goto out;
    }
    *incoming_out = in;
    *token_out = tok;
    return CLOAK_OK;
out:
    rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory building the claims");
fail:
    json_decref(in);
    json_decref(tok);
    return rc;
}
