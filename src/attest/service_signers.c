/* Policy signers. In isolated mode (--policy-signer-cert), a policy JWS must be signed by one
 * of the registered policy-management certificates, named by its "x5c" header; unsigned
 * policies are refused. In the default mode, unsigned (alg "none") policies are accepted, and a
 * signed one must verify under its own x5c leaf, which is then reported as x-ms-policy-signer
 * (as MAA does in AAD mode). */
#include "attest/service.h"

#include "cloak/jose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#define MAX_SIGNERS 100

cloak_err svc_signers_load(cloak_attest_service *s, const char *pem_path, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    X509 *x;
    FILE *f = fopen(pem_path, "r");
    if (!f) return cloak_error_set(why, CLOAK_EIO, "cannot open policy signer file %s", pem_path);
    while (s->nsigners < MAX_SIGNERS && (x = PEM_read_X509(f, NULL, NULL, NULL))) {
        X509 **n = realloc(s->signers, (s->nsigners + 1) * sizeof *n);
        if (!n) {
            X509_free(x);
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            break;
        }
        s->signers = n;
        s->signers[s->nsigners++] = x;
    }
    ERR_clear_error(); /* the end of the file reads as an error */
    fclose(f);
    if (!rc && s->nsigners == 0)
        rc = cloak_error_set(why, CLOAK_EINVAL, "%s holds no PEM certificate", pem_path);
    return rc;
}

void svc_signers_free(cloak_attest_service *s)
{
    for (size_t i = 0; i < s->nsigners; i++)
        X509_free(s->signers[i]);
    free(s->signers);
    s->signers = NULL;
    s->nsigners = 0;
}

json_t *svc_signers_jwks(const cloak_attest_service *s)
{
    json_t *keys = json_array();
    for (size_t i = 0; keys && i < s->nsigners; i++) {
        json_t *jwk = NULL;
        char tp[CLOAK_JWK_THUMBPRINT_LEN + 1];
        EVP_PKEY *k = X509_get0_pubkey(s->signers[i]);
        X509 *chain[1] = {s->signers[i]};
        if (!k || cloak_jwk_thumbprint_key(k, tp, NULL)) continue;
        cloak_jwk_opts o = {.kid = tp, .x5c = chain, .nx5c = 1};
        if (cloak_jwk_export(k, &o, &jwk, NULL) == CLOAK_OK) json_array_append_new(keys, jwk);
    }
    return keys;
}

/* The header's x5c[0] as a certificate. */
static cloak_err header_leaf(const json_t *hdr, X509 **out, cloak_error *why)
{
    const char *b64 = json_string_value(json_array_get(json_object_get(hdr, "x5c"), 0));
    uint8_t *der = NULL;
    size_t len = 0;
    if (!b64)
        return cloak_error_set(why, CLOAK_EPERM,
                               "a signed policy JWS must name its signing certificate in \"x5c\"");
    if (cloak_base64_decode(b64, strlen(b64), &der, &len, why))
        return cloak_error_wrap(why, "the policy JWS x5c[0]");
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    int whole = x && p == der + len;
    free(der);
    if (!whole) {
        X509_free(x);
        return cloak_error_set(why, CLOAK_EINVAL, "the policy JWS x5c[0] is not a DER certificate");
    }
    *out = x;
    return CLOAK_OK;
}

cloak_err svc_policy_jws_open(const cloak_attest_service *s, const char *jws, size_t len,
                              int stored, cloak_jws *out, json_t **signer, cloak_error *why)
{
    cloak_err rc;
    json_t *hdr = NULL, *jwk = NULL;
    X509 *leaf = NULL;
    cloak_jws j = {0};
    if ((rc = cloak_jws_peek_header(jws, len, &hdr, why))) {
        cloak_error_wrap(why, "the policy JWS");
        goto out;
    }
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    if (alg && !strcmp(alg, "none")) {
        if (s->nsigners && !stored) {
            rc = cloak_error_set(
                why, CLOAK_EPERM,
                "this service is in isolated mode: the policy JWS must be signed by a "
                "registered policy signing certificate (alg \"none\" refused)");
            goto out;
        }
        if ((rc = cloak_jws_decode_unsecured(jws, len, &j, why))) {
            cloak_error_wrap(why, "the unsigned policy JWS");
            goto out;
        }
    } else {
        if ((rc = header_leaf(hdr, &leaf, why))) goto out;
        if (s->nsigners && !stored) {
            size_t i = 0;
            while (i < s->nsigners && X509_cmp(s->signers[i], leaf))
                i++;
            if (i == s->nsigners) {
                rc = cloak_error_set(why, CLOAK_EPERM,
                                     "the policy JWS is signed by a certificate that is not a "
                                     "registered policy signing certificate");
                goto out;
            }
        }
        EVP_PKEY *k = X509_get0_pubkey(leaf);
        if (!k) {
            rc = cloak_error_openssl(why, CLOAK_EINVAL, "the policy signing certificate's key");
            goto out;
        }
        if ((rc = cloak_jws_verify(jws, len, k, CLOAK_JWS_ALLOW_RSA | CLOAK_JWS_ALLOW_EC, &j,
                                   why))) {
            cloak_error_wrap(why, "the policy JWS signature");
            if (rc == CLOAK_EVERIFY) {
                rc = CLOAK_EPERM; /* a bad signature is a signer refusal, not malformed input */
                if (why) why->code = rc;
            }
            goto out;
        }
        X509 *chain[1] = {leaf};
        cloak_jwk_opts o = {.x5c = chain, .nx5c = 1};
        if ((rc = cloak_jwk_export(k, &o, &jwk, why))) goto out;
    }
    *out = j;
    memset(&j, 0, sizeof j);
    if (signer) {
        *signer = jwk;
        jwk = NULL;
    }
    rc = CLOAK_OK;
out:
    cloak_jws_clear(&j);
    json_decref(jwk);
    json_decref(hdr);
    X509_free(leaf);
    return rc;
}

