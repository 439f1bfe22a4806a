/* vault audit: the hash-chained request log (DATA_DIR/audit.log) and its anchor
 * (DATA_DIR/audit.head).
 *
 * The exact hashed bytes. An entry is written as one line: the JSON object
 *   {"seq":N,"time":"2025-07-19T10:01:17Z","request_id":S,"caller":S,"roles":S|null,"op":S,
 *    "key":S|null,"version":S|null,"status":N,"outcome":S,"prev":"<64 hex>","hash":"<64 hex>"}
 * compact (no spaces), members in that order, non-ASCII escaped as \uXXXX, then '\n'. Let L be
 * the line without its '\n'. L always ends with the 75 bytes ,"hash":"<64 lower-case hex>"} ;
 * let B be L with those 75 bytes replaced by the single byte '}' (the object without its hash
 * member, byte for byte as written). Then
 *   hash = SHA-256( "cloak-audit-v1\n" || P || B )
 * where P is the 64 ASCII hex characters of the line's own "prev" member, which must equal the
 * previous entry's hash (64 '0' for seq 1). seq counts from 1, so entry N is line N. Verifiers
 * hash the bytes as read, never a re-serialisation, so any JSON writer can produce entries.
 *
 * audit.head holds {"seq":N,"hash":"<hex>"}: the last entry known to be on disk. Ordering makes
 * that true: a line is write(2)n (O_APPEND) before append returns; the syncer fsyncs the log
 * and only then replaces audit.head atomically (temp, fsync, rename). So a crash can lose
 * unsynced lines, or leave a torn last line, but never leave the head ahead of the log.
 *
 * Trust: the chain is unkeyed. It detects an edited, removed, inserted or reordered entry, and
 * entries cut from the end, made by anyone who does not also rewrite audit.head consistently;
 * an attacker who can rewrite both files can forge any history (ship the head elsewhere for
 * that). No secrets are written: the caller passes names and outcomes only.
 *
 * Thread-safety: append serialises on a mutex; a syncer thread, woken when the log goes from
 * clean to dirty, does the batched fsync (at most one per 50 ms).
 */
#include "vault/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define AUDIT_MAGIC 0x41554454u /* "AUDT" */
#define AUDIT_TAG "cloak-audit-v1\n"
#define SYNC_INTERVAL_NS 50000000L /* 50 ms */
#define HASH_SUFFIX_LEN 75         /* ,"hash":"<64 hex>"} */
#define MAX_FIELD 1024             /* bytes of one string field; longer is cut */
static const char ZERO_HASH[] = "0000000000000000000000000000000000000000000000000000000000000000";

struct cloak_vault_audit {
    unsigned magic;
    int fd;
    char *log_path, *head_path;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* CLOCK_MONOTONIC */
    uint64_t seq;         /* last entry written */
    char hash[65];
    off_t size; /* bytes of the log after the last entry */
    int dirty;  /* written since the last sync */
    int stop;   /* close in progress */
    int failed; /* sticky: the log can no longer be trusted to be complete */
    char failure[CLOAK_ERROR_MAX];
    struct timespec last_sync;
    pthread_t syncer;
    int have_syncer;
};

/* ---- hashing and formatting ------------------------------------------------------------- */

static int is_hex64(const char *s, size_t n)
{
    if (n != 64) return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* SHA-256(tag || prev || body || "}") as hex; body is B without its final '}'. */
static int entry_hash(const char *prev, const char *body, size_t body_len, char out[65])
{
    uint8_t md[32];
    unsigned mdl = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(c, AUDIT_TAG, sizeof AUDIT_TAG - 1) &&
             EVP_DigestUpdate(c, prev, 64) && EVP_DigestUpdate(c, body, body_len) &&
             EVP_DigestUpdate(c, "}", 1) && EVP_DigestFinal_ex(c, md, &mdl) && mdl == 32;
    EVP_MD_CTX_free(c);
    if (ok) cloak_hex_write(out, md, 32);
    return ok;
}

/* A JSON string for a field: NULL -> null (or "-" when !nullable); cut at MAX_FIELD; bytes
 * that are not valid UTF-8 become '?'. */
static json_t *field(const char *s, int nullable)
{
    if (!s) return nullable ? json_null() : json_string("-");
    size_t n = strnlen(s, MAX_FIELD);
    json_t *j = json_stringn(s, n);
    if (j) return j;
    char *c = malloc(n + 1);
    if (!c) return NULL;
    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)s[i] < 0x80 && s[i] ? s[i] : '?';
    j = json_stringn(c, n);
    free(c);
    return j;
}

