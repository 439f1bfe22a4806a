/* Shared fixture of the vault service tests: a simulation platform, an in-process attestation
 * service (simulated evidence allowed) and an in-process vault trusting it, both over real
 * HTTPS on 127.0.0.1:0, and calls with bearer tokens. */
#ifndef CLOAK_TEST_VAULT_TESTLIB_H
#define CLOAK_TEST_VAULT_TESTLIB_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cloak/attest_service.h"
#include "cloak/http.h"
#include "cloak/jose.h"
#include "cloak/platform.h"
#include "cloak/vault_service.h"

typedef struct {
    char *plat_dir, *attest_dir, *vault_dir;
    cloak_platform *plat;
    cloak_attest_service *as;
    char attest_url[128];
    cloak_vault_service *vs;
    char url[128];
    char ca[4200];
    char *admin; /* an administrator bearer token */
} vfix;

extern vfix F;

/* Start the platform and the attestation service (once per test file) ... */
void vfix_setup_attest(void);
/* ... and a vault (cfg may be NULL; data_dir, platform_dir, trust_issuers, ca_file are
 * filled in when unset). A fresh data dir unless keep_data. */
void vfix_start_vault(cloak_vault_service_config *cfg, int keep_data);
void vfix_stop_vault(void);
void vfix_teardown(void);

/* A bearer token of the fixture's vault. */
char *vtoken(const char *role, const char *subject);
/* One request; returns the status; *json the parsed body (may be NULL); hdr (may be NULL)
 * receives WWW-Authenticate when present. token NULL = no Authorization. */
long vcall(const char *token, const char *method, const char *path, const char *body, json_t **json,
           char *www_auth, size_t www_len);
/* Same with the admin token, printf-style path, and the body as a json_pack format result. */
long vcallj(const char *method, const char *path, json_t *body, json_t **out);
const char *verr_code(const json_t *j);
const char *verr_inner(const json_t *j);
const char *verr_msg(const json_t *j);
void vexpect(long st, json_t **jp, long want_st, const char *want_code, const char *want_inner);

char *tb64url(const uint8_t *p, size_t n);
uint8_t *tb64url_dec(const char *s, size_t *n);
/* The public key of a key bundle's JWK. */
EVP_PKEY *bundle_pub(const json_t *bundle);

/* An attestation token from the fixture's attestation service for a simulated SGX quote whose
 * report data binds `runtime_json` (dataType JSON). mrsigner_byte fills MRSIGNER; debug sets
 * the DEBUG attribute. */
char *attest_token(const char *runtime_json, int debug, uint8_t mrsigner_byte, uint16_t svn);

/* Open a release JWS as its recipient would, with OpenSSL only: verify it with the certificate
 * in its x5c (RS256), then unwrap key_hsm with the KEK's private key: RSA-OAEP (the hash `enc`
 * names; NULL = CKM_RSA_AES_KEY_WRAP, SHA-1) of an AES-256 key, then RFC 5649. Returns the key
 * (PKCS#8 DER for RSA/EC, raw for oct; malloc'd); *payload_out and *key_hsm_out (may be NULL)
 * get the JWS payload and the decoded key_hsm object, for the caller to free. */
uint8_t *vopen_release(const char *jws, EVP_PKEY *kek, const char *enc, size_t *len,
                       json_t **payload_out, json_t **key_hsm_out);

#endif
