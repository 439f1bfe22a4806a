/* The vault client (include/cloak/vault.h): the client object, requests with the bearer token
 * over one kept-alive HTTPS connection, the vault's error answers mapped to cloak_err, and the
 * key management calls (create, get, list with nextLink, delete, recover, purge).
 *
 * Trust: the vault's certificate is verified (libcurl, against ca_file); its answers are
 * untrusted JSON, type-checked before use. The token lives only in c->auth (wiped on free) and
 * in libcurl's transient header list; it is never part of an error message. A nextLink is
 * followed only below the client's own URL, so the token is never sent to another origin. */
#include "vault/client_int.h"

#include "cloak/jose.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAGES 100000 /* a vault that never stops paging is broken */
#define MAX_URL 4096

/* ---- the client ---- */
cloak_err cloak_vault_client_new(const char *url, const char *ca_file, const char *token,
                                 cloak_vault_client **out, cloak_error *why)
{
    if (!out) return cloak_error_set(why, CLOAK_EINVAL, "vault client: no output pointer");
    *out = NULL;
    if (!url || strncmp(url, "https://", 8) || strlen(url) <= 8 || strlen(url) > 1024)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "vault URL '%.200s' must start with https:// and name a host "
                               "(e.g. https://127.0.0.1:9443)",
                               url ? url : "");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "vault URL must be a plain base URL without spaces, query or "
                                   "fragment (e.g. https://127.0.0.1:9443)");
    if (!token || !*token)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "no bearer token: get one with `cloak vault token` (or from your "
                               "OIDC issuer)");
    for (const char *p = token; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "the bearer token contains a space or control character at "
                                   "offset %zu: a token is one line of printable text",
                                   (size_t)(p - token));
    cloak_vault_client *c = calloc(1, sizeof *c);
    if (!c) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    cloak_err rc = cloak_http_client_new(ca_file, &c->http, why);
    if (rc) goto fail;
    c->url = strdup(url);
    size_t tl = strlen(token);
    c->auth_len = sizeof "Authorization: Bearer " + tl;
    c->auth = malloc(c->auth_len);
    if (!c->url || !c->auth) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(c->auth, "Authorization: Bearer ", sizeof "Authorization: Bearer " - 1);
    memcpy(c->auth + sizeof "Authorization: Bearer " - 1, token, tl + 1);
    size_t ul = strlen(c->url);
    while (ul > 8 && c->url[ul - 1] == '/')
        c->url[--ul] = 0;
    *out = c;
    return CLOAK_OK;
fail:
    cloak_vault_client_free(c);
    return rc;
}

void cloak_vault_client_free(cloak_vault_client *c)
{
    if (!c) return;
    cloak_http_client_free(c->http);
    if (c->auth) cloak_free_secret(c->auth, c->auth_len);
    free(c->url);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
}

const char *cloak_vault_client_url(const cloak_vault_client *c)
{
    return c->url;
}

const cloak_vault_status *cloak_vault_client_last(const cloak_vault_client *c)
{
    return &c->last;
}

/* ---- helpers ---- */
cloak_err vc_check_name(const char *what, const char *s, cloak_error *why)
{
    size_t n = s ? strlen(s) : 0;
    int ok = n >= 1 && n <= 127;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = s[i];
        ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
             ch == '-';
    }
    if (ok) return CLOAK_OK;
    return cloak_error_set(why, CLOAK_EINVAL,
                           "%s '%.64s' is not valid: use 1-127 letters, digits and dashes", what,
                           s ? s : "");
}

static void wipe_strings(json_t *j)
{
    if (json_is_string(j)) {
        OPENSSL_cleanse((char *)json_string_value(j), json_string_length(j));
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            wipe_strings(v);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            wipe_strings(v);
        }
    }
}

void vc_json_wipe_decref(json_t *j)
{
    if (!j) return;
    if (j->refcount == 1) wipe_strings(j); /* only when this is the last reference */
    json_decref(j);
}

static const char *reason(long st)
{
    switch (st) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "";
    }
}

/* Copy untrusted text for a message: printable ASCII only, bounded. */
static void printable(char *dst, size_t dst_len, const char *src)
{
    size_t o = 0;
    for (; src && *src && o + 1 < dst_len; src++)
        dst[o++] = ((unsigned char)*src >= 0x20 && (unsigned char)*src < 0x7f) ? *src : '?';
    dst[o] = 0;
}

