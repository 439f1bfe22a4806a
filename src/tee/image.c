/*
 * Signed enclave images: keygen, sign, open (parse + verify) and measure. The format is
 * specified in include/cloak/image.h and docs/IMAGE-FORMAT.md; this file follows it byte for
 * byte and every offset below cites the manifest table there.
 *
 * open() treats its input as hostile: it copies the bytes once, then parses and verifies only
 * the copy (so a caller's buffer that changes under us cannot split verification from use),
 * reads them through the bounds-checked cloak_reader, and checks structure first (cheap,
 * CLOAK_EINVAL), then the signature, the signer hash and the measurement (CLOAK_EVERIFY).
 */
#include "cloak/image.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* Sizes pinned by the format comment in image.h. */
#define MRENCLAVE_PREFIX "cloak-mrenclave-v1"
#define MRENCLAVE_PREFIX_LEN 18
#define MODULUS_BYTES (CLOAK_IMAGE_RSA_BITS / 8)
#define SIGNED_BYTES (CLOAK_IMAGE_HEADER_BYTES + CLOAK_IMAGE_MANIFEST_BYTES)
#define FIXED_BYTES (SIGNED_BYTES + CLOAK_IMAGE_SIG_BYTES)
#define RESERVED_BYTES 36
/* Manifest offsets (image.h, "manifest (512 bytes)"). */
#define OFF_MRENCLAVE 0
#define OFF_MRSIGNER 32
#define OFF_PRODUCT_ID 64
#define OFF_SVN 66
#define OFF_FLAGS 68
#define OFF_HEAP 72
#define OFF_CODE_LEN 80
#define OFF_EXPONENT 88
#define OFF_RESERVED 92
#define OFF_MODULUS 128

_Static_assert(sizeof(MRENCLAVE_PREFIX) - 1 == MRENCLAVE_PREFIX_LEN,
               "mrenclave prefix is 18 bytes");
_Static_assert(sizeof(CLOAK_IMAGE_MAGIC) - 1 == 8, "magic is 8 bytes");
_Static_assert(CLOAK_IMAGE_HEADER_BYTES == 8 + 4 + 4, "header: magic, version, manifest_len");
_Static_assert(OFF_RESERVED + RESERVED_BYTES == OFF_MODULUS, "reserved ends at the modulus");
_Static_assert(OFF_MODULUS + MODULUS_BYTES == CLOAK_IMAGE_MANIFEST_BYTES, "manifest is 512 bytes");
_Static_assert(MODULUS_BYTES == CLOAK_IMAGE_SIG_BYTES, "RSA-3072 signature is 384 bytes");

#define IMAGE_HANDLE_MAGIC 0x434c4b49u /* "CLKI": catches a wrong or freed handle */
#define SIG_MSG                                                                                    \
    "image signature does not verify under the signer key in its manifest: the image was "         \
    "tampered with or wrongly signed"

struct cloak_image {
    uint32_t magic;
    cloak_image_identity id;
    uint8_t *bytes; /* our own copy of the whole file */
    size_t len;
    const uint8_t *code; /* points into bytes */
    size_t code_len;
};

static const uint8_t elf_magic[4] = {0x7f, 'E', 'L', 'F'};

static int is_elf(const uint8_t *code, size_t len)
{
    return len >= sizeof elf_magic && memcmp(code, elf_magic, sizeof elf_magic) == 0;
}

static int measure(const uint8_t *code, size_t code_len, uint64_t heap,
                   uint8_t out[CLOAK_MEASUREMENT_BYTES])
{
    uint8_t h[8], l[8];
    unsigned int n = 0;
    int ok = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    cloak_put_u64le(h, heap);
    cloak_put_u64le(l, (uint64_t)code_len);
    if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
        EVP_DigestUpdate(md, MRENCLAVE_PREFIX, MRENCLAVE_PREFIX_LEN) == 1 &&
        EVP_DigestUpdate(md, h, sizeof h) == 1 && EVP_DigestUpdate(md, l, sizeof l) == 1 &&
        (code_len == 0 || EVP_DigestUpdate(md, code, code_len) == 1) &&
        EVP_DigestFinal_ex(md, out, &n) == 1 && n == CLOAK_MEASUREMENT_BYTES)
        ok = 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

