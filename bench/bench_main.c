/* cloak-bench: the performance tables of `make bench`. */
#include "bench.h"

#include "vault/wipe_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_quantile(double *s, size_t n, double q)
{
    qsort(s, n, sizeof *s, cmp);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return s[i < n ? i : n - 1];
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    /* CLOAK_BENCH_WIPE_ALLOC=1: the wipe-on-free allocators of `cloak vault serve`, for the
     * whole process (service and load generator): an upper bound of their cost */
    cloak_error we = {0};
    if (getenv("CLOAK_BENCH_WIPE_ALLOC") && cloak_vault_wipe_alloc_install(&we)) {
        fprintf(stderr, "cloak-bench: %s\n", we.msg);
        return 1;
    }
    if (!only || !strcmp(only, "enclave")) bench_enclave_calls();
    if (!only || !strcmp(only, "evidence")) bench_evidence();
    if (!only || !strcmp(only, "attest")) bench_attest();
    if (!only || !strcmp(only, "vault")) bench_vault();
    return 0;
}
