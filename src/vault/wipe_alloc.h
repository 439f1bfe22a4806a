/*
 * Wipe-on-free allocators for the vault server process (`cloak vault serve`).
 *
 * An imported private key arrives in a request body: it passes through OpenSSL's TLS record
 * buffers, libevent's evbuffers and jansson's parser before the host hands it to the vault
 * enclave. Those libraries free their buffers without clearing them, so copies of the key
 * would stay in freed heap memory until reused. Installed at start-up, these allocators make
 * every free (and every realloc that moves a block) of OpenSSL, jansson and libevent overwrite
 * the whole usable size of the block first (OPENSSL_cleanse), so no copy outlives the request.
 *
 * Trust: covers memory those three libraries allocate; cloak's own code wipes its secret
 * buffers explicitly (cloak_free_secret). It does not clear stacks or kernel socket buffers.
 * Cost: one memset of each freed block (measured in docs/VAULT-KEYOPS.md, "Custody test").
 */
#ifndef CLOAK_VAULT_WIPE_ALLOC_H
#define CLOAK_VAULT_WIPE_ALLOC_H

#include "cloak/base.h"

/* Install the allocators. Must run before OpenSSL, jansson or libevent allocate anything
 * (first thing in the process): CLOAK_EPERM when OpenSSL has already allocated and refuses
 * the change. Idempotent. */
cloak_err cloak_vault_wipe_alloc_install(cloak_error *why) CLOAK_MUST_CHECK;

/* The wiping free and realloc (exposed for tests): free clears malloc_usable_size(p) bytes
 * first; realloc to a larger size copies, then clears and frees the old block. */
void cloak_wipe_free(void *p);
void *cloak_wipe_realloc(void *p, size_t n);

#endif
