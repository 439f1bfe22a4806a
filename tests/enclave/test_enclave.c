/* Enclave runtime tests: the simulation backend through the public host API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cloak/enclave.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    F_ECHO = 1,
    F_EMPTY,
    F_CRASH,
    F_LOOP,
    F_SYSCALL,
    F_SEAL,
    F_UNSEAL,
    F_QUOTE,
    F_OCALLS,
    F_IDENTITY,
    F_FAIL,
    F_FILL,
    F_ABORT,
    F_ALLOC
};

/* Intel DCAP quote v3: report body at 48 (attestation.md §1) */
#define Q_BODY 48
#define Q_ATTR (Q_BODY + 48)
#define Q_MRENCLAVE (Q_BODY + 64)
#define Q_MRSIGNER (Q_BODY + 128)
#define Q_CONFIGID (Q_BODY + 192)
#define Q_PRODID (Q_BODY + 256)
#define Q_SVN (Q_BODY + 258)
#define Q_CONFIGSVN (Q_BODY + 260)
#define Q_REPORTDATA (Q_BODY + 320)

static char platform_dir[] = "/tmp/cloak-test-platform-XXXXXX";

static const char *image(const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s.signed", TE_DIR, name);
    return path[k];
}

static cloak_enclave *make(const char *name, uint32_t flags, unsigned timeout_ms)
{
    cloak_enclave_opts o = {
        .flags = flags, .platform_dir = platform_dir, .call_timeout_ms = timeout_ms, .quiet = 1};
    cloak_enclave *e = NULL;
    cloak_error why = {0};
    cloak_err rc = cloak_enclave_create(image(name), &o, &e, &why);
    if (rc) fprintf(stderr, "create %s: %s\n", name, why.msg);
    assert_int_equal(rc, CLOAK_OK);
    return e;
}

static cloak_err call(cloak_enclave *e, uint32_t fid, const void *in, size_t in_len, uint8_t *out,
                      size_t cap, size_t *n, cloak_error *why)
{
    return cloak_enclave_call(e, fid, in, in_len, out, cap, n, why);
}

/* A hard upper bound on how long a crash or hang may take to surface: the Must-show is 2 s. */
static void watchdog_fired(int sig)
{
    (void)sig;
    static const char m[] = "watchdog: the enclave error did not surface within 2 s\n";
    (void)!write(2, m, sizeof m - 1);
    _exit(3);
}

static void arm_watchdog(void)
{
    signal(SIGALRM, watchdog_fired);
    alarm(2);
}

static void disarm_watchdog(void)
{
    alarm(0);
}

