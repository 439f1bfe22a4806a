/* EDL parser and generator: the tree of a good file, the exact "file:line:col: message" of
 * each error, the generated files against the checked-in golden copies, and the CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cloak/edl.h"

/* The example of docs/EDL.md (Intel/OE style). */
static const char hello_edl[] =
    "enclave {\n"
    "    trusted {\n"
    "        public int ecall_process([in, size=in_len] const uint8_t *in, size_t in_len,\n"
    "                                 [out, size=out_len] uint8_t *out, size_t out_len);\n"
    "        public uint64_t ecall_add(uint64_t a, uint64_t b);\n"
    "        public void ecall_greet([in, string] const char *name, [in, out, count=n] uint32_t "
    "*vals, size_t n);\n"
    "    };\n"
    "    untrusted {\n"
    "        void ocall_print([in, string] const char *msg);\n"
    "        int ocall_fetch([out, size=cap] uint8_t *buf, size_t cap, [out] size_t *got);\n"
    "    };\n"
    "};\n";

static cloak_edl *parse_ok(const char *text)
{
    cloak_edl *e = NULL;
    cloak_error why = {0};
    cloak_err rc = cloak_edl_parse(text, strlen(text), "t.edl", &e, &why);
    if (rc != CLOAK_OK) fail_msg("unexpected parse error: %s", why.msg);
    return e;
}

static void test_parses_the_example(void **state)
{
    (void)state;
    cloak_edl *e = parse_ok(hello_edl);
    assert_int_equal(e->ntrusted, 3);
    assert_int_equal(e->nuntrusted, 2);

    const cloak_edl_func *f = &e->trusted[0];
    assert_string_equal(f->name, "ecall_process");
    assert_int_equal(f->ret, CLOAK_EDL_INT);
    assert_int_equal(f->line, 3);
    assert_int_equal(f->col, 9);
    assert_int_equal(f->nparams, 4);
    const cloak_edl_param *p = f->params;
    assert_string_equal(p[0].name, "in");
    assert_true(p[0].is_ptr && p[0].is_const);
    assert_int_equal(p[0].dir, CLOAK_EDL_IN);
    assert_int_equal(p[0].type, CLOAK_EDL_UINT8);
    assert_int_equal(p[0].len_kind, CLOAK_EDL_LEN_SIZE);
    assert_int_equal(p[0].len_param, 1);
    assert_false(p[1].is_ptr);
    assert_int_equal(p[1].type, CLOAK_EDL_SIZE);
    assert_int_equal(p[2].dir, CLOAK_EDL_OUT);
    assert_int_equal(p[2].len_param, 3);
    assert_int_equal(p[2].line, 4);
    assert_int_equal(p[2].col, 34);

    assert_int_equal(e->trusted[1].ret, CLOAK_EDL_UINT64);
    assert_int_equal(e->trusted[1].nparams, 2);

    p = e->trusted[2].params;
    assert_int_equal(e->trusted[2].ret, CLOAK_EDL_VOID);
    assert_int_equal(p[0].len_kind, CLOAK_EDL_LEN_STRING);
    assert_int_equal(p[0].type, CLOAK_EDL_CHAR);
    assert_int_equal(p[1].dir, CLOAK_EDL_IN | CLOAK_EDL_OUT);
    assert_int_equal(p[1].len_kind, CLOAK_EDL_LEN_COUNT);
    assert_int_equal(p[1].len_param, 2);

    f = &e->untrusted[1];
    assert_string_equal(f->name, "ocall_fetch");
    assert_int_equal(f->params[2].len_kind, CLOAK_EDL_LEN_ONE);
    assert_int_equal(f->params[2].dir, CLOAK_EDL_OUT);
    assert_int_equal(f->params[2].type, CLOAK_EDL_SIZE);
    cloak_edl_free(e);
}

