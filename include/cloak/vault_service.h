/*
 * cloak vault service: a self-hosted key vault that speaks the Azure Key Vault keys REST API
 * (docs/VAULT.md), including Secure Key Release. Keys are generated, unwrapped and used only
 * inside the vault enclave (src/vault/keyops.h); this process does HTTP, authorization, storage
 * (SQLite, WAL) and the audit log, and holds key blobs only as ciphertext.
 *
 * Trust: every request is untrusted input. Callers are authenticated by bearer JWTs from the
 * vault's own local issuer or from configured OIDC issuers; release targets are attestation
 * tokens verified against the trusted attestation issuers' JWKS (include/cloak/attest.h).
 *
 * Thread-safety: a service belongs to the thread that created it; cloak_vault_service_stop may
 * be called from any thread (not from a signal handler).
 */
#ifndef CLOAK_VAULT_SERVICE_H
#define CLOAK_VAULT_SERVICE_H

#include "cloak/base.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_VAULT_MAX_TRUSTED 16

/* Zero-initialise, then set what you need. */
typedef struct {
    const char *host;     /* NULL = "127.0.0.1" */
    uint16_t port;        /* 0 = ephemeral */
    const char *data_dir; /* required: vault.db, master.sealed, token.key, audit.log, TLS */
    const char *tls_cert; /* both set: use them; else DATA_DIR/ca.pem etc. are created */
    const char *tls_key;
    const char *base_url;             /* the vault URL in every kid; NULL = "https://HOST:PORT" */
    const char *const *trust_issuers; /* NULL-terminated attestation token issuers (release) */
    const char *const *auth_issuers;  /* NULL-terminated OIDC issuers of bearer tokens */
    const char *audience;             /* aud of bearer tokens from auth_issuers; NULL = base URL */
    const char *ca_file;              /* CA for reaching the issuers; NULL = system roots */
    const char *tenant;               /* in the 401 challenge; NULL = "cloak" */
    const char *enclave_path;         /* the vault enclave image; NULL = the build's */
    const char *platform_dir;         /* simulation platform; NULL = default */
    unsigned workers;                 /* HTTP workers and enclave lanes; 0 = 2 */
    time_t test_time;                 /* TEST ONLY: the clock for tokens; 0 = the clock */
    FILE *access_log;                 /* NULL = off */
} cloak_vault_service_config;

typedef struct cloak_vault_service cloak_vault_service;

cloak_err cloak_vault_service_new(const cloak_vault_service_config *cfg, cloak_vault_service **out,
                                  cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_service_start(cloak_vault_service *s, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_service_run(cloak_vault_service *s, cloak_error *why) CLOAK_MUST_CHECK;
void cloak_vault_service_stop(cloak_vault_service *s);
void cloak_vault_service_free(cloak_vault_service *s);

uint16_t cloak_vault_service_port(const cloak_vault_service *s);
const char *cloak_vault_service_url(const cloak_vault_service *s);
/* DATA_DIR/ca.pem when the service created its TLS material, else "". */
const char *cloak_vault_service_ca(const cloak_vault_service *s);

#ifdef __cplusplus
}
#endif
#endif
