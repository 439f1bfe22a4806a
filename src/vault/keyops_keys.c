/*
 * vault keyops, host side: key generation and import (vault/keyops.h). Generation happens in
 * the enclave; the host gets a blob and the public key (SubjectPublicKeyInfo), which it turns
 * into the public JWK. An imported private JWK is decoded here (base64url) into a wiped buffer
 * and sent to the enclave, which builds and checks the key; the lane's channel is scrubbed
 * after the call (keyops.c).
 *
 * Trust: the JWK comes from a caller and is untrusted (members checked for type, decoded
 * strictly); the enclave checks the key itself. Thread-safety: as keyops.c.
 */
#include "vault/enclave/vault_proto.h"
#include "vault/keyops.h"
#include "vault/keyops_int.h"

#include "cloak/jose.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define KO_KEY_REPLY_CAP 16384u /* blob + public key of an RSA-4096 key, with room to spare */

static void put_bytes(cloak_buf *b, const void *p, size_t len)
{
    cloak_buf_u32le(b, (uint32_t)len);
    cloak_buf_put(b, p, len);
}

/* The public JWK of a SubjectPublicKeyInfo: Key Vault names secp256k1 "P-256K". */
static cloak_err public_jwk_of(const uint8_t *spki, size_t len, int type, json_t **out,
                               cloak_error *why)
{
    const uint8_t *p = spki;
    EVP_PKEY *pk = len <= 65536 ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
    if (!pk || p != spki + len || !EVP_PKEY_is_a(pk, type == CLOAK_VK_RSA ? "RSA" : "EC")) {
        EVP_PKEY_free(pk);
        return cloak_error_set(why, CLOAK_EINTERNAL,
                               "the vault enclave returned an unusable public key");
    }
    json_t *jwk = NULL;
    cloak_err rc = cloak_jwk_export(pk, NULL, &jwk, why);
    EVP_PKEY_free(pk);
    if (rc) return rc;
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    if (crv && !strcmp(crv, "secp256k1") &&
        json_object_set_new(jwk, "crv", json_string("P-256K"))) {
        json_decref(jwk);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    *out = jwk;
    return CLOAK_OK;
}

/* Parse a GENERATE/IMPORT reply: bytes blob, bytes SPKI, u32 bits. */
static cloak_err key_reply(const uint8_t *r, size_t n, int type, uint8_t **blob, size_t *blob_len,
                           json_t **public_jwk, unsigned *bits, cloak_error *why)
{
    cloak_reader rd;
    uint32_t bl = 0, sl = 0, b = 0;
    const uint8_t *bp = NULL, *sp = NULL;
    cloak_reader_init(&rd, r, n);
    if (cloak_take_u32le(&rd, &bl) || cloak_take_ref(&rd, &bp, bl) || cloak_take_u32le(&rd, &sl) ||
        cloak_take_ref(&rd, &sp, sl) || cloak_take_u32le(&rd, &b) || cloak_reader_left(&rd) ||
        bl <= VE_BLOB_OVERHEAD || (type != CLOAK_VK_OCT) != (sl != 0))
        return cloak_error_set(why, CLOAK_EINTERNAL, "the vault enclave sent a malformed reply");
    json_t *jwk = NULL;
    cloak_err rc;
    if (type != CLOAK_VK_OCT && public_jwk && (rc = public_jwk_of(sp, sl, type, &jwk, why)))
        return rc;
    uint8_t *copy = ko_dup(bp, bl);
    if (!copy) {
        json_decref(jwk);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    *blob = copy;
    *blob_len = bl;
    if (public_jwk) *public_jwk = jwk;
    if (bits) *bits = b;
    return CLOAK_OK;
}

cloak_err cloak_vault_keyops_generate(cloak_vault_keyops *ko, const cloak_vk_spec *spec,
                                      const char *bind, uint8_t **blob, size_t *blob_len,
                                      json_t **public_jwk, cloak_error *why)
{
    if (!ko || !spec || !blob || !blob_len)
        return cloak_error_set(why, CLOAK_EINVAL, "keyops generate: spec and blob are required");
    if (!bind || strlen(bind) > VE_MAX_BIND)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "a key bind (name/version) of at most %u bytes "
                               "is required",
                               VE_MAX_BIND);
    if (spec->type != CLOAK_VK_RSA && spec->type != CLOAK_VK_EC && spec->type != CLOAK_VK_OCT)
        return cloak_error_set(why, CLOAK_EINVAL, "unknown key type %d", (int)spec->type);
    if (spec->type == CLOAK_VK_EC && !spec->curve)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "an EC key needs a curve (P-256, P-384, P-521, "
                               "P-256K)");
    cloak_buf m = {0};
    const char *crv = spec->type == CLOAK_VK_EC ? spec->curve : "";
    cloak_buf_u8(&m, (uint8_t)spec->type);
    cloak_buf_u32le(&m, spec->type == CLOAK_VK_EC ? 0 : spec->bits);
    put_bytes(&m, crv, strlen(crv));
    put_bytes(&m, bind, strlen(bind));
    uint8_t *r = malloc(KO_KEY_REPLY_CAP);
    size_t n = 0;
    cloak_err rc;
    if (m.failed || !r)
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    else if (!(rc = ko_call(ko, VE_FID_GENERATE, m.p, m.len, r, KO_KEY_REPLY_CAP, &n, 0, why)))
        rc = key_reply(r, n, spec->type, blob, blob_len, public_jwk, NULL, why);
    if (!rc && public_jwk && spec->type == CLOAK_VK_OCT) *public_jwk = NULL;
    cloak_buf_free(&m);
    free(r);
    return rc;
}

