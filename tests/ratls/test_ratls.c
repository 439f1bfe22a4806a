/* Attested TLS: real TLS 1.3 handshakes over a socketpair and the verifier.
 * A server presents an RA-TLS certificate whose evidence is a simulated SGX DCAP quote from a
 * fresh development platform (mkdtemp), and the client checks it with
 * cloak_ratls_ssl_ctx_set_verify. It is accepted with the expected claims; every way of getting
 * it wrong is refused, each with its own reason. The format itself, against outside references,
 * is tested in test_ratls_format.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ratls/ratls_int.h"
#include "ratls_testlib.h"

/* ---- the handshake harness ---- */

typedef struct {
    int fd;
    X509 *cert;
    EVP_PKEY *key;
    const cloak_ratls_verifier *verify_client; /* mutual attestation when set */
    int accepted;
    json_t *client_claims;
    char echoed;
} server_side;

static void *server_main(void *arg)
{
    server_side *s = arg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl = NULL;
    cloak_error e = {0};
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_use_certificate(ctx, s->cert) || !SSL_CTX_use_PrivateKey(ctx, s->key) ||
        (s->verify_client && cloak_ratls_ssl_ctx_set_verify(ctx, s->verify_client, &e)))
        goto out;
    ssl = SSL_new(ctx);
    if (!ssl || !SSL_set_fd(ssl, s->fd)) goto out;
    if (SSL_accept(ssl) != 1) goto out;
    s->accepted = 1;
    if (s->verify_client && cloak_ratls_ssl_claims(ssl, &s->client_claims, &e)) goto out;
    char c;
    if (SSL_read(ssl, &c, 1) == 1 && SSL_write(ssl, &c, 1) == 1) s->echoed = c;
    SSL_shutdown(ssl);
out:
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(s->fd);
    return NULL;
}

typedef struct {
    int connected; /* SSL_connect succeeded */
    cloak_err rc;  /* cloak_ratls_ssl_claims */
    cloak_error why;
    json_t *claims;
    int echoed; /* one byte went through both ways */
    int server_accepted;
    json_t *server_saw; /* the client's claims as the server verified them (mutual) */
} handshake;

/* Server presents `cert` (made for `key`); the client checks it with `v`. With client_cert,
 * the client presents it too and the server checks it with `v` as well. */
static handshake run_handshake(X509 *cert, EVP_PKEY *key, const cloak_ratls_verifier *v,
                               X509 *client_cert, EVP_PKEY *client_key)
{
    handshake h;
    int sv[2];
    pthread_t th;
    server_side s = {.cert = cert, .key = key, .verify_client = client_cert ? v : NULL};
    cloak_error e = {0};
    memset(&h, 0, sizeof h);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s.fd = sv[1];
    assert_int_equal(pthread_create(&th, NULL, server_main, &s), 0);

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    assert_true(SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION));
    if (cloak_ratls_ssl_ctx_set_verify(ctx, v, &e)) fail_msg("set_verify: %s", e.msg);
    if (client_cert) {
        assert_true(SSL_CTX_use_certificate(ctx, client_cert));
        assert_true(SSL_CTX_use_PrivateKey(ctx, client_key));
    }
    SSL *ssl = SSL_new(ctx);
    assert_non_null(ssl);
    assert_true(SSL_set_fd(ssl, sv[0]));
    h.connected = SSL_connect(ssl) == 1;
    h.rc = cloak_ratls_ssl_claims(ssl, &h.claims, &h.why);
    if (h.connected) {
        char c = 'x';
        h.echoed = SSL_write(ssl, &c, 1) == 1 && SSL_read(ssl, &c, 1) == 1 && c == 'x';
        SSL_shutdown(ssl);
    }
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(sv[0]);
    assert_int_equal(pthread_join(th, NULL), 0);
    h.server_accepted = s.accepted;
    h.server_saw = s.client_claims;
    return h;
}

static void handshake_clear(handshake *h)
{
    json_decref(h->claims);
    json_decref(h->server_saw);
}

/* The handshake fails on the client with `code` and a reason containing `words`. */
static void expect_refused(X509 *cert, EVP_PKEY *key, const cloak_ratls_verifier *v, cloak_err code,
                           const char *words)
{
    handshake h = run_handshake(cert, key, v, NULL, NULL);
    if (!strstr(h.why.msg, words) || getenv("CLOAK_TEST_VERBOSE"))
        fprintf(stderr, "reason: %s\n", h.why.msg);
    assert_false(h.connected);
    assert_false(h.server_accepted);
    assert_null(h.claims);
    assert_int_equal(h.rc, code);
    assert_non_null(strstr(h.why.msg, words));
    handshake_clear(&h);
}

/* ---- 1. handshakes ---- */

