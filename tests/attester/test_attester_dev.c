/*
 * The ioctl providers (/dev/sev-guest, /dev/tdx_guest) against the fake kernel's ioctls
 * (fake_kernel.h), the real system calls against a regular file posing as a device node, and
 * `cloak evidence collect` as a user runs it.
 *
 * Exercised: the request structs as the kernel reads them (msg_version, VMPL, reserved bytes,
 * report data, certificate buffer length and address), the kernel's "certificate buffer too
 * small" answer and our single retry, and every check on the reply (firmware status, report
 * size, report data echo, certificate table). Not exercised: a real sev-guest or tdx-guest
 * driver, real firmware. go-tdx-guest/tdreport.dat is used as reply bytes only: it is not a
 * well-formed TDREPORT (no REPORTTYPE 0x81 at offset 0, its fields sit 48 bytes early and it
 * embeds an old ioctl request struct), so the TDREPORT test shows the plumbing and the
 * REPORTDATA check at offset 128, which the fake patches in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    if (fk_init(&K) || fk_mkdir(&K, "dev") || fk_touch(&K, "dev/sev-guest") ||
        fk_touch(&K, "dev/tdx_guest"))
        return -1;
    K.out_tmpl = V.snp_trustee, K.out_len = V.snp_trustee_len, K.rd_off = 0x50;
    K.certs = V.aux, K.certs_len = V.aux_len;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fk_cleanup(&K);
    return 0;
}

static cloak_attester *sev(int vmpl)
{
    cloak_attester *a = NULL;
    cloak_error why = {0};
    assert_int_equal(fk_attester(&K, CLOAK_ATTESTER_AUTO, vmpl, 0, &a, &why), CLOAK_OK);
    assert_int_equal(cloak_attester_kind(a), CLOAK_ATTESTER_SEV_GUEST);
    return a;
}

static cloak_err collect(cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *b,
                         cloak_error *why)
{
    int untouched = 0;
    cloak_err rc = fk_collect(a, rd, b, why, &untouched);
    if (rc) assert_true(untouched);
    return rc;
}

static void rd_fill(uint8_t rd[64], uint8_t seed)
{
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(seed * 31 + i);
}

/* ---- /dev/sev-guest ---- */

static void test_sev_guest_report_and_certificates(void **state)
{
    cloak_attester *a = sev(-1);
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64];
    (void)state;
    rd_fill(rd, 1);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(b.provider, CLOAK_ATTESTER_SEV_GUEST);
    assert_int_equal(b.format, CLOAK_EVIDENCE_SNP_REPORT);
    assert_int_equal(b.evidence_len, V.snp_trustee_len);
    assert_memory_equal(b.evidence, V.snp_trustee, 0x50);
    assert_memory_equal(b.evidence + 0x50, rd, 64);
    assert_memory_equal(b.evidence + 0x90, V.snp_trustee + 0x90, V.snp_trustee_len - 0x90);
    assert_int_equal(b.ncerts, 3);
    assert_memory_equal(b.certs[0], V.vcek, V.vcek_len);
    assert_memory_equal(b.certs[2], V.ark, V.ark_len);
    /* the request as the kernel read it */
    assert_int_equal(K.seen_msg_version, 1);
    assert_int_equal(K.seen_vmpl, 0);
    assert_int_equal(K.seen_certs_len, 16384);
    assert_int_equal(K.seen_rsvd_nonzero, 0);
    assert_memory_equal(K.seen_rd, rd, 64);
    assert_int_equal(K.ioctl_calls, 1);
    cloak_evidence_blob_free(&b);
    cloak_attester_free(a);
    a = sev(2);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(K.seen_vmpl, 2);
    cloak_evidence_blob_free(&b);
    cloak_attester_free(a);
}

static void test_sev_guest_grows_certificate_buffer_once(void **state)
{
    cloak_attester *a = sev(-1);
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64];
    (void)state;
    rd_fill(rd, 2);
    K.certs_need = 20480;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(K.ioctl_calls, 2);
    assert_int_equal(K.seen_certs_len, 20480);
    assert_int_equal(b.ncerts, 3);
    cloak_evidence_blob_free(&b);
    /* a size that is not a larger page multiple is refused before a second request */
    K.ioctl_calls = 0;
    K.certs_need = 20000;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "20000-byte certificate buffer"));
    assert_int_equal(K.ioctl_calls, 1);
    K.certs_need = 8u << 20;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    cloak_attester_free(a);
}

