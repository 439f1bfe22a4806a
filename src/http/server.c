/* The HTTPS server: one libevent loop, evhttp over bufferevent_openssl, a route table, and the
 * life of a request from arrival to its single reply. Read top to bottom: setup, the loop
 * (start/run/stop), dispatch, the request API, replies, defer. */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#define SERVER_MAGIC 0x68747073u /* "htps" */
#define REQ_MAGIC 0x68726571u    /* "hreq" */
#define IDLE_TIMEOUT_S 30
#define MAX_HEADERS_SIZE (64u << 10)

static pthread_once_t evthread_once = PTHREAD_ONCE_INIT;
static int evthread_ok;
static void init_evthread(void)
{
    evthread_ok = evthread_use_pthreads() == 0;
}

static void on_request(struct evhttp_request *ev, void *arg);
static void on_stop(evutil_socket_t fd, short what, void *arg);
static void on_drain(evutil_socket_t fd, short what, void *arg);

/* ---- setup ---- */

/* libevent 2.1 falls back to a *plaintext* socket when this returns NULL, so never return
 * NULL: if SSL_new fails, hand back a bufferevent that refuses every byte. */
static enum bufferevent_filter_result refuse_all(struct evbuffer *src, struct evbuffer *dst,
                                                 ev_ssize_t lim, enum bufferevent_flush_mode mode,
                                                 void *arg)
{
    return BEV_ERROR;
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    cloak_http_server *s = arg;
    SSL *ssl = SSL_new(s->ssl_ctx);
    struct bufferevent *bev = NULL;
    if (ssl) {
        bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (bev) {
            /* Clients often close without close_notify; that is not an error for HTTP/1.1
             * with Content-Length framing. */
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
            return bev;
        }
        SSL_free(ssl);
    }
    http_log("http: cannot create a TLS connection (out of memory); refusing it");
    struct bufferevent *plain = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (plain)
        bev = bufferevent_filter_new(plain, refuse_all, refuse_all, BEV_OPT_CLOSE_ON_FREE, NULL,
                                     NULL);
    if (!bev) abort(); /* the only alternative left is serving plaintext */
    return bev;
}