static void test_echo_roundtrip(void **state)
{
    cloak_enclave *e = make("te_a", 0, 0);
    uint8_t out[64];
    size_t n = 0;
    cloak_error why;
    assert_int_equal(call(e, F_ECHO, "hello", 5, out, sizeof out, &n, &why), CLOAK_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    /* an output buffer too small for the answer is an error, not a truncation */
    assert_int_equal(call(e, F_ECHO, "hello", 5, out, 3, &n, &why), CLOAK_ERANGE);
    /* unknown function */
    assert_int_equal(call(e, 999, NULL, 0, out, sizeof out, &n, &why), CLOAK_ENOTFOUND);
    /* the enclave's own error and message reach the host */
    assert_int_equal(call(e, F_FAIL, "abc", 3, out, sizeof out, &n, &why), CLOAK_EPERM);
    assert_non_null(strstr(why.msg, "refused on purpose (3 bytes)"));
    /* and the enclave still serves */
    assert_int_equal(call(e, F_ECHO, "x", 1, out, sizeof out, &n, &why), CLOAK_OK);
    cloak_enclave_free(e);
}

static void test_large_call(void **state)
{
    cloak_enclave *e = make("te_a", 0, 0);
    size_t len = 1u << 20, n = 0;
    uint8_t *in = malloc(len), *out = malloc(len);
    for (size_t i = 0; i < len; i++)
        in[i] = (uint8_t)(i * 31 + 1);
    cloak_error why;
    assert_int_equal(call(e, F_ECHO, in, len, out, len, &n, &why), CLOAK_OK);
    assert_int_equal(n, len);
    assert_memory_equal(in, out, len);
    assert_int_equal(call(e, F_FILL, NULL, 0, out, 4096, &n, &why), CLOAK_OK);
    assert_int_equal(n, 4096);
    assert_int_equal(out[4095], (uint8_t)(4095 * 7 + 3));
    /* bigger than the channel: refused before crossing, with advice */
    size_t huge = CLOAK_CHANNEL_DEFAULT_BYTES + 1;
    uint8_t *big = calloc(1, huge);
    assert_int_equal(call(e, F_ECHO, big, huge, out, len, &n, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "channel_bytes"));
    free(big);
    free(in);
    free(out);
    cloak_enclave_free(e);
}

static void test_batch(void **state)
{
    cloak_enclave *e = make("te_a", 0, 0);
    enum { N = 1000 };
    cloak_call calls[N];
    uint8_t ins[N][4], outs[N][8];
    for (int i = 0; i < N; i++) {
        memcpy(ins[i], &i, 4);
        calls[i] = (cloak_call){.fid = i % 10 == 9 ? 999 : F_ECHO,
                                .in = ins[i],
                                .in_len = 4,
                                .out = outs[i],
                                .out_cap = sizeof outs[i]};
    }
    cloak_error why;
    assert_int_equal(cloak_enclave_call_batch(e, calls, N, &why), CLOAK_OK);
    for (int i = 0; i < N; i++) {
        if (i % 10 == 9) {
            assert_int_equal(calls[i].rc, CLOAK_ENOTFOUND);
            continue;
        }
        assert_int_equal(calls[i].rc, CLOAK_OK);
        assert_int_equal(calls[i].out_len, 4);
        assert_memory_equal(outs[i], &i, 4);
    }
    cloak_enclave_free(e);
}

static void flip_and_expect(const char *src, long off, cloak_err expect)
{
    uint8_t *b;
    size_t len;
    cloak_error why;
    assert_int_equal(cloak_file_read(src, &b, &len, &why), CLOAK_OK);
    if (off < 0) off += (long)len;
    b[off] ^= 0x01;
    char path[] = "/tmp/cloak-tampered-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    close(fd);
    cloak_enclave_opts o = {.platform_dir = platform_dir, .quiet = 1};
    cloak_enclave *e = NULL;
    cloak_err rc = cloak_enclave_create(path, &o, &e, &why);
    assert_int_equal(rc, expect);
    assert_null(e);
    assert_true(strlen(why.msg) > 10);
    unlink(path);
    free(b);
}

static void test_tampered_image_refused(void **state)
{
    /* the code (measured), a manifest field (signed), and the signature itself */
    flip_and_expect(image("te_a"), 16 + 512 + 100, CLOAK_EVERIFY);
    flip_and_expect(image("te_a"), 16 + 64, CLOAK_EVERIFY); /* product id */
    flip_and_expect(image("te_a"), -10, CLOAK_EVERIFY);     /* signature */
}

static void test_wrong_signer_refused(void **state)
{
    /* the image from the other signer carries another MRSIGNER: an expected signer refuses it */
    cloak_enclave *a = make("te_a", 0, 0);
    cloak_image_identity ida;
    assert_int_equal(cloak_enclave_identity(a, &ida), CLOAK_OK);
    cloak_enclave_free(a);
    cloak_enclave_opts o = {
        .platform_dir = platform_dir, .expected_mrsigner = ida.mrsigner, .quiet = 1};
    cloak_enclave *e = NULL;
    cloak_error why;
    assert_int_equal(cloak_enclave_create(image("te_other"), &o, &e, &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "signer"));
    /* a manifest whose signer key was swapped for another (re-signed by no one) fails the
     * signature: modulus bytes live at manifest offset 128 */
    flip_and_expect(image("te_a"), 16 + 128 + 200, CLOAK_EVERIFY);
    /* and the right signer is accepted */
    assert_int_equal(cloak_enclave_create(image("te_b"), &o, &e, &why), CLOAK_OK);
    cloak_enclave_free(e);
}

static size_t seal_in(cloak_enclave *e, uint8_t policy, const char *secret, uint8_t *blob,
                      size_t cap)
{
    uint8_t in[256];
    size_t l = strlen(secret), n = 0;
    in[0] = policy;
    memcpy(in + 1, secret, l);
    cloak_error why;
    assert_int_equal(call(e, F_SEAL, in, 1 + l, blob, cap, &n, &why), CLOAK_OK);
    return n;
}

static cloak_err unseal_in(const char *name, uint32_t flags, const uint8_t *blob, size_t len,
                           char *out, cloak_error *why)
{
    cloak_enclave *e = make(name, flags, 0);
    size_t n = 0;
    cloak_err rc = call(e, F_UNSEAL, blob, len, (uint8_t *)out, 255, &n, why);
    if (!rc) out[n] = 0;
    cloak_enclave_free(e);
    return rc;
}

static void test_seal_to_measurement(void **state)
{
    cloak_enclave *a = make("te_a", 0, 0);
    uint8_t blob[1024];
    size_t n = seal_in(a, 1 /* MRENCLAVE */, "measurement secret", blob, sizeof blob);
    cloak_enclave_free(a);
    char out[256];
    cloak_error why;
    /* a fresh instance of the same enclave opens it */
    assert_int_equal(unseal_in("te_a", 0, blob, n, out, &why), CLOAK_OK);
    assert_string_equal(out, "measurement secret");
    /* another enclave (other code, same signer) does not */
    assert_int_equal(unseal_in("te_b", 0, blob, n, out, &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "measurement"));
    /* a modified blob does not authenticate */
    blob[n - 20] ^= 1;
    assert_int_equal(unseal_in("te_a", 0, blob, n, out, &why), CLOAK_EVERIFY);
}

static void test_seal_to_signer_with_svn(void **state)
{
    cloak_enclave *a = make("te_a", 0, 0); /* product 1, svn 2 */
    uint8_t blob[1024];
    size_t n = seal_in(a, 2 /* MRSIGNER */, "signer secret", blob, sizeof blob);
    cloak_enclave_free(a);
    char out[256];
    cloak_error why;
    assert_int_equal(unseal_in("te_a", 0, blob, n, out, &why), CLOAK_OK); /* equal svn */
    assert_string_equal(out, "signer secret");
    assert_int_equal(unseal_in("te_svn3", 0, blob, n, out, &why), CLOAK_OK);    /* higher svn */
    assert_int_equal(unseal_in("te_b", 0, blob, n, out, &why), CLOAK_OK);       /* other code */
    assert_int_equal(unseal_in("te_svn1", 0, blob, n, out, &why), CLOAK_EPERM); /* lower svn */
    assert_non_null(strstr(why.msg, "svn 2"));
    assert_int_equal(unseal_in("te_prod2", 0, blob, n, out, &why), CLOAK_EVERIFY); /* product */
    assert_int_equal(unseal_in("te_other", 0, blob, n, out, &why), CLOAK_EVERIFY); /* signer */
    assert_int_equal(unseal_in("te_debug", CLOAK_ENCLAVE_FLAG_DEBUG, blob, n, out, &why),
                     CLOAK_EVERIFY); /* a debug enclave never opens production data */
}

static uint8_t *get_quote(cloak_enclave *e, const uint8_t *rd, size_t rd_len, size_t *len)
{
    uint8_t *q = NULL;
    cloak_error why;
    cloak_err rc = cloak_enclave_get_quote(e, rd, rd_len, &q, len, &why);
    if (rc) fprintf(stderr, "quote: %s\n", why.msg);
    assert_int_equal(rc, CLOAK_OK);
    assert_true(*len > Q_REPORTDATA + 64);
    return q;
}

static void test_report_data_and_identity_in_quote(void **state)
{
    cloak_enclave *e = make("te_a", 0, 0);
    cloak_image_identity id;
    assert_int_equal(cloak_enclave_identity(e, &id), CLOAK_OK);
    uint8_t rd[64];
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(0xa0 + i);
    size_t len;
    uint8_t *q = get_quote(e, rd, sizeof rd, &len);
    assert_int_equal(cloak_get_u16le(q), 3);
    assert_int_equal(cloak_get_u16le(q + 2), 2);
    assert_memory_equal(q + Q_REPORTDATA, rd, 64);
    assert_memory_equal(q + Q_MRENCLAVE, id.mrenclave, 32);
    assert_memory_equal(q + Q_MRSIGNER, id.mrsigner, 32);
    assert_int_equal(cloak_get_u16le(q + Q_PRODID), 1);
    assert_int_equal(cloak_get_u16le(q + Q_SVN), 2);
    assert_int_equal(q[Q_ATTR] & 2, 0); /* not debug */
    free(q);
    /* short report data is zero-padded */
    q = get_quote(e, (const uint8_t *)"\x00\xff", 2, &len);
    uint8_t want[64] = {0x00, 0xff};
    assert_memory_equal(q + Q_REPORTDATA, want, 64);
    free(q);
    /* the enclave asking for its own evidence gets the same identity */
    uint8_t out[16384];
    size_t n;
    cloak_error why;
    assert_int_equal(call(e, F_QUOTE, rd, 64, out, sizeof out, &n, &why), CLOAK_OK);
    assert_memory_equal(out + Q_REPORTDATA, rd, 64);
    assert_memory_equal(out + Q_MRENCLAVE, id.mrenclave, 32);
    cloak_enclave_free(e);
}

static void test_host_may_not_choose_report_data_by_default(void **state)
{
    cloak_enclave *e = make("te_b", 0, 0); /* VARIANT 2 does not opt in */
    uint8_t *q = NULL;
    size_t len;
    cloak_error why;
    assert_int_equal(cloak_enclave_get_quote(e, (const uint8_t *)"\x01", 1, &q, &len, &why),
                     CLOAK_EPERM);
    assert_null(q);
    free(get_quote(e, NULL, 0, &len)); /* all-zero report data binds nothing: allowed */
    cloak_enclave_free(e);
}

static void test_debug_flag_reaches_quote(void **state)
{
    cloak_enclave *e = make("te_debug", CLOAK_ENCLAVE_FLAG_DEBUG, 0);
    size_t len;
    uint8_t *q = get_quote(e, NULL, 0, &len);
    assert_int_equal(q[Q_ATTR] & 2, 2);
    free(q);
    cloak_enclave_free(e);
    /* a debug image needs the debug flag at launch, and a production one refuses it */
    cloak_enclave_opts o = {.platform_dir = platform_dir, .quiet = 1};
    cloak_error why;
    assert_int_equal(cloak_enclave_create(image("te_debug"), &o, &e, &why), CLOAK_EPERM);
    o.flags = CLOAK_ENCLAVE_FLAG_DEBUG;
    assert_int_equal(cloak_enclave_create(image("te_a"), &o, &e, &why), CLOAK_EPERM);
}

static void test_config_id_in_report(void **state)
{
    uint8_t cfg[64];
    for (int i = 0; i < 64; i++)
        cfg[i] = (uint8_t)(255 - i);
    cloak_enclave_opts o = {
        .platform_dir = platform_dir, .config_id = cfg, .config_svn = 7, .quiet = 1};
    cloak_enclave *e = NULL;
    cloak_error why;
    assert_int_equal(cloak_enclave_create(image("te_a"), &o, &e, &why), CLOAK_OK);
    size_t len;
    uint8_t *q = get_quote(e, NULL, 0, &len);
    assert_memory_equal(q + Q_CONFIGID, cfg, 64);
    assert_int_equal(cloak_get_u16le(q + Q_CONFIGSVN), 7);
    assert_int_equal(q[Q_ATTR] & 0x80, 0x80); /* KSS */
    free(q);
    cloak_enclave_free(e);
}

static void expect_death(const char *fid_name, uint32_t fid, cloak_err expect, const char *words)
{
    cloak_enclave *e = make("te_a", 0, 1000);
    uint8_t out[16];
    size_t n;
    cloak_error why = {0};
    arm_watchdog();
    cloak_err rc = call(e, fid, NULL, 0, out, sizeof out, &n, &why);
    disarm_watchdog();
    fprintf(stderr, "%s -> %s\n", fid_name, why.msg);
    assert_int_equal(rc, expect);
    assert_non_null(strstr(why.msg, words));
    /* the handle stays safe to use: every later call reports the same loss */
    assert_int_equal(call(e, F_ECHO, "x", 1, out, sizeof out, &n, &why), expect);
    cloak_enclave_free(e);
}

static void test_crash_reported(void **state)
{
    expect_death("crash", F_CRASH, CLOAK_ECRASHED, "signal 11");
    expect_death("abort", F_ABORT, CLOAK_ECRASHED, "signal 6");
}

static void test_hang_reported(void **state)
{
    expect_death("loop", F_LOOP, CLOAK_ETIMEOUT, "within 1000 ms");
}

static void test_seccomp_kill_reported(void **state)
{
    expect_death("socket", F_SYSCALL, CLOAK_ECRASHED, "SIGSYS");
}

static cloak_err reverse_ocall(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out,
                               size_t out_cap, size_t *out_len)
{
    (*(int *)ctx)++;
    if (in_len > out_cap) return CLOAK_ERANGE;
    for (size_t i = 0; i < in_len; i++)
        out[i] = in[in_len - 1 - i];
    *out_len = in_len;
    return CLOAK_OK;
}

static void test_ocalls_log_storage_and_user(void **state)
{
    cloak_enclave *e = make("te_a", 0, 0);
    int count = 0;
    cloak_error why;
    assert_int_equal(cloak_enclave_set_ocall(e, 7, reverse_ocall, &count, &why), CLOAK_OK);
    assert_int_equal(cloak_enclave_set_ocall(e, CLOAK_FID_RESERVED, reverse_ocall, &count, &why),
                     CLOAK_EINVAL);
    uint8_t out[64];
    size_t n;
    cloak_err rc = call(e, F_OCALLS, "abcdef", 6, out, sizeof out, &n, &why);
    if (rc) fprintf(stderr, "ocalls: %s\n", why.msg);
    assert_int_equal(rc, CLOAK_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "fedcba", 6);
    assert_int_equal(count, 1);
    cloak_enclave_free(e);
}

static void test_sandbox_state(void **state)
{
    cloak_enclave *e = make("te_a", 0, 0);
    int pid = cloak_enclave_pid(e);
    assert_true(pid > 0);
    char path[64], line[256];
    /* seccomp filter mode and no_new_privs, from the kernel's view of the process */
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int seccomp = -1, nnp = -1;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "Seccomp: %d", &seccomp);
        sscanf(line, "NoNewPrivs: %d", &nnp);
    }
    fclose(f);
    assert_int_equal(seccomp, 2);
    assert_int_equal(nnp, 1);
    /* no core dumps */
    snprintf(path, sizeof path, "/proc/%d/limits", pid);
    f = fopen(path, "r");
    assert_non_null(f);
    int core_zero = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Max core file size", 18)) core_zero = strstr(line, " 0 ") != NULL;
    fclose(f);
    assert_true(core_zero);
    /* descriptors: 0-2 (/dev/null, or stderr in sanitizer builds) and the channel socket */
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        int fd = atoi(de->d_name);
        char target[256] = "", lp[512];
        snprintf(lp, sizeof lp, "%s/%s", path, de->d_name);
        ssize_t l = readlink(lp, target, sizeof target - 1);
        if (l > 0) target[l] = 0;
        fprintf(stderr, "enclave fd %d -> %s\n", fd, target);
        assert_true(fd <= 3);
        if (fd < 2) assert_string_equal(target, "/dev/null");
        if (fd == 3) assert_non_null(strstr(target, "socket:"));
        count++;
    }
    closedir(d);
    assert_int_equal(count, 4);
    cloak_enclave_free(e);
}

