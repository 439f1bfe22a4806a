/* Crash safety of `cloak vault serve` (issue 6, "Must show"): a write-heavy workload from two
 * client threads (create oct keys, PATCH a tag counter, delete, recover, purge) against the real
 * server binary, which is SIGKILLed after a random 0-300 ms, at least 200 times. After each
 * kill, before the restart, SQLite itself checks the file (PRAGMA integrity_check, read-only);
 * after each restart every key touched since the last check is read back through the API and
 * must show every acknowledged (2xx) write: the last acknowledged tag value (or the value of the
 * one request that was in flight at the kill: its outcome is unknown, so either state is
 * accepted), a deleted key 404 on the live path and 200 under /deletedkeys, a purged key 404 on
 * both. Every 10th kill also leaves a torn last line in audit.log (half of a line, no newline):
 * the restart must cut it. At the end, one full sweep over every key, a clean SIGTERM stop, the
 * audit chain verified across all the crashes, with a repair entry for each torn tail.
 *
 * The expected states come from the test's own record of what the server acknowledged, not
 * from the server. Label "vault;slow": not "unit" (it starts `cloak vault serve` 200+ times and
 * takes minutes; not run under ASan). CLOAK_VAULT_CRASH_KILLS (default 200) and
 * CLOAK_VAULT_CRASH_SEED for reproduction (the seed is printed); CLOAK_VAULT_CRASH_KEEP=1 keeps the
 * data directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cloak/http.h"
#include "vault/audit.h"
#include "vault/auth.h"
#include "vcrash_proc.h"

#define NTHREADS 2
#define Q "?api-version=7.6"
#define MAX_KILL_MS 300

typedef enum { S_NONE, S_LIVE, S_DELETED, S_PURGED } kstate;
typedef enum { P_NONE, P_CREATE, P_PATCH, P_DELETE, P_RECOVER, P_PURGE } kop;
static const char *const op_name[] = {"-", "create", "update", "delete", "recover", "purge"};
static const char *const st_name[] = {"absent", "live", "deleted", "purged"};

typedef struct {
    char name[40];
    char version[40]; /* from the acknowledged create */
    kstate st;        /* what the acknowledged writes imply */
    long tag;         /* tags.n of the last acknowledged create/update */
    kop pending;      /* the request in flight when the server died; outcome unknown */
    long pending_tag;
    int dirty; /* touched since the last check */
} vkey;

typedef struct {
    int id;
    unsigned seed;
    vkey *keys;
    size_t nkeys, cap, next_name;
    size_t *active; /* indices of keys that are live or deleted */
    size_t nactive;
    /* per round */
    const char *url;
    int verify_all;
    unsigned long acked, unacked, checked, gets, in_flight_applied;
    unsigned long by_op[6];
    char fail[1024];
} worker;

static struct {
    char *dir, *plat, *data, errlog[512], cloak[512], auth[4096];
    char ca[600];
    atomic_int stop;
} G;

/* ---- requests ---- */

static int call(cloak_http_client *c, const char *method, const char *url_base, const char *path,
                const char *body, long *status, json_t **out, char *err, size_t err_len)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s" Q, url_base, path);
    const char *hdrs[] = {"Content-Type: application/json", G.auth, NULL};
    cloak_http_response r = {0};
    cloak_error e = {0};
    if (out) *out = NULL;
    if (cloak_http_client_fetch(c, method, url, hdrs, (const uint8_t *)body,
                                body ? strlen(body) : 0, &r, &e)) {
        snprintf(err, err_len, "%s %s: %s", method, path, e.msg);
        return -1;
    }
    *status = r.status;
    if (out && r.body.len) *out = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
    if (r.status >= 300 && err)
        snprintf(err, err_len, "%s %s: HTTP %ld %.*s", method, path, r.status,
                 (int)(r.body.len < 300 ? r.body.len : 300), r.body.p ? (char *)r.body.p : "");
    cloak_http_response_free(&r);
    return 0;
}

/* tags.n of a key bundle (-1 when absent) and the version of its kid. */
static long bundle_tag(const json_t *b, char *ver, size_t ver_len)
{
    const char *n = json_string_value(json_object_get(json_object_get(b, "tags"), "n"));
    const char *kid = json_string_value(json_object_get(json_object_get(b, "key"), "kid"));
    const char *slash = kid ? strrchr(kid, '/') : NULL;
    if (ver) snprintf(ver, ver_len, "%s", slash ? slash + 1 : "");
    return n ? strtol(n, NULL, 10) : -1;
}

