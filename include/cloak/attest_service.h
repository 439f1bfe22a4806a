/*
 * cloak attest service: a self-hosted attestation service that speaks the Microsoft Azure
 * Attestation (MAA) data-plane REST API (docs/ATTEST-SERVICE.md). Evidence comes in over
 * HTTPS, is verified by cloak_evidence_verify (this component verifies nothing itself), bound
 * to the caller's runtime/init-time data, run through the tenant's MAA policy, and answered
 * with an RS256 JWT signed by a key kept in the data directory and published at /certs.
 *
 * Trust: every request is untrusted input. The only anchors are libcloak's vendor roots, plus
 * the local development root when allow_sim is set (simulated evidence then always carries
 * "x-cloak-sim": true). The signing key never leaves the data directory (0600).
 *
 * Thread-safety: a service belongs to the thread that created it; cloak_attest_service_stop
 * may be called from any thread (not from a signal handler).
 */
#ifndef CLOAK_ATTEST_SERVICE_H
#define CLOAK_ATTEST_SERVICE_H

#include "cloak/base.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_ATTEST_TOKEN_TTL_DEFAULT (8u * 3600u) /* seconds, as MAA */

/* Zero-initialise, then set what you need. */
typedef struct {
    const char *host;     /* NULL = "127.0.0.1" */
    uint16_t port;        /* 0 = ephemeral */
    const char *data_dir; /* required: signing key, policies, TLS material */
    const char *tls_cert; /* both set: use them; else DATA_DIR/ca.pem etc. are created */
    const char *tls_key;
    const char *issuer;         /* NULL = "https://HOST:PORT" */
    int allow_sim;              /* 1: also trust the development root of platform_dir */
    const char *platform_dir;   /* simulation platform (NULL = default, cloak/platform.h) */
    const char *collateral_dir; /* DCAP collateral folders, one per FMSPC (NULL = none) */
    unsigned token_ttl;         /* seconds; 0 = CLOAK_ATTEST_TOKEN_TTL_DEFAULT */
    const char *policy_signers; /* PEM file of policy signing certificates: isolated mode, in
                                   which only policies signed by one of them are accepted */
    time_t test_time;           /* TEST ONLY: evidence verification time; 0 = the clock */
    unsigned workers;           /* 0 = the HTTP core's default */
    FILE *access_log;           /* NULL = off */
} cloak_attest_service_config;

typedef struct cloak_attest_service cloak_attest_service;

/* Load or create the signing key and certificate, the stored policies, the trust anchors and
 * the collateral, and bind the listening socket. Nothing is served yet. */
cloak_err cloak_attest_service_new(const cloak_attest_service_config *cfg,
                                   cloak_attest_service **out, cloak_error *why) CLOAK_MUST_CHECK;
/* Serve on a dedicated thread / on the calling thread until cloak_attest_service_stop. */
cloak_err cloak_attest_service_start(cloak_attest_service *s, cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_attest_service_run(cloak_attest_service *s, cloak_error *why) CLOAK_MUST_CHECK;
void cloak_attest_service_stop(cloak_attest_service *s);
void cloak_attest_service_free(cloak_attest_service *s);

uint16_t cloak_attest_service_port(const cloak_attest_service *s);
const char *cloak_attest_service_issuer(const cloak_attest_service *s);
/* DATA_DIR/ca.pem when the service created its TLS material, else "". */
const char *cloak_attest_service_ca(const cloak_attest_service *s);

/* Rotate the token signing key of DATA_DIR: a new RSA-2048 key and self-signed certificate
 * become current (signing.key/.pem); the previous one is kept as retired-KID.key/.pem and
 * recorded with its retirement time in retired-keys.json. A service signs with the current
 * key and publishes, besides it, every key retired less than its token lifetime ago, so tokens
 * issued before the rotation verify until they expire. A running service picks up the new key
 * when restarted. Not safe against a concurrent rotation of the same directory. */
cloak_err cloak_attest_rotate_key(const char *data_dir, cloak_error *why) CLOAK_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
