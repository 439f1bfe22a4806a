/* Shared by the RA-TLS tests: a development platform in a mkdtemp directory, simulated SGX
 * evidence from it, and certificate surgery for building certificates the library never makes. */
#ifndef CLOAK_RATLS_TESTLIB_H
#define CLOAK_RATLS_TESTLIB_H

#include "cloak/platform.h"
#include "cloak/ratls.h"

#define PRODUCT_ID 7
#define ISV_SVN 2
#define SGX_REPORT_DATA_OFF (48 + 320) /* quote header + REPORTDATA in the SGX report body */

extern const uint8_t MRENCLAVE[32];
extern const uint8_t MRSIGNER[32];

typedef struct {
    char *dir;
    cloak_platform *plat;
    cloak_trust *trust_sim;   /* vendor roots + this platform's development root */
    cloak_trust *trust_plain; /* vendor roots only */
    EVP_PKEY *key;            /* the server's key */
    EVP_PKEY *other;          /* another key */
} fixture;
extern fixture F;

/* cmocka group setup/teardown: platform, trusts and keys in F. */
int setup(void **state);
int teardown(void **state);

typedef struct {
    int debug;               /* set ATTRIBUTES.DEBUG */
    const uint8_t *force_rd; /* quote this report data instead of the one asked for */
    cloak_error why;
} sim_evidence;
/* A cloak_ratls_evidence_fn over the platform in F; ctx is a sim_evidence. */
cloak_err sim_quote(void *ctx, const uint8_t rd[CLOAK_REPORT_DATA_BYTES], uint8_t **q, size_t *n);
X509 *make_cert_with(EVP_PKEY *key, sim_evidence *s, time_t nb, time_t na);
/* A certificate for F.key, valid from a minute ago for an hour. */
X509 *make_cert(int debug);

/* Copy out the evidence extension's value (malloc'd). */
void ext_value(X509 *x, uint8_t **p, size_t *n);
/* Replace (val != NULL) or remove the evidence extension, then re-sign with `key`. */
void set_ext(X509 *x, const uint8_t *val, size_t n, EVP_PKEY *key);

/* Policy for the simulated enclave: allow_sim, its measurement, product id and svn. */
cloak_policy sim_policy(void);
char *hex(const uint8_t *p, size_t n);

#endif
