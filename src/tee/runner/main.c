/*
 * cloak-enclave-runner: one enclave. Started by the host with the control socket on fd 3 and
 * the signed image on fd 4. It makes itself undumpable, reads its INIT message, verifies the
 * image it was given (signature, measurement, expected signer), opens the platform, loads the
 * code from a sealed memfd, runs cloak_enclave_init, closes the sandbox, reports READY and then
 * serves rings: one thread per attached client.
 */
#include "tee/runner/runner.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

runner_state g_runner;

#define CTL_FD 3
#define IMAGE_FD 4
#define MAX_CLIENTS 64

#ifdef CLOAK_SANITIZE
/* LeakSanitizer stops the world with ptrace from a helper, which the sandbox forbids; and an
 * enclave crash must end the process with its signal, as in a release build, not run ASan's
 * reporting (which needs system calls the sandbox refuses). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0:handle_segv=0:handle_abort=0:handle_sigbus=0:handle_sigfpe=0:"
           "handle_sigill=0";
}
#endif

static cloak_err read_all_fd(int fd, uint8_t **out, size_t *len, cloak_error *why)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (1ll << 31))
        return cloak_error_set(why, CLOAK_EINVAL, "the image descriptor is not a usable file");
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *b = malloc(n);
    if (!b) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory reading the image");
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(b);
            return cloak_error_set(why, CLOAK_EIO, "cannot read the image");
        }
        got += (size_t)r;
    }
    *out = b;
    *len = n;
    return CLOAK_OK;
}

/* Load the verified code from an immutable (sealed) memfd, so nothing can change it between
 * the check and the load. */
static cloak_err load_code(const cloak_image *img, cloak_error *why)
{
    const uint8_t *code;
    size_t len;
    cloak_image_code(img, &code, &len);
    int fd = memfd_create("cloak-enclave", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return cloak_error_set(why, CLOAK_EIO, "memfd_create: %s", strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, code + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            return cloak_error_set(why, CLOAK_EIO, "cannot stage the enclave code: %s",
                                   strerror(errno));
        }
        off += (size_t)w;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        close(fd);
        return cloak_error_set(why, CLOAK_EIO, "cannot seal the enclave code: %s", strerror(errno));
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    close(fd);
    if (!h)
        return cloak_error_set(why, CLOAK_EINVAL, "cannot load the enclave code: %s", dlerror());
    cloak_err (*init)(void);
    *(void **)&init = dlsym(h, "cloak_enclave_init");
    if (!init)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the enclave code does not define cloak_enclave_init()");
    cloak_err rc = init();
    runner_seal_registrations();
    if (rc)
        return cloak_error_set(why, rc, "the enclave's cloak_enclave_init failed: %s",
                               cloak_err_name(rc));
    return CLOAK_OK;
}

static int listen_on(const char *path, cloak_error *why)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        cloak_error_set(why, CLOAK_EINVAL, "attach path is too long");
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path); /* stale */
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    /* only this user's processes may attach: the enclave trusts no caller, but its functions
     * are not meant for every local user */
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0600) < 0 ||
        listen(s, 16) < 0) {
        cloak_error_set(why, CLOAK_EIO, "cannot listen on %s: %s", path, strerror(errno));
        if (s >= 0) close(s);
        return -1;
    }
    return s;
}

static void *idle_thread(void *arg)
{
    return arg;
}

static cloak_err start(const ctl_init *init, int *listen_fd, cloak_error *why)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    cloak_image *img = NULL;
    cloak_err rc = read_all_fd(IMAGE_FD, &bytes, &len, why);
    close(IMAGE_FD);
    if (rc) return rc;
    rc = cloak_image_open(bytes, len, &img, why);
    free(bytes);
    if (rc) return rc;
    const cloak_image_identity *id = cloak_image_id(img);
    if (init->has_expected_signer && CRYPTO_memcmp(init->expected_signer, id->mrsigner, 32)) {
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the image is signed by another signer than expected");
        goto out;
    }
    if (!id->debug != !(init->flags & CLOAK_ENCLAVE_FLAG_DEBUG)) {
        rc = cloak_error_set(why, CLOAK_EPERM,
                             "the image's debug flag and the launch's debug flag differ");
        goto out;
    }
    g_runner.id = *id;
    g_runner.config_svn = init->config_svn;
    g_runner.has_config_id = init->has_config_id;
    memcpy(g_runner.config_id, init->config_id, CLOAK_CONFIGID_BYTES);
    rc = cloak_platform_open(init->platform_dir[0] ? init->platform_dir : NULL, &g_runner.platform,
                             why);
    if (rc) goto out;
    /* glibc installs its thread signal handlers on the first pthread_create: do it now,
     * while rt_sigaction is still allowed */
    pthread_t t;
    if (pthread_create(&t, NULL, idle_thread, NULL) || pthread_join(t, NULL) || runner_warm_up()) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "cannot initialise the enclave's crypto");
        goto out;
    }
    if (init->attach_path[0] && (*listen_fd = listen_on(init->attach_path, why)) < 0) {
        rc = CLOAK_EIO;
        goto out;
    }
    rc = load_code(img, why);
out:
    cloak_image_free(img);
    return rc;
}

static void send_ready(int sock, cloak_err rc, const char *msg)
{
    ctl_ready r;
    memset(&r, 0, sizeof r);
    r.type = CTL_READY;
    r.rc = rc;
    r.pid = (int32_t)getpid();
    r.memory_locked = (uint32_t)g_runner.memory_locked;
    if (!rc) {
        memcpy(r.mrenclave, g_runner.id.mrenclave, 32);
        memcpy(r.mrsigner, g_runner.id.mrsigner, 32);
        r.product_id = g_runner.id.product_id;
        r.svn = g_runner.id.svn;
        r.debug = (uint32_t)g_runner.id.debug;
        r.heap = g_runner.id.heap;
    }
    snprintf(r.msg, sizeof r.msg, "%s", msg ? msg : "");
    (void)ctl_send(sock, &r, sizeof r, -1);
}

