/*
 * cloak attest: the relying-party and client side of an MAA-compatible attestation service
 * (`cloak attest serve`, or Microsoft Azure Attestation itself).
 *
 *  - A relying party (cloak_attest_rp) verifies attestation tokens: a JWT signed by one of a
 *    configured set of trusted issuers. It fetches each issuer's OpenID metadata
 *    ({iss}/.well-known/openid-configuration) and the JWKS at its jwks_uri, caches both, and
 *    checks the token's alg against an allow-list (RS256 only by default), its kid against the
 *    cached JWKS, its signature, its iss, and exp/nbf/iat with a clock-skew slack. The vault and
 *    the clean room use this.
 *  - A client (cloak_attest_request) sends evidence to the service's
 *    POST /attest/{SgxEnclave|TdxVm|SevSnpVm} and returns the token.
 *
 * Trust: the token is untrusted input, and so is its header. The issuer's keys are trusted
 * because they were fetched over HTTPS from a configured issuer URL (server certificate verified
 * against ca_file, or the system roots), and jwks_uri must be under the same origin as the
 * issuer: a metadata document cannot send the relying party to another host. The key material
 * is taken from n/e (or x/y) when present, else from the x5c[0] certificate; when both are
 * present they must be the same key. The x5c chain itself is not validated against a root (MAA
 * signs with self-issued certificates; the HTTPS fetch is the anchor). An issuer is only ever
 * contacted if it is in the trusted list: an iss from an unverified token never causes a fetch.
 *
 * Thread-safety: a cloak_attest_rp may be shared by threads once created; a mutex guards its
 * cache (fetches run under it, so concurrent verifiers that miss the cache wait for one fetch
 * instead of each starting their own). cloak_attest_request is reentrant.
 */
#ifndef CLOAK_ATTEST_H
#define CLOAK_ATTEST_H

#include "cloak/base.h"
#include "cloak/evidence.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_ATTEST_SLACK_DEFAULT 60u            /* seconds of clock skew for exp/nbf/iat */
#define CLOAK_ATTEST_SLACK_NONE UINT_MAX          /* slack_seconds value for "no slack at all" */
#define CLOAK_ATTEST_CACHE_TTL_DEFAULT 3600u      /* seconds metadata and JWKS are reused */
#define CLOAK_ATTEST_REFRESH_INTERVAL_DEFAULT 60u /* min seconds between unknown-kid refetches */
#define CLOAK_ATTEST_MAX_ISSUERS 16
#define CLOAK_ATTEST_MAX_TOKEN (256u << 10)   /* larger tokens are refused unparsed */
#define CLOAK_ATTEST_API_VERSION "2022-08-01" /* sent by cloak_attest_request */

typedef struct cloak_attest_rp cloak_attest_rp;

/* Zero-initialise, then set what you need; every zero field has a safe default. */
typedef struct {
    const char *const *issuers; /* NULL-terminated https:// issuer URLs (a trailing '/' is
                                   ignored); at least one, at most CLOAK_ATTEST_MAX_ISSUERS */
    const char *ca_file;        /* CA bundle for reaching the issuers; NULL = system roots */
    unsigned algs;              /* CLOAK_JWS_ALLOW(...) bits; 0 = RS256 only */
    unsigned slack_seconds;     /* 0 = CLOAK_ATTEST_SLACK_DEFAULT; CLOAK_ATTEST_SLACK_NONE = 0 s */
    unsigned cache_ttl_seconds; /* 0 = CLOAK_ATTEST_CACHE_TTL_DEFAULT */
    unsigned refresh_interval_seconds; /* 0 = CLOAK_ATTEST_REFRESH_INTERVAL_DEFAULT: a token with
                                    a kid not in the cached JWKS triggers at most one refetch per
                                    issuer per interval */
} cloak_attest_rp_config;

/* Check the configuration and create a relying party. Nothing is fetched yet. */
cloak_err cloak_attest_rp_new(const cloak_attest_rp_config *cfg, cloak_attest_rp **out,
                              cloak_error *why) CLOAK_MUST_CHECK;
/* NULL is fine. */
void cloak_attest_rp_free(cloak_attest_rp *rp);

/* Verify a token at time `now` (the caller's clock; tests and audits pass another time).
 * On success *claims is the token's payload (a new reference; json_decref it). Failures, each
 * with its own message:
 *   malformed token, no kid, iss missing                     -> CLOAK_EINVAL
 *   alg "none"; alg not in the allow-list                    -> CLOAK_EPERM
 *   iss not a trusted issuer                                 -> CLOAK_EPERM
 *   metadata or JWKS fetch failed (URL and HTTP status or the
 *   transport error)                                         -> CLOAK_EIO
 *   jwks_uri outside the issuer's origin; metadata naming
 *   another issuer                                           -> CLOAK_EPERM
 *   the kid's JWK unusable (x5c[0] holds another key, RSA
 *   under 2048 bits, ...) or not fitting the alg             -> CLOAK_EINVAL
 *   kid not in the issuer's JWKS (after at most one refetch) -> CLOAK_ENOTFOUND
 *   bad signature; expired; not yet valid                    -> CLOAK_EVERIFY
 * A token without "exp" is refused: attestation tokens are bearer credentials and must expire. */
cloak_err cloak_attest_rp_verify(cloak_attest_rp *rp, const char *token, size_t len, time_t now,
                                 json_t **claims, cloak_error *why) CLOAK_MUST_CHECK;

/* How many HTTP fetches (metadata + JWKS) this relying party has made; for tests and metrics. */
unsigned long cloak_attest_rp_fetch_count(cloak_attest_rp *rp);

/* Ask an attestation service for a token:
 *   POST {service_url}/attest/{SgxEnclave|TdxVm|SevSnpVm}?api-version=CLOAK_ATTEST_API_VERSION
 *   {"quote"|"report": b64url(evidence), "runtimeData": {"data": b64url, "dataType":
 *    "JSON"|"Binary"}, "nonce": nonce}
 * (base64url without padding, as the Azure SDKs send; "report" for SevSnpVm). runtime_data may
 * be NULL; runtime_json says its dataType is "JSON" (it must then be a JSON document). nonce may
 * be NULL. The service is reached over HTTPS verified against ca_file (NULL = system roots).
 * On success *token is a malloc'd NUL-terminated JWT (not verified here: hand it to a relying
 * party). An {"error":{"code","message"}} reply is reported in `why` with the HTTP status:
 *   400 -> CLOAK_EVERIFY (evidence or request refused), 401/403 -> CLOAK_EPERM,
 *   404 -> CLOAK_ENOTFOUND, anything else -> CLOAK_EIO. */
cloak_err cloak_attest_request(const char *service_url, const char *ca_file, cloak_tee_type type,
                               const uint8_t *evidence, size_t len, const uint8_t *runtime_data,
                               size_t rd_len, int runtime_json, const char *nonce, char **token,
                               cloak_error *why) CLOAK_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
