/*
 * attester internals: the system-call table every provider goes through (the seam the tests
 * replace), the handle, and the parsers of what the kernel and host return.
 */
#ifndef CLOAK_ATTESTER_INT_H
#define CLOAK_ATTESTER_INT_H

#include "cloak/attester.h"

#include <sys/stat.h>
#include <sys/types.h>

/* Every file-system and device operation of the attester. Each behaves like the system call
 * of the same name: -1 with errno on failure. The default table calls the real ones; tests
 * install a table that plays the kernel (tests/attester/). */
typedef struct {
    int (*open)(void *ctx, const char *path, int flags);
    int (*close)(void *ctx, int fd);
    ssize_t (*read)(void *ctx, int fd, void *buf, size_t n);
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t n);
    int (*ioctl)(void *ctx, int fd, unsigned long req, void *arg);
    int (*mkdir)(void *ctx, const char *path, mode_t mode);
    int (*rmdir)(void *ctx, const char *path);
    int (*stat)(void *ctx, const char *path, struct stat *st);
    void *ctx;
} att_sysops;

extern const att_sysops att_real_sysops;

#define ATTESTER_MAGIC 0x41545453u /* "ATTS" */
#define ATT_PATH_MAX 4096

struct cloak_attester {
    uint32_t magic;
    cloak_attester_provider provider;
    cloak_tee_type tee;
    int vmpl;                /* CLOAK_ATTESTER_VMPL_DEFAULT or 0..3 */
    char path[ATT_PATH_MAX]; /* report directory or device node, root prefix included */
    att_sysops ops;
};

/* Open with a given system-call table (tests). `ops` is copied. */
cloak_err att_open_with_ops(const cloak_attester_opts *opts, const att_sysops *ops,
                            cloak_attester **out, cloak_error *why) CLOAK_MUST_CHECK;

/* configfs-tsm (tsm.c). probe: create and remove one entry to learn the provider's TEE;
 * CLOAK_ENOTFOUND when configfs-tsm has no provider. */
cloak_err att_tsm_probe(const att_sysops *ops, const char *report_dir, cloak_tee_type *tee,
                        cloak_error *why) CLOAK_MUST_CHECK;
cloak_err att_tsm_collect(const cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *out,
                          cloak_error *why) CLOAK_MUST_CHECK;
/* /dev/sev-guest (sevguest.c) and /dev/tdx_guest (tdxguest.c). */
cloak_err att_sev_collect(const cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *out,
                          cloak_error *why) CLOAK_MUST_CHECK;
cloak_err att_tdx_collect(const cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *out,
                          cloak_error *why) CLOAK_MUST_CHECK;

/* Checks on evidence bytes from the kernel (check.c): sane length and layout, and the report
 * data inside equal to `rd`. */
cloak_err att_check_snp_report(const uint8_t *p, size_t len, const uint8_t rd[64],
                               cloak_error *why) CLOAK_MUST_CHECK;
cloak_err att_check_tdx_quote(const uint8_t *p, size_t len, const uint8_t rd[64],
                              cloak_error *why) CLOAK_MUST_CHECK;
cloak_err att_check_tdreport(const uint8_t *p, size_t len, const uint8_t rd[64],
                             cloak_error *why) CLOAK_MUST_CHECK;

/* The SEV-SNP certificate table (certtable.c): GHCB spec 56421 §4.1.8.1 -- entries of
 * GUID(16) | offset(u32 LE) | length(u32 LE), ended by an all-zero entry; offsets count from
 * the start of the table. Known certificates are copied into out->certs as DER (PEM is
 * converted); unknown GUIDs are bounds-checked and skipped. An empty buffer or a table with
 * only the terminator gives no certificates. On failure *out is untouched. */
#define ATT_CERT_TABLE_MAX (1u << 20)
cloak_err att_snp_certs_parse(const uint8_t *p, size_t len, cloak_evidence_blob *out,
                              cloak_error *why) CLOAK_MUST_CHECK;

/* Helpers shared by the providers (attester.c). */
/* errno as a short hint for a person ("run as root ..."), or "" */
const char *att_errno_hint(int err);
/* Move evidence bytes into a blob that may already hold certificates. */
void att_blob_set(cloak_evidence_blob *b, cloak_attester_provider provider, cloak_tee_type tee,
                  cloak_evidence_format format, uint8_t *evidence, size_t len);

#endif
