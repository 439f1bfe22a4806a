/*
 * configfs-tsm provider (Linux >= 6.7; Documentation/ABI/testing/configfs-tsm):
 *
 *   mkdir  /sys/kernel/config/tsm/report/<name>     the kernel creates the attributes
 *   read   provider      "sev_guest" | "tdx_guest": the format of outblob
 *   read   generation    counts writes to inblob and the options
 *   write  privlevel     (SEV-SNP only) the VMPL, at least privlevel_floor
 *   write  inblob        the 64 bytes of report data
 *   read   outblob       SEV-SNP report or TDX quote, made on first read
 *   read   auxblob       (SEV-SNP) the host's certificate table
 *   read   generation    must equal the first value plus our writes, else someone else wrote
 *                        in between: start again (the ABI document's conflict rule)
 *   rmdir  <name>
 *
 * Each request uses its own entry with an unguessable name, so concurrent requests do not
 * meet; the generation check stays because the ABI asks for it and because configfs applies
 * a binary attribute only when its file is closed and ignores the result: a write the kernel
 * refused shows up only as a generation that did not move.
 */
#include "attester/attester_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#define TSM_OUTBLOB_MAX (32u * 1024) /* include/linux/tsm.h TSM_REPORT_OUTBLOB_MAX */
#define TSM_TEXT_MAX 64              /* provider, generation, privlevel_floor: short text */
#define TSM_ATTEMPTS 3

typedef struct {
    const att_sysops *ops;
    char dir[ATT_PATH_MAX]; /* the entry */
    int made;
} tsm_entry;

static int attr_path(char *dst, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Read a whole attribute, at most `max` bytes. -1 with errno on failure (EFBIG: too long). */
static int read_attr(const att_sysops *ops, const char *dir, const char *name, size_t max,
                     cloak_buf *out)
{
    char path[ATT_PATH_MAX];
    uint8_t chunk[4096];
    int fd = -1, rc = -1, err = 0;
    if (attr_path(path, sizeof path, dir, name)) {
        err = ENAMETOOLONG;
        goto out;
    }
    fd = ops->open(ops->ctx, path, O_RDONLY);
    if (fd < 0) {
        err = errno;
        goto out;
    }
    for (;;) {
        ssize_t n = ops->read(ops->ctx, fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err = errno;
            goto out;
        }
        if (n == 0) break;
        if ((size_t)n > sizeof chunk || out->len + (size_t)n > max) {
            err = EFBIG;
            goto out;
        }
        cloak_buf_put(out, chunk, (size_t)n);
        if (out->failed) {
            err = ENOMEM;
            goto out;
        }
    }
    rc = 0;
out:
    if (fd >= 0) ops->close(ops->ctx, fd);
    if (rc) cloak_buf_free(out);
    errno = err;
    return rc;
}

/* Write an attribute; configfs applies binary attributes on close, so close is checked too. */
static int write_attr(const att_sysops *ops, const char *dir, const char *name, const void *p,
                      size_t len)
{
    char path[ATT_PATH_MAX];
    int fd = -1, rc = -1, err = 0;
    size_t done = 0;
    if (attr_path(path, sizeof path, dir, name)) {
        err = ENAMETOOLONG;
        goto out;
    }
    fd = ops->open(ops->ctx, path, O_WRONLY);
    if (fd < 0) {
        err = errno;
        goto out;
    }
    while (done < len) {
        ssize_t n = ops->write(ops->ctx, fd, (const uint8_t *)p + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || (size_t)n > len - done) {
            err = n < 0 ? errno : EIO;
            goto out;
        }
        done += (size_t)n;
    }
    int c = ops->close(ops->ctx, fd);
    fd = -1;
    if (c < 0) {
        err = errno;
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) ops->close(ops->ctx, fd);
    errno = err;
    return rc;
}

/* Short text attribute without its trailing newline; printable ASCII only. */
static cloak_err read_text(const att_sysops *ops, const char *dir, const char *name, char *dst,
                           size_t cap, cloak_error *why)
{
    cloak_buf b = {0};
    cloak_err rc = CLOAK_EIO;
    if (read_attr(ops, dir, name, TSM_TEXT_MAX, &b) < 0) {
        int err = errno;
        rc = cloak_error_set(why, err == ENOENT ? CLOAK_ENOTFOUND : CLOAK_EIO,
                             "cannot read %s/%s: %s%s", dir, name, strerror(err),
                             att_errno_hint(err));
        goto out;
    }
    size_t n = b.len;
    while (n > 0 && (b.p[n - 1] == '\n' || b.p[n - 1] == 0))
        n--;
    int text = n > 0 && n < cap;
    for (size_t i = 0; text && i < n; i++)
        if (b.p[i] < 0x20 || b.p[i] > 0x7e) text = 0;
    if (!text) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "%s/%s does not hold a short line of text", dir,
                             name);
        goto out;
    }
    memcpy(dst, b.p, n);
    dst[n] = 0;
    rc = CLOAK_OK;
out:
    cloak_buf_free(&b);
    return rc;
}

