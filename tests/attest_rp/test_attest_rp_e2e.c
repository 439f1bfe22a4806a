/* End to end: a simulated SGX quote (the development platform, report data = SHA-256 of the
 * runtime data) sent with cloak_attest_request to the real attestation service
 * (cloak_attest_service, --allow-sim) over HTTPS, and the token it returns verified with the
 * relying party against the service's own OpenID metadata and /certs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "cloak/attest.h"
#include "cloak/attest_service.h"
#include "cloak/platform.h"

static char dir[64], platform_dir[128], data_dir[128];
static cloak_attest_service *svc;
static char service_url[128];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/cloak-attestrp-e2e-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(platform_dir, sizeof platform_dir, "%s/platform", dir);
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    cloak_attest_service_config cfg = {
        .data_dir = data_dir, .allow_sim = 1, .platform_dir = platform_dir};
    cloak_error e = {0};
    if (cloak_attest_service_new(&cfg, &svc, &e) || cloak_attest_service_start(svc, &e)) {
        fprintf(stderr, "service: %s\n", e.msg);
        return -1;
    }
    snprintf(service_url, sizeof service_url, "https://127.0.0.1:%u",
             cloak_attest_service_port(svc));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cloak_attest_service_free(svc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static uint8_t *sim_quote(const char *runtime, size_t *len)
{
    cloak_platform *p = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_platform_open(platform_dir, &p, &e), CLOAK_OK);
    cloak_sgx_report r;
    memset(&r, 0, sizeof r);
    cloak_platform_cpusvn(p, r.cpusvn);
    r.attr_flags = CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_MODE64BIT;
    r.attr_xfrm = 3;
    memset(r.mrenclave, 0xe1, sizeof r.mrenclave);
    memset(r.mrsigner, 0x51, sizeof r.mrsigner);
    r.isvprodid = 7;
    r.isvsvn = 3;
    /* MAA binding (azure-api.md §1): SHA-256(runtimeData) = report_data[0..32] */
    SHA256((const uint8_t *)runtime, strlen(runtime), r.reportdata);
    uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES];
    cloak_sgx_report_encode(&r, body);
    uint8_t *q = NULL;
    assert_int_equal(cloak_platform_quote(p, body, &q, len, &e), CLOAK_OK);
    cloak_platform_free(p);
    return q;
}

static void test_simulated_sgx_quote_token_verifies_with_the_rp(void **state)
{
    (void)state;
    const char *runtime = "{\"keys\":[{\"kid\":\"rt\",\"kty\":\"oct\"}]}";
    size_t qlen = 0;
    uint8_t *q = sim_quote(runtime, &qlen);
    const char *ca = cloak_attest_service_ca(svc);
    char *token = NULL;
    cloak_error e = {0};
    cloak_err rc =
        cloak_attest_request(service_url, ca, CLOAK_TEE_SGX, q, qlen, (const uint8_t *)runtime,
                             strlen(runtime), 1, "e2e-nonce", &token, &e);
    if (rc) fprintf(stderr, "request: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);

    const char *issuers[] = {cloak_attest_service_issuer(svc), NULL};
    cloak_attest_rp_config cfg = {.issuers = issuers, .ca_file = ca};
    cloak_attest_rp *rp = NULL;
    assert_int_equal(cloak_attest_rp_new(&cfg, &rp, &e), CLOAK_OK);
    json_t *claims = NULL;
    rc = cloak_attest_rp_verify(rp, token, strlen(token), time(NULL), &claims, &e);
    if (rc) fprintf(stderr, "verify: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    assert_string_equal(json_string_value(json_object_get(claims, "iss")), issuers[0]);
    assert_string_equal(json_string_value(json_object_get(claims, "nonce")), "e2e-nonce");
    assert_true(json_is_true(json_object_get(claims, "x-cloak-sim")));
    assert_string_equal(json_string_value(json_object_get(claims, "x-ms-sgx-mrenclave")),
                        "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1");
    json_t *rt = json_object_get(claims, "x-ms-runtime");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(rt, "keys"), 0), "kid")),
        "rt");
    json_decref(claims);

    /* the token is only good with its own issuer */
    const char *others[] = {"https://127.0.0.1:1", NULL};
    cloak_attest_rp_config ocfg = {.issuers = others, .ca_file = ca};
    cloak_attest_rp *orp = NULL;
    assert_int_equal(cloak_attest_rp_new(&ocfg, &orp, &e), CLOAK_OK);
    claims = NULL;
    assert_int_equal(cloak_attest_rp_verify(orp, token, strlen(token), time(NULL), &claims, &e),
                     CLOAK_EPERM);
    assert_non_null(strstr(e.msg, "not a trusted issuer"));
    cloak_attest_rp_free(orp);

    /* runtime data that the quote does not bind is refused by the service, reason in why */
    char *t2 = NULL;
    rc = cloak_attest_request(service_url, ca, CLOAK_TEE_SGX, q, qlen,
                              (const uint8_t *)"{\"other\":1}", 11, 1, NULL, &t2, &e);
    fprintf(stderr, "  mismatch: %s\n", e.msg);
    assert_int_not_equal(rc, CLOAK_OK);
    assert_null(t2);
    assert_non_null(strstr(e.msg, "HTTP 400"));
    free(token);
    free(q);
    cloak_attest_rp_free(rp);
}

