/* The MAA data-plane routes: a table, one small handler each. Evidence verification, policy
 * evaluation, signing and policy persistence run on the worker pool (cloak_http_defer). */
#include "attest/service.h"

#include "cloak/jose.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#define MAX_SNP_CERTS 8

static const char *const attest_versions[] = {"2020-10-01", "2022-08-01", "2025-06-01", NULL};

/* ---- GET /certs, GET /.well-known/openid-configuration ---- */
static void h_certs(cloak_http_req *req)
{
    cloak_attest_service *s = cloak_http_app(req);
    cloak_http_reply_json(req, 200, json_incref(s->jwks));
}

static void h_openid(cloak_http_req *req)
{
    cloak_attest_service *s = cloak_http_app(req);
    cloak_http_reply_json(
        req, 200,
        json_pack("{s:s,s:s,s:[s,s],s:[s],s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]}", "issuer",
                  s->issuer, "jwks_uri", s->jku, "response_types_supported", "token", "none",
                  "id_token_signing_alg_values_supported", "RS256", "claims_supported",
                  "is-debuggable", "sgx-mrsigner", "sgx-mrenclave", "product-id", "svn", "tee",
                  "x-ms-ver", "x-ms-attestation-type", "x-ms-policy-hash", "x-ms-runtime",
                  "x-ms-inittime", "x-ms-sgx-is-debuggable", "x-ms-sgx-mrenclave",
                  "x-ms-sgx-mrsigner", "x-ms-sgx-product-id", "x-ms-sgx-svn"));
}

/* ---- POST /attest/{type} ---- */
typedef struct {
    svc_type t;
    const char *evidence, *runtime, *inittime, *nonce, *draft, *vcek_chain; /* request-owned */
    int runtime_json, inittime_json;
    /* result */
    int status;
    const char *code;
    char msg[CLOAK_ERROR_MAX + 64];
    const char *token; /* request memory: freed with the request even if done never runs */
    const char *reply; /* request memory: {"token":"<token>"}, built on the worker */
} attest_job;

/* {"token":"<token>"} in request memory, exactly as json_dumps(JSON_COMPACT) writes it: a JWS
 * in compact form is base64url and dots only, so nothing needs escaping (anything else gets
 * NULL and the reply goes through jansson). Built on the worker so the event loop only sends. */
