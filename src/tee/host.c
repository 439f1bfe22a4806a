/* Host side of the simulation backend: start the enclave process, attach rings, call. */
#include "tee/host_int.h"
#include "tee/spin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

extern char **environ;

#define START_TIMEOUT_MS 60000 /* first start may create the platform (key generation) */
/* The longest the host spins for an answer before it sleeps (tee/spin.h: it spins only while
 * answers to this function have been coming back quickly). */
#define HOST_SPIN_NS 50000ull
#define HOST_SLICE_MS 5u
#define HOST_SPIN_SLOTS 16u

/* Per calling thread (each HTTP worker drives its own lane), per function id (mod 16): how
 * long answers took lately. An RSA operation takes ~250 us and is never spun for; an AES one
 * takes microseconds and is. */
static __thread spin_hist host_spin[HOST_SPIN_SLOTS];

static int runner_path(char *out, size_t cap)
{
    const char *env = getenv("CLOAK_ENCLAVE_RUNNER");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return access(out, X_OK);
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            if (snprintf(out, cap, "%s/cloak-enclave-runner", self) < (int)cap &&
                !access(out, X_OK))
                return 0;
            if (snprintf(out, cap, "%s/../libexec/cloak/cloak-enclave-runner", self) < (int)cap &&
                !access(out, X_OK))
                return 0;
        }
    }
    snprintf(out, cap, "%s", CLOAK_BUILD_RUNNER_PATH);
    return access(out, X_OK);
}

/* Describe how the enclave process ended; reaps it. */
static void describe_death(cloak_enclave *e)
{
    e->dead = 1;
    e->dead_rc = CLOAK_ECRASHED;
    if (e->pid <= 0) {
        snprintf(e->dead_msg, sizeof e->dead_msg,
                 "the enclave closed its channel (it crashed or its creator freed it)");
        return;
    }
    int st = 0;
    pid_t r;
    do
        r = waitpid(e->pid, &st, 0);
    while (r < 0 && errno == EINTR);
    if (r != e->pid) {
        snprintf(e->dead_msg, sizeof e->dead_msg, "enclave process %d is gone", (int)e->pid);
    } else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
        snprintf(e->dead_msg, sizeof e->dead_msg,
                 "enclave process %d was killed by its sandbox (SIGSYS): it made a system call "
                 "outside the seccomp allow-list",
                 (int)e->pid);
    } else if (WIFSIGNALED(st)) {
        snprintf(e->dead_msg, sizeof e->dead_msg,
                 "enclave process %d crashed: killed by signal %d (%s)", (int)e->pid, WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    } else {
        snprintf(e->dead_msg, sizeof e->dead_msg, "enclave process %d exited with status %d",
                 (int)e->pid, WEXITSTATUS(st));
    }
    e->pid = -e->pid; /* reaped; remember it for messages only */
}

typedef struct {
    cloak_enclave *e;
    struct timespec deadline;
} wait_ctx;

static int expired(const struct timespec *d)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > d->tv_sec || (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

static void set_deadline(struct timespec *d, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, d);
    d->tv_sec += ms / 1000;
    d->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (d->tv_nsec >= 1000000000L) d->tv_sec++, d->tv_nsec -= 1000000000L;
}

/* Called between futex slices: 1 = enclave gone, 2 = timed out. */
static int check_alive(void *p)
{
    wait_ctx *w = p;
    struct pollfd pf = {w->e->sock, POLLIN, 0};
    if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR | POLLIN))) return 1;
    if (expired(&w->deadline)) return 2;
    return 0;
}

static cloak_err lost(cloak_enclave *e, cloak_error *why)
{
    return cloak_error_set(why, e->dead_rc, "%s", e->dead_msg);
}

/* Post the request already written to ring.req (len bytes), serve ocalls, and return the final
 * response's bytes (pointing into shared memory; valid until the next request). */
