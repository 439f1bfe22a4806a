/* cloak attest serve: the MAA-compatible attestation service (docs/ATTEST-SERVICE.md). */
#include "cli.h"

#include "cloak/attest_service.h"

#include <ctype.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(void)
{
    printf("usage: cloak attest serve --listen ADDR --data DIR [--tls-cert F --tls-key F]\n"
           "                          [--issuer URL] [--allow-sim] [--collateral-dir DIR]\n"
           "                          [--token-ttl DUR] [--policy-signer-cert PEM] [--access-log]\n"
           "\n"
           "An attestation service speaking the Microsoft Azure Attestation REST API over HTTPS.\n"
           "  --listen ADDR         HOST:PORT to listen on (e.g. 127.0.0.1:8443)\n"
           "  --data DIR            signing key, policies and (without --tls-cert) TLS material\n"
           "  --tls-cert/--tls-key  serve with this certificate and key instead of DIR/server.pem\n"
           "  --issuer URL          the token issuer (default https://HOST:PORT)\n"
           "  --allow-sim           also accept evidence of the local simulation platform\n"
           "                        (its tokens always carry \"x-cloak-sim\": true)\n"
           "  --collateral-dir DIR  DCAP collateral, one folder per FMSPC (verifier layout)\n"
           "  --token-ttl DUR       token lifetime: 90s, 30m, 8h (default), 1d\n"
           "  --policy-signer-cert PEM  isolated mode: only policies signed by one of these\n"
           "                        certificates (JWS with x5c) are accepted\n"
           "  --access-log          one JSON line per request on stderr\n"
           "  --at TIME             TEST ONLY: verify evidence as of TIME (RFC 3339 or @EPOCH)\n"
           "                        instead of the clock, for recorded samples\n"
           "Runs until SIGINT or SIGTERM, then finishes in-flight requests.\n");
}

int cmd_attest_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},
        {"data", required_argument, 0, 'd'},
        {"tls-cert", required_argument, 0, 'c'},
        {"tls-key", required_argument, 0, 'k'},
        {"issuer", required_argument, 0, 'i'},
        {"allow-sim", no_argument, 0, 's'},
        {"collateral-dir", required_argument, 0, 'C'},
        {"token-ttl", required_argument, 0, 't'},
        {"at", required_argument, 0, 'a'},
        {"access-log", no_argument, 0, 'L'},
        {"policy-signer-cert", required_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    cloak_attest_service_config cfg = {0};
    char host[256] = "127.0.0.1";
    int c, have_listen = 0;
    cloak_error e = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:d:c:k:i:sC:t:a:LP:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (cli_parse_listen(optarg, host, sizeof host, &cfg.port))
                return cli_usage_error("attest serve", "--listen is HOST:PORT");
            have_listen = 1;
            break;
        case 'd':
            cfg.data_dir = optarg;
            break;
        case 'c':
            cfg.tls_cert = optarg;
            break;
        case 'k':
            cfg.tls_key = optarg;
            break;
        case 'i':
            cfg.issuer = optarg;
            break;
        case 's':
            cfg.allow_sim = 1;
            break;
        case 'C':
            cfg.collateral_dir = optarg;
            break;
        case 't':
            if (cli_parse_duration(optarg, &cfg.token_ttl))
                return cli_usage_error("attest serve",
                                       "--token-ttl is a duration: 90s, 30m, 8h, 1d");
            break;
        case 'a':
            if (cli_parse_time(optarg, &cfg.test_time))
                return cli_usage_error("attest serve", "--at is RFC 3339 UTC or @EPOCH");
            break;
        case 'L':
            cfg.access_log = stderr;
            break;
        case 'P':
            cfg.policy_signers = optarg;
            break;
        case 'h':
            usage();
            return CLI_OK;
        default:
            return cli_usage_error("attest serve", "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage_error("attest serve", "unexpected argument '%s'", argv[optind]);
    if (!have_listen) return cli_usage_error("attest serve", "--listen ADDR is required");
    if (!cfg.data_dir) return cli_usage_error("attest serve", "--data DIR is required");
    if (!cfg.tls_cert != !cfg.tls_key)
        return cli_usage_error("attest serve", "--tls-cert and --tls-key go together");
    cfg.host = host;

    /* Block the stop signals in every thread; this thread waits for them with sigwait and
     * then stops the server from ordinary (not signal-handler) context. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    cloak_attest_service *s = NULL;
    if (cloak_attest_service_new(&cfg, &s, &e)) return cli_fail(&e);
    if (cfg.test_time)
        fprintf(stderr,
                "cloak attest serve: TEST MODE: evidence is verified as of --at, not the clock\n");
    if (*cloak_attest_service_ca(s)) printf("CA: %s\n", cloak_attest_service_ca(s));
    printf("issuer: %s\nlistening on %s port %u\n", cloak_attest_service_issuer(s), host,
           (unsigned)cloak_attest_service_port(s));
    fflush(stdout);
    if (cloak_attest_service_start(s, &e)) {
        cloak_attest_service_free(s);
        return cli_fail(&e);
    }
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "cloak attest serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    cloak_attest_service_stop(s);
    cloak_attest_service_free(s);
    return CLI_OK;
}
