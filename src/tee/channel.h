/*
 * The host<->enclave channel of the simulation backend (private to src/tee).
 *
 * Control: a SOCK_SEQPACKET Unix socket per client. The creating host gets a socketpair; other
 * processes connect to the enclave's attach path. Messages on it: INIT (creator only), READY,
 * ATTACH (carries the ring's memfd with SCM_RIGHTS), ATTACHED. The socket also tells each side
 * that the other died: a hang-up means the peer is gone.
 *
 * Data: one shared-memory ring per client (a memfd the client creates and maps), strictly
 * ping-pong: the host writes a request into `req`, bumps req_seq; the enclave copies it out,
 * runs it (possibly sending ocall messages back and waiting for their answers in `req`), writes
 * the result into `resp`, bumps resp_seq. Waiting is spin-then-futex: spin on the sequence
 * word for a short while, then announce `*_waiting` and FUTEX_WAIT on it; the poster bumps the
 * word and wakes only if the other side announced it sleeps.
 *
 * Hostility: the enclave reads every header field once, bounds it by the ring size it validated
 * at attach (fstat of the memfd), and copies the message into private memory before parsing.
 */
#ifndef CLOAK_TEE_CHANNEL_H
#define CLOAK_TEE_CHANNEL_H

#include "cloak/base.h"
#include "cloak/image.h"
#include "cloak/platform.h"

#include <stdatomic.h>

#define CH_MAGIC 0x52434c43u /* "CLCR" */
#define CH_VERSION 1u
#define CH_HDR_BYTES 4096u
#define CH_MIN_BYTES 4096u
#define CH_MAX_BYTES (1u << 30)

/* Ring header at the start of the memfd; each hot word on its own cache line. */
typedef struct {
    uint32_t magic, version;
    uint64_t cap; /* bytes per direction */
    uint8_t pad0[48];
    _Atomic uint32_t req_seq;
    _Atomic uint32_t enc_waiting;
    _Atomic uint64_t req_len;
    uint8_t pad1[48];
    _Atomic uint32_t resp_seq;
    _Atomic uint32_t host_waiting;
    _Atomic uint64_t resp_len;
    uint8_t pad2[48];
    _Atomic uint32_t closing; /* set by whoever tears the ring down */
} ch_hdr;
_Static_assert(sizeof(ch_hdr) <= CH_HDR_BYTES, "ring header fits its page");

typedef struct {
    ch_hdr *hdr;
    uint8_t *req, *resp; /* shared buffers, cap bytes each */
    uint64_t cap;
    size_t map_len;
} ch_ring;

/* Create (client side) a ring with `cap` bytes per direction; *fd is the memfd to send. */
cloak_err ch_ring_create(uint64_t cap, ch_ring *r, int *fd, cloak_error *why);
/* Map (enclave side) a ring received from a client, validating its size and header. */
cloak_err ch_ring_map(int fd, ch_ring *r, cloak_error *why);
void ch_ring_unmap(ch_ring *r);

/* Publish `len` bytes already written to the request (host) or response (enclave) buffer. */
void ch_post_req(ch_ring *r, uint64_t len);
void ch_post_resp(ch_ring *r, uint64_t len);

/* Wait until the sequence word moves past `seen`. Spins `spin_ns`, then sleeps in futex
 * slices of `slice_ms`, calling `check(ctx)` after each slice; a non-zero result of check
 * aborts the wait and is returned. Returns 0 when the word moved. */
typedef int (*ch_check_fn)(void *ctx);
int ch_wait(_Atomic uint32_t *seq, _Atomic uint32_t *waiting, uint32_t seen, uint64_t spin_ns,
            unsigned slice_ms, ch_check_fn check, void *ctx);
void ch_wake(_Atomic uint32_t *seq);

/* Ring message types. Layouts (little-endian):
 *  host->enclave
 *   CALL       u32 type | u32 fid | u64 out_cap | u64 in_len | in
 *   BATCH      u32 type | u32 n | n x (u32 fid | u32 pad | u64 out_cap | u64 in_len | in)
 *   OCALL_RET  u32 type | u32 rc | u64 len | bytes (output, or an error message when rc != 0)
 *  enclave->host
 *   RESULT     u32 type | u32 rc | u64 len | bytes (output, or an error message when rc != 0)
 *   BATCH_RES  u32 type | u32 n | n x (u32 rc | u32 pad | u64 len | bytes)
 *   OCALL      u32 type | u32 oid | u64 out_cap | u64 in_len | in
 */
enum {
    RMSG_CALL = 1,
    RMSG_BATCH = 2,
    RMSG_OCALL_RET = 3,
    RMSG_RESULT = 4,
    RMSG_BATCH_RES = 5,
    RMSG_OCALL = 6
};
#define RMSG_HDR_BYTES 24u /* type, fid/rc/n, out_cap/len, in_len */

/* Runtime function ids (>= CLOAK_FID_RESERVED). */
#define FID_GET_QUOTE 0xFFFF0001u
/* Runtime ocall ids. */
#define OID_LOG 0xFFFF0001u
#define OID_STORAGE_PUT 0xFFFF0002u
#define OID_STORAGE_GET 0xFFFF0003u

/* Control messages (SOCK_SEQPACKET, one message each). */
enum { CTL_INIT = 1, CTL_READY = 2, CTL_ATTACH = 3, CTL_ATTACHED = 4 };

#define CTL_PATH_MAX 1024
typedef struct {
    uint32_t type; /* CTL_INIT */
    uint32_t flags;
    uint8_t has_config_id;
    uint8_t has_expected_signer;
    uint8_t quiet;
    uint8_t pad;
    uint16_t config_svn;
    uint16_t pad2;
    uint8_t config_id[CLOAK_CONFIGID_BYTES];
    uint8_t expected_signer[CLOAK_SIGNER_BYTES];
    char platform_dir[CTL_PATH_MAX]; /* "" = default */
    char attach_path[CTL_PATH_MAX];  /* "" = none */
} ctl_init;

typedef struct {
    uint32_t type; /* CTL_READY */
    uint32_t rc;   /* cloak_err of the start-up */
    int32_t pid;
    uint32_t memory_locked;
    uint8_t mrenclave[32], mrsigner[32];
    uint16_t product_id, svn;
    uint32_t debug;
    uint64_t heap;
    char msg[CLOAK_ERROR_MAX];
} ctl_ready;

typedef struct {
    uint32_t type; /* CTL_ATTACH or CTL_ATTACHED */
    uint32_t rc;
    uint64_t cap;
    char msg[256];
} ctl_attach;

/* Send/receive one control message, optionally with one descriptor. recv returns the byte
 * count (0 on hang-up), -1 on error; *fd is -1 when none came. */
int ctl_send(int sock, const void *msg, size_t len, int fd);
long ctl_recv(int sock, void *msg, size_t cap, int *fd, int timeout_ms);

#endif
