/* Simulation platform: creation, reopening, the quote layout, collateral, race-safe
 * creation, seal keys, and that quote/seal_key touch no file once the platform is open.
 * Expectations come from outside the code under test where possible: OpenSSL's X509 and CRL
 * verifiers, signatures checked through a different OpenSSL path, and HKDF recomputed from
 * HMAC (RFC 5869). The checks against Intel's real PCK certificate and the independent DCAP
 * verifier (Node.js) are in test_platform_dcap.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cloak/platform.h"

#define BODY_OFF 48
#define SIGDATA_OFF 436

/* ---- helpers ---- */

static char *tmpdir_new(void)
{
    char t[] = "/tmp/cloak-platform-test-XXXXXX";
    char *d = mkdtemp(t);
    assert_non_null(d);
    return strdup(d);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_rf(char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

static char *join(const char *a, const char *b)
{
    char *s = NULL;
    assert_true(asprintf(&s, "%s/%s", a, b) > 0);
    return s;
}

static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
    char *path = join(dir, name);
    uint8_t *p = NULL;
    cloak_error e = {0};
    if (cloak_file_read(path, &p, len, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    free(path);
    return p;
}

static cloak_platform *open_ok(const char *dir)
{
    cloak_platform *p = NULL;
    cloak_error e = {0};
    if (cloak_platform_open(dir, &p, &e) != CLOAK_OK) fail_msg("cloak_platform_open: %s", e.msg);
    return p;
}

static EVP_PKEY *p256_from_xy(const uint8_t xy[64])
{
    uint8_t pt[65];
    EVP_PKEY *k = NULL;
    pt[0] = 0x04;
    memcpy(pt + 1, xy, 64);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt),
        OSSL_PARAM_construct_end()};
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    assert_non_null(c);
    assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
    assert_int_equal(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(c);
    return k;
}

/* raw r||s -> DER -> EVP_DigestVerify (a path the platform code does not use) */
static int verify_p1363(EVP_PKEY *k, const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    unsigned char *der = NULL;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    ECDSA_SIG_set0(s, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    int dl = i2d_ECDSA_SIG(s, &der);
    int ok = dl > 0 && EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestVerify(m, der, (size_t)dl, msg, len) == 1;
    EVP_MD_CTX_free(m);
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    return ok;
}

static X509 *pem_cert(const char *pem, size_t len, size_t index)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = NULL;
    for (size_t i = 0; i <= index; i++) {
        X509_free(x);
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!x) break;
    }
    BIO_free(b);
    return x;
}

/* The PEM chain inside a v3 quote (attestation.md §1 "Signature data"). */
static const char *quote_chain(const uint8_t *q, size_t qlen, size_t *len)
{
    const uint8_t *sd = q + SIGDATA_OFF;
    size_t auth = cloak_get_u16le(sd + 576);
    assert_int_equal(cloak_get_u16le(sd + 578 + auth), 5);
    *len = cloak_get_u32le(sd + 580 + auth);
    assert_true(SIGDATA_OFF + 584 + auth + *len <= qlen);
    return (const char *)sd + 584 + auth;
}

static void known_report(cloak_sgx_report *r, int debug)
{
    memset(r, 0, sizeof *r);
    memset(r->mrenclave, 0xa1, 32);
    memset(r->mrsigner, 0xb2, 32);
    for (int i = 0; i < 64; i++)
        r->reportdata[i] = (uint8_t)(0xc0 ^ i);
    r->attr_flags =
        CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_MODE64BIT | (debug ? CLOAK_SGX_FLAG_DEBUG : 0);
    r->attr_xfrm = 3;
    r->isvprodid = 7;
    r->isvsvn = 3;
}

/* ---- tests ---- */

static void test_default_dir_resolution(void **state)
{
    (void)state;
    char *saved[3] = {0};
    const char *names[3] = {"CLOAK_PLATFORM_DIR", "XDG_DATA_HOME", "HOME"};
    for (int i = 0; i < 3; i++)
        if (getenv(names[i])) saved[i] = strdup(getenv(names[i]));
    char *s;
    setenv("CLOAK_PLATFORM_DIR", "/e/cloak", 1);
    setenv("XDG_DATA_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    s = cloak_platform_default_dir("/given");
    assert_string_equal(s, "/given");
    free(s);
    s = cloak_platform_default_dir(NULL);
    assert_string_equal(s, "/e/cloak");
    free(s);
    unsetenv("CLOAK_PLATFORM_DIR");
    s = cloak_platform_default_dir(NULL);
    assert_string_equal(s, "/xdg/cloak/platform");
    free(s);
    unsetenv("XDG_DATA_HOME");
    s = cloak_platform_default_dir(NULL);
    assert_string_equal(s, "/home/u/.local/share/cloak/platform");
    free(s);
    for (int i = 0; i < 3; i++) {
        if (saved[i])
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
        free(saved[i]);
    }
}

static void test_create_then_reopen_gives_same_root(void **state)
{
    (void)state;
    char *base = tmpdir_new(), *dir = join(base, "a/b/platform");
    struct stat st;
    cloak_platform *p = open_ok(dir);
    assert_string_equal(cloak_platform_path(p), dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    const char *keys[] = {"root.key",        "pck-ca.key",      "pck.key",
                          "tcb-signing.key", "attestation.key", "seal.secret"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char *k = join(dir, keys[i]);
        assert_int_equal(stat(k, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        free(k);
    }
    size_t len = 0;
    uint8_t *root_file = slurp(dir, "root.pem", &len);
    assert_int_equal(strlen(cloak_platform_root_pem(p)), len);
    assert_memory_equal(cloak_platform_root_pem(p), root_file, len);
    uint8_t cpu1[16], cpu2[16];
    cloak_platform_cpusvn(p, cpu1);
    char *root1 = strdup(cloak_platform_root_pem(p));
    cloak_platform_free(p);

    p = open_ok(dir);
    assert_string_equal(cloak_platform_root_pem(p), root1);
    cloak_platform_cpusvn(p, cpu2);
    assert_memory_equal(cpu1, cpu2, 16);
    cloak_platform_free(p);
    free(root1);
    free(root_file);
    free(dir);
    rm_rf(base);
}

static void test_open_in_existing_empty_dir(void **state)
{
    (void)state;
    char *base = tmpdir_new();
    cloak_platform *p = open_ok(base);
    char *info = join(base, "platform.json"), *cdir = join(base, "collateral");
    assert_int_equal(access(info, R_OK), 0);
    assert_string_equal(cloak_platform_collateral_dir(p), cdir);
    free(info);
    free(cdir);
    cloak_platform_free(p);
    rm_rf(base);
}

static void test_certificates_chain_verify(void **state)
{
    (void)state;
    char *base = tmpdir_new();
    cloak_platform_free(open_ok(base));
    const char *names[] = {"root.pem", "pck-ca.pem", "pck.pem", "tcb-signing.pem"};
    const char *cns[] = {"Cloak Development SGX Root CA", "Cloak Development SGX PCK Platform CA",
                         "Cloak Development SGX PCK Certificate",
                         "Cloak Development SGX TCB Signing"};
    X509 *c[4];
    for (int i = 0; i < 4; i++) {
        size_t len = 0;
        uint8_t *pem = slurp(base, names[i], &len);
        c[i] = pem_cert((const char *)pem, len, 0);
        assert_non_null(c[i]);
        char cn[128];
        X509_NAME_get_text_by_NID(X509_get_subject_name(c[i]), NID_commonName, cn, sizeof cn);
        assert_string_equal(cn, cns[i]);
        free(pem);
    }
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, c[0]);
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    sk_X509_push(untrusted, c[1]);
    for (int leaf = 2; leaf <= 3; leaf++) {
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        X509_STORE_CTX_init(ctx, store, c[leaf], untrusted);
        int ok = X509_verify_cert(ctx);
        if (ok != 1)
            fail_msg("%s: %s", names[leaf],
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        X509_STORE_CTX_free(ctx);
    }
    /* ten years for the root */
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c[0]), X509_get0_notAfter(c[0]));
    assert_in_range(days, 3649, 3651);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    for (int i = 0; i < 4; i++)
        X509_free(c[i]);
    rm_rf(base);
}

static void test_report_encode_decode_offsets(void **state)
{
    (void)state;
    cloak_sgx_report r, back;
    uint8_t raw[CLOAK_SGX_REPORT_BODY_BYTES];
    known_report(&r, 1);
    memset(r.cpusvn, 0x11, 16);
    r.miscselect = 0x01020304;
    memset(r.isvextprodid, 0x22, 16);
    memset(r.configid, 0x33, 64);
    r.configsvn = 0x0506;
    memset(r.isvfamilyid, 0x44, 16);
    cloak_sgx_report_encode(&r, raw);
    assert_int_equal(raw[0], 0x11);
    assert_int_equal(cloak_get_u32le(raw + 16), 0x01020304);
    for (int i = 20; i < 32; i++)
        assert_int_equal(raw[i], 0);
    assert_int_equal(raw[32], 0x22);
    assert_int_equal(cloak_get_u64le(raw + 48), r.attr_flags);
    assert_int_equal(cloak_get_u64le(raw + 56), 3);
    assert_int_equal(raw[64], 0xa1);
    assert_int_equal(raw[95], 0xa1);
    for (int i = 96; i < 128; i++)
        assert_int_equal(raw[i], 0);
    assert_int_equal(raw[128], 0xb2);
    for (int i = 160; i < 192; i++)
        assert_int_equal(raw[i], 0);
    assert_int_equal(raw[192], 0x33);
    assert_int_equal(cloak_get_u16le(raw + 256), 7);
    assert_int_equal(cloak_get_u16le(raw + 258), 3);
    assert_int_equal(cloak_get_u16le(raw + 260), 0x0506);
    for (int i = 262; i < 304; i++)
        assert_int_equal(raw[i], 0);
    assert_int_equal(raw[304], 0x44);
    assert_int_equal(raw[320], 0xc0);
    assert_int_equal(raw[383], 0xc0 ^ 63);
    cloak_sgx_report_decode(raw, &back);
    assert_memory_equal(&r, &back, sizeof r);
}

static void test_quote_layout_and_signatures(void **state)
{
    (void)state;
    char *base = tmpdir_new();
    cloak_platform *p = open_ok(base);
    cloak_sgx_report r;
    uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES], *q = NULL;
    size_t qlen = 0, jlen = 0, clen = 0;
    cloak_error e = {0};
    known_report(&r, 0);
    cloak_sgx_report_encode(&r, body);
    assert_int_equal(cloak_platform_quote(p, body, &q, &qlen, &e), CLOAK_OK);

    assert_int_equal(cloak_get_u16le(q + 0), 3);   /* version */
    assert_int_equal(cloak_get_u16le(q + 2), 2);   /* ECDSA-256-with-P-256 */
    assert_int_equal(cloak_get_u32le(q + 4), 0);   /* SGX */
    assert_int_equal(cloak_get_u16le(q + 8), 8);   /* QE SVN */
    assert_int_equal(cloak_get_u16le(q + 10), 13); /* PCE SVN */
    static const uint8_t intel[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                      0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
    assert_memory_equal(q + 12, intel, 16);
    uint8_t *info = slurp(base, "platform.json", &jlen);
    json_t *j = json_loadb((const char *)info, jlen, 0, NULL);
    char pid[33];
    cloak_hex_write(pid, q + 28, 16);
    assert_string_equal(pid, json_string_value(json_object_get(j, "platformId")));
    assert_memory_equal(q + BODY_OFF, body, sizeof body);
    assert_memory_equal(q + BODY_OFF + 64, r.mrenclave, 32);
    assert_memory_equal(q + BODY_OFF + 320, r.reportdata, 64);
    assert_int_equal(cloak_get_u32le(q + 432), qlen - SIGDATA_OFF);

    const uint8_t *sd = q + SIGDATA_OFF, *qe = sd + 128;
    EVP_PKEY *att = p256_from_xy(sd + 64);
    assert_true(verify_p1363(att, q, 432, sd));
    /* QE report: identity from the QE identity collateral, binding to the attestation key */
    size_t blen = 0;
    uint8_t *qid = slurp(cloak_platform_collateral_dir(p), "qe_identity_body.json", &blen);
    json_t *jq = json_loadb((const char *)qid, blen, 0, NULL);
    char mrsigner[65];
    cloak_hex_write(mrsigner, qe + 128, 32);
    assert_string_equal(mrsigner,
                        "61149c1b4b9efdeccbc10291669e5a674074d5f7c74950c85f7e623c18b42dd6");
    assert_true(strcasecmp(mrsigner, json_string_value(json_object_get(jq, "mrsigner"))) == 0);
    assert_int_equal(cloak_get_u16le(qe + 256),
                     json_integer_value(json_object_get(jq, "isvprodid")));
    assert_int_equal(cloak_get_u16le(sd + 576), 32);
    uint8_t bind[96], h[32];
    memcpy(bind, sd + 64, 64);
    memcpy(bind + 64, sd + 578, 32);
    SHA256(bind, sizeof bind, h);
    assert_memory_equal(qe + 320, h, 32);
    for (int i = 352; i < 384; i++)
        assert_int_equal(qe[i], 0);
    const char *chain = quote_chain(q, qlen, &clen);
    assert_int_equal(SIGDATA_OFF + 584 + 32 + clen, qlen);
    assert_int_equal(chain[clen - 1], 0); /* NUL-terminated like Intel's */
    X509 *leaf = pem_cert(chain, clen, 0), *root = pem_cert(chain, clen, 2);
    assert_non_null(leaf);
    assert_non_null(root);
    assert_true(verify_p1363(X509_get0_pubkey(leaf), qe, 384, sd + 512));
    X509 *proot = pem_cert(cloak_platform_root_pem(p), strlen(cloak_platform_root_pem(p)), 0);
    assert_int_equal(X509_cmp(root, proot), 0);
    /* a flipped bit in the signed region breaks the quote signature */
    q[BODY_OFF + 320] ^= 1;
    assert_false(verify_p1363(att, q, 432, sd));

    X509_free(proot);
    X509_free(leaf);
    X509_free(root);
    EVP_PKEY_free(att);
    json_decref(jq);
    json_decref(j);
    free(qid);
    free(info);
    free(q);
    cloak_platform_free(p);
    rm_rf(base);
}

static void test_collateral_files_and_signatures(void **state)
{
    (void)state;
    char *base = tmpdir_new();
    cloak_platform *p = open_ok(base);
    const char *cdir = cloak_platform_collateral_dir(p);
    const char *files[] = {
        "tcb_info_body.json", "tcb_info.sig", "qe_identity_body.json", "qe_identity.sig",
        "root_ca_crl.der",    "pck_crl.der",  "tcb_signing_chain.pem", "pck_crl_issuer_chain.pem"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *f = join(cdir, files[i]);
        if (access(f, R_OK) != 0) fail_msg("missing collateral file %s", f);
        free(f);
    }
    size_t len = 0, slen = 0, clen = 0;
    uint8_t *body = slurp(cdir, "tcb_info_body.json", &len),
            *sig = slurp(cdir, "tcb_info.sig", &slen);
    uint8_t *chain = slurp(cdir, "tcb_signing_chain.pem", &clen);
    assert_int_equal(slen, 64);
    assert_memory_equal(body, "{\"id\":\"SGX\",\"version\":3,", 24);
    X509 *signer = pem_cert((const char *)chain, clen, 0);
    assert_true(verify_p1363(X509_get0_pubkey(signer), body, len, sig));
    json_t *j = json_loadb((const char *)body, len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "fmspc")), "00C10F000000");
    assert_string_equal(json_string_value(json_object_get(j, "pceId")), "0000");
    assert_int_equal(json_integer_value(json_object_get(j, "tcbType")), 0);
    json_t *lvl = json_array_get(json_object_get(j, "tcbLevels"), 0);
    assert_string_equal(json_string_value(json_object_get(lvl, "tcbStatus")), "UpToDate");
    struct tm a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    strptime(json_string_value(json_object_get(j, "issueDate")), "%Y-%m-%dT%H:%M:%SZ", &a);
    strptime(json_string_value(json_object_get(j, "nextUpdate")), "%Y-%m-%dT%H:%M:%SZ", &b);
    assert_int_equal(timegm(&b) - timegm(&a), 30 * 86400);
    /* CRLs: the root's signed by the root, the PCK CRL by the PCK Platform CA; both empty */
    size_t rl = 0, pl = 0, cal = 0;
    uint8_t *rcrl = slurp(cdir, "root_ca_crl.der", &rl), *pcrl = slurp(cdir, "pck_crl.der", &pl);
    uint8_t *capem = slurp(base, "pck-ca.pem", &cal);
    const unsigned char *rp = rcrl, *pp = pcrl;
    X509_CRL *c1 = d2i_X509_CRL(NULL, &rp, (long)rl), *c2 = d2i_X509_CRL(NULL, &pp, (long)pl);
    X509 *root = pem_cert((const char *)chain, clen, 1),
         *ca = pem_cert((const char *)capem, cal, 0);
    assert_int_equal(X509_CRL_verify(c1, X509_get0_pubkey(root)), 1);
    assert_int_equal(X509_CRL_verify(c2, X509_get0_pubkey(ca)), 1);
    assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c1)) <= 0); /* none (NULL stack) */
    assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c2)) <= 0);
    X509_CRL_free(c1);
    X509_CRL_free(c2);
    X509_free(root);
    X509_free(ca);
    X509_free(signer);
    json_decref(j);
    free(rcrl);
    free(pcrl);
    free(capem);
    free(body);
    free(sig);
    free(chain);
    cloak_platform_free(p);
    rm_rf(base);
}

