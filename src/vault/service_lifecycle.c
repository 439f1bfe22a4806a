/* Key lifecycle routes: list (keys, versions, deleted keys) with absolute nextLinks, update,
 * soft delete / get deleted / recover / purge, rotate, backup / restore, rng, rotation policy. */
#include "vault/service.h"

#include "cloak/jose.h"
#include "vault/skr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* maxresults (1..25, default 25); -1 and vfail when invalid. */
static long max_results(vjob *j)
{
    const char *m = cloak_http_query(j->req, "maxresults");
    if (!m || !*m) return VAULT_MAX_RESULTS;
    char *end;
    long v = strtol(m, &end, 10);
    if (*end || v < 1 || v > VAULT_MAX_RESULTS) {
        vfail(j, 400, "BadParameter", NULL, "maxresults must be an integer from 1 to %d.",
              VAULT_MAX_RESULTS);
        return -1;
    }
    return v;
}

static json_t *next_link(vjob *j, const char *path, const char *token, long max)
{
    const char *v = cloak_http_query(j->req, "api-version");
    char *u = NULL;
    if (asprintf(&u, "%s%s?api-version=%s&maxresults=%ld&$skiptoken=%s", j->s->url, path,
                 v ? v : "7.6", max, token) < 0)
        return json_null();
    json_t *r = json_string(u);
    free(u);
    return r ? r : json_null();
}

/* Skip tokens are key names (or version seqs): check their charset before use. */
static const char *skip_token(vjob *j)
{
    const char *t = cloak_http_query(j->req, "$skiptoken");
    if (t && *t && !vault_name_ok(t)) {
        vfail(j, 400, "BadParameter", NULL, "$skiptoken is not one this vault issued.");
        return (const char *)-1;
    }
    return t && *t ? t : NULL;
}

static void list_common(vjob *j, int deleted)
{
    cloak_error e = {0};
    long max = max_results(j);
    if (max < 0) return;
    const char *after = skip_token(j);
    if (after == (const char *)-1) return;
    cloak_vault_keyrec *recs = NULL;
    size_t n = 0;
    int more = 0;
    cloak_err rc =
        deleted
            ? cloak_vault_store_list_deleted(j->s->store, after, (size_t)max, &recs, &n, &more, &e)
            : cloak_vault_store_list_keys(j->s->store, after, (size_t)max, &recs, &n, &more, &e);
    if (rc) {
        vfail_err(j, &e);
        return;
    }
    json_t *value = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *meta = json_loads(recs[i].meta, 0, NULL);
        json_t *it = vault_item(j->s, recs[i].name, recs[i].version, meta, 0);
        if (deleted && it) vault_add_deleted(j->s, it, recs[i].name, recs[i].deleted);
        json_array_append_new(value, it);
        json_decref(meta);
    }
    json_t *nl = more && n ? next_link(j, deleted ? "/deletedkeys" : "/keys", recs[n - 1].name, max)
                           : json_null();
    vok(j, 200, json_pack("{s:o,s:o}", "value", value, "nextLink", nl));
    cloak_vault_keyrecs_free(recs, n);
}

void op_list(vjob *j)
{
    list_common(j, 0);
}

void op_list_deleted(vjob *j)
{
    list_common(j, 1);
}

void op_versions(vjob *j)
{
    cloak_error e = {0};
    long max = max_results(j);
    if (max < 0) return;
    const char *t = cloak_http_query(j->req, "$skiptoken");
    long long after = 0;
    if (t && *t) {
        char *end;
        after = strtoll(t, &end, 10);
        if (*end || after < 0) {
            vfail(j, 400, "BadParameter", NULL, "$skiptoken is not one this vault issued.");
            return;
        }
    }
    if (!vault_name_ok(j->name)) {
        vfail(j, 400, "BadParameter", NULL, "The key name is invalid.");
        return;
    }
    cloak_vault_keyrec *recs = NULL;
    size_t n = 0;
    int more = 0;
    if (cloak_vault_store_list_versions(j->s->store, j->name, after, (size_t)max, &recs, &n, &more,
                                        &e)) {
        vfail_err(j, &e);
        return;
    }
    json_t *value = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *meta = json_loads(recs[i].meta, 0, NULL);
        json_array_append_new(value, vault_item(j->s, recs[i].name, recs[i].version, meta, 1));
        json_decref(meta);
    }
    json_t *nl = json_null();
    if (more && n) {
        char path[200], tok[32];
        snprintf(path, sizeof path, "/keys/%s/versions", j->name);
        snprintf(tok, sizeof tok, "%lld", (long long)recs[n - 1].seq);
        nl = next_link(j, path, tok, max);
    }
    vok(j, 200, json_pack("{s:o,s:o}", "value", value, "nextLink", nl));
    cloak_vault_keyrecs_free(recs, n);
}

