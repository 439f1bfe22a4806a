/* cloak vault key encrypt|decrypt|wrap|unwrap|sign|verify|release: key operations done by the
 * vault (the key never leaves it) and Secure Key Release, through include/cloak/vault.h.
 *
 * Trust: bytes in and out may be secrets (plaintext, unwrapped keys, released keys): they are
 * read from --in or stdin, written to --out (0600) or stdout, never put on the command line,
 * and wiped after use. The attestation token for a release is read from a file for the same
 * reason. A release answer is verified against its own certificate and, with --release-cert,
 * against the vault's pinned release certificate before the key in it is unwrapped. */
#include "vault_key.h"

#include "cloak/jose.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define O_ALG (VK_O_FIRST_SUB + 20)
#define O_VERSION (VK_O_FIRST_SUB + 21)
#define O_IN (VK_O_FIRST_SUB + 22)
#define O_OUT (VK_O_FIRST_SUB + 23)
#define O_IV (VK_O_FIRST_SUB + 24)
#define O_AAD (VK_O_FIRST_SUB + 25)
#define O_TAG (VK_O_FIRST_SUB + 26)
#define O_DIGEST (VK_O_FIRST_SUB + 27)
#define O_SIG (VK_O_FIRST_SUB + 28)
#define O_SIG_HEX (VK_O_FIRST_SUB + 29)
#define O_TARGET (VK_O_FIRST_SUB + 30)
#define O_NONCE (VK_O_FIRST_SUB + 31)
#define O_ENC (VK_O_FIRST_SUB + 32)
#define O_KEK (VK_O_FIRST_SUB + 33)
#define O_RELCERT (VK_O_FIRST_SUB + 34)

typedef struct {
    cloak_vault_crypt_params p;
    const char *in, *out, *sig_file;
    uint8_t *iv, *aad, *tag, *digest, *sig;
    size_t digest_len, sig_len;
    /* release */
    const char *target, *nonce, *enc, *kek, *relcert;
} ops_st;

static void ops_st_free(ops_st *s)
{
    free(s->iv);
    free(s->aad);
    free(s->tag);
    free(s->digest);
    free(s->sig);
}

static int ops_opt(vk_ctx *x, int c, const char *arg, void *stp)
{
    ops_st *s = stp;
    switch (c) {
    case O_ALG:
        s->p.alg = arg;
        return -1;
    case O_VERSION:
        s->p.version = arg;
        return -1;
    case O_IN:
        s->in = arg;
        return -1;
    case O_OUT:
        s->out = arg;
        return -1;
    case O_IV:
        return vk_hex_opt(x, "--iv", arg, &s->iv, &s->p.iv_len);
    case O_AAD:
        return vk_hex_opt(x, "--aad-hex", arg, &s->aad, &s->p.aad_len);
    case O_TAG:
        return vk_hex_opt(x, "--tag", arg, &s->tag, &s->p.tag_len);
    case O_DIGEST:
        return vk_hex_opt(x, "--digest-hex", arg, &s->digest, &s->digest_len);
    case O_SIG:
        s->sig_file = arg;
        return -1;
    case O_SIG_HEX:
        return vk_hex_opt(x, "--sig-hex", arg, &s->sig, &s->sig_len);
    case O_TARGET:
        s->target = arg;
        return -1;
    case O_NONCE:
        s->nonce = arg;
        return -1;
    case O_ENC:
        s->enc = arg;
        return -1;
    case O_KEK:
        s->kek = arg;
        return -1;
    case O_RELCERT:
        s->relcert = arg;
        return -1;
    }
    return cli_usage_error(x->cmd, "unknown option");
}

/* ---- encrypt, decrypt, wrap, unwrap ---- */
typedef enum { K_ENCRYPT, K_DECRYPT, K_WRAP, K_UNWRAP } crypt_kind;
static const char *const kind_name[] = {"encrypt", "decrypt", "wrap", "unwrap"};

