/* cloak vault token: print a local bearer token for `cloak vault serve`, signed (ES256) by the
 * data directory's token key. Whoever runs this can read DIR/token.key and so can mint tokens for
 * any role: it is an administrator's tool. The token goes to stdout only. */
#include "cli.h"

#include "vault/auth.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "vault token"
#define MAX_TTL (365ull * 86400ull)

static void help(void)
{
    printf("usage: cloak vault token --data DIR --role ROLE --subject NAME [--ttl DURATION]\n"
           "\n"
           "Print a bearer token for the vault whose data directory is DIR (`cloak vault serve\n"
           "--data DIR`): a JWT with iss %s, sub NAME and roles [ROLE], signed\n"
           "ES256 with DIR/token.key (created 0600 when missing). Send it as\n"
           "\"Authorization: Bearer <token>\".\n"
           "\n"
           "  --data DIR        the vault's data directory\n"
           "  --role ROLE       administrator, crypto-officer, crypto-user,\n"
           "                    crypto-service-encryption-user, crypto-service-release-user or\n"
           "                    reader (Azure's names such as \"Key Vault Crypto User\" work too)\n"
           "  --subject NAME    who the token names (recorded as the caller in the audit log)\n"
           "  --ttl DURATION    lifetime: seconds, or a number with s, m, h or d (90m, 8h, 7d);\n"
           "                    default 8h, at most 365d\n"
           "  -h, --help        this help\n"
           "\n"
           "Exit status: 0 printed, 1 failed, 2 bad command line.\n",
           CLOAK_VAULT_LOCAL_ISSUER);
}

/* "3600", "30s", "90m", "8h", "7d" -> seconds (1..MAX_TTL). */
static int parse_duration(const char *s, unsigned long long *out)
{
    if (!s || !isdigit((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10), mul = 1;
    if (errno || end == s) return -1;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        mul = 60, end++;
    else if (*end == 'h')
        mul = 3600, end++;
    else if (*end == 'd')
        mul = 86400, end++;
    if (*end || v == 0 || v > MAX_TTL / mul) return -1;
    *out = v * mul;
    return 0;
}

int cmd_vault_token(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},    {"role", required_argument, 0, 'r'},
        {"subject", required_argument, 0, 's'}, {"ttl", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0},
    };
    const char *data = NULL, *role = NULL, *subject = NULL;
    unsigned long long ttl = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:r:s:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 's':
            subject = optarg;
            break;
        case 't':
            if (parse_duration(optarg, &ttl))
                return cli_usage_error(CMD,
                                       "--ttl '%s': give seconds or a number with s, m, h or d "
                                       "(90m, 8h, 7d), at most 365d",
                                       optarg);
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage_error(CMD, "unknown option");
        }
    }
    if (optind != argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!data || !*data) return cli_usage_error(CMD, "--data DIR is required");
    if (!role) return cli_usage_error(CMD, "--role ROLE is required");
    if (!subject || !*subject) return cli_usage_error(CMD, "--subject NAME is required");
    if (!cloak_vault_role_perms(role, NULL))
        return cli_usage_error(CMD,
                               "unknown role '%s' (administrator, crypto-officer, crypto-user, "
                               "crypto-service-encryption-user, crypto-service-release-user, "
                               "reader)",
                               role);
    cloak_error why = {0};
    char *token = NULL;
    if (cloak_vault_token_issue(data, role, subject, (unsigned)ttl, &token, &why))
        return cli_fail(&why);
    printf("%s\n", token);
    free(token);
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}
