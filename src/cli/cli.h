/* The cloak command line: a table of subcommands, one file each. */
#ifndef CLOAK_CLI_H
#define CLOAK_CLI_H

#include "cloak/base.h"
#include "cloak/evidence.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Exit codes (documented in README "Exit codes"). */
#define CLI_OK 0
#define CLI_FAIL 1  /* the operation failed or was refused */
#define CLI_USAGE 2 /* bad command line */

typedef struct {
    const char *group; /* "enclave", ... */
    const char *name;  /* "sign", ... */
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} cli_command;

int cmd_enclave_keygen(int argc, char **argv);
int cmd_enclave_sign(int argc, char **argv);
int cmd_enclave_info(int argc, char **argv);
int cmd_enclave_quote(int argc, char **argv);
int cmd_enclave_edger8r(int argc, char **argv);
int cmd_evidence_verify(int argc, char **argv);
int cmd_evidence_show(int argc, char **argv);
int cmd_evidence_collect(int argc, char **argv);
int cmd_evidence_fetch_collateral(int argc, char **argv);
int cmd_attest_serve(int argc, char **argv);
int cmd_attest_verify_token(int argc, char **argv);
int cmd_attest_request(int argc, char **argv);
int cmd_attest_rotate_key(int argc, char **argv);
int cmd_vault_serve(int argc, char **argv);
int cmd_vault_token(int argc, char **argv);
int cmd_vault_audit(int argc, char **argv);
int cmd_vault_key(int argc, char **argv);

/* Print "cloak: <msg>" to stderr and return CLI_FAIL. */
int cli_fail(const cloak_error *why);
/* Print a usage error and a pointer to --help; return CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse an unsigned decimal/hex integer no larger than max. Returns 0 on success. */
int cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
/* Parse a size: digits with optional K, M or G suffix (powers of 1024). */
int cli_parse_size(const char *s, unsigned long long *out);
/* RFC 3339 ("2025-07-19T10:01:17Z", "...+02:00", fractional seconds ignored) or "@EPOCH". */
int cli_parse_time(const char *s, time_t *out);
/* "90", "90s", "30m", "8h", "1d" -> seconds (1 s .. 366 days). */
int cli_parse_duration(const char *s, unsigned *out);
/* "HOST:PORT", "[V6]:PORT" or ":PORT" (host 127.0.0.1). */
int cli_parse_listen(const char *s, char *host, size_t hlen, uint16_t *port);
/* "sgx", "tdx", "snp"/"sevsnp", and "auto" when allow_auto. */
int cli_parse_tee(const char *s, int allow_auto, cloak_tee_type *t);
/* An evidence file: binary as is; hex text (as some tools print quotes, whitespace allowed)
 * is decoded. *out is malloc'd. */
cloak_err cli_read_evidence(const char *path, uint8_t **out, size_t *len, cloak_error *why);

#endif
