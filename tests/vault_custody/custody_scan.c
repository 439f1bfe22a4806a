/* Byte-string scanner of the custody test (see custody_scan.h). One pass per buffer: needles
 * are indexed by their first two bytes, so each position costs one table look-up. Process
 * memory is read through /proc/PID/mem in 4 MiB chunks that overlap by the longest needle, so
 * a needle across a chunk boundary is still found.
 *
 * Trust: test-only code; it reads another process only as that process's parent (ptrace
 * access rules), and reports lack of access instead of passing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "custody_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

void cs_init(cs_set *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < 65536; i++)
        s->head[i] = -1;
}

void cs_free(cs_set *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->nd[i].p);
    cs_init(s);
}

size_t cs_add(cs_set *s, int group, const char *label, const uint8_t *p, size_t n)
{
    if (s->count == CS_MAX_NEEDLES || n < 2) abort();
    size_t i = s->count++;
    cs_needle *d = &s->nd[i];
    memset(d, 0, sizeof *d);
    snprintf(d->label, sizeof d->label, "%s", label);
    d->group = group;
    d->p = malloc(n);
    if (!d->p) abort();
    memcpy(d->p, p, n);
    d->n = n;
    unsigned k = (unsigned)p[0] << 8 | p[1];
    s->next[i] = s->head[k];
    s->head[k] = (int)i;
    if (n > s->max_len) s->max_len = n;
    return i;
}

static void add_form(cs_set *s, int group, const char *label, const char *form, const void *p,
                     size_t n)
{
    char l[96];
    snprintf(l, sizeof l, "%s (%s)", label, form);
    cs_add(s, group, l, p, n);
}

void cs_add_secret(cs_set *s, int group, const char *label, const uint8_t *p, size_t n)
{
    uint8_t *rev = malloc(n);
    char *hex = malloc(2 * n + 1), *b64 = malloc(4 * ((n + 2) / 3) + 1);
    if (!rev || !hex || !b64) abort();
    for (size_t i = 0; i < n; i++)
        rev[i] = p[n - 1 - i];
    add_form(s, group, label, "raw", p, n);
    add_form(s, group, label, "byte-reversed", rev, n);
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", p[i]);
    add_form(s, group, label, "hex", hex, 2 * n);
    for (size_t i = 0; i < 2 * n; i++)
        if (hex[i] >= 'a') hex[i] = (char)(hex[i] - 'a' + 'A');
    add_form(s, group, label, "HEX", hex, 2 * n);
    int m = EVP_EncodeBlock((unsigned char *)b64, p, (int)n);
    add_form(s, group, label, "base64", b64, (size_t)m);
    while (m > 0 && b64[m - 1] == '=')
        m--;
    for (int i = 0; i < m; i++)
        b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    add_form(s, group, label, "base64url", b64, (size_t)m);
    free(rev);
    free(hex);
    free(b64);
}

void cs_reset(cs_set *s)
{
    for (size_t i = 0; i < s->count; i++) {
        s->nd[i].hits = 0;
        s->nd[i].where[0] = 0;
    }
}

void cs_scan_buf(cs_set *s, const uint8_t *buf, size_t len, const char *where, uint64_t base)
{
    if (len < 2) return;
    for (size_t i = 0; i + 1 < len; i++) {
        int j = s->head[(unsigned)buf[i] << 8 | buf[i + 1]];
        for (; j >= 0; j = s->next[j]) {
            cs_needle *d = &s->nd[j];
            if (d->n <= len - i && !memcmp(buf + i, d->p, d->n)) {
                if (!d->hits++)
                    snprintf(d->where, sizeof d->where, "%s +0x%" PRIx64, where, base + i);
            }
        }
    }
}

#define CHUNK (4u << 20)
#define MAX_REGION (1ull << 32) /* larger rw mappings are sanitizer shadow / reserved space */

int cs_scan_process(cs_set *s, pid_t pid, cs_mem_stats *st)
{
    char path[64];
    memset(st, 0, sizeof *st);
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *maps = fopen(path, "r");
    if (!maps) return -1;
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        int e = errno;
        fclose(maps);
        errno = e;
        return -1;
    }
    size_t overlap = s->max_len ? s->max_len - 1 : 0;
    uint8_t *buf = malloc(CHUNK + overlap);
    if (!buf) abort();
    char line[1024];
    int first_err = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long long lo, hi;
        char perms[8] = "", name[512] = "";
        if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %511[^\n]", &lo, &hi, perms, name) < 3)
            continue;
        if (perms[0] != 'r' || perms[1] != 'w') continue;
        if (hi - lo > MAX_REGION) {
            st->skipped += hi - lo;
            continue;
        }
        st->regions++;
        char where[128];
        snprintf(where, sizeof where, "%.100s@%llx", name[0] ? name : "[anon]", lo);
        size_t carry = 0; /* bytes at buf[0] kept from the previous chunk */
        for (unsigned long long a = lo; a < hi;) {
            size_t want = hi - a < CHUNK ? (size_t)(hi - a) : CHUNK;
            ssize_t got = pread(fd, buf + carry, want, (off_t)a);
            if (got <= 0) {
                if (got < 0 && (errno == EACCES || errno == EPERM) && !st->bytes) {
                    first_err = errno;
                    goto out;
                }
                /* an unreadable page (guard page, I/O mapping): skip one page */
                st->unreadable += 4096;
                a += 4096;
                carry = 0;
                continue;
            }
            cs_scan_buf(s, buf, carry + (size_t)got, where, a - carry - lo);
            st->bytes += (uint64_t)got;
            a += (unsigned long long)got;
            size_t have = carry + (size_t)got;
            carry = have < overlap ? have : overlap;
            memmove(buf, buf + have - carry, carry);
        }
    }
out:
    free(buf);
    close(fd);
    fclose(maps);
    if (first_err) {
        errno = first_err;
        return -1;
    }
    return 0;
}

int cs_scan_file(cs_set *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    struct stat sb;
    if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return 0;
    }
    uint8_t *buf = malloc((size_t)sb.st_size + 1);
    if (!buf) abort();
    size_t n = fread(buf, 1, (size_t)sb.st_size, f);
    fclose(f);
    cs_scan_buf(s, buf, n, path, 0);
    free(buf);
    return 1;
}

int cs_scan_tree(cs_set *s, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb)) continue;
        if (S_ISDIR(sb.st_mode))
            files += cs_scan_tree(s, p);
        else if (S_ISREG(sb.st_mode))
            files += cs_scan_file(s, p);
    }
    closedir(d);
    return files;
}
