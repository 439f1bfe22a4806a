/*
 * cloak keyfile: signing keys and self-signed certificates kept as PEM files in a data
 * directory (the attestation service's token key, the vault's release-signing key).
 *
 * Trust: a key file is a secret: written 0600 through cloak_file_write (temp file, fsync,
 * rename) and its PEM text wiped from memory after writing. Files are read as given; the
 * caller checks the key type and size it needs.
 */
#ifndef CLOAK_KEYFILE_H
#define CLOAK_KEYFILE_H

#include "cloak/base.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A self-signed X.509 v3 certificate for `key`: O=cloak, CN=cn, random positive serial, valid
 * from an hour ago for `days` days, SHA-256. */
cloak_err cloak_x509_self_signed(EVP_PKEY *key, const char *cn, unsigned days, X509 **out,
                                 cloak_error *why) CLOAK_MUST_CHECK;
/* PEM files: a certificate 0644, a private key 0600 (PKCS#8, unencrypted). */
cloak_err cloak_pem_write_cert(const char *path, X509 *cert, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_pem_write_key(const char *path, EVP_PKEY *key, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_pem_read_cert(const char *path, X509 **out, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_pem_read_key(const char *path, EVP_PKEY **out, cloak_error *why) CLOAK_MUST_CHECK;

/* Load key_path (+ cert_path when present; it must hold the same key), or create an RSA key of
 * `rsa_bits` and a self-signed certificate (CN cn, 10 years) and write both. A key that is not
 * RSA of at least rsa_bits is refused. */
cloak_err cloak_keyfile_rsa_load_or_create(const char *key_path, const char *cert_path,
                                           const char *cn, unsigned rsa_bits, EVP_PKEY **key,
                                           X509 **cert, cloak_error *why) CLOAK_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