/* The line for entry `seq` after `prev`: malloc'd, '\n'-terminated; *hash gets its hash. */
static char *format_line(uint64_t seq, const char *prev, const cloak_vault_audit_entry *e,
                         size_t *len, char hash[65])
{
    char when[32];
    struct tm tm;
    time_t t = e->time;
    if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(when, sizeof when, "1970-01-01T00:00:00Z");
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = json_object_set_new(o, "seq", json_integer((json_int_t)seq)) ||
              json_object_set_new(o, "time", json_string(when)) ||
              json_object_set_new(o, "request_id", field(e->request_id, 0)) ||
              json_object_set_new(o, "caller", field(e->caller, 0)) ||
              json_object_set_new(o, "roles", field(e->roles, 1)) ||
              json_object_set_new(o, "op", field(e->op, 0)) ||
              json_object_set_new(o, "key", field(e->key, 1)) ||
              json_object_set_new(o, "version", field(e->version, 1)) ||
              json_object_set_new(o, "status", json_integer(e->status)) ||
              json_object_set_new(o, "outcome", field(e->outcome, 0)) ||
              json_object_set_new(o, "prev", json_string(prev));
    char *body = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!body) return NULL;
    size_t bl = strlen(body); /* ends with '}' */
    char *line = NULL;
    if (bl >= 2 && body[bl - 1] == '}' && entry_hash(prev, body, bl - 1, hash) &&
        (line = malloc(bl - 1 + HASH_SUFFIX_LEN + 2))) {
        memcpy(line, body, bl - 1);
        int n = snprintf(line + bl - 1, HASH_SUFFIX_LEN + 2, ",\"hash\":\"%s\"}\n", hash);
        *len = bl - 1 + (size_t)n;
    }
    free(body);
    return line;
}

/* ---- audit.head ------------------------------------------------------------------------- */

typedef struct {
    int present;
    uint64_t seq;
    char hash[65];
} head_rec;

static cloak_err read_head(const char *path, head_rec *h, cloak_error *why)
{
    memset(h, 0, sizeof *h);
    uint8_t *p = NULL;
    size_t n = 0;
    cloak_err rc = cloak_file_read(path, &p, &n, why);
    if (rc == CLOAK_ENOTFOUND) return CLOAK_OK;
    if (rc) return rc;
    json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
    free(p);
    const json_t *s = json_object_get(j, "seq"), *hs = json_object_get(j, "hash");
    if (!json_is_integer(s) || json_integer_value(s) < 0 || !json_is_string(hs) ||
        !is_hex64(json_string_value(hs), json_string_length(hs))) {
        json_decref(j);
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s is damaged (expected {\"seq\":N,\"hash\":\"<64 hex>\"})", path);
    }
    h->present = 1;
    h->seq = (uint64_t)json_integer_value(s);
    memcpy(h->hash, json_string_value(hs), 65);
    json_decref(j);
    return CLOAK_OK;
}

static cloak_err write_head(const char *path, uint64_t seq, const char *hash, cloak_error *why)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, "{\"seq\":%llu,\"hash\":\"%s\"}\n", (unsigned long long)seq,
                     hash);
    return cloak_file_write(path, (const uint8_t *)buf, (size_t)n, 0600, why);
}

/* ---- scanning a log --------------------------------------------------------------------- */

typedef struct {
    uint64_t entries;   /* entries that verified, in order from line 1 */
    char last[65];      /* hash of the last of them (zeros when none) */
    off_t good_size;    /* bytes up to the end of the last good line */
    uint64_t bad_line;  /* first bad line, 0 when none */
    int bad_is_last;    /* ... and nothing follows it */
    char head_hash[65]; /* hash of entry head.seq, when reached */
} scan_result;

/* Check one line (without '\n') as entry number `want` after hash `prev`. NULL when good (and
 * `hash` filled), else what is wrong. */