static void test_accepts_the_optional_forms(void **state)
{
    (void)state;
    cloak_edl *e =
        parse_ok("// leading comment\n"
                 "enclave { /* no semicolons */ trusted { void a(); int b(void)\n"
                 "; unsigned int c(unsigned long x, unsigned y, long z);\n"
                 "void d([in, size=0x10] const void *k, [out, count=2] int64_t *v); }\n"
                 "trusted { public bool e([in, size=n] void *p, int n); } untrusted {} }");
    assert_int_equal(e->ntrusted, 5);
    assert_int_equal(e->nuntrusted, 0);
    assert_int_equal(e->trusted[0].nparams, 0);
    assert_int_equal(e->trusted[1].nparams, 0);
    assert_int_equal(e->trusted[2].ret, CLOAK_EDL_UNSIGNED);
    assert_int_equal(e->trusted[2].params[0].type, CLOAK_EDL_ULONG);
    assert_int_equal(e->trusted[2].params[1].type, CLOAK_EDL_UNSIGNED);
    assert_int_equal(e->trusted[2].params[2].type, CLOAK_EDL_LONG);
    const cloak_edl_param *k = &e->trusted[3].params[0];
    assert_int_equal(k->type, CLOAK_EDL_VOID);
    assert_int_equal(k->len_param, -1);
    assert_true(k->len_value == 16);
    assert_int_equal(e->trusted[3].params[1].len_value, 2);
    /* `void *p` as the first parameter is a pointer, not `(void)` */
    assert_int_equal(e->trusted[4].nparams, 2);
    assert_true(e->trusted[4].params[0].is_ptr);
    assert_false(e->trusted[4].params[0].is_const);
    cloak_edl_free(e);
    e = parse_ok("enclave {};");
    assert_int_equal(e->ntrusted + e->nuntrusted, 0);
    cloak_edl_free(e);
}

static void test_parses_the_sample_file(void **state)
{
    (void)state;
    const char *src = getenv("CLOAK_SOURCE_DIR");
    if (!src) skip();
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/edl/sample.edl", src);
    uint8_t *text = NULL;
    size_t len = 0;
    cloak_error why = {0};
    assert_int_equal(cloak_file_read(path, &text, &len, &why), CLOAK_OK);
    cloak_edl *e = NULL;
    assert_int_equal(cloak_edl_parse((const char *)text, len, path, &e, &why), CLOAK_OK);
    assert_int_equal(e->ntrusted, 11);
    assert_int_equal(e->nuntrusted, 4);
    assert_int_equal(e->trusted[3].nparams, 15);
    cloak_edl_free(e);
    free(text);
}

/* ---- errors: each must name the right place ---- */

typedef struct {
    const char *text; /* a declaration placed at line 3, column 9 -- or a whole file */
    int whole;        /* 1: text is the whole file */
    const char *want; /* exact message */
} bad_case;

/* `decl` starts at line 3, column 9: a column in the messages below is 9 + its offset. */
#define TRUSTED_WRAP "enclave {\n    trusted {\n        %s\n    };\n};\n"

