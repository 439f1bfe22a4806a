/* cloak evidence fetch-collateral: keep a collateral directory fresh from Intel PCS / a PCCS
 * and AMD KDS (cloak_evidence_fetch_collateral does the work and the verification).
 *
 * Trust: the API key is a secret. It is never taken from argv (anyone on the machine can read
 * a process's arguments): only from a file (--api-key-file) or CLOAK_PCS_API_KEY; it is wiped
 * after use and never printed. */
#include "cli.h"

#include "cloak/evidence.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ITEMS 64

static void help(FILE *f)
{
    fprintf(
        f,
        "usage: cloak evidence fetch-collateral --out DIR [--fmspc HEX]... [--evidence FILE]...\n"
        "           [--type sgx|tdx|snp]... [--product Milan|Genoa|Turin]...\n"
        "           [--pcs URL | --pccs URL] [--root-crl-url URL] [--kds URL]\n"
        "           [--api-key-file F] [--ca FILE] [--pck-ca processor|platform]\n"
        "           [--at TIME] [--json]\n"
        "\n"
        "Fetch DCAP collateral from Intel PCS (API v4) or a PCCS and SEV-SNP certificates from\n"
        "AMD KDS, verify each piece with the verifier's own checks (signatures to the built-in\n"
        "Intel root / AMD ARK, ids, dates, CRLs), and only then write it into DIR in the layout\n"
        "`cloak attest serve --collateral-dir DIR` and `cloak evidence verify --collateral`\n"
        "read: DIR/sgx-<fmspc>/, DIR/tdx-<fmspc>/ (split layout, swapped in as a whole) and\n"
        "DIR/snp-<Product>/ (cert_chain.pem, crl.der, vcek-<hwid>-<tcb>.der). What does not\n"
        "verify, or is older than valid collateral already there, is refused and the old files\n"
        "are kept.\n"
        "\n"
        "  --out DIR           the collateral directory (created if missing)\n"
        "  --fmspc HEX         an FMSPC (12 hex digits); repeat. SGX unless --type says tdx\n"
        "  --evidence FILE     an SGX/TDX quote (FMSPC and PCK CA from its PCK certificate) or\n"
        "                      an SEV-SNP report (its product's chain and CRL, and the VCEK of\n"
        "                      its chip at its REPORTED_TCB); binary or hex; repeat. Each is\n"
        "                      verified afterwards with what is on disk, for the report\n"
        "  --type T            only this type (sgx, tdx, snp); repeat. --type snp alone: the\n"
        "                      chains and CRLs of all three products\n"
        "  --product P         SEV-SNP product (Milan, Genoa, Turin); repeat. A version 2 report\n"
        "                      does not name its product: give exactly one\n"
        "  --pcs URL           Intel PCS base (default " CLOAK_PCS_URL_DEFAULT ")\n"
        "  --pccs URL          a PCCS instead (e.g. https://HOST:8081); the root CA CRL then\n"
        "                      comes from its /sgx/certification/v4/rootcacrl\n"
        "  --root-crl-url URL  the Intel SGX Root CA CRL (default\n"
        "                      " CLOAK_ROOT_CRL_URL_DEFAULT ")\n"
        "  --kds URL           AMD KDS base (default " CLOAK_KDS_URL_DEFAULT ")\n"
        "  --api-key-file F    a file holding the PCS subscription key "
        "(Ocp-Apim-Subscription-Key,\n"
        "                      sent to the PCS/PCCS only); or set CLOAK_PCS_API_KEY. Never on the\n"
        "                      command line\n"
        "  --ca FILE           trust this CA file for TLS (a PCCS with its own certificate);\n"
        "                      default: the system roots\n"
        "  --pck-ca C          which PCK CRL for a bare --fmspc (default: processor for SGX,\n"
        "                      platform for TDX; evidence says which itself)\n"
        "  --at TIME           verify as of TIME (RFC 3339 or @EPOCH) instead of now: only for\n"
        "                      replaying recorded collateral\n"
        "  --json              print the report as JSON\n"
        "\n"
        "Exit codes: 0 every item created, updated or unchanged; 1 an item failed or was refused\n"
        "(the others were still done); 2 usage.\n");
}

