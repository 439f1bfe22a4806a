/* Private to the host side of the simulation backend. */
#ifndef CLOAK_TEE_HOST_INT_H
#define CLOAK_TEE_HOST_INT_H

#include "cloak/enclave.h"
#include "tee/channel.h"

#include <pthread.h>
#include <sys/types.h>

#define ENCLAVE_MAGIC 0x454e434cu /* "ENCL" */

typedef struct {
    uint32_t oid;
    cloak_ocall_fn fn;
    void *ctx;
} ocall_entry;

typedef struct mem_blob {
    struct mem_blob *next;
    char *name;
    uint8_t *data;
    size_t len;
} mem_blob;

struct cloak_enclave {
    uint32_t magic;
    pid_t pid; /* -1 when attached to an enclave another process created */
    int sock;
    ch_ring ring;
    pthread_mutex_t lock;
    unsigned timeout_ms;
    int dead;
    cloak_err dead_rc;
    char dead_msg[CLOAK_ERROR_MAX];
    cloak_image_identity id;
    int memory_locked;
    ocall_entry *ocalls;
    size_t nocalls;
    char *storage_dir;
    mem_blob *blobs;
    int quiet;
};

/* Run a runtime ocall (log, storage) or a registered one; output written to out. */
cloak_err host_dispatch_ocall(cloak_enclave *e, uint32_t oid, const uint8_t *in, size_t in_len,
                              uint8_t *out, size_t out_cap, size_t *out_len, char *msg,
                              size_t msg_cap);
void host_storage_free(cloak_enclave *e);

#endif