static void crypt_help_for(crypt_kind k)
{
    static const char *const what[] = {
        "Encrypt bytes with a vault key: RSA-OAEP, RSA-OAEP-256, RSA1_5 (RSA keys);\n"
        "A128GCM/A192GCM/A256GCM (the vault picks the iv; the iv and tag go to stderr, or into\n"
        "the --json answer), A128CBC.../A128CBCPAD... with --iv (oct keys).",
        "Decrypt bytes with a vault key (the algorithm, and for AES-GCM the --iv and --tag that\n"
        "encrypt gave; for CBC the --iv).",
        "Wrap a key (bytes) with a vault key: RSA-OAEP, RSA-OAEP-256, RSA1_5; A128KW/A192KW/\n"
        "A256KW, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD.",
        "Unwrap a wrapped key with the vault key that wrapped it.",
    };
    printf("usage: cloak vault key %s NAME --alg ALG [--version V] [--in FILE] [--out FILE]%s\n"
           "\n%s\n\n"
           "  --alg ALG        the algorithm (required)\n"
           "  --version V      the key version (default the latest)\n"
           "  --in FILE        the input bytes (default standard input)\n"
           "  --out FILE       the result bytes, written 0600 (default standard output)\n",
           kind_name[k], k <= K_DECRYPT ? "\n       [--iv HEX] [--aad-hex HEX] [--tag HEX]" : "",
           what[k]);
    if (k <= K_DECRYPT)
        printf("  --iv HEX         the iv (AES-CBC; AES-GCM decrypt)\n"
               "  --aad-hex HEX    additional authenticated data (AES-GCM)\n"
               "  --tag HEX        the authentication tag (AES-GCM decrypt)\n");
    printf("  --json           print the vault's answer ({\"kid\",\"value\":base64url,...})\n"
           "\n" VK_COMMON_HELP);
}

static void help_encrypt(void)
{
    crypt_help_for(K_ENCRYPT);
}
static void help_decrypt(void)
{
    crypt_help_for(K_DECRYPT);
}
static void help_wrap(void)
{
    crypt_help_for(K_WRAP);
}
static void help_unwrap(void)
{
    crypt_help_for(K_UNWRAP);
}

/* The vault's answer shape for --json. */
static int print_result_json(const cloak_vault_crypt_result *r)
{
    json_t *o = json_object();
    char *v = cloak_base64url_encode(r->value, r->value_len);
    if (r->kid) json_object_set_new(o, "kid", json_string(r->kid));
    json_object_set_new(o, "value", json_string(v ? v : ""));
    if (v) cloak_free_secret(v, strlen(v));
    if (r->iv) {
        char *s = cloak_base64url_encode(r->iv, r->iv_len);
        json_object_set_new(o, "iv", json_string(s ? s : ""));
        free(s);
    }
    if (r->tag) {
        char *s = cloak_base64url_encode(r->tag, r->tag_len);
        json_object_set_new(o, "tag", json_string(s ? s : ""));
        free(s);
    }
    int rc = vk_print_json(o);
    json_decref(o);
    return rc;
}

static const struct option crypt_opts[] = {
    {"alg", required_argument, 0, O_ALG}, {"version", required_argument, 0, O_VERSION},
    {"in", required_argument, 0, O_IN},   {"out", required_argument, 0, O_OUT},
    {"iv", required_argument, 0, O_IV},   {"aad-hex", required_argument, 0, O_AAD},
    {"tag", required_argument, 0, O_TAG}, {0, 0, 0, 0},
};

