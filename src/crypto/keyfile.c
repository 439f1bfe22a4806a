/* Signing keys and self-signed certificates as PEM files (include/cloak/keyfile.h). */
#include "cloak/keyfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

cloak_err cloak_x509_self_signed(EVP_PKEY *key, const char *cn, unsigned days, X509 **out,
                                 cloak_error *why)
{
    cloak_err rc = CLOAK_EINTERNAL;
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (!cert || !name || RAND_bytes(serial, sizeof serial) != 1) goto ossl;
    serial[0] &= 0x7f; /* positive (RFC 5280 §4.1.2.2) */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) || !X509_set_version(cert, 2) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"cloak", -1, -1,
                                    0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_subject_name(cert, name) || !X509_set_issuer_name(cert, name) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400) ||
        !X509_set_pubkey(cert, key) || !X509_sign(cert, key, EVP_sha256()))
        goto ossl;
    *out = cert;
    cert = NULL;
    rc = CLOAK_OK;
    goto out;
ossl:
    rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "creating a self-signed certificate");
out:
    BN_free(bn);
    X509_NAME_free(name);
    X509_free(cert);
    return rc;
}

static cloak_err write_pem(const char *path, X509 *cert, EVP_PKEY *key, cloak_error *why)
{
    cloak_err rc;
    char *data = NULL;
    long len;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory writing %s", path);
    if (cert ? !PEM_write_bio_X509(b, cert)
             : !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "encoding PEM");
        goto out;
    }
    len = BIO_get_mem_data(b, &data);
    rc = cloak_file_write(path, (const uint8_t *)data, (size_t)len, cert ? 0644 : 0600, why);
out:
    len = BIO_get_mem_data(b, &data);
    if (!cert && len > 0) OPENSSL_cleanse(data, (size_t)len); /* the key PEM is a secret */
    BIO_free(b);
    return rc;
}

cloak_err cloak_pem_write_cert(const char *path, X509 *cert, cloak_error *why)
{
    return write_pem(path, cert, NULL, why);
}

cloak_err cloak_pem_write_key(const char *path, EVP_PKEY *key, cloak_error *why)
{
    return write_pem(path, NULL, key, why);
}

cloak_err cloak_pem_read_cert(const char *path, X509 **out, cloak_error *why)
{
    FILE *f = fopen(path, "r");
    if (!f) return cloak_error_set(why, CLOAK_EIO, "cannot open %s: %s", path, strerror(errno));
    *out = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return *out ? CLOAK_OK : cloak_error_openssl(why, CLOAK_EINVAL, path);
}

cloak_err cloak_pem_read_key(const char *path, EVP_PKEY **out, cloak_error *why)
{
    FILE *f = fopen(path, "r");
    if (!f) return cloak_error_set(why, CLOAK_EIO, "cannot open %s: %s", path, strerror(errno));
    *out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return *out ? CLOAK_OK : cloak_error_openssl(why, CLOAK_EINVAL, path);
}

cloak_err cloak_keyfile_rsa_load_or_create(const char *key_path, const char *cert_path,
                                           const char *cn, unsigned rsa_bits, EVP_PKEY **key_out,
                                           X509 **cert_out, cloak_error *why)
{
    cloak_err rc;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    struct stat st;
    if (stat(key_path, &st) == 0) {
        if ((rc = cloak_pem_read_key(key_path, &key, why))) goto out;
        if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) < (int)rsa_bits) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "%s: not an RSA key of at least %u bits",
                                 key_path, rsa_bits);
            goto out;
        }
        if (stat(cert_path, &st) == 0) {
            if ((rc = cloak_pem_read_cert(cert_path, &cert, why))) goto out;
            if (X509_check_private_key(cert, key) != 1) {
                rc = cloak_error_set(why, CLOAK_EINVAL, "%s does not hold the key of %s", cert_path,
                                     key_path);
                goto out;
            }
        }
    } else {
        if (!(key = EVP_RSA_gen(rsa_bits))) {
            rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "creating an RSA key");
            goto out;
        }
        if ((rc = cloak_pem_write_key(key_path, key, why))) goto out;
    }
    if (!cert && ((rc = cloak_x509_self_signed(key, cn, 3650, &cert, why)) ||
                  (rc = cloak_pem_write_cert(cert_path, cert, why))))
        goto out;
    *key_out = key;
    *cert_out = cert;
    key = NULL;
    cert = NULL;
    rc = CLOAK_OK;
out:
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}
