/* cloak vault key SUB ...: keys in a `cloak vault serve` vault (or any Key Vault keys API
 * that accepts its bearer token) through the C client (include/cloak/vault.h). This file has
 * the dispatcher, the common options and the key management subcommands (create, get, list,
 * delete, recover, purge); vault_key_ops.c has the key operations and release.
 *
 * Trust: the bearer token is read from --token-file or $CLOAK_VAULT_TOKEN, never from argv
 * (visible to every user through /proc), and wiped once the client holds its copy. Output
 * files are written 0600 (they may hold plaintext or released keys). */
#include "vault_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* ---- common ---- */
int vk_parse(vk_ctx *x, int argc, char **argv, const struct option *extra, vk_opt_fn fn, void *st,
             void (*help)(void))
{
    struct option opts[48];
    size_t n = 0;
    static const struct option common[] = {
        {"vault", required_argument, 0, VK_O_VAULT},
        {"ca", required_argument, 0, VK_O_CA},
        {"token-file", required_argument, 0, VK_O_TOKEN_FILE},
        {"token", required_argument, 0, VK_O_TOKEN},
        {"json", no_argument, 0, VK_O_JSON},
        {"help", no_argument, 0, 'h'},
    };
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        opts[n++] = common[i];
    for (size_t i = 0; extra && extra[i].name && n + 1 < sizeof opts / sizeof opts[0]; i++)
        opts[n++] = extra[i];
    memset(&opts[n], 0, sizeof opts[n]);
    x->vault = getenv("CLOAK_VAULT_URL");
    x->ca = getenv("CLOAK_VAULT_CA");
    if (x->ca && !*x->ca) x->ca = NULL;
    int c, r;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case VK_O_VAULT:
            x->vault = optarg;
            break;
        case VK_O_CA:
            x->ca = optarg;
            break;
        case VK_O_TOKEN_FILE:
            x->token_file = optarg;
            break;
        case VK_O_TOKEN:
            /* optarg is the token itself: never echo it */
            return cli_usage_error(x->cmd, "tokens are not taken from the command line (other "
                                           "users can read it): use --token-file FILE or set "
                                           "CLOAK_VAULT_TOKEN");
        case VK_O_JSON:
            x->json = 1;
            break;
        case 'h':
            help();
            return CLI_OK;
        case ':':
            return cli_usage_error(x->cmd, "option '%s' needs a value", argv[optind - 1]);
        case '?':
            if (optopt) return cli_usage_error(x->cmd, "unknown option '-%c'", optopt);
            return cli_usage_error(x->cmd, "unknown or ambiguous option '%s'", argv[optind - 1]);
        default:
            if (!fn) return cli_usage_error(x->cmd, "unknown option");
            if ((r = fn(x, c, optarg, st)) >= 0) return r;
        }
    }
    x->args = argv + optind;
    x->nargs = argc - optind;
    return -1;
}

int vk_want_args(vk_ctx *x, int n, const char *names)
{
    if (x->nargs < n) return cli_usage_error(x->cmd, "%s is required", names);
    if (x->nargs > n) return cli_usage_error(x->cmd, "unexpected argument '%s'", x->args[n]);
    return -1;
}

