/*
 * Wipe-on-free allocators for the vault server process (see wipe_alloc.h): OpenSSL
 * (CRYPTO_set_mem_functions), jansson (json_set_alloc_funcs) and libevent
 * (event_set_mem_functions) allocate with malloc and free through cloak_wipe_free, which
 * overwrites malloc_usable_size(p) bytes with OPENSSL_cleanse before free(). A realloc that
 * grows a block copies it into a new one and wipes the old; one that shrinks keeps the block
 * (its tail is wiped when it is freed).
 *
 * Trust: glibc's malloc_usable_size (and the sanitizers' interceptors of it) report at least
 * the requested size, so the whole block is cleared. Everything here is process-global and set
 * once, before threads start.
 */
#include "vault/wipe_alloc.h"

#include <event2/event.h>
#include <jansson.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void cloak_wipe_free(void *p)
{
    if (!p) return;
    OPENSSL_cleanse(p, malloc_usable_size(p));
    free(p);
}

void *cloak_wipe_realloc(void *p, size_t n)
{
    if (!p) return malloc(n);
    if (!n) {
        cloak_wipe_free(p);
        return NULL;
    }
    size_t old = malloc_usable_size(p);
    if (n <= old) return p;
    void *q = malloc(n);
    if (!q) return NULL; /* p is untouched, as realloc leaves it */
    memcpy(q, p, old);
    cloak_wipe_free(p);
    return q;
}

static void *ossl_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return malloc(n);
}

static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return cloak_wipe_realloc(p, n);
}

static void ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    cloak_wipe_free(p);
}

cloak_err cloak_vault_wipe_alloc_install(cloak_error *why)
{
    static int installed;
    if (installed) return CLOAK_OK;
    if (CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) != 1) {
        /* already ours (a second call from another path) is fine; anything else is not */
        CRYPTO_malloc_fn m;
        CRYPTO_realloc_fn r;
        CRYPTO_free_fn f;
        CRYPTO_get_mem_functions(&m, &r, &f);
        if (f != ossl_free)
            return cloak_error_set(why, CLOAK_EPERM,
                                   "cannot install the wipe-on-free allocator: OpenSSL has "
                                   "already allocated memory in this process (install it "
                                   "first thing at start-up)");
    }
    json_set_alloc_funcs(malloc, cloak_wipe_free);
    event_set_mem_functions(malloc, cloak_wipe_realloc, cloak_wipe_free);
    installed = 1;
    return CLOAK_OK;
}
