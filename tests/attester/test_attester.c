/*
 * Evidence collection in a confidential VM, without one: every provider runs against the fake
 * kernel of fake_kernel.h on a scratch tree, with real sample evidence as the replies
 * (shared/vectors/attestation). Expectations come from outside the attester: the sample
 * files' own bytes, DER made by the `openssl x509` command, GUID bytes derived from their text.
 *
 * Exercised: choosing the interface (order, fall-backs, refusals, messages) and the
 * configfs-tsm sequence: an entry per request, provider, privlevel and its floor, inblob
 * committed on close, outblob/auxblob, the generation rule with its retry, rmdir on every
 * path, and the checks on what comes back (size, shape, report-data echo, certificate table).
 * test_attester_dev.c covers the ioctl providers and the CLI, test_attester_certs.c the
 * certificate-table parser. Not exercised (needs an SEV-SNP or TDX guest): real configfs-tsm
 * (report made at read time, locking, attribute visibility), real firmware and host answers, a
 * real TDX quote generation service.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attester/attester_int.h"
#include "fake_kernel.h"
#include "testlib.h"

static tl_samples V;
static fake_kernel K;

static int group_setup(void **state)
{
    (void)state;
    return tl_samples_load(&V);
}

static int group_teardown(void **state)
{
    (void)state;
    tl_samples_free(&V);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return fk_init(&K);
}

static int teardown(void **state)
{
    (void)state;
    fk_cleanup(&K);
    return 0;
}

/* A configfs-tsm tree whose provider answers with `tmpl`. */
static void tsm_tree(const char *provider, const uint8_t *tmpl, size_t len, long rd_off)
{
    assert_int_equal(fk_mkdir(&K, "sys/kernel/config/tsm/report"), 0);
    K.provider = provider;
    K.out_tmpl = tmpl;
    K.out_len = len;
    K.rd_off = rd_off;
}

static cloak_err open_with(cloak_attester_provider p, int vmpl, int tdreport, cloak_attester **a,
                           cloak_error *why)
{
    return fk_attester(&K, p, vmpl, tdreport, a, why);
}

static void rd_fill(uint8_t rd[64], uint8_t seed)
{
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(seed + 7 * i);
}

/* Collect; a failure must leave the blob as it was. */
static cloak_err collect(cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *b,
                         cloak_error *why)
{
    int untouched = 0;
    cloak_err rc = fk_collect(a, rd, b, why, &untouched);
    if (rc) assert_true(untouched);
    return rc;
}

/* ---- choosing the interface ---- */

static void test_open_reports_every_path_when_nothing_found(void **state)
{
    cloak_attester *a = (cloak_attester *)0x1;
    cloak_error why = {0};
    char want[1024];
    (void)state;
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_ENOTFOUND);
    assert_ptr_equal(a, (cloak_attester *)0x1);
    snprintf(want, sizeof want,
             "no TEE guest interface found: looked for %s/sys/kernel/config/tsm/report, "
             "%s/dev/sev-guest, %s/dev/tdx_guest; is this a confidential VM?",
             K.root, K.root, K.root);
    assert_string_equal(why.msg, want);
}

static void test_open_prefers_configfs_tsm_over_devices(void **state)
{
    cloak_attester *a = NULL;
    cloak_error why = {0};
    (void)state;
    tsm_tree("sev_guest", V.snp_go, V.snp_go_len, 0x50);
    assert_int_equal(fk_mkdir(&K, "dev"), 0);
    assert_int_equal(fk_touch(&K, "dev/sev-guest"), 0);
    assert_int_equal(fk_touch(&K, "dev/tdx_guest"), 0);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(cloak_attester_kind(a), CLOAK_ATTESTER_CONFIGFS_TSM);
    assert_int_equal(cloak_attester_tee(a), CLOAK_TEE_SNP);
    /* the probe made one entry to read the provider and removed it */
    assert_int_equal(K.entries_made, 1);
    assert_int_equal(K.entries_removed, 1);
    cloak_attester_free(a);
}

