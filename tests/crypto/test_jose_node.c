/* cloak's JWS against an independent peer: Node.js built-in crypto (tests/crypto/jose_node.mjs,
 * crypto.verify/crypto.sign with keys made by createPublicKey({format: 'jwk'}), ECDSA in
 * ieee-p1363 = r||s, PSS with salt = hash length).
 * 1. Node verifies tokens cloak signed, for every algorithm, from the JWK cloak exported; a
 *    token with one flipped signature bit must fail in Node, so the checker can fail.
 * 2. cloak verifies tokens Node signed, from the JWK Node exported.
 * Needs `node` (scripts/deps.sh installs it): without it this test FAILS, it does not skip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cloak/jose.h"

#define NODE_MISSING "node (Node.js >= 18) is not installed or not in PATH: run scripts/deps.sh"

static const char *script(void)
{
    static char path[4096];
    const char *src = getenv("CLOAK_SOURCE_DIR");
    if (src && *src)
        snprintf(path, sizeof path, "%s/tests/crypto/jose_node.mjs", src);
    else
        snprintf(path, sizeof path, "%s", JOSE_NODE_SCRIPT);
    return path;
}

static void require_node(void)
{
    if (system("command -v node >/dev/null 2>&1") != 0) fail_msg("%s", NODE_MISSING);
}

/* Run node; its output goes to the test log. Returns the exit status. */
static int run_node(const char *mode, const char *file)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "node '%s' %s '%s' 2>&1", script(), mode, file);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[1024];
    while (fgets(line, sizeof line, f))
        printf("  [node] %s", line);
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const struct {
    cloak_jws_alg alg;
    const char *group;
} ALGS[] = {
    {CLOAK_JWS_RS256, NULL},         {CLOAK_JWS_RS384, NULL},    {CLOAK_JWS_RS512, NULL},
    {CLOAK_JWS_PS256, NULL},         {CLOAK_JWS_PS384, NULL},    {CLOAK_JWS_PS512, NULL},
    {CLOAK_JWS_ES256, "P-256"},      {CLOAK_JWS_ES384, "P-384"}, {CLOAK_JWS_ES512, "P-521"},
    {CLOAK_JWS_ES256K, "secp256k1"},
};
#define NALGS (sizeof ALGS / sizeof ALGS[0])

/* The same token with bit 0 of the first signature byte flipped (still canonical base64url). */
static char *flip_signature_bit(const char *tok)
{
    const char *dot = strrchr(tok, '.');
    uint8_t *sig = NULL;
    size_t n = 0;
    assert_int_equal(cloak_base64url_decode(dot + 1, strlen(dot + 1), &sig, &n, NULL), CLOAK_OK);
    sig[0] ^= 1;
    char *s64 = cloak_base64url_encode(sig, n);
    char *out = NULL;
    assert_true(asprintf(&out, "%.*s.%s", (int)(dot - tok), tok, s64) > 0);
    free(s64);
    free(sig);
    return out;
}

static void test_node_verifies_cloak_tokens(void **state)
{
    require_node();
    char dir[] = "/tmp/cloak-jose-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[128];
    snprintf(file, sizeof file, "%s/cases.json", dir);
    json_t *cases = json_array();
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(rsa);
    for (size_t i = 0; i < NALGS; i++) {
        EVP_PKEY *k = ALGS[i].group ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", ALGS[i].group) : rsa;
        assert_non_null(k);
        char payload[64];
        snprintf(payload, sizeof payload, "{\"iss\":\"cloak\",\"i\":%zu}", i);
        json_t *hdr = json_pack("{s:s,s:s}", "kid", "cloak-1", "typ", "JWT");
        char *tok = NULL;
        cloak_error why = {0};
        if (cloak_jws_sign(k, ALGS[i].alg, hdr, (const uint8_t *)payload, strlen(payload), &tok,
                           &why))
            fail_msg("%s", why.msg);
        json_t *jwk = NULL;
        assert_int_equal(cloak_jwk_export(k, NULL, &jwk, &why), CLOAK_OK);
        char *bad = flip_signature_bit(tok);
        const char *alg = cloak_jws_alg_name(ALGS[i].alg);
        json_array_append_new(cases, json_pack("{s:s,s:O,s:s,s:s,s:s}", "alg", alg, "jwk", jwk,
                                               "token", tok, "payload", payload, "expect", "ok"));
        json_array_append_new(cases, json_pack("{s:s,s:o,s:s,s:s,s:s,s:s}", "alg", alg, "jwk", jwk,
                                               "token", bad, "payload", payload, "expect", "bad",
                                               "note", "(one signature bit flipped)"));
        free(bad);
        free(tok);
        json_decref(hdr);
        if (k != rsa) EVP_PKEY_free(k);
    }
    assert_int_equal(json_dump_file(cases, file, 0), 0);
    int rc = run_node("verify", file);
    unlink(file);
    rmdir(dir);
    json_decref(cases);
    EVP_PKEY_free(rsa);
    if (rc != 0)
        fail_msg("Node.js disagrees with cloak on %zu algorithms (exit %d; see the [node] lines)",
                 NALGS, rc);
}

static void test_cloak_verifies_node_tokens(void **state)
{
    require_node();
    char dir[] = "/tmp/cloak-jose-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[128];
    snprintf(file, sizeof file, "%s/node.json", dir);
    assert_int_equal(run_node("sign", file), 0);
    json_error_t jerr;
    json_t *cases = json_load_file(file, 0, &jerr);
    unlink(file);
    rmdir(dir);
    assert_non_null(cases);
    assert_int_equal(json_array_size(cases), NALGS);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *alg = json_string_value(json_object_get(c, "alg"));
        const char *tok = json_string_value(json_object_get(c, "token"));
        const char *payload = json_string_value(json_object_get(c, "payload"));
        int a = cloak_jws_alg_parse(alg);
        assert_true(a > 0);
        EVP_PKEY *k = NULL;
        cloak_error why = {0};
        if (cloak_jwk_import_public(json_object_get(c, "jwk"), &k, &why))
            fail_msg("%s: node's JWK: %s", alg, why.msg);
        cloak_jws out = {0};
        if (cloak_jws_verify(tok, strlen(tok), k, CLOAK_JWS_ALLOW((cloak_jws_alg)a), &out, &why))
            fail_msg("%s: cloak refuses node's token: %s", alg, why.msg);
        assert_int_equal(out.payload_len, strlen(payload));
        assert_memory_equal(out.payload, payload, out.payload_len);
        char kid[32];
        snprintf(kid, sizeof kid, "node-%s", alg);
        assert_string_equal(json_string_value(json_object_get(out.header, "kid")), kid);
        cloak_jws_clear(&out);
        /* and the same token with a flipped bit is refused */
        char *bad = flip_signature_bit(tok);
        assert_int_equal(
            cloak_jws_verify(bad, strlen(bad), k, CLOAK_JWS_ALLOW((cloak_jws_alg)a), &out, &why),
            CLOAK_EVERIFY);
        free(bad);
        printf("  cloak verifies node's %s token\n", alg);
        EVP_PKEY_free(k);
    }
    json_decref(cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_verifies_cloak_tokens),
        cmocka_unit_test(test_cloak_verifies_node_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