/* Move the body's dates back by `days` (same format, so the platform sees its own body). */
static void age_tcb_info(const char *cdir, int days)
{
    size_t len = 0;
    uint8_t *body = slurp(cdir, "tcb_info_body.json", &len);
    json_t *j = json_loadb((const char *)body, len, 0, NULL);
    char iss[32], nxt[32];
    time_t t = time(NULL) - (time_t)days * 86400, n = t + 30 * 86400;
    struct tm tm;
    strftime(iss, sizeof iss, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    strftime(nxt, sizeof nxt, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&n, &tm));
    json_object_set_new(j, "issueDate", json_string(iss));
    json_object_set_new(j, "nextUpdate", json_string(nxt));
    char *s = json_dumps(j, JSON_COMPACT), *path = join(cdir, "tcb_info_body.json");
    assert_int_equal(cloak_file_write(path, (uint8_t *)s, strlen(s), 0644, NULL), CLOAK_OK);
    free(path);
    free(s);
    json_decref(j);
    free(body);
}

static void test_collateral_reissued_only_when_expiring(void **state)
{
    (void)state;
    char *base = tmpdir_new(), *cdir = join(base, "collateral");
    cloak_platform_free(open_ok(base));
    size_t l1 = 0, l2 = 0;
    age_tcb_info(cdir, 10); /* 20 days left: kept */
    uint8_t *before = slurp(cdir, "tcb_info_body.json", &l1);
    cloak_platform_free(open_ok(base));
    uint8_t *after = slurp(cdir, "tcb_info_body.json", &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(before, after, l1);
    free(after);
    age_tcb_info(cdir, 25); /* 5 days left: re-issued, signed again */
    cloak_platform_free(open_ok(base));
    after = slurp(cdir, "tcb_info_body.json", &l2);
    assert_true(l1 != l2 || memcmp(before, after, l1) != 0);
    size_t sl = 0, cl = 0;
    uint8_t *sig = slurp(cdir, "tcb_info.sig", &sl),
            *chain = slurp(cdir, "tcb_signing_chain.pem", &cl);
    X509 *signer = pem_cert((const char *)chain, cl, 0);
    assert_true(verify_p1363(X509_get0_pubkey(signer), after, l2, sig));
    json_t *j = json_loadb((const char *)after, l2, 0, NULL);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    strptime(json_string_value(json_object_get(j, "nextUpdate")), "%Y-%m-%dT%H:%M:%SZ", &tm);
    assert_true(timegm(&tm) > time(NULL) + 29 * 86400);
    json_decref(j);
    X509_free(signer);
    free(sig);
    free(chain);
    free(before);
    free(after);
    free(cdir);
    rm_rf(base);
}

#define RACERS 4
static void test_concurrent_first_open_makes_one_platform(void **state)
{
    (void)state;
    char *base = tmpdir_new(), *dir = join(base, "race/platform");
    int gate[2];
    pid_t kids[RACERS];
    assert_int_equal(pipe(gate), 0);
    for (int i = 0; i < RACERS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            char c, name[512];
            cloak_platform *p = NULL;
            cloak_error e = {0};
            close(gate[1]);
            (void)!read(gate[0], &c, 1); /* returns at EOF: everyone starts together */
            if (cloak_platform_open(dir, &p, &e) != CLOAK_OK) {
                fprintf(stderr, "racer %d: %s\n", i, e.msg);
                _exit(1);
            }
            snprintf(name, sizeof name, "%s/root.%d", base, i);
            const char *pem = cloak_platform_root_pem(p);
            _exit(cloak_file_write(name, (const uint8_t *)pem, strlen(pem), 0600, NULL) ? 2 : 0);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (int i = 0; i < RACERS; i++) {
        int st = 0;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    cloak_platform *p = open_ok(dir);
    for (int i = 0; i < RACERS; i++) {
        char name[32];
        size_t len = 0;
        snprintf(name, sizeof name, "root.%d", i);
        uint8_t *pem = slurp(base, name, &len);
        assert_int_equal(len, strlen(cloak_platform_root_pem(p)));
        assert_memory_equal(pem, cloak_platform_root_pem(p), len);
        free(pem);
    }
    cloak_platform_free(p);
    free(dir);
    rm_rf(base);
}

/* RFC 5869 HKDF-SHA256 for one output block, from HMAC. */
static void hkdf_by_hand(const uint8_t ikm[32], const uint8_t *info, size_t info_len,
                         uint8_t out[32])
{
    uint8_t prk[32], msg[256];
    unsigned int n = 0;
    HMAC(EVP_sha256(), "cloak-seal-v1", 13, ikm, 32, prk, &n);
    if (info_len) memcpy(msg, info, info_len);
    msg[info_len] = 1;
    HMAC(EVP_sha256(), prk, 32, msg, info_len + 1, out, &n);
}

static void test_seal_key_deterministic_per_info(void **state)
{
    (void)state;
    char *base = tmpdir_new();
    cloak_platform *p = open_ok(base);
    uint8_t k1[32], k2[32], k3[32], k4[32], want[32];
    cloak_error e = {0};
    assert_int_equal(cloak_platform_seal_key(p, (const uint8_t *)"enclave-a", 9, k1, &e), CLOAK_OK);
    assert_int_equal(cloak_platform_seal_key(p, (const uint8_t *)"enclave-a", 9, k2, &e), CLOAK_OK);
    assert_int_equal(cloak_platform_seal_key(p, (const uint8_t *)"enclave-b", 9, k3, &e), CLOAK_OK);
    assert_memory_equal(k1, k2, 32);
    assert_memory_not_equal(k1, k3, 32);
    size_t len = 0;
    uint8_t *secret = slurp(base, "seal.secret", &len);
    assert_int_equal(len, 32);
    hkdf_by_hand(secret, (const uint8_t *)"enclave-a", 9, want);
    assert_memory_equal(k1, want, 32);
    assert_int_equal(cloak_platform_seal_key(p, NULL, 0, k4, &e), CLOAK_OK);
    hkdf_by_hand(secret, NULL, 0, want);
    assert_memory_equal(k4, want, 32);
    cloak_platform_free(p);
    p = open_ok(base); /* stable across opens */
    assert_int_equal(cloak_platform_seal_key(p, (const uint8_t *)"enclave-a", 9, k2, &e), CLOAK_OK);
    assert_memory_equal(k1, k2, 32);
    assert_int_equal(cloak_platform_seal_key(NULL, (const uint8_t *)"x", 1, k2, &e), CLOAK_EINVAL);
    cloak_platform_free(p);
    free(secret);
    rm_rf(base);
    /* another platform, another secret */
    base = tmpdir_new();
    p = open_ok(base);
    assert_int_equal(cloak_platform_seal_key(p, (const uint8_t *)"enclave-a", 9, k2, &e), CLOAK_OK);
    assert_memory_not_equal(k1, k2, 32);
    cloak_platform_free(p);
    rm_rf(base);
}

static void *quote_in_thread(void *arg)
{
    uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES] = {0}, *q = NULL;
    size_t len = 0;
    intptr_t bad = cloak_platform_quote(arg, body, &q, &len, NULL) != CLOAK_OK;
    free(q);
    return (void *)bad;
}

/* The enclave runtime calls quote and seal_key under seccomp after open: they must not touch
 * the file system. Kill the process on any file or exec syscall and run them, also on a fresh
 * thread (OpenSSL keeps per-thread DRBGs). */
static void test_quote_and_seal_touch_no_files(void **state)
{
    (void)state;
    char *base = tmpdir_new();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static const char *deny[] = {
            "open",    "openat", "openat2",   "creat",      "stat",     "lstat",      "newfstatat",
            "statx",   "access", "faccessat", "faccessat2", "readlink", "readlinkat", "mkdir",
            "mkdirat", "unlink", "unlinkat",  "rename",     "renameat", "renameat2",  "socket",
            "connect", "execve", "execveat",  "flock",      "chmod",    "fchmodat"};
        cloak_platform *p = NULL;
        if (cloak_platform_open(base, &p, NULL) != CLOAK_OK) _exit(10);
        scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
        if (!f) _exit(11);
        for (size_t i = 0; i < sizeof deny / sizeof *deny; i++) {
            int nr = seccomp_syscall_resolve_name(deny[i]);
            if (nr != __NR_SCMP_ERROR && seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, nr, 0) < 0)
                _exit(12);
        }
        if (seccomp_load(f) < 0) _exit(13);
        uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES] = {0}, key[32], *q = NULL;
        size_t len = 0;
        for (int i = 0; i < 3; i++) {
            if (cloak_platform_quote(p, body, &q, &len, NULL) != CLOAK_OK) _exit(14);
            free(q);
            if (cloak_platform_seal_key(p, (const uint8_t *)"x", 1, key, NULL) != CLOAK_OK)
                _exit(15);
        }
        pthread_t t;
        void *bad = NULL;
        if (pthread_create(&t, NULL, quote_in_thread, p) != 0 || pthread_join(t, &bad) != 0 || bad)
            _exit(16);
        _exit(0); /* no atexit handlers (LeakSanitizer would read /proc) */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st))
        fail_msg("killed by signal %d: quote or seal_key made a file system call", WTERMSIG(st));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    rm_rf(base);
}