static void test_open_falls_back_to_sev_guest_when_configfs_has_no_provider(void **state)
{
    cloak_attester *a = NULL;
    cloak_error why = {0};
    (void)state;
    tsm_tree(NULL, NULL, 0, -1);
    assert_int_equal(fk_mkdir(&K, "dev"), 0);
    assert_int_equal(fk_touch(&K, "dev/sev-guest"), 0);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(cloak_attester_kind(a), CLOAK_ATTESTER_SEV_GUEST);
    assert_int_equal(cloak_attester_tee(a), CLOAK_TEE_SNP);
    cloak_attester_free(a);
    /* asked for configfs-tsm by name, the missing provider is an error */
    assert_int_equal(open_with(CLOAK_ATTESTER_CONFIGFS_TSM, -1, 0, &a, &why), CLOAK_ENOTFOUND);
    assert_non_null(strstr(why.msg, "has no provider"));
}

static void test_open_tdx_guest_only_when_asked(void **state)
{
    cloak_attester *a = NULL;
    cloak_error why = {0};
    (void)state;
    assert_int_equal(fk_mkdir(&K, "dev"), 0);
    assert_int_equal(fk_touch(&K, "dev/tdx_guest"), 0);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_EUNSUPPORTED);
    assert_non_null(strstr(why.msg, "TDREPORT"));
    assert_non_null(strstr(why.msg, "configfs-tsm"));
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 1, &a, &why), CLOAK_OK);
    assert_int_equal(cloak_attester_kind(a), CLOAK_ATTESTER_TDX_GUEST);
    cloak_attester_free(a);
    assert_int_equal(open_with(CLOAK_ATTESTER_TDX_GUEST, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(cloak_attester_tee(a), CLOAK_TEE_TDX);
    cloak_attester_free(a);
}

static void test_open_named_provider_missing_says_where(void **state)
{
    cloak_attester *a = NULL;
    cloak_error why = {0};
    char want[512];
    (void)state;
    assert_int_equal(open_with(CLOAK_ATTESTER_SEV_GUEST, -1, 0, &a, &why), CLOAK_ENOTFOUND);
    snprintf(want, sizeof want, "%s/dev/sev-guest not found", K.root);
    assert_memory_equal(why.msg, want, strlen(want));
    assert_int_equal(open_with(CLOAK_ATTESTER_CONFIGFS_TSM, -1, 0, &a, &why), CLOAK_ENOTFOUND);
    assert_non_null(strstr(why.msg, "mount -t configfs"));
}

static void test_open_refuses_bad_vmpl(void **state)
{
    cloak_attester *a = NULL;
    cloak_error why = {0};
    (void)state;
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, 4, 0, &a, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "VMPL 4"));
    tsm_tree("tdx_guest", V.tdx_quote, V.tdx_quote_len, 568);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, 1, 0, &a, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "SEV-SNP only"));
}

static void test_open_refuses_unknown_configfs_provider(void **state)
{
    cloak_attester *a = NULL;
    cloak_error why = {0};
    (void)state;
    tsm_tree("arm_cca_guest", V.snp_go, V.snp_go_len, -1);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_EUNSUPPORTED);
    assert_non_null(strstr(why.msg, "'arm_cca_guest'"));
    assert_int_equal(K.entries_made, K.entries_removed);
    K.provider = "sev_guest\x01"; /* not text */
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "provider does not hold a short line of text"));
    K.provider = "sev_guest_with_a_name_longer_than_the_sixty_four_bytes_cloak_reads_from_it";
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "/provider"));
    assert_int_equal(K.entries_made, K.entries_removed);
}

/* ---- configfs-tsm ---- */

/* The go-sev-guest sample asked with its own report data (01 02 03 04 05 0...): the attester
 * must hand back exactly the sample bytes, and the auxblob certificates as DER. */
static void test_tsm_snp_report_and_certs_are_the_samples(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {1, 2, 3, 4, 5};
    (void)state;
    tsm_tree("sev_guest", V.snp_go, V.snp_go_len, -1);
    K.aux = V.aux, K.aux_len = V.aux_len;
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(b.provider, CLOAK_ATTESTER_CONFIGFS_TSM);
    assert_int_equal(b.tee, CLOAK_TEE_SNP);
    assert_int_equal(b.format, CLOAK_EVIDENCE_SNP_REPORT);
    assert_int_equal(b.evidence_len, V.snp_go_len);
    assert_memory_equal(b.evidence, V.snp_go, V.snp_go_len);
    assert_int_equal(b.ncerts, 3);
    assert_int_equal(b.cert_kinds[0], CLOAK_SNP_CERT_VCEK);
    assert_int_equal(b.cert_kinds[1], CLOAK_SNP_CERT_ASK);
    assert_int_equal(b.cert_kinds[2], CLOAK_SNP_CERT_ARK);
    assert_int_equal(b.cert_lens[0], V.vcek_len);
    assert_memory_equal(b.certs[0], V.vcek, V.vcek_len);
    assert_int_equal(b.cert_lens[1], V.ask_len);
    assert_memory_equal(b.certs[1], V.ask, V.ask_len);
    assert_int_equal(b.cert_lens[2], V.ark_len);
    assert_memory_equal(b.certs[2], V.ark, V.ark_len);
    assert_memory_equal(K.seen_rd, rd, 64);
    assert_int_equal(K.privlevel_value, -1); /* floor 0: the kernel default stands */
    assert_int_equal(K.inblob_commits, 1);
    assert_int_equal(K.entries_made, 2); /* probe + request */
    assert_int_equal(K.entries_removed, 2);
    cloak_evidence_blob_free(&b);
    assert_null(b.evidence);
    cloak_attester_free(a);
}

