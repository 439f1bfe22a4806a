/*
 * A stand-in for the guest kernel, for tests without confidential-computing hardware. It is an
 * att_sysops table (src/attester/attester_int.h) that does the real file operations on a
 * scratch tree in a mkdtemp directory and adds what the kernel would do:
 *
 *   configfs-tsm  mkdir of an entry under <root>/sys/kernel/config/tsm/report creates the
 *                 attribute files (provider, generation, inblob, outblob, and for sev_guest
 *                 privlevel, privlevel_floor, auxblob); closing inblob commits it (as configfs
 *                 does for binary attributes), bumps generation and writes outblob from a
 *                 sample with the report data patched in; a privlevel write is checked
 *                 against the floor; rmdir removes the attributes with the entry.
 *   ioctl         SNP_GET_EXT_REPORT and TDX_CMD_GET_REPORT0 read the request struct the
 *                 attester built and fill the response as the kernel would, from samples.
 *
 * What it cannot show: real configfs semantics beyond the above (read-time report generation,
 * locking, attribute visibility rules), real firmware or host behaviour, the real ioctl ABI
 * crossing into a kernel. Knobs below inject the host/kernel misbehaviour the attester must
 * catch.
 */
#ifndef CLOAK_TEST_FAKE_KERNEL_H
#define CLOAK_TEST_FAKE_KERNEL_H

#include "attester/attester_int.h"

#define FK_MAXFD 64

typedef struct {
    char root[256];
    char report_dir[512];

    /* configfs-tsm */
    const char *provider;    /* "sev_guest", "tdx_guest", ...; NULL: mkdir fails with ENXIO */
    int privlevel_floor;     /* sev_guest only */
    const uint8_t *out_tmpl; /* outblob sample */
    size_t out_len;
    long rd_off;        /* where to patch the report data into the sample; -1: do not */
    const uint8_t *aux; /* auxblob contents; NULL: no auxblob file */
    size_t aux_len;
    int outblob_errno; /* non-zero: reading outblob fails with it */
    int disturb;       /* attempts during which another writer bumps generation */
    int drop_inblob;   /* the kernel ignores our inblob (generation does not move);
                        * 1: an older report stays readable, 2: outblob fails (EINVAL) */

    /* ioctl (sev-guest / tdx-guest) */
    int ioctl_errno;              /* non-zero: fail with it ... */
    uint32_t fw_error, vmm_error; /* ... and these in exitinfo2 */
    uint32_t status;              /* MSG_REPORT_RSP status */
    long report_size;             /* MSG_REPORT_RSP size field; -1: the sample's length */
    uint32_t certs_need;          /* certificate buffer the host wants; 0: any */
    const uint8_t *certs;         /* certificate table for SNP_GET_EXT_REPORT */
    size_t certs_len;

    /* observations */
    unsigned long gen;
    int entries_made, entries_removed, inblob_commits, privlevel_value, ioctl_calls;
    uint32_t seen_vmpl, seen_msg_version, seen_certs_len;
    int seen_rsvd_nonzero;
    uint8_t seen_rd[64];
    char entry[512];
    int inblob_committed;

    /* open files: fd -> attribute path and write flag */
    char fd_path[FK_MAXFD][512];
    int fd_write[FK_MAXFD];
} fake_kernel;

/* Make the scratch root (mkdtemp). 0 on success. */
int fk_init(fake_kernel *k);
/* Remove the scratch tree. */
void fk_cleanup(fake_kernel *k);
/* Create <root>/<rel> as a directory (mkdir -p) or as an empty regular file. */
int fk_mkdir(fake_kernel *k, const char *rel);
int fk_touch(fake_kernel *k, const char *rel);
/* The system-call table whose ctx is k. */
att_sysops fk_ops(fake_kernel *k);
/* Open an attester on k's tree through k's system-call table. */
cloak_err fk_attester(fake_kernel *k, cloak_attester_provider p, int vmpl, int allow_tdreport,
                      cloak_attester **a, cloak_error *why);
/* cloak_attester_get_evidence; *untouched tells whether the blob kept its previous bytes. */
cloak_err fk_collect(cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *b,
                     cloak_error *why, int *untouched);

#endif
