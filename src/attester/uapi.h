/*
 * Linux guest-driver UAPI used by the attester: <linux/sev-guest.h> (Linux >= 5.19; Debian 12
 * ships it) and <linux/tdx-guest.h> (Linux >= 6.2; Debian 12's 6.1 headers lack it, so its
 * definitions are repeated below from include/uapi/linux/tdx-guest.h). Tests include this too.
 */
#ifndef CLOAK_ATTESTER_UAPI_H
#define CLOAK_ATTESTER_UAPI_H

#include <linux/ioctl.h> /* _IOWR: sev-guest.h uses it without including it */
#include <linux/types.h>

#include <linux/sev-guest.h>

#ifndef SNP_GUEST_VMM_ERR_INVALID_LEN
#define SNP_GUEST_VMM_ERR_INVALID_LEN 1 /* include/uapi/linux/sev-guest.h (Linux >= 6.5) */
#endif

#if defined(__has_include)
#if __has_include(<linux/tdx-guest.h>)
#include <linux/tdx-guest.h>
#define CLOAK_HAVE_LINUX_TDX_GUEST_H 1
#endif
#endif

#ifndef CLOAK_HAVE_LINUX_TDX_GUEST_H
#define TDX_REPORTDATA_LEN 64
#define TDX_REPORT_LEN 1024
struct tdx_report_req {
    __u8 reportdata[TDX_REPORTDATA_LEN];
    __u8 tdreport[TDX_REPORT_LEN];
};
#define TDX_CMD_GET_REPORT0 _IOWR('T', 1, struct tdx_report_req)
#endif

#endif