/* A non-2xx answer -> cloak_err + "HTTP 403 Forbidden (PolicyNotSatisfied): message". */
static cloak_err map_error(cloak_vault_client *c, const cloak_http_response *r, cloak_error *why)
{
    long st = r->status;
    json_t *j = r->body.len ? json_loadb((const char *)r->body.p, r->body.len, 0, NULL) : NULL;
    json_t *e = json_object_get(j, "error");
    char code[64], inner[64], msg[CLOAK_ERROR_MAX];
    printable(code, sizeof code, json_string_value(json_object_get(e, "code")));
    printable(inner, sizeof inner,
              json_string_value(json_object_get(json_object_get(e, "innererror"), "code")));
    printable(msg, sizeof msg, json_string_value(json_object_get(e, "message")));
    json_decref(j);
    snprintf(c->last.code, sizeof c->last.code, "%s", code);
    snprintf(c->last.inner, sizeof c->last.inner, "%s", inner);
    if (!msg[0]) snprintf(msg, sizeof msg, "the vault gave no error message");
    cloak_err ce = st == 401 || st == 403 ? CLOAK_EPERM
                   : st == 404            ? CLOAK_ENOTFOUND
                   : st == 409            ? CLOAK_EEXIST
                   : st == 400            ? CLOAK_EINVAL
                                          : CLOAK_EIO;
    const char *name = code[0] ? code : reason(st);
    return cloak_error_set(why, ce, "HTTP %ld%s%s%s%s%s: %s", st, name[0] ? " " : "", name,
                           inner[0] ? " (" : "", inner, inner[0] ? ")" : "", msg);
}

cloak_err vc_call_url(cloak_vault_client *c, const char *method, const char *url,
                      const json_t *body, unsigned flags, json_t **out, cloak_error *why)
{
    cloak_http_response r = {0};
    char *text = NULL;
    size_t tlen = 0;
    cloak_err rc;
    if (out) *out = NULL;
    memset(&c->last, 0, sizeof c->last);
    if (body) {
        if (!(text = json_dumps(body, JSON_COMPACT)))
            return cloak_error_set(why, CLOAK_ENOMEM, "out of memory encoding the request");
        tlen = strlen(text);
    }
    const char *hdrs[] = {"Accept: application/json",
                          body ? "Content-Type: application/json" : c->auth, body ? c->auth : NULL,
                          NULL};
    rc = cloak_http_client_fetch(c->http, method, url, hdrs, (const uint8_t *)text, tlen, &r, why);
    if (text) cloak_free_secret(text, tlen);
    if (rc) return cloak_error_wrap(why, "reaching the vault");
    c->last.status = r.status;
    c->last.new_connections = r.new_connections;
    if (!cloak_http_response_header(&r, "x-ms-request-id", c->last.request_id,
                                    sizeof c->last.request_id))
        c->last.request_id[0] = 0;
    if (r.status < 200 || r.status > 299) {
        rc = map_error(c, &r, why);
        goto out;
    }
    if (r.body.len && out) {
        json_error_t je;
        json_t *j = json_loadb((const char *)r.body.p, r.body.len, 0, &je);
        if (!j || !json_is_object(j)) {
            json_decref(j);
            rc = cloak_error_set(why, CLOAK_EIO,
                                 "%s %s: HTTP %ld with a body that is not a JSON object%s%s",
                                 method, url, r.status, j ? "" : ": ", j ? "" : je.text);
            goto out;
        }
        *out = j;
    }
    rc = CLOAK_OK;
out:
    if (flags & VC_SECRET_REPLY) cloak_buf_free_secret(&r.body);
    cloak_http_response_free(&r);
    return rc;
}

cloak_err vc_call(cloak_vault_client *c, const char *method, const char *path, const json_t *body,
                  unsigned flags, json_t **out, cloak_error *why)
{
    char url[MAX_URL];
    if (!path || path[0] != '/')
        return cloak_error_set(why, CLOAK_EINVAL, "vault path must start with '/'");
    int n = snprintf(url, sizeof url, "%s%s%capi-version=%s", c->url, path,
                     strchr(path, '?') ? '&' : '?', CLOAK_VAULT_API_VERSION);
    if (n < 0 || (size_t)n >= sizeof url)
        return cloak_error_set(why, CLOAK_EINVAL, "vault request URL too long");
    return vc_call_url(c, method, url, body, flags, out, why);
}

cloak_err cloak_vault_call(cloak_vault_client *c, const char *method, const char *path,
                           const json_t *body, json_t **out, cloak_error *why)
{
    if (!c || !method) return cloak_error_set(why, CLOAK_EINVAL, "cloak_vault_call: no client");
    for (const char *p = path; p && *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#')
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "vault path has a space or control character");
    return vc_call(c, method, path, body, 0, out, why);
}

/* A key bundle answer must at least carry key.kid. */
static cloak_err want_bundle(json_t **b, const char *what, cloak_error *why)
{
    if (*b && json_is_string(json_object_get(json_object_get(*b, "key"), "kid"))) return CLOAK_OK;
    json_decref(*b);
    *b = NULL;
    return cloak_error_set(why, CLOAK_EIO, "%s: the vault's answer is not a key bundle", what);
}

