/*
 * The SKR example's host side (see skr_host.h): the enclave handle, its evidence, the
 * attestation request, the vault release and the hand-over of the release to the enclave.
 *
 * Trust: this process is untrusted for key material. It relays evidence, tokens and the
 * release JWS, and receives only the plaintext. Errors name the step that failed and keep the
 * service's own message (e.g. "HTTP 403 Forbidden (PolicyNotSatisfied): ...").
 */
#include "skr_host.h"

#include "cloak/attest.h"
#include "cloak/enclave.h"
#include "cloak/vault.h"
#include "skr_u.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define RUNTIME_CAP 4096
#define QUOTE_CAP (64u << 10)
#define PT_CAP (64u << 10)

struct cloak_skrx {
    cloak_enclave *e;
    cloak_image_identity id;
};

const char *cloak_skrx_default_image(void)
{
    return CLOAK_SKRX_IMAGE;
}

const char *cloak_skrx_debug_image(void)
{
    return CLOAK_SKRX_DEBUG_IMAGE;
}

cloak_err cloak_skrx_new(const char *image, const char *platform_dir, cloak_skrx **out,
                         cloak_error *why)
{
    cloak_image *img = NULL;
    if (!image) image = CLOAK_SKRX_IMAGE;
    if (cloak_image_open_file(image, &img, why))
        return cloak_error_wrap(why, "the SKR enclave image %s", image);
    int debug = cloak_image_id(img)->debug;
    cloak_image_free(img);
    cloak_skrx *s = calloc(1, sizeof *s);
    if (!s) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    cloak_enclave_opts o = {.flags = CLOAK_ENCLAVE_FLAG_SIMULATION |
                                     (debug ? CLOAK_ENCLAVE_FLAG_DEBUG : 0u),
                            .platform_dir = platform_dir};
    cloak_err rc = cloak_enclave_create(image, &o, &s->e, why);
    if (rc) {
        free(s);
        return cloak_error_wrap(why, "starting the SKR enclave");
    }
    cloak_enclave_identity(s->e, &s->id);
    *out = s;
    return CLOAK_OK;
}

void cloak_skrx_free(cloak_skrx *s)
{
    if (!s) return;
    cloak_enclave_free(s->e);
    free(s);
}

const cloak_image_identity *cloak_skrx_identity(const cloak_skrx *s)
{
    return &s->id;
}