static const bad_case bad[] = {
    {"public void f(const char *s);", 0,
     "t.edl:3:23: pointer parameter 's' needs a direction: [in], [out] or [in, out]"},
    {"public void f([user_check] void *p);", 0,
     "t.edl:3:24: user_check is not supported: give the pointer a direction ([in], [out] or "
     "[in, out]) and a length (size=, count= or string)"},
    {"public void f([in, size=p] const uint8_t *p);", 0,
     "t.edl:3:33: size=p must name an integer parameter passed by value ('p' is uint8_t *)"},
    {"public void f([in, size=b] const uint8_t *p, bool b);", 0,
     "t.edl:3:33: size=b must name an integer parameter passed by value ('b' is bool)"},
    {"public void f([in, size=n] const uint8_t *p);", 0,
     "t.edl:3:33: size=n: 'f' has no parameter named 'n'"},
    {"public void f([out, string] char *s);", 0,
     "t.edl:3:23: [out] strings are not supported; use [out, size=N] char * and a length"},
    {"public void f([in, out, string] char *s);", 0,
     "t.edl:3:23: [out] strings are not supported; use [out, size=N] char * and a length"},
    {"public void f([string] const char *s);", 0, "t.edl:3:23: string needs [in]"},
    {"public void f([in, string, size=4] const char *s);", 0,
     "t.edl:3:23: string cannot be combined with size= or count="},
    {"public void f([in, string] const uint8_t *s);", 0,
     "t.edl:3:23: string applies only to char pointers ('s' is uint8_t *)"},
    {"public void f([in] int x);", 0,
     "t.edl:3:23: attributes apply only to pointers; 'x' is passed by value"},
    {"public char f(void);", 0, "t.edl:3:9: char is supported only as a pointer; return int8_t"},
    {"public int *f(void);", 0,
     "t.edl:3:20: functions cannot return pointers; return data through an [out] buffer"},
    {"public void f(float x);", 0,
     "t.edl:3:23: unsupported type 'float' (supported: int8_t..int64_t, uint8_t..uint64_t, int, "
     "unsigned, long, unsigned long, size_t, bool, char *, void)"},
    {"public void f(struct s x);", 0,
     "t.edl:3:23: 'struct' types are not supported; pass the fields, or bytes with size="},
    {"public void f(long long x);", 0, "t.edl:3:28: 'long long' is not supported; use int64_t"},
    {"public void f(unsigned char x);", 0,
     "t.edl:3:23: 'unsigned char' is not supported; use uint8_t"},
    {"public void f([in, count=n] const void *p, size_t n);", 0,
     "t.edl:3:23: void pointer 'p' needs size= (a byte count)"},
    {"public void f([in] void *p);", 0, "t.edl:3:23: void pointer 'p' needs size= (a byte count)"},
    {"public void f([in] const char *s);", 0,
     "t.edl:3:23: char pointer 's' needs string, size= or count="},
    {"public void f(char c);", 0,
     "t.edl:3:23: char is supported only as a pointer ([in, string] const char *); use int8_t "
     "or uint8_t for 'c'"},
    {"public void f(void v);", 0, "t.edl:3:23: parameter 'v' cannot be void"},
    {"public void f([out] const uint32_t *p);", 0,
     "t.edl:3:23: [out] parameter 'p' cannot be const"},
    {"public void f([in] bool *p);", 0,
     "t.edl:3:23: bool * is not supported (a hostile peer could send bytes other than 0 or 1); "
     "use uint8_t * for 'p'"},
    {"public void f([in] uint8_t **p);", 0,
     "t.edl:3:37: pointers to pointers cannot cross the boundary; pass a flat buffer"},
    {"public void f([in] uint8_t const *p);", 0,
     "t.edl:3:36: write const before the type ('const T *')"},
    {"public void f(int a[4]);", 0,
     "t.edl:3:28: arrays are not supported; use a pointer with count="},
    {"public void f(int x, int x);", 0, "t.edl:3:30: parameter 'x' declared twice in 'f'"},
    {"public void f([in, in] uint8_t *p);", 0, "t.edl:3:28: attribute 'in' given twice"},
    {"public void f([in, size=4, count=2] uint8_t *p);", 0,
     "t.edl:3:36: only one of size= and count= may be given"},
    {"public void f([in, isptr] uint8_t *p);", 0,
     "t.edl:3:28: unsupported attribute 'isptr' (supported: in, out, string, size=, count=)"},
    {"public void f([in, size] uint8_t *p);", 0, "t.edl:3:32: expected '=' after size, found ']'"},
    {"public void f([in, size=0x] uint8_t *p);", 0, "t.edl:3:33: hex number without digits"},
    {"public void f([in, size=4x] uint8_t *p);", 0, "t.edl:3:34: unexpected 'x' in a number"},
    {"public void f([in, size=99999999999999999999] uint8_t *p);", 0,
     "t.edl:3:33: number too large"},
    {"public void f([in, size=4294967296] uint8_t *p);", 0,
     "t.edl:3:33: size= literal larger than 4294967295"},
    {"public void f(int int);", 0, "t.edl:3:27: 'int' is a type and cannot be used as a name"},
    {"public void f(int retval);", 0,
     "t.edl:3:27: 'retval' is reserved and cannot be used as a name"},
    {"public void f(int return);", 0,
     "t.edl:3:27: 'return' is reserved and cannot be used as a name"},
    {"public void edl_x(void);", 0,
     "t.edl:3:21: names starting with 'edl_' are reserved for the generated code"},
    {"public void f(int edl_n);", 0,
     "t.edl:3:27: names starting with 'edl_' are reserved for the generated code"},
    {"public void cloak_x(void);", 0,
     "t.edl:3:21: function names starting with 'cloak_' are reserved for cloak"},
    {"public void f(int x)", 0,
     "t.edl:4:5: expected ';' after the function declaration, found '}'"},
    {"public void f(int x;", 0, "t.edl:3:28: expected ',' or ')', found ';'"},
    {"public void f(void) allow(g);", 0, "t.edl:3:29: 'allow' is not supported"},
    {"private void f(void);", 0,
     "t.edl:3:9: 'private' is not supported: every trusted function is public"},
    {"void f(void); int f(int a);", 0, "t.edl:3:23: function 'f' already declared at line 3"},
    {"void f(void) @;", 0, "t.edl:3:22: unexpected character '@'"},
    /* whole files */
    {"", 1, "t.edl:1:1: expected 'enclave', found end of file"},
    {"trusted { };", 1, "t.edl:1:1: expected 'enclave', found 'trusted'"},
    {"enclave { /* oops", 1, "t.edl:1:11: unterminated /* comment"},
    {"enclave { };\nfoo", 1, "t.edl:2:1: unexpected 'foo' after the enclave block"},
    {"enclave { from \"x.edl\" import *; };", 1,
     "t.edl:1:11: 'from' is not supported: declare every function in this file"},
    {"enclave { include \"x.h\" };", 1,
     "t.edl:1:11: 'include' is not supported: declare every function in this file"},
    {"enclave { struct s { int a; }; };", 1, "t.edl:1:11: type definitions are not supported"},
    {"enclave { trusted { void f(void);", 1,
     "t.edl:1:34: expected '}' closing the section, found end of file"},
    {"enclave { foo { }; };", 1, "t.edl:1:11: expected 'trusted', 'untrusted' or '}', found 'foo'"},
    {"enclave { untrusted { public void g(void); }; };", 1,
     "t.edl:1:23: 'public' applies only to trusted functions"},
    /* positions count lines, tabs as one column, and comments */
    {"// c\n\tenclave {\n/* x\n */ trusted {\n  void f(const char *s);\n};\n};", 1,
     "t.edl:5:10: pointer parameter 's' needs a direction: [in], [out] or [in, out]"},
};

