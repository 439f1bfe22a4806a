/* Helpers shared by the attester tests: sample files, DER via the openssl command, and
 * certificate tables built from GUID text (an independent path from the parser's constants). */
#ifndef CLOAK_TEST_ATTESTER_TESTLIB_H
#define CLOAK_TEST_ATTESTER_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

/* A file from shared/vectors/attestation (aborts the test run when missing). */
uint8_t *tl_vector(const char *rel, size_t *len);

/* The certificates of a PEM file, converted to DER one by one by the `openssl x509` command
 * in scratch directory `dir`. Returns how many (at most `max`); each ders[i] is malloc'd. */
size_t tl_pem_to_der(const char *dir, const char *pem_path, uint8_t **ders, size_t *lens,
                     size_t max);

/* "63da758d-e664-..." -> the 16 bytes in the order the text is written (RFC 4122). */
void tl_guid(const char *text, uint8_t out[16]);

/* A certificate table: entries (guid, data, len) in order, the zero terminator, then the data
 * back to back. `pad` zero bytes are appended. malloc'd. */
typedef struct {
    const char *guid;
    const uint8_t *data;
    size_t len;
} tl_entry;
uint8_t *tl_table(const tl_entry *e, size_t n, size_t pad, size_t *len);

/* Run a shell command; return its exit status; stderr+stdout captured into out (if given). */
int tl_run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The samples every attester test uses, loaded once per test program. */
#define TL_VCEK_GUID "63da758d-e664-4564-adc5-f4b93be8accd"
#define TL_VLEK_GUID "a8074bc2-a25a-483e-aae6-39c045a0b8a1"
#define TL_ASK_GUID "4ab7b379-bbac-4fe4-a02f-05aef327c782"
#define TL_ARK_GUID "c0b406a4-a803-4952-9743-3fb6014cd0ae"
typedef struct {
    char scratch[256]; /* a scratch directory (removed by tl_samples_free) */
    uint8_t *snp_go, *snp_trustee, *tdx_quote, *tdreport, *vcek, *ask, *ark, *aux;
    size_t snp_go_len, snp_trustee_len, tdx_quote_len, tdreport_len, vcek_len, ask_len, ark_len,
        aux_len;
    const char *ask_ark_pem; /* path of go-sev-guest/ask_ark_milan.pem */
} tl_samples;
/* go-sev-guest attestation_milan_v2.bin + vcek_milan.der + ask_ark_milan.pem (as DER via the
 * openssl command), trustee snp_milan_v2_report.bin, dcap-qvl tdx_quote.dat, go-tdx-guest
 * tdreport.dat, and aux: a certificate table VCEK, ASK, ARK built from them. 0 on success. */
int tl_samples_load(tl_samples *s);
void tl_samples_free(tl_samples *s);

#endif
