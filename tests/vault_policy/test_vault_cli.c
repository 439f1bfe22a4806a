/* The command line: `cloak vault token` (the printed token is accepted by the library's
 * verifier, names the role and subject, and lives --ttl seconds) and `cloak vault audit verify`
 * (counts, head hash equal to the last line's "hash", --json, a tampered log exits 1 naming the
 * line), plus usage errors exiting 2. Runs the built binary ($CLOAK_BUILD_DIR/bin/cloak). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>

#include "cloak/jose.h"
#include "vault/audit.h"
#include "vault/auth.h"

static char dir[64], data[128], bin[512];
static char out[65536];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/cloak-vaultcli-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(data, sizeof data, "%s/data", dir);
    const char *b = getenv("CLOAK_BUILD_DIR");
    if (!b) return -1;
    snprintf(bin, sizeof bin, "%s/bin/cloak", b);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run a shell command; stdout (and stderr when the command redirects it) in `out`. */
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static json_t *payload_of(const char *t)
{
    const char *d1 = strchr(t, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    assert_non_null(d2);
    uint8_t *raw = NULL;
    size_t rl = 0;
    cloak_error e = {0};
    assert_int_equal(cloak_base64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &raw, &rl, &e),
                     CLOAK_OK);
    json_t *j = json_loadb((const char *)raw, rl, 0, NULL);
    free(raw);
    assert_non_null(j);
    return j;
}

static void test_vault_token_prints_a_token_the_vault_accepts(void **state)
{
    (void)state;
    assert_int_equal(run("%s vault token --data %s --role 'Key Vault Crypto Officer' --subject "
                         "ops-1 --ttl 90m",
                         bin, data),
                     0);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_string_equal(nl + 1, ""); /* one line: the token */
    *nl = 0;
    char *token = strdup(out);
    json_t *c = payload_of(token);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")) -
                         json_integer_value(json_object_get(c, "iat")),
                     5400);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "ops-1");
    json_decref(c);

    cloak_vault_auth_config cfg = {.data_dir = data};
    cloak_vault_auth *a = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_vault_auth_new(&cfg, &a, &e), CLOAK_OK);
    char hdr[4096];
    snprintf(hdr, sizeof hdr, "Bearer %s", token);
    cloak_vault_principal who;
    cloak_err rc = cloak_vault_auth_check(a, hdr, time(NULL), &who, &e);
    if (rc) fprintf(stderr, "check: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    assert_string_equal(who.subject, "ops-1");
    assert_string_equal(who.roles, "crypto-officer");
    /* 90 minutes later (plus the skew allowance) it has expired */
    assert_int_equal(cloak_vault_auth_check(a, hdr, time(NULL) + 5400 + 120, &who, &e),
                     CLOAK_EPERM);
    assert_non_null(strstr(e.msg, "expired"));
    cloak_vault_auth_free(a);
    free(token);

    /* the other duration forms */
    static const struct {
        const char *ttl;
        long long secs;
    } forms[] = {{"3600", 3600}, {"8h", 28800}, {"7d", 604800}, {"45s", 45}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(run("%s vault token --data %s --role reader --subject r --ttl %s", bin,
                             data, forms[i].ttl),
                         0);
        c = payload_of(out);
        assert_int_equal(json_integer_value(json_object_get(c, "exp")) -
                             json_integer_value(json_object_get(c, "iat")),
                         forms[i].secs);
        json_decref(c);
    }
}