static cloak_err read_number(const att_sysops *ops, const char *dir, const char *name,
                             unsigned long long *v, cloak_error *why)
{
    char s[TSM_TEXT_MAX + 1];
    cloak_err rc = read_text(ops, dir, name, s, sizeof s, why);
    if (rc) return rc;
    unsigned long long x = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9' || x > (~0ull - 9) / 10)
            return cloak_error_set(why, CLOAK_EINVAL, "%s/%s is not a decimal number: '%s'", dir,
                                   name, s);
        x = x * 10 + (unsigned)(*c - '0');
    }
    *v = x;
    return CLOAK_OK;
}

static cloak_err provider_tee(const char *provider, const char *dir, cloak_tee_type *tee,
                              cloak_error *why)
{
    if (!strcmp(provider, "sev_guest"))
        *tee = CLOAK_TEE_SNP;
    else if (!strcmp(provider, "tdx_guest"))
        *tee = CLOAK_TEE_TDX;
    else
        return cloak_error_set(why, CLOAK_EUNSUPPORTED,
                               "configfs-tsm provider '%s' (%s/provider) is not supported: cloak "
                               "collects evidence from sev_guest and tdx_guest",
                               provider, dir);
    return CLOAK_OK;
}

static cloak_err entry_create(tsm_entry *e, const att_sysops *ops, const char *report_dir,
                              cloak_error *why)
{
    uint8_t rnd[8];
    e->ops = ops;
    e->made = 0;
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return cloak_error_openssl(why, CLOAK_EINTERNAL, "no randomness for a report entry name");
    int n = snprintf(e->dir, sizeof e->dir, "%s/cloak-%ld-%016llx", report_dir, (long)getpid(),
                     (unsigned long long)cloak_get_u64le(rnd));
    if (n < 0 || (size_t)n >= sizeof e->dir)
        return cloak_error_set(why, CLOAK_EINVAL, "report directory path is too long");
    if (ops->mkdir(ops->ctx, e->dir, 0700) < 0) {
        int err = errno;
        if (err == ENXIO || err == ENODEV)
            return cloak_error_set(why, CLOAK_ENOTFOUND,
                                   "configfs-tsm at %s has no provider: no sev-guest or "
                                   "tdx-guest driver is registered with it",
                                   report_dir);
        return cloak_error_set(why, CLOAK_EIO, "cannot create a report entry in %s: %s%s",
                               report_dir, strerror(err), att_errno_hint(err));
    }
    e->made = 1;
    return CLOAK_OK;
}

/* configfs removes the attributes with the entry. A failure leaves a stale entry only. */
static void entry_remove(tsm_entry *e)
{
    if (e->made) e->ops->rmdir(e->ops->ctx, e->dir);
    e->made = 0;
}

cloak_err att_tsm_probe(const att_sysops *ops, const char *report_dir, cloak_tee_type *tee,
                        cloak_error *why)
{
    tsm_entry e;
    char provider[TSM_TEXT_MAX + 1];
    cloak_err rc = entry_create(&e, ops, report_dir, why);
    if (rc) goto out;
    rc = read_text(ops, e.dir, "provider", provider, sizeof provider, why);
    if (rc) goto out;
    rc = provider_tee(provider, e.dir, tee, why);
out:
    entry_remove(&e);
    return rc;
}

/* The privilege level to write, or -1 for none. */
static cloak_err choose_privlevel(const cloak_attester *a, const char *dir, int *level,
                                  cloak_error *why)
{
    unsigned long long floor = 0;
    *level = -1;
    if (a->tee != CLOAK_TEE_SNP) return CLOAK_OK;
    if (a->vmpl != CLOAK_ATTESTER_VMPL_DEFAULT) {
        *level = a->vmpl;
        return CLOAK_OK;
    }
    cloak_error e = {0};
    cloak_err rc = read_number(&a->ops, dir, "privlevel_floor", &floor, &e);
    if (rc == CLOAK_ENOTFOUND) return CLOAK_OK; /* no privilege levels: kernel default */
    if (rc) {
        if (why) *why = e;
        return rc;
    }
    if (floor > 3)
        return cloak_error_set(why, CLOAK_EINVAL, "%s/privlevel_floor is %llu; VMPLs are 0..3", dir,
                               floor);
    if (floor > 0) *level = (int)floor; /* the kernel's default 0 would be refused */
    return CLOAK_OK;
}

static cloak_err outblob_error(const cloak_attester *a, const char *dir, int err, cloak_error *why)
{
    const char *hint = att_errno_hint(err);
    if (err == EFBIG)
        hint = " (larger than the kernel's 32 KiB limit: the host sent too much)";
    else if (a->tee == CLOAK_TEE_TDX &&
             (err == EIO || err == ETIMEDOUT || err == EBUSY || err == EINVAL || err == ENOMEM))
        hint = " (a TDX quote comes from the host's Quote Generation Service: is QGS running "
               "and reachable from this guest?)";
    else if (a->tee == CLOAK_TEE_SNP && err == EINVAL)
        hint = " (the SEV-SNP firmware refused the request: is the VMPL at least "
               "privlevel_floor?)";
    else if (a->tee == CLOAK_TEE_SNP && err == ENXIO)
        hint = " (the SEV-SNP firmware returned an error status)";
    return cloak_error_set(why, CLOAK_EIO, "reading %s/outblob failed: %s%s", dir, strerror(err),
                           hint);
}