static void test_each_error_names_its_place(void **state)
{
    (void)state;
    char text[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (bad[i].whole)
            snprintf(text, sizeof text, "%s", bad[i].text);
        else
            snprintf(text, sizeof text, TRUSTED_WRAP, bad[i].text);
        cloak_edl *e = NULL;
        cloak_error why = {0};
        cloak_err rc = cloak_edl_parse(text, strlen(text), "t.edl", &e, &why);
        if (rc != CLOAK_EINVAL || strcmp(why.msg, bad[i].want)) {
            cloak_edl_free(e);
            fail_msg("case %zu (%s):\n   got: %s (rc %d)\n  want: %s", i, bad[i].text, why.msg, rc,
                     bad[i].want);
        }
        assert_null(e);
    }
}

static void test_nul_byte_and_limits(void **state)
{
    (void)state;
    cloak_edl *e = NULL;
    cloak_error why = {0};
    assert_int_equal(cloak_edl_parse("enclave {\0}", 11, "t.edl", &e, &why), CLOAK_EINVAL);
    assert_string_equal(why.msg, "t.edl:1:10: unexpected byte 0x00");
    /* 65 parameters */
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, "enclave { trusted { void f(");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%sint p%d", i ? ", " : "", i);
    snprintf(text + n, sizeof text - n, "); }; };");
    assert_int_equal(cloak_edl_parse(text, strlen(text), "t.edl", &e, &why), CLOAK_EINVAL);
    assert_non_null(strstr(why.msg, "more than 64 parameters"));
    /* a 129-character name */
    char name[130];
    memset(name, 'a', 129);
    name[129] = 0;
    snprintf(text, sizeof text, "enclave { trusted { void %s(void); }; };", name);
    assert_int_equal(cloak_edl_parse(text, strlen(text), "t.edl", &e, &why), CLOAK_EINVAL);
    assert_string_equal(why.msg, "t.edl:1:26: name longer than 128 characters");
    /* text need not be NUL-terminated: parse only the first len bytes */
    const char *t = "enclave {};garbage";
    assert_int_equal(cloak_edl_parse(t, 11, "t.edl", &e, &why), CLOAK_OK);
    cloak_edl_free(e);
}

/* ---- generation ---- */

static char *slurp(const char *path, size_t *len)
{
    uint8_t *b = NULL;
    cloak_error why = {0};
    if (cloak_file_read(path, &b, len, &why) != CLOAK_OK) return NULL;
    return (char *)b;
}

