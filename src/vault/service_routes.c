/* The Key Vault keys routes: a table, and one operation descriptor per route (the audit name,
 * the permission it needs, whether it takes a JSON body, the function run on a worker). */
#include "vault/service.h"

static const char *const kv_versions[] = {"7.0", "7.1", "7.2",        "7.3", "7.4",
                                          "7.5", "7.6", "2025-07-01", NULL};

#define OP(fnname, audit, perm, body)                                                              \
    static const vop vop_##fnname = {audit, perm, body, op_##fnname};                              \
    static void h_##fnname(cloak_http_req *req)                                                    \
    {                                                                                              \
        vault_start_job(req, &vop_##fnname);                                                       \
    }

OP(create, "KeyCreate", CLOAK_VAULT_PERM_WRITE, 1)
OP(import, "KeyImport", CLOAK_VAULT_PERM_WRITE, 1)
OP(get, "KeyGet", CLOAK_VAULT_PERM_READ, 0)
OP(list, "KeyList", CLOAK_VAULT_PERM_READ, 0)
OP(versions, "KeyListVersions", CLOAK_VAULT_PERM_READ, 0)
OP(update, "KeyUpdate", CLOAK_VAULT_PERM_UPDATE, 1)
OP(delete, "KeyDelete", CLOAK_VAULT_PERM_DELETE, 0)
OP(get_deleted, "DeletedKeyGet", CLOAK_VAULT_PERM_DELETED, 0)
OP(list_deleted, "DeletedKeyList", CLOAK_VAULT_PERM_DELETED, 0)
OP(recover, "KeyRecover", CLOAK_VAULT_PERM_RECOVER, 0)
OP(purge, "KeyPurge", CLOAK_VAULT_PERM_PURGE, 0)
OP(rotate, "KeyRotate", CLOAK_VAULT_PERM_WRITE, 0)
OP(backup, "KeyBackup", CLOAK_VAULT_PERM_BACKUP, 0)
OP(restore, "KeyRestore", CLOAK_VAULT_PERM_RESTORE, 1)
OP(rng, "Rng", CLOAK_VAULT_PERM_RNG, 1)
OP(get_rotation_policy, "KeyRotationPolicyGet", CLOAK_VAULT_PERM_READ, 0)
OP(put_rotation_policy, "KeyRotationPolicySet", CLOAK_VAULT_PERM_WRITE, 1)
OP(encrypt, "KeyEncrypt", CLOAK_VAULT_PERM_ENCRYPT, 1)
OP(decrypt, "KeyDecrypt", CLOAK_VAULT_PERM_DECRYPT, 1)
OP(wrap, "KeyWrap", CLOAK_VAULT_PERM_WRAP, 1)
OP(unwrap, "KeyUnwrap", CLOAK_VAULT_PERM_UNWRAP, 1)
OP(sign, "KeySign", CLOAK_VAULT_PERM_SIGN, 1)
OP(verify, "KeyVerify", CLOAK_VAULT_PERM_VERIFY, 1)
OP(release, "KeyRelease", CLOAK_VAULT_PERM_RELEASE, 1)

#define S CLOAK_HTTP_SLASH_OPTIONAL
/* First match wins: literals before {version}. */
const cloak_http_route vault_routes[] = {
    {"POST", "/keys/restore", kv_versions, S, h_restore},
    {"POST", "/keys/{name}/create", kv_versions, S, h_create},
    {"POST", "/keys/{name}/rotate", kv_versions, S, h_rotate},
    {"POST", "/keys/{name}/backup", kv_versions, S, h_backup},
    {"POST", "/keys/{name}/release", kv_versions, S, h_release},
    {"POST", "/keys/{name}/encrypt", kv_versions, S, h_encrypt},
    {"POST", "/keys/{name}/decrypt", kv_versions, S, h_decrypt},
    {"POST", "/keys/{name}/wrapkey", kv_versions, S, h_wrap},
    {"POST", "/keys/{name}/unwrapkey", kv_versions, S, h_unwrap},
    {"POST", "/keys/{name}/sign", kv_versions, S, h_sign},
    {"POST", "/keys/{name}/verify", kv_versions, S, h_verify},
    {"POST", "/keys/{name}/{version}/release", kv_versions, S, h_release},
    {"POST", "/keys/{name}/{version}/encrypt", kv_versions, S, h_encrypt},
    {"POST", "/keys/{name}/{version}/decrypt", kv_versions, S, h_decrypt},
    {"POST", "/keys/{name}/{version}/wrapkey", kv_versions, S, h_wrap},
    {"POST", "/keys/{name}/{version}/unwrapkey", kv_versions, S, h_unwrap},
    {"POST", "/keys/{name}/{version}/sign", kv_versions, S, h_sign},
    {"POST", "/keys/{name}/{version}/verify", kv_versions, S, h_verify},
    {"PUT", "/keys/{name}", kv_versions, S, h_import},
    {"GET", "/keys", kv_versions, S, h_list},
    {"GET", "/keys/{name}/versions", kv_versions, S, h_versions},
    {"GET", "/keys/{name}/rotationpolicy", kv_versions, S, h_get_rotation_policy},
    {"PUT", "/keys/{name}/rotationpolicy", kv_versions, S, h_put_rotation_policy},
    {"GET", "/keys/{name}", kv_versions, S, h_get},
    {"GET", "/keys/{name}/{version}", kv_versions, S, h_get},
    {"PATCH", "/keys/{name}", kv_versions, S, h_update},
    {"PATCH", "/keys/{name}/{version}", kv_versions, S, h_update},
    {"DELETE", "/keys/{name}", kv_versions, S, h_delete},
    {"GET", "/deletedkeys", kv_versions, S, h_list_deleted},
    {"GET", "/deletedkeys/{name}", kv_versions, S, h_get_deleted},
    {"POST", "/deletedkeys/{name}/recover", kv_versions, S, h_recover},
    {"DELETE", "/deletedkeys/{name}", kv_versions, S, h_purge},
    {"POST", "/rng", kv_versions, S, h_rng},
};
const size_t vault_nroutes = sizeof vault_routes / sizeof vault_routes[0];
