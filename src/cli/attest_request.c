/* cloak attest request */
#include "cli.h"

#include "cloak/attest.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "attest request"

static void help(void)
{
    printf(
        "usage: cloak attest request --service URL [--ca FILE] --type sgx|tdx|snp --evidence FILE\n"
        "                            [--runtime-data FILE [--json-runtime]] [--nonce N]\n"
        "\n"
        "Send evidence to an attestation service (`cloak attest serve`, or Microsoft Azure\n"
        "Attestation) with POST URL/attest/{SgxEnclave|TdxVm|SevSnpVm}?api-version=%s\n"
        "and print the token it returns. The token is not verified here: verify it with\n"
        "`cloak attest verify-token --issuer URL -`.\n"
        "\n"
        "  --service URL      the service's base URL (https://...)\n"
        "  --ca FILE          CA certificates for the service (e.g. DIR/ca.pem of `cloak attest\n"
        "                     serve`); default the system roots\n"
        "  --type T           sgx (an SGX DCAP quote), tdx (a TDX quote) or snp (a SEV-SNP "
        "report)\n"
        "  --evidence FILE    the quote or report, raw bytes\n"
        "  --runtime-data F   runtime data bound to the evidence: the service checks that its\n"
        "                     SHA-256 is the start of the report data\n"
        "  --json-runtime     the runtime data is JSON (dataType \"JSON\": its members appear in\n"
        "                     the token's x-ms-runtime claim); default Binary\n"
        "  --nonce N          a nonce the service copies into the token\n"
        "\n"
        "The token is a bearer credential until it expires: it goes to stdout only.\n"
        "Exit codes: 0 token on stdout, 1 refused or failed (the reason on stderr), 2 usage.\n",
        CLOAK_ATTEST_API_VERSION);
}

int cmd_attest_request(int argc, char **argv)
{
    static const struct option opts[] = {{"service", required_argument, 0, 's'},
                                         {"ca", required_argument, 0, 'c'},
                                         {"type", required_argument, 0, 't'},
                                         {"evidence", required_argument, 0, 'e'},
                                         {"runtime-data", required_argument, 0, 'r'},
                                         {"json-runtime", no_argument, 0, 'J'},
                                         {"nonce", required_argument, 0, 'n'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *service = NULL, *ca = NULL, *ev_path = NULL, *rd_path = NULL, *nonce = NULL;
    cloak_tee_type type = CLOAK_TEE_AUTO;
    int rd_json = 0, c, ret = CLI_FAIL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:c:t:e:r:Jn:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            service = optarg;
            break;
        case 'c':
            ca = optarg;
            break;
        case 't':
            if (cli_parse_tee(optarg, 0, &type))
                return cli_usage_error(CMD, "--type is sgx, tdx or snp");
            break;
        case 'e':
            ev_path = optarg;
            break;
        case 'r':
            rd_path = optarg;
            break;
        case 'J':
            rd_json = 1;
            break;
        case 'n':
            nonce = optarg;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage_error(CMD, "unknown option");
        }
    }
    if (optind != argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!service) return cli_usage_error(CMD, "--service URL is required");
    if (type == CLOAK_TEE_AUTO) return cli_usage_error(CMD, "--type sgx|tdx|snp is required");
    if (!ev_path) return cli_usage_error(CMD, "--evidence FILE is required");
    if (rd_json && !rd_path)
        return cli_usage_error(CMD, "--json-runtime needs --runtime-data FILE");

    uint8_t *ev = NULL, *rd = NULL;
    size_t ev_len = 0, rd_len = 0;
    char *token = NULL;
    cloak_error why = {0};
    if (cloak_file_read(ev_path, &ev, &ev_len, &why) ||
        (rd_path && cloak_file_read(rd_path, &rd, &rd_len, &why)) ||
        cloak_attest_request(service, ca, type, ev, ev_len, rd, rd_len, rd_json, nonce, &token,
                             &why)) {
        ret = cli_fail(&why);
        goto out;
    }
    printf("%s\n", token);
    ret = CLI_OK;
out:
    if (token) cloak_free_secret(token, strlen(token));
    free(ev);
    free(rd);
    return ret;
}