static const char *check_line(const char *l, size_t n, uint64_t want, const char *prev,
                              char hash[65], char *msg, size_t msz)
{
    json_error_t je;
    json_t *j = json_loadb(l, n, JSON_REJECT_DUPLICATES, &je);
    const char *r = NULL;
    if (!json_is_object(j)) {
        snprintf(msg, msz, "not a JSON object (%s)", j ? "another JSON value" : je.text);
        r = msg;
        goto out;
    }
    const json_t *s = json_object_get(j, "seq"), *p = json_object_get(j, "prev"),
                 *h = json_object_get(j, "hash");
    const char *hv = json_string_value(h), *pv = json_string_value(p);
    if (!json_is_integer(s) || json_integer_value(s) < 1 || !pv ||
        !is_hex64(pv, json_string_length(p)) || !hv || !is_hex64(hv, json_string_length(h)) ||
        n < HASH_SUFFIX_LEN + 2 || memcmp(l + n - HASH_SUFFIX_LEN, ",\"hash\":\"", 9) ||
        memcmp(l + n - 66, hv, 64) || memcmp(l + n - 2, "\"}", 2)) {
        snprintf(msg, msz, "not an audit entry (seq, prev and a final hash member are required)");
        r = msg;
        goto out;
    }
    char calc[65];
    if (!entry_hash(pv, l, n - HASH_SUFFIX_LEN, calc) || CRYPTO_memcmp(calc, hv, 64)) {
        snprintf(msg, msz, "entry seq %lld was edited: its hash does not match its content",
                 (long long)json_integer_value(s));
        r = msg;
        goto out;
    }
    uint64_t seq = (uint64_t)json_integer_value(s);
    if (seq > want) {
        char gone[64];
        if (seq - want > 1)
            snprintf(gone, sizeof gone, "entries %llu..%llu were", (unsigned long long)want,
                     (unsigned long long)(seq - 1));
        else
            snprintf(gone, sizeof gone, "entry %llu was", (unsigned long long)want);
        snprintf(msg, msz,
                 "entry seq %llu where seq %llu was expected: %s removed (or lines reordered)",
                 (unsigned long long)seq, (unsigned long long)want, gone);
        r = msg;
    } else if (seq < want) {
        snprintf(msg, msz,
                 "entry seq %llu where seq %llu was expected: a line was inserted, duplicated or "
                 "moved here",
                 (unsigned long long)seq, (unsigned long long)want);
        r = msg;
    } else if (memcmp(pv, prev, 64)) {
        snprintf(msg, msz,
                 "entry seq %llu does not chain to the entry before it (prev differs): an entry "
                 "was replaced or inserted",
                 (unsigned long long)seq);
        r = msg;
    } else {
        memcpy(hash, hv, 64);
        hash[64] = 0;
    }
out:
    json_decref(j);
    return r;
}

/* The writer's own lines, checked without a JSON parser: `{"seq":N,` first and
 * `,"prev":"<64 hex>","hash":"<64 hex>"}` last, seq == want, prev chained, hash matching the
 * bytes. 1 when the line is such a line and good; 0 otherwise (the caller then runs
 * check_line, which names the problem or accepts another writer's valid JSON). Used only when
 * the writer opens its log; `cloak vault audit verify` parses every line. */
#define PREV_SUFFIX_LEN 74 /* ,"prev":"<64 hex>" */
static int fast_line(const char *l, size_t n, uint64_t want, const char *prev, char hash[65])
{
    static const char head[] = "{\"seq\":";
    if (n < sizeof head + PREV_SUFFIX_LEN + HASH_SUFFIX_LEN || memcmp(l, head, sizeof head - 1))
        return 0;
    uint64_t seq = 0;
    size_t i = sizeof head - 1, start = i;
    while (i < n && l[i] >= '0' && l[i] <= '9' && i - start < 19)
        seq = seq * 10 + (uint64_t)(l[i++] - '0');
    if (i == start || l[i] != ',' || (l[start] == '0') || seq != want) return 0;
    const char *pm = l + n - HASH_SUFFIX_LEN - PREV_SUFFIX_LEN, *hm = l + n - HASH_SUFFIX_LEN;
    if (memcmp(pm, ",\"prev\":\"", 9) || memcmp(pm + 73, "\"", 1) || !is_hex64(pm + 9, 64) ||
        memcmp(hm, ",\"hash\":\"", 9) || memcmp(hm + 73, "\"}", 2) || !is_hex64(hm + 9, 64) ||
        memcmp(pm + 9, prev, 64))
        return 0;
    char calc[65];
    if (!entry_hash(pm + 9, l, n - HASH_SUFFIX_LEN, calc) || CRYPTO_memcmp(calc, hm + 9, 64))
        return 0;
    memcpy(hash, calc, 65);
    return 1;
}

