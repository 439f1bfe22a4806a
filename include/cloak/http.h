/*
 * cloak http: the HTTPS service core shared by the attestation service and the key vault.
 * A libevent event loop (evhttp over bufferevent_openssl, TLS 1.2+, keep-alive) dispatches
 * each request through a declarative route table to a small handler; CPU-heavy work goes to
 * a worker pool and its result is posted back to the loop. Every response carries
 * x-ms-request-id (and echoes x-ms-client-request-id), errors are Azure-shaped
 * {"error":{"code","message"}}, and GET /metrics serves Prometheus text. A small libcurl
 * client is included for tests and relying parties.
 *
 * Trust: requests are untrusted bytes. The request target is parsed and percent-decoded by
 * our own bounds-checked parser (fuzz/fuzz_http_target.c); bodies are capped (413 beyond);
 * query values are never logged. The TLS key is read from a file or created 0600 in a data
 * directory signed by a local CA that only this machine trusts (development and tests; a
 * deployment passes its own cert and key).
 *
 * Thread-safety: handlers and done-callbacks run on the event-loop thread, one at a time, and
 * must not block. A work function runs on a worker thread and owns its request until it
 * returns. cloak_http_server_stop may be called from any thread; everything else on a server
 * belongs to the thread that created it. The client functions are reentrant; one
 * cloak_http_client belongs to one thread at a time.
 */
#ifndef CLOAK_HTTP_H
#define CLOAK_HTTP_H

#include "cloak/base.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLOAK_HTTP_MAX_BODY_DEFAULT (1u << 20) /* 1 MiB */
#define CLOAK_HTTP_WORKERS_DEFAULT 2u
#define CLOAK_HTTP_DRAIN_MS_DEFAULT 10000u
#define CLOAK_HTTP_REQUEST_ID_LEN 36 /* UUID text, without the NUL */

typedef struct cloak_http_server cloak_http_server;
typedef struct cloak_http_req cloak_http_req;

/* A handler runs on the loop thread and replies exactly once, now or from a done-callback
 * after cloak_http_defer. Returning without either is answered with a 500 (and logged). */
typedef void (*cloak_http_handler)(cloak_http_req *req);

/* Route flags. */
#define CLOAK_HTTP_SLASH_OPTIONAL                                                                  \
    0x1u /* "/keys/{name}" also matches "/keys/k1/" (and vice versa) */

/* One entry of the route table. The pattern is a path of '/'-separated segments; a segment is
 * a literal or holds one {param} with an optional literal prefix and suffix ("{type}:reset").
 * A parameter matches one non-empty segment, percent-decoded ('/' encoded as %2F stays in the
 * parameter). The first matching entry wins, so list "/policies/{type}:reset" before
 * "/policies/{type}" when both take the same method. */
typedef struct {
    const char *method;              /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *pattern;             /* "/keys/{name}/{version}" */
    const char *const *api_versions; /* NULL-terminated; NULL = api-version not checked */
    unsigned flags;                  /* CLOAK_HTTP_SLASH_* */
    cloak_http_handler handler;
} cloak_http_route;

/* TLS files, either given or created in a data directory. */
typedef struct {
    char ca[4096];   /* DIR/ca.pem (empty when the caller gave its own cert and key) */
    char cert[4096]; /* DIR/server.pem or the given cert file */
    char key[4096];  /* DIR/server.key or the given key file */
} cloak_http_tls_files;

/* Zero-initialise, then set what you need; every zero field has a safe default. */
typedef struct {
    const char *host;      /* NULL = "127.0.0.1" */
    uint16_t port;         /* 0 = ephemeral; see cloak_http_server_port */
    const char *cert_file; /* both set: use them ... */
    const char *key_file;
    const char *tls_dir; /* ... else create or reuse ca/server files here */
    const cloak_http_route *routes;
    size_t nroutes;
    void *app;         /* handed to handlers: cloak_http_app(req) */
    size_t max_body;   /* 0 = CLOAK_HTTP_MAX_BODY_DEFAULT; larger is 413 */
    unsigned workers;  /* 0 = CLOAK_HTTP_WORKERS_DEFAULT */
    unsigned drain_ms; /* stop waits this long for in-flight requests */
    FILE *access_log;  /* one JSON line per request; NULL = off */
    int no_metrics;    /* 1: no built-in GET /metrics */
} cloak_http_config;

/* Bind and prepare a server (TLS material loaded or created). Nothing is served until
 * cloak_http_server_start or _run. */
cloak_err cloak_http_server_new(const cloak_http_config *cfg, cloak_http_server **out,
                                cloak_error *why) CLOAK_MUST_CHECK;
/* The bound port (the ephemeral one when cfg->port was 0). */
uint16_t cloak_http_server_port(const cloak_http_server *s);
/* The TLS files in use (for `cloak attest serve` to print "CA: DIR/ca.pem"). */
const cloak_http_tls_files *cloak_http_server_tls(const cloak_http_server *s);
/* Serve on a dedicated event-loop thread. */
cloak_err cloak_http_server_start(cloak_http_server *s, cloak_error *why) CLOAK_MUST_CHECK;
/* Serve on the calling thread until cloak_http_server_stop. */
cloak_err cloak_http_server_run(cloak_http_server *s, cloak_error *why) CLOAK_MUST_CHECK;
/* Any thread, async-signal-unsafe: stop accepting, finish in-flight requests (up to
 * cfg->drain_ms), then leave the loop. Idempotent. */
