/* The token signing key: RSA-2048 in DATA_DIR/signing.key (0600) with a self-signed
 * certificate DATA_DIR/signing.pem (published as x5c), kid = RFC 7638 thumbprint; the JWKS;
 * token signing; and rotation. A rotation keeps the previous key as DATA_DIR/retired-KID.key
 * (0600) and .pem, and records {"kid", "retired": epoch} in DATA_DIR/retired-keys.json; the
 * JWKS also lists every retired key retired less than the token lifetime ago. */
#include "attest/service.h"

#include "cloak/jose.h"
#include "cloak/keyfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define SIGNING_BITS 2048
#define SIGNING_CERT_DAYS 3650

#define SIGNING_CN "cloak attestation token signing"

static cloak_err make_self_signed(EVP_PKEY *key, X509 **out, cloak_error *why)
{
    return cloak_x509_self_signed(key, SIGNING_CN, SIGNING_CERT_DAYS, out, why);
}

static cloak_err write_pem(const char *path, X509 *cert, EVP_PKEY *key, cloak_error *why)
{
    return cert ? cloak_pem_write_cert(path, cert, why) : cloak_pem_write_key(path, key, why);
}

static cloak_err read_pem(const char *path, X509 **cert, EVP_PKEY **key, cloak_error *why)
{
    return cert ? cloak_pem_read_cert(path, cert, why) : cloak_pem_read_key(path, key, why);
}

/* A kid from retired-keys.json names files: only RFC 7638 thumbprints (base64url). */
static int kid_ok(const char *kid)
{
    static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    return kid && strlen(kid) == CLOAK_JWK_THUMBPRINT_LEN && strspn(kid, b64u) == strlen(kid);
}

/* The retirement record, or an empty one when there is none. */
static cloak_err read_retired(const char *data_dir, json_t **out, cloak_error *why)
{
    cloak_err rc;
    char *path = NULL;
    uint8_t *buf = NULL;
    size_t len;
    struct stat st;
    json_error_t je;
    if (asprintf(&path, "%s/retired-keys.json", data_dir) < 0)
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    if (stat(path, &st) != 0) {
        *out = json_pack("{s:[]}", "keys");
        rc = *out ? CLOAK_OK : cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = cloak_file_read(path, &buf, &len, why))) goto out;
    *out = json_loadb((const char *)buf, len, 0, &je);
    if (!*out || !json_is_array(json_object_get(*out, "keys"))) {
        json_decref(*out);
        *out = NULL;
        rc = cloak_error_set(why, CLOAK_EINVAL, "%s: not a retired-keys record", path);
    }
out:
    free(buf);
    free(path);
    return rc;
}

/* Append to s->jwks every retired key retired less than token_ttl ago. */
static cloak_err add_retired(cloak_attest_service *s, cloak_error *why)
{
    cloak_err rc;
    json_t *rec = NULL, *e;
    size_t i;
    time_t now = time(NULL);
    if ((rc = read_retired(s->data_dir, &rec, why))) return rc;
    json_array_foreach(json_object_get(rec, "keys"), i, e)
    {
        const char *kid = json_string_value(json_object_get(e, "kid"));
        json_t *at = json_object_get(e, "retired");
        char *cpath = NULL, tp[CLOAK_JWK_THUMBPRINT_LEN + 1];
        X509 *cert = NULL;
        json_t *jwk = NULL;
        if (!kid_ok(kid) || !json_is_integer(at)) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "%s/retired-keys.json: bad entry %zu",
                                 s->data_dir, i);
            break;
        }
        if (!strcmp(kid, s->kid)) continue; /* a rotation interrupted before its new key */
        if ((json_int_t)now - json_integer_value(at) >= (json_int_t)s->token_ttl) continue;
        if (asprintf(&cpath, "%s/retired-%s.pem", s->data_dir, kid) < 0) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            break;
        }
        rc = read_pem(cpath, &cert, NULL, why);
        if (!rc) rc = cloak_jwk_thumbprint_key(X509_get0_pubkey(cert), tp, why);
        if (!rc && strcmp(tp, kid))
            rc = cloak_error_set(why, CLOAK_EINVAL, "%s does not hold the key %s", cpath, kid);
        if (!rc) {
            X509 *chain[1] = {cert};
            cloak_jwk_opts o = {.kid = kid, .x5c = chain, .nx5c = 1};
            rc = cloak_jwk_export(X509_get0_pubkey(cert), &o, &jwk, why);
        }
        if (!rc && json_array_append_new(json_object_get(s->jwks, "keys"), jwk)) {
            jwk = NULL;
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        }
        X509_free(cert);
        free(cpath);
        if (rc) break;
    }
    json_decref(rec);
    return rc;
}

