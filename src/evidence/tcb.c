/* DCAP TCB info and QE identity: parse the signed JSON bodies (Intel PCS API v4: "TCB Info"
 * v2/v3, "Enclave Identity" v2) and evaluate a platform's TCB against them
 * (attestation.md §2 steps 7-11; the algorithm of Intel QVL's EvaluateTcb.cpp /
 * QuoteVerifier.cpp, dcap-qvl verify.rs and go-tdx-guest verify.go).
 *
 * Parsing here is structural: it never decides trust. dcap_collateral_check (collateral.c)
 * verifies signatures, chains and dates over the exact bytes before a verifier relies on
 * anything evaluated here. */
#include "evidence/collateral_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LEVELS 1024 /* far above Intel's (about 20); bounds work on hostile input */
#define MAX_MODULE_IDS 64
#define TCB_DATE_MAX 31 /* fits dcap_tcb_result.tcb_date */

/* Report field offsets (attestation.md §1: SGX report body; TD quote body). */
#define QE_OFF_MISCSELECT 16
#define QE_OFF_ATTRIBUTES 48
#define QE_OFF_MRSIGNER 128
#define QE_OFF_ISVPRODID 256
#define QE_OFF_ISVSVN 258
#define QE_REPORT_BYTES 384
#define TD_OFF_TEE_TCB_SVN 0
#define TD_OFF_MRSIGNERSEAM 64
#define TD_OFF_SEAMATTRIBUTES 112
#define TD10_BYTES 584
#define TD15_BYTES 648

static cloak_err perr(cloak_error *why, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cloak_err perr(cloak_error *why, const char *name, const char *fmt, ...)
{
    char msg[CLOAK_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cloak_error_set(why, CLOAK_EINVAL, "%s: %s", name, msg);
}

int dcap_parse_utc(const char *s, time_t *out)
{
    /* YYYY-MM-DDTHH:MM:SS[.fff]Z, as Intel PCS writes dates (RFC 3339, UTC) */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    int v[6] = {0};
    size_t i = 0;
    if (!s) return -1;
    for (; shape[i]; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return -1;
    }
    if (s[i] == '.') {
        i++;
        size_t start = i;
        while (s[i] >= '0' && s[i] <= '9' && i - start < 9)
            i++;
        if (i == start) return -1;
    }
    if (s[i] != 'Z' || s[i + 1]) return -1;
    static const int pos[6] = {0, 5, 8, 11, 14, 17}, width[6] = {4, 2, 2, 2, 2, 2};
    for (int f = 0; f < 6; f++)
        for (int k = 0; k < width[f]; k++)
            v[f] = v[f] * 10 + (s[pos[f] + k] - '0');
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    *out = timegm(&tm);
    return 0;
}

/* ---- small readers over a jansson object; `path` names the field in messages ---- */

static cloak_err get_str(json_t *o, const char *key, const char *name, const char *path,
                         const char **out, cloak_error *why)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v)) return perr(why, name, "%s%s is missing or not a string", path, key);
    *out = json_string_value(v);
    return CLOAK_OK;
}

static cloak_err get_int(json_t *o, const char *key, long long lo, long long hi, const char *name,
                         const char *path, long long *out, cloak_error *why)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) return perr(why, name, "%s%s is missing or not an integer", path, key);
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return perr(why, name, "%s%s is %lld, outside %lld..%lld", path, key, x, lo, hi);
    *out = x;
    return CLOAK_OK;
}

static cloak_err get_hex(json_t *o, const char *key, uint8_t *dst, size_t n, const char *name,
                         const char *path, cloak_error *why)
{
    const char *s = NULL;
    cloak_err rc = get_str(o, key, name, path, &s, why);
    if (rc) return rc;
    cloak_error inner;
    if (cloak_hex_decode_fixed(s, dst, n, &inner) != CLOAK_OK)
        return perr(why, name, "%s%s: %s", path, key, inner.msg);
    return CLOAK_OK;
}