/* Runs in a child: as an unprivileged user, the enclave's memory must be out of reach. */
static int probe_memory_protection(void)
{
    char dir[] = "/tmp/cloak-test-unpriv-XXXXXX";
    if (!mkdtemp(dir)) return 10;
    if (geteuid() == 0) {
        if (chown(dir, 65534, 65534) < 0) return 11;
        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) return 12;
        /* changing uid made us undumpable; an ordinary process is dumpable */
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
    cloak_enclave_opts o = {.platform_dir = dir, .quiet = 1};
    cloak_enclave *e = NULL;
    cloak_error why;
    if (cloak_enclave_create(image("te_a"), &o, &e, &why)) {
        fprintf(stderr, "unprivileged create: %s\n", why.msg);
        return 13;
    }
    int pid = cloak_enclave_pid(e), rc = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", pid);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) rc = 20;
    if (!rc && ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) rc = 21;
    char buf[16];
    struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
    if (!rc && process_vm_readv(pid, &local, 1, &remote, 1, 0) >= 0) rc = 22;
    if (!rc && errno != EPERM) rc = 23;
    /* control: an ordinary process of the same user IS readable, so the probe can fail */
    static volatile uint64_t marker = 0x1122334455667788ull;
    pid_t plain = fork();
    if (plain == 0) {
        pause();
        _exit(0);
    }
    snprintf(path, sizeof path, "/proc/%d/mem", (int)plain);
    int cfd = open(path, O_RDONLY);
    uint64_t seen = 0;
    if (!rc &&
        (cfd < 0 || pread(cfd, &seen, 8, (off_t)(uintptr_t)&marker) != 8 || seen != marker)) {
        fprintf(stderr, "control read of an ordinary process failed: %s\n", strerror(errno));
        rc = 30;
    }
    if (cfd >= 0) close(cfd);
    kill(plain, SIGKILL);
    waitpid(plain, NULL, 0);
    cloak_enclave_free(e);
    return rc;
}

