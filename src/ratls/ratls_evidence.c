/* The evidence extension: a CBOR subset, building and parsing the Interoperable RA-TLS value.
 *
 * Interoperable RA-TLS, "X.509 Cert and Evidence Formats" and "SGX / TDX Evidence Tags and
 * Formats" (github.com/CCC-Attestation/interoperable-ra-tls/docs):
 *   extension 2.23.133.5.4.9 = tag(60000, [ bstr quote, bstr claims ])
 *   claims   = { "pubkey-hash": bstr(hash-entry), ? "nonce": bstr, * other: ignored }
 *   hash-entry = [ uint hash-alg-id, bstr hash of the DER SubjectPublicKeyInfo ]   (CoSWID)
 *   quote REPORTDATA[0:32] = SHA-256(claims bytes)
 * Everything here is parsing untrusted bytes; nothing is verified (ratls.c does that). */
#include "ratls/ratls_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#define CBOR_MAX_DEPTH 16 /* claims values are flat; anything deeper is not ours */

/* ---- writer ---- */

void cbor_put_head(cloak_buf *b, int major, uint64_t v)
{
    uint8_t h[9];
    size_t n;
    uint8_t m = (uint8_t)(major << 5);
    if (v < 24) {
        h[0] = (uint8_t)(m | v);
        n = 1;
    } else if (v <= 0xff) {
        h[0] = m | 24;
        h[1] = (uint8_t)v;
        n = 2;
    } else if (v <= 0xffff) {
        h[0] = m | 25;
        h[1] = (uint8_t)(v >> 8);
        h[2] = (uint8_t)v;
        n = 3;
    } else if (v <= 0xffffffffu) {
        h[0] = m | 26;
        for (int i = 0; i < 4; i++)
            h[1 + i] = (uint8_t)(v >> (24 - 8 * i));
        n = 5;
    } else {
        h[0] = m | 27;
        for (int i = 0; i < 8; i++)
            h[1 + i] = (uint8_t)(v >> (56 - 8 * i));
        n = 9;
    }
    cloak_buf_put(b, h, n);
}

void cbor_put_bytes(cloak_buf *b, int major, const void *p, size_t len)
{
    cbor_put_head(b, major, len);
    cloak_buf_put(b, p, len);
}

/* ---- reader ---- */

int cbor_take_head(cbor_reader *r, int *major, uint64_t *value)
{
    if (r->off >= r->len) return -1;
    uint8_t ib = r->p[r->off++];
    uint8_t ai = ib & 0x1f;
    uint64_t v = 0;
    size_t n;
    *major = ib >> 5;
    if (ai < 24) {
        *value = ai;
        return 0;
    }
    switch (ai) {
    case 24:
        n = 1;
        break;
    case 25:
        n = 2;
        break;
    case 26:
        n = 4;
        break;
    case 27:
        n = 8;
        break;
    default:
        return -1; /* 28..30 reserved, 31 indefinite length: the format says definite */
    }
    if (r->len - r->off < n) return -1;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | r->p[r->off + i];
    r->off += n;
    *value = v;
    return 0;
}

int cbor_take_expect(cbor_reader *r, int major, uint64_t *value)
{
    int got;
    if (cbor_take_head(r, &got, value) || got != major) return -1;
    return 0;
}

int cbor_take_string(cbor_reader *r, int major, const uint8_t **p, size_t *len)
{
    uint64_t n;
    if (cbor_take_expect(r, major, &n) || n > r->len - r->off) return -1;
    *p = r->p + r->off;
    *len = (size_t)n;
    r->off += (size_t)n;
    return 0;
}