/* ---- key management ---- */
static cloak_err create_body(const cloak_vault_key_spec *s, json_t **out, cloak_error *why)
{
    cloak_err rc;
    json_t *b = json_pack("{s:s}", "kty", s->kty);
    json_t *attrs = json_object();
    if (!b || !attrs) goto oom;
    if (s->key_size) json_object_set_new(b, "key_size", json_integer(s->key_size));
    if (s->crv) json_object_set_new(b, "crv", json_string(s->crv));
    if (s->key_ops) {
        json_t *ops = json_array();
        for (size_t i = 0; ops && s->key_ops[i]; i++)
            json_array_append_new(ops, json_string(s->key_ops[i]));
        if (!ops) goto oom;
        json_object_set_new(b, "key_ops", ops);
    }
    if (s->disabled) json_object_set_new(attrs, "enabled", json_false());
    if (s->exportable) json_object_set_new(attrs, "exportable", json_true());
    if (s->nbf) json_object_set_new(attrs, "nbf", json_integer(s->nbf));
    if (s->exp) json_object_set_new(attrs, "exp", json_integer(s->exp));
    json_object_set(b, "attributes", attrs);
    if (s->tags) {
        if (!json_is_object(s->tags)) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "tags must be a JSON object of strings");
            goto fail;
        }
        json_object_set_new(b, "tags", json_deep_copy(s->tags));
    }
    if (s->release_policy) {
        json_error_t je;
        json_t *doc = json_loads(s->release_policy, 0, &je);
        int obj = json_is_object(doc);
        json_decref(doc);
        if (!obj) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "the release policy is not a JSON object (line %d: %s); see "
                                 "docs/VAULT.md for the grammar",
                                 je.line, doc ? "not an object" : je.text);
            goto fail;
        }
        char *data =
            cloak_base64url_encode((const uint8_t *)s->release_policy, strlen(s->release_policy));
        if (!data) goto oom;
        json_object_set_new(b, "release_policy",
                            json_pack("{s:s,s:s,s:b}", "contentType",
                                      "application/json; charset=utf-8", "data", data, "immutable",
                                      s->release_policy_immutable ? 1 : 0));
        free(data);
    }
    json_decref(attrs);
    *out = b;
    return CLOAK_OK;
oom:
    rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
fail:
    json_decref(attrs);
    json_decref(b);
    return rc;
}

cloak_err cloak_vault_key_create(cloak_vault_client *c, const char *name,
                                 const cloak_vault_key_spec *spec, json_t **bundle,
                                 cloak_error *why)
{
    char path[200];
    cloak_err rc;
    if (bundle) *bundle = NULL;
    if (!c || !spec || !spec->kty)
        return cloak_error_set(why, CLOAK_EINVAL, "key create: a key type (kty) is required");
    if ((rc = vc_check_name("key name", name, why))) return rc;
    json_t *body = NULL, *b = NULL;
    if ((rc = create_body(spec, &body, why))) return rc;
    snprintf(path, sizeof path, "/keys/%s/create", name);
    rc = vc_call(c, "POST", path, body, 0, &b, why);
    json_decref(body);
    if (!rc) rc = want_bundle(&b, "key create", why);
    if (!rc && bundle)
        *bundle = b;
    else
        json_decref(b);
    return rc;
}

cloak_err cloak_vault_key_get(cloak_vault_client *c, const char *name, const char *version,
                              json_t **bundle, cloak_error *why)
{
    char path[300];
    cloak_err rc;
    if (bundle) *bundle = NULL;
    if (!c || !bundle) return cloak_error_set(why, CLOAK_EINVAL, "key get: missing argument");
    if ((rc = vc_check_name("key name", name, why))) return rc;
    if (version && *version && (rc = vc_check_name("key version", version, why))) return rc;
    snprintf(path, sizeof path, "/keys/%s/%s", name, version && *version ? version : "");
    if ((rc = vc_call(c, "GET", path, NULL, 0, bundle, why))) return rc;
    return want_bundle(bundle, "key get", why);
}

/* DELETE /keys/{name}, POST /deletedkeys/{name}/recover, DELETE /deletedkeys/{name}. */
static cloak_err lifecycle(cloak_vault_client *c, const char *method, const char *prefix,
                           const char *suffix, const char *name, json_t **out, const char *what,
                           cloak_error *why)
{
    char path[200];
    cloak_err rc;
    json_t *b = NULL;
    if (out) *out = NULL;
    if (!c) return cloak_error_set(why, CLOAK_EINVAL, "%s: no client", what);
    if ((rc = vc_check_name("key name", name, why))) return rc;
    snprintf(path, sizeof path, "%s%s%s", prefix, name, suffix);
    if ((rc = vc_call(c, method, path, NULL, 0, out ? &b : NULL, why))) return rc;
    if (out && (rc = want_bundle(&b, what, why))) return rc;
    if (out) *out = b;
    return CLOAK_OK;
}

