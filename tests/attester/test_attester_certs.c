/*
 * The SEV-SNP certificate table parser (att_snp_certs_parse): the GHCB layout, GUID byte order,
 * DER and PEM entries, and each way a hostile host can break the table. Tables are built here
 * from GUID text (testlib.c), not from the parser's constants; certificates are the
 * go-sev-guest Milan samples, DER by the `openssl x509` command.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attester/attester_int.h"
#include "testlib.h"

#define CRL_GUID "92f81bc3-5811-4d3d-97ff-d19f88dc67ea" /* virtee sev CertType::CRL */

static tl_samples V;

static int group_setup(void **state)
{
    (void)state;
    return tl_samples_load(&V);
}

static int group_teardown(void **state)
{
    (void)state;
    tl_samples_free(&V);
    return 0;
}

static cloak_err parse(const uint8_t *p, size_t len, cloak_evidence_blob *b, cloak_error *why)
{
    memset(b, 0, sizeof *b);
    return att_snp_certs_parse(p, len, b, why);
}

/* The parser must refuse with EINVAL, name `what`, and leave the blob alone. */
static void refused(const uint8_t *p, size_t len, const char *what)
{
    cloak_evidence_blob b, before;
    cloak_error why = {0};
    memset(&b, 0, sizeof b);
    b.evidence_len = 77;
    memcpy(&before, &b, sizeof b);
    assert_int_equal(att_snp_certs_parse(p, len, &b, &why), CLOAK_EINVAL);
    if (!strstr(why.msg, what)) fail_msg("message '%s' does not mention '%s'", why.msg, what);
    assert_memory_equal(&b, &before, sizeof b);
}

static void test_certs_come_out_in_slot_order_as_der(void **state)
{
    cloak_evidence_blob b;
    cloak_error why = {0};
    size_t len;
    (void)state;
    tl_entry e[] = {{TL_ARK_GUID, V.ark, V.ark_len},
                    {TL_VCEK_GUID, V.vcek, V.vcek_len},
                    {TL_ASK_GUID, V.ask, V.ask_len}};
    uint8_t *t = tl_table(e, 3, 100, &len); /* zero padding after: a page-sized buffer */
    assert_int_equal(parse(t, len, &b, &why), CLOAK_OK);
    assert_int_equal(b.ncerts, 3);
    assert_int_equal(b.cert_kinds[0], CLOAK_SNP_CERT_VCEK);
    assert_int_equal(b.cert_kinds[1], CLOAK_SNP_CERT_ASK);
    assert_int_equal(b.cert_kinds[2], CLOAK_SNP_CERT_ARK);
    assert_int_equal(b.cert_lens[0], V.vcek_len);
    assert_memory_equal(b.certs[0], V.vcek, V.vcek_len);
    assert_int_equal(b.cert_lens[1], V.ask_len);
    assert_memory_equal(b.certs[1], V.ask, V.ask_len);
    assert_int_equal(b.cert_lens[2], V.ark_len);
    assert_memory_equal(b.certs[2], V.ark, V.ark_len);
    cloak_evidence_blob_free(&b);
    free(t);
}

static void test_certs_vlek_and_unknown_guids(void **state)
{
    cloak_evidence_blob b;
    cloak_error why = {0};
    size_t len;
    static const uint8_t crl[] = "not parsed: unknown entries are only bounds-checked";
    (void)state;
    tl_entry e[] = {{CRL_GUID, crl, sizeof crl}, {TL_VLEK_GUID, V.vcek, V.vcek_len}};
    uint8_t *t = tl_table(e, 2, 0, &len);
    assert_int_equal(parse(t, len, &b, &why), CLOAK_OK);
    assert_int_equal(b.ncerts, 1);
    assert_int_equal(b.cert_kinds[0], CLOAK_SNP_CERT_VLEK);
    assert_string_equal(cloak_snp_cert_kind_name(b.cert_kinds[0]), "vlek");
    cloak_evidence_blob_free(&b);
    free(t);
}

/* The GUIDs are matched in the order their text is written (RFC 4122 bytes), as go-sev-guest
 * and AMD's tools do; the mixed-endian (EFI) encoding of the same GUID is someone else's. */
