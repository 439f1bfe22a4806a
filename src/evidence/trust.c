/* Trust anchors: the built-in vendor roots, plus the development root when simulation is allowed.
 * Also the trust's verification cache (chains, and the QE memo on them; see evidence_int.h): it
 * holds only results that verified, found by comparing every byte the result depends on. */
#include "evidence/evidence_int.h"

#include "cloak/platform.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/sha.h>

static int load_chain(const char *pem, X509 **first, X509 **second)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (!b) return -1;
    *first = PEM_read_bio_X509(b, NULL, NULL, NULL);
    *second = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return *first && *second ? 0 : -1;
}

static void entry_clear(ev_chain_entry *e)
{
    X509_free(e->leaf);
    X509_free(e->ca);
    X509_free(e->root);
    EVP_PKEY_free(e->att);
    free(e->bytes);
    memset(e, 0, sizeof *e);
}

/* The entry holding exactly these chain bytes, or NULL. Called with cache_lock held. */
static ev_chain_entry *find(cloak_trust *m, const uint8_t *bytes, size_t len)
{
    for (int i = 0; i < EV_CHAIN_CACHE; i++) {
        ev_chain_entry *e = &m->chain_cache[i];
        if (e->leaf && e->len == len && !memcmp(e->bytes, bytes, len)) return e;
    }
    return NULL;
}

int ev_chain_cache_get(const cloak_trust *t, const uint8_t *bytes, size_t len, X509 **leaf,
                       X509 **ca, X509 **root, void *aux, size_t aux_len)
{
    int hit = 0;
    cloak_trust *m = (cloak_trust *)t; /* only the cache changes */
    pthread_mutex_lock(&m->cache_lock);
    ev_chain_entry *e = find(m, bytes, len);
    if (e && e->aux_len == aux_len && X509_up_ref(e->leaf) && X509_up_ref(e->ca) &&
        X509_up_ref(e->root)) {
        *leaf = e->leaf;
        *ca = e->ca;
        *root = e->root;
        memcpy(aux, e->aux, aux_len);
        hit = 1;
    }
    pthread_mutex_unlock(&m->cache_lock);
    return hit;
}

void ev_chain_cache_put(const cloak_trust *t, const uint8_t *bytes, size_t len, X509 *leaf,
                        X509 *ca, X509 *root, const void *aux, size_t aux_len)
{
    if (aux_len > EV_CHAIN_AUX_BYTES) return;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return; /* no cache entry: the next call verifies everything again */
    memcpy(copy, bytes, len);
    cloak_trust *m = (cloak_trust *)t;
    pthread_mutex_lock(&m->cache_lock);
    if (find(m, bytes, len)) goto out;
    ev_chain_entry *e = &m->chain_cache[m->chain_next++ % EV_CHAIN_CACHE];
    entry_clear(e);
    if (X509_up_ref(leaf) && X509_up_ref(ca) && X509_up_ref(root)) {
        e->bytes = copy;
        e->len = len;
        copy = NULL;
        e->leaf = leaf;
        e->ca = ca;
        e->root = root;
        memcpy(e->aux, aux, aux_len);
        e->aux_len = aux_len;
    }
out:
    pthread_mutex_unlock(&m->cache_lock);
    free(copy);
}

int ev_qe_memo_get(const cloak_trust *t, const uint8_t *bytes, size_t len,
                   const uint8_t qe[EV_QE_BYTES], EVP_PKEY **att)
{
    int hit = 0;
    cloak_trust *m = (cloak_trust *)t;
    pthread_mutex_lock(&m->cache_lock);
    ev_chain_entry *e = find(m, bytes, len);
    if (e && e->att && !memcmp(e->qe, qe, EV_QE_BYTES) && EVP_PKEY_up_ref(e->att)) {
        *att = e->att;
        hit = 1;
    }
    pthread_mutex_unlock(&m->cache_lock);
    return hit;
}

void ev_qe_memo_put(const cloak_trust *t, const uint8_t *bytes, size_t len,
                    const uint8_t qe[EV_QE_BYTES], EVP_PKEY *att)
{
    cloak_trust *m = (cloak_trust *)t;
    pthread_mutex_lock(&m->cache_lock);
    ev_chain_entry *e = find(m, bytes, len);
    if (e && EVP_PKEY_up_ref(att)) {
        EVP_PKEY_free(e->att);
        memcpy(e->qe, qe, EV_QE_BYTES);
        e->att = att;
    }
    pthread_mutex_unlock(&m->cache_lock);
}

void cloak_trust_free(cloak_trust *t)
{
    if (!t || t->magic != TRUST_MAGIC) return;
    for (int i = 0; i < EV_CHAIN_CACHE; i++)
        entry_clear(&t->chain_cache[i]);
    pthread_mutex_destroy(&t->cache_lock);
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
    pthread_mutex_init(&t->cache_lock, NULL);
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
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "the development root certificate does not parse");
            goto out;
        }
    }
    *out = t;
    t = NULL;
out:
    cloak_trust_free(t);
    return rc;
}
