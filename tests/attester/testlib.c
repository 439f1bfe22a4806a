/* Helpers for the attester tests (testlib.h). */
#include "testlib.h"

#include "cloak/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

uint8_t *tl_vector(const char *rel, size_t *len)
{
    const char *shared = getenv("CLOAK_SHARED_DIR");
    char path[1024];
    cloak_error why = {0};
    uint8_t *p = NULL;
    snprintf(path, sizeof path, "%s/vectors/attestation/%s", shared ? shared : "../shared", rel);
    if (cloak_file_read(path, &p, len, &why)) {
        fprintf(stderr, "missing test vector %s: %s\n", path, why.msg);
        abort();
    }
    return p;
}

int tl_run(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t n = 0;
    if (out && cap) {
        n = fread(out, 1, cap - 1, f);
        out[n] = 0;
    } else {
        char sink[4096];
        while (fread(sink, 1, sizeof sink, f) > 0) {
        }
    }
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

size_t tl_pem_to_der(const char *dir, const char *pem_path, uint8_t **ders, size_t *lens,
                     size_t max)
{
    static const char end[] = "-----END CERTIFICATE-----";
    cloak_error why = {0};
    uint8_t *pem = NULL;
    size_t pem_len = 0, count = 0;
    if (cloak_file_read(pem_path, &pem, &pem_len, &why)) abort();
    char *text = malloc(pem_len + 1);
    memcpy(text, pem, pem_len);
    text[pem_len] = 0;
    char *s = text;
    while (count < max) {
        char *b = strstr(s, "-----BEGIN CERTIFICATE-----"), *e = b ? strstr(b, end) : NULL;
        if (!e) break;
        e += sizeof end - 1;
        char part[1024], der[1024];
        snprintf(part, sizeof part, "%s/part%zu.pem", dir, count);
        snprintf(der, sizeof der, "%s/part%zu.der", dir, count);
        if (cloak_file_write(part, (const uint8_t *)b, (size_t)(e - b), 0600, &why)) abort();
        if (tl_run(NULL, 0, "openssl x509 -in '%s' -outform der -out '%s' 2>&1", part, der))
            abort();
        if (cloak_file_read(der, &ders[count], &lens[count], &why)) abort();
        count++;
        s = e;
    }
    free(text);
    free(pem);
    return count;
}

void tl_guid(const char *text, uint8_t out[16])
{
    size_t n = 0;
    for (const char *c = text; *c && n < 32; c++) {
        if (*c == '-') continue;
        unsigned v;
        char h[2] = {*c, 0};
        sscanf(h, "%x", &v);
        if (n % 2 == 0)
            out[n / 2] = (uint8_t)(v << 4);
        else
            out[n / 2] |= (uint8_t)v;
        n++;
    }
}

uint8_t *tl_table(const tl_entry *e, size_t n, size_t pad, size_t *len)
{
    size_t head = (n + 1) * 24, total = head + pad;
    for (size_t i = 0; i < n; i++)
        total += e[i].len;
    uint8_t *t = calloc(1, total ? total : 1);
    size_t off = head;
    for (size_t i = 0; i < n; i++) {
        tl_guid(e[i].guid, t + i * 24);
        cloak_put_u32le(t + i * 24 + 16, (uint32_t)off);
        cloak_put_u32le(t + i * 24 + 20, (uint32_t)e[i].len);
        memcpy(t + off, e[i].data, e[i].len);
        off += e[i].len;
    }
    *len = total;
    return t;
}

int tl_samples_load(tl_samples *s)
{
    static char pem[1024];
    uint8_t *ders[2];
    size_t lens[2];
    const char *shared = getenv("CLOAK_SHARED_DIR");
    memset(s, 0, sizeof *s);
    snprintf(s->scratch, sizeof s->scratch, "/tmp/cloak-attester-der-XXXXXX");
    if (!mkdtemp(s->scratch)) return -1;
    s->snp_go = tl_vector("go-sev-guest/attestation_milan_v2.bin", &s->snp_go_len);
    s->snp_trustee = tl_vector("trustee/snp_milan_v2_report.bin", &s->snp_trustee_len);
    s->tdx_quote = tl_vector("dcap-qvl/tdx_quote.dat", &s->tdx_quote_len);
    s->tdreport = tl_vector("go-tdx-guest/tdreport.dat", &s->tdreport_len);
    s->vcek = tl_vector("go-sev-guest/vcek_milan.der", &s->vcek_len);
    snprintf(pem, sizeof pem, "%s/vectors/attestation/go-sev-guest/ask_ark_milan.pem",
             shared ? shared : "../shared");
    s->ask_ark_pem = pem;
    if (tl_pem_to_der(s->scratch, pem, ders, lens, 2) != 2) return -1; /* KDS order: ASK, ARK */
    s->ask = ders[0], s->ask_len = lens[0], s->ark = ders[1], s->ark_len = lens[1];
    tl_entry e[] = {{TL_VCEK_GUID, s->vcek, s->vcek_len},
                    {TL_ASK_GUID, s->ask, s->ask_len},
                    {TL_ARK_GUID, s->ark, s->ark_len}};
    s->aux = tl_table(e, 3, 0, &s->aux_len);
    return 0;
}

void tl_samples_free(tl_samples *s)
{
    if (s->scratch[0]) tl_run(NULL, 0, "rm -rf '%s'", s->scratch);
    free(s->snp_go), free(s->snp_trustee), free(s->tdx_quote), free(s->tdreport);
    free(s->vcek), free(s->ask), free(s->ark), free(s->aux);
    memset(s, 0, sizeof *s);
}
