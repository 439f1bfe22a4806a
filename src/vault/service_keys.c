/* Key management routes: create, import, get, list, update, soft delete / recover / purge,
 * rotate, backup / restore, rng, rotation policy. Each runs on a worker (service.c). */
#include "vault/service.h"

#include "cloak/jose.h"
#include "vault/skr.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TAGS 15

static const char *const all_ops[] = {"encrypt",   "decrypt", "sign",   "verify", "wrapKey",
                                      "unwrapKey", "import",  "export", NULL};

/* "RSA-HSM" -> CLOAK_VK_RSA ...; 0 if unknown. */
static cloak_vk_type type_of(const char *kty)
{
    if (!kty) return 0;
    if (!strcmp(kty, "RSA") || !strcmp(kty, "RSA-HSM")) return CLOAK_VK_RSA;
    if (!strcmp(kty, "EC") || !strcmp(kty, "EC-HSM")) return CLOAK_VK_EC;
    if (!strcmp(kty, "oct") || !strcmp(kty, "oct-HSM")) return CLOAK_VK_OCT;
    return 0;
}

static const char *type_name(cloak_vk_type t)
{
    return t == CLOAK_VK_RSA ? "RSA" : t == CLOAK_VK_EC ? "EC" : "oct";
}

static json_t *default_ops(cloak_vk_type t)
{
    if (t == CLOAK_VK_RSA)
        return json_pack("[s,s,s,s,s,s]", "encrypt", "decrypt", "sign", "verify", "wrapKey",
                         "unwrapKey");
    if (t == CLOAK_VK_EC) return json_pack("[s,s]", "sign", "verify");
    return json_pack("[s,s,s,s]", "encrypt", "decrypt", "wrapKey", "unwrapKey");
}

/* key_ops: an array of known operations that fit the key type; NULL (and vfail) otherwise. */
static json_t *check_ops(vjob *j, const json_t *ops, cloak_vk_type t)
{
    if (!ops || json_is_null(ops)) return default_ops(t);
    if (!json_is_array(ops)) {
        vfail(j, 400, "BadParameter", NULL, "key_ops must be an array of operation names.");
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ops, i, v)
    {
        const char *o = json_string_value(v);
        int known = 0;
        for (size_t k = 0; o && all_ops[k]; k++)
            known |= !strcmp(o, all_ops[k]);
        if (!known) {
            vfail(j, 400, "BadParameter", NULL,
                  "key_ops[%zu] is not a key operation: use encrypt, decrypt, sign, verify, "
                  "wrapKey, unwrapKey, import or export.",
                  i);
            return NULL;
        }
        int sig = !strcmp(o, "sign") || !strcmp(o, "verify");
        int enc = !strcmp(o, "encrypt") || !strcmp(o, "decrypt") || !strcmp(o, "wrapKey") ||
                  !strcmp(o, "unwrapKey");
        if ((t == CLOAK_VK_EC && enc) || (t == CLOAK_VK_OCT && sig)) {
            vfail(j, 400, "BadParameter", NULL, "key_ops: %s is not possible with a%s %s key.", o,
                  t == CLOAK_VK_EC ? "n" : "n", type_name(t));
            return NULL;
        }
    }
    return json_deep_copy(ops);
}

static int check_tags(vjob *j, const json_t *tags)
{
    if (!tags || json_is_null(tags)) return 0;
    if (!json_is_object(tags) || json_object_size(tags) > MAX_TAGS)
        return vfail(j, 400, "BadParameter", NULL,
                     "tags must be an object of at most %d string values.", MAX_TAGS);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tags, k, v)
    {
        if (!json_is_string(v) || strlen(k) > 256 || strlen(json_string_value(v)) > 256)
            return vfail(j, 400, "BadParameter", NULL,
                         "tag '%.64s' must be a string of at most 256 characters.", k);
    }
    return 0;
}

