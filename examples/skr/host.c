/*
 * skr-host: release a vault key into the SKR example enclave and print what the enclave
 * decrypts with it.
 *
 * usage: skr-host --attest URL --attest-ca FILE --vault URL --vault-ca FILE
 *                 --release-ca FILE --token-file FILE --key NAME
 *                 --alg ALG --ciphertext-json FILE [--aad-hex HEX]
 *                 [--version V] [--enc ENC] [--enclave PATH] [--platform-dir DIR]
 *
 *   --ciphertext-json  the vault's encrypt answer, as `cloak vault key encrypt NAME --alg ALG
 *                      --json` prints it: {"kid","value","iv"?,"tag"?} (base64url). The key
 *                      version to release is the kid's, unless --version says otherwise.
 *   --alg              what the vault encrypted with: A128/192/256GCM (oct keys) or
 *                      RSA-OAEP / RSA-OAEP-256 (RSA keys).
 *   --release-ca       the vault's release certificate (a vault's DATA_DIR/release.pem) or
 *                      the CA that issued it: the enclave accepts only a release JWS whose x5c
 *                      chains to it. Choosing it is the operator's job (pinning).
 *   --token-file       the vault bearer token (role crypto-officer or
 *                      crypto-service-release-user); never taken on the command line
 *                      (--token is refused without echoing its value).
 *   --vault / --vault-ca default to CLOAK_VAULT_URL / CLOAK_VAULT_CA, as the cloak CLI.
 *
 * Exit status: 0 decrypted, 1 refused or failed (the reason on stderr), 2 bad command line.
 * Trust: this host never sees the released key; it prints the plaintext the enclave returns.
 */
#include "skr_host.h"

#include "cloak/jose.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *msg)
{
    if (msg) fprintf(stderr, "skr-host: %s\n", msg);
    fprintf(msg ? stderr : stdout,
            "usage: skr-host --attest URL --attest-ca FILE --vault URL --vault-ca FILE\n"
            "                --release-ca FILE --token-file FILE --key NAME\n"
            "                --alg ALG --ciphertext-json FILE [--aad-hex HEX]\n"
            "                [--version V] [--enc ENC] [--enclave PATH] [--platform-dir DIR]\n");
    return msg ? 2 : 0;
}

/* One base64url member of the encrypt answer (absent = NULL, 0). */
static int member(const json_t *j, const char *name, uint8_t **out, size_t *len)
{
    const json_t *v = json_object_get(j, name);
    *out = NULL;
    *len = 0;
    if (!v) return 0;
    cloak_error e = {0};
    if (!json_is_string(v) ||
        cloak_base64url_decode(json_string_value(v), json_string_length(v), out, len, &e)) {
        fprintf(stderr, "skr-host: --ciphertext-json: \"%s\" is not base64url\n", name);
        return -1;
    }
    return 0;
}

