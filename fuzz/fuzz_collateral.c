/*
 * libFuzzer target for DCAP collateral: the TCB info and QE identity body parsers, the dcap-qvl
 * collateral JSON loader, the PCS response splitter / JSON span scanner, and TCB evaluation
 * with fixed PCK values (the quote side hands us those after verifying the PCK chain).
 *
 * The first input byte picks what the rest is:
 *   0  a TCB info body, next to the dcap-qvl SGX collateral's other parts -> evaluate as SGX
 *   1  a QE identity body, next to the SGX parts                         -> evaluate as SGX
 *   2  a TCB info body, next to the dcap-qvl TDX parts                    -> evaluate as TDX
 *   3  a whole dcap-qvl collateral JSON file -> evaluate both ways, dcap_collateral_check
 *   4  a PCS response ({"tcbInfo"|"enclaveIdentity":{...},"signature":...}) -> split, span
 * Seeds (fuzz/corpus/fuzz_collateral/) are the real vectors with that prefix byte.
 *
 * Invariants checked: a failure leaves a message and no output; a success yields a status in
 * range, an advisory array and a tcbDate that the parser accepted; a span lies inside the input.
 * The fixed parts come from shared/vectors/attestation ($CLOAK_VECTORS, else found relative to
 * this source file).
 */
#include "evidence/collateral_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum { P_TCB, P_TCB_SIG, P_QE, P_QE_SIG, P_ROOT_CRL, P_PCK_CRL, P_CHAIN, P_PCK_CHAIN, P_N };
static const char *const part_files[P_N] = {
    "tcb_info_body.json", "tcb_info.sig", "qe_identity_body.json", "qe_identity.sig",
    "root_ca_crl.der",    "pck_crl.der",  "tcb_signing_chain.pem", "pck_crl_issuer_chain.pem",
};

typedef struct {
    uint8_t *p[P_N];
    size_t len[P_N];
    uint8_t qe_report[384];
    uint8_t td[584];
    dcap_pck_tcb pck;
} fixed_set;

static fixed_set sgx, tdx;
static X509 *intel_root;

static uint8_t *read_all(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    uint8_t *p = NULL;
    cloak_error e;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (cloak_file_read(path, &p, len, &e) != CLOAK_OK) {
        fprintf(stderr, "fuzz_collateral: %s (set CLOAK_VECTORS)\n", e.msg);
        abort();
    }
    return p;
}

