/*
 * cloak_evidence_fetch_collateral, the plumbing: GET through the libcurl client of
 * cloak/http.h with errors a user can act on, the percent-encoded issuer-chain headers of the
 * PCS API, CRLs in whatever encoding a PCS or PCCS serves, and the writers that put verified
 * collateral on disk (a DCAP folder swapped in whole, so the verifier never sees a TCB info
 * next to another one's signature).
 *
 * Trust: responses are untrusted bytes; nothing here verifies them (fetch.c and fetch_snp.c
 * do, before anything is written). Server-supplied text (Error-Message, Request-ID) is
 * reduced to printable ASCII and truncated before it reaches a message. The API key goes only
 * into the request headers of PCS/PCCS requests, never into a message.
 */
#include "evidence/fetch_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>

/* A server-supplied header value, made safe for a message: printable ASCII, at most 120. */
static void header_text(const cloak_http_response *r, const char *name, char *out, size_t cap)
{
    char raw[512];
    size_t k = 0;
    out[0] = 0;
    if (!cloak_http_response_header(r, name, raw, sizeof raw)) return;
    for (size_t i = 0; raw[i] && k + 1 < cap && k < 120; i++)
        out[k++] = (raw[i] >= 0x20 && raw[i] < 0x7f) ? raw[i] : '?';
    out[k] = 0;
}

static const char *status_hint(long st)
{
    if (st == 400) return "the server refused the request as malformed (is the FMSPC right?)";
    if (st == 401 || st == 403)
        return "the API key is missing or was refused (give --api-key-file or CLOAK_PCS_API_KEY)";
    if (st == 404)
        return "not found: the server has nothing for this request (an unknown FMSPC or "
               "product, or the wrong base URL)";
    if (st == 429) return "rate limited: try again later";
    if (st >= 500) return "a server error: try again later";
    return "an unexpected answer";
}

cloak_err fetch_get(fetch_session *s, const char *what, const char *url, int to_pcs,
                    cloak_http_response *out, cloak_error *why)
{
    const char *hdrs[2] = {NULL, NULL};
    cloak_http_response r = {0};
    cloak_error e = {0};
    if (to_pcs && s->key_header) hdrs[0] = s->key_header;
    if (cloak_http_client_fetch(s->http, "GET", url, hdrs, NULL, 0, &r, &e) != CLOAK_OK)
        /* the client's message names the method, URL and curl's reason; never a header */
        return cloak_error_set(why, e.code ? e.code : CLOAK_EIO,
                               "%s: %s (check the URL, the network and --ca)", what, e.msg);
    if (r.status != 200) {
        char code[128], msg[128], rid[128];
        header_text(&r, "Error-Code", code, sizeof code);
        header_text(&r, "Error-Message", msg, sizeof msg);
        header_text(&r, "Request-ID", rid, sizeof rid);
        long st = r.status;
        cloak_http_response_free(&r);
        return cloak_error_set(why, st == 404 ? CLOAK_ENOTFOUND : CLOAK_EIO,
                               "%s: GET %s answered HTTP %ld: %s%s%s%s%s%s%s", what, url, st,
                               status_hint(st), code[0] ? "; Error-Code: " : "", code,
                               msg[0] ? "; Error-Message: " : "", msg,
                               rid[0] ? "; Request-ID: " : "", rid);
    }
    if (r.body.len > FETCH_MAX_BODY) {
        size_t n = r.body.len;
        cloak_http_response_free(&r);
        return cloak_error_set(why, CLOAK_EINVAL, "%s: GET %s: the answer is %zu bytes, over %u",
                               what, url, n, FETCH_MAX_BODY);
    }
    *out = r;
    return CLOAK_OK;
}

cloak_err fetch_chain_header(const cloak_http_response *r, const char *const *names,
                             const char *what, uint8_t **pem, size_t *pem_len, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    char *buf = malloc(FETCH_MAX_HEADER);
    const char *v = NULL, *used = names[0];
    if (!buf) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    for (size_t i = 0; names[i] && !v; i++)
        if ((v = cloak_http_response_header(r, names[i], buf, FETCH_MAX_HEADER))) used = names[i];
    int n = 0;
    char *dec = v && *v ? curl_easy_unescape(NULL, v, 0, &n) : NULL;
    if (!dec || n <= 0) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "%s: the answer has no %s header (the percent-encoded PEM issuer "
                             "chain PCS sends with it)",
                             what, used ? used : "issuer chain");
        goto out;
    }
    if (!(*pem = malloc((size_t)n + 1))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*pem, dec, (size_t)n);
    (*pem)[n] = 0;
    *pem_len = (size_t)n;
out:
    if (dec) curl_free(dec);
    free(buf);
    return rc;
}