static void test_handshake_accepts_attested_server(void **state)
{
    X509 *cert = make_cert(0);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    handshake h = run_handshake(cert, F.key, &v, NULL, NULL);
    if (h.rc) fprintf(stderr, "refused: %s\n", h.why.msg);
    assert_int_equal(h.rc, CLOAK_OK);
    assert_true(h.connected);
    assert_true(h.server_accepted);
    assert_true(h.echoed);
    char *m = hex(MRENCLAVE, 32), *s = hex(MRSIGNER, 32);
    assert_string_equal(json_string_value(json_object_get(h.claims, "mrenclave")), m);
    assert_string_equal(json_string_value(json_object_get(h.claims, "mrsigner")), s);
    assert_true(json_is_true(json_object_get(h.claims, "x-cloak-sim")));
    assert_true(json_is_false(json_object_get(h.claims, "debug")));
    assert_int_equal(json_integer_value(json_object_get(h.claims, "isv_prod_id")), PRODUCT_ID);
    free(m);
    free(s);
    handshake_clear(&h);
    X509_free(cert);
}

static void test_mutual_handshake_attests_both_sides(void **state)
{
    X509 *server = make_cert(0);
    sim_evidence se = {0};
    time_t now = time(NULL);
    X509 *client = make_cert_with(F.other, &se, now - 60, now + 3600);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    handshake h = run_handshake(server, F.key, &v, client, F.other);
    if (h.rc) fprintf(stderr, "refused: %s\n", h.why.msg);
    assert_int_equal(h.rc, CLOAK_OK);
    assert_true(h.connected && h.server_accepted && h.echoed);
    assert_non_null(h.server_saw);
    char *m = hex(MRENCLAVE, 32);
    assert_string_equal(json_string_value(json_object_get(h.server_saw, "mrenclave")), m);
    free(m);
    handshake_clear(&h);
    X509_free(server);
    X509_free(client);
}

/* The evidence extension of a certificate for another key, moved into ours. */
static void test_refused_when_cert_key_is_not_the_bound_key(void **state)
{
    X509 *mine = make_cert(0);
    sim_evidence se = {0};
    time_t now = time(NULL);
    X509 *theirs = make_cert_with(F.other, &se, now - 60, now + 3600);
    uint8_t *val;
    size_t n;
    ext_value(theirs, &val, &n);
    set_ext(mine, val, n, F.key);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    expect_refused(mine, F.key, &v, CLOAK_EVERIFY, "not the key bound in its evidence");
    free(val);
    X509_free(mine);
    X509_free(theirs);
}

/* Claims name our key, but the quote was made over another key's claims. */
static void test_refused_when_evidence_was_made_for_another_key(void **state)
{
    cloak_buf claims = {0};
    uint8_t *spki = NULL, rd[CLOAK_REPORT_DATA_BYTES];
    size_t spki_len = 0;
    cloak_error e = {0};
    assert_int_equal(ratls_spki_der(F.other, &spki, &spki_len, &e), CLOAK_OK);
    assert_int_equal(
        ratls_build_claims(CLOAK_RATLS_HASH_SHA256, spki, spki_len, NULL, 0, &claims, &e),
        CLOAK_OK);
    assert_int_equal(ratls_report_data(claims.p, claims.len, rd, &e), CLOAK_OK);
    sim_evidence se = {.force_rd = rd};
    time_t now = time(NULL);
    X509 *cert = make_cert_with(F.key, &se, now - 60, now + 3600);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    expect_refused(cert, F.key, &v, CLOAK_EVERIFY, "not bound to this certificate");
    X509_free(cert);
    cloak_buf_free(&claims);
    OPENSSL_free(spki);
}

static void test_refused_for_wrong_measurement(void **state)
{
    X509 *cert = make_cert(0);
    uint8_t other[32];
    memcpy(other, MRENCLAVE, 32);
    other[31] ^= 1;
    cloak_policy p = sim_policy();
    p.measurement = other;
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    expect_refused(cert, F.key, &v, CLOAK_EVERIFY, "measurement does not match");
    X509_free(cert);
}

static void test_refused_for_debug_enclave(void **state)
{
    X509 *cert = make_cert(1);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    expect_refused(cert, F.key, &v, CLOAK_EPERM, "debug");
    /* and accepted once the policy allows debug enclaves */
    p.allow_debug = 1;
    handshake h = run_handshake(cert, F.key, &v, NULL, NULL);
    if (h.rc) fprintf(stderr, "refused: %s\n", h.why.msg);
    assert_int_equal(h.rc, CLOAK_OK);
    assert_true(json_is_true(json_object_get(h.claims, "debug")));
    handshake_clear(&h);
    X509_free(cert);
}

