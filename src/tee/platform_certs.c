/* The simulation platform's certificate authority: EC P-256 keys, the development root, the
 * PCK Platform CA, the PCK leaf with Intel's SGX extension, the TCB signing certificate and
 * the CRLs. Mirrors the shape of Intel's PCS certificates (see the PCK certificate carried in
 * shared/vectors/attestation/dcap-qvl/sgx_quote.dat) so the same verifier code accepts both. */
#include "tee/platform_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

char *cloak_plat_path(const char *dir, const char *name)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s", dir, name) < 0) return NULL;
    return s;
}

int cloak_plat_is_p256(EVP_PKEY *key)
{
    char group[64];
    size_t n = 0;
    if (!key || !EVP_PKEY_is_a(key, "EC")) return 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &n) != 1) return 0;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

cloak_err cloak_plat_read_cert(const char *dir, const char *name, X509 **out, cloak_error *why)
{
    cloak_err rc = CLOAK_ENOMEM;
    char *path = cloak_plat_path(dir, name);
    uint8_t *pem = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    X509 *x = NULL;
    if (!path) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    rc = cloak_file_read(path, &pem, &len, why);
    if (rc != CLOAK_OK) goto out;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio) x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (!x) {
        rc = cloak_error_openssl(why, CLOAK_EINVAL, "platform file is not a PEM certificate");
        cloak_error_wrap(why, "%s (delete the platform directory to recreate it)", path);
        goto out;
    }
    *out = x;
    x = NULL;
    rc = CLOAK_OK;
out:
    BIO_free(bio);
    free(pem);
    free(path);
    return rc;
}

cloak_err cloak_plat_read_key(const char *dir, const char *name, EVP_PKEY **out, cloak_error *why)
{
    cloak_err rc = CLOAK_ENOMEM;
    char *path = cloak_plat_path(dir, name);
    uint8_t *pem = NULL;
    size_t len = 0;
    BIO *bio = NULL;
    EVP_PKEY *k = NULL;
    if (!path) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    rc = cloak_file_read(path, &pem, &len, why);
    if (rc != CLOAK_OK) goto out;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio) k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (!k || !cloak_plat_is_p256(k)) {
        rc = cloak_error_openssl(why, CLOAK_EINVAL, "platform file is not an EC P-256 private key");
        cloak_error_wrap(why, "%s (delete the platform directory to recreate it)", path);
        goto out;
    }
    *out = k;
    k = NULL;
    rc = CLOAK_OK;
out:
    EVP_PKEY_free(k);
    BIO_free(bio);
    if (pem) cloak_free_secret(pem, len);
    free(path);
    return rc;
}

char *cloak_plat_cert_pem(X509 *x)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL, *data = NULL;
    long n;
    if (!bio || PEM_write_bio_X509(bio, x) != 1) goto out;
    n = BIO_get_mem_data(bio, &data);
    if (n <= 0) goto out;
    s = malloc((size_t)n + 1);
    if (!s) goto out;
    memcpy(s, data, (size_t)n);
    s[n] = 0;
out:
    BIO_free(bio);
    return s;
}

static cloak_err write_cert(const char *dir, const char *name, X509 *x, cloak_error *why)
{
    cloak_err rc;
    char *path = cloak_plat_path(dir, name), *pem = cloak_plat_cert_pem(x);
    if (!path || !pem)
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory writing certificate %s", name);
    else
        rc = cloak_file_write(path, (const uint8_t *)pem, strlen(pem), PLAT_FILE_MODE_PUBLIC, why);
    free(pem);
    free(path);
    return rc;
}

static cloak_err write_key(const char *dir, const char *name, EVP_PKEY *k, cloak_error *why)
{
    cloak_err rc;
    char *path = cloak_plat_path(dir, name), *data = NULL;
    /* secmem BIO: its buffer is cleared when freed, so no key copy stays in the heap */
    BIO *bio = BIO_new(BIO_s_secmem());
    long n = 0;
    if (!path || !bio) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory writing key %s", name);
        goto out;
    }
    if (PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1 ||
        (n = BIO_get_mem_data(bio, &data)) <= 0) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "cannot encode a platform private key");
        goto out;
    }
    rc = cloak_file_write(path, (const uint8_t *)data, (size_t)n, PLAT_FILE_MODE_SECRET, why);