cloak_err cloak_http_server_new(const cloak_http_config *cfg, cloak_http_server **out,
                                cloak_error *why)
{
    cloak_err rc = CLOAK_ENOMEM;
    const char *perr = NULL;
    if (!cfg || !out || (cfg->nroutes && !cfg->routes))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "cloak_http_server_new: no config or route table");
    if (!cfg->cert_file != !cfg->key_file)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "give both a certificate and a key file, or neither");
    if (!cfg->cert_file && !cfg->tls_dir)
        return cloak_error_set(why, CLOAK_EINVAL,
                               "no TLS material: give cert_file+key_file or tls_dir");
    pthread_once(&evthread_once, init_evthread);
    if (!evthread_ok)
        return cloak_error_set(why, CLOAK_EINTERNAL, "libevent has no pthreads support");

    cloak_http_server *s = calloc(1, sizeof *s);
    if (!s) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    s->magic = SERVER_MAGIC;
    s->cfg = *cfg;
    if (!s->cfg.max_body) s->cfg.max_body = CLOAK_HTTP_MAX_BODY_DEFAULT;
    if (!s->cfg.workers) s->cfg.workers = CLOAK_HTTP_WORKERS_DEFAULT;
    if (!s->cfg.drain_ms) s->cfg.drain_ms = CLOAK_HTTP_DRAIN_MS_DEFAULT;
    if (!s->cfg.host) s->cfg.host = "127.0.0.1";
    s->cfg.routes = NULL;
    s->nroutes = cfg->nroutes;
    if (s->nroutes) {
        s->routes = calloc(s->nroutes, sizeof *s->routes);
        s->patterns = calloc(s->nroutes, sizeof *s->patterns);
        if (!s->routes || !s->patterns) goto oom;
        memcpy(s->routes, cfg->routes, s->nroutes * sizeof *s->routes);
    }
    for (size_t i = 0; i < s->nroutes; i++) {
        if (!s->routes[i].method || !s->routes[i].handler) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "route %zu has no method or handler", i);
            goto fail;
        }
        if (http_pattern_compile(s->routes[i].pattern, &s->patterns[i], &perr)) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "route %zu (%s): %s", i,
                                 s->routes[i].pattern ? s->routes[i].pattern : "(null)", perr);
            goto fail;
        }
    }
    if (http_metrics_init(&s->metrics, s->nroutes)) goto oom;

    if (cfg->cert_file) {
        if (snprintf(s->tls.cert, sizeof s->tls.cert, "%s", cfg->cert_file) >=
                (int)sizeof s->tls.cert ||
            snprintf(s->tls.key, sizeof s->tls.key, "%s", cfg->key_file) >=
                (int)sizeof s->tls.key) {
            rc = cloak_error_set(why, CLOAK_EINVAL, "certificate or key path too long");
            goto fail;
        }
    } else if ((rc = cloak_http_tls_ensure(cfg->tls_dir, &s->tls, why))) {
        goto fail;
    }
    if ((rc = http_tls_ctx(&s->tls, &s->ssl_ctx, why))) goto fail;

    /* The epoll changelist: evhttp turns a connection's read and write interest on and off
     * around every request; with the changelist those changes are merged and applied once per
     * loop iteration instead of one epoll_ctl(2) each. (Its caveat, dup()ed descriptors, does
     * not apply: every socket here is libevent's own.) */
    struct event_config *ecfg = event_config_new();
    if (ecfg) event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    s->base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    if (ecfg) event_config_free(ecfg);
    if (!s->base) s->base = event_base_new();
    if (!s->base || !(s->http = evhttp_new(s->base))) goto oom;
    s->stop_ev = event_new(s->base, -1, 0, on_stop, s);
    s->drain_ev = event_new(s->base, -1, EV_PERSIST, on_drain, s);
    if (!s->stop_ev || !s->drain_ev) goto oom;
    evhttp_set_bevcb(s->http, make_bev, s);
    evhttp_set_gencb(s->http, on_request, s);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_timeout(s->http, IDLE_TIMEOUT_S);
    evhttp_set_max_headers_size(s->http, MAX_HEADERS_SIZE);
    /* libevent 2.1 answers an oversized body itself (plain-text 413, no request id) before we
     * see the request, with no hook to change that. So its hard cap sits above ours: bodies
     * up to 4x the limit (at least +64 KiB) get our JSON 413; only larger ones get libevent's. */
    size_t hard = s->cfg.max_body < ((size_t)1 << 40) ? s->cfg.max_body * 4 : s->cfg.max_body;
    if (hard < s->cfg.max_body + (64u << 10)) hard = s->cfg.max_body + (64u << 10);
    evhttp_set_max_body_size(s->http, (ev_ssize_t)hard);

    s->bound = evhttp_bind_socket_with_handle(s->http, s->cfg.host, cfg->port);
    if (!s->bound) {
        rc = cloak_error_set(why, CLOAK_EIO, "cannot listen on %s:%u: %s", s->cfg.host,
                             (unsigned)cfg->port, strerror(errno));
        goto fail;
    }
    /* Accepted sockets inherit TCP_NODELAY from the listener (Linux). Without it a response
     * written as two TLS records (headers, then body) waits for the peer's delayed ACK:
     * ~40 ms per keep-alive request. Best effort: Nagle only costs latency. */
    int one = 1;
    (void)setsockopt(evhttp_bound_socket_get_fd(s->bound), IPPROTO_TCP, TCP_NODELAY, &one,
                     sizeof one);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(s->bound), (struct sockaddr *)&ss, &sl)) {
        rc = cloak_error_set(why, CLOAK_EIO, "getsockname: %s", strerror(errno));
        goto fail;
    }
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    if (http_pool_new(s, s->cfg.workers, &s->pool)) goto oom;
    *out = s;
    return CLOAK_OK;
oom:
    rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory setting up the HTTP server");
fail:
    cloak_http_server_free(s);
    return rc;
}

uint16_t cloak_http_server_port(const cloak_http_server *s)
{
    return s ? s->port : 0;
}

const cloak_http_tls_files *cloak_http_server_tls(const cloak_http_server *s)
{
    return &s->tls;
}

/* ---- the loop ---- */

cloak_err cloak_http_server_run(cloak_http_server *s, cloak_error *why)
{
    if (!s || s->magic != SERVER_MAGIC)
        return cloak_error_set(why, CLOAK_EINVAL, "not an HTTP server");
    s->running = 1;
    int r = event_base_dispatch(s->base);
    s->running = 0;
    if (r < 0) return cloak_error_set(why, CLOAK_EIO, "the event loop failed");
    return CLOAK_OK;
}

static void *loop_main(void *arg)
{
    cloak_error e = {0};
    if (cloak_http_server_run(arg, &e)) http_log("http: %s", e.msg);
    return NULL;
}

