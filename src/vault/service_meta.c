/* Key metadata and the Key Vault JSON shapes.
 *
 * The store keeps, per key version, a metadata document (JSON text) that this file alone reads
 * and writes:
 *   {"kty": "RSA-HSM" (as created/imported), "type": "RSA"|"EC"|"oct", "bits": N, "crv"?: "P-256",
 *    "key_ops": [...], "pub": {n,e} | {crv,x,y} | null,
 *    "attributes": {"enabled", "nbf"?, "exp"?, "exportable", "created", "updated"},
 *    "tags": {...}, "release_policy"?: {"contentType", "data", "immutable"}}
 * and the Key Vault answers are built from it. No key material is in it: "pub" holds only the
 * public members. */
#include "vault/service.h"

#include "cloak/base.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vault_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 127) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-'))
            return 0;
    }
    return 1;
}

void vault_new_version(char out[33])
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1) abort(); /* no randomness: nothing is safe to do */
    cloak_hex_write(out, r, sizeof r);
}

char *vault_bind(const char *name, const char *version)
{
    char *b = NULL;
    if (asprintf(&b, "%s/%s", name, version) < 0) return NULL;
    return b;
}

static json_t *kid_of(const cloak_vault_service *s, const char *name, const char *version)
{
    char *k = NULL;
    int n = version ? asprintf(&k, "%s/keys/%s/%s", s->url, name, version)
                    : asprintf(&k, "%s/keys/%s", s->url, name);
    if (n < 0) return NULL;
    json_t *v = json_string(k);
    free(k);
    return v;
}

static json_t *attributes_out(const json_t *meta)
{
    json_t *a = json_deep_copy(json_object_get(meta, "attributes"));
    if (!a) a = json_object();
    json_object_set_new(a, "recoveryLevel", json_string("Recoverable+Purgeable"));
    json_object_set_new(a, "recoverableDays", json_integer(VAULT_RECOVERABLE_DAYS));
    return a;
}

json_t *vault_bundle(const cloak_vault_service *s, const char *name, const char *version,
                     const json_t *meta)
{
    json_t *key = json_object();
    json_object_set_new(key, "kid", kid_of(s, name, version));
    json_object_set(key, "kty", json_object_get(meta, "kty"));
    json_object_set_new(key, "key_ops", json_deep_copy(json_object_get(meta, "key_ops")));
    const json_t *pub = json_object_get(meta, "pub");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)pub, k, v)
    {
        if (strcmp(k, "kty") && strcmp(k, "kid") && strcmp(k, "key_ops"))
            json_object_set(key, k, v);
    }
    json_t *b =
        json_pack("{s:o,s:o,s:O}", "key", key, "attributes", attributes_out(meta), "tags",
                  json_object_get(meta, "tags") ? json_object_get(meta, "tags") : json_object());
    const json_t *rp = json_object_get(meta, "release_policy");
    if (b && rp) json_object_set_new(b, "release_policy", json_deep_copy(rp));
    return b;
}

json_t *vault_item(const cloak_vault_service *s, const char *name, const char *version,
                   const json_t *meta, int with_version)
{
    json_t *tags = json_object_get(meta, "tags");
    return json_pack("{s:o,s:o,s:O}", "kid", kid_of(s, name, with_version ? version : NULL),
                     "attributes", attributes_out(meta), "tags", tags ? tags : json_object());
}

void vault_add_deleted(const cloak_vault_service *s, json_t *bundle, const char *name,
                       const char *deleted)
{
    json_t *d = deleted ? json_loads(deleted, 0, NULL) : NULL;
    char *rid = NULL;
    if (asprintf(&rid, "%s/deletedkeys/%s", s->url, name) >= 0) {
        json_object_set_new(bundle, "recoveryId", json_string(rid));
        free(rid);
    }
    if (d) {
        json_object_set(bundle, "deletedDate", json_object_get(d, "deletedDate"));
        json_object_set(bundle, "scheduledPurgeDate", json_object_get(d, "scheduledPurgeDate"));
    }
    json_decref(d);
}

static int has_op(const json_t *meta, const char *opname)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(meta, "key_ops"), i, v)
    {
        if (json_is_string(v) && !strcmp(json_string_value(v), opname)) return 1;
    }
    return 0;
}

int vault_key_usable_at(vjob *j, int disabled, json_int_t nbf, json_int_t exp, const char *opname,
                        int needs_fresh)
{
    if (disabled)
        return vfail(j, 403, "Forbidden", "KeyDisabled",
                     "Operation %s is not allowed on a disabled key. Enable it with an update "
                     "(attributes.enabled = true).",
                     opname);
    if (needs_fresh) {
        if (nbf && j->now < nbf)
            return vfail(j, 403, "Forbidden", "KeyNotYetValid",
                         "Operation %s is not allowed before the key's activation time (nbf %lld).",
                         opname, (long long)nbf);
        if (exp && j->now >= exp)
            return vfail(j, 403, "Forbidden", "KeyExpired",
                         "Operation %s is not allowed on an expired key (exp %lld).", opname,
                         (long long)exp);
    }
    return 0;
}

int vault_key_usable(vjob *j, const json_t *meta, const char *opname, int needs_fresh)
{
    const json_t *a = json_object_get(meta, "attributes");
    if (vault_key_usable_at(j, json_is_false(json_object_get(a, "enabled")),
                            json_integer_value(json_object_get(a, "nbf")),
                            json_integer_value(json_object_get(a, "exp")), opname, needs_fresh))
        return -1;
    if (opname[0] && !has_op(meta, opname))
        return vfail(j, 403, "Forbidden", "KeyOperationForbidden",
                     "Operation %s is not permitted on this key: its key_ops do not include it.",
                     opname);
    return 0;
}

int vault_load_rec(vjob *j, cloak_vault_keyrec *rec)
{
    cloak_error e = {0};
    const char *ver = j->version && *j->version ? j->version : NULL;
    if (!vault_name_ok(j->name))
        return vfail(j, 400, "BadParameter", NULL,
                     "The key name '%.140s' is invalid: use 1-127 letters, digits and dashes.",
                     j->name ? j->name : "");
    if (cloak_vault_store_get(j->s->store, j->name, ver, rec, &e)) {
        if (e.code == CLOAK_ENOTFOUND)
            return ver ? vfail(j, 404, "KeyNotFound", NULL, "Key not found: %s (version %s)",
                               j->name, ver)
                       : vfail(j, 404, "KeyNotFound", NULL, "Key not found: %s", j->name);
        return vfail_err(j, &e);
    }
    if (!j->version || !*j->version) j->version = cloak_http_strdup(j->req, rec->version);
    return 0;
}

int vault_meta_parse(vjob *j, const cloak_vault_keyrec *rec, json_t **meta)
{
    json_error_t je;
    if (!(*meta = json_loads(rec->meta, 0, &je)))
        return vfail(j, 500, "InternalError", NULL, "stored metadata of %s is corrupt: %s", j->name,
                     je.text);
    return 0;
}

int vault_load(vjob *j, cloak_vault_keyrec *rec, json_t **meta)
{
    if (vault_load_rec(j, rec)) return -1;
    if (vault_meta_parse(j, rec, meta)) {
        cloak_vault_keyrec_clear(rec);
        return -1;
    }
    return 0;
}