static void test_certs_guid_byte_order_is_the_text_order(void **state)
{
    cloak_evidence_blob b;
    cloak_error why = {0};
    size_t len;
    (void)state;
    tl_entry e[] = {{TL_VCEK_GUID, V.vcek, V.vcek_len}};
    uint8_t *t = tl_table(e, 1, 0, &len);
    static const uint8_t wire[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                     0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    assert_memory_equal(t, wire, 16);
    assert_int_equal(parse(t, len, &b, &why), CLOAK_OK);
    assert_int_equal(b.ncerts, 1);
    cloak_evidence_blob_free(&b);
    /* EFI order: first three fields byte-swapped -> not the VCEK */
    uint8_t swapped[16] = {0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45,
                           0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    memcpy(t, swapped, 16);
    assert_int_equal(parse(t, len, &b, &why), CLOAK_OK);
    assert_int_equal(b.ncerts, 0);
    free(t);
}

static void test_certs_pem_entries_become_der(void **state)
{
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t *pem;
    size_t pem_len, len;
    cloak_error e0 = {0};
    (void)state;
    assert_int_equal(cloak_file_read(V.ask_ark_pem, &pem, &pem_len, &e0), CLOAK_OK);
    const char *mid = strstr((const char *)pem + 1, "-----BEGIN CERTIFICATE-----");
    assert_non_null(mid);
    size_t ask_len = (size_t)((const uint8_t *)mid - pem);
    tl_entry e[] = {{TL_ASK_GUID, pem, ask_len},
                    {TL_ARK_GUID, (const uint8_t *)mid, pem_len - ask_len}};
    uint8_t *t = tl_table(e, 2, 0, &len);
    assert_int_equal(parse(t, len, &b, &why), CLOAK_OK);
    assert_int_equal(b.ncerts, 2);
    assert_int_equal(b.cert_lens[0], V.ask_len);
    assert_memory_equal(b.certs[0], V.ask, V.ask_len);
    assert_int_equal(b.cert_lens[1], V.ark_len);
    assert_memory_equal(b.certs[1], V.ark, V.ark_len);
    cloak_evidence_blob_free(&b);
    free(t);
    free(pem);
}

static void test_certs_empty_tables_give_no_certificates(void **state)
{
    cloak_evidence_blob b;
    cloak_error why = {0};
    uint8_t zero[4096] = {0};
    (void)state;
    assert_int_equal(parse(NULL, 0, &b, &why), CLOAK_OK);
    assert_int_equal(b.ncerts, 0);
    assert_int_equal(parse(zero, 24, &b, &why), CLOAK_OK);
    assert_int_equal(b.ncerts, 0);
    assert_int_equal(parse(zero, sizeof zero, &b, &why), CLOAK_OK);
    assert_int_equal(b.ncerts, 0);
    assert_null(b.cert_store);
}

static void test_certs_hostile_tables_are_refused(void **state)
{
    size_t len;
    (void)state;
    tl_entry e[] = {{TL_VCEK_GUID, V.vcek, V.vcek_len}, {TL_ASK_GUID, V.ask, V.ask_len}};
    uint8_t *good = tl_table(e, 2, 0, &len), *t = malloc(len + 64);

    refused(good, 30, "terminator"); /* cut inside the entry list */
    memcpy(t, good, len);
    memset(t + 48, 0xff, 24); /* terminator overwritten: entries run into the data */
    refused(t, 72, "terminator");

    memcpy(t, good, len);
    cloak_put_u32le(t + 16, 24); /* VCEK offset inside the entry list */
    refused(t, len, "entry 0 (vcek)");

    memcpy(t, good, len);
    cloak_put_u32le(t + 24 + 20, (uint32_t)V.ask_len + 1); /* ASK one byte past the end */
    refused(t, len, "entry 1 (ask)");

    memcpy(t, good, len);
    cloak_put_u32le(t + 16, 0xfffffff0u); /* offset + length wraps in 32 bits */
    cloak_put_u32le(t + 20, 0x20);
    refused(t, len, "claims bytes");

    memcpy(t, good, len);
    tl_guid(TL_VCEK_GUID, t + 24); /* the VCEK twice */
    refused(t, len, "twice");

    memcpy(t, good, len);
    cloak_put_u32le(t + 20, 0); /* an empty VCEK */
    refused(t, len, "is empty");

    memcpy(t, good, len);
    memset(t + 72 + 100, 0x41, 8); /* corrupt the VCEK's DER */
    refused(t, len, "not a DER or PEM");

    uint8_t *pad = tl_table(e, 2, 16, &len); /* ASK followed by zero padding it claims */
    cloak_put_u32le(pad + 24 + 20, (uint32_t)V.ask_len + 16);
    cloak_evidence_blob b;
    cloak_error why = {0};
    assert_int_equal(parse(pad, len, &b, &why), CLOAK_OK);
    assert_int_equal(b.cert_lens[1], V.ask_len); /* the padding is dropped */
    cloak_evidence_blob_free(&b);
    pad[len - 1] = 1; /* ... but not bytes that are not padding */
    refused(pad, len, "entry (offset");
    free(pad);

    static const char fake_pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    tl_entry p[] = {{TL_ARK_GUID, (const uint8_t *)fake_pem, sizeof fake_pem - 1}};
    uint8_t *pt = tl_table(p, 1, 0, &len);
    refused(pt, len, "PEM but not an X.509");
    free(pt);

    uint8_t *huge = calloc(1, (1u << 20) + 1);
    refused(huge, (1u << 20) + 1, "refusing more than");
    free(huge);
    free(t);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certs_come_out_in_slot_order_as_der),
        cmocka_unit_test(test_certs_vlek_and_unknown_guids),
        cmocka_unit_test(test_certs_guid_byte_order_is_the_text_order),
        cmocka_unit_test(test_certs_pem_entries_become_der),
        cmocka_unit_test(test_certs_empty_tables_give_no_certificates),
        cmocka_unit_test(test_certs_hostile_tables_are_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
