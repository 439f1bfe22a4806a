/* cloak enclave keygen -o FILE: create an RSA-3072 (exponent 3) enclave signing key. */
#include "cli.h"
#include "cloak/image.h"

#include <getopt.h>
#include <stdio.h>

#define CMD "enclave keygen"

static void help(void)
{
    printf("usage: cloak enclave keygen -o SIGNER.pem\n\n"
           "Create a new enclave signing key: RSA-3072 with public exponent 3 (as SGX\n"
           "requires of SIGSTRUCT keys), written as an unencrypted PKCS#8 PEM file with\n"
           "mode 0600. An existing file is never overwritten.\n\n"
           "The key's modulus decides the identity of every image it signs (mrsigner), so\n"
           "keep it private: anyone holding it can sign enclaves that verifiers will accept\n"
           "as yours.\n\n"
           "options:\n"
           "  -o, --output FILE   where to write the key (required; must not exist)\n"
           "  -h, --help          show this help\n\n"
           "exit codes: 0 key written, 1 failed (e.g. the file exists), 2 usage error\n");
}

int cmd_enclave_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    int c;
    optind = 0; /* GNU: full re-initialisation */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 'h':
            help();
            return CLI_OK;
        case ':':
            return cli_usage_error(CMD, "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!output) return cli_usage_error(CMD, "missing -o FILE");

    cloak_error why = {0};
    if (cloak_image_keygen(output, &why) != CLOAK_OK) return cli_fail(&why);
    fprintf(stderr, "wrote RSA-3072 enclave signing key (exponent 3) to %s (mode 0600)\n", output);
    return CLI_OK;
}
