/*
 * vault keyops, host side: start the vault enclave, keep a pool of attached clients (lanes),
 * load or create the sealed master key, and turn each keyops.h call into one enclave call
 * (message layouts: vault/enclave/vault_proto.h). Key material never passes through here,
 * except an imported private key on its way in: its decoded members live in a wiped buffer,
 * and after the call the lane's request area is overwritten (SCRUB) so no copy stays in the
 * shared ring.
 *
 * Trust: the host is not trusted by the enclave; this file trusts the enclave's replies only
 * to be well-formed and checks that anyway (a reader over each reply). master.sealed is
 * created once and never replaced: a file that does not unseal is an error for the operator.
 * Thread-safety: lanes are handed out under a mutex; a call waits on a condition variable
 * when all lanes are busy.
 */
#include "vault/keyops.h"
#include "vault/keyops_int.h"
#include "vault/enclave/vault_proto.h"

#include "cloak/enclave.h"
#include "cloak/image.h"
#include "cloak/jose.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KO_CALL_TIMEOUT_MS 120000u /* RSA-4096 generation may take seconds on a slow core */
#define KO_MAX_LANES 32u
/* The largest request a lane's channel carries (default channel size, minus framing). */
#define KO_MAX_MESSAGE (CLOAK_CHANNEL_DEFAULT_BYTES - 4096u)

struct cloak_vault_keyops {
    cloak_enclave **lane; /* lane[0] is the creating handle */
    int *busy;
    unsigned nlanes;
    pthread_mutex_t lock;
    pthread_cond_t freed;
};

/* ---- lanes ---- */

static unsigned lane_take(cloak_vault_keyops *ko)
{
    pthread_mutex_lock(&ko->lock);
    for (;;) {
        for (unsigned i = 0; i < ko->nlanes; i++)
            if (!ko->busy[i]) {
                ko->busy[i] = 1;
                pthread_mutex_unlock(&ko->lock);
                return i;
            }
        pthread_cond_wait(&ko->freed, &ko->lock);
    }
}

static void lane_give(cloak_vault_keyops *ko, unsigned i)
{
    pthread_mutex_lock(&ko->lock);
    ko->busy[i] = 0;
    pthread_cond_signal(&ko->freed);
    pthread_mutex_unlock(&ko->lock);
}

cloak_err ko_call(cloak_vault_keyops *ko, uint32_t fid, const uint8_t *in, size_t in_len,
                  uint8_t *out, size_t out_cap, size_t *out_len, int scrub, cloak_error *why)
{
    if (in_len > KO_MAX_MESSAGE)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "a vault enclave request of %zu bytes is larger than the %u bytes "
                               "a call carries",
                               in_len, KO_MAX_MESSAGE);
    unsigned i = lane_take(ko);
    cloak_err rc = cloak_enclave_call(ko->lane[i], fid, in, in_len, out, out_cap, out_len, why);
    if (scrub && in_len) {
        /* Overwrite this lane's request area: the request held an imported private key. */
        uint8_t *zero = calloc(1, in_len);
        size_t n = 0;
        cloak_error ignored;
        if (!zero ||
            cloak_enclave_call(ko->lane[i], VE_FID_SCRUB, zero, in_len, NULL, 0, &n, &ignored)) {
            if (!rc)
                rc = cloak_error_set(why, CLOAK_EINTERNAL,
                                     "could not wipe the imported key from the enclave channel");
        }
        free(zero);
    }
    lane_give(ko, i);
    if (rc == CLOAK_ECRASHED || rc == CLOAK_ETIMEOUT)
        cloak_error_wrap(why, "vault enclave (restart the vault)");
    return rc;
}

/* ---- open / free ---- */

static int usable(const char *p)
{
    return access(p, R_OK) == 0;
}

/* The signed vault enclave: $CLOAK_VAULT_ENCLAVE, else beside this program (../lib or
 * ../lib/cloak), else where this build put it. */
