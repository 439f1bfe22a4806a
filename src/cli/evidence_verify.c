/* cloak evidence verify / show */
#include "cli.h"

#include "cloak/evidence.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CERTS 8

static void print_claims(const json_t *claims, int as_json)
{
    if (as_json) {
        char *s = json_dumps(claims, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s) printf("%s\n", s);
        free(s);
        return;
    }
    const char *key;
    json_t *v;
    void *iter = json_object_iter((json_t *)claims);
    /* one "key: value" line each; nested objects compact */
    for (; iter; iter = json_object_iter_next((json_t *)claims, iter)) {
        key = json_object_iter_key(iter);
        v = json_object_iter_value(iter);
        if (json_is_string(v))
            printf("%-22s %s\n", key, json_string_value(v));
        else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
            printf("%-22s %s\n", key, s ? s : "?");
            free(s);
        }
    }
}

static void verify_help(FILE *f)
{
    fprintf(
        f,
        "usage: cloak evidence verify [--type auto|sgx|tdx|snp] [--collateral DIR|FILE]\n"
        "                             [--tcb-info FILE --tcb-signing-chain PEM]\n"
        "                             [--cert FILE]... [--at RFC3339] [--allow-sim] [--json]\n"
        "                             [policy options] FILE\n"
        "\n"
        "Verify attestation evidence -- an SGX or TDX DCAP quote, or an SEV-SNP report -- against\n"
        "the built-in vendor roots (Intel SGX Root CA; AMD ARKs for Milan, Genoa, Turin) and "
        "print\n"
        "its normalised claims (docs/CLAIMS.md).\n"
        "\n"
        "  --type T            evidence type (default: detected from the bytes)\n"
        "  --collateral P      DCAP collateral: a directory in the split layout or a dcap-qvl\n"
        "                      *_collateral.json; without it TCB status is \"Unknown\"\n"
        "  --tcb-info FILE     instead of --collateral: a PCS TCB info response\n"
        "                      ({\"tcbInfo\":...,\"signature\":\"hex\"}). Only the PLATFORM TCB "
        "level\n"
        "                      (and TDX module) is appraised: no QE identity, no CRLs, no\n"
        "                      revocation; claims say \"collateral_scope\": \"tcb-info-only\"\n"
        "  --tcb-signing-chain PEM  with --tcb-info (required): its issuer chain, the PCS\n"
        "                      TCB-Info-Issuer-Chain (\"Intel SGX TCB Signing\", then the root);\n"
        "                      the signing certificate must be valid at --at\n"
        "  --cert FILE         SNP: the VCEK or VLEK, and optionally ASK/ASVK/ARK (PEM or DER;\n"
        "                      repeat; any order)\n"
        "  --at TIME           verification time, RFC 3339 (2025-07-19T10:01:17Z) or @EPOCH;\n"
        "                      default now\n"
        "  --allow-sim         also trust this machine's development root (simulated quotes)\n"
        "  --platform-dir DIR  the simulation platform for --allow-sim\n"
        "  --json              claims as JSON\n"
        "policy (each refusal has its own reason):\n"
        "  --deny-debug        refuse debug enclaves / guests\n"
        "  --report-data HEX   expected report data (prefix, zero-padded to 64 bytes)\n"
        "  --measurement HEX   expected MRENCLAVE / MRTD / SNP measurement\n"
        "  --signer HEX        expected MRSIGNER (SGX)\n"
        "  --product-id N      expected ISVPRODID (SGX)\n"
        "  --min-svn N         minimum ISVSVN (SGX) / GUEST_SVN (SNP)\n"
        "\n"
        "Exit codes: 0 verified (claims on stdout), 1 rejected (one reason on stderr), 2 usage.\n");
}