/* The checked-in tests/edl/golden/ files (also compiled into fuzz/fuzz_edl_stub.c) must be
 * what the generator writes today. */
static void test_generated_files_match_golden(void **state)
{
    (void)state;
    const char *src = getenv("CLOAK_SOURCE_DIR");
    if (!src) skip();
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/edl/sample.edl", src);
    size_t len = 0;
    char *text = slurp(path, &len);
    assert_non_null(text);
    cloak_edl *e = NULL;
    cloak_error why = {0};
    assert_int_equal(cloak_edl_parse(text, len, path, &e, &why), CLOAK_OK);
    static const char *const names[] = {"sample_u.h", "sample_u.c", "sample_t.h", "sample_t.c"};
    for (int i = 0; i < 4; i++) {
        char *out = NULL, *golden;
        size_t out_len = 0, glen = 0;
        assert_int_equal(cloak_edl_render(e, "sample", (cloak_edl_file)i, &out, &out_len, &why),
                         CLOAK_OK);
        snprintf(path, sizeof path, "%s/tests/edl/golden/%s", src, names[i]);
        golden = slurp(path, &glen);
        if (!golden || glen != out_len || memcmp(golden, out, out_len))
            fail_msg("%s differs from the generator's output; if the change is intended, run\n"
                     "  build/bin/cloak enclave edger8r --out-dir tests/edl/golden "
                     "tests/edl/sample.edl",
                     path);
        free(golden);
        free(out);
    }
    cloak_edl_free(e);
    free(text);
}

static char tmpdir[64];

static void test_generate_writes_the_chosen_side(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cloak-edl-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char out[128], path[256];
    snprintf(out, sizeof out, "%s/a/b", tmpdir);
    cloak_edl *e = parse_ok(hello_edl);
    cloak_error why = {0};
    assert_int_equal(cloak_edl_generate(e, "my-enclave.v2", out, CLOAK_EDL_GEN_HOST, &why),
                     CLOAK_OK);
    struct stat st;
    snprintf(path, sizeof path, "%s/my-enclave.v2_u.c", out);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/my-enclave.v2_t.c", out);
    assert_int_not_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/my-enclave.v2_u.h", out);
    size_t len = 0;
    char *h = slurp(path, &len);
    assert_non_null(h);
    assert_non_null(strstr(h, "cloak_err my_enclave_v2_register_ocalls(cloak_enclave *enclave, "
                              "cloak_error *why) CLOAK_MUST_CHECK;"));
    assert_non_null(strstr(h, "cloak_err ecall_process(cloak_enclave *enclave, int *retval, "
                              "const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)"));
    assert_non_null(strstr(h, "cloak_err ecall_greet(cloak_enclave *enclave, const char *name, "
                              "uint32_t *vals, size_t n)"));
    assert_non_null(strstr(h, "int ocall_fetch(uint8_t *buf, size_t cap, size_t *got);"));
    free(h);
    assert_int_equal(cloak_edl_generate(e, "hello", out, CLOAK_EDL_GEN_TRUSTED, &why), CLOAK_OK);
    snprintf(path, sizeof path, "%s/hello_t.h", out);
    h = slurp(path, &len);
    assert_non_null(h);
    assert_non_null(strstr(h, "cloak_err ocall_fetch(int *retval, uint8_t *buf, size_t cap, "
                              "size_t *got) CLOAK_MUST_CHECK;"));
    assert_non_null(strstr(h, "int ecall_process(const uint8_t *in, size_t in_len, uint8_t "
                              "*out, size_t out_len);"));
    assert_non_null(strstr(h, "cloak_err hello_register_ecalls(void) CLOAK_MUST_CHECK;"));
    free(h);
    cloak_edl_free(e);
}

static void test_generate_refuses_bad_basenames(void **state)
{
    (void)state;
    cloak_edl *e = parse_ok(hello_edl);
    cloak_error why = {0};
    char *out = NULL;
    size_t len = 0;
    const char *bad_names[] = {"", "2fa", "a/b", "a b", "_x", NULL};
    for (int i = 0; i < 5; i++)
        assert_int_equal(cloak_edl_render(e, bad_names[i], CLOAK_EDL_FILE_U_H, &out, &len, &why),
                         CLOAK_EINVAL);
    assert_int_equal(cloak_edl_render(e, NULL, CLOAK_EDL_FILE_U_H, &out, &len, &why), CLOAK_EINVAL);
    assert_int_equal(cloak_edl_generate(e, "x", "/tmp", 0, &why), CLOAK_EINVAL);
    assert_null(out);
    cloak_edl_free(e);
}

