/* Evidence verification throughput beside the raw signature verifications it performs, measured
 * in this run. DCAP: the real dcap-qvl SGX quote with its collateral loaded once (cached);
 * SNP: the go-sev-guest Milan report with its VCEK. */
#include "bench.h"

#include "cloak/evidence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define V BENCH_VECTORS

static double rate(uint64_t n, uint64_t ns)
{
    return (double)n / ((double)ns / 1e9);
}

/* Raw ECDSA verifies of one signature with a pre-parsed key: the floor a verifier cannot beat. */
static double raw_verify_rate(int nid, const EVP_MD *md, double seconds)
{
    EVP_PKEY *k = EVP_EC_gen(OBJ_nid2sn(nid));
    uint8_t msg[432] = {1}, sig[160];
    size_t siglen = sizeof sig;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestSignInit(c, NULL, md, NULL, k);
    EVP_DigestSign(c, sig, &siglen, msg, sizeof msg);
    uint64_t t0 = bench_now_ns(), n = 0;
    while (bench_now_ns() - t0 < (uint64_t)(seconds * 1e9)) {
        for (int i = 0; i < 100; i++) {
            EVP_DigestVerifyInit(c, NULL, md, NULL, k);
            if (EVP_DigestVerify(c, sig, siglen, msg, sizeof msg) != 1) abort();
        }
        n += 100;
    }
    double r = rate(n, bench_now_ns() - t0);
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return r;
}

static double verify_rate(const uint8_t *ev, size_t len, const cloak_verify_opts *o, double seconds,
                          cloak_error *why)
{
    json_t *claims = NULL;
    if (cloak_evidence_verify(ev, len, o, &claims, why)) return -1;
    json_decref(claims);
    uint64_t t0 = bench_now_ns(), n = 0;
    while (bench_now_ns() - t0 < (uint64_t)(seconds * 1e9)) {
        for (int i = 0; i < 20; i++) {
            if (cloak_evidence_verify(ev, len, o, &claims, why)) return -1;
            json_decref(claims);
        }
        n += 20;
    }
    return rate(n, bench_now_ns() - t0);
}

void bench_evidence(void)
{
    cloak_error why = {0};
    cloak_trust *trust = NULL;
    cloak_collateral *coll = NULL;
    uint8_t *quote = NULL, *report = NULL, *vcek = NULL;
    size_t qlen = 0, rlen = 0, vlen = 0;
    printf("\n## Evidence verification (1 core, same run)\n\n");
    if (cloak_trust_new(0, NULL, &trust, &why) ||
        cloak_file_read(V "/dcap-qvl/sgx_quote.dat", &quote, &qlen, &why) ||
        cloak_file_read(V "/go-sev-guest/attestation_milan_v2.bin", &report, &rlen, &why) ||
        cloak_file_read(V "/go-sev-guest/vcek_milan.der", &vcek, &vlen, &why)) {
        printf("skipped: %s\n", why.msg);
        goto out;
    }
    double p256 = raw_verify_rate(NID_X9_62_prime256v1, EVP_sha256(), 0.5);
    double p384 = raw_verify_rate(NID_secp384r1, EVP_sha384(), 0.5);
    /* Per SGX quote from a known platform: the quote signature and the QE report signature =
     * 2 ECDSA-P256 verifies. The PCK chain (2 more) and the collateral's signatures are verified
     * once per trust and collateral and then cached; times and revocation are checked per call. */
    double sgx_floor = p256 / 2;
    printf("| what | per second | cost vs its raw verifies |\n|---|---|---|\n");
    printf("| raw ECDSA-P256 verify | %.0f | - |\n", p256);
    printf("| raw ECDSA-P384 verify | %.0f | - |\n", p384);
    cloak_err rc = cloak_collateral_load(V "/dcap-qvl/sgx_quote_collateral", &coll, &why);
    cloak_verify_opts o = {
        .type = CLOAK_TEE_SGX, .trust = trust, .collateral = rc ? NULL : coll, .at = 1752919277};
    double sgx = verify_rate(quote, qlen, &o, 1.0, &why);
    if (sgx < 0)
        printf("| SGX quote verify | n/a: %s | - |\n", why.msg);
    else
        printf("| SGX quote verify%s | %.0f | %.2fx the 2 P-256 verifies it needs (%.0f/s) |\n",
               rc ? " (no collateral)" : ", collateral and PCK chain cached", sgx, sgx_floor / sgx,
               sgx_floor);
    const uint8_t *certs[1] = {vcek};
    size_t lens[1] = {vlen};
    cloak_verify_opts so = {.type = CLOAK_TEE_SNP,
                            .trust = trust,
                            .certs = certs,
                            .cert_lens = lens,
                            .ncerts = 1,
                            .at = 1700000000};
    double snp = verify_rate(report, rlen, &so, 1.0, &why);
    if (snp < 0)
        printf("| SNP report verify | n/a: %s | - |\n", why.msg);
    else
        printf("| SNP report verify, VCEK chain cached | %.0f | %.2fx the P-384 verify it needs "
               "(%.0f/s) |\n",
               snp, p384 / snp, p384);
    printf("\nTargets: SGX >= 5,000/s/core and <= 1.5x its raw verifies.\n");
out:
    cloak_collateral_free(coll);
    cloak_trust_free(trust);
    free(quote);
    free(report);
    free(vcek);
}
