/* cloak enclave quote IMAGE [--report-data HEX] -o FILE */
#include "cli.h"

#include "cloak/enclave.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fprintf(f,
            "usage: cloak enclave quote IMAGE [--report-data HEX] [--debug] [--platform-dir DIR] "
            "-o FILE\n"
            "\n"
            "Load a signed enclave image through the runtime (refusing a tampered or wrongly\n"
            "signed one), ask it for an Intel SGX DCAP ECDSA quote v3 whose REPORTDATA is HEX\n"
            "(up to 64 bytes, zero-padded), and write the quote to FILE.\n"
            "\n"
            "  --report-data HEX   report data, at most 128 hex digits (default: all zero); the\n"
            "                      enclave must allow its host to choose report data\n"
            "  --debug             launch a debug-signed image (required for one)\n"
            "  --platform-dir DIR  simulation platform directory (default $CLOAK_PLATFORM_DIR,\n"
            "                      else $XDG_DATA_HOME/cloak/platform)\n"
            "  -o, --output FILE   where to write the quote\n"
            "\n"
            "The simulation backend's quotes chain to this machine's development root, not to\n"
            "Intel: verify them with --allow-sim. They protect nothing against root here.\n"
            "Exit codes: 0 written, 1 refused or failed, 2 usage error.\n");
}

int cmd_enclave_quote(int argc, char **argv)
{
    static const struct option opts[] = {{"report-data", required_argument, 0, 'r'},
                                         {"output", required_argument, 0, 'o'},
                                         {"debug", no_argument, 0, 'd'},
                                         {"platform-dir", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *rd_hex = NULL, *out = NULL, *platform = NULL;
    int debug = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:o:dp:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rd_hex = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'd':
            debug = 1;
            break;
        case 'p':
            platform = optarg;
            break;
        case 'h':
            help(stdout);
            return CLI_OK;
        default:
            return cli_usage_error("enclave quote", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("enclave quote", "expected one IMAGE argument");
    if (!out) return cli_usage_error("enclave quote", "missing -o FILE");
    cloak_error why = {0};
    uint8_t *rd = NULL, *quote = NULL;
    size_t rd_len = 0, qlen = 0;
    if (rd_hex) {
        if (cloak_hex_decode(rd_hex, &rd, &rd_len, &why))
            return cli_usage_error("enclave quote", "--report-data: %s", why.msg);
        if (rd_len > CLOAK_REPORT_DATA_BYTES) {
            free(rd);
            return cli_usage_error("enclave quote", "--report-data is %zu bytes; at most 64",
                                   rd_len);
        }
    }
    cloak_enclave_opts o = {.flags = debug ? CLOAK_ENCLAVE_FLAG_DEBUG : 0,
                            .platform_dir = platform};
    cloak_enclave *e = NULL;
    int rc = CLI_FAIL;
    if (cloak_enclave_create(argv[optind], &o, &e, &why)) {
        cloak_error_wrap(&why, "cannot load %s", argv[optind]);
        cli_fail(&why);
        goto out;
    }
    if (cloak_enclave_get_quote(e, rd, rd_len, &quote, &qlen, &why) ||
        cloak_file_write(out, quote, qlen, 0644, &why)) {
        cli_fail(&why);
        goto out;
    }
    fprintf(stderr, "wrote %zu-byte SGX DCAP quote v3 to %s\n", qlen, out);
    rc = CLI_OK;
out:
    cloak_enclave_free(e);
    free(quote);
    free(rd);
    return rc;
}
