/* Shared by the DCAP tests: the real quotes of shared/vectors/attestation (MANIFEST.md) with
 * what the manifest says about each, and small helpers. */
#ifndef CLOAK_TEST_DCAP_TESTLIB_H
#define CLOAK_TEST_DCAP_TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct {
    const char *file;  /* relative to the vectors dir; .hex / base64 / GCP JSON decoded */
    time_t at;         /* a time inside the chain's validity (MANIFEST.md) */
    int tdx;           /* 1: TDX, 0: SGX */
    int version;       /* quote version */
    const char *fmspc; /* lower-case hex, from MANIFEST.md; NULL where it says none */
    size_t quote_len;  /* MANIFEST.md quirk 1; 0 = the whole file */
} dcap_vec;

extern const dcap_vec dcap_vecs[];
extern const size_t dcap_nvecs;

/* Times from MANIFEST.md. */
#define T_DCAPQVL_SGX ((time_t)1752919277)      /* 2025-07-19T10:01:17Z */
#define T_DCAPQVL_TDX ((time_t)1752919234)      /* 2025-07-19T10:00:34Z */
#define T_DCAPQVL_OUTDATED ((time_t)1774003274) /* 2026-03-20T10:41:14Z */
#define T_TEEKIT ((time_t)1756684800)           /* 2025-09-01T00:00:00Z */
#define T_GO_TDX_SPR ((time_t)1688173200)       /* 2023-07-01T01:00:00Z */
#define T_GO_TDX_V5 ((time_t)1770080400)        /* 2026-02-03T01:00:00Z */

/* Path under the vectors dir (malloc'd). */
char *dcap_vec_path(const char *rel);
/* Read a vector, decoding .hex, base64 (teekit/tdx-v4-azure) and {"tdx":{"quote":b64}}. */
uint8_t *dcap_vec_load(const char *rel, size_t *len);
uint8_t *dcap_read_file(const char *path, size_t *len);

/* ---- the simulation platform (include/cloak/platform.h) ---- */
#include "cloak/platform.h"
/* A fresh directory under /tmp (malloc'd); dcap_rm_rf removes and frees it. */
char *dcap_tmpdir(void);
void dcap_rm_rf(char *path);
/* An SGX quote v3 from the development platform over a report body with these values. */
uint8_t *dcap_sim_quote(const cloak_platform *p, const uint8_t mrenclave[32], uint64_t attr_flags,
                        const uint8_t report_data[64], size_t *len);

#endif
