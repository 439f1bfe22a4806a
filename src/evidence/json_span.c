/* A small JSON scanner that finds the exact bytes of one top-level member's value.
 *
 * Why: Intel signs the bytes of the "tcbInfo" / "enclaveIdentity" value exactly as PCS served
 * them (attestation.md §2 step 7; MANIFEST quirk 2). A JSON parser gives us values, not their
 * bytes, and re-serialising changes them. So we walk the text: strings (with escapes),
 * objects and arrays (with a depth limit) and bare literals, and return where the value
 * starts and ends. The scanner does not validate numbers or literals; callers parse the whole
 * document with jansson as well. */
#include "evidence/collateral_int.h"

#include <string.h>

typedef struct {
    const uint8_t *p;
    size_t len, off;
} scan;

static void skip_ws(scan *s)
{
    while (s->off < s->len && (s->p[s->off] == ' ' || s->p[s->off] == '\t' ||
                               s->p[s->off] == '\n' || s->p[s->off] == '\r'))
        s->off++;
}

/* At '"': move past the closing quote. A backslash escapes the next byte (so \" and \\ are
 * handled); \uXXXX needs no special case because its digits contain no quote. Raw control
 * bytes are not allowed in JSON strings. */
static int skip_string(scan *s)
{
    if (s->off >= s->len || s->p[s->off] != '"') return -1;
    s->off++;
    while (s->off < s->len) {
        uint8_t c = s->p[s->off];
        if (c == '"') {
            s->off++;
            return 0;
        }
        if (c < 0x20) return -1;
        if (c == '\\') {
            if (s->off + 1 >= s->len) return -1;
            s->off += 2;
        } else {
            s->off++;
        }
    }
    return -1;
}

static int skip_value(scan *s, int depth);

/* At '{' or '[': move past the matching bracket. */
static int skip_container(scan *s, int depth)
{
    uint8_t open = s->p[s->off], close = open == '{' ? '}' : ']';
    if (depth >= JSON_SPAN_MAX_DEPTH) return -1;
    s->off++;
    skip_ws(s);
    if (s->off < s->len && s->p[s->off] == close) {
        s->off++;
        return 0;
    }
    for (;;) {
        if (open == '{') {
            if (skip_string(s) < 0) return -1;
            skip_ws(s);
            if (s->off >= s->len || s->p[s->off] != ':') return -1;
            s->off++;
            skip_ws(s);
        }
        if (skip_value(s, depth + 1) < 0) return -1;
        skip_ws(s);
        if (s->off >= s->len) return -1;
        if (s->p[s->off] == close) {
            s->off++;
            return 0;
        }
        if (s->p[s->off] != ',') return -1;
        s->off++;
        skip_ws(s);
    }
}

/* Numbers, true, false, null: the run of bytes up to a delimiter. */
static int skip_literal(scan *s)
{
    size_t start = s->off;
    while (s->off < s->len) {
        uint8_t c = s->p[s->off];
        if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r')
            break;
        if (c == '"' || c == '{' || c == '[' || c == ':' || c < 0x20) return -1;
        s->off++;
    }
    return s->off > start ? 0 : -1;
}

static int skip_value(scan *s, int depth)
{
    if (s->off >= s->len) return -1;
    switch (s->p[s->off]) {
    case '"':
        return skip_string(s);
    case '{':
    case '[':
        return skip_container(s, depth);
    default:
        return skip_literal(s);
    }
}

int dcap_json_member_span(const uint8_t *p, size_t len, const char *key, size_t *off, size_t *vlen)
{
    scan s = {p, len, 0};
    size_t klen = strlen(key), found_off = 0, found_len = 0;
    int found = 0;
    if (!p) return -1;
    skip_ws(&s);
    if (s.off >= s.len || s.p[s.off] != '{') return -1;
    s.off++;
    skip_ws(&s);
    if (s.off < s.len && s.p[s.off] == '}') return -1; /* empty object: key absent */
    for (;;) {
        size_t kstart = s.off;
        if (skip_string(&s) < 0) return -1;
        /* the raw key bytes between the quotes; an escaped spelling of the key does not match
         * here, and the caller's parser rejects it as a duplicate */
        int match = s.off - kstart - 2 == klen && memcmp(s.p + kstart + 1, key, klen) == 0;
        skip_ws(&s);
        if (s.off >= s.len || s.p[s.off] != ':') return -1;
        s.off++;
        skip_ws(&s);
        size_t vstart = s.off;
        if (skip_value(&s, 1) < 0) return -1;
        if (match) {
            if (found) return -1; /* duplicate */
            found = 1;
            found_off = vstart;
            found_len = s.off - vstart;
        }
        skip_ws(&s);
        if (s.off >= s.len) return -1;
        if (s.p[s.off] == '}') {
            s.off++;
            break;
        }
        if (s.p[s.off] != ',') return -1;
        s.off++;
        skip_ws(&s);
    }
    skip_ws(&s);
    if (s.off != s.len || !found) return -1; /* trailing bytes after the object */
    *off = found_off;
    *vlen = found_len;
    return 0;
}