cloak_err fetch_crl_der(const uint8_t *p, size_t len, const char *what, uint8_t **der,
                        size_t *der_len, X509_CRL **crl_out, cloak_error *why)
{
    X509_CRL *crl = NULL;
    uint8_t *bin = NULL, *out = NULL;
    size_t bin_len = 0;
    int out_len = 0;
    cloak_err rc = CLOAK_OK;
    if (len == 0 || len > INT32_MAX) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "%s: empty answer", what);
        goto out;
    }
    if (p[0] == 0x30) { /* DER: keep the exact bytes */
        const uint8_t *q = p;
        crl = d2i_X509_CRL(NULL, &q, (long)len);
        if (crl && q != p + len) {
            X509_CRL_free(crl);
            crl = NULL;
        }
    } else if (len > 10 && memmem(p, len, "-----BEGIN", 10)) {
        BIO *b = BIO_new_mem_buf(p, (int)len);
        crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else { /* hex text of the DER (PCCS rootcacrl in some versions) */
        char *t = malloc(len + 1);
        size_t k = 0;
        cloak_error ignored;
        for (size_t i = 0; t && i < len; i++)
            if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' && p[i] != '"') t[k++] = (char)p[i];
        if (t) t[k] = 0;
        if (t && cloak_hex_decode(t, &bin, &bin_len, &ignored) == CLOAK_OK && bin_len &&
            bin[0] == 0x30) {
            const uint8_t *q = bin;
            crl = d2i_X509_CRL(NULL, &q, (long)bin_len);
            if (crl && q != bin + bin_len) {
                X509_CRL_free(crl);
                crl = NULL;
            }
        }
        free(t);
    }
    ERR_clear_error();
    if (!crl) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "%s: the answer (%zu bytes) is not an X.509 CRL in DER, PEM or hex",
                             what, len);
        goto out;
    }
    if (p[0] == 0x30) {
        if (!(out = malloc(len))) goto oom;
        memcpy(out, p, len);
        out_len = (int)len;
    } else {
        uint8_t *tmp = NULL;
        out_len = i2d_X509_CRL(crl, &tmp);
        if (out_len <= 0 || !(out = malloc((size_t)out_len))) {
            OPENSSL_free(tmp);
            goto oom;
        }
        memcpy(out, tmp, (size_t)out_len);
        OPENSSL_free(tmp);
    }
    *der = out;
    *der_len = (size_t)out_len;
    out = NULL;
    if (crl_out) {
        *crl_out = crl;
        crl = NULL;
    }
    goto out;
oom:
    rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
out:
    free(out);
    free(bin);
    X509_CRL_free(crl);
    return rc;
}

int fetch_folder_same(const char *dir, const fetch_file *files, size_t n)
{
    int same = 1;
    for (size_t i = 0; i < n && same; i++) {
        char *path = NULL;
        uint8_t *p = NULL;
        size_t len = 0;
        cloak_error ignored;
        if (asprintf(&path, "%s/%s", dir, files[i].name) < 0) return 0;
        same = cloak_file_read(path, &p, &len, &ignored) == CLOAK_OK && len == files[i].len &&
               (len == 0 || memcmp(p, files[i].p, len) == 0);
        free(p);
        free(path);
    }
    return same;
}

/* Remove a folder of regular files (the old collateral after a swap, or a failed stage). */
static void remove_folder(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) return;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            (void)unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    (void)rmdir(dir);
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static cloak_err write_files(const char *dir, const fetch_file *files, size_t n, cloak_error *why)
{
    for (size_t i = 0; i < n; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, files[i].name) < 0)
            return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        cloak_err rc = cloak_file_write(path, files[i].p, files[i].len, 0644, why);
        free(path);
        if (rc) return rc;
    }
    return CLOAK_OK;
}

cloak_err fetch_folder_replace(const char *parent, const char *name, const fetch_file *files,
                               size_t n, int *created, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    char *dir = NULL, *stage = NULL;
    struct stat st;
    if (asprintf(&dir, "%s/%s", parent, name) < 0 ||
        asprintf(&stage, "%s/.%s.new-XXXXXX", parent, name) < 0) {
        dir = stage = NULL;
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    int exists = stat(dir, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "%s exists and is not a folder", dir);
        goto out;
    }
    if (!mkdtemp(stage)) {
        rc = cloak_error_set(why, CLOAK_EIO, "cannot create a staging folder in %s: %s", parent,
                             strerror(errno));
        goto out;
    }
    (void)chmod(stage, 0755);
    if ((rc = write_files(stage, files, n, why))) {
        cloak_error_wrap(why, "staging %s", dir);
        remove_folder(stage);
        goto out;
    }
    if (!exists) {
        if (rename(stage, dir) < 0) {
            rc = cloak_error_set(why, CLOAK_EIO, "cannot move %s to %s: %s", stage, dir,
                                 strerror(errno));
            remove_folder(stage);
            goto out;
        }
    } else if (renameat2(AT_FDCWD, stage, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
        remove_folder(stage); /* now the old folder */
    } else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
        /* no atomic exchange on this file system: each file atomically, in place */
        remove_folder(stage);
        if ((rc = write_files(dir, files, n, why))) {
            cloak_error_wrap(why, "replacing %s", dir);
            goto out;
        }
    } else {
        rc = cloak_error_set(why, CLOAK_EIO, "cannot swap %s into %s: %s", stage, dir,
                             strerror(errno));
        remove_folder(stage);
        goto out;
    }
    sync_dir(parent);
    *created = !exists;
out:
    free(dir);
    free(stage);
    return rc;
}

void fetch_record(fetch_session *s, json_t *item, const char *result, cloak_err rc,
                  const cloak_error *why)
{
    int bad = !strcmp(result, "failed") || !strcmp(result, "refused");
    json_object_set_new(item, "result", json_string(result));
    if (why && why->msg[0]) json_object_set_new(item, "message", json_string(why->msg));
    if (bad) {
        if (!s->nfailed++) {
            s->first_rc = rc ? rc : CLOAK_EVERIFY;
            snprintf(s->first_msg, sizeof s->first_msg, "%s", why ? why->msg : result);
        }
    }
    json_array_append_new(s->items, item);
}
