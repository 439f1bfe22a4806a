/* The simulation platform: directory resolution, race-safe creation, loading everything the
 * enclave runtime needs into memory, DCAP v3 quotes and seal keys.
 *
 * The enclave runtime calls cloak_platform_quote and cloak_platform_seal_key under a seccomp
 * allow-list, after cloak_platform_open returned. So open loads every key, the PEM chain and
 * the seal secret, precomputes the signed QE report, and runs one ECDSA signature and one
 * HKDF so OpenSSL's lazy initialisation (config file, provider fetches, DRBG seeding) is done
 * before the sandbox closes. quote and seal_key only compute, allocate and draw randomness. */
#include "tee/platform_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define PLATFORM_MAGIC 0x636c706cu /* "clpl": catches a freed or foreign handle */
#define PLATFORM_INFO_VERSION 1
#define SEAL_SALT "cloak-seal-v1"
#define HKDF_MAX_INFO 1024 /* OpenSSL 3.0's HKDF info limit */

/* Intel DCAP ECDSA quote v3 (attestation.md §1). */
#define QUOTE_VERSION 3
#define QUOTE_ATT_KEY_ECDSA_P256 2
#define QUOTE_TEE_SGX 0
#define QUOTE_HEADER_BYTES 48
#define QUOTE_SIGNED_BYTES (QUOTE_HEADER_BYTES + CLOAK_SGX_REPORT_BODY_BYTES)
#define QUOTE_CERT_DATA_PCK_CHAIN 5
_Static_assert(QUOTE_SIGNED_BYTES == 432, "SGX quote signed region is [0,432)");
_Static_assert(2 + 2 + 4 + 2 + 2 + 16 + 20 == QUOTE_HEADER_BYTES, "quote header is 48 bytes");

static const uint8_t intel_qe_vendor_id[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

/* = SHA-256("cloak development quoting enclave") */
const uint8_t cloak_plat_qe_mrenclave[32] = {
    0x00, 0x06, 0xd2, 0xa4, 0xda, 0x10, 0x99, 0x46, 0xbf, 0x82, 0xf3, 0x1f, 0x7a, 0xdc, 0x11, 0xf2,
    0x03, 0x4f, 0x8e, 0x18, 0x16, 0x45, 0x07, 0x2c, 0xf5, 0x22, 0xb6, 0x19, 0xa0, 0x05, 0x9d, 0xea};
/* = SHA-256("cloak development quoting enclave signer") */
const uint8_t cloak_plat_qe_mrsigner[32] = {
    0x61, 0x14, 0x9c, 0x1b, 0x4b, 0x9e, 0xfd, 0xec, 0xcb, 0xc1, 0x02, 0x91, 0x66, 0x9e, 0x5a, 0x67,
    0x40, 0x74, 0xd5, 0xf7, 0xc7, 0x49, 0x50, 0xc8, 0x5f, 0x7e, 0x62, 0x3c, 0x18, 0xb4, 0x2d, 0xd6};

/* Development TCB of a new platform (documented in docs/SIM-PLATFORM.md). Component 5 is 255
 * as on many real platforms, which also exercises the two-byte DER INTEGER. */
static const uint8_t default_fmspc[6] = {0x00, 0xc1, 0x0f, 0x00, 0x00, 0x00};
static const uint8_t default_pceid[2] = {0x00, 0x00};
static const uint8_t default_comp_svn[16] = {4, 4, 3, 3, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
#define DEFAULT_PCESVN 13

struct cloak_platform {
    uint32_t magic;
    char *dir;
    char *collateral_dir;
    char *root_pem;
    char *chain;      /* PEM leaf | PCK Platform CA | root, NUL-terminated as Intel's */
    size_t chain_len; /* including the NUL */
    cloak_plat_tcb tcb;
    EVP_PKEY *att_key;
    uint8_t att_pub[64];
    uint8_t qe_auth[PLAT_QE_AUTH_DATA_BYTES];
    uint8_t qe_report[CLOAK_SGX_REPORT_BODY_BYTES];
    uint8_t qe_report_sig[64];
    uint8_t seal_secret[PLAT_SEAL_SECRET_BYTES];
    EVP_KDF *hkdf;
};

char *cloak_platform_default_dir(const char *dir)
{
    const char *e;
    char *s = NULL;
    if (dir && *dir) return strdup(dir);
    if ((e = secure_getenv("CLOAK_PLATFORM_DIR")) && *e) return strdup(e);
    /* XDG Base Directory spec: a relative XDG_DATA_HOME is invalid and must be ignored */
    if ((e = secure_getenv("XDG_DATA_HOME")) && e[0] == '/') {
        if (asprintf(&s, "%s/cloak/platform", e) < 0) s = NULL;
        return s;
    }
    e = secure_getenv("HOME");
    if (!e || !*e) {
        struct passwd *pw = getpwuid(geteuid());
        e = pw ? pw->pw_dir : NULL;
    }
    if (e && *e && asprintf(&s, "%s/.local/share/cloak/platform", e) < 0) s = NULL;
    return s;
}

cloak_err cloak_plat_sign_p1363(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t out[64],
                                cloak_error *why)
{
    cloak_err rc = CLOAK_EINTERNAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t der[80];
    size_t der_len = sizeof der;
    const unsigned char *dp = der;
    ECDSA_SIG *sig = NULL;
    const BIGNUM *r = NULL, *s = NULL;
    if (!ctx || EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, msg, len) != 1 ||
        !(sig = d2i_ECDSA_SIG(NULL, &dp, (long)der_len))) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "ECDSA P-256 signing failed");
        goto out;
    }
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "ECDSA signature does not fit P-256 sizes");
        goto out;
    }
    rc = CLOAK_OK;
out:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* mkdir -p with PLAT_DIR_MODE; on failure errno is that of the failing mkdir. */
static int make_dirs(char *path)
{
    for (char *s = path + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        int r = mkdir(path, PLAT_DIR_MODE), err = errno;
        *s = c;
        if (r < 0 && err != EEXIST) {
            errno = err;
            return -1;
        }
        if (!c) return 0;
    }
}

/* Create the directory if needed and refuse one that others could write into. */
static cloak_err prepare_dir(const char *dir, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    char *tmp = strdup(dir);
    struct stat st;
    if (!tmp) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (make_dirs(tmp) < 0) {
        rc = cloak_error_set(why, CLOAK_EIO,
                             "cannot create platform directory %s: %s; set CLOAK_PLATFORM_DIR to a "
                             "writable directory",
                             dir, strerror(errno));
        goto out;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        rc =
            cloak_error_set(why, CLOAK_EIO,
                            "platform directory %s is not a directory; set CLOAK_PLATFORM_DIR to a "
                            "writable directory",
                            dir);
        goto out;
    }
    if (st.st_uid != geteuid()) {
        rc = cloak_error_set(why, CLOAK_EPERM,
                             "platform directory %s belongs to uid %u, not to you (uid %u); set "
                             "CLOAK_PLATFORM_DIR to a directory of your own",
                             dir, (unsigned)st.st_uid, (unsigned)geteuid());
        goto out;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        rc = cloak_error_set(why, CLOAK_EPERM,
                             "platform directory %s is writable by other users, who could replace "
                             "its keys; run: chmod 700 %s",
                             dir, dir);
        goto out;
    }
out:
    free(tmp);
    return rc;
}

/* An exclusive flock on <dir>/.lock serialises creation, collateral re-issue and loading
 * between processes; it is released when the descriptor closes. */
static cloak_err lock_dir(const char *dir, int *fd_out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    char *path = cloak_plat_path(dir, PLAT_LOCK);
    int fd = -1;
    if (!path) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, PLAT_FILE_MODE_SECRET);
    if (fd < 0) {
        rc = cloak_error_set(why, CLOAK_EIO,
                             "cannot open lock file %s: %s; set CLOAK_PLATFORM_DIR to a writable "
                             "directory",
                             path, strerror(errno));
        goto out;
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno == EINTR) continue;
        rc = cloak_error_set(why, CLOAK_EIO, "cannot lock %s: %s", path, strerror(errno));
        goto out;
    }
    *fd_out = fd;
    fd = -1;
out:
    if (fd >= 0) close(fd);
    free(path);
    return rc;
}

