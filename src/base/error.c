/* Error messages for people: a code plus one sentence of what failed and what to do. */
#include "cloak/base.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

cloak_err cloak_error_set(cloak_error *why, cloak_err code, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why->msg, sizeof why->msg, fmt, ap);
        va_end(ap);
        why->code = code;
    }
    return code;
}

cloak_err cloak_error_wrap(cloak_error *why, const char *fmt, ...)
{
    if (!why) return CLOAK_EINTERNAL;
    char prefix[CLOAK_ERROR_MAX], old[CLOAK_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, why->msg, sizeof old);
    old[sizeof old - 1] = 0;
    /* truncation is fine: the message is for a person and stays NUL-terminated */
    size_t n = strlen(prefix);
    if (n > sizeof why->msg - 3) n = sizeof why->msg - 3;
    memcpy(why->msg, prefix, n);
    memcpy(why->msg + n, ": ", 2);
    size_t rest = sizeof why->msg - n - 3, ol = strlen(old);
    if (ol > rest) ol = rest;
    memcpy(why->msg + n + 2, old, ol);
    why->msg[n + 2 + ol] = 0;
    return why->code;
}

cloak_err cloak_error_openssl(cloak_error *why, cloak_err code, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "no OpenSSL error detail";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return cloak_error_set(why, code, "%s (%s)", what, buf);
}

const char *cloak_err_name(cloak_err code)
{
    switch (code) {
    case CLOAK_OK:
        return "ok";
    case CLOAK_EINVAL:
        return "invalid input";
    case CLOAK_EVERIFY:
        return "verification failed";
    case CLOAK_ENOMEM:
        return "out of memory";
    case CLOAK_EIO:
        return "I/O error";
    case CLOAK_ENOTFOUND:
        return "not found";
    case CLOAK_ERANGE:
        return "buffer too small";
    case CLOAK_ECRASHED:
        return "enclave crashed";
    case CLOAK_ETIMEOUT:
        return "enclave timed out";
    case CLOAK_EPERM:
        return "not permitted";
    case CLOAK_EUNSUPPORTED:
        return "unsupported";
    case CLOAK_EINTERNAL:
        return "internal error";
    case CLOAK_EEXIST:
        return "already exists";
    }
    return "unknown error";
}
