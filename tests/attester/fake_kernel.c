/* The fake guest kernel of fake_kernel.h. */
#include "fake_kernel.h"

#include "attester/uapi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int put_file(const char *dir, const char *name, const void *p, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return -1;
    ssize_t n = len ? write(fd, p, len) : 0;
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

static void put_gen(fake_kernel *k)
{
    char s[32];
    int n = snprintf(s, sizeof s, "%lu\n", k->gen);
    put_file(k->entry, "generation", s, (size_t)n);
}

static int is_entry(fake_kernel *k, const char *path)
{
    size_t n = strlen(k->report_dir);
    return !strncmp(path, k->report_dir, n) && path[n] == '/' && !strchr(path + n + 1, '/');
}

static const char *attr_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int fk_open(void *ctx, const char *path, int flags)
{
    fake_kernel *k = ctx;
    int fd = open(path, flags | O_CLOEXEC);
    if (fd >= 0 && fd < FK_MAXFD) {
        snprintf(k->fd_path[fd], sizeof k->fd_path[fd], "%s", path);
        k->fd_write[fd] = (flags & O_ACCMODE) != O_RDONLY;
    }
    return fd;
}

/* configfs commits a binary attribute when its file is closed: play the kernel then. */
static void commit_inblob(fake_kernel *k, const char *path)
{
    uint8_t buf[128];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    if (fd >= 0) close(fd);
    k->inblob_commits++;
    if (k->drop_inblob || n < 0) return;
    memcpy(k->seen_rd, buf, n > 64 ? 64 : (size_t)n);
    k->gen++;
    k->inblob_committed = 1;
    if (k->disturb > 0) { /* another process writes to our entry too */
        k->disturb--;
        k->gen++;
    }
    put_gen(k);
    uint8_t *out = malloc(k->out_len ? k->out_len : 1);
    memcpy(out, k->out_tmpl, k->out_len);
    if (k->rd_off >= 0 && (size_t)k->rd_off + 64 <= k->out_len) memcpy(out + k->rd_off, buf, 64);
    put_file(k->entry, "outblob", out, k->out_len);
    free(out);
}

static int fk_close(void *ctx, int fd)
{
    fake_kernel *k = ctx;
    char path[512] = "";
    int w = 0;
    if (fd >= 0 && fd < FK_MAXFD) {
        snprintf(path, sizeof path, "%s", k->fd_path[fd]);
        w = k->fd_write[fd];
        k->fd_path[fd][0] = 0;
    }
    int rc = close(fd);
    if (rc == 0 && w && !strcmp(attr_of(path), "inblob")) commit_inblob(k, path);
    return rc;
}

static ssize_t fk_read(void *ctx, int fd, void *buf, size_t n)
{
    fake_kernel *k = ctx;
    if (fd >= 0 && fd < FK_MAXFD && !strcmp(attr_of(k->fd_path[fd]), "outblob")) {
        if (k->outblob_errno) {
            errno = k->outblob_errno;
            return -1;
        }
        if (!k->inblob_committed && k->drop_inblob != 1) { /* tsm_report_read: no inblob */
            errno = EINVAL;
            return -1;
        }
    }
    return read(fd, buf, n);
}

static ssize_t fk_write(void *ctx, int fd, const void *buf, size_t n)
{
    fake_kernel *k = ctx;
    if (fd >= 0 && fd < FK_MAXFD && !strcmp(attr_of(k->fd_path[fd]), "privlevel")) {
        /* a text attribute: the kernel parses and applies it on write() */
        char s[16] = "";
        memcpy(s, buf, n < sizeof s - 1 ? n : sizeof s - 1);
        int v = atoi(s);
        if (v < k->privlevel_floor || v > 3) {
            errno = EINVAL;
            return -1;
        }
        k->privlevel_value = v;
        k->gen++;
        put_gen(k);
    }
    if (fd >= 0 && fd < FK_MAXFD && !strcmp(attr_of(k->fd_path[fd]), "inblob") && n > 64) {
        errno = EFBIG; /* configfs: larger than the attribute's maximum */
        return -1;
    }
    return write(fd, buf, n);
}