static cloak_err enclave_path(const char *given, char *out, size_t cap, cloak_error *why)
{
    const char *env = getenv("CLOAK_VAULT_ENCLAVE");
    if (given || (env && *env)) {
        snprintf(out, cap, "%s", given ? given : env);
        return CLOAK_OK;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            if (snprintf(out, cap, "%s/../lib/vault-enclave.signed", self) < (int)cap &&
                usable(out))
                return CLOAK_OK;
            if (snprintf(out, cap, "%s/../lib/cloak/vault-enclave.signed", self) < (int)cap &&
                usable(out))
                return CLOAK_OK;
        }
    }
    snprintf(out, cap, "%s", CLOAK_BUILD_VAULT_ENCLAVE_PATH);
    if (usable(out)) return CLOAK_OK;
    return cloak_error_set(why, CLOAK_ENOTFOUND,
                           "cannot find the vault enclave (vault-enclave.signed beside this "
                           "program or in %s); set CLOAK_VAULT_ENCLAVE to its path",
                           CLOAK_BUILD_VAULT_ENCLAVE_PATH);
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Open DATA_DIR/master.sealed in the enclave, or create it on first start. */
static cloak_err master_load(cloak_vault_keyops *ko, const char *dir, cloak_error *why)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/master.sealed", dir) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s/master.sealed.new.%ld", dir, (long)getpid()) >=
            (int)sizeof tmp)
        return cloak_error_set(why, CLOAK_EINVAL, "data directory path is too long");
    uint8_t *sealed = NULL;
    size_t len = 0, n = 0;
    cloak_error e = {0};
    cloak_err rc = cloak_file_read(path, &sealed, &len, &e);
    if (!rc) {
        rc = ko_call(ko, VE_FID_MASTER_OPEN, sealed, len, NULL, 0, &n, 0, why);
        free(sealed);
        if (rc)
            cloak_error_wrap(why,
                             "%s does not open (it is never replaced; restore the platform "
                             "and enclave it was made with, or move it away to start an "
                             "empty vault)",
                             path);
        return rc;
    }
    if (rc != CLOAK_ENOTFOUND) {
        *why = e;
        return rc;
    }
    uint8_t buf[8192];
    if ((rc = ko_call(ko, VE_FID_MASTER_CREATE, NULL, 0, buf, sizeof buf, &n, 0, why)))
        return cloak_error_wrap(why, "creating the vault master key");
    /* write it aside, then link: never replaces a master.sealed that appeared meanwhile */
    if ((rc = cloak_file_write(tmp, buf, n, 0600, why))) return rc;
    if (link(tmp, path) < 0) {
        int err = errno;
        unlink(tmp);
        return cloak_error_set(why, err == EEXIST ? CLOAK_EPERM : CLOAK_EIO,
                               "cannot create %s: %s%s", path, strerror(err),
                               err == EEXIST ? " (another vault started on the same data "
                                               "directory at the same time; start again)"
                                             : "");
    }
    unlink(tmp);
    fsync_dir(dir);
    return CLOAK_OK;
}

