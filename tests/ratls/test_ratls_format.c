/* The RA-TLS certificate format against outside references: OpenSSL's own `openssl x509 -text`
 * shows our extension under the OID docs/RATLS.md names; certificates made by Gramine, the
 * Intel SGX SDK and rats-tls (vectors/README.md) parse, bind their keys exactly as ours do, and
 * pass our verifier; hand-made malformed values are refused, each with its own reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ratls/ratls_int.h"
#include "ratls_testlib.h"

/* Hand-made extension values: each malformation has its own message. */
static void test_parse_rejects_malformed_extensions(void **state)
{
    static const struct {
        const char *hex, *words;
    } cases[] = {
        {"", "not a tagged CBOR item"},
        {"82414141", "not a tagged CBOR item"},              /* untagged array */
        {"d9ea6182414141", "CBOR tag 60001"},                /* another tag */
        {"d9ea609f4141ff", "not [bstr quote, bstr claims]"}, /* indefinite array */
        {"d9ea6083414141", "not [bstr quote, bstr claims]"}, /* three items */
        {"d9ea60824141", "not [bstr quote, bstr claims]"},   /* truncated */
        {"d9ea608241415a", "not [bstr quote, bstr claims]"}, /* length past end */
        {"d9ea60824041a0", "empty quote"},
        {"d9ea60824141 41a0 00", "after the CBOR item"},
        {"d9ea60824141 41a0", "no \"pubkey-hash\""},
        {"d9ea60824141 4180", "not a definite-length CBOR map"},
        {"d9ea60824141 44a1016141", "not a text name"},
        /* pubkey-hash = [1, bstr(2 bytes)]: wrong length for sha-256 */
        {"d9ea60824141 53a16b7075626b65792d6861736845820142aabb", "is 2 bytes"},
        /* pubkey-hash = [2, ...]: sha-256/128 is not supported */
        {"d9ea60824141 53a16b7075626b65792d6861736845820242aabb", "hash algorithm 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char compact[512];
        size_t k = 0;
        for (const char *c = cases[i].hex; *c; c++)
            if (*c != ' ') compact[k++] = *c;
        compact[k] = 0;
        uint8_t *b = NULL;
        size_t n = 0;
        cloak_error e = {0};
        if (k) assert_int_equal(cloak_hex_decode(compact, &b, &n, &e), CLOAK_OK);
        cloak_ratls_evidence ev;
        memset(&ev, 0xa5, sizeof ev);
        cloak_err rc = cloak_ratls_evidence_parse(k ? b : (const uint8_t *)"", n, &ev, &e);
        if (rc == CLOAK_OK || !strstr(e.msg, cases[i].words))
            fprintf(stderr, "case %zu (%s): rc %d, %s\n", i, cases[i].hex, rc, e.msg);
        assert_int_not_equal(rc, CLOAK_OK);
        assert_non_null(strstr(e.msg, cases[i].words));
        free(b);
    }
}

/* A claim named twice is refused: two readers could otherwise pick different copies. */
static void test_parse_rejects_duplicate_claims(void **state)
{
    static const char *const names[] = {"pubkey-hash", "nonce"};
    for (size_t i = 0; i < 2; i++) {
        cloak_buf entry = {0}, cl = {0}, ext = {0};
        uint8_t h[32] = {0}, nonce[16] = {0};
        cloak_error e = {0};
        cbor_put_head(&entry, CBOR_ARRAY, 2);
        cbor_put_head(&entry, CBOR_UINT, CLOAK_RATLS_HASH_SHA256);
        cbor_put_bytes(&entry, CBOR_BSTR, h, sizeof h);
        /* {pubkey-hash, pubkey-hash} or {pubkey-hash, nonce, nonce} */
        cbor_put_head(&cl, CBOR_MAP, i == 0 ? 2 : 3);
        cbor_put_bytes(&cl, CBOR_TSTR, "pubkey-hash", 11);
        cbor_put_bytes(&cl, CBOR_BSTR, entry.p, entry.len);
        if (i == 0) {
            cbor_put_bytes(&cl, CBOR_TSTR, "pubkey-hash", 11);
            cbor_put_bytes(&cl, CBOR_BSTR, entry.p, entry.len);
        } else {
            for (int k = 0; k < 2; k++) {
                cbor_put_bytes(&cl, CBOR_TSTR, "nonce", 5);
                cbor_put_bytes(&cl, CBOR_BSTR, nonce, sizeof nonce);
            }
        }
        assert_int_equal(ratls_build_extension((const uint8_t *)"Q", 1, cl.p, cl.len, &ext, &e),
                         CLOAK_OK);
        cloak_ratls_evidence ev;
        cloak_err rc = cloak_ratls_evidence_parse(ext.p, ext.len, &ev, &e);
        if (rc == CLOAK_OK || !strstr(e.msg, "twice")) fprintf(stderr, "%s: %s\n", names[i], e.msg);
        assert_int_equal(rc, CLOAK_EINVAL);
        assert_non_null(strstr(e.msg, "twice"));
        assert_non_null(strstr(e.msg, names[i]));
        cloak_buf_free(&entry);
        cloak_buf_free(&cl);
        cloak_buf_free(&ext);
    }
}

static char *run(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            out = realloc(out, cap *= 2);
            assert_non_null(out);
        }
    }
    out[len] = 0;
    assert_int_equal(pclose(f), 0);
    return out;
}

