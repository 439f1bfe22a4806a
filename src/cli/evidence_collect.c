/* cloak evidence collect [--report-data HEX] [--root DIR] [--certs-dir DIR] -o FILE */
#include "cli.h"

#include "cloak/attester.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fprintf(
        f, "usage: cloak evidence collect [--report-data HEX] [--root DIR] [--provider NAME]\n"
           "                              [--vmpl N] [--tdreport] [--certs-dir DIR] -o FILE\n"
           "\n"
           "Inside a confidential VM, ask the guest kernel for attestation evidence whose\n"
           "report data is HEX (up to 64 bytes, zero-padded) and write it to FILE:\n"
           "an AMD SEV-SNP report or an Intel TDX quote. Interfaces, tried in this order:\n"
           "  configfs-tsm  /sys/kernel/config/tsm/report (Linux >= 6.7): SNP report or TDX quote\n"
           "  sev-guest     /dev/sev-guest: SNP report\n"
           "  tdx-guest     /dev/tdx_guest: only a TDREPORT, verifiable on this machine alone;\n"
           "                used only with --tdreport or --provider tdx-guest\n"
           "\n"
           "  --report-data HEX  report data, at most 128 hex digits (default: all zero)\n"
           "  --root DIR         look for the interfaces under DIR instead of / (testing)\n"
           "  --provider NAME    auto (default), configfs-tsm, sev-guest or tdx-guest\n"
           "  --vmpl N           SEV-SNP: the VMPL (0-3) to report at (default: the lowest\n"
           "                     the kernel allows)\n"
           "  --tdreport         allow falling back to /dev/tdx_guest's TDREPORT\n"
           "  --certs-dir DIR    SEV-SNP: write the host's certificates there as vcek.der,\n"
           "                     vlek.der, ask.der, ark.der (those it supplied)\n"
           "  -o, --output FILE  where to write the evidence\n"
           "\n"
           "Evidence proves nothing until verified: cloak evidence verify.\n"
           "Exit codes: 0 written, 1 failed (no TEE interface, kernel or host error), 2 usage "
           "error.\n");
}

static int parse_provider(const char *s, cloak_attester_provider *p)
{
    static const cloak_attester_provider all[] = {CLOAK_ATTESTER_AUTO, CLOAK_ATTESTER_CONFIGFS_TSM,
                                                  CLOAK_ATTESTER_SEV_GUEST,
                                                  CLOAK_ATTESTER_TDX_GUEST};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, cloak_attester_provider_name(all[i]))) {
            *p = all[i];
            return 0;
        }
    return -1;
}

static int write_certs(const char *dir, const cloak_evidence_blob *b, cloak_error *why)
{
    if (cloak_mkdirs(dir, 0755, why)) return -1;
    for (size_t i = 0; i < b->ncerts; i++) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/%s.der", dir,
                         cloak_snp_cert_kind_name(b->cert_kinds[i]));
        if (n < 0 || (size_t)n >= sizeof path) {
            cloak_error_set(why, CLOAK_EINVAL, "--certs-dir path is too long");
            return -1;
        }
        if (cloak_file_write(path, b->certs[i], b->cert_lens[i], 0644, why)) return -1;
    }
    return 0;
}

int cmd_evidence_collect(int argc, char **argv)
{
    static const struct option opts[] = {{"report-data", required_argument, 0, 'r'},
                                         {"root", required_argument, 0, 'R'},
                                         {"provider", required_argument, 0, 'p'},
                                         {"vmpl", required_argument, 0, 'v'},
                                         {"tdreport", no_argument, 0, 't'},
                                         {"certs-dir", required_argument, 0, 'c'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *rd_hex = NULL, *out = NULL, *certs_dir = NULL;
    cloak_attester_opts ao;
    unsigned long long vmpl = 0;
    int c;
    cloak_attester_opts_init(&ao);
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:R:p:v:tc:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            rd_hex = optarg;
            break;
        case 'R':
            ao.root = optarg;
            break;
        case 'p':
            if (parse_provider(optarg, &ao.provider))
                return cli_usage_error("evidence collect",
                                       "--provider must be auto, configfs-tsm, sev-guest or "
                                       "tdx-guest, not '%s'",
                                       optarg);
            break;
        case 'v':
            if (cli_parse_uint(optarg, 3, &vmpl))
                return cli_usage_error("evidence collect", "--vmpl must be 0, 1, 2 or 3");
            ao.vmpl = (int)vmpl;
            break;
        case 't':
            ao.allow_tdreport = 1;
            break;
        case 'c':
            certs_dir = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            help(stdout);
            return CLI_OK;
        default:
            return cli_usage_error("evidence collect", "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage_error("evidence collect", "unexpected argument '%s'", argv[optind]);
    if (!out) return cli_usage_error("evidence collect", "missing -o FILE");

    uint8_t rd[CLOAK_ATTESTER_REPORT_DATA_BYTES] = {0};
    if (rd_hex) {
        cloak_error e = {0};
        uint8_t *p = NULL;
        size_t n = 0;
        if (cloak_hex_decode(rd_hex, &p, &n, &e))
            return cli_usage_error("evidence collect", "--report-data: %s", e.msg);
        if (n > sizeof rd) {
            free(p);
            return cli_usage_error("evidence collect", "--report-data is %zu bytes; at most 64", n);
        }
        if (n) memcpy(rd, p, n);
        free(p);
    }

    cloak_error why = {0};
    cloak_attester *a = NULL;
    cloak_evidence_blob b = {0};
    int rc = CLI_FAIL;
    if (cloak_attester_open_opts(&ao, &a, &why) || cloak_attester_get_evidence(a, rd, &b, &why)) {
        cli_fail(&why);
        goto out;
    }
    if (cloak_file_write(out, b.evidence, b.evidence_len, 0644, &why)) {
        cli_fail(&why);
        goto out;
    }
    if (certs_dir && b.ncerts && write_certs(certs_dir, &b, &why)) {
        cli_fail(&why);
        goto out;
    }
    fprintf(stderr, "wrote %zu-byte %s (via %s) to %s\n", b.evidence_len,
            cloak_evidence_format_name(b.format), cloak_attester_provider_name(b.provider), out);
    if (b.format == CLOAK_EVIDENCE_TDX_TDREPORT)
        fprintf(stderr, "note: a TDREPORT is not a quote; only this machine can check it\n");
    if (b.tee == CLOAK_TEE_SNP && certs_dir) {
        if (b.ncerts) {
            fprintf(stderr, "wrote %zu certificate%s to %s:", b.ncerts, b.ncerts == 1 ? "" : "s",
                    certs_dir);
            for (size_t i = 0; i < b.ncerts; i++)
                fprintf(stderr, " %s.der", cloak_snp_cert_kind_name(b.cert_kinds[i]));
            fprintf(stderr, "\n");
        } else {
            fprintf(stderr, "note: the host supplied no certificates; get the VCEK and its chain "
                            "from the AMD KDS (kdsintf.amd.com)\n");
        }
    }
    rc = CLI_OK;
out:
    cloak_evidence_blob_free(&b);
    cloak_attester_free(a);
    return rc;
}
