/* Key operations: encrypt, decrypt, wrapkey, unwrapkey, sign, verify. The host parses and
 * checks the request and the key's state; the operation itself runs in the vault enclave on the
 * stored key blob (keyops.h). */
#include "vault/service.h"

#include "cloak/jose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VALUE (64u << 10)

/* A base64url member into request memory; 0 absent, 1 present, -1 vfail. */
static int b64_member(vjob *j, const char *name, int required, const uint8_t **out, size_t *len)
{
    cloak_error e = {0};
    json_t *v = json_object_get(j->body, name);
    *out = NULL;
    *len = 0;
    if (!v || json_is_null(v)) {
        if (required) return vfail(j, 400, "BadParameter", NULL, "%s is required.", name);
        return 0;
    }
    const char *s = json_string_value(v);
    uint8_t *p = NULL;
    if (!s) return vfail(j, 400, "BadParameter", NULL, "%s must be a base64url string.", name);
    if (strlen(s) > MAX_VALUE * 4 / 3 + 4)
        return vfail(j, 400, "BadParameter", NULL, "%s is too long (at most %u bytes).", name,
                     MAX_VALUE);
    if (cloak_base64url_decode(s, strlen(s), &p, len, &e))
        return vfail(j, 400, "BadParameter", NULL, "%s is not base64url: %s", name, e.msg);
    uint8_t *copy = cloak_http_alloc(j->req, *len ? *len : 1);
    memcpy(copy, p, *len);
    cloak_free_secret(p, *len);
    *out = copy;
    return 1;
}

static void crypt_op(vjob *j, cloak_vk_op op, const char *opname, int needs_fresh)
{
    cloak_error e = {0};
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL;
    char *bind = NULL;
    cloak_vk_result res = {0};
    const char *alg = json_string_value(json_object_get(j->body, "alg"));
    if (!alg) {
        vfail(j, 400, "BadParameter", NULL, "alg is required (e.g. RSA-OAEP-256, A256GCM, RS256).");
        return;
    }
    cloak_vk_request r = {.op = op, .alg = alg};
    if (op == CLOAK_VK_VERIFY) {
        if (b64_member(j, "digest", 1, &r.digest, &r.digest_len) < 0 ||
            b64_member(j, "value", 1, &r.value, &r.value_len) < 0)
            return;
    } else if (b64_member(j, "value", 1, &r.value, &r.value_len) < 0 ||
               b64_member(j, "iv", 0, &r.iv, &r.iv_len) < 0 ||
               b64_member(j, "aad", 0, &r.aad, &r.aad_len) < 0 ||
               b64_member(j, "tag", 0, &r.tag, &r.tag_len) < 0) {
        return;
    }
    if (vault_load(j, &rec, &meta)) return;
    if (vault_key_usable(j, meta, opname, needs_fresh)) goto out;
    if (!(bind = vault_bind(j->name, rec.version))) {
        vfail(j, 500, "InternalError", NULL, "out of memory");
        goto out;
    }
    if (cloak_vault_keyops_crypt(j->s->ko, rec.blob, rec.blob_len, bind, &r, &res, &e)) {
        if (e.code == CLOAK_EVERIFY)
            vfail(j, 400, "BadParameter", "DecryptionFailed", "%s", e.msg);
        else
            vfail_err(j, &e);
        goto out;
    }
    char kid[600];
    snprintf(kid, sizeof kid, "%s/keys/%s/%s", j->s->url, j->name, rec.version);
    if (op == CLOAK_VK_VERIFY) {
        vok(j, 200, json_pack("{s:b}", "value", res.verified));
        goto out;
    }
    json_t *reply = json_pack("{s:s}", "kid", kid);
    char *v = cloak_base64url_encode(res.value, res.value_len);
    json_object_set_new(reply, "value", json_string(v ? v : ""));
    free(v);
    const uint8_t *iv = res.iv ? res.iv : r.iv;
    size_t ivl = res.iv ? res.iv_len : r.iv_len;
    if (iv && op == CLOAK_VK_ENCRYPT) {
        char *x = cloak_base64url_encode(iv, ivl);
        json_object_set_new(reply, "iv", json_string(x ? x : ""));
        free(x);
    }
    if (res.tag) {
        char *x = cloak_base64url_encode(res.tag, res.tag_len);
        json_object_set_new(reply, "tag", json_string(x ? x : ""));
        free(x);
    }
    if (r.aad && op == CLOAK_VK_ENCRYPT)
        json_object_set(reply, "aad", json_object_get(j->body, "aad"));
    vok(j, 200, reply);
out:
    /* plaintext results and inputs: wipe */
    if (res.value && (op == CLOAK_VK_DECRYPT || op == CLOAK_VK_UNWRAP))
        OPENSSL_cleanse(res.value, res.value_len);
    if (r.value && (op == CLOAK_VK_ENCRYPT || op == CLOAK_VK_WRAP))
        OPENSSL_cleanse((void *)r.value, r.value_len);
    cloak_vk_result_clear(&res);
    free(bind);
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
}

void op_encrypt(vjob *j)
{
    crypt_op(j, CLOAK_VK_ENCRYPT, "encrypt", 1);
}

void op_decrypt(vjob *j)
{
    crypt_op(j, CLOAK_VK_DECRYPT, "decrypt", 0);
}

void op_wrap(vjob *j)
{
    crypt_op(j, CLOAK_VK_WRAP, "wrapKey", 1);
}

void op_unwrap(vjob *j)
{
    crypt_op(j, CLOAK_VK_UNWRAP, "unwrapKey", 0);
}

void op_sign(vjob *j)
{
    crypt_op(j, CLOAK_VK_SIGN, "sign", 1);
}

void op_verify(vjob *j)
{
    crypt_op(j, CLOAK_VK_VERIFY, "verify", 0);
}