static cloak_err roundtrip(cloak_enclave *e, uint64_t len, uint32_t fid, const uint8_t **resp,
                           uint64_t *resp_len, cloak_error *why)
{
    ch_ring *r = &e->ring;
    wait_ctx w = {e, {0, 0}};
    for (;;) {
        uint32_t seen = atomic_load(&r->hdr->resp_seq);
        set_deadline(&w.deadline, e->timeout_ms);
        ch_post_req(r, len);
        int rc = spin_wait(&host_spin[fid % HOST_SPIN_SLOTS], HOST_SPIN_NS, &r->hdr->resp_seq,
                           &r->hdr->host_waiting, seen, HOST_SLICE_MS, check_alive, &w);
        if (rc == 1) {
            describe_death(e);
            return lost(e, why);
        }
        if (rc == 2) {
            e->dead = 1;
            e->dead_rc = CLOAK_ETIMEOUT;
            snprintf(e->dead_msg, sizeof e->dead_msg,
                     "enclave did not answer function 0x%x within %u ms and was stopped; raise "
                     "call_timeout_ms for longer calls",
                     fid, e->timeout_ms);
            if (e->pid > 0) {
                kill(e->pid, SIGKILL);
                waitpid(e->pid, NULL, 0);
                e->pid = -e->pid;
            }
            return lost(e, why);
        }
        uint64_t n = atomic_load_explicit(&r->hdr->resp_len, memory_order_relaxed);
        if (n < 8 || n > r->cap) break; /* the shortest message is an empty batch result */
        const uint8_t *m = r->resp;
        uint32_t type = cloak_get_u32le(m);
        if (type != RMSG_OCALL) {
            *resp = m;
            *resp_len = n;
            return CLOAK_OK;
        }
        /* An ocall: run it and answer in the request buffer. */
        if (n < RMSG_HDR_BYTES) break;
        uint32_t oid = cloak_get_u32le(m + 4);
        uint64_t out_cap = cloak_get_u64le(m + 8), in_len = cloak_get_u64le(m + 16);
        if (in_len > n - RMSG_HDR_BYTES) break;
        if (out_cap > r->cap - 16) out_cap = r->cap - 16;
        uint8_t *in = malloc(in_len ? in_len : 1);
        if (!in) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory serving an ocall");
        memcpy(in, m + RMSG_HDR_BYTES, in_len);
        size_t out_len = 0;
        char msg[256] = "";
        cloak_err orc = host_dispatch_ocall(e, oid, in, in_len, r->req + 16, out_cap, &out_len, msg,
                                            sizeof msg);
        free(in);
        cloak_put_u32le(r->req, RMSG_OCALL_RET);
        cloak_put_u32le(r->req + 4, orc);
        if (orc) {
            out_len = strlen(msg);
            memcpy(r->req + 16, msg, out_len);
        }
        cloak_put_u64le(r->req + 8, out_len);
        len = 16 + out_len;
    }
    /* A malformed response: the enclave is broken; stop trusting the channel. */
    e->dead = 1;
    e->dead_rc = CLOAK_ECRASHED;
    snprintf(e->dead_msg, sizeof e->dead_msg, "enclave sent a malformed response; stopped it");
    if (e->pid > 0) {
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
        e->pid = -e->pid;
    }
    return lost(e, why);
}