static void test_refused_when_trust_lacks_the_development_root(void **state)
{
    X509 *cert = make_cert(0);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {.trust = F.trust_plain, .policy = &p};
    expect_refused(cert, F.key, &v, CLOAK_EVERIFY, "untrusted root");
    X509_free(cert);
}

static void test_refused_when_policy_refuses_simulation(void **state)
{
    X509 *cert = make_cert(0);
    cloak_policy p = sim_policy();
    p.allow_sim = 0;
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    expect_refused(cert, F.key, &v, CLOAK_EPERM, "simulated evidence");
    X509_free(cert);
}

static void test_refused_without_evidence_extension(void **state)
{
    X509 *cert = make_cert(0);
    set_ext(cert, NULL, 0, F.key);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    expect_refused(cert, F.key, &v, CLOAK_ENOTFOUND, "no RA-TLS evidence extension");
    X509_free(cert);
}

/* One flipped bit in the quote's signed report body (MRENCLAVE), certificate re-signed. */
static void test_refused_for_tampered_evidence(void **state)
{
    X509 *cert = make_cert(0);
    uint8_t *val;
    size_t n;
    ext_value(cert, &val, &n);
    cloak_ratls_evidence ev;
    cloak_error e = {0};
    assert_int_equal(cloak_ratls_evidence_parse(val, n, &ev, &e), CLOAK_OK);
    uint8_t *q = memmem(val, n, ev.evidence, ev.evidence_len);
    assert_non_null(q);
    q[48 + 64] ^= 0x01; /* header 48 + MRENCLAVE at 64 of the report body */
    cloak_ratls_evidence_clear(&ev);
    set_ext(cert, val, n, F.key);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    expect_refused(cert, F.key, &v, CLOAK_EVERIFY, "signature");
    free(val);
    X509_free(cert);
}

/* ---- 2. the verifier without TLS ---- */