void op_update(vjob *j)
{
    cloak_error e = {0};
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL;
    if (vault_load(j, &rec, &meta)) return;
    json_t *attrs = json_object_get(meta, "attributes");
    const json_t *in = json_object_get(j->body, "attributes");
    const json_t *v;
    if (in && !json_is_null(in)) {
        if (!json_is_object(in)) {
            vfail(j, 400, "BadParameter", NULL, "attributes must be an object.");
            goto out;
        }
        if ((v = json_object_get(in, "enabled")) && !json_is_null(v)) {
            if (!json_is_boolean(v)) {
                vfail(j, 400, "BadParameter", NULL, "attributes.enabled must be a boolean.");
                goto out;
            }
            json_object_set(attrs, "enabled", (json_t *)v);
        }
        static const char *const times[] = {"nbf", "exp"};
        for (int i = 0; i < 2; i++) {
            if (!(v = json_object_get(in, times[i]))) continue;
            if (json_is_null(v)) {
                json_object_del(attrs, times[i]);
            } else if (!json_is_integer(v) || json_integer_value(v) < 0) {
                vfail(j, 400, "BadParameter", NULL,
                      "attributes.%s must be a time in seconds since 1970.", times[i]);
                goto out;
            } else {
                json_object_set(attrs, times[i], (json_t *)v);
            }
        }
        if ((v = json_object_get(in, "exportable")) && !json_is_null(v) &&
            json_boolean_value(v) != json_is_true(json_object_get(attrs, "exportable"))) {
            vfail(j, 400, "BadParameter", NULL,
                  "attributes.exportable cannot be changed after the key is created.");
            goto out;
        }
    }
    if ((v = json_object_get(j->body, "tags")) && !json_is_null(v)) {
        if (!json_is_object(v) || json_object_size(v) > 15) {
            vfail(j, 400, "BadParameter", NULL, "tags must be an object of at most 15 strings.");
            goto out;
        }
        const char *k;
        json_t *tv;
        json_object_foreach((json_t *)v, k, tv)
        {
            if (!json_is_string(tv)) {
                vfail(j, 400, "BadParameter", NULL, "tag '%.64s' must be a string.", k);
                goto out;
            }
        }
        json_object_set_new(meta, "tags", json_deep_copy(v));
    }
    if ((v = json_object_get(j->body, "key_ops")) && !json_is_null(v)) {
        if (!json_is_array(v)) {
            vfail(j, 400, "BadParameter", NULL, "key_ops must be an array.");
            goto out;
        }
        json_object_set_new(meta, "key_ops", json_deep_copy(v));
    }
    if ((v = json_object_get(j->body, "release_policy")) && !json_is_null(v)) {
        const json_t *cur = json_object_get(meta, "release_policy");
        if (json_is_true(json_object_get(cur, "immutable"))) {
            vfail(j, 400, "BadParameter", "ReleasePolicyImmutable",
                  "The release policy of %s is immutable and cannot be changed.", j->name);
            goto out;
        }
        if (!json_is_true(json_object_get(attrs, "exportable"))) {
            vfail(j, 400, "BadParameter", NULL,
                  "A release policy needs an exportable key; this key is not exportable.");
            goto out;
        }
        uint8_t *doc = NULL;
        size_t len = 0;
        int immutable = 0;
        cloak_skr_policy *p = NULL;
        if (cloak_skr_envelope_decode(v, &doc, &len, &immutable, &e) ||
            cloak_skr_policy_parse(doc, len, &p, &e)) {
            free(doc);
            vfail(j, 400, "BadParameter", "InvalidReleasePolicy", "release_policy: %s", e.msg);
            goto out;
        }
        cloak_skr_policy_free(p);
        char *data = cloak_base64url_encode(doc, len);
        free(doc);
        const char *ct = json_string_value(json_object_get(v, "contentType"));
        json_object_set_new(meta, "release_policy",
                            json_pack("{s:s,s:s,s:b}", "contentType",
                                      ct ? ct : "application/json; charset=utf-8", "data",
                                      data ? data : "", "immutable", immutable));
        free(data);
    }
    json_object_set_new(attrs, "updated", json_integer(j->now));
    char *text = json_dumps(meta, JSON_COMPACT);
    if (!text || cloak_vault_store_update_meta(j->s->store, j->name, rec.version, text, &e))
        text ? vfail_err(j, &e) : vfail(j, 500, "InternalError", NULL, "out of memory");
    else
        vok(j, 200, vault_bundle(j->s, j->name, rec.version, meta));
    free(text);
out:
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
}

