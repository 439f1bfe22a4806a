/* The simulation platform against real Intel evidence and an independent verifier.
 * 1. The PCK certificate's SGX extension has exactly the DER shape of the PCK certificate in
 *    Intel's sample quote, as OpenSSL's decoder sees both.
 * 2. Simulated quotes pass tests/tee/dcap_verify.mjs (Node.js built-in crypto only, no cloak
 *    code). The same verifier runs on Intel's real sample quote
 * and collateral, which must pass, so a pass on our quotes means something; and one flipped
 * bit must make both fail, so the test can fail. Needs `node` (scripts/deps.sh installs it):
 * without it these tests fail with that message, they do not skip. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cloak/platform.h"

#define VENDOR_TIME "1752919277" /* MANIFEST.md: min(nextUpdate) - 1 s of the sample collateral */
#define NODE_MISSING "node (Node.js >= 18) is not installed or not in PATH: run scripts/deps.sh"

static const char *source_dir(void)
{
    const char *s = getenv("CLOAK_SOURCE_DIR");
    return s && *s ? s : CLOAK_TEST_SOURCE_DIR;
}

static const char *shared_dir(void)
{
    const char *s = getenv("CLOAK_SHARED_DIR");
    return s && *s ? s : CLOAK_TEST_SHARED_DIR;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, f);
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    assert_true(n > 0);
    return s;
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