static cloak_err get_date(json_t *o, const char *key, const char *name, const char *path,
                          const char **str, time_t *t, cloak_error *why)
{
    time_t dummy;
    cloak_err rc = get_str(o, key, name, path, str, why);
    if (rc) return rc;
    if (strlen(*str) > TCB_DATE_MAX || dcap_parse_utc(*str, t ? t : &dummy) < 0)
        return perr(why, name, "%s%s \"%.40s\" is not a UTC date (YYYY-MM-DDTHH:MM:SSZ)", path, key,
                    *str);
    return CLOAK_OK;
}

static cloak_err get_status(json_t *o, const char *name, const char *path, cloak_tcb_status *out,
                            cloak_error *why)
{
    const char *s = NULL;
    cloak_err rc = get_str(o, "tcbStatus", name, path, &s, why);
    if (rc) return rc;
    int st = cloak_tcb_status_parse(s);
    if (st < 0 || st == CLOAK_TCB_UNKNOWN)
        return perr(why, name, "%stcbStatus \"%.40s\" is not an Intel TCB status", path, s);
    *out = (cloak_tcb_status)st;
    return CLOAK_OK;
}

/* advisoryIDs: optional array of strings */
static cloak_err get_advisories(json_t *o, const char *name, const char *path, const json_t **out,
                                cloak_error *why)
{
    json_t *a = json_object_get(o, "advisoryIDs");
    *out = NULL;
    if (!a) return CLOAK_OK;
    if (!json_is_array(a)) return perr(why, name, "%sadvisoryIDs is not an array", path);
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!json_is_string(json_array_get(a, i)))
            return perr(why, name, "%sadvisoryIDs[%zu] is not a string", path, i);
    *out = a;
    return CLOAK_OK;
}

static cloak_err get_array(json_t *o, const char *key, size_t max, const char *name,
                           const char *path, json_t **out, cloak_error *why)
{
    json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || json_array_size(a) == 0)
        return perr(why, name, "%s%s is missing, not an array or empty", path, key);
    if (json_array_size(a) > max)
        return perr(why, name, "%s%s has %zu entries (limit %zu)", path, key, json_array_size(a),
                    max);
    *out = a;
    return CLOAK_OK;
}

/* tcbLevels of the QE identity or of a TDX module identity: {tcb:{isvsvn}, tcbDate, tcbStatus,
 * advisoryIDs?} */
static cloak_err parse_isv_levels(json_t *o, const char *name, const char *path,
                                  dcap_isv_level **out, size_t *n, cloak_error *why)
{
    json_t *arr;
    char p[96];
    cloak_err rc = get_array(o, "tcbLevels", MAX_LEVELS, name, path, &arr, why);
    if (rc) return rc;
    dcap_isv_level *lv = calloc(json_array_size(arr), sizeof *lv);
    if (!lv) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory parsing %s", name);
    for (size_t i = 0; i < json_array_size(arr) && rc == CLOAK_OK; i++) {
        json_t *l = json_array_get(arr, i), *tcb = json_object_get(l, "tcb");
        long long svn = 0;
        snprintf(p, sizeof p, "%stcbLevels[%zu].", path, i);
        if (!json_is_object(tcb)) {
            rc = perr(why, name, "%stcb is missing or not an object", p);
            break;
        }
        char tp[112];
        snprintf(tp, sizeof tp, "%stcb.", p);
        if ((rc = get_int(tcb, "isvsvn", 0, 65535, name, tp, &svn, why)) ||
            (rc = get_date(l, "tcbDate", name, p, &lv[i].tcb_date, NULL, why)) ||
            (rc = get_status(l, name, p, &lv[i].status, why)) ||
            (rc = get_advisories(l, name, p, &lv[i].advisories, why)))
            break;
        lv[i].isvsvn = (uint16_t)svn;
    }
    if (rc) {
        free(lv);
        return rc;
    }
    *out = lv;
    *n = json_array_size(arr);
    return CLOAK_OK;
}

/* 16 components: v3 "sgxtcbcomponents"/"tdxtcbcomponents": [{"svn":n,...} x16]; a different
 * count is a hard error (as dcap-qvl and QVL). */
