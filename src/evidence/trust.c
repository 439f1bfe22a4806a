/* Trust anchors: the built-in vendor roots, plus the development root when simulation is allowed. */
#include "evidence/evidence_int.h"

#include "cloak/platform.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

static int load_chain(const char *pem, X509 **first, X509 **second)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (!b) return -1;
    *first = PEM_read_bio_X509(b, NULL, NULL, NULL);
    *second = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return *first && *second ? 0 : -1;
}

void cloak_trust_free(cloak_trust *t)
{
    if (!t || t->magic != TRUST_MAGIC) return;
    X509_free(t->intel_root);
    X509_free(t->sim_root);
    for (int i = 0; i < SNP_NPRODUCTS; i++) {
        X509_free(t->amd_ark[i]);
        X509_free(t->amd_ask[i]);
        X509_free(t->amd_asvk[i]);
    }
    t->magic = 0;
    free(t);
}

cloak_err cloak_trust_new(unsigned flags, const char *platform_dir, cloak_trust **out,
                          cloak_error *why)
{
    cloak_trust *t = calloc(1, sizeof *t);
    cloak_err rc = CLOAK_OK;
    if (!t) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    t->magic = TRUST_MAGIC;
    const uint8_t *p = cloak_intel_sgx_root_der;
    t->intel_root = d2i_X509(NULL, &p, (long)cloak_intel_sgx_root_der_len);
    if (!t->intel_root) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "built-in Intel SGX Root CA does not parse");
        goto out;
    }
    for (int i = 0; i < SNP_NPRODUCTS; i++) {
        X509 *ark2 = NULL;
        if (load_chain(cloak_amd_chain_pem[i], &t->amd_ask[i], &t->amd_ark[i]) ||
            load_chain(cloak_amd_vlek_chain_pem[i], &t->amd_asvk[i], &ark2)) {
            X509_free(ark2);
            rc = cloak_error_set(why, CLOAK_EINTERNAL, "built-in AMD chain %d does not parse", i);
            goto out;
        }
        X509_free(ark2); /* the same ARK as in the VCEK chain */
    }
    if (flags & CLOAK_TRUST_ALLOW_SIM) {
        cloak_platform *plat = NULL;
        rc = cloak_platform_open(platform_dir, &plat, why);
        if (rc) {
            cloak_error_wrap(why, "--allow-sim needs the development platform");
            goto out;
        }
        BIO *b = BIO_new_mem_buf(cloak_platform_root_pem(plat), -1);
        t->sim_root = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        cloak_platform_free(plat);
        if (!t->sim_root) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "the development root certificate does not parse");
            goto out;
        }
    }
    *out = t;
    t = NULL;
out:
    cloak_trust_free(t);
    return rc;
}