cloak_err svc_keys_load(cloak_attest_service *s, cloak_error *why)
{
    cloak_err rc;
    char *kpath = NULL, *cpath = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    json_t *jwk = NULL;
    struct stat st;
    if (asprintf(&kpath, "%s/signing.key", s->data_dir) < 0 ||
        asprintf(&cpath, "%s/signing.pem", s->data_dir) < 0) {
        kpath = cpath = NULL;
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (stat(kpath, &st) == 0) {
        if ((rc = read_pem(kpath, NULL, &key, why))) goto out;
        if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(key) < SIGNING_BITS) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "%s: not an RSA key of at least %d bits", kpath,
                                 SIGNING_BITS);
            goto out;
        }
        if (stat(cpath, &st) == 0) {
            if ((rc = read_pem(cpath, &cert, NULL, why))) goto out;
            if (X509_check_private_key(cert, key) != 1) {
                rc = cloak_error_set(why, CLOAK_EINVAL, "%s does not hold the key of %s", cpath,
                                     kpath);
                goto out;
            }
        }
    } else {
        if (!(key = EVP_RSA_gen(SIGNING_BITS))) {
            rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "creating the signing key");
            goto out;
        }
        if ((rc = write_pem(kpath, NULL, key, why))) goto out;
    }
    if (!cert) {
        if ((rc = make_self_signed(key, &cert, why)) || (rc = write_pem(cpath, cert, NULL, why)))
            goto out;
    }
    if ((rc = cloak_jwk_thumbprint_key(key, s->kid, why))) goto out;
    X509 *chain[1] = {cert};
    cloak_jwk_opts o = {.kid = s->kid, .x5c = chain, .nx5c = 1};
    if ((rc = cloak_jwk_export(key, &o, &jwk, why))) goto out;
    s->jwks = json_pack("{s:[O]}", "keys", jwk);
    if (!s->jwks) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = add_retired(s, why))) goto out;
    s->key = key;
    s->cert = cert;
    key = NULL;
    cert = NULL;
    rc = CLOAK_OK;
out:
    json_decref(jwk);
    EVP_PKEY_free(key);
    X509_free(cert);
    free(kpath);
    free(cpath);
    return rc;
}

void svc_keys_free(cloak_attest_service *s)
{
    EVP_PKEY_free(s->key);
    X509_free(s->cert);
    json_decref(s->jwks);
    s->key = NULL;
    s->cert = NULL;
    s->jwks = NULL;
}

