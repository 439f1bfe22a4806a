/* Private to the attestation service (service*.c): the service object, the signing key, the
 * policy store and the claim mapping. */
#ifndef CLOAK_ATTEST_SERVICE_INT_H
#define CLOAK_ATTEST_SERVICE_INT_H

#include "cloak/attest_service.h"
#include "cloak/evidence.h"
#include "cloak/http.h"
#include "cloak/jose.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>

#include "attest/maa_policy.h"

/* The attestation types with a policy, in route order. */
typedef enum { SVC_SGX = 0, SVC_OE, SVC_SNP, SVC_TDX, SVC_NTYPES } svc_type;
extern const char *const svc_type_names[SVC_NTYPES]; /* "SgxEnclave", ... */
int svc_type_parse(const char *name);                /* -1 if unknown */

/* One policy, shared by reference between the loop and workers. */
typedef struct {
    int refs;   /* under svc->lock */
    char *text; /* the policy text (NUL-terminated) */
    size_t len;
    maa_policy *parsed;
    char *jws;     /* the stored policy JWS (as uploaded, or synthesised for a default) */
    char hash[64]; /* x-ms-policy-hash */
    int is_default;
    json_t *signer; /* x-ms-policy-signer: the signing certificate's JWK, or NULL */
} svc_policy;

struct cloak_attest_service {
    cloak_http_server *http;
    char *data_dir;
    char *issuer;
    char *jku;
    char ca[4096];
    unsigned token_ttl;
    time_t test_time;
    cloak_trust *trust;
    /* collateral index: (tee, fmspc) -> loaded collateral */
    struct svc_coll {
        int tdx;
        char fmspc[13];
        cloak_collateral *c;
    } * coll;
    size_t ncoll;
    /* signing */
    EVP_PKEY *key;
    X509 *cert;
    char kid[64];
    json_t *jwks;
    /* isolated mode: the registered policy signing certificates (none = default mode) */
    X509 **signers;
    size_t nsigners;
    /* policies */
    pthread_mutex_t lock;       /* policy pointers and reference counts */
    pthread_mutex_t write_lock; /* serialises policy updates (file, then swap) */
    svc_policy *policy[SVC_NTYPES];
};

/* service.c: the collateral loaded for this (tee, FMSPC), or NULL. */
const cloak_collateral *svc_collateral_for(const cloak_attest_service *s, int tdx,
                                           const char *fmspc);

/* service_keys.c */
cloak_err svc_keys_load(cloak_attest_service *s, cloak_error *why) CLOAK_MUST_CHECK;
void svc_keys_free(cloak_attest_service *s);
/* Sign `claims` as a JWT with iat/nbf/exp/jti/iss added (unsecured, alg "none", when
 * `unsecured`: MAA's answer to an attestation with a draft policy). *out malloc'd. */
cloak_err svc_sign_token(const cloak_attest_service *s, json_t *claims, int unsecured, char **out,
                         cloak_error *why) CLOAK_MUST_CHECK;

/* service_policy.c */
cloak_err svc_policies_load(cloak_attest_service *s, cloak_error *why) CLOAK_MUST_CHECK;
void svc_policies_free(cloak_attest_service *s);
svc_policy *svc_policy_get(cloak_attest_service *s, svc_type t); /* a reference */
void svc_policy_put(cloak_attest_service *s, svc_policy *p);
/* Parse text into a policy object (jws may be NULL: an unsigned JWS is synthesised). */
cloak_err svc_policy_make(const char *text, size_t len, const char *jws, int is_default,
                          svc_policy **out, cloak_error *why) CLOAK_MUST_CHECK;
/* Open a policy JWS under the service's signer rules (service_signers.c) and parse its
 * {"AttestationPolicy": base64url(text)}. A signer refusal is CLOAK_EPERM. */
cloak_err svc_policy_from_jws(const cloak_attest_service *s, const char *jws, size_t len,
                              int stored, svc_policy **out, cloak_error *why) CLOAK_MUST_CHECK;
/* Persist (or with p == NULL, remove) and swap in; on success the service owns p. */
cloak_err svc_policy_set(cloak_attest_service *s, svc_type t, svc_policy *p,
                         cloak_error *why) CLOAK_MUST_CHECK;

/* service_signers.c */
cloak_err svc_signers_load(cloak_attest_service *s, const char *pem_path,
                           cloak_error *why) CLOAK_MUST_CHECK;
void svc_signers_free(cloak_attest_service *s);
json_t *svc_signers_jwks(const cloak_attest_service *s); /* array of JWK + x5c */
/* Load DATA_DIR/policy-signers.pem, or (first start) initial_pem and save it there. */
cloak_err svc_signers_init(cloak_attest_service *s, const char *initial_pem,
                           cloak_error *why) CLOAK_MUST_CHECK;
/* /certificates:add (add = 1) or :remove with the request body; the caller holds write_lock.
 * *result = {"x-ms-certificate-thumbprint", "x-ms-policycertificates-result"}. */
cloak_err svc_signers_change(cloak_attest_service *s, int add, const char *body, json_t **result,
                             cloak_error *why) CLOAK_MUST_CHECK;
/* Unsigned: only outside isolated mode. Signed: verified under its x5c leaf, which in isolated
 * mode must be a registered signer. `stored` (a policy re-read from DATA_DIR, checked when it
 * was uploaded): the isolated-mode rules are not applied again, so removing a signer or
 * turning isolated mode on never stops the service from starting. *signer (may be NULL) gets
 * the signer's JWK or NULL. */
cloak_err svc_policy_jws_open(const cloak_attest_service *s, const char *jws, size_t len,
                              int stored, cloak_jws *out, json_t **signer,
                              cloak_error *why) CLOAK_MUST_CHECK;

/* service_claims.c: the incoming claims (MAA names) for verified evidence. */
typedef struct {
    const uint8_t *runtime;
    size_t runtime_len;
    int runtime_json;
    const uint8_t *inittime;
    size_t inittime_len;
    int inittime_json;
} svc_bound_data;
/* Check the binding rules; a mismatch is CLOAK_EVERIFY with a message naming the field. */
cloak_err svc_check_binding(svc_type t, const json_t *claims, const svc_bound_data *d,
                            cloak_error *why) CLOAK_MUST_CHECK;
/* Incoming claims as the policy sees them: a JSON array of {type, value, issuer}. And the
 * token's own x-ms-* / tdx_* members (object). */
cloak_err svc_map_claims(svc_type t, const json_t *claims, const svc_bound_data *d,
                         const char *policy_hash, json_t **incoming, json_t **token_claims,
                         cloak_error *why) CLOAK_MUST_CHECK;
/* Decode base64url or standard base64 (padded or not). */
cloak_err svc_b64_decode_any(const char *s, uint8_t **out, size_t *out_len,
                             cloak_error *why) CLOAK_MUST_CHECK;

/* service_routes.c */
extern const cloak_http_route svc_routes[];
extern const size_t svc_nroutes;

#endif