static cloak_err parse_components(json_t *tcb, const char *key, const char *name, const char *path,
                                  uint8_t out[DCAP_TCB_COMPONENTS], cloak_error *why)
{
    json_t *a = json_object_get(tcb, key);
    if (!json_is_array(a)) return perr(why, name, "%s%s is missing or not an array", path, key);
    if (json_array_size(a) != DCAP_TCB_COMPONENTS)
        return perr(why, name, "%s%s has %zu components, expected %d", path, key,
                    json_array_size(a), DCAP_TCB_COMPONENTS);
    for (size_t i = 0; i < DCAP_TCB_COMPONENTS; i++) {
        char p[160];
        long long svn;
        snprintf(p, sizeof p, "%s%s[%zu].", path, key, i);
        json_t *c = json_array_get(a, i);
        if (!json_is_object(c)) return perr(why, name, "%s is not an object", p);
        cloak_err rc = get_int(c, "svn", 0, 255, name, p, &svn, why);
        if (rc) return rc;
        out[i] = (uint8_t)svn;
    }
    return CLOAK_OK;
}

static cloak_err parse_tcb_level(json_t *l, const dcap_tcb_info *t, const char *name, size_t i,
                                 dcap_tcb_level *out, cloak_error *why)
{
    char p[64], tp[80];
    long long pcesvn;
    cloak_err rc;
    json_t *tcb = json_object_get(l, "tcb");
    snprintf(p, sizeof p, "tcbLevels[%zu].", i);
    snprintf(tp, sizeof tp, "tcbLevels[%zu].tcb.", i);
    if (!json_is_object(tcb)) return perr(why, name, "%stcb is missing or not an object", p);
    if (t->version >= 3) {
        if ((rc = parse_components(tcb, "sgxtcbcomponents", name, tp, out->sgx, why))) return rc;
        if (t->is_tdx && (rc = parse_components(tcb, "tdxtcbcomponents", name, tp, out->tdx, why)))
            return rc;
    } else { /* TCB info v2: sgxtcbcomp01svn .. sgxtcbcomp16svn */
        for (int k = 0; k < DCAP_TCB_COMPONENTS; k++) {
            char key[24];
            long long svn;
            snprintf(key, sizeof key, "sgxtcbcomp%02dsvn", k + 1);
            if ((rc = get_int(tcb, key, 0, 255, name, tp, &svn, why))) return rc;
            out->sgx[k] = (uint8_t)svn;
        }
    }
    if ((rc = get_int(tcb, "pcesvn", 0, 65535, name, tp, &pcesvn, why)) ||
        (rc = get_date(l, "tcbDate", name, p, &out->tcb_date, NULL, why)) ||
        (rc = get_status(l, name, p, &out->status, why)) ||
        (rc = get_advisories(l, name, p, &out->advisories, why)))
        return rc;
    out->pcesvn = (uint16_t)pcesvn;
    return CLOAK_OK;
}

/* tdxModule {mrsigner, attributes, attributesMask} and, for identities, id and tcbLevels */
static cloak_err parse_module(json_t *m, int with_levels, const char *name, const char *path,
                              dcap_tdx_module *out, cloak_error *why)
{
    cloak_err rc;
    if (!json_is_object(m)) return perr(why, name, "%s is not an object", path);
    char p[64];
    snprintf(p, sizeof p, "%s.", path);
    if ((rc = get_hex(m, "mrsigner", out->mrsigner, sizeof out->mrsigner, name, p, why)) ||
        (rc = get_hex(m, "attributes", out->attributes, sizeof out->attributes, name, p, why)) ||
        (rc = get_hex(m, "attributesMask", out->attributes_mask, sizeof out->attributes_mask, name,
                      p, why)))
        return rc;
    if (!with_levels) return CLOAK_OK;
    if ((rc = get_str(m, "id", name, p, &out->id, why))) return rc;
    return parse_isv_levels(m, name, p, &out->levels, &out->nlevels, why);
}

void dcap_tcb_info_free(dcap_tcb_info *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nmodule_ids; i++)
        free(t->module_ids[i].levels);
    free(t->module_ids);
    free(t->levels);
    json_decref(t->doc);
    memset(t, 0, sizeof *t);
}

