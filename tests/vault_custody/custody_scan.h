/* Byte-string scanner of the custody test: a set of needles (each secret in several encodings,
 * plus positive controls) searched in one pass over a process's memory (/proc/PID/maps and
 * /proc/PID/mem), in files and in directory trees. Every hit is counted per needle, with the
 * place of the first one. */
#ifndef CLOAK_TEST_CUSTODY_SCAN_H
#define CLOAK_TEST_CUSTODY_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CS_MAX_NEEDLES 512

typedef struct {
    char label[96]; /* "imported RSA p (hex)" */
    int group;      /* the caller's grouping (e.g. secret index) */
    uint8_t *p;
    size_t n;
    size_t hits;
    char where[160]; /* the first hit */
} cs_needle;

typedef struct {
    cs_needle nd[CS_MAX_NEEDLES];
    size_t count;
    int head[65536]; /* first needle whose first two bytes are the index, -1 none */
    int next[CS_MAX_NEEDLES];
    size_t max_len;
} cs_set;

void cs_init(cs_set *s);
void cs_free(cs_set *s);
/* One needle (at least 2 bytes). Returns its index. */
size_t cs_add(cs_set *s, int group, const char *label, const uint8_t *p, size_t n);
/* A secret in every form a process or file might hold it: raw, byte-reversed (OpenSSL BIGNUM
 * limbs on a little-endian machine), hex (lower, upper), base64url, base64 (padded). */
void cs_add_secret(cs_set *s, int group, const char *label, const uint8_t *p, size_t n);
void cs_reset(cs_set *s);

/* Scan a buffer; `where` names it for the first-hit record (offset appended). */
void cs_scan_buf(cs_set *s, const uint8_t *buf, size_t len, const char *where, uint64_t base);

typedef struct {
    uint64_t bytes;      /* bytes read and scanned */
    uint64_t unreadable; /* bytes of rw regions that could not be read (EIO) */
    uint64_t skipped;    /* bytes of regions too large to be real data (sanitizer shadow) */
    unsigned regions;
} cs_mem_stats;
/* Every readable+writable mapping of `pid`. 0, or -1 with errno (EACCES/EPERM: no access). */
int cs_scan_process(cs_set *s, pid_t pid, cs_mem_stats *st);
/* A file / every regular file under a directory. Returns the number of files scanned. */
int cs_scan_file(cs_set *s, const char *path);
int cs_scan_tree(cs_set *s, const char *dir);

#endif
