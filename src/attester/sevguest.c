/*
 * /dev/sev-guest provider: ioctl SNP_GET_EXT_REPORT (<linux/sev-guest.h>, kernel >= 5.19).
 *
 * The reply is MSG_REPORT_RSP (AMD SEV-SNP ABI 56860, Table 25): u32 status, u32 report size,
 * 24 reserved bytes, then the report; the certificate table goes to a separate buffer whose
 * length must be a multiple of the page size (drivers/virt/coco/sev-guest). When the buffer is
 * too small the kernel fails with EIO, sets the VMM error to SNP_GUEST_VMM_ERR_INVALID_LEN and
 * writes the size it needs into certs_len; we retry once with that size. Any other failure is
 * final: the kernel then stops using the VM's communication key (VMPCK) to avoid IV reuse, so
 * retrying cannot help.
 */
#include "attester/attester_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "attester/uapi.h"

#define SNP_MSG_VERSION 1             /* the only MSG_REPORT_REQ version */
#define SNP_RSP_HEADER 32             /* ABI 56860 Table 25: status, size, reserved */
#define SNP_PAGE 4096u                /* x86 page: certs_len must be a multiple */
#define SNP_CERTS_FIRST (16u * 1024)  /* SEV_FW_BLOB_MAX_SIZE, the kernel's own buffer size */
#define SNP_STATUS_INVALID_PARAM 0x16 /* include/uapi/linux/psp-sev.h SEV_RET_INVALID_PARAM */
#define SNP_STATUS_INVALID_KEY 0x27   /* SEV_RET_INVALID_KEY */

_Static_assert(sizeof(struct snp_report_req) == 96, "uapi snp_report_req");
_Static_assert(sizeof(((struct snp_report_resp *)0)->data) == 4000, "uapi snp_report_resp");

static const char *status_text(uint32_t s)
{
    switch (s) {
    case SNP_STATUS_INVALID_PARAM:
        return "invalid parameter: is the VMPL at least this guest's?";
    case SNP_STATUS_INVALID_KEY:
        return "invalid key selection";
    default:
        return "see the SEV-SNP ABI specification, table of status codes";
    }
}

static const char *ioctl_hint(int err)
{
    switch (err) {
    case ENOTTY:
        return " (the driver does not take this request, or it disabled the VM communication "
               "key after an earlier failure: reboot the guest)";
    case EIO:
        return " (the host or the AMD secure processor failed the request)";
    default:
        return att_errno_hint(err);
    }
}

cloak_err att_sev_collect(const cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *out,
                          cloak_error *why)
{
    const att_sysops *ops = &a->ops;
    struct snp_ext_report_req req;
    struct snp_report_resp *resp = NULL;
    uint8_t *certs = NULL, *report = NULL;
    size_t certs_cap = SNP_CERTS_FIRST;
    int fd = -1, ok = 0;
    cloak_err rc = CLOAK_EIO;

    resp = calloc(1, sizeof *resp);
    certs = calloc(1, certs_cap);
    if (!resp || !certs) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    fd = ops->open(ops->ctx, a->path, O_RDWR);
    if (fd < 0) {
        int err = errno;
        rc = cloak_error_set(why, CLOAK_EIO, "cannot open %s: %s%s", a->path, strerror(err),
                             att_errno_hint(err));
        goto out;
    }
    memset(&req, 0, sizeof req);
    memcpy(req.data.user_data, rd, 64);
    req.data.vmpl = a->vmpl == CLOAK_ATTESTER_VMPL_DEFAULT ? 0u : (uint32_t)a->vmpl;
    for (int attempt = 0; attempt < 2 && !ok; attempt++) {
        struct snp_guest_request_ioctl io;
        memset(&io, 0, sizeof io);
        io.msg_version = SNP_MSG_VERSION;
        io.req_data = (uint64_t)(uintptr_t)&req;
        io.resp_data = (uint64_t)(uintptr_t)resp;
        req.certs_address = (uint64_t)(uintptr_t)certs;
        req.certs_len = (uint32_t)certs_cap;
        if (ops->ioctl(ops->ctx, fd, SNP_GET_EXT_REPORT, &io) == 0) {
            ok = 1;
            break;
        }
        int err = errno;
        if (err == EIO && io.vmm_error == SNP_GUEST_VMM_ERR_INVALID_LEN) {
            size_t need = req.certs_len;
            if (attempt > 0) {
                rc = cloak_error_set(why, CLOAK_EIO,
                                     "SNP_GET_EXT_REPORT on %s: the host still wants a larger "
                                     "certificate buffer (%zu bytes) after it named the size",
                                     a->path, need);
                goto out;
            }
            if (need <= certs_cap || need > ATT_CERT_TABLE_MAX || need % SNP_PAGE) {
                rc = cloak_error_set(why, CLOAK_EIO,
                                     "the host asked for a %zu-byte certificate buffer after "
                                     "%zu bytes were too small; refusing (it must be a larger "
                                     "multiple of %u, at most %u)",
                                     need, certs_cap, SNP_PAGE, ATT_CERT_TABLE_MAX);
                goto out;
            }
            free(certs);
            certs = calloc(1, need);
            if (!certs) {
                rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
                goto out;
            }
            certs_cap = need;
            continue;
        }
        rc = cloak_error_set(why, CLOAK_EIO,
                             "SNP_GET_EXT_REPORT on %s failed: %s (firmware error 0x%x, VMM "
                             "error 0x%x)%s",
                             a->path, strerror(err), io.fw_error, io.vmm_error, ioctl_hint(err));
        goto out;
    }
    if (!ok) {
        rc = cloak_error_set(why, CLOAK_EINTERNAL, "SNP_GET_EXT_REPORT: retry loop ended");
        goto out;
    }
    /* MSG_REPORT_RSP from the (untrusted) host path: check before use. */
    uint32_t status = cloak_get_u32le(resp->data), size = cloak_get_u32le(resp->data + 4);
    if (status) {
        rc = cloak_error_set(why, CLOAK_EIO,
                             "the SEV-SNP firmware refused the report request: status 0x%x (%s)",
                             status, status_text(status));
        goto out;
    }
    if (size < CLOAK_SNP_REPORT_BYTES || size > sizeof resp->data - SNP_RSP_HEADER) {
        rc = cloak_error_set(why, CLOAK_EINVAL,
                             "SNP_GET_EXT_REPORT reply claims a %u-byte report; expected %u in "
                             "a %zu-byte reply",
                             size, (unsigned)CLOAK_SNP_REPORT_BYTES, sizeof resp->data);
        goto out;
    }
    report = malloc(size);
    if (!report) {
        rc = cloak_error_set(why, CLOAK_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(report, resp->data + SNP_RSP_HEADER, size);
    rc = att_check_snp_report(report, size, rd, why);
    if (rc) {
        cloak_error_wrap(why, "SNP_GET_EXT_REPORT on %s", a->path);
        goto out;
    }
    rc = att_snp_certs_parse(certs, certs_cap, out, why);
    if (rc) {
        cloak_error_wrap(why, "SNP_GET_EXT_REPORT on %s", a->path);
        goto out;
    }
    att_blob_set(out, CLOAK_ATTESTER_SEV_GUEST, CLOAK_TEE_SNP, CLOAK_EVIDENCE_SNP_REPORT, report,
                 size);
    report = NULL;
    rc = CLOAK_OK;
out:
    if (fd >= 0) ops->close(ops->ctx, fd);
    free(report);
    free(certs);
    free(resp);
    return rc;
}
