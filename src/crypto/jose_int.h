/* Private to src/crypto: what the JOSE files share. */
#ifndef CLOAK_JOSE_INT_H
#define CLOAK_JOSE_INT_H

#include "cloak/jose.h"

/* A curve JOSE knows: JWK name, OpenSSL group name, coordinate (and scalar) width. */
typedef struct {
    const char *jwk_name;
    const char *group;
    size_t width;
} jose_curve;

/* The curve of an EC key, or NULL (not EC, or a curve JOSE has no name for). */
const jose_curve *jose_curve_of(EVP_PKEY *key);

/* base64url of a JWS part: no padding allowed (RFC 7515 §2), strict otherwise. `what` names
 * the part in the message. */
cloak_err jose_b64url_decode_part(const char *s, size_t len, const char *what, uint8_t **out,
                                  size_t *out_len, cloak_error *why);

/* Key size in bits of an RSA key; 0 if not RSA (EVP_PKEY_RSA only, not RSA-PSS). */
int jose_rsa_bits(EVP_PKEY *key);

#endif