void cloak_image_measure(const uint8_t *code, size_t code_len, uint64_t heap,
                         uint8_t out[CLOAK_MEASUREMENT_BYTES])
{
    /* Only an allocation failure inside OpenSSL can fail here; an all-zero result then
     * matches no image (sign and open use measure() and report the failure instead). */
    if (measure(code, code_len, heap, out)) memset(out, 0, CLOAK_MEASUREMENT_BYTES);
}

/* mrsigner: SHA-256 over the 384-byte modulus in little-endian order (SGX MRSIGNER). */
static int signer_hash(const uint8_t modulus_be[MODULUS_BYTES], uint8_t out[CLOAK_SIGNER_BYTES])
{
    uint8_t le[MODULUS_BYTES];
    unsigned int n = 0;
    for (size_t i = 0; i < MODULUS_BYTES; i++)
        le[i] = modulus_be[MODULUS_BYTES - 1 - i];
    if (EVP_Digest(le, sizeof le, out, &n, EVP_sha256(), NULL) != 1 || n != CLOAK_SIGNER_BYTES)
        return -1;
    return 0;
}

/* ---- keygen ---------------------------------------------------------------------------- */

/* Write `p` to a new file `path` with mode 0600, refusing to replace an existing file: the
 * bytes go to a temp file in the same directory, then link() publishes it, which fails with
 * EEXIST instead of overwriting. A crash never leaves a half-written key under `path`. */
static cloak_err write_new_file_0600(const char *path, const uint8_t *p, size_t len,
                                     cloak_error *why)
{
    cloak_err rc = CLOAK_EIO;
    size_t pl = strlen(path);
    int fd = -1, made = 0;
    char *tmp = malloc(pl + 16), *dir = NULL;
    if (!tmp) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, pl + 16, "%s.tmpXXXXXX", path);
    fd = mkstemp(tmp); /* created 0600 */
    if (fd < 0) {
        rc = cloak_error_set(why, CLOAK_EIO, "cannot create a file next to %s: %s", path,
                             strerror(errno));
        goto out;
    }
    made = 1;
    if (fchmod(fd, 0600) < 0) goto io_fail;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) goto io_fail;
        off += (size_t)n;
    }
    if (fsync(fd) < 0) goto io_fail;
    if (close(fd) < 0) {
        fd = -1;
        goto io_fail;
    }
    fd = -1;
    if (link(tmp, path) < 0) {
        if (errno == EEXIST)
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "%s already exists; refusing to overwrite a signing key "
                                 "(remove it first or choose another path)",
                                 path);
        else
            rc = cloak_error_set(why, CLOAK_EIO, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    dir = strdup(path);
    if (dir) {
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    rc = CLOAK_OK;
    goto out;
io_fail:
    rc = cloak_error_set(why, CLOAK_EIO, "cannot write %s: %s", tmp, strerror(errno));
out:
    if (fd >= 0) close(fd);
    if (made) unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

cloak_err cloak_image_keygen(const char *path, cloak_error *why)
{
    cloak_err rc = CLOAK_EINTERNAL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *e = NULL;
    BIO *mem = NULL;
    BUF_MEM *pem = NULL;
    struct stat st;

    if (!path || !*path) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "no output path for the signing key");
        goto out;
    }
    /* Fail fast before the slow key generation; link() below is the race-free check. */
    if (lstat(path, &st) == 0) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "%s already exists; refusing to overwrite a signing key (remove "
                             "it first or choose another path)",
                             path);
        goto out;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    e = BN_new();
    if (!ctx || !e || !BN_set_word(e, 3)) {
        rc = cloak_error_openssl(why, CLOAK_ENOMEM, "cannot set up RSA key generation");
        goto out;
    }
    /* Exponent 3: SGX's SIGSTRUCT requires it, and keys made here stay usable there. */
    if (EVP_PKEY_keygen_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, CLOAK_IMAGE_RSA_BITS) != 1 ||
        EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) != 1 || EVP_PKEY_generate(ctx, &pkey) != 1) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "RSA-3072 key generation failed");
        goto out;
    }
    /* The secure-memory BIO wipes its buffer as it grows and when it is freed. */
    mem = BIO_new(BIO_s_secmem());
    if (!mem || PEM_write_bio_PKCS8PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
        BIO_get_mem_ptr(mem, &pem) != 1 || !pem) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "cannot encode the signing key as PEM");
        goto out;
    }
    rc = write_new_file_0600(path, (const uint8_t *)pem->data, pem->length, why);