cloak_err cloak_http_server_start(cloak_http_server *s, cloak_error *why)
{
    if (!s || s->magic != SERVER_MAGIC)
        return cloak_error_set(why, CLOAK_EINVAL, "not an HTTP server");
    if (s->thread_started)
        return cloak_error_set(why, CLOAK_EINVAL, "the server is already started");
    if (pthread_create(&s->thread, NULL, loop_main, s))
        return cloak_error_set(why, CLOAK_EIO, "cannot start the event-loop thread");
    s->thread_started = 1;
    return CLOAK_OK;
}

void cloak_http_server_stop(cloak_http_server *s)
{
    if (s && s->magic == SERVER_MAGIC && s->stop_ev) event_active(s->stop_ev, 0, 0);
}

static double elapsed_s(const struct timespec *from)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - from->tv_sec) + (double)(now.tv_nsec - from->tv_nsec) / 1e9;
}

/* Loop thread: stop accepting, then poll until in-flight requests are done. */
static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    cloak_http_server *s = arg;
    if (s->stopping) return;
    s->stopping = 1;
    clock_gettime(CLOCK_MONOTONIC, &s->stop_at);
    if (s->bound) {
        evhttp_del_accept_socket(s->http, s->bound);
        s->bound = NULL;
    }
    struct timeval tick = {0, 5000};
    event_add(s->drain_ev, &tick);
    on_drain(-1, 0, s);
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    cloak_http_server *s = arg;
    int timed_out = elapsed_s(&s->stop_at) * 1000.0 > (double)s->cfg.drain_ms;
    /* Done when every request has replied and every reply has reached the socket. */
    if ((s->inflight == 0 && s->sending == 0) || timed_out) {
        if (s->inflight || s->sending)
            http_log("http: stopping with %llu request(s) in flight and %llu repl(ies) unsent "
                     "after %u ms",
                     (unsigned long long)s->inflight, (unsigned long long)s->sending,
                     s->cfg.drain_ms);
        event_del(s->drain_ev);
        event_base_loopbreak(s->base);
    }
}

void cloak_http_server_free(cloak_http_server *s)
{
    if (!s) return;
    if (s->thread_started) {
        cloak_http_server_stop(s);
        pthread_join(s->thread, NULL);
        s->thread_started = 0;
    }
    /* Every queued job runs to the end; then let the loop deliver their done callbacks once
     * more (a done that defers again gets a 500: the pool is gone). */
    http_pool_free(s->pool);
    s->pool = NULL;
    if (s->base && s->live) event_base_loop(s->base, EVLOOP_NONBLOCK);
    while (s->live) {
        cloak_http_req *req = s->live;
        if (req->job_ev) {
            event_free(req->job_ev);
            req->job_ev = NULL;
            req->deferred = 0;
        }
        if (!req->replied) http_send_reply(req, 503, "text/plain", "server stopping\n", 16);
        http_end_request(req);
    }
    if (s->http) evhttp_free(s->http);
    /* A connection whose peer wrote or hung up just as the loop stopped still has a deferred
     * bufferevent callback queued, holding a reference; event_base_free drops such callbacks
     * without running them, which leaked the connection (TLS buffers and all). One more
     * non-blocking pass runs them, so the connections evhttp_free released are freed. */
    if (s->base) event_base_loop(s->base, EVLOOP_NONBLOCK);
    if (s->stop_ev) event_free(s->stop_ev);
    if (s->drain_ev) event_free(s->drain_ev);
    if (s->base) event_base_free(s->base);
    SSL_CTX_free(s->ssl_ctx);
    for (size_t i = 0; s->patterns && i < s->nroutes; i++)
        http_pattern_free(&s->patterns[i]);
    free(s->patterns);
    free(s->routes);
    http_metrics_free(&s->metrics);
    s->magic = 0;
    free(s);
}

/* ---- dispatch ---- */

static const char *method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "UNKNOWN";
}

static int method_matches(const char *route_method, const char *method)
{
    return !strcmp(route_method, method) ||
           (!strcmp(method, "HEAD") && !strcmp(route_method, "GET"));
}

static void make_request_id(char out[CLOAK_HTTP_REQUEST_ID_LEN + 1])
{
    uint8_t b[16];
    if (RAND_bytes(b, sizeof b) != 1) abort(); /* no randomness: nothing safe to do */
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);    /* version 4 (RFC 9562 §5.4) */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);    /* variant 10 */
    char hex[33];
    cloak_hex_write(hex, b, sizeof b);
    snprintf(out, CLOAK_HTTP_REQUEST_ID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
             hex + 12, hex + 16, hex + 20);
}

