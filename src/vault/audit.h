/*
 * vault audit: an append-only, hash-chained log of every request the vault answers.
 *
 * DATA_DIR/audit.log holds one JSON object per line:
 *   {"seq":N,"time":"RFC 3339","request_id","caller","roles","op","key","version","status":HTTP,
 *    "outcome":"ok"|error code,"prev":"hex","hash":"hex"}
 * hash = SHA-256 over "cloak-audit-v1\n" || prev || the line without its "hash" member (the
 * exact bytes written, see docs/VAULT.md); the first entry's prev is 64 zeros. No secrets:
 * never a key byte, token, plaintext or ciphertext, only names and outcomes.
 *
 * Lines are written (write(2)) before append returns; fsync is batched (at most every 50 ms,
 * and at close). DATA_DIR/audit.head records the seq and hash of the last synced entry
 * (rewritten atomically at each sync), so removing entries at the end is detected too.
 *
 * Thread-safety: append may be called from several threads (internal mutex).
 */
#ifndef CLOAK_VAULT_AUDIT_H
#define CLOAK_VAULT_AUDIT_H

#include "cloak/base.h"

#include <stdint.h>
#include <time.h>

typedef struct cloak_vault_audit cloak_vault_audit;

typedef struct {
    time_t time;
    const char *request_id;
    const char *caller;  /* subject, or "-" when unauthenticated */
    const char *roles;   /* may be NULL */
    const char *op;      /* "KeyCreate", "KeyGet", "KeyRelease", ... */
    const char *key;     /* may be NULL */
    const char *version; /* may be NULL */
    int status;          /* HTTP status answered */
    const char *outcome; /* "ok" or the error code answered */
} cloak_vault_audit_entry;

/* Open (or create, 0600) DATA_DIR/audit.log and continue its chain. A log whose last line
 * does not verify (a torn write after a crash) has that line cut and a note entry appended;
 * any other damage is refused with CLOAK_EVERIFY (run `cloak vault audit verify`). */
cloak_err cloak_vault_audit_open(const char *data_dir, cloak_vault_audit **out,
                                 cloak_error *why) CLOAK_MUST_CHECK;
cloak_err cloak_vault_audit_append(cloak_vault_audit *a, const cloak_vault_audit_entry *e,
                                   cloak_error *why) CLOAK_MUST_CHECK;
/* Sync and close. */
void cloak_vault_audit_close(cloak_vault_audit *a);

typedef struct {
    uint64_t entries;  /* entries that verified */
    char head[65];     /* hash of the last entry (hex) */
    uint64_t bad_line; /* 1-based line of the first problem; 0 when none */
} cloak_vault_audit_report;

/* Verify DATA_DIR/audit.log against its chain and audit.head. CLOAK_EVERIFY names the first
 * edited, removed, inserted or reordered entry (line number and what differs). */
cloak_err cloak_vault_audit_verify(const char *data_dir, cloak_vault_audit_report *rep,
                                   cloak_error *why) CLOAK_MUST_CHECK;

#endif