int vk_connect(vk_ctx *x, cloak_vault_client **out)
{
    cloak_error why = {0};
    uint8_t *tok = NULL;
    size_t tl = 0;
    if (!x->vault || !*x->vault)
        return cli_usage_error(x->cmd, "no vault: pass --vault URL or set CLOAK_VAULT_URL");
    if (x->token_file) {
        if (cloak_file_read(x->token_file, &tok, &tl, &why)) {
            cloak_error_wrap(&why, "reading the token (--token-file)");
            return cli_fail(&why);
        }
        uint8_t *t2 = realloc(tok, tl + 1); /* NUL-terminate */
        if (!t2) {
            cloak_free_secret(tok, tl);
            cloak_error_set(&why, CLOAK_ENOMEM, "out of memory");
            return cli_fail(&why);
        }
        tok = t2;
        tok[tl] = 0;
        while (tl && (tok[tl - 1] == '\n' || tok[tl - 1] == '\r' || tok[tl - 1] == ' ' ||
                      tok[tl - 1] == '\t'))
            tok[--tl] = 0;
        if (!tl || memchr(tok, 0, tl)) {
            cloak_free_secret(tok, tl + 1);
            cloak_error_set(&why, CLOAK_EINVAL,
                            "the token file %s is empty or not text: write the output of "
                            "`cloak vault token` into it",
                            x->token_file);
            return cli_fail(&why);
        }
    } else {
        const char *env = getenv("CLOAK_VAULT_TOKEN");
        if (!env || !*env)
            return cli_usage_error(x->cmd, "no bearer token: pass --token-file FILE or set "
                                           "CLOAK_VAULT_TOKEN (e.g. from `cloak vault token`)");
        tl = strlen(env);
        if (!(tok = malloc(tl + 1))) {
            cloak_error_set(&why, CLOAK_ENOMEM, "out of memory");
            return cli_fail(&why);
        }
        memcpy(tok, env, tl + 1);
    }
    cloak_err rc = cloak_vault_client_new(x->vault, x->ca, (const char *)tok, out, &why);
    cloak_free_secret(tok, tl + 1);
    if (rc) return rc == CLOAK_EINVAL ? cli_usage_error(x->cmd, "%s", why.msg) : cli_fail(&why);
    return -1;
}

int vk_fail(vk_ctx *x, cloak_vault_client *c, const cloak_error *why)
{
    const cloak_vault_status *s = c ? cloak_vault_client_last(c) : NULL;
    cli_fail(why);
    if (!s) return CLI_FAIL;
    if (s->status == 401)
        fprintf(stderr, "cloak: check the bearer token (--token-file or CLOAK_VAULT_TOKEN): it "
                        "may have expired or belong to another vault; `cloak vault token` makes "
                        "a new one\n");
    else if (s->status == 0 && why && why->code == CLOAK_EIO && !strncmp(why->msg, "reaching", 8))
        fprintf(stderr,
                "cloak: is the vault running at %s, and does --ca name its CA (e.g. "
                "DATA_DIR/ca.pem)?\n",
                x->vault);
    else if (s->status == 404 && !strcmp(s->code, "KeyNotFound"))
        fprintf(stderr, "cloak: `cloak vault key list` shows the keys (`--deleted` the deleted "
                        "ones)\n");
    if (s->request_id[0])
        fprintf(stderr, "cloak: vault request id %s (x-ms-request-id, in its audit log)\n",
                s->request_id);
    return CLI_FAIL;
}

cloak_err vk_read_input(const char *path, uint8_t **out, size_t *len, cloak_error *why)
{
    if (path && strcmp(path, "-")) return cloak_file_read(path, out, len, why);
    cloak_buf b = {0};
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        cloak_buf_put(&b, chunk, n);
    OPENSSL_cleanse(chunk, sizeof chunk);
    if (ferror(stdin)) {
        cloak_buf_free_secret(&b);
        return cloak_error_set(why, CLOAK_EIO, "reading standard input failed");
    }
    cloak_buf_u8(&b, 0); /* never a NULL pointer, even when empty */
    if (b.failed) {
        cloak_buf_free_secret(&b);
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory reading standard input");
    }
    *out = b.p;
    *len = b.len - 1;
    return CLOAK_OK;
}

cloak_err vk_write_output(const char *path, const uint8_t *p, size_t len, int binary,
                          cloak_error *why)
{
    if (path && strcmp(path, "-")) return cloak_file_write(path, p, len, 0600, why);
    if (binary && isatty(STDOUT_FILENO))
        return cloak_error_set(why, CLOAK_EINVAL,
                               "the result is binary: write it with --out FILE, redirect "
                               "standard output, or use --json (base64url)");
    if ((len && fwrite(p, 1, len, stdout) != len) || fflush(stdout))
        return cloak_error_set(why, CLOAK_EIO, "writing standard output failed");
    return CLOAK_OK;
}

