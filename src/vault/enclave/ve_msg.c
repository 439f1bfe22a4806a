/*
 * The vault enclave's message codec (see ve_msg.h): cursor, writer and the structural decoders
 * of GENERATE, IMPORT, CRYPT, RELEASE and RANDOM. Compiled into the enclave and into the
 * fuzzer; depends on nothing but cloak/base.h's byte-order helpers.
 *
 * Trust: every read is bounds-checked against what is left (lengths are compared as
 * `len - off < n`, which cannot overflow since off <= len); a failed read poisons the cursor so
 * later reads fail too.
 */
#include "ve_msg.h"

#include "cloak/base.h"

#include <stdint.h>
#include <string.h>

int ve_take_u8(ve_in *r, uint8_t *v)
{
    if (r->failed || r->len - r->off < 1) return r->failed = 1, -1;
    *v = r->p[r->off++];
    return 0;
}

int ve_take_u32(ve_in *r, uint32_t *v)
{
    if (r->failed || r->len - r->off < 4) return r->failed = 1, -1;
    *v = cloak_get_u32le(r->p + r->off);
    r->off += 4;
    return 0;
}

int ve_take_bytes(ve_in *r, const uint8_t **p, size_t *len)
{
    uint32_t n;
    if (ve_take_u32(r, &n)) return -1;
    if (r->len - r->off < n) return r->failed = 1, -1;
    *p = r->p + r->off;
    *len = n;
    r->off += n;
    return 0;
}

int ve_in_end(const ve_in *r)
{
    return r->failed || r->off != r->len ? -1 : 0;
}

static int room(ve_out *w, size_t n)
{
    if (w->failed || w->cap - w->len < n) return w->failed = 1, 0;
    return 1;
}

void ve_put_u8(ve_out *w, uint8_t v)
{
    if (room(w, 1)) w->p[w->len++] = v;
}

void ve_put_u32(ve_out *w, uint32_t v)
{
    if (!room(w, 4)) return;
    cloak_put_u32le(w->p + w->len, v);
    w->len += 4;
}

void ve_put_raw(ve_out *w, const uint8_t *p, size_t len)
{
    if (!room(w, len)) return;
    if (len) memcpy(w->p + w->len, p, len);
    w->len += len;
}

void ve_put_bytes(ve_out *w, const uint8_t *p, size_t len)
{
    if (len > UINT32_MAX) {
        w->failed = 1;
        return;
    }
    ve_put_u32(w, (uint32_t)len);
    ve_put_raw(w, p, len);
}

/* ---- requests ---- */

int ve_parse_generate(const uint8_t *in, size_t len, ve_generate_msg *m)
{
    ve_in r;
    ve_in_init(&r, in, len);
    if (ve_take_u8(&r, &m->type) || ve_take_u32(&r, &m->bits) ||
        ve_take_bytes(&r, &m->crv, &m->crv_len) || ve_take_bytes(&r, &m->bind, &m->bind_len) ||
        ve_in_end(&r))
        return -1;
    return 0;
}

int ve_parse_import(const uint8_t *in, size_t len, ve_import_msg *m)
{
    ve_in r;
    ve_in_init(&r, in, len);
    if (ve_take_u8(&r, &m->type) || ve_take_bytes(&r, &m->bind, &m->bind_len) ||
        ve_take_u8(&r, &m->count) || m->count > VE_MSG_MAX_FIELDS)
        return -1;
    for (size_t i = 0; i < m->count; i++)
        if (ve_take_bytes(&r, &m->f[i], &m->fl[i])) return -1;
    return ve_in_end(&r);
}

int ve_parse_crypt(const uint8_t *in, size_t len, ve_crypt_msg *m)
{
    ve_in r;
    ve_req *q = &m->rq;
    ve_in_init(&r, in, len);
    if (ve_take_u8(&r, &m->op) || ve_take_bytes(&r, &m->alg, &m->alg_len) ||
        ve_take_bytes(&r, &m->blob, &m->blob_len) || ve_take_bytes(&r, &m->bind, &m->bind_len) ||
        ve_take_bytes(&r, &q->value, &q->value_len) ||
        ve_take_bytes(&r, &q->digest, &q->digest_len) || ve_take_bytes(&r, &q->iv, &q->iv_len) ||
        ve_take_bytes(&r, &q->aad, &q->aad_len) || ve_take_bytes(&r, &q->tag, &q->tag_len) ||
        ve_in_end(&r))
        return -1;
    return 0;
}

int ve_parse_release(const uint8_t *in, size_t len, ve_release_msg *m)
{
    ve_in r;
    ve_in_init(&r, in, len);
    if (ve_take_bytes(&r, &m->blob, &m->blob_len) || ve_take_bytes(&r, &m->bind, &m->bind_len) ||
        ve_take_bytes(&r, &m->kek_n, &m->kek_n_len) ||
        ve_take_bytes(&r, &m->kek_e, &m->kek_e_len) || ve_take_bytes(&r, &m->enc, &m->enc_len) ||
        ve_in_end(&r))
        return -1;
    return 0;
}

int ve_parse_random(const uint8_t *in, size_t len, uint32_t *n)
{
    ve_in r;
    ve_in_init(&r, in, len);
    return ve_take_u32(&r, n) || ve_in_end(&r) ? -1 : 0;
}

int ve_alg_name(const uint8_t *alg, size_t alg_len, char name[VE_ALG_NAME_MAX])
{
    if (alg_len == 0 || alg_len >= VE_ALG_NAME_MAX || memchr(alg, 0, alg_len)) return -1;
    memcpy(name, alg, alg_len);
    name[alg_len] = 0;
    return 0;
}
