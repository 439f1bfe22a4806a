/* Key custody of a running vault (issue 6): "No plaintext key byte reaches the database file,
 * the logs, or the host process's memory".
 *
 * The real `cloak vault serve` binary runs as a child of this test with a fresh --data dir and
 * --access-log, trusting an in-process attestation service (simulated quotes allowed). The test
 * generates RSA 2048, EC P-256 and oct 256 keys in the vault, uses each, and releases each to
 * its own KEK: opening key_hsm with plain OpenSSL gives it the key bytes (RSA d, p, q; EC d;
 * oct k) the host never saw. It then imports an RSA and an oct key (whose bytes it chose) and
 * uses them. The secrets, in raw, byte-reversed, hex, base64 and base64url form, must not occur
 * in:
 *   - the child's readable+writable memory (/proc/PID/maps + /proc/PID/mem: the test is the
 *     parent, so ptrace access rules allow it; no access is a printed skip, never a pass);
 *   - any file under the data directory (db, -wal, -shm, audit log, ...) or the child's
 *     captured stdout/stderr.
 * Positive controls make the scans able to fail: a marker tag and the RSA key's public modulus
 * (base64url, as the host stores it) must be found in the child's memory, and the marker in the
 * data directory. Imported keys cross the host in the TLS stream by nature; the property is
 * that the host wipes them once the request is done, over one-shot connections and over a
 * kept-alive one that is still open (wipe-on-free allocators installed by `cloak vault serve`,
 * src/vault/wipe_alloc.c, and SSL_MODE_RELEASE_BUFFERS on the server, src/http/tls.c). */
#include "vault_testlib.h"

#include "custody_scan.h"
#include "evidence/dcap_testlib.h"
#include "vault/auth.h"

#include "cloak/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define Q "?api-version=7.6"
#define MARKER "custody-positive-control-5b1e9d0c"

static cs_set g_set;
static pid_t g_child;
static char *g_logdir, g_out[512], g_err[512];
static EVP_PKEY *g_kek;
static char *g_runtime;
static char g_n_b64[600]; /* the generated RSA key's public n, base64url (positive control) */

enum { G_SECRET = 1, G_IMPORTED = 2, G_CONTROL = 3, G_CONTROL_N = 4 };

/* ---- the child ---- */

