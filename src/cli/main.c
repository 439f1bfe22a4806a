/* cloak: one binary, subcommands dispatched from a table. */
#include "cli.h"

#include "cloak/evidence.h"

#include <ctype.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

static const cli_command commands[] = {
    {"enclave", "keygen", "create an RSA-3072 enclave signing key", cmd_enclave_keygen},
    {"enclave", "sign", "sign an enclave shared object into a signed image", cmd_enclave_sign},
    {"enclave", "info", "show a signed image's identity", cmd_enclave_info},
    {"enclave", "quote", "load a signed image and write its SGX DCAP quote", cmd_enclave_quote},
    {"enclave", "edger8r", "generate host/enclave stubs from an interface (EDL) file",
     cmd_enclave_edger8r},
    {"evidence", "verify", "verify an SGX/TDX quote or SEV-SNP report; print its claims",
     cmd_evidence_verify},
    {"evidence", "show", "print the fields of evidence without verifying it", cmd_evidence_show},
    {"evidence", "collect", "write SNP/TDX evidence from inside this VM", cmd_evidence_collect},
    {"evidence", "fetch-collateral",
     "fetch and verify collateral from Intel PCS/PCCS and AMD KDS into a directory",
     cmd_evidence_fetch_collateral},
    {"attest", "serve", "run the MAA-compatible attestation service over HTTPS", cmd_attest_serve},
    {"attest", "verify-token",
     "verify an attestation token against its issuer's JWKS; print its claims",
     cmd_attest_verify_token},
    {"attest", "request", "send evidence to an attestation service; print the token",
     cmd_attest_request},
    {"attest", "rotate-key", "rotate the attestation service's token signing key",
     cmd_attest_rotate_key},
    {"vault", "serve", "run the Azure Key Vault-compatible key vault over HTTPS", cmd_vault_serve},
    {"vault", "token", "print a local bearer token for a vault (role, subject, lifetime)",
     cmd_vault_token},
    {"vault", "audit", "verify a vault's hash-chained audit log: cloak vault audit verify DIR",
     cmd_vault_audit},
    {"vault", "key",
     "use a vault's keys: create, get, list, delete, recover, purge, release, encrypt, decrypt, "
     "wrap, unwrap, sign, verify",
     cmd_vault_key},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

int cli_fail(const cloak_error *why)
{
    fprintf(stderr, "cloak: %s\n", why && why->msg[0] ? why->msg : "failed");
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "cloak %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'cloak %s --help' for usage.\n", cmd);
    return CLI_USAGE;
}

int cli_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    if (!s || !*s || *s == '-') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max) return -1;
    *out = v;
    return 0;
}

/* "90", "90s", "30m", "8h", "1d" -> seconds. */
int cli_parse_duration(const char *s, unsigned *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)*s)) return -1;
    unsigned long v = strtoul(s, &end, 10), mul = 1;
    if (*end == 's')
        mul = 1, end++;
    else if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    if (*end || v == 0 || v > 366ul * 86400 / mul) return -1;
    *out = (unsigned)(v * mul);
    return 0;
}

/* host:port, [v6]:port, or :port. */
cloak_err cli_read_evidence(const char *path, uint8_t **out, size_t *len, cloak_error *why)
{
    uint8_t *b;
    size_t n;
    cloak_err rc = cloak_file_read(path, &b, &n, why);
    if (rc) return rc;
    size_t digits = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        if (isxdigit(b[i]))
            digits++;
        else if (!isspace(b[i]))
            other++;
    }
    if (n && !other && digits % 2 == 0) {
        char *t = malloc(digits + 1);
        size_t k = 0;
        if (!t) {
            free(b);
            return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
            if (isxdigit(b[i])) t[k++] = (char)b[i];
        t[k] = 0;
        free(b);
        rc = cloak_hex_decode(t, out, len, why);
        free(t);
        return rc;
    }
    *out = b;
    *len = n;
    return CLOAK_OK;
}

int cli_parse_listen(const char *s, char *host, size_t hlen, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    unsigned long long p;
    if (!colon || cli_parse_uint(colon + 1, 65535, &p)) return -1;
    size_t n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') s++, n -= 2;
    if (n >= hlen) return -1;
    memcpy(host, s, n);
    host[n] = 0;
    if (!n) snprintf(host, hlen, "127.0.0.1");
    *port = (uint16_t)p;
    return 0;
}

int cli_parse_size(const char *s, unsigned long long *out)
{
    if (!s || !*s || *s == '-') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10), mul = 1;
    if (errno || end == s) return -1;
    if (*end == 'K' || *end == 'k')
        mul = 1ull << 10, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1ull << 20, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1ull << 30, end++;
    if (*end || v > (1ull << 40) / mul) return -1;
    *out = v * mul;
    return 0;
}

/* RFC 3339 ("2025-07-19T10:01:17Z", "...+02:00", fractional seconds ignored) or "@EPOCH". */
int cli_parse_time(const char *s, time_t *out)
{
    if (s[0] == '@') {
        unsigned long long v;
        if (cli_parse_uint(s + 1, (1ull << 40), &v)) return -1;
        *out = (time_t)v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *r = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!r) return -1;
    if (*r == '.')
        while (isdigit((unsigned char)*++r)) {
        }
    long off = 0;
    if (*r == 'Z' || *r == 'z')
        r++;
    else if (*r == '+' || *r == '-') {
        int hh, mm;
        if (sscanf(r + 1, "%2d:%2d", &hh, &mm) != 2) return -1;
        off = (hh * 60L + mm) * 60L * (*r == '-' ? -1 : 1);
        r += 6;
    } else
        return -1;
    if (*r) return -1;
    *out = timegm(&tm) - off;
    return 0;
}

int cli_parse_tee(const char *s, int allow_auto, cloak_tee_type *t)
{
    if (allow_auto && !strcmp(s, "auto"))
        *t = CLOAK_TEE_AUTO;
    else if (!strcmp(s, "sgx"))
        *t = CLOAK_TEE_SGX;
    else if (!strcmp(s, "tdx"))
        *t = CLOAK_TEE_TDX;
    else if (!strcmp(s, "snp") || !strcmp(s, "sevsnp"))
        *t = CLOAK_TEE_SNP;
    else
        return -1;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: cloak <group> <command> [options]\n\n");
    const char *group = "";
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(group, commands[i].group)) {
            group = commands[i].group;
            fprintf(f, "%s:\n", group);
        }
        fprintf(f, "  cloak %s %-9s %s\n", commands[i].group, commands[i].name,
                commands[i].summary);
    }
    fprintf(f, "\nEach command takes --help. Exit codes: 0 success, 1 failed or refused, 2 usage "
               "error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("cloak 0.1.0\n");
        return CLI_OK;
    }
    int group_known = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].group)) continue;
        group_known = 1;
        if (argc >= 3 && !strcmp(argv[2], commands[i].name))
            return commands[i].run(argc - 2, argv + 2);
    }
    if (group_known && (argc < 3 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        usage(argc < 3 ? stderr : stdout);
        return argc < 3 ? CLI_USAGE : CLI_OK;
    }
    fprintf(stderr, "cloak: unknown command '%s%s%s'\n", argv[1], argc >= 3 ? " " : "",
            argc >= 3 ? argv[2] : "");
    usage(stderr);
    return CLI_USAGE;
}
