/* The crash test's process control (see vcrash_proc.h): fork/exec of `cloak vault serve`,
 * SIGKILL, reaping of orphans as a subreaper, and SQLite's own integrity check of the file.
 * Nothing here trusts the server: its output is parsed defensively and bounded in time. */
#include "vcrash_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

double vnow(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *vtmpdir(void)
{
    char t[] = "/tmp/cloak-vault-crash-XXXXXX";
    return mkdtemp(t) ? strdup(t) : NULL;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void vrm_rf(char *path)
{
    if (path && *path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

int vproc_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    return prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) ? -1 : 0;
}

void vread_tail(const char *path, char *dst, size_t max)
{
    dst[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f || max < 2) {
        if (f) fclose(f);
        return;
    }
    if (fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        long from = sz > (long)(max - 1) ? sz - (long)(max - 1) : 0;
        if (fseek(f, from, SEEK_SET) == 0) {
            size_t n = fread(dst, 1, max - 1, f);
            dst[n] = 0;
        }
    }
    fclose(f);
}

static void close_proc(vproc *p)
{
    if (p->out_fd >= 0) close(p->out_fd);
    p->out_fd = -1;
    p->pid = 0;
}

int vproc_alive(vproc *p, int *status)
{
    if (p->pid <= 0) return 0;
    int st = 0;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == 0) return 1;
    if (status) *status = r == p->pid ? st : -1;
    close_proc(p);
    return 0;
}

int vproc_kill(vproc *p)
{
    if (p->pid <= 0) return -1;
    int st = -1;
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {
    }
    close_proc(p);
    return st;
}

int vproc_term(vproc *p, double seconds)
{
    if (p->pid <= 0) return -1;
    kill(p->pid, SIGTERM);
    double end = vnow() + seconds;
    int st = 0;
    while (vnow() < end) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            close_proc(p);
            return st;
        }
        usleep(10000);
    }
    vproc_kill(p);
    return -1;
}

/* Parse "listening on HOST port N" out of the server's stdout. */
static int parse_port(const char *buf, uint16_t *port)
{
    const char *l = strstr(buf, "listening on ");
    const char *pt = l ? strstr(l, " port ") : NULL;
    if (!pt || !strchr(pt, '\n')) return 0;
    char *end = NULL;
    long v = strtol(pt + 6, &end, 10);
    if (end == pt + 6 || v <= 0 || v > 65535) return 0;
    *port = (uint16_t)v;
    return 1;
}

int vproc_start(const char *cloak_bin, const char *data_dir, const char *plat_dir,
                const char *err_path, vproc *p, char *why, size_t why_len)
{
    int fds[2];
    memset(p, 0, sizeof *p);
    p->out_fd = -1;
    if (pipe2(fds, O_CLOEXEC)) {
        snprintf(why, why_len, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_len, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int efd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (efd < 0 || dup2(fds[1], 1) < 0 || dup2(efd, 2) < 0) _exit(126);
        setenv("CLOAK_PLATFORM_DIR", plat_dir, 1);
        signal(SIGPIPE, SIG_DFL);
        execl(cloak_bin, cloak_bin, "vault", "serve", "--listen", "127.0.0.1:0", "--data", data_dir,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    p->pid = pid;
    p->out_fd = fds[0];
    char buf[2048];
    size_t n = 0;
    int eof = 0;
    double end = vnow() + 30.0;
    while (vnow() < end) {
        struct pollfd pf = {.fd = p->out_fd, .events = POLLIN};
        int pr = poll(&pf, 1, 100);
        if (pr < 0 && errno != EINTR) break;
        if (pr > 0) {
            ssize_t r = read(p->out_fd, buf + n, sizeof buf - 1 - n);
            if (r > 0) {
                n += (size_t)r;
                buf[n] = 0;
                if (parse_port(buf, &p->port)) {
                    snprintf(p->url, sizeof p->url, "https://127.0.0.1:%u", (unsigned)p->port);
                    return 0;
                }
                if (n == sizeof buf - 1) break;
                continue;
            }
            if (r == 0) { /* stdout closed: the server exited */
                eof = 1;
                break;
            }
        }
    }
    int st = 0;
    char err[1200];
    if (eof) { /* stdout closed: the server is exiting; wait for its status */
        while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {
        }
        close_proc(p);
        vread_tail(err_path, err, sizeof err);
        snprintf(why, why_len, "the server exited (%s %d) before listening; stderr: %s",
                 WIFEXITED(st) ? "status" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), err);
    } else {
        vproc_kill(p);
        vread_tail(err_path, err, sizeof err);
        snprintf(why, why_len, "no \"listening on\" line within 30 s; stdout: %.300s; stderr: %s",
                 n ? buf : "", err);
    }
    return -1;
}

/* Pids of this process's children, from /proc (the orphans reparented to us). */
static size_t list_children(pid_t *out, size_t max)
{
    size_t n = 0;
    DIR *d = opendir("/proc");
    if (!d) return 0;
    struct dirent *de;
    pid_t me = getpid();
    while ((de = readdir(d)) && n < max) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], st[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t r = fread(st, 1, sizeof st - 1, f);
        fclose(f);
        st[r] = 0;
        const char *rp = strrchr(st, ')'); /* comm may hold spaces */
        char state;
        long ppid;
        if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == me)
            out[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

int vproc_reap_orphans(double seconds, char *why, size_t why_len)
{
    double end = vnow() + seconds;
    pid_t kids[64];
    size_t n = 0;
    why[0] = 0;
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        n = list_children(kids, 64);
        if (!n || vnow() >= end) break;
        usleep(2000);
    }
    if (!n) return 0;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        char comm[64] = "?", path[64];
        snprintf(path, sizeof path, "/proc/%d/comm", (int)kids[i]);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(comm, sizeof comm, f)) snprintf(comm, sizeof comm, "?");
            fclose(f);
            comm[strcspn(comm, "\n")] = 0;
        }
        if (off < why_len)
            off += (size_t)snprintf(why + off, why_len - off, "%spid %d (%s)", i ? ", " : "",
                                    (int)kids[i], comm);
        kill(kids[i], SIGKILL); /* our own descendants, by id */
    }
    for (size_t i = 0; i < n; i++)
        waitpid(kids[i], NULL, 0);
    return (int)n;
}

int vdb_integrity(const char *db_path, long *pages, char *why, size_t why_len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    why[0] = 0;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(why, why_len, "open %s read-only: %s", db_path, db ? sqlite3_errmsg(db) : "?");
        goto out;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        snprintf(why, why_len, "integrity_check on %s: %s", db_path, sqlite3_errmsg(db));
        goto out;
    }
    int s = sqlite3_step(st);
    const unsigned char *txt = s == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
    if (!txt || strcmp((const char *)txt, "ok")) {
        snprintf(why, why_len, "integrity_check on %s: %s", db_path,
                 txt ? (const char *)txt : sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (pages) {
        *pages = -1;
        if (sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            *pages = (long)sqlite3_column_int64(st, 0);
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
