/*
 * cloak jose: the JOSE layer -- base64url (RFC 4648 §5), JSON Web Keys (RFC 7517, 7518 §6),
 * JWK thumbprints (RFC 7638), JWS compact serialization (RFC 7515, 7518 §3, RFC 8812 for
 * ES256K) and JWT claim checks (RFC 7519). Used by the attestation service (MAA-style tokens,
 * JWKS with x5c) and the key vault (Secure Key Release responses, key import/export).
 *
 * Trust: every token, JWK and base64 string given to this API is untrusted input. A JWS header
 * is never trusted to pick an algorithm: the caller passes an allow-list and a key, and the
 * header's "alg" must be in the list and match the key's type and curve. "none" is never
 * accepted by cloak_jws_verify; unsecured JWS exist only through the *_unsecured functions.
 * Nothing reads the wall clock: JWT times are checked against a time the caller passes.
 *
 * Thread-safety: no global state; all functions are reentrant. An EVP_PKEY may be shared by
 * threads for signing and verifying (OpenSSL's rule).
 *
 * Memory: strings and buffers returned through out-parameters are malloc'd (free()); json_t
 * values are new references (json_decref). A private JWK holds secrets: free it with
 * cloak_jwk_free_private, which wipes its members first.
 */
#ifndef CLOAK_JOSE_H
#define CLOAK_JOSE_H

#include "cloak/base.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- base64 ---------------------------------------------------------------------------- */
/* Encoders return a malloc'd NUL-terminated string, or NULL when out of memory.
 * base64url never pads (RFC 7515 §2); standard base64 always pads (x5c, RFC 7517 §4.7). */
char *cloak_base64url_encode(const uint8_t *p, size_t len);
char *cloak_base64_encode(const uint8_t *p, size_t len);
/* Strict decoders: any character outside the alphabet, '=' anywhere but the end, a wrong
 * amount of padding, or non-zero unused bits in the last character is refused, so every
 * byte string has exactly one accepted encoding (besides optional padding for base64url).
 * base64url accepts input with or without padding; standard base64 requires padding.
 * *out is malloc'd (never NULL on success, even for empty input). */
cloak_err cloak_base64url_decode(const char *s, size_t len, uint8_t **out, size_t *out_len,
                                 cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len,
                              cloak_error *why) CLOAK_MUST_CHECK;

/* ---- JWS algorithms (RFC 7518 §3, RFC 8812 §3.2) ---------------------------------------- */
typedef enum {
    CLOAK_JWS_RS256 = 1,
    CLOAK_JWS_RS384,
    CLOAK_JWS_RS512, /* RSASSA-PKCS1-v1_5 */
    CLOAK_JWS_PS256,
    CLOAK_JWS_PS384,
    CLOAK_JWS_PS512, /* RSASSA-PSS, MGF1 same hash, salt = hash length */
    CLOAK_JWS_ES256,
    CLOAK_JWS_ES384,
    CLOAK_JWS_ES512,  /* ECDSA P-256/P-384/P-521, r||s */
    CLOAK_JWS_ES256K, /* ECDSA secp256k1 + SHA-256, r||s */
} cloak_jws_alg;
/* Allow-lists are bit sets: CLOAK_JWS_ALLOW(CLOAK_JWS_RS256) | CLOAK_JWS_ALLOW(CLOAK_JWS_ES256). */
#define CLOAK_JWS_ALLOW(alg) (1u << (unsigned)(alg))
#define CLOAK_JWS_ALLOW_RSA                                                                        \
    (CLOAK_JWS_ALLOW(CLOAK_JWS_RS256) | CLOAK_JWS_ALLOW(CLOAK_JWS_RS384) |                         \
     CLOAK_JWS_ALLOW(CLOAK_JWS_RS512) | CLOAK_JWS_ALLOW(CLOAK_JWS_PS256) |                         \
     CLOAK_JWS_ALLOW(CLOAK_JWS_PS384) | CLOAK_JWS_ALLOW(CLOAK_JWS_PS512))
