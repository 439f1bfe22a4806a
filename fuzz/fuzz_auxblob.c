/*
 * libFuzzer target for the SEV-SNP certificate table parser (src/attester/certtable.c): the
 * table comes from the host (configfs-tsm auxblob, SNP_GET_EXT_REPORT certs buffer), which is
 * untrusted. Seeds in fuzz/corpus/fuzz_auxblob/ are tables built from the go-sev-guest Milan
 * VCEK, ASK and ARK (DER and PEM entries, VLEK and unknown GUIDs, padding), so mutations reach
 * the entry checks and the X.509 parsing. An accepted table must satisfy the output's
 * invariants; a refused one must leave the blob untouched and say why.
 */
#include "attester/attester_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cloak_evidence_blob b, before;
    cloak_error why;
    memset(&why, 0, sizeof why);
    memset(&b, 0, sizeof b);
    b.evidence_len = 0x1234; /* a field the parser must not touch */
    memcpy(&before, &b, sizeof b);
    cloak_err rc = att_snp_certs_parse(size ? data : NULL, size, &b, &why);
    if (rc != CLOAK_OK) {
        if (memcmp(&b, &before, sizeof b) || why.msg[0] == 0) abort();
        return 0;
    }
    if (b.ncerts > CLOAK_ATTESTER_MAX_CERTS || b.evidence_len != 0x1234) abort();
    if (b.ncerts == 0 && b.cert_store) abort();
    for (size_t i = 0; i < b.ncerts; i++) {
        /* slot order, each once, each a whole DER certificate */
        if (i && b.cert_kinds[i] <= b.cert_kinds[i - 1]) abort();
        if (!cloak_snp_cert_kind_name(b.cert_kinds[i]) || b.cert_lens[i] == 0) abort();
        const uint8_t *q = b.certs[i];
        X509 *x = d2i_X509(NULL, &q, (long)b.cert_lens[i]);
        if (!x || q != b.certs[i] + b.cert_lens[i]) abort();
        X509_free(x);
    }
    cloak_evidence_blob_free(&b);
    if (b.cert_store || b.ncerts) abort();
    return 0;
}
