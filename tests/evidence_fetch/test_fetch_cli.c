/* `cloak evidence fetch-collateral` end to end: the built binary against the fake PCS
 * (fake_pcs.c), then `cloak evidence verify` on the folder it wrote with the real SGX sample
 * (MANIFEST.md's status); the API key from a file and from the environment reaches the server
 * and appears in no output; a key on the command line is refused without being echoed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_pcs.h"

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

#define T_SGX "@1752919277" /* MANIFEST.md (dcap-qvl) */
static const char key[] = "cli-K3y-5ecr3t-90af";

static char cloak_bin[1024], out_path[1200], err_path[1200], root_crl_url[128], *work;

typedef struct {
    int status;
    char *out, *err;
} run_result;

static run_result run(const char *const *args, char **envp)
{
    char *argv[48];
    int n = 0;
    argv[n++] = cloak_bin;
    for (; args[n - 1] && n < 47; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, cloak_bin, &fa, NULL, argv, envp ? envp : environ), 0);
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

static void no_key(const run_result *r)
{
    assert_null(strstr(r->out, key));
    assert_null(strstr(r->err, key));
}

static void test_help_and_usage(void **state)
{
    const char *h[] = {"evidence", "fetch-collateral", "--help", NULL};
    run_result r = run(h, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: cloak evidence fetch-collateral"));
    done(&r);
    const char *none[] = {"evidence", "fetch-collateral", "--out", work, NULL};
    r = run(none, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "nothing to fetch"));
    done(&r);
    /* a key in argv is refused, and not echoed */
    const char *a1[] = {"evidence",     "fetch-collateral", "--out", work, "--fmspc",
                        "00A067110000", "--api-key",        key,     NULL};
    r = run(a1, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "never taken on the command line"));
    no_key(&r);
    done(&r);
    char eq[256];
    snprintf(eq, sizeof eq, "--api-key=%s", key);
    const char *a2[] = {"evidence", "fetch-collateral", "--out", work,
                        "--fmspc",  "00A067110000",     eq,      NULL};
    r = run(a2, NULL);
    assert_int_equal(r.status, 2);
    no_key(&r);
    done(&r);
}

static void test_fetch_then_verify(void **state)
{
    char out[1200], keyfile[1200], coll[1300], quote[1200];
    cloak_error e;
    fake_reset();
    snprintf(F.want_key, sizeof F.want_key, "%s", key);
    snprintf(out, sizeof out, "%s/coll", work);
    snprintf(keyfile, sizeof keyfile, "%s/pcs.key", work);
    char kf[128];
    snprintf(kf, sizeof kf, "%s\n", key);
    assert_int_equal(cloak_file_write(keyfile, (const uint8_t *)kf, strlen(kf), 0600, &e), 0);
    const char *args[] = {"evidence",       "fetch-collateral",
                          "--out",          out,
                          "--fmspc",        "00A067110000",
                          "--pcs",          F.base,
                          "--kds",          F.base,
                          "--root-crl-url", root_crl_url,
                          "--ca",           F.ca,
                          "--api-key-file", keyfile,
                          "--at",           T_SGX,
                          "--json",         NULL};
    run_result r = run(args, NULL);
    if (r.status) fprintf(stderr, "stderr: %s\n", r.err);
    assert_int_equal(r.status, 0);
    no_key(&r);
    assert_int_equal(F.key_ok, 3);
    assert_int_equal(F.key_bad, 0);
    json_t *j = json_loads(r.out, 0, NULL);
    assert_non_null(j);
    json_t *it = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "result")), "created");
    json_decref(j);
    done(&r);

    /* the verifier reads what was written */
    snprintf(coll, sizeof coll, "%s/sgx-00a067110000", out);
    snprintf(quote, sizeof quote, "%s/dcap-qvl/sgx_quote.dat", F.vec);
    const char *v[] = {"evidence", "verify", "--collateral", coll, "--at",
                       T_SGX,      "--json", quote,          NULL};
    r = run(v, NULL);
    if (r.status) fprintf(stderr, "stderr: %s\n", r.err);
    assert_int_equal(r.status, 0);
    j = json_loads(r.out, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "tcb_status")),
                        "ConfigurationAndSWHardeningNeeded");
    json_decref(j);
    done(&r);

    /* the key from the environment; the text report says "unchanged" */
    char envkey[256], *envp[] = {envkey, NULL};
    snprintf(envkey, sizeof envkey, "CLOAK_PCS_API_KEY=%s", key);
    F.key_ok = 0;
    const char *args2[] = {"evidence",
                           "fetch-collateral",
                           "--out",
                           out,
                           "--fmspc",
                           "00A067110000",
                           "--pcs",
                           F.base,
                           "--ca",
                           F.ca,
                           "--root-crl-url",
                           root_crl_url,
                           "--at",
                           T_SGX,
                           NULL};
    r = run(args2, envp);
    if (r.status) fprintf(stderr, "stderr: %s\n", r.err);
    assert_int_equal(r.status, 0);
    assert_int_equal(F.key_ok, 3);
    assert_non_null(strstr(r.out, "unchanged"));
    no_key(&r);
    done(&r);

    /* a forged TCB info: exit 1, the reason on stderr, the folder kept */
    F.tamper = 2;
    r = run(args2, envp);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "refused"));
    assert_non_null(strstr(r.err, "does not chain to the root"));
    no_key(&r);
    done(&r);
    char tcb[1400];
    snprintf(tcb, sizeof tcb, "%s/tcb_info_body.json", coll);
    assert_true(fake_same_as_vec(tcb, "dcap-qvl/sgx_quote_collateral/tcb_info_body.json"));
    fake_reset();
}

static int setup(void **state)
{
    fake_start();
    snprintf(root_crl_url, sizeof root_crl_url, "%s/IntelSGXRootCA.der", F.base);
    const char *build = getenv("CLOAK_BUILD_DIR");
    snprintf(cloak_bin, sizeof cloak_bin, "%s/bin/cloak", build ? build : ".");
    work = fake_tmpdir();
    snprintf(out_path, sizeof out_path, "%s/stdout", work);
    snprintf(err_path, sizeof err_path, "%s/stderr", work);
    return 0;
}

static int teardown(void **state)
{
    fake_stop();
    fake_rm_rf(work);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage),
        cmocka_unit_test(test_fetch_then_verify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
