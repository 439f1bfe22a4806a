/* Observability: Prometheus text for GET /metrics and a JSON-lines access log. Both run on the
 * loop thread only, so the counters need no locks.
 *
 * The access log names the route *pattern*, never the path or query: paths carry key names
 * and query strings may carry tokens; neither belongs in a log. */
#include "http/http_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds. From 1 ms (a cached GET) to 10 s (quote verification with a cold collateral fetch). */
static const double bucket_le[HTTP_NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1,   0.25,   0.5,   1.0,  2.5,   10.0};

void http_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int http_metrics_init(http_metrics *m, size_t nroutes)
{
    memset(m, 0, sizeof *m);
    m->hists = calloc(nroutes + 2, sizeof *m->hists);
    return m->hists ? 0 : -1;
}

void http_metrics_free(http_metrics *m)
{
    free(m->counters);
    free(m->hists);
    memset(m, 0, sizeof *m);
}

void http_metrics_record(cloak_http_server *s, const cloak_http_req *req, double seconds)
{
    http_metrics *m = &s->metrics;
    http_hist *h = &m->hists[req->route_idx];
    for (size_t i = 0; i < HTTP_NBUCKETS; i++)
        if (seconds <= bucket_le[i]) {
            h->buckets[i]++;
            break;
        }
    h->count++;
    h->sum += seconds;
    /* Unmatched requests share one series per status, whatever their method: a client must
     * not be able to grow the label set. */
    const char *method = req->route_idx == s->nroutes ? "" : req->method;
    for (size_t i = 0; i < m->ncounters; i++) {
        http_counter *c = &m->counters[i];
        if (c->route == req->route_idx && c->status == req->status && !strcmp(c->method, method)) {
            c->count++;
            return;
        }
    }
    if (m->ncounters == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        http_counter *n = realloc(m->counters, cap * sizeof *n);
        if (!n) return; /* one lost count beats failing the request */
        m->counters = n;
        m->cap = cap;
    }
    m->counters[m->ncounters++] = (http_counter){req->route_idx, method, req->status, 1};
}

static const char *route_label(const cloak_http_server *s, size_t idx)
{
    if (idx < s->nroutes) return s->routes[idx].pattern;
    return idx == s->nroutes ? "unmatched" : "/metrics";
}

/* Prometheus label values escape '\\', '"' and newline (exposition format 0.0.4). Patterns
 * come from our own route table, so this is belt and braces. */
static void put_label(cloak_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') cloak_buf_u8(b, '\\');
        if (*v == '\n') {
            cloak_buf_put(b, "\\n", 2);
            continue;
        }
        cloak_buf_u8(b, (uint8_t)*v);
    }
}

#define PUTS(b, lit) cloak_buf_put((b), (lit), sizeof(lit) - 1)

static void putf(cloak_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(cloak_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) cloak_buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

char *http_metrics_render(const cloak_http_server *s, size_t *len)
{
    const http_metrics *m = &s->metrics;
    cloak_buf b = {0};
    putf(
        &b,
        "# HELP cloak_http_requests_total Requests answered, by route pattern, method and status.\n"
        "# TYPE cloak_http_requests_total counter\n");
    for (size_t i = 0; i < m->ncounters; i++) {
        const http_counter *c = &m->counters[i];
        PUTS(&b, "cloak_http_requests_total{route=\"");
        put_label(&b, route_label(s, c->route));
        putf(&b, "\",method=\"%s\",code=\"%d\"} %llu\n", c->method, c->status,
             (unsigned long long)c->count);
    }
    putf(&b, "# HELP cloak_http_request_duration_seconds Time from request arrival to the end of "
             "its reply.\n"
             "# TYPE cloak_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < s->nroutes + 2; r++) {
        const http_hist *h = &m->hists[r];
        if (!h->count) continue;
        uint64_t cum = 0;
        for (size_t i = 0; i <= HTTP_NBUCKETS; i++) {
            PUTS(&b, "cloak_http_request_duration_seconds_bucket{route=\"");
            put_label(&b, route_label(s, r));
            if (i < HTTP_NBUCKETS) {
                cum += h->buckets[i];
                putf(&b, "\",le=\"%g\"} %llu\n", bucket_le[i], (unsigned long long)cum);
            } else {
                putf(&b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
            }
        }
        PUTS(&b, "cloak_http_request_duration_seconds_sum{route=\"");
        put_label(&b, route_label(s, r));
        putf(&b, "\"} %.6f\n", h->sum);
        PUTS(&b, "cloak_http_request_duration_seconds_count{route=\"");
        put_label(&b, route_label(s, r));
        putf(&b, "\"} %llu\n", (unsigned long long)h->count);
    }
    /* This /metrics request itself is in flight, and counted here. */
    putf(&b,
         "# HELP cloak_http_requests_in_flight Requests received and not yet answered.\n"
         "# TYPE cloak_http_requests_in_flight gauge\ncloak_http_requests_in_flight %llu\n",
         (unsigned long long)m->in_flight);
    putf(&b,
         "# HELP cloak_http_reply_misuse_total Handler bugs: second replies, missing replies.\n"
         "# TYPE cloak_http_reply_misuse_total counter\ncloak_http_reply_misuse_total %llu\n",
         (unsigned long long)m->reply_misuse);
    cloak_buf_u8(&b, 0);
    if (b.failed) {
        cloak_buf_free(&b);
        return NULL;
    }
    *len = b.len - 1;
    return (char *)b.p;
}

void http_access_log(cloak_http_server *s, const cloak_http_req *req, double seconds)
{
    FILE *f = s->cfg.access_log;
    if (!f) return;
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
    const char *route = cloak_http_route_pattern(req);
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:i,s:f,s:I,s:I}", "time", when, "request_id", req->id,
                          "method", req->method, "route", route ? json_string(route) : json_null(),
                          "status", req->status, "latency_ms", seconds * 1000.0, "bytes_in",
                          (json_int_t)req->body_len, "bytes_out", (json_int_t)req->bytes_out);
    char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (line) {
        fputs(line, f);
        fputc('\n', f);
        fflush(f);
    }
    free(line);
    json_decref(j);
}
