/* cloak attest rotate-key */
#include "cli.h"

#include "cloak/attest_service.h"

#include <getopt.h>
#include <stdio.h>

#define CMD "attest rotate-key"

static void help(void)
{
    printf("usage: cloak attest rotate-key --data DIR\n"
           "\n"
           "Rotate the token signing key of an attestation service's data directory: a new\n"
           "RSA-2048 key and self-signed certificate become current; the previous key is kept\n"
           "(DIR/retired-KID.key and .pem, retirement time in DIR/retired-keys.json) and stays\n"
           "in the service's JWKS (/certs) for one token lifetime (--token-ttl of `cloak attest\n"
           "serve`), so tokens issued before the rotation verify until they expire.\n"
           "A running service signs with the new key once restarted.\n"
           "\n"
           "  --data DIR   the service's data directory (as `cloak attest serve --data`)\n"
           "  -h, --help   this help\n"
           "\n"
           "Exit status: 0 rotated, 1 failed, 2 bad command line.\n");
}

int cmd_attest_rotate_key(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *data = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data = optarg;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage_error(CMD, "unknown option");
        }
    }
    if (!data || !*data) return cli_usage_error(CMD, "--data DIR is required");
    if (optind != argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    cloak_error why = {0};
    if (cloak_attest_rotate_key(data, &why)) return cli_fail(&why);
    printf("rotated the signing key of %s (restart the service to sign with it)\n", data);
    return CLI_OK;
}