/* Walk the log from line 1 to the first bad line. CLOAK_EVERIFY names that line. `fast`: try
 * fast_line first (the writer's start-up); every line is still hashed and chained. */
static cloak_err scan(const char *path, const head_rec *head, int fast, scan_result *r,
                      cloak_error *why)
{
    memset(r, 0, sizeof *r);
    memcpy(r->last, ZERO_HASH, 65);
    if (head->present && head->seq == 0) memcpy(r->head_hash, ZERO_HASH, 65);
    FILE *f = fopen(path, "re");
    if (!f)
        return cloak_error_set(why, errno == ENOENT ? CLOAK_ENOTFOUND : CLOAK_EIO,
                               "cannot open %s: %s", path, strerror(errno));
    cloak_err rc = CLOAK_OK;
    char *line = NULL, msg[300];
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        const char *bad = NULL;
        char hash[65];
        if (line[n - 1] != '\n')
            bad = "incomplete last line (no newline: a torn write; `cloak vault serve` cuts it "
                  "when it opens the log)";
        else if (!fast || !fast_line(line, (size_t)n - 1, r->entries + 1, r->last, hash))
            bad = check_line(line, (size_t)n - 1, r->entries + 1, r->last, hash, msg, sizeof msg);
        if (bad) {
            r->bad_line = lineno;
            r->bad_is_last = getc(f) == EOF;
            rc = cloak_error_set(why, CLOAK_EVERIFY, "%s line %llu: %s", path,
                                 (unsigned long long)lineno, bad);
            goto out;
        }
        r->entries++;
        memcpy(r->last, hash, 65);
        r->good_size += (off_t)n;
        if (head->present && head->seq == r->entries) memcpy(r->head_hash, hash, 65);
    }
    if (ferror(f)) rc = cloak_error_set(why, CLOAK_EIO, "cannot read %s", path);
out:
    free(line);
    fclose(f);
    return rc;
}

/* The head must name an entry the scan reached, with the same hash. */
static cloak_err check_head(const char *log_path, const char *head_path, const head_rec *h,
                            scan_result *r, cloak_error *why)
{
    if (!h->present) {
        if (r->entries == 0) return CLOAK_OK;
        r->bad_line = r->entries + 1;
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s line %llu: %s is missing: cannot tell whether entries were "
                               "removed from the end (%llu entries verified)",
                               log_path, (unsigned long long)r->bad_line, head_path,
                               (unsigned long long)r->entries);
    }
    if (h->seq > r->entries) {
        r->bad_line = r->entries + 1;
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s line %llu: missing: %s records entry %llu (hash %.16s...) "
                               "but the log ends after entry %llu: entries were removed from "
                               "the end",
                               log_path, (unsigned long long)(r->entries + 1), head_path,
                               (unsigned long long)h->seq, h->hash, (unsigned long long)r->entries);
    }
    if (memcmp(r->head_hash, h->hash, 64)) {
        r->bad_line = h->seq ? h->seq : 1;
        return cloak_error_set(why, CLOAK_EVERIFY,
                               "%s line %llu: entry %llu does not match %s (hash %.16s... "
                               "recorded): the log was rewritten from here on",
                               log_path, (unsigned long long)r->bad_line,
                               (unsigned long long)h->seq, head_path, h->hash);
    }
    return CLOAK_OK;
}

