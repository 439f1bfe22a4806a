/* The vault service object (store, enclave key custody, auth, audit, the release signing key,
 * the trusted attestation issuers around the HTTPS core) and the request job: every route runs
 * on a worker as authorise -> parse -> operate -> audit, then replies on the loop. */
#include "vault/service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- answers ---- */
int vfail(vjob *j, int status, const char *code, const char *inner, const char *fmt, ...)
{
    va_list ap;
    j->status = status;
    snprintf(j->code, sizeof j->code, "%s", code);
    snprintf(j->inner, sizeof j->inner, "%s", inner ? inner : "");
    va_start(ap, fmt);
    vsnprintf(j->msg, sizeof j->msg, fmt, ap);
    va_end(ap);
    json_decref(j->reply);
    j->reply = NULL;
    return -1;
}

int vfail_err(vjob *j, const cloak_error *e)
{
    const char *m = e && e->msg[0] ? e->msg : "failed";
    switch (e ? e->code : CLOAK_EINTERNAL) {
    case CLOAK_EINVAL:
        return vfail(j, 400, "BadParameter", NULL, "%s", m);
    case CLOAK_EVERIFY:
        return vfail(j, 400, "BadParameter", "VerificationFailed", "%s", m);
    case CLOAK_ENOTFOUND:
        return vfail(j, 404, "KeyNotFound", NULL, "%s", m);
    case CLOAK_EEXIST:
        return vfail(j, 409, "Conflict", NULL, "%s", m);
    case CLOAK_EPERM:
        return vfail(j, 403, "Forbidden", NULL, "%s", m);
    default:
        return vfail(j, 500, "InternalError", NULL, "%s", m);
    }
}

void vok(vjob *j, int status, json_t *reply)
{
    j->status = status;
    json_decref(j->reply);
    j->reply = reply;
    if (!reply && status != 204) vfail(j, 500, "InternalError", NULL, "out of memory");
}

/* ---- the job ---- */
static void job_free(void *p)
{
    vjob *j = p;
    json_decref(j->body);
    json_decref(j->reply);
    free(j);
}

static void job_audit(vjob *j)
{
    cloak_error e = {0};
    cloak_vault_audit_entry a = {
        .time = time(NULL),
        .request_id = cloak_http_request_id(j->req),
        .caller = j->who.subject[0] ? j->who.subject : "-",
        .roles = j->who.roles[0] ? j->who.roles : NULL,
        .op = j->op->name,
        .key = j->name,
        .version = j->version,
        .status = j->status,
        .outcome = j->status < 400 ? "ok" : j->code,
    };
    if (cloak_vault_audit_append(j->s->audit, &a, &e)) {
        /* An answer that cannot be audited is not given. */
        fprintf(stderr, "cloak vault: audit append failed: %s\n", e.msg);
        vfail(j, 500, "InternalError", NULL, "the audit log could not be written: %s", e.msg);
    }
}

static void job_work(cloak_http_req *req, void *arg)
{
    vjob *j = arg;
    cloak_error e = {0};
    j->now = j->s->test_time ? j->s->test_time : time(NULL);
    const char *authz = cloak_http_header(req, "Authorization");
    if (cloak_vault_auth_check(j->s->auth, authz, j->now, &j->who, &e)) {
        j->challenge = 1;
        vfail(j, 401, "Unauthorized", NULL, "%s", e.msg);
        memset(&j->who, 0, sizeof j->who);
        goto audit;
    }
    if (!(j->who.perms & j->op->perm)) {
        vfail(j, 403, "Forbidden", "ForbiddenByRbac",
              "Caller '%s' (roles: %s) is not authorized to perform '%s': the role does not "
              "grant this data action. Ask an administrator for a role that does "
              "(docs/VAULT.md lists them).",
              j->who.subject, j->who.roles[0] ? j->who.roles : "none", j->op->name);
        goto audit;
    }
    if (j->op->body) {
        size_t len;
        const uint8_t *b = cloak_http_body(req, &len);
        json_error_t je;
        if (!len) {
            vfail(j, 400, "BadParameter", NULL, "The request body is missing: send a JSON object.");
            goto audit;
        }
        j->body = json_loadb((const char *)b, len, JSON_REJECT_DUPLICATES, &je);
        if (!j->body || !json_is_object(j->body)) {
            if (j->body)
                vfail(j, 400, "BadParameter", NULL, "The request body must be a JSON object.");
            else
                vfail(j, 400, "BadParameter", NULL,
                      "The request body is not valid JSON (line %d, column %d): %s", je.line,
                      je.column, je.text);
            goto audit;
        }
    }
    j->op->fn(j);
audit:
    job_audit(j);
}

