/* The policy store: one MAA policy per attestation type, parsed once, shared by reference
 * with the workers, persisted as the uploaded JWS in DATA_DIR/policies/<type>.jws (atomic
 * write). A type without a stored policy uses MAA's default (maa_default_policy), or, where
 * Microsoft publishes none, cloak's documented fallback (docs/ATTEST-SERVICE.md). */
#include "attest/service.h"

#include "cloak/jose.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

const char *const svc_type_names[SVC_NTYPES] = {"SgxEnclave", "OpenEnclave", "SevSnpVm", "TdxVm"};

/* MAA publishes no default for these types; cloak permits and issues nothing extra (the
 * token still carries every x-ms-* claim of the evidence). */
static const char fallback_policy[] = "version= 1.0;\n"
                                      "authorizationrules{\n"
                                      "\t=> permit();\n"
                                      "};\n"
                                      "issuancerules{\n"
                                      "};\n";

int svc_type_parse(const char *name)
{
    for (int i = 0; i < SVC_NTYPES; i++)
        if (name && !strcmp(name, svc_type_names[i])) return i;
    return -1;
}

static const char *default_text(svc_type t)
{
    const char *d = maa_default_policy(t == SVC_OE ? "SgxEnclave" : svc_type_names[t]);
    return d ? d : fallback_policy;
}

static void policy_free(svc_policy *p)
{
    if (!p) return;
    maa_policy_free(p->parsed);
    json_decref(p->signer);
    free(p->text);
    free(p->jws);
    free(p);
}

/* x-ms-policy-hash = BASE64URL(SHA256(UTF8(BASE64URL(UTF8(policy text))))) (MAA claim-sets). */
static cloak_err policy_hash(const char *text, size_t len, char out[64], cloak_error *why)
{
    uint8_t d[SHA256_DIGEST_LENGTH];
    char *b = cloak_base64url_encode((const uint8_t *)text, len);
    if (!b) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    SHA256((const uint8_t *)b, strlen(b), d);
    free(b);
    char *h = cloak_base64url_encode(d, sizeof d);
    if (!h) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    snprintf(out, 64, "%s", h);
    free(h);
    return CLOAK_OK;
}

cloak_err svc_policy_make(const char *text, size_t len, const char *jws, int is_default,
                          svc_policy **out, cloak_error *why)
{
    cloak_err rc;
    char *b64 = NULL, *payload = NULL;
    json_t *hdr = NULL;
    svc_policy *p = calloc(1, sizeof *p);
    if (!p || !(p->text = malloc(len + 1))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(p->text, text, len);
    p->text[len] = 0;
    p->len = len;
    p->refs = 1;
    p->is_default = is_default;
    if ((rc = maa_policy_parse(text, len, &p->parsed, why))) goto out;
    if ((rc = policy_hash(text, len, p->hash, why))) goto out;
    if (jws) {
        if (!(p->jws = strdup(jws))) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
    } else {
        /* The unsigned policy JWS MAA returns for a policy set without a signature. */
        b64 = cloak_base64url_encode((const uint8_t *)text, len);
        hdr = json_object();
        json_t *body = b64 ? json_pack("{s:s}", "AttestationPolicy", b64) : NULL;
        payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (!hdr || !payload) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = cloak_jws_sign_unsecured(hdr, (const uint8_t *)payload, strlen(payload), &p->jws,
                                           why)))
            goto out;
    }
    *out = p;
    p = NULL;
    rc = CLOAK_OK;
out:
    free(b64);
    free(payload);
    json_decref(hdr);
    policy_free(p);
    return rc;
}

static char *policy_path(const cloak_attest_service *s, svc_type t)
{
    char *p = NULL;
    if (asprintf(&p, "%s/policies/%s.jws", s->data_dir, svc_type_names[t]) < 0) return NULL;
    return p;
}