static cloak_err write_info(const char *dir, const cloak_plat_tcb *t, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    char fmspc[13], pceid[5], cpusvn[33], ppid[33], pid[33], *text = NULL;
    char *path = cloak_plat_path(dir, PLAT_INFO);
    json_t *comps = json_array(), *o = NULL;
    cloak_hex_write(fmspc, t->fmspc, 6);
    cloak_hex_write(pceid, t->pceid, 2);
    cloak_hex_write(cpusvn, t->cpusvn, 16);
    cloak_hex_write(ppid, t->ppid, 16);
    cloak_hex_write(pid, t->platform_id, 16);
    for (int i = 0; comps && i < 16; i++)
        json_array_append_new(comps, json_integer(t->comp_svn[i]));
    o = json_pack("{s:i,s:s,s:s,s:O,s:i,s:s,s:s,s:s}", "version", PLATFORM_INFO_VERSION, "fmspc",
                  fmspc, "pceId", pceid, "compSvn", comps, "pcesvn", (int)t->pcesvn, "cpusvn",
                  cpusvn, "ppid", ppid, "platformId", pid);
    if (!path || !o || json_array_size(comps) != 16 || !(text = json_dumps(o, JSON_INDENT(2)))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory writing %s", PLAT_INFO);
        goto out;
    }
    rc = cloak_file_write(path, (const uint8_t *)text, strlen(text), PLAT_FILE_MODE_PUBLIC, why);
out:
    free(text);
    json_decref(comps);
    json_decref(o);
    free(path);
    return rc;
}

static cloak_err read_info(const char *dir, cloak_plat_tcb *t, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    char *path = cloak_plat_path(dir, PLAT_INFO);
    uint8_t *text = NULL;
    size_t len = 0;
    json_t *o = NULL, *comps;
    json_int_t pcesvn = -1;
    if (!path) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = cloak_file_read(path, &text, &len, why)) != CLOAK_OK) goto out;
    o = json_loadb((const char *)text, len, 0, NULL);
    comps = json_object_get(o, "compSvn");
    if (json_integer_value(json_object_get(o, "version")) != PLATFORM_INFO_VERSION ||
        json_array_size(comps) != 16)
        goto bad;
    for (size_t i = 0; i < 16; i++) {
        json_t *c = json_array_get(comps, i);
        if (!json_is_integer(c) || json_integer_value(c) < 0 || json_integer_value(c) > 255)
            goto bad;
        t->comp_svn[i] = (uint8_t)json_integer_value(c);
    }
    if (json_is_integer(json_object_get(o, "pcesvn")))
        pcesvn = json_integer_value(json_object_get(o, "pcesvn"));
    if (pcesvn < 0 || pcesvn > 0xffff) goto bad;
    t->pcesvn = (uint16_t)pcesvn;
    if (cloak_hex_decode_fixed(json_string_value(json_object_get(o, "fmspc")), t->fmspc, 6, NULL) ||
        cloak_hex_decode_fixed(json_string_value(json_object_get(o, "pceId")), t->pceid, 2, NULL) ||
        cloak_hex_decode_fixed(json_string_value(json_object_get(o, "cpusvn")), t->cpusvn, 16,
                               NULL) ||
        cloak_hex_decode_fixed(json_string_value(json_object_get(o, "ppid")), t->ppid, 16, NULL) ||
        cloak_hex_decode_fixed(json_string_value(json_object_get(o, "platformId")), t->platform_id,
                               16, NULL))
        goto bad;
    goto out;
bad:
    rc = cloak_error_set(why, CLOAK_EINVAL,
                         "%s is malformed; delete the platform directory to recreate the "
                         "development platform (sealed data will be lost)",
                         path);
out:
    json_decref(o);
    free(text);
    free(path);
    return rc;
}

/* First use: generate the platform. Runs under the directory lock; platform.json is written
 * last, so a crash before it leaves a directory the next open simply regenerates. */
static cloak_err ensure_created(const char *dir, time_t now, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    char *path = cloak_plat_path(dir, PLAT_INFO);
    cloak_plat_tcb t;
    struct stat st;
    if (!path) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (stat(path, &st) == 0) goto out;
    memset(&t, 0, sizeof t);
    memcpy(t.fmspc, default_fmspc, sizeof t.fmspc);
    memcpy(t.pceid, default_pceid, sizeof t.pceid);
    memcpy(t.comp_svn, default_comp_svn, sizeof t.comp_svn);
    memcpy(t.cpusvn, default_comp_svn, sizeof t.cpusvn); /* CPUSVN = the 16 component SVNs */
    t.pcesvn = DEFAULT_PCESVN;
    if (RAND_bytes(t.ppid, sizeof t.ppid) != 1 ||
        RAND_bytes(t.platform_id, sizeof t.platform_id) != 1) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "cannot draw platform ids");
        goto out;
    }
    if ((rc = cloak_plat_create_identity(dir, &t, now, why)) != CLOAK_OK) goto out;
    rc = write_info(dir, &t, why);