/* ---- the workload ---- */

static void wfail(worker *w, const char *fmt, ...)
{
    if (w->fail[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->fail, sizeof w->fail, fmt, ap);
    va_end(ap);
    atomic_store(&G.stop, 1);
}

static vkey *new_key(worker *w)
{
    if (w->nkeys == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 256;
        w->keys = realloc(w->keys, w->cap * sizeof *w->keys);
        w->active = realloc(w->active, w->cap * sizeof *w->active);
        assert_non_null(w->keys);
        assert_non_null(w->active);
    }
    vkey *k = &w->keys[w->nkeys];
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "crash-t%d-%zu", w->id, w->next_name++);
    w->active[w->nactive++] = w->nkeys++;
    return k;
}

static void deactivate(worker *w, size_t slot)
{
    w->active[slot] = w->active[--w->nactive];
}

/* One write. 0: acknowledged (the model follows it); 1: transport error (the server is gone:
 * the op stays pending); -1: an unexpected answer (recorded). */
static int one_write(worker *w, cloak_http_client *c)
{
    char path[128], body[160], err[600];
    unsigned r = (unsigned)rand_r(&w->seed) % 100;
    size_t slot = 0;
    vkey *k;
    kop op;
    if (w->nactive < 8 || r < 25) {
        k = new_key(w);
        slot = w->nactive - 1;
        op = P_CREATE;
    } else {
        slot = (size_t)rand_r(&w->seed) % w->nactive;
        k = &w->keys[w->active[slot]];
        if (k->st == S_LIVE)
            op = r < 75 ? P_PATCH : P_DELETE;
        else
            op = r < 60 ? P_PURGE : P_RECOVER;
    }
    const char *method = "POST";
    long want = 200;
    switch (op) {
    case P_CREATE:
        snprintf(path, sizeof path, "/keys/%s/create", k->name);
        snprintf(body, sizeof body, "{\"kty\":\"oct\",\"key_size\":128,\"tags\":{\"n\":\"0\"}}");
        k->pending_tag = 0;
        break;
    case P_PATCH:
        method = "PATCH";
        snprintf(path, sizeof path, "/keys/%s", k->name);
        k->pending_tag = k->tag + 1;
        snprintf(body, sizeof body, "{\"tags\":{\"n\":\"%ld\"}}", k->pending_tag);
        break;
    case P_DELETE:
        method = "DELETE";
        snprintf(path, sizeof path, "/keys/%s", k->name);
        body[0] = 0;
        break;
    case P_PURGE:
        method = "DELETE";
        want = 204;
        snprintf(path, sizeof path, "/deletedkeys/%s", k->name);
        body[0] = 0;
        break;
    default: /* P_RECOVER */
        snprintf(path, sizeof path, "/deletedkeys/%s/recover", k->name);
        body[0] = 0;
        break;
    }
    k->pending = op;
    k->dirty = 1;
    long st = 0;
    json_t *j = NULL;
    if (call(c, method, w->url, path, body[0] ? body : NULL, &st, &j, err, sizeof err)) {
        w->unacked++;
        return 1;
    }
    int rc = 0;
    char ver[40];
    if (st != want) {
        wfail(w, "%s of %s: expected %ld, got %s", op_name[op], k->name, want, err);
        k->pending = P_NONE; /* answered: not applied */
        rc = -1;
        goto out;
    }
    w->acked++;
    w->by_op[op]++;
    k->pending = P_NONE;
    switch (op) {
    case P_CREATE:
    case P_PATCH:
        if (bundle_tag(j, ver, sizeof ver) != k->pending_tag || strlen(ver) != 32 ||
            (op == P_PATCH && strcmp(ver, k->version))) {
            char *d = j ? json_dumps(j, JSON_COMPACT) : NULL;
            wfail(w, "%s of %s answered 200 with the wrong bundle: %s", op_name[op], k->name,
                  d ? d : "(no body)");
            free(d);
            rc = -1;
        }
        if (op == P_CREATE) snprintf(k->version, sizeof k->version, "%s", ver);
        k->st = S_LIVE;
        k->tag = k->pending_tag;
        break;
    case P_DELETE:
        k->st = S_DELETED;
        break;
    case P_RECOVER:
        k->st = S_LIVE;
        break;
    default:
        k->st = S_PURGED;
        deactivate(w, slot);
        break;
    }
out:
    json_decref(j);
    return rc;
}