static int crypt_cmd(int argc, char **argv, crypt_kind k, void (*help)(void))
{
    char cmd[32];
    snprintf(cmd, sizeof cmd, "vault key %s", kind_name[k]);
    vk_ctx x = {.cmd = cmd};
    ops_st s = {0};
    cloak_vault_client *c = NULL;
    cloak_vault_crypt_result res = {0};
    cloak_error why = {0};
    uint8_t *in = NULL;
    size_t il = 0;
    int r = vk_parse(&x, argc, argv, crypt_opts, ops_opt, &s, help);
    if (r < 0) r = vk_want_args(&x, 1, "NAME");
    if (r < 0 && !s.p.alg)
        r = cli_usage_error(cmd, "--alg ALG is required (e.g. RSA-OAEP-256, A256GCM, A256KW)");
    if (r < 0 && k >= K_WRAP && (s.iv || s.aad || s.tag))
        r = cli_usage_error(cmd, "--iv, --aad-hex and --tag are for encrypt and decrypt");
    if (r < 0 && vk_read_input(s.in, &in, &il, &why)) r = cli_fail(&why);
    if (r < 0) r = vk_connect(&x, &c);
    if (r >= 0) goto out;
    s.p.iv = s.iv;
    s.p.aad = s.aad;
    s.p.tag = s.tag;
    cloak_err rc = k == K_ENCRYPT   ? cloak_vault_encrypt(c, x.args[0], &s.p, in, il, &res, &why)
                   : k == K_DECRYPT ? cloak_vault_decrypt(c, x.args[0], &s.p, in, il, &res, &why)
                   : k == K_WRAP    ? cloak_vault_wrap(c, x.args[0], &s.p, in, il, &res, &why)
                                    : cloak_vault_unwrap(c, x.args[0], &s.p, in, il, &res, &why);
    if (rc) {
        r = vk_fail(&x, c, &why);
    } else if (x.json) {
        r = print_result_json(&res);
    } else if (vk_write_output(s.out, res.value, res.value_len, 1, &why)) {
        r = cli_fail(&why);
    } else {
        if (res.iv || res.tag) {
            char *ivh = res.iv ? cloak_hex_encode(res.iv, res.iv_len) : NULL;
            char *tgh = res.tag ? cloak_hex_encode(res.tag, res.tag_len) : NULL;
            fprintf(stderr, "cloak: decrypt it with%s%s%s%s\n", ivh ? " --iv " : "", ivh ? ivh : "",
                    tgh ? " --tag " : "", tgh ? tgh : "");
            free(ivh);
            free(tgh);
        }
        r = CLI_OK;
    }
out:
    if (in) cloak_free_secret(in, il);
    cloak_vault_crypt_result_clear(&res);
    cloak_vault_client_free(c);
    ops_st_free(&s);
    return r;
}

int vk_cmd_encrypt(int argc, char **argv)
{
    return crypt_cmd(argc, argv, K_ENCRYPT, help_encrypt);
}
int vk_cmd_decrypt(int argc, char **argv)
{
    return crypt_cmd(argc, argv, K_DECRYPT, help_decrypt);
}
int vk_cmd_wrap(int argc, char **argv)
{
    return crypt_cmd(argc, argv, K_WRAP, help_wrap);
}
int vk_cmd_unwrap(int argc, char **argv)
{
    return crypt_cmd(argc, argv, K_UNWRAP, help_unwrap);
}

/* ---- sign, verify ---- */
static void help_sign(void)
{
    printf("usage: cloak vault key sign NAME --alg ALG [--version V] [--in FILE | --digest-hex "
           "HEX]\n"
           "                            [--out FILE]\n"
           "\n"
           "Sign with a vault key. The vault signs a digest: by default the message from --in\n"
           "(or standard input) is hashed here with the algorithm's hash (SHA-256 for RS256,\n"
           "PS256, ES256, ES256K; SHA-384 for *384; SHA-512 for *512); --digest-hex gives the\n"
           "digest itself. The signature (ECDSA as r||s) is written as bytes.\n"
           "\n"
           "  --alg ALG          RS256/384/512, PS256/384/512 (RSA keys); ES256, ES256K, ES384,\n"
           "                     ES512 (EC keys by curve)\n"
           "  --version V        the key version (default the latest)\n"
           "  --in FILE          the message (default standard input)\n"
           "  --digest-hex HEX   the digest instead of a message\n"
           "  --out FILE         the signature (default standard output)\n"
           "  --json             print the vault's answer ({\"kid\",\"value\":base64url})\n"
           "\n" VK_COMMON_HELP);
}