static const char *token_reply(cloak_http_req *req, const char *token)
{
    static const char pre[] = "{\"token\":\"", post[] = "\"}";
    size_t n = strlen(token);
    for (size_t i = 0; i < n; i++) {
        char c = token[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return NULL;
    }
    char *r = cloak_http_alloc(req, sizeof pre - 1 + n + sizeof post);
    memcpy(r, pre, sizeof pre - 1);
    memcpy(r + sizeof pre - 1, token, n);
    memcpy(r + sizeof pre - 1 + n, post, sizeof post); /* with the NUL */
    return r;
}

__attribute__((format(printf, 4, 5))) static int fail(attest_job *j, int status, const char *code,
                                                      const char *fmt, ...)
{
    va_list ap;
    j->status = status;
    j->code = code;
    va_start(ap, fmt);
    vsnprintf(j->msg, sizeof j->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* {data, dataType} -> job fields; 0 or replied (-1). */
static int take_data(cloak_http_req *req, json_t *body, const char *name, const char **data,
                     int *is_json)
{
    json_t *o = json_object_get(body, name);
    if (!o || json_is_null(o)) return 0;
    const char *d = json_string_value(json_object_get(o, "data"));
    const char *type = json_string_value(json_object_get(o, "dataType"));
    if (!json_is_object(o) || !d) {
        cloak_http_reply_error(req, 400, "BadParameter",
                               "\"%s\" must be an object {\"data\": base64url, \"dataType\": "
                               "\"Binary\"|\"JSON\"}.",
                               name);
        return -1;
    }
    if (type && strcmp(type, "Binary") && strcmp(type, "JSON")) {
        cloak_http_reply_error(req, 400, "BadParameter",
                               "%s.dataType must be \"Binary\" or \"JSON\", not \"%.32s\".", name,
                               type);
        return -1;
    }
    *data = cloak_http_strdup(req, d);
    *is_json = type && !strcmp(type, "JSON");
    return 0;
}

/* Split a PEM bundle into its certificates (each pointing into `p`), or one DER certificate. */
static size_t split_certs(const uint8_t *p, size_t len, const uint8_t **certs, size_t *lens)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
    size_t n = 0;
    const char *c = memmem(p, len, begin, sizeof begin - 1);
    if (!c) {
        certs[0] = p;
        lens[0] = len;
        return 1;
    }
    while (c && n < MAX_SNP_CERTS) {
        size_t left = len - (size_t)((const uint8_t *)c - p);
        const char *e = memmem(c, left, end, sizeof end - 1);
        if (!e) break;
        certs[n] = (const uint8_t *)c;
        lens[n] = (size_t)(e - c) + sizeof end - 1;
        n++;
        left = len - (size_t)((const uint8_t *)e - p);
        c = memmem(e, left, begin, sizeof begin - 1);
    }
    return n;
}

/* The SNP `report`: Azure's shape, base64url of {"SnpReport": b64url(report),
 * "VcekCertChain": b64url(PEM chain)} (spec example AttestSevSnpVm.json), or the raw report. */
static int unwrap_snp(attest_job *j, uint8_t **ev, size_t *ev_len, uint8_t **chain,
                      size_t *chain_len)
{
    cloak_error e = {0};
    size_t i = 0;
    while (i < *ev_len &&
           ((*ev)[i] == ' ' || (*ev)[i] == '\n' || (*ev)[i] == '\r' || (*ev)[i] == '\t'))
        i++;
    if (i == *ev_len || (*ev)[i] != '{') return 0;
    json_t *w = json_loadb((const char *)*ev, *ev_len, 0, NULL);
    const char *rep = json_string_value(json_object_get(w, "SnpReport"));
    const char *ch = json_string_value(json_object_get(w, "VcekCertChain"));
    int rc = 0;
    uint8_t *r = NULL;
    size_t rl = 0;
    if (!rep) {
        rc = fail(j, 400, "BadParameter", "%s",
                  "report: a JSON wrapper must carry \"SnpReport\" (and \"VcekCertChain\")");
        goto out;
    }
    if (svc_b64_decode_any(rep, &r, &rl, &e)) {
        rc = fail(j, 400, "BadParameter", "report.SnpReport: %s", e.msg);
        goto out;
    }
    if (ch) {
        free(*chain);
        *chain = NULL;
        if (svc_b64_decode_any(ch, chain, chain_len, &e)) {
            free(r);
            rc = fail(j, 400, "BadParameter", "report.VcekCertChain: %s", e.msg);
            goto out;
        }
    }
    free(*ev);
    *ev = r;
    *ev_len = rl;
out:
    json_decref(w);
    return rc;
}

static void attest_work(cloak_http_req *req, void *arg)
{
    attest_job *j = arg;
    cloak_attest_service *s = cloak_http_app(req);
    cloak_error e = {0};
    uint8_t *ev = NULL, *rt = NULL, *it = NULL, *chain = NULL;
    size_t ev_len = 0, rt_len = 0, it_len = 0, chain_len = 0, ncerts = 0;
    const uint8_t *certs[MAX_SNP_CERTS];
    size_t cert_lens[MAX_SNP_CERTS];
    json_t *claims = NULL, *incoming = NULL, *tok = NULL;
    svc_policy *pol = NULL, *draft = NULL;
    maa_result res = {0};
    static const cloak_tee_type tee[SVC_NTYPES] = {CLOAK_TEE_SGX, CLOAK_TEE_SGX, CLOAK_TEE_SNP,
                                                   CLOAK_TEE_TDX};
    static const char *ev_name[SVC_NTYPES] = {"quote", "report", "report", "quote"};

    if (svc_b64_decode_any(j->evidence, &ev, &ev_len, &e)) {
        j->status = 400;
        j->code = "BadParameter";
        snprintf(j->msg, sizeof j->msg, "%s: %s", ev_name[j->t], e.msg);
        goto out;
    }
    if (j->runtime && svc_b64_decode_any(j->runtime, &rt, &rt_len, &e)) {
        fail(j, 400, "BadParameter", "runtimeData.data: %s", e.msg);
        goto out;
    }
    if (j->inittime && svc_b64_decode_any(j->inittime, &it, &it_len, &e)) {
        fail(j, 400, "BadParameter", "initTimeData.data: %s", e.msg);
        goto out;
    }
    /* OpenEnclave's `report` is an oe_report: a 16-byte header (version 1, type 2 = remote,
     * u64 size of what follows; openenclave include/openenclave/bits/report.h) before the
     * SGX quote. A bare quote is accepted too. */
    if (j->t == SVC_OE && ev_len > 16 && cloak_get_u32le(ev) == 1 && cloak_get_u32le(ev + 4) == 2 &&
        cloak_get_u64le(ev + 8) == ev_len - 16) {
        memmove(ev, ev + 16, ev_len - 16);
        ev_len -= 16;
    }
    if (j->t == SVC_SNP) {
        if (j->vcek_chain && svc_b64_decode_any(j->vcek_chain, &chain, &chain_len, &e)) {
            fail(j, 400, "BadParameter", "VcekCertChain: %s", e.msg);
            goto out;
        }
        if (unwrap_snp(j, &ev, &ev_len, &chain, &chain_len)) goto out;
        if (chain) ncerts = split_certs(chain, chain_len, certs, cert_lens);
    }
    cloak_verify_opts o = {.type = tee[j->t],
                           .trust = s->trust,
                           .certs = certs,
                           .cert_lens = cert_lens,
                           .ncerts = ncerts,
                           .at = s->test_time ? s->test_time : time(NULL)};
    uint8_t fm[6];
    char fmspc[13];
    if (j->t != SVC_SNP && cloak_evidence_fmspc(s->trust, ev, ev_len, fm, NULL) == CLOAK_OK) {
        cloak_hex_write(fmspc, fm, sizeof fm);
        o.collateral = svc_collateral_for(s, j->t == SVC_TDX, fmspc);
    }
    if (cloak_evidence_verify(ev, ev_len, &o, &claims, &e)) {
        fail(j, 400, "InvalidEvidence", "The evidence does not verify: %s", e.msg);
        goto out;
    }
    svc_bound_data bd = {rt, rt_len, j->runtime_json, it, it_len, j->inittime_json};
    if (svc_check_binding(j->t, claims, &bd, &e)) {
        fail(j, 400,
             e.code != CLOAK_EVERIFY              ? "BadParameter"
             : !strncmp(e.msg, "runtimeData", 11) ? "RuntimeDataMismatch"
                                                  : "InitTimeDataMismatch",
             "%s", e.msg);
        goto out;
    }
    if (j->draft) {
        if (svc_policy_make(j->draft, strlen(j->draft), NULL, 0, &draft, &e)) {
            fail(j, 400, "InvalidPolicy", "draftPolicyForAttestation: %s", e.msg);
            goto out;
        }
    } else {
        pol = svc_policy_get(s, j->t);
    }
    const svc_policy *p = draft ? draft : pol;
    if (svc_map_claims(j->t, claims, &bd, p->hash, &incoming, &tok, &e)) {
        fail(j, 400, "BadParameter", "%s", e.msg);
        goto out;
    }
    if (p->signer) json_object_set(tok, "x-ms-policy-signer", p->signer);
    if (maa_policy_eval(p->parsed, incoming, &res, &e)) {
        fail(j, 400, "PolicyEvaluationError", "The attestation policy failed to evaluate: %s",
             e.msg);
        goto out;
    }
    if (!res.permitted) {
        fail(j, 400, "PolicyEvaluationError", "%s",
             "The attestation policy's authorization rules did not permit this evidence.");
        goto out;
    }
    /* Issued claims join the token, but never replace what the evidence says (a policy
     * cannot turn "x-cloak-sim" or "x-ms-sgx-is-debuggable" off) nor the JWT's own claims. */
    json_t *from_evidence = json_copy(tok);
    size_t i;
    json_t *c;
    json_array_foreach(res.issued, i, c)
    {
        const char *type = json_string_value(json_object_get(c, "type"));
        json_t *v = json_object_get(c, "value");
        static const char *const reserved[] = {"iss", "iat", "nbf", "exp", "jti", "nonce", NULL};
        int skip = !type || !v || !from_evidence || json_object_get(from_evidence, type);
        for (size_t k = 0; !skip && reserved[k]; k++)
            skip = !strcmp(type, reserved[k]);
        if (!skip) json_object_set(tok, type, v);
    }
    json_decref(from_evidence);
    if (j->nonce) json_object_set_new(tok, "nonce", json_string(j->nonce));
    char *token = NULL;
    if (svc_sign_token(s, tok, draft != NULL, &token, &e)) {
        fail(j, 500, "InternalError", "signing the token: %s", e.msg);
        goto out;
    }
    j->token = cloak_http_strdup(req, token);
    j->reply = token_reply(req, token);
    free(token);
    j->status = 200;
out:
    maa_result_free(&res);
    svc_policy_put(s, pol);
    svc_policy_put(s, draft);
    json_decref(claims);
    json_decref(incoming);
    json_decref(tok);
    free(ev);
    if (rt) cloak_free_secret(rt, rt_len); /* runtime data may carry key material */
    if (it) cloak_free_secret(it, it_len);
    free(chain);
}

static void reply_job(cloak_http_req *req, int status, const char *code, const char *msg,
                      const char *token)
{
    if (status == 200)
        cloak_http_reply_json(req, 200, json_pack("{s:s}", "token", token));
    else
        cloak_http_reply_error(req, status, code, "%s", msg);
}

static void attest_done(cloak_http_req *req, void *arg)
{
    attest_job *j = arg;
    if (j->status == 200 && j->reply)
        cloak_http_reply_text(req, 200, "application/json; charset=utf-8", j->reply,
                              strlen(j->reply));
    else
        reply_job(req, j->status, j->code, j->msg, j->token);
}

static void h_attest(cloak_http_req *req)
{
    int t = svc_type_parse(cloak_http_param(req, "type"));
    if (t < 0) {
        cloak_http_reply_error(req, 400, "BadParameter",
                               "Unsupported attestation type '%.64s' (SgxEnclave, OpenEnclave, "
                               "SevSnpVm, TdxVm).",
                               cloak_http_param(req, "type"));
        return;
    }
    json_t *body = cloak_http_body_json(req);
    if (!body) return; /* replied */
    attest_job *j = cloak_http_alloc(req, sizeof *j);
    j->t = (svc_type)t;
    const char *field = t == SVC_SGX || t == SVC_TDX ? "quote" : "report";
    const char *ev = json_string_value(json_object_get(body, field));
    if (!ev || !*ev) {
        cloak_http_reply_error(req, 400, "BadParameter",
                               "The request body has no \"%s\" (the evidence, base64url).", field);
        return;
    }
    j->evidence = cloak_http_strdup(req, ev);
    if (take_data(req, body, "runtimeData", &j->runtime, &j->runtime_json) ||
        take_data(req, body, "initTimeData", &j->inittime, &j->inittime_json))
        return;
    json_t *n = json_object_get(body, "nonce"),
           *d = json_object_get(body, "draftPolicyForAttestation");
    json_t *vc = json_object_get(body, "VcekCertChain");
    if ((n && !json_is_string(n)) || (d && !json_is_string(d)) || (vc && !json_is_string(vc))) {
        cloak_http_reply_error(
            req, 400, "BadParameter",
            "nonce, draftPolicyForAttestation and VcekCertChain must be strings.");
        return;
    }
    if (d && t == SVC_TDX) {
        cloak_http_reply_error(req, 400, "BadParameter",
                               "TdxVm takes no draftPolicyForAttestation (as in the MAA API).");
        return;
    }
    if (n) j->nonce = cloak_http_strdup(req, json_string_value(n));
    if (d) j->draft = cloak_http_strdup(req, json_string_value(d));
    if (vc) j->vcek_chain = cloak_http_strdup(req, json_string_value(vc));
    cloak_http_defer(req, attest_work, attest_done, j);
}

/* ---- policies: GET /policies/{type}, PUT /policies/{type}, POST /policies/{type}:reset ---- */
typedef struct {
    svc_type t;
    int op;     /* 0 get, 1 set, 2 reset, 3 list, 4 add, 5 remove policy signing certificates */
    char *body; /* request-owned, NUL-terminated */
    int status;
    const char *code;
    char msg[CLOAK_ERROR_MAX + 64];
    const char *token; /* request memory */
} policy_job;

static char *b64url_sha256(const char *s)
{
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256((const uint8_t *)s, strlen(s), d);
    return cloak_base64url_encode(d, sizeof d);
}

static void policy_work(cloak_http_req *req, void *arg)
{
    policy_job *j = arg;
    cloak_attest_service *s = cloak_http_app(req);
    cloak_error e = {0};
    svc_policy *np = NULL, *cur = NULL;
    json_t *tok = NULL;
    char *hash = NULL;
    j->status = 500;
    j->code = "InternalError";
    /* Administrative operations are serialised: the signer set they check and the policy they
     * replace cannot change underneath them. Attestations never take this lock. */
    pthread_mutex_lock(&s->write_lock);
    if (j->op == 4 || j->op == 5) {
        if (svc_signers_change(s, j->op == 4, j->body, &tok, &e)) {
            j->status = e.code == CLOAK_ENOMEM || e.code == CLOAK_EIO ? 500 : 400;
            j->code = e.code == CLOAK_EPERM ? "InvalidPolicySignature"
                      : j->status == 500    ? "InternalError"
                                            : "BadParameter";
            snprintf(j->msg, sizeof j->msg, "The certificate change is refused: %s", e.msg);
            goto out;
        }
        goto sign;
    }
    if (j->op == 1) {
        if (svc_policy_from_jws(s, j->body, strlen(j->body), 0, &np, &e)) {
            j->status = 400;
            j->code = e.code == CLOAK_EPERM                              ? "InvalidPolicySignature"
                      : e.code == CLOAK_EINVAL && strstr(e.msg, "line ") ? "InvalidPolicy"
                                                                         : "BadParameter";
            snprintf(j->msg, sizeof j->msg, "The policy is refused: %s", e.msg);
            goto out;
        }
    } else if (j->op == 2 && (*j->body || s->nsigners)) {
        /* isolated mode: a reset must be signed by a registered signer too */
        cloak_jws tmp = {0};
        if (svc_policy_jws_open(s, j->body, strlen(j->body), 0, &tmp, NULL, &e)) {
            j->status = 400;
            j->code = e.code == CLOAK_EPERM ? "InvalidPolicySignature" : "BadParameter";
            snprintf(j->msg, sizeof j->msg, "The reset request is refused: %s", e.msg);
            goto out;
        }
        cloak_jws_clear(&tmp);
    }
    if (j->op == 3) {
        json_t *keys = svc_signers_jwks(s);
        tok = keys ? json_pack("{s:{s:o}}", "x-ms-policy-certificates", "keys", keys) : NULL;
        goto sign;
    }
    if (j->op != 0) {
        if (svc_policy_set(s, j->t, np, &e)) {
            snprintf(j->msg, sizeof j->msg, "storing the policy: %s", e.msg);
            goto out;
        }
        np = NULL; /* the service owns it now */
    }
    cur = svc_policy_get(s, j->t);
    if (j->op == 0) {
        tok = json_pack("{s:s}", "x-ms-policy", cur->jws);
    } else {
        hash = b64url_sha256(j->body);
        tok = hash ? json_pack("{s:s,s:s,s:s}", "x-ms-policy-result",
                               j->op == 1 ? "Updated" : "Removed", "x-ms-policy-token-hash", hash,
                               "x-ms-policy", cur->jws)
                   : NULL;
    }
    if (tok && cur->signer) json_object_set(tok, "x-ms-policy-signer", cur->signer);
sign:;
    char *token = NULL;
    if (!tok || svc_sign_token(s, tok, 0, &token, &e)) {
        snprintf(j->msg, sizeof j->msg, "signing the answer: %s", tok ? e.msg : "out of memory");
        goto out;
    }
    j->token = cloak_http_strdup(req, token);
    free(token);
    j->status = 200;
out:
    pthread_mutex_unlock(&s->write_lock);
    svc_policy_put(s, np);
    svc_policy_put(s, cur);
    json_decref(tok);
    free(hash);
}

static void policy_done(cloak_http_req *req, void *arg)
{
    policy_job *j = arg;
    reply_job(req, j->status, j->code, j->msg, j->token);
}

static void policy_start(cloak_http_req *req, int op)
{
    int t = op >= 3 ? 0 : svc_type_parse(cloak_http_param(req, "type"));
    if (t < 0) {
        cloak_http_reply_error(req, 400, "BadParameter",
                               "No policy for attestation type '%.64s' (SgxEnclave, OpenEnclave, "
                               "SevSnpVm, TdxVm).",
                               cloak_http_param(req, "type"));
        return;
    }
    size_t len = 0;
    const uint8_t *b = cloak_http_body(req, &len);
    policy_job *j = cloak_http_alloc(req, sizeof *j);
    j->t = (svc_type)t;
    j->op = op;
    /* the JWS as text/plain; trailing white space (a newline from a file) is not part of it */
    while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == '\r' || b[len - 1] == ' '))
        len--;
    if (memchr(b, 0, len)) {
        cloak_http_reply_error(req, 400, "BadParameter", "The request body holds a NUL byte.");
        return;
    }
    j->body = cloak_http_alloc(req, len + 1);
    memcpy(j->body, b, len);
    if (op == 1 && len == 0) {
        cloak_http_reply_error(req, 400, "BadParameter",
                               "The request body must be the policy JWS (text/plain).");
        return;
    }
    cloak_http_defer(req, policy_work, policy_done, j);
}

