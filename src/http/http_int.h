/* Private to src/http: per-request arena, the request-target parser, route patterns, and the
 * server's internal structures shared by server.c, worker.c and metrics.c. */
#ifndef CLOAK_HTTP_INT_H
#define CLOAK_HTTP_INT_H

#include "cloak/http.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* ---- arena: per-request memory, freed at once ---- */
typedef struct http_chunk http_chunk;
typedef struct {
    http_chunk *head;
    size_t total; /* bytes handed out, for a sanity cap */
} http_arena;
void *http_arena_alloc(http_arena *a, size_t n); /* NULL on failure */
char *http_arena_strndup(http_arena *a, const char *s, size_t n);
void http_arena_free(http_arena *a);

/* A decoded string: NUL-terminated, with its length. */
typedef struct {
    const char *p;
    size_t len;
} http_str;
typedef struct {
    http_str name, value;
} http_kv;

#define HTTP_MAX_TARGET 8192u /* longer request-targets are refused (414) */
#define HTTP_MAX_QUERY 64u    /* more query parameters are refused (400) */
#define HTTP_MAX_SEGMENTS 32u /* more path segments are refused (404: no route is this deep) */

/* Percent-decode n bytes. plus_space: '+' means ' ' (query strings). Refuses a malformed escape
 * ("%zz", a '%' at the end) and %00, so every result is a clean C string. */
int http_pct_decode(http_arena *a, const char *s, size_t n, int plus_space, http_str *out);

/* A parsed request-target (RFC 9112 §3.2): origin-form "/path?query", or absolute-form whose
 * scheme and authority are skipped. The path stays raw (segments are decoded one by one, so
 * an encoded '/' never splits a segment); query names and values are decoded. */
typedef struct {
    http_str path;                    /* raw, starts with '/' */
    http_str segs[HTTP_MAX_SEGMENTS]; /* decoded segments after the leading '/'; a trailing
                                       * slash gives a final empty segment */
    size_t nsegs;
    http_kv *query;
    size_t nquery;
} http_target;
/* 0, or -1 with *err set to a static message and *status to 400/404/414. */
int http_target_parse(http_arena *a, const uint8_t *p, size_t len, http_target *out,
                      const char **err, int *status);
/* First query value whose decoded name equals `name` (ASCII case-insensitive). */
const char *http_target_query(const http_target *t, const char *name);

/* A compiled route pattern. */
typedef struct {
    char *prefix, *name, *suffix; /* literal segment: prefix only, name NULL */
} http_seg_pat;
typedef struct {
    http_seg_pat *segs;
    size_t nsegs;
    size_t nparams;
} http_pattern;
int http_pattern_compile(const char *pattern, http_pattern *out, const char **err);
void http_pattern_free(http_pattern *p);
/* 1 on match (params filled, allocated in a), 0 on no match, -1 on allocation failure. */
int http_pattern_match(const http_pattern *pat, unsigned flags, const http_target *t, http_arena *a,
                       http_kv **params, size_t *nparams);

/* ---- metrics (loop thread only) ---- */
#define HTTP_NBUCKETS 12
typedef struct {
    uint64_t buckets[HTTP_NBUCKETS]; /* cumulative is computed on output */
    uint64_t count;
    double sum;
} http_hist;
typedef struct {
    size_t route; /* index; nroutes = no route, nroutes+1 = /metrics */
    const char *method;
    int status;
    uint64_t count;
} http_counter;
typedef struct {
    http_counter *counters;
    size_t ncounters, cap;
    http_hist *hists; /* nroutes + 2 */
    uint64_t in_flight;
    uint64_t reply_misuse; /* second replies, missing replies */
} http_metrics;

typedef struct http_pool http_pool;

struct cloak_http_server {
    uint32_t magic;
    cloak_http_config cfg;
    cloak_http_route *routes;
    http_pattern *patterns;
    size_t nroutes;
    cloak_http_tls_files tls;
    struct ssl_ctx_st *ssl_ctx;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *stop_ev, *drain_ev;
    uint16_t port;
    pthread_t thread;
    int thread_started;
    int running;
    int stopping;            /* loop thread */
    struct timespec stop_at; /* when stopping began */
    http_pool *pool;
    http_metrics metrics;
    uint64_t inflight;    /* requests not yet finished */
    uint64_t sending;     /* replies handed to evhttp and not yet written out */
    cloak_http_req *live; /* every request not yet ended */
};

struct cloak_http_req {
    uint32_t magic;
    cloak_http_server *srv;
    struct evhttp_request *ev;
    http_arena arena;
    http_target target;
    const char *method;
    size_t route_idx; /* srv->nroutes when none */
    http_kv *params;
    size_t nparams;
    uint8_t *body;
    size_t body_len;
    json_t *json;
    char id[CLOAK_HTTP_REQUEST_ID_LEN + 1];
    struct timespec start;
    int replied, deferred, status;
    size_t bytes_out;
    struct http_end_cb *end_cbs;
    /* the deferred job */
    cloak_http_work_fn work;
    cloak_http_done_fn done;
    void *job_arg;
    struct event *job_ev;
    struct cloak_http_req *job_next;
    int in_cb; /* inside a handler or done callback: end the request after it */
    struct cloak_http_req *live_prev, *live_next; /* the server's list of live requests */
};

struct http_end_cb {
    struct http_end_cb *next;
    void (*fn)(void *);
    void *arg;
};

/* request.c */
int http_send_reply(cloak_http_req *req, int status, const char *ctype, const void *body,
                    size_t len);
/* After a handler or done callback returned: end the request, keep it for its job, or answer
 * 500 when nothing replied. */
void http_after_callback(cloak_http_req *req, const char *where);
void http_end_request(cloak_http_req *req); /* loop thread, exactly once per request */

/* worker.c */
int http_pool_new(cloak_http_server *s, unsigned n, http_pool **out);
int http_pool_submit(http_pool *p, cloak_http_req *req);
size_t http_pool_pending(http_pool *p);
void http_pool_free(http_pool *p); /* joins; jobs not yet run are handed back unrun */

/* metrics.c */
int http_metrics_init(http_metrics *m, size_t nroutes);
void http_metrics_free(http_metrics *m);
void http_metrics_record(cloak_http_server *s, const cloak_http_req *req, double seconds);
char *http_metrics_render(const cloak_http_server *s, size_t *len); /* malloc'd */
void http_access_log(cloak_http_server *s, const cloak_http_req *req, double seconds);
void http_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tls.c */
int http_tls_ctx(const cloak_http_tls_files *f, struct ssl_ctx_st **out, cloak_error *why);

#endif