static void help_verify(void)
{
    printf("usage: cloak vault key verify NAME --alg ALG [--version V]\n"
           "                              [--in FILE | --digest-hex HEX] (--sig FILE | --sig-hex "
           "HEX)\n"
           "\n"
           "Ask the vault whether a signature is valid for a message (hashed here as for sign)\n"
           "or a digest. Prints \"valid\" (exit 0) or \"invalid\" (exit 1).\n"
           "\n"
           "  --alg ALG          as for sign\n"
           "  --version V        the key version (default the latest)\n"
           "  --in FILE          the message (default standard input)\n"
           "  --digest-hex HEX   the digest instead of a message\n"
           "  --sig FILE         the signature bytes\n"
           "  --sig-hex HEX      the signature in hex\n"
           "  --json             print the vault's answer ({\"value\":true|false})\n"
           "\n" VK_COMMON_HELP);
}

static const struct option sign_opts[] = {
    {"alg", required_argument, 0, O_ALG},
    {"version", required_argument, 0, O_VERSION},
    {"in", required_argument, 0, O_IN},
    {"out", required_argument, 0, O_OUT},
    {"digest-hex", required_argument, 0, O_DIGEST},
    {"sig", required_argument, 0, O_SIG},
    {"sig-hex", required_argument, 0, O_SIG_HEX},
    {0, 0, 0, 0},
};

static int sign_cmd(int argc, char **argv, int verify)
{
    const char *cmd = verify ? "vault key verify" : "vault key sign";
    vk_ctx x = {.cmd = cmd};
    ops_st s = {0};
    cloak_vault_client *c = NULL;
    cloak_vault_crypt_result res = {0};
    cloak_error why = {0};
    uint8_t md[64], *msg = NULL;
    size_t ml = 0, mdl = 0;
    int valid = 0;
    int r = vk_parse(&x, argc, argv, sign_opts, ops_opt, &s, verify ? help_verify : help_sign);
    if (r < 0) r = vk_want_args(&x, 1, "NAME");
    if (r < 0 && !s.p.alg)
        r = cli_usage_error(cmd, "--alg ALG is required (e.g. RS256, PS256, ES256)");
    if (r < 0 && s.digest && s.in)
        r = cli_usage_error(cmd, "--in (a message) and --digest-hex do not go together");
    if (r < 0 && !verify && (s.sig || s.sig_file))
        r = cli_usage_error(cmd, "--sig and --sig-hex are for verify");
    if (r < 0 && verify && !s.sig == !s.sig_file)
        r = cli_usage_error(cmd, "give the signature with --sig FILE or --sig-hex HEX");
    if (r < 0 && verify && s.out) r = cli_usage_error(cmd, "--out is for sign");
    if (r < 0 && s.sig_file && cloak_file_read(s.sig_file, &s.sig, &s.sig_len, &why))
        r = cli_fail(&why);
    if (r < 0 && !s.digest) {
        if (vk_read_input(s.in, &msg, &ml, &why) ||
            cloak_vault_digest(s.p.alg, msg, ml, md, &mdl, &why))
            r = why.code == CLOAK_EINVAL ? cli_usage_error(cmd, "%s", why.msg) : cli_fail(&why);
    }
    if (r < 0) r = vk_connect(&x, &c);
    if (r >= 0) goto out;
    const uint8_t *d = s.digest ? s.digest : md;
    size_t dl = s.digest ? s.digest_len : mdl;
    if (verify) {
        if (cloak_vault_verify(c, x.args[0], &s.p, d, dl, s.sig, s.sig_len, &valid, &why)) {
            r = vk_fail(&x, c, &why);
        } else if (x.json) {
            json_t *o = json_pack("{s:b}", "value", valid);
            r = vk_print_json(o);
            json_decref(o);
            if (r == CLI_OK && !valid) r = CLI_FAIL;
        } else {
            printf("%s\n", valid ? "valid" : "invalid: the signature does not verify");
            r = fflush(stdout) ? CLI_FAIL : valid ? CLI_OK : CLI_FAIL;
        }
    } else if (cloak_vault_sign(c, x.args[0], &s.p, d, dl, &res, &why)) {
        r = vk_fail(&x, c, &why);
    } else if (x.json) {
        r = print_result_json(&res);
    } else {
        r = vk_write_output(s.out, res.value, res.value_len, 1, &why) ? cli_fail(&why) : CLI_OK;
    }
out:
    free(msg);
    cloak_vault_crypt_result_clear(&res);
    cloak_vault_client_free(c);
    ops_st_free(&s);
    return r;
}

