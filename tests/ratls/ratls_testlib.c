/* Shared by the RA-TLS tests (ratls_testlib.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "ratls_testlib.h"

const uint8_t MRENCLAVE[32] = {0xc1, 0x0a, 0x4e, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                               0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13,
                               0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d};
const uint8_t MRSIGNER[32] = {0x5e, 0x11, 0x9e, 0x12};

/* ---- fixture: one development platform, trusts, a server key ---- */

fixture F;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int setup(void **state)
{
    cloak_error e = {0};
    char t[] = "/tmp/cloak-ratls-test-XXXXXX";
    signal(SIGPIPE, SIG_IGN); /* a refused peer closes its socket while the other side writes */
    if (!mkdtemp(t)) return -1;
    F.dir = strdup(t);
    if (cloak_platform_open(F.dir, &F.plat, &e) ||
        cloak_trust_new(CLOAK_TRUST_ALLOW_SIM, F.dir, &F.trust_sim, &e) ||
        cloak_trust_new(0, NULL, &F.trust_plain, &e) || cloak_ratls_keygen(&F.key, &e) ||
        cloak_ratls_keygen(&F.other, &e)) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    return 0;
}

int teardown(void **state)
{
    cloak_platform_free(F.plat);
    cloak_trust_free(F.trust_sim);
    cloak_trust_free(F.trust_plain);
    EVP_PKEY_free(F.key);
    EVP_PKEY_free(F.other);
    if (F.dir) nftw(F.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(F.dir);
    return 0;
}

/* ---- evidence from the simulation platform ---- */

cloak_err sim_quote(void *ctx, const uint8_t rd[CLOAK_REPORT_DATA_BYTES], uint8_t **q, size_t *n)
{
    sim_evidence *s = ctx;
    cloak_sgx_report r;
    uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES];
    memset(&r, 0, sizeof r);
    cloak_platform_cpusvn(F.plat, r.cpusvn);
    r.attr_flags =
        CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_MODE64BIT | (s->debug ? CLOAK_SGX_FLAG_DEBUG : 0);
    r.attr_xfrm = 0x3;
    memcpy(r.mrenclave, MRENCLAVE, 32);
    memcpy(r.mrsigner, MRSIGNER, 32);
    r.isvprodid = PRODUCT_ID;
    r.isvsvn = ISV_SVN;
    memcpy(r.reportdata, s->force_rd ? s->force_rd : rd, CLOAK_REPORT_DATA_BYTES);
    cloak_sgx_report_encode(&r, body);
    return cloak_platform_quote(F.plat, body, q, n, &s->why);
}

X509 *make_cert_with(EVP_PKEY *key, sim_evidence *s, time_t nb, time_t na)
{
    X509 *x = NULL;
    cloak_error e = {0};
    if (cloak_ratls_make_cert(key, "cloak test enclave", sim_quote, s, nb, na, &x, &e))
        fail_msg("make_cert: %s (%s)", e.msg, s->why.msg);
    return x;
}

X509 *make_cert(int debug)
{
    sim_evidence s = {.debug = debug};
    time_t now = time(NULL);
    return make_cert_with(F.key, &s, now - 60, now + 3600);
}

/* ---- certificate surgery (to build wrong certificates the library would never make) ---- */

ASN1_OBJECT *evidence_oid(void)
{
    ASN1_OBJECT *o = OBJ_txt2obj(CLOAK_RATLS_EVIDENCE_OID, 1);
    assert_non_null(o);
    return o;
}

void ext_value(X509 *x, uint8_t **p, size_t *n)
{
    ASN1_OBJECT *o = evidence_oid();
    int idx = X509_get_ext_by_OBJ(x, o, -1);
    ASN1_OBJECT_free(o);
    assert_true(idx >= 0);
    const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    *n = (size_t)ASN1_STRING_length(v);
    *p = malloc(*n);
    assert_non_null(*p);
    memcpy(*p, ASN1_STRING_get0_data(v), *n);
}

/* Replace (val != NULL) or remove the evidence extension, then re-sign with `key`, so that
 * only the evidence is wrong, never the certificate's own signature. */
void set_ext(X509 *x, const uint8_t *val, size_t n, EVP_PKEY *key)
{
    ASN1_OBJECT *o = evidence_oid();
    int idx = X509_get_ext_by_OBJ(x, o, -1);
    if (idx >= 0) X509_EXTENSION_free(X509_delete_ext(x, idx));
    if (val) {
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        assert_true(ASN1_OCTET_STRING_set(os, val, (int)n));
        X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os);
        assert_non_null(e);
        assert_true(X509_add_ext(x, e, -1));
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
    }
    ASN1_OBJECT_free(o);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
}

cloak_policy sim_policy(void)
{
    cloak_policy p;
    cloak_policy_init(&p);
    p.allow_sim = 1;
    p.measurement = MRENCLAVE;
    p.measurement_len = sizeof MRENCLAVE;
    p.product_id = PRODUCT_ID;
    p.min_svn = ISV_SVN;
    return p;
}

char *hex(const uint8_t *p, size_t n)
{
    char *s = cloak_hex_encode(p, n);
    assert_non_null(s);
    return s;
}
