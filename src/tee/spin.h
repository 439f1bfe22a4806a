/* Adaptive waiting on the enclave call channel: the host waiting for an answer (host.c), the
 * enclave waiting for the next request or for an ocall's answer (runner/serve.c).
 *
 * The protocol is ch_wait's (channel.h), unchanged: spin on the sequence word, then announce
 * *waiting and FUTEX_WAIT on the word in slices of slice_ms, calling check() between slices;
 * the poster (ch_post_req / ch_post_resp) bumps the word and wakes only an announced sleeper.
 * Both sides use seq_cst on the word and the flag, so a wake-up cannot be lost.
 *
 * What differs is how long to spin. ch_wait spins a fixed time, and at least 512 PAUSEs
 * (~20 us on current x86), before it sleeps. Spinning pays only when the wait is shorter than
 * what sleeping costs (a futex wait, the poster's futex wake, two context switches: on the
 * order of 10 us of CPU); on a loaded machine with few cores every microsecond spun is taken
 * from the very thread the spinner waits for. So each kind of wait keeps a running average of
 * how long its recent waits took and spins only while that is short: for twice the average
 * (plus 1 us), at most max_ns. When the average is longer than max_ns / 2 it sleeps at once;
 * every 32nd such wait spins max_ns once, so a return to short waits is noticed.
 *
 * Trust: nothing here trusts the peer. A hostile peer can make us spin at most max_ns per wait
 * or sleep; check() still runs between futex slices. */
#ifndef CLOAK_TEE_SPIN_H
#define CLOAK_TEE_SPIN_H

#include "tee/channel.h"

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPIN_PROBE_EVERY 32u

typedef struct {
    uint64_t avg_ns; /* running average (weight 1/8) of recent waits, each capped at 4 x max */
    uint32_t since_probe;
    int init;
} spin_hist;

static inline uint64_t spin_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void spin_note(spin_hist *h, uint64_t max_ns, uint64_t took)
{
    if (took > 4 * max_ns) took = 4 * max_ns;
    h->avg_ns = (7 * h->avg_ns + took) / 8;
}

/* Wait until *seq moves past `seen`: 0, or check()'s non-zero result. */
static inline int spin_wait(spin_hist *h, uint64_t max_ns, _Atomic uint32_t *seq,
                            _Atomic uint32_t *waiting, uint32_t seen, unsigned slice_ms,
                            ch_check_fn check, void *ctx)
{
    if (!h->init) {
        h->avg_ns = max_ns / 4; /* start out spinning */
        h->init = 1;
    }
    uint64_t start = spin_now_ns();
    if (atomic_load_explicit(seq, memory_order_acquire) != seen) {
        spin_note(h, max_ns, 0);
        return 0;
    }
    uint64_t budget = 2 * h->avg_ns <= max_ns ? 2 * h->avg_ns + 1000 : 0;
    if (!budget && ++h->since_probe >= SPIN_PROBE_EVERY) {
        budget = max_ns;
        h->since_probe = 0;
    }
    if (budget > max_ns) budget = max_ns;
    while (budget) {
        for (int k = 0; k < 16; k++) {
            if (atomic_load_explicit(seq, memory_order_acquire) != seen) goto moved;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#else
            atomic_signal_fence(memory_order_seq_cst);
#endif
        }
        if (spin_now_ns() - start >= budget) break;
    }
    for (;;) {
        atomic_store(waiting, 1);
        if (atomic_load(seq) != seen) break;
        struct timespec ts = {slice_ms / 1000, (long)(slice_ms % 1000) * 1000000L};
        syscall(SYS_futex, (uint32_t *)seq, FUTEX_WAIT, seen, &ts, NULL, 0);
        if (atomic_load(seq) != seen) break;
        atomic_store(waiting, 0);
        int rc = check ? check(ctx) : 0;
        if (rc) return rc;
    }
    atomic_store(waiting, 0);
moved:
    spin_note(h, max_ns, spin_now_ns() - start);
    return 0;
}

#endif