static void start_child(void)
{
    const char *bd = getenv("CLOAK_BUILD_DIR");
    assert_non_null(bd);
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/bin/cloak", bd);
    g_logdir = dcap_tmpdir();
    snprintf(g_out, sizeof g_out, "%s/stdout", g_logdir);
    snprintf(g_err, sizeof g_err, "%s/stderr", g_logdir);
    const char *argv[] = {bin,
                          "vault",
                          "serve",
                          "--listen",
                          "127.0.0.1:0",
                          "--data",
                          F.vault_dir,
                          "--trust-issuer",
                          F.attest_url,
                          "--ca",
                          cloak_attest_service_ca(F.as),
                          "--access-log",
                          NULL};
    fflush(NULL);
    g_child = fork();
    assert_true(g_child >= 0);
    if (!g_child) {
        int o = open(g_out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(g_err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
        setenv("CLOAK_PLATFORM_DIR", F.plat_dir, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    /* wait for "vault: URL" on its stdout */
    for (int i = 0; i < 1200; i++) {
        char buf[4096] = "";
        FILE *f = fopen(g_out, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[n] = 0;
        const char *v = strstr(buf, "vault: ");
        const char *nl = v ? strchr(v, '\n') : NULL;
        if (nl && strstr(nl, "listening on")) {
            snprintf(F.url, sizeof F.url, "%.*s", (int)(nl - v - 7), v + 7);
            snprintf(F.ca, sizeof F.ca, "%s/ca.pem", F.vault_dir);
            return;
        }
        int st;
        if (waitpid(g_child, &st, WNOHANG) == g_child) {
            g_child = 0;
            fail_msg("cloak vault serve exited (status %d) before listening; see %s", st, g_err);
        }
        usleep(50 * 1000);
    }
    fail_msg("cloak vault serve did not start listening within 60 s");
}

static void stop_child(void)
{
    if (!g_child) return;
    kill(g_child, SIGTERM);
    int st = 0;
    waitpid(g_child, &st, 0);
    g_child = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st)) fail_msg("cloak vault serve ended with status %d", st);
}

/* ---- setup ---- */

static int setup(void **st)
{
    (void)st;
    cloak_error e = {0};
    cs_init(&g_set);
    vfix_setup_attest();
    F.vault_dir = dcap_tmpdir();
    start_child();
    /* a bearer token of the child's own issuer (DATA_DIR/token.key, made at start) */
    if (cloak_vault_token_issue(F.vault_dir, "crypto-officer", "custody-test", 3600, &F.admin, &e))
        fail_msg("token: %s", e.msg);
    g_kek = EVP_RSA_gen(2048);
    assert_non_null(g_kek);
    json_t *jwk = NULL;
    cloak_jwk_opts o = {.kid = "kek-1"};
    if (cloak_jwk_export(g_kek, &o, &jwk, &e)) fail_msg("%s", e.msg);
    json_object_set_new(jwk, "key_ops", json_pack("[s]", "encrypt"));
    json_t *rt = json_pack("{s:[o]}", "keys", jwk);
    g_runtime = json_dumps(rt, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(rt);
    cs_add(&g_set, G_CONTROL, "marker tag (positive control)", (const uint8_t *)MARKER,
           strlen(MARKER));
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    if (g_child) {
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
    }
    EVP_PKEY_free(g_kek);
    free(g_runtime);
    if (g_logdir) dcap_rm_rf(g_logdir);
    cs_free(&g_set);
    vfix_teardown();
    return 0;
}

/* ---- requests ---- */

static json_t *call_ok(const char *method, const char *path, const char *body)
{
    json_t *j = NULL;
    long s = vcall(F.admin, method, path, body, &j, NULL, 0);
    if (s != 200) {
        char *d = j ? json_dumps(j, 0) : NULL;
        fail_msg("%s %s: HTTP %ld %s", method, path, s, d ? d : "");
    }
    return j;
}

static json_t *create_releasable(const char *name, const char *kty_json)
{
    char *pol = NULL, *body = NULL, path[128];
    assert_true(asprintf(&pol,
                         "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"%s/\",\"allOf\":["
                         "{\"claim\":\"x-ms-sgx-is-debuggable\",\"equals\":false},"
                         "{\"claim\":\"x-ms-attestation-type\",\"equals\":\"sgx\"}]}]}",
                         F.attest_url) > 0);
    char *pb = tb64url((const uint8_t *)pol, strlen(pol));
    assert_true(asprintf(&body,
                         "{%s,\"tags\":{\"custody\":\"" MARKER "\"},\"attributes\":{"
                         "\"exportable\":true},\"release_policy\":{\"contentType\":"
                         "\"application/json; charset=utf-8\",\"data\":\"%s\"}}",
                         kty_json, pb) > 0);
    snprintf(path, sizeof path, "/keys/%s/create" Q, name);
    json_t *j = call_ok("POST", path, body);
    free(pb);
    free(pol);
    free(body);
    return j;
}

/* POST /keys/NAME/OP {"alg":ALG,"value":b64url(v)}: the decoded "value" of the answer (and the
 * whole answer in *ans when asked). */
static uint8_t *key_op(const char *name, const char *op, const char *alg, const uint8_t *v,
                       size_t vl, size_t *out_len, json_t **ans)
{
    char path[160], *body = NULL, *b = tb64url(v, vl);
    snprintf(path, sizeof path, "/keys/%s/%s" Q, name, op);
    assert_true(asprintf(&body, "{\"alg\":\"%s\",\"value\":\"%s\"}", alg, b) > 0);
    json_t *j = call_ok("POST", path, body);
    const char *r = json_string_value(json_object_get(j, "value"));
    assert_non_null(r);
    uint8_t *out = tb64url_dec(r, out_len);
    if (ans)
        *ans = j;
    else
        json_decref(j);
    free(body);
    free(b);
    return out;
}

/* Release NAME to the test's KEK and open key_hsm with OpenSSL: RSA-OAEP (SHA-1, the default
 * CKM_RSA_AES_KEY_WRAP), then RFC 5649. Returns PKCS#8 DER (RSA, EC) or the raw oct key. */
static uint8_t *release_open(const char *name, size_t *len)
{
    char *tok = attest_token(g_runtime, 0, 0x5a, 3), *body = NULL, path[128];
    assert_true(asprintf(&body, "{\"target\":\"%s\"}", tok) > 0);
    snprintf(path, sizeof path, "/keys/%s/release" Q, name);
    json_t *reply = call_ok("POST", path, body);
    const char *jws = json_string_value(json_object_get(reply, "value"));
    assert_non_null(jws);
    uint8_t *out = vopen_release(jws, g_kek, NULL, len, NULL, NULL);
    json_decref(reply);
    free(body);
    free(tok);
    return out;
}

/* A BIGNUM parameter of pk as big-endian bytes, left-padded to `pad` (0: minimal). */
static size_t bn_param(EVP_PKEY *pk, const char *name, uint8_t *out, int pad)
{
    BIGNUM *b = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(pk, name, &b), 1);
    int n = pad ? BN_bn2binpad(b, out, pad) : BN_bn2bin(b, out);
    BN_clear_free(b);
    assert_true(n > 0);
    return (size_t)n;
}

static void add_rsa_secrets(EVP_PKEY *pk, const char *who, int group)
{
    static const char *const names[] = {OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
                                        OSSL_PKEY_PARAM_RSA_FACTOR2};
    static const char *const labels[] = {"d", "p", "q"};
    for (int i = 0; i < 3; i++) {
        uint8_t b[512];
        size_t n = bn_param(pk, names[i], b, 0);
        char l[64];
        snprintf(l, sizeof l, "%s RSA %s", who, labels[i]);
        assert_true(n >= 16);
        cs_add_secret(&g_set, group, l, b, n);
        OPENSSL_cleanse(b, sizeof b);
    }
}

/* An OpenSSL check that sig is the RS256 / ES256 (JOSE R||S) signature of digest by pk. */
static void verify_sig(EVP_PKEY *pk, int ec, const uint8_t *digest, const uint8_t *sig, size_t sl)
{
    uint8_t der[128];
    const uint8_t *s = sig;
    size_t dl = sl;
    if (ec) {
        assert_int_equal(sl, 64);
        ECDSA_SIG *es = ECDSA_SIG_new();
        assert_int_equal(
            ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)), 1);
        uint8_t *p = der;
        int l = i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);
        assert_true(l > 0);
        s = der;
        dl = (size_t)l;
    }
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
    assert_int_equal(EVP_PKEY_verify_init(c), 1);
    if (!ec) assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_verify(c, s, dl, digest, 32), 1);
    EVP_PKEY_CTX_free(c);
}