int vk_print_json(const json_t *j)
{
    char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    if (!s) {
        fprintf(stderr, "cloak: out of memory printing JSON\n");
        return CLI_FAIL;
    }
    printf("%s\n", s);
    free(s);
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

int vk_hex_opt(vk_ctx *x, const char *opt, const char *hex, uint8_t **out, size_t *len)
{
    cloak_error why = {0};
    free(*out);
    *out = NULL;
    if (cloak_hex_decode(hex, out, len, &why))
        return cli_usage_error(x->cmd, "%s: not hex (%s)", opt, why.msg);
    return -1;
}

void vk_time(char *dst, size_t n, json_int_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || !strftime(dst, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(dst, n, "@%lld", (long long)t);
}

/* ---- printing bundles ---- */
static void print_time(const char *label, const json_t *v)
{
    char t[40];
    if (!json_is_integer(v)) return;
    vk_time(t, sizeof t, json_integer_value(v));
    printf("%-15s %s\n", label, t);
}

static void print_bundle(const json_t *b)
{
    const json_t *k = json_object_get(b, "key"), *a = json_object_get(b, "attributes");
    const char *kty = json_string_value(json_object_get(k, "kty"));
    printf("%-15s %s\n", "kid", json_string_value(json_object_get(k, "kid")));
    printf("%-15s %s", "kty", kty ? kty : "?");
    const char *n = json_string_value(json_object_get(k, "n"));
    const char *crv = json_string_value(json_object_get(k, "crv"));
    if (n) {
        size_t bytes = strlen(n) * 3 / 4; /* unpadded base64url */
        printf(", %zu bits", bytes * 8);
    } else if (crv) {
        printf(", %s", crv);
    }
    printf("\n%-15s", "key_ops");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(k, "key_ops"), i, v)
    {
        printf(" %s", json_string_value(v) ? json_string_value(v) : "?");
    }
    printf("\n%-15s %s\n", "enabled", json_is_false(json_object_get(a, "enabled")) ? "no" : "yes");
    printf("%-15s %s\n", "exportable",
           json_is_true(json_object_get(a, "exportable")) ? "yes" : "no");
    print_time("not before", json_object_get(a, "nbf"));
    print_time("expires", json_object_get(a, "exp"));
    print_time("created", json_object_get(a, "created"));
    print_time("updated", json_object_get(a, "updated"));
    const json_t *tags = json_object_get(b, "tags");
    if (json_object_size(tags)) {
        const char *tk;
        printf("%-15s", "tags");
        json_object_foreach((json_t *)tags, tk, v)
        {
            printf(" %s=%s", tk, json_string_value(v) ? json_string_value(v) : "?");
        }
        printf("\n");
    }
    const json_t *rp = json_object_get(b, "release_policy");
    if (rp)
        printf("%-15s yes%s\n", "release policy",
               json_is_true(json_object_get(rp, "immutable")) ? " (immutable)" : "");
    print_time("deleted", json_object_get(b, "deletedDate"));
    print_time("purge due", json_object_get(b, "scheduledPurgeDate"));
}

static int finish_bundle(vk_ctx *x, json_t *b)
{
    int r = CLI_OK;
    if (x->json)
        r = vk_print_json(b);
    else {
        print_bundle(b);
        r = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
    }
    json_decref(b);
    return r;
}

/* ---- create ---- */
#define O_KTY (VK_O_FIRST_SUB + 0)
#define O_SIZE (VK_O_FIRST_SUB + 1)
#define O_CURVE (VK_O_FIRST_SUB + 2)
#define O_OPS (VK_O_FIRST_SUB + 3)
#define O_EXPORTABLE (VK_O_FIRST_SUB + 4)
#define O_POLICY (VK_O_FIRST_SUB + 5)
#define O_IMMUTABLE (VK_O_FIRST_SUB + 6)
#define O_TAG (VK_O_FIRST_SUB + 7)
#define O_DISABLED (VK_O_FIRST_SUB + 8)
#define O_NBF (VK_O_FIRST_SUB + 9)
#define O_EXP (VK_O_FIRST_SUB + 10)
#define O_VERSION (VK_O_FIRST_SUB + 11)
#define O_VERSIONS (VK_O_FIRST_SUB + 12)
#define O_DELETED (VK_O_FIRST_SUB + 13)

typedef struct {
    cloak_vault_key_spec spec;
    const char *policy_file;
    char *ops_text;
    const char *ops[16];
    json_t *tags;
} create_st;

static void create_help(void)
{
    printf("usage: cloak vault key create NAME --kty TYPE [--size BITS] [--curve CRV]\n"
           "                              [--ops OP,OP...] [--exportable --policy FILE "
           "[--immutable]]\n"
           "                              [--tag KEY=VALUE]... [--disabled] [--nbf TIME] "
           "[--exp TIME]\n"
           "\n"
           "Create a key in the vault; its private part is generated inside the vault's "
           "enclave\nand never leaves it (unless released under its policy).\n"
           "\n"
           "  --kty TYPE       RSA, EC or oct (or RSA-HSM, EC-HSM, oct-HSM)\n"
           "  --size BITS      RSA 2048 (default), 3072, 4096; oct 128, 192, 256 (default)\n"
           "  --curve CRV      EC: P-256 (default), P-384, P-521, P-256K\n"
           "  --ops LIST       key_ops, comma-separated: encrypt, decrypt, sign, verify, "
           "wrapKey,\n"
           "                   unwrapKey (default: all that fit the type)\n"
           "  --exportable     the key may be released (needs --policy)\n"
           "  --policy FILE    the release policy, a JSON document (grammar 1.0.0, "
           "docs/VAULT.md)\n"
           "  --immutable      the release policy can never be changed\n"
           "  --tag K=V        a tag (repeatable, at most 15)\n"
           "  --disabled       create it disabled\n"
           "  --nbf TIME, --exp TIME   not before / expiry: RFC 3339 "
           "(2026-01-01T00:00:00Z) or @EPOCH\n"
           "\n" VK_COMMON_HELP);
}

static int create_opt(vk_ctx *x, int c, const char *arg, void *stp)
{
    create_st *st = stp;
    unsigned long long v;
    time_t t;
    switch (c) {
    case O_KTY:
        st->spec.kty = arg;
        return -1;
    case O_SIZE:
        if (cli_parse_uint(arg, 65536, &v) || !v)
            return cli_usage_error(x->cmd, "--size '%s' is not a number of bits", arg);
        st->spec.key_size = (unsigned)v;
        return -1;
    case O_CURVE:
        st->spec.crv = arg;
        return -1;
    case O_OPS: {
        free(st->ops_text);
        st->ops_text = strdup(arg);
        size_t n = 0;
        char *save = NULL;
        for (char *p = strtok_r(st->ops_text, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            if (n + 1 >= sizeof st->ops / sizeof st->ops[0])
                return cli_usage_error(x->cmd, "--ops: too many operations");
            st->ops[n++] = p;
        }
        st->ops[n] = NULL;
        st->spec.key_ops = st->ops;
        return -1;
    }
    case O_EXPORTABLE:
        st->spec.exportable = 1;
        return -1;
    case O_POLICY:
        st->policy_file = arg;
        return -1;
    case O_IMMUTABLE:
        st->spec.release_policy_immutable = 1;
        return -1;
    case O_TAG: {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) return cli_usage_error(x->cmd, "--tag '%s': write KEY=VALUE", arg);
        if (!st->tags) st->tags = json_object();
        char key[257];
        snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
        json_object_set_new(st->tags, key, json_string(eq + 1));
        return -1;
    }
    case O_DISABLED:
        st->spec.disabled = 1;
        return -1;
    case O_NBF:
    case O_EXP:
        if (cli_parse_time(arg, &t))
            return cli_usage_error(x->cmd,
                                   "%s '%s': give RFC 3339 (2026-01-01T00:00:00Z) or "
                                   "@EPOCH",
                                   c == O_NBF ? "--nbf" : "--exp", arg);
        if (c == O_NBF)
            st->spec.nbf = t;
        else
            st->spec.exp = t;
        return -1;
    }
    return cli_usage_error(x->cmd, "unknown option");
}

static int cmd_create(int argc, char **argv)
{
    static const struct option extra[] = {
        {"kty", required_argument, 0, O_KTY},         {"size", required_argument, 0, O_SIZE},
        {"curve", required_argument, 0, O_CURVE},     {"ops", required_argument, 0, O_OPS},
        {"exportable", no_argument, 0, O_EXPORTABLE}, {"policy", required_argument, 0, O_POLICY},
        {"immutable", no_argument, 0, O_IMMUTABLE},   {"tag", required_argument, 0, O_TAG},
        {"disabled", no_argument, 0, O_DISABLED},     {"nbf", required_argument, 0, O_NBF},
        {"exp", required_argument, 0, O_EXP},         {0, 0, 0, 0},
    };
    vk_ctx x = {.cmd = "vault key create"};
    create_st st = {0};
    cloak_vault_client *c = NULL;
    cloak_error why = {0};
    uint8_t *pol = NULL;
    size_t pl = 0;
    json_t *b = NULL;
    int r = vk_parse(&x, argc, argv, extra, create_opt, &st, create_help);
    if (r < 0) r = vk_want_args(&x, 1, "NAME");
    if (r < 0 && !st.spec.kty) r = cli_usage_error(x.cmd, "--kty RSA|EC|oct is required");
    if (r < 0 && st.spec.exportable != !!st.policy_file)
        r = cli_usage_error(x.cmd, "--exportable and --policy FILE go together: only a key with "
                                   "a release policy can be released");
    if (r < 0 && st.spec.release_policy_immutable && !st.policy_file)
        r = cli_usage_error(x.cmd, "--immutable needs --policy FILE");
    if (r < 0 && st.policy_file) {
        uint8_t *p2 = NULL;
        if (cloak_file_read(st.policy_file, &pol, &pl, &why)) {
            r = cli_fail(&why);
        } else if (!(p2 = realloc(pol, pl + 1))) {
            cloak_error_set(&why, CLOAK_ENOMEM, "out of memory");
            r = cli_fail(&why);
        } else {
            pol = p2;
            pol[pl] = 0;
            if (memchr(pol, 0, pl)) {
                cloak_error_set(&why, CLOAK_EINVAL, "--policy %s is not a text file",
                                st.policy_file);
                r = cli_fail(&why);
            }
            st.spec.release_policy = (const char *)pol;
        }
    }
    st.spec.tags = st.tags;
    if (r < 0) r = vk_connect(&x, &c);
    if (r < 0) {
        if (cloak_vault_key_create(c, x.args[0], &st.spec, &b, &why))
            r = vk_fail(&x, c, &why);
        else
            r = finish_bundle(&x, b);
    }
    cloak_vault_client_free(c);
    free(pol);
    free(st.ops_text);
    json_decref(st.tags);
    return r;
}

/* ---- get, delete, recover, purge ---- */
static void get_help(void)
{
    printf("usage: cloak vault key get NAME [--version VERSION]\n"
           "\n"
           "Show a key: its kid, type, operations, attributes, tags (the public key with --json).\n"
           "\n"
           "  --version V      a version (the last part of a kid); default the latest\n"
           "\n" VK_COMMON_HELP);
}

static int version_opt(vk_ctx *x, int c, const char *arg, void *st)
{
    if (c != O_VERSION) return cli_usage_error(x->cmd, "unknown option");
    *(const char **)st = arg;
    return -1;
}

static int cmd_get(int argc, char **argv)
{
    static const struct option extra[] = {{"version", required_argument, 0, O_VERSION},
                                          {0, 0, 0, 0}};
    vk_ctx x = {.cmd = "vault key get"};
    const char *version = NULL;
    cloak_vault_client *c = NULL;
    cloak_error why = {0};
    json_t *b = NULL;
    int r = vk_parse(&x, argc, argv, extra, version_opt, &version, get_help);
    if (r < 0) r = vk_want_args(&x, 1, "NAME");
    if (r < 0) r = vk_connect(&x, &c);
    if (r < 0) {
        if (cloak_vault_key_get(c, x.args[0], version, &b, &why))
            r = vk_fail(&x, c, &why);
        else
            r = finish_bundle(&x, b);
    }
    cloak_vault_client_free(c);
    return r;
}

static void delete_help(void)
{
    printf("usage: cloak vault key delete NAME\n"
           "\n"
           "Soft-delete a key: it stops working at once but is kept (`cloak vault key recover\n"
           "NAME` brings it back) until purged (`cloak vault key purge NAME`).\n"
           "\n" VK_COMMON_HELP);
}

static void recover_help(void)
{
    printf("usage: cloak vault key recover NAME\n"
           "\n"
           "Bring back a soft-deleted key (all its versions).\n"
           "\n" VK_COMMON_HELP);
}

static void purge_help(void)
{
    printf("usage: cloak vault key purge NAME\n"
           "\n"
           "Destroy a soft-deleted key for good: every version and its key material. This "
           "cannot\nbe undone. (Delete it first with `cloak vault key delete NAME`.)\n"
           "\n" VK_COMMON_HELP);
}

static int lifecycle_cmd(int argc, char **argv, const char *cmd, void (*help)(void), int which)
{
    vk_ctx x = {.cmd = cmd};
    cloak_vault_client *c = NULL;
    cloak_error why = {0};
    json_t *b = NULL;
    int r = vk_parse(&x, argc, argv, NULL, NULL, NULL, help);
    if (r < 0) r = vk_want_args(&x, 1, "NAME");
    if (r < 0) r = vk_connect(&x, &c);
    if (r >= 0) goto out;
    cloak_err rc = which == 0   ? cloak_vault_key_delete(c, x.args[0], &b, &why)
                   : which == 1 ? cloak_vault_key_recover(c, x.args[0], &b, &why)
                                : cloak_vault_key_purge(c, x.args[0], &why);
    if (rc) {
        r = vk_fail(&x, c, &why);
    } else if (which == 2) {
        if (x.json) {
            json_t *empty = json_object(); /* the vault answers 204, no body */
            r = vk_print_json(empty);
            json_decref(empty);
        } else {
            printf("purged %s\n", x.args[0]);
            r = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
        }
    } else {
        if (which == 0 && !x.json)
            printf("deleted %s (recover it with `cloak vault key recover %s`)\n", x.args[0],
                   x.args[0]);
        if (which == 1 && !x.json) printf("recovered %s\n", x.args[0]);
        r = finish_bundle(&x, b);
    }
out:
    cloak_vault_client_free(c);
    return r;
}

static int cmd_delete(int argc, char **argv)
{
    return lifecycle_cmd(argc, argv, "vault key delete", delete_help, 0);
}

static int cmd_recover(int argc, char **argv)
{
    return lifecycle_cmd(argc, argv, "vault key recover", recover_help, 1);
}

static int cmd_purge(int argc, char **argv)
{
    return lifecycle_cmd(argc, argv, "vault key purge", purge_help, 2);
}

/* ---- list ---- */
typedef struct {
    const char *versions; /* --versions NAME */
    int deleted;
    int kind; /* cloak_vault_list_kind */
    size_t n;
} list_st;

static void list_help(void)
{
    printf("usage: cloak vault key list [--versions NAME | --deleted]\n"
           "\n"
           "List the keys (every page), one per line: name (or version), state, last update.\n"
           "\n"
           "  --versions NAME  the versions of one key\n"
           "  --deleted        the soft-deleted keys, with their deletion and purge dates\n"
           "\n" VK_COMMON_HELP);
}

static int list_opt(vk_ctx *x, int c, const char *arg, void *stp)
{
    list_st *st = stp;
    if (c == O_VERSIONS)
        st->versions = arg;
    else if (c == O_DELETED)
        st->deleted = 1;
    else
        return cli_usage_error(x->cmd, "unknown option");
    return -1;
}

/* The last (versions) or the one after "/keys/" / "/deletedkeys/" path segment of a kid. */
static void kid_part(const char *kid, int last, char *dst, size_t n)
{
    const char *p = kid ? kid : "";
    if (last) {
        const char *s = strrchr(p, '/');
        snprintf(dst, n, "%s", s ? s + 1 : p);
        return;
    }
    const char *s = strstr(p, "/keys/");
    const char *d = strstr(p, "/deletedkeys/");
    s = d ? d + 13 : s ? s + 6 : p;
    size_t l = strcspn(s, "/?");
    snprintf(dst, n, "%.*s", (int)l, s);
}

static int list_line(const json_t *it, void *stp)
{
    list_st *st = stp;
    const json_t *a = json_object_get(it, "attributes");
    char id[160], t1[40] = "-", t2[40] = "";
    kid_part(json_string_value(json_object_get(it, "kid")), st->kind == CLOAK_VAULT_LIST_VERSIONS,
             id, sizeof id);
    if (st->kind == CLOAK_VAULT_LIST_DELETED) {
        const json_t *d = json_object_get(it, "deletedDate"),
                     *p = json_object_get(it, "scheduledPurgeDate");
        if (json_is_integer(d)) vk_time(t1, sizeof t1, json_integer_value(d));
        if (json_is_integer(p)) vk_time(t2, sizeof t2, json_integer_value(p));
        printf("%-40s deleted %s  purge due %s\n", id, t1, t2);
    } else {
        const json_t *u = json_object_get(a, "updated");
        if (json_is_integer(u)) vk_time(t1, sizeof t1, json_integer_value(u));
        printf("%-40s %-8s %s\n", id,
               json_is_false(json_object_get(a, "enabled")) ? "disabled" : "enabled", t1);
    }
    st->n++;
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    static const struct option extra[] = {{"versions", required_argument, 0, O_VERSIONS},
                                          {"deleted", no_argument, 0, O_DELETED},
                                          {0, 0, 0, 0}};
    vk_ctx x = {.cmd = "vault key list"};
    list_st st = {0};
    cloak_vault_client *c = NULL;
    cloak_error why = {0};
    int r = vk_parse(&x, argc, argv, extra, list_opt, &st, list_help);
    if (r < 0) r = vk_want_args(&x, 0, "");
    if (r < 0 && st.versions && st.deleted)
        r = cli_usage_error(x.cmd, "--versions and --deleted do not go together");
    st.kind = st.versions  ? CLOAK_VAULT_LIST_VERSIONS
              : st.deleted ? CLOAK_VAULT_LIST_DELETED
                           : CLOAK_VAULT_LIST_KEYS;
    if (r < 0) r = vk_connect(&x, &c);
    if (r >= 0) goto out;
    if (x.json) {
        /* the pages' items as one {"value":[...]} answer */
        json_t *items = NULL;
        if (cloak_vault_key_list_all(c, st.kind, st.versions, &items, &why)) {
            r = vk_fail(&x, c, &why);
        } else {
            json_t *o = json_pack("{s:o}", "value", items);
            r = vk_print_json(o);
            json_decref(o);
        }
    } else if (cloak_vault_key_list(c, st.kind, st.versions, list_line, &st, &why)) {
        r = vk_fail(&x, c, &why);
    } else {
        if (!st.n)
            fprintf(stderr, "cloak: no %s\n",
                    st.deleted    ? "deleted keys"
                    : st.versions ? "versions"
                                  : "keys");
        r = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
    }
out:
    cloak_vault_client_free(c);
    return r;
}

/* ---- dispatcher ---- */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subs[] = {
    {"create", cmd_create, "create a key (RSA, EC, oct), optionally releasable under a policy"},
    {"get", cmd_get, "show a key (latest or one version)"},
    {"list", cmd_list, "list keys, a key's versions, or deleted keys"},
    {"delete", cmd_delete, "soft-delete a key (recoverable)"},
    {"recover", cmd_recover, "recover a soft-deleted key"},
    {"purge", cmd_purge, "destroy a soft-deleted key for good"},
    {"release", vk_cmd_release, "Secure Key Release: get the key wrapped for an attested KEK"},
    {"encrypt", vk_cmd_encrypt, "encrypt bytes with a key"},
    {"decrypt", vk_cmd_decrypt, "decrypt bytes with a key"},
    {"wrap", vk_cmd_wrap, "wrap a key (bytes) with a key"},
    {"unwrap", vk_cmd_unwrap, "unwrap a wrapped key"},
    {"sign", vk_cmd_sign, "sign a message or digest"},
    {"verify", vk_cmd_verify, "verify a signature"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cloak vault key SUBCOMMAND [options]\n\n");
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        fprintf(f, "  %-9s %s\n", subs[i].name, subs[i].summary);
    fprintf(f, "\nThe vault is --vault URL (or $CLOAK_VAULT_URL); the bearer token comes from "
               "--token-file FILE\nor $CLOAK_VAULT_TOKEN. `cloak vault key SUBCOMMAND --help` "
               "for each one's options.\n");
}

int cmd_vault_key(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (!strcmp(argv[1], subs[i].name)) return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cloak vault key: unknown subcommand '%s'\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
