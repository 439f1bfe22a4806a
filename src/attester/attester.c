/* Attester front: the real system-call table, choosing the guest interface, dispatch. */
#include "attester/attester_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int real_open(void *ctx, const char *path, int flags)
{
    (void)ctx;
    return open(path, flags | O_CLOEXEC);
}
static int real_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd);
}
static ssize_t real_read(void *ctx, int fd, void *buf, size_t n)
{
    (void)ctx;
    return read(fd, buf, n);
}
static ssize_t real_write(void *ctx, int fd, const void *buf, size_t n)
{
    (void)ctx;
    return write(fd, buf, n);
}
static int real_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    (void)ctx;
    return ioctl(fd, req, arg);
}
static int real_mkdir(void *ctx, const char *path, mode_t mode)
{
    (void)ctx;
    return mkdir(path, mode);
}
static int real_rmdir(void *ctx, const char *path)
{
    (void)ctx;
    return rmdir(path);
}
static int real_stat(void *ctx, const char *path, struct stat *st)
{
    (void)ctx;
    return stat(path, st);
}

const att_sysops att_real_sysops = {
    .open = real_open,
    .close = real_close,
    .read = real_read,
    .write = real_write,
    .ioctl = real_ioctl,
    .mkdir = real_mkdir,
    .rmdir = real_rmdir,
    .stat = real_stat,
    .ctx = NULL,
};

#define TSM_REPORT_REL "/sys/kernel/config/tsm/report"
#define SEV_GUEST_REL "/dev/sev-guest"
#define TDX_GUEST_REL "/dev/tdx_guest"

const char *att_errno_hint(int err)
{
    switch (err) {
    case EACCES:
    case EPERM:
        return " (run as root, or give this user access to the TEE guest interface)";
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return " (is the guest driver -- sev-guest or tdx-guest -- loaded?)";
    case EBUSY:
    case EAGAIN:
        return " (the interface is busy; try again)";
    default:
        return "";
    }
}

void att_blob_set(cloak_evidence_blob *b, cloak_attester_provider provider, cloak_tee_type tee,
                  cloak_evidence_format format, uint8_t *evidence, size_t len)
{
    b->provider = provider;
    b->tee = tee;
    b->format = format;
    b->evidence = evidence;
    b->evidence_len = len;
}

void cloak_evidence_blob_free(cloak_evidence_blob *b)
{
    if (!b) return;
    free(b->evidence);
    free(b->cert_store);
    memset(b, 0, sizeof *b);
}

void cloak_attester_opts_init(cloak_attester_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->provider = CLOAK_ATTESTER_AUTO;
    o->vmpl = CLOAK_ATTESTER_VMPL_DEFAULT;
}

const char *cloak_attester_provider_name(cloak_attester_provider p)
{
    switch (p) {
    case CLOAK_ATTESTER_AUTO:
        return "auto";
    case CLOAK_ATTESTER_CONFIGFS_TSM:
        return "configfs-tsm";
    case CLOAK_ATTESTER_SEV_GUEST:
        return "sev-guest";
    case CLOAK_ATTESTER_TDX_GUEST:
        return "tdx-guest";
    }
    return NULL;
}

const char *cloak_evidence_format_name(cloak_evidence_format f)
{
    switch (f) {
    case CLOAK_EVIDENCE_SNP_REPORT:
        return "sevsnp-report";
    case CLOAK_EVIDENCE_TDX_QUOTE:
        return "tdx-quote";
    case CLOAK_EVIDENCE_TDX_TDREPORT:
        return "tdreport";
    case CLOAK_EVIDENCE_FORMAT_NONE:
        break;
    }
    return NULL;
}

const char *cloak_snp_cert_kind_name(cloak_snp_cert_kind k)
{
    switch (k) {
    case CLOAK_SNP_CERT_VCEK:
        return "vcek";
    case CLOAK_SNP_CERT_VLEK:
        return "vlek";
    case CLOAK_SNP_CERT_ASK:
        return "ask";
    case CLOAK_SNP_CERT_ARK:
        return "ark";
    }
    return NULL;
}