/* The policy text inside a stored/uploaded unsigned policy JWS. */
cloak_err svc_policy_from_jws(const cloak_attest_service *s, const char *jws, size_t len,
                              int stored, svc_policy **out, cloak_error *why)
{
    cloak_err rc;
    cloak_jws j = {0};
    json_t *body = NULL, *signer = NULL;
    uint8_t *text = NULL;
    size_t tlen = 0;
    const char *b64;
    if ((rc = svc_policy_jws_open(s, jws, len, stored, &j, &signer, why))) goto out;
    body = json_loadb((const char *)j.payload, j.payload_len, 0, NULL);
    if (!json_is_object(body) ||
        !(b64 = json_string_value(json_object_get(body, "AttestationPolicy")))) {
        rc = cloak_error_set(
            why, CLOAK_EINVAL,
            "the policy JWS payload must be {\"AttestationPolicy\": base64url(policy text)}");
        goto out;
    }
    if ((rc = svc_b64_decode_any(b64, &text, &tlen, why))) {
        cloak_error_wrap(why, "AttestationPolicy");
        goto out;
    }
    char *copy = strndup(jws, len);
    if (!copy) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    rc = svc_policy_make((const char *)text, tlen, copy, 0, out, why);
    free(copy);
    if (!rc) {
        (*out)->signer = signer;
        signer = NULL;
    }
out:
    json_decref(signer);
    free(text);
    json_decref(body);
    cloak_jws_clear(&j);
    return rc;
}

cloak_err svc_policies_load(cloak_attest_service *s, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    for (int t = 0; t < SVC_NTYPES && !rc; t++) {
        char *path = policy_path(s, (svc_type)t);
        uint8_t *data = NULL;
        size_t len = 0;
        if (!path) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        if (access(path, F_OK) == 0) {
            if (!(rc = cloak_file_read(path, &data, &len, why)) &&
                (rc = svc_policy_from_jws(s, (const char *)data, len, 1, &s->policy[t], why)))
                cloak_error_wrap(why, "stored policy %s", path);
        } else {
            const char *d = default_text((svc_type)t);
            rc = svc_policy_make(d, strlen(d), NULL, 1, &s->policy[t], why);
        }
        free(data);
        free(path);
    }
    return rc;
}

void svc_policies_free(cloak_attest_service *s)
{
    for (int t = 0; t < SVC_NTYPES; t++) {
        policy_free(s->policy[t]);
        s->policy[t] = NULL;
    }
}

svc_policy *svc_policy_get(cloak_attest_service *s, svc_type t)
{
    pthread_mutex_lock(&s->lock);
    svc_policy *p = s->policy[t];
    p->refs++;
    pthread_mutex_unlock(&s->lock);
    return p;
}

void svc_policy_put(cloak_attest_service *s, svc_policy *p)
{
    if (!p) return;
    pthread_mutex_lock(&s->lock);
    int last = --p->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (last) policy_free(p);
}

/* Persist first, then swap: a failed write leaves the old policy in force and on disk. */
cloak_err svc_policy_set(cloak_attest_service *s, svc_type t, svc_policy *p, cloak_error *why)
{
    cloak_err rc;
    char *dir = NULL, *path = policy_path(s, t);
    svc_policy *np = p;
    if (!path || asprintf(&dir, "%s/policies", s->data_dir) < 0) {
        dir = NULL;
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (p) {
        if ((rc = cloak_mkdirs(dir, 0700, why)) ||
            (rc = cloak_file_write(path, (const uint8_t *)p->jws, strlen(p->jws), 0600, why)))
            goto out;
    } else {
        const char *d = default_text(t);
        if ((rc = svc_policy_make(d, strlen(d), NULL, 1, &np, why))) goto out;
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = cloak_error_set(why, CLOAK_EIO, "cannot remove %s: %s", path, strerror(errno));
            svc_policy_put(s, np);
            goto out;
        }
    }
    pthread_mutex_lock(&s->lock);
    svc_policy *old = s->policy[t];
    s->policy[t] = np;
    pthread_mutex_unlock(&s->lock);
    svc_policy_put(s, old);
    rc = CLOAK_OK;
out:
    free(dir);
    free(path);
    return rc;
}