out:
    BIO_free(mem);
    EVP_PKEY_free(pkey);
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* ---- sign ------------------------------------------------------------------------------ */

/* Never prompt on the terminal for a passphrase (OpenSSL's default): signing runs in builds. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Load the signing key and check it is one the format allows: RSA, 3072 bits, e = 3 or
 * 65537. Returns the big-endian modulus and the exponent. */
static cloak_err load_signing_key(const char *key_path, EVP_PKEY **out,
                                  uint8_t modulus[MODULUS_BYTES], uint32_t *exponent,
                                  cloak_error *why)
{
    cloak_err rc = CLOAK_EINVAL;
    uint8_t *file = NULL;
    size_t file_len = 0;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = NULL, *e = NULL;

    rc = cloak_file_read(key_path, &file, &file_len, why);
    if (rc) {
        cloak_error_wrap(why, "reading the signing key");
        goto out;
    }
    if (file_len > INT32_MAX || !(bio = BIO_new_mem_buf(file, (int)file_len))) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "signing key %s is too large", key_path);
        goto out;
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    if (!pkey) {
        rc = cloak_error_openssl(why, CLOAK_EINVAL,
                                 "signing key is not an unencrypted PEM private key "
                                 "(passphrase-protected keys are not supported)");
        cloak_error_wrap(why, "%s", key_path);
        goto out;
    }
    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "signing key %s is of type %s; enclave images need RSA-3072 "
                             "(create one with 'cloak enclave keygen')",
                             key_path, EVP_PKEY_get0_type_name(pkey));
        goto out;
    }
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        rc = cloak_error_openssl(why, CLOAK_EINVAL, "cannot read the RSA key's public part");
        goto out;
    }
    if (BN_num_bits(n) != CLOAK_IMAGE_RSA_BITS) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "signing key %s is RSA-%d; enclave images need RSA-3072 "
                             "(create one with 'cloak enclave keygen')",
                             key_path, BN_num_bits(n));
        goto out;
    }
    if (!BN_is_word(e, 3) && !BN_is_word(e, 65537)) {
        char *dec = BN_bn2dec(e);
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "signing key %s has public exponent %s; enclave images need 3 "
                             "(as SGX requires) or 65537",
                             key_path, dec ? dec : "?");
        OPENSSL_free(dec);
        goto out;
    }
    if (BN_bn2binpad(n, modulus, MODULUS_BYTES) != MODULUS_BYTES) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "cannot serialize the RSA modulus");
        goto out;
    }
    *exponent = (uint32_t)BN_get_word(e);
    *out = pkey;
    pkey = NULL;
    rc = CLOAK_OK;
out:
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    cloak_free_secret(file, file_len);
    return rc;
}

