/* cloak vault serve: the Azure Key Vault-compatible key vault (docs/VAULT.md). */
#include "cli.h"

#include "cloak/vault_service.h"
#include "vault/wipe_alloc.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf("usage: cloak vault serve --listen ADDR --data DIR [--tls-cert F --tls-key F]\n"
           "                         [--trust-issuer URL]... [--ca FILE] [--url URL]\n"
           "                         [--auth-issuer URL]... [--audience AUD] [--tenant T]\n"
           "                         [--enclave FILE] [--workers N] [--access-log]\n"
           "\n"
           "A key vault speaking the Azure Key Vault keys REST API over HTTPS, with Secure Key\n"
           "Release. Keys are generated and used only inside the vault enclave.\n"
           "  --listen ADDR         HOST:PORT to listen on (e.g. 127.0.0.1:8443; port 0 = any)\n"
           "  --data DIR            vault.db, master.sealed, token.key, release.key, audit.log\n"
           "                        and (without --tls-cert) ca.pem, server.pem, server.key\n"
           "  --tls-cert/--tls-key  serve with this certificate and key instead\n"
           "  --trust-issuer URL    an attestation service whose tokens may release keys\n"
           "                        (its OpenID metadata and JWKS are fetched and cached);\n"
           "                        repeat for several\n"
           "  --ca FILE             a CA for reaching the issuers (e.g. the attestation\n"
           "                        service's DIR/ca.pem)\n"
           "  --url URL             the vault URL in every kid (default https://HOST:PORT)\n"
           "  --auth-issuer URL     also accept bearer tokens from this OIDC issuer (roles from\n"
           "                        its \"roles\" claim, aud must be --audience); repeatable\n"
           "  --audience AUD        the resource in the 401 challenge and the aud of OIDC\n"
           "                        tokens (default: the vault URL)\n"
           "  --tenant T            the tenant in the 401 challenge (default cloak)\n"
           "  --enclave FILE        the signed vault enclave image (default: the build's)\n"
           "  --workers N           request workers and enclave lanes (default 2)\n"
           "  --access-log          one JSON line per request on stderr\n"
           "Bearer tokens for local use: cloak vault token --data DIR --role ROLE --subject NAME\n"
           "Runs until SIGINT or SIGTERM, then finishes in-flight requests.\n"
           "Exit codes: 0 stopped cleanly, 1 failed to start, 2 bad command line.\n");
}

int cmd_vault_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},
        {"data", required_argument, 0, 'd'},
        {"tls-cert", required_argument, 0, 'c'},
        {"tls-key", required_argument, 0, 'k'},
        {"trust-issuer", required_argument, 0, 'T'},
        {"ca", required_argument, 0, 'C'},
        {"url", required_argument, 0, 'u'},
        {"auth-issuer", required_argument, 0, 'A'},
        {"audience", required_argument, 0, 'a'},
        {"tenant", required_argument, 0, 't'},
        {"enclave", required_argument, 0, 'e'},
        {"workers", required_argument, 0, 'w'},
        {"access-log", no_argument, 0, 'L'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    cloak_vault_service_config cfg = {0};
    const char *trust[CLOAK_VAULT_MAX_TRUSTED + 1] = {0}, *authi[CLOAK_VAULT_MAX_TRUSTED + 1] = {0};
    size_t ntrust = 0, nauth = 0;
    char host[256] = "127.0.0.1";
    int c, have_listen = 0;
    unsigned long long w;
    cloak_error e = {0};
    /* first: imported keys pass through OpenSSL, libevent and jansson buffers; make their
     * frees wipe (docs/VAULT-KEYOPS.md, "Custody test") */
    if (cloak_vault_wipe_alloc_install(&e)) return cli_fail(&e);
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:d:c:k:T:C:u:A:a:t:e:w:Lh", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (cli_parse_listen(optarg, host, sizeof host, &cfg.port))
                return cli_usage_error("vault serve", "--listen is HOST:PORT");
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
        case 'T':
            if (ntrust == CLOAK_VAULT_MAX_TRUSTED)
                return cli_usage_error("vault serve", "at most %d --trust-issuer",
                                       CLOAK_VAULT_MAX_TRUSTED);
            trust[ntrust++] = optarg;
            break;
        case 'C':
            cfg.ca_file = optarg;
            break;
        case 'u':
            cfg.base_url = optarg;
            break;
        case 'A':
            if (nauth == CLOAK_VAULT_MAX_TRUSTED)
                return cli_usage_error("vault serve", "at most %d --auth-issuer",
                                       CLOAK_VAULT_MAX_TRUSTED);
            authi[nauth++] = optarg;
            break;
        case 'a':
            cfg.audience = optarg;
            break;
        case 't':
            cfg.tenant = optarg;
            break;
        case 'e':
            cfg.enclave_path = optarg;
            break;
        case 'w':
            if (cli_parse_uint(optarg, 64, &w) || !w)
                return cli_usage_error("vault serve", "--workers is 1..64");
            cfg.workers = (unsigned)w;
            break;
        case 'L':
            cfg.access_log = stderr;
            break;
        case 'h':
            usage();
            return CLI_OK;
        default:
            return cli_usage_error("vault serve", "unknown option");
        }
    }
    if (optind != argc)
        return cli_usage_error("vault serve", "unexpected argument '%s'", argv[optind]);
    if (!have_listen) return cli_usage_error("vault serve", "--listen ADDR is required");
    if (!cfg.data_dir) return cli_usage_error("vault serve", "--data DIR is required");
    if (!cfg.tls_cert != !cfg.tls_key)
        return cli_usage_error("vault serve", "--tls-cert and --tls-key go together");
    cfg.host = host;
    cfg.trust_issuers = ntrust ? trust : NULL;
    cfg.auth_issuers = nauth ? authi : NULL;

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    cloak_vault_service *s = NULL;
    if (cloak_vault_service_new(&cfg, &s, &e)) return cli_fail(&e);
    if (*cloak_vault_service_ca(s)) printf("CA: %s\n", cloak_vault_service_ca(s));
    printf("vault: %s\nlistening on %s port %u\n", cloak_vault_service_url(s), host,
           (unsigned)cloak_vault_service_port(s));
    fflush(stdout);
    if (cloak_vault_service_start(s, &e)) {
        cloak_vault_service_free(s);
        return cli_fail(&e);
    }
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "cloak vault serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    cloak_vault_service_stop(s);
    cloak_vault_service_free(s);
    return CLI_OK;
}