/* With the platform's collateral the claims carry a TCB status, and the policy can demand one. */
static void test_collateral_gives_tcb_status(void **state)
{
    X509 *cert = make_cert(0);
    cloak_collateral *col = NULL;
    cloak_error e = {0};
    if (cloak_collateral_load(cloak_platform_collateral_dir(F.plat), &col, &e))
        fail_msg("%s", e.msg);
    cloak_policy p = sim_policy();
    p.max_tcb_status = CLOAK_TCB_UP_TO_DATE;
    cloak_ratls_verifier v = {.trust = F.trust_sim, .collateral = col, .policy = &p};
    json_t *c = NULL;
    cloak_err rc = cloak_ratls_verify_cert(cert, &v, &c, &e);
    if (rc) fprintf(stderr, "refused: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    assert_string_equal(json_string_value(json_object_get(c, "tcb_status")), "UpToDate");
    json_decref(c);
    c = NULL;
    /* without collateral the status is unknown, which a policy naming a status refuses */
    v.collateral = NULL;
    assert_int_equal(cloak_ratls_verify_cert(cert, &v, &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "TCB status is unknown"));
    assert_null(c);
    cloak_collateral_free(col);
    X509_free(cert);
}

static void test_nonce_must_match_when_the_verifier_names_one(void **state)
{
    static const uint8_t nonce[16] = {'f', 'r', 'e', 's', 'h', '-', 'n', 'o',
                                      'n', 'c', 'e', '-', '0', '0', '0', '1'};
    static const uint8_t other[16] = {'f', 'r', 'e', 's', 'h', '-', 'n', 'o',
                                      'n', 'c', 'e', '-', '0', '0', '0', '2'};
    sim_evidence se = {0};
    time_t now = time(NULL);
    X509 *cert = NULL, *plain = make_cert(0);
    cloak_error e = {0};
    assert_int_equal(cloak_ratls_make_cert_nonce(F.key, "n", sim_quote, &se, now - 60, now + 60,
                                                 nonce, sizeof nonce, &cert, &e),
                     CLOAK_OK);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {
        .trust = F.trust_sim, .policy = &p, .nonce = nonce, .nonce_len = sizeof nonce};
    json_t *c = NULL;
    cloak_err rc = cloak_ratls_verify_cert(cert, &v, &c, &e);
    if (rc) fprintf(stderr, "refused: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
    json_decref(c);
    c = NULL;
    v.nonce = other;
    assert_int_equal(cloak_ratls_verify_cert(cert, &v, &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "not the nonce this verifier issued"));
    assert_int_equal(cloak_ratls_verify_cert(plain, &v, &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "no nonce claim"));
    assert_null(c);
    X509_free(cert);
    X509_free(plain);
}

static void test_refused_outside_certificate_validity(void **state)
{
    sim_evidence se = {0};
    time_t now = time(NULL);
    X509 *cert = make_cert_with(F.key, &se, now - 7200, now - 3600);
    cloak_policy p = sim_policy();
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    json_t *c = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_ratls_verify_cert(cert, &v, &c, &e), CLOAK_EVERIFY);
    assert_non_null(strstr(e.msg, "not valid at"));
    X509_free(cert);
}

/* The format allows sha-384 and sha-512 pubkey hashes; a verifier must accept them. */
static void test_pubkey_hash_sha384_and_sha512_accepted(void **state)
{
    static const int algs[] = {CLOAK_RATLS_HASH_SHA384, CLOAK_RATLS_HASH_SHA512};
    for (size_t i = 0; i < 2; i++) {
        X509 *cert = make_cert(0);
        uint8_t *spki = NULL, rd[CLOAK_REPORT_DATA_BYTES], *q = NULL;
        size_t spki_len = 0, qn = 0;
        cloak_buf claims = {0}, ext = {0};
        cloak_error e = {0};
        sim_evidence se = {0};
        assert_int_equal(ratls_spki_der(F.key, &spki, &spki_len, &e), CLOAK_OK);
        assert_int_equal(ratls_build_claims(algs[i], spki, spki_len, NULL, 0, &claims, &e),
                         CLOAK_OK);
        assert_int_equal(ratls_report_data(claims.p, claims.len, rd, &e), CLOAK_OK);
        assert_int_equal(sim_quote(&se, rd, &q, &qn), CLOAK_OK);
        assert_int_equal(ratls_build_extension(q, qn, claims.p, claims.len, &ext, &e), CLOAK_OK);
        set_ext(cert, ext.p, ext.len, F.key);
        cloak_policy p = sim_policy();
        cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
        json_t *c = NULL;
        cloak_err rc = cloak_ratls_verify_cert(cert, &v, &c, &e);
        if (rc) fprintf(stderr, "alg %d refused: %s\n", algs[i], e.msg);
        assert_int_equal(rc, CLOAK_OK);
        json_decref(c);
        free(q);
        OPENSSL_free(spki);
        cloak_buf_free(&claims);
        cloak_buf_free(&ext);
        X509_free(cert);
    }
}

static cloak_err failing_evidence(void *ctx, const uint8_t rd[CLOAK_REPORT_DATA_BYTES], uint8_t **q,
                                  size_t *n)
{
    return CLOAK_EPERM;
}

static void test_make_cert_rejects_bad_arguments(void **state)
{
    sim_evidence se = {0};
    X509 *x = NULL;
    cloak_error e = {0};
    static const uint8_t short_nonce[4] = {1, 2, 3, 4};
    assert_int_equal(cloak_ratls_make_cert(F.key, "x", sim_quote, &se, 100, 100, &x, &e),
                     CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "validity is empty"));
    assert_int_equal(
        cloak_ratls_make_cert_nonce(F.key, "x", sim_quote, &se, 1, 2, short_nonce, 4, &x, &e),
        CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "nonce must be"));
    assert_int_equal(cloak_ratls_make_cert(F.key, "x", failing_evidence, NULL, 1, 2, &x, &e),
                     CLOAK_EPERM);
    assert_non_null(strstr(e.msg, "evidence function failed"));
    assert_int_equal(cloak_ratls_make_cert(NULL, "x", sim_quote, &se, 1, 2, &x, &e), CLOAK_EINVAL);
    assert_null(x);
    /* a policy that already names report data would fight the per-certificate binding */
    cloak_policy p = sim_policy();
    uint8_t rd[64] = {0};
    p.report_data = rd;
    p.report_data_len = sizeof rd;
    cloak_ratls_verifier v = {.trust = F.trust_sim, .policy = &p};
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_int_equal(cloak_ratls_ssl_ctx_set_verify(ctx, &v, &e), CLOAK_EINVAL);
    assert_non_null(strstr(e.msg, "report_data"));
    SSL_CTX_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_accepts_attested_server),
        cmocka_unit_test(test_mutual_handshake_attests_both_sides),
        cmocka_unit_test(test_refused_when_cert_key_is_not_the_bound_key),
        cmocka_unit_test(test_refused_when_evidence_was_made_for_another_key),
        cmocka_unit_test(test_refused_for_wrong_measurement),
        cmocka_unit_test(test_refused_for_debug_enclave),
        cmocka_unit_test(test_refused_when_trust_lacks_the_development_root),
        cmocka_unit_test(test_refused_when_policy_refuses_simulation),
        cmocka_unit_test(test_refused_without_evidence_extension),
        cmocka_unit_test(test_refused_for_tampered_evidence),
        cmocka_unit_test(test_collateral_gives_tcb_status),
        cmocka_unit_test(test_nonce_must_match_when_the_verifier_names_one),
        cmocka_unit_test(test_refused_outside_certificate_validity),
        cmocka_unit_test(test_pubkey_hash_sha384_and_sha512_accepted),
        cmocka_unit_test(test_make_cert_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