cloak_err cloak_image_sign(const uint8_t *code, size_t code_len, const char *key_path,
                           const cloak_image_config *cfg, uint8_t **out, size_t *out_len,
                           cloak_error *why)
{
    cloak_err rc = CLOAK_EINVAL;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = NULL;
    cloak_image *check = NULL;
    uint8_t modulus[MODULUS_BYTES], *img = NULL;
    uint32_t exponent = 0;
    size_t total = 0, siglen = CLOAK_IMAGE_SIG_BYTES;
    uint64_t heap = cfg && cfg->heap ? cfg->heap : CLOAK_IMAGE_DEFAULT_HEAP;

    if (!code || !key_path || !cfg || !out || !out_len) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "cloak_image_sign: missing argument");
        goto out;
    }
    if (!is_elf(code, code_len)) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "enclave code is not an ELF shared object (no \\x7fELF magic)");
        goto out;
    }
    if (heap > CLOAK_IMAGE_MAX_HEAP) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "heap of %llu bytes is larger than the %llu "
                             "bytes (1 TiB) an image may ask for",
                             (unsigned long long)heap, (unsigned long long)CLOAK_IMAGE_MAX_HEAP);
        goto out;
    }
    if (code_len > SIZE_MAX - FIXED_BYTES) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "enclave code is too large");
        goto out;
    }
    rc = load_signing_key(key_path, &pkey, modulus, &exponent, why);
    if (rc) goto out;

    total = FIXED_BYTES + code_len;
    img = calloc(1, total);
    if (!img) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory for a %zu-byte image", total);
        goto out;
    }
    memcpy(img, CLOAK_IMAGE_MAGIC, 8);
    cloak_put_u32le(img + 8, CLOAK_IMAGE_FORMAT_VERSION);
    cloak_put_u32le(img + 12, CLOAK_IMAGE_MANIFEST_BYTES);
    uint8_t *m = img + CLOAK_IMAGE_HEADER_BYTES;
    if (measure(code, code_len, heap, m + OFF_MRENCLAVE) ||
        signer_hash(modulus, m + OFF_MRSIGNER)) {
        rc = cloak_error_openssl(why, CLOAK_ENOMEM, "SHA-256 failed");
        goto out;
    }
    cloak_put_u16le(m + OFF_PRODUCT_ID, cfg->product_id);
    cloak_put_u16le(m + OFF_SVN, cfg->svn);
    cloak_put_u32le(m + OFF_FLAGS, cfg->debug ? CLOAK_IMAGE_FLAG_DEBUG : 0);
    cloak_put_u64le(m + OFF_HEAP, heap);
    cloak_put_u64le(m + OFF_CODE_LEN, (uint64_t)code_len);
    cloak_put_u32le(m + OFF_EXPONENT, exponent);
    /* reserved: already zero (calloc) */
    memcpy(m + OFF_MODULUS, modulus, MODULUS_BYTES);
    memcpy(img + SIGNED_BYTES, code, code_len);

    /* RSASSA-PKCS1-v1_5 with SHA-256 over header and manifest (image.h). */
    md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (!md || EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey, NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestSign(md, img + SIGNED_BYTES + code_len, &siglen, img, SIGNED_BYTES) != 1 ||
        siglen != CLOAK_IMAGE_SIG_BYTES) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "RSA signing failed");
        goto out;
    }
    /* Check our own output with the same code every loader runs: a bug here must not ship
     * images that no one can open. */
    rc = cloak_image_open(img, total, &check, why);
    if (rc) {
        cloak_error_wrap(why, "internal error: the image just signed does not open");
        if (rc != CLOAK_ENOMEM) rc = CLOAK_EINTERNAL;
        goto out;
    }
    *out = img;
    *out_len = total;
    img = NULL;
    rc = CLOAK_OK;
out:
    cloak_image_free(check);
    free(img);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey); /* OpenSSL wipes the private key's bignums on free */
    return rc;
}

/* ---- open / verify --------------------------------------------------------------------- */

/* Verify the RSASSA-PKCS1-v1_5 SHA-256 signature over header + manifest under the public key
 * (modulus, exponent) the manifest carries. Any failure, including a modulus OpenSSL refuses
 * to build a key from, means the signature does not verify under that key. */