out:
    BIO_free(bio);
    free(path);
    return rc;
}

/* ---- A minimal DER writer for the SGX extension (X.690; lengths < 64 KiB). ---- */

static void der_len(cloak_buf *b, size_t n)
{
    if (n < 0x80) {
        cloak_buf_u8(b, (uint8_t)n);
    } else if (n <= 0xff) {
        cloak_buf_u8(b, 0x81);
        cloak_buf_u8(b, (uint8_t)n);
    } else {
        cloak_buf_u8(b, 0x82);
        cloak_buf_u8(b, (uint8_t)(n >> 8));
        cloak_buf_u8(b, (uint8_t)n);
    }
}

static void der_tlv(cloak_buf *b, uint8_t tag, const uint8_t *p, size_t n)
{
    cloak_buf_u8(b, tag);
    der_len(b, n);
    cloak_buf_put(b, p, n);
}

/* INTEGER (tag 0x02) or ENUMERATED (0x0a): minimal two's complement of a non-negative value. */
static void der_uint(cloak_buf *b, uint8_t tag, unsigned v)
{
    uint8_t t[5];
    size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8)
        if (n || ((v >> shift) & 0xff) || shift == 0) t[1 + n++] = (uint8_t)(v >> shift);
    t[0] = 0;
    int pad = (t[1] & 0x80) != 0; /* keep it positive */
    der_tlv(b, tag, pad ? t : t + 1, n + (size_t)pad);
}

/* Intel SGX extension arc 1.2.840.113741.1.13.1 */
static const uint8_t sgx_oid_prefix[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

/* SEQUENCE { OID 1.2.840.113741.1.13.1.<arcs>, value } appended to out; value is DER. */
static void sgx_pair(cloak_buf *out, const uint8_t *arcs, size_t narcs, const cloak_buf *value)
{
    cloak_buf seq = {0};
    uint8_t oid[sizeof sgx_oid_prefix + 4];
    memcpy(oid, sgx_oid_prefix, sizeof sgx_oid_prefix);
    memcpy(oid + sizeof sgx_oid_prefix, arcs, narcs); /* every arc here is < 128: one byte */
    der_tlv(&seq, 0x06, oid, sizeof sgx_oid_prefix + narcs);
    cloak_buf_put(&seq, value->p, value->len);
    if (value->failed) seq.failed = 1;
    der_tlv(out, 0x30, seq.p, seq.len);
    if (seq.failed) out->failed = 1;
    cloak_buf_free(&seq);
}

static void sgx_pair_octets(cloak_buf *out, const uint8_t *arcs, size_t narcs, const uint8_t *p,
                            size_t n)
{
    cloak_buf v = {0};
    der_tlv(&v, 0x04, p, n);
    sgx_pair(out, arcs, narcs, &v);
    cloak_buf_free(&v);
}

static void sgx_pair_uint(cloak_buf *out, const uint8_t *arcs, size_t narcs, uint8_t tag,
                          unsigned val)
{
    cloak_buf v = {0};
    der_uint(&v, tag, val);
    sgx_pair(out, arcs, narcs, &v);
    cloak_buf_free(&v);
}

/* The extension value exactly as Intel PCK certificates carry it (attestation.md §2 step 4):
 * SEQUENCE { PPID, TCB { comp svn 1..16, PCESVN, CPUSVN }, PCE-ID, FMSPC, SGX type }. */
static cloak_err build_sgx_extension(const cloak_plat_tcb *t, cloak_buf *out, cloak_error *why)
{
    cloak_buf items = {0}, tcb = {0}, tcbseq = {0};
    cloak_err rc = CLOAK_OK;
    static const uint8_t a_ppid[] = {1}, a_tcb[] = {2}, a_pceid[] = {3}, a_fmspc[] = {4},
                         a_type[] = {5};
    sgx_pair_octets(&items, a_ppid, 1, t->ppid, sizeof t->ppid);
    for (uint8_t i = 0; i < 16; i++) {
        const uint8_t arcs[2] = {2, (uint8_t)(i + 1)};
        sgx_pair_uint(&tcb, arcs, 2, 0x02, t->comp_svn[i]);
    }
    {
        const uint8_t a_pcesvn[2] = {2, 17}, a_cpusvn[2] = {2, 18};
        sgx_pair_uint(&tcb, a_pcesvn, 2, 0x02, t->pcesvn);
        sgx_pair_octets(&tcb, a_cpusvn, 2, t->cpusvn, sizeof t->cpusvn);
    }
    der_tlv(&tcbseq, 0x30, tcb.p, tcb.len);
    sgx_pair(&items, a_tcb, 1, &tcbseq);
    sgx_pair_octets(&items, a_pceid, 1, t->pceid, sizeof t->pceid);
    sgx_pair_octets(&items, a_fmspc, 1, t->fmspc, sizeof t->fmspc);
    sgx_pair_uint(&items, a_type, 1, 0x0a, 0); /* SGX type: Standard */
    der_tlv(out, 0x30, items.p, items.len);
    if (items.failed || tcb.failed || tcbseq.failed || out->failed)
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory encoding the SGX extension");
    cloak_buf_free(&items);
    cloak_buf_free(&tcb);
    cloak_buf_free(&tcbseq);
    return rc;
}

/* ---- Certificates ---- */

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

static int add_sgx_ext(X509 *x, const cloak_buf *der)
{
    ASN1_OBJECT *obj = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *e = NULL;
    int ok = 0;
    if (!obj || !os || ASN1_OCTET_STRING_set(os, der->p, (int)der->len) != 1) goto out;
    e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os); /* non-critical, as Intel's */
    ok = e && X509_add_ext(x, e, -1) == 1;
out:
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok;
}