cloak_err dcap_tcb_info_parse(const uint8_t *p, size_t len, const char *name, dcap_tcb_info *out,
                              cloak_error *why)
{
    dcap_tcb_info t;
    json_error_t jerr;
    long long v;
    const char *id = NULL;
    json_t *levels, *mods;
    cloak_err rc = CLOAK_OK;
    memset(&t, 0, sizeof t);
    t.doc = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!t.doc || !json_is_object(t.doc)) {
        rc = perr(why, name, "TCB info is not a JSON object (%s, byte %d)",
                  t.doc ? "not an object" : jerr.text, t.doc ? 0 : jerr.position);
        goto out;
    }
    if ((rc = get_int(t.doc, "version", 2, 3, name, "", &v, why))) goto out;
    t.version = (int)v;
    if (json_object_get(t.doc, "id") && (rc = get_str(t.doc, "id", name, "", &id, why))) goto out;
    if (t.version >= 3 && !id) {
        rc = perr(why, name, "TCB info v3 has no id");
        goto out;
    }
    if (id && strcmp(id, "SGX") && strcmp(id, "TDX")) {
        rc = perr(why, name, "TCB info id \"%.16s\" is neither SGX nor TDX", id);
        goto out;
    }
    t.is_tdx = id && !strcmp(id, "TDX");
    if (t.is_tdx && t.version < 3) {
        rc = perr(why, name, "TDX TCB info must be version 3, not %d", t.version);
        goto out;
    }
    if ((rc = get_date(t.doc, "issueDate", name, "", &t.issue_date_str, &t.issue_date, why)) ||
        (rc = get_date(t.doc, "nextUpdate", name, "", &t.next_update_str, &t.next_update, why)) ||
        (rc = get_hex(t.doc, "fmspc", t.fmspc, sizeof t.fmspc, name, "", why)) ||
        (rc = get_hex(t.doc, "pceId", t.pce_id, sizeof t.pce_id, name, "", why)) ||
        (rc = get_int(t.doc, "tcbType", 0, 0, name, "", &v, why)))
        goto out;
    if ((rc = get_int(t.doc, "tcbEvaluationDataNumber", 0, INT32_MAX, name, "", &v, why))) goto out;
    t.eval_number = (int)v;
    if ((rc = get_array(t.doc, "tcbLevels", MAX_LEVELS, name, "", &levels, why))) goto out;
    if (!(t.levels = calloc(json_array_size(levels), sizeof *t.levels))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory parsing %s", name);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(levels); i++, t.nlevels++)
        if ((rc = parse_tcb_level(json_array_get(levels, i), &t, name, i, &t.levels[i], why)))
            goto out;
    if (t.is_tdx && json_object_get(t.doc, "tdxModule")) {
        if ((rc = parse_module(json_object_get(t.doc, "tdxModule"), 0, name, "tdxModule", &t.module,
                               why)))
            goto out;
        t.has_module = 1;
    }
    if (t.is_tdx && json_object_get(t.doc, "tdxModuleIdentities")) {
        if ((rc = get_array(t.doc, "tdxModuleIdentities", MAX_MODULE_IDS, name, "", &mods, why)))
            goto out;
        if (!(t.module_ids = calloc(json_array_size(mods), sizeof *t.module_ids))) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory parsing %s", name);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(mods); i++, t.nmodule_ids++) {
            char path[48];
            snprintf(path, sizeof path, "tdxModuleIdentities[%zu]", i);
            if ((rc = parse_module(json_array_get(mods, i), 1, name, path, &t.module_ids[i], why)))
                goto out;
        }
    }
    *out = t;
    memset(&t, 0, sizeof t);
out:
    dcap_tcb_info_free(&t);
    return rc;
}

void dcap_qe_identity_free(dcap_qe_identity *q)
{
    if (!q) return;
    free(q->levels);
    json_decref(q->doc);
    memset(q, 0, sizeof *q);
}