/* A256GCM decryption with OpenSSL of an encrypt answer {"value","iv","tag"}. */
static void gcm_check(const uint8_t *k, json_t *ans, const char *want)
{
    size_t cl, il, tl;
    uint8_t *ct = tb64url_dec(json_string_value(json_object_get(ans, "value")), &cl);
    uint8_t *iv = tb64url_dec(json_string_value(json_object_get(ans, "iv")), &il);
    uint8_t *tag = tb64url_dec(json_string_value(json_object_get(ans, "tag")), &tl);
    assert_int_equal(il, 12);
    assert_int_equal(tl, 16);
    uint8_t pt[256];
    int l = 0, f = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, k, iv), 1);
    assert_int_equal(EVP_DecryptUpdate(x, pt, &l, ct, (int)cl), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, tag), 1);
    assert_int_equal(EVP_DecryptFinal_ex(x, pt + l, &f), 1);
    EVP_CIPHER_CTX_free(x);
    assert_int_equal(l + f, strlen(want));
    assert_memory_equal(pt, want, strlen(want));
    free(ct);
    free(iv);
    free(tag);
}

/* ---- scans ---- */

/* Scan the child's memory; report. Returns 0 when scanned, -1 when access was refused (and the
 * caller skips with the printed reason). */
static int scan_child(const char *phase)
{
    cs_reset(&g_set);
    kill(g_child, SIGSTOP);
    int st;
    waitpid(g_child, &st, WUNTRACED);
    cs_mem_stats ms;
    int rc = cs_scan_process(&g_set, g_child, &ms);
    int err = errno;
    kill(g_child, SIGCONT);
    if (rc) {
        printf("SKIP memory scan (%s): cannot read /proc/%d/mem: %s (ptrace access to the child "
               "is refused here)\n",
               phase, (int)g_child, strerror(err));
        return -1;
    }
    printf("memory scan (%s): %u rw regions, %llu bytes read, %llu unreadable, %llu skipped "
           "(mappings over 4 GiB: sanitizer shadow)\n",
           phase, ms.regions, (unsigned long long)ms.bytes, (unsigned long long)ms.unreadable,
           (unsigned long long)ms.skipped);
    assert_true(ms.bytes > 1000000);
    return 0;
}