static int skip_depth(cbor_reader *r, int depth)
{
    int major;
    uint64_t v;
    if (depth > CBOR_MAX_DEPTH || cbor_take_head(r, &major, &v)) return -1;
    switch (major) {
    case CBOR_BSTR:
    case CBOR_TSTR:
        if (v > r->len - r->off) return -1;
        r->off += (size_t)v;
        return 0;
    case CBOR_ARRAY:
    case CBOR_MAP:
        /* every item takes at least one byte: a count above what is left is malformed */
        if (v > r->len - r->off || (major == CBOR_MAP && v > (r->len - r->off) / 2)) return -1;
        for (uint64_t i = 0; i < (major == CBOR_MAP ? 2 * v : v); i++)
            if (skip_depth(r, depth + 1)) return -1;
        return 0;
    case CBOR_TAG:
        return skip_depth(r, depth + 1);
    default: /* 0, 1: integers; 7: simple values and floats (argument already consumed) */
        return 0;
    }
}

int cbor_skip(cbor_reader *r)
{
    return skip_depth(r, 0);
}

/* ---- building ---- */

int ratls_hash(int hash_alg, const uint8_t *p, size_t len, uint8_t out[CLOAK_RATLS_MAX_HASH_BYTES],
               size_t *out_len)
{
    const EVP_MD *md = hash_alg == CLOAK_RATLS_HASH_SHA256   ? EVP_sha256()
                       : hash_alg == CLOAK_RATLS_HASH_SHA384 ? EVP_sha384()
                       : hash_alg == CLOAK_RATLS_HASH_SHA512 ? EVP_sha512()
                                                             : NULL;
    unsigned n = 0;
    if (!md || !EVP_Digest(p, len, out, &n, md, NULL)) return -1;
    *out_len = n;
    return 0;
}

cloak_err ratls_spki_der(EVP_PKEY *key, uint8_t **der, size_t *len, cloak_error *why)
{
    unsigned char *p = NULL;
    int n = i2d_PUBKEY(key, &p);
    if (n <= 0)
        return cloak_error_openssl(why, CLOAK_EINVAL,
                                   "encoding the public key (SubjectPublicKeyInfo)");
    *der = p;
    *len = (size_t)n;
    return CLOAK_OK;
}

cloak_err ratls_build_claims(int hash_alg, const uint8_t *spki, size_t spki_len,
                             const uint8_t *nonce, size_t nonce_len, cloak_buf *out,
                             cloak_error *why)
{
    uint8_t h[CLOAK_RATLS_MAX_HASH_BYTES];
    size_t hl = 0;
    cloak_buf entry = {0}, claims = {0};
    cloak_err rc = CLOAK_OK;
    if (ratls_hash(hash_alg, spki, spki_len, h, &hl)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "unknown pubkey-hash algorithm %d", hash_alg);
        goto out;
    }
    /* hash-entry = [alg, bstr hash], itself serialized into a bstr */
    cbor_put_head(&entry, CBOR_ARRAY, 2);
    cbor_put_head(&entry, CBOR_UINT, (uint64_t)hash_alg);
    cbor_put_bytes(&entry, CBOR_BSTR, h, hl);
    cbor_put_head(&claims, CBOR_MAP, nonce_len ? 2 : 1);
    cbor_put_bytes(&claims, CBOR_TSTR, "pubkey-hash", 11);
    cbor_put_bytes(&claims, CBOR_BSTR, entry.p, entry.len);
    if (nonce_len) {
        cbor_put_bytes(&claims, CBOR_TSTR, "nonce", 5);
        cbor_put_bytes(&claims, CBOR_BSTR, nonce, nonce_len);
    }
    if (entry.failed || claims.failed) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory building the claims");
        goto out;
    }
    *out = claims;
    memset(&claims, 0, sizeof claims);
out:
    cloak_buf_free(&entry);
    cloak_buf_free(&claims);
    return rc;
}

cloak_err ratls_build_extension(const uint8_t *evidence, size_t evidence_len, const uint8_t *claims,
                                size_t claims_len, cloak_buf *out, cloak_error *why)
{
    cloak_buf b = {0};
    cbor_put_head(&b, CBOR_TAG, CLOAK_RATLS_CBOR_TAG_INTEL_QUOTE);
    cbor_put_head(&b, CBOR_ARRAY, 2);
    cbor_put_bytes(&b, CBOR_BSTR, evidence, evidence_len);
    cbor_put_bytes(&b, CBOR_BSTR, claims, claims_len);
    if (b.failed) {
        cloak_buf_free(&b);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory building the evidence extension");
    }
    *out = b;
    return CLOAK_OK;
}

