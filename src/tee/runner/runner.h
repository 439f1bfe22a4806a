/* The enclave process (trusted side of the simulation backend). Private to src/tee/runner. */
#ifndef CLOAK_TEE_RUNNER_H
#define CLOAK_TEE_RUNNER_H

#include "cloak/trusted.h"
#include "cloak/enclave.h"
#include "tee/channel.h"

#include <pthread.h>

/* State of this enclave, fixed once start-up is done (read-only afterwards). */
typedef struct {
    cloak_image_identity id;
    cloak_platform *platform;
    uint8_t config_id[CLOAK_CONFIGID_BYTES];
    uint16_t config_svn;
    int has_config_id;
    int allow_host_report_data;
    int memory_locked;
} runner_state;

extern runner_state g_runner;

/* After cloak_enclave_init: the handler table becomes read-only. */
void runner_seal_registrations(void);

/* Look up an ecall handler (NULL when none). */
cloak_ecall_fn runner_handler(uint32_t fid);

/* Serve one client ring until it closes; runs on its own thread. */
typedef struct worker {
    ch_ring ring;
    pthread_t thread;
    int sock;
    _Atomic int stop;
    uint32_t seen; /* req_seq before the client's first request (read before serving) */
    uint8_t *req;  /* private copy of the current request (ring.cap bytes) */
    uint8_t *resp; /* private response being built (ring.cap bytes) */
    void *stack;   /* the serving thread's stack */
    int active;
} worker;
void *runner_serve(void *arg);
/* Handle the request of n bytes in w->req, building the response in w->resp; returns its
 * length. Never reads outside w->req[0, n) or writes outside w->resp[0, ring.cap). */
size_t runner_handle(worker *w, size_t n);

/* Sandbox: descriptors, dumpability, core dumps, memory lock, seccomp. Returns 0 or -1. */
int sandbox_early(void); /* first thing: not dumpable, no core dumps */
int sandbox_enter(int keep1, int keep2, uint64_t heap, int *memory_locked, char *msg,
                  size_t msg_cap);

/* Memory for the runtime itself (ring copies, thread stacks): shared anonymous mappings, which
 * RLIMIT_DATA does not count, so the enclave's heap limit bounds only the enclave's own use. */
void *runtime_alloc(size_t n);
void runtime_free(void *p, size_t n); /* wipes, then unmaps */
#define RUNNER_STACK_BYTES (1u << 20)

/* Warm up OpenSSL paths used after the sandbox closes (KDF, AEAD, ECDSA). */
int runner_warm_up(void);

/* Send an ocall on the calling thread's ring and wait for its answer. */
cloak_err runner_ocall(uint32_t oid, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
                       size_t *out_len);
/* The message set by cloak_trusted_fail for the current call (thread-local). */
char *runner_fail_msg(void);
#endif