/* What comes out feeds cloak_evidence_verify as is: the blob's certificates in
 * cloak_verify_opts, at a time inside the sample VCEK's validity (2022-09-24..2029-09-24). */
static void test_tsm_snp_evidence_verifies_with_its_certificates(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    cloak_trust *trust = NULL;
    json_t *claims = NULL;
    uint8_t rd[64] = {1, 2, 3, 4, 5};
    (void)state;
    tsm_tree("sev_guest", V.snp_go, V.snp_go_len, -1);
    K.aux = V.aux, K.aux_len = V.aux_len;
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(cloak_trust_new(0, NULL, &trust, &why), CLOAK_OK);
    cloak_verify_opts o = {.type = b.tee,
                           .trust = trust,
                           .certs = b.certs,
                           .cert_lens = b.cert_lens,
                           .ncerts = b.ncerts,
                           .at = 1735689600 /* 2025-01-01 */};
    if (cloak_evidence_verify(b.evidence, b.evidence_len, &o, &claims, &why))
        fail_msg("verify: %s", why.msg);
    assert_string_equal(json_string_value(json_object_get(claims, "tee")), "sevsnp");
    json_decref(claims);
    cloak_trust_free(trust);
    cloak_evidence_blob_free(&b);
    cloak_attester_free(a);
}

static void test_tsm_snp_writes_privlevel_floor_or_vmpl(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64];
    (void)state;
    rd_fill(rd, 3);
    tsm_tree("sev_guest", V.snp_trustee, V.snp_trustee_len, 0x50);
    K.privlevel_floor = 2;
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(K.privlevel_value, 2);
    assert_memory_equal(b.evidence + 0x50, rd, 64);
    assert_int_equal(b.ncerts, 0); /* no auxblob: no certificates */
    cloak_evidence_blob_free(&b);
    cloak_attester_free(a);
    /* VMPL 3 asked for: written as is */
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, 3, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(K.privlevel_value, 3);
    cloak_evidence_blob_free(&b);
    cloak_attester_free(a);
    /* VMPL 1 is below the floor: the kernel refuses the write */
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, 1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "cannot set VMPL 1"));
    assert_non_null(strstr(why.msg, "privlevel_floor"));
    assert_int_equal(K.entries_made, K.entries_removed);
    cloak_attester_free(a);
}

static void test_tsm_tdx_quote_carries_report_data(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64];
    (void)state;
    rd_fill(rd, 9);
    tsm_tree("tdx_guest", V.tdx_quote, V.tdx_quote_len, 48 + 520);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(cloak_attester_tee(a), CLOAK_TEE_TDX);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(b.format, CLOAK_EVIDENCE_TDX_QUOTE);
    assert_int_equal(b.evidence_len, V.tdx_quote_len); /* trailing padding kept as given */
    assert_memory_equal(b.evidence, V.tdx_quote, 568);
    assert_memory_equal(b.evidence + 568, rd, 64);
    assert_memory_equal(b.evidence + 632, V.tdx_quote + 632, V.tdx_quote_len - 632);
    assert_int_equal(b.ncerts, 0);
    assert_int_equal(K.privlevel_value, -1);
    cloak_evidence_blob_free(&b);
    cloak_attester_free(a);
}

static void test_tsm_retries_after_another_writer(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64];
    (void)state;
    rd_fill(rd, 1);
    tsm_tree("tdx_guest", V.tdx_quote, V.tdx_quote_len, 568);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    K.disturb = 2;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(K.inblob_commits, 3);
    cloak_evidence_blob_free(&b);
    K.disturb = 3; /* every attempt disturbed: give up */
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "written by someone else"));
    assert_int_equal(K.entries_made, K.entries_removed);
    cloak_attester_free(a);
}