cloak_err cloak_vault_key_delete(cloak_vault_client *c, const char *name, json_t **deleted,
                                 cloak_error *why)
{
    return lifecycle(c, "DELETE", "/keys/", "", name, deleted, "key delete", why);
}

cloak_err cloak_vault_key_recover(cloak_vault_client *c, const char *name, json_t **bundle,
                                  cloak_error *why)
{
    return lifecycle(c, "POST", "/deletedkeys/", "/recover", name, bundle, "key recover", why);
}

cloak_err cloak_vault_key_purge(cloak_vault_client *c, const char *name, cloak_error *why)
{
    return lifecycle(c, "DELETE", "/deletedkeys/", "", name, NULL, "key purge", why);
}

/* ---- lists ---- */
cloak_err cloak_vault_key_list(cloak_vault_client *c, cloak_vault_list_kind kind, const char *name,
                               cloak_vault_list_fn fn, void *arg, cloak_error *why)
{
    char path[200], *next = NULL;
    cloak_err rc;
    if (!c || !fn) return cloak_error_set(why, CLOAK_EINVAL, "key list: missing argument");
    if (kind == CLOAK_VAULT_LIST_VERSIONS) {
        if ((rc = vc_check_name("key name", name, why))) return rc;
        snprintf(path, sizeof path, "/keys/%s/versions", name);
    } else if (kind == CLOAK_VAULT_LIST_DELETED) {
        snprintf(path, sizeof path, "/deletedkeys");
    } else if (kind == CLOAK_VAULT_LIST_KEYS) {
        snprintf(path, sizeof path, "/keys");
    } else {
        return cloak_error_set(why, CLOAK_EINVAL, "key list: unknown list kind %d", (int)kind);
    }
    size_t ul = strlen(c->url);
    for (unsigned page = 0;; page++) {
        json_t *j = NULL;
        rc = next ? vc_call_url(c, "GET", next, NULL, 0, &j, why)
                  : vc_call(c, "GET", path, NULL, 0, &j, why);
        free(next);
        next = NULL;
        if (rc) return rc;
        json_t *value = json_object_get(j, "value"), *nl = json_object_get(j, "nextLink");
        if (!json_is_array(value) || (nl && !json_is_null(nl) && !json_is_string(nl))) {
            json_decref(j);
            return cloak_error_set(why, CLOAK_EIO,
                                   "key list: the vault's answer is not a list "
                                   "({\"value\":[...],\"nextLink\":...})");
        }
        size_t i;
        json_t *it;
        int stop = 0;
        json_array_foreach(value, i, it)
        {
            if (!json_is_object(it) || !json_is_string(json_object_get(it, "kid"))) {
                json_decref(j);
                return cloak_error_set(why, CLOAK_EIO, "key list: item %zu of page %u has no kid",
                                       i, page + 1);
            }
            if ((stop = fn(it, arg))) break;
        }
        const char *n = json_string_value(nl);
        if (!stop && n && *n) {
            int ok = strlen(n) < MAX_URL && !strncmp(n, c->url, ul) && n[ul] == '/';
            for (const char *p = n; ok && *p; p++)
                ok = (unsigned char)*p > 0x20 && *p != 0x7f;
            if (!ok) {
                char shown[128];
                printable(shown, sizeof shown, n);
                json_decref(j);
                return cloak_error_set(why, CLOAK_EIO,
                                       "key list: the vault's nextLink '%s' is not below %s; "
                                       "use the URL the vault reports in its kids (its --url)",
                                       shown, c->url);
            }
            if (page + 1 >= MAX_PAGES) {
                json_decref(j);
                return cloak_error_set(why, CLOAK_EIO, "key list: more than %d pages", MAX_PAGES);
            }
            next = strdup(n);
            if (!next) {
                json_decref(j);
                return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            }
        }
        json_decref(j);
        if (!next) return CLOAK_OK;
    }
}

struct collect {
    json_t *items;
    int failed;
};

static int collect(const json_t *item, void *arg)
{
    struct collect *k = arg;
    k->failed = json_array_append(k->items, (json_t *)item) != 0;
    return k->failed;
}

cloak_err cloak_vault_key_list_all(cloak_vault_client *c, cloak_vault_list_kind kind,
                                   const char *name, json_t **items, cloak_error *why)
{
    if (!items) return cloak_error_set(why, CLOAK_EINVAL, "key list: no output pointer");
    struct collect k = {json_array(), 0};
    *items = NULL;
    if (!k.items) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    cloak_err rc = cloak_vault_key_list(c, kind, name, collect, &k, why);
    if (!rc && k.failed) rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    if (rc) {
        json_decref(k.items);
        return rc;
    }
    *items = k.items;
    return CLOAK_OK;
}
