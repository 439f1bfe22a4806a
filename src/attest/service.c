/* The attestation service object: configuration, trust anchors, the collateral index, the
 * signing key and the policy store, around the HTTPS core (cloak/http.h). */
#include "attest/service.h"

#include "cloak/platform.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Index one collateral directory by the FMSPC and id ("SGX"/"TDX") of its TCB info. Folders
 * that are not collateral are skipped; a folder that looks like collateral but fails to load is
 * an error (a typo should not silently turn hardware TCB status into "Unknown"). */
static cloak_err index_collateral(cloak_attest_service *s, const char *dir, cloak_error *why)
{
    cloak_err rc = CLOAK_OK;
    char *tcb_path = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *tcb = NULL;
    cloak_collateral *c = NULL;
    struct stat st;
    if (asprintf(&tcb_path, "%s/tcb_info_body.json", dir) < 0)
        return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    if (stat(tcb_path, &st) != 0) goto out; /* not a collateral folder */
    if ((rc = cloak_file_read(tcb_path, &data, &len, why))) goto out;
    tcb = json_loadb((const char *)data, len, 0, NULL);
    const char *fmspc = json_string_value(json_object_get(tcb, "fmspc"));
    const char *id = json_string_value(json_object_get(tcb, "id"));
    if (!fmspc || strlen(fmspc) != 12) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "%s: no 12-digit fmspc", tcb_path);
        goto out;
    }
    if ((rc = cloak_collateral_load(dir, &c, why))) {
        cloak_error_wrap(why, "collateral %s", dir);
        goto out;
    }
    struct svc_coll *n = realloc(s->coll, (s->ncoll + 1) * sizeof *n);
    if (!n) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    s->coll = n;
    n[s->ncoll].tdx = id && !strcmp(id, "TDX");
    for (int i = 0; i < 12; i++)
        n[s->ncoll].fmspc[i] = (char)(fmspc[i] | 0x20); /* lower-case */
    n[s->ncoll].fmspc[12] = 0;
    n[s->ncoll].c = c;
    s->ncoll++;
    c = NULL;
out:
    cloak_collateral_free(c);
    json_decref(tcb);
    free(data);
    free(tcb_path);
    return rc;
}

static cloak_err load_collateral_dir(cloak_attest_service *s, const char *root, cloak_error *why)
{
    cloak_err rc;
    DIR *d;
    struct dirent *e;
    if ((rc = index_collateral(s, root, why))) return rc;
    if (!(d = opendir(root)))
        return cloak_error_set(why, CLOAK_EIO, "cannot open collateral dir %s", root);
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *sub = NULL;
        struct stat st;
        if (asprintf(&sub, "%s/%s", root, e->d_name) < 0) {
            rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
            break;
        }
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) rc = index_collateral(s, sub, why);
        free(sub);
    }
    closedir(d);
    return rc;
}

const cloak_collateral *svc_collateral_for(const cloak_attest_service *s, int tdx,
                                           const char *fmspc)
{
    for (size_t i = 0; fmspc && i < s->ncoll; i++)
        if (s->coll[i].tdx == tdx && !strcasecmp(s->coll[i].fmspc, fmspc)) return s->coll[i].c;
    return NULL;
}

static void svc_free_all(cloak_attest_service *s)
{
    if (!s) return;
    cloak_http_server_free(s->http);
    svc_policies_free(s);
    svc_keys_free(s);
    svc_signers_free(s);
    for (size_t i = 0; i < s->ncoll; i++)
        cloak_collateral_free(s->coll[i].c);
    free(s->coll);
    cloak_trust_free(s->trust);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->write_lock);
    free(s->data_dir);
    free(s->issuer);
    free(s->jku);
    free(s);
}

