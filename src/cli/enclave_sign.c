/* cloak enclave sign: turn an enclave shared object into a signed image. */
#include "cli.h"
#include "cloak/image.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#define CMD "enclave sign"

static void help(void)
{
    printf("usage: cloak enclave sign --key SIGNER.pem --product-id N --svn N [--debug]\n"
           "                          [--heap SIZE] IMAGE.so -o OUT\n\n"
           "Sign an enclave shared object into a signed image (docs/IMAGE-FORMAT.md): a\n"
           "manifest with the measurement (mrenclave) of the code and heap size, the signer\n"
           "(mrsigner), product id, security version and debug flag, signed with the key.\n\n"
           "options:\n"
           "  --key FILE          RSA-3072 signing key, PEM, exponent 3 or 65537 (required;\n"
           "                      create one with 'cloak enclave keygen')\n"
           "  --product-id N      product id, 0..65535 (required)\n"
           "  --svn N             security version number, 0..65535 (required); raise it\n"
           "                      with every security fix so verifiers can refuse old ones\n"
           "  --debug             mark the enclave as debug: it can be inspected, so\n"
           "                      verifiers should never release secrets to it\n"
           "  --heap SIZE         heap size, bytes with optional K, M or G suffix\n"
           "                      (default %uM; part of the measurement)\n"
           "  -o, --output FILE   where to write the signed image (required)\n"
           "  -h, --help          show this help\n\n"
           "exit codes: 0 signed, 1 failed (bad key, not an ELF object, I/O), 2 usage error\n",
           (unsigned)(CLOAK_IMAGE_DEFAULT_HEAP >> 20));
}

enum { OPT_KEY = 256, OPT_PRODUCT_ID, OPT_SVN, OPT_DEBUG, OPT_HEAP };

int cmd_enclave_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, OPT_KEY},
        {"product-id", required_argument, NULL, OPT_PRODUCT_ID},
        {"svn", required_argument, NULL, OPT_SVN},
        {"debug", no_argument, NULL, OPT_DEBUG},
        {"heap", required_argument, NULL, OPT_HEAP},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key = NULL, *output = NULL;
    int have_pid = 0, have_svn = 0, c;
    unsigned long long v;
    cloak_image_config cfg = {0};
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_KEY:
            key = optarg;
            break;
        case OPT_PRODUCT_ID:
            if (cli_parse_uint(optarg, 65535, &v))
                return cli_usage_error(CMD, "--product-id must be 0..65535, not '%s'", optarg);
            cfg.product_id = (uint16_t)v;
            have_pid = 1;
            break;
        case OPT_SVN:
            if (cli_parse_uint(optarg, 65535, &v))
                return cli_usage_error(CMD, "--svn must be 0..65535, not '%s'", optarg);
            cfg.svn = (uint16_t)v;
            have_svn = 1;
            break;
        case OPT_DEBUG:
            cfg.debug = 1;
            break;
        case OPT_HEAP:
            if (cli_parse_size(optarg, &v) || v == 0 || v > CLOAK_IMAGE_MAX_HEAP)
                return cli_usage_error(CMD,
                                       "--heap must be 1 byte .. 1T, digits with optional K, M "
                                       "or G suffix, not '%s'",
                                       optarg);
            cfg.heap = v;
            break;
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
    if (!key) return cli_usage_error(CMD, "missing --key FILE");
    if (!have_pid) return cli_usage_error(CMD, "missing --product-id N");
    if (!have_svn) return cli_usage_error(CMD, "missing --svn N");
    if (!output) return cli_usage_error(CMD, "missing -o OUT");
    if (optind >= argc) return cli_usage_error(CMD, "missing the enclave shared object IMAGE.so");
    if (argc - optind > 1)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
    const char *input = argv[optind];

    cloak_error why = {0};
    uint8_t *code = NULL, *img = NULL;
    size_t code_len = 0, img_len = 0;
    cloak_image *opened = NULL;
    int ret = CLI_FAIL;
    if (cloak_file_read(input, &code, &code_len, &why)) goto out;
    if (cloak_image_sign(code, code_len, key, &cfg, &img, &img_len, &why)) {
        cloak_error_wrap(&why, "signing %s", input);
        goto out;
    }
    if (cloak_file_write(output, img, img_len, 0644, &why)) goto out;
    if (cloak_image_open(img, img_len, &opened, &why)) goto out;
    const cloak_image_identity *id = cloak_image_id(opened);
    char hex[2 * CLOAK_MEASUREMENT_BYTES + 1];
    printf("signed %s -> %s\n", input, output);
    cloak_hex_write(hex, id->mrenclave, sizeof id->mrenclave);
    printf("mrenclave  %s\n", hex);
    cloak_hex_write(hex, id->mrsigner, sizeof id->mrsigner);
    printf("mrsigner   %s\n", hex);
    ret = CLI_OK;
out:
    if (ret != CLI_OK) cli_fail(&why);
    cloak_image_free(opened);
    free(code);
    free(img);
    return ret;
}