static cloak_err verify_signature(const uint8_t *signed_part, const uint8_t *modulus,
                                  uint32_t exponent, const uint8_t *sig, size_t sig_off,
                                  cloak_error *why)
{
    cloak_err rc = CLOAK_EVERIFY;
    BIGNUM *n = BN_bin2bn(modulus, MODULUS_BYTES, NULL), *e = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *kctx = NULL, *pctx = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();

    if (!n || !e || !bld || !md || !BN_set_word(e, exponent) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(kctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL))) {
        rc = cloak_error_openssl(why, CLOAK_ENOMEM, "out of memory verifying the image");
        goto out;
    }
    if (EVP_PKEY_fromdata_init(kctx) != 1 ||
        EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
        EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey, NULL) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestVerify(md, sig, CLOAK_IMAGE_SIG_BYTES, signed_part, SIGNED_BYTES) != 1) {
        ERR_clear_error();
        rc = cloak_error_set(why, CLOAK_EVERIFY, SIG_MSG " (signature at offset 0x%zx)", sig_off);
        goto out;
    }
    rc = CLOAK_OK;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(kctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Parse and verify `p` (our own copy). Fills `img` on success. */
static cloak_err parse_and_verify(const uint8_t *p, size_t len, cloak_image *img, cloak_error *why)
{
    cloak_reader r, mr;
    const uint8_t *magic, *manifest, *mrenclave, *mrsigner, *reserved, *modulus, *code, *sig;
    uint32_t version = 0, manifest_len = 0, flags = 0, exponent = 0;
    uint16_t product_id = 0, svn = 0;
    uint64_t heap = 0, code_len = 0;
    uint8_t want[CLOAK_MEASUREMENT_BYTES];

    cloak_reader_init(&r, p, len);
    if (cloak_take_ref(&r, &magic, 8) || memcmp(magic, CLOAK_IMAGE_MAGIC, 8) != 0)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "not a cloak signed image (no \"CLOAKIMG\" magic at offset 0)");
    if (cloak_take_u32le(&r, &version) || version != CLOAK_IMAGE_FORMAT_VERSION)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "unsupported image format version %u at offset 0x8 (this "
                               "build reads version %u)",
                               version, CLOAK_IMAGE_FORMAT_VERSION);
    if (cloak_take_u32le(&r, &manifest_len) || manifest_len != CLOAK_IMAGE_MANIFEST_BYTES)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "image manifest length %u at offset 0xc is not %u", manifest_len,
                               CLOAK_IMAGE_MANIFEST_BYTES);
    if (cloak_take_ref(&r, &manifest, CLOAK_IMAGE_MANIFEST_BYTES))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "image is truncated: %zu bytes, shorter than its header and "
                               "manifest (%d bytes)",
                               len, SIGNED_BYTES);

    /* The manifest, field by field in the order of the table in image.h. */
    cloak_reader_init(&mr, manifest, CLOAK_IMAGE_MANIFEST_BYTES);
    cloak_take_ref(&mr, &mrenclave, CLOAK_MEASUREMENT_BYTES);
    cloak_take_ref(&mr, &mrsigner, CLOAK_SIGNER_BYTES);
    cloak_take_u16le(&mr, &product_id);
    cloak_take_u16le(&mr, &svn);
    cloak_take_u32le(&mr, &flags);
    cloak_take_u64le(&mr, &heap);
    cloak_take_u64le(&mr, &code_len);
    cloak_take_u32le(&mr, &exponent);
    cloak_take_ref(&mr, &reserved, RESERVED_BYTES);
    cloak_take_ref(&mr, &modulus, MODULUS_BYTES);
    if (mr.failed || cloak_reader_left(&mr) != 0)
        return cloak_error_set(why, CLOAK_EINTERNAL, "manifest layout does not add up to %d",
                               CLOAK_IMAGE_MANIFEST_BYTES);

    if (flags & ~CLOAK_IMAGE_FLAG_DEBUG)
        return cloak_error_set(
            why, CLOAK_EINVAL, "image manifest sets unknown flag bits 0x%x (offset 0x%x)",
            flags & ~CLOAK_IMAGE_FLAG_DEBUG, CLOAK_IMAGE_HEADER_BYTES + OFF_FLAGS);
    if (heap == 0 || heap > CLOAK_IMAGE_MAX_HEAP)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "image heap size %llu (offset 0x%x) is outside 1..%llu bytes",
                               (unsigned long long)heap, CLOAK_IMAGE_HEADER_BYTES + OFF_HEAP,
                               (unsigned long long)CLOAK_IMAGE_MAX_HEAP);
    if (exponent != 3 && exponent != 65537)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "image signer exponent %u (offset 0x%x) is neither 3 nor 65537",
                               exponent, CLOAK_IMAGE_HEADER_BYTES + OFF_EXPONENT);
    if (!all_zero(reserved, RESERVED_BYTES))
        return cloak_error_set(
            why, CLOAK_EINVAL, "image manifest reserved bytes (offset 0x%x..0x%x) are not zero",
            CLOAK_IMAGE_HEADER_BYTES + OFF_RESERVED, CLOAK_IMAGE_HEADER_BYTES + OFF_MODULUS);
    if (!(modulus[0] & 0x80))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "image signer modulus (offset 0x%x) is not 3072 bits",
                               CLOAK_IMAGE_HEADER_BYTES + OFF_MODULUS);

    /* Exact length: header | manifest | code | signature, nothing after. */
    size_t rest = cloak_reader_left(&r);
    if (rest < CLOAK_IMAGE_SIG_BYTES || code_len != (uint64_t)(rest - CLOAK_IMAGE_SIG_BYTES))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "image is %zu bytes but its manifest declares %llu bytes of "
                               "code, so it must be %d + code + %d bytes: the file is "
                               "truncated, extended or corrupt",
                               len, (unsigned long long)code_len, SIGNED_BYTES,
                               CLOAK_IMAGE_SIG_BYTES);
    if (cloak_take_ref(&r, &code, (size_t)code_len) ||
        cloak_take_ref(&r, &sig, CLOAK_IMAGE_SIG_BYTES) || cloak_reader_left(&r) != 0)
        return cloak_error_set(why, CLOAK_EINTERNAL, "image length check is inconsistent");

    cloak_err rc = verify_signature(p, modulus, exponent, sig, (size_t)(sig - p), why);
    if (rc) return rc;
    uint8_t got_signer[CLOAK_SIGNER_BYTES];
    if (signer_hash(modulus, got_signer))
        return cloak_error_openssl(why, CLOAK_ENOMEM, "SHA-256 failed");
    if (CRYPTO_memcmp(got_signer, mrsigner, CLOAK_SIGNER_BYTES) != 0)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "image mrsigner (offset 0x%x) is not the SHA-256 of the signer "
                               "modulus in its manifest: the image was wrongly signed",
                               CLOAK_IMAGE_HEADER_BYTES + OFF_MRSIGNER);
    if (measure(code, (size_t)code_len, heap, want))
        return cloak_error_openssl(why, CLOAK_ENOMEM, "SHA-256 failed");
    if (CRYPTO_memcmp(want, mrenclave, CLOAK_MEASUREMENT_BYTES) != 0)
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "image code does not match its measurement (mrenclave at offset "
                               "0x%x): the code or heap size was tampered with after signing",
                               CLOAK_IMAGE_HEADER_BYTES + OFF_MRENCLAVE);
    /* After the measurement, so tampered code reports as tampering, not as a bad format. */
    if (!is_elf(code, (size_t)code_len))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "image code (offset 0x%x) is not an ELF shared object",
                               SIGNED_BYTES);

    memcpy(img->id.mrenclave, mrenclave, CLOAK_MEASUREMENT_BYTES);
    memcpy(img->id.mrsigner, mrsigner, CLOAK_SIGNER_BYTES);
    img->id.product_id = product_id;
    img->id.svn = svn;
    img->id.debug = (flags & CLOAK_IMAGE_FLAG_DEBUG) ? 1 : 0;
    img->id.heap = heap;
    img->code = code;
    img->code_len = (size_t)code_len;
    return CLOAK_OK;
}