/* root + rel, with root's trailing slashes dropped ("/" and NULL mean no prefix). */
static int join_root(char *dst, size_t cap, const char *root, const char *rel)
{
    size_t rl = root ? strlen(root) : 0;
    while (rl > 0 && root[rl - 1] == '/')
        rl--;
    int n = snprintf(dst, cap, "%.*s%s", (int)rl, rl ? root : "", rel);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int exists(const att_sysops *ops, const char *path, int want_dir)
{
    struct stat st;
    if (ops->stat(ops->ctx, path, &st) < 0) return 0;
    return want_dir ? S_ISDIR(st.st_mode) : 1;
}

static cloak_err choose(cloak_attester *a, const cloak_attester_opts *o, cloak_error *why)
{
    char tsm[ATT_PATH_MAX], sev[ATT_PATH_MAX], tdx[ATT_PATH_MAX], note[CLOAK_ERROR_MAX] = "";
    cloak_attester_provider want = o->provider;
    int any = want == CLOAK_ATTESTER_AUTO;
    if (join_root(tsm, sizeof tsm, o->root, TSM_REPORT_REL) ||
        join_root(sev, sizeof sev, o->root, SEV_GUEST_REL) ||
        join_root(tdx, sizeof tdx, o->root, TDX_GUEST_REL))
        return cloak_error_set(why, CLOAK_EINVAL, "root directory path is too long");

    if (any || want == CLOAK_ATTESTER_CONFIGFS_TSM) {
        if (exists(&a->ops, tsm, 1)) {
            cloak_error e = {0};
            cloak_err rc = att_tsm_probe(&a->ops, tsm, &a->tee, &e);
            if (rc == CLOAK_OK) {
                a->provider = CLOAK_ATTESTER_CONFIGFS_TSM;
                snprintf(a->path, sizeof a->path, "%s", tsm);
                return CLOAK_OK;
            }
            if (rc != CLOAK_ENOTFOUND || !any) {
                if (why) *why = e;
                return rc;
            }
            snprintf(note, sizeof note, " (%.300s)", e.msg); /* no provider: try the devices */
        } else if (!any) {
            return cloak_error_set(why, CLOAK_ENOTFOUND,
                                   "%s not found: configfs-tsm needs Linux >= 6.7 with "
                                   "CONFIG_TSM_REPORTS, the sev-guest or tdx-guest driver, and "
                                   "configfs mounted (mount -t configfs none /sys/kernel/config)",
                                   tsm);
        }
    }
    if (any || want == CLOAK_ATTESTER_SEV_GUEST) {
        if (exists(&a->ops, sev, 0)) {
            a->provider = CLOAK_ATTESTER_SEV_GUEST;
            a->tee = CLOAK_TEE_SNP;
            snprintf(a->path, sizeof a->path, "%s", sev);
            return CLOAK_OK;
        }
        if (!any)
            return cloak_error_set(why, CLOAK_ENOTFOUND,
                                   "%s not found: is this an SEV-SNP guest with the sev-guest "
                                   "driver loaded (modprobe sev-guest)?",
                                   sev);
    }
    if (any || want == CLOAK_ATTESTER_TDX_GUEST) {
        if (exists(&a->ops, tdx, 0)) {
            if (!any || o->allow_tdreport) {
                a->provider = CLOAK_ATTESTER_TDX_GUEST;
                a->tee = CLOAK_TEE_TDX;
                snprintf(a->path, sizeof a->path, "%s", tdx);
                return CLOAK_OK;
            }
            return cloak_error_set(
                why, CLOAK_EUNSUPPORTED,
                "found %s but no usable configfs-tsm at %s%s: a TDX quote needs configfs-tsm "
                "(Linux >= 6.7) and the host's quote generation service; %s gives only a "
                "TDREPORT, which cannot be verified off this machine -- ask for it explicitly "
                "(provider tdx-guest) if that is what you want",
                tdx, tsm, note, tdx);
        }
        if (!any)
            return cloak_error_set(why, CLOAK_ENOTFOUND,
                                   "%s not found: is this a TDX guest with the tdx-guest driver "
                                   "loaded?",
                                   tdx);
    }
    if (!any) return cloak_error_set(why, CLOAK_EINVAL, "unknown attester provider %d", (int)want);
    return cloak_error_set(why, CLOAK_ENOTFOUND,
                           "no TEE guest interface found: looked for %s%s, %s, %s; is this a "
                           "confidential VM?",
                           tsm, note, sev, tdx);
}

cloak_err att_open_with_ops(const cloak_attester_opts *opts, const att_sysops *ops,
                            cloak_attester **out, cloak_error *why)
{
    cloak_attester_opts o;
    cloak_attester *a = NULL;
    cloak_err rc = CLOAK_EINVAL;
    if (!out || !ops) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "cloak_attester_open: no output handle");
        goto out;
    }
    if (opts)
        o = *opts;
    else
        cloak_attester_opts_init(&o);
    if (o.vmpl != CLOAK_ATTESTER_VMPL_DEFAULT && (o.vmpl < 0 || o.vmpl > 3)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "VMPL %d is out of range: SEV-SNP has VMPL 0..3",
                             o.vmpl);
        goto out;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    a->ops = *ops;
    a->vmpl = o.vmpl;
    rc = choose(a, &o, why);
    if (rc) goto out;
    if (a->tee == CLOAK_TEE_TDX && o.vmpl != CLOAK_ATTESTER_VMPL_DEFAULT) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "a VMPL was given but %s is a TDX interface (VMPL is SEV-SNP only)",
                             a->path);
        goto out;
    }
    a->magic = ATTESTER_MAGIC;
    *out = a;
    a = NULL;