static void fmt_deleted(time_t now, char **out)
{
    json_t *d = json_pack("{s:I,s:I}", "deletedDate", (json_int_t)now, "scheduledPurgeDate",
                          (json_int_t)now + VAULT_RECOVERABLE_DAYS * 86400);
    *out = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
}

void op_delete(vjob *j)
{
    cloak_error e = {0};
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL;
    char *deleted = NULL;
    if (vault_load(j, &rec, &meta)) return;
    fmt_deleted(j->now, &deleted);
    if (!deleted || cloak_vault_store_delete(j->s->store, j->name, deleted, &e)) {
        deleted ? vfail_err(j, &e) : vfail(j, 500, "InternalError", NULL, "out of memory");
    } else {
        json_t *b = vault_bundle(j->s, j->name, rec.version, meta);
        if (b) vault_add_deleted(j->s, b, j->name, deleted);
        vok(j, 200, b);
    }
    free(deleted);
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
}

/* The soft-deleted key j->name; 0 or vfail (404 "Deleted Key not found"). */
static int load_deleted(vjob *j, cloak_vault_keyrec *rec, json_t **meta)
{
    cloak_error e = {0};
    if (!vault_name_ok(j->name) || cloak_vault_store_get_deleted(j->s->store, j->name, rec, &e)) {
        if (!vault_name_ok(j->name) || e.code == CLOAK_ENOTFOUND)
            return vfail(j, 404, "KeyNotFound", NULL, "Deleted Key not found: %.140s",
                         j->name ? j->name : "");
        return vfail_err(j, &e);
    }
    *meta = json_loads(rec->meta, 0, NULL);
    j->version = cloak_http_strdup(j->req, rec->version);
    return 0;
}

void op_get_deleted(vjob *j)
{
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL;
    if (load_deleted(j, &rec, &meta)) return;
    json_t *b = vault_bundle(j->s, j->name, rec.version, meta);
    if (b) vault_add_deleted(j->s, b, j->name, rec.deleted);
    vok(j, 200, b);
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
}

void op_recover(vjob *j)
{
    cloak_error e = {0};
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL;
    if (load_deleted(j, &rec, &meta)) return;
    if (cloak_vault_store_recover(j->s->store, j->name, &e))
        vfail_err(j, &e);
    else
        vok(j, 200, vault_bundle(j->s, j->name, rec.version, meta));
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
}

void op_purge(vjob *j)
{
    cloak_error e = {0};
    cloak_vault_keyrec rec = {0};
    json_t *meta = NULL;
    if (load_deleted(j, &rec, &meta)) return;
    if (cloak_vault_store_purge(j->s->store, j->name, &e))
        vfail_err(j, &e);
    else
        vok(j, 204, NULL);
    json_decref(meta);
    cloak_vault_keyrec_clear(&rec);
}