static cloak_err paths(const char *data_dir, char **log_path, char **head_path, cloak_error *why)
{
    size_t n = strlen(data_dir) + 16;
    *log_path = malloc(n);
    *head_path = malloc(n);
    if (!*log_path || !*head_path) {
        free(*log_path);
        free(*head_path);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    snprintf(*log_path, n, "%s/audit.log", data_dir);
    snprintf(*head_path, n, "%s/audit.head", data_dir);
    return CLOAK_OK;
}

cloak_err cloak_vault_audit_verify(const char *data_dir, cloak_vault_audit_report *rep,
                                   cloak_error *why)
{
    if (!data_dir || !rep) return cloak_error_set(why, CLOAK_EINVAL, "audit verify: no directory");
    memset(rep, 0, sizeof *rep);
    char *lp, *hp;
    cloak_err rc = paths(data_dir, &lp, &hp, why);
    if (rc) return rc;
    head_rec h;
    scan_result r;
    if ((rc = read_head(hp, &h, why))) goto out; /* a damaged head: nothing verified */
    if ((rc = scan(lp, &h, 0, &r, why)) == CLOAK_OK) rc = check_head(lp, hp, &h, &r, why);
    if (rc == CLOAK_OK || rc == CLOAK_EVERIFY) {
        rep->entries = r.entries;
        memcpy(rep->head, r.last, 65);
        rep->bad_line = rc ? r.bad_line : 0;
    }
out:
    free(lp);
    free(hp);
    return rc;
}

/* ---- the writer ------------------------------------------------------------------------- */

static void mono_now(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
}

/* fsync the log, then record its last entry in audit.head. Called with the lock held; drops
 * it around the I/O (appends go on meanwhile and are covered by the next sync). */
static void sync_locked(cloak_vault_audit *a)
{
    uint64_t seq = a->seq;
    char hash[65];
    memcpy(hash, a->hash, 65);
    a->dirty = 0;
    pthread_mutex_unlock(&a->lock);
    cloak_error e = {0};
    int err = 0;
    if (fsync(a->fd) < 0)
        err = errno, snprintf(e.msg, sizeof e.msg, "fsync %s: %s", a->log_path, strerror(err));
    else if (write_head(a->head_path, seq, hash, &e))
        err = 1;
    pthread_mutex_lock(&a->lock);
    mono_now(&a->last_sync);
    if (err && !a->failed) {
        a->failed = 1;
        snprintf(a->failure, sizeof a->failure, "%s", e.msg);
    }
}

static void *syncer_main(void *arg)
{
    cloak_vault_audit *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->dirty && !a->stop)
            pthread_cond_wait(&a->cond, &a->lock);
        if (a->stop) break;
        /* batch: at most one sync per interval */
        struct timespec due = a->last_sync;
        due.tv_nsec += SYNC_INTERVAL_NS;
        if (due.tv_nsec >= 1000000000L) due.tv_sec++, due.tv_nsec -= 1000000000L;
        while (!a->stop && pthread_cond_timedwait(&a->cond, &a->lock, &due) != ETIMEDOUT) {
        }
        if (a->stop) break; /* close does the final sync */
        sync_locked(a);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

static cloak_err append_locked(cloak_vault_audit *a, const cloak_vault_audit_entry *e,
                               cloak_error *why)
{
    if (a->failed)
        return cloak_error_set(why, CLOAK_EIO, "audit log unusable after an earlier failure: %s",
                               a->failure);
    size_t len = 0;
    char hash[65];
    char *line = format_line(a->seq + 1, a->hash, e, &len, hash);
    if (!line) return cloak_error_set(why, CLOAK_ENOMEM, "audit: out of memory");
    cloak_err rc = CLOAK_OK;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(a->fd, line + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            rc = cloak_error_set(why, CLOAK_EIO, "cannot append to %s: %s", a->log_path,
                                 strerror(err));
            /* undo a partial line so the chain stays whole; if that fails, stop for good */
            if (off && ftruncate(a->fd, a->size) < 0) {
                a->failed = 1;
                snprintf(a->failure, sizeof a->failure, "a partial line could not be removed: %s",
                         strerror(errno));
            }
            break;
        }
        off += (size_t)n;
    }
    free(line);
    if (rc) return rc;
    a->seq++;
    memcpy(a->hash, hash, 65);
    a->size += (off_t)len;
    /* Wake the syncer only on the clean -> dirty transition: while dirty it is either in its
     * timed wait for the end of the batch interval (which a wake-up would only interrupt, to
     * wait again) or syncing, and it re-checks `dirty` before it waits for work again. */
    if (!a->dirty) {
        a->dirty = 1;
        pthread_cond_signal(&a->cond);
    }
    return CLOAK_OK;
}

cloak_err cloak_vault_audit_append(cloak_vault_audit *a, const cloak_vault_audit_entry *e,
                                   cloak_error *why)
{
    if (!a || a->magic != AUDIT_MAGIC || !e || !e->op)
        return cloak_error_set(why, CLOAK_EINVAL, "audit append: no log or no operation");
    pthread_mutex_lock(&a->lock);
    cloak_err rc = append_locked(a, e, why);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

static void audit_free(cloak_vault_audit *a)
{
    if (a->fd >= 0) close(a->fd);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->cond);
    free(a->log_path);
    free(a->head_path);
    a->magic = 0;
    free(a);
}