int cmd_evidence_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"type", required_argument, 0, 't'},
                                         {"collateral", required_argument, 0, 'c'},
                                         {"cert", required_argument, 0, 'C'},
                                         {"at", required_argument, 0, 'a'},
                                         {"allow-sim", no_argument, 0, 's'},
                                         {"platform-dir", required_argument, 0, 'p'},
                                         {"json", no_argument, 0, 'j'},
                                         {"deny-debug", no_argument, 0, 'D'},
                                         {"report-data", required_argument, 0, 'r'},
                                         {"measurement", required_argument, 0, 'm'},
                                         {"signer", required_argument, 0, 'S'},
                                         {"product-id", required_argument, 0, 'P'},
                                         {"min-svn", required_argument, 0, 'v'},
                                         {"help", no_argument, 0, 'h'},
                                         {"tcb-info", required_argument, 0, 'T'},
                                         {"tcb-signing-chain", required_argument, 0, 'K'},
                                         {0, 0, 0, 0}};
    cloak_tee_type type = CLOAK_TEE_AUTO;
    const char *coll_path = NULL, *tcb_info_path = NULL, *tcb_chain_path = NULL, *platform = NULL,
               *certs[MAX_CERTS];
    const char *rd_hex = NULL, *meas_hex = NULL, *signer_hex = NULL;
    size_t ncerts = 0;
    time_t at = time(NULL);
    int allow_sim = 0, as_json = 0, c;
    cloak_policy pol;
    cloak_policy_init(&pol);
    pol.allow_debug = 1;
    unsigned long long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:c:C:a:sp:jDr:m:S:P:v:hT:K:", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (cli_parse_tee(optarg, 1, &type))
                return cli_usage_error("evidence verify", "--type is auto, sgx, tdx or snp");
            break;
        case 'c':
            coll_path = optarg;
            break;
        case 'T':
            tcb_info_path = optarg;
            break;
        case 'K':
            tcb_chain_path = optarg;
            break;
        case 'C':
            if (ncerts == MAX_CERTS)
                return cli_usage_error("evidence verify", "at most %d --cert files", MAX_CERTS);
            certs[ncerts++] = optarg;
            break;
        case 'a':
            if (cli_parse_time(optarg, &at))
                return cli_usage_error("evidence verify",
                                       "--at '%s' is not RFC 3339 (2025-07-19T10:01:17Z) or @EPOCH",
                                       optarg);
            break;
        case 's':
            allow_sim = 1;
            break;
        case 'p':
            platform = optarg;
            break;
        case 'j':
            as_json = 1;
            break;
        case 'D':
            pol.allow_debug = 0;
            break;
        case 'r':
            rd_hex = optarg;
            break;
        case 'm':
            meas_hex = optarg;
            break;
        case 'S':
            signer_hex = optarg;
            break;
        case 'P':
            if (cli_parse_uint(optarg, 65535, &v))
                return cli_usage_error("evidence verify", "--product-id is 0..65535");
            pol.product_id = (int)v;
            break;
        case 'v':
            if (cli_parse_uint(optarg, 0xffffffffull, &v))
                return cli_usage_error("evidence verify", "--min-svn is a number");
            pol.min_svn = (int)v;
            break;
        case 'h':
            verify_help(stdout);
            return CLI_OK;
        default:
            return cli_usage_error("evidence verify", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("evidence verify", "expected one evidence FILE");
    if (coll_path && tcb_info_path)
        return cli_usage_error(
            "evidence verify",
            "--collateral and --tcb-info are mutually exclusive: give the full "
            "collateral, or a TCB info alone for a platform-level-only appraisal");
    if (tcb_info_path && !tcb_chain_path)
        return cli_usage_error("evidence verify",
                               "--tcb-info needs --tcb-signing-chain PEM (the PCS "
                               "TCB-Info-Issuer-Chain: \"Intel SGX TCB Signing\", then the root)");
    if (tcb_chain_path && !tcb_info_path)
        return cli_usage_error("evidence verify",
                               "--tcb-signing-chain is only used with --tcb-info");
    pol.allow_sim = allow_sim;

    int rc = CLI_FAIL;
    cloak_error why = {0};
    uint8_t *ev = NULL, *rd = NULL, *meas = NULL, *signer = NULL, *certbuf[MAX_CERTS] = {0};
    size_t ev_len = 0, certlen[MAX_CERTS] = {0}, l;
    cloak_trust *trust = NULL;
    cloak_collateral *coll = NULL;
    json_t *claims = NULL;
    if ((rd_hex && cloak_hex_decode(rd_hex, &rd, &pol.report_data_len, &why)) ||
        (meas_hex && cloak_hex_decode(meas_hex, &meas, &pol.measurement_len, &why)) ||
        (signer_hex && cloak_hex_decode(signer_hex, &signer, &pol.signer_len, &why))) {
        rc = cli_usage_error("evidence verify", "%s", why.msg);
        goto out;
    }
    pol.report_data = rd;
    pol.measurement = meas;
    pol.signer = signer;
    if (cli_read_evidence(argv[optind], &ev, &ev_len, &why)) goto fail;
    for (size_t i = 0; i < ncerts; i++)
        if (cloak_file_read(certs[i], &certbuf[i], &l, &why))
            goto fail;
        else
            certlen[i] = l;
    if (cloak_trust_new(allow_sim ? CLOAK_TRUST_ALLOW_SIM : 0, platform, &trust, &why)) goto fail;
    if (coll_path && cloak_collateral_load(coll_path, &coll, &why)) goto fail;
    if (tcb_info_path && cloak_collateral_load_tcb_info(tcb_info_path, tcb_chain_path, &coll, &why))
        goto fail;
    cloak_verify_opts vo = {.type = type,
                            .trust = trust,
                            .collateral = coll,
                            .certs = (const uint8_t *const *)certbuf,
                            .cert_lens = certlen,
                            .ncerts = ncerts,
                            .at = at};
    if (cloak_evidence_verify(ev, ev_len, &vo, &claims, &why)) goto fail;
    if (cloak_claims_check(claims, &pol, &why)) goto fail;
    print_claims(claims, as_json);
    rc = CLI_OK;
    goto out;
fail:
    fprintf(stderr, "cloak: rejected: %s\n", why.msg[0] ? why.msg : "verification failed");
out:
    json_decref(claims);
    cloak_collateral_free(coll);
    cloak_trust_free(trust);
    for (size_t i = 0; i < ncerts; i++)
        free(certbuf[i]);
    free(ev);
    free(rd);
    free(meas);
    free(signer);
    return rc;
}