cloak_err dcap_qe_identity_parse(const uint8_t *p, size_t len, const char *name,
                                 dcap_qe_identity *out, cloak_error *why)
{
    dcap_qe_identity q;
    json_error_t jerr;
    long long v;
    const char *id = NULL;
    uint8_t b[4];
    cloak_err rc = CLOAK_OK;
    memset(&q, 0, sizeof q);
    q.doc = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!q.doc || !json_is_object(q.doc)) {
        rc = perr(why, name, "QE identity is not a JSON object (%s, byte %d)",
                  q.doc ? "not an object" : jerr.text, q.doc ? 0 : jerr.position);
        goto out;
    }
    if ((rc = get_int(q.doc, "version", 2, 2, name, "", &v, why)) ||
        (rc = get_str(q.doc, "id", name, "", &id, why)))
        goto out;
    q.version = 2;
    if (strcmp(id, "QE") && strcmp(id, "TD_QE")) {
        rc = perr(why, name, "QE identity id \"%.16s\" is neither QE nor TD_QE", id);
        goto out;
    }
    q.is_td_qe = !strcmp(id, "TD_QE");
    if ((rc = get_date(q.doc, "issueDate", name, "", &q.issue_date_str, &q.issue_date, why)) ||
        (rc = get_date(q.doc, "nextUpdate", name, "", &q.next_update_str, &q.next_update, why)) ||
        (rc = get_int(q.doc, "tcbEvaluationDataNumber", 0, INT32_MAX, name, "", &v, why)))
        goto out;
    q.eval_number = (int)v;
    /* MISCSELECT is written as the 32-bit value in hex (big-endian text); ATTRIBUTES as the 16
     * report bytes in report order (flags LE, then xfrm LE) */
    if ((rc = get_hex(q.doc, "miscselect", b, 4, name, "", why))) goto out;
    q.miscselect = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if ((rc = get_hex(q.doc, "miscselectMask", b, 4, name, "", why))) goto out;
    q.miscselect_mask = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if ((rc = get_hex(q.doc, "attributes", q.attributes, 16, name, "", why)) ||
        (rc = get_hex(q.doc, "attributesMask", q.attributes_mask, 16, name, "", why)) ||
        (rc = get_hex(q.doc, "mrsigner", q.mrsigner, 32, name, "", why)) ||
        (rc = get_int(q.doc, "isvprodid", 0, 65535, name, "", &v, why)))
        goto out;
    q.isvprodid = (uint16_t)v;
    if ((rc = parse_isv_levels(q.doc, name, "", &q.levels, &q.nlevels, why))) goto out;
    *out = q;
    memset(&q, 0, sizeof q);
out:
    dcap_qe_identity_free(&q);
    return rc;
}

/* ---- evaluation ---- */

void dcap_tcb_result_clear(dcap_tcb_result *r)
{
    if (!r) return;
    json_decref(r->advisory_ids);
    memset(r, 0, sizeof *r);
    /* a cleared result must never read as UpToDate */
    r->status = r->platform_status = r->qe_status = r->module_status = CLOAK_TCB_UNKNOWN;
}

/* Merge two statuses; the worse wins, with Intel's combinations (QVL convergeTcbStatuses):
 * OutOfDate with a Configuration* status is OutOfDateConfigurationNeeded, Revoked beats all. */
static int is_one_of(cloak_tcb_status s, cloak_tcb_status x, cloak_tcb_status y, cloak_tcb_status z)
{
    return s == x || s == y || s == z;
}