static void test_memory_unreadable_without_ptrace_capability(void **state)
{
    pid_t c = fork();
    if (c == 0) _exit(probe_memory_protection());
    int st = 0;
    waitpid(c, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_second_process_attaches(void **state)
{
    char sock[] = "/tmp/cloak-attach-XXXXXX";
    int tfd = mkstemp(sock);
    close(tfd);
    unlink(sock);
    cloak_enclave_opts o = {.platform_dir = platform_dir, .attach_path = sock, .quiet = 1};
    cloak_enclave *e = NULL;
    cloak_error why;
    assert_int_equal(cloak_enclave_create(image("te_a"), &o, &e, &why), CLOAK_OK);
    cloak_image_identity id;
    cloak_enclave_identity(e, &id);
    struct stat sst;
    assert_int_equal(stat(sock, &sst), 0);
    assert_true(S_ISSOCK(sst.st_mode));
    assert_int_equal(sst.st_mode & 0777, 0600);
    pid_t c = fork();
    if (c == 0) {
        /* another process: its own ring, same enclave, concurrent with the creator */
        cloak_enclave *b = NULL;
        cloak_error w2;
        if (cloak_enclave_attach(sock, 2000, &b, &w2)) _exit(10);
        cloak_image_identity idb;
        cloak_enclave_identity(b, &idb);
        if (memcmp(idb.mrenclave, id.mrenclave, 32)) _exit(11);
        uint8_t out[16];
        size_t n;
        for (int i = 0; i < 1000; i++)
            if (cloak_enclave_call(b, F_ECHO, (const uint8_t *)"ping", 4, out, sizeof out, &n,
                                   &w2) ||
                n != 4)
                _exit(12);
        if (cloak_enclave_pid(b) != -1) _exit(13);
        cloak_enclave_free(b);
        _exit(0);
    }
    uint8_t out[16];
    size_t n;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(call(e, F_ECHO, "pong", 4, out, sizeof out, &n, &why), CLOAK_OK);
    int st;
    waitpid(c, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    cloak_enclave_free(e);
    unlink(sock);
}

static cloak_err alloc_in(cloak_enclave *e, uint64_t bytes, cloak_error *why)
{
    uint8_t in[8], out[8];
    size_t n;
    cloak_put_u64le(in, bytes);
    return call(e, F_ALLOC, in, 8, out, sizeof out, &n, why);
}

static void test_heap_size_is_enforced(void **state)
{
#ifdef CLOAK_TEST_SANITIZED
    skip(); /* the sanitizer's allocator maps far beyond any heap; the runner does not limit it */
#endif
    cloak_error why;
    cloak_enclave *big = make("te_a", 0, 0); /* default heap, 64 MiB */
    assert_int_equal(alloc_in(big, 8u << 20, &why), CLOAK_OK);
    assert_int_equal(alloc_in(big, 128u << 20, &why), CLOAK_ENOMEM);
    cloak_enclave_free(big);
    cloak_enclave *small = make("te_heap1m", 0, 0); /* signed with --heap 1M */
    cloak_image_identity id;
    cloak_enclave_identity(small, &id);
    assert_int_equal(id.heap, 1u << 20);
    assert_int_equal(alloc_in(small, 64u << 10, &why), CLOAK_OK);
    assert_int_equal(alloc_in(small, 4u << 20, &why), CLOAK_ENOMEM);
    assert_non_null(strstr(why.msg, "refused"));
    /* the enclave survives its failed allocation */
    assert_int_equal(alloc_in(small, 64u << 10, &why), CLOAK_OK);
    cloak_enclave_free(small);
}

static int rm_entry(const char *p, const struct stat *s, int f, struct FTW *w)
{
    return remove(p);
}

static int setup(void **state)
{
    if (!mkdtemp(platform_dir)) return -1;
    return 0;
}

static int teardown(void **state)
{
    nftw(platform_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_roundtrip),
        cmocka_unit_test(test_large_call),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_tampered_image_refused),
        cmocka_unit_test(test_wrong_signer_refused),
        cmocka_unit_test(test_seal_to_measurement),
        cmocka_unit_test(test_seal_to_signer_with_svn),
        cmocka_unit_test(test_report_data_and_identity_in_quote),
        cmocka_unit_test(test_host_may_not_choose_report_data_by_default),
        cmocka_unit_test(test_debug_flag_reaches_quote),
        cmocka_unit_test(test_config_id_in_report),
        cmocka_unit_test(test_crash_reported),
        cmocka_unit_test(test_hang_reported),
        cmocka_unit_test(test_seccomp_kill_reported),
        cmocka_unit_test(test_ocalls_log_storage_and_user),
        cmocka_unit_test(test_sandbox_state),
        cmocka_unit_test(test_memory_unreadable_without_ptrace_capability),
        cmocka_unit_test(test_second_process_attaches),
        cmocka_unit_test(test_heap_size_is_enforced),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
