/* Every single-bit flip of every real DCAP quote is refused: all bits of the signed region
 * (header + body), the signature data length, and the signature data up to the end of the QE
 * auth data (quote signature, attestation key, [v4+: cert data type 6 and its size], QE
 * report, QE report signature, QE auth data size and bytes).
 *
 * No bit in that range is exempt. The signed region is covered by the quote signature; the
 * attestation key by the QE report's REPORTDATA binding; the QE report by the PCK signature;
 * the signatures by themselves; the auth data by the binding; and every length or type field
 * by the parser, which requires each nested length to fill its container exactly. (The PEM
 * chain after the auth data is not walked: base64 line breaks and the trailing NUL are not
 * covered by any signature, in Intel's QVL either.)
 *
 * The offsets of the range are computed here from attestation.md §1, independently of the
 * parser, and cross-checked against it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cloak/evidence.h"
#include "dcap_testlib.h"
#include "evidence/dcap_quote.h"

/* End of the QE auth data, from the layout tables (attestation.md §1). */
static size_t auth_end(const uint8_t *q)
{
    uint16_t version = cloak_get_u16le(q);
    uint32_t tee = cloak_get_u32le(q + 4);
    size_t body_off = version == 5 ? 48 + 6 : 48;
    size_t body_len = version == 5 ? cloak_get_u32le(q + 50) : tee == 0 ? 384 : 584;
    size_t sd = body_off + body_len + 4;
    /* v3: sig 64, key 64, QE report 384, QE sig 64, then u16 auth size
     * v4+: sig 64, key 64, u16 type 6, u32 size, QE report 384, QE sig 64, then u16 auth size */
    size_t size_off = version == 3 ? sd + 576 : sd + 128 + 6 + 384 + 64;
    return size_off + 2 + cloak_get_u16le(q + size_off);
}

static void test_every_bit_flip_refused(void **state)
{
    (void)state;
    cloak_trust *t = NULL;
    cloak_error e = {0};
    size_t total = 0;
    size_t by_code[CLOAK_EINTERNAL + 1] = {0};
    if (cloak_trust_new(0, NULL, &t, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    for (size_t i = 0; i < dcap_nvecs; i++) {
        const dcap_vec *v = &dcap_vecs[i];
        cloak_verify_opts o = {.type = CLOAK_TEE_AUTO, .trust = t, .at = v->at};
        size_t len, end;
        uint8_t *q = dcap_vec_load(v->file, &len);
        json_t *c = NULL;
        dcap_quote pq;
        assert_int_equal(dcap_quote_parse(q, len, &pq, &e), CLOAK_OK);
        end = auth_end(q);
        assert_int_equal(end, pq.qe_auth_end);
        if (cloak_evidence_verify(q, len, &o, &c, &e) != CLOAK_OK)
            fail_msg("%s does not verify unflipped: %s", v->file, e.msg);
        json_decref(c);
        for (size_t bit = 0; bit < end * 8; bit++) {
            c = NULL;
            q[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            cloak_err rc = cloak_evidence_verify(q, len, &o, &c, &e);
            q[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (rc == CLOAK_OK)
                fail_msg("%s: flipping bit %zu of byte 0x%zx was accepted", v->file, bit % 8,
                         bit / 8);
            assert_null(c);
            assert_true(e.msg[0] != 0);
            by_code[rc <= CLOAK_EINTERNAL ? rc : 0]++;
        }
        total += end * 8;
        printf("# %-40s %6zu bits refused\n", v->file, end * 8);
        free(q);
    }
    printf("# total %zu flips refused: %zu EINVAL (structure), %zu EVERIFY (signature, binding, "
           "chain)\n",
           total, by_code[CLOAK_EINVAL], by_code[CLOAK_EVERIFY]);
    assert_int_equal(by_code[CLOAK_EINVAL] + by_code[CLOAK_EVERIFY], total);
    cloak_trust_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_bit_flip_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
