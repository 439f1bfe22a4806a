/* The attestation client (POST /attest/{type}) and the URL helpers of the relying party. */
#include "cloak/attest.h"
#include "cloak/http.h"
#include "cloak/jose.h"

#include "attest/rp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- URLs ---- */

#define HTTPS "https://"

cloak_err attest_url_normalize(const char *url, const char *what, char **out, cloak_error *why)
{
    if (!url || strncasecmp(url, HTTPS, strlen(HTTPS)))
        return cloak_error_set(why, CLOAK_EINVAL, "%s URL \"%.200s\" must start with https://",
                               what, url ? url : "");
    const char *host = url + strlen(HTTPS);
    size_t alen = strcspn(host, "/?#");
    if (!alen)
        return cloak_error_set(why, CLOAK_EINVAL, "%s URL \"%.200s\" has no host", what, url);
    if (memchr(host, '@', alen))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "%s URL \"%.200s\" carries user info ('@'); refused", what, url);
    if (strpbrk(url, "?#"))
        return cloak_error_set(why, CLOAK_EINVAL, "%s URL \"%.200s\" has a query or fragment", what,
                               url);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return cloak_error_set(why, CLOAK_EINVAL, "%s URL has a space or control character",
                                   what);
    size_t n = strlen(url);
    while (n > strlen(HTTPS) + alen && url[n - 1] == '/')
        n--;
    char *s = strndup(url, n);
    if (!s) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    *out = s;
    return CLOAK_OK;
}

/* Split "https://host[:port]..." into host and port; -1 if it does not parse. */
static int origin_of(const char *url, const char **host, size_t *hlen, unsigned *port)
{
    if (!url || strncasecmp(url, HTTPS, strlen(HTTPS))) return -1;
    const char *a = url + strlen(HTTPS);
    size_t alen = strcspn(a, "/?#");
    if (!alen || memchr(a, '@', alen)) return -1;
    const char *colon = NULL;
    if (a[0] == '[') { /* IPv6 literal */
        const char *rb = memchr(a, ']', alen);
        if (!rb) return -1;
        colon = (size_t)(rb + 1 - a) < alen ? rb + 1 : NULL;
        if (colon && *colon != ':') return -1;
    } else
        colon = memchr(a, ':', alen);
    *host = a;
    *hlen = colon ? (size_t)(colon - a) : alen;
    *port = 443;
    if (colon) {
        unsigned long v = 0;
        const char *p = colon + 1, *end = a + alen;
        if (p == end) return -1;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9') return -1;
            v = v * 10 + (unsigned long)(*p - '0');
            if (v > 65535) return -1;
        }
        *port = (unsigned)v;
    }
    return *hlen ? 0 : -1;
}

int attest_same_origin(const char *a, const char *b)
{
    const char *ha, *hb;
    size_t la, lb;
    unsigned pa, pb;
    if (origin_of(a, &ha, &la, &pa) || origin_of(b, &hb, &lb, &pb)) return 0;
    return la == lb && !strncasecmp(ha, hb, la) && pa == pb;
}

/* ---- the client ---- */

static const char *route_for(cloak_tee_type t)
{
    switch (t) {
    case CLOAK_TEE_SGX:
        return "SgxEnclave";
    case CLOAK_TEE_TDX:
        return "TdxVm";
    case CLOAK_TEE_SNP:
        return "SevSnpVm";
    default:
        return NULL;
    }
}

static cloak_err put_b64url(json_t *o, const char *name, const uint8_t *p, size_t len,
                            cloak_error *why)
{
    char *s = cloak_base64url_encode(p, len);
    if (!s || json_object_set_new(o, name, json_string(s))) {
        free(s);
        return cloak_error_set(why, CLOAK_ENOMEM, "attest request: out of memory");
    }
    free(s);
    return CLOAK_OK;
}

