/* Collateral of the simulation platform, in the dcap-qvl split layout (the same files as
 * shared/vectors/attestation/dcap-qvl/sgx_quote_collateral/): TCB info and QE identity bodies
 * (the exact signed bytes) with raw r||s signatures by the TCB signing key, the root and PCK
 * CRLs, and the two issuer chains. Issued for PLAT_COLLATERAL_DAYS, re-issued on open when it
 * would expire within PLAT_COLLATERAL_RENEW_DAYS. */
#include "tee/platform_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>

#define DAY_SECONDS 86400
#define TCB_DATE_CURRENT "2025-01-01T00:00:00Z"
#define TCB_DATE_OLDER "2024-01-01T00:00:00Z"
#define ADVISORY_OLDER "INTEL-SA-00000"

static const char *const collateral_files[] = {
    "tcb_info_body.json", "tcb_info.sig", "qe_identity_body.json", "qe_identity.sig",
    "root_ca_crl.der",    "pck_crl.der",  "tcb_signing_chain.pem", "pck_crl_issuer_chain.pem",
};

static void hex_upper(char *dst, const uint8_t *p, size_t len)
{
    cloak_hex_write(dst, p, len);
    for (size_t i = 0; i < 2 * len; i++)
        dst[i] = (char)toupper((unsigned char)dst[i]);
}

static void iso_time(char out[32], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int parse_iso_time(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    if (!end || *end) return -1;
    *out = timegm(&tm);
    return 0;
}

static json_t *tcb_level(const uint8_t comp[16], unsigned pcesvn, const char *date,
                         const char *status, const char *advisory)
{
    json_t *comps = json_array(), *lvl = NULL;
    for (int i = 0; comps && i < 16; i++)
        json_array_append_new(comps, json_pack("{s:i}", "svn", comp[i]));
    lvl = json_pack("{s:{s:o,s:i},s:s,s:s}", "tcb", "sgxtcbcomponents", comps, "pcesvn",
                    (int)pcesvn, "tcbDate", date, "tcbStatus", status);
    if (lvl && advisory) json_object_set_new(lvl, "advisoryIDs", json_pack("[s]", advisory));
    return lvl;
}

/* TCB info v3 body, field order as Intel PCS emits it. Levels: the platform's own TCB
 * (UpToDate), then one lower TCB (OutOfDate) so verifiers exercise the level walk. */
static char *tcb_info_body(const cloak_plat_tcb *t, time_t issue)
{
    char iss[32], nxt[32], fmspc[13], pceid[5];
    uint8_t older[16];
    json_t *levels = json_array(), *o = NULL;
    char *s = NULL;
    iso_time(iss, issue);
    iso_time(nxt, issue + (time_t)PLAT_COLLATERAL_DAYS * DAY_SECONDS);
    hex_upper(fmspc, t->fmspc, sizeof t->fmspc);
    hex_upper(pceid, t->pceid, sizeof t->pceid);
    for (int i = 0; i < 16; i++)
        older[i] = t->comp_svn[i] ? (uint8_t)(t->comp_svn[i] - 1) : 0;
    if (!levels) goto out;
    json_array_append_new(levels,
                          tcb_level(t->comp_svn, t->pcesvn, TCB_DATE_CURRENT, "UpToDate", NULL));
    json_array_append_new(levels, tcb_level(older, t->pcesvn ? t->pcesvn - 1u : 0u, TCB_DATE_OLDER,
                                            "OutOfDate", ADVISORY_OLDER));
    if (json_array_size(levels) != 2) goto out;
    o = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:i,s:i,s:O}", "id", "SGX", "version", 3, "issueDate",
                  iss, "nextUpdate", nxt, "fmspc", fmspc, "pceId", pceid, "tcbType", 0,
                  "tcbEvaluationDataNumber", PLAT_TCB_EVAL_NUMBER, "tcbLevels", levels);
    if (o) s = json_dumps(o, JSON_COMPACT);
out:
    json_decref(levels);
    json_decref(o);
    return s;
}

/* QE identity v2 body for the simulated QE (platform_int.h PLAT_QE_*). MISCSELECT is
 * written as the u32 value in hex; ATTRIBUTES as the 16 report bytes (flags LE, xfrm LE). */