#define CLOAK_JWS_ALLOW_EC                                                                         \
    (CLOAK_JWS_ALLOW(CLOAK_JWS_ES256) | CLOAK_JWS_ALLOW(CLOAK_JWS_ES384) |                         \
     CLOAK_JWS_ALLOW(CLOAK_JWS_ES512) | CLOAK_JWS_ALLOW(CLOAK_JWS_ES256K))
/* RSA keys for RS* and PS* must have at least this many bits (RFC 7518 §3.3, §3.5). */
#define CLOAK_JWS_RSA_MIN_BITS 2048
#define CLOAK_JWS_RSA_MAX_BITS 16384

/* "RS256" etc.; NULL for a value that is not a cloak_jws_alg. */
const char *cloak_jws_alg_name(cloak_jws_alg alg);
/* The algorithm named `name`, or -1 (also for "none" and HS*, which cloak does not do). */
int cloak_jws_alg_parse(const char *name);
/* The natural algorithm for a key: RS256 for RSA, ES256/384/512/256K by curve; -1 if none. */
int cloak_jws_alg_for_key(EVP_PKEY *key);

/* ---- JWK ------------------------------------------------------------------------------- */
/* Curves by JWK name: "P-256", "P-384", "P-521" (RFC 7518 §6.2.1.1), "secp256k1" (RFC 8812). */
typedef struct {
    const char *kid;     /* NULL: no "kid" member */
    int include_private; /* 1: also export d (and p, q, dp, dq, qi): the JWK is a secret */
    X509 *const *x5c;    /* certificates, leaf first; the leaf must hold `key`'s public key */
    size_t nx5c;
} cloak_jwk_opts;
/* Export an RSA or EC key as a JWK: {"kty","n","e"} or {"kty","crv","x","y"} (coordinates
 * and "d" at the curve's full width, RFC 7518 §6.2.1.2), then "kid" and "x5c" (standard
 * base64 DER) when given. opts may be NULL (public only, no kid). */
cloak_err cloak_jwk_export(EVP_PKEY *key, const cloak_jwk_opts *opts, json_t **out,
                           cloak_error *why) CLOAK_MUST_CHECK;
/* Import the public part of a JWK (private members, if any, are ignored). Checks: kty "RSA"
 * (or Key Vault's "RSA-HSM") with n of 2048..16384 bits and odd, e odd and >= 3; kty "EC" (or
 * "EC-HSM") with a known crv, x and y exactly the coordinate width and the point on the curve
 * (and not the identity). An "x5c" member must be standard base64 DER certificates whose leaf
 * holds the same public key (RFC 7517 §4.7). */
cloak_err cloak_jwk_import_public(const json_t *jwk, EVP_PKEY **out,
                                  cloak_error *why) CLOAK_MUST_CHECK;
/* Import a private JWK: as above plus "d" (EC: exactly the width; RSA: with p, q, dp, dq, qi,
 * no "oth"), and the private key must match the public one (pairwise check). */
cloak_err cloak_jwk_import_private(const json_t *jwk, EVP_PKEY **out,
                                   cloak_error *why) CLOAK_MUST_CHECK;
/* Wipe the private members of a JWK in place, then drop the reference. NULL is fine. */
void cloak_jwk_free_private(json_t *jwk);