/* Secret needles of `group` with hits; prints each. */
static size_t report(int group, const char *where)
{
    size_t bad = 0;
    for (size_t i = 0; i < g_set.count; i++) {
        cs_needle *d = &g_set.nd[i];
        if (d->group != group || !d->hits) continue;
        printf("FOUND in %s: %s, %zu time(s), first at %s\n", where, d->label, d->hits, d->where);
        bad++;
    }
    return bad;
}

static void expect_controls(const char *where, int with_n)
{
    for (size_t i = 0; i < g_set.count; i++) {
        cs_needle *d = &g_set.nd[i];
        if (d->group == G_CONTROL || (with_n && d->group == G_CONTROL_N)) {
            printf("positive control in %s: %s found %zu time(s)\n", where, d->label, d->hits);
            if (!d->hits)
                fail_msg("positive control \"%s\" not found in %s: the scanner is "
                         "broken",
                         d->label, where);
        }
    }
}

/* ---- tests ---- */

static void test_generated_keys(void **st)
{
    (void)st;
    uint8_t digest[32], msg[] = "custody test message";
    SHA256(msg, sizeof msg - 1, digest);
    size_t n;

    /* RSA 2048: sign (RS256), encrypt (RSA-OAEP), release */
    json_t *b = create_releasable("cu-rsa", "\"kty\":\"RSA-HSM\",\"key_size\":2048");
    snprintf(g_n_b64, sizeof g_n_b64, "%s",
             json_string_value(json_object_get(json_object_get(b, "key"), "n")));
    assert_true(strlen(g_n_b64) > 300);
    cs_add(&g_set, G_CONTROL_N, "generated RSA n, base64url (positive control)",
           (const uint8_t *)g_n_b64, strlen(g_n_b64));
    json_decref(b);
    uint8_t *sig = key_op("cu-rsa", "sign", "RS256", digest, 32, &n, NULL);
    size_t ctl;
    uint8_t *ct = key_op("cu-rsa", "encrypt", "RSA-OAEP", msg, sizeof msg - 1, &ctl, NULL);
    assert_int_equal(ctl, 256);
    size_t dl;
    uint8_t *der = release_open("cu-rsa", &dl);
    const uint8_t *p = der;
    EVP_PKEY *rsa = d2i_AutoPrivateKey(NULL, &p, (long)dl);
    assert_non_null(rsa);
    verify_sig(rsa, 0, digest, sig, n); /* the released key is the key that signed */
    uint8_t pt[256];
    size_t pl = sizeof pt;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(rsa, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_decrypt(c, pt, &pl, ct, ctl), 1);
    EVP_PKEY_CTX_free(c);
    assert_memory_equal(pt, msg, sizeof msg - 1);
    add_rsa_secrets(rsa, "generated", G_SECRET);
    cs_add_secret(&g_set, G_SECRET, "generated RSA PKCS#8", der, dl);
    EVP_PKEY_free(rsa);
    cloak_free_secret(der, dl);
    free(sig);
    free(ct);

    /* EC P-256: sign (ES256), release */
    json_decref(create_releasable("cu-ec", "\"kty\":\"EC-HSM\",\"crv\":\"P-256\""));
    sig = key_op("cu-ec", "sign", "ES256", digest, 32, &n, NULL);
    der = release_open("cu-ec", &dl);
    p = der;
    EVP_PKEY *ec = d2i_AutoPrivateKey(NULL, &p, (long)dl);
    assert_non_null(ec);
    verify_sig(ec, 1, digest, sig, n);
    uint8_t d[32];
    bn_param(ec, OSSL_PKEY_PARAM_PRIV_KEY, d, 32);
    cs_add_secret(&g_set, G_SECRET, "generated EC d", d, 32);
    OPENSSL_cleanse(d, sizeof d);
    EVP_PKEY_free(ec);
    cloak_free_secret(der, dl);
    free(sig);

    /* oct 256: encrypt (A256GCM), wrap (A256KW), release */
    json_decref(create_releasable("cu-oct", "\"kty\":\"oct-HSM\",\"key_size\":256"));
    json_t *ans = NULL;
    free(key_op("cu-oct", "encrypt", "A256GCM", msg, sizeof msg - 1, &n, &ans));
    uint8_t cek[32], *wrapped;
    RAND_bytes(cek, sizeof cek);
    wrapped = key_op("cu-oct", "wrapkey", "A256KW", cek, sizeof cek, &n, NULL);
    assert_int_equal(n, 40);
    uint8_t *k = release_open("cu-oct", &dl);
    assert_int_equal(dl, 32);
    gcm_check(k, ans, (const char *)msg);
    uint8_t back[40];
    int bl = 0, fl = 0;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX_set_flags(x, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    assert_int_equal(EVP_DecryptInit_ex(x, EVP_aes_256_wrap(), NULL, k, NULL), 1);
    assert_int_equal(EVP_DecryptUpdate(x, back, &bl, wrapped, (int)n), 1);
    assert_int_equal(EVP_DecryptFinal_ex(x, back + bl, &fl), 1);
    EVP_CIPHER_CTX_free(x);
    assert_int_equal(bl + fl, 32);
    assert_memory_equal(back, cek, 32);
    cs_add_secret(&g_set, G_SECRET, "generated oct k", k, 32);
    cloak_free_secret(k, 32);
    free(wrapped);
    json_decref(ans);

    usleep(300 * 1000); /* let the server finish closing the connections */
    if (scan_child("generated keys")) {
        skip();
        return;
    }
    expect_controls("host memory", 1);
    assert_int_equal(report(G_SECRET, "host memory"), 0);
}

static void test_imported_keys(void **st)
{
    (void)st;
    cloak_error e = {0};
    uint8_t digest[32], msg[] = "imported key message";
    SHA256(msg, sizeof msg - 1, digest);
    size_t n;

    /* RSA: the test makes the key, imports it as a private JWK, signs with it */
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    assert_non_null(rsa);
    json_t *jwk = NULL;
    cloak_jwk_opts priv = {.include_private = 1};
    if (cloak_jwk_export(rsa, &priv, &jwk, &e)) fail_msg("%s", e.msg);
    json_object_set_new(jwk, "key_ops", json_pack("[s,s]", "sign", "verify"));
    json_t *req = json_pack("{s:o}", "key", jwk);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_decref(call_ok("PUT", "/keys/cu-imp-rsa" Q, body));
    cloak_free_secret(body, strlen(body));
    uint8_t *sig = key_op("cu-imp-rsa", "sign", "RS256", digest, 32, &n, NULL);
    verify_sig(rsa, 0, digest, sig, n);
    free(sig);
    add_rsa_secrets(rsa, "imported", G_IMPORTED);
    EVP_PKEY_free(rsa);

    /* oct: 32 random bytes, imported, used for A256GCM */
    uint8_t k[32];
    assert_int_equal(RAND_bytes(k, sizeof k), 1);
    char *kb = tb64url(k, sizeof k);
    assert_true(asprintf(&body, "{\"key\":{\"kty\":\"oct\",\"k\":\"%s\"}}", kb) > 0);
    json_decref(call_ok("PUT", "/keys/cu-imp-oct" Q, body));
    cloak_free_secret(body, strlen(body));
    free(kb);
    json_t *ans = NULL;
    free(key_op("cu-imp-oct", "encrypt", "A256GCM", msg, sizeof msg - 1, &n, &ans));
    gcm_check(k, ans, (const char *)msg);
    json_decref(ans);
    cs_add_secret(&g_set, G_IMPORTED, "imported oct k", k, sizeof k);
    OPENSSL_cleanse(k, sizeof k);

    usleep(300 * 1000);
    if (scan_child("imported keys")) {
        skip();
        return;
    }
    expect_controls("host memory", 1);
    assert_int_equal(report(G_SECRET, "host memory"), 0);
    assert_int_equal(report(G_IMPORTED, "host memory"), 0);
}

/* The same over one kept-alive connection (as the SDKs use it), scanned while that connection
 * is still open and the import was the last request on it: the TLS read buffer of the
 * connection must not keep the request's last record. */
static void test_imported_keepalive(void **st)
{
    (void)st;
    cloak_error e = {0};
    cloak_vault_client *c = NULL;
    if (cloak_vault_client_new(F.url, F.ca, F.admin, &c, &e)) fail_msg("client: %s", e.msg);
    json_t *out = NULL;
    if (cloak_vault_call(c, "GET", "/keys/cu-rsa", NULL, &out, &e)) fail_msg("%s", e.msg);
    json_decref(out);
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    assert_non_null(rsa);
    json_t *jwk = NULL;
    cloak_jwk_opts priv = {.include_private = 1};
    if (cloak_jwk_export(rsa, &priv, &jwk, &e)) fail_msg("%s", e.msg);
    json_t *req = json_pack("{s:o}", "key", jwk);
    if (cloak_vault_call(c, "PUT", "/keys/cu-ka-rsa", req, &out, &e)) fail_msg("%s", e.msg);
    json_decref(out);
    json_decref(req);
    assert_int_equal(cloak_vault_client_last(c)->new_connections, 0); /* the kept-alive one */
    add_rsa_secrets(rsa, "imported (keep-alive)", G_IMPORTED);
    EVP_PKEY_free(rsa);
    uint8_t k[32];
    assert_int_equal(RAND_bytes(k, sizeof k), 1);
    char *kb = tb64url(k, sizeof k);
    req = json_pack("{s:{s:s,s:s}}", "key", "kty", "oct", "k", kb);
    cloak_free_secret(kb, strlen(kb));
    if (cloak_vault_call(c, "PUT", "/keys/cu-ka-oct", req, &out, &e)) fail_msg("%s", e.msg);
    json_decref(out);
    json_decref(req);
    cs_add_secret(&g_set, G_IMPORTED, "imported oct k (keep-alive)", k, sizeof k);
    OPENSSL_cleanse(k, sizeof k);

    usleep(300 * 1000);
    int rc = scan_child("imported keys, connection still open");
    cloak_vault_client_free(c);
    if (rc) {
        skip();
        return;
    }
    expect_controls("host memory", 1);
    assert_int_equal(report(G_SECRET, "host memory"), 0);
    assert_int_equal(report(G_IMPORTED, "host memory"), 0);
}

static void test_files_and_logs(void **st)
{
    (void)st;
    stop_child(); /* the database is checkpointed and closed; logs are complete */
    cs_reset(&g_set);
    int files = cs_scan_tree(&g_set, F.vault_dir);
    printf("data directory: %d files scanned\n", files);
    assert_true(files >= 5);
    expect_controls("the data directory", 0);
    size_t bad = report(G_SECRET, "the data directory") + report(G_IMPORTED, "the data directory");
    cs_reset(&g_set);
    assert_int_equal(cs_scan_file(&g_set, g_out) + cs_scan_file(&g_set, g_err), 2);
    bad += report(G_SECRET, "stdout/stderr") + report(G_IMPORTED, "stdout/stderr");
    assert_int_equal(bad, 0);
    /* the access log did run: one JSON line per request */
    FILE *f = fopen(g_err, "r");
    char line[4096];
    int lines = 0;
    while (f && fgets(line, sizeof line, f))
        lines += strstr(line, "/keys/") != NULL;
    if (f) fclose(f);
    assert_true(lines >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_keys),
        cmocka_unit_test(test_imported_keys),
        cmocka_unit_test(test_imported_keepalive),
        cmocka_unit_test(test_files_and_logs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
