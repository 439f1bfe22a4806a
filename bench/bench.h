/* cloak-bench: shared helpers. Every table compares against a baseline measured in the same
 * run; nothing here asserts on time. */
#ifndef CLOAK_BENCH_H
#define CLOAK_BENCH_H

#include <stddef.h>
#include <stdint.h>

uint64_t bench_now_ns(void);
/* Sort samples (ns) and return the value at quantile q in [0,1]. */
double bench_quantile(double *samples, size_t n, double q);

/* ---- the HTTPS load generator (bench_load.c) ---- */
#define BENCH_LOAD_MAX_CONNS 8

typedef struct {
    const char *method;         /* NULL = POST */
    const char *url, *ca;       /* ca: the service's CA file */
    const char *const *headers; /* NULL-terminated; NULL = Content-Type: application/json */
    const char *body;           /* the same body on every request (may be NULL) ... */
    /* ... or a fresh one per request: write it into buf (cap bytes), return its length.
     * Called on the connection's thread (conn = 0..conns-1, n = its request number). */
    size_t (*body_fn)(void *arg, unsigned conn, uint64_t n, char *buf, size_t cap);
    void *body_arg;
    long want_status; /* a success; 0 = 200 */
} bench_load_req;

typedef struct {
    double per_s, p50_ms, p99_ms; /* successful requests/s; latency of all requests */
    /* CPU time of this whole process (service and clients alike, all threads) during the run,
     * per successful request, in microseconds. Unlike per_s it barely moves when other
     * processes share the cores. child_cpu_us: the same for this process's child processes
     * (an in-process vault's enclave runner; 10 ms clock-tick resolution), 0 without any. */
    double cpu_us, child_cpu_us;
    uint64_t ok, errors, reconnects;
    char first_error[160];
} bench_load_result;

/* `conns` threads (at most BENCH_LOAD_MAX_CONNS), one keep-alive connection each, for
 * `seconds`. Returns 0. */
int bench_load_run(const bench_load_req *req, unsigned conns, double seconds,
                   bench_load_result *out);

void bench_enclave_calls(void);
void bench_evidence(void);
void bench_attest(void);
void bench_vault(void);

#endif
