/* Private helpers of the attestation relying party and client (src/attest/rp*.c). */
#ifndef CLOAK_ATTEST_RP_INT_H
#define CLOAK_ATTEST_RP_INT_H

#include "cloak/base.h"

#include <stddef.h>

/* "https://host[:port][/path]" with trailing '/' removed; *out is malloc'd. Refuses anything
 * that is not https, has no host, carries userinfo ('@' in the authority), a query or a
 * fragment, or control characters. `what` names the URL in messages ("issuer"). */
cloak_err attest_url_normalize(const char *url, const char *what, char **out, cloak_error *why);

/* 1 when both https URLs have the same origin (RFC 6454: scheme, host compared without case,
 * port with 443 as the default); 0 otherwise, also for URLs that do not parse. */
int attest_same_origin(const char *a, const char *b);

#endif
