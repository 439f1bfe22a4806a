/* Host side of ocalls: the runtime's own (log, untrusted storage) and registered ones. */
#include "tee/host_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* Names are [A-Za-z0-9._-]{1,128} and do not start with '.': no path can escape storage_dir. */
static int valid_name(const uint8_t *p, size_t len)
{
    if (len == 0 || len > 128 || p[0] == '.') return 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static cloak_err fail(char *msg, size_t cap, cloak_err rc, const char *text)
{
    snprintf(msg, cap, "%s", text);
    return rc;
}

static cloak_err storage_put(cloak_enclave *e, const char *name, const uint8_t *data, size_t len,
                             char *msg, size_t msg_cap)
{
    if (e->storage_dir) {
        char path[4096];
        cloak_error why;
        snprintf(path, sizeof path, "%s/%s", e->storage_dir, name);
        cloak_err rc = cloak_mkdirs(e->storage_dir, 0700, &why);
        if (!rc) rc = cloak_file_write(path, data, len, 0600, &why);
        if (rc) snprintf(msg, msg_cap, "%s", why.msg);
        return rc;
    }
    mem_blob *b;
    for (b = e->blobs; b; b = b->next)
        if (!strcmp(b->name, name)) break;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return fail(msg, msg_cap, CLOAK_ENOMEM, "host out of memory");
    if (len) memcpy(copy, data, len);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b || !(b->name = strdup(name))) {
            free(b);
            free(copy);
            return fail(msg, msg_cap, CLOAK_ENOMEM, "host out of memory");
        }
        b->next = e->blobs;
        e->blobs = b;
    }
    free(b->data);
    b->data = copy;
    b->len = len;
    return CLOAK_OK;
}

static cloak_err storage_get(cloak_enclave *e, const char *name, uint8_t *out, size_t out_cap,
                             size_t *out_len, char *msg, size_t msg_cap)
{
    if (e->storage_dir) {
        char path[4096];
        cloak_error why;
        uint8_t *data;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", e->storage_dir, name);
        cloak_err rc = cloak_file_read(path, &data, &len, &why);
        if (rc) {
            snprintf(msg, msg_cap, "%s", why.msg);
            return rc;
        }
        if (len > out_cap) {
            free(data);
            return fail(msg, msg_cap, CLOAK_ERANGE, "stored object larger than the channel");
        }
        memcpy(out, data, len);
        *out_len = len;
        free(data);
        return CLOAK_OK;
    }
    for (mem_blob *b = e->blobs; b; b = b->next) {
        if (strcmp(b->name, name)) continue;
        if (b->len > out_cap)
            return fail(msg, msg_cap, CLOAK_ERANGE, "stored object larger than the channel");
        memcpy(out, b->data, b->len);
        *out_len = b->len;
        return CLOAK_OK;
    }
    snprintf(msg, msg_cap, "no stored object named '%s'", name);
    return CLOAK_ENOTFOUND;
}

void host_storage_free(cloak_enclave *e)
{
    while (e->blobs) {
        mem_blob *b = e->blobs;
        e->blobs = b->next;
        free(b->name);
        free(b->data);
        free(b);
    }
}

cloak_err host_dispatch_ocall(cloak_enclave *e, uint32_t oid, const uint8_t *in, size_t in_len,
                              uint8_t *out, size_t out_cap, size_t *out_len, char *msg,
                              size_t msg_cap)
{
    *out_len = 0;
    switch (oid) {
    case OID_LOG: {
        static const char *levels[] = {"error", "warn", "info", "debug"};
        if (in_len < 4) return fail(msg, msg_cap, CLOAK_EINVAL, "malformed log ocall");
        uint32_t level = cloak_get_u32le(in);
        if (!e->quiet)
            fprintf(stderr, "[enclave %d] %s: %.*s\n", (int)e->pid, levels[level < 4 ? level : 3],
                    (int)(in_len - 4 > 4096 ? 4096 : in_len - 4), (const char *)in + 4);
        return CLOAK_OK;
    }
    case OID_STORAGE_PUT:
    case OID_STORAGE_GET: {
        if (in_len < 2) return fail(msg, msg_cap, CLOAK_EINVAL, "malformed storage ocall");
        size_t nl = cloak_get_u16le(in);
        if (nl > in_len - 2 || !valid_name(in + 2, nl))
            return fail(
                msg, msg_cap, CLOAK_EINVAL,
                "storage names are 1-128 characters of [A-Za-z0-9._-], not starting with '.'");
        char name[129];
        memcpy(name, in + 2, nl);
        name[nl] = 0;
        if (oid == OID_STORAGE_PUT)
            return storage_put(e, name, in + 2 + nl, in_len - 2 - nl, msg, msg_cap);
        return storage_get(e, name, out, out_cap, out_len, msg, msg_cap);
    }
    default:
        for (size_t i = 0; i < e->nocalls; i++) {
            if (e->ocalls[i].oid != oid) continue;
            cloak_err rc = e->ocalls[i].fn(e->ocalls[i].ctx, in, in_len, out, out_cap, out_len);
            if (rc)
                snprintf(msg, msg_cap, "host ocall %u failed: %s", oid, cloak_err_name(rc));
            else if (*out_len > out_cap) {
                *out_len = 0;
                return fail(msg, msg_cap, CLOAK_EINTERNAL, "host ocall overran its output");
            }
            return rc;
        }
        snprintf(msg, msg_cap, "no host function registered for ocall id %u", oid);
        return CLOAK_ENOTFOUND;
    }
}