static cloak_tcb_status tcb_join(cloak_tcb_status a, cloak_tcb_status b)
{
    if (a == CLOAK_TCB_REVOKED || b == CLOAK_TCB_REVOKED) return CLOAK_TCB_REVOKED;
    if (a == CLOAK_TCB_UNKNOWN || b == CLOAK_TCB_UNKNOWN) return CLOAK_TCB_UNKNOWN;
    const cloak_tcb_status ood1 = CLOAK_TCB_OUT_OF_DATE,
                           ood2 = CLOAK_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED,
                           cfg1 = CLOAK_TCB_CONFIGURATION_NEEDED,
                           cfg2 = CLOAK_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED,
                           sw1 = CLOAK_TCB_SW_HARDENING_NEEDED;
    int ood = is_one_of(a, ood1, ood2, ood2) || is_one_of(b, ood1, ood2, ood2);
    int cfg = is_one_of(a, cfg1, cfg2, ood2) || is_one_of(b, cfg1, cfg2, ood2);
    int sw = is_one_of(a, sw1, cfg2, cfg2) || is_one_of(b, sw1, cfg2, cfg2);
    if (ood) return cfg ? CLOAK_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED : CLOAK_TCB_OUT_OF_DATE;
    if (cfg)
        return sw ? CLOAK_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED
                  : CLOAK_TCB_CONFIGURATION_NEEDED;
    return sw ? CLOAK_TCB_SW_HARDENING_NEEDED : CLOAK_TCB_UP_TO_DATE;
}

/* Append the strings of `src` (may be NULL) that `dst` does not hold yet. */
static int add_advisories(json_t *dst, const json_t *src)
{
    for (size_t i = 0; src && i < json_array_size(src); i++) {
        const char *s = json_string_value(json_array_get(src, i));
        int seen = 0;
        for (size_t k = 0; k < json_array_size(dst) && !seen; k++)
            seen = !strcmp(json_string_value(json_array_get(dst, k)), s);
        if (!seen && json_array_append_new(dst, json_string(s)) < 0) return -1;
    }
    return 0;
}

/* First level whose isvsvn the given svn reaches (levels are in Intel's descending order). */
static const dcap_isv_level *isv_level(const dcap_isv_level *lv, size_t n, uint16_t svn)
{
    for (size_t i = 0; i < n; i++)
        if (svn >= lv[i].isvsvn) return &lv[i];
    return NULL;
}

static void hex_str(char *dst, const uint8_t *p, size_t n)
{
    cloak_hex_write(dst, p, n);
}

/* attestation.md §2 step 8: the QE report against the QE identity. */
static cloak_err check_qe(const dcap_qe_identity *q, const uint8_t *rep, const dcap_isv_level **lv,
                          cloak_error *why)
{
    char a[65], b[65];
    uint32_t misc = cloak_get_u32le(rep + QE_OFF_MISCSELECT);
    uint16_t prodid = cloak_get_u16le(rep + QE_OFF_ISVPRODID),
             svn = cloak_get_u16le(rep + QE_OFF_ISVSVN);
    if (memcmp(rep + QE_OFF_MRSIGNER, q->mrsigner, 32) != 0) {
        hex_str(a, rep + QE_OFF_MRSIGNER, 32);
        hex_str(b, q->mrsigner, 32);
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "QE report MRSIGNER %s is not the QE identity's mrsigner %s", a, b);
    }
    if (prodid != q->isvprodid)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "QE report ISVPRODID %u is not the QE identity's isvprodid %u",
                               prodid, q->isvprodid);
    if ((misc & q->miscselect_mask) != q->miscselect)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "QE report MISCSELECT 0x%08x masked with 0x%08x is not the QE "
                               "identity's miscselect 0x%08x",
                               misc, q->miscselect_mask, q->miscselect);
    for (int i = 0; i < 16; i++)
        if ((rep[QE_OFF_ATTRIBUTES + i] & q->attributes_mask[i]) != q->attributes[i]) {
            hex_str(a, rep + QE_OFF_ATTRIBUTES, 16);
            hex_str(b, q->attributes, 16);
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "QE report ATTRIBUTES %s under the QE identity's mask do not "
                                   "equal its attributes %s (byte %d)",
                                   a, b, i);
        }
    if (!(*lv = isv_level(q->levels, q->nlevels, svn)))
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "QE TCB level not supported: QE ISVSVN %u is below every tcbLevel "
                               "of the QE identity",
                               svn);
    return CLOAK_OK;
}

static int svns_reach(const uint8_t *have, const uint8_t *need, int start)
{
    for (int i = start; i < DCAP_TCB_COMPONENTS; i++)
        if (have[i] < need[i]) return 0;
    return 1;
}