out:
    free(path);
    return rc;
}

static cloak_err load_chain(cloak_platform *p, EVP_PKEY **pck_key, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    X509 *root = NULL, *ca = NULL, *pck = NULL;
    char *ca_pem = NULL, *pck_pem = NULL;
    if ((rc = cloak_plat_read_cert(p->dir, PLAT_ROOT_CERT, &root, why)) != CLOAK_OK ||
        (rc = cloak_plat_read_cert(p->dir, PLAT_PCKCA_CERT, &ca, why)) != CLOAK_OK ||
        (rc = cloak_plat_read_cert(p->dir, PLAT_PCK_CERT, &pck, why)) != CLOAK_OK ||
        (rc = cloak_plat_read_key(p->dir, PLAT_PCK_KEY, pck_key, why)) != CLOAK_OK)
        goto out;
    /* a directory mixed from two platforms would produce quotes nobody can verify */
    if (X509_check_private_key(pck, *pck_key) != 1 || X509_verify(pck, X509_get0_pubkey(ca)) != 1 ||
        X509_verify(ca, X509_get0_pubkey(root)) != 1 ||
        X509_verify(root, X509_get0_pubkey(root)) != 1) {
        ERR_clear_error();
        rc = cloak_error_set(why, CLOAK_EVERIFY,
                             "the certificates in %s do not form one chain with pck.key; delete "
                             "the directory to recreate the development platform",
                             p->dir);
        goto out;
    }
    p->root_pem = cloak_plat_cert_pem(root);
    ca_pem = cloak_plat_cert_pem(ca);
    pck_pem = cloak_plat_cert_pem(pck);
    if (!p->root_pem || !ca_pem || !pck_pem ||
        asprintf(&p->chain, "%s%s%s", pck_pem, ca_pem, p->root_pem) < 0) {
        p->chain = NULL;
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory loading the PCK chain");
        goto out;
    }
    p->chain_len = strlen(p->chain) + 1;
out:
    free(ca_pem);
    free(pck_pem);
    X509_free(root);
    X509_free(ca);
    X509_free(pck);
    return rc;
}

static cloak_err load_att_key(cloak_platform *p, cloak_error *why)
{
    cloak_err rc = cloak_plat_read_key(p->dir, PLAT_ATT_KEY, &p->att_key, why);
    BIGNUM *x = NULL, *y = NULL;
    if (rc != CLOAK_OK) goto out;
    if (EVP_PKEY_get_bn_param(p->att_key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(p->att_key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
        BN_bn2binpad(x, p->att_pub, 32) != 32 || BN_bn2binpad(y, p->att_pub + 32, 32) != 32)
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "cannot read the attestation public key");
out:
    BN_free(x);
    BN_free(y);
    return rc;
}

static cloak_err load_seal_secret(cloak_platform *p, cloak_error *why)
{
    char *path = cloak_plat_path(p->dir, PLAT_SEAL_SECRET);
    uint8_t *b = NULL;
    size_t len = 0;
    cloak_err rc = path ? cloak_file_read(path, &b, &len, why)
                        : cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    if (rc == CLOAK_OK && len != sizeof p->seal_secret)
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "%s holds %zu bytes, not %zu; restore it from a backup, or delete the "
                             "platform directory (sealed data will be lost)",
                             path, len, sizeof p->seal_secret);
    if (rc == CLOAK_OK) memcpy(p->seal_secret, b, len);
    if (b) cloak_free_secret(b, len);
    free(path);
    return rc;
}

/* The simulated QE's report: fixed identity (platform_int.h), the platform CPUSVN, and
 * REPORTDATA = SHA-256(attestation public key || QE auth data) || 32 zero bytes
 * (attestation.md §1, "Binding"), signed once by the PCK key, as the real QE's report is
 * certified once per attestation key. */