void cloak_http_server_stop(cloak_http_server *s);
/* Stop (if serving), wait for the loop thread and the workers, free everything. */
void cloak_http_server_free(cloak_http_server *s);

/* Create, or reuse when present, DIR/ca.pem + DIR/ca.key (a local CA) and DIR/server.pem +
 * DIR/server.key (localhost, 127.0.0.1, ::1; signed by the CA); keys are 0600. An expired
 * server certificate is re-issued from the existing CA. A CA certificate without its key is
 * refused rather than replaced (someone may already trust it). */
cloak_err cloak_http_tls_ensure(const char *dir, cloak_http_tls_files *out,
                                cloak_error *why) CLOAK_MUST_CHECK;

/* ---- the request, for handlers ---- */
void *cloak_http_app(const cloak_http_req *req);
const char *cloak_http_method(const cloak_http_req *req);
const char *cloak_http_path(const cloak_http_req *req);          /* raw path, no query */
const char *cloak_http_route_pattern(const cloak_http_req *req); /* the matched pattern */
const char *cloak_http_request_id(const cloak_http_req *req);    /* our x-ms-request-id */
/* Path parameter by name; NULL if the route has no such parameter. */
const char *cloak_http_param(const cloak_http_req *req, const char *name);
/* Query parameter by percent-decoded name (ASCII case-insensitive, first wins); the value is
 * percent-decoded with '+' as space. NULL if absent; "" for "?flag" or "?flag=". */
const char *cloak_http_query(const cloak_http_req *req, const char *name);
/* Request header (case-insensitive); NULL if absent. */
const char *cloak_http_header(const cloak_http_req *req, const char *name);
/* The body (never NULL; len 0 when empty). */
const uint8_t *cloak_http_body(const cloak_http_req *req, size_t *len);
/* The body as a JSON object, owned by the request. On malformed JSON (or not an object) it
 * replies 400 BadParameter naming the line and column and returns NULL: just return. */
json_t *cloak_http_body_json(cloak_http_req *req);

/* Per-request memory (zeroed), freed in one place when the request ends. Never NULL: past the
 * per-request cap (64 MiB) or out of memory, the process aborts with a message, because a
 * handler that cannot get its memory has no safe way on. */
void *cloak_http_alloc(cloak_http_req *req, size_t n);
char *cloak_http_strdup(cloak_http_req *req, const char *s);
/* Run fn(arg) when the request ends (after the reply); fn NULL means free(arg). */
void cloak_http_on_end(cloak_http_req *req, void (*fn)(void *), void *arg);

/* ---- replies: exactly one per request; a second is refused with -1 and logged ---- */
/* Add a response header before replying (x-ms-request-id is always added). */
void cloak_http_add_header(cloak_http_req *req, const char *name, const char *value);
/* Steals `body`; a NULL body (a failed json_pack) becomes a 500. */
int cloak_http_reply_json(cloak_http_req *req, int status, json_t *body);
/* {"error":{"code":code,"message":...}} */
int cloak_http_reply_error(cloak_http_req *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int cloak_http_reply_text(cloak_http_req *req, int status, const char *content_type,
                          const void *body, size_t len);
int cloak_http_reply_empty(cloak_http_req *req, int status); /* e.g. 204 */
int cloak_http_replied(const cloak_http_req *req);

/* ---- the worker pool ----
 * work(req, arg) runs on a worker thread: it may read the request and use cloak_http_alloc,
 * but not reply. Then done(req, arg) runs on the loop thread and replies (or defers again).
 * The handler that defers must not reply itself. -1 (and a 500 reply) if the pool is gone. */
typedef void (*cloak_http_work_fn)(cloak_http_req *req, void *arg);
typedef void (*cloak_http_done_fn)(cloak_http_req *req, void *arg);
int cloak_http_defer(cloak_http_req *req, cloak_http_work_fn work, cloak_http_done_fn done,
                     void *arg);

/* ---- the client (libcurl): TLS verified against ca_file (NULL = system roots), always ---- */
typedef struct {
    long status;
    cloak_buf body;
    cloak_buf headers;    /* the raw response header block(s), NUL-terminated */
    long new_connections; /* 0 when a kept-alive connection was reused */
} cloak_http_response;
/* A header of the last response block (case-insensitive name), copied into dst; NULL if
 * absent or longer than dst_len-1. */
const char *cloak_http_response_header(const cloak_http_response *r, const char *name, char *dst,
                                       size_t dst_len);
void cloak_http_response_free(cloak_http_response *r);

/* A reusable client keeps its connections alive between fetches. */
typedef struct cloak_http_client cloak_http_client;
cloak_err cloak_http_client_new(const char *ca_file, cloak_http_client **out,
                                cloak_error *why) CLOAK_MUST_CHECK;
void cloak_http_client_free(cloak_http_client *c);
/* headers: NULL-terminated "Name: value" strings (may be NULL). body may be NULL. *out is
 * written only on success (any HTTP status is a success); free it with _response_free. */
cloak_err cloak_http_client_fetch(cloak_http_client *c, const char *method, const char *url,
                                  const char *const *headers, const uint8_t *body, size_t body_len,
                                  cloak_http_response *out, cloak_error *why) CLOAK_MUST_CHECK;
/* One-shot: a fresh client for one request. */
cloak_err cloak_http_fetch(const char *method, const char *url, const char *ca_file,
                           const char *const *headers, const uint8_t *body, size_t body_len,
                           cloak_http_response *out, cloak_error *why) CLOAK_MUST_CHECK;

#ifdef __cplusplus
}
#endif
#endif