/* A release answers {"value": <JWS>} with a JWS of several KiB. A compact JWS is base64url and
 * dots only, which JSON never escapes, so the text is exactly what json_dumps(JSON_COMPACT)
 * writes; building it directly spares the loop thread a character-by-character dump. 0 when
 * the reply has any other shape (it then goes through jansson). */
static int reply_value_only(cloak_http_req *req, int status, const json_t *reply)
{
    const char *v = json_string_value(json_object_get(reply, "value"));
    if (!v || json_object_size(reply) != 1) return 0;
    size_t n = strlen(v);
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    static const char pre[] = "{\"value\":\"", post[] = "\"}";
    char *text = cloak_http_alloc(req, sizeof pre - 1 + n + sizeof post);
    memcpy(text, pre, sizeof pre - 1);
    memcpy(text + sizeof pre - 1, v, n);
    memcpy(text + sizeof pre - 1 + n, post, sizeof post);
    cloak_http_reply_text(req, status, "application/json; charset=utf-8", text, strlen(text));
    return 1;
}

static void job_done(cloak_http_req *req, void *arg)
{
    vjob *j = arg;
    if (j->challenge) {
        char h[1024];
        snprintf(h, sizeof h, "Bearer authorization=\"%s\", resource=\"%s\"", j->s->authority,
                 j->s->resource);
        cloak_http_add_header(req, "WWW-Authenticate", h);
    }
    if (j->status >= 400) {
        if (j->inner[0])
            cloak_http_reply_json(req, j->status,
                                  json_pack("{s:{s:s,s:s,s:{s:s}}}", "error", "code", j->code,
                                            "message", j->msg, "innererror", "code", j->inner));
        else
            cloak_http_reply_error(req, j->status, j->code, "%s", j->msg);
    } else if (j->status == 204 || !j->reply) {
        cloak_http_reply_empty(req, j->status ? j->status : 204);
    } else if (!reply_value_only(req, j->status, j->reply)) {
        cloak_http_reply_json(req, j->status, json_incref(j->reply));
    }
}

void vault_start_job(cloak_http_req *req, const vop *op)
{
    vjob *j = calloc(1, sizeof *j);
    if (!j) {
        cloak_http_reply_error(req, 500, "InternalError", "out of memory");
        return;
    }
    j->s = cloak_http_app(req);
    j->req = req;
    j->op = op;
    j->name = cloak_http_param(req, "name");
    j->version = cloak_http_param(req, "version");
    cloak_http_on_end(req, job_free, j);
    cloak_http_defer(req, job_work, job_done, j);
}

/* ---- the service ---- */
static void svc_free_all(cloak_vault_service *s)
{
    if (!s) return;
    cloak_http_server_free(s->http);
    cloak_vault_audit_close(s->audit);
    cloak_vault_auth_free(s->auth);
    cloak_vault_keyops_free(s->ko);
    cloak_vault_store_close(s->store);
    cloak_attest_rp_free(s->rp);
    vault_release_key_free(s);
    free(s->data_dir);
    free(s->url);
    free(s->resource);
    free(s->authority);
    free(s);
}

