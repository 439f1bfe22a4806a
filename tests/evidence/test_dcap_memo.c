/* The verification caches of a cloak_trust (src/evidence/evidence_int.h): a PCK chain that
 * verified is found again by its exact bytes, and the QE part of a quote (attestation key, QE
 * report, QE report signature) that verified under that chain's leaf is not verified again.
 *
 * What must hold, for every real quote of shared/vectors/attestation: with one trust, a quote
 * verifies the same way the second and third time as the first (same claims); after the caches
 * are warm, a single flipped bit in the quote signature, the attestation key, the QE report or
 * the QE report signature is still refused, each with the check that owns it (the signatures are
 * the independent expectation: a flipped bit breaks ECDSA); the chain's validity times are still
 * checked (a time after the PCK certificate's notAfter is refused); and the untouched quote
 * verifies again afterwards, so a refused quote did not poison the caches. A fresh trust
 * shares nothing with a warm one. */
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

static cloak_err verify(const uint8_t *q, size_t len, const cloak_trust *t, time_t at,
                        json_t **claims, cloak_error *e)
{
    cloak_verify_opts o;
    memset(&o, 0, sizeof o);
    o.trust = t;
    o.at = at;
    *claims = NULL;
    return cloak_evidence_verify(q, len, &o, claims, e);
}

/* Flip one bit at off, expect a refusal whose message names `what`, flip it back. */
static void refused_at(uint8_t *q, size_t len, const cloak_trust *t, time_t at, size_t off,
                       const char *what, const char *file)
{
    cloak_error e = {0};
    json_t *c = NULL;
    q[off] ^= 0x01;
    cloak_err rc = verify(q, len, t, at, &c, &e);
    q[off] ^= 0x01;
    if (rc == CLOAK_OK) fail_msg("%s: a flipped bit at 0x%zx (%s) was accepted", file, off, what);
    assert_null(c);
    if (!strstr(e.msg, what))
        fail_msg("%s: flip at 0x%zx: expected \"%s\" in: %s", file, off, what, e.msg);
}

static void test_warm_caches_refuse_every_changed_part(void **state)
{
    (void)state;
    cloak_error e = {0};
    size_t checked = 0;
    for (size_t i = 0; i < dcap_nvecs; i++) {
        const dcap_vec *v = &dcap_vecs[i];
        cloak_trust *t = NULL;
        if (cloak_trust_new(0, NULL, &t, &e) != CLOAK_OK) fail_msg("trust: %s", e.msg);
        size_t len = 0;
        uint8_t *q = dcap_vec_load(v->file, &len);
        dcap_quote pq;
        assert_int_equal(dcap_quote_parse(q, len, &pq, &e), CLOAK_OK);
        json_t *first = NULL, *again = NULL;
        /* cold, then warm twice: the same claims (verified_at is the same `at`) */
        if (verify(q, len, t, v->at, &first, &e) != CLOAK_OK)
            fail_msg("%s does not verify: %s", v->file, e.msg);
        for (int k = 0; k < 2; k++) {
            if (verify(q, len, t, v->at, &again, &e) != CLOAK_OK)
                fail_msg("%s does not verify warm (%d): %s", v->file, k, e.msg);
            assert_true(json_equal(first, again));
            json_decref(again);
        }
        /* warm: each signed part still refused by its own check */
        refused_at(q, len, t, v->at, pq.body_off + 16, "quote signature", v->file); /* body */
        refused_at(q, len, t, v->at, pq.sig_data_off + 8, "quote signature", v->file);
        refused_at(q, len, t, v->at, pq.att_key_off + 5, "", v->file);
        refused_at(q, len, t, v->at, pq.qe_report_off + 1, "QE report signature", v->file);
        refused_at(q, len, t, v->at, pq.qe_report_sig_off + 40, "QE report signature", v->file);
        /* the chain's times are still checked on a warm cache */
        json_t *c = NULL;
        assert_int_not_equal(verify(q, len, t, (time_t)4102444800 /* 2100 */, &c, &e), CLOAK_OK);
        assert_null(c);
        /* and the untouched quote still verifies, to the same claims */
        if (verify(q, len, t, v->at, &again, &e) != CLOAK_OK)
            fail_msg("%s no longer verifies after the refusals: %s", v->file, e.msg);
        assert_true(json_equal(first, again));
        json_decref(again);
        /* a fresh trust starts cold and agrees */
        cloak_trust *t2 = NULL;
        assert_int_equal(cloak_trust_new(0, NULL, &t2, &e), CLOAK_OK);
        refused_at(q, len, t2, v->at, pq.qe_report_sig_off + 40, "QE report signature", v->file);
        assert_int_equal(verify(q, len, t2, v->at, &again, &e), CLOAK_OK);
        assert_true(json_equal(first, again));
        json_decref(again);
        cloak_trust_free(t2);
        json_decref(first);
        cloak_trust_free(t);
        free(q);
        checked++;
    }
    assert_true(checked >= 10);
}

/* A quote whose QE report signature is wrong from the start never enters the memo: it is
 * refused on every try, and the good quote verifies afterwards. */
static void test_bad_qe_signature_never_cached(void **state)
{
    (void)state;
    const dcap_vec *v = &dcap_vecs[0];
    cloak_error e = {0};
    cloak_trust *t = NULL;
    assert_int_equal(cloak_trust_new(0, NULL, &t, &e), CLOAK_OK);
    size_t len = 0;
    uint8_t *q = dcap_vec_load(v->file, &len);
    dcap_quote pq;
    assert_int_equal(dcap_quote_parse(q, len, &pq, &e), CLOAK_OK);
    q[pq.qe_report_sig_off + 3] ^= 0x80;
    for (int k = 0; k < 3; k++) {
        json_t *c = NULL;
        assert_int_equal(verify(q, len, t, v->at, &c, &e), CLOAK_EVERIFY);
        assert_non_null(strstr(e.msg, "QE report signature"));
    }
    q[pq.qe_report_sig_off + 3] ^= 0x80;
    json_t *c = NULL;
    assert_int_equal(verify(q, len, t, v->at, &c, &e), CLOAK_OK);
    json_decref(c);
    cloak_trust_free(t);
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warm_caches_refuse_every_changed_part),
        cmocka_unit_test(test_bad_qe_signature_never_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