static char *qe_identity_body(time_t issue)
{
    char iss[32], nxt[32], misc[9], misc_mask[9], attr[33], attr_mask[33], mrsigner[65];
    uint8_t a[16], m[16];
    json_t *levels = NULL, *o = NULL;
    char *s = NULL;
    iso_time(iss, issue);
    iso_time(nxt, issue + (time_t)PLAT_COLLATERAL_DAYS * DAY_SECONDS);
    snprintf(misc, sizeof misc, "%08X", PLAT_QE_MISCSELECT & PLAT_QE_MISCSELECT_MASK);
    snprintf(misc_mask, sizeof misc_mask, "%08X", PLAT_QE_MISCSELECT_MASK);
    cloak_put_u64le(a, PLAT_QE_ATTR_FLAGS & PLAT_QE_ATTR_FLAGS_MASK);
    cloak_put_u64le(a + 8, PLAT_QE_ATTR_XFRM & PLAT_QE_ATTR_XFRM_MASK);
    cloak_put_u64le(m, PLAT_QE_ATTR_FLAGS_MASK);
    cloak_put_u64le(m + 8, PLAT_QE_ATTR_XFRM_MASK);
    hex_upper(attr, a, 16);
    hex_upper(attr_mask, m, 16);
    hex_upper(mrsigner, cloak_plat_qe_mrsigner, 32);
    levels = json_pack("[{s:{s:i},s:s,s:s},{s:{s:i},s:s,s:s,s:[s]}]", "tcb", "isvsvn",
                       PLAT_QE_ISVSVN, "tcbDate", TCB_DATE_CURRENT, "tcbStatus", "UpToDate", "tcb",
                       "isvsvn", PLAT_QE_ISVSVN - 2, "tcbDate", TCB_DATE_OLDER, "tcbStatus",
                       "OutOfDate", "advisoryIDs", ADVISORY_OLDER);
    if (!levels) goto out;
    o = json_pack("{s:s,s:i,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:i,s:O}", "id", "QE", "version", 2,
                  "issueDate", iss, "nextUpdate", nxt, "tcbEvaluationDataNumber",
                  PLAT_TCB_EVAL_NUMBER, "miscselect", misc, "miscselectMask", misc_mask,
                  "attributes", attr, "attributesMask", attr_mask, "mrsigner", mrsigner,
                  "isvprodid", PLAT_QE_ISVPRODID, "tcbLevels", levels);
    if (o) s = json_dumps(o, JSON_COMPACT);
out:
    json_decref(levels);
    json_decref(o);
    return s;
}

/* 1 if <cdir>/<name> holds exactly the body we would issue at its own issueDate (so nothing
 * about the platform changed) and that body is valid now for longer than the renew window. */
static int body_current(const char *cdir, const char *name, const cloak_plat_tcb *t, int is_tcb,
                        time_t now)
{
    char *path = cloak_plat_path(cdir, name), *want = NULL;
    uint8_t *have = NULL;
    size_t len = 0;
    json_t *j = NULL;
    time_t issue;
    int ok = 0;
    if (!path || cloak_file_read(path, &have, &len, NULL) != CLOAK_OK) goto out;
    j = json_loadb((const char *)have, len, 0, NULL);
    if (!j || parse_iso_time(json_string_value(json_object_get(j, "issueDate")), &issue) < 0)
        goto out;
    want = is_tcb ? tcb_info_body(t, issue) : qe_identity_body(issue);
    if (!want || strlen(want) != len || memcmp(want, have, len) != 0) goto out;
    ok = issue <= now &&
         issue + (time_t)(PLAT_COLLATERAL_DAYS - PLAT_COLLATERAL_RENEW_DAYS) * DAY_SECONDS > now;
out:
    json_decref(j);
    free(want);
    free(have);
    free(path);
    return ok;
}

static int collateral_current(const char *cdir, const cloak_plat_tcb *t, time_t now)
{
    for (size_t i = 0; i < sizeof collateral_files / sizeof *collateral_files; i++) {
        struct stat st;
        char *path = cloak_plat_path(cdir, collateral_files[i]);
        int present = path && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
        free(path);
        if (!present) return 0;
    }
    return body_current(cdir, "tcb_info_body.json", t, 1, now) &&
           body_current(cdir, "qe_identity_body.json", t, 0, now);
}

static cloak_err put_file(const char *cdir, const char *name, const void *p, size_t len,
                          cloak_error *why)
{
    char *path = cloak_plat_path(cdir, name);
    cloak_err rc = path ? cloak_file_write(path, p, len, PLAT_FILE_MODE_PUBLIC, why)
                        : cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    free(path);
    return rc;
}