cloak_err cloak_enclave_call(cloak_enclave *e, uint32_t fid, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t out_cap, size_t *out_len, cloak_error *why)
{
    if (!e || e->magic != ENCLAVE_MAGIC)
        return cloak_error_set(why, CLOAK_EINVAL, "not an enclave handle (freed or corrupt)");
    if ((in_len && !in) || (out_cap && !out) || !out_len)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_enclave_call: NULL buffer with a length");
    pthread_mutex_lock(&e->lock);
    cloak_err rc;
    if (e->dead) {
        rc = lost(e, why);
        goto out;
    }
    if (in_len > e->ring.cap - RMSG_HDR_BYTES) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "call input of %zu bytes exceeds the channel (%llu bytes); raise "
                             "cloak_enclave_opts.channel_bytes",
                             in_len, (unsigned long long)e->ring.cap);
        goto out;
    }
    uint8_t *m = e->ring.req;
    cloak_put_u32le(m, RMSG_CALL);
    cloak_put_u32le(m + 4, fid);
    cloak_put_u64le(m + 8, out_cap);
    cloak_put_u64le(m + 16, in_len);
    if (in_len) memcpy(m + RMSG_HDR_BYTES, in, in_len);
    const uint8_t *resp;
    uint64_t n;
    rc = roundtrip(e, RMSG_HDR_BYTES + in_len, fid, &resp, &n, why);
    if (rc) goto out;
    uint32_t type = cloak_get_u32le(resp), erc = cloak_get_u32le(resp + 4);
    uint64_t len = cloak_get_u64le(resp + 8);
    if (type != RMSG_RESULT || n < 16 || len > n - 16 || (!erc && len > out_cap)) {
        rc = cloak_error_set(why, CLOAK_ECRASHED, "enclave sent a malformed result");
        goto out;
    }
    if (erc) {
        rc = (cloak_err)erc;
        if (why) {
            why->code = rc;
            size_t l = len < sizeof why->msg - 1 ? len : sizeof why->msg - 1;
            memcpy(why->msg, resp + 16, l);
            why->msg[l] = 0;
        }
        goto out;
    }
    if (len) memcpy(out, resp + 16, len);
    *out_len = len;
    rc = CLOAK_OK;
out:
    pthread_mutex_unlock(&e->lock);
    return rc;
}

cloak_err cloak_enclave_call_batch(cloak_enclave *e, cloak_call *calls, size_t n, cloak_error *why)
{
    if (!e || e->magic != ENCLAVE_MAGIC)
        return cloak_error_set(why, CLOAK_EINVAL, "not an enclave handle (freed or corrupt)");
    if (n && !calls)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_enclave_call_batch: no calls");
    pthread_mutex_lock(&e->lock);
    cloak_err rc;
    if (e->dead) {
        rc = lost(e, why);
        goto out;
    }
    if (n == 0) {
        rc = CLOAK_OK;
        goto out;
    }
    uint64_t len = 8, outsz = 8;
    for (size_t i = 0; i < n; i++) {
        len += 24 + calls[i].in_len;
        outsz += 16 + calls[i].out_cap;
    }
    if (n > UINT32_MAX || len > e->ring.cap || outsz > e->ring.cap) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "batch of %zu calls needs %llu bytes, more than the channel's %llu; "
                             "split it or raise channel_bytes",
                             n, (unsigned long long)(len > outsz ? len : outsz),
                             (unsigned long long)e->ring.cap);
        goto out;
    }
    uint8_t *m = e->ring.req;
    cloak_put_u32le(m, RMSG_BATCH);
    cloak_put_u32le(m + 4, (uint32_t)n);
    size_t off = 8;
    for (size_t i = 0; i < n; i++) {
        cloak_put_u32le(m + off, calls[i].fid);
        cloak_put_u32le(m + off + 4, 0);
        cloak_put_u64le(m + off + 8, calls[i].out_cap);
        cloak_put_u64le(m + off + 16, calls[i].in_len);
        if (calls[i].in_len) memcpy(m + off + 24, calls[i].in, calls[i].in_len);
        off += 24 + calls[i].in_len;
    }
    const uint8_t *resp;
    uint64_t rn;
    rc = roundtrip(e, len, CLOAK_FID_RESERVED, &resp, &rn, why);
    if (rc) goto out;
    if (cloak_get_u32le(resp) != RMSG_BATCH_RES || cloak_get_u32le(resp + 4) != n) goto bad;
    off = 8;
    for (size_t i = 0; i < n; i++) {
        if (rn - off < 16) goto bad;
        uint32_t erc = cloak_get_u32le(resp + off);
        uint64_t l = cloak_get_u64le(resp + off + 8);
        if (l > rn - off - 16 || (!erc && l > calls[i].out_cap)) goto bad;
        calls[i].rc = (cloak_err)erc;
        calls[i].out_len = erc ? 0 : l;
        if (!erc && l) memcpy(calls[i].out, resp + off + 16, l);
        off += 16 + l;
    }
    rc = CLOAK_OK;
    goto out;
bad:
    rc = cloak_error_set(why, CLOAK_ECRASHED, "enclave sent a malformed batch result");
