/* The vault fixture: real HTTPS, real enclave, a real attestation service issuing tokens for
 * simulated quotes (the quote's fields are set here, so expectations are independent of the
 * vault). */
#include "vault_testlib.h"

#include "evidence/dcap_testlib.h"
#include "vault/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

vfix F;

void vfix_setup_attest(void)
{
    cloak_error e = {0};
    F.plat_dir = dcap_tmpdir();
    F.attest_dir = dcap_tmpdir();
    if (cloak_platform_open(F.plat_dir, &F.plat, &e)) fail_msg("platform: %s", e.msg);
    cloak_attest_service_config ac = {
        .data_dir = F.attest_dir, .platform_dir = F.plat_dir, .allow_sim = 1};
    if (cloak_attest_service_new(&ac, &F.as, &e) || cloak_attest_service_start(F.as, &e))
        fail_msg("attest service: %s", e.msg);
    snprintf(F.attest_url, sizeof F.attest_url, "%s", cloak_attest_service_issuer(F.as));
}

void vfix_start_vault(cloak_vault_service_config *cfg, int keep_data)
{
    cloak_error e = {0};
    cloak_vault_service_config c = {0};
    if (cfg) c = *cfg;
    if (!keep_data || !F.vault_dir) {
        if (F.vault_dir) dcap_rm_rf(F.vault_dir);
        F.vault_dir = dcap_tmpdir();
    }
    static const char *trust[2];
    trust[0] = F.attest_url;
    if (!c.data_dir) c.data_dir = F.vault_dir;
    if (!c.platform_dir) c.platform_dir = F.plat_dir;
    if (!c.trust_issuers) c.trust_issuers = trust;
    if (!c.ca_file) c.ca_file = cloak_attest_service_ca(F.as);
    if (cloak_vault_service_new(&c, &F.vs, &e)) fail_msg("vault: %s", e.msg);
    if (cloak_vault_service_start(F.vs, &e)) fail_msg("vault start: %s", e.msg);
    snprintf(F.url, sizeof F.url, "%s", cloak_vault_service_url(F.vs));
    snprintf(F.ca, sizeof F.ca, "%s", cloak_vault_service_ca(F.vs));
    free(F.admin);
    F.admin = vtoken("administrator", "test-admin");
}

void vfix_stop_vault(void)
{
    cloak_vault_service_stop(F.vs);
    cloak_vault_service_free(F.vs);
    F.vs = NULL;
}

void vfix_teardown(void)
{
    if (F.vs) vfix_stop_vault();
    cloak_attest_service_stop(F.as);
    cloak_attest_service_free(F.as);
    cloak_platform_free(F.plat);
    if (F.vault_dir) dcap_rm_rf(F.vault_dir);
    dcap_rm_rf(F.attest_dir);
    dcap_rm_rf(F.plat_dir);
    free(F.admin);
    memset(&F, 0, sizeof F);
}

char *vtoken(const char *role, const char *subject)
{
    char *t = NULL;
    cloak_error e = {0};
    if (cloak_vault_token_issue_at(F.vault_dir, role, subject, time(NULL) - 2 * 3600, 24 * 3600, &t,
                                   &e))
        fail_msg("token: %s", e.msg);
    return t;
}

long vcall(const char *token, const char *method, const char *path, const char *body, json_t **json,
           char *www_auth, size_t www_len)
{
    char url[1024], auth[4096], rid[64];
    cloak_http_response r = {0};
    cloak_error e = {0};
    if (!strncmp(path, "https://", 8))
        snprintf(url, sizeof url, "%s", path);
    else
        snprintf(url, sizeof url, "%s%s", F.url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token ? token : "");
    const char *hdrs[] = {"Content-Type: application/json", token ? auth : NULL, NULL};
    if (cloak_http_fetch(method, url, F.ca, hdrs, (const uint8_t *)body, body ? strlen(body) : 0,
                         &r, &e))
        fail_msg("%s %s: %s", method, path, e.msg);
    if (!cloak_http_response_header(&r, "x-ms-request-id", rid, sizeof rid))
        fail_msg("%s %s: no x-ms-request-id", method, path);
    if (www_auth && !cloak_http_response_header(&r, "WWW-Authenticate", www_auth, www_len))
        www_auth[0] = 0;
    if (json) *json = r.body.len ? json_loadb((const char *)r.body.p, r.body.len, 0, NULL) : NULL;
    long st = r.status;
    cloak_http_response_free(&r);
    return st;
}