static int set_random_serial(ASN1_INTEGER *serial)
{
    uint8_t sn[16];
    BIGNUM *bn = NULL;
    int ok = 0;
    if (RAND_bytes(sn, sizeof sn) != 1) goto out;
    sn[0] = (uint8_t)((sn[0] & 0x7f) | 0x40); /* positive, always 16 bytes */
    bn = BN_bin2bn(sn, sizeof sn, NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, serial) != NULL;
out:
    BN_free(bn);
    return ok;
}

/* issuer == NULL: self-signed. pathlen < 0: end-entity. sgx_ext: PCK leaf only. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       int pathlen, const cloak_buf *sgx_ext, time_t now)
{
    X509 *x = X509_new(), *ret = NULL;
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX ctx;
    char bc[64];
    if (!x || !name) goto out;
    if (X509_set_version(x, X509_VERSION_3) != 1 || !set_random_serial(X509_get_serialNumber(x)))
        goto out;
    if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), PLAT_CERT_DAYS, 0, &now))
        goto out;
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)PLAT_ORG, -1,
                                   -1, 0) != 1)
        goto out;
    if (X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_set_pubkey(x, key) != 1)
        goto out;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    if (pathlen >= 0)
        snprintf(bc, sizeof bc, "critical,CA:TRUE,pathlen:%d", pathlen);
    else
        snprintf(bc, sizeof bc, "critical,CA:FALSE");
    if (!add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
        !add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") ||
        !add_ext(x, &ctx, NID_key_usage,
                 pathlen >= 0 ? "critical,keyCertSign,cRLSign"
                              : "critical,digitalSignature,nonRepudiation") ||
        !add_ext(x, &ctx, NID_basic_constraints, bc))
        goto out;
    if (sgx_ext && !add_sgx_ext(x, sgx_ext)) goto out;
    if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) goto out;
    ret = x;
    x = NULL;
out:
    X509_NAME_free(name);
    X509_free(x);
    return ret;
}

cloak_err cloak_plat_make_crl(X509 *issuer, EVP_PKEY *issuer_key, time_t now, uint8_t **der,
                              size_t *der_len, cloak_error *why)
{
    cloak_err rc = CLOAK_EINTERNAL;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *last = ASN1_TIME_adj(NULL, now, 0, 0);
    ASN1_TIME *next = ASN1_TIME_adj(NULL, now, PLAT_COLLATERAL_DAYS, 0);
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509_EXTENSION *aki = NULL;
    X509V3_CTX ctx;
    unsigned char *p = NULL;
    int n;
    if (!crl || !last || !next || !num) goto fail;
    if (X509_CRL_set_version(crl, 1) != 1 || /* v2 */
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, last) != 1 || X509_CRL_set1_nextUpdate(crl, next) != 1)
        goto fail;
    /* CRL number: the issue time, so later CRLs have larger numbers (RFC 5280 §5.2.3) */
    if (ASN1_INTEGER_set_int64(num, (int64_t)now) != 1 ||
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
        goto fail;
    X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
    aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    if (!aki || X509_CRL_add_ext(crl, aki, -1) != 1) goto fail;
    if (X509_CRL_sign(crl, issuer_key, EVP_sha256()) <= 0) goto fail;
    n = i2d_X509_CRL(crl, &p);
    if (n <= 0) goto fail;
    *der = p;
    *der_len = (size_t)n;
    rc = CLOAK_OK;
    goto out;
fail:
    rc = cloak_error_openssl(why, CLOAK_EINTERNAL,
                             "cannot issue a CRL for the development platform");
out:
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    return rc;
}

