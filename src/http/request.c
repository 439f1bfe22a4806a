/* The request as handlers see it: accessors, per-request memory, the exactly-once reply, and
 * deferring work to the pool. All of it runs on the loop thread, except what a work function
 * may call (accessors and cloak_http_alloc) while it owns the request. */
#include "http/http_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

void *cloak_http_app(const cloak_http_req *req)
{
    return req->srv->cfg.app;
}

const char *cloak_http_method(const cloak_http_req *req)
{
    return req->method;
}

const char *cloak_http_path(const cloak_http_req *req)
{
    return req->target.path.p ? req->target.path.p : "";
}

const char *cloak_http_route_pattern(const cloak_http_req *req)
{
    if (req->route_idx < req->srv->nroutes) return req->srv->routes[req->route_idx].pattern;
    if (req->route_idx == req->srv->nroutes + 1) return "/metrics";
    return NULL;
}

const char *cloak_http_request_id(const cloak_http_req *req)
{
    return req->id;
}

const char *cloak_http_param(const cloak_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (!strcmp(req->params[i].name.p, name)) return req->params[i].value.p;
    return NULL;
}

const char *cloak_http_query(const cloak_http_req *req, const char *name)
{
    return http_target_query(&req->target, name);
}

const char *cloak_http_header(const cloak_http_req *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

const uint8_t *cloak_http_body(const cloak_http_req *req, size_t *len)
{
    if (len) *len = req->body_len;
    return req->body ? req->body : (const uint8_t *)"";
}

json_t *cloak_http_body_json(cloak_http_req *req)
{
    if (req->json) return req->json;
    json_error_t e;
    json_t *j = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        cloak_http_reply_error(req, 400, "BadParameter",
                               "The request body is not valid JSON: %s (line %d, column %d).",
                               e.text, e.line, e.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        cloak_http_reply_error(req, 400, "BadParameter", "The request body must be a JSON object.");
        return NULL;
    }
    req->json = j;
    return j;
}

/* cloak_http_on_end(req, NULL, p) frees p with free(). */
static void free_ptr(void *p)
{
    free(p);
}

void *cloak_http_alloc(cloak_http_req *req, size_t n)
{
    void *p = http_arena_alloc(&req->arena, n ? n : 1);
    if (p) {
        memset(p, 0, n);
        return p;
    }
    /* Past the arena's 64 MiB cap or out of memory: handlers never check, so returning NULL
     * would crash later in a worse place. Fail loudly here instead. */
    http_log("http: per-request memory exhausted (%zu bytes asked) in request %s", n, req->id);
    abort();
}

char *cloak_http_strdup(cloak_http_req *req, const char *s)
{
    size_t n = strlen(s);
    char *d = cloak_http_alloc(req, n + 1);
    memcpy(d, s, n + 1);
    return d;
}

void cloak_http_on_end(cloak_http_req *req, void (*fn)(void *), void *arg)
{
    struct http_end_cb *c = cloak_http_alloc(req, sizeof *c);
    c->fn = fn ? fn : free_ptr;
    c->arg = arg;
    c->next = req->end_cbs;
    req->end_cbs = c;
}

/* ---- replies ---- */

#define REPLY_JOIN_MAX (16u << 10) /* one TLS record holds at most 16 KiB of data */

static int misuse(cloak_http_req *req, const char *what)
{
    http_log("http: %s for %s %s (request %s) refused", what, req->method,
             cloak_http_route_pattern(req) ? cloak_http_route_pattern(req) : "(no route)", req->id);
    req->srv->metrics.reply_misuse++;
    return -1;
}

void cloak_http_add_header(cloak_http_req *req, const char *name, const char *value)
{
    if (req->replied) return;
    /* evhttp refuses values holding CR/LF, so a header can never split the response. */
    evhttp_add_header(evhttp_request_get_output_headers(req->ev), name, value);
}

/* A client request id is echoed only when it is short printable ASCII. */
static int printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || (unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e) return 0;
    return n > 0;
}

/* evhttp wrote the whole reply (not called when the connection died first; the drain
 * timeout covers that). */
static void on_reply_written(struct evhttp_request *ev, void *arg)
{
    cloak_http_server *s = arg;
    if (s->sending) s->sending--;
}

