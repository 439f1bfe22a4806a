/*
 * The SEV-SNP certificate table the host hands an SNP guest with its extended report
 * (configfs-tsm auxblob, SNP_GET_EXT_REPORT certs buffer). GHCB spec 56421 §4.1.8.1:
 *
 *     entry  = GUID (16 bytes) | offset (u32 LE) | length (u32 LE)
 *     table  = entry* | all-zero entry
 *     offset = from the start of the table, pointing past the entries
 *
 * The host is hostile: every entry is bounds-checked (64-bit sums, no wrap), certificate bytes
 * must lie after the entry list, a known GUID may appear once, and each known certificate must
 * parse as X.509. Unknown GUIDs (for example a CRL some hosts add) are bounds-checked and
 * skipped.
 */
#include "attester/attester_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define ENTRY_BYTES 24
#define GUID_BYTES 16

/* The GUIDs in the byte order they have on the wire: the RFC 4122 order the text form is
 * written in (go-sev-guest compares uuid.Parse bytes; AMD's sev-guest tools use uuid_parse).
 * Text forms: GHCB spec 56421 Table 21 / virtee sev CertType / go-sev-guest abi.go. */
static const struct {
    uint8_t guid[GUID_BYTES];
    cloak_snp_cert_kind kind;
    const char *text;
} known_guids[] = {
    {{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
      0xcd},
     CLOAK_SNP_CERT_VCEK,
     "63da758d-e664-4564-adc5-f4b93be8accd"},
    {{0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8,
      0xa1},
     CLOAK_SNP_CERT_VLEK,
     "a8074bc2-a25a-483e-aae6-39c045a0b8a1"},
    {{0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7,
      0x82},
     CLOAK_SNP_CERT_ASK,
     "4ab7b379-bbac-4fe4-a02f-05aef327c782"},
    {{0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0,
      0xae},
     CLOAK_SNP_CERT_ARK,
     "c0b406a4-a803-4952-9743-3fb6014cd0ae"},
};
#define NKINDS (sizeof known_guids / sizeof known_guids[0])
_Static_assert(NKINDS == CLOAK_ATTESTER_MAX_CERTS, "one slot per known certificate");

static int known_kind(const uint8_t *guid)
{
    for (size_t k = 0; k < NKINDS; k++)
        if (!memcmp(guid, known_guids[k].guid, GUID_BYTES)) return (int)known_guids[k].kind;
    return -1;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* One certificate as DER into `store`: DER is copied as is (zero padding after it is
 * dropped), PEM is decoded. */
static cloak_err cert_to_der(const uint8_t *p, size_t len, const char *name, size_t off,
                             cloak_buf *store, cloak_error *why)
{
    static const char pem_begin[] = "-----BEGIN ";
    X509 *x = NULL;
    BIO *bio = NULL;
    uint8_t *der = NULL;
    cloak_err rc = CLOAK_EINVAL;
    if (len >= sizeof pem_begin - 1 && !memcmp(p, pem_begin, sizeof pem_begin - 1)) {
        bio = BIO_new_mem_buf(p, (int)len);
        if (!bio) {
            rc = cloak_error_openssl(why, CLOAK_ENOMEM, "out of memory");
            goto out;
        }
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        int n = x ? i2d_X509(x, &der) : -1;
        if (n <= 0) {
            ERR_clear_error();
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "certificate table: the %s entry (offset %zu) is PEM but not an "
                                 "X.509 certificate",
                                 name, off);
            goto out;
        }
        cloak_buf_put(store, der, (size_t)n);
    } else {
        const uint8_t *q = p;
        x = d2i_X509(NULL, &q, (long)len);
        size_t used = x ? (size_t)(q - p) : 0;
        if (!x || used > len || !all_zero(q, len - used)) {
            ERR_clear_error();
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "certificate table: the %s entry (offset %zu, %zu bytes) is not "
                                 "a DER or PEM X.509 certificate",
                                 name, off, len);
            goto out;
        }
        cloak_buf_put(store, p, used);
    }
    rc = store->failed ? cloak_error_set(why, CLOAK_ENOMEM, "out of memory") : CLOAK_OK;
