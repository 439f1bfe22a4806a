/* libFuzzer target: the vault enclave's request decoding (src/vault/enclave/ve_msg.c, compiled
 * here exactly as in the enclave): the field cursor and the parse step of every VE_FID_*
 * handler with fields (GENERATE, IMPORT, CRYPT, RELEASE, RANDOM) and CRYPT's algorithm-name
 * copy, up to but not including the crypto. MASTER_OPEN, BACKUP_SEAL/OPEN and SCRUB take raw
 * bytes (nothing to decode).
 *
 * Input: one request. Every decoder runs on it (a hostile host may send any bytes to any id,
 * so each decoder must be safe on all of them). Properties checked (abort on violation):
 *   - every decoded field lies inside the request;
 *   - the encoding is canonical: re-encoding a decoded message with the enclave's writer gives
 *     back exactly the request bytes (so nothing was skipped, double-read or left over);
 *   - a writer with too little room fails instead of writing past its capacity;
 *   - the raw cursor agrees: reading the same fields with ve_take_* ends exactly where the
 *     decoder said the message ends. */
#include "vault/enclave/ve_msg.h"
#include "vault/enclave/vault_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t *g_in;
static size_t g_len;

static void inside(const uint8_t *p, size_t n)
{
    if (n == 0) return;
    if (p < g_in || p > g_in + g_len || n > (size_t)(g_in + g_len - p)) abort();
}

/* Re-encode with the writer into a buffer of exactly `len` bytes (and one byte short, which
 * must fail) and compare with the request. */
typedef void (*encode_fn)(ve_out *w, const void *m);

static void roundtrip(encode_fn enc, const void *m, const uint8_t *in, size_t len)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) abort();
    ve_out w = {buf, 0, len, 0};
    enc(&w, m);
    if (w.failed || w.len != len || (len && memcmp(buf, in, len))) abort();
    if (len) {
        ve_out s = {buf, 0, len - 1, 0};
        enc(&s, m);
        if (!s.failed || s.len > len - 1) abort();
    }
    free(buf);
}

static void enc_generate(ve_out *w, const void *p)
{
    const ve_generate_msg *m = p;
    ve_put_u8(w, m->type);
    ve_put_u32(w, m->bits);
    ve_put_bytes(w, m->crv, m->crv_len);
    ve_put_bytes(w, m->bind, m->bind_len);
}

static void enc_import(ve_out *w, const void *p)
{
    const ve_import_msg *m = p;
    ve_put_u8(w, m->type);
    ve_put_bytes(w, m->bind, m->bind_len);
    ve_put_u8(w, m->count);
    for (size_t i = 0; i < m->count; i++)
        ve_put_bytes(w, m->f[i], m->fl[i]);
}

static void enc_crypt(ve_out *w, const void *p)
{
    const ve_crypt_msg *m = p;
    ve_put_u8(w, m->op);
    ve_put_bytes(w, m->alg, m->alg_len);
    ve_put_bytes(w, m->blob, m->blob_len);
    ve_put_bytes(w, m->bind, m->bind_len);
    ve_put_bytes(w, m->rq.value, m->rq.value_len);
    ve_put_bytes(w, m->rq.digest, m->rq.digest_len);
    ve_put_bytes(w, m->rq.iv, m->rq.iv_len);
    ve_put_bytes(w, m->rq.aad, m->rq.aad_len);
    ve_put_bytes(w, m->rq.tag, m->rq.tag_len);
}

static void enc_release(ve_out *w, const void *p)
{
    const ve_release_msg *m = p;
    ve_put_bytes(w, m->blob, m->blob_len);
    ve_put_bytes(w, m->bind, m->bind_len);
    ve_put_bytes(w, m->kek_n, m->kek_n_len);
    ve_put_bytes(w, m->kek_e, m->kek_e_len);
    ve_put_bytes(w, m->enc, m->enc_len);
}

static void enc_random(ve_out *w, const void *p)
{
    ve_put_u32(w, *(const uint32_t *)p);
}