/* The version of a kid ".../keys/NAME/VERSION" when NAME is `key`. */
static int kid_version(const char *kid, const char *key, char *ver, size_t cap)
{
    const char *k = strstr(kid, "/keys/");
    if (!k) return -1;
    k += 6;
    size_t kl = strlen(key);
    if (strncmp(k, key, kl) || k[kl] != '/' || !k[kl + 1] || strchr(k + kl + 1, '/')) return -1;
    snprintf(ver, cap, "%s", k + kl + 1);
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        A_ATTEST = 1,
        A_ATTEST_CA,
        A_VAULT,
        A_VAULT_CA,
        A_REL_CA,
        A_TOKEN,
        A_KEY,
        A_ALG,
        A_CT,
        A_AAD,
        A_VERSION,
        A_ENC,
        A_ENCLAVE,
        A_PLAT,
        A_HELP,
        A_TOKEN_ARGV
    };
    static const struct option opts[] = {
        {"attest", 1, 0, A_ATTEST},
        {"attest-ca", 1, 0, A_ATTEST_CA},
        {"vault", 1, 0, A_VAULT},
        {"vault-ca", 1, 0, A_VAULT_CA},
        {"release-ca", 1, 0, A_REL_CA},
        {"token-file", 1, 0, A_TOKEN},
        {"key", 1, 0, A_KEY},
        {"alg", 1, 0, A_ALG},
        {"ciphertext-json", 1, 0, A_CT},
        {"aad-hex", 1, 0, A_AAD},
        {"version", 1, 0, A_VERSION},
        {"enc", 1, 0, A_ENC},
        {"enclave", 1, 0, A_ENCLAVE},
        {"platform-dir", 1, 0, A_PLAT},
        {"help", 0, 0, A_HELP},
        {"token", 1, 0, A_TOKEN_ARGV},
        {0, 0, 0, 0},
    };
    cloak_skrx_flow f = {.progress = stdout,
                         .vault_url = getenv("CLOAK_VAULT_URL"),
                         .vault_ca = getenv("CLOAK_VAULT_CA")};
    const char *token_file = NULL, *ct_file = NULL, *aad_hex = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case A_ATTEST:
            f.attest_url = optarg;
            break;
        case A_ATTEST_CA:
            f.attest_ca = optarg;
            break;
        case A_VAULT:
            f.vault_url = optarg;
            break;
        case A_VAULT_CA:
            f.vault_ca = optarg;
            break;
        case A_REL_CA:
            f.release_ca_file = optarg;
            break;
        case A_TOKEN:
            token_file = optarg;
            break;
        case A_KEY:
            f.key = optarg;
            break;
        case A_ALG:
            f.ct.alg = optarg;
            break;
        case A_CT:
            ct_file = optarg;
            break;
        case A_AAD:
            aad_hex = optarg;
            break;
        case A_VERSION:
            f.version = optarg;
            break;
        case A_ENC:
            f.enc = optarg;
            break;
        case A_ENCLAVE:
            f.image = optarg;
            break;
        case A_PLAT:
            f.platform_dir = optarg;
            break;
        case A_HELP:
            return usage(NULL);
        case A_TOKEN_ARGV: /* exact "--token", so that getopt does not take it for --token-file */
            return usage("the token is not taken from the command line (other users can read "
                         "it there): use --token-file FILE");
        default:
            return usage("unknown option or missing value");
        }
    }
    if (optind != argc) return usage("unexpected argument");
    if (!f.attest_url || !f.vault_url || !f.release_ca_file || !token_file || !f.key || !f.ct.alg ||
        !ct_file)
        return usage("--attest, --vault, --release-ca, --token-file, --key, --alg and "
                     "--ciphertext-json are required");

    cloak_error e = {0};
    uint8_t *tok = NULL, *ctj = NULL, *ct = NULL, *iv = NULL, *tag = NULL, *aad = NULL, *pt = NULL;
    size_t tl = 0, cjl = 0, aad_len = 0, pl = 0;
    json_t *j = NULL;
    char ver[128];
    int rc = 1;
    if (cloak_file_read(token_file, &tok, &tl, &e) || cloak_file_read(ct_file, &ctj, &cjl, &e)) {
        fprintf(stderr, "skr-host: %s\n", e.msg);
        goto out;
    }
    while (tl && (tok[tl - 1] == '\n' || tok[tl - 1] == '\r'))
        tok[--tl] = 0;
    char *token = malloc(tl + 1);
    if (!token) goto out;
    memcpy(token, tok, tl);
    token[tl] = 0;
    f.token = token;
    if (!(j = json_loadb((const char *)ctj, cjl, 0, NULL)) || !json_is_object(j)) {
        fprintf(stderr, "skr-host: --ciphertext-json %s is not a JSON object\n", ct_file);
        goto out_token;
    }
    if (member(j, "value", &ct, &f.ct.ct_len) || member(j, "iv", &iv, &f.ct.iv_len) ||
        member(j, "tag", &tag, &f.ct.tag_len))
        goto out_token;
    if (!ct) {
        fprintf(stderr, "skr-host: --ciphertext-json %s has no \"value\"\n", ct_file);
        goto out_token;
    }
    f.ct.ct = ct;
    f.ct.iv = iv;
    f.ct.tag = tag;
    if (aad_hex && cloak_hex_decode(aad_hex, &aad, &aad_len, &e)) {
        rc = usage("--aad-hex is not hex");
        goto out_token;
    }
    f.ct.aad = aad;
    f.ct.aad_len = aad_len;
    const char *kid = json_string_value(json_object_get(j, "kid"));
    if (!f.version && kid) {
        if (kid_version(kid, f.key, ver, sizeof ver)) {
            fprintf(stderr, "skr-host: the ciphertext was made by %s, not by key %s\n", kid, f.key);
            goto out_token;
        }
        f.version = ver;
    }
    if (cloak_skrx_run(&f, &pt, &pl, &e)) {
        fprintf(stderr, "skr-host: %s\n", e.msg);
        goto out_token;
    }
    int text = 1;
    for (size_t i = 0; i < pl; i++)
        if (pt[i] < 0x20 || pt[i] > 0x7e) text = 0;
    char *h = text ? NULL : cloak_hex_encode(pt, pl);
    printf("5. plaintext from the enclave: %s%.*s%s\n", text ? "\"" : "hex ",
           text ? (int)pl : (int)(2 * pl), text ? (const char *)pt : (h ? h : "?"),
           text ? "\"" : "");
    free(h);
    rc = 0;
out_token:
    cloak_free_secret(token, tl + 1);
out:
    if (tok) cloak_free_secret(tok, tl);
    if (pt) cloak_free_secret(pt, pl);
    json_decref(j);
    free(ctj);
    free(ct);
    free(iv);
    free(tag);
    free(aad);
    return rc;
}
