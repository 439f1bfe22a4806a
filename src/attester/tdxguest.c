/*
 * /dev/tdx_guest provider: ioctl TDX_CMD_GET_REPORT0 gives a TDREPORT (1024 bytes) for our
 * REPORTDATA. A TDREPORT is MAC'd with a key only this CPU holds: it is what the host's quote
 * service turns into a signed quote, and nobody off this machine can check it. A quote needs
 * that service, which configfs-tsm reaches; so this provider is used only when asked for.
 */
#include "attester/attester_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "attester/uapi.h"

_Static_assert(sizeof(struct tdx_report_req) == 64 + CLOAK_TDREPORT_BYTES, "uapi tdx_report_req");

cloak_err att_tdx_collect(const cloak_attester *a, const uint8_t rd[64], cloak_evidence_blob *out,
                          cloak_error *why)
{
    const att_sysops *ops = &a->ops;
    struct tdx_report_req *req = NULL;
    uint8_t *report = NULL;
    int fd = -1;
    cloak_err rc = CLOAK_EIO;
    req = calloc(1, sizeof *req);
    report = malloc(CLOAK_TDREPORT_BYTES);
    if (!req || !report) {
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
    memcpy(req->reportdata, rd, 64);
    if (ops->ioctl(ops->ctx, fd, TDX_CMD_GET_REPORT0, req) < 0) {
        int err = errno;
        rc = cloak_error_set(
            why, CLOAK_EIO, "TDX_CMD_GET_REPORT0 on %s failed: %s%s", a->path, strerror(err),
            err == EIO ? " (the TDCALL TDG.MR.REPORT failed)" : att_errno_hint(err));
        goto out;
    }
    /* The reply has a fixed size; copy it out once, then check it carries our REPORTDATA. */
    memcpy(report, req->tdreport, CLOAK_TDREPORT_BYTES);
    rc = att_check_tdreport(report, CLOAK_TDREPORT_BYTES, rd, why);
    if (rc) {
        cloak_error_wrap(why, "TDX_CMD_GET_REPORT0 on %s", a->path);
        goto out;
    }
    att_blob_set(out, CLOAK_ATTESTER_TDX_GUEST, CLOAK_TEE_TDX, CLOAK_EVIDENCE_TDX_TDREPORT, report,
                 CLOAK_TDREPORT_BYTES);
    report = NULL;
    rc = CLOAK_OK;
out:
    if (fd >= 0) ops->close(ops->ctx, fd);
    free(report);
    free(req);
    return rc;
}