int cmd_evidence_show(int argc, char **argv)
{
    static const struct option opts[] = {{"type", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    cloak_tee_type type = CLOAK_TEE_AUTO;
    int as_json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:jh", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (cli_parse_tee(optarg, 1, &type))
                return cli_usage_error("evidence show", "--type is auto, sgx, tdx or snp");
            break;
        case 'j':
            as_json = 1;
            break;
        case 'h':
            printf(
                "usage: cloak evidence show [--type auto|sgx|tdx|snp] [--json] FILE\n\n"
                "Print every parsed field of a DCAP quote or SEV-SNP report WITHOUT verifying it.\n"
                "Exit codes: 0 parsed, 1 malformed, 2 usage.\n");
            return CLI_OK;
        default:
            return cli_usage_error("evidence show", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("evidence show", "expected one evidence FILE");
    cloak_error why = {0};
    uint8_t *ev = NULL;
    size_t n = 0;
    json_t *fields = NULL;
    int rc = CLI_FAIL;
    if (cli_read_evidence(argv[optind], &ev, &n, &why) ||
        cloak_evidence_show(ev, n, type, &fields, &why)) {
        cli_fail(&why);
        goto out;
    }
    print_claims(fields, as_json);
    rc = CLI_OK;
out:
    json_decref(fields);
    free(ev);
    return rc;
}