cloak_err att_tsm_collect(const cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *out,
                          cloak_error *why)
{
    tsm_entry e;
    char provider[TSM_TEXT_MAX + 1];
    cloak_buf report = {0}, aux = {0};
    cloak_tee_type tee = CLOAK_TEE_AUTO;
    unsigned long long g0 = 0, g1 = 0, expect = 0;
    int level = -1, done = 0;
    cloak_err rc = entry_create(&e, &a->ops, a->path, why);
    if (rc) goto out;
    rc = read_text(&a->ops, e.dir, "provider", provider, sizeof provider, why);
    if (rc) goto out;
    rc = provider_tee(provider, e.dir, &tee, why);
    if (rc) goto out;
    if (tee != a->tee) {
        rc = cloak_error_set(why, CLOAK_EIO, "configfs-tsm provider changed to '%s' since open",
                             provider);
        goto out;
    }
    rc = choose_privlevel(a, e.dir, &level, why);
    if (rc) goto out;

    for (int attempt = 0; attempt < TSM_ATTEMPTS && !done; attempt++) {
        unsigned long long writes = 0;
        cloak_buf_free(&report);
        cloak_buf_free(&aux);
        rc = read_number(&a->ops, e.dir, "generation", &g0, why);
        if (rc) goto out;
        if (level >= 0) {
            char s[8];
            int n = snprintf(s, sizeof s, "%d\n", level);
            if (write_attr(&a->ops, e.dir, "privlevel", s, (size_t)n) < 0) {
                int err = errno;
                rc = cloak_error_set(why, CLOAK_EIO, "cannot set VMPL %d in %s/privlevel: %s%s",
                                     level, e.dir, strerror(err),
                                     err == EINVAL ? " (below privlevel_floor?)"
                                                   : att_errno_hint(err));
                goto out;
            }
            writes++;
        }
        if (write_attr(&a->ops, e.dir, "inblob", rd, 64) < 0) {
            int err = errno;
            rc = cloak_error_set(why, CLOAK_EIO, "cannot write %s/inblob: %s%s", e.dir,
                                 strerror(err), att_errno_hint(err));
            goto out;
        }
        writes++;
        if (read_attr(&a->ops, e.dir, "outblob", TSM_OUTBLOB_MAX, &report) < 0) {
            rc = outblob_error(a, e.dir, errno, why);
            goto out;
        }
        if (tee == CLOAK_TEE_SNP &&
            read_attr(&a->ops, e.dir, "auxblob", TSM_OUTBLOB_MAX, &aux) < 0 && errno != ENOENT) {
            int err = errno;
            rc = cloak_error_set(
                why, CLOAK_EIO, "reading %s/auxblob failed: %s%s", e.dir, strerror(err),
                err == EFBIG ? " (larger than the kernel's 32 KiB limit)" : att_errno_hint(err));
            goto out;
        }
        rc = read_number(&a->ops, e.dir, "generation", &g1, why);
        if (rc) goto out;
        expect = g0 + writes;
        done = g1 == expect;
    }
    if (!done) {
        rc = cloak_error_set(why, CLOAK_EIO,
                             g1 > expect
                                 ? "%s was written by someone else while we used it (generation "
                                   "%llu, expected %llu), %d times in a row; is another process "
                                   "writing to our report entry?"
                                 : "the kernel did not apply our writes to %s (generation %llu, "
                                   "expected %llu; %d attempts): the report cannot be trusted to "
                                   "carry our report data",
                             e.dir, g1, expect, TSM_ATTEMPTS);
        goto out;
    }
    if (report.len == 0) {
        rc = cloak_error_set(why, CLOAK_EIO, "%s/outblob is empty", e.dir);
        goto out;
    }
    rc = tee == CLOAK_TEE_SNP ? att_check_snp_report(report.p, report.len, rd, why)
                              : att_check_tdx_quote(report.p, report.len, rd, why);
    if (rc) {
        cloak_error_wrap(why, "%s/outblob", e.dir);
        goto out;
    }
    if (tee == CLOAK_TEE_SNP) {
        rc = att_snp_certs_parse(aux.p, aux.len, out, why);
        if (rc) {
            cloak_error_wrap(why, "%s/auxblob", e.dir);
            goto out;
        }
    }
    att_blob_set(out, CLOAK_ATTESTER_CONFIGFS_TSM, tee,
                 tee == CLOAK_TEE_SNP ? CLOAK_EVIDENCE_SNP_REPORT : CLOAK_EVIDENCE_TDX_QUOTE,
                 report.p, report.len);
    report.p = NULL;
    rc = CLOAK_OK;
out:
    entry_remove(&e);
    cloak_buf_free(&report);
    cloak_buf_free(&aux);
    return rc;
}
