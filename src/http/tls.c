/* TLS material for the HTTPS services: a local CA and a localhost server certificate, created
 * once in a data directory and reused, and the server's SSL_CTX (TLS 1.2+).
 *
 * Keys are ECDSA P-256: fast to create on first start, accepted by every client we test with
 * (curl, openssl s_client, Node). The CA is a development convenience: a deployment passes
 * its own cert_file and key_file. */
#include "http/http_int.h"

#include "cloak/keyfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define CA_DAYS 3650
#define SERVER_DAYS 825 /* the CA/Browser Forum's old maximum; clients still accept it */

static int path_join(char *dst, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static cloak_err add_ext(X509 *cert, X509 *issuer, int nid, const char *value, cloak_error *why)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext || !X509_add_ext(cert, ext, -1)) {
        X509_EXTENSION_free(ext);
        return cloak_error_openssl(why, CLOAK_EINTERNAL, "adding a certificate extension");
    }
    X509_EXTENSION_free(ext);
    return CLOAK_OK;
}

/* A certificate for `cn` with `key`, signed by issuer/issuer_key (self-signed when NULL). */
static cloak_err make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                           int days, int is_ca, X509 **out, cloak_error *why)
{
    cloak_err rc = CLOAK_EINTERNAL;
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (!cert || !name || RAND_bytes(serial, sizeof serial) != 1) goto ossl;
    serial[0] &= 0x7f; /* a positive serial (RFC 5280 §4.1.2.2) */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) || !X509_set_version(cert, 2) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"cloak", -1, -1,
                                    0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_subject_name(cert, name) ||
        !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) ||
        !X509_set_pubkey(cert, key))
        goto ossl;
    X509 *iss = issuer ? issuer : cert;
    if (is_ca) {
        if ((rc = add_ext(cert, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0", why)) ||
            (rc = add_ext(cert, iss, NID_key_usage, "critical,keyCertSign,cRLSign", why)) ||
            (rc = add_ext(cert, iss, NID_subject_key_identifier, "hash", why)))
            goto out;
    } else {
        if ((rc = add_ext(cert, iss, NID_basic_constraints, "critical,CA:FALSE", why)) ||
            (rc = add_ext(cert, iss, NID_key_usage, "critical,digitalSignature", why)) ||
            (rc = add_ext(cert, iss, NID_ext_key_usage, "serverAuth", why)) ||
            (rc = add_ext(cert, iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1",
                          why)) ||
            (rc = add_ext(cert, iss, NID_subject_key_identifier, "hash", why)) ||
            (rc = add_ext(cert, iss, NID_authority_key_identifier, "keyid:always", why)))
            goto out;
    }
    if (!X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256())) goto ossl;
    *out = cert;
    cert = NULL;
    rc = CLOAK_OK;
    goto out;
ossl:
    rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "creating a certificate");
out:
    BN_free(bn);
    X509_NAME_free(name);
    X509_free(cert);
    return rc;
}

/* Issue DIR/server.pem + server.key under the CA. */
static cloak_err issue_server(const cloak_http_tls_files *f, X509 *ca, EVP_PKEY *ca_key,
                              cloak_error *why)
{
    cloak_err rc;
    X509 *cert = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key) return cloak_error_openssl(why, CLOAK_EINTERNAL, "creating the server key");
    if (!(rc = make_cert("localhost", key, ca, ca_key, SERVER_DAYS, 0, &cert, why)) &&
        !(rc = cloak_pem_write_key(f->key, key, why)))
        rc = cloak_pem_write_cert(f->cert, cert, why);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

cloak_err cloak_http_tls_ensure(const char *dir, cloak_http_tls_files *out, cloak_error *why)
{
    cloak_http_tls_files f;
    cloak_err rc;
    X509 *ca = NULL, *server = NULL;
    EVP_PKEY *ca_key = NULL;
    memset(&f, 0, sizeof f);
    if (!dir || !dir[0]) return cloak_error_set(why, CLOAK_EINVAL, "no directory for TLS material");
    if (path_join(f.ca, sizeof f.ca, dir, "ca.pem") ||
        path_join(f.cert, sizeof f.cert, dir, "server.pem") ||
        path_join(f.key, sizeof f.key, dir, "server.key"))
        return cloak_error_set(why, CLOAK_EINVAL, "TLS directory path too long: %s", dir);
    char ca_key_path[sizeof f.ca];
    if (path_join(ca_key_path, sizeof ca_key_path, dir, "ca.key"))
        return cloak_error_set(why, CLOAK_EINVAL, "TLS directory path too long: %s", dir);
    if ((rc = cloak_mkdirs(dir, 0700, why))) return rc;

    if (exists(f.ca) != exists(ca_key_path)) {
        rc =
            cloak_error_set(why, CLOAK_EINVAL,
                            "%s and %s must both exist or both be absent; refusing to replace a CA "
                            "someone may trust (move the directory away to start over)",
                            f.ca, ca_key_path);
        goto out;
    }
    if (!exists(f.ca)) {
        ca_key = EVP_EC_gen("P-256");
        if (!ca_key) {
            rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "creating the CA key");
            goto out;
        }
        if ((rc = make_cert("cloak local CA", ca_key, NULL, NULL, CA_DAYS, 1, &ca, why)) ||
            (rc = cloak_pem_write_key(ca_key_path, ca_key, why)) ||
            (rc = cloak_pem_write_cert(f.ca, ca, why)))
            goto out;
        unlink(f.cert); /* a server certificate from an older CA is useless now */
    } else if ((rc = cloak_pem_read_cert(f.ca, &ca, why)) ||
               (rc = cloak_pem_read_key(ca_key_path, &ca_key, why))) {
        goto out;
    }
    int reissue = !exists(f.cert) || !exists(f.key);
    if (!reissue) {
        if ((rc = cloak_pem_read_cert(f.cert, &server, why))) goto out;
        /* Expired, expiring within a day, or not from this CA: issue a new one. */
        time_t soon = time(NULL) + 86400;
        reissue = X509_cmp_time(X509_get0_notAfter(server), &soon) <= 0 ||
                  X509_check_issued(ca, server) != X509_V_OK;
    }
    if (reissue && (rc = issue_server(&f, ca, ca_key, why))) goto out;
    *out = f;
    rc = CLOAK_OK;
out:
    X509_free(server);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}

int http_tls_ctx(const cloak_http_tls_files *f, SSL_CTX **out, cloak_error *why)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return cloak_error_openssl(why, CLOAK_ENOMEM, "creating the TLS context");
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) goto fail;
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* free (and, in the vault, wipe: src/vault/wipe_alloc.c) a connection's record buffers
     * when idle, so the last decrypted request does not linger in them between requests */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
        SSL_CTX_free(ctx);
        return cloak_error_openssl(why, CLOAK_EINVAL, f->cert);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        SSL_CTX_free(ctx);
        return cloak_error_openssl(why, CLOAK_EINVAL, f->key);
    }
    *out = ctx;
    return CLOAK_OK;
fail:
    SSL_CTX_free(ctx);
    return cloak_error_openssl(why, CLOAK_EINTERNAL, "configuring the TLS context");
}