/* The key from a file (surrounding whitespace dropped) or the environment; *key is malloc'd. */
static cloak_err read_key(const char *file, char **key, size_t *cap, cloak_error *why)
{
    uint8_t *p = NULL;
    size_t n = 0;
    const char *env = getenv("CLOAK_PCS_API_KEY");
    *key = NULL;
    if (!file && (!env || !*env)) return CLOAK_OK;
    if (file) {
        cloak_err rc = cloak_file_read(file, &p, &n, why);
        if (rc) return cloak_error_wrap(why, "reading the API key file");
    } else {
        n = strlen(env);
        if (!(p = malloc(n + 1))) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        memcpy(p, env, n);
    }
    size_t a = 0, z = n;
    while (a < z && isspace(p[a]))
        a++;
    while (z > a && isspace(p[z - 1]))
        z--;
    char *k = malloc(z - a + 1);
    if (!k) {
        cloak_free_secret(p, n);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    }
    memcpy(k, p + a, z - a);
    k[z - a] = 0;
    cloak_free_secret(p, n);
    if (!k[0]) {
        free(k);
        return cloak_error_set(why, CLOAK_EINVAL, "the API key %s is empty",
                               file ? "file" : "in CLOAK_PCS_API_KEY");
    }
    *key = k;
    *cap = z - a + 1;
    return CLOAK_OK;
}

static void print_text(const json_t *report)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(report, "items"), i, it)
    {
        const char *kind = json_string_value(json_object_get(it, "kind"));
        const char *res = json_string_value(json_object_get(it, "result"));
        const char *path = json_string_value(json_object_get(it, "path"));
        const char *msg = json_string_value(json_object_get(it, "message"));
        const char *next = json_string_value(json_object_get(it, "tcb_info_next_update"));
        printf("%-9s %-9s %s", res ? res : "?", kind ? kind : "?", path ? path : "");
        if (next) printf("  (TCB info next update %s)", next);
        printf("\n");
        if (msg) printf("          %s\n", msg);
    }
    json_array_foreach(json_object_get(report, "evidence"), i, it)
    {
        const char *name = json_string_value(json_object_get(it, "name"));
        const char *st = json_string_value(json_object_get(it, "tcb_status"));
        const char *err = json_string_value(json_object_get(it, "error"));
        if (json_is_true(json_object_get(it, "verified")))
            printf("evidence  %s: verified with the fetched collateral, TCB status %s\n", name,
                   st ? st : "?");
        else
            printf("evidence  %s: does not verify with the fetched collateral: %s\n", name,
                   err ? err : "?");
    }
}