cloak_err svc_sign_token(const cloak_attest_service *s, json_t *claims, int unsecured, char **out,
                         cloak_error *why)
{
    cloak_err rc;
    uint8_t jti[32];
    char jti_hex[65];
    char *payload = NULL;
    json_t *hdr = NULL;
    time_t now = time(NULL);
    if (RAND_bytes(jti, sizeof jti) != 1)
        return cloak_error_openssl(why, CLOAK_EINTERNAL, "random jti");
    cloak_hex_write(jti_hex, jti, sizeof jti);
    if (json_object_set_new(claims, "iat", json_integer((json_int_t)now)) ||
        json_object_set_new(claims, "nbf", json_integer((json_int_t)now)) ||
        json_object_set_new(claims, "exp", json_integer((json_int_t)now + s->token_ttl)) ||
        json_object_set_new(claims, "jti", json_string(jti_hex)) ||
        json_object_set_new(claims, "iss", json_string(s->issuer))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    hdr = unsecured ? json_pack("{s:s}", "typ", "JWT")
                    : json_pack("{s:s,s:s,s:s}", "jku", s->jku, "kid", s->kid, "typ", "JWT");
    payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    if (!hdr || !payload) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (unsecured)
        rc = cloak_jws_sign_unsecured(hdr, (const uint8_t *)payload, strlen(payload), out, why);
    else
        rc = cloak_jws_sign(s->key, CLOAK_JWS_RS256, hdr, (const uint8_t *)payload, strlen(payload),
                            out, why);
out:
    free(payload);
    json_decref(hdr);
    return rc;
}

cloak_err cloak_attest_rotate_key(const char *data_dir, cloak_error *why)
{
    cloak_err rc;
    char *kpath = NULL, *cpath = NULL, *rk = NULL, *rc_ = NULL, *rec_path = NULL, *text = NULL;
    char kid[CLOAK_JWK_THUMBPRINT_LEN + 1];
    EVP_PKEY *old = NULL, *key = NULL;
    X509 *old_cert = NULL, *cert = NULL;
    json_t *rec = NULL;
    struct stat st;
    if (!data_dir || !*data_dir)
        return cloak_error_set(why, CLOAK_EINVAL, "a data directory is required (--data DIR)");
    if (asprintf(&kpath, "%s/signing.key", data_dir) < 0) kpath = NULL;
    if (asprintf(&cpath, "%s/signing.pem", data_dir) < 0) cpath = NULL;
    if (asprintf(&rec_path, "%s/retired-keys.json", data_dir) < 0) rec_path = NULL;
    if (!kpath || !cpath || !rec_path) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = cloak_mkdirs(data_dir, 0700, why))) goto out;
    if (stat(kpath, &st) == 0) {
        /* keep the current key (and its certificate) under its kid, then record it */
        if ((rc = read_pem(kpath, NULL, &old, why)) ||
            (rc = cloak_jwk_thumbprint_key(old, kid, why)))
            goto out;
        /* a missing or mismatched certificate (a rotation interrupted between its two
         * writes) is made again for the key */
        if (stat(cpath, &st) == 0 && read_pem(cpath, &old_cert, NULL, why) == CLOAK_OK &&
            X509_check_private_key(old_cert, old) != 1) {
            X509_free(old_cert);
            old_cert = NULL;
        }
        ERR_clear_error();
        if (!old_cert && (rc = make_self_signed(old, &old_cert, why))) goto out;
        if (asprintf(&rk, "%s/retired-%s.key", data_dir, kid) < 0) rk = NULL;
        if (asprintf(&rc_, "%s/retired-%s.pem", data_dir, kid) < 0) rc_ = NULL;
        if (!rk || !rc_) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = write_pem(rk, NULL, old, why)) || (rc = write_pem(rc_, old_cert, NULL, why)) ||
            (rc = read_retired(data_dir, &rec, why)))
            goto out;
        json_t *keys = json_object_get(rec, "keys"), *e;
        size_t i;
        json_array_foreach(keys, i, e)
        {
            if (json_is_string(json_object_get(e, "kid")) &&
                !strcmp(json_string_value(json_object_get(e, "kid")), kid)) {
                json_array_remove(keys, i); /* retired again: the newest time counts */
                break;
            }
        }
        if (json_array_append_new(
                keys, json_pack("{s:s,s:I}", "kid", kid, "retired", (json_int_t)time(NULL))) ||
            !(text = json_dumps(rec, JSON_INDENT(2)))) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = cloak_file_write(rec_path, (const uint8_t *)text, strlen(text), 0644, why)))
            goto out;
    }
    /* the new key: certificate first, then the key (a crash in between leaves a mismatch that
     * the service reports rather than a silently unpublished key) */
    if (!(key = EVP_RSA_gen(SIGNING_BITS))) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "creating the signing key");
        goto out;
    }
    if ((rc = make_self_signed(key, &cert, why)) || (rc = write_pem(cpath, cert, NULL, why)) ||
        (rc = write_pem(kpath, NULL, key, why)))
        goto out;
    rc = CLOAK_OK;
out:
    free(text);
    json_decref(rec);
    EVP_PKEY_free(old);
    EVP_PKEY_free(key);
    X509_free(old_cert);
    X509_free(cert);
    free(kpath);
    free(cpath);
    free(rk);
    free(rc_);
    free(rec_path);
    return rc;
}