cloak_err cloak_skrx_evidence(cloak_skrx *s, char **runtime, uint8_t **quote, size_t *quote_len,
                              cloak_error *why)
{
    char *rt = malloc(RUNTIME_CAP + 1);
    uint8_t *q = malloc(QUOTE_CAP);
    size_t rl = 0, ql = 0;
    int ret = 0;
    *runtime = NULL;
    *quote = NULL;
    *quote_len = 0;
    if (!rt || !q) {
        free(rt);
        free(q);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    cloak_err rc =
        ecall_skr_evidence(s->e, &ret, (uint8_t *)rt, RUNTIME_CAP, &rl, q, QUOTE_CAP, &ql);
    if (rc || ret) {
        free(rt);
        free(q);
        return cloak_error_set(why, rc ? rc : (cloak_err)ret,
                               "the SKR enclave did not give its evidence (%s)",
                               cloak_err_name(rc ? rc : (cloak_err)ret));
    }
    rt[rl] = 0;
    *runtime = rt;
    *quote = q;
    *quote_len = ql;
    return CLOAK_OK;
}

cloak_err cloak_skrx_attest(cloak_skrx *s, const char *attest_url, const char *attest_ca,
                            char **token, cloak_error *why)
{
    char *rt = NULL;
    uint8_t *q = NULL;
    size_t ql = 0;
    cloak_err rc = cloak_skrx_evidence(s, &rt, &q, &ql, why);
    if (rc) return rc;
    rc = cloak_attest_request(attest_url, attest_ca, CLOAK_TEE_SGX, q, ql, (const uint8_t *)rt,
                              strlen(rt), 1, NULL, token, why);
    if (rc) cloak_error_wrap(why, "attesting the SKR enclave at %s", attest_url);
    free(rt);
    free(q);
    return rc;
}

cloak_err cloak_skrx_open(cloak_skrx *s, const char *jws, const char *release_ca_pem,
                          const char *nonce, const cloak_skrx_ciphertext *c, uint8_t **pt,
                          size_t *pt_len, cloak_error *why)
{
    char msg[CLOAK_ERROR_MAX - 64];
    uint8_t *out = malloc(PT_CAP);
    size_t ol = 0;
    int ret = 0;
    *pt = NULL;
    *pt_len = 0;
    if (!out) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    memset(msg, 0, sizeof msg);
    cloak_err rc = ecall_skr_open(s->e, &ret, jws, release_ca_pem, nonce, c->alg, c->ct, c->ct_len,
                                  c->iv, c->iv_len, c->tag, c->tag_len, c->aad, c->aad_len, out,
                                  PT_CAP, &ol, msg, sizeof msg);
    if (!rc && ret) {
        msg[sizeof msg - 1] = 0;
        rc = cloak_error_set(why, (cloak_err)ret, "the SKR enclave refused the release: %s",
                             msg[0] ? msg : cloak_err_name((cloak_err)ret));
    } else if (rc) {
        cloak_error_set(why, rc, "calling the SKR enclave failed (%s)", cloak_err_name(rc));
    }
    if (rc) {
        cloak_free_secret(out, PT_CAP);
        return rc;
    }
    *pt = out;
    *pt_len = ol;
    return CLOAK_OK;
}

cloak_err cloak_skrx_run(const cloak_skrx_flow *f, uint8_t **pt, size_t *pt_len, cloak_error *why)
{
    cloak_skrx *s = NULL;
    cloak_vault_client *vc = NULL;
    char *token = NULL, *jws = NULL, *ca = NULL, nonce[33];
    uint8_t rnd[16], *cab = NULL;
    size_t cal = 0;
    FILE *p = f->progress;
    cloak_err rc;
    *pt = NULL;
    *pt_len = 0;
    if (!f->release_ca_file || !f->key || !f->token || !f->vault_url || !f->attest_url)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the SKR flow needs the attestation service, "
                               "the vault, its release CA, a token and a key");
    if ((rc = cloak_file_read(f->release_ca_file, &cab, &cal, why)))
        return cloak_error_wrap(why, "the vault's release CA");
    if (!(ca = malloc(cal + 1))) {
        free(cab);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    memcpy(ca, cab, cal);
    ca[cal] = 0;
    free(cab);
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        rc = cloak_error_set(why, CLOAK_EIO, "no randomness for the release nonce");
        goto out;
    }
    cloak_hex_write(nonce, rnd, sizeof rnd);

    if ((rc = cloak_skrx_new(f->image, f->platform_dir, &s, why))) goto out;
    if (p) {
        char *h = cloak_hex_encode(s->id.mrsigner, 16);
        fprintf(p,
                "1. enclave started: product %u, svn %u, %s, mrsigner %s...; it made an "
                "RSA-2048 KEK inside\n",
                s->id.product_id, s->id.svn, s->id.debug ? "DEBUG" : "not debug", h ? h : "?");
        free(h);
    }
    if ((rc = cloak_skrx_attest(s, f->attest_url, f->attest_ca, &token, why))) goto out;
    if (p)
        fprintf(p, "2. attested at %s: token of %zu bytes carries the KEK in x-ms-runtime\n",
                f->attest_url, strlen(token));
    if ((rc = cloak_vault_client_new(f->vault_url, f->vault_ca, f->token, &vc, why))) goto out;
    if ((rc = cloak_vault_key_release(vc, f->key, f->version, token, nonce, f->enc, &jws, why))) {
        cloak_error_wrap(why, "releasing key %s", f->key);
        goto out;
    }
    if (p)
        fprintf(p,
                "3. vault released key %s%s%s (nonce %s): a %zu-byte JWS; the host cannot "
                "open it\n",
                f->key, f->version ? "/" : "", f->version ? f->version : "", nonce, strlen(jws));
    if ((rc = cloak_skrx_open(s, jws, ca, nonce, &f->ct, pt, pt_len, why))) goto out;
    if (p)
        fprintf(p,
                "4. the enclave checked the JWS against %s, unwrapped the key and decrypted "
                "%zu bytes (%s)\n",
                f->release_ca_file, f->ct.ct_len, f->ct.alg ? f->ct.alg : "?");
out:
    cloak_vault_client_free(vc);
    cloak_skrx_free(s);
    free(token);
    free(jws);
    free(ca);
    return rc;
}