/* ---- checking one key against the record ---- */

/* Read `k` back (live path and deleted path) and compare with what was acknowledged. On
 * success the record becomes the observed state (an in-flight op is resolved). */
static int check_key(worker *w, cloak_http_client *c, size_t idx)
{
    vkey *k = &w->keys[idx];
    char path[128], err[600], lver[40] = "", dver[40] = "";
    long ls = 0, ds = 0, ltag = -1, dtag = -1;
    json_t *lj = NULL, *dj = NULL;
    snprintf(path, sizeof path, "/keys/%s", k->name);
    w->gets++;
    if (call(c, "GET", w->url, path, NULL, &ls, &lj, err, sizeof err)) {
        wfail(w, "check %s: %s", k->name, err);
        return -1;
    }
    /* A key found live is read on the deleted path too when an op was in flight on it (a
     * half-applied delete or recover would show on both) and in the final sweep; otherwise
     * one GET (each request is an audit entry, and the audit log is read at every start). */
    snprintf(path, sizeof path, "/deletedkeys/%s", k->name);
    if (ls == 200 && k->pending == P_NONE && !w->verify_all)
        ds = 404;
    else if (w->gets++, call(c, "GET", w->url, path, NULL, &ds, &dj, err, sizeof err)) {
        json_decref(lj);
        wfail(w, "check %s: %s", k->name, err);
        return -1;
    }
    if (ls == 200) ltag = bundle_tag(lj, lver, sizeof lver);
    if (ds == 200) dtag = bundle_tag(dj, dver, sizeof dver);
    json_decref(lj);
    json_decref(dj);
    w->checked++;
    kstate obs;
    long otag = -1;
    const char *over = "";
    if ((ls != 200 && ls != 404) || (ds != 200 && ds != 404) || (ls == 200 && ds == 200)) {
        wfail(w, "%s: live path %ld, deleted path %ld (record: %s, in flight: %s)", k->name, ls, ds,
              st_name[k->st], op_name[k->pending]);
        return -1;
    }
    if (ls == 200)
        obs = S_LIVE, otag = ltag, over = lver;
    else if (ds == 200)
        obs = S_DELETED, otag = dtag, over = dver;
    else
        obs = S_PURGED; /* or never created */

    /* the states the acknowledged writes allow, with or without the in-flight op */
    int ok = 0;
    kstate base = k->st;
    long btag = k->tag;
    switch (k->pending) {
    case P_NONE:
        ok = obs == (base == S_NONE ? S_PURGED : base);
        break;
    case P_CREATE:
        ok = obs == S_PURGED || (obs == S_LIVE && otag == 0);
        break;
    case P_PATCH:
        ok = obs == S_LIVE && (otag == btag || otag == k->pending_tag);
        break;
    case P_DELETE:
        ok = obs == S_LIVE || obs == S_DELETED;
        break;
    case P_RECOVER:
        ok = obs == S_DELETED || obs == S_LIVE;
        break;
    case P_PURGE:
        ok = obs == S_DELETED || obs == S_PURGED;
        break;
    }
    if (ok && (obs == S_LIVE || obs == S_DELETED) && k->pending != P_PATCH && base != S_NONE)
        ok = otag == btag;
    if (ok && (obs == S_LIVE || obs == S_DELETED) && k->version[0]) ok = !strcmp(over, k->version);
    if (!ok) {
        wfail(w,
              "LOST WRITE: %s: acknowledged state %s (tag %ld, version %s), in flight at the "
              "kill: %s (tag %ld); after restart: live path %ld, deleted path %ld, tag %ld, "
              "version %s",
              k->name, st_name[base], btag, k->version[0] ? k->version : "-", op_name[k->pending],
              k->pending_tag, ls, ds, otag, over);
        return -1;
    }
    if (k->pending != P_NONE) {
        int applied = obs != (base == S_NONE ? S_PURGED : base) ||
                      (k->pending == P_PATCH && otag == k->pending_tag);
        if (applied) w->in_flight_applied++;
    }
    /* adopt what was observed: the record is exact again */
    k->st = obs == S_PURGED ? (base == S_NONE ? S_NONE : S_PURGED) : obs;
    if (obs == S_LIVE || obs == S_DELETED) {
        k->tag = otag;
        snprintf(k->version, sizeof k->version, "%s", over);
    }
    k->pending = P_NONE;
    k->dirty = 0;
    return 0;
}