static worker *clients[MAX_CLIENTS];

static void drop_client(int i)
{
    worker *w = clients[i];
    if (w->active) {
        atomic_store(&w->stop, 1);
        ch_wake(&w->ring.hdr->req_seq);
        pthread_join(w->thread, NULL);
        ch_ring_unmap(&w->ring);
    }
    close(w->sock);
    runtime_free(w->req, w->ring.cap);
    runtime_free(w->resp, w->ring.cap);
    runtime_free(w->stack, RUNNER_STACK_BYTES);
    free(w);
    clients[i] = NULL;
}

void *runtime_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void runtime_free(void *p, size_t n)
{
    if (!p) return;
    OPENSSL_cleanse(p, n);
    munmap(p, n);
}

static int start_worker(worker *w)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr)) return -1;
    int rc = pthread_attr_setstack(&attr, w->stack, RUNNER_STACK_BYTES) ||
             pthread_create(&w->thread, &attr, runner_serve, w);
    pthread_attr_destroy(&attr);
    return rc ? -1 : 0;
}

/* A client sent CTL_ATTACH with its ring: map it and start serving it. */
static void client_message(int i)
{
    worker *w = clients[i];
    ctl_attach a;
    int fd = -1;
    long n = ctl_recv(w->sock, &a, sizeof a, &fd, -1);
    if (n <= 0) {
        if (fd >= 0) close(fd);
        drop_client(i);
        return;
    }
    ctl_attach reply = {.type = CTL_ATTACHED};
    cloak_error why = {0};
    if (n != (long)sizeof a || a.type != CTL_ATTACH || fd < 0 || w->active) {
        reply.rc = CLOAK_EINVAL;
        snprintf(reply.msg, sizeof reply.msg, "expected one ATTACH message with a ring");
    } else if ((reply.rc = ch_ring_map(fd, &w->ring, &why)) != 0) {
        why.msg[sizeof reply.msg - 1] = 0;
        memcpy(reply.msg, why.msg, sizeof reply.msg);
    } else if (!(w->req = runtime_alloc(w->ring.cap)) || !(w->resp = runtime_alloc(w->ring.cap)) ||
               !(w->stack = runtime_alloc(RUNNER_STACK_BYTES))) {
        reply.rc = CLOAK_ENOMEM;
        snprintf(reply.msg, sizeof reply.msg, "enclave out of memory for a %llu-byte ring",
                 (unsigned long long)w->ring.cap);
        ch_ring_unmap(&w->ring);
    } else if ((w->seen = atomic_load(&w->ring.hdr->req_seq)), start_worker(w) != 0) {
        reply.rc = CLOAK_ENOMEM;
        snprintf(reply.msg, sizeof reply.msg, "enclave cannot start a thread for the ring");
        ch_ring_unmap(&w->ring);
    } else {
        w->active = 1;
    }
    if (fd >= 0) close(fd);
    (void)ctl_send(w->sock, &reply, sizeof reply, -1);
}

static int add_client(int sock)
{
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (clients[i]) continue;
        worker *w = calloc(1, sizeof *w);
        if (!w) return -1;
        w->sock = sock;
        clients[i] = w;
        return 0;
    }
    return -1;
}

int main(void)
{
    sandbox_early();
    ctl_init init;
    memset(&init, 0, sizeof init);
    long n = ctl_recv(CTL_FD, &init, sizeof init, NULL, 30000);
    if (n != (long)sizeof init || init.type != CTL_INIT) return 2;
    init.platform_dir[CTL_PATH_MAX - 1] = 0;
    init.attach_path[CTL_PATH_MAX - 1] = 0;

    cloak_error why = {0};
    int listen_fd = -1;
    cloak_err rc = start(&init, &listen_fd, &why);
    if (!rc) {
        char msg[256] = "";
        if (sandbox_enter(CTL_FD, listen_fd, g_runner.id.heap, &g_runner.memory_locked, msg,
                          sizeof msg) < 0)
            rc = cloak_error_set(&why, CLOAK_EINTERNAL, "cannot enter the sandbox: %s", msg);
    }
    send_ready(CTL_FD, rc, rc ? why.msg : NULL);
    if (rc) return 1;
    if (add_client(CTL_FD)) return 1;

    for (;;) {
        struct pollfd pf[MAX_CLIENTS + 1];
        int idx[MAX_CLIENTS + 1], np = 0;
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (!clients[i]) continue;
            pf[np] = (struct pollfd){clients[i]->sock, POLLIN, 0};
            idx[np++] = i;
        }
        if (listen_fd >= 0) {
            pf[np] = (struct pollfd){listen_fd, POLLIN, 0};
            idx[np++] = -1;
        }
        int r = poll(pf, (nfds_t)np, -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int k = 0; k < np; k++) {
            if (!pf[k].revents) continue;
            if (idx[k] < 0) {
                int s = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (s < 0) continue;
                if (add_client(s)) {
                    close(s);
                    continue;
                }
                send_ready(s, CLOAK_OK, NULL);
                continue;
            }
            int creator = clients[idx[k]]->sock == CTL_FD;
            if (pf[k].revents & (POLLHUP | POLLERR) && !(pf[k].revents & POLLIN)) {
                if (creator) _exit(0); /* the enclave lives as long as its creator's handle */
                drop_client(idx[k]);
                continue;
            }
            client_message(idx[k]);
            if (creator && !clients[idx[k]]) _exit(0);
        }
    }
    return 0;
}
