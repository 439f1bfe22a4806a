/* The HTTP request-target parser: origin- and absolute-form, percent-decoding of path
 * segments and of query names and values, and route matching against the service patterns
 * (src/http/target.c). Invariants: every decoded string is NUL-terminated at its length and
 * holds no NUL; a match yields exactly the pattern's parameters, each non-empty. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/http_int.h"

static const char *const patterns[] = {
    "/keys/{name}/{version}",      "/keys/{name}",
    "/policies/{type}:reset",      "/policies/{type}",
    "/certificates:add",           "/",
    "/deletedkeys/{name}/recover", "/a{x}b/c",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static http_pattern pats[sizeof patterns / sizeof *patterns];
    static int compiled;
    if (!compiled) {
        const char *err;
        for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++)
            if (http_pattern_compile(patterns[i], &pats[i], &err)) return 0;
        compiled = 1;
    }
    http_arena a = {0};
    http_target t;
    const char *err = NULL;
    int status = 0;
    if (http_target_parse(&a, data, size, &t, &err, &status) == 0) {
        assert(t.path.p[0] == '/' && strlen(t.path.p) == t.path.len);
        for (size_t i = 0; i < t.nsegs; i++)
            assert(strlen(t.segs[i].p) == t.segs[i].len);
        for (size_t i = 0; i < t.nquery; i++) {
            assert(strlen(t.query[i].name.p) == t.query[i].name.len);
            assert(strlen(t.query[i].value.p) == t.query[i].value.len);
            assert(http_target_query(&t, t.query[i].name.p) != NULL);
        }
        (void)http_target_query(&t, "api-version");
        for (size_t i = 0; i < sizeof patterns / sizeof *patterns; i++)
            for (unsigned flags = 0; flags <= CLOAK_HTTP_SLASH_OPTIONAL; flags++) {
                http_kv *kv = NULL;
                size_t n = 0;
                if (http_pattern_match(&pats[i], flags, &t, &a, &kv, &n) == 1) {
                    assert(n == pats[i].nparams);
                    for (size_t k = 0; k < n; k++)
                        assert(kv[k].value.len > 0 && strlen(kv[k].value.p) == kv[k].value.len);
                }
            }
    } else {
        assert(err && (status == 400 || status == 404 || status == 414 || status == 500));
    }
    http_arena_free(&a);
    return 0;
}