static void drop_inactive(worker *w)
{
    for (size_t s = 0; s < w->nactive;) {
        kstate st = w->keys[w->active[s]].st;
        if (st == S_LIVE || st == S_DELETED)
            s++;
        else
            deactivate(w, s);
    }
}

/* Phase 1 of a round: check the keys touched before the kill (all keys when verify_all). */
static void *check_main(void *p)
{
    worker *w = p;
    cloak_http_client *c = NULL;
    cloak_error e = {0};
    if (cloak_http_client_new(G.ca, &c, &e)) {
        wfail(w, "client: %s", e.msg);
        return NULL;
    }
    for (size_t i = 0; i < w->nkeys && !atomic_load(&G.stop); i++)
        if ((w->verify_all || w->keys[i].dirty) && check_key(w, c, i)) break;
    drop_inactive(w);
    cloak_http_client_free(c);
    return NULL;
}

/* Phase 2: writes until the server dies. */
static void *write_main(void *p)
{
    worker *w = p;
    cloak_http_client *c = NULL;
    cloak_error e = {0};
    if (cloak_http_client_new(G.ca, &c, &e)) {
        wfail(w, "client: %s", e.msg);
        return NULL;
    }
    while (!atomic_load(&G.stop))
        if (one_write(w, c)) break;
    cloak_http_client_free(c);
    return NULL;
}

static int run_phase(worker *ws, void *(*fn)(void *), int kill_after_ms, vproc *srv)
{
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fn, &ws[i]), 0);
    int status = 0;
    if (kill_after_ms >= 0) {
        usleep((useconds_t)kill_after_ms * 1000u);
        int alive = vproc_alive(srv, &status);
        status = alive ? vproc_kill(srv) : status;
        if (!alive) {
            atomic_store(&G.stop, 1);
            status = status ? status : -2;
        }
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    return status;
}

/* ---- the server's lifecycle ---- */

static int wait_ready(vproc *p, double *ms, char *why, size_t why_len)
{
    double t0 = vnow();
    cloak_http_client *c = NULL;
    cloak_error e = {0};
    if (cloak_http_client_new(G.ca, &c, &e)) {
        snprintf(why, why_len, "client: %s", e.msg);
        return -1;
    }
    int rc = -1;
    char err[600] = "";
    while (vnow() - t0 < 30.0) {
        long st = 0;
        int st2;
        if (!call(c, "GET", p->url, "/keys", NULL, &st, NULL, err, sizeof err)) {
            if (st == 200) {
                rc = 0;
                break;
            }
            snprintf(why, why_len, "first request after the restart: %s", err);
            break;
        }
        if (!vproc_alive(p, &st2)) {
            char tail[1200];
            vread_tail(G.errlog, tail, sizeof tail);
            snprintf(why, why_len,
                     "the server exited (wait status %d) after printing its port; "
                     "stderr: %s",
                     st2, tail);
            break;
        }
        usleep(2000);
    }
    if (rc && !why[0]) snprintf(why, why_len, "not ready within 30 s: %s", err);
    *ms = (vnow() - t0) * 1000.0;
    cloak_http_client_free(c);
    return rc;
}

/* Append the first half of the log's last line, without its newline. */
static int tear_audit_tail(char *why, size_t why_len)
{
    char path[600], buf[4096];
    snprintf(path, sizeof path, "%s/audit.log", G.data);
    FILE *f = fopen(path, "r+b");
    size_t n = 0;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        long from = sz > (long)sizeof buf ? sz - (long)sizeof buf : 0;
        if (fseek(f, from, SEEK_SET) == 0) n = fread(buf, 1, sizeof buf, f);
    }
    char *end = n && buf[n - 1] == '\n' ? buf + n - 1 : NULL, *start = NULL;
    if (end) {
        *end = 0;
        start = strrchr(buf, '\n');
        start = start ? start + 1 : buf;
    }
    int bad = !end || (size_t)(end - start) < 8 || fseek(f, 0, SEEK_END) ||
              fwrite(start, 1, (size_t)(end - start) / 2, f) != (size_t)(end - start) / 2;
    if (f && fclose(f)) bad = 1;
    if (bad) snprintf(why, why_len, "cannot tear the tail of %s", path);
    return bad ? -1 : 0;
}