static void test_tsm_notices_inblob_the_kernel_ignored(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {1};
    (void)state;
    tsm_tree("tdx_guest", V.tdx_quote, V.tdx_quote_len, 568);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    K.drop_inblob = 1; /* configfs ignores the result of a binary attribute's commit */
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "did not apply our writes"));
    K.drop_inblob = 2; /* no older report either: the kernel refuses to read outblob */
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "outblob failed: Invalid argument"));
    assert_int_equal(K.entries_made, K.entries_removed);
    cloak_attester_free(a);
}

static void test_tsm_refuses_evidence_for_other_report_data(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {0xee};
    (void)state;
    tsm_tree("sev_guest", V.snp_go, V.snp_go_len, -1); /* replies with 01 02 03 04 05 ... */
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "offset 0x50"));
    assert_non_null(strstr(why.msg, "another request"));
    cloak_attester_free(a);
    fk_cleanup(&K);
    assert_int_equal(fk_init(&K), 0);
    tsm_tree("tdx_guest", V.tdx_quote, V.tdx_quote_len, -1);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "offset 0x238"));
    cloak_attester_free(a);
}

static void test_tsm_refuses_outblob_of_wrong_size_or_shape(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {7}, *big = calloc(1, 40000);
    (void)state;
    tsm_tree("sev_guest", V.snp_go, 1000, 0x50); /* truncated report */
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "SEV-SNP report is 1000 bytes"));
    K.out_tmpl = big, K.out_len = 40000; /* over the kernel's 32 KiB */
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "32 KiB"));
    cloak_attester_free(a);
    fk_cleanup(&K);
    assert_int_equal(fk_init(&K), 0);
    tsm_tree("tdx_guest", V.tdx_quote, 700, 568); /* body there, signature data cut off */
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "truncated"));
    K.out_tmpl = V.snp_go, K.out_len = V.snp_go_len; /* SNP bytes from a TDX provider */
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "not a TDX quote"));
    cloak_attester_free(a);
    free(big);
}

static void test_tsm_tdx_outblob_failure_points_at_qgs(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {7};
    (void)state;
    tsm_tree("tdx_guest", V.tdx_quote, V.tdx_quote_len, 568);
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    K.outblob_errno = EIO;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "outblob failed"));
    assert_non_null(strstr(why.msg, "QGS"));
    assert_int_equal(K.entries_made, K.entries_removed);
    cloak_attester_free(a);
}

static void test_tsm_malformed_auxblob_fails_the_request(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {1, 2, 3, 4, 5};
    (void)state;
    tsm_tree("sev_guest", V.snp_go, V.snp_go_len, -1);
    uint8_t *aux = malloc(V.aux_len);
    memcpy(aux, V.aux, V.aux_len);
    cloak_put_u32le(aux + 20, 0x10000); /* VCEK length past the end */
    K.aux = aux, K.aux_len = V.aux_len;
    assert_int_equal(open_with(CLOAK_ATTESTER_AUTO, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "auxblob"));
    assert_non_null(strstr(why.msg, "entry 0 (vcek)"));
    cloak_attester_free(a);
    free(aux);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_open_reports_every_path_when_nothing_found),
        T(test_open_prefers_configfs_tsm_over_devices),
        T(test_open_falls_back_to_sev_guest_when_configfs_has_no_provider),
        T(test_open_tdx_guest_only_when_asked),
        T(test_open_named_provider_missing_says_where),
        T(test_open_refuses_bad_vmpl),
        T(test_open_refuses_unknown_configfs_provider),
        T(test_tsm_snp_report_and_certs_are_the_samples),
        T(test_tsm_snp_evidence_verifies_with_its_certificates),
        T(test_tsm_snp_writes_privlevel_floor_or_vmpl),
        T(test_tsm_tdx_quote_carries_report_data),
        T(test_tsm_retries_after_another_writer),
        T(test_tsm_notices_inblob_the_kernel_ignored),
        T(test_tsm_refuses_evidence_for_other_report_data),
        T(test_tsm_refuses_outblob_of_wrong_size_or_shape),
        T(test_tsm_tdx_outblob_failure_points_at_qgs),
        T(test_tsm_malformed_auxblob_fails_the_request),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