cloak_err ratls_report_data(const uint8_t *claims, size_t claims_len,
                            uint8_t out[CLOAK_REPORT_DATA_BYTES], cloak_error *why)
{
    size_t n = 0;
    memset(out, 0, CLOAK_REPORT_DATA_BYTES);
    if (ratls_hash(CLOAK_RATLS_HASH_SHA256, claims, claims_len, out, &n) || n != 32)
        return cloak_error_openssl(why, CLOAK_EINTERNAL, "SHA-256 of the claims");
    return CLOAK_OK;
}

/* ---- parsing ---- */

void cloak_ratls_evidence_clear(cloak_ratls_evidence *e)
{
    if (!e) return;
    free(e->evidence);
    free(e->claims);
    free(e->nonce);
    memset(e, 0, sizeof *e);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n) memcpy(d, p, n);
    return d;
}

/* hash-entry = [alg, bstr]: the value of "pubkey-hash" */
static cloak_err parse_hash_entry(const uint8_t *p, size_t len, cloak_ratls_evidence *e,
                                  cloak_error *why)
{
    cbor_reader r = {p, len, 0};
    uint64_t n, alg;
    const uint8_t *h;
    size_t hl, want;
    uint8_t scratch[CLOAK_RATLS_MAX_HASH_BYTES];
    if (cbor_take_expect(&r, CBOR_ARRAY, &n) || n != 2 || cbor_take_expect(&r, CBOR_UINT, &alg) ||
        cbor_take_string(&r, CBOR_BSTR, &h, &hl) || r.off != r.len)
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "RA-TLS claim \"pubkey-hash\" is not a CBOR [hash-alg-id, bstr hash]");
    if (alg > 255 || ratls_hash((int)alg, (const uint8_t *)"", 0, scratch, &want))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "RA-TLS claim \"pubkey-hash\" uses hash algorithm %llu; supported: "
                               "1 (sha-256), 7 (sha-384), 8 (sha-512)",
                               (unsigned long long)alg);
    if (hl != want)
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "RA-TLS claim \"pubkey-hash\" is %zu bytes, but algorithm %llu gives %zu", hl,
            (unsigned long long)alg, want);
    e->hash_alg = (int)alg;
    memcpy(e->pubkey_hash, h, hl);
    e->pubkey_hash_len = hl;
    return CLOAK_OK;
}

/* claims = map { tstr => bstr }: pubkey-hash required, nonce optional, others ignored. Each of
 * the two may appear once; a second copy would let a reader pick a different one than we do. */
static cloak_err parse_claims(const uint8_t *p, size_t len, cloak_ratls_evidence *e,
                              cloak_error *why)
{
    cbor_reader r = {p, len, 0};
    uint64_t n;
    int seen_hash = 0;
    cloak_err rc;
    if (cbor_take_expect(&r, CBOR_MAP, &n) || n > len)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "RA-TLS claims are not a definite-length CBOR map");
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *k, *v;
        size_t kl, vl;
        if (cbor_take_string(&r, CBOR_TSTR, &k, &kl) || cbor_take_string(&r, CBOR_BSTR, &v, &vl))
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "RA-TLS claim %llu is not a text name with a byte-string value",
                                   (unsigned long long)i);
        if (kl == 11 && !memcmp(k, "pubkey-hash", 11)) {
            if (seen_hash++)
                return cloak_error_set(why, CLOAK_EINVAL,
                                       "RA-TLS claims name \"pubkey-hash\" twice");
            if ((rc = parse_hash_entry(v, vl, e, why))) return rc;
        } else if (kl == 5 && !memcmp(k, "nonce", 5)) {
            if (e->nonce)
                return cloak_error_set(why, CLOAK_EINVAL, "RA-TLS claims name \"nonce\" twice");
            if (!(e->nonce = dup_bytes(v, vl)))
                return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            e->nonce_len = vl;
        }
    }
    if (r.off != r.len)
        return cloak_error_set(why, CLOAK_EINVAL, "RA-TLS claims have %zu bytes after the map",
                               r.len - r.off);
    if (!seen_hash)
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "RA-TLS claims have no \"pubkey-hash\": the evidence is not bound to a key");
    return CLOAK_OK;
}