cloak_err cloak_attest_service_new(const cloak_attest_service_config *cfg,
                                   cloak_attest_service **out, cloak_error *why)
{
    cloak_err rc;
    cloak_platform *plat = NULL;
    cloak_attest_service *s = calloc(1, sizeof *s);
    if (!s) return cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->write_lock, NULL);
    if (!cfg->data_dir || !*cfg->data_dir) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "a data directory is required (--data DIR)");
        goto out;
    }
    if ((!cfg->tls_cert) != (!cfg->tls_key)) {
        rc = cloak_error_set(why, CLOAK_EINVAL, "--tls-cert and --tls-key go together");
        goto out;
    }
    if (!(s->data_dir = strdup(cfg->data_dir))) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    s->token_ttl = cfg->token_ttl ? cfg->token_ttl : CLOAK_ATTEST_TOKEN_TTL_DEFAULT;
    s->test_time = cfg->test_time;
    if ((rc = cloak_mkdirs(s->data_dir, 0700, why))) goto out;
    if ((rc = cloak_trust_new(cfg->allow_sim ? CLOAK_TRUST_ALLOW_SIM : 0, cfg->platform_dir,
                              &s->trust, why)))
        goto out;
    if (cfg->allow_sim) {
        /* the simulation platform's own collateral, so simulated quotes get a TCB status */
        if ((rc = cloak_platform_open(cfg->platform_dir, &plat, why)) ||
            (rc = index_collateral(s, cloak_platform_collateral_dir(plat), why)))
            goto out;
    }
    if (cfg->collateral_dir && (rc = load_collateral_dir(s, cfg->collateral_dir, why))) goto out;
    if ((rc = svc_signers_init(s, cfg->policy_signers, why))) goto out;
    if ((rc = svc_keys_load(s, why)) || (rc = svc_policies_load(s, why))) goto out;

    cloak_http_config hc = {
        .host = cfg->host,
        .port = cfg->port,
        .cert_file = cfg->tls_cert,
        .key_file = cfg->tls_key,
        .tls_dir = s->data_dir,
        .routes = svc_routes,
        .nroutes = svc_nroutes,
        .app = s,
        .workers = cfg->workers,
        .access_log = cfg->access_log,
    };
    if ((rc = cloak_http_server_new(&hc, &s->http, why))) goto out;
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    int n = cfg->issuer
                ? asprintf(&s->issuer, "%s", cfg->issuer)
                : asprintf(&s->issuer, strchr(host, ':') ? "https://[%s]:%u" : "https://%s:%u",
                           host, (unsigned)cloak_http_server_port(s->http));
    if (n < 0) {
        s->issuer = NULL;
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    size_t il = strlen(s->issuer);
    while (il > 0 && s->issuer[il - 1] == '/')
        s->issuer[--il] = 0; /* jku = issuer + "/certs" */
    if (asprintf(&s->jku, "%s/certs", s->issuer) < 0) {
        s->jku = NULL;
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(s->ca, sizeof s->ca, "%s", cloak_http_server_tls(s->http)->ca);
    *out = s;
    s = NULL;
    rc = CLOAK_OK;
out:
    cloak_platform_free(plat);
    svc_free_all(s);
    return rc;
}

cloak_err cloak_attest_service_start(cloak_attest_service *s, cloak_error *why)
{
    return cloak_http_server_start(s->http, why);
}

cloak_err cloak_attest_service_run(cloak_attest_service *s, cloak_error *why)
{
    return cloak_http_server_run(s->http, why);
}

void cloak_attest_service_stop(cloak_attest_service *s)
{
    if (s && s->http) cloak_http_server_stop(s->http);
}

void cloak_attest_service_free(cloak_attest_service *s)
{
    svc_free_all(s);
}

uint16_t cloak_attest_service_port(const cloak_attest_service *s)
{
    return cloak_http_server_port(s->http);
}

const char *cloak_attest_service_issuer(const cloak_attest_service *s)
{
    return s->issuer;
}

const char *cloak_attest_service_ca(const cloak_attest_service *s)
{
    return s->ca;
}