/* RFC 7638 thumbprint: base64url(SHA-256(canonical JSON of the required members)). */
#define CLOAK_JWK_THUMBPRINT_LEN 43 /* characters, without the NUL */
cloak_err cloak_jwk_thumbprint(const json_t *jwk, char out[CLOAK_JWK_THUMBPRINT_LEN + 1],
                               cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_jwk_thumbprint_key(EVP_PKEY *key, char out[CLOAK_JWK_THUMBPRINT_LEN + 1],
                                   cloak_error *why) CLOAK_MUST_CHECK;

/* ---- JWS compact serialization ---------------------------------------------------------- */
/* Sign `payload` with `key`: header = {"alg": <alg>} followed by the members of `header`
 * (may be NULL; e.g. kid, jku, x5c, typ). `header` must not carry "alg" (cloak sets it) nor
 * "crit" (cloak understands no extensions). The key must fit the algorithm. *out is a
 * malloc'd NUL-terminated "header.payload.signature". */
cloak_err cloak_jws_sign(EVP_PKEY *key, cloak_jws_alg alg, const json_t *header,
                         const uint8_t *payload, size_t payload_len, char **out,
                         cloak_error *why) CLOAK_MUST_CHECK;

/* A verified (or, for *_unsecured, merely decoded) JWS. */
typedef struct {
    json_t *header;   /* the protected header, a JSON object */
    uint8_t *payload; /* the payload bytes (NUL-terminated for convenience, not counted) */
    size_t payload_len;
    int alg; /* a cloak_jws_alg; 0 for an unsecured JWS */
} cloak_jws;
/* Free and zero the members. */
void cloak_jws_clear(cloak_jws *jws);

/* Verify a compact JWS. In order, each with its own message:
 *   malformed token (which part: header, payload, signature; not base64url; header not a JSON
 *   object; no "alg"; a "crit" header)              -> CLOAK_EINVAL
 *   alg "none"                                       -> CLOAK_EPERM ("unsecured JWS refused")
 *   alg unknown or not in `allowed_algs`             -> CLOAK_EPERM
 *   key type or curve does not fit the alg           -> CLOAK_EINVAL
 *   signature wrong (or wrong length)                -> CLOAK_EVERIFY
 * On success *out holds header and payload; on failure *out is untouched. */
cloak_err cloak_jws_verify(const char *token, size_t len, EVP_PKEY *key, unsigned allowed_algs,
                           cloak_jws *out, cloak_error *why) CLOAK_MUST_CHECK;
/* The header of a compact JWS WITHOUT verifying anything -- only for choosing a key ("kid",
 * "jku", "x5c"). Nothing in it is trusted. The token must be well-formed. */
cloak_err cloak_jws_peek_header(const char *token, size_t len, json_t **out,
                                cloak_error *why) CLOAK_MUST_CHECK;

/* Unsecured JWS (RFC 7515 §A.5, alg "none", empty signature): integrity-free by design. Only
 * for protocols that define it (MAA's unsigned policy documents). */
cloak_err cloak_jws_sign_unsecured(const json_t *header, const uint8_t *payload, size_t payload_len,
                                   char **out, cloak_error *why) CLOAK_MUST_CHECK;
/* Decode a token whose alg is exactly "none" and whose signature is empty; anything else is
 * refused (a signed token must go through cloak_jws_verify). */
cloak_err cloak_jws_decode_unsecured(const char *token, size_t len, cloak_jws *out,
                                     cloak_error *why) CLOAK_MUST_CHECK;

/* ---- JWT claims (RFC 7519 §4.1) --------------------------------------------------------- */
#define CLOAK_JWT_REQUIRE_EXP 0x1u /* a token without "exp" is refused */
/* Check "exp" (now - slack must be before it), "nbf" and "iat" (neither may be after
 * now + slack). Absent claims pass unless required; a present claim that is not a number is
 * refused (CLOAK_EINVAL). Expired or not yet valid -> CLOAK_EVERIFY with the dates. */
cloak_err cloak_jwt_check_time(const json_t *claims, time_t now, unsigned slack_seconds,
                               unsigned flags, cloak_error *why) CLOAK_MUST_CHECK;
/* "iss" must be a string equal to `issuer` (exact, case-sensitive; RFC 7519 §4.1.1). */
cloak_err cloak_jwt_check_issuer(const json_t *claims, const char *issuer,
                                 cloak_error *why) CLOAK_MUST_CHECK;

typedef struct {
    unsigned algs;          /* allow-list, CLOAK_JWS_ALLOW(...) */
    time_t now;             /* verification time */
    unsigned slack_seconds; /* clock skew tolerated for exp/nbf/iat */
    unsigned flags;         /* CLOAK_JWT_REQUIRE_EXP */
    const char *issuer;     /* NULL: "iss" not checked */
} cloak_jwt_opts;
/* cloak_jws_verify, then the payload must be a JSON object, then time and issuer checks.
 * *header (may be NULL) and *claims are set only on success. */
cloak_err cloak_jwt_verify(const char *token, size_t len, EVP_PKEY *key, const cloak_jwt_opts *opts,
                           json_t **header, json_t **claims, cloak_error *why) CLOAK_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