cloak_err cloak_ratls_evidence_parse(const uint8_t *p, size_t len, cloak_ratls_evidence *out,
                                     cloak_error *why)
{
    cloak_ratls_evidence e;
    cbor_reader r = {p, len, 0};
    uint64_t tag, n;
    const uint8_t *ev, *cl;
    size_t evl, cll;
    cloak_err rc = CLOAK_OK;
    memset(&e, 0, sizeof e);
    if (!out || (!p && len))
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_ratls_evidence_parse: no input");
    if (cbor_take_expect(&r, CBOR_TAG, &tag)) {
        rc = cloak_error_set(
            why, CLOAK_EINVAL,
            "RA-TLS evidence extension is not a tagged CBOR item (first byte 0x%02x)",
            len ? p[0] : 0);
        goto out;
    }
    if (tag != CLOAK_RATLS_CBOR_TAG_INTEL_QUOTE) {
        rc = cloak_error_set(
            why, CLOAK_EUNSUPPORTED,
            "RA-TLS evidence has CBOR tag %llu; only %u (Intel TEE quote) is supported",
            (unsigned long long)tag, CLOAK_RATLS_CBOR_TAG_INTEL_QUOTE);
        goto out;
    }
    if (cbor_take_expect(&r, CBOR_ARRAY, &n) || n != 2 ||
        cbor_take_string(&r, CBOR_BSTR, &ev, &evl) || cbor_take_string(&r, CBOR_BSTR, &cl, &cll)) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "RA-TLS evidence is not [bstr quote, bstr claims] inside tag 60000");
        goto out;
    }
    if (r.off != r.len) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "RA-TLS evidence extension has %zu bytes after the CBOR item",
                             r.len - r.off);
        goto out;
    }
    if (evl == 0) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "RA-TLS evidence holds an empty quote");
        goto out;
    }
    e.tag = tag;
    if ((rc = parse_claims(cl, cll, &e, why))) goto out;
    if (!(e.evidence = dup_bytes(ev, evl)) || !(e.claims = dup_bytes(cl, cll))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    e.evidence_len = evl;
    e.claims_len = cll;
    *out = e;
    memset(&e, 0, sizeof e);
out:
    cloak_ratls_evidence_clear(&e);
    return rc;
}

cloak_err cloak_ratls_evidence_get(X509 *cert, cloak_ratls_evidence *out, cloak_error *why)
{
    ASN1_OBJECT *oid = NULL;
    cloak_err rc = CLOAK_OK;
    if (!cert || !out)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_ratls_evidence_get: no certificate");
    if (!(oid = OBJ_txt2obj(CLOAK_RATLS_EVIDENCE_OID, 1))) {
        rc = cloak_error_openssl(why, CLOAK_EINTERNAL, "parsing the evidence OID");
        goto out;
    }
    int idx = X509_get_ext_by_OBJ(cert, oid, -1);
    if (idx < 0) {
        rc = cloak_error_set(why, CLOAK_ENOTFOUND,
                             "certificate has no RA-TLS evidence extension (OID %s): it is not an "
                             "attested certificate",
                             CLOAK_RATLS_EVIDENCE_OID);
        goto out;
    }
    if (X509_get_ext_by_OBJ(cert, oid, idx) >= 0) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "certificate has two RA-TLS evidence extensions (OID %s)",
                             CLOAK_RATLS_EVIDENCE_OID);
        goto out;
    }
    const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    if (!v) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "RA-TLS evidence extension has no value");
        goto out;
    }
    rc = cloak_ratls_evidence_parse(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), out,
                                    why);
out:
    ASN1_OBJECT_free(oid);
    return rc;
}