/* Names at the 128-character limit make generated lines longer than the generator's first
 * line buffer; every file must still render completely. */
static void test_longest_names_render(void **state)
{
    (void)state;
    char a[127], b[127], text[2048]; /* 126 characters, so that a_o and b_x are 128 */
    memset(a, 'a', 126);
    memset(b, 'b', 126);
    a[126] = b[126] = 0;
    snprintf(text, sizeof text,
             "enclave { trusted { int %s([in, string] const char *%s, [in, count=%s_] const "
             "uint64_t *%s_x, long %s_); }; untrusted { void %s_o([in, out, size=%s_] void *%s, "
             "int %s_); }; };",
             a, b, b, b, b, a, b, b, b);
    cloak_edl *e = parse_ok(text);
    for (int f = 0; f < 4; f++) {
        char *out = NULL;
        size_t len = 0;
        cloak_error why = {0};
        assert_int_equal(cloak_edl_render(e, "x", (cloak_edl_file)f, &out, &len, &why), CLOAK_OK);
        assert_int_equal(strlen(out), len);
        char want[300];
        snprintf(want, sizeof want, "edl_b_%s + edl_n_%s - 1", b, b);
        if (f == CLOAK_EDL_FILE_T_C) assert_non_null(strstr(out, want));
        free(out);
    }
    cloak_edl_free(e);
}

/* ---- the CLI ---- */

static int run(const char *args)
{
    const char *bdir = getenv("CLOAK_BUILD_DIR");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s/bin/cloak enclave edger8r %s >/dev/null 2>&1", bdir, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli_exit_codes(void **state)
{
    (void)state;
    const char *bdir = getenv("CLOAK_BUILD_DIR"), *src = getenv("CLOAK_SOURCE_DIR");
    char bin[512], args[1024];
    snprintf(bin, sizeof bin, "%s/bin/cloak", bdir ? bdir : "");
    if (!bdir || !src || access(bin, X_OK)) skip();
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/cloak-edl-XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
    }
    assert_int_equal(run("--help"), 0);
    assert_int_equal(run(""), 2);
    assert_int_equal(run("--bogus x.edl"), 2);
    assert_int_equal(run("--trusted --untrusted x.edl"), 2);
    assert_int_equal(run("--out-dir"), 2);
    snprintf(args, sizeof args, "--out-dir %s/cli --search-path %s/tests/edl --trusted sample.edl",
             tmpdir, src);
    assert_int_equal(run(args), 0);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/cli/sample_t.c", tmpdir);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/cli/sample_u.c", tmpdir);
    assert_int_not_equal(stat(path, &st), 0);
    snprintf(args, sizeof args, "--out-dir %s/cli %s/no-such.edl", tmpdir, tmpdir);
    assert_int_equal(run(args), 1);
    /* a bad file fails with its position on stderr */
    snprintf(path, sizeof path, "%s/bad.edl", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("enclave {\n  trusted { void f([user_check] void *p); };\n};\n", f);
    fclose(f);
    char cmd[2048], line[512] = "";
    snprintf(cmd, sizeof cmd, "%s enclave edger8r --out-dir %s/cli %s 2>&1", bin, tmpdir, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    int st2 = pclose(p);
    assert_true(WIFEXITED(st2) && WEXITSTATUS(st2) == 1);
    char want[512];
    snprintf(want, sizeof want, "cloak: %s:2:21: user_check is not supported", path);
    assert_memory_equal(line, want, strlen(want));
}

static int cleanup(void **state)
{
    (void)state;
    if (tmpdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd)) return -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_the_example),
        cmocka_unit_test(test_accepts_the_optional_forms),
        cmocka_unit_test(test_parses_the_sample_file),
        cmocka_unit_test(test_each_error_names_its_place),
        cmocka_unit_test(test_nul_byte_and_limits),
        cmocka_unit_test(test_generated_files_match_golden),
        cmocka_unit_test(test_generate_writes_the_chosen_side),
        cmocka_unit_test(test_generate_refuses_bad_basenames),
        cmocka_unit_test(test_longest_names_render),
        cmocka_unit_test(test_cli_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
