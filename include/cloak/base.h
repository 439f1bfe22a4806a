/*
 * cloak base: error codes, user-facing error messages, hex, files, a bounds-checked byte
 * reader and a growable byte buffer. Every other component builds on these.
 *
 * Trust: none; these are plain utilities. Thread-safety: all functions are reentrant; a
 * cloak_error belongs to one caller at a time.
 */
#ifndef CLOAK_BASE_H
#define CLOAK_BASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_MUST_CHECK __attribute__((warn_unused_result))

/* Return code of every fallible call: 0 is success. Values are stable (documented exit codes). */
typedef enum {
    CLOAK_OK = 0,
    CLOAK_EINVAL = 1,        /* bad argument or malformed input */
    CLOAK_EVERIFY = 2,       /* a signature, measurement, MAC or policy check failed */
    CLOAK_ENOMEM = 3,        /* allocation failed */
    CLOAK_EIO = 4,           /* file, socket or process I/O failed */
    CLOAK_ENOTFOUND = 5,     /* no such file, key, function or object */
    CLOAK_ERANGE = 6,        /* an output buffer is too small; the needed size is reported */
    CLOAK_ECRASHED = 7,      /* the enclave died (crash, seccomp kill, killed) */
    CLOAK_ETIMEOUT = 8,      /* the enclave did not answer within the call timeout */
    CLOAK_EPERM = 9,         /* refused by policy (rollback, host may not choose report data) */
    CLOAK_EUNSUPPORTED = 10, /* not available on this backend or platform */
    CLOAK_EINTERNAL = 11,    /* a bug: an invariant broke */
    CLOAK_EEXIST = 12,       /* already exists (a name in use, a replayed nonce) */
} cloak_err;

/* A message for a person: what failed, where, and what to do. */
#define CLOAK_ERROR_MAX 512
typedef struct {
    cloak_err code;
    char msg[CLOAK_ERROR_MAX];
} cloak_error;

/* Fill `why` (may be NULL) and return `code`. printf-style. */
cloak_err cloak_error_set(cloak_error *why, cloak_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message with context: "loading image: <old message>". */
cloak_err cloak_error_wrap(cloak_error *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *cloak_err_name(cloak_err code);

/* Hex, lower-case on output; input accepts either case, no separators. */
char *cloak_hex_encode(const uint8_t *p, size_t len);          /* malloc'd, NUL-terminated */
void cloak_hex_write(char *dst, const uint8_t *p, size_t len); /* dst holds 2*len+1 */
cloak_err cloak_hex_decode(const char *hex, uint8_t **out, size_t *out_len, cloak_error *why);
/* Decode into a fixed buffer; exact length required. */
cloak_err cloak_hex_decode_fixed(const char *hex, uint8_t *out, size_t len, cloak_error *why);

/* Files. cloak_file_write is atomic: temp file, fsync, rename. */
cloak_err cloak_file_read(const char *path, uint8_t **out, size_t *out_len, cloak_error *why);
cloak_err cloak_file_write(const char *path, const uint8_t *p, size_t len, unsigned mode,
                           cloak_error *why);
/* mkdir -p with the given mode for created directories. */
cloak_err cloak_mkdirs(const char *path, unsigned mode, cloak_error *why);

/* Free a secret: OPENSSL_cleanse then free. */
void cloak_free_secret(void *p, size_t len);

/* Growable byte buffer. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed; /* sticky: set when an allocation failed */
} cloak_buf;
void cloak_buf_put(cloak_buf *b, const void *p, size_t len);
void cloak_buf_u8(cloak_buf *b, uint8_t v);
void cloak_buf_u16le(cloak_buf *b, uint16_t v);
void cloak_buf_u32le(cloak_buf *b, uint32_t v);
void cloak_buf_u64le(cloak_buf *b, uint64_t v);
void cloak_buf_zero(cloak_buf *b, size_t n);
void cloak_buf_free(cloak_buf *b);
/* Wipes before freeing. */
void cloak_buf_free_secret(cloak_buf *b);

/* Bounds-checked reader over untrusted bytes. Every take_* fails (returns -1) once the
 * cursor would pass the end, and stays failed; check `failed` once at the end or each call. */
typedef struct {
    const uint8_t *p;
    size_t len, off;
    int failed;
} cloak_reader;
void cloak_reader_init(cloak_reader *r, const uint8_t *p, size_t len);
int cloak_take_u8(cloak_reader *r, uint8_t *v);
int cloak_take_u16le(cloak_reader *r, uint16_t *v);
int cloak_take_u32le(cloak_reader *r, uint32_t *v);
int cloak_take_u64le(cloak_reader *r, uint64_t *v);
int cloak_take_bytes(cloak_reader *r, void *dst, size_t n);
/* Point into the input without copying. */
int cloak_take_ref(cloak_reader *r, const uint8_t **ptr, size_t n);
static inline size_t cloak_reader_left(const cloak_reader *r)
{
    return r->len - r->off;
}

/* Little-endian stores/loads for fixed layouts. */
static inline void cloak_put_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void cloak_put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void cloak_put_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t cloak_get_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t cloak_get_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t cloak_get_u64le(const uint8_t *p)
{
    return (uint64_t)cloak_get_u32le(p) | ((uint64_t)cloak_get_u32le(p + 4) << 32);
}

/* Log an OpenSSL error queue into `why` with a prefix, clearing the queue. */
cloak_err cloak_error_openssl(cloak_error *why, cloak_err code, const char *what);

#ifdef __cplusplus
}
#endif
#endif