/* Lines of the audit log that record a repair on open. */
static int audit_repairs(void)
{
    char path[600], *line = NULL;
    size_t cap = 0;
    int n = 0;
    snprintf(path, sizeof path, "%s/audit.log", G.data);
    FILE *f = fopen(path, "rb");
    while (f && getline(&line, &cap, f) > 0)
        if (strstr(line, "\"op\":\"AuditRepair\"")) n++;
    if (f) fclose(f);
    free(line);
    return n;
}

/* The bearer token, from the data directory's local issuer (token.key). */
static int issue_token(char *why, size_t why_len)
{
    char *t = NULL;
    cloak_error e = {0};
    if (cloak_vault_token_issue(G.data, "administrator", "crash", 3600, &t, &e)) {
        snprintf(why, why_len, "token: %s", e.msg);
        return -1;
    }
    snprintf(G.auth, sizeof G.auth, "Authorization: Bearer %s", t);
    free(t);
    return 0;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static void crash_loop(void **state)
{
    (void)state;
    const char *bd = getenv("CLOAK_BUILD_DIR");
    assert_non_null(bd);
    int kills = 200;
    const char *ek = getenv("CLOAK_VAULT_CRASH_KILLS");
    if (ek && atoi(ek) > 0) kills = atoi(ek);
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    const char *es = getenv("CLOAK_VAULT_CRASH_SEED");
    if (es && *es) seed = (unsigned)strtoul(es, NULL, 10);
    printf("# seed %u (CLOAK_VAULT_CRASH_SEED), %d kills\n", seed, kills);
    assert_int_equal(vproc_init(), 0);

    G.dir = vtmpdir();
    assert_non_null(G.dir);
    G.plat = path_in(G.dir, "platform");
    G.data = path_in(G.dir, "data");
    assert_int_equal(mkdir(G.plat, 0700), 0);
    assert_int_equal(mkdir(G.data, 0700), 0);
    snprintf(G.errlog, sizeof G.errlog, "%s/server.stderr", G.dir);
    snprintf(G.cloak, sizeof G.cloak, "%s/bin/cloak", bd);
    snprintf(G.ca, sizeof G.ca, "%s/ca.pem", G.data);
    char *db = path_in(G.data, "vault.db");

    worker ws[NTHREADS];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < NTHREADS; i++)
        ws[i].id = i, ws[i].seed = seed * 2654435761u + (unsigned)i;
    unsigned main_seed = seed;

    char why[2048] = "";
    vproc srv = {0};
    double start_ms_sum = 0, start_ms_max = 0, ready_ms = 0, t_begin = vnow();
    long pages = 0;
    int round = 0, failed = 0, torn = 0;
    for (round = 0; round <= kills && !failed; round++) {
        double t0 = vnow();
        if (vproc_start(G.cloak, G.data, G.plat, G.errlog, &srv, why, sizeof why) ||
            (!G.auth[0] && issue_token(why, sizeof why)) ||
            wait_ready(&srv, &ready_ms, why, sizeof why)) {
            failed = 1;
            break;
        }
        double ms = (vnow() - t0) * 1000.0;
        start_ms_sum += ms;
        if (ms > start_ms_max) start_ms_max = ms;

        /* phase 1: every key touched before the kill shows every acknowledged write */
        atomic_store(&G.stop, 0);
        for (int i = 0; i < NTHREADS; i++)
            ws[i].url = srv.url, ws[i].verify_all = round == kills;
        run_phase(ws, check_main, -1, &srv);
        for (int i = 0; i < NTHREADS; i++)
            if (ws[i].fail[0]) failed = 1;
        if (failed || round == kills) break;

        /* phase 2: writes, SIGKILL after a random delay */
        int delay = (int)((unsigned)rand_r(&main_seed) % (MAX_KILL_MS + 1));
        int st = run_phase(ws, write_main, delay, &srv);
        for (int i = 0; i < NTHREADS; i++)
            if (ws[i].fail[0]) failed = 1;
        if (!failed && !(st != -2 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
            char tail[1200];
            vread_tail(G.errlog, tail, sizeof tail);
            snprintf(why, sizeof why,
                     "round %d: the server died before the SIGKILL (wait "
                     "status %d); stderr: %s",
                     round, st, tail);
            failed = 1;
        }
        if (failed) break;

        /* the killed server's enclave process must go too */
        char orphans[512];
        if (vproc_reap_orphans(5.0, orphans, sizeof orphans)) {
            snprintf(why, sizeof why,
                     "round %d: still running 5 s after the server's SIGKILL: "
                     "%s",
                     round, orphans);
            failed = 1;
            break;
        }
        /* the file as the kill left it, before any restart touches it */
        if (vdb_integrity(db, &pages, why, sizeof why)) {
            failed = 1;
            break;
        }
        /* every 10th round, the torn last line a kill in the middle of an audit write (or a
         * power loss) leaves: the restart must cut it and go on */
        if (round % 10 == 5) {
            if (tear_audit_tail(why, sizeof why)) {
                failed = 1;
                break;
            }
            torn++;
        }
    }

    /* the end: a clean stop, then the audit chain across every crash */
    cloak_vault_audit_report rep = {0};
    int repairs = 0;
    if (!failed) {
        int st = vproc_term(&srv, 20.0);
        cloak_error e = {0};
        if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
            char tail[1200];
            vread_tail(G.errlog, tail, sizeof tail);
            snprintf(why, sizeof why, "SIGTERM: wait status %d; stderr: %s", st, tail);
            failed = 1;
        } else if (vdb_integrity(db, &pages, why, sizeof why)) {
            failed = 1;
        } else if (cloak_vault_audit_verify(G.data, &rep, &e)) {
            snprintf(why, sizeof why, "audit verify after %d crashes: %s", kills, e.msg);
            failed = 1;
        } else if ((repairs = audit_repairs()) < torn) {
            snprintf(why, sizeof why,
                     "%d torn audit tails were made but the log records %d "
                     "repairs",
                     torn, repairs);
            failed = 1;
        }
    }
    if (srv.pid > 0) vproc_kill(&srv);
    char orphans[512];
    vproc_reap_orphans(5.0, orphans, sizeof orphans);

    unsigned long acked = 0, unacked = 0, checked = 0, gets = 0, applied = 0, by_op[6] = {0};
    size_t nkeys = 0;
    for (int i = 0; i < NTHREADS; i++) {
        acked += ws[i].acked, unacked += ws[i].unacked, checked += ws[i].checked;
        gets += ws[i].gets;
        applied += ws[i].in_flight_applied, nkeys += ws[i].nkeys;
        for (int o = 0; o < 6; o++)
            by_op[o] += ws[i].by_op[o];
    }
    printf("# %d kills in %.1f s; server start to first answer: mean %.0f ms, max %.0f ms\n", round,
           vnow() - t_begin, round ? start_ms_sum / (round + 1) : 0, start_ms_max);
    printf("# acknowledged writes %lu (create %lu, update %lu, delete %lu, recover %lu, purge "
           "%lu); in flight at a kill %lu, of which applied %lu\n",
           acked, by_op[P_CREATE], by_op[P_PATCH], by_op[P_DELETE], by_op[P_RECOVER],
           by_op[P_PURGE], unacked, applied);
    printf("# keys %zu, key checks %lu (%lu GETs), database pages %ld, audit entries %llu, "
           "torn audit tails made %d, repairs logged %d\n",
           nkeys, checked, gets, pages, (unsigned long long)rep.entries, torn, repairs);

    for (int i = 0; i < NTHREADS; i++) {
        if (ws[i].fail[0]) fprintf(stderr, "round %d, thread %d: %s\n", round, i, ws[i].fail);
        free(ws[i].keys);
        free(ws[i].active);
    }
    if (why[0]) fprintf(stderr, "round %d: %s\n", round, why);
    if (failed || getenv("CLOAK_VAULT_CRASH_KEEP"))
        fprintf(stderr, "data directory kept for inspection: %s (seed %u)\n", G.data, seed);
    else
        vrm_rf(G.dir);
    free(G.plat);
    free(G.data);
    free(db);
    if (failed) fail_msg("crash safety failed (see above)");
    /* the run must have exercised what it claims */
    assert_true(round >= kills);
    assert_true(unacked >= (unsigned long)kills / 2);
    assert_true(by_op[P_CREATE] > 0 && by_op[P_PATCH] > 0 && by_op[P_DELETE] > 0 &&
                by_op[P_PURGE] > 0 && by_op[P_RECOVER] > 0);
    assert_true(rep.entries >= acked + gets);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(crash_loop)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