static char *tmpdir_new(void)
{
    char t[] = "/tmp/cloak-dcap-test-XXXXXX";
    assert_non_null(mkdtemp(t));
    return strdup(t);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *p = NULL;
    cloak_error e = {0};
    if (cloak_file_read(path, &p, len, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    return p;
}

static void put(const char *path, const uint8_t *p, size_t len)
{
    cloak_error e = {0};
    if (cloak_file_write(path, p, len, 0600, &e) != CLOAK_OK) fail_msg("%s", e.msg);
}

/* ---- 1. the SGX extension, compared with Intel's ---- */

static X509 *first_cert(const char *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

/* The PCK leaf of a v3 quote: cert data type 5 (attestation.md §1 "Signature data"). */
static X509 *quote_pck_leaf(const uint8_t *q, size_t qlen)
{
    const uint8_t *sd = q + 436;
    size_t auth = cloak_get_u16le(sd + 576), len;
    assert_int_equal(cloak_get_u16le(sd + 578 + auth), 5);
    len = cloak_get_u32le(sd + 580 + auth);
    assert_true(436 + 584 + auth + len <= qlen);
    return first_cert((const char *)sd + 584 + auth, len);
}

/* DER shape as OpenSSL's decoder sees it: tags, OIDs in full, lengths of non-INTEGER
 * scalars. INTEGER values and lengths and OCTET STRING contents are left out. */
static void asn1_shape(const unsigned char *p, long len, char *out, size_t cap)
{
    const unsigned char *end = p + len;
    while (p < end) {
        const unsigned char *start = p;
        long l = 0;
        int tag = 0, cls = 0;
        int r = ASN1_get_object(&p, &l, &tag, &cls, end - p);
        size_t n = strlen(out);
        if (r & 0x80) {
            snprintf(out + n, cap - n, "ERR");
            return;
        }
        if (r & V_ASN1_CONSTRUCTED) {
            snprintf(out + n, cap - n, "%d{", tag);
            asn1_shape(p, l, out, cap);
            n = strlen(out);
            snprintf(out + n, cap - n, "}");
        } else if (tag == V_ASN1_OBJECT) {
            char oid[80];
            ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &start, p + l - start);
            OBJ_obj2txt(oid, sizeof oid, o, 1);
            ASN1_OBJECT_free(o);
            snprintf(out + n, cap - n, "oid:%s,", oid);
        } else {
            snprintf(out + n, cap - n, "%d/%ld,", tag, tag == V_ASN1_INTEGER ? 0 : l);
        }
        p += l;
    }
}

static const ASN1_OCTET_STRING *sgx_ext(X509 *x)
{
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    int idx = X509_get_ext_by_OBJ(x, obj, -1);
    ASN1_OBJECT_free(obj);
    assert_true(idx >= 0);
    X509_EXTENSION *e = X509_get_ext(x, idx);
    assert_int_equal(X509_EXTENSION_get_critical(e), 0); /* non-critical, as Intel's */
    return X509_EXTENSION_get_data(e);
}

static void test_pck_extension_has_intels_shape(void **state)
{
    (void)state;
    char *base = tmpdir_new(), *pck = fmt("%s/pck.pem", base);
    char *vq = fmt("%s/vectors/attestation/dcap-qvl/sgx_quote.dat", shared_dir());
    cloak_platform *p = NULL;
    cloak_error e = {0};
    if (cloak_platform_open(base, &p, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    cloak_platform_free(p);
    size_t len = 0, vlen = 0;
    uint8_t *pem = slurp(pck, &len), *q = slurp(vq, &vlen);
    X509 *ours = first_cert((const char *)pem, len), *intel = quote_pck_leaf(q, vlen);
    const ASN1_OCTET_STRING *a = sgx_ext(ours), *b = sgx_ext(intel);
    static char sa[8192], sb[8192];
    sa[0] = sb[0] = 0;
    asn1_shape(ASN1_STRING_get0_data(a), ASN1_STRING_length(a), sa, sizeof sa);
    asn1_shape(ASN1_STRING_get0_data(b), ASN1_STRING_length(b), sb, sizeof sb);
    assert_null(strstr(sa, "ERR"));
    assert_string_equal(sa, sb);
    /* both have one component SVN >= 128 and a one-byte PCESVN: the same DER size */
    assert_int_equal(ASN1_STRING_length(a), ASN1_STRING_length(b));
    /* FMSPC .4 = 00c10f000000, PCE-ID .3 = 0000, SGX type .5 = ENUMERATED 0 */
    static const uint8_t fmspc[] = {0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d,
                                    0x01, 0x04, 0x04, 0x06, 0x00, 0xc1, 0x0f, 0x00, 0x00, 0x00};
    static const uint8_t pceid[] = {0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d,
                                    0x01, 0x0d, 0x01, 0x03, 0x04, 0x02, 0x00, 0x00};
    static const uint8_t type[] = {0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d,
                                   0x01, 0x0d, 0x01, 0x05, 0x0a, 0x01, 0x00};
    const uint8_t *d = ASN1_STRING_get0_data(a);
    size_t dl = (size_t)ASN1_STRING_length(a);
    assert_non_null(memmem(d, dl, fmspc, sizeof fmspc));
    assert_non_null(memmem(d, dl, pceid, sizeof pceid));
    assert_non_null(memmem(d, dl, type, sizeof type));
    X509_free(ours);
    X509_free(intel);
    free(pem);
    free(q);
    free(vq);
    free(pck);
    rm_rf(base);
}

/* ---- 2. the independent verifier ---- */

/* Run `node argv...` (argv[0] is ignored), capture stdout; returns the exit status, or 127
 * when node cannot be run. stderr passes through so a rejection reason shows in the log. */
static int run_node(const char *const *args, char **out)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp("node", (char *const *)args);
        fprintf(stderr, "%s (%s)\n", NODE_MISSING, strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 == cap) buf = realloc(buf, cap *= 2);
        assert_non_null(buf);
        ssize_t n = read(fd[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = 0;
    close(fd[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run the verifier; returns its exit status and (always) its parsed JSON output. */
static int verify_quote(const char *quote, const char *collateral, const char *root,
                        const char *when, json_t **result)
{
    char *script = fmt("%s/tests/tee/dcap_verify.mjs", source_dir()), *out = NULL;
    const char *args[] = {"node",
                          script,
                          "--quote",
                          quote,
                          "--collateral",
                          collateral,
                          "--root",
                          root,
                          when ? "--time" : NULL,
                          when,
                          NULL};
    int rc = run_node(args, &out);
    if (rc == 127) fail_msg(NODE_MISSING);
    json_error_t err;
    *result = json_loads(out, 0, &err);
    if (!*result) fail_msg("dcap_verify.mjs printed no JSON (exit %d): %s", rc, out);
    free(out);
    free(script);
    return rc;
}

static const char *jstr(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "";
}

static void test_node_is_installed(void **state)
{
    (void)state;
    const char *args[] = {"node", "--version", NULL};
    char *out = NULL;
    int rc = run_node(args, &out);
    if (rc != 0) fail_msg(NODE_MISSING);
    assert_true(out[0] == 'v');
    free(out);
}

/* A quote from cloak_platform_quote for a report with known fields. */
static char *make_quote(cloak_platform *p, const char *dir, int debug)
{
    cloak_sgx_report r;
    uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES], *q = NULL;
    size_t len = 0;
    cloak_error e = {0};
    memset(&r, 0, sizeof r);
    cloak_platform_cpusvn(p, r.cpusvn);
    memset(r.mrenclave, 0xa1, 32);
    memset(r.mrsigner, 0xb2, 32);
    for (int i = 0; i < 64; i++)
        r.reportdata[i] = (uint8_t)i;
    r.attr_flags =
        CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_MODE64BIT | (debug ? CLOAK_SGX_FLAG_DEBUG : 0);
    r.attr_xfrm = 3;
    r.isvprodid = 7;
    r.isvsvn = 2;
    cloak_sgx_report_encode(&r, body);
    if (cloak_platform_quote(p, body, &q, &len, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    char *path = fmt("%s/quote-%s.dat", dir, debug ? "debug" : "release");
    put(path, q, len);
    free(q);
    return path;
}

static void test_simulated_quote_passes_independent_verifier(void **state)
{
    (void)state;
    char *base = tmpdir_new(), *pdir = fmt("%s/platform", base);
    cloak_platform *p = NULL;
    cloak_error e = {0};
    if (cloak_platform_open(pdir, &p, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    char *root = fmt("%s/root.pem", pdir);
    for (int debug = 0; debug <= 1; debug++) {
        char *quote = make_quote(p, base, debug);
        json_t *j = NULL;
        /* default --time: now, so the fresh collateral and certificates must be valid now */
        int rc = verify_quote(quote, cloak_platform_collateral_dir(p), root, NULL, &j);
        if (rc != 0) fail_msg("simulated quote rejected: %s", jstr(j, "reason"));
        assert_string_equal(jstr(j, "mrenclave"),
                            "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1");
        assert_string_equal(jstr(j, "mrsigner"),
                            "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2");
        assert_string_equal(jstr(j, "reportdata"),
                            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                            "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f");
        assert_true(json_is_boolean(json_object_get(j, "debug")));
        assert_int_equal(json_is_true(json_object_get(j, "debug")), debug);
        assert_int_equal(json_integer_value(json_object_get(j, "isvprodid")), 7);
        assert_int_equal(json_integer_value(json_object_get(j, "isvsvn")), 2);
        assert_string_equal(jstr(j, "fmspc"), "00c10f000000");
        assert_string_equal(jstr(j, "pceid"), "0000");
        assert_string_equal(jstr(j, "tcbStatus"), "UpToDate");
        assert_string_equal(jstr(j, "qeTcbStatus"), "UpToDate");
        json_decref(j);
        free(quote);
    }
    free(root);
    free(pdir);
    cloak_platform_free(p);
    rm_rf(base);
}

/* Flip one bit of `quote` at `off`, run the verifier, expect exit 1 with `why` in the reason. */
static void expect_rejected(const char *quote, size_t off, const char *collateral, const char *root,
                            const char *when, const char *why)
{
    size_t len = 0;
    uint8_t *q = slurp(quote, &len);
    assert_true(off < len);
    q[off] ^= 0x01;
    char *bad = fmt("%s.flipped", quote);
    put(bad, q, len);
    json_t *j = NULL;
    int rc = verify_quote(bad, collateral, root, when, &j);
    if (rc != 1) fail_msg("bit flip at offset %zu was not rejected (exit %d)", off, rc);
    if (!strstr(jstr(j, "reason"), why))
        fail_msg("bit flip at %zu: reason \"%s\" does not mention \"%s\"", off, jstr(j, "reason"),
                 why);
    json_decref(j);
    unlink(bad);
    free(bad);
    free(q);
}

static void test_simulated_quote_bit_flips_rejected(void **state)
{
    (void)state;
    char *base = tmpdir_new(), *pdir = fmt("%s/platform", base);
    cloak_platform *p = NULL;
    if (cloak_platform_open(pdir, &p, NULL) != CLOAK_OK) fail_msg("open failed");
    char *root = fmt("%s/root.pem", pdir), *quote = make_quote(p, base, 0);
    const char *cdir = cloak_platform_collateral_dir(p);
    expect_rejected(quote, 48 + 64, cdir, root, NULL, "quote signature");  /* MRENCLAVE */
    expect_rejected(quote, 48 + 48, cdir, root, NULL, "quote signature");  /* DEBUG bit */
    expect_rejected(quote, 48 + 320, cdir, root, NULL, "quote signature"); /* REPORTDATA */
    expect_rejected(quote, 10, cdir, root, NULL, "quote signature");       /* PCE SVN */
    expect_rejected(quote, 436 + 64, cdir, root, NULL, "attestation key"); /* its key */
    expect_rejected(quote, 436 + 128 + 128, cdir, root, NULL, "QE report signature");
    expect_rejected(quote, 436 + 512, cdir, root, NULL, "QE report signature");
    expect_rejected(quote, 436 + 578, cdir, root, NULL, "SHA-256(attestation key"); /* auth data */
    /* another platform's root is not this chain's root */
    char *other = fmt("%s/vectors/attestation/dcap-qvl/intel_sgx_root_ca.der", shared_dir());
    json_t *j = NULL;
    assert_int_equal(verify_quote(quote, cdir, other, NULL, &j), 1);
    assert_non_null(strstr(jstr(j, "reason"), "pinned root"));
    json_decref(j);
    free(other);
    free(quote);
    free(root);
    free(pdir);
    cloak_platform_free(p);
    rm_rf(base);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name, int flip_at)
{
    char *a = fmt("%s/%s", from_dir, name), *b = fmt("%s/%s", to_dir, name);
    size_t len = 0;
    uint8_t *d = slurp(a, &len);
    if (flip_at >= 0) d[flip_at] ^= 0x01;
    put(b, d, len);
    free(d);
    free(a);
    free(b);
}

static void test_simulated_collateral_tampering_rejected(void **state)
{
    (void)state;
    static const char *files[] = {
        "tcb_info_body.json", "tcb_info.sig", "qe_identity_body.json", "qe_identity.sig",
        "root_ca_crl.der",    "pck_crl.der",  "tcb_signing_chain.pem", "pck_crl_issuer_chain.pem"};
    static const struct {
        const char *file;
        int off;
        const char *why;
    } cases[] = {
        {"tcb_info.sig", 5, "tcb_info.sig does not verify"},
        {"tcb_info_body.json", 60, "tcb_info.sig does not verify"},
        {"qe_identity.sig", 40, "qe_identity.sig does not verify"},
        {"qe_identity_body.json", 200, "qe_identity.sig does not verify"},
        {"pck_crl.der", 60, "pck_crl.der"},
    };
    char *base = tmpdir_new(), *pdir = fmt("%s/platform", base), *bad = fmt("%s/bad", base);
    cloak_platform *p = NULL;
    if (cloak_platform_open(pdir, &p, NULL) != CLOAK_OK) fail_msg("open failed");
    char *root = fmt("%s/root.pem", pdir), *quote = make_quote(p, base, 0);
    assert_int_equal(mkdir(bad, 0700), 0);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        for (size_t i = 0; i < sizeof files / sizeof *files; i++)
            copy_file(cloak_platform_collateral_dir(p), bad, files[i],
                      strcmp(files[i], cases[c].file) == 0 ? cases[c].off : -1);
        json_t *j = NULL;
        assert_int_equal(verify_quote(quote, bad, root, NULL, &j), 1);
        if (!strstr(jstr(j, "reason"), cases[c].why))
            fail_msg("%s tampered: reason \"%s\"", cases[c].file, jstr(j, "reason"));
        json_decref(j);
    }
    free(quote);
    free(root);
    free(bad);
    free(pdir);
    cloak_platform_free(p);
    rm_rf(base);
}

static void hex(char *dst, const uint8_t *p, size_t n)
{
    cloak_hex_write(dst, p, n);
}

/* The checker checked: Intel's real quote and collateral pass, with dcap-qvl's status. */
static void test_vendor_quote_passes_same_verifier(void **state)
{
    (void)state;
    char *v = fmt("%s/vectors/attestation/dcap-qvl", shared_dir());
    char *quote = fmt("%s/sgx_quote.dat", v), *coll = fmt("%s/sgx_quote_collateral", v);
    char *root = fmt("%s/intel_sgx_root_ca.der", v);
    size_t len = 0;
    uint8_t *q = slurp(quote, &len);
    char mrenclave[65], reportdata[129];
    hex(mrenclave, q + 48 + 64, 32);
    hex(reportdata, q + 48 + 320, 64);
    json_t *j = NULL;
    int rc = verify_quote(quote, coll, root, VENDOR_TIME, &j);
    if (rc != 0) fail_msg("Intel's sample quote rejected: %s", jstr(j, "reason"));
    assert_string_equal(jstr(j, "mrenclave"), mrenclave);
    assert_string_equal(jstr(j, "reportdata"), reportdata);
    assert_false(json_is_true(json_object_get(j, "debug")));
    assert_string_equal(jstr(j, "fmspc"), "00a067110000");
    assert_string_equal(jstr(j, "tcbStatus"), "ConfigurationAndSWHardeningNeeded");
    json_t *adv = json_object_get(j, "advisoryIDs");
    assert_int_equal(json_array_size(adv), 2);
    assert_string_equal(json_string_value(json_array_get(adv, 0)), "INTEL-SA-00289");
    assert_string_equal(json_string_value(json_array_get(adv, 1)), "INTEL-SA-00615");
    json_decref(j);
    /* time is a real input: the same evidence after its collateral expired is rejected */
    assert_int_equal(verify_quote(quote, coll, root, "2026-01-01T00:00:00Z", &j), 1);
    assert_non_null(strstr(jstr(j, "reason"), "not valid at"));
    json_decref(j);
    free(q);
    free(quote);
    free(coll);
    free(root);
    free(v);
}

static void test_vendor_quote_bit_flips_rejected(void **state)
{
    (void)state;
    char *v = fmt("%s/vectors/attestation/dcap-qvl", shared_dir());
    char *src = fmt("%s/sgx_quote.dat", v), *coll = fmt("%s/sgx_quote_collateral", v);
    char *root = fmt("%s/intel_sgx_root_ca.der", v);
    char *base = tmpdir_new(), *quote = fmt("%s/vendor.dat", base);
    size_t len = 0;
    uint8_t *q = slurp(src, &len);
    put(quote, q, len);
    expect_rejected(quote, 48 + 320, coll, root, VENDOR_TIME, "quote signature");
    expect_rejected(quote, 48 + 64, coll, root, VENDOR_TIME, "quote signature");
    expect_rejected(quote, 436 + 128 + 64, coll, root, VENDOR_TIME, "QE report signature");
    free(q);
    free(quote);
    rm_rf(base);
    free(src);
    free(coll);
    free(root);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pck_extension_has_intels_shape),
        cmocka_unit_test(test_node_is_installed),
        cmocka_unit_test(test_vendor_quote_passes_same_verifier),
        cmocka_unit_test(test_vendor_quote_bit_flips_rejected),
        cmocka_unit_test(test_simulated_quote_passes_independent_verifier),
        cmocka_unit_test(test_simulated_quote_bit_flips_rejected),
        cmocka_unit_test(test_simulated_collateral_tampering_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
