/* cloak attest verify-token */
#include "cli.h"

#include "cloak/attest.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CMD "attest verify-token"

/* The token from stdin ("-"): a bearer credential is better kept out of argv. */
static char *read_stdin_token(size_t *len)
{
    size_t cap = CLOAK_ATTEST_MAX_TOKEN + 2, n = 0;
    char *b = malloc(cap);
    if (!b) return NULL;
    size_t r;
    while (n < cap - 1 && (r = fread(b + n, 1, cap - 1 - n, stdin)) > 0)
        n += r;
    b[n] = 0;
    /* surrounding whitespace (a trailing newline from echo or a file) is not part of a JWS */
    size_t s = 0;
    while (s < n && isspace((unsigned char)b[s]))
        s++;
    while (n > s && isspace((unsigned char)b[n - 1]))
        n--;
    memmove(b, b + s, n - s);
    b[n - s] = 0;
    *len = n - s;
    return b;
}

static void help(void)
{
    printf(
        "usage: cloak attest verify-token --issuer URL [--issuer URL]... [--ca FILE]\n"
        "                                 [--at RFC3339] [--json] TOKEN|-\n"
        "\n"
        "Verify an attestation token (a JWT from `cloak attest serve` or Microsoft Azure\n"
        "Attestation): its alg (RS256 only), its kid against the issuer's JWKS (fetched over\n"
        "HTTPS from URL/.well-known/openid-configuration and its jwks_uri, which must be on\n"
        "the issuer's origin), its signature, its iss, and exp/nbf/iat with 60 s slack.\n"
        "\n"
        "  --issuer URL   a trusted issuer (https://...; a trailing '/' is ignored); repeat\n"
        "                 for several (at most %d)\n"
        "  --ca FILE      CA certificates for reaching the issuer (e.g. the DIR/ca.pem that\n"
        "                 `cloak attest serve` created); default the system roots\n"
        "  --at TIME      verification time, RFC 3339 (2025-07-19T10:01:17Z) or @EPOCH;\n"
        "                 default now\n"
        "  --json         claims as one JSON object (default: one \"name value\" line each)\n"
        "  TOKEN | -      the token, or '-' to read it from stdin. A token is a bearer\n"
        "                 credential until it expires, and command-line arguments are visible\n"
        "                 to other users of this machine (ps, /proc): prefer '-'.\n"
        "\n"
        "Exit codes: 0 verified (claims on stdout), 1 refused (the reason on stderr), 2 usage.\n",
        CLOAK_ATTEST_MAX_ISSUERS);
}

static void print_claims(const json_t *claims, int as_json)
{
    if (as_json) {
        char *s = json_dumps(claims, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s) printf("%s\n", s);
        free(s);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)claims, key, v)
    {
        if (json_is_string(v))
            printf("%-28s %s\n", key, json_string_value(v));
        else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
            printf("%-28s %s\n", key, s ? s : "?");
            free(s);
        }
    }
}

int cmd_attest_verify_token(int argc, char **argv)
{
    static const struct option opts[] = {
        {"issuer", required_argument, 0, 'i'}, {"ca", required_argument, 0, 'c'},
        {"at", required_argument, 0, 'a'},     {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *issuers[CLOAK_ATTEST_MAX_ISSUERS + 1] = {0};
    size_t nissuers = 0;
    const char *ca = NULL;
    time_t at = time(NULL);
    int as_json = 0, c, ret = CLI_FAIL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:c:a:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (nissuers == CLOAK_ATTEST_MAX_ISSUERS)
                return cli_usage_error(CMD, "at most %d --issuer", CLOAK_ATTEST_MAX_ISSUERS);
            issuers[nissuers++] = optarg;
            break;
        case 'c':
            ca = optarg;
            break;
        case 'a':
            if (cli_parse_time(optarg, &at))
                return cli_usage_error(
                    CMD, "--at '%s' is not RFC 3339 (2025-07-19T10:01:17Z) or @EPOCH", optarg);
            break;
        case 'j':
            as_json = 1;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage_error(CMD, "unknown option");
        }
    }
    if (!nissuers) return cli_usage_error(CMD, "--issuer URL is required");
    if (optind != argc - 1)
        return cli_usage_error(CMD, "give exactly one TOKEN, or '-' to read it from stdin");
    const char *arg = argv[optind];
    char *owned = NULL;
    size_t len = 0;
    if (!strcmp(arg, "-")) {
        if (!(owned = read_stdin_token(&len))) {
            fprintf(stderr, "cloak: out of memory\n");
            return CLI_FAIL;
        }
        if (!len) {
            free(owned);
            return cli_usage_error(CMD, "no token on stdin");
        }
        arg = owned;
    } else
        len = strlen(arg);

    cloak_attest_rp_config cfg = {.issuers = issuers, .ca_file = ca};
    cloak_attest_rp *rp = NULL;
    json_t *claims = NULL;
    cloak_error why = {0};
    if (cloak_attest_rp_new(&cfg, &rp, &why) ||
        cloak_attest_rp_verify(rp, arg, len, at, &claims, &why)) {
        ret = cli_fail(&why);
        goto out;
    }
    print_claims(claims, as_json);
    ret = CLI_OK;
out:
    json_decref(claims);
    cloak_attest_rp_free(rp);
    if (owned) cloak_free_secret(owned, strlen(owned));
    return ret;
}
