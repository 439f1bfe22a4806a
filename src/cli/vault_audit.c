/* cloak vault audit verify: check a vault's hash-chained audit log (DIR/audit.log) against its
 * chain and DIR/audit.head, read-only (safe while the vault runs; a line being written at that
 * moment may show as torn). */
#include "cli.h"

#include "vault/audit.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "vault audit"

static void help(void)
{
    printf("usage: cloak vault audit verify DIR [--json]\n"
           "\n"
           "Verify the audit log of the vault whose data directory is DIR: every entry's hash,\n"
           "the chain from each entry to the next (so an edited, removed, inserted or reordered\n"
           "entry is found), and DIR/audit.head (so entries cut from the end are found too).\n"
           "Prints the number of entries verified and the hash of the last one (the head).\n"
           "\n"
           "  --json       print {\"ok\",\"entries\",\"head\",\"bad_line\",\"error\"} instead\n"
           "  -h, --help   this help\n"
           "\n"
           "Exit status: 0 the log verifies, 1 it does not (the first bad line is named) or\n"
           "cannot be read, 2 bad command line.\n");
}

int cmd_vault_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'h':
            help();
            return CLI_OK;
        default:
            return cli_usage_error(CMD, "unknown option");
        }
    }
    if (optind >= argc) return cli_usage_error(CMD, "missing the action: verify DIR");
    if (strcmp(argv[optind], "verify"))
        return cli_usage_error(CMD, "unknown action '%s' (the action is: verify DIR)",
                               argv[optind]);
    if (optind + 1 >= argc) return cli_usage_error(CMD, "verify: missing DIR");
    if (optind + 2 != argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 2]);
    const char *dir = argv[optind + 1];
    cloak_vault_audit_report rep;
    cloak_error why = {0};
    cloak_err rc = cloak_vault_audit_verify(dir, &rep, &why);
    if (json) {
        json_t *o =
            json_pack("{s:b,s:I,s:s,s:I}", "ok", rc == CLOAK_OK, "entries", (json_int_t)rep.entries,
                      "head", rep.head[0] ? rep.head : "", "bad_line", (json_int_t)rep.bad_line);
        if (o && rc) json_object_set_new(o, "error", json_string(why.msg));
        char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
        if (s) printf("%s\n", s);
        free(s);
        json_decref(o);
        if (rc) fprintf(stderr, "cloak: %s\n", why.msg);
        return rc ? CLI_FAIL : CLI_OK;
    }
    if (rc) {
        if (rc == CLOAK_EVERIFY)
            fprintf(stderr,
                    "cloak: audit log does NOT verify: %s\n(%llu entries verified before "
                    "line %llu)\n",
                    why.msg, (unsigned long long)rep.entries, (unsigned long long)rep.bad_line);
        else
            cli_fail(&why);
        return CLI_FAIL;
    }
    printf("verified %llu entries\nhead %s\n", (unsigned long long)rep.entries, rep.head);
    return CLI_OK;
}