/* ---- the registered set: DATA_DIR/policy-signers.pem, changed by /certificates:add|:remove ----
 */
static char *signers_path(const cloak_attest_service *s)
{
    char *p = NULL;
    return asprintf(&p, "%s/policy-signers.pem", s->data_dir) < 0 ? NULL : p;
}

static cloak_err signers_save(const cloak_attest_service *s, X509 *const *v, size_t n,
                              cloak_error *why)
{
    cloak_err rc;
    char *data = NULL, *path = signers_path(s);
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || !path) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (!PEM_write_bio_X509(b, v[i])) {
            rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "encoding the policy signers");
            goto out;
        }
    long len = BIO_get_mem_data(b, &data);
    rc = cloak_file_write(path, (const uint8_t *)data, (size_t)len, 0644, why);
out:
    BIO_free(b);
    free(path);
    return rc;
}

cloak_err svc_signers_init(cloak_attest_service *s, const char *initial_pem, cloak_error *why)
{
    cloak_err rc;
    char *path = signers_path(s);
    if (!path) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    if (access(path, F_OK) == 0)
        rc = svc_signers_load(s, path, why); /* the data directory's set is authoritative */
    else if (initial_pem && !(rc = svc_signers_load(s, initial_pem, why)))
        rc = signers_save(s, s->signers, s->nsigners, why);
    else
        rc = initial_pem ? rc : CLOAK_OK;
    free(path);
    return rc;
}

/* SHA-1 of the DER, upper-case hex: the certificate "thumbprint" as Windows and MAA print it. */
static void thumbprint(X509 *x, char out[41])
{
    unsigned char md[20];
    unsigned int n = sizeof md;
    static const char hx[] = "0123456789ABCDEF";
    if (!X509_digest(x, EVP_sha1(), md, &n)) n = 0;
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[2 * n] = 0;
}

cloak_err svc_signers_change(cloak_attest_service *s, int add, const char *body, json_t **result,
                             cloak_error *why)
{
    cloak_err rc;
    const char *field = add ? "policyCertificateToAdd" : "policyCertificateToRemove";
    json_t *req = json_loads(body, 0, NULL), *payload = NULL, *res = NULL;
    cloak_jws j = {0};
    X509 *cert = NULL, **nv = NULL;
    char tp[41];
    const char *jws = json_string_value(json_object_get(req, field));
    if (!s->nsigners) {
        rc = cloak_error_set(why, CLOAK_EPERM,
                             "policy signing certificates are managed only in isolated mode "
                             "(start with --policy-signer-cert)");
        goto out;
    }
    if (!jws) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "the body must be {\"%s\": \"<JWS>\"}", field);
        goto out;
    }
    if ((rc = svc_policy_jws_open(s, jws, strlen(jws), 0, &j, NULL, why))) goto out;
    if (!j.alg) { /* unsigned: svc_policy_jws_open refuses it in isolated mode; belt and braces */
        rc = cloak_error_set(why, CLOAK_EPERM, "the certificate change must be signed");
        goto out;
    }
    payload = json_loadb((const char *)j.payload, j.payload_len, 0, NULL);
    json_t *jwk = json_object_get(payload, "policyCertificate");
    if (!json_is_object(jwk)) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "the JWS payload must be {\"policyCertificate\": JWK with x5c}");
        goto out;
    }
    if ((rc = header_leaf(jwk, &cert, why))) {
        cloak_error_wrap(why, "policyCertificate");
        if (why) why->code = rc = CLOAK_EINVAL;
        goto out;
    }
    thumbprint(cert, tp);
    size_t i = 0;
    while (i < s->nsigners && X509_cmp(s->signers[i], cert))
        i++;
    int present = i < s->nsigners;
    if (add && !present) {
        if (!(nv = malloc((s->nsigners + 1) * sizeof *nv))) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(nv, s->signers, s->nsigners * sizeof *nv);
        nv[s->nsigners] = cert;
        if ((rc = signers_save(s, nv, s->nsigners + 1, why))) goto out;
        free(s->signers);
        s->signers = nv;
        s->nsigners++;
        nv = NULL;
        cert = NULL;
    } else if (!add && present) {
        if (s->nsigners == 1) {
            rc = cloak_error_set(why, CLOAK_EPERM,
                                 "the last policy signing certificate cannot be removed");
            goto out;
        }
        if (!(nv = malloc((s->nsigners - 1) * sizeof *nv))) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(nv, s->signers, i * sizeof *nv);
        memcpy(nv + i, s->signers + i + 1, (s->nsigners - i - 1) * sizeof *nv);
        if ((rc = signers_save(s, nv, s->nsigners - 1, why))) goto out;
        X509_free(s->signers[i]);
        free(s->signers);
        s->signers = nv;
        s->nsigners--;
        nv = NULL;
    }
    res = json_pack("{s:s,s:s}", "x-ms-certificate-thumbprint", tp,
                    "x-ms-policycertificates-result", add ? "IsPresent" : "IsAbsent");
    if (!res) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    *result = res;
    rc = CLOAK_OK;
out:
    free(nv);
    X509_free(cert);
    cloak_jws_clear(&j);
    json_decref(payload);
    json_decref(req);
    return rc;
}