int cmd_evidence_fetch_collateral(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},      {"fmspc", required_argument, 0, 'f'},
        {"evidence", required_argument, 0, 'e'}, {"type", required_argument, 0, 't'},
        {"product", required_argument, 0, 'P'},  {"pcs", required_argument, 0, 'p'},
        {"pccs", required_argument, 0, 'c'},     {"root-crl-url", required_argument, 0, 'r'},
        {"kds", required_argument, 0, 'k'},      {"api-key-file", required_argument, 0, 'K'},
        {"ca", required_argument, 0, 'C'},       {"pck-ca", required_argument, 0, 'x'},
        {"at", required_argument, 0, 'a'},       {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *cmd = "evidence fetch-collateral";
    const char *fmspcs[MAX_ITEMS], *ev_paths[MAX_ITEMS], *products[MAX_ITEMS], *key_file = NULL;
    size_t nf = 0, ne = 0, np = 0;
    cloak_fetch_opts o;
    int as_json = 0, c, ret = CLI_FAIL;
    cloak_tee_type t;
    memset(&o, 0, sizeof o);
    /* refuse a key on the command line before getopt could take "--api-key" as an
     * abbreviation of --api-key-file (and print the key as a missing file's name) */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--api-key") || !strncmp(argv[i], "--api-key=", 10)) {
            fprintf(stderr,
                    "cloak %s: an API key is never taken on the command line (other users can "
                    "read it in the process list): put it in a file for --api-key-file, or in "
                    "CLOAK_PCS_API_KEY\n",
                    cmd);
            return CLI_USAGE;
        }
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:f:e:t:P:p:c:r:k:K:C:x:a:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.out_dir = optarg;
            break;
        case 'f':
            if (strlen(optarg) != 12 || strspn(optarg, "0123456789abcdefABCDEF") != 12)
                return cli_usage_error(cmd, "--fmspc wants 12 hex digits, not '%s'", optarg);
            /* fall through */
        case 'e':
        case 'P': {
            const char **arr = c == 'f' ? fmspcs : c == 'e' ? ev_paths : products;
            size_t *n = c == 'f' ? &nf : c == 'e' ? &ne : &np;
            if (*n >= MAX_ITEMS) return cli_usage_error(cmd, "at most %d of each", MAX_ITEMS);
            arr[(*n)++] = optarg;
            break;
        }
        case 't':
            if (cli_parse_tee(optarg, 0, &t))
                return cli_usage_error(cmd, "--type is sgx, tdx or snp, not '%s'", optarg);
            o.types |= t == CLOAK_TEE_SGX   ? CLOAK_FETCH_SGX
                       : t == CLOAK_TEE_TDX ? CLOAK_FETCH_TDX
                                            : CLOAK_FETCH_SNP;
            break;
        case 'p':
            o.pcs_url = optarg;
            break;
        case 'c':
            o.pccs_url = optarg;
            break;
        case 'r':
            o.root_crl_url = optarg;
            break;
        case 'k':
            o.kds_url = optarg;
            break;
        case 'K':
            key_file = optarg;
            break;
        case 'C':
            o.ca_file = optarg;
            break;
        case 'x':
            if (!strcmp(optarg, "processor"))
                o.pck_ca = CLOAK_PCK_CA_PROCESSOR;
            else if (!strcmp(optarg, "platform"))
                o.pck_ca = CLOAK_PCK_CA_PLATFORM;
            else
                return cli_usage_error(cmd, "--pck-ca is processor or platform");
            break;
        case 'a':
            if (cli_parse_time(optarg, &o.at) || o.at <= 0)
                return cli_usage_error(cmd, "--at wants RFC 3339 or @EPOCH, not '%s'", optarg);
            break;
        case 'j':
            as_json = 1;
            break;
        case 'h':
            help(stdout);
            return CLI_OK;
        default:
            return cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.out_dir) return cli_usage_error(cmd, "--out DIR is required");
    if (o.pcs_url && o.pccs_url) return cli_usage_error(cmd, "give --pcs or --pccs, not both");
    if (!nf && !ne && !np && !(o.types & CLOAK_FETCH_SNP))
        return cli_usage_error(cmd, "nothing to fetch: give --fmspc, --evidence, --product or "
                                    "--type snp");

    cloak_error why = {0};
    char *key = NULL;
    size_t key_cap = 0;
    json_t *report = NULL;
    cloak_fetch_evidence ev[MAX_ITEMS];
    uint8_t *bufs[MAX_ITEMS] = {0};
    if (read_key(key_file, &key, &key_cap, &why)) {
        ret = cli_fail(&why);
        goto out;
    }
    for (size_t i = 0; i < ne; i++) {
        if (cli_read_evidence(ev_paths[i], &bufs[i], &ev[i].len, &why)) {
            cloak_error_wrap(&why, "--evidence %s", ev_paths[i]);
            ret = cli_fail(&why);
            goto out;
        }
        ev[i].p = bufs[i];
        ev[i].name = ev_paths[i];
    }
    o.api_key = key;
    o.fmspcs = fmspcs;
    o.nfmspcs = nf;
    o.evidence = ev;
    o.nevidence = ne;
    o.snp_products = products;
    o.nsnp_products = np;
    cloak_err rc = cloak_evidence_fetch_collateral(&o, &report, &why);
    if (!report && rc == CLOAK_EINVAL) { /* the options themselves */
        ret = cli_usage_error(cmd, "%s", why.msg);
        goto out;
    }
    if (report) {
        if (as_json) {
            char *s = json_dumps(report, JSON_INDENT(2) | JSON_SORT_KEYS);
            if (s) printf("%s\n", s);
            free(s);
        } else
            print_text(report);
    }
    ret = rc ? cli_fail(&why) : CLI_OK;
out:
    if (key) cloak_free_secret(key, key_cap);
    for (size_t i = 0; i < ne; i++)
        free(bufs[i]);
    json_decref(report);
    return ret;
}
