/*
 * cloak EDL: an interface file in the spirit of Intel SGX / Open Enclave EDL declares the
 * enclave's trusted functions (ecalls, called by the host) and untrusted functions (ocalls,
 * called by the enclave). The parser turns it into the tree below; the generator writes typed
 * stubs for both sides that marshal each call into one of cloak's byte messages
 * (cloak_enclave_call / cloak_trusted_ocall). docs/EDL.md has the grammar and wire format.
 *
 * Every pointer crossing the boundary has a direction ([in], [out], [in, out]) and a length
 * (size=, count=, string, or one element); there is no user_check. The generated enclave
 * stub checks every length before the enclave function runs.
 *
 * Trust: the parser reads developer-written text, but is written (and fuzzed) as if it were
 * hostile: any input yields a tree or a "file:line:col: message" error. Thread-safety: all
 * functions are reentrant; a cloak_edl is immutable after parsing.
 */
#ifndef CLOAK_EDL_H
#define CLOAK_EDL_H

#include "cloak/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Strings ([in, string]) may be at most this long, not counting the NUL. */
#define CLOAK_EDL_STRING_MAX ((size_t)1 << 20)
/* Parser limits (keep hostile input bounded). */
#define CLOAK_EDL_MAX_FUNCS 4096 /* per trusted / untrusted list */
#define CLOAK_EDL_MAX_PARAMS 64  /* per function */
#define CLOAK_EDL_MAX_IDENT 128  /* characters in a name */

typedef enum {
    CLOAK_EDL_VOID = 0, /* return type, or element type of a size= pointer */
    CLOAK_EDL_BOOL,
    CLOAK_EDL_CHAR, /* pointers only */
    CLOAK_EDL_INT8,
    CLOAK_EDL_UINT8,
    CLOAK_EDL_INT16,
    CLOAK_EDL_UINT16,
    CLOAK_EDL_INT32,
    CLOAK_EDL_UINT32,
    CLOAK_EDL_INT64,
    CLOAK_EDL_UINT64,
    CLOAK_EDL_INT,      /* int */
    CLOAK_EDL_UNSIGNED, /* unsigned, unsigned int */
    CLOAK_EDL_LONG,     /* long */
    CLOAK_EDL_ULONG,    /* unsigned long */
    CLOAK_EDL_SIZE,     /* size_t */
} cloak_edl_type;

/* Direction of a pointer parameter (bit set). */
#define CLOAK_EDL_IN 0x1u
#define CLOAK_EDL_OUT 0x2u

typedef enum {
    CLOAK_EDL_LEN_ONE = 0, /* no size/count/string: exactly one element */
    CLOAK_EDL_LEN_SIZE,    /* size=X: X bytes */
    CLOAK_EDL_LEN_COUNT,   /* count=X: X elements */
    CLOAK_EDL_LEN_STRING,  /* [in, string]: NUL-terminated, at most CLOAK_EDL_STRING_MAX */
} cloak_edl_len_kind;

typedef struct {
    char *name;
    cloak_edl_type type;
    int is_ptr;   /* 1 for a pointer parameter */
    int is_const; /* `const` was written */
    unsigned dir; /* pointers: CLOAK_EDL_IN | CLOAK_EDL_OUT; 0 for by-value parameters */
    cloak_edl_len_kind len_kind;
    /* size=/count=: either the index of a by-value integer parameter of the same function,
     * or -1 and a literal in len_value. */
    int len_param;
    uint64_t len_value;
    unsigned line, col; /* where the parameter starts in the file */
} cloak_edl_param;

typedef struct {
    char *name;
    cloak_edl_type ret;
    cloak_edl_param *params;
    size_t nparams;
    unsigned line, col;
} cloak_edl_func;

typedef struct cloak_edl {
    cloak_edl_func *trusted; /* ecalls; function id = 1 + index */
    size_t ntrusted;
    cloak_edl_func *untrusted; /* ocalls; function id = 1 + index */
    size_t nuntrusted;
} cloak_edl;

/* Parse `text` (len bytes, need not be NUL-terminated). `filename` is used only in messages,
 * which read "file:line:col: what is wrong". */
cloak_err cloak_edl_parse(const char *text, size_t len, const char *filename, cloak_edl **out,
                          cloak_error *why) CLOAK_MUST_CHECK;
void cloak_edl_free(cloak_edl *edl);

/* The C spelling of a type ("uint32_t", "unsigned long", ...). */
const char *cloak_edl_type_name(cloak_edl_type t);

/* Which side(s) to generate. */
#define CLOAK_EDL_GEN_HOST 0x1u    /* <basename>_u.h, <basename>_u.c */
#define CLOAK_EDL_GEN_TRUSTED 0x2u /* <basename>_t.h, <basename>_t.c */
#define CLOAK_EDL_GEN_BOTH (CLOAK_EDL_GEN_HOST | CLOAK_EDL_GEN_TRUSTED)

typedef enum {
    CLOAK_EDL_FILE_U_H = 0,
    CLOAK_EDL_FILE_U_C,
    CLOAK_EDL_FILE_T_H,
    CLOAK_EDL_FILE_T_C,
} cloak_edl_file;

/* Render one generated file into memory (*out is malloc'd, NUL-terminated, not counted in
 * *out_len). `basename` names the files and prefixes the register functions: it must match
 * [A-Za-z][A-Za-z0-9_.-]* ('.' and '-' become '_' in C names). */
cloak_err cloak_edl_render(const cloak_edl *edl, const char *basename, cloak_edl_file file,
                           char **out, size_t *out_len, cloak_error *why) CLOAK_MUST_CHECK;

/* Write the files of `which` (CLOAK_EDL_GEN_*) into outdir (created if missing). Each file is
 * replaced atomically; all are rendered before any is written. */
cloak_err cloak_edl_generate(const cloak_edl *edl, const char *basename, const char *outdir,
                             int which, cloak_error *why) CLOAK_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