/* body file + raw r||s signature file */
static cloak_err put_signed(const char *cdir, const char *body_name, const char *sig_name,
                            const char *body, EVP_PKEY *key, cloak_error *why)
{
    uint8_t sig[64];
    cloak_err rc = cloak_plat_sign_p1363(key, (const uint8_t *)body, strlen(body), sig, why);
    if (rc == CLOAK_OK) rc = put_file(cdir, body_name, body, strlen(body), why);
    if (rc == CLOAK_OK) rc = put_file(cdir, sig_name, sig, sizeof sig, why);
    return rc;
}

static cloak_err put_crl(const char *cdir, const char *name, X509 *issuer, EVP_PKEY *key,
                         time_t now, cloak_error *why)
{
    uint8_t *der = NULL;
    size_t len = 0;
    cloak_err rc = cloak_plat_make_crl(issuer, key, now, &der, &len, why);
    if (rc == CLOAK_OK) rc = put_file(cdir, name, der, len, why);
    OPENSSL_free(der);
    return rc;
}

static cloak_err put_chain(const char *cdir, const char *name, X509 *first, X509 *root,
                           cloak_error *why)
{
    char *a = cloak_plat_cert_pem(first), *b = cloak_plat_cert_pem(root), *both = NULL;
    cloak_err rc;
    if (!a || !b || asprintf(&both, "%s%s", a, b) < 0) {
        both = NULL;
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory writing %s", name);
    } else {
        rc = put_file(cdir, name, both, strlen(both), why);
    }
    free(a);
    free(b);
    free(both);
    return rc;
}

cloak_err cloak_plat_collateral_refresh(const char *dir, const cloak_plat_tcb *tcb, time_t now,
                                        cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    char *cdir = cloak_plat_path(dir, PLAT_COLLATERAL), *tcb_body = NULL, *qe_body = NULL;
    X509 *root = NULL, *ca = NULL, *tcbs = NULL;
    EVP_PKEY *root_k = NULL, *ca_k = NULL, *tcbs_k = NULL;
    if (!cdir) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (collateral_current(cdir, tcb, now)) goto out;
    if ((rc = cloak_mkdirs(cdir, PLAT_DIR_MODE, why)) != CLOAK_OK) goto out;
    if ((rc = cloak_plat_read_cert(dir, PLAT_ROOT_CERT, &root, why)) != CLOAK_OK ||
        (rc = cloak_plat_read_key(dir, PLAT_ROOT_KEY, &root_k, why)) != CLOAK_OK ||
        (rc = cloak_plat_read_cert(dir, PLAT_PCKCA_CERT, &ca, why)) != CLOAK_OK ||
        (rc = cloak_plat_read_key(dir, PLAT_PCKCA_KEY, &ca_k, why)) != CLOAK_OK ||
        (rc = cloak_plat_read_cert(dir, PLAT_TCBSIGN_CERT, &tcbs, why)) != CLOAK_OK ||
        (rc = cloak_plat_read_key(dir, PLAT_TCBSIGN_KEY, &tcbs_k, why)) != CLOAK_OK)
        goto out;
    tcb_body = tcb_info_body(tcb, now);
    qe_body = qe_identity_body(now);
    if (!tcb_body || !qe_body) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory building the collateral JSON");
        goto out;
    }
    if ((rc = put_chain(cdir, "tcb_signing_chain.pem", tcbs, root, why)) != CLOAK_OK ||
        (rc = put_chain(cdir, "pck_crl_issuer_chain.pem", ca, root, why)) != CLOAK_OK ||
        (rc = put_crl(cdir, "root_ca_crl.der", root, root_k, now, why)) != CLOAK_OK ||
        (rc = put_crl(cdir, "pck_crl.der", ca, ca_k, now, why)) != CLOAK_OK ||
        (rc = put_signed(cdir, "tcb_info_body.json", "tcb_info.sig", tcb_body, tcbs_k, why)) !=
            CLOAK_OK ||
        (rc = put_signed(cdir, "qe_identity_body.json", "qe_identity.sig", qe_body, tcbs_k, why)) !=
            CLOAK_OK)
        goto out;
out:
    if (rc != CLOAK_OK && cdir) cloak_error_wrap(why, "issuing collateral in %s", cdir);
    free(tcb_body);
    free(qe_body);
    X509_free(root);
    X509_free(ca);
    X509_free(tcbs);
    EVP_PKEY_free(root_k);
    EVP_PKEY_free(ca_k);
    EVP_PKEY_free(tcbs_k);
    free(cdir);
    return rc;
}
