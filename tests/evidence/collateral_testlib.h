/* Helpers shared by test_collateral.c and test_tcb.c: vector files, temp copies of the split
 * collateral layout, loading with failure messages. Every helper fails the test on error. */
#ifndef CLOAK_COLLATERAL_TESTLIB_H
#define CLOAK_COLLATERAL_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "evidence/collateral_int.h"

/* CLOAK_VECTORS "/" rel, malloc'd */
char *vec(const char *rel);
uint8_t *slurp(const char *path, size_t *len);
uint8_t *slurp_vec(const char *rel, size_t *len);
void put(const char *dir, const char *name, const void *p, size_t len);
/* remove a directory tree and free the path */
void rm_rf(char *path);
/* a fresh temp dir (malloc'd path) */
char *tmpdir_new(void);
/* a fresh temp dir holding a copy of the split collateral in `src` (absolute path) */
char *copy_split(const char *src);
char *copy_vec_split(const char *rel);
cloak_collateral *load_ok(const char *path);
cloak_collateral *load_vec(const char *rel);
/* the Intel SGX Root CA from the vectors */
X509 *intel_root(void);
/* A collateral from PCS responses (tcbInfo, enclaveIdentity) and the other vector files. */
cloak_collateral *from_pcs(const char *tcb_rel, const char *qe_rel, const char *root_crl,
                           const char *pck_crl, const char *chain, const char *pck_chain);

#endif
