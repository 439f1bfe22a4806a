/* cloak enclave info [--json] IMAGE: verify a signed image and print its identity. */
#include "cli.h"
#include "cloak/image.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#define CMD "enclave info"

static void help(void)
{
    printf("usage: cloak enclave info [--json] IMAGE\n\n"
           "Verify a signed enclave image (signature, signer, measurement) and print its\n"
           "identity: mrenclave, mrsigner, product_id, svn, debug, heap. A tampered or\n"
           "wrongly signed image is refused.\n\n"
           "options:\n"
           "  --json       print one JSON object with exactly those six keys (mrenclave and\n"
           "               mrsigner as lower-case hex, product_id, svn and heap as integers,\n"
           "               debug as a boolean)\n"
           "  -h, --help   show this help\n\n"
           "exit codes: 0 verified and printed, 1 refused or unreadable, 2 usage error\n");
}

static int print_json(const cloak_image_identity *id)
{
    char mre[2 * CLOAK_MEASUREMENT_BYTES + 1], mrs[2 * CLOAK_SIGNER_BYTES + 1];
    cloak_hex_write(mre, id->mrenclave, sizeof id->mrenclave);
    cloak_hex_write(mrs, id->mrsigner, sizeof id->mrsigner);
    /* heap <= CLOAK_IMAGE_MAX_HEAP (checked by open), so it fits a json_int_t */
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:b, s:I}", "mrenclave", mre, "mrsigner", mrs,
                          "product_id", (json_int_t)id->product_id, "svn", (json_int_t)id->svn,
                          "debug", id->debug ? 1 : 0, "heap", (json_int_t)id->heap);
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    int ret = CLI_FAIL;
    if (s) {
        printf("%s\n", s);
        ret = CLI_OK;
    } else {
        fprintf(stderr, "cloak: out of memory formatting JSON\n");
    }
    free(s);
    json_decref(o);
    return ret;
}

static int print_text(const char *path, const cloak_image_identity *id)
{
    char hex[2 * CLOAK_MEASUREMENT_BYTES + 1];
    printf("image       %s (signature, signer and measurement verified)\n", path);
    cloak_hex_write(hex, id->mrenclave, sizeof id->mrenclave);
    printf("mrenclave   %s\n", hex);
    cloak_hex_write(hex, id->mrsigner, sizeof id->mrsigner);
    printf("mrsigner    %s\n", hex);
    printf("product_id  %u\n", (unsigned)id->product_id);
    printf("svn         %u\n", (unsigned)id->svn);
    printf("debug       %s\n", id->debug ? "yes (inspectable: never release secrets to it)" : "no");
    printf("heap        %llu bytes\n", (unsigned long long)id->heap);
    printf("\nnote: under the simulation backend this identity is enforced by a process sandbox\n"
           "only; it protects nothing against root on the same machine.\n");
    return CLI_OK;
}

int cmd_enclave_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
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
    if (optind >= argc) return cli_usage_error(CMD, "missing the signed image to show");
    if (argc - optind > 1)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);

    cloak_error why = {0};
    cloak_image *img = NULL;
    if (cloak_image_open_file(argv[optind], &img, &why)) return cli_fail(&why);
    const cloak_image_identity *id = cloak_image_id(img);
    int ret = json ? print_json(id) : print_text(argv[optind], id);
    cloak_image_free(img);
    return ret;
}