static void test_sev_guest_firmware_status_is_reported(void **state)
{
    cloak_attester *a = sev(-1);
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {0};
    (void)state;
    K.status = 0x16;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "status 0x16"));
    assert_non_null(strstr(why.msg, "invalid parameter"));
    cloak_attester_free(a);
}

static void test_sev_guest_report_size_is_checked(void **state)
{
    cloak_attester *a = sev(-1);
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {0};
    (void)state;
    K.report_size = 4000; /* more than the reply can hold after its header */
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "4000-byte report"));
    K.report_size = 1183;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "1183-byte report"));
    K.report_size = 1184;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    cloak_evidence_blob_free(&b);
    cloak_attester_free(a);
}

static void test_sev_guest_refuses_report_for_other_report_data(void **state)
{
    cloak_attester *a = sev(-1);
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64];
    (void)state;
    rd_fill(rd, 3);
    K.rd_off = -1;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "SNP_GET_EXT_REPORT"));
    assert_non_null(strstr(why.msg, "another request"));
    cloak_attester_free(a);
}

static void test_sev_guest_ioctl_failure_names_the_errors(void **state)
{
    cloak_attester *a = sev(-1);
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {0};
    (void)state;
    K.ioctl_errno = EIO;
    K.fw_error = 0x27;
    K.vmm_error = 2;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "firmware error 0x27, VMM error 0x2"));
    K.ioctl_errno = EACCES, K.fw_error = 0, K.vmm_error = 0;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "run as root"));
    cloak_attester_free(a);
}

static void test_sev_guest_bad_certificate_table_fails(void **state)
{
    cloak_attester *a = sev(-1);
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {5};
    (void)state;
    /* entries all the way through the buffer: no terminator */
    uint8_t *full = malloc(16384);
    memset(full, 0xab, 16384);
    K.certs = full, K.certs_len = 16384;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "terminator"));
    free(full);
    K.certs = NULL, K.certs_len = 0; /* no table at all: a zeroed buffer, no certificates */
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(b.ncerts, 0);
    cloak_evidence_blob_free(&b);
    cloak_attester_free(a);
}

/* ---- /dev/tdx_guest ---- */

static void test_tdx_guest_tdreport_when_asked(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64];
    (void)state;
    rd_fill(rd, 4);
    K.out_tmpl = V.tdreport, K.out_len = V.tdreport_len, K.rd_off = 128;
    assert_int_equal(fk_attester(&K, CLOAK_ATTESTER_TDX_GUEST, -1, 0, &a, &why), CLOAK_OK);
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_OK);
    assert_int_equal(b.provider, CLOAK_ATTESTER_TDX_GUEST);
    assert_int_equal(b.tee, CLOAK_TEE_TDX);
    assert_int_equal(b.format, CLOAK_EVIDENCE_TDX_TDREPORT);
    assert_string_equal(cloak_evidence_format_name(b.format), "tdreport");
    assert_int_equal(b.evidence_len, 1024);
    assert_memory_equal(b.evidence, V.tdreport, 128);
    assert_memory_equal(b.evidence + 128, rd, 64);
    assert_memory_equal(b.evidence + 192, V.tdreport + 192, 1024 - 192);
    assert_memory_equal(K.seen_rd, rd, 64);
    cloak_evidence_blob_free(&b);
    K.rd_off = -1;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EVERIFY);
    assert_non_null(strstr(why.msg, "TDREPORT"));
    K.ioctl_errno = EIO;
    assert_int_equal(collect(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "TDG.MR.REPORT"));
    cloak_attester_free(a);
}

/* ---- the real system calls ---- */