cloak_err cloak_plat_create_identity(const char *dir, const cloak_plat_tcb *tcb, time_t now,
                                     cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    EVP_PKEY *root_k = NULL, *ca_k = NULL, *pck_k = NULL, *tcb_k = NULL, *att_k = NULL;
    X509 *root = NULL, *ca = NULL, *pck = NULL, *tcbs = NULL;
    cloak_buf ext = {0};
    uint8_t seal[PLAT_SEAL_SECRET_BYTES];
    char *seal_path = cloak_plat_path(dir, PLAT_SEAL_SECRET);
    if (!seal_path) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    root_k = EVP_EC_gen("P-256");
    ca_k = EVP_EC_gen("P-256");
    pck_k = EVP_EC_gen("P-256");
    tcb_k = EVP_EC_gen("P-256");
    att_k = EVP_EC_gen("P-256");
    if (!root_k || !ca_k || !pck_k || !tcb_k || !att_k) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "cannot generate EC P-256 platform keys");
        goto out;
    }
    rc = build_sgx_extension(tcb, &ext, why);
    if (rc != CLOAK_OK) goto out;
    root = make_cert(PLAT_CN_ROOT, root_k, NULL, root_k, 1, NULL, now);
    ca = root ? make_cert(PLAT_CN_PCKCA, ca_k, root, root_k, 0, NULL, now) : NULL;
    pck = ca ? make_cert(PLAT_CN_PCK, pck_k, ca, ca_k, -1, &ext, now) : NULL;
    tcbs = root ? make_cert(PLAT_CN_TCBSIGN, tcb_k, root, root_k, -1, NULL, now) : NULL;
    if (!root || !ca || !pck || !tcbs) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "cannot issue the platform certificates");
        goto out;
    }
    if (RAND_bytes(seal, sizeof seal) != 1) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "cannot draw the platform seal secret");
        goto out;
    }
    /* keys first, then certificates: a crash leaves no certificate without its key, and
     * without platform.json the next open starts over anyway */
    if ((rc = write_key(dir, PLAT_ROOT_KEY, root_k, why)) != CLOAK_OK ||
        (rc = write_key(dir, PLAT_PCKCA_KEY, ca_k, why)) != CLOAK_OK ||
        (rc = write_key(dir, PLAT_PCK_KEY, pck_k, why)) != CLOAK_OK ||
        (rc = write_key(dir, PLAT_TCBSIGN_KEY, tcb_k, why)) != CLOAK_OK ||
        (rc = write_key(dir, PLAT_ATT_KEY, att_k, why)) != CLOAK_OK ||
        (rc = cloak_file_write(seal_path, seal, sizeof seal, PLAT_FILE_MODE_SECRET, why)) !=
            CLOAK_OK ||
        (rc = write_cert(dir, PLAT_ROOT_CERT, root, why)) != CLOAK_OK ||
        (rc = write_cert(dir, PLAT_PCKCA_CERT, ca, why)) != CLOAK_OK ||
        (rc = write_cert(dir, PLAT_PCK_CERT, pck, why)) != CLOAK_OK ||
        (rc = write_cert(dir, PLAT_TCBSIGN_CERT, tcbs, why)) != CLOAK_OK)
        goto out;
out:
    OPENSSL_cleanse(seal, sizeof seal);
    cloak_buf_free(&ext);
    X509_free(root);
    X509_free(ca);
    X509_free(pck);
    X509_free(tcbs);
    EVP_PKEY_free(root_k);
    EVP_PKEY_free(ca_k);
    EVP_PKEY_free(pck_k);
    EVP_PKEY_free(tcb_k);
    EVP_PKEY_free(att_k);
    free(seal_path);
    return rc;
}
