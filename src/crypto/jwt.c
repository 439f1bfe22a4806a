/* JWT claim checks (RFC 7519 §4.1.1, §4.1.4-4.1.6) and a verify-then-check convenience. */
#include "crypto/jose_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* NumericDate (RFC 7519 §2): seconds since the epoch, an integer or a real. 1: present and
 * valid, 0: absent, -1: present but not a number (or beyond what time_t holds). */
static int numeric_date(const json_t *claims, const char *name, long long *out)
{
    json_t *v = json_object_get(claims, name);
    if (!v) return 0;
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d > 9.2e18 || d < -9.2e18) return -1;
        long long t = (long long)d; /* floor without libm */
        if ((double)t > d) t--;
        *out = t;
        return 1;
    }
    return -1;
}

static const char *fmt_time(long long t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if ((long long)tt != t || !gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, n, "%lld", t);
    return buf;
}

cloak_err cloak_jwt_check_time(const json_t *claims, time_t now, unsigned slack_seconds,
                               unsigned flags, cloak_error *why)
{
    if (!json_is_object(claims))
        return cloak_error_set(why, CLOAK_EINVAL, "JWT claims are not a JSON object");
    static const char *const names[] = {"exp", "nbf", "iat"};
    long long v[3] = {0, 0, 0};
    int have[3];
    for (int i = 0; i < 3; i++) {
        have[i] = numeric_date(claims, names[i], &v[i]);
        if (have[i] < 0)
            return cloak_error_set(why, CLOAK_EINVAL,
                                   "JWT claim \"%s\" is not a NumericDate (seconds since 1970)",
                                   names[i]);
    }
    char a[40], b[40];
    long long n = (long long)now, slack = (long long)slack_seconds;
    if (!have[0] && (flags & CLOAK_JWT_REQUIRE_EXP))
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "JWT has no \"exp\" claim and an expiry is required");
    /* The vault maps these messages to TokenExpired / TokenNotYetValid by their first words
     * ("JWT expired", "JWT not valid before", "JWT issued in the future"): keep them. */
    /* RFC 7519 §4.1.4: the current time must be before exp (slack allowed for clock skew) */
    if (have[0] && n - slack >= v[0])
        return cloak_error_set(
            why, CLOAK_EVERIFY, "JWT expired at %s (now %s, %u s slack): get a fresh token",
            fmt_time(v[0], a, sizeof a), fmt_time(n, b, sizeof b), slack_seconds);
    if (have[1] && n + slack < v[1])
        return cloak_error_set(
            why, CLOAK_EVERIFY, "JWT not valid before %s (now %s, %u s slack): check the clocks",
            fmt_time(v[1], a, sizeof a), fmt_time(n, b, sizeof b), slack_seconds);
    if (have[2] && n + slack < v[2])
        return cloak_error_set(
            why, CLOAK_EVERIFY,
            "JWT issued in the future, at %s (now %s, %u s slack): check the clocks",
            fmt_time(v[2], a, sizeof a), fmt_time(n, b, sizeof b), slack_seconds);
    return CLOAK_OK;
}

cloak_err cloak_jwt_check_issuer(const json_t *claims, const char *issuer, cloak_error *why)
{
    if (!issuer) return cloak_error_set(why, CLOAK_EINVAL, "JWT issuer check: no expected issuer");
    json_t *v = json_object_get(claims, "iss");
    if (!v)
        return cloak_error_set(why, CLOAK_EVERIFY, "JWT has no \"iss\" claim; expected \"%.200s\"",
                               issuer);
    if (!json_is_string(v))
        return cloak_error_set(why, CLOAK_EINVAL, "JWT claim \"iss\" is not a string");
    if (json_string_length(v) != strlen(issuer) ||
        memcmp(json_string_value(v), issuer, strlen(issuer)))
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "JWT issuer \"%.160s\" is not the expected \"%.160s\"",
                               json_string_value(v), issuer);
    return CLOAK_OK;
}

cloak_err cloak_jwt_verify(const char *token, size_t len, EVP_PKEY *key, const cloak_jwt_opts *opts,
                           json_t **header, json_t **claims, cloak_error *why)
{
    if (!opts || !claims)
        return cloak_error_set(why, CLOAK_EINVAL, "JWT verify: no options or output");
    cloak_jws jws = {0};
    json_t *c = NULL;
    cloak_err rc = cloak_jws_verify(token, len, key, opts->algs, &jws, why);
    if (rc) return rc;
    json_error_t jerr;
    c = json_loadb((const char *)jws.payload, jws.payload_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(c)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "JWT payload is not a JSON object%s%s",
                             c ? "" : ": ", c ? "" : jerr.text);
        goto out;
    }
    if ((rc = cloak_jwt_check_time(c, opts->now, opts->slack_seconds, opts->flags, why))) goto out;
    if (opts->issuer && (rc = cloak_jwt_check_issuer(c, opts->issuer, why))) goto out;
    if (header) *header = json_incref(jws.header);
    *claims = c;
    c = NULL;
out:
    json_decref(c);
    cloak_jws_clear(&jws);
    return rc;
}