static void load_set(fixed_set *s, const char *vec, const char *coll, const char *quote,
                     size_t qe_off, size_t td_off)
{
    char dir[1024];
    size_t qlen;
    snprintf(dir, sizeof dir, "%s/%s", vec, coll);
    for (int i = 0; i < P_N; i++)
        s->p[i] = read_all(dir, part_files[i], &s->len[i]);
    uint8_t *q = read_all(vec, quote, &qlen);
    if (qlen < qe_off + 384 || qlen < td_off + 584) abort();
    memcpy(s->qe_report, q + qe_off, 384);
    memcpy(s->td, q + td_off, 584);
    free(q);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char vec[1024];
    const char *env = getenv("CLOAK_VECTORS");
    if (env) {
        snprintf(vec, sizeof vec, "%s", env);
    } else { /* <repo>/fuzz/fuzz_collateral.c -> <repo>/../shared/vectors/attestation */
        snprintf(vec, sizeof vec, "%s", __FILE__);
        char *slash = strrchr(vec, '/');
        if (slash) *slash = 0;
        slash = strrchr(vec, '/');
        if (slash) *slash = 0;
        strncat(vec, "/../shared/vectors/attestation", sizeof vec - strlen(vec) - 1);
    }
    /* offsets: attestation.md §1 (v3 QE report at 564; v4 QE report at 770, TD body at 48) */
    load_set(&sgx, vec, "dcap-qvl/sgx_quote_collateral", "dcap-qvl/sgx_quote.dat", 564, 0);
    load_set(&tdx, vec, "dcap-qvl/tdx_quote_collateral", "dcap-qvl/tdx_quote.dat", 770, 48);
    /* PCK values of those quotes' PCK certificates (see tests/evidence/test_tcb.c) */
    static const dcap_pck_tcb sp = {{0x00, 0xa0, 0x67, 0x11, 0x00, 0x00},
                                    {0, 0},
                                    {0},
                                    {11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                                    13};
    static const dcap_pck_tcb tp = {{0xb0, 0xc0, 0x6f, 0x00, 0x00, 0x00},
                                    {0, 0},
                                    {0},
                                    {3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0},
                                    11};
    sgx.pck = sp;
    tdx.pck = tp;
    size_t len;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/dcap-qvl", vec);
    uint8_t *der = read_all(dir, "intel_sgx_root_ca.der", &len);
    const uint8_t *q = der;
    intel_root = d2i_X509(NULL, &q, (long)len);
    free(der);
    if (!intel_root) abort();
    return 0;
}

/* Evaluate with the set's PCK values and with PCK/TEE SVNs taken from the input tail, so the
 * level walk sees more than one platform. */
static void evaluate(const cloak_collateral *c, const fixed_set *s, int is_tdx, const uint8_t *in,
                     size_t n)
{
    for (int round = 0; round < 2; round++) {
        dcap_pck_tcb pck = s->pck;
        uint8_t td[584];
        memcpy(td, s->td, sizeof td);
        if (round == 1) {
            if (n < 34) return;
            memcpy(pck.comp_svn, in + n - 34, 16);
            memcpy(td, in + n - 18, 16);
            pck.pce_svn = (uint16_t)(in[n - 2] | in[n - 1] << 8);
        }
        dcap_tcb_result r;
        cloak_error e;
        memset(&r, 0x5a, sizeof r);
        e.msg[0] = 0;
        cloak_err rc = dcap_tcb_evaluate(c, is_tdx, &pck, s->qe_report, is_tdx ? td : NULL,
                                         is_tdx ? sizeof td : 0, &r, &e);
        if (rc == CLOAK_OK) {
            time_t t;
            if ((unsigned)r.status > CLOAK_TCB_REVOKED || !json_is_array(r.advisory_ids) ||
                dcap_parse_utc(r.tcb_date, &t) < 0)
                abort();
            dcap_tcb_result_clear(&r);
        } else {
            const uint8_t *b = (const uint8_t *)&r;
            for (size_t i = 0; i < sizeof r; i++)
                if (b[i] != 0x5a) abort(); /* out written on failure */
            if (!e.msg[0]) abort();
        }
    }
}

static void with_body(const fixed_set *s, int which, int is_tdx, const uint8_t *in, size_t n)
{
    dcap_collateral_parts parts = {
        s->p[P_TCB],       s->len[P_TCB],       s->p[P_TCB_SIG], s->len[P_TCB_SIG],
        s->p[P_QE],        s->len[P_QE],        s->p[P_QE_SIG],  s->len[P_QE_SIG],
        s->p[P_ROOT_CRL],  s->len[P_ROOT_CRL],  s->p[P_PCK_CRL], s->len[P_PCK_CRL],
        s->p[P_CHAIN],     s->len[P_CHAIN],     s->p[P_CHAIN],   s->len[P_CHAIN],
        s->p[P_PCK_CHAIN], s->len[P_PCK_CHAIN],
    };
    if (which == P_TCB) {
        parts.tcb_info = in;
        parts.tcb_info_len = n;
    } else {
        parts.qe_identity = in;
        parts.qe_identity_len = n;
    }
    cloak_collateral *c = NULL;
    cloak_error e;
    e.msg[0] = 0;
    if (dcap_collateral_from_parts(&parts, "fuzz", &c, &e) != CLOAK_OK) {
        if (c || !e.msg[0]) abort();
        return;
    }
    evaluate(c, s, is_tdx, in, n);
    json_t *h = dcap_collateral_hashes(c);
    if (json_object_size(h) != 6) abort();
    json_decref(h);
    cloak_collateral_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0:
        with_body(&sgx, P_TCB, 0, in, n);
        break;
    case 1:
        with_body(&sgx, P_QE, 0, in, n);
        break;
    case 2:
        with_body(&tdx, P_TCB, 1, in, n);
        break;
    case 3: {
        cloak_collateral *c = NULL;
        cloak_error e;
        e.msg[0] = 0;
        if (dcap_collateral_from_json(in, n, "fuzz", &c, &e) != CLOAK_OK) {
            if (c || !e.msg[0]) abort();
            break;
        }
        evaluate(c, &sgx, 0, in, n);
        evaluate(c, &tdx, 1, in, n);
        /* the check itself, at the time of the dcap-qvl SGX test */
        e.msg[0] = 0;
        if (dcap_collateral_check(c, intel_root, 1752919277, c->tcb.is_tdx, &e) != CLOAK_OK &&
            !e.msg[0])
            abort();
        cloak_collateral_free(c);
        break;
    }
    default: {
        static const char *const keys[] = {"tcbInfo", "enclaveIdentity", "signature", "id"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            size_t off = 0, len = 0;
            if (dcap_json_member_span(in, n, keys[k], &off, &len) == 0 &&
                (off > n || len > n - off || len == 0))
                abort();
        }
        const uint8_t *body = NULL;
        size_t blen = 0;
        uint8_t sig[64];
        cloak_error e;
        for (int k = 0; k < 2; k++)
            if (dcap_pcs_split(in, n, keys[k], &body, &blen, sig, &e) == CLOAK_OK &&
                (body < in || body + blen > in + n || body[0] != '{' || body[blen - 1] != '}'))
                abort();
        break;
    }
    }
    return 0;
}