int vk_cmd_sign(int argc, char **argv)
{
    return sign_cmd(argc, argv, 0);
}
int vk_cmd_verify(int argc, char **argv)
{
    return sign_cmd(argc, argv, 1);
}

/* ---- release ---- */
static void help_release(void)
{
    printf("usage: cloak vault key release NAME --target FILE [--version V] [--nonce N] [--enc "
           "ENC]\n"
           "                               [--kek FILE --out FILE [--release-cert FILE]]\n"
           "\n"
           "Secure Key Release: send an attestation token (e.g. from `cloak attest request`)\n"
           "whose claims satisfy the key's release policy; the vault answers a signed JWS\n"
           "holding the key wrapped for the first RSA key (kid, key_ops encrypt) in the token's\n"
           "x-ms-runtime.keys. Without --kek the JWS is printed (or written to --out). With\n"
           "--kek the JWS is verified and the key unwrapped with the KEK's private key into\n"
           "--out: PKCS#8 DER for RSA and EC keys, the raw bytes for oct keys.\n"
           "\n"
           "  --target FILE       the attestation token (\"-\" = standard input)\n"
           "  --version V         the key version (default the latest)\n"
           "  --nonce N           a nonce; the vault accepts each one once\n"
           "  --enc ENC           CKM_RSA_AES_KEY_WRAP (default), RSA_AES_KEY_WRAP_256 or\n"
           "                      RSA_AES_KEY_WRAP_384\n"
           "  --kek FILE          the KEK's private key (PEM) to unwrap the released key\n"
           "  --out FILE          where the JWS (or, with --kek, the key; written 0600) goes\n"
           "  --release-cert FILE the vault's release certificate or public key (PEM, e.g.\n"
           "                      DATA_DIR/release.pem): the JWS must be signed by it\n"
           "  --json              print the vault's answer ({\"value\":JWS})\n"
           "\n" VK_COMMON_HELP);
}

static EVP_PKEY *load_pem_key(const char *path, int priv, cloak_error *why)
{
    BIO *b = BIO_new_file(path, "r");
    EVP_PKEY *k = NULL;
    if (!b) {
        cloak_error_openssl(why, CLOAK_EIO, path);
        return NULL;
    }
    if (priv) {
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"");
    } else {
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (x) {
            k = X509_get_pubkey(x);
            X509_free(x);
        } else if (BIO_reset(b) == 0) {
            k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        }
    }
    BIO_free(b);
    if (!k)
        cloak_error_openssl(why, CLOAK_EINVAL,
                            priv ? "reading --kek (an unencrypted PEM private key)"
                                 : "reading --release-cert (a PEM certificate or public key)");
    return k;
}

