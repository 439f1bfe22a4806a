/* `cloak evidence verify/show` end to end: exit codes, claims on stdout, one reason on stderr,
 * on the real vendor samples (expected results from ../shared/vectors/attestation/MANIFEST.md)
 * and on a simulated quote written by `cloak enclave quote`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cloak/base.h"

#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char cloak_bin[1024], vec[1024], platform[] = "/tmp/cloak-evcli-XXXXXX";
static char out_path[1100], err_path[1100];

typedef struct {
    int status;
    char *out, *err;
} run_result;

static run_result run(const char *const *args)
{
    char *argv[32];
    int n = 0;
    argv[n++] = cloak_bin;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, cloak_bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int st;
    waitpid(pid, &st, 0);
    run_result r = {WIFEXITED(st) ? WEXITSTATUS(st) : 100, NULL, NULL};
    size_t l;
    cloak_error why;
    if (cloak_file_read(out_path, (uint8_t **)&r.out, &l, &why)) r.out = strdup("");
    if (cloak_file_read(err_path, (uint8_t **)&r.err, &l, &why)) r.err = strdup("");
    return r;
}

static void done(run_result *r)
{
    free(r->out);
    free(r->err);
}

static void expect_reject(const char *const *args, const char *words)
{
    run_result r = run(args);
    if (r.status != 1 || !strstr(r.err, words))
        fprintf(stderr, "status %d, stderr: %s\n", r.status, r.err);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, words));
    assert_string_equal(r.out, ""); /* nothing on stdout when rejected */
    done(&r);
}

static json_t *expect_claims(const char *const *args)
{
    run_result r = run(args);
    if (r.status != 0) fprintf(stderr, "status %d, stderr: %s\n", r.status, r.err);
    assert_int_equal(r.status, 0);
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    assert_non_null(j);
    done(&r);
    return j;
}

/* A vector path; each call gets its own buffer (16 live at once). */
static char bufs[16][1200];
static int nb;
static const char *V(const char *p)
{
    char *b = bufs[nb++ % 16];
    snprintf(b, sizeof bufs[0], "%s/%s", vec, p);
    return b;
}

static void test_sgx_sample_with_collateral(void **state)
{
    nb = 0;
    const char *ok[] = {"evidence",
                        "verify",
                        "--json",
                        "--collateral",
                        V("dcap-qvl/sgx_quote_collateral"),
                        "--at",
                        "2025-07-19T10:01:17Z",
                        V("dcap-qvl/sgx_quote.dat"),
                        NULL};
    json_t *c = expect_claims(ok);
    assert_string_equal(json_string_value(json_object_get(c, "tee")), "sgx");
    assert_string_equal(json_string_value(json_object_get(c, "tcb_status")),
                        "ConfigurationAndSWHardeningNeeded");
    json_t *adv = json_object_get(c, "advisory_ids");
    assert_int_equal(json_array_size(adv), 2);
    assert_string_equal(json_string_value(json_array_get(adv, 0)), "INTEL-SA-00289");
    assert_string_equal(json_string_value(json_array_get(adv, 1)), "INTEL-SA-00615");
    assert_null(json_object_get(c, "x-cloak-sim"));
    json_decref(c);
    /* the single-JSON collateral form gives the same verdict */
    const char *json_form[] = {"evidence",
                               "verify",
                               "--json",
                               "--collateral",
                               V("dcap-qvl/sgx_quote_collateral.json"),
                               "--at",
                               "@1752919277",
                               V("dcap-qvl/sgx_quote.dat"),
                               NULL};
    c = expect_claims(json_form);
    assert_string_equal(json_string_value(json_object_get(c, "tcb_status")),
                        "ConfigurationAndSWHardeningNeeded");
    json_decref(c);
    /* expired collateral: one day after its nextUpdate */
    const char *late[] = {"evidence",
                          "verify",
                          "--collateral",
                          V("dcap-qvl/sgx_quote_collateral"),
                          "--at",
                          "2025-07-20T10:01:17Z",
                          V("dcap-qvl/sgx_quote.dat"),
                          NULL};
    expect_reject(late, "expired");
    /* report data bound to something else */
    const char *rd[] = {"evidence",
                        "verify",
                        "--at",
                        "2025-07-19T10:01:17Z",
                        "--report-data",
                        "00",
                        V("dcap-qvl/sgx_quote.dat"),
                        NULL};
    expect_reject(rd, "report data does not match");
}

static void test_tdx_unsupported_tcb_level(void **state)
{
    nb = 0;
    const char *a[] = {"evidence",
                       "verify",
                       "--collateral",
                       V("dcap-qvl/tdx_quote_outdated_collateral"),
                       "--at",
                       "@1774003274",
                       V("dcap-qvl/tdx_quote_outdated.dat"),
                       NULL};
    expect_reject(a, "TCB level not supported");
    const char *up[] = {"evidence",
                        "verify",
                        "--json",
                        "--collateral",
                        V("dcap-qvl/tdx_quote_collateral"),
                        "--at",
                        "@1752919234",
                        V("dcap-qvl/tdx_quote.dat"),
                        NULL};
    json_t *c = expect_claims(up);
    assert_string_equal(json_string_value(json_object_get(c, "tee")), "tdx");
    assert_string_equal(json_string_value(json_object_get(c, "tcb_status")), "UpToDate");
    json_decref(c);
}