cloak_err cloak_vault_keyops_open(const cloak_vault_keyops_config *cfg, cloak_vault_keyops **out,
                                  cloak_error *why)
{
    if (!cfg || !out || !cfg->data_dir || !*cfg->data_dir)
        return cloak_error_set(why, CLOAK_EINVAL, "vault keyops: a data directory is required");
    unsigned lanes = cfg->lanes ? cfg->lanes : 2;
    if (lanes > KO_MAX_LANES)
        return cloak_error_set(why, CLOAK_EINVAL, "vault keyops: at most %u lanes (asked %u)",
                               KO_MAX_LANES, lanes);
    char image[PATH_MAX], sockdir[64] = "", sock[96] = "";
    cloak_err rc = enclave_path(cfg->enclave_path, image, sizeof image, why);
    if (rc) return rc;
    if ((rc = cloak_mkdirs(cfg->data_dir, 0700, why))) return rc;
    cloak_vault_keyops *ko = calloc(1, sizeof *ko);
    if (!ko || !(ko->lane = calloc(lanes, sizeof *ko->lane)) ||
        !(ko->busy = calloc(lanes, sizeof *ko->busy))) {
        if (ko) free(ko->lane);
        free(ko);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&ko->lock, NULL);
    pthread_cond_init(&ko->freed, NULL);
    if (lanes > 1) {
        /* a private directory for the attach socket; both are gone once the lanes attached */
        const char *t = getenv("TMPDIR");
        if (!t || !*t || strlen(t) > 40) t = "/tmp";
        snprintf(sockdir, sizeof sockdir, "%s/cloak-vault-XXXXXX", t);
        if (!mkdtemp(sockdir)) {
            rc = cloak_error_set(why, CLOAK_EIO, "cannot create a directory in %s: %s", t,
                                 strerror(errno));
            sockdir[0] = 0;
            goto fail;
        }
        snprintf(sock, sizeof sock, "%s/e", sockdir);
    }
    /* debug = 1 allows a debug-signed image; the launch flag must then match the image */
    int debug_image = 0;
    if (cfg->debug) {
        cloak_image *img = NULL;
        if ((rc = cloak_image_open_file(image, &img, why))) goto fail;
        debug_image = cloak_image_id(img)->debug;
        cloak_image_free(img);
    }
    cloak_enclave_opts opts = {
        .flags = CLOAK_ENCLAVE_FLAG_SIMULATION | (debug_image ? CLOAK_ENCLAVE_FLAG_DEBUG : 0),
        .platform_dir = cfg->platform_dir,
        .call_timeout_ms = KO_CALL_TIMEOUT_MS,
        .attach_path = sock[0] ? sock : NULL,
        .quiet = 1,
    };
    if ((rc = cloak_enclave_create(image, &opts, &ko->lane[0], why))) {
        cloak_error_wrap(why, "starting the vault enclave %s", image);
        goto fail;
    }
    ko->nlanes = 1;
    for (unsigned i = 1; i < lanes; i++) {
        if ((rc = cloak_enclave_attach(sock, KO_CALL_TIMEOUT_MS, &ko->lane[i], why))) {
            cloak_error_wrap(why, "attaching lane %u to the vault enclave", i);
            goto fail;
        }
        ko->nlanes++;
    }
    if (sock[0]) {
        unlink(sock); /* nobody else attaches to this enclave */
        rmdir(sockdir);
        sockdir[0] = 0;
    }
    if ((rc = master_load(ko, cfg->data_dir, why))) goto fail;
    *out = ko;
    return CLOAK_OK;
fail:
    if (sockdir[0]) {
        unlink(sock);
        rmdir(sockdir);
    }
    cloak_vault_keyops_free(ko);
    return rc;
}

void cloak_vault_keyops_free(cloak_vault_keyops *ko)
{
    if (!ko) return;
    /* attached lanes first: freeing the creator stops the enclave */
    for (unsigned i = ko->nlanes; i-- > 0;)
        cloak_enclave_free(ko->lane[i]);
    pthread_mutex_destroy(&ko->lock);
    pthread_cond_destroy(&ko->freed);
    free(ko->lane);
    free(ko->busy);
    free(ko);
}

/* ---- results ---- */

void cloak_vk_result_clear(cloak_vk_result *r)
{
    if (!r) return;
    if (r->value) cloak_free_secret(r->value, r->value_len);
    free(r->iv);
    free(r->tag);
    memset(r, 0, sizeof *r);
}

uint8_t *ko_dup(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);
    if (d && len) memcpy(d, p, len);
    return d;
}

/* ---- crypt, release, backups, random ---- */

static void put_bytes(cloak_buf *b, const void *p, size_t len)
{
    cloak_buf_u32le(b, (uint32_t)len);
    cloak_buf_put(b, p, len);
}

static void put_str(cloak_buf *b, const char *s)
{
    put_bytes(b, s, s ? strlen(s) : 0);
}

static cloak_err check_bind(const char *bind, cloak_error *why)
{
    if (!bind || strlen(bind) > VE_MAX_BIND)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "a key bind (name/version) of at most %u bytes "
                               "is required",
                               VE_MAX_BIND);
    return CLOAK_OK;
}

