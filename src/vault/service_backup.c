/* Backup and restore (an opaque blob only a vault holding the same master key opens), random
 * bytes from the enclave, and key rotation policies (stored and returned; this vault does not
 * rotate keys on its own schedule -- see docs/VAULT.md). */
#include "vault/service.h"

#include "cloak/jose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKUP_FORMAT "cloak-vault-backup-v1"
#define MAX_RNG 128

/* The bundle: {"format","name","versions":[{"version","meta","blob"}]} (oldest first), sealed
 * by the enclave; the answer is {"value": base64url(sealed)}. */
void op_backup(vjob *j)
{
    cloak_error e = {0};
    cloak_vault_keyrec *recs = NULL;
    size_t n = 0;
    if (!vault_name_ok(j->name) ||
        cloak_vault_store_all_versions(j->s->store, j->name, &recs, &n, &e) || !n) {
        if (!vault_name_ok(j->name) || !n || e.code == CLOAK_ENOTFOUND)
            vfail(j, 404, "KeyNotFound", NULL, "Key not found: %.140s", j->name ? j->name : "");
        else
            vfail_err(j, &e);
        cloak_vault_keyrecs_free(recs, n);
        return;
    }
    json_t *vers = json_array();
    for (size_t i = 0; i < n; i++) {
        char *b = cloak_base64url_encode(recs[i].blob, recs[i].blob_len);
        json_array_append_new(vers, json_pack("{s:s,s:s,s:s}", "version", recs[i].version, "meta",
                                              recs[i].meta, "blob", b ? b : ""));
        free(b);
    }
    json_t *bundle =
        json_pack("{s:s,s:s,s:o}", "format", BACKUP_FORMAT, "name", j->name, "versions", vers);
    char *text = bundle ? json_dumps(bundle, JSON_COMPACT) : NULL;
    uint8_t *sealed = NULL;
    size_t slen = 0;
    if (!text)
        vfail(j, 500, "InternalError", NULL, "out of memory");
    else if (cloak_vault_keyops_backup_seal(j->s->ko, (const uint8_t *)text, strlen(text), &sealed,
                                            &slen, &e))
        vfail_err(j, &e);
    else {
        char *v = cloak_base64url_encode(sealed, slen);
        vok(j, 200, v ? json_pack("{s:s}", "value", v) : NULL);
        free(v);
    }
    free(sealed);
    free(text);
    json_decref(bundle);
    cloak_vault_keyrecs_free(recs, n);
}

void op_restore(vjob *j)
{
    cloak_error e = {0};
    const char *value = json_string_value(json_object_get(j->body, "value"));
    uint8_t *sealed = NULL, *plain = NULL;
    size_t slen = 0, plen = 0;
    json_t *bundle = NULL, *latest_meta = NULL;
    cloak_vault_keyrec *recs = NULL;
    size_t n = 0;
    if (!value) {
        vfail(j, 400, "BadParameter", NULL, "value (the backup blob, base64url) is required.");
        goto out;
    }
    if (cloak_base64url_decode(value, strlen(value), &sealed, &slen, &e)) {
        vfail(j, 400, "BadParameter", NULL, "value is not base64url: %s", e.msg);
        goto out;
    }
    if (cloak_vault_keyops_backup_open(j->s->ko, sealed, slen, &plain, &plen, &e)) {
        vfail(j, 400, "BadParameter", "InvalidBackup",
              "This backup does not open in this vault (made by another vault, or damaged): %s",
              e.msg);
        goto out;
    }
    bundle = json_loadb((const char *)plain, plen, 0, NULL);
    const char *fmt = json_string_value(json_object_get(bundle, "format"));
    const char *name = json_string_value(json_object_get(bundle, "name"));
    json_t *vers = json_object_get(bundle, "versions");
    if (!fmt || strcmp(fmt, BACKUP_FORMAT) || !vault_name_ok(name) || !json_array_size(vers)) {
        vfail(j, 400, "BadParameter", "InvalidBackup", "The backup's content is not understood.");
        goto out;
    }
    j->name = cloak_http_strdup(j->req, name);
    n = json_array_size(vers);
    recs = calloc(n, sizeof *recs);
    for (size_t i = 0; recs && i < n; i++) {
        json_t *v = json_array_get(vers, i);
        const char *b = json_string_value(json_object_get(v, "blob"));
        recs[i].name = strdup(name);
        recs[i].version = strdup(json_string_value(json_object_get(v, "version")) ?: "");
        recs[i].meta = strdup(json_string_value(json_object_get(v, "meta")) ?: "{}");
        if (!b || cloak_base64url_decode(b, strlen(b), &recs[i].blob, &recs[i].blob_len, &e)) {
            vfail(j, 400, "BadParameter", "InvalidBackup", "The backup's content is damaged.");
            goto out;
        }
    }
    if (!recs) {
        vfail(j, 500, "InternalError", NULL, "out of memory");
        goto out;
    }
    if (cloak_vault_store_restore(j->s->store, recs, n, &e)) {
        if (e.code == CLOAK_EEXIST)
            vfail(j, 409, "Conflict", NULL,
                  "Key %s already exists (live or soft-deleted): a backup is restored only under "
                  "a name not in use; purge or rename first.",
                  name);
        else
            vfail_err(j, &e);
        goto out;
    }
    latest_meta = json_loads(recs[n - 1].meta, 0, NULL);
    j->version = cloak_http_strdup(j->req, recs[n - 1].version);
    vok(j, 200, vault_bundle(j->s, name, recs[n - 1].version, latest_meta));
out:
    if (recs) cloak_vault_keyrecs_free(recs, n);
    json_decref(latest_meta);
    json_decref(bundle);
    free(plain);
    free(sealed);
}

