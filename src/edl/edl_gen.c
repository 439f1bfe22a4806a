/*
 * EDL code generation: cloak_edl -> <base>_u.h/_u.c (host) and <base>_t.h/_t.c (enclave).
 *
 * Wire format (docs/EDL.md has the same text, with an example). A function's id is 1 + its
 * index in the trusted list (ecalls, cloak_enclave_call) or the untrusted list (ocalls,
 * cloak_trusted_ocall). Each call is one request message and one reply message; every field
 * is a u64 little-endian ("u64le"), followed for buffers by raw bytes:
 *
 *   request: for each parameter, in declaration order:
 *     by-value integer        u64le value (signed types sign-extended, bool 0 or 1)
 *     [in] pointer            u64le length, then `length` bytes
 *     [out] pointer           u64le capacity (the byte count the caller will accept)
 *     [in, out] pointer       u64le length, `length` bytes, then u64le capacity
 *   reply:
 *     return value            u64le (absent for void)
 *     for each [out] and [in, out] pointer, in declaration order: u64le length, then bytes
 *
 * Lengths are byte counts: size=X gives X bytes, count=X gives X * sizeof(element), a pointer
 * without either is one element, and an [in, string] is strlen + 1 bytes including the NUL
 * (0 for a NULL pointer; at most 1 MiB + 1). Buffers hold the elements' bytes as they are in
 * memory (host and enclave share one machine). Both messages must be consumed exactly: a
 * short message, trailing bytes, a length that differs from what the size=/count= parameter
 * says, a value that does not fit its C type, or a string whose first NUL is not its last
 * byte is refused with CLOAK_EINVAL before any user code runs.
 *
 * The generated code is self-contained: it uses libc, the inline byte helpers of cloak/base.h
 * and only the entry points of cloak/enclave.h (host) or cloak/trusted.h (enclave), so an
 * enclave image links nothing else of cloak's. Generated names start with edl_ (reserved by
 * the parser); user parameters appear as edl_p_<name> in function bodies, so a parameter
 * may be called `free` or `out` without shadowing anything the stubs use.
 */
#include "cloak/edl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASENAME_MAX 64

typedef struct {
    cloak_buf b;
    const cloak_edl *edl;
    char base[BASENAME_MAX + 1];   /* file names */
    char prefix[BASENAME_MAX + 1]; /* C identifiers */
    int trusted;                   /* rendering the enclave side */
} gen;

