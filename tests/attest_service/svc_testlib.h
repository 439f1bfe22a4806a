/* Shared fixture of the attestation service tests: an in-process service over real HTTPS,
 * calls, error checks, token verification, simulated evidence bodies. */
#ifndef CLOAK_TEST_SVC_TESTLIB_H
#define CLOAK_TEST_SVC_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cloak/attest_service.h"
#include "cloak/http.h"
#include "cloak/jose.h"
#include "cloak/platform.h"
#include "attest/maa_policy.h"
#include "evidence/dcap_testlib.h"

#define T_SNP_MILAN                                                                                \
    ((time_t)1704067200) /* 2024-01-01T00:00:00Z, inside vcek_milan.der (test_snp.c) */

extern char *g_data, *g_plat_dir, *g_coll;
extern cloak_platform *g_plat;
/* the runtime data (JSON) and init-time data simulated quotes bind */
extern const char runtime_json[];
extern const char init_bytes[];

typedef struct {
    cloak_attest_service *s;
    char base[128]; /* where to connect */
    char iss[128];  /* the issuer it claims (differs with cfg.issuer) */
} svc;

void svc_start_cfg(svc *v, cloak_attest_service_config *c);
void svc_start(svc *v, time_t at, int allow_sim);
void svc_stop(svc *v);
long call(svc *v, const char *method, const char *path, const char *ctype, const char *body,
          json_t **json);
const char *err_code(const json_t *j);
const char *err_msg(const json_t *j);
void expect_error(long st, json_t **jp, long want_st, const char *want_code, const char *in_msg);
char *b64url(const uint8_t *p, size_t n);
json_t *verify_token(svc *v, const char *token, json_t **header_out);
json_t *attest_ok(svc *v, const char *path, const char *body, json_t **header);
uint8_t *sim_quote(size_t *len, uint8_t mrenclave[32]);
char *sim_body(const uint8_t *q, size_t qlen, const char *runtime, const char *extra);
void openssl_b64url(const uint8_t *p, size_t n, char *out);
void maa_policy_hash(const char *text, char out[64]);
void write_text(const char *path, const char *s);
int policy_file_exists(const char *type);
int svc_setup(void **state);
int svc_teardown(void **state);

#endif
