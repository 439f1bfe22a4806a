/*
 * The enclave process's sandbox: the simulation's stand-in for the isolation SGX hardware
 * gives. Order matters: undumpable first (before the host could open /proc/PID/mem), then,
 * once the code is loaded, descriptors, core dumps, memory lock, and last the seccomp filter.
 */
#include "tee/runner/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int sandbox_early(void)
{
    /* Not dumpable: /proc/PID/mem and ptrace need CAP_SYS_PTRACE from now on. */
    int rc = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct rlimit no_core = {0, 0};
    rc |= setrlimit(RLIMIT_CORE, &no_core);
    return rc ? -1 : 0;
}

/* Close everything but the descriptors we keep; 0-2 become /dev/null so that a stray write
 * (a library's diagnostic) can never land in a socket that reuses a low number. */
static int close_descriptors(int keep1, int keep2)
{
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) return -1;
    for (int fd = 0; fd <= 2; fd++) {
#ifdef CLOAK_SANITIZE
        if (fd == 2) continue; /* keep sanitizer reports visible */
#endif
        if (dup2(devnull, fd) < 0) return -1;
    }
    close(devnull);
    int keep[2] = {keep1 < keep2 ? keep1 : keep2, keep1 < keep2 ? keep2 : keep1};
    unsigned lo = 3;
    for (int i = 0; i < 2; i++) {
        if (keep[i] < 3) continue;
        if ((unsigned)keep[i] > lo) syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, lo, ~0u, 0);
    return 0;
}

static int lock_memory(void)
{
#ifdef CLOAK_SANITIZE
    return 0; /* the sanitizer's shadow memory is terabytes of reservations */
#else
    /* MCL_ONFAULT: lock pages as they are touched, without populating reservations. Fails
     * without CAP_IPC_LOCK when the address space exceeds RLIMIT_MEMLOCK; then we run
     * unlocked and say so (cloak_enclave_identity / READY carry memory_locked). */
    struct rlimit rl;
    if (geteuid() != 0 && (getrlimit(RLIMIT_MEMLOCK, &rl) < 0 || rl.rlim_cur != RLIM_INFINITY))
        return 0; /* MCL_FUTURE would make later allocations (rings, threads) fail instead */
    return mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0;
#endif
}

#define ALLOW(name)                                                                                \
    do {                                                                                           \
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 0) < 0) goto fail;               \
    } while (0)

static int install_seccomp(char *msg, size_t cap)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx) {
        snprintf(msg, cap, "seccomp_init failed");
        return -1;
    }
    /* memory: no new executable mappings once the code is loaded */
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                         SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
        seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                         SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0)
        goto fail;
    ALLOW(munmap);
    ALLOW(mremap);
    ALLOW(madvise);
    ALLOW(brk);
    /* threads: only clone() that makes a thread; clone3 reports ENOSYS so glibc uses clone */
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) < 0 ||
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0)
        goto fail;
    ALLOW(set_robust_list);
    ALLOW(rseq);
    ALLOW(futex);
    ALLOW(sched_yield);
    ALLOW(sched_getaffinity);
    ALLOW(exit);
    ALLOW(exit_group);
    ALLOW(rt_sigprocmask);
    ALLOW(rt_sigreturn);
    ALLOW(tgkill); /* abort() */
    ALLOW(getpid);
    ALLOW(gettid);
    /* time and randomness */
    ALLOW(clock_gettime);
    ALLOW(clock_nanosleep);
    ALLOW(nanosleep);
    ALLOW(getrandom);
    /* the channel: control socket messages with descriptors, ring memfds */
    ALLOW(recvmsg);
    ALLOW(sendmsg);
    ALLOW(poll);
    ALLOW(ppoll);
    ALLOW(accept4);
    ALLOW(close);
    ALLOW(fstat);
    ALLOW(fcntl);
    ALLOW(read);
    ALLOW(write);
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                         SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)) < 0)
        goto fail;
#ifdef CLOAK_SANITIZE
    /* ASan/UBSan runtime: reports, symbolisation and thread set-up */
    ALLOW(sigaltstack);
    ALLOW(prctl);
    ALLOW(openat);
    ALLOW(readlink);
    ALLOW(readlinkat);
    ALLOW(getdents64);
    ALLOW(lseek);
    ALLOW(pread64);
    ALLOW(writev);
    ALLOW(rt_sigaction);
    ALLOW(getrlimit);
    ALLOW(prlimit64);
    ALLOW(uname);
    ALLOW(ioctl);
    ALLOW(dup);
    ALLOW(pipe2);
    ALLOW(wait4);
    ALLOW(kill);
#endif
    if (seccomp_load(ctx) < 0) goto fail;
    seccomp_release(ctx);
    return 0;
fail:
    snprintf(msg, cap, "building the seccomp filter failed");
    seccomp_release(ctx);
    return -1;
}

/* The enclave's heap (signed into its image) becomes its data limit: what it has mapped now
 * (code, libraries, start-up allocations) plus `heap`. Runtime buffers are shared mappings that
 * this limit does not count (runtime_alloc). */
static int limit_heap(uint64_t heap, char *msg, size_t msg_cap)
{
#ifdef CLOAK_SANITIZE
    (void)heap;
    (void)msg;
    (void)msg_cap;
    return 0; /* the sanitizer allocator maps far beyond any heap */
#else
    FILE *f = fopen("/proc/self/status", "re");
    unsigned long long kb = 0;
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmData: %llu kB", &kb) == 1) break;
    if (f) fclose(f);
    if (!kb) {
        snprintf(msg, msg_cap, "cannot read VmData from /proc/self/status");
        return -1;
    }
    struct rlimit rl = {(rlim_t)(kb * 1024 + heap), (rlim_t)(kb * 1024 + heap)};
    if (setrlimit(RLIMIT_DATA, &rl) < 0) {
        snprintf(msg, msg_cap, "cannot set the heap limit: %s", strerror(errno));
        return -1;
    }
    return 0;
#endif
}

int sandbox_enter(int keep1, int keep2, uint64_t heap, int *memory_locked, char *msg,
                  size_t msg_cap)
{
    if (limit_heap(heap, msg, msg_cap) < 0) return -1;
    if (close_descriptors(keep1, keep2) < 0) {
        snprintf(msg, msg_cap, "cannot close descriptors: %s", strerror(errno));
        return -1;
    }
    *memory_locked = lock_memory();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(msg, msg_cap, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        return -1;
    }
    return install_seccomp(msg, msg_cap);
}