out:
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static cloak_enclave *handle_new(void)
{
    cloak_enclave *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->magic = ENCLAVE_MAGIC;
    e->pid = -1;
    e->sock = -1;
    pthread_mutex_init(&e->lock, NULL);
    e->timeout_ms = CLOAK_CALL_TIMEOUT_DEFAULT_MS;
    return e;
}

static void identity_from_ready(cloak_enclave *e, const ctl_ready *r)
{
    memcpy(e->id.mrenclave, r->mrenclave, 32);
    memcpy(e->id.mrsigner, r->mrsigner, 32);
    e->id.product_id = r->product_id;
    e->id.svn = r->svn;
    e->id.debug = r->debug != 0;
    e->id.heap = r->heap;
    e->memory_locked = r->memory_locked != 0;
}

/* Give the enclave a ring of ours over the control socket. */
static cloak_err attach_ring(cloak_enclave *e, size_t cap, cloak_error *why)
{
    int fd = -1;
    cloak_err rc = ch_ring_create(cap, &e->ring, &fd, why);
    if (rc) return rc;
    ctl_attach a = {.type = CTL_ATTACH, .cap = e->ring.cap};
    if (ctl_send(e->sock, &a, sizeof a, fd) < 0) {
        close(fd);
        return cloak_error_set(why, CLOAK_EIO, "cannot send the channel to the enclave: %s",
                               strerror(errno));
    }
    close(fd);
    memset(&a, 0, sizeof a);
    long n = ctl_recv(e->sock, &a, sizeof a, NULL, START_TIMEOUT_MS);
    if (n != (long)sizeof a || a.type != CTL_ATTACHED)
        return cloak_error_set(why, CLOAK_ECRASHED, "enclave did not accept the channel");
    if (a.rc) {
        a.msg[sizeof a.msg - 1] = 0;
        return cloak_error_set(why, (cloak_err)a.rc, "enclave refused the channel: %s", a.msg);
    }
    return CLOAK_OK;
}

static void reap(cloak_enclave *e)
{
    if (e->pid > 0) {
        /* give it a moment to exit on the hang-up, then stop it */
        for (int i = 0; i < 100; i++) {
            if (waitpid(e->pid, NULL, WNOHANG) == e->pid) {
                e->pid = -e->pid;
                return;
            }
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
        kill(e->pid, SIGKILL);
        waitpid(e->pid, NULL, 0);
        e->pid = -e->pid;
    }
}

void cloak_enclave_free(cloak_enclave *e)
{
    if (!e || e->magic != ENCLAVE_MAGIC) return;
    if (e->ring.hdr) {
        atomic_store(&e->ring.hdr->closing, 1);
        ch_wake(&e->ring.hdr->req_seq);
    }
    if (e->sock >= 0) close(e->sock);
    reap(e);
    ch_ring_unmap(&e->ring);
    host_storage_free(e);
    free(e->storage_dir);
    free(e->ocalls);
    pthread_mutex_destroy(&e->lock);
    e->magic = 0;
    free(e);
}

static cloak_err read_ready(cloak_enclave *e, cloak_error *why)
{
    ctl_ready r;
    memset(&r, 0, sizeof r);
    long n = ctl_recv(e->sock, &r, sizeof r, NULL, START_TIMEOUT_MS);
    if (n <= 0) {
        if (e->pid > 0) {
            if (n < 0 && errno == ETIMEDOUT) kill(e->pid, SIGKILL);
            describe_death(e);
            return cloak_error_set(why, CLOAK_ECRASHED, "enclave failed to start: %s", e->dead_msg);
        }
        return cloak_error_set(why, CLOAK_ECRASHED, "enclave did not answer on its attach socket");
    }
    if (n != (long)sizeof r || r.type != CTL_READY)
        return cloak_error_set(why, CLOAK_ECRASHED, "enclave sent a malformed start-up reply");
    r.msg[sizeof r.msg - 1] = 0;
    if (r.rc) return cloak_error_set(why, (cloak_err)r.rc, "%s", r.msg);
    identity_from_ready(e, &r);
    return CLOAK_OK;
}

static cloak_err spawn_runner(cloak_enclave *e, int child_sock, int image_fd, cloak_error *why)
{
    char path[PATH_MAX];
    if (runner_path(path, sizeof path))
        return cloak_error_set(why, CLOAK_ENOTFOUND,
                               "cannot find cloak-enclave-runner (looked beside this program and "
                               "in %s); set CLOAK_ENCLAVE_RUNNER to its path",
                               CLOAK_BUILD_RUNNER_PATH);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, child_sock, 3);
    posix_spawn_file_actions_adddup2(&fa, image_fd, 4);
    posix_spawn_file_actions_addclosefrom_np(&fa, 5);
    char *argv[] = {path, NULL};
    pid_t pid;
    int err = posix_spawn(&pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err) return cloak_error_set(why, CLOAK_EIO, "cannot start %s: %s", path, strerror(err));
    e->pid = pid;
    return CLOAK_OK;
}