out:
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(bio);
    return rc;
}

cloak_err att_snp_certs_parse(const uint8_t *p, size_t len, cloak_evidence_blob *out,
                              cloak_error *why)
{
    const uint8_t *ref[NKINDS] = {0};
    size_t ref_len[NKINDS] = {0}, ref_off[NKINDS] = {0}, entries = 0, der_off[NKINDS] = {0},
           der_len[NKINDS] = {0};
    cloak_buf store = {0};
    cloak_reader r;
    cloak_err rc = CLOAK_EINVAL;
    if (!out || out->cert_store || (!p && len)) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "att_snp_certs_parse: bad arguments");
        goto out;
    }
    if (len == 0) { /* the host supplied no table at all */
        out->ncerts = 0;
        rc = CLOAK_OK;
        goto out;
    }
    if (len > ATT_CERT_TABLE_MAX) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "certificate table is %zu bytes; refusing more than %u", len,
                             ATT_CERT_TABLE_MAX);
        goto out;
    }
    /* Pass 1: find the terminator; the entry list ends there. */
    cloak_reader_init(&r, p, len);
    for (;;) {
        const uint8_t *e;
        if (cloak_take_ref(&r, &e, ENTRY_BYTES)) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "certificate table has no all-zero terminator entry (%zu "
                                 "entries in %zu bytes)",
                                 entries, len);
            goto out;
        }
        if (all_zero(e, ENTRY_BYTES)) break;
        entries++;
    }
    const size_t list_end = r.off;
    /* Pass 2: check every entry's range; remember the known certificates. */
    cloak_reader_init(&r, p, list_end - ENTRY_BYTES);
    for (size_t i = 0; i < entries; i++) {
        const uint8_t *guid = NULL;
        uint32_t off = 0, n = 0;
        cloak_take_ref(&r, &guid, GUID_BYTES);
        cloak_take_u32le(&r, &off);
        cloak_take_u32le(&r, &n);
        if (r.failed) {
            rc = cloak_error_set(why, CLOAK_EINTERNAL, "certificate table: reader overrun");
            goto out;
        }
        int k = known_kind(guid);
        const char *name = k >= 0 ? cloak_snp_cert_kind_name((cloak_snp_cert_kind)k) : "unknown";
        if (n > 0 && ((uint64_t)off < list_end || (uint64_t)off + n > len)) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "certificate table entry %zu (%s) claims bytes [%u, %llu) but "
                                 "certificates lie in [%zu, %zu)",
                                 i, name, off, (unsigned long long)off + n, list_end, len);
            goto out;
        }
        if (k < 0) continue;
        if (n == 0) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "certificate table entry %zu (%s, GUID %s) is empty", i, name,
                                 known_guids[k].text);
            goto out;
        }
        if (ref[k]) {
            rc = cloak_error_set(why, CLOAK_EINVAL,
                                 "certificate table lists the %s (GUID %s) twice (entry %zu)", name,
                                 known_guids[k].text, i);
            goto out;
        }
        ref[k] = p + off;
        ref_len[k] = n;
        ref_off[k] = off;
    }
    /* Pass 3: each known certificate as DER, in slot order. */
    for (size_t k = 0; k < NKINDS; k++) {
        if (!ref[k]) continue;
        der_off[k] = store.len;
        rc = cert_to_der(ref[k], ref_len[k], cloak_snp_cert_kind_name((cloak_snp_cert_kind)k),
                         ref_off[k], &store, why);
        if (rc) goto out;
        der_len[k] = store.len - der_off[k];
    }
    /* Commit. */
    size_t m = 0;
    for (size_t k = 0; k < NKINDS; k++) {
        if (!ref[k]) continue;
        out->certs[m] = store.p + der_off[k];
        out->cert_lens[m] = der_len[k];
        out->cert_kinds[m] = (cloak_snp_cert_kind)k;
        m++;
    }
    out->ncerts = m;
    out->cert_store = store.p;
    store.p = NULL;
    rc = CLOAK_OK;
out:
    cloak_buf_free(&store);
    return rc;
}