static void test_snp_debug_guest_and_policy(void **state)
{
    nb = 0;
    const char *a[] = {"evidence",
                       "verify",
                       "--json",
                       "--cert",
                       V("go-sev-guest/vcek_milan.der"),
                       "--at",
                       "2024-01-01T00:00:00Z",
                       V("go-sev-guest/attestation_milan_v2.bin"),
                       NULL};
    json_t *c = expect_claims(a);
    assert_string_equal(json_string_value(json_object_get(c, "tee")), "sevsnp");
    assert_true(json_is_true(json_object_get(c, "debug")));
    json_decref(c);
    const char *deny[] = {"evidence",
                          "verify",
                          "--deny-debug",
                          "--cert",
                          V("go-sev-guest/vcek_milan.der"),
                          "--at",
                          "2024-01-01T00:00:00Z",
                          V("go-sev-guest/attestation_milan_v2.bin"),
                          NULL};
    expect_reject(deny, "debug");
    /* without its VCEK the report cannot be checked */
    const char *nocert[] = {"evidence",
                            "verify",
                            "--at",
                            "2024-01-01T00:00:00Z",
                            V("go-sev-guest/attestation_milan_v2.bin"),
                            NULL};
    run_result r = run(nocert);
    assert_int_equal(r.status, 1);
    done(&r);
}

static void test_simulated_quote_needs_allow_sim(void **state)
{
    char img[1100], q[1100];
    snprintf(img, sizeof img, "%s/examples/hello/enclave.signed", getenv("CLOAK_BUILD_DIR"));
    snprintf(q, sizeof q, "%s/q.dat", platform);
    const char *mk[] = {
        "enclave", "quote", img, "--report-data", "00ff", "--platform-dir", platform,
        "-o",      q,       NULL};
    run_result r = run(mk);
    assert_int_equal(r.status, 0);
    done(&r);
    char coll[1100];
    snprintf(coll, sizeof coll, "%s/collateral", platform);
    const char *sim[] = {"evidence",
                         "verify",
                         "--json",
                         "--allow-sim",
                         "--platform-dir",
                         platform,
                         "--collateral",
                         coll,
                         "--report-data",
                         "00ff",
                         q,
                         NULL};
    json_t *c = expect_claims(sim);
    assert_true(json_is_true(json_object_get(c, "x-cloak-sim")));
    assert_string_equal(json_string_value(json_object_get(c, "tcb_status")), "UpToDate");
    json_decref(c);
    const char *vendor[] = {"evidence", "verify", q, NULL};
    expect_reject(vendor, "untrusted root");
}

static void test_usage_and_show(void **state)
{
    nb = 0;
    const char *u1[] = {"evidence", "verify", NULL};
    run_result r = run(u1);
    assert_int_equal(r.status, 2);
    done(&r);
    const char *u2[] = {"evidence", "verify", "--at", "yesterday", "x", NULL};
    r = run(u2);
    assert_int_equal(r.status, 2);
    done(&r);
    const char *u3[] = {"evidence", "verify", "--type", "tpm", "x", NULL};
    r = run(u3);
    assert_int_equal(r.status, 2);
    done(&r);
    const char *h[] = {"evidence", "verify", "--help", NULL};
    r = run(h);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Exit codes"));
    done(&r);
    const char *show[] = {"evidence", "show", "--json", V("dcap-qvl/tdx_quote.dat"), NULL};
    json_t *c = expect_claims(show);
    json_decref(c);
    const char *bad[] = {"evidence", "show", V("go-tdx-guest/tdreport.dat"), NULL};
    r = run(bad);
    assert_int_equal(r.status, 1);
    done(&r);
}

static int setup(void **state)
{
    snprintf(cloak_bin, sizeof cloak_bin, "%s/bin/cloak", getenv("CLOAK_BUILD_DIR"));
    snprintf(vec, sizeof vec, "%s/vectors/attestation", getenv("CLOAK_SHARED_DIR"));
    if (!mkdtemp(platform)) return -1;
    snprintf(out_path, sizeof out_path, "%s/stdout", platform);
    snprintf(err_path, sizeof err_path, "%s/stderr", platform);
    return 0;
}

static int teardown(void **state)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", platform);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgx_sample_with_collateral),
        cmocka_unit_test(test_tdx_unsupported_tcb_level),
        cmocka_unit_test(test_snp_debug_guest_and_policy),
        cmocka_unit_test(test_simulated_quote_needs_allow_sim),
        cmocka_unit_test(test_usage_and_show),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