/* `openssl x509 -text` (OpenSSL's own printer, not our parser) lists the extension under
 * 2.23.133.5.4.9, non-critical, and its value starts with CBOR tag 60000 and a 2-array:
 * d9 ea 60 82 (docs/RATLS.md). */
static void test_openssl_cli_shows_evidence_oid(void **state)
{
    X509 *cert = make_cert(0);
    char path[256];
    snprintf(path, sizeof path, "%s/ratls-cert.pem", F.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(PEM_write_X509(f, cert));
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -noout -text -certopt ext_dump", path);
    char *out = run(cmd);
    const char *at = strstr(out, "2.23.133.5.4.9: \n");
    if (!at) fprintf(stderr, "%s\n", out);
    assert_non_null(at);
    /* "critical" would follow the OID on the same line */
    assert_null(strstr(out, "2.23.133.5.4.9: critical"));
    assert_non_null(strstr(at, "0000 - d9 ea 60 82 59"));
    free(out);
    X509_free(cert);
}

static X509 *load_vector(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CLOAK_RATLS_VECTORS, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static const char *const PEERS[] = {"gramine-cert.pem", "intel-sgxsdk-cert.pem",
                                    "rats-tls-cert.pem"};

/* Peers computed pubkey-hash and REPORTDATA with their own code (mbedTLS, libcbor); our rule must
 * give the same bytes: pubkey-hash = SHA-256(SPKI DER), REPORTDATA = SHA-256(claims) || 0^32. */
static void test_peer_certificates_bind_their_keys_as_we_do(void **state)
{
    for (size_t i = 0; i < sizeof PEERS / sizeof *PEERS; i++) {
        X509 *x = load_vector(PEERS[i]);
        cloak_ratls_evidence ev;
        cloak_error e = {0};
        if (cloak_ratls_evidence_get(x, &ev, &e)) fail_msg("%s: %s", PEERS[i], e.msg);
        assert_int_equal(ev.tag, CLOAK_RATLS_CBOR_TAG_INTEL_QUOTE);
        assert_int_equal(ev.hash_alg, CLOAK_RATLS_HASH_SHA256);
        assert_null(ev.nonce);
        unsigned char *spki = NULL;
        int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
        uint8_t h[32], rd[CLOAK_REPORT_DATA_BYTES];
        assert_true(n > 0 && EVP_Digest(spki, (size_t)n, h, NULL, EVP_sha256(), NULL));
        assert_int_equal(ev.pubkey_hash_len, 32);
        assert_memory_equal(ev.pubkey_hash, h, 32);
        assert_int_equal(ratls_report_data(ev.claims, ev.claims_len, rd, &e), CLOAK_OK);
        assert_true(ev.evidence_len > SGX_REPORT_DATA_OFF + 64);
        assert_int_equal(cloak_evidence_detect(ev.evidence, ev.evidence_len), CLOAK_TEE_SGX);
        assert_memory_equal(ev.evidence + SGX_REPORT_DATA_OFF, rd, CLOAK_REPORT_DATA_BYTES);
        OPENSSL_free(spki);
        cloak_ratls_evidence_clear(&ev);
        X509_free(x);
    }
}

/* Real hardware evidence from three other implementations passes our whole verifier (no
 * collateral: TCB status "Unknown"). All three are debug enclaves: refused by default. */
static void test_peer_certificates_verify(void **state)
{
    const time_t at =
        1704067200; /* 2024-01-01: inside every certificate's and PCK chain's validity */
    for (size_t i = 0; i < sizeof PEERS / sizeof *PEERS; i++) {
        X509 *x = load_vector(PEERS[i]);
        cloak_policy p;
        cloak_policy_init(&p);
        cloak_ratls_verifier v = {.trust = F.trust_plain, .policy = &p, .at = at};
        json_t *c = NULL;
        cloak_error e = {0};
        cloak_err rc = cloak_ratls_verify_cert(x, &v, &c, &e);
        if (rc != CLOAK_EPERM || !strstr(e.msg, "debug"))
            fprintf(stderr, "%s: %s\n", PEERS[i], e.msg);
        assert_int_equal(rc, CLOAK_EPERM);
        assert_non_null(strstr(e.msg, "debug"));
        p.allow_debug = 1;
        rc = cloak_ratls_verify_cert(x, &v, &c, &e);
        if (rc) fprintf(stderr, "%s: %s\n", PEERS[i], e.msg);
        assert_int_equal(rc, CLOAK_OK);
        assert_string_equal(json_string_value(json_object_get(c, "tee")), "sgx");
        assert_null(json_object_get(c, "x-cloak-sim"));
        json_decref(c);
        X509_free(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rejects_malformed_extensions),
        cmocka_unit_test(test_parse_rejects_duplicate_claims),
        cmocka_unit_test(test_openssl_cli_shows_evidence_oid),
        cmocka_unit_test(test_peer_certificates_bind_their_keys_as_we_do),
        cmocka_unit_test(test_peer_certificates_verify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