#define TRY_STR(dst, ...)                                                                          \
    do {                                                                                           \
        if (asprintf(&(dst), __VA_ARGS__) < 0) {                                                   \
            (dst) = NULL;                                                                          \
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");                              \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

cloak_err cloak_vault_service_new(const cloak_vault_service_config *cfg, cloak_vault_service **out,
                                  cloak_error *why)
{
    cloak_err rc;
    char *db = NULL;
    cloak_vault_service *s = calloc(1, sizeof *s);
    if (!s) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    if (!cfg->data_dir || !*cfg->data_dir) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "a data directory is required (--data DIR)");
        goto out;
    }
    if ((!cfg->tls_cert) != (!cfg->tls_key)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "--tls-cert and --tls-key go together");
        goto out;
    }
    TRY_STR(s->data_dir, "%s", cfg->data_dir);
    s->test_time = cfg->test_time;
    unsigned workers = cfg->workers ? cfg->workers : 2;
    if ((rc = cloak_mkdirs(s->data_dir, 0700, why))) goto out;
    TRY_STR(db, "%s/vault.db", s->data_dir);
    if ((rc = cloak_vault_store_open(db, &s->store, why))) goto out;
    cloak_vault_keyops_config kc = {
        .enclave_path = cfg->enclave_path,
        .data_dir = s->data_dir,
        .platform_dir = cfg->platform_dir,
        .lanes = workers,
    };
    if ((rc = cloak_vault_keyops_open(&kc, &s->ko, why))) goto out;
    if ((rc = cloak_vault_audit_open(s->data_dir, &s->audit, why))) goto out;
    if ((rc = vault_release_key_load(s, why))) goto out;

    cloak_http_config hc = {
        .host = cfg->host,
        .port = cfg->port,
        .cert_file = cfg->tls_cert,
        .key_file = cfg->tls_key,
        .tls_dir = s->data_dir,
        .routes = vault_routes,
        .nroutes = vault_nroutes,
        .app = s,
        .workers = workers,
        .access_log = cfg->access_log,
    };
    if ((rc = cloak_http_server_new(&hc, &s->http, why))) goto out;
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    if (cfg->base_url)
        TRY_STR(s->url, "%s", cfg->base_url);
    else
        TRY_STR(s->url, strchr(host, ':') ? "https://[%s]:%u" : "https://%s:%u", host,
                (unsigned)cloak_http_server_port(s->http));
    size_t ul = strlen(s->url);
    while (ul > 0 && s->url[ul - 1] == '/')
        s->url[--ul] = 0;
    TRY_STR(s->resource, "%s", cfg->audience ? cfg->audience : s->url);
    TRY_STR(s->authority, "%s/%s", s->url, cfg->tenant ? cfg->tenant : "cloak");
    snprintf(s->ca, sizeof s->ca, "%s", cloak_http_server_tls(s->http)->ca);

    cloak_vault_auth_config ac = {
        .data_dir = s->data_dir,
        .oidc_issuers = cfg->auth_issuers,
        .ca_file = cfg->ca_file,
        .audience = s->resource,
    };
    if ((rc = cloak_vault_auth_new(&ac, &s->auth, why))) goto out;
    if (cfg->trust_issuers && cfg->trust_issuers[0]) {
        cloak_attest_rp_config rc_cfg = {.issuers = cfg->trust_issuers, .ca_file = cfg->ca_file};
        if ((rc = cloak_attest_rp_new(&rc_cfg, &s->rp, why))) goto out;
    }
    *out = s;
    s = NULL;
    rc = CLOAK_OK;
out:
    free(db);
    svc_free_all(s);
    return rc;
}

cloak_err cloak_vault_service_start(cloak_vault_service *s, cloak_error *why)
{
    return cloak_http_server_start(s->http, why);
}

cloak_err cloak_vault_service_run(cloak_vault_service *s, cloak_error *why)
{
    return cloak_http_server_run(s->http, why);
}

void cloak_vault_service_stop(cloak_vault_service *s)
{
    if (s) cloak_http_server_stop(s->http);
}

void cloak_vault_service_free(cloak_vault_service *s)
{
    svc_free_all(s);
}

uint16_t cloak_vault_service_port(const cloak_vault_service *s)
{
    return cloak_http_server_port(s->http);
}

const char *cloak_vault_service_url(const cloak_vault_service *s)
{
    return s->url;
}

const char *cloak_vault_service_ca(const cloak_vault_service *s)
{
    return s->ca;
}