int http_send_reply(cloak_http_req *req, int status, const char *ctype, const void *body,
                    size_t len)
{
    if (req->replied) return misuse(req, "a second reply");
    if (req->deferred) return misuse(req, "a reply while a deferred job runs");
    struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);
    struct evbuffer *buf = evbuffer_new();
    if (!buf || (len && evbuffer_add(buf, body, len))) {
        if (buf) evbuffer_free(buf);
        status = 500;
        ctype = "text/plain";
        buf = NULL;
    }
    evhttp_remove_header(h, "Content-Type");
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "x-ms-request-id", req->id);
    const char *crid =
        evhttp_find_header(evhttp_request_get_input_headers(req->ev), "x-ms-client-request-id");
    if (crid && printable(crid, 256)) evhttp_add_header(h, "x-ms-client-request-id", crid);
    if (req->srv->stopping) evhttp_add_header(h, "Connection", "close");
    req->replied = 1;
    req->status = status;
    req->bytes_out = buf ? len : 0;
    /* A request whose client already went away (libevent detached it) is freed by
     * evhttp_send_reply without writing anything: nothing to wait for. */
    struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
    if (conn) {
        req->srv->sending++;
        evhttp_request_set_on_complete_cb(req->ev, on_reply_written, req->srv);
    }
    evhttp_send_reply(req->ev, status, NULL, buf);
    if (buf) evbuffer_free(buf);
    /* evhttp queued the head and the body as separate buffer chains, and bufferevent_openssl
     * makes one TLS record and one write(2) per chain. The write happens later on the loop, so
     * joining a small reply into one chain now sends it as one record in one system call (and
     * the client reads it at once). */
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    struct evbuffer *out = bev ? bufferevent_get_output(bev) : NULL;
    if (out && evbuffer_get_length(out) <= REPLY_JOIN_MAX) evbuffer_pullup(out, -1);
    /* A reply from outside a callback (server shutdown) is ended by its caller. */
    return 0;
}

int cloak_http_reply_json(cloak_http_req *req, int status, json_t *body)
{
    if (!body)
        return cloak_http_reply_error(req, 500, "InternalError",
                                      "The server could not build a response.");
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return cloak_http_reply_error(req, 500, "InternalError",
                                      "The server could not encode a response.");
    int r = http_send_reply(req, status, "application/json; charset=utf-8", text, strlen(text));
    free(text);
    return r;
}

int cloak_http_reply_error(cloak_http_req *req, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    /* If even that fails, a fixed body keeps the shape. */
    static const char fallback[] =
        "{\"error\":{\"code\":\"InternalError\",\"message\":\"out of memory\"}}";
    int r = http_send_reply(req, text ? status : 500, "application/json; charset=utf-8",
                            text ? text : fallback, text ? strlen(text) : sizeof fallback - 1);
    free(text);
    return r;
}

int cloak_http_reply_text(cloak_http_req *req, int status, const char *content_type,
                          const void *body, size_t len)
{
    return http_send_reply(req, status, content_type ? content_type : "text/plain; charset=utf-8",
                           body, len);
}

int cloak_http_reply_empty(cloak_http_req *req, int status)
{
    int r = http_send_reply(req, status, "application/json; charset=utf-8", NULL, 0);
    return r;
}

int cloak_http_replied(const cloak_http_req *req)
{
    return req->replied;
}

/* ---- the end of a request ---- */

void http_after_callback(cloak_http_req *req, const char *where)
{
    req->in_cb = 0;
    if (!req->replied && !req->deferred) {
        http_log("http: %s for %s %s returned without a reply (request %s); answering 500", where,
                 req->method,
                 cloak_http_route_pattern(req) ? cloak_http_route_pattern(req) : "(no route)",
                 req->id);
        req->srv->metrics.reply_misuse++;
        cloak_http_reply_error(req, 500, "InternalError", "The server did not produce a response.");
    }
    if (req->replied && !req->deferred) http_end_request(req);
}

void http_end_request(cloak_http_req *req)
{
    cloak_http_server *s = req->srv;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs =
        (double)(now.tv_sec - req->start.tv_sec) + (double)(now.tv_nsec - req->start.tv_nsec) / 1e9;
    http_metrics_record(s, req, secs);
    http_access_log(s, req, secs);
    for (struct http_end_cb *c = req->end_cbs; c; c = c->next)
        c->fn(c->arg);
    json_decref(req->json);
    if (req->live_prev)
        req->live_prev->live_next = req->live_next;
    else
        s->live = req->live_next;
    if (req->live_next) req->live_next->live_prev = req->live_prev;
    s->inflight--;
    s->metrics.in_flight--;
    http_arena_free(&req->arena);
    req->magic = 0;
    free(req);
}

/* ---- defer ---- */

/* Loop thread: a worker finished req->work. */
static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
    cloak_http_req *req = arg;
    event_free(req->job_ev);
    req->job_ev = NULL;
    req->deferred = 0;
    req->in_cb = 1;
    req->done(req, req->job_arg);
    http_after_callback(req, "done callback");
}

int cloak_http_defer(cloak_http_req *req, cloak_http_work_fn work, cloak_http_done_fn done,
                     void *arg)
{
    if (req->replied) return misuse(req, "a defer after the reply");
    if (req->deferred) return misuse(req, "a second concurrent defer");
    if (!req->in_cb) return misuse(req, "a defer outside a handler or done callback");
    cloak_http_server *s = req->srv;
    req->work = work;
    req->done = done;
    req->job_arg = arg;
    req->job_ev = s->pool ? event_new(s->base, -1, 0, on_job_done, req) : NULL;
    if (!req->job_ev) {
        cloak_http_reply_error(req, s->pool ? 500 : 503,
                               s->pool ? "InternalError" : "ServiceUnavailable",
                               "The server cannot run this request now.");
        return -1;
    }
    req->deferred = 1;
    if (http_pool_submit(s->pool, req)) {
        event_free(req->job_ev);
        req->job_ev = NULL;
        req->deferred = 0;
        cloak_http_reply_error(req, 503, "ServiceUnavailable", "The server is stopping.");
        return -1;
    }
    return 0;
}
