/* Shared-memory ring and control socket of the simulation backend; see channel.h. */
#include "tee/channel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

cloak_err ch_ring_create(uint64_t cap, ch_ring *r, int *fd_out, cloak_error *why)
{
    if (cap < CH_MIN_BYTES || cap > CH_MAX_BYTES)
        return cloak_error_set(why, CLOAK_EINVAL, "channel size %llu is outside [%u, %u] bytes",
                               (unsigned long long)cap, CH_MIN_BYTES, CH_MAX_BYTES);
    cap = (cap + 4095) & ~4095ull;
    size_t len = CH_HDR_BYTES + 2 * cap;
    int fd = memfd_create("cloak-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return cloak_error_set(why, CLOAK_EIO, "memfd_create failed: %s", strerror(errno));
    if (ftruncate(fd, (off_t)len) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(fd);
        return cloak_error_set(why, CLOAK_EIO, "cannot size the channel memfd: %s", strerror(e));
    }
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        int e = errno;
        close(fd);
        return cloak_error_set(why, CLOAK_EIO, "cannot map the channel: %s", strerror(e));
    }
    memset(r, 0, sizeof *r);
    r->hdr = m;
    r->hdr->magic = CH_MAGIC;
    r->hdr->version = CH_VERSION;
    r->hdr->cap = cap;
    r->cap = cap;
    r->req = (uint8_t *)m + CH_HDR_BYTES;
    r->resp = r->req + cap;
    r->map_len = len;
    *fd_out = fd;
    return CLOAK_OK;
}

cloak_err ch_ring_map(int fd, ch_ring *r, cloak_error *why)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size < (off_t)(CH_HDR_BYTES + 2 * CH_MIN_BYTES) ||
        st.st_size > (off_t)(CH_HDR_BYTES + 2ull * CH_MAX_BYTES))
        return cloak_error_set(why, CLOAK_EINVAL, "channel memfd has a bad size");
    /* The size is sealed by the client (F_SEAL_SHRINK), so the mapping cannot be cut short
     * under us (which would turn an access into SIGBUS). Refuse an unsealed one. */
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK))
        return cloak_error_set(why, CLOAK_EINVAL, "channel memfd is not sealed against shrinking");
    size_t len = (size_t)st.st_size;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return cloak_error_set(why, CLOAK_EIO, "cannot map the channel: %s", strerror(errno));
    ch_hdr *h = m;
    uint64_t cap = h->cap; /* read once */
    if (h->magic != CH_MAGIC || h->version != CH_VERSION || cap < CH_MIN_BYTES ||
        cap > CH_MAX_BYTES || CH_HDR_BYTES + 2 * cap != len) {
        munmap(m, len);
        return cloak_error_set(why, CLOAK_EINVAL, "channel header is malformed");
    }
    memset(r, 0, sizeof *r);
    r->hdr = h;
    r->cap = cap;
    r->req = (uint8_t *)m + CH_HDR_BYTES;
    r->resp = r->req + cap;
    r->map_len = len;
    return CLOAK_OK;
}

void ch_ring_unmap(ch_ring *r)
{
    if (r->hdr) munmap(r->hdr, r->map_len);
    memset(r, 0, sizeof *r);
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

void ch_wake(_Atomic uint32_t *seq)
{
    futex(seq, FUTEX_WAKE, 1, NULL);
}

/* seq_cst on both sides (store seq / load waiting vs store waiting / load seq) makes a lost
 * wake-up impossible: either the poster sees waiting=1, or the waiter sees the new seq. */
static void post(_Atomic uint32_t *seq, _Atomic uint32_t *waiting)
{
    atomic_fetch_add(seq, 1);
    if (atomic_load(waiting)) ch_wake(seq);
}

void ch_post_req(ch_ring *r, uint64_t len)
{
    atomic_store_explicit(&r->hdr->req_len, len, memory_order_relaxed);
    post(&r->hdr->req_seq, &r->hdr->enc_waiting);
}

void ch_post_resp(ch_ring *r, uint64_t len)
{
    atomic_store_explicit(&r->hdr->resp_len, len, memory_order_relaxed);
    post(&r->hdr->resp_seq, &r->hdr->host_waiting);
}

int ch_wait(_Atomic uint32_t *seq, _Atomic uint32_t *waiting, uint32_t seen, uint64_t spin_ns,
            unsigned slice_ms, ch_check_fn check, void *ctx)
{
    if (atomic_load_explicit(seq, memory_order_acquire) != seen) return 0;
    uint64_t start = now_ns();
    for (unsigned i = 1;; i++) {
        for (int k = 0; k < 64; k++) {
            if (atomic_load_explicit(seq, memory_order_acquire) != seen) return 0;
            cpu_relax();
        }
        if ((i & 7) == 0 && now_ns() - start > spin_ns) break;
    }
    for (;;) {
        atomic_store(waiting, 1);
        if (atomic_load(seq) != seen) break;
        struct timespec ts = {slice_ms / 1000, (long)(slice_ms % 1000) * 1000000L};
        futex(seq, FUTEX_WAIT, seen, &ts);
        if (atomic_load(seq) != seen) break;
        atomic_store(waiting, 0);
        int rc = check ? check(ctx) : 0;
        if (rc) return rc;
    }
    atomic_store(waiting, 0);
    return 0;
}

int ctl_send(int sock, const void *msg, size_t len, int fd)
{
    struct iovec iov = {(void *)msg, len};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&u, 0, sizeof u);
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    for (;;) {
        ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        return n == (ssize_t)len ? 0 : -1;
    }
}

long ctl_recv(int sock, void *msg, size_t cap, int *fd, int timeout_ms)
{
    if (fd) *fd = -1;
    if (timeout_ms >= 0) {
        struct pollfd p = {sock, POLLIN, 0};
        int n;
        do
            n = poll(&p, 1, timeout_ms);
        while (n < 0 && errno == EINTR);
        if (n == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (n < 0) return -1;
    }
    struct iovec iov = {msg, cap};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof u.buf;
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int))) {
            int got;
            memcpy(&got, CMSG_DATA(c), sizeof got);
            if (fd)
                *fd = got;
            else
                close(got);
        }
    }
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        if (fd && *fd >= 0) close(*fd), *fd = -1;
        errno = EMSGSIZE;
        return -1;
    }
    return (long)n;
}