static int release_write(vk_ctx *x, ops_st *s, const char *jws, cloak_error *why)
{
    cloak_vault_release rel = {0};
    EVP_PKEY *kek = NULL, *pin = NULL;
    uint8_t *key = NULL;
    size_t kl = 0;
    int r = CLI_FAIL;
    if (!(kek = load_pem_key(s->kek, 1, why)) ||
        (s->relcert && !(pin = load_pem_key(s->relcert, 0, why))) ||
        cloak_vault_release_open(jws, pin, &rel, why) ||
        cloak_vault_release_unwrap(&rel, kek, &key, &kl, why) ||
        cloak_file_write(s->out, key, kl, 0600, why)) {
        r = cli_fail(why);
        goto out;
    }
    if (x->json) {
        json_t *o = json_pack("{s:s}", "value", jws);
        r = vk_print_json(o);
        json_decref(o);
    } else {
        const char *kid =
            json_string_value(json_object_get(json_object_get(rel.bundle, "key"), "kid"));
        printf("released %s\n  for KEK %s (%s)\n  %zu key bytes written to %s\n",
               kid ? kid : x->args[0], rel.kek_kid, rel.enc, kl, s->out);
        if (!s->relcert)
            printf("  (the release JWS was checked against its own certificate only; pass "
                   "--release-cert DATA_DIR/release.pem to pin the vault's)\n");
        r = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
    }
out:
    if (key) cloak_free_secret(key, kl);
    cloak_vault_release_clear(&rel);
    EVP_PKEY_free(kek);
    EVP_PKEY_free(pin);
    return r;
}

int vk_cmd_release(int argc, char **argv)
{
    static const struct option opts[] = {
        {"target", required_argument, 0, O_TARGET},
        {"version", required_argument, 0, O_VERSION},
        {"nonce", required_argument, 0, O_NONCE},
        {"enc", required_argument, 0, O_ENC},
        {"kek", required_argument, 0, O_KEK},
        {"out", required_argument, 0, O_OUT},
        {"release-cert", required_argument, 0, O_RELCERT},
        {0, 0, 0, 0},
    };
    vk_ctx x = {.cmd = "vault key release"};
    ops_st s = {0};
    cloak_vault_client *c = NULL;
    cloak_error why = {0};
    uint8_t *tok = NULL;
    size_t tl = 0;
    char *jws = NULL;
    int r = vk_parse(&x, argc, argv, opts, ops_opt, &s, help_release);
    if (r < 0) r = vk_want_args(&x, 1, "NAME");
    if (r < 0 && !s.target)
        r = cli_usage_error(x.cmd, "--target FILE (an attestation token) is required");
    if (r < 0 && s.kek && !s.out)
        r = cli_usage_error(x.cmd, "--kek needs --out FILE for the released key");
    if (r < 0 && s.relcert && !s.kek)
        r = cli_usage_error(x.cmd, "--release-cert is checked when unwrapping: pass --kek too");
    if (r < 0) {
        if (vk_read_input(s.target, &tok, &tl, &why)) {
            r = cli_fail(&why);
        } else {
            while (tl && (tok[tl - 1] == '\n' || tok[tl - 1] == '\r' || tok[tl - 1] == ' '))
                tok[--tl] = 0;
            if (!tl || memchr(tok, 0, tl))
                r = cli_usage_error(x.cmd, "--target: the file holds no token");
        }
    }
    if (r < 0) r = vk_connect(&x, &c);
    if (r >= 0) goto out;
    if (cloak_vault_key_release(c, x.args[0], s.p.version, (const char *)tok, s.nonce, s.enc, &jws,
                                &why)) {
        r = vk_fail(&x, c, &why);
    } else if (s.kek) {
        r = release_write(&x, &s, jws, &why);
    } else if (x.json) {
        json_t *o = json_pack("{s:s}", "value", jws);
        r = vk_print_json(o);
        json_decref(o);
    } else if (s.out) {
        r = cloak_file_write(s.out, (const uint8_t *)jws, strlen(jws), 0600, &why) ? cli_fail(&why)
                                                                                   : CLI_OK;
    } else {
        printf("%s\n", jws);
        r = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
    }
out:
    if (tok) cloak_free_secret(tok, tl);
    free(jws);
    cloak_vault_client_free(c);
    ops_st_free(&s);
    return r;
}
