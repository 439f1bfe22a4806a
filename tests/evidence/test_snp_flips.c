/* Every real SEV-SNP report verifies, and a single flipped bit anywhere in what the signature
 * protects -- the signed region [0, 0x2A0) and R and S [0x2A0, 0x330) -- makes it fail.
 *
 * That is 5376 + 1152 = 6528 bits per report. SNP_FLIPS_PER_FILE = 0 walks all of them; a
 * positive value takes that many distinct bits per file from a fixed-seed shuffle (the same bits
 * every run), for when the full walk is too slow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "evidence/snp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef SNP_FLIPS_PER_FILE
#define SNP_FLIPS_PER_FILE 0
#endif
#define NBITS ((SNP_SIG_OFFSET + 2 * SNP_SIG_COMPONENT) * 8u)

typedef struct {
    const char *report;
    const char *certs[3];
    const char *at; /* inside the VCEK/VLEK validity (MANIFEST.md) */
} vector;

static const vector vectors[] = {
    {"go-sev-guest/attestation_milan_v2.bin",
     {"go-sev-guest/vcek_milan.der"},
     "2024-01-01T00:00:00Z"},
    {"virtee-sev/report_milan_v2.bin", {"virtee-sev/vcek_milan.der"}, "2024-01-01T00:00:00Z"},
    {"trustee/snp_milan_v2_report.bin", {"trustee/snp_milan_vcek.der"}, "2024-06-01T00:00:00Z"},
    {"trustee/snp_milan_v3_vlek_report.bin",
     {"trustee/snp_milan_vlek.der", "trustee/milan_ask_ark_asvk.pem"},
     "2025-06-01T00:00:00Z"},
    {"trustee/az_snp_genoa_v3_report.bin",
     {"trustee/az_snp_genoa_vcek.pem"},
     "2025-06-01T00:00:00Z"},
    {"trustee/az_snp_milan_v2_report.bin",
     {"trustee/az_snp_milan_vcek_chain.pem"},
     "2024-06-01T00:00:00Z"},
    {"teekit/sev-gcp.bin",
     {"teekit/sev-gcp-vcek.pem", "teekit/sev-gcp-cert-chain.pem"},
     "2026-01-01T00:00:00Z"},
    {"teekit/sev-gcp-reportdata.bin", {"teekit/sev-gcp-vcek.pem"}, "2026-01-01T00:00:00Z"},
    {"teekit/sev-gcp-x25519-bound.bin", {"teekit/sev-gcp-x25519-vcek.pem"}, "2026-01-01T00:00:00Z"},
};

static cloak_trust *g_trust;

static void load(const char *rel, uint8_t **p, size_t *n)
{
    char path[512];
    cloak_error why = {0};
    snprintf(path, sizeof path, "%s/%s", CLOAK_VECTORS, rel);
    if (cloak_file_read(path, p, n, &why)) fprintf(stderr, "%s: %s\n", path, why.msg);
    assert_non_null(*p);
}

/* xorshift64*: a fixed sequence, so a sampled run checks the same bits every time */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static unsigned sample_size(void)
{
    return SNP_FLIPS_PER_FILE > 0 && SNP_FLIPS_PER_FILE < NBITS ? SNP_FLIPS_PER_FILE : 0;
}

static void walk(const vector *v)
{
    uint8_t *rep, *cp[3] = {0};
    size_t rn, cn[3] = {0}, nc = 0;
    load(v->report, &rep, &rn);
    for (; nc < 3 && v->certs[nc]; nc++)
        load(v->certs[nc], &cp[nc], &cn[nc]);
    struct tm tm = {0};
    assert_non_null(strptime(v->at, "%Y-%m-%dT%H:%M:%SZ", &tm));
    cloak_verify_opts o = {.type = CLOAK_TEE_SNP,
                           .trust = g_trust,
                           .certs = (const uint8_t *const *)cp,
                           .cert_lens = cn,
                           .ncerts = nc,
                           .at = timegm(&tm)};
    cloak_error why;
    json_t *c = NULL;
    if (cloak_evidence_verify(rep, rn, &o, &c, &why))
        fprintf(stderr, "%s: %s\n", v->report, why.msg);
    assert_non_null(c); /* the unmodified report verifies, so a failure below is the flip's doing */
    json_decref(c);

    static unsigned bits[NBITS];
    for (unsigned i = 0; i < NBITS; i++)
        bits[i] = i;
    unsigned n = NBITS, k = sample_size();
    if (k) {
        uint64_t seed = 0x534e50u + (uint64_t)(v - vectors); /* per file, fixed */
        for (unsigned i = 0; i < k; i++) {
            unsigned j = i + (unsigned)(next_rand(&seed) % (NBITS - i));
            unsigned t = bits[i];
            bits[i] = bits[j];
            bits[j] = t;
        }
        n = k;
    }
    unsigned accepted = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned byte = bits[i] / 8, bit = bits[i] % 8;
        rep[byte] ^= (uint8_t)(1u << bit);
        c = NULL;
        if (cloak_evidence_verify(rep, rn, &o, &c, &why) == CLOAK_OK) {
            fprintf(stderr, "%s: flipping bit %u of byte 0x%03x was accepted\n", v->report, bit,
                    byte);
            accepted++;
            json_decref(c);
        }
        rep[byte] ^= (uint8_t)(1u << bit);
    }
    printf("%s: %u flips, %u accepted\n", v->report, n, accepted);
    assert_int_equal(accepted, 0);
    free(rep);
    for (size_t i = 0; i < nc; i++)
        free(cp[i]);
}

static void test_every_flip_in_the_signed_bytes_is_rejected(void **state)
{
    for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++)
        walk(&vectors[i]);
}

static int setup(void **state)
{
    cloak_error why;
    return cloak_trust_new(0, NULL, &g_trust, &why) ? -1 : 0;
}

static int teardown(void **state)
{
    cloak_trust_free(g_trust);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_flip_in_the_signed_bytes_is_rejected)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