cloak_err cloak_image_open(const uint8_t *p, size_t len, cloak_image **out, cloak_error *why)
{
    cloak_err rc = CLOAK_EINVAL;
    cloak_image *img = NULL;
    if (!out || (!p && len)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "cloak_image_open: missing argument");
        goto out;
    }
    img = calloc(1, sizeof *img);
    if (!img || !(img->bytes = malloc(len ? len : 1))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory for a %zu-byte image", len);
        goto out;
    }
    if (len) memcpy(img->bytes, p, len);
    img->len = len;
    rc = parse_and_verify(img->bytes, len, img, why);
    if (rc) goto out;
    img->magic = IMAGE_HANDLE_MAGIC;
    *out = img;
    img = NULL;
out:
    cloak_image_free(img);
    return rc;
}

cloak_err cloak_image_open_file(const char *path, cloak_image **out, cloak_error *why)
{
    uint8_t *p = NULL;
    size_t len = 0;
    cloak_err rc = cloak_file_read(path, &p, &len, why);
    if (rc) goto out;
    rc = cloak_image_open(p, len, out, why);
    if (rc) cloak_error_wrap(why, "%s", path);
out:
    free(p);
    return rc;
}

const cloak_image_identity *cloak_image_id(const cloak_image *img)
{
    if (!img || img->magic != IMAGE_HANDLE_MAGIC) abort(); /* wrong or freed handle */
    return &img->id;
}

void cloak_image_code(const cloak_image *img, const uint8_t **code, size_t *len)
{
    if (!img || img->magic != IMAGE_HANDLE_MAGIC) abort(); /* wrong or freed handle */
    *code = img->code;
    *len = img->code_len;
}

void cloak_image_free(cloak_image *img)
{
    if (!img) return;
    free(img->bytes);
    OPENSSL_cleanse(img, sizeof *img); /* clears the handle magic: use-after-free aborts */
    free(img);
}