/* Run a shell command; its stdout in `out`, its exit status returned. */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The same through the command line: `cloak attest request` writes the token to a file and
 * `cloak attest verify-token ... -` reads it from stdin (never argv). */
static void test_cli_request_then_verify_token_from_stdin(void **state)
{
    (void)state;
    const char *runtime = "{\"k\":\"v\"}";
    size_t qlen = 0;
    uint8_t *q = sim_quote(runtime, &qlen);
    char qpath[200], rpath[200], tpath[200], cmd[4096], bin[512];
    static char out[65536];
    snprintf(qpath, sizeof qpath, "%s/quote.bin", dir);
    snprintf(rpath, sizeof rpath, "%s/runtime.json", dir);
    snprintf(tpath, sizeof tpath, "%s/token.jwt", dir);
    cloak_error e = {0};
    assert_int_equal(cloak_file_write(qpath, q, qlen, 0600, &e), CLOAK_OK);
    assert_int_equal(cloak_file_write(rpath, (const uint8_t *)runtime, strlen(runtime), 0600, &e),
                     CLOAK_OK);
    free(q);
    snprintf(bin, sizeof bin, "%s/bin/cloak", getenv("CLOAK_BUILD_DIR"));
    const char *ca = cloak_attest_service_ca(svc), *iss = cloak_attest_service_issuer(svc);

    snprintf(cmd, sizeof cmd,
             "%s attest request --service %s --ca %s --type sgx --evidence %s --runtime-data %s "
             "--json-runtime "
             "--nonce cli-nonce > %s",
             bin, service_url, ca, qpath, rpath, tpath);
    assert_int_equal(run(cmd, out, sizeof out), 0);

    snprintf(cmd, sizeof cmd, "%s attest verify-token --issuer %s/ --ca %s --json - < %s", bin, iss,
             ca, tpath);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    json_error_t je;
    json_t *claims = json_loads(out, 0, &je);
    assert_non_null(claims);
    assert_string_equal(json_string_value(json_object_get(claims, "nonce")), "cli-nonce");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(claims, "x-ms-runtime"), "k")), "v");
    json_decref(claims);

    /* refusals exit 1 with one reason on stderr; usage errors exit 2 */
    snprintf(cmd, sizeof cmd,
             "%s attest verify-token --issuer https://elsewhere.example --ca %s - < %s 2>&1", bin,
             ca, tpath);
    assert_int_equal(run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "not a trusted issuer"));
    snprintf(cmd, sizeof cmd,
             "%s attest verify-token --issuer %s --ca %s --at 2099-01-01T00:00:00Z - < %s 2>&1",
             bin, iss, ca, tpath);
    assert_int_equal(run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "expired"));
    snprintf(cmd, sizeof cmd, "%s attest verify-token --ca %s - < %s 2>/dev/null", bin, ca, tpath);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "%s attest request --service %s --type sgx 2>/dev/null", bin,
             service_url);
    assert_int_equal(run(cmd, out, sizeof out), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simulated_sgx_quote_token_verifies_with_the_rp),
        cmocka_unit_test(test_cli_request_then_verify_token_from_stdin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
