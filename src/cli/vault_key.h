/* Shared by the `cloak vault key ...` subcommands (vault_key.c, vault_key_ops.c): option
 * parsing with the common options (--vault, --ca, --token-file, --json), connecting a
 * cloak_vault_client, byte input/output and printing. The bearer token comes from a file or
 * the environment, never from argv. */
#ifndef CLOAK_CLI_VAULT_KEY_H
#define CLOAK_CLI_VAULT_KEY_H

#include "cli.h"

#include "cloak/vault.h"

#include <getopt.h>
#include <jansson.h>

/* Long-only option codes start here (below: per-subcommand codes). */
enum {
    VK_O_VAULT = 256,
    VK_O_CA,
    VK_O_TOKEN_FILE,
    VK_O_TOKEN, /* refused: secrets are never in argv */
    VK_O_JSON,
    VK_O_FIRST_SUB = 300,
};

typedef struct {
    const char *cmd;   /* "vault key create", for messages */
    const char *vault; /* --vault or CLOAK_VAULT_URL */
    const char *ca;    /* --ca or CLOAK_VAULT_CA */
    const char *token_file;
    int json;
    char **args; /* positional arguments after options */
    int nargs;
} vk_ctx;

/* Handle one subcommand-specific option; return -1 to go on, or an exit code. */
typedef int (*vk_opt_fn)(vk_ctx *x, int c, const char *arg, void *st);
/* Parse argv (argv[0] = the subcommand) with the common options plus `extra` (terminated by a
 * zero entry; may be NULL). help() is printed for --help. Returns -1 to go on, or an exit
 * code (CLI_OK after --help, CLI_USAGE). */
int vk_parse(vk_ctx *x, int argc, char **argv, const struct option *extra, vk_opt_fn fn, void *st,
             void (*help)(void));
/* Exactly `n` positional arguments, named for the message ("NAME"). -1 or CLI_USAGE. */
int vk_want_args(vk_ctx *x, int n, const char *names);
/* A client from --vault/--ca and the token (--token-file or CLOAK_VAULT_TOKEN). -1 and *out,
 * or an exit code. */
int vk_connect(vk_ctx *x, cloak_vault_client **out);
/* Print the failure (with a hint from the last vault status) and return CLI_FAIL. */
int vk_fail(vk_ctx *x, cloak_vault_client *c, const cloak_error *why);

/* Read all of FILE ("-" or NULL = stdin). */
cloak_err vk_read_input(const char *path, uint8_t **out, size_t *len, cloak_error *why);
/* Write bytes to FILE (0600, atomic) or, path NULL/"-", stdout (refused on a terminal when
 * binary: the caller gets CLOAK_EINVAL with advice). */
cloak_err vk_write_output(const char *path, const uint8_t *p, size_t len, int binary,
                          cloak_error *why);
/* Pretty-print JSON on stdout. */
int vk_print_json(const json_t *j);
/* Hex option value -> malloc'd bytes; CLI_USAGE on error, -1 ok. */
int vk_hex_opt(vk_ctx *x, const char *opt, const char *hex, uint8_t **out, size_t *len);
/* "2025-07-19T10:01:17Z" for epoch seconds. */
void vk_time(char *dst, size_t n, json_int_t t);

/* The subcommands in vault_key_ops.c. */
int vk_cmd_encrypt(int argc, char **argv);
int vk_cmd_decrypt(int argc, char **argv);
int vk_cmd_wrap(int argc, char **argv);
int vk_cmd_unwrap(int argc, char **argv);
int vk_cmd_sign(int argc, char **argv);
int vk_cmd_verify(int argc, char **argv);
int vk_cmd_release(int argc, char **argv);

#define VK_COMMON_HELP                                                                             \
    "Common options:\n"                                                                            \
    "  --vault URL        the vault's base URL (default $CLOAK_VAULT_URL), e.g.\n"                 \
    "                     https://127.0.0.1:9443\n"                                                \
    "  --ca FILE          CA certificates for the vault, e.g. DATA_DIR/ca.pem of `cloak vault\n"   \
    "                     serve` (default $CLOAK_VAULT_CA, else the system roots)\n"               \
    "  --token-file FILE  a file holding the bearer token (e.g. from `cloak vault token`);\n"      \
    "                     default $CLOAK_VAULT_TOKEN. Tokens are never taken from the command\n"   \
    "                     line, where other users could read them.\n"                              \
    "  --json             print the vault's JSON answer instead of the short form\n"               \
    "  -h, --help         this help\n"                                                             \
    "Exit status: 0 done, 1 failed or refused (the reason on stderr), 2 bad command line.\n"

#endif
