/* A small HTTPS client on libcurl, for tests and relying-party code. TLS is always verified
 * (peer and host name); the only choice is which CA file to trust. */
#include "http/http_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define FETCH_TIMEOUT_S 60L

struct cloak_http_client {
    CURL *curl;
    char *ca_file;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

cloak_err cloak_http_client_new(const char *ca_file, cloak_http_client **out, cloak_error *why)
{
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK)
        return cloak_error_set(why, CLOAK_EINTERNAL, "libcurl: %s",
                               curl_easy_strerror(curl_init_rc));
    cloak_http_client *c = calloc(1, sizeof *c);
    if (!c) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    c->curl = curl_easy_init();
    if (!c->curl || (ca_file && !(c->ca_file = strdup(ca_file)))) {
        cloak_http_client_free(c);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory creating an HTTP client");
    }
    *out = c;
    return CLOAK_OK;
}

void cloak_http_client_free(cloak_http_client *c)
{
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    free(c->ca_file);
    free(c);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    cloak_buf *b = arg;
    cloak_buf_put(b, p, size * n);
    return b->failed ? 0 : size * n;
}

cloak_err cloak_http_client_fetch(cloak_http_client *c, const char *method, const char *url,
                                  const char *const *headers, const uint8_t *body, size_t body_len,
                                  cloak_http_response *out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    cloak_http_response r = {0};
    struct curl_slist *hl = NULL;
    if (!c || !method || !url || !out)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_http_fetch: missing argument");
    CURL *h = c->curl;
    curl_easy_reset(h); /* keeps the connection cache: keep-alive across fetches */
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(hl, headers[i]);
        if (!n) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        hl = n;
    }
    /* curl adds "Expect: 100-continue" to larger bodies; our server answers at once anyway. */
    struct curl_slist *n = curl_slist_append(hl, "Expect:");
    if (!n) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    hl = n;
    CURLcode cc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (cc == CURLE_OK) cc = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_CUSTOMREQUEST, method);
    SET(CURLOPT_NOBODY, strcmp(method, "HEAD") ? 0L : 1L);
    SET(CURLOPT_HTTPHEADER, hl);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_PROTOCOLS_STR, "https"); /* never plaintext */
    SET(CURLOPT_TIMEOUT, FETCH_TIMEOUT_S);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_WRITEFUNCTION, on_data);
    SET(CURLOPT_WRITEDATA, &r.body);
    SET(CURLOPT_HEADERFUNCTION, on_data);
    SET(CURLOPT_HEADERDATA, &r.headers);
    if (c->ca_file) SET(CURLOPT_CAINFO, c->ca_file);
    if (body) {
        SET(CURLOPT_POSTFIELDS, (const char *)body);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
#undef SET
    if (cc == CURLE_OK) cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        rc = cloak_error_set(why, CLOAK_EIO, "%s %s: %s", method, url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r.new_connections);
    cloak_buf_u8(&r.body, 0); /* NUL-terminate for convenience; len excludes it */
    cloak_buf_u8(&r.headers, 0);
    if (r.body.failed || r.headers.failed) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory reading the response");
        goto out;
    }
    r.body.len--;
    r.headers.len--;
    *out = r;
    memset(&r, 0, sizeof r);
out:
    curl_slist_free_all(hl);
    cloak_http_response_free(&r);
    return rc;
}

cloak_err cloak_http_fetch(const char *method, const char *url, const char *ca_file,
                           const char *const *headers, const uint8_t *body, size_t body_len,
                           cloak_http_response *out, cloak_error *why)
{
    cloak_http_client *c = NULL;
    cloak_err rc = cloak_http_client_new(ca_file, &c, why);
    if (rc) return rc;
    rc = cloak_http_client_fetch(c, method, url, headers, body, body_len, out, why);
    cloak_http_client_free(c);
    return rc;
}

void cloak_http_response_free(cloak_http_response *r)
{
    if (!r) return;
    cloak_buf_free(&r->body);
    cloak_buf_free(&r->headers);
    r->status = 0;
}

const char *cloak_http_response_header(const cloak_http_response *r, const char *name, char *dst,
                                       size_t dst_len)
{
    if (!r->headers.p || !dst_len) return NULL;
    const char *text = (const char *)r->headers.p;
    /* Only the last block counts (after a 100 Continue or a redirect). */
    const char *block = text, *p;
    for (p = text; (p = strstr(p, "\r\nHTTP/")); p += 2)
        block = p + 2;
    size_t nl = strlen(name);
    for (const char *line = block; *line;) {
        const char *end = strstr(line, "\r\n");
        if (!end) end = line + strlen(line);
        if ((size_t)(end - line) > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
            const char *v = line + nl + 1;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            size_t vl = (size_t)(end - v);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= dst_len) return NULL;
            memcpy(dst, v, vl);
            dst[vl] = '\0';
            return dst;
        }
        line = *end ? end + 2 : end;
    }
    return NULL;
}