/* Reading the fields of `layout` ('b' u8, 'w' u32, 'B' bytes) with the raw cursor must end
 * exactly at the end of the request. */
static void cursor_agrees(const char *layout, const uint8_t *in, size_t len)
{
    ve_in r;
    ve_in_init(&r, in, len);
    for (const char *c = layout; *c; c++) {
        uint8_t b;
        uint32_t u;
        const uint8_t *p;
        size_t n;
        int rc = *c == 'b'   ? ve_take_u8(&r, &b)
                 : *c == 'w' ? ve_take_u32(&r, &u)
                             : ve_take_bytes(&r, &p, &n);
        if (rc) abort();
        if (*c == 'B') inside(p, n);
    }
    if (ve_in_end(&r)) abort();
    /* a read past the end fails and poisons the cursor */
    uint8_t b;
    if (!ve_take_u8(&r, &b) || !r.failed || !ve_in_end(&r)) abort();
}

static void all_decoders(const uint8_t *in, size_t len)
{
    g_in = in;
    g_len = len;
    ve_generate_msg g;
    if (!ve_parse_generate(in, len, &g)) {
        inside(g.crv, g.crv_len);
        inside(g.bind, g.bind_len);
        roundtrip(enc_generate, &g, in, len);
        cursor_agrees("bwBB", in, len);
    }
    ve_import_msg im;
    if (!ve_parse_import(in, len, &im)) {
        if (im.count > VE_IMPORT_RSA_FIELDS) abort();
        inside(im.bind, im.bind_len);
        char layout[16] = "bBb";
        for (size_t i = 0; i < im.count; i++) {
            inside(im.f[i], im.fl[i]);
            layout[3 + i] = 'B';
        }
        layout[3 + im.count] = 0;
        roundtrip(enc_import, &im, in, len);
        cursor_agrees(layout, in, len);
    }
    ve_crypt_msg c;
    if (!ve_parse_crypt(in, len, &c)) {
        inside(c.alg, c.alg_len);
        inside(c.blob, c.blob_len);
        inside(c.bind, c.bind_len);
        inside(c.rq.value, c.rq.value_len);
        inside(c.rq.digest, c.rq.digest_len);
        inside(c.rq.iv, c.rq.iv_len);
        inside(c.rq.aad, c.rq.aad_len);
        inside(c.rq.tag, c.rq.tag_len);
        roundtrip(enc_crypt, &c, in, len);
        cursor_agrees("bBBBBBBBB", in, len);
        char name[VE_ALG_NAME_MAX];
        memset(name, 0x5a, sizeof name);
        if (!ve_alg_name(c.alg, c.alg_len, name)) {
            if (c.alg_len == 0 || c.alg_len >= VE_ALG_NAME_MAX || strlen(name) != c.alg_len ||
                memcmp(name, c.alg, c.alg_len))
                abort();
        } else if (c.alg_len > 0 && c.alg_len < VE_ALG_NAME_MAX && !memchr(c.alg, 0, c.alg_len)) {
            abort(); /* a valid name was refused */
        }
    }
    ve_release_msg rl;
    if (!ve_parse_release(in, len, &rl)) {
        inside(rl.blob, rl.blob_len);
        inside(rl.bind, rl.bind_len);
        inside(rl.kek_n, rl.kek_n_len);
        inside(rl.kek_e, rl.kek_e_len);
        inside(rl.enc, rl.enc_len);
        roundtrip(enc_release, &rl, in, len);
        cursor_agrees("BBBBB", in, len);
    }
    uint32_t n;
    if (!ve_parse_random(in, len, &n)) {
        if (len != 4) abort();
        roundtrip(enc_random, &n, in, len);
    } else if (len == 4) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size heap copy, so ASan sees any read past the request */
    uint8_t *req = malloc(size ? size : 1);
    if (!req) abort();
    if (size) memcpy(req, data, size);
    all_decoders(req, size);
    free(req);
    return 0;
}