cloak_err cloak_enclave_create(const char *image_path, const cloak_enclave_opts *opts,
                               cloak_enclave **out, cloak_error *why)
{
    static const cloak_enclave_opts defaults;
    if (!opts) opts = &defaults;
    if (!image_path || !out)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "cloak_enclave_create: image path and out are required");
    cloak_err rc;
    cloak_image *img = NULL;
    int fds[2] = {-1, -1}, image_fd = -1;
    cloak_enclave *e = NULL;

    /* Check on the host first, for a clear error before anything starts; the runner checks
     * again what it actually loads. */
    rc = cloak_image_open_file(image_path, &img, why);
    if (rc) goto out;
    const cloak_image_identity *id = cloak_image_id(img);
    if (opts->expected_mrsigner && CRYPTO_memcmp(opts->expected_mrsigner, id->mrsigner, 32)) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "%s is signed by another signer than the one expected", image_path);
        goto out;
    }
    if (id->debug && !(opts->flags & CLOAK_ENCLAVE_FLAG_DEBUG)) {
        rc = cloak_error_set(
            why, CLOAK_EPERM,
            "%s is a debug image; create it with CLOAK_ENCLAVE_FLAG_DEBUG (--debug) "
            "or sign it without --debug",
            image_path);
        goto out;
    }
    if (!id->debug && (opts->flags & CLOAK_ENCLAVE_FLAG_DEBUG)) {
        rc = cloak_error_set(why, CLOAK_EPERM,
                             "%s is a production image; it cannot be launched in debug mode",
                             image_path);
        goto out;
    }
    ctl_init init;
    memset(&init, 0, sizeof init);
    init.type = CTL_INIT;
    init.flags = opts->flags;
    init.quiet = (uint8_t)(opts->quiet != 0);
    init.config_svn = opts->config_svn;
    if (opts->config_id) {
        init.has_config_id = 1;
        memcpy(init.config_id, opts->config_id, CLOAK_CONFIGID_BYTES);
    }
    if (opts->expected_mrsigner) {
        init.has_expected_signer = 1;
        memcpy(init.expected_signer, opts->expected_mrsigner, 32);
    }
    if ((opts->platform_dir && strlen(opts->platform_dir) >= CTL_PATH_MAX) ||
        (opts->attach_path &&
         strlen(opts->attach_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "platform_dir or attach_path is too long");
        goto out;
    }
    if (opts->platform_dir)
        snprintf(init.platform_dir, sizeof init.platform_dir, "%s", opts->platform_dir);
    if (opts->attach_path)
        snprintf(init.attach_path, sizeof init.attach_path, "%s", opts->attach_path);

    e = handle_new();
    if (!e) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    e->quiet = opts->quiet;
    if (opts->call_timeout_ms) e->timeout_ms = opts->call_timeout_ms;
    if (opts->storage_dir && !(e->storage_dir = strdup(opts->storage_dir))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0 ||
        (image_fd = open(image_path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = cloak_error_set(why, CLOAK_EIO, "cannot set up the enclave channel: %s",
                             strerror(errno));
        goto out;
    }
    rc = spawn_runner(e, fds[1], image_fd, why);
    if (rc) goto out;
    close(fds[1]);
    fds[1] = -1;
    e->sock = fds[0];
    fds[0] = -1;
    if (ctl_send(e->sock, &init, sizeof init, -1) < 0) {
        rc = cloak_error_set(why, CLOAK_ECRASHED, "enclave process exited before start-up");
        goto out;
    }
    rc = read_ready(e, why);
    if (rc) goto out;
    rc = attach_ring(e, opts->channel_bytes ? opts->channel_bytes : CLOAK_CHANNEL_DEFAULT_BYTES,
                     why);
    if (rc) goto out;
    *out = e;
    e = NULL;
out:
    if (e) cloak_enclave_free(e);
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
    if (image_fd >= 0) close(image_fd);
    cloak_image_free(img);
    return rc;
}

cloak_err cloak_enclave_attach(const char *attach_path, unsigned call_timeout_ms,
                               cloak_enclave **out, cloak_error *why)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!attach_path || strlen(attach_path) >= sizeof sa.sun_path)
        return cloak_error_set(why, CLOAK_EINVAL, "attach path missing or too long");
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", attach_path);
    cloak_enclave *e = handle_new();
    if (!e) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    cloak_err rc;
    if (call_timeout_ms) e->timeout_ms = call_timeout_ms;
    e->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (e->sock < 0 || connect(e->sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
        rc = cloak_error_set(why, CLOAK_EIO, "cannot connect to the enclave at %s: %s", attach_path,
                             strerror(errno));
        goto fail;
    }
    rc = read_ready(e, why);
    if (rc) goto fail;
    rc = attach_ring(e, CLOAK_CHANNEL_DEFAULT_BYTES, why);
    if (rc) goto fail;
    *out = e;
    return CLOAK_OK;
fail:
    cloak_enclave_free(e);
    return rc;
}

cloak_err cloak_enclave_set_ocall(cloak_enclave *e, uint32_t oid, cloak_ocall_fn fn, void *ctx,
                                  cloak_error *why)
{
    if (!e || e->magic != ENCLAVE_MAGIC || !fn)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "cloak_enclave_set_ocall: bad handle or function");
    if (oid >= CLOAK_FID_RESERVED)
        return cloak_error_set(why, CLOAK_EINVAL, "ocall id 0x%x is reserved for the runtime", oid);
    pthread_mutex_lock(&e->lock);
    cloak_err rc = CLOAK_OK;
    size_t i;
    for (i = 0; i < e->nocalls && e->ocalls[i].oid != oid; i++) {
    }
    if (i == e->nocalls) {
        ocall_entry *t = realloc(e->ocalls, (e->nocalls + 1) * sizeof *t);
        if (!t) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        e->ocalls = t;
        e->nocalls++;
    }
    e->ocalls[i] = (ocall_entry){oid, fn, ctx};
out:
    pthread_mutex_unlock(&e->lock);
    return rc;
}

