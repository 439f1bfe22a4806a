/* Private to the vault client (client.c, client_crypto.c): the client object and the request
 * helpers both files use. Trust assumptions are those of include/cloak/vault.h. */
#ifndef CLOAK_VAULT_CLIENT_INT_H
#define CLOAK_VAULT_CLIENT_INT_H

#include "cloak/http.h"
#include "cloak/vault.h"

#include <jansson.h>

struct cloak_vault_client {
    cloak_http_client *http;
    char *url;  /* base URL, no trailing '/' */
    char *auth; /* "Authorization: Bearer <token>": a secret */
    size_t auth_len;
    cloak_vault_status last;
};

/* Request flags. */
#define VC_SECRET_REPLY 0x1u /* the answer carries plaintext: wipe it after parsing */

/* One call to `path` (below the vault URL; api-version appended). body: serialised, sent, and
 * the serialisation wiped afterwards. On 2xx *out (may be NULL) is the parsed answer (NULL
 * when empty); non-2xx becomes the mapped error. */
cloak_err vc_call(cloak_vault_client *c, const char *method, const char *path, const json_t *body,
                  unsigned flags, json_t **out, cloak_error *why);
/* Same for an absolute URL (a nextLink; already checked to be below the vault URL). */
cloak_err vc_call_url(cloak_vault_client *c, const char *method, const char *url,
                      const json_t *body, unsigned flags, json_t **out, cloak_error *why);
/* Key names and versions: 1-127 letters, digits, dashes (what the vault accepts; it also keeps
 * caller text out of the request path). */
cloak_err vc_check_name(const char *what, const char *s, cloak_error *why);
/* Wipe every string in `j` (recursively) in place, then drop the reference. */
void vc_json_wipe_decref(json_t *j);

#endif