static void emit(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(gen *g, const char *fmt, ...)
{
    char tmp[512], *big = NULL;
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (n >= 0 && (size_t)n >= sizeof tmp && (big = malloc((size_t)n + 1)))
        vsnprintf(big, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    va_end(ap);
    if (n < 0 || ((size_t)n >= sizeof tmp && !big)) {
        g->b.failed = 1;
        return;
    }
    cloak_buf_put(&g->b, big ? big : tmp, (size_t)n);
    free(big);
}

static int is_signed(cloak_edl_type t)
{
    return t == CLOAK_EDL_INT8 || t == CLOAK_EDL_INT16 || t == CLOAK_EDL_INT32 ||
           t == CLOAK_EDL_INT64 || t == CLOAK_EDL_INT || t == CLOAK_EDL_LONG;
}

static const char *tname(cloak_edl_type t)
{
    return cloak_edl_type_name(t);
}

static int has_in(const cloak_edl_param *p)
{
    return p->is_ptr && (p->dir & CLOAK_EDL_IN);
}
static int has_out(const cloak_edl_param *p)
{
    return p->is_ptr && (p->dir & CLOAK_EDL_OUT);
}

/* Fixed part of the request and reply: 8 bytes per u64le field. */
static size_t fixed_request(const cloak_edl_func *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nparams; i++)
        n += 8 * (size_t)(!f->params[i].is_ptr + has_in(&f->params[i]) + has_out(&f->params[i]));
    return n;
}
static size_t fixed_reply(const cloak_edl_func *f)
{
    size_t n = f->ret != CLOAK_EDL_VOID ? 8 : 0;
    for (size_t i = 0; i < f->nparams; i++)
        n += has_out(&f->params[i]) ? 8 : 0;
    return n;
}

/* `T name` or `[const ]T *name`, with an optional prefix on the name. */
static void emit_param(gen *g, const cloak_edl_param *p, const char *pfx)
{
    if (p->is_ptr)
        emit(g, "%s%s *%s%s", p->is_const ? "const " : "", tname(p->type), pfx, p->name);
    else
        emit(g, "%s %s%s", tname(p->type), pfx, p->name);
}

static void emit_params(gen *g, const cloak_edl_func *f, const char *pfx, int first)
{
    for (size_t i = 0; i < f->nparams; i++) {
        emit(g, "%s", first && i == 0 ? "" : ", ");
        emit_param(g, &f->params[i], pfx);
    }
}

enum { PROTO_USER, PROTO_STUB };

/* The user's plain C function, or the generated stub (host ecall or enclave ocall). `pfx`
 * is "" in headers and "edl_p_" in definitions. */
static void emit_proto(gen *g, const cloak_edl_func *f, int kind, const char *pfx)
{
    int nonvoid = f->ret != CLOAK_EDL_VOID;
    if (kind == PROTO_USER) {
        emit(g, "%s %s(", tname(f->ret), f->name);
        if (!f->nparams) emit(g, "void");
        emit_params(g, f, pfx, 1);
        emit(g, ")");
        return;
    }
    const char *e = *pfx ? "edl_" : "";
    emit(g, "cloak_err %s(", f->name);
    int first = 1;
    if (!g->trusted) {
        emit(g, "cloak_enclave *%senclave", e);
        first = 0;
    }
    if (nonvoid) {
        emit(g, "%s%s *%sretval", first ? "" : ", ", tname(f->ret), e);
        first = 0;
    }
    if (first && !f->nparams) emit(g, "void");
    emit_params(g, f, pfx, first);
    emit(g, ")");
}

/* Integer <-> u64le conversions, range-checked on the way in. */
static void emit_encode(gen *g, cloak_edl_type t, const char *var)
{
    if (t == CLOAK_EDL_BOOL)
        emit(g, "(uint64_t)(%s ? 1 : 0)", var);
    else if (is_signed(t))
        emit(g, "(uint64_t)(int64_t)%s", var);
    else
        emit(g, "(uint64_t)%s", var);
}

/* Emit the statement that fails the current function with `code` and a message. The caller side
 * (stubs) returns a bare code: its user gets no message channel. The callee side (handlers)
 * reports through edl_bad: cloak_trusted_fail inside the enclave, the bare code on the host. */
typedef struct {
    gen *g;
    const cloak_edl_func *f;
    int callee;
} ctx;

static void fail(const ctx *c, const char *code, const char *what, const char *detail)
{
    if (!c->callee) {
        emit(c->g, " goto out;\n"); /* edl_rc already holds CLOAK_EINVAL here */
        return;
    }
    emit(c->g, "\n        EDL_FAIL(%s, \"%s%s%s\");\n", code, what ? what : "", what ? ": " : "",
         detail);
}

static void emit_decode(const ctx *c, cloak_edl_type t, const char *var, const char *name)
{
    gen *g = c->g;
    char detail[96];
    snprintf(detail, sizeof detail, "value out of range for %s", tname(t));
    if (t == CLOAK_EDL_BOOL) {
        emit(g, "    if (edl_v > 1)");
        fail(c, "CLOAK_EINVAL", name, "bool is neither 0 nor 1");
        emit(g, "    %s = edl_v == 1;\n", var);
        return;
    }
    if (is_signed(t)) {
        emit(g, "    %s = (%s)(int64_t)edl_v;\n", var, tname(t));
        emit(g, "    if ((uint64_t)(int64_t)%s != edl_v)", var);
    } else {
        emit(g, "    %s = (%s)edl_v;\n", var, tname(t));
        emit(g, "    if ((uint64_t)%s != edl_v)", var);
    }
    fail(c, "CLOAK_EINVAL", name, detail);
}

/* edl_n_<name> = the byte count of pointer parameter p, from the typed value of its size=/
 * count= parameter (already a local: edl_p_<len param>). Not for strings: their length is
 * measured (caller) or read from the message (callee). */
static void emit_nbytes(const ctx *c, const cloak_edl_param *p)
{
    gen *g = c->g;
    char elem[64], count[CLOAK_EDL_MAX_IDENT + 32];
    if (p->type == CLOAK_EDL_VOID || p->len_kind == CLOAK_EDL_LEN_SIZE)
        snprintf(elem, sizeof elem, "1");
    else
        snprintf(elem, sizeof elem, "sizeof(%s)", tname(p->type));
    if (p->len_kind == CLOAK_EDL_LEN_ONE) {
        emit(g, "    edl_n_%s = %s;\n", p->name, elem);
        return;
    }
    const cloak_edl_param *lp = p->len_param >= 0 ? &c->f->params[p->len_param] : NULL;
    if (lp)
        snprintf(count, sizeof count, "(uint64_t)edl_p_%s", lp->name);
    else
        snprintf(count, sizeof count, "%lluu", (unsigned long long)p->len_value);
    if (lp && is_signed(lp->type))
        emit(g, "    if (edl_p_%s < 0 || edl_nbytes(%s, %s, &edl_n_%s))", lp->name, count, elem,
             p->name);
    else
        emit(g, "    if (edl_nbytes(%s, %s, &edl_n_%s))", count, elem, p->name);
    fail(c, "CLOAK_EINVAL", p->name,
         p->len_kind == CLOAK_EDL_LEN_SIZE ? "size is negative or too large"
                                           : "count is negative or count * element size overflows");
}

/* "length does not match size=in_len", "capacity is not one size_t", ... */
static void describe_len(const ctx *c, const cloak_edl_param *p, const char *what, char *buf,
                         size_t cap)
{
    const char *kw = p->len_kind == CLOAK_EDL_LEN_SIZE ? "size" : "count";
    if (p->len_kind == CLOAK_EDL_LEN_ONE)
        snprintf(buf, cap, "%s is not one %s", what, tname(p->type));
    else if (p->len_param >= 0)
        snprintf(buf, cap, "%s does not match %s=%s", what, kw, c->f->params[p->len_param].name);
    else
        snprintf(buf, cap, "%s does not match %s=%llu", what, kw, (unsigned long long)p->len_value);
}

/* Declarations of the per-parameter locals shared by both roles. */
static void emit_locals(const ctx *c)
{
    gen *g = c->g;
    const cloak_edl_func *f = c->f;
    emit(g, "    cloak_err edl_rc = CLOAK_EINVAL;\n    edl_rd edl_r;\n    uint64_t edl_v = 0;\n");
    if (f->ret != CLOAK_EDL_VOID) emit(g, "    %s edl_rv = 0;\n", tname(f->ret));
    for (size_t i = 0; i < f->nparams; i++) {
        const cloak_edl_param *p = &f->params[i];
        const char *n = p->name;
        if (!p->is_ptr) {
            if (c->callee) emit(g, "    %s edl_p_%s = 0;\n", tname(p->type), n);
            continue;
        }
        emit(g, "    size_t edl_n_%s = 0;\n", n);
        if (!c->callee) {
            if (has_out(p)) emit(g, "    const uint8_t *edl_b_%s = NULL;\n", n);
            continue;
        }
        if (has_in(p))
            emit(g, "    uint64_t edl_l_%s = 0;\n    const uint8_t *edl_b_%s = NULL;\n", n, n);
        if (has_out(p)) emit(g, "    uint64_t edl_c_%s = 0;\n", n);
        emit(g, "    void *edl_m_%s = NULL;\n", n);
    }
}

/* ---- caller: host ecall stub / enclave ocall stub ---- */

static void emit_caller(gen *g, const cloak_edl_func *f, uint32_t id)
{
    ctx c = {g, f, 0};
    emit_proto(g, f, PROTO_STUB, "edl_p_");
    emit(g, "\n{\n");
    emit_locals(&c);
    emit(g, "    uint8_t *edl_req = NULL, *edl_rep = NULL, *edl_w = NULL;\n");
    emit(g, "    size_t edl_req_len = %zu, edl_rep_cap = %zu, edl_rep_len = 0;\n", fixed_request(f),
         fixed_reply(f));
    if (!g->trusted) emit(g, "    cloak_error edl_why;\n\n    if (!edl_enclave) goto out;\n");
    emit(g, "\n");
    /* sizes; pointers must be valid for their length */
    for (size_t i = 0; i < f->nparams; i++) {
        const cloak_edl_param *p = &f->params[i];
        const char *n = p->name;
        if (!p->is_ptr) continue;
        if (p->len_kind == CLOAK_EDL_LEN_STRING) {
            emit(g, "    if (edl_p_%s) {\n        edl_n_%s = edl_strlen(edl_p_%s);\n", n, n, n);
            emit(g, "        if (edl_n_%s > EDL_STRING_MAX) goto out;\n", n);
            emit(g, "        edl_n_%s++;\n    }\n", n);
        } else {
            emit_nbytes(&c, p);
            if (p->len_kind == CLOAK_EDL_LEN_ONE)
                emit(g, "    if (!edl_p_%s) goto out;\n", n);
            else
                emit(g, "    if (!edl_p_%s && edl_n_%s) goto out;\n", n, n);
        }
        emit(g, "    if (edl_add(&%s, edl_n_%s)) goto out;\n",
             has_in(p) ? "edl_req_len" : "edl_rep_cap", n);
        if (has_in(p) && has_out(p))
            emit(g, "    if (edl_add(&edl_rep_cap, edl_n_%s)) goto out;\n", n);
    }
    emit(g, "    edl_rc = CLOAK_ENOMEM;\n");
    /* calloc: with nothing to send, compilers would see an unwritten buffer passed as const */
    emit(g, "    edl_req = calloc(1, edl_req_len ? edl_req_len : 1);\n");
    emit(g, "    edl_rep = malloc(edl_rep_cap ? edl_rep_cap : 1);\n");
    emit(g, "    if (!edl_req || !edl_rep) goto out;\n    edl_w = edl_req;\n");
    for (size_t i = 0; i < f->nparams; i++) {
        const cloak_edl_param *p = &f->params[i];
        const char *n = p->name;
        char var[CLOAK_EDL_MAX_IDENT + 8];
        snprintf(var, sizeof var, "edl_p_%s", n);
        if (!p->is_ptr) {
            emit(g, "    edl_w = edl_put_u64(edl_w, ");
            emit_encode(g, p->type, var);
            emit(g, ");\n");
            continue;
        }
        if (has_in(p))
            emit(g,
                 "    edl_w = edl_put_u64(edl_w, edl_n_%s);\n"
                 "    edl_w = edl_put_bytes(edl_w, edl_p_%s, edl_n_%s);\n",
                 n, n, n);
        if (has_out(p)) emit(g, "    edl_w = edl_put_u64(edl_w, edl_n_%s);\n", n);
    }
    if (g->trusted)
        emit(g,
             "    edl_rc = edl_transport(cloak_trusted_ocall(%uu, edl_req, edl_req_len, edl_rep, "
             "edl_rep_cap, &edl_rep_len));\n",
             id);
    else
        emit(g,
             "    edl_rc = cloak_enclave_call(edl_enclave, %uu, edl_req, edl_req_len, edl_rep, "
             "edl_rep_cap,\n                                &edl_rep_len, &edl_why);\n",
             id);
    emit(g, "    if (edl_rc != CLOAK_OK) goto out;\n");
    emit(g, "    /* the reply must have exactly the layout asked for */\n");
    emit(g, "    edl_rc = CLOAK_EINVAL;\n    if (edl_rep_len > edl_rep_cap) goto out;\n");
    emit(g, "    edl_r.p = edl_rep;\n    edl_r.len = edl_rep_len;\n    edl_r.off = 0;\n");
    if (f->ret != CLOAK_EDL_VOID) {
        emit(g, "    if (edl_take_u64(&edl_r, &edl_v)) goto out;\n");
        emit_decode(&c, f->ret, "edl_rv", NULL);
    }
    for (size_t i = 0; i < f->nparams; i++) {
        const char *n = f->params[i].name;
        if (has_out(&f->params[i]))
            emit(g,
                 "    if (edl_take_u64(&edl_r, &edl_v) || edl_v != edl_n_%s ||\n"
                 "        edl_take_ref(&edl_r, edl_v, &edl_b_%s))\n        goto out;\n",
                 n, n);
    }
    emit(g, "    if (edl_r.off != edl_r.len) goto out;\n");
    emit(g, "    /* checked: now write the caller's buffers */\n");
    for (size_t i = 0; i < f->nparams; i++) {
        const char *n = f->params[i].name;
        if (has_out(&f->params[i]))
            emit(g, "    edl_copy(edl_p_%s, edl_b_%s, edl_n_%s);\n", n, n, n);
    }
    if (f->ret != CLOAK_EDL_VOID) emit(g, "    if (edl_retval) *edl_retval = edl_rv;\n");
    emit(g, "    edl_rc = CLOAK_OK;\nout:\n");
    emit(g, "    edl_free(edl_req, edl_req_len);\n    edl_free(edl_rep, edl_rep_cap);\n");
    emit(g, "    (void)edl_w;\n    (void)edl_v;\n    return edl_rc;\n}\n\n");
}
/* ---- callee: enclave ecall handler / host ocall dispatcher ---- */

static void emit_callee(gen *g, const cloak_edl_func *f)
{
    ctx c = {g, f, 1};
    char ind[CLOAK_EDL_MAX_IDENT + 32];
    int w =
        snprintf(ind, sizeof ind, "static cloak_err edl_%c_%s(", g->trusted ? 'h' : 'd', f->name);
    memset(ind, ' ', (size_t)w);
    ind[w] = 0;
    if (g->trusted)
        emit(g,
             "static cloak_err edl_h_%s(const uint8_t *edl_in, size_t edl_in_len,\n"
             "%suint8_t *edl_out, size_t edl_out_cap, size_t *edl_out_len)\n{\n",
             f->name, ind);
    else
        emit(g,
             "static cloak_err edl_d_%s(void *edl_ctx, const uint8_t *edl_in, size_t edl_in_len,\n"
             "%suint8_t *edl_out, size_t edl_out_cap, size_t *edl_out_len)\n{\n",
             f->name, ind);
    emit(g, "    static const char edl_fn[] = \"%s\";\n", f->name);
    emit_locals(&c);
    emit(g, "    uint8_t *edl_w = edl_out;\n    size_t edl_rep_len = %zu;\n\n", fixed_reply(f));
    if (!g->trusted) emit(g, "    (void)edl_ctx;\n");
    emit(g, "    edl_r.p = edl_in;\n    edl_r.len = edl_in_len;\n    edl_r.off = 0;\n");
    /* 1. take every field; nothing is interpreted until the whole message has been read */
    for (size_t i = 0; i < f->nparams; i++) {
        const cloak_edl_param *p = &f->params[i];
        const char *n = p->name;
        if (!p->is_ptr) {
            char var[CLOAK_EDL_MAX_IDENT + 8];
            snprintf(var, sizeof var, "edl_p_%s", n);
            emit(g, "    if (edl_take_u64(&edl_r, &edl_v))");
            fail(&c, "CLOAK_EINVAL", n, "request truncated");
            emit_decode(&c, p->type, var, n);
            continue;
        }
        if (has_in(p)) {
            emit(g,
                 "    if (edl_take_u64(&edl_r, &edl_l_%s) || edl_take_ref(&edl_r, edl_l_%s, "
                 "&edl_b_%s))",
                 n, n, n);
            fail(&c, "CLOAK_EINVAL", n, "request truncated");
        }
        if (has_out(p)) {
            emit(g, "    if (edl_take_u64(&edl_r, &edl_c_%s))", n);
            fail(&c, "CLOAK_EINVAL", n, "request truncated");
        }
    }
    emit(g, "    if (edl_r.off != edl_r.len)");
    fail(&c, "CLOAK_EINVAL", NULL, "trailing bytes after the request");
    /* 2. every length must be what the declaration says */
    for (size_t i = 0; i < f->nparams; i++) {
        const cloak_edl_param *p = &f->params[i];
        const char *n = p->name;
        if (!p->is_ptr) continue;
        if (p->len_kind == CLOAK_EDL_LEN_STRING) {
            emit(g, "    edl_n_%s = (size_t)edl_l_%s;\n", n, n);
            emit(g,
                 "    if (edl_n_%s && (edl_n_%s > EDL_STRING_MAX + 1 ||\n"
                 "        (const uint8_t *)memchr(edl_b_%s, 0, edl_n_%s) != edl_b_%s + edl_n_%s - "
                 "1))",
                 n, n, n, n, n, n);
            fail(&c, "CLOAK_EINVAL", n,
                 "string is longer than 1 MiB or its first NUL is not its last byte");
            continue;
        }
        char decl[CLOAK_EDL_MAX_IDENT + 64], decl_cap[CLOAK_EDL_MAX_IDENT + 64];
        describe_len(&c, p, "length", decl, sizeof decl);
        describe_len(&c, p, "capacity", decl_cap, sizeof decl_cap);
        emit_nbytes(&c, p);
        if (has_in(p)) {
            emit(g, "    if (edl_l_%s != edl_n_%s)", n, n);
            fail(&c, "CLOAK_EINVAL", n, decl);
        }
        if (has_out(p)) {
            emit(g, "    if (edl_c_%s != edl_n_%s)", n, n);
            fail(&c, "CLOAK_EINVAL", n, decl_cap);
            emit(g, "    if (edl_add(&edl_rep_len, edl_n_%s))", n);
            fail(&c, "CLOAK_EINVAL", n, "reply size overflows");
        }
    }
    emit(g, "    if (edl_rep_len > edl_out_cap)");
    fail(&c, "CLOAK_ERANGE", NULL, "the reply does not fit the caller's reply buffer");
    emit(g, "    if (!edl_out_len || (edl_rep_len && !edl_out))");
    fail(&c, "CLOAK_EINVAL", NULL, "no reply buffer");
    /* 3. private copies: the user function never sees the message buffers */
    for (size_t i = 0; i < f->nparams; i++) {
        const cloak_edl_param *p = &f->params[i];
        const char *n = p->name;
        if (!p->is_ptr) continue;
        if (p->len_kind == CLOAK_EDL_LEN_STRING) {
            /* a string of wire length 0 was a NULL pointer, and stays one */
            emit(g, "    edl_m_%s = edl_n_%s ? edl_dup(edl_b_%s, edl_n_%s) : NULL;\n", n, n, n, n);
            emit(g, "    if (edl_n_%s && !edl_m_%s)", n, n);
        } else {
            /* never NULL, even when empty: memcpy(dst, src, 0) must stay defined */
            if (has_in(p))
                emit(g, "    edl_m_%s = edl_dup(edl_b_%s, edl_n_%s);\n", n, n, n);
            else
                emit(g, "    edl_m_%s = edl_zalloc(edl_n_%s);\n", n, n);
            emit(g, "    if (!edl_m_%s)", n);
        }
        fail(&c, "CLOAK_ENOMEM", n, "out of memory");
    }
    /* 4. the call */
    emit(g, "    %s%s(", f->ret != CLOAK_EDL_VOID ? "edl_rv = " : "", f->name);
    for (size_t i = 0; i < f->nparams; i++)
        emit(g, "%sedl_%c_%s", i ? ", " : "", f->params[i].is_ptr ? 'm' : 'p', f->params[i].name);
    emit(g, ");\n");
    /* 5. the reply */
    if (f->ret != CLOAK_EDL_VOID) {
        emit(g, "    edl_w = edl_put_u64(edl_w, ");
        emit_encode(g, f->ret, "edl_rv");
        emit(g, ");\n");
    }
    for (size_t i = 0; i < f->nparams; i++) {
        const char *n = f->params[i].name;
        if (has_out(&f->params[i]))
            emit(g,
                 "    edl_w = edl_put_u64(edl_w, edl_n_%s);\n"
                 "    edl_w = edl_put_bytes(edl_w, edl_m_%s, edl_n_%s);\n",
                 n, n, n);
    }
    emit(g, "    *edl_out_len = edl_rep_len;\n    edl_rc = CLOAK_OK;\nout:\n");
    for (size_t i = 0; i < f->nparams; i++) {
        const char *n = f->params[i].name;
        if (f->params[i].is_ptr) emit(g, "    edl_free(edl_m_%s, edl_n_%s);\n", n, n);
    }
    emit(g, "    (void)edl_w;\n    (void)edl_v;\n    return edl_rc;\n}\n\n");
}

/* ---- files ---- */

static const char helpers[] =
    "#define EDL_UNUSED __attribute__((unused))\n"
    "/* In a handler: fail the call with `code` and a message naming the function. */\n"
    "#define EDL_FAIL(code, what)                  \\\n"
    "    do {                                      \\\n"
    "        edl_rc = edl_bad(code, edl_fn, what); \\\n"
    "        goto out;                             \\\n"
    "    } while (0)\n"
    "#define EDL_STRING_MAX ((size_t)1 << 20) /* longest [in, string], without its NUL */\n"
    "\n"
    "/* Bounds-checked reader over a message. */\n"
    "typedef struct {\n    const uint8_t *p;\n    size_t len, off;\n} edl_rd;\n\n"
    "static EDL_UNUSED int edl_take_u64(edl_rd *r, uint64_t *v)\n{\n"
    "    if (r->len - r->off < 8) return -1;\n"
    "    *v = cloak_get_u64le(r->p + r->off);\n    r->off += 8;\n    return 0;\n}\n\n"
    "static EDL_UNUSED int edl_take_ref(edl_rd *r, uint64_t n, const uint8_t **p)\n{\n"
    "    if (n > r->len - r->off) return -1;\n"
    "    *p = n ? r->p + r->off : NULL;\n    r->off += (size_t)n;\n    return 0;\n}\n\n"
    "static EDL_UNUSED uint8_t *edl_put_u64(uint8_t *w, uint64_t v)\n{\n"
    "    cloak_put_u64le(w, v);\n    return w + 8;\n}\n\n"
    "static EDL_UNUSED uint8_t *edl_put_bytes(uint8_t *w, const void *p, size_t n)\n{\n"
    "    if (!n) return w;\n    memcpy(w, p, n);\n    return w + n;\n}\n\n"
    "/* *n = count * elem, refused when it overflows size_t. */\n"
    "static EDL_UNUSED int edl_nbytes(uint64_t count, size_t elem, size_t *n)\n{\n"
    "    if (count > SIZE_MAX / elem) return -1;\n"
    "    *n = (size_t)count * elem;\n    return 0;\n}\n\n"
    "static EDL_UNUSED int edl_add(size_t *acc, size_t n)\n{\n"
    "    if (n > SIZE_MAX - *acc) return -1;\n    *acc += n;\n    return 0;\n}\n\n"
    "/* strlen that stops after EDL_STRING_MAX + 1 characters */\n"
    "static EDL_UNUSED size_t edl_strlen(const char *s)\n{\n"
    "    size_t n = 0;\n    while (n <= EDL_STRING_MAX && s[n]) n++;\n    return n;\n}\n\n"
    "/* Private copies for the callee. Never NULL on success, even for 0 bytes. */\n"
    "static EDL_UNUSED void *edl_dup(const uint8_t *p, size_t n)\n{\n"
    "    void *c = malloc(n ? n : 1);\n    if (c && n) memcpy(c, p, n);\n    return c;\n}\n\n"
    "static EDL_UNUSED void *edl_zalloc(size_t n)\n{\n    return calloc(1, n ? n : 1);\n}\n\n"
    "static EDL_UNUSED void edl_copy(void *dst, const uint8_t *src, size_t n)\n{\n"
    "    if (n) memcpy(dst, src, n);\n}\n\n"
    "/* Buffers may have held secrets: wipe before freeing. */\n"
    "static EDL_UNUSED void edl_free(void *p, size_t n)\n{\n"
    "    if (!p) return;\n    volatile uint8_t *v = p;\n"
    "    for (size_t i = 0; i < n; i++) v[i] = 0;\n    free(p);\n}\n\n";

static const char helpers_trusted[] =
    "static EDL_UNUSED cloak_err edl_bad(cloak_err code, const char *fn, const char *what)\n{\n"
    "    return cloak_trusted_fail(code, \"%s: %s\", fn, what);\n}\n\n"
    "/* The host is hostile: pass on only the error codes cloak defines. */\n"
    "static EDL_UNUSED cloak_err edl_transport(cloak_err rc)\n{\n"
    "    return (unsigned)rc > (unsigned)CLOAK_EINTERNAL ? CLOAK_EIO : rc;\n}\n\n";

static const char helpers_host[] =
    "/* An ocall handler has no message channel back to the enclave: the code says it all. */\n"
    "static EDL_UNUSED cloak_err edl_bad(cloak_err code, const char *fn, const char *what)\n{\n"
    "    (void)fn;\n    (void)what;\n    return code;\n}\n\n";

static void emit_guard(gen *g, const char *side, int open)
{
    char up[BASENAME_MAX + 1];
    size_t i;
    for (i = 0; g->prefix[i]; i++)
        up[i] =
            g->prefix[i] >= 'a' && g->prefix[i] <= 'z' ? (char)(g->prefix[i] - 32) : g->prefix[i];
    up[i] = 0;
    if (open)
        emit(g, "#ifndef CLOAK_EDL_%s_%s_H\n#define CLOAK_EDL_%s_%s_H\n\n", up, side, up, side);
    else
        emit(g, "#endif /* CLOAK_EDL_%s_%s_H */\n", up, side);
}

static void render_header(gen *g)
{
    const cloak_edl *e = g->edl;
    const char *side = g->trusted ? "T" : "U";
    emit(g, "/* Generated by cloak edger8r from %s.edl (%s side). Do not edit. */\n", g->base,
         g->trusted ? "enclave" : "host");
    emit_guard(g, side, 1);
    emit(g, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n");
    emit(g, "#include \"cloak/%s.h\"\n\n", g->trusted ? "trusted" : "enclave");
    emit(g, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    const cloak_edl_func *stubs = g->trusted ? e->untrusted : e->trusted;
    size_t nstubs = g->trusted ? e->nuntrusted : e->ntrusted;
    const cloak_edl_func *user = g->trusted ? e->trusted : e->untrusted;
    size_t nuser = g->trusted ? e->ntrusted : e->nuntrusted;
    if (nstubs)
        emit(g,
             "/* %s. The cloak_err is the result of the crossing and of the\n"
             " * checks on both messages; *retval (may be NULL) and [out] buffers are written\n"
             " * only on CLOAK_OK. */\n",
             g->trusted ? "ocalls: call the host" : "ecalls: call into the enclave");
    for (size_t i = 0; i < nstubs; i++) {
        emit_proto(g, &stubs[i], PROTO_STUB, "");
        emit(g, " CLOAK_MUST_CHECK;\n");
    }
    if (nuser)
        emit(g,
             "%s/* %s: implement these; the generated stubs call them with private copies of\n"
             " * every buffer, after checking every length. */\n",
             nstubs ? "\n" : "", g->trusted ? "ecalls" : "ocalls");
    for (size_t i = 0; i < nuser; i++) {
        emit_proto(g, &user[i], PROTO_USER, "");
        emit(g, ";\n");
    }
    if (g->trusted)
        emit(g,
             "\n/* Register every ecall handler; call from cloak_enclave_init. */\n"
             "cloak_err %s_register_ecalls(void) CLOAK_MUST_CHECK;\n\n",
             g->prefix);
    else
        emit(g,
             "\n/* Register every ocall handler with an enclave, after cloak_enclave_create. */\n"
             "cloak_err %s_register_ocalls(cloak_enclave *enclave, cloak_error *why) "
             "CLOAK_MUST_CHECK;\n\n",
             g->prefix);
    emit(g, "#ifdef __cplusplus\n}\n#endif\n");
    emit_guard(g, side, 0);
}

static void render_source(gen *g)
{
    const cloak_edl *e = g->edl;
    emit(g,
         "/* Generated by cloak edger8r from %s.edl (%s side). Do not edit.\n"
         " * Wire format: docs/EDL.md. Function ids: 1 + index in the trusted (ecalls) or\n"
         " * untrusted (ocalls) list. */\n",
         g->base, g->trusted ? "enclave" : "host");
    emit(g, "#include \"%s_%s.h\"\n\n#include <stdlib.h>\n#include <string.h>\n\n", g->base,
         g->trusted ? "t" : "u");
    cloak_buf_put(&g->b, helpers, sizeof helpers - 1);
    if (g->trusted)
        cloak_buf_put(&g->b, helpers_trusted, sizeof helpers_trusted - 1);
    else
        cloak_buf_put(&g->b, helpers_host, sizeof helpers_host - 1);
    const cloak_edl_func *stubs = g->trusted ? e->untrusted : e->trusted;
    size_t nstubs = g->trusted ? e->nuntrusted : e->ntrusted;
    const cloak_edl_func *user = g->trusted ? e->trusted : e->untrusted;
    size_t nuser = g->trusted ? e->ntrusted : e->nuntrusted;
    for (size_t i = 0; i < nstubs; i++)
        emit_caller(g, &stubs[i], (uint32_t)(i + 1));
    for (size_t i = 0; i < nuser; i++)
        emit_callee(g, &user[i]);
    if (g->trusted) {
        emit(g, "cloak_err %s_register_ecalls(void)\n{\n    cloak_err rc = CLOAK_OK;\n", g->prefix);
        for (size_t i = 0; i < nuser; i++)
            emit(g, "    if (rc == CLOAK_OK) rc = cloak_trusted_register(%zuu, edl_h_%s);\n", i + 1,
                 user[i].name);
    } else {
        emit(g,
             "cloak_err %s_register_ocalls(cloak_enclave *enclave, cloak_error *why)\n{\n"
             "    cloak_err rc = CLOAK_OK;\n    (void)enclave;\n    (void)why;\n",
             g->prefix);
        for (size_t i = 0; i < nuser; i++)
            emit(g,
                 "    if (rc == CLOAK_OK) rc = cloak_enclave_set_ocall(enclave, %zuu, edl_d_%s, "
                 "NULL, why);\n",
                 i + 1, user[i].name);
    }
    emit(g, "    return rc;\n}\n");
}

static cloak_err check_basename(const char *base, char *prefix, cloak_error *why)
{
    size_t n = base ? strlen(base) : 0;
    if (!n || n > BASENAME_MAX ||
        !((base[0] >= 'a' && base[0] <= 'z') || (base[0] >= 'A' && base[0] <= 'Z')))
        return cloak_error_set(
            why, CLOAK_EINVAL,
            "basename '%s' must start with a letter and have at most %d characters "
            "(it names the files and prefixes C names)",
            base ? base : "", BASENAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = base[i];
        int ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok && c != '.' && c != '-')
            return cloak_error_set(
                why, CLOAK_EINVAL,
                "basename '%s' may contain only letters, digits, '_', '.' and '-'", base);
        prefix[i] = ok ? c : '_';
    }
    prefix[n] = 0;
    return CLOAK_OK;
}

cloak_err cloak_edl_render(const cloak_edl *edl, const char *basename, cloak_edl_file file,
                           char **out, size_t *out_len, cloak_error *why)
{
    gen g;
    memset(&g, 0, sizeof g);
    if (!edl || !out || !out_len || (unsigned)file > CLOAK_EDL_FILE_T_C)
        return cloak_error_set(why, CLOAK_EINVAL, "cloak_edl_render: bad arguments");
    cloak_err rc = check_basename(basename, g.prefix, why);
    if (rc != CLOAK_OK) return rc;
    /* ids must stay below the runtime's range; the parser's limit guarantees it */
    if (edl->ntrusted >= 0xFFFF0000u || edl->nuntrusted >= 0xFFFF0000u)
        return cloak_error_set(why, CLOAK_EINVAL, "too many functions for the id space");
    memcpy(g.base, basename, strlen(basename) + 1);
    g.edl = edl;
    g.trusted = file == CLOAK_EDL_FILE_T_H || file == CLOAK_EDL_FILE_T_C;
    if (file == CLOAK_EDL_FILE_U_H || file == CLOAK_EDL_FILE_T_H)
        render_header(&g);
    else
        render_source(&g);
    cloak_buf_u8(&g.b, 0);
    if (g.b.failed) {
        cloak_buf_free(&g.b);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory generating %s stubs", basename);
    }
    *out = (char *)g.b.p;
    *out_len = g.b.len - 1;
    return CLOAK_OK;
}

cloak_err cloak_edl_generate(const cloak_edl *edl, const char *basename, const char *outdir,
                             int which, cloak_error *why)
{
    static const char *const suffix[4] = {"_u.h", "_u.c", "_t.h", "_t.c"};
    char *text[4] = {NULL, NULL, NULL, NULL}, *path = NULL;
    size_t len[4] = {0, 0, 0, 0};
    cloak_err rc = CLOAK_EINVAL;
    if (!outdir || !*outdir || !(which & CLOAK_EDL_GEN_BOTH) || (which & ~CLOAK_EDL_GEN_BOTH)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "cloak_edl_generate: no output directory or side");
        goto out;
    }
    /* render everything first: a failure leaves no file touched */
    for (int i = 0; i < 4; i++) {
        if (!(which & (i < 2 ? CLOAK_EDL_GEN_HOST : CLOAK_EDL_GEN_TRUSTED))) continue;
        if ((rc = cloak_edl_render(edl, basename, (cloak_edl_file)i, &text[i], &len[i], why)))
            goto out;
    }
    if ((rc = cloak_mkdirs(outdir, 0755, why)) != CLOAK_OK) goto out;
    size_t cap = strlen(outdir) + strlen(basename) + 8;
    if (!(path = malloc(cap))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < 4; i++) {
        if (!text[i]) continue;
        snprintf(path, cap, "%s/%s%s", outdir, basename, suffix[i]);
        if ((rc = cloak_file_write(path, (const uint8_t *)text[i], len[i], 0644, why))) goto out;
    }
    rc = CLOAK_OK;
out:
    for (int i = 0; i < 4; i++)
        free(text[i]);
    free(path);
    return rc;
}