long vcallj(const char *method, const char *path, json_t *body, json_t **out)
{
    char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    long st = vcall(F.admin, method, path, b, out, NULL, 0);
    free(b);
    return st;
}

const char *verr_code(const json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

const char *verr_inner(const json_t *j)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(j, "error"), "innererror"), "code"));
}

const char *verr_msg(const json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

void vexpect(long st, json_t **jp, long want_st, const char *want_code, const char *want_inner)
{
    json_t *j = *jp;
    if (st != want_st || (want_code && (!verr_code(j) || strcmp(verr_code(j), want_code))) ||
        (want_inner && (!verr_inner(j) || strcmp(verr_inner(j), want_inner)))) {
        char *d = j ? json_dumps(j, 0) : NULL;
        fail_msg("expected %ld %s/%s, got %ld: %s", want_st, want_code ? want_code : "-",
                 want_inner ? want_inner : "-", st, d ? d : "(no body)");
    }
    if (want_st >= 400) assert_non_null(verr_msg(j));
    json_decref(j);
    *jp = NULL;
}

/* base64url with OpenSSL's encoder (not cloak's) */
char *tb64url(const uint8_t *p, size_t n)
{
    char *out = malloc(n * 2 + 8);
    int m = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (m > 0 && out[m - 1] == '=')
        m--;
    out[m] = 0;
    for (int i = 0; i < m; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

uint8_t *tb64url_dec(const char *s, size_t *n)
{
    size_t l = strlen(s);
    char *t = malloc(l + 4);
    memcpy(t, s, l);
    while (l % 4)
        t[l++] = '=';
    for (size_t i = 0; i < l; i++)
        t[i] = t[i] == '-' ? '+' : t[i] == '_' ? '/' : t[i];
    uint8_t *out = malloc(l);
    int m = EVP_DecodeBlock(out, (unsigned char *)t, (int)l);
    assert_true(m >= 0);
    size_t pad = 0;
    while (l && t[l - 1] == '=')
        pad++, l--;
    free(t);
    *n = (size_t)m - pad;
    return out;
}

EVP_PKEY *bundle_pub(const json_t *bundle)
{
    EVP_PKEY *k = NULL;
    cloak_error e = {0};
    if (cloak_jwk_import_public(json_object_get(bundle, "key"), &k, &e))
        fail_msg("bundle key: %s", e.msg);
    return k;
}

char *attest_token(const char *runtime_json, int debug, uint8_t mrsigner_byte, uint16_t svn)
{
    cloak_sgx_report r;
    uint8_t body[CLOAK_SGX_REPORT_BODY_BYTES], *q = NULL;
    size_t qlen = 0;
    cloak_error e = {0};
    memset(&r, 0, sizeof r);
    cloak_platform_cpusvn(F.plat, r.cpusvn);
    r.attr_flags =
        CLOAK_SGX_FLAG_INIT | CLOAK_SGX_FLAG_MODE64BIT | (debug ? CLOAK_SGX_FLAG_DEBUG : 0);
    r.attr_xfrm = 0x3;
    memset(r.mrenclave, 0xe1, sizeof r.mrenclave);
    memset(r.mrsigner, mrsigner_byte, sizeof r.mrsigner);
    r.isvprodid = 2;
    r.isvsvn = svn;
    SHA256((const uint8_t *)runtime_json, strlen(runtime_json), r.reportdata);
    cloak_sgx_report_encode(&r, body);
    if (cloak_platform_quote(F.plat, body, &q, &qlen, &e)) fail_msg("quote: %s", e.msg);
    char *bq = tb64url(q, qlen), *br = tb64url((const uint8_t *)runtime_json, strlen(runtime_json));
    char *req = NULL, url[256];
    assert_true(
        asprintf(&req, "{\"quote\":\"%s\",\"runtimeData\":{\"data\":\"%s\",\"dataType\":\"JSON\"}}",
                 bq, br) > 0);
    snprintf(url, sizeof url, "%s/attest/SgxEnclave?api-version=2022-08-01", F.attest_url);
    cloak_http_response resp = {0};
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    if (cloak_http_fetch("POST", url, cloak_attest_service_ca(F.as), hdrs, (const uint8_t *)req,
                         strlen(req), &resp, &e))
        fail_msg("attest: %s", e.msg);
    json_t *j = json_loadb((const char *)resp.body.p, resp.body.len, 0, NULL);
    const char *tok = json_string_value(json_object_get(j, "token"));
    if (resp.status != 200 || !tok)
        fail_msg("attest: HTTP %ld %.*s", resp.status, (int)resp.body.len,
                 (const char *)resp.body.p);
    char *out = strdup(tok);
    json_decref(j);
    cloak_http_response_free(&resp);
    free(req);
    free(bq);
    free(br);
    free(q);
    return out;
}

uint8_t *vopen_release(const char *jws, EVP_PKEY *kek, const char *enc, size_t *len,
                       json_t **payload_out, json_t **key_hsm_out)
{
    cloak_error e = {0};
    json_t *hdr = NULL;
    if (cloak_jws_peek_header(jws, strlen(jws), &hdr, &e)) fail_msg("%s", e.msg);
    const char *x5c = json_string_value(json_array_get(json_object_get(hdr, "x5c"), 0));
    assert_non_null(x5c);
    uint8_t *der = malloc(strlen(x5c));
    int cl = EVP_DecodeBlock(der, (const unsigned char *)x5c, (int)strlen(x5c));
    assert_true(cl > 0);
    const uint8_t *p = der;
    X509 *cert = d2i_X509(NULL, &p, cl);
    assert_non_null(cert);
    cloak_jws v = {0};
    if (cloak_jws_verify(jws, strlen(jws), X509_get0_pubkey(cert), CLOAK_JWS_ALLOW(CLOAK_JWS_RS256),
                         &v, &e))
        fail_msg("release JWS: %s", e.msg);
    json_t *payload = json_loadb((const char *)v.payload, v.payload_len, 0, NULL);
    assert_non_null(payload);
    const char *kh = json_string_value(json_object_get(
        json_object_get(json_object_get(json_object_get(payload, "response"), "key"), "key"),
        "key_hsm"));
    assert_non_null(kh);
    size_t khl, ctl;
    uint8_t *khj = tb64url_dec(kh, &khl);
    json_t *k = json_loadb((const char *)khj, khl, 0, NULL);
    assert_non_null(k);
    uint8_t *ct = tb64url_dec(json_string_value(json_object_get(k, "ciphertext")), &ctl);
    assert_true(ctl > 256);
    /* RSA-OAEP of the AES key, with the hash `enc` names (SHA-1 for CKM_RSA_AES_KEY_WRAP) */
    const EVP_MD *md = enc && !strcmp(enc, "RSA_AES_KEY_WRAP_256")   ? EVP_sha256()
                       : enc && !strcmp(enc, "RSA_AES_KEY_WRAP_384") ? EVP_sha384()
                                                                     : EVP_sha1();
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(kek, NULL);
    uint8_t aes[512];
    size_t al = sizeof aes;
    assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, md), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, md), 1);
    assert_int_equal(EVP_PKEY_decrypt(c, aes, &al, ct, 256), 1);
    EVP_PKEY_CTX_free(c);
    assert_int_equal(al, 32);
    /* then RFC 5649 of the key */
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX_set_flags(x, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    uint8_t *out = malloc(ctl);
    int ol = 0, fl = 0;
    assert_int_equal(EVP_DecryptInit_ex(x, EVP_aes_256_wrap_pad(), NULL, aes, NULL), 1);
    assert_int_equal(EVP_DecryptUpdate(x, out, &ol, ct + 256, (int)(ctl - 256)), 1);
    assert_int_equal(EVP_DecryptFinal_ex(x, out + ol, &fl), 1);
    EVP_CIPHER_CTX_free(x);
    OPENSSL_cleanse(aes, sizeof aes);
    *len = (size_t)(ol + fl);
    free(ct);
    free(khj);
    if (key_hsm_out)
        *key_hsm_out = k;
    else
        json_decref(k);
    if (payload_out)
        *payload_out = payload;
    else
        json_decref(payload);
    cloak_jws_clear(&v);
    X509_free(cert);
    free(der);
    json_decref(hdr);
    return out;
}