cloak_err cloak_vault_keyops_crypt(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len,
                                   const char *bind, const cloak_vk_request *req,
                                   cloak_vk_result *out, cloak_error *why)
{
    if (!ko || !blob || !req || !out || !req->alg)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "keyops crypt: blob, request, alg and result "
                               "are required");
    if (check_bind(bind, why)) return CLOAK_EINVAL;
    if ((req->value_len && !req->value) || (req->digest_len && !req->digest) ||
        (req->iv_len && !req->iv) || (req->aad_len && !req->aad) || (req->tag_len && !req->tag))
        return cloak_error_set(why, CLOAK_EINVAL, "keyops crypt: a NULL buffer with a length");
    if (req->value_len > KO_MAX_MESSAGE / 2)
        return cloak_error_set(why, CLOAK_EINVAL, "a value of %zu bytes is too large",
                               req->value_len);
    cloak_buf m = {0};
    cloak_buf_u8(&m, (uint8_t)req->op);
    put_str(&m, req->alg);
    put_bytes(&m, blob, blob_len);
    put_str(&m, bind);
    put_bytes(&m, req->value, req->value_len);
    put_bytes(&m, req->digest, req->digest_len);
    put_bytes(&m, req->iv, req->iv_len);
    put_bytes(&m, req->aad, req->aad_len);
    put_bytes(&m, req->tag, req->tag_len);
    /* RSA results are at most 2048 bytes; AES adds at most a block and the framing */
    size_t cap = req->value_len + 4096, n = 0;
    uint8_t *r = malloc(cap);
    cloak_err rc;
    if (m.failed || !r) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = ko_call(ko, VE_FID_CRYPT, m.p, m.len, r, cap, &n, 0, why))) goto out;
    cloak_reader rd;
    uint8_t verified = 0;
    uint32_t vl = 0, il = 0, tl = 0;
    const uint8_t *v = NULL, *iv = NULL, *tag = NULL;
    cloak_reader_init(&rd, r, n);
    if (cloak_take_u8(&rd, &verified) || cloak_take_u32le(&rd, &vl) ||
        cloak_take_ref(&rd, &v, vl) || cloak_take_u32le(&rd, &il) || cloak_take_ref(&rd, &iv, il) ||
        cloak_take_u32le(&rd, &tl) || cloak_take_ref(&rd, &tag, tl) || cloak_reader_left(&rd)) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "the vault enclave sent a malformed reply");
        goto out;
    }
    cloak_vk_result res = {.verified = verified == 1};
    if (req->op != CLOAK_VK_VERIFY && !(res.value = ko_dup(v, vl))) goto oom;
    res.value_len = res.value ? vl : 0;
    if (il && !(res.iv = ko_dup(iv, il))) goto oom_res;
    res.iv_len = il;
    if (tl && !(res.tag = ko_dup(tag, tl))) goto oom_res;
    res.tag_len = tl;
    *out = res;
    goto out;
oom_res:
    cloak_vk_result_clear(&res);
oom:
    rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
out:
    cloak_buf_free_secret(&m); /* may hold the caller's plaintext */
    if (r) cloak_free_secret(r, cap);
    return rc;
}

cloak_err cloak_vault_keyops_release(cloak_vault_keyops *ko, const uint8_t *blob, size_t blob_len,
                                     const char *bind, EVP_PKEY *kek, const char *enc,
                                     uint8_t **out, size_t *out_len, cloak_error *why)
{
    if (!ko || !blob || !kek || !enc || !out || !out_len)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "keyops release: blob, kek, enc and out are "
                               "required");
    if (check_bind(bind, why)) return CLOAK_EINVAL;
    if (!EVP_PKEY_is_a(kek, "RSA") || EVP_PKEY_get_bits(kek) < 2048)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the release key-encryption key must be an RSA "
                               "key of 2048 bits or more");
    /* n and e only: the enclave rebuilds the key from them (far cheaper than parsing DER) */
    BIGNUM *bn = NULL, *be = NULL;
    uint8_t nb[2048], eb[8];
    int nl = 0, el = 0;
    if (EVP_PKEY_get_bn_param(kek, OSSL_PKEY_PARAM_RSA_N, &bn) != 1 ||
        EVP_PKEY_get_bn_param(kek, OSSL_PKEY_PARAM_RSA_E, &be) != 1 ||
        BN_num_bytes(bn) > (int)sizeof nb || BN_num_bytes(be) > (int)sizeof eb) {
        BN_free(bn);
        BN_free(be);
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the release key-encryption key must be an RSA "
                               "public key of 2048 to 16384 bits");
    }
    nl = BN_bn2bin(bn, nb);
    el = BN_bn2bin(be, eb);
    BN_free(bn);
    BN_free(be);
    cloak_buf m = {0};
    put_bytes(&m, blob, blob_len);
    put_str(&m, bind);
    put_bytes(&m, nb, (size_t)nl);
    put_bytes(&m, eb, (size_t)el);
    put_str(&m, enc);
    size_t cap = (size_t)EVP_PKEY_get_size(kek) + 16384, n = 0;
    uint8_t *r = malloc(cap);
    cloak_err rc;
    if (m.failed || !r)
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    else
        rc = ko_call(ko, VE_FID_RELEASE, m.p, m.len, r, cap, &n, 0, why);
    cloak_buf_free(&m);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    *out_len = n;
    return CLOAK_OK;
}

