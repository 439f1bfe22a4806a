/* cloak-bench: shared helpers. Every table compares against a baseline measured in the same
 * run; nothing here asserts on time. */
#ifndef CLOAK_BENCH_H
#define CLOAK_BENCH_H

#include <stddef.h>
#include <stdint.h>

uint64_t bench_now_ns(void);
/* Sort samples (ns) and return the value at quantile q in [0,1]. */
double bench_quantile(double *samples, size_t n, double q);

void bench_enclave_calls(void);
void bench_evidence(void);
void bench_attest(void);

#endif