cloak_err cloak_enclave_identity(const cloak_enclave *e, cloak_image_identity *id)
{
    if (!e || e->magic != ENCLAVE_MAGIC || !id) return CLOAK_EINVAL;
    *id = e->id;
    return CLOAK_OK;
}

cloak_err cloak_enclave_get_quote(cloak_enclave *e, const uint8_t *report_data, size_t rd_len,
                                  uint8_t **quote, size_t *quote_len, cloak_error *why)
{
    if (rd_len > CLOAK_REPORT_DATA_BYTES || (rd_len && !report_data) || !quote || !quote_len)
        return cloak_error_set(why, CLOAK_EINVAL, "report data is at most 64 bytes (got %zu)",
                               rd_len);
    uint8_t rd[CLOAK_REPORT_DATA_BYTES] = {0};
    if (rd_len) memcpy(rd, report_data, rd_len);
    size_t cap = 64 * 1024, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    cloak_err rc = cloak_enclave_call(e, FID_GET_QUOTE, rd, sizeof rd, buf, cap, &n, why);
    if (rc) {
        free(buf);
        return rc;
    }
    *quote = buf;
    *quote_len = n;
    return CLOAK_OK;
}

int cloak_enclave_pid(const cloak_enclave *e)
{
    return e && e->magic == ENCLAVE_MAGIC && e->pid > 0 ? (int)e->pid : -1;
}