/* attestation.md §2 step 9 (QVL sgxEvaluateTCB / tdxEvaluateTCB): the first level the
 * platform reaches. For TDX with a module major version > 0, TEE_TCB_SVN[0..1] are judged by
 * the module identity instead, so the TDX comparison starts at index 2 (as QVL). */
static const dcap_tcb_level *platform_level(const dcap_tcb_info *t, const dcap_pck_tcb *pck,
                                            const uint8_t *tee_svn)
{
    int start = tee_svn && tee_svn[1] > 0 ? 2 : 0;
    for (size_t i = 0; i < t->nlevels; i++) {
        const dcap_tcb_level *l = &t->levels[i];
        if (svns_reach(pck->comp_svn, l->sgx, 0) && pck->pce_svn >= l->pcesvn &&
            (!tee_svn || svns_reach(tee_svn, l->tdx, start)))
            return l;
    }
    return NULL;
}

/* attestation.md §2 step 10: TDX module identity and module TCB level. */
static cloak_err check_module(const dcap_tcb_info *t, const uint8_t *td, const dcap_isv_level **lv,
                              cloak_error *why)
{
    const uint8_t *tee = td + TD_OFF_TEE_TCB_SVN;
    const dcap_tdx_module *m = t->has_module ? &t->module : NULL;
    char want[8], a[97], b[97];
    *lv = NULL;
    if (tee[1] > 0) {
        snprintf(want, sizeof want, "TDX_%02X", tee[1]);
        if (t->nmodule_ids == 0)
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "TCB info has no tdxModuleIdentities, but the TD reports TDX "
                                   "module major version %u",
                                   tee[1]);
        m = NULL;
        for (size_t i = 0; i < t->nmodule_ids && !m; i++)
            if (!strcasecmp(t->module_ids[i].id, want)) m = &t->module_ids[i];
        if (!m)
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "TCB level not supported: TDX module identity %s is not in "
                                   "the TCB info",
                                   want);
    }
    if (!m) return CLOAK_OK; /* TCB info without tdxModule: nothing to compare */
    if (memcmp(td + TD_OFF_MRSIGNERSEAM, m->mrsigner, 48) != 0) {
        hex_str(a, td + TD_OFF_MRSIGNERSEAM, 48);
        hex_str(b, m->mrsigner, 48);
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "TDX module mismatch: MRSIGNERSEAM %s is not the TCB info's %s "
                               "mrsigner %s",
                               a, m->id ? m->id : "tdxModule", b);
    }
    for (int i = 0; i < 8; i++)
        if ((td[TD_OFF_SEAMATTRIBUTES + i] & m->attributes_mask[i]) != m->attributes[i]) {
            hex_str(a, td + TD_OFF_SEAMATTRIBUTES, 8);
            hex_str(b, m->attributes, 8);
            return cloak_error_set(why, CLOAK_EVERIFY,
                                   "TDX module mismatch: SEAMATTRIBUTES %s under the mask do not "
                                   "equal the TCB info's %s attributes %s",
                                   a, m->id ? m->id : "tdxModule", b);
        }
    if (tee[1] > 0 && !(*lv = isv_level(m->levels, m->nlevels, tee[0])))
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "TCB level not supported: TDX module %s SVN %u is below every "
                               "tcbLevel of that module identity",
                               m->id, tee[0]);
    return CLOAK_OK;
}