static cloak_err make_qe_report(cloak_platform *p, EVP_PKEY *pck_key, cloak_error *why)
{
    cloak_sgx_report r;
    uint8_t bind[64 + PLAT_QE_AUTH_DATA_BYTES];
    unsigned int md_len = 0;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < sizeof p->qe_auth; i++)
        p->qe_auth[i] = (uint8_t)i; /* as Intel's QE */
    memcpy(r.cpusvn, p->tcb.cpusvn, 16);
    r.miscselect = PLAT_QE_MISCSELECT;
    r.attr_flags = PLAT_QE_ATTR_FLAGS;
    r.attr_xfrm = PLAT_QE_ATTR_XFRM;
    memcpy(r.mrenclave, cloak_plat_qe_mrenclave, 32);
    memcpy(r.mrsigner, cloak_plat_qe_mrsigner, 32);
    r.isvprodid = PLAT_QE_ISVPRODID;
    r.isvsvn = PLAT_QE_ISVSVN;
    memcpy(bind, p->att_pub, 64);
    memcpy(bind + 64, p->qe_auth, sizeof p->qe_auth);
    if (EVP_Digest(bind, sizeof bind, r.reportdata, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != 32)
        return cloak_error_openssl(why, CLOAK_EINTERNAL, "SHA-256 failed");
    cloak_sgx_report_encode(&r, p->qe_report);
    return cloak_plat_sign_p1363(pck_key, p->qe_report, sizeof p->qe_report, p->qe_report_sig, why);
}

/* Load everything quote and seal_key need, then exercise both once (see the file comment). */
static cloak_err load_runtime(cloak_platform *p, cloak_error *why)
{
    cloak_err rc;
    EVP_PKEY *pck_key = NULL;
    uint8_t scratch[64], key[CLOAK_SEAL_KEY_BYTES];
    if ((rc = load_chain(p, &pck_key, why)) != CLOAK_OK ||
        (rc = load_att_key(p, why)) != CLOAK_OK || (rc = load_seal_secret(p, why)) != CLOAK_OK)
        goto out;
    p->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!p->hkdf) {
        rc = cloak_error_openssl(why, CLOAK_EUNSUPPORTED, "OpenSSL has no HKDF");
        goto out;
    }
    if ((rc = make_qe_report(p, pck_key, why)) != CLOAK_OK ||
        (rc = cloak_plat_sign_p1363(p->att_key, p->qe_report, 32, scratch, why)) != CLOAK_OK ||
        (rc = cloak_platform_seal_key(p, scratch, 1, key, why)) != CLOAK_OK)
        goto out;
out:
    OPENSSL_cleanse(key, sizeof key);
    EVP_PKEY_free(pck_key); /* only the precomputed QE report signature is kept */
    return rc;
}

cloak_err cloak_platform_open(const char *dir, cloak_platform **out, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    cloak_platform *p = calloc(1, sizeof *p);
    int lock = -1;
    time_t now = time(NULL);
    if (!out) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "cloak_platform_open: out is NULL");
        goto out;
    }
    if (!p) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    p->magic = PLATFORM_MAGIC;
    p->dir = cloak_platform_default_dir(dir);
    if (!p->dir) {
        rc = cloak_error_set(why, CLOAK_ENOTFOUND,
                             "cannot choose a platform directory: CLOAK_PLATFORM_DIR, "
                             "XDG_DATA_HOME and HOME are all unset; set CLOAK_PLATFORM_DIR");
        goto out;
    }
    if (!(p->collateral_dir = cloak_plat_path(p->dir, PLAT_COLLATERAL))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = prepare_dir(p->dir, why)) != CLOAK_OK ||
        (rc = lock_dir(p->dir, &lock, why)) != CLOAK_OK)
        goto out;
    if ((rc = ensure_created(p->dir, now, why)) != CLOAK_OK ||
        (rc = read_info(p->dir, &p->tcb, why)) != CLOAK_OK ||
        (rc = cloak_plat_collateral_refresh(p->dir, &p->tcb, now, why)) != CLOAK_OK ||
        (rc = load_runtime(p, why)) != CLOAK_OK) {
        cloak_error_wrap(why, "opening the development platform in %s", p->dir);
        goto out;
    }
    *out = p;
    p = NULL;
out:
    if (lock >= 0) close(lock);
    cloak_platform_free(p);
    return rc;
}

void cloak_platform_free(cloak_platform *p)
{
    if (!p) return;
    OPENSSL_cleanse(p->seal_secret, sizeof p->seal_secret);
    EVP_PKEY_free(p->att_key);
    EVP_KDF_free(p->hkdf);
    free(p->chain);
    free(p->root_pem);
    free(p->collateral_dir);
    free(p->dir);
    p->magic = 0;
    free(p);
}

const char *cloak_platform_path(const cloak_platform *p)
{
    return p ? p->dir : NULL;
}

const char *cloak_platform_collateral_dir(const cloak_platform *p)
{
    return p ? p->collateral_dir : NULL;
}

