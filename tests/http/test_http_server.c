/* A real server on 127.0.0.1:0 with TLS material created in a mkdtemp directory, driven by
 * libcurl verifying against the generated ca.pem. The TLS material and handshake are checked
 * independently with the openssl command. Every reply's shape is checked: JSON bodies, the
 * Azure error object, x-ms-request-id. The last test stops the server with a request in
 * flight and reads the access log back as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloak/http.h"

#define MAX_BODY (64u << 10)

static char dir[64];
static char logpath[128];
static FILE *access_log;
static cloak_http_server *srv;
static char base_url[64];
static pthread_t loop_thread_id;
static atomic_int requests_made; /* every request the tests send, to check the access log */

/* ---- handlers ---- */

static const char *const versions[] = {"7.4", "2025-07-01", NULL};

static void h_key(cloak_http_req *req)
{
    loop_thread_id = pthread_self();
    const char *v = cloak_http_param(req, "version");
    cloak_http_reply_json(req, 200,
                          json_pack("{s:s,s:o,s:s,s:s}", "name", cloak_http_param(req, "name"),
                                    "version", v ? json_string(v) : json_null(), "api",
                                    cloak_http_query(req, "api-version"), "route",
                                    cloak_http_route_pattern(req)));
}

static void h_reset(cloak_http_req *req)
{
    cloak_http_reply_json(req, 200, json_pack("{s:s}", "reset", cloak_http_param(req, "type")));
}

static void h_policy(cloak_http_req *req)
{
    size_t len;
    const uint8_t *body = cloak_http_body(req, &len);
    cloak_http_reply_json(req, 200,
                          json_pack("{s:s,s:s,s:s%}", "type", cloak_http_param(req, "type"),
                                    "method", cloak_http_method(req), "body", (const char *)body,
                                    len));
}

static void h_echo(cloak_http_req *req)
{
    json_t *b = cloak_http_body_json(req);
    if (!b) return;
    cloak_http_add_header(req, "x-test", "yes");
    cloak_http_reply_json(req, 201, json_pack("{s:O}", "echo", b));
}

typedef struct {
    unsigned long n, sum;
    int on_worker;
    unsigned sleep_ms;
} work_job;

static void work_sum(cloak_http_req *req, void *arg)
{
    work_job *j = arg;
    j->on_worker = !pthread_equal(pthread_self(), loop_thread_id);
    if (j->sleep_ms) usleep(j->sleep_ms * 1000u);
    for (unsigned long i = 1; i <= j->n; i++)
        j->sum += i;
}

static void done_sum(cloak_http_req *req, void *arg)
{
    work_job *j = arg;
    cloak_http_reply_json(req, 200,
                          json_pack("{s:I,s:b,s:b}", "sum", (json_int_t)j->sum, "on_worker",
                                    j->on_worker, "on_loop",
                                    pthread_equal(pthread_self(), loop_thread_id)));
}

static void done_silent(cloak_http_req *req, void *arg) {}

static void h_work(cloak_http_req *req)
{
    loop_thread_id = pthread_self();
    work_job *j = cloak_http_alloc(req, sizeof *j);
    j->n = strtoul(cloak_http_param(req, "n"), NULL, 10);
    const char *ms = cloak_http_query(req, "sleep_ms");
    j->sleep_ms = ms ? (unsigned)atoi(ms) : 0;
    cloak_http_defer(req, work_sum,
                     strcmp(cloak_http_route_pattern(req), "/silent/{n}") ? done_sum : done_silent,
                     j);
}

static void h_noreply(cloak_http_req *req) {}

static void h_twice(cloak_http_req *req)
{
    assert_int_equal(cloak_http_reply_text(req, 200, NULL, "first\n", 6), 0);
    assert_int_equal(cloak_http_reply_text(req, 200, NULL, "second\n", 7), -1);
}

static const cloak_http_route routes[] = {
    {"GET", "/keys/{name}/{version}", versions, 0, h_key},
    {"GET", "/keys/{name}", versions, CLOAK_HTTP_SLASH_OPTIONAL, h_key},
    {"POST", "/policies/{type}:reset", NULL, 0, h_reset},
    {"GET", "/policies/{type}", NULL, 0, h_policy},
    {"PUT", "/policies/{type}", NULL, 0, h_policy},
    {"POST", "/echo", NULL, 0, h_echo},
    {"POST", "/work/{n}", NULL, 0, h_work},
    {"POST", "/silent/{n}", NULL, 0, h_work},
    {"GET", "/noreply", NULL, 0, h_noreply},
    {"GET", "/twice", NULL, 0, h_twice},
};

