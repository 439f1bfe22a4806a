/* The request-target: per-request arena, percent-decoding, path segments, the query string,
 * and route patterns. Everything here parses untrusted bytes and is fuzzed
 * (fuzz/fuzz_http_target.c); nothing here touches libevent. */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena ---- */

struct http_chunk {
    http_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK 4096u
#define ARENA_CAP (64u << 20) /* a request that needs more is a bug or an attack */

void *http_arena_alloc(http_arena *a, size_t n)
{
    size_t need = (n + 15u) & ~(size_t)15u;
    if (need < n || need > ARENA_CAP || a->total + need > ARENA_CAP) return NULL;
    http_chunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->total += need;
    return p;
}

char *http_arena_strndup(http_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX) return NULL;
    char *d = http_arena_alloc(a, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void http_arena_free(http_arena *a)
{
    http_chunk *c = a->head;
    while (c) {
        http_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}

/* ---- percent-decoding (RFC 3986 §2.1) ---- */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int http_pct_decode(http_arena *a, const char *s, size_t n, int plus_space, http_str *out)
{
    char *d = http_arena_alloc(a, n + 1);
    if (!d) return -1;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3) return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = (unsigned char)(hi << 4 | lo);
            if (c == 0) return -1;
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        } else if (c == 0) {
            return -1;
        }
        d[j++] = (char)c;
    }
    d[j] = '\0';
    out->p = d;
    out->len = j;
    return 0;
}

/* ---- the request-target ---- */

#define FAIL(st, msg)                                                                              \
    do {                                                                                           \
        *status = (st);                                                                            \
        *err = (msg);                                                                              \
        return -1;                                                                                 \
    } while (0)

static int parse_query(http_arena *a, const char *q, size_t n, http_target *t, const char **err,
                       int *status)
{
    size_t count = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || q[i] == '&') count++;
    if (count > HTTP_MAX_QUERY) FAIL(400, "too many query parameters");
    t->query = http_arena_alloc(a, count * sizeof *t->query);
    if (!t->query) FAIL(500, "out of memory");
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && q[i] != '&') continue;
        const char *item = q + start;
        size_t len = i - start;
        start = i + 1;
        if (len == 0) continue; /* "a=1&&b=2", a trailing '&' */
        const char *eq = memchr(item, '=', len);
        size_t name_len = eq ? (size_t)(eq - item) : len;
        http_kv *kv = &t->query[t->nquery];
        if (http_pct_decode(a, item, name_len, 1, &kv->name) ||
            http_pct_decode(a, eq ? eq + 1 : item + len, eq ? len - name_len - 1 : 0, 1,
                            &kv->value))
            FAIL(400, "malformed percent-encoding in the query string");
        t->nquery++;
    }
    return 0;
}

int http_target_parse(http_arena *a, const uint8_t *p, size_t len, http_target *out,
                      const char **err, int *status)
{
    const char *s = (const char *)p;
    memset(out, 0, sizeof *out);
    if (len > HTTP_MAX_TARGET) FAIL(414, "request-target too long");
    for (size_t i = 0; i < len; i++)
        if (p[i] <= 0x20 || p[i] >= 0x7f)
            FAIL(400, "request-target holds a control, space or non-ASCII byte");
    /* absolute-form (RFC 9112 §3.2.2): skip "scheme://authority". */
    if (len >= 8 && (!strncasecmp(s, "https://", 8) || !strncasecmp(s, "http://", 7))) {
        size_t skip = s[4] == ':' ? 7 : 8;
        const char *slash = memchr(s + skip, '/', len - skip);
        const char *qm = memchr(s + skip, '?', len - skip);
        if (!slash || (qm && qm < slash)) {
            /* "https://host" or "https://host?x": the path is "/" */
            size_t rest = qm ? (size_t)(s + len - qm) : 0;
            char *fixed = http_arena_alloc(a, rest + 2);
            if (!fixed) FAIL(500, "out of memory");
            fixed[0] = '/';
            if (rest) memcpy(fixed + 1, qm, rest);
            fixed[rest + 1] = '\0';
            s = fixed;
            len = rest + 1;
        } else {
            len -= (size_t)(slash - s);
            s = slash;
        }
    }
    if (len == 0 || s[0] != '/') FAIL(400, "request-target must start with '/'");
    const char *hash = memchr(s, '#', len);
    if (hash) len = (size_t)(hash - s); /* a fragment is never sent; ignore one if it is */
    const char *qm = memchr(s, '?', len);
    size_t path_len = qm ? (size_t)(qm - s) : len;
    char *path = http_arena_strndup(a, s, path_len);
    if (!path) FAIL(500, "out of memory");
    out->path.p = path;
    out->path.len = path_len;
    size_t start = 1;
    for (size_t i = 1; i <= path_len; i++) {
        if (i < path_len && path[i] != '/') continue;
        if (out->nsegs == HTTP_MAX_SEGMENTS) FAIL(404, "path has too many segments");
        if (http_pct_decode(a, path + start, i - start, 0, &out->segs[out->nsegs]))
            FAIL(400, "malformed percent-encoding in the path");
        out->nsegs++;
        start = i + 1;
    }
    if (qm && parse_query(a, qm + 1, len - path_len - 1, out, err, status)) return -1;
    return 0;
}

