/* Whole-file reads and atomic writes (temp file, fsync, rename, fsync of the directory). */
#include "cloak/base.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

void cloak_free_secret(void *p, size_t len)
{
    if (!p) return;
    OPENSSL_cleanse(p, len);
    free(p);
}

cloak_err cloak_file_read(const char *path, uint8_t **out, size_t *out_len, cloak_error *why)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cloak_error_set(why, errno == ENOENT ? CLOAK_ENOTFOUND : CLOAK_EIO,
                               "cannot open %s: %s", path, strerror(errno));
    cloak_err rc = CLOAK_OK;
    struct stat st;
    uint8_t *b = NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = cloak_error_set(why, CLOAK_EIO, "%s is not a regular file", path);
        goto out;
    }
    size_t cap = (size_t)st.st_size, len = 0;
    b = malloc(cap + 1);
    if (!b) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory reading %s (%zu bytes)", path, cap);
        goto out;
    }
    while (len < cap) {
        ssize_t n = read(fd, b + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = cloak_error_set(why, CLOAK_EIO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    b[len] = 0; /* convenience for text files; not counted in len */
    *out = b;
    *out_len = len;
    b = NULL;
out:
    free(b);
    close(fd);
    return rc;
}

cloak_err cloak_file_write(const char *path, const uint8_t *p, size_t len, unsigned mode,
                           cloak_error *why)
{
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    snprintf(tmp, pl + 16, "%s.tmpXXXXXX", path);
    cloak_err rc = CLOAK_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = cloak_error_set(why, CLOAK_EIO, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    if (fchmod(fd, mode) < 0) goto fail;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) goto fail;
        off += (size_t)n;
    }
    if (fsync(fd) < 0) goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) goto fail;
    {
        char *d = strdup(path);
        if (d) {
            int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                (void)fsync(dfd);
                close(dfd);
            }
            free(d);
        }
    }
    free(tmp);
    return CLOAK_OK;
fail:
    rc = cloak_error_set(why, CLOAK_EIO, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(tmp);
    return rc;
}

cloak_err cloak_mkdirs(const char *path, unsigned mode, cloak_error *why)
{
    char *p = strdup(path);
    if (!p) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    cloak_err rc = CLOAK_OK;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, mode) < 0 && errno != EEXIST) {
                rc = cloak_error_set(why, CLOAK_EIO, "cannot create directory %s: %s", p,
                                     strerror(errno));
                break;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    return rc;
}