/* ---- helpers ---- */

static char ca_path[4200];

static void fetch_with(cloak_http_client *c, const char *method, const char *path,
                       const char *const *headers, const char *body, size_t body_len,
                       cloak_http_response *r)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base_url, path);
    cloak_error e = {0};
    atomic_fetch_add(&requests_made, 1);
    cloak_err rc =
        c ? cloak_http_client_fetch(c, method, url, headers, (const uint8_t *)body, body_len, r, &e)
          : cloak_http_fetch(method, url, ca_path, headers, (const uint8_t *)body, body_len, r, &e);
    if (rc) fprintf(stderr, "fetch: %s\n", e.msg);
    assert_int_equal(rc, CLOAK_OK);
}

static json_t *fetch_json(const char *method, const char *path, const char *body, long want_status,
                          char *req_id)
{
    cloak_http_response r;
    fetch_with(NULL, method, path, NULL, body, body ? strlen(body) : 0, &r);
    if (r.status != want_status)
        fprintf(stderr, "%s %s -> %ld %s\n", method, path, r.status, (char *)r.body.p);
    assert_int_equal(r.status, want_status);
    char id[64];
    assert_non_null(cloak_http_response_header(&r, "x-ms-request-id", id, sizeof id));
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4'); /* UUID version 4 */
    if (req_id) strcpy(req_id, id);
    json_error_t je;
    json_t *j = json_loadb((const char *)r.body.p, r.body.len, 0, &je);
    assert_non_null(j);
    cloak_http_response_free(&r);
    return j;
}

/* Every error is {"error":{"code":..., "message":...}} with the code we expect. */
static void expect_error(const char *method, const char *path, const char *body, long status,
                         const char *code)
{
    json_t *j = fetch_json(method, path, body, status, NULL);
    json_t *err = json_object_get(j, "error");
    assert_true(json_is_object(err));
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    assert_true(json_string_length(json_object_get(err, "message")) > 0);
    assert_int_equal(json_object_size(j), 1);
    json_decref(j);
}

static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[16384];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    pclose(p);
    return out;
}

/* ---- setup ---- */