const char *http_target_query(const http_target *t, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < t->nquery; i++)
        if (t->query[i].name.len == n && !strncasecmp(t->query[i].name.p, name, n))
            return t->query[i].value.p;
    return NULL;
}

/* ---- route patterns ---- */

void http_pattern_free(http_pattern *p)
{
    for (size_t i = 0; p->segs && i < p->nsegs; i++) {
        free(p->segs[i].prefix);
        free(p->segs[i].name);
        free(p->segs[i].suffix);
    }
    free(p->segs);
    memset(p, 0, sizeof *p);
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int http_pattern_compile(const char *pattern, http_pattern *out, const char **err)
{
    http_pattern p = {0};
    if (!pattern || pattern[0] != '/') {
        *err = "a route pattern must start with '/'";
        return -1;
    }
    size_t n = strlen(pattern), count = 0;
    for (size_t i = 0; i < n; i++)
        count += pattern[i] == '/';
    if (count > HTTP_MAX_SEGMENTS) {
        *err = "a route pattern has too many segments";
        return -1;
    }
    p.segs = calloc(count, sizeof *p.segs);
    if (!p.segs) goto oom;
    size_t start = 1;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && pattern[i] != '/') continue;
        const char *seg = pattern + start;
        size_t len = i - start;
        http_seg_pat *sp = &p.segs[p.nsegs++];
        const char *open = memchr(seg, '{', len), *close = memchr(seg, '}', len);
        if (!open != !close || (open && close < open + 2)) {
            *err = "a route pattern has an unbalanced or empty {param}";
            goto fail;
        }
        if (open) {
            const char *after = close + 1;
            if (memchr(after, '{', (size_t)(seg + len - after)) ||
                memchr(after, '}', (size_t)(seg + len - after))) {
                *err = "a route pattern segment holds more than one {param}";
                goto fail;
            }
            sp->prefix = dupn(seg, (size_t)(open - seg));
            sp->name = dupn(open + 1, (size_t)(close - open - 1));
            sp->suffix = dupn(after, (size_t)(seg + len - after));
            if (!sp->prefix || !sp->name || !sp->suffix) goto oom;
            p.nparams++;
        } else {
            sp->prefix = dupn(seg, len);
            if (!sp->prefix) goto oom;
        }
        start = i + 1;
    }
    *out = p;
    return 0;
oom:
    *err = "out of memory";
fail:
    http_pattern_free(&p);
    return -1;
}

/* The number of segments that count for a match: with SLASH_OPTIONAL a final empty segment
 * (a trailing slash) is dropped from both sides, except for the root "/". */
static size_t effective_segs(const http_str *segs, size_t n, unsigned flags)
{
    if ((flags & CLOAK_HTTP_SLASH_OPTIONAL) && n > 1 && segs[n - 1].len == 0) return n - 1;
    return n;
}

int http_pattern_match(const http_pattern *pat, unsigned flags, const http_target *t, http_arena *a,
                       http_kv **params, size_t *nparams)
{
    size_t pn = pat->nsegs;
    if ((flags & CLOAK_HTTP_SLASH_OPTIONAL) && pn > 1 && !pat->segs[pn - 1].name &&
        !pat->segs[pn - 1].prefix[0])
        pn--;
    size_t tn = effective_segs(t->segs, t->nsegs, flags);
    if (pn != tn) return 0;
    /* Check every segment before allocating anything. */
    for (size_t i = 0; i < pn; i++) {
        const http_seg_pat *sp = &pat->segs[i];
        const http_str *seg = &t->segs[i];
        if (!sp->name) {
            if (strcmp(sp->prefix, seg->p)) return 0;
            continue;
        }
        size_t pl = strlen(sp->prefix), sl = strlen(sp->suffix);
        if (seg->len <= pl + sl || strncmp(seg->p, sp->prefix, pl) ||
            strcmp(seg->p + seg->len - sl, sp->suffix))
            return 0;
    }
    http_kv *kv = pat->nparams ? http_arena_alloc(a, pat->nparams * sizeof *kv) : NULL;
    if (pat->nparams && !kv) return -1;
    size_t k = 0;
    for (size_t i = 0; i < pn; i++) {
        const http_seg_pat *sp = &pat->segs[i];
        if (!sp->name) continue;
        const http_str *seg = &t->segs[i];
        size_t pl = strlen(sp->prefix), sl = strlen(sp->suffix);
        kv[k].name.p = sp->name;
        kv[k].name.len = strlen(sp->name);
        kv[k].value.p = http_arena_strndup(a, seg->p + pl, seg->len - pl - sl);
        if (!kv[k].value.p) return -1;
        kv[k].value.len = seg->len - pl - sl;
        k++;
    }
    *params = kv;
    *nparams = k;
    return 1;
}
