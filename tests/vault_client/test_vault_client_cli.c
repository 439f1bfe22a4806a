/* `cloak vault key ...` end to end: the built binary (CLOAK_BUILD_DIR/bin/cloak) against an
 * in-process vault over real HTTPS, the token in CLOAK_VAULT_TOKEN or --token-file. Checks exit
 * codes (0 ok, 1 refused, 2 usage), that --json output parses, and the results with OpenSSL
 * directly (signatures, the released key against the published public key). */
#include "vc_testlib.h"

#include "evidence/dcap_testlib.h"

#include <openssl/pem.h>
#include <sys/wait.h>

static char g_cloak[4200], *g_tmp;
static char *g_out, *g_err; /* the last run's stdout and stderr */

static int setup(void **st)
{
    (void)st;
    vfix_setup_attest();
    vfix_start_vault(NULL, 0);
    const char *bd = getenv("CLOAK_BUILD_DIR");
    assert_non_null(bd);
    snprintf(g_cloak, sizeof g_cloak, "%s/bin/cloak", bd);
    g_tmp = dcap_tmpdir();
    setenv("CLOAK_VAULT_URL", F.url, 1);
    setenv("CLOAK_VAULT_CA", F.ca, 1);
    setenv("CLOAK_VAULT_TOKEN", F.admin, 1);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    free(g_out);
    free(g_err);
    dcap_rm_rf(g_tmp);
    vfix_teardown();
    return 0;
}

static char *tpath(const char *name)
{
    static char p[4][4300];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", g_tmp, name);
    return p[i];
}

static char *slurp(const char *path)
{
    size_t n = 0;
    uint8_t *b = dcap_read_file(path, &n);
    char *s = malloc(n + 1);
    memcpy(s, b, n);
    s[n] = 0;
    free(b);
    return s;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Run `cloak vault key ARGS`; returns the exit status; g_out / g_err hold the output. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[8192], cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' vault key %s </dev/null >'%s' 2>'%s'", g_cloak, args,
             tpath("stdout"), tpath("stderr"));
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    free(g_out);
    free(g_err);
    g_out = slurp(tpath("stdout"));
    g_err = slurp(tpath("stderr"));
    return WEXITSTATUS(st);
}

static json_t *out_json(void)
{
    json_error_t je;
    json_t *j = json_loads(g_out, 0, &je);
    if (!j) fail_msg("--json output does not parse (%s): %s", je.text, g_out);
    return j;
}

#define RUN_OK(...)                                                                                \
    do {                                                                                           \
        int rc_ = run(__VA_ARGS__);                                                                \
        if (rc_ != 0) fail_msg("exit %d: %s", rc_, g_err);                                         \
    } while (0)

