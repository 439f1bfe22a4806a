/*
 * Private to fetch.c, fetch_http.c and fetch_snp.c (cloak_evidence_fetch_collateral): the
 * fetch session, HTTP GET with errors a user can act on, and the folder / file writers.
 *
 * Trust: every response is untrusted until the verifier's own checks have passed; the API key
 * is a secret (kept in one wiped buffer, sent only to the PCS/PCCS, never in a message).
 */
#ifndef CLOAK_FETCH_INT_H
#define CLOAK_FETCH_INT_H

#include "cloak/http.h"
#include "evidence/evidence_int.h"

#define FETCH_MAX_BODY (8u << 20)    /* no PCS or KDS answer comes near this */
#define FETCH_MAX_HEADER (64u << 10) /* an issuer chain header, percent-encoded */

typedef struct {
    const cloak_fetch_opts *o;
    cloak_trust *trust;
    cloak_http_client *http;
    char *key_header; /* "Ocp-Apim-Subscription-Key: ..." (secret) or NULL */
    size_t key_header_len;
    char pcs[1024], kds[1024], root_crl_url[1200]; /* bases without a trailing '/' */
    time_t at;
    json_t *items;    /* the report's "items" */
    json_t *evidence; /* the report's "evidence" */
    int nfailed;
    cloak_err first_rc;
    char first_msg[CLOAK_ERROR_MAX];
} fetch_session;

/* A GET: status 200 or an error naming `what`, the URL, the status and PCS's Error-Code /
 * Error-Message (sanitised), with a hint per status. `to_pcs`: send the API key. */
cloak_err fetch_get(fetch_session *s, const char *what, const char *url, int to_pcs,
                    cloak_http_response *out, cloak_error *why);
/* A response header holding a percent-encoded PEM chain (the first of names[] present),
 * decoded; malloc'd. NULL and an error naming the header when none is present or it is empty. */
cloak_err fetch_chain_header(const cloak_http_response *r, const char *const *names,
                             const char *what, uint8_t **pem, size_t *pem_len, cloak_error *why);
/* A CRL as DER whatever the server sent (DER, PEM, or hex text of DER as some PCCS versions
 * serve); the exact bytes when DER. *out malloc'd. */
cloak_err fetch_crl_der(const uint8_t *p, size_t len, const char *what, uint8_t **der,
                        size_t *der_len, X509_CRL **crl, cloak_error *why);

/* One file of a folder. */
typedef struct {
    const char *name;
    const uint8_t *p;
    size_t len;
} fetch_file;
/* 1 if dir/name exists with exactly these bytes (for every file). */
int fetch_folder_same(const char *dir, const fetch_file *files, size_t n);
/* Replace folder parent/name as a whole: the files are written (cloak_file_write) into a
 * staging folder parent/.name.new-XXXXXX, which is then swapped in with one rename
 * (RENAME_EXCHANGE when the folder exists; where the file system cannot exchange, each file is
 * replaced atomically in place instead); the old folder is removed. *created: it was new. */
cloak_err fetch_folder_replace(const char *parent, const char *name, const fetch_file *files,
                               size_t n, int *created, cloak_error *why);

/* Record an item in the report; result "failed"/"refused" counts as a failure, `why` (may be
 * NULL) becomes its message. Steals `item`. */
void fetch_record(fetch_session *s, json_t *item, const char *result, cloak_err rc,
                  const cloak_error *why);

/* fetch_snp.c: the AMD side. */
cloak_err fetch_snp_product(fetch_session *s, int product);
cloak_err fetch_snp_report(fetch_session *s, const cloak_fetch_evidence *ev, int product_hint);

#endif