out:
    free(a);
    return rc;
}

cloak_err cloak_attester_open_opts(const cloak_attester_opts *opts, cloak_attester **out,
                                   cloak_error *why)
{
    return att_open_with_ops(opts, &att_real_sysops, out, why);
}

cloak_err cloak_attester_open(const char *root, cloak_attester **out, cloak_error *why)
{
    cloak_attester_opts o;
    cloak_attester_opts_init(&o);
    o.root = root;
    return att_open_with_ops(&o, &att_real_sysops, out, why);
}

cloak_attester_provider cloak_attester_kind(const cloak_attester *a)
{
    return a && a->magic == ATTESTER_MAGIC ? a->provider : CLOAK_ATTESTER_AUTO;
}

cloak_tee_type cloak_attester_tee(const cloak_attester *a)
{
    return a && a->magic == ATTESTER_MAGIC ? a->tee : CLOAK_TEE_AUTO;
}

cloak_err cloak_attester_get_evidence(cloak_attester *a, const uint8_t report_data[64],
                                      cloak_evidence_blob *out, cloak_error *why)
{
    cloak_evidence_blob b = {0};
    cloak_err rc;
    if (!a || a->magic != ATTESTER_MAGIC || !report_data || !out)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "cloak_attester_get_evidence: an open attester, report data and "
                               "an output blob are required");
    switch (a->provider) {
    case CLOAK_ATTESTER_CONFIGFS_TSM:
        rc = att_tsm_collect(a, report_data, &b, why);
        break;
    case CLOAK_ATTESTER_SEV_GUEST:
        rc = att_sev_collect(a, report_data, &b, why);
        break;
    case CLOAK_ATTESTER_TDX_GUEST:
        rc = att_tdx_collect(a, report_data, &b, why);
        break;
    default:
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "attester has no provider");
        break;
    }
    if (rc) {
        cloak_evidence_blob_free(&b);
        return rc;
    }
    *out = b;
    return CLOAK_OK;
}

void cloak_attester_free(cloak_attester *a)
{
    if (!a || a->magic != ATTESTER_MAGIC) return;
    a->magic = 0; /* a stale handle is caught, not used */
    free(a);
}