static void test_cli_end_to_end(void **st)
{
    (void)st;
    RUN_OK("create cli-ec --kty EC --curve P-256 --tag owner=cli --json");
    json_t *c = out_json();
    const json_t *k = json_object_get(c, "key");
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
    assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "tags"), "owner")),
                        "cli");
    const char *kid = json_string_value(json_object_get(k, "kid"));
    /* get: JSON and the short form */
    RUN_OK("get cli-ec --json");
    json_t *g = out_json();
    assert_string_equal(json_string_value(json_object_get(json_object_get(g, "key"), "kid")), kid);
    EVP_PKEY *pub = bundle_pub(g);
    json_decref(g);
    RUN_OK("get cli-ec");
    assert_non_null(strstr(g_out, kid));
    assert_non_null(strstr(g_out, "EC, P-256"));
    assert_non_null(strstr(g_out, "owner=cli"));
    /* list: the key (kid without version) is there */
    char want[256];
    snprintf(want, sizeof want, "%s/keys/cli-ec", F.url);
    RUN_OK("list --json");
    json_t *l = out_json();
    size_t i;
    json_t *it;
    int found = 0;
    json_array_foreach(json_object_get(l, "value"), i, it)
    {
        found += !strcmp(json_string_value(json_object_get(it, "kid")), want);
    }
    assert_int_equal(found, 1);
    json_decref(l);
    RUN_OK("list");
    assert_non_null(strstr(g_out, "cli-ec "));
    /* sign a message: OpenSSL verifies the signature over SHA-256(message) */
    const char msg[] = "signed by the vault, checked by OpenSSL";
    spit(tpath("msg"), msg, strlen(msg));
    RUN_OK("sign cli-ec --alg ES256 --in '%s' --out '%s'", tpath("msg"), tpath("sig"));
    size_t sl = 0, dl = 0;
    uint8_t *sig = dcap_read_file(tpath("sig"), &sl), dg[32];
    assert_int_equal(sl, 64);
    ossl_digest("SHA256", (const uint8_t *)msg, strlen(msg), dg, &dl);
    assert_true(ossl_verify(pub, "ES256", dg, dl, sig, sl));
    /* verify: valid (message or digest), invalid for another message */
    RUN_OK("verify cli-ec --alg ES256 --in '%s' --sig '%s'", tpath("msg"), tpath("sig"));
    assert_string_equal(g_out, "valid\n");
    char *dh = cloak_hex_encode(dg, dl), *sh = cloak_hex_encode(sig, sl);
    RUN_OK("verify cli-ec --alg ES256 --digest-hex %s --sig-hex %s --json", dh, sh);
    json_t *v = out_json();
    assert_true(json_is_true(json_object_get(v, "value")));
    json_decref(v);
    spit(tpath("msg2"), "another message", 15);
    assert_int_equal(
        run("verify cli-ec --alg ES256 --in '%s' --sig '%s'", tpath("msg2"), tpath("sig")), 1);
    assert_int_equal(strncmp(g_out, "invalid", 7), 0);
    /* sign --json: the vault's answer shape, value base64url */
    RUN_OK("sign cli-ec --alg ES256 --digest-hex %s --json", dh);
    json_t *sj = out_json();
    size_t n2 = 0;
    uint8_t *sig2 = tb64url_dec(json_string_value(json_object_get(sj, "value")), &n2);
    assert_true(ossl_verify(pub, "ES256", dg, dl, sig2, n2));
    assert_string_equal(json_string_value(json_object_get(sj, "kid")), kid);
    json_decref(sj);
    free(sig2);
    free(dh);
    free(sh);
    free(sig);
    /* delete: then the live key is 404 (exit 1 with the vault's message), deleted list has it */
    RUN_OK("delete cli-ec --json");
    json_t *d = out_json();
    assert_non_null(json_string_value(json_object_get(d, "recoveryId")));
    json_decref(d);
    assert_int_equal(run("get cli-ec"), 1);
    assert_non_null(strstr(g_err, "HTTP 404 KeyNotFound: Key not found: cli-ec"));
    RUN_OK("list --deleted");
    assert_non_null(strstr(g_out, "cli-ec "));
    RUN_OK("recover cli-ec");
    RUN_OK("get cli-ec --json");
    json_decref(out_json());
    RUN_OK("delete cli-ec");
    RUN_OK("purge cli-ec");
    assert_string_equal(g_out, "purged cli-ec\n");
    assert_int_equal(run("recover cli-ec"), 1);
    EVP_PKEY_free(pub);
    json_decref(c);
}