cloak_err dcap_tcb_evaluate(const cloak_collateral *c, int is_tdx, const dcap_pck_tcb *pck,
                            const uint8_t *qe_report, const uint8_t *td_body, size_t td_body_len,
                            dcap_tcb_result *out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    const dcap_isv_level *qe_lv = NULL, *mod_lv = NULL;
    const dcap_tcb_level *lv;
    json_t *adv = NULL;
    char a[33], b[33];
    if (!c || c->magic != COLLATERAL_MAGIC || !pck || !qe_report || !out ||
        (is_tdx && (!td_body || (td_body_len != TD10_BYTES && td_body_len != TD15_BYTES)))) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "dcap_tcb_evaluate: collateral, PCK values, QE report and (for TDX) a "
                             "584- or 648-byte TD body are required");
        goto out;
    }
    const dcap_tcb_info *t = &c->tcb;
    const dcap_qe_identity *q = &c->qe;
    const uint8_t *tee = is_tdx ? td_body + TD_OFF_TEE_TCB_SVN : NULL;
    /* TCB-info-only collateral: no QE identity to match (its id is not checked either) */
    const int tcb_only = c->tcb_only;
    if (t->is_tdx != !!is_tdx || (!tcb_only && q->is_td_qe != !!is_tdx)) {
        if (tcb_only) {
            rc = cloak_error_set(why, CLOAK_EVERIFY,
                                 "TCB info is for %s (id %s), the quote is %s: use the PCS "
                                 "/%s/certification/v4/tcb response",
                                 t->is_tdx ? "TDX" : "SGX", t->is_tdx ? "TDX" : "SGX",
                                 is_tdx ? "TDX" : "SGX", is_tdx ? "tdx" : "sgx");
            goto out;
        }
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "collateral is for %s (TCB info id %s, QE identity id %s), the quote "
                             "is %s",
                             t->is_tdx ? "TDX" : "SGX", t->is_tdx ? "TDX" : "SGX",
                             q->is_td_qe ? "TD_QE" : "QE", is_tdx ? "TDX" : "SGX");
        goto out;
    }
    /* step 7: the TCB info is for this platform (FMSPC compared as bytes: hex case-insensitive) */
    if (memcmp(t->fmspc, pck->fmspc, sizeof t->fmspc) != 0) {
        hex_str(a, t->fmspc, 6);
        hex_str(b, pck->fmspc, 6);
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "TCB info is for FMSPC %s, the PCK certificate's FMSPC is %s", a, b);
        goto out;
    }
    if (memcmp(t->pce_id, pck->pce_id, sizeof t->pce_id) != 0) {
        hex_str(a, t->pce_id, 2);
        hex_str(b, pck->pce_id, 2);
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "TCB info is for PCE-ID %s, the PCK certificate's PCE-ID is %s", a, b);
        goto out;
    }
    /* step 8 (not for TCB-info-only collateral: qe_lv stays NULL, QE status Unknown) */
    if (!tcb_only && (rc = check_qe(q, qe_report, &qe_lv, why))) goto out;
    /* step 9 */
    if (!(lv = platform_level(t, pck, tee))) {
        char comps[33], tees[33];
        hex_str(comps, pck->comp_svn, 16);
        if (tee) hex_str(tees, tee, 16);
        hex_str(a, t->fmspc, 6);
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "TCB level not supported: no tcbLevel of the TCB info for FMSPC %s "
                             "is reached by PCK component SVNs %s, PCESVN %u%s%s",
                             a, comps, pck->pce_svn, tee ? ", TEE_TCB_SVN " : "", tee ? tees : "");
        goto out;
    }
    /* step 10 */
    if (is_tdx && t->version >= 3 && (rc = check_module(t, td_body, &mod_lv, why))) goto out;
    /* step 11 */
    if (!(adv = json_array()) || add_advisories(adv, lv->advisories) < 0 ||
        (qe_lv && add_advisories(adv, qe_lv->advisories) < 0) ||
        (mod_lv && add_advisories(adv, mod_lv->advisories) < 0)) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory collecting advisory IDs");
        goto out;
    }
    out->platform_status = lv->status;
    out->qe_status = qe_lv ? qe_lv->status : CLOAK_TCB_UNKNOWN;
    out->module_status = mod_lv ? mod_lv->status : CLOAK_TCB_UP_TO_DATE;
    /* TCB-info-only: the platform (and TDX module) status, since there is no QE status to join
     * (joining Unknown would give Unknown) */
    out->status =
        tcb_join(qe_lv ? tcb_join(lv->status, qe_lv->status) : lv->status, out->module_status);
    out->advisory_ids = adv;
    adv = NULL;
    snprintf(out->tcb_date, sizeof out->tcb_date, "%s", lv->tcb_date);
    out->tcb_eval_number = t->eval_number;
out:
    json_decref(adv);
    return rc;
}