static void test_real_ioctl_on_a_regular_file_fails_cleanly(void **state)
{
    cloak_attester *a = NULL;
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t rd[64] = {0};
    (void)state;
    assert_int_equal(cloak_attester_open(K.root, &a, &why), CLOAK_OK);
    assert_int_equal(cloak_attester_kind(a), CLOAK_ATTESTER_SEV_GUEST);
    memset(&b, 0x33, sizeof b);
    assert_int_equal(cloak_attester_get_evidence(a, rd, &b, &why), CLOAK_EIO);
    assert_non_null(strstr(why.msg, "SNP_GET_EXT_REPORT"));
    assert_non_null(strstr(why.msg, strerror(ENOTTY)));
    cloak_attester_free(a);
    /* a freed or foreign handle is refused, not used */
    assert_int_equal(cloak_attester_get_evidence((cloak_attester *)&b, rd, &b, &why), CLOAK_EINVAL);
}

/* ---- cloak evidence collect ---- */

static const char *cli(void)
{
    static char path[1024];
    const char *b = getenv("CLOAK_BUILD_DIR");
    snprintf(path, sizeof path, "%s/bin/cloak", b ? b : ".");
    return path;
}

static void test_cli_usage_and_failures(void **state)
{
    char out[4096], file[600];
    (void)state;
    snprintf(file, sizeof file, "%s/ev.bin", K.root);
    assert_int_equal(tl_run(out, sizeof out, "'%s' evidence collect --help", cli()), 0);
    assert_non_null(strstr(out, "--certs-dir DIR"));
    assert_int_equal(tl_run(out, sizeof out, "'%s' evidence collect 2>&1", cli()), 2);
    assert_non_null(strstr(out, "missing -o FILE"));
    assert_int_equal(tl_run(out, sizeof out, "'%s' evidence collect --vmpl 4 -o x 2>&1", cli()), 2);
    assert_int_equal(
        tl_run(out, sizeof out, "'%s' evidence collect --report-data zz -o x 2>&1", cli()), 2);
    assert_int_equal(
        tl_run(out, sizeof out, "'%s' evidence collect --report-data %0130d -o x 2>&1", cli(), 0),
        2);
    assert_non_null(strstr(out, "at most 64"));
    assert_int_equal(
        tl_run(out, sizeof out, "'%s' evidence collect --provider tpm -o x 2>&1", cli()), 2);
    /* a regular file poses as /dev/sev-guest: the real ioctl fails, exit 1, no output */
    assert_int_equal(tl_run(out, sizeof out, "'%s' evidence collect --root '%s' -o '%s' 2>&1",
                            cli(), K.root, file),
                     1);
    assert_non_null(strstr(out, "SNP_GET_EXT_REPORT"));
    assert_int_equal(access(file, F_OK), -1);
    /* only /dev/tdx_guest: refused unless --tdreport */
    assert_int_equal(tl_run(NULL, 0, "rm -f '%s/dev/sev-guest'", K.root), 0);
    assert_int_equal(tl_run(out, sizeof out, "'%s' evidence collect --root '%s' -o '%s' 2>&1",
                            cli(), K.root, file),
                     1);
    assert_non_null(strstr(out, "TDREPORT"));
    assert_int_equal(tl_run(out, sizeof out,
                            "'%s' evidence collect --root '%s' --tdreport -o '%s' 2>&1", cli(),
                            K.root, file),
                     1);
    assert_non_null(strstr(out, "TDX_CMD_GET_REPORT0"));
    /* nothing at all */
    assert_int_equal(tl_run(NULL, 0, "rm -f '%s/dev/tdx_guest'", K.root), 0);
    assert_int_equal(tl_run(out, sizeof out, "'%s' evidence collect --root '%s' -o '%s' 2>&1",
                            cli(), K.root, file),
                     1);
    assert_non_null(strstr(out, "no TEE guest interface found"));
    assert_non_null(strstr(out, "is this a confidential VM?"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_sev_guest_report_and_certificates),
        T(test_sev_guest_grows_certificate_buffer_once),
        T(test_sev_guest_firmware_status_is_reported),
        T(test_sev_guest_report_size_is_checked),
        T(test_sev_guest_refuses_report_for_other_report_data),
        T(test_sev_guest_ioctl_failure_names_the_errors),
        T(test_sev_guest_bad_certificate_table_fails),
        T(test_tdx_guest_tdreport_when_asked),
        T(test_real_ioctl_on_a_regular_file_fails_cleanly),
        T(test_cli_usage_and_failures),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