void cloak_vault_audit_close(cloak_vault_audit *a)
{
    if (!a || a->magic != AUDIT_MAGIC) return;
    pthread_mutex_lock(&a->lock);
    a->stop = 1;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    if (a->have_syncer) pthread_join(a->syncer, NULL);
    pthread_mutex_lock(&a->lock);
    if (a->dirty) sync_locked(a);
    pthread_mutex_unlock(&a->lock);
    audit_free(a);
}

cloak_err cloak_vault_audit_open(const char *data_dir, cloak_vault_audit **out, cloak_error *why)
{
    if (!data_dir || !out) return cloak_error_set(why, CLOAK_EINVAL, "audit open: no directory");
    cloak_err rc = cloak_mkdirs(data_dir, 0700, why);
    if (rc) return rc;
    cloak_vault_audit *a = calloc(1, sizeof *a);
    if (!a) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    a->fd = -1;
    a->magic = AUDIT_MAGIC;
    pthread_mutex_init(&a->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cond, &ca);
    pthread_condattr_destroy(&ca);
    if ((rc = paths(data_dir, &a->log_path, &a->head_path, why))) {
        a->log_path = a->head_path = NULL;
        goto fail;
    }
    a->fd = open(a->log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (a->fd < 0) {
        rc = cloak_error_set(why, CLOAK_EIO, "cannot open %s: %s", a->log_path, strerror(errno));
        goto fail;
    }
    if (flock(a->fd, LOCK_EX | LOCK_NB) < 0) {
        rc = cloak_error_set(why, CLOAK_EIO, "%s is in use by another process (%s)", a->log_path,
                             strerror(errno));
        goto fail;
    }
    head_rec h;
    scan_result r;
    if ((rc = read_head(a->head_path, &h, why))) goto fail;
    rc = scan(a->log_path, &h, 1, &r, why);
    int repaired = 0;
    if (rc == CLOAK_EVERIFY && r.bad_is_last && h.present && r.bad_line > h.seq) {
        /* a torn last write after a crash: cut it, note it below */
        if (ftruncate(a->fd, r.good_size) < 0 || fsync(a->fd) < 0) {
            rc = cloak_error_set(why, CLOAK_EIO, "cannot cut the torn last line of %s: %s",
                                 a->log_path, strerror(errno));
            goto fail;
        }
        repaired = 1;
        rc = CLOAK_OK;
    }
    if (rc) {
        if (rc == CLOAK_EVERIFY)
            cloak_error_wrap(why, "audit log damaged (run `cloak vault audit verify %s`)",
                             data_dir);
        goto fail;
    }
    if (!h.present && r.entries == 0) {
        /* a new log: anchor it, so a missing head later means tampering */
        if ((rc = write_head(a->head_path, 0, ZERO_HASH, why))) goto fail;
        h.present = 1;
        memcpy(h.hash, ZERO_HASH, 65);
        memcpy(r.head_hash, ZERO_HASH, 65);
    }
    if ((rc = check_head(a->log_path, a->head_path, &h, &r, why))) {
        cloak_error_wrap(why, "audit log damaged (run `cloak vault audit verify %s`)", data_dir);
        goto fail;
    }
    a->seq = r.entries;
    memcpy(a->hash, r.last, 65);
    a->size = r.good_size;
    mono_now(&a->last_sync);
    if (repaired) {
        cloak_vault_audit_entry note = {.time = time(NULL),
                                        .request_id = "-",
                                        .caller = "-",
                                        .op = "AuditRepair",
                                        .status = 0,
                                        .outcome = "torn-last-line-removed"};
        if ((rc = append_locked(a, &note, why))) goto fail;
        pthread_mutex_lock(&a->lock); /* not shared yet, but sync_locked drops and retakes it */
        sync_locked(a);
        pthread_mutex_unlock(&a->lock);
        if (a->failed) {
            rc = cloak_error_set(why, CLOAK_EIO, "%s", a->failure);
            goto fail;
        }
    }
    if (pthread_create(&a->syncer, NULL, syncer_main, a)) {
        rc = cloak_error_set(why, CLOAK_EIO, "audit: cannot start the sync thread");
        goto fail;
    }
    a->have_syncer = 1;
    *out = a;
    return CLOAK_OK;
fail:
    audit_free(a);
    return rc;
}