static void test_vault_token_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(run("%s vault token --help", bin), 0);
    assert_non_null(strstr(out, "usage: cloak vault token"));
    assert_int_equal(run("%s vault token --role reader --subject x 2>&1", bin), 2);
    assert_non_null(strstr(out, "--data DIR is required"));
    assert_int_equal(run("%s vault token --data %s --subject x 2>&1", bin, data), 2);
    assert_int_equal(run("%s vault token --data %s --role reader 2>&1", bin, data), 2);
    assert_int_equal(run("%s vault token --data %s --role owner --subject x 2>&1", bin, data), 2);
    assert_non_null(strstr(out, "unknown role 'owner'"));
    static const char *const bad[] = {"0", "5x", "-5", "90M", "", "1.5h", "400d", "h"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(run("%s vault token --data %s --role reader --subject x --ttl '%s' 2>&1",
                             bin, data, bad[i]),
                         2);
        assert_non_null(strstr(out, "--ttl"));
    }
    assert_int_equal(
        run("%s vault token --data %s --role reader --subject x extra 2>&1", bin, data), 2);
    /* a data directory that cannot be created: a failure, exit 1 */
    assert_int_equal(run("%s vault token --data /proc/nope --role reader --subject x 2>&1", bin),
                     1);
    assert_non_null(strstr(out, "cloak: "));
}

static void test_vault_audit_verify(void **state)
{
    (void)state;
    char d[160];
    snprintf(d, sizeof d, "%s/auditdir", dir);
    cloak_vault_audit *a = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_vault_audit_open(d, &a, &e), CLOAK_OK);
    for (int i = 0; i < 5; i++) {
        cloak_vault_audit_entry en = {.time = time(NULL),
                                      .request_id = "r",
                                      .caller = "ops-1",
                                      .op = "KeyCreate",
                                      .key = "k",
                                      .status = 200,
                                      .outcome = "ok"};
        assert_int_equal(cloak_vault_audit_append(a, &en, &e), CLOAK_OK);
    }
    cloak_vault_audit_close(a);

    /* the last line's hash, read from the file */
    char lp[200];
    snprintf(lp, sizeof lp, "%s/audit.log", d);
    FILE *f = fopen(lp, "r");
    char line[2048], last[2048] = "";
    while (fgets(line, sizeof line, f))
        strcpy(last, line);
    fclose(f);
    json_t *j = json_loads(last, 0, NULL);
    char head[65];
    snprintf(head, sizeof head, "%s", json_string_value(json_object_get(j, "hash")));
    json_decref(j);

    assert_int_equal(run("%s vault audit verify %s", bin, d), 0);
    assert_non_null(strstr(out, "verified 5 entries"));
    char want[100];
    snprintf(want, sizeof want, "head %s", head);
    assert_non_null(strstr(out, want));

    assert_int_equal(run("%s vault audit verify %s --json", bin, d), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_object_get(j, "entries")), 5);
    assert_string_equal(json_string_value(json_object_get(j, "head")), head);
    json_decref(j);

    /* tamper with line 3 (sed, outside cloak) */
    assert_int_equal(run("sed -i '3s/\"caller\":\"ops-1\"/\"caller\":\"ops-2\"/' %s", lp), 0);
    assert_int_equal(run("%s vault audit verify %s 2>&1", bin, d), 1);
    assert_non_null(strstr(out, "line 3"));
    assert_non_null(strstr(out, "edited"));
    assert_int_equal(run("%s vault audit verify --json %s 2>/dev/null", bin, d), 1);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_false(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_object_get(j, "bad_line")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "entries")), 2);
    json_decref(j);

    /* usage */
    assert_int_equal(run("%s vault audit --help", bin), 0);
    assert_non_null(strstr(out, "usage: cloak vault audit verify DIR"));
    assert_int_equal(run("%s vault audit check %s 2>&1", bin, d), 2);
    assert_int_equal(run("%s vault audit verify 2>&1", bin), 2);
    assert_int_equal(run("%s vault audit 2>&1", bin), 2);
    assert_int_equal(run("%s vault audit verify %s extra 2>&1", bin, d), 2);
    /* no log there: exit 1 */
    assert_int_equal(run("%s vault audit verify %s/none 2>&1", bin, dir), 1);
    /* both commands are listed */
    assert_int_equal(run("%s --help", bin), 0);
    assert_non_null(strstr(out, "cloak vault token"));
    assert_non_null(strstr(out, "cloak vault audit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vault_token_prints_a_token_the_vault_accepts),
        cmocka_unit_test(test_vault_token_usage_errors),
        cmocka_unit_test(test_vault_audit_verify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