const char *cloak_platform_root_pem(const cloak_platform *p)
{
    return p ? p->root_pem : NULL;
}

void cloak_platform_cpusvn(const cloak_platform *p, uint8_t out[16])
{
    if (p) memcpy(out, p->tcb.cpusvn, 16);
}

cloak_err cloak_platform_quote(const cloak_platform *p,
                               const uint8_t report_body[CLOAK_SGX_REPORT_BODY_BYTES],
                               uint8_t **quote, size_t *quote_len, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    cloak_buf b = {0};
    uint8_t sig[64];
    size_t sig_data_len;
    if (!p || p->magic != PLATFORM_MAGIC || !report_body || !quote || !quote_len) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "cloak_platform_quote: bad arguments");
        goto out;
    }
    /* header (48 bytes) */
    cloak_buf_u16le(&b, QUOTE_VERSION);
    cloak_buf_u16le(&b, QUOTE_ATT_KEY_ECDSA_P256);
    cloak_buf_u32le(&b, QUOTE_TEE_SGX);
    cloak_buf_u16le(&b, PLAT_QE_ISVSVN);
    cloak_buf_u16le(&b, p->tcb.pcesvn);
    cloak_buf_put(&b, intel_qe_vendor_id, sizeof intel_qe_vendor_id);
    cloak_buf_put(&b, p->tcb.platform_id, sizeof p->tcb.platform_id);
    cloak_buf_zero(&b, 4);
    cloak_buf_put(&b, report_body, CLOAK_SGX_REPORT_BODY_BYTES);
    if (b.failed) goto nomem;
    if ((rc = cloak_plat_sign_p1363(p->att_key, b.p, QUOTE_SIGNED_BYTES, sig, why)) != CLOAK_OK)
        goto out;
    /* signature data (v3) */
    sig_data_len =
        64 + 64 + CLOAK_SGX_REPORT_BODY_BYTES + 64 + 2 + sizeof p->qe_auth + 2 + 4 + p->chain_len;
    cloak_buf_u32le(&b, (uint32_t)sig_data_len);
    cloak_buf_put(&b, sig, sizeof sig);
    cloak_buf_put(&b, p->att_pub, sizeof p->att_pub);
    cloak_buf_put(&b, p->qe_report, sizeof p->qe_report);
    cloak_buf_put(&b, p->qe_report_sig, sizeof p->qe_report_sig);
    cloak_buf_u16le(&b, (uint16_t)sizeof p->qe_auth);
    cloak_buf_put(&b, p->qe_auth, sizeof p->qe_auth);
    cloak_buf_u16le(&b, QUOTE_CERT_DATA_PCK_CHAIN);
    cloak_buf_u32le(&b, (uint32_t)p->chain_len);
    cloak_buf_put(&b, p->chain, p->chain_len);
    if (b.failed) goto nomem;
    *quote = b.p;
    *quote_len = b.len;
    b.p = NULL;
    goto out;
nomem:
    rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory building a quote");
out:
    cloak_buf_free(&b);
    return rc;
}

cloak_err cloak_platform_seal_key(const cloak_platform *p, const uint8_t *info, size_t info_len,
                                  uint8_t key[CLOAK_SEAL_KEY_BYTES], cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    EVP_KDF_CTX *ctx = NULL;
    OSSL_PARAM params[5], *q = params;
    uint8_t tmp[CLOAK_SEAL_KEY_BYTES];
    if (!p || p->magic != PLATFORM_MAGIC || !key || (!info && info_len)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "cloak_platform_seal_key: bad arguments");
        goto out;
    }
    if (info_len > HKDF_MAX_INFO) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "seal key info is %zu bytes; at most %d allowed",
                             info_len, HKDF_MAX_INFO);
        goto out;
    }
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)p->seal_secret,
                                             sizeof p->seal_secret);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)SEAL_SALT,
                                             sizeof SEAL_SALT - 1);
    if (info_len)
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *q = OSSL_PARAM_construct_end();
    if (!(ctx = EVP_KDF_CTX_new(p->hkdf)) || EVP_KDF_derive(ctx, tmp, sizeof tmp, params) != 1) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "HKDF-SHA256 failed deriving a seal key");
        goto out;
    }
    memcpy(key, tmp, sizeof tmp);
out:
    OPENSSL_cleanse(tmp, sizeof tmp);
    EVP_KDF_CTX_free(ctx);
    return rc;
}