static int fk_mkdir_op(void *ctx, const char *path, mode_t mode)
{
    fake_kernel *k = ctx;
    if (!is_entry(k, path)) return mkdir(path, mode);
    if (!k->provider) {
        errno = ENXIO; /* tsm_report_make_item without a provider */
        return -1;
    }
    if (mkdir(path, mode) < 0) return -1;
    snprintf(k->entry, sizeof k->entry, "%s", path);
    k->entries_made++;
    k->gen = 0;
    k->inblob_committed = 0;
    char s[256];
    int n = snprintf(s, sizeof s, "%s\n", k->provider);
    put_file(path, "provider", s, (size_t)n);
    put_gen(k);
    put_file(path, "inblob", NULL, 0);
    put_file(path, "outblob", NULL, 0);
    if (!strcmp(k->provider, "sev_guest")) {
        n = snprintf(s, sizeof s, "%d\n", k->privlevel_floor);
        put_file(path, "privlevel_floor", s, (size_t)n);
        put_file(path, "privlevel", NULL, 0);
        if (k->aux) put_file(path, "auxblob", k->aux, k->aux_len);
    }
    return 0;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(sub);
            else
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

static int fk_rmdir(void *ctx, const char *path)
{
    fake_kernel *k = ctx;
    if (!is_entry(k, path)) return rmdir(path);
    remove_tree(path); /* configfs drops the attributes with the item */
    k->entries_removed++;
    return 0;
}

static int fk_stat(void *ctx, const char *path, struct stat *st)
{
    (void)ctx;
    return stat(path, st);
}

static int sev_ioctl(fake_kernel *k, struct snp_guest_request_ioctl *io)
{
    struct snp_ext_report_req *req = (void *)(uintptr_t)io->req_data;
    struct snp_report_resp *resp = (void *)(uintptr_t)io->resp_data;
    if (!io->msg_version || !req || !resp) {
        errno = EINVAL;
        return -1;
    }
    k->seen_msg_version = io->msg_version;
    k->seen_vmpl = req->data.vmpl;
    k->seen_certs_len = req->certs_len;
    memcpy(k->seen_rd, req->data.user_data, 64);
    for (size_t i = 0; i < sizeof req->data.rsvd; i++)
        if (req->data.rsvd[i]) k->seen_rsvd_nonzero = 1;
    if (k->ioctl_errno) {
        io->fw_error = k->fw_error;
        io->vmm_error = k->vmm_error;
        errno = k->ioctl_errno;
        return -1;
    }
    if (req->certs_len % 4096 || req->certs_len > 16384 * 64) {
        errno = EINVAL;
        return -1;
    }
    if (k->certs_need > req->certs_len) { /* get_ext_report: buffer too small */
        req->certs_len = k->certs_need;
        io->exitinfo2 = (uint64_t)SNP_GUEST_VMM_ERR_INVALID_LEN << 32;
        errno = EIO;
        return -1;
    }
    memset(resp, 0, sizeof *resp);
    uint32_t size = k->report_size >= 0 ? (uint32_t)k->report_size : (uint32_t)k->out_len;
    cloak_put_u32le(resp->data, k->status);
    cloak_put_u32le(resp->data + 4, size);
    size_t n = k->out_len < sizeof resp->data - 32 ? k->out_len : sizeof resp->data - 32;
    memcpy(resp->data + 32, k->out_tmpl, n);
    if (k->rd_off >= 0 && (size_t)k->rd_off + 64 <= n)
        memcpy(resp->data + 32 + k->rd_off, req->data.user_data, 64);
    uint8_t *certs = (void *)(uintptr_t)req->certs_address;
    if (certs && req->certs_len) {
        memset(certs, 0, req->certs_len);
        if (k->certs)
            memcpy(certs, k->certs, k->certs_len < req->certs_len ? k->certs_len : req->certs_len);
    }
    return 0;
}

static int tdx_ioctl(fake_kernel *k, struct tdx_report_req *req)
{
    memcpy(k->seen_rd, req->reportdata, 64);
    if (k->ioctl_errno) {
        errno = k->ioctl_errno;
        return -1;
    }
    memcpy(req->tdreport, k->out_tmpl, k->out_len < 1024 ? k->out_len : 1024);
    if (k->rd_off >= 0) memcpy(req->tdreport + k->rd_off, req->reportdata, 64);
    return 0;
}

static int fk_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
    fake_kernel *k = ctx;
    (void)fd;
    k->ioctl_calls++;
    if (req == SNP_GET_EXT_REPORT) return sev_ioctl(k, arg);
    if (req == TDX_CMD_GET_REPORT0) return tdx_ioctl(k, arg);
    errno = ENOTTY;
    return -1;
}

int fk_init(fake_kernel *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->root, sizeof k->root, "/tmp/cloak-attester-XXXXXX");
    if (!mkdtemp(k->root)) return -1;
    snprintf(k->report_dir, sizeof k->report_dir, "%s/sys/kernel/config/tsm/report", k->root);
    k->rd_off = -1;
    k->report_size = -1;
    k->privlevel_value = -1;
    return 0;
}

void fk_cleanup(fake_kernel *k)
{
    if (k->root[0]) remove_tree(k->root);
}

int fk_mkdir(fake_kernel *k, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", k->root, rel);
    for (char *s = path + strlen(k->root) + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(path, 0700) < 0 && errno != EEXIST) return -1;
            *s = c;
            if (!c) break;
        }
    }
    return 0;
}

int fk_touch(fake_kernel *k, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", k->root, rel);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

att_sysops fk_ops(fake_kernel *k)
{
    att_sysops o = {.open = fk_open,
                    .close = fk_close,
                    .read = fk_read,
                    .write = fk_write,
                    .ioctl = fk_ioctl,
                    .mkdir = fk_mkdir_op,
                    .rmdir = fk_rmdir,
                    .stat = fk_stat,
                    .ctx = k};
    return o;
}

cloak_err fk_attester(fake_kernel *k, cloak_attester_provider p, int vmpl, int allow_tdreport,
                      cloak_attester **a, cloak_error *why)
{
    cloak_attester_opts o;
    att_sysops ops = fk_ops(k);
    cloak_attester_opts_init(&o);
    o.root = k->root;
    o.provider = p;
    o.vmpl = vmpl;
    o.allow_tdreport = allow_tdreport;
    return att_open_with_ops(&o, &ops, a, why);
}

cloak_err fk_collect(cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *b,
                     cloak_error *why, int *untouched)
{
    cloak_evidence_blob before;
    memset(b, 0x5a, sizeof *b);
    memcpy(&before, b, sizeof before);
    cloak_err rc = cloak_attester_get_evidence(a, rd, b, why);
    *untouched = !memcmp(b, &before, sizeof before);
    return rc;
}
