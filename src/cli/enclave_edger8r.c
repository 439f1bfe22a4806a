/* cloak enclave edger8r: generate typed host and enclave stubs from an EDL interface file. */
#include "cli.h"

#include "cloak/edl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "enclave edger8r"
#define MAX_SEARCH 32

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cloak enclave edger8r [--trusted | --untrusted] [--search-path DIR]...\n"
            "                             [--out-dir DIR] FILE.edl\n"
            "\n"
            "Generate stubs that marshal typed calls into cloak's byte messages:\n"
            "  NAME_u.h, NAME_u.c  host side: one function per ecall, ocall dispatchers,\n"
            "                      NAME_register_ocalls()\n"
            "  NAME_t.h, NAME_t.c  enclave side: checked ecall handlers, one function per\n"
            "                      ocall, NAME_register_ecalls()\n"
            "where NAME is FILE without its directory and .edl suffix. See docs/EDL.md.\n"
            "\n"
            "options:\n"
            "  --trusted           generate only the enclave side (_t.h, _t.c)\n"
            "  --untrusted         generate only the host side (_u.h, _u.c)\n"
            "  --search-path DIR   look for FILE.edl in DIR when it is not found as given\n"
            "                      (repeatable; searched in order)\n"
            "  --out-dir DIR       write the files to DIR (created if missing; default .)\n"
            "  -h, --help          show this help\n"
            "\n"
            "Exit codes: 0 generated, 1 failed (errors read file:line:col: message), 2 usage.\n");
}

/* FILE as given if it exists (or names a directory part), else the first DIR/FILE found. */
static char *find_edl(const char *file, const char *const *search, size_t nsearch)
{
    if (!access(file, F_OK) || strchr(file, '/') || !nsearch) return strdup(file);
    for (size_t i = 0; i < nsearch; i++) {
        size_t n = strlen(search[i]) + strlen(file) + 2;
        char *p = malloc(n);
        if (!p) return NULL;
        snprintf(p, n, "%s/%s", search[i], file);
        if (!access(p, F_OK)) return p;
        free(p);
    }
    return strdup(file); /* report the name as given */
}

/* "dir/name.edl" -> "name" (malloc'd) */
static char *edl_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    size_t n = strlen(s);
    if (n > 4 && !strcmp(s + n - 4, ".edl")) n -= 4;
    return strndup(s, n);
}

int cmd_enclave_edger8r(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"trusted", no_argument, NULL, 't'},
        {"untrusted", no_argument, NULL, 'u'},
        {"search-path", required_argument, NULL, 's'},
        {"out-dir", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *search[MAX_SEARCH], *outdir = ".";
    size_t nsearch = 0;
    int which = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
        case 'u':
            if (which) return cli_usage_error(CMD, "give at most one of --trusted and --untrusted");
            which = c == 't' ? CLOAK_EDL_GEN_TRUSTED : CLOAK_EDL_GEN_HOST;
            break;
        case 's':
            if (nsearch == MAX_SEARCH)
                return cli_usage_error(CMD, "more than %d --search-path options", MAX_SEARCH);
            search[nsearch++] = optarg;
            break;
        case 'o':
            if (!*optarg) return cli_usage_error(CMD, "--out-dir needs a directory");
            outdir = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        case ':':
            return cli_usage_error(CMD, "option '%s' needs an argument", argv[optind - 1]);
        default:
            return cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(CMD,
                               optind == argc ? "no EDL file given" : "give exactly one EDL file");
    if (!which) which = CLOAK_EDL_GEN_BOTH;

    int ret = CLI_FAIL;
    cloak_error why = {0};
    char *path = find_edl(argv[optind], search, nsearch), *base = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    cloak_edl *edl = NULL;
    if (!path || !(base = edl_basename(path))) {
        cloak_error_set(&why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    if (cloak_file_read(path, &text, &len, &why) != CLOAK_OK) goto out;
    if (cloak_edl_parse((const char *)text, len, path, &edl, &why) != CLOAK_OK) goto out;
    if (cloak_edl_generate(edl, base, outdir, which, &why) != CLOAK_OK) {
        cloak_error_wrap(&why, "generating stubs from %s", path);
        goto out;
    }
    ret = CLI_OK;
out:
    if (ret != CLI_OK) cli_fail(&why);
    cloak_edl_free(edl);
    free(text);
    free(base);
    free(path);
    return ret;
}
