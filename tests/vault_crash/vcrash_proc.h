/* The crash test's process control: run `cloak vault serve` as a child process, wait until it
 * answers, SIGKILL it, reap what it leaves behind (its enclave runner), and check the database
 * file with SQLite itself (read-only) while no server has it open.
 *
 * Trust: the server under test is untrusted; every reply is checked by the caller. The test
 * process becomes a child subreaper, so processes orphaned by a killed server are reparented
 * to it and can be seen (and reaped) here. */
#ifndef CLOAK_TEST_VCRASH_PROC_H
#define CLOAK_TEST_VCRASH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    int out_fd; /* the read end of the server's stdout */
    uint16_t port;
    char url[64]; /* https://127.0.0.1:PORT */
} vproc;

/* Make this process a child subreaper (call once, first). 0 on success. */
int vproc_init(void);

/* Start `cloak vault serve --listen 127.0.0.1:0 --data data_dir` with CLOAK_PLATFORM_DIR =
 * plat_dir and stderr to err_path; returns once the "listening on HOST port N" line was read
 * (0), or -1 with a message in why (including the server's stderr when it exited). */
int vproc_start(const char *cloak_bin, const char *data_dir, const char *plat_dir,
                const char *err_path, vproc *p, char *why, size_t why_len);

/* 1 if the server process is still running; else 0 and its wait status in *status. */
int vproc_alive(vproc *p, int *status);

/* SIGKILL the server and wait for it. Returns its wait status (-1 when it was already gone
 * and reaped by vproc_alive). */
int vproc_kill(vproc *p);

/* SIGTERM the server and wait up to `seconds` for a clean exit; returns its wait status, -1
 * on timeout (the server is then SIGKILLed). */
int vproc_term(vproc *p, double seconds);

/* Reap orphans reparented to this process (the killed server's enclave runner). Waits up to
 * `seconds` for them to exit; returns how many are still running then (their pids listed in
 * why; they are SIGKILLed and reaped so the next round starts clean). */
int vproc_reap_orphans(double seconds, char *why, size_t why_len);

/* PRAGMA integrity_check on the database file, opened read-only with SQLite (WAL and -shm as
 * the server left them). 0 when SQLite answers "ok"; else -1 and its answer in why. Also
 * returns the page count in *pages (may be NULL). */
int vdb_integrity(const char *db_path, long *pages, char *why, size_t why_len);

/* The last max-1 bytes of a file, NUL-terminated (for error messages); "" when unreadable. */
void vread_tail(const char *path, char *dst, size_t max);

double vnow(void);

/* A fresh directory under /tmp (malloc'd); vrm_rf removes it (and frees the path). */
char *vtmpdir(void);
void vrm_rf(char *path);

#endif