/* A call whose reply is raw bytes of at most `cap`. */
static cloak_err raw_call(cloak_vault_keyops *ko, uint32_t fid, const uint8_t *in, size_t len,
                          size_t cap, uint8_t **out, size_t *out_len, cloak_error *why)
{
    uint8_t *r = malloc(cap ? cap : 1);
    size_t n = 0;
    if (!r) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    cloak_err rc = ko_call(ko, fid, in, len, r, cap, &n, 0, why);
    if (rc) {
        free(r);
        return rc;
    }
    *out = r;
    *out_len = n;
    return CLOAK_OK;
}

cloak_err cloak_vault_keyops_backup_seal(cloak_vault_keyops *ko, const uint8_t *bundle, size_t len,
                                         uint8_t **out, size_t *out_len, cloak_error *why)
{
    if (!ko || (len && !bundle) || !out || !out_len)
        return cloak_error_set(why, CLOAK_EINVAL, "keyops backup: bundle and out are required");
    if (len > KO_MAX_MESSAGE - VE_BACKUP_OVERHEAD)
        return cloak_error_set(why, CLOAK_EINVAL, "a backup bundle is at most %u bytes (got %zu)",
                               KO_MAX_MESSAGE - VE_BACKUP_OVERHEAD, len);
    return raw_call(ko, VE_FID_BACKUP_SEAL, bundle, len, len + VE_BACKUP_OVERHEAD, out, out_len,
                    why);
}

cloak_err cloak_vault_keyops_backup_open(cloak_vault_keyops *ko, const uint8_t *sealed, size_t len,
                                         uint8_t **bundle, size_t *bundle_len, cloak_error *why)
{
    if (!ko || (len && !sealed) || !bundle || !bundle_len)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "keyops backup: sealed bundle and out are "
                               "required");
    if (len < VE_BACKUP_OVERHEAD)
        return cloak_error_set(why, CLOAK_EVERIFY, "not a sealed vault backup (%zu bytes)", len);
    return raw_call(ko, VE_FID_BACKUP_OPEN, sealed, len, len - VE_BACKUP_OVERHEAD, bundle,
                    bundle_len, why);
}

cloak_err cloak_vault_keyops_random(cloak_vault_keyops *ko, uint8_t *buf, size_t len,
                                    cloak_error *why)
{
    if (!ko || (len && !buf))
        return cloak_error_set(why, CLOAK_EINVAL, "keyops random: a buffer is required");
    if (len > VE_MAX_RANDOM)
        return cloak_error_set(why, CLOAK_EINVAL, "at most %u random bytes per call (asked %zu)",
                               VE_MAX_RANDOM, len);
    if (!len) return CLOAK_OK;
    uint8_t in[4];
    size_t n = 0;
    cloak_put_u32le(in, (uint32_t)len);
    cloak_err rc = ko_call(ko, VE_FID_RANDOM, in, sizeof in, buf, len, &n, 0, why);
    if (!rc && n != len)
        rc = cloak_error_set(why, CLOAK_EINTERNAL,
                             "the vault enclave returned %zu of %zu random "
                             "bytes",
                             n, len);
    return rc;
}