void op_rng(vjob *j)
{
    cloak_error e = {0};
    json_t *c = json_object_get(j->body, "count");
    json_int_t n = json_integer_value(c);
    if (!json_is_integer(c) || n < 1 || n > MAX_RNG) {
        vfail(j, 400, "BadParameter", NULL, "count must be an integer from 1 to %d.", MAX_RNG);
        return;
    }
    uint8_t buf[MAX_RNG];
    if (cloak_vault_keyops_random(j->s->ko, buf, (size_t)n, &e)) {
        vfail_err(j, &e);
        return;
    }
    char *v = cloak_base64url_encode(buf, (size_t)n);
    vok(j, 200, v ? json_pack("{s:s}", "value", v) : NULL);
    free(v);
}

/* ---- rotation policy: kept per key name in the store's kv table ---- */
static json_t *policy_out(vjob *j, json_t *p)
{
    char *id = NULL;
    if (asprintf(&id, "%s/keys/%s/rotationpolicy", j->s->url, j->name) >= 0) {
        json_object_set_new(p, "id", json_string(id));
        free(id);
    }
    return p;
}

static int key_exists(vjob *j)
{
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL;
    const char *saved = j->version;
    j->version = NULL;
    int rc = vault_load(j, &rec, &meta);
    j->version = saved;
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
    return rc;
}

void op_get_rotation_policy(vjob *j)
{
    cloak_error e = {0};
    if (key_exists(j)) return;
    char k[200], *v = NULL;
    snprintf(k, sizeof k, "rotationpolicy/%s", j->name);
    json_t *p = NULL;
    if (!cloak_vault_store_kv_get(j->s->store, k, &v, &e)) p = json_loads(v, 0, NULL);
    free(v);
    if (!p) /* Key Vault's default: notify 30 days before expiry */
        p = json_pack("{s:[{s:{s:s},s:{s:s}}],s:{}}", "lifetimeActions", "trigger",
                      "timeBeforeExpiry", "P30D", "action", "type", "Notify", "attributes");
    vok(j, 200, p ? policy_out(j, p) : NULL);
}

void op_put_rotation_policy(vjob *j)
{
    cloak_error e = {0};
    if (key_exists(j)) return;
    json_t *la = json_object_get(j->body, "lifetimeActions");
    if (la && !json_is_array(la)) {
        vfail(j, 400, "BadParameter", NULL, "lifetimeActions must be an array.");
        return;
    }
    json_t *p = json_deep_copy(j->body);
    json_object_del(p, "id");
    json_t *attrs = json_object_get(p, "attributes");
    if (!json_is_object(attrs)) json_object_set_new(p, "attributes", attrs = json_object());
    json_object_set_new(attrs, "updated", json_integer(j->now));
    if (!json_object_get(attrs, "created"))
        json_object_set_new(attrs, "created", json_integer(j->now));
    char k[200];
    snprintf(k, sizeof k, "rotationpolicy/%s", j->name);
    char *text = json_dumps(p, JSON_COMPACT);
    if (!text || cloak_vault_store_kv_put(j->s->store, k, text, &e))
        text ? vfail_err(j, &e) : vfail(j, 500, "InternalError", NULL, "out of memory");
    else
        vok(j, 200, policy_out(j, json_incref(p)));
    free(text);
    json_decref(p);
}