/* Decode base64url member `name` of the JWK into the message (a wiped buffer). */
static cloak_err put_member(cloak_buf *m, const json_t *jwk, const char *name, cloak_error *why)
{
    const json_t *v = json_object_get(jwk, name);
    const char *s = json_string_value(v);
    if (!s)
        return cloak_error_set(why, CLOAK_EINVAL, "the JWK to import has no string member \"%s\"",
                               name);
    uint8_t *bytes = NULL;
    size_t len = 0;
    cloak_err rc = cloak_base64url_decode(s, json_string_length(v), &bytes, &len, why);
    if (rc) return cloak_error_wrap(why, "JWK member \"%s\"", name);
    if (!len) {
        cloak_free_secret(bytes, 1);
        return cloak_error_set(why, CLOAK_EINVAL, "JWK member \"%s\" is empty", name);
    }
    put_bytes(m, bytes, len);
    cloak_free_secret(bytes, len);
    return CLOAK_OK;
}

cloak_err cloak_vault_keyops_import(cloak_vault_keyops *ko, const json_t *private_jwk,
                                    const char *bind, uint8_t **blob, size_t *blob_len,
                                    json_t **public_jwk, cloak_vk_type *type_out,
                                    unsigned *bits_out, cloak_error *why)
{
    if (!ko || !json_is_object(private_jwk) || !blob || !blob_len)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "keyops import: a JWK object and blob are "
                               "required");
    if (!bind || strlen(bind) > VE_MAX_BIND)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "a key bind (name/version) of at most %u bytes "
                               "is required",
                               VE_MAX_BIND);
    const char *kty = json_string_value(json_object_get(private_jwk, "kty"));
    static const char *const rsa[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi"};
    static const char *const ec[] = {"x", "y", "d"};
    int type;
    if (kty && (!strcmp(kty, "RSA") || !strcmp(kty, "RSA-HSM")))
        type = CLOAK_VK_RSA;
    else if (kty && (!strcmp(kty, "EC") || !strcmp(kty, "EC-HSM")))
        type = CLOAK_VK_EC;
    else if (kty && (!strcmp(kty, "oct") || !strcmp(kty, "oct-HSM")))
        type = CLOAK_VK_OCT;
    else
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the JWK to import has kty \"%.20s\" (RSA, EC or oct, with or "
                               "without -HSM)",
                               kty ? kty : "");
    if (type == CLOAK_VK_RSA && json_object_get(private_jwk, "oth"))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "multi-prime RSA keys (\"oth\") are not "
                               "supported");
    cloak_buf m = {0};
    cloak_err rc = CLOAK_OK;
    cloak_buf_u8(&m, (uint8_t)type);
    put_bytes(&m, bind, strlen(bind));
    if (type == CLOAK_VK_RSA) {
        cloak_buf_u8(&m, VE_IMPORT_RSA_FIELDS);
        for (size_t i = 0; i < 8 && !rc; i++)
            rc = put_member(&m, private_jwk, rsa[i], why);
    } else if (type == CLOAK_VK_EC) {
        const char *crv = json_string_value(json_object_get(private_jwk, "crv"));
        if (!crv) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "the EC JWK to import has no \"crv\"");
        } else {
            cloak_buf_u8(&m, VE_IMPORT_EC_FIELDS);
            put_bytes(&m, crv, strlen(crv));
            for (size_t i = 0; i < 3 && !rc; i++)
                rc = put_member(&m, private_jwk, ec[i], why);
        }
    } else {
        cloak_buf_u8(&m, VE_IMPORT_OCT_FIELDS);
        rc = put_member(&m, private_jwk, "k", why);
    }
    uint8_t *r = NULL;
    size_t n = 0;
    unsigned bits = 0;
    if (!rc && (m.failed || !(r = malloc(KO_KEY_REPLY_CAP))))
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    if (!rc) rc = ko_call(ko, VE_FID_IMPORT, m.p, m.len, r, KO_KEY_REPLY_CAP, &n, 1, why);
    cloak_buf_free_secret(&m);
    if (!rc) rc = key_reply(r, n, type, blob, blob_len, public_jwk, &bits, why);
    free(r);
    if (rc) return rc;
    if (public_jwk && type == CLOAK_VK_OCT) *public_jwk = NULL;
    if (type_out) *type_out = (cloak_vk_type)type;
    if (bits_out) *bits_out = bits;
    return CLOAK_OK;
}
