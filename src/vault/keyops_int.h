/*
 * Private to the vault keyops host side (src/vault/keyops*.c): one enclave call on a free lane,
 * and a small copy helper.
 *
 * Trust: as keyops.h. Thread-safety: ko_call may be called from any thread.
 */
#ifndef CLOAK_VAULT_KEYOPS_INT_H
#define CLOAK_VAULT_KEYOPS_INT_H

#include "vault/keyops.h"

/* Call enclave function `fid` on a free lane (waiting for one). scrub = 1: afterwards overwrite
 * the lane's request area with as many zero bytes (the request carried a private key). */
cloak_err ko_call(cloak_vault_keyops *ko, uint32_t fid, const uint8_t *in, size_t in_len,
                  uint8_t *out, size_t out_cap, size_t *out_len, int scrub,
                  cloak_error *why) CLOAK_MUST_CHECK;

/* malloc'd copy of len bytes (at least 1 byte allocated); NULL when out of memory. */
uint8_t *ko_dup(const uint8_t *p, size_t len);

#endif