static void dispatch(cloak_http_req *req)
{
    cloak_http_server *s = req->srv;
    if (!s->cfg.no_metrics && !strcmp(req->target.path.p, "/metrics") &&
        method_matches("GET", req->method)) {
        req->route_idx = s->nroutes + 1;
        size_t len = 0;
        char *text = http_metrics_render(s, &len);
        if (!text) {
            cloak_http_reply_error(req, 500, "InternalError", "out of memory rendering metrics");
            return;
        }
        http_send_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
        free(text);
        return;
    }
    char allow[96] = "";
    for (size_t i = 0; i < s->nroutes; i++) {
        const cloak_http_route *r = &s->routes[i];
        int m = http_pattern_match(&s->patterns[i], r->flags, &req->target, &req->arena,
                                   &req->params, &req->nparams);
        if (m < 0) {
            cloak_http_reply_error(req, 500, "InternalError", "out of memory");
            return;
        }
        if (m == 0) continue;
        if (!method_matches(r->method, req->method)) {
            if (!strstr(allow, r->method) && strlen(allow) + strlen(r->method) + 3 < sizeof allow) {
                if (allow[0]) strcat(allow, ", ");
                strcat(allow, r->method);
            }
            req->params = NULL;
            req->nparams = 0;
            continue;
        }
        req->route_idx = i;
        if (r->api_versions) {
            const char *v = http_target_query(&req->target, "api-version");
            if (!v) {
                cloak_http_reply_error(req, 400, "MissingApiVersionParameter",
                                       "The api-version query parameter (?api-version=) is "
                                       "required for all requests.");
                return;
            }
            size_t k = 0;
            while (r->api_versions[k] && strcmp(r->api_versions[k], v))
                k++;
            if (!r->api_versions[k]) {
                char list[256] = "";
                for (size_t j = 0; r->api_versions[j]; j++) {
                    size_t used = strlen(list);
                    snprintf(list + used, sizeof list - used, "%s%s", j ? "," : "",
                             r->api_versions[j]);
                }
                cloak_http_reply_error(
                    req, 400, "InvalidApiVersionParameter",
                    "The api-version '%.64s' is invalid. The supported versions are '%s'.", v,
                    list);
                return;
            }
        }
        r->handler(req);
        return;
    }
    if (allow[0]) {
        cloak_http_add_header(req, "Allow", allow);
        cloak_http_reply_error(req, 405, "MethodNotAllowed",
                               "The method %s is not allowed on %.200s.", req->method,
                               req->target.path.p);
        return;
    }
    cloak_http_reply_error(req, 404, "NotFound", "No route matches %.200s.", req->target.path.p);
}

static void on_request(struct evhttp_request *ev, void *arg)
{
    cloak_http_server *s = arg;
    cloak_http_req *req = calloc(1, sizeof *req);
    if (!req) {
        evhttp_send_error(ev, 503, "out of memory");
        return;
    }
    req->magic = REQ_MAGIC;
    req->srv = s;
    req->ev = ev;
    req->route_idx = s->nroutes;
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    make_request_id(req->id);
    req->method = method_name(evhttp_request_get_command(ev));
    req->live_next = s->live;
    if (s->live) s->live->live_prev = req;
    s->live = req;
    s->inflight++;
    s->metrics.in_flight++;
    req->in_cb = 1; /* a reply ends the request only when this callback returns */

    const char *uri = evhttp_request_get_uri(ev);
    const char *err = NULL;
    int status = 400;
    if (http_target_parse(&req->arena, (const uint8_t *)uri, strlen(uri), &req->target, &err,
                          &status)) {
        if (!req->target.path.p) req->target.path.p = "";
        cloak_http_reply_error(req, status, status == 404 ? "NotFound" : "BadRequest", "%s.", err);
        goto out;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    size_t len = evbuffer_get_length(in);
    if (len > s->cfg.max_body) {
        cloak_http_reply_error(req, 413, "RequestEntityTooLarge",
                               "The request body is %zu bytes; the limit is %zu bytes.", len,
                               s->cfg.max_body);
        goto out;
    }
    req->body = http_arena_alloc(&req->arena, len + 1);
    if (!req->body) {
        cloak_http_reply_error(req, 500, "InternalError", "out of memory");
        goto out;
    }
    evbuffer_remove(in, req->body, len);
    req->body[len] = 0;
    req->body_len = len;
    dispatch(req);
out:
    http_after_callback(req, "handler");
}
