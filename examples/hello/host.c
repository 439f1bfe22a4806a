/* The hello host: create the enclave, call it, seal and unseal, write a quote, print identity.
 * usage: hello-host ENCLAVE.signed [QUOTE-OUT] */
#include "hello_u.h"

#include "cloak/enclave.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ocall_print(const char *msg)
{
    printf("  enclave says: %s\n", msg);
}

static void hex(const char *label, const uint8_t *p, size_t n)
{
    char *h = cloak_hex_encode(p, n);
    printf("  %-11s %s\n", label, h ? h : "?");
    free(h);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ENCLAVE.signed [QUOTE-OUT]\n", argv[0]);
        return 2;
    }
    const char *quote_path = argc > 2 ? argv[2] : "hello-quote.dat";
    cloak_error why = {0};
    cloak_enclave *e = NULL;
    cloak_enclave_opts opts = {.flags = CLOAK_ENCLAVE_FLAG_SIMULATION};
    int rc = 1, ret = 0;

    printf("1. create: verifying and loading %s\n", argv[1]);
    if (cloak_enclave_create(argv[1], &opts, &e, &why)) goto fail;
    if (hello_register_ocalls(e, &why)) goto fail;
    cloak_image_identity id;
    cloak_enclave_identity(e, &id);
    printf("  enclave process %d is running (sandboxed)\n", cloak_enclave_pid(e));

    printf("2. call ecall_process(\"hello, enclave\")\n");
    const char *text = "hello, enclave";
    uint8_t out[64];
    if (ecall_process(e, &ret, (const uint8_t *)text, strlen(text), out, strlen(text)) || ret)
        goto fail;
    printf("  result: %.*s\n", (int)strlen(text), out);

    printf("3. seal a secret to the signer (MRSIGNER policy, svn %u)\n", id.svn);
    uint8_t blob[1024];
    size_t blob_len = 0;
    if (ecall_seal(e, &ret, "the launch code is 0000", blob, sizeof blob, &blob_len) || ret)
        goto fail;
    printf("  sealed blob: %zu bytes (AES-256-GCM; the host sees only this)\n", blob_len);

    printf("4. unseal it in a fresh instance of the enclave\n");
    cloak_enclave_free(e);
    e = NULL;
    if (cloak_enclave_create(argv[1], &opts, &e, &why) || hello_register_ocalls(e, &why)) goto fail;
    uint8_t secret[128];
    size_t secret_len = 0;
    if (ecall_unseal(e, &ret, blob, blob_len, secret, sizeof secret, &secret_len) || ret) goto fail;
    printf("  unsealed %zu bytes inside the enclave (not printed: it is a secret)\n", secret_len);

    printf("5. quote: SGX DCAP ECDSA quote v3 with report data 00ff\n");
    uint8_t *quote = NULL;
    size_t qlen = 0;
    static const uint8_t rd[] = {0x00, 0xff};
    if (cloak_enclave_get_quote(e, rd, sizeof rd, &quote, &qlen, &why)) goto fail;
    if (cloak_file_write(quote_path, quote, qlen, 0644, &why)) {
        free(quote);
        goto fail;
    }
    free(quote);
    printf("  wrote %zu bytes to %s\n", qlen, quote_path);

    printf("6. identity\n");
    hex("mrenclave", id.mrenclave, 32);
    hex("mrsigner", id.mrsigner, 32);
    printf("  product_id  %u\n  svn         %u\n  debug       %s\n", id.product_id, id.svn,
           id.debug ? "true" : "false");
    printf("  note: simulation backend; it protects nothing against root on this machine\n");
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "hello: %s\n", why.msg[0] ? why.msg : "an enclave function returned an error");
out:
    cloak_enclave_free(e);
    return rc;
}