/* The request body of azure-api.md §1: every byte field base64url without padding. */
static cloak_err build_body(cloak_tee_type type, const uint8_t *evidence, size_t len,
                            const uint8_t *rd, size_t rd_len, int rd_json, const char *nonce,
                            char **out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    json_t *body = json_object(), *rdo = NULL;
    if (!body) return cloak_error_set(why, CLOAK_ENOMEM, "attest request: out of memory");
    /* SevSnpVm carries the report as "report"; SgxEnclave and TdxVm as "quote" (routes.tsp). */
    if ((rc = put_b64url(body, type == CLOAK_TEE_SNP ? "report" : "quote", evidence, len, why)))
        goto out;
    if (rd) {
        if (rd_json) {
            json_error_t je;
            json_t *probe = json_loadb((const char *)rd, rd_len, JSON_DECODE_ANY, &je);
            if (!probe) {
                rc = cloak_error_set(
                    why, CLOAK_EINVAL,
                    "runtime data given as JSON is not JSON (line %d, column %d: %s)", je.line,
                    je.column, je.text);
                goto out;
            }
            json_decref(probe);
        }
        rdo = json_object();
        if (!rdo || json_object_set(body, "runtimeData", rdo) ||
            json_object_set_new(rdo, "dataType", json_string(rd_json ? "JSON" : "Binary"))) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "attest request: out of memory");
            goto out;
        }
        if ((rc = put_b64url(rdo, "data", rd, rd_len, why))) goto out;
    }
    if (nonce && json_object_set_new(body, "nonce", json_string(nonce))) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "nonce is not valid UTF-8");
        goto out;
    }
    char *s = json_dumps(body, JSON_COMPACT);
    if (!s) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "attest request: out of memory");
        goto out;
    }
    *out = s;
out:
    json_decref(rdo);
    json_decref(body);
    return rc;
}

/* Map a non-200 reply, Azure-shaped {"error":{"code","message"}} when it is, into `why`. */
static cloak_err reply_error(const char *url, const cloak_http_response *r, cloak_error *why)
{
    cloak_err code = r->status == 400                       ? CLOAK_EVERIFY
                     : r->status == 401 || r->status == 403 ? CLOAK_EPERM
                     : r->status == 404                     ? CLOAK_ENOTFOUND
                                                            : CLOAK_EIO;
    json_error_t je;
    json_t *j = json_loadb((const char *)r->body.p, r->body.len, 0, &je);
    json_t *err = json_object_get(j, "error");
    const char *ec = json_string_value(json_object_get(err, "code"));
    const char *em = json_string_value(json_object_get(err, "message"));
    if (ec || em)
        cloak_error_set(why, code,
                        "attestation service refused the request (HTTP %ld, %.60s): %.300s",
                        r->status, ec ? ec : "no code", em ? em : "(no message)");
    else
        cloak_error_set(why, code,
                        "attestation service %s answered HTTP %ld without an error object", url,
                        r->status);
    json_decref(j);
    return code;
}

cloak_err cloak_attest_request(const char *service_url, const char *ca_file, cloak_tee_type type,
                               const uint8_t *evidence, size_t len, const uint8_t *runtime_data,
                               size_t rd_len, int runtime_json, const char *nonce, char **token,
                               cloak_error *why)
{
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    char *base = NULL, *url = NULL, *body = NULL;
    cloak_http_response r;
    int have_r = 0;
    json_t *j = NULL;
    cloak_err rc = CLOAK_OK;
    const char *route = route_for(type);
    if (!route)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "attest request: evidence type must be sgx, tdx or snp");
    if (!evidence || !len || !token)
        return cloak_error_set(why, CLOAK_EINVAL, "attest request: no evidence or output");
    if ((rc = attest_url_normalize(service_url, "attestation service", &base, why))) return rc;
    size_t ul = strlen(base) + strlen(route) +
                sizeof "/attest/?api-version=" + strlen(CLOAK_ATTEST_API_VERSION);
    if (!(url = malloc(ul))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "attest request: out of memory");
        goto out;
    }
    snprintf(url, ul, "%s/attest/%s?api-version=%s", base, route, CLOAK_ATTEST_API_VERSION);
    if ((rc = build_body(type, evidence, len, runtime_data, rd_len, runtime_json, nonce, &body,
                         why)))
        goto out;
    if ((rc = cloak_http_fetch("POST", url, ca_file, headers, (const uint8_t *)body, strlen(body),
                               &r, why))) {
        cloak_error_wrap(why, "POST %s", url);
        goto out;
    }
    have_r = 1;
    if (r.status != 200) {
        rc = reply_error(url, &r, why);
        goto out;
    }
    json_error_t je;
    j = json_loadb((const char *)r.body.p, r.body.len, 0, &je);
    const char *t = json_string_value(json_object_get(j, "token"));
    if (!t || !*t) {
        rc = cloak_error_set(why, CLOAK_EIO,
                             "attestation service %s answered 200 without a \"token\" string", url);
        goto out;
    }
    char *copy = strdup(t);
    if (!copy) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "attest request: out of memory");
        goto out;
    }
    *token = copy;
out:
    json_decref(j);
    if (have_r) cloak_http_response_free(&r);
    free(body);
    free(url);
    free(base);
    return rc;
}