static void test_quotes_from_many_threads(void **state)
{
    (void)state;
    char *base = tmpdir_new();
    cloak_platform *p = open_ok(base);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, quote_in_thread, p), 0);
    for (int i = 0; i < 4; i++) {
        void *bad = NULL;
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
    cloak_platform_free(p);
    rm_rf(base);
}

static void test_open_errors_say_what_to_do(void **state)
{
    (void)state;
    char *base = tmpdir_new(), *file = join(base, "file"), *dir = join(file, "platform");
    cloak_platform *p = NULL;
    cloak_error e = {0};
    assert_int_equal(cloak_file_write(file, (const uint8_t *)"x", 1, 0600, NULL), CLOAK_OK);
    assert_int_equal(cloak_platform_open(dir, &p, &e), CLOAK_EIO);
    assert_null(p);
    assert_non_null(strstr(e.msg, dir));
    assert_non_null(strstr(e.msg, "set CLOAK_PLATFORM_DIR"));
    char *gw = join(base, "gw");
    assert_int_equal(mkdir(gw, 0700), 0);
    assert_int_equal(chmod(gw, 0770), 0);
    assert_int_equal(cloak_platform_open(gw, &p, &e), CLOAK_EPERM);
    assert_non_null(strstr(e.msg, "chmod 700"));
    free(gw);
    free(file);
    free(dir);
    rm_rf(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_dir_resolution),
        cmocka_unit_test(test_create_then_reopen_gives_same_root),
        cmocka_unit_test(test_open_in_existing_empty_dir),
        cmocka_unit_test(test_certificates_chain_verify),
        cmocka_unit_test(test_report_encode_decode_offsets),
        cmocka_unit_test(test_quote_layout_and_signatures),
        cmocka_unit_test(test_collateral_files_and_signatures),
        cmocka_unit_test(test_collateral_reissued_only_when_expiring),
        cmocka_unit_test(test_concurrent_first_open_makes_one_platform),
        cmocka_unit_test(test_seal_key_deterministic_per_info),
        cmocka_unit_test(test_quote_and_seal_touch_no_files),
        cmocka_unit_test(test_quotes_from_many_threads),
        cmocka_unit_test(test_open_errors_say_what_to_do),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