static void h_policy_get(cloak_http_req *req)
{
    policy_start(req, 0);
}
static void h_policy_set(cloak_http_req *req)
{
    policy_start(req, 1);
}
static void h_policy_reset(cloak_http_req *req)
{
    policy_start(req, 2);
}
static void h_certificates(cloak_http_req *req)
{
    policy_start(req, 3);
}
static void h_certificates_add(cloak_http_req *req)
{
    policy_start(req, 4);
}
static void h_certificates_remove(cloak_http_req *req)
{
    policy_start(req, 5);
}

const cloak_http_route svc_routes[] = {
    {"GET", "/certs", NULL, 0, h_certs},
    {"GET", "/.well-known/openid-configuration", NULL, 0, h_openid},
    {"POST", "/attest/{type}", attest_versions, 0, h_attest},
    {"POST", "/policies/{type}:reset", attest_versions, 0, h_policy_reset},
    {"GET", "/policies/{type}", attest_versions, 0, h_policy_get},
    {"PUT", "/policies/{type}", attest_versions, 0, h_policy_set},
    {"GET", "/certificates", attest_versions, 0, h_certificates},
    {"POST", "/certificates:add", attest_versions, 0, h_certificates_add},
    {"POST", "/certificates:remove", attest_versions, 0, h_certificates_remove},
};
const size_t svc_nroutes = sizeof svc_routes / sizeof svc_routes[0];