static void test_cli_usage_and_auth(void **st)
{
    (void)st;
    static const char *const subs[] = {"create", "get",     "list",    "delete",  "recover",
                                       "purge",  "release", "encrypt", "decrypt", "wrap",
                                       "unwrap", "sign",    "verify"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        RUN_OK("%s --help", subs[i]);
        char u[64];
        snprintf(u, sizeof u, "usage: cloak vault key %s", subs[i]);
        assert_int_equal(strncmp(g_out, u, strlen(u)), 0);
    }
    assert_int_equal(run("%s", ""), 2);
    assert_int_equal(run("nope"), 2);
    assert_int_equal(run("get"), 2);
    assert_int_equal(run("get a b"), 2);
    assert_int_equal(run("create k"), 2);                             /* no --kty */
    assert_int_equal(run("create k --kty RSA --exportable"), 2);      /* no --policy */
    assert_int_equal(run("sign k"), 2);                               /* no --alg */
    assert_int_equal(run("verify k --alg ES256 --digest-hex 00"), 2); /* no signature */
    assert_int_equal(run("sign k --alg ES256 --digest-hex zz"), 2);
    /* a token on the command line is refused and not echoed */
    assert_int_equal(run("get k --token s3cr3t-t0ken"), 2);
    assert_null(strstr(g_err, "s3cr3t-t0ken"));
    assert_non_null(strstr(g_err, "--token-file"));
    /* no token at all: usage; --token-file works (a trailing newline is fine) */
    RUN_OK("create cli-tf --kty oct");
    unsetenv("CLOAK_VAULT_TOKEN");
    assert_int_equal(run("get cli-tf"), 2);
    char *tf = NULL;
    assert_true(asprintf(&tf, "%s\n", F.admin) > 0);
    spit(tpath("token"), tf, strlen(tf));
    free(tf);
    RUN_OK("get cli-tf --token-file '%s'", tpath("token"));
    assert_int_equal(run("get cli-tf --token-file '%s'", tpath("missing")), 1);
    /* a reader: 403 ForbiddenByRbac, exit 1 */
    char *rt = vtoken("reader", "cli-reader");
    setenv("CLOAK_VAULT_TOKEN", rt, 1);
    free(rt);
    RUN_OK("get cli-tf");
    assert_int_equal(run("create cli-no --kty oct"), 1);
    assert_non_null(strstr(g_err, "HTTP 403 Forbidden (ForbiddenByRbac): "));
    /* a token of another issuer: 401 and a hint */
    setenv("CLOAK_VAULT_TOKEN", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", 1);
    assert_int_equal(run("get cli-tf"), 1);
    assert_non_null(strstr(g_err, "HTTP 401 Unauthorized"));
    assert_non_null(strstr(g_err, "cloak vault token"));
    setenv("CLOAK_VAULT_TOKEN", F.admin, 1);
    /* no vault URL: usage */
    unsetenv("CLOAK_VAULT_URL");
    assert_int_equal(run("get cli-tf"), 2);
    RUN_OK("get cli-tf --vault %s", F.url);
    setenv("CLOAK_VAULT_URL", F.url, 1);
}

static void test_cli_crypt_and_release(void **st)
{
    (void)st;
    /* AES-GCM: encrypt prints iv and tag for decrypt */
    RUN_OK("create cli-oct --kty oct --size 256");
    const char pt[] = "the plaintext, through files";
    spit(tpath("pt"), pt, strlen(pt));
    RUN_OK("encrypt cli-oct --alg A256GCM --aad-hex 0102 --in '%s' --out '%s'", tpath("pt"),
           tpath("ct"));
    char iv[64] = "", tag[64] = "";
    const char *w = strstr(g_err, "--iv ");
    assert_non_null(w);
    assert_int_equal(sscanf(w, "--iv %63s --tag %63s", iv, tag), 2);
    assert_int_equal(strlen(iv), 24);
    assert_int_equal(strlen(tag), 32);
    RUN_OK("decrypt cli-oct --alg A256GCM --aad-hex 0102 --iv %s --tag %s --in '%s' --out '%s'", iv,
           tag, tpath("ct"), tpath("pt2"));
    char *back = slurp(tpath("pt2"));
    assert_string_equal(back, pt);
    free(back);
    assert_int_equal(run("decrypt cli-oct --alg A256GCM --iv %s --tag %s --in '%s' --out '%s'", iv,
                         tag, tpath("ct"), tpath("pt3")),
                     1); /* without the aad */
    assert_non_null(strstr(g_err, "HTTP 400"));
    /* key wrap round trip through stdout */
    uint8_t cek[32];
    for (int i = 0; i < 32; i++)
        cek[i] = (uint8_t)(i * 7);
    spit(tpath("cek"), cek, 32);
    RUN_OK("wrap cli-oct --alg A256KW --in '%s' --out '%s'", tpath("cek"), tpath("wrapped"));
    RUN_OK("unwrap cli-oct --alg A256KW --in '%s'", tpath("wrapped"));
    assert_memory_equal(g_out, cek, 32);
    /* Secure Key Release: a releasable RSA key, a KEK in PEM, the token in a file */
    char *rt = NULL;
    EVP_PKEY *kek = make_kek(&rt);
    FILE *f = fopen(tpath("kek.pem"), "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, kek, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    char *pol = release_policy(2);
    spit(tpath("policy.json"), pol, strlen(pol));
    RUN_OK("create cli-rel --kty RSA --exportable --policy '%s' --json", tpath("policy.json"));
    json_t *b = out_json();
    EVP_PKEY *pub = bundle_pub(b);
    json_decref(b);
    char *tok = attest_token(rt, 0, 0x22, 2);
    spit(tpath("target"), tok, strlen(tok));
    char relpem[4300];
    snprintf(relpem, sizeof relpem, "%s/release.pem", F.vault_dir);
    RUN_OK("release cli-rel --target '%s' --kek '%s' --out '%s' --release-cert '%s' --nonce n1",
           tpath("target"), tpath("kek.pem"), tpath("key.der"), relpem);
    assert_non_null(strstr(g_out, "kek-1"));
    size_t kl = 0;
    uint8_t *der = dcap_read_file(tpath("key.der"), &kl);
    const uint8_t *p = der;
    EVP_PKEY *priv = d2i_AutoPrivateKey(NULL, &p, (long)kl);
    assert_non_null(priv);
    assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
    /* the JWS itself (--json), and a replayed nonce is refused with exit 1 */
    RUN_OK("release cli-rel --target '%s' --json", tpath("target"));
    json_t *r = out_json();
    const char *jws = json_string_value(json_object_get(r, "value"));
    assert_non_null(jws);
    assert_non_null(strchr(strchr(jws, '.') + 1, '.'));
    json_decref(r);
    assert_int_equal(run("release cli-rel --target '%s' --nonce n1", tpath("target")), 1);
    assert_non_null(strstr(g_err, "(NonceReplayed)"));
    /* a too-low svn: PolicyNotSatisfied */
    free(tok);
    tok = attest_token(rt, 0, 0x22, 1);
    spit(tpath("target1"), tok, strlen(tok));
    assert_int_equal(run("release cli-rel --target '%s'", tpath("target1")), 1);
    assert_non_null(strstr(g_err, "HTTP 403 Forbidden (PolicyNotSatisfied): "));
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(kek);
    free(der);
    free(tok);
    free(pol);
    free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_end_to_end),
        cmocka_unit_test(test_cli_usage_and_auth),
        cmocka_unit_test(test_cli_crypt_and_release),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
