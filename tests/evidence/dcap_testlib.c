/* The real DCAP quotes and what MANIFEST.md says about them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cloak/base.h"
#include "dcap_testlib.h"

/* quote_len: MANIFEST.md quirk 1; for tdx-v4-gcp.json (8000 bytes decoded) and tdx-v4-tappd.hex
 * (5006 bytes decoded), which the manifest does not list, the lengths were read with a separate
 * Python script while writing this test. */
const dcap_vec dcap_vecs[] = {
    {"dcap-qvl/sgx_quote.dat", T_DCAPQVL_SGX, 0, 3, "00a067110000", 4600},
    {"dcap-qvl/tdx_quote.dat", T_DCAPQVL_TDX, 1, 4, "b0c06f000000", 4936},
    {"dcap-qvl/tdx_quote_outdated.dat", T_DCAPQVL_OUTDATED, 1, 5, "90c06f000000", 0},
    {"go-tdx-guest/tdx_prod_quote_SPR_E4.dat", T_GO_TDX_SPR, 1, 4, "50806f000000", 4935},
    {"go-tdx-guest/quote_v5_sample.dat", T_GO_TDX_V5, 1, 5, "90c06f000000", 0},
    {"go-tdx-guest/cos-113-tdx-quote.dat", T_TEEKIT, 1, 4, NULL, 4935},
    {"trustee/sgx_occlum_quote_v3.dat", T_TEEKIT, 0, 3, NULL, 4733},
    {"trustee/tdx_quote_4.dat", T_TEEKIT, 1, 4, "50806f000000", 4936},
    {"trustee/tdx_quote_5.dat", T_TEEKIT, 1, 5, "90c06f000000", 0},
    {"trustee/tdx_quote_6.dat", T_TEEKIT, 1, 4, NULL, 4936},
    {"trustee/az_tdx_td_quote.dat", T_TEEKIT, 1, 4, NULL, 4936},
    {"teekit/sgx-occlum.dat", T_TEEKIT, 0, 3, "30606a000000", 0},
    {"teekit/sgx-chinenyeokafor.dat", T_TEEKIT, 0, 3, "90c06f000000", 0},
    {"teekit/sgx-tlsn-quote9.dat", T_TEEKIT, 0, 3, "00906ed50000", 0},
    {"teekit/sgx-tlsn-quotedev.dat", T_TEEKIT, 0, 3, "00906ed50000", 0},
    {"teekit/tdx-v4-azure", T_TEEKIT, 1, 4, "00806f050000", 4940},
    {"teekit/tdx-v4-edgeless.dat", T_TEEKIT, 1, 4, "00806f050000", 0},
    {"teekit/tdx-v4-gcp.json", T_TEEKIT, 1, 4, "00806f050000", 4935},
    {"teekit/tdx-v4-moemahhouk.dat", T_TEEKIT, 1, 4, "90c06f000000", 4936},
    {"teekit/tdx-v4-tappd.hex", T_TEEKIT, 1, 4, "b0c06f000000", 4936},
    {"teekit/tdx-v4-zkdcap.dat", T_TEEKIT, 1, 4, "00806f050000", 4935},
};
const size_t dcap_nvecs = sizeof dcap_vecs / sizeof dcap_vecs[0];

char *dcap_vec_path(const char *rel)
{
    char *s = NULL;
    const char *shared = getenv("CLOAK_SHARED_DIR");
    int n = shared && *shared ? asprintf(&s, "%s/vectors/attestation/%s", shared, rel)
                              : asprintf(&s, "%s/%s", CLOAK_VECTORS, rel);
    assert_true(n > 0);
    return s;
}

uint8_t *dcap_read_file(const char *path, size_t *len)
{
    uint8_t *p = NULL;
    cloak_error e = {0};
    if (cloak_file_read(path, &p, len, &e) != CLOAK_OK) fail_msg("%s", e.msg);
    return p;
}

/* Base64 with whitespace ignored, decoded by OpenSSL (a path independent of cloak). */
static uint8_t *b64_decode(const char *s, size_t n, size_t *out_len)
{
    char *clean = malloc(n + 1);
    size_t m = 0, pad = 0;
    assert_non_null(clean);
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) clean[m++] = s[i];
    clean[m] = 0;
    assert_true(m % 4 == 0 && m > 0);
    if (clean[m - 1] == '=') pad++;
    if (clean[m - 2] == '=') pad++;
    uint8_t *out = malloc(m / 4 * 3 + 1);
    assert_non_null(out);
    int got = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)m);
    assert_true(got > 0);
    free(clean);
    *out_len = (size_t)got - pad;
    return out;
}

uint8_t *dcap_vec_load(const char *rel, size_t *len)
{
    char *path = dcap_vec_path(rel);
    size_t n;
    uint8_t *raw = dcap_read_file(path, &n), *out;
    size_t rl = strlen(rel);
    free(path);
    if (rl > 4 && !strcmp(rel + rl - 4, ".hex")) {
        char *s = strndup((const char *)raw, n);
        cloak_error e = {0};
        while (n && isspace((unsigned char)s[n - 1]))
            s[--n] = 0;
        if (cloak_hex_decode(s, &out, len, &e) != CLOAK_OK) fail_msg("%s: %s", rel, e.msg);
        free(s);
    } else if (rl > 5 && !strcmp(rel + rl - 5, ".json")) {
        json_error_t je;
        json_t *j = json_loadb((const char *)raw, n, 0, &je);
        const char *b64 = json_string_value(json_object_get(json_object_get(j, "tdx"), "quote"));
        assert_non_null(b64);
        out = b64_decode(b64, strlen(b64), len);
        json_decref(j);
    } else if (strstr(rel, "tdx-v4-azure")) {
        out = b64_decode((const char *)raw, n, len);
    } else {
        *len = n;
        return raw;
    }
    free(raw);
    return out;
}

char *dcap_tmpdir(void)
{
    char t[] = "/tmp/cloak-dcap-test-XXXXXX";
    assert_non_null(mkdtemp(t));
    return strdup(t);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void dcap_rm_rf(char *path)
{
    if (path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

uint8_t *dcap_sim_quote(const cloak_platform *p, const uint8_t mrenclave[32], uint64_t attr_flags,
                        const uint8_t report_data[64], size_t *len)
{
    cloak_sgx_report r;
    uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES], *q = NULL;
    cloak_error e = {0};
    memset(&r, 0, sizeof r);
    cloak_platform_cpusvn(p, r.cpusvn);
    r.attr_flags = attr_flags;
    r.attr_xfrm = 0x3;
    memcpy(r.mrenclave, mrenclave, 32);
    memset(r.mrsigner, 0x5a, sizeof r.mrsigner);
    r.isvprodid = 7;
    r.isvsvn = 3;
    memcpy(r.reportdata, report_data, 64);
    cloak_sgx_report_encode(&r, body);
    if (cloak_platform_quote(p, body, &q, len, &e) != CLOAK_OK) fail_msg("quote: %s", e.msg);
    return q;
}
