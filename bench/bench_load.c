/* cloak-bench: the HTTPS load generator shared by the service tables (bench_attest.c,
 * bench_vault.c). N client threads, each holding one keep-alive HTTPS connection
 * (cloak_http_client, TLS verified against the service's CA), send requests back to back until
 * a deadline; every latency (successful and failed requests alike) is kept for the quantiles.
 * Nothing asserts on time. */
#include "bench.h"

#include "cloak/http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#define BODY_CAP 16384

typedef struct {
    const bench_load_req *req;
    unsigned conn;
    uint64_t deadline;
    uint64_t ok, errors, reconnects;
    double *lat; /* ns */
    size_t nlat, cap;
    char first_error[160];
} client_arg;

static void note_error(client_arg *a, const char *what, long status, const char *detail,
                       size_t detail_len)
{
    a->errors++;
    if (!a->first_error[0])
        snprintf(a->first_error, sizeof a->first_error, "%s %ld: %.*s", what, status,
                 (int)(detail_len < 100 ? detail_len : 100), detail);
}

static void *client_main(void *p)
{
    client_arg *a = p;
    const bench_load_req *q = a->req;
    cloak_http_client *c = NULL;
    cloak_error e = {0};
    static const char *const json_hdrs[] = {"Content-Type: application/json", NULL};
    const char *const *hdrs = q->headers ? q->headers : json_hdrs;
    const char *method = q->method ? q->method : "POST";
    long want = q->want_status ? q->want_status : 200;
    char *buf = q->body_fn ? malloc(BODY_CAP) : NULL;
    if (cloak_http_client_new(q->ca, &c, &e) || (q->body_fn && !buf)) {
        note_error(a, "client", 0, e.msg, strlen(e.msg));
        free(buf);
        return NULL;
    }
    size_t fixed_len = q->body ? strlen(q->body) : 0;
    for (uint64_t n = 0; bench_now_ns() < a->deadline; n++) {
        const char *body = q->body;
        size_t len = fixed_len;
        if (q->body_fn) {
            len = q->body_fn(q->body_arg, a->conn, n, buf, BODY_CAP);
            body = buf;
        }
        cloak_http_response r = {0};
        uint64_t t0 = bench_now_ns();
        cloak_err rc = cloak_http_client_fetch(c, method, q->url, hdrs, (const uint8_t *)body,
                                               body ? len : 0, &r, &e);
        uint64_t dt = bench_now_ns() - t0;
        if (a->nlat == a->cap) {
            size_t ncap = a->cap ? a->cap * 2 : 4096;
            double *nl = realloc(a->lat, ncap * sizeof *nl);
            if (!nl) break;
            a->lat = nl;
            a->cap = ncap;
        }
        a->lat[a->nlat++] = (double)dt;
        if (rc) {
            note_error(a, "transport", 0, e.msg, strlen(e.msg));
            continue;
        }
        if (r.new_connections) a->reconnects += (uint64_t)r.new_connections;
        if (r.status == want)
            a->ok++;
        else
            note_error(a, "HTTP", r.status, r.body.p ? (const char *)r.body.p : "",
                       r.body.p ? r.body.len : 0);
        cloak_http_response_free(&r);
    }
    cloak_http_client_free(c);
    free(buf);
    return NULL;
}

/* CPU seconds used so far by this process's live child processes (the enclave runner of an
 * in-process vault), from /proc/PID/stat; 0 when there are none. */
static double children_cpu_s(void)
{
    double sum = 0;
    long tck = sysconf(_SC_CLK_TCK);
    DIR *d = opendir("/proc");
    struct dirent *de;
    if (!d || tck <= 0) {
        if (d) closedir(d);
        return 0;
    }
    while ((de = readdir(d))) {
        char path[300], buf[1024];
        if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *rp = strrchr(buf, ')');
        int ppid = 0;
        unsigned long ut = 0, st = 0;
        /* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime stime */
        if (rp &&
            sscanf(rp + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ppid, &ut, &st) ==
                3 &&
            ppid == (int)getpid())
            sum += (double)(ut + st) / (double)tck;
    }
    closedir(d);
    return sum;
}

int bench_load_run(const bench_load_req *req, unsigned conns, double seconds,
                   bench_load_result *out)
{
    client_arg args[BENCH_LOAD_MAX_CONNS];
    pthread_t th[BENCH_LOAD_MAX_CONNS];
    memset(args, 0, sizeof args);
    memset(out, 0, sizeof *out);
    if (conns > BENCH_LOAD_MAX_CONNS) conns = BENCH_LOAD_MAX_CONNS;
    struct timespec cpu0, cpu1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    double child0 = children_cpu_s();
    uint64_t start = bench_now_ns(), deadline = start + (uint64_t)(seconds * 1e9);
    unsigned started = 0;
    for (unsigned i = 0; i < conns; i++) {
        args[i] = (client_arg){.req = req, .conn = i, .deadline = deadline};
        if (pthread_create(&th[i], NULL, client_main, &args[i])) break;
        started++;
    }
    size_t n = 0;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        n += args[i].nlat;
    }
    uint64_t elapsed = bench_now_ns() - start;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
    double child_s = children_cpu_s() - child0;
    double cpu_s =
        (double)(cpu1.tv_sec - cpu0.tv_sec) + (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
    double *all = malloc((n ? n : 1) * sizeof *all);
    size_t k = 0;
    for (unsigned i = 0; i < started; i++) {
        if (all && args[i].nlat) memcpy(all + k, args[i].lat, args[i].nlat * sizeof *all);
        k += args[i].nlat;
        out->ok += args[i].ok;
        out->errors += args[i].errors;
        out->reconnects += args[i].reconnects;
        if (!out->first_error[0] && args[i].first_error[0])
            memcpy(out->first_error, args[i].first_error, sizeof out->first_error);
        free(args[i].lat);
    }
    if (started < conns) {
        out->errors++;
        snprintf(out->first_error, sizeof out->first_error, "only %u of %u threads started",
                 started, conns);
    }
    out->per_s = (double)out->ok / ((double)elapsed / 1e9);
    out->cpu_us = out->ok ? cpu_s * 1e6 / (double)out->ok : 0;
    out->child_cpu_us = out->ok && child_s > 0 ? child_s * 1e6 / (double)out->ok : 0;
    if (all && n) {
        out->p50_ms = bench_quantile(all, n, 0.50) / 1e6;
        out->p99_ms = bench_quantile(all, n, 0.99) / 1e6;
    }
    free(all);
    return 0;
}