/* Merge request attributes into `attrs` (enabled, nbf, exp, exportable). */
static int merge_attributes(vjob *j, json_t *attrs, const json_t *in, int creating)
{
    if (!in || json_is_null(in)) return 0;
    if (!json_is_object(in))
        return vfail(j, 400, "BadParameter", NULL, "attributes must be an object.");
    const json_t *v;
    if ((v = json_object_get(in, "enabled")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return vfail(j, 400, "BadParameter", NULL, "attributes.enabled must be a boolean.");
        json_object_set(attrs, "enabled", (json_t *)v);
    }
    static const char *const times[] = {"nbf", "exp"};
    for (int i = 0; i < 2; i++) {
        if (!(v = json_object_get(in, times[i]))) continue;
        if (json_is_null(v)) {
            json_object_del(attrs, times[i]);
            continue;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return vfail(j, 400, "BadParameter", NULL,
                         "attributes.%s must be a time in seconds since 1970.", times[i]);
        json_object_set(attrs, times[i], (json_t *)v);
    }
    if ((v = json_object_get(in, "exportable")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return vfail(j, 400, "BadParameter", NULL, "attributes.exportable must be a boolean.");
        json_t *cur = json_object_get(attrs, "exportable");
        if (!creating && cur && json_boolean_value(cur) != json_boolean_value(v))
            return vfail(j, 400, "BadParameter", NULL,
                         "attributes.exportable cannot be changed after the key is created.");
        json_object_set(attrs, "exportable", (json_t *)v);
    }
    return 0;
}

/* Validate a release_policy envelope; returns the stored form (data as base64url). */
static json_t *check_release_policy(vjob *j, const json_t *rp)
{
    cloak_error e = {0};
    uint8_t *doc = NULL;
    size_t len = 0;
    int immutable = 0;
    cloak_skr_policy *p = NULL;
    json_t *out = NULL;
    if (cloak_skr_envelope_decode(rp, &doc, &len, &immutable, &e) ||
        cloak_skr_policy_parse(doc, len, &p, &e)) {
        vfail(j, 400, "BadParameter", "InvalidReleasePolicy", "release_policy: %s", e.msg);
        goto out;
    }
    char *data = cloak_base64url_encode(doc, len);
    const char *ct = json_string_value(json_object_get(rp, "contentType"));
    out = json_pack("{s:s,s:s,s:b}", "contentType", ct ? ct : "application/json; charset=utf-8",
                    "data", data ? data : "", "immutable", immutable);
    free(data);
out:
    cloak_skr_policy_free(p);
    free(doc);
    return out;
}

/* The attributes/tags/release_policy of a new key. 0 or vfail. */
static int new_meta_common(vjob *j, json_t *meta)
{
    json_t *attrs = json_pack("{s:b,s:b,s:I,s:I}", "enabled", 1, "exportable", 0, "created",
                              (json_int_t)j->now, "updated", (json_int_t)j->now);
    json_object_set_new(meta, "attributes", attrs);
    if (merge_attributes(j, attrs, json_object_get(j->body, "attributes"), 1)) return -1;
    const json_t *tags = json_object_get(j->body, "tags");
    if (check_tags(j, tags)) return -1;
    json_object_set_new(meta, "tags",
                        tags && !json_is_null(tags) ? json_deep_copy(tags) : json_object());
    const json_t *rp = json_object_get(j->body, "release_policy");
    int exportable = json_is_true(json_object_get(attrs, "exportable"));
    if (rp && !json_is_null(rp)) {
        json_t *stored = check_release_policy(j, rp);
        if (!stored) return -1;
        json_object_set_new(meta, "release_policy", stored);
    }
    if (exportable && !json_object_get(meta, "release_policy"))
        return vfail(j, 400, "BadParameter", NULL,
                     "Exportable keys must have a release policy: send release_policy with "
                     "attributes.exportable = true.");
    if (!exportable && json_object_get(meta, "release_policy"))
        return vfail(j, 400, "BadParameter", NULL,
                     "A release policy needs an exportable key: set attributes.exportable = true "
                     "(only exportable keys can be released).");
    return 0;
}

/* Store a new version and answer its bundle. */
static void put_and_answer(vjob *j, const char *version, json_t *meta, const uint8_t *blob,
                           size_t blob_len, int status)
{
    cloak_error e = {0};
    char *text = json_dumps(meta, JSON_COMPACT);
    if (!text) {
        vfail(j, 500, "InternalError", NULL, "out of memory");
        return;
    }
    if (cloak_vault_store_put_version(j->s->store, j->name, version, text, blob, blob_len, &e)) {
        if (e.code == CLOAK_EEXIST)
            vfail(j, 409, "Conflict", "ObjectIsDeletedButRecoverable",
                  "Key %s is currently in a deleted but recoverable state, and its name cannot be "
                  "reused; in this state, the key can only be recovered or purged.",
                  j->name);
        else
            vfail_err(j, &e);
    } else {
        j->version = cloak_http_strdup(j->req, version);
        vok(j, status, vault_bundle(j->s, j->name, version, meta));
    }
    free(text);
}

static int check_name(vjob *j)
{
    if (vault_name_ok(j->name)) return 0;
    return vfail(j, 400, "BadParameter", NULL,
                 "The key name '%.140s' is invalid: use 1-127 letters, digits and dashes.",
                 j->name ? j->name : "");
}

/* Generate a key like `spec` into a new version of j->name, with `meta` filled but for
 * "pub". */
static void generate_into(vjob *j, const cloak_vk_spec *spec, json_t *meta)
{
    cloak_error e = {0};
    char version[33];
    vault_new_version(version);
    char *bind = vault_bind(j->name, version);
    uint8_t *blob = NULL;
    size_t blen = 0;
    json_t *pub = NULL;
    if (!bind) {
        vfail(j, 500, "InternalError", NULL, "out of memory");
        return;
    }
    if (cloak_vault_keyops_generate(j->s->ko, spec, bind, &blob, &blen, &pub, &e)) {
        vfail_err(j, &e);
    } else {
        if (pub) json_object_del(pub, "kty");
        json_object_set_new(meta, "pub", pub ? pub : json_null());
        put_and_answer(j, version, meta, blob, blen, 200);
    }
    free(blob);
    free(bind);
}

void op_create(vjob *j)
{
    if (check_name(j)) return;
    const char *kty = json_string_value(json_object_get(j->body, "kty"));
    cloak_vk_type t = type_of(kty);
    if (!t) {
        vfail(j, 400, "BadParameter", NULL,
              "kty must be one of RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM (got %.32s).",
              kty ? kty : "nothing");
        return;
    }
    cloak_vk_spec spec = {.type = t};
    json_t *ks = json_object_get(j->body, "key_size");
    if (ks && !json_is_null(ks) && !json_is_integer(ks)) {
        vfail(j, 400, "BadParameter", NULL, "key_size must be an integer.");
        return;
    }
    json_int_t size = json_integer_value(ks);
    const char *crv = json_string_value(json_object_get(j->body, "crv"));
    if (t == CLOAK_VK_RSA) {
        spec.bits = size ? (unsigned)size : 2048;
        if (spec.bits != 2048 && spec.bits != 3072 && spec.bits != 4096) {
            vfail(j, 400, "BadParameter", NULL, "RSA key_size must be 2048, 3072 or 4096.");
            return;
        }
        json_t *pe = json_object_get(j->body, "public_exponent");
        if (pe && !json_is_null(pe) && json_integer_value(pe) != 65537) {
            vfail(j, 400, "BadParameter", NULL, "public_exponent must be 65537.");
            return;
        }
    } else if (t == CLOAK_VK_EC) {
        spec.curve = crv ? crv : "P-256";
        if (strcmp(spec.curve, "P-256") && strcmp(spec.curve, "P-384") &&
            strcmp(spec.curve, "P-521") && strcmp(spec.curve, "P-256K")) {
            vfail(j, 400, "BadParameter", NULL, "crv must be P-256, P-384, P-521 or P-256K.");
            return;
        }
        spec.bits = !strcmp(spec.curve, "P-384") ? 384 : !strcmp(spec.curve, "P-521") ? 521 : 256;
    } else {
        spec.bits = size ? (unsigned)size : 256;
        if (spec.bits != 128 && spec.bits != 192 && spec.bits != 256) {
            vfail(j, 400, "BadParameter", NULL, "oct key_size must be 128, 192 or 256.");
            return;
        }
    }
    json_t *ops = check_ops(j, json_object_get(j->body, "key_ops"), t);
    if (!ops) return;
    json_t *meta = json_pack("{s:s,s:s,s:i,s:o}", "kty", kty, "type", type_name(t), "bits",
                             (int)spec.bits, "key_ops", ops);
    if (spec.curve) json_object_set_new(meta, "crv", json_string(spec.curve));
    if (!new_meta_common(j, meta)) generate_into(j, &spec, meta);
    json_decref(meta);
}

void op_import(vjob *j)
{
    cloak_error e = {0};
    if (check_name(j)) return;
    json_t *jwk = json_object_get(j->body, "key");
    if (!json_is_object(jwk)) {
        vfail(j, 400, "BadParameter", NULL, "key must be a JSON Web Key object.");
        return;
    }
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    cloak_vk_type t = type_of(kty);
    if (!t) {
        vfail(j, 400, "BadParameter", NULL,
              "key.kty must be RSA, EC or oct (or their -HSM kinds).");
        return;
    }
    json_t *hsm = json_object_get(j->body, "Hsm");
    if (!hsm) hsm = json_object_get(j->body, "hsm");
    char out_kty[16];
    snprintf(out_kty, sizeof out_kty, "%s%s", type_name(t),
             json_is_true(hsm) || strstr(kty, "-HSM") ? "-HSM" : "");
    json_t *ops = check_ops(j, json_object_get(jwk, "key_ops"), t);
    if (!ops) return;
    json_t *meta = json_pack("{s:s,s:s,s:o}", "kty", out_kty, "type", type_name(t), "key_ops", ops);
    char version[33];
    vault_new_version(version);
    char *bind = vault_bind(j->name, version);
    uint8_t *blob = NULL;
    size_t blen = 0;
    json_t *pub = NULL;
    cloak_vk_type got;
    unsigned bits = 0;
    if (new_meta_common(j, meta)) goto out;
    if (!bind) {
        vfail(j, 500, "InternalError", NULL, "out of memory");
        goto out;
    }
    if (cloak_vault_keyops_import(j->s->ko, jwk, bind, &blob, &blen, &pub, &got, &bits, &e)) {
        vfail_err(j, &e);
        goto out;
    }
    json_object_set_new(meta, "bits", json_integer(bits));
    if (pub && json_object_get(pub, "crv"))
        json_object_set(meta, "crv", json_object_get(pub, "crv"));
    if (pub) json_object_del(pub, "kty");
    json_object_set_new(meta, "pub", pub ? pub : json_null());
    put_and_answer(j, version, meta, blob, blen, 200);
out:
    /* the private members of the request were handed to the enclave; wipe our copy */
    cloak_jwk_free_private(json_incref(jwk));
    json_object_del(j->body, "key");
    size_t blen_req = 0;
    const uint8_t *raw = cloak_http_body(j->req, &blen_req);
    if (blen_req) OPENSSL_cleanse((void *)raw, blen_req); /* the request's own copy */
    free(blob);
    free(bind);
    json_decref(meta);
}

void op_get(vjob *j)
{
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL;
    if (vault_load(j, &rec, &meta)) return;
    vok(j, 200, vault_bundle(j->s, j->name, rec.version, meta));
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
}

/* A new version with fresh key material of the same type and size, the same key_ops, tags,
 * release policy and attributes (created/updated now). */
void op_rotate(vjob *j)
{
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL;
    j->version = NULL;
    if (vault_load(j, &rec, &meta)) return;
    j->version = NULL;
    cloak_vk_spec spec = {
        .type = type_of(json_string_value(json_object_get(meta, "type"))),
        .bits = (unsigned)json_integer_value(json_object_get(meta, "bits")),
        .curve = json_string_value(json_object_get(meta, "crv")),
    };
    json_t *attrs = json_object_get(meta, "attributes");
    json_object_set_new(attrs, "created", json_integer(j->now));
    json_object_set_new(attrs, "updated", json_integer(j->now));
    json_object_del(meta, "pub");
    if (!spec.type)
        vfail(j, 500, "InternalError", NULL, "stored metadata of %s has no key type", j->name);
    else
        generate_into(j, &spec, meta);
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
}