static int setup(void **state)
{
    strcpy(dir, "/tmp/cloak-http-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(logpath, sizeof logpath, "%s/access.log", dir);
    access_log = fopen(logpath, "w");
    cloak_http_config cfg = {0};
    char tls[128];
    snprintf(tls, sizeof tls, "%s/tls", dir);
    cfg.tls_dir = tls;
    cfg.routes = routes;
    cfg.nroutes = sizeof routes / sizeof *routes;
    cfg.max_body = MAX_BODY;
    cfg.workers = 3;
    cfg.access_log = access_log;
    cloak_error e = {0};
    if (cloak_http_server_new(&cfg, &srv, &e) || cloak_http_server_start(srv, &e)) {
        fprintf(stderr, "server: %s\n", e.msg);
        return -1;
    }
    snprintf(base_url, sizeof base_url, "https://localhost:%u", cloak_http_server_port(srv));
    snprintf(ca_path, sizeof ca_path, "%s", cloak_http_server_tls(srv)->ca);
    return 0;
}

static int teardown(void **state)
{
    if (srv) cloak_http_server_free(srv);
    if (access_log) fclose(access_log);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ---- */

static void test_tls_material_verifies_with_openssl(void **state)
{
    const cloak_http_tls_files *f = cloak_http_server_tls(srv);
    char cmd[9000];
    struct stat st;
    assert_int_equal(stat(f->key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char ca_key[4200];
    snprintf(ca_key, sizeof ca_key, "%s/tls/ca.key", dir);
    assert_int_equal(stat(ca_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(cmd, sizeof cmd, "openssl verify -CAfile %s %s 2>&1", f->ca, f->cert);
    assert_non_null(strstr(run(cmd), ": OK"));
    snprintf(cmd, sizeof cmd, "openssl x509 -in %s -noout -ext subjectAltName 2>&1", f->cert);
    char *san = run(cmd);
    assert_non_null(strstr(san, "DNS:localhost"));
    assert_non_null(strstr(san, "IP Address:127.0.0.1"));
    /* An independent TLS client: the handshake verifies against ca.pem, for host localhost. */
    snprintf(cmd, sizeof cmd,
             "openssl s_client -connect 127.0.0.1:%u -CAfile %s -verify_return_error "
             "-verify_hostname localhost "
             "</dev/null 2>&1",
             cloak_http_server_port(srv), f->ca);
    char *out = run(cmd);
    if (!strstr(out, "Verify return code: 0 (ok)")) fprintf(stderr, "%s\n", out);
    assert_non_null(strstr(out, "Verify return code: 0 (ok)"));
    /* TLS 1.1 is refused by the server (the client's own floor lowered so it offers it). */
    snprintf(
        cmd, sizeof cmd,
        "openssl s_client -connect 127.0.0.1:%u -tls1_1 -cipher DEFAULT@SECLEVEL=0 </dev/null 2>&1",
        cloak_http_server_port(srv));
    out = run(cmd);
    if (!strstr(out, "Cipher is (NONE)")) fprintf(stderr, "%s\n", out);
    assert_non_null(strstr(out, "Cipher is (NONE)"));
    assert_null(strstr(out, "BEGIN CERTIFICATE"));
    /* Plaintext HTTP on the same port gets no HTTP answer at all. */
    snprintf(
        cmd, sizeof cmd,
        "curl -s --max-time 5 -o /dev/null -w 'code=%%{http_code}' http://127.0.0.1:%u/metrics",
        cloak_http_server_port(srv));
    assert_string_equal(run(cmd), "code=000");
    /* A later start reuses the material. */
    uint8_t *a = NULL, *b = NULL;
    size_t al, bl;
    assert_int_equal(cloak_file_read(f->cert, &a, &al, NULL), 0);
    cloak_http_tls_files again;
    char tls[128];
    snprintf(tls, sizeof tls, "%s/tls", dir);
    assert_int_equal(cloak_http_tls_ensure(tls, &again, NULL), 0);
    assert_int_equal(cloak_file_read(again.cert, &b, &bl, NULL), 0);
    assert_int_equal(al, bl);
    assert_memory_equal(a, b, al);
    free(a);
    free(b);
}

static void test_route_params_and_encoded_query_name(void **state)
{
    json_t *j = fetch_json("GET", "/keys/r1/0123abcd?api%2Dversion=7.4", NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "r1");
    assert_string_equal(json_string_value(json_object_get(j, "version")), "0123abcd");
    assert_string_equal(json_string_value(json_object_get(j, "api")), "7.4");
    json_decref(j);
    j = fetch_json("GET", "/keys/a%20b/v?api-version=2025-07-01", NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "a b");
    json_decref(j);
}

static void test_trailing_slash_per_route(void **state)
{
    /* KeyClient's get-latest: GET /keys/{name}/ (azure-api.md §0). */
    json_t *j = fetch_json("GET", "/keys/k1/?api%2Dversion=2025-07-01", NULL, 200, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "k1");
    assert_true(json_is_null(json_object_get(j, "version")));
    assert_string_equal(json_string_value(json_object_get(j, "route")), "/keys/{name}");
    json_decref(j);
    j = fetch_json("GET", "/keys/k1?api-version=7.4", NULL, 200, NULL);
    json_decref(j);
    expect_error("GET", "/policies/SgxEnclave/", NULL, 404, "NotFound"); /* strict route */
}

static void test_reset_suffix_and_methods(void **state)
{
    json_t *j =
        fetch_json("POST", "/policies/SgxEnclave:reset", "eyJhbGciOiJub25lIn0..", 200, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "reset")), "SgxEnclave");
    json_decref(j);
    j = fetch_json("PUT", "/policies/TdxVm", "jws.text.body", 200, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "TdxVm");
    assert_string_equal(json_string_value(json_object_get(j, "method")), "PUT");
    assert_string_equal(json_string_value(json_object_get(j, "body")), "jws.text.body");
    json_decref(j);
}

static void test_error_shapes(void **state)
{
    expect_error("GET", "/nothing/here", NULL, 404, "NotFound");
    expect_error("GET", "/keys/r1/v1", NULL, 400, "MissingApiVersionParameter");
    expect_error("GET", "/keys/r1/v1?api-version=1999-01-01", NULL, 400,
                 "InvalidApiVersionParameter");
    expect_error("GET", "/keys/r1/v1?api-version=%zz", NULL, 400, "BadRequest");
    expect_error("POST", "/echo", "{\"a\":", 400, "BadParameter");
    expect_error("POST", "/echo", "[1,2]", 400, "BadParameter");
    /* 405 names the allowed methods. */
    cloak_http_response r;
    fetch_with(NULL, "DELETE", "/echo", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 405);
    char allow[64];
    assert_non_null(cloak_http_response_header(&r, "Allow", allow, sizeof allow));
    assert_string_equal(allow, "POST");
    assert_non_null(strstr((char *)r.body.p, "\"MethodNotAllowed\""));
    cloak_http_response_free(&r);
    /* 413 beyond the body limit, as JSON with a request id. */
    size_t n = MAX_BODY + 1000;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = 0;
    expect_error("POST", "/echo", big, 413, "RequestEntityTooLarge");
    free(big);
}

static void test_json_echo_and_extra_header(void **state)
{
    cloak_http_response r;
    const char *body = "{\"quote\":\"cXVvdGU\",\"n\":[1,2,3]}";
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    fetch_with(NULL, "POST", "/echo", hdrs, body, strlen(body), &r);
    assert_int_equal(r.status, 201);
    char v[64];
    assert_string_equal(cloak_http_response_header(&r, "x-test", v, sizeof v), "yes");
    assert_string_equal(cloak_http_response_header(&r, "Content-Type", v, sizeof v),
                        "application/json; charset=utf-8");
    assert_string_equal((char *)r.body.p, "{\"echo\":{\"quote\":\"cXVvdGU\",\"n\":[1,2,3]}}");
    cloak_http_response_free(&r);
}

static void test_request_ids_unique_and_client_id_echoed(void **state)
{
    char a[64], b[64];
    json_decref(fetch_json("GET", "/keys/r1/v1?api-version=7.4", NULL, 200, a));
    json_decref(fetch_json("GET", "/keys/r1/v1?api-version=7.4", NULL, 200, b));
    assert_string_not_equal(a, b);
    cloak_http_response r;
    const char *hdrs[] = {"x-ms-client-request-id: 5c3f1e0a-aaaa-4bbb-8ccc-0123456789ab", NULL};
    fetch_with(NULL, "GET", "/nothing", hdrs, NULL, 0, &r); /* echoed on errors too */
    char v[64];
    assert_int_equal(r.status, 404);
    assert_string_equal(cloak_http_response_header(&r, "x-ms-client-request-id", v, sizeof v),
                        "5c3f1e0a-aaaa-4bbb-8ccc-0123456789ab");
    assert_non_null(cloak_http_response_header(&r, "x-ms-request-id", v, sizeof v));
    cloak_http_response_free(&r);
}

/* The value of one cloak_http_requests_total series, or 0. */
static long metric(const char *series)
{
    cloak_http_response r;
    fetch_with(NULL, "GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    const char *p = strstr((char *)r.body.p, series);
    long v = p ? strtol(p + strlen(series), NULL, 10) : 0;
    cloak_http_response_free(&r);
    return v;
}

static void test_deferred_jobs_and_reply_discipline(void **state)
{
    json_t *j = fetch_json("POST", "/work/1000", NULL, 200, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "sum")), 500500);
    assert_true(json_is_true(json_object_get(j, "on_worker")));
    assert_true(json_is_true(json_object_get(j, "on_loop")));
    json_decref(j);
    long misuse0 = metric("\ncloak_http_reply_misuse_total ");
    expect_error("POST", "/silent/10", NULL, 500, "InternalError"); /* done without a reply */
    expect_error("GET", "/noreply", NULL, 500, "InternalError");    /* handler without a reply */
    cloak_http_response r;
    fetch_with(NULL, "GET", "/twice", NULL, NULL, 0, &r); /* the first reply wins */
    assert_int_equal(r.status, 200);
    assert_string_equal((char *)r.body.p, "first\n");
    cloak_http_response_free(&r);
    assert_int_equal(metric("\ncloak_http_reply_misuse_total "), misuse0 + 3);
}

#define THREADS 8
#define PER_THREAD 25

typedef struct {
    int idx, ok;
    long connections;
} worker_arg;

static void *client_thread(void *p)
{
    worker_arg *w = p;
    cloak_http_client *c = NULL;
    if (cloak_http_client_new(ca_path, &c, NULL)) return NULL;
    for (int i = 0; i < PER_THREAD; i++) {
        char path[128], want[64];
        cloak_http_response r;
        int deferred = i % 2;
        if (deferred) {
            unsigned long n = (unsigned long)(w->idx * 100 + i);
            snprintf(path, sizeof path, "/work/%lu", n);
            snprintf(want, sizeof want, "\"sum\":%lu", n * (n + 1) / 2);
        } else {
            snprintf(path, sizeof path, "/keys/t%d/i%d?api%%2Dversion=7.4", w->idx, i);
            snprintf(want, sizeof want, "\"name\":\"t%d\",\"version\":\"i%d\"", w->idx, i);
        }
        char url[256];
        snprintf(url, sizeof url, "%s%s", base_url, path);
        atomic_fetch_add(&requests_made, 1);
        if (cloak_http_client_fetch(c, deferred ? "POST" : "GET", url, NULL, NULL, 0, &r, NULL))
            break;
        if (r.status == 200 && strstr((char *)r.body.p, want)) w->ok++;
        w->connections += r.new_connections;
        cloak_http_response_free(&r);
    }
    cloak_http_client_free(c);
    return NULL;
}

static void test_concurrent_keepalive_requests(void **state)
{
    long before =
        metric("cloak_http_requests_total{route=\"/work/{n}\",method=\"POST\",code=\"200\"} ");
    pthread_t t[THREADS];
    worker_arg w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_arg){.idx = i};
        assert_int_equal(pthread_create(&t[i], NULL, client_thread, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, PER_THREAD);
        assert_int_equal(w[i].connections, 1); /* every request after the first reused it */
    }
    /* /metrics counts exactly the deferred requests just made. */
    long after =
        metric("cloak_http_requests_total{route=\"/work/{n}\",method=\"POST\",code=\"200\"} ");
    assert_int_equal(after - before, THREADS * (PER_THREAD / 2));
    long gets =
        metric("cloak_http_request_duration_seconds_count{route=\"/keys/{name}/{version}\"} ");
    assert_true(gets >= THREADS * (PER_THREAD - PER_THREAD / 2));
}

static void *slow_request(void *p)
{
    cloak_http_response *r = p;
    fetch_with(NULL, "POST", "/work/10?sleep_ms=400", NULL, NULL, 0, r);
    return NULL;
}

static void test_graceful_stop_finishes_in_flight_and_logs_json(void **state)
{
    cloak_http_response r = {0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_request, &r), 0);
    usleep(150 * 1000); /* the request is now on a worker */
    cloak_http_server_stop(srv);
    pthread_join(t, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((char *)r.body.p, "\"sum\":55"));
    cloak_http_response_free(&r);
    cloak_http_server_free(srv);
    srv = NULL;
    /* No new connections once stopped. */
    cloak_http_response r2;
    char url[128];
    snprintf(url, sizeof url, "%s/keys/a/b?api-version=7.4", base_url);
    assert_int_not_equal(cloak_http_fetch("GET", url, ca_path, NULL, NULL, 0, &r2, NULL), CLOAK_OK);
    /* One JSON line per request, with the fields we promise and no query strings. */
    fclose(access_log);
    access_log = NULL;
    FILE *f = fopen(logpath, "r");
    assert_non_null(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        assert_non_null(j);
        assert_true(json_is_string(json_object_get(j, "time")));
        assert_int_equal(json_string_length(json_object_get(j, "request_id")), 36);
        assert_true(json_is_string(json_object_get(j, "method")));
        assert_true(json_is_integer(json_object_get(j, "status")));
        assert_true(json_is_number(json_object_get(j, "latency_ms")));
        assert_true(json_is_integer(json_object_get(j, "bytes_out")));
        assert_null(strstr(line, "api-version"));
        json_decref(j);
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, atomic_load(&requests_made));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_material_verifies_with_openssl),
        cmocka_unit_test(test_route_params_and_encoded_query_name),
        cmocka_unit_test(test_trailing_slash_per_route),
        cmocka_unit_test(test_reset_suffix_and_methods),
        cmocka_unit_test(test_error_shapes),
        cmocka_unit_test(test_json_echo_and_extra_header),
        cmocka_unit_test(test_request_ids_unique_and_client_id_echoed),
        cmocka_unit_test(test_deferred_jobs_and_reply_discipline),
        cmocka_unit_test(test_concurrent_keepalive_requests),
        cmocka_unit_test(test_graceful_stop_finishes_in_flight_and_logs_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
